//! GS1 codes (GS1 编码) in every form goods and documents carry them: element strings in brackets or raw as a
//! scanner sends them (FNC1 as GS, symbology identifiers `]C1`, `]e0`, `]d2`, `]Q3`, `]J1`), GS1 Digital Link URIs
//! on any domain, and EPC URNs. One parser, [`Gs1Code::parse`], serves every entry point (scan box, ledger, API,
//! EPCIS); every value is checked against GS1's own syntax dictionary ([`dictionary`]) and linters ([`lint`]),
//! and the AIs a message needs or may not combine are checked across it.

pub mod dictionary;
mod epc;
pub mod lint;

use dictionary::{AiSpec, CharSet, Dictionary};

/// One Application Identifier and its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AiValue {
    /// The AI, e.g. `01`, `3103`.
    pub ai: String,
    pub value: String,
}

/// Why a GS1 code is refused: the AI at fault, where there is one, and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", .ai.as_ref().map(|a| format!("({a}) ")).unwrap_or_default())]
pub struct Gs1Error {
    pub ai: Option<String>,
    pub reason: String,
}

fn err<T>(ai: Option<&str>, reason: impl Into<String>) -> Result<T, Gs1Error> {
    Err(Gs1Error {
        ai: ai.map(str::to_string),
        reason: reason.into(),
    })
}

/// A validated GS1 message: its AIs in the order read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1Code {
    ais: Vec<AiValue>,
}

/// The host a Digital Link is written with when none is given: GS1's resolver.
pub const GS1_RESOLVER: &str = "https://id.gs1.org";

