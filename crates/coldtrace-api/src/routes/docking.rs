//! Docking: the national platform's interface for provinces (`/docking/v1`, HTTP Basic client credentials), the
//! commander's national views (`/api/v1/national`), and at a provincial platform the notices it received and
//! the state of its delivery (`/api/v1/notices`, `/api/v1/docking`).

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::TypedHeader;
use axum_extra::headers::Authorization;
use axum_extra::headers::authorization::Basic;
use coldtrace_domain::docking::{Notice, Upload, UploadReceipt};
use coldtrace_domain::{Principal, Role};
use coldtrace_national::registry::{IncidentRec, NationalTrace};
use coldtrace_national::{Delivery, Link};
use coldtrace_service::docking::{self as docking_svc, DockingHealth};
use coldtrace_service::national::{National, NationalError};
use coldtrace_store::{AckOutcome, NoticeInRow, OutboxStatus, StoreError};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

/// A province's docking client, authenticated by HTTP Basic (`client_id:secret`).
pub struct DockingAuth {
    pub province: String,
}

impl FromRequestParts<AppState> for DockingAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let deny = || {
            let mut r = ApiError::Unauthorized.into_response();
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"coldtrace docking\""),
            );
            r
        };
        let TypedHeader(Authorization(creds)) =
            TypedHeader::<Authorization<Basic>>::from_request_parts(parts, state)
                .await
                .map_err(|_| deny())?;
        let (id, secret) = (creds.username(), creds.password());
        match state.store.docking_client(id.to_string()).await {
            Ok(Some((province, hash)))
                if hash == coldtrace_service::credentials::hash_key(secret) =>
            {
                crate::extract::AuditSlot::set(
                    parts,
                    crate::extract::AuditActor {
                        actor: format!("docking:{id}"),
                        role: Some("docking_client".into()),
                        province: Some(province.clone()),
                    },
                );
                Ok(DockingAuth { province })
            }
            Ok(_) => Err(deny()),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

fn national(state: &AppState) -> Result<&National, ApiError> {
    state.national.as_deref().ok_or(ApiError::NotFound(
        "national platform (this is a provincial platform)",
    ))
}

/// A docking route's failure: the API's own, or the national service's (a sequence gap has its own body).
pub enum Failure {
    Api(ApiError),
    National(NationalError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

impl From<NationalError> for Failure {
    fn from(e: NationalError) -> Self {
        Failure::National(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Api(e) => e.into_response(),
            Failure::National(e) => national_error(e),
        }
    }
}

/// The `409` of an upload that skipped a sequence number: the error body and what the national platform expects.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct GapBody {
    #[serde(flatten)]
    pub error: ErrorBody,
    #[serde(flatten)]
    pub gap: coldtrace_domain::docking::SequenceGap,
}

fn national_error(e: NationalError) -> Response {
    match e {
        NationalError::Invalid { field, reason } => {
            ApiError::invalid(field, reason).into_response()
        }
        NationalError::Forbidden(m) => ApiError::Forbidden(m).into_response(),
        NationalError::NotFound(what) => (
            StatusCode::NOT_FOUND,
            Json(ErrorBody {
                code: "not_found".into(),
                message: format!("{what} not found"),
                field: None,
                errors: vec![],
            }),
        )
            .into_response(),
        NationalError::Store(StoreError::SequenceGap { expected, got }) => (
            StatusCode::CONFLICT,
            Json(GapBody {
                error: ErrorBody {
                    code: "sequence_gap".into(),
                    message: format!(
                        "expected sequence {expected}, got {got}; resend from {expected}"
                    ),
                    field: Some("messages[0].seq".into()),
                    errors: vec![],
                },
                gap: coldtrace_domain::docking::SequenceGap {
                    expected_seq: expected,
                    got_seq: got,
                },
            }),
        )
            .into_response(),
        NationalError::Store(s) => ApiError::from(s).into_response(),
    }
}

#[utoipa::path(post, path = "/docking/v1/messages", tag = "docking", request_body = Upload,
    responses((status = 200, body = UploadReceipt), (status = 401, body = crate::error::ErrorBody),
              (status = 409, body = coldtrace_domain::docking::SequenceGap),
              (status = 422, body = crate::error::ErrorBody)),
    security(("docking_client" = [])))]
