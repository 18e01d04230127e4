//! The national platform's inbox (国家平台收件箱): every province's docking messages accepted once each, in each
//! province's sequence, with the commanders' link decisions and the notices to deliver.
//!
//! Uploads, notices and decisions are written under transaction-scoped advisory locks, so that the identity
//! columns that order them (`gseq`, the notices' and decisions' `seq`) are assigned in commit order: a node that follows the inbox or the
//! notices by sequence number never passes a row another transaction has yet to commit.

use async_trait::async_trait;
use coldtrace_domain::docking::{Envelope, Notice, UploadReceipt};
use coldtrace_store::{AcceptOutcome, InboxRow, InboxStore, LinkDecision};

use crate::listen::NOTIFY;
use crate::{Error, PgStore, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

const INBOX_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('coldtrace:inbox:' || current_schema())::bigint)";
const DECISIONS_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('coldtrace:decisions:' || current_schema())::bigint)";
const NOTICES_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('coldtrace:notices:' || current_schema())::bigint)";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("docking messages serialise")
}

#[async_trait]
impl InboxStore for PgStore {
    async fn inbox_changed(&self, within: std::time::Duration) -> StoreResult<()> {
        self.changed(crate::listen::Channel::National, within).await;
        Ok(())
    }

    async fn store_id(&self) -> StoreResult<uuid::Uuid> {
        Ok(self.store_id)
    }

    async fn accept_upload(
        &self,
        province: String,
        messages: Vec<Envelope>,
        assign_seq: bool,
    ) -> StoreResult<AcceptOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        tx.execute(INBOX_LOCK, &[]).await.map_err(Error::from)?;
        let last = tx
            .query_one(
                "SELECT COALESCE(MAX(seq), 0) FROM inbox WHERE province = $1",
                &[&province],
            )
            .await
            .map_err(Error::from)?
            .get::<_, i64>(0) as u64;
        // One query for the ids already stored, one statement for the rows to add.
        let ids: Vec<uuid::Uuid> = messages.iter().map(|m| m.id).collect();
        let known: std::collections::HashSet<uuid::Uuid> = tx
            .query(
                "SELECT id FROM inbox WHERE province = $1 AND id = ANY($2)",
                &[&province, &ids],
            )
            .await
            .map_err(Error::from)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = coldtrace_store::inbox::plan_upload(last, messages, assign_seq, &known)?;
        let take = plan.take;
        let now = now_ms();
        let mut fresh = Vec::with_capacity(take.len());
        if !take.is_empty() {
            let seqs: Vec<i64> = take.iter().map(|m| m.seq as i64).collect();
            let ids: Vec<uuid::Uuid> = take.iter().map(|m| m.id).collect();
            let kinds: Vec<&str> = take.iter().map(|m| m.body.kind()).collect();
            let bodies: Vec<String> = take.iter().map(json).collect();
            let rows = tx
                .query(
                    "INSERT INTO inbox (province, seq, id, kind, body, received_at)
                     SELECT $1, u.s, u.i, u.k, u.b, $6
                     FROM unnest($2::BIGINT[], $3::UUID[], $4::TEXT[], $5::TEXT[]) WITH ORDINALITY AS u(s, i, k, b, o)
                     ORDER BY u.o
                     RETURNING seq, gseq",
                    &[&province, &seqs, &ids, &kinds, &bodies, &now],
                )
                .await
                .map_err(Error::from)?;
            let gseq: std::collections::HashMap<i64, i64> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            for m in take {
                fresh.push(InboxRow {
                    gseq: gseq[&(m.seq as i64)] as u64,
                    province: province.clone(),
                    received_at_ms: now,
                    envelope: m,
                });
            }
        }
        if !fresh.is_empty() {
            tx.execute(NOTIFY, &[]).await.map_err(Error::from)?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(AcceptOutcome {
            receipt: UploadReceipt {
                accepted: fresh.len() as u32,
                duplicates: plan.duplicates,
                next_seq: plan.next_seq,
            },
            fresh,
        })
    }

    async fn inbox(&self, after: u64, limit: u32) -> StoreResult<Vec<InboxRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT gseq, province, body, received_at FROM inbox WHERE gseq > $1 ORDER BY gseq LIMIT $2",
                &[&(after as i64), &(limit as i64)],
            )
            .await
            .map_err(Error::from)?;
        rows.iter()
            .map(|r| {
                Ok(InboxRow {
                    gseq: r.get::<_, i64>(0) as u64,
                    province: r.get(1),
                    envelope: serde_json::from_str(r.get::<_, &str>(2))?,
                    received_at_ms: r.get(3),
                })
            })
            .collect()
    }

    async fn decide_link(&self, d: LinkDecision) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        // In commit order too: a node applies the decisions after the number it applied.
        tx.execute(DECISIONS_LOCK, &[]).await.map_err(Error::from)?;
        tx.execute(
            "INSERT INTO link_decisions (link, decision, by_subject, note, at_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&d.link, &d.decision, &d.by, &d.note, &d.at_ms],
        )
        .await
        .map_err(Error::from)?;
        tx.execute(NOTIFY, &[]).await.map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(())
    }

    async fn link_decisions(&self) -> StoreResult<Vec<LinkDecision>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT link, decision, by_subject, note, at_ms FROM link_decisions ORDER BY seq",
                &[],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|r| LinkDecision {
                link: r.get(0),
                decision: r.get(1),
                by: r.get(2),
                note: r.get(3),
                at_ms: r.get(4),
            })
            .collect())
    }

    async fn put_notices(
        &self,
        notices: Vec<Notice>,
        seen_through: Option<u64>,
    ) -> StoreResult<Option<Vec<Notice>>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        tx.execute(NOTICES_LOCK, &[]).await.map_err(Error::from)?;
        if let Some(seen) = seen_through {
            let last: i64 = tx
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM notices_out", &[])
                .await
                .map_err(Error::from)?
                .get(0);
            // Another node issued notices this one has not followed: it computes them again.
            if last as u64 > seen {
                return Ok(None);
            }
        }
        let now = now_ms();
        let mut out = Vec::new();
        for n in notices {
            let seq: Option<i64> = tx
                .query_opt(
                    "INSERT INTO notices_out (id, province, incident, body, created_at)
                     VALUES ($1, $2, $3, '', $4) ON CONFLICT (id) DO NOTHING RETURNING seq",
                    &[&n.id, &n.to_province, &n.incident, &now],
                )
                .await
                .map_err(Error::from)?
                .map(|r| r.get(0));
            // Stored before: the notice keeps its first sequence number.
            let Some(seq) = seq else { continue };
            let n = Notice {
                seq: seq as u64,
                created_at_ms: now,
                ..n
            };
            tx.execute(
                "UPDATE notices_out SET body = $2 WHERE seq = $1",
                &[&seq, &json(&n)],
            )
            .await
            .map_err(Error::from)?;
            out.push(n);
        }
        if !out.is_empty() {
            tx.execute(NOTIFY, &[]).await.map_err(Error::from)?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(Some(out))
    }

    async fn notices_out(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<Notice>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT body FROM notices_out WHERE ($1::TEXT IS NULL OR province = $1) AND seq > $2
                 ORDER BY seq LIMIT $3",
                &[&province, &(after as i64), &(limit as i64)],
            )
            .await
            .map_err(Error::from)?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<_, &str>(0))?))
            .collect()
    }
}
