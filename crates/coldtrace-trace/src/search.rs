//! Forward (where did it go) and backward (where did it come from) searches over the index.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use uuid::Uuid;

use crate::{Ix, Secs, TraceIndex};

/// Which way to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
    Both,
    /// The scope of an incident (one for a province and the nation): backward to the sources, then forward from
    /// the start and from everything reached backward, from their beginning, so every holder of implicated goods
    /// is found, the remaining stock at the sources included.
    Scope,
}

/// How far a ledger's clock may be off, in strict backward search: a flow into a lot up to this long after the
/// lot's goods left still counts as their source (ledgers kept by day, clocks set by hand).
pub const CLOCK_SKEW_SECS: Secs = 24 * 3_600;

/// How time limits a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// Only flows at or after the moment a lot was implicated carry the implication forward (and mirror-wise
    /// backward): goods that left before contaminated goods arrived are not implicated. Backward, a flow into a
    /// lot counts up to [`CLOCK_SKEW_SECS`] after the lot's goods left, and a lot's first receipt always counts
    /// (goods consumed or shipped before their recorded receipt came from somewhere: a time anomaly never cuts a
    /// backward trace).
    Strict,
    /// Every flow counts, whatever its time: for a contamination whose start is uncertain.
    Conservative,
}

/// Where a trace starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Whole batches: every lot of each, implicated from the beginning.
    Batches(Vec<Uuid>),
    /// Explicit lots with the time from which (forward) and until which (backward) each is implicated: a batch at
    /// one holder, a place during a window, the lots a person handled.
    Lots(Vec<(Ix, Secs, Secs)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub start: Start,
    pub direction: Direction,
    pub mode: TimeMode,
}

/// A lot reached by a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub lot: Ix,
    /// Forward: the earliest time the lot held implicated goods. Backward: the latest time the lot sent goods
    /// that reached the start.
    pub time: Secs,
    /// The lot and movement through which the search reached this lot (`None` for a start).
    pub via: Option<(Ix, Ix)>,
    /// Flows between the start and this lot.
    pub depth: u32,
}

/// One step of the path that implicates a lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub lot: Ix,
    /// The movement that led here from the previous step.
    pub mv: Option<Ix>,
}

/// The lots a query reached, each direction separately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceResult {
    pub starts: Vec<Ix>,
    pub forward: Vec<Hit>,
    pub backward: Vec<Hit>,
}

/// From how many start lots a trace in both directions runs its backward search on a thread of its own beside the
/// forward one. Starting and joining a thread costs about 40 µs (`cargo bench -p coldtrace-trace`, `at_once`): a batch of a few lots answers in less than that, an
/// establishment's hundreds of batches in milliseconds.
pub const PARALLEL_FROM_SEEDS: usize = 64;

/// Runs `here` on this thread and `beside` on a scoped thread at the same time and returns both results. When the
/// system cannot start a thread, `beside` runs after `here`: the answer comes later but still comes. A panic in
/// either is raised again in the caller. For work of milliseconds: the thread costs about 40 µs.
pub fn at_once<A, B: Send>(here: impl FnOnce() -> A, beside: impl Fn() -> B + Sync) -> (A, B) {
    std::thread::scope(|s| {
        let beside = &beside;
        match std::thread::Builder::new().spawn_scoped(s, beside) {
            Ok(handle) => {
                let a = here();
                let b = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (a, b)
            }
            Err(_) => (here(), beside()),
        }
    })
}

/// A fast hasher for `u32` lot indices (multiplicative; lot numbers are not attacker-chosen).
#[derive(Default)]
pub struct IxHasher(u64);

impl Hasher for IxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by lot (or movement) index, with [`IxHasher`].
pub type IxMap<V> = HashMap<Ix, V, BuildHasherDefault<IxHasher>>;

/// A set of lot (or movement) indices, with [`IxHasher`].
pub type IxSet = std::collections::HashSet<Ix, BuildHasherDefault<IxHasher>>;

impl TraceResult {
    /// The path from a start to `lot` in the given direction (start first). For many paths of one result, use
    /// [`TraceResult::paths`].
    pub fn path(&self, forward: bool, lot: Ix) -> Vec<Step> {
        self.paths(forward).path(lot)
    }

