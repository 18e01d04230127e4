//! The EPCIS event repository: capture jobs (with their document until they finish), events, and the identifier
//! index the standard queries use.

use async_trait::async_trait;
use coldtrace_store::epcis::{
    CaptureJob, ErrorBehaviour, EventFilter, JobError, NewEvent, StoredEvent,
};
use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::*;

pub(crate) const SCHEMA: &str = r#"
-- Capture jobs (EPCIS 捕获任务); the document is kept until the job finishes, so a restart runs it again.
CREATE TABLE IF NOT EXISTS epcis_jobs (
    id TEXT PRIMARY KEY,
    enterprise TEXT NOT NULL,
    behaviour TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    success INTEGER NOT NULL DEFAULT 0,
    captured INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]',
    document TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS epcis_jobs_unfinished ON epcis_jobs(created_at) WHERE finished_at IS NULL;
-- Events as sent, with what the queries filter on. One enterprise's event is stored once (by hash, by eventID).
CREATE TABLE IF NOT EXISTS epcis_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise TEXT NOT NULL,
    province TEXT NOT NULL,
    job TEXT NOT NULL,
    hash TEXT NOT NULL,
    event_id TEXT,
    kind TEXT NOT NULL,
    event_time INTEGER NOT NULL,
    record_time INTEGER NOT NULL,
    action TEXT,
    biz_step TEXT,
    disposition TEXT,
    read_point TEXT,
    biz_location TEXT,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS epcis_events_hash ON epcis_events(enterprise, hash);
CREATE UNIQUE INDEX IF NOT EXISTS epcis_events_id ON epcis_events(enterprise, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS epcis_events_province ON epcis_events(province, seq);
CREATE INDEX IF NOT EXISTS epcis_events_time ON epcis_events(event_time);
-- Every identifier an event names, by its canonical key (GS1 codes in any form share one key).
CREATE TABLE IF NOT EXISTS epcis_ids (
    key TEXT NOT NULL,
    role TEXT NOT NULL,
    event INTEGER NOT NULL,
    PRIMARY KEY (key, role, event)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS epcis_ids_event ON epcis_ids(event, role);
"#;

fn job_at(c: &rusqlite::Connection, id: Uuid) -> Result<Option<CaptureJob>> {
    let row = c
        .prepare_cached(
            "SELECT enterprise, behaviour, created_at, finished_at, success, captured, duplicates, errors, notes
             FROM epcis_jobs WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ))
        })
        .optional()?;
    let Some((e, b, created, finished, success, captured, duplicates, errors, notes)) = row else {
        return Ok(None);
    };
    Ok(Some(CaptureJob {
        id,
        enterprise: parse_uuid(&e)?,
        behaviour: ErrorBehaviour::from_stored(&b),
        created_ms: created,
        finished_ms: finished,
        success,
        captured: captured as u64,
        duplicates: duplicates as u64,
        errors: serde_json::from_str::<Vec<JobError>>(&errors)?,
        notes: serde_json::from_str::<Vec<JobError>>(&notes)?,
    }))
}

