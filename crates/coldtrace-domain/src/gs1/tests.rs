use super::dictionary::{CharSet, Component, Dictionary};
use super::*;

/// A valid value for one component, built from its type, length and linters.
fn sample(c: &Component) -> String {
    let n = c.max.min(c.min.max(6)).max(c.min);
    let linter = |name: &str| c.linters.iter().any(|l| l == name);
    let fixed = |s: &str| -> String { s.chars().take(c.max).collect() };
    match c.charset {
        CharSet::Numeric => {
            let v = if linter("yymmd0") || linter("yymmdd") {
                "240315".to_string()
            } else if linter("yyyymmdd") {
                "20240315".into()
            } else if linter("hhmi") {
                "1230".into()
            } else if linter("hh") || linter("mi") || linter("ss") {
                "12".into()
            } else if linter("iso3166") || linter("iso3166999") || linter("iso4217") {
                "156".into()
            } else if linter("zero") {
                "0".into()
            } else if linter("pieceoftotal") {
                "0102".into()
            } else if linter("yesno") || linter("iso5218") || linter("winding") {
                "1".into()
            } else if linter("mediatype") {
                "01".into()
            } else {
                let body: String = (0..n).map(|i| char::from(b'1' + (i % 9) as u8)).collect();
                if linter("csum") {
                    let b = &body[..n - 1];
                    format!("{b}{}", crate::id::gs1_check_digit(b))
                } else {
                    body
                }
            };
            fixed(&v)
        }
        CharSet::Cset82 => {
            if linter("csumalpha") {
                "1987654Ad4X4bL5ttr2310c2K".into()
            } else if linter("iso3166alpha2") {
                "CN".into()
            } else if linter("iban") {
                "GB82WEST12345698765432".into()
            } else if linter("posinseqslash") {
                "1/2".into()
            } else if linter("hyphen") {
                "-".into()
            } else if linter("gcppos1") {
                fixed("1234ABC")
            } else if linter("importeridx") {
                "A".into()
            } else {
                (0..n).map(|i| char::from(b'A' + (i % 26) as u8)).collect()
            }
        }
        CharSet::Cset39 => fixed("1234ABC"),
        CharSet::Cset64 => fixed("abcDEF"),
    }
}

fn value_for(ai: &str) -> String {
    let spec = Dictionary::get().spec(ai).unwrap();
    spec.components
        .iter()
        .filter(|c| !c.optional)
        .map(sample)
        .collect()
}

fn concrete(pattern: &str) -> String {
    pattern.replace('n', "0")
}

/// A message holding `ai` and what its requisites need, avoiding excluded pairs.
fn message_for(ai: &str) -> Option<Vec<(String, String)>> {
    let dict = Dictionary::get();
    let mut msg: Vec<String> = vec![ai.to_string()];
    let conflicts = |msg: &[String], cand: &str| {
        msg.iter().any(|m| {
            m != cand
                && (dict
                    .spec(m)
                    .unwrap()
                    .ex
                    .iter()
                    .any(|p| dictionary::matches(p, cand))
                    || dict
                        .spec(cand)
                        .unwrap()
                        .ex
                        .iter()
                        .any(|p| dictionary::matches(p, m)))
        })
    };
    for _ in 0..6 {
        let mut added = false;
        for m in msg.clone() {
            for req in &dict.spec(&m).unwrap().req {
                let met = req.iter().any(|all| {
                    all.iter()
                        .all(|p| msg.iter().any(|o| dictionary::matches(p, o)))
                });
                if met {
                    continue;
                }
                let alt = req.iter().find(|all| {
                    all.iter().all(|p| {
                        dict.spec(&concrete(p)).is_some() && !conflicts(&msg, &concrete(p))
                    })
                })?;
                for p in alt {
                    let c = concrete(p);
                    if !msg.contains(&c) {
                        msg.push(c);
                        added = true;
                    }
                }
            }
        }
        if !added {
            break;
        }
    }
    Some(msg.iter().map(|a| (a.clone(), value_for(a))).collect())
}

#[test]
fn every_ai_of_the_dictionary_reads_in_every_form_it_has() {
    let dict = Dictionary::get();
    let mut read = 0;
    let mut links = 0;
    let mut unbuildable = Vec::new();
    for spec in dict.all() {
        let Some(msg) = message_for(&spec.ai) else {
            unbuildable.push(spec.ai.clone());
            continue;
        };
        let code =
            Gs1Code::from_ais(msg.clone()).unwrap_or_else(|e| panic!("({}) {msg:?}: {e}", spec.ai));
        // Bracketed and raw element strings read back to the same AIs.
        let es = code.element_string();
        assert_eq!(Gs1Code::parse(&es).unwrap(), code, "{es}");
        let raw = code.raw();
        let back = Gs1Code::parse(&format!("]C1{raw}")).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(back.key(), code.key(), "{raw:?}");
        assert_eq!(back.ais().len(), code.ais().len(), "{raw:?}");
        if let Some(dl) = code.digital_link("https://example.com/prefix") {
            let back = Gs1Code::parse(&dl).unwrap_or_else(|e| panic!("{dl}: {e}"));
            assert_eq!(back.key(), code.key(), "{dl}");
            links += 1;
        }
        // One character too many is refused, naming the AI.
        let (_, hi) = spec.length();
        let mut long = msg.clone();
        long[0].1 = format!("{}{}", long[0].1, "1".repeat(hi + 1 - long[0].1.len()));
        let e = Gs1Code::from_ais(long).unwrap_err();
        assert_eq!(e.ai.as_deref(), Some(spec.ai.as_str()), "{e}");
        read += 1;
    }
    assert!(
        read >= 500,
        "{read} AIs read; not buildable: {unbuildable:?}"
    );
    assert!(unbuildable.is_empty(), "{unbuildable:?}");
    assert!(links >= 20, "{links} Digital Links");
}

