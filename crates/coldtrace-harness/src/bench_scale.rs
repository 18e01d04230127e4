//! `coldtrace bench scale`: the engine alone at national scale, fed synthetic flows in memory (a store of 5x10^7
//! movements takes hours to fill): build rate, bytes per movement, and single-batch and establishment traces with
//! the per-lot quantities of the full answer, each beside its target from the specification.

use std::time::Instant;

use coldtrace_trace::synthetic::{Shape, index};
use coldtrace_trace::{Direction, Query, Start, TimeMode, TraceIndex};

use crate::bench_trace::{Figures, figures};

pub fn run(movements: u64, queries: usize, seed: u64) -> anyhow::Result<()> {
    println!("coldtrace bench scale: {movements} synthetic movements in memory");
    let t = Instant::now();
    let (mut ix, groups) = index(Shape {
        seed,
        flows: movements,
        batches_per_establishment: 300,
    });
    let build = t.elapsed().as_secs_f64();
    ix.shrink_to_fit();
    let n = ix.flows();
    let bytes = ix.heap_bytes();
    let all: Vec<_> = groups.iter().flatten().copied().collect();
    // A full answer needs, for every lot reached, its quantities; the search alone is not the answer.
    let answer = |ix: &TraceIndex, start: Start| {
        let r = ix.trace(&Query {
            start,
            direction: Direction::Both,
            mode: TimeMode::Strict,
        });
        let on_hand: i64 = r
            .forward
            .iter()
            .chain(&r.backward)
            .map(|h| ix.quantities(h.lot).on_hand())
            .sum();
        std::hint::black_box((r.forward.len() + r.backward.len(), on_hand))
    };
    // The same queries (same seed) on the index as built (lists linked in arrival order, the baseline), after
    // compaction, and after a write and a read of the snapshot.
    let queries_on = |ix: &TraceIndex| -> (Figures, Figures, f64, f64) {
        let mut x = seed | 1;
        let mut pick = |len: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % len as u64) as usize
        };
        let mut single = Vec::with_capacity(queries);
        let mut lots_reached = 0usize;
        for _ in 0..queries {
            let b = all[pick(all.len())];
            let t = Instant::now();
            let (hits, _) = answer(ix, Start::Batches(vec![b]));
            single.push(t.elapsed().as_secs_f64() * 1e6);
            lots_reached += hits;
        }
        let mut est = Vec::new();
        let mut est_batches = 0;
        for _ in 0..queries.min(100) {
            let g = &groups[pick(groups.len())];
            est_batches += g.len();
            let t = Instant::now();
            answer(ix, Start::Batches(g.clone()));
            est.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let s = figures(single);
        let e = figures(est);
        let lots = lots_reached as f64 / s.n.max(1) as f64;
        let per_est = est_batches as f64 / e.n.max(1) as f64;
        (s, e, lots, per_est)
    };
    let (s0, e0, lots, per_est) = queries_on(&ix);
    let t = Instant::now();
    ix.compact();
    ix.shrink_to_fit();
    let compaction = t.elapsed().as_secs_f64();
    let (s1, e1, _, _) = queries_on(&ix);
    let file = tempfile::NamedTempFile::new()?;
    let t = Instant::now();
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file.reopen()?);
        ix.write_snapshot(&mut w)?;
        std::io::Write::flush(&mut w)?;
        w.get_ref().sync_all()?;
    }
    let write = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(file.path())?.len();
    drop(ix);
    let t = Instant::now();
    let loaded = {
        let mut r = std::io::BufReader::with_capacity(1 << 20, file.reopen()?);
        TraceIndex::read_snapshot(&mut r)?
    };
    let read = t.elapsed().as_secs_f64();
    let (s2, e2, _, _) = queries_on(&loaded);
    println!();
    println!("| measure | value | target (SPEC section 4) |");
    println!("|---|---:|---:|");
    println!("| movements indexed | {n} | 10^7 to 10^8 per node |");
    println!(
        "| build from flows | {:.2} s = {:.2} M movements/s | >= 2 M/s |",
        build,
        n as f64 / build / 1e6
    );
    println!(
        "| index heap | {:.0} MB = {:.1} bytes/movement | <= 64 bytes/movement |",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64
    );
    println!("| compaction (lots by batch, movements and edges by lot) | {compaction:.2} s | |");
    println!(
        "| snapshot written (fsynced) / read back and checked | {:.2} s / {:.2} s for {:.0} MB = {:.1} M movements/s loaded | < 5 s at 10^7 |",
        write,
        read,
        size as f64 / 1e6,
        n as f64 / read / 1e6
    );
    println!();
    println!(
        "| query (same queries in each column) | as built: linked lists (baseline) | compacted | loaded from the snapshot | target |"
    );
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| single batch, both directions, with quantities (n={}, {lots:.0} lots each) | p50 {:.1} µs, p99 {:.1} µs | p50 {:.1} µs, p99 {:.1} µs | p50 {:.1} µs, p99 {:.1} µs | p99 <= 50 µs |",
        s0.n, s0.p50, s0.p99, s1.p50, s1.p99, s2.p50, s2.p99
    );
    println!(
        "| establishment ({per_est:.0} batches), both directions, with quantities (n={}) | p50 {:.2} ms, p99 {:.2} ms | p50 {:.2} ms, p99 {:.2} ms | p50 {:.2} ms, p99 {:.2} ms | <= 5 ms |",
        e0.n,
        e0.p50 / 1000.0,
        e0.p99 / 1000.0,
        e1.p50 / 1000.0,
        e1.p99 / 1000.0,
        e2.p50 / 1000.0,
        e2.p99 / 1000.0
    );
    Ok(())
}
