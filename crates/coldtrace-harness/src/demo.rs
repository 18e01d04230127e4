//! `coldtrace demo`: the national command platform and three provincial platforms, each on its own listener
//! and embedded store under one data directory, each province issuing codes in a different scheme: Tianjin (12,
//! URL codes) loaded with generated data and an imported ledger, Jiangsu (32, 14-digit issued codes) and
//! Zhejiang (33, USCC-based codes). A chain crosses all three; a positive test in Zhejiang reaches the others as
//! notices through the national platform. `--no-serve` runs everything on free ports, prints the summary and
//! exits.

use coldtrace_store::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use coldtrace_api::AppState;
use coldtrace_domain::{EnterpriseKind, ProvinceCode, Role};
use coldtrace_gen::{GenConfig, Population, generate};
use coldtrace_ledger::{Format, ImportOptions};
use serde_json::{Value, json};

use coldtrace_domain::CodeScheme;
use coldtrace_domain::code::Issuer;
use coldtrace_service::{Platform, PlatformConfig, Tier};
use coldtrace_store::DockingConfig;

use crate::federation::{Endpoint, Federation};
use coldtrace_service::credentials::issue_key as issue;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the demo (recreated on every run).
    #[arg(long, default_value = "coldtrace-data/demo")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<String>,
    /// Movements to generate.
    #[arg(long, default_value_t = 20_000)]
    pub movements: u64,
    /// Run the scenario, print its summary and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// Runs the demo; `default_listen` is the configured listen address, used unless `--listen` is given.
