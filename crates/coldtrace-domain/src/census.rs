//! The census of cold-chain enterprises (冷链主体底数) and its matching against registered enterprises.
//!
//! A province imports the census it gets from market supervision or commerce registers; coverage is how much of
//! it is registered on the platform. Registers and ledgers write the same business differently (`（天津）` and
//! `(天津)`, with or without `天津市` in front, `有限公司` or `有限责任公司`, a character typed wrong), so an entry
//! matches by USCC first, then by its name made plain ([`plain_name`]) in the same city, then by a name within a
//! small edit distance in the same district ([`match_census`]).

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::enterprise::EnterpriseKind;
use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::id::{RegionCode, Uscc};

/// One business of the census (普查主体).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CensusEntry {
    /// Its USCC, when the register gives one.
    #[schema(value_type = Option<String>)]
    pub uscc: Option<Uscc>,
    pub name: String,
    pub kind: EnterpriseKind,
    #[schema(value_type = String)]
    pub region: RegionCode,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

/// A census entry as imported.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CensusEntryDraft {
    pub uscc: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

impl CensusEntryDraft {
    pub fn parse(&self, at: &str) -> Result<CensusEntry, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let uscc = e
            .take(
                &f("uscc"),
                optional_text(&self.uscc, 18).and_then(|u| {
                    u.map(|u| Uscc::parse(&u).map_err(|x| x.to_string()))
                        .transpose()
                }),
            )
            .flatten();
        let name = e.take(&f("name"), required_text(&self.name, 200));
        let kind = e.take(
            &f("kind"),
            required_text(&self.kind, 64).and_then(|k| EnterpriseKind::parse(&k)),
        );
        let region = e.take(
            &f("region"),
            required_text(&self.region, 6)
                .and_then(|r| RegionCode::parse(&r).map_err(|x| x.to_string()))
                .and_then(|r| {
                    if !r.is_known() {
                        Err(format!("{} is not a division of GB/T 2260", r.as_str()))
                    } else if r.as_str().ends_with("0000") {
                        Err(format!(
                            "{} is a province; give the city or district",
                            r.as_str()
                        ))
                    } else {
                        Ok(r)
                    }
                }),
        );
        let address = e
            .take(&f("address"), optional_text(&self.address, 500))
            .flatten();
        let contact_name = e
            .take(&f("contact_name"), optional_text(&self.contact_name, 100))
            .flatten();
        let contact_phone = e
            .take(&f("contact_phone"), optional_text(&self.contact_phone, 20))
            .flatten();
        if !e.is_empty() {
            return Err(e);
        }
        Ok(CensusEntry {
            uscc,
            name: name.expect("checked"),
            kind: kind.expect("checked"),
            region: region.expect("checked"),
            address,
            contact_name,
            contact_phone,
        })
    }
}

/// Legal-form endings that registers write in different ways, longest first.
const FORMS: &[&str] = &["股份有限公司", "有限责任公司", "有限公司", "公司"];

/// Place names a business name may start with or carry in brackets: provinces and prefecture-level cities, full
/// and short (`天津市` and `天津`, `河北省` and `河北`), and county-level districts by their full name (`滨海新区`).
/// Short forms of districts are common words (`嘉禾`, `永康`) and are never taken as places.
fn places() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v = std::collections::HashSet::new();
        for d in crate::region::divisions() {
            if d.name == "市辖区" || d.name == "县" || d.name.ends_with("直辖县级行政区划")
            {
                continue;
            }
            v.insert(d.name.to_string());
            if d.is_province() || d.is_city() {
                for suffix in ["省", "市", "自治区", "地区", "盟"] {
                    if let Some(short) = d.name.strip_suffix(suffix)
                        && short.chars().count() >= 2
                    {
                        v.insert(short.to_string());
                    }
                }
            }
        }
        for (_, short) in crate::id::PROVINCE_CODES {
            v.insert(short.to_string());
        }
        v
    })
}

