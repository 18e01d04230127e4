//! Criterion benchmarks of the trace engine on 10^6 synthetic movements: a single-batch trace both ways and an
//! establishment (about 300 batches) trace, with a plain breadth-first search over a `HashMap` adjacency as the
//! baseline in the same run. `cargo bench -p coldtrace-trace`.

use std::collections::{HashMap, HashSet, VecDeque};

use coldtrace_trace::synthetic::{Shape, generate};
use coldtrace_trace::{Direction, Flow, FlowKind, Query, Start, TimeMode, TraceIndex};
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

/// The baseline: lots as `(batch, holder)` keys in hash maps, forward and backward reachability by BFS.
#[derive(Default)]
struct Naive {
    out: HashMap<(Uuid, Uuid), Vec<(Uuid, Uuid)>>,
    inn: HashMap<(Uuid, Uuid), Vec<(Uuid, Uuid)>>,
    lots_of: HashMap<Uuid, HashSet<Uuid>>,
}

impl Naive {
    fn add(&mut self, f: &Flow) {
        let mut edge = |a: (Uuid, Uuid), b: (Uuid, Uuid)| {
            self.out.entry(a).or_default().push(b);
            self.inn.entry(b).or_default().push(a);
            self.lots_of.entry(a.0).or_default().insert(a.1);
            self.lots_of.entry(b.0).or_default().insert(b.1);
        };
        match (f.kind, f.batch, f.counterparty) {
            (FlowKind::Transform, _, _) => {
                for i in &f.inputs {
                    for o in &f.outputs {
                        edge((i.0, f.holder), (o.0, f.holder));
                    }
                }
            }
            (FlowKind::Receive, Some(b), Some(c)) => edge((b, c), (b, f.holder)),
            (FlowKind::Ship | FlowKind::Sell | FlowKind::Return, Some(b), Some(c)) => {
                edge((b, f.holder), (b, c))
            }
            _ => {}
        }
    }
    fn both(&self, batches: &[Uuid]) -> usize {
        let mut n = 0;
        for adj in [&self.out, &self.inn] {
            let mut seen: HashSet<(Uuid, Uuid)> = HashSet::new();
            let mut q: VecDeque<(Uuid, Uuid)> = VecDeque::new();
            for b in batches {
                for h in self.lots_of.get(b).into_iter().flatten() {
                    if seen.insert((*b, *h)) {
                        q.push_back((*b, *h));
                    }
                }
            }
            while let Some(l) = q.pop_front() {
                for nx in adj.get(&l).into_iter().flatten() {
                    if seen.insert(*nx) {
                        q.push_back(*nx);
                    }
                }
            }
            n += seen.len();
        }
        n
    }
}

fn bench(c: &mut Criterion) {
    let mut ix = TraceIndex::new();
    let mut naive = Naive::default();
    let groups = generate(
        Shape {
            seed: 11,
            flows: 1_000_000,
            batches_per_establishment: 300,
        },
        |f| {
            ix.apply(f);
            naive.add(f);
        },
    );
    let one = vec![groups[7][3]];
    let est = groups[5].clone();
    let q = |start: Start| Query {
        start,
        direction: Direction::Both,
        mode: TimeMode::Strict,
    };
    let mut g = c.benchmark_group("single batch, both directions (10^6 movements)");
    g.bench_function("engine", |b| {
        b.iter(|| ix.trace(&q(Start::Batches(one.clone()))))
    });
    g.bench_function("baseline: HashMap BFS", |b| b.iter(|| naive.both(&one)));
    g.finish();
    let mut g = c.benchmark_group("establishment, both directions (10^6 movements)");
    g.sample_size(20);
    g.bench_function("engine", |b| {
        b.iter(|| ix.trace(&q(Start::Batches(est.clone()))))
    });
    g.bench_function("baseline: HashMap BFS", |b| b.iter(|| naive.both(&est)));
    g.finish();
    // What running the two directions at once costs before any work: a scoped thread started and joined.
    let mut g = c.benchmark_group("at_once");
    g.bench_function("no work (the second thread alone)", |b| {
        b.iter(|| coldtrace_trace::at_once(|| 1u32, || 2u32))
    });
    g.bench_function("no work, in turn (baseline)", |b| {
        b.iter(|| (std::hint::black_box(1u32), std::hint::black_box(2u32)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
