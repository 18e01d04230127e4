//! Writing and reading records: validation, atomicity, idempotency, pagination, the open routes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, json};

fn movement(batch_no: &str, q: i64) -> Value {
    json!({"kind": "sell", "batch_no": batch_no, "quantity": q, "at": "2026-03-01T10:00:00+08:00",
           "counterparty_name": "某超市"})
}

#[tokio::test]
async fn validation_errors_name_the_field_and_the_reason() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 1).await;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"batches": [{"product_id": "0190f5b2-0000-7000-8000-000000000001", "batch_no": "X", "quantity": 1,
                   "unit": "kg", "declaration_no": "0202202610004567"}]}),
            422,
            "batches[0].declaration_no",
            "must be 18 characters",
        ),
        (
            json!({"batches": [{"product_id": "0190f5b2-0000-7000-8000-000000000001", "batch_no": "X", "quantity": 1,
                   "unit": "kg", "container_no": "CSQU3054384"}]}),
            422,
            "batches[0].container_no",
            "check character mismatch",
        ),
        (
            json!({"movements": [{"kind": "sell", "batch_no": "X", "quantity": 1}]}),
            422,
            "movements[0].at",
            "is required",
        ),
        (
            json!({"movements": [{"kind": "sell", "batch_no": "X", "quantity": 1, "at": "2026-03-01T10:00:00"}]}),
            422,
            "movements[0].at",
            "RFC 3339",
        ),
        (
            json!({"movements": [{"kind": "sell", "batch_no": "X", "quantity": "1.2345", "at": "2026-03-01T10:00:00Z"}]}),
            422,
            "movements[0].quantity",
            "more than 3 decimals",
        ),
        (
            json!({"movements": [{"kind": "teleport"}]}),
            422,
            "movements[0].kind",
            "is not a movement kind",
        ),
        (
            json!({"movements": [{"colour": "red"}]}),
            422,
            "movements[0].colour",
            "unknown field `colour`",
        ),
        (json!({"products": "none"}), 422, "products", "invalid type"),
        (json!({}), 422, "", "no records"),
        (
            json!({"products": [{"name": "牛肉", "category": "meat", "origin_country": "XX"}]}),
            422,
            "products[0].origin_country",
            "ISO 3166",
        ),
        (
            json!({"movements": [{"kind": "sell", "batch_no": "NOPE", "quantity": 1, "at": "2026-03-01T10:00:00Z"}]}),
            422,
            "movements[0].batch_no",
            "no batch numbered",
        ),
    ];
    for (body, status, field, reason) in cases {
        let (s, v) = json(app.post("/api/v1/submissions", &e.key, &body).await).await;
        assert_eq!(s.as_u16(), status, "{body} -> {v}");
        assert_eq!(
            v["code"],
            if status == 422 {
                "validation_failed"
            } else {
                "conflict"
            }
        );
        let fields: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{body}: expected {field} in {fields:?}"
        );
        assert!(
            v["message"].as_str().unwrap().contains(reason) || v.to_string().contains(reason),
            "{v}"
        );
    }
    // Not JSON at all; JSON with the wrong media type.
    let r = app
        .http
        .post(app.url("/api/v1/submissions"))
        .bearer_auth(&e.key)
        .header("content-type", "application/json")
        .body("{\"movements\": [")
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["code"], "malformed_json");
    let r = app
        .http
        .post(app.url("/api/v1/submissions"))
        .bearer_auth(&e.key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Single-record routes name the field without the submission prefix.
    let (s, v) = json(
        app.post(
            "/api/v1/movements",
            &e.key,
            &json!({"kind": "ship", "batch_no": "X"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"at")
            && fields.contains(&"quantity")
            && fields.contains(&"counterparty_name"),
        "{fields:?}"
    );
    let (s, v) = json(app.get("/api/v1/movements?limit=0", &e.key).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "limit");
}

#[tokio::test]
async fn a_rejected_submission_leaves_nothing_in_the_store() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 2).await;
    app.batch(&e, "OK-1", "11020201101101").await;
    let before = app.stats().await;
    // Valid product, valid batch, one movement whose batch cannot be found: refused by the store, in the same
    // transaction as the records before it.
    let body = json!({
        "products": [{"id": "0190f5b2-0000-7000-8000-0000000000aa", "name": "冷冻白虾", "category": "aquatic", "origin_country": "EC"}],
        "batches": [{"product_id": "0190f5b2-0000-7000-8000-0000000000aa", "batch_no": "NEW-1", "quantity": 10, "unit": "kg",
                     "trace_codes": [{"value": "11020201101102"}]}],
        "documents": [{"batch_no": "NEW-1", "kind": "nucleic_acid", "number": "N1", "issuer": "检测机构", "issued_on": "2026-03-01", "result": "negative"}],
        "movements": [movement("NEW-1", 2), movement("NOT-THERE", 1)]
    });
    let (s, v) = json(app.post("/api/v1/submissions", &e.key, &body).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "movements[1].batch_no");
    assert_eq!(
        app.stats().await,
        before,
        "nothing of the refused submission was stored"
    );
    assert_eq!(
        app.get("/api/v1/codes/11020201101102", &e.key)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // A batch number already taken (with another content, citing an unknown product) is refused the same way.
    let (s, v) = json(
        app.post(
            "/api/v1/submissions",
            &e.key,
            &json!({"batches": [{"product_id": "0190f5b2-0000-7000-8000-0000000000aa", "batch_no": "OK-1", "quantity": 5, "unit": "kg"}],
                    "movements": [movement("OK-1", 1)]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.stats().await, before);
    // The corrected submission goes through whole.
    let mut fixed = body.clone();
    fixed["movements"][1] = movement("NEW-1", 1);
    let (s, v) = json(app.post("/api/v1/submissions", &e.key, &fixed).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let after = app.stats().await;
    assert_eq!(after.movements, before.movements + 2);
    assert_eq!(after.batches, before.batches + 1);
    assert_eq!(after.documents, before.documents + 1);
}

#[tokio::test]
async fn the_same_idempotency_key_stores_one_copy_and_answers_the_same() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 3).await;
    app.batch(&e, "IDEM-1", "11020201101201").await;
    let body = json!({"movements": [movement("IDEM-1", 3), movement("IDEM-1", 4)]});
    let send = |b: Value| {
        app.http
            .post(app.url("/api/v1/submissions"))
            .bearer_auth(&e.key)
            .header("Idempotency-Key", "k-1")
            .json(&b)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let count = app.stats().await.movements;
    for _ in 0..3 {
        let again = send(body.clone()).await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
        let again: Value = again.json().await.unwrap();
        assert_eq!(again, first, "the same answer");
    }
    assert_eq!(app.stats().await.movements, count, "nothing new stored");
    // The key with another body is refused.
    let (s, v) = json(
        send(json!({"movements": [movement("IDEM-1", 9)]}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["code"], "idempotency_key_reused");
    // Another enterprise may use the same key for its own submission.
    let other = app.enterprise("120104", "importer", 4).await;
    app.batch(&other, "IDEM-1", "11020201101202").await;
    let r = app
        .http
        .post(app.url("/api/v1/submissions"))
        .bearer_auth(&other.key)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("idempotent-replayed").is_none());
    // Without a key, client-chosen ids make a resubmission harmless too.
    let with_id = json!({"movements": [{"id": "0190f5b2-0000-7000-8000-0000000000b1", "kind": "sell", "batch_no": "IDEM-1",
                          "quantity": 1, "at": "2026-03-01T10:00:00+08:00"}]});
    let (s1, v1) = json(app.post("/api/v1/submissions", &e.key, &with_id).await).await;
    let (s2, v2) = json(app.post("/api/v1/submissions", &e.key, &with_id).await).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(v1["movements"], v2["movements"]);
    assert_eq!(v2["unchanged"], 1);
    let mut changed = with_id.clone();
    changed["movements"][0]["quantity"] = json!(2);
    let (s, v) = json(app.post("/api/v1/submissions", &e.key, &changed).await).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["field"], "movements[0].id");
}

#[tokio::test]
async fn records_read_back_with_pagination_and_corrections() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 5).await;
    let (_, batch) = app.batch(&e, "PG-1", "11020201101301").await;
    let ms: Vec<Value> = (1..=7).map(|q| movement("PG-1", q)).collect();
    let (s, receipt) = json(
        app.post("/api/v1/submissions", &e.key, &json!({"movements": ms}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut seen = Vec::new();
    let mut after = 0i64;
    loop {
        let (s, page) = json(
            app.get(
                &format!("/api/v1/movements?batch={batch}&limit=3&after={after}"),
                &e.key,
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        for m in page["items"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    let expected: Vec<String> = receipt["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected, "every movement once, in order");
    // A correction is a new record pointing at the old one; the old one says it was corrected.
    let old = &expected[0];
    let mut fix = movement("PG-1", 11);
    fix["corrects"] = json!(old);
    let (s, v) = json(app.post("/api/v1/movements", &e.key, &fix).await).await;
    assert_eq!(s, StatusCode::CREATED);
    let new_id = v["movements"][0].as_str().unwrap();
    let (_, old_rec) = json(app.get(&format!("/api/v1/movements/{old}"), &e.key).await).await;
    assert_eq!(old_rec["corrected_by"], json!(new_id));
    assert_eq!(old_rec["quantity"], 1, "the original is kept as it was");
    let (_, new_rec) = json(
        app.get(&format!("/api/v1/movements/{new_id}"), &e.key)
            .await,
    )
    .await;
    assert_eq!(new_rec["corrects"], json!(old));
    assert_eq!(new_rec["quantity"], 11);
    assert_eq!(
        new_rec["at"], "2026-03-01T10:00:00+08:00",
        "the recorded offset is kept"
    );
    // A batch by any spelling of its GS1 code.
    let (_, b) = json(app.get(&format!("/api/v1/batches/{batch}"), &e.key).await).await;
    assert_eq!(b["batch_no"], "PG-1");
    assert_eq!(b["declaration_no"], "020220261000456789");
}

#[tokio::test]
async fn gs1_codes_are_found_in_any_spelling() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 6).await;
    let (_, batch) = app
        .batch(&e, "BR20201017", "(01)07891234567895(10)BR20201017")
        .await;
    for spelling in [
        "%2801%2907891234567895%2810%29BR20201017",
        "https://id.gs1.org/01/07891234567895/10/BR20201017",
        "010789123456789510BR20201017",
    ] {
        let (s, v) = json(app.get(&format!("/api/v1/codes/{spelling}"), &e.key).await).await;
        assert_eq!(s, StatusCode::OK, "{spelling}: {v}");
        assert_eq!(v["batch"]["id"], json!(batch));
        assert_eq!(v["says"]["gtin"], "07891234567895");
        assert_eq!(v["says"]["batch_no"], "BR20201017");
    }
    let (s, v) = json(
        app.get("/api/v1/codes/%2801%2907891234567896", &e.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "code");
}

#[tokio::test]
async fn open_routes_health_metrics_openapi() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 7).await;
    let _ = app.get("/api/v1/batches", &e.key).await;
    let (s, h) = json(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["status"], "ok");
    let m = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("coldtrace_http_requests_total"), "{m}");
    assert!(m.contains("route=\"/api/v1/batches\""));
    let (s, doc) = json(
        app.http
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["schemas"]["SubmissionDraft"].is_object());
    let (s, v) = json(app.http.get(app.url("/nowhere")).send().await.unwrap()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["code"], "not_found");
}

#[tokio::test]
async fn regions_are_checked_against_gb2260_and_traces_name_them() {
    let app = TestApp::spawn().await;
    // A six-digit code of the right province that is no division: refused, naming the field.
    let r = app
        .post(
            "/api/v1/enterprises",
            &app.regulator,
            &json!({"uscc": crate::support::uscc("120116", 7), "name": "无此区冷库", "kind": "third_party_cold_store",
                    "region": "120199", "contact_name": "王伟", "contact_phone": "13812341234",
                    "self_commitment": true}),
        )
        .await;
    let (s, v) = json(r).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let text = v.to_string();
    assert!(
        text.contains("region") && text.contains("120199") && text.contains("GB/T 2260"),
        "{v}"
    );
    // A known district: the trace names its city and district.
    let e = app.enterprise("120116", "importer", 8).await;
    let (_, batch) = app.batch(&e, "REGION-1", "12020261126101").await;
    let r = app
        .post(
            "/api/v1/movements",
            &e.key,
            &json!({"kind": "receive", "batch_id": batch, "quantity": 10, "at": "2026-11-20T08:00:00+08:00",
                    "counterparty_name": "Frigorifico Exemplo S.A."}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (s, t) = json(
        app.get(
            &format!("/api/v1/trace?batch={batch}&direction=both"),
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let holder = t["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["enterprise"] == json!(e.id))
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(holder["place"], "天津市 滨海新区", "{holder}");
    assert_eq!(holder["city"], "120100", "{holder}");
    // The spreadsheet names it too.
    let csv = app
        .get(
            &format!("/api/v1/trace?batch={batch}&direction=both&format=csv"),
            &app.regulator,
        )
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().contains("地区 place"), "{csv}");
    assert!(lines.next().unwrap().contains(",天津市 滨海新区,"), "{csv}");
}
