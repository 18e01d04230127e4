//! The national platform and three provinces as separate processes on loopback: goods imported in Tianjin
//! (URL codes), processed in Jiangsu (14-digit issued codes), sold in Zhejiang (USCC-based codes); a positive
//! test in Zhejiang traced back to the importer and forward to every holder, notices delivered and
//! acknowledged; the national platform stopped in the middle, then everything delivered exactly once.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, key};

fn uscc(region: &str, seed: u32) -> String {
    coldtrace_gen::uscc_for_seed(region, seed)
        .as_str()
        .to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Http {
    c: reqwest::Client,
}

impl Http {
    async fn post(&self, url: String, key: &str, body: Value) -> Value {
        let r = self
            .c
            .post(&url)
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(s.is_success(), "POST {url} -> {s}: {v}");
        v
    }
    async fn get(&self, url: String, key: &str) -> Value {
        let r = self.c.get(&url).bearer_auth(key).send().await.unwrap();
        let s = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(s.is_success(), "GET {url} -> {s}: {v}");
        v
    }
}

struct Province {
    server: Server,
    code: &'static str,
    regulator: String,
}

fn secret_file(dir: &Path, province: &str) -> std::path::PathBuf {
    let f = dir.join(format!("secret-{province}"));
    std::fs::write(&f, format!("docking-secret-of-province-{province}")).unwrap();
    f
}

fn start_national(data: &Path, port: u16) -> Server {
    Server::start_with(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--role",
        "national",
    ])
}

fn start_province(root: &Path, code: &'static str, scheme: &str, national: &str) -> Province {
    let data = root.join(format!("p{code}"));
    let regulator = key(&data, &["--role", "regulator", "--province", code]);
    let server = Server::start_with(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--role",
        "province",
        "--province",
        code,
        "--national",
        national,
        "--secret-file",
        secret_file(root, code).to_str().unwrap(),
        "--code-scheme",
        scheme,
        "--public-host",
        &format!("trace.p{code}.example"),
    ]);
    Province {
        server,
        code,
        regulator,
    }
}

struct Ent {
    id: String,
    uscc: String,
    key: String,
}

impl Province {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    async fn enterprise(
        &self,
        http: &Http,
        region: &str,
        kind: &str,
        seed: u32,
        name: &str,
    ) -> Ent {
        let u = uscc(region, seed);
        let v = http
            .post(
                self.url("/api/v1/enterprises"),
                &self.regulator,
                json!({"uscc": u, "name": name, "kind": kind, "region": region,
                       "contact_name": "李明", "contact_phone": "13912345678", "self_commitment": true}),
            )
            .await;
        let id = v["enterprises"][0].as_str().unwrap().to_string();
        let k = http
            .post(
                self.url(&format!("/api/v1/enterprises/{id}/credentials")),
                &self.regulator,
                json!({}),
            )
            .await;
        Ent {
            id,
            uscc: u,
            key: k["api_key"].as_str().unwrap().to_string(),
        }
    }

