//! The national registry's snapshot (登记簿快照) in the data directory: the registry as it stood after a known
//! inbox row and a known notice, so that a restart reads it and only the rows after it instead of replaying the
//! whole inbox.
//!
//! A snapshot belongs to its store: the store's id, and the ids of the inbox row and the notice it stands at,
//! must match what the store holds, or it is set aside and the registry replayed. Link decisions after the
//! number it applied are applied after it.
//!
//! File: magic `CTNREG\0\1`, a JSON header and the registry ([`Registry::snapshot_bytes`]), each
//! length-prefixed, then a CRC-32 of everything before it. Written to a temporary file, synced, then
//! renamed over the old one.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use coldtrace_national::Registry;
use coldtrace_store::{InboxStore, StoreError};
use uuid::Uuid;

use crate::snapshot_file::{Crc, create_private, replace};

/// The snapshot file's name in a data directory.
pub const REGISTRY_SNAPSHOT_FILE: &str = "national-registry.snapshot";

const MAGIC: &[u8; 8] = b"CTNREG\x00\x01";
/// A snapshot written by another release is set aside: how messages fold into the registry may have changed.
const SOFTWARE: &str = env!("CARGO_PKG_VERSION");
/// Raised when the meaning of the saved contents changes without a release number changing.
const FORMAT: u32 = 1;

/// Why a registry snapshot was not written or not used.
#[derive(Debug, thiserror::Error)]
pub enum RegistrySnapshotError {
    #[error("national registry snapshot {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("national registry snapshot is damaged: {0}")]
    Format(String),
    /// Made from another store, or from more than this store holds.
    #[error("national registry snapshot does not belong to this store: {0}")]
    Stale(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("national registry snapshot task failed: {0}")]
    Task(String),
}

/// Where a registry stands in its store: the last inbox row applied and the last notice tracked (0: none), and
/// how many link decisions it applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub inbox_seq: u64,
    pub inbox_id: Option<Uuid>,
    pub notice_seq: u64,
    pub notice_id: Option<Uuid>,
    /// Link decisions applied (the first so many in the store's order).
    #[serde(default)]
    pub decisions: u64,
}

