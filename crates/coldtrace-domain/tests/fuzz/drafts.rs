//! Submission drafts (`POST /api/v1/submissions`, and every ledger import): JSON bytes into a
//! [`SubmissionDraft`], then [`SubmissionDraft::parse`] for an enterprise and for a regulator.
//!
//! Properties: nothing panics; every refusal names a field path that points into what was sent (a record at an
//! index the draft has, then a field of that record's type, then an item of a nested list the record has); only
//! a refusal of the whole document (no records) has an empty path, and then it is the only one; a draft that
//! parses keeps every record it was sent.

use coldtrace_domain::batch::TraceCodeDraft;
use coldtrace_domain::movement::LineDraft;
use coldtrace_domain::person::HandlerDraft;
use coldtrace_domain::{
    BatchDraft, DocumentDraft, EnterpriseDraft, MovementDraft, ProductDraft, SubmissionDraft,
    Submitter,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::Serialize;
use serde_json::Value;
use std::cell::Cell;

use crate::fuzz;
use crate::generate::*;

const OWNER: uuid::Uuid = uuid::Uuid::from_u128(0x0190_f5b2_0000_7000_8000_0000_0000_0001);

fn enterprise() -> BoxedStrategy<Value> {
    object(vec![
        ("id", uuid_value()),
        ("uscc", string_value(uscc())),
        ("uscc_override_reason", text_value(&["registry record"])),
        ("name", text_value(&["某冷库有限公司"])),
        (
            "kind",
            text_value(&[
                "importer",
                "third_party_cold_store",
                "首站冷库",
                "processor",
            ]),
        ),
        (
            "region",
            text_value(&["110105", "330106", "990000", "11010"]),
        ),
        ("address", text_value(&["天津市滨海新区"])),
        ("contact_name", text_value(&["张三"])),
        (
            "contact_phone",
            text_value(&["13812341234", "022-23456789", "12812341234"]),
        ),
        (
            "self_commitment",
            any::<bool>().prop_map(Value::Bool).boxed(),
        ),
        ("corrects", uuid_value()),
        ("correction_reason", text_value(&["地址有误"])),
    ])
}

fn product() -> BoxedStrategy<Value> {
    object(vec![
        ("id", uuid_value()),
        ("name", text_value(&["冻牛腩"])),
        ("category", text_value(&["meat", "水产品", "other"])),
        ("origin_country", text_value(&["BR", "nz", "XX", "CN"])),
        ("establishment_no", text_value(&["SIF 4400"])),
        ("gtin", string_value(gtin())),
        ("hs_code", text_value(&["02023000", "0202300010", "0202"])),
        ("spec", text_value(&["20kg/箱"])),
        ("corrects", uuid_value()),
    ])
}

fn trace_code() -> BoxedStrategy<Value> {
    object(vec![
        ("value", string_value(trace_code_text())),
        (
            "scheme",
            text_value(&["gs1", "url", "issued", "uscc", "customs", "enterprise"]),
        ),
    ])
}

fn batch() -> BoxedStrategy<Value> {
    let date = || text_value(&["2026-01-01", "2026/2/30", "2020-13-01", "99999-1-1"]);
    object(vec![
        ("id", uuid_value()),
        ("product_id", uuid_value()),
        ("batch_no", text_value(&["BR2020", "B1"])),
        ("quantity", quantity_value()),
        ("unit", text_value(&["kg", "箱", "吨", "pcs"])),
        ("net_weight_kg", quantity_value()),
        ("production_date", date()),
        ("expiry_date", date()),
        (
            "declaration_no",
            text_value(&["020220201000456789", "020220200000456789", "0202"]),
        ),
        ("inspection_cert_no", text_value(&["330100020201101001"])),
        ("port_of_entry", text_value(&["天津新港"])),
        ("import_date", date()),
        ("container_no", text_value(&["CSQU3054383", "CSQU3054384"])),
        ("seal_no", text_value(&["S1"])),
        (
            "trace_codes",
            vec(trace_code(), 0..4).prop_map(Value::Array).boxed(),
        ),
        ("corrects", uuid_value()),
    ])
}

fn document() -> BoxedStrategy<Value> {
    object(vec![
        ("id", uuid_value()),
        ("batch_id", uuid_value()),
        ("batch_no", text_value(&["BR2020"])),
        ("trace_code", string_value(trace_code_text())),
        (
            "kind",
            text_value(&["inspection_quarantine", "核酸检测报告", "disinfection"]),
        ),
        ("number", text_value(&["N1"])),
        ("issuer", text_value(&["海关"])),
        ("issued_on", text_value(&["2026-01-01", "2026-02-30"])),
        ("result", text_value(&["negative", "阳性", "pending"])),
        (
            "attachment_sha256",
            text_value(&[
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "9F86",
            ]),
        ),
        ("corrects", uuid_value()),
    ])
}

fn handler() -> BoxedStrategy<Value> {
    object(vec![
        ("name", text_value(&["李四"])),
        (
            "id_no",
            text_value(&["11010519491231002X", "110105194912310021"]),
        ),
        ("phone", text_value(&["13812341234", "+86 138 1234 1234"])),
        ("role", text_value(&["driver"])),
    ])
}

fn line() -> BoxedStrategy<Value> {
    object(vec![
        ("batch_id", uuid_value()),
        ("batch_no", text_value(&["A", "B"])),
        ("trace_code", string_value(trace_code_text())),
        ("quantity", quantity_value()),
    ])
}

fn movement() -> BoxedStrategy<Value> {
    object(vec![
        ("id", uuid_value()),
        (
            "kind",
            text_value(&["receive", "ship", "sell", "transform", "出库", "调拨"]),
        ),
        ("batch_id", uuid_value()),
        ("batch_no", text_value(&["BR2020"])),
        ("trace_code", string_value(trace_code_text())),
        ("quantity", quantity_value()),
        ("counterparty_uscc", string_value(uscc())),
        ("counterparty_name", text_value(&["某超市"])),
        ("at", time_value()),
        ("location", text_value(&["1号库"])),
        (
            "handlers",
            vec(handler(), 0..3).prop_map(Value::Array).boxed(),
        ),
        ("inputs", vec(line(), 0..3).prop_map(Value::Array).boxed()),
        ("outputs", vec(line(), 0..3).prop_map(Value::Array).boxed()),
        ("note", text_value(&["备注"])),
        ("corrects", uuid_value()),
    ])
}

/// A JSON document shaped like a submission: each list present or not, with up to four records.
fn draft_json() -> BoxedStrategy<Value> {
    let list = |r: BoxedStrategy<Value>| vec(r, 0..4).prop_map(Value::Array).boxed();
    object(vec![
        ("enterprises", list(enterprise())),
        ("products", list(product())),
        ("batches", list(batch())),
        ("documents", list(document())),
        ("movements", list(movement())),
    ])
}

/// The field names of a draft type, read from the type itself.
fn fields_of<T: Default + Serialize>() -> Vec<String> {
    match serde_json::to_value(T::default()).expect("serializes") {
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

/// A field that holds a list of items, and the items' fields.
type Nested = (&'static str, Vec<String>);

/// The record types of a submission, each with its fields and, for its nested lists, the item fields.
struct Shape {
    lists: Vec<(&'static str, Vec<String>, Vec<Nested>)>,
}

impl Shape {
    fn new() -> Self {
        let handler = fields_of::<HandlerDraft>();
        let line = fields_of::<LineDraft>();
        Shape {
            lists: vec![
                ("enterprises", fields_of::<EnterpriseDraft>(), vec![]),
                ("products", fields_of::<ProductDraft>(), vec![]),
                (
                    "batches",
                    fields_of::<BatchDraft>(),
                    vec![("trace_codes", fields_of::<TraceCodeDraft>())],
                ),
                ("documents", fields_of::<DocumentDraft>(), vec![]),
                (
                    "movements",
                    fields_of::<MovementDraft>(),
                    vec![
                        ("handlers", handler),
                        ("inputs", line.clone()),
                        ("outputs", line),
                    ],
                ),
            ],
        }
    }

    /// Whether `path` (`movements[0].inputs[1].quantity`) points into `sent`, or why not.
    fn check(&self, path: &str, sent: &Value) -> Result<(), String> {
        let segs: Vec<(&str, Option<usize>)> = path
            .split('.')
            .map(|s| match s.split_once('[') {
                Some((name, rest)) => {
                    let i = rest.strip_suffix(']').and_then(|i| i.parse().ok());
                    (name, Some(i.unwrap_or(usize::MAX)))
                }
                None => (s, None),
            })
            .collect();
        let len = |v: &Value, key: &str| v.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        let (list, idx) = segs[0];
        let Some((_, fields, nested)) = self.lists.iter().find(|(n, _, _)| *n == list) else {
            return Err(format!("{list:?} is not a list of a submission"));
        };
        let Some(i) = idx else {
            // The whole list (e.g. a regulator sending movements): only if the draft has one.
            return if segs.len() == 1 && len(sent, list) > 0 {
                Ok(())
            } else {
                Err(format!("{list} is named without an index"))
            };
        };
        if i >= len(sent, list) {
            return Err(format!("{list}[{i}] was not sent"));
        }
        let record = &sent[list][i];
        let Some((field, sub)) = segs.get(1).copied() else {
            return Ok(());
        };
        if !fields.iter().any(|f| f == field) {
            return Err(format!("{field:?} is not a field of {list}"));
        }
        let Some(j) = sub else {
            return if segs.len() == 2 {
                Ok(())
            } else {
                Err(format!("{field} has no items"))
            };
        };
        let Some((_, item_fields)) = nested.iter().find(|(n, _)| *n == field) else {
            return Err(format!("{list}.{field} is not a list"));
        };
        if j >= len(record, field) {
            return Err(format!("{list}[{i}].{field}[{j}] was not sent"));
        }
        match segs.get(2) {
            None => Ok(()),
            Some((leaf, None)) if segs.len() == 3 && item_fields.iter().any(|f| f == leaf) => {
                Ok(())
            }
            Some((leaf, _)) => Err(format!("{leaf:?} is not a field of {list}.{field}")),
        }
    }
}

/// Parses `sent` for an enterprise and for a regulator and checks every answer; returns whether the bytes were
/// a draft at all.
fn check_draft(shape: &Shape, bytes: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(draft) = serde_json::from_slice::<SubmissionDraft>(bytes) else {
        return Ok(false);
    };
    // What was sent, as the parser saw it (duplicate keys resolved, defaults filled in).
    let sent = serde_json::to_value(&draft).expect("serializes");
    for who in [Submitter::Enterprise(OWNER), Submitter::Regulator] {
        match draft.parse(who) {
            Ok(s) => {
                prop_assert_eq!(s.enterprises.len(), draft.enterprises.len());
                prop_assert_eq!(s.products.len(), draft.products.len());
                prop_assert_eq!(s.batches.len(), draft.batches.len());
                prop_assert_eq!(s.documents.len(), draft.documents.len());
                prop_assert_eq!(s.movements.len(), draft.movements.len());
                prop_assert!(!draft.is_empty());
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty(), "a refusal without a reason");
                for e in &errors.0 {
                    prop_assert!(!e.reason.trim().is_empty(), "{e:?} gives no reason");
                    if e.field.is_empty() {
                        prop_assert!(
                            draft.is_empty() && errors.0.len() == 1,
                            "{e:?} names no field of a non-empty draft"
                        );
                        continue;
                    }
                    if let Err(why) = shape.check(&e.field, &sent) {
                        return Err(TestCaseError::fail(format!(
                            "{:?} ({}) does not point into the draft: {why}",
                            e.field, e.reason
                        )));
                    }
                }
            }
        }
    }
    Ok(true)
}

/// Drafts shaped like submissions, with random and hostile values in their fields.
#[test]
fn submission_drafts_shaped_like_submissions() {
    let shape = Shape::new();
    let drafts = Cell::new(0u32);
    fuzz(file!(), draft_json(), |json| {
        let bytes = serde_json::to_vec(&json).expect("serializes");
        if check_draft(&shape, &bytes)? {
            drafts.set(drafts.get() + 1);
        }
        Ok(())
    });
    // The generator must mostly produce drafts, or the parser would go untested.
    assert!(
        drafts.get() >= crate::cases() / 4,
        "only {} of {} generated documents were drafts",
        drafts.get(),
        crate::cases()
    );
}

/// A mutation of a draft's JSON text.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn mutate(mut bytes: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let n = bytes.len().max(1);
        match m {
            Mutation::Flip(at, x) => {
                if let Some(b) = bytes.get_mut(at % n) {
                    *b ^= x;
                }
            }
            Mutation::Insert(at, s) => {
                let at = (at % n).min(bytes.len());
                bytes.splice(at..at, s.iter().copied());
            }
            Mutation::Delete(at, len) => {
                let at = (at % n).min(bytes.len());
                let end = (at + len).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Duplicate(at, len) => {
                let at = (at % n).min(bytes.len());
                let end = (at + len).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
        }
    }
    bytes
}

fn mutation() -> BoxedStrategy<Mutation> {
    let tokens = prop::sample::select(vec![
        "\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "null",
        "1e400",
        "-0",
        "\\u0000",
        "\\ud800",
        "\"\":",
        "\"quantity\":",
        "\"at\":",
        "\"kind\":",
    ]);
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(a, x)| Mutation::Flip(a, x)),
        (any::<usize>(), vec(any::<u8>(), 1..4)).prop_map(|(a, s)| Mutation::Insert(a, s)),
        (any::<usize>(), tokens).prop_map(|(a, t)| Mutation::Insert(a, t.as_bytes().to_vec())),
        (any::<usize>(), 1usize..16).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), 1usize..64).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
    ]
    .boxed()
}

