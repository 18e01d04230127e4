//! The engine against a plain reference search, on random graphs with splits, mixing, returns (cycles) and
//! out-of-order arrival, in both time modes; hand-made cases for each rule; and the two directions searched at once
//! against each searched alone.

use std::collections::HashMap;

use coldtrace_trace::{
    CLOCK_SKEW_SECS, Direction, Flow, FlowKind, Query, Secs, Start, TimeMode, TraceIndex, millis,
    secs,
};
use proptest::prelude::*;
use uuid::Uuid;

fn id(n: u64) -> Uuid {
    Uuid::from_u64_pair(0, n + 1)
}

fn t(h: i64) -> i64 {
    // Hours after 2026-01-01T00:00Z, in milliseconds.
    1_767_225_600_000 + h * 3_600_000
}

fn flow(
    seq: u64,
    kind: FlowKind,
    holder: u64,
    batch: u64,
    cp: Option<u64>,
    q: i64,
    h: i64,
) -> Flow {
    Flow {
        seq,
        kind,
        holder: id(100 + holder),
        batch: Some(id(batch)),
        counterparty: cp.map(|c| id(100 + c)),
        quantity: q,
        at_ms: t(h),
        inputs: vec![],
        outputs: vec![],
    }
}

fn transform(seq: u64, holder: u64, inputs: &[u64], outputs: &[u64], h: i64) -> Flow {
    Flow {
        seq,
        kind: FlowKind::Transform,
        holder: id(100 + holder),
        batch: None,
        counterparty: None,
        quantity: 0,
        at_ms: t(h),
        inputs: inputs.iter().map(|b| (id(*b), 1000)).collect(),
        outputs: outputs.iter().map(|b| (id(*b), 900)).collect(),
    }
}

/// (batch, holder) pairs implicated forward, with their times.
fn forward_set(ix: &TraceIndex, start: Vec<Uuid>, mode: TimeMode) -> HashMap<(Uuid, Uuid), Secs> {
    let r = ix.trace(&Query {
        start: Start::Batches(start),
        direction: Direction::Forward,
        mode,
    });
    r.forward
        .iter()
        .map(|h| {
            (
                (
                    ix.batch_id(ix.lot_batch(h.lot)),
                    ix.holder_id(ix.lot_holder(h.lot)),
                ),
                h.time,
            )
        })
        .collect()
}

#[test]
fn a_split_batch_is_found_at_every_holder_with_what_it_still_has() {
    let mut ix = TraceIndex::new();
    // Importer 1 receives batch 1 (1000) from overseas 0, ships 600 to cold store 2, which ships 200 to 3 and
    // 300 to 4; 4 sells 100 to consumers.
    ix.apply(&flow(1, FlowKind::Receive, 1, 1, Some(0), 1000, 0));
    ix.apply(&flow(2, FlowKind::Ship, 1, 1, Some(2), 600, 24));
    ix.apply(&flow(3, FlowKind::Receive, 2, 1, Some(1), 600, 26));
    ix.apply(&flow(4, FlowKind::Ship, 2, 1, Some(3), 200, 48));
    ix.apply(&flow(5, FlowKind::Ship, 2, 1, Some(4), 300, 49));
    ix.apply(&flow(6, FlowKind::Receive, 4, 1, Some(2), 300, 50));
    ix.apply(&flow(7, FlowKind::Sell, 4, 1, None, 100, 60));
    let got = forward_set(&ix, vec![id(1)], TimeMode::Strict);
    let holders: Vec<u64> = {
        let mut v: Vec<u64> = got.keys().map(|(_, h)| h.as_u64_pair().1 - 101).collect();
        v.sort();
        v
    };
    assert_eq!(
        holders,
        vec![0, 1, 2, 3, 4],
        "the overseas sender's lot is part of the batch too"
    );
    let q = |h: u64| ix.quantities(ix.lot(&id(1), &id(100 + h)).unwrap());
    assert_eq!(q(1).on_hand(), 400);
    assert_eq!(q(2).on_hand(), 100);
    assert_eq!(
        q(3).on_hand(),
        200,
        "3 recorded no receipt: what 2 reported shipping counts"
    );
    assert_eq!(q(3).reported_inbound, 200);
    assert_eq!(q(4).on_hand(), 200);
    assert_eq!(q(4).sold, 100);
    // Backward from the retailer's lot reaches the importer and the overseas plant, with the path.
    let lot4 = ix.lot(&id(1), &id(104)).unwrap();
    let r = ix.trace(&Query {
        start: Start::Lots(vec![(lot4, 0, Secs::MAX)]),
        direction: Direction::Backward,
        mode: TimeMode::Strict,
    });
    let importer_lot = ix.lot(&id(1), &id(101)).unwrap();
    let path: Vec<u64> = r
        .path(false, importer_lot)
        .iter()
        .map(|s| ix.holder_id(ix.lot_holder(s.lot)).as_u64_pair().1 - 101)
        .collect();
    assert_eq!(path, vec![4, 2, 1]);
}

