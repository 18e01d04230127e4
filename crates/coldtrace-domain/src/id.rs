//! Identifiers that can only be built valid: USCC, customs declaration number, GTIN, region, country,
//! container number. "Parse, don't validate": once you hold one, it is well formed.

use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be {expected} characters, got {got}")]
    Length { expected: &'static str, got: usize },
    #[error("character {ch:?} at position {pos} is not allowed")]
    Char { ch: char, pos: usize },
    #[error("check character mismatch: expected {expected}, got {got}")]
    Check { expected: char, got: char },
    #[error("{0}")]
    Invalid(String),
}

/// The 31 characters a USCC may use (GB 32100-2015): digits and upper-case letters without I, O, Z, S, V.
pub const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Unified social credit code (统一社会信用代码, GB 32100-2015): the 18-character identity of an enterprise.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String")]
pub struct Uscc(String);

impl TryFrom<String> for Uscc {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse_overridden(&s)
    }
}

fn uscc_value(c: char) -> Option<u32> {
    USCC_CHARSET.find(c).map(|i| i as u32)
}

/// Computes the USCC check character for the first 17 characters.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    mod31_check(first17.chars())
}

/// The GB 32100 check: weights 3^i mod 31 over the 31-character alphabet (case-insensitive); `None` when a
/// character is outside it. Also the check of USCC-based trace codes ([`crate::code::uscc_code_check`]).
pub(crate) fn mod31_check(chars: impl Iterator<Item = char>) -> Option<char> {
    let mut sum = 0u32;
    let mut w = 1u32;
    for c in chars {
        sum += uscc_value(c.to_ascii_uppercase())? * w;
        w = (w * 3) % 31;
    }
    USCC_CHARSET.chars().nth(((31 - sum % 31) % 31) as usize)
}

