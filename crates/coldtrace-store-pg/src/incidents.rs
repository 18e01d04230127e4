//! Incidents (疫情事件) on PostgreSQL: registered once, their history appended, the batches each implicates
//! indexed for the batch page.

use async_trait::async_trait;
use coldtrace_domain::incident::{Incident, IncidentEvent};
use coldtrace_store::{IncidentRow, IncidentStore};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::{Error, PgStore, Result, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

fn unreadable(e: serde_json::Error) -> Error {
    Error::Unreadable(format!("stored incident: {e}"))
}

/// An incident with its history.
async fn incident_row(c: &impl GenericClient, r: &tokio_postgres::Row) -> Result<IncidentRow> {
    let incident: Incident = serde_json::from_str(r.get(1)).map_err(unreadable)?;
    let events = c
        .query(
            "SELECT seq, by_subject, body, recorded_at FROM incident_events WHERE incident_id = $1
             ORDER BY seq",
            &[&incident.id],
        )
        .await?
        .iter()
        .map(|e| {
            Ok((
                e.get(0),
                e.get(1),
                serde_json::from_str(e.get(2)).map_err(unreadable)?,
                e.get(3),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(IncidentRow {
        seq: r.get(0),
        incident,
        recorded_at_ms: r.get(2),
        events,
    })
}

/// The event's type as its JSON names it (`closed`, `task_update`, …).
fn kind_of(e: &IncidentEvent) -> Result<String> {
    let v = serde_json::to_value(e).map_err(unreadable)?;
    Ok(v.get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_string())
}

#[async_trait]
impl IncidentStore for PgStore {
    async fn create_incident(
        &self,
        incident: Incident,
        same_as: Option<String>,
    ) -> StoreResult<Uuid> {
        let mut w = self.writer().await?;
        // The submission lock: two registrations of the same test decide one after the other, and the docking
        // report takes its outbox place in commit order.
        let tx = crate::begin_locked(&mut w.client).await?;
        if let Some(key) = &same_as {
            // An open incident (no closing event) of the same positive test stands.
            let standing = tx
                .query_opt(
                    "SELECT i.id FROM incidents i WHERE i.dedupe = $1 AND NOT EXISTS (
                        SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'closed')
                     ORDER BY i.seq LIMIT 1",
                    &[key],
                )
                .await
                .map_err(Error::from)?;
            if let Some(r) = standing {
                return Ok(r.get(0));
            }
        }
        let body = serde_json::to_string(&incident).map_err(unreadable)?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO incidents (id, province, body, recorded_at, dedupe) VALUES ($1, $2, $3, $4, $5)",
            &[&incident.id, &incident.province, &body, &now, &same_as],
        )
        .await
        .map_err(Error::from)?;
        let batches: Vec<Uuid> = incident
            .seeds
            .iter()
            .chain(incident.tasks.iter().map(|t| &t.batch))
            .copied()
            .collect();
        tx.execute(
            "INSERT INTO incident_batches (batch_id, incident_id) SELECT b, $2 FROM unnest($1::UUID[]) AS b
             ON CONFLICT DO NOTHING",
            &[&batches, &incident.id],
        )
        .await
        .map_err(Error::from)?;
        if self.docking.get().is_some()
            && let Some(m) = coldtrace_store::report::incident_report(&incident)
        {
            crate::outbox::push(&*tx, now, m).await?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(incident.id)
    }

    async fn append_incident_event(
        &self,
        incident: Uuid,
        by: String,
        event: IncidentEvent,
    ) -> StoreResult<i64> {
        let c = self.client().await?;
        let body = serde_json::to_string(&event).map_err(unreadable)?;
        Ok(c.query_one(
            "INSERT INTO incident_events (incident_id, by_subject, body, kind, recorded_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING seq",
            &[&incident, &by, &body, &kind_of(&event)?, &now_ms()],
        )
        .await
        .map_err(Error::from)?
        .get(0))
    }

    async fn incident(&self, id: Uuid) -> StoreResult<Option<IncidentRow>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT seq, body, recorded_at FROM incidents WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(Error::from)?;
        Ok(match row {
            Some(r) => Some(incident_row(&**c, &r).await?),
            None => None,
        })
    }

    async fn incidents(&self) -> StoreResult<Vec<IncidentRow>> {
        let c = self.client().await?;
        let mut out = Vec::new();
        for r in c
            .query(
                "SELECT seq, body, recorded_at FROM incidents ORDER BY seq DESC",
                &[],
            )
            .await
            .map_err(Error::from)?
        {
            out.push(incident_row(&**c, &r).await?);
        }
        Ok(out)
    }

    async fn incidents_of_batch(&self, batch: Uuid) -> StoreResult<Vec<IncidentRow>> {
        let c = self.client().await?;
        let mut out = Vec::new();
        for r in c
            .query(
                "SELECT i.seq, i.body, i.recorded_at FROM incident_batches ib
                 JOIN incidents i ON i.id = ib.incident_id WHERE ib.batch_id = $1 ORDER BY i.seq DESC",
                &[&batch],
            )
            .await
            .map_err(Error::from)?
        {
            out.push(incident_row(&**c, &r).await?);
        }
        Ok(out)
    }
}
