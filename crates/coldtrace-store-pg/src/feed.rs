//! The trace index feed on PostgreSQL: movements as flows in `seq` order (seq order is commit order, see
//! [`crate::ledger::SUBMIT_LOCK`]), batch summaries, the people who handled goods.

use std::collections::HashMap;

use async_trait::async_trait;
use coldtrace_domain::{Movement, MovementKind};
use coldtrace_store::writer::flow_kind;
use coldtrace_store::{BatchSummary, FeedAnchor, FlowRow, HandlerRow, IndexFeed, Stored};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{Error, PgStore, Result};

type StoreResult<T> = coldtrace_store::Result<T>;

const BATCH_SUMMARY_SQL: &str = "SELECT b.seq, b.id, b.owner, b.batch_no, b.body::json->>'unit',
        p.body::json->>'name', p.body::json->>'category', p.origin_country,
        p.body::json->>'establishment_no', b.declaration_no,
        b.body::json->>'port_of_entry', b.body::json->>'import_date'
     FROM batches b JOIN products p ON p.id = b.product";

fn batch_summary(r: &tokio_postgres::Row) -> (i64, BatchSummary) {
    (
        r.get(0),
        BatchSummary {
            id: r.get(1),
            owner: r.get(2),
            batch_no: r.get(3),
            unit: r.get(4),
            product: r.get(5),
            category: r.get(6),
            origin_country: r.get(7),
            establishment_no: r.get(8),
            declaration_no: r.get(9),
            port_of_entry: r.get(10),
            import_date: r.get(11),
        },
    )
}

