//! EPCIS 2.0 capture and query (GS1's REST binding): an enterprise sends a capture document; the platform keeps it
//! with a capture job before answering 202, checks it against GS1's schema and the CBV, and stores its events
//! (under `rollback` none if one is wrong, under `proceed` the right ones); a restart finishes unfinished jobs. The
//! events are queried with the standard parameters, each party seeing what its scope allows.

use std::sync::Arc;

use coldtrace_domain::{Principal, Role, SubmissionDraft, Submitter, Writer};
use coldtrace_store::SubmitRequest;
use sha2::Digest;

use super::epcis_trace::{Mapped, Mapper, Piece};
use coldtrace_epcis::query::EventQuery;
use coldtrace_store::epcis::{
    CaptureJob, ErrorBehaviour, EventFilter, JobError, KeyMatch, NewEvent, StoredEvent,
};
use coldtrace_store::{Scope, Store};
use uuid::Uuid;

use super::Platform;
use crate::error::{ServiceError, require_role};

/// At most this many events in one capture (`GS1-EPCIS-Capture-Limit`).
pub const CAPTURE_LIMIT: usize = 10_000;

/// A page of events and the token of the next page.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    pub next: Option<i64>,
}

fn job_error(e: coldtrace_epcis::CaptureError) -> JobError {
    JobError {
        event: e.event,
        pointer: e.pointer,
        reason: e.reason,
    }
}

fn new_event(e: &coldtrace_epcis::Event) -> NewEvent {
    NewEvent {
        hash: e.hash.clone(),
        event_id: e.event_id.clone(),
        kind: e.kind.as_str().to_string(),
        event_time_ms: e.event_time_ms,
        action: e.action.clone(),
        biz_step: e.biz_step.as_ref().map(|t| t.as_str().to_string()),
        disposition: e.disposition.as_ref().map(|t| t.as_str().to_string()),
        read_point: e
            .read_point
            .as_deref()
            .and_then(|r| coldtrace_epcis::identifier_key(r).ok()),
        biz_location: e
            .biz_location
            .as_deref()
            .and_then(|r| coldtrace_epcis::identifier_key(r).ok()),
        ids: e
            .ids
            .iter()
            .map(|i| (i.role.as_str().to_string(), i.key.clone()))
            .collect(),
        body: e.body.to_string(),
    }
}

/// What a capture job needs of the platform to run on its own: the store, the ledger checks, and what follows
/// a write (the trace index, the docking client).
#[derive(Clone)]
pub(crate) struct Capturer {
    pub store: Arc<dyn Store>,
    pub checks: coldtrace_domain::checks::CheckPolicy,
    pub tracer: Arc<crate::tracer::Tracer>,
    pub docking: Option<Arc<crate::docking::DockingClient>>,
}

/// The event a submission's field path (`movements[3].quantity`) belongs to.
fn event_of(field: &str, pieces: &[Piece]) -> Option<usize> {
    let (list, rest) = field.split_once('[')?;
    let i: usize = rest.split(']').next()?.parse().ok()?;
    let mut n = 0;
    for p in pieces {
        let len = if list == "batches" {
            p.batches.len()
        } else if list == "movements" {
            p.movements.len()
        } else {
            return None;
        };
        if i < n + len {
            return Some(p.event);
        }
        n += len;
    }
    None
}

impl Capturer {
    /// Runs a capture job to its end. A failure of the store itself leaves the job unfinished (it runs again
    /// after a restart).
    pub(crate) async fn run(
        self,
        id: Uuid,
        enterprise: Uuid,
        behaviour: ErrorBehaviour,
        document: String,
    ) {
        if let Err(e) = self.try_run(id, enterprise, behaviour, document).await {
            tracing::error!(error = %e, job = %id, "capture job could not finish");
        }
    }

