//! Compaction: the index laid out contiguously, so that a search walks memory in order.
//!
//! Flows arrive in store order, so a lot's movements and edges are scattered over the arrays and chained by
//! intrusive lists: at 10^7 movements every step of a search is a cache miss. [`TraceIndex::compact`]
//! renumbers lots so that the lots of a batch are neighbours, movements so that a lot's movements are
//! neighbours, and edges so that a lot's outgoing and incoming edges are neighbours. What corrections withdrew
//! (movements, their edges, and lots only they made) is dropped, so the set of withdrawn movements is empty
//! afterwards and no search pays for it. The lists keep their order, so every answer is the same before and
//! after; only the numbers (and where things sit in memory) change.

use std::collections::HashMap;

use crate::{Edge, Ix, NONE, TraceIndex, WIDE};

impl TraceIndex {
    /// Lays the index out contiguously (lots by batch, movements by lot, edges by lot). Takes about as long as
    /// copying the index; call it after a rebuild or a load, before serving. Lot and movement numbers change,
    /// so nothing that holds an [`Ix`] from before may be used after.
    pub fn compact(&mut self) {
        let lots = self.lot_batch.len();
        let mvs = self.mv_lot.len();

        // Lots, batch by batch, each batch's chain in its order; a lot that only withdrawn records made is
        // dropped.
        let mut lot_new = vec![NONE; lots];
        let mut lot_old = Vec::with_capacity(lots);
        let mut batch_first = vec![NONE; self.batches.len()];
        for (b, first) in batch_first.iter_mut().enumerate() {
            let mut cur = self.batch_first_lot[b];
            while cur != NONE {
                if self.is_live(cur) {
                    if *first == NONE {
                        *first = lot_old.len() as Ix;
                    }
                    lot_new[cur as usize] = lot_old.len() as Ix;
                    lot_old.push(cur);
                }
                cur = self.lot_next_in_batch[cur as usize];
            }
        }
        let kept_lots = lot_old.len();

        // Movements, lot by lot (new lot order), each lot's list in its order, without withdrawn ones.
        let mut mv_new = vec![NONE; mvs];
        let mut mv_old = Vec::with_capacity(mvs - self.void.len().min(mvs));
        let mut first_mv = vec![NONE; kept_lots];
        for (nl, &ol) in lot_old.iter().enumerate() {
            let mut cur = self.lot_first_mv[ol as usize];
            while cur != NONE {
                if !self.is_void(cur) {
                    if first_mv[nl] == NONE {
                        first_mv[nl] = mv_old.len() as Ix;
                    }
                    mv_new[cur as usize] = mv_old.len() as Ix;
                    mv_old.push(cur);
                }
                cur = self.mv_next[cur as usize];
            }
        }
        let kept_mvs = mv_old.len();

        // Edges, lot by lot: the outgoing list, then the incoming one, without withdrawn ones (both ends of a
        // standing edge are standing lots).
        let mut edges = Vec::with_capacity(self.edges.len());
        let mut out_head = vec![NONE; kept_lots];
        let mut in_head = vec![NONE; kept_lots];
        for (nl, &ol) in lot_old.iter().enumerate() {
            for (head, start) in [
                (&mut out_head, self.lot_out[ol as usize]),
                (&mut in_head, self.lot_in[ol as usize]),
            ] {
                let mut cur = start;
                let mut last: Option<usize> = None;
                while cur != NONE {
                    let e = self.edges[cur as usize];
                    cur = e.next;
                    // A standing edge's lots and movement are standing; the checks keep a damaged (but
                    // well-formed) snapshot from leaving an edge to nothing.
                    if self.is_void(e.mv)
                        || lot_new[e.other as usize] == NONE
                        || mv_new[e.mv as usize] == NONE
                    {
                        continue;
                    }
                    let here = edges.len();
                    match last {
                        None => head[nl] = here as Ix,
                        Some(l) => {
                            let prev: &mut Edge = &mut edges[l];
                            prev.next = here as Ix;
                        }
                    }
                    last = Some(here);
                    edges.push(Edge {
                        other: lot_new[e.other as usize],
                        mv: mv_new[e.mv as usize],
                        next: NONE,
                    });
                }
            }
        }

        // Each holder's chain in its order, without dropped lots.
        let mut lot_next_in_holder = vec![NONE; kept_lots];
        let mut holder_first = vec![NONE; self.holders.len()];
        for (h, first) in holder_first.iter_mut().enumerate() {
            let mut cur = self.holder_first_lot[h];
            let mut last: Option<Ix> = None;
            while cur != NONE {
                let n = lot_new[cur as usize];
                if n != NONE {
                    match last {
                        None => *first = n,
                        Some(l) => lot_next_in_holder[l as usize] = n,
                    }
                    last = Some(n);
                }
                cur = self.lot_next_in_holder[cur as usize];
            }
        }

        let permute =
            |v: &[Ix], order: &[Ix]| -> Vec<Ix> { order.iter().map(|&o| v[o as usize]).collect() };
        let lot_batch = permute(&self.lot_batch, &lot_old);
        let lot_holder = permute(&self.lot_holder, &lot_old);
        let lot_next_in_batch: Vec<Ix> = (0..kept_lots)
            .map(|n| {
                let next = n + 1;
                if next < kept_lots && lot_batch[next] == lot_batch[n] {
                    next as Ix
                } else {
                    NONE
                }
            })
            .collect();

        let mv_lot: Vec<Ix> = mv_old
            .iter()
            .map(|&o| lot_new[self.mv_lot[o as usize] as usize])
            .collect();
        let mv_kind = mv_old.iter().map(|&o| self.mv_kind[o as usize]).collect();
        let mv_t = permute(&self.mv_t, &mv_old);
        let mv_qty = mv_old.iter().map(|&o| self.mv_qty[o as usize]).collect();
        let mv_seq = permute(&self.mv_seq, &mv_old);
        let mv_next: Vec<Ix> = (0..kept_mvs)
            .map(|n| {
                let next = n + 1;
                if next < kept_mvs && mv_lot[next] == mv_lot[n] {
                    next as Ix
                } else {
                    NONE
                }
            })
            .collect();

        self.void.clear();
        self.batch_first_lot = batch_first;
        self.holder_first_lot = holder_first;
        self.lot_batch = lot_batch;
        self.lot_holder = lot_holder;
        self.lot_next_in_batch = lot_next_in_batch;
        self.lot_next_in_holder = lot_next_in_holder;
        self.lot_first_mv = first_mv;
        self.lot_out = out_head;
        self.lot_in = in_head;
        self.mv_lot = mv_lot;
        self.mv_kind = mv_kind;
        self.mv_t = mv_t;
        self.mv_qty = mv_qty;
        self.mv_seq = mv_seq;
        self.mv_next = mv_next;
        self.edges = edges;
        self.compacted = kept_mvs as u64;
        self.rebuild_wide();
    }

    /// Movements laid out contiguously by the last [`TraceIndex::compact`]; those applied since are chained
    /// at the end.
    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    /// The holder-to-lot maps of batches with many lots, derived from the batch chains (after a load).
    pub(crate) fn rebuild_wide(&mut self) {
        self.wide.clear();
        for b in 0..self.batches.len() {
            let n = self.batch_chain(b as Ix).count();
            if n > WIDE {
                let m: HashMap<Ix, Ix> = self
                    .batch_chain(b as Ix)
                    .map(|l| (self.lot_holder[l as usize], l))
                    .collect();
                self.wide.insert(b as Ix, m);
            }
        }
    }
}
