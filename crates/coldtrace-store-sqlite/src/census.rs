//! The census of cold-chain enterprises (replaced whole on each import), coverage by day, and the per-enterprise
//! figures of the bureau's statistics.

use async_trait::async_trait;
use coldtrace_domain::ProvinceCode;
use coldtrace_domain::census::CensusEntry;
use rusqlite::params;

use super::*;
use crate::schema::{CURRENT, LOT_BALANCE as BALANCE};
use crate::{CoverageDay, EnterpriseActivity, UnregisteredParty};

pub(crate) const SCHEMA: &str = r#"
-- The census of cold-chain enterprises (冷链主体底数) per province, as last imported.
CREATE TABLE IF NOT EXISTS census (
    province TEXT NOT NULL,
    seq INTEGER NOT NULL,
    uscc TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    body TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    imported_by TEXT NOT NULL,
    PRIMARY KEY (province, seq)
) WITHOUT ROWID;
-- Coverage by day (UTC+8), city and kind, as the sweeps recorded it.
CREATE TABLE IF NOT EXISTS coverage_daily (
    province TEXT NOT NULL,
    day TEXT NOT NULL,
    city TEXT NOT NULL,
    kind TEXT NOT NULL,
    census INTEGER NOT NULL,
    registered INTEGER NOT NULL,
    PRIMARY KEY (province, day, city, kind)
) WITHOUT ROWID;
"#;

