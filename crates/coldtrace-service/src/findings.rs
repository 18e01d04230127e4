//! Findings of the ledger checks (核查问题) for the people who follow them: an enterprise sees its own, a
//! regulator its province's, the national platform all; a regulator of the finding's province dismisses one with
//! a reason. Findings are opened and resolved by the store's writer as records come in.

use coldtrace_domain::{Principal, Role};
use coldtrace_store::{Finding, FindingFilter, Scope, Store};
use uuid::Uuid;

use crate::error::{ServiceError, require_role};

/// A page of findings, newest first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FindingPage {
    pub items: Vec<Finding>,
    /// Pass as `before` for the next page; absent on the last.
    pub next: Option<i64>,
}

/// The findings the caller may see, matching the filter.
pub async fn list(
    store: &dyn Store,
    p: &Principal,
    filter: FindingFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<FindingPage, ServiceError> {
    require_role(
        p,
        &[Role::Enterprise, Role::Regulator, Role::National],
        "read findings",
    )?;
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be between 1 and 1000"));
    }
    let rows = store.findings(Scope::of(p), filter, before, limit).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.0))
        .flatten();
    Ok(FindingPage {
        items: rows.into_iter().map(|r| r.1).collect(),
        next,
    })
}

fn visible(p: &Principal, f: &Finding) -> bool {
    match p.role {
        Role::Enterprise => p.enterprise == Some(f.enterprise),
        Role::Regulator => p.province.as_ref().map(|x| x.as_str()) == f.province.as_deref(),
        Role::National => true,
        _ => false,
    }
}

/// One finding, if the caller may see it (another tenant's and none at all get the same answer).
pub async fn get(store: &dyn Store, p: &Principal, id: Uuid) -> Result<Finding, ServiceError> {
    match store.finding(id).await? {
        Some(f) if visible(p, &f) => Ok(f),
        _ => Err(ServiceError::NotFound("finding")),
    }
}

/// A regulator of the finding's province dismisses it, with a reason (at most 500 characters).
pub async fn dismiss(
    store: &dyn Store,
    p: &Principal,
    id: Uuid,
    reason: &str,
) -> Result<Finding, ServiceError> {
    require_role(p, &[Role::Regulator], "dismiss findings")?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "reason",
            "is required, at most 500 characters",
        ));
    }
    get(store, p, id).await?;
    let by = match &p.person {
        Some(person) => format!("{}/person:{person}", p.subject()),
        None => p.subject(),
    };
    store
        .dismiss_finding(id, by, reason.to_string())
        .await?
        .ok_or(ServiceError::NotFound("finding"))
}
