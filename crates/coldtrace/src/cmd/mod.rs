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

use std::os::unix::fs::DirBuilderExt;

use anyhow::Context;

use coldtrace_store::{DockingConfig, Store};
use coldtrace_store_pg::PgStore;
use coldtrace_store_sqlite::SqliteStore;

use crate::settings::Settings;

/// The store a command works on: the embedded SQLite file of the data directory, or the PostgreSQL database
/// `server.store` names (`--store` for `serve`).
#[derive(Clone)]
pub enum OpenStore {
    Sqlite(Arc<SqliteStore>),
    Pg(Arc<PgStore>),
}

impl OpenStore {
    /// The store behind its role traits.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(s) => s.clone(),
            OpenStore::Pg(s) => s.clone(),
        }
    }

    /// Submissions also write their docking messages (and issue the platform's codes).
    pub fn enable_docking(&self, cfg: DockingConfig) {
        match self {
            OpenStore::Sqlite(s) => s.enable_docking(cfg),
            OpenStore::Pg(s) => s.enable_docking(cfg),
        }
    }

    /// Where the records are, for the log.
    pub fn describe(&self, data: &std::path::Path) -> String {
        match self {
            OpenStore::Sqlite(_) => coldtrace_store_sqlite::store_path(data)
                .display()
                .to_string(),
            OpenStore::Pg(s) => format!("PostgreSQL (store {})", s.store_id()),
        }
    }
}

impl AsRef<dyn Store> for OpenStore {
    fn as_ref(&self) -> &(dyn Store + 'static) {
        &**self
    }
}

impl std::ops::Deref for OpenStore {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        match self {
            OpenStore::Sqlite(s) => s.as_ref(),
            OpenStore::Pg(s) => s.as_ref(),
        }
    }
}

/// Opens the store: PostgreSQL when `url` (else `server.store`) names one, in `schema` (else
/// `server.store_schema`) when given; otherwise the embedded store of the data directory.
pub async fn open_any(
    settings: &Settings,
    data: &std::path::Path,
    url: Option<&str>,
    schema: Option<&str>,
) -> anyhow::Result<OpenStore> {
    let url = url.or(settings.server.store.as_deref());
    let schema = schema.or(settings.server.store_schema.as_deref());
    match url {
        None => Ok(OpenStore::Sqlite(open_store(data)?)),
        Some(u) if u.starts_with("postgresql://") || u.starts_with("postgres://") => {
            // The URL may carry a password: the log and errors name the host only.
            let shown = u.rsplit('@').next().unwrap_or(u);
            let s = match schema {
                Some(sc) => PgStore::connect_in_schema(u, sc).await,
                None => PgStore::connect(u).await,
            }
            .with_context(|| format!("opening the PostgreSQL store at {shown}"))?;
            // The data directory still holds this node's audit key, checkpoints and snapshots.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(data)
                .with_context(|| format!("creating {}", data.display()))?;
            Ok(OpenStore::Pg(Arc::new(s)))
        }
        Some(u) => anyhow::bail!(
            "--store (server.store) must be a postgresql:// URL; leave it out for the embedded store, not {:?}",
            u.split(':').next().unwrap_or_default()
        ),
    }
}

/// The trace index for a one-off command, as `coldtrace serve` starts it ([`coldtrace_service::Tracer::open`]):
/// from the data directory's snapshot and the store after it, or from the store alone. Prints which, and how long.
pub async fn tracer_for(
    store: &dyn Store,
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
