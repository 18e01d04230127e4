//! The EPCIS event repository on PostgreSQL: capture jobs (with their document until they finish), events, and
//! the identifier index the standard queries use.

use async_trait::async_trait;
use coldtrace_store::epcis::{
    CaptureJob, ErrorBehaviour, EventFilter, JobError, NewEvent, StoredEvent,
};
use coldtrace_store::{EpcisStore, Scope};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{Error, PgStore, Result};

type StoreResult<T> = coldtrace_store::Result<T>;

fn unreadable(e: serde_json::Error) -> Error {
    Error::Unreadable(format!("stored capture job: {e}"))
}

async fn job_at(c: &impl GenericClient, id: Uuid) -> Result<Option<CaptureJob>> {
    let Some(r) = c
        .query_opt(
            "SELECT enterprise, behaviour, created_at, finished_at, success, captured, duplicates, errors, notes
             FROM epcis_jobs WHERE id = $1",
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(CaptureJob {
        id,
        enterprise: r.get(0),
        behaviour: ErrorBehaviour::from_stored(r.get(1)),
        created_ms: r.get(2),
        finished_ms: r.get(3),
        success: r.get(4),
        captured: r.get::<_, i64>(5) as u64,
        duplicates: r.get::<_, i64>(6) as u64,
        errors: serde_json::from_str::<Vec<JobError>>(r.get(7)).map_err(unreadable)?,
        notes: serde_json::from_str::<Vec<JobError>>(r.get(8)).map_err(unreadable)?,
    }))
}

