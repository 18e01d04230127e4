//! Incidents and publication approvals.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::*;
use crate::{IncidentRow, Result};

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn create_incident(
        &self,
        incident: coldtrace_domain::incident::Incident,
        same_as: Option<String>,
    ) -> StoreResult<Uuid> {
        let docking = self.inner.docking.get().is_some();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(key) = &same_as {
                // An open incident (no closing event) of the same positive test stands.
                let standing: Option<String> = tx
                    .prepare_cached(
                        "SELECT i.id FROM incidents i WHERE i.dedupe = ?1 AND NOT EXISTS (
                            SELECT 1 FROM incident_events e WHERE e.incident_id = i.id
                            AND json_extract(e.body, '$.type') = 'closed')
                         ORDER BY i.seq LIMIT 1",
                    )?
                    .query_row([key], |r| r.get(0))
                    .optional()?;
                if let Some(id) = standing {
                    return parse_uuid(&id);
                }
            }
            tx.prepare_cached(
                "INSERT INTO incidents (id, province, body, recorded_at, dedupe) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                incident.id.to_string(),
                incident.province,
                serde_json::to_string(&incident)?,
                now_ms(),
                same_as
            ])?;
            crate::schema::index_incident(&tx, &incident)?;
            if docking {
                crate::docking::emit_incident(&tx, &incident, now_ms())?;
            }
            tx.commit()?;
            Ok(incident.id)
        })
        .await
    }

    async fn append_incident_event(
        &self,
        incident: Uuid,
        by: String,
        event: coldtrace_domain::incident::IncidentEvent,
    ) -> StoreResult<i64> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO incident_events (incident_id, by_subject, body, recorded_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![incident.to_string(), by, serde_json::to_string(&event)?, now_ms()])?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    async fn incident(&self, id: Uuid) -> StoreResult<Option<IncidentRow>> {
        self.read(move |c| {
            let row: Option<(i64, String, i64)> = c
                .prepare_cached("SELECT seq, body, recorded_at FROM incidents WHERE id = ?1")?
                .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|r| incident_row(c, r)).transpose()
        })
        .await
    }

    async fn incidents_of_batch(&self, batch: Uuid) -> StoreResult<Vec<IncidentRow>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT i.seq, i.body, i.recorded_at FROM incident_batches ib
                 JOIN incidents i ON i.id = ib.incident_id WHERE ib.batch_id = ?1 ORDER BY i.seq DESC",
            )?;
            let rows: Vec<(i64, String, i64)> = stmt
                .query_map([batch.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter().map(|r| incident_row(c, r)).collect()
        })
        .await
    }

    async fn incidents(&self) -> StoreResult<Vec<IncidentRow>> {
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

#[async_trait]
impl PublicationStore for SqliteStore {
    async fn publish(&self, batch: Uuid, by: String) -> StoreResult<bool> {
        self.write(move |c| {
            Ok(c.prepare_cached(
                "INSERT OR IGNORE INTO published (batch_id, by_subject, at_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![batch.to_string(), by, now_ms()])?
                == 1)
        })
        .await
    }

    async fn withdraw(&self, batch: Uuid) -> StoreResult<bool> {
        self.write(move |c| {
            Ok(
                c.prepare_cached("DELETE FROM published WHERE batch_id = ?1")?
                    .execute([batch.to_string()])?
                    == 1,
            )
        })
        .await
    }

    async fn is_published(&self, batch: Uuid) -> StoreResult<bool> {
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
