//! Fuzz and property targets for province adapters: [`FieldMap::to_message`] on random records of a foreign
//! system (the field map of a province that names its fields `jllx`, `pch_id`, `zsm`, …, with each code scheme),
//! with random, hostile and missing values in every field.
//!
//! Properties: nothing panics; a record that maps gives a message that passes [`Message::check`], is of the type
//! the record's type maps to, stays within the protocol's bounds and reads back equal in an envelope; a record
//! that does not map is refused naming a field the foreign system has (its type field, a mapped foreign field,
//! or a protocol field it sends under the protocol's own name).
//!
//! Each target runs `COLDTRACE_FUZZ_CASES` generated records (256 by default). Run longer with
//!
//! ```sh
//! COLDTRACE_FUZZ_CASES=100000 cargo test -p coldtrace-national --test fuzz
//! ```

use std::collections::BTreeSet;

use coldtrace_domain::CodeScheme;
use coldtrace_domain::code::uscc_code_check;
use coldtrace_domain::docking::{Envelope, MAX_TEXT};
use coldtrace_domain::id::{PROVINCE_CODES, USCC_CHARSET, gs1_check_digit, uscc_check_char};
use coldtrace_national::adapter::FieldMap;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// Generated records per target: `COLDTRACE_FUZZ_CASES`, 256 when unset.
fn cases() -> u32 {
    std::env::var("COLDTRACE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// The protocol fields an adapter reads (`FieldMap::fields` maps some of them to foreign names).
const PROTOCOL_FIELDS: &[&str] = &[
    "batch",
    "code",
    "product",
    "gtin",
    "batch_no",
    "owner_uscc",
    "origin_country",
    "inspection_cert_no",
    "declaration_no",
    "port_of_entry",
    "import_date",
    "quantity",
    "unit",
    "movement",
    "seller_uscc",
    "seller_name",
    "buyer_uscc",
    "buyer_name",
    "time",
    "uscc",
    "name",
    "kind",
    "region",
];

/// The field map of Zhejiang's foreign system in the adapter's own tests, with the code scheme given.
fn field_map(scheme: CodeScheme) -> FieldMap {
    serde_json::from_value(json!({
        "province": "33", "scheme": scheme, "type_field": "jllx",
        "types": {"PC": "batch", "CK": "outflow", "RK": "inflow", "QY": "enterprise", "XJ": "incident"},
        "fields": {"batch": "pch_id", "code": "zsm", "product": "spmc", "batch_no": "pch",
                   "quantity": "sl", "unit": "dw", "owner_uscc": "qydm",
                   "seller_uscc": "mfdm", "buyer_uscc": "gfdm", "time": "sj", "movement": "lsh",
                   "inspection_cert_no": "jyzh", "uscc": "tyshxydm", "name": "qymc"}
    }))
    .expect("a field map")
}

fn hostile_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        3 => vec(any::<char>(), 0..24).prop_map(|v| v.into_iter().collect()),
        3 => "[\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{200b}\\u{2028}\\u{feff}\\u{3000} 0-9A-Za-zé牛.()/%:+\\-]{0,24}",
        1 => (select(vec!["9", "牛", "a", " ", "é"]), 190usize..600).prop_map(|(c, n)| c.repeat(n)),
    ]
    .boxed()
}

