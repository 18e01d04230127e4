//! Crash test: writers submit while the server is killed with SIGKILL at random moments, many times. After each
//! restart every acknowledged submission is present, whole, and no submission is present in part.

use coldtrace_store::prelude::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coldtrace_store::{BatchFilter, MovementFilter, Page, Scope};
use coldtrace_store_sqlite::SqliteStore;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::{Server, key};

const MOVEMENTS_PER_SUBMISSION: usize = 3;

fn submission(n: u64) -> Value {
    let no = format!("CRASH-{n}");
    json!({
        "batches": [{"product_id": "0190f5b2-0000-7000-8000-00000000c0de", "batch_no": no, "quantity": 100, "unit": "kg"}],
        "documents": [{"batch_no": no, "kind": "nucleic_acid", "number": format!("N{n}"), "issuer": "检测机构",
                       "issued_on": "2026-03-01", "result": "negative"}],
        "movements": (0..MOVEMENTS_PER_SUBMISSION).map(|i| json!({
            "kind": "sell", "batch_no": no, "quantity": 1 + i, "at": "2026-03-01T10:00:00+08:00", "counterparty_name": "某超市"
        })).collect::<Vec<_>>()
    })
}

async fn setup(base: &str, regulator: &str) -> String {
    let http = reqwest::Client::new();
    let r: Value = http
        .post(format!("{base}/api/v1/enterprises"))
        .bearer_auth(regulator)
        .json(&json!({"uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链有限公司", "kind": "first_station_cold_store",
                      "region": "120116", "contact_name": "王伟", "contact_phone": "13812341234"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["enterprises"][0].as_str().unwrap().to_string();
    let k: Value = http
        .post(format!("{base}/api/v1/enterprises/{id}/credentials"))
        .bearer_auth(regulator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = k["api_key"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{base}/api/v1/products"))
        .bearer_auth(&key)
        .json(&json!({"id": "0190f5b2-0000-7000-8000-00000000c0de", "name": "冷冻牛肉", "category": "meat", "origin_country": "AU"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    key
}

/// Checks the store file after a kill: every acknowledged submission whole, nothing partial.
async fn verify(path: &std::path::Path, acked: &HashSet<u64>) -> usize {
    let store = SqliteStore::open(path).unwrap();
    let mut present = HashSet::new();
    let mut after = 0;
    loop {
        let page = store
            .batches(
                &Scope::All,
                &BatchFilter::default(),
                Page { after, limit: 1000 },
            )
            .await
            .unwrap();
        for b in &page {
            let n: u64 = b
                .record
                .batch_no
                .trim_start_matches("CRASH-")
                .parse()
                .unwrap();
            let ms = store
                .movements(
                    &Scope::All,
                    &MovementFilter {
                        batch: Some(b.record.id),
                        holder: None,
                    },
                    Page {
                        after: 0,
                        limit: 100,
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                ms.len(),
                MOVEMENTS_PER_SUBMISSION,
                "submission {n} is partial: {} movements",
                ms.len()
            );
            let docs = store.documents_of(b.record.id).await.unwrap();
            assert_eq!(
                docs.len(),
                1,
                "submission {n} is partial: {} documents",
                docs.len()
            );
            present.insert(n);
        }
        match page.last() {
            Some(l) if page.len() == 1000 => after = l.seq,
            _ => break,
        }
    }
    let lost: Vec<_> = acked.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost after SIGKILL: {lost:?}"
    );
    present.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_submissions_survive_sigkill() {
    let rounds: usize = std::env::var("COLDTRACE_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("COLDTRACE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test: {rounds} rounds, seed {seed} (COLDTRACE_CRASH_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let store_file = data.join("coldtrace.sqlite");
    let regulator = key(data, &["--role", "regulator", "--province", "12"]);
    let acked: Arc<Mutex<HashSet<u64>>> = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut enterprise_key = None;
    for round in 0..rounds {
        // Four writers as fast as they can: far over a key's normal rate, which is not what this test is about.
        let server = Server::start_with(&[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--role",
            "province",
            "--province",
            "12",
            "--rate-per-key",
            "1000000",
        ]);
        let base = server.base.clone();
        let ek = match &enterprise_key {
            Some(k) => k,
            None => enterprise_key.insert(setup(&base, &regulator).await),
        }
        .clone();
        let mut writers = Vec::new();
        for _ in 0..4 {
            let (base, ek, acked, next) = (base.clone(), ek.clone(), acked.clone(), next.clone());
            writers.push(tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let r = http
                        .post(format!("{base}/api/v1/submissions"))
                        .bearer_auth(&ek)
                        .header("Idempotency-Key", format!("crash-{n}"))
                        .json(&submission(n))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            acked.lock().unwrap().insert(n);
                        }
                        Ok(r) => panic!(
                            "submission {n} refused: {}",
                            r.text().await.unwrap_or_default()
                        ),
                        // The server died mid-request: not acknowledged, so it may or may not be stored.
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
        server.kill9();
        for w in writers {
            w.await.unwrap();
        }
        let acked_now = acked.lock().unwrap().clone();
        let present = verify(&store_file, &acked_now).await;
        eprintln!(
            "round {round}: {} acknowledged so far, {present} present",
            acked_now.len()
        );
    }
    assert!(
        acked.lock().unwrap().len() > rounds,
        "the writers got submissions acknowledged"
    );
}
