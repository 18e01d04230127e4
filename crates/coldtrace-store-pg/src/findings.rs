//! Findings of the ledger checks (核查问题) on PostgreSQL: listed by scope and filter, answered by the
//! enterprise, resolved or dismissed by a regulator, and the periodic sweep (goods in transit too long, stock that
//! has not moved, staff tests overdue, the customs cross-check) with the day's data quality. The writer opens and
//! resolves findings inside a submission's transaction (`crate::ledger`).

use async_trait::async_trait;
use coldtrace_domain::checks::{CheckPolicy, Policy, Rule};
use coldtrace_store::{
    Closing, Finding, FindingAnswer, FindingFilter, FindingStatus, FindingStore, Quality,
    QualityDay, Scope, SweepReport,
};
use tokio::runtime::Handle;
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::ledger::{CURRENT, PgLedger, RESOLVE_BY_RECORDS};
use crate::{Error, PgStore, Result, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

const COLUMNS: &str =
    "seq, id, rule, status, enterprise, province, batch, movement, message, opened_at, closed_at,
    closed_by, reason, answer_note, answer_record, answered_by, answered_at, declaration";

/// A lot's goods on hand (SQL over `lot_stock ls`): what it received or made (or, with no receipt of its own,
/// what senders shipped to it) less what left it.
pub(crate) const LOT_BALANCE: &str = "(CASE WHEN ls.received + ls.produced > 0 THEN ls.received + ls.produced
    ELSE ls.reported_inbound END) - ls.shipped - ls.sold - ls.consumed - ls.destroyed - ls.returned";

/// Lots by city and enterprise kind, and those with an open finding. Append a filter on `e` and
/// `GROUP BY city, e.kind`.
const QUALITY: &str = "WITH per AS (SELECT (SELECT id FROM ids WHERE n = holder) AS holder, COUNT(*) AS n
            FROM lot_stock GROUP BY holder),
        flag AS (SELECT enterprise, COUNT(DISTINCT batch) AS k FROM findings
                 WHERE status = 'open' AND batch IS NOT NULL GROUP BY enterprise)
    SELECT substr(e.region, 1, 4) || '00' AS city, e.kind, SUM(per.n)::BIGINT, COALESCE(SUM(flag.k), 0)::BIGINT
    FROM per
    JOIN enterprises e ON e.id = per.holder
        AND NOT EXISTS (SELECT 1 FROM enterprises n WHERE n.corrects = e.id)
    LEFT JOIN flag ON flag.enterprise = per.holder::TEXT";

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Unreadable(format!("stored finding: {what}"))
}

fn finding(r: &tokio_postgres::Row) -> Result<(i64, Finding)> {
    let rule = Rule::parse(r.get(2)).map_err(bad)?;
    let answer_record: Option<String> = r.get(14);
    let answer = match (
        r.get::<_, Option<String>>(13),
        answer_record,
        r.get::<_, Option<String>>(15),
        r.get::<_, Option<i64>>(16),
    ) {
        (Some(note), Some(record), Some(by), Some(at_ms)) => Some(FindingAnswer {
            note,
            record: Uuid::parse_str(&record).map_err(bad)?,
            by,
            at_ms,
        }),
        _ => None,
    };
    let mut status = FindingStatus::parse(r.get(3)).map_err(bad)?;
    if status == FindingStatus::Open && answer.is_some() {
        status = FindingStatus::Answered;
    }
    let ent: String = r.get(4);
    Ok((
        r.get(0),
        Finding {
            id: r.get(1),
            rule,
            code: rule.code().to_string(),
            status,
            // Declared goods of an unregistered consignee are nobody's ledger yet: stored as ''.
            enterprise: (!ent.is_empty())
                .then(|| Uuid::parse_str(&ent).map_err(bad))
                .transpose()?,
            province: r.get(5),
            declaration: r.get(17),
            batch: r.get(6),
            movement: r.get(7),
            message: r.get(8),
            opened_at_ms: r.get(9),
            answer,
            closed_at_ms: r.get(10),
            closed_by: r.get(11),
            reason: r.get(12),
        },
    ))
}

