//! Trace index snapshots (索引快照): the tracer written to a file in the data directory, so that a restart loads
//! it in seconds and catches up from the store instead of rebuilding from every stored movement.
//!
//! A snapshot is the tracer exactly as it stood at a cursor (the index, the directories beside it, and how far
//! it had read each store feed), written while catch-ups wait, so that loading it and catching up gives the
//! same tracer as one that never stopped. It is tied to its store: the store's id and the id of the movement
//! at the cursor must match, and the store must hold at least that much, or the snapshot is set aside and the
//! index rebuilt. The file ends with a CRC-32 of everything before it; a damaged file is refused as a whole.
//!
//! File: magic `CTSNAP\0\1`, a JSON header (length-prefixed), the index ([`TraceIndex::write_snapshot`]), the
//! directories, the checksum. Written to a temporary file, synced, then renamed over the old one.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use coldtrace_store::{Store, StoreError};
use coldtrace_trace::TraceIndex;
use uuid::Uuid;

use super::{BatchInfo, Cursor, Directory, PartyInfo, Text, Tracer};
use crate::snapshot_file::{Crc, create_private, replace};

const MAGIC: &[u8; 8] = b"CTSNAP\x00\x01";

/// What the snapshot's contents were derived by: a snapshot written by another release is set aside, so that a
/// change in how flows or directories are derived takes effect on upgrade (as a rebuild would).
const SOFTWARE: &str = env!("CARGO_PKG_VERSION");
/// Raised when the meaning of the saved contents changes without a release number changing.
const FORMAT: u32 = 1;

/// Why a snapshot was not written or not used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("trace index snapshot {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("trace index snapshot is damaged: {0}")]
    Format(String),
    /// The snapshot was made from another store, or from more than this store holds.
    #[error("trace index snapshot does not belong to this store: {0}")]
    Stale(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("trace index snapshot task failed: {0}")]
    Task(String),
}

impl From<coldtrace_trace::SnapshotError> for SnapshotError {
    fn from(e: coldtrace_trace::SnapshotError) -> Self {
        match e {
            coldtrace_trace::SnapshotError::Io(e) => SnapshotError::Format(e.to_string()),
            coldtrace_trace::SnapshotError::Format(m) => SnapshotError::Format(m),
        }
    }
}

/// A tracer as [`Tracer::open`] gives it, with how it came to be.
pub struct Opened {
    pub tracer: Tracer,
    /// The snapshot it was loaded from.
    pub loaded: Option<SnapshotFigures>,
    /// Why a snapshot that was there was not used.
    pub set_aside: Option<SnapshotError>,
    /// Movements read from the store after the snapshot (all of them without one).
    pub caught_up: u64,
}

/// What a save or a load did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SnapshotFigures {
    /// Flows in the index.
    pub movements: u64,
    /// The store movement sequence the snapshot stands at.
    pub flow_seq: u64,
    pub bytes: u64,
    pub seconds: f64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Header {
    format: u32,
    software: String,
    store_id: Uuid,
    flow_seq: u64,
    flow_id: Option<Uuid>,
    batch_seq: i64,
    enterprise_seq: i64,
    movements: u64,
    written_at_ms: i64,
}

// ---- the directories as bytes ----------------------------------------------------------------------------------

fn put_u64(w: &mut impl Write, v: u64) -> std::io::Result<()> {
    w.write_all(&v.to_le_bytes())
}
fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    put_u64(w, s.len() as u64)?;
    w.write_all(s.as_bytes())
}
fn put_opt(w: &mut impl Write, s: Option<&str>) -> std::io::Result<()> {
    match s {
        None => w.write_all(&[0]),
        Some(s) => {
            w.write_all(&[1])?;
            put_str(w, s)
        }
    }
}
fn put_uuid(w: &mut impl Write, u: &Uuid) -> std::io::Result<()> {
    w.write_all(u.as_bytes())
}