fn uscc() -> BoxedStrategy<String> {
    (
        select(vec!['1', '5', '9']),
        select(vec!['1', '2', '3']),
        select(PROVINCE_CODES.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
        "[0-9]{4}",
        vec(select(USCC_CHARSET.chars().collect::<Vec<_>>()), 9),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(a, b, p, r, rest, good)| {
            let body = format!("{a}{b}{p}{r}{}", rest.into_iter().collect::<String>());
            let check = uscc_check_char(&body).expect("alphabet");
            let check = if good {
                check
            } else {
                USCC_CHARSET.chars().find(|c| *c != check).expect("31")
            };
            format!("{body}{check}")
        })
        .boxed()
}

/// A code in `scheme` (mostly), in another scheme, or hostile text.
fn code(scheme: CodeScheme) -> BoxedStrategy<String> {
    let gtin = "[0-9]{13}".prop_map(|b| format!("{b}{}", gs1_check_digit(&b)));
    let fitting: BoxedStrategy<String> = match scheme {
        CodeScheme::Gs1 => prop_oneof![
            (gtin.clone(), "[A-Z0-9]{1,20}")
                .prop_map(|(g, lot)| format!("https://id.gs1.org/01/{g}/10/{lot}")),
            (gtin, "[A-Z0-9]{1,20}").prop_map(|(g, lot)| format!("(01){g}(10){lot}")),
        ]
        .boxed(),
        CodeScheme::Url => "http://[a-z.]{1,12}/[0-9A-Za-z]{1,20}".boxed(),
        CodeScheme::Issued => "[0-9]{14}".boxed(),
        CodeScheme::Customs => "[0-9]{18}".boxed(),
        CodeScheme::Uscc => (uscc(), "[0-9A-H]{1,8}", "[0-9]{1,8}")
            .prop_map(|(u, p, b)| {
                let body = format!("{u}.{p}.{b}");
                let check = uscc_code_check(&body).expect("alphabet");
                format!("{body}.{check}")
            })
            .boxed(),
        CodeScheme::Enterprise => "[A-Z]{2}-[0-9]{1,8}".boxed(),
    };
    prop_oneof![
        6 => fitting,
        1 => "[0-9]{14}|[0-9]{18}|http://[a-z]{1,8}/[0-9]{1,8}",
        2 => hostile_text(),
    ]
    .boxed()
}

/// A value for a field: one fitting the field, or (unless `clean`) hostile text or another JSON type.
fn value(field: &'static str, scheme: CodeScheme, clean: bool) -> BoxedStrategy<Value> {
    let fitting: BoxedStrategy<String> = match field {
        "qydm" | "mfdm" | "gfdm" | "tyshxydm" | "uscc" => uscc(),
        "zsm" => code(scheme),
        "sl" => prop_oneof![
            8 => "[0-9]{1,6}(\\.[0-9]{1,3})?",
            1 => "-?[0-9,]{1,16}(\\.[0-9]{0,5})?",
        ]
        .boxed(),
        "sj" => prop_oneof![
            "20[0-9]{2}-(0?[1-9]|1[0-2])-(0?[1-9]|1[0-9]|2[0-8])( ([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?",
            "20[0-9]{2}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,3}:[0-9]{1,3})?",
            "20[0-9]{2}/[0-9]{1,2}/[0-9]{1,2}",
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](Z|[+\\-][01][0-9]:[0-5][0-9])",
        ]
        .boxed(),
        "region" => prop_oneof![
            4 => select(vec!["330106", "320500", "440305", "120116"]),
            1 => select(vec!["990000", "33010", "3301061"]),
        ]
        .prop_map(String::from)
        .boxed(),
        "gtin" => "[0-9]{8,14}".boxed(),
        _ => "[A-Za-z0-9冻牛腩\\-]{1,20}".boxed(),
    };
    if clean {
        return fitting.prop_map(Value::String).boxed();
    }
    prop_oneof![
        30 => fitting.prop_map(Value::String),
        4 => hostile_text().prop_map(Value::String),
        2 => (select(vec!["a", "牛"]), 190usize..600).prop_map(|(c, n)| Value::String(c.repeat(n))),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => vec(hostile_text().prop_map(Value::String), 0..3).prop_map(Value::Array),
    ]
    .boxed()
}

