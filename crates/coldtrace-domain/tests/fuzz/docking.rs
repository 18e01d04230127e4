//! Docking messages (`POST /docking/v1/messages`): [`Upload`], [`Envelope`] and [`Message`] from arbitrary JSON
//! and from random messages of every type, then [`Message::check`].
//!
//! Properties: nothing panics; a message that passes its check writes and reads back equal, alone and in an
//! envelope, and holds no text longer and no list larger than the protocol allows; a problem names a field of the
//! message.

use coldtrace_domain::docking::{
    BatchFacts, BorderFlow, Derivation, EnterpriseShort, Envelope, HolderShort, IncidentReport,
    MAX_ITEMS, MAX_TEXT, Message, NativeCode, NoticeAck, Upload,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fuzz;
use crate::generate::*;

/// Text fields of a message: mostly short, sometimes just over a limit, sometimes very long.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => hostile_text(),
        1 => (select(vec!["a", "牛"]), 195usize..520).prop_map(|(c, n)| c.repeat(n)),
    ]
    .boxed()
}

fn opt_text() -> BoxedStrategy<Option<String>> {
    prop::option::of(text()).boxed()
}

fn uscc_text() -> BoxedStrategy<String> {
    prop_oneof![3 => uscc(), 1 => text()].boxed()
}

fn uuid() -> BoxedStrategy<Uuid> {
    any::<u128>().prop_map(Uuid::from_u128).boxed()
}

/// Lists: mostly short, sometimes around the item limit.
fn list<T: std::fmt::Debug + Clone + 'static>(item: BoxedStrategy<T>) -> BoxedStrategy<Vec<T>> {
    prop_oneof![
        8 => vec(item.clone(), 0..4),
        1 => (item, 995usize..1_005).prop_map(|(x, n)| std::iter::repeat_n(x, n).collect()),
    ]
    .boxed()
}

fn flow() -> BoxedStrategy<BorderFlow> {
    (
        (
            text(),
            text(),
            text(),
            prop::option::of(uscc_text()),
            text(),
        ),
        (
            prop::option::of(uscc_text()),
            text(),
            opt_text(),
            any::<i64>(),
            text(),
            any::<i64>(),
        ),
    )
        .prop_map(
            |(
                (movement, batch, product, seller_uscc, seller_name),
                (buyer_uscc, buyer_name, other_province, quantity_milli, unit, at_ms),
            )| BorderFlow {
                movement,
                batch,
                product,
                seller_uscc,
                seller_name,
                buyer_uscc,
                buyer_name,
                other_province,
                quantity_milli,
                unit,
                at_ms,
            },
        )
        .boxed()
}

fn message() -> BoxedStrategy<Message> {
    let code = (text(), prop_oneof![3 => trace_code_text(), 1 => text()])
        .prop_map(|(scheme, value)| NativeCode { scheme, value })
        .boxed();
    let holder = (
        prop::option::of(uscc_text()),
        text(),
        opt_text(),
        text(),
        text(),
        any::<i64>(),
        text(),
    )
        .prop_map(
            |(uscc, name, region, batch_no, product, on_hand_milli, unit)| HolderShort {
                uscc,
                name,
                region,
                batch_no,
                product,
                on_hand_milli,
                unit,
            },
        )
        .boxed();
    prop_oneof![
        (
            uscc_text(),
            text(),
            text(),
            prop_oneof![Just(String::new()), "[0-9]{6}", text()]
        )
            .prop_map(
                |(uscc, name, kind, region)| Message::Enterprise(EnterpriseShort {
                    uscc,
                    name,
                    kind,
                    region
                })
            ),
        (
            (
                text(),
                list(code),
                text(),
                opt_text(),
                text(),
                prop_oneof![Just(String::new()), uscc_text()]
            ),
            (
                opt_text(),
                opt_text(),
                opt_text(),
                opt_text(),
                opt_text(),
                any::<i64>(),
                text()
            ),
        )
            .prop_map(
                |(
                    (batch, codes, product, gtin, batch_no, owner_uscc),
                    (
                        origin_country,
                        inspection_cert_no,
                        declaration_no,
                        port_of_entry,
                        import_date,
                        quantity_milli,
                        unit,
                    ),
                )| Message::Batch(BatchFacts {
                    batch,
                    codes,
                    product,
                    gtin,
                    batch_no,
                    owner_uscc,
                    origin_country,
                    inspection_cert_no,
                    declaration_no,
                    port_of_entry,
                    import_date,
                    quantity_milli,
                    unit,
                })
            ),
        (uscc_text(), list(text()), list(text()), any::<i64>()).prop_map(
            |(holder_uscc, inputs, outputs, at_ms)| Message::Derivation(Derivation {
                holder_uscc,
                inputs,
                outputs,
                at_ms
            })
        ),
        flow().prop_map(Message::Outflow),
        flow().prop_map(Message::Inflow),
        (uuid(), text(), text(), text(), list(text())).prop_map(
            |(incident, kind, subject, positive_at, batches)| Message::Incident(IncidentReport {
                incident,
                kind,
                subject,
                positive_at,
                batches
            })
        ),
        uuid().prop_map(|notice| Message::NoticeReceived { notice }),
        (
            uuid(),
            text(),
            prop::option::of(prop_oneof![text(), "a{1990,2010}"]),
            list(holder)
        )
            .prop_map(|(notice, by, note, holders)| Message::NoticeAck(NoticeAck {
                notice,
                by,
                note,
                holders
            })),
    ]
    .boxed()
}

