//! Findings of the ledger checks: listed by scope and filter, answered by the enterprise, resolved or dismissed
//! by a regulator. The writer opens and
//! resolves them inside a submission's transaction (`coldtrace_store::writer`, answered by `ledger.rs`).

use async_trait::async_trait;
use coldtrace_domain::checks::Rule;
use rusqlite::{OptionalExtension, params_from_iter};
use uuid::Uuid;

use super::*;
use crate::schema::{CURRENT, resolve_by_records};
use crate::{Closing, Finding, FindingAnswer, FindingFilter, FindingStatus, Scope, StoreError};

const COLUMNS: &str =
    "seq, id, rule, status, enterprise, province, batch, movement, message, opened_at, closed_at,
    closed_by, reason, answer_note, answer_record, answered_by, answered_at, declaration";

type Answer = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

type Row = (
    (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
        Option<i64>,
        Option<String>,
        Option<String>,
    ),
    Answer,
);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
        ),
        (r.get(13)?, r.get(14)?, r.get(15)?, r.get(16)?, r.get(17)?),
    ))
}

fn finding((r, answer): Row) -> crate::Result<(i64, Finding)> {
    let (
        seq,
        id,
        rule,
        status,
        ent,
        province,
        batch,
        movement,
        message,
        opened,
        closed,
        by,
        reason,
    ) = r;
    let rule = Rule::parse(&rule).map_err(StoreError::Task)?;
    let (note, record, answered_by, answered_at, declaration) = answer;
    let answer = match (note, record, answered_by, answered_at) {
        (Some(note), Some(record), Some(by), Some(at_ms)) => Some(FindingAnswer {
            note,
            record: parse_uuid(&record)?,
            by,
            at_ms,
        }),
        _ => None,
    };
    let mut status = FindingStatus::parse(&status).map_err(StoreError::Task)?;
    if status == FindingStatus::Open && answer.is_some() {
        status = FindingStatus::Answered;
    }
    Ok((
        seq,
        Finding {
            id: parse_uuid(&id)?,
            rule,
            code: rule.code().to_string(),
            status,
            // Declared goods of an unregistered consignee are nobody's ledger yet: stored as ''.
            enterprise: (!ent.is_empty()).then(|| parse_uuid(&ent)).transpose()?,
            province,
            declaration,
            batch: batch.map(|b| parse_uuid(&b)).transpose()?,
            movement: movement.map(|m| parse_uuid(&m)).transpose()?,
            message,
            opened_at_ms: opened,
            answer,
            closed_at_ms: closed,
            closed_by: by,
            reason,
        },
    ))
}

fn by_id(c: &rusqlite::Connection, id: Uuid) -> crate::Result<Option<Finding>> {
    let sql = format!("SELECT {COLUMNS} FROM findings WHERE id = ?1");
    let r = c
        .prepare_cached(&sql)?
        .query_row([id.to_string()], row)
        .optional()?;
    Ok(r.map(finding).transpose()?.map(|(_, f)| f))
}

