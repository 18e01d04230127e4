//! `coldtrace serve`: the HTTP API of a provincial (or national) platform on the embedded store or PostgreSQL.

use anyhow::Context;
use coldtrace_api::AppState;
use std::sync::Arc;

use coldtrace_domain::{CodeScheme, ProvinceCode};
use coldtrace_service::docking::NationalLink;
use coldtrace_service::{Platform, PlatformConfig, Tier};
use coldtrace_store::DockingConfig;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory (overrides `server.data`): the embedded store, and this node's audit key, checkpoints and
    /// snapshots.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// The records in PostgreSQL instead of the embedded store: `postgresql://user@host:5432/db` (overrides
    /// `server.store`).
    #[arg(long)]
    pub store: Option<String>,
    /// The schema of that database the store lives in (overrides `server.store_schema`).
    #[arg(long)]
    pub store_schema: Option<String>,
    /// Address to listen on (overrides `server.listen`).
    #[arg(long)]
    pub listen: Option<String>,
    /// `province` or `national` (overrides `server.role`).
    #[arg(long)]
    pub role: Option<String>,
    /// Province code of a provincial platform (overrides `server.province`).
    #[arg(long)]
    pub province: Option<String>,
    /// The national platform to dock to, e.g. `http://127.0.0.1:7000` (overrides `server.national`).
    #[arg(long)]
    pub national: Option<String>,
    /// Docking client id (overrides `server.national_client_id`; default `province-CODE`).
    #[arg(long)]
    pub client_id: Option<String>,
    /// File holding the docking client secret (else `server.national_secret`).
    #[arg(long)]
    pub secret_file: Option<std::path::PathBuf>,
    /// A private CA certificate (PEM) for an `https://` national platform on a closed network.
    #[arg(long)]
    pub national_ca: Option<std::path::PathBuf>,
    /// Code scheme this province issues for its batches: url, issued, gs1 or uscc.
    #[arg(long)]
    pub code_scheme: Option<String>,
    /// Host (and port) printed in URL codes (default: the listen address).
    #[arg(long)]
    pub public_host: Option<String>,
    /// The base URL the public reaches this platform at, put in labels' QR codes
    /// (`https://trace.tj.example`; default: the address a label is opened from).
    #[arg(long)]
    pub public_url: Option<String>,
    /// At the national platform: a folder of adapter field maps (`*.json`), one per province running another
    /// system (overrides `server.adapters`).
    #[arg(long)]
    pub adapters: Option<std::path::PathBuf>,
    /// A ledger check's policy, `RULE=reject|flag|off` (repeatable; over `[checks]` in the configuration).
    #[arg(long = "check")]
    pub checks: Vec<String>,
    /// Requests a second one credential may send (bursts of twice as many pass); over it, 429.
    #[arg(long, default_value_t = 100)]
    pub rate_per_key: u32,
    /// Requests a second one client address may send (bursts of twice as many pass); over it, 429.
    #[arg(long, default_value_t = 200)]
    pub rate_per_address: u32,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let checks = settings.check_policy(&a.checks)?;
    let data = a.data.unwrap_or(settings.server.data.clone());
    let listen = a.listen.unwrap_or(settings.server.listen.clone());
    let tier = tier(
        &a.role.unwrap_or(settings.server.role.clone()),
        a.province.or(settings.server.province.clone()).as_deref(),
    )?;
    let store = super::open_any(
        &settings,
        &data,
        a.store.as_deref(),
        a.store_schema.as_deref(),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let national_url = a.national.or(settings.server.national.clone());
    let scheme = a.code_scheme.or(settings.server.code_scheme.clone());
    let mut config = PlatformConfig::new(tier.clone());
    config.checkpoints = Some(coldtrace_service::audit::CheckpointConfig::in_dir(&data));
    config.checks = checks;
    config.index_snapshot = Some(data.join(coldtrace_service::platform::SNAPSHOT_FILE));
    config.registry_snapshot = Some(data.join(coldtrace_service::national::REGISTRY_SNAPSHOT_FILE));
    if let Tier::Province(p) = &tier {
        let p = p.as_str().to_string();
        let issuer = match scheme.as_deref() {
            None => None,
            Some(s) => Some(coldtrace_domain::code::Issuer {
                scheme: match s {
                    "url" | "issued" | "gs1" | "uscc" => CodeScheme::parse(s).expect("known"),
                    o => anyhow::bail!("--code-scheme must be url, issued, gs1 or uscc, not {o:?}"),
                },
                province: p.clone(),
                host: a
                    .public_host
                    .or(settings.server.public_host.clone())
                    .unwrap_or_else(|| addr.to_string()),
            }),
        };
        if let Some(url) = &national_url {
            let secret = match &a.secret_file {
                Some(f) => std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?
                    .trim()
                    .to_string(),
                None => settings
                    .server
                    .national_secret
                    .clone()
                    .context("docking needs a client secret: --secret-file or COLDTRACE__SERVER__NATIONAL_SECRET")?,
            };
            let ca_pem = match &a.national_ca {
                Some(f) => {
                    let pem =
                        std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
                    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                        anyhow::bail!("--national-ca: {} holds no PEM certificate", f.display());
                    }
                    Some(pem)
                }
                None => None,
            };
            config.national = Some(NationalLink {
                url: url.trim_end_matches('/').to_string(),
                client_id: a
                    .client_id
                    .or(settings.server.national_client_id.clone())
                    .unwrap_or_else(|| format!("province-{p}")),
                secret,
                province: p.clone(),
                ca_pem,
            });
        }
        if national_url.is_some() || issuer.is_some() {
            // Issuing codes without docking: the outbox is still written, and delivered once docking is on.
            store.enable_docking(DockingConfig {
                province: p,
                issuer,
            });
        }
    } else {
        config.adapters =
            load_adapters(a.adapters.or(settings.server.adapters.clone()).as_deref())?;
    }
    let where_ = store.describe(&data);
    let platform = Platform::start(store.shared(), config)
        .await
        .map_err(|e| match e {
            coldtrace_service::platform::StartError::Docking(_) => {
                anyhow::anyhow!("--national-ca: not a PEM certificate")
            }
            e => anyhow::anyhow!("{e}"),
        })?;
    // The line tests and scripts wait for: from here on requests are answered.
    println!("coldtrace listening on http://{addr}");
    tracing::info!(%addr, data = %data.display(), store = %where_, tier = ?platform.tier, "serving");
    let platform = Arc::new(platform);
    let public_url = a.public_url.clone().or(settings.server.public_url.clone());
    if let Some(u) = &public_url {
        anyhow::ensure!(
            u.starts_with("http://") || u.starts_with("https://"),
            "--public-url must start with http:// or https://, not {u:?}"
        );
    }
    coldtrace_api::serve(
        listener,
        AppState::with_limits(
            platform.clone(),
            coldtrace_api::limits::RateLimits {
                per_address: (a.rate_per_address, a.rate_per_address.saturating_mul(2)),
                per_credential: (a.rate_per_key, a.rate_per_key.saturating_mul(2)),
                ..Default::default()
            },
        )
        .with_public_url(public_url),
        coldtrace_api::shutdown_signal(),
    )
    .await?;
    // Everything answered is in the audit trail, and its tail is published, before the process ends.
    platform.audit.checkpoint().await;
    // The next start loads the trace index instead of rebuilding it.
    match platform.save_index_snapshot().await {
        Ok(Some(f)) => tracing::info!(
            movements = f.movements,
            seconds = f.seconds,
            "trace index snapshot written"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "writing the trace index snapshot failed"),
    }
    // And the national registry instead of replaying the inbox.
    match platform.save_registry_snapshot().await {
        Ok(Some(f)) => tracing::info!(
            inbox_seq = f.inbox_seq,
            seconds = f.seconds,
            "national registry snapshot written"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "writing the national registry snapshot failed"),
    }
    Ok(())
}

/// Reads every adapter field map in a folder.
fn load_adapters(
    dir: Option<&std::path::Path>,
) -> anyhow::Result<Vec<coldtrace_national::adapter::FieldMap>> {
    let Some(dir) = dir else { return Ok(vec![]) };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&p)?;
        let map: coldtrace_national::adapter::FieldMap = serde_json::from_str(&text)
            .with_context(|| format!("adapter field map {}", p.display()))?;
        tracing::info!(province = %map.province, scheme = map.scheme.as_str(), file = %p.display(), "adapter loaded");
        out.push(map);
    }
    Ok(out)
}

/// The tier named in the configuration.
pub fn tier(tier: &str, province: Option<&str>) -> anyhow::Result<Tier> {
    match tier {
        "province" => {
            let p = province.context("a provincial platform needs --province CODE")?;
            let p = ProvinceCode::parse(p).map_err(|e| anyhow::anyhow!("--province: {e}"))?;
            Ok(Tier::Province(p))
        }
        "national" => Ok(Tier::National),
        other => anyhow::bail!("--role must be province or national, not {other:?}"),
    }
}
