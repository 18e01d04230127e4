//! The platform (平台): one running coldtrace platform, provincial or national, and the use cases it offers.
//!
//! [`Platform::start`] builds everything a platform needs from its store and configuration: the trace index
//! (built from the store before the first request), the national registry at the national tier, the docking
//! client at a province that docks, and their background tasks. `coldtrace serve`, the demo, the harness and the
//! tests all build a platform this one way.
//!
//! Each use case is one method that does the whole job, so an HTTP handler only extracts, calls and shapes the
//! view: [`Platform::submit`] (records: the tenant and province rules, the store, the index catch-up, the docking
//! wake-up), [`Platform::trace`] (where a trace starts, who may start there, the answer), [`Platform::open_incident`]
//! (a positive test), [`Platform::publish`] (public lookup approval).

pub mod census;
pub mod customs;
pub mod epcis;
mod epcis_trace;
pub mod incident;
pub mod publish;
pub mod sensors;
pub mod submit;
pub mod trace;

use std::sync::Arc;

use coldtrace_domain::ProvinceCode;
use coldtrace_national::adapter::FieldMap;
use coldtrace_store::Store;

use crate::docking::{DockingClient, NationalLink};
use crate::national::National;
use crate::tracer::{TraceError, Tracer};

pub use incident::{IncidentStart, OpenIncidentRequest};
pub use submit::SubmitCommand;
pub use trace::{TraceCommand, TraceOutcome, TraceStart};

/// Which tier a platform serves (平台层级): a province's platform, or the national command platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tier {
    /// A provincial platform (省级平台) and the province it serves.
    Province(ProvinceCode),
    /// The national command platform (国家指挥平台).
    National,
}

/// The tier as a closed set of names, for answers and configuration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TierKind {
    Province,
    National,
}

impl Tier {
    pub fn kind(&self) -> TierKind {
        match self {
            Tier::Province(_) => TierKind::Province,
            Tier::National => TierKind::National,
        }
    }

    /// The province of a provincial platform.
    pub fn province(&self) -> Option<&ProvinceCode> {
        match self {
            Tier::Province(p) => Some(p),
            Tier::National => None,
        }
    }
}

/// What a platform needs beyond its store.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    pub tier: Tier,
    /// At a province that docks: how to reach the national platform. The store must have docking enabled.
    pub national: Option<NationalLink>,
    /// At the national platform: field maps for provinces running another system.
    pub adapters: Vec<FieldMap>,
    /// Where the audit trail's checkpoints are published; none in tests that do not look at them.
    pub checkpoints: Option<crate::audit::CheckpointConfig>,
    /// The province's policy for the ledger checks (defaults per rule where it chose none).
    pub checks: coldtrace_domain::checks::CheckPolicy,
    /// Where the trace index snapshot is kept (`DATA/trace-index.snapshot` under `coldtrace serve`): loaded at
    /// start when it belongs to the store, written after a rebuild, and every [`SNAPSHOT_EVERY`] and at shutdown
    /// when movements arrived since the last one. None: the index is rebuilt from the store at every start.
    pub index_snapshot: Option<std::path::PathBuf>,
    /// At the national platform: where the registry's snapshot is kept (`DATA/national-registry.snapshot`
    /// under `coldtrace serve`), read at start and written like the trace index's. None: the registry is
    /// replayed from the whole inbox at every start.
    pub registry_snapshot: Option<std::path::PathBuf>,
}

impl PlatformConfig {
    /// A platform that neither docks nor maps foreign records.
    pub fn new(tier: Tier) -> Self {
        Self {
            tier,
            national: None,
            adapters: vec![],
            checkpoints: None,
            checks: Default::default(),
            index_snapshot: None,
            registry_snapshot: None,
        }
    }
}

/// How often a province sweeps its stored records for findings no single write raises.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// One sweep now, under the province's policy: shipments to registered enterprises not received within the
/// transit window, and stock that has not moved within the dormant window.
pub async fn sweep(
    store: &dyn Store,
    checks: &coldtrace_domain::checks::CheckPolicy,
) -> Result<coldtrace_store::SweepReport, coldtrace_store::StoreError> {
    store
        .sweep(jiff::Timestamp::now().as_millisecond(), checks.clone())
        .await
}

