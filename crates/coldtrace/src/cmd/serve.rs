//! `coldtrace serve`: the HTTP API of a provincial (or national) platform on an embedded store.

use anyhow::Context;
use coldtrace_api::{AppState, PlatformInfo};
use coldtrace_domain::ProvinceCode;

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
    let state = AppState::new(store, platform);
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
