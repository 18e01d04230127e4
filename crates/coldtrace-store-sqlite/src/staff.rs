//! Enterprises' staff registries, their nucleic-acid tests, and the sweep's overdue findings (`CT-STAFF`).

use std::collections::HashSet;

use async_trait::async_trait;
use coldtrace_domain::staff::{StaffMember, StaffTest, overdue_days};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::*;
use crate::schema::resolve_by_records;
use crate::{StaffEntry, SweepReport};

pub(crate) const SCHEMA: &str = r#"
-- Staff of each enterprise (从业人员), by identity number.
CREATE TABLE IF NOT EXISTS staff (
    enterprise TEXT NOT NULL,
    id_no TEXT NOT NULL,
    body TEXT NOT NULL,
    role TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (enterprise, id_no)
) WITHOUT ROWID;
-- Their nucleic-acid tests.
CREATE TABLE IF NOT EXISTS staff_tests (
    enterprise TEXT NOT NULL,
    id_no TEXT NOT NULL,
    sampled_on TEXT NOT NULL,
    result TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (enterprise, id_no, sampled_on, result)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS staff_tests_person ON staff_tests(id_no, sampled_on);
"#;

type Row = (String, String, i64, Option<String>, Option<String>);

/// Every staff member in scope with the latest test and the latest negative test's day.
fn load(
    c: &rusqlite::Connection,
    cond: &str,
    arg: Option<String>,
) -> Result<Vec<(StaffEntry, Option<String>)>> {
    let sql = format!(
        "SELECT s.enterprise, s.body, s.registered_at,
            (SELECT t.body FROM staff_tests t WHERE t.enterprise = s.enterprise AND t.id_no = s.id_no
                ORDER BY t.sampled_on DESC, t.result DESC LIMIT 1),
            (SELECT MAX(t.sampled_on) FROM staff_tests t WHERE t.enterprise = s.enterprise AND t.id_no = s.id_no
                AND t.result = 'negative')
         FROM staff s JOIN enterprises e ON e.id = s.enterprise
         WHERE {cond} ORDER BY s.enterprise, s.id_no"
    );
    let mut st = c.prepare(&sql)?;
    let rows: Vec<Row> = st
        .query_map([arg], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(e, body, at, test, neg)| {
            Ok((
                StaffEntry {
                    enterprise: parse_uuid(&e)?,
                    member: serde_json::from_str(&body)?,
                    registered_at_ms: at,
                    last_test: test.map(|t| serde_json::from_str(&t)).transpose()?,
                },
                neg,
            ))
        })
        .collect()
}

/// Opens a finding for each staff member overdue at `now_ms` (one per member and day counted from), resolves
/// those a newer test settled.
pub(crate) fn sweep_staff(
    c: &rusqlite::Connection,
    now_ms: i64,
    every_days: u32,
) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let today = coldtrace_domain::time::day_at(now_ms);
    let mut expected = HashSet::new();
    for (s, neg) in load(
        c,
        "s.role = 'imported_cold_chain' AND (1 OR ?1 IS NULL)",
        None,
    )? {
        let last = neg.and_then(|d| d.parse().ok());
        let registered = coldtrace_domain::time::day_at(s.registered_at_ms);
        let Some(days) = overdue_days(s.member.role, last, registered, today, every_days) else {
            continue;
        };
        let since = last.unwrap_or(registered);
        let subject = format!("staff:{}:{}:{since}", s.enterprise, s.member.id_no);
        expected.insert(subject.clone());
        let exists = c
            .prepare_cached(
                "SELECT 1 FROM findings WHERE subject = ?1 AND status IN ('open', 'dismissed')",
            )?
            .exists([&subject])?;
        let message =
            coldtrace_domain::staff::overdue_message(&s.member, last, registered, days, every_days);
        if exists {
            c.prepare_cached(
                "UPDATE findings SET message = ?2 WHERE subject = ?1 AND status = 'open'",
            )?
            .execute(params![subject, message])?;
        } else {
            c.prepare_cached(
                "INSERT INTO findings (id, rule, subject, status, enterprise, province, message, opened_at)
                 VALUES (?1, 'staff_test_overdue', ?2, 'open', ?3,
                    (SELECT province FROM enterprises WHERE id = ?3), ?4, ?5)",
            )?
            .execute(params![
                Uuid::now_v7().to_string(),
                subject,
                s.enterprise.to_string(),
                message,
                now_ms
            ])?;
            report.opened += 1;
        }
    }
    // Open staff findings by their subjects' range (the open-findings index), not by scanning every finding.
    let open: Vec<(String, String)> = c
        .prepare_cached(
            "SELECT id, subject FROM findings WHERE status = 'open' AND subject > 'staff:' AND subject < 'staff;'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, subject) in open {
        if !expected.contains(&subject) {
            report.resolved += c
                .prepare_cached(&format!(
                    "{} WHERE id = ?2 AND status = 'open'",
                    resolve_by_records(1)
                ))?
                .execute(params![now_ms, id])? as u64;
        }
    }
    Ok(report)
}