/// A foreign record: a type (mapped, unmapped, missing or not text) and some of the fields a foreign system
/// sends, mapped or under the protocol's own names; `clean` values fit their field (mostly).
fn record(scheme: CodeScheme, clean: bool) -> BoxedStrategy<Value> {
    let names: Vec<&'static str> = vec![
        "pch_id",
        "zsm",
        "spmc",
        "pch",
        "sl",
        "dw",
        "qydm",
        "mfdm",
        "gfdm",
        "sj",
        "lsh",
        "jyzh",
        "tyshxydm",
        "qymc",
        "gtin",
        "origin_country",
        "declaration_no",
        "port_of_entry",
        "import_date",
        "seller_name",
        "buyer_name",
        "kind",
        "region",
        "junk",
    ];
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = names
        .into_iter()
        .map(|n| {
            prop::option::weighted(
                0.85,
                value(n, scheme, clean).prop_map(move |v| (n.to_string(), v)),
            )
            .boxed()
        })
        .collect();
    let ty = prop_oneof![
        16 => select(vec!["PC", "CK", "RK", "QY"]).prop_map(|t| Some(Value::from(t))),
        2 => select(vec!["XJ", "XX", "pc", ""]).prop_map(|t| Some(Value::from(t))),
        1 => Just(None),
        1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
    ];
    (ty, fields)
        .prop_map(|(ty, fields)| {
            let mut o: serde_json::Map<String, Value> = fields.into_iter().flatten().collect();
            if let Some(t) = ty {
                o.insert("jllx".into(), t);
            }
            Value::Object(o)
        })
        .boxed()
}

/// The first text or list in `v` past the protocol's bounds.
fn out_of_bounds(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::String(s) => {
            let max = if key == "value" { 512 } else { MAX_TEXT };
            (s.chars().count() > max).then(|| format!("{key}: {} characters", s.chars().count()))
        }
        Value::Array(a) => a.iter().find_map(|x| out_of_bounds(x, key)),
        Value::Object(o) => o.iter().find_map(|(k, x)| out_of_bounds(x, k)),
        _ => None,
    }
}

/// Random foreign records through the field map, with each code scheme.
#[test]
fn foreign_records_map_to_checked_messages_or_name_a_foreign_field() {
    let schemes = select(vec![
        CodeScheme::Gs1,
        CodeScheme::Url,
        CodeScheme::Issued,
        CodeScheme::Uscc,
        CodeScheme::Customs,
        CodeScheme::Enterprise,
    ]);
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        source_file: Some(file!()),
        ..Config::default()
    });
    let mapped = std::cell::Cell::new(0u32);
    let input =
        schemes.prop_flat_map(|s| (Just(s), prop_oneof![record(s, true), record(s, false)]));
    let result = runner.run(&input, |(scheme, r)| {
        let map = field_map(scheme);
        let foreign: BTreeSet<&str> = std::iter::once(map.type_field.as_str())
            .chain(map.fields.values().map(String::as_str))
            .chain(
                PROTOCOL_FIELDS
                    .iter()
                    .copied()
                    .filter(|f| !map.fields.contains_key(*f)),
            )
            .collect();
        match map.to_message(&r) {
            Ok(m) => {
                mapped.set(mapped.get() + 1);
                prop_assert_eq!(m.check(), vec![]);
                let ty = r["jllx"].as_str().and_then(|t| map.types.get(t));
                prop_assert_eq!(ty.map(String::as_str), Some(m.kind()));
                let v = serde_json::to_value(&m).expect("serializes");
                if let Some(what) = out_of_bounds(&v, "") {
                    return Err(TestCaseError::fail(format!("mapped with {what}")));
                }
                let e = Envelope {
                    id: uuid::Uuid::from_u128(1),
                    seq: 1,
                    recorded_at_ms: 1_793_500_000_000,
                    body: m,
                };
                let text = serde_json::to_string(&e).expect("serializes");
                let back: Envelope = serde_json::from_str(&text).expect("reads back");
                prop_assert_eq!(back, e);
            }
            Err(e) => {
                prop_assert!(!e.field.is_empty(), "{e:?} names no protocol field");
                prop_assert!(!e.reason.is_empty(), "{e:?} gives no reason");
                prop_assert!(
                    foreign.contains(e.foreign.as_str()),
                    "{:?} is not a field of the foreign system: {:?}",
                    e.foreign,
                    e
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Records that map must be generated too, or the mapped side would go untested.
    assert!(
        mapped.get() >= cases() / 20,
        "only {} of {} records mapped",
        mapped.get(),
        cases()
    );
}
