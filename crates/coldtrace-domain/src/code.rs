//! Trace codes (追溯码): the codes printed on goods or labels, in the schemes real provinces use.
//!
//! Every code has a canonical key so that the same code typed, scanned or pasted in another form (an element
//! string or a Digital Link URI for GS1) finds the same batch.

use std::fmt;

use crate::gs1::Gs1Code;
use crate::id::{Gtin, Uscc};

/// Which scheme a code follows (SPEC section 7).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CodeScheme {
    /// GS1 GTIN plus batch/serial, as element string or Digital Link URI.
    Gs1,
    /// A URL in a QR code: a province host and an opaque code.
    Url,
    /// A 14-digit code issued by a platform when the goods carry no GS1 code.
    Issued,
    /// Enterprise USCC, product part, batch part and a check character, dot-separated.
    Uscc,
    /// An 18-digit customs key: declaration number or inspection certificate number.
    Customs,
    /// Anything else an enterprise prints (its own internal code).
    Enterprise,
}

impl CodeScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gs1 => "gs1",
            Self::Url => "url",
            Self::Issued => "issued",
            Self::Uscc => "uscc",
            Self::Customs => "customs",
            Self::Enterprise => "enterprise",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "gs1" => Self::Gs1,
            "url" => Self::Url,
            "issued" => Self::Issued,
            "uscc" => Self::Uscc,
            "customs" => Self::Customs,
            "enterprise" => Self::Enterprise,
            o => {
                return Err(format!(
                    "{o:?} is not a code scheme (gs1, url, issued, uscc, customs, enterprise)"
                ));
            }
        })
    }
}

impl TraceCode {
    /// The other codes printed with this one: a URL code the platform issued ends in the 14-digit number printed
    /// under its QR (`http://host/t/12000000000042` carries `12000000000042`), which finds the batch on its own.
    pub fn aliases(&self) -> Vec<TraceCode> {
        if self.scheme != CodeScheme::Url {
            return vec![];
        }
        let last = self
            .value
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        if last.len() == 14 && last.bytes().all(|b| b.is_ascii_digit()) {
            TraceCode::parse(last, Some(CodeScheme::Issued))
                .into_iter()
                .collect()
        } else {
            vec![]
        }
    }
}

/// What a GS1 code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1Parts {
    pub gtin: Gtin,
    /// AI (10) batch or lot.
    pub batch: Option<String>,
    /// AI (21) serial.
    pub serial: Option<String>,
    /// AI (17) expiry, YYMMDD.
    pub expiry: Option<String>,
}

/// A trace code as read, with its scheme and canonical lookup key.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct TraceCode {
    pub scheme: CodeScheme,
    /// The code as given (trimmed).
    pub value: String,
    /// Canonical key: equal for two spellings of the same code.
    pub key: String,
}

