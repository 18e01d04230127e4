//! Documents: the certificates of a batch.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use coldtrace_domain::{BatchRef, DocumentDraft, SubmissionDraft};

use uuid::Uuid;

use crate::AppState;
use crate::authz::batch_visible;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth};
use crate::routes::submissions::create_one;
use crate::views::Items;
use coldtrace_domain::Document;
use coldtrace_store::Stored;

#[utoipa::path(post, path = "/api/v1/documents", tag = "records", request_body = DocumentDraft,
    responses((status = 201, body = coldtrace_store::Receipt), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: ApiJson<DocumentDraft>,
) -> Result<Response, ApiError> {
    let draft = SubmissionDraft {
        documents: vec![body.value],
        ..Default::default()
    };
    create_one(&state, &p, &headers, draft, "documents", &body.body_hash).await
}

#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "records",
    responses((status = 200, body = Stored<Document>, description = "the document"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Stored<Document>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("document"))?;
    let d = state
        .store
        .document(id)
        .await?
        .ok_or(ApiError::NotFound("document"))?;
    let BatchRef::Id(batch) = d.record.batch else {
        return Err(ApiError::NotFound("document"));
    };
    if !batch_visible(&state, &p, batch).await? {
        return Err(ApiError::NotFound("document"));
    }
    Ok(Json(d))
}

#[utoipa::path(get, path = "/api/v1/batches/{id}/documents", tag = "records",
    responses((status = 200, body = Items<Stored<Document>>, description = "the batch's documents"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn of_batch(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Items<Stored<Document>>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("batch"))?;
    if !batch_visible(&state, &p, id).await? {
        return Err(ApiError::NotFound("batch"));
    }
    let docs = state.store.documents_of(id).await?;
    Ok(Json(Items { items: docs }))
}
