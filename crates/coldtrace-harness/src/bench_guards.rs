//! `coldtrace bench guards`: what the request guards (the audit trail and the rate limiter) cost, measured as
//! the same work against the same server built with and without them, alternately, in one run; and how long an
//! audit chain takes to append and to verify.
//!
//! Each round starts two fresh province platforms on scratch stores (one guarded, one not) and sends each the
//! same requests: single-movement submissions, batched submissions, then trace requests from a small batch
//! (three holders) one after another. The best round of each side counts, so a slow moment of the machine does
//! not decide the ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use coldtrace_api::Guards;
use coldtrace_store::Store;
use coldtrace_store::audit::AuditEvent;
use serde_json::{Value, json};

use crate::bench::{movement, rig_with};

/// What to send in each round.
pub struct Plan {
    pub movements: usize,
    pub batch: usize,
    pub single: usize,
    pub traces: usize,
    pub rounds: usize,
    pub audit_entries: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    single_rate: f64,
    batched_rate: f64,
    trace_p50_us: f64,
    trace_p99_us: f64,
}

impl Figures {
    /// The better of two rounds, figure by figure.
    fn best(self, o: Figures) -> Figures {
        Figures {
            single_rate: self.single_rate.max(o.single_rate),
            batched_rate: self.batched_rate.max(o.batched_rate),
            trace_p50_us: self.trace_p50_us.min(o.trace_p50_us),
            trace_p99_us: self.trace_p99_us.min(o.trace_p99_us),
        }
    }
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    println!(
        "coldtrace bench guards: {} single movements, {} movements in submissions of {}, {} traces; best of {} rounds",
        plan.single, plan.movements, plan.batch, plan.traces, plan.rounds
    );
    let worst = Figures {
        single_rate: 0.0,
        batched_rate: 0.0,
        trace_p50_us: f64::MAX,
        trace_p99_us: f64::MAX,
    };
    let (mut with, mut without) = (worst, worst);
    for r in 0..plan.rounds {
        let b = round(Guards::NONE_FOR_MEASUREMENT, &plan).await?;
        let g = round(Guards::ALL, &plan).await?;
        println!(
            "round {}: without guards {:.0} single/s, {:.0} batched/s, trace p50 {:.0} µs | with guards {:.0}, {:.0}, {:.0} µs",
            r + 1,
            b.single_rate,
            b.batched_rate,
            b.trace_p50_us,
            g.single_rate,
            g.batched_rate,
            g.trace_p50_us
        );
        without = without.best(b);
        with = with.best(g);
    }
    println!();
    println!(
        "| measure | without guards (baseline) | with audit and rate limiter | ratio (target ≥ 0.9) |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| one movement per request | {:.0} movements/s | {:.0} movements/s | {:.2} |",
        without.single_rate,
        with.single_rate,
        with.single_rate / without.single_rate
    );
    println!(
        "| {} movements per submission | {:.0} movements/s | {:.0} movements/s | {:.2} |",
        plan.batch,
        without.batched_rate,
        with.batched_rate,
        with.batched_rate / without.batched_rate
    );
    println!(
        "| trace latency p50 (3 holders, both directions) | {:.0} µs | {:.0} µs | {:.2} |",
        without.trace_p50_us,
        with.trace_p50_us,
        without.trace_p50_us / with.trace_p50_us
    );
    println!(
        "| trace latency p99 | {:.0} µs | {:.0} µs | {:.2} |",
        without.trace_p99_us,
        with.trace_p99_us,
        without.trace_p99_us / with.trace_p99_us
    );
    audit_chain(plan.audit_entries).await
}

