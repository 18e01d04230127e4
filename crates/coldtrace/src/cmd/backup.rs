//! `coldtrace backup` and `coldtrace restore`: an online copy of the embedded store (with the audit trail's key
//! and published checkpoints inside it), and its restore into an empty data directory.

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Data directory (overrides `server.data`); the platform may keep serving from it.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// The backup file to write (must not exist).
    #[arg(long)]
    pub to: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub from: std::path::PathBuf,
    /// An empty (or new) data directory to restore into.
    #[arg(long)]
    pub data: std::path::PathBuf,
}

pub fn backup(settings: Settings, a: BackupArgs) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data);
    let t = std::time::Instant::now();
    let r = coldtrace_store_sqlite::backup::backup(&data, &a.to)?;
    println!(
        "backup of {} written to {}: {} bytes with {}, in {:.2} s",
        data.display(),
        a.to.display(),
        r.bytes,
        if r.files.is_empty() {
            "no other files".to_string()
        } else {
            r.files.join(", ")
        },
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn restore(a: RestoreArgs) -> anyhow::Result<()> {
    let files = coldtrace_store_sqlite::backup::restore(&a.from, &a.data)?;
    println!(
        "restored {} into {} (with {}); check it with `coldtrace audit verify --data {}`",
        a.from.display(),
        a.data.display(),
        if files.is_empty() {
            "no other files".to_string()
        } else {
            files.join(", ")
        },
        a.data.display()
    );
    Ok(())
}
