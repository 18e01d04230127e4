//! From a positive test to tasks and draft notices to closing the incident, over HTTP; and the trace queries.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Ent, TestApp, json};

struct Chain {
    importer: Ent,
    store: Ent,
    processor: Ent,
    market: Ent,
    batch: String,
    output: String,
}

async fn mv(app: &TestApp, e: &Ent, body: Value) {
    let r = app.post("/api/v1/movements", &e.key, &body).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}

/// Tianjin importer → Tianjin cold store → Shanghai processor (mixing with its own batch) → Shanghai market;
/// the cold store also sells to an unregistered restaurant.
async fn chain(app: &TestApp) -> Chain {
    let importer = app.enterprise("120116", "importer", 51).await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 52)
        .await;
    let processor = app.enterprise("310115", "processor", 53).await;
    let market = app.enterprise("310104", "supermarket", 54).await;
    let (_, batch) = app.batch(&importer, "BR-POS-1", "11020201101601").await;
    let at = |d: u32, h: u32| format!("2026-03-{d:02}T{h:02}:00:00+08:00");
    mv(app, &importer, json!({"kind": "receive", "batch_id": batch, "quantity": 1000, "at": at(1, 8), "counterparty_name": "Frigorifico Exemplo S.A.",
        "handlers": [{"name": "王伟", "id_no": "11010519491231002X"}]})).await;
    mv(app, &importer, json!({"kind": "ship", "batch_id": batch, "quantity": 600, "at": at(2, 8), "counterparty_uscc": store.uscc, "counterparty_name": "冷库"})).await;
    mv(app, &store, json!({"kind": "receive", "trace_code": "11020201101601", "quantity": 600, "at": at(2, 10), "counterparty_uscc": importer.uscc, "counterparty_name": "进口商"})).await;
    mv(app, &store, json!({"kind": "ship", "trace_code": "11020201101601", "quantity": 200, "at": at(3, 8), "counterparty_uscc": processor.uscc, "counterparty_name": "加工厂"})).await;
    mv(app, &store, json!({"kind": "sell", "trace_code": "11020201101601", "quantity": 100, "at": at(3, 9), "counterparty_name": "某某饭店"})).await;
    mv(app, &processor, json!({"kind": "receive", "trace_code": "11020201101601", "quantity": 200, "at": at(3, 15), "counterparty_uscc": store.uscc, "counterparty_name": "冷库"})).await;
    // The processor's own input and its output batch.
    let (pid, own) = app.batch(&processor, "OWN-1", "11020201101602").await;
    let r = app
        .post(
            "/api/v1/batches",
            &processor.key,
            &json!({"product_id": pid, "batch_no": "MIX-1", "quantity": 270, "unit": "kg",
            "trace_codes": [{"value": "11020201101603"}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let output = json(r).await.1["batches"][0].as_str().unwrap().to_string();
    mv(
        app,
        &processor,
        json!({"kind": "transform", "at": at(4, 9),
        "inputs": [{"batch_id": batch, "quantity": 200}, {"batch_id": own, "quantity": 100}],
        "outputs": [{"batch_id": output, "quantity": 270}]}),
    )
    .await;
    mv(app, &processor, json!({"kind": "ship", "batch_id": output, "quantity": 100, "at": at(5, 8), "counterparty_uscc": market.uscc, "counterparty_name": "超市",
        "handlers": [{"name": "赵敏", "phone": "13900001111"}]})).await;
    mv(app, &market, json!({"kind": "receive", "trace_code": "11020201101603", "quantity": 100, "at": at(5, 12), "counterparty_uscc": processor.uscc, "counterparty_name": "加工厂"})).await;
    mv(
        app,
        &market,
        json!({"kind": "sell", "trace_code": "11020201101603", "quantity": 30, "at": at(6, 12)}),
    )
    .await;
    Chain {
        importer,
        store,
        processor,
        market,
        batch,
        output,
    }
}

fn holder<'a>(a: &'a Value, name_part: &str) -> &'a Value {
    a["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"].as_str().unwrap().contains(name_part))
        .unwrap_or_else(|| panic!("{name_part} in {a}"))
}

