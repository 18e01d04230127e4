//! EPC URNs (GS1 EPC Tag Data Standard, pure identity form) read as the AIs they stand for. The URN keeps the
//! company prefix apart from the reference (`urn:epc:id:sgtin:0614141.812345.6789`), so no prefix table is needed.

use super::{Gs1Error, err};
use crate::id::gs1_check_digit;

fn with_check(body: &str) -> String {
    format!("{body}{}", gs1_check_digit(body))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

const GS1_SCHEMES: [&str; 21] = [
    "id:sgtin:",
    "class:lgtin:",
    "idpat:sgtin:",
    "id:sscc:",
    "id:sgln:",
    "id:pgln:",
    "id:grai:",
    "id:giai:",
    "id:gsrn:",
    "id:gsrnp:",
    "id:gdti:",
    "id:sgcn:",
    "id:cpi:",
    "idpat:gdti:",
    "idpat:sgcn:",
    "idpat:grai:",
    "idpat:cpi:",
    "idpat:itip:",
    "id:itip:",
    "id:upui:",
    "id:ginc:",
];

pub(super) fn is_gs1(v: &str) -> bool {
    let lower = v.get(..24).unwrap_or(v).to_ascii_lowercase();
    lower
        .strip_prefix("urn:epc:")
        .is_some_and(|r| GS1_SCHEMES.iter().any(|s| r.starts_with(s)) || r.starts_with("id:gsin:"))
}

/// The AIs an EPC URN stands for.
pub(super) fn to_ais(urn: &str) -> Result<Vec<(String, String)>, Gs1Error> {
    let lower = urn.to_ascii_lowercase();
    let (kind, body) = if let Some(b) = lower.strip_prefix("urn:epc:id:") {
        ("id", &urn[urn.len() - b.len()..])
    } else if let Some(b) = lower.strip_prefix("urn:epc:class:") {
        ("class", &urn[urn.len() - b.len()..])
    } else if let Some(b) = lower.strip_prefix("urn:epc:idpat:") {
        ("idpat", &urn[urn.len() - b.len()..])
    } else {
        return err(None, "is not an EPC pure identity, class or pattern URN");
    };
    let (scheme, fields) = body.split_once(':').ok_or(Gs1Error {
        ai: None,
        reason: "an EPC URN needs a scheme and its fields".into(),
    })?;
    let f: Vec<&str> = fields.split('.').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let need = |n: usize| -> Result<(), Gs1Error> {
        if f.len() != n || !digits(f[0]) {
            return err(
                None,
                format!(
                    "urn:epc:{kind}:{scheme} takes {n} dot-separated fields, the first the company prefix"
                ),
            );
        }
        Ok(())
    };
    // GTIN-14 from company prefix and indicator + item reference.
    let gtin = |cp: &str, ir: &str| -> Result<String, Gs1Error> {
        if !digits(ir) || cp.len() + ir.len() != 13 {
            return err(
                Some("01"),
                "company prefix and indicator/item reference must make 13 digits",
            );
        }
        Ok(with_check(&format!("{}{cp}{}", &ir[..1], &ir[1..])))
    };
    let s = scheme.to_ascii_lowercase();
    Ok(match (kind, s.as_str()) {
        ("id", "sgtin") => {
            need(3)?;
            vec![
                ("01".into(), gtin(f[0], f[1])?),
                ("21".into(), decode(f[2])),
            ]
        }
        ("class", "lgtin") => {
            need(3)?;
            vec![
                ("01".into(), gtin(f[0], f[1])?),
                ("10".into(), decode(f[2])),
            ]
        }
        ("idpat", "sgtin") => {
            need(3)?;
            let mut v = vec![("01".into(), gtin(f[0], f[1])?)];
            if f[2] != "*" {
                v.push(("21".into(), decode(f[2])));
            }
            v
        }
        // Class-level patterns of the other keys: the key without its serial part.
        ("idpat", "gdti") | ("idpat", "sgcn") | ("idpat", "grai")
            if f.len() == 3 && f[2] == "*" =>
        {
            if !digits(f[0]) || f[0].len() + f[1].len() != 12 {
                return err(None, "company prefix and type must make 12 digits");
            }
            let body = with_check(&format!("{}{}", f[0], f[1]));
            match s.as_str() {
                "gdti" => vec![("253".into(), body)],
                "sgcn" => vec![("255".into(), body)],
                _ => vec![("8003".into(), format!("0{body}"))],
            }
        }
        ("idpat", "itip") if f.len() == 5 && f[4] == "*" => {
            vec![(
                "8006".into(),
                format!("{}{}{}", gtin(f[0], f[1])?, f[2], f[3]),
            )]
        }
        ("idpat", "cpi") if f.len() == 3 && f[2] == "*" => {
            vec![("8010".into(), format!("{}{}", f[0], decode(f[1])))]
        }
        ("id", "sscc") => {
            need(2)?;
            if !digits(f[1]) || f[0].len() + f[1].len() != 17 {
                return err(
                    Some("00"),
                    "company prefix and serial reference must make 17 digits",
                );
            }
            vec![(
                "00".into(),
                with_check(&format!("{}{}{}", &f[1][..1], f[0], &f[1][1..])),
            )]
        }
        ("id", "sgln") => {
            need(3)?;
            if f[0].len() + f[1].len() != 12 {
                return err(
                    Some("414"),
                    "company prefix and location reference must make 12 digits",
                );
            }
            let mut v = vec![("414".into(), with_check(&format!("{}{}", f[0], f[1])))];
            if f[2] != "0" && !f[2].is_empty() {
                v.push(("254".into(), decode(f[2])));
            }
            v
        }
        ("id", "pgln") => {
            need(2)?;
            if f[0].len() + f[1].len() != 12 {
                return err(
                    Some("417"),
                    "company prefix and party reference must make 12 digits",
                );
            }
            vec![("417".into(), with_check(&format!("{}{}", f[0], f[1])))]
        }
        ("id", "grai") => {
            need(3)?;
            if f[0].len() + f[1].len() != 12 {
                return err(
                    Some("8003"),
                    "company prefix and asset type must make 12 digits",
                );
            }
            vec![(
                "8003".into(),
                format!(
                    "0{}{}",
                    with_check(&format!("{}{}", f[0], f[1])),
                    decode(f[2])
                ),
            )]
        }
        ("id", "giai") => {
            need(2)?;
            vec![("8004".into(), format!("{}{}", f[0], decode(f[1])))]
        }
        ("id", "gsrn") | ("id", "gsrnp") => {
            need(2)?;
            if f[0].len() + f[1].len() != 17 {
                return err(
                    None,
                    "company prefix and service reference must make 17 digits",
                );
            }
            let ai = if s == "gsrn" { "8018" } else { "8017" };
            vec![(ai.into(), with_check(&format!("{}{}", f[0], f[1])))]
        }
        ("id", "gdti") | ("id", "sgcn") => {
            need(3)?;
            if f[0].len() + f[1].len() != 12 {
                return err(None, "company prefix and document type must make 12 digits");
            }
            let ai = if s == "gdti" { "253" } else { "255" };
            vec![(
                ai.into(),
                format!(
                    "{}{}",
                    with_check(&format!("{}{}", f[0], f[1])),
                    decode(f[2])
                ),
            )]
        }
        ("id", "cpi") => {
            need(3)?;
            vec![
                ("8010".into(), format!("{}{}", f[0], decode(f[1]))),
                ("8011".into(), f[2].to_string()),
            ]
        }
        ("id", "itip") => {
            need(5)?;
            vec![
                (
                    "8006".into(),
                    format!("{}{}{}", gtin(f[0], f[1])?, f[2], f[3]),
                ),
                ("21".into(), decode(f[4])),
            ]
        }
        ("id", "upui") => {
            need(3)?;
            vec![
                ("01".into(), gtin(f[0], f[1])?),
                ("235".into(), decode(f[2])),
            ]
        }
        ("id", "ginc") => {
            need(2)?;
            vec![("401".into(), format!("{}{}", f[0], decode(f[1])))]
        }
        ("id", "gsin") => {
            need(2)?;
            vec![("402".into(), with_check(&format!("{}{}", f[0], f[1])))]
        }
        _ => return err(None, format!("urn:epc:{kind}:{scheme} is not a GS1 key")),
    })
}
