//! `coldtrace audit verify`: recomputes the audit trail's hash chain and checks every published checkpoint.

use coldtrace_service::audit::{CheckpointConfig, verify};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Recompute the chain; name the first broken entry and exit 1 if there is one.
    Verify {
        /// Data directory (overrides `server.data`).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    match a.command {
        Sub::Verify { data } => {
            let data = data.unwrap_or(settings.server.data.clone());
            let store = super::open_any(&settings, &data, None, None).await?;
            let t = std::time::Instant::now();
            let report = verify(store.as_ref(), Some(&CheckpointConfig::in_dir(&data))).await?;
            match report.broken {
                None => {
                    println!(
                        "audit trail intact: {} entries, {} checkpoint(s) matched, verified in {:.2} s",
                        report.entries,
                        report.checkpoints,
                        t.elapsed().as_secs_f64()
                    );
                    Ok(())
                }
                Some(b) => {
                    println!(
                        "audit trail BROKEN after {} good entries: {b}",
                        report.entries
                    );
                    std::process::exit(1);
                }
            }
        }
    }
}
