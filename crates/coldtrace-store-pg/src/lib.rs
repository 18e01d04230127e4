//! # coldtrace-store-pg
//!
//! The PostgreSQL store (PostgreSQL 存储): the same role traits as the embedded SQLite store, on a PostgreSQL
//! database, for a province or the nation that outgrows one SQLite file and for several platform nodes sharing
//! one database. Connections come from a `deadpool-postgres` pool over `tokio-postgres`; the schema is applied
//! by numbered migrations (`schema`), each once, under an advisory lock, so that nodes starting together do not
//! race.
//!
//! Every role trait is implemented, so a `PgStore` is a [`Store`](coldtrace_store::Store) and
//! `coldtrace serve --store postgresql://…` runs the platform on it. Submissions go through the shared writer
//! (`coldtrace_store::writer`), answered from this store's tables by `ledger.rs`; the conformance suite
//! (`coldtrace_store::conformance`) and the HTTP integration suite run on this store as on the SQLite store.
//!
//! Records, findings and the outbox are written under one transaction-scoped advisory lock (the submission
//! lock), so that movement and outbox sequence numbers are given in commit order: a node following either by
//! sequence number never passes a row that is yet to commit.
//!
//! **Invariant:** every write is one transaction; a returned `Ok` is committed (PostgreSQL's
//! `synchronous_commit` is left on).

mod audit;
mod census;
mod contacts;
mod credentials;
mod customs;
mod epcis;
mod feed;
mod findings;
mod inbox;
mod incidents;
mod ledger;
mod listen;
mod outbox;
mod publications;
mod records;
mod schema;
mod sensor;
mod settings;
mod staff;

use coldtrace_store::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;

use uuid::Uuid;

/// The newest schema this release migrates to.
pub const LATEST_SCHEMA: i32 = schema::LATEST;

/// Connections a store keeps open at most.
pub const POOL_SIZE: usize = 16;

/// What went wrong inside this store; callers see [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("PostgreSQL: {0}")]
    Pg(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("{0}")]
    Config(String),
    /// A stored value this release cannot read (a role or province code it does not know).
    #[error("stored value unreadable: {0}")]
    Unreadable(String),
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    store_id: Uuid,
    /// How to open the connection that listens for other nodes' writes, and the schema whose writes count.
    config: tokio_postgres::Config,
    schema: String,
    /// Woken by the listener once it runs (started by the first wait).
    changes: Arc<std::sync::OnceLock<Arc<listen::Wakers>>>,
    /// Set on a provincial platform that docks to the national platform: submissions then also write their
    /// docking messages (and issue the platform's codes) in the same transaction.
    docking: Arc<std::sync::OnceLock<coldtrace_store::DockingConfig>>,
    /// This node's turn for the submission lock (see [`PgStore::writer`]).
    write_turn: Arc<tokio::sync::Mutex<()>>,
    /// Warnings about the server's settings, read when the store opened.
    server_advice: Vec<String>,
}

/// A connection and this node's turn for the submission lock.
pub(crate) struct Writer {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    pub(crate) client: deadpool_postgres::Object,
}

/// Begins a transaction that writes records, findings or the outbox: read committed whatever the database's
/// default (each statement sees what committed before it, the previous holder's writes included, so the next
/// sequence number is read after the lock is granted), holding the submission lock.
pub(crate) async fn begin_locked(
    c: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>> {
    let tx = c
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.execute(ledger::SUBMIT_LOCK, &[]).await?;
    Ok(tx)
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("store_id", &self.store_id)
            .finish()
    }
}

/// Whether `name` may name a schema as written (lowercase letters, digits and `_`, not starting with a digit).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

