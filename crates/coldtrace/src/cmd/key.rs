//! `coldtrace key`: issue an API key directly into a store (bootstrap the first admin or regulator).

use coldtrace_domain::Role;

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
    let key = coldtrace_service::credentials::issue_key(
        store.as_ref(),
        role,
        a.province.as_deref(),
        a.enterprise.as_deref(),
        &a.label,
    )
    .await
    .map_err(|e| match e {
        coldtrace_service::ServiceError::NotFound(_) => anyhow::anyhow!(
            "no enterprise with USCC {}",
            a.enterprise.as_deref().unwrap_or_default()
        ),
        e => e.into(),
    })?;
    println!("{key}");
    Ok(())
}
