//! Three provinces and the national platform working together, over their real HTTP interfaces: the
//! cross-border chain the demo shows and the docking benchmark measures.
//!
//! A container imported in Tianjin (URL codes) is sold to a processor in Jiangsu (14-digit issued codes), who
//! makes two products from it and sells one to a supermarket in Zhejiang (USCC-based codes); Zhejiang records
//! the goods under its own name and id. A positive test in Zhejiang then reaches Tianjin and Jiangsu as
//! notices through the national platform.

use std::time::{Duration, Instant};

use anyhow::Context;
use coldtrace_service::{Platform, PlatformConfig, Tier};
use serde_json::{Value, json};

/// A platform as a client sees it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub base: String,
    /// A regulator's key (provinces) or a commander's key (national).
    pub key: String,
}

/// A USCC in `region` with a valid check character, the same for the same seed.
pub fn uscc(region: &str, seed: u32) -> String {
    coldtrace_gen::uscc_for_seed(region, seed)
        .as_str()
        .to_string()
}

async fn post(
    http: &reqwest::Client,
    url: String,
    key: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let r = http.post(&url).bearer_auth(key).json(&body).send().await?;
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(s.is_success(), "POST {url} answered {s}: {v}");
    Ok(v)
}

pub async fn get(http: &reqwest::Client, url: String, key: &str) -> anyhow::Result<Value> {
    let r = http.get(&url).bearer_auth(key).send().await?;
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(s.is_success(), "GET {url} answered {s}: {v}");
    Ok(v)
}

struct Ent {
    uscc: String,
    key: String,
}

async fn enterprise(
    http: &reqwest::Client,
    p: &Endpoint,
    region: &str,
    kind: &str,
    seed: u32,
    name: &str,
) -> anyhow::Result<Ent> {
    let u = uscc(region, seed);
    let v = post(
        http,
        format!("{}/api/v1/enterprises", p.base),
        &p.key,
        json!({"uscc": u, "name": name, "kind": kind, "region": region,
               "contact_name": "李明", "contact_phone": "13912345678", "self_commitment": true}),
    )
    .await?;
    let id = v["enterprises"][0].as_str().context("enterprise id")?;
    let k = post(
        http,
        format!("{}/api/v1/enterprises/{id}/credentials", p.base),
        &p.key,
        json!({}),
    )
    .await?;
    Ok(Ent {
        uscc: u,
        key: k["api_key"].as_str().context("api key")?.to_string(),
    })
}

async fn batch(
    http: &reqwest::Client,
    p: &Endpoint,
    e: &Ent,
    product: &str,
    batch_no: &str,
    qty: u32,
    extra: Value,
) -> anyhow::Result<String> {
    let pid = uuid::Uuid::now_v7().to_string();
    let mut b = json!({"product_id": pid, "batch_no": batch_no, "quantity": qty, "unit": "kg"});
    if let Some(o) = extra.as_object() {
        for (k, v) in o {
            b[k] = v.clone();
        }
    }
    let v = post(
        http,
        format!("{}/api/v1/submissions", p.base),
        &e.key,
        json!({"products": [{"id": pid, "name": product, "category": "livestock_poultry_meat", "origin_country": "BR"}],
               "batches": [b]}),
    )
    .await?;
    Ok(v["batches"][0].as_str().context("batch id")?.to_string())
}

async fn mv(http: &reqwest::Client, p: &Endpoint, e: &Ent, body: Value) -> anyhow::Result<()> {
    post(http, format!("{}/api/v1/movements", p.base), &e.key, body).await?;
    Ok(())
}

/// What the chain created.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Zhejiang's id of the batch that will test positive.
    pub positive_batch: String,
    /// The code Tianjin's platform issued for the imported batch.
    pub tianjin_code: Option<String>,
    pub jiangsu_codes: Vec<String>,
    pub zhejiang_code: Option<String>,
}

fn at(d: u32, h: u32) -> String {
    format!("2026-11-{d:02}T{h:02}:00:00+08:00")
}

