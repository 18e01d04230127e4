//! EPCIS events into the trace: the batches and movements an event means ([`coldtrace_epcis::map`]), built as an
//! ordinary submission and stored through the same checks as every other write, so that a chain captured only
//! as EPCIS traces as the same chain recorded through the native API.
//!
//! Record ids are derived from the enterprise and the event (a batch from its GS1 class, a movement from the
//! event hash), so capturing the same events again, or running a job again after a stop, stores nothing new.
//! Events about goods the platform does not know (no product of the enterprise has the GTIN, no batch has the
//! code) stay in the EPCIS repository and are listed in the job's notes, not in the trace.

use std::collections::HashMap;

use coldtrace_domain::batch::{BatchDraft, TraceCodeDraft};
use coldtrace_domain::gs1::Gs1Code;
use coldtrace_domain::movement::{LineDraft, MovementDraft};
use coldtrace_domain::quantity::Quantity;
use coldtrace_domain::time::EventTime;
use coldtrace_epcis::map::{Native, ilmd, native, unit};
use coldtrace_epcis::{ClassQuantity, Event, Role};
use coldtrace_store::Store;
use coldtrace_store::epcis::JobError;
use uuid::Uuid;

/// The records one event makes.
#[derive(Debug, Default, Clone)]
pub(crate) struct Piece {
    pub event: usize,
    pub batches: Vec<BatchDraft>,
    pub movements: Vec<MovementDraft>,
}

/// What the mapping found out, per event.
pub(crate) struct Mapped {
    pub pieces: Vec<Piece>,
    /// Events that are wrong for the trace (an error of the capture).
    pub errors: Vec<JobError>,
    /// Events kept in the repository only, and why.
    pub notes: Vec<JobError>,
}

/// What names an event for the ids of its records: its `eventID` when it has one (so the same event resent with
/// other content is a conflict, not a second record), else its hash.
fn source_of(e: &Event) -> &str {
    e.event_id.as_deref().unwrap_or(&e.hash)
}

fn id_of(enterprise: Uuid, what: &str) -> Uuid {
    Uuid::new_v5(&enterprise, what.as_bytes())
}

/// The goods an event names, grouped by identifier key with their quantity (a count for EPCs).
fn goods(
    e: &Event,
    lists: &[Role],
    qlist: &[Role],
) -> Vec<(String, String, Option<f64>, Option<String>)> {
    let mut out: Vec<(String, String, Option<f64>, Option<String>)> = Vec::new();
    for i in e.ids.iter().filter(|i| lists.contains(&i.role)) {
        out.push((i.key.clone(), i.uri.clone(), Some(1.0), None));
    }
    for ClassQuantity {
        list,
        class,
        key,
        quantity,
        uom,
    } in &e.quantities
    {
        if qlist.contains(list) {
            out.push((key.clone(), class.clone(), *quantity, uom.clone()));
        }
    }
    out
}

fn quantity(q: Option<f64>, at: &str) -> Result<Quantity, String> {
    let q = q.ok_or(format!("{at}: a quantity is needed for the trace"))?;
    // Thousandths, as the platform keeps quantities (sums of decimals are not exact in binary).
    Quantity::parse(&format!("{q:.3}")).map_err(|e| format!("{at}: {e}"))
}

/// The unit of a goods line: the quantity list's `uom` (EPCs are counted in pieces).
fn line_unit(uom: Option<&str>, is_epc: bool) -> Result<&'static str, String> {
    if is_epc { Ok("piece") } else { unit(uom) }
}

pub(crate) struct Mapper<'a> {
    pub store: &'a dyn Store,
    pub enterprise: Uuid,
    /// GTIN-14 → product id, of the enterprise's catalogue.
    pub products: HashMap<String, Uuid>,
    /// Identifier key → batch id, of batches this capture makes, and their units.
    pub made: HashMap<String, Uuid>,
    pub made_units: HashMap<Uuid, String>,
}

