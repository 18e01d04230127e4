//! A trace as an EPCIS 2.0 document (`format=epcis`): the events along it, as EPCIS traceback tools exchange
//! them. Each movement of the trace becomes the event that records it (a shipment an ObjectEvent with the
//! `shipping` step, a transformation a TransformationEvent…), the goods named by their GS1 class as a Digital Link
//! where the batch has a GS1 code, the parties by GLN where they have one; the aggregations captured about the
//! traced goods (pallets, cases) follow as they were captured. The document passes the platform's own EPCIS
//! validation.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use coldtrace_domain::gs1::{GS1_RESOLVER, Gs1Code};
use coldtrace_domain::{CodeScheme, MovementKind};
use coldtrace_store::epcis::{EventFilter, KeyMatch};
use coldtrace_store::{Scope, Store, StoreError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::tracer::{TraceAnswer, Tracer};

/// The JSON-LD context of the document.
pub const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

fn uom(unit: &str) -> Option<&'static str> {
    match unit {
        "kg" => Some("KGM"),
        "tonne" => Some("TNE"),
        "carton" => Some("CT"),
        "bag" => Some("BG"),
        _ => None,
    }
}

/// A party's identifier: its GLN as a Digital Link, else its USCC, else its name.
fn party_uri(gln: Option<&str>, uscc: Option<&str>, name: &str) -> String {
    match (gln, uscc) {
        (Some(g), _) => format!("{GS1_RESOLVER}/417/{g}"),
        (None, Some(u)) => format!("urn:coldtrace:uscc:{u}"),
        (None, None) => format!(
            "urn:coldtrace:party:{}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        ),
    }
}

struct Goods {
    class: String,
    unit: String,
    /// Every code key of the batch, to find the aggregations that name it.
    keys: Vec<String>,
}

/// The EPCIS query document of a trace.
pub async fn document(
    store: &dyn Store,
    tracer: &Tracer,
    a: &TraceAnswer,
) -> Result<Value, StoreError> {
    let moves = store.movements_by_seq(tracer.movement_seqs(a)).await?;
    let mut parties: HashMap<Uuid, (Option<String>, String, String)> = HashMap::new();
    let mut goods: HashMap<Uuid, Option<Goods>> = HashMap::new();
    let mut counterparty_gln: HashMap<String, Option<String>> = HashMap::new();
    let mut events: Vec<(i64, Value)> = Vec::with_capacity(moves.len());
    for m in moves {
        let r = &m.record;
        if let Entry::Vacant(v) = parties.entry(r.holder) {
            let e = store.enterprise(r.holder).await?.map(|s| s.record);
            v.insert(match e {
                Some(e) => (e.gln.clone(), e.uscc.as_str().to_string(), e.name.clone()),
                None => (None, String::new(), String::new()),
            });
        }
        let (gln, uscc, name) = parties[&r.holder].clone();
        let here = party_uri(
            gln.as_deref(),
            Some(&uscc).filter(|u| !u.is_empty()).map(|s| s.as_str()),
            &name,
        );
        let there = match &r.counterparty {
            Some(c) => {
                // Each counterparty's GLN is looked up once per document, not once per movement.
                let gln = match &c.uscc {
                    Some(u) => match counterparty_gln.entry(u.as_str().to_string()) {
                        Entry::Occupied(o) => o.get().clone(),
                        Entry::Vacant(v) => v
                            .insert(
                                store
                                    .enterprise_by_uscc(u.as_str())
                                    .await?
                                    .and_then(|s| s.record.gln),
                            )
                            .clone(),
                    },
                    None => None,
                };
                Some(party_uri(
                    gln.as_deref(),
                    c.uscc.as_ref().map(|u| u.as_str()),
                    &c.name,
                ))
            }
            None => None,
        };
        let quantity = |batch: &coldtrace_domain::BatchRef, q: coldtrace_domain::Quantity| {
            let coldtrace_domain::BatchRef::Id(id) = batch else {
                return None;
            };
            Some((*id, q))
        };
        let mut lines: Vec<(Uuid, coldtrace_domain::Quantity, &str)> = Vec::new();
        if let Some((b, q)) = r.batch.as_ref().and_then(|b| quantity(b, r.quantity)) {
            lines.push((b, q, "quantityList"));
        }
        for l in &r.inputs {
            if let Some((b, q)) = quantity(&l.batch, l.quantity) {
                lines.push((b, q, "inputQuantityList"));
            }
        }
        for l in &r.outputs {
            if let Some((b, q)) = quantity(&l.batch, l.quantity) {
                lines.push((b, q, "outputQuantityList"));
            }
        }
        let mut lists: HashMap<&str, Vec<Value>> = HashMap::new();
        for (b, q, list) in lines {
            if let Entry::Vacant(v) = goods.entry(b) {
                v.insert(store.batch(b).await?.map(|s| {
                    let batch = s.record;
                    let gs1 = batch
                        .trace_codes
                        .iter()
                        .filter(|c| c.scheme == CodeScheme::Gs1)
                        .filter_map(|c| Gs1Code::parse(&c.value).ok())
                        .max_by_key(|c| c.get("10").is_some());
                    let class = gs1
                        .and_then(|c| c.digital_link(GS1_RESOLVER))
                        .unwrap_or_else(|| format!("urn:coldtrace:lot:{}", batch.id));
                    Goods {
                        class,
                        unit: batch.unit.as_str().to_string(),
                        keys: batch.trace_codes.iter().map(|c| c.key.clone()).collect(),
                    }
                }));
            }
            let Some(g) = &goods[&b] else { continue };
            let mut item = json!({"epcClass": g.class, "quantity": q.to_string().parse::<f64>().unwrap_or(0.0)});
            if let Some(u) = uom(&g.unit) {
                item["uom"] = u.into();
            }
            lists.entry(list).or_default().push(item);
        }
        let offset = r.at.offset_seconds;
        let tz = format!(
            "{}{:02}:{:02}",
            if offset < 0 { '-' } else { '+' },
            offset.unsigned_abs() / 3600,
            (offset.unsigned_abs() % 3600) / 60
        );
        let mut e = json!({
            "type": if r.kind == MovementKind::Transform { "TransformationEvent" } else { "ObjectEvent" },
            "eventID": format!("urn:uuid:{}", r.id),
            "eventTime": r.at.to_string(),
            "eventTimeZoneOffset": tz,
        });
        let (step, disposition, action) = match r.kind {
            MovementKind::Ship => ("shipping", Some("in_transit"), "OBSERVE"),
            MovementKind::Receive => ("receiving", Some("in_progress"), "OBSERVE"),
            MovementKind::Sell => ("retail_selling", Some("retail_sold"), "OBSERVE"),
            MovementKind::Destroy => ("destroying", Some("destroyed"), "DELETE"),
            MovementKind::Seal => ("holding", Some("non_sellable_other"), "OBSERVE"),
            MovementKind::Return => ("shipping", Some("returned"), "OBSERVE"),
            MovementKind::Transform => ("commissioning", None, ""),
        };
        e["bizStep"] = step.into();
        if let Some(d) = disposition {
            e["disposition"] = d.into();
        }
        if r.kind != MovementKind::Transform {
            e["action"] = action.into();
        }
        for (list, items) in lists {
            e[list] = items.into();
        }
        if let Some(g) = &gln {
            e["bizLocation"] = json!({"id": format!("{GS1_RESOLVER}/414/{g}")});
        }
        let src = |p: &str| json!([{"type": "owning_party", "source": p}]);
        let dst = |p: &str| json!([{"type": "owning_party", "destination": p}]);
        match (r.kind, &there) {
            (MovementKind::Receive, Some(t)) => {
                e["sourceList"] = src(t);
                e["destinationList"] = dst(&here);
            }
            (MovementKind::Ship | MovementKind::Sell | MovementKind::Return, Some(t)) => {
                e["sourceList"] = src(&here);
                e["destinationList"] = dst(t);
            }
            _ => {}
        }
        events.push((r.at.millis(), e));
    }
    // The aggregations captured about the traced goods (pallets and cases that held them).
    let keys: Vec<KeyMatch> = goods
        .values()
        .flatten()
        .flat_map(|g| {
            g.keys.iter().map(|k| KeyMatch {
                key: k.clone(),
                prefix: false,
            })
        })
        .collect();
    if !keys.is_empty() {
        let found = store
            .epcis_events(
                Scope::All,
                EventFilter {
                    kinds: vec!["AggregationEvent".into()],
                    ids: vec![(vec!["child".into(), "child_class".into()], keys)],
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await?;
        let traced: Vec<Uuid> = goods.keys().copied().collect();
        for f in found {
            // An aggregation counts only from an enterprise that held the goods it names.
            let mut held = false;
            for b in &traced {
                if store
                    .batch_visible(&Scope::Enterprise(f.enterprise), *b)
                    .await?
                {
                    held = true;
                    break;
                }
            }
            if !held {
                continue;
            }
            let v: Value = serde_json::from_str(&f.body)?;
            let at = v["eventTime"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond())
                .unwrap_or(0);
            events.push((at, v));
        }
    }
    events.sort_by_key(|e| e.0);
    Ok(json!({
        "@context": [CONTEXT, {"coldtrace": "https://coldtrace.cn/voc/"}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": jiff::Timestamp::now().to_string(),
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {
            "eventList": events.into_iter().map(|e| e.1).collect::<Vec<_>>()}}}
    }))
}
