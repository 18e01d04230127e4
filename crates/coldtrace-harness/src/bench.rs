//! `coldtrace bench`: measured figures, each printed beside a baseline from the same run.
//!
//! - `bench ingest`: movements per second through the HTTP API in batched submissions, against the baseline of
//!   one movement per request; and ledger rows per second through file import (CSV), directly and over HTTP.
//! - `bench census`: census matching at 10^4 enterprises.
//! - `bench customs`: the customs cross-check of a feed of declarations against a generated store.
//! - `bench epcis`: EPCIS capture beside native submissions of the same chain, and event queries at 10^6 events.
//! - `bench disk`: a store's bytes by part, per movement.

use coldtrace_store::prelude::*;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use coldtrace_api::AppState;
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_service::{Platform, PlatformConfig, Tier};
use serde_json::{Value, json};

use coldtrace_service::credentials::issue_key as issue;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

/// What `bench ingest` sends, and to which store.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Movements sent in batched submissions.
    #[arg(long, default_value_t = 200_000)]
    pub movements: usize,
    /// Movements per submission.
    #[arg(long, default_value_t = 2_000)]
    pub batch: usize,
    /// Single-movement requests for the baseline.
    #[arg(long, default_value_t = 2_000)]
    pub single: usize,
    /// Rows in the ledger file (a ledger is one submission: at most 20,000 records).
    #[arg(long, default_value_t = 20_000)]
    pub rows: usize,
    /// Turn every ledger check off (the baseline for what the checks cost).
    #[arg(long)]
    pub checks_off: bool,
    /// Ingest into a PostgreSQL store at this URL (in a schema of its own, dropped afterwards) instead of
    /// the embedded store.
    #[arg(long)]
    pub pg: Option<String>,
    /// Clients sending batched submissions at once, for a second batched row of as many movements again (a
    /// server's throughput under concurrent load); 1, the default, leaves the row out.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Bulk ingest through the API and through ledger import.
    Ingest(IngestArgs),
    /// What the request guards cost: ingest and trace latency with the audit trail and the rate limiter,
    /// beside the same server without them; and the time to verify an audit chain.
    Guards {
        /// Movements sent in batched submissions, per round.
        #[arg(long, default_value_t = 40_000)]
        movements: usize,
        /// Movements per submission.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// Single-movement requests, per round.
        #[arg(long, default_value_t = 1_000)]
        single: usize,
        /// Trace requests, per round.
        #[arg(long, default_value_t = 2_000)]
        traces: usize,
        /// Rounds; each runs the guarded and the unguarded server, alternately, and the best round counts.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Audit entries to append and verify.
        #[arg(long, default_value_t = 1_000_000)]
        audit_entries: u64,
    },
    /// Trace latency of the engine beside recursive CTEs in SQLite, on a data directory filled by `gen`.
    Trace {
        /// Data directory (e.g. made by `coldtrace gen --data DIR --movements 10000000`).
        #[arg(long)]
        data: std::path::PathBuf,
        /// Engine queries per class.
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        /// SQL queries per class (they are slow); 0 times the engine alone, without the SQLite or PostgreSQL baselines.
        #[arg(long, default_value_t = 50)]
        sql_queries: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also run the CTEs in PostgreSQL (the data is copied into schema `coldtrace_bench`, then dropped).
        #[arg(long)]
        pg: Option<String>,
        /// Trace a PostgreSQL store instead (made by `coldtrace gen --store URL --store-schema S`): the index is
        /// rebuilt from it and restarted from a snapshot in `--data`; the CTE baselines need the SQLite store.
        #[arg(long, conflicts_with = "pg")]
        store: Option<String>,
        #[arg(long, default_value = "public")]
        store_schema: String,
    },
    /// Docking across processes: a province's backlog delivered to the national platform, and the time from a
    /// positive test to notices in every affected province.
    Docking {
        /// Movements generated in the delivering province.
        #[arg(long, default_value_t = 200_000)]
        movements: u64,
        /// Positive tests to time.
        #[arg(long, default_value_t = 30)]
        incidents: usize,
    },
    /// The customs cross-check on a data directory filled by `gen`: a feed for its imported batches with
    /// labelled faults, padded to `declarations`, stored and cross-checked; then the whole cross-check alone,
    /// beside the rest of the sweep.
    Customs {
        /// Data directory (e.g. made by `coldtrace gen --data DIR --movements 1000000`).
        #[arg(long)]
        data: std::path::PathBuf,
        #[arg(long, default_value_t = 100_000)]
        declarations: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Matching a census of `enterprises` entries against as many registered enterprises, in memory and through
    /// a store's statistics, with the matches counted against the truth.
    Census {
        #[arg(long, default_value_t = 10_000)]
        enterprises: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// The same chain recorded natively and captured as EPCIS on two fresh platforms, then event query latency on
    /// the repository padded to `events`.
    Epcis {
        #[arg(long, default_value_t = 5_000)]
        lots: usize,
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 200)]
        queries: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Where a store's bytes go, per movement (SQLite's `dbstat`), against the target of 400 bytes.
    Disk {
        /// Data directory (e.g. made by `coldtrace gen --data DIR --movements 10000000`).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// A PostgreSQL store instead (e.g. made by `coldtrace gen --store URL --store-schema S`).
        #[arg(long, conflicts_with = "data")]
        store: Option<String>,
        /// The schema of that store.
        #[arg(long, default_value = "public")]
        store_schema: String,
    },
    /// The national registry after a restart: replaying the whole inbox against reading its snapshot.
    Registry {
        /// Docking messages in the national inbox.
        #[arg(long, default_value_t = 300_000)]
        messages: u64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Run on PostgreSQL (a fresh schema of this database, dropped afterwards) instead of SQLite.
        #[arg(long)]
        pg: Option<String>,
    },
    /// The trace engine alone on synthetic flows in memory, at scales a store takes hours to fill.
    Scale {
        #[arg(long, default_value_t = 10_000_000)]
        movements: u64,
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    match a.what {
        What::Ingest(plan) => ingest(plan).await,
        What::Guards {
            movements,
            batch,
            single,
            traces,
            rounds,
            audit_entries,
        } => {
            crate::bench_guards::run(crate::bench_guards::Plan {
                movements,
                batch,
                single,
                traces,
                rounds,
                audit_entries,
            })
            .await
        }
        What::Trace {
            data,
            queries,
            sql_queries,
            seed,
            pg,
            store,
            store_schema,
        } => {
            crate::bench_trace::run(
                &data,
                queries,
                sql_queries,
                seed,
                pg.as_deref(),
                store.as_deref().map(|u| (u, store_schema.as_str())),
            )
            .await
        }
        What::Disk {
            data,
            store,
            store_schema,
        } => match (data, store) {
            (_, Some(url)) => crate::bench_disk::run_pg(&url, &store_schema).await,
            (Some(data), None) => crate::bench_disk::run(&data),
            (None, None) => anyhow::bail!("bench disk: give --data DIR or --store URL"),
        },
        What::Registry { messages, seed, pg } => {
            crate::bench_registry::run(messages, seed, pg).await
        }
        What::Scale {
            movements,
            queries,
            seed,
        } => crate::bench_scale::run(movements, queries, seed),
        What::Docking {
            movements,
            incidents,
        } => crate::bench_docking::run(movements, incidents).await,
        What::Census { enterprises, seed } => crate::bench_census::run(enterprises, seed).await,
        What::Epcis {
            lots,
            events,
            queries,
            seed,
        } => crate::bench_epcis::run(lots, events, queries, seed).await,
        What::Customs {
            data,
            declarations,
            seed,
        } => crate::bench_customs::run(&data, declarations, seed).await,
    }
}