    /// An index of one direction's hits by lot, to follow many paths.
    pub fn paths(&self, forward: bool) -> Paths<'_> {
        let hits = if forward {
            &self.forward
        } else {
            &self.backward
        };
        Paths {
            by: hits.iter().map(|h| (h.lot, h)).collect(),
            len: hits.len(),
        }
    }
}

/// Hits of one direction by lot (see [`TraceResult::paths`]).
pub struct Paths<'a> {
    by: IxMap<&'a Hit>,
    len: usize,
}

impl Paths<'_> {
    /// The path from a start to `lot` (start first); empty when the lot was not reached.
    pub fn path(&self, lot: Ix) -> Vec<Step> {
        let mut out = Vec::new();
        let mut cur = lot;
        while let Some(h) = self.by.get(&cur) {
            match h.via {
                Some((prev, mv)) => {
                    out.push(Step {
                        lot: cur,
                        mv: Some(mv),
                    });
                    cur = prev;
                }
                None => {
                    out.push(Step { lot: cur, mv: None });
                    break;
                }
            }
            if out.len() > self.len {
                break;
            }
        }
        out.reverse();
        out
    }
}

/// Whether the path that reached `from` passes through `lot`. A lot whose time improves keeps the path it was
/// reached by when the improving step came back through itself (the clock-skew allowance backward, or any order in
/// conservative mode, lets times improve around a cycle): re-pointing it would make two lots each other's way to
/// the start, and neither path would lead there. Only improvements walk, and paths are a few steps long.
fn leads_through(best: &IxMap<Hit>, from: Ix, lot: Ix) -> bool {
    let mut cur = from;
    for _ in 0..=best.len() {
        if cur == lot {
            return true;
        }
        match best.get(&cur).and_then(|h| h.via) {
            Some((prev, _)) => cur = prev,
            None => return false,
        }
    }
    true
}

/// Records that the search reached `to` at `t` through `via` (a lot and a movement), when `t` is `better` than
/// what it had; answers whether it was (and so whether `to` is searched from again). A lot whose time improves
/// through a path that passes through itself keeps the path it was reached by ([`leads_through`]). Depths are
/// settled after the search ([`settle_depths`]).
fn reach(
    best: &mut IxMap<Hit>,
    to: Ix,
    t: Secs,
    via: (Ix, Ix),
    better: impl Fn(Secs, Secs) -> bool,
) -> bool {
    match best.get(&to) {
        Some(h) if !better(t, h.time) => false,
        Some(_) if leads_through(best, via.0, to) => {
            if let Some(h) = best.get_mut(&to) {
                h.time = t;
            }
            true
        }
        _ => {
            best.insert(
                to,
                Hit {
                    lot: to,
                    time: t,
                    via: Some(via),
                    depth: 0,
                },
            );
            true
        }
    }
}

/// Sets every hit's depth to the length of the path its `via` pointers give. A depth is taken from the parent
/// when a lot is reached, and a parent reached again by a better route later is re-pointed, so depths are settled
/// once the search is over. The pointers form a forest ([`leads_through`]), so this is one pass.
fn settle_depths(best: &mut IxMap<Hit>) {
    let mut done: IxMap<u32> = IxMap::with_capacity_and_hasher(best.len(), Default::default());
    let lots: Vec<Ix> = best.keys().copied().collect();
    let mut climbed = Vec::new();
    for lot in lots {
        let mut cur = lot;
        let mut d = loop {
            if let Some(d) = done.get(&cur) {
                break *d;
            }
            match best.get(&cur).and_then(|h| h.via) {
                Some((prev, _)) if best.contains_key(&prev) && climbed.len() <= best.len() => {
                    climbed.push(cur);
                    cur = prev;
                }
                _ => {
                    done.insert(cur, 0);
                    break 0;
                }
            }
        };
        while let Some(l) = climbed.pop() {
            d += 1;
            done.insert(l, d);
        }
    }
    for (lot, h) in best.iter_mut() {
        h.depth = done.get(lot).copied().unwrap_or(0);
    }
}

impl TraceIndex {
    /// What orders lots of the same time in a search: the batch and the holder, never the lot's number, so
    /// that an answer (which path, which lot first) is the same after a compaction, a restart or a rebuild.
    #[inline]
    fn lot_key(&self, lot: Ix) -> (u128, u128) {
        (
            self.batches[self.lot_batch[lot as usize] as usize].as_u128(),
            self.holders[self.lot_holder[lot as usize] as usize].as_u128(),
        )
    }