impl PgStore {
    /// Connects to the database at `url` (`postgresql://user@host:port/db`), in its default schema, and brings
    /// the schema up to this release.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(url, None).await
    }

    /// The same in schema `schema` of that database (made when missing): one database can hold several
    /// platforms' stores, and each test its own.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self> {
        if !plain_name(schema) {
            return Err(Error::Config(format!(
                "schema {schema:?}: use lowercase letters, digits and _ only, not starting with a digit"
            )));
        }
        Self::open(url, Some(schema)).await
    }

    async fn open(url: &str, schema: Option<&str>) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Config(format!("{url}: {e}")))?;
        if let Some(s) = schema {
            let (mut client, conn) = config.connect(tokio_postgres::NoTls).await?;
            let task = tokio::spawn(conn);
            // Nodes creating the same new schema at once wait for each other instead of colliding.
            let tx = client.transaction().await?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('coldtrace:create-schema')::bigint)",
                &[],
            )
            .await?;
            let exists = tx
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&s])
                .await?
                .is_some();
            if !exists {
                tx.batch_execute(&format!("CREATE SCHEMA \"{s}\"")).await?;
            }
            tx.commit().await?;
            drop(client);
            let _ = task.await;
            // Added to any options the URL gave.
            let options = match config.get_options() {
                Some(o) if !o.trim().is_empty() => format!("{o} -c search_path=\"{s}\""),
                _ => format!("-c search_path=\"{s}\""),
            };
            config.options(options);
        }
        // Statements are prepared once per connection and planned once, generically: a statement over the
        // tables partitioned by province, planned anew for each execution's values, spends up to tens of
        // milliseconds planning every partition (34 ms for the stale-report check's statement at 600,000
        // movements, `EXPLAIN ANALYZE`), more than it takes to run; the generic plan prunes at execution instead.
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c plan_cache_mode=force_generic_plan"),
            _ => "-c plan_cache_mode=force_generic_plan".to_string(),
        };
        config.options(options);
        let listen_config = config.clone();
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        let mut client = pool.get().await?;
        let store_id = schema::migrate(&mut client).await?;
        let schema: String = client
            .query_one("SELECT current_schema()", &[])
            .await?
            .get(0);
        // Advice only: a server that does not let this role read its settings still serves the store.
        let server_advice = Self::read_server_advice(&client).await.unwrap_or_else(|e| {
            tracing::warn!("PostgreSQL: the server's settings could not be read: {e}");
            Vec::new()
        });
        for a in &server_advice {
            tracing::warn!("PostgreSQL: {a}");
        }
        Ok(Self {
            pool,
            store_id,
            config: listen_config,
            schema,
            changes: Default::default(),
            docking: Default::default(),
            write_turn: Default::default(),
            server_advice,
        })
    }

    /// What the server's settings mean for this store as it grows (`settings::advice`), read when it opened
    /// and logged then as warnings: empty when nothing is amiss.
    pub fn server_advice(&self) -> &[String] {
        &self.server_advice
    }

    /// The server's settings that [`settings::advice`] reads, and its advice.
    async fn read_server_advice(client: &tokio_postgres::Client) -> Result<Vec<String>> {
        let rows = client
            .query(
                "SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
                &[&settings::READ],
            )
            .await?;
        Ok(settings::advice(rows.iter().map(|r| (r.get(0), r.get(1)))))
    }

    /// Makes submissions write their docking messages to the national platform (once; later calls change
    /// nothing).
    pub fn enable_docking(&self, cfg: coldtrace_store::DockingConfig) {
        let _ = self.docking.set(cfg);
    }

    /// Made once when the store's schema is created.
    pub fn store_id(&self) -> Uuid {
        self.store_id
    }

    /// The schema version this store stands at.
    pub async fn schema_version(&self) -> Result<i32> {
        let c = self.pool.get().await?;
        Ok(c.query_one(
            "SELECT COALESCE(MAX(version), 0) FROM coldtrace_migrations",
            &[],
        )
        .await?
        .get(0))
    }

    /// Waits for another node's write to this store's schema (a notification), or `within`.
    pub(crate) async fn changed(&self, channel: listen::Channel, within: std::time::Duration) {
        let wake = self.changes.get_or_init(|| {
            let wake = Arc::new(listen::Wakers::default());
            listen::spawn(self.config.clone(), self.schema.clone(), wake.clone());
            wake
        });
        let _ = tokio::time::timeout(within, wake.of(channel).notified()).await;
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// A connection for a write that takes the submission lock, with this node's turn for it: one such write per
    /// node waits on the lock at a time, so writers queued behind a long submission never hold the pool's
    /// connections away from reads.
    pub(crate) async fn writer(&self) -> Result<Writer> {
        let turn = self.write_turn.clone().lock_owned().await;
        Ok(Writer {
            _turn: turn,
            client: self.pool.get().await?,
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