/// The places of one province a business name of it may start with: the province and its cities, full and
/// short, and its districts by their full name. (Another province's city in front is part of a brand: `中山`,
/// `金华` are common words elsewhere.)
fn own_places(province: &str) -> std::sync::Arc<std::collections::HashSet<String>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static BY_PROVINCE: OnceLock<Mutex<HashMap<String, Arc<std::collections::HashSet<String>>>>> =
        OnceLock::new();
    let map = BY_PROVINCE.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(province.to_string())
        .or_insert_with(|| {
            let codes: std::collections::HashSet<&str> = crate::region::divisions()
                .iter()
                .filter(|d| d.code.starts_with(province))
                .map(|d| d.name)
                .collect();
            let all = places();
            Arc::new(
                all.iter()
                    .filter(|p| {
                        codes.contains(p.as_str())
                            || codes.iter().any(|full| {
                                full.starts_with(p.as_str())
                                    && ["省", "市", "自治区", "地区", "盟"]
                                        .iter()
                                        .any(|x| full.strip_suffix(x) == Some(p.as_str()))
                            })
                            || crate::id::PROVINCE_CODES
                                .iter()
                                .any(|(c, short)| *c == province && short == p)
                    })
                    .cloned()
                    .collect(),
            )
        })
        .clone()
}

/// The longest place name `s` starts with, in bytes (places are 2 to 10 characters).
fn leading_place(s: &str) -> Option<usize> {
    leading_in(s, places())
}

fn leading_in(s: &str, set: &std::collections::HashSet<String>) -> Option<usize> {
    let ends: Vec<usize> = s
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take(10)
        .collect();
    ends.iter()
        .rev()
        .filter(|e| s[..**e].chars().count() >= 2)
        .find(|e| set.contains(&s[..**e]))
        .copied()
}

/// Whether a bracket's text is places only (`天津`, `天津滨海新区`).
fn is_places(t: &str) -> bool {
    let mut t = t;
    while let Some(n) = leading_place(t) {
        t = &t[n..];
    }
    t.is_empty()
}

/// A business name of a province (GB/T 2260 two digits) made plain for comparison: full-width forms folded
/// (NFKC), spaces and punctuation dropped, a place in brackets dropped, the province's own places in front
/// dropped, and the legal form at the end dropped.
/// `天津市 某某冷链物流（天津）有限责任公司` and `某某冷链物流有限公司` are both `某某冷链物流` in Tianjin (`12`).
pub fn plain_name(name: &str, province: &str) -> String {
    let own = own_places(province);
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    // Bracketed places: (天津), (天津市).
    let mut s = String::with_capacity(folded.len());
    let mut rest = folded.as_str();
    while let Some(open) = rest.find('(') {
        s.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(')') {
            Some(close) if is_places(after[..close].trim()) => {
                rest = &after[close + 1..];
            }
            _ => {
                s.push('(');
                rest = after;
            }
        }
    }
    s.push_str(rest);
    let mut s: String = s
        .chars()
        .filter(|c| {
            !c.is_whitespace() && !c.is_ascii_punctuation() && !"·、，。《》“”‘’【】".contains(*c)
        })
        .collect();
    // Places in front (天津市, 滨海新区), at most three, keeping two characters.
    for _ in 0..3 {
        match leading_in(&s, &own).filter(|n| s[*n..].chars().count() >= 2) {
            Some(n) => s = s[n..].to_string(),
            None => break,
        }
    }
    for form in FORMS {
        if let Some(stripped) = s.strip_suffix(form)
            && !stripped.is_empty()
        {
            s = stripped.to_string();
            break;
        }
    }
    s
}

/// A registered enterprise as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub id: Uuid,
    pub uscc: String,
    pub name: String,
    pub region: String,
}

/// How a census entry was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The same USCC.
    Uscc,
    /// The same plain name.
    Name,
    /// A plain name within a small edit distance, in the same district.
    SimilarName,
}

/// The registered enterprise a census entry is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CensusMatch {
    pub enterprise: Option<Uuid>,
    pub by: Option<MatchedBy>,
}

/// The edit distance two plain names may be apart and still be one business: one character for every eight.
/// Shorter names must be the same (`鑫源冷链` and `鑫达冷链` are two businesses).
fn tolerance(chars: usize) -> usize {
    chars / 8
}

/// The names one character shorter than `s` (each character left out in turn), and `s` itself: two names one
/// edit apart share one of these, so near names are found by lookups rather than by comparing every pair.
fn deletions(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut v = Vec::with_capacity(chars.len() + 1);
    v.push(s.to_string());
    for i in 0..chars.len() {
        v.push(
            chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| *c)
                .collect(),
        );
    }
    v
}

