//! Central authorization: "necessary, when needed, least" (必要性、需要时、最小限度).
//!
//! Every handler asks here before it reads or writes. An object the caller may not see is answered with 404,
//! never 403, so that ids cannot be probed; a route the caller's role may not use at all is 403.

use coldtrace_domain::{Enterprise, Movement, Principal, Role};
use coldtrace_store::{Scope, Stored};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// Refuses unless the caller has one of the roles (the use cases' own check).
pub fn require_role(p: &Principal, roles: &[Role], what: &str) -> Result<(), ApiError> {
    Ok(coldtrace_service::error::require_role(p, roles, what)?)
}

/// The tenant scope of a caller's reads.
pub fn scope(p: &Principal) -> Scope {
    Scope::of(p)
}

/// How much of an enterprise the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterpriseAccess {
    Full,
    /// A direct counterparty of the caller: name only.
    NameOnly,
}

pub async fn enterprise_access(
    state: &AppState,
    p: &Principal,
    e: &Stored<Enterprise>,
) -> Result<Option<EnterpriseAccess>, ApiError> {
    Ok(match p.role {
        Role::Enterprise => {
            let me = p.enterprise.ok_or(ApiError::Unauthorized)?;
            if me == e.record.id {
                Some(EnterpriseAccess::Full)
            } else if state.store.are_counterparties(me, e.record.id).await? {
                Some(EnterpriseAccess::NameOnly)
            } else {
                None
            }
        }
        Role::Regulator => (p.province.as_ref() == Some(&e.record.region.province()))
            .then_some(EnterpriseAccess::Full),
        Role::National => Some(EnterpriseAccess::Full),
        Role::Customs | Role::Admin => None,
    })
}

pub async fn batch_visible(state: &AppState, p: &Principal, batch: Uuid) -> Result<bool, ApiError> {
    Ok(state.store.batch_visible(&scope(p), batch).await?)
}

pub async fn movement_visible(
    state: &AppState,
    p: &Principal,
    m: &Stored<Movement>,
) -> Result<bool, ApiError> {
    Ok(match scope(p) {
        Scope::All => true,
        Scope::Nothing => false,
        Scope::Enterprise(e) => m.record.holder == e,
        Scope::Province(prov) => match state.store.enterprise(m.record.holder).await? {
            Some(h) => h.record.region.province() == prov,
            None => false,
        },
    })
}
