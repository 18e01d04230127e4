//! The ledger checks on every write path: each rule under its default policy (flag: stored with a finding;
//! reject: refused naming the field and the rule), findings that later records put right, and a regulator
//! dismissing one with a reason.

use coldtrace_domain::checks::{CheckPolicy, Policy, Rule};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Ent, TestApp, json};

fn at(d: u32, h: u32) -> String {
    format!("2026-03-{d:02}T{h:02}:00:00+08:00")
}

async fn findings(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let (s, v) = json(app.get(&format!("/api/v1/findings{query}"), key).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn post_mv(app: &TestApp, e: &Ent, body: Value) -> (StatusCode, Value) {
    json(app.post("/api/v1/movements", &e.key, &body).await).await
}

#[tokio::test]
async fn shipping_more_than_received_opens_a_finding_that_a_late_receipt_resolves() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 91).await;
    let other = app.enterprise("120104", "wholesale_vendor", 92).await;
    let (_, batch) = app.batch(&e, "CHK-1", "11020201109101").await;
    let (s, v) = post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 400, "at": at(1, 8),
        "counterparty_name": "Frigorifico Exemplo S.A."}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // 500 shipped of 400 received: stored (the receipt of the rest may come later), and a finding opened.
    let (s, v) = post_mv(
        &app,
        &e,
        json!({"kind": "ship", "batch_id": batch, "quantity": 500, "at": at(2, 8),
        "counterparty_name": "某批发商"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let open = findings(&app, &e.key, "?rule=stock_conservation&status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let f = &open[0];
    assert_eq!(
        (f["rule"].as_str(), f["code"].as_str()),
        (Some("stock_conservation"), Some("CT-STOCK"))
    );
    assert_eq!(f["batch"], batch.as_str());
    assert!(f["message"].as_str().unwrap().contains("100"), "{f}");
    // The regulator sees it; another enterprise does not, by list or by id.
    assert_eq!(
        findings(&app, &app.regulator, "?rule=CT-STOCK").await.len(),
        1
    );
    assert!(findings(&app, &other.key, "").await.is_empty());
    let id = f["id"].as_str().unwrap();
    let (s, _) = json(app.get(&format!("/api/v1/findings/{id}"), &other.key).await).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The trace shows the lot as it is: nothing on hand, 100 short.
    let (_, t) = json(
        app.get(
            &format!("/api/v1/trace?batch={batch}&direction=both"),
            &app.regulator,
        )
        .await,
    )
    .await;
    let lot = t["holders"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["lots"].as_array().unwrap())
        .find(|l| l["shipped"] == 500.0)
        .unwrap_or_else(|| panic!("{t}"))
        .clone();
    assert_eq!(
        (lot["on_hand"].as_f64(), lot["balance"].as_f64()),
        (Some(0.0), Some(-100.0)),
        "{lot}"
    );
    // A second receipt of 100 arrives late: the lot balances and the platform resolves the finding.
    let (s, _) = post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(1, 9),
        "counterparty_name": "Frigorifico Exemplo S.A."}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, f) = json(app.get(&format!("/api/v1/findings/{id}"), &e.key).await).await;
    assert_eq!(f["status"], "resolved", "{f}");
    assert_eq!(f["closed_by"], "platform");
    assert!(
        findings(&app, &e.key, "?rule=stock_conservation&status=open")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn under_reject_an_impossible_ledger_is_refused_naming_the_field_and_the_rule() {
    let app = TestApp::spawn_with_checks(
        CheckPolicy::default().with(Rule::StockConservation, Policy::Reject),
    )
    .await;
    let e = app.enterprise("120116", "importer", 93).await;
    let (_, batch) = app.batch(&e, "CHK-2", "11020201109102").await;
    let (s, body) = json(
        app.post(
            "/api/v1/submissions",
            &e.key,
            &json!({"movements": [
                {"kind": "receive", "batch_id": batch, "quantity": 1300, "at": at(1, 8), "counterparty_name": "Frigorifico"},
                {"kind": "ship", "batch_id": batch, "quantity": 99999, "at": at(2, 8), "counterparty_name": "某人"}
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let err = &body["errors"][0];
    assert!(
        err["field"].as_str().unwrap().starts_with("movements["),
        "{body}"
    );
    assert!(
        err["reason"].as_str().unwrap().contains("CT-STOCK"),
        "{body}"
    );
    // Nothing of it was stored, no finding either.
    let (_, list) = json(app.get("/api/v1/movements", &e.key).await).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    assert!(
        findings(&app, &app.regulator, "?rule=CT-STOCK")
            .await
            .is_empty()
    );
    // The same ledger within its stock is taken.
    let (s, v) = json(
        app.post(
            "/api/v1/submissions",
            &e.key,
            &json!({"movements": [
                {"kind": "receive", "batch_id": batch, "quantity": 1300, "at": at(1, 8), "counterparty_name": "Frigorifico"},
                {"kind": "ship", "batch_id": batch, "quantity": 1300, "at": at(2, 8), "counterparty_name": "某人"}
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn a_time_in_the_future_is_refused_and_times_out_of_order_are_findings() {
    let app = TestApp::spawn().await;
    let seller = app.enterprise("120116", "importer", 94).await;
    let buyer = app.enterprise("120104", "wholesale_vendor", 95).await;
    let (_, batch) = app.batch(&seller, "CHK-3", "11020201109103").await;
    let (s, body) = post_mv(
        &app,
        &seller,
        json!({"kind": "receive", "batch_id": batch, "quantity": 10,
        "at": "2099-01-01T08:00:00+08:00", "counterparty_name": "Frigorifico"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A single-record route names the field of the record itself.
    assert_eq!(body["errors"][0]["field"], "at", "{body}");
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("CT-FUTURE"),
        "{body}"
    );
    // Shipped on the 5th; the buyer's ledger says it arrived on the 2nd.
    post_mv(
        &app,
        &seller,
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    post_mv(
        &app,
        &seller,
        json!({"kind": "ship", "batch_id": batch, "quantity": 50, "at": at(5, 8),
        "counterparty_uscc": buyer.uscc, "counterparty_name": "批发商"}),
    )
    .await;
    let (s, v) = post_mv(
        &app,
        &buyer,
        json!({"kind": "receive", "batch_id": batch, "quantity": 50, "at": at(2, 8),
        "counterparty_uscc": seller.uscc, "counterparty_name": "进口商"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let receipt = v["movements"][0].as_str().unwrap().to_string();
    let time = findings(&app, &buyer.key, "?rule=time_order&status=open").await;
    assert_eq!(time.len(), 1, "{time:?}");
    assert_eq!(time[0]["movement"], receipt.as_str());
    // The buyer corrects the date: the finding is answered.
    let (s, _) = post_mv(
        &app,
        &buyer,
        json!({"kind": "receive", "batch_id": batch, "quantity": 50, "at": at(5, 15),
        "counterparty_uscc": seller.uscc, "counterparty_name": "进口商", "corrects": receipt}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        findings(&app, &buyer.key, "?rule=time_order&status=open")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_regulator_of_the_province_dismisses_a_finding_with_a_reason() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 96).await;
    let (_, batch) = app.batch(&e, "CHK-4", "11020201109104").await;
    post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 5, "at": at(2, 8)}),
    )
    .await;
    let f = findings(&app, &app.regulator, "?rule=CT-STOCK&status=open").await;
    assert_eq!(f.len(), 1, "{f:?}");
    let id = f[0]["id"].as_str().unwrap();
    let url = format!("/api/v1/findings/{id}/dismiss");
    let (s, _) = json(
        app.post(&url, &e.key, &json!({"reason": "我说没问题"}))
            .await,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an enterprise does not dismiss its own findings"
    );
    let elsewhere = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("32"),
        None,
    )
    .await;
    let (s, _) = json(app.post(&url, &elsewhere, &json!({"reason": "x"})).await).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = json(
        app.post(&url, &app.regulator, &json!({"reason": " "}))
            .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let (s, v) = json(
        app.post(
            &url,
            &app.regulator,
            &json!({"reason": "样品批次，现场核实无实物出库"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "dismissed");
    assert_eq!(v["reason"], "样品批次，现场核实无实物出库");
    assert!(
        v["closed_by"].as_str().unwrap().starts_with("regulator:12"),
        "{v}"
    );
}

#[tokio::test]
async fn imported_goods_moved_on_without_their_papers_are_a_finding_until_the_papers_come() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 97).await;
    let (_, batch) = app.batch(&e, "CHK-5", "11020201109105").await;
    post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    let (s, _) = post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 10, "at": at(2, 8)}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let open = findings(&app, &app.regulator, "?rule=four_nots&status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let msg = open[0]["message"].as_str().unwrap();
    for paper in ["检验检疫证明", "核酸检测报告", "消毒证明"] {
        assert!(msg.contains(paper), "{msg}");
    }
    assert!(!msg.contains("追溯码"), "the batch has a trace code: {msg}");
    // The papers arrive (late, as they do): the finding is resolved once all three are there.
    for (i, kind) in ["inspection_quarantine", "nucleic_acid", "disinfection"]
        .iter()
        .enumerate()
    {
        let mut doc = json!({"batch_id": batch, "kind": kind, "number": format!("DOC-{i}"), "issuer": "海关",
                             "issued_on": "2026-03-01"});
        if *kind == "nucleic_acid" {
            doc["result"] = json!("negative");
        }
        let r = app.post("/api/v1/documents", &e.key, &doc).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let still = findings(&app, &app.regulator, "?rule=four_nots&status=open").await;
        assert_eq!(still.len(), usize::from(i < 2), "after {kind}: {still:?}");
    }
    // Under reject, moving imported goods on without papers is refused.
    let strict =
        TestApp::spawn_with_checks(CheckPolicy::default().with(Rule::FourNots, Policy::Reject))
            .await;
    let e = strict.enterprise("120116", "importer", 98).await;
    let (_, batch) = strict.batch(&e, "CHK-6", "11020201109106").await;
    let (s, body) = post_mv(
        &strict,
        &e,
        json!({"kind": "ship", "batch_id": batch, "quantity": 1, "at": at(2, 8),
        "counterparty_name": "某人"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("CT-4NOT"),
        "{body}"
    );
}

#[tokio::test]
async fn under_reject_the_movement_that_takes_the_lot_short_is_named_and_a_partial_fix_is_taken() {
    let mut app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 90).await;
    let (_, batch) = app.batch(&e, "CHK-7", "11020201109107").await;
    // Under flag, the lot goes 300 short.
    post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 200, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 500, "at": at(2, 8)}),
    )
    .await;
    app.restart_with_checks(CheckPolicy::default().with(Rule::StockConservation, Policy::Reject))
        .await;
    // A receipt that leaves it less short is taken; the finding stays open until the lot balances.
    let (s, v) = post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 1, "at": at(1, 9),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let open = findings(&app, &e.key, "?rule=stock_conservation&status=open").await;
    assert_eq!(open.len(), 1);
    assert!(
        open[0]["message"].as_str().unwrap().contains("299"),
        "{open:?}"
    );
    // What makes it worse is refused, naming the movement that took goods out last.
    let (s, body) = json(
        app.post(
            "/api/v1/submissions",
            &e.key,
            &json!({"movements": [
                {"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(3, 8), "counterparty_name": "Frigorifico"},
                {"kind": "sell", "batch_id": batch, "quantity": 60, "at": at(3, 9)},
                {"kind": "sell", "batch_id": batch, "quantity": 60, "at": at(3, 10)}
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"][0]["field"], "movements[2].quantity",
        "{body}"
    );
}

#[tokio::test]
async fn one_movement_of_more_than_the_batch_and_a_year_typed_wrong_are_caught() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 89).await;
    let (_, batch) = app.batch(&e, "CHK-8", "11020201109108").await;
    let (_, b) = json(app.get(&format!("/api/v1/batches/{batch}"), &e.key).await).await;
    let declared = b["quantity"].as_f64().unwrap();
    // Receiving 99,999 of a batch declared much smaller: stored, and a finding names both figures.
    let (s, v) = post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 99999, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let wrong = v["movements"][0].as_str().unwrap().to_string();
    let f = findings(&app, &e.key, "?rule=batch_quantity&status=open").await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0]["message"].as_str().unwrap().contains("99999"), "{f:?}");
    assert!(declared < 99999.0);
    // Corrected to what arrived: the finding is answered.
    post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": declared, "at": at(1, 8),
        "counterparty_name": "Frigorifico", "corrects": wrong}),
    )
    .await;
    assert!(
        findings(&app, &e.key, "?rule=batch_quantity&status=open")
            .await
            .is_empty()
    );
    // A date before 2000 is a year typed wrong: refused like a date in the future.
    let (s, body) = post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 1,
        "at": "1900-01-01T08:00:00+08:00"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("before 2000"),
        "{body}"
    );
}

#[tokio::test]
async fn the_sweep_finds_goods_shipped_but_never_received_until_the_receipt_comes() {
    let app = TestApp::spawn().await;
    // The seller's remaining stock, unmoved since March, is not what this test looks at.
    let transit_only = CheckPolicy::default().with(Rule::DormantStock, Policy::Off);
    let seller = app.enterprise("120116", "importer", 88).await;
    let buyer = app.enterprise("120104", "wholesale_vendor", 87).await;
    let (_, batch) = app.batch(&seller, "CHK-9", "11020201109109").await;
    post_mv(
        &app,
        &seller,
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    post_mv(
        &app,
        &seller,
        json!({"kind": "ship", "batch_id": batch, "quantity": 40, "at": at(2, 8),
        "counterparty_uscc": buyer.uscc, "counterparty_name": "批发商"}),
    )
    .await;
    // A sale to a consumer (no registered receiver) is never "in transit".
    post_mv(
        &app,
        &seller,
        json!({"kind": "sell", "batch_id": batch, "quantity": 5, "at": at(2, 9)}),
    )
    .await;
    let r = coldtrace_service::platform::sweep(app.store.as_ref(), &transit_only)
        .await
        .unwrap();
    assert_eq!((r.opened, r.resolved), (1, 0), "{r:?}");
    let open = findings(&app, &seller.key, "?rule=in_transit&status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0]["message"].as_str().unwrap().contains("批发商"),
        "{open:?}"
    );
    // Sweeping again opens nothing twice.
    let r = coldtrace_service::platform::sweep(app.store.as_ref(), &transit_only)
        .await
        .unwrap();
    assert_eq!((r.opened, r.resolved), (0, 0));
    // The buyer records the receipt: the finding is resolved with that write.
    let (s, v) = post_mv(
        &app,
        &buyer,
        json!({"kind": "receive", "batch_id": batch, "quantity": 40, "at": at(2, 15),
        "counterparty_uscc": seller.uscc, "counterparty_name": "进口商"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        findings(&app, &seller.key, "?rule=in_transit&status=open")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_counterparty_of_the_province_that_is_not_registered_is_a_finding_until_it_registers() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 86).await;
    let (_, batch) = app.batch(&e, "CHK-10", "11020201109110").await;
    post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    // A Tianjin business (its USCC says so) that the platform does not know; and one of Shanghai, registered
    // on Shanghai's platform, which is not a finding here.
    let local = crate::support::uscc("120104", 85);
    let elsewhere = crate::support::uscc("310104", 85);
    for (uscc, name) in [(&local, "某批发商"), (&elsewhere, "上海某超市")] {
        let (s, v) = post_mv(
            &app,
            &e,
            json!({"kind": "ship", "batch_id": batch, "quantity": 10, "at": at(2, 8),
            "counterparty_uscc": uscc, "counterparty_name": name}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let open = findings(
        &app,
        &app.regulator,
        "?rule=unregistered_counterparty&status=open",
    )
    .await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0]["message"].as_str().unwrap().contains(&local),
        "{open:?}"
    );
    // The regulator registers it: the finding is answered.
    let (s, v) = json(
        app.post(
            "/api/v1/enterprises",
            &app.regulator,
            &json!({"uscc": local, "name": "某批发商", "kind": "wholesale_vendor", "region": "120104",
                    "contact_name": "张敏", "contact_phone": "13812345678", "self_commitment": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        findings(
            &app,
            &app.regulator,
            "?rule=unregistered_counterparty&status=open"
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn an_enterprise_answers_a_finding_with_its_record_and_the_regulator_resolves_it() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 97).await;
    let other = app.enterprise("120104", "wholesale_vendor", 98).await;
    let (_, batch) = app.batch(&e, "CHK-ANS", "11020201109197").await;
    let (_, other_batch) = app.batch(&other, "CHK-OTH", "11020201109198").await;
    post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 5, "at": at(2, 8)}),
    )
    .await;
    // A receipt of 3 recorded late: still 2 short, so the finding stays open for the enterprise to explain.
    let (s, receipt) = post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 3, "at": at(1, 8),
        "counterparty_name": "Frigorifico Exemplo S.A."}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{receipt}");
    let receipt_id = receipt["movements"][0].as_str().unwrap().to_string();
    let (_, theirs) = post_mv(
        &app,
        &other,
        json!({"kind": "receive", "batch_id": other_batch, "quantity": 3, "at": at(1, 8),
        "counterparty_name": "Frigorifico"}),
    )
    .await;
    let f = findings(&app, &e.key, "?rule=CT-STOCK&status=open").await;
    assert_eq!(f.len(), 1, "{f:?}");
    let id = f[0]["id"].as_str().unwrap();
    // Filters by the enterprise's city and kind.
    assert_eq!(
        findings(
            &app,
            &app.regulator,
            "?city=1201&kind=importer&rule=CT-STOCK"
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        findings(&app, &app.regulator, "?city=120100&rule=CT-STOCK")
            .await
            .len(),
        1
    );
    assert!(
        findings(&app, &app.regulator, "?city=1202&rule=CT-STOCK")
            .await
            .is_empty()
    );
    assert!(
        findings(&app, &app.regulator, "?kind=restaurant&rule=CT-STOCK")
            .await
            .is_empty()
    );
    let (s, v) = json(app.get("/api/v1/findings?city=12", &app.regulator).await).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("city"))
    );
    let (s, v) = json(
        app.get("/api/v1/findings?kind=bakery", &app.regulator)
            .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );

    let url = format!("/api/v1/findings/{id}/answer");
    let answer = json!({"note": "其余2件为样品，已补录收货", "record": receipt_id});
    // Only the enterprise whose ledger it is answers, and only with its own record.
    let (s, _) = json(app.post(&url, &other.key, &answer).await).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = json(app.post(&url, &app.regulator, &answer).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = json(
        app.post(
            &url,
            &e.key,
            &json!({"note": "见记录", "record": theirs["movements"][0]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("record")),
        "{v}"
    );
    let (s, v) = json(
        app.post(&url, &e.key, &json!({"note": "", "record": receipt_id}))
            .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note")),
        "{v}"
    );
    let (s, v) = json(app.post(&url, &e.key, &answer).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "answered");
    assert_eq!(v["answer"]["record"], receipt_id.as_str());
    assert_eq!(v["answer"]["note"], "其余2件为样品，已补录收货");
    // The regulator's queue of answers.
    assert_eq!(
        findings(&app, &app.regulator, "?status=answered")
            .await
            .len(),
        1
    );
    assert!(
        findings(&app, &app.regulator, "?status=open&rule=CT-STOCK")
            .await
            .is_empty()
    );

    let url = format!("/api/v1/findings/{id}/resolve");
    let (s, _) = json(app.post(&url, &e.key, &json!({"reason": "ok"})).await).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an enterprise does not resolve its own findings"
    );
    let (s, v) = json(
        app.post(
            &url,
            &app.regulator,
            &json!({"reason": "现场核实样品留存记录属实"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "resolved");
    assert!(
        v["closed_by"].as_str().unwrap().starts_with("regulator:12"),
        "{v}"
    );
    assert_eq!(
        v["answer"]["record"],
        receipt_id.as_str(),
        "the answer is kept"
    );
    // A closed finding is not answered again.
    let (s, _) = json(
        app.post(&format!("/api/v1/findings/{id}/answer"), &e.key, &answer)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn stock_that_does_not_move_is_found_by_the_sweep_until_it_moves_and_sealed_stock_is_not() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "third_party_cold_store", 71).await;
    let (_, kept) = app.batch(&e, "DORM-1", "11020201109171").await;
    let (_, sold_out) = app.batch(&e, "DORM-2", "11020201109172").await;
    let (_, sealed) = app.batch(&e, "DORM-3", "11020201109173").await;
    for (b, q) in [(&kept, 100), (&sold_out, 50), (&sealed, 30)] {
        let (s, v) = post_mv(
            &app,
            &e,
            json!({"kind": "receive", "batch_id": b, "quantity": q, "at": at(1, 8),
            "counterparty_name": "Frigorifico Exemplo S.A."}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": sold_out, "quantity": 50, "at": at(3, 8)}),
    )
    .await;
    post_mv(
        &app,
        &e,
        json!({"kind": "seal", "batch_id": sealed, "quantity": 30, "at": at(4, 8)}),
    )
    .await;
    let policy = CheckPolicy::default().with(Rule::InTransit, Policy::Off);
    let r = coldtrace_service::platform::sweep(app.store.as_ref(), &policy)
        .await
        .unwrap();
    assert_eq!((r.opened, r.resolved), (1, 0), "{r:?}");
    let open = findings(&app, &app.regulator, "?rule=dormant_stock&status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["batch"], kept.as_str());
    assert_eq!(open[0]["code"], "CT-DORMANT");
    let m = open[0]["message"].as_str().unwrap();
    assert!(m.contains("holds 100") && m.contains("2026-03-01"), "{m}");
    // A longer window (a province's choice) finds nothing.
    let mut long = policy.clone();
    long.windows.dormant_days = 3650;
    let r = coldtrace_service::platform::sweep(app.store.as_ref(), &long)
        .await
        .unwrap();
    assert_eq!(r.opened, 0);
    // Sweeping again opens nothing twice; moving the lot resolves the finding with that write.
    let r = coldtrace_service::platform::sweep(app.store.as_ref(), &policy)
        .await
        .unwrap();
    assert_eq!((r.opened, r.resolved), (0, 0));
    let yesterday = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
    let (s, v) = post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": kept, "quantity": 10, "at": yesterday.to_string()}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        findings(&app, &app.regulator, "?rule=dormant_stock&status=open")
            .await
            .is_empty()
    );
    let r = coldtrace_service::platform::sweep(app.store.as_ref(), &policy)
        .await
        .unwrap();
    assert_eq!(r.opened, 0, "moved yesterday: not dormant");
}

#[tokio::test]
async fn imported_goods_moved_on_with_a_stale_nucleic_acid_report_until_a_new_one_comes() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 72).await;
    let (_, batch) = app.batch(&e, "NAT-1", "11020201109174").await;
    let doc = |kind: &str, n: &str, on: &str| {
        let mut d = json!({"batch_id": batch, "kind": kind, "number": n, "issuer": "天津海关", "issued_on": on});
        if kind == "nucleic_acid" {
            d["result"] = json!("negative");
        }
        d
    };
    let (s, v) = json(
        app.post(
            "/api/v1/submissions",
            &e.key,
            &json!({"documents": [
                doc("inspection_quarantine", "IQ-1", "2026-01-05"),
                doc("nucleic_acid", "NA-1", "2026-01-05"),
                doc("disinfection", "DS-1", "2026-01-06"),
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    post_mv(
        &app,
        &e,
        json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": "2026-01-06T08:00:00+08:00",
        "counterparty_name": "Frigorifico Exemplo S.A."}),
    )
    .await;
    // Within 30 days of the report: nothing to find.
    post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 10, "at": "2026-02-01T08:00:00+08:00"}),
    )
    .await;
    assert!(
        findings(&app, &e.key, "?rule=stale_nucleic_acid")
            .await
            .is_empty()
    );
    // Two months later, on the same report.
    post_mv(
        &app,
        &e,
        json!({"kind": "sell", "batch_id": batch, "quantity": 10, "at": at(10, 8)}),
    )
    .await;
    let open = findings(&app, &e.key, "?rule=CT-NAT&status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let m = open[0]["message"].as_str().unwrap();
    assert!(m.contains("2026-01-05") && m.contains("64 days old"), "{m}");
    // A new report (the goods tested again) answers it.
    let (s, v) = json(
        app.post(
            "/api/v1/submissions",
            &e.key,
            &json!({"documents": [doc("nucleic_acid", "NA-2", "2026-03-09")]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        findings(&app, &e.key, "?rule=CT-NAT&status=open")
            .await
            .is_empty()
    );
    assert_eq!(
        findings(&app, &e.key, "?rule=CT-NAT&status=resolved")
            .await
            .len(),
        1
    );
}