async fn by_id(c: &impl GenericClient, id: Uuid) -> Result<Option<Finding>> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM findings WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| finding(&r).map(|(_, f)| f))
    .transpose()
}

/// Shipments to registered enterprises with no receipt after `window_ms` (in_transit): the lots kept in
/// `lot_stock` say where to look (a registered buyer's lot that senders shipped to but that recorded no current
/// receipt of its own).
async fn sweep_transit(c: &impl GenericClient, now: i64, window_ms: i64) -> Result<SweepReport> {
    let opened = c
        .execute(
            &format!(
                "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement, message,
                    opened_at)
                 SELECT gen_random_uuid(), 'in_transit', 'transit:' || m.id, 'open',
                    (SELECT id FROM ids WHERE n = m.holder)::TEXT, m.holder_province,
                    (SELECT id FROM ids WHERE n = ls.batch), m.id,
                    'shipped ' || (m.quantity_milli / 1000.0)::FLOAT8 || ' to ' ||
                        COALESCE((SELECT cp.name FROM counterparties cp WHERE cp.n = m.counterparty), '') ||
                        ': no receipt recorded within ' || ($2::BIGINT / 3600000) || ' h',
                    $1::BIGINT
                 FROM lot_stock ls
                 JOIN movements m ON m.batch = ls.batch AND m.counterparty_id = ls.holder
                 WHERE ls.received = 0 AND ls.reported_inbound > 0
                    AND m.kind IN ('ship', 'sell') AND m.counterparty_id != m.holder AND m.at_ms < $1 - $2
                    AND {CURRENT}
                    AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.subject = 'transit:' || m.id)"
            ),
            &[&now, &window_ms],
        )
        .await?;
    // The buyer's lot counts its current receipts: one there, or the shipment corrected, settles it.
    let resolved = c
        .execute(
            &format!(
                "{RESOLVE_BY_RECORDS}
                 WHERE rule = 'in_transit' AND status = 'open' AND EXISTS (
                    SELECT 1 FROM movements m
                    LEFT JOIN lot_stock ls ON ls.batch = m.batch AND ls.holder = m.counterparty_id
                    WHERE m.id = findings.movement AND (COALESCE(ls.received, 0) > 0 OR NOT {CURRENT}))"
            ),
            &[&now],
        )
        .await?;
    Ok(SweepReport { opened, resolved })
}

/// Lots with stock that have not moved for `dormant_ms` (dormant_stock): once per lot and last movement. Sealed
/// stock (封存) is still on purpose.
async fn sweep_dormant(c: &impl GenericClient, now: i64, dormant_ms: i64) -> Result<SweepReport> {
    let sealed = "EXISTS (SELECT 1 FROM movements s
        WHERE s.batch = ls.batch AND s.holder = ls.holder AND s.kind = 'seal')";
    let (batch, holder) = (
        "(SELECT id FROM ids WHERE n = ls.batch)",
        "(SELECT id FROM ids WHERE n = ls.holder)",
    );
    let subject = format!("'dormant:' || {batch} || ':' || {holder} || ':' || ls.last_at");
    let opened = c
        .execute(
            &format!(
                "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement, message,
                    opened_at)
                 SELECT gen_random_uuid(), 'dormant_stock', {subject}, 'open', {holder}::TEXT,
                    (SELECT e.province FROM enterprises e WHERE e.id = {holder}), {batch}, NULL,
                    'holds ' || (({LOT_BALANCE}) / 1000.0)::FLOAT8 || ' of the lot, unmoved since ' ||
                        to_char(to_timestamp(ls.last_at / 1000.0) AT TIME ZONE 'UTC' + INTERVAL '8 hours', 'YYYY-MM-DD') || ' (' ||
                        (($1::BIGINT - ls.last_at) / 86400000) || ' days; at most ' || ($2::BIGINT / 86400000) || ')',
                    $1::BIGINT
                 FROM lot_stock ls
                 WHERE ls.last_at < $1 - $2 AND ({LOT_BALANCE}) > 0 AND NOT {sealed}
                    AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.subject = {subject})"
            ),
            &[&now, &dormant_ms],
        )
        .await?;
    let resolved = c
        .execute(
            &format!(
                "{RESOLVE_BY_RECORDS}
                 WHERE rule = 'dormant_stock' AND status = 'open' AND EXISTS (
                    SELECT 1 FROM lot_stock ls WHERE ls.batch = (SELECT n FROM ids WHERE id = findings.batch)
                    AND ls.holder = (SELECT n FROM ids WHERE id = findings.enterprise::UUID)
                    AND (ls.last_at >= $1::BIGINT - $2::BIGINT OR ({LOT_BALANCE}) <= 0 OR {sealed}))"
            ),
            &[&now, &dormant_ms],
        )
        .await?;
    Ok(SweepReport { opened, resolved })
}

