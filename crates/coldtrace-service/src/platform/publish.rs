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
    /// The batch, if it is one of the regulator's province (its owner registered there): a province publishes
    /// and withdraws only its own enterprises' batches, not those its enterprises merely received.
    async fn own_batch(&self, p: &Principal, batch: Uuid) -> Result<(), ServiceError> {
        let owner = match self.store.batch(batch).await? {
            Some(b) => self.store.enterprise(b.record.owner).await?,
            None => None,
        };
        let ours = owner.is_some_and(|o| {
            Some(o.record.region.province().as_str()) == p.province.as_ref().map(|x| x.as_str())
        });
        if !ours
            || !self
                .store
                .batch_visible(&coldtrace_store::Scope::of(p), batch)
                .await?
        {
            return Err(ServiceError::NotFound("batch"));
        }
        Ok(())
    }

    /// A provincial regulator approves a batch of its province (its owner registered there) for the public
    /// lookup. Publishing again changes nothing.
    pub async fn publish(&self, p: &Principal, batch: Uuid) -> Result<Publication, ServiceError> {
        require_role(p, &[Role::Regulator], "publish batches")?;
        self.own_batch(p, batch).await?;
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
        self.own_batch(p, batch).await?;
        let new = self.store.withdraw(batch).await?;
        Ok(Publication {
            batch,
            published: false,
            new,
        })
    }
}
