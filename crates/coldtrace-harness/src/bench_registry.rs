//! `coldtrace bench registry`: how long the national platform takes to have its registry back after a restart,
//! replaying the whole inbox against reading its snapshot.
//!
//! The inbox is filled with synthetic docking messages from 31 provinces, as a national platform receives them:
//! per shipment, the seller's batch and outflow and the buyer province's inflow (matched on evidence), every
//! fifth batch also reported by the buyer under the same inspection certificate (a key link), enterprises,
//! and a positive test every 20,000 shipments. The same store is then loaded three ways: replaying every row,
//! writing the snapshot, and reading the snapshot (with the rows after it, none here). The two registries must
//! be byte for byte the same, or the bench fails.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use coldtrace_domain::docking::{
    BatchFacts, BorderFlow, EnterpriseShort, Envelope, IncidentReport, MAX_MESSAGES, Message,
};
use coldtrace_service::national::{National, REGISTRY_SNAPSHOT_FILE};
use coldtrace_store::InboxStore;
use coldtrace_store_sqlite::SqliteStore;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const PROVINCES: [&str; 31] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
];
const PRODUCTS: [&str; 6] = ["冻牛腩", "冻猪肉", "冻虾仁", "冻鸡翅", "冻三文鱼", "冻带鱼"];
/// Enterprises per province, at most; a smaller inbox has about one enterprise message in ten.
const FIRMS: u32 = 200;

