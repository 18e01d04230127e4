//! Generators shared by the targets: hostile text, well-formed and nearly well-formed identifiers and codes, and
//! arbitrary JSON.

use coldtrace_domain::id::{PROVINCE_CODES, USCC_CHARSET, gs1_check_digit, uscc_check_char};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

/// Text as a hostile client sends it: any Unicode, control and invisible characters, and long runs.
pub fn hostile_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        3 => vec(any::<char>(), 0..24).prop_map(|v| v.into_iter().collect()),
        3 => "[\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{200b}\\u{2028}\\u{2212}\\u{feff}\\u{3000} 0-9A-Za-zé牛.()/%:+\\-]{0,24}",
        1 => (select(vec!["9", "牛", "a", " ", "é", "\u{1d}", "%", "/"]), 0usize..3_000)
            .prop_map(|(c, n)| c.repeat(n)),
    ]
    .boxed()
}

/// A string of `len` characters drawn from `chars`.
pub fn chars_of(chars: &'static str, len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    vec(select(chars.chars().collect::<Vec<_>>()), len)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

/// The 17 characters of a USCC before its check character.
pub fn uscc_body() -> BoxedStrategy<String> {
    (
        select(vec!['1', '5', '9', 'Y']),
        select(vec!['1', '2', '3']),
        select(PROVINCE_CODES.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
        "[0-9]{4}",
        chars_of(USCC_CHARSET, 9..10),
    )
        .prop_map(|(a, b, p, r, rest)| format!("{a}{b}{p}{r}{rest}"))
        .boxed()
}

/// A USCC: mostly valid, sometimes with a wrong check character, in lower case or padded with spaces.
pub fn uscc() -> BoxedStrategy<String> {
    (uscc_body(), 0u8..10)
        .prop_map(|(body, how)| {
            let check = uscc_check_char(&body).expect("alphabet");
            match how {
                0 => {
                    let wrong = USCC_CHARSET.chars().find(|c| *c != check).expect("31");
                    format!("{body}{wrong}")
                }
                1 => format!("{body}{check}").to_lowercase(),
                2 => format!(" {body}{check} "),
                _ => format!("{body}{check}"),
            }
        })
        .boxed()
}

/// A GTIN-8, -12, -13 or -14 with its check digit.
pub fn gtin() -> BoxedStrategy<String> {
    "[0-9]{7}|[0-9]{11}|[0-9]{12}|[0-9]{13}"
        .prop_map(|body| format!("{body}{}", gs1_check_digit(&body)))
        .boxed()
}

/// Characters of GS1 set 82, which batch (10) and serial (21) values use.
pub const SET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Percent-encodes every byte but ASCII letters and digits (as a Digital Link URI may).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Codes in every scheme and spelling, well formed or nearly: GS1 element strings (bracketed and raw) and
/// Digital Link URIs, URL codes, issued and customs digits, USCC-based codes, and hostile text.
pub fn trace_code_text() -> BoxedStrategy<String> {
    let lot = || prop_oneof![chars_of(SET82, 0..24), hostile_text()];
    prop_oneof![
        2 => (gtin(), lot(), lot()).prop_map(|(g, b, s)| format!("(01){g:0>14}(10){b}(21){s}")),
        2 => (gtin(), lot(), "[0-9]{0,8}").prop_map(|(g, b, x)| format!("01{g:0>14}10{b}\u{1d}17{x}")),
        2 => (gtin(), lot(), hostile_text(), "(https?|HTTP)://[a-zé.]{0,12}")
            .prop_map(|(g, b, s, h)| format!("{h}/01/{g:0>14}/10/{}/21/{s}?x=1#y", percent_encode(&b))),
        1 => ("(https?|HTTP)://", hostile_text(), hostile_text()).prop_map(|(h, a, b)| format!("{h}{a}/{b}")),
        1 => "[0-9]{12,20}",
        1 => "01[0-9]{12,15}.{0,4}",
        2 => (uscc(), lot(), lot(), prop_oneof![
                chars_of(USCC_CHARSET, 1..2),
                any::<char>().prop_map(String::from),
                hostile_text(),
            ])
            .prop_map(|(u, p, b, c)| format!("{u}.{p}.{b}.{c}")),
        3 => hostile_text(),
    ]
    .boxed()
}

/// Times as clients write them: RFC 3339 with offsets in every form, ledger local times, and hostile text.
pub fn time_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (
            -20i32..12_000, 0u32..15, 0u32..34, 0u32..26, 0u32..62, 0u32..62,
            "(\\.[0-9]{1,10})?",
            "Z|z|[+\\-\\u{2212}][0-9]{2}(:?[0-9]{2}(:[0-9]{2})?)?|",
            "(\\[[A-Za-z/_!=\\-牛]{0,12}\\])?",
        )
            .prop_map(|(y, mo, d, h, mi, s, frac, off, ann)| {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}{ann}")
            }),
        2 => "[0-9]{1,5}[-/][0-9]{1,3}[-/][0-9]{1,3}( [0-9]{1,3}(:[0-9]{1,3}(:[0-9]{1,3})?)?)?",
        2 => hostile_text(),
    ]
    .boxed()
}

