//! Restarts from the trace index snapshot: a platform that loads its snapshot and catches up answers every trace
//! as an index rebuilt from the whole store, including movements stored and corrected after the snapshot; a
//! snapshot of another store, or a damaged one, is set aside and the index rebuilt.

use std::path::Path;
use std::sync::Arc;

use coldtrace_domain::{Principal, ProvinceCode, Role};
use coldtrace_gen::GenConfig;
use coldtrace_service::tracer::{TraceDirection, TraceFrom, TraceRequest};
use coldtrace_service::{Platform, PlatformConfig, Tier, Tracer};
use coldtrace_store::prelude::*;
use coldtrace_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{enterprise, regulator};

fn config(snapshot: &Path) -> PlatformConfig {
    let mut c = PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").unwrap()));
    c.index_snapshot = Some(snapshot.to_path_buf());
    c
}

async fn generated(path: &Path, seed: u64, movements: u64) -> Arc<SqliteStore> {
    let store = Arc::new(SqliteStore::open(path).unwrap());
    coldtrace_gen::generate(
        store.as_ref(),
        &GenConfig {
            seed,
            movements,
            ..Default::default()
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    store
}

fn national() -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::National,
        enterprise: None,
        province: None,
        person: None,
    }
}

/// Every batch's trace, both directions, as the national viewer sees it, paths included, without timings.
async fn every_trace(t: &Tracer, store: &dyn Store) -> Vec<Value> {
    let mut out = vec![];
    for b in t.batch_ids() {
        let a = t
            .trace(
                store,
                &TraceRequest {
                    from: TraceFrom::Batch(b),
                    direction: TraceDirection::Both.into(),
                    mode: coldtrace_service::tracer::TimeRule::Strict.into(),
                },
                &national(),
            )
            .await
            .unwrap();
        let mut v = serde_json::to_value(&a).unwrap();
        v.as_object_mut().unwrap().remove("took_us");
        out.push(v);
    }
    out
}