#[test]
fn mixing_implicates_only_the_outputs_made_after_the_input_arrived() {
    let mut ix = TraceIndex::new();
    // Processor 5 makes output batch 20 from batch 10 at hour 10, and output batch 21 from batches 11 and 12
    // at hour 30. Batch 12 is positive.
    ix.apply(&transform(1, 5, &[10], &[20], 10));
    ix.apply(&transform(2, 5, &[11, 12], &[21], 30));
    ix.apply(&flow(3, FlowKind::Ship, 5, 21, Some(6), 50, 40));
    ix.apply(&flow(4, FlowKind::Ship, 5, 20, Some(7), 50, 41));
    let got = forward_set(&ix, vec![id(12)], TimeMode::Strict);
    let batches: std::collections::HashSet<Uuid> = got.keys().map(|(b, _)| *b).collect();
    assert!(batches.contains(&id(21)));
    assert!(
        !batches.contains(&id(20)),
        "an output made only from other inputs is not implicated"
    );
    assert!(
        !batches.contains(&id(11)),
        "a co-input is not implicated forward"
    );
    assert!(got.contains_key(&(id(21), id(106))));
    // Backward from output 21 finds both inputs.
    let r = ix.trace(&Query {
        start: Start::Batches(vec![id(21)]),
        direction: Direction::Backward,
        mode: TimeMode::Strict,
    });
    let back: std::collections::HashSet<Uuid> = r
        .backward
        .iter()
        .map(|h| ix.batch_id(ix.lot_batch(h.lot)))
        .collect();
    assert!(back.contains(&id(11)) && back.contains(&id(12)) && !back.contains(&id(10)));
}

#[test]
fn the_time_rule_strict_and_conservative() {
    let mut ix = TraceIndex::new();
    // Output batch 30 is made twice at processor 5: at hour 10 from clean batch 1, at hour 20 from positive
    // batch 2. A shipment of 30 at hour 15 left before the positive input arrived.
    ix.apply(&transform(1, 5, &[1], &[30], 10));
    ix.apply(&flow(2, FlowKind::Ship, 5, 30, Some(8), 10, 15));
    ix.apply(&transform(3, 5, &[2], &[30], 20));
    ix.apply(&flow(4, FlowKind::Ship, 5, 30, Some(9), 10, 25));
    let start = |mode| {
        let lot = ix.lot(&id(2), &id(105)).unwrap();
        let r = ix.trace(&Query {
            start: Start::Lots(vec![(lot, 0, Secs::MAX)]),
            direction: Direction::Forward,
            mode,
        });
        r.forward
            .iter()
            .map(|h| ix.holder_id(ix.lot_holder(h.lot)))
            .collect::<std::collections::HashSet<_>>()
    };
    let strict = start(TimeMode::Strict);
    assert!(strict.contains(&id(109)));
    assert!(
        !strict.contains(&id(108)),
        "the hour-15 shipment left before the positive input arrived"
    );
    let conservative = start(TimeMode::Conservative);
    assert!(conservative.contains(&id(108)) && conservative.contains(&id(109)));
    assert_eq!(millis(secs(t(20))), t(20));
}

