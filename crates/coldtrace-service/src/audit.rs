//! The audit log (审计): every authentication, every request of an authenticated caller (reads of personal data
//! included), every write and decision, recorded through one channel and appended in batches to the store's
//! hash chain ([`coldtrace_store::audit`]). Checkpoints (RFC 6962-style signed tree heads, here for a chain):
//! every [`CHECKPOINT_EVERY`] entries and when the platform stops, the chain's sequence number and hash, with an
//! HMAC-SHA256 under a key kept outside the database, are appended to a checkpoint file. Someone who can edit the
//! database can recompute the chain after a change, but cannot make it match a checkpoint without the key.
//!
//! `coldtrace audit verify` ([`verify`]) recomputes the chain and checks every checkpoint.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use coldtrace_store::audit::{self, AuditEntry, AuditEvent, Broken, VerifyState};
use coldtrace_store::{Store, StoreError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;

/// Entries between two checkpoints.
pub const CHECKPOINT_EVERY: u64 = 1_000;
/// Events buffered before a caller waits for the writer.
const QUEUE: usize = 16_384;
/// Events appended in one transaction, at most.
const BATCH: usize = 2_000;
/// How long the writer waits for more events before it appends what it holds.
const LINGER: Duration = Duration::from_millis(100);

/// Where checkpoints go and the key that signs them (files in the data directory).
#[derive(Debug, Clone)]
pub struct CheckpointConfig {
    /// Append-only file of checkpoints, one JSON object a line.
    pub file: PathBuf,
    /// The signing key (32 random bytes, created 0600 on first use).
    pub key_file: PathBuf,
}

impl CheckpointConfig {
    /// The checkpoint file and key inside a data directory.
    pub fn in_dir(data: &Path) -> Self {
        CheckpointConfig {
            file: data.join("audit-checkpoints.jsonl"),
            key_file: data.join("audit.key"),
        }
    }
}

/// One published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub at_ms: i64,
    /// HMAC-SHA256 (hex) of `seq:hash` under the platform's audit key.
    pub mac: String,
}

fn mac_of(key: &[u8], seq: u64, hash: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("{seq}:{hash}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Reads the audit key, creating it (0600) when there is none.
pub fn load_or_create_key(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(s) => hex::decode(s.trim())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            o.open(path)?.write_all(hex::encode(key).as_bytes())?;
            Ok(key.to_vec())
        }
        Err(e) => Err(e),
    }
}

/// The handle every request path records through. Cloning is cheap.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
}

enum Msg {
    Event(AuditEvent),
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Flush, then publish a checkpoint of the tail now.
    Checkpoint(tokio::sync::oneshot::Sender<()>),
}