#[async_trait]
impl EpcisStore for PgStore {
    async fn create_capture_job(
        &self,
        id: Uuid,
        enterprise: Uuid,
        behaviour: ErrorBehaviour,
        document: String,
        now_ms: i64,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO epcis_jobs (id, enterprise, behaviour, created_at, document) VALUES ($1, $2, $3, $4, $5)",
            &[&id, &enterprise, &behaviour.as_str(), &now_ms, &document],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn unfinished_capture_jobs(
        &self,
    ) -> StoreResult<Vec<(Uuid, Uuid, ErrorBehaviour, String)>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT id, enterprise, behaviour, document FROM epcis_jobs
             WHERE finished_at IS NULL ORDER BY created_at",
            &[],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                ErrorBehaviour::from_stored(r.get(2)),
                r.get(3),
            )
        })
        .collect())
    }

    async fn finish_capture_job(
        &self,
        id: Uuid,
        events: Vec<NewEvent>,
        errors: Vec<JobError>,
        notes: Vec<JobError>,
        now_ms: i64,
    ) -> StoreResult<CaptureJob> {
        // Under the submission lock: captures store one after the other, so duplicates are decided against what
        // the other stored and event numbers follow commit order (a reader paging by number never skips one).
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        let r = tx
            .query_one(
                "SELECT enterprise, behaviour, finished_at FROM epcis_jobs WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(Error::from)?;
        let (enterprise, behaviour): (Uuid, String) = (r.get(0), r.get(1));
        if r.get::<_, Option<i64>>(2).is_some() {
            // Another node finished it (both resumed it after a restart): its report stands.
            return Ok(job_at(&*tx, id)
                .await?
                .ok_or_else(|| Error::Unreadable(format!("capture job {id} vanished")))?);
        }
        let province: String = tx
            .query_opt(
                "SELECT province FROM enterprises WHERE id = $1",
                &[&enterprise],
            )
            .await
            .map_err(Error::from)?
            .map(|r| r.get(0))
            .unwrap_or_default();
        let store =
            errors.is_empty() || ErrorBehaviour::from_stored(&behaviour) == ErrorBehaviour::Proceed;
        let (mut captured, mut duplicates) = (0i64, 0i64);
        if store {
            for e in &events {
                let seen = tx
                    .query_opt(
                        "SELECT 1 FROM epcis_events WHERE enterprise = $1 AND (hash = $2 OR event_id = $3)",
                        &[&enterprise, &e.hash, &e.event_id],
                    )
                    .await
                    .map_err(Error::from)?
                    .is_some();
                if seen {
                    duplicates += 1;
                    continue;
                }
                let seq: i64 = tx
                    .query_one(
                        "INSERT INTO epcis_events (enterprise, province, job, hash, event_id, kind, event_time,
                            record_time, action, biz_step, disposition, read_point, biz_location, body)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING seq",
                        &[
                            &enterprise,
                            &province,
                            &id,
                            &e.hash,
                            &e.event_id,
                            &e.kind,
                            &e.event_time_ms,
                            &now_ms,
                            &e.action,
                            &e.biz_step,
                            &e.disposition,
                            &e.read_point,
                            &e.biz_location,
                            &e.body,
                        ],
                    )
                    .await
                    .map_err(Error::from)?
                    .get(0);
                for (role, key) in &e.ids {
                    tx.execute(
                        "INSERT INTO epcis_ids (key, role, event) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        &[key, role, &seq],
                    )
                    .await
                    .map_err(Error::from)?;
                }
                captured += 1;
            }
        }
        let json = |v: &Vec<JobError>| serde_json::to_string(v).map_err(unreadable);
        tx.execute(
            "UPDATE epcis_jobs SET finished_at = $2, success = $3, captured = $4, duplicates = $5, errors = $6,
                notes = $7, document = NULL WHERE id = $1",
            &[
                &id,
                &now_ms,
                &errors.is_empty(),
                &captured,
                &duplicates,
                &json(&errors)?,
                &json(&notes)?,
            ],
        )
        .await
        .map_err(Error::from)?;
        let job = job_at(&*tx, id)
            .await?
            .ok_or_else(|| Error::Unreadable(format!("capture job {id} vanished")))?;
        tx.commit().await.map_err(Error::from)?;
        Ok(job)
    }

    async fn capture_job(&self, id: Uuid) -> StoreResult<Option<CaptureJob>> {
        let c = self.client().await?;
        Ok(job_at(&**c, id).await?)
    }

    async fn epcis_children(&self, parent: &str) -> StoreResult<Vec<(String, Uuid)>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT DISTINCT k.key, e.enterprise FROM epcis_ids p
             JOIN epcis_events e ON e.seq = p.event
             JOIN epcis_ids k ON k.event = p.event AND k.role IN ('child', 'child_class')
             WHERE p.key = $1 AND p.role = 'parent' AND e.kind = 'AggregationEvent'
               AND e.action IN ('ADD', 'OBSERVE')
             ORDER BY k.key COLLATE \"C\" LIMIT 10000",
            &[&parent],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
    }

    async fn epcis_events(&self, scope: Scope, f: EventFilter) -> StoreResult<Vec<StoredEvent>> {
        let mut cond: Vec<String> = Vec::new();
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let arg = |v: Box<dyn ToSql + Sync + Send>,
                   args: &mut Vec<Box<dyn ToSql + Sync + Send>>| {
            args.push(v);
            format!("${}", args.len())
        };
        match &scope {
            Scope::Enterprise(e) => {
                let a = arg(Box::new(*e), &mut args);
                cond.push(format!("enterprise = {a}"));
            }
            Scope::Province(p) => {
                let a = arg(Box::new(p.as_str().to_string()), &mut args);
                cond.push(format!("province = {a}"));
            }
            Scope::All => {}
            Scope::Nothing => return Ok(vec![]),
        }
        for (col, values) in [
            ("kind", &f.kinds),
            ("action", &f.actions),
            ("biz_step", &f.biz_steps),
            ("disposition", &f.dispositions),
            ("biz_location", &f.biz_locations),
            ("read_point", &f.read_points),
        ] {
            if !values.is_empty() {
                let a = arg(Box::new(values.clone()), &mut args);
                cond.push(format!("{col} = ANY({a})"));
            }
        }
        for (col, op, v) in [
            ("event_time", ">=", f.ge_event_time),
            ("event_time", "<", f.lt_event_time),
            ("record_time", ">=", f.ge_record_time),
            ("record_time", "<", f.lt_record_time),
        ] {
            if let Some(v) = v {
                let a = arg(Box::new(v), &mut args);
                cond.push(format!("{col} {op} {a}"));
            }
        }
        for (roles, keys) in &f.ids {
            let roles = arg(Box::new(roles.clone()), &mut args);
            let mut alts = Vec::new();
            for k in keys {
                let a = arg(Box::new(k.key.clone()), &mut args);
                if k.prefix {
                    // A class-level key also matches its instances (`key/serial`).
                    let p = arg(Box::new(format!("{}/", k.key)), &mut args);
                    alts.push(format!("key = {a} OR starts_with(key, {p})"));
                } else {
                    alts.push(format!("key = {a}"));
                }
            }
            cond.push(format!(
                "seq IN (SELECT event FROM epcis_ids WHERE role = ANY({roles}) AND ({}))",
                alts.join(" OR ")
            ));
        }
        if let Some(after) = f.after {
            let a = arg(Box::new(after), &mut args);
            cond.push(format!("seq {} {a}", if f.descending { "<" } else { ">" }));
        }
        let sql = format!(
            "SELECT seq, enterprise, record_time, body FROM epcis_events {} ORDER BY seq {} LIMIT {}",
            if cond.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", cond.join(" AND "))
            },
            if f.descending { "DESC" } else { "ASC" },
            f.limit.max(1)
        );
        let refs: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let c = self.client().await?;
        Ok(c.query(&sql, &refs)
            .await
            .map_err(Error::from)?
            .iter()
            .map(|r| StoredEvent {
                seq: r.get(0),
                enterprise: r.get(1),
                record_time_ms: r.get(2),
                body: r.get(3),
            })
            .collect())
    }
}
