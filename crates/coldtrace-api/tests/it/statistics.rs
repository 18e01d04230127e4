//! The census and the bureau's statistics over HTTP: a census file matched against registered enterprises by
//! USCC and by near-duplicate names, coverage by city and kind, the businesses not registered, and the workbook.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, json};
use coldtrace_domain::Role;

async fn post_file(app: &TestApp, key: &str, path: &str, body: String) -> (StatusCode, Value) {
    json(app.post_file(path, key, "text/csv", body).await).await
}

#[tokio::test]
async fn a_census_is_matched_by_uscc_and_near_names_and_gives_coverage() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 21).await;
    // A registered first-station cold store (测试企业22) that the census writes otherwise.
    app.enterprise("120104", "first_station_cold_store", 22)
        .await;
    // The importer ships to a cold store of Tianjin named by USCC that is not registered.
    let (_, batch) = app.batch(&importer, "CEN-1", "12020261126121").await;
    let ghost = crate::support::uscc("120113", 99);
    for body in [
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": "2026-11-20T08:00:00+08:00",
               "counterparty_name": "Frigorifico"}),
        json!({"kind": "ship", "batch_id": batch, "quantity": 40, "at": "2026-11-21T08:00:00+08:00",
               "counterparty_uscc": ghost, "counterparty_name": "北辰冰山冷库"}),
    ] {
        let r = app.post("/api/v1/movements", &importer.key, &body).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
    }
    // The census: the importer by its USCC; the cold store by a name written otherwise (the test enterprises are
    // 测试企业21, 测试企业22); one business not registered; one outside the province.
    let head = "统一社会信用代码,名称,类型,行政区划,地址,联系人,联系电话";
    let bad = format!(
        "{head}\n{},某进口商,进口商,120116,,,\n,（天津）测试企业22有限公司,首站冷库,120104,,,\n,北辰冰山冷库有限公司,第三方冷库,120113,北辰区,,\n,上海某冷库,第三方冷库,310115,,,\n",
        importer.uscc
    );
    let (s, r) = post_file(&app, &app.regulator, "/api/v1/census/import", bad.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(r["errors"][0]["row"], 5, "{r}");
    assert_eq!(r["errors"][0]["column"], "行政区划", "{r}");
    let (_, st) = json(app.get("/api/v1/statistics", &app.regulator).await).await;
    assert_eq!(
        st["census_imported_at_ms"],
        Value::Null,
        "nothing stored: {st}"
    );
    let good = bad.lines().take(4).collect::<Vec<_>>().join("\n");
    let (s, r) = post_file(&app, &app.regulator, "/api/v1/census/import", good).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["stored"], 3);

    let (s, st) = json(app.get("/api/v1/statistics", &app.regulator).await).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(
        (
            st["matched_by_uscc"].as_u64(),
            st["matched_by_name"].as_u64(),
            st["matched_by_similar_name"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{st}"
    );
    let row = |kind: &str| {
        st["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("{kind}: {st}"))
    };
    let imp = row("importer");
    assert_eq!(imp["city_name"], "天津市");
    assert_eq!(
        (
            imp["enterprises"].as_u64(),
            imp["census"].as_u64(),
            imp["census_registered"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (
            imp["committed"].as_u64(),
            imp["reporting"].as_u64(),
            imp["lots"].as_u64(),
            imp["lots_on_hand"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    let cold = row("third_party_cold_store");
    assert_eq!(
        (
            cold["enterprises"].as_u64(),
            cold["census"].as_u64(),
            cold["census_registered"].as_u64()
        ),
        (Some(0), Some(1), Some(0))
    );
    assert_eq!(
        st["unregistered"][0]["entry"]["name"],
        "北辰冰山冷库有限公司"
    );
    assert_eq!(st["unregistered_parties"][0]["uscc"], ghost.as_str());
    assert_eq!(st["unregistered_parties"][0]["movements"], 1);

    // A corrected enterprise keeps its figures (movements and lots name it by its first id).
    let r = app
        .post(
            "/api/v1/enterprises",
            &app.regulator,
            &json!({"uscc": importer.uscc, "name": "测试企业21（更名）", "kind": "importer", "region": "120116",
                    "contact_name": "王伟", "contact_phone": "13812341234", "self_commitment": true,
                    "self_commitment_on": "2026-03-01", "corrects": importer.id, "correction_reason": "更名"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let (_, st) = json(app.get("/api/v1/statistics", &app.regulator).await).await;
    let imp = st["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "importer")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            imp["enterprises"].as_u64(),
            imp["lots"].as_u64(),
            imp["reporting"].as_u64(),
            imp["census_registered"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1)),
        "{st}"
    );

    // The workbook, for the bureau's files.
    let r = app
        .get("/api/v1/statistics?format=xlsx", &app.regulator)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));

    // The sweep records the day's coverage: the trend.
    coldtrace_service::statistics::record_coverage(
        app.store.as_ref(),
        &coldtrace_domain::ProvinceCode::parse("12").unwrap(),
        jiff::Timestamp::now().as_millisecond(),
    )
    .await
    .unwrap();
    let (_, st) = json(app.get("/api/v1/statistics", &app.regulator).await).await;
    let trend = st["coverage_trend"].as_array().unwrap();
    assert!(
        trend
            .iter()
            .any(|d| d["kind"] == "importer" && d["registered"] == 1 && d["census"] == 1),
        "{st}"
    );

    // Who reads it: a regulator its own province, the national platform any it names; not an enterprise.
    let jiangsu = TestApp::key(&app.store, Role::Regulator, Some("32"), None).await;
    let (_, other) = json(app.get("/api/v1/statistics", &jiangsu).await).await;
    assert_eq!(other["rows"], json!([]), "{other}");
    assert_eq!(
        app.get("/api/v1/statistics?province=12", &jiangsu)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let national = TestApp::key(&app.store, Role::National, None, None).await;
    let (s, n) = json(app.get("/api/v1/statistics?province=12", &national).await).await;
    assert_eq!(
        (s, n["rows"].as_array().map(Vec::len)),
        (StatusCode::OK, st["rows"].as_array().map(Vec::len))
    );
    assert_eq!(
        app.get("/api/v1/statistics", &national).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get("/api/v1/statistics", &importer.key).await.status(),
        StatusCode::FORBIDDEN
    );
    // Only a regulator imports its own province's census.
    let (s, _) = post_file(&app, &importer.key, "/api/v1/census/import", bad).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = json(
        app.post(
            "/api/v1/census",
            &jiangsu,
            &json!({"entries": [{"name": "某冷库", "kind": "third_party_cold_store", "region": "120104"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "entries[0].region", "{v}");
}