/// The JSON text of drafts, damaged byte by byte.
#[test]
fn submission_drafts_from_damaged_json() {
    let shape = Shape::new();
    fuzz(
        file!(),
        (draft_json(), vec(mutation(), 1..6)),
        |(json, ms)| {
            let bytes = mutate(serde_json::to_vec(&json).expect("serializes"), &ms);
            check_draft(&shape, &bytes)?;
            Ok(())
        },
    );
}

/// Arbitrary bytes and arbitrary JSON as a draft.
#[test]
fn submission_drafts_from_arbitrary_input() {
    let shape = Shape::new();
    fuzz(
        file!(),
        (vec(any::<u8>(), 0..512), any_json()),
        |(bytes, json)| {
            check_draft(&shape, &bytes)?;
            check_draft(&shape, &serde_json::to_vec(&json).expect("serializes"))?;
            Ok(())
        },
    );
}

/// A draft sent by a regulator may only register enterprises; one sent by an enterprise may not.
#[test]
fn submission_drafts_keep_to_their_submitter() {
    fuzz(file!(), draft_json(), |json| {
        let Ok(draft) = serde_json::from_value::<SubmissionDraft>(json) else {
            return Ok(());
        };
        if draft.parse(Submitter::Enterprise(OWNER)).is_ok() {
            prop_assert!(draft.enterprises.is_empty());
        }
        if draft.parse(Submitter::Regulator).is_ok() {
            prop_assert_eq!(draft.len(), draft.enterprises.len());
        }
        Ok(())
    });
}

