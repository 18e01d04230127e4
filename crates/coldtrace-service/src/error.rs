//! The one error type of the use cases ([`crate::Platform`]): every way a request can fail, without HTTP. The
//! API maps each variant to a status code; the command line prints it.

use coldtrace_domain::{FieldError, ValidationErrors};
use coldtrace_store::StoreError;

use crate::incidents::IncidentError;
use crate::tracer::TraceError;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller's role may not do this at all (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// A sign-in with a wrong login or password, or a disabled account (HTTP 401); which one is not said.
    #[error("wrong login or password")]
    SignInRefused,
    /// The object does not exist or the caller may not see it (HTTP 404, so that ids cannot be probed).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field is invalid; nothing was written (HTTP 422).
    #[error("{}", fields(.0))]
    Invalid(Vec<FieldError>),
    /// The request conflicts with stored records (HTTP 409).
    #[error("conflict: {}", fields(.0))]
    Conflict(Vec<FieldError>),
    /// The idempotency key was used before with a different request (HTTP 409).
    #[error("idempotency key {0:?} was used for a different request")]
    KeyReused(String),
    /// The request is larger than the platform accepts (HTTP 413); the message names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The store refuses writes after a failed commit, or the national platform does not answer (HTTP 503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged with its cause chain, answered with a plain message.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// `field: reason; field: reason`, for logs and the command line.
fn fields(v: &[FieldError]) -> String {
    v.iter()
        .map(|f| format!("{}: {}", f.field, f.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldError::new(field, reason)])
    }

    /// Any error that is not the caller's fault.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ServiceError::Internal(Box::new(e))
    }
}

impl From<ValidationErrors> for ServiceError {
    fn from(e: ValidationErrors) -> Self {
        ServiceError::Invalid(e.0)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => ServiceError::Invalid(v.0),
            StoreError::Conflict(v) => ServiceError::Conflict(v.0),
            StoreError::KeyReused(k) => ServiceError::KeyReused(k),
            StoreError::Unavailable(w) => {
                ServiceError::Unavailable(format!("the store is refusing writes: {w}"))
            }
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

impl From<TraceError> for ServiceError {
    fn from(e: TraceError) -> Self {
        match e {
            TraceError::NotFound(_) => ServiceError::NotFound("trace start"),
            TraceError::Invalid(m) => ServiceError::invalid("to", m),
            TraceError::Store(s) => s.into(),
        }
    }
}

impl From<IncidentError> for ServiceError {
    fn from(e: IncidentError) -> Self {
        match e {
            IncidentError::NotFound(w) => ServiceError::NotFound(w),
            IncidentError::Forbidden(m) => ServiceError::Forbidden(m),
            IncidentError::Invalid { field, reason } => ServiceError::invalid(field, reason),
            IncidentError::Conflict(m) => ServiceError::Conflict(vec![FieldError::new("", m)]),
            IncidentError::Store(s) => s.into(),
            IncidentError::Trace(t) => t.into(),
            IncidentError::Unavailable(m) => ServiceError::Unavailable(m),
        }
    }
}

/// Refuses unless the caller has one of the roles.
pub fn require_role(
    p: &coldtrace_domain::Principal,
    roles: &[coldtrace_domain::Role],
    what: &str,
) -> Result<(), ServiceError> {
    if roles.contains(&p.role) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "the {} role may not {what}",
            p.role.as_str()
        )))
    }
}
