//! Synthetic flows for benchmarks at scales a store would take hours to fill: the same shape as the platform's
//! data generator (import batch → first station → 2-6 vendors or processors → retailers → consumers; processors
//! mix two input batches into one), produced in memory, deterministic from a seed.

use uuid::Uuid;

use crate::{Flow, FlowKind, TraceIndex};

/// Deterministic xorshift; statistical quality is irrelevant here, speed is not.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A synthetic data set's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub seed: u64,
    /// Flows to produce (approximately).
    pub flows: u64,
    /// Import batches per overseas establishment.
    pub batches_per_establishment: u64,
}

/// An index of the flows [`generate`] produces for `shape`, with the import batches grouped by establishment.
pub fn index(shape: Shape) -> (TraceIndex, Vec<Vec<Uuid>>) {
    let mut ix = TraceIndex::new();
    let establishments = generate(shape, |f| ix.apply(f));
    (ix, establishments)
}

/// Produces flows in time order and calls `sink` for each; returns the import batches grouped by establishment.
pub fn generate(shape: Shape, mut sink: impl FnMut(&Flow)) -> Vec<Vec<Uuid>> {
    let mut rng = Rng(shape.seed | 1);
    let key = |kind: u64, i: u64| Uuid::from_u64_pair(kind, i);
    let (importers, stations, vendors, processors, retailers) = (324u64, 40, 3118, 144, 2827);
    let batches = (shape.flows / 25).max(1);
    let establishments = (batches / shape.batches_per_establishment.max(1)).max(1);
    let mut by_establishment: Vec<Vec<Uuid>> = vec![Vec::new(); establishments as usize];
    let mut pools: Vec<Option<(Uuid, i64)>> = vec![None; processors as usize];
    let mut seq = 0u64;
    let mut next_batch = 0u64;
    let start = 1_767_225_600_000i64;
    let hour = 3_600_000i64;
    let mut emit = |kind,
                    holder,
                    batch: Option<Uuid>,
                    cp: Option<Uuid>,
                    q: i64,
                    at: i64,
                    ins: Vec<(Uuid, i64)>,
                    outs: Vec<(Uuid, i64)>| {
        seq += 1;
        sink(&Flow {
            seq,
            kind,
            holder,
            batch,
            counterparty: cp,
            quantity: q,
            at_ms: at,
            inputs: ins,
            outputs: outs,
        });
    };
    let mut made = 0u64;
    let mut b = 0u64;
    while made < shape.flows {
        let t0 = start + (b as i64) * (365 * 24 * hour) / batches as i64;
        let batch = key(1, next_batch);
        next_batch += 1;
        by_establishment[(b % establishments) as usize].push(batch);
        b += 1;
        let imp = key(10, rng.below(importers));
        let fs = key(11, rng.below(stations));
        let q = 1_300_000_i64;
        emit(
            FlowKind::Receive,
            imp,
            Some(batch),
            Some(key(9, b % establishments)),
            q,
            t0,
            vec![],
            vec![],
        );
        emit(
            FlowKind::Ship,
            imp,
            Some(batch),
            Some(fs),
            q,
            t0 + 24 * hour,
            vec![],
            vec![],
        );
        emit(
            FlowKind::Receive,
            fs,
            Some(batch),
            Some(imp),
            q,
            t0 + 26 * hour,
            vec![],
            vec![],
        );
        made += 3;
        let k = 2 + rng.below(5);
        for j in 0..k as i64 {
            let part = q / k as i64;
            let t2 = t0 + (48 + 24 * j) * hour;
            if rng.below(5) == 0 {
                let pi = rng.below(processors);
                let p = key(13, pi);
                emit(
                    FlowKind::Ship,
                    fs,
                    Some(batch),
                    Some(p),
                    part,
                    t2,
                    vec![],
                    vec![],
                );
                emit(
                    FlowKind::Receive,
                    p,
                    Some(batch),
                    Some(fs),
                    part,
                    t2 + 2 * hour,
                    vec![],
                    vec![],
                );
                made += 2;
                match pools[pi as usize].take() {
                    None => pools[pi as usize] = Some((batch, part)),
                    Some((other, oq)) => {
                        let out = key(2, next_batch);
                        next_batch += 1;
                        let t3 = t2 + 48 * hour;
                        let out_q = (part + oq) * 9 / 10;
                        emit(
                            FlowKind::Transform,
                            p,
                            None,
                            None,
                            0,
                            t3,
                            vec![(other, oq), (batch, part)],
                            vec![(out, out_q)],
                        );
                        made += 1;
                        for r in 0..1 + rng.below(3) as i64 {
                            let ret = key(14, rng.below(retailers));
                            let t4 = t3 + (r + 1) * 24 * hour;
                            emit(
                                FlowKind::Ship,
                                p,
                                Some(out),
                                Some(ret),
                                out_q / 4,
                                t4,
                                vec![],
                                vec![],
                            );
                            emit(
                                FlowKind::Receive,
                                ret,
                                Some(out),
                                Some(p),
                                out_q / 4,
                                t4 + hour,
                                vec![],
                                vec![],
                            );
                            emit(
                                FlowKind::Sell,
                                ret,
                                Some(out),
                                None,
                                out_q / 8,
                                t4 + 24 * hour,
                                vec![],
                                vec![],
                            );
                            made += 3;
                        }
                    }
                }
            } else {
                let v = key(12, rng.below(vendors));
                emit(
                    FlowKind::Ship,
                    fs,
                    Some(batch),
                    Some(v),
                    part,
                    t2,
                    vec![],
                    vec![],
                );
                emit(
                    FlowKind::Receive,
                    v,
                    Some(batch),
                    Some(fs),
                    part,
                    t2 + 2 * hour,
                    vec![],
                    vec![],
                );
                made += 2;
                for r in 0..1 + rng.below(3) as i64 {
                    let ret = key(14, rng.below(retailers));
                    let t4 = t2 + (r + 1) * 24 * hour;
                    emit(
                        FlowKind::Sell,
                        v,
                        Some(batch),
                        Some(ret),
                        part / 4,
                        t4,
                        vec![],
                        vec![],
                    );
                    emit(
                        FlowKind::Receive,
                        ret,
                        Some(batch),
                        Some(v),
                        part / 4,
                        t4 + hour,
                        vec![],
                        vec![],
                    );
                    emit(
                        FlowKind::Sell,
                        ret,
                        Some(batch),
                        None,
                        part / 8,
                        t4 + 24 * hour,
                        vec![],
                        vec![],
                    );
                    made += 3;
                }
            }
        }
    }
    by_establishment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, Query, Start, TimeMode, TraceIndex};

    #[test]
    fn synthetic_data_has_the_shape() {
        let mut ix = TraceIndex::new();
        let groups = generate(
            Shape {
                seed: 3,
                flows: 20_000,
                batches_per_establishment: 30,
            },
            |f| ix.apply(f),
        );
        assert!(ix.flows() >= 20_000);
        assert!(groups.iter().map(Vec::len).sum::<usize>() > 500);
        let r = ix.trace(&Query {
            start: Start::Batches(groups[0].clone()),
            direction: Direction::Both,
            mode: TimeMode::Strict,
        });
        assert!(r.forward.len() > groups[0].len() * 3, "batches fan out");
        assert!(!r.backward.is_empty());
    }
}
