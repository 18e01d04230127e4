//! `coldtrace account`: people's accounts for the console, as the platform's operator: add one (the password
//! is read from the first line of standard input, never from the command line), list them, disable one.

use std::io::BufRead;

use coldtrace_domain::{ProvinceCode, Role};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Add an account; the password is the first line of standard input.
    Add {
        /// The sign-in name.
        #[arg(long)]
        login: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// regulator, national, admin or enterprise.
        #[arg(long)]
        role: String,
        /// Province code, for a regulator.
        #[arg(long)]
        province: Option<String>,
        /// USCC of the enterprise, for an enterprise's staff.
        #[arg(long)]
        enterprise: Option<String>,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// List every account.
    List {
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Disable an account by its id; its sessions end at once.
    Disable {
        id: Uuid,
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    match a.command {
        Sub::Add {
            login,
            name,
            role,
            province,
            enterprise,
            data,
        } => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let province = province
                .as_deref()
                .map(ProvinceCode::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--province: {e}"))?;
            let enterprise = match enterprise {
                Some(u) => Some(
                    store
                        .enterprise_by_uscc(&u)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no enterprise with USCC {u}"))?
                        .record
                        .id,
                ),
                None => None,
            };
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let acc = coldtrace_service::accounts::create(
                store.as_ref(),
                None,
                coldtrace_service::accounts::NewAccount {
                    login,
                    name,
                    role,
                    province,
                    enterprise,
                    password,
                },
            )
            .await?;
            println!("{}", acc.id);
            Ok(())
        }
        Sub::List { data } => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            for acc in coldtrace_service::accounts::list(store.as_ref(), None).await? {
                let tenant = acc
                    .province
                    .map(|p| p.as_str().to_string())
                    .or(acc.enterprise.map(|e| e.to_string()))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{}  {:<24} {:<10} {:<38} {:<9} {}",
                    acc.id,
                    acc.login,
                    acc.role.as_str(),
                    tenant,
                    if acc.disabled { "disabled" } else { "active" },
                    acc.name
                );
            }
            Ok(())
        }
        Sub::Disable { id, data } => {
            let store = super::open_any(
                &settings,
                &data.unwrap_or(settings.server.data.clone()),
                None,
                None,
            )
            .await?;
            coldtrace_service::accounts::disable(store.as_ref(), None, id).await?;
            println!("disabled {id}; its sessions have ended");
            Ok(())
        }
    }
}
