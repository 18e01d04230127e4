//! The national command platform's service: accepts provinces' uploads into the store, keeps the in-memory
//! [`Registry`] in the store's acceptance order, issues notices for every incident, and hands each province its
//! notices (long poll). The registry is kept in a snapshot file between runs (`snapshot`).
//!
//! **Several nodes.** The registry only ever moves forward by catching up with the store: the notices, inbox rows
//! and link decisions after its cursor, in the store's order. An upload is stored, then caught up (so a node
//! reads its own writes, and applies the rows other nodes accepted in between in their place); a decision and a
//! notice likewise. A node that accepts nothing follows the store ([`National::follow`], when the store says
//! another node wrote (PostgreSQL's LISTEN/NOTIFY) and at least every [`FOLLOW_EVERY`]), so any node behind a
//! load balancer answers the same traces and wakes its long polls for notices another node issued.

mod snapshot;

pub use snapshot::{Cursor, REGISTRY_SNAPSHOT_FILE, RegistryFigures, RegistrySnapshotError};

use std::path::PathBuf;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::collections::HashMap;

use coldtrace_domain::docking::{Envelope, Notice, Upload, UploadReceipt, VERSION};
use coldtrace_national::Registry;
use coldtrace_national::adapter::FieldMap;
use coldtrace_national::registry::IncidentRec;
use coldtrace_store::{InboxRow, InboxStore, LinkDecision, StoreError};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum NationalError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registry and where it stands in the store.
#[derive(Default)]
struct State {
    registry: Registry,
    cursor: Cursor,
    /// Changes applied since start (messages, notices, decisions), to tell whether a snapshot is behind.
    changes: u64,
}

/// How the registry came to be at start.
#[derive(Debug, Clone, Default)]
pub struct RegistryOpened {
    /// The snapshot it was read from.
    pub loaded: Option<RegistryFigures>,
    /// Why a snapshot that was there was not used.
    pub set_aside: Option<String>,
    /// Inbox rows applied from the store after the snapshot (all of them without one).
    pub replayed: u64,
}

/// The national platform's state beside its store.
pub struct National {
    state: RwLock<State>,
    /// Uploads (and requests for detail) are taken one at a time so that the registry applies messages and
    /// notices in the store's order, and a snapshot sees none half applied.
    gate: tokio::sync::Mutex<()>,
    /// Wakes provinces waiting for notices.
    notify: tokio::sync::Notify,
    /// Field maps of provinces that run another system, by province code.
    adapters: HashMap<String, FieldMap>,
    /// Where the registry's snapshot is kept, if anywhere.
    snapshot: Option<PathBuf>,
    /// `changes` when the snapshot was last written (`u64::MAX`: it must be written).
    saved: AtomicU64,
    /// One save at a time (the periodic one and the one at shutdown share the temporary file).
    save_gate: tokio::sync::Mutex<()>,
    /// How the registry came to be at start.
    pub opened: RegistryOpened,
}

/// How many times notices are computed again when other nodes keep issuing notices meanwhile.
const ISSUE_ATTEMPTS: usize = 8;

/// How often a national node catches up with what other nodes stored, at the least.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// What one catch-up applied.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub notices: u64,
    pub rows: u64,
    pub decisions: u64,
    /// Incidents among the rows.
    pub incidents: Vec<Uuid>,
    /// Whether the rows changed the batch graph (batches, lineage, border flows).
    pub graph_changed: bool,
}

/// Incidents received within this window are traced again when late data arrives.
pub const RETRACE_WINDOW_MS: i64 = 30 * 86_400_000;

const FOREIGN_NS: Uuid = Uuid::from_u128(0x6c64_7472_6163_655f_666f_7265_6967_6e00);

