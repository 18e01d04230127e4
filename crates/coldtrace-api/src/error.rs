//! One error type for every failure, with a stable JSON body: `code`, `message`, `field` where it applies, and
//! `errors` listing every field problem.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coldtrace_domain::{FieldError, ValidationErrors};
use coldtrace_store::StoreError;

/// The JSON body of every error response.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`, `unauthorized`, `not_found`.
    pub code: String,
    pub message: String,
    /// The first offending field's path, when the error is about a field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every offending field with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub reason: String,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required: send `Authorization: Bearer <api key>`")]
    Unauthorized,
    #[error("wrong login or password")]
    SignInRefused,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String, Option<String>),
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("the request conflicts with stored records")]
    Conflict(Vec<FieldError>),
    #[error("idempotency key {0:?} was already used for a different request")]
    KeyReused(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("the store is refusing writes: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, reason)])
    }
}

/// Errors from below the use cases take the same way to a status code as the use cases' own.
macro_rules! through_service_error {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                coldtrace_service::ServiceError::from(e).into()
            }
        }
    )*};
}

through_service_error!(
    ValidationErrors,
    StoreError,
    coldtrace_service::incidents::IncidentError
);

impl From<coldtrace_service::ServiceError> for ApiError {
    fn from(e: coldtrace_service::ServiceError) -> Self {
        use coldtrace_service::ServiceError as S;
        match e {
            S::Forbidden(m) => ApiError::Forbidden(m),
            S::SignInRefused => ApiError::SignInRefused,
            S::NotFound(w) => ApiError::NotFound(w),
            S::Invalid(v) => ApiError::Invalid(v),
            S::Conflict(v) => ApiError::Conflict(v),
            S::KeyReused(k) => ApiError::KeyReused(k),
            S::Unavailable(w) => ApiError::Unavailable(w),
            S::TooLarge(m) => ApiError::PayloadTooLarge(m),
            S::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::SignInRefused => (StatusCode::UNAUTHORIZED, "sign_in_refused"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::BadRequest(..) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::KeyReused(_) => (StatusCode::CONFLICT, "idempotency_key_reused"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if let ApiError::Internal(e) = &self {
            // The cause chain goes to the log, never to the client.
            let mut chain = e.to_string();
            let mut src = e.source();
            while let Some(s) = src {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                src = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let errors: Vec<FieldErrorBody> = match &self {
            ApiError::Invalid(v) | ApiError::Conflict(v) => v
                .iter()
                .map(|f| FieldErrorBody {
                    field: f.field.clone(),
                    reason: f.reason.clone(),
                })
                .collect(),
            _ => vec![],
        };
        let field = match &self {
            ApiError::BadRequest(_, f) => f.clone(),
            _ => errors.first().map(|e| e.field.clone()),
        };
        let message = match &self {
            ApiError::Invalid(v) | ApiError::Conflict(v) if !v.is_empty() => {
                let first = &v[0];
                let more = if v.len() > 1 {
                    format!(" (and {} more)", v.len() - 1)
                } else {
                    String::new()
                };
                format!("{}: {}{more}", first.field, first.reason)
            }
            other => other.to_string(),
        };
        (
            status,
            Json(ErrorBody {
                code: code.into(),
                message,
                field,
                errors,
            }),
        )
            .into_response()
    }
}
