//! Enterprises' staff registries (从业人员), their nucleic-acid tests, and the sweep's overdue findings
//! (`CT-STAFF`), on PostgreSQL.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use coldtrace_domain::staff::{StaffMember, StaffRole, StaffTest, overdue_days};
use coldtrace_domain::{TestResult, ValidationErrors};
use coldtrace_store::{Scope, StaffEntry, StaffStore, StoreError, SweepReport};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::ledger::RESOLVE_BY_RECORDS;
use crate::{Error, PgStore, Result};

type StoreResult<T> = coldtrace_store::Result<T>;

fn unreadable(e: serde_json::Error) -> Error {
    Error::Unreadable(format!("stored staff record: {e}"))
}

/// Every staff member under a condition (on `s` and `e`, parameter `$1` as text) with the latest test and the
/// latest negative test's day.
async fn load(
    c: &impl GenericClient,
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
         WHERE {cond} ORDER BY s.enterprise, s.id_no COLLATE \"C\""
    );
    c.query(&sql, &[&arg])
        .await?
        .iter()
        .map(|r| {
            let test: Option<String> = r.get(3);
            Ok((
                StaffEntry {
                    enterprise: r.get(0),
                    member: serde_json::from_str(r.get(1)).map_err(unreadable)?,
                    registered_at_ms: r.get(2),
                    last_test: test
                        .map(|t| serde_json::from_str(&t))
                        .transpose()
                        .map_err(unreadable)?,
                },
                r.get(4),
            ))
        })
        .collect()
}

/// Opens a finding for each staff member overdue at `now_ms` (one per member and day counted from), resolves
/// those a newer test settled.
pub(crate) async fn sweep_staff(
    c: &impl GenericClient,
    now_ms: i64,
    every_days: u32,
) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let today = coldtrace_domain::time::day_at(now_ms);
    let mut expected = HashSet::new();
    for (s, neg) in load(
        c,
        "s.role = 'imported_cold_chain' AND ($1::TEXT IS NULL OR TRUE)",
        None,
    )
    .await?
    {
        let last = neg.and_then(|d| d.parse().ok());
        let registered = coldtrace_domain::time::day_at(s.registered_at_ms);
        let Some(days) = overdue_days(s.member.role, last, registered, today, every_days) else {
            continue;
        };
        let since = last.unwrap_or(registered);
        let subject = format!("staff:{}:{}:{since}", s.enterprise, s.member.id_no);
        expected.insert(subject.clone());
        let exists = c
            .query_opt(
                "SELECT 1 FROM findings WHERE subject = $1 AND status IN ('open', 'dismissed')",
                &[&subject],
            )
            .await?
            .is_some();
        let message =
            coldtrace_domain::staff::overdue_message(&s.member, last, registered, days, every_days);
        if exists {
            c.execute(
                "UPDATE findings SET message = $2 WHERE subject = $1 AND status = 'open'",
                &[&subject, &message],
            )
            .await?;
        } else {
            c.execute(
                "INSERT INTO findings (id, rule, subject, status, enterprise, province, message, opened_at)
                 VALUES ($1, 'staff_test_overdue', $2, 'open', $3::UUID::TEXT,
                    (SELECT province FROM enterprises WHERE id = $3), $4, $5)",
                &[&Uuid::now_v7(), &subject, &s.enterprise, &message, &now_ms],
            )
            .await?;
            report.opened += 1;
        }
    }
    for r in c
        .query(
            "SELECT id, subject FROM findings WHERE status = 'open' AND starts_with(subject, 'staff:')",
            &[],
        )
        .await?
    {
        let (id, subject): (Uuid, String) = (r.get(0), r.get(1));
        if !expected.contains(&subject) {
            report.resolved += c
                .execute(
                    &format!("{RESOLVE_BY_RECORDS} WHERE id = $2 AND status = 'open'"),
                    &[&now_ms, &id],
                )
                .await?;
        }
    }
    Ok(report)
}

