//! Extractors: JSON bodies whose every rejection uses [`ApiError`], the authenticated caller, pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use coldtrace_domain::Principal;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// A JSON body. Syntax errors are 400; a wrong type or unknown field is 422 naming the field path.
pub struct ApiJson<T> {
    pub value: T,
    /// SHA-256 (hex) of the raw body, for idempotency checks.
    pub body_hash: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        let body_hash = hex::encode(Sha256::digest(&bytes));
        let value = parse_json(&bytes)?;
        Ok(ApiJson { value, body_hash })
    }
}

/// A raw body within the route's limit; a body over it is 413 in the platform's error shape.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(
                        "the request body is larger than this route accepts".into(),
                    )
                } else {
                    ApiError::BadRequest(e.body_text(), None)
                }
            })
    }
}

/// Parses JSON with the path of the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::MalformedJson(inner.to_string())
        } else {
            let field = if path == "." { String::new() } else { path };
            // serde's message carries "at line 1 column N"; the field path is more useful.
            let msg = inner.to_string();
            let reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            ApiError::invalid(field, reason)
        }
    })
}

/// Who a request was authenticated as, filled by the authenticating extractor and read by the audit layer
/// after the response (see `crate::audit`).
#[derive(Clone, Default)]
pub struct AuditSlot(pub std::sync::Arc<std::sync::Mutex<Option<AuditActor>>>);

/// The caller as the audit trail names it.
#[derive(Debug, Clone)]
pub struct AuditActor {
    pub actor: String,
    pub role: Option<String>,
    pub province: Option<String>,
}

impl AuditSlot {
    pub fn set(parts: &Parts, actor: AuditActor) {
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(actor);
        }
    }
    pub fn take(&self) -> Option<AuditActor> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The authenticated caller. Every non-public route takes this extractor, so none can forget it.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let hash = coldtrace_service::credentials::hash_key(key);
        match state.store.credential_by_hash(&hash).await? {
            Some(c) if c.usable(jiff::Timestamp::now().as_millisecond()) => {
                let p = c.principal();
                AuditSlot::set(
                    parts,
                    AuditActor {
                        // A session names the person: `regulator:12/person:wang.wei#<credential>`.
                        actor: match &p.person {
                            Some(who) => format!("{}/person:{who}#{}", p.subject(), p.credential),
                            None => format!("{}#{}", p.subject(), p.credential),
                        },
                        role: Some(p.role.as_str().to_string()),
                        province: p.province.as_ref().map(|x| x.as_str().to_string()),
                    },
                );
                Ok(Auth(p))
            }
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// `?after=<cursor>&limit=<n>`: cursor pagination over a record's sequence number.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` value of the previous page; omit for the first page.
    pub after: Option<i64>,
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> Result<coldtrace_store::Page, ApiError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
        }
        Ok(coldtrace_store::Page {
            after: self.after.unwrap_or(0).max(0),
            limit,
        })
    }
}

/// Reads the query string with the same error format as bodies.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                // "Failed to deserialize query string: limit: invalid digit" -> field `limit`.
                let msg = e.body_text();
                let msg = msg
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_string();
                let (field, reason) = match msg.split_once(':') {
                    Some((f, r)) if !f.trim().contains(' ') => {
                        (f.trim().to_string(), r.trim().to_string())
                    }
                    _ => ("query".to_string(), msg.clone()),
                };
                ApiError::invalid(field, reason)
            })
    }
}

/// A page of items and the cursor of the next page (absent on the last page).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// The cursor of the next page: the last item's sequence when the page is full.
pub fn next_cursor<T>(rows: &[T], limit: u32, seq: impl Fn(&T) -> i64) -> Option<i64> {
    if rows.len() as u32 == limit {
        rows.last().map(seq)
    } else {
        None
    }
}
