//! `coldtrace bench epcis`: the same supply chain recorded twice on two fresh platforms, once through native
//! submissions and once captured as EPCIS 2.0 documents (validated, mapped to the same records, stored with the
//! repository's index), and the event query latency on a repository padded to `--events`.
//!
//! The chain: an importer commissions `lots` lots of one GTIN, ships part of each to one of ten wholesalers found
//! by GLN, which receive it and sell part of it: four events (or four records) a lot.

use std::sync::Arc;
use std::time::Instant;

use coldtrace_domain::{Principal, Role, SubmissionDraft};
use coldtrace_service::platform::SubmitCommand;
use coldtrace_service::{Platform, PlatformConfig, Tier};
use coldtrace_store::epcis::{ErrorBehaviour, NewEvent};
use coldtrace_store::prelude::*;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use uuid::Uuid;

const GTIN: &str = "09520123456788";
const WHOLESALERS: usize = 10;
const CHUNK: usize = 250;
/// The padding observes serials of this many GTINs.
const PADDING_GTINS: usize = 1_000;

/// The `n`th GTIN of the padding: company prefix 9520123, item reference 10000 + n.
fn padding_gtin(n: usize) -> String {
    let body = format!("09520123{}", 10_000 + n);
    format!("{body}{}", coldtrace_domain::id::gs1_check_digit(&body))
}

fn gln(n: usize) -> String {
    let body = format!("952012{n:06}");
    format!("{body}{}", coldtrace_domain::id::gs1_check_digit(&body))
}

fn principal(e: Uuid) -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::Enterprise,
        enterprise: Some(e),
        province: None,
        person: None,
    }
}

struct Chain {
    platform: Platform,
    importer: Uuid,
    wholesalers: Vec<(Uuid, String)>,
    _dir: crate::bench::tempfile_dir::Dir,
}

/// A fresh platform with the importer (and its product) and the wholesalers registered.
async fn chain(name: &str) -> anyhow::Result<Chain> {
    let dir = std::env::temp_dir().join(format!("coldtrace-bench-epcis-{name}-{}", Uuid::now_v7()));
    let cleanup = crate::bench::tempfile_dir::Dir(dir.clone());
    let store = crate::open_store(&dir)?;
    let platform = Platform::start(
        store as Arc<dyn Store>,
        PlatformConfig::new(Tier::Province(coldtrace_domain::ProvinceCode::parse("12")?)),
    )
    .await?;
    let operator = Principal {
        role: Role::Regulator,
        province: Some(coldtrace_domain::ProvinceCode::parse("12")?),
        ..Principal::operator()
    };
    let mut enterprises = Vec::new();
    let mut ids = Vec::new();
    for n in 0..=WHOLESALERS {
        let id = Uuid::now_v7();
        ids.push(id);
        enterprises.push(serde_json::from_value(json!({
            "id": id, "uscc": coldtrace_gen::uscc_for_seed("120116", n as u32).as_str(),
            "name": format!("基准企业{n}"), "kind": if n == 0 { "importer" } else { "wholesale_vendor" },
            "region": "120116", "gln": gln(n), "contact_name": "王伟", "contact_phone": "13812341234",
            "self_commitment": true}))?);
    }
    let draft = SubmissionDraft {
        enterprises,
        ..Default::default()
    };
    platform
        .submit(
            &operator,
            SubmitCommand {
                draft: &draft,
                idempotency_key: None,
                request_hash: String::new(),
            },
        )
        .await?;
    let product: coldtrace_domain::product::ProductDraft = serde_json::from_value(json!({
        "id": Uuid::now_v7(), "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat", "origin_country": "BR",
        "gtin": GTIN}))?;
    let draft = SubmissionDraft {
        products: vec![product],
        ..Default::default()
    };
    platform
        .submit(
            &principal(ids[0]),
            SubmitCommand {
                draft: &draft,
                idempotency_key: None,
                request_hash: String::new(),
            },
        )
        .await?;
    let wholesalers = ids[1..]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                *id,
                coldtrace_gen::uscc_for_seed("120116", i as u32 + 1)
                    .as_str()
                    .to_string(),
            )
        })
        .collect();
    Ok(Chain {
        platform,
        importer: ids[0],
        wholesalers,
        _dir: cleanup,
    })
}

fn class(lot: usize) -> String {
    format!("https://id.gs1.org/01/{GTIN}/10/L{lot}")
}

fn at(lot: usize, hours: usize) -> String {
    let t = jiff::Timestamp::from_second(1_767_225_600 + (lot * 60 + hours * 3600) as i64)
        .expect("time");
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn event(step: &str, action: &str, lot: usize, hours: usize, q: u32, extra: Value) -> Value {
    let mut e = json!({"type": "ObjectEvent", "eventTime": at(lot, hours), "eventTimeZoneOffset": "+08:00",
        "action": action, "bizStep": step, "quantityList": [{"epcClass": class(lot), "quantity": q, "uom": "KGM"}]});
    e.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    e
}

fn document(events: Vec<Value>) -> Vec<u8> {
    json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
           "schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": events}})
    .to_string()
    .into_bytes()
}

