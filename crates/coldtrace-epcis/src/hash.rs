//! The event hash ID of CBV 2.0 (事件哈希, `ni:///sha-256;…?ver=CBV2.0`), which recognises one event sent twice
//! in whatever spelling: a pre-hash string of the event's fields in the standard's order (`eventType`,
//! `eventTime` in UTC to the millisecond, `eventTimeZoneOffset`, the identifier and quantity lists, `action`,
//! `transformationID`, `bizStep`, `disposition`, `persistentDisposition`, `readPoint`, `bizLocation`,
//! `sensorElementList`, then the other fields (`bizTransactionList`, `sourceList`, `destinationList`, `ilmd`) and
//! extensions in lexical order), each list's items sorted, GS1
//! identifiers as canonical Digital Links on `https://id.gs1.org`, CBV terms as their Web URIs, extension names
//! expanded to `{namespace}name`; `eventID`, `recordTime` and `errorDeclaration` left out. It is checked against
//! hashes GS1's reference implementation (epcis-event-hash-generator) computed for the corpus's documents.

use std::collections::HashMap;

use coldtrace_domain::gs1::{GS1_RESOLVER, Gs1Code};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::vocab::{self, Vocab};

/// The fields written in this order; the rest follow sorted.
const ORDERED: [&str; 20] = [
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "parentID",
    "epcList",
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
    "sensorElementList",
];

const METADATA: [&str; 8] = [
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];

const REPORT: [&str; 23] = [
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];

/// A value `prefix:local` with a prefix of the event's context, expanded to the full URI.
fn expand(t: &str, p: &Prefixes) -> Option<String> {
    let (prefix, local) = t.split_once(':')?;
    if local.starts_with("//") {
        return None;
    }
    p.get(prefix).map(|ns| format!("{ns}{local}"))
}

/// A sensor metadata or report field.
fn sensor_value(k: &str, v: &Value, p: &Prefixes) -> String {
    match (k, v) {
        ("time" | "startTime" | "endTime", Value::String(t)) => time(t),
        ("type", Value::String(t)) => expand(t, p).unwrap_or_else(|| {
            if t.contains("://") {
                t.clone()
            } else {
                format!("https://gs1.org/voc/{}", t.rsplit(':').next().unwrap_or(t))
            }
        }),
        ("component", Value::String(t)) if !t.contains(':') => {
            format!("https://ref.gs1.org/cbv/Comp-{t}")
        }
        (_, Value::Number(_)) => number(v),
        // As GS1's reference implementation writes booleans.
        (_, Value::Bool(b)) => (if *b { "True" } else { "False" }).to_string(),
        (_, Value::String(t)) => expand(t, p).unwrap_or_else(|| {
            if t.contains(':') {
                id(t)
            } else {
                t.trim().to_string()
            }
        }),
        (_, other) => other.to_string(),
    }
}

fn sensor_part(head: &str, m: Option<&Value>, order: &[&str], p: &Prefixes) -> String {
    let Some(Value::Object(m)) = m else {
        return String::new();
    };
    let mut s = head.to_string();
    for f in order {
        if let Some(v) = m.get(*f) {
            s.push_str(&format!("{f}={}", sensor_value(f, v, p)));
        }
    }
    let mut rest: Vec<String> = m
        .iter()
        .filter(|(k, _)| !order.contains(&k.as_str()))
        .map(|(k, v)| generic(&name(k, p), v, p))
        .collect();
    rest.sort();
    s.push_str(&rest.concat());
    s
}

const LEFT_OUT: [&str; 5] = [
    "@context",
    "eventID",
    "recordTime",
    "type",
    "errorDeclaration",
];

/// Prefixes an event's JSON-LD context defines (`{"ex": "https://ex.com/ns/"}`), for extension names.
pub type Prefixes = HashMap<String, String>;

