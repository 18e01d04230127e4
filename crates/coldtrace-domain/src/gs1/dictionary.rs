//! GS1's Barcode Syntax Dictionary (GS1 条码语法字典), compiled in from `data/gs1-syntax-dictionary.txt` and read
//! once: every Application Identifier (应用标识符), its format components and their linters, the AIs it needs or
//! excludes, and its GS1 Digital Link key qualifiers. `scripts/update-gs1` refreshes the file from GS1's release.

use std::collections::HashMap;
use std::sync::OnceLock;

const DICTIONARY: &str = include_str!("../../data/gs1-syntax-dictionary.txt");

/// Character set of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharSet {
    /// `N`: digits.
    Numeric,
    /// `X`: GS1 AI encodable character set 82.
    Cset82,
    /// `Y`: character set 39.
    Cset39,
    /// `Z`: base64url.
    Cset64,
}

/// One component of an AI's data field, e.g. `N13,csum,gcppos1` or `[X..17]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub charset: CharSet,
    pub min: usize,
    pub max: usize,
    pub optional: bool,
    /// Names of GS1's linter procedures applied to this component, in order.
    pub linters: Vec<String>,
}

/// One AI as the dictionary defines it (ranges such as `3100-3105` expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiSpec {
    pub ai: String,
    /// Predefined length (`*`): no FNC1 separator needed after it in a raw element string.
    pub fixed: bool,
    /// Permitted as a GS1 Digital Link data attribute (`?`).
    pub dl_attribute: bool,
    pub components: Vec<Component>,
    /// Each `req=` attribute: alternatives, each a set of AI patterns that must all be present (`01+21`).
    pub req: Vec<Vec<Vec<String>>>,
    /// AI patterns this AI may not appear with (`ex=`).
    pub ex: Vec<String>,
    /// A Digital Link primary key: the alternative orders of its key qualifiers (empty when it takes none).
    pub dlpkey: Option<Vec<Vec<String>>>,
    pub title: String,
}

impl AiSpec {
    /// Shortest and longest data length.
    pub fn length(&self) -> (usize, usize) {
        self.components.iter().fold((0, 0), |(lo, hi), c| {
            (lo + if c.optional { 0 } else { c.min }, hi + c.max)
        })
    }
}

/// The AI table.
pub struct Dictionary {
    by_ai: HashMap<String, AiSpec>,
    order: Vec<String>,
}

impl Dictionary {
    /// The dictionary compiled into the binary.
    pub fn get() -> &'static Dictionary {
        static D: OnceLock<Dictionary> = OnceLock::new();
        D.get_or_init(|| {
            Dictionary::parse(DICTIONARY).expect("the GS1 syntax dictionary compiled in parses")
        })
    }

    pub fn spec(&self, ai: &str) -> Option<&AiSpec> {
        self.by_ai.get(ai)
    }

    /// Every AI in the dictionary's order.
    pub fn all(&self) -> impl Iterator<Item = &AiSpec> {
        self.order.iter().map(|a| &self.by_ai[a])
    }

    /// The AI that starts `s` (AIs are prefix-free: at most one of the 2-, 3- and 4-digit prefixes is an AI).
    pub fn ai_at_start(&self, s: &str) -> Option<&AiSpec> {
        (2..=4).find_map(|n| s.get(..n).and_then(|p| self.by_ai.get(p)))
    }

    /// Parses the dictionary's text format.
    pub fn parse(text: &str) -> Result<Dictionary, String> {
        let mut by_ai = HashMap::new();
        let mut order = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (body, title) = match line.split_once('#') {
                Some((b, t)) => (b, t.trim().to_string()),
                None => (line, String::new()),
            };
            let mut tokens = body.split_whitespace().peekable();
            let ais = tokens.next().ok_or(format!("line {}: no AI", n + 1))?;
            let mut fixed = false;
            let mut dl_attribute = false;
            if let Some(t) = tokens.peek()
                && !t.starts_with(['N', 'X', 'Y', 'Z', '['])
            {
                fixed = t.contains('*');
                dl_attribute = t.contains('?');
                tokens.next();
            }
            let mut components = Vec::new();
            let mut req = Vec::new();
            let mut ex = Vec::new();
            let mut dlpkey = None;
            for t in tokens {
                if let Some(v) = t.strip_prefix("req=") {
                    req.push(
                        v.split(',')
                            .map(|alt| alt.split('+').map(str::to_string).collect())
                            .collect(),
                    );
                } else if let Some(v) = t.strip_prefix("ex=") {
                    ex.extend(v.split(',').map(str::to_string));
                } else if t == "dlpkey" {
                    dlpkey = Some(vec![]);
                } else if let Some(v) = t.strip_prefix("dlpkey=") {
                    dlpkey = Some(
                        v.split('|')
                            .map(|alt| alt.split(',').map(str::to_string).collect())
                            .collect(),
                    );
                } else if t.contains('=') {
                    // An attribute this version does not know: ignored, as GS1 asks of readers.
                } else {
                    components.push(component(t).map_err(|e| format!("line {}: {e}", n + 1))?);
                }
            }
            if components.is_empty() {
                return Err(format!("line {}: no format components", n + 1));
            }
            let (first, last) = match ais.split_once('-') {
                Some((a, b)) => (a, b),
                None => (ais, ais),
            };
            let width = first.len();
            let lo: u32 = first
                .parse()
                .map_err(|_| format!("line {}: bad AI {ais}", n + 1))?;
            let hi: u32 = last
                .parse()
                .map_err(|_| format!("line {}: bad AI {ais}", n + 1))?;
            for a in lo..=hi {
                let ai = format!("{a:0width$}");
                order.push(ai.clone());
                by_ai.insert(
                    ai.clone(),
                    AiSpec {
                        ai,
                        fixed,
                        dl_attribute,
                        components: components.clone(),
                        req: req.clone(),
                        ex: ex.clone(),
                        dlpkey: dlpkey.clone(),
                        title: title.clone(),
                    },
                );
            }
        }
        Ok(Dictionary { by_ai, order })
    }
}

