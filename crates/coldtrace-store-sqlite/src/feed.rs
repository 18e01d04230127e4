//! The trace index feed: movements as flows in `seq` order, batch summaries, handlers.

use std::collections::HashMap;

use async_trait::async_trait;
use coldtrace_domain::{Movement, MovementKind};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::*;
use crate::{BatchSummary, FeedAnchor, FlowRow, HandlerRow, Result, StoreError, Stored};

#[async_trait]
impl IndexFeed for SqliteStore {
    /// Another process (`coldtrace import`) may write the same file, and says nothing: this only waits.
    async fn records_changed(&self, within: std::time::Duration) -> StoreResult<()> {
        tokio::time::sleep(within).await;
        Ok(())
    }

    async fn feed_anchor(&self, seq: u64) -> StoreResult<FeedAnchor> {
        self.read(move |c| {
            let id: String = c.query_row(
                "SELECT value FROM store_meta WHERE key = 'store_id'",
                [],
                |r| r.get(0),
            )?;
            let store_id = id.parse().map_err(|_| {
                StoreError::Backend(format!("store_meta.store_id {id:?} is not a UUID").into())
            })?;
            let at: Option<Vec<u8>> = c
                .query_row(
                    "SELECT id FROM movements WHERE seq = ?1",
                    [seq as i64],
                    |r| r.get(0),
                )
                .optional()?;
            let max = |table: &str| -> Result<i64> {
                let v: Option<i64> =
                    c.query_row(&format!("SELECT MAX(seq) FROM {table}"), [], |r| r.get(0))?;
                Ok(v.unwrap_or(0).max(0))
            };
            Ok(FeedAnchor {
                store_id,
                movement_at: at.and_then(|a| Uuid::from_slice(&a).ok()),
                last_seq: max("movements")? as u64,
                last_batch_seq: max("batches")?,
                last_enterprise_seq: max("enterprises")?,
            })
        })
        .await
    }

    async fn flows(&self, after: u64, limit: u32) -> StoreResult<Vec<FlowRow>> {
        self.read(move |c| {
            let mut rows = load_flows(
                c,
                "m.seq > ?1 ORDER BY m.seq LIMIT ?2",
                params![after as i64, limit],
            )?;
            // A correction withdraws the flow it corrects: the index is given that flow to retract.
            for row in rows.iter_mut() {
                if let Some(seq) = row.1.take() {
                    let old = load_flows(c, "m.seq = ?1", params![seq])?;
                    row.0.retracts = old.into_iter().next().map(|(r, _)| r.flow);
                }
            }
            Ok(rows.into_iter().map(|(r, _)| r).collect())
        })
        .await
    }