#[async_trait]
impl FindingStore for SqliteStore {
    async fn findings(
        &self,
        scope: Scope,
        filter: FindingFilter,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Finding)>> {
        self.read(move |c| {
            let mut clauses: Vec<String> = Vec::new();
            let mut args: Vec<String> = Vec::new();
            let mut arg = |clause: &str, v: String, clauses: &mut Vec<String>| {
                args.push(v);
                clauses.push(clause.replace('?', &format!("?{}", args.len())));
            };
            match &scope {
                Scope::All => {}
                Scope::Nothing => return Ok(vec![]),
                Scope::Province(p) => arg("province = ?", p.as_str().to_string(), &mut clauses),
                Scope::Enterprise(e) => arg("enterprise = ?", e.to_string(), &mut clauses),
            }
            if let Some(r) = filter.rule {
                arg("rule = ?", r.as_str().to_string(), &mut clauses);
            }
            // An answered finding is stored open, with its answer.
            match filter.status {
                None => {}
                Some(FindingStatus::Open) => {
                    clauses.push("status = 'open' AND answered_at IS NULL".into())
                }
                Some(FindingStatus::Answered) => {
                    clauses.push("status = 'open' AND answered_at IS NOT NULL".into())
                }
                Some(s) => arg("status = ?", s.as_str().to_string(), &mut clauses),
            }
            if let Some(city) = filter.city {
                arg(
                    "enterprise IN (SELECT id FROM enterprises WHERE substr(region, 1, 4) = ?)",
                    city,
                    &mut clauses,
                );
            }
            if let Some(kind) = filter.kind {
                arg(
                    "enterprise IN (SELECT id FROM enterprises WHERE kind = ?)",
                    kind,
                    &mut clauses,
                );
            }
            if let Some(e) = filter.enterprise {
                arg("enterprise = ?", e.to_string(), &mut clauses);
            }
            if let Some(p) = filter.customs_of {
                arg(
                    "declaration IN (SELECT declaration_no FROM customs_declarations WHERE province = ?)",
                    p,
                    &mut clauses,
                );
            }
            if let Some(b) = filter.batch {
                arg("batch = ?", b.to_string(), &mut clauses);
            }
            if let Some(b) = before {
                arg("seq < ?", b.to_string(), &mut clauses);
            }
            let filter = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            let sql =
                format!("SELECT {COLUMNS} FROM findings {filter} ORDER BY seq DESC LIMIT {limit}");
            let rows = c
                .prepare(&sql)?
                .query_map(params_from_iter(args.iter()), row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(finding).collect()
        })
        .await
    }

    async fn quality(&self, scope: Scope) -> StoreResult<Vec<crate::Quality>> {
        self.read(move |c| {
            let (filter, arg) = match &scope {
                Scope::All => ("", None),
                Scope::Nothing => return Ok(vec![]),
                Scope::Province(p) => ("WHERE e.province = ?1", Some(p.as_str().to_string())),
                Scope::Enterprise(e) => ("WHERE e.id = ?1", Some(e.to_string())),
            };
            let sql = format!("{QUALITY} {filter} GROUP BY city, e.kind ORDER BY city, e.kind");
            let mut stmt = c.prepare(&sql)?;
            let map = |r: &rusqlite::Row<'_>| {
                Ok(crate::Quality {
                    city: r.get(0)?,
                    kind: r.get(1)?,
                    lots: r.get::<_, i64>(2)? as u64,
                    flagged: r.get::<_, i64>(3)? as u64,
                })
            };
            let rows = match arg {
                Some(a) => stmt
                    .query_map([a], map)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => stmt
                    .query_map([], map)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            Ok(rows)
        })
        .await
    }

    async fn quality_history(
        &self,
        scope: Scope,
        since_day: String,
    ) -> StoreResult<Vec<crate::QualityDay>> {
        self.read(move |c| {
            let (filter, arg) = match &scope {
                Scope::All => ("", String::new()),
                Scope::Nothing | Scope::Enterprise(_) => return Ok(vec![]),
                Scope::Province(p) => ("AND substr(city, 1, 2) = ?2", p.as_str().to_string()),
            };
            let sql = format!(
                "SELECT day, city, kind, lots, flagged FROM quality_daily WHERE day >= ?1 {filter}
                 ORDER BY day, city, kind"
            );
            let mut stmt = c.prepare(&sql)?;
            let map = |r: &rusqlite::Row<'_>| {
                Ok(crate::QualityDay {
                    day: r.get(0)?,
                    city: r.get(1)?,
                    kind: r.get(2)?,
                    lots: r.get::<_, i64>(3)? as u64,
                    flagged: r.get::<_, i64>(4)? as u64,
                })
            };
            let rows = if arg.is_empty() {
                stmt.query_map([since_day], map)?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                stmt.query_map([since_day, arg], map)?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            };
            Ok(rows)
        })
        .await
    }

