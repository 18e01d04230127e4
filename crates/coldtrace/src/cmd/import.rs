//! `coldtrace import`: import an enterprise's ledger file into a store.

use anyhow::Context;
use coldtrace_ledger::{Format, ImportOptions};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger file (.csv or .xlsx).
    pub file: std::path::PathBuf,
    /// The enterprise whose ledger this is, by USCC.
    #[arg(long)]
    pub enterprise: String,
    /// Data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Import every row without errors instead of all or nothing.
    #[arg(long)]
    pub partial: bool,
    /// `csv` or `xlsx` (detected from the file otherwise).
    #[arg(long)]
    pub format: Option<String>,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data.clone());
    let store = super::open_any(&settings, &data, None, None).await?;
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let format = match a.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(o) => anyhow::bail!("--format must be csv or xlsx, not {o:?}"),
        None => Format::detect(a.file.to_str(), &bytes),
    };
    let ent = coldtrace_store::RecordStore::enterprise_by_uscc(store.as_ref(), &a.enterprise)
        .await?
        .with_context(|| format!("no enterprise with USCC {} is registered", a.enterprise))?;
    let pb = coldtrace_harness::progress_bar(0, "rows");
    let report = coldtrace_ledger::import(
        store.as_ref(),
        ent.record.id,
        &format!("enterprise:{}", ent.record.id),
        &bytes,
        format,
        ImportOptions {
            partial: a.partial,
            ..Default::default()
        },
        &|done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        },
    )
    .await?;
    pb.finish_and_clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.receipt.is_none() {
        anyhow::bail!("nothing imported: {} row error(s)", report.errors.len());
    }
    Ok(())
}
