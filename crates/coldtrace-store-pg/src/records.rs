//! Records on PostgreSQL: submissions through the shared writer (`coldtrace_store::writer`, see [`crate::ledger`])
//! and the tenant-scoped reads.

use async_trait::async_trait;
use coldtrace_domain::{
    Batch, BatchRef, Counterparty, Document, Enterprise, EventTime, Handler, Line, Movement,
    MovementKind, Product, Quantity, Uscc,
};
use coldtrace_store::{
    BatchFilter, Coverage, MovementFilter, Page, RecordStore, Scope, Stats, StoreError, Stored,
    SubmitOutcome, SubmitRequest,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{Error, PgStore, Result, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

/// The tenant condition of a query and its one text parameter (`$n`). Every variant uses the parameter, so the
/// statement always takes the same parameters; an enterprise's id is cast where the condition needs a UUID.
fn scope_sql(
    scope: &Scope,
    enterprise: &str,
    province: &str,
    n: usize,
) -> (String, Option<String>) {
    match scope {
        Scope::All => (format!("(${n}::TEXT IS NULL OR TRUE)"), None),
        Scope::Nothing => (format!("(${n}::TEXT IS NULL AND FALSE)"), None),
        Scope::Enterprise(e) => (enterprise.to_string(), Some(e.to_string())),
        Scope::Province(p) => (province.to_string(), Some(p.as_str().to_string())),
    }
}

fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::Unreadable(format!("stored record: {e}"))
}

/// One stored record of a table with `seq, id, body, recorded_at, corrects`.
async fn get_stored<T: DeserializeOwned>(
    c: &deadpool_postgres::ClientWrapper,
    table: &str,
    id: Uuid,
) -> Result<Option<Stored<T>>> {
    let sql = format!(
        "SELECT t.seq, t.body, t.recorded_at,
            (SELECT c.id FROM {table} c WHERE c.corrects = t.id ORDER BY c.seq DESC LIMIT 1)
         FROM {table} t WHERE t.id = $1"
    );
    let st = c.prepare_cached(&sql).await?;
    c.query_opt(&st, &[&id])
        .await?
        .map(|r| to_stored(&r))
        .transpose()
}

fn to_stored<T: DeserializeOwned>(r: &tokio_postgres::Row) -> Result<Stored<T>> {
    Ok(Stored {
        seq: r.get(0),
        record: serde_json::from_str(r.get(1)).map_err(unreadable)?,
        recorded_at_ms: r.get(2),
        corrected_by: r.get(3),
    })
}

/// A page of records of a table under a condition whose parameters start at `$3`.
async fn list_stored<T: DeserializeOwned>(
    c: &deadpool_postgres::ClientWrapper,
    table: &str,
    where_sql: &str,
    args: &[&(dyn ToSql + Sync)],
    page: Page,
) -> Result<Vec<Stored<T>>> {
    let sql = format!(
        "SELECT t.seq, t.body, t.recorded_at,
            (SELECT c.id FROM {table} c WHERE c.corrects = t.id ORDER BY c.seq DESC LIMIT 1)
         FROM {table} t WHERE t.seq > $1 AND ({where_sql}) ORDER BY t.seq LIMIT $2"
    );
    let limit = i64::from(page.limit);
    let mut all: Vec<&(dyn ToSql + Sync)> = vec![&page.after, &limit];
    all.extend_from_slice(args);
    let st = c.prepare_cached(&sql).await?;
    c.query(&st, &all)
        .await?
        .iter()
        .map(|r| to_stored(r))
        .collect()
}

/// The columns [`read_movements`] takes, over `movements m`.
fn movement_sql(filter: &str) -> String {
    format!(
        "SELECT m.seq, m.id, m.kind, (SELECT id FROM ids WHERE n = m.holder),
            (SELECT id FROM ids WHERE n = m.batch), m.quantity_milli, m.at_ms, m.at_ns, m.at_offset,
            cp.uscc, cp.name, m.location, m.note,
            CASE WHEN m.corrects IS NOT NULL THEN (SELECT x.id FROM movements x WHERE x.seq = m.corrects) END,
            m.recorded_at,
            CASE WHEN m.superseded_by IS NOT NULL
                THEN (SELECT x.id FROM movements x WHERE x.seq = m.superseded_by) END
         FROM movements m LEFT JOIN counterparties cp ON cp.n = m.counterparty
         WHERE {filter}"
    )
}

/// Movements by a condition over `movements m` (with its parameters), as the records that were written.
pub(crate) async fn read_movements(
    c: &deadpool_postgres::ClientWrapper,
    filter: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Stored<Movement>>> {
    let st = c.prepare_cached(&movement_sql(filter)).await?;
    let mut out = Vec::new();
    for r in c.query(&st, args).await? {
        let kind = MovementKind::parse(r.get(2)).map_err(Error::Unreadable)?;
        let holder: Option<Uuid> = r.get(3);
        let batch: Option<Uuid> = r.get(4);
        let ms: i64 = r.get(6);
        let rest: Option<i64> = r.get(7);
        let at = jiff::Timestamp::from_nanosecond(
            i128::from(ms) * 1_000_000 + i128::from(rest.unwrap_or(0)),
        )
        .map_err(unreadable)?;
        let uscc: Option<String> = r.get(9);
        let counterparty = match r.get::<_, Option<String>>(10) {
            Some(name) => Some(Counterparty {
                uscc: match uscc.as_deref() {
                    None | Some("") => None,
                    Some(u) => Some(Uscc::parse_overridden(u).map_err(unreadable)?),
                },
                name,
            }),
            None => None,
        };
        let m = Movement {
            id: r.get(1),
            kind,
            holder: holder.ok_or_else(|| unreadable("movement without holder"))?,
            batch: batch.map(BatchRef::Id),
            quantity: Quantity::from_milli(r.get(5)),
            counterparty,
            at: EventTime {
                at,
                offset_seconds: r.get(8),
            },
            location: r.get(11),
            handlers: vec![],
            inputs: vec![],
            outputs: vec![],
            note: r.get(12),
            corrects: r.get(13),
        };
        out.push(Stored {
            seq: r.get(0),
            record: m,
            recorded_at_ms: r.get(14),
            corrected_by: r.get(15),
        });
    }
    for s in out.iter_mut() {
        fill_parts(c, s.seq, &mut s.record).await?;
    }
    Ok(out)
}

/// A movement's handlers and transformation lines.
async fn fill_parts(
    c: &deadpool_postgres::ClientWrapper,
    seq: i64,
    m: &mut Movement,
) -> Result<()> {
    let part = |s: String| (!s.is_empty()).then_some(s);
    let st = c
        .prepare_cached(
            "SELECT p.name, p.id_no, p.phone, p.role
             FROM movements m CROSS JOIN LATERAL unnest(m.handlers) WITH ORDINALITY AS h(person, pos)
             JOIN people p ON p.n = h.person
             WHERE m.seq = $1 ORDER BY h.pos",
        )
        .await?;
    m.handlers = c
        .query(&st, &[&seq])
        .await?
        .iter()
        .map(|r| Handler {
            name: r.get(0),
            id_no: part(r.get(1)),
            phone: part(r.get(2)),
            role: part(r.get(3)),
        })
        .collect();
    if m.kind == MovementKind::Transform {
        let st = c
            .prepare_cached(
                "SELECT role, (SELECT id FROM ids WHERE n = batch), quantity_milli FROM movement_lines
                 WHERE movement_seq = $1 ORDER BY line",
            )
            .await?;
        for r in c.query(&st, &[&seq]).await? {
            let role: String = r.get(0);
            let line = Line {
                batch: BatchRef::Id(r.get(1)),
                quantity: Quantity::from_milli(r.get(2)),
            };
            if role == "in" {
                m.inputs.push(line);
            } else {
                m.outputs.push(line);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl RecordStore for PgStore {
    async fn submit(&self, req: SubmitRequest) -> StoreResult<SubmitOutcome> {
        let writer = self.writer().await?;
        let docking = self.docking.get().cloned();
        tokio::task::spawn_blocking(move || crate::ledger::submit_blocking(writer, req, docking))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn put_attachment(
        &self,
        bytes: Vec<u8>,
        media_type: String,
        uploader: Option<Uuid>,
    ) -> StoreResult<String> {
        let hash = hex::encode(Sha256::digest(&bytes));
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        tx.execute(
            "INSERT INTO attachments (sha256, media_type, bytes, recorded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&hash, &media_type, &bytes, &now_ms()],
        )
        .await
        .map_err(Error::from)?;
        if let Some(u) = uploader {
            tx.execute(
                "INSERT INTO attachment_owners (sha256, enterprise_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&hash, &u],
            )
            .await
            .map_err(Error::from)?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(hash)
    }

    async fn attachment(&self, sha256: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT bytes, media_type FROM attachments WHERE sha256 = $1",
            &[&sha256.to_ascii_lowercase()],
        )
        .await
        .map_err(Error::from)?
        .map(|r| (r.get(0), r.get(1))))
    }

    async fn attachment_visible(&self, scope: &Scope, sha256: &str) -> StoreResult<bool> {
        let (w, arg) = scope_sql(
            scope,
            "a.enterprise = (SELECT n FROM ids WHERE id = $2::TEXT::UUID)",
            "a.province = $2",
            2,
        );
        let c = self.client().await?;
        let sql = format!(
            "SELECT 1 FROM documents d JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = d.batch_id)
             WHERE d.attachment = $1 AND ({w}) LIMIT 1"
        );
        Ok(c.query_opt(&sql, &[&sha256.to_ascii_lowercase(), &arg])
            .await
            .map_err(Error::from)?
            .is_some())
    }

    async fn enterprise(&self, id: Uuid) -> StoreResult<Option<Stored<Enterprise>>> {
        let c = self.client().await?;
        Ok(get_stored(&c, "enterprises", id).await?)
    }

    async fn enterprise_by_uscc(&self, uscc: &str) -> StoreResult<Option<Stored<Enterprise>>> {
        let c = self.client().await?;
        let id: Option<Uuid> = c
            .query_opt(
                "SELECT id FROM enterprises WHERE uscc = $1 ORDER BY seq DESC LIMIT 1",
                &[&uscc.trim().to_ascii_uppercase()],
            )
            .await
            .map_err(Error::from)?
            .map(|r| r.get(0));
        Ok(match id {
            Some(id) => get_stored(&c, "enterprises", id).await?,
            None => None,
        })
    }

    async fn enterprise_by_gln(&self, gln: &str) -> StoreResult<Option<Stored<Enterprise>>> {
        let c = self.client().await?;
        let hits: Vec<(Uuid, String)> = c
            .query(
                "SELECT e.id, e.uscc FROM enterprises e WHERE e.gln = $1
                   AND e.seq = (SELECT MAX(n.seq) FROM enterprises n WHERE n.uscc = e.uscc)
                 ORDER BY e.seq DESC",
                &[&gln.trim()],
            )
            .await
            .map_err(Error::from)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        // Only current versions speak; two businesses with the GLN now would be ambiguous, so no one.
        let Some((id, uscc)) = hits.first().cloned() else {
            return Ok(None);
        };
        if hits.iter().any(|(_, u)| *u != uscc) {
            return Ok(None);
        }
        Ok(get_stored(&c, "enterprises", id).await?)
    }

    async fn enterprises(&self, scope: &Scope, page: Page) -> StoreResult<Vec<Stored<Enterprise>>> {
        let (w, arg) = scope_sql(scope, "t.id = $3::TEXT::UUID", "t.province = $3", 3);
        let c = self.client().await?;
        Ok(list_stored(&c, "enterprises", &w, &[&arg], page).await?)
    }

    async fn are_counterparties(&self, a: Uuid, b: Uuid) -> StoreResult<bool> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT 1 FROM movements
             WHERE (holder = (SELECT n FROM ids WHERE id = $1) AND counterparty_id = (SELECT n FROM ids WHERE id = $2))
                OR (holder = (SELECT n FROM ids WHERE id = $2) AND counterparty_id = (SELECT n FROM ids WHERE id = $1))
             LIMIT 1",
            &[&a, &b],
        )
        .await
        .map_err(Error::from)?
        .is_some())
    }

    async fn product(&self, id: Uuid) -> StoreResult<Option<Stored<Product>>> {
        let c = self.client().await?;
        Ok(get_stored(&c, "products", id).await?)
    }

    async fn products(&self, scope: &Scope, page: Page) -> StoreResult<Vec<Stored<Product>>> {
        let (w, arg) = scope_sql(
            scope,
            "t.owner = $3::TEXT::UUID OR t.id IN (SELECT b.product FROM batch_access a
                JOIN ids i ON i.n = a.batch JOIN batches b ON b.id = i.id
              WHERE a.enterprise = (SELECT n FROM ids WHERE id = $3::TEXT::UUID))",
            "t.owner_province = $3 OR t.id IN (SELECT b.product FROM batch_access a
                JOIN ids i ON i.n = a.batch JOIN batches b ON b.id = i.id WHERE a.province = $3)",
            3,
        );
        let c = self.client().await?;
        Ok(list_stored(&c, "products", &w, &[&arg], page).await?)
    }

    async fn batch(&self, id: Uuid) -> StoreResult<Option<Stored<Batch>>> {
        let c = self.client().await?;
        Ok(get_stored(&c, "batches", id).await?)
    }

    async fn batch_by_code(&self, key: &str) -> StoreResult<Option<Uuid>> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT batch_id FROM trace_codes WHERE key = $1", &[&key])
                .await
                .map_err(Error::from)?
                .map(|r| r.get(0)),
        )
    }

    async fn batches(
        &self,
        scope: &Scope,
        filter: &BatchFilter,
        page: Page,
    ) -> StoreResult<Vec<Stored<Batch>>> {
        let (w, arg) = scope_sql(
            scope,
            "EXISTS (SELECT 1 FROM batch_access a WHERE a.batch = (SELECT n FROM ids WHERE id = t.id)
               AND a.enterprise = (SELECT n FROM ids WHERE id = $3::TEXT::UUID))",
            "EXISTS (SELECT 1 FROM batch_access a WHERE a.batch = (SELECT n FROM ids WHERE id = t.id)
               AND a.province = $3)",
            3,
        );
        let w = format!(
            "({w}) AND ($4::TEXT IS NULL OR t.batch_no = $4) AND ($5::UUID IS NULL OR t.product = $5)"
        );
        let c = self.client().await?;
        Ok(list_stored(
            &c,
            "batches",
            &w,
            &[&arg, &filter.batch_no, &filter.product],
            page,
        )
        .await?)
    }

    async fn batch_visible(&self, scope: &Scope, batch: Uuid) -> StoreResult<bool> {
        let (w, arg) = scope_sql(
            scope,
            "enterprise = (SELECT n FROM ids WHERE id = $2::TEXT::UUID)",
            "province = $2",
            2,
        );
        let c = self.client().await?;
        let sql = format!(
            "SELECT 1 FROM batches b JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = b.id)
             WHERE b.id = $1 AND ({w}) LIMIT 1"
        );
        Ok(c.query_opt(&sql, &[&batch, &arg])
            .await
            .map_err(Error::from)?
            .is_some())
    }

    async fn product_visible(&self, scope: &Scope, product: Uuid) -> StoreResult<bool> {
        let (w, arg) = scope_sql(
            scope,
            "p.owner = $2::TEXT::UUID OR EXISTS (SELECT 1 FROM batches b
                JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = b.id)
              WHERE b.product = p.id AND a.enterprise = (SELECT n FROM ids WHERE id = $2::TEXT::UUID))",
            "p.owner_province = $2 OR EXISTS (SELECT 1 FROM batches b
                JOIN batch_access a ON a.batch = (SELECT n FROM ids WHERE id = b.id)
              WHERE b.product = p.id AND a.province = $2)",
            2,
        );
        let c = self.client().await?;
        let sql = format!("SELECT 1 FROM products p WHERE p.id = $1 AND ({w})");
        Ok(c.query_opt(&sql, &[&product, &arg])
            .await
            .map_err(Error::from)?
            .is_some())
    }

    async fn documents_of(&self, batch: Uuid) -> StoreResult<Vec<Stored<Document>>> {
        let c = self.client().await?;
        Ok(list_stored(
            &c,
            "documents",
            "t.batch_id = $3",
            &[&batch],
            Page {
                after: 0,
                limit: 10_000,
            },
        )
        .await?)
    }

    async fn document(&self, id: Uuid) -> StoreResult<Option<Stored<Document>>> {
        let c = self.client().await?;
        Ok(get_stored(&c, "documents", id).await?)
    }

    async fn movement(&self, id: Uuid) -> StoreResult<Option<Stored<Movement>>> {
        let c = self.client().await?;
        Ok(read_movements(&c, "m.id = $1", &[&id])
            .await?
            .into_iter()
            .next())
    }

    async fn movements(
        &self,
        scope: &Scope,
        filter: &MovementFilter,
        page: Page,
    ) -> StoreResult<Vec<Stored<Movement>>> {
        let (w, arg) = scope_sql(
            scope,
            "m.holder = (SELECT n FROM ids WHERE id = $3::TEXT::UUID)",
            "m.holder_province = $3",
            3,
        );
        let w = format!(
            "m.seq > $1 AND ({w})
             AND ($4::UUID IS NULL OR m.batch = (SELECT n FROM ids WHERE id = $4)
                  OR m.seq IN (SELECT movement_seq FROM movement_lines
                               WHERE batch = (SELECT n FROM ids WHERE id = $4)))
             AND ($5::UUID IS NULL OR m.holder = (SELECT n FROM ids WHERE id = $5))
             ORDER BY m.seq LIMIT $2"
        );
        let limit = i64::from(page.limit);
        let c = self.client().await?;
        Ok(read_movements(
            &c,
            &w,
            &[&page.after, &limit, &arg, &filter.batch, &filter.holder],
        )
        .await?)
    }

    async fn stats(&self, scope: &Scope) -> StoreResult<Stats> {
        let c = self.client().await?;
        let count = |sql: &'static str, arg: Option<String>| {
            let c = &c;
            async move {
                let n: i64 = match arg {
                    Some(a) => c.query_one(sql, &[&a]).await?.get(0),
                    None => c.query_one(sql, &[]).await?.get(0),
                };
                Ok::<u64, Error>(n as u64)
            }
        };
        Ok(match scope {
            Scope::Nothing => Stats::default(),
            Scope::All => Stats {
                enterprises: count("SELECT COUNT(*) FROM enterprises", None).await?,
                products: count("SELECT COUNT(*) FROM products", None).await?,
                batches: count("SELECT COUNT(*) FROM batches", None).await?,
                documents: count("SELECT COUNT(*) FROM documents", None).await?,
                movements: count("SELECT COUNT(*) FROM movements", None).await?,
                trace_codes: count("SELECT COUNT(*) FROM trace_codes", None).await?,
            },
            Scope::Province(p) => {
                let p = || Some(p.as_str().to_string());
                Stats {
                    enterprises: count("SELECT COUNT(*) FROM enterprises WHERE province = $1", p())
                        .await?,
                    products: count("SELECT COUNT(*) FROM products WHERE owner_province = $1", p())
                        .await?,
                    batches: count(
                        "SELECT COUNT(DISTINCT batch) FROM batch_access WHERE province = $1",
                        p(),
                    )
                    .await?,
                    documents: count(
                        "SELECT COUNT(*) FROM documents d WHERE EXISTS (SELECT 1 FROM batch_access a
                          WHERE a.batch = (SELECT n FROM ids WHERE id = d.batch_id) AND a.province = $1)",
                        p(),
                    )
                    .await?,
                    movements: count(
                        "SELECT COUNT(*) FROM movements WHERE holder_province = $1",
                        p(),
                    )
                    .await?,
                    trace_codes: 0,
                }
            }
            Scope::Enterprise(e) => {
                let e = || Some(e.to_string());
                Stats {
                    enterprises: 1,
                    products: count("SELECT COUNT(*) FROM products WHERE owner = $1::TEXT::UUID", e())
                        .await?,
                    batches: count(
                        "SELECT COUNT(*) FROM batch_access WHERE enterprise = (SELECT n FROM ids WHERE id = $1::TEXT::UUID)",
                        e(),
                    )
                    .await?,
                    documents: count("SELECT COUNT(*) FROM documents WHERE owner = $1::TEXT::UUID", e())
                        .await?,
                    movements: count(
                        "SELECT COUNT(*) FROM movements WHERE holder = (SELECT n FROM ids WHERE id = $1::TEXT::UUID)",
                        e(),
                    )
                    .await?,
                    trace_codes: 0,
                }
            }
        })
    }

    async fn coverage(&self, scope: &Scope, since_ms: i64) -> StoreResult<Vec<Coverage>> {
        let (cond, arg) = scope_sql(scope, "e.id = $1::TEXT::UUID", "e.province = $1", 1);
        let c = self.client().await?;
        let sql = format!(
            "SELECT e.kind, COUNT(*),
                    COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM movements m
                        WHERE m.holder = (SELECT n FROM ids WHERE id = e.id) AND m.recorded_at >= $2))
             FROM enterprises e WHERE e.corrects IS NULL AND {cond} GROUP BY e.kind ORDER BY e.kind"
        );
        Ok(c.query(&sql, &[&arg, &since_ms])
            .await
            .map_err(Error::from)?
            .iter()
            .map(|r| Coverage {
                kind: r.get(0),
                enterprises: r.get::<_, i64>(1) as u64,
                reporting: r.get::<_, i64>(2) as u64,
            })
            .collect())
    }
}
