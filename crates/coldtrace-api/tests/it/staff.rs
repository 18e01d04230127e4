//! Staff registries and their nucleic-acid tests over HTTP: the schedule for people handling imported cold-chain
//! goods, overdue findings opened by the sweep and resolved by a test, masking, and tenancy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, json};
use coldtrace_store::prelude::*;

const A: &str = "11010519491231002X";
const B: &str = "120116198503151231";
const C: &str = "12010419900101456X";

fn day(offset_days: i64) -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
        .checked_add(jiff::Span::new().days(offset_days))
        .unwrap()
        .to_string()
}

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
    let a = seen
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