#[test]
fn a_batch_sold_to_thousands_of_customers_stays_fast_and_exact() {
    let mut ix = TraceIndex::new();
    ix.apply(&flow(0, FlowKind::Receive, 1, 1, Some(0), 1_000_000, 0));
    for c in 0..20_000u64 {
        ix.apply(&flow(
            c + 1,
            FlowKind::Sell,
            1,
            1,
            Some(1000 + c),
            10,
            1 + (c as i64 % 50),
        ));
    }
    assert_eq!(ix.lots(), 20_002);
    assert!(ix.lot(&id(1), &id(100 + 1000 + 19_999)).is_some());
    assert!(ix.lot(&id(1), &id(100 + 999_999)).is_none());
    let got = forward_set(&ix, vec![id(1)], TimeMode::Strict);
    assert_eq!(got.len(), 20_002);
    assert_eq!(
        ix.quantities(ix.lot(&id(1), &id(101)).unwrap()).on_hand(),
        1_000_000 - 200_000
    );
}

#[test]
fn returns_make_cycles_that_terminate() {
    let mut ix = TraceIndex::new();
    ix.apply(&flow(1, FlowKind::Ship, 1, 1, Some(2), 10, 1));
    ix.apply(&flow(2, FlowKind::Return, 2, 1, Some(1), 5, 2));
    ix.apply(&flow(3, FlowKind::Ship, 1, 1, Some(3), 5, 3));
    let got = forward_set(&ix, vec![id(1)], TimeMode::Strict);
    assert_eq!(got.len(), 3);
    let r = ix.trace(&Query {
        start: Start::Batches(vec![id(1)]),
        direction: Direction::Both,
        mode: TimeMode::Conservative,
    });
    assert_eq!(r.forward.len(), 3);
    assert_eq!(r.backward.len(), 3);
}

#[test]
fn a_consumption_recorded_before_its_receipt_still_traces_back_to_the_source() {
    let backward_from = |ix: &TraceIndex, batch: u64| -> Vec<(Uuid, Uuid)> {
        let r = ix.trace(&Query {
            start: Start::Batches(vec![id(batch)]),
            direction: Direction::Backward,
            mode: TimeMode::Strict,
        });
        r.backward
            .iter()
            .map(|h| {
                (
                    ix.batch_id(ix.lot_batch(h.lot)),
                    ix.holder_id(ix.lot_holder(h.lot)),
                )
            })
            .collect()
    };
    // Processor 2's ledger records receiving batch 1 from importer 1 at hour 150 but the processing run that
    // consumed it (into batch 9) at hour 120: its clock or its clerk was off (the importer recorded no shipment).
    let mut ix = TraceIndex::new();
    ix.apply(&flow(1, FlowKind::Receive, 1, 1, Some(50), 1000, 10));
    ix.apply(&flow(3, FlowKind::Receive, 2, 1, Some(1), 1000, 150));
    ix.apply(&transform(4, 2, &[1], &[9], 120));
    let lots = backward_from(&ix, 9);
    assert!(
        lots.contains(&(id(1), id(101))),
        "the importer is found: {lots:?}"
    );
    assert!(
        lots.contains(&(id(1), id(150))),
        "and the overseas origin: {lots:?}"
    );
    // A second receipt of the same batch long after the run is not its source.
    ix.apply(&flow(5, FlowKind::Ship, 3, 1, Some(2), 500, 400));
    ix.apply(&flow(6, FlowKind::Receive, 2, 1, Some(3), 500, 410));
    let lots = backward_from(&ix, 9);
    assert!(
        !lots.contains(&(id(1), id(103))),
        "a later supplier is not implicated: {lots:?}"
    );
    // Within the clock skew a late receipt counts as the source.
    let mut ix = TraceIndex::new();
    ix.apply(&flow(1, FlowKind::Ship, 3, 1, Some(2), 500, 100));
    ix.apply(&flow(2, FlowKind::Receive, 2, 1, Some(4), 500, 90));
    ix.apply(&flow(3, FlowKind::Receive, 2, 1, Some(3), 500, 120));
    ix.apply(&transform(4, 2, &[1], &[9], 110));
    let lots = backward_from(&ix, 9);
    assert!(
        lots.contains(&(id(1), id(103))),
        "received 10 h after the run: {lots:?}"
    );
    assert!(
        lots.contains(&(id(1), id(104))),
        "received before the run: {lots:?}"
    );
}

