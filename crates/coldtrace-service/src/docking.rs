//! The provincial side of docking: delivers the outbox to the national platform in sequence order with retry
//! and backoff, and pulls the notices addressed to this province (long poll), opening a local incident for
//! each so that every holder here gets a disposal task.
//!
//! Delivery is at least once and takes effect exactly once: a message is marked delivered only after the
//! national platform answered that it has it, and the national platform ignores a message id it already has.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use coldtrace_domain::docking::{
    HolderShort, Notice, NoticeAck, Purpose, SequenceGap, Upload, UploadReceipt, VERSION,
};
use coldtrace_domain::incident::IncidentKind;
use coldtrace_domain::{EventTime, Principal, Role};
use coldtrace_store::{AckOutcome, Store, StoreError};
use coldtrace_trace::TimeMode;
use uuid::Uuid;

use crate::incidents::{self, IncidentError, OpenIncident};
use crate::tracer::{TraceFrom, Tracer};

/// How to reach the national platform.
#[derive(Debug, Clone)]
pub struct NationalLink {
    /// Base URL, e.g. `http://127.0.0.1:7000`.
    pub url: String,
    pub client_id: String,
    pub secret: String,
    /// This platform's province.
    pub province: String,
    /// A private CA certificate (PEM) the national platform's HTTPS certificate chains to (closed networks).
    pub ca_pem: Option<Vec<u8>>,
}

/// What an operator sees about docking.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct DockingHealth {
    pub national: String,
    pub last_error: Option<String>,
    pub last_delivered_at_ms: Option<i64>,
    pub delivered_messages: u64,
    pub failed_attempts: u64,
    pub notices_received: u64,
}

const BATCH: u32 = 500;
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// Exponential backoff between failed attempts: `first`, doubling up to [`MAX_BACKOFF`], back to `first` on
/// success.
struct Backoff {
    first: Duration,
    next: Duration,
}

impl Backoff {
    fn new(first: Duration) -> Self {
        Self { first, next: first }
    }