    async fn batch_summaries(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, BatchSummary)>> {
        self.read(move |c| {
            let sql = format!("{BATCH_SUMMARY_SQL} WHERE b.seq > ?1 ORDER BY b.seq LIMIT ?2");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![after, limit], batch_summary_row)?;
            rows.map(|r| r.map_err(Error::from)).collect()
        })
        .await
    }

    async fn batch_summaries_of(&self, ids: Vec<Uuid>) -> StoreResult<Vec<BatchSummary>> {
        self.read(move |c| {
            let sql = format!("{BATCH_SUMMARY_SQL} WHERE b.id = ?1");
            let mut stmt = c.prepare_cached(&sql)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some((_, s)) = stmt
                    .query_row([id.to_string()], batch_summary_row)
                    .optional()?
                {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn movements_by_seq(&self, seqs: Vec<u64>) -> StoreResult<Vec<Stored<Movement>>> {
        self.read(move |c| {
            let mut out = Vec::with_capacity(seqs.len());
            for s in seqs {
                out.extend(crate::movements::read(c, "m.seq = ?1", &[&(s as i64)])?);
            }
            Ok(out)
        })
        .await
    }

    async fn handlers_of(&self, seqs: Vec<u64>) -> StoreResult<Vec<HandlerRow>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT h.movement_seq, p.person_key, p.name, NULLIF(p.id_no, ''), NULLIF(p.phone, '')
                 FROM movement_handlers h JOIN people p ON p.n = h.person WHERE h.movement_seq = ?1 ORDER BY h.pos",
            )?;
            let mut out = Vec::new();
            for s in seqs {
                let rows = stmt.query_map([s as i64], |r| {
                    Ok(HandlerRow {
                        movement_seq: r.get::<_, i64>(0)? as u64,
                        person_key: r.get(1)?,
                        name: r.get(2)?,
                        id_no: r.get(3)?,
                        phone: r.get(4)?,
                    })
                })?;
                for r in rows {
                    out.push(r?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn movements_of_person(&self, person_key: &str) -> StoreResult<Vec<u64>> {
        let k = person_key.to_string();
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached(
                    "SELECT DISTINCT h.movement_seq FROM people p JOIN movement_handlers h ON h.person = p.n
                     WHERE p.person_key = ?1 ORDER BY h.movement_seq",
                )?;
            let rows = stmt.query_map([k], |r| r.get::<_, i64>(0))?;
            rows.map(|r| Ok(r? as u64)).collect()
        })
        .await
    }
}

/// The ids of numbers (`ids.n`), each looked up once.
struct Ids<'c> {
    stmt: rusqlite::CachedStatement<'c>,
    known: HashMap<i64, Uuid>,
}

impl<'c> Ids<'c> {
    fn new(c: &'c rusqlite::Connection) -> Result<Self> {
        Ok(Self {
            stmt: c.prepare_cached("SELECT id FROM ids WHERE n = ?1")?,
            known: HashMap::new(),
        })
    }

    fn get(&mut self, n: i64) -> Result<Uuid> {
        if let Some(id) = self.known.get(&n) {
            return Ok(*id);
        }
        let s: String = self.stmt.query_row([n], |r| r.get(0))?;
        let id = parse_uuid(&s)?;
        self.known.insert(n, id);
        Ok(id)
    }
}

const BATCH_SUMMARY_SQL: &str = "SELECT b.seq, b.id, b.owner, b.batch_no, json_extract(b.body, '$.unit'),
        json_extract(p.body, '$.name'), json_extract(p.body, '$.category'), json_extract(p.body, '$.origin_country'),
        json_extract(p.body, '$.establishment_no'), json_extract(b.body, '$.declaration_no'),
        json_extract(b.body, '$.port_of_entry'), json_extract(b.body, '$.import_date')
     FROM batches b JOIN products p ON p.id = b.product";

fn batch_summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, BatchSummary)> {
    let id: String = r.get(1)?;
    let owner: String = r.get(2)?;
    Ok((
        r.get(0)?,
        BatchSummary {
            id: Uuid::parse_str(&id).unwrap_or_default(),
            owner: Uuid::parse_str(&owner).unwrap_or_default(),
            batch_no: r.get(3)?,
            unit: r.get(4)?,
            product: r.get(5)?,
            category: r.get(6)?,
            origin_country: r.get(7)?,
            establishment_no: r.get(8)?,
            declaration_no: r.get(9)?,
            port_of_entry: r.get(10)?,
            import_date: r.get(11)?,
        },
    ))
}

/// Movements as flows, with their transformation lines, whether a later record corrects each, and the seq of the
/// record each corrects.
fn load_flows(
    c: &rusqlite::Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<(FlowRow, Option<i64>)>> {
    let sql = format!(
        "SELECT m.seq, m.kind, m.holder_key, m.batch, cp.party, m.quantity_milli, m.at_ms,
                cp.name, NULLIF(cp.uscc, ''), m.corrects,
                EXISTS (SELECT 1 FROM movements c WHERE c.corrects = m.seq)
         FROM movements m LEFT JOIN counterparties cp ON cp.n = m.counterparty WHERE {filter}"
    );
    let mut rows: Vec<(FlowRow, Option<i64>)> = Vec::new();
    let mut stmt = c.prepare_cached(&sql)?;
    let mut q = stmt.query(args)?;
    let mut transforms: HashMap<u64, usize> = HashMap::new();
    // A page names the same holders and batches many times: each number is looked up once.
    let mut ids = Ids::new(c)?;
    while let Some(r) = q.next()? {
        let seq = r.get::<_, i64>(0)? as u64;
        let kind = MovementKind::parse(&r.get::<_, String>(1)?).map_err(StoreError::Task)?;
        let holder = ids.get(r.get(2)?)?;
        let batch = r
            .get::<_, Option<i64>>(3)?
            .map(|n| ids.get(n))
            .transpose()?;
        let counterparty = r
            .get::<_, Option<i64>>(4)?
            .map(|n| ids.get(n))
            .transpose()?;
        if kind == MovementKind::Transform {
            transforms.insert(seq, rows.len());
        }
        rows.push((
            FlowRow {
                flow: coldtrace_trace::Flow {
                    seq,
                    kind: flow_kind(kind),
                    holder,
                    batch,
                    counterparty,
                    quantity: r.get(5)?,
                    at_ms: r.get(6)?,
                    inputs: vec![],
                    outputs: vec![],
                },
                counterparty_name: r.get(7)?,
                counterparty_uscc: r.get(8)?,
                corrected: r.get(10)?,
                retracts: None,
            },
            r.get(9)?,
        ));
    }
    if let (false, Some(first), Some(last)) = (
        transforms.is_empty(),
        rows.iter().map(|r| r.0.flow.seq).min(),
        rows.iter().map(|r| r.0.flow.seq).max(),
    ) {
        let mut stmt = c.prepare_cached(
            "SELECT movement_seq, role, batch, quantity_milli FROM movement_lines
             WHERE movement_seq >= ?1 AND movement_seq <= ?2 ORDER BY movement_seq, rowid",
        )?;
        let mut q = stmt.query(params![first as i64, last as i64])?;
        while let Some(r) = q.next()? {
            let seq = r.get::<_, i64>(0)? as u64;
            let Some(&i) = transforms.get(&seq) else {
                continue;
            };
            let line = (ids.get(r.get(2)?)?, r.get::<_, i64>(3)?);
            if r.get::<_, String>(1)? == "in" {
                rows[i].0.flow.inputs.push(line);
            } else {
                rows[i].0.flow.outputs.push(line);
            }
        }
    }
    Ok(rows)
}
