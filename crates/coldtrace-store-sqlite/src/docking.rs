//! Docking storage in SQLite: the provincial outbox (written in the same transaction as the business record it
//! reports), notices received from the national platform, and at the national platform the inbox of every
//! province's messages (deduplicated by message id, ordered by each province's sequence), link decisions and the
//! notices to deliver.

use coldtrace_domain::docking::{Envelope, Message, NativeCode, Notice, NoticeAck, UploadReceipt};
use coldtrace_domain::{Batch, Enterprise, Product, TraceCode};
use coldtrace_store::report::{self, Fresh, ReportSource};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use crate::{
    AcceptOutcome, AckOutcome, DockingConfig, InboxRow, LinkDecision, NoticeInRow, OutboxStatus,
    Result, StoreError,
};

pub(crate) const SCHEMA: &str = r#"
-- Provincial side: messages for the national platform, in sequence order; `seq` is the province's sequence.
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS docking_state (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
-- Notices received from the national platform.
CREATE TABLE IF NOT EXISTS notices_in (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    incident TEXT,
    received_at INTEGER NOT NULL,
    acked_at INTEGER,
    acked_by TEXT,
    ack_note TEXT
);

-- National side: every message accepted from every province, once.
-- Message ids are unique within a province: one province's ids cannot collide with (and so stall) another's.
CREATE TABLE IF NOT EXISTS inbox (
    gseq INTEGER PRIMARY KEY AUTOINCREMENT,
    province TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (province, seq),
    UNIQUE (province, id)
);
CREATE TABLE IF NOT EXISTS link_decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    link TEXT NOT NULL,
    decision TEXT NOT NULL,
    by_subject TEXT NOT NULL,
    note TEXT,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notices_out (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    province TEXT NOT NULL,
    incident TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_out_province ON notices_out(province, seq);
-- Batches a regulator approved for the public lookup (nothing is published without provincial approval).
CREATE TABLE IF NOT EXISTS published (
    batch_id TEXT PRIMARY KEY,
    by_subject TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS docking_clients (
    client_id TEXT PRIMARY KEY,
    province TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#;

fn push(tx: &Transaction<'_>, now: i64, body: Message) -> Result<()> {
    let env = Envelope {
        id: Uuid::now_v7(),
        seq: 0,
        recorded_at_ms: now,
        body,
    };
    tx.prepare_cached("INSERT INTO outbox (id, kind, body, at_ms) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            env.id.to_string(),
            env.body.kind(),
            serde_json::to_string(&env.body)?,
            now
        ])?;
    Ok(())
}

fn latest<T: serde::de::DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    id: Uuid,
) -> Result<Option<T>> {
    let body: Option<String> = tx
        .prepare_cached(sql)?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// The records of the open submission transaction, as the backend-neutral report reads them.
struct Source<'a, 't>(&'a Transaction<'t>);

impl ReportSource for Source<'_, '_> {
    type Error = crate::Error;
    fn enterprise(&mut self, id: Uuid) -> Result<Option<Enterprise>> {
        latest(
            self.0,
            "SELECT body FROM enterprises WHERE id = ?1 ORDER BY seq DESC LIMIT 1",
            id,
        )
    }
    fn product(&mut self, id: Uuid) -> Result<Option<Product>> {
        latest(
            self.0,
            "SELECT body FROM products WHERE id = ?1 ORDER BY seq DESC LIMIT 1",
            id,
        )
    }
    fn batch(&mut self, id: Uuid) -> Result<Option<Batch>> {
        latest(self.0, "SELECT body FROM batches WHERE id = ?1", id)
    }
    fn codes(&mut self, batch: Uuid) -> Result<Vec<NativeCode>> {
        codes_of(self.0, batch)
    }
    fn add_code(&mut self, batch: Uuid, code: &TraceCode) -> Result<()> {
        // The number printed under a URL code's QR finds the batch too.
        for c in std::iter::once(code.clone()).chain(code.aliases()) {
            self.0
                .prepare_cached(
                    "INSERT OR IGNORE INTO trace_codes (key, batch_id, scheme, value) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![c.key, batch.to_string(), c.scheme.as_str(), c.value])?;
        }
        Ok(())
    }
}

/// Every code of a batch, as stored (the enterprise's and the platform's).
pub(crate) fn codes_of(tx: &rusqlite::Connection, id: Uuid) -> Result<Vec<NativeCode>> {
    let mut stmt = tx
        .prepare_cached("SELECT scheme, value FROM trace_codes WHERE batch_id = ?1 ORDER BY key")?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok(NativeCode {
            scheme: r.get(0)?,
            value: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Issues codes and writes the messages that report a submission (see [`coldtrace_store::report`]) into the
/// outbox, in the submission's transaction.
pub(crate) fn emit(
    tx: &Transaction<'_>,
    cfg: &DockingConfig,
    fresh: &Fresh,
    now: i64,
) -> Result<()> {
    for m in report::report(cfg, fresh, &mut Source(tx))? {
        push(tx, now, m)?;
    }
    Ok(())
}

/// The message that reports a positive test registered in this province, in the incident's transaction.
pub(crate) fn emit_incident(
    tx: &Transaction<'_>,
    inc: &coldtrace_domain::incident::Incident,
    now: i64,
) -> Result<()> {
    match report::incident_report(inc) {
        Some(m) => push(tx, now, m),
        None => Ok(()),
    }
}

fn state(c: &rusqlite::Connection, key: &str) -> Result<u64> {
    Ok(
        c.prepare_cached("SELECT value FROM docking_state WHERE key = ?1")?
            .query_row([key], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64,
    )
}

fn set_state(c: &rusqlite::Connection, key: &str, v: u64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO docking_state (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute(params![key, v as i64])?;
    Ok(())
}

fn envelope(seq: i64, id: String, body: String, at_ms: i64) -> Result<Envelope> {
    Ok(Envelope {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::Task(e.to_string()))?,
        seq: seq as u64,
        recorded_at_ms: at_ms,
        body: serde_json::from_str(&body)?,
    })
}

pub(crate) fn outbox_pending(c: &rusqlite::Connection, limit: u32) -> Result<Vec<Envelope>> {
    let after = state(c, "delivered")?;
    let mut stmt = c.prepare_cached(
        "SELECT seq, id, body, at_ms FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows: Vec<(i64, String, String, i64)> = stmt
        .query_map(params![after as i64, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(s, i, b, a)| envelope(s, i, b, a))
        .collect()
}

pub(crate) fn outbox_delivered(c: &rusqlite::Connection, upto: u64) -> Result<()> {
    set_state(c, "delivered", upto)
}

pub(crate) fn outbox_status(c: &rusqlite::Connection) -> Result<OutboxStatus> {
    let delivered = state(c, "delivered")?;
    let (last, oldest): (Option<i64>, Option<i64>) = c
        .prepare_cached(
            "SELECT (SELECT max(seq) FROM outbox), (SELECT min(at_ms) FROM outbox WHERE seq > ?1)",
        )?
        .query_row([delivered as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(OutboxStatus {
        last_seq: last.unwrap_or(0) as u64,
        delivered_seq: delivered,
        oldest_pending_ms: oldest,
    })
}

/// Before schema version 5 message ids were unique across provinces; the inbox is rebuilt with ids unique per
/// province, keeping every row and its global sequence.
pub(crate) fn migrate_inbox(c: &rusqlite::Connection) -> Result<()> {
    let old: Option<String> = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'inbox'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if old.is_some_and(|sql| sql.contains("id TEXT NOT NULL UNIQUE")) {
        c.execute_batch(
            "BEGIN IMMEDIATE;
             ALTER TABLE inbox RENAME TO inbox_v4;
             CREATE TABLE inbox (
                 gseq INTEGER PRIMARY KEY AUTOINCREMENT,
                 province TEXT NOT NULL,
                 seq INTEGER NOT NULL,
                 id TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 body TEXT NOT NULL,
                 received_at INTEGER NOT NULL,
                 UNIQUE (province, seq),
                 UNIQUE (province, id)
             );
             INSERT INTO inbox SELECT gseq, province, seq, id, kind, body, received_at FROM inbox_v4;
             DROP TABLE inbox_v4;
             COMMIT;",
        )?;
    }
    Ok(())
}

/// Stores a notice once and queues its receipt; `false` when it was already stored.
pub(crate) fn record_notice(
    tx: &Transaction<'_>,
    n: &Notice,
    incident: Option<Uuid>,
    now: i64,
) -> Result<bool> {
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO notices_in (id, seq, body, incident, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            n.id.to_string(),
            n.seq as i64,
            serde_json::to_string(n)?,
            incident.map(|i| i.to_string()),
            now
        ])?;
    if added == 0 {
        return Ok(false);
    }
    set_state(tx, "notice_cursor", n.seq)?;
    push(tx, now, Message::NoticeReceived { notice: n.id })?;
    Ok(true)
}

pub(crate) fn notice_cursor(c: &rusqlite::Connection) -> Result<u64> {
    state(c, "notice_cursor")
}

/// body, incident, received_at, acked_at, acked_by, ack_note
type NoticeInCols = (
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

pub(crate) fn received_notices(c: &rusqlite::Connection) -> Result<Vec<NoticeInRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT body, incident, received_at, acked_at, acked_by, ack_note FROM notices_in ORDER BY seq DESC",
    )?;
    let rows: Vec<NoticeInCols> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(b, i, rec, acked, by, note)| {
            Ok(NoticeInRow {
                notice: serde_json::from_str(&b)?,
                incident: i.and_then(|s| Uuid::parse_str(&s).ok()),
                received_at_ms: rec,
                acked_at_ms: acked,
                acked_by: by,
                ack_note: note,
            })
        })
        .collect()
}

/// Marks a notice acknowledged and queues the acknowledgement, once.
pub(crate) fn ack_notice(tx: &Transaction<'_>, ack: &NoticeAck, now: i64) -> Result<AckOutcome> {
    let acked: Option<Option<i64>> = tx
        .prepare_cached("SELECT acked_at FROM notices_in WHERE id = ?1")?
        .query_row([ack.notice.to_string()], |r| r.get(0))
        .optional()?;
    match acked {
        None => return Ok(AckOutcome::NotFound),
        Some(Some(_)) => return Ok(AckOutcome::AlreadyAcked),
        Some(None) => {}
    }
    tx.prepare_cached(
        "UPDATE notices_in SET acked_at = ?2, acked_by = ?3, ack_note = ?4 WHERE id = ?1",
    )?
    .execute(params![ack.notice.to_string(), now, ack.by, ack.note])?;
    push(tx, now, Message::NoticeAck(ack.clone()))?;
    Ok(AckOutcome::Acked)
}

/// Accepts a province's messages in order: a known message id is a duplicate (no effect); the next sequence
/// number takes effect; a gap refuses the rest of the upload, so nothing is applied out of order.
pub(crate) fn accept_upload(
    tx: &Transaction<'_>,
    province: &str,
    messages: &[Envelope],
    assign_seq: bool,
    now: i64,
) -> Result<AcceptOutcome> {
    let last: u64 = tx
        .prepare_cached("SELECT max(seq) FROM inbox WHERE province = ?1")?
        .query_row([province], |r| r.get::<_, Option<i64>>(0))?
        .unwrap_or(0) as u64;
    let mut known = std::collections::HashSet::new();
    for m in messages {
        let stored: Option<i64> = tx
            .prepare_cached("SELECT gseq FROM inbox WHERE province = ?1 AND id = ?2")?
            .query_row([province, &m.id.to_string()], |r| r.get(0))
            .optional()?;
        if stored.is_some() {
            known.insert(m.id);
        }
    }
    let plan = coldtrace_store::inbox::plan_upload(last, messages.to_vec(), assign_seq, &known)?;
    let mut fresh = Vec::with_capacity(plan.take.len());
    for m in plan.take {
        tx.prepare_cached(
            "INSERT INTO inbox (province, seq, id, kind, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            province,
            m.seq as i64,
            m.id.to_string(),
            m.body.kind(),
            serde_json::to_string(&m)?,
            now
        ])?;
        fresh.push(InboxRow {
            gseq: tx.last_insert_rowid() as u64,
            province: province.to_string(),
            received_at_ms: now,
            envelope: m,
        });
    }
    Ok(AcceptOutcome {
        receipt: UploadReceipt {
            accepted: fresh.len() as u32,
            duplicates: plan.duplicates,
            next_seq: plan.next_seq,
        },
        fresh,
    })
}

pub(crate) fn inbox(c: &rusqlite::Connection, after: u64, limit: u32) -> Result<Vec<InboxRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT gseq, province, body, received_at FROM inbox WHERE gseq > ?1 ORDER BY gseq LIMIT ?2",
    )?;
    let rows: Vec<(i64, String, String, i64)> = stmt
        .query_map(params![after as i64, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(g, p, b, at)| {
            Ok(InboxRow {
                gseq: g as u64,
                province: p,
                received_at_ms: at,
                envelope: serde_json::from_str(&b)?,
            })
        })
        .collect()
}

pub(crate) fn decide_link(c: &rusqlite::Connection, d: &LinkDecision) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO link_decisions (link, decision, by_subject, note, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![d.link, d.decision, d.by, d.note, d.at_ms])?;
    Ok(())
}

pub(crate) fn link_decisions(c: &rusqlite::Connection) -> Result<Vec<LinkDecision>> {
    let mut stmt = c.prepare_cached(
        "SELECT link, decision, by_subject, note, at_ms FROM link_decisions ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(LinkDecision {
            link: r.get(0)?,
            decision: r.get(1)?,
            by: r.get(2)?,
            note: r.get(3)?,
            at_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Stores notices not stored before (by id) and gives each its delivery sequence.
pub(crate) fn put_notices(
    tx: &Transaction<'_>,
    notices: &[Notice],
    now: i64,
) -> Result<Vec<Notice>> {
    let mut out = Vec::new();
    for n in notices {
        let known: Option<i64> = tx
            .prepare_cached("SELECT seq FROM notices_out WHERE id = ?1")?
            .query_row([n.id.to_string()], |r| r.get(0))
            .optional()?;
        if known.is_some() {
            continue;
        }
        tx.prepare_cached(
            "INSERT INTO notices_out (id, province, incident, body, created_at) VALUES (?1, ?2, ?3, '', ?4)",
        )?
        .execute(params![n.id.to_string(), n.to_province, n.incident.to_string(), now])?;
        let mut n = n.clone();
        n.seq = tx.last_insert_rowid() as u64;
        n.created_at_ms = now;
        tx.prepare_cached("UPDATE notices_out SET body = ?2 WHERE seq = ?1")?
            .execute(params![n.seq as i64, serde_json::to_string(&n)?])?;
        out.push(n);
    }
    Ok(out)
}

pub(crate) fn notices_out(
    c: &rusqlite::Connection,
    province: Option<&str>,
    after: u64,
    limit: u32,
) -> Result<Vec<Notice>> {
    let mut stmt = c.prepare_cached(
        "SELECT body FROM notices_out WHERE (?1 IS NULL OR province = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows: Vec<String> = stmt
        .query_map(params![province, after as i64, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}
