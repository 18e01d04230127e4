//! # coldtrace-harness
//!
//! The demonstration and the measurements, kept out of the product's serving path: the `coldtrace` binary's
//! `demo` and `bench` subcommands call into this crate, and nothing a platform runs depends on it.
//!
//! ## Layout
//! - [`demo`]: the national command platform and three provinces with a chain across them and a positive test.
//! - [`federation`]: starting a national platform and docked provinces in one process, on free ports.
//! - [`bench`]: `coldtrace bench` (ingest), dispatching to [`bench_trace`] (engine beside SQL recursive queries in
//!   SQLite and PostgreSQL), [`bench_scale`] (the engine alone at 10^7..10^8) and [`bench_docking`] (four
//!   processes: backlog delivery and positive-test-to-notice latency).

pub mod bench;
pub mod bench_census;
pub mod bench_customs;
pub mod bench_disk;
pub mod bench_docking;
pub mod bench_epcis;
pub mod bench_guards;
pub mod bench_registry;
pub mod bench_scale;
pub mod bench_trace;
pub mod demo;
pub mod federation;

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

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
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
