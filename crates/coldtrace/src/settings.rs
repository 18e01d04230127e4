//! Layered configuration: built-in defaults, then an optional TOML file, then `COLDTRACE__...` environment
//! variables; command-line flags override all three. Read once at start-up and passed down explicitly.

use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Settings {
    pub server: Server,
    /// The province's policy for the ledger checks: rule name to `reject`, `flag` or `off`
    /// (`[checks]` in `coldtrace.toml`, `COLDTRACE__CHECKS__STOCK_CONSERVATION=reject`); rules not named keep
    /// their defaults (docs/checks.md). The time limits too: `transit_hours`, `dormant_days`,
    /// `nucleic_acid_days`.
    #[serde(default)]
    pub checks: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Server {
    /// Address to listen on.
    pub listen: String,
    /// Data directory holding the store file and attachments.
    pub data: PathBuf,
    /// The store: a PostgreSQL URL (`postgresql://user@host:5432/db`) for a province or the nation that outgrows one
    /// SQLite file, or several nodes sharing one database; the embedded store in `data` when not given.
    pub store: Option<String>,
    /// The schema of that database the store lives in (made when missing; default the user's search path).
    pub store_schema: Option<String>,
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
    /// The base URL the public reaches the platform at, for labels' QR codes.
    pub public_url: Option<String>,
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

impl Settings {
    /// The ledger-check policy from `[checks]`, then `--check RULE=POLICY` (or `--check WINDOW=N`) flags over it.
    pub fn check_policy(
        &self,
        flags: &[String],
    ) -> anyhow::Result<coldtrace_domain::checks::CheckPolicy> {
        use coldtrace_domain::checks::{CheckPolicy, Policy, Rule};
        let mut p = CheckPolicy::default();
        let pairs = self
            .checks
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), "[checks]"))
            .chain(flags.iter().map(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                (k.to_string(), v.to_string(), "--check")
            }));
        for (rule, policy, from) in pairs {
            if p.windows
                .set(rule.trim(), &policy)
                .map_err(|e| anyhow::anyhow!("{from} {e}"))?
            {
                continue;
            }
            let r = Rule::parse(rule.trim()).map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
            let pol = match policy.trim().to_ascii_lowercase().as_str() {
                "reject" => Policy::Reject,
                "flag" => Policy::Flag,
                "off" => Policy::Off,
                o => anyhow::bail!("{from} {rule}: {o:?} is not a policy (reject, flag or off)"),
            };
            p = p.with(r, pol);
        }
        Ok(p)
    }
}
