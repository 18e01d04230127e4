//! # coldtrace
//!
//! The `coldtrace` command: a thin shell over the library crates.
//!
//! ## Layout
//! - [`settings`]: layered configuration (defaults, a TOML file, `COLDTRACE__...` environment variables, flags).
//! - `cmd/`: one file per subcommand: `serve`, `demo`, `gen`, `import`, `key`, `dock-client`, `trace`, `incident`,
//!   `bench`; `demo` and `bench` run the harness (`coldtrace-harness`).

use clap::{Parser, Subcommand};

mod cmd;
mod settings;

/// coldtrace: cold-chain food traceability platform.
#[derive(Debug, Parser)]
#[command(name = "coldtrace", version, about)]
struct Cli {
    /// Configuration file (TOML). Environment variables `COLDTRACE__SECTION__KEY` override it.
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a platform: the HTTP API on an embedded store.
    Serve(cmd::serve::Args),
    /// Run the demonstration: a provincial platform loaded with generated data, serving.
    Demo(coldtrace_harness::demo::Args),
    /// Generate realistic synthetic data into a store.
    Gen(cmd::gen_data::Args),
    /// Import an enterprise's ledger file (CSV or XLSX).
    Import(cmd::import::Args),
    /// Issue an API key.
    Key(cmd::key::Args),
    /// People's accounts for the console: add (password on standard input), list, disable.
    Account(cmd::account::Args),
    /// Register a province's docking client at the national platform.
    DockClient(cmd::dock_client::Args),
    /// Trace a batch by any of its codes, forward and backward.
    Trace(cmd::trace::Args),
    /// Register and follow positive-test incidents.
    Incident(cmd::incident::Args),
    /// Measure throughput and latency; prints a table with a baseline.
    Bench(coldtrace_harness::bench::Args),
    /// The ledger checks' findings: list, show, dismiss.
    Findings(cmd::findings::Args),
    /// Check the tamper-evident audit trail.
    Audit(cmd::audit::Args),
    /// Write an online backup of the store (with the audit trail's key and checkpoints) to a file.
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup into an empty data directory.
    Restore(cmd::backup::RestoreArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = settings::Settings::load(cli.config.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => cmd::serve::run(settings, a).await,
            Command::Demo(a) => coldtrace_harness::demo::run(settings.server.listen, a).await,
            Command::Gen(a) => cmd::gen_data::run(settings, a).await,
            Command::Import(a) => cmd::import::run(settings, a).await,
            Command::Key(a) => cmd::key::run(settings, a).await,
            Command::Account(a) => cmd::account::run(settings, a).await,
            Command::Audit(a) => cmd::audit::run(settings, a).await,
            Command::Backup(a) => cmd::backup::backup(settings, a),
            Command::Restore(a) => cmd::backup::restore(a),
            Command::Findings(a) => cmd::findings::run(settings, a).await,
            Command::DockClient(a) => cmd::dock_client::run(settings, a).await,
            Command::Trace(a) => cmd::trace::run(settings, a).await,
            Command::Incident(a) => cmd::incident::run(settings, a).await,
            Command::Bench(a) => coldtrace_harness::bench::run(a).await,
        }
    })
}
