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
/// The trace index for a one-off command: loaded from the data directory's snapshot (the one `coldtrace serve`
/// keeps) and caught up when it belongs to the store, else built from the store. Prints which, and how long.
pub async fn tracer_for(
    store: &SqliteStore,
    data: &std::path::Path,
) -> anyhow::Result<coldtrace_service::Tracer> {
    use coldtrace_service::Tracer;
    let path = data.join(coldtrace_service::platform::SNAPSHOT_FILE);
    if path.exists() {
        let t = std::time::Instant::now();
        match Tracer::load_snapshot(store, &path).await {
            Ok((tracer, f)) => {
                let caught_up = tracer.catch_up(store).await?;
                eprintln!(
                    "trace index: {} movements from the snapshot and {caught_up} from the store, ready in {:.2} s",
                    f.movements,
                    t.elapsed().as_secs_f64()
                );
                return Ok(tracer);
            }
            Err(e) => eprintln!("{e}: building the trace index from the store"),
        }
    }
    let (tracer, stats) = Tracer::rebuild(store).await?;
    eprintln!(
        "trace index: {} movements, {} lots, built in {:.2} s ({:.0} movements/s)",
        stats.movements, stats.lots, stats.seconds, stats.movements_per_second
    );
    Ok(tracer)
}

pub fn open_store(data: &std::path::Path) -> anyhow::Result<Arc<SqliteStore>> {
    let path = coldtrace_store_sqlite::store_path(data);
    let s = SqliteStore::open(&path)
        .with_context(|| format!("opening the store at {}", path.display()))?;
    Ok(Arc::new(s))
}
