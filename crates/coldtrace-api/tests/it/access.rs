//! Authentication and tenant isolation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, json};

const OPEN: [&str; 3] = ["/healthz", "/metrics", "/api/openapi.json"];

#[tokio::test]
async fn every_non_public_route_answers_401_without_credentials() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, ops) in paths {
        let concrete = path
            .replace("{id}", "0190f5b2-0000-7000-8000-000000000001")
            .replace("{code}", "11020201101004")
            .replace("{sha256}", &"a".repeat(64))
            .replace("{task}", "0190f5b2-0000-7000-8000-000000000002")
            .replace("{notice}", "0190f5b2-0000-7000-8000-000000000003");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let open = OPEN.contains(&path.as_str());
            for key in [None, Some("ct_not_a_real_key"), Some("")] {
                let mut req = app.http.request(m.clone(), app.url(&concrete));
                if let Some(k) = key {
                    req = req.bearer_auth(k);
                }
                // Signing in takes no key: a login and password nobody has are refused the same way.
                if path == "/api/v1/sessions" {
                    req = req.json(
                        &serde_json::json!({"login": "nobody", "password": "not-a-password"}),
                    );
                    let r = req.send().await.unwrap();
                    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
                    assert_eq!(json(r).await.1["code"], "sign_in_refused");
                    continue;
                }
                let r = req.send().await.unwrap();
                if open {
                    assert_eq!(r.status(), StatusCode::OK, "{method} {path} is open");
                } else {
                    assert_eq!(
                        r.status(),
                        StatusCode::UNAUTHORIZED,
                        "{method} {path} with {key:?}"
                    );
                    let (_, body) = json(r).await;
                    assert_eq!(body["code"], "unauthorized");
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 25,
        "the OpenAPI document lists the routes ({checked})"
    );
}

#[tokio::test]
async fn an_enterprise_cannot_read_another_enterprises_records() {
    let app = TestApp::spawn().await;
    let a = app.enterprise("120116", "importer", 1).await;
    let b = app.enterprise("120104", "importer", 2).await;
    let (_pa, batch_a) = app.batch(&a, "A-1", "11020201101001").await;
    let (pb, batch_b) = app.batch(&b, "B-1", "11020201101002").await;
    let r = app
        .post(
            "/api/v1/movements",
            &b.key,
            &json!({"kind": "sell", "batch_id": batch_b, "quantity": 5, "at": "2026-03-01T10:00:00+08:00",
                    "handlers": [{"name": "李强", "id_no": "11010519491231002X", "phone": "13912345678"}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mv_b = json(r).await.1["movements"][0]
        .as_str()
        .unwrap()
        .to_string();
    let doc = app
        .post(
            "/api/v1/documents",
            &b.key,
            &json!({"batch_id": batch_b, "kind": "nucleic_acid", "number": "HS1", "issuer": "检测机构",
                    "issued_on": "2026-03-01", "result": "negative"}),
        )
        .await;
    assert_eq!(doc.status(), StatusCode::CREATED);
    let doc_b = json(doc).await.1["documents"][0]
        .as_str()
        .unwrap()
        .to_string();

    for path in [
        format!("/api/v1/batches/{batch_b}"),
        format!("/api/v1/batches/{batch_b}/documents"),
        format!("/api/v1/products/{pb}"),
        format!("/api/v1/movements/{mv_b}"),
        format!("/api/v1/documents/{doc_b}"),
        format!("/api/v1/enterprises/{}", b.id),
        "/api/v1/codes/11020201101002".to_string(),
        format!("/api/v1/movements?batch={batch_b}"),
    ] {
        let (s, body) = json(app.get(&path, &a.key).await).await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
            "A reads {path}: {s}"
        );
        assert!(body.get("record").is_none() && body.get("batch_no").is_none());
        // B itself can read each of them.
        let (s, _) = json(app.get(&path, &b.key).await).await;
        assert_eq!(s, StatusCode::OK, "B reads {path}");
    }
    // Lists hold only one's own.
    let (_, list) = json(app.get("/api/v1/batches", &a.key).await).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![batch_a.as_str()]);
    let (_, list) = json(app.get("/api/v1/movements", &a.key).await).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // A cannot record a movement against B's batch by its number (numbers are per enterprise).
    let (s, body) = json(
        app.post(
            "/api/v1/movements",
            &a.key,
            &json!({"kind": "sell", "batch_no": "B-1", "quantity": 1, "at": "2026-03-01T10:00:00+08:00"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "batch_no");
}

#[tokio::test]
async fn counterparties_see_names_only_and_regulators_see_their_province() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 11).await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 12)
        .await;
    let outsider = app.enterprise("310104", "wholesale_vendor", 13).await;
    let (_, batch) = app.batch(&importer, "I-1", "11020201101011").await;
    let r = app
        .post(
            "/api/v1/movements",
            &importer.key,
            &json!({"kind": "ship", "batch_id": batch, "quantity": 100, "at": "2026-03-02T09:00:00+08:00",
                    "counterparty_uscc": store.uscc, "counterparty_name": "首站冷库"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The cold store may now see the batch shipped to it, and record its receipt by scanning the code.
    let (s, _) = json(
        app.get(&format!("/api/v1/batches/{batch}"), &store.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .post(
            "/api/v1/movements",
            &store.key,
            &json!({"kind": "receive", "trace_code": "11020201101011", "quantity": 100, "at": "2026-03-02T11:00:00+08:00",
                    "counterparty_uscc": importer.uscc, "counterparty_name": "进口商"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let (s, v) = json(
        app.get(&format!("/api/v1/enterprises/{}", importer.id), &store.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        vec!["id", "name"],
        "a counterparty sees only the name"
    );
    let (_, own) = json(
        app.get(
            &format!("/api/v1/enterprises/{}", importer.id),
            &importer.key,
        )
        .await,
    )
    .await;
    assert_eq!(own["contact"]["phone"], "13812341234");
    // The outsider (another province, no trade) sees nothing.
    let (s, _) = json(
        app.get(
            &format!("/api/v1/enterprises/{}", importer.id),
            &outsider.key,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Tianjin's regulator sees the Tianjin batch; Shanghai's does not.
    let (s, _) = json(
        app.get(&format!("/api/v1/batches/{batch}"), &app.regulator)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sh = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("31"),
        None,
    )
    .await;
    let (s, _) = json(app.get(&format!("/api/v1/batches/{batch}"), &sh).await).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = json(app.get("/api/v1/enterprises", &sh).await).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![outsider.id.as_str()]);
    // A regulator may not register an enterprise of another province.
    let (s, body) = json(
        app.post(
            "/api/v1/enterprises",
            &sh,
            &json!({"uscc": crate::support::uscc("120101", 99), "name": "x", "kind": "restaurant", "region": "120101",
                    "contact_name": "王伟", "contact_phone": "13812341234"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "region");
}

#[tokio::test]
async fn roles_are_limited_to_their_work() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 21).await;
    // An enterprise cannot register enterprises or issue keys.
    let (s, body) = json(
        app.post(
            "/api/v1/enterprises",
            &e.key,
            &json!({"uscc": crate::support::uscc("120101", 5), "name": "x", "kind": "restaurant", "region": "120101",
                    "contact_name": "王伟", "contact_phone": "13812341234"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "forbidden");
    let (s, _) = json(
        app.post("/api/v1/credentials", &e.key, &json!({"role": "admin"}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The admin issues a regulator key but reads no business data.
    let (s, k) = json(
        app.post(
            "/api/v1/credentials",
            &app.admin,
            &json!({"role": "regulator", "province": "31"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let sh = k["api_key"].as_str().unwrap();
    let (_, who) = json(app.get("/api/v1/whoami", sh).await).await;
    assert_eq!(who["role"], "regulator");
    assert_eq!(who["province"], "31");
    let (s, list) = json(app.get("/api/v1/enterprises", &app.admin).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(list["items"].as_array().unwrap().is_empty());
    let (s, _) = json(app.post("/api/v1/movements", &app.admin, &json!({})).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = json(
        app.post(
            "/api/v1/credentials",
            &app.admin,
            &json!({"role": "regulator"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "province");
}

#[tokio::test]
async fn attachments_follow_the_documents_that_cite_them() {
    let app = TestApp::spawn().await;
    let a = app.enterprise("120116", "importer", 31).await;
    let b = app.enterprise("120104", "importer", 32).await;
    let (_, batch) = app.batch(&a, "ATT-1", "11020201101031").await;
    let pdf = b"%PDF-1.4 scanned certificate".to_vec();
    let r = app
        .http
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&a.key)
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let sha = json(r).await.1["sha256"].as_str().unwrap().to_string();
    let r = app
        .http
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&a.key)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = app
        .post(
            "/api/v1/documents",
            &a.key,
            &json!({"batch_id": batch, "kind": "disinfection", "number": "XD1", "issuer": "消杀公司",
                    "issued_on": "2026-03-01", "attachment_sha256": sha}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = app.get(&format!("/api/v1/attachments/{sha}"), &a.key).await;
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(
        app.get(&format!("/api/v1/attachments/{sha}"), &b.key)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // A document may not cite an attachment that was never uploaded.
    let (s, body) = json(
        app.post(
            "/api/v1/documents",
            &a.key,
            &json!({"batch_id": batch, "kind": "disinfection", "number": "XD2", "issuer": "消杀公司",
                    "issued_on": "2026-03-01", "attachment_sha256": "b".repeat(64)}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "attachment_sha256");
}

#[tokio::test]
async fn a_regulator_reads_its_provinces_audit_trail_and_an_enterprise_none() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 61).await;
    let other = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("32"),
        None,
    )
    .await;
    assert_eq!(
        app.get("/api/v1/batches", &e.key).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/batches", &other).await.status(),
        StatusCode::OK
    );
    let (s, _) = json(app.get("/api/v1/audit", &e.key).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, page) = json(app.get("/api/v1/audit?limit=1000", &app.regulator).await).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let actor = format!("enterprise:{}", e.id);
    assert!(
        items
            .iter()
            .any(|i| i["actor"].as_str().unwrap().starts_with(&actor)),
        "{page}"
    );
    assert!(items.iter().all(|i| i["province"] == "12"), "{page}");
    assert!(
        !items
            .iter()
            .any(|i| i["actor"].as_str().unwrap().starts_with("regulator:32"))
    );
    let (s, all) = json(app.get("/api/v1/audit?limit=1000", &app.admin).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["actor"].as_str().unwrap().starts_with("regulator:32")),
        "{all}"
    );
}

#[tokio::test]
async fn keys_are_revoked_rotated_and_expire() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 62).await;
    let other = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("32"),
        None,
    )
    .await;
    let (s, mine) = json(app.get("/api/v1/credentials", &e.key).await).await;
    assert_eq!(s, StatusCode::OK);
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "an enterprise sees its own keys: {mine}");
    let id = items[0]["id"].as_str().unwrap().to_string();
    assert!(
        items[0]["expires_at_ms"].as_i64().unwrap() > 0,
        "API keys expire by default"
    );
    assert!(!mine.to_string().contains("key_hash"));
    // Another province's regulator cannot touch it.
    let (s, _) = json(
        app.post(
            &format!("/api/v1/credentials/{id}/revoke"),
            &other,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Rotation: a new key works, the old one stops.
    let (s, v) = json(
        app.post(
            &format!("/api/v1/credentials/{id}/rotate"),
            &app.regulator,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new_key = v["api_key"].as_str().unwrap().to_string();
    let new_id = v["credential_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/v1/whoami", &e.key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, who) = json(app.get("/api/v1/whoami", &new_key).await).await;
    assert_eq!(
        (s, who["enterprise"].as_str()),
        (StatusCode::OK, Some(e.id.as_str()))
    );
    // Revocation: at once, and twice is harmless.
    for _ in 0..2 {
        let (s, v) = json(
            app.post(
                &format!("/api/v1/credentials/{new_id}/revoke"),
                &app.regulator,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["revoked"], true);
    }
    assert_eq!(
        app.get("/api/v1/whoami", &new_key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // An expired key is refused like a revoked one.
    let expired = coldtrace_service::credentials::create_key_until(
        app.store.as_ref(),
        coldtrace_domain::Role::Regulator,
        Some(coldtrace_domain::ProvinceCode::parse("12").unwrap()),
        None,
        "expired",
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(
        app.get("/api/v1/whoami", &expired.key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = json(
        app.post(
            &format!("/api/v1/enterprises/{}/credentials", e.id),
            &app.regulator,
            &json!({"expires_in_days": 0}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_in_days"))
    );
}

#[tokio::test]
async fn people_sign_in_to_sessions_that_name_them_and_end_when_they_sign_out_or_are_disabled() {
    let app = TestApp::spawn().await;
    let account = json!({"login": "wang.wei", "name": "王伟", "role": "regulator", "province": "12",
                         "password": "冷链追溯-2026-tianjin"});
    let (s, acc) = json(app.post("/api/v1/accounts", &app.regulator, &account).await).await;
    assert_eq!(s, StatusCode::CREATED, "{acc}");
    assert!(acc.get("password_hash").is_none() && acc.get("password").is_none());
    // The same login again, a weak password, another province's regulator: refused, naming why.
    let (s, v) = json(app.post("/api/v1/accounts", &app.regulator, &account).await).await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (StatusCode::CONFLICT, Some("login"))
    );
    let mut weak = account.clone();
    weak["login"] = json!("li.qiang");
    weak["password"] = json!("123456");
    let (s, v) = json(app.post("/api/v1/accounts", &app.regulator, &weak).await).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );
    let mut elsewhere = account.clone();
    elsewhere["login"] = json!("zhao.min");
    elsewhere["province"] = json!("31");
    let (s, _) = json(
        app.post("/api/v1/accounts", &app.regulator, &elsewhere)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let sign_in = |login: &str, password: &str| {
        let body = json!({"login": login, "password": password});
        let app = &app;
        async move {
            json(
                app.http
                    .post(app.url("/api/v1/sessions"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // A wrong password and an unknown login get the same answer.
    let (s1, wrong) = sign_in("wang.wei", "not the password").await;
    let (s2, unknown) = sign_in("nobody.here", "not the password").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong, unknown);

    let (s, session) = sign_in("wang.wei", "冷链追溯-2026-tianjin").await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let hours = (session["expires_at_ms"].as_i64().unwrap()
        - jiff::Timestamp::now().as_millisecond()) as f64
        / 3.6e6;
    assert!((7.9..=8.0).contains(&hours), "{hours} h");
    let (s, me) = json(app.get("/api/v1/whoami", &token).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (me["role"].as_str(), me["province"].as_str()),
        (Some("regulator"), Some("12"))
    );
    assert_eq!(me["person"], "wang.wei");
    // The trail names the person, and the failed sign-ins by the login tried.
    let (_, trail) = json(app.get("/api/v1/audit?limit=500", &token).await).await;
    let actors: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("regulator:12/person:wang.wei#")),
        "{actors:?}"
    );
    assert!(actors.contains(&"login:nobody.here"), "{actors:?}");

    // A session is never turned into a key: not by rotating itself, nor by rotating the office's key.
    let cred = session["credential_id"].as_str().unwrap();
    let (s, _) = json(
        app.post(
            &format!("/api/v1/credentials/{cred}/rotate"),
            &token,
            &json!({}),
        )
        .await,
    )
    .await;
    assert!(matches!(s.as_u16(), 404 | 409), "rotating a session: {s}");
    let (_, keys) = json(app.get("/api/v1/credentials", &token).await).await;
    assert!(
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["role"] != "regulator" || k["account"].is_string()),
        "a person's session manages no regulator office key: {keys}"
    );
    // The same login in capitals is the same login; passwords that are easy to guess are refused.
    let mut upper = account.clone();
    upper["login"] = json!("WANG.WEI");
    let (s, _) = json(app.post("/api/v1/accounts", &app.regulator, &upper).await).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = sign_in("Wang.Wei", "冷链追溯-2026-tianjin").await;
    assert_eq!(s, StatusCode::CREATED);
    for weak in ["aaaaaaaaaaaa", "1234567890", "          ", "xli.qiangx123"] {
        let mut w = account.clone();
        w["login"] = json!("li.qiang");
        w["password"] = json!(weak);
        let (s, v) = json(app.post("/api/v1/accounts", &app.regulator, &w).await).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
            "{weak:?}"
        );
    }

    // Signing out ends the session; an API key is not a session.
    let (s, _) = json(app.post("/api/v1/sessions/end", &token, &json!({})).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/whoami", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = json(
        app.post("/api/v1/sessions/end", &app.regulator, &json!({}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Disabling the account ends its sessions at once and refuses new ones.
    let (_, session) = sign_in("wang.wei", "冷链追溯-2026-tianjin").await;
    let token = session["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/v1/whoami", &token).await.status(),
        StatusCode::OK
    );
    let id = acc["id"].as_str().unwrap();
    let (s, v) = json(
        app.post(
            &format!("/api/v1/accounts/{id}/disable"),
            &app.regulator,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!((s, v["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(
        app.get("/api/v1/whoami", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = sign_in("wang.wei", "冷链追溯-2026-tianjin").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (_, list) = json(app.get("/api/v1/accounts", &app.regulator).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // An enterprise's staff member signs in; the session cannot rotate or revoke the office's key.
    let e = app.enterprise("120116", "importer", 99).await;
    let (s, _) = json(
        app.post(
            "/api/v1/accounts",
            &e.key,
            &json!({"login": "staff.99", "name": "库管员", "role": "enterprise", "enterprise": e.id,
                    "password": "cold-store-2026"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, staff) = sign_in("staff.99", "cold-store-2026").await;
    let staff = staff["token"].as_str().unwrap().to_string();
    let (_, office) = json(app.get("/api/v1/credentials", &e.key).await).await;
    let office = office["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["account"].is_null())
        .expect("the office key")["id"]
        .as_str()
        .unwrap()
        .to_string();
    for action in ["rotate", "revoke"] {
        let (s, _) = json(
            app.post(
                &format!("/api/v1/credentials/{office}/{action}"),
                &staff,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{action} from a staff session");
    }
    assert_eq!(
        app.get("/api/v1/whoami", &e.key).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn pages_carry_a_content_policy_and_refuse_framing() {
    let app = TestApp::spawn().await;
    for path in ["/console", "/t", "/healthz"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let html = h["content-type"].to_str().unwrap().starts_with("text/html");
        assert_eq!(h.contains_key("content-security-policy"), html, "{path}");
        if html {
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
                "{csp}"
            );
        }
    }
}

#[tokio::test]
async fn guessing_one_persons_password_locks_that_login_for_a_while() {
    let app = TestApp::spawn().await;
    for login in ["target.person", "bystander"] {
        let (s, _) = json(
            app.post(
                "/api/v1/accounts",
                &app.regulator,
                &json!({"login": login, "name": "某人", "role": "regulator", "province": "12",
                        "password": "the-right-one-2026"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let sign_in = |login: &'static str, password: &'static str| {
        let (http, url) = (app.http.clone(), app.url("/api/v1/sessions"));
        async move {
            http.post(url)
                .json(&json!({"login": login, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let mut statuses = vec![];
    for _ in 0..12 {
        statuses.push(sign_in("target.person", "guess-guess-1").await.as_u16());
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[11], 429, "{statuses:?}");
    // Locked even with the right password, in any spelling; another person is not.
    assert_eq!(
        sign_in("TARGET.PERSON", "the-right-one-2026").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_in("bystander", "the-right-one-2026").await,
        StatusCode::CREATED
    );
}
