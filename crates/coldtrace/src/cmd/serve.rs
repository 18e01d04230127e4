//! `coldtrace serve`: the HTTP API of a provincial (or national) platform on an embedded store.

use anyhow::Context;
use coldtrace_api::{AppState, PlatformInfo};
use std::sync::Arc;

use coldtrace_domain::{CodeScheme, ProvinceCode};
use coldtrace_service::docking::{DockingClient, NationalLink};
use coldtrace_service::national::National;
use coldtrace_store::DockingConfig;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
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
    /// At the national platform: a folder of adapter field maps (`*.json`), one per province running another
    /// system (overrides `server.adapters`).
    #[arg(long)]
    pub adapters: Option<std::path::PathBuf>,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data);
    let listen = a.listen.unwrap_or(settings.server.listen);
    let tier = a.role.unwrap_or(settings.server.role);
    let province = a.province.or(settings.server.province);
    let platform = platform(&tier, province.as_deref())?;
    let store = super::open_store(&data)?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let national_url = a.national.or(settings.server.national.clone());
    let scheme = a.code_scheme.or(settings.server.code_scheme.clone());
    let mut docking = None;
    if let Some(p) = &platform.province {
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
            store.enable_docking(DockingConfig {
                province: p.clone(),
                issuer,
            });
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
            docking = Some(
                DockingClient::new(NationalLink {
                    url: url.trim_end_matches('/').to_string(),
                    client_id: a
                        .client_id
                        .or(settings.server.national_client_id.clone())
                        .unwrap_or_else(|| format!("province-{p}")),
                    secret,
                    province: p,
                    ca_pem: match &a.national_ca {
                        Some(f) => {
                            let pem = std::fs::read(f)
                                .with_context(|| format!("reading {}", f.display()))?;
                            if !String::from_utf8_lossy(&pem)
                                .contains("-----BEGIN CERTIFICATE-----")
                            {
                                anyhow::bail!(
                                    "--national-ca: {} holds no PEM certificate",
                                    f.display()
                                );
                            }
                            Some(pem)
                        }
                        None => None,
                    },
                })
                .context("--national-ca: not a PEM certificate")?,
            );
        } else if issuer.is_some() {
            // Issuing codes without docking: the outbox is still written, and delivered once docking is on.
            store.enable_docking(DockingConfig {
                province: p,
                issuer,
            });
        }
    }
    let mut state = AppState::new(store.clone(), platform);
    if state.platform.tier == "national" {
        let t = std::time::Instant::now();
        let maps = load_adapters(a.adapters.or(settings.server.adapters.clone()).as_deref())?;
        let n = National::load(state.store.as_ref(), maps)
            .await
            .map_err(|e| anyhow::anyhow!("loading the national registry: {e}"))?;
        tracing::info!(counts = ?n.read(|r| r.counts()), seconds = t.elapsed().as_secs_f64(), "national registry loaded");
        state.national = Some(Arc::new(n));
    }
    if let Some(d) = &docking {
        d.spawn(state.store.clone(), state.tracer.clone());
        tracing::info!(
            national = national_url.as_deref().unwrap_or(""),
            "docking to the national platform"
        );
    }
    state.docking = docking;
    let t = std::time::Instant::now();
    let loaded = state
        .warm()
        .await
        .map_err(|e| anyhow::anyhow!("building the trace index: {e}"))?;
    let (_, lots, bytes) = state.tracer.figures();
    tracing::info!(
        movements = loaded,
        lots,
        index_bytes = bytes,
        seconds = t.elapsed().as_secs_f64(),
        "trace index built"
    );
    // The line tests and scripts wait for: from here on requests are answered.
    println!("coldtrace listening on http://{addr}");
    tracing::info!(%addr, data = %data.display(), tier = %state.platform.tier, "serving");
    coldtrace_api::serve(listener, state, shutdown_signal()).await?;
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

pub fn platform(tier: &str, province: Option<&str>) -> anyhow::Result<PlatformInfo> {
    match tier {
        "province" => {
            let p = province.context("a provincial platform needs --province CODE")?;
            let p = ProvinceCode::parse(p).map_err(|e| anyhow::anyhow!("--province: {e}"))?;
            Ok(PlatformInfo {
                tier: "province".into(),
                province: Some(p),
            })
        }
        "national" => Ok(PlatformInfo {
            tier: "national".into(),
            province: None,
        }),
        other => anyhow::bail!("--role must be province or national, not {other:?}"),
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
