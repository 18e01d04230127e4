//! `coldtrace key`: issue an API key directly into a store (bootstrap the first admin or regulator).

use anyhow::Context;
use coldtrace_api::keys::{hash_key, new_key};
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_store::{Credential, Store};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// enterprise, regulator, national, customs or admin.
    #[arg(long)]
    pub role: String,
    /// Province code, for a regulator.
    #[arg(long)]
    pub province: Option<String>,
    /// USCC of the enterprise, for an enterprise key.
    #[arg(long)]
    pub enterprise: Option<String>,
    #[arg(long, default_value = "")]
    pub label: String,
    /// Data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data);
    let store = super::open_store(&data)?;
    let role = Role::parse(&a.role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let key = issue(
        store.as_ref(),
        role,
        a.province.as_deref(),
        a.enterprise.as_deref(),
        &a.label,
    )
    .await?;
    println!("{key}");
    Ok(())
}

/// Issues a key and returns it (shown once).
pub async fn issue(
    store: &dyn Store,
    role: Role,
    province: Option<&str>,
    enterprise_uscc: Option<&str>,
    label: &str,
) -> anyhow::Result<String> {
    let province = match (role, province) {
        (Role::Regulator, Some(p)) => {
            Some(ProvinceCode::parse(p).map_err(|e| anyhow::anyhow!("--province: {e}"))?)
        }
        (Role::Regulator, None) => anyhow::bail!("a regulator key needs --province"),
        _ => None,
    };
    let enterprise = match (role, enterprise_uscc) {
        (Role::Enterprise, Some(u)) => Some(
            store
                .enterprise_by_uscc(u)
                .await?
                .with_context(|| format!("no enterprise with USCC {u}"))?
                .record
                .id,
        ),
        (Role::Enterprise, None) => anyhow::bail!("an enterprise key needs --enterprise USCC"),
        _ => None,
    };
    let key = new_key();
    store
        .create_credential(Credential {
            id: Uuid::now_v7(),
            key_hash: hash_key(&key),
            role,
            enterprise,
            province,
            label: label.to_string(),
            revoked: false,
        })
        .await?;
    Ok(key)
}
