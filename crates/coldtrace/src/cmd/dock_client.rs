//! `coldtrace dock-client`: register a province's docking client at the national platform's store (HTTP Basic
//! client id and secret); prints the secret once, or stores the one given.

use coldtrace_api::keys::{hash_key, new_key};
use coldtrace_domain::ProvinceCode;
use coldtrace_store::Store;

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
    let data = a.data.unwrap_or(settings.server.data);
    let store = super::open_store(&data)?;
    let (id, secret) = register(
        store.as_ref(),
        &a.province,
        a.client_id.as_deref(),
        a.secret_file.as_deref(),
    )
    .await?;
    println!("{id}:{secret}");
    Ok(())
}

/// Registers (or re-keys) a docking client; answers its id and secret.
pub async fn register(
    store: &dyn Store,
    province: &str,
    client_id: Option<&str>,
    secret_file: Option<&std::path::Path>,
) -> anyhow::Result<(String, String)> {
    let p = ProvinceCode::parse(province).map_err(|e| anyhow::anyhow!("--province: {e}"))?;
    let id = client_id
        .map(str::to_string)
        .unwrap_or_else(|| format!("province-{}", p.as_str()));
    let secret = match secret_file {
        Some(f) => std::fs::read_to_string(f)?.trim().to_string(),
        None => new_key(),
    };
    if secret.len() < 16 {
        anyhow::bail!("a docking secret needs at least 16 characters");
    }
    store
        .put_docking_client(id.clone(), p.as_str().to_string(), hash_key(&secret))
        .await?;
    Ok((id, secret))
}