impl fmt::Display for TraceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl TraceCode {
    /// Reads a code, detecting its scheme unless one is given.
    pub fn parse(value: &str, scheme: Option<CodeScheme>) -> Result<Self, String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("is empty".into());
        }
        if v.chars().count() > 256 {
            return Err("is longer than 256 characters".into());
        }
        let scheme = match scheme {
            Some(s) => s,
            None => detect(v),
        };
        let key = match scheme {
            CodeScheme::Gs1 => Gs1Code::parse(v)
                .map_err(|e| e.to_string())?
                .key()
                .ok_or("holds no GS1 key such as (01) GTIN, (00) SSCC or (414) GLN")?,
            CodeScheme::Url => {
                let rest = v
                    .strip_prefix("http://")
                    .or_else(|| v.strip_prefix("https://"))
                    .or_else(|| v.strip_prefix("HTTP://"))
                    .or_else(|| v.strip_prefix("HTTPS://"))
                    .ok_or("a URL code must start with http:// or https://")?;
                let (host, path) = rest
                    .split_once('/')
                    .ok_or("a URL code needs a path after the host")?;
                if host.is_empty() || path.is_empty() {
                    return Err("a URL code needs a host and a path".into());
                }
                format!(
                    "url:{}/{}",
                    host.to_ascii_lowercase(),
                    path.trim_end_matches('/')
                )
            }
            CodeScheme::Issued => {
                if v.len() != 14 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("an issued code is 14 digits".into());
                }
                format!("issued:{v}")
            }
            CodeScheme::Customs => {
                if v.len() != 18 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("a customs key is 18 digits".into());
                }
                format!("customs:{v}")
            }
            CodeScheme::Uscc => {
                let parts: Vec<&str> = v.split('.').collect();
                if parts.len() != 4
                    || parts[1].is_empty()
                    || parts[2].is_empty()
                    || parts[3].chars().count() != 1
                {
                    return Err("a USCC-based code is USCC.product.batch.check".into());
                }
                Uscc::parse(parts[0]).map_err(|e| format!("USCC part: {e}"))?;
                // Everything before the last dot; the check character may be any (multi-byte) character.
                let body = &v[..v.len() - parts[3].len() - 1];
                let expected = uscc_code_check(body)
                    .ok_or("product and batch parts must use digits and letters")?;
                let got = parts[3]
                    .chars()
                    .next()
                    .expect("one char")
                    .to_ascii_uppercase();
                if expected != got {
                    return Err(format!(
                        "check character mismatch: expected {expected}, got {got}"
                    ));
                }
                format!("uscc:{}", v.to_ascii_uppercase())
            }
            CodeScheme::Enterprise => format!("ent:{v}"),
        };
        Ok(Self {
            scheme,
            value: v.to_string(),
            key,
        })
    }

    /// The GS1 parts, for a GS1 code.
    pub fn gs1(&self) -> Option<Gs1Parts> {
        Gs1Parts::of(&self.gs1_code()?)
    }

    /// The GS1 message, for a GS1 code.
    pub fn gs1_code(&self) -> Option<Gs1Code> {
        (self.scheme == CodeScheme::Gs1)
            .then(|| Gs1Code::parse(&self.value).ok())
            .flatten()
    }
}

/// How a platform issues its own code for a batch that arrives without one in the platform's scheme (一批一码).
/// Each province picks the scheme its labels use; the serial is the store's, so codes never repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub scheme: CodeScheme,
    /// GB/T 2260 two-digit province code.
    pub province: String,
    /// Host (and optional port) of the public lookup, for URL codes: `http://{host}/t/{code}`.
    pub host: String,
}

impl Issuer {
    /// The code for the batch with store serial `serial`, or `None` when the scheme cannot make one (GS1 needs a
    /// GTIN; the platform issues GS1 codes only for products that have one).
    pub fn issue(
        &self,
        serial: u64,
        owner: &Uscc,
        gtin: Option<&Gtin>,
        batch_no: &str,
    ) -> Option<TraceCode> {
        let serial = serial % 1_000_000_000_000;
        let value = match self.scheme {
            CodeScheme::Url => format!("http://{}/t/{}{serial:012}", self.host, self.province),
            CodeScheme::Issued => format!("{}{serial:012}", self.province),
            CodeScheme::Gs1 => {
                let lot: String = batch_no
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(20)
                    .collect();
                let lot = if lot.is_empty() {
                    format!("{serial}")
                } else {
                    lot
                };
                format!("(01){}(10){lot}", gtin?.to_gtin14())
            }
            CodeScheme::Uscc => {
                // The check character covers the USCC alphabet only (no I, O, S, V, Z).
                let part: String = batch_no
                    .chars()
                    .map(|c| c.to_ascii_uppercase())
                    .filter(|c| crate::id::USCC_CHARSET.contains(*c))
                    .take(8)
                    .collect();
                let part = if part.is_empty() { "0".into() } else { part };
                let body = format!("{}.{part}.{serial:08}", owner.as_str());
                let check = uscc_code_check(&body)?;
                format!("{body}.{check}")
            }
            CodeScheme::Customs | CodeScheme::Enterprise => return None,
        };
        TraceCode::parse(&value, Some(self.scheme)).ok()
    }
}

/// Check character of a USCC-based code: the USCC check rule applied to every character but the dots.
pub fn uscc_code_check(body: &str) -> Option<char> {
    crate::id::mod31_check(body.chars().filter(|c| *c != '.'))
}

