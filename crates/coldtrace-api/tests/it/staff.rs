//! Staff registries and their nucleic-acid tests over HTTP: the schedule for people handling imported cold-chain
//! goods, overdue findings opened by the sweep and resolved by a test, masking, and tenancy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, day, json};

const A: &str = "11010519491231002X";
const B: &str = "120116198503151231";
const C: &str = "12010419900101456X";

async fn staff_findings(app: &TestApp) -> Vec<Value> {
    let (_, v) = json(
        app.get(
            "/api/v1/findings?rule=staff_test_overdue&status=open",
            &app.regulator,
        )
        .await,
    )
    .await;
    v["items"].as_array().unwrap().clone()
}

async fn sweep(app: &TestApp, days_ahead: i64) {
    app.store
        .sweep(
            jiff::Timestamp::now().as_millisecond() + days_ahead * 86_400_000,
            Default::default(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn staff_handling_imported_goods_are_tested_on_schedule() {
    let app = TestApp::spawn().await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 31)
        .await;
    let other = app.enterprise("120105", "wholesale_vendor", 32).await;
    // Every wrong field named; nothing stored.
    let (s, v) = json(
        app.post(
            "/api/v1/staff",
            &store.key,
            &json!({"staff": [{"name": "王强", "id_no": "123", "role": "porter"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["staff[0].id_no", "staff[0].role"]);
    let (s, v) = json(
        app.post(
            "/api/v1/staff",
            &store.key,
            &json!({"staff": [
                {"name": "王强", "id_no": A, "phone": "13912345678", "role": "imported_cold_chain"},
                {"name": "李明", "id_no": B, "role": "接触进口冷链食品"},
                {"name": "赵敏", "id_no": C, "role": "other"}]}),
        )
        .await,
    )
    .await;
    assert_eq!((s, v["new"].as_u64()), (StatusCode::OK, Some(3)), "{v}");
    // A was last tested ten days ago; B never yet (registered today); C is not on a schedule.
    let (s, v) = json(
        app.post(
            "/api/v1/staff/tests",
            &store.key,
            &json!({"tests": [{"id_no": A, "sampled_on": day(-10), "result": "阴性", "institution": "天津某检测机构"}]}),
        )
        .await,
    )
    .await;
    assert_eq!((s, v["new"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    sweep(&app, 0).await;
    let open = staff_findings(&app).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["code"], "CT-STAFF");
    assert_eq!(open[0]["enterprise"], store.id.as_str());
    let msg = open[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("3 days overdue") && !msg.contains(A),
        "masked: {msg}"
    );
    // A negative test today settles it at once.
    let (s, _) = json(
        app.post(
            "/api/v1/staff/tests",
            &store.key,
            &json!({"tests": [{"id_no": A, "sampled_on": day(0), "result": "negative"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(staff_findings(&app).await, Vec::<Value>::new());
    // Eight days on, B (never tested) and A (tested today) are both due; C never is.
    sweep(&app, 8).await;
    let open = staff_findings(&app).await;
    assert_eq!(open.len(), 2, "{open:?}");
    // The same again changes nothing.
    sweep(&app, 8).await;
    assert_eq!(staff_findings(&app).await.len(), 2);

    // Reads: identity numbers masked for all; phones for the enterprise itself only.
    let (_, mine) = json(app.get("/api/v1/staff", &store.key).await).await;
    assert_eq!(mine.as_array().unwrap().len(), 3);
    let text = mine.to_string();
    assert!(
        !text.contains(A) && !text.contains(B) && text.contains("13912345678"),
        "{text}"
    );
    let (_, seen) = json(app.get("/api/v1/staff", &app.regulator).await).await;
    assert_eq!(seen.as_array().unwrap().len(), 3);
    assert!(!seen.to_string().contains("13912345678"), "{seen}");
    assert!(
        !seen.to_string().contains("王强"),
        "names masked for the regulator: {seen}"
    );
    let a = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["member"]["name"] == "王强")
        .unwrap();
    assert_eq!(a["last_test"]["sampled_on"], day(0));
    // Another enterprise sees none of them and cannot record their tests.
    let (_, theirs) = json(app.get("/api/v1/staff", &other.key).await).await;
    assert_eq!(theirs, json!([]));
    let (s, v) = json(
        app.post(
            "/api/v1/staff/tests",
            &other.key,
            &json!({"tests": [{"id_no": B, "sampled_on": day(0), "result": "negative"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "tests[0].id_no");
    // A test in the future is a typing error; the regulator keeps no staff registry of its own.
    let (s, _) = json(
        app.post(
            "/api/v1/staff/tests",
            &store.key,
            &json!({"tests": [{"id_no": B, "sampled_on": day(3), "result": "negative"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = json(
        app.post("/api/v1/staff", &app.regulator, &json!({"staff": []}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A staff member's positive test opens an incident that starts from the goods the person handled, and reaches
/// the batches of those goods.
#[tokio::test]
async fn a_positive_staff_test_reaches_the_batches_the_person_handled() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 41).await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 42)
        .await;
    let (_, batch) = app.batch(&importer, "STAFF-1", "12020261126141").await;
    let (_, untouched) = app.batch(&importer, "STAFF-2", "12020261126142").await;
    for (e, body) in [
        (
            &importer,
            json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": "2026-11-20T08:00:00+08:00",
                            "counterparty_name": "Frigorifico"}),
        ),
        (
            &importer,
            json!({"kind": "receive", "batch_id": untouched, "quantity": 100, "at": "2026-11-20T08:00:00+08:00",
                            "counterparty_name": "Frigorifico"}),
        ),
        (
            &importer,
            json!({"kind": "ship", "batch_id": batch, "quantity": 60, "at": "2026-11-21T08:00:00+08:00",
                            "counterparty_uscc": store.uscc, "counterparty_name": "首站冷库"}),
        ),
        // The cold store's porter 王强 unloads it.
        (
            &store,
            json!({"kind": "receive", "batch_id": batch, "quantity": 60, "at": "2026-11-21T15:00:00+08:00",
                         "counterparty_uscc": importer.uscc, "counterparty_name": "进口商",
                         "handlers": [{"name": "王强", "id_no": A, "role": "porter"}]}),
        ),
    ] {
        let r = app.post("/api/v1/movements", &e.key, &body).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
    }
    let (s, _) = json(
        app.post(
            "/api/v1/staff",
            &store.key,
            &json!({"staff": [{"name": "王强", "id_no": A, "role": "imported_cold_chain"},
                              {"name": "李明", "id_no": B, "role": "imported_cold_chain"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // A negative test opens nothing; a positive test of someone who handled no goods has nothing to trace.
    let (s, v) = json(
        app.post(
            "/api/v1/staff/tests",
            &store.key,
            &json!({"tests": [{"id_no": A, "sampled_on": day(-1), "result": "negative"},
                              {"id_no": B, "sampled_on": day(0), "result": "positive"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["incidents"].as_array().map(Vec::len),
            v["not_traced"].as_u64()
        ),
        (Some(0), Some(1)),
        "{v}"
    );
    // Another enterprise cannot start a trace from what 王强 handled at the cold store: registering him on its own
    // staff and reporting him positive traces only what he handled there, which is nothing.
    let rival = app.enterprise("120105", "wholesale_vendor", 43).await;
    let (s, _) = json(
        app.post(
            "/api/v1/staff",
            &rival.key,
            &json!({"staff": [{"name": "王强", "id_no": A, "role": "imported_cold_chain"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = json(
        app.post(
            "/api/v1/staff/tests",
            &rival.key,
            &json!({"tests": [{"id_no": A, "sampled_on": day(0), "result": "positive"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["incidents"].as_array().map(Vec::len),
            v["not_traced"].as_u64()
        ),
        (Some(0), Some(1)),
        "{v}"
    );
    // 王强's positive test: the incident starts from what he handled.
    let (s, v) = json(
        app.post(
            "/api/v1/staff/tests",
            &store.key,
            &json!({"tests": [{"id_no": A, "sampled_on": day(0), "result": "positive"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let incident = v["incidents"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let (s, i) = json(
        app.get(&format!("/api/v1/incidents/{incident}"), &app.regulator)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{i}");
    assert_eq!(i["kind"], "person");
    let text = i.to_string();
    assert!(text.contains("STAFF-1"), "the batch he handled: {i}");
    assert!(
        !text.contains("STAFF-2"),
        "not the batch he never touched: {i}"
    );
    // Its tasks reach every holder of the batch with goods on hand.
    let holders: Vec<&str> = i["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["holder_name"].as_str().unwrap())
        .collect();
    assert_eq!(holders.len(), 2, "{i}");
    // The same positive test again answers the same incident.
    let (_, again) = json(
        app.post(
            "/api/v1/staff/tests",
            &store.key,
            &json!({"tests": [{"id_no": A, "sampled_on": day(0), "result": "positive"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(again["incidents"][0], incident.as_str(), "{again}");
    assert_eq!(again["new"], 0);
    // The batch's people, as a trace lists them: who handled it, and their latest test.
    let (s, t) = json(
        app.get(
            &format!(
                "/api/v1/trace?batch={batch}&direction=both&people=true&purpose=%E5%A4%84%E7%BD%AE"
            ),
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let people = t["people"].as_array().unwrap();
    assert_eq!(people.len(), 1, "{t}");
    assert_eq!(people[0]["last_test"]["sampled_on"], day(0));
    assert_eq!(people[0]["last_test"]["result"], "positive");
}
