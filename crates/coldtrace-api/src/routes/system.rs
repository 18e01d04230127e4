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

/// A code and its name, for the console's labels.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

/// The names the console shows instead of codes (参考数据), from the platform's own tables.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Reference {
    /// GB/T 2260 provinces (two digits).
    pub provinces: Vec<Named>,
    /// GB/T 2260 prefecture-level cities (six digits, `410100` 郑州市; a municipality's as the municipality).
    pub cities: Vec<Named>,
    pub enterprise_kinds: Vec<Named>,
    pub document_kinds: Vec<Named>,
    pub movement_kinds: Vec<Named>,
    pub disposal_actions: Vec<Named>,
    /// The ledger checks, by rule name, with their codes in `name`'s front (`CT-STOCK 库存守恒 …`).
    pub rules: Vec<Named>,
}

fn named<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    name: impl Fn(T) -> String,
) -> Vec<Named> {
    all.iter()
        .map(|t| Named {
            code: code(*t).to_string(),
            name: name(*t),
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/reference", tag = "system",
    responses((status = 200, body = Reference, description = "names of provinces, kinds, measures and rules")), security(("api_key" = [])))]
pub async fn reference(Auth(_caller): Auth) -> Json<Reference> {
    use coldtrace_domain::checks::{RULES, Rule};
    use coldtrace_domain::incident::DisposalAction;
    use coldtrace_domain::{DocumentKind, EnterpriseKind, MovementKind};
    Json(Reference {
        provinces: coldtrace_domain::id::PROVINCE_CODES
            .iter()
            .map(|(c, n)| Named {
                code: c.to_string(),
                name: n.to_string(),
            })
            .collect(),
        cities: coldtrace_domain::id::PROVINCE_CODES
            .iter()
            .filter_map(|(c, _)| coldtrace_domain::id::ProvinceCode::parse(c).ok())
            .flat_map(|p| coldtrace_domain::region::cities(&p))
            .map(|(code, name)| Named {
                code,
                name: name.to_string(),
            })
            .collect(),
        enterprise_kinds: named(&EnterpriseKind::ALL, EnterpriseKind::as_str, |k| {
            k.label_zh().to_string()
        }),
        document_kinds: named(&DocumentKind::ALL, DocumentKind::as_str, |k| {
            k.label_zh().to_string()
        }),
        movement_kinds: named(&MovementKind::ALL, MovementKind::as_str, |k| {
            k.label_zh().to_string()
        }),
        disposal_actions: named(&DisposalAction::ALL, DisposalAction::as_str, |k| {
            k.label_zh().to_string()
        }),
        rules: named(&RULES, Rule::as_str, |r| {
            format!("{} {}", r.code(), r.title())
        }),
    })
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}
