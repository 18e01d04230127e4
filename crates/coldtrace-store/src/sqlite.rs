//! The embedded store: one SQLite file, WAL, `synchronous=FULL`, one writer and a few readers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use coldtrace_domain::party;
use coldtrace_domain::{
    Batch, BatchRef, Document, Enterprise, Movement, MovementKind, Product, ProvinceCode, Role,
    ValidationErrors,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    BatchFilter, BatchSummary, Credential, FlowRow, HandlerRow, IncidentRow, MovementFilter, Page,
    Receipt, Result, Scope, Stats, Store, StoreError, Stored, SubmitOutcome, SubmitRequest,
};

const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS enterprises (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    uscc TEXT NOT NULL,
    province TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS enterprises_uscc ON enterprises(uscc);
CREATE INDEX IF NOT EXISTS enterprises_province ON enterprises(province, seq);
CREATE INDEX IF NOT EXISTS enterprises_corrects ON enterprises(corrects) WHERE corrects IS NOT NULL;

CREATE TABLE IF NOT EXISTS products (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    owner_province TEXT NOT NULL,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS products_owner ON products(owner, seq);
CREATE INDEX IF NOT EXISTS products_corrects ON products(corrects) WHERE corrects IS NOT NULL;

CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    product TEXT NOT NULL,
    batch_no TEXT NOT NULL,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_owner_no ON batches(owner, batch_no);
CREATE INDEX IF NOT EXISTS batches_product ON batches(product);
CREATE INDEX IF NOT EXISTS batches_corrects ON batches(corrects) WHERE corrects IS NOT NULL;

-- Which enterprises (and provinces) hold or held a batch: the tenant index for reads.
CREATE TABLE IF NOT EXISTS batch_access (
    batch_id TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    province TEXT NOT NULL,
    PRIMARY KEY (batch_id, enterprise_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batch_access_enterprise ON batch_access(enterprise_id, batch_id);
CREATE INDEX IF NOT EXISTS batch_access_province ON batch_access(province, batch_id);

CREATE TABLE IF NOT EXISTS trace_codes (
    key TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    scheme TEXT NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_codes_batch ON trace_codes(batch_id);

CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    attachment TEXT,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_batch ON documents(batch_id);
CREATE INDEX IF NOT EXISTS documents_attachment ON documents(attachment) WHERE attachment IS NOT NULL;

CREATE TABLE IF NOT EXISTS movements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    holder TEXT NOT NULL,
    holder_province TEXT NOT NULL,
    batch_id TEXT,
    quantity_milli INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    counterparty_uscc TEXT,
    counterparty_id TEXT,
    -- Party keys (coldtrace_domain::party): the trace's holder identities, registered or not.
    holder_key TEXT NOT NULL,
    counterparty_key TEXT,
    counterparty_name TEXT,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS movements_batch ON movements(batch_id, at_ms);
CREATE INDEX IF NOT EXISTS movements_holder ON movements(holder, seq);
CREATE INDEX IF NOT EXISTS movements_province ON movements(holder_province, seq);
CREATE INDEX IF NOT EXISTS movements_counterparty ON movements(counterparty_id, holder);

-- Inputs (role 'in') and outputs (role 'out') of transformations.
CREATE TABLE IF NOT EXISTS movement_lines (
    movement_seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    quantity_milli INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS movement_lines_movement ON movement_lines(movement_seq);
CREATE INDEX IF NOT EXISTS movement_lines_batch ON movement_lines(batch_id);

-- People who handled each movement (人物同查).
CREATE TABLE IF NOT EXISTS movement_handlers (
    movement_seq INTEGER NOT NULL,
    person_key TEXT NOT NULL,
    name TEXT NOT NULL,
    id_no TEXT,
    phone TEXT
);
CREATE INDEX IF NOT EXISTS movement_handlers_person ON movement_handlers(person_key);
CREATE INDEX IF NOT EXISTS movement_handlers_movement ON movement_handlers(movement_seq);

-- Incidents as registered (never changed) and their append-only history.
CREATE TABLE IF NOT EXISTS incidents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    province TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    by_subject TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events(incident_id, seq);

CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    recorded_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS submissions (
    subject TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (subject, idem_key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    enterprise_id TEXT,
    province TEXT,
    label TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
"#;

/// The embedded store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The one writer. A `std::sync::Mutex`, not an async one: it is only ever locked inside `spawn_blocking`,
    /// and SQLite allows one writer at a time anyway.
    writer: Mutex<Connection>,
    /// Read connections; WAL lets them read while the writer writes.
    readers: Vec<Mutex<Connection>>,
    /// Round-robin index into `readers`.
    next_reader: AtomicUsize,
    /// Set once a commit failed: from then on every write is refused instead of acknowledged.
    failed: Mutex<Option<String>>,
    /// Set on a provincial platform that docks to the national platform: submissions then also write their
    /// docking messages (and issue the platform's codes) in the same transaction.
    docking: std::sync::OnceLock<crate::DockingConfig>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit is fsynced before it returns, so an acknowledged write survives a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -65536)?;
    Ok(conn)
}

/// The record's stored JSON and its fingerprint: SHA-256 of the JSON without the id, so that two submissions of
/// the same content match. One serialization serves both.
fn encode<T: Serialize>(r: &T) -> Result<(String, String)> {
    let mut v = serde_json::to_value(r)?;
    let body = v.to_string();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    Ok((hex::encode(Sha256::digest(v.to_string().as_bytes())), body))
}

/// The store file inside a data directory.
pub fn store_path(data: &Path) -> std::path::PathBuf {
    data.join("coldtrace.sqlite")
}

impl SqliteStore {
    /// Opens (creating if needed) the store file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let writer = open_conn(path)?;
        let version: i64 = writer.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < SCHEMA_VERSION {
            writer.execute_batch(SCHEMA)?;
            writer.execute_batch(crate::docking::SCHEMA)?;
            writer.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        let readers = (0..4)
            .map(|_| {
                let c = open_conn(path)?;
                c.pragma_update(None, "query_only", "ON")?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                failed: Mutex::new(None),
                docking: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Makes this store a docking provincial platform's: from now on every submission and incident also writes
    /// its docking messages in its own transaction. Set once, before serving.
    pub fn enable_docking(&self, cfg: crate::DockingConfig) {
        let _ = self.inner.docking.set(cfg);
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(why) = inner
                .failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                return Err(StoreError::Unavailable(why));
            }
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let r = f(&mut conn);
            if let Err(StoreError::Database(e)) = &r
                && is_durability_failure(e)
            {
                tracing::error!(error = %e, "commit failed; the store now refuses writes");
                *inner.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                return Err(StoreError::Unavailable(e.to_string()));
            }
            r
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// I/O errors, a full disk or a corrupt file: the disk may not hold what we were about to acknowledge.
fn is_durability_failure(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::ErrorCode;
    matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::DatabaseCorrupt
                | ErrorCode::NotADatabase
        )
    )
}

fn get_stored<T: DeserializeOwned>(
    conn: &Connection,
    table: &str,
    id: &str,
) -> Result<Option<Stored<T>>> {
    let sql = format!(
        "SELECT seq, body, recorded_at, (SELECT c.id FROM {table} c WHERE c.corrects = t.id ORDER BY c.seq DESC LIMIT 1)
         FROM {table} t WHERE t.id = ?1"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .optional()?;
    row.map(to_stored).transpose()
}

type Row = (i64, String, i64, Option<String>);

fn to_stored<T: DeserializeOwned>((seq, body, recorded_at_ms, by): Row) -> Result<Stored<T>> {
    Ok(Stored {
        seq,
        record: serde_json::from_str(&body)?,
        recorded_at_ms,
        corrected_by: by.and_then(|s| Uuid::parse_str(&s).ok()),
    })
}

fn list_stored<T: DeserializeOwned>(
    conn: &Connection,
    table: &str,
    where_sql: &str,
    args: &[&dyn rusqlite::ToSql],
    page: Page,
) -> Result<Vec<Stored<T>>> {
    let sql = format!(
        "SELECT seq, body, recorded_at, (SELECT c.id FROM {table} c WHERE c.corrects = t.id ORDER BY c.seq DESC LIMIT 1)
         FROM {table} t WHERE t.seq > ?1 AND ({where_sql}) ORDER BY t.seq LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&page.after, &page.limit];
    all.extend_from_slice(args);
    let rows = stmt.query_map(all.as_slice(), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    rows.map(|r| to_stored(r?)).collect()
}

/// The errors of one submission, split into refusals (422) and collisions (409).
#[derive(Default)]
struct Problems {
    invalid: ValidationErrors,
    conflict: ValidationErrors,
}

/// The state of one submission inside its transaction.
struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    now: i64,
    problems: Problems,
    receipt: Receipt,
    /// Province of each enterprise seen in this submission (owner, holder, counterparty).
    provinces: HashMap<Uuid, Option<String>>,
    /// Party key of each enterprise seen (by USCC).
    party_keys: HashMap<Uuid, Uuid>,
    /// Flows of the movements stored, for the trace index.
    flows: Vec<coldtrace_trace::Flow>,
    /// Batch references already resolved in this submission (bulk ledgers name the same batch many times).
    resolved: HashMap<(Uuid, BatchRef), Uuid>,
    /// `batch_access` rows already written in this submission.
    granted: std::collections::HashSet<(Uuid, Uuid)>,
    /// Counterparty USCC to registered enterprise id.
    counterparties: HashMap<String, Option<Uuid>>,
    /// Records stored for the first time, to report to the national platform.
    fresh: crate::docking::Fresh,
}

/// A stored record under the same id or natural key: its id, and whether its content is the same.
type Found = Option<(Uuid, bool)>;

impl Tx<'_> {
    fn province_of(&mut self, e: Uuid) -> Result<Option<String>> {
        if let Some(p) = self.provinces.get(&e) {
            return Ok(p.clone());
        }
        let p: Option<String> = self
            .tx
            .prepare_cached("SELECT province FROM enterprises WHERE id = ?1")?
            .query_row([e.to_string()], |r| r.get(0))
            .optional()?;
        self.provinces.insert(e, p.clone());
        Ok(p)
    }

    /// The party key of a registered enterprise (by its USCC); a stable fallback for an unknown id.
    fn party_key(&mut self, e: Uuid) -> Result<Uuid> {
        if let Some(k) = self.party_keys.get(&e) {
            return Ok(*k);
        }
        let uscc: Option<String> = self
            .tx
            .prepare_cached("SELECT uscc FROM enterprises WHERE id = ?1 ORDER BY seq DESC LIMIT 1")?
            .query_row([e.to_string()], |r| r.get(0))
            .optional()?;
        let k = match uscc.and_then(|u| coldtrace_domain::Uscc::parse_overridden(&u).ok()) {
            Some(u) => party::by_uscc(&u),
            None => e,
        };
        self.party_keys.insert(e, k);
        Ok(k)
    }

    /// The stored record with this id, if any.
    fn by_id(&self, table: &str, id: Uuid, fp: &str) -> Result<Found> {
        let sql = format!("SELECT fp FROM {table} WHERE id = ?1");
        self.by_key(&sql, &[&id.to_string()], id, fp)
    }

    /// The first stored record a natural-key query (selecting `fp`, and `id` when `id` is nil) finds.
    fn by_key(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
        id: Uuid,
        fp: &str,
    ) -> Result<Found> {
        let found: Option<(String, Option<String>)> = self
            .tx
            .prepare_cached(sql)?
            .query_row(args, |r| Ok((r.get(0)?, r.get(1).ok())))
            .optional()?;
        Ok(match found {
            None => None,
            Some((f, stored)) => {
                let stored = stored.and_then(|s| Uuid::parse_str(&s).ok()).unwrap_or(id);
                Some((stored, f == fp))
            }
        })
    }

    /// Settles a record that is already stored: the same content answers the stored id and stores nothing, other
    /// content is a conflict at `field`. Returns true when it was found (and so must not be inserted).
    fn settle(
        &mut self,
        found: Found,
        field: String,
        conflict: impl FnOnce(Uuid) -> String,
        ids: fn(&mut Receipt) -> &mut Vec<Uuid>,
    ) -> bool {
        match found {
            None => false,
            Some((id, true)) => {
                ids(&mut self.receipt).push(id);
                self.receipt.unchanged += 1;
                true
            }
            Some((id, false)) => {
                self.problems.conflict.push(field, conflict(id));
                true
            }
        }
    }

    fn exists(&self, table: &str, id: Uuid) -> Result<bool> {
        let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
        Ok(self
            .tx
            .prepare_cached(&sql)?
            .query_row([id.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn check_corrects(&mut self, table: &str, at: &str, corrects: Option<Uuid>) -> Result<()> {
        if let Some(c) = corrects
            && !self.exists(table, c)?
        {
            self.problems.invalid.push(
                format!("{at}.corrects"),
                format!("no record {c} to correct"),
            );
        }
        Ok(())
    }

    fn resolve(&mut self, owner: Uuid, r: &BatchRef, at: &str) -> Result<Option<Uuid>> {
        if let Some(id) = self.resolved.get(&(owner, r.clone())) {
            return Ok(Some(*id));
        }
        let found: Option<String> = match r {
            BatchRef::Id(id) => {
                if self.exists("batches", *id)? {
                    Some(id.to_string())
                } else {
                    None
                }
            }
            BatchRef::BatchNo(no) => self
                .tx
                .prepare_cached("SELECT id FROM batches WHERE owner = ?1 AND batch_no = ?2 ORDER BY seq DESC LIMIT 1")?
                .query_row(params![owner.to_string(), no], |r| r.get(0))
                .optional()?,
            BatchRef::Code(c) => self
                .tx
                .prepare_cached("SELECT batch_id FROM trace_codes WHERE key = ?1")?
                .query_row([&c.key], |r| r.get(0))
                .optional()?,
        };
        match found {
            Some(s) => {
                let id = Uuid::parse_str(&s).map_err(|e| StoreError::Task(e.to_string()))?;
                self.resolved.insert((owner, r.clone()), id);
                Ok(Some(id))
            }
            None => {
                let (field, what) = match r {
                    BatchRef::Id(id) => ("batch_id", format!("no batch with id {id}")),
                    BatchRef::BatchNo(no) => {
                        ("batch_no", format!("you have no batch numbered {no:?}"))
                    }
                    BatchRef::Code(c) => (
                        "trace_code",
                        format!("no batch carries the code {:?}", c.value),
                    ),
                };
                self.problems.invalid.push(format!("{at}.{field}"), what);
                Ok(None)
            }
        }
    }

    fn grant(&mut self, batch: Uuid, enterprise: Uuid) -> Result<()> {
        if !self.granted.insert((batch, enterprise)) {
            return Ok(());
        }
        let Some(p) = self.province_of(enterprise)? else {
            return Ok(());
        };
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO batch_access (batch_id, enterprise_id, province) VALUES (?1, ?2, ?3)")?
            .execute(params![batch.to_string(), enterprise.to_string(), p])?;
        Ok(())
    }

    fn enterprise(&mut self, i: usize, e: &Enterprise) -> Result<()> {
        let at = format!("enterprises[{i}]");
        let (fp, body) = encode(e)?;
        let found = self.by_id("enterprises", e.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("enterprise {id} exists with other content"),
            |r| &mut r.enterprises,
        ) {
            return Ok(());
        }
        self.check_corrects("enterprises", &at, e.corrects)?;
        if e.corrects.is_none() {
            let found = self.by_key(
                "SELECT fp, id FROM enterprises WHERE uscc = ?1 ORDER BY seq LIMIT 1",
                &[&e.uscc.as_str()],
                Uuid::nil(),
                &fp,
            )?;
            let conflict = |id| {
                format!(
                    "already registered as enterprise {id}; send a correction (corrects) to change it"
                )
            };
            if self.settle(found, format!("{at}.uscc"), conflict, |r| {
                &mut r.enterprises
            }) {
                return Ok(());
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO enterprises (id, uscc, province, region, kind, name, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                e.id.to_string(),
                e.uscc.as_str(),
                e.region.province().as_str(),
                e.region.as_str(),
                e.kind.as_str(),
                e.name,
                e.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        self.provinces
            .insert(e.id, Some(e.region.province().as_str().to_string()));
        self.receipt.enterprises.push(e.id);
        self.fresh.enterprises.push(e.clone());
        Ok(())
    }

    fn product(&mut self, i: usize, p: &Product) -> Result<()> {
        let at = format!("products[{i}]");
        let (fp, body) = encode(p)?;
        let found = self.by_id("products", p.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("product {id} exists with other content"),
            |r| &mut r.products,
        ) {
            return Ok(());
        }
        self.check_corrects("products", &at, p.corrects)?;
        let province = self.province_of(p.owner)?.unwrap_or_default();
        self.tx
            .prepare_cached(
                "INSERT INTO products (id, owner, owner_province, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                p.id.to_string(),
                p.owner.to_string(),
                province,
                p.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        self.receipt.products.push(p.id);
        Ok(())
    }

    fn batch(&mut self, i: usize, b: &Batch) -> Result<()> {
        let at = format!("batches[{i}]");
        let (fp, body) = encode(b)?;
        let found = self.by_id("batches", b.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("batch {id} exists with other content"),
            |r| &mut r.batches,
        ) {
            return Ok(());
        }
        self.check_corrects("batches", &at, b.corrects)?;
        if !self.exists("products", b.product)? {
            self.problems.invalid.push(
                format!("{at}.product_id"),
                format!("no product with id {}", b.product),
            );
        }
        if b.corrects.is_none() {
            let found = self.by_key(
                "SELECT fp, id FROM batches WHERE owner = ?1 AND batch_no = ?2 ORDER BY seq LIMIT 1",
                &[&b.owner.to_string(), &b.batch_no],
                Uuid::nil(),
                &fp,
            )?;
            let conflict = |id| {
                format!(
                    "you already have batch {:?} ({id}) with other content; send a correction (corrects)",
                    b.batch_no
                )
            };
            if self.settle(found, format!("{at}.batch_no"), conflict, |r| {
                &mut r.batches
            }) {
                return Ok(());
            }
        }
        for (j, c) in b.trace_codes.iter().enumerate() {
            let holder: Option<String> = self
                .tx
                .prepare_cached("SELECT batch_id FROM trace_codes WHERE key = ?1")?
                .query_row([&c.key], |r| r.get(0))
                .optional()?;
            match holder {
                Some(other)
                    if Some(other.as_str()) != b.corrects.map(|x| x.to_string()).as_deref() =>
                {
                    self.problems.conflict.push(
                        format!("{at}.trace_codes[{j}].value"),
                        format!("already identifies batch {other}"),
                    );
                }
                _ => {
                    self.tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO trace_codes (key, batch_id, scheme, value) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![c.key, b.id.to_string(), c.scheme.as_str(), c.value])?;
                }
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO batches (id, owner, product, batch_no, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                b.id.to_string(),
                b.owner.to_string(),
                b.product.to_string(),
                b.batch_no,
                b.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        let serial = self.tx.last_insert_rowid();
        self.grant(b.id, b.owner)?;
        self.receipt.batches.push(b.id);
        self.fresh.batches.push((serial, b.clone()));
        Ok(())
    }

    fn document(&mut self, i: usize, d: &Document) -> Result<()> {
        let at = format!("documents[{i}]");
        let Some(batch) = self.resolve(d.owner, &d.batch, &at)? else {
            return Ok(());
        };
        let mut d = d.clone();
        d.batch = BatchRef::Id(batch);
        let (fp, body) = encode(&d)?;
        let found = self.by_id("documents", d.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("document {id} exists with other content"),
            |r| &mut r.documents,
        ) {
            return Ok(());
        }
        self.check_corrects("documents", &at, d.corrects)?;
        if let Some(h) = &d.attachment_sha256 {
            let found = self
                .tx
                .prepare_cached("SELECT 1 FROM attachments WHERE sha256 = ?1")?
                .query_row([h], |_| Ok(()))
                .optional()?;
            if found.is_none() {
                self.problems.invalid.push(
                    format!("{at}.attachment_sha256"),
                    "no attachment with this hash; upload it first",
                );
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO documents (id, batch_id, owner, kind, attachment, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                d.id.to_string(),
                batch.to_string(),
                d.owner.to_string(),
                d.kind.as_str(),
                d.attachment_sha256,
                d.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        self.grant(batch, d.owner)?;
        self.receipt.documents.push(d.id);
        Ok(())
    }

    fn movement(&mut self, i: usize, m: &Movement) -> Result<()> {
        let at = format!("movements[{i}]");
        let mut m = m.clone();
        let mut ok = true;
        if let Some(r) = &m.batch {
            match self.resolve(m.holder, r, &at)? {
                Some(id) => m.batch = Some(BatchRef::Id(id)),
                None => ok = false,
            }
        }
        for (name, lines) in [("inputs", &mut m.inputs), ("outputs", &mut m.outputs)] {
            for (j, l) in lines.iter_mut().enumerate() {
                match self.resolve(m.holder, &l.batch, &format!("{at}.{name}[{j}]"))? {
                    Some(id) => l.batch = BatchRef::Id(id),
                    None => ok = false,
                }
            }
        }
        if !ok {
            return Ok(());
        }
        let (fp, body) = encode(&m)?;
        let found = self.by_id("movements", m.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("movement {id} exists with other content"),
            |r| &mut r.movements,
        ) {
            return Ok(());
        }
        self.check_corrects("movements", &at, m.corrects)?;
        let province = self.province_of(m.holder)?.unwrap_or_default();
        let cp_uscc = m
            .counterparty
            .as_ref()
            .and_then(|c| c.uscc.as_ref())
            .map(|u| u.as_str().to_string());
        let cp_id: Option<Uuid> = match &cp_uscc {
            Some(u) => match self.counterparties.get(u) {
                Some(id) => *id,
                None => {
                    let id = self
                        .tx
                        .prepare_cached(
                            "SELECT id FROM enterprises WHERE uscc = ?1 ORDER BY seq DESC LIMIT 1",
                        )?
                        .query_row([u], |r| r.get::<_, String>(0))
                        .optional()?
                        .and_then(|s| Uuid::parse_str(&s).ok());
                    self.counterparties.insert(u.clone(), id);
                    id
                }
            },
            None => None,
        };
        let batch_id = match &m.batch {
            Some(BatchRef::Id(id)) => Some(*id),
            _ => None,
        };
        let holder_key = self.party_key(m.holder)?;
        let cp_key = m.counterparty.as_ref().map(|c| match &c.uscc {
            Some(u) => party::by_uscc(u),
            None => party::by_name(&c.name),
        });
        let cp_name = m.counterparty.as_ref().map(|c| c.name.clone());
        self.tx
            .prepare_cached(
                "INSERT INTO movements (id, kind, holder, holder_province, batch_id, quantity_milli, at_ms,
                    counterparty_uscc, counterparty_id, corrects, fp, body, recorded_at,
                    holder_key, counterparty_key, counterparty_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                m.id.to_string(),
                m.kind.as_str(),
                m.holder.to_string(),
                province,
                batch_id.map(|b| b.to_string()),
                m.quantity.milli(),
                m.at.millis(),
                cp_uscc,
                cp_id.map(|c| c.to_string()),
                m.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now,
                holder_key.to_string(),
                cp_key.map(|k| k.to_string()),
                cp_name,
            ])?;
        let seq = self.tx.last_insert_rowid();
        for h in &m.handlers {
            let key = party::person_key(h.id_no.as_deref(), h.phone.as_deref(), &h.name, m.holder);
            self.tx
                .prepare_cached(
                    "INSERT INTO movement_handlers (movement_seq, person_key, name, id_no, phone) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![seq, key, h.name, h.id_no, h.phone])?;
        }
        let line = |l: &coldtrace_domain::Line| match l.batch {
            BatchRef::Id(b) => Some((b, l.quantity.milli())),
            _ => None,
        };
        self.flows.push(coldtrace_trace::Flow {
            seq: seq as u64,
            kind: flow_kind(m.kind),
            holder: holder_key,
            batch: batch_id,
            counterparty: cp_key,
            quantity: m.quantity.milli(),
            at_ms: m.at.millis(),
            inputs: m.inputs.iter().filter_map(line).collect(),
            outputs: m.outputs.iter().filter_map(line).collect(),
        });
        let mut touched: Vec<Uuid> = batch_id.into_iter().collect();
        for (role, lines) in [("in", &m.inputs), ("out", &m.outputs)] {
            for l in lines {
                if let BatchRef::Id(b) = l.batch {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO movement_lines (movement_seq, role, batch_id, quantity_milli) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![seq, role, b.to_string(), l.quantity.milli()])?;
                    touched.push(b);
                }
            }
        }
        for b in &touched {
            self.grant(*b, m.holder)?;
        }
        // The registered receiver of a shipment, sale or return may see the batch, to record its receipt.
        if let (Some(cp), Some(b)) = (cp_id, batch_id)
            && matches!(
                m.kind,
                MovementKind::Ship | MovementKind::Sell | MovementKind::Return
            )
        {
            self.grant(b, cp)?;
        }
        self.receipt.movements.push(m.id);
        self.fresh.movements.push(m);
        Ok(())
    }
}

pub(crate) fn flow_kind(k: MovementKind) -> coldtrace_trace::FlowKind {
    use coldtrace_trace::FlowKind as F;
    match k {
        MovementKind::Receive => F::Receive,
        MovementKind::Ship => F::Ship,
        MovementKind::Sell => F::Sell,
        MovementKind::Transform => F::Transform,
        MovementKind::Destroy => F::Destroy,
        MovementKind::Seal => F::Seal,
        MovementKind::Return => F::Return,
    }
}

fn submit_blocking(
    conn: &mut Connection,
    req: SubmitRequest,
    docking: Option<&crate::DockingConfig>,
) -> Result<SubmitOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(key) = &req.idempotency_key {
        let prior: Option<(String, String)> = tx
            .prepare_cached("SELECT request_hash, response FROM submissions WHERE subject = ?1 AND idem_key = ?2")?
            .query_row(params![req.subject, key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((hash, response)) = prior {
            if hash != req.request_hash {
                return Err(StoreError::KeyReused(key.clone()));
            }
            return Ok(SubmitOutcome {
                receipt: serde_json::from_str(&response)?,
                replayed: true,
                flows: vec![],
            });
        }
    }
    let mut t = Tx {
        tx: &tx,
        now: now_ms(),
        problems: Problems::default(),
        receipt: Receipt::default(),
        provinces: HashMap::new(),
        party_keys: HashMap::new(),
        flows: Vec::new(),
        resolved: HashMap::new(),
        granted: Default::default(),
        counterparties: HashMap::new(),
        fresh: Default::default(),
    };
    let s = &req.submission;
    for (i, e) in s.enterprises.iter().enumerate() {
        t.enterprise(i, e)?;
    }
    for (i, p) in s.products.iter().enumerate() {
        t.product(i, p)?;
    }
    for (i, b) in s.batches.iter().enumerate() {
        t.batch(i, b)?;
    }
    for (i, d) in s.documents.iter().enumerate() {
        t.document(i, d)?;
    }
    for (i, m) in s.movements.iter().enumerate() {
        t.movement(i, m)?;
    }
    let Tx {
        problems,
        receipt,
        flows,
        fresh,
        now,
        ..
    } = t;
    if !problems.invalid.is_empty() {
        // Dropping the transaction rolls it back: nothing of a refused submission is kept.
        return Err(StoreError::Invalid(problems.invalid));
    }
    if !problems.conflict.is_empty() {
        return Err(StoreError::Conflict(problems.conflict));
    }
    if let Some(cfg) = docking {
        crate::docking::emit(&tx, cfg, &fresh, now)?;
    }
    if let Some(key) = &req.idempotency_key {
        tx.prepare_cached(
            "INSERT INTO submissions (subject, idem_key, request_hash, response, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![req.subject, key, req.request_hash, serde_json::to_string(&receipt)?, now_ms()])?;
    }
    tx.commit()?;
    Ok(SubmitOutcome {
        receipt,
        replayed: false,
        flows,
    })
}

/// The tenant condition of a query and its one parameter. `ph` is the parameter's placeholder; every variant
/// uses it, so the statement always takes the same parameters.
fn scope_sql(
    scope: &Scope,
    enterprise_sql: &str,
    province_sql: &str,
    ph: &str,
) -> (String, Option<String>) {
    match scope {
        Scope::All => (format!("(1 OR {ph} IS NULL)"), None),
        Scope::Nothing => (format!("(0 AND {ph} IS NULL)"), None),
        Scope::Enterprise(e) => (enterprise_sql.to_string(), Some(e.to_string())),
        Scope::Province(p) => (province_sql.to_string(), Some(p.as_str().to_string())),
    }
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Task(format!("stored id {s:?}: {e}")))
}

#[async_trait]
impl Store for SqliteStore {
    async fn submit(&self, req: SubmitRequest) -> Result<SubmitOutcome> {
        let docking = self.inner.docking.get().cloned();
        self.write(move |conn| submit_blocking(conn, req, docking.as_ref()))
            .await
    }

    async fn put_attachment(&self, bytes: Vec<u8>, media_type: String) -> Result<String> {
        let hash = hex::encode(Sha256::digest(&bytes));
        let h = hash.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO attachments (sha256, media_type, bytes, recorded_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![h, media_type, bytes, now_ms()])?;
            Ok(())
        })
        .await?;
        Ok(hash)
    }

    async fn attachment(&self, sha256: &str) -> Result<Option<(Vec<u8>, String)>> {
        let h = sha256.to_ascii_lowercase();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT bytes, media_type FROM attachments WHERE sha256 = ?1")?
                    .query_row([h], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })
        .await
    }

    async fn enterprise(&self, id: Uuid) -> Result<Option<Stored<Enterprise>>> {
        self.read(move |c| get_stored(c, "enterprises", &id.to_string()))
            .await
    }

    async fn enterprise_by_uscc(&self, uscc: &str) -> Result<Option<Stored<Enterprise>>> {
        let u = uscc.trim().to_ascii_uppercase();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached(
                    "SELECT id FROM enterprises WHERE uscc = ?1 ORDER BY seq DESC LIMIT 1",
                )?
                .query_row([u], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => get_stored(c, "enterprises", &id),
                None => Ok(None),
            }
        })
        .await
    }

    async fn enterprises(&self, scope: &Scope, page: Page) -> Result<Vec<Stored<Enterprise>>> {
        let (w, arg) = scope_sql(scope, "t.id = ?3", "t.province = ?3", "?3");
        self.read(move |c| list_stored(c, "enterprises", &w, &[&arg], page))
            .await
    }

    async fn are_counterparties(&self, a: Uuid, b: Uuid) -> Result<bool> {
        self.read(move |c| {
            let q = "SELECT 1 FROM movements WHERE (holder = ?1 AND counterparty_id = ?2) OR (holder = ?2 AND counterparty_id = ?1) LIMIT 1";
            Ok(c.prepare_cached(q)?.query_row([a.to_string(), b.to_string()], |_| Ok(())).optional()?.is_some())
        })
        .await
    }

    async fn product(&self, id: Uuid) -> Result<Option<Stored<Product>>> {
        self.read(move |c| get_stored(c, "products", &id.to_string()))
            .await
    }

    async fn products(&self, scope: &Scope, page: Page) -> Result<Vec<Stored<Product>>> {
        let (w, arg) = scope_sql(
            scope,
            "t.owner = ?3 OR t.id IN (SELECT b.product FROM batch_access a JOIN batches b ON b.id = a.batch_id WHERE a.enterprise_id = ?3)",
            "t.owner_province = ?3 OR t.id IN (SELECT b.product FROM batch_access a JOIN batches b ON b.id = a.batch_id WHERE a.province = ?3)",
            "?3",
        );
        self.read(move |c| list_stored(c, "products", &w, &[&arg], page))
            .await
    }

    async fn batch(&self, id: Uuid) -> Result<Option<Stored<Batch>>> {
        self.read(move |c| get_stored(c, "batches", &id.to_string()))
            .await
    }

    async fn batch_by_code(&self, key: &str) -> Result<Option<Uuid>> {
        let k = key.to_string();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached("SELECT batch_id FROM trace_codes WHERE key = ?1")?
                .query_row([k], |r| r.get(0))
                .optional()?;
            id.map(|s| parse_uuid(&s)).transpose()
        })
        .await
    }

    async fn batches(
        &self,
        scope: &Scope,
        filter: &BatchFilter,
        page: Page,
    ) -> Result<Vec<Stored<Batch>>> {
        let (mut w, arg) = scope_sql(
            scope,
            "EXISTS (SELECT 1 FROM batch_access a WHERE a.batch_id = t.id AND a.enterprise_id = ?3)",
            "EXISTS (SELECT 1 FROM batch_access a WHERE a.batch_id = t.id AND a.province = ?3)",
            "?3",
        );
        w = format!("({w}) AND (?4 IS NULL OR t.batch_no = ?4) AND (?5 IS NULL OR t.product = ?5)");
        let no = filter.batch_no.clone();
        let product = filter.product.map(|p| p.to_string());
        let arg = arg.unwrap_or_default();
        self.read(move |c| list_stored(c, "batches", &w, &[&arg, &no, &product], page))
            .await
    }

    async fn batch_visible(&self, scope: &Scope, batch: Uuid) -> Result<bool> {
        let (w, arg) = scope_sql(scope, "enterprise_id = ?2", "province = ?2", "?2");
        let b = batch.to_string();
        self.read(move |c| {
            let exists = c
                .prepare_cached("SELECT 1 FROM batches WHERE id = ?1")?
                .query_row([&b], |_| Ok(()))
                .optional()?;
            if exists.is_none() {
                return Ok(false);
            }
            let sql = format!("SELECT 1 FROM batch_access WHERE batch_id = ?1 AND ({w}) LIMIT 1");
            let arg = arg.unwrap_or_default();
            Ok(c.prepare_cached(&sql)?
                .query_row(params![b, arg], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn product_visible(&self, scope: &Scope, product: Uuid) -> Result<bool> {
        let (w, arg) = scope_sql(
            scope,
            "p.owner = ?2 OR EXISTS (SELECT 1 FROM batches b JOIN batch_access a ON a.batch_id = b.id WHERE b.product = p.id AND a.enterprise_id = ?2)",
            "p.owner_province = ?2 OR EXISTS (SELECT 1 FROM batches b JOIN batch_access a ON a.batch_id = b.id WHERE b.product = p.id AND a.province = ?2)",
            "?2",
        );
        let id = product.to_string();
        self.read(move |c| {
            let sql = format!("SELECT 1 FROM products p WHERE p.id = ?1 AND ({w})");
            let arg = arg.unwrap_or_default();
            Ok(c.prepare_cached(&sql)?
                .query_row(params![id, arg], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn attachment_visible(&self, scope: &Scope, sha256: &str) -> Result<bool> {
        let (w, arg) = scope_sql(scope, "a.enterprise_id = ?2", "a.province = ?2", "?2");
        let h = sha256.to_ascii_lowercase();
        self.read(move |c| {
            let sql = format!(
                "SELECT 1 FROM documents d JOIN batch_access a ON a.batch_id = d.batch_id WHERE d.attachment = ?1 AND ({w}) LIMIT 1"
            );
            let arg = arg.unwrap_or_default();
            Ok(c.prepare_cached(&sql)?.query_row(params![h, arg], |_| Ok(())).optional()?.is_some())
        })
        .await
    }

    async fn documents_of(&self, batch: Uuid) -> Result<Vec<Stored<Document>>> {
        let b = batch.to_string();
        self.read(move |c| {
            list_stored(
                c,
                "documents",
                "t.batch_id = ?3",
                &[&b],
                Page {
                    after: 0,
                    limit: 10_000,
                },
            )
        })
        .await
    }

    async fn document(&self, id: Uuid) -> Result<Option<Stored<Document>>> {
        self.read(move |c| get_stored(c, "documents", &id.to_string()))
            .await
    }

    async fn movement(&self, id: Uuid) -> Result<Option<Stored<Movement>>> {
        self.read(move |c| get_stored(c, "movements", &id.to_string()))
            .await
    }

    async fn movements(
        &self,
        scope: &Scope,
        filter: &MovementFilter,
        page: Page,
    ) -> Result<Vec<Stored<Movement>>> {
        let (w, arg) = scope_sql(scope, "t.holder = ?3", "t.holder_province = ?3", "?3");
        let w = format!(
            "({w}) AND (?4 IS NULL OR t.batch_id = ?4 OR t.seq IN (SELECT movement_seq FROM movement_lines WHERE batch_id = ?4))
             AND (?5 IS NULL OR t.holder = ?5)"
        );
        let batch = filter.batch.map(|b| b.to_string());
        let holder = filter.holder.map(|h| h.to_string());
        let arg = arg.unwrap_or_default();
        self.read(move |c| list_stored(c, "movements", &w, &[&arg, &batch, &holder], page))
            .await
    }

    async fn create_credential(&self, cr: Credential) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO credentials (id, key_hash, role, enterprise_id, province, label, revoked, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                cr.id.to_string(),
                cr.key_hash,
                cr.role.as_str(),
                cr.enterprise.map(|e| e.to_string()),
                cr.province.as_ref().map(|p| p.as_str().to_string()),
                cr.label,
                cr.revoked,
                now_ms()
            ])?;
            Ok(())
        })
        .await
    }

    async fn credential_by_hash(&self, key_hash: &str) -> Result<Option<Credential>> {
        let h = key_hash.to_string();
        self.read(move |c| {
            let row: Option<(String, String, String, Option<String>, Option<String>, String, bool)> = c
                .prepare_cached(
                    "SELECT id, key_hash, role, enterprise_id, province, label, revoked FROM credentials WHERE key_hash = ?1",
                )?
                .query_row([h], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
                .optional()?;
            let Some((id, key_hash, role, ent, prov, label, revoked)) = row else { return Ok(None) };
            Ok(Some(Credential {
                id: parse_uuid(&id)?,
                key_hash,
                role: Role::parse(&role).map_err(StoreError::Task)?,
                enterprise: ent.map(|e| parse_uuid(&e)).transpose()?,
                province: prov.map(|p| ProvinceCode::parse(&p).map_err(|e| StoreError::Task(e.to_string()))).transpose()?,
                label,
                revoked,
            }))
        })
        .await
    }

    async fn stats(&self, scope: &Scope) -> Result<Stats> {
        let scope = scope.clone();
        self.read(move |c| {
            let count = |sql: &str, arg: Option<&str>| -> Result<u64> {
                let n: i64 = match arg {
                    Some(a) => c.prepare_cached(sql)?.query_row([a], |r| r.get(0))?,
                    None => c.prepare_cached(sql)?.query_row([], |r| r.get(0))?,
                };
                Ok(n as u64)
            };
            Ok(match &scope {
                Scope::Nothing => Stats::default(),
                Scope::All => Stats {
                    enterprises: count("SELECT COUNT(*) FROM enterprises", None)?,
                    products: count("SELECT COUNT(*) FROM products", None)?,
                    batches: count("SELECT COUNT(*) FROM batches", None)?,
                    documents: count("SELECT COUNT(*) FROM documents", None)?,
                    movements: count("SELECT COUNT(*) FROM movements", None)?,
                    trace_codes: count("SELECT COUNT(*) FROM trace_codes", None)?,
                },
                Scope::Province(p) => {
                    let p = Some(p.as_str());
                    Stats {
                        enterprises: count("SELECT COUNT(*) FROM enterprises WHERE province = ?1", p)?,
                        products: count("SELECT COUNT(*) FROM products WHERE owner_province = ?1", p)?,
                        batches: count("SELECT COUNT(DISTINCT batch_id) FROM batch_access WHERE province = ?1", p)?,
                        documents: count(
                            "SELECT COUNT(*) FROM documents d WHERE EXISTS (SELECT 1 FROM batch_access a WHERE a.batch_id = d.batch_id AND a.province = ?1)",
                            p,
                        )?,
                        movements: count("SELECT COUNT(*) FROM movements WHERE holder_province = ?1", p)?,
                        trace_codes: 0,
                    }
                }
                Scope::Enterprise(e) => {
                    let e = e.to_string();
                    let e = Some(e.as_str());
                    Stats {
                        enterprises: 1,
                        products: count("SELECT COUNT(*) FROM products WHERE owner = ?1", e)?,
                        batches: count("SELECT COUNT(*) FROM batch_access WHERE enterprise_id = ?1", e)?,
                        documents: count("SELECT COUNT(*) FROM documents WHERE owner = ?1", e)?,
                        movements: count("SELECT COUNT(*) FROM movements WHERE holder = ?1", e)?,
                        trace_codes: 0,
                    }
                }
            })
        })
        .await
    }

    async fn flows(&self, after: u64, limit: u32) -> Result<Vec<FlowRow>> {
        self.read(move |c| {
            let mut rows: Vec<FlowRow> = Vec::with_capacity(limit as usize);
            let mut stmt = c.prepare_cached(
                "SELECT seq, kind, holder_key, batch_id, counterparty_key, quantity_milli, at_ms, counterparty_name,
                        counterparty_uscc
                 FROM movements WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let mut q = stmt.query(params![after as i64, limit])?;
            let mut transforms: HashMap<u64, usize> = HashMap::new();
            while let Some(r) = q.next()? {
                let seq = r.get::<_, i64>(0)? as u64;
                let kind = MovementKind::parse(&r.get::<_, String>(1)?).map_err(StoreError::Task)?;
                let holder = uuid_col(r.get_ref(2)?)?;
                let batch = match r.get_ref(3)? {
                    rusqlite::types::ValueRef::Null => None,
                    v => Some(uuid_col(v)?),
                };
                let counterparty = match r.get_ref(4)? {
                    rusqlite::types::ValueRef::Null => None,
                    v => Some(uuid_col(v)?),
                };
                if kind == MovementKind::Transform {
                    transforms.insert(seq, rows.len());
                }
                rows.push(FlowRow {
                    flow: coldtrace_trace::Flow {
                        seq,
                        kind: flow_kind(kind),
                        holder,
                        batch,
                        counterparty,
                        quantity: r.get(5)?,
                        at_ms: r.get(6)?,
                        inputs: vec![],
                        outputs: vec![],
                    },
                    counterparty_name: r.get(7)?,
                    counterparty_uscc: r.get(8)?,
                });
            }
            if let (false, Some(first), Some(last)) = (transforms.is_empty(), rows.first(), rows.last()) {
                let mut stmt = c.prepare_cached(
                    "SELECT movement_seq, role, batch_id, quantity_milli FROM movement_lines
                     WHERE movement_seq >= ?1 AND movement_seq <= ?2",
                )?;
                let mut q = stmt.query(params![first.flow.seq as i64, last.flow.seq as i64])?;
                while let Some(r) = q.next()? {
                    let seq = r.get::<_, i64>(0)? as u64;
                    let Some(&i) = transforms.get(&seq) else { continue };
                    let line = (uuid_col(r.get_ref(2)?)?, r.get::<_, i64>(3)?);
                    if r.get::<_, String>(1)? == "in" {
                        rows[i].flow.inputs.push(line);
                    } else {
                        rows[i].flow.outputs.push(line);
                    }
                }
            }
            Ok(rows)
        })
        .await
    }

    async fn batch_summaries(&self, after: i64, limit: u32) -> Result<Vec<(i64, BatchSummary)>> {
        self.read(move |c| {
            let sql = format!("{BATCH_SUMMARY_SQL} WHERE b.seq > ?1 ORDER BY b.seq LIMIT ?2");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![after, limit], batch_summary_row)?;
            rows.map(|r| r.map_err(StoreError::from)).collect()
        })
        .await
    }

    async fn batch_summaries_of(&self, ids: Vec<Uuid>) -> Result<Vec<BatchSummary>> {
        self.read(move |c| {
            let sql = format!("{BATCH_SUMMARY_SQL} WHERE b.id = ?1");
            let mut stmt = c.prepare_cached(&sql)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some((_, s)) = stmt
                    .query_row([id.to_string()], batch_summary_row)
                    .optional()?
                {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn movements_by_seq(&self, seqs: Vec<u64>) -> Result<Vec<Stored<Movement>>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, body, recorded_at, (SELECT x.id FROM movements x WHERE x.corrects = t.id ORDER BY x.seq DESC LIMIT 1)
                 FROM movements t WHERE t.seq = ?1",
            )?;
            let mut out = Vec::with_capacity(seqs.len());
            for s in seqs {
                let row: Option<Row> = stmt
                    .query_row([s as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .optional()?;
                if let Some(row) = row {
                    out.push(to_stored(row)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn handlers_of(&self, seqs: Vec<u64>) -> Result<Vec<HandlerRow>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT movement_seq, person_key, name, id_no, phone FROM movement_handlers WHERE movement_seq = ?1",
            )?;
            let mut out = Vec::new();
            for s in seqs {
                let rows = stmt.query_map([s as i64], |r| {
                    Ok(HandlerRow {
                        movement_seq: r.get::<_, i64>(0)? as u64,
                        person_key: r.get(1)?,
                        name: r.get(2)?,
                        id_no: r.get(3)?,
                        phone: r.get(4)?,
                    })
                })?;
                for r in rows {
                    out.push(r?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn movements_of_person(&self, person_key: &str) -> Result<Vec<u64>> {
        let k = person_key.to_string();
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT movement_seq FROM movement_handlers WHERE person_key = ?1 ORDER BY movement_seq")?;
            let rows = stmt.query_map([k], |r| r.get::<_, i64>(0))?;
            rows.map(|r| Ok(r? as u64)).collect()
        })
        .await
    }

    async fn create_incident(&self, incident: coldtrace_domain::incident::Incident) -> Result<()> {
        let docking = self.inner.docking.get().is_some();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT INTO incidents (id, province, body, recorded_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                incident.id.to_string(),
                incident.province,
                serde_json::to_string(&incident)?,
                now_ms()
            ])?;
            if docking {
                crate::docking::emit_incident(&tx, &incident, now_ms())?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn append_incident_event(
        &self,
        incident: Uuid,
        by: String,
        event: coldtrace_domain::incident::IncidentEvent,
    ) -> Result<i64> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO incident_events (incident_id, by_subject, body, recorded_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![incident.to_string(), by, serde_json::to_string(&event)?, now_ms()])?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    async fn incident(&self, id: Uuid) -> Result<Option<IncidentRow>> {
        self.read(move |c| {
            let row: Option<(i64, String, i64)> = c
                .prepare_cached("SELECT seq, body, recorded_at FROM incidents WHERE id = ?1")?
                .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|r| incident_row(c, r)).transpose()
        })
        .await
    }

    async fn publish(&self, batch: Uuid, by: String) -> Result<bool> {
        self.write(move |c| {
            Ok(c.prepare_cached(
                "INSERT OR IGNORE INTO published (batch_id, by_subject, at_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![batch.to_string(), by, now_ms()])?
                == 1)
        })
        .await
    }

    async fn is_published(&self, batch: Uuid) -> Result<bool> {
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT 1 FROM published WHERE batch_id = ?1")?
                    .query_row([batch.to_string()], |_| Ok(()))
                    .optional()?
                    .is_some(),
            )
        })
        .await
    }

    async fn coverage(&self, scope: &Scope, since_ms: i64) -> Result<Vec<crate::Coverage>> {
        let (cond, arg) = scope_sql(&scope.clone(), "e.id = ?1", "e.province = ?1", "?1");
        self.read(move |c| {
            let sql = format!(
                "SELECT e.kind, COUNT(*),
                        SUM(EXISTS (SELECT 1 FROM movements m WHERE m.holder = e.id AND m.recorded_at >= ?2))
                 FROM enterprises e WHERE e.corrects IS NULL AND {cond} GROUP BY e.kind ORDER BY e.kind"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params![arg, since_ms], |r| {
                Ok(crate::Coverage {
                    kind: r.get(0)?,
                    enterprises: r.get::<_, i64>(1)? as u64,
                    reporting: r.get::<_, i64>(2)? as u64,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn codes_of(&self, batch: Uuid) -> Result<Vec<coldtrace_domain::docking::NativeCode>> {
        self.read(move |c| crate::docking::codes_of(c, batch)).await
    }

    async fn outbox_pending(&self, limit: u32) -> Result<Vec<coldtrace_domain::docking::Envelope>> {
        self.read(move |c| crate::docking::outbox_pending(c, limit))
            .await
    }

    async fn outbox_delivered(&self, upto: u64) -> Result<()> {
        self.write(move |c| crate::docking::outbox_delivered(c, upto))
            .await
    }

    async fn outbox_status(&self) -> Result<crate::OutboxStatus> {
        self.read(crate::docking::outbox_status).await
    }

    async fn record_notice(
        &self,
        notice: coldtrace_domain::docking::Notice,
        incident: Option<Uuid>,
    ) -> Result<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let added = crate::docking::record_notice(&tx, &notice, incident, now_ms())?;
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    async fn notice_cursor(&self) -> Result<u64> {
        self.read(crate::docking::notice_cursor).await
    }

    async fn received_notices(&self) -> Result<Vec<crate::NoticeInRow>> {
        self.read(crate::docking::received_notices).await
    }

    async fn ack_notice(
        &self,
        ack: coldtrace_domain::docking::NoticeAck,
    ) -> Result<crate::AckOutcome> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = crate::docking::ack_notice(&tx, &ack, now_ms())?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn accept_upload(
        &self,
        province: String,
        messages: Vec<coldtrace_domain::docking::Envelope>,
        assign_seq: bool,
    ) -> Result<crate::AcceptOutcome> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out =
                crate::docking::accept_upload(&tx, &province, &messages, assign_seq, now_ms())?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn inbox(&self, after: u64, limit: u32) -> Result<Vec<crate::InboxRow>> {
        self.read(move |c| crate::docking::inbox(c, after, limit))
            .await
    }

    async fn decide_link(&self, d: crate::LinkDecision) -> Result<()> {
        self.write(move |c| crate::docking::decide_link(c, &d))
            .await
    }

    async fn link_decisions(&self) -> Result<Vec<crate::LinkDecision>> {
        self.read(crate::docking::link_decisions).await
    }

    async fn put_notices(
        &self,
        notices: Vec<coldtrace_domain::docking::Notice>,
    ) -> Result<Vec<coldtrace_domain::docking::Notice>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = crate::docking::put_notices(&tx, &notices, now_ms())?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn notices_out(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<coldtrace_domain::docking::Notice>> {
        self.read(move |c| crate::docking::notices_out(c, province.as_deref(), after, limit))
            .await
    }

    async fn put_docking_client(
        &self,
        client_id: String,
        province: String,
        secret_hash: String,
    ) -> Result<()> {
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO docking_clients (client_id, province, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(client_id) DO UPDATE SET province = excluded.province, secret_hash = excluded.secret_hash",
            )?
            .execute(params![client_id, province, secret_hash, now_ms()])?;
            Ok(())
        })
        .await
    }

    async fn docking_client(&self, client_id: String) -> Result<Option<(String, String)>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT province, secret_hash FROM docking_clients WHERE client_id = ?1",
            )?
            .query_row([client_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
        .await
    }

    async fn incidents(&self) -> Result<Vec<IncidentRow>> {
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT seq, body, recorded_at FROM incidents ORDER BY seq DESC")?;
            let rows: Vec<(i64, String, i64)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter().map(|r| incident_row(c, r)).collect()
        })
        .await
    }
}

fn uuid_col(v: rusqlite::types::ValueRef<'_>) -> Result<Uuid> {
    let s = v.as_str().map_err(|e| StoreError::Task(e.to_string()))?;
    parse_uuid(s)
}

const BATCH_SUMMARY_SQL: &str = "SELECT b.seq, b.id, b.owner, b.batch_no, json_extract(b.body, '$.unit'),
        json_extract(p.body, '$.name'), json_extract(p.body, '$.category'), json_extract(p.body, '$.origin_country'),
        json_extract(p.body, '$.establishment_no'), json_extract(b.body, '$.declaration_no'),
        json_extract(b.body, '$.port_of_entry'), json_extract(b.body, '$.import_date')
     FROM batches b JOIN products p ON p.id = b.product";

fn batch_summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, BatchSummary)> {
    let id: String = r.get(1)?;
    let owner: String = r.get(2)?;
    Ok((
        r.get(0)?,
        BatchSummary {
            id: Uuid::parse_str(&id).unwrap_or_default(),
            owner: Uuid::parse_str(&owner).unwrap_or_default(),
            batch_no: r.get(3)?,
            unit: r.get(4)?,
            product: r.get(5)?,
            category: r.get(6)?,
            origin_country: r.get(7)?,
            establishment_no: r.get(8)?,
            declaration_no: r.get(9)?,
            port_of_entry: r.get(10)?,
            import_date: r.get(11)?,
        },
    ))
}

fn incident_row(
    c: &Connection,
    (seq, body, recorded_at_ms): (i64, String, i64),
) -> Result<IncidentRow> {
    let incident: coldtrace_domain::incident::Incident = serde_json::from_str(&body)?;
    let mut stmt = c.prepare_cached(
        "SELECT seq, by_subject, body, recorded_at FROM incident_events WHERE incident_id = ?1 ORDER BY seq",
    )?;
    let rows: Vec<(i64, String, String, i64)> = stmt
        .query_map([incident.id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let events = rows
        .into_iter()
        .map(|(s, by, b, at)| Ok((s, by, serde_json::from_str(&b)?, at)))
        .collect::<Result<Vec<_>>>()?;
    Ok(IncidentRow {
        seq,
        incident,
        recorded_at_ms,
        events,
    })
}
