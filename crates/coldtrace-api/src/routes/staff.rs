//! Staff and their tests: an enterprise's `POST /api/v1/staff` and `POST /api/v1/staff/tests`;
//! `GET /api/v1/staff` for the enterprise, its province's regulator and the national platform (identity numbers
//! masked).

use axum::Json;
use axum::extract::State;
use coldtrace_domain::staff::{StaffMemberDraft, StaffTestDraft};
use coldtrace_service::staff;
use coldtrace_store::StaffEntry;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth};

/// Staff members to add or update (by identity number).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRequest {
    pub staff: Vec<StaffMemberDraft>,
}

/// Tests of staff members.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffTestsRequest {
    pub tests: Vec<StaffTestDraft>,
}

/// How many were new.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Added {
    pub new: u64,
}

#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = StaffRequest,
    responses((status = 200, body = Added), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn put(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<StaffRequest>,
) -> Result<Json<Added>, ApiError> {
    Ok(Json(Added {
        new: staff::put_staff(state.store.as_ref(), &p, &body.value.staff).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/staff/tests", tag = "staff", request_body = StaffTestsRequest,
    responses((status = 200, body = staff::TestsOutcome, description = "stored; each positive test opened an incident that starts from what the person handled"),
              (status = 422, body = crate::error::ErrorBody, description = "every wrong field by its path, a person not on the staff included; nothing stored")),
    security(("api_key" = [])))]
pub async fn tests(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<StaffTestsRequest>,
) -> Result<Json<staff::TestsOutcome>, ApiError> {
    let out = state.staff_tests(&p, &body.value.tests).await?;
    if !out.incidents.is_empty() {
        state.after_write().await;
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/staff", tag = "staff",
    responses((status = 200, body = [StaffEntry])), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<Vec<StaffEntry>>, ApiError> {
    Ok(Json(staff::list(state.store.as_ref(), &p).await?))
}