// ---- property tests against a reference ------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Move {
        kind: u8,
        holder: u64,
        batch: u64,
        cp: Option<u64>,
        h: i64,
    },
    Mix {
        holder: u64,
        inputs: Vec<u64>,
        output: u64,
        h: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..5, 0u64..8, 0u64..6, proptest::option::of(0u64..8), 0i64..100)
            .prop_map(|(kind, holder, batch, cp, h)| Op::Move { kind, holder, batch, cp, h }),
        1 => (0u64..8, proptest::collection::vec(0u64..6, 1..4), 6u64..10, 0i64..100)
            .prop_map(|(holder, inputs, output, h)| Op::Mix { holder, inputs, output, h }),
    ]
}

/// Flat edges `(from (batch, holder), to, time)` as the reference sees them.
type Lot = (u64, u64);

fn reference_edges(ops: &[Op]) -> (Vec<(Lot, Lot, Secs)>, Vec<Lot>) {
    let mut edges = Vec::new();
    let mut lots = Vec::new();
    for o in ops {
        match o {
            Op::Move {
                kind,
                holder,
                batch,
                cp,
                h,
            } => {
                lots.push((*batch, *holder));
                let time = secs(t(*h));
                if let Some(c) = cp.filter(|c| c != holder) {
                    match kind {
                        0 => edges.push(((*batch, c), (*batch, *holder), time)), // receive
                        1..=3 => edges.push(((*batch, *holder), (*batch, c), time)), // ship, sell, return
                        _ => continue, // destroy: no flow between lots
                    }
                    lots.push((*batch, c));
                }
            }
            Op::Mix {
                holder,
                inputs,
                output,
                h,
            } => {
                let time = secs(t(*h));
                lots.push((*output, *holder));
                for i in inputs {
                    lots.push((*i, *holder));
                    edges.push(((*i, *holder), (*output, *holder), time));
                }
            }
        }
    }
    (edges, lots)
}

fn to_flows(ops: &[Op]) -> Vec<Flow> {
    ops.iter()
        .enumerate()
        .map(|(i, o)| match o {
            Op::Move {
                kind,
                holder,
                batch,
                cp,
                h,
            } => {
                let k = [
                    FlowKind::Receive,
                    FlowKind::Ship,
                    FlowKind::Sell,
                    FlowKind::Return,
                    FlowKind::Destroy,
                ][*kind as usize];
                flow(i as u64, k, *holder, *batch, *cp, 1000, *h)
            }
            Op::Mix {
                holder,
                inputs,
                output,
                h,
            } => transform(i as u64, *holder, inputs, &[*output], *h),
        })
        .collect()
}

/// Forward from whole start lots (implicated from their beginning).
fn reference_forward(
    edges: &[(Lot, Lot, Secs)],
    starts: &[Lot],
    strict: bool,
) -> HashMap<Lot, Secs> {
    reference_from(edges, &whole(starts), strict).0
}

/// Backward from whole start lots (implicated to their end).
fn reference_backward(
    edges: &[(Lot, Lot, Secs)],
    starts: &[Lot],
    strict: bool,
) -> HashMap<Lot, Secs> {
    reference_from(edges, &whole(starts), strict).1
}

fn whole(starts: &[Lot]) -> Vec<(Lot, Secs, Secs)> {
    starts.iter().map(|l| (*l, 0, Secs::MAX)).collect()
}

