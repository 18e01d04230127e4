//! `coldtrace bench customs`: the customs cross-check on a store filled by `gen`. A feed is built for the
//! store's imported batches ([`coldtrace_gen::customs::customs_feed`], with labelled faults), padded to the
//! number of declarations asked; it is stored in feeds of 10,000 (each cross-checked as it lands), then the whole
//! cross-check runs alone; the baseline is the rest of the periodic sweep (in transit, dormant stock) on the same
//! store. The findings are counted beside the faults put in.

use std::collections::HashMap;
use std::time::Instant;

use coldtrace_domain::checks::{CUSTOMS_RULES, CheckPolicy, Policy, Rule};
use coldtrace_domain::{ProvinceCode, Uscc};
use coldtrace_gen::customs::{Import, customs_feed};
use coldtrace_store::prelude::*;
use coldtrace_store::{BatchFilter, FindingFilter, FindingStatus, Page, Scope};

/// The store's current imported batches (with a declaration), with their products and importers.
pub async fn imports(store: &dyn coldtrace_store::Store) -> anyhow::Result<Vec<Import>> {
    let mut imports = Vec::new();
    let mut products = HashMap::new();
    let mut usccs: HashMap<uuid::Uuid, Option<Uscc>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store
            .batches(
                &Scope::All,
                &BatchFilter::default(),
                Page { after, limit: 1000 },
            )
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for b in page {
            if b.corrected_by.is_some() || b.record.declaration_no.is_none() {
                continue;
            }
            let product = match products.get(&b.record.product) {
                Some(p) => p,
                None => {
                    let p = store.product(b.record.product).await?;
                    products.entry(b.record.product).or_insert(p)
                }
            };
            let Some(product) = product.clone() else {
                continue;
            };
            let owner = b.record.owner;
            if let std::collections::hash_map::Entry::Vacant(slot) = usccs.entry(owner) {
                slot.insert(store.enterprise(owner).await?.map(|e| e.record.uscc));
            }
            let Some(consignee) = usccs[&owner].clone() else {
                continue;
            };
            imports.push(Import {
                batch: b.record,
                product: product.record,
                consignee,
            });
        }
    }
    Ok(imports)
}

pub async fn run(data: &std::path::Path, declarations: usize, seed: u64) -> anyhow::Result<()> {
    let store = crate::open_store(data)?;
    // The current imported batches, with their products and importers.
    let t = Instant::now();
    let imports = imports(store.as_ref()).await?;
    let read_s = t.elapsed().as_secs_f64();
    let stats = store.stats(&Scope::All).await?;
    let today = coldtrace_domain::time::day_at(jiff::Timestamp::now().as_millisecond());
    let (feed, faults) = customs_feed(&imports, declarations, today, seed, 0.02);
    println!(
        "store: {} movements, {} batches ({} imported, read in {read_s:.1} s); feed: {} declarations",
        stats.movements,
        stats.batches,
        imports.len(),
        feed.len()
    );
    println!("faults put in: {}", serde_json::to_string(&faults)?);
    let checks = CheckPolicy::default();
    let province = ProvinceCode::parse("12")?;
    let now = jiff::Timestamp::now().as_millisecond();
    let t = Instant::now();
    let mut receipt = coldtrace_store::CustomsReceipt::default();
    for chunk in feed.chunks(10_000) {
        let r = store
            .put_declarations(
                province.clone(),
                "customs:bench".into(),
                chunk.to_vec(),
                checks.clone(),
                now,
            )
            .await?;
        receipt.stored += r.stored;
        receipt.unchanged += r.unchanged;
        receipt.replaced += r.replaced;
        receipt.opened += r.opened;
        receipt.resolved += r.resolved;
    }
    let feed_s = t.elapsed().as_secs_f64();
    // The whole cross-check alone, three times (the first after the feed; later ones find nothing new).
    let mut full = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        store.cross_check_customs(now, checks.clone()).await?;
        full.push(t.elapsed().as_secs_f64());
    }
    // The baseline: the rest of the sweep on the same store, customs rules off.
    let rest = CUSTOMS_RULES
        .iter()
        .fold(CheckPolicy::default(), |p, r| p.with(*r, Policy::Off));
    let mut base = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        store.sweep(now, rest.clone()).await?;
        base.push(t.elapsed().as_secs_f64());
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    println!("\n| step | time | rate |");
    println!("|---|---:|---:|");
    println!(
        "| store {} declarations in feeds of 10,000, each cross-checked | {feed_s:.2} s | {:.0} declarations/s |",
        feed.len(),
        feed.len() as f64 / feed_s
    );
    println!(
        "| whole cross-check: {} declarations against {} imported batches | {:.2} s (best of 3; {}) | {:.0} declarations/s |",
        feed.len(),
        imports.len(),
        best(&full),
        full.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        feed.len() as f64 / best(&full)
    );
    println!(
        "| baseline: the rest of the sweep (in transit, dormant stock) on the same store | {:.2} s (best of 3) | |",
        best(&base)
    );
    println!("\nfeed receipt: {}", serde_json::to_string(&receipt)?);
    // The findings beside the faults.
    let mut counts = Vec::new();
    for rule in [
        Rule::CustomsMismatch,
        Rule::CustomsUnknown,
        Rule::CustomsUnrecorded,
    ] {
        let mut n = 0;
        let mut before = None;
        loop {
            let filter = FindingFilter {
                rule: Some(rule),
                status: Some(FindingStatus::Open),
                ..Default::default()
            };
            let page = store.findings(Scope::All, filter, before, 1000).await?;
            n += page.len();
            match page.last() {
                Some((seq, _)) if page.len() == 1000 => before = Some(*seq),
                _ => break,
            }
        }
        counts.push((rule.code(), n));
    }
    println!(
        "open findings: {} (faults put in: lighter {} + other container {} = {} differences, undeclared {}, unrecorded {})",
        counts
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        faults.lighter,
        faults.other_container,
        faults.lighter + faults.other_container,
        faults.undeclared,
        faults.unrecorded
    );
    Ok(())
}
