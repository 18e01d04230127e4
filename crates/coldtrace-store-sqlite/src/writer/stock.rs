//! Each lot's stock (a batch at one holder), kept in `lot_stock` by the writer so that the ledger checks cost
//! the same however many movements a lot has: added to for each new movement, counted again from the records
//! for the lots a correction touches.

use coldtrace_domain::checks::LotStock;
use coldtrace_domain::{Movement, MovementKind};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::Tx;
use crate::Result;
use crate::schema::CURRENT;

impl Tx<'_> {
    /// Adds a new movement to the stock of the lots it touches.
    pub(super) fn add_to_lots(
        &mut self,
        m: &Movement,
        batch: Option<Uuid>,
        counterparty: Option<Uuid>,
    ) -> Result<()> {
        let t = m.at.millis();
        let q = m.quantity.milli();
        match (m.kind, batch) {
            (MovementKind::Receive, Some(b)) => {
                self.stock_add(b, m.holder, "received", q, t, (Some(t), None))?
            }
            (MovementKind::Ship | MovementKind::Sell | MovementKind::Return, Some(b)) => {
                let col = match m.kind {
                    MovementKind::Ship => "shipped",
                    MovementKind::Sell => "sold",
                    _ => "returned",
                };
                self.stock_add(b, m.holder, col, q, t, (None, Some(t)))?;
                if let Some(cp) = counterparty
                    && cp != m.holder
                {
                    self.stock_add(b, cp, "reported_inbound", q, t, (None, None))?;
                }
            }
            (MovementKind::Destroy, Some(b)) => {
                self.stock_add(b, m.holder, "destroyed", q, t, (None, Some(t)))?
            }
            (MovementKind::Transform, _) => {
                for (lines, col) in [(&m.inputs, "consumed"), (&m.outputs, "produced")] {
                    for l in lines.iter() {
                        if let coldtrace_domain::BatchRef::Id(b) = l.batch {
                            let (fin, fout) = if col == "produced" {
                                (Some(t), None)
                            } else {
                                (None, Some(t))
                            };
                            self.stock_add(b, m.holder, col, l.quantity.milli(), t, (fin, fout))?;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn stock_add(
        &mut self,
        batch: Uuid,
        holder: Uuid,
        col: &'static str,
        q: i64,
        at: i64,
        (first_in, first_out): (Option<i64>, Option<i64>),
    ) -> Result<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO lot_stock (batch, holder, {col}, first_in, first_out, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (batch, holder) DO UPDATE SET {col} = {col} + excluded.{col},
                    last_at = MAX(COALESCE(last_at, excluded.last_at), excluded.last_at),
                    first_in = CASE WHEN first_in IS NULL THEN excluded.first_in
                                    WHEN excluded.first_in IS NULL THEN first_in
                                    ELSE MIN(first_in, excluded.first_in) END,
                    first_out = CASE WHEN first_out IS NULL THEN excluded.first_out
                                     WHEN excluded.first_out IS NULL THEN first_out
                                     ELSE MIN(first_out, excluded.first_out) END"
            ))?
            .execute(params![
                crate::movements::n_for(self.tx, &mut self.ns, batch)?,
                crate::movements::n_for(self.tx, &mut self.ns, holder)?,
                q,
                first_in,
                first_out,
                at
            ])?;
        Ok(())
    }

    /// The lots (batch, holder) a stored movement touched, its counterparty's included.
    pub(super) fn lots_of_movement(&mut self, id: Uuid) -> Result<Vec<(Uuid, Uuid)>> {
        let row: Option<(i64, Option<String>, String, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT seq, (SELECT id FROM ids WHERE n = batch), (SELECT id FROM ids WHERE n = holder),
                    (SELECT id FROM ids WHERE n = counterparty_id)
                 FROM movements WHERE id = ?1",
            )?
            .query_row([id.as_bytes().as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((seq, batch, holder, cp)) = row else {
            return Ok(vec![]);
        };
        let parse = |s: &str| Uuid::parse_str(s).ok();
        let holder = parse(&holder);
        let mut out = Vec::new();
        if let (Some(b), Some(h)) = (batch.as_deref().and_then(parse), holder) {
            out.push((b, h));
            if let Some(c) = cp.as_deref().and_then(parse) {
                out.push((b, c));
            }
        }
        let lines: Vec<String> = self
            .tx
            .prepare_cached(
                "SELECT (SELECT id FROM ids WHERE n = batch) FROM movement_lines WHERE movement_seq = ?1",
            )?
            .query_map([seq], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(h) = holder {
            out.extend(lines.iter().filter_map(|b| parse(b)).map(|b| (b, h)));
        }
        Ok(out)
    }

    /// Counts a lot's stock again from its current records (after a correction).
    pub(super) fn rebuild_lot(&mut self, batch: Uuid, holder: Uuid) -> Result<()> {
        let (s, first_in, first_out) = self.lot_stock_from_records(batch, holder)?;
        let (b, h) = (batch.to_string(), holder.to_string());
        let last_at: Option<i64> = self
            .tx
            .prepare_cached(&format!(
                "SELECT MAX(t) FROM (
                    SELECT MAX(at_ms) AS t FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT}
                    UNION ALL
                    SELECT MAX(at_ms) FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND counterparty_id = (SELECT n FROM ids WHERE id = ?2)
                        AND kind IN ('ship', 'sell', 'return') AND {CURRENT}
                    UNION ALL
                    SELECT MAX(m.at_ms) FROM movement_lines l JOIN movements m ON m.seq = l.movement_seq
                        WHERE l.batch = (SELECT n FROM ids WHERE id = ?1) AND m.holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT})"
            ))?
            .query_row(params![b, h], |r| r.get(0))?;
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO lot_stock (batch, holder, received, produced, reported_inbound, shipped,
                    sold, consumed, destroyed, returned, first_in, first_out, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                crate::movements::n_for(self.tx, &mut self.ns, batch)?,
                crate::movements::n_for(self.tx, &mut self.ns, holder)?,
                s.received,
                s.produced,
                s.reported_inbound,
                s.shipped,
                s.sold,
                s.consumed,
                s.destroyed,
                s.returned,
                first_in,
                first_out,
                last_at
            ])?;
        Ok(())
    }

    /// A lot's stock as kept, with its first arrival and first departure.
    pub(super) fn lot_stock(
        &mut self,
        batch: Uuid,
        holder: Uuid,
    ) -> Result<(LotStock, Option<i64>, Option<i64>)> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT received, produced, reported_inbound, shipped, sold, consumed, destroyed, returned, first_in,
                    first_out
                 FROM lot_stock WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND holder = (SELECT n FROM ids WHERE id = ?2)",
            )?
            .query_row(params![batch.to_string(), holder.to_string()], |r| {
                Ok((
                    LotStock {
                        received: r.get(0)?,
                        produced: r.get(1)?,
                        reported_inbound: r.get(2)?,
                        shipped: r.get(3)?,
                        sold: r.get(4)?,
                        consumed: r.get(5)?,
                        destroyed: r.get(6)?,
                        returned: r.get(7)?,
                    },
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// A lot's stock counted from its current records, with its first arrival and first departure.
    pub(super) fn lot_stock_from_records(
        &mut self,
        batch: Uuid,
        holder: Uuid,
    ) -> Result<(LotStock, Option<i64>, Option<i64>)> {
        let (b, h) = (batch.to_string(), holder.to_string());
        let mut s = LotStock::default();
        let (first_receipt, first_sent): (Option<i64>, Option<i64>);
        (
            s.received,
            s.shipped,
            s.sold,
            s.destroyed,
            s.returned,
            first_receipt,
            first_sent,
        ) = self
            .tx
            .prepare_cached(&format!(
                "SELECT
                    COALESCE(SUM(CASE WHEN kind = 'receive' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'ship' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'sell' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'destroy' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'return' THEN quantity_milli END), 0),
                    MIN(CASE WHEN kind = 'receive' THEN at_ms END),
                    MIN(CASE WHEN kind IN ('ship', 'sell', 'return', 'destroy') THEN at_ms END)
                 FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT}"
            ))?
            .query_row(params![b, h], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
        let (first_made, first_used): (Option<i64>, Option<i64>);
        (s.produced, s.consumed, first_made, first_used) = self
            .tx
            .prepare_cached(&format!(
                "SELECT
                    COALESCE(SUM(CASE WHEN l.role = 'out' THEN l.quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN l.role = 'in' THEN l.quantity_milli END), 0),
                    MIN(CASE WHEN l.role = 'out' THEN m.at_ms END),
                    MIN(CASE WHEN l.role = 'in' THEN m.at_ms END)
                 FROM movement_lines l JOIN movements m ON m.seq = l.movement_seq
                 WHERE l.batch = (SELECT n FROM ids WHERE id = ?1) AND m.holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT}"
            ))?
            .query_row(params![b, h], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        s.reported_inbound = self
            .tx
            .prepare_cached(&format!(
                "SELECT COALESCE(SUM(quantity_milli), 0) FROM movements m
                 WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND counterparty_id = (SELECT n FROM ids WHERE id = ?2) AND kind IN ('ship', 'sell', 'return')
                   AND {CURRENT}"
            ))?
            .query_row(params![b, h], |r| r.get(0))?;
        let min = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        Ok((
            s,
            min(first_receipt, first_made),
            min(first_sent, first_used),
        ))
    }
}