impl Uscc {
    /// Parses a USCC, checking length, alphabet, the region digits and the check character.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::parse_inner(s, true)
    }

    /// Parses a USCC whose check character fails: real registries hold a few such codes, and a regulator may
    /// accept one. Length and alphabet are still enforced.
    pub fn parse_overridden(s: &str) -> Result<Self, IdError> {
        Self::parse_inner(s, false)
    }

    fn parse_inner(s: &str, check: bool) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(IdError::Length {
                expected: "18",
                got: n,
            });
        }
        for (pos, ch) in s.chars().enumerate() {
            if uscc_value(ch).is_none() {
                return Err(IdError::Char { ch, pos });
            }
        }
        if !s[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::Invalid(
                "characters 3-8 must be the administrative division code (digits)".into(),
            ));
        }
        if check {
            let expected = uscc_check_char(&s[..17]).expect("alphabet checked");
            let got = s.chars().nth(17).expect("length checked");
            if expected != got {
                return Err(IdError::Check { expected, got });
            }
        }
        Ok(Self(s))
    }

    /// True when the check character is right (false for a regulator-accepted exception).
    pub fn check_ok(&self) -> bool {
        uscc_check_char(&self.0[..17]) == self.0.chars().nth(17)
    }

    /// The administrative division code embedded at characters 3-8.
    pub fn region(&self) -> &str {
        &self.0[2..8]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Customs declaration number (报关单号): 4-digit customs office, 4-digit year, 1 import/export flag, 9-digit
/// sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct DeclarationNo(String);

impl TryFrom<String> for DeclarationNo {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl DeclarationNo {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let n = s.chars().count();
        if n != 18 {
            return Err(IdError::Length {
                expected: "18",
                got: n,
            });
        }
        if let Some((pos, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(IdError::Char { ch, pos });
        }
        let year: u32 = s[4..8].parse().expect("digits");
        if !(1980..=2100).contains(&year) {
            return Err(IdError::Invalid(format!(
                "year {year} (characters 5-8) is not plausible"
            )));
        }
        if !matches!(&s[8..9], "0" | "1") {
            return Err(IdError::Invalid(
                "character 9 must be the import (1) or export (0) flag".into(),
            ));
        }
        Ok(Self(s.to_string()))
    }
    /// The customs office (关区) code.
    pub fn customs_office(&self) -> &str {
        &self.0[..4]
    }
    pub fn year(&self) -> u32 {
        self.0[4..8].parse().expect("validated")
    }
    pub fn is_import(&self) -> bool {
        &self.0[8..9] == "1"
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// GS1 mod-10 check digit over all digits but the last.
pub fn gs1_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 0 { d * 3 } else { d }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Global Trade Item Number (GTIN-8, -12, -13 or -14), stored as given (not padded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Gtin(String);

impl TryFrom<String> for Gtin {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl Gtin {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let n = s.len();
        if !matches!(n, 8 | 12 | 13 | 14) {
            return Err(IdError::Length {
                expected: "8, 12, 13 or 14",
                got: s.chars().count(),
            });
        }
        if let Some((pos, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(IdError::Char { ch, pos });
        }
        let expected = gs1_check_digit(&s[..n - 1]);
        let got = (s.as_bytes()[n - 1] - b'0') as u32;
        if expected != got {
            return Err(IdError::Check {
                expected: char::from_digit(expected, 10).expect("digit"),
                got: char::from_digit(got, 10).expect("digit"),
            });
        }
        Ok(Self(s.to_string()))
    }
    /// The GTIN as 14 digits, left-padded with zeros (the form GS1 element strings carry).
    pub fn to_gtin14(&self) -> String {
        format!("{:0>14}", self.0)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Province-level division codes of GB/T 2260 (first two digits of a region code).
pub const PROVINCE_CODES: &[(&str, &str)] = &[
    ("11", "北京"),
    ("12", "天津"),
    ("13", "河北"),
    ("14", "山西"),
    ("15", "内蒙古"),
    ("21", "辽宁"),
    ("22", "吉林"),
    ("23", "黑龙江"),
    ("31", "上海"),
    ("32", "江苏"),
    ("33", "浙江"),
    ("34", "安徽"),
    ("35", "福建"),
    ("36", "江西"),
    ("37", "山东"),
    ("41", "河南"),
    ("42", "湖北"),
    ("43", "湖南"),
    ("44", "广东"),
    ("45", "广西"),
    ("46", "海南"),
    ("50", "重庆"),
    ("51", "四川"),
    ("52", "贵州"),
    ("53", "云南"),
    ("54", "西藏"),
    ("61", "陕西"),
    ("62", "甘肃"),
    ("63", "青海"),
    ("64", "宁夏"),
    ("65", "新疆"),
    ("71", "台湾"),
    ("81", "香港"),
    ("82", "澳门"),
];

/// Administrative division code (行政区划代码, GB/T 2260): six digits, province in the first two.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct RegionCode(String);

impl TryFrom<String> for RegionCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::Invalid("must be 6 digits (GB/T 2260)".into()));
        }
        if ProvinceCode::parse(&s[..2]).is_err() {
            return Err(IdError::Invalid(format!(
                "{} is not a province code (GB/T 2260)",
                &s[..2]
            )));
        }
        Ok(Self(s.to_string()))
    }
    pub fn province(&self) -> ProvinceCode {
        ProvinceCode(self.0[..2].to_string())
    }
    /// The prefecture-level city (first four digits followed by 00).
    pub fn city(&self) -> String {
        format!("{}00", &self.0[..4])
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Province code: the first two digits of GB/T 2260.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String")]
pub struct ProvinceCode(String);

impl TryFrom<String> for ProvinceCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl ProvinceCode {
    /// Accepts `33` or a full region code such as `330000`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let two = if s.len() == 6 && s.ends_with("0000") {
            &s[..2]
        } else {
            s
        };
        match PROVINCE_CODES.iter().find(|(c, _)| *c == two) {
            Some((c, _)) => Ok(Self(c.to_string())),
            None => Err(IdError::Invalid(format!(
                "{s:?} is not a province code (GB/T 2260)"
            ))),
        }
    }
    pub fn name(&self) -> &'static str {
        PROVINCE_CODES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, n)| *n)
            .expect("validated")
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const ISO3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET \
FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR \
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN \
MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR \
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Country of origin, ISO 3166-1 alpha-2 (`BR`, `AR`, `NZ`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct CountryCode(String);

impl TryFrom<String> for CountryCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl CountryCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        if s.len() == 2 && ISO3166_ALPHA2.split_ascii_whitespace().any(|c| c == s) {
            Ok(Self(s))
        } else {
            Err(IdError::Invalid(format!(
                "{s:?} is not an ISO 3166-1 alpha-2 country code"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country's Chinese name, for the countries cold-chain food comes from (the code itself otherwise).
    pub fn name_zh(&self) -> &str {
        COUNTRY_NAMES_ZH
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, n)| *n)
            .unwrap_or(&self.0)
    }
}

/// Chinese names of the countries China imports cold-chain food from (meat, seafood, dairy, fruit), and its
/// neighbours.
pub const COUNTRY_NAMES_ZH: &[(&str, &str)] = &[
    ("AR", "阿根廷"),
    ("AU", "澳大利亚"),
    ("AT", "奥地利"),
    ("BE", "比利时"),
    ("BR", "巴西"),
    ("BY", "白俄罗斯"),
    ("CA", "加拿大"),
    ("CL", "智利"),
    ("CN", "中国"),
    ("CR", "哥斯达黎加"),
    ("DE", "德国"),
    ("DK", "丹麦"),
    ("EC", "厄瓜多尔"),
    ("ES", "西班牙"),
    ("FI", "芬兰"),
    ("FO", "法罗群岛"),
    ("FR", "法国"),
    ("GB", "英国"),
    ("GL", "格陵兰"),
    ("HU", "匈牙利"),
    ("ID", "印度尼西亚"),
    ("IE", "爱尔兰"),
    ("IN", "印度"),
    ("IS", "冰岛"),
    ("IT", "意大利"),
    ("JP", "日本"),
    ("KR", "韩国"),
    ("KZ", "哈萨克斯坦"),
    ("LT", "立陶宛"),
    ("MA", "摩洛哥"),
    ("MM", "缅甸"),
    ("MN", "蒙古"),
    ("MR", "毛里塔尼亚"),
    ("MX", "墨西哥"),
    ("MY", "马来西亚"),
    ("NL", "荷兰"),
    ("NO", "挪威"),
    ("NZ", "新西兰"),
    ("PE", "秘鲁"),
    ("PH", "菲律宾"),
    ("PL", "波兰"),
    ("PT", "葡萄牙"),
    ("RU", "俄罗斯"),
    ("SE", "瑞典"),
    ("TH", "泰国"),
    ("TR", "土耳其"),
    ("UA", "乌克兰"),
    ("US", "美国"),
    ("UY", "乌拉圭"),
    ("VN", "越南"),
    ("ZA", "南非"),
];

/// Shipping container number (集装箱号, ISO 6346): owner code, category letter, six digits and a check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ContainerNo(String);

impl TryFrom<String> for ContainerNo {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

fn iso6346_letter(c: u8) -> u32 {
    // A=10 and up, skipping multiples of 11.
    let mut v = 10;
    let mut l = b'A';
    while l < c {
        v += 1;
        if v % 11 == 0 {
            v += 1;
        }
        l += 1;
    }
    v
}

impl ContainerNo {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s: String = s
            .trim()
            .to_ascii_uppercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let b = s.as_bytes();
        if b.len() != 11 {
            return Err(IdError::Length {
                expected: "11",
                got: s.chars().count(),
            });
        }
        if !b[..4].iter().all(u8::is_ascii_uppercase) || !matches!(b[3], b'U' | b'J' | b'Z') {
            return Err(IdError::Invalid(
                "must start with a 3-letter owner code and U, J or Z".into(),
            ));
        }
        if !b[4..].iter().all(u8::is_ascii_digit) {
            return Err(IdError::Invalid("characters 5-11 must be digits".into()));
        }
        let expected = container_check_digit(&s[..10]);
        let got = (b[10] - b'0') as u32;
        if expected != got {
            return Err(IdError::Check {
                expected: char::from_digit(expected, 10).expect("digit"),
                got: b[10] as char,
            });
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ISO 6346 check digit of a 10-character prefix (owner code, category, serial).
pub fn container_check_digit(prefix10: &str) -> u32 {
    prefix10
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let v = if c.is_ascii_digit() {
                (c - b'0') as u32
            } else {
                iso6346_letter(c)
            };
            v << i
        })
        .sum::<u32>()
        % 11
        % 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uscc_body() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!['1', '5', '9', 'Y']),
            prop::sample::select(vec!['1', '2', '3']),
            prop::sample::select(PROVINCE_CODES.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
            "[0-9]{4}",
            proptest::collection::vec(
                prop::sample::select(USCC_CHARSET.chars().collect::<Vec<_>>()),
                9,
            ),
        )
            .prop_map(|(a, b, p, r, rest)| {
                format!("{a}{b}{p}{r}{}", rest.into_iter().collect::<String>())
            })
    }

    #[test]
    fn known_uscc_codes() {
        // Published codes (checked independently of this implementation).
        for ok in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
            "9144030071526726XG",
        ] {
            assert!(Uscc::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Uscc::parse("911100001011123456"),
            Err(IdError::Check {
                expected: 'D',
                got: '6'
            })
        );
        assert_eq!(
            Uscc::parse("91110000802100433B").unwrap().region(),
            "110000"
        );
        assert!(matches!(
            Uscc::parse("9111000080210043"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            Uscc::parse("91110000802100433I"),
            Err(IdError::Char { ch: 'I', .. })
        ));
    }

    proptest! {
        #[test]
        fn uscc_with_computed_check_parses(body in uscc_body()) {
            let check = uscc_check_char(&body).unwrap();
            let code = format!("{body}{check}");
            let parsed = Uscc::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert!(parsed.check_ok());
            // lower case is accepted and normalised
            let lower = Uscc::parse(&code.to_lowercase()).unwrap();
            prop_assert_eq!(lower.as_str(), code.as_str());
        }

        #[test]
        fn uscc_single_substitution_is_caught(body in uscc_body(), pos in 0usize..17, d in 1u32..31) {
            let code = format!("{body}{}", uscc_check_char(&body).unwrap());
            let chars: Vec<char> = code.chars().collect();
            let old = USCC_CHARSET.find(chars[pos]).unwrap() as u32;
            let new = USCC_CHARSET.chars().nth(((old + d) % 31) as usize).unwrap();
            let mut bad = chars.clone();
            bad[pos] = new;
            let bad: String = bad.into_iter().collect();
            // A substitution in the region digits may fail on the digit rule instead; either way it fails.
            prop_assert!(Uscc::parse(&bad).is_err());
            // The override path keeps the alphabet rule but accepts the wrong check.
            if bad[2..8].bytes().all(|b| b.is_ascii_digit()) {
                let o = Uscc::parse_overridden(&bad).unwrap();
                prop_assert!(!o.check_ok());
            }
        }

        #[test]
        fn uscc_never_panics(s in "\\PC{0,24}") {
            let _ = Uscc::parse(&s);
            let _ = Uscc::parse_overridden(&s);
        }

        #[test]
        fn gtin_round_trip(body in "[0-9]{7}|[0-9]{11}|[0-9]{12}|[0-9]{13}") {
            let code = format!("{body}{}", gs1_check_digit(&body));
            let g = Gtin::parse(&code).unwrap();
            prop_assert_eq!(g.to_gtin14().len(), 14);
            prop_assert_eq!(gs1_check_digit(&g.to_gtin14()[..13]), gs1_check_digit(&body));
            let last = code.as_bytes()[code.len() - 1] - b'0';
            let wrong = format!("{body}{}", (last + 1) % 10);
            prop_assert!(matches!(Gtin::parse(&wrong), Err(IdError::Check { .. })), "{} accepted", wrong);
        }

        #[test]
        fn gtin_never_panics(s in "\\PC{0,20}") {
            let _ = Gtin::parse(&s);
        }

        #[test]
        fn declaration_numbers(office in "[0-9]{4}", year in 1980u32..=2100, flag in 0u32..2, seq in "[0-9]{9}") {
            let s = format!("{office}{year}{flag}{seq}");
            let d = DeclarationNo::parse(&s).unwrap();
            prop_assert_eq!(d.year(), year);
            prop_assert_eq!(d.is_import(), flag == 1);
            prop_assert_eq!(d.customs_office(), office.as_str());
            let bad_flag = format!("{office}{year}7{seq}");
            prop_assert!(DeclarationNo::parse(&bad_flag).is_err());
            prop_assert!(DeclarationNo::parse(&s[..17]).is_err());
        }

        #[test]
        fn declaration_never_panics(s in "\\PC{0,20}") {
            let _ = DeclarationNo::parse(&s);
        }

        #[test]
        fn container_numbers(owner in "[A-Z]{3}", cat in prop::sample::select(vec!['U', 'J', 'Z']), serial in "[0-9]{6}") {
            let prefix = format!("{owner}{cat}{serial}");
            let check = container_check_digit(&prefix);
            let good = format!("{prefix}{check}");
            let bad = format!("{prefix}{}", (check + 1) % 10);
            prop_assert!(ContainerNo::parse(&good).is_ok());
            prop_assert!(ContainerNo::parse(&bad).is_err());
        }

        #[test]
        fn container_never_panics(s in "\\PC{0,14}") {
            let _ = ContainerNo::parse(&s);
        }
    }

    #[test]
    fn known_container_and_gtin() {
        // ISO 6346's own example.
        assert!(ContainerNo::parse("CSQU3054383").is_ok());
        assert!(ContainerNo::parse("CSQU3054384").is_err());
        assert_eq!(gs1_check_digit("629104150021"), 3);
        assert!(Gtin::parse("6291041500213").is_ok());
    }

    #[test]
    fn regions_and_countries() {
        let r = RegionCode::parse("330106").unwrap();
        assert_eq!(r.province().as_str(), "33");
        assert_eq!(r.province().name(), "浙江");
        assert_eq!(r.city(), "330100");
        assert!(RegionCode::parse("990106").is_err());
        assert!(RegionCode::parse("33010").is_err());
        assert_eq!(ProvinceCode::parse("120000").unwrap().as_str(), "12");
        assert!(CountryCode::parse("br").is_ok());
        assert!(CountryCode::parse("XX").is_err());
    }
}

/// Identifiers appear in the OpenAPI document as strings with their rule in words.
macro_rules! string_schema {
    ($($t:ty => $desc:literal),* $(,)?) => {$(
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::new(
                        utoipa::openapi::schema::Type::String,
                    ))
                    .description(Some($desc))
                    .into()
            }
        }
        impl utoipa::ToSchema for $t {}
    )*};
}

string_schema! {
    Uscc => "unified social credit code (GB 32100-2015), 18 characters with its check character",
    DeclarationNo => "customs declaration number, 18 digits",
    Gtin => "GTIN-8, -12, -13 or -14 with a valid check digit",
    RegionCode => "administrative region code (GB/T 2260), 6 digits",
    ProvinceCode => "province code (GB/T 2260), 2 digits",
    CountryCode => "ISO 3166-1 alpha-2 country code",
    ContainerNo => "container number (ISO 6346) with its check digit",
}
