//! Publication (公开发布审核): nothing reaches the public lookup without a provincial regulator's approval.

use coldtrace_domain::{Principal, Role};
use uuid::Uuid;

use super::Platform;
use crate::error::{ServiceError, require_role};

/// The answer to a publication.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Publication {
    pub batch: Uuid,
    /// Whether the batch is published after the call.
    pub published: bool,
    /// False when nothing changed (published or withdrawn already).
    pub new: bool,
}

impl Platform {
    /// A provincial regulator approves a batch of its province for the public lookup. Publishing again changes
    /// nothing.
    pub async fn publish(&self, p: &Principal, batch: Uuid) -> Result<Publication, ServiceError> {
        require_role(p, &[Role::Regulator], "publish batches")?;
        if !self
            .store
            .batch_visible(&coldtrace_store::Scope::of(p), batch)
            .await?
        {
            return Err(ServiceError::NotFound("batch"));
        }
        let new = self.store.publish(batch, p.subject()).await?;
        Ok(Publication {
            batch,
            published: true,
            new,
        })
    }

    /// A provincial regulator withdraws a batch of its province from the public lookup (撤回发布): its public
    /// page then says it is not published. Withdrawing again changes nothing.
    pub async fn withdraw(&self, p: &Principal, batch: Uuid) -> Result<Publication, ServiceError> {
        require_role(p, &[Role::Regulator], "withdraw publications")?;
        if !self
            .store
            .batch_visible(&coldtrace_store::Scope::of(p), batch)
            .await?
        {
            return Err(ServiceError::NotFound("batch"));
        }
        let new = self.store.withdraw(batch).await?;
        Ok(Publication {
            batch,
            published: false,
            new,
        })
    }
}