fn as_lots(ix: &TraceIndex, hits: &[coldtrace_trace::Hit]) -> HashMap<Lot, Secs> {
    hits.iter()
        .map(|h| {
            let b = ix.batch_id(ix.lot_batch(h.lot)).as_u64_pair().1 - 1;
            let hd = ix.holder_id(ix.lot_holder(h.lot)).as_u64_pair().1 - 101;
            ((b, hd), h.time)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference(ops in proptest::collection::vec(op(), 1..60), start in 0u64..10, shuffle in any::<u64>(), strict in any::<bool>()) {
        let (edges, lots) = reference_edges(&ops);
        // Out-of-order arrival: apply the flows in a shuffled order.
        let mut flows = to_flows(&ops);
        let n = flows.len();
        let mut x = shuffle | 1;
        for i in (1..n).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            flows.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut ix = TraceIndex::new();
        for f in &flows {
            ix.apply(f);
        }
        let starts: Vec<Lot> = {
            let mut s: Vec<Lot> = lots.iter().copied().filter(|(b, _)| *b == start).collect();
            s.sort();
            s.dedup();
            s
        };
        let mode = if strict { TimeMode::Strict } else { TimeMode::Conservative };
        let r = ix.trace(&Query { start: Start::Batches(vec![id(start)]), direction: Direction::Both, mode });
        let fwd = reference_forward(&edges, &starts, strict);
        let bwd = reference_backward(&edges, &starts, strict);
        prop_assert_eq!(as_lots(&ix, &r.forward), fwd);
        prop_assert_eq!(as_lots(&ix, &r.backward), bwd);
        // Every path starts at a start lot and follows recorded flows.
        for (forward, hits) in [(true, &r.forward), (false, &r.backward)] {
            for h in hits {
                let p = r.path(forward, h.lot);
                prop_assert!(!p.is_empty());
                prop_assert!(r.starts.contains(&p[0].lot), "{:?} does not lead to a start", p);
                prop_assert_eq!(p.len() as u32, h.depth + 1);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Corrections: flows applied and then retracted leave the index answering as if they had never been
    /// applied (the searches against the reference, the quantities against an index built without them).
    #[test]
    fn retracted_flows_count_for_nothing(
        ops in proptest::collection::vec(op(), 1..60),
        withdrawn in proptest::collection::vec(any::<bool>(), 60),
        start in 0u64..10,
        strict in any::<bool>(),
    ) {
        let flows = to_flows(&ops);
        let keep: Vec<bool> = (0..ops.len()).map(|i| !withdrawn[i]).collect();
        let kept_ops: Vec<Op> = ops.iter().zip(&keep).filter(|(_, k)| **k).map(|(o, _)| o.clone()).collect();
        // A lot only withdrawn flows made is no start: the batch is traced from where its standing records put it.
        let (edges, kept_lots) = reference_edges(&kept_ops);
        let mut ix = TraceIndex::new();
        for f in &flows {
            ix.apply(f);
        }
        for (f, k) in flows.iter().zip(&keep) {
            if !k {
                ix.retract(f);
            }
        }
        let mut clean = TraceIndex::new();
        for (f, k) in flows.iter().zip(&keep) {
            if *k {
                clean.apply(f);
            }
        }
        let starts: Vec<Lot> = {
            let mut s: Vec<Lot> = kept_lots.iter().copied().filter(|(b, _)| *b == start).collect();
            s.sort();
            s.dedup();
            s
        };
        let mode = if strict { TimeMode::Strict } else { TimeMode::Conservative };
        let r = ix.trace(&Query { start: Start::Batches(vec![id(start)]), direction: Direction::Both, mode });
        prop_assert_eq!(as_lots(&ix, &r.forward), reference_forward(&edges, &starts, strict));
        prop_assert_eq!(as_lots(&ix, &r.backward), reference_backward(&edges, &starts, strict));
        // The lots a batch lists are the clean index's: none that only a withdrawn flow made.
        let listed = |x: &TraceIndex| -> std::collections::BTreeSet<(Uuid, Uuid)> {
            (0..x.batch_count() as u32)
                .flat_map(|b| x.lots_of_batch(b).collect::<Vec<_>>())
                .map(|l| (x.batch_id(x.lot_batch(l)), x.holder_id(x.lot_holder(l))))
                .collect()
        };
        prop_assert_eq!(listed(&ix), listed(&clean));
        for lot in 0..clean.lots() as u32 {
            let (b, h) = (clean.batch_id(clean.lot_batch(lot)), clean.holder_id(clean.lot_holder(lot)));
            let there = ix.lot(&b, &h).expect("every lot of the clean index is in the corrected one");
            prop_assert_eq!(ix.quantities(there), clean.quantities(lot));
        }
    }
}

// ---- starts from a holder, a place or a person; seals; wide batches -------------------------------------------

/// A movement among many holders (so one batch has more than 32 lots), seals (kind 5) among them.
fn wide_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..6, 0u64..48, 0u64..3, proptest::option::of(0u64..48), 0i64..40)
            .prop_map(|(kind, holder, batch, cp, h)| Op::Move { kind, holder, batch, cp, h }),
        1 => (0u64..48, proptest::collection::vec(0u64..3, 1..3), 3u64..5, 0i64..40)
            .prop_map(|(holder, inputs, output, h)| Op::Mix { holder, inputs, output, h }),
    ]
}

fn wide_flows(ops: &[Op]) -> Vec<Flow> {
    ops.iter()
        .enumerate()
        .map(|(i, o)| match o {
            Op::Move {
                kind: 5,
                holder,
                batch,
                cp,
                h,
            } => flow(i as u64, FlowKind::Seal, *holder, *batch, *cp, 1000, *h),
            o => {
                let mut f = to_flows(std::slice::from_ref(o)).remove(0);
                f.seq = i as u64;
                f
            }
        })
        .collect()
}

/// The reference with explicit start lots: forward from each lot's `from`, backward until its `until`.
fn reference_from(
    edges: &[(Lot, Lot, Secs)],
    seeds: &[(Lot, Secs, Secs)],
    strict: bool,
) -> (HashMap<Lot, Secs>, HashMap<Lot, Secs>) {
    let mut since: HashMap<Lot, Secs> = HashMap::new();
    let mut until: HashMap<Lot, Secs> = HashMap::new();
    for (l, from, to) in seeds {
        let s = since.entry(*l).or_insert(*from);
        *s = (*s).min(*from);
        let u = until.entry(*l).or_insert(*to);
        *u = (*u).max(*to);
    }
    let mut first_in: HashMap<Lot, Secs> = HashMap::new();
    for (_, b, time) in edges {
        let f = first_in.entry(*b).or_insert(*time);
        *f = (*f).min(*time);
    }
    loop {
        let mut changed = false;
        for (a, b, time) in edges {
            if let Some(&sa) = since.get(a)
                && (!strict || sa <= *time)
                && since.get(b).is_none_or(|sb| *time < *sb)
            {
                since.insert(*b, *time);
                changed = true;
            }
            if let Some(&ub) = until.get(b)
                && (!strict || *time <= ub.saturating_add(CLOCK_SKEW_SECS) || *time <= first_in[b])
                && until.get(a).is_none_or(|ua| *time > *ua)
            {
                until.insert(*a, *time);
                changed = true;
            }
        }
        if !changed {
            return (since, until);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Starts as a holder, a place or a person give them (explicit lots, each with its own window), on batches
    /// spread over more than 32 holders, with seals (which move nothing) and many flows in the same second; the
    /// incident scope (backward, then forward from everything reached, from its beginning) too.
    #[test]
    fn starts_from_lots_equal_the_reference(
        ops in proptest::collection::vec(wide_op(), 40..160),
        picks in proptest::collection::vec((any::<prop::sample::Index>(), 0i64..40, 0i64..40), 1..4),
        strict in any::<bool>(),
    ) {
        let flows = wide_flows(&ops);
        let (edges, lots) = reference_edges(&ops);
        let mut ix = TraceIndex::new();
        for f in &flows {
            ix.apply(f);
        }
        let mut lots = lots;
        lots.sort();
        lots.dedup();
        let seeds: Vec<(Lot, Secs, Secs)> = picks
            .iter()
            .map(|(i, a, b)| (lots[i.index(lots.len())], secs(t(*a.min(b))), secs(t(*a.max(b)))))
            .collect();
        let start = Start::Lots(
            seeds
                .iter()
                .map(|((b, h), from, to)| {
                    (ix.lot(&id(*b), &id(100 + h)).expect("a lot of the ops"), *from, *to)
                })
                .collect(),
        );
        let mode = if strict { TimeMode::Strict } else { TimeMode::Conservative };
        let r = ix.trace(&Query { start: start.clone(), direction: Direction::Both, mode });
        let (fwd, bwd) = reference_from(&edges, &seeds, strict);
        prop_assert_eq!(as_lots(&ix, &r.forward), fwd);
        prop_assert_eq!(as_lots(&ix, &r.backward), bwd.clone());

        // The scope: forward from the starts and from every source reached, each from its beginning.
        let r = ix.trace(&Query { start, direction: Direction::Scope, mode });
        prop_assert_eq!(as_lots(&ix, &r.backward), bwd.clone());
        let mut from = seeds.clone();
        from.extend(bwd.keys().map(|l| (*l, 0, Secs::MAX)));
        let (scope, _) = reference_from(&edges, &from, strict);
        prop_assert_eq!(as_lots(&ix, &r.forward), scope);
    }
}

#[test]
fn a_batch_at_more_than_32_holders_and_a_seal_are_traced_whole() {
    let mut ix = TraceIndex::new();
    // A wholesaler (1) ships batch 0 to 40 shops on the same second; shop 7 seals what it has.
    ix.apply(&flow(0, FlowKind::Receive, 1, 0, Some(0), 40_000, 0));
    for s in 0..40u64 {
        ix.apply(&flow(1 + s, FlowKind::Ship, 1, 0, Some(10 + s), 1000, 5));
    }
    ix.apply(&flow(100, FlowKind::Seal, 17, 0, None, 1000, 6));
    let f = forward_set(&ix, vec![id(0)], TimeMode::Strict);
    assert_eq!(
        f.len(),
        42,
        "the source, the wholesaler and 40 shops: {f:?}"
    );
    let shop = ix.lot(&id(0), &id(117)).unwrap();
    let q = ix.quantities(shop);
    assert_eq!(q.on_hand(), 1000, "sealed goods are still on hand: {q:?}");
}

#[test]
fn both_directions_at_once_give_what_each_direction_gives_alone() {
    // Establishments of the synthetic national shape: hundreds of start lots each, so the two searches run on two
    // threads; each must find exactly what it finds when run alone.
    let (ix, establishments) =
        coldtrace_trace::synthetic::index(coldtrace_trace::synthetic::Shape {
            seed: 7,
            flows: 60_000,
            batches_per_establishment: 40,
        });
    let mut parallel = 0;
    for batches in establishments.iter().take(8) {
        for mode in [TimeMode::Strict, TimeMode::Conservative] {
            let query = |direction| Query {
                start: Start::Batches(batches.clone()),
                direction,
                mode,
            };
            let both = ix.trace(&query(Direction::Both));
            if both.starts.len() >= coldtrace_trace::PARALLEL_FROM_SEEDS {
                parallel += 1;
            }
            assert!(!both.forward.is_empty() && !both.backward.is_empty());
            assert_eq!(both.forward, ix.trace(&query(Direction::Forward)).forward);
            assert_eq!(
                both.backward,
                ix.trace(&query(Direction::Backward)).backward
            );
        }
    }
    assert!(parallel >= 8, "{parallel} traces took the two-thread path");
}

#[test]
fn work_at_once_returns_each_result_in_its_place_and_raises_a_panic_again() {
    let (a, b) = coldtrace_trace::at_once(|| "here", || std::thread::current().id());
    assert_eq!(a, "here");
    assert_ne!(
        b,
        std::thread::current().id(),
        "beside ran on a thread of its own"
    );
    let beside_panics = std::panic::catch_unwind(|| {
        coldtrace_trace::at_once(|| 1, || -> u32 { panic!("beside failed") })
    });
    assert!(beside_panics.is_err());
}

mod layout;
