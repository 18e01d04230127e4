//! Docking: the provincial outbox and received notices, the national inbox, links and notices out.

use async_trait::async_trait;
use rusqlite::TransactionBehavior;
use uuid::Uuid;

use super::*;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn codes_of(
        &self,
        batch: Uuid,
    ) -> StoreResult<Vec<coldtrace_domain::docking::NativeCode>> {
        self.read(move |c| crate::docking::codes_of(c, batch)).await
    }

    async fn outbox_pending(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<coldtrace_domain::docking::Envelope>> {
        self.read(move |c| crate::docking::outbox_pending(c, limit))
            .await
    }

    async fn outbox_delivered(&self, upto: u64) -> StoreResult<()> {
        self.write(move |c| crate::docking::outbox_delivered(c, upto))
            .await
    }

    async fn outbox_status(&self) -> StoreResult<crate::OutboxStatus> {
        self.read(crate::docking::outbox_status).await
    }

    async fn record_notice(
        &self,
        notice: coldtrace_domain::docking::Notice,
        incident: Option<Uuid>,
    ) -> StoreResult<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let added = crate::docking::record_notice(&tx, &notice, incident, now_ms())?;
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    async fn notice_cursor(&self) -> StoreResult<u64> {
        self.read(crate::docking::notice_cursor).await
    }

    async fn received_notices(&self) -> StoreResult<Vec<crate::NoticeInRow>> {
        self.read(crate::docking::received_notices).await
    }

    async fn ack_notice(
        &self,
        ack: coldtrace_domain::docking::NoticeAck,
    ) -> StoreResult<crate::AckOutcome> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = crate::docking::ack_notice(&tx, &ack, now_ms())?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl InboxStore for SqliteStore {
    /// One process writes a SQLite store: nothing else changes it, so this only waits.
    async fn inbox_changed(&self, within: std::time::Duration) -> StoreResult<()> {
        tokio::time::sleep(within).await;
        Ok(())
    }

    async fn store_id(&self) -> StoreResult<Uuid> {
        Ok(self.feed_anchor(0).await?.store_id)
    }

    async fn accept_upload(
        &self,
        province: String,
        messages: Vec<coldtrace_domain::docking::Envelope>,
        assign_seq: bool,
    ) -> StoreResult<crate::AcceptOutcome> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out =
                crate::docking::accept_upload(&tx, &province, &messages, assign_seq, now_ms())?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn inbox(&self, after: u64, limit: u32) -> StoreResult<Vec<crate::InboxRow>> {
        self.read(move |c| crate::docking::inbox(c, after, limit))
            .await
    }

    async fn decide_link(&self, d: crate::LinkDecision) -> StoreResult<()> {
        self.write(move |c| crate::docking::decide_link(c, &d))
            .await
    }

    async fn link_decisions(&self) -> StoreResult<Vec<crate::LinkDecision>> {
        self.read(crate::docking::link_decisions).await
    }

    async fn put_notices(
        &self,
        notices: Vec<coldtrace_domain::docking::Notice>,
        seen_through: Option<u64>,
    ) -> StoreResult<Option<Vec<coldtrace_domain::docking::Notice>>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(seen) = seen_through {
                let last: i64 =
                    tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM notices_out", [], |r| {
                        r.get(0)
                    })?;
                if last as u64 > seen {
                    return Ok(None);
                }
            }
            let out = crate::docking::put_notices(&tx, &notices, now_ms())?;
            tx.commit()?;
            Ok(Some(out))
        })
        .await
    }

    async fn notices_out(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<coldtrace_domain::docking::Notice>> {
        self.read(move |c| crate::docking::notices_out(c, province.as_deref(), after, limit))
            .await
    }
}