/// Matches each census entry to a registered enterprise: by USCC (anywhere), by plain name in the same city (the
/// region's first four digits), then by the nearest plain name within [`tolerance`] in the same district. An
/// entry whose nearest names tie is not matched.
pub fn match_census(entries: &[CensusEntry], registered: &[Registered]) -> Vec<CensusMatch> {
    let by_uscc: HashMap<&str, Uuid> = registered.iter().map(|r| (r.uscc.as_str(), r.id)).collect();
    let prov = |region: &str| region.get(..2).unwrap_or("").to_string();
    let plain: Vec<String> = registered
        .iter()
        .map(|r| plain_name(&r.name, &prov(&r.region)))
        .collect();
    let city = |region: &str| region.get(..4).unwrap_or("").to_string();
    let mut by_name: HashMap<(String, &str), Vec<usize>> = HashMap::new();
    // (district, a deletion variant) → registered names that have it; names long enough for a tolerance of one.
    // Near names are looked for in the same district only: in a whole city (a municipality is one) two
    // businesses a character apart are too often two businesses.
    let mut near: HashMap<(String, String), Vec<usize>> = HashMap::new();
    // Longer names (a tolerance of two or more), by district, compared one by one.
    let mut long: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in registered.iter().enumerate() {
        let c = city(&r.region);
        by_name
            .entry((c.clone(), plain[i].as_str()))
            .or_default()
            .push(i);
        match tolerance(plain[i].chars().count()) {
            0 => {}
            1 => {
                for d in deletions(&plain[i]) {
                    near.entry((r.region.clone(), d)).or_default().push(i);
                }
            }
            _ => long.entry(r.region.clone()).or_default().push(i),
        }
    }
    entries
        .iter()
        .map(|e| {
            if let Some(id) = e.uscc.as_ref().and_then(|u| by_uscc.get(u.as_str())) {
                return CensusMatch {
                    enterprise: Some(*id),
                    by: Some(MatchedBy::Uscc),
                };
            }
            let p = plain_name(&e.name, &prov(e.region.as_str()));
            let c = city(e.region.as_str());
            if let Some(ix) = by_name.get(&(c.clone(), p.as_str())) {
                // Two registered businesses with this plain name in the city: neither is known to be it.
                let ids: std::collections::BTreeSet<Uuid> =
                    ix.iter().map(|i| registered[*i].id).collect();
                return match ids.len() {
                    1 => CensusMatch {
                        enterprise: ids.into_iter().next(),
                        by: Some(MatchedBy::Name),
                    },
                    _ => CensusMatch {
                        enterprise: None,
                        by: None,
                    },
                };
            }
            let n = p.chars().count();
            let tol = tolerance(n);
            let mut candidates: Vec<usize> = Vec::new();
            if tol > 0 {
                let district = e.region.as_str().to_string();
                for d in deletions(&p) {
                    if let Some(ix) = near.get(&(district.clone(), d)) {
                        candidates.extend(ix);
                    }
                }
                candidates.extend(long.get(&district).map(Vec::as_slice).unwrap_or(&[]));
                candidates.sort_unstable();
                candidates.dedup();
            }
            let mut best: Option<(usize, usize)> = None;
            let mut tie = false;
            for i in candidates {
                let other = &plain[i];
                let t = tol.min(tolerance(other.chars().count()).max(1));
                if other.chars().count().abs_diff(n) > t {
                    continue;
                }
                let d = strsim::levenshtein(&p, other);
                if d > t {
                    continue;
                }
                match best {
                    Some((bd, _)) if d > bd => {}
                    Some((bd, _)) if d == bd => tie = true,
                    _ => {
                        best = Some((d, i));
                        tie = false;
                    }
                }
            }
            match (best, tie) {
                (Some((_, i)), false) => CensusMatch {
                    enterprise: Some(registered[i].id),
                    by: Some(MatchedBy::SimilarName),
                },
                _ => CensusMatch {
                    enterprise: None,
                    by: None,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, region: &str, uscc: Option<&str>) -> CensusEntry {
        CensusEntry {
            uscc: uscc.map(|u| Uscc::parse(u).unwrap()),
            name: name.into(),
            kind: EnterpriseKind::ThirdPartyColdStore,
            region: RegionCode::parse(region).unwrap(),
            address: None,
            contact_name: None,
            contact_phone: None,
        }
    }

    fn reg(n: u128, name: &str, region: &str) -> Registered {
        Registered {
            id: Uuid::from_u128(n),
            uscc: format!("U{n}"),
            name: name.into(),
            region: region.into(),
        }
    }

    #[test]
    fn plain_names_fold_what_registers_write_differently() {
        for (a, b) in [
            ("天津市某某冷链物流有限公司", "某某冷链物流有限责任公司"),
            ("某某冷链物流（天津）有限公司", "某某冷链物流(天津)有限公司"),
            ("天津 某某冷链物流 有限公司", "天津某某冷链物流公司"),
            ("ＡＢＣ冷库有限公司", "abc冷库"),
        ] {
            assert_eq!(plain_name(a, "12"), plain_name(b, "12"), "{a} / {b}");
        }
        assert_ne!(
            plain_name("某某冷链物流有限公司", "12"),
            plain_name("某某冷链有限公司", "12")
        );
        // A name that is only a place keeps it.
        assert_eq!(plain_name("天津", "12"), "天津");
        // Another province's city in front is part of the name.
        assert_ne!(
            plain_name("中山冷库有限公司", "12"),
            plain_name("阿里冷库有限公司", "12")
        );
        assert_eq!(plain_name("中山冷库有限公司", "44"), "冷库");
    }

    #[test]
    fn short_names_and_twins_are_not_guessed() {
        let registered = vec![
            reg(1, "天津鑫源冷链有限公司", "120116"),
            reg(2, "天津宏达冷库有限公司", "120104"),
            reg(3, "宏达冷库（天津）有限责任公司", "120105"),
        ];
        let m = match_census(
            &[
                // One character apart, but a short name: another business.
                entry("天津鑫达冷链有限公司", "120116", None),
                // Two registered businesses share the plain name in the city: neither is known to be it.
                entry("天津宏达冷库有限公司", "120104", None),
            ],
            &registered,
        );
        assert_eq!(
            m.iter().map(|m| m.enterprise).collect::<Vec<_>>(),
            vec![None, None]
        );
    }

    #[test]
    fn near_duplicates_match_in_their_city_and_ties_do_not() {
        let registered = vec![
            reg(1, "天津滨海新区鑫源冷链物流有限公司", "120116"),
            reg(2, "天津宏达水产品批发市场经营有限公司", "120104"),
            reg(3, "天津宏达水产品加工市场经营有限公司", "120104"),
            reg(4, "上海鑫源冷链物流有限公司", "310115"),
        ];
        let entries = vec![
            // The same USCC.
            CensusEntry {
                uscc: Some(Uscc::parse("91120116MA05ABCD1X").unwrap_or_else(|_| {
                    let body = "91120116MA05ABCD1";
                    Uscc::parse(&format!(
                        "{body}{}",
                        crate::id::uscc_check_char(body).unwrap()
                    ))
                    .unwrap()
                })),
                ..entry("别名", "120116", None)
            },
            // The same plain name, written otherwise.
            entry("鑫源冷链物流（天津滨海新区）有限责任公司", "120116", None),
            // One character typed wrong in a name of eleven, same district.
            entry("天津宏达水产品枇发市场经营有限公司", "120104", None),
            // Equally near two registered businesses: not matched.
            entry("天津宏达水产品加发市场经营有限公司", "120104", None),
            // A near name in another city: not matched.
            entry("天津鑫源冷链物流有限公司x", "120101", None),
            // Nobody.
            entry("天津北辰冰山冷库有限公司", "120113", None),
        ];
        let mut reg_with_uscc = registered.clone();
        reg_with_uscc[1].uscc = entries[0].uscc.as_ref().unwrap().as_str().to_string();
        let m = match_census(&entries, &reg_with_uscc);
        let got: Vec<(Option<u128>, Option<MatchedBy>)> = m
            .iter()
            .map(|m| (m.enterprise.map(|e| e.as_u128()), m.by))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(2), Some(MatchedBy::Uscc)),
                (Some(1), Some(MatchedBy::Name)),
                (Some(2), Some(MatchedBy::SimilarName)),
                (None, None),
                (None, None),
                (None, None),
            ]
        );
    }
}