pub(crate) struct Rig {
    pub(crate) base: String,
    pub(crate) key: String,
    /// The province's regulator, for traces.
    pub(crate) regulator: String,
    pub(crate) http: reqwest::Client,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) _dir: tempfile_dir::Dir,
    /// The PostgreSQL schema to drop afterwards (URL, schema).
    pub(crate) pg_schema: Option<(String, String)>,
    pub(crate) enterprise_uscc: String,
}

pub(crate) mod tempfile_dir {
    /// A scratch directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Every ledger check off.
fn no_checks() -> coldtrace_domain::checks::CheckPolicy {
    use coldtrace_domain::checks::{CheckPolicy, Policy, RULES};
    RULES
        .into_iter()
        .fold(CheckPolicy::default(), |p, r| p.with(r, Policy::Off))
}

pub(crate) async fn rig_with(guards: coldtrace_api::Guards) -> anyhow::Result<Rig> {
    rig_configured(guards, Default::default(), None).await
}

impl Rig {
    /// Drops the PostgreSQL schema the rig made (nothing for the embedded store, whose directory goes with it).
    pub(crate) async fn finish(self) -> anyhow::Result<()> {
        if let Some((url, schema)) = &self.pg_schema {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await?;
        }
        Ok(())
    }
}

/// A province platform on a fresh store in a scratch directory, serving on a local port, with an enterprise
/// (its key) and one batch of 100,000 t; `guards` says whether the audit trail and the rate limiter run (the
/// limits themselves are set too high to refuse anything, so only their cost shows).
async fn rig_configured(
    guards: coldtrace_api::Guards,
    checks: coldtrace_domain::checks::CheckPolicy,
    pg: Option<&str>,
) -> anyhow::Result<Rig> {
    let dir = std::env::temp_dir().join(format!("coldtrace-bench-{}", uuid::Uuid::now_v7()));
    let (store, pg_schema): (Arc<dyn Store>, _) = match pg {
        None => (crate::open_store(&dir)?, None),
        Some(url) => {
            let schema = format!("coldtrace_bench_{}", uuid::Uuid::now_v7().simple());
            let s = coldtrace_store_pg::PgStore::connect_in_schema(url, &schema).await?;
            (Arc::new(s), Some((url.to_string(), schema)))
        }
    };
    let regulator = issue(
        store.as_ref(),
        Role::Regulator,
        Some("12"),
        None,
        "bench",
        None,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut config =
        PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").expect("constant")));
    config.checks = checks;
    let platform = Platform::start(store.clone(), config).await?;
    let mut state = AppState::with_limits(
        Arc::new(platform),
        coldtrace_api::limits::RateLimits::unlimited(),
    );
    state.guards = guards;
    tokio::spawn(coldtrace_api::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let uscc = "91120116MA05T1Q16A";
    let r: Value = http
        .post(format!("{base}/api/v1/enterprises"))
        .bearer_auth(&regulator)
        .json(&json!({"uscc": uscc, "name": "天津滨海冷链有限公司", "kind": "first_station_cold_store",
            "region": "120116", "contact_name": "王伟", "contact_phone": "13812341234", "self_commitment": true}))
        .send()
        .await?
        .json()
        .await?;
    let eid = r["enterprises"][0]
        .as_str()
        .context("enterprise registered")?
        .to_string();
    let k: Value = http
        .post(format!("{base}/api/v1/enterprises/{eid}/credentials"))
        .bearer_auth(&regulator)
        .send()
        .await?
        .json()
        .await?;
    let key = k["api_key"].as_str().context("key issued")?.to_string();
    let r = http
        .post(format!("{base}/api/v1/submissions"))
        .bearer_auth(&key)
        .json(&json!({
            "products": [{"id": "01900000-0000-7000-8000-000000000001", "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat", "origin_country": "BR"}],
            "batches": [{"product_id": "01900000-0000-7000-8000-000000000001", "batch_no": "BENCH-1", "quantity": 100000000, "unit": "kg"}]
        }))
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "setting up the bench batch: {}",
        r.text().await?
    );
    Ok(Rig {
        base,
        key,
        regulator,
        http,
        store,
        _dir: tempfile_dir::Dir(dir),
        pg_schema,
        enterprise_uscc: uscc.into(),
    })
}

pub(crate) fn movement(i: usize) -> Value {
    json!({
        "kind": "sell", "batch_no": "BENCH-1", "quantity": 1 + (i % 20),
        "counterparty_name": format!("客户{}", i % 977),
        "at": format!("2026-03-01T{:02}:{:02}:{:02}+08:00", (i / 3600) % 24, (i / 60) % 60, i % 60),
        "location": "1号库", "handlers": [{"name": "李强", "phone": "13912345678"}]
    })
}

/// Sends movements `from..to` in submissions of `batch`, from `clients` clients at once (each takes the next
/// submission when its last is answered); every answer must be 201.
async fn send_batched(
    rig: &Rig,
    (from, to): (usize, usize),
    batch: usize,
    clients: usize,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let starts: Vec<usize> = (from..to).step_by(batch).collect();
    let mut answers = futures_util::stream::iter(starts.into_iter().map(|start| {
        let n = batch.min(to - start);
        let ms: Vec<Value> = (start..start + n).map(movement).collect();
        let req = rig
            .http
            .post(format!("{}/api/v1/submissions", rig.base))
            .bearer_auth(&rig.key)
            .header("Idempotency-Key", format!("bench-{start}"))
            .json(&json!({ "movements": ms }));
        async move {
            let r = req.send().await?;
            anyhow::ensure!(
                r.status().as_u16() == 201,
                "batched submission: {}",
                r.text().await?
            );
            anyhow::Ok(())
        }
    }))
    .buffer_unordered(clients);
    while let Some(r) = answers.next().await {
        r?;
    }
    Ok(())
}

async fn ingest(plan: IngestArgs) -> anyhow::Result<()> {
    let IngestArgs {
        movements,
        batch,
        single,
        rows,
        checks_off,
        ref pg,
        clients,
    } = plan;
    anyhow::ensure!(batch > 0, "--batch: at least one movement per submission");
    anyhow::ensure!(clients > 0, "--clients: at least one client");
    let pg = pg.as_deref();
    match pg {
        None => println!(
            "coldtrace bench ingest (SQLite WAL, synchronous=FULL: one fsync per committed submission)"
        ),
        Some(u) => println!(
            "coldtrace bench ingest (PostgreSQL at {}, synchronous_commit as the server has it)",
            u.rsplit('@').next().unwrap_or(u)
        ),
    }
    println!(
        "ledger checks: {}",
        if checks_off {
            "off"
        } else {
            "on (each province's defaults)"
        }
    );
    let rig = rig_configured(
        coldtrace_api::Guards::ALL,
        if checks_off {
            no_checks()
        } else {
            Default::default()
        },
        pg,
    )
    .await?;
    // Baseline: one movement per request.
    let t = Instant::now();
    for i in 0..single {
        let r = rig
            .http
            .post(format!("{}/api/v1/movements", rig.base))
            .bearer_auth(&rig.key)
            .json(&movement(i))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().as_u16() == 201,
            "single movement: {}",
            r.text().await?
        );
    }
    let single_rate = single as f64 / t.elapsed().as_secs_f64();
    // Batched submissions, from one client.
    let t = Instant::now();
    send_batched(&rig, (single, single + movements), batch, 1).await?;
    let batched_rate = movements as f64 / t.elapsed().as_secs_f64();
    // The same from several clients at once: the server parses one submission while it stores another.
    let concurrent_rate = if clients > 1 {
        let from = single + movements;
        let t = Instant::now();
        send_batched(&rig, (from, from + movements), batch, clients).await?;
        Some(movements as f64 / t.elapsed().as_secs_f64())
    } else {
        None
    };
    // Ledger file import: CSV rows, directly and over HTTP.
    let mut csv = String::from("日期,类型,批号,数量,单位,对方名称,存放位置,经手人\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "2026-04-01 {:02}:{:02}:{:02},销售,BENCH-1,{},kg,客户{},2号库,张敏\n",
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60,
            1 + i % 9,
            i
        ));
    }
    let ent = rig
        .store
        .enterprise_by_uscc(&rig.enterprise_uscc)
        .await?
        .context("bench enterprise")?;
    let t = Instant::now();
    let report = coldtrace_ledger::import(
        rig.store.as_ref(),
        ent.record.id,
        "bench-cli",
        csv.as_bytes(),
        coldtrace_ledger::Format::Csv,
        Default::default(),
        &|_, _| {},
    )
    .await?;
    anyhow::ensure!(
        report.receipt.is_some(),
        "file import failed: {:?}",
        report.errors.first()
    );
    let file_rate = rows as f64 / t.elapsed().as_secs_f64();
    let csv2 = csv.replace("2026-04-01", "2026-05-01");
    let t = Instant::now();
    let r = rig
        .http
        .post(format!("{}/api/v1/ledger?format=csv", rig.base))
        .bearer_auth(&rig.key)
        .header("content-type", "text/csv")
        .body(csv2)
        .send()
        .await?;
    anyhow::ensure!(
        r.status().as_u16() == 201,
        "ledger over HTTP: {}",
        r.text().await?
    );
    let http_file_rate = rows as f64 / t.elapsed().as_secs_f64();
    println!();
    println!("| path | records | rate | vs baseline |");
    println!("|---|---:|---:|---:|");
    println!(
        "| API, one movement per request (baseline) | {single} | {single_rate:.0} movements/s | 1.0x |"
    );
    println!(
        "| API, {batch} movements per submission | {movements} | {batched_rate:.0} movements/s | {:.1}x |",
        batched_rate / single_rate
    );
    if let Some(rate) = concurrent_rate {
        println!(
            "| API, {batch} movements per submission, {clients} clients at once | {movements} | {rate:.0} movements/s | {:.1}x |",
            rate / single_rate
        );
    }
    println!(
        "| ledger CSV import, in process | {rows} | {file_rate:.0} rows/s | {:.1}x |",
        file_rate / single_rate
    );
    println!(
        "| ledger CSV import, POST /api/v1/ledger | {rows} | {http_file_rate:.0} rows/s | {:.1}x |",
        http_file_rate / single_rate
    );
    // What a restart without a snapshot costs on this store: the trace index rebuilt from its feed.
    let (_, r) = coldtrace_service::Tracer::rebuild(rig.store.as_ref()).await?;
    println!();
    println!(
        "trace index rebuilt from the store: {} movements in {:.2} s ({:.0} movements/s), {} lots",
        r.movements, r.seconds, r.movements_per_second, r.lots
    );
    rig.finish().await
}
