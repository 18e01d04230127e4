//! Attachments: scanned certificates, stored by content hash.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coldtrace_domain::Role;

use crate::AppState;
use crate::authz::require_role;
use crate::error::ApiError;
use crate::extract::{Auth, RawBody};
use crate::views::AttachmentRef;

/// The largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

#[utoipa::path(post, path = "/api/v1/attachments", tag = "records",
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "the scanned document (PDF, JPEG or PNG)"),
    responses((status = 201, body = AttachmentRef, description = "stored; documents cite it by its SHA-256"), (status = 415, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<AttachmentRef>), ApiError> {
    require_role(
        &p,
        &[Role::Enterprise, Role::Regulator],
        "upload attachments",
    )?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !matches!(ct.as_str(), "application/pdf" | "image/jpeg" | "image/png") {
        return Err(ApiError::UnsupportedMediaType(
            "attachments are application/pdf, image/jpeg or image/png".into(),
        ));
    }
    if body.is_empty() {
        return Err(ApiError::invalid("body", "is empty"));
    }
    if body.len() > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "an attachment is at most {MAX_ATTACHMENT_BYTES} bytes"
        )));
    }
    let sha = state
        .store
        .put_attachment(body.to_vec(), ct, p.enterprise)
        .await?;
    Ok((StatusCode::CREATED, Json(AttachmentRef { sha256: sha })))
}

#[utoipa::path(get, path = "/api/v1/attachments/{sha256}", tag = "records",
    responses((status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "the bytes, with the media type they were uploaded with"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn download(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    if !state
        .store
        .attachment_visible(&crate::authz::scope(&p), &sha)
        .await?
    {
        return Err(ApiError::NotFound("attachment"));
    }
    let (bytes, ct) = state
        .store
        .attachment(&sha)
        .await?
        .ok_or(ApiError::NotFound("attachment"))?;
    Ok(([(header::CONTENT_TYPE, ct)], bytes).into_response())
}