/// A province delivers messages in its sequence order; each message id takes effect once.
pub async fn upload(
    State(state): State<AppState>,
    client: DockingAuth,
    ApiJson { value: upload, .. }: ApiJson<Upload>,
) -> Result<Json<UploadReceipt>, Failure> {
    let n = upload.messages.len();
    let r = national(&state)?
        .accept(state.store.as_ref(), &client.province, upload)
        .await?;
    metrics::counter!("coldtrace_docking_messages_total", "province" => client.province)
        .increment(n as u64);
    Ok(Json(r))
}

/// Records of a province that runs another system, in its own field names.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignRecords {
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<serde_json::Value>,
}

#[utoipa::path(post, path = "/docking/v1/foreign/records", tag = "docking", request_body = ForeignRecords,
    responses((status = 200, body = UploadReceipt), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("docking_client" = [])))]
/// A province running another system sends its records as they are; the national platform maps them with the
/// province's adapter (all or nothing) and applies each record once, identified by its content.
pub async fn foreign(
    State(state): State<AppState>,
    client: DockingAuth,
    ApiJson { value: body, .. }: ApiJson<ForeignRecords>,
) -> Result<Json<UploadReceipt>, Failure> {
    let r = national(&state)?
        .accept_foreign(state.store.as_ref(), &client.province, &body.records)
        .await?;
    Ok(Json(r))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    /// The last delivery sequence the province has stored (0 for none).
    pub after: Option<u64>,
    /// How long to wait for a notice when there is none yet (milliseconds, at most 30000).
    pub wait_ms: Option<u64>,
}

#[utoipa::path(get, path = "/docking/v1/notices", tag = "docking", params(NoticeQuery),
    responses((status = 200, body = [Notice]), (status = 401, body = crate::error::ErrorBody)),
    security(("docking_client" = [])))]
/// A province's notices after its cursor; waits (long poll) until one exists or `wait_ms` passes.
pub async fn notices(
    State(state): State<AppState>,
    client: DockingAuth,
    ApiQuery(q): ApiQuery<NoticeQuery>,
) -> Result<Json<Vec<Notice>>, Failure> {
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0).min(30_000));
    let n = national(&state)?
        .notices(
            state.store.as_ref(),
            &client.province,
            q.after.unwrap_or(0),
            wait,
        )
        .await?;
    Ok(Json(n))
}

/// `GET /docking/v1/incidents/{id}/deliveries`: the province that reported an incident asks how its notices
/// fared: delivered, acknowledged, and the holders each province located. Another province's incident is not
/// found.
#[utoipa::path(get, path = "/docking/v1/incidents/{id}/deliveries", tag = "docking",
    responses((status = 200, body = [Delivery]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("docking_basic" = [])))]
pub async fn incident_deliveries(
    State(state): State<AppState>,
    client: DockingAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<Delivery>>, Failure> {
    let nat = national(&state)?;
    nat.read(|r| {
        r.incident(id)
            .filter(|i| i.province == client.province)
            .map(|_| r.deliveries(Some(id)))
    })
    .map(Json)
    .ok_or_else(|| ApiError::NotFound("incident").into())
}

fn commander(p: &Principal) -> Result<(), ApiError> {
    if p.role == Role::National {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the national views are for the national command platform's accounts".into(),
        ))
    }
}

/// What the national platform holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Enterprises the provinces reported, by kind.
    pub enterprises_by_kind: std::collections::BTreeMap<String, u64>,
    /// Batches reported, by province.
    pub batches_by_province: std::collections::BTreeMap<String, u64>,
    pub incidents: usize,
    /// Notices not yet acknowledged, with their province.
    pub unacknowledged: Vec<Delivery>,
}

