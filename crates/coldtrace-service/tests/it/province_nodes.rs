//! Two provincial platform nodes on one PostgreSQL store (`COLDTRACE_TEST_PG`, default the machine's, in a schema
//! of its own), as two processes behind a load balancer would run: each writes, each traces what the other
//! wrote at once (a trace catches up before it answers), each trace index follows the other's writes without
//! being asked (PostgreSQL's notification at the other's commit), and writes from both at the same time give one
//! gapless movement log that both indexes hold whole.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coldtrace_domain::{Principal, ProvinceCode, Role, SubmissionDraft};
use coldtrace_service::platform::trace::{TimeRule, TraceDirection};
use coldtrace_service::platform::{SubmitCommand, TraceCommand, TraceStart};
use coldtrace_service::{Platform, PlatformConfig, Tier};
use coldtrace_store::Store;
use coldtrace_store_pg::PgStore;
use serde_json::{Value, json};
use uuid::Uuid;

fn url() -> String {
    std::env::var("COLDTRACE_TEST_PG")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
}

fn regulator() -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::Regulator,
        enterprise: None,
        province: Some(ProvinceCode::parse("12").unwrap()),
        person: None,
    }
}

fn enterprise(id: Uuid) -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::Enterprise,
        enterprise: Some(id),
        province: None,
        person: None,
    }
}

async fn submit(node: &Platform, p: &Principal, v: Value) -> coldtrace_store::SubmitOutcome {
    let draft: SubmissionDraft = serde_json::from_value(v.clone()).unwrap();
    node.submit(
        p,
        SubmitCommand {
            draft: &draft,
            idempotency_key: None,
            request_hash: v.to_string(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"))
}

async fn register(node: &Platform, seed: u32, kind: &str) -> (Uuid, String) {
    let uscc = coldtrace_gen::uscc_for_seed("120116", seed)
        .as_str()
        .to_string();
    let out = submit(
        node,
        &regulator(),
        json!({"enterprises": [{"uscc": uscc, "name": format!("天津企业{seed}"), "kind": kind, "region": "120116",
            "contact_name": "王伟", "contact_phone": "13812341234"}]}),
    )
    .await;
    (out.receipt.enterprises[0], uscc)
}

fn by_code(code: &str) -> TraceCommand {
    TraceCommand {
        start: TraceStart::Code {
            code: code.into(),
            holder: None,
        },
        direction: TraceDirection::Both,
        mode: TimeRule::Strict,
        people: false,
        purpose: None,
    }
}

/// The enterprises an answer names as holders.
async fn holders(node: &Platform, code: &str) -> Vec<Uuid> {
    let out = node.trace(&regulator(), &by_code(code)).await.unwrap();
    let mut v: Vec<Uuid> = out
        .answer
        .holders
        .iter()
        .filter_map(|h| h.enterprise)
        .collect();
    v.sort();
    v
}

/// Waits until the node's trace index holds `movements`, without asking it anything.
async fn follows(node: &Platform, movements: u64) -> Duration {
    let t = Instant::now();
    while node.tracer.figures().0 < movements {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the index holds {} of {movements} movements after 10 s",
            node.tracer.figures().0
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_province_nodes_on_one_postgresql_write_and_trace_each_others_records() {
    let schema = format!("coldtrace_pnodes_{}", Uuid::now_v7().simple());
    let u = url();
    let start = || async {
        let store = PgStore::connect_in_schema(&u, &schema)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (set COLDTRACE_TEST_PG): {e}", url()));
        Platform::start(
            Arc::new(store) as Arc<dyn Store>,
            PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").unwrap())),
        )
        .await
        .unwrap()
    };
    // Two nodes: two pools and two trace indexes, as two processes.
    let (a, b) = (start().await, start().await);

    // Node A: an importer receives a batch.
    let (importer, importer_uscc) = register(&a, 1, "importer").await;
    let pid = Uuid::now_v7();
    let first = submit(
        &a,
        &enterprise(importer),
        json!({
            "products": [{"id": pid, "name": "冷冻牛肉", "category": "meat", "origin_country": "AU"}],
            "batches": [{"product_id": pid, "batch_no": "B1", "quantity": 10, "unit": "kg",
                         "trace_codes": [{"value": "11020201101001"}]}],
            "movements": [{"kind": "receive", "batch_no": "B1", "quantity": 10,
                           "at": "2026-03-01T08:00:00+08:00", "counterparty_name": "Teys"}]
        }),
    )
    .await;
    let batch = first.receipt.batches[0];
    // Node B answers at once: its trace catches up with A's commit before it answers.
    assert_eq!(holders(&b, "11020201101001").await, vec![importer]);

    // Node B: a cold store registers there, and the importer ships to it through B.
    let (cold, cold_uscc) = register(&b, 2, "third_party_cold_store").await;
    submit(
        &b,
        &enterprise(importer),
        json!({"movements": [{"kind": "ship", "batch_id": batch, "quantity": 4, "at": "2026-03-02T08:00:00+08:00",
            "counterparty_uscc": cold_uscc, "counterparty_name": "天津企业2"}]}),
    )
    .await;
    // The cold store records the receipt through A: it may, since B's shipment named it.
    submit(
        &a,
        &enterprise(cold),
        json!({"movements": [{"kind": "receive", "batch_id": batch, "quantity": 4, "at": "2026-03-02T12:00:00+08:00",
            "counterparty_uscc": importer_uscc, "counterparty_name": "天津企业1"}]}),
    )
    .await;
    let mut both = vec![importer, cold];
    both.sort();
    assert_eq!(holders(&a, "11020201101001").await, both);
    assert_eq!(holders(&b, "11020201101001").await, both);

    // Without being asked anything, A's index follows a write on B.
    assert_eq!(a.tracer.figures().0, 3);
    submit(
        &b,
        &enterprise(cold),
        json!({"movements": [{"kind": "sell", "batch_id": batch, "quantity": 0.5,
            "at": "2026-03-02T18:00:00+08:00", "counterparty_name": "小店"}]}),
    )
    .await;
    let waited = follows(&a, 4).await;
    assert!(waited < Duration::from_secs(5), "followed in {waited:?}");

    // Writes from both nodes at the same time: one log, numbered without a gap, held whole by both indexes.
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let a = Arc::new(a);
    let b = Arc::new(b);
    for i in 0..10 {
        for (node, minute, out) in [(a.clone(), 0, &mut ta), (b.clone(), 30, &mut tb)] {
            out.push(tokio::spawn(async move {
                submit(
                    &node,
                    &enterprise(cold),
                    json!({"movements": [{"kind": "sell", "batch_id": batch, "quantity": 0.1,
                        "at": format!("2026-03-03T{i:02}:{minute:02}:00+08:00"),
                        "counterparty_name": "小店"}]}),
                )
                .await
            }));
        }
    }
    for t in ta.into_iter().chain(tb) {
        t.await.unwrap();
    }
    let log = a.store.flows(0, 1000).await.unwrap();
    let seqs: Vec<u64> = log.iter().map(|r| r.flow.seq).collect();
    assert_eq!(seqs, (1..=24).collect::<Vec<u64>>(), "one gapless log");
    follows(&a, 24).await;
    follows(&b, 24).await;
    let answer_a = a
        .trace(&regulator(), &by_code("11020201101001"))
        .await
        .unwrap();
    let answer_b = b
        .trace(&regulator(), &by_code("11020201101001"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&answer_a.answer.flows).unwrap(),
        serde_json::to_value(&answer_b.answer.flows).unwrap(),
        "both nodes answer the same"
    );

    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