    /// Runs a trace.
    pub fn trace(&self, q: &Query) -> TraceResult {
        let seeds: Vec<(Ix, Secs, Secs)> = match &q.start {
            Start::Batches(ids) => ids
                .iter()
                .filter_map(|id| self.batch(id))
                .flat_map(|b| self.lots_of_batch(b).map(|l| (l, 0, Secs::MAX)))
                .collect(),
            Start::Lots(l) => l.clone(),
        };
        let mut r = TraceResult {
            starts: seeds.iter().map(|s| s.0).collect(),
            ..Default::default()
        };
        let (forward, backward) = (
            || self.forward(&seeds, q.mode),
            || self.backward(&seeds, q.mode),
        );
        match q.direction {
            Direction::Forward => r.forward = forward(),
            Direction::Backward => r.backward = backward(),
            // Backward and forward at once: the two searches share nothing but the index, which is read-only.
            Direction::Both if seeds.len() >= PARALLEL_FROM_SEEDS => {
                (r.forward, r.backward) = at_once(forward, backward)
            }
            Direction::Both => (r.forward, r.backward) = (forward(), backward()),
            Direction::Scope => {
                r.backward = backward();
                let mut from = seeds.clone();
                from.extend(r.backward.iter().map(|h| (h.lot, 0, Secs::MAX)));
                r.forward = self.forward(&from, q.mode);
            }
        }
        r
    }

    fn forward(&self, seeds: &[(Ix, Secs, Secs)], mode: TimeMode) -> Vec<Hit> {
        let mut best: IxMap<Hit> = IxMap::default();
        let mut heap = BinaryHeap::new();
        for &(lot, since, _) in seeds {
            let better = best.get(&lot).is_none_or(|h| since < h.time);
            if better {
                best.insert(
                    lot,
                    Hit {
                        lot,
                        time: since,
                        via: None,
                        depth: 0,
                    },
                );
                heap.push(Reverse((since, self.lot_key(lot), lot)));
            }
        }
        while let Some(Reverse((s, _, lot))) = heap.pop() {
            let Some(cur) = best.get(&lot).copied() else {
                continue;
            };
            if s > cur.time {
                continue;
            }
            for (next, mv) in self.out_edges(lot) {
                let t = self.movement_time(mv);
                if mode == TimeMode::Strict && t < s {
                    continue;
                }
                if reach(&mut best, next, t, (lot, mv), |new, old| new < old) {
                    heap.push(Reverse((t, self.lot_key(next), next)));
                }
            }
        }
        settle_depths(&mut best);
        let mut v: Vec<Hit> = best.into_values().collect();
        v.sort_by_cached_key(|h| (h.time, self.lot_key(h.lot)));
        v
    }

    fn backward(&self, seeds: &[(Ix, Secs, Secs)], mode: TimeMode) -> Vec<Hit> {
        let mut best: IxMap<Hit> = IxMap::default();
        let mut heap = BinaryHeap::new();
        for &(lot, _, until) in seeds {
            let better = best.get(&lot).is_none_or(|h| until > h.time);
            if better {
                best.insert(
                    lot,
                    Hit {
                        lot,
                        time: until,
                        via: None,
                        depth: 0,
                    },
                );
                heap.push((until, self.lot_key(lot), lot));
            }
        }
        while let Some((u, _, lot)) = heap.pop() {
            let Some(cur) = best.get(&lot).copied() else {
                continue;
            };
            if u < cur.time {
                continue;
            }
            // The lot's first receipt: always a possible source, whatever the recorded times say.
            let first_in = match mode {
                TimeMode::Strict => self
                    .in_edges(lot)
                    .map(|(_, mv)| self.movement_time(mv))
                    .min()
                    .unwrap_or(0),
                TimeMode::Conservative => Secs::MAX,
            };
            let limit = u.saturating_add(CLOCK_SKEW_SECS).max(first_in);
            for (prev, mv) in self.in_edges(lot) {
                let t = self.movement_time(mv);
                if t > limit {
                    continue;
                }
                if reach(&mut best, prev, t, (lot, mv), |new, old| new > old) {
                    heap.push((t, self.lot_key(prev), prev));
                }
            }
        }
        settle_depths(&mut best);
        let mut v: Vec<Hit> = best.into_values().collect();
        v.sort_by_cached_key(|h| (Reverse(h.time), self.lot_key(h.lot)));
        v
    }
}