#[async_trait]
impl StaffStore for PgStore {
    async fn put_staff(
        &self,
        enterprise: Uuid,
        members: Vec<StaffMember>,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        let mut new = 0;
        for m in &members {
            let body = serde_json::to_string(m).map_err(unreadable)?;
            // xmax = 0 on the returned row: it was inserted, not updated.
            let inserted: bool = tx
                .query_one(
                    "INSERT INTO staff AS s (enterprise, id_no, body, role, registered_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (enterprise, id_no) DO UPDATE SET body = EXCLUDED.body, role = EXCLUDED.role,
                        -- Put on the schedule now: counted from today, not from when first registered.
                        registered_at = CASE WHEN s.role != EXCLUDED.role THEN EXCLUDED.registered_at
                                             ELSE s.registered_at END
                     RETURNING (xmax = 0)",
                    &[&enterprise, &m.id_no, &body, &m.role.as_str(), &now_ms],
                )
                .await
                .map_err(Error::from)?
                .get(0);
            new += u64::from(inserted);
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(new)
    }

    async fn staff(&self, scope: Scope) -> StoreResult<Vec<StaffEntry>> {
        let (cond, arg) = match &scope {
            Scope::All => ("($1::TEXT IS NULL OR TRUE)", None),
            Scope::Nothing => return Ok(vec![]),
            Scope::Enterprise(e) => ("s.enterprise = $1::TEXT::UUID", Some(e.to_string())),
            Scope::Province(p) => ("e.province = $1", Some(p.as_str().to_string())),
        };
        let c = self.client().await?;
        Ok(load(&**c, cond, arg)
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    async fn put_staff_tests(
        &self,
        enterprise: Uuid,
        tests: Vec<StaffTest>,
        every_days: u32,
        now_ms: i64,
    ) -> StoreResult<u64> {
        // Under the submission lock: the sweep, which opens overdue findings, does not interleave.
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        let mut unknown = ValidationErrors::default();
        let mut new = 0;
        for (i, t) in tests.iter().enumerate() {
            let member = tx
                .query_opt(
                    "SELECT 1 FROM staff WHERE enterprise = $1 AND id_no = $2",
                    &[&enterprise, &t.id_no],
                )
                .await
                .map_err(Error::from)?;
            if member.is_none() {
                unknown.push(
                    format!("tests[{i}].id_no"),
                    "is not on this enterprise's staff; register them first",
                );
                continue;
            }
            let result = match t.result {
                TestResult::Positive => "positive",
                _ => "negative",
            };
            let body = serde_json::to_string(t).map_err(unreadable)?;
            new += tx
                .execute(
                    "INSERT INTO staff_tests (enterprise, id_no, sampled_on, result, body, recorded_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    &[
                        &enterprise,
                        &t.id_no,
                        &t.sampled_on.to_string(),
                        &result,
                        &body,
                        &now_ms,
                    ],
                )
                .await
                .map_err(Error::from)?;
        }
        if !unknown.is_empty() {
            return Err(StoreError::Invalid(unknown));
        }
        // A newer negative test settles an overdue finding now rather than at the next sweep.
        let prefix = format!("staff:{enterprise}:");
        let today = coldtrace_domain::time::day_at(now_ms);
        for r in tx
            .query(
                "SELECT id, subject FROM findings WHERE status = 'open' AND starts_with(subject, $1)",
                &[&prefix],
            )
            .await
            .map_err(Error::from)?
        {
            let (id, subject): (Uuid, String) = (r.get(0), r.get(1));
            let Some(rest) = subject.strip_prefix(&prefix) else {
                continue;
            };
            let Some((id_no, since)) = rest.split_once(':') else {
                continue;
            };
            // Settled by a negative test after the day it counted from that is itself within the schedule.
            let settled = tests.iter().any(|t| {
                t.id_no == id_no
                    && t.result == TestResult::Negative
                    && t.sampled_on.to_string().as_str() > since
                    && overdue_days(
                        StaffRole::ImportedColdChain,
                        Some(t.sampled_on),
                        t.sampled_on,
                        today,
                        every_days,
                    )
                    .is_none()
            });
            if settled {
                tx.execute(
                    &format!("{RESOLVE_BY_RECORDS} WHERE id = $2 AND status = 'open'"),
                    &[&now_ms, &id],
                )
                .await
                .map_err(Error::from)?;
            }
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(new)
    }

    async fn last_tests(
        &self,
        people: Vec<(Uuid, String)>,
    ) -> StoreResult<HashMap<(Uuid, String), StaffTest>> {
        let c = self.client().await?;
        let mut out = HashMap::new();
        for (e, id) in people {
            let body: Option<String> = c
                .query_opt(
                    "SELECT body FROM staff_tests WHERE enterprise = $1 AND id_no = $2
                     ORDER BY sampled_on DESC, result DESC LIMIT 1",
                    &[&e, &id],
                )
                .await
                .map_err(Error::from)?
                .map(|r| r.get(0));
            if let Some(b) = body {
                out.insert((e, id), serde_json::from_str(&b).map_err(unreadable)?);
            }
        }
        Ok(out)
    }
}
