//! # coldtrace-epcis
//!
//! EPCIS 2.0 (GS1 电子产品代码信息服务) as the platform reads it, with no I/O:
//! - [`read`]: a capture document (an `EPCISDocument` or an `EPCISQueryDocument`) validated against GS1's JSON
//!   schema ([`schema`]) and what the schema cannot see: identifiers in EPC URN and Digital Link syntax (through the
//!   one GS1 parser, [`coldtrace_domain::gs1`]), CBV terms ([`vocab`]), an identifier list on every ObjectEvent.
//!   Each error names the event's index and a JSON pointer to the field.
//! - [`hash`]: the event hash that recognises the same event sent twice.
//! - [`query`]: the standard query parameters of `GET /epcis/events`.
//!
//! Events become the platform's records in the service layer; this crate only reads them.

pub mod hash;
pub mod map;
pub mod query;
pub mod schema;
pub mod vocab;

use coldtrace_domain::gs1::Gs1Code;
use serde_json::Value;

use vocab::{Term, Vocab};

/// One thing wrong in a capture: the event's index in the document's event list (none for the document itself),
/// a JSON pointer to the field, and the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CaptureError {
    pub event: Option<usize>,
    pub pointer: String,
    pub reason: String,
}

/// The five EPCIS event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Object,
    Aggregation,
    Transaction,
    Transformation,
    Association,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        Self::Object,
        Self::Aggregation,
        Self::Transaction,
        Self::Transformation,
        Self::Association,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Object => "ObjectEvent",
            Self::Aggregation => "AggregationEvent",
            Self::Transaction => "TransactionEvent",
            Self::Transformation => "TransformationEvent",
            Self::Association => "AssociationEvent",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What part an identifier plays in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `epcList`.
    Epc,
    /// `parentID`.
    Parent,
    /// `childEPCs`.
    Child,
    /// `inputEPCList`.
    Input,
    /// `outputEPCList`.
    Output,
    /// `quantityList` (by class).
    Class,
    /// `childQuantityList`.
    ChildClass,
    /// `inputQuantityList`.
    InputClass,
    /// `outputQuantityList`.
    OutputClass,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Epc => "epc",
            Self::Parent => "parent",
            Self::Child => "child",
            Self::Input => "input",
            Self::Output => "output",
            Self::Class => "class",
            Self::ChildClass => "child_class",
            Self::InputClass => "input_class",
            Self::OutputClass => "output_class",
        }
    }
}

/// An identifier an event names, with its lookup key: the canonical GS1 key (`gs1:01…/10…`) for GS1 codes in
/// any form, the URI itself for other namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub role: Role,
    pub uri: String,
    pub key: String,
}

/// A quantity of a class (`quantityList` and its siblings).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassQuantity {
    /// Which list: `quantityList` is [`Role::Epc`], `inputQuantityList` [`Role::Input`]…
    pub list: Role,
    pub class: String,
    pub key: String,
    pub quantity: Option<f64>,
    /// UN/CEFACT unit code (`KGM`), none for a count.
    pub uom: Option<String>,
}

/// A party or place of a source or destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub kind: Term,
    pub id: String,
}

/// One sensor reading of a `sensorElementList`.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorReading {
    /// The measurement type's name (`Temperature`).
    pub measurement: String,
    pub at_ms: i64,
    pub value: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub uom: Option<String>,
    /// The reading's sensor device, when named.
    pub device: Option<String>,
}

/// An event read and checked.
#[derive(Debug, Clone)]
pub struct Event {
    pub index: usize,
    pub kind: EventType,
    /// The event as sent, without `recordTime` (the repository sets it).
    pub body: Value,
    pub event_id: Option<String>,
    pub hash: String,
    pub event_time_ms: i64,
    pub action: Option<String>,
    pub biz_step: Option<Term>,
    pub disposition: Option<Term>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub ids: Vec<Identifier>,
    pub quantities: Vec<ClassQuantity>,
    pub sources: Vec<Party>,
    pub destinations: Vec<Party>,
    pub transactions: Vec<(Option<Term>, String)>,
    pub sensors: Vec<SensorReading>,
    /// The event declares an earlier one erroneous.
    pub error_declaration: bool,
    /// `ilmd` (instance/lot master data), as sent.
    pub ilmd: Option<Value>,
}

/// A capture document read: each event or what is wrong with it.
#[derive(Debug)]
pub struct Document {
    pub query_document: bool,
    pub events: Vec<Result<Event, Vec<CaptureError>>>,
}