impl National {
    /// Rebuilds the registry: from the snapshot at `snapshot` when there is one that belongs to the store, then
    /// the notices and inbox rows after it (the whole inbox without one), then the link decisions. Then issues
    /// any notice a recent incident still lacks (the platform may have stopped between accepting an incident and
    /// storing its notices); older incidents are not traced again at start-up.
    pub async fn load(
        store: &dyn InboxStore,
        adapters: Vec<FieldMap>,
        snapshot: Option<PathBuf>,
    ) -> Result<Self, NationalError> {
        let mut opened = RegistryOpened::default();
        let mut state = State::default();
        if let Some(path) = snapshot.as_deref().filter(|p| p.exists()) {
            match snapshot::load(store, path).await {
                Ok((registry, cursor, figures)) => {
                    state.registry = registry;
                    state.cursor = cursor;
                    opened.loaded = Some(figures);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "national registry snapshot set aside: replaying the inbox");
                    opened.set_aside = Some(e.to_string());
                }
            }
        }
        let mut me = Self {
            state: RwLock::new(state),
            gate: tokio::sync::Mutex::new(()),
            notify: tokio::sync::Notify::new(),
            adapters: adapters
                .into_iter()
                .map(|m| (m.province.clone(), m))
                .collect(),
            snapshot,
            saved: AtomicU64::new(0),
            save_gate: tokio::sync::Mutex::new(()),
            opened,
        };
        let applied = me.catch_up_locked(store).await?;
        me.opened.replayed = applied.rows;
        // A snapshot is written when the registry had to be read from the store.
        let behind = applied.rows + applied.notices + applied.decisions > 0;
        let changes = me
            .state
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .changes;
        me.saved = AtomicU64::new(if behind { u64::MAX } else { changes });
        for i in me.recent_incidents(&[]) {
            me.issue_notices(store, i).await?;
        }
        Ok(me)
    }

    /// Applies what the store holds after the registry's cursor, in the store's order: notices (so that the
    /// receipts and acknowledgements among the rows find them), inbox rows, then link decisions. What is read
    /// is ordered so that another node's commits in between cannot be half seen: the decisions are read before the
    /// rows (a decision names a link made of rows stored before it), and each page of rows before the notices (a
    /// row acknowledging a notice was stored after it). The caller holds the gate (or owns the registry alone, at
    /// load).
    async fn catch_up_locked(&self, store: &dyn InboxStore) -> Result<Applied, NationalError> {
        let mut applied = Applied::default();
        let decisions = store.link_decisions().await?;
        loop {
            let rows = store.inbox(self.cursor().inbox_seq, 10_000).await?;
            loop {
                let ns = store
                    .notices_out(None, self.cursor().notice_seq, 10_000)
                    .await?;
                if ns.is_empty() {
                    break;
                }
                applied.notices += ns.len() as u64;
                self.write(|s| track(s, &ns));
            }
            if rows.is_empty() {
                break;
            }
            self.write(|s| apply_rows(s, &rows, &mut applied));
        }
        let done = self.cursor().decisions as usize;
        if decisions.len() > done {
            applied.decisions = (decisions.len() - done) as u64;
            self.write(|s| {
                for d in &decisions[done..] {
                    s.registry
                        .decide(&d.link, d.decision == "confirmed", &d.by, d.note.as_deref());
                }
                s.cursor.decisions = decisions.len() as u64;
            });
        }
        Ok(applied)
    }

    /// Catches up with what other nodes stored, and wakes the long polls when notices arrived. A node that
    /// shares its store with none finds nothing.
    pub async fn follow(&self, store: &dyn InboxStore) -> Result<Applied, NationalError> {
        let _g = self.gate.lock().await;
        let applied = self.catch_up_locked(store).await?;
        if applied.notices > 0 {
            self.notify.notify_waiters();
        }
        Ok(applied)
    }

    /// Where the registry stands in the store.
    pub fn cursor(&self) -> Cursor {
        self.state.read().unwrap_or_else(|p| p.into_inner()).cursor
    }

    /// Writes the registry's snapshot when it changed since the last one (the gate is held while the registry
    /// is encoded, so no upload is half applied in it). Nothing when the platform keeps none. When this returns
    /// `Ok`, a whole snapshot of the registry as it stood is on disk.
    pub async fn save_snapshot(
        self: &std::sync::Arc<Self>,
        store: &dyn InboxStore,
    ) -> Result<Option<RegistryFigures>, RegistrySnapshotError> {
        let Some(path) = self.snapshot.clone() else {
            return Ok(None);
        };
        let _one_save = self.save_gate.lock().await;
        let start = std::time::Instant::now();
        let store_id = store.store_id().await?;
        let gate = self.gate.lock().await;
        let me = self.clone();
        let (changes, cursor, bytes) = tokio::task::spawn_blocking(move || {
            let s = me.state.read().unwrap_or_else(|p| p.into_inner());
            if me.saved.load(Ordering::Acquire) == s.changes {
                return (s.changes, s.cursor, None);
            }
            (
                s.changes,
                s.cursor,
                Some(snapshot::encode(&s.registry, store_id, s.cursor)),
            )
        })
        .await
        .map_err(|e| RegistrySnapshotError::Task(e.to_string()))?;
        drop(gate);
        let Some(bytes) = bytes else { return Ok(None) };
        let len = bytes.len() as u64;
        tokio::task::spawn_blocking(move || snapshot::write(&path, &bytes))
            .await
            .map_err(|e| RegistrySnapshotError::Task(e.to_string()))??;
        // Saves may finish out of order; changes only grow, so the larger count stands.
        let _ = self
            .saved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur == u64::MAX || changes > cur).then_some(changes)
            });
        Ok(Some(RegistryFigures {
            inbox_seq: cursor.inbox_seq,
            bytes: len,
            seconds: start.elapsed().as_secs_f64(),
        }))
    }

    /// Reads the registry.
    pub fn read<R>(&self, f: impl FnOnce(&Registry) -> R) -> R {
        f(&self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .registry)
    }

    /// Changes the registry (and where it stands), counting the change.
    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
        s.changes += 1;
        f(&mut s)
    }

    /// Accepts an upload from `province` (already authenticated as that province's client).
    pub async fn accept(
        &self,
        store: &dyn InboxStore,
        province: &str,
        upload: Upload,
    ) -> Result<UploadReceipt, NationalError> {
        if upload.version != VERSION {
            return Err(NationalError::Invalid {
                field: "version".into(),
                reason: format!(
                    "this platform speaks version {VERSION}, not {:?}",
                    upload.version
                ),
            });
        }
        // The province as the upload names it, in either form (`12`, `120000`).
        let named = coldtrace_domain::ProvinceCode::parse(&upload.province)
            .map(|p| p.as_str().to_string())
            .map_err(|e| NationalError::Invalid {
                field: "province".into(),
                reason: e.to_string(),
            })?;
        if named != province {
            return Err(NationalError::Forbidden(format!(
                "these credentials belong to province {province}, not {}",
                upload.province
            )));
        }
        if upload.messages.len() > coldtrace_domain::docking::MAX_MESSAGES {
            return Err(NationalError::Invalid {
                field: "messages".into(),
                reason: format!(
                    "{} messages; at most {} per upload",
                    upload.messages.len(),
                    coldtrace_domain::docking::MAX_MESSAGES
                ),
            });
        }
        for (i, m) in upload.messages.iter().enumerate() {
            if m.seq == 0 {
                return Err(NationalError::Invalid {
                    field: format!("messages[{i}].seq"),
                    reason: "sequence numbers start at 1".into(),
                });
            }
            if let Some((field, reason)) = m.body.check().into_iter().next() {
                return Err(NationalError::Invalid {
                    field: format!("messages[{i}].{field}"),
                    reason,
                });
            }
        }
        self.apply_accepted(store, province, upload.messages, false)
            .await
    }

    /// Accepts records from a province that runs another system, through its adapter: every record is mapped
    /// first (all or nothing), then each takes effect once, identified by its content.
    pub async fn accept_foreign(
        &self,
        store: &dyn InboxStore,
        province: &str,
        records: &[serde_json::Value],
    ) -> Result<UploadReceipt, NationalError> {
        let Some(map) = self.adapters.get(province) else {
            return Err(NationalError::NotFound(format!(
                "adapter for province {province}"
            )));
        };
        if records.len() > coldtrace_domain::docking::MAX_MESSAGES {
            return Err(NationalError::Invalid {
                field: "records".into(),
                reason: format!(
                    "{} records; at most {} per upload",
                    records.len(),
                    coldtrace_domain::docking::MAX_MESSAGES
                ),
            });
        }
        let mut messages = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let body = map.to_message(r).map_err(|e| NationalError::Invalid {
                field: format!("records[{i}].{}", e.foreign),
                reason: format!("{} ({})", e.reason, e.field),
            })?;

            messages.push(Envelope {
                id: Uuid::new_v5(&FOREIGN_NS, format!("{province}:{r}").as_bytes()),
                seq: 0,
                recorded_at_ms: jiff::Timestamp::now().as_millisecond(),
                body,
            });
        }
        self.apply_accepted(store, province, messages, true).await
    }

    async fn apply_accepted(
        &self,
        store: &dyn InboxStore,
        province: &str,
        messages: Vec<Envelope>,
        assign_seq: bool,
    ) -> Result<UploadReceipt, NationalError> {
        let _g = self.gate.lock().await;
        let out = store
            .accept_upload(province.to_string(), messages, assign_seq)
            .await?;
        // The rows just stored, and any another node stored before them, in the store's order.
        let applied = self.catch_up_locked(store).await?;
        let (mut incidents, graph_changed) = (applied.incidents, applied.graph_changed);
        if graph_changed {
            // Data that arrives after an incident (a province that was offline) may implicate more goods:
            // recent incidents are traced again and any newly implicated batch goes out in a further notice.
            let recent = self.recent_incidents(&incidents);
            incidents.extend(recent);
        }
        for i in incidents {
            self.issue_notices(store, i).await?;
        }
        Ok(out.receipt)
    }

    /// Incidents received within [`RETRACE_WINDOW_MS`], other than `except`.
    fn recent_incidents(&self, except: &[Uuid]) -> Vec<Uuid> {
        let since = jiff::Timestamp::now().as_millisecond() - RETRACE_WINDOW_MS;
        self.read(|r| {
            r.incidents()
                .iter()
                .filter(|i| i.received_at_ms >= since && !except.contains(&i.report.incident))
                .map(|i| i.report.incident)
                .collect()
        })
    }

    /// Stores and starts following the notices an incident calls for (each once, by its stable id).
    async fn issue_notices(
        &self,
        store: &dyn InboxStore,
        incident: Uuid,
    ) -> Result<(), NationalError> {
        // Computed from a registry that has followed every notice stored: when another node stored one
        // meanwhile, the store refuses, and they are computed again after catching up.
        for _ in 0..ISSUE_ATTEMPTS {
            let (notices, seen) = {
                let s = self.state.read().unwrap_or_else(|p| p.into_inner());
                let r = &s.registry;
                let notices = r
                    .incident(incident)
                    .cloned()
                    .map(|inc: IncidentRec| r.notices_for(&inc).1)
                    .unwrap_or_default();
                (notices, s.cursor.notice_seq)
            };
            if notices.is_empty() {
                return Ok(());
            }
            let Some(stored) = store.put_notices(notices, Some(seen)).await? else {
                self.catch_up_locked(store).await?;
                continue;
            };
            if !stored.is_empty() {
                self.catch_up_locked(store).await?;
                tracing::info!(%incident, notices = stored.len(), "notices issued");
                self.notify.notify_waiters();
            }
            return Ok(());
        }
        Err(NationalError::Store(StoreError::Task(format!(
            "notices for incident {incident}: other nodes kept issuing notices meanwhile; retried {ISSUE_ATTEMPTS} times"
        ))))
    }

    /// A province's notices after `after`, waiting up to `wait` for one to appear.
    pub async fn notices(
        &self,
        store: &dyn InboxStore,
        province: &str,
        after: u64,
        wait: Duration,
    ) -> Result<Vec<Notice>, NationalError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let ns = store
                .notices_out(Some(province.to_string()), after, 100)
                .await?;
            if !ns.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(ns);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// A commander asks a province where batches are now (requests for detail when needed, 需要时): delivered
    /// like a notice; the province answers with the holders that have the goods on hand.
    pub async fn request_detail(
        &self,
        store: &dyn InboxStore,
        province: &str,
        batches: Vec<String>,
        reason: String,
    ) -> Result<Notice, NationalError> {
        if batches.is_empty() {
            return Err(NationalError::Invalid {
                field: "batches".into(),
                reason: "name at least one batch".into(),
            });
        }
        let lines = self.read(|r| {
            batches
                .iter()
                .map(|b| r.batch_item(province, b))
                .collect::<Vec<_>>()
        });
        let id = Uuid::now_v7();
        let _g = self.gate.lock().await;
        let n = Notice {
            id,
            purpose: coldtrace_domain::docking::Purpose::DetailRequest,
            seq: 0,
            incident: id,
            from_province: "00".into(),
            to_province: province.to_string(),
            subject: reason,
            positive_at: String::new(),
            created_at_ms: 0,
            lines,
        };
        // A request is the commander's own, whatever other nodes issued: stored unconditionally.
        let stored = store.put_notices(vec![n], None).await?.unwrap_or_default();
        let n = stored
            .into_iter()
            .next()
            .ok_or_else(|| NationalError::NotFound("request".into()))?;
        self.catch_up_locked(store).await?;
        self.notify.notify_waiters();
        Ok(n)
    }

    /// A commander confirms or rejects a link; the decision is stored before the trace follows it.
    pub async fn decide(
        &self,
        store: &dyn InboxStore,
        link: &str,
        confirmed: bool,
        by: &str,
        note: Option<String>,
    ) -> Result<(), NationalError> {
        let _g = self.gate.lock().await;
        // A link another node made in the last moments is known here too.
        self.catch_up_locked(store).await?;
        if self.read(|r| r.link_by_id(link).is_none()) {
            return Err(NationalError::NotFound(format!("link {link}")));
        }
        store
            .decide_link(LinkDecision {
                link: link.to_string(),
                decision: if confirmed { "confirmed" } else { "rejected" }.into(),
                by: by.to_string(),
                note: note.clone(),
                at_ms: jiff::Timestamp::now().as_millisecond(),
            })
            .await?;
        // Applied in the store's order with any decision another node stored meanwhile.
        self.catch_up_locked(store).await?;
        Ok(())
    }
}

/// Follows stored notices, moving the cursor to the last of them.
fn track(s: &mut State, stored: &[Notice]) {
    for n in stored {
        s.registry.track(n);
        if n.seq > s.cursor.notice_seq {
            s.cursor.notice_seq = n.seq;
            s.cursor.notice_id = Some(n.id);
        }
    }
}

/// Applies inbox rows, moving the cursor to the last of them.
fn apply_rows(s: &mut State, rows: &[InboxRow], applied: &mut Applied) {
    use coldtrace_domain::docking::Message as M;
    for row in rows {
        s.registry
            .apply(&row.province, row.received_at_ms, &row.envelope.body);
        match &row.envelope.body {
            M::Incident(i) => applied.incidents.push(i.incident),
            M::Batch(_) | M::Derivation(_) | M::Outflow(_) | M::Inflow(_) => {
                applied.graph_changed = true
            }
            _ => {}
        }
    }
    if let Some(last) = rows.last() {
        s.cursor.inbox_seq = last.gseq;
        s.cursor.inbox_id = Some(last.envelope.id);
    }
    applied.rows += rows.len() as u64;
}
