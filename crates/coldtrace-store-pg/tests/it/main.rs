//! The PostgreSQL store against a real PostgreSQL (`COLDTRACE_TEST_PG`, default the machine's
//! `postgresql://postgres@127.0.0.1:5432/test`): each test in a schema of its own, dropped afterwards; the
//! backend-neutral conformance suite (the same checks the SQLite store runs), migrations, and the refusal of a
//! database a newer release migrated.

use std::sync::Arc;

use coldtrace_store::conformance;
use coldtrace_store_pg::PgStore;

fn url() -> String {
    std::env::var("COLDTRACE_TEST_PG")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
}

/// A store in a fresh schema; the schema is dropped when the guard goes.
struct Fresh {
    store: PgStore,
    schema: String,
}

impl Fresh {
    async fn new() -> Fresh {
        let schema = format!("coldtrace_test_{}", uuid::Uuid::now_v7().simple());
        let store = PgStore::connect_in_schema(&url(), &schema)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (set COLDTRACE_TEST_PG): {e}", url()));
        Fresh { store, schema }
    }

    async fn drop_schema(self) {
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

/// The store reads the server's settings when it opens: a server whose statistics never refresh is named (this
/// machine's test server runs without autovacuum; a default server has it on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_autovacuum_is_named_when_the_store_opens() {
    let f = Fresh::new().await;
    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let on = |name: &'static str| {
        let client = &client;
        async move {
            let v: String = client
                .query_one(&format!("SHOW {name}"), &[])
                .await
                .unwrap()
                .get(0);
            v == "on"
        }
    };
    let (autovacuum, track_counts) = (on("autovacuum").await, on("track_counts").await);
    let advice = f.store.server_advice();
    assert_eq!(
        advice.iter().any(|a| a.starts_with("autovacuum is off")),
        !autovacuum,
        "{advice:?}"
    );
    assert_eq!(
        advice.iter().any(|a| a.starts_with("track_counts is off")),
        !track_counts,
        "{advice:?}"
    );
    f.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_conforms() {
    let f = Fresh::new().await;
    conformance::audit_trail(Arc::new(f.store.clone())).await;
    f.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_conform() {
    let f = Fresh::new().await;
    conformance::credentials(Arc::new(f.store.clone())).await;
    f.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_conform() {
    let f = Fresh::new().await;
    conformance::publications(Arc::new(f.store.clone())).await;
    f.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_keep_the_store_id_and_refuse_a_newer_database() {
    let f = Fresh::new().await;
    let id = f.store.store_id();
    assert_eq!(
        f.store.schema_version().await.unwrap(),
        coldtrace_store_pg::LATEST_SCHEMA
    );
    // Two more nodes start on the same schema at once: nothing is created twice, the id stands.
    let u = url();
    let (a, b) = tokio::join!(
        PgStore::connect_in_schema(&u, &f.schema),
        PgStore::connect_in_schema(&u, &f.schema)
    );
    assert_eq!(a.unwrap().store_id(), id);
    assert_eq!(b.unwrap().store_id(), id);
    // A schema name that could say more than a name is refused before anything runs.
    let e = PgStore::connect_in_schema(&url(), "x; DROP TABLE audit")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("lowercase letters"), "{e}");
    // A database a newer release migrated is refused, not written with older rules.
    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "INSERT INTO {}.coldtrace_migrations (version, applied_at_ms) VALUES (999, 0)",
            f.schema
        ))
        .await
        .unwrap();
    let e = PgStore::connect_in_schema(&url(), &f.schema)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("newer coldtrace"), "{e}");
    f.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_inbox_conforms() {
    let f = Fresh::new().await;
    conformance::inbox(Arc::new(f.store.clone())).await;
    f.drop_schema().await;
}

/// A node waiting for changes wakes at another node's commit (PostgreSQL's notification), not at its timeout;
/// writes in another schema do not wake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_wakes_the_other() {
    use coldtrace_store::InboxStore;
    use std::time::{Duration, Instant};
    let f = Fresh::new().await;
    let other = Fresh::new().await;
    let node_b = PgStore::connect_in_schema(&url(), &f.schema).await.unwrap();
    // The first wait starts the listener; let it settle.
    node_b
        .inbox_changed(Duration::from_millis(300))
        .await
        .unwrap();
    let envelope = |seq: u64| coldtrace_domain::docking::Envelope {
        id: uuid::Uuid::now_v7(),
        seq,
        recorded_at_ms: 0,
        body: coldtrace_domain::docking::Message::NoticeReceived {
            notice: uuid::Uuid::now_v7(),
        },
    };
    // A write elsewhere: the wait runs to its timeout.
    let t = Instant::now();
    let (_, r) = tokio::join!(node_b.inbox_changed(Duration::from_millis(1_500)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        other
            .store
            .accept_upload("12".into(), vec![envelope(1)], false)
            .await
            .unwrap()
    });
    assert_eq!(r.receipt.accepted, 1);
    assert!(
        t.elapsed() >= Duration::from_millis(1_400),
        "{:?}",
        t.elapsed()
    );
    // A write by node A on the same store: woken at its commit.
    let t = Instant::now();
    let (_, r) = tokio::join!(node_b.inbox_changed(Duration::from_secs(20)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        f.store
            .accept_upload("12".into(), vec![envelope(1)], false)
            .await
            .unwrap()
    });
    assert_eq!(r.receipt.accepted, 1);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    f.drop_schema().await;
    other.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contacts_registry_conforms() {
    let f = Fresh::new().await;
    conformance::contacts(Arc::new(f.store.clone())).await;
    f.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_and_the_index_feed_conform() {
    let f = Fresh::new().await;
    let store = Arc::new(f.store.clone());
    conformance::records(store.clone(), store).await;
    f.drop_schema().await;
}