impl<'a> Mapper<'a> {
    pub async fn new(
        store: &'a dyn Store,
        enterprise: Uuid,
    ) -> Result<Self, coldtrace_store::StoreError> {
        let mut products = HashMap::new();
        let scope = coldtrace_store::Scope::Enterprise(enterprise);
        let mut page = coldtrace_store::Page {
            after: 0,
            limit: 1000,
        };
        loop {
            let got = store.products(&scope, page).await?;
            let Some(last) = got.last().map(|p| p.seq) else {
                break;
            };
            for p in got {
                if p.corrected_by.is_none()
                    && let Some(g) = &p.record.gtin
                {
                    products.insert(g.to_gtin14(), p.record.id);
                }
            }
            page.after = last;
        }
        Ok(Self {
            store,
            enterprise,
            products,
            made: HashMap::new(),
            made_units: HashMap::new(),
        })
    }

    /// The batch a code names, when the sender may use it (its own, or goods it holds or was sent); a batch it
    /// may not see reads as unknown, as it does everywhere else.
    async fn batch_of(&self, key: &str) -> Result<Option<Uuid>, coldtrace_store::StoreError> {
        if let Some(b) = self.made.get(key) {
            return Ok(Some(*b));
        }
        let Some(b) = self.store.batch_by_code(key).await? else {
            return Ok(None);
        };
        let scope = coldtrace_store::Scope::Enterprise(self.enterprise);
        Ok(self.store.batch_visible(&scope, b).await?.then_some(b))
    }

    /// The unit of a batch (made by this capture or stored).
    async fn unit_of(&self, batch: Uuid) -> Result<Option<String>, coldtrace_store::StoreError> {
        if let Some(u) = self.made_units.get(&batch) {
            return Ok(Some(u.clone()));
        }
        Ok(self
            .store
            .batch(batch)
            .await?
            .map(|b| b.record.unit.as_str().to_string()))
    }

    /// Why a line cannot be counted against its batch: its unit cannot be read, or differs from the batch's (a
    /// line moves goods in the unit its batch is kept in). `None` when it can.
    async fn unit_problem(
        &self,
        uri: &str,
        uom: Option<&str>,
        is_epc: bool,
        batch: Uuid,
    ) -> Result<Option<String>, coldtrace_store::StoreError> {
        Ok(match (line_unit(uom, is_epc), self.unit_of(batch).await?) {
            (Ok(u), Some(bu)) if u != bu => Some(format!(
                "{uri}: counted in {u}, but the batch is kept in {bu}"
            )),
            (Err(r), _) => Some(format!("{uri}: {r}")),
            _ => None,
        })
    }

    async fn party(
        &self,
        e: &Event,
        sources: bool,
    ) -> Result<(Option<String>, Option<String>), coldtrace_store::StoreError> {
        let list = if sources { &e.sources } else { &e.destinations };
        let rank = |k: &str| match k {
            "owning_party" => 0,
            "possessing_party" => 1,
            _ => 2,
        };
        let mut parties: Vec<_> = list.iter().collect();
        parties.sort_by_key(|p| rank(p.kind.as_str()));
        for p in &parties {
            if let Ok(code) = Gs1Code::parse(&p.id)
                && let Some(gln) = code.get("417").or(code.get("414"))
                && let Some(ent) = self.store.enterprise_by_gln(gln).await?
            {
                return Ok((
                    Some(ent.record.uscc.as_str().to_string()),
                    Some(ent.record.name.clone()),
                ));
            }
        }
        Ok((
            None,
            parties.first().map(|p| p.id.chars().take(200).collect()),
        ))
    }

