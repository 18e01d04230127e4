//! Findings of the ledger checks (核查问题) for the people who follow them: an enterprise sees its own, a
//! regulator its province's, the national platform all. The enterprise answers one with the record that puts it
//! right; a regulator of the finding's province resolves or dismisses it with a reason. The store's writer opens
//! findings and resolves those that later records settle.

use coldtrace_domain::{Principal, Role};
use coldtrace_store::{
    Closing, Finding, FindingAnswer, FindingFilter, FindingStatus, Scope, Store,
};
use uuid::Uuid;

use coldtrace_domain::FieldError;

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
        &[
            Role::Enterprise,
            Role::Regulator,
            Role::National,
            Role::Customs,
        ],
        "read findings",
    )?;
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be between 1 and 1000"));
    }
    let (scope, filter) = match (p.role, &p.province) {
        // Customs reads the cross-check's findings about the declarations it sent, whoever's ledger they are in.
        (Role::Customs, Some(prov)) => (
            Scope::All,
            FindingFilter {
                customs_of: Some(prov.as_str().to_string()),
                ..filter
            },
        ),
        _ => (Scope::of(p), filter),
    };
    let rows = store.findings(scope, filter, before, limit).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.0))
        .flatten();
    Ok(FindingPage {
        items: rows.into_iter().map(|r| r.1).collect(),
        next,
    })
}

async fn visible(store: &dyn Store, p: &Principal, f: &Finding) -> Result<bool, ServiceError> {
    Ok(match p.role {
        Role::Enterprise => p.enterprise.is_some() && p.enterprise == f.enterprise,
        Role::Regulator => p.province.as_ref().map(|x| x.as_str()) == f.province.as_deref(),
        Role::National => true,
        Role::Customs => match (&f.declaration, &p.province) {
            (Some(no), Some(prov)) => store
                .declaration(no.clone())
                .await?
                .is_some_and(|d| d.province == prov.as_str()),
            _ => false,
        },
        Role::Admin => false,
    })
}

/// One finding, if the caller may see it (another tenant's and none at all get the same answer).
pub async fn get(store: &dyn Store, p: &Principal, id: Uuid) -> Result<Finding, ServiceError> {
    match store.finding(id).await? {
        Some(f) if visible(store, p, &f).await? => Ok(f),
        _ => Err(ServiceError::NotFound("finding")),
    }
}

fn who(p: &Principal) -> String {
    match &p.person {
        Some(person) => format!("{}/person:{person}", p.subject()),
        None => p.subject(),
    }
}

fn text(field: &str, v: &str) -> Result<String, ServiceError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 500 {
        return Err(ServiceError::invalid(
            field,
            "is required, at most 500 characters",
        ));
    }
    Ok(v.to_string())
}

/// A regulator of the finding's province closes it, with a reason (at most 500 characters): resolved (put right,
/// often after the enterprise's answer) or dismissed (not a problem).
pub async fn close(
    store: &dyn Store,
    p: &Principal,
    id: Uuid,
    closing: Closing,
    reason: &str,
) -> Result<Finding, ServiceError> {
    let what = match closing {
        Closing::Resolve => "resolve findings",
        Closing::Dismiss => "dismiss findings",
    };
    require_role(p, &[Role::Regulator], what)?;
    let reason = text("reason", reason)?;
    get(store, p, id).await?;
    store
        .close_finding(id, closing, who(p), reason)
        .await?
        .ok_or(ServiceError::NotFound("finding"))
}

/// The enterprise whose ledger a finding is about answers it: what it did (`note`, at most 500 characters) and
/// the id of its own record that shows it (`record`: a movement, such as a correction or the missing receipt,
/// or a document, such as the missing papers). The finding is then `answered` until a regulator resolves it, or
/// the records themselves settle it. A closed finding cannot be answered (409).
pub async fn answer(
    store: &dyn Store,
    p: &Principal,
    id: Uuid,
    note: &str,
    record: Uuid,
) -> Result<Finding, ServiceError> {
    require_role(p, &[Role::Enterprise], "answer findings")?;
    let note = text("note", note)?;
    let f = get(store, p, id).await?;
    if !matches!(f.status, FindingStatus::Open | FindingStatus::Answered) {
        return Err(ServiceError::Conflict(vec![FieldError::new(
            "status",
            format!("the finding is {} already", f.status.as_str()),
        )]));
    }
    let own = match store.movement(record).await? {
        Some(m) => Some(m.record.holder) == f.enterprise,
        None => match store.document(record).await? {
            Some(d) => Some(d.record.owner) == f.enterprise,
            // A corrected batch answers a difference from the customs declaration.
            None => match store.batch(record).await? {
                Some(b) => Some(b.record.owner) == f.enterprise,
                None => false,
            },
        },
    };
    if !own {
        return Err(ServiceError::invalid(
            "record",
            "must be the id of a movement, document or batch your enterprise recorded",
        ));
    }
    let a = FindingAnswer {
        note,
        record,
        by: who(p),
        at_ms: jiff::Timestamp::now().as_millisecond(),
    };
    store
        .answer_finding(id, a)
        .await?
        .ok_or(ServiceError::NotFound("finding"))
}
