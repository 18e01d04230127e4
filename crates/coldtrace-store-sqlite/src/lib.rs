//! # coldtrace-store-sqlite
//!
//! The embedded store: one SQLite file, WAL, `synchronous=FULL`, one writer and a few readers. It implements
//! every role trait of `coldtrace-store`; nothing above the store names SQLite except the places that open one
//! (the binary, the harness, tests).
//!
//! ## Layout
//! - [`schema`]: the tables and the schema version; `docking`: the outbox and inbox tables and their SQL.
//! - this file: the store handle, opening, connection plumbing, the crate's error (SQLite's errors stay inside:
//!   callers see `StoreError::Backend`) and the read helpers every role uses.
//! - `writer`: the submission transaction (references, corrections, idempotency, docking messages).
//! - one file per role trait group: `records`, `credentials`, `feed`, `incidents`, `docking_impl`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub(crate) use coldtrace_store::*;

mod audit;
pub mod backup;
mod census;
mod contacts;
mod credentials;
mod customs;
mod docking;
mod docking_impl;
mod epcis;
mod feed;
mod findings;
mod incidents;
mod ledger;
mod movements;
mod records;
pub mod schema;
mod sensor;
mod staff;

pub(crate) use coldtrace_store::writer::{encode, flow_kind};
use ledger::submit_blocking;
use schema::{SCHEMA, SCHEMA_VERSION};

/// An error inside this store: SQLite's own, or one of the store's. Converted to [`StoreError`] where a role
/// trait answers, so that SQLite's error type never leaves this crate.
#[derive(Debug)]
pub(crate) enum Error {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sql(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Store(StoreError::Corrupt(e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Store(StoreError::Io(e))
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Sql(e) => StoreError::Backend(Box::new(e)),
            Error::Store(e) => e,
        }
    }
}

/// Results inside this store.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// What a role trait answers.
pub(crate) type StoreResult<T> = coldtrace_store::Result<T>;

/// Runs a body that speaks this store's errors, answering the role traits' error.
pub(crate) fn run<T>(f: impl FnOnce() -> Result<T>) -> StoreResult<T> {
    f().map_err(Into::into)
}

/// The store file inside a data directory.
pub fn store_path(data: &Path) -> std::path::PathBuf {
    data.join("coldtrace.sqlite")
}

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
    // The submission transaction alone runs about a hundred distinct statements; with rusqlite's default of 16
    // cached, most were parsed again for every movement (a quarter of `gen`'s time in a profile).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 512;

impl SqliteStore {
    /// Opens (creating if needed) the store file at `path`.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Ok(Self::open_at(path.as_ref())?)
    }

    fn open_at(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            create_private_dir(dir)?;
        }
        let writer = open_conn(path)?;
        // The records hold personal data: only the platform's own account reads the file (and SQLite gives its
        // journal files the same mode).
        set_mode(path, 0o600)?;
        let version: i64 = writer.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let old_layout = movements::is_old_layout(&writer)?;
        if version < SCHEMA_VERSION || old_layout {
            crate::docking::migrate_inbox(&writer)?;
            // The rest of the upgrade is one transaction: a store is upgraded entirely or not at all.
            writer.execute_batch("BEGIN IMMEDIATE")?;
            // Version 26 is the lean movement layout: the old tables are set aside, the new ones created, and
            // every movement copied over with its seq.
            if old_layout {
                movements::set_aside_old_layout(&writer)?;
            }
            schema::add_missing_columns(&writer)?;
            writer.execute_batch(SCHEMA)?;
            writer.execute_batch(crate::docking::SCHEMA)?;
            writer.execute_batch(crate::audit::SCHEMA)?;
            writer.execute_batch(crate::census::SCHEMA)?;
            writer.execute_batch(crate::contacts::SCHEMA)?;
            writer.execute_batch(crate::staff::SCHEMA)?;
            writer.execute_batch(crate::epcis::SCHEMA)?;
            writer.execute_batch(crate::sensor::SCHEMA)?;
            if old_layout {
                let n = movements::convert_old_layout(&writer)?;
                tracing::info!(
                    movements = n,
                    "converted the movement table to the lean layout (schema 26)"
                );
            }
            // Version 14 added each lot's last movement (`last_at`).
            if version < 14 {
                schema::backfill_lot_stock(&writer)?;
            }
            // Version 24 keys GS1 codes by GS1's dictionary.
            if version > 0 && version < 24 {
                schema::rekey_gs1_codes(&writer)?;
            }
            // Version 16 indexed the batches each incident implicates.
            if version < 16 {
                schema::backfill_incident_batches(&writer)?;
            }
            writer.execute(
                "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('store_id', ?1)",
                [uuid::Uuid::new_v4().to_string()],
            )?;
            writer.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            writer.execute_batch("COMMIT")?;
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
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn).map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> StoreResult<T> {
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
            if let Err(Error::Sql(e)) = &r
                && is_durability_failure(e)
            {
                tracing::error!(error = %e, "commit failed; the store now refuses writes");
                *inner.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                return Err(StoreError::Unavailable(e.to_string()));
            }
            r.map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Creates the data directory readable by its owner only (0700).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
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
    Uuid::parse_str(s).map_err(|e| StoreError::Task(format!("stored id {s:?}: {e}")).into())
}
