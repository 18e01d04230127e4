//! The schema, as numbered migrations applied once each, in order, in one transaction under an advisory lock
//! (two nodes starting on a new database do not both create it). A database migrated by a newer release is
//! refused rather than written with older rules.

use uuid::Uuid;

use crate::{Error, Result, now_ms};

/// The migrations, in order. A released migration is never edited; a change is a new one.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE TABLE store_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_id UUID NOT NULL
);
INSERT INTO store_meta (id, store_id) VALUES (1, gen_random_uuid());

-- The audit trail: one row per entry, chained by hash inside the appending transaction.
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT,
    province TEXT,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome INTEGER NOT NULL,
    purpose TEXT,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_province ON audit (province, seq);

-- API keys (their SHA-256 only), console accounts, docking clients.
CREATE TABLE credentials (
    id UUID PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    enterprise_id UUID,
    province TEXT,
    label TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    account TEXT
);
CREATE INDEX credentials_account ON credentials (account) WHERE account IS NOT NULL;
CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    enterprise_id UUID,
    province TEXT,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE TABLE docking_clients (
    client_id TEXT PRIMARY KEY,
    province TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Batches a regulator approved for the public page.
CREATE TABLE published (
    batch_id UUID PRIMARY KEY,
    by_subject TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
"#,
    ),
    (
        2,
        r#"
-- The national inbox: every message accepted from every province, once. `gseq` is the acceptance order across
-- provinces; uploads are accepted under one lock, so gseq order is commit order and a node following the inbox
-- by gseq never passes a row that is not yet visible. Bodies are kept as the JSON text they were accepted as
-- (not JSONB, which refuses the \u0000 escape a province's text may carry).
CREATE TABLE inbox (
    gseq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    province TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (province, seq),
    UNIQUE (province, id)
);
CREATE TABLE link_decisions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    by_subject TEXT NOT NULL,
    note TEXT,
    at_ms BIGINT NOT NULL
);
-- Notices to deliver, in one order across provinces (stored under the same kind of lock as the inbox).
CREATE TABLE notices_out (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    province TEXT NOT NULL,
    incident UUID NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notices_out_province ON notices_out (province, seq);
"#,
    ),
    (
        3,
        r#"
-- The province contacts registry (省级联络名录): every version of every province's entry.
CREATE TABLE province_contacts (
    province TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (province, version)
);
"#,
    ),
];

/// The newest schema this release knows.
pub const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Applies the migrations the database lacks and answers the store's id.
pub(crate) async fn migrate(client: &mut deadpool_postgres::Object) -> Result<Uuid> {
    let tx = client.transaction().await?;
    // One lock per schema: stores in other schemas of the same database migrate independently.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('coldtrace:' || current_schema())::bigint)",
        &[],
    )
    .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS coldtrace_migrations (
            version INTEGER PRIMARY KEY,
            applied_at_ms BIGINT NOT NULL
        )",
    )
    .await?;
    let have: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM coldtrace_migrations",
            &[],
        )
        .await?
        .get(0);
    if have > LATEST {
        return Err(Error::Config(format!(
            "the database is at schema {have}, made by a newer coldtrace; this release knows up to {LATEST}"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > have) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO coldtrace_migrations (version, applied_at_ms) VALUES ($1, $2)",
            &[version, &now_ms()],
        )
        .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    let id: Uuid = tx
        .query_one("SELECT store_id FROM store_meta WHERE id = 1", &[])
        .await?
        .get(0);
    tx.commit().await?;
    Ok(id)
}