fn on_hand(h: &Value, batch_no: &str) -> f64 {
    h["lots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["batch_no"] == batch_no)
        .unwrap()["on_hand"]
        .as_f64()
        .unwrap()
}

#[tokio::test]
async fn trace_queries_answer_holders_quantities_and_paths() {
    let app = TestApp::spawn().await;
    let c = chain(&app).await;
    let (s, a) = json(
        app.get(
            "/api/v1/trace?code=11020201101601&direction=both",
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let nos: Vec<&str> = a["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["batch_no"].as_str().unwrap())
        .collect();
    assert!(
        nos.contains(&"BR-POS-1") && nos.contains(&"MIX-1"),
        "{nos:?}"
    );
    assert!(
        !nos.contains(&"OWN-1"),
        "a co-input is not implicated forward: {nos:?}"
    );
    assert_eq!(on_hand(holder(&a, "测试企业51"), "BR-POS-1"), 400.0);
    assert_eq!(on_hand(holder(&a, "测试企业52"), "BR-POS-1"), 300.0);
    assert_eq!(on_hand(holder(&a, "测试企业53"), "MIX-1"), 170.0);
    assert_eq!(on_hand(holder(&a, "测试企业54"), "MIX-1"), 70.0);
    let restaurant = holder(&a, "某某饭店");
    assert_eq!(on_hand(restaurant, "BR-POS-1"), 100.0);
    assert_eq!(restaurant["lots"][0]["receipt_unconfirmed"], true);
    let market = holder(&a, "测试企业54");
    assert_eq!(market["province"], "31");
    assert_eq!(market["province_name"], "上海");
    // Tianjin's regulator sees Shanghai contacts masked, its own in full.
    assert_eq!(market["contact_phone"], "138****1234");
    assert_eq!(holder(&a, "测试企业52")["contact_phone"], "13812341234");
    let path: Vec<&str> = market["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["batch_no"].as_str().unwrap())
        .collect();
    assert_eq!(path.first(), Some(&"BR-POS-1"));
    assert_eq!(path.last(), Some(&"MIX-1"));
    assert!(a["provinces"].as_array().unwrap().len() >= 2);
    assert!(a["earliest"].is_string());
    // Backward from the market's output finds both inputs, the importer and the overseas plant.
    let (_, b) = json(
        app.get(
            &format!("/api/v1/trace?batch={}&direction=backward", c.output),
            &app.regulator,
        )
        .await,
    )
    .await;
    let sh = crate::support::TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("31"),
        None,
    )
    .await;
    let (s, b2) = json(
        app.get(
            &format!("/api/v1/trace?batch={}&direction=backward", c.output),
            &sh,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    {
        let ans = &b2;
        let nos: Vec<&str> = ans["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["batch_no"].as_str().unwrap())
            .collect();
        assert!(
            nos.contains(&"OWN-1") && nos.contains(&"BR-POS-1"),
            "{nos:?}"
        );
        holder(ans, "Frigorifico");
    }
    assert_eq!(
        b["code"], "not_found",
        "Tianjin cannot start from a batch only held in Shanghai"
    );
    // From the batch at one holder, from a person, from a place and window, from an establishment.
    let (s, lot) = json(
        app.get(
            &format!(
                "/api/v1/trace?batch={}&holder={}&direction=forward",
                c.batch, c.processor.id
            ),
            &sh,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{lot}");
    let names: Vec<&str> = lot["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("54")) && !names.iter().any(|n| n.contains("51")),
        "{names:?}"
    );
    let (s, p) = json(
        app.get("/api/v1/trace?person=13900001111&direction=forward", &sh)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert!(
        p["holders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"].as_str().unwrap().contains("54"))
    );
    let (s, w) = json(
        app.get(
            &format!(
                "/api/v1/trace?place={}&from=2026-03-02&to=2026-03-02%2023:59&direction=forward",
                c.store.id
            ),
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert!(
        w["holders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"].as_str().unwrap().contains("饭店"))
    );
    let (s, _) = json(
        app.get("/api/v1/trace?establishment=SIF1234", &app.regulator)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Exports: one row per movement, sortable.
    let csv = app
        .get(
            "/api/v1/trace?code=11020201101601&format=csv",
            &app.regulator,
        )
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("批号 batch_no"));
    assert!(lines.len() > 10, "{text}");
    let xlsx = app
        .get(
            "/api/v1/trace?code=11020201101601&format=xlsx",
            &app.regulator,
        )
        .await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    // Enterprises do not trace; bad parameters are named.
    let (s, _) = json(
        app.get("/api/v1/trace?code=11020201101601", &c.importer.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = json(
        app.get(
            "/api/v1/trace?code=11020201101601&direction=sideways",
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("direction"))
    );
    let (s, v) = json(
        app.get("/api/v1/trace?direction=forward", &app.regulator)
            .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code"))
    );
}

#[tokio::test]
async fn a_corrected_shipment_counts_once_live_and_after_a_rebuild() {
    let mut app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 61).await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 62)
        .await;
    let (_, batch) = app.batch(&importer, "BR-FIX-1", "11020201101701").await;
    mv(&app, &importer, json!({"kind": "receive", "batch_id": batch, "quantity": 246, "at": "2026-03-01T08:00:00+08:00",
        "counterparty_name": "Frigorifico Exemplo S.A."})).await;
    let r = app
        .post(
            "/api/v1/movements",
            &importer.key,
            &json!({"kind": "ship", "batch_id": batch, "quantity": 223, "at": "2026-03-02T08:00:00+08:00",
                    "counterparty_uscc": store.uscc, "counterparty_name": "冷库"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let wrong = json(r).await.1["movements"][0]
        .as_str()
        .unwrap()
        .to_string();
    // The ledger said 223; the importer corrects it to 200.
    mv(&app, &importer, json!({"kind": "ship", "batch_id": batch, "quantity": 200, "at": "2026-03-02T08:00:00+08:00",
        "counterparty_uscc": store.uscc, "counterparty_name": "冷库", "corrects": wrong})).await;
    let lot_of = |a: &Value| -> (f64, f64) {
        let l = holder(a, "测试企业61")["lots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["batch_no"] == "BR-FIX-1")
            .unwrap()
            .clone();
        (
            l["shipped"].as_f64().unwrap(),
            l["on_hand"].as_f64().unwrap(),
        )
    };
    for when in ["live", "after a rebuild"] {
        let (s, a) = json(
            app.get(
                "/api/v1/trace?code=11020201101701&direction=both",
                &app.regulator,
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{a}");
        let (shipped, on_hand) = lot_of(&a);
        assert_eq!((shipped, on_hand), (200.0, 46.0), "{when}: {a}");
        let qs: Vec<f64> = a["flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["quantity"].as_f64().unwrap())
            .collect();
        assert!(
            !qs.contains(&223.0),
            "{when}: the corrected flow is gone: {qs:?}"
        );
        let cold = &holder(&a, "测试企业62")["lots"][0];
        assert_eq!(cold["received"].as_f64(), Some(200.0), "{when}: {cold}");
        app.restart().await;
    }
}

#[tokio::test]
async fn a_lot_reached_both_ways_is_listed_once_with_both_times() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 63).await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 64)
        .await;
    let (_, batch) = app.batch(&importer, "BR-RET-1", "11020201101801").await;
    let at = |d: u32| format!("2026-03-{d:02}T08:00:00+08:00");
    mv(&app, &importer, json!({"kind": "receive", "batch_id": batch, "quantity": 500, "at": at(1), "counterparty_name": "Frigorifico Exemplo S.A."})).await;
    mv(&app, &importer, json!({"kind": "ship", "batch_id": batch, "quantity": 100, "at": at(2), "counterparty_uscc": store.uscc, "counterparty_name": "冷库"})).await;
    mv(&app, &store, json!({"kind": "receive", "batch_id": batch, "quantity": 100, "at": at(3), "counterparty_uscc": importer.uscc, "counterparty_name": "进口商"})).await;
    // The cold store sends 20 back: the importer is upstream of the cold store and, from then, downstream too.
    mv(&app, &store, json!({"kind": "return", "batch_id": batch, "quantity": 20, "at": at(4), "counterparty_uscc": importer.uscc, "counterparty_name": "进口商"})).await;
    let (s, a) = json(
        app.get(
            &format!(
                "/api/v1/trace?batch={batch}&holder={}&direction=both",
                store.id
            ),
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let imp = holder(&a, "测试企业63");
    let lots = imp["lots"].as_array().unwrap();
    assert_eq!(lots.len(), 1, "one lot, not one per direction: {imp}");
    let lot = &lots[0];
    assert_eq!(lot["forward_time"], "2026-03-04T08:00:00+08:00", "{lot}");
    // The latest time goods left it towards the start: the cold store's receipt.
    assert_eq!(lot["backward_time"], "2026-03-03T08:00:00+08:00", "{lot}");
    assert_eq!(imp["on_hand"], lot["on_hand"], "on hand is counted once");
    assert_eq!(lot["on_hand"].as_f64(), Some(400.0), "{lot}");
}

#[tokio::test]
async fn a_positive_processed_product_orders_tasks_for_the_remaining_stock_of_every_input() {
    let app = TestApp::spawn().await;
    let c = chain(&app).await;
    // Positive on the Shanghai processor's mixed output, registered by Shanghai's regulator.
    let shanghai = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("31"),
        None,
    )
    .await;
    let (s, inc) = json(
        app.post(
            "/api/v1/incidents",
            &shanghai,
            &json!({"kind": "batch_sample", "code": "11020201101603", "positive_at": "2026-03-07T09:00:00+08:00"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{inc}");
    let tasks = inc["tasks"].as_array().unwrap();
    let on_hand = |name: &str, batch_no: &str| -> Option<f64> {
        tasks
            .iter()
            .find(|t| {
                t["holder_name"].as_str().unwrap().contains(name) && t["batch_no"] == batch_no
            })
            .map(|t| t["on_hand"].as_f64().unwrap())
    };
    // Downstream of the sample, as before.
    assert_eq!(on_hand("53", "MIX-1"), Some(170.0), "{tasks:?}");
    assert_eq!(on_hand("54", "MIX-1"), Some(70.0), "{tasks:?}");
    // Upstream: the input's remaining stock at the importer and the cold store, and what the cold store sold on.
    assert_eq!(on_hand("51", "BR-POS-1"), Some(400.0), "{tasks:?}");
    assert_eq!(on_hand("52", "BR-POS-1"), Some(300.0), "{tasks:?}");
    assert_eq!(on_hand("饭店", "BR-POS-1"), Some(100.0), "{tasks:?}");
    // Every province concerned gets a notice: Tianjin holds the input, Shanghai the product.
    let provinces: Vec<&str> = inc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["to_province"].as_str().unwrap())
        .collect();
    assert!(
        provinces.contains(&"12") && provinces.contains(&"31"),
        "{provinces:?}"
    );
    // Every line carries what the notice lists: food, batch, quantity, date, seller and the seller's contact.
    let lines: Vec<&Value> = inc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["lines"].as_array().unwrap())
        .collect();
    for l in &lines {
        // The processor consumed its own OWN-1 without ever recording where it came from: the platform does not
        // know that line's seller or date (a ledger fault for the checks), and invents none.
        if l["batch_no"] == "OWN-1" {
            assert_eq!(l["seller"], "", "{l}");
            continue;
        }
        for f in ["food_name", "batch_no", "unit", "seller", "holder"] {
            assert!(!l[f].as_str().unwrap_or("").is_empty(), "{f} in {l}");
        }
        assert!(l["quantity_milli"].as_i64().unwrap() > 0, "{l}");
        assert_eq!(l["sale_dates"].as_array().unwrap().len(), 1, "{l}");
    }
    let line = |holder: &str, batch_no: &str| {
        *lines
            .iter()
            .find(|l| l["holder"].as_str().unwrap().contains(holder) && l["batch_no"] == batch_no)
            .unwrap_or_else(|| panic!("{holder} {batch_no} in {lines:?}"))
    };
    let import = line("51", "BR-POS-1");
    assert_eq!(import["date_kind"], "import", "{import}");
    assert_eq!(import["seller"], "Frigorifico Exemplo S.A.");
    assert_eq!(import["sale_dates"][0], "2026-03-01T08:00:00+08:00");
    let bought = line("52", "BR-POS-1");
    assert_eq!(
        (bought["date_kind"].as_str(), bought["seller"].as_str()),
        (Some("sale"), Some("测试企业51"))
    );
    assert!(
        bought["seller_contact"].as_str().unwrap().contains("138"),
        "{bought}"
    );
    assert_eq!(bought["seller_uscc"], c.importer.uscc.as_str());
    let made = line("53", "MIX-1");
    assert_eq!(made["date_kind"], "production", "{made}");
    assert_eq!(made["seller"], "测试企业53");
    assert_eq!(made["sale_dates"][0], "2026-03-04T09:00:00+08:00");
    // Sampled at the supermarket: the holder is noted, the whole batch is still implicated.
    let (s, at) = json(
        app.post(
            "/api/v1/incidents",
            &shanghai,
            &json!({"kind": "batch_sample", "code": "11020201101603", "enterprise_id": c.market.id,
                    "positive_at": "2026-03-07T10:00:00+08:00"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{at}");
    assert!(
        at["subject"].as_str().unwrap().contains("测试企业54"),
        "{}",
        at["subject"]
    );
    let holders: Vec<&str> = at["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["holder_name"].as_str().unwrap())
        .collect();
    assert!(
        holders.iter().any(|h| h.contains("53")),
        "the maker's stock too: {holders:?}"
    );
    assert_eq!(at["tasks"].as_array().unwrap().len(), tasks.len());
}

#[tokio::test]
async fn a_large_trace_comes_in_pages_that_add_up_to_the_whole() {
    let app = TestApp::spawn().await;
    let _c = chain(&app).await;
    let url =
        "/api/v1/trace?code=11020201101601&direction=both&people=true&purpose=%E5%A4%84%E7%BD%AE";
    let (s, whole) = json(app.get(url, &app.regulator).await).await;
    assert_eq!(s, StatusCode::OK, "{whole}");
    let total = whole["page"]["holders_total"].as_u64().unwrap() as usize;
    assert_eq!(whole["holders"].as_array().unwrap().len(), total);
    assert!(total >= 5, "{whole}");
    assert_eq!(whole["page"]["next_offset"], Value::Null);
    // Two at a time: every list comes whole over the pages, in the same order, each item once.
    let mut lists: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let (s, p) = json(
            app.get(&format!("{url}&limit=2&offset={offset}"), &app.regulator)
                .await,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        pages += 1;
        for name in ["holders", "batches", "flows", "people"] {
            let items = p[name].as_array().unwrap();
            assert!(items.len() <= 2, "{name}: {}", items.len());
            lists.entry(name).or_default().extend(items.iter().cloned());
        }
        assert_eq!(p["page"]["holders_total"], whole["page"]["holders_total"]);
        match p["page"]["next_offset"].as_u64() {
            Some(n) => offset = n as usize,
            None => break,
        }
        assert!(pages < 100, "paging does not end");
    }
    let longest = ["holders", "batches", "flows", "people"]
        .iter()
        .map(|n| whole[*n].as_array().unwrap().len())
        .max()
        .unwrap();
    assert_eq!(pages, longest.div_ceil(2));
    for (name, items) in &lists {
        assert_eq!(&whole[*name].as_array().unwrap()[..], &items[..], "{name}");
    }
    // A page larger than the cap, or empty, is refused naming the field.
    for bad in ["limit=0", "limit=5001"] {
        let (s, v) = json(app.get(&format!("{url}&{bad}"), &app.regulator).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["field"], "limit", "{v}");
    }
}

#[tokio::test]
async fn a_positive_test_becomes_tasks_and_notices_followed_to_closure() {
    let app = TestApp::spawn().await;
    let c = chain(&app).await;
    let (s, inc) = json(
        app.post(
            "/api/v1/incidents",
            &app.regulator,
            &json!({"kind": "batch_sample", "code": "11020201101601", "positive_at": "2026-03-07T09:00:00+08:00", "note": "外包装阳性"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    assert_eq!(inc["status"], "open");
    let tasks = inc["tasks"].as_array().unwrap();
    let task_of = |name: &str, batch_no: &str| {
        tasks
            .iter()
            .find(|t| {
                t["holder_name"].as_str().unwrap().contains(name) && t["batch_no"] == batch_no
            })
            .unwrap_or_else(|| panic!("task {name} {batch_no} in {tasks:?}"))
            .clone()
    };
    assert_eq!(task_of("51", "BR-POS-1")["on_hand"], 400.0);
    assert_eq!(task_of("52", "BR-POS-1")["on_hand"], 300.0);
    assert_eq!(task_of("53", "MIX-1")["on_hand"], 170.0);
    assert_eq!(task_of("54", "MIX-1")["on_hand"], 70.0);
    assert_eq!(task_of("饭店", "BR-POS-1")["on_hand"], 100.0);
    assert!(tasks.iter().all(|t| t["batch_no"] != "OWN-1"));
    assert!(
        !tasks
            .iter()
            .any(|t| t["holder_name"].as_str().unwrap().contains("53")
                && t["batch_no"] == "BR-POS-1"),
        "consumed: nothing on hand"
    );
    assert_eq!(inc["outstanding"], 1040.0);
    // A draft notice per affected province, with the facts a notice carries.
    let notices = inc["notices"].as_array().unwrap();
    let provinces: Vec<&str> = notices
        .iter()
        .map(|n| n["to_province"].as_str().unwrap())
        .collect();
    assert_eq!(provinces, vec!["12", "31"]);
    let sh = &notices[1];
    let line = sh["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["holder"].as_str().unwrap().contains("54"))
        .unwrap();
    assert_eq!(line["food_name"], "冷冻去骨牛肉");
    assert_eq!(line["batch_no"], "MIX-1");
    assert_eq!(line["quantity_milli"], 100_000);
    assert!(line["seller"].as_str().unwrap().contains("53"));
    assert_eq!(line["contact"], "王伟 13812341234");
    assert!(!line["sale_dates"].as_array().unwrap().is_empty());

    // The market (an enterprise) sees its own task only and reports on it.
    let (s, mine) = json(
        app.get(&format!("/api/v1/incidents/{id}"), &c.market.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(mine["tasks"].as_array().unwrap().len(), 1);
    assert!(mine["notices"].as_array().unwrap().is_empty() && mine["trace"].is_null());
    let market_task = task_of("54", "MIX-1")["id"].as_str().unwrap().to_string();
    let store_task = task_of("52", "BR-POS-1")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = |t: &str| format!("/api/v1/incidents/{id}/tasks/{t}");
    let (s, v) = json(
        app.post(
            &url(&market_task),
            &c.market.key,
            &json!({"status": "done", "action": "destroy", "quantity": 80}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
        "more than on hand"
    );
    let (s, _) = json(
        app.post(
            &url(&store_task),
            &c.market.key,
            &json!({"status": "done", "action": "seal", "quantity": 300}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not its task");
    let (s, v) = json(
        app.post(
            &url(&market_task),
            &c.market.key,
            &json!({"status": "in_progress", "action": "seal", "quantity": 50}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = json(
        app.post(
            &url(&market_task),
            &c.market.key,
            &json!({"status": "done", "action": "destroy", "quantity": 20}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tasks"][0]["outstanding"], 0.0);
    let (s, _) = json(
        app.post(
            &url(&store_task),
            &c.store.key,
            &json!({"status": "done", "action": "seal", "quantity": 300}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Not everything is accounted for: closing needs a reason.
    let (s, v) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/close"),
            &app.regulator,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
        "{v}"
    );
    // Shanghai's regulator was notified: it sees the incident and reports for its holder.
    let sh_key = crate::support::TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("31"),
        None,
    )
    .await;
    let proc_task = task_of("53", "MIX-1")["id"].as_str().unwrap().to_string();
    let (s, _) = json(
        app.post(
            &url(&proc_task),
            &sh_key,
            &json!({"status": "done", "action": "destroy", "quantity": 170}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Tianjin accounts for the rest: the importer returns to origin; the unregistered restaurant recalls.
    for (name, action, q) in [("51", "return_to_origin", 400), ("饭店", "recall", 100)] {
        let t = task_of(name, "BR-POS-1")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, v) = json(
            app.post(
                &url(&t),
                &app.regulator,
                &json!({"status": "done", "action": action, "quantity": q}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let notice = notices[1]["id"].as_str().unwrap();
    let (s, v) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/notices/{notice}/sent"),
            &app.regulator,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["notices"][1]["sent"], true);
    let (s, v) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/close"),
            &app.regulator,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "closed");
    assert_eq!(v["outstanding"], 0.0);
    let kinds: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "task_update").count(), 6);
    assert_eq!(kinds.last(), Some(&"closed"));
    // Closed means closed; the trace kept is the one at registration.
    let (s, _) = json(
        app.post(
            &url(&market_task),
            &c.market.key,
            &json!({"status": "done", "action": "destroy", "quantity": 0}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(v["trace"]["holders"].as_array().unwrap().len() >= 5);
    // Who may see it: not an uninvolved enterprise, not a province that was not notified.
    let gd = crate::support::TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("44"),
        None,
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/v1/incidents/{id}"), &gd)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, list) = json(app.get("/api/v1/incidents", &sh_key).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn each_party_sees_only_its_part_of_an_incident() {
    let app = TestApp::spawn().await;
    let c = chain(&app).await;
    let (s, inc) = json(
        app.post(
            "/api/v1/incidents",
            &app.regulator,
            &json!({"kind": "batch_sample", "code": "11020201101601", "positive_at": "2026-03-07T09:00:00+08:00", "note": "外包装阳性，内部研判"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    let task_of = |e: &Ent| {
        inc["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["holder"] == e.id.as_str() || t["enterprise"] == e.id.as_str())
            .map(|t| t["id"].as_str().unwrap().to_string())
    };
    let store_task = task_of(&c.store).expect("a task for the cold store");
    let (s, v) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/tasks/{store_task}"),
            &c.store.key,
            &json!({"status": "in_progress", "action": "seal", "quantity": 100, "note": "冷库已封存100箱"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/notes"),
            &app.regulator,
            &json!({"text": "研判：来源疑似进口环节"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // The market sees its own task, none of the cold store's report, no note.
    let (s, mine) = json(
        app.get(&format!("/api/v1/incidents/{id}"), &c.market.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let text = mine.to_string();
    assert!(
        !text.contains("冷库已封存") && !text.contains("研判") && !text.contains("内部研判"),
        "{mine}"
    );
    assert!(
        mine["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != store_task.as_str())
    );
    let own: f64 = mine["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["outstanding"].as_f64().unwrap())
        .sum();
    assert_eq!(mine["outstanding"].as_f64().unwrap(), own);

    // Shanghai's regulator, notified, sees its own notice only and cannot mark Tianjin's sent, nor add notes.
    let sh = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("31"),
        None,
    )
    .await;
    let (s, seen) = json(app.get(&format!("/api/v1/incidents/{id}"), &sh).await).await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    let notices = seen["notices"].as_array().unwrap();
    assert!(
        !notices.is_empty() && notices.iter().all(|n| n["to_province"] == "31"),
        "{seen}"
    );
    assert!(!seen.to_string().contains("研判："), "{seen}");
    let tianjin_notice = inc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["to_province"] == "12")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/notices/{tianjin_notice}/sent"),
            &sh,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = json(
        app.post(
            &format!("/api/v1/incidents/{id}/notes"),
            &sh,
            &json!({"text": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
