//! Records: submissions (through the writer) and tenant-scoped reads.

use async_trait::async_trait;
use coldtrace_domain::{Batch, Document, Enterprise, Movement, Product};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::*;
use crate::{
    BatchFilter, MovementFilter, Page, Result, Scope, Stats, Stored, SubmitOutcome, SubmitRequest,
};

#[async_trait]
impl RecordStore for SqliteStore {
    async fn submit(&self, req: SubmitRequest) -> StoreResult<SubmitOutcome> {
        let docking = self.inner.docking.get().cloned();
        self.write(move |conn| submit_blocking(conn, req, docking.as_ref()))
            .await
    }

    async fn put_attachment(
        &self,
        bytes: Vec<u8>,
        media_type: String,
        uploader: Option<Uuid>,
    ) -> StoreResult<String> {
        let hash = hex::encode(Sha256::digest(&bytes));
        let h = hash.clone();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO attachments (sha256, media_type, bytes, recorded_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![h, media_type, bytes, now_ms()])?;
            if let Some(u) = uploader {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO attachment_owners (sha256, enterprise_id) VALUES (?1, ?2)",
                )?
                .execute(params![h, u.to_string()])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
        Ok(hash)
    }

    async fn attachment(&self, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        let h = sha256.to_ascii_lowercase();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT bytes, media_type FROM attachments WHERE sha256 = ?1")?
                    .query_row([h], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })
        .await
    }

    async fn enterprise(&self, id: Uuid) -> StoreResult<Option<Stored<Enterprise>>> {
        self.read(move |c| get_stored(c, "enterprises", &id.to_string()))
            .await
    }

    async fn enterprise_by_uscc(&self, uscc: &str) -> StoreResult<Option<Stored<Enterprise>>> {
        let u = uscc.trim().to_ascii_uppercase();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached(
                    "SELECT id FROM enterprises WHERE uscc = ?1 ORDER BY seq DESC LIMIT 1",
                )?
                .query_row([u], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => get_stored(c, "enterprises", &id),
                None => Ok(None),
            }
        })
        .await
    }

    async fn enterprise_by_gln(&self, gln: &str) -> StoreResult<Option<Stored<Enterprise>>> {
        let g = gln.trim().to_string();
        self.read(move |c| {
            let hits: Vec<(String, String)> = c
                .prepare_cached(
                    "SELECT e.id, e.uscc FROM enterprises e WHERE json_extract(e.body, '$.gln') = ?1
                       AND e.seq = (SELECT MAX(n.seq) FROM enterprises n WHERE n.uscc = e.uscc)
                     ORDER BY e.seq DESC",
                )?
                .query_map([g], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            // Only current versions speak; two businesses with the GLN now would be ambiguous, so no one
            // (registration refuses a second).
            let Some((id, uscc)) = hits.first().cloned() else {
                return Ok(None);
            };
            if hits.iter().any(|(_, u)| *u != uscc) {
                return Ok(None);
            }
            get_stored(c, "enterprises", &id)
        })
        .await
    }

    async fn enterprises(&self, scope: &Scope, page: Page) -> StoreResult<Vec<Stored<Enterprise>>> {
        let (w, arg) = scope_sql(scope, "t.id = ?3", "t.province = ?3", "?3");
        self.read(move |c| list_stored(c, "enterprises", &w, &[&arg], page))
            .await
    }

    async fn are_counterparties(&self, a: Uuid, b: Uuid) -> StoreResult<bool> {
        self.read(move |c| {
            let q = "SELECT 1 FROM movements
                     WHERE (holder = (SELECT n FROM ids WHERE id = ?1) AND counterparty_id = (SELECT n FROM ids WHERE id = ?2))
                        OR (holder = (SELECT n FROM ids WHERE id = ?2) AND counterparty_id = (SELECT n FROM ids WHERE id = ?1))
                     LIMIT 1";
            Ok(c.prepare_cached(q)?.query_row([a.to_string(), b.to_string()], |_| Ok(())).optional()?.is_some())
        })
        .await
    }

    async fn product(&self, id: Uuid) -> StoreResult<Option<Stored<Product>>> {
        self.read(move |c| get_stored(c, "products", &id.to_string()))
            .await
    }

    async fn products(&self, scope: &Scope, page: Page) -> StoreResult<Vec<Stored<Product>>> {
        let (w, arg) = scope_sql(
            scope,
            "t.owner = ?3 OR t.id IN (SELECT b.product FROM batch_access a JOIN batches b ON b.id = (SELECT id FROM ids WHERE n = a.batch)
              WHERE a.enterprise = (SELECT n FROM ids WHERE id = ?3))",
            "t.owner_province = ?3 OR t.id IN (SELECT b.product FROM batch_access a JOIN batches b ON b.id = (SELECT id FROM ids WHERE n = a.batch)
              WHERE a.province = ?3)",
            "?3",
        );
        self.read(move |c| list_stored(c, "products", &w, &[&arg], page))
            .await
    }

    async fn batch(&self, id: Uuid) -> StoreResult<Option<Stored<Batch>>> {
        self.read(move |c| get_stored(c, "batches", &id.to_string()))
            .await
    }

    async fn batch_by_code(&self, key: &str) -> StoreResult<Option<Uuid>> {
        let k = key.to_string();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached("SELECT batch_id FROM trace_codes WHERE key = ?1")?
                .query_row([k], |r| r.get(0))
                .optional()?;
            id.map(|s| parse_uuid(&s)).transpose()
        })
        .await
    }

    async fn batches(
        &self,
        scope: &Scope,
        filter: &BatchFilter,
        page: Page,
    ) -> StoreResult<Vec<Stored<Batch>>> {
        let (mut w, arg) = scope_sql(
            scope,
            "EXISTS (SELECT 1 FROM batch_access a WHERE a.batch = (SELECT n FROM ids WHERE id = t.id) AND a.enterprise = (SELECT n FROM ids WHERE id = ?3))",
            "EXISTS (SELECT 1 FROM batch_access a WHERE a.batch = (SELECT n FROM ids WHERE id = t.id) AND a.province = ?3)",
            "?3",
        );
        w = format!("({w}) AND (?4 IS NULL OR t.batch_no = ?4) AND (?5 IS NULL OR t.product = ?5)");
        let no = filter.batch_no.clone();
        let product = filter.product.map(|p| p.to_string());
        let arg = arg.unwrap_or_default();
        self.read(move |c| list_stored(c, "batches", &w, &[&arg, &no, &product], page))
            .await
    }

    async fn batch_visible(&self, scope: &Scope, batch: Uuid) -> StoreResult<bool> {
        let (w, arg) = scope_sql(
            scope,
            "enterprise = (SELECT n FROM ids WHERE id = ?2)",
            "province = ?2",
            "?2",
        );
        let b = batch.to_string();
        self.read(move |c| {
            let exists = c
                .prepare_cached("SELECT 1 FROM batches WHERE id = ?1")?
                .query_row([&b], |_| Ok(()))
                .optional()?;
            if exists.is_none() {
                return Ok(false);
            }
            let sql = format!("SELECT 1 FROM batch_access WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND ({w}) LIMIT 1");
            let arg = arg.unwrap_or_default();
            Ok(c.prepare_cached(&sql)?
                .query_row(params![b, arg], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn product_visible(&self, scope: &Scope, product: Uuid) -> StoreResult<bool> {
        let (w, arg) = scope_sql(
            scope,
            "p.owner = ?2 OR EXISTS (SELECT 1 FROM batches b JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = b.id)
              WHERE b.product = p.id AND a.enterprise = (SELECT n FROM ids WHERE id = ?2))",
            "p.owner_province = ?2 OR EXISTS (SELECT 1 FROM batches b JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = b.id)
              WHERE b.product = p.id AND a.province = ?2)",
            "?2",
        );
        let id = product.to_string();
        self.read(move |c| {
            let sql = format!("SELECT 1 FROM products p WHERE p.id = ?1 AND ({w})");
            let arg = arg.unwrap_or_default();
            Ok(c.prepare_cached(&sql)?
                .query_row(params![id, arg], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn attachment_visible(&self, scope: &Scope, sha256: &str) -> StoreResult<bool> {
        let (w, arg) = scope_sql(
            scope,
            "a.enterprise = (SELECT n FROM ids WHERE id = ?2)",
            "a.province = ?2",
            "?2",
        );
        let h = sha256.to_ascii_lowercase();
        self.read(move |c| {
            let sql = format!(
                "SELECT 1 FROM documents d JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = d.batch_id)
                 WHERE d.attachment = ?1 AND ({w}) LIMIT 1"
            );
            let arg = arg.unwrap_or_default();
            Ok(c.prepare_cached(&sql)?.query_row(params![h, arg], |_| Ok(())).optional()?.is_some())
        })
        .await
    }

    async fn documents_of(&self, batch: Uuid) -> StoreResult<Vec<Stored<Document>>> {
        let b = batch.to_string();
        self.read(move |c| {
            list_stored(
                c,
                "documents",
                "t.batch_id = ?3",
                &[&b],
                Page {
                    after: 0,
                    limit: 10_000,
                },
            )
        })
        .await
    }

    async fn document(&self, id: Uuid) -> StoreResult<Option<Stored<Document>>> {
        self.read(move |c| get_stored(c, "documents", &id.to_string()))
            .await
    }

    async fn movement(&self, id: Uuid) -> StoreResult<Option<Stored<Movement>>> {
        self.read(move |c| {
            Ok(
                crate::movements::read(c, "m.id = ?1", &[&id.as_bytes().as_slice()])?
                    .into_iter()
                    .next(),
            )
        })
        .await
    }

    async fn movements(
        &self,
        scope: &Scope,
        filter: &MovementFilter,
        page: Page,
    ) -> StoreResult<Vec<Stored<Movement>>> {
        let (w, arg) = scope_sql(
            scope,
            "m.holder = (SELECT n FROM ids WHERE id = ?3)",
            "m.holder_province = ?3",
            "?3",
        );
        let w = format!(
            "m.seq > ?1 AND ({w})
             AND (?4 IS NULL OR m.batch = (SELECT n FROM ids WHERE id = ?4)
                  OR m.seq IN (SELECT movement_seq FROM movement_lines WHERE batch = (SELECT n FROM ids WHERE id = ?4)))
             AND (?5 IS NULL OR m.holder = (SELECT n FROM ids WHERE id = ?5))
             ORDER BY m.seq LIMIT ?2"
        );
        let batch = filter.batch.map(|b| b.to_string());
        let holder = filter.holder.map(|h| h.to_string());
        let arg = arg.unwrap_or_default();
        self.read(move |c| {
            crate::movements::read(c, &w, &[&page.after, &page.limit, &arg, &batch, &holder])
        })
        .await
    }

    async fn stats(&self, scope: &Scope) -> StoreResult<Stats> {
        let scope = scope.clone();
        self.read(move |c| {
            let count = |sql: &str, arg: Option<&str>| -> Result<u64> {
                let n: i64 = match arg {
                    Some(a) => c.prepare_cached(sql)?.query_row([a], |r| r.get(0))?,
                    None => c.prepare_cached(sql)?.query_row([], |r| r.get(0))?,
                };
                Ok(n as u64)
            };
            Ok(match &scope {
                Scope::Nothing => Stats::default(),
                Scope::All => Stats {
                    enterprises: count("SELECT COUNT(*) FROM enterprises", None)?,
                    products: count("SELECT COUNT(*) FROM products", None)?,
                    batches: count("SELECT COUNT(*) FROM batches", None)?,
                    documents: count("SELECT COUNT(*) FROM documents", None)?,
                    movements: count("SELECT COUNT(*) FROM movements", None)?,
                    trace_codes: count("SELECT COUNT(*) FROM trace_codes", None)?,
                },
                Scope::Province(p) => {
                    let p = Some(p.as_str());
                    Stats {
                        enterprises: count("SELECT COUNT(*) FROM enterprises WHERE province = ?1", p)?,
                        products: count("SELECT COUNT(*) FROM products WHERE owner_province = ?1", p)?,
                        batches: count("SELECT COUNT(DISTINCT batch) FROM batch_access WHERE province = ?1", p)?,
                        documents: count(
                            "SELECT COUNT(*) FROM documents d WHERE EXISTS (SELECT 1 FROM batch_access a
                              WHERE a.batch = (SELECT n FROM ids WHERE id = d.batch_id) AND a.province = ?1)",
                            p,
                        )?,
                        movements: count("SELECT COUNT(*) FROM movements WHERE holder_province = ?1", p)?,
                        trace_codes: 0,
                    }
                }
                Scope::Enterprise(e) => {
                    let e = e.to_string();
                    let e = Some(e.as_str());
                    Stats {
                        enterprises: 1,
                        products: count("SELECT COUNT(*) FROM products WHERE owner = ?1", e)?,
                        batches: count("SELECT COUNT(*) FROM batch_access WHERE enterprise = (SELECT n FROM ids WHERE id = ?1)", e)?,
                        documents: count("SELECT COUNT(*) FROM documents WHERE owner = ?1", e)?,
                        movements: count(
                            "SELECT COUNT(*) FROM movements WHERE holder = (SELECT n FROM ids WHERE id = ?1)",
                            e,
                        )?,
                        trace_codes: 0,
                    }
                }
            })
        })
        .await
    }

    async fn coverage(&self, scope: &Scope, since_ms: i64) -> StoreResult<Vec<crate::Coverage>> {
        let (cond, arg) = scope_sql(&scope.clone(), "e.id = ?1", "e.province = ?1", "?1");
        self.read(move |c| {
            let sql = format!(
                "SELECT e.kind, COUNT(*),
                        SUM(EXISTS (SELECT 1 FROM movements m WHERE m.holder = (SELECT n FROM ids WHERE id = e.id)
                            AND m.recorded_at >= ?2))
                 FROM enterprises e WHERE e.corrects IS NULL AND {cond} GROUP BY e.kind ORDER BY e.kind"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params![arg, since_ms], |r| {
                Ok(crate::Coverage {
                    kind: r.get(0)?,
                    enterprises: r.get::<_, i64>(1)? as u64,
                    reporting: r.get::<_, i64>(2)? as u64,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }
}
