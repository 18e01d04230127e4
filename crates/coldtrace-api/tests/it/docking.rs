//! The national platform's docking interface over HTTP: client credentials, versions, sequence order,
//! idempotency, a province running another system through its adapter, notices by long poll, and a commander's
//! decision on a link.

use coldtrace_store::prelude::*;
use std::sync::Arc;

use coldtrace_api::AppState;
use coldtrace_domain::Role;
use coldtrace_national::adapter::FieldMap;
use coldtrace_service::credentials::hash_key;
use coldtrace_service::national::National;
use coldtrace_service::{Platform, PlatformConfig, Tier};
use coldtrace_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, uscc};

pub struct Nat {
    pub base: String,
    http: reqwest::Client,
    store: Arc<SqliteStore>,
    pub commander: String,
    _dir: tempfile::TempDir,
}

fn adapter() -> FieldMap {
    serde_json::from_value(json!({
        "province": "44", "scheme": "gs1", "type_field": "jllx",
        "types": {"PC": "batch", "RK": "inflow", "QY": "enterprise"},
        "fields": {"batch": "pch_id", "code": "zsm", "product": "spmc", "batch_no": "pch", "quantity": "sl",
                   "unit": "dw", "seller_uscc": "mfdm", "buyer_uscc": "gfdm", "time": "sj", "movement": "lsh",
                   "uscc": "tyshxydm", "name": "qymc"}
    }))
    .unwrap()
}