#[test]
fn scanner_strings_digital_links_and_epc_urns_name_the_same_goods() {
    let key = "gs1:0109520123456788/10ABC123/2112345";
    for form in [
        "(01)09520123456788(10)ABC123(21)12345",
        "]C1010952012345678810ABC123\x1d2112345",
        "]d2010952012345678810ABC123\x1d2112345",
        "]Q3010952012345678810ABC123{GS}2112345",
        "^010952012345678810ABC123^2112345",
        "https://id.gs1.org/01/09520123456788/10/ABC123/21/12345",
        "https://shop.example.cn/p/x/01/9520123456788/10/ABC123/21/12345?17=251231&linkType=all",
        "]Q1https://id.gs1.org/01/9520123456788/10/ABC123/21/12345",
    ] {
        let c = Gs1Code::parse(form).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(c.key().as_deref(), Some(key), "{form}");
    }
    let dl =
        Gs1Code::parse("https://x.example/01/9520123456788/10/ABC?17=251231&3103=000195").unwrap();
    assert_eq!(dl.get("17"), Some("251231"));
    assert_eq!(dl.get("3103"), Some("000195"));
    // A literal `(` in a value survives the bracketed form; a host prefix that looks like a key is skipped.
    let paren = Gs1Code::from_ais(vec![
        ("01".into(), "09520123456788".into()),
        ("10".into(), "A(10)B".into()),
    ])
    .unwrap();
    assert_eq!(Gs1Code::parse(&paren.element_string()).unwrap(), paren);
    let prefixed = Gs1Code::parse("https://x.example/00/a/01/09520123456788/10/L1").unwrap();
    assert_eq!(prefixed.key().as_deref(), Some("gs1:0109520123456788/10L1"));
    let raw = Gs1Code::parse("]C10109520123456788310300019517251231").unwrap();
    assert_eq!(raw.get("3103"), Some("000195"));
    let sscc = Gs1Code::parse("(00)106141411234567897").unwrap();
    assert_eq!(sscc.key().as_deref(), Some("gs1:00106141411234567897"));
    assert_eq!(
        sscc.digital_link(GS1_RESOLVER).unwrap(),
        "https://id.gs1.org/00/106141411234567897"
    );
    // EPC URNs.
    let sgtin = Gs1Code::parse("urn:epc:id:sgtin:0614141.107346.2017").unwrap();
    assert_eq!(sgtin.element_string(), "(01)10614141073464(21)2017");
    let lgtin = Gs1Code::parse("urn:epc:class:lgtin:4012345.012345.998877").unwrap();
    assert_eq!(lgtin.element_string(), "(01)04012345123456(10)998877");
    let sscc = Gs1Code::parse("urn:epc:id:sscc:0614141.1234567890").unwrap();
    assert_eq!(sscc.element_string(), "(00)106141412345678908");
    let sgln = Gs1Code::parse("urn:epc:id:sgln:0614141.07346.1234").unwrap();
    assert_eq!(sgln.element_string(), "(414)0614141073467(254)1234");
    assert_eq!(sgln.key().as_deref(), Some("gs1:4140614141073467/2541234"));
}

#[test]
fn wrong_codes_are_refused_with_the_ai_and_the_reason() {
    let cases = [
        ("(01)09520123456789", Some("01"), "check digit"),
        ("(01)0952012345678", Some("01"), "too short"),
        ("(10)ABC", Some("10"), "needs (01)"),
        ("(01)09520123456788(17)251232", Some("17"), "day"),
        (
            "(01)09520123456788(3103)000195(3102)001950",
            Some("3103"),
            "may not appear with (3102)",
        ),
        ("(01)09520123456788(10)AB\u{00e9}", Some("10"), "outside"),
        (
            "(01)09520123456788(99)x(01)09520123456795",
            Some("01"),
            "twice",
        ),
        ("(7777)1", Some("7777"), "not a GS1 Application Identifier"),
        ("]C10109520123456789", Some("01"), "check digit"),
        ("]C1019520123456788", Some("01"), "truncated"),
        ("]X0010952012345678810ABC", None, "symbology"),
        (
            "https://x.example/01/09520123456788/21/1/10/A",
            Some("01"),
            "out of order",
        ),
        (
            "https://x.example/01/09520123456788?01=09520123456788",
            Some("01"),
            "Digital Link query",
        ),
        ("https://x.example/product/42", None, "GS1 key"),
        ("urn:epc:id:gid:95100000.12345.400", None, "not a GS1 key"),
        (
            "urn:epc:id:sgtin:0614141.10734.2017",
            Some("01"),
            "13 digits",
        ),
    ];
    for (input, ai, reason) in cases {
        let e = Gs1Code::parse(input).expect_err(input);
        assert_eq!(e.ai.as_deref(), ai, "{input}: {e}");
        assert!(e.to_string().contains(reason), "{input}: {e}");
    }
}