/// The prefixes of a `@context` value (a string, an object or a list of them).
pub fn prefixes(context: Option<&Value>, into: &mut Prefixes) {
    match context {
        Some(Value::Array(items)) => items.iter().for_each(|i| prefixes(Some(i), into)),
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if let Some(uri) = v.as_str() {
                    into.insert(k.clone(), uri.to_string());
                }
            }
        }
        _ => {}
    }
}

/// The hash of an event, with the prefixes its document defines.
pub fn event_hash_in(e: &Value, doc: &Prefixes) -> String {
    let mut p = doc.clone();
    prefixes(e.get("@context"), &mut p);
    let pre = prehash(e, &p);
    let digest = Sha256::digest(pre.as_bytes());
    format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(digest))
}

/// The hash of an event on its own.
pub fn event_hash(e: &Value) -> String {
    event_hash_in(e, &Prefixes::new())
}

/// The pre-hash string.
pub fn prehash(e: &Value, p: &Prefixes) -> String {
    let empty = serde_json::Map::new();
    let m = e.as_object().unwrap_or(&empty);
    let mut out = format!(
        "eventType={}",
        m.get("type").and_then(Value::as_str).unwrap_or("")
    );
    // An empty list is as if it were not there.
    let present = |v: &Value| !matches!(v, Value::Array(a) if a.is_empty()) && !v.is_null();
    for f in ORDERED {
        if let Some(v) = m.get(f).filter(|v| present(v)) {
            out.push_str(&field(f, v, p));
        }
    }
    let mut rest: Vec<String> = m
        .iter()
        .filter(|(k, v)| {
            !ORDERED.contains(&k.as_str()) && !LEFT_OUT.contains(&k.as_str()) && present(v)
        })
        .map(|(k, v)| field(k, v, p))
        .collect();
    rest.sort();
    out.push_str(&rest.concat());
    out
}

/// A name as the pre-hash writes it: an extension's prefix expanded to `{namespace}`.
fn name(k: &str, p: &Prefixes) -> String {
    match k.split_once(':') {
        Some((prefix, local)) if !local.starts_with("//") => match p.get(prefix) {
            Some(ns) => format!("{{{ns}}}{local}"),
            None => k.to_string(),
        },
        _ => k.to_string(),
    }
}

fn field(k: &str, v: &Value, p: &Prefixes) -> String {
    match k {
        "eventTime" => format!("eventTime={}", time(v.as_str().unwrap_or(""))),
        "epcList" | "inputEPCList" | "childEPCs" | "outputEPCList" => {
            let mut items: Vec<String> = list(v).map(|s| format!("epc={}", id(s))).collect();
            items.sort();
            format!("{k}{}", items.concat())
        }
        "parentID" | "transformationID" => format!("{k}={}", id(v.as_str().unwrap_or(""))),
        "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
            let mut items: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|q| {
                    let mut s = "quantityElement".to_string();
                    if let Some(c) = q.get("epcClass").and_then(Value::as_str) {
                        s.push_str(&format!("epcClass={}", id(c)));
                    }
                    if let Some(n) = q.get("quantity") {
                        s.push_str(&format!("quantity={}", number(n)));
                    }
                    if let Some(u) = q.get("uom").and_then(Value::as_str) {
                        s.push_str(&format!("uom={u}"));
                    }
                    s
                })
                .collect();
            items.sort();
            format!("{k}{}", items.concat())
        }
        "sensorElementList" => {
            let mut elements: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|el| {
                    let mut s = "sensorElement".to_string();
                    s.push_str(&sensor_part(
                        "sensorMetadata",
                        el.get("sensorMetadata"),
                        &METADATA,
                        p,
                    ));
                    let mut reports: Vec<String> = el
                        .get("sensorReport")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|r| sensor_part("sensorReport", Some(r), &REPORT, p))
                        .collect();
                    reports.sort();
                    s.push_str(&reports.concat());
                    if let Some(m) = el.as_object() {
                        let mut rest: Vec<String> = m
                            .iter()
                            .filter(|(k, _)| *k != "sensorMetadata" && *k != "sensorReport")
                            .map(|(k, v)| generic(&name(k, p), v, p))
                            .collect();
                        rest.sort();
                        s.push_str(&rest.concat());
                    }
                    s
                })
                .collect();
            elements.sort();
            format!("{k}{}", elements.concat())
        }
        "bizStep" => format!("bizStep={}", term(Vocab::BizStep, v)),
        "disposition" => format!("disposition={}", term(Vocab::Disposition, v)),
        "persistentDisposition" => {
            let mut s = k.to_string();
            for which in ["set", "unset"] {
                let mut items: Vec<String> = list(&v[which])
                    .map(|d| {
                        format!(
                            "{which}={}",
                            term(Vocab::Disposition, &Value::String(d.into()))
                        )
                    })
                    .collect();
                items.sort();
                s.push_str(&items.concat());
            }
            s
        }
        "readPoint" | "bizLocation" => {
            format!(
                "{k}id={}",
                id(v.get("id").and_then(Value::as_str).unwrap_or(""))
            )
        }
        "bizTransactionList" | "sourceList" | "destinationList" => {
            let (inner, vocab) = match k {
                "bizTransactionList" => ("bizTransaction", Vocab::BizTransactionType),
                "sourceList" => ("source", Vocab::SourceDestType),
                _ => ("destination", Vocab::SourceDestType),
            };
            let mut items: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let mut s = String::new();
                    if let Some(ty) = t.get("type") {
                        s.push_str(&format!("type={}", term(vocab, ty)));
                    }
                    let val = t.get(inner).and_then(Value::as_str).unwrap_or("");
                    let val = if inner == "bizTransaction" {
                        val.to_string()
                    } else {
                        id(val)
                    };
                    s.push_str(&format!("{inner}={val}"));
                    s
                })
                .collect();
            items.sort();
            format!("{k}{}", items.concat())
        }
        _ => generic(&name(k, p), v, p),
    }
}

