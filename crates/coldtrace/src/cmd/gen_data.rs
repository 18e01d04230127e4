//! `coldtrace gen`: fill a store with realistic synthetic data.

use std::time::Instant;

use coldtrace_domain::ProvinceCode;
use coldtrace_gen::{GenConfig, generate};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory (overrides `server.data`).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Number of movements to generate (about 25 per import batch).
    #[arg(long, default_value_t = 100_000)]
    pub movements: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Provinces, comma-separated GB/T 2260 codes; imports land mostly in the first.
    #[arg(long, default_value = "12,31,44", value_delimiter = ',')]
    pub provinces: Vec<String>,
    /// Generate into PostgreSQL instead of the embedded store: `postgresql://user@host:5432/db` (overrides
    /// `server.store`).
    #[arg(long)]
    pub store: Option<String>,
    /// The schema of that database the store lives in (overrides `server.store_schema`).
    #[arg(long)]
    pub store_schema: Option<String>,
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.clone().unwrap_or(settings.server.data.clone());
    let store = super::open_any(
        &settings,
        &data,
        a.store.as_deref(),
        a.store_schema.as_deref(),
    )
    .await?;
    let provinces = a
        .provinces
        .iter()
        .map(|p| ProvinceCode::parse(p).map_err(|e| anyhow::anyhow!("--provinces: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cfg = GenConfig {
        seed: a.seed,
        movements: a.movements,
        provinces,
        ..Default::default()
    };
    let pb = coldtrace_harness::progress_bar(a.movements, "movements");
    let start = Instant::now();
    let (summary, _) = generate(store.shared().as_ref(), &cfg, &|done, _| {
        pb.set_position(done)
    })
    .await?;
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    println!("{}", serde_json::to_string_pretty(&summary)?);
    println!(
        "generated {} movements in {:.1} s ({:.0} movements/s, stored through validated submissions) into {}",
        summary.movements,
        secs,
        summary.movements as f64 / secs,
        store.describe(&data)
    );
    Ok(())
}
