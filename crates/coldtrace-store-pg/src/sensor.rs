//! Temperature readings (温度记录) and the excursion findings they open, in the transaction that stores them, on
//! PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use coldtrace_domain::checks::{Policy, Windows};
use coldtrace_domain::sensor::{Reading, Subject, excursions};
use coldtrace_store::{SensorReceipt, SensorStore};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::findings::LOT_BALANCE;
use crate::{Error, PgStore, Result};

type StoreResult<T> = coldtrace_store::Result<T>;

/// A lot a subject's readings speak for: batch id, first in, last movement, balance now.
type Lot = (Uuid, Option<i64>, Option<i64>, i64);

/// The lots a subject's readings speak for, at the enterprise that sent them, with the window their goods were
/// there (first in, last movement).
async fn lots_of(c: &impl GenericClient, enterprise: Uuid, subject: &Subject) -> Result<Vec<Lot>> {
    let cols = format!(
        "(SELECT id FROM ids WHERE n = ls.batch), COALESCE(ls.first_in, ls.first_out), ls.last_at,
         ({LOT_BALANCE})::BIGINT"
    );
    let holder = "(SELECT n FROM ids WHERE id = $1)";
    let sql = match subject {
        Subject::Code(_) => format!(
            "SELECT {cols} FROM trace_codes tc
             JOIN lot_stock ls ON ls.batch = (SELECT n FROM ids WHERE id = tc.batch_id) AND ls.holder = {holder}
             WHERE tc.key = $2"
        ),
        Subject::Container(_) => format!(
            "SELECT {cols} FROM batches b
             JOIN lot_stock ls ON ls.batch = (SELECT n FROM ids WHERE id = b.id) AND ls.holder = {holder}
             WHERE b.body::json->>'container_no' = $2
               AND NOT EXISTS (SELECT 1 FROM batches n WHERE n.corrects = b.id)"
        ),
        Subject::Place(p) if p.is_empty() => {
            format!("SELECT {cols} FROM lot_stock ls WHERE ls.holder = {holder} AND $2 = ''")
        }
        Subject::Place(_) => format!(
            "SELECT {cols} FROM lot_stock ls WHERE ls.holder = {holder} AND EXISTS (SELECT 1 FROM movements m
               WHERE m.batch = ls.batch AND m.holder = ls.holder AND m.location = $2)"
        ),
    };
    let arg = match subject {
        Subject::Code(k) => k,
        Subject::Container(n) => n,
        Subject::Place(p) => p,
    };
    Ok(c.query(&sql, &[&enterprise, arg])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

#[async_trait]
impl SensorStore for PgStore {
    async fn put_readings(
        &self,
        enterprise: Uuid,
        readings: Vec<Reading>,
        windows: Windows,
        policy: Policy,
        now_ms: i64,
    ) -> StoreResult<SensorReceipt> {
        // Under the submission lock: two feeds of the same enterprise read each other's readings, and findings
        // are written one writer at a time.
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        let mut receipt = SensorReceipt::default();
        // Each series touched, and the span of its new readings.
        let mut touched: BTreeMap<(Subject, String), (i64, i64)> = BTreeMap::new();
        let insert = tx
            .prepare(
                "INSERT INTO sensor_readings (enterprise, subject, device, at, celsius) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(Error::from)?;
        for r in &readings {
            receipt.stored += tx
                .execute(
                    &insert,
                    &[
                        &enterprise,
                        &r.subject.key(),
                        &r.device,
                        &r.at_ms,
                        &r.celsius,
                    ],
                )
                .await
                .map_err(Error::from)?;
            let span = touched
                .entry((r.subject.clone(), r.device.clone()))
                .or_insert((r.at_ms, r.at_ms));
            span.0 = span.0.min(r.at_ms);
            span.1 = span.1.max(r.at_ms);
        }
        if policy == Policy::Off {
            tx.commit().await.map_err(Error::from)?;
            return Ok(receipt);
        }
        let province: Option<String> = tx
            .query_opt(
                "SELECT province FROM enterprises WHERE id = $1",
                &[&enterprise],
            )
            .await
            .map_err(Error::from)?
            .map(|r| r.get(0));
        let mut seen = BTreeSet::new();
        for ((subject, device), (lo, hi)) in touched {
            // The series around the new readings (a week back, a day on), so a run is read from its start.
            let series: Vec<(i64, f64)> = tx
                .query(
                    "SELECT at, celsius FROM sensor_readings WHERE enterprise = $1 AND subject = $2
                       AND device = $3 AND at BETWEEN $4 AND $5 ORDER BY at",
                    &[
                        &enterprise,
                        &subject.key(),
                        &device,
                        &(lo - 7 * 86_400_000),
                        &(hi + 86_400_000),
                    ],
                )
                .await
                .map_err(Error::from)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            for (batch, first_in, last_at, balance) in lots_of(&*tx, enterprise, &subject).await? {
                let category: Option<String> = tx
                    .query_opt(
                        "SELECT p.body::json->>'category' FROM batches b JOIN products p ON p.id = b.product
                         WHERE b.id = $1",
                        &[&batch],
                    )
                    .await
                    .map_err(Error::from)?
                    .and_then(|r| r.get(0));
                let limit = category
                    .and_then(|c| coldtrace_domain::product::ProductCategory::parse(&c).ok())
                    .map(|c| windows.max_c(c))
                    .unwrap_or(windows.other_max_c);
                for x in excursions(&series, f64::from(limit), windows.excursion_minutes) {
                    // A lot counts when its goods were at the sender: in before the excursion ended, and still
                    // there or moved after it began (a former holder's readings of another time do not).
                    if first_in.is_none_or(|f| f > x.to_ms)
                        || (balance <= 0 && last_at.is_none_or(|l| l < x.from_ms))
                    {
                        continue;
                    }
                    if seen.insert((batch, x.from_ms)) {
                        receipt.excursions += 1;
                    }
                    let key = format!("temp:{batch}:{enterprise}:{}", x.from_ms);
                    let exists = tx
                        .query_opt("SELECT 1 FROM findings WHERE subject = $1", &[&key])
                        .await
                        .map_err(Error::from)?
                        .is_some();
                    if exists {
                        continue;
                    }
                    let message = x.message(&subject, &device, limit, windows.excursion_minutes);
                    tx.execute(
                        "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, message,
                            opened_at)
                         VALUES ($1, 'temperature_excursion', $2, 'open', $3, $4, $5, $6, $7)",
                        &[
                            &Uuid::now_v7(),
                            &key,
                            &enterprise.to_string(),
                            &province,
                            &batch,
                            &message,
                            &now_ms,
                        ],
                    )
                    .await
                    .map_err(Error::from)?;
                    receipt.findings_opened += 1;
                }
            }
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(receipt)
    }

    async fn excursion_batches(&self, batches: Vec<Uuid>) -> StoreResult<BTreeSet<Uuid>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT DISTINCT batch FROM findings WHERE rule = 'temperature_excursion' AND batch = ANY($1)
               AND status != 'dismissed'",
            &[&batches],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| r.get(0))
        .collect())
    }
}