/// How often a platform writes its trace index snapshot, when movements arrived since the last one.
pub const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The snapshot file's name in a data directory.
pub const SNAPSHOT_FILE: &str = "trace-index.snapshot";

/// Records that a snapshot holding `movements` was written. Saves can finish out of order (the periodic one and
/// the one at shutdown), and the index only grows, so the larger count stands.
fn mark_saved(saved: &std::sync::atomic::AtomicU64, movements: u64) {
    use std::sync::atomic::Ordering;
    let _ = saved.fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
        (cur == u64::MAX || movements > cur).then_some(movements)
    });
}

/// Why a platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("building the trace index: {0}")]
    Index(#[from] TraceError),
    #[error("opening the audit trail: {0}")]
    Audit(#[from] std::io::Error),
    #[error("loading the national registry: {0}")]
    Registry(#[from] crate::national::NationalError),
    #[error("the national platform's CA certificate: {0}")]
    Docking(#[from] reqwest::Error),
}

/// A running platform: its store, trace index, and (by tier) registry or docking client.
/// Ledger files read at the same time; more wait for a slot.
pub const LEDGER_READERS: usize = 2;

pub struct Platform {
    pub store: Arc<dyn Store>,
    pub tier: Tier,
    /// The trace index, caught up after every write.
    pub tracer: Arc<Tracer>,
    /// At the national platform: the registry of every province's docking messages.
    pub national: Option<Arc<National>>,
    /// At a provincial platform that docks: the client delivering its outbox and pulling its notices.
    pub docking: Option<Arc<DockingClient>>,
    /// The audit trail every request is recorded in.
    pub audit: crate::audit::AuditLog,
    /// Ledger files being read at once (reading is CPU-bound and runs off the request threads).
    ledger_slots: Arc<tokio::sync::Semaphore>,
    /// The province's policy for the ledger checks, applied on every write path.
    pub checks: coldtrace_domain::checks::CheckPolicy,
    /// Where the trace index snapshot is kept, if anywhere.
    index_snapshot: Option<std::path::PathBuf>,
    /// Movements in the index when the snapshot was last written (`u64::MAX`: it must be written).
    snapshot_flows: Arc<std::sync::atomic::AtomicU64>,
    /// The snapshot the trace index was loaded from at start (`None`: built from the store).
    pub index_loaded: Option<crate::tracer::SnapshotFigures>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Platform {
    /// Builds and starts a platform: the trace index from the whole store, the national registry from the inbox
    /// (national tier), the docking client's delivery and notice pulling (a province with a national link).
    /// Background tasks stop when the platform is dropped.
    pub async fn start(store: Arc<dyn Store>, config: PlatformConfig) -> Result<Self, StartError> {
        let t = std::time::Instant::now();
        let opened = Tracer::open(store.as_ref(), config.index_snapshot.as_deref()).await?;
        if let Some(f) = &opened.loaded {
            tracing::info!(
                movements = f.movements,
                bytes = f.bytes,
                seconds = f.seconds,
                "trace index snapshot loaded"
            );
        }
        if let Some(e) = &opened.set_aside {
            tracing::warn!(error = %e, "trace index snapshot set aside: rebuilding from the store");
        }
        let (from_snapshot, caught_up) = (opened.loaded, opened.caught_up);
        let tracer = Arc::new(opened.tracer);
        let compaction = {
            let t = tracer.clone();
            tokio::task::spawn_blocking(move || t.compact_if_scattered())
                .await
                .unwrap_or(None)
        };
        let (movements, lots, bytes) = tracer.figures();
        tracing::info!(
            movements,
            read_from_store = caught_up,
            from_snapshot = from_snapshot.is_some(),
            lots,
            index_bytes = bytes,
            compaction_seconds = compaction,
            seconds = t.elapsed().as_secs_f64(),
            "trace index ready"
        );
        let national = match config.tier {
            Tier::National => {
                let t = std::time::Instant::now();
                let n = National::load(store.as_ref(), config.adapters, config.registry_snapshot)
                    .await?;
                tracing::info!(
                    counts = ?n.read(|r| r.counts()),
                    from_snapshot = n.opened.loaded.is_some(),
                    replayed = n.opened.replayed,
                    seconds = t.elapsed().as_secs_f64(),
                    "national registry loaded"
                );
                Some(Arc::new(n))
            }
            Tier::Province(_) => None,
        };
        let mut tasks = vec![];
        // The periodic sweep over stored records (shipments never received, stock that does not move), at a
        // province.
        if matches!(config.tier, Tier::Province(_))
            && [
                coldtrace_domain::checks::Rule::InTransit,
                coldtrace_domain::checks::Rule::DormantStock,
            ]
            .iter()
            .chain(coldtrace_domain::checks::CUSTOMS_RULES.iter())
            .chain([coldtrace_domain::checks::Rule::StaffTestOverdue].iter())
            .any(|r| config.checks.of(*r) != coldtrace_domain::checks::Policy::Off)
        {
            let store = store.clone();
            let checks = config.checks.clone();
            let province = match &config.tier {
                Tier::Province(p) => Some(p.clone()),
                Tier::National => None,
            };
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(
                    tokio::time::Instant::now() + SWEEP_EVERY,
                    SWEEP_EVERY,
                );
                loop {
                    tick.tick().await;
                    match sweep(store.as_ref(), &checks).await {
                        Ok(r) if r.opened + r.resolved > 0 => {
                            tracing::info!(opened = r.opened, resolved = r.resolved, "ledger sweep")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "ledger sweep failed"),
                    }
                    // The day's coverage of the census, for its trend.
                    if let Some(p) = &province
                        && let Err(e) = crate::statistics::record_coverage(
                            store.as_ref(),
                            p,
                            jiff::Timestamp::now().as_millisecond(),
                        )
                        .await
                    {
                        tracing::error!(error = %e, "recording coverage failed");
                    }
                }
            }));
        }
        // The trace index snapshot: written now when the index had to be read from the store or was compacted, then every
        // SNAPSHOT_EVERY when movements arrived.
        let snapshot_flows = Arc::new(std::sync::atomic::AtomicU64::new(
            if caught_up > 0 || compaction.is_some() {
                u64::MAX
            } else {
                tracer.figures().0
            },
        ));
        if let Some(path) = config.index_snapshot.clone() {
            let tracer = tracer.clone();
            let store = store.clone();
            let saved = snapshot_flows.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(SNAPSHOT_EVERY);
                loop {
                    if saved.load(std::sync::atomic::Ordering::Acquire) != tracer.figures().0 {
                        match tracer.save_snapshot(store.as_ref(), &path).await {
                            Ok(f) => {
                                mark_saved(&saved, f.movements);
                                tracing::info!(movements = f.movements, bytes = f.bytes, seconds = f.seconds, "trace index snapshot written");
                            }
                            Err(e) => tracing::error!(error = %e, "writing the trace index snapshot failed"),
                        }
                    }
                    tick.tick().await;
                }
            }));
        }
        // Other nodes (or processes) writing the same store: the trace index catches up with their records when
        // the store says it changed (PostgreSQL's notification at their commit), and at least every
        // FOLLOW_EVERY. A trace catches up before it answers anyway; this keeps every other read close behind.
        {
            let tracer = tracer.clone();
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = store.records_changed(crate::national::FOLLOW_EVERY).await {
                        tracing::warn!(error = %e, "waiting for other nodes' records failed");
                        tokio::time::sleep(crate::national::FOLLOW_EVERY).await;
                    }
                    match tracer.catch_up(store.as_ref()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(movements = n, "trace index followed the store"),
                        Err(e) => {
                            tracing::error!(error = %e, "following the store's records failed")
                        }
                    }
                }
            }));
        }
        // Other national nodes on the same store: what they stored is caught up when the store says it changed
        // (PostgreSQL's notification at their commit), and at least every FOLLOW_EVERY.
        if let Some(n) = national.clone() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = store.inbox_changed(crate::national::FOLLOW_EVERY).await {
                        tracing::warn!(error = %e, "waiting for other national nodes failed");
                        tokio::time::sleep(crate::national::FOLLOW_EVERY).await;
                    }
                    match n.follow(store.as_ref()).await {
                        Ok(a) if a.rows + a.notices + a.decisions > 0 => tracing::debug!(
                            rows = a.rows,
                            notices = a.notices,
                            decisions = a.decisions,
                            "national registry followed the store"
                        ),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "following the national store failed")
                        }
                    }
                }
            }));
        }
        // The national registry's snapshot: written now when the registry had to be read from the inbox, then
        // every SNAPSHOT_EVERY when it changed.
        if let Some(n) = national.clone() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(SNAPSHOT_EVERY);
                loop {
                    tick.tick().await;
                    match n.save_snapshot(store.as_ref()).await {
                        Ok(Some(f)) => tracing::info!(
                            inbox_seq = f.inbox_seq,
                            bytes = f.bytes,
                            seconds = f.seconds,
                            "national registry snapshot written"
                        ),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "writing the national registry snapshot failed")
                        }
                    }
                }
            }));
        }
        let docking = match (&config.tier, config.national) {
            (Tier::Province(_), Some(link)) => {
                let url = link.url.clone();
                let d = DockingClient::new(link)?;
                tasks.extend(d.spawn(store.clone(), tracer.clone()));
                tracing::info!(national = %url, "docking to the national platform");
                Some(d)
            }
            _ => None,
        };
        // The audit writer is not aborted with the other tasks: it ends when the last handle is dropped, after
        // appending what it holds and publishing a final checkpoint.
        let (audit, _writer) = crate::audit::AuditLog::start(store.clone(), config.checkpoints)?;
        let platform = Self {
            store,
            index_snapshot: config.index_snapshot,
            snapshot_flows,
            index_loaded: from_snapshot,
            tier: config.tier,
            tracer,
            national,
            docking,
            audit,
            ledger_slots: Arc::new(tokio::sync::Semaphore::new(LEDGER_READERS)),
            checks: config.checks,
            tasks,
        };
        match platform.resume_capture_jobs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "EPCIS capture jobs resumed"),
            Err(e) => tracing::error!(error = %e, "EPCIS capture jobs could not be resumed"),
        }
        Ok(platform)
    }

    /// Writes the trace index snapshot now (at shutdown, so that the next start loads it), unless it already
    /// holds every movement the index does (a snapshot and the catch-up after it give the same index, so one
    /// that only lacks other rows is still good). Nothing when the platform keeps none. When this returns, a
    /// whole snapshot of the current index is on disk.
    pub async fn save_index_snapshot(
        &self,
    ) -> Result<Option<crate::tracer::SnapshotFigures>, crate::tracer::SnapshotError> {
        use std::sync::atomic::Ordering;
        let Some(path) = &self.index_snapshot else {
            return Ok(None);
        };
        self.catch_up_index().await;
        if self.snapshot_flows.load(Ordering::Acquire) == self.tracer.figures().0 {
            return Ok(None);
        }
        let f = self.tracer.save_snapshot(self.store.as_ref(), path).await?;
        mark_saved(&self.snapshot_flows, f.movements);
        Ok(Some(f))
    }

    /// Writes the national registry's snapshot now (at shutdown) when it changed since the last one; nothing at a
    /// province or when the platform keeps none.
    pub async fn save_registry_snapshot(
        &self,
    ) -> Result<Option<crate::national::RegistryFigures>, crate::national::RegistrySnapshotError>
    {
        match &self.national {
            Some(n) => n.save_snapshot(self.store.as_ref()).await,
            None => Ok(None),
        }
    }

    /// Brings the trace index up to date (another process, such as `coldtrace import`, may have written to the
    /// same store). A write is already committed when this runs, so a failure is logged and retried on the next
    /// catch-up rather than reported to the writer.
    pub async fn catch_up_index(&self) {
        if let Err(e) = self.tracer.catch_up(self.store.as_ref()).await {
            tracing::error!(error = %e, "trace index catch-up failed");
        }
    }

    /// After a committed write: the trace index catches up, and the docking client delivers the messages the
    /// write queued now rather than at its next poll.
    pub async fn after_write(&self) {
        self.catch_up_index().await;
        self.queued();
    }

    /// A write queued docking messages (and changed no movement): the docking client delivers them now.
    pub fn queued(&self) {
        if let Some(d) = &self.docking {
            d.wake();
        }
    }
}