#[utoipa::path(get, path = "/api/v1/national/overview", tag = "national",
    responses((status = 200, body = Overview)), security(("api_key" = [])))]
pub async fn overview(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<Overview>, ApiError> {
    commander(&p)?;
    let nat = national(&state)?;
    Ok(Json(nat.read(|r| {
        Overview {
            counts: r.counts(),
            enterprises_by_kind: r.enterprise_kinds(),
            batches_by_province: r.batches_by_province(),
            incidents: r.incidents().len(),
            unacknowledged: r
                .deliveries(None)
                .into_iter()
                .filter(|d| d.acked_at_ms.is_none())
                .collect(),
        }
    })))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// `proposed` for those awaiting a decision; all when omitted.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/national/links", tag = "national", params(LinkQuery),
    responses((status = 200, body = [Link])), security(("api_key" = [])))]
/// The links between provinces' records, with their evidence and confidence.
pub async fn links(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<LinkQuery>,
) -> Result<Json<Vec<Link>>, ApiError> {
    commander(&p)?;
    let only = match q.status.as_deref() {
        None => false,
        Some("proposed") => true,
        Some(o) => {
            return Err(ApiError::invalid(
                "status",
                format!("{o:?} is not proposed"),
            ));
        }
    };
    Ok(Json(national(&state)?.read(|r| r.links(only))))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `confirm` or `reject`.
    pub decision: String,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/national/links/{id}/decision", tag = "national",
    request_body = DecisionRequest, responses((status = 200, body = Link),
    (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// A commander confirms or rejects a link; later traces follow the decision.
pub async fn decide(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    ApiJson { value: d, .. }: ApiJson<DecisionRequest>,
) -> Result<Json<Option<Link>>, Failure> {
    commander(&p)?;
    let nat = national(&state)?;
    let confirmed = match d.decision.as_str() {
        "confirm" => true,
        "reject" => false,
        o => {
            return Err(
                ApiError::invalid("decision", format!("{o:?} is not confirm or reject")).into(),
            );
        }
    };
    nat.decide(state.store.as_ref(), &id, confirmed, &p.subject(), d.note)
        .await?;
    Ok(Json(nat.read(|r| r.link_by_id(&id).cloned())))
}

/// An incident as the national platform sees it: the cross-province trace and every notice's delivery.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NationalIncident {
    pub incident: IncidentRec,
    pub trace: NationalTrace,
    pub deliveries: Vec<Delivery>,
    /// Provinces that have not acknowledged their notice.
    pub not_acknowledged: Vec<String>,
}

fn national_incident(nat: &National, id: Uuid) -> Option<NationalIncident> {
    nat.read(|r| {
        let inc = r.incident(id)?.clone();
        let trace = r.trace(&inc.province, &inc.report.batches);
        let deliveries = r.deliveries(Some(id));
        let not_acknowledged = deliveries
            .iter()
            .filter(|d| d.acked_at_ms.is_none())
            .map(|d| d.province.clone())
            .collect();
        Some(NationalIncident {
            incident: inc,
            trace,
            deliveries,
            not_acknowledged,
        })
    })
}

#[utoipa::path(get, path = "/api/v1/national/incidents", tag = "national",
    responses((status = 200, body = [NationalIncident])), security(("api_key" = [])))]
