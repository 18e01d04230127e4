//! Publication (公开发布审核): nothing reaches the public lookup without a provincial regulator's approval.

use coldtrace_domain::{Principal, Role};
use uuid::Uuid;

use super::Platform;
use crate::error::{ServiceError, require_role};

/// The answer to a publication.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Publication {
    pub batch: Uuid,
    /// Always true after the call: the batch is published.
    pub published: bool,
    /// False when it was already published (nothing changed).
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
}
