//! Health, metrics, counts, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use coldtrace_service::TierKind;

use crate::AppState;
use crate::authz::scope;
use crate::error::ApiError;
use crate::extract::Auth;
use coldtrace_domain::{Principal, ProvinceCode};
use coldtrace_store::Stats;

/// The platform is up, and which platform it is.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when answered.
    pub status: String,
    pub tier: TierKind,
    /// A provincial platform's province code.
    pub province: Option<ProvinceCode>,
}

#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health, description = "the platform is up")))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        tier: state.tier.kind(),
        province: state.tier.province().cloned(),
    })
}

#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, body = String, content_type = "text/plain", description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

#[utoipa::path(get, path = "/api/v1/stats", tag = "system",
    responses((status = 200, body = Stats, description = "record counts within the caller's scope")), security(("api_key" = [])))]
pub async fn stats(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.store.stats(&scope(&p)).await?))
}

#[utoipa::path(get, path = "/api/v1/whoami", tag = "system",
    responses((status = 200, body = Principal, description = "the caller's role and tenant")), security(("api_key" = [])))]
pub async fn whoami(Auth(p): Auth) -> Json<Principal> {
    Json(p)
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}
