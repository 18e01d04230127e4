//! The audit trail in PostgreSQL: one row per entry, chained inside the appending transaction. Appends take a
//! transaction-scoped advisory lock, so that every node sharing the database extends one chain in one order.

use async_trait::async_trait;
use coldtrace_store::AuditStore;
use coldtrace_store::audit::{AuditEntry, AuditEvent, GENESIS, link};

use crate::PgStore;

type StoreResult<T> = coldtrace_store::Result<T>;

const COLUMNS: &str =
    "seq, at_ms, actor, role, province, action, object, outcome, purpose, prev, hash";

fn entry(r: &tokio_postgres::Row) -> AuditEntry {
    AuditEntry {
        seq: r.get::<_, i64>(0) as u64,
        event: AuditEvent {
            at_ms: r.get(1),
            actor: r.get(2),
            role: r.get(3),
            province: r.get(4),
            action: r.get(5),
            object: r.get(6),
            outcome: r.get::<_, i32>(7) as u16,
            purpose: r.get(8),
        },
        prev: r.get(9),
        hash: r.get(10),
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Option<AuditEntry>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(crate::Error::from)?;
        let run = async {
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('coldtrace:audit:' || current_schema())::bigint)",
                &[],
            )
            .await?;
            let tail = tx
                .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
                .await?;
            let (mut seq, mut prev) = tail
                .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1)))
                .unwrap_or((0, GENESIS.to_string()));
            let insert = tx
                .prepare(
                    "INSERT INTO audit (seq, at_ms, actor, role, province, action, object, outcome, purpose, prev, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .await?;
            let mut last = None;
            for e in events {
                seq += 1;
                let hash = link(&prev, seq, &e);
                tx.execute(
                    &insert,
                    &[
                        &(seq as i64),
                        &e.at_ms,
                        &e.actor,
                        &e.role,
                        &e.province,
                        &e.action,
                        &e.object,
                        &(e.outcome as i32),
                        &e.purpose,
                        &prev,
                        &hash,
                    ],
                )
                .await?;
                last = Some(AuditEntry {
                    seq,
                    event: e,
                    prev: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                });
            }
            Ok::<_, tokio_postgres::Error>(last)
        };
        let last = run.await.map_err(crate::Error::from)?;
        tx.commit().await.map_err(crate::Error::from)?;
        Ok(last)
    }

    async fn audit_entries(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM audit WHERE seq > $1 AND ($2::TEXT IS NULL OR province = $2)
                     ORDER BY seq LIMIT $3"
                ),
                &[&(after as i64), &province, &(limit as i64)],
            )
            .await
            .map_err(crate::Error::from)?;
        Ok(rows.iter().map(entry).collect())
    }
}
