//! The submission writer (提交写入): every record of a submission checked, settled and stored in one transaction,
//! the same for every backend. The backend opens the transaction, hands the writer its [`Ledger`] and commits
//! when the writer answers `Ok`; on an error it rolls back, so nothing of a refused submission is kept.
//!
//! The order of the work: enterprises, products, batches, documents, movements (each settled against what is
//! stored: the same content again is harmless, other content under the same id or natural key is a conflict),
//! then the checks of every lot the submission touched and the customs cross-check, then the docking report.

use std::collections::HashMap;

use coldtrace_domain::ownership;
use coldtrace_domain::party;
use coldtrace_domain::{Batch, BatchRef, Document, Enterprise, Product, ValidationErrors};
use uuid::Uuid;

mod checks;
mod fingerprint;
pub mod held;
mod ledger;
mod movement;
mod rules;
mod stock;
pub use fingerprint::{encode, fingerprint, movement_fingerprint};
pub use ledger::{CustomsRefusal, KeptStock, Ledger, MovementRefs, RecordKind, StockColumn};
pub use movement::flow_kind;

use crate::{Receipt, Result, StoreError, SubmitOutcome, SubmitRequest};

/// The errors of one submission, split into refusals (422) and collisions (409).
#[derive(Default)]
struct Problems {
    invalid: ValidationErrors,
    conflict: ValidationErrors,
}

