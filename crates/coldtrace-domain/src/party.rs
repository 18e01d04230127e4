//! Party keys: one stable identity per trading party, registered or not, for the trace.
//!
//! A registered enterprise and an unregistered one that is only named as a counterparty must be the same node
//! of the trace when they are the same business, even if it registers later. So parties are keyed by USCC when
//! there is one, and by name otherwise (an overseas plant, a consumer-facing restaurant with no code given).

use uuid::Uuid;

use crate::id::Uscc;

const NS: Uuid = Uuid::from_u128(0x8f0e_54a1_6c2d_4b7e_9a31_0d5c_7e2f_1b46);

/// The key of a party with a USCC.
pub fn by_uscc(uscc: &Uscc) -> Uuid {
    Uuid::new_v5(&NS, format!("uscc:{}", uscc.as_str()).as_bytes())
}

/// The key of a party known only by name (trimmed, case-folded).
pub fn by_name(name: &str) -> Uuid {
    Uuid::new_v5(
        &NS,
        format!("name:{}", name.trim().to_lowercase()).as_bytes(),
    )
}

/// A person's key for co-tracing (人物同查): the identity number if known, else the phone, else the name at the
/// enterprise.
pub fn person_key(
    id_no: Option<&str>,
    phone: Option<&str>,
    name: &str,
    enterprise: Uuid,
) -> String {
    match (id_no, phone) {
        (Some(i), _) => format!("id:{}", i.to_ascii_uppercase()),
        (None, Some(p)) => format!(
            "tel:{}",
            p.chars().filter(char::is_ascii_digit).collect::<String>()
        ),
        (None, None) => format!("name:{enterprise}:{}", name.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let u = Uscc::parse("91120116MA05T1Q16A").unwrap();
        assert_eq!(
            by_uscc(&u),
            by_uscc(&Uscc::parse("91120116ma05t1q16a").unwrap())
        );
        assert_ne!(by_uscc(&u), by_name("91120116MA05T1Q16A"));
        assert_eq!(by_name(" Mowi ASA "), by_name("mowi asa"));
        assert_eq!(
            person_key(None, Some("138-1234-1234"), "x", Uuid::nil()),
            "tel:13812341234"
        );
    }
}
