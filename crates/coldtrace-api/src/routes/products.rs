//! Products.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use coldtrace_domain::{ProductDraft, SubmissionDraft};

use uuid::Uuid;

use crate::AppState;
use crate::authz::scope;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, PageOf, PageQuery, next_cursor};
use crate::routes::submissions::create_one;
use coldtrace_domain::Product;
use coldtrace_store::Stored;

#[utoipa::path(post, path = "/api/v1/products", tag = "records", request_body = ProductDraft,
    responses((status = 201, body = coldtrace_store::Receipt), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: ApiJson<ProductDraft>,
) -> Result<Response, ApiError> {
    let draft = SubmissionDraft {
        products: vec![body.value],
        ..Default::default()
    };
    create_one(&state, &p, &headers, draft, "products", &body.body_hash).await
}

#[utoipa::path(get, path = "/api/v1/products", tag = "records", params(PageQuery),
    responses((status = 200, body = PageOf<Stored<Product>>, description = "products the caller may see")), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<PageOf<Stored<Product>>>, ApiError> {
    let page = q.page()?;
    let rows = state.store.products(&scope(&p), page).await?;
    let next = next_cursor(&rows, page.limit, |r| r.seq);
    Ok(Json(PageOf { items: rows, next }))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "records",
    responses((status = 200, body = Stored<Product>, description = "the product"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Stored<Product>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("product"))?;
    if !state.store.product_visible(&scope(&p), id).await? {
        return Err(ApiError::NotFound("product"));
    }
    let r = state
        .store
        .product(id)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Ok(Json(r))
}
