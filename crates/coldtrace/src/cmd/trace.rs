//! `coldtrace trace`: trace a batch from the command line, on a data directory.

use std::io::Write;

use anyhow::Context;
use coldtrace_domain::{Principal, TraceCode};
use coldtrace_service::platform::trace::{TimeRule, TraceDirection};
use coldtrace_service::{TraceFrom, TraceRequest, export};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Any trace code of the batch (GS1, URL, issued, USCC-based, customs).
    pub code: String,
    /// both, forward or backward.
    #[arg(long, default_value = "both")]
    pub direction: TraceDirection,
    /// strict or conservative.
    #[arg(long, default_value = "strict")]
    pub mode: TimeRule,
    /// Print the full answer as JSON.
    #[arg(long, conflicts_with_all = ["csv", "xlsx"])]
    pub json: bool,
    /// Print one row per movement as CSV.
    #[arg(long, conflicts_with = "xlsx")]
    pub csv: bool,
    /// Write one row per movement to an XLSX file.
    #[arg(long)]
    pub xlsx: Option<std::path::PathBuf>,
    /// With --csv or --xlsx: the key data elements (FSMA 204), one row per critical tracking event and batch.
    #[arg(long)]
    pub kde: bool,
    /// Data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data.clone());
    let store = super::open_any(&settings, &data, None, None).await?;
    let code = TraceCode::parse(&a.code, None).map_err(|e| anyhow::anyhow!("code: {e}"))?;
    let batch = store
        .batch_by_code(&code.key)
        .await?
        .with_context(|| format!("no batch carries the code {}", a.code))?;
    let tracer = super::tracer_for(store.as_ref(), &data).await?;
    let req = TraceRequest {
        from: TraceFrom::Batch(batch),
        direction: a.direction.into(),
        mode: a.mode.into(),
    };
    let answer = tracer
        .trace(store.as_ref(), &req, &Principal::operator())
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else if a.csv || a.xlsx.is_some() {
        let (rows, layout) = if a.kde {
            (
                export::kde_rows(store.as_ref(), &tracer, &answer).await?,
                export::KDE,
            )
        } else {
            (
                export::rows(store.as_ref(), &tracer, &answer).await?,
                export::TRACE,
            )
        };
        let Some(path) = a.xlsx else {
            std::io::stdout().write_all(&export::csv_as(layout, &rows))?;
            return Ok(());
        };
        std::fs::write(&path, export::xlsx_as(layout, &rows)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{} rows written to {}", rows.len(), path.display());
    } else {
        print_summary(&answer);
    }
    Ok(())
}

pub fn print_summary(a: &coldtrace_service::TraceAnswer) {
    println!(
        "{} batch(es), {} holder(s) in {} province(s); earliest {}; answered in {} µs ({}, {})",
        a.batches.len(),
        a.holders.len(),
        a.provinces.len(),
        a.earliest.map_or("-".into(), |t| t.to_string()),
        a.took_us,
        a.direction,
        a.mode
    );
    for h in &a.holders {
        let on_hand: Vec<String> = h
            .lots
            .iter()
            .filter(|l| l.on_hand > 0.0)
            .map(|l| format!("{} {} {}", l.batch_no, l.on_hand, l.unit))
            .collect();
        let role = h.lots.first().map(|l| l.role.as_str()).unwrap_or("");
        println!(
            "  {:<9} {:<34} {:<6} {:<14} on hand: {}",
            role,
            h.name,
            h.province_name.as_deref().unwrap_or("-"),
            h.contact_phone.as_deref().unwrap_or("-"),
            if on_hand.is_empty() {
                "none".to_string()
            } else {
                on_hand.join(", ")
            }
        );
    }
}
