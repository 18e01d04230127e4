//! `coldtrace bench census`: matching a census against registered enterprises. A province of `n` registered
//! enterprises with generated names in real districts, and a census of `n` entries drawn from them the way
//! registers differ: a third with the USCC, a third with the name written otherwise (a place in front or in
//! brackets, another legal form, full-width letters, spaces), a tenth with a character typed wrong, the rest
//! businesses that are not registered. Times the pure match in memory and the whole statistics through a store,
//! and counts the matches against the truth.

use std::time::Instant;

use coldtrace_domain::census::{CensusEntry, Registered, match_census};
use coldtrace_domain::{
    Contact, Enterprise, EnterpriseKind, ProvinceCode, RegionCode, Submission, Writer,
};
use coldtrace_store::SubmitRequest;
use coldtrace_store::prelude::*;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

const POOL: &str = "鑫源宏达华泰恒通嘉禾瑞丰盛源金海银河天宇博远君安永康福星德润安泰佳和兴隆广汇海纳汇通联华新元振华";
const TRADES: &[&str] = &[
    "冷链物流",
    "冷冻食品",
    "水产品",
    "肉类贸易",
    "冷库",
    "食品配送",
    "生鲜",
];

fn name(rng: &mut ChaCha8Rng, pool: &[char]) -> String {
    let body: String = (0..4).map(|_| *pool.choose(rng).expect("pool")).collect();
    format!("{body}{}", TRADES.choose(rng).expect("list"))
}

pub async fn run(n: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pool: Vec<char> = POOL.chars().collect();
    let province = ProvinceCode::parse("12")?;
    let districts: Vec<&str> = coldtrace_domain::region::divisions()
        .iter()
        .filter(|d| d.code.starts_with("12") && !d.code.ends_with("00"))
        .map(|d| d.code)
        .collect();
    // Registered enterprises, each with a distinct generated name.
    let mut seen = std::collections::HashSet::new();
    let mut registered: Vec<Enterprise> = Vec::with_capacity(n);
    while registered.len() < n {
        let body = name(&mut rng, &pool);
        if !seen.insert(body.clone()) {
            continue;
        }
        let region = districts.choose(&mut rng).expect("districts");
        registered.push(Enterprise {
            id: uuid::Uuid::from_u128(rng.random()),
            uscc: coldtrace_gen::uscc_for_seed(region, registered.len() as u32),
            uscc_override: None,
            name: format!("天津{body}有限公司"),
            kind: EnterpriseKind::ThirdPartyColdStore,
            region: RegionCode::parse(region)?,
            address: None,
            gln: None,
            contact: Contact {
                name: "王伟".into(),
                phone: "13812341234".into(),
            },
            self_commitment: true,
            self_commitment_on: None,
            corrects: None,
            correction_reason: None,
        });
    }
    // The census, with the truth of each entry.
    let mut census = Vec::with_capacity(n);
    let mut truth: Vec<Option<uuid::Uuid>> = Vec::with_capacity(n);
    for (i, e) in registered.iter().enumerate() {
        let body = e
            .name
            .trim_start_matches("天津")
            .trim_end_matches("有限公司");
        let roll: f64 = rng.random();
        let (uscc, written, is) = if roll < 0.33 {
            (Some(e.uscc.clone()), format!("某{body}"), Some(e.id))
        } else if roll < 0.66 {
            let written = match i % 4 {
                0 => format!("天津市{body}有限责任公司"),
                1 => format!("{body}（天津）有限公司"),
                2 => format!("天津 {body} 有限公司"),
                _ => format!("{body}股份有限公司"),
            };
            (None, written, Some(e.id))
        } else if roll < 0.76 {
            // One character of the name typed wrong.
            let mut chars: Vec<char> = body.chars().collect();
            let at = rng.random_range(0..4);
            let mut c = *pool.choose(&mut rng).expect("pool");
            while c == chars[at] {
                c = *pool.choose(&mut rng).expect("pool");
            }
            chars[at] = c;
            (
                None,
                format!("天津{}有限公司", chars.into_iter().collect::<String>()),
                Some(e.id),
            )
        } else {
            // A business that is not registered.
            let mut other = name(&mut rng, &pool);
            while seen.contains(&other) {
                other = name(&mut rng, &pool);
            }
            (None, format!("天津{other}有限公司"), None)
        };
        census.push(CensusEntry {
            uscc,
            name: written,
            kind: EnterpriseKind::ThirdPartyColdStore,
            region: e.region.clone(),
            address: None,
            contact_name: None,
            contact_phone: None,
        });
        truth.push(is);
    }
    let reg: Vec<Registered> = registered
        .iter()
        .map(|e| Registered {
            id: e.id,
            uscc: e.uscc.as_str().to_string(),
            name: e.name.clone(),
            region: e.region.as_str().to_string(),
        })
        .collect();
    let mut times = Vec::new();
    let mut matches = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        matches = match_census(&census, &reg);
        times.push(t.elapsed().as_secs_f64());
    }
    let (mut right, mut wrong, mut missed, mut none_right) = (0, 0, 0, 0);
    for (m, t) in matches.iter().zip(&truth) {
        match (m.enterprise, t) {
            (Some(a), Some(b)) if a == *b => right += 1,
            (Some(_), _) => wrong += 1,
            (None, Some(_)) => missed += 1,
            (None, None) => none_right += 1,
        }
    }
    // The same through a store: registered, census imported, statistics computed.
    let dir = std::env::temp_dir().join(format!("coldtrace-bench-census-{}", uuid::Uuid::now_v7()));
    let _cleanup = crate::bench::tempfile_dir::Dir(dir.clone());
    let store = crate::open_store(&dir)?;
    for chunk in registered.chunks(2_000) {
        store
            .submit(SubmitRequest {
                subject: "bench".into(),
                writer: Writer::Operator,
                idempotency_key: None,
                request_hash: String::new(),
                submission: Submission {
                    enterprises: chunk.to_vec(),
                    ..Default::default()
                },
                checks: Default::default(),
            })
            .await?;
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let t = Instant::now();
    store
        .put_census(province.clone(), "bench".into(), census.clone(), now)
        .await?;
    let put_s = t.elapsed().as_secs_f64();
    let mut stats_times = Vec::new();
    let mut coverage = (0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        let s = coldtrace_service::statistics::compute(store.as_ref(), &province, now).await?;
        stats_times.push(t.elapsed().as_secs_f64());
        coverage = s
            .rows
            .iter()
            .fold((0, 0), |(a, b), r| (a + r.census_registered, b + r.census));
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "census of {n} entries against {n} registered enterprises (province 12, {} districts)\n",
        districts.len()
    );
    println!("| step | time |");
    println!("|---|---:|");
    println!(
        "| match in memory (USCC, plain name, near name) | {:.1} ms (best of 3) |",
        best(&times) * 1e3
    );
    println!("| store the census | {:.1} ms |", put_s * 1e3);
    println!(
        "| the whole statistics through the store (read, match, aggregate) | {:.1} ms (best of 3) |",
        best(&stats_times) * 1e3
    );
    println!(
        "\nmatches: {right} right, {wrong} wrong, {missed} registered but not found, {none_right} rightly not found \
         (coverage {} of {})",
        coverage.0, coverage.1
    );
    Ok(())
}
