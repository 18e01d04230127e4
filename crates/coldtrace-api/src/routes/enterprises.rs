//! Enterprises: registered by regulators (the census), read by whoever may see them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use coldtrace_domain::{EnterpriseDraft, SubmissionDraft};

use uuid::Uuid;

use crate::AppState;
use crate::authz::{EnterpriseAccess, enterprise_access, scope};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, PageOf, PageQuery, next_cursor};
use crate::routes::submissions::create_one;
use crate::views;
use crate::views::EnterpriseView;

#[utoipa::path(post, path = "/api/v1/enterprises", tag = "enterprises", request_body = EnterpriseDraft,
    responses((status = 201, body = coldtrace_store::Receipt), (status = 403, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: ApiJson<EnterpriseDraft>,
) -> Result<Response, ApiError> {
    crate::authz::require_role(
        &p,
        &[coldtrace_domain::Role::Regulator],
        "register enterprises",
    )?;
    let draft = SubmissionDraft {
        enterprises: vec![body.value],
        ..Default::default()
    };
    create_one(&state, &p, &headers, draft, "enterprises", &body.body_hash).await
}

#[utoipa::path(get, path = "/api/v1/enterprises", tag = "enterprises", params(PageQuery),
    responses((status = 200, body = PageOf<EnterpriseView>, description = "enterprises the caller may see")), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<PageOf<EnterpriseView>>, ApiError> {
    let page = q.page()?;
    let rows = state.store.enterprises(&scope(&p), page).await?;
    let next = next_cursor(&rows, page.limit, |r| r.seq);
    let items = rows
        .iter()
        .map(|e| views::enterprise(e, EnterpriseAccess::Full, &p))
        .collect();
    Ok(Json(PageOf { items, next }))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}", tag = "enterprises",
    responses((status = 200, body = EnterpriseView, description = "the enterprise; a counterparty sees only its name"),
              (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<EnterpriseView>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("enterprise"))?;
    let e = state
        .store
        .enterprise(id)
        .await?
        .ok_or(ApiError::NotFound("enterprise"))?;
    let access = enterprise_access(&state, &p, &e)
        .await?
        .ok_or(ApiError::NotFound("enterprise"))?;
    Ok(Json(views::enterprise(&e, access, &p)))
}