impl Gs1Code {
    /// Reads any GS1 form: `(01)…(10)…`, a raw element string (with or without a symbology identifier), a
    /// Digital Link URI, or an EPC URN (`urn:epc:id:sgtin:…`, `urn:epc:class:lgtin:…`, `urn:epc:id:sscc:…`…).
    pub fn parse(input: &str) -> Result<Self, Gs1Error> {
        let v = input.trim();
        if v.is_empty() {
            return err(None, "is empty");
        }
        let (symbology, v) = strip_symbology(v)?;
        let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Self::from_digital_link(v);
        }
        if symbology == Some(Symbology::Uri) {
            return err(
                None,
                "a ]Q1/]d1 symbol carries a URI here, and this is not one",
            );
        }
        if lower.starts_with("urn:epc:") {
            return Self::from_ais(epc::to_ais(v)?);
        }
        if v.starts_with('(') {
            return Self::from_ais(bracketed(v)?);
        }
        Self::from_ais(raw(v)?)
    }

    /// Checks AIs read from any form and makes the message.
    pub fn from_ais(pairs: Vec<(String, String)>) -> Result<Self, Gs1Error> {
        let dict = Dictionary::get();
        let mut ais: Vec<AiValue> = Vec::with_capacity(pairs.len());
        for (ai, value) in pairs {
            let spec = dict.spec(&ai).ok_or_else(|| Gs1Error {
                ai: Some(ai.clone()),
                reason: "is not a GS1 Application Identifier".into(),
            })?;
            check_value(spec, &value)?;
            if let Some(seen) = ais.iter().find(|a| a.ai == ai) {
                if seen.value != value {
                    return err(
                        Some(&ai),
                        format!(
                            "appears twice with different values ({} and {value})",
                            seen.value
                        ),
                    );
                }
                continue;
            }
            ais.push(AiValue { ai, value });
        }
        if ais.is_empty() {
            return err(None, "holds no Application Identifier");
        }
        for a in &ais {
            let spec = dict.spec(&a.ai).expect("checked");
            for other in &ais {
                if other.ai != a.ai && spec.ex.iter().any(|p| dictionary::matches(p, &other.ai)) {
                    return err(Some(&a.ai), format!("may not appear with ({})", other.ai));
                }
            }
            for req in &spec.req {
                let met = req.iter().any(|all| {
                    all.iter()
                        .all(|p| ais.iter().any(|o| dictionary::matches(p, &o.ai)))
                });
                if !met {
                    let want: Vec<String> = req
                        .iter()
                        .map(|all| {
                            all.iter()
                                .map(|p| format!("({p})"))
                                .collect::<Vec<_>>()
                                .join("+")
                        })
                        .collect();
                    return err(Some(&a.ai), format!("needs {} with it", want.join(" or ")));
                }
            }
        }
        Ok(Self { ais })
    }

    pub fn ais(&self) -> &[AiValue] {
        &self.ais
    }

    /// The value of an AI.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.ais
            .iter()
            .find(|a| a.ai == ai)
            .map(|a| a.value.as_str())
    }

    /// The GS1 key that identifies what the code marks: (01) GTIN before (00) SSCC before any other key.
    pub fn primary_key(&self) -> Option<&AiValue> {
        let dict = Dictionary::get();
        ["01", "00"]
            .iter()
            .find_map(|k| self.ais.iter().find(|a| a.ai == *k))
            .or_else(|| {
                self.ais
                    .iter()
                    .find(|a| dict.spec(&a.ai).is_some_and(|s| s.dlpkey.is_some()))
            })
    }

    /// The primary key and the key qualifiers present, in their Digital Link order (`01`, then `22`, `10`, `21`).
    pub fn identity(&self) -> Vec<&AiValue> {
        let Some(pk) = self.primary_key() else {
            return vec![];
        };
        let spec = Dictionary::get().spec(&pk.ai).expect("known");
        let alts = spec.dlpkey.as_deref().unwrap_or(&[]);
        let best = alts
            .iter()
            .max_by_key(|alt| alt.iter().filter(|q| self.get(q).is_some()).count())
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let mut out = vec![pk];
        out.extend(
            best.iter()
                .filter_map(|q| self.ais.iter().find(|a| &a.ai == q)),
        );
        out
    }

    /// A canonical key, equal for every spelling of the same identity: `gs1:01{gtin14}/10{lot}/21{serial}`.
    pub fn key(&self) -> Option<String> {
        let id = self.identity();
        let (pk, quals) = id.split_first()?;
        let mut k = format!("gs1:{}{}", pk.ai, pk.value);
        for q in quals {
            k.push_str(&format!("/{}{}", q.ai, q.value));
        }
        Some(k)
    }

    /// The human-readable element string, `(01)09520123456788(10)ABC`.
    pub fn element_string(&self) -> String {
        self.ais
            .iter()
            .map(|a| format!("({}){}", a.ai, a.value.replace('(', r"\(")))
            .collect()
    }

    /// The raw element string a symbol encodes: predefined-length AIs first, GS (`\x1d`) after every other AI
    /// but the last.
    pub fn raw(&self) -> String {
        let dict = Dictionary::get();
        let (mut fixed, mut var): (Vec<&AiValue>, Vec<&AiValue>) = self
            .ais
            .iter()
            .partition(|a| dict.spec(&a.ai).is_some_and(|s| s.fixed));
        fixed.append(&mut var);
        let mut out = String::new();
        for (i, a) in fixed.iter().enumerate() {
            out.push_str(&a.ai);
            out.push_str(&a.value);
            let last = i + 1 == fixed.len();
            if !last && !dict.spec(&a.ai).is_some_and(|s| s.fixed) {
                out.push('\x1d');
            }
        }
        out
    }

    /// The GS1 Digital Link URI on `base` (e.g. [`GS1_RESOLVER`]): the key and its qualifiers in the path, the
    /// other AIs that may be link attributes in the query. `None` when the code holds no primary key.
    pub fn digital_link(&self, base: &str) -> Option<String> {
        let id = self.identity();
        if id.is_empty() {
            return None;
        }
        let dict = Dictionary::get();
        let mut out = base.trim_end_matches('/').to_string();
        for a in &id {
            out.push_str(&format!("/{}/{}", a.ai, encode(&a.value)));
        }
        let rest: Vec<String> = self
            .ais
            .iter()
            .filter(|a| !id.iter().any(|i| i.ai == a.ai))
            .filter(|a| dict.spec(&a.ai).is_some_and(|s| s.dl_attribute))
            .map(|a| format!("{}={}", a.ai, encode(&a.value)))
            .collect();
        if !rest.is_empty() {
            out.push('?');
            out.push_str(&rest.join("&"));
        }
        Some(out)
    }

    /// Reads a GS1 Digital Link URI on any host: a path that may start with the host's own segments, then the
    /// primary key and its qualifiers in order, and AIs in the query. A GTIN-8, -12 or -13 in the path is read
    /// as the GTIN-14 it stands for.
    pub fn from_digital_link(uri: &str) -> Result<Self, Gs1Error> {
        let dict = Dictionary::get();
        let rest = uri.split_once("://").map(|x| x.1).unwrap_or(uri);
        let rest = rest.split('#').next().unwrap_or("");
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = rest.split_once('/').map(|x| x.1).unwrap_or("");
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut found = None;
        let mut first_error: Option<Gs1Error> = None;
        'start: for i in 0..segs.len() {
            let Some(spec) = dict.spec(segs[i]) else {
                continue;
            };
            let Some(alts) = &spec.dlpkey else { continue };
            let tail = &segs[i..];
            if !tail.len().is_multiple_of(2) {
                continue;
            }
            let quals: Vec<&str> = tail.iter().skip(2).step_by(2).copied().collect();
            let ordered = quals.is_empty()
                || alts.iter().any(|alt| {
                    let mut pos = 0;
                    quals
                        .iter()
                        .all(|q| match alt[pos..].iter().position(|a| a == q) {
                            Some(p) => {
                                pos += p + 1;
                                true
                            }
                            None => false,
                        })
                });
            if ordered {
                found = Some(i);
                break 'start;
            }
            // A segment of the host's own prefix may look like a key; a later one may be the real key.
            if first_error.is_none() {
                let bad = quals
                    .iter()
                    .find(|q| !alts.iter().any(|alt| alt.iter().any(|a| a == *q)));
                first_error = Some(match bad {
                    Some(q) => Gs1Error {
                        ai: Some(q.to_string()),
                        reason: format!("is not a key qualifier of ({})", spec.ai),
                    },
                    None => Gs1Error {
                        ai: Some(spec.ai.clone()),
                        reason: "key qualifiers are out of order in the Digital Link path".into(),
                    },
                });
            }
        }
        if found.is_none()
            && let Some(e) = first_error
        {
            return Err(e);
        }
        let i = found.ok_or_else(|| Gs1Error {
            ai: None,
            reason: "a Digital Link URI needs a GS1 key in its path (/01/{GTIN}, /00/{SSCC}, /414/{GLN}…)".into(),
        })?;
        let mut pairs = Vec::new();
        for p in segs[i..].chunks(2) {
            let mut value = decode(p[1]);
            if p[0] == "01"
                && matches!(value.len(), 8 | 12 | 13)
                && value.bytes().all(|b| b.is_ascii_digit())
            {
                value = format!("{value:0>14}");
            }
            pairs.push((p[0].to_string(), value));
        }
        let path_ais: Vec<String> = pairs.iter().map(|p| p.0.clone()).collect();
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
                // Non-AI parameters (linkType, context…) are the resolver's, not the code's.
                continue;
            }
            let Some(spec) = dict.spec(k) else {
                return err(Some(k), "is not a GS1 Application Identifier");
            };
            if !spec.dl_attribute || path_ais.iter().any(|a| a == k) {
                return err(Some(k), "may not be a Digital Link query attribute");
            }
            if spec.dlpkey.is_some() {
                return err(Some(k), "is a primary key and belongs in the path");
            }
            pairs.push((k.to_string(), decode(v)));
        }
        Self::from_ais(pairs)
    }
}