    /// The wait before the next attempt; doubles the one after.
    fn next(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(MAX_BACKOFF);
        d
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The provincial docking client.
pub struct DockingClient {
    link: NationalLink,
    http: reqwest::Client,
    wake: tokio::sync::Notify,
    health: Mutex<DockingHealth>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Why a question to the national platform went unanswered.
#[derive(Debug, thiserror::Error)]
pub enum DockingError {
    #[error("national platform unreachable: {0}")]
    Unreachable(String),
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("national platform unreachable: {0}")]
    Http(#[from] reqwest::Error),
    #[error("national platform answered {0}: {1}")]
    Status(u16, String),
    #[error("national platform expects sequence {0}")]
    Gap(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DockingClient {
    /// A client for `link`; fails on an unreadable CA certificate.
    pub fn new(link: NationalLink) -> Result<Arc<Self>, reqwest::Error> {
        let health = DockingHealth {
            national: link.url.clone(),
            ..Default::default()
        };
        let mut http = reqwest::Client::builder().connect_timeout(Duration::from_secs(3));
        if let Some(pem) = &link.ca_pem {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
        }
        Ok(Arc::new(Self {
            http: http.build()?,
            link,
            wake: tokio::sync::Notify::new(),
            health: Mutex::new(health),
        }))
    }

    /// How the notices of an incident this province reported fared at the national platform: delivered,
    /// acknowledged, and what each province located.
    pub async fn deliveries(
        &self,
        incident: Uuid,
    ) -> Result<Vec<coldtrace_national::Delivery>, DockingError> {
        let resp = self
            .http
            .get(format!(
                "{}/docking/v1/incidents/{incident}/deliveries",
                self.link.url
            ))
            .basic_auth(&self.link.client_id, Some(&self.link.secret))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| DockingError::Unreachable(e.to_string()))?;
        match resp.status().as_u16() {
            200 => resp
                .json()
                .await
                .map_err(|e| DockingError::Unreachable(e.to_string())),
            // Not (yet) delivered to the national platform: no notices have gone out.
            404 => Ok(vec![]),
            s => Err(DockingError::Unreachable(format!(
                "national platform answered {s}"
            ))),
        }
    }

    /// Sends this province's entry of the contacts registry to the national platform; answers it as the national
    /// platform now keeps it. Any other answer (unreachable, refused) is `Unreachable` with the national
    /// platform's status and body.
    pub async fn put_contacts(
        &self,
        draft: &coldtrace_domain::contacts::ProvinceContactsDraft,
    ) -> Result<coldtrace_domain::contacts::ContactsVersion, DockingError> {
        let resp = self
            .http
            .put(format!("{}/docking/v1/contacts", self.link.url))
            .basic_auth(&self.link.client_id, Some(&self.link.secret))
            .timeout(Duration::from_secs(10))
            .json(draft)
            .send()
            .await
            .map_err(|e| DockingError::Unreachable(e.to_string()))?;
        match resp.status().as_u16() {
            200 => resp
                .json()
                .await
                .map_err(|e| DockingError::Unreachable(e.to_string())),
            s => Err(DockingError::Unreachable(format!(
                "national platform answered {s}: {}",
                resp.text().await.unwrap_or_default()
            ))),
        }
    }

    /// Something was written: deliver now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn health(&self) -> DockingHealth {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn note<R>(&self, f: impl FnOnce(&mut DockingHealth) -> R) -> R {
        f(&mut self.health.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Starts delivery and notice pulling; they run until the process ends or the handles are aborted.
    pub fn spawn(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        tracer: Arc<Tracer>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let me = self.clone();
        let s = store.clone();
        let deliver = tokio::spawn(async move { me.deliver_loop(s).await });
        let me = self.clone();
        let pull = tokio::spawn(async move { me.pull_loop(store, tracer).await });
        vec![deliver, pull]
    }

    async fn deliver_loop(self: Arc<Self>, store: Arc<dyn Store>) {
        let mut backoff = Backoff::new(Duration::from_millis(100));
        loop {
            match self.deliver_once(store.as_ref()).await {
                Ok(0) => {
                    backoff.reset();
                    // Nothing pending: wait for a write, or poll (another process may write the store).
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
                }
                Ok(_) => backoff.reset(),
                Err(e) => {
                    let wait = backoff.next();
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "docking delivery failed");
                    self.note(|h| {
                        h.last_error = Some(e.to_string());
                        h.failed_attempts += 1;
                    });
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Sends one batch of pending messages; answers how many the national platform now has.
    async fn deliver_once(&self, store: &dyn Store) -> Result<usize, SendError> {
        let pending = store.outbox_pending(BATCH).await?;
        let Some(last) = pending.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let n = pending.len();
        let upload = Upload {
            version: VERSION.into(),
            province: self.link.province.clone(),
            messages: pending,
        };
        let resp = self
            .http
            .post(format!("{}/docking/v1/messages", self.link.url))
            .basic_auth(&self.link.client_id, Some(&self.link.secret))
            .timeout(Duration::from_secs(30))
            .json(&upload)
            .send()
            .await?;
        let status = resp.status();
        if status.as_u16() == 409 {
            let gap: SequenceGap = resp.json().await?;
            return Err(SendError::Gap(gap.expected_seq));
        }
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(SendError::Status(status.as_u16(), body));
        }
        let receipt: UploadReceipt = resp.json().await?;
        // The national platform has everything before `next_seq`; never mark past what was sent.
        let upto = (receipt.next_seq.saturating_sub(1)).min(last);
        store.outbox_delivered(upto).await?;
        self.note(|h| {
            h.last_error = None;
            h.last_delivered_at_ms = Some(now_ms());
            h.delivered_messages += n as u64;
        });
        Ok(n)
    }

    async fn pull_loop(self: Arc<Self>, store: Arc<dyn Store>, tracer: Arc<Tracer>) {
        if let Err(e) = answer_pending_requests(store.as_ref(), &tracer).await {
            tracing::warn!(error = %e, "answering pending requests for detail");
        }
        let mut backoff = Backoff::new(Duration::from_millis(200));
        loop {
            match self.pull_once(store.as_ref(), &tracer).await {
                Ok(()) => backoff.reset(),
                Err(e) => {
                    tracing::warn!(error = %e, "pulling notices failed");
                    self.note(|h| h.last_error = Some(e.to_string()));
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    }

    async fn pull_once(&self, store: &dyn Store, tracer: &Tracer) -> Result<(), SendError> {
        let after = store.notice_cursor().await?;
        let resp = self
            .http
            .get(format!(
                "{}/docking/v1/notices?after={after}&wait_ms=20000",
                self.link.url
            ))
            .basic_auth(&self.link.client_id, Some(&self.link.secret))
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        if !resp.status().is_success() {
            let s = resp.status().as_u16();
            return Err(SendError::Status(s, resp.text().await.unwrap_or_default()));
        }
        let notices: Vec<Notice> = resp.json().await?;
        for n in notices {
            match receive_notice(store, tracer, &self.link.province, n).await {
                Ok(true) => {
                    self.note(|h| h.notices_received += 1);
                    self.wake();
                }
                Ok(false) => {}
                Err(e) => {
                    return Err(SendError::Status(0, format!("storing a notice: {e}")));
                }
            }
        }
        Ok(())
    }
}

/// The batches a notice names, as this platform's ids (the province's own ids are UUIDs here).
fn local_batches(n: &Notice) -> Vec<Uuid> {
    n.lines
        .iter()
        .filter_map(|l| Uuid::parse_str(&l.batch).ok())
        .collect()
}

/// The principal a provincial platform acts as when it opens an incident from a national notice.
fn platform_principal(province: &str) -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::Regulator,
        enterprise: None,
        province: coldtrace_domain::ProvinceCode::parse(province).ok(),
        person: None,
    }
}

/// The local incident answering a notice has an id derived from the notice's.
pub fn incident_for_notice(notice: Uuid) -> Uuid {
    const NS: Uuid = Uuid::from_u128(0x6c64_7472_6163_655f_6e6f_7469_6365_0001);
    Uuid::new_v5(&NS, notice.as_bytes())
}

/// Stores a notice and opens the local incident that traces its batches here; `false` if already stored.
/// The incident is opened first and under an id derived from the notice, so a crash between the two steps
/// leaves nothing half-done: the notice is pulled again and the incident is found.
pub async fn receive_notice(
    store: &dyn Store,
    tracer: &Tracer,
    province: &str,
    n: Notice,
) -> Result<bool, IncidentError> {
    if n.purpose == Purpose::DetailRequest {
        let added = store.record_notice(n.clone(), None).await?;
        answer_request(store, tracer, &n).await?;
        return Ok(added);
    }
    let id = incident_for_notice(n.id);
    let mut incident = None;
    if store.incident(id).await?.is_some() {
        incident = Some(id);
    } else {
        tracer.catch_up(store).await?;
        let batches = local_batches(&n);
        let positive_at = EventTime::parse(&n.positive_at)
            .or_else(|_| EventTime::parse_local(&n.positive_at, 8))
            .unwrap_or_else(|_| EventTime::from_millis(n.created_at_ms, 8 * 3600));
        let req = OpenIncident {
            kind: IncidentKind::BatchSample,
            from: TraceFrom::Batches(batches),
            subject: format!(
                "national notice from province {}: {}",
                n.from_province, n.subject
            ),
            positive_at,
            note: Some(format!("notice {}", n.id)),
            mode: TimeMode::Strict,
            id: Some(id),
            notice: Some(n.id),
        };
        match incidents::open(store, tracer, &platform_principal(province), req).await {
            Ok(_) => incident = Some(id),
            // None of the batches is known here (yet): the notice is still stored and shown.
            Err(IncidentError::Trace(e)) => {
                tracing::warn!(notice = %n.id, error = %e, "notice names no batch known here")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(store.record_notice(n, incident).await?)
}

/// Answers a request for detail: the holders here with the named batches (or goods made from them) on hand,
/// as an acknowledgement from the platform itself. Answering twice changes nothing.
async fn answer_request(
    store: &dyn Store,
    tracer: &Tracer,
    n: &Notice,
) -> Result<(), IncidentError> {
    tracer.catch_up(store).await?;
    let batches = local_batches(n);
    let mut holders = Vec::new();
    if let Ok(start) = tracer.seeds(store, &TraceFrom::Batches(batches)).await {
        let a =
            tracer.answer_unmasked(start, coldtrace_trace::Direction::Forward, TimeMode::Strict);
        for h in &a.holders {
            for l in h.lots.iter().filter(|l| l.on_hand_milli > 0) {
                holders.push(HolderShort {
                    uscc: h.uscc.as_deref().map(str::to_string),
                    name: h.name.to_string(),
                    region: h
                        .city
                        .as_deref()
                        .or(h.province.as_deref())
                        .map(str::to_string),
                    batch_no: l.batch_no.to_string(),
                    product: l.product.to_string(),
                    on_hand_milli: l.on_hand_milli,
                    unit: l.unit.to_string(),
                });
            }
        }
    }
    store
        .ack_notice(NoticeAck {
            notice: n.id,
            by: "platform".into(),
            note: Some("request for detail answered".into()),
            holders,
        })
        .await?;
    Ok(())
}

/// Answers requests for detail stored but not answered (the platform stopped between the two steps).
pub async fn answer_pending_requests(
    store: &dyn Store,
    tracer: &Tracer,
) -> Result<(), IncidentError> {
    for r in store.received_notices().await? {
        if r.notice.purpose == Purpose::DetailRequest && r.acked_at_ms.is_none() {
            answer_request(store, tracer, &r.notice).await?;
        }
    }
    Ok(())
}

/// A provincial regulator acknowledges a notice; the acknowledgement carries the holders located here.
pub async fn acknowledge(
    store: &dyn Store,
    who: &Principal,
    notice: Uuid,
    note: Option<String>,
) -> Result<AckOutcome, IncidentError> {
    if who.role != Role::Regulator {
        return Err(IncidentError::Forbidden(
            "only a provincial regulator acknowledges notices".into(),
        ));
    }
    let mut holders = Vec::new();
    if let Some(row) = store.incident(incident_for_notice(notice)).await? {
        for t in &row.incident.tasks {
            let e = match t.enterprise {
                Some(e) => store.enterprise(e).await?,
                None => None,
            };
            holders.push(HolderShort {
                uscc: e.as_ref().map(|e| e.record.uscc.as_str().to_string()),
                name: t.holder_name.clone(),
                region: e.as_ref().map(|e| e.record.region.as_str().to_string()),
                batch_no: t.batch_no.clone(),
                product: t.product.clone(),
                on_hand_milli: t.on_hand_milli,
                unit: t.unit.clone(),
            });
        }
    }
    Ok(store
        .ack_notice(NoticeAck {
            notice,
            by: who.subject(),
            note,
            holders,
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100));
        let waits: Vec<u64> = (0..10).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]
        );
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(100));
        let mut b = Backoff::new(Duration::from_millis(200));
        let waits: Vec<u64> = (0..8).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400, 12800, 15000]);
    }
}
