//! # coldtrace-trace
//!
//! The trace engine: an in-memory index of every *lot* (a batch at a holder) and every flow between lots, and
//! the searches that answer "where did it go" (forward) and "where did it come from" (backward) in
//! microseconds.
//!
//! ## Model
//! - A **lot** is one batch at one holder. A batch split across twenty holders is twenty lots.
//! - A **flow** is a committed movement, resolved to ids ([`Flow`]). A shipment, sale to a business or return
//!   links the holder's lot to the counterparty's lot of the same batch; a receipt links the sender's lot to
//!   the receiver's; a transformation links every input lot to every output lot at the processor (mixing).
//!   Both sides of a transfer usually report it; the two flows give two parallel edges, which is harmless.
//! - **Time rule.** In [`TimeMode::Strict`], goods that left a lot before contaminated goods reached it are not
//!   implicated: the forward search is an earliest-arrival search that only follows flows at or after the time
//!   the lot became implicated, and the backward search is its mirror (latest departure). In
//!   [`TimeMode::Conservative`] every flow counts regardless of time.
//!
//! ## Layout
//! - `lib.rs`: the index ([`TraceIndex`]), flows, and quantities per lot.
//! - [`search`]: forward and backward searches and paths.
//! - [`synthetic`]: deterministic synthetic flows for benchmarks at scale.
//! - `layout.rs`: [`TraceIndex::compact`], the arrays renumbered so that each lot's movements and edges are
//!   contiguous (after a rebuild or a load).
//! - `snapshot.rs`: [`TraceIndex::write_snapshot`] and [`TraceIndex::read_snapshot`], the index as checked
//!   bytes, for a restart in seconds.
//!
//! **Invariants.** No I/O, no locks, no async: the caller owns the index (behind a lock) and feeds it committed
//! flows in any order. Storage is struct-of-arrays with `u32` indices and intrusive linked lists, so that the
//! index costs tens of bytes per movement and appending a flow is O(1) amortised.

use std::collections::HashMap;

use uuid::Uuid;

mod layout;
pub mod search;
mod snapshot;
pub mod synthetic;

pub use search::{
    CLOCK_SKEW_SECS, Direction, Hit, IxHasher, IxMap, IxSet, PARALLEL_FROM_SEEDS, Paths, Query,
    Start, Step, TimeMode, TraceResult, at_once,
};
pub use snapshot::SnapshotError;

/// Index of a lot, batch, holder, movement or edge.
pub type Ix = u32;
/// "No such entry" in the intrusive lists.
pub const NONE: Ix = u32::MAX;

/// Seconds since 2000-01-01T00:00:00Z; `0` also stands for "since the beginning", `u32::MAX` for "until the end".
pub type Secs = u32;
const EPOCH_2000_SECS: i64 = 946_684_800;

/// Converts milliseconds since the Unix epoch to [`Secs`] (clamped to the representable range).
pub fn secs(ms: i64) -> Secs {
    (ms.div_euclid(1000) - EPOCH_2000_SECS).clamp(1, u32::MAX as i64 - 1) as Secs
}

/// Converts [`Secs`] back to milliseconds since the Unix epoch.
pub fn millis(s: Secs) -> i64 {
    (s as i64 + EPOCH_2000_SECS) * 1000
}

/// What a flow did, as the engine records it per lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    Receive,
    Ship,
    Sell,
    /// One input line of a transformation: consumed from the lot.
    Consume,
    /// One output line of a transformation: produced into the lot.
    Produce,
    Destroy,
    Seal,
    Return,
}

/// The kind of a committed movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowKind {
    Receive,
    Ship,
    Sell,
    Transform,
    Destroy,
    Seal,
    Return,
}