    /// Registers a product and a batch of it; answers the batch id.
    async fn batch(
        &self,
        http: &Http,
        e: &Ent,
        product: &str,
        batch_no: &str,
        qty: u32,
        extra: Value,
    ) -> String {
        let pid = uuid::Uuid::now_v7().to_string();
        let mut b = json!({"product_id": pid, "batch_no": batch_no, "quantity": qty, "unit": "kg"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        let v = http
            .post(
                self.url("/api/v1/submissions"),
                &e.key,
                json!({"products": [{"id": pid, "name": product, "category": "livestock_poultry_meat", "origin_country": "BR"}],
                       "batches": [b]}),
            )
            .await;
        v["batches"][0].as_str().unwrap().to_string()
    }

    async fn mv(&self, http: &Http, e: &Ent, body: Value) {
        http.post(self.url("/api/v1/movements"), &e.key, body).await;
    }

    async fn outbox(&self, http: &Http) -> (u64, u64) {
        let v = http.get(self.url("/api/v1/docking"), &self.regulator).await;
        (
            v["outbox"]["last_seq"].as_u64().unwrap(),
            v["outbox"]["delivered_seq"].as_u64().unwrap(),
        )
    }

    async fn notices(&self, http: &Http) -> Vec<Value> {
        http.get(self.url("/api/v1/notices"), &self.regulator)
            .await
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Every batch a province has been notified of, sorted.
async fn notified(http: &Http, p: &Province) -> Vec<String> {
    let mut batches = Vec::new();
    for n in p.notices(http).await {
        for l in n["notice"]["lines"].as_array().unwrap() {
            batches.push(l["batch"].as_str().unwrap().to_string());
        }
    }
    batches.sort();
    batches
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn at(d: u32, h: u32) -> String {
    format!("2026-11-{d:02}T{h:02}:00:00+08:00")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_positive_test_in_one_province_reaches_every_province_through_the_national_platform() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let http = Http {
        c: reqwest::Client::new(),
    };
    // The national platform: a client per province, a commander key.
    let ndata = root.join("national");
    for p in ["12", "32", "33"] {
        let o = crate::support::run(&[
            "dock-client",
            "--data",
            ndata.to_str().unwrap(),
            "--province",
            p,
            "--secret-file",
            secret_file(root, p).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            crate::support::stdout(&o).trim(),
            format!("province-{p}:docking-secret-of-province-{p}")
        );
    }
    let commander = key(&ndata, &["--role", "national"]);
    let port = free_port();
    let national_url = format!("http://127.0.0.1:{port}");
    let national = start_national(&ndata, port);

    // Wrong credentials are refused before anything is read.
    let r = http
        .c
        .post(format!("{national_url}/docking/v1/messages"))
        .basic_auth("province-12", Some("wrong-secret-wrong-secret"))
        .json(&json!({"version": "1", "province": "12", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let a = start_province(root, "12", "url", &national_url);
    let b = start_province(root, "32", "issued", &national_url);
    let c = start_province(root, "33", "uscc", &national_url);

    // Province A, Tianjin: the importer receives a container and sells part of it to a Jiangsu processor.
    let importer = a
        .enterprise(&http, "120116", "importer", 1, "天津进口商")
        .await;
    let processor_uscc = uscc("320506", 2);
    let shop_uscc = uscc("330106", 3);
    let cert = "120100020261101001";
    let a1 = a
        .batch(&http, &importer, "冻牛腩", "BR-2611-01", 1000,
            json!({"inspection_cert_no": cert, "declaration_no": "020220261000456789", "port_of_entry": "天津新港", "import_date": "2026-11-01"}))
        .await;
    a.mv(&http, &importer, json!({"kind": "receive", "batch_id": a1, "quantity": 1000, "at": at(1, 8), "counterparty_name": "Frigorifico Exemplo S.A."})).await;
    a.mv(&http, &importer, json!({"kind": "ship", "batch_id": a1, "quantity": 400, "at": at(2, 8), "counterparty_uscc": processor_uscc, "counterparty_name": "苏州肉制品加工厂"})).await;
    // The platform issued a URL code in A's scheme for the batch.
    let v = http
        .get(a.url(&format!("/api/v1/batches/{a1}")), &importer.key)
        .await;
    let codes: Vec<String> = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap().to_string())
        .collect();
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("http://trace.p12.example/t/12")),
        "{codes:?}"
    );
    wait_for(
        "A's messages at the national platform",
        Duration::from_secs(10),
        || async {
            let (last, delivered) = a.outbox(&http).await;
            last > 0 && last == delivered
        },
    )
    .await;

    // The national platform goes down; B and C keep working, and C finds a positive test.
    national.kill9();
    let processor = b
        .enterprise(&http, "320506", "processor", 2, "苏州肉制品加工厂")
        .await;
    assert_eq!(processor.uscc, processor_uscc);
    let wholesaler = b
        .enterprise(&http, "320102", "wholesale_vendor", 4, "南京批发商")
        .await;
    let b_in = b
        .batch(
            &http,
            &processor,
            "冻牛腩",
            "BR-2611-01",
            400,
            json!({"inspection_cert_no": cert}),
        )
        .await;
    let b_p1 = b
        .batch(&http, &processor, "牛肉丸", "WX-0301", 250, json!({}))
        .await;
    let b_p2 = b
        .batch(&http, &processor, "牛肉片", "WX-0302", 150, json!({}))
        .await;
    b.mv(&http, &processor, json!({"kind": "receive", "batch_id": b_in, "quantity": 400, "at": at(2, 16), "counterparty_uscc": importer.uscc, "counterparty_name": "天津进口商"})).await;
    b.mv(
        &http,
        &processor,
        json!({"kind": "transform", "at": at(3, 9),
        "inputs": [{"batch_id": b_in, "quantity": 400}],
        "outputs": [{"batch_id": b_p1, "quantity": 250}, {"batch_id": b_p2, "quantity": 150}]}),
    )
    .await;
    b.mv(&http, &processor, json!({"kind": "ship", "batch_id": b_p1, "quantity": 100, "at": at(4, 8), "counterparty_uscc": shop_uscc, "counterparty_name": "杭州超市"})).await;
    b.mv(&http, &processor, json!({"kind": "ship", "batch_id": b_p2, "quantity": 50, "at": at(4, 9), "counterparty_uscc": wholesaler.uscc, "counterparty_name": "南京批发商"})).await;
    b.mv(&http, &wholesaler, json!({"kind": "receive", "batch_id": b_p2, "quantity": 50, "at": at(4, 15), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州肉制品加工厂"})).await;

    let shop = c
        .enterprise(&http, "330106", "supermarket", 3, "杭州超市")
        .await;
    assert_eq!(shop.uscc, shop_uscc);
    // C records the goods under its own id and name: no code is shared with B.
    let c1 = c
        .batch(&http, &shop, "牛肉丸（冷冻）", "HZ-1104", 100, json!({}))
        .await;
    c.mv(&http, &shop, json!({"kind": "receive", "batch_id": c1, "quantity": 100, "at": at(4, 14), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州肉制品加工厂"})).await;
    c.mv(
        &http,
        &shop,
        json!({"kind": "sell", "batch_id": c1, "quantity": 30, "at": at(5, 10)}),
    )
    .await;
    let inc = http
        .post(c.url("/api/v1/incidents"), &c.regulator,
            json!({"kind": "batch_sample", "batch_id": c1, "positive_at": at(6, 9), "note": "外包装核酸阳性"}))
        .await;
    let incident = inc["id"].as_str().unwrap().to_string();
    let (b_last, b_delivered) = b.outbox(&http).await;
    let (c_last, c_delivered) = c.outbox(&http).await;
    assert!(
        b_last > b_delivered && c_last > c_delivered,
        "queued while the national platform is down"
    );
    // The provinces keep retrying for a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The national platform comes back on the same address and catches up. The provinces deliver in their
    // own order, so an incident may be traced before all the data behind it is in; goods found later go out
    // in a further notice. What counts is that every implicated batch reaches its province.
    let national = start_national(&ndata, port);
    let started = Instant::now();
    let mut b_expected = vec![b_in.clone(), b_p1.clone(), b_p2.clone()];
    b_expected.sort();
    wait_for(
        "every implicated batch notified",
        Duration::from_secs(40),
        || async {
            notified(&http, &a).await == vec![a1.clone()] && notified(&http, &b).await == b_expected
        },
    )
    .await;
    eprintln!(
        "after the outage, every notice arrived {:?} after the national platform restarted",
        started.elapsed()
    );

    // The national trace: back to A's importer, forward to everything made from the same goods.
    let ni = http
        .get(
            format!("{national_url}/api/v1/national/incidents/{incident}"),
            &commander,
        )
        .await;
    let rel = |p: &str, batch: &str| -> String {
        ni["trace"]["batches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["province"] == p && x["batch"] == batch)
            .map(|x| x["relation"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{p}/{batch} not in the national trace: {}", ni["trace"]))
    };
    assert_eq!(rel("33", &c1), "positive");
    assert_eq!(rel("32", &b_p1), "upstream");
    assert_eq!(rel("32", &b_in), "upstream");
    assert_eq!(rel("12", &a1), "upstream");
    assert_eq!(rel("32", &b_p2), "downstream");
    let importer_batch = ni["trace"]["batches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["batch"] == a1.as_str())
        .unwrap();
    assert_eq!(importer_batch["owner_uscc"], importer.uscc.as_str());
    assert_eq!(importer_batch["owner_name"], "天津进口商");
    let bases: Vec<&str> = ni["trace"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["basis"].as_str().unwrap())
        .collect();
    assert!(
        bases.contains(&"inspection_cert") && bases.contains(&"evidence"),
        "{bases:?}"
    );
    let mut waiting: Vec<&str> = ni["not_acknowledged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    waiting.sort();
    waiting.dedup();
    assert_eq!(waiting, vec!["12", "32"]);

    // Each province shows its notices, with the local incidents that located its holders.
    let b_notices = b.notices(&http).await;
    let mut holders: Vec<(String, f64)> = Vec::new();
    let mut entry_seen = false;
    for nb in &b_notices {
        assert_eq!(nb["notice"]["from_province"], "33");
        for l in nb["notice"]["lines"].as_array().unwrap() {
            if l["batch"] == b_in.as_str() {
                assert_eq!(l["sale_date"], "2026-11-02");
                assert_eq!(l["seller_uscc"], importer.uscc.as_str());
                assert!(
                    l["codes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["scheme"] == "issued")
                );
                entry_seen = true;
            }
        }
        let local = nb["incident"].as_str().unwrap();
        let li = http
            .get(b.url(&format!("/api/v1/incidents/{local}")), &b.regulator)
            .await;
        for t in li["tasks"].as_array().unwrap() {
            holders.push((
                t["holder_name"].as_str().unwrap().to_string(),
                t["on_hand"].as_f64().unwrap(),
            ));
        }
    }
    assert!(entry_seen);
    holders.sort_by(|x, y| x.partial_cmp(y).unwrap());
    holders.dedup();
    // The processor still holds 150 of the balls and 100 of the slices; the wholesaler 50 slices.
    assert_eq!(
        holders,
        vec![
            ("南京批发商".into(), 50.0),
            ("苏州肉制品加工厂".into(), 100.0),
            ("苏州肉制品加工厂".into(), 150.0)
        ]
    );
    let a_notices = a.notices(&http).await;
    let la = http
        .get(
            a.url(&format!(
                "/api/v1/incidents/{}",
                a_notices[0]["incident"].as_str().unwrap()
            )),
            &a.regulator,
        )
        .await;
    assert_eq!(la["tasks"][0]["holder_name"], "天津进口商");
    assert_eq!(la["tasks"][0]["on_hand"], 600.0);

    // Acknowledgements travel back; the national view shows who has not acknowledged.
    for nb in &b_notices {
        let ack = http
            .post(
                b.url(&format!(
                    "/api/v1/notices/{}/ack",
                    nb["notice"]["id"].as_str().unwrap()
                )),
                &b.regulator,
                json!({"note": "已封存"}),
            )
            .await;
        assert!(ack["acked_at_ms"].is_i64());
    }
    wait_for(
        "B's acknowledgements at the national platform",
        Duration::from_secs(10),
        || async {
            let ni = http
                .get(
                    format!("{national_url}/api/v1/national/incidents/{incident}"),
                    &commander,
                )
                .await;
            ni["not_acknowledged"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p == "12")
                && !ni["not_acknowledged"].as_array().unwrap().is_empty()
        },
    )
    .await;
    for na in &a_notices {
        let id = na["notice"]["id"].as_str().unwrap();
        http.post(
            a.url(&format!("/api/v1/notices/{id}/ack")),
            &a.regulator,
            json!({}),
        )
        .await;
        // Acknowledging twice is harmless.
        http.post(
            a.url(&format!("/api/v1/notices/{id}/ack")),
            &a.regulator,
            json!({}),
        )
        .await;
    }
    wait_for("every acknowledgement", Duration::from_secs(10), || async {
        let ni = http
            .get(
                format!("{national_url}/api/v1/national/incidents/{incident}"),
                &commander,
            )
            .await;
        ni["not_acknowledged"] == json!([])
    })
    .await;
    let ni = http
        .get(
            format!("{national_url}/api/v1/national/incidents/{incident}"),
            &commander,
        )
        .await;
    let located: usize = ni["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["province"] == "32")
        .map(|d| {
            assert_eq!(d["ack"]["note"], "已封存");
            d["ack"]["holders"].as_array().unwrap().len()
        })
        .sum();
    assert!(located >= 3, "the acknowledgements locate B's holders");
    let acks_expected = (a_notices.len() + b_notices.len()) as u64 + 1;

    // A request for detail: where are the slices now? Jiangsu's platform answers by itself.
    let req = http
        .post(
            format!("{national_url}/api/v1/national/requests"),
            &commander,
            json!({"province": "32", "batches": [b_p2], "reason": "核查牛肉片去向"}),
        )
        .await;
    let req_id = req["id"].as_str().unwrap().to_string();
    wait_for(
        "the answer to the request for detail",
        Duration::from_secs(10),
        || async {
            let d = http
                .get(
                    format!("{national_url}/api/v1/national/requests/{req_id}"),
                    &commander,
                )
                .await;
            d["acked_at_ms"].is_i64()
        },
    )
    .await;
    let d = http
        .get(
            format!("{national_url}/api/v1/national/requests/{req_id}"),
            &commander,
        )
        .await;
    let mut located: Vec<(String, i64)> = d["ack"]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["on_hand_milli"].as_i64().unwrap(),
            )
        })
        .collect();
    located.sort();
    assert_eq!(
        located,
        vec![
            ("南京批发商".into(), 50_000),
            ("苏州肉制品加工厂".into(), 100_000)
        ],
        "{d}"
    );
    assert!(
        b.notices(&http)
            .await
            .iter()
            .all(|n| n["notice"]["purpose"] == "notice" || n["incident"].is_null()),
        "a request opens no incident"
    );

    // Exactly once: every province's outbox delivered, and the national platform holds each message once.
    for p in [&a, &b, &c] {
        wait_for("outbox drained", Duration::from_secs(10), || async {
            let (last, delivered) = p.outbox(&http).await;
            last == delivered
        })
        .await;
    }
    let ov = http
        .get(
            format!("{national_url}/api/v1/national/overview"),
            &commander,
        )
        .await;
    let total: u64 = ov["counts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("messages_"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    let mut sent = 0;
    for p in [&a, &b, &c] {
        sent += p.outbox(&http).await.0;
    }
    assert_eq!(total, sent, "{ov}");
    assert_eq!(ov["counts"]["messages_incident"], 1);
    assert_eq!(ov["counts"]["messages_notice_ack"], acks_expected);
    // Restarting the national platform rebuilds the same view from its store.
    national.kill9();
    let national = start_national(&ndata, port);
    let again = http
        .get(
            format!("{national_url}/api/v1/national/overview"),
            &commander,
        )
        .await;
    assert_eq!(again["counts"], ov["counts"]);
    let ni2 = http
        .get(
            format!("{national_url}/api/v1/national/incidents/{incident}"),
            &commander,
        )
        .await;
    assert_eq!(
        ni2["deliveries"], ni["deliveries"],
        "no notice issued twice"
    );
    // A province's regulator is not a commander.
    let r = http
        .c
        .get(format!("{national_url}/api/v1/national/overview"))
        .bearer_auth(&c.regulator)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "a provincial key means nothing at the national platform"
    );
    drop(national);
    let _ = (a.code, b.code, c.code, &shop.id, &processor.id);
}