const LISTS: [&str; 2] = [
    "/epcisBody/eventList/",
    "/epcisBody/queryResults/resultsBody/eventList/",
];

/// Reads a capture document. `Err` holds what is wrong with the document as a whole (no event list, a header
/// error); each event is read on its own so that a capture may proceed past a wrong one when asked to.
pub fn read(doc: &Value) -> Result<Document, Vec<CaptureError>> {
    let doc_err = |pointer: &str, reason: String| CaptureError {
        event: None,
        pointer: pointer.into(),
        reason,
    };
    let kind = doc.get("type").and_then(Value::as_str).unwrap_or("");
    let query_document = match kind {
        "EPCISDocument" => false,
        "EPCISQueryDocument" => true,
        k if EventType::parse(k).is_some() => return Ok(read_single(doc)),
        other => {
            return Err(vec![doc_err(
                "/type",
                format!(
                    "{other:?}: a capture takes an EPCISDocument, an EPCISQueryDocument or one event"
                ),
            )]);
        }
    };
    let mut doc_errors = Vec::new();
    let mut per_event: Vec<Vec<CaptureError>> = Vec::new();
    let list = if query_document {
        &doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    } else {
        &doc["epcisBody"]["eventList"]
    };
    let events = list.as_array().cloned().unwrap_or_default();
    per_event.resize(events.len(), Vec::new());
    for (pointer, reason) in schema::violations(doc) {
        let idx = LISTS.iter().find_map(|p| {
            let rest = pointer.strip_prefix(p)?;
            rest.split('/').next()?.parse::<usize>().ok()
        });
        match idx {
            Some(i) if i < per_event.len() => per_event[i].push(CaptureError {
                event: Some(i),
                pointer,
                reason,
            }),
            _ => doc_errors.push(doc_err(&pointer, reason)),
        }
    }
    if !list.is_array() && doc_errors.is_empty() {
        doc_errors.push(doc_err(
            if query_document {
                "/epcisBody/queryResults/resultsBody/eventList"
            } else {
                "/epcisBody/eventList"
            },
            "is missing: a document carries its events in an event list".into(),
        ));
    }
    if !doc_errors.is_empty() {
        return Err(doc_errors);
    }
    let base = if query_document { LISTS[1] } else { LISTS[0] };
    let mut prefixes = hash::Prefixes::new();
    hash::prefixes(doc.get("@context"), &mut prefixes);
    let events = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut errors = std::mem::take(&mut per_event[i]);
            let ev = read_event(i, e, &format!("{base}{i}"), &prefixes, &mut errors);
            match ev {
                Some(ev) if errors.is_empty() => Ok(ev),
                _ => {
                    if errors.is_empty() {
                        errors.push(CaptureError {
                            event: Some(i),
                            pointer: format!("{base}{i}"),
                            reason: "is not an EPCIS event".into(),
                        });
                    }
                    Err(errors)
                }
            }
        })
        .collect();
    Ok(Document {
        query_document,
        events,
    })
}

/// One event sent on its own (the REST binding's `POST /events`), with its own `@context`.
fn read_single(e: &Value) -> Document {
    let mut errors: Vec<CaptureError> = schema::violations(e)
        .into_iter()
        .map(|(pointer, reason)| CaptureError {
            event: Some(0),
            pointer,
            reason,
        })
        .collect();
    let ev = read_event(0, e, "", &hash::Prefixes::new(), &mut errors);
    Document {
        query_document: false,
        events: vec![match ev {
            Some(ev) if errors.is_empty() => Ok(ev),
            _ => Err(errors),
        }],
    }
}