/// A committed movement, resolved to ids: what the engine is fed, at start from the store and then on every
/// commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The movement's sequence number in the store.
    pub seq: u64,
    pub kind: FlowKind,
    /// The enterprise whose ledger holds the movement.
    pub holder: Uuid,
    /// The batch moved (`None` for a transformation).
    pub batch: Option<Uuid>,
    /// The other party's holder key: a registered enterprise's id, or a stable key derived from an
    /// unregistered party's USCC or name.
    pub counterparty: Option<Uuid>,
    /// Quantity in thousandths of the batch's unit.
    pub quantity: i64,
    pub at_ms: i64,
    /// Transformation inputs `(batch, quantity)`.
    pub inputs: Vec<(Uuid, i64)>,
    /// Transformation outputs `(batch, quantity)`.
    pub outputs: Vec<(Uuid, i64)>,
}

impl Flow {
    /// The lots (batch, holder) this flow records movements at.
    fn lots(&self) -> Vec<(Uuid, Uuid)> {
        match self.kind {
            FlowKind::Transform => self
                .inputs
                .iter()
                .chain(&self.outputs)
                .map(|(b, _)| (*b, self.holder))
                .collect(),
            _ => self
                .batch
                .map(|b| vec![(b, self.holder)])
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    /// The lot at the other end.
    other: Ix,
    /// The movement that made the edge (its time is the edge's time).
    mv: Ix,
    /// Next edge in the same lot's list.
    next: Ix,
}

/// Per-lot quantities, in thousandths of the batch's unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LotQuantities {
    pub received: i64,
    pub produced: i64,
    pub shipped: i64,
    pub sold: i64,
    pub consumed: i64,
    pub destroyed: i64,
    pub returned: i64,
    pub sealed: i64,
    /// Received without a receipt of its own: what senders reported shipping here, used when the holder has
    /// recorded no receipt (an unregistered buyer, or a receipt not yet entered).
    pub reported_inbound: i64,
}

impl LotQuantities {
    /// Inflow minus outflow, negative when the records say more left than came (a ledger check's finding).
    pub fn balance(&self) -> i64 {
        let own = self.received.saturating_add(self.produced);
        let inflow = if own > 0 { own } else { self.reported_inbound };
        [
            self.shipped,
            self.sold,
            self.consumed,
            self.destroyed,
            self.returned,
        ]
        .iter()
        .fold(inflow, |b, out| b.saturating_sub(*out))
    }

    /// What the holder still has: inflow minus outflow, never negative. Inflow is the holder's own receipts
    /// and production, or, when it recorded none, what senders reported.
    pub fn on_hand(&self) -> i64 {
        self.balance().max(0)
    }
}

/// The trace index.
#[derive(Debug, Default, Clone)]
pub struct TraceIndex {
    batches: Vec<Uuid>,
    batch_ix: HashMap<Uuid, Ix>,
    /// First lot of each batch; lots of a batch are chained through `lot_next_in_batch`.
    batch_first_lot: Vec<Ix>,
    holders: Vec<Uuid>,
    holder_ix: HashMap<Uuid, Ix>,
    /// First lot at each holder; lots of a holder are chained through `lot_next_in_holder`.
    holder_first_lot: Vec<Ix>,

    lot_batch: Vec<Ix>,
    lot_holder: Vec<Ix>,
    lot_next_in_batch: Vec<Ix>,
    lot_next_in_holder: Vec<Ix>,
    /// First movement recorded at the lot; chained through `mv_next`.
    lot_first_mv: Vec<Ix>,
    lot_out: Vec<Ix>,
    lot_in: Vec<Ix>,

    mv_lot: Vec<Ix>,
    mv_kind: Vec<Kind>,
    mv_t: Vec<Secs>,
    mv_qty: Vec<i64>,
    /// The store's sequence number (u32: the index is sized for 10^8 movements per node).
    mv_seq: Vec<u32>,
    mv_next: Vec<Ix>,

