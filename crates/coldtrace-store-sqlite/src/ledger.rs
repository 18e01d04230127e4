//! The submission transaction: the writer of `coldtrace_store::writer` run on SQLite, every record of a
//! submission in one `BEGIN IMMEDIATE … COMMIT`. [`SqliteLedger`] answers the writer's questions with this
//! store's tables (the lean layout: enterprises, batches and party keys by number in `ids`).

use std::collections::{BTreeSet, HashSet};

use coldtrace_domain::checks::{CheckPolicy, LotStock, Violation};
use coldtrace_domain::{Batch, Document, Enterprise, Movement, Product, TraceCode};
use coldtrace_store::writer::held::{HeldFlags, STOCK_COLUMNS, StockDelta, earliest};
use coldtrace_store::writer::{
    self, CustomsRefusal, KeptStock, Ledger, MovementRefs, RecordKind, StockColumn,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use uuid::Uuid;

use crate::schema::{CURRENT, resolve_by_records};
use crate::{Result, StoreResult, SubmitOutcome, SubmitRequest, now_ms, parse_uuid, run};

/// A lot's held stock changes added to its row (the columns in [`STOCK_COLUMNS`] order, then the first arrival and
/// departure and the last movement), built once.
static STOCK_UPSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let cols: Vec<&str> = STOCK_COLUMNS.iter().map(|c| c.as_str()).collect();
    let add: Vec<String> = cols
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO lot_stock (batch, holder, {}, first_in, first_out, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (batch, holder) DO UPDATE SET {},
            last_at = MAX(COALESCE(last_at, excluded.last_at), excluded.last_at),
            first_in = CASE WHEN first_in IS NULL THEN excluded.first_in
                            WHEN excluded.first_in IS NULL THEN first_in
                            ELSE MIN(first_in, excluded.first_in) END,
            first_out = CASE WHEN first_out IS NULL THEN excluded.first_out
                             WHEN excluded.first_out IS NULL THEN first_out
                             ELSE MIN(first_out, excluded.first_out) END",
        cols.join(", "),
        add.join(", ")
    )
});

/// Runs one submission through the writer in its own transaction, committed when the writer accepts it.
pub(crate) fn submit_blocking(
    conn: &mut Connection,
    req: SubmitRequest,
    docking: Option<&crate::DockingConfig>,
) -> Result<SubmitOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = {
        let mut l = SqliteLedger {
            tx: &tx,
            ns: Default::default(),
            docking,
            stock: Default::default(),
            flags: Default::default(),
        };
        // On an error the transaction is dropped, which rolls it back: nothing of a refused submission is kept.
        writer::submit(&mut l, &req, now_ms())?
    };
    if !out.replayed {
        tx.commit()?;
    }
    Ok(out)
}

/// The ledger of one open SQLite transaction.
struct SqliteLedger<'a> {
    tx: &'a Transaction<'a>,
    /// Numbers of ids, counterparties and people looked up in this transaction.
    ns: crate::movements::Ns,
    docking: Option<&'a crate::DockingConfig>,
    /// Lot stock changes held back, per lot (batch, holder numbers), written once per lot
    /// ([`coldtrace_store::writer::held`]).
    stock: std::collections::BTreeMap<(i64, i64), StockDelta>,
    /// Findings flagged and not yet written, once per subject.
    flags: HeldFlags,
}

/// SQL for the number of an id given as text (`ids.n`).
const N: &str = "(SELECT n FROM ids WHERE id = ?";

fn n_of(param: usize) -> String {
    format!("{N}{param})")
}

