//! Customs data and the cross-check, over HTTP: a customs key feeds declarations (JSON and a CSV file), the
//! importers' batches are checked against them, decoys make exactly their findings, records put them right, and
//! each party sees only its own.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Ent, TestApp, day, json};
use coldtrace_domain::Role;

fn declaration(no: &str, consignee: &str, on: &str, cert: &str, kg: i64, container: &str) -> Value {
    json!({"declaration_no": no, "port": "天津新港", "declared_on": on, "consignee_uscc": consignee,
           "certificate_nos": [cert],
           "lines": [{"hs_code": "0202300090", "product": "冷冻去骨牛肉", "origin_country": "BR",
                      "establishment_no": "SIF1234", "quantity": 1000, "unit": "carton", "net_weight_kg": kg,
                      "containers": [container], "seals": ["SL00000001"]}]})
}

/// An imported batch of `e` under declaration `no`.
async fn batch(
    app: &TestApp,
    e: &Ent,
    no: &str,
    batch_no: &str,
    kg: i64,
    container: &str,
    cert: &str,
) -> String {
    let pid = uuid::Uuid::now_v7().to_string();
    let r = app
        .post(
            "/api/v1/submissions",
            &e.key,
            &json!({
                "products": [{"id": pid, "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat", "origin_country": "BR",
                              "establishment_no": "SIF1234", "hs_code": "0202300090"}],
                "batches": [{"product_id": pid, "batch_no": batch_no, "quantity": 1000, "unit": "carton",
                             "net_weight_kg": kg, "declaration_no": no, "inspection_cert_no": cert,
                             "container_no": container, "seal_no": "SL00000001", "import_date": day(-1)}]
            }),
        )
        .await;
    let (s, v) = json(r).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["batches"][0].as_str().unwrap().to_string()
}