impl Nat {
    pub async fn spawn() -> Nat {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("coldtrace.sqlite")).unwrap());
        for p in ["12", "44"] {
            store
                .put_docking_client(
                    format!("province-{p}"),
                    p.into(),
                    hash_key(&format!("secret-of-province-{p}")),
                )
                .await
                .unwrap();
        }
        let commander = TestApp::key(
            &(store.clone() as Arc<dyn Store>),
            Role::National,
            None,
            None,
        )
        .await;
        let platform = Platform::start(
            store.clone() as Arc<dyn Store>,
            PlatformConfig {
                adapters: vec![adapter()],
                ..PlatformConfig::new(Tier::National)
            },
        )
        .await
        .unwrap();
        let base = crate::support::serve(AppState::with_limits(
            Arc::new(platform),
            coldtrace_api::limits::RateLimits::unlimited(),
        ))
        .await;
        Nat {
            base,
            http: reqwest::Client::new(),
            store,
            commander,
            _dir: dir,
        }
    }

    pub async fn send(&self, province: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(
                format!("province-{province}"),
                Some(format!("secret-of-province-{province}")),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.commander)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    async fn notices(&self, province: &str, wait_ms: u64) -> Vec<Value> {
        let r = self
            .http
            .get(format!(
                "{}/docking/v1/notices?after=0&wait_ms={wait_ms}",
                self.base
            ))
            .basic_auth(
                format!("province-{province}"),
                Some(format!("secret-of-province-{province}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Vec<Value>>().await.unwrap()
    }
}

pub fn env(seq: u64, body: Value) -> Value {
    let mut m = body;
    m["id"] = json!(Uuid::now_v7());
    m["seq"] = json!(seq);
    m["recorded_at_ms"] = json!(1_700_000_000_000_i64);
    m
}

#[tokio::test]
async fn provinces_dock_in_order_once_and_a_foreign_system_through_its_adapter() {
    let nat = Nat::spawn().await;
    let importer = uscc("120116", 71);
    let buyer = uscc("440106", 72);

    // Wrong secret: 401 with a Basic challenge, nothing read.
    let r = nat
        .http
        .post(format!("{}/docking/v1/messages", nat.base))
        .basic_auth("province-12", Some("not-the-secret"))
        .json(&json!({"version": "1", "province": "12", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_some());

    let batch = json!({"type": "batch", "batch": "tj-1", "codes": [{"scheme": "url", "value": "http://trace.tj.example/t/12000000000001"}],
        "product": "冻牛腩", "gtin": "07891234567895", "batch_no": "BR1", "owner_uscc": importer,
        "origin_country": "BR", "inspection_cert_no": null, "declaration_no": null, "port_of_entry": null,
        "import_date": null, "quantity_milli": 1_000_000, "unit": "kg"});
    let outflow = json!({"type": "outflow", "movement": "m1", "batch": "tj-1", "product": "冻牛腩",
        "seller_uscc": importer, "seller_name": "天津进口商", "buyer_uscc": buyer, "buyer_name": "广州批发商",
        "other_province": "44", "quantity_milli": 200_000, "unit": "kg", "at_ms": 1_700_000_000_000_i64});
    let msgs = vec![env(1, batch.clone()), env(2, outflow)];

    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "2", "province": "12", "messages": msgs}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "version");
    let (s, _) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "13", "messages": msgs}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "credentials of 12 cannot speak for 13"
    );
    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "12", "messages": [msgs[1].clone()]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        (v["expected_seq"].as_u64(), v["got_seq"].as_u64()),
        (Some(1), Some(2))
    );
    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "12", "messages": msgs}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"accepted": 2, "duplicates": 0, "next_seq": 3}));
    // The same messages again: no effect, same position.
    let (_, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "12", "messages": msgs}),
        )
        .await;
    assert_eq!(v, json!({"accepted": 0, "duplicates": 2, "next_seq": 3}));
    // The province in its six-digit form is the same province.
    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "120000", "messages": msgs}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"accepted": 0, "duplicates": 2, "next_seq": 3}));

    // Guangdong runs another system: its records keep their own field names and GS1 codes.
    let bad = json!({"records": [
        {"jllx": "PC", "pch_id": "gd-9", "zsm": "https://id.gs1.org/01/07891234567895/10/BR1", "spmc": "冻牛腩", "pch": "BR1", "sl": "200", "dw": "kg"},
        {"jllx": "PC", "pch_id": "gd-10", "zsm": "12345", "spmc": "冻牛腩", "sl": "1"}
    ]});
    let before = nat.get("/api/v1/national/overview").await;
    let (s, v) = nat.send("44", "/docking/v1/foreign/records", bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "records[1].zsm", "{v}");
    assert_eq!(
        nat.get("/api/v1/national/overview").await["counts"],
        before["counts"],
        "all or nothing"
    );
    // A mapped record passes the same checks as a native message: a 1 MB product name is refused, named by
    // the foreign field it came from.
    let huge = json!({"records": [
        {"jllx": "PC", "pch_id": "gd-11", "zsm": "https://id.gs1.org/01/07891234567895/10/BR2", "spmc": "牛".repeat(1 << 20), "pch": "BR2", "sl": "1", "dw": "kg"}
    ]});
    let (s, v) = nat.send("44", "/docking/v1/foreign/records", huge).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "records[0].spmc", "{v}");
    let good = json!({"records": [
        {"jllx": "QY", "tyshxydm": buyer, "qymc": "广州批发商"},
        {"jllx": "PC", "pch_id": "gd-9", "zsm": "https://id.gs1.org/01/07891234567895/10/BR1", "spmc": "冻牛腩", "pch": "BR1", "sl": "200", "dw": "kg"},
        {"jllx": "RK", "lsh": "gd-r1", "pch_id": "gd-9", "spmc": "冻牛腩", "mfdm": importer, "gfdm": buyer, "sl": "200", "dw": "kg", "sj": "2023-11-15 08:00:00"}
    ]});
    let (s, v) = nat
        .send("44", "/docking/v1/foreign/records", good.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"accepted": 3, "duplicates": 0, "next_seq": 4}));
    let (_, v) = nat.send("44", "/docking/v1/foreign/records", good).await;
    assert_eq!(
        v,
        json!({"accepted": 0, "duplicates": 3, "next_seq": 4}),
        "a record resent is the same record"
    );
    let (s, _) = nat
        .send("12", "/docking/v1/foreign/records", json!({"records": []}))
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "province 12 has no adapter: it speaks the protocol"
    );

    // The GTIN and batch number recognise the same goods across the two systems.
    let links = nat.get("/api/v1/national/links").await;
    let l = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["basis"] == "gtin_batch")
        .unwrap_or_else(|| panic!("{links}"));
    assert_eq!(
        (l["from"]["batch"].as_str(), l["to"]["batch"].as_str()),
        (Some("tj-1"), Some("gd-9"))
    );

    // A positive test in Tianjin: Guangdong's notice is waiting for its long poll; Tianjin gets none.
    let incident = Uuid::now_v7();
    let (s, _) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "12", "messages": [env(3, json!({
            "type": "incident", "incident": incident, "kind": "batch_sample", "subject": "tj-1",
            "positive_at": "2023-11-20T09:00:00+08:00", "batches": ["tj-1"]}))]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let n = nat.notices("44", 5_000).await;
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["lines"][0]["batch"], "gd-9");
    assert_eq!(n[0]["lines"][0]["seller_uscc"], importer.as_str());
    assert_eq!(n[0]["lines"][0]["sale_date"], "2023-11-15");
    assert!(nat.notices("12", 0).await.is_empty());
    let ni = nat
        .get(&format!("/api/v1/national/incidents/{incident}"))
        .await;
    assert_eq!(ni["not_acknowledged"], json!(["44"]));

    // A commander's decision: a wrong word is refused; a rejection takes Guangdong out of the trace.
    let id = l["id"].as_str().unwrap();
    let r = nat
        .http
        .post(format!("{}/api/v1/national/links/{id}/decision", nat.base))
        .bearer_auth(&nat.commander)
        .json(&json!({"decision": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = nat
        .http
        .post(format!("{}/api/v1/national/links/{id}/decision", nat.base))
        .bearer_auth(&nat.commander)
        .json(&json!({"decision": "reject", "note": "different lot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t = nat
        .get("/api/v1/national/trace?province=12&batch=tj-1")
        .await;
    assert_eq!(t["provinces"], json!(["12"]));
    // The six-digit form names the same province; an unknown one is refused, not answered empty.
    let t6 = nat
        .get("/api/v1/national/trace?province=120000&batch=tj-1")
        .await;
    assert_eq!(t6, t);
    let r = nat
        .http
        .get(format!(
            "{}/api/v1/national/trace?province=99&batch=tj-1",
            nat.base
        ))
        .bearer_auth(&nat.commander)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "province");
    // The decision is kept: a registry rebuilt from the store follows it.
    let again = National::load(nat.store.as_ref(), vec![], None)
        .await
        .unwrap();
    assert_eq!(
        again.read(|r| r.trace("12", &["tj-1".into()]).provinces),
        vec!["12".to_string()]
    );
}

/// A province issuing URL codes: the code a phone's camera reads opens this platform's public page, which shows
/// the batch only once a regulator published it.
#[tokio::test]
async fn a_url_code_issued_by_the_platform_opens_its_public_page_once_published() {
    let app = TestApp::spawn().await;
    let host = app.base.trim_start_matches("http://").to_string();
    app.enable_docking(coldtrace_store::DockingConfig {
        province: "12".into(),
        issuer: Some(coldtrace_domain::code::Issuer {
            scheme: coldtrace_domain::CodeScheme::Url,
            province: "12".into(),
            host: host.clone(),
        }),
    });
    let importer = app.enterprise("120116", "importer", 91).await;
    let (_, batch) = app
        .batch(&importer, "BR-URL-1", "(01)06901234567892(10)BR-URL-1")
        .await;
    let v: Value = app
        .get(&format!("/api/v1/batches/{batch}"), &importer.key)
        .await
        .json()
        .await
        .unwrap();
    let url = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scheme"] == "url")
        .and_then(|c| c["value"].as_str())
        .unwrap_or_else(|| panic!("no URL code issued: {v}"))
        .to_string();
    assert!(url.starts_with(&format!("http://{host}/t/12")), "{url}");
    // The 14-digit number printed under the label's QR finds the batch in the console's search.
    let digits = url.rsplit('/').next().unwrap();
    let r = app
        .get(&format!("/api/v1/codes/{digits}"), &app.regulator)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{digits}");
    assert_eq!(
        r.json::<Value>().await.unwrap()["batch"]["id"],
        batch.as_str()
    );
    // What the camera opens: 404 until published, then the page; the enterprise cannot publish.
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .post(
            &format!("/api/v1/batches/{batch}/publish"),
            &importer.key,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/api/v1/batches/{batch}/publish"),
            &app.regulator,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("冷冻去骨牛肉") && html.contains("BR-URL-1"));
    assert!(!html.contains("测试企业"), "no names on the public page");
    // Its label names the platform and keeps the batch number whole.
    let label = app
        .http
        .get(app.url("/label?code=(01)06901234567892(10)BR-URL-1&size=70x50"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        label.contains("天津冷链食品追溯平台")
            && label.contains("<span class=\"label-batch\">批号 BR-URL-1</span>"),
        "{label}"
    );
    // The GS1 code finds the same page, and its QR code is an SVG.
    let r = app
        .http
        .get(app.url("/t/(01)06901234567892(10)BR-URL-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(app.url("/qr.svg?code=%2812%29"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().starts_with("<?xml"));
    let r = app
        .http
        .get(app.url("/label?code=x&size=10x10"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "only 70x50 and 50x30 labels"
    );
}

#[tokio::test]
async fn one_province_can_neither_stall_nor_speak_for_another_and_messages_are_checked() {
    let nat = Nat::spawn().await;
    let batch = |seq: u64, owner: &str, q: i64| {
        env(
            seq,
            json!({"type": "batch", "batch": format!("b-{seq}"), "codes": [], "product": "冻牛肉", "gtin": null,
                   "batch_no": format!("L-{seq}"), "owner_uscc": owner, "origin_country": "BR",
                   "inspection_cert_no": null, "declaration_no": null, "port_of_entry": null,
                   "import_date": null, "quantity_milli": q, "unit": "箱"}),
        )
    };
    let upload = |p: &str, messages: Vec<Value>| json!({"version": "1", "province": p, "messages": messages});
    let good = crate::support::uscc("120116", 91);

    // Content is checked with the domain's parsers, naming the message and the field.
    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            upload("12", vec![batch(1, "NOT-A-USCC", 1000)]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "messages[0].owner_uscc", "{v}");
    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            upload("12", vec![batch(1, &good, -5)]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "messages[0].quantity_milli", "{v}");
    let mut long = batch(1, &good, 1000);
    long["product"] = json!("牛".repeat(1_000_000));
    let (s, v) = nat
        .send("12", "/docking/v1/messages", upload("12", vec![long]))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "messages[0].product", "{v}");
    // At most 500 messages an upload.
    let many: Vec<Value> = (1..=501).map(|i| batch(i, &good, 1)).collect();
    let (s, v) = nat
        .send("12", "/docking/v1/messages", upload("12", many))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "messages", "{v}");

    // Province 44 sends a message under an id province 12 will use: 12's message still takes effect.
    let m12 = batch(1, &good, 1000);
    let mut m44 = batch(1, &crate::support::uscc("440106", 92), 1000);
    m44["id"] = m12["id"].clone();
    let (s, v) = nat
        .send("44", "/docking/v1/messages", upload("44", vec![m44]))
        .await;
    assert_eq!(
        (s, v["accepted"].clone()),
        (StatusCode::OK, json!(1)),
        "{v}"
    );
    let (s, v) = nat
        .send("12", "/docking/v1/messages", upload("12", vec![m12]))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 1, "{v}");
    assert_eq!(v["duplicates"], 0, "{v}");
}

/// A province keeps its own entry of the contacts registry at the national platform, through its own platform's
/// docking link or the docking interface itself; every change is a version; a commander reads them all.
#[tokio::test]
async fn each_province_keeps_its_own_contacts_at_the_national_platform() {
    let nat = Nat::spawn().await;
    // Tianjin's platform, docked to the national one.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("coldtrace.sqlite")).unwrap());
    store.enable_docking(coldtrace_store::DockingConfig {
        province: "12".into(),
        issuer: None,
    });
    let regulator = TestApp::key(
        &(store.clone() as Arc<dyn Store>),
        Role::Regulator,
        Some("12"),
        None,
    )
    .await;
    let platform = Platform::start(
        store.clone() as Arc<dyn Store>,
        PlatformConfig {
            national: Some(coldtrace_service::docking::NationalLink {
                url: nat.base.clone(),
                client_id: "province-12".into(),
                secret: "secret-of-province-12".into(),
                province: "12".into(),
                ca_pem: None,
            }),
            ..PlatformConfig::new(Tier::Province(
                coldtrace_domain::ProvinceCode::parse("12").unwrap(),
            ))
        },
    )
    .await
    .unwrap();
    let tianjin = crate::support::serve(AppState::with_limits(
        Arc::new(platform),
        coldtrace_api::limits::RateLimits::unlimited(),
    ))
    .await;
    let http = reqwest::Client::new();
    let entry = json!({"office": "天津市市场监督管理委员会食品流通处", "hours": "24小时",
        "contacts": [{"name": "张伟", "role": "值班长", "phone": "022-23456789", "email": "duty@scjg.tj.gov.cn"}]});
    let put = |key: &str, body: &Value| {
        http.put(format!("{tianjin}/api/v1/contacts"))
            .bearer_auth(key)
            .json(body)
            .send()
    };
    // A wrong field is named before anything is sent.
    let mut bad = entry.clone();
    bad["contacts"][0]["phone"] = json!("12");
    let r = put(&regulator, &bad).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["field"],
        "contacts[0].phone"
    );
    // The regulator's entry reaches the national platform; the same again is the same version.
    for _ in 0..2 {
        let r = put(&regulator, &entry).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (v["province"].as_str(), v["version"].as_u64()),
            (Some("12"), Some(1)),
            "{v}"
        );
    }
    // A change is a new version, and the first stays in the history.
    let mut changed = entry.clone();
    changed["hours"] = json!("工作日 8:30-17:30，其余时间值班电话");
    let v: Value = put(&regulator, &changed)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], 2);
    // Guangdong keeps its own over the docking interface; it cannot write Tianjin's (the province is its client's).
    let r = http
        .put(format!("{}/docking/v1/contacts", nat.base))
        .basic_auth("province-44", Some("secret-of-province-44"))
        .json(&json!({"office": "广东省市场监督管理局", "hours": "24小时",
            "contacts": [{"name": "李娜", "role": "联络员", "phone": "13912345678"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let all = nat.get("/api/v1/national/contacts").await;
    let provinces: Vec<(&str, u64)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["province"].as_str().unwrap(),
                c["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(provinces, vec![("12", 2), ("44", 1)]);
    assert_eq!(all[0]["contacts"]["contacts"][0]["name"], "张伟");
    let history = nat.get("/api/v1/national/contacts?province=12").await;
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["contacts"]["hours"], "24小时");
    assert_eq!(history[1]["updated_by"], "docking:12");
    // Only the commander reads the registry; an enterprise or another role at the province may not send it.
    let r = http
        .get(format!("{}/api/v1/national/contacts", nat.base))
        .bearer_auth(&regulator)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a province's key means nothing at the national platform"
    );
    let customs = TestApp::key(
        &(store.clone() as Arc<dyn Store>),
        Role::Customs,
        Some("12"),
        None,
    )
    .await;
    assert_eq!(
        put(&customs, &entry).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // A platform with no docking link says so.
    let lone = TestApp::spawn().await;
    let r = http
        .put(format!("{}/api/v1/contacts", lone.base))
        .bearer_auth(&lone.regulator)
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// The national registry restarts from its snapshot and the inbox rows after it, and stands where a replay of
/// the whole inbox stands; a snapshot of another store, or a damaged one, is set aside and the inbox replayed.
#[tokio::test]
async fn the_national_registry_restarts_from_its_snapshot_and_the_rows_after_it() {
    let nat = Nat::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join(coldtrace_service::national::REGISTRY_SNAPSHOT_FILE);
    let (seller, buyer) = (uscc("120116", 81), uscc("440106", 82));
    let batch = |id: &str| {
        json!({"type": "batch", "batch": id, "codes": [], "product": "冻牛腩", "gtin": null, "batch_no": id,
            "owner_uscc": seller, "origin_country": "BR", "inspection_cert_no": null, "declaration_no": null,
            "port_of_entry": null, "import_date": null, "quantity_milli": 1_000_000, "unit": "kg"})
    };
    let flow = |kind: &str, id: &str, batch: &str, other: &str, at: i64| {
        json!({"type": kind, "movement": id, "batch": batch, "product": "冻牛腩", "seller_uscc": seller,
            "seller_name": "天津进口商", "buyer_uscc": buyer, "buyer_name": "广州批发商", "other_province": other,
            "quantity_milli": 200_000, "unit": "kg", "at_ms": at})
    };
    let upload =
        |p: &str, msgs: Vec<Value>| json!({"version": "1", "province": p, "messages": msgs});
    let t = 1_700_000_000_000_i64;
    let (s, v) = nat
        .send(
            "12",
            "/docking/v1/messages",
            upload(
                "12",
                vec![
                    env(1, batch("tj-1")),
                    env(2, flow("outflow", "m1", "tj-1", "44", t)),
                ],
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = nat
        .send(
            "44",
            "/docking/v1/messages",
            upload(
                "44",
                vec![env(1, flow("inflow", "r1", "gd-1", "12", t + 3_600_000))],
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let incident = Uuid::now_v7();
    let (s, _) = nat
        .send(
            "12",
            "/docking/v1/messages",
            upload(
                "12",
                vec![env(3, json!({"type": "incident", "incident": incident, "kind": "batch_sample",
                    "subject": "tj-1", "positive_at": "2023-11-20T09:00:00+08:00", "batches": ["tj-1"]}))],
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let notices = nat.notices("44", 5_000).await;
    assert_eq!(notices.len(), 1);

    // The first start replays the inbox and writes the snapshot; a second save finds nothing changed.
    let store = nat.store.clone() as Arc<dyn Store>;
    let first = Arc::new(
        National::load(store.as_ref(), vec![], Some(path.clone()))
            .await
            .unwrap(),
    );
    assert!(first.opened.loaded.is_none());
    assert_eq!(first.opened.replayed, 4);
    let saved = first.save_snapshot(store.as_ref()).await.unwrap().unwrap();
    assert_eq!(saved.inbox_seq, 4);
    assert!(first.save_snapshot(store.as_ref()).await.unwrap().is_none());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // More arrives: Guangdong acknowledges, Tianjin ships a second batch that Guangdong receives.
    let ack = json!({"type": "notice_ack", "notice": notices[0]["id"], "by": "duty officer", "note": "sealed",
        "holders": []});
    for (p, msgs) in [
        ("44", vec![env(2, ack)]),
        (
            "12",
            vec![
                env(4, batch("tj-2")),
                env(5, flow("outflow", "m2", "tj-2", "44", t + 86_400_000)),
            ],
        ),
        (
            "44",
            vec![env(3, flow("inflow", "r2", "gd-2", "12", t + 90_000_000))],
        ),
    ] {
        let (s, v) = nat.send(p, "/docking/v1/messages", upload(p, msgs)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    let replayed = National::load(store.as_ref(), vec![], None).await.unwrap();
    let again = National::load(store.as_ref(), vec![], Some(path.clone()))
        .await
        .unwrap();
    assert_eq!(again.opened.loaded.map(|f| f.inbox_seq), Some(4));
    assert_eq!(again.opened.replayed, 4, "only the rows after the snapshot");
    assert_eq!(
        again.read(|r| r.snapshot_bytes()),
        replayed.read(|r| r.snapshot_bytes()),
        "the same registry as a replay of the whole inbox"
    );
    let d = again.read(|r| r.deliveries(Some(incident)));
    assert!(
        d[0].acked_at_ms.is_some(),
        "the acknowledgement after the snapshot"
    );
    assert_eq!(
        again.read(|r| r.links(false).len()),
        2,
        "the second shipment is linked too"
    );

    // A damaged snapshot, and one of another store, are set aside; the inbox is replayed.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let damaged = National::load(store.as_ref(), vec![], Some(path.clone()))
        .await
        .unwrap();
    assert!(damaged.opened.loaded.is_none());
    assert!(
        damaged
            .opened
            .set_aside
            .as_deref()
            .unwrap()
            .contains("damaged"),
        "{:?}",
        damaged.opened.set_aside
    );
    assert_eq!(damaged.opened.replayed, 8);
    assert_eq!(
        damaged.read(|r| r.snapshot_bytes()),
        replayed.read(|r| r.snapshot_bytes())
    );
    let damaged = Arc::new(damaged);
    damaged
        .save_snapshot(store.as_ref())
        .await
        .unwrap()
        .unwrap();
    let other = Nat::spawn().await;
    let elsewhere = National::load(other.store.as_ref(), vec![], Some(path.clone()))
        .await
        .unwrap();
    assert!(
        elsewhere
            .opened
            .set_aside
            .as_deref()
            .unwrap()
            .contains("does not belong to this store"),
        "{:?}",
        elsewhere.opened.set_aside
    );
    assert!(elsewhere.read(|r| r.links(false)).is_empty());
}