/// Any other field: a value as `name=value`, an object as its name and its children sorted, a list as its items.
fn generic(n: &str, v: &Value, p: &Prefixes) -> String {
    match v {
        Value::Object(m) => {
            let mut items: Vec<String> =
                m.iter().map(|(k, v)| generic(&name(k, p), v, p)).collect();
            items.sort();
            format!("{n}{}", items.concat())
        }
        Value::Array(a) => {
            let mut items: Vec<String> = a.iter().map(|x| generic(n, x, p)).collect();
            items.sort();
            items.concat()
        }
        Value::String(s) => format!(
            "{n}={}",
            expand(s.trim(), p).unwrap_or_else(|| s.trim().to_string())
        ),
        Value::Number(_) => format!("{n}={}", number(v)),
        Value::Bool(b) => format!("{n}={}", if *b { "True" } else { "False" }),
        Value::Null => String::new(),
    }
}

fn list(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str)
}

/// A number without trailing zeros (`150.0` is `150`).
fn number(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => v.as_str().unwrap_or("").to_string(),
    }
}

fn time(s: &str) -> String {
    s.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| jiff::Timestamp::from_millisecond(t.as_millisecond()).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| s.to_string())
}

fn term(v: Vocab, value: &Value) -> String {
    let s = value.as_str().unwrap_or("");
    vocab::read(v, s)
        .map(|t| t.uri(v))
        .unwrap_or_else(|_| s.to_string())
}

/// An identifier as the pre-hash writes it: a GS1 code as the Digital Link of its key and qualifiers on GS1's
/// resolver (a pattern as its GTIN); anything else as given.
fn id(s: &str) -> String {
    let s = s.trim();
    match Gs1Code::parse(s) {
        Ok(c) if s.starts_with("urn:epc:") || s.contains("://") => {
            let identity: Vec<(String, String)> = c
                .identity()
                .into_iter()
                .map(|a| (a.ai.clone(), a.value.clone()))
                .collect();
            Gs1Code::from_ais(identity)
                .ok()
                .and_then(|k| k.digital_link(GS1_RESOLVER))
                .unwrap_or_else(|| s.to_string())
        }
        _ => s.to_string(),
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
