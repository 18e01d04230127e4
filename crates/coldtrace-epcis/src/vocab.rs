//! The Core Business Vocabulary (CBV 2.0, 核心业务词汇): business steps, dispositions, business transaction types,
//! source/destination types and error reasons, read from the enumerations of GS1's EPCIS JSON schema so the
//! lists cannot drift from the schema the documents are validated against.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_json::Value;

/// Which vocabulary a term belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocab {
    BizStep,
    Disposition,
    BizTransactionType,
    SourceDestType,
    ErrorReason,
}

impl Vocab {
    fn definition(self) -> &'static str {
        match self {
            Self::BizStep => "bizStep",
            Self::Disposition => "disposition",
            Self::BizTransactionType => "bizTransaction-type",
            Self::SourceDestType => "source-dest-type",
            Self::ErrorReason => "error-reason",
        }
    }
    /// The prefix of the term's Web URI (`https://ref.gs1.org/cbv/BizStep-shipping`) and of its URN
    /// (`urn:epcglobal:cbv:bizstep:shipping`).
    fn prefixes(self) -> (&'static str, &'static str) {
        match self {
            Self::BizStep => ("BizStep-", "bizstep:"),
            Self::Disposition => ("Disp-", "disp:"),
            Self::BizTransactionType => ("BTT-", "btt:"),
            Self::SourceDestType => ("SDT-", "sdt:"),
            Self::ErrorReason => ("ER-", "er:"),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::BizStep => "business step",
            Self::Disposition => "disposition",
            Self::BizTransactionType => "business transaction type",
            Self::SourceDestType => "source/destination type",
            Self::ErrorReason => "error reason",
        }
    }
}

fn terms(v: Vocab) -> &'static HashSet<String> {
    static T: OnceLock<Vec<HashSet<String>>> = OnceLock::new();
    let all = T.get_or_init(|| {
        let schema = crate::schema::document();
        [
            Vocab::BizStep,
            Vocab::Disposition,
            Vocab::BizTransactionType,
            Vocab::SourceDestType,
            Vocab::ErrorReason,
        ]
        .iter()
        .map(|v| {
            let mut out = HashSet::new();
            collect_enums(&schema["definitions"][v.definition()], &mut out);
            out
        })
        .collect()
    });
    &all[v as usize]
}

fn collect_enums(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(e)) = m.get("enum") {
                out.extend(e.iter().filter_map(|x| x.as_str().map(str::to_string)));
            }
            m.values().for_each(|x| collect_enums(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_enums(x, out)),
        _ => {}
    }
}

/// What a vocabulary value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A CBV term, by its bare name (`shipping`).
    Cbv(String),
    /// A term of another vocabulary, by its URI.
    Other(String),
}

impl Term {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Cbv(s) | Self::Other(s) => s,
        }
    }
    /// The CBV Web URI of a CBV term (`https://ref.gs1.org/cbv/BizStep-shipping`); other URIs as they are.
    pub fn uri(&self, v: Vocab) -> String {
        match self {
            Self::Cbv(s) => format!("https://ref.gs1.org/cbv/{}{s}", v.prefixes().0),
            Self::Other(s) => s.clone(),
        }
    }
}

/// Reads a value in any of its CBV forms (bare, Web URI, URN); a URI of another vocabulary is kept as it is;
/// anything else is refused.
pub fn read(v: Vocab, value: &str) -> Result<Term, String> {
    let (web, urn) = v.prefixes();
    let bare = value
        .strip_prefix("https://ref.gs1.org/cbv/")
        .or_else(|| value.strip_prefix("https://gs1.org/voc/"))
        .and_then(|r| r.strip_prefix(web))
        .or_else(|| {
            value
                .strip_prefix("urn:epcglobal:cbv:")
                .and_then(|r| r.strip_prefix(urn))
        });
    let gs1_form = value.starts_with("https://ref.gs1.org/cbv/")
        || value.starts_with("https://gs1.org/voc/")
        || value.starts_with("urn:epcglobal:cbv:");
    let name = bare.unwrap_or(value);
    if terms(v).contains(name) {
        return Ok(Term::Cbv(name.to_string()));
    }
    if gs1_form || bare.is_some() {
        return Err(format!("{value:?} is not a CBV {}", v.name()));
    }
    if is_uri(value) {
        return Ok(Term::Other(value.to_string()));
    }
    Err(format!(
        "{value:?} is neither a CBV {} nor a URI of another vocabulary",
        v.name()
    ))
}

/// An absolute URI: a scheme (`letter *(letter / digit / + - .)`), a colon, and something after it.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    !rest.is_empty()
        && !s.chars().any(char::is_whitespace)
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_read_in_every_cbv_form_and_others_only_as_uris() {
        for s in [
            "shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
        ] {
            assert_eq!(
                read(Vocab::BizStep, s),
                Ok(Term::Cbv("shipping".into())),
                "{s}"
            );
        }
        assert!(read(Vocab::BizStep, "transforming").is_err());
        assert!(
            read(
                Vocab::BizStep,
                "https://ref.gs1.org/cbv/BizStep-transforming"
            )
            .is_err()
        );
        assert_eq!(
            read(Vocab::BizStep, "https://example.com/steps/smoking"),
            Ok(Term::Other("https://example.com/steps/smoking".into()))
        );
        assert!(read(Vocab::Disposition, "in_transport").is_err());
        assert!(read(Vocab::Disposition, "in_transit").is_ok());
        assert!(read(Vocab::SourceDestType, "owning_party").is_ok());
        assert!(read(Vocab::BizTransactionType, "po").is_ok());
        assert_eq!(
            Term::Cbv("receiving".into()).uri(Vocab::BizStep),
            "https://ref.gs1.org/cbv/BizStep-receiving"
        );
    }
}
