//! `coldtrace findings`: the ledger checks' findings on a data directory, as the platform's operator: list them
//! (by rule, status, enterprise, city, kind), show one, resolve or dismiss one with a reason.

use coldtrace_domain::EnterpriseKind;
use coldtrace_domain::checks::Rule;
use coldtrace_store::{Closing, Finding, FindingFilter, FindingStatus, Scope};
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
        /// stock_conservation, time_order, four_nots, dormant_stock, … (or the code, CT-STOCK).
        #[arg(long)]
        rule: Option<String>,
        /// open, answered, resolved or dismissed.
        #[arg(long)]
        status: Option<String>,
        /// An enterprise's id.
        #[arg(long)]
        enterprise: Option<Uuid>,
        /// The enterprise's city: four digits (4101).
        #[arg(long)]
        city: Option<String>,
        /// The enterprise's kind (importer, first_station_cold_store, processor, supermarket, restaurant, …).
        #[arg(long)]
        kind: Option<String>,
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
    /// enterprises with no receipt after 72 h, stock unmoved for 90 days (the windows of `[checks]`).
    Sweep {
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Resolve an open or answered finding (put right), with the reason.
    Resolve {
        id: Uuid,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Dismiss an open or answered finding (not a problem), with the reason.
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
        f.enterprise
            .map(|e| e.to_string())
            .or_else(|| f.declaration.clone())
            .unwrap_or_default(),
        f.message
    )
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let resolve = matches!(a.command, Sub::Resolve { .. });
    match a.command {
        Sub::List {
            rule,
            status,
            enterprise,
            city,
            kind,
            limit,
            data,
        } => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
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
                customs_of: None,
                city: city.map(|c| c.chars().take(4).collect()),
                kind: kind
                    .as_deref()
                    .map(|k| EnterpriseKind::parse(k).map(|k| k.as_str().to_string()))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--kind: {e}"))?,
            };
            let rows = store.findings(Scope::All, filter, None, limit).await?;
            for (_, f) in &rows {
                println!("{}", line(f));
            }
            eprintln!("{} finding(s)", rows.len());
            Ok(())
        }
        Sub::Sweep { data } => {
            let checks = settings.check_policy(&[])?;
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            let movements = store.stats(&Scope::All).await?.movements;
            let t = std::time::Instant::now();
            let r = coldtrace_service::platform::sweep(store.as_ref(), &checks).await?;
            println!(
                "swept {movements} movements in {:.2} s: {} finding(s) opened (in transit, dormant stock), {} resolved",
                t.elapsed().as_secs_f64(),
                r.opened,
                r.resolved
            );
            Ok(())
        }
        Sub::Show { id, data } => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            let f = store
                .finding(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no finding {id}"))?;
            println!("{}", serde_json::to_string_pretty(&f)?);
            Ok(())
        }
        Sub::Dismiss { id, reason, data } | Sub::Resolve { id, reason, data } => {
            let closing = if resolve {
                Closing::Resolve
            } else {
                Closing::Dismiss
            };
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            let reason = reason.trim();
            anyhow::ensure!(
                !reason.is_empty() && reason.chars().count() <= 500,
                "--reason is required, at most 500 characters"
            );
            let f = store
                .close_finding(id, closing, "operator".into(), reason.to_string())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no finding {id}"))?;
            println!("{}", line(&f));
            Ok(())
        }
    }
}