/// Reads one event; what is wrong goes to `errors`.
fn read_event(
    i: usize,
    e: &Value,
    at: &str,
    prefixes: &hash::Prefixes,
    errors: &mut Vec<CaptureError>,
) -> Option<Event> {
    let mut bad = |field: &str, reason: String| {
        errors.push(CaptureError {
            event: Some(i),
            pointer: format!("{at}{field}"),
            reason,
        })
    };
    let kind = EventType::parse(e.get("type")?.as_str()?)?;
    let time = e.get("eventTime").and_then(Value::as_str).unwrap_or("");
    let event_time_ms = match time.parse::<jiff::Timestamp>() {
        Ok(t) => t.as_millisecond(),
        Err(_) => {
            bad(
                "/eventTime",
                format!("{time:?} is not a date-time with an offset"),
            );
            0
        }
    };
    if e.get("action").is_none() && kind != EventType::Transformation {
        bad("/action", "is required (ADD, OBSERVE or DELETE)".into());
    }
    let mut ids = Vec::new();
    let mut id = |role: Role, field: &str, uri: &str, bad: &mut dyn FnMut(&str, String)| {
        match identifier_key(uri) {
            Ok(key) => ids.push(Identifier {
                role,
                uri: uri.to_string(),
                key,
            }),
            Err(r) => bad(field, r),
        }
    };
    for (name, role) in [
        ("epcList", Role::Epc),
        ("childEPCs", Role::Child),
        ("inputEPCList", Role::Input),
        ("outputEPCList", Role::Output),
    ] {
        for (j, v) in e
            .get(name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(s) = v.as_str() {
                id(role, &format!("/{name}/{j}"), s, &mut bad);
            }
        }
    }
    if let Some(p) = e.get("parentID").and_then(Value::as_str) {
        id(Role::Parent, "/parentID", p, &mut bad);
    }
    let mut quantities = Vec::new();
    for (name, list) in [
        ("quantityList", Role::Epc),
        ("childQuantityList", Role::Child),
        ("inputQuantityList", Role::Input),
        ("outputQuantityList", Role::Output),
    ] {
        for (j, q) in e
            .get(name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(class) = q.get("epcClass").and_then(Value::as_str) else {
                continue;
            };
            match identifier_key(class) {
                Ok(key) => {
                    ids.push(Identifier {
                        role: match list {
                            Role::Child => Role::ChildClass,
                            Role::Input => Role::InputClass,
                            Role::Output => Role::OutputClass,
                            _ => Role::Class,
                        },
                        uri: class.to_string(),
                        key: key.clone(),
                    });
                    quantities.push(ClassQuantity {
                        list,
                        class: class.to_string(),
                        key,
                        quantity: q.get("quantity").and_then(Value::as_f64),
                        uom: q.get("uom").and_then(Value::as_str).map(str::to_string),
                    })
                }
                Err(r) => bad(&format!("/{name}/{j}/epcClass"), r),
            }
        }
    }
    let sensed = e
        .get("sensorElementList")
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty());
    let listed = ["epcList", "quantityList"].iter().any(|k| {
        e.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty())
    });
    if kind == EventType::Object && !listed && !sensed && !errors_for(e) {
        bad(
            "/epcList",
            "an ObjectEvent names what it is about: an epcList, a quantityList or sensor readings"
                .into(),
        );
    }
    let term = |field: &str, v: Vocab, value: Option<&Value>, bad: &mut dyn FnMut(&str, String)| {
        let s = value?.as_str()?;
        match vocab::read(v, s) {
            Ok(t) => Some(t),
            Err(r) => {
                bad(field, r);
                None
            }
        }
    };
    let biz_step = term("/bizStep", Vocab::BizStep, e.get("bizStep"), &mut bad);
    let disposition = term(
        "/disposition",
        Vocab::Disposition,
        e.get("disposition"),
        &mut bad,
    );
    for which in ["set", "unset"] {
        for (j, d) in e["persistentDisposition"][which]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            term(
                &format!("/persistentDisposition/{which}/{j}"),
                Vocab::Disposition,
                Some(d),
                &mut bad,
            );
        }
    }
    let parties = |name: &str, bad: &mut dyn FnMut(&str, String)| -> Vec<Party> {
        let mut out = Vec::new();
        for (j, s) in e
            .get(name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let kind = term(
                &format!("/{name}/{j}/type"),
                Vocab::SourceDestType,
                s.get("type"),
                bad,
            );
            let key = if name == "sourceList" {
                "source"
            } else {
                "destination"
            };
            let idv = s.get(key).and_then(Value::as_str).unwrap_or("");
            if !vocab::is_uri(idv) {
                bad(
                    &format!("/{name}/{j}/{key}"),
                    format!("{idv:?} is not a URI"),
                );
            } else if let Err(r) = identifier_key(idv) {
                bad(&format!("/{name}/{j}/{key}"), r);
            }
            if let Some(kind) = kind {
                out.push(Party {
                    kind,
                    id: idv.to_string(),
                });
            }
        }
        out
    };
    let sources = parties("sourceList", &mut bad);
    let destinations = parties("destinationList", &mut bad);
    let mut transactions = Vec::new();
    for (j, t) in e
        .get("bizTransactionList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ty = term(
            &format!("/bizTransactionList/{j}/type"),
            Vocab::BizTransactionType,
            t.get("type"),
            &mut bad,
        );
        if let Some(s) = t.get("bizTransaction").and_then(Value::as_str) {
            transactions.push((ty, s.to_string()));
        }
    }
    let place = |field: &str, bad: &mut dyn FnMut(&str, String)| -> Option<String> {
        let s = e.get(field)?.get("id")?.as_str()?;
        if let Err(r) = identifier_key(s) {
            bad(&format!("/{field}/id"), r);
        }
        Some(s.to_string())
    };
    let read_point = place("readPoint", &mut bad);
    let biz_location = place("bizLocation", &mut bad);
    let error_declaration = match e.get("errorDeclaration") {
        Some(d) => {
            term(
                "/errorDeclaration/reason",
                Vocab::ErrorReason,
                d.get("reason"),
                &mut bad,
            );
            true
        }
        None => false,
    };
    let sensors = sensors(e, event_time_ms);
    let mut body = e.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("recordTime");
    }
    let hash = hash::event_hash_in(e, prefixes);
    Some(Event {
        index: i,
        kind,
        event_id: e.get("eventID").and_then(Value::as_str).map(str::to_string),
        hash,
        event_time_ms,
        action: e.get("action").and_then(Value::as_str).map(str::to_string),
        biz_step,
        disposition,
        read_point,
        biz_location,
        ids,
        quantities,
        sources,
        destinations,
        transactions,
        sensors,
        error_declaration,
        ilmd: e.get("ilmd").cloned(),
        body,
    })
}