fn detect(v: &str) -> CodeScheme {
    let lower = v.get(..12).unwrap_or(v).to_ascii_lowercase();
    let is_gs1 = || Gs1Code::parse(v).is_ok_and(|c| c.key().is_some());
    // `01`, a GTIN-14 and more, or `00` and an SSCC: a raw element string.
    let raw_gs1 = ((v.starts_with("01") && v.len() > 16) || (v.starts_with("00") && v.len() == 20))
        && v.get(2..16)
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    if lower.starts_with("http://") || lower.starts_with("https://") {
        if is_gs1() {
            CodeScheme::Gs1
        } else {
            CodeScheme::Url
        }
    } else if bracketed_ai(v)
        || v.starts_with(']')
        || v.starts_with('^')
        || v.starts_with('\x1d')
        || crate::gs1::is_gs1_epc_urn(v)
    {
        CodeScheme::Gs1
    } else if v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()) {
        CodeScheme::Issued
    } else if v.len() == 18 && v.bytes().all(|b| b.is_ascii_digit()) {
        CodeScheme::Customs
    } else if v.split('.').count() == 4
        && Uscc::parse(v.split('.').next().unwrap_or("")).is_ok()
        // A well-formed element string whose serial has dots is GS1, even when its first 18 characters happen
        // to read as a USCC (no USCC starts with 0).
        && !(raw_gs1 && is_gs1())
    {
        CodeScheme::Uscc
    } else if raw_gs1 || (v.bytes().take(2).all(|b| b.is_ascii_digit()) && is_gs1()) {
        // Any other raw element string that reads as a GS1 code with a key (`10LOT␝01…`, a bare `01` and
        // GTIN-14): the check digits make a chance reading unlikely.
        CodeScheme::Gs1
    } else {
        CodeScheme::Enterprise
    }
}

/// Whether a code starts like a bracketed element string: `(`, two to four digits that are an AI, `)`.
fn bracketed_ai(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('(') else {
        return false;
    };
    let Some((ai, _)) = rest.split_once(')') else {
        return false;
    };
    (2..=4).contains(&ai.len())
        && ai.bytes().all(|b| b.is_ascii_digit())
        && crate::gs1::dictionary::Dictionary::get().spec(ai).is_some()
}

/// Reads a GS1 code in any form [`Gs1Code::parse`] reads, for a code that marks a trade item (GTIN).
pub fn parse_gs1(v: &str) -> Result<Gs1Parts, String> {
    let code = Gs1Code::parse(v).map_err(|e| e.to_string())?;
    Gs1Parts::of(&code).ok_or_else(|| "no GTIN (01)".into())
}

impl Gs1Parts {
    /// The trade-item parts of a GS1 message, when it carries a GTIN.
    pub fn of(code: &Gs1Code) -> Option<Self> {
        let gtin = Gtin::parse(code.get("01")?).ok()?;
        Some(Self {
            gtin,
            batch: code.get("10").map(str::to_string),
            serial: code.get("21").map(str::to_string),
            expiry: code.get("17").map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gs1_form_is_read_as_gs1_and_other_codes_are_not() {
        for (v, key) in [
            (
                "(17)251231(01)09520123456788(10)L1",
                "gs1:0109520123456788/10L1",
            ),
            ("10L1\x1d0109520123456788", "gs1:0109520123456788/10L1"),
            ("0109520123456788", "gs1:0109520123456788"),
            ("(414)9520123000011", "gs1:4149520123000011"),
            (
                "urn:epc:id:sgtin:0614141.107346.2017",
                "gs1:0110614141073464/212017",
            ),
        ] {
            let c = TraceCode::parse(v, None).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!((c.scheme, c.key.as_str()), (CodeScheme::Gs1, key), "{v}");
        }
        // A bracketed AI with a wrong check digit is a GS1 code with an error, not an enterprise's code.
        assert!(TraceCode::parse("(01)09520123456789", None).is_err());
        for v in [
            "ABC-123",
            "10ABC",
            "(ab)12",
            "urn:epc:id:gid:95100000.12345.400",
        ] {
            assert_eq!(
                TraceCode::parse(v, None).unwrap().scheme,
                CodeScheme::Enterprise,
                "{v}"
            );
        }
    }

    #[test]
    fn a_url_code_ending_in_an_issued_number_carries_it_as_an_alias() {
        let c = TraceCode::parse("http://trace.tj.example/t/12000000000042", None).unwrap();
        let a = c.aliases();
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].scheme, a[0].key.as_str()),
            (CodeScheme::Issued, "issued:12000000000042")
        );
        assert!(
            TraceCode::parse("http://x.example/t/ABC", None)
                .unwrap()
                .aliases()
                .is_empty()
        );
        assert!(
            TraceCode::parse("12000000000042", None)
                .unwrap()
                .aliases()
                .is_empty()
        );
    }