fn get_u64(r: &mut impl Read) -> Result<u64, SnapshotError> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).map_err(short)?;
    Ok(u64::from_le_bytes(b))
}
fn get_u8(r: &mut impl Read) -> Result<u8, SnapshotError> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).map_err(short)?;
    Ok(b[0])
}
/// A count of entries of at least `min` bytes each, checked against what is left of a sane file.
fn get_count(r: &mut impl Read) -> Result<usize, SnapshotError> {
    let n = get_u64(r)?;
    if n > 1 << 34 {
        return Err(SnapshotError::Format(format!("a count of {n} entries")));
    }
    Ok(n as usize)
}
fn get_str(r: &mut impl Read) -> Result<Text, SnapshotError> {
    let n = get_u64(r)?;
    if n > 1 << 20 {
        return Err(SnapshotError::Format(format!("a text of {n} bytes")));
    }
    let mut b = vec![0u8; n as usize];
    r.read_exact(&mut b).map_err(short)?;
    String::from_utf8(b)
        .map(Text::from)
        .map_err(|_| SnapshotError::Format("a text is not UTF-8".into()))
}
fn get_opt(r: &mut impl Read) -> Result<Option<Text>, SnapshotError> {
    match get_u8(r)? {
        0 => Ok(None),
        1 => get_str(r).map(Some),
        t => Err(SnapshotError::Format(format!("option tag {t}"))),
    }
}
fn get_uuid(r: &mut impl Read) -> Result<Uuid, SnapshotError> {
    let mut b = [0u8; 16];
    r.read_exact(&mut b).map_err(short)?;
    Ok(Uuid::from_bytes(b))
}
fn short(e: std::io::Error) -> SnapshotError {
    SnapshotError::Format(format!("cut short: {e}"))
}

fn write_ids(w: &mut impl Write, m: &HashMap<String, Vec<Uuid>>) -> std::io::Result<()> {
    put_u64(w, m.len() as u64)?;
    for (k, v) in m {
        put_str(w, k)?;
        put_u64(w, v.len() as u64)?;
        for u in v {
            put_uuid(w, u)?;
        }
    }
    Ok(())
}

fn read_ids(r: &mut impl Read) -> Result<HashMap<String, Vec<Uuid>>, SnapshotError> {
    let n = get_count(r)?;
    let mut m = HashMap::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let k = get_str(r)?.to_string();
        let c = get_count(r)?;
        let mut v = Vec::with_capacity(c.min(1 << 16));
        for _ in 0..c {
            v.push(get_uuid(r)?);
        }
        m.insert(k, v);
    }
    Ok(m)
}

impl Directory {
    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        put_u64(w, self.parties.len() as u64)?;
        for (k, p) in &self.parties {
            put_uuid(w, k)?;
            match &p.enterprise {
                None => w.write_all(&[0])?,
                Some(e) => {
                    w.write_all(&[1])?;
                    put_uuid(w, e)?;
                }
            }
            put_str(w, &p.name)?;
            for o in [
                &p.uscc,
                &p.region,
                &p.kind,
                &p.contact_name,
                &p.contact_phone,
                &p.province,
                &p.province_name,
                &p.city,
                &p.place,
            ] {
                put_opt(w, o.as_deref())?;
            }
        }
        put_u64(w, self.by_enterprise.len() as u64)?;
        for (e, k) in &self.by_enterprise {
            put_uuid(w, e)?;
            put_uuid(w, k)?;
        }
        put_u64(w, self.batches.len() as u64)?;
        for (id, b) in &self.batches {
            put_uuid(w, id)?;
            put_str(w, &b.batch_no)?;
            put_str(w, &b.product)?;
            put_str(w, &b.unit)?;
            put_str(w, &b.origin_country)?;
            put_opt(w, b.establishment_no.as_deref())?;
            w.write_all(&[b.imported as u8])?;
        }
        write_ids(w, &self.by_establishment)?;
        write_ids(w, &self.by_origin)
    }

    fn read_from(r: &mut impl Read) -> Result<Directory, SnapshotError> {
        let mut d = Directory::default();
        let n = get_count(r)?;
        d.parties.reserve(n.min(1 << 20));
        for _ in 0..n {
            let key = get_uuid(r)?;
            let enterprise = match get_u8(r)? {
                0 => None,
                1 => Some(get_uuid(r)?),
                t => return Err(SnapshotError::Format(format!("option tag {t}"))),
            };
            let name = get_str(r)?;
            let mut o = || get_opt(r);
            let p = PartyInfo {
                enterprise,
                name,
                uscc: o()?,
                region: o()?,
                kind: o()?,
                contact_name: o()?,
                contact_phone: o()?,
                province: o()?,
                province_name: o()?,
                city: o()?,
                place: o()?,
                ..Default::default()
            }
            .with_masks();
            d.parties.insert(key, p);
        }
        let n = get_count(r)?;
        for _ in 0..n {
            let e = get_uuid(r)?;
            let k = get_uuid(r)?;
            d.by_enterprise.insert(e, k);
        }
        let n = get_count(r)?;
        d.batches.reserve(n.min(1 << 20));
        for _ in 0..n {
            let id = get_uuid(r)?;
            let b = BatchInfo {
                batch_no: get_str(r)?,
                product: get_str(r)?,
                unit: get_str(r)?,
                origin_country: get_str(r)?,
                establishment_no: get_opt(r)?,
                imported: match get_u8(r)? {
                    0 => false,
                    1 => true,
                    t => return Err(SnapshotError::Format(format!("flag {t}"))),
                },
            };
            d.batches.insert(id, b);
        }
        d.by_establishment = read_ids(r)?;
        d.by_origin = read_ids(r)?;
        Ok(d)
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a snapshot and reads its header (the part checked against the store before the rest is read).
fn open(path: &Path) -> Result<(Header, Crc<BufReader<std::fs::File>>), SnapshotError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut r = Crc::new(BufReader::with_capacity(1 << 20, f));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(short)?;
    if &magic != MAGIC {
        return Err(SnapshotError::Format(
            "not a coldtrace trace index snapshot of this version".into(),
        ));
    }
    let n = get_u64(&mut r)?;
    if n > 1 << 16 {
        return Err(SnapshotError::Format(format!("a header of {n} bytes")));
    }
    let mut h = vec![0u8; n as usize];
    r.read_exact(&mut h).map_err(short)?;
    let header: Header =
        serde_json::from_slice(&h).map_err(|e| SnapshotError::Format(format!("header: {e}")))?;
    Ok((header, r))
}

