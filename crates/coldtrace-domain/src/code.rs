//! Trace codes (追溯码): the codes printed on goods or labels, in the schemes real provinces use.
//!
//! Every code has a canonical key so that the same code typed, scanned or pasted in another form (an element
//! string or a Digital Link URI for GS1) finds the same batch.

use std::fmt;

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
            CodeScheme::Gs1 => {
                let p = parse_gs1(v)?;
                let mut k = format!("gs1:01{}", p.gtin.to_gtin14());
                if let Some(b) = &p.batch {
                    k.push_str(&format!("/10{b}"));
                }
                if let Some(s) = &p.serial {
                    k.push_str(&format!("/21{s}"));
                }
                k
            }
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
        (self.scheme == CodeScheme::Gs1)
            .then(|| parse_gs1(&self.value).ok())
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
    let lower = v.to_ascii_lowercase();
    // `01`, a GTIN-14 and more: a raw element string.
    let raw_gs1 = v.starts_with("01")
        && v.len() > 16
        && v.get(2..16)
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    if lower.starts_with("http://") || lower.starts_with("https://") {
        if parse_gs1(v).is_ok() {
            CodeScheme::Gs1
        } else {
            CodeScheme::Url
        }
    } else if v.starts_with("(01)") || v.starts_with("(02)") {
        CodeScheme::Gs1
    } else if v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()) {
        CodeScheme::Issued
    } else if v.len() == 18 && v.bytes().all(|b| b.is_ascii_digit()) {
        CodeScheme::Customs
    } else if v.split('.').count() == 4
        && Uscc::parse(v.split('.').next().unwrap_or("")).is_ok()
        // A well-formed element string whose serial has dots is GS1, even when its first 18 characters happen
        // to read as a USCC (no USCC starts with 0).
        && !(raw_gs1 && parse_gs1(v).is_ok())
    {
        CodeScheme::Uscc
    } else if raw_gs1 {
        CodeScheme::Gs1
    } else {
        CodeScheme::Enterprise
    }
}

/// Parses a GS1 element string (bracketed or raw with FNC1 as GS) or a Digital Link URI.
pub fn parse_gs1(v: &str) -> Result<Gs1Parts, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let rest = v.split_once("://").expect("scheme").1;
        let path = rest.split_once('/').map(|x| x.1).unwrap_or("");
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let start = segs
            .iter()
            .position(|s| *s == "01")
            .ok_or("a Digital Link URI needs /01/{gtin}")?;
        let mut i = start;
        while i + 1 < segs.len() {
            pairs.push((segs[i].to_string(), percent_decode(segs[i + 1])));
            i += 2;
        }
    } else if v.starts_with('(') {
        let mut rest = v;
        while let Some(r) = rest.strip_prefix('(') {
            let (ai, after) = r.split_once(')').ok_or("unclosed ( in element string")?;
            let end = after.find('(').unwrap_or(after.len());
            pairs.push((ai.to_string(), after[..end].to_string()));
            rest = &after[end..];
        }
    } else {
        // Raw element string: fixed-length (01), then variable-length fields ended by GS (\x1d) or the end.
        let mut rest = v;
        while !rest.is_empty() {
            let ai = rest.get(..2).ok_or("truncated element string")?;
            let (val, next) = match ai {
                "01" | "02" => (
                    rest.get(2..16).ok_or("truncated GTIN")?,
                    &rest[16.min(rest.len())..],
                ),
                "17" | "11" | "13" | "15" => (
                    rest.get(2..8).ok_or("truncated date")?,
                    &rest[8.min(rest.len())..],
                ),
                "10" | "21" => {
                    let body = &rest[2..];
                    let end = body.find('\u{1d}').unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                other => {
                    return Err(format!(
                        "application identifier ({other}) is not supported in a raw string"
                    ));
                }
            };
            pairs.push((ai.to_string(), val.to_string()));
            rest = next;
        }
    }
    let mut gtin = None;
    let mut out = Gs1Parts {
        gtin: Gtin::parse("00000000").expect("valid"),
        batch: None,
        serial: None,
        expiry: None,
    };
    for (ai, val) in pairs {
        match ai.as_str() {
            "01" | "02" => {
                if val.len() != 14 {
                    return Err(format!("GTIN in ({ai}) must be 14 digits"));
                }
                gtin = Some(Gtin::parse(&val).map_err(|e| format!("GTIN: {e}"))?);
            }
            "10" => out.batch = Some(check_ai82(&val, 20, "batch (10)")?),
            "21" => out.serial = Some(check_ai82(&val, 20, "serial (21)")?),
            "17" => {
                if val.len() != 6 || !val.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("expiry (17) must be YYMMDD".into());
                }
                out.expiry = Some(val);
            }
            _ => {}
        }
    }
    out.gtin = gtin.ok_or("no GTIN (01)")?;
    Ok(out)
}

fn check_ai82(v: &str, max: usize, what: &str) -> Result<String, String> {
    // GS1 AI encodable character set 82.
    const SET82: &str =
        "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
    if v.is_empty() || v.len() > max {
        return Err(format!("{what} must be 1 to {max} characters"));
    }
    if let Some(c) = v.chars().find(|c| !SET82.contains(*c)) {
        return Err(format!(
            "{what} contains {c:?}, outside GS1 character set 82"
        ));
    }
    Ok(v.to_string())
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is, and bytes that are not UTF-8
/// become U+FFFD.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digital_link_segments_are_percent_decoded() {
        assert_eq!(percent_decode("BR%2D2020"), "BR-2020");
        assert_eq!(percent_decode("a%2fb%20c"), "a/b c");
        assert_eq!(percent_decode("%E7%89%9B"), "牛");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
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