async fn capture(c: &Chain, who: Uuid, events: Vec<Value>) -> anyhow::Result<()> {
    let id = c
        .platform
        .capture_epcis(&principal(who), &document(events), ErrorBehaviour::Rollback)
        .await?;
    loop {
        let j = c.platform.capture_job(&principal(who), id).await?;
        if j.finished_ms.is_some() {
            anyhow::ensure!(
                j.success && j.notes.is_empty(),
                "capture failed: {:?} {:?}",
                j.errors,
                j.notes
            );
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

async fn native(c: &Chain, lots: std::ops::Range<usize>) -> anyhow::Result<()> {
    let pid = {
        let p = c
            .platform
            .store
            .products(
                &coldtrace_store::Scope::Enterprise(c.importer),
                Default::default(),
            )
            .await?;
        p[0].record.id
    };
    let mut batches = Vec::new();
    let mut ships = Vec::new();
    for lot in lots.clone() {
        batches.push(serde_json::from_value(
            json!({"product_id": pid, "batch_no": format!("L{lot}"), "quantity": 100,
            "unit": "kg", "trace_codes": [{"value": format!("(01){GTIN}(10)L{lot}")}]}),
        )?);
        let (_, uscc) = &c.wholesalers[lot % WHOLESALERS];
        ships.push(serde_json::from_value(
            json!({"kind": "ship", "trace_code": class(lot), "quantity": 60,
            "at": at(lot, 1), "counterparty_uscc": uscc, "counterparty_name": "批发商"}),
        )?);
    }
    let draft = SubmissionDraft {
        batches,
        movements: ships,
        ..Default::default()
    };
    c.platform
        .submit(
            &principal(c.importer),
            SubmitCommand {
                draft: &draft,
                idempotency_key: None,
                request_hash: String::new(),
            },
        )
        .await?;
    let importer_uscc = coldtrace_gen::uscc_for_seed("120116", 0)
        .as_str()
        .to_string();
    for (w, (id, _)) in c.wholesalers.iter().enumerate() {
        let mut movements = Vec::new();
        for lot in lots.clone().filter(|l| l % WHOLESALERS == w) {
            movements.push(serde_json::from_value(json!({"kind": "receive", "trace_code": class(lot), "quantity": 60,
                "at": at(lot, 5), "counterparty_uscc": importer_uscc, "counterparty_name": "进口商"}))?);
            movements.push(serde_json::from_value(
                json!({"kind": "sell", "trace_code": class(lot), "quantity": 20,
                "at": at(lot, 9)}),
            )?);
        }
        let draft = SubmissionDraft {
            movements,
            ..Default::default()
        };
        c.platform
            .submit(
                &principal(*id),
                SubmitCommand {
                    draft: &draft,
                    idempotency_key: None,
                    request_hash: String::new(),
                },
            )
            .await?;
    }
    Ok(())
}

async fn epcis(c: &Chain, lots: std::ops::Range<usize>) -> anyhow::Result<()> {
    let mut events = Vec::new();
    for lot in lots.clone() {
        events.push(event("commissioning", "ADD", lot, 0, 100, json!({})));
        let dest = format!("https://id.gs1.org/417/{}", gln(lot % WHOLESALERS + 1));
        events.push(event(
            "shipping",
            "OBSERVE",
            lot,
            1,
            60,
            json!({"destinationList": [{"type": "owning_party", "destination": dest}]}),
        ));
    }
    capture(c, c.importer, events).await?;
    for (w, (id, _)) in c.wholesalers.iter().enumerate() {
        let mut events = Vec::new();
        for lot in lots.clone().filter(|l| l % WHOLESALERS == w) {
            events.push(event("receiving", "OBSERVE", lot, 5, 60,
                json!({"sourceList": [{"type": "owning_party", "source": format!("https://id.gs1.org/417/{}", gln(0))}]})));
            events.push(event("retail_selling", "OBSERVE", lot, 9, 20, json!({})));
        }
        capture(c, *id, events).await?;
    }
    Ok(())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run(lots: usize, events: usize, queries: usize, seed: u64) -> anyhow::Result<()> {
    let a = chain("native").await?;
    let b = chain("epcis").await?;
    let t = Instant::now();
    for start in (0..lots).step_by(CHUNK) {
        native(&a, start..(start + CHUNK).min(lots)).await?;
    }
    let native_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for start in (0..lots).step_by(CHUNK) {
        epcis(&b, start..(start + CHUNK).min(lots)).await?;
    }
    let epcis_s = t.elapsed().as_secs_f64();
    let n = lots * 4;
    // The two traces of a lot agree.
    let stats_a = a.platform.store.stats(&coldtrace_store::Scope::All).await?;
    let stats_b = b.platform.store.stats(&coldtrace_store::Scope::All).await?;
    println!(
        "the same chain of {lots} lots ({n} events or records) on two fresh platforms (province 12, SQLite)\n"
    );
    println!("| path | time | per second | records stored |");
    println!("|---|---:|---:|---|");
    println!(
        "| native submissions (one per {CHUNK} lots and party) | {native_s:.2} s | {:.0} records/s | {} batches, {} movements |",
        n as f64 / native_s,
        stats_a.batches,
        stats_a.movements
    );
    println!(
        "| EPCIS capture (one document per {CHUNK} lots and party: schema, CBV, hash, mapping, native rules, repository) | {epcis_s:.2} s | {:.0} events/s | {} batches, {} movements |",
        n as f64 / epcis_s,
        stats_b.batches,
        stats_b.movements
    );
    println!(
        "\nEPCIS capture takes {:.2}× the native time for the same records.\n",
        epcis_s / native_s
    );
    // Pad the repository with observations of other goods, straight into the store, to `events`.
    let store = b.platform.store.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let have = n;
    let t = Instant::now();
    let mut added = 0;
    while have + added < events {
        let k = (events - have - added).min(10_000);
        let job = Uuid::now_v7();
        store
            .create_capture_job(job, b.importer, ErrorBehaviour::Rollback, String::new(), 0)
            .await?;
        let batch: Vec<NewEvent> = (0..k)
            .map(|i| {
                let serial = added + i;
                let epc = format!("https://id.gs1.org/01/{}/21/S{serial}", padding_gtin(serial % PADDING_GTINS));
                let key = coldtrace_epcis::identifier_key(&epc).expect("key");
                let ms = 1_767_225_600_000 + rng.random_range(0..31_536_000_000i64);
                let body = json!({"type": "ObjectEvent", "eventTime": at(serial, 0), "eventTimeZoneOffset": "+08:00",
                    "action": "OBSERVE", "bizStep": "inspecting", "epcList": [epc]});
                NewEvent {
                    hash: format!("pad:{serial}"),
                    event_id: None,
                    kind: "ObjectEvent".into(),
                    event_time_ms: ms,
                    action: Some("OBSERVE".into()),
                    biz_step: Some("inspecting".into()),
                    disposition: None,
                    read_point: None,
                    biz_location: None,
                    ids: vec![("epc".into(), key)],
                    body: body.to_string(),
                }
            })
            .collect();
        store
            .finish_capture_job(job, batch, vec![], vec![], 0)
            .await?;
        added += k;
    }
    let pad_s = t.elapsed().as_secs_f64();
    let total = have + added;
    let national = Principal::operator();
    type Make = Box<dyn Fn(&mut ChaCha8Rng) -> Vec<(String, String)>>;
    let kinds: Vec<(&str, Make)> = vec![
        (
            "MATCH_epcClass, one lot",
            Box::new(move |r: &mut ChaCha8Rng| {
                vec![("MATCH_epcClass".into(), class(r.random_range(0..lots)))]
            }),
        ),
        (
            "MATCH_epc, one serial among the padding",
            Box::new(move |r: &mut ChaCha8Rng| {
                let serial = r.random_range(0..added.max(1));
                vec![(
                    "MATCH_epc".into(),
                    format!(
                        "urn:epc:id:sgtin:9520123.0{}.S{serial}",
                        10_000 + serial % PADDING_GTINS
                    ),
                )]
            }),
        ),
        (
            "EQ_bizStep=shipping, first page of 30",
            Box::new(|_: &mut ChaCha8Rng| vec![("EQ_bizStep".into(), "shipping".into())]),
        ),
        (
            "GE/LT_eventTime one day, first page of 30",
            Box::new(|r: &mut ChaCha8Rng| {
                let d = r.random_range(0..300);
                let day = jiff::civil::date(2026, 1, 1)
                    .checked_add(jiff::Span::new().days(d))
                    .expect("day");
                vec![
                    ("GE_eventTime".into(), format!("{day}T00:00:00+08:00")),
                    (
                        "LT_eventTime".into(),
                        format!("{}T00:00:00+08:00", day.tomorrow().expect("day")),
                    ),
                ]
            }),
        ),
        (
            "MATCH_anyEPC, a GTIN pattern (one of the padding's 1,000 GTINs), first page of 30",
            Box::new(|r: &mut ChaCha8Rng| {
                let item = 10_000 + r.random_range(0..PADDING_GTINS);
                vec![(
                    "MATCH_anyEPC".into(),
                    format!("urn:epc:idpat:sgtin:9520123.0{item}.*"),
                )]
            }),
        ),
    ];
    println!(
        "event queries on a repository of {total} events ({added} padding events stored in {pad_s:.1} s), {queries} queries each, national scope\n"
    );
    println!("| query | p50 | p99 | events answered (last) |");
    println!("|---|---:|---:|---:|");
    for (name, make) in &kinds {
        let mut times = Vec::with_capacity(queries);
        let mut last = 0;
        for _ in 0..queries {
            let pairs = make(&mut rng);
            let t = Instant::now();
            let page = b.platform.epcis_events(&national, &pairs).await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            last = page.events.len();
        }
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {last} |",
            pct(&mut times, 0.5),
            pct(&mut times, 0.99)
        );
    }
    Ok(())
}
