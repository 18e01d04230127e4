//! The audit trail in SQLite: one row per entry, chained inside the appending transaction.

use async_trait::async_trait;
use coldtrace_store::AuditStore;
use coldtrace_store::audit::{AuditEntry, AuditEvent, GENESIS, link};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::{SqliteStore, StoreResult};

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
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
CREATE INDEX IF NOT EXISTS audit_province ON audit(province, seq);
"#;

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get::<_, i64>(0)? as u64,
        event: AuditEvent {
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            province: r.get(4)?,
            action: r.get(5)?,
            object: r.get(6)?,
            outcome: r.get::<_, i64>(7)? as u16,
            purpose: r.get(8)?,
        },
        prev: r.get(9)?,
        hash: r.get(10)?,
    })
}

const COLUMNS: &str =
    "seq, at_ms, actor, role, province, action, object, outcome, purpose, prev, hash";

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Option<AuditEntry>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let tail: Option<(i64, String)> = tx
                .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let (mut seq, mut prev) = tail
                .map(|(s, h)| (s as u64, h))
                .unwrap_or((0, GENESIS.to_string()));
            let mut last = None;
            for e in events {
                seq += 1;
                let hash = link(&prev, seq, &e);
                tx.prepare_cached(
                    "INSERT INTO audit (seq, at_ms, actor, role, province, action, object, outcome, purpose, prev, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    seq as i64,
                    e.at_ms,
                    e.actor,
                    e.role,
                    e.province,
                    e.action,
                    e.object,
                    e.outcome as i64,
                    e.purpose,
                    prev,
                    hash
                ])?;
                last = Some(AuditEntry {
                    seq,
                    event: e,
                    prev: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                });
            }
            tx.commit()?;
            Ok(last)
        })
        .await
    }

    async fn audit_entries(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit WHERE seq > ?1 AND (?2 IS NULL OR province = ?2) ORDER BY seq LIMIT ?3"
            );
            let rows = c
                .prepare_cached(&sql)?
                .query_map(params![after as i64, province, limit], entry)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
