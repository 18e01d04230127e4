//! The audit trail for regulators: their province's entries, in order, with the chain's hashes.

use axum::Json;
use axum::extract::State;
use coldtrace_domain::Role;
use coldtrace_store::audit::AuditEntry;

use crate::AppState;
use crate::authz::require_role;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth};

/// `?after=<seq>&limit=<n>`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next` value of the previous page; omit for the first page.
    pub after: Option<u64>,
    /// Entries per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// A page of the audit trail.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// The cursor of the next page, when there may be one.
    pub next: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "system", params(AuditQuery),
    responses((status = 200, body = AuditPage, description = "the caller's province's trail (a regulator) or the whole trail (an administrator)"),
              (status = 403, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    require_role(&p, &[Role::Regulator, Role::Admin], "read the audit trail")?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let province = match p.role {
        Role::Regulator => Some(
            p.province
                .as_ref()
                .ok_or(ApiError::Forbidden(
                    "a regulator key without its province".into(),
                ))?
                .as_str()
                .to_string(),
        ),
        _ => None,
    };
    // What was recorded before this request is in the store before it is read.
    state.audit.flush().await;
    let items = state
        .store
        .audit_entries(province, q.after.unwrap_or(0), limit)
        .await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage { items, next }))
}