/// Whether the event carries an identifier list the schema already refused (so it is not reported twice).
fn errors_for(e: &Value) -> bool {
    ["epcList", "quantityList"]
        .iter()
        .any(|k| e.get(k).is_some_and(|v| !v.is_array()))
}

/// The lookup key of an identifier: the canonical GS1 key for an EPC URN or a Digital Link (which must then be
/// well formed); the URI itself for another namespace; an error for what is not a URI at all.
pub fn identifier_key(uri: &str) -> Result<String, String> {
    let lower = uri.get(..24).unwrap_or(uri).to_ascii_lowercase();
    let gs1_host =
        lower.starts_with("https://id.gs1.org/") || lower.starts_with("http://id.gs1.org/");
    let epc_urn = coldtrace_domain::gs1::is_gs1_epc_urn(uri);
    if epc_urn || gs1_host {
        let code = Gs1Code::parse(uri).map_err(|e| format!("{uri:?}: {e}"))?;
        return code
            .key()
            .ok_or_else(|| format!("{uri:?} holds no GS1 key"));
    }
    if lower.starts_with("urn:epc:") {
        // Another EPC scheme (gid, usdod, adi, bic…): kept by its URN.
        return Ok(uri.to_string());
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        // A Digital Link on a brand's own domain reads as GS1; any other web URI is another namespace.
        if let Ok(code) = Gs1Code::parse(uri)
            && let Some(k) = code.key()
        {
            return Ok(k);
        }
        return Ok(uri.to_string());
    }
    if vocab::is_uri(uri) {
        return Ok(uri.to_string());
    }
    Err(format!("{uri:?} is not a URI"))
}

fn sensors(e: &Value, event_time_ms: i64) -> Vec<SensorReading> {
    let mut out = Vec::new();
    for el in e
        .get("sensorElementList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let meta = el.get("sensorMetadata");
        let meta_time = meta
            .and_then(|m| m.get("time"))
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond());
        let device = meta
            .and_then(|m| m.get("deviceID"))
            .and_then(Value::as_str)
            .map(str::to_string);
        for r in el
            .get("sensorReport")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(ty) = r.get("type").and_then(Value::as_str) else {
                continue;
            };
            let measurement = ty.rsplit(['/', ':', '-']).next().unwrap_or(ty).to_string();
            let at_ms = r
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond())
                .or(meta_time)
                .unwrap_or(event_time_ms);
            out.push(SensorReading {
                measurement,
                at_ms,
                value: r.get("value").and_then(Value::as_f64),
                min: r.get("minValue").and_then(Value::as_f64),
                max: r.get("maxValue").and_then(Value::as_f64),
                uom: r.get("uom").and_then(Value::as_str).map(str::to_string),
                device: r
                    .get("deviceID")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| device.clone()),
            });
        }
    }
    out
}