/// Any JSON value, nested a few levels.
pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(("[a-z_]{0,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// An object with some of `fields` (each present with probability 0.6) and, rarely, one unknown field.
/// Field values are rarely of the wrong JSON type: one such value refuses the whole document before its
/// records are parsed.
pub fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .into_iter()
        .map(|(k, s)| prop::option::weighted(0.6, s.prop_map(move |v| (k.to_string(), v))).boxed())
        .collect();
    (
        parts,
        prop::option::weighted(0.005, ("[a-z_]{1,10}", any_json())),
    )
        .prop_map(|(kv, extra)| Value::Object(kv.into_iter().flatten().chain(extra).collect()))
        .boxed()
}

/// A string value: one of `examples`, or hostile text; rarely a value of another JSON type.
pub fn text_value(examples: &[&'static str]) -> BoxedStrategy<Value> {
    let examples = examples.to_vec();
    prop_oneof![
        100 => select(examples).prop_map(|s| Value::String(s.into())),
        100 => hostile_text().prop_map(Value::String),
        1 => any_json(),
    ]
    .boxed()
}

/// A value from `s` as a JSON string; rarely a value of another JSON type.
pub fn string_value(s: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    prop_oneof![200 => s.prop_map(Value::String), 1 => any_json()].boxed()
}

/// Quantities as JSON numbers and strings: mostly well formed, zero, fractional or at the limit; sometimes
/// negative, too precise, huge or not a number at all (which refuses the whole document).
pub fn quantity_value() -> BoxedStrategy<Value> {
    prop_oneof![
        60 => (0i64..1_000_000).prop_map(Value::from),
        20 => "[0-9]{1,3}(,[0-9]{3}){0,4}(\\.[0-9]{1,3})?".prop_map(Value::String),
        20 => (0u32..100_000).prop_map(|m| Value::from(f64::from(m) / 1000.0)),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => "-?[0-9,]{0,20}(\\.[0-9]{0,6})?".prop_map(Value::String),
        1 => hostile_text().prop_map(Value::String),
        1 => any_json(),
    ]
    .boxed()
}

/// Event times as JSON: mostly RFC 3339 with an offset, sometimes anything a client may write (which, when it
/// does not read as a time, refuses the whole document).
pub fn time_value() -> BoxedStrategy<Value> {
    prop_oneof![
        30 => (
            2000i32..2100, 1u32..13, 1u32..29, 0u32..24, 0u32..60, 0u32..60,
            "(\\.[0-9]{1,9})?",
            "Z|[+\\-](0[0-9]|1[0-4]):[0-5][0-9]",
        )
            .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
                Value::String(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}"))
            }),
        1 => string_value(time_text()),
    ]
    .boxed()
}

/// A UUID as a string; rarely anything else.
pub fn uuid_value() -> BoxedStrategy<Value> {
    prop_oneof![
        200 => any::<u128>().prop_map(|n| Value::String(uuid::Uuid::from_u128(n).to_string())),
        1 => any_json(),
    ]
    .boxed()
}
