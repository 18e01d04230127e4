//! Integrity between tenants: every write route of the OpenAPI document, tried by a hostile enterprise of the
//! same province and by the regulator of another province against a victim's records, is refused, and the
//! victim's records, codes, trace and incident read the same afterwards.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Ent, TestApp, json};

const AT: &str = "2026-03-02T10:00:00+08:00";
const VICTIM_CODE: &str = "11020201109001";
const ID_NO: &str = "11010519491231002X";

/// The victim's world: an importer with a batch (code, documents, an attachment), a customer it shipped to, and
/// an incident with a task for it.
struct World {
    app: TestApp,
    /// The victim's EPCIS capture job.
    capture: String,
    victim: Ent,
    customer: Ent,
    attacker: Ent,
    other_regulator: String,
    product: String,
    batch: String,
    own_batch: String,
    movement: String,
    document: String,
    attachment: String,
    incident: String,
    task: String,
    /// The victim's key's credential id.
    credential: String,
    /// The account of the victim's staff member.
    account: String,
    /// A finding about the victim's ledger.
    finding: String,
}

/// The customs declaration of the victim's goods (`020220261000456789`, which its batches name).
fn victim_declaration(consignee: &str, cartons: i64) -> Value {
    json!({"declarations": [{"declaration_no": "020220261000456789", "declared_on": "2026-03-01",
        "consignee_uscc": consignee, "certificate_nos": ["CERTV1"],
        "lines": [{"hs_code": "0202300090", "product": "冷冻去骨牛肉", "origin_country": "BR", "quantity": cartons,
                   "unit": "carton", "net_weight_kg": 52000, "containers": ["CSQU3054383"]}]}]})
}

/// An EPCIS event of the victim's: its goods shipped, its code and USCC in the lot data.
fn victim_event(uscc: &str) -> Value {
    json!({"type": "ObjectEvent", "eventTime": "2026-03-01T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
           "action": "OBSERVE", "bizStep": "shipping",
           "epcList": ["https://id.gs1.org/01/09520123456788/21/V-1"],
           "example:traceCode": VICTIM_CODE, "example:holder": uscc,
           "@context": [{"example": "https://example.com/coldtrace/"}]})
}

