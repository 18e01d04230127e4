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
pub fn open_store(data: &std::path::Path) -> anyhow::Result<Arc<SqliteStore>> {
    let path = coldtrace_store_sqlite::store_path(data);
    let s = SqliteStore::open(&path)
        .with_context(|| format!("opening the store at {}", path.display()))?;
    Ok(Arc::new(s))
}
