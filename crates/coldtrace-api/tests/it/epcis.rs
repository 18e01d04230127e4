//! EPCIS 2.0 over HTTP: GS1's examples captured (202, a job that ends in success), the same events again
//! recognised as duplicates, a wrong event under rollback and under proceed, the standard queries across
//! identifier forms with a `Link` to the next page, the tenant rules, and a job a stop interrupted finishing
//! after the restart.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, capture, epcis_document, json};

fn corpus(path: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../coldtrace-epcis/tests/corpus")
        .join(path);
    let text = std::fs::read_to_string(&p).unwrap();
    serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap()
}

fn q(params: &[(&str, &str)]) -> String {
    let qs: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    format!("/epcis/events?{}", qs.join("&"))
}

async fn events(app: &TestApp, key: &str, path: &str) -> (Vec<Value>, Option<String>) {
    let r = app.get(path, key).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let link = r
        .headers()
        .get("link")
        .map(|l| l.to_str().unwrap().to_string());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "EPCISQueryDocument");
    let list = v["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    (list, link)
}

#[tokio::test]
async fn gs1_examples_are_captured_once_and_queried_in_any_identifier_form() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 81).await;
    let doc = corpus("gs1/JSON/Example_9.6.1-ObjectEvent.jsonld");
    let n = doc["epcisBody"]["eventList"].as_array().unwrap().len() as u64;
    let job = capture(&app, &e.key, &doc, None).await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["captured"], n, "{job}");
    assert_eq!(job["captureErrorBehaviour"], "rollback");
    // The same document again: every event recognised by its hash.
    let again = capture(&app, &e.key, &doc, None).await;
    assert_eq!(
        (again["captured"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(n)),
        "{again}"
    );
    // An EPC captured as a URN is found by its Digital Link and by a pattern of its GTIN.
    let (all, _) = events(&app, &e.key, "/epcis/events").await;
    assert_eq!(all.len() as u64, n);
    assert!(all.iter().all(|ev| ev["recordTime"].is_string()));
    let (by_dl, _) = events(
        &app,
        &e.key,
        &q(&[("MATCH_epc", "https://id.gs1.org/01/10614141073464/21/2017")]),
    )
    .await;
    let (by_urn, _) = events(
        &app,
        &e.key,
        &q(&[("MATCH_epc", "urn:epc:id:sgtin:0614141.107346.2017")]),
    )
    .await;
    let (by_pattern, _) = events(
        &app,
        &e.key,
        &q(&[("MATCH_anyEPC", "urn:epc:idpat:sgtin:0614141.107346.*")]),
    )
    .await;
    assert!(!by_dl.is_empty());
    assert_eq!(by_dl, by_urn);
    assert!(by_pattern.len() >= by_dl.len());
    let (shipping, _) = events(&app, &e.key, &q(&[("EQ_bizStep", "shipping")])).await;
    let (receiving, _) = events(
        &app,
        &e.key,
        &q(&[("EQ_bizStep", "https://ref.gs1.org/cbv/BizStep-receiving")]),
    )
    .await;
    assert_eq!(shipping.len() + receiving.len(), n as usize);
    assert!(
        shipping
            .iter()
            .all(|ev| ev["bizStep"].as_str().unwrap().ends_with("shipping"))
    );
    // Pages of one, following the Link.
    let mut path = q(&[("perPage", "1")]);
    let mut seen = Vec::new();
    loop {
        let (page, link) = events(&app, &e.key, &path).await;
        assert!(page.len() <= 1);
        seen.extend(page);
        match link {
            Some(l) => {
                path = l
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(seen, all);
    // Wrong parameters are named.
    for (k, v) in [
        ("GE_eventDate", "2026-01-01T00:00:00Z"),
        ("EQ_action", "SHIPPED"),
        ("perPage", "0"),
    ] {
        let (s, body) = json(app.get(&q(&[(k, v)]), &e.key).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{k}: {body}");
        assert!(body.to_string().contains(k), "{body}");
    }
}

#[tokio::test]
async fn a_wrong_event_fails_the_capture_under_rollback_and_is_skipped_under_proceed() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 82).await;
    let doc = corpus(
        "openepcis/Capture/Invalid/ObjectEvent_with_non_standard_bizStep_in_second_event.json",
    );
    let job = capture(&app, &e.key, &doc, None).await;
    assert_eq!(
        (job["success"].as_bool(), job["captured"].as_u64()),
        (Some(false), Some(0)),
        "{job}"
    );
    let err = &job["errors"][0];
    assert_eq!(err["event"], 1, "{job}");
    assert_eq!(err["pointer"], "/epcisBody/eventList/1/bizStep", "{job}");
    assert!(events(&app, &e.key, "/epcis/events").await.0.is_empty());
    let job = capture(&app, &e.key, &doc, Some("proceed")).await;
    assert_eq!(
        (job["success"].as_bool(), job["captured"].as_u64()),
        (Some(false), Some(1)),
        "{job}"
    );
    assert_eq!(events(&app, &e.key, "/epcis/events").await.0.len(), 1);
    // Not a document at all: refused at once.
    let r = app
        .http
        .post(app.url("/epcis/capture"))
        .bearer_auth(&e.key)
        .body(json!({"type": "Invoice"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .http
        .post(app.url("/epcis/capture"))
        .bearer_auth(&e.key)
        .header("GS1-Capture-Error-Behaviour", "sometimes")
        .body(doc.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn each_party_sees_only_the_events_its_scope_allows() {
    let app = TestApp::spawn().await;
    let a = app.enterprise("120116", "importer", 83).await;
    let b = app.enterprise("120104", "importer", 84).await;
    let outsider = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Regulator,
        Some("32"),
        None,
    )
    .await;
    let ev = |serial: &str| {
        json!({"type": "ObjectEvent", "eventTime": "2026-03-01T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
               "action": "OBSERVE", "bizStep": "shipping",
               "epcList": [format!("https://id.gs1.org/01/09520123456788/21/{serial}")]})
    };
    let job = capture(&app, &a.key, &epcis_document(vec![ev("A1")]), None).await;
    capture(&app, &b.key, &epcis_document(vec![ev("B1")]), None).await;
    let (mine, _) = events(&app, &a.key, "/epcis/events").await;
    assert_eq!(mine.len(), 1);
    assert!(mine[0].to_string().contains("A1"));
    let (regulator, _) = events(&app, &app.regulator, "/epcis/events").await;
    assert_eq!(regulator.len(), 2);
    let (other, _) = events(&app, &outsider, "/epcis/events").await;
    assert!(other.is_empty());
    // Another enterprise's job is not there.
    let path = format!("/epcis/capture/{}", job["captureID"].as_str().unwrap());
    assert_eq!(app.get(&path, &b.key).await.status(), StatusCode::NOT_FOUND);
    // Only enterprises capture.
    let r = app
        .http
        .post(app.url("/epcis/capture"))
        .bearer_auth(&app.regulator)
        .body(epcis_document(vec![ev("R1")]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.http.get(app.url("/epcis/events")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_capture_a_stop_interrupted_finishes_after_the_restart() {
    let mut app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 85).await;
    let id = uuid::Uuid::now_v7();
    let doc = corpus("gs1/JSON/Example_9.6.3-AggregationEvent.jsonld");
    let enterprise = uuid::Uuid::parse_str(&e.id).unwrap();
    // Acknowledged (the job and its document are stored), then the process stops before running it.
    app.store
        .create_capture_job(
            id,
            enterprise,
            coldtrace_store::epcis::ErrorBehaviour::Rollback,
            doc.to_string(),
            1,
        )
        .await
        .unwrap();
    app.restart().await;
    let path = format!("/epcis/capture/{id}");
    for _ in 0..500 {
        let (_, v) = json(app.get(&path, &e.key).await).await;
        if v["running"] == false {
            assert_eq!(v["success"], true, "{v}");
            assert!(v["captured"].as_u64().unwrap() >= 1, "{v}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the interrupted job did not finish");
}

/// The rules of the open findings, sorted.
async fn open_rules(app: &TestApp) -> Vec<String> {
    let (_, f) = json(
        app.get("/api/v1/findings?status=open&limit=100", &app.regulator)
            .await,
    )
    .await;
    let mut r: Vec<String> = f["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

/// An enterprise registered with a GLN, and its key.
async fn registered(app: &TestApp, seed: u32, kind: &str, gln: &str) -> crate::support::Ent {
    let u = crate::support::uscc("120116", seed);
    let (s, v) = json(
        app.post(
            "/api/v1/enterprises",
            &app.regulator,
            &json!({"uscc": u, "name": format!("GS1企业{seed}"), "kind": kind, "region": "120116", "gln": gln,
                    "contact_name": "王伟", "contact_phone": "13812341234", "self_commitment": true}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["enterprises"][0].as_str().unwrap().to_string();
    let (_, k) = json(
        app.post(
            &format!("/api/v1/enterprises/{id}/credentials"),
            &app.regulator,
            &json!({}),
        )
        .await,
    )
    .await;
    crate::support::Ent {
        id,
        uscc: u,
        key: k["api_key"].as_str().unwrap().to_string(),
    }
}

fn gln(body: &str) -> String {
    format!("{body}{}", coldtrace_domain::id::gs1_check_digit(body))
}

const GTIN: &str = "09520123456788";
const CLASS: &str = "https://id.gs1.org/01/09520123456788/10/L1";

/// What a trace says, without ids and timings: each holder (USCC, on hand, lots) and each flow (from, to,
/// quantity, how).
async fn projection(
    app: &TestApp,
) -> (
    Vec<(String, String, i64, usize)>,
    Vec<(String, String, i64, String)>,
) {
    let (s, t) = json(
        app.get(
            &format!(
                "/api/v1/trace?code={}&direction=both",
                percent_encoding::utf8_percent_encode(
                    &format!("(01){GTIN}(10)L1"),
                    percent_encoding::NON_ALPHANUMERIC
                )
            ),
            &app.regulator,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let name_of = |key: &Value| -> String {
        t["holders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| &h["key"] == key)
            .map(|h| {
                h["uscc"]
                    .as_str()
                    .unwrap_or(h["name"].as_str().unwrap())
                    .to_string()
            })
            .unwrap_or_else(|| key.to_string())
    };
    let mut holders: Vec<_> = t["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["uscc"].as_str().unwrap_or("").to_string(),
                h["name"].as_str().unwrap().to_string(),
                (h["on_hand"].as_f64().unwrap() * 1000.0) as i64,
                h["lots"].as_array().unwrap().len(),
            )
        })
        .collect();
    holders.sort();
    let mut flows: Vec<_> = t["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                name_of(&f["from"]),
                name_of(&f["to"]),
                (f["quantity"].as_f64().unwrap() * 1000.0) as i64,
                f["via"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    flows.sort();
    (holders, flows)
}

#[tokio::test]
async fn a_chain_captured_only_as_epcis_traces_as_the_same_chain_recorded_natively() {
    let native = TestApp::spawn().await;
    let epcis = TestApp::spawn().await;
    let (gi, gw) = (gln("952012300001"), gln("952012300002"));
    let mut parties = vec![];
    for app in [&native, &epcis] {
        let i = registered(app, 91, "importer", &gi).await;
        let w = registered(app, 92, "wholesale_vendor", &gw).await;
        let pid = uuid::Uuid::now_v7().to_string();
        let (s, v) = json(
            app.post(
                "/api/v1/products",
                &i.key,
                &json!({"id": pid, "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat", "origin_country": "BR", "gtin": GTIN}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        parties.push((i, w, pid));
    }
    // Natively: the batch, the shipment, the receipt, the sale.
    let (i, w, pid) = &parties[0];
    for (key, body) in [
        (
            &i.key,
            json!({"batches": [{"product_id": pid, "batch_no": "L1", "quantity": 1000, "unit": "kg",
                                      "trace_codes": [{"value": format!("(01){GTIN}(10)L1")}]}]}),
        ),
        (
            &i.key,
            json!({"movements": [{"kind": "ship", "trace_code": CLASS, "quantity": 600, "at": "2026-03-02T08:00:00+08:00",
                                        "counterparty_uscc": w.uscc, "counterparty_name": "GS1企业92"}]}),
        ),
        (
            &w.key,
            json!({"movements": [{"kind": "receive", "trace_code": CLASS, "quantity": 600, "at": "2026-03-02T15:00:00+08:00",
                                        "counterparty_uscc": i.uscc, "counterparty_name": "GS1企业91"}]}),
        ),
        (
            &w.key,
            json!({"movements": [{"kind": "sell", "trace_code": CLASS, "quantity": 200, "at": "2026-03-03T10:00:00+08:00"}]}),
        ),
    ] {
        let (s, v) = json(native.post("/api/v1/submissions", key, &body).await).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // As EPCIS only: commissioning, shipping to the wholesaler's GLN, its receiving, its retail sale.
    let (i, w, _) = &parties[1];
    let ev = |step: &str, action: &str, at: &str, q: i64, extra: Value| {
        let mut e = json!({"type": "ObjectEvent", "eventTime": at, "eventTimeZoneOffset": "+08:00", "action": action,
                           "bizStep": step, "quantityList": [{"epcClass": CLASS, "quantity": q, "uom": "KGM"}]});
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e
    };
    let job = capture(
        &epcis,
        &i.key,
        &epcis_document(vec![
            ev("commissioning", "ADD", "2026-03-01T08:00:00+08:00", 1000, json!({})),
            ev("shipping", "OBSERVE", "2026-03-02T08:00:00+08:00", 600,
               json!({"destinationList": [{"type": "owning_party", "destination": format!("https://id.gs1.org/417/{gw}")}]})),
        ]),
        None,
    )
    .await;
    assert_eq!(
        (job["success"].as_bool(), job["captured"].as_u64()),
        (Some(true), Some(2)),
        "{job}"
    );
    assert_eq!(job["notes"], json!([]), "{job}");
    let job = capture(
        &epcis,
        &w.key,
        &epcis_document(vec![
            ev("receiving", "OBSERVE", "2026-03-02T15:00:00+08:00", 600,
               json!({"sourceList": [{"type": "owning_party", "source": format!("urn:epc:id:pgln:9520123.00001")}]})),
            ev("retail_selling", "OBSERVE", "2026-03-03T10:00:00+08:00", 200, json!({})),
        ]),
        None,
    )
    .await;
    assert_eq!(
        (job["success"].as_bool(), job["captured"].as_u64()),
        (Some(true), Some(2)),
        "{job}"
    );
    let (a, b) = (projection(&native).await, projection(&epcis).await);
    assert_eq!(a, b);
    assert_eq!(a.0.len(), 2, "{a:?}");
    assert_eq!(a.1.len(), 2, "{a:?}");
    // Capturing the same events again changes nothing in the trace.
    let again = capture(
        &epcis,
        &w.key,
        &epcis_document(vec![ev(
            "retail_selling",
            "OBSERVE",
            "2026-03-03T10:00:00+08:00",
            200,
            json!({}),
        )]),
        None,
    )
    .await;
    assert_eq!(again["duplicates"], 1, "{again}");
    assert_eq!(projection(&epcis).await, b);
    // The same ledger checks run on both: selling more than is on hand makes the same findings.
    let over = capture(
        &epcis,
        &w.key,
        &epcis_document(vec![ev(
            "retail_selling",
            "OBSERVE",
            "2026-03-04T10:00:00+08:00",
            5000,
            json!({}),
        )]),
        None,
    )
    .await;
    assert_eq!(over["captured"], 1, "{over}");
    let (_, w0, _) = &parties[0];
    let (s, v) = json(
        native
            .post(
                "/api/v1/submissions",
                &w0.key,
                &json!({"movements": [{"kind": "sell", "trace_code": CLASS, "quantity": 5000, "at": "2026-03-04T10:00:00+08:00"}]}),
            )
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (fa, fb) = (open_rules(&native).await, open_rules(&epcis).await);
    assert!(!fa.is_empty(), "no finding for the over-sale");
    assert_eq!(fa, fb);
    // The key-data-element sheet: one row per event, the GS1 lot code and who assigned it, where the goods
    // came from and went to (by GLN), the EPCIS event as the reference document.
    let code = percent_encoding::utf8_percent_encode(
        &format!("(01){GTIN}(10)L1"),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let r = epcis
        .get(
            &format!("/api/v1/trace?code={code}&direction=both&format=kde_csv"),
            &epcis.regulator,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("trace-kde.csv")
    );
    let text = r.text().await.unwrap();
    let mut rd =
        csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = rd.headers().unwrap().clone();
    assert_eq!(headers.len(), coldtrace_service::export::KDE_HEADERS.len());
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{text}");
    let ship = rows
        .iter()
        .find(|r| r[0].contains("shipping") && !r[0].contains("sale"))
        .expect("a shipping row");
    assert_eq!(&ship[3], format!("(01){GTIN}(10)L1"));
    assert!(ship[4].contains(&gi), "{:?}", ship);
    assert!(ship[5].contains(GTIN), "{:?}", ship);
    assert_eq!(&ship[6], "600");
    assert_eq!(&ship[7], "kg");
    assert!(ship[8].contains(&gi) && ship[9].contains(&gw), "{:?}", ship);
    assert!(
        ship[11].contains("EPCIS") && ship[12].starts_with("ni:///sha-256;"),
        "{:?}",
        ship
    );
    let receive = rows
        .iter()
        .find(|r| r[0].contains("receiving"))
        .expect("a receiving row");
    assert!(
        receive[8].contains(&gi) && receive[9].contains(&gw),
        "{:?}",
        receive
    );
    let r = native
        .get(
            &format!("/api/v1/trace?code={code}&direction=both&format=kde_xlsx"),
            &native.regulator,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn an_event_the_ledger_rules_refuse_fails_the_capture_or_is_left_out_and_named() {
    use coldtrace_domain::checks::{CheckPolicy, Policy, Rule};
    let app = TestApp::spawn_with_checks(
        CheckPolicy::default().with(Rule::StockConservation, Policy::Reject),
    )
    .await;
    let i = registered(&app, 93, "importer", &gln("952012300003")).await;
    let (s, v) = json(
        app.post(
            "/api/v1/products",
            &i.key,
            &json!({"id": uuid::Uuid::now_v7(), "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat", "origin_country": "BR", "gtin": GTIN}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ev = |step: &str, action: &str, at: &str, q: i64| {
        json!({"type": "ObjectEvent", "eventTime": at, "eventTimeZoneOffset": "+08:00", "action": action,
               "bizStep": step, "quantityList": [{"epcClass": CLASS, "quantity": q, "uom": "KGM"}]})
    };
    let made = capture(
        &app,
        &i.key,
        &epcis_document(vec![
            ev("commissioning", "ADD", "2026-03-01T08:00:00+08:00", 1000),
            ev("receiving", "OBSERVE", "2026-03-01T09:00:00+08:00", 1000),
        ]),
        None,
    )
    .await;
    // The receipt has no source: a receipt names who the goods came from, as a native one must.
    assert_eq!(made["success"], false, "{made}");
    assert_eq!(made["errors"][0]["event"], 1, "{made}");
    assert!(
        made["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("counterparty"),
        "{made}"
    );
    let made = capture(
        &app,
        &i.key,
        &epcis_document(vec![ev(
            "commissioning",
            "ADD",
            "2026-03-01T08:00:00+08:00",
            1000,
        )]),
        None,
    )
    .await;
    assert_eq!(made["success"], true, "{made}");
    // Destroying more than on hand: refused by the rule, the whole capture under rollback.
    let doc = epcis_document(vec![
        ev("inspecting", "OBSERVE", "2026-03-02T08:00:00+08:00", 10),
        ev("destroying", "DELETE", "2026-03-02T09:00:00+08:00", 99999),
    ]);
    let job = capture(&app, &i.key, &doc, None).await;
    assert_eq!(
        (job["success"].as_bool(), job["captured"].as_u64()),
        (Some(false), Some(0)),
        "{job}"
    );
    assert_eq!(job["errors"][0]["event"], 1, "{job}");
    assert_eq!(
        job["errors"][0]["pointer"], "/epcisBody/eventList/1",
        "{job}"
    );
    // Under proceed the other event is stored.
    let job = capture(&app, &i.key, &doc, Some("proceed")).await;
    assert_eq!(
        (job["success"].as_bool(), job["captured"].as_u64()),
        (Some(false), Some(1)),
        "{job}"
    );
    // A transformation consumes its input in the input batch's unit and makes the output lot.
    let transform = |input_uom: &str| {
        json!({"type": "TransformationEvent", "eventTime": "2026-03-03T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
               "bizStep": "commissioning",
               "inputQuantityList": [{"epcClass": CLASS, "quantity": 100, "uom": input_uom}],
               "outputQuantityList": [{"epcClass": "https://id.gs1.org/01/09520123456788/10/L9", "quantity": 90, "uom": "KGM"}]})
    };
    let job = capture(&app, &i.key, &epcis_document(vec![transform("GRM")]), None).await;
    assert_eq!(job["success"], false, "{job}");
    assert!(
        job["errors"][0]["reason"].as_str().unwrap().contains("GRM"),
        "{job}"
    );
    // With the goods on hand (received from the exporter), the transformation is recorded.
    let (s, v) = json(
        app.post(
            "/api/v1/movements",
            &i.key,
            &json!({"kind": "receive", "trace_code": CLASS, "quantity": 1000, "at": "2026-03-02T07:00:00+08:00",
                    "counterparty_name": "Frigorifico Exemplo S.A."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let job = capture(&app, &i.key, &epcis_document(vec![transform("KGM")]), None).await;
    assert_eq!(job["success"], true, "{job}");
    let path = format!(
        "/api/v1/codes/{}",
        percent_encoding::utf8_percent_encode(
            "(01)09520123456788(10)L9",
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let (s, v) = json(app.get(&path, &i.key).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["batch"]["batch_no"], "L9", "{v}");
}
