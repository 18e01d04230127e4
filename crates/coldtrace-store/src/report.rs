//! What a provincial platform reports to the national platform (上报) about one committed submission, and the
//! platform's own trace code for each new batch (赋码). Backend-neutral: a backend gives read access to the
//! records of the open transaction through [`ReportSource`] and writes the returned messages into its outbox in
//! the same transaction, so a second backend reports exactly what the first does.

use std::collections::HashMap;

use coldtrace_domain::docking::{
    BatchFacts, BorderFlow, Derivation, EnterpriseShort, IncidentReport, Message, NativeCode,
    province_of_uscc,
};
use coldtrace_domain::incident::Incident;
use coldtrace_domain::{
    Batch, BatchRef, Enterprise, Movement, MovementKind, Product, TraceCode, Uscc,
};
use uuid::Uuid;

use crate::DockingConfig;

/// Records first stored by one submission, to report. Batches carry the backend's serial number for them,
/// from which an issued code is derived.
#[derive(Debug, Default)]
pub struct Fresh {
    pub enterprises: Vec<Enterprise>,
    pub batches: Vec<(u64, Batch)>,
    pub movements: Vec<Movement>,
}

impl Fresh {
    pub fn is_empty(&self) -> bool {
        self.enterprises.is_empty() && self.batches.is_empty() && self.movements.is_empty()
    }
}

/// The records a report reads, as the open transaction sees them (its own writes included).
pub trait ReportSource {
    type Error;
    /// The latest version of a registered enterprise.
    fn enterprise(&mut self, id: Uuid) -> Result<Option<Enterprise>, Self::Error>;
    /// The latest version of a product.
    fn product(&mut self, id: Uuid) -> Result<Option<Product>, Self::Error>;
    fn batch(&mut self, id: Uuid) -> Result<Option<Batch>, Self::Error>;
    /// Every code of a batch, as stored (the enterprise's and the platform's), in key order.
    fn codes(&mut self, batch: Uuid) -> Result<Vec<NativeCode>, Self::Error>;
    /// Stores a code the platform issued for a batch; a code already taken by another batch is not stored again.
    fn add_code(&mut self, batch: Uuid, code: &TraceCode) -> Result<(), Self::Error>;
}

/// What the messages say of a registered enterprise.
#[derive(Clone)]
struct Party {
    uscc: String,
    name: String,
    province: String,
}

/// Registered enterprises read once per submission: a bulk ledger names the same few holders many times.
struct Parties<'s, S>(&'s mut S, HashMap<Uuid, Option<Party>>);

impl<S: ReportSource> Parties<'_, S> {
    fn get(&mut self, id: Uuid) -> Result<Option<Party>, S::Error> {
        if let Some(p) = self.1.get(&id) {
            return Ok(p.clone());
        }
        let party = self.0.enterprise(id)?.map(|e| Party {
            uscc: e.uscc.as_str().to_string(),
            province: e.region.province().as_str().to_string(),
            name: e.name,
        });
        self.1.insert(id, party.clone());
        Ok(party)
    }
}

/// Issues the platform's code for every new batch without one (through `src`), then builds the messages that
/// report the submission, in order: new enterprises, new batches, processing lineage and flows across the
/// province border.
pub fn report<S: ReportSource>(
    cfg: &DockingConfig,
    fresh: &Fresh,
    src: &mut S,
) -> Result<Vec<Message>, S::Error> {
    let mut out = Vec::new();
    for e in &fresh.enterprises {
        out.push(Message::Enterprise(EnterpriseShort {
            uscc: e.uscc.as_str().to_string(),
            name: e.name.clone(),
            kind: e.kind.as_str().to_string(),
            region: e.region.as_str().to_string(),
        }));
    }
    let mut parties = Parties(src, HashMap::new());
    for (serial, b) in &fresh.batches {
        let owner = parties.get(b.owner)?;
        let src = &mut *parties.0;
        let product = src.product(b.product)?;
        if let Some(issuer) = &cfg.issuer
            && !b.trace_codes.iter().any(|c| c.scheme == issuer.scheme)
            && let Some(uscc) = owner
                .as_ref()
                .and_then(|o| Uscc::parse_overridden(&o.uscc).ok())
            && let Some(code) = issuer.issue(
                *serial,
                &uscc,
                product.as_ref().and_then(|p| p.gtin.as_ref()),
                &b.batch_no,
            )
        {
            src.add_code(b.id, &code)?;
        }
        out.push(Message::Batch(BatchFacts {
            batch: b.id.to_string(),
            codes: src.codes(b.id)?,
            product: product.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            gtin: product
                .as_ref()
                .and_then(|p| p.gtin.as_ref())
                .map(|g| g.to_gtin14()),
            batch_no: b.batch_no.clone(),
            owner_uscc: owner.map(|o| o.uscc).unwrap_or_default(),
            origin_country: product
                .as_ref()
                .map(|p| p.origin_country.as_str().to_string()),
            inspection_cert_no: b.inspection_cert_no.clone(),
            declaration_no: b.declaration_no.as_ref().map(|d| d.as_str().to_string()),
            port_of_entry: b.port_of_entry.clone(),
            import_date: b.import_date.map(|d| d.to_string()),
            quantity_milli: b.quantity.milli(),
            unit: b.unit.as_str().to_string(),
        }));
    }
    for m in &fresh.movements {
        if let Some(msg) = movement_report(cfg, m, &mut parties)? {
            out.push(msg);
        }
    }
    Ok(out)
}