/// What a save or a load did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RegistryFigures {
    /// The inbox row the snapshot stands at (messages accepted before it, across provinces).
    pub inbox_seq: u64,
    pub bytes: u64,
    pub seconds: f64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Header {
    format: u32,
    software: String,
    store_id: Uuid,
    cursor: Cursor,
    /// What the registry held, for a person reading the header.
    counts: BTreeMap<String, u64>,
    written_at_ms: i64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RegistrySnapshotError + '_ {
    move |source| RegistrySnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn short(e: std::io::Error) -> RegistrySnapshotError {
    RegistrySnapshotError::Format(format!("cut short: {e}"))
}

/// The registry as the bytes of a snapshot file standing at `cursor` of store `store_id`.
pub(super) fn encode(registry: &Registry, store_id: Uuid, cursor: Cursor) -> Vec<u8> {
    let header = serde_json::to_vec(&Header {
        format: FORMAT,
        software: SOFTWARE.to_string(),
        store_id,
        cursor,
        counts: registry.counts(),
        written_at_ms: jiff::Timestamp::now().as_millisecond(),
    })
    .expect("a header serialises");
    let mut w = Crc::new(Vec::with_capacity(1 << 20));
    w.write_all(MAGIC).expect("memory");
    w.write_all(&(header.len() as u64).to_le_bytes())
        .expect("memory");
    w.write_all(&header).expect("memory");
    let body = registry.snapshot_bytes();
    w.write_all(&(body.len() as u64).to_le_bytes())
        .expect("memory");
    w.write_all(&body).expect("memory");
    let crc = w.crc.clone().finalize();
    let mut bytes = w.inner;
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// Writes `bytes` at `path` (a temporary file, synced, renamed).
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), RegistrySnapshotError> {
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::with_capacity(1 << 20, create_private(&tmp).map_err(io(&tmp))?);
    w.write_all(bytes).map_err(io(&tmp))?;
    let file = w.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    replace(file, &tmp, path).map_err(io(path))
}

fn read_file(path: &Path) -> Result<(Header, Registry, u64), RegistrySnapshotError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut r = Crc::new(BufReader::with_capacity(1 << 20, f));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(short)?;
    if &magic != MAGIC {
        return Err(RegistrySnapshotError::Format(
            "not a coldtrace national registry snapshot of this version".into(),
        ));
    }
    let mut n = [0u8; 8];
    r.read_exact(&mut n).map_err(short)?;
    let n = u64::from_le_bytes(n);
    if n > 1 << 16 {
        return Err(RegistrySnapshotError::Format(format!(
            "a header of {n} bytes"
        )));
    }
    let mut h = vec![0u8; n as usize];
    r.read_exact(&mut h).map_err(short)?;
    let header: Header = serde_json::from_slice(&h)
        .map_err(|e| RegistrySnapshotError::Format(format!("header: {e}")))?;
    if header.format != FORMAT || header.software != SOFTWARE {
        return Err(RegistrySnapshotError::Stale(format!(
            "it was written by coldtrace {} (format {}), this is {SOFTWARE} (format {FORMAT})",
            header.software, header.format
        )));
    }
    let mut n = [0u8; 8];
    r.read_exact(&mut n).map_err(short)?;
    let n = u64::from_le_bytes(n);
    let len = std::fs::metadata(path).map_err(io(path))?.len();
    if n > len {
        return Err(RegistrySnapshotError::Format(format!(
            "a registry of {n} bytes in a file of {len}"
        )));
    }
    let mut body = vec![0u8; n as usize];
    r.read_exact(&mut body).map_err(short)?;
    let want = r.crc.clone().finalize();
    let mut tail = [0u8; 4];
    r.inner.read_exact(&mut tail).map_err(short)?;
    if u32::from_le_bytes(tail) != want {
        return Err(RegistrySnapshotError::Format(
            "the checksum does not match".into(),
        ));
    }
    let mut extra = [0u8; 1];
    if r.inner.read(&mut extra).map_err(short)? != 0 {
        return Err(RegistrySnapshotError::Format(
            "bytes after the checksum".into(),
        ));
    }
    // Decoded only once the checksum holds.
    let registry =
        Registry::from_snapshot(&body).map_err(|e| RegistrySnapshotError::Format(e.to_string()))?;
    Ok((header, registry, r.bytes + 4))
}

/// Reads the snapshot at `path` and checks that it belongs to `store`.
pub(super) async fn load(
    store: &dyn InboxStore,
    path: &Path,
) -> Result<(Registry, Cursor, RegistryFigures), RegistrySnapshotError> {
    let start = Instant::now();
    let p = path.to_path_buf();
    let (header, registry, bytes) = tokio::task::spawn_blocking(move || read_file(&p))
        .await
        .map_err(|e| RegistrySnapshotError::Task(e.to_string()))??;
    let store_id = store.store_id().await?;
    if header.store_id != store_id {
        return Err(RegistrySnapshotError::Stale(format!(
            "it was made from store {}, this is store {store_id}",
            header.store_id
        )));
    }
    let c = header.cursor;
    if c.inbox_seq > 0 {
        let row = store.inbox(c.inbox_seq - 1, 1).await?.into_iter().next();
        let at = row.filter(|r| r.gseq == c.inbox_seq).map(|r| r.envelope.id);
        if at != c.inbox_id {
            return Err(RegistrySnapshotError::Stale(format!(
                "it stands at inbox row {} ({:?}); the store has {:?} there",
                c.inbox_seq, c.inbox_id, at
            )));
        }
    }
    let decisions = store.link_decisions().await?.len() as u64;
    if decisions < c.decisions {
        return Err(RegistrySnapshotError::Stale(format!(
            "it applied {} link decisions; the store holds {decisions}",
            c.decisions
        )));
    }
    if c.notice_seq > 0 {
        let n = store
            .notices_out(None, c.notice_seq - 1, 1)
            .await?
            .into_iter()
            .next();
        let at = n.filter(|n| n.seq == c.notice_seq).map(|n| n.id);
        if at != c.notice_id {
            return Err(RegistrySnapshotError::Stale(format!(
                "it stands at notice {} ({:?}); the store has {:?} there",
                c.notice_seq, c.notice_id, at
            )));
        }
    }
    Ok((
        registry,
        c,
        RegistryFigures {
            inbox_seq: c.inbox_seq,
            bytes,
            seconds: start.elapsed().as_secs_f64(),
        },
    ))
}