    #[test]
    fn every_issuer_scheme_makes_a_code_that_reads_back_in_its_scheme() {
        let owner = Uscc::parse("91120116MA05T1Q16A").unwrap();
        let gtin = Gtin::parse("07891234567895").unwrap();
        for (scheme, expect) in [
            (CodeScheme::Url, "http://trace.tj.example/t/12000000000042"),
            (CodeScheme::Issued, "12000000000042"),
            (CodeScheme::Gs1, "(01)07891234567895(10)BR2020"),
        ] {
            let i = Issuer {
                scheme,
                province: "12".into(),
                host: "trace.tj.example".into(),
            };
            let c = i.issue(42, &owner, Some(&gtin), "BR-2020").unwrap();
            assert_eq!(c.value, expect);
            assert_eq!(c.scheme, scheme);
        }
        let i = Issuer {
            scheme: CodeScheme::Uscc,
            province: "12".into(),
            host: String::new(),
        };
        let c = i.issue(42, &owner, None, "br-2020").unwrap();
        assert!(
            c.value.starts_with("91120116MA05T1Q16A.BR2020.00000042."),
            "{}",
            c.value
        );
        // The check character is verified on parse: a changed serial no longer reads.
        let bad = c.value.replace(".00000042.", ".00000043.");
        assert!(TraceCode::parse(&bad, Some(CodeScheme::Uscc)).is_err());
        // Letters outside the USCC alphabet are left out of the batch part, so the check character holds.
        let c = Issuer {
            scheme: CodeScheme::Uscc,
            province: "12".into(),
            host: String::new(),
        }
        .issue(7, &owner, None, "HZ-7004")
        .unwrap();
        assert!(
            c.value.starts_with("91120116MA05T1Q16A.H7004.00000007."),
            "{}",
            c.value
        );
        let i = Issuer {
            scheme: CodeScheme::Gs1,
            province: "12".into(),
            host: String::new(),
        };
        assert!(i.issue(1, &owner, None, "B1").is_none(), "GS1 needs a GTIN");
    }

    #[test]
    fn gs1_spellings_share_a_key() {
        let a = TraceCode::parse("(01)07891234567895(10)BR20201017", None).unwrap();
        let b =
            TraceCode::parse("https://id.gs1.org/01/07891234567895/10/BR20201017", None).unwrap();
        let c = TraceCode::parse("010789123456789510BR20201017", None).unwrap();
        assert_eq!(a.scheme, CodeScheme::Gs1);
        assert_eq!(b.scheme, CodeScheme::Gs1);
        assert_eq!(a.key, b.key);
        assert_eq!(a.key, c.key);
        assert_eq!(a.gs1().unwrap().batch.as_deref(), Some("BR20201017"));
        assert!(TraceCode::parse("(01)07891234567896(10)X", None).is_err());
    }

    #[test]
    fn other_schemes() {
        let u = TraceCode::parse("http://zjll.zjamr.zj.gov.cn/3301000123456789", None).unwrap();
        assert_eq!(u.scheme, CodeScheme::Url);
        assert_eq!(u.key, "url:zjll.zjamr.zj.gov.cn/3301000123456789");
        assert_eq!(
            TraceCode::parse("11020201101004", None).unwrap().scheme,
            CodeScheme::Issued
        );
        assert_eq!(
            TraceCode::parse("020220201000456789", None).unwrap().scheme,
            CodeScheme::Customs
        );
        let body = "91120116MA05T1Q16A.0203.20201101";
        let code = format!("{body}.{}", uscc_code_check(body).unwrap());
        let t = TraceCode::parse(&code, None).unwrap();
        assert_eq!(t.scheme, CodeScheme::Uscc);
        let wrong = format!("{body}.{}", if code.ends_with('0') { '1' } else { '0' });
        assert!(TraceCode::parse(&wrong, Some(CodeScheme::Uscc)).is_err());
        assert_eq!(
            TraceCode::parse("LOT-7", None).unwrap().scheme,
            CodeScheme::Enterprise
        );
        assert!(TraceCode::parse("123", Some(CodeScheme::Issued)).is_err());
    }
}
