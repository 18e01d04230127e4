//! Two national nodes on one PostgreSQL store (`COLDTRACE_TEST_PG`, default the machine's
//! `postgresql://postgres@127.0.0.1:5432/test`, in a schema of its own), as two processes behind a load balancer
//! would run: each accepts uploads and decisions, each reads its own writes and follows the other's, both answer
//! the same, a long poll on one wakes for a notice the other issued, and a third node starts from a snapshot of
//! the first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coldtrace_domain::docking::{Envelope, Message, Upload, VERSION};
use coldtrace_service::national::National;
use coldtrace_store_pg::PgStore;
use serde_json::json;
use uuid::Uuid;

fn url() -> String {
    std::env::var("COLDTRACE_TEST_PG")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
}

fn upload(province: &str, first_seq: u64, bodies: Vec<serde_json::Value>) -> Upload {
    Upload {
        version: VERSION.into(),
        province: province.into(),
        messages: bodies
            .into_iter()
            .enumerate()
            .map(|(i, b)| Envelope {
                id: Uuid::now_v7(),
                seq: first_seq + i as u64,
                recorded_at_ms: 1_765_000_000_000,
                body: serde_json::from_value::<Message>(b).unwrap(),
            })
            .collect(),
    }
}

/// Tianjin's importer and Guangdong's wholesaler.
fn parties() -> (String, String) {
    let u = |region, seed| {
        coldtrace_gen::uscc_for_seed(region, seed)
            .as_str()
            .to_string()
    };
    (u("120116", 71), u("440106", 72))
}