fn component(t: &str) -> Result<Component, String> {
    let (optional, t) = match t.strip_prefix('[') {
        Some(r) => {
            let (inner, rest) = r.split_once(']').ok_or(format!("unclosed [ in {t}"))?;
            // `[N3],iso3166`: linters may follow the bracket.
            (true, format!("{inner}{rest}"))
        }
        None => (false, t.to_string()),
    };
    let mut parts = t.split(',');
    let ty = parts.next().unwrap_or("");
    let charset = match ty.chars().next() {
        Some('N') => CharSet::Numeric,
        Some('X') => CharSet::Cset82,
        Some('Y') => CharSet::Cset39,
        Some('Z') => CharSet::Cset64,
        _ => return Err(format!("unknown component type {ty}")),
    };
    let len = &ty[1..];
    let (min, max) = match len.strip_prefix("..") {
        Some(m) => (1, m.parse().map_err(|_| format!("bad length in {ty}"))?),
        None => {
            let n = len.parse().map_err(|_| format!("bad length in {ty}"))?;
            (n, n)
        }
    };
    Ok(Component {
        charset,
        min,
        max,
        optional,
        linters: parts.map(str::to_string).collect(),
    })
}

/// Whether an AI matches a dictionary pattern (`31nn`: `n` stands for any digit).
pub fn matches(pattern: &str, ai: &str) -> bool {
    pattern.len() == ai.len()
        && pattern
            .bytes()
            .zip(ai.bytes())
            .all(|(p, a)| p == a || (p == b'n' && a.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_dictionary_is_read() {
        let d = Dictionary::get();
        let lines = DICTIONARY
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        // Ranges expand, so there are at least as many AIs as lines.
        assert!(
            d.all().count() >= lines,
            "{} AIs from {lines} lines",
            d.all().count()
        );
        let gtin = d.spec("01").unwrap();
        assert!(gtin.fixed && gtin.dl_attribute);
        assert_eq!(gtin.length(), (14, 14));
        assert_eq!(gtin.components[0].linters, ["csum", "gcppos2"]);
        assert_eq!(
            gtin.dlpkey.as_ref().unwrap(),
            &vec![
                vec!["22".to_string(), "10".into(), "21".into()],
                vec!["235".into()]
            ]
        );
        let net = d.spec("3103").unwrap();
        assert!(net.fixed);
        assert_eq!(net.title, "NET WEIGHT (kg)");
        assert_eq!(net.ex, ["310n"]);
        let lot = d.spec("10").unwrap();
        assert!(!lot.fixed);
        assert_eq!(lot.length(), (1, 20));
        let place = d.spec("423").unwrap();
        assert_eq!(place.length(), (3, 15));
        assert!(place.components[1].optional);
        assert_eq!(place.components[1].linters, ["iso3166"]);
        assert!(d.spec("3106").is_none());
        assert_eq!(d.ai_at_start("3103000195").unwrap().ai, "3103");
        assert_eq!(d.ai_at_start("10ABC").unwrap().ai, "10");
        assert!(matches("31nn", "3103") && !matches("31nn", "310") && !matches("310n", "3113"));
    }
}