    async fn sweep(
        &self,
        now_ms: i64,
        checks: coldtrace_domain::checks::CheckPolicy,
    ) -> StoreResult<crate::SweepReport> {
        use coldtrace_domain::checks::{Policy, Rule};
        let transit = checks.of(Rule::InTransit) != Policy::Off;
        let dormant = checks.of(Rule::DormantStock) != Policy::Off;
        let (window_ms, dormant_ms) = (checks.windows.transit_ms(), checks.windows.dormant_ms());
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut report = crate::SweepReport::default();
            if transit {
                let r = sweep_transit(&tx, now_ms, window_ms)?;
                report.opened += r.opened;
                report.resolved += r.resolved;
            }
            if dormant {
                let r = sweep_dormant(&tx, now_ms, dormant_ms)?;
                report.opened += r.opened;
                report.resolved += r.resolved;
            }
            if checks.of(Rule::StaffTestOverdue) != Policy::Off {
                let r = crate::staff::sweep_staff(&tx, now_ms, checks.windows.staff_test_days)?;
                report.opened += r.opened;
                report.resolved += r.resolved;
            }
            let r = crate::customs::cross_check(&tx, now_ms, &checks, None, &Default::default())?;
            report.opened += r.report.opened;
            report.resolved += r.report.resolved;
            // The day's data quality, as it stands after the sweep.
            tx.execute(
                &format!(
                    "INSERT OR REPLACE INTO quality_daily (day, city, kind, lots, flagged)
                     SELECT strftime('%Y-%m-%d', ?1 / 1000, 'unixepoch', '+8 hours'), q.* FROM ({QUALITY}
                        GROUP BY city, e.kind) q"
                ),
                [now_ms],
            )?;
            tx.commit()?;
            Ok(report)
        })
        .await
    }

    async fn finding(&self, id: Uuid) -> StoreResult<Option<Finding>> {
        self.read(move |c| by_id(c, id)).await
    }

    async fn close_finding(
        &self,
        id: Uuid,
        closing: Closing,
        by: String,
        reason: String,
    ) -> StoreResult<Option<Finding>> {
        let status = match closing {
            Closing::Resolve => "resolved",
            Closing::Dismiss => "dismissed",
        };
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE findings SET status = ?2, closed_at = ?3, closed_by = ?4, reason = ?5
                 WHERE id = ?1 AND status = 'open'",
            )?
            .execute(rusqlite::params![
                id.to_string(),
                status,
                now_ms(),
                by,
                reason
            ])?;
            by_id(c, id)
        })
        .await
    }

    async fn answer_finding(&self, id: Uuid, a: FindingAnswer) -> StoreResult<Option<Finding>> {
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE findings SET answer_note = ?2, answer_record = ?3, answered_by = ?4, answered_at = ?5
                 WHERE id = ?1 AND status = 'open'",
            )?
            .execute(rusqlite::params![
                id.to_string(),
                a.note,
                a.record.to_string(),
                a.by,
                a.at_ms
            ])?;
            by_id(c, id)
        })
        .await
    }
}

/// Lots by city and enterprise kind, and those with an open finding: the lots counted per holder first (one
/// pass over `lot_stock`), the flagged ones from the open findings (one per batch and enterprise), then grouped by
/// the holder's city and kind. Append a filter on `e` and `GROUP BY city, e.kind`.
const QUALITY: &str = "WITH per AS (SELECT (SELECT id FROM ids WHERE n = holder) AS holder, COUNT(*) AS n FROM lot_stock GROUP BY holder),
        flag AS (SELECT enterprise, COUNT(DISTINCT batch) AS k FROM findings
                 WHERE status = 'open' AND batch IS NOT NULL GROUP BY enterprise)
    SELECT substr(e.region, 1, 4) || '00' AS city, e.kind, SUM(per.n), COALESCE(SUM(flag.k), 0)
    FROM per
    JOIN enterprises e ON e.id = per.holder
        AND NOT EXISTS (SELECT 1 FROM enterprises n WHERE n.corrects = e.id)
    LEFT JOIN flag ON flag.enterprise = per.holder";

/// A random (version 4) UUID for each new finding, in SQL.
const NEW_UUID: &str = "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
    substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) ||
    substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))";