    async fn try_run(
        &self,
        id: Uuid,
        enterprise: Uuid,
        behaviour: ErrorBehaviour,
        document: String,
    ) -> Result<(), ServiceError> {
        let read = tokio::task::spawn_blocking(move || {
            serde_json::from_str::<serde_json::Value>(&document)
                .map_err(|e| {
                    vec![JobError {
                        event: None,
                        pointer: String::new(),
                        reason: format!("not JSON: {e}"),
                    }]
                })
                .and_then(|doc| {
                    coldtrace_epcis::read(&doc)
                        .map_err(|errs| errs.into_iter().map(job_error).collect())
                })
        })
        .await
        .map_err(ServiceError::internal)?;
        let doc = match read {
            Ok(d) => d,
            Err(errors) => {
                self.store
                    .finish_capture_job(id, vec![], errors, vec![], now())
                    .await?;
                return Ok(());
            }
        };
        let base = if doc.query_document {
            "/epcisBody/queryResults/resultsBody/eventList/"
        } else {
            "/epcisBody/eventList/"
        };
        let mut errors = Vec::new();
        let mut good = Vec::new();
        for ev in doc.events {
            match ev {
                Ok(e) => good.push(e),
                Err(errs) => errors.extend(errs.into_iter().map(job_error)),
            }
        }
        let rollback = behaviour == ErrorBehaviour::Rollback;
        if !errors.is_empty() && rollback {
            self.store
                .finish_capture_job(id, vec![], errors, vec![], now())
                .await?;
            return Ok(());
        }
        // The trace's records of the events.
        let mut mapper = Mapper::new(self.store.as_ref(), enterprise).await?;
        let mut mapped = Mapped {
            pieces: vec![],
            errors: vec![],
            notes: vec![],
        };
        for e in &good {
            let at = format!("{base}{}", e.index);
            mapper.map(e, &at, &mut mapped).await?;
        }
        let mut failed: std::collections::HashSet<usize> =
            mapped.errors.iter().filter_map(|e| e.event).collect();
        errors.append(&mut mapped.errors);
        if !errors.is_empty() && rollback {
            self.store
                .finish_capture_job(id, vec![], errors, mapped.notes, now())
                .await?;
            return Ok(());
        }
        // Submitted as one submission through the native rules; under proceed, the events it refuses are left out
        // and the rest submitted again.
        loop {
            let pieces: Vec<Piece> = mapped
                .pieces
                .iter()
                .filter(|p| !failed.contains(&p.event))
                .cloned()
                .collect();
            if pieces.is_empty() {
                break;
            }
            let draft = SubmissionDraft {
                batches: pieces.iter().flat_map(|p| p.batches.clone()).collect(),
                movements: pieces.iter().flat_map(|p| p.movements.clone()).collect(),
                ..Default::default()
            };
            if draft.len() > coldtrace_domain::submission::MAX_RECORDS {
                errors.push(JobError {
                    event: None,
                    pointer: String::new(),
                    reason: format!(
                        "the events make {} records; a capture makes at most {} (send it in smaller documents)",
                        draft.len(),
                        coldtrace_domain::submission::MAX_RECORDS
                    ),
                });
                self.store
                    .finish_capture_job(id, vec![], errors, mapped.notes, now())
                    .await?;
                return Ok(());
            }
            let refused = match draft.parse(Submitter::Enterprise(enterprise)) {
                Err(v) => Some(v.0),
                Ok(submission) => {
                    let body = serde_json::to_vec(&draft).map_err(ServiceError::internal)?;
                    let req = SubmitRequest {
                        subject: format!("enterprise:{enterprise}"),
                        writer: Writer::Enterprise(enterprise),
                        idempotency_key: Some(format!("epcis:{id}:{}", failed.len())),
                        request_hash: hex::encode(sha2::Sha256::digest(&body)),
                        submission,
                        checks: self.checks.clone(),
                    };
                    match self.store.submit(req).await {
                        Ok(out) => {
                            if !out.replayed {
                                if let Err(e) = self.tracer.catch_up(self.store.as_ref()).await {
                                    tracing::error!(error = %e, "trace index catch-up failed");
                                }
                                if let Some(d) = &self.docking {
                                    d.wake();
                                }
                            }
                            None
                        }
                        Err(
                            coldtrace_store::StoreError::Invalid(v)
                            | coldtrace_store::StoreError::Conflict(v),
                        ) => Some(v.0),
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            let Some(fields) = refused else { break };
            for f in fields {
                let ev = event_of(&f.field, &pieces);
                if let Some(i) = ev {
                    failed.insert(i);
                }
                errors.push(JobError {
                    event: ev,
                    pointer: ev.map(|i| format!("{base}{i}")).unwrap_or_default(),
                    reason: format!("the trace refuses it: {}: {}", f.field, f.reason),
                });
            }
            if rollback || !fields_named_events(&errors) {
                self.store
                    .finish_capture_job(id, vec![], errors, mapped.notes, now())
                    .await?;
                return Ok(());
            }
        }
        // Temperatures the events' sensors reported, on the goods they name (or the place they were read at).
        let mut readings: Vec<coldtrace_domain::sensor::Reading> = Vec::new();
        for e in good.iter().filter(|e| !failed.contains(&e.index)) {
            readings.extend(temperatures(
                e,
                &format!("{base}{}", e.index),
                &mut mapped.notes,
            ));
        }
        if !readings.is_empty() {
            self.store
                .put_readings(
                    enterprise,
                    readings,
                    self.checks.windows,
                    self.checks
                        .of(coldtrace_domain::checks::Rule::TemperatureExcursion),
                    now(),
                )
                .await?;
        }
        let events: Vec<NewEvent> = good
            .iter()
            .filter(|e| !failed.contains(&e.index))
            .map(new_event)
            .collect();
        let job = self
            .store
            .finish_capture_job(id, events, errors, mapped.notes, now())
            .await?;
        tracing::info!(job = %id, captured = job.captured, duplicates = job.duplicates, errors = job.errors.len(), "EPCIS capture");
        Ok(())
    }
}

/// The temperature readings of an event's sensor reports, in °C, about each of the goods it names (or, with
/// none, its business location or read point).
fn temperatures(
    e: &coldtrace_epcis::Event,
    at: &str,
    notes: &mut Vec<JobError>,
) -> Vec<coldtrace_domain::sensor::Reading> {
    use coldtrace_domain::sensor::{Reading, Subject};
    // A place as the event's movements name it (the business location's URI), so readings and movements meet.
    let subjects: Vec<Subject> = if e.ids.is_empty() {
        vec![Subject::Place(
            e.biz_location
                .as_deref()
                .or(e.read_point.as_deref())
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
        )]
    } else {
        e.ids.iter().map(|i| Subject::Code(i.key.clone())).collect()
    };
    let mut out = Vec::new();
    for r in e.sensors.iter().filter(|r| r.measurement == "Temperature") {
        let Some(v) = r.value.or(r.max) else { continue };
        let c = match r.uom.as_deref() {
            None | Some("CEL") => v,
            Some("FAH") => (v - 32.0) * 5.0 / 9.0,
            Some("KEL") => v - 273.15,
            Some(other) => {
                notes.push(JobError {
                    event: Some(e.index),
                    pointer: at.to_string(),
                    reason: format!("a temperature in {other:?} (not CEL, FAH or KEL) is not read"),
                });
                continue;
            }
        };
        if !(-100.0..=100.0).contains(&c) {
            notes.push(JobError {
                event: Some(e.index),
                pointer: at.to_string(),
                reason: format!("{c:.1} °C is not a temperature a cold chain records; not read"),
            });
            continue;
        }
        for s in &subjects {
            out.push(Reading {
                subject: s.clone(),
                device: r
                    .device
                    .clone()
                    .unwrap_or_else(|| "epcis".into())
                    .chars()
                    .take(64)
                    .collect(),
                at_ms: r.at_ms,
                celsius: c,
            });
        }
    }
    out
}

/// Whether every refusal could be put down to an event (otherwise proceeding would loop).
fn fields_named_events(errors: &[JobError]) -> bool {
    errors.iter().all(|e| e.event.is_some())
}

fn now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Platform {
    /// Accepts a capture document: refuses at once what is not a document at all (not JSON, not an EPCIS document
    /// or event, too many events), otherwise records the job with its document and runs it in the background.
    pub async fn capture_epcis(
        &self,
        p: &Principal,
        body: &[u8],
        behaviour: ErrorBehaviour,
    ) -> Result<Uuid, ServiceError> {
        require_role(p, &[Role::Enterprise], "capture EPCIS events")?;
        let enterprise = p.enterprise.ok_or_else(|| {
            ServiceError::Forbidden("an enterprise key without its enterprise".into())
        })?;
        let text = std::str::from_utf8(body)
            .map_err(|_| ServiceError::invalid("document", "is not UTF-8"))?
            .trim_start_matches('\u{feff}');
        let doc: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ServiceError::invalid("document", format!("is not JSON: {e}")))?;
        let kind = doc.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let events = match kind {
            "EPCISDocument" => doc["epcisBody"]["eventList"].as_array().map(Vec::len),
            "EPCISQueryDocument" => doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .map(Vec::len),
            k if coldtrace_epcis::EventType::parse(k).is_some() => Some(1),
            _ => {
                return Err(ServiceError::invalid(
                    "/type",
                    format!(
                        "{kind:?}: a capture takes an EPCISDocument, an EPCISQueryDocument or one event"
                    ),
                ));
            }
        };
        if events.unwrap_or(0) > CAPTURE_LIMIT {
            return Err(ServiceError::TooLarge(format!(
                "a capture holds at most {CAPTURE_LIMIT} events"
            )));
        }
        let id = Uuid::now_v7();
        let text = text.to_string();
        self.store
            .create_capture_job(id, enterprise, behaviour, text.clone(), now())
            .await?;
        tokio::spawn(self.capturer().run(id, enterprise, behaviour, text));
        Ok(id)
    }

    /// A capture job, to the enterprise that sent it (404 to anyone else).
    pub async fn capture_job(&self, p: &Principal, id: Uuid) -> Result<CaptureJob, ServiceError> {
        match self.store.capture_job(id).await? {
            Some(j) if p.role == Role::Enterprise && p.enterprise == Some(j.enterprise) => Ok(j),
            _ => Err(ServiceError::NotFound("capture job")),
        }
    }

    /// Events matching the standard query parameters, in the caller's scope: an enterprise its own captures, a
    /// regulator its province's, the national platform all.
    pub async fn epcis_events(
        &self,
        p: &Principal,
        pairs: &[(String, String)],
    ) -> Result<EventPage, ServiceError> {
        require_role(
            p,
            &[Role::Enterprise, Role::Regulator, Role::National],
            "query EPCIS events",
        )?;
        let q = EventQuery::parse(pairs).map_err(|e| ServiceError::invalid(e.param, e.reason))?;
        let m = |v: &[coldtrace_epcis::query::Pattern]| -> Vec<KeyMatch> {
            v.iter()
                .map(|p| KeyMatch {
                    key: p.key.clone(),
                    prefix: p.prefix,
                })
                .collect()
        };
        let roles = |r: &[&str]| -> Vec<String> { r.iter().map(|s| s.to_string()).collect() };
        let mut ids = Vec::new();
        for (r, v) in [
            (roles(&["epc", "child"]), m(&q.match_epc)),
            (roles(&["parent"]), m(&q.match_parent_id)),
            (roles(&["input"]), m(&q.match_input_epc)),
            (roles(&["output"]), m(&q.match_output_epc)),
            (
                roles(&["epc", "child", "parent", "input", "output"]),
                m(&q.match_any_epc),
            ),
            (roles(&["class", "child_class"]), m(&q.match_epc_class)),
            (
                roles(&["class", "child_class", "input_class", "output_class"]),
                m(&q.match_any_epc_class),
            ),
        ] {
            if !v.is_empty() {
                ids.push((r, v));
            }
        }
        let filter = EventFilter {
            kinds: q
                .event_types
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            ge_event_time: q.ge_event_time,
            lt_event_time: q.lt_event_time,
            ge_record_time: q.ge_record_time,
            lt_record_time: q.lt_record_time,
            actions: q.eq_action.clone(),
            biz_steps: q.eq_biz_step.clone(),
            dispositions: q.eq_disposition.clone(),
            biz_locations: q.eq_biz_location.clone(),
            read_points: q.eq_read_point.clone(),
            ids,
            after: q.after,
            descending: q.descending,
            limit: q.per_page + 1,
        };
        let mut events = self.store.epcis_events(Scope::of(p), filter).await?;
        let next = if events.len() > q.per_page {
            events.truncate(q.per_page);
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(EventPage { events, next })
    }

    fn capturer(&self) -> Capturer {
        Capturer {
            store: self.store.clone(),
            checks: self.checks.clone(),
            tracer: self.tracer.clone(),
            docking: self.docking.clone(),
        }
    }

    /// Runs again the capture jobs a stop interrupted.
    pub(crate) async fn resume_capture_jobs(&self) -> Result<usize, ServiceError> {
        let jobs = self.store.unfinished_capture_jobs().await?;
        let n = jobs.len();
        for (id, enterprise, behaviour, document) in jobs {
            tokio::spawn(self.capturer().run(id, enterprise, behaviour, document));
        }
        Ok(n)
    }
}
