//! The census of cold-chain enterprises (冷链主体底数, replaced whole on each import), coverage by day, and the
//! per-enterprise figures of the bureau's statistics, on PostgreSQL.

use async_trait::async_trait;
use coldtrace_domain::ProvinceCode;
use coldtrace_domain::census::CensusEntry;
use coldtrace_store::{CensusStore, CoverageDay, EnterpriseActivity, Scope, UnregisteredParty};

use crate::findings::LOT_BALANCE;
use crate::ledger::CURRENT;
use crate::{Error, PgStore, Result};

type StoreResult<T> = coldtrace_store::Result<T>;

fn unreadable(e: serde_json::Error) -> Error {
    Error::Unreadable(format!("stored census entry: {e}"))
}

#[async_trait]
impl CensusStore for PgStore {
    async fn put_census(
        &self,
        province: ProvinceCode,
        by: String,
        entries: Vec<CensusEntry>,
        now_ms: i64,
    ) -> StoreResult<u64> {
        // Two imports at once: one after the other, the last one standing.
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        tx.execute(
            "DELETE FROM census WHERE province = $1",
            &[&province.as_str()],
        )
        .await
        .map_err(Error::from)?;
        let st = tx
            .prepare(
                "INSERT INTO census (province, seq, uscc, name, kind, region, body, imported_at, imported_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .await
            .map_err(Error::from)?;
        for (i, e) in entries.iter().enumerate() {
            let body = serde_json::to_string(e).map_err(unreadable)?;
            tx.execute(
                &st,
                &[
                    &province.as_str(),
                    &(i as i64),
                    &e.uscc.as_ref().map(|u| u.as_str()),
                    &e.name,
                    &e.kind.as_str(),
                    &e.region.as_str(),
                    &body,
                    &now_ms,
                    &by,
                ],
            )
            .await
            .map_err(Error::from)?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(entries.len() as u64)
    }

    async fn census(
        &self,
        province: ProvinceCode,
    ) -> StoreResult<(Vec<CensusEntry>, Option<(i64, String)>)> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT body, imported_at, imported_by FROM census WHERE province = $1 ORDER BY seq",
                &[&province.as_str()],
            )
            .await
            .map_err(Error::from)?;
        let when = rows.first().map(|r| (r.get(1), r.get(2)));
        let entries = rows
            .iter()
            .map(|r| serde_json::from_str(r.get(0)).map_err(unreadable))
            .collect::<Result<Vec<CensusEntry>>>()?;
        Ok((entries, when))
    }