    edges: Vec<Edge>,
    flows: u64,
    /// Movements withdrawn by a correction ([`TraceIndex::retract`]): skipped by every read of the index.
    /// Corrections are rare, so a set beside the arrays costs nothing when it is empty.
    void: IxSet,
    /// For the rare batch held in many places (a carton line sold to thousands of named customers), a map from
    /// holder to lot, so that finding a lot stays O(1). Typical batches have 2-50 lots and use the list.
    wide: HashMap<Ix, HashMap<Ix, Ix>>,
    /// Movements laid out contiguously by the last [`TraceIndex::compact`].
    compacted: u64,
}

/// A batch with more lots than this gets a holder-to-lot map.
const WIDE: usize = 32;

impl TraceIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Movements applied.
    pub fn flows(&self) -> u64 {
        self.flows
    }
    pub fn lots(&self) -> usize {
        self.lot_batch.len()
    }
    /// Movements withdrawn by corrections that the index still carries (until the next compaction).
    pub fn withdrawn(&self) -> usize {
        self.void.len()
    }
    /// Movements recorded at lots (a transformation records one per input and output line).
    pub fn movements(&self) -> usize {
        self.mv_lot.len()
    }
    pub fn edges(&self) -> usize {
        self.edges.len()
    }
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// Heap bytes held by the index (capacities, including the id maps).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let map = |n: usize| n * (size_of::<Uuid>() + size_of::<Ix>() + 1) * 8 / 7;
        self.batches.capacity() * 16
            + map(self.batch_ix.capacity())
            + self.batch_first_lot.capacity() * 4
            + self.holders.capacity() * 16
            + map(self.holder_ix.capacity())
            + self.holder_first_lot.capacity() * 4
            + self.lot_next_in_holder.capacity() * 4
            + (self.lot_batch.capacity()
                + self.lot_holder.capacity()
                + self.lot_next_in_batch.capacity()
                + self.lot_first_mv.capacity()
                + self.lot_out.capacity()
                + self.lot_in.capacity())
                * 4
            + self.mv_lot.capacity() * 4
            + self.mv_kind.capacity()
            + self.mv_t.capacity() * 4
            + self.mv_qty.capacity() * 8
            + self.mv_seq.capacity() * 4
            + self.mv_next.capacity() * 4
            + self.edges.capacity() * size_of::<Edge>()
    }

    /// Releases spare capacity (after a bulk rebuild).
    pub fn shrink_to_fit(&mut self) {
        self.batches.shrink_to_fit();
        self.batch_ix.shrink_to_fit();
        self.batch_first_lot.shrink_to_fit();
        self.holders.shrink_to_fit();
        self.holder_ix.shrink_to_fit();
        for v in [
            &mut self.lot_batch,
            &mut self.lot_holder,
            &mut self.lot_next_in_batch,
            &mut self.lot_next_in_holder,
            &mut self.holder_first_lot,
            &mut self.lot_first_mv,
            &mut self.lot_out,
            &mut self.lot_in,
            &mut self.mv_lot,
            &mut self.mv_t,
            &mut self.mv_seq,
            &mut self.mv_next,
        ] {
            v.shrink_to_fit();
        }
        self.mv_kind.shrink_to_fit();
        self.mv_qty.shrink_to_fit();
        self.edges.shrink_to_fit();
        self.wide.shrink_to_fit();
    }

    pub fn batch(&self, id: &Uuid) -> Option<Ix> {
        self.batch_ix.get(id).copied()
    }
    pub fn holder(&self, id: &Uuid) -> Option<Ix> {
        self.holder_ix.get(id).copied()
    }
    pub fn batch_id(&self, b: Ix) -> Uuid {
        self.batches[b as usize]
    }
    pub fn holder_id(&self, h: Ix) -> Uuid {
        self.holders[h as usize]
    }
    pub fn lot_batch(&self, lot: Ix) -> Ix {
        self.lot_batch[lot as usize]
    }
    pub fn lot_holder(&self, lot: Ix) -> Ix {
        self.lot_holder[lot as usize]
    }

    /// The lots of a batch, as the records stand: a lot that only a corrected record made (a buyer named by
    /// mistake, then corrected) is not listed.
    pub fn lots_of_batch(&self, b: Ix) -> impl Iterator<Item = Ix> + '_ {
        self.batch_chain(b).filter(move |l| self.is_live(*l))
    }

    /// The lots at a holder, as the records stand (see [`TraceIndex::lots_of_batch`]).
    pub fn lots_of_holder(&self, h: Ix) -> impl Iterator<Item = Ix> + '_ {
        let mut cur = self.holder_first_lot[h as usize];
        std::iter::from_fn(move || {
            if cur == NONE {
                return None;
            }
            let l = cur;
            cur = self.lot_next_in_holder[l as usize];
            Some(l)
        })
        .filter(move |l| self.is_live(*l))
    }

    /// Every lot ever made for a batch, including those only withdrawn records touched.
    pub(crate) fn batch_chain(&self, b: Ix) -> impl Iterator<Item = Ix> + '_ {
        let mut cur = self.batch_first_lot[b as usize];
        std::iter::from_fn(move || {
            if cur == NONE {
                return None;
            }
            let l = cur;
            cur = self.lot_next_in_batch[l as usize];
            Some(l)
        })
    }

    /// A lot some standing record touches: one of its movements, or a flow in or out. Every lot is, until a
    /// correction withdraws what made it.
    #[inline]
    fn is_live(&self, lot: Ix) -> bool {
        self.void.is_empty()
            || self.lot_movements(lot).next().is_some()
            || self.out_edges(lot).next().is_some()
            || self.in_edges(lot).next().is_some()
    }

    /// The lot of `batch` at `holder`, if the holder has it as the records stand (not a lot only a withdrawn
    /// record made).
    pub fn lot(&self, batch: &Uuid, holder: &Uuid) -> Option<Ix> {
        self.any_lot(batch, holder).filter(|l| self.is_live(*l))
    }

    /// The lot of `batch` at `holder`, if any record ever made it.
    fn any_lot(&self, batch: &Uuid, holder: &Uuid) -> Option<Ix> {
        let b = self.batch(batch)?;
        let h = self.holder(holder)?;
        if let Some(m) = self.wide.get(&b) {
            return m.get(&h).copied();
        }
        self.batch_chain(b)
            .find(|l| self.lot_holder[*l as usize] == h)
    }

    /// The movements recorded at a lot: `(movement index, kind, time, quantity, store seq)`.
    pub fn lot_movements(&self, lot: Ix) -> impl Iterator<Item = (Ix, Kind, Secs, i64, u32)> + '_ {
        let mut cur = self.lot_first_mv[lot as usize];
        std::iter::from_fn(move || {
            loop {
                if cur == NONE {
                    return None;
                }
                let m = cur as usize;
                cur = self.mv_next[m];
                if self.is_void(m as Ix) {
                    continue;
                }
                return Some((
                    m as Ix,
                    self.mv_kind[m],
                    self.mv_t[m],
                    self.mv_qty[m],
                    self.mv_seq[m],
                ));
            }
        })
    }

    #[inline]
    fn is_void(&self, mv: Ix) -> bool {
        !self.void.is_empty() && self.void.contains(&mv)
    }

    /// Withdraws a flow that a correction replaced: its movements stop counting in quantities and its edges stop
    /// carrying a trace, live as after a rebuild (where the store no longer feeds the corrected flow). A flow
    /// that was never applied is ignored.
    pub fn retract(&mut self, f: &Flow) {
        let Ok(seq) = u32::try_from(f.seq) else {
            return;
        };
        for (b, h) in f.lots() {
            let Some(lot) = self.any_lot(&b, &h) else {
                continue;
            };
            let mut cur = self.lot_first_mv[lot as usize];
            while cur != NONE {
                if self.mv_seq[cur as usize] == seq {
                    self.void.insert(cur);
                }
                cur = self.mv_next[cur as usize];
            }
        }
    }

    pub fn movement_time(&self, mv: Ix) -> Secs {
        self.mv_t[mv as usize]
    }
    pub fn movement_kind(&self, mv: Ix) -> Kind {
        self.mv_kind[mv as usize]
    }
    pub fn quantity_of(&self, mv: Ix) -> i64 {
        self.mv_qty[mv as usize]
    }
    pub fn movement_seq(&self, mv: Ix) -> u32 {
        self.mv_seq[mv as usize]
    }
    pub fn movement_lot(&self, mv: Ix) -> Ix {
        self.mv_lot[mv as usize]
    }

    /// Quantities of a lot, from its own movements and what senders reported shipping to it.
    pub fn quantities(&self, lot: Ix) -> LotQuantities {
        let mut q = LotQuantities::default();
        // Saturating: quantities come from ledgers (and snapshots), and a sum must not overflow.
        for (_, kind, _, qty, _) in self.lot_movements(lot) {
            let field = match kind {
                Kind::Receive => &mut q.received,
                Kind::Produce => &mut q.produced,
                Kind::Ship => &mut q.shipped,
                Kind::Sell => &mut q.sold,
                Kind::Consume => &mut q.consumed,
                Kind::Destroy => &mut q.destroyed,
                Kind::Seal => &mut q.sealed,
                Kind::Return => &mut q.returned,
            };
            *field = field.saturating_add(qty);
        }
        let mut e = self.lot_in[lot as usize];
        while e != NONE {
            let edge = self.edges[e as usize];
            let m = edge.mv as usize;
            if self.mv_lot[m] != lot
                && !self.is_void(edge.mv)
                && matches!(self.mv_kind[m], Kind::Ship | Kind::Sell | Kind::Return)
            {
                q.reported_inbound = q.reported_inbound.saturating_add(self.mv_qty[m]);
            }
            e = edge.next;
        }
        q
    }

    fn intern_batch(&mut self, id: Uuid) -> Ix {
        if let Some(b) = self.batch_ix.get(&id) {
            return *b;
        }
        let b = self.batches.len() as Ix;
        self.batches.push(id);
        self.batch_first_lot.push(NONE);
        self.batch_ix.insert(id, b);
        b
    }

    fn intern_holder(&mut self, id: Uuid) -> Ix {
        if let Some(h) = self.holder_ix.get(&id) {
            return *h;
        }
        let h = self.holders.len() as Ix;
        self.holders.push(id);
        self.holder_first_lot.push(NONE);
        self.holder_ix.insert(id, h);
        h
    }

    fn intern_lot(&mut self, batch: Uuid, holder: Uuid) -> Ix {
        let b = self.intern_batch(batch);
        let h = self.intern_holder(holder);
        let mut count = 0;
        if let Some(m) = self.wide.get(&b) {
            if let Some(l) = m.get(&h) {
                return *l;
            }
        } else {
            let mut cur = self.batch_first_lot[b as usize];
            while cur != NONE {
                if self.lot_holder[cur as usize] == h {
                    return cur;
                }
                count += 1;
                cur = self.lot_next_in_batch[cur as usize];
            }
        }
        let l = self.lot_batch.len() as Ix;
        self.lot_batch.push(b);
        self.lot_holder.push(h);
        self.lot_next_in_batch
            .push(self.batch_first_lot[b as usize]);
        self.batch_first_lot[b as usize] = l;
        self.lot_next_in_holder
            .push(self.holder_first_lot[h as usize]);
        self.holder_first_lot[h as usize] = l;
        self.lot_first_mv.push(NONE);
        self.lot_out.push(NONE);
        self.lot_in.push(NONE);
        if let Some(m) = self.wide.get_mut(&b) {
            m.insert(h, l);
        } else if count + 1 > WIDE {
            let m: HashMap<Ix, Ix> = self
                .batch_chain(b)
                .map(|x| (self.lot_holder[x as usize], x))
                .collect();
            self.wide.insert(b, m);
        }
        l
    }

    fn push_mv(&mut self, lot: Ix, kind: Kind, t: Secs, qty: i64, seq: u64) -> Ix {
        let m = self.mv_lot.len() as Ix;
        self.mv_lot.push(lot);
        self.mv_kind.push(kind);
        self.mv_t.push(t);
        self.mv_qty.push(qty);
        self.mv_seq.push(seq.min(u32::MAX as u64) as u32);
        self.mv_next.push(self.lot_first_mv[lot as usize]);
        self.lot_first_mv[lot as usize] = m;
        m
    }

    fn push_edge(&mut self, from: Ix, to: Ix, mv: Ix) {
        let e = self.edges.len() as Ix;
        self.edges.push(Edge {
            other: to,
            mv,
            next: self.lot_out[from as usize],
        });
        self.lot_out[from as usize] = e;
        self.edges.push(Edge {
            other: from,
            mv,
            next: self.lot_in[to as usize],
        });
        self.lot_in[to as usize] = e + 1;
    }

    /// Adds one committed movement. Flows may arrive in any order.
    pub fn apply(&mut self, f: &Flow) {
        self.flows += 1;
        let t = secs(f.at_ms);
        match f.kind {
            FlowKind::Transform => {
                let mut ins = Vec::with_capacity(f.inputs.len());
                for (b, q) in &f.inputs {
                    let lot = self.intern_lot(*b, f.holder);
                    self.push_mv(lot, Kind::Consume, t, *q, f.seq);
                    ins.push(lot);
                }
                for (b, q) in &f.outputs {
                    let lot = self.intern_lot(*b, f.holder);
                    let m = self.push_mv(lot, Kind::Produce, t, *q, f.seq);
                    for &i in &ins {
                        self.push_edge(i, lot, m);
                    }
                }
            }
            kind => {
                let Some(b) = f.batch else { return };
                let lot = self.intern_lot(b, f.holder);
                let k = match kind {
                    FlowKind::Receive => Kind::Receive,
                    FlowKind::Ship => Kind::Ship,
                    FlowKind::Sell => Kind::Sell,
                    FlowKind::Destroy => Kind::Destroy,
                    FlowKind::Seal => Kind::Seal,
                    FlowKind::Return => Kind::Return,
                    FlowKind::Transform => unreachable!("handled above"),
                };
                let m = self.push_mv(lot, k, t, f.quantity, f.seq);
                if let Some(cp) = f.counterparty
                    && cp != f.holder
                {
                    match k {
                        Kind::Receive => {
                            let from = self.intern_lot(b, cp);
                            self.push_edge(from, lot, m);
                        }
                        Kind::Ship | Kind::Sell | Kind::Return => {
                            let to = self.intern_lot(b, cp);
                            self.push_edge(lot, to, m);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Flows out of a lot: `(the lot it went to, the movement)`.
    pub fn out_edges(&self, lot: Ix) -> impl Iterator<Item = (Ix, Ix)> + '_ {
        self.edge_list(self.lot_out[lot as usize])
    }

    /// Flows into a lot: `(the lot it came from, the movement)`.
    pub fn in_edges(&self, lot: Ix) -> impl Iterator<Item = (Ix, Ix)> + '_ {
        self.edge_list(self.lot_in[lot as usize])
    }

    /// `(other lot, movement)` along a list.
    fn edge_list(&self, head: Ix) -> impl Iterator<Item = (Ix, Ix)> + '_ {
        let mut cur = head;
        std::iter::from_fn(move || {
            loop {
                if cur == NONE {
                    return None;
                }
                let e = self.edges[cur as usize];
                cur = e.next;
                if !self.is_void(e.mv) {
                    return Some((e.other, e.mv));
                }
            }
        })
    }
}
