//! One module per subcommand.

pub mod bench;
pub mod bench_docking;
pub mod bench_scale;
pub mod bench_trace;
pub mod demo;
pub mod dock_client;
pub mod federation;
pub mod gen_data;
pub mod import;
pub mod incident;
pub mod key;
pub mod serve;
pub mod trace;

use std::sync::Arc;

use coldtrace_store::SqliteStore;

/// Opens the embedded store of a data directory.
pub fn open_store(data: &std::path::Path) -> anyhow::Result<Arc<SqliteStore>> {
    let path = crate::settings::store_path(data);
    let s = SqliteStore::open(&path)
        .map_err(|e| anyhow::anyhow!("opening the store at {}: {e}", path.display()))?;
    Ok(Arc::new(s))
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn bar(total: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