/// GS1 set 82 without `(`.
const LOT: &str =
    "!\"%&')*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Text a client may well send in a free-text field: any printable Unicode around at least one letter.
fn some_text() -> BoxedStrategy<Value> {
    "\\PC{0,12}[A-Za-z0-9牛冻库]\\PC{0,12}"
        .prop_map(Value::String)
        .boxed()
}

fn valid_time() -> BoxedStrategy<Value> {
    (
        2000i32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        "(\\.[0-9]{1,9})?",
        "Z|[+\\-](0[0-9]|1[0-4]):[0-5][0-9]",
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
            Value::String(format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}"
            ))
        })
        .boxed()
}

fn positive_quantity() -> BoxedStrategy<Value> {
    prop_oneof![
        (1i64..1_000_000).prop_map(Value::from),
        (1u32..100_000).prop_map(|m| Value::from(f64::from(m) / 1000.0)),
        "[1-9][0-9]{0,2}(,[0-9]{3}){0,3}(\\.[0-9]{1,3})?".prop_map(Value::String),
    ]
    .boxed()
}

fn valid_date() -> BoxedStrategy<(i32, u32, u32)> {
    (2000i32..2100, 1u32..13, 1u32..29).boxed()
}

fn date_text((y, m, d): (i32, u32, u32)) -> Value {
    Value::String(format!("{y:04}-{m:02}-{d:02}"))
}