/// Reads the rest of a snapshot: the index, the directories, and the checksum over everything.
fn read_rest(
    mut r: Crc<BufReader<std::fs::File>>,
) -> Result<(TraceIndex, Directory, u64), SnapshotError> {
    let ix = TraceIndex::read_snapshot(&mut r)?;
    let dir = Directory::read_from(&mut r)?;
    let want = r.crc.clone().finalize();
    let mut tail = [0u8; 4];
    r.inner.read_exact(&mut tail).map_err(short)?;
    if u32::from_le_bytes(tail) != want {
        return Err(SnapshotError::Format("the checksum does not match".into()));
    }
    let mut extra = [0u8; 1];
    if r.inner.read(&mut extra).map_err(short)? != 0 {
        return Err(SnapshotError::Format("bytes after the checksum".into()));
    }
    Ok((ix, dir, r.bytes + 4))
}

impl Tracer {
    /// Writes the tracer to `path` (atomically: a temporary file, synced, renamed). Catch-ups (and so writes and
    /// traces, which catch up first) wait while the tracer is serialised, about a second per 10^7 movements.
    pub async fn save_snapshot(
        self: &Arc<Self>,
        store: &dyn Store,
        path: &Path,
    ) -> Result<SnapshotFigures, SnapshotError> {
        let start = Instant::now();
        let guard = self.cursor.clone().lock_owned().await;
        let cur: Cursor = *guard;
        let anchor = store.feed_anchor(cur.flow).await?;
        if cur.flow > 0 && anchor.movement_at.is_none() {
            return Err(SnapshotError::Stale(format!(
                "the store has no movement {}",
                cur.flow
            )));
        }
        let me = self.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            // One save at a time (they share the temporary file); catch-ups wait only while the tracer is
            // serialised, not while the file is synced.
            let _one_save = me.save_gate.lock().unwrap_or_else(|p| p.into_inner());
            let catch_ups_wait = guard;
            let ix = me.index.read().unwrap_or_else(|p| p.into_inner());
            let dir = me.dir.read().unwrap_or_else(|p| p.into_inner());
            let header = Header {
                format: FORMAT,
                software: SOFTWARE.to_string(),
                store_id: anchor.store_id,
                flow_seq: cur.flow,
                flow_id: anchor.movement_at,
                batch_seq: cur.batch,
                enterprise_seq: cur.enterprise,
                movements: ix.flows(),
                written_at_ms: jiff::Timestamp::now().as_millisecond(),
            };
            let tmp = path.with_extension("tmp");
            let file = create_private(&tmp).map_err(io(&tmp))?;
            let mut w = Crc::new(BufWriter::with_capacity(1 << 20, file));
            let h = serde_json::to_vec(&header).expect("a header serialises");
            let body = (|| -> std::io::Result<()> {
                w.write_all(MAGIC)?;
                put_u64(&mut w, h.len() as u64)?;
                w.write_all(&h)?;
                ix.write_snapshot(&mut w)?;
                dir.write_to(&mut w)?;
                let crc = w.crc.clone().finalize();
                w.inner.write_all(&crc.to_le_bytes())?;
                w.flush()
            })();
            drop(dir);
            drop(ix);
            drop(catch_ups_wait);
            body.map_err(io(&tmp))?;
            let bytes = w.bytes + 4;
            let file = w.inner.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
            replace(file, &tmp, &path).map_err(io(&path))?;
            Ok(SnapshotFigures {
                movements: header.movements,
                flow_seq: header.flow_seq,
                bytes,
                seconds: start.elapsed().as_secs_f64(),
            })
        })
        .await
        .map_err(|e| SnapshotError::Task(e.to_string()))?
    }

    /// Loads a tracer from a snapshot of this store. The caller catches it up ([`Tracer::catch_up`]) before
    /// serving; a snapshot of another store, or of more than the store holds, is refused with
    /// [`SnapshotError::Stale`].
    pub async fn load_snapshot(
        store: &dyn Store,
        path: &Path,
    ) -> Result<(Tracer, SnapshotFigures), SnapshotError> {
        let start = Instant::now();
        let p = path.to_path_buf();
        let (header, reader) = tokio::task::spawn_blocking(move || open(&p))
            .await
            .map_err(|e| SnapshotError::Task(e.to_string()))??;
        if header.format != FORMAT || header.software != SOFTWARE {
            return Err(SnapshotError::Stale(format!(
                "it was written by coldtrace {} (format {}), this is {SOFTWARE} (format {FORMAT})",
                header.software, header.format
            )));
        }
        let anchor = store.feed_anchor(header.flow_seq).await?;
        if anchor.store_id != header.store_id {
            return Err(SnapshotError::Stale(format!(
                "it was made from store {}, this is store {}",
                header.store_id, anchor.store_id
            )));
        }
        if anchor.last_batch_seq < header.batch_seq
            || anchor.last_enterprise_seq < header.enterprise_seq
        {
            return Err(SnapshotError::Stale(format!(
                "it read batches to {} and enterprises to {}; the store holds {} and {}",
                header.batch_seq,
                header.enterprise_seq,
                anchor.last_batch_seq,
                anchor.last_enterprise_seq
            )));
        }
        if anchor.last_seq < header.flow_seq || anchor.movement_at != header.flow_id {
            return Err(SnapshotError::Stale(format!(
                "it stands at movement {} ({:?}); the store holds up to {} and has {:?} there",
                header.flow_seq, header.flow_id, anchor.last_seq, anchor.movement_at
            )));
        }
        let (index, dir, bytes) = tokio::task::spawn_blocking(move || read_rest(reader))
            .await
            .map_err(|e| SnapshotError::Task(e.to_string()))??;
        if index.flows() != header.movements {
            return Err(SnapshotError::Format(format!(
                "the header counts {} movements, the index {}",
                header.movements,
                index.flows()
            )));
        }
        let tracer = Tracer {
            save_gate: Default::default(),
            index: RwLock::new(index),
            dir: RwLock::new(dir),
            cursor: Arc::new(tokio::sync::Mutex::new(Cursor {
                flow: header.flow_seq,
                batch: header.batch_seq,
                enterprise: header.enterprise_seq,
            })),
        };
        Ok((
            tracer,
            SnapshotFigures {
                movements: header.movements,
                flow_seq: header.flow_seq,
                bytes,
                seconds: start.elapsed().as_secs_f64(),
            },
        ))
    }

    /// The tracer a process starts with: loaded from the snapshot at `snapshot` when there is one that belongs
    /// to the store (else empty), then caught up with the store. `coldtrace serve` and the one-off commands
    /// start the same way.
    pub async fn open(
        store: &dyn Store,
        snapshot: Option<&Path>,
    ) -> Result<Opened, super::TraceError> {
        let (tracer, loaded, set_aside) = match snapshot {
            Some(path) if path.exists() => match Tracer::load_snapshot(store, path).await {
                Ok((tracer, f)) => (tracer, Some(f), None),
                Err(e) => (Tracer::new(), None, Some(e)),
            },
            _ => (Tracer::new(), None, None),
        };
        let caught_up = tracer.catch_up(store).await?;
        Ok(Opened {
            tracer,
            loaded,
            set_aside,
            caught_up,
        })
    }

    /// Lays the index out contiguously when more than an eighth of it was appended since the last compaction, or
    /// when corrections withdrew movements it still carries (traces wait meanwhile: call it before serving). Answers the seconds spent, `None` when it was not needed.
    pub fn compact_if_scattered(&self) -> Option<f64> {
        let mut ix = self.index.write().unwrap_or_else(|p| p.into_inner());
        let scattered = ix.movements() as u64 - ix.compacted();
        let scattered_enough = scattered > 0 && scattered * 8 >= ix.movements() as u64;
        if !scattered_enough && ix.withdrawn() == 0 {
            return None;
        }
        let t = Instant::now();
        ix.compact();
        ix.shrink_to_fit();
        Some(t.elapsed().as_secs_f64())
    }
}
