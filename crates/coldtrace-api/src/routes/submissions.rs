//! `POST /api/v1/submissions`: many records at once, all or nothing, idempotent by key.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coldtrace_domain::{Principal, SubmissionDraft};
use coldtrace_service::platform::SubmitCommand;
use coldtrace_store::{Receipt, SubmitOutcome};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth};

/// Reads the optional `Idempotency-Key` header.
pub fn idempotency_key(h: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = h.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| {
            ApiError::BadRequest(
                "must be printable ASCII".into(),
                Some("Idempotency-Key".into()),
            )
        })?
        .trim();
    if s.is_empty() || s.len() > 200 {
        return Err(ApiError::BadRequest(
            "must be 1 to 200 characters".into(),
            Some("Idempotency-Key".into()),
        ));
    }
    Ok(Some(s.to_string()))
}

/// Validates and stores a submission for the caller (the platform's submit use case).
pub async fn submit_draft(
    state: &AppState,
    p: &Principal,
    draft: &SubmissionDraft,
    idempotency_key: Option<String>,
    request_hash: String,
) -> Result<SubmitOutcome, ApiError> {
    Ok(state
        .submit(
            p,
            SubmitCommand {
                draft,
                idempotency_key,
                request_hash,
            },
        )
        .await?)
}

/// Stores one record through the submission path. The record is `draft`'s only entry in `list`; its field paths
/// are reported without the `list[0].` prefix of the submission that wraps it.
pub async fn create_one(
    state: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    draft: SubmissionDraft,
    list: &str,
    body_hash: &str,
) -> Result<Response, ApiError> {
    let key = idempotency_key(headers)?;
    let out = submit_draft(state, p, &draft, key, format!("{list}:{body_hash}"))
        .await
        .map_err(|e| strip_index(e, &format!("{list}[0]")))?;
    Ok(receipt_response(&out))
}

fn strip_index(e: ApiError, prefix: &str) -> ApiError {
    let fix = |v: Vec<coldtrace_domain::FieldError>| {
        v.into_iter()
            .map(|mut f| {
                if let Some(rest) = f.field.strip_prefix(prefix) {
                    f.field = rest.trim_start_matches('.').to_string();
                }
                f
            })
            .collect()
    };
    match e {
        ApiError::Invalid(v) => ApiError::Invalid(fix(v)),
        ApiError::Conflict(v) => ApiError::Conflict(fix(v)),
        other => other,
    }
}

/// The answer to a write: 201 and the receipt; a replay says so in a header and nothing else differs.
pub fn receipt_response(out: &SubmitOutcome) -> Response {
    let mut r = (StatusCode::CREATED, Json(&out.receipt)).into_response();
    if out.replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

#[utoipa::path(post, path = "/api/v1/submissions", tag = "records",
    request_body = SubmissionDraft,
    params(("Idempotency-Key" = Option<String>, Header, description = "the same key again returns the first answer and stores nothing new")),
    responses(
        (status = 201, body = Receipt, description = "stored, or the first answer replayed"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody, description = "conflicts with stored records, or key reused"),
        (status = 422, body = crate::error::ErrorBody, description = "a field is invalid; nothing was stored")),
    security(("api_key" = [])))]
pub async fn submit(
    state: axum::extract::State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: ApiJson<SubmissionDraft>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let out = submit_draft(&state, &p, &body.value, key, body.body_hash).await?;
    Ok(receipt_response(&out))
}