async fn round(guards: Guards, plan: &Plan) -> anyhow::Result<Figures> {
    let rig = rig_with(guards).await?;
    let t = Instant::now();
    for i in 0..plan.single {
        let r = rig
            .http
            .post(format!("{}/api/v1/movements", rig.base))
            .bearer_auth(&rig.key)
            .json(&movement(i))
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 201, "{}", r.text().await?);
    }
    let single_rate = plan.single as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut sent = 0;
    while sent < plan.movements {
        let n = plan.batch.min(plan.movements - sent);
        let ms: Vec<Value> = (sent..sent + n)
            .map(|i| movement(i + plan.single))
            .collect();
        let r = rig
            .http
            .post(format!("{}/api/v1/submissions", rig.base))
            .bearer_auth(&rig.key)
            .json(&json!({ "movements": ms }))
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 201, "{}", r.text().await?);
        sent += n;
    }
    let batched_rate = plan.movements as f64 / t.elapsed().as_secs_f64();
    // A small batch: received, then shipped to two customers.
    let small = uuid::Uuid::now_v7();
    let r = rig
        .http
        .post(format!("{}/api/v1/submissions", rig.base))
        .bearer_auth(&rig.key)
        .json(&json!({
            "batches": [{"id": small, "product_id": "01900000-0000-7000-8000-000000000001", "batch_no": "SMALL-1",
                         "quantity": 100, "unit": "kg"}],
            "movements": [
                {"kind": "receive", "batch_id": small, "quantity": 100, "at": "2026-03-01T08:00:00+08:00",
                 "counterparty_name": "Frigorifico Exemplo S.A."},
                {"kind": "ship", "batch_id": small, "quantity": 40, "at": "2026-03-02T08:00:00+08:00",
                 "counterparty_name": "客户甲"},
                {"kind": "ship", "batch_id": small, "quantity": 30, "at": "2026-03-02T09:00:00+08:00",
                 "counterparty_name": "客户乙"}
            ]
        }))
        .send()
        .await?;
    anyhow::ensure!(r.status().as_u16() == 201, "{}", r.text().await?);
    let url = format!("{}/api/v1/trace?batch={small}&direction=both", rig.base);
    let mut lat = Vec::with_capacity(plan.traces);
    for _ in 0..plan.traces {
        let t = Instant::now();
        let r = rig
            .http
            .get(&url)
            .bearer_auth(&rig.regulator)
            .send()
            .await?;
        anyhow::ensure!(r.status().as_u16() == 200, "trace: {}", r.status());
        let v: Value = r.json().await?;
        lat.push(t.elapsed());
        anyhow::ensure!(
            v["holders"].as_array().is_some_and(|h| h.len() >= 3),
            "trace answered {v}"
        );
    }
    lat.sort();
    let pct = |p: f64| -> f64 {
        let i = ((lat.len() as f64 * p) as usize).min(lat.len() - 1);
        lat[i].as_secs_f64() * 1e6
    };
    Ok(Figures {
        single_rate,
        batched_rate,
        trace_p50_us: pct(0.50),
        trace_p99_us: pct(0.99),
    })
}

/// Appends `n` audit entries through the platform's audit writer (checkpoints every 1,000 and at the end),
/// then verifies the chain and its checkpoints as `coldtrace audit verify` does.
async fn audit_chain(n: u64) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("coldtrace-bench-audit-{}", uuid::Uuid::now_v7()));
    let _cleanup = crate::bench::tempfile_dir::Dir(dir.clone());
    let store = crate::open_store(&dir)?;
    let store: Arc<dyn Store> = store;
    let checkpoints = coldtrace_service::audit::CheckpointConfig::in_dir(&dir);
    let (log, writer) =
        coldtrace_service::audit::AuditLog::start(store.clone(), Some(checkpoints.clone()))?;
    let t = Instant::now();
    for i in 0..n {
        log.record(AuditEvent {
            at_ms: 1_780_000_000_000 + i as i64,
            actor: format!("enterprise:01900000-0000-7000-8000-{:012}", i % 5_000),
            role: Some("enterprise".into()),
            province: Some("12".into()),
            action: "POST /api/v1/movements".into(),
            object: "/api/v1/movements".into(),
            outcome: 201,
            purpose: None,
        })
        .await;
    }
    log.flush().await;
    drop(log);
    writer.await.context("the audit writer")?;
    let append = t.elapsed();
    let t = Instant::now();
    let report = coldtrace_service::audit::verify(store.as_ref(), Some(&checkpoints)).await?;
    let verify = t.elapsed();
    anyhow::ensure!(
        report.broken.is_none() && report.entries == n,
        "the chain did not verify: {report:?}"
    );
    let store_file = coldtrace_store_sqlite::store_path(&dir);
    let size: u64 = [store_file.clone(), store_file.with_extension("sqlite-wal")]
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    println!();
    println!("| audit chain | entries | time | rate |");
    println!("|---|---:|---:|---:|");
    println!(
        "| append through the writer (batched, SHA-256 chained, HMAC checkpoint every 1,000) | {n} | {} | {:.0} entries/s |",
        secs(append),
        n as f64 / append.as_secs_f64()
    );
    println!(
        "| verify the chain and {} checkpoints | {n} | {} | {:.0} entries/s |",
        report.checkpoints,
        secs(verify),
        n as f64 / verify.as_secs_f64()
    );
    println!("store file with the chain: {:.0} MB", size as f64 / 1e6);
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