/// Runs the bench on a SQLite store in a temporary folder, or with `pg` in a fresh schema of that PostgreSQL
/// database (dropped afterwards).
pub async fn run(messages: u64, seed: u64, pg: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let schema = format!("coldtrace_bench_{}", Uuid::now_v7().simple());
    let store: Arc<dyn InboxStore> = match &pg {
        None => Arc::new(SqliteStore::open(dir.path().join("coldtrace.sqlite"))?),
        Some(url) => Arc::new(
            coldtrace_store_pg::PgStore::connect_in_schema(url, &schema)
                .await
                .with_context(|| format!("PostgreSQL at {url}"))?,
        ),
    };
    println!(
        "store: {}",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    let out = fill_and_load(store.as_ref(), dir.path(), messages, seed).await;
    if let Some(url) = &pg {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
    }
    out
}

async fn fill_and_load(
    store: &dyn InboxStore,
    dir: &std::path::Path,
    messages: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let firms = (messages / (10 * PROVINCES.len() as u64)).clamp(1, FIRMS as u64) as u32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let uscc = |p: usize, f: u32| {
        coldtrace_gen::uscc_for_seed(&format!("{}0100", PROVINCES[p]), f)
            .as_str()
            .to_string()
    };
    let mut queues: Vec<Vec<Message>> = vec![Vec::new(); PROVINCES.len()];
    for (p, q) in queues.iter_mut().enumerate() {
        for f in 0..firms {
            q.push(Message::Enterprise(EnterpriseShort {
                uscc: uscc(p, f),
                name: format!("{} 冷链企业 {f}", PROVINCES[p]),
                kind: if f % 4 == 0 { "importer" } else { "wholesaler" }.into(),
                region: format!("{}0100", PROVINCES[p]),
            }));
        }
    }
    let t0 = 1_760_000_000_000_i64;
    let mut written = PROVINCES.len() as u64 * firms as u64;
    let mut k = 0u64;
    let started = Instant::now();
    let mut seqs = vec![0u64; PROVINCES.len()];
    let mut stored = 0u64;
    while written < messages {
        let (a, b) = (
            rng.random_range(0..PROVINCES.len()),
            rng.random_range(0..PROVINCES.len()),
        );
        let b = if a == b { (b + 1) % PROVINCES.len() } else { b };
        let (seller, buyer) = (
            uscc(a, rng.random_range(0..firms)),
            uscc(b, rng.random_range(0..firms)),
        );
        let product = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
        let at = t0 + k as i64 * 60_000;
        let qty = rng.random_range(1..2_000) * 1_000;
        let cert = k
            .is_multiple_of(5)
            .then(|| format!("{}01000{:011}", PROVINCES[a], k));
        let facts = |batch: String, owner: &str| BatchFacts {
            batch: batch.clone(),
            codes: vec![],
            product: product.into(),
            gtin: None,
            batch_no: batch,
            owner_uscc: owner.to_string(),
            origin_country: Some("BR".into()),
            inspection_cert_no: cert.clone(),
            declaration_no: None,
            port_of_entry: None,
            import_date: None,
            quantity_milli: qty,
            unit: "kg".into(),
        };
        let flow = |batch: String, other: usize, at_ms: i64| BorderFlow {
            movement: format!("m{k}-{other}"),
            batch,
            product: product.into(),
            seller_uscc: Some(seller.clone()),
            seller_name: "卖方".into(),
            buyer_uscc: Some(buyer.clone()),
            buyer_name: "买方".into(),
            other_province: Some(PROVINCES[other].into()),
            quantity_milli: qty,
            unit: "kg".into(),
            at_ms,
        };
        queues[a].push(Message::Batch(facts(format!("b{k}"), &seller)));
        queues[a].push(Message::Outflow(flow(format!("b{k}"), b, at)));
        queues[b].push(Message::Inflow(flow(format!("r{k}"), a, at + 7_200_000)));
        written += 3;
        if cert.is_some() {
            queues[b].push(Message::Batch(facts(format!("r{k}"), &buyer)));
            written += 1;
        }
        if k % 20_000 == 19_999 {
            queues[b].push(Message::Incident(IncidentReport {
                incident: Uuid::from_u128(k as u128 + 1),
                kind: "batch_sample".into(),
                subject: format!("r{k}"),
                positive_at: "2025-10-10T09:00:00+08:00".into(),
                batches: vec![format!("r{k}")],
            }));
            written += 1;
        }
        k += 1;
        for p in 0..PROVINCES.len() {
            if queues[p].len() >= MAX_MESSAGES || (written >= messages && !queues[p].is_empty()) {
                stored += flush(store, p, &mut queues[p], &mut seqs[p]).await?;
            }
        }
    }
    for p in 0..PROVINCES.len() {
        stored += flush(store, p, &mut queues[p], &mut seqs[p]).await?;
    }
    println!(
        "inbox: {stored} messages from {} provinces ({k} shipments) accepted in {:.1} s",
        PROVINCES.len(),
        started.elapsed().as_secs_f64()
    );

    let path = dir.join(REGISTRY_SNAPSHOT_FILE);
    let t = Instant::now();
    let replayed = Arc::new(National::load(store, vec![], Some(path.clone())).await?);
    let replay_s = t.elapsed().as_secs_f64();
    let counts = replayed.read(|r| r.counts());
    let saved = replayed
        .save_snapshot(store)
        .await?
        .context("a replayed registry is written")?;
    // One registry in memory at a time, as at a restart.
    let bytes = replayed.read(|r| r.snapshot_bytes());
    drop(replayed);
    let t = Instant::now();
    let loaded = National::load(store, vec![], Some(path)).await?;
    let load_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        loaded.opened.loaded.is_some(),
        "the snapshot was set aside: {:?}",
        loaded.opened.set_aside
    );
    anyhow::ensure!(
        loaded.read(|r| r.snapshot_bytes()) == bytes,
        "the registry read from the snapshot differs from the replayed one"
    );
    println!(
        "registry: {} batches, {} links, {} incidents",
        counts.get("batches").copied().unwrap_or(0),
        counts.get("links").copied().unwrap_or(0),
        counts.get("messages_incident").copied().unwrap_or(0),
    );
    println!("| start | seconds | messages/s |");
    println!("|---|---|---|");
    println!(
        "| replay the whole inbox (baseline) | {replay_s:.2} | {:.0} |",
        stored as f64 / replay_s
    );
    println!(
        "| read the snapshot ({:.1} MB, written in {:.2} s) | {load_s:.2} | {:.0} |",
        saved.bytes as f64 / 1e6,
        saved.seconds,
        stored as f64 / load_s
    );
    println!("speed-up: {:.1}x", replay_s / load_s);
    drop(loaded);
    let t = Instant::now();
    let r = coldtrace_national::Registry::from_snapshot(&bytes)?;
    let decode_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    drop(r);
    println!(
        "of which decoding the registry: {decode_s:.2} s (freeing it: {:.2} s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn flush(
    store: &dyn InboxStore,
    p: usize,
    q: &mut Vec<Message>,
    seq: &mut u64,
) -> anyhow::Result<u64> {
    let mut n = 0;
    for chunk in std::mem::take(q).chunks(MAX_MESSAGES) {
        let envelopes = chunk
            .iter()
            .map(|m| {
                *seq += 1;
                Envelope {
                    id: Uuid::now_v7(),
                    seq: *seq,
                    recorded_at_ms: 1_760_000_000_000,
                    body: m.clone(),
                }
            })
            .collect::<Vec<_>>();
        n += store
            .accept_upload(PROVINCES[p].to_string(), envelopes, false)
            .await?
            .fresh
            .len() as u64;
    }
    Ok(n)
}
