//! The submission transaction: every record of a submission in one `BEGIN IMMEDIATE … COMMIT`.

use std::collections::HashMap;

use coldtrace_domain::ownership;
use coldtrace_domain::party;
use coldtrace_domain::{Batch, BatchRef, Document, Enterprise, Product, ValidationErrors};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::*;

mod checks;
mod movement;
mod rules;
mod stock;
use crate::{Receipt, Result, StoreError, SubmitOutcome, SubmitRequest};
pub(crate) use movement::flow_kind;

/// The errors of one submission, split into refusals (422) and collisions (409).
#[derive(Default)]
struct Problems {
    invalid: ValidationErrors,
    conflict: ValidationErrors,
}

/// The state of one submission inside its transaction.
struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    /// Who writes, for the ownership rules.
    writer: coldtrace_domain::Writer,
    now: i64,
    problems: Problems,
    receipt: Receipt,
    /// Province of each enterprise seen in this submission (owner, holder, counterparty).
    provinces: HashMap<Uuid, Option<String>>,
    /// Party key of each enterprise seen (by USCC).
    party_keys: HashMap<Uuid, Uuid>,
    /// Flows of the movements stored, for the trace index.
    flows: Vec<coldtrace_trace::Flow>,
    /// Batch references already resolved in this submission (bulk ledgers name the same batch many times).
    resolved: HashMap<(Uuid, BatchRef), Uuid>,
    /// `batch_access` rows already written in this submission.
    granted: std::collections::HashSet<(Uuid, Uuid)>,
    /// Counterparty USCC to registered enterprise id.
    counterparties: HashMap<String, Option<Uuid>>,
    /// The numbers (`ids.n`) of the ids this submission referred to.
    ns: crate::movements::Ns,
    /// Records stored for the first time, to report to the national platform.
    fresh: coldtrace_store::report::Fresh,
    /// The province's policy for the ledger checks.
    checks: coldtrace_domain::checks::CheckPolicy,
    /// Lots (batch, holder) the submission's movements touched: the movement (index, id) that last took goods
    /// out (else the first to touch it), and the lot's balance before the submission.
    lots_touched: std::collections::BTreeMap<(Uuid, Uuid), (usize, Uuid, i64)>,
    /// Batches the submission stored documents for.
    papers_changed: std::collections::BTreeSet<Uuid>,
    /// Declared batch quantities read in this submission.
    batch_quantities: HashMap<Uuid, Option<i64>>,
    /// The papers of each imported batch moved in this submission; `None` for domestic goods.
    papers: HashMap<Uuid, Option<checks::Papers>>,
}

/// A stored record under the same id or natural key: its id, and whether its content is the same.
type Found = Option<(Uuid, bool)>;