pub async fn run(default_listen: String, a: Args) -> anyhow::Result<()> {
    if a.data.exists() {
        std::fs::remove_dir_all(&a.data)
            .with_context(|| format!("clearing {}", a.data.display()))?;
    }
    let store = crate::open_store(&a.data)?;
    let tianjin = ProvinceCode::parse("12").expect("constant");
    let listen = if a.no_serve {
        "127.0.0.1:0".to_string()
    } else {
        a.listen.clone().unwrap_or(default_listen)
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");

    store.enable_docking(DockingConfig {
        province: "12".into(),
        issuer: Some(Issuer {
            scheme: CodeScheme::Url,
            province: "12".into(),
            host: addr.to_string(),
        }),
    });
    println!(
        "coldtrace demo: provincial platform of {} ({}), data in {}",
        tianjin.name(),
        tianjin,
        a.data.display()
    );

    // 0. The national command platform, with a docking client for each province.
    let fed = Federation::start(&a.data).await?;

    // 1. Generated chain data: Tianjin port imports, onward flows to Shanghai and Guangdong.
    let cfg = GenConfig {
        movements: a.movements,
        ..Default::default()
    };
    let pb = crate::progress_bar(a.movements, "movements");
    let t = Instant::now();
    let (summary, pop) = generate(store.as_ref(), &cfg, &|d, _| pb.set_position(d)).await?;
    pb.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "  generated {} enterprises, {} batches, {} documents, {} movements ({} processing runs, {} cross-province flows) in {:.2} s ({:.0} movements/s)",
        summary.enterprises,
        summary.batches,
        summary.documents,
        summary.movements,
        summary.transformations,
        summary.cross_province_flows,
        secs,
        summary.movements as f64 / secs
    );

    // 2. Keys for a regulator and two enterprises.
    let importer = pop
        .of_kind(EnterpriseKind::Importer)
        .find(|m| m.enterprise.region.province() == tianjin)
        .context("no Tianjin importer")?
        .clone();
    let first_station = pop
        .of_kind(EnterpriseKind::FirstStationColdStore)
        .find(|m| m.enterprise.region.province() == tianjin)
        .context("no Tianjin first station")?
        .clone();
    let regulator_key = issue(
        store.as_ref(),
        Role::Regulator,
        Some("12"),
        None,
        "天津市市场监管委",
        None,
    )
    .await?;
    let importer_key = issue(
        store.as_ref(),
        Role::Enterprise,
        None,
        Some(importer.enterprise.uscc.as_str()),
        "demo importer",
        None,
    )
    .await?;
    let admin_key = issue(store.as_ref(), Role::Admin, None, None, "demo admin", None).await?;

    // 3. The importer's Excel ledger, saved by Chinese Excel as GBK CSV.
    let ledger_path = a.data.join("ledger-demo.csv");
    let csv = demo_ledger(
        &importer.enterprise.uscc.to_string(),
        &first_station.enterprise,
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    std::fs::write(&ledger_path, &gbk)?;
    let report = coldtrace_ledger::import(
        store.as_ref(),
        importer.enterprise.id,
        &format!("enterprise:{}", importer.enterprise.id),
        &gbk,
        Format::Csv,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await?;
    println!(
        "  imported ledger {} ({}): {} rows, {} imported, {} errors",
        ledger_path.display(),
        report.encoding,
        report.rows,
        report.imported_rows,
        report.errors.len()
    );
    // 3b. Customs' feed for the imports (with the differences a cross-check meets) and Tianjin's census of
    // cold-chain enterprises (some written otherwise, some not registered), then one sweep, so that the customs,
    // findings and statistics pages have something to show.
    let customs_key = issue(
        store.as_ref(),
        Role::Customs,
        Some("12"),
        None,
        "天津海关",
        None,
    )
    .await?;
    let today = coldtrace_domain::time::day_at(jiff::Timestamp::now().as_millisecond());
    let imports = crate::bench_customs::imports(store.as_ref()).await?;
    let (feed, faults) =
        coldtrace_gen::customs::customs_feed(&imports, imports.len() + 200, today, 7, 0.03);
    let now = jiff::Timestamp::now().as_millisecond();
    let mut opened = 0;
    for chunk in feed.chunks(5_000) {
        opened += store
            .put_declarations(
                tianjin.clone(),
                "customs:demo".into(),
                chunk.to_vec(),
                Default::default(),
                now,
            )
            .await?
            .opened;
    }
    println!(
        "  customs feed: {} declarations ({} declared lighter, {} other containers, {} left out, {} never recorded): {opened} findings",
        feed.len(),
        faults.lighter,
        faults.other_container,
        faults.undeclared,
        faults.unrecorded
    );
    let census = demo_census(&pop, &tianjin);
    let n = store
        .put_census(tianjin.clone(), "demo".into(), census, now)
        .await?;
    coldtrace_service::platform::sweep(store.as_ref(), &Default::default()).await?;
    coldtrace_service::statistics::record_coverage(store.as_ref(), &tianjin, now).await?;
    println!("  census of Tianjin's cold-chain enterprises: {n} entries");
    let stats = store.stats(&coldtrace_store::Scope::All).await?;
    println!(
        "  store: {} enterprises, {} products, {} batches, {} documents, {} movements, {} trace codes",
        stats.enterprises,
        stats.products,
        stats.batches,
        stats.documents,
        stats.movements,
        stats.trace_codes
    );

    let platform = Platform::start(
        store.clone() as Arc<dyn Store>,
        PlatformConfig {
            national: Some(fed.link("12")),
            ..PlatformConfig::new(Tier::Province(tianjin))
        },
    )
    .await?;
    let state = AppState::new(Arc::new(platform));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(coldtrace_api::serve(listener, state, async move {
        tokio::select! { _ = stop_rx => {}, _ = coldtrace_api::shutdown_signal() => {} }
    }));

    // 4. The scenario over real HTTP, ending with a positive test.
    scenario(&base, &importer_key, &regulator_key, &pop).await?;
    positive_test(&base, &regulator_key, store.as_ref()).await?;

    // The regulator approves the ledger's batch for the public lookup.
    let http = reqwest::Client::new();
    let demo_code = "(01)06901234567892(10)DEMO-BR-001";
    let public_url = format!("{base}/t/{}", coldtrace_api::routes::public::enc(demo_code));
    let found = crate::federation::get(
        &http,
        format!(
            "{base}/api/v1/codes/{}",
            coldtrace_api::routes::public::enc(demo_code)
        ),
        &regulator_key,
    )
    .await?;
    if let Some(id) = found["batch"]["id"].as_str() {
        let r = http
            .post(format!("{base}/api/v1/batches/{id}/publish"))
            .bearer_auth(&regulator_key)
            .json(&json!({}))
            .send()
            .await?;
        println!(
            "  published DEMO-BR-001 for the public lookup -> {}",
            r.status()
        );
    }

    // 4b. The importer's EPCIS: the lot packed on a pallet (SSCC), and its reefer's sensor report during storage,
    // which shows a temperature excursion.
    epcis_demo(&http, &base, &importer_key, demo_code).await?;

    // 5. Two more provinces, and a chain across all three.
    let tj = Endpoint {
        base: base.clone(),
        key: regulator_key.clone(),
    };
    let js = fed.province(&a.data, "32", CodeScheme::Issued).await?;
    let zj = fed.province(&a.data, "33", CodeScheme::Uscc).await?;
    fed.cross_border(&tj, &js, &zj).await?;

    if a.no_serve {
        let _ = stop_tx.send(());
        server.await??;
        println!("demo finished");
        return Ok(());
    }
    println!();
    println!("coldtrace listening on {base}");
    println!("  health:    curl {base}/healthz");
    println!("  OpenAPI:   curl {base}/api/openapi.json");
    println!("  metrics:   curl {base}/metrics");
    println!("  regulator: curl -H 'Authorization: Bearer {regulator_key}' {base}/api/v1/stats");
    println!(
        "  customs:   curl -H 'Authorization: Bearer {customs_key}' {base}/api/v1/customs/declarations"
    );
    println!(
        "  importer:  curl -H 'Authorization: Bearer {importer_key}' '{base}/api/v1/codes/(01)06901234567892(10)DEMO-BR-001'"
    );
    println!(
        "  console:   {base}/console (sign in with the regulator key above; the importer's key opens the enterprise portal)"
    );
    println!("  public:    {public_url}");
    println!(
        "  EPCIS:     curl -H 'Authorization: Bearer {importer_key}' '{base}/epcis/events?EQ_bizStep=packing'"
    );
    println!("  admin:     {admin_key}");
    println!(
        "  national:  curl -H 'Authorization: Bearer {}' {}/api/v1/national/overview",
        fed.national.key, fed.national.base
    );
    println!("  Jiangsu:   {} (regulator key {})", js.base, js.key);
    println!("  Zhejiang:  {} (regulator key {})", zj.base, zj.key);
    println!("Press Ctrl-C to stop.");
    server.await??;
    Ok(())
}

/// A small importer ledger: a Brazilian beef container received with its documents, part shipped to the
/// first-station cold store, part sold.
fn demo_ledger(_importer_uscc: &str, fs: &coldtrace_domain::Enterprise) -> String {
    let mut s = String::from(
        "日期,类型,品名,品类,原产国,境外生产企业注册号,批号,数量,单位,净重(kg),报关单号,检验检疫证明编号,核酸检测报告编号,核酸检测结果,消毒证明编号,入境口岸,进口日期,集装箱号,追溯码,对方名称,对方统一社会信用代码,存放位置,经手人,备注\n",
    );
    s.push_str("2026/3/1 08:30,入库,冷冻去骨牛肉,畜禽肉,BR,SIF1234,DEMO-BR-001,1300,箱,26000,020220261000456789,120100026000001,HS2026030101,阴性,XD2026030101,天津新港,2026-03-01,CSQU3054383,(01)06901234567892(10)DEMO-BR-001,Frigorifico Exemplo S.A.,,港区监管库A-01,王伟,\n");
    s.push_str(&format!(
        "2026/3/2 09:00,出库,冷冻去骨牛肉,畜禽肉,BR,SIF1234,DEMO-BR-001,800,箱,,,,,,,,,,,{},{},,李强,首站入库\n",
        fs.name, fs.uscc
    ));
    s.push_str("2026/3/3 14:00,销售,冷冻去骨牛肉,畜禽肉,BR,SIF1234,DEMO-BR-001,200,箱,,,,,,,,,,,天津某餐饮管理有限公司,,,李强,\n");
    s
}

/// Replays a positive test on an imported batch that a processor mixed into new batches.
async fn positive_test(base: &str, regulator_key: &str, store: &dyn Store) -> anyhow::Result<()> {
    use coldtrace_store::{MovementFilter, Page, Scope};
    let mut after = 0;
    let mut picked = None;
    'pages: loop {
        let page = store
            .movements(
                &Scope::All,
                &MovementFilter::default(),
                Page { after, limit: 1000 },
            )
            .await?;
        for m in &page {
            if m.record.kind == coldtrace_domain::MovementKind::Transform
                && let Some(coldtrace_domain::BatchRef::Id(b)) =
                    m.record.inputs.first().map(|l| l.batch.clone())
            {
                let batch = store.batch(b).await?.context("input batch")?;
                let tianjin = Scope::Province(ProvinceCode::parse("12").expect("constant"));
                if batch.record.owner != m.record.holder
                    && !batch.record.trace_codes.is_empty()
                    && store.batch_visible(&tianjin, b).await?
                {
                    picked = Some(batch);
                    break 'pages;
                }
            }
        }
        match page.last() {
            Some(l) if page.len() == 1000 => after = l.seq,
            _ => break,
        }
    }
    let Some(batch) = picked else {
        println!("  (no processed import batch in this data set; skipping the positive test)");
        return Ok(());
    };
    let code = batch.record.trace_codes[0].value.clone();
    let http = reqwest::Client::new();
    let t = Instant::now();
    let r = http
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(regulator_key)
        .json(&json!({"kind": "batch_sample", "code": code, "positive_at": "2026-06-01T09:00:00+08:00", "note": "demo: outer packaging positive"}))
        .send()
        .await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let status = r.status().as_u16();
    let v: Value = r.json().await?;
    anyhow::ensure!(status == 201, "registering the positive test: {v}");
    let trace = &v["trace"];
    let provinces: Vec<String> = v["notices"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["to_province"].as_str())
                .map(|p| {
                    ProvinceCode::parse(p)
                        .map(|c| c.name().to_string())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    println!(
        "  positive test of batch {} ({code}): traced both ways in {} µs, incident registered over HTTP in {ms:.1} ms",
        batch.record.batch_no, trace["took_us"]
    );
    println!(
        "    {} batch(es) implicated, {} holder(s); {} disposal task(s) for {} units on hand; draft notices to {}",
        trace["batches"].as_array().map(Vec::len).unwrap_or(0),
        trace["holders"].as_array().map(Vec::len).unwrap_or(0),
        v["tasks"].as_array().map(Vec::len).unwrap_or(0),
        v["outstanding"],
        provinces.join(", ")
    );
    Ok(())
}

async fn scenario(
    base: &str,
    importer_key: &str,
    regulator_key: &str,
    pop: &Population,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let get = |path: String, key: &str| {
        let req = http.get(format!("{base}{path}"));
        let req = if key.is_empty() {
            req
        } else {
            req.bearer_auth(key)
        };
        async move {
            let r = req.send().await?;
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            anyhow::Ok((status, v))
        }
    };
    let (s, h) = get("/healthz".into(), "").await?;
    println!("  GET /healthz -> {s} {h}");
    let code = "(01)06901234567892(10)DEMO-BR-001";
    let enc = code.replace('(', "%28").replace(')', "%29");
    let (s, v) = get(format!("/api/v1/codes/{enc}"), importer_key).await?;
    let docs = v["batch"]["documents"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    println!(
        "  importer scans {code} -> {s}: batch {} of {}, {} document(s)",
        v["batch"]["batch_no"].as_str().unwrap_or("?"),
        v["says"]["gtin"].as_str().unwrap_or("?"),
        docs
    );
    let (s, _) = get("/api/v1/batches".into(), "").await?;
    println!("  GET /api/v1/batches without a key -> {s}");
    let (s, v) = get("/api/v1/stats".into(), regulator_key).await?;
    println!("  regulator of 12 sees {s}: {v}");
    let bad = http
        .post(format!("{base}/api/v1/movements"))
        .bearer_auth(importer_key)
        .json(&json!({"kind": "ship", "batch_no": "DEMO-BR-001", "quantity": -5, "at": "2026-03-04T10:00:00+08:00"}))
        .send()
        .await?;
    let status = bad.status().as_u16();
    let body: Value = bad.json().await?;
    println!(
        "  a bad movement -> {status} {}",
        body["message"].as_str().unwrap_or("")
    );
    let other = pop
        .of_kind(EnterpriseKind::Importer)
        .nth(1)
        .map(|m| m.enterprise.id);
    if let Some(other) = other {
        let (s, _) = get(format!("/api/v1/enterprises/{other}"), importer_key).await?;
        println!("  importer reads another importer's record -> {s}");
    }
    Ok(())
}

/// Tianjin's census as a register would give it: most registered enterprises, half with their USCC, some names
/// written otherwise; and a tenth more businesses that are not registered.
fn demo_census(
    pop: &coldtrace_gen::Population,
    province: &coldtrace_domain::ProvinceCode,
) -> Vec<coldtrace_domain::census::CensusEntry> {
    use coldtrace_domain::census::CensusEntry;
    let mut out = Vec::new();
    let members: Vec<_> = pop
        .members
        .iter()
        .filter(|m| m.enterprise.region.province() == *province)
        .collect();
    for (i, m) in members.iter().enumerate() {
        let e = &m.enterprise;
        if i % 9 == 8 {
            continue; // missing from the register
        }
        let name = match i % 3 {
            0 => e.name.replace("有限公司", "有限责任公司"),
            1 => format!(
                "{}市{}",
                province.name(),
                e.name.trim_start_matches(province.name())
            ),
            _ => e.name.clone(),
        };
        out.push(CensusEntry {
            uscc: (i % 2 == 0).then(|| e.uscc.clone()),
            name,
            kind: e.kind,
            region: e.region.clone(),
            address: e.address.clone(),
            contact_name: Some(e.contact.name.clone()),
            contact_phone: Some(e.contact.phone.clone()),
        });
    }
    for i in 0..members.len() / 10 {
        let region = &members[i % members.len().max(1)].enterprise.region;
        out.push(CensusEntry {
            uscc: None,
            name: format!("{}北辰冰山第{}冷库有限公司", province.name(), i + 1),
            kind: EnterpriseKind::ThirdPartyColdStore,
            region: region.clone(),
            address: None,
            contact_name: None,
            contact_phone: None,
        });
    }
    out
}

/// The importer captures an EPCIS document over HTTP: the demo lot packed on a pallet, and a storage observation
/// whose sensor report shows an excursion above −15 °C for 70 minutes; it waits for the capture job.
async fn epcis_demo(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    code: &str,
) -> anyhow::Result<()> {
    let class = coldtrace_domain::gs1::Gs1Code::parse(code)?
        .digital_link(coldtrace_domain::gs1::GS1_RESOLVER)
        .unwrap_or_default();
    let reading =
        |t: &str, c: f64| json!({"type": "Temperature", "value": c, "uom": "CEL", "time": t});
    let doc = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z",
        "epcisBody": {"eventList": [
            {"type": "AggregationEvent", "eventTime": "2026-03-01T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
             "action": "ADD", "bizStep": "packing", "parentID": "urn:epc:id:sscc:6901234.0000000001",
             "childQuantityList": [{"epcClass": class, "quantity": 100, "uom": "KGM"}]},
            {"type": "ObjectEvent", "eventTime": "2026-03-02T12:00:00+08:00", "eventTimeZoneOffset": "+08:00",
             "action": "OBSERVE", "bizStep": "storing", "quantityList": [{"epcClass": class}],
             "sensorElementList": [{"sensorMetadata": {"deviceID": "urn:epc:id:giai:6901234.REEFER7"},
               "sensorReport": [reading("2026-03-02T10:00:00+08:00", -18.5), reading("2026-03-02T10:20:00+08:00", -13.0),
                                reading("2026-03-02T11:00:00+08:00", -9.5), reading("2026-03-02T11:30:00+08:00", -18.0)]}]}
        ]}
    });
    let r = http
        .post(format!("{base}/epcis/capture"))
        .bearer_auth(key)
        .header("content-type", "application/ld+json")
        .body(doc.to_string())
        .send()
        .await?;
    anyhow::ensure!(
        r.status() == reqwest::StatusCode::ACCEPTED,
        "EPCIS capture: {}",
        r.text().await?
    );
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    for _ in 0..200 {
        let job = crate::federation::get(http, format!("{base}{location}"), key).await?;
        if job["running"] == false {
            anyhow::ensure!(job["success"] == true, "EPCIS capture: {job}");
            let f = crate::federation::get(
                http,
                format!("{base}/api/v1/findings?rule=temperature_excursion&limit=10"),
                key,
            )
            .await?;
            println!(
                "  EPCIS capture: {} events ({} kept in the repository only); {} temperature finding(s) from the reefer's report; \
                 tracing the pallet urn:epc:id:sscc:6901234.0000000001 traces the lot",
                job["captured"],
                job["notes"].as_array().map(Vec::len).unwrap_or(0),
                f["items"].as_array().map(Vec::len).unwrap_or(0)
            );
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    anyhow::bail!("the EPCIS capture job did not finish")
}
