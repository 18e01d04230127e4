//! Layered configuration: built-in defaults, then an optional TOML file, then `COLDTRACE__...` environment
//! variables; command-line flags override all three. Read once at start-up and passed down explicitly.

use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Settings {
    pub server: Server,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Server {
    /// Address to listen on.
    pub listen: String,
    /// Data directory holding the store file and attachments.
    pub data: PathBuf,
    /// `province` or `national`.
    pub role: String,
    /// Province code for a provincial platform.
    pub province: Option<String>,
    /// A provincial platform's national platform (base URL); docking is off without it.
    pub national: Option<String>,
    /// Docking client id at the national platform (default `province-CODE`).
    pub national_client_id: Option<String>,
    /// Docking client secret (`COLDTRACE__SERVER__NATIONAL_SECRET`; kept out of the command line).
    pub national_secret: Option<String>,
    /// The code scheme this province issues: `url`, `issued`, `gs1` or `uscc`.
    pub code_scheme: Option<String>,
    /// Host (and port) printed in URL codes; defaults to the listen address.
    pub public_host: Option<String>,
    /// National platform: folder of adapter field maps for provinces running another system.
    pub adapters: Option<PathBuf>,
}

impl Settings {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut b = config::Config::builder()
            .set_default("server.listen", "127.0.0.1:8080")?
            .set_default("server.data", "coldtrace-data")?
            .set_default("server.role", "province")?;
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).required(true));
        } else {
            b = b.add_source(config::File::with_name("coldtrace").required(false));
        }
        b = b.add_source(
            config::Environment::with_prefix("COLDTRACE")
                .prefix_separator("__")
                .separator("__"),
        );
        b.build()?
            .try_deserialize()
            .context("reading configuration")
    }
}