impl Tx<'_> {
    fn province_of(&mut self, e: Uuid) -> Result<Option<String>> {
        if let Some(p) = self.provinces.get(&e) {
            return Ok(p.clone());
        }
        let p: Option<String> = self
            .tx
            .prepare_cached("SELECT province FROM enterprises WHERE id = ?1")?
            .query_row([e.to_string()], |r| r.get(0))
            .optional()?;
        self.provinces.insert(e, p.clone());
        Ok(p)
    }

    /// The party key of a registered enterprise (by its USCC); a stable fallback for an unknown id.
    fn party_key(&mut self, e: Uuid) -> Result<Uuid> {
        if let Some(k) = self.party_keys.get(&e) {
            return Ok(*k);
        }
        let uscc: Option<String> = self
            .tx
            .prepare_cached("SELECT uscc FROM enterprises WHERE id = ?1 ORDER BY seq DESC LIMIT 1")?
            .query_row([e.to_string()], |r| r.get(0))
            .optional()?;
        let k = match uscc.and_then(|u| coldtrace_domain::Uscc::parse_overridden(&u).ok()) {
            Some(u) => party::by_uscc(&u),
            None => e,
        };
        self.party_keys.insert(e, k);
        Ok(k)
    }

    /// The stored record with this id, if any.
    fn by_id<F: rusqlite::types::FromSql + PartialEq>(
        &self,
        table: &str,
        id: Uuid,
        fp: &F,
    ) -> Result<Found> {
        let sql = format!("SELECT fp FROM {table} WHERE id = ?1");
        self.by_key(&sql, &[&id.to_string()], id, fp)
    }

    /// The first stored record a natural-key query (selecting `fp`, and `id` when `id` is nil) finds; `fp` is
    /// the fingerprint as the table keeps it (hex text, or a movement's 8 bytes).
    fn by_key<F: rusqlite::types::FromSql + PartialEq>(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
        id: Uuid,
        fp: &F,
    ) -> Result<Found> {
        let found: Option<(F, Option<String>)> = self
            .tx
            .prepare_cached(sql)?
            .query_row(args, |r| Ok((r.get(0)?, r.get(1).ok())))
            .optional()?;
        Ok(match found {
            None => None,
            Some((f, stored)) => {
                let stored = stored.and_then(|s| Uuid::parse_str(&s).ok()).unwrap_or(id);
                Some((stored, f == *fp))
            }
        })
    }

    /// Settles a record that is already stored: the same content answers the stored id and stores nothing, other
    /// content is a conflict at `field`. Returns true when it was found (and so must not be inserted).
    fn settle(
        &mut self,
        found: Found,
        field: String,
        conflict: impl FnOnce(Uuid) -> String,
        ids: fn(&mut Receipt) -> &mut Vec<Uuid>,
    ) -> bool {
        match found {
            None => false,
            Some((id, true)) => {
                ids(&mut self.receipt).push(id);
                self.receipt.unchanged += 1;
                true
            }
            Some((id, false)) => {
                self.problems.conflict.push(field, conflict(id));
                true
            }
        }
    }

    fn enterprise(&mut self, i: usize, e: &Enterprise) -> Result<()> {
        let at = format!("enterprises[{i}]");
        let (fp, body) = encode(e)?;
        let found = self.by_id("enterprises", e.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("enterprise {id} exists with other content"),
            |r| &mut r.enterprises,
        ) {
            return Ok(());
        }
        self.check_corrects("enterprises", &at, e.corrects)?;
        if e.corrects.is_none() {
            let found = self.by_key(
                "SELECT fp, id FROM enterprises WHERE uscc = ?1 ORDER BY seq LIMIT 1",
                &[&e.uscc.as_str()],
                Uuid::nil(),
                &fp,
            )?;
            let conflict = |id| {
                format!(
                    "already registered as enterprise {id}; send a correction (corrects) to change it"
                )
            };
            if self.settle(found, format!("{at}.uscc"), conflict, |r| {
                &mut r.enterprises
            }) {
                return Ok(());
            }
        }
        // A GLN names one business: another enterprise's current GLN is refused, so EPCIS parties cannot be
        // redirected by registering someone else's GLN.
        if let Some(gln) = &e.gln {
            let holders: Vec<String> = self
                .tx
                .prepare_cached(
                    "SELECT e.uscc FROM enterprises e WHERE json_extract(e.body, '$.gln') = ?1 AND e.uscc != ?2
                       AND e.seq = (SELECT MAX(n.seq) FROM enterprises n WHERE n.uscc = e.uscc)",
                )?
                .query_map(params![gln, e.uscc.as_str()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if let Some(u) = holders.first() {
                self.problems.conflict.push(
                    format!("{at}.gln"),
                    format!("GLN {gln} is registered to the enterprise with USCC {u}"),
                );
                return Ok(());
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO enterprises (id, uscc, province, region, kind, name, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                e.id.to_string(),
                e.uscc.as_str(),
                e.region.province().as_str(),
                e.region.as_str(),
                e.kind.as_str(),
                e.name,
                e.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        self.provinces
            .insert(e.id, Some(e.region.province().as_str().to_string()));
        self.registered(e.uscc.as_str())?;
        self.receipt.enterprises.push(e.id);
        self.fresh.enterprises.push(e.clone());
        Ok(())
    }

    fn product(&mut self, i: usize, p: &Product) -> Result<()> {
        let at = format!("products[{i}]");
        let (fp, body) = encode(p)?;
        let found = self.by_id("products", p.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("product {id} exists with other content"),
            |r| &mut r.products,
        ) {
            return Ok(());
        }
        self.check_corrects("products", &at, p.corrects)?;
        let province = self.province_of(p.owner)?.unwrap_or_default();
        self.tx
            .prepare_cached(
                "INSERT INTO products (id, owner, owner_province, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                p.id.to_string(),
                p.owner.to_string(),
                province,
                p.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        self.receipt.products.push(p.id);
        Ok(())
    }

    fn batch(&mut self, i: usize, b: &Batch) -> Result<()> {
        let at = format!("batches[{i}]");
        let (fp, body) = encode(b)?;
        let found = self.by_id("batches", b.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("batch {id} exists with other content"),
            |r| &mut r.batches,
        ) {
            return Ok(());
        }
        self.check_corrects("batches", &at, b.corrects)?;
        let product_owner: Option<String> = self
            .tx
            .prepare_cached("SELECT owner FROM products WHERE id = ?1")?
            .query_row([b.product.to_string()], |r| r.get(0))
            .optional()?;
        let own_product = match (&self.writer, product_owner) {
            (_, None) => false,
            (coldtrace_domain::Writer::Operator, Some(_)) => true,
            (_, Some(o)) => parse_uuid(&o)? == b.owner,
        };
        if !own_product {
            self.problems.invalid.push(
                format!("{at}.product_id"),
                format!("no product with id {}", b.product),
            );
        }
        if b.corrects.is_none() {
            let found = self.by_key(
                "SELECT fp, id FROM batches WHERE owner = ?1 AND batch_no = ?2 ORDER BY seq LIMIT 1",
                &[&b.owner.to_string(), &b.batch_no],
                Uuid::nil(),
                &fp,
            )?;
            let conflict = |id| {
                format!(
                    "you already have batch {:?} ({id}) with other content; send a correction (corrects)",
                    b.batch_no
                )
            };
            if self.settle(found, format!("{at}.batch_no"), conflict, |r| {
                &mut r.batches
            }) {
                return Ok(());
            }
        }
        for (j, c) in b.trace_codes.iter().enumerate() {
            let current: Option<(String, String)> = self
                .tx
                .prepare_cached(
                    "SELECT t.batch_id, b.owner FROM trace_codes t JOIN batches b ON b.id = t.batch_id WHERE t.key = ?1",
                )?
                .query_row([&c.key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let taken = match current {
                None => false,
                Some((other, other_owner)) => {
                    let (other, other_owner) = (parse_uuid(&other)?, parse_uuid(&other_owner)?);
                    !ownership::may_take_code(&self.writer, other, other_owner, b.corrects)
                }
            };
            if taken {
                self.problems.conflict.push(
                    format!("{at}.trace_codes[{j}].value"),
                    "already identifies another batch; a code stays with its batch",
                );
            } else {
                self.tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO trace_codes (key, batch_id, scheme, value) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![c.key, b.id.to_string(), c.scheme.as_str(), c.value])?;
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO batches (id, owner, product, batch_no, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                b.id.to_string(),
                b.owner.to_string(),
                b.product.to_string(),
                b.batch_no,
                b.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        let serial = self.tx.last_insert_rowid();
        self.grant(b.id, b.owner)?;
        self.receipt.batches.push(b.id);
        self.fresh.batches.push((serial as u64, b.clone()));
        Ok(())
    }

    /// The customs cross-check of the submission's imported batches (and of the batches they correct, and those
    /// of products it corrects), against their declarations: the same rules a customs feed and the sweep run.
    fn check_customs(&mut self, batches: &[Batch], products: &[Product]) -> Result<()> {
        let mut scope = std::collections::BTreeSet::new();
        // A corrected product (its HS code, origin or establishment) bears on every batch of it.
        for p in products {
            if let Some(old) = p.corrects {
                // Batches name the product's first version.
                let old = crate::customs::root(self.tx, "products", old.to_string());
                let mut st = self.tx.prepare_cached(
                    "SELECT DISTINCT json_extract(body, '$.declaration_no') FROM batches
                     WHERE product = ?1 AND json_extract(body, '$.declaration_no') IS NOT NULL",
                )?;
                for d in st.query_map([old], |r| r.get::<_, String>(0))? {
                    scope.insert(d?);
                }
            }
        }
        let mut index = HashMap::new();
        for (i, b) in batches.iter().enumerate() {
            index.insert(b.id, i);
            if let Some(d) = &b.declaration_no {
                scope.insert(d.as_str().to_string());
            }
            if let Some(old) = b.corrects {
                let d: Option<Option<String>> = self
                    .tx
                    .prepare_cached(
                        "SELECT json_extract(body, '$.declaration_no') FROM batches WHERE id = ?1",
                    )?
                    .query_row([old.to_string()], |r| r.get(0))
                    .optional()?;
                scope.extend(d.flatten());
            }
        }
        if scope.is_empty() {
            return Ok(());
        }
        let refusable = index.keys().copied().collect();
        let o =
            crate::customs::cross_check(self.tx, self.now, &self.checks, Some(&scope), &refusable)?;
        for (batch, field, message) in o.refusals {
            self.problems
                .invalid
                .push(format!("batches[{}].{field}", index[&batch]), message);
        }
        Ok(())
    }

    fn document(&mut self, i: usize, d: &Document) -> Result<()> {
        let at = format!("documents[{i}]");
        let Some(batch) = self.resolve(d.owner, &d.batch, &at)? else {
            return Ok(());
        };
        let mut d = d.clone();
        d.batch = BatchRef::Id(batch);
        let (fp, body) = encode(&d)?;
        let found = self.by_id("documents", d.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("document {id} exists with other content"),
            |r| &mut r.documents,
        ) {
            return Ok(());
        }
        self.check_corrects("documents", &at, d.corrects)?;
        if let Some(h) = &d.attachment_sha256 {
            let found = self
                .tx
                .prepare_cached(
                    "SELECT 1 FROM attachments a WHERE a.sha256 = ?1 AND (?2 OR EXISTS
                       (SELECT 1 FROM attachment_owners o WHERE o.sha256 = a.sha256 AND o.enterprise_id = ?3))",
                )?
                .query_row(
                    params![
                        h,
                        self.writer == coldtrace_domain::Writer::Operator,
                        d.owner.to_string()
                    ],
                    |_| Ok(()),
                )
                .optional()?;
            if found.is_none() {
                self.problems.invalid.push(
                    format!("{at}.attachment_sha256"),
                    "no attachment with this hash; upload it first",
                );
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO documents (id, batch_id, owner, kind, attachment, corrects, fp, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                d.id.to_string(),
                batch.to_string(),
                d.owner.to_string(),
                d.kind.as_str(),
                d.attachment_sha256,
                d.corrects.map(|c| c.to_string()),
                fp,
                body,
                self.now
            ])?;
        self.grant(batch, d.owner)?;
        self.papers_added(batch);
        self.receipt.documents.push(d.id);
        Ok(())
    }
}

pub(super) fn submit_blocking(
    conn: &mut Connection,
    req: SubmitRequest,
    docking: Option<&crate::DockingConfig>,
) -> Result<SubmitOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(key) = &req.idempotency_key {
        let prior: Option<(String, String)> = tx
            .prepare_cached("SELECT request_hash, response FROM submissions WHERE subject = ?1 AND idem_key = ?2")?
            .query_row(params![req.subject, key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((hash, response)) = prior {
            if hash != req.request_hash {
                return Err(StoreError::KeyReused(key.clone()).into());
            }
            return Ok(SubmitOutcome {
                receipt: serde_json::from_str(&response)?,
                replayed: true,
                flows: vec![],
            });
        }
    }
    let mut t = Tx {
        tx: &tx,
        writer: req.writer.clone(),
        now: now_ms(),
        problems: Problems::default(),
        receipt: Receipt::default(),
        provinces: HashMap::new(),
        party_keys: HashMap::new(),
        flows: Vec::new(),
        resolved: HashMap::new(),
        granted: Default::default(),
        counterparties: HashMap::new(),
        ns: Default::default(),
        fresh: Default::default(),
        checks: req.checks.clone(),
        lots_touched: Default::default(),
        papers_changed: Default::default(),
        batch_quantities: HashMap::new(),
        papers: HashMap::new(),
    };
    let s = &req.submission;
    for (i, e) in s.enterprises.iter().enumerate() {
        t.enterprise(i, e)?;
    }
    for (i, p) in s.products.iter().enumerate() {
        t.product(i, p)?;
    }
    for (i, b) in s.batches.iter().enumerate() {
        t.batch(i, b)?;
    }
    for (i, d) in s.documents.iter().enumerate() {
        t.document(i, d)?;
    }
    for (i, m) in s.movements.iter().enumerate() {
        t.movement(i, m)?;
    }
    if t.problems.invalid.is_empty() && t.problems.conflict.is_empty() {
        t.check_lots()?;
        t.check_customs(&s.batches, &s.products)?;
    }
    let Tx {
        problems,
        receipt,
        flows,
        fresh,
        now,
        ..
    } = t;
    if !problems.invalid.is_empty() {
        // Dropping the transaction rolls it back: nothing of a refused submission is kept.
        return Err(StoreError::Invalid(problems.invalid).into());
    }
    if !problems.conflict.is_empty() {
        return Err(StoreError::Conflict(problems.conflict).into());
    }
    if let Some(cfg) = docking {
        crate::docking::emit(&tx, cfg, &fresh, now)?;
    }
    if let Some(key) = &req.idempotency_key {
        tx.prepare_cached(
            "INSERT INTO submissions (subject, idem_key, request_hash, response, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![req.subject, key, req.request_hash, serde_json::to_string(&receipt)?, now_ms()])?;
    }
    tx.commit()?;
    Ok(SubmitOutcome {
        receipt,
        replayed: false,
        flows,
    })
}
