//! EPCIS 2.0 capture and query (GS1's REST binding): an enterprise sends a capture document; the platform keeps it
//! with a capture job before answering 202, checks it against GS1's schema and the CBV, and stores its events
//! (under `rollback` none if one is wrong, under `proceed` the right ones); a restart finishes unfinished jobs. The
//! events are queried with the standard parameters, each party seeing what its scope allows.

use std::sync::Arc;

use coldtrace_domain::{Principal, Role};
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

/// Reads a document into the events to store and the errors found.
fn prepare(doc: &serde_json::Value) -> (Vec<NewEvent>, Vec<JobError>) {
    let d = match coldtrace_epcis::read(doc) {
        Ok(d) => d,
        Err(errs) => return (vec![], errs.into_iter().map(job_error).collect()),
    };
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for ev in d.events {
        match ev {
            Ok(e) => events.push(NewEvent {
                hash: e.hash,
                event_id: e.event_id,
                kind: e.kind.as_str().to_string(),
                event_time_ms: e.event_time_ms,
                action: e.action,
                biz_step: e.biz_step.map(|t| t.as_str().to_string()),
                disposition: e.disposition.map(|t| t.as_str().to_string()),
                read_point: e
                    .read_point
                    .and_then(|r| coldtrace_epcis::identifier_key(&r).ok()),
                biz_location: e
                    .biz_location
                    .and_then(|r| coldtrace_epcis::identifier_key(&r).ok()),
                ids: e
                    .ids
                    .iter()
                    .map(|i| (i.role.as_str().to_string(), i.key.clone()))
                    .collect(),
                body: e.body.to_string(),
            }),
            Err(errs) => errors.extend(errs.into_iter().map(job_error)),
        }
    }
    (events, errors)
}

/// Runs a capture job to its end.
pub(crate) async fn run_job(store: Arc<dyn Store>, id: Uuid, document: String) {
    let doc: serde_json::Value = match serde_json::from_str(&document) {
        Ok(d) => d,
        Err(e) => {
            let errors = vec![JobError {
                event: None,
                pointer: String::new(),
                reason: format!("not JSON: {e}"),
            }];
            if let Err(e) = store.finish_capture_job(id, vec![], errors, now()).await {
                tracing::error!(error = %e, job = %id, "capture job could not finish");
            }
            return;
        }
    };
    let (events, errors) = tokio::task::spawn_blocking(move || prepare(&doc))
        .await
        .unwrap_or_else(|e| {
            (
                vec![],
                vec![JobError {
                    event: None,
                    pointer: String::new(),
                    reason: e.to_string(),
                }],
            )
        });
    match store.finish_capture_job(id, events, errors, now()).await {
        Ok(job) => {
            tracing::info!(job = %id, captured = job.captured, duplicates = job.duplicates, errors = job.errors.len(), "EPCIS capture")
        }
        Err(e) => tracing::error!(error = %e, job = %id, "capture job could not finish"),
    }
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
        tokio::spawn(run_job(self.store.clone(), id, text));
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
            (roles(&["class"]), m(&q.match_epc_class)),
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

    /// Runs again the capture jobs a stop interrupted.
    pub(crate) async fn resume_capture_jobs(&self) -> Result<usize, ServiceError> {
        let jobs = self.store.unfinished_capture_jobs().await?;
        let n = jobs.len();
        for (id, _, _, document) in jobs {
            tokio::spawn(run_job(self.store.clone(), id, document));
        }
        Ok(n)
    }
}