fn batch_id(r: &BatchRef) -> Option<String> {
    match r {
        BatchRef::Id(id) => Some(id.to_string()),
        _ => None,
    }
}

/// A transformation's lineage, or a flow across this province's border (the holder here, the counterparty
/// registered elsewhere); nothing for other movements.
fn movement_report<S: ReportSource>(
    cfg: &DockingConfig,
    m: &Movement,
    parties: &mut Parties<'_, S>,
) -> Result<Option<Message>, S::Error> {
    if m.kind == MovementKind::Transform {
        return Ok(Some(Message::Derivation(Derivation {
            holder_uscc: parties.get(m.holder)?.map(|p| p.uscc).unwrap_or_default(),
            inputs: m.inputs.iter().filter_map(|l| batch_id(&l.batch)).collect(),
            outputs: m
                .outputs
                .iter()
                .filter_map(|l| batch_id(&l.batch))
                .collect(),
            at_ms: m.at.millis(),
        })));
    }
    let outward = match m.kind {
        MovementKind::Ship | MovementKind::Sell | MovementKind::Return => true,
        MovementKind::Receive => false,
        _ => return Ok(None),
    };
    let Some(cp) = &m.counterparty else {
        return Ok(None);
    };
    let Some(cp_uscc) = &cp.uscc else {
        return Ok(None);
    };
    let other = province_of_uscc(cp_uscc.as_str()).map(str::to_string);
    // A flow crosses this province's border when the holder is here and the counterparty is not.
    if other.as_deref() == Some(cfg.province.as_str()) {
        return Ok(None);
    }
    let holder = parties.get(m.holder)?;
    if holder.as_ref().map(|h| h.province.as_str()) != Some(cfg.province.as_str()) {
        return Ok(None);
    }
    let Some(batch) = m.batch.as_ref().and_then(batch_id) else {
        return Ok(None);
    };
    let src = &mut *parties.0;
    let moved = match m.batch.as_ref() {
        Some(BatchRef::Id(id)) => src.batch(*id)?,
        _ => None,
    };
    let product = match &moved {
        Some(b) => src.product(b.product)?.map(|p| p.name),
        None => None,
    };
    let unit = moved
        .as_ref()
        .map(|b| b.unit.as_str().to_string())
        .unwrap_or_default();
    let (holder_uscc, holder_name) = match holder {
        Some(h) => (Some(h.uscc), h.name),
        None => (None, String::new()),
    };
    let cp_uscc = Some(cp_uscc.as_str().to_string());
    let (seller_uscc, seller_name, buyer_uscc, buyer_name) = if outward {
        (holder_uscc, holder_name, cp_uscc, cp.name.clone())
    } else {
        (cp_uscc, cp.name.clone(), holder_uscc, holder_name)
    };
    let flow = BorderFlow {
        movement: m.id.to_string(),
        batch,
        product: product.unwrap_or_default(),
        seller_uscc,
        seller_name,
        buyer_uscc,
        buyer_name,
        other_province: other,
        quantity_milli: m.quantity.milli(),
        unit,
        at_ms: m.at.millis(),
    };
    Ok(Some(if outward {
        Message::Outflow(flow)
    } else {
        Message::Inflow(flow)
    }))
}

/// The message that reports a positive test registered in this province; none for an incident opened from a
/// national notice (the national platform knows it already).
pub fn incident_report(inc: &Incident) -> Option<Message> {
    if inc.notice.is_some() {
        return None;
    }
    Some(Message::Incident(IncidentReport {
        incident: inc.id,
        kind: inc.kind.as_str().to_string(),
        subject: inc.subject.clone(),
        positive_at: inc.positive_at.to_string(),
        batches: inc.seeds.iter().map(Uuid::to_string).collect(),
    }))
}