impl AuditLog {
    /// Starts the writer: events are appended in batches as they come; a checkpoint is published every
    /// [`CHECKPOINT_EVERY`] entries and when the last handle is dropped.
    pub fn start(
        store: Arc<dyn Store>,
        checkpoints: Option<CheckpointConfig>,
    ) -> std::io::Result<(AuditLog, tokio::task::JoinHandle<()>)> {
        let signer = match checkpoints {
            Some(c) => Some((load_or_create_key(&c.key_file)?, c.file)),
            None => None,
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(writer(store, rx, signer));
        Ok((AuditLog { tx }, task))
    }

    /// Records one event (waits only when the writer is far behind).
    pub async fn record(&self, event: AuditEvent) {
        if self.tx.send(Msg::Event(event)).await.is_err() {
            tracing::error!("the audit writer has stopped; an event could not be recorded");
        }
    }

    /// Waits until every event recorded before this call is in the store.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Flushes and publishes a checkpoint of the chain's tail (when the platform stops).
    pub async fn checkpoint(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Checkpoint(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

fn take(
    m: Msg,
    batch: &mut Vec<AuditEvent>,
    waiting: &mut Vec<tokio::sync::oneshot::Sender<()>>,
    checkpoint_now: &mut bool,
) {
    match m {
        Msg::Event(e) => batch.push(e),
        Msg::Flush(t) => waiting.push(t),
        Msg::Checkpoint(t) => {
            *checkpoint_now = true;
            waiting.push(t)
        }
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Msg>,
    signer: Option<(Vec<u8>, PathBuf)>,
) {
    let mut since_checkpoint = 0u64;
    let mut last: Option<AuditEntry> = None;
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    loop {
        let Some(first) = rx.recv().await else { break };
        let mut checkpoint_now = false;
        take(first, &mut batch, &mut waiting, &mut checkpoint_now);
        // Linger a little for more events, so that a steady trickle of requests costs one commit (one fsync)
        // per LINGER rather than one per request; a caller waiting on a flush ends the wait at once.
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch, &mut waiting, &mut checkpoint_now),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if !waiting.is_empty() {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(m)) => take(m, &mut batch, &mut waiting, &mut checkpoint_now),
                        _ => break,
                    }
                }
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            let events = std::mem::take(&mut batch);
            let mut delay = Duration::from_millis(50);
            loop {
                match store.append_audit(events.clone()).await {
                    Ok(e) => {
                        last = e.or(last);
                        break;
                    }
                    Err(e) => {
                        // The trail must not lose events: retry until the store takes them.
                        tracing::error!(error = %e, "appending to the audit trail failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
            since_checkpoint += n;
            if since_checkpoint >= CHECKPOINT_EVERY {
                since_checkpoint = 0;
                publish(&signer, last.as_ref());
            }
        }
        if checkpoint_now && since_checkpoint > 0 {
            since_checkpoint = 0;
            publish(&signer, last.as_ref());
        }
        for t in waiting.drain(..) {
            let _ = t.send(());
        }
    }
    if since_checkpoint > 0 {
        publish(&signer, last.as_ref());
    }
}

fn publish(signer: &Option<(Vec<u8>, PathBuf)>, last: Option<&AuditEntry>) {
    let (Some((key, file)), Some(e)) = (signer, last) else {
        return;
    };
    let cp = Checkpoint {
        seq: e.seq,
        hash: e.hash.clone(),
        at_ms: jiff::Timestamp::now().as_millisecond(),
        mac: mac_of(key, e.seq, &e.hash),
    };
    let line = serde_json::to_string(&cp).unwrap_or_default();
    let mut o = std::fs::OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let written = o.open(file).and_then(|mut f| {
        writeln!(f, "{line}")?;
        f.sync_data()
    });
    if let Err(err) = written {
        tracing::error!(error = %err, "publishing an audit checkpoint failed");
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: usize,
    /// The first break, if any.
    pub broken: Option<Broken>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the checkpoints: {0}")]
    Io(#[from] std::io::Error),
    #[error("checkpoint line {line}: {reason}")]
    Checkpoint { line: usize, reason: String },
}

/// Recomputes the whole chain in pages and checks every checkpoint: its signature under the key, and that the
/// chain's hash at its sequence number is the one it published.
pub async fn verify(
    store: &dyn Store,
    checkpoints: Option<&CheckpointConfig>,
) -> Result<VerifyReport, VerifyError> {
    let mut marks: std::collections::BTreeMap<u64, String> = Default::default();
    if let Some(c) = checkpoints
        && c.file.exists()
    {
        let key = load_or_create_key(&c.key_file)?;
        for (i, line) in std::fs::read_to_string(&c.file)?.lines().enumerate() {
            let cp: Checkpoint =
                serde_json::from_str(line).map_err(|e| VerifyError::Checkpoint {
                    line: i + 1,
                    reason: e.to_string(),
                })?;
            if mac_of(&key, cp.seq, &cp.hash) != cp.mac {
                return Err(VerifyError::Checkpoint {
                    line: i + 1,
                    reason: "its signature does not match (not written by this platform)".into(),
                });
            }
            marks.insert(cp.seq, cp.hash);
        }
    }
    let mut state = VerifyState::default();
    let mut report = VerifyReport {
        entries: 0,
        checkpoints: 0,
        broken: None,
    };
    loop {
        let page = store
            .audit_entries(None, state.next_seq - 1, 10_000)
            .await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if let Err(b) = audit::verify(&mut state, std::slice::from_ref(e)) {
                report.broken = Some(b);
                return Ok(report);
            }
            report.entries += 1;
            if let Some(h) = marks.get(&e.seq) {
                if *h != e.hash {
                    report.broken = Some(Broken::Checkpoint { seq: e.seq });
                    return Ok(report);
                }
                report.checkpoints += 1;
            }
        }
    }
    // A checkpoint beyond the end: entries were removed from the tail.
    if let Some((&seq, _)) = marks.range(state.next_seq..).next() {
        report.broken = Some(Broken::Checkpoint { seq });
    }
    Ok(report)
}
