//! `coldtrace key`: issue an API key directly into a store (bootstrap the first admin or regulator), and list,
//! revoke or rotate keys as the platform's operator.

use coldtrace_domain::{Principal, Role};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,
    #[command(flatten)]
    pub issue: Issue,
}

/// Issue a key (the default).
#[derive(Debug, clap::Args)]
pub struct Issue {
    /// enterprise, regulator, national, customs or admin.
    #[arg(long)]
    pub role: Option<String>,
    /// Province code, for a regulator.
    #[arg(long)]
    pub province: Option<String>,
    /// USCC of the enterprise, for an enterprise key.
    #[arg(long)]
    pub enterprise: Option<String>,
    #[arg(long, default_value = "")]
    pub label: String,
    /// Days the key works (default: until revoked).
    #[arg(long)]
    pub expires_days: Option<u32>,
    /// Data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// List every key: id, role, tenant, label, state.
    List {
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Revoke a key by its credential id; it stops working at once.
    Revoke {
        id: Uuid,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Replace a key: prints a new key for the same holder and revokes the old one.
    Rotate {
        id: Uuid,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now().as_millisecond();
    let operator = Principal {
        role: Role::Admin,
        ..Principal::operator()
    };
    match a.command {
        Some(Sub::List { data }) => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            let list = coldtrace_service::credentials::list(store.as_ref(), &operator).await?;
            for c in list {
                let state = if c.revoked {
                    "revoked".to_string()
                } else if c.expires_at_ms.is_some_and(|t| t <= now) {
                    "expired".to_string()
                } else {
                    match c.expires_at_ms {
                        Some(t) => format!("until {}", jiff::Timestamp::from_millisecond(t)?),
                        None => "active".to_string(),
                    }
                };
                let tenant = c
                    .province
                    .map(|p| p.as_str().to_string())
                    .or(c.enterprise.map(|e| e.to_string()))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{}  {:<10} {:<38} {:<24} {}",
                    c.id,
                    c.role.as_str(),
                    tenant,
                    state,
                    c.label
                );
            }
            Ok(())
        }
        Some(Sub::Revoke { id, data }) => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            coldtrace_service::credentials::revoke(store.as_ref(), &operator, id).await?;
            println!("revoked {id}");
            Ok(())
        }
        Some(Sub::Rotate { id, data }) => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            let k =
                coldtrace_service::credentials::rotate(store.as_ref(), &operator, id, now).await?;
            eprintln!("credential {} replaces {id} (revoked)", k.credential_id);
            println!("{}", k.key);
            Ok(())
        }
        None => issue(settings, a.issue, now).await,
    }
}

async fn issue(settings: Settings, a: Issue, now: i64) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data.clone());
    let store = super::open_any(&settings, &data, None, None).await?;
    let role = a
        .role
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--role is required to issue a key"))?;
    let role = Role::parse(role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let key = coldtrace_service::credentials::issue_key(
        store.as_ref(),
        role,
        a.province.as_deref(),
        a.enterprise.as_deref(),
        &a.label,
        a.expires_days.map(|d| now + d as i64 * 86_400_000),
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
