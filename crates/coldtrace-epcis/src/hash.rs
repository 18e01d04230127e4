//! The event hash (事件哈希) that recognises one event sent twice, in the shape of CBV 2.0's event hash ID
//! (`ni:///sha-256;…?ver=CBV2.0`): a pre-hash string of the event's fields in a fixed order, each list sorted,
//! GS1 identifiers written as canonical Digital Links and CBV terms as their Web URIs, times in UTC to the
//! millisecond; `eventID` and `recordTime` left out. The same event sent with its lists reordered, its
//! identifiers as EPC URNs instead of Digital Links, or its bizStep as a bare CBV name, has the same hash.

use coldtrace_domain::gs1::{GS1_RESOLVER, Gs1Code};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::vocab::{self, Vocab};

/// The fields of an event in the pre-hash order; other fields (extensions) follow, sorted by name.
const ORDER: [&str; 24] = [
    "eventType",
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "parentID",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "ilmd",
];

const LEFT_OUT: [&str; 5] = [
    "@context",
    "eventID",
    "recordTime",
    "type",
    "errorDeclaration",
];

/// The hash of an event.
pub fn event_hash(e: &Value) -> String {
    let mut pre = String::new();
    let empty = serde_json::Map::new();
    let m = e.as_object().unwrap_or(&empty);
    for field in ORDER {
        let v = match field {
            "eventType" => m.get("type"),
            f => m.get(f),
        };
        if let Some(v) = v {
            pre.push_str(&canonical(field, v));
        }
    }
    let mut rest: Vec<&String> = m
        .keys()
        .filter(|k| !ORDER.contains(&k.as_str()) && !LEFT_OUT.contains(&k.as_str()))
        .collect();
    rest.sort();
    for k in rest {
        pre.push_str(&canonical(k, &m[k]));
    }
    let digest = Sha256::digest(pre.as_bytes());
    format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(digest))
}

fn canonical(name: &str, v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let mut parts: Vec<String> =
                items.iter().map(|i| canonical(element(name), i)).collect();
            parts.sort();
            parts.concat()
        }
        Value::Object(m) => {
            let mut parts: Vec<String> = m.iter().map(|(k, v)| canonical(k, v)).collect();
            parts.sort();
            format!("{name}{}", parts.concat())
        }
        Value::String(s) => format!("{name}={}", scalar(name, s)),
        Value::Number(n) => format!(
            "{name}={}",
            n.as_f64().map(|f| f.to_string()).unwrap_or_default()
        ),
        Value::Bool(b) => format!("{name}={b}"),
        Value::Null => String::new(),
    }
}

/// The name each item of a list is written under (`epcList` items are `epc`).
fn element(list: &str) -> &str {
    match list {
        "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => "epc",
        "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
            "quantityElement"
        }
        "bizTransactionList" => "bizTransaction",
        "sourceList" => "source",
        "destinationList" => "destination",
        "sensorElementList" => "sensorElement",
        other => other,
    }
}

fn scalar(name: &str, s: &str) -> String {
    let term = |v: Vocab| {
        vocab::read(v, s)
            .map(|t| t.uri(v))
            .unwrap_or_else(|_| s.to_string())
    };
    match name {
        "eventTime" | "time" | "startTime" | "endTime" => s
            .parse::<jiff::Timestamp>()
            .map(|t| {
                jiff::Timestamp::from_millisecond(t.as_millisecond())
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    .unwrap_or_else(|_| s.to_string())
            })
            .unwrap_or_else(|_| s.to_string()),
        "bizStep" => term(Vocab::BizStep),
        "disposition" | "set" | "unset" => term(Vocab::Disposition),
        "type" => {
            if ["owning_party", "possessing_party", "location"].contains(&s) {
                format!("https://ref.gs1.org/cbv/SDT-{s}")
            } else {
                term(Vocab::BizTransactionType)
            }
        }
        _ => match Gs1Code::parse(s) {
            Ok(c) if c.key().is_some() && (s.starts_with("urn:epc:") || s.contains("://")) => c
                .digital_link(GS1_RESOLVER)
                .unwrap_or_else(|| s.to_string()),
            _ => s.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::event_hash;
    use serde_json::json;

    #[test]
    fn the_same_event_in_other_spellings_has_the_same_hash() {
        let a = json!({"type": "ObjectEvent", "eventTime": "2005-04-03T20:33:31.116-06:00",
            "eventTimeZoneOffset": "-06:00", "action": "OBSERVE", "bizStep": "shipping",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"],
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}});
        let b = json!({"eventTimeZoneOffset": "-06:00", "type": "ObjectEvent",
            "eventTime": "2005-04-04T02:33:31.116Z", "action": "OBSERVE",
            "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping", "eventID": "ni:///x", "recordTime": "2026-01-01T00:00:00Z",
            "epcList": ["https://id.gs1.org/01/10614141073464/21/2018", "urn:epc:id:sgtin:0614141.107346.2017"],
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}});
        assert_eq!(event_hash(&a), event_hash(&b));
        let mut c = a.clone();
        c["epcList"][1] = json!("urn:epc:id:sgtin:0614141.107346.2019");
        assert_ne!(event_hash(&a), event_hash(&c));
        assert!(event_hash(&a).starts_with("ni:///sha-256;"));
    }
}
