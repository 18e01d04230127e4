//! One module per subcommand.

pub mod account;
pub mod audit;
pub mod backup;
pub mod dock_client;
pub mod findings;
pub mod gen_data;
pub mod import;
pub mod incident;
pub mod key;
pub mod serve;
pub mod trace;

use std::sync::Arc;

use anyhow::Context;

use coldtrace_store_sqlite::SqliteStore;

/// Opens the embedded store of a data directory.
/// The trace index for a one-off command, as `coldtrace serve` starts it ([`coldtrace_service::Tracer::open`]):
/// from the data directory's snapshot and the store after it, or from the store alone. Prints which, and how long.
pub async fn tracer_for(
    store: &SqliteStore,
    data: &std::path::Path,
) -> anyhow::Result<coldtrace_service::Tracer> {
    let t = std::time::Instant::now();
    let path = data.join(coldtrace_service::platform::SNAPSHOT_FILE);
    let o = coldtrace_service::Tracer::open(store, Some(&path)).await?;
    if let Some(e) = &o.set_aside {
        eprintln!("{e}: building the trace index from the store");
    }
    let seconds = t.elapsed().as_secs_f64();
    match &o.loaded {
        Some(f) => eprintln!(
            "trace index: {} movements from the snapshot and {} from the store, ready in {seconds:.2} s",
            f.movements, o.caught_up
        ),
        None => eprintln!(
            "trace index: {} movements, built in {seconds:.2} s ({:.0} movements/s)",
            o.caught_up,
            o.caught_up as f64 / seconds.max(1e-9)
        ),
    }
    Ok(o.tracer)
}

pub fn open_store(data: &std::path::Path) -> anyhow::Result<Arc<SqliteStore>> {
    let path = coldtrace_store_sqlite::store_path(data);
    let s = SqliteStore::open(&path)
        .with_context(|| format!("opening the store at {}", path.display()))?;
    Ok(Arc::new(s))
}
