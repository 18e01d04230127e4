//! Temperature records over HTTP: readings of a reefer, a cold store's log file and an EPCIS sensor report make
//! `temperature_excursion` findings on the lots held through an excursion; the batch page, the trace and the public
//! page show it; the same readings again change nothing; another enterprise's readings never touch a lot it
//! does not hold.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, capture, epcis_document, json};

async fn excursions(app: &TestApp, key: &str) -> Vec<Value> {
    let (s, v) = json(
        app.get("/api/v1/findings?rule=temperature_excursion&limit=100", key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

fn reading(at: &str, c: f64, subject: Value) -> Value {
    let mut r = json!({"device": "REEFER-7", "at": at, "temperature_c": c});
    r.as_object_mut()
        .unwrap()
        .extend(subject.as_object().unwrap().clone());
    r
}

#[tokio::test]
async fn an_excursion_of_a_reefer_is_a_finding_on_the_lots_it_carried_and_shows_everywhere() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 61).await;
    let (_, batch) = app.batch(&e, "T-1", "(01)09520123456788(10)T1").await;
    let (s, v) = json(
        app.post(
            "/api/v1/movements",
            &e.key,
            &json!({"kind": "receive", "batch_id": batch, "quantity": 1300,
        "at": "2026-03-01T06:00:00+08:00", "counterparty_name": "Frigorifico Exemplo S.A."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let box_ = json!({"container_no": "CSQU3054383"});
    let series = |shift: &str| {
        vec![
            reading(&format!("2026-03-01T08:00:00{shift}"), -18.0, box_.clone()),
            reading(&format!("2026-03-01T08:10:00{shift}"), -12.5, box_.clone()),
            reading(&format!("2026-03-01T08:50:00{shift}"), -9.5, box_.clone()),
            reading(&format!("2026-03-01T09:00:00{shift}"), -18.5, box_.clone()),
        ]
    };
    let (s, r) = json(
        app.post(
            "/api/v1/sensors/readings",
            &e.key,
            &json!({"readings": series("+08:00")}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["stored"].as_u64(),
            r["excursions"].as_u64(),
            r["findings_opened"].as_u64()
        ),
        (Some(4), Some(1), Some(1)),
        "{r}"
    );
    let f = excursions(&app, &e.key).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["batch"], batch.as_str());
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("-9.5 °C for 50 minutes"),
        "{}",
        f[0]
    );
    // The same readings again: nothing new.
    let (_, r) = json(
        app.post(
            "/api/v1/sensors/readings",
            &e.key,
            &json!({"readings": series("+08:00")}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (r["stored"].as_u64(), r["findings_opened"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
    // The batch page, the trace and (once published) the public page say so.
    let (_, b) = json(app.get(&format!("/api/v1/batches/{batch}"), &e.key).await).await;
    assert!(
        b["open_findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "temperature_excursion"),
        "{b}"
    );
    let (_, t) = json(
        app.get(
            &format!("/api/v1/trace?batch={batch}&direction=both"),
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(t["batches"][0]["temperature_excursion"], true, "{t}");
    let r = app
        .post(
            &format!("/api/v1/batches/{batch}/publish"),
            &app.regulator,
            &json!({}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let page = app
        .http
        .get(app.url("/t/(01)09520123456788(10)T1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("冷链温度异常"), "{page}");
    // Wrong readings are refused, naming the field; nothing stored.
    let (s, v) = json(
        app.post(
            "/api/v1/sensors/readings",
            &e.key,
            &json!({"readings": [reading("2026-03-01T10:00:00+08:00", 400.0, json!({}))]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.to_string().contains("readings[0].temperature_c"), "{v}");
}

#[tokio::test]
async fn a_cold_store_log_file_and_an_epcis_sensor_report_find_their_lots() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "third_party_cold_store", 62).await;
    let (_, b1) = app.batch(&e, "T-2", "(01)09520123456788(10)T2").await;
    // The batch entered the store before the log: a receipt on 1 March.
    let (s, v) = json(app.post("/api/v1/movements", &e.key, &json!({"kind": "receive", "batch_id": b1, "quantity": 1300,
        "at": "2026-03-01T06:00:00+08:00", "counterparty_name": "Frigorifico Exemplo S.A.", "location": "A-01"})).await).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let csv = "设备,时间,温度,存放位置\nCS-1,2026-03-01T08:00:00+08:00,-18.2,A-01\nCS-1,2026-03-01T09:00:00+08:00,−11.0,A-01\n\
               CS-1,2026-03-01T10:00:00+08:00,-18.0,A-01\n";
    let r = app
        .post_file(
            "/api/v1/sensors/readings/import",
            &e.key,
            "text/csv",
            csv.to_string(),
        )
        .await;
    let (s, v) = json(r).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["receipt"]["findings_opened"], 1, "{v}");
    let bad = "设备,时间,温度\nCS-1,2026-03-01T08:00:00+08:00,warm\n";
    let (s, v) = json(
        app.post_file(
            "/api/v1/sensors/readings/import",
            &e.key,
            "text/csv",
            bad.to_string(),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            v["errors"][0]["row"].as_u64(),
            v["errors"][0]["column"].as_str()
        ),
        (Some(2), Some("温度")),
        "{v}"
    );
    // An EPCIS observation with a sensor report on the lot.
    let ev = json!({"type": "ObjectEvent", "eventTime": "2026-03-02T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE", "bizStep": "storing",
        "quantityList": [{"epcClass": "https://id.gs1.org/01/09520123456788/10/T2", "quantity": 10, "uom": "KGM"}],
        "sensorElementList": [{"sensorMetadata": {"deviceID": "urn:epc:id:giai:4000001.111"}, "sensorReport": [
            {"type": "Temperature", "value": -8.0, "uom": "CEL", "time": "2026-03-02T07:00:00+08:00"},
            {"type": "Temperature", "value": -7.0, "uom": "CEL", "time": "2026-03-02T08:00:00+08:00"},
            {"type": "Temperature", "value": 1.4, "uom": "FAH", "time": "2026-03-02T08:30:00+08:00"}]}]});
    let job = capture(&app, &e.key, &epcis_document(vec![ev]), None).await;
    assert_eq!(job["success"], true, "{job}");
    let f = excursions(&app, &e.key).await;
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f.iter().any(|x| x["message"]
            .as_str()
            .unwrap()
            .contains("-7.0 °C for 90 minutes")),
        "{f:?}"
    );
    // Someone else's readings naming this lot or its place touch nothing of it.
    let other = app.enterprise("120104", "third_party_cold_store", 63).await;
    let (s, _) = json(app.post("/api/v1/sensors/readings", &other.key, &json!({"readings": [
        reading("2026-03-03T08:00:00+08:00", 5.0, json!({"trace_code": "(01)09520123456788(10)T2"})),
        reading("2026-03-03T10:00:00+08:00", 5.0, json!({"trace_code": "(01)09520123456788(10)T2"}))]})).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(excursions(&app, &app.regulator).await.len(), 2);
}