impl SqliteLedger<'_> {
    /// Writes what is held back: each flagged subject's finding once, each lot's stock changes in one upsert.
    /// Called before every read of the open findings, and at the end of the submission.
    fn settle(&mut self) -> Result<()> {
        self.write_flags()?;
        self.write_stock()
    }

    /// Writes each held finding: the open one about its subject updated, else a new one opened.
    fn write_flags(&mut self) -> Result<()> {
        for (subject, f) in self.flags.take() {
            let movement = f.movement.map(|m| m.to_string());
            let updated = self.execute(
                // A new record that breaks the rule again makes an earlier answer moot.
                "UPDATE findings SET message = ?2, movement = COALESCE(?3, movement),
                    answer_note = CASE WHEN ?3 IS NOT NULL AND ?3 IS NOT movement THEN NULL ELSE answer_note END,
                    answer_record = CASE WHEN ?3 IS NOT NULL AND ?3 IS NOT movement THEN NULL ELSE answer_record END,
                    answered_by = CASE WHEN ?3 IS NOT NULL AND ?3 IS NOT movement THEN NULL ELSE answered_by END,
                    answered_at = CASE WHEN ?3 IS NOT NULL AND ?3 IS NOT movement THEN NULL ELSE answered_at END
                 WHERE subject = ?1 AND status = 'open'",
                params![subject, f.message, movement],
            )?;
            if updated == 0 {
                self.execute(
                    "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement,
                        message, opened_at)
                     VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        Uuid::now_v7().to_string(),
                        f.rule,
                        subject,
                        f.enterprise.to_string(),
                        f.province,
                        f.batch.map(|b| b.to_string()),
                        movement,
                        f.message,
                        f.now
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Adds each lot's held stock changes to its row, one upsert per lot.
    fn write_stock(&mut self) -> Result<()> {
        if self.stock.is_empty() {
            return Ok(());
        }
        let mut stmt = self.tx.prepare_cached(&STOCK_UPSERT)?;
        for ((b, h), d) in std::mem::take(&mut self.stock) {
            let [c0, c1, c2, c3, c4, c5, c6, c7] = d.cols;
            stmt.execute(params![
                b,
                h,
                c0,
                c1,
                c2,
                c3,
                c4,
                c5,
                c6,
                c7,
                d.first_in,
                d.first_out,
                d.last_at
            ])?;
        }
        Ok(())
    }

    fn n(&mut self, id: Uuid) -> Result<i64> {
        Ok(crate::movements::n_for(self.tx, &mut self.ns, id)?)
    }

    fn opt_uuid(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Option<Uuid>> {
        let s: Option<String> = self
            .tx
            .prepare_cached(sql)?
            .query_row(args, |r| r.get(0))
            .optional()?;
        s.map(|s| parse_uuid(&s)).transpose()
    }

    fn opt_text(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row(args, |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    fn texts(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<String>> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_map(args, |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn exists(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<bool> {
        Ok(self.tx.prepare_cached(sql)?.exists(args)?)
    }

    fn execute(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<usize> {
        Ok(self.tx.prepare_cached(sql)?.execute(args)?)
    }

    /// A record's id and fingerprint found by a natural-key query selecting `fp, id`.
    fn id_fp(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Option<(Uuid, String)>> {
        let row: Option<(String, String)> = self
            .tx
            .prepare_cached(sql)?
            .query_row(args, |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(fp, id)| Ok((parse_uuid(&id)?, fp))).transpose()
    }

    /// A lot's stock counted from its current records, with its first arrival and first departure.
    fn stock_from_records(&self, batch: Uuid, holder: Uuid) -> Result<KeptStock> {
        let (b, h) = (batch.to_string(), holder.to_string());
        let mut s = LotStock::default();
        let (first_receipt, first_sent): (Option<i64>, Option<i64>);
        (
            s.received,
            s.shipped,
            s.sold,
            s.destroyed,
            s.returned,
            first_receipt,
            first_sent,
        ) = self
            .tx
            .prepare_cached(&format!(
                "SELECT
                    COALESCE(SUM(CASE WHEN kind = 'receive' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'ship' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'sell' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'destroy' THEN quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN kind = 'return' THEN quantity_milli END), 0),
                    MIN(CASE WHEN kind = 'receive' THEN at_ms END),
                    MIN(CASE WHEN kind IN ('ship', 'sell', 'return', 'destroy') THEN at_ms END)
                 FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT}"
            ))?
            .query_row(params![b, h], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
        let (first_made, first_used): (Option<i64>, Option<i64>);
        (s.produced, s.consumed, first_made, first_used) = self
            .tx
            .prepare_cached(&format!(
                "SELECT
                    COALESCE(SUM(CASE WHEN l.role = 'out' THEN l.quantity_milli END), 0),
                    COALESCE(SUM(CASE WHEN l.role = 'in' THEN l.quantity_milli END), 0),
                    MIN(CASE WHEN l.role = 'out' THEN m.at_ms END),
                    MIN(CASE WHEN l.role = 'in' THEN m.at_ms END)
                 FROM movement_lines l JOIN movements m ON m.seq = l.movement_seq
                 WHERE l.batch = (SELECT n FROM ids WHERE id = ?1) AND m.holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT}"
            ))?
            .query_row(params![b, h], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        s.reported_inbound = self
            .tx
            .prepare_cached(&format!(
                "SELECT COALESCE(SUM(quantity_milli), 0) FROM movements m
                 WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND counterparty_id = (SELECT n FROM ids WHERE id = ?2) AND kind IN ('ship', 'sell', 'return')
                   AND {CURRENT}"
            ))?
            .query_row(params![b, h], |r| r.get(0))?;
        Ok((
            s,
            earliest(first_receipt, first_made),
            earliest(first_sent, first_used),
        ))
    }
}

impl Ledger for SqliteLedger<'_> {
    fn prior_submission(
        &mut self,
        subject: &str,
        key: &str,
    ) -> StoreResult<Option<(String, String)>> {
        run(|| {
            Ok(self
                .tx
                .prepare_cached(
                    "SELECT request_hash, response FROM submissions WHERE subject = ?1 AND idem_key = ?2",
                )?
                .query_row(params![subject, key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
    }

    fn record_submission(
        &mut self,
        subject: &str,
        key: &str,
        request_hash: &str,
        response: &str,
        now: i64,
    ) -> StoreResult<()> {
        run(|| {
            self.execute(
                "INSERT INTO submissions (subject, idem_key, request_hash, response, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![subject, key, request_hash, response, now],
            )?;
            Ok(())
        })
    }

    fn stored_fp(&mut self, kind: RecordKind, id: Uuid) -> StoreResult<Option<String>> {
        let sql = match kind {
            RecordKind::Enterprise => "SELECT fp FROM enterprises WHERE id = ?1",
            RecordKind::Product => "SELECT fp FROM products WHERE id = ?1",
            RecordKind::Batch => "SELECT fp FROM batches WHERE id = ?1",
            RecordKind::Document => "SELECT fp FROM documents WHERE id = ?1",
            RecordKind::Movement => {
                return Err(coldtrace_store::StoreError::Task(
                    "a movement's fingerprint is movement_fp".into(),
                ));
            }
        };
        run(|| self.opt_text(sql, params![id.to_string()]))
    }

    fn movement_fp(&mut self, id: Uuid) -> StoreResult<Option<i64>> {
        run(|| {
            Ok(self
                .tx
                .prepare_cached("SELECT fp FROM movements WHERE id = ?1")?
                .query_row([id.as_bytes().as_slice()], |r| r.get(0))
                .optional()?)
        })
    }

    fn stake(&mut self, kind: RecordKind, id: Uuid) -> StoreResult<Option<(Uuid, Option<String>)>> {
        run(|| {
            let row: Option<(String, Option<String>)> = match kind {
                RecordKind::Movement => self
                    .tx
                    .prepare_cached(
                        "SELECT (SELECT id FROM ids WHERE n = holder), holder_province FROM movements
                         WHERE id = ?1",
                    )?
                    .query_row([id.as_bytes().as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
                _ => {
                    let sql = match kind {
                        RecordKind::Enterprise => "SELECT id, province FROM enterprises WHERE id = ?1",
                        RecordKind::Product => {
                            "SELECT owner, owner_province FROM products WHERE id = ?1"
                        }
                        RecordKind::Batch => "SELECT owner, NULL FROM batches WHERE id = ?1",
                        _ => "SELECT owner, NULL FROM documents WHERE id = ?1",
                    };
                    self.tx
                        .prepare_cached(sql)?
                        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?
                }
            };
            row.map(|(o, p)| Ok((parse_uuid(&o)?, p))).transpose()
        })
    }

    fn enterprise_province(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        run(|| {
            self.opt_text(
                "SELECT province FROM enterprises WHERE id = ?1",
                params![id.to_string()],
            )
        })
    }

    fn enterprise_uscc(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        run(|| {
            self.opt_text(
                "SELECT uscc FROM enterprises WHERE id = ?1 ORDER BY seq DESC LIMIT 1",
                params![id.to_string()],
            )
        })
    }

    fn first_with_uscc(&mut self, uscc: &str) -> StoreResult<Option<(Uuid, String)>> {
        run(|| {
            self.id_fp(
                "SELECT fp, id FROM enterprises WHERE uscc = ?1 ORDER BY seq LIMIT 1",
                params![uscc],
            )
        })
    }

    fn latest_with_uscc(&mut self, uscc: &str) -> StoreResult<Option<Uuid>> {
        run(|| {
            self.opt_uuid(
                "SELECT id FROM enterprises WHERE uscc = ?1 ORDER BY seq DESC LIMIT 1",
                params![uscc],
            )
        })
    }

    fn gln_holder(&mut self, gln: &str, uscc: &str) -> StoreResult<Option<String>> {
        run(|| {
            self.opt_text(
                "SELECT e.uscc FROM enterprises e WHERE json_extract(e.body, '$.gln') = ?1 AND e.uscc != ?2
                   AND e.seq = (SELECT MAX(n.seq) FROM enterprises n WHERE n.uscc = e.uscc) LIMIT 1",
                params![gln, uscc],
            )
        })
    }

    fn insert_enterprise(
        &mut self,
        e: &Enterprise,
        fp: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        run(|| {
            self.execute(
                "INSERT INTO enterprises (id, uscc, province, region, kind, name, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    e.id.to_string(),
                    e.uscc.as_str(),
                    e.region.province().as_str(),
                    e.region.as_str(),
                    e.kind.as_str(),
                    e.name,
                    e.corrects.map(|c| c.to_string()),
                    fp,
                    body,
                    now
                ],
            )?;
            Ok(())
        })
    }

    fn product_owner(&mut self, id: Uuid) -> StoreResult<Option<Uuid>> {
        run(|| {
            self.opt_uuid(
                "SELECT owner FROM products WHERE id = ?1",
                params![id.to_string()],
            )
        })
    }

    fn insert_product(
        &mut self,
        p: &Product,
        owner_province: &str,
        fp: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        run(|| {
            self.execute(
                "INSERT INTO products (id, owner, owner_province, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    p.id.to_string(),
                    p.owner.to_string(),
                    owner_province,
                    p.corrects.map(|c| c.to_string()),
                    fp,
                    body,
                    now
                ],
            )?;
            Ok(())
        })
    }

    fn batch_owner(&mut self, id: Uuid) -> StoreResult<Option<Uuid>> {
        run(|| {
            self.opt_uuid(
                "SELECT owner FROM batches WHERE id = ?1",
                params![id.to_string()],
            )
        })
    }

    fn batch_record(&mut self, id: Uuid) -> StoreResult<Option<Batch>> {
        run(|| {
            let body = self.opt_text(
                "SELECT body FROM batches WHERE id = ?1",
                params![id.to_string()],
            )?;
            // A body this release no longer reads (older rules) counts as unknown: its quantity check is skipped.
            Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
        })
    }

    fn first_numbered(
        &mut self,
        owner: Uuid,
        batch_no: &str,
    ) -> StoreResult<Option<(Uuid, String)>> {
        run(|| {
            self.id_fp(
                "SELECT fp, id FROM batches WHERE owner = ?1 AND batch_no = ?2 ORDER BY seq LIMIT 1",
                params![owner.to_string(), batch_no],
            )
        })
    }

    fn latest_numbered(&mut self, owner: Uuid, batch_no: &str) -> StoreResult<Option<Uuid>> {
        run(|| {
            self.opt_uuid(
                "SELECT id FROM batches WHERE owner = ?1 AND batch_no = ?2 ORDER BY seq DESC LIMIT 1",
                params![owner.to_string(), batch_no],
            )
        })
    }

    fn code_holder(&mut self, key: &str) -> StoreResult<Option<(Uuid, Uuid)>> {
        run(|| {
            let row: Option<(String, String)> = self
                .tx
                .prepare_cached(
                    "SELECT t.batch_id, b.owner FROM trace_codes t JOIN batches b ON b.id = t.batch_id
                     WHERE t.key = ?1",
                )?
                .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            row.map(|(b, o)| Ok((parse_uuid(&b)?, parse_uuid(&o)?)))
                .transpose()
        })
    }

    fn put_trace_code(&mut self, code: &TraceCode, batch: Uuid) -> StoreResult<()> {
        run(|| {
            self.execute(
                "INSERT OR REPLACE INTO trace_codes (key, batch_id, scheme, value) VALUES (?1, ?2, ?3, ?4)",
                params![code.key, batch.to_string(), code.scheme.as_str(), code.value],
            )?;
            Ok(())
        })
    }

    fn insert_batch(&mut self, b: &Batch, fp: &str, body: &str, now: i64) -> StoreResult<u64> {
        run(|| {
            self.execute(
                "INSERT INTO batches (id, owner, product, batch_no, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    b.id.to_string(),
                    b.owner.to_string(),
                    b.product.to_string(),
                    b.batch_no,
                    b.corrects.map(|c| c.to_string()),
                    fp,
                    body,
                    now
                ],
            )?;
            Ok(self.tx.last_insert_rowid() as u64)
        })
    }

    fn has_access(&mut self, batch: Uuid, enterprise: Uuid) -> StoreResult<bool> {
        run(|| {
            self.exists(
                &format!(
                    "SELECT 1 FROM batch_access WHERE batch = {} AND enterprise = {}",
                    n_of(1),
                    n_of(2)
                ),
                params![batch.to_string(), enterprise.to_string()],
            )
        })
    }

    fn grant(&mut self, batch: Uuid, enterprise: Uuid, province: &str) -> StoreResult<()> {
        run(|| {
            let (b, e) = (self.n(batch)?, self.n(enterprise)?);
            self.execute(
                "INSERT OR IGNORE INTO batch_access (batch, enterprise, province) VALUES (?1, ?2, ?3)",
                params![b, e, province],
            )?;
            Ok(())
        })
    }

    fn shipped_to(&mut self, batch: Uuid, uscc: &str, from: Option<Uuid>) -> StoreResult<bool> {
        run(|| {
            self.exists(
                "SELECT 1 FROM movements WHERE batch = (SELECT n FROM ids WHERE id = ?1)
                   AND counterparty IN (SELECT n FROM counterparties WHERE uscc = ?2)
                   AND kind IN ('ship', 'sell', 'return')
                   AND (?3 IS NULL OR holder = (SELECT n FROM ids WHERE id = ?3)) LIMIT 1",
                params![batch.to_string(), uscc, from.map(|f| f.to_string())],
            )
        })
    }

    fn attachment_usable(
        &mut self,
        sha256: &str,
        owner: Uuid,
        any_owner: bool,
    ) -> StoreResult<bool> {
        run(|| {
            self.exists(
                "SELECT 1 FROM attachments a WHERE a.sha256 = ?1 AND (?2 OR EXISTS
                   (SELECT 1 FROM attachment_owners o WHERE o.sha256 = a.sha256 AND o.enterprise_id = ?3))",
                params![sha256, any_owner, owner.to_string()],
            )
        })
    }

    fn insert_document(
        &mut self,
        d: &Document,
        batch: Uuid,
        fp: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        run(|| {
            self.execute(
                "INSERT INTO documents (id, batch_id, owner, kind, attachment, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    d.id.to_string(),
                    batch.to_string(),
                    d.owner.to_string(),
                    d.kind.as_str(),
                    d.attachment_sha256,
                    d.corrects.map(|c| c.to_string()),
                    fp,
                    body,
                    now
                ],
            )?;
            Ok(())
        })
    }

    fn insert_movement(&mut self, m: &Movement, refs: &MovementRefs) -> StoreResult<u64> {
        run(|| {
            let seq = crate::movements::insert(
                self.tx,
                &mut self.ns,
                m,
                &crate::movements::Refs {
                    seq: None,
                    holder: refs.holder,
                    holder_province: refs.holder_province.clone(),
                    holder_key: refs.holder_key,
                    batch: refs.batch,
                    counterparty_id: refs.counterparty_id,
                    fp: refs.fp,
                    recorded_at: refs.recorded_at,
                },
            )?;
            Ok(seq as u64)
        })
    }

    fn declarations_of_product(&mut self, product: Uuid) -> StoreResult<Vec<String>> {
        run(|| {
            // Batches name the product's first version.
            let root = crate::customs::root(self.tx, "products", product.to_string());
            self.texts(
                "SELECT DISTINCT json_extract(body, '$.declaration_no') FROM batches
                 WHERE product = ?1 AND json_extract(body, '$.declaration_no') IS NOT NULL",
                params![root],
            )
        })
    }

    fn batch_declaration(&mut self, batch: Uuid) -> StoreResult<Option<String>> {
        run(|| {
            self.opt_text(
                "SELECT json_extract(body, '$.declaration_no') FROM batches WHERE id = ?1",
                params![batch.to_string()],
            )
        })
    }

    fn cross_check(
        &mut self,
        now: i64,
        checks: &CheckPolicy,
        scope: &BTreeSet<String>,
        refusable: &HashSet<Uuid>,
    ) -> StoreResult<Vec<CustomsRefusal>> {
        run(|| {
            self.settle()?;
            let o = crate::customs::cross_check(self.tx, now, checks, Some(scope), refusable)?;
            Ok(o.refusals
                .into_iter()
                .map(|(b, field, message)| (b, field.to_string(), message))
                .collect())
        })
    }

    fn import_marks(
        &mut self,
        batch: Uuid,
    ) -> StoreResult<Option<(Option<String>, Option<String>)>> {
        run(|| {
            Ok(self
                .tx
                .prepare_cached(
                    "SELECT json_extract(b.body, '$.declaration_no'), json_extract(p.body, '$.origin_country')
                     FROM batches b LEFT JOIN products p ON p.id = b.product WHERE b.id = ?1",
                )?
                .query_row([batch.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
    }

    fn document_kinds(&mut self, batch: Uuid) -> StoreResult<Vec<String>> {
        run(|| {
            self.texts(
                "SELECT DISTINCT kind FROM documents WHERE batch_id = ?1",
                params![batch.to_string()],
            )
        })
    }

    fn has_trace_code(&mut self, batch: Uuid) -> StoreResult<bool> {
        run(|| {
            self.exists(
                "SELECT 1 FROM trace_codes WHERE batch_id = ?1 LIMIT 1",
                params![batch.to_string()],
            )
        })
    }

    fn latest_nucleic_acid(&mut self, batch: Uuid) -> StoreResult<Option<String>> {
        run(|| {
            self.opt_text(
                "SELECT MAX(json_extract(d.body, '$.issued_on')) FROM documents d
                 WHERE d.batch_id = ?1 AND d.kind = 'nucleic_acid'
                    AND NOT EXISTS (SELECT 1 FROM documents c WHERE c.corrects = d.id)",
                params![batch.to_string()],
            )
        })
    }

    fn flag(
        &mut self,
        v: &Violation,
        enterprise: Uuid,
        province: Option<&str>,
        batch: Option<Uuid>,
        movement: Option<Uuid>,
        now: i64,
    ) -> StoreResult<()> {
        self.flags
            .hold(v, enterprise, province, batch, movement, now);
        Ok(())
    }

    fn resolve(&mut self, subject: &str, now: i64) -> StoreResult<()> {
        run(|| {
            // Only a flag held about the same subject must be written first (resolving reads no stock).
            if self.flags.holds(subject) {
                self.write_flags()?;
            }
            self.execute(
                &format!(
                    "{} WHERE subject = ?1 AND status = 'open'",
                    resolve_by_records(2)
                ),
                params![subject, now],
            )?;
            Ok(())
        })
    }

    fn resolve_in_transit(
        &mut self,
        batch: Uuid,
        sender: Uuid,
        receiver: Uuid,
        now: i64,
    ) -> StoreResult<()> {
        // In-transit findings are opened by the sweep, never held back here, so nothing is written first. The
        // batch's open in-transit findings (few) are each checked against their own shipment, not matched
        // against every movement of the batch.
        run(|| {
            self.execute(
                &format!(
                    "{}
                     WHERE rule = 'in_transit' AND status = 'open' AND batch = ?1 AND EXISTS (
                        SELECT 1 FROM movements m WHERE m.id = unhex(replace(findings.movement, '-', ''))
                          AND m.batch = (SELECT n FROM ids WHERE id = ?1)
                          AND m.holder = (SELECT n FROM ids WHERE id = ?2)
                          AND m.counterparty_id = (SELECT n FROM ids WHERE id = ?3))",
                    resolve_by_records(4),
                ),
                params![
                    batch.to_string(),
                    sender.to_string(),
                    receiver.to_string(),
                    now
                ],
            )?;
            Ok(())
        })
    }

    fn resolve_unregistered(&mut self, uscc: &str, now: i64) -> StoreResult<()> {
        run(|| {
            self.settle()?;
            self.execute(
                &format!(
                    "{}
                     WHERE status = 'open' AND rule = 'unregistered_counterparty' AND subject LIKE ?1",
                    resolve_by_records(2)
                ),
                params![format!("party:{uscc}:%"), now],
            )?;
            Ok(())
        })
    }

    fn resolve_dormant(&mut self, lots: &[(Uuid, Uuid)], now: i64) -> StoreResult<()> {
        run(|| {
            self.settle()?;
            // A lot that moved since its dormant finding was opened is no longer dormant (a backdated record or
            // a correction that leaves the last movement where it was changes nothing; the sweep sees seals). The
            // finding's subject ends with the last movement it was opened for.
            for (batch, holder) in lots {
                self.execute(
                    &format!(
                        "{}
                         WHERE rule = 'dormant_stock' AND status = 'open' AND batch = ?1 AND enterprise = ?2
                            AND CAST(substr(subject, length('dormant:') + 36 + 1 + 36 + 2) AS INTEGER) <
                                COALESCE((SELECT last_at FROM lot_stock WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND holder = (SELECT n FROM ids WHERE id = ?2)), 0)",
                        resolve_by_records(3)
                    ),
                    params![batch.to_string(), holder.to_string(), now],
                )?;
            }
            Ok(())
        })
    }

    fn open_subjects(&mut self, rule: &str, batch: Uuid) -> StoreResult<Vec<String>> {
        run(|| {
            self.settle()?;
            self.texts(
                "SELECT subject FROM findings WHERE rule = ?1 AND status = 'open' AND batch = ?2",
                params![rule, batch.to_string()],
            )
        })
    }

    fn stale_nucleic_acid_findings(&mut self, batch: Uuid) -> StoreResult<Vec<(String, i64)>> {
        run(|| {
            self.settle()?;
            Ok(self
                .tx
                .prepare_cached(
                    "SELECT f.subject, MAX(m.at_ms, COALESCE((SELECT MAX(x.at_ms) FROM movements x
                        INDEXED BY movements_batch
                        WHERE x.batch = (SELECT n FROM ids WHERE id = f.batch)
                        AND x.holder = (SELECT n FROM ids WHERE id = f.enterprise)
                        AND x.kind IN ('ship', 'sell')), 0))
                     FROM findings f JOIN movements m ON m.id = unhex(replace(f.movement, '-', ''))
                     WHERE f.rule = 'stale_nucleic_acid' AND f.status = 'open' AND f.batch = ?1",
                )?
                .query_map([batch.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn first_shipment(
        &mut self,
        batch: Uuid,
        sender: Uuid,
        receiver: Uuid,
    ) -> StoreResult<Option<i64>> {
        run(|| {
            Ok(self
                .tx
                .prepare_cached(&format!(
                    "SELECT MIN(at_ms) FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1)
                     AND holder = (SELECT n FROM ids WHERE id = ?2) AND counterparty_id = (SELECT n FROM ids WHERE id = ?3)
                     AND kind IN ('ship', 'sell', 'return') AND {CURRENT}"
                ))?
                .query_row(
                    params![batch.to_string(), sender.to_string(), receiver.to_string()],
                    |r| r.get(0),
                )
                .optional()?
                .flatten())
        })
    }

    fn stock_add(
        &mut self,
        batch: Uuid,
        holder: Uuid,
        col: StockColumn,
        quantity: i64,
        at: i64,
        first_in: Option<i64>,
        first_out: Option<i64>,
    ) -> StoreResult<()> {
        run(|| {
            let key = (self.n(batch)?, self.n(holder)?);
            self.stock
                .entry(key)
                .or_default()
                .add(col, quantity, at, first_in, first_out);
            Ok(())
        })
    }

    fn lot_stock(&mut self, batch: Uuid, holder: Uuid) -> StoreResult<KeptStock> {
        run(|| {
            // The stored row with the lot's held-back changes added: asking does not write them.
            let held = match (self.ns.known(batch), self.ns.known(holder)) {
                (Some(b), Some(h)) => self.stock.get(&(b, h)).copied(),
                _ => None,
            };
            let row = self
                .tx
                .prepare_cached(
                    "SELECT received, produced, reported_inbound, shipped, sold, consumed, destroyed, returned,
                        first_in, first_out
                     FROM lot_stock WHERE batch = (SELECT n FROM ids WHERE id = ?1)
                        AND holder = (SELECT n FROM ids WHERE id = ?2)",
                )?
                .query_row(params![batch.to_string(), holder.to_string()], |r| {
                    Ok((
                        LotStock {
                            received: r.get(0)?,
                            produced: r.get(1)?,
                            reported_inbound: r.get(2)?,
                            shipped: r.get(3)?,
                            sold: r.get(4)?,
                            consumed: r.get(5)?,
                            destroyed: r.get(6)?,
                            returned: r.get(7)?,
                        },
                        r.get(8)?,
                        r.get(9)?,
                    ))
                })
                .optional()?;
            let stored = row.unwrap_or_default();
            Ok(held.map_or(stored, |d| d.onto(stored)))
        })
    }

    fn recount_lot(&mut self, batch: Uuid, holder: Uuid) -> StoreResult<()> {
        run(|| {
            self.settle()?;
            let (s, first_in, first_out) = self.stock_from_records(batch, holder)?;
            let last_at: Option<i64> = self
                .tx
                .prepare_cached(&format!(
                    "SELECT MAX(t) FROM (
                        SELECT MAX(at_ms) AS t FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT}
                        UNION ALL
                        SELECT MAX(at_ms) FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = ?1) AND counterparty_id = (SELECT n FROM ids WHERE id = ?2)
                            AND kind IN ('ship', 'sell', 'return') AND {CURRENT}
                        UNION ALL
                        SELECT MAX(m.at_ms) FROM movement_lines l JOIN movements m ON m.seq = l.movement_seq
                            WHERE l.batch = (SELECT n FROM ids WHERE id = ?1) AND m.holder = (SELECT n FROM ids WHERE id = ?2) AND {CURRENT})"
                ))?
                .query_row(params![batch.to_string(), holder.to_string()], |r| r.get(0))?;
            let (b, h) = (self.n(batch)?, self.n(holder)?);
            self.execute(
                "INSERT OR REPLACE INTO lot_stock (batch, holder, received, produced, reported_inbound, shipped,
                    sold, consumed, destroyed, returned, first_in, first_out, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    b,
                    h,
                    s.received,
                    s.produced,
                    s.reported_inbound,
                    s.shipped,
                    s.sold,
                    s.consumed,
                    s.destroyed,
                    s.returned,
                    first_in,
                    first_out,
                    last_at
                ],
            )?;
            Ok(())
        })
    }

    fn lots_of_movement(&mut self, id: Uuid) -> StoreResult<Vec<(Uuid, Uuid)>> {
        run(|| {
            let row: Option<(i64, Option<String>, String, Option<String>)> = self
                .tx
                .prepare_cached(
                    "SELECT seq, (SELECT id FROM ids WHERE n = batch), (SELECT id FROM ids WHERE n = holder),
                        (SELECT id FROM ids WHERE n = counterparty_id)
                     FROM movements WHERE id = ?1",
                )?
                .query_row([id.as_bytes().as_slice()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            let Some((seq, batch, holder, cp)) = row else {
                return Ok(vec![]);
            };
            let parse = |s: &str| Uuid::parse_str(s).ok();
            let holder = parse(&holder);
            let mut out = Vec::new();
            if let (Some(b), Some(h)) = (batch.as_deref().and_then(parse), holder) {
                out.push((b, h));
                if let Some(c) = cp.as_deref().and_then(parse) {
                    out.push((b, c));
                }
            }
            let lines = self.texts(
                "SELECT (SELECT id FROM ids WHERE n = batch) FROM movement_lines WHERE movement_seq = ?1",
                params![seq],
            )?;
            if let Some(h) = holder {
                out.extend(lines.iter().filter_map(|b| parse(b)).map(|b| (b, h)));
            }
            Ok(out)
        })
    }

    fn flush(&mut self) -> StoreResult<()> {
        run(|| self.settle())
    }

    fn report(&mut self, fresh: &coldtrace_store::report::Fresh, now: i64) -> StoreResult<()> {
        // The docking messages read neither findings nor stock: what is held is written at `flush`.
        match self.docking {
            Some(cfg) => run(|| crate::docking::emit(self.tx, cfg, fresh, now)),
            None => Ok(()),
        }
    }
}
