//! `coldtrace findings`: the ledger checks' findings on a data directory, as the platform's operator: list them
//! (by rule, status, enterprise), show one, dismiss one with a reason.

use coldtrace_domain::checks::Rule;
use coldtrace_store::prelude::*;
use coldtrace_store::{Finding, FindingFilter, FindingStatus, Scope};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// List findings, newest first.
    List {
        /// stock_conservation, time_order, future_time, four_nots (or the code, CT-STOCK).
        #[arg(long)]
        rule: Option<String>,
        /// open, resolved or dismissed.
        #[arg(long)]
        status: Option<String>,
        /// An enterprise's id.
        #[arg(long)]
        enterprise: Option<Uuid>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Show one finding in full (JSON).
    Show {
        id: Uuid,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Sweep the stored records now (a running platform does so every 10 minutes): shipments to registered
    /// enterprises with no receipt after 72 h.
    Sweep {
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Dismiss an open finding, with the reason.
    Dismiss {
        id: Uuid,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
}

fn line(f: &Finding) -> String {
    format!(
        "{}  {:<9} {:<10} {:<36} {}",
        f.id,
        f.code,
        f.status.as_str(),
        f.enterprise,
        f.message
    )
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    match a.command {
        Sub::List {
            rule,
            status,
            enterprise,
            limit,
            data,
        } => {
            let store = super::open_store(&data.unwrap_or(settings.server.data))?;
            let filter = FindingFilter {
                rule: rule
                    .as_deref()
                    .map(Rule::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--rule: {e}"))?,
                status: status
                    .as_deref()
                    .map(FindingStatus::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--status: {e}"))?,
                enterprise,
                batch: None,
            };
            let rows = store.findings(Scope::All, filter, None, limit).await?;
            for (_, f) in &rows {
                println!("{}", line(f));
            }
            eprintln!("{} finding(s)", rows.len());
            Ok(())
        }
        Sub::Sweep { data } => {
            let store = super::open_store(&data.unwrap_or(settings.server.data))?;
            let movements = store.stats(&Scope::All).await?.movements;
            let t = std::time::Instant::now();
            let r = coldtrace_service::platform::sweep(store.as_ref()).await?;
            println!(
                "swept {movements} movements in {:.2} s: {} in-transit finding(s) opened, {} resolved",
                t.elapsed().as_secs_f64(),
                r.opened,
                r.resolved
            );
            Ok(())
        }
        Sub::Show { id, data } => {
            let store = super::open_store(&data.unwrap_or(settings.server.data))?;
            let f = store
                .finding(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no finding {id}"))?;
            println!("{}", serde_json::to_string_pretty(&f)?);
            Ok(())
        }
        Sub::Dismiss { id, reason, data } => {
            let store = super::open_store(&data.unwrap_or(settings.server.data))?;
            let reason = reason.trim();
            anyhow::ensure!(
                !reason.is_empty() && reason.chars().count() <= 500,
                "--reason is required, at most 500 characters"
            );
            let f = store
                .dismiss_finding(id, "operator".into(), reason.to_string())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no finding {id}"))?;
            println!("{}", line(&f));
            Ok(())
        }
    }
}
