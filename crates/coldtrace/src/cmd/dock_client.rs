//! `coldtrace dock-client`: register a province's docking client at the national platform's store (HTTP Basic
//! client id and secret); prints the secret once, or stores the one given.

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The province the client speaks for.
    #[arg(long)]
    pub province: String,
    /// Client id (default `province-CODE`).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Use the secret in this file instead of generating one.
    #[arg(long)]
    pub secret_file: Option<std::path::PathBuf>,
    /// The national platform's data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data.clone());
    let store = super::open_any(&settings, &data, None, None).await?;
    let secret = match &a.secret_file {
        Some(f) => Some(std::fs::read_to_string(f)?.trim().to_string()),
        None => None,
    };
    let (id, secret) = coldtrace_service::credentials::register_docking_client(
        store.as_ref(),
        &a.province,
        a.client_id.as_deref(),
        secret,
    )
    .await?;
    println!("{id}:{secret}");
    Ok(())
}