fn container() -> BoxedStrategy<String> {
    ("[A-Z]{3}[UJZ]", "[0-9]{6}")
        .prop_map(|(owner, serial)| {
            let prefix = format!("{owner}{serial}");
            let check = coldtrace_domain::id::container_check_digit(&prefix);
            format!("{prefix}{check}")
        })
        .boxed()
}

/// An enterprise record a regulator may register.
fn valid_enterprise() -> BoxedStrategy<Value> {
    let region = prop::sample::select(vec!["110105", "120116", "330106", "440305"]);
    let kind = prop::sample::select(vec!["importer", "首站冷库", "restaurant", "supermarket"]);
    (
        uscc().prop_filter("valid", |u| coldtrace_domain::Uscc::parse(u).is_ok()),
        some_text(),
        kind,
        region,
        some_text(),
        "1[3-9][0-9]{9}|0[1-9][0-9]-[0-9]{8}",
        prop::option::of(some_text()),
    )
        .prop_map(|(uscc, name, kind, region, contact, phone, address)| {
            serde_json::json!({"uscc": uscc, "name": name, "kind": kind, "region": region,
                "contact_name": contact, "contact_phone": phone, "address": address})
        })
        .boxed()
}

/// Products, batches of them, documents and movements of those batches, all well formed.
fn valid_records() -> BoxedStrategy<Value> {
    let product = (
        any::<u128>(),
        some_text(),
        prop::sample::select(vec!["meat", "水产品", "other"]),
        prop::sample::select(vec!["BR", "AR", "nz", "CN"]),
        prop::option::of(gtin()),
        prop::option::of("[0-9]{8}|[0-9]{10}"),
    )
        .prop_map(|(id, name, category, origin, gtin, hs)| {
            let id = uuid::Uuid::from_u128(id);
            (
                id,
                serde_json::json!({"id": id, "name": name, "category": category,
                    "origin_country": origin, "gtin": gtin, "hs_code": hs}),
            )
        });
    let batch = |product: uuid::Uuid| {
        (
            "[A-Za-z0-9][A-Za-z0-9\\-]{0,15}",
            positive_quantity(),
            prop::sample::select(vec!["kg", "箱", "吨", "pcs"]),
            valid_date(),
            0u32..1000,
            prop::option::of(("[0-9]{4}", 1980u32..2100, "[0-9]{9}")),
            prop::option::of(container()),
            prop::option::of(prop_oneof![
                "[0-9]{14}",
                // Without `(`, which the bracketed form cannot carry inside a value.
                (gtin(), chars_of(LOT, 1..21))
                    .prop_map(|(g, lot)| format!("(01){g:0>14}(10){lot}")),
            ]),
        )
            .prop_map(
                move |(no, quantity, unit, made, days, decl, container, code)| {
                    let (y, m, d) = made;
                    let expiry = (y + 1 + (days / 365) as i32, m, d);
                    serde_json::json!({
                        "product_id": product, "batch_no": no, "quantity": quantity, "unit": unit,
                        "production_date": date_text(made), "expiry_date": date_text(expiry),
                        "declaration_no": decl.map(|(o, y, s)| format!("{o}{y}1{s}")),
                        "container_no": container,
                        "trace_codes": code.map(|c| vec![serde_json::json!({"value": c})]).unwrap_or_default(),
                    })
                },
            )
    };
    let kinds = prop::sample::select(vec![
        ("inspection_quarantine", None),
        ("nucleic_acid", Some("negative")),
        ("nucleic_acid", Some("阳性")),
        ("disinfection", None),
    ]);
    let movement_kind = prop::sample::select(vec![
        ("sell", false),
        ("destroy", false),
        ("seal", false),
        ("receive", true),
        ("ship", true),
        ("出库", true),
        ("return", true),
    ]);
    (
        vec(product, 1..3),
        any::<prop::sample::Index>(),
        vec(
            (
                kinds,
                some_text(),
                some_text(),
                valid_date(),
                prop::option::of(
                    "[0-9a-f]{64}".prop_map(|h: String| h.to_ascii_uppercase()),
                ),
            ),
            0..3,
        ),
        vec(
            (
                movement_kind,
                positive_quantity(),
                valid_time(),
                some_text(),
                prop::option::of((some_text(), "1[3-9][0-9]{9}")),
            ),
            0..4,
        ),
    )
        .prop_flat_map(move |(products, pick, documents, movements)| {
            let product = products[pick.index(products.len())].0;
            (
                Just(products),
                vec(batch(product), 1..3),
                Just(documents),
                Just(movements),
            )
        })
        .prop_map(|(products, batches, documents, movements)| {
            let no = batches[0]["batch_no"].clone();
            let documents: Vec<Value> = documents
                .into_iter()
                .map(|((kind, result), number, issuer, day, sha)| {
                    serde_json::json!({"batch_no": no, "kind": kind, "result": result,
                        "number": number, "issuer": issuer, "issued_on": date_text(day),
                        "attachment_sha256": sha})
                })
                .collect();
            let movements: Vec<Value> = movements
                .into_iter()
                .map(|((kind, needs_party), quantity, at, party, handler)| {
                    serde_json::json!({"kind": kind, "batch_no": no, "quantity": quantity, "at": at,
                        "counterparty_name": if needs_party { party } else { Value::Null },
                        "handlers": handler.map(|(name, phone)| vec![serde_json::json!({"name": name, "phone": phone})]).unwrap_or_default()})
                })
                .collect();
            serde_json::json!({
                "products": products.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
                "batches": batches, "documents": documents, "movements": movements,
            })
        })
        .boxed()
}

/// Well-formed drafts parse, keeping every record they carry, for the submitter who may send them.
#[test]
fn well_formed_drafts_keep_every_record() {
    fuzz(
        file!(),
        (valid_records(), vec(valid_enterprise(), 1..4)),
        |(records, enterprises)| {
            let draft: SubmissionDraft = serde_json::from_value(records.clone())
                .map_err(|e| TestCaseError::fail(format!("{e}: {records}")))?;
            let s = draft
                .parse(Submitter::Enterprise(OWNER))
                .map_err(|e| TestCaseError::fail(format!("{e}: {records}")))?;
            prop_assert_eq!(s.len(), draft.len());
            prop_assert_eq!(s.movements.len(), draft.movements.len());
            prop_assert_eq!(s.documents.len(), draft.documents.len());
            prop_assert!(draft.parse(Submitter::Regulator).is_err());
            let draft: SubmissionDraft =
                serde_json::from_value(serde_json::json!({ "enterprises": enterprises }))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let s = draft
                .parse(Submitter::Regulator)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(s.enterprises.len(), draft.enterprises.len());
            prop_assert!(draft.parse(Submitter::Enterprise(OWNER)).is_err());
            Ok(())
        },
    );
}
