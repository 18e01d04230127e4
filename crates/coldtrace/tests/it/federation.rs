//! A federation on loopback: the national platform and three provincial platforms as separate processes, each
//! with its own store, and the goods chain they record. Frozen beef is imported in Tianjin (URL codes), made into
//! balls and slices in Jiangsu (14-digit issued codes) and sold in Zhejiang (USCC-based codes).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{Server, key, run, stdout};

/// The provinces of the federation, with the code scheme each one issues.
pub const PROVINCES: [(&str, &str); 3] = [("12", "url"), ("32", "issued"), ("33", "uscc")];

/// The inspection certificate of the imported container: the key that survives every border.
pub const CERT: &str = "120100020261101001";

pub fn uscc(region: &str, seed: u32) -> String {
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

/// November 2026 in China Standard Time.
pub fn at(d: u32, h: u32) -> String {
    format!("2026-11-{d:02}T{h:02}:00:00+08:00")
}

/// Polls `f` until it holds; fails the test after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut f: F)
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

/// A client whose `post` and `get` fail the test on any status but success.
pub struct Http {
    pub c: reqwest::Client,
}

impl Http {
    pub fn new() -> Http {
        Http {
            c: reqwest::Client::new(),
        }
    }

    pub async fn post(&self, url: String, key: &str, body: Value) -> Value {
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

    pub async fn get(&self, url: String, key: &str) -> Value {
        let r = self.c.get(&url).bearer_auth(key).send().await.unwrap();
        let s = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(s.is_success(), "GET {url} -> {s}: {v}");
        v
    }
}

/// The docking secret a province shares with the national platform, in a file under `root`.
fn secret_file(root: &Path, province: &str) -> PathBuf {
    let f = root.join(format!("secret-{province}"));
    std::fs::write(&f, format!("docking-secret-of-province-{province}")).unwrap();
    f
}

/// The national command platform: its store, the fixed address the provinces know it by, and a commander key.
pub struct National {
    data: PathBuf,
    port: u16,
    pub url: String,
    pub commander: String,
    server: Option<Server>,
}

impl National {
    /// Registers a docking client for each of the federation's provinces, makes a commander key and starts the
    /// platform.
    pub fn start(root: &Path) -> National {
        let data = root.join("national");
        for (p, _) in PROVINCES {
            let o = run(&[
                "dock-client",
                "--data",
                data.to_str().unwrap(),
                "--province",
                p,
                "--secret-file",
                secret_file(root, p).to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(
                stdout(&o).trim(),
                format!("province-{p}:docking-secret-of-province-{p}")
            );
        }
        let commander = key(&data, &["--role", "national"]);
        let port = free_port();
        let mut national = National {
            data,
            port,
            url: format!("http://127.0.0.1:{port}"),
            commander,
            server: None,
        };
        national.restart();
        national
    }

    /// SIGKILL: the platform stops without shutting down.
    pub fn stop(&mut self) {
        self.server
            .take()
            .expect("the national platform is running")
            .kill9();
    }

    /// Starts the platform again on the same address and store.
    pub fn restart(&mut self) {
        assert!(self.server.is_none(), "the national platform is running");
        self.server = Some(Server::start_with(&[
            "serve",
            "--data",
            self.data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--role",
            "national",
        ]));
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The commander's view of an incident: the cross-province trace and every notice's delivery.
    pub async fn incident(&self, http: &Http, id: &str) -> Value {
        http.get(
            self.endpoint(&format!("/api/v1/national/incidents/{id}")),
            &self.commander,
        )
        .await
    }

    pub async fn overview(&self, http: &Http) -> Value {
        http.get(self.endpoint("/api/v1/national/overview"), &self.commander)
            .await
    }
}

/// A provincial platform docked to the national platform, with a regulator key.
pub struct Province {
    server: Server,
    pub code: &'static str,
    pub regulator: String,
}

/// An enterprise registered at a province, with its API key.
pub struct Ent {
    pub uscc: String,
    pub key: String,
}

impl Province {
    fn start(root: &Path, code: &'static str, scheme: &str, national: &str) -> Province {
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

    pub fn url(&self, path: &str) -> String {
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

    /// The codes the platform holds for a batch, as (scheme, value).
    pub async fn codes(&self, http: &Http, owner: &Ent, batch: &str) -> Vec<(String, String)> {
        let v = http
            .get(self.url(&format!("/api/v1/batches/{batch}")), &owner.key)
            .await;
        v["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["scheme"].as_str().unwrap().to_string(),
                    c["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The docking outbox: (last sequence written, last sequence the national platform acknowledged).
    pub async fn outbox(&self, http: &Http) -> (u64, u64) {
        let v = http.get(self.url("/api/v1/docking"), &self.regulator).await;
        (
            v["outbox"]["last_seq"].as_u64().unwrap(),
            v["outbox"]["delivered_seq"].as_u64().unwrap(),
        )
    }

    /// Waits until everything the province wrote is at the national platform.
    pub async fn wait_delivered(&self, http: &Http) {
        wait_for("outbox drained", Duration::from_secs(10), || async {
            let (last, delivered) = self.outbox(http).await;
            last == delivered
        })
        .await;
    }

    /// The notices this province received from the national platform.
    pub async fn notices(&self, http: &Http) -> Vec<Value> {
        http.get(self.url("/api/v1/notices"), &self.regulator)
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// Every batch this province has been notified of, sorted.
    pub async fn notified(&self, http: &Http) -> Vec<String> {
        let mut batches = Vec::new();
        for n in self.notices(http).await {
            for l in n["notice"]["lines"].as_array().unwrap() {
                batches.push(l["batch"].as_str().unwrap().to_string());
            }
        }
        batches.sort();
        batches
    }

    pub async fn ack(&self, http: &Http, notice: &Value, body: Value) -> Value {
        let id = notice["notice"]["id"].as_str().unwrap();
        http.post(
            self.url(&format!("/api/v1/notices/{id}/ack")),
            &self.regulator,
            body,
        )
        .await
    }

    /// The local incident a notice opened here.
    pub async fn local_incident(&self, http: &Http, notice: &Value) -> Value {
        let id = notice["incident"].as_str().unwrap();
        http.get(
            self.url(&format!("/api/v1/incidents/{id}")),
            &self.regulator,
        )
        .await
    }
}

/// The national platform and Tianjin (12), Jiangsu (32) and Zhejiang (33), in a temp dir of their own.
pub struct Federation {
    pub http: Http,
    pub national: National,
    pub tianjin: Province,
    pub jiangsu: Province,
    pub zhejiang: Province,
    // Last, so the processes stop before their stores go.
    _dir: TempDir,
}

/// Tianjin's part of the chain: the importer received a container and sold part of it to Jiangsu.
pub struct Imported {
    pub importer: Ent,
    /// Tianjin's batch of the container.
    pub container: String,
}

/// The whole chain, by each province's own ids.
pub struct Goods {
    pub importer: Ent,
    pub processor: Ent,
    pub shop: Ent,
    /// Tianjin: the imported container (1000 kg, 400 sold to the processor).
    pub container: String,
    /// Jiangsu: the 400 kg the processor received, all made into balls and slices.
    pub received: String,
    /// Jiangsu: 250 kg of beef balls, 100 shipped to the Zhejiang supermarket.
    pub balls: String,
    /// Jiangsu: 150 kg of beef slices, 50 sold to a Nanjing wholesaler.
    pub slices: String,
    /// Zhejiang: the supermarket's batch of the balls, under its own id and name.
    pub shelf: String,
}

impl Federation {
    pub fn start() -> Federation {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let national = National::start(root);
        let [tianjin, jiangsu, zhejiang] =
            PROVINCES.map(|(code, scheme)| Province::start(root, code, scheme, &national.url));
        Federation {
            http: Http::new(),
            national,
            tianjin,
            jiangsu,
            zhejiang,
            _dir: dir,
        }
    }

    pub fn provinces(&self) -> [&Province; 3] {
        [&self.tianjin, &self.jiangsu, &self.zhejiang]
    }

    /// Tianjin: the importer receives a container and sells part of it to a Jiangsu processor.
    pub async fn record_import(&self) -> Imported {
        let (http, a) = (&self.http, &self.tianjin);
        let importer = a
            .enterprise(http, "120116", "importer", 1, "天津进口商")
            .await;
        let container = a
            .batch(http, &importer, "冻牛腩", "BR-2611-01", 1000,
                json!({"inspection_cert_no": CERT, "declaration_no": "020220261000456789", "port_of_entry": "天津新港", "import_date": "2026-11-01"}))
            .await;
        a.mv(http, &importer, json!({"kind": "receive", "batch_id": container, "quantity": 1000, "at": at(1, 8), "counterparty_name": "Frigorifico Exemplo S.A."})).await;
        a.mv(http, &importer, json!({"kind": "ship", "batch_id": container, "quantity": 400, "at": at(2, 8), "counterparty_uscc": uscc("320506", 2), "counterparty_name": "苏州肉制品加工厂"})).await;
        Imported {
            importer,
            container,
        }
    }

    /// Jiangsu processes the goods and ships balls to Zhejiang and slices to a wholesaler; the Zhejiang
    /// supermarket receives the balls and sells some.
    pub async fn record_processing_and_sale(&self, imported: Imported) -> Goods {
        let (http, b, c) = (&self.http, &self.jiangsu, &self.zhejiang);
        let Imported {
            importer,
            container,
        } = imported;
        let processor = b
            .enterprise(http, "320506", "processor", 2, "苏州肉制品加工厂")
            .await;
        assert_eq!(processor.uscc, uscc("320506", 2));
        let wholesaler = b
            .enterprise(http, "320102", "wholesale_vendor", 4, "南京批发商")
            .await;
        let received = b
            .batch(
                http,
                &processor,
                "冻牛腩",
                "BR-2611-01",
                400,
                json!({"inspection_cert_no": CERT}),
            )
            .await;
        let balls = b
            .batch(http, &processor, "牛肉丸", "WX-0301", 250, json!({}))
            .await;
        let slices = b
            .batch(http, &processor, "牛肉片", "WX-0302", 150, json!({}))
            .await;
        b.mv(http, &processor, json!({"kind": "receive", "batch_id": received, "quantity": 400, "at": at(2, 16), "counterparty_uscc": importer.uscc, "counterparty_name": "天津进口商"})).await;
        b.mv(
            http,
            &processor,
            json!({"kind": "transform", "at": at(3, 9),
            "inputs": [{"batch_id": received, "quantity": 400}],
            "outputs": [{"batch_id": balls, "quantity": 250}, {"batch_id": slices, "quantity": 150}]}),
        )
        .await;
        b.mv(http, &processor, json!({"kind": "ship", "batch_id": balls, "quantity": 100, "at": at(4, 8), "counterparty_uscc": uscc("330106", 3), "counterparty_name": "杭州超市"})).await;
        b.mv(http, &processor, json!({"kind": "ship", "batch_id": slices, "quantity": 50, "at": at(4, 9), "counterparty_uscc": wholesaler.uscc, "counterparty_name": "南京批发商"})).await;
        b.mv(http, &wholesaler, json!({"kind": "receive", "batch_id": slices, "quantity": 50, "at": at(4, 15), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州肉制品加工厂"})).await;

        let shop = c
            .enterprise(http, "330106", "supermarket", 3, "杭州超市")
            .await;
        assert_eq!(shop.uscc, uscc("330106", 3));
        // Zhejiang records the goods under its own id and name: no code is shared with Jiangsu.
        let shelf = c
            .batch(http, &shop, "牛肉丸（冷冻）", "HZ-1104", 100, json!({}))
            .await;
        c.mv(http, &shop, json!({"kind": "receive", "batch_id": shelf, "quantity": 100, "at": at(4, 14), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州肉制品加工厂"})).await;
        c.mv(
            http,
            &shop,
            json!({"kind": "sell", "batch_id": shelf, "quantity": 30, "at": at(5, 10)}),
        )
        .await;
        Goods {
            importer,
            processor,
            shop,
            container,
            received,
            balls,
            slices,
            shelf,
        }
    }

    /// The whole chain, recorded while the national platform is up.
    pub async fn record_goods(&self) -> Goods {
        let imported = self.record_import().await;
        self.record_processing_and_sale(imported).await
    }

    /// Zhejiang's regulator registers a positive sample of the supermarket's balls; answers the incident id.
    pub async fn positive_test(&self, goods: &Goods) -> String {
        let c = &self.zhejiang;
        let inc = self
            .http
            .post(c.url("/api/v1/incidents"), &c.regulator,
                json!({"kind": "batch_sample", "batch_id": goods.shelf, "positive_at": at(6, 9), "note": "外包装核酸阳性"}))
            .await;
        inc["id"].as_str().unwrap().to_string()
    }

    /// Waits until every implicated batch has reached its province: the container in Tianjin, the received beef,
    /// the balls and the slices in Jiangsu. An incident may be traced before all the data behind it is in;
    /// goods found later go out in a further notice.
    pub async fn wait_until_notified(&self, goods: &Goods, limit: Duration) {
        let mut jiangsu = vec![
            goods.received.clone(),
            goods.balls.clone(),
            goods.slices.clone(),
        ];
        jiangsu.sort();
        wait_for("every implicated batch notified", limit, || async {
            self.tianjin.notified(&self.http).await == vec![goods.container.clone()]
                && self.jiangsu.notified(&self.http).await == jiangsu
        })
        .await;
    }

    /// Waits until every province's outbox is delivered, checks that the national platform holds each message
    /// once, and answers its overview.
    pub async fn delivered_exactly_once(&self) -> Value {
        for p in self.provinces() {
            p.wait_delivered(&self.http).await;
        }
        let ov = self.national.overview(&self.http).await;
        let total: u64 = ov["counts"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("messages_"))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum();
        let mut sent = 0;
        for p in self.provinces() {
            sent += p.outbox(&self.http).await.0;
        }
        assert_eq!(total, sent, "{ov}");
        ov
    }

    /// Checks the national trace of the incident: back to Tianjin's importer, forward to everything made from
    /// the same goods, over links the national platform found itself.
    pub async fn assert_traced_across_provinces(&self, goods: &Goods, incident: &str) {
        let ni = self.national.incident(&self.http, incident).await;
        let rel = |p: &Province, batch: &str| -> String {
            ni["trace"]["batches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["province"] == p.code && x["batch"] == batch)
                .map(|x| x["relation"].as_str().unwrap().to_string())
                .unwrap_or_else(|| {
                    panic!(
                        "{}/{batch} not in the national trace: {}",
                        p.code, ni["trace"]
                    )
                })
        };
        assert_eq!(rel(&self.zhejiang, &goods.shelf), "positive");
        assert_eq!(rel(&self.jiangsu, &goods.balls), "upstream");
        assert_eq!(rel(&self.jiangsu, &goods.received), "upstream");
        assert_eq!(rel(&self.tianjin, &goods.container), "upstream");
        assert_eq!(rel(&self.jiangsu, &goods.slices), "downstream");
        let importer_batch = ni["trace"]["batches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["batch"] == goods.container.as_str())
            .unwrap();
        assert_eq!(importer_batch["owner_uscc"], goods.importer.uscc.as_str());
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
    }
}