async fn submit(p: &Platform, who: &Principal, v: Value) -> coldtrace_store::SubmitOutcome {
    let draft: coldtrace_domain::SubmissionDraft = serde_json::from_value(v.clone()).unwrap();
    p.submit(
        who,
        coldtrace_service::platform::SubmitCommand {
            draft: &draft,
            idempotency_key: None,
            request_hash: v.to_string(),
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loads_the_snapshot_catches_up_and_answers_as_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("trace-index.snapshot");
    let store = generated(&dir.path().join("s.sqlite"), 7, 3000).await;
    let first = Platform::start(store.clone(), config(&snap)).await.unwrap();
    assert!(first.index_loaded.is_none(), "nothing to load yet");
    // An importer ships part of a batch before the snapshot; it corrects that shipment after it.
    let out = submit(
        &first,
        &regulator("12"),
        json!({"enterprises": [{"uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链", "kind": "importer",
            "region": "120116", "contact_name": "王伟", "contact_phone": "13812341234"}]}),
    )
    .await;
    let importer = out.receipt.enterprises[0];
    let pid = Uuid::now_v7();
    let out = submit(
        &first,
        &enterprise(importer),
        json!({
            "products": [{"id": pid, "name": "冷冻牛肉", "category": "meat", "origin_country": "AU"}],
            "batches": [{"product_id": pid, "batch_no": "SNAP-1", "quantity": 10, "unit": "kg"}],
            "movements": [
                {"kind": "receive", "batch_no": "SNAP-1", "quantity": 10, "at": "2026-03-01T08:00:00+08:00",
                 "counterparty_name": "Teys"},
                {"kind": "ship", "batch_no": "SNAP-1", "quantity": 6, "at": "2026-03-02T08:00:00+08:00",
                 "counterparty_name": "错记的冷库"},
                // A holder the index meets after the wrongly named one (a rebuild, which never applies the
                // corrected shipment, meets them in the other order).
                {"kind": "ship", "batch_no": "SNAP-1", "quantity": 1, "at": "2026-03-02T09:00:00+08:00",
                 "counterparty_name": "后来的冷库"}]
        }),
    )
    .await;
    let batch = out.receipt.batches[0];
    let shipment = out.receipt.movements[1];
    // Written here, or by the start's task if it got there first: either way whole on disk when this returns.
    first.save_index_snapshot().await.unwrap();
    let saved = first.tracer.figures().0;
    assert!(saved > 2000 && std::fs::metadata(&snap).unwrap().len() > 0);
    assert!(
        first.save_index_snapshot().await.unwrap().is_none(),
        "nothing new: not written again"
    );
    drop(first);

    // After the snapshot: another batch received and sold to thirty customers, written by another process
    // (a platform on the same store, as `coldtrace import` would be).
    {
        let other = Platform::start(
            store.clone(),
            PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").unwrap())),
        )
        .await
        .unwrap();
        let mut movements = vec![
            json!({"kind": "receive", "batch_no": "SNAP-2", "quantity": 100,
            "at": "2026-03-03T08:00:00+08:00", "counterparty_name": "Teys"}),
        ];
        for c in 0..30 {
            movements.push(json!({"kind": "sell", "batch_no": "SNAP-2", "quantity": 2,
                "at": format!("2026-03-04T08:{c:02}:00+08:00"), "counterparty_name": format!("客户{c}")}));
        }
        submit(
            &other,
            &enterprise(importer),
            json!({"batches": [{"product_id": pid, "batch_no": "SNAP-2", "quantity": 100, "unit": "kg"}],
                   "movements": movements}),
        )
        .await;
    }
    let second = Platform::start(store.clone(), config(&snap)).await.unwrap();
    let loaded = second.index_loaded.expect("the snapshot is loaded");
    assert_eq!(loaded.movements, saved);
    submit(
        &second,
        &enterprise(importer),
        json!({"movements": [{"kind": "ship", "batch_no": "SNAP-1", "quantity": 4,
            "at": "2026-03-02T08:00:00+08:00", "counterparty_name": "正确的冷库", "corrects": shipment}]}),
    )
    .await;
    second.save_index_snapshot().await.unwrap();
    let save_again = second.tracer.figures().0;
    assert!(save_again > saved);
    drop(second);
    let third = Platform::start(store.clone(), config(&snap)).await.unwrap();
    assert_eq!(third.index_loaded.unwrap().movements, save_again);

    let (rebuilt, _) = Tracer::rebuild(store.as_ref()).await.unwrap();
    let want = every_trace(&rebuilt, store.as_ref()).await;
    assert!(want.len() > 50, "{} batches", want.len());
    assert_eq!(every_trace(&third.tracer, store.as_ref()).await, want);
    // The corrected shipment: 4 went to the right buyer, nothing to the wrong one, 1 to the later one, 5 still at
    // the importer.
    let trace = want
        .iter()
        .find(|v| v["batches"][0]["id"] == json!(batch))
        .unwrap();
    let names: Vec<&str> = trace["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"正确的冷库"), "{names:?}");
    assert!(!names.contains(&"错记的冷库"), "{names:?}");
    let importer_holder = trace["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["enterprise"] == json!(importer))
        .unwrap();
    assert_eq!(importer_holder["on_hand"], 5.0);
    assert!(names.contains(&"后来的冷库"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_another_store_or_a_damaged_one_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("trace-index.snapshot");
    let a = generated(&dir.path().join("a.sqlite"), 7, 1500).await;
    let p = Platform::start(a.clone(), config(&snap)).await.unwrap();
    p.save_index_snapshot().await.unwrap();
    drop(p);

    // Another store with the same generated records (so the same movement ids at the same sequence numbers)
    // is still another store.
    let b = generated(&dir.path().join("b.sqlite"), 7, 1500).await;
    let p = Platform::start(b.clone(), config(&snap)).await.unwrap();
    assert!(
        p.index_loaded.is_none(),
        "another store's snapshot is not loaded"
    );
    let (rebuilt, _) = Tracer::rebuild(b.as_ref()).await.unwrap();
    assert_eq!(
        every_trace(&p.tracer, b.as_ref()).await,
        every_trace(&rebuilt, b.as_ref()).await
    );
    // That platform writes its own snapshot on start (it had to read the store); once this returns, one is whole
    // on disk (written here, or by the start's task if it was first). Then it is damaged.
    p.save_index_snapshot().await.unwrap();
    drop(p);
    let p = Platform::start(b.clone(), config(&snap)).await.unwrap();
    assert!(
        p.index_loaded.is_some(),
        "a sound snapshot of this store loads"
    );
    drop(p);
    let mut bytes = std::fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&snap, &bytes).unwrap();
    let p = Platform::start(b.clone(), config(&snap)).await.unwrap();
    assert!(p.index_loaded.is_none(), "a damaged snapshot is not loaded");
    assert_eq!(
        every_trace(&p.tracer, b.as_ref()).await,
        every_trace(&rebuilt, b.as_ref()).await
    );
}
