//! Findings of the ledger checks: `GET /api/v1/findings` (filters by rule, status, enterprise, batch, city,
//! enterprise kind), `GET /api/v1/findings/{id}`, the enterprise's `POST /api/v1/findings/{id}/answer` with the
//! record that puts it right, and a regulator's `POST /api/v1/findings/{id}/resolve` or `…/dismiss` with a
//! reason.

use axum::Json;
use axum::extract::{Path, State};
use coldtrace_domain::EnterpriseKind;
use coldtrace_domain::checks::Rule;
use coldtrace_service::findings::{self, FindingPage};
use coldtrace_store::{Closing, Finding, FindingFilter, FindingStatus};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth};

/// Which findings: each filter optional; pages of `limit` (1 to 1000, default 100), newest first.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// `stock_conservation`, `time_order`, `future_time` (or the code, `CT-STOCK`).
    pub rule: Option<String>,
    /// `open` (not yet answered), `answered`, `resolved`, `dismissed`.
    pub status: Option<String>,
    pub enterprise: Option<Uuid>,
    pub batch: Option<Uuid>,
    /// The enterprise's city: a region code's first four digits (`4101`), or the six-digit code of the city
    /// (`410100`).
    pub city: Option<String>,
    /// The enterprise's kind (`importer`, `first_station_cold_store`, `processor`, `supermarket`, `restaurant`, …)
    /// or its Chinese label.
    pub kind: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// Why a regulator resolves or dismisses a finding.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    pub reason: String,
}

/// The enterprise's answer to a finding (整改说明).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// What was done (at most 500 characters).
    pub note: String,
    /// The id of the enterprise's own record that shows it: a movement (a correction, the missing receipt) or
    /// a document (the missing papers).
    pub record: Uuid,
}

/// `4101` or `410100` → `4101`.
fn city(v: &str) -> Result<String, ApiError> {
    let ok = v.bytes().all(|b| b.is_ascii_digit())
        && (v.len() == 4 || (v.len() == 6 && v.ends_with("00") && !v.ends_with("0000")));
    if !ok {
        return Err(ApiError::invalid(
            "city",
            "must be a city code: four digits (4101) or six ending in 00 (410100)",
        ));
    }
    Ok(v[..4].to_string())
}

#[utoipa::path(get, path = "/api/v1/findings", tag = "checks", params(FindingQuery),
    responses((status = 200, body = FindingPage, description = "an enterprise's own findings, a regulator's province's, all (national), or those about the declarations a customs key sent"),
              (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> Result<Json<FindingPage>, ApiError> {
    let filter = FindingFilter {
        rule: q
            .rule
            .as_deref()
            .map(Rule::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("rule", e))?,
        status: q
            .status
            .as_deref()
            .map(FindingStatus::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("status", e))?,
        enterprise: q.enterprise,
        batch: q.batch,
        city: q.city.as_deref().map(city).transpose()?,
        kind: q
            .kind
            .as_deref()
            .map(|k| {
                EnterpriseKind::parse(k)
                    .map(|k| k.as_str().to_string())
                    .map_err(|e| ApiError::invalid("kind", e))
            })
            .transpose()?,
        customs_of: None,
    };
    Ok(Json(
        findings::list(
            state.store.as_ref(),
            &p,
            filter,
            q.before,
            q.limit.unwrap_or(100),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "checks",
    responses((status = 200, body = Finding), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Finding>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("finding"))?;
    Ok(Json(findings::get(state.store.as_ref(), &p, id).await?))
}

#[utoipa::path(post, path = "/api/v1/findings/{id}/dismiss", tag = "checks", request_body = DismissRequest,
    responses((status = 200, body = Finding, description = "dismissed with the reason; a closed finding stays as it was"),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn dismiss(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: ApiJson<DismissRequest>,
) -> Result<Json<Finding>, ApiError> {
    close(state, p, id, Closing::Dismiss, &body.value.reason).await
}

#[utoipa::path(post, path = "/api/v1/findings/{id}/resolve", tag = "checks", request_body = DismissRequest,
    responses((status = 200, body = Finding, description = "resolved by a regulator with the reason; a closed finding stays as it was"),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: ApiJson<DismissRequest>,
) -> Result<Json<Finding>, ApiError> {
    close(state, p, id, Closing::Resolve, &body.value.reason).await
}

async fn close(
    state: AppState,
    p: coldtrace_domain::Principal,
    id: String,
    closing: Closing,
    reason: &str,
) -> Result<Json<Finding>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("finding"))?;
    Ok(Json(
        findings::close(state.store.as_ref(), &p, id, closing, reason).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/findings/{id}/answer", tag = "checks", request_body = AnswerRequest,
    responses((status = 200, body = Finding, description = "answered: the regulator resolves it, or the records settle it"),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: ApiJson<AnswerRequest>,
) -> Result<Json<Finding>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("finding"))?;
    let AnswerRequest { note, record } = body.value;
    Ok(Json(
        findings::answer(state.store.as_ref(), &p, id, &note, record).await?,
    ))
}