async fn created(r: reqwest::Response) -> Value {
    let (s, v) = json(r).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let victim = app.enterprise("120116", "importer", 71).await;
    let customer = app.enterprise("120104", "wholesale_vendor", 72).await;
    let attacker = app.enterprise("120105", "wholesale_vendor", 73).await;
    let other_regulator = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("32"),
        None,
    )
    .await;
    let (product, batch) = app.batch(&victim, "V-1", VICTIM_CODE).await;
    let (_, own_batch) = app.batch(&attacker, "X-1", "11020201109002").await;
    let r = app
        .http
        .post(app.url("/api/v1/attachments"))
        .bearer_auth(&victim.key)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4 victim certificate".to_vec())
        .send()
        .await
        .unwrap();
    let attachment = created(r).await["sha256"].as_str().unwrap().to_string();
    let v = created(
        app.post(
            "/api/v1/movements",
            &victim.key,
            &json!({"kind": "receive", "batch_id": batch, "quantity": 1300, "at": "2026-03-01T08:00:00+08:00",
                    "counterparty_name": "Frigorifico Exemplo S.A.",
                    "handlers": [{"name": "李强", "id_no": ID_NO, "phone": "13912345678"}]}),
        )
        .await,
    )
    .await;
    let movement = v["movements"][0].as_str().unwrap().to_string();
    created(
        app.post(
            "/api/v1/movements",
            &victim.key,
            &json!({"kind": "ship", "batch_id": batch, "quantity": 300, "at": AT,
                    "counterparty_uscc": customer.uscc, "counterparty_name": "批发商"}),
        )
        .await,
    )
    .await;
    let v = created(
        app.post(
            "/api/v1/documents",
            &victim.key,
            &json!({"batch_id": batch, "kind": "nucleic_acid", "number": "HS-V1", "issuer": "检测机构",
                    "issued_on": "2026-03-01", "result": "negative", "attachment_sha256": attachment}),
        )
        .await,
    )
    .await;
    let document = v["documents"][0].as_str().unwrap().to_string();
    let inc = created(
        app.post(
            "/api/v1/incidents",
            &app.regulator,
            &json!({"kind": "batch_sample", "code": VICTIM_CODE, "positive_at": "2026-03-05T09:00:00+08:00"}),
        )
        .await,
    )
    .await;
    let incident = inc["id"].as_str().unwrap().to_string();
    let task = inc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["holder"] == victim.id || t["holder_name"].as_str().unwrap().contains("71"))
        .expect("a task for the victim")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, keys) = json(app.get("/api/v1/credentials", &app.regulator).await).await;
    let credential = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["enterprise"] == victim.id.as_str())
        .expect("the victim's key is listed for its regulator")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, acc) = json(
        app.post(
            "/api/v1/accounts",
            &app.regulator,
            &json!({"login": "victim.staff", "name": "李强", "role": "enterprise", "enterprise": victim.id,
                    "password": "correct horse battery"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{acc}");
    let account = acc["id"].as_str().unwrap().to_string();
    // A sale from a batch with no receipt: a finding about the victim's ledger.
    let (_, second) = app.batch(&victim, "V-2", "11020201109009").await;
    created(
        app.post(
            "/api/v1/movements",
            &victim.key,
            &json!({"kind": "sell", "batch_id": second, "quantity": 5, "at": AT}),
        )
        .await,
    )
    .await;
    let (_, found) = json(
        app.get("/api/v1/findings?status=open", &app.regulator)
            .await,
    )
    .await;
    let finding = found["items"][0]["id"]
        .as_str()
        .expect("a finding")
        .to_string();
    // Customs declared the victim's goods as the victim recorded them (and the attacker's batch names the
    // victim's declaration: a finding on the attacker's ledger only).
    let customs = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Customs,
        Some("12"),
        None,
    )
    .await;
    let (s, v) = json(
        app.post(
            "/api/v1/customs/declarations",
            &customs,
            &victim_declaration(&victim.uscc, 2600),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // EPCIS events of the victim's, naming its goods and itself.
    let job = crate::support::capture(
        &app,
        &victim.key,
        &crate::support::epcis_document(vec![victim_event(&victim.uscc)]),
        None,
    )
    .await;
    assert_eq!(job["captured"], 1, "{job}");
    let capture = job["captureID"].as_str().unwrap().to_string();
    World {
        capture,
        finding,
        account,
        credential,
        app,
        victim,
        customer,
        attacker,
        other_regulator,
        product,
        batch,
        own_batch,
        movement,
        document,
        attachment,
        incident,
        task,
    }
}

impl World {
    /// Everything the victim and its regulator can read about the victim's goods.
    async fn snapshot(&self) -> Vec<(String, StatusCode, Value)> {
        let a = &self.app;
        let mut out = Vec::new();
        for (path, key) in [
            (format!("/api/v1/batches/{}", self.batch), &self.victim.key),
            (format!("/api/v1/codes/{VICTIM_CODE}"), &self.victim.key),
            (
                format!("/api/v1/movements/{}", self.movement),
                &self.victim.key,
            ),
            (
                format!("/api/v1/documents/{}", self.document),
                &self.victim.key,
            ),
            (
                format!("/api/v1/products/{}", self.product),
                &self.victim.key,
            ),
            (
                format!("/api/v1/batches/{}/documents", self.batch),
                &self.victim.key,
            ),
            (
                format!("/api/v1/enterprises/{}", self.victim.id),
                &a.regulator,
            ),
            (format!("/api/v1/incidents/{}", self.incident), &a.regulator),
            (
                format!("/api/v1/trace?code={VICTIM_CODE}&direction=both"),
                &a.regulator,
            ),
            ("/api/v1/notices".to_string(), &a.regulator),
            ("/api/v1/accounts".to_string(), &a.regulator),
            ("/api/v1/findings".to_string(), &a.regulator),
            (
                "/api/v1/customs/declarations/020220261000456789".to_string(),
                &a.regulator,
            ),
            (format!("/t/{VICTIM_CODE}"), &a.regulator),
            ("/epcis/events".to_string(), &self.victim.key),
            (format!("/epcis/capture/{}", self.capture), &self.victim.key),
        ] {
            let r = a.get(&path, key).await;
            let s = r.status();
            let text = r.text().await.unwrap();
            let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            // Timings differ between two reads of the same answer.
            if let Some(o) = v.as_object_mut() {
                o.remove("took_us");
                o.remove("creationDate");
            }
            out.push((path, s, v));
        }
        out
    }

    /// Hostile requests per write route (method and OpenAPI path): what a tenant would send to touch the
    /// victim's records.
    fn attacks(&self) -> Vec<(&'static str, &'static str, Body)> {
        let b = &self.batch;
        let x = &self.own_batch;
        let v = &self.victim;
        let mv_on = |r: Value| Body::Json(json!({"movements": [r]}));
        let movements = vec![
            json!({"kind": "ship", "batch_id": b, "quantity": 10, "at": AT, "counterparty_name": "某人"}),
            json!({"kind": "sell", "trace_code": VICTIM_CODE, "quantity": 10, "at": AT}),
            json!({"kind": "destroy", "batch_id": b, "quantity": 1000, "at": AT}),
            json!({"kind": "receive", "batch_id": b, "quantity": 10, "at": AT,
                   "counterparty_uscc": v.uscc, "counterparty_name": "受害者"}),
            json!({"kind": "receive", "batch_id": b, "quantity": 10, "at": AT, "counterparty_name": "国外"}),
            json!({"kind": "sell", "batch_id": x, "quantity": 1, "at": AT, "corrects": self.movement}),
            json!({"kind": "transform", "at": AT, "inputs": [{"batch_id": b, "quantity": 5}],
                   "outputs": [{"batch_id": x, "quantity": 5}]}),
        ];
        let batches = vec![
            json!({"product_id": self.product, "batch_no": "V-1", "quantity": 1, "unit": "carton",
                   "corrects": b, "trace_codes": [{"value": VICTIM_CODE}]}),
            json!({"product_id": self.product, "batch_no": "X-2", "quantity": 1, "unit": "carton",
                   "trace_codes": [{"value": VICTIM_CODE}]}),
        ];
        let documents = vec![
            json!({"batch_id": b, "kind": "nucleic_acid", "number": "FAKE", "issuer": "x",
                   "issued_on": "2026-03-01", "result": "negative"}),
            json!({"trace_code": VICTIM_CODE, "kind": "nucleic_acid", "number": "FAKE", "issuer": "x",
                   "issued_on": "2026-03-01", "result": "negative"}),
            json!({"batch_id": x, "kind": "nucleic_acid", "number": "FAKE", "issuer": "x",
                   "issued_on": "2026-03-01", "result": "negative", "corrects": self.document}),
            json!({"batch_id": x, "kind": "nucleic_acid", "number": "CITE", "issuer": "x",
                   "issued_on": "2026-03-01", "result": "negative", "attachment_sha256": self.attachment}),
        ];
        let product = json!({"name": "改名", "category": "livestock_poultry_meat", "origin_country": "BR",
                             "corrects": self.product});
        let enterprise = json!({"uscc": v.uscc, "name": "改名企业", "kind": "importer", "region": "320506",
                                "contact_name": "王伟", "contact_phone": "13812341234", "self_commitment": true,
                                "corrects": v.id, "correction_reason": "hostile"});
        let mut out: Vec<(&'static str, &'static str, Body)> = Vec::new();
        for m in &movements {
            out.push(("post", "/api/v1/submissions", mv_on(m.clone())));
            out.push(("post", "/api/v1/movements", Body::Json(m.clone())));
        }
        for bt in &batches {
            out.push((
                "post",
                "/api/v1/submissions",
                Body::Json(json!({"batches": [bt]})),
            ));
            out.push(("post", "/api/v1/batches", Body::Json(bt.clone())));
        }
        for d in &documents {
            out.push((
                "post",
                "/api/v1/submissions",
                Body::Json(json!({"documents": [d]})),
            ));
            out.push(("post", "/api/v1/documents", Body::Json(d.clone())));
        }
        out.push(("post", "/api/v1/products", Body::Json(product)));
        out.push(("post", "/api/v1/enterprises", Body::Json(enterprise)));
        out.push((
            "post",
            "/api/v1/enterprises/{id}/credentials",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/credentials",
            Body::Json(json!({"role": "enterprise", "enterprise": v.id})),
        ));
        out.push((
            "post",
            "/api/v1/batches/{id}/publish",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/batches/{id}/withdraw",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/accounts",
            Body::Json(
                json!({"login": "planted", "name": "冒名", "role": "enterprise", "enterprise": v.id,
                              "password": "a long enough password"}),
            ),
        ));
        out.push((
            "post",
            "/api/v1/accounts",
            Body::Json(json!({"login": "planted.regulator", "name": "冒名", "role": "regulator", "province": "12",
                              "password": "a long enough password"})),
        ));
        out.push((
            "post",
            "/api/v1/accounts/{id}/disable",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/sessions",
            Body::Json(json!({"login": "victim.staff", "password": "guessed password"})),
        ));
        out.push(("post", "/api/v1/sessions/end", Body::Json(json!({}))));
        out.push((
            "post",
            "/api/v1/findings/{id}/dismiss",
            Body::Json(json!({"reason": "hostile"})),
        ));
        out.push((
            "post",
            "/api/v1/findings/{id}/resolve",
            Body::Json(json!({"reason": "hostile"})),
        ));
        out.push((
            "post",
            "/api/v1/findings/{id}/answer",
            Body::Json(json!({"note": "hostile", "record": self.movement})),
        ));
        out.push((
            "post",
            "/api/v1/credentials/{id}/revoke",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/credentials/{id}/rotate",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/ledger",
            Body::Csv(format!(
                "日期,类型,品名,品类,原产国,批号,数量,单位,追溯码\n2026/3/2 10:00,出库,冷冻去骨牛肉,畜禽肉,BR,V-1,10,箱,{VICTIM_CODE}\n"
            )),
        ));
        out.push((
            "post",
            "/api/v1/incidents",
            Body::Json(json!({"kind": "batch_sample", "code": VICTIM_CODE, "positive_at": AT})),
        ));
        // A province's duty contacts, rewritten by someone else.
        let duty = json!({"office": "伪造", "hours": "无", "contacts": [{"name": "冒充", "role": "值班长", "phone": "13800000000"}]});
        out.push(("put", "/api/v1/contacts", Body::Json(duty.clone())));
        out.push(("put", "/docking/v1/contacts", Body::Json(duty)));
        // Staff and tests under the victim's name, or for a person on the victim's staff.
        out.push((
            "post",
            "/api/v1/staff",
            Body::Json(json!({"staff": [{"name": "李强", "id_no": ID_NO, "role": "imported_cold_chain"}], "enterprise": v.id})),
        ));
        out.push((
            "post",
            "/api/v1/staff/tests",
            Body::Json(json!({"tests": [{"id_no": ID_NO, "sampled_on": "2026-03-01", "result": "positive"}]})),
        ));
        // A census that would hide the victim's province's businesses or add false ones.
        out.push((
            "post",
            "/api/v1/census",
            Body::Json(json!({"entries": [{"uscc": v.uscc, "name": "伪造主体", "kind": "importer", "region": "120116"}]})),
        ));
        out.push((
            "post",
            "/api/v1/census/import",
            Body::Csv(format!(
                "统一社会信用代码,名称,类型,行政区划\n{},伪造主体,进口商,120116\n",
                v.uscc
            )),
        ));
        // Customs data that would make the victim's batches look short or forged.
        out.push((
            "post",
            "/api/v1/customs/declarations",
            Body::Json(victim_declaration(&v.uscc, 9000)),
        ));
        out.push((
            "post",
            "/api/v1/customs/declarations/import",
            Body::Csv(format!(
                "报关单号,申报日期,收货人统一社会信用代码,商品编码,商品名称,原产国,数量,单位,净重\n\
                 020220261000456789,2026-03-01,{},0202300090,冷冻去骨牛肉,BR,9000,箱,1\n",
                v.uscc
            )),
        ));
        // Temperature readings that would put the victim's lot through an excursion.
        let warm = |at: &str| json!({"device": "X", "at": at, "temperature_c": 10.0, "trace_code": VICTIM_CODE});
        out.push((
            "post",
            "/api/v1/sensors/readings",
            Body::Json(json!({"readings": [warm("2026-03-01T08:00:00+08:00"), warm("2026-03-01T12:00:00+08:00")]})),
        ));
        out.push((
            "post",
            "/api/v1/sensors/readings/import",
            Body::Csv(format!(
                "设备,时间,温度,追溯码\nX,2026-03-01T08:00:00+08:00,10,{VICTIM_CODE}\nX,2026-03-01T12:00:00+08:00,10,{VICTIM_CODE}\n"
            )),
        ));
        // EPCIS events about the victim's goods, captured by someone else: they land in the sender's own
        // repository and change nothing of the victim's.
        out.push((
            "post",
            "/epcis/capture",
            Body::Json(crate::support::epcis_document(vec![json!({
                "type": "ObjectEvent", "eventTime": "2026-03-02T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
                "action": "DELETE", "bizStep": "destroying",
                "epcList": ["https://id.gs1.org/01/09520123456788/21/V-1"]})])),
        ));
        out.push((
            "post",
            "/api/v1/incidents/{id}/tasks/{task}",
            Body::Json(json!({"action": "destroyed", "quantity": 1000, "note": "forged"})),
        ));
        out.push((
            "post",
            "/api/v1/incidents/{id}/notices/{notice}/sent",
            Body::Json(json!({})),
        ));
        out.push((
            "post",
            "/api/v1/incidents/{id}/notes",
            Body::Json(json!({"text": "forged"})),
        ));
        out.push((
            "post",
            "/api/v1/incidents/{id}/close",
            Body::Json(json!({"note": "forged"})),
        ));
        out.push(("post", "/api/v1/attachments", Body::Pdf));
        out.push((
            "post",
            "/api/v1/notices/{id}/ack",
            Body::Json(json!({"note": "forged"})),
        ));
        out.push((
            "post",
            "/api/v1/national/links/{id}/decision",
            Body::Json(json!({"decision": "confirmed"})),
        ));
        out.push((
            "post",
            "/api/v1/national/requests",
            Body::Json(json!({"batch": b})),
        ));
        out.push((
            "post",
            "/docking/v1/messages",
            Body::Json(json!({"version": "1", "province": "12", "messages": []})),
        ));
        out.push((
            "post",
            "/docking/v1/foreign/records",
            Body::Json(json!({"batch": b})),
        ));
        out
    }

    fn concrete(&self, path: &str) -> String {
        let id = if path.starts_with("/api/v1/incidents") {
            self.incident.clone()
        } else if path.starts_with("/api/v1/enterprises") {
            self.victim.id.clone()
        } else if path.starts_with("/api/v1/credentials") {
            self.credential.clone()
        } else if path.starts_with("/api/v1/accounts") {
            self.account.clone()
        } else if path.starts_with("/api/v1/findings") {
            self.finding.clone()
        } else {
            self.batch.clone()
        };
        path.replace("{id}", &id)
            .replace("{task}", &self.task)
            .replace("{notice}", &self.task)
    }
}

/// Whether a holder of the victim's batch may send this (a new movement or document of the batch).
fn holder_may(body: &Body) -> bool {
    let Body::Json(v) = body else { return false };
    let one = |r: &Value| {
        r.get("corrects").is_none()
            && r.get("attachment_sha256").is_none()
            && (r.get("kind").is_some_and(|k| k != "batch_sample"))
            && r.get("product_id").is_none()
    };
    match (v.get("movements"), v.get("documents")) {
        (Some(Value::Array(a)), _) | (_, Some(Value::Array(a))) => a.iter().all(one),
        _ => {
            one(v)
                && (v.get("batch_id").is_some()
                    || v.get("trace_code").is_some()
                    || v.get("inputs").is_some())
        }
    }
}

enum Body {
    Json(Value),
    Csv(String),
    Pdf,
}

#[tokio::test]
async fn every_write_route_refuses_a_hostile_tenant_and_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attacks = w.attacks();
    // Every write route of the document has at least one attack, so a new route cannot be forgotten here.
    let mut routes = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if method == "get" {
                continue;
            }
            routes += 1;
            assert!(
                attacks.iter().any(|(m, p, _)| m == method && p == path),
                "no hostile request for {method} {path}"
            );
        }
    }
    let before = w.snapshot().await;
    let mut tries = 0;
    for (who, key) in [
        ("an enterprise of the same province", &w.attacker.key),
        ("a customer the victim shipped to", &w.customer.key),
        ("the regulator of another province", &w.other_regulator),
    ] {
        for (method, path, body) in &attacks {
            // The customer may legitimately record movements and documents of what it was shipped; its tries are
            // the corrections, the code takeovers, citing the victim's attachment and the other routes.
            if who.starts_with("a customer") && holder_may(body) {
                continue;
            }
            // A customer's own sensors on the lot it was shipped are a fact about its goods, as its movements are.
            if who.starts_with("a customer") && path.starts_with("/api/v1/sensors/") {
                continue;
            }
            let url = app.url(&w.concrete(path));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let req = app.http.request(m, url).bearer_auth(key);
            let req = match body {
                Body::Json(v) => req.json(v),
                Body::Csv(s) => req.header("content-type", "text/csv").body(s.clone()),
                Body::Pdf => req
                    .header("content-type", "application/pdf")
                    .body(b"%PDF-1.4 attacker".to_vec()),
            };
            let r = req.send().await.unwrap();
            let s = r.status();
            let text = r.text().await.unwrap();
            tries += 1;
            // An upload of one's own attachment stores one's own file; it touches nothing of the victim's.
            if *path == "/api/v1/attachments" {
                assert_eq!(s, StatusCode::CREATED, "{text}");
                continue;
            }
            // Readings of an enterprise's own devices are stored as its own; they make no finding on a lot it
            // does not hold (the snapshot of the victim's findings below stays the same).
            if path.starts_with("/api/v1/sensors/") && s == StatusCode::OK {
                assert!(!who.starts_with("the regulator"), "{text}");
                continue;
            }
            // A capture by an enterprise goes to its own repository; other roles may not capture.
            if *path == "/epcis/capture" && s == StatusCode::ACCEPTED {
                assert!(!who.starts_with("the regulator"), "{text}");
                continue;
            }
            assert!(
                matches!(s.as_u16(), 401 | 403 | 404 | 409 | 422),
                "{who}: {method} {path} answered {s}: {text}"
            );
        }
    }
    let after = w.snapshot().await;
    for ((path, s0, v0), (_, s1, v1)) in before.iter().zip(&after) {
        assert_eq!(s0, s1, "{path}");
        assert_eq!(v0, v1, "{path} changed");
    }
    eprintln!("{routes} write routes, {tries} hostile requests, all refused; victim unchanged");
    assert!(routes >= 20, "{routes} write routes");
    assert!(tries > 100, "{tries} hostile requests");
}

#[tokio::test]
async fn a_batch_used_by_nobody_else_and_an_unknown_one_get_the_same_answer() {
    let w = world().await;
    let app = &w.app;
    let probe = |code: &str| json!({"kind": "sell", "trace_code": code, "quantity": 1, "at": AT});
    let (s1, known) = json(
        app.post("/api/v1/movements", &w.attacker.key, &probe(VICTIM_CODE))
            .await,
    )
    .await;
    let (s2, unknown) = json(
        app.post(
            "/api/v1/movements",
            &w.attacker.key,
            &probe("11020201109999"),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s1, s2),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::UNPROCESSABLE_ENTITY
        )
    );
    let strip = |v: &Value| {
        v.to_string()
            .replace(VICTIM_CODE, "C")
            .replace("11020201109999", "C")
    };
    assert_eq!(strip(&known), strip(&unknown));
    // A code already on another enterprise's batch is not revealed by the conflict either.
    let (s, v) = json(
        app.post(
            "/api/v1/batches",
            &w.attacker.key,
            &json!({"product_id": w.product, "batch_no": "X-3", "quantity": 1, "unit": "carton",
                    "trace_codes": [{"value": VICTIM_CODE}]}),
        )
        .await,
    )
    .await;
    assert!(matches!(s.as_u16(), 409 | 422), "{v}");
    assert!(!v.to_string().contains(&w.batch), "{v}");
}