/// Shipments to registered enterprises with no receipt after `window_ms` (in_transit). The lots kept in
/// `lot_stock` say where to look: a registered buyer's lot that senders shipped to but that recorded no (current)
/// receipt of its own; only those lots' shipments are read, so a sweep costs a pass over the lots, not over the
/// movements.
fn sweep_transit(
    tx: &rusqlite::Transaction<'_>,
    now_ms: i64,
    window_ms: i64,
) -> rusqlite::Result<crate::SweepReport> {
    let (current, resolved) = (CURRENT, resolve_by_records(1));
    let id = crate::movements::id_text("m.id");
    let opened = tx.execute(
        &format!(
            "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement, message,
                opened_at)
             SELECT {NEW_UUID}, 'in_transit', 'transit:' || {id}, 'open', (SELECT id FROM ids WHERE n = m.holder),
                m.holder_province, (SELECT id FROM ids WHERE n = ls.batch), {id},
                'shipped ' || printf('%g', m.quantity_milli / 1000.0) || ' to ' ||
                    COALESCE((SELECT cp.name FROM counterparties cp WHERE cp.n = m.counterparty), '') ||
                    ': no receipt recorded within ' || (?2 / 3600000) || ' h',
                ?1
             -- CROSS JOIN keeps the lots as the outer loop (the planner would otherwise walk every movement).
             FROM lot_stock ls
             CROSS JOIN movements m INDEXED BY movements_batch
                ON m.batch = ls.batch AND m.counterparty_id = ls.holder
             WHERE ls.received = 0 AND ls.reported_inbound > 0
                AND m.kind IN ('ship', 'sell') AND m.counterparty_id != m.holder AND m.at_ms < ?1 - ?2
                AND {current}
                AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.subject = 'transit:' || {id})"
        ),
        rusqlite::params![now_ms, window_ms],
    )? as u64;
    // The buyer's lot counts its current receipts: one there, or the shipment corrected, settles it.
    let resolved = tx.execute(
        &format!(
            "{resolved}
             WHERE rule = 'in_transit' AND status = 'open' AND EXISTS (
                SELECT 1 FROM movements m
                LEFT JOIN lot_stock ls ON ls.batch = m.batch AND ls.holder = m.counterparty_id
                WHERE m.id = unhex(replace(findings.movement, '-', '')) AND (COALESCE(ls.received, 0) > 0 OR NOT {current}))"
        ),
        [now_ms],
    )? as u64;
    Ok(crate::SweepReport { opened, resolved })
}

/// Lots with stock that have not moved for `dormant_ms` (dormant_stock): once per lot and last movement (a lot
/// that moves and then stays still again is a new finding). Sealed stock (封存) is still on purpose.
fn sweep_dormant(
    tx: &rusqlite::Transaction<'_>,
    now_ms: i64,
    dormant_ms: i64,
) -> rusqlite::Result<crate::SweepReport> {
    let balance = crate::schema::LOT_BALANCE;
    let sealed = "EXISTS (SELECT 1 FROM movements s INDEXED BY movements_seal
        WHERE s.batch = ls.batch AND s.holder = ls.holder AND s.kind = 'seal')";
    let resolved = resolve_by_records(1);
    let (batch, holder) = (
        "(SELECT id FROM ids WHERE n = ls.batch)",
        "(SELECT id FROM ids WHERE n = ls.holder)",
    );
    let subject = format!("'dormant:' || {batch} || ':' || {holder} || ':' || ls.last_at");
    let opened = tx.execute(
        &format!(
            "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement, message,
                opened_at)
             SELECT {NEW_UUID}, 'dormant_stock', {subject},
                'open', {holder}, (SELECT e.province FROM enterprises e WHERE e.id = {holder}), {batch}, NULL,
                'holds ' || printf('%g', ({balance}) / 1000.0) || ' of the lot, unmoved since ' ||
                    strftime('%Y-%m-%d', ls.last_at / 1000, 'unixepoch', '+8 hours') || ' (' ||
                    ((?1 - ls.last_at) / 86400000) || ' days; at most ' || (?2 / 86400000) || ')',
                ?1
             FROM lot_stock ls
             WHERE ls.last_at < ?1 - ?2 AND ({balance}) > 0 AND NOT {sealed}
                AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.subject = {subject})"
        ),
        rusqlite::params![now_ms, dormant_ms],
    )? as u64;
    let resolved = tx.execute(
        &format!(
            "{resolved}
             WHERE rule = 'dormant_stock' AND status = 'open' AND EXISTS (
                SELECT 1 FROM lot_stock ls WHERE ls.batch = (SELECT n FROM ids WHERE id = findings.batch) AND ls.holder = (SELECT n FROM ids WHERE id = findings.enterprise)
                AND (ls.last_at >= ?1 - ?2 OR ({balance}) <= 0 OR {sealed}))"
        ),
        rusqlite::params![now_ms, dormant_ms],
    )? as u64;
    Ok(crate::SweepReport { opened, resolved })
}