/// The state of one submission inside its transaction.
struct Tx<'a> {
    l: &'a mut dyn Ledger,
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
    /// Access rows already written in this submission.
    granted: std::collections::HashSet<(Uuid, Uuid)>,
    /// Counterparty USCC to registered enterprise id.
    counterparties: HashMap<String, Option<Uuid>>,
    /// Records stored for the first time, to report to the national platform.
    fresh: crate::report::Fresh,
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
        let p = self.l.enterprise_province(e)?;
        self.provinces.insert(e, p.clone());
        Ok(p)
    }

    /// The party key of a registered enterprise (by its USCC); a stable fallback for an unknown id.
    fn party_key(&mut self, e: Uuid) -> Result<Uuid> {
        if let Some(k) = self.party_keys.get(&e) {
            return Ok(*k);
        }
        let uscc = self.l.enterprise_uscc(e)?;
        let k = match uscc.and_then(|u| coldtrace_domain::Uscc::parse_overridden(&u).ok()) {
            Some(u) => party::by_uscc(&u),
            None => e,
        };
        self.party_keys.insert(e, k);
        Ok(k)
    }

    /// The stored record of this kind with this id, if any.
    fn by_id(&mut self, kind: RecordKind, id: Uuid, fp: &str) -> Result<Found> {
        Ok(self.l.stored_fp(kind, id)?.map(|f| (id, f == fp)))
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
        let found = self.by_id(RecordKind::Enterprise, e.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("enterprise {id} exists with other content"),
            |r| &mut r.enterprises,
        ) {
            return Ok(());
        }
        self.check_corrects(RecordKind::Enterprise, &at, e.corrects)?;
        if e.corrects.is_none() {
            let found = self
                .l
                .first_with_uscc(e.uscc.as_str())?
                .map(|(id, f)| (id, f == fp));
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
        if let Some(gln) = &e.gln
            && let Some(u) = self.l.gln_holder(gln, e.uscc.as_str())?
        {
            self.problems.conflict.push(
                format!("{at}.gln"),
                format!("GLN {gln} is registered to the enterprise with USCC {u}"),
            );
            return Ok(());
        }
        self.l.insert_enterprise(e, &fp, &body, self.now)?;
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
        let found = self.by_id(RecordKind::Product, p.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("product {id} exists with other content"),
            |r| &mut r.products,
        ) {
            return Ok(());
        }
        self.check_corrects(RecordKind::Product, &at, p.corrects)?;
        let province = self.province_of(p.owner)?.unwrap_or_default();
        self.l.insert_product(p, &province, &fp, &body, self.now)?;
        self.receipt.products.push(p.id);
        Ok(())
    }

    fn batch(&mut self, i: usize, b: &Batch) -> Result<()> {
        let at = format!("batches[{i}]");
        let (fp, body) = encode(b)?;
        let found = self.by_id(RecordKind::Batch, b.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("batch {id} exists with other content"),
            |r| &mut r.batches,
        ) {
            return Ok(());
        }
        self.check_corrects(RecordKind::Batch, &at, b.corrects)?;
        let product_owner = self.l.product_owner(b.product)?;
        let own_product = match (&self.writer, product_owner) {
            (_, None) => false,
            (coldtrace_domain::Writer::Operator, Some(_)) => true,
            (_, Some(o)) => o == b.owner,
        };
        if !own_product {
            self.problems.invalid.push(
                format!("{at}.product_id"),
                format!("no product with id {}", b.product),
            );
        }
        if b.corrects.is_none() {
            let found = self
                .l
                .first_numbered(b.owner, &b.batch_no)?
                .map(|(id, f)| (id, f == fp));
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
            let taken = match self.l.code_holder(&c.key)? {
                None => false,
                Some((other, other_owner)) => {
                    !ownership::may_take_code(&self.writer, other, other_owner, b.corrects)
                }
            };
            if taken {
                self.problems.conflict.push(
                    format!("{at}.trace_codes[{j}].value"),
                    "already identifies another batch; a code stays with its batch",
                );
            } else {
                self.l.put_trace_code(c, b.id)?;
            }
        }
        let serial = self.l.insert_batch(b, &fp, &body, self.now)?;
        self.grant(b.id, b.owner)?;
        self.receipt.batches.push(b.id);
        self.fresh.batches.push((serial, b.clone()));
        Ok(())
    }

    /// The customs cross-check of the submission's imported batches (and of the batches they correct, and those
    /// of products it corrects), against their declarations: the same rules a customs feed and the sweep run.
    fn check_customs(&mut self, batches: &[Batch], products: &[Product]) -> Result<()> {
        let mut scope = std::collections::BTreeSet::new();
        // A corrected product (its HS code, origin or establishment) bears on every batch of it.
        for p in products {
            if let Some(old) = p.corrects {
                scope.extend(self.l.declarations_of_product(old)?);
            }
        }
        let mut index = HashMap::new();
        for (i, b) in batches.iter().enumerate() {
            index.insert(b.id, i);
            if let Some(d) = &b.declaration_no {
                scope.insert(d.as_str().to_string());
            }
            if let Some(old) = b.corrects {
                scope.extend(self.l.batch_declaration(old)?);
            }
        }
        if scope.is_empty() {
            return Ok(());
        }
        let refusable = index.keys().copied().collect();
        let refusals = self
            .l
            .cross_check(self.now, &self.checks, &scope, &refusable)?;
        for (batch, field, message) in refusals {
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
        let found = self.by_id(RecordKind::Document, d.id, &fp)?;
        if self.settle(
            found,
            format!("{at}.id"),
            |id| format!("document {id} exists with other content"),
            |r| &mut r.documents,
        ) {
            return Ok(());
        }
        self.check_corrects(RecordKind::Document, &at, d.corrects)?;
        if let Some(h) = &d.attachment_sha256 {
            let operator = self.writer == coldtrace_domain::Writer::Operator;
            if !self.l.attachment_usable(h, d.owner, operator)? {
                self.problems.invalid.push(
                    format!("{at}.attachment_sha256"),
                    "no attachment with this hash; upload it first",
                );
            }
        }
        self.l.insert_document(&d, batch, &fp, &body, self.now)?;
        self.grant(batch, d.owner)?;
        self.papers_added(batch);
        self.receipt.documents.push(d.id);
        Ok(())
    }
}

/// Checks and stores a submission through the backend's open transaction. On `Ok` the backend commits (a
/// replayed idempotency key stored nothing); on `Err` it rolls back: a refused submission leaves nothing behind.
pub fn submit(l: &mut dyn Ledger, req: &SubmitRequest, now: i64) -> Result<SubmitOutcome> {
    if let Some(key) = &req.idempotency_key
        && let Some((hash, response)) = l.prior_submission(&req.subject, key)?
    {
        if hash != req.request_hash {
            return Err(StoreError::KeyReused(key.clone()));
        }
        return Ok(SubmitOutcome {
            receipt: serde_json::from_str(&response)?,
            replayed: true,
            flows: vec![],
        });
    }
    let mut t = Tx {
        l,
        writer: req.writer.clone(),
        now,
        problems: Problems::default(),
        receipt: Receipt::default(),
        provinces: HashMap::new(),
        party_keys: HashMap::new(),
        flows: Vec::new(),
        resolved: HashMap::new(),
        granted: Default::default(),
        counterparties: HashMap::new(),
        fresh: Default::default(),
        checks: req.checks.clone(),
        lots_touched: Default::default(),
        papers_changed: Default::default(),
        batch_quantities: HashMap::new(),
        papers: HashMap::new(),
    };
    let s = &req.submission;
    t.l.prefetch_movements(&s.movements)?;
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
        l,
        problems,
        receipt,
        flows,
        fresh,
        ..
    } = t;
    if !problems.invalid.is_empty() {
        return Err(StoreError::Invalid(problems.invalid));
    }
    if !problems.conflict.is_empty() {
        return Err(StoreError::Conflict(problems.conflict));
    }
    l.report(&fresh, now)?;
    l.flush()?;
    if let Some(key) = &req.idempotency_key {
        l.record_submission(
            &req.subject,
            key,
            &req.request_hash,
            &serde_json::to_string(&receipt)?,
            now,
        )?;
    }
    Ok(SubmitOutcome {
        receipt,
        replayed: false,
        flows,
    })
}
