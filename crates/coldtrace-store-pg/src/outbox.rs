//! Docking, province side, on PostgreSQL: the outbox of messages to the national platform (written in the
//! transaction of what they report, under the submission lock so that outbox order is commit order), the
//! delivery cursor, and the notices received from the national platform with their acknowledgements.

use async_trait::async_trait;
use coldtrace_domain::docking::{Envelope, Message, NativeCode, Notice, NoticeAck};
use coldtrace_store::{AckOutcome, NoticeInRow, OutboxStatus, OutboxStore};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::{Error, PgStore, Result, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

fn unreadable(e: serde_json::Error) -> Error {
    Error::Unreadable(format!("stored docking message: {e}"))
}

/// Writes a message to the outbox (the caller holds the submission lock).
pub(crate) async fn push(c: &impl GenericClient, now: i64, body: Message) -> Result<()> {
    let text = serde_json::to_string(&body).map_err(unreadable)?;
    c.execute(
        "INSERT INTO outbox (id, kind, body, at_ms) VALUES ($1, $2, $3, $4)",
        &[&Uuid::now_v7(), &body.kind(), &text, &now],
    )
    .await?;
    Ok(())
}

async fn state(c: &impl GenericClient, key: &str) -> Result<u64> {
    Ok(
        c.query_opt("SELECT value FROM docking_state WHERE key = $1", &[&key])
            .await?
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0) as u64,
    )
}

/// Moves a cursor forward (never back).
async fn set_state(c: &impl GenericClient, key: &str, v: u64) -> Result<()> {
    c.execute(
        "INSERT INTO docking_state AS s (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = GREATEST(s.value, EXCLUDED.value)",
        &[&key, &(v as i64)],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn codes_of(&self, batch: Uuid) -> StoreResult<Vec<NativeCode>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT scheme, value FROM trace_codes WHERE batch_id = $1 ORDER BY key COLLATE \"C\"",
            &[&batch],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| NativeCode {
            scheme: r.get(0),
            value: r.get(1),
        })
        .collect())
    }

    async fn outbox_pending(&self, limit: u32) -> StoreResult<Vec<Envelope>> {
        let c = self.client().await?;
        let after = state(&**c, "delivered").await?;
        c.query(
            "SELECT seq, id, body, at_ms FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&(after as i64), &i64::from(limit)],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| {
            Ok(Envelope {
                seq: r.get::<_, i64>(0) as u64,
                id: r.get(1),
                body: serde_json::from_str(r.get(2)).map_err(unreadable)?,
                recorded_at_ms: r.get(3),
            })
        })
        .collect()
    }

    async fn outbox_delivered(&self, upto: u64) -> StoreResult<()> {
        let c = self.client().await?;
        Ok(set_state(&**c, "delivered", upto).await?)
    }

    async fn outbox_status(&self) -> StoreResult<OutboxStatus> {
        let c = self.client().await?;
        let delivered = state(&**c, "delivered").await?;
        let r = c
            .query_one(
                "SELECT (SELECT MAX(seq) FROM outbox), (SELECT MIN(at_ms) FROM outbox WHERE seq > $1)",
                &[&(delivered as i64)],
            )
            .await
            .map_err(Error::from)?;
        Ok(OutboxStatus {
            last_seq: r.get::<_, Option<i64>>(0).unwrap_or(0) as u64,
            delivered_seq: delivered,
            oldest_pending_ms: r.get(1),
        })
    }

    async fn record_notice(&self, notice: Notice, incident: Option<Uuid>) -> StoreResult<bool> {
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        let now = now_ms();
        let body = serde_json::to_string(&notice).map_err(unreadable)?;
        let added = tx
            .execute(
                "INSERT INTO notices_in (id, seq, body, incident, received_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                &[&notice.id, &(notice.seq as i64), &body, &incident, &now],
            )
            .await
            .map_err(Error::from)?;
        if added == 0 {
            return Ok(false);
        }
        set_state(&*tx, "notice_cursor", notice.seq).await?;
        push(&*tx, now, Message::NoticeReceived { notice: notice.id }).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(true)
    }

    async fn notice_cursor(&self) -> StoreResult<u64> {
        let c = self.client().await?;
        Ok(state(&**c, "notice_cursor").await?)
    }

    async fn received_notices(&self) -> StoreResult<Vec<NoticeInRow>> {
        let c = self.client().await?;
        c.query(
            "SELECT body, incident, received_at, acked_at, acked_by, ack_note FROM notices_in ORDER BY seq DESC",
            &[],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(|r| {
            Ok(NoticeInRow {
                notice: serde_json::from_str(r.get(0)).map_err(unreadable)?,
                incident: r.get(1),
                received_at_ms: r.get(2),
                acked_at_ms: r.get(3),
                acked_by: r.get(4),
                ack_note: r.get(5),
            })
        })
        .collect()
    }

    async fn ack_notice(&self, ack: NoticeAck) -> StoreResult<AckOutcome> {
        let mut w = self.writer().await?;
        let tx = crate::begin_locked(&mut w.client).await?;
        let acked: Option<Option<i64>> = tx
            .query_opt(
                "SELECT acked_at FROM notices_in WHERE id = $1 FOR UPDATE",
                &[&ack.notice],
            )
            .await
            .map_err(Error::from)?
            .map(|r| r.get(0));
        match acked {
            None => return Ok(AckOutcome::NotFound),
            Some(Some(_)) => return Ok(AckOutcome::AlreadyAcked),
            Some(None) => {}
        }
        let now = now_ms();
        tx.execute(
            "UPDATE notices_in SET acked_at = $2, acked_by = $3, ack_note = $4 WHERE id = $1",
            &[&ack.notice, &now, &ack.by, &ack.note],
        )
        .await
        .map_err(Error::from)?;
        push(&*tx, now, Message::NoticeAck(ack.clone())).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(AckOutcome::Acked)
    }
}
