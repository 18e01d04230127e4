//! One movement of a submission: its batch and counterparty resolved, the access it grants, its flow for the
//! trace index.

use coldtrace_domain::{BatchRef, Movement, MovementKind, ownership};
use uuid::Uuid;

use super::{MovementRefs, RecordKind, Tx};
use crate::Result;

impl Tx<'_> {
    pub(super) fn movement(&mut self, i: usize, m: &Movement) -> Result<()> {
        let at = format!("movements[{i}]");
        let mut m = m.clone();
        let mut ok = true;
        if let Some(r) = &m.batch {
            match self.resolve(m.holder, r, &at)? {
                Some(id) => m.batch = Some(BatchRef::Id(id)),
                None => ok = false,
            }
        }
        for (name, lines) in [("inputs", &mut m.inputs), ("outputs", &mut m.outputs)] {
            for (j, l) in lines.iter_mut().enumerate() {
                match self.resolve(m.holder, &l.batch, &format!("{at}.{name}[{j}]"))? {
                    Some(id) => l.batch = BatchRef::Id(id),
                    None => ok = false,
                }
            }
        }
        if !ok {
            return Ok(());
        }
        let fp = super::movement_fingerprint(&m)?;
        let found = self.l.movement_fp(m.id)?.map(|f| (m.id, f == fp));
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("movement {id} exists with other content"),
            |r| &mut r.movements,
        ) {
            return Ok(());
        }
        self.check_corrects(RecordKind::Movement, &at, m.corrects)?;
        let province = self.province_of(m.holder)?.unwrap_or_default();
        let cp_uscc = m
            .counterparty
            .as_ref()
            .and_then(|c| c.uscc.as_ref())
            .map(|u| u.as_str().to_string());
        let cp_id: Option<Uuid> = match &cp_uscc {
            Some(u) => match self.counterparties.get(u) {
                Some(id) => *id,
                None => {
                    let id = self.l.latest_with_uscc(u)?;
                    self.counterparties.insert(u.clone(), id);
                    id
                }
            },
            None => None,
        };
        let batch_id = match &m.batch {
            Some(BatchRef::Id(id)) => Some(*id),
            _ => None,
        };
        // A receipt of another enterprise's batch from a registered sender is that sender's shipment arriving.
        if m.kind == MovementKind::Receive
            && let (Some(b), coldtrace_domain::Writer::Enterprise(e)) =
                (batch_id, self.writer.clone())
            && !self.owns(b, e)?
        {
            let sender_shipped = match cp_id {
                Some(sender) => self.shipped(b, e, Some(sender))?,
                None => false,
            };
            if !ownership::receipt_matches(&self.writer, cp_id.is_some(), sender_shipped) {
                self.problems.invalid.push(
                    format!("{at}.counterparty_uscc"),
                    "this sender recorded no shipment of the batch to you",
                );
                return Ok(());
            }
        }
        let holder_key = self.party_key(m.holder)?;
        let cp_key = m.counterparty.as_ref().map(|c| c.party_key());
        let seq = self.l.insert_movement(
            &m,
            &MovementRefs {
                holder: m.holder,
                holder_province: province,
                holder_key,
                batch: batch_id,
                counterparty_id: cp_id,
                fp,
                recorded_at: self.now,
            },
        )?;
        let line = |l: &coldtrace_domain::Line| match l.batch {
            BatchRef::Id(b) => Some((b, l.quantity.milli())),
            _ => None,
        };
        self.flows.push(coldtrace_trace::Flow {
            seq,
            kind: flow_kind(m.kind),
            holder: holder_key,
            batch: batch_id,
            counterparty: cp_key,
            quantity: m.quantity.milli(),
            at_ms: m.at.millis(),
            inputs: m.inputs.iter().filter_map(line).collect(),
            outputs: m.outputs.iter().filter_map(line).collect(),
        });
        let mut touched: Vec<Uuid> = batch_id.into_iter().collect();
        for l in m.inputs.iter().chain(&m.outputs) {
            if let BatchRef::Id(b) = l.batch {
                touched.push(b);
            }
        }
        for b in &touched {
            self.grant(*b, m.holder)?;
        }
        // The registered receiver of a shipment, sale or return may see the batch, to record its receipt.
        if let (Some(cp), Some(b)) = (cp_id, batch_id)
            && matches!(
                m.kind,
                MovementKind::Ship | MovementKind::Sell | MovementKind::Return
            )
        {
            self.grant(b, cp)?;
        }
        self.check_movement(i, &m, batch_id, cp_id)?;
        self.receipt.movements.push(m.id);
        self.fresh.movements.push(m);
        Ok(())
    }
}

/// The trace index's kind of flow for a movement kind.
pub fn flow_kind(k: MovementKind) -> coldtrace_trace::FlowKind {
    use coldtrace_trace::FlowKind as F;
    match k {
        MovementKind::Receive => F::Receive,
        MovementKind::Ship => F::Ship,
        MovementKind::Sell => F::Sell,
        MovementKind::Transform => F::Transform,
        MovementKind::Destroy => F::Destroy,
        MovementKind::Seal => F::Seal,
        MovementKind::Return => F::Return,
    }
}