#[async_trait]
impl EpcisStore for SqliteStore {
    async fn create_capture_job(
        &self,
        id: Uuid,
        enterprise: Uuid,
        behaviour: ErrorBehaviour,
        document: String,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO epcis_jobs (id, enterprise, behaviour, created_at, document) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.to_string(), enterprise.to_string(), behaviour.as_str(), now_ms, document],
            )?;
            Ok(())
        })
        .await
    }

    async fn unfinished_capture_jobs(
        &self,
    ) -> StoreResult<Vec<(Uuid, Uuid, ErrorBehaviour, String)>> {
        self.read(|c| {
            let rows: Vec<(String, String, String, String)> = c
                .prepare(
                    "SELECT id, enterprise, behaviour, document FROM epcis_jobs
                     WHERE finished_at IS NULL ORDER BY created_at",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(id, e, b, d)| {
                    Ok((
                        parse_uuid(&id)?,
                        parse_uuid(&e)?,
                        ErrorBehaviour::from_stored(&b),
                        d,
                    ))
                })
                .collect()
        })
        .await
    }

    async fn finish_capture_job(
        &self,
        id: Uuid,
        events: Vec<NewEvent>,
        errors: Vec<JobError>,
        notes: Vec<JobError>,
        now_ms: i64,
    ) -> StoreResult<CaptureJob> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let (enterprise, behaviour): (String, String) = tx
                .prepare_cached("SELECT enterprise, behaviour FROM epcis_jobs WHERE id = ?1")?
                .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let province: String = tx
                .prepare_cached("SELECT province FROM enterprises WHERE id = ?1 ORDER BY seq LIMIT 1")?
                .query_row([&enterprise], |r| r.get(0))
                .optional()?
                .unwrap_or_default();
            let store = errors.is_empty() || ErrorBehaviour::from_stored(&behaviour) == ErrorBehaviour::Proceed;
            let (mut captured, mut duplicates) = (0i64, 0i64);
            if store {
                for e in &events {
                    let seen = tx
                        .prepare_cached(
                            "SELECT 1 FROM epcis_events WHERE enterprise = ?1 AND (hash = ?2 OR event_id = ?3)",
                        )?
                        .exists(params![enterprise, e.hash, e.event_id])?;
                    if seen {
                        duplicates += 1;
                        continue;
                    }
                    tx.prepare_cached(
                        "INSERT INTO epcis_events (enterprise, province, job, hash, event_id, kind, event_time,
                            record_time, action, biz_step, disposition, read_point, biz_location, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    )?
                    .execute(params![
                        enterprise,
                        province,
                        id.to_string(),
                        e.hash,
                        e.event_id,
                        e.kind,
                        e.event_time_ms,
                        now_ms,
                        e.action,
                        e.biz_step,
                        e.disposition,
                        e.read_point,
                        e.biz_location,
                        e.body
                    ])?;
                    let seq = tx.last_insert_rowid();
                    for (role, key) in &e.ids {
                        tx.prepare_cached("INSERT OR IGNORE INTO epcis_ids (key, role, event) VALUES (?1, ?2, ?3)")?
                            .execute(params![key, role, seq])?;
                    }
                    captured += 1;
                }
            }
            let success = errors.is_empty();
            tx.execute(
                "UPDATE epcis_jobs SET finished_at = ?2, success = ?3, captured = ?4, duplicates = ?5, errors = ?6,
                    notes = ?7, document = NULL WHERE id = ?1",
                params![
                    id.to_string(),
                    now_ms,
                    success,
                    captured,
                    duplicates,
                    serde_json::to_string(&errors)?,
                    serde_json::to_string(&notes)?
                ],
            )?;
            let job = job_at(&tx, id)?.expect("just written");
            tx.commit()?;
            Ok(job)
        })
        .await
    }

    async fn capture_job(&self, id: Uuid) -> StoreResult<Option<CaptureJob>> {
        self.read(move |c| job_at(c, id)).await
    }

    async fn epcis_children(&self, parent: &str) -> StoreResult<Vec<(String, Uuid)>> {
        let parent = parent.to_string();
        self.read(move |c| {
            let rows: Vec<(String, String)> = c
                .prepare_cached(
                    "SELECT DISTINCT k.key, e.enterprise FROM epcis_ids p
                     JOIN epcis_events e ON e.seq = p.event
                     JOIN epcis_ids k ON k.event = p.event AND k.role IN ('child', 'child_class')
                     WHERE p.key = ?1 AND p.role = 'parent' AND e.kind = 'AggregationEvent'
                       AND e.action IN ('ADD', 'OBSERVE')
                     ORDER BY k.key LIMIT 10000",
                )?
                .query_map([parent], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(k, e)| Ok((k, parse_uuid(&e)?)))
                .collect()
        })
        .await
    }

    async fn epcis_events(&self, scope: Scope, f: EventFilter) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |c| {
            let mut cond: Vec<String> = Vec::new();
            let mut args: Vec<Sql> = Vec::new();
            let arg = |v: Sql, args: &mut Vec<Sql>| {
                args.push(v);
                format!("?{}", args.len())
            };
            match &scope {
                Scope::Enterprise(e) => {
                    let a = arg(Sql::Text(e.to_string()), &mut args);
                    cond.push(format!("enterprise = {a}"));
                }
                Scope::Province(p) => {
                    let a = arg(Sql::Text(p.as_str().to_string()), &mut args);
                    cond.push(format!("province = {a}"));
                }
                Scope::All => {}
                Scope::Nothing => return Ok(vec![]),
            }
            let mut any_of = |col: &str, values: &[String], args: &mut Vec<Sql>| {
                if values.is_empty() {
                    return;
                }
                let list: Vec<String> = values.iter().map(|v| arg(Sql::Text(v.clone()), args)).collect();
                cond.push(format!("{col} IN ({})", list.join(", ")));
            };
            any_of("kind", &f.kinds, &mut args);
            any_of("action", &f.actions, &mut args);
            any_of("biz_step", &f.biz_steps, &mut args);
            any_of("disposition", &f.dispositions, &mut args);
            any_of("biz_location", &f.biz_locations, &mut args);
            any_of("read_point", &f.read_points, &mut args);
            for (col, op, v) in [
                ("event_time", ">=", f.ge_event_time),
                ("event_time", "<", f.lt_event_time),
                ("record_time", ">=", f.ge_record_time),
                ("record_time", "<", f.lt_record_time),
            ] {
                if let Some(v) = v {
                    let a = arg(Sql::Integer(v), &mut args);
                    cond.push(format!("{col} {op} {a}"));
                }
            }
            for (roles, keys) in &f.ids {
                let roles: Vec<String> = roles.iter().map(|r| arg(Sql::Text(r.clone()), &mut args)).collect();
                let mut alts = Vec::new();
                for k in keys {
                    let a = arg(Sql::Text(k.key.clone()), &mut args);
                    if k.prefix {
                        let lo = arg(Sql::Text(format!("{}/", k.key)), &mut args);
                        let hi = arg(Sql::Text(format!("{}0", k.key)), &mut args);
                        alts.push(format!("key = {a} OR (key >= {lo} AND key < {hi})"));
                    } else {
                        alts.push(format!("key = {a}"));
                    }
                }
                cond.push(format!(
                    "seq IN (SELECT event FROM epcis_ids WHERE role IN ({}) AND ({}))",
                    roles.join(", "),
                    alts.join(" OR ")
                ));
            }
            if let Some(after) = f.after {
                let a = arg(Sql::Integer(after), &mut args);
                cond.push(format!("seq {} {a}", if f.descending { "<" } else { ">" }));
            }
            let sql = format!(
                "SELECT seq, enterprise, record_time, body FROM epcis_events {} ORDER BY seq {} LIMIT {}",
                if cond.is_empty() { String::new() } else { format!("WHERE {}", cond.join(" AND ")) },
                if f.descending { "DESC" } else { "ASC" },
                f.limit.max(1)
            );
            let rows: Vec<(i64, String, i64, String)> = c
                .prepare(&sql)?
                .query_map(rusqlite::params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(seq, e, rt, body)| {
                    Ok(StoredEvent {
                        seq,
                        enterprise: parse_uuid(&e)?,
                        record_time_ms: rt,
                        body,
                    })
                })
                .collect()
        })
        .await
    }
}