pub async fn incidents(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<Vec<NationalIncident>>, ApiError> {
    commander(&p)?;
    let nat = national(&state)?;
    let ids: Vec<Uuid> = nat.read(|r| r.incidents().iter().map(|i| i.report.incident).collect());
    Ok(Json(
        ids.into_iter()
            .rev()
            .filter_map(|i| national_incident(nat, i))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/national/incidents/{id}", tag = "national",
    responses((status = 200, body = NationalIncident), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn incident(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
) -> Result<Json<NationalIncident>, ApiError> {
    commander(&p)?;
    national_incident(national(&state)?, id)
        .map(Json)
        .ok_or(ApiError::NotFound("incident"))
}

/// A commander's request for detail.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailRequest {
    /// The province asked.
    pub province: String,
    /// The province's ids of the batches.
    pub batches: Vec<String>,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/national/requests", tag = "national", request_body = DetailRequest,
    responses((status = 201, body = Notice), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// Asks a province where batches are now; the answer arrives as the request's acknowledgement, with the holders
/// (see `GET /api/v1/national/requests/{id}`).
pub async fn request_detail(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson { value: r, .. }: ApiJson<DetailRequest>,
) -> Result<(StatusCode, Json<Notice>), Failure> {
    commander(&p)?;
    let province = coldtrace_domain::ProvinceCode::parse(&r.province)
        .map_err(|e| ApiError::invalid("province", e.to_string()))?;
    let n = national(&state)?
        .request_detail(state.store.as_ref(), province.as_str(), r.batches, r.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(n)))
}

#[utoipa::path(get, path = "/api/v1/national/requests/{id}", tag = "national",
    responses((status = 200, body = Delivery), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// A request for detail and, once the province answered, the holders it located.
pub async fn request_status(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
) -> Result<Json<Delivery>, ApiError> {
    commander(&p)?;
    national(&state)?
        .read(|r| r.deliveries(Some(id)).into_iter().find(|d| d.notice == id))
        .map(Json)
        .ok_or(ApiError::NotFound("request"))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NationalTraceQuery {
    /// The province whose batch it is: `12` or `120000`.
    pub province: String,
    /// The province's id for the batch.
    pub batch: String,
}

#[utoipa::path(get, path = "/api/v1/national/trace", tag = "national", params(NationalTraceQuery),
    responses((status = 200, body = NationalTrace)), security(("api_key" = [])))]
/// Traces a province's batch across every province.
pub async fn trace(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<NationalTraceQuery>,
) -> Result<Json<NationalTrace>, ApiError> {
    commander(&p)?;
    // `12` and `120000` name the same province; an unknown one is refused rather than answered empty.
    let province = coldtrace_domain::ProvinceCode::parse(&q.province)
        .map_err(|e| ApiError::invalid("province", e.to_string()))?;
    Ok(Json(
        national(&state)?.read(|r| r.trace(province.as_str(), &[q.batch])),
    ))
}

// Provincial platform side.

/// Where this provincial platform's docking stands.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DockingStatus {
    pub outbox: OutboxStatus,
    /// Messages written but not yet acknowledged by the national platform.
    pub pending: u64,
    pub link: Option<DockingHealth>,
}

#[utoipa::path(get, path = "/api/v1/docking", tag = "docking",
    responses((status = 200, body = DockingStatus)), security(("api_key" = [])))]
pub async fn status(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<DockingStatus>, ApiError> {
    if !matches!(p.role, Role::Regulator | Role::National) {
        return Err(ApiError::Forbidden(
            "docking status is for regulators".into(),
        ));
    }
    let outbox = state.store.outbox_status().await?;
    Ok(Json(DockingStatus {
        pending: outbox.last_seq - outbox.delivered_seq.min(outbox.last_seq),
        outbox,
        link: state.docking.as_ref().map(|d| d.health()),
    }))
}

#[utoipa::path(get, path = "/api/v1/notices", tag = "docking",
    responses((status = 200, body = [NoticeInRow])), security(("api_key" = [])))]
/// Notices this province received from the national platform, newest first.
pub async fn received(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<Vec<NoticeInRow>>, ApiError> {
    if p.role != Role::Regulator {
        return Err(ApiError::Forbidden(
            "notices are for the province's regulators".into(),
        ));
    }
    Ok(Json(state.store.received_notices().await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/notices/{id}/ack", tag = "docking", request_body = AckRequest,
    responses((status = 200, body = [NoticeInRow]), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// A regulator acknowledges a notice; the acknowledgement, with the holders located here, goes to the
/// national platform through the outbox. Acknowledging twice changes nothing.
pub async fn ack(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
    ApiJson { value: body, .. }: ApiJson<AckRequest>,
) -> Result<Json<NoticeInRow>, ApiError> {
    let note = body.note;
    match docking_svc::acknowledge(state.store.as_ref(), &p, id, note).await {
        Ok(AckOutcome::NotFound) => return Err(ApiError::NotFound("notice")),
        Ok(_) => {}
        Err(e) => return Err(ApiError::from(e)),
    }
    state.queued();
    state
        .store
        .received_notices()
        .await?
        .into_iter()
        .find(|n| n.notice.id == id)
        .map(Json)
        .ok_or(ApiError::NotFound("notice"))
}

/// `PUT /docking/v1/contacts`: a province keeps its own entry of the contacts registry at the national platform
/// (the province is the docking client's). The same content again changes nothing; other content is a new
/// version, and every version is kept.
#[utoipa::path(put, path = "/docking/v1/contacts", tag = "docking",
    request_body = coldtrace_domain::contacts::ProvinceContactsDraft,
    responses((status = 200, body = coldtrace_domain::contacts::ContactsVersion),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("docking_client" = [])))]
pub async fn put_contacts(
    State(state): State<AppState>,
    client: DockingAuth,
    ApiJson { value: draft, .. }: ApiJson<coldtrace_domain::contacts::ProvinceContactsDraft>,
) -> Result<Json<coldtrace_domain::contacts::ContactsVersion>, ApiError> {
    national(&state)?;
    let contacts = draft.parse().map_err(ApiError::from)?;
    let v = state
        .store
        .put_contacts(
            client.province.clone(),
            contacts,
            format!("docking:{}", client.province),
            jiff::Timestamp::now().as_millisecond(),
        )
        .await?;
    Ok(Json(v))
}

/// Which entries of the contacts registry.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactsQuery {
    /// Every version of this province's entry, oldest first (the latest of every province without it).
    pub province: Option<String>,
}

/// `GET /api/v1/national/contacts`: the commander's registry of every province's office and duty contacts.
#[utoipa::path(get, path = "/api/v1/national/contacts", tag = "national", params(ContactsQuery),
    responses((status = 200, body = [coldtrace_domain::contacts::ContactsVersion])), security(("api_key" = [])))]
pub async fn contacts(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> Result<Json<Vec<coldtrace_domain::contacts::ContactsVersion>>, ApiError> {
    commander(&p)?;
    national(&state)?;
    Ok(Json(match q.province {
        Some(prov) => {
            let prov = coldtrace_domain::ProvinceCode::parse(&prov)
                .map_err(|e| ApiError::invalid("province", e.to_string()))?;
            state
                .store
                .contacts_history(prov.as_str().to_string())
                .await?
        }
        None => state.store.contacts().await?,
    }))
}

/// `PUT /api/v1/contacts`: a provincial regulator sends its province's entry of the contacts registry to the
/// national platform, through this platform's docking link; answers the entry as the national platform keeps it.
#[utoipa::path(put, path = "/api/v1/contacts", tag = "docking",
    request_body = coldtrace_domain::contacts::ProvinceContactsDraft,
    responses((status = 200, body = coldtrace_domain::contacts::ContactsVersion),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody, description = "no docking link, or the national platform unreachable")),
    security(("api_key" = [])))]
pub async fn send_contacts(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson { value: draft, .. }: ApiJson<coldtrace_domain::contacts::ProvinceContactsDraft>,
) -> Result<Json<coldtrace_domain::contacts::ContactsVersion>, ApiError> {
    if p.role != coldtrace_domain::Role::Regulator || p.province.as_ref() != state.tier.province() {
        return Err(ApiError::Forbidden(
            "only this province's regulator keeps its contacts".into(),
        ));
    }
    // Checked here first, so that a wrong field is named without a round trip.
    draft.parse().map_err(ApiError::from)?;
    let d = state.docking.as_ref().ok_or_else(|| {
        ApiError::Unavailable("this platform has no docking link to a national platform".into())
    })?;
    Ok(Json(
        d.put_contacts(&draft)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?,
    ))
}