/// Whether `path` (`holders[3].uscc`) names a field present in the message's JSON.
fn names_a_field(v: &Value, path: &str) -> bool {
    let mut at = v;
    for seg in path.split('.') {
        let (name, idx) = match seg.split_once('[') {
            Some((n, rest)) => (
                n,
                rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
            ),
            None => (seg, None),
        };
        let Some(next) = at.get(name) else {
            return false;
        };
        at = match idx {
            Some(i) => match next.get(i) {
                Some(x) => x,
                None => return false,
            },
            None => next,
        };
    }
    true
}

/// Every text in `v` within the protocol's bounds: a code's value 512 characters, a note 2,000, every other
/// text 200; every list 1,000 items. Answers the first text or list out of bounds.
fn out_of_bounds(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::String(s) => {
            let max = match key {
                "value" => 512,
                "note" => 2_000,
                _ => MAX_TEXT,
            };
            (s.chars().count() > max).then(|| format!("{key}: {} characters", s.chars().count()))
        }
        Value::Array(a) if a.len() > MAX_ITEMS => Some(format!("{key}: {} items", a.len())),
        Value::Array(a) => a.iter().find_map(|x| out_of_bounds(x, key)),
        Value::Object(o) => o.iter().find_map(|(k, x)| out_of_bounds(x, k)),
        _ => None,
    }
}

fn check_message(m: &Message) -> Result<(), TestCaseError> {
    let problems = m.check();
    let v = serde_json::to_value(m).expect("serializes");
    for (field, reason) in &problems {
        prop_assert!(!reason.is_empty());
        prop_assert!(
            names_a_field(&v, field),
            "{} ({}) is not a field of the {} message",
            field,
            reason,
            m.kind()
        );
    }
    if problems.is_empty() {
        if let Some(what) = out_of_bounds(&v, "") {
            return Err(TestCaseError::fail(format!(
                "a {} message passes its check with {what}",
                m.kind()
            )));
        }
        let back: Message = serde_json::from_value(v).expect("reads back");
        prop_assert_eq!(&back, m);
        let e = Envelope {
            id: Uuid::from_u128(7),
            seq: 1,
            recorded_at_ms: 1_793_500_000_000,
            body: m.clone(),
        };
        let text = serde_json::to_string(&e).expect("serializes");
        let back: Envelope = serde_json::from_str(&text).expect("reads back");
        prop_assert_eq!(back, e);
    }
    Ok(())
}

/// Random messages of every type, with hostile text, long text and long lists.
#[test]
fn docking_messages_of_every_type() {
    fuzz(file!(), message(), |m| check_message(&m));
}

/// JSON shaped like an envelope: a known or unknown type, the fields of every message type with random values.
fn envelope_json() -> BoxedStrategy<Value> {
    let any_field = |names: &[&'static str]| {
        names
            .iter()
            .map(|n| {
                (
                    *n,
                    prop_oneof![
                        2 => hostile_text().prop_map(Value::String),
                        1 => uscc().prop_map(Value::String),
                        1 => any::<i64>().prop_map(Value::from),
                        1 => vec(hostile_text().prop_map(Value::String), 0..3).prop_map(Value::Array),
                        1 => any_json(),
                    ]
                    .boxed(),
                )
            })
            .collect::<Vec<_>>()
    };
    let mut fields = vec![
        (
            "id",
            prop_oneof![4 => uuid_value(), 1 => any_json()].boxed(),
        ),
        ("seq", any_json()),
        ("recorded_at_ms", any::<i64>().prop_map(Value::from).boxed()),
        (
            "type",
            text_value(&[
                "enterprise",
                "batch",
                "derivation",
                "outflow",
                "inflow",
                "incident",
                "notice_received",
                "notice_ack",
            ]),
        ),
        ("notice", uuid_value()),
        ("incident", uuid_value()),
    ];
    fields.extend(any_field(&[
        "uscc",
        "name",
        "kind",
        "region",
        "batch",
        "codes",
        "product",
        "gtin",
        "batch_no",
        "owner_uscc",
        "quantity_milli",
        "unit",
        "holder_uscc",
        "inputs",
        "outputs",
        "at_ms",
        "movement",
        "seller_uscc",
        "seller_name",
        "buyer_uscc",
        "buyer_name",
        "other_province",
        "subject",
        "positive_at",
        "batches",
        "by",
        "note",
        "holders",
    ]));
    object(fields)
}

/// Arbitrary JSON and JSON shaped like envelopes, as an upload, an envelope and a message.
#[test]
fn docking_uploads_from_arbitrary_json() {
    fuzz(
        file!(),
        (envelope_json(), any_json(), vec(any::<u8>(), 0..256)),
        |(shaped, anything, bytes)| {
            for v in [&shaped, &anything] {
                let upload = json!({"version": "1", "province": "32", "messages": [v]});
                if let Ok(u) = serde_json::from_value::<Upload>(upload) {
                    prop_assert_eq!(u.messages.len(), 1);
                }
                if let Ok(e) = serde_json::from_value::<Envelope>(v.clone()) {
                    check_message(&e.body)?;
                }
                if let Ok(m) = serde_json::from_value::<Message>(v.clone()) {
                    check_message(&m)?;
                }
            }
            let _ = serde_json::from_slice::<Upload>(&bytes);
            if let Ok(e) = serde_json::from_slice::<Envelope>(&bytes) {
                check_message(&e.body)?;
            }
            Ok(())
        },
    );
}