    async fn activity(&self, scope: Scope) -> StoreResult<Vec<EnterpriseActivity>> {
        let (cond, arg) = match &scope {
            Scope::All => ("($1::TEXT IS NULL OR TRUE)", None),
            Scope::Nothing => return Ok(vec![]),
            Scope::Enterprise(e) => ("chain.root = $1::TEXT::UUID", Some(e.to_string())),
            Scope::Province(p) => ("e.province = $1", Some(p.as_str().to_string())),
        };
        // Each enterprise as last corrected, with the figures of its first version's id (keys, movements, lots
        // and findings name an enterprise by that id, whatever its corrections).
        let sql = format!(
            "WITH RECURSIVE chain(root, id) AS (
                SELECT id, id FROM enterprises WHERE corrects IS NULL
                UNION ALL SELECT chain.root, n.id FROM enterprises n JOIN chain ON n.corrects = chain.id)
             SELECT chain.root, e.uscc, e.name, e.kind, e.region,
                (e.body::json->>'self_commitment')::BOOLEAN, e.body::json->>'self_commitment_on',
                (SELECT m.recorded_at FROM movements m WHERE m.holder = (SELECT n FROM ids WHERE id = chain.root)
                    ORDER BY m.seq DESC LIMIT 1),
                (SELECT COUNT(*) FROM lot_stock ls WHERE ls.holder = (SELECT n FROM ids WHERE id = chain.root)),
                (SELECT COUNT(*) FROM lot_stock ls WHERE ls.holder = (SELECT n FROM ids WHERE id = chain.root)
                    AND {LOT_BALANCE} > 0),
                (SELECT COUNT(*) FROM findings f WHERE f.enterprise = chain.root::TEXT AND f.status = 'open'),
                (SELECT COUNT(DISTINCT f.batch) FROM findings f
                    WHERE f.enterprise = chain.root::TEXT AND f.status = 'open' AND f.batch IS NOT NULL)
             FROM chain JOIN enterprises e ON e.id = chain.id
             WHERE NOT EXISTS (SELECT 1 FROM enterprises n WHERE n.corrects = e.id) AND {cond}
             ORDER BY e.region COLLATE \"C\", e.kind COLLATE \"C\", e.name COLLATE \"C\""
        );
        let c = self.client().await?;
        Ok(c.query(&sql, &[&arg])
            .await
            .map_err(Error::from)?
            .iter()
            .map(|r| EnterpriseActivity {
                enterprise: r.get(0),
                uscc: r.get(1),
                name: r.get(2),
                kind: r.get(3),
                region: r.get(4),
                self_commitment: r.get::<_, Option<bool>>(5).unwrap_or(false),
                self_commitment_on: r.get(6),
                last_reported_ms: r.get(7),
                lots: r.get::<_, i64>(8) as u64,
                lots_on_hand: r.get::<_, i64>(9) as u64,
                findings_open: r.get::<_, i64>(10) as u64,
                flagged_lots: r.get::<_, i64>(11) as u64,
            })
            .collect())
    }

    async fn unregistered_parties(
        &self,
        province: ProvinceCode,
        limit: u32,
    ) -> StoreResult<Vec<UnregisteredParty>> {
        let c = self.client().await?;
        Ok(c.query(
            &format!(
                "SELECT cp.uscc, MAX(cp.name COLLATE \"C\"), COUNT(*), MAX(m.at_ms)
                 FROM counterparties cp
                 JOIN movements m ON m.holder_province = $1 AND m.counterparty = cp.n
                    AND m.counterparty_id IS NULL
                 WHERE cp.uscc != '' AND substr(cp.uscc, 3, 2) = $1 AND {CURRENT}
                   -- Registered since the movement was written: no longer unknown.
                   AND NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.uscc = cp.uscc)
                 GROUP BY cp.uscc ORDER BY COUNT(*) DESC, cp.uscc COLLATE \"C\" LIMIT $2"
            ),
            &[&province.as_str(), &i64::from(limit)],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| UnregisteredParty {
            uscc: r.get(0),
            name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            movements: r.get::<_, i64>(2) as u64,
            last_at_ms: r.get(3),
        })
        .collect())
    }

    async fn record_coverage(
        &self,
        province: ProvinceCode,
        rows: Vec<CoverageDay>,
    ) -> StoreResult<()> {
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        // The day's rows are replaced whole: a city and kind gone from the census goes from the day too.
        let days: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.day.as_str()).collect();
        for day in days {
            tx.execute(
                "DELETE FROM coverage_daily WHERE province = $1 AND day = $2",
                &[&province.as_str(), &day],
            )
            .await
            .map_err(Error::from)?;
        }
        for r in &rows {
            tx.execute(
                "INSERT INTO coverage_daily (province, day, city, kind, census, registered)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (province, day, city, kind) DO UPDATE SET census = EXCLUDED.census,
                    registered = EXCLUDED.registered",
                &[
                    &province.as_str(),
                    &r.day,
                    &r.city,
                    &r.kind,
                    &(r.census as i64),
                    &(r.registered as i64),
                ],
            )
            .await
            .map_err(Error::from)?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(())
    }

    async fn coverage_history(
        &self,
        province: ProvinceCode,
        since_day: String,
    ) -> StoreResult<Vec<CoverageDay>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT day, city, kind, census, registered FROM coverage_daily
             WHERE province = $1 AND day >= $2 ORDER BY day, city COLLATE \"C\", kind COLLATE \"C\"",
            &[&province.as_str(), &since_day],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| CoverageDay {
            day: r.get(0),
            city: r.get(1),
            kind: r.get(2),
            census: r.get::<_, i64>(3) as u64,
            registered: r.get::<_, i64>(4) as u64,
        })
        .collect())
    }
}
