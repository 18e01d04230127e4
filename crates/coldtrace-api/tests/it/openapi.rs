//! The OpenAPI document is the contract the console and every client read: each route's success answer must
//! name a schema, and a JSON schema must say what is in it (no bare object, no untyped map).

use serde_json::Value;

fn untyped(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => {
            if m.contains_key("$ref")
                || m.contains_key("allOf")
                || m.contains_key("oneOf")
                || m.contains_key("anyOf")
            {
                return false;
            }
            match m.get("type").and_then(Value::as_str) {
                None => true,
                Some("object") => {
                    !m.contains_key("properties")
                        && !m
                            .get("additionalProperties")
                            .is_some_and(|a| a.is_object() && !untyped(a))
                }
                Some("array") => m.get("items").is_none_or(untyped),
                Some(_) => false,
            }
        }
        _ => true,
    }
}

fn walk_properties(at: &str, schema: &Value, problems: &mut Vec<String>) {
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, s) in schema[key].as_array().into_iter().flatten().enumerate() {
            walk_properties(&format!("{at}.{key}[{i}]"), s, problems);
        }
    }
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, p) in props {
        // A nullable property is `oneOf: [null, T]` or `type: [T, "null"]`.
        let typed_variant = p["oneOf"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x["type"] != "null" && !untyped(x)));
        let multi_type = p["type"].is_array();
        if untyped(p) && !typed_variant && !multi_type {
            problems.push(format!("{at}.{name}: untyped {p}"));
        }
        walk_properties(&format!("{at}.{name}"), p, problems);
        if let Some(items) = p.get("items") {
            walk_properties(&format!("{at}.{name}[]"), items, problems);
        }
    }
}

#[test]
fn every_success_answer_has_a_typed_schema() {
    let doc = serde_json::to_value(<coldtrace_api::openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .unwrap();
    let mut problems = vec![];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for (status, r) in responses {
                if !status.starts_with('2') {
                    continue;
                }
                checked += 1;
                let Some(content) = r.get("content").and_then(Value::as_object) else {
                    problems.push(format!("{method} {path} {status}: no content schema"));
                    continue;
                };
                for (media, c) in content {
                    match c.get("schema") {
                        None => {
                            problems.push(format!("{method} {path} {status} {media}: no schema"))
                        }
                        Some(s) if media.contains("json") && untyped(s) => {
                            problems.push(format!("{method} {path} {status} {media}: untyped {s}"))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    // Every schema the answers name: each property must be typed too.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        // A province running another system sends its records in its own shapes: a request, never an answer.
        if name == "ForeignRecords" {
            continue;
        }
        walk_properties(name, schema, &mut problems);
    }
    assert!(checked > 40, "only {checked} success answers found");
    assert!(
        problems.is_empty(),
        "untyped answers:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_walk_recognises_untyped_schemas() {
    assert!(untyped(&serde_json::json!({"type": "object"})));
    assert!(untyped(&serde_json::json!({})));
    assert!(untyped(&serde_json::json!({"type": "array", "items": {}})));
    assert!(!untyped(
        &serde_json::json!({"$ref": "#/components/schemas/X"})
    ));
    assert!(!untyped(
        &serde_json::json!({"type": "object", "properties": {"a": {"type": "string"}}})
    ));
}

/// Every parameter the document places in a path is in that path's template, and every query parameter is
/// declared as one: a client generated from the document calls the routes that exist.
#[tokio::test]
async fn parameters_are_where_the_routes_take_them() {
    let app = crate::support::TestApp::spawn().await;
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut problems = vec![];
    let mut queries = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str() {
                    Some("path") if !path.contains(&format!("{{{name}}}")) => {
                        problems.push(format!("{method} {path}: {name} is not in the path"))
                    }
                    Some("query") => queries += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(queries > 20, "only {queries} query parameters");
}