/// The ids of numbers (`ids.n`) a page names, looked up in one query.
async fn ids_of(c: &deadpool_postgres::ClientWrapper, ns: Vec<i64>) -> Result<HashMap<i64, Uuid>> {
    let st = c
        .prepare_cached("SELECT n, id FROM ids WHERE n = ANY($1)")
        .await?;
    Ok(c.query(&st, &[&ns])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Movements as flows, with their transformation lines, whether a later record corrects each, and the seq of the
/// record each corrects.
async fn load_flows(
    c: &deadpool_postgres::ClientWrapper,
    filter: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<(FlowRow, Option<i64>)>> {
    let sql = format!(
        "SELECT m.seq, m.kind, m.holder_key, m.batch, cp.party, m.quantity_milli, m.at_ms,
                cp.name, NULLIF(cp.uscc, ''), m.corrects,
                m.superseded_by IS NOT NULL
         FROM movements m LEFT JOIN counterparties cp ON cp.n = m.counterparty WHERE {filter}"
    );
    let st = c.prepare_cached(&sql).await?;
    let found = c.query(&st, args).await?;
    let seqs: Vec<i64> = found.iter().map(|r| r.get(0)).collect();
    let lines = match (seqs.first(), seqs.last()) {
        (Some(first), Some(last)) => {
            let st = c
                .prepare_cached(
                    "SELECT movement_seq, role, batch, quantity_milli FROM movement_lines
                     WHERE movement_seq >= $1 AND movement_seq <= $2 ORDER BY movement_seq, line",
                )
                .await?;
            c.query(&st, &[&first.min(last), &first.max(last)]).await?
        }
        _ => vec![],
    };
    // A page names the same holders and batches many times: each number is looked up once.
    let mut ns: Vec<i64> = Vec::new();
    for r in &found {
        ns.push(r.get(2));
        ns.extend(r.get::<_, Option<i64>>(3));
        ns.extend(r.get::<_, Option<i64>>(4));
    }
    ns.extend(lines.iter().map(|r| r.get::<_, i64>(2)));
    ns.sort_unstable();
    ns.dedup();
    let ids = ids_of(c, ns).await?;
    let id = |n: i64| {
        ids.get(&n)
            .copied()
            .ok_or_else(|| Error::Unreadable(format!("ids.n {n} has no id")))
    };
    let mut rows: Vec<(FlowRow, Option<i64>)> = Vec::with_capacity(found.len());
    let mut transforms: HashMap<i64, usize> = HashMap::new();
    for r in &found {
        let seq: i64 = r.get(0);
        let kind = MovementKind::parse(r.get(1)).map_err(Error::Unreadable)?;
        if kind == MovementKind::Transform {
            transforms.insert(seq, rows.len());
        }
        rows.push((
            FlowRow {
                flow: coldtrace_trace::Flow {
                    seq: seq as u64,
                    kind: flow_kind(kind),
                    holder: id(r.get(2))?,
                    batch: r.get::<_, Option<i64>>(3).map(id).transpose()?,
                    counterparty: r.get::<_, Option<i64>>(4).map(id).transpose()?,
                    quantity: r.get(5),
                    at_ms: r.get(6),
                    inputs: vec![],
                    outputs: vec![],
                },
                counterparty_name: r.get(7),
                counterparty_uscc: r.get(8),
                corrected: r.get(10),
                retracts: None,
            },
            r.get(9),
        ));
    }
    for r in &lines {
        let Some(&i) = transforms.get(&r.get::<_, i64>(0)) else {
            continue;
        };
        let line = (id(r.get(2))?, r.get::<_, i64>(3));
        if r.get::<_, &str>(1) == "in" {
            rows[i].0.flow.inputs.push(line);
        } else {
            rows[i].0.flow.outputs.push(line);
        }
    }
    Ok(rows)
}

#[async_trait]
impl IndexFeed for PgStore {
    async fn records_changed(&self, within: std::time::Duration) -> StoreResult<()> {
        self.changed(crate::listen::Channel::Records, within).await;
        Ok(())
    }

    async fn feed_anchor(&self, seq: u64) -> StoreResult<FeedAnchor> {
        let c = self.client().await?;
        let at: Option<Uuid> = c
            .query_opt("SELECT id FROM movements WHERE seq = $1", &[&(seq as i64)])
            .await
            .map_err(Error::from)?
            .map(|r| r.get(0));
        let r = c
            .query_one(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM movements),
                        (SELECT COALESCE(MAX(seq), 0) FROM batches),
                        (SELECT COALESCE(MAX(seq), 0) FROM enterprises)",
                &[],
            )
            .await
            .map_err(Error::from)?;
        Ok(FeedAnchor {
            store_id: self.store_id,
            movement_at: at,
            last_seq: r.get::<_, i64>(0) as u64,
            last_batch_seq: r.get(1),
            last_enterprise_seq: r.get(2),
        })
    }

    async fn flows(&self, after: u64, limit: u32) -> StoreResult<Vec<FlowRow>> {
        let c = self.client().await?;
        let mut rows = load_flows(
            &c,
            "m.seq > $1 ORDER BY m.seq LIMIT $2",
            &[&(after as i64), &i64::from(limit)],
        )
        .await?;
        // A correction withdraws the flow it corrects: the index is given that flow to retract.
        for row in rows.iter_mut() {
            if let Some(seq) = row.1.take() {
                let old = load_flows(&c, "m.seq = $1", &[&seq]).await?;
                row.0.retracts = old.into_iter().next().map(|(r, _)| r.flow);
            }
        }
        Ok(rows.into_iter().map(|(r, _)| r).collect())
    }

    async fn batch_summaries(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, BatchSummary)>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "{BATCH_SUMMARY_SQL} WHERE b.seq > $1 ORDER BY b.seq LIMIT $2"
            ))
            .await
            .map_err(Error::from)?;
        Ok(c.query(&st, &[&after, &i64::from(limit)])
            .await
            .map_err(Error::from)?
            .iter()
            .map(batch_summary)
            .collect())
    }

    async fn batch_summaries_of(&self, ids: Vec<Uuid>) -> StoreResult<Vec<BatchSummary>> {
        let c = self.client().await?;
        let found: HashMap<Uuid, BatchSummary> = c
            .query(
                &format!("{BATCH_SUMMARY_SQL} WHERE b.id = ANY($1)"),
                &[&ids],
            )
            .await
            .map_err(Error::from)?
            .iter()
            .map(|r| {
                let (_, s) = batch_summary(r);
                (s.id, s)
            })
            .collect();
        // In the order asked, each once.
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    async fn movements_by_seq(&self, seqs: Vec<u64>) -> StoreResult<Vec<Stored<Movement>>> {
        let c = self.client().await?;
        let seqs: Vec<i64> = seqs.into_iter().map(|s| s as i64).collect();
        let found = crate::records::read_movements(&c, "m.seq = ANY($1)", &[&seqs]).await?;
        let by_seq: HashMap<i64, Stored<Movement>> =
            found.into_iter().map(|m| (m.seq, m)).collect();
        Ok(seqs.iter().filter_map(|s| by_seq.get(s).cloned()).collect())
    }

    async fn handlers_of(&self, seqs: Vec<u64>) -> StoreResult<Vec<HandlerRow>> {
        let c = self.client().await?;
        let seqs: Vec<i64> = seqs.into_iter().map(|s| s as i64).collect();
        Ok(c.query(
            "SELECT s.seq, p.person_key, p.name, NULLIF(p.id_no, ''), NULLIF(p.phone, '')
             FROM unnest($1::BIGINT[]) WITH ORDINALITY AS s(seq, ord)
             JOIN movements m ON m.seq = s.seq AND m.seq = ANY($1)
             CROSS JOIN LATERAL unnest(m.handlers) WITH ORDINALITY AS h(person, pos)
             JOIN people p ON p.n = h.person
             ORDER BY s.ord, h.pos",
            &[&seqs],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| HandlerRow {
            movement_seq: r.get::<_, i64>(0) as u64,
            person_key: r.get(1),
            name: r.get(2),
            id_no: r.get(3),
            phone: r.get(4),
        })
        .collect())
    }

    async fn movements_of_person(&self, person_key: &str) -> StoreResult<Vec<u64>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT m.seq FROM movements m
             WHERE m.handlers && (SELECT array_agg(n) FROM people WHERE person_key = $1)
             ORDER BY m.seq",
            &[&person_key],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect())
    }
}