async fn findings(app: &TestApp, key: &str) -> Vec<Value> {
    let (s, v) = json(
        app.get("/api/v1/findings?status=open&limit=1000", key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// `(code, declaration)` of each customs finding, sorted.
fn customs_findings(items: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("CT-CUS"))
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["declaration"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_customs_feed_with_decoys_makes_exactly_their_findings() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 31).await;
    let customs = TestApp::key(&app.store, Role::Customs, Some("12"), None).await;
    // Four batches: one as declared, one 10% heavier, one in a container not declared, one naming a declaration
    // customs never sent.
    let ok = batch(
        &app,
        &importer,
        "020220261000000001",
        "OK-1",
        20000,
        "MSCU1234566",
        "CERT0001",
    )
    .await;
    let heavy = batch(
        &app,
        &importer,
        "020220261000000002",
        "HEAVY-1",
        22000,
        "MSCU1234566",
        "CERT0002",
    )
    .await;
    let boxed = batch(
        &app,
        &importer,
        "020220261000000003",
        "BOX-1",
        20000,
        "TGHU7654320",
        "CERT0003",
    )
    .await;
    let stray = batch(
        &app,
        &importer,
        "020220261000000099",
        "STRAY-1",
        20000,
        "MSCU1234566",
        "CERT0099",
    )
    .await;
    // No customs data yet: nothing to compare with, nothing found.
    assert_eq!(
        customs_findings(&findings(&app, &app.regulator).await),
        vec![]
    );

    // Customs sends four declarations; the fourth, declared a month ago, nobody recorded.
    let u = importer.uscc.as_str();
    let feed = json!({"declarations": [
        // Declared today: the feed of customs office 0202 covers every batch imported until today.
        declaration("020220261000000001", u, &day(0), "CERT0001", 20000, "MSCU1234566"),
        declaration("020220261000000002", u, &day(-2), "CERT0002", 20000, "MSCU1234566"),
        declaration("020220261000000003", u, &day(-2), "CERT0003", 20000, "MSCU1234566"),
        declaration("020220261000000004", u, &day(-30), "CERT0004", 20000, "OOLU8888889"),
    ]});
    let (s, r) = json(
        app.post("/api/v1/customs/declarations", &customs, &feed)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["stored"].as_u64(), r["opened"].as_u64()),
        (Some(4), Some(4)),
        "{r}"
    );
    let want = vec![
        ("CT-CUS-DIFF".to_string(), "020220261000000002".to_string()),
        ("CT-CUS-DIFF".to_string(), "020220261000000003".to_string()),
        (
            "CT-CUS-UNKNOWN".to_string(),
            "020220261000000099".to_string(),
        ),
        (
            "CT-CUS-VANISH".to_string(),
            "020220261000000004".to_string(),
        ),
    ];
    let items = findings(&app, &app.regulator).await;
    assert_eq!(customs_findings(&items), want);
    let msg = |d: &str| {
        items
            .iter()
            .find(|f| f["declaration"] == d)
            .map(|f| f["message"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(
        msg("020220261000000002").contains("net weight 22000 kg, declared 20000 kg"),
        "{items:?}"
    );
    assert!(
        msg("020220261000000003").contains("container TGHU7654320 is not on declaration"),
        "{items:?}"
    );
    let on = |b: &str| items.iter().any(|f| f["batch"] == b);
    assert!(on(&heavy) && on(&boxed) && on(&stray) && !on(&ok));
    // The importer sees them in its own list too.
    assert_eq!(customs_findings(&findings(&app, &importer.key).await), want);
    // Customs reads the findings about what it sent, not the one about a declaration it never sent.
    assert_eq!(
        customs_findings(&findings(&app, &customs).await),
        vec![want[0].clone(), want[1].clone(), want[3].clone()]
    );

    // The same feed again changes nothing.
    let (s, r) = json(
        app.post("/api/v1/customs/declarations", &customs, &feed)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["unchanged"].as_u64(),
            r["opened"].as_u64(),
            r["resolved"].as_u64()
        ),
        (Some(4), Some(0), Some(0))
    );

    // The importer corrects the heavy batch's weight: the finding is resolved by the write itself.
    let (_, b) = json(
        app.get(&format!("/api/v1/batches/{heavy}"), &importer.key)
            .await,
    )
    .await;
    let fixed = json!({"corrects": heavy, "product_id": b["product"], "batch_no": "HEAVY-1", "quantity": 1000,
        "unit": "carton", "net_weight_kg": 20000, "declaration_no": "020220261000000002",
        "inspection_cert_no": "CERT0002", "container_no": "MSCU1234566", "seal_no": "SL00000001",
        "import_date": day(-1)});
    let (s, v) = json(
        app.post(
            "/api/v1/submissions",
            &importer.key,
            &json!({"batches": [fixed]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let left = customs_findings(&findings(&app, &app.regulator).await);
    assert_eq!(left, want[1..].to_vec());

    // The importer corrects the product of the batch as declared to another origin: a difference, opened by the
    // write; correcting that correction back puts it right (the chain of corrections is followed).
    let (_, b) = json(
        app.get(&format!("/api/v1/batches/{ok}"), &importer.key)
            .await,
    )
    .await;
    let mut current = b["product"].as_str().unwrap().to_string();
    for (origin, goods_findings) in [("AR", 1), ("BR", 0)] {
        let id = uuid::Uuid::now_v7().to_string();
        let (s, v) = json(
            app.post(
                "/api/v1/submissions",
                &importer.key,
                &json!({"products": [{"id": id, "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat",
                    "origin_country": origin, "establishment_no": "SIF1234", "hs_code": "0202300090",
                    "corrects": current}]}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        current = id;
        let n = findings(&app, &app.regulator)
            .await
            .iter()
            .filter(|f| f["batch"] == ok.as_str() && f["code"] == "CT-CUS-DIFF")
            .count();
        assert_eq!(n, goods_findings, "origin {origin}");
    }

    // Customs amends the third declaration to name the container: its finding is resolved by the feed.
    let amended = json!({"declarations": [
        declaration("020220261000000003", u, &day(-2), "CERT0003", 20000, "TGHU7654320")]});
    let (_, r) = json(
        app.post("/api/v1/customs/declarations", &customs, &amended)
            .await,
    )
    .await;
    assert_eq!(
        (r["replaced"].as_u64(), r["resolved"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(
        customs_findings(&findings(&app, &app.regulator).await),
        want[2..].to_vec()
    );
}

#[tokio::test]
async fn customs_data_is_customs_own_and_bad_feeds_name_the_field() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 41).await;
    let other = app.enterprise("120104", "importer", 42).await;
    let customs = TestApp::key(&app.store, Role::Customs, Some("12"), None).await;
    let u = importer.uscc.as_str();
    let feed = json!({"declarations": [declaration("020220261000000011", u, &day(-2), "CERT0011", 20000, "MSCU1234566")]});
    // Only customs sends customs data.
    for key in [&app.regulator, &importer.key] {
        let (s, v) = json(app.post("/api/v1/customs/declarations", key, &feed).await).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    // Customs does not submit records.
    let (s, _) = json(
        app.post("/api/v1/submissions", &customs, &json!({"batches": []}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Every wrong field by its path, and nothing stored.
    let mut bad = feed.clone();
    bad["declarations"][0]["lines"][0]["net_weight_kg"] = json!(0);
    bad["declarations"][0]["consignee_uscc"] = json!("91120116MA05XXXX0B");
    bad["declarations"]
        .as_array_mut()
        .unwrap()
        .push(feed["declarations"][0].clone());
    let (s, v) = json(
        app.post("/api/v1/customs/declarations", &customs, &bad)
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
    assert!(
        fields.contains(&"declarations[0].lines[0].net_weight_kg"),
        "{v}"
    );
    assert!(fields.contains(&"declarations[0].consignee_uscc"), "{v}");
    let (_, page) = json(app.get("/api/v1/customs/declarations", &customs).await).await;
    assert_eq!(page["items"], json!([]), "nothing half-written");

    let (s, _) = json(
        app.post("/api/v1/customs/declarations", &customs, &feed)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Who reads a declaration: customs, its province's regulator and the consignee; not another enterprise.
    let path = "/api/v1/customs/declarations/020220261000000011";
    for (key, want) in [
        (&customs, StatusCode::OK),
        (&app.regulator, StatusCode::OK),
        (&importer.key, StatusCode::OK),
        (&other.key, StatusCode::NOT_FOUND),
        (&app.admin, StatusCode::FORBIDDEN),
    ] {
        assert_eq!(app.get(path, key).await.status(), want, "{key}");
    }
    let (_, page) = json(app.get("/api/v1/customs/declarations", &other.key).await).await;
    assert_eq!(page["items"], json!([]));
    let zhejiang = TestApp::key(&app.store, Role::Regulator, Some("33"), None).await;
    assert_eq!(
        app.get(path, &zhejiang).await.status(),
        StatusCode::NOT_FOUND
    );
    // Another province's customs cannot take the declaration over, nor change it.
    let shanghai = TestApp::key(&app.store, Role::Customs, Some("31"), None).await;
    let mut taken = feed.clone();
    taken["declarations"][0]["lines"][0]["quantity"] = json!(1);
    let (s, v) = json(
        app.post("/api/v1/customs/declarations", &shanghai, &taken)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["field"], "declarations[0].declaration_no", "{v}");
    let (_, d) = json(app.get(path, &customs).await).await;
    assert_eq!(
        (
            d["province"].as_str(),
            d["record"]["lines"][0]["quantity"].as_i64()
        ),
        (Some("12"), Some(1000))
    );
    assert_eq!(
        app.get(path, &shanghai).await.status(),
        StatusCode::NOT_FOUND
    );
    // A declaration dated in the future is a typing error.
    let mut future = feed.clone();
    future["declarations"][0]["declaration_no"] = json!("020220261000000012");
    future["declarations"][0]["declared_on"] = json!(day(30));
    let (s, v) = json(
        app.post("/api/v1/customs/declarations", &customs, &future)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "declarations[0].declared_on", "{v}");
}

#[tokio::test]
async fn a_feed_file_groups_lines_by_declaration_and_names_rows() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 51).await;
    let customs = TestApp::key(&app.store, Role::Customs, Some("12"), None).await;
    let u = &importer.uscc;
    let head = "报关单号,入境口岸,申报日期,收货人统一社会信用代码,检验检疫证明编号,商品编码,商品名称,原产国,数量,单位,净重,集装箱号,封志号";
    let on = day(-3);
    let good = format!(
        "{head}\n020220261000000021,天津新港,{on},{u},CERT0021,0202300090,冷冻去骨牛肉,BR,1000,箱,20000,MSCU1234566;TGHU7654320,SL01\n\
         020220261000000021,天津新港,{on},{u},,0306171900,冷冻虾,EC,500,箱,\"10,000\",MSCU1234566,SL01\n\
         020220261000000022,天津新港,{on},{u},CERT0022,0202300090,冷冻去骨牛肉,AR,800,箱,16000,OOLU8888889,SL02\n"
    );
    // A row with an unknown country and a bad date: nothing stored, each named by row and column.
    let bad = good
        .replace(",EC,", ",XX,")
        .replace(&format!("022,天津新港,{on}"), "022,天津新港,2026-02-30");
    let post = |body: String| {
        app.post_file(
            "/api/v1/customs/declarations/import",
            &customs,
            "text/csv",
            body,
        )
    };
    let (s, r) = json(post(bad).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let errs: Vec<(u64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(errs, vec![(3, "原产国"), (4, "申报日期")], "{r}");
    let (s, r) = json(post(good).await).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["rows"].as_u64(), r["declarations"].as_u64()),
        (Some(3), Some(2)),
        "{r}"
    );
    let (_, d) = json(
        app.get("/api/v1/customs/declarations/020220261000000021", &customs)
            .await,
    )
    .await;
    let lines = d["record"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{d}");
    assert_eq!(
        lines[0]["containers"],
        json!(["MSCU1234566", "TGHU7654320"])
    );
    assert_eq!(lines[1]["net_weight_kg"], json!(10000));
}
