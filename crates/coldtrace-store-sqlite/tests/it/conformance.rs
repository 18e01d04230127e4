//! The backend-neutral conformance suite (`coldtrace_store::conformance`) on a SQLite store in a fresh file:
//! the same checks the PostgreSQL store runs.

use std::sync::Arc;

use coldtrace_store::conformance;
use coldtrace_store_sqlite::SqliteStore;

fn fresh() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("coldtrace.sqlite")).unwrap();
    (Arc::new(store), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_conforms() {
    let (store, _dir) = fresh();
    conformance::audit_trail(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_conform() {
    let (store, _dir) = fresh();
    conformance::credentials(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_conform() {
    let (store, _dir) = fresh();
    conformance::publications(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_inbox_conforms() {
    let (store, _dir) = fresh();
    conformance::inbox(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contacts_registry_conforms() {
    let (store, _dir) = fresh();
    conformance::contacts(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_and_the_index_feed_conform() {
    let (store, _dir) = fresh();
    conformance::records(store.clone(), store).await;
}