#[async_trait]
impl FindingStore for PgStore {
    async fn findings(
        &self,
        scope: Scope,
        filter: FindingFilter,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Finding)>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut arg = |clause: &str, v: Box<dyn ToSql + Sync + Send>, clauses: &mut Vec<String>| {
            args.push(v);
            clauses.push(clause.replace('?', &format!("${}", args.len())));
        };
        match &scope {
            Scope::All => {}
            Scope::Nothing => return Ok(vec![]),
            Scope::Province(p) => arg(
                "province = ?",
                Box::new(p.as_str().to_string()),
                &mut clauses,
            ),
            Scope::Enterprise(e) => arg("enterprise = ?", Box::new(e.to_string()), &mut clauses),
        }
        if let Some(r) = filter.rule {
            arg("rule = ?", Box::new(r.as_str().to_string()), &mut clauses);
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
            Some(s) => arg("status = ?", Box::new(s.as_str().to_string()), &mut clauses),
        }
        if let Some(city) = filter.city {
            arg(
                "enterprise IN (SELECT id::TEXT FROM enterprises WHERE substr(region, 1, 4) = ?)",
                Box::new(city),
                &mut clauses,
            );
        }
        if let Some(kind) = filter.kind {
            arg(
                "enterprise IN (SELECT id::TEXT FROM enterprises WHERE kind = ?)",
                Box::new(kind),
                &mut clauses,
            );
        }
        if let Some(e) = filter.enterprise {
            arg("enterprise = ?", Box::new(e.to_string()), &mut clauses);
        }
        if let Some(p) = filter.customs_of {
            arg(
                "declaration IN (SELECT declaration_no FROM customs_declarations WHERE province = ?)",
                Box::new(p),
                &mut clauses,
            );
        }
        if let Some(b) = filter.batch {
            arg("batch = ?", Box::new(b), &mut clauses);
        }
        if let Some(b) = before {
            arg("seq < ?", Box::new(b), &mut clauses);
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM findings {filter} ORDER BY seq DESC LIMIT {}",
            limit
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
            .map(finding)
            .collect::<Result<_>>()?)
    }

    async fn finding(&self, id: Uuid) -> StoreResult<Option<Finding>> {
        let c = self.client().await?;
        Ok(by_id(&**c, id).await?)
    }

    async fn quality(&self, scope: Scope) -> StoreResult<Vec<Quality>> {
        let (filter, arg) = match &scope {
            Scope::All => ("", None),
            Scope::Nothing => return Ok(vec![]),
            Scope::Province(p) => ("WHERE e.province = $1", Some(p.as_str().to_string())),
            Scope::Enterprise(e) => ("WHERE e.id = $1::TEXT::UUID", Some(e.to_string())),
        };
        let sql =
            format!("{QUALITY} {filter} GROUP BY city, e.kind ORDER BY city, e.kind COLLATE \"C\"");
        let c = self.client().await?;
        let rows = match &arg {
            Some(a) => c.query(&sql, &[a]).await,
            None => c.query(&sql, &[]).await,
        }
        .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|r| Quality {
                city: r.get(0),
                kind: r.get(1),
                lots: r.get::<_, i64>(2) as u64,
                flagged: r.get::<_, i64>(3) as u64,
            })
            .collect())
    }

    async fn quality_history(
        &self,
        scope: Scope,
        since_day: String,
    ) -> StoreResult<Vec<QualityDay>> {
        let province = match &scope {
            Scope::All => None,
            Scope::Nothing | Scope::Enterprise(_) => return Ok(vec![]),
            Scope::Province(p) => Some(p.as_str().to_string()),
        };
        let c = self.client().await?;
        Ok(c.query(
            "SELECT day, city, kind, lots, flagged FROM quality_daily
             WHERE day >= $1 AND ($2::TEXT IS NULL OR substr(city, 1, 2) = $2)
             ORDER BY day, city COLLATE \"C\", kind COLLATE \"C\"",
            &[&since_day, &province],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| QualityDay {
            day: r.get(0),
            city: r.get(1),
            kind: r.get(2),
            lots: r.get::<_, i64>(3) as u64,
            flagged: r.get::<_, i64>(4) as u64,
        })
        .collect())
    }

    async fn sweep(&self, now: i64, checks: CheckPolicy) -> StoreResult<SweepReport> {
        let mut writer = self.writer().await?;
        // On a blocking thread: the customs cross-check is the writer's, which runs there (`crate::ledger`).
        tokio::task::spawn_blocking(move || -> StoreResult<SweepReport> {
            let rt = Handle::current();
            // One writer of findings at a time: the submissions' lock.
            let tx = rt.block_on(crate::begin_locked(&mut writer.client))?;
            let mut report = SweepReport::default();
            let mut add = |r: SweepReport| {
                report.opened += r.opened;
                report.resolved += r.resolved;
            };
            if checks.of(Rule::InTransit) != Policy::Off {
                add(rt.block_on(sweep_transit(&*tx, now, checks.windows.transit_ms()))?);
            }
            if checks.of(Rule::DormantStock) != Policy::Off {
                add(rt.block_on(sweep_dormant(&*tx, now, checks.windows.dormant_ms()))?);
            }
            if checks.of(Rule::StaffTestOverdue) != Policy::Off {
                add(rt.block_on(crate::staff::sweep_staff(
                    &*tx,
                    now,
                    checks.windows.staff_test_days,
                ))?);
            }
            let l = PgLedger::open(&tx, rt.clone(), None);
            add(crate::customs::cross_check(&l, now, &checks, None, &Default::default())?.report);
            // The day's data quality, as it stands after the sweep.
            rt.block_on(tx.execute(
                &format!(
                    "INSERT INTO quality_daily (day, city, kind, lots, flagged)
                     SELECT to_char(to_timestamp($1::BIGINT / 1000.0) AT TIME ZONE 'UTC' + INTERVAL '8 hours', 'YYYY-MM-DD'), q.*
                     FROM ({QUALITY} GROUP BY city, e.kind) q
                     ON CONFLICT (day, city, kind) DO UPDATE SET lots = EXCLUDED.lots,
                        flagged = EXCLUDED.flagged"
                ),
                &[&now],
            ))
            .map_err(Error::from)?;
            rt.block_on(tx.commit()).map_err(Error::from)?;
            Ok(report)
        })
        .await
        .map_err(|e| coldtrace_store::StoreError::Task(e.to_string()))?
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
        let c = self.client().await?;
        c.execute(
            "UPDATE findings SET status = $2, closed_at = $3, closed_by = $4, reason = $5
             WHERE id = $1 AND status = 'open'",
            &[&id, &status, &now_ms(), &by, &reason],
        )
        .await
        .map_err(Error::from)?;
        Ok(by_id(&**c, id).await?)
    }

    async fn answer_finding(&self, id: Uuid, a: FindingAnswer) -> StoreResult<Option<Finding>> {
        let c = self.client().await?;
        c.execute(
            "UPDATE findings SET answer_note = $2, answer_record = $3, answered_by = $4, answered_at = $5
             WHERE id = $1 AND status = 'open'",
            &[&id, &a.note, &a.record.to_string(), &a.by, &a.at_ms],
        )
        .await
        .map_err(Error::from)?;
        Ok(by_id(&**c, id).await?)
    }
}