#[async_trait]
impl CensusStore for SqliteStore {
    async fn put_census(
        &self,
        province: ProvinceCode,
        by: String,
        entries: Vec<CensusEntry>,
        now_ms: i64,
    ) -> StoreResult<u64> {
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM census WHERE province = ?1", [province.as_str()])?;
            {
                let mut s = tx.prepare_cached(
                    "INSERT INTO census (province, seq, uscc, name, kind, region, body, imported_at, imported_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for (i, e) in entries.iter().enumerate() {
                    s.execute(params![
                        province.as_str(),
                        i as i64,
                        e.uscc.as_ref().map(|u| u.as_str().to_string()),
                        e.name,
                        e.kind.as_str(),
                        e.region.as_str(),
                        serde_json::to_string(e)?,
                        now_ms,
                        by
                    ])?;
                }
            }
            tx.commit()?;
            Ok(entries.len() as u64)
        })
        .await
    }

    async fn census(
        &self,
        province: ProvinceCode,
    ) -> StoreResult<(Vec<CensusEntry>, Option<(i64, String)>)> {
        self.read(move |c| {
            let mut s = c.prepare_cached(
                "SELECT body, imported_at, imported_by FROM census WHERE province = ?1 ORDER BY seq",
            )?;
            let rows = s
                .query_map([province.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let when = rows.first().map(|(_, at, by)| (*at, by.clone()));
            let entries = rows
                .into_iter()
                .map(|(body, _, _)| serde_json::from_str(&body).map_err(Into::into))
                .collect::<Result<Vec<CensusEntry>>>()?;
            Ok((entries, when))
        })
        .await
    }

    async fn activity(&self, scope: Scope) -> StoreResult<Vec<EnterpriseActivity>> {
        let (cond, arg) = scope_sql(&scope, "chain.root = ?1", "e.province = ?1", "?1");
        self.read(move |c| {
            // Each enterprise as last corrected, with the figures of its first version's id (keys, movements,
            // lots and findings name an enterprise by that id, whatever its corrections).
            let sql = format!(
                "WITH RECURSIVE chain(root, id) AS (
                    SELECT id, id FROM enterprises WHERE corrects IS NULL
                    UNION ALL SELECT chain.root, n.id FROM enterprises n JOIN chain ON n.corrects = chain.id)
                 SELECT chain.root, e.uscc, e.name, e.kind, e.region,
                    json_extract(e.body, '$.self_commitment'), json_extract(e.body, '$.self_commitment_on'),
                    (SELECT m.recorded_at FROM movements m WHERE m.holder = (SELECT n FROM ids WHERE id = chain.root)
                        ORDER BY m.seq DESC LIMIT 1),
                    (SELECT COUNT(*) FROM lot_stock ls WHERE ls.holder = (SELECT n FROM ids WHERE id = chain.root)),
                    (SELECT COUNT(*) FROM lot_stock ls WHERE ls.holder = (SELECT n FROM ids WHERE id = chain.root) AND {BALANCE} > 0),
                    (SELECT COUNT(*) FROM findings f WHERE f.enterprise = chain.root AND f.status = 'open'),
                    (SELECT COUNT(DISTINCT f.batch) FROM findings f
                        WHERE f.enterprise = chain.root AND f.status = 'open' AND f.batch IS NOT NULL)
                 FROM chain JOIN enterprises e ON e.id = chain.id
                 WHERE NOT EXISTS (SELECT 1 FROM enterprises n WHERE n.corrects = e.id) AND {cond}
                 ORDER BY e.region, e.kind, e.name"
            );
            let mut s = c.prepare(&sql)?;
            let rows = s
                .query_map([arg], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        EnterpriseActivity {
                            enterprise: uuid::Uuid::nil(),
                            uscc: r.get(1)?,
                            name: r.get(2)?,
                            kind: r.get(3)?,
                            region: r.get(4)?,
                            self_commitment: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
                            self_commitment_on: r.get(6)?,
                            last_reported_ms: r.get(7)?,
                            lots: r.get::<_, i64>(8)? as u64,
                            lots_on_hand: r.get::<_, i64>(9)? as u64,
                            findings_open: r.get::<_, i64>(10)? as u64,
                            flagged_lots: r.get::<_, i64>(11)? as u64,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, mut a)| {
                    a.enterprise = parse_uuid(&id)?;
                    Ok(a)
                })
                .collect()
        })
        .await
    }

    async fn unregistered_parties(
        &self,
        province: ProvinceCode,
        limit: u32,
    ) -> StoreResult<Vec<UnregisteredParty>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(
                &format!(
                    "SELECT cp.uscc, MAX(cp.name), COUNT(*), MAX(m.at_ms)
                     -- The counterparties named by a USCC of this province first, then their movements here.
                     FROM counterparties cp INDEXED BY counterparties_uscc
                     CROSS JOIN movements m INDEXED BY movements_unregistered
                        ON m.holder_province = ?1 AND m.counterparty = cp.n AND m.counterparty_id IS NULL
                     WHERE cp.uscc != '' AND substr(cp.uscc, 3, 2) = ?1 AND {CURRENT}
                       -- Registered since the movement was written: no longer unknown.
                       AND NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.uscc = cp.uscc)
                     GROUP BY cp.uscc ORDER BY COUNT(*) DESC, cp.uscc LIMIT ?2"
                ),
            )?;
            let rows = s
                .query_map(params![province.as_str(), limit], |r| {
                    Ok(UnregisteredParty {
                        uscc: r.get(0)?,
                        name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        movements: r.get::<_, i64>(2)? as u64,
                        last_at_ms: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn record_coverage(
        &self,
        province: ProvinceCode,
        rows: Vec<CoverageDay>,
    ) -> StoreResult<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            // The day's rows are replaced whole: a city and kind gone from the census goes from the day too.
            let days: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.day.as_str()).collect();
            for day in days {
                tx.execute(
                    "DELETE FROM coverage_daily WHERE province = ?1 AND day = ?2",
                    params![province.as_str(), day],
                )?;
            }
            for r in &rows {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO coverage_daily (province, day, city, kind, census, registered)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    province.as_str(),
                    r.day,
                    r.city,
                    r.kind,
                    r.census as i64,
                    r.registered as i64
                ])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn coverage_history(
        &self,
        province: ProvinceCode,
        since_day: String,
    ) -> StoreResult<Vec<CoverageDay>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(
                "SELECT day, city, kind, census, registered FROM coverage_daily
                 WHERE province = ?1 AND day >= ?2 ORDER BY day, city, kind",
            )?;
            let rows = s
                .query_map(params![province.as_str(), since_day], |r| {
                    Ok(CoverageDay {
                        day: r.get(0)?,
                        city: r.get(1)?,
                        kind: r.get(2)?,
                        census: r.get::<_, i64>(3)? as u64,
                        registered: r.get::<_, i64>(4)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
