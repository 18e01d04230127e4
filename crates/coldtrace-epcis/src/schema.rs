//! GS1's EPCIS 2.0 JSON schema (`data/EPCIS-JSON-Schema.json`, draft-07), compiled in and built once, with
//! formats (`uri`, `date-time`) asserted.

use std::sync::OnceLock;

use serde_json::Value;

const SCHEMA: &str = include_str!("../data/EPCIS-JSON-Schema.json");

pub(crate) fn document() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| {
        let mut d: Value =
            serde_json::from_str(SCHEMA).expect("the EPCIS schema compiled in is JSON");
        // Erratum: EPCIS 2.0 (section 7.4) gives every event type `persistentDisposition`, but this schema release
        // lists it for ObjectEvent and TransformationEvent only, and refuses it on the other three.
        for event in ["AggregationEvent", "TransactionEvent", "AssociationEvent"] {
            allow_persistent_disposition(&mut d["definitions"][event]);
        }
        d
    })
}

fn allow_persistent_disposition(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(names)) = m.get_mut("enum")
                && names.iter().any(|n| n == "bizStep")
                && !names.iter().any(|n| n == "persistentDisposition")
            {
                names.push("persistentDisposition".into());
            }
            if let Some(Value::Object(props)) = m.get_mut("properties")
                && props.contains_key("bizStep")
            {
                props.insert(
                    "persistentDisposition".into(),
                    serde_json::json!({"$ref": "#/definitions/persistentDisposition"}),
                );
            }
            m.values_mut().for_each(allow_persistent_disposition);
        }
        Value::Array(a) => a.iter_mut().for_each(allow_persistent_disposition),
        _ => {}
    }
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(document())
            .expect("the EPCIS schema compiled in builds")
    })
}

/// Every schema violation: (JSON pointer into the document, reason).
pub fn violations(doc: &Value) -> Vec<(String, String)> {
    validator()
        .iter_errors(doc)
        .map(|e| {
            let reason = e.to_string();
            let mut pointer = e.instance_path().to_string();
            // A missing property is pointed at where it belongs.
            if let Some(name) = reason
                .strip_suffix(" is a required property")
                .and_then(|q| q.strip_prefix('"'))
                .and_then(|q| q.strip_suffix('"'))
            {
                pointer = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
            }
            (pointer, reason)
        })
        .collect()
}