#[tokio::test]
async fn the_owner_still_corrects_its_batch_and_keeps_its_code_and_a_customer_records_its_receipt()
{
    let w = world().await;
    let app = &w.app;
    let (s, v) = json(
        app.post(
            "/api/v1/batches",
            &w.victim.key,
            &json!({"product_id": w.product, "batch_no": "V-1", "quantity": 1290, "unit": "carton",
                    "declaration_no": "020220261000456789", "corrects": w.batch,
                    "trace_codes": [{"value": VICTIM_CODE}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let corrected = v["batches"][0].as_str().unwrap();
    let (s, v) = json(
        app.get(&format!("/api/v1/codes/{VICTIM_CODE}"), &w.victim.key)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["batch"]["id"], corrected);
    // The customer receives what the victim shipped to it, naming the victim as the sender.
    let (s, v) = json(
        app.post(
            "/api/v1/movements",
            &w.customer.key,
            &json!({"kind": "receive", "batch_id": w.batch, "quantity": 300, "at": AT,
                    "counterparty_uscc": w.victim.uscc, "counterparty_name": "进口商"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Naming a registered sender that shipped it nothing is refused.
    let (s, v) = json(
        app.post(
            "/api/v1/movements",
            &w.customer.key,
            &json!({"kind": "receive", "batch_id": w.batch, "quantity": 300, "at": AT,
                    "counterparty_uscc": w.attacker.uscc, "counterparty_name": "别人"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("counterparty_uscc"), "{v}");
}

#[tokio::test]
async fn a_regulator_corrects_an_enterprise_of_its_province_only_with_a_reason() {
    let w = world().await;
    let app = &w.app;
    let fix = |reason: Option<&str>| {
        let mut v = json!({"uscc": w.victim.uscc, "name": "更名后的进口商", "kind": "importer",
                           "region": "120116", "contact_name": "王伟", "contact_phone": "13812341234",
                           "self_commitment": true, "corrects": w.victim.id});
        if let Some(r) = reason {
            v["correction_reason"] = json!(r);
        }
        v
    };
    let (s, v) = json(
        app.post("/api/v1/enterprises", &app.regulator, &fix(None))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("correction_reason"), "{v}");
    let (s, v) = json(
        app.post(
            "/api/v1/enterprises",
            &app.regulator,
            &fix(Some("营业执照变更，经现场核查")),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new_id = v["enterprises"][0].as_str().unwrap().to_string();
    let (s, e) = json(
        app.get(&format!("/api/v1/enterprises/{new_id}"), &app.regulator)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["correction_reason"], "营业执照变更，经现场核查", "{e}");
    assert_eq!(e["corrects"], json!(w.victim.id));
    // The audit trail names the regulator's refused and accepted corrections, in order.
    let (_, trail) = json(app.get("/api/v1/audit?limit=500", &app.regulator).await).await;
    let outcomes: Vec<i64> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "POST /api/v1/enterprises")
        .map(|a| a["outcome"].as_i64().unwrap())
        .collect();
    assert!(outcomes.ends_with(&[422, 201]), "{outcomes:?}");
    // A reason without a correction is a mistake, not a note.
    let mut stray = fix(Some("无"));
    stray.as_object_mut().unwrap().remove("corrects");
    let (s, v) = json(
        app.post("/api/v1/enterprises", &app.regulator, &stray)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("correction_reason"), "{v}");
}

#[tokio::test]
async fn traces_start_only_where_the_caller_may_look_and_people_are_shown_by_one_policy() {
    let w = world().await;
    let app = &w.app;
    let national = TestApp::key(&app.store, coldtrace_domain::Role::National, None, None).await;
    // Another province's regulator cannot start from an establishment, an origin or a person of this one.
    for q in [
        "establishment=SIF1234".to_string(),
        "origin=BR".to_string(),
        format!("person={ID_NO}"),
    ] {
        let (s, v) = json(
            app.get(&format!("/api/v1/trace?{q}"), &w.other_regulator)
                .await,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{q}: {v}");
        let (s, v) = json(app.get(&format!("/api/v1/trace?{q}"), &app.regulator).await).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert!(!v["holders"].as_array().unwrap().is_empty(), "{q}: {v}");
    }
    let people = |v: &Value| v["people"].as_array().unwrap().clone();
    let path = format!("/api/v1/trace?code={VICTIM_CODE}&people=true");
    // Without a stated purpose: masked, even for the province's regulator; the key never carries the number.
    let (s, v) = json(app.get(&path, &app.regulator).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p = &people(&v)[0];
    assert_ne!(p["name"], "李强", "{p}");
    assert_ne!(p["phone"], "13912345678", "{p}");
    assert!(!v.to_string().contains(ID_NO), "{v}");
    // With one: the province's regulator sees name and phone; the identity number stays masked.
    let (s, v) = json(
        app.get(&format!("{path}&purpose=核酸阳性排查"), &app.regulator)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let p = &people(&v)[0];
    assert_eq!(p["name"], "李强", "{p}");
    assert_eq!(p["phone"], "13912345678", "{p}");
    assert!(!v.to_string().contains(ID_NO), "{v}");
    // The national platform sees people and holders' contacts masked, as in every other view.
    let (s, v) = json(
        app.get(&format!("{path}&purpose=核酸阳性排查"), &national)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_ne!(people(&v)[0]["name"], "李强");
    for h in v["holders"].as_array().unwrap() {
        assert_ne!(h["contact_phone"], "13812341234", "{h}");
    }
}

#[tokio::test]
async fn every_read_route_shows_a_hostile_tenant_nothing_of_the_victims() {
    let w = world().await;
    let app = &w.app;
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // What would betray the victim's goods, people or documents in an answer.
    let markers = [
        w.batch.as_str(),
        w.victim.id.as_str(),
        w.victim.uscc.as_str(),
        VICTIM_CODE,
        ID_NO,
        "13912345678",
        "李强",
        w.document.as_str(),
        w.movement.as_str(),
        w.attachment.as_str(),
        w.product.as_str(),
        "HS-V1",
    ];
    let id_for = |path: &str| -> String {
        let p = path.trim_start_matches("/api/v1/national");
        let p = p.trim_start_matches("/api/v1");
        match p.split('/').nth(1).unwrap_or("") {
            "batches" | "requests" => w.batch.clone(),
            "documents" => w.document.clone(),
            "enterprises" => w.victim.id.clone(),
            "incidents" => w.incident.clone(),
            "movements" => w.movement.clone(),
            "products" => w.product.clone(),
            "findings" => w.finding.clone(),
            "epcis" => w.capture.clone(),
            _ => w.batch.clone(),
        }
    };
    let mut routes = 0;
    let mut tries = 0;
    // The audit trail first: it lists the caller's own requests, which name what it asked for.
    let mut paths: Vec<(&String, &Value)> = doc["paths"].as_object().unwrap().iter().collect();
    paths.sort_by_key(|(p, _)| p.as_str() != "/api/v1/audit");
    for (path, ops) in paths {
        if !ops.as_object().unwrap().contains_key("get")
            || matches!(path.as_str(), "/healthz" | "/metrics" | "/api/openapi.json")
        {
            continue;
        }
        routes += 1;
        let concrete = path
            .replace("{id}", &id_for(path))
            .replace("{code}", VICTIM_CODE)
            .replace("{sha256}", &w.attachment)
            .replace("{no}", "020220261000456789");
        // Lists and searches are asked about the victim's goods by every way they take.
        let variants: Vec<String> = match path.as_str() {
            "/api/v1/trace" => vec![
                format!("?code={VICTIM_CODE}"),
                format!("?batch={}", w.batch),
                format!("?place={}", w.victim.id),
                format!("?person={ID_NO}&people=true&purpose=x"),
                "?origin=BR".into(),
            ],
            "/api/v1/national/trace" => vec![format!("?batch={}", w.batch)],
            "/api/v1/batches"
            | "/api/v1/movements"
            | "/api/v1/products"
            | "/api/v1/enterprises" => {
                vec![String::new(), "?q=V-1".into(), format!("?q={VICTIM_CODE}")]
            }
            _ => vec![String::new()],
        };
        for v in &variants {
            for (who, key) in [
                ("an enterprise of the same province", &w.attacker.key),
                ("the regulator of another province", &w.other_regulator),
            ] {
                let url = app.url(&format!("{concrete}{v}"));
                let r = app.http.get(url).bearer_auth(key).send().await.unwrap();
                let s = r.status();
                let text = r.text().await.unwrap();
                tries += 1;
                for m in markers {
                    assert!(
                        !text.contains(m),
                        "{who}: GET {concrete}{v} ({s}) shows the victim's {m}: {text}"
                    );
                }
            }
        }
    }
    eprintln!("{routes} read routes, {tries} hostile reads, nothing of the victim's shown");
    assert!(routes >= 25, "{routes} read routes");
}

/// A province publishes and withdraws only its own enterprises' batches: the regulator of a province whose
/// enterprise merely received the goods may do neither, and a downstream holder sees the batch without its owner.
#[tokio::test]
async fn only_the_owners_province_publishes_or_withdraws_a_batch() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 61).await;
    let buyer = app.enterprise("320102", "wholesale_vendor", 62).await;
    let (_, batch) = app.batch(&importer, "PUB-1", "11020201109161").await;
    for (e, body) in [
        (
            &importer,
            json!({"kind": "receive", "batch_id": batch, "quantity": 10, "at": AT, "counterparty_name": "Frigorifico"}),
        ),
        (
            &importer,
            json!({"kind": "ship", "batch_id": batch, "quantity": 4, "at": AT, "counterparty_uscc": buyer.uscc, "counterparty_name": "江苏批发"}),
        ),
        (
            &buyer,
            json!({"kind": "receive", "batch_id": batch, "quantity": 4, "at": AT, "counterparty_uscc": importer.uscc, "counterparty_name": "天津进口"}),
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
    let js = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("32"),
        None,
    )
    .await;
    for action in ["publish", "withdraw"] {
        let r = app
            .post(
                &format!("/api/v1/batches/{batch}/{action}"),
                &js,
                &json!({}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{action} by the buyer's province"
        );
        let r = app
            .post(
                &format!("/api/v1/batches/{batch}/{action}"),
                &app.regulator,
                &json!({}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{action} by the owner's province"
        );
    }
    let seen: Value = app
        .get(&format!("/api/v1/batches/{batch}"), &buyer.key)
        .await
        .json()
        .await
        .unwrap();
    assert!(seen["owner_name"].is_null(), "{seen}");
    let own: Value = app
        .get(&format!("/api/v1/batches/{batch}"), &importer.key)
        .await
        .json()
        .await
        .unwrap();
    assert!(own["owner_name"].is_string(), "{own}");
}