/// A border flow of frozen brisket between the two, as the seller (`outflow`) or the buyer (`inflow`) reports it.
fn border_flow(kind: &str, id: &str, batch: &str, other: &str, at: i64) -> serde_json::Value {
    let (seller, buyer) = parties();
    json!({"type": kind, "movement": id, "batch": batch, "product": "冻牛腩", "seller_uscc": seller,
        "seller_name": "天津进口商", "buyer_uscc": buyer, "buyer_name": "广州批发商", "other_province": other,
        "quantity_milli": 200_000, "unit": "kg", "at_ms": at})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_national_nodes_on_one_postgresql_answer_the_same() {
    let schema = format!("coldtrace_nodes_{}", Uuid::now_v7().simple());
    let u = url();
    let connect = || PgStore::connect_in_schema(&u, &schema);
    // Two nodes: two pools, as two processes.
    let (sa, sb) = (
        connect()
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (set COLDTRACE_TEST_PG): {e}", url())),
        connect().await.unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("national-registry.snapshot");
    let a = Arc::new(
        National::load(&sa, vec![], Some(snap.clone()))
            .await
            .unwrap(),
    );
    let b = Arc::new(National::load(&sb, vec![], None).await.unwrap());

    let (seller, _) = parties();
    let t = 1_765_000_000_000_i64;
    let batch = json!({"type": "batch", "batch": "tj-1", "codes": [], "product": "冻牛腩", "gtin": null,
        "batch_no": "BR1", "owner_uscc": seller, "origin_country": "BR", "inspection_cert_no": null,
        "declaration_no": null, "port_of_entry": null, "import_date": null, "quantity_milli": 1_000_000,
        "unit": "kg"});

    // Tianjin's platform reaches node A, Guangdong's node B.
    a.accept(
        &sa,
        "12",
        upload(
            "12",
            1,
            vec![batch, border_flow("outflow", "m1", "tj-1", "44", t)],
        ),
    )
    .await
    .unwrap();
    let r = b
        .accept(
            &sb,
            "44",
            upload(
                "44",
                1,
                vec![border_flow("inflow", "r1", "gd-1", "12", t + 3_600_000)],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.accepted, 1);
    // B read A's rows before its own: the shipment and the receipt are linked there already.
    let links = b.read(|r| r.links(false));
    assert_eq!(links.len(), 1, "node B links across what node A accepted");
    assert!(
        a.read(|r| r.links(false)).is_empty(),
        "node A has not followed yet"
    );
    let followed = a.follow(&sa).await.unwrap();
    assert_eq!(followed.rows, 1);
    assert_eq!(a.read(|r| r.links(false).len()), 1);

    // A positive test reaches node A; Guangdong's long poll waits on node B and wakes when B follows.
    let waiting = {
        let (b, sb) = (b.clone(), sb.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let n = b
                .notices(&sb, "44", 0, Duration::from_secs(20))
                .await
                .unwrap();
            (n, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let incident = Uuid::now_v7();
    a.accept(
        &sa,
        "12",
        upload(
            "12",
            3,
            vec![json!({"type": "incident", "incident": incident, "kind": "batch_sample",
                "subject": "tj-1", "positive_at": "2025-11-20T09:00:00+08:00", "batches": ["tj-1"]})],
        ),
    )
    .await
    .unwrap();
    let applied = b.follow(&sb).await.unwrap();
    assert_eq!((applied.rows, applied.notices), (1, 1));
    let (notices, waited) = waiting.await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].lines[0].batch, "gd-1");
    assert!(
        waited < Duration::from_secs(10),
        "woken by the follow, not the deadline: {waited:?}"
    );
    assert_eq!(
        b.read(|r| r.deliveries(Some(incident)).len()),
        1,
        "node B follows the delivery of a notice node A issued"
    );

    // A commander on node B confirms the link; node A follows the decision.
    b.decide(
        &sb,
        &links[0].id,
        true,
        "commander",
        Some("同一批货".into()),
    )
    .await
    .unwrap();
    a.follow(&sa).await.unwrap();
    assert_eq!(
        a.read(|r| r.link_by_id(&links[0].id).map(|l| l.status)),
        Some(coldtrace_national::LinkStatus::Confirmed)
    );
    assert_eq!(
        a.read(|r| r.snapshot_bytes()),
        b.read(|r| r.snapshot_bytes()),
        "both nodes hold the same registry"
    );

    // A third node from node A's snapshot, and a fourth from the store alone, stand where both do.
    a.save_snapshot(&sa).await.unwrap().unwrap();
    let c = National::load(&connect().await.unwrap(), vec![], Some(snap))
        .await
        .unwrap();
    assert!(c.opened.loaded.is_some(), "{:?}", c.opened.set_aside);
    assert_eq!(c.opened.replayed, 0);
    let d = National::load(&sb, vec![], None).await.unwrap();
    assert_eq!(d.opened.replayed, 4);
    for other in [&c, &d] {
        assert_eq!(
            other.read(|r| r.snapshot_bytes()),
            a.read(|r| r.snapshot_bytes())
        );
    }

    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// A PostgreSQL store backed up with `pg_dump` and restored with `pg_restore` into another database holds the
/// same store: its id, an audit trail that verifies entry for entry, and an inbox from which the national registry
/// rebuilds byte for byte the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_restore_gives_the_same_store_audit_trail_and_registry() {
    use coldtrace_store::audit::{AuditEvent, VerifyState, verify};
    use coldtrace_store::{AuditStore, InboxStore};
    let base = url();
    let schema = format!("coldtrace_dump_{}", Uuid::now_v7().simple());
    let store = PgStore::connect_in_schema(&base, &schema)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} (set COLDTRACE_TEST_PG): {e}"));
    let events: Vec<AuditEvent> = (0..25)
        .map(|i| AuditEvent {
            at_ms: 1_765_000_000_000 + i,
            actor: "regulator:12".into(),
            role: Some("regulator".into()),
            province: Some("12".into()),
            action: "GET /api/v1/trace".into(),
            object: format!("/api/v1/trace?code={i}"),
            outcome: 200,
            purpose: Some("涉疫排查".into()),
        })
        .collect();
    store.append_audit(events).await.unwrap();
    let national = National::load(&store, vec![], None).await.unwrap();
    national
        .accept(
            &store,
            "12",
            upload(
                "12",
                1,
                vec![
                    border_flow("outflow", "m1", "tj-1", "44", 1_765_000_000_000),
                    json!({"type": "incident", "incident": Uuid::now_v7(), "kind": "batch_sample",
                        "subject": "tj-1", "positive_at": "2025-11-20T09:00:00+08:00", "batches": ["tj-1"]}),
                ],
            ),
        )
        .await
        .unwrap();
    national
        .accept(
            &store,
            "44",
            upload(
                "44",
                1,
                vec![border_flow("inflow", "r1", "gd-1", "12", 1_765_003_600_000)],
            ),
        )
        .await
        .unwrap();
    let before = national.read(|r| r.snapshot_bytes());
    assert_eq!(national.read(|r| r.links(false).len()), 1);

    // The documented backup and restore (docs/operations.md).
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("coldtrace.dump");
    let ok = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--schema", &schema, "--file"])
        .arg(&dump)
        .arg(format!("--dbname={base}"))
        .status()
        .expect("pg_dump (Debian's postgresql-client; scripts/test installs it)");
    assert!(ok.success());
    let db = format!("coldtrace_restore_{}", Uuid::now_v7().simple());
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (base.as_str(), String::new()),
    };
    let restored_url = format!("{}/{db}{query}", &path[..path.rfind('/').unwrap()]);
    let ok = std::process::Command::new("pg_restore")
        .arg(format!("--dbname={restored_url}"))
        .arg(&dump)
        .status()
        .expect("pg_restore");
    assert!(ok.success());

    let restored = PgStore::connect_in_schema(&restored_url, &schema)
        .await
        .unwrap();
    assert_eq!(restored.store_id(), store.store_id());
    let trail = restored.audit_entries(None, 0, 1_000).await.unwrap();
    assert_eq!(trail.len(), 25);
    verify(&mut VerifyState::default(), &trail).expect("the restored audit trail verifies");
    assert_eq!(trail, store.audit_entries(None, 0, 1_000).await.unwrap());
    assert_eq!(
        restored.inbox(0, 100).await.unwrap().len(),
        store.inbox(0, 100).await.unwrap().len()
    );
    let again = National::load(&restored, vec![], None).await.unwrap();
    assert_eq!(
        again.read(|r| r.snapshot_bytes()),
        before,
        "the registry rebuilt from the restored store is the same"
    );
    drop(restored);
    drop(again);

    for sql in [
        format!("DROP DATABASE {db} WITH (FORCE)"),
        format!("DROP SCHEMA {schema} CASCADE"),
    ] {
        client.batch_execute(&sql).await.unwrap();
    }
}