    /// The records of one event.
    pub async fn map(
        &mut self,
        e: &Event,
        at: &str,
        out: &mut Mapped,
    ) -> Result<(), coldtrace_store::StoreError> {
        let kind = native(e);
        if kind == Native::None {
            return Ok(());
        }
        let note = |reason: String| JobError {
            event: Some(e.index),
            pointer: at.to_string(),
            reason,
        };
        if e.error_declaration {
            out.notes.push(note(
                "declares an earlier event erroneous: kept in the repository; the trace's records are corrected \
                 through the API (`corrects`), not by an event"
                    .into(),
            ));
            return Ok(());
        }
        let when = match EventTime::parse(e.body["eventTime"].as_str().unwrap_or("")) {
            Ok(t) => t,
            Err(r) => {
                out.errors.push(note(r));
                return Ok(());
            }
        };
        let mut piece = Piece {
            event: e.index,
            ..Default::default()
        };
        let made_batch = |this: &mut Self,
                          key: &str,
                          uri: &str,
                          q: Option<f64>,
                          uom: Option<&str>|
         -> Result<Option<BatchDraft>, String> {
            let code = Gs1Code::parse(uri).map_err(|x| format!("{uri}: {x}"))?;
            let Some(gtin) = code.get("01") else {
                return Ok(None);
            };
            let Some(product) = this.products.get(gtin) else {
                return Ok(None);
            };
            let lot = code
                .get("10")
                .map(str::to_string)
                .or_else(|| ilmd(e, "lotNumber").map(str::to_string))
                .ok_or(format!(
                    "{uri}: a batch needs its lot, (10) or ilmd lotNumber"
                ))?;
            let id = id_of(this.enterprise, &format!("batch:{gtin}/{lot}"));
            let serial = code.get("21").is_some();
            let u = line_unit(uom, serial)?;
            this.made.insert(key.to_string(), id);
            this.made_units.insert(id, u.to_string());
            let class = format!("(01){gtin}(10){lot}");
            if let Ok(c) = coldtrace_domain::TraceCode::parse(&class, None) {
                this.made.insert(c.key, id);
            }
            // The lot's own code, and each serial as a code of it.
            let mut trace_codes = vec![TraceCodeDraft {
                value: Some(class),
                scheme: None,
            }];
            if serial {
                trace_codes.push(TraceCodeDraft {
                    value: Some(uri.to_string()),
                    scheme: None,
                });
            }
            Ok(Some(BatchDraft {
                id: Some(id),
                product_id: Some(*product),
                batch_no: Some(lot),
                quantity: Some(quantity(q, uri)?),
                unit: Some(u.to_string()),
                expiry_date: ilmd(e, "itemExpirationDate").map(str::to_string),
                trace_codes,
                ..Default::default()
            }))
        };
        match kind {
            Native::Commission => {
                let mut by_batch: HashMap<Uuid, usize> = HashMap::new();
                for (key, uri, q, uom) in goods(e, &[Role::Epc], &[Role::Epc]) {
                    match made_batch(self, &key, &uri, q, uom.as_deref()) {
                        Ok(Some(b)) => {
                            let id = b.id.expect("set");
                            match by_batch.get(&id) {
                                // More of one lot (EPCs, or the class twice): one batch, the quantities
                                // added, each serial a code of it.
                                Some(&i) => {
                                    let prev: &mut BatchDraft = &mut piece.batches[i];
                                    if prev.unit != b.unit {
                                        out.errors.push(note(format!(
                                            "{uri}: the lot is counted in {} and in {} in one event",
                                            prev.unit.as_deref().unwrap_or(""),
                                            b.unit.as_deref().unwrap_or("")
                                        )));
                                        continue;
                                    }
                                    let n = prev.quantity.map(|q| q.milli()).unwrap_or(0)
                                        + b.quantity.map(|q| q.milli()).unwrap_or(0);
                                    prev.quantity = Some(Quantity::from_milli(n));
                                    for c in b.trace_codes {
                                        if !prev.trace_codes.iter().any(|x| x.value == c.value) {
                                            prev.trace_codes.push(c);
                                        }
                                    }
                                }
                                None => {
                                    by_batch.insert(id, piece.batches.len());
                                    piece.batches.push(b);
                                }
                            }
                        }
                        Ok(None) => out.notes.push(note(format!("{uri}: no product of this enterprise has its GTIN; kept in the repository, not in the trace"))),
                        Err(r) => out.errors.push(note(r)),
                    }
                }
            }
            Native::Ship | Native::Receive | Native::Sell | Native::Destroy => {
                let (uscc, name) = self.party(e, kind == Native::Receive).await?;
                let mut by_batch: Vec<(Uuid, f64, String)> = Vec::new();
                let epcs = e.ids.iter().filter(|i| i.role == Role::Epc).count();
                for (n, (key, uri, q, uom)) in
                    goods(e, &[Role::Epc], &[Role::Epc]).into_iter().enumerate()
                {
                    let Some(b) = self.batch_of(&key).await? else {
                        out.notes.push(note(format!("{uri}: no batch on the platform has this code; kept in the repository, not in the trace")));
                        continue;
                    };
                    // The line's unit must be the batch's: 500 GRM are not 500 kg.
                    let Some(q) = q else {
                        out.errors
                            .push(note(format!("{uri}: a quantity is needed for the trace")));
                        continue;
                    };
                    if let Some(r) = self.unit_problem(&uri, uom.as_deref(), n < epcs, b).await? {
                        out.errors.push(note(r));
                        continue;
                    }
                    match by_batch.iter_mut().find(|x| x.0 == b) {
                        Some(x) => x.1 += q,
                        None => by_batch.push((b, q, uri)),
                    }
                }
                for (n, (batch, q, uri)) in by_batch.into_iter().enumerate() {
                    let q = match quantity(Some(q), &uri) {
                        Ok(q) => q,
                        Err(r) => {
                            out.errors.push(note(r));
                            continue;
                        }
                    };
                    piece.movements.push(MovementDraft {
                        id: Some(id_of(
                            self.enterprise,
                            &format!("movement:{}:{n}", source_of(e)),
                        )),
                        kind: Some(
                            match kind {
                                Native::Ship => "ship",
                                Native::Receive => "receive",
                                Native::Sell => "sell",
                                _ => "destroy",
                            }
                            .into(),
                        ),
                        batch_id: Some(batch),
                        quantity: Some(q),
                        counterparty_uscc: if kind == Native::Destroy {
                            None
                        } else {
                            uscc.clone()
                        },
                        counterparty_name: if kind == Native::Destroy {
                            None
                        } else {
                            name.clone()
                        },
                        at: Some(when),
                        location: e
                            .biz_location
                            .as_ref()
                            .map(|l| l.chars().take(200).collect()),
                        note: Some(format!(
                            "EPCIS {}",
                            e.event_id.as_deref().unwrap_or(&e.hash)
                        )),
                        ..Default::default()
                    });
                }
            }
            Native::Transform => {
                let mut inputs = Vec::new();
                let input_epcs = e.ids.iter().filter(|i| i.role == Role::Input).count();
                for (n, (key, uri, q, uom)) in goods(e, &[Role::Input], &[Role::Input])
                    .into_iter()
                    .enumerate()
                {
                    let Some(b) = self.batch_of(&key).await? else {
                        out.notes.push(note(format!("{uri}: no batch on the platform has this code; kept in the repository, not in the trace")));
                        continue;
                    };
                    // An input is consumed in its batch's unit, as a shipment is.
                    if let Some(r) = self
                        .unit_problem(&uri, uom.as_deref(), n < input_epcs, b)
                        .await?
                    {
                        out.errors.push(note(r));
                        continue;
                    }
                    match quantity(q, &uri) {
                        Ok(q) => inputs.push(LineDraft {
                            batch_id: Some(b),
                            quantity: Some(q),
                            ..Default::default()
                        }),
                        Err(r) => out.errors.push(note(r)),
                    }
                }
                let mut outputs = Vec::new();
                for (key, uri, q, uom) in goods(e, &[Role::Output], &[Role::Output]) {
                    match made_batch(self, &key, &uri, q, uom.as_deref()) {
                        Ok(Some(b)) => {
                            outputs.push(LineDraft { batch_id: b.id, quantity: b.quantity, ..Default::default() });
                            piece.batches.push(b);
                        }
                        Ok(None) => out.notes.push(note(format!("{uri}: no product of this enterprise has its GTIN; kept in the repository, not in the trace"))),
                        Err(r) => out.errors.push(note(r)),
                    }
                }
                if !inputs.is_empty() || !outputs.is_empty() {
                    piece.movements.push(MovementDraft {
                        id: Some(id_of(
                            self.enterprise,
                            &format!("movement:{}:0", source_of(e)),
                        )),
                        kind: Some("transform".into()),
                        at: Some(when),
                        inputs,
                        outputs,
                        location: e
                            .biz_location
                            .as_ref()
                            .map(|l| l.chars().take(200).collect()),
                        note: Some(format!(
                            "EPCIS {}",
                            e.event_id.as_deref().unwrap_or(&e.hash)
                        )),
                        ..Default::default()
                    });
                }
            }
            Native::None => {}
        }
        if !piece.batches.is_empty() || !piece.movements.is_empty() {
            out.pieces.push(piece);
        }
        Ok(())
    }
}