/// Whether a URN is an EPC URN of a GS1 key scheme (`urn:epc:id:sgtin:`, `urn:epc:class:lgtin:`…), as opposed to
/// the other EPC schemes (`gid`, `usdod`, `adi`, `bic`, `imovn`) that are not GS1 codes.
pub fn is_gs1_epc_urn(v: &str) -> bool {
    epc::is_gs1(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symbology {
    /// The symbol carries GS1 element strings.
    Gs1,
    /// The symbol carries plain data, here a Digital Link URI.
    Uri,
}

/// Strips an AIM symbology identifier: `]C1` GS1-128, `]e0` GS1 DataBar, `]d2` GS1 DataMatrix, `]Q3` GS1 QR
/// Code, `]J1` GS1 DotCode; `]d1`, `]Q1` plain DataMatrix and QR (a Digital Link URI).
fn strip_symbology(v: &str) -> Result<(Option<Symbology>, &str), Gs1Error> {
    let Some(rest) = v.strip_prefix(']') else {
        return Ok((None, v));
    };
    let id = rest.get(..2).ok_or(Gs1Error {
        ai: None,
        reason: "truncated symbology identifier".into(),
    })?;
    let kind = match id {
        "C1" | "e0" | "d2" | "Q3" | "J1" => Symbology::Gs1,
        "d1" | "Q1" => Symbology::Uri,
        _ => {
            return err(
                None,
                format!("]{id} is not the symbology identifier of a GS1 symbol"),
            );
        }
    };
    Ok((Some(kind), &rest[2..]))
}

fn bracketed(v: &str) -> Result<Vec<(String, String)>, Gs1Error> {
    let dict = Dictionary::get();
    let mut pairs = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'(' {
            return err(None, format!("expected ( at character {}", i + 1));
        }
        let close = v[i..].find(')').map(|c| i + c).ok_or(Gs1Error {
            ai: None,
            reason: "unclosed ( in element string".into(),
        })?;
        let ai = &v[i + 1..close];
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|c| c.is_ascii_digit()) {
            return err(None, format!("({ai}) is not an Application Identifier"));
        }
        // The value runs to the next `(AI)`; a literal `(` in a value is written `\(`.
        let mut value = String::new();
        let mut j = close + 1;
        while j < b.len() {
            if b[j] == b'\\' && b.get(j + 1) == Some(&b'(') {
                value.push('(');
                j += 2;
                continue;
            }
            if b[j] == b'(' {
                let next = v[j + 1..].find(')').map(|c| &v[j + 1..j + 1 + c]);
                if next.is_some_and(|a| dict.spec(a).is_some()) {
                    break;
                }
            }
            let ch = v[j..].chars().next().expect("in bounds");
            value.push(ch);
            j += ch.len_utf8();
        }
        pairs.push((ai.to_string(), value));
        i = j;
    }
    Ok(pairs)
}

