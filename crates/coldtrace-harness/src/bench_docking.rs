//! `coldtrace bench docking`: the national platform and three provinces as separate processes of this binary on
//! loopback. Measures (1) docking throughput: a province's backlog of generated records delivered to the
//! national platform, beside the rate at which the same records were written; (2) the time from a positive test
//! registered in one province to notices received in every affected province, beside the one-second target.

use coldtrace_store::prelude::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use coldtrace_domain::Role;
use coldtrace_domain::code::Issuer;
use coldtrace_gen::{GenConfig, generate};
use coldtrace_store::DockingConfig;

use crate::federation::{self, Endpoint};

/// A child `coldtrace serve`, killed on drop.
struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[String]) -> anyhow::Result<Proc> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let base = loop {
        let line = lines
            .next()
            .context("the server exited before listening")??;
        if let Some(a) = line.strip_prefix("coldtrace listening on ") {
            break a.trim().to_string();
        }
    };
    Ok(Proc { child, base })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn province(
    root: &Path,
    code: &str,
    scheme: &str,
    national: &str,
    secret: &str,
) -> anyhow::Result<(Proc, String)> {
    let data = root.join(format!("p{code}"));
    let store = crate::open_store(&data)?;
    let key = coldtrace_service::credentials::issue_key(
        store.as_ref(),
        Role::Regulator,
        Some(code),
        None,
        "bench",
        None,
    )
    .await?;
    drop(store);
    let secret_file = root.join(format!("secret-{code}"));
    std::fs::write(&secret_file, secret)?;
    let p = serve(&[
        "--data".into(),
        data.display().to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--role".into(),
        "province".into(),
        "--province".into(),
        code.into(),
        "--national".into(),
        national.into(),
        "--secret-file".into(),
        secret_file.display().to_string(),
        "--code-scheme".into(),
        scheme.into(),
    ])?;
    Ok((p, key))
}

pub async fn run(movements: u64, incidents: usize) -> anyhow::Result<()> {
    let root =
        std::env::temp_dir().join(format!("coldtrace-bench-docking-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&root)?;
    let _cleanup = Cleanup(root.clone());
    let http = reqwest::Client::new();

    // The national platform, with a client per province.
    let ndata = root.join("national");
    let nstore = crate::open_store(&ndata)?;
    let mut secrets = std::collections::HashMap::new();
    for p in ["12", "32", "33"] {
        let (_, s) =
            coldtrace_service::credentials::register_docking_client(nstore.as_ref(), p, None, None)
                .await?;
        secrets.insert(p, s);
    }
    let commander = coldtrace_service::credentials::issue_key(
        nstore.as_ref(),
        Role::National,
        None,
        None,
        "bench",
        None,
    )
    .await?;
    drop(nstore);
    let port = free_port()?;
    let national = serve(&[
        "--data".into(),
        ndata.display().to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--role".into(),
        "national".into(),
    ])?;

    // 1. Throughput: Tianjin's generated records, written with their docking messages while the platform was
    //    offline, then delivered when it starts.
    let tdata = root.join("p12");
    let store = crate::open_store(&tdata)?;
    store.enable_docking(DockingConfig {
        province: "12".into(),
        issuer: Some(Issuer {
            scheme: coldtrace_domain::CodeScheme::Url,
            province: "12".into(),
            host: "trace.tj.example".into(),
        }),
    });
    let t = Instant::now();
    let (summary, _) = generate(
        store.as_ref(),
        &GenConfig {
            movements,
            ..Default::default()
        },
        &|_, _| {},
    )
    .await?;
    let write_secs = t.elapsed().as_secs_f64();
    let outbox = store.outbox_status().await?;
    drop(store);
    let t = Instant::now();
    let (tj_proc, tj_key) = province(&root, "12", "url", &national.base, &secrets["12"]).await?;
    let tj = Endpoint {
        base: tj_proc.base.clone(),
        key: tj_key,
    };
    federation::drained(&http, &[&tj], Duration::from_secs(600)).await?;
    let deliver_secs = t.elapsed().as_secs_f64();
    let ov = federation::get(
        &http,
        format!("{}/api/v1/national/overview", national.base),
        &commander,
    )
    .await?;
    let links = ov["counts"]["links"].as_u64().unwrap_or(0);
    println!(
        "docking throughput ({} movements generated in Tianjin: {} enterprises, {} batches, {} cross-province flows -> {} docking messages)",
        summary.movements,
        summary.enterprises,
        summary.batches,
        summary.cross_province_flows,
        outbox.last_seq
    );
    println!("  {:<62} {:>9} {:>12}", "", "seconds", "records/s");
    println!(
        "  {:<62} {:>9.2} {:>12.0}",
        "baseline: the province writing the movements (and its outbox)",
        write_secs,
        summary.movements as f64 / write_secs
    );
    println!(
        "  {:<62} {:>9.2} {:>12.0}",
        "docking: the backlog delivered, accepted once, identified",
        deliver_secs,
        outbox.last_seq as f64 / deliver_secs
    );
    let kinds: Vec<String> = ov["counts"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| k.strip_prefix("messages_").map(|k| format!("{k} {v}")))
        .collect();
    println!("  messages by kind: {}", kinds.join(", "));
    println!("  national platform holds {links} cross-province links after identification");

    // 2. Positive test to notices, across processes.
    let (js_proc, js_key) = province(&root, "32", "issued", &national.base, &secrets["32"]).await?;
    let (zj_proc, zj_key) = province(&root, "33", "uscc", &national.base, &secrets["33"]).await?;
    let js = Endpoint {
        base: js_proc.base.clone(),
        key: js_key,
    };
    let zj = Endpoint {
        base: zj_proc.base.clone(),
        key: zj_key,
    };
    let chain = federation::chain(&http, &tj, &js, &zj, 9_001).await?;
    federation::drained(&http, &[&tj, &js, &zj], Duration::from_secs(60)).await?;
    let mut took = Vec::with_capacity(incidents);
    for _ in 0..incidents {
        let (d, _) = federation::positive_test(
            &http,
            &zj,
            &chain.positive_batch,
            &[&tj, &js],
            Duration::from_secs(30),
        )
        .await?;
        took.push(d.as_secs_f64() * 1000.0);
        // Let the receipts settle so that each run starts from idle queues.
        federation::drained(&http, &[&tj, &js, &zj], Duration::from_secs(60)).await?;
    }
    took.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| took[((took.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "positive test in Zhejiang to notices received in Tianjin and Jiangsu ({incidents} incidents, 4 processes on loopback)"
    );
    println!(
        "  p50 {:.1} ms   p90 {:.1} ms   max {:.1} ms   (target: under 1000 ms; Zhejiang's rule: 2 hours)",
        pct(0.5),
        pct(0.9),
        took[took.len() - 1]
    );
    Ok(())
}

struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
