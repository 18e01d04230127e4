//! Incidents: register a positive test, follow its tasks and notices, close it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use coldtrace_domain::EventTime;
use coldtrace_domain::incident::IncidentKind;
use coldtrace_service::incidents::{self as svc, IncidentView, TaskUpdate};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth};
use crate::views::Items;
use coldtrace_service::platform::trace::TimeRule;
use coldtrace_service::platform::{IncidentStart, OpenIncidentRequest};

/// A positive test.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    pub kind: IncidentKind,
    /// For a batch sample: any trace code of the batch (or `batch_id`).
    pub code: Option<String>,
    pub batch_id: Option<Uuid>,
    /// For an environment sample: the place (an enterprise id), with `from` and `to`. With a batch: the holder
    /// where the sample was taken.
    pub enterprise_id: Option<Uuid>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// For a person: identity number or phone.
    pub person: Option<String>,
    /// When the sample was taken or the result came (RFC 3339).
    pub positive_at: EventTime,
    pub note: Option<String>,
    /// How time counts (default `strict`).
    #[serde(default)]
    pub mode: TimeRule,
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = OpenRequest,
    responses((status = 201, body = IncidentView),
              (status = 200, body = IncidentView, description = "the same positive test (kind, what, when) is registered already and its incident open: that incident"),
              (status = 403, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn open(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<OpenRequest>,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let r = body.value;
    let start = match r.kind {
        IncidentKind::BatchSample => IncidentStart::BatchSample {
            code: r.code,
            batch: r.batch_id,
            holder: r.enterprise_id,
        },
        IncidentKind::Environment => IncidentStart::Environment {
            enterprise: r.enterprise_id,
            from: r.from,
            to: r.to,
        },
        IncidentKind::Person => IncidentStart::Person(r.person),
    };
    let (v, created) = state
        .open_incident(
            &p,
            OpenIncidentRequest {
                start,
                positive_at: r.positive_at,
                note: r.note,
                mode: r.mode,
            },
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(v)))
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents",
    responses((status = 200, body = Items<IncidentView>, description = "incidents the caller may see, newest first, without their traces and timelines")), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<Items<IncidentView>>, ApiError> {
    let rows = state.store.incidents().await?;
    let items: Vec<IncidentView> = rows
        .iter()
        .filter(|r| svc::may_see(&p, &r.incident))
        .map(|r| {
            let mut v = svc::for_viewer(&p, svc::view(r));
            v.trace = serde_json::Value::Null;
            v.timeline.clear();
            v
        })
        .collect();
    Ok(Json(Items { items }))
}

fn parse_id(s: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::NotFound(what))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    responses((status = 200, body = IncidentView), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let row = svc::load(state.store.as_ref(), &p, parse_id(&id, "incident")?).await?;
    Ok(Json(svc::for_viewer(&p, svc::view(&row))))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks/{task}", tag = "incidents", request_body = TaskUpdate,
    responses((status = 200, body = IncidentView), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn update_task(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, task)): Path<(String, String)>,
    body: ApiJson<TaskUpdate>,
) -> Result<Json<IncidentView>, ApiError> {
    let v = svc::update_task(
        state.store.as_ref(),
        &p,
        parse_id(&id, "incident")?,
        parse_id(&task, "task")?,
        body.value,
    )
    .await?;
    Ok(Json(v))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notices/{notice}/sent", tag = "incidents",
    responses((status = 200, body = IncidentView)), security(("api_key" = [])))]
pub async fn notice_sent(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((id, notice)): Path<(String, String)>,
) -> Result<Json<IncidentView>, ApiError> {
    let v = svc::mark_notice_sent(
        state.store.as_ref(),
        &p,
        parse_id(&id, "incident")?,
        parse_id(&notice, "notice")?,
    )
    .await?;
    Ok(Json(v))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub text: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", request_body = NoteRequest,
    responses((status = 200, body = IncidentView)), security(("api_key" = [])))]
pub async fn note(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: ApiJson<NoteRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let v = svc::add_note(
        state.store.as_ref(),
        &p,
        parse_id(&id, "incident")?,
        body.value.text,
    )
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// Required when some quantity is still unaccounted for.
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/close", tag = "incidents", request_body = CloseRequest,
    responses((status = 200, body = IncidentView), (status = 422, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn close(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: ApiJson<CloseRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let v = svc::close(
        state.store.as_ref(),
        &p,
        parse_id(&id, "incident")?,
        body.value.reason,
    )
    .await?;
    Ok(Json(v))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/deliveries", tag = "incidents",
    responses((status = 200, body = [coldtrace_national::Delivery], description = "each notice's delivery and acknowledgement at the national platform (empty when the platform does not dock)"),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<coldtrace_national::Delivery>>, ApiError> {
    let v = svc::deliveries(
        state.store.as_ref(),
        state.docking.as_deref(),
        &p,
        parse_id(&id, "incident")?,
    )
    .await?;
    Ok(Json(v))
}
