//! Findings of the ledger checks: `GET /api/v1/findings` (filters by rule, status, enterprise, batch),
//! `GET /api/v1/findings/{id}`, and a regulator's `POST /api/v1/findings/{id}/dismiss` with a reason.

use axum::Json;
use axum::extract::{Path, State};
use coldtrace_domain::checks::Rule;
use coldtrace_service::findings::{self, FindingPage};
use coldtrace_store::{Finding, FindingFilter, FindingStatus};
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
    /// `open`, `resolved`, `dismissed`.
    pub status: Option<String>,
    pub enterprise: Option<Uuid>,
    pub batch: Option<Uuid>,
    /// The `next` of the previous page.
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// Why a regulator dismisses a finding.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    pub reason: String,
}

#[utoipa::path(get, path = "/api/v1/findings", tag = "checks", params(FindingQuery),
    responses((status = 200, body = FindingPage, description = "an enterprise's own findings, a regulator's province's, or all (national)"),
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
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("finding"))?;
    Ok(Json(
        findings::dismiss(state.store.as_ref(), &p, id, &body.value.reason).await?,
    ))
}