/// Records the cross-border chain in the three provinces. `seed` keeps USCCs apart between runs on one store.
pub async fn chain(
    http: &reqwest::Client,
    tj: &Endpoint,
    js: &Endpoint,
    zj: &Endpoint,
    seed: u32,
) -> anyhow::Result<Chain> {
    let importer = enterprise(
        http,
        tj,
        "120116",
        "importer",
        seed,
        "天津港进口贸易有限公司",
    )
    .await?;
    let processor = enterprise(
        http,
        js,
        "320506",
        "processor",
        seed + 1,
        "苏州食品加工有限公司",
    )
    .await?;
    let wholesaler = enterprise(
        http,
        js,
        "320102",
        "wholesale_vendor",
        seed + 2,
        "南京众彩批发商户",
    )
    .await?;
    let shop = enterprise(http, zj, "330106", "supermarket", seed + 3, "杭州生鲜超市").await?;
    let cert = format!("1201000202611{:05}", seed % 100_000);
    let a1 = batch(http, tj, &importer, "冷冻牛腩", &format!("BR-{seed}"), 1000,
        json!({"inspection_cert_no": cert, "declaration_no": "020220261000456789", "port_of_entry": "天津新港", "import_date": "2026-11-01"})).await?;
    mv(http, tj, &importer, json!({"kind": "receive", "batch_id": a1, "quantity": 1000, "at": at(1, 8), "counterparty_name": "Frigorifico Exemplo S.A."})).await?;
    mv(http, tj, &importer, json!({"kind": "ship", "batch_id": a1, "quantity": 400, "at": at(2, 8), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州食品加工有限公司"})).await?;

    let b_in = batch(
        http,
        js,
        &processor,
        "冷冻牛腩",
        &format!("BR-{seed}"),
        400,
        json!({"inspection_cert_no": cert}),
    )
    .await?;
    let b_p1 = batch(
        http,
        js,
        &processor,
        "牛肉丸",
        &format!("WX-{seed}-1"),
        250,
        json!({}),
    )
    .await?;
    let b_p2 = batch(
        http,
        js,
        &processor,
        "牛肉片",
        &format!("WX-{seed}-2"),
        150,
        json!({}),
    )
    .await?;
    mv(http, js, &processor, json!({"kind": "receive", "batch_id": b_in, "quantity": 400, "at": at(2, 16), "counterparty_uscc": importer.uscc, "counterparty_name": "天津港进口贸易有限公司"})).await?;
    mv(
        http,
        js,
        &processor,
        json!({"kind": "transform", "at": at(3, 9),
        "inputs": [{"batch_id": b_in, "quantity": 400}],
        "outputs": [{"batch_id": b_p1, "quantity": 250}, {"batch_id": b_p2, "quantity": 150}]}),
    )
    .await?;
    mv(http, js, &processor, json!({"kind": "ship", "batch_id": b_p1, "quantity": 100, "at": at(4, 8), "counterparty_uscc": shop.uscc, "counterparty_name": "杭州生鲜超市"})).await?;
    mv(http, js, &processor, json!({"kind": "ship", "batch_id": b_p2, "quantity": 50, "at": at(4, 9), "counterparty_uscc": wholesaler.uscc, "counterparty_name": "南京众彩批发商户"})).await?;
    mv(http, js, &wholesaler, json!({"kind": "receive", "batch_id": b_p2, "quantity": 50, "at": at(4, 15), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州食品加工有限公司"})).await?;

    let c1 = batch(
        http,
        zj,
        &shop,
        "牛肉丸（冷冻）",
        &format!("HZ-{seed}"),
        100,
        json!({}),
    )
    .await?;
    mv(http, zj, &shop, json!({"kind": "receive", "batch_id": c1, "quantity": 100, "at": at(4, 14), "counterparty_uscc": processor.uscc, "counterparty_name": "苏州食品加工有限公司"})).await?;
    mv(
        http,
        zj,
        &shop,
        json!({"kind": "sell", "batch_id": c1, "quantity": 30, "at": at(5, 10)}),
    )
    .await?;

    let code = |v: &Value| {
        v["codes"]
            .as_array()
            .and_then(|c| c.first())
            .and_then(|c| c["value"].as_str())
            .map(str::to_string)
    };
    let tj_b = get(
        http,
        format!("{}/api/v1/batches/{a1}", tj.base),
        &importer.key,
    )
    .await?;
    let zj_b = get(http, format!("{}/api/v1/batches/{c1}", zj.base), &shop.key).await?;
    let mut jiangsu_codes = Vec::new();
    for b in [&b_in, &b_p1, &b_p2] {
        let v = get(
            http,
            format!("{}/api/v1/batches/{b}", js.base),
            &processor.key,
        )
        .await?;
        jiangsu_codes.extend(code(&v));
    }
    Ok(Chain {
        positive_batch: c1,
        tianjin_code: code(&tj_b),
        jiangsu_codes,
        zhejiang_code: code(&zj_b),
    })
}

/// Waits until the national platform has every message of these provinces.
pub async fn drained(
    http: &reqwest::Client,
    provinces: &[&Endpoint],
    timeout: Duration,
) -> anyhow::Result<()> {
    let t = Instant::now();
    for p in provinces {
        loop {
            let v = get(http, format!("{}/api/v1/docking", p.base), &p.key).await?;
            if v["pending"] == 0 {
                break;
            }
            anyhow::ensure!(
                t.elapsed() < timeout,
                "{} still has {} messages to deliver",
                p.base,
                v["pending"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// How many notices a province has received.
pub async fn notice_count(http: &reqwest::Client, p: &Endpoint) -> anyhow::Result<usize> {
    let v = get(http, format!("{}/api/v1/notices", p.base), &p.key).await?;
    Ok(v.as_array().map(Vec::len).unwrap_or(0))
}

/// Waits until every province in `wait_for` has one more notice than `before`; answers how long that took
/// from the moment the positive test was accepted, and the incident id.
pub async fn positive_test(
    http: &reqwest::Client,
    zj: &Endpoint,
    batch: &str,
    wait_for: &[&Endpoint],
    timeout: Duration,
) -> anyhow::Result<(Duration, String)> {
    let mut before = Vec::new();
    for p in wait_for {
        before.push(notice_count(http, p).await?);
    }
    let t = Instant::now();
    let v = post(
        http,
        format!("{}/api/v1/incidents", zj.base),
        &zj.key,
        json!({"kind": "batch_sample", "batch_id": batch, "positive_at": at(6, 9), "note": "外包装核酸阳性"}),
    )
    .await?;
    let id = v["id"].as_str().unwrap_or_default().to_string();
    loop {
        let mut all = true;
        for (p, b) in wait_for.iter().zip(&before) {
            if notice_count(http, p).await? <= *b {
                all = false;
                break;
            }
        }
        if all {
            return Ok((t.elapsed(), id));
        }
        anyhow::ensure!(
            t.elapsed() < timeout,
            "notices did not arrive within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The demo's platforms in one process: the national platform and the provinces added to it, each with its own
/// listener and store, talking over HTTP exactly as separate processes do.
pub struct Federation {
    pub national: Endpoint,
    secrets: std::collections::HashMap<String, String>,
    http: reqwest::Client,
}

async fn spawn(state: coldtrace_api::AppState) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(coldtrace_api::serve(
        listener,
        state,
        coldtrace_api::shutdown_signal(),
    ));
    Ok(base)
}

impl Federation {
    /// Starts the national platform under `data/national` with docking clients for 12, 32 and 33.
    pub async fn start(data: &std::path::Path) -> anyhow::Result<Self> {
        use coldtrace_domain::Role;
        use coldtrace_store::Store;
        let store = crate::open_store(&data.join("national"))?;
        let mut secrets = std::collections::HashMap::new();
        for p in ["12", "32", "33"] {
            let (_, secret) = coldtrace_service::credentials::register_docking_client(
                store.as_ref(),
                p,
                None,
                None,
            )
            .await?;
            secrets.insert(p.to_string(), secret);
        }
        let key = coldtrace_service::credentials::issue_key(
            store.as_ref(),
            Role::National,
            None,
            None,
            "国家冷链食品追溯指挥",
            None,
        )
        .await?;
        let platform = Platform::start(
            store.clone() as std::sync::Arc<dyn Store>,
            PlatformConfig::new(Tier::National),
        )
        .await?;
        let base = spawn(coldtrace_api::AppState::with_limits(
            std::sync::Arc::new(platform),
            coldtrace_api::limits::RateLimits::unlimited(),
        ))
        .await?;
        println!("  national command platform on {base}");
        Ok(Self {
            national: Endpoint { base, key },
            secrets,
            http: reqwest::Client::new(),
        })
    }

    /// How a province reaches the national platform.
    pub fn link(&self, province: &str) -> coldtrace_service::docking::NationalLink {
        coldtrace_service::docking::NationalLink {
            url: self.national.base.clone(),
            client_id: format!("province-{province}"),
            secret: self.secrets.get(province).cloned().unwrap_or_default(),
            province: province.to_string(),
            ca_pem: None,
        }
    }

    /// Starts a provincial platform under `data/p{code}` issuing codes in `scheme`, docked to the national one.
    pub async fn province(
        &self,
        data: &std::path::Path,
        code: &str,
        scheme: coldtrace_domain::CodeScheme,
    ) -> anyhow::Result<Endpoint> {
        use coldtrace_domain::{ProvinceCode, Role};
        use coldtrace_store::Store;
        let store = crate::open_store(&data.join(format!("p{code}")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        store.enable_docking(coldtrace_store::DockingConfig {
            province: code.into(),
            issuer: Some(coldtrace_domain::code::Issuer {
                scheme,
                province: code.into(),
                host: addr.to_string(),
            }),
        });
        let p = ProvinceCode::parse(code).map_err(|e| anyhow::anyhow!("{e}"))?;
        let key = coldtrace_service::credentials::issue_key(
            store.as_ref(),
            Role::Regulator,
            Some(code),
            None,
            &format!("{}市场监管局", p.name()),
            None,
        )
        .await?;
        let platform = Platform::start(
            store.clone() as std::sync::Arc<dyn Store>,
            PlatformConfig {
                national: Some(self.link(code)),
                ..PlatformConfig::new(Tier::Province(p.clone()))
            },
        )
        .await?;
        let state = coldtrace_api::AppState::with_limits(
            std::sync::Arc::new(platform),
            coldtrace_api::limits::RateLimits::unlimited(),
        );
        let base = format!("http://{addr}");
        tokio::spawn(coldtrace_api::serve(
            listener,
            state,
            coldtrace_api::shutdown_signal(),
        ));
        println!(
            "  provincial platform of {} ({code}) on {base}, issuing {} codes",
            p.name(),
            scheme.as_str()
        );
        Ok(Endpoint { base, key })
    }

    /// The chain across three provinces, the positive test in the third, notices acknowledged; prints what
    /// happened and how long the notices took.
    pub async fn cross_border(
        &self,
        tj: &Endpoint,
        js: &Endpoint,
        zj: &Endpoint,
    ) -> anyhow::Result<()> {
        let http = &self.http;
        let c = chain(http, tj, js, zj, 7_001).await?;
        println!("  cross-border chain recorded; codes issued by each province's platform:");
        println!(
            "    Tianjin  (url):    {}",
            c.tianjin_code.as_deref().unwrap_or("-")
        );
        println!("    Jiangsu  (issued): {}", c.jiangsu_codes.join(", "));
        println!(
            "    Zhejiang (uscc):   {}",
            c.zhejiang_code.as_deref().unwrap_or("-")
        );
        let t = Instant::now();
        drained(http, &[tj, js, zj], Duration::from_secs(120)).await?;
        println!(
            "  every province's outbox delivered to the national platform ({:.1} s)",
            t.elapsed().as_secs_f64()
        );
        let (took, incident) = positive_test(
            http,
            zj,
            &c.positive_batch,
            &[tj, js],
            Duration::from_secs(30),
        )
        .await?;
        println!(
            "  positive test in Zhejiang: notices received in Tianjin and Jiangsu {:.1} ms after it was registered",
            took.as_secs_f64() * 1000.0
        );
        let n = &self.national;
        let ni = get(
            http,
            format!("{}/api/v1/national/incidents/{incident}", n.base),
            &n.key,
        )
        .await?;
        let mut by_rel = std::collections::BTreeMap::<String, Vec<String>>::new();
        for b in ni["trace"]["batches"].as_array().into_iter().flatten() {
            by_rel
                .entry(b["relation"].as_str().unwrap_or("").to_string())
                .or_default()
                .push(format!(
                    "{} {} ({})",
                    b["province"].as_str().unwrap_or(""),
                    b["product"].as_str().unwrap_or(""),
                    b["owner_name"].as_str().unwrap_or("?")
                ));
        }
        for (rel, v) in &by_rel {
            println!("    {rel}: {}", v.join("; "));
        }
        for l in ni["trace"]["links"].as_array().into_iter().flatten() {
            println!(
                "    link {}→{} by {} (confidence {})",
                l["from"]["province"].as_str().unwrap_or(""),
                l["to"]["province"].as_str().unwrap_or(""),
                l["basis"].as_str().unwrap_or(""),
                l["confidence"]
            );
        }
        println!("    not yet acknowledged: {}", ni["not_acknowledged"]);
        for p in [tj, js] {
            let ns = get(http, format!("{}/api/v1/notices", p.base), &p.key).await?;
            if let Some(id) = ns[0]["notice"]["id"].as_str() {
                post(
                    http,
                    format!("{}/api/v1/notices/{id}/ack", p.base),
                    &p.key,
                    json!({"note": "已核查封存"}),
                )
                .await?;
            }
        }
        let t = Instant::now();
        loop {
            let ni = get(
                http,
                format!("{}/api/v1/national/incidents/{incident}", n.base),
                &n.key,
            )
            .await?;
            if ni["not_acknowledged"] == json!([]) {
                println!(
                    "    acknowledged by Tianjin and Jiangsu; the national view shows no province outstanding ({:.1} ms)",
                    t.elapsed().as_secs_f64() * 1000.0
                );
                break;
            }
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(30),
                "acknowledgements did not arrive"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}