fn raw(v: &str) -> Result<Vec<(String, String)>, Gs1Error> {
    let dict = Dictionary::get();
    // FNC1 as scanners and encoders spell it: GS, `^` (BWIPP), `{GS}`, `{FNC1}`.
    let s = v
        .replace("{GS}", "\x1d")
        .replace("{FNC1}", "\x1d")
        .replace('^', "\x1d");
    let mut rest = s.trim_start_matches('\x1d');
    let mut pairs = Vec::new();
    while !rest.is_empty() {
        let spec = dict.ai_at_start(rest).ok_or_else(|| Gs1Error {
            ai: None,
            reason: format!(
                "{:?} does not start with a GS1 Application Identifier",
                rest.chars().take(8).collect::<String>()
            ),
        })?;
        let body = &rest[spec.ai.len()..];
        let (value, next) = if spec.fixed {
            let n = spec.length().1;
            match body.get(..n) {
                Some(val) if !val.contains('\x1d') => (val, body[n..].trim_start_matches('\x1d')),
                _ => {
                    return err(
                        Some(&spec.ai),
                        format!("is truncated: needs {n} characters"),
                    );
                }
            }
        } else {
            let end = body.find('\x1d').unwrap_or(body.len());
            (&body[..end], body.get(end + 1..).unwrap_or(""))
        };
        pairs.push((spec.ai.clone(), value.to_string()));
        rest = next;
    }
    Ok(pairs)
}

/// Checks a value against its AI's components and their linters.
fn check_value(spec: &AiSpec, value: &str) -> Result<(), Gs1Error> {
    let ai = Some(spec.ai.as_str());
    if value.is_empty() {
        return err(ai, "is empty");
    }
    let mut rest = value;
    for c in &spec.components {
        if rest.is_empty() && c.optional {
            break;
        }
        let n = if c.min == c.max {
            c.min
        } else {
            rest.chars().count().min(c.max)
        };
        let take: usize = rest
            .char_indices()
            .nth(n)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let part = &rest[..take];
        if part.chars().count() < c.min.max(1) {
            let (lo, hi) = spec.length();
            return err(
                ai,
                format!(
                    "{value:?} is too short: {} takes {}",
                    spec.title,
                    span(lo, hi)
                ),
            );
        }
        let set = match c.charset {
            CharSet::Numeric => None,
            CharSet::Cset82 => Some(lint::CSET82),
            CharSet::Cset39 => Some(lint::CSET39),
            CharSet::Cset64 => {
                Some("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
            }
        };
        match set {
            None => {
                if let Some(ch) = part.chars().find(|c| !c.is_ascii_digit()) {
                    return err(ai, format!("{ch:?} is not a digit"));
                }
            }
            Some(set) => {
                if let Some(ch) = part.chars().find(|c| !set.contains(*c)) {
                    return err(
                        ai,
                        format!("{ch:?} is outside the characters GS1 allows here"),
                    );
                }
            }
        }
        for l in &c.linters {
            lint::run(l, part).map_err(|reason| Gs1Error {
                ai: ai.map(str::to_string),
                reason,
            })?;
        }
        rest = &rest[take..];
    }
    if !rest.is_empty() {
        let (lo, hi) = spec.length();
        return err(
            ai,
            format!(
                "{value:?} is too long: {} takes {}",
                spec.title,
                span(lo, hi)
            ),
        );
    }
    Ok(())
}

fn span(lo: usize, hi: usize) -> String {
    if lo == hi {
        format!("{lo} characters")
    } else {
        format!("{lo} to {hi} characters")
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

#[cfg(test)]
mod tests;
