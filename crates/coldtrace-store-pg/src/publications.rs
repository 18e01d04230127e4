//! Publication approvals: which batches a regulator released to the public page.

use async_trait::async_trait;
use coldtrace_store::PublicationStore;
use uuid::Uuid;

use crate::{Error, PgStore, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

#[async_trait]
impl PublicationStore for PgStore {
    async fn publish(&self, batch: Uuid, by: String) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO published (batch_id, by_subject, at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (batch_id) DO NOTHING",
                &[&batch, &by, &now_ms()],
            )
            .await
            .map_err(Error::from)?;
        Ok(n == 1)
    }

    async fn withdraw(&self, batch: Uuid) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute("DELETE FROM published WHERE batch_id = $1", &[&batch])
            .await
            .map_err(Error::from)?;
        Ok(n == 1)
    }

    async fn is_published(&self, batch: Uuid) -> StoreResult<bool> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT 1 FROM published WHERE batch_id = $1", &[&batch])
                .await
                .map_err(Error::from)?
                .is_some(),
        )
    }
}