#[async_trait]
impl StaffStore for SqliteStore {
    async fn put_staff(
        &self,
        enterprise: Uuid,
        members: Vec<StaffMember>,
        now_ms: i64,
    ) -> StoreResult<u64> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut new = 0;
            for m in &members {
                let existed = tx
                    .prepare_cached("SELECT 1 FROM staff WHERE enterprise = ?1 AND id_no = ?2")?
                    .exists(params![enterprise.to_string(), m.id_no])?;
                tx.prepare_cached(
                    "INSERT INTO staff (enterprise, id_no, body, role, registered_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (enterprise, id_no) DO UPDATE SET body = excluded.body, role = excluded.role,
                        -- Put on the schedule now: counted from today, not from when first registered.
                        registered_at = CASE WHEN staff.role != excluded.role THEN excluded.registered_at
                                             ELSE staff.registered_at END",
                )?
                .execute(params![
                    enterprise.to_string(),
                    m.id_no,
                    serde_json::to_string(m)?,
                    m.role.as_str(),
                    now_ms
                ])?;
                new += u64::from(!existed);
            }
            tx.commit()?;
            Ok(new)
        })
        .await
    }

    async fn last_tests(
        &self,
        people: Vec<(Uuid, String)>,
    ) -> StoreResult<std::collections::HashMap<(Uuid, String), StaffTest>> {
        self.read(move |c| {
            let mut out = std::collections::HashMap::new();
            let mut st = c.prepare_cached(
                "SELECT body FROM staff_tests WHERE enterprise = ?1 AND id_no = ?2
                 ORDER BY sampled_on DESC, result DESC LIMIT 1",
            )?;
            for (e, id) in people {
                let body: Option<String> = st
                    .query_row(params![e.to_string(), id], |r| r.get(0))
                    .optional()?;
                if let Some(b) = body {
                    out.insert((e, id), serde_json::from_str(&b)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn staff(&self, scope: Scope) -> StoreResult<Vec<StaffEntry>> {
        let (cond, arg) = scope_sql(&scope, "s.enterprise = ?1", "e.province = ?1", "?1");
        self.read(move |c| Ok(load(c, &cond, arg)?.into_iter().map(|(s, _)| s).collect()))
            .await
    }

    async fn put_staff_tests(
        &self,
        enterprise: Uuid,
        tests: Vec<StaffTest>,
        every_days: u32,
        now_ms: i64,
    ) -> StoreResult<u64> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut unknown = coldtrace_domain::ValidationErrors::default();
            let mut new = 0;
            for (i, t) in tests.iter().enumerate() {
                let member: Option<String> = tx
                    .prepare_cached("SELECT role FROM staff WHERE enterprise = ?1 AND id_no = ?2")?
                    .query_row(params![enterprise.to_string(), t.id_no], |r| r.get(0))
                    .optional()?;
                if member.is_none() {
                    unknown.push(format!("tests[{i}].id_no"), "is not on this enterprise's staff; register them first");
                    continue;
                }
                new += tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO staff_tests (enterprise, id_no, sampled_on, result, body, recorded_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        enterprise.to_string(),
                        t.id_no,
                        t.sampled_on.to_string(),
                        match t.result {
                            coldtrace_domain::TestResult::Positive => "positive",
                            _ => "negative",
                        },
                        serde_json::to_string(t)?,
                        now_ms
                    ])? as u64;
            }
            if !unknown.is_empty() {
                return Err(crate::StoreError::Invalid(unknown).into());
            }
            // A newer negative test settles an overdue finding now rather than at the next sweep.
            let prefix = format!("staff:{enterprise}:");
            // The enterprise's open staff findings, by their subjects' range (the open-findings index).
            let open: Vec<(String, String)> = tx
                .prepare_cached(
                    "SELECT id, subject FROM findings WHERE status = 'open' AND subject > ?1 AND subject < ?2",
                )?
                .query_map(params![prefix, format!("staff:{enterprise};")], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let today = coldtrace_domain::time::day_at(now_ms);
            for (id, subject) in open {
                let Some(rest) = subject.strip_prefix(&prefix) else { continue };
                let Some((id_no, since)) = rest.split_once(':') else { continue };
                // Settled by a negative test after the day it counted from that is itself within the schedule.
                let settled = tests.iter().any(|t| {
                    t.id_no == id_no
                        && t.result == coldtrace_domain::TestResult::Negative
                        && t.sampled_on.to_string().as_str() > since
                        && overdue_days(
                            coldtrace_domain::staff::StaffRole::ImportedColdChain,
                            Some(t.sampled_on),
                            t.sampled_on,
                            today,
                            every_days,
                        )
                        .is_none()
                });
                if settled {
                    tx.prepare_cached(&format!("{} WHERE id = ?2 AND status = 'open'", resolve_by_records(1)))?
                        .execute(params![now_ms, id])?;
                }
            }
            tx.commit()?;
            Ok(new)
        })
        .await
    }
}
