//! People who handle goods (经手人), for co-tracing of people and goods (人物同查), and their masking.

use crate::error::{ValidationErrors, optional_text, path, required_text};

/// A person who handled a movement: loaded, unloaded, carried or sold the goods.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Handler {
    pub name: String,
    /// Resident identity number (GB 11643); personal data, masked for every role but the regulator.
    pub id_no: Option<String>,
    pub phone: Option<String>,
    /// What they did: driver, porter, storekeeper, seller.
    pub role: Option<String>,
}

/// A handler as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandlerDraft {
    pub name: Option<String>,
    pub id_no: Option<String>,
    pub phone: Option<String>,
    pub role: Option<String>,
}

impl HandlerDraft {
    pub fn parse(&self, at: &str, e: &mut ValidationErrors) -> Option<Handler> {
        let name = e.take(&path(at, "name"), required_text(&self.name, 100));
        let id_no = e.take(
            &path(at, "id_no"),
            optional_text(&self.id_no, 18).and_then(|v| match v {
                Some(v) => valid_id_no(&v).map(Some),
                None => Ok(None),
            }),
        );
        let phone = e.take(
            &path(at, "phone"),
            optional_text(&self.phone, 20).and_then(|v| match v {
                Some(v) => valid_phone(&v).map(|_| Some(v)),
                None => Ok(None),
            }),
        );
        let role = e.take(&path(at, "role"), optional_text(&self.role, 50));
        Some(Handler {
            name: name?,
            id_no: id_no?,
            phone: phone?,
            role: role?,
        })
    }
}

/// A phone number: an 11-digit mainland mobile starting with 1, or a landline of digits and dashes.
pub fn valid_phone(p: &str) -> Result<(), String> {
    let p = p.trim();
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    let ok_chars = p
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == ' ');
    if !ok_chars || digits.len() < 7 || digits.len() > 15 {
        return Err(format!("{p:?} is not a phone number"));
    }
    if digits.len() == 11
        && digits.starts_with('1')
        && !digits.starts_with("13")
        && !digits.starts_with("14")
        && !digits.starts_with("15")
        && !digits.starts_with("16")
        && !digits.starts_with("17")
        && !digits.starts_with("18")
        && !digits.starts_with("19")
    {
        return Err(format!("{p:?} is not a mainland mobile number"));
    }
    Ok(())
}

/// Resident identity number (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character.
pub fn valid_id_no(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_uppercase();
    // Bytes, not a string slice: the 18 bytes may end inside a multi-byte character.
    if s.len() != 18 || !s.as_bytes()[..17].iter().all(u8::is_ascii_digit) {
        return Err("must be 18 characters: 17 digits and a check character".into());
    }
    let expected = id_no_check_char(&s[..17]);
    let got = s.as_bytes()[17] as char;
    if expected != got {
        return Err(format!(
            "check character mismatch: expected {expected}, got {got}"
        ));
    }
    Ok(s)
}

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of an identity number.
pub fn id_no_check_char(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// `138****1234`: keeps the first three and last four digits of a mobile; other numbers keep the last four.
pub fn mask_phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() == 11 && chars[0] == '1' && chars.iter().all(char::is_ascii_digit) {
        format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[7..].iter().collect::<String>()
        )
    } else if chars.len() > 4 {
        format!(
            "{}{}",
            "*".repeat(chars.len() - 4),
            chars[chars.len() - 4..].iter().collect::<String>()
        )
    } else {
        "*".repeat(chars.len())
    }
}

/// `张*`, `欧阳**`: keeps the surname (the first character; two for common compound surnames).
pub fn mask_name(n: &str) -> String {
    const COMPOUND: [&str; 8] = [
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐",
    ];
    let chars: Vec<char> = n.chars().collect();
    let keep = if COMPOUND.iter().any(|c| n.starts_with(c)) && chars.len() > 2 {
        2
    } else {
        1
    };
    if chars.len() <= 1 {
        return n.to_string();
    }
    format!(
        "{}{}",
        chars[..keep].iter().collect::<String>(),
        "*".repeat(chars.len() - keep)
    )
}

/// `1**************X`: an ID number keeps its first and last characters.
pub fn mask_id_no(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 2 {
        return "*".repeat(chars.len());
    }
    format!(
        "{}{}{}",
        chars[0],
        "*".repeat(chars.len() - 2),
        chars[chars.len() - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("022-2345678"), "*******5678");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(
            mask_id_no("11010519491231002X"),
            format!("1{}X", "*".repeat(16))
        );
    }

    #[test]
    fn id_numbers() {
        // GB 11643's published example.
        assert!(valid_id_no("11010519491231002X").is_ok());
        assert!(valid_id_no("110105194912310021").is_err());
        assert!(valid_phone("13812341234").is_ok());
        assert!(valid_phone("12812341234").is_err());
        assert!(valid_phone("call me").is_err());
    }
}
