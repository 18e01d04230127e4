//! Each lot's stock (a batch at one holder), kept by the writer so that the ledger checks cost
//! the same however many movements a lot has: added to for each new movement, counted again from the records
//! for the lots a correction touches.

use coldtrace_domain::{Movement, MovementKind};
use uuid::Uuid;

use super::{StockColumn, Tx};
use crate::Result;

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
                self.stock_add(b, m.holder, StockColumn::Received, q, t, (Some(t), None))?
            }
            (MovementKind::Ship | MovementKind::Sell | MovementKind::Return, Some(b)) => {
                let col = match m.kind {
                    MovementKind::Ship => StockColumn::Shipped,
                    MovementKind::Sell => StockColumn::Sold,
                    _ => StockColumn::Returned,
                };
                self.stock_add(b, m.holder, col, q, t, (None, Some(t)))?;
                if let Some(cp) = counterparty
                    && cp != m.holder
                {
                    self.stock_add(b, cp, StockColumn::ReportedInbound, q, t, (None, None))?;
                }
            }
            (MovementKind::Destroy, Some(b)) => {
                self.stock_add(b, m.holder, StockColumn::Destroyed, q, t, (None, Some(t)))?
            }
            (MovementKind::Transform, _) => {
                for (lines, col) in [
                    (&m.inputs, StockColumn::Consumed),
                    (&m.outputs, StockColumn::Produced),
                ] {
                    for l in lines.iter() {
                        if let coldtrace_domain::BatchRef::Id(b) = l.batch {
                            let (fin, fout) = if col == StockColumn::Produced {
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

    fn stock_add(
        &mut self,
        batch: Uuid,
        holder: Uuid,
        col: StockColumn,
        q: i64,
        at: i64,
        (first_in, first_out): (Option<i64>, Option<i64>),
    ) -> Result<()> {
        self.l
            .stock_add(batch, holder, col, q, at, first_in, first_out)
    }
}
