//! Temperature readings (温度记录) and the excursion findings they open, in the transaction that stores them.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use coldtrace_domain::checks::{Policy, Windows};
use coldtrace_domain::sensor::{Reading, Subject, excursions};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::*;
use crate::SensorReceipt;
use crate::schema::LOT_BALANCE as BALANCE;

pub(crate) const SCHEMA: &str = r#"
-- Temperature readings of each enterprise's cold stores, reefers and sensors, by subject (code:…, container:…,
-- place:…) and device.
CREATE TABLE IF NOT EXISTS sensor_readings (
    enterprise TEXT NOT NULL,
    subject TEXT NOT NULL,
    device TEXT NOT NULL,
    at INTEGER NOT NULL,
    celsius REAL NOT NULL,
    PRIMARY KEY (enterprise, subject, device, at)
) WITHOUT ROWID;
"#;

/// A lot a subject's readings speak for: batch id, first in, last movement, balance now.
type Lot = (String, Option<i64>, Option<i64>, i64);

/// The lots (batch ids) a subject's readings speak for, at the enterprise that sent them, with the window their
/// goods were there (first in, last movement; none for a lot named directly).
fn lots_of(c: &rusqlite::Connection, enterprise: &str, subject: &Subject) -> Result<Vec<Lot>> {
    let sql = match subject {
        Subject::Code(_) => format!(
            "SELECT (SELECT id FROM ids WHERE n = ls.batch), COALESCE(ls.first_in, ls.first_out), ls.last_at, {BALANCE}
             FROM trace_codes tc JOIN lot_stock ls ON ls.batch = (SELECT n FROM ids WHERE id = tc.batch_id) AND ls.holder = (SELECT n FROM ids WHERE id = ?1)
             WHERE tc.key = ?2"
        ),
        Subject::Container(_) => format!(
            "SELECT (SELECT id FROM ids WHERE n = ls.batch), COALESCE(ls.first_in, ls.first_out), ls.last_at, {BALANCE} FROM batches b
               JOIN lot_stock ls ON ls.batch = (SELECT n FROM ids WHERE id = b.id) AND ls.holder = (SELECT n FROM ids WHERE id = ?1)
               WHERE json_extract(b.body, '$.container_no') = ?2
                 AND NOT EXISTS (SELECT 1 FROM batches n WHERE n.corrects = b.id)"
        ),
        Subject::Place(p) if p.is_empty() => format!(
            "SELECT (SELECT id FROM ids WHERE n = ls.batch), COALESCE(ls.first_in, ls.first_out), ls.last_at, {BALANCE} FROM lot_stock ls
             WHERE ls.holder = (SELECT n FROM ids WHERE id = ?1) AND ?2 = ''"
        ),
        Subject::Place(_) => format!(
            "SELECT (SELECT id FROM ids WHERE n = ls.batch), COALESCE(ls.first_in, ls.first_out), ls.last_at, {BALANCE} FROM lot_stock ls
             WHERE ls.holder = (SELECT n FROM ids WHERE id = ?1) AND EXISTS (SELECT 1 FROM movements m
               WHERE m.batch = ls.batch AND m.holder = ls.holder AND m.location = ?2)"
        ),
    };
    let arg = match subject {
        Subject::Code(k) => k.clone(),
        Subject::Container(n) => n.clone(),
        Subject::Place(p) => p.clone(),
    };
    let rows = c
        .prepare_cached(&sql)?
        .query_map(params![enterprise, arg], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[async_trait]
impl SensorStore for SqliteStore {
    async fn put_readings(
        &self,
        enterprise: Uuid,
        readings: Vec<Reading>,
        windows: Windows,
        policy: Policy,
        now_ms: i64,
    ) -> StoreResult<SensorReceipt> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let ent = enterprise.to_string();
            let mut receipt = SensorReceipt::default();
            // Each series touched, and the span of its new readings.
            let mut touched: BTreeMap<(Subject, String), (i64, i64)> = BTreeMap::new();
            for r in &readings {
                let n = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO sensor_readings (enterprise, subject, device, at, celsius)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![ent, r.subject.key(), r.device, r.at_ms, r.celsius])?;
                receipt.stored += n as u64;
                let span = touched
                    .entry((r.subject.clone(), r.device.clone()))
                    .or_insert((r.at_ms, r.at_ms));
                span.0 = span.0.min(r.at_ms);
                span.1 = span.1.max(r.at_ms);
            }
            if policy == Policy::Off {
                tx.commit()?;
                return Ok(receipt);
            }
            let province: Option<String> = tx
                .prepare_cached("SELECT province FROM enterprises WHERE id = ?1 ORDER BY seq DESC LIMIT 1")?
                .query_row([&ent], |r| r.get(0))
                .optional()?;
            let mut seen = BTreeSet::new();
            for ((subject, device), (lo, hi)) in touched {
                // The series around the new readings (a week back, a day on), so a run is read from its start.
                let series: Vec<(i64, f64)> = tx
                    .prepare_cached(
                        "SELECT at, celsius FROM sensor_readings WHERE enterprise = ?1 AND subject = ?2
                           AND device = ?3 AND at BETWEEN ?4 AND ?5 ORDER BY at",
                    )?
                    .query_map(
                        params![ent, subject.key(), device, lo - 7 * 86_400_000, hi + 86_400_000],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .collect::<rusqlite::Result<_>>()?;
                for (batch, first_in, last_at, balance) in lots_of(&tx, &ent, &subject)? {
                    let category: Option<String> = tx
                        .prepare_cached(
                            "SELECT json_extract(p.body, '$.category') FROM batches b JOIN products p ON p.id = b.product
                             WHERE b.id = ?1",
                        )?
                        .query_row([&batch], |r| r.get(0))
                        .optional()?
                        .flatten();
                    let limit = category
                        .and_then(|c| coldtrace_domain::product::ProductCategory::parse(&c).ok())
                        .map(|c| windows.max_c(c))
                        .unwrap_or(windows.other_max_c);
                    for x in excursions(&series, f64::from(limit), windows.excursion_minutes) {
                        // A lot counts when its goods were at the sender: in before the excursion ended, and
                        // still there or moved after it began (a former holder's readings of another time do not).
                        if first_in.is_none_or(|f| f > x.to_ms)
                            || (balance <= 0 && last_at.is_none_or(|l| l < x.from_ms))
                        {
                            continue;
                        }
                        if seen.insert((batch.clone(), x.from_ms)) {
                            receipt.excursions += 1;
                        }
                        let key = format!("temp:{batch}:{ent}:{}", x.from_ms);
                        let exists = tx
                            .prepare_cached("SELECT 1 FROM findings WHERE subject = ?1")?
                            .exists([&key])?;
                        if exists {
                            continue;
                        }
                        let message = x.message(&subject, &device, limit, windows.excursion_minutes);
                        tx.prepare_cached(
                            "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, message, opened_at)
                             VALUES (?1, 'temperature_excursion', ?2, 'open', ?3, ?4, ?5, ?6, ?7)",
                        )?
                        .execute(params![
                            Uuid::now_v7().to_string(),
                            key,
                            ent,
                            province,
                            batch,
                            message,
                            now_ms
                        ])?;
                        receipt.findings_opened += 1;
                    }
                }
            }
            tx.commit()?;
            Ok(receipt)
        })
        .await
    }

    async fn excursion_batches(&self, batches: Vec<Uuid>) -> StoreResult<BTreeSet<Uuid>> {
        self.read(move |c| {
            let mut out = BTreeSet::new();
            let mut st = c.prepare_cached(
                "SELECT 1 FROM findings WHERE rule = 'temperature_excursion' AND batch = ?1 AND status != 'dismissed' LIMIT 1",
            )?;
            for b in batches {
                if st.exists([b.to_string()])? {
                    out.insert(b);
                }
            }
            Ok(out)
        })
        .await
    }
}
