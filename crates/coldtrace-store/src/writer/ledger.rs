//! What the submission writer asks of a backend inside one open transaction: each method is one read or one
//! write of the ledger (台账) as that transaction sees it, its own earlier writes included. The rules, the order
//! of the work and every refusal are the writer's ([`super::submit`]); a backend only answers these questions and
//! stores what it is told, so SQLite and PostgreSQL refuse, flag and store exactly the same things.
//!
//! Ids and numbers are the records' own (`Uuid`); a backend that keeps them as integers (the lean layout's
//! `ids` table) translates inside its implementation. Every method is synchronous: the writer runs on a thread
//! of its own while the transaction is open (a backend with an async client blocks on it there).

use std::collections::{BTreeSet, HashSet};

use coldtrace_domain::checks::{CheckPolicy, LotStock, Violation};
use coldtrace_domain::{Batch, Document, Enterprise, Movement, Product, TraceCode};
use uuid::Uuid;

use crate::Result;
use crate::report::Fresh;

/// The kinds of record a submission writes, for the questions asked of each alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Enterprise,
    Product,
    Batch,
    Document,
    Movement,
}

/// The columns of a lot's stock ([`LotStock`]) one movement adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockColumn {
    Received,
    Produced,
    ReportedInbound,
    Shipped,
    Sold,
    Consumed,
    Destroyed,
    Returned,
}

impl StockColumn {
    /// The column's name in both backends' `lot_stock` table.
    pub fn as_str(self) -> &'static str {
        match self {
            StockColumn::Received => "received",
            StockColumn::Produced => "produced",
            StockColumn::ReportedInbound => "reported_inbound",
            StockColumn::Shipped => "shipped",
            StockColumn::Sold => "sold",
            StockColumn::Consumed => "consumed",
            StockColumn::Destroyed => "destroyed",
            StockColumn::Returned => "returned",
        }
    }
}

/// What a movement refers to, resolved by the writer, for the backend to store beside the record.
#[derive(Debug, Clone)]
pub struct MovementRefs {
    pub holder: Uuid,
    /// The holder's province when written.
    pub holder_province: String,
    /// The holder's party key ([`coldtrace_domain::party`]).
    pub holder_key: Uuid,
    /// The batch the movement names (none for a transformation).
    pub batch: Option<Uuid>,
    /// The registered enterprise the counterparty's USCC named.
    pub counterparty_id: Option<Uuid>,
    /// The first 8 bytes of the record's fingerprint ([`super::fingerprint`]).
    pub fp: i64,
    pub recorded_at: i64,
}

/// A lot's stock as kept, with its first arrival and first departure (milliseconds).
pub type KeptStock = (LotStock, Option<i64>, Option<i64>);

/// A refusal of the customs cross-check: the batch, the field (under `batches[i]`) and why.
pub type CustomsRefusal = (Uuid, String, String);

/// The ledger of one open submission transaction.
pub trait Ledger {
    /// The stored answer to an earlier submission with this idempotency key: its request hash and receipt JSON.
    fn prior_submission(&mut self, subject: &str, key: &str) -> Result<Option<(String, String)>>;
    /// Keeps the answer to a submission under its idempotency key.
    fn record_submission(
        &mut self,
        subject: &str,
        key: &str,
        request_hash: &str,
        response: &str,
        now: i64,
    ) -> Result<()>;

    /// The stored fingerprint (hex) of the record of this kind with this id; a movement's is [`Self::movement_fp`].
    fn stored_fp(&mut self, kind: RecordKind, id: Uuid) -> Result<Option<String>>;
    /// The stored short fingerprint of a movement.
    fn movement_fp(&mut self, id: Uuid) -> Result<Option<i64>>;
    /// The movements a submission is about to settle, before the first [`Self::movement_fp`]: a backend that
    /// pays a round trip per statement reads what it will be asked about them (stored fingerprints, the numbers of
    /// the counterparties and people they name) in a few statements (the embedded store needs nothing).
    fn prefetch_movements(&mut self, _movements: &[Movement]) -> Result<()> {
        Ok(())
    }
    /// Writes whatever the backend holds back ([`super::held`], and on PostgreSQL the movement rows): it is called
    /// before the commit, and a backend writes them before any read that needs those rows.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// Who has a stake in a stored record: its owner (an enterprise is its own) and, where the record keeps
    /// it, the owner's province when written.
    fn stake(&mut self, kind: RecordKind, id: Uuid) -> Result<Option<(Uuid, Option<String>)>>;

    /// A registered enterprise's province.
    fn enterprise_province(&mut self, id: Uuid) -> Result<Option<String>>;
    /// A registered enterprise's USCC (its latest version's).
    fn enterprise_uscc(&mut self, id: Uuid) -> Result<Option<String>>;
    /// The first enterprise registered under a USCC: its id and fingerprint.
    fn first_with_uscc(&mut self, uscc: &str) -> Result<Option<(Uuid, String)>>;
    /// The enterprise a USCC names now (the latest registered under it).
    fn latest_with_uscc(&mut self, uscc: &str) -> Result<Option<Uuid>>;
    /// The USCC of another enterprise (not `uscc`) whose current version carries this GLN.
    fn gln_holder(&mut self, gln: &str, uscc: &str) -> Result<Option<String>>;
    fn insert_enterprise(&mut self, e: &Enterprise, fp: &str, body: &str, now: i64) -> Result<()>;

    /// A product's owner.
    fn product_owner(&mut self, id: Uuid) -> Result<Option<Uuid>>;
    fn insert_product(
        &mut self,
        p: &Product,
        owner_province: &str,
        fp: &str,
        body: &str,
        now: i64,
    ) -> Result<()>;

    /// A batch's owner.
    fn batch_owner(&mut self, id: Uuid) -> Result<Option<Uuid>>;
    /// A batch's record as stored, for its declared quantity; `None` when there is none or its body is one this
    /// release no longer reads.
    fn batch_record(&mut self, id: Uuid) -> Result<Option<Batch>>;
    /// The first batch an owner stored under a batch number: its id and fingerprint.
    fn first_numbered(&mut self, owner: Uuid, batch_no: &str) -> Result<Option<(Uuid, String)>>;
    /// The latest batch an owner stored under a batch number.
    fn latest_numbered(&mut self, owner: Uuid, batch_no: &str) -> Result<Option<Uuid>>;
    /// The batch a trace code (by key) identifies, and that batch's owner.
    fn code_holder(&mut self, key: &str) -> Result<Option<(Uuid, Uuid)>>;
    /// Gives a trace code to a batch (replacing the batch it named: the writer has checked it may).
    fn put_trace_code(&mut self, code: &TraceCode, batch: Uuid) -> Result<()>;
    /// Stores a batch; answers the backend's serial number for it (from which an issued code is derived).
    fn insert_batch(&mut self, b: &Batch, fp: &str, body: &str, now: i64) -> Result<u64>;
    /// Whether the enterprise holds or held the batch (an access row).
    fn has_access(&mut self, batch: Uuid, enterprise: Uuid) -> Result<bool>;
    /// Lets an enterprise of `province` see a batch (once).
    fn grant(&mut self, batch: Uuid, enterprise: Uuid, province: &str) -> Result<()>;
    /// Whether a shipment, sale or return of the batch names the USCC as counterparty (by `from` when given).
    fn shipped_to(&mut self, batch: Uuid, uscc: &str, from: Option<Uuid>) -> Result<bool>;

    /// Whether an attachment with this hash is stored and, unless `any_owner`, was uploaded by `owner`.
    fn attachment_usable(&mut self, sha256: &str, owner: Uuid, any_owner: bool) -> Result<bool>;
    fn insert_document(
        &mut self,
        d: &Document,
        batch: Uuid,
        fp: &str,
        body: &str,
        now: i64,
    ) -> Result<()>;

    /// Stores a movement (its lines and handlers with it); answers its sequence number.
    fn insert_movement(&mut self, m: &Movement, refs: &MovementRefs) -> Result<u64>;

    /// The declaration numbers of the batches of a product (of its first version).
    fn declarations_of_product(&mut self, product: Uuid) -> Result<Vec<String>>;
    /// The declaration number a stored batch names.
    fn batch_declaration(&mut self, batch: Uuid) -> Result<Option<String>>;
    /// The customs cross-check of the declarations in `scope` against the batches naming them, under the
    /// province's policy: findings opened or resolved as the sweep does, and the refusals of the batches in
    /// `refusable` (this submission's).
    fn cross_check(
        &mut self,
        now: i64,
        checks: &CheckPolicy,
        scope: &BTreeSet<String>,
        refusable: &HashSet<Uuid>,
    ) -> Result<Vec<CustomsRefusal>>;

    /// Whether the batch is imported: its declaration number and its product's origin country.
    fn import_marks(&mut self, batch: Uuid) -> Result<Option<(Option<String>, Option<String>)>>;
    /// The kinds of document stored for a batch.
    fn document_kinds(&mut self, batch: Uuid) -> Result<Vec<String>>;
    /// Whether the batch carries a trace code.
    fn has_trace_code(&mut self, batch: Uuid) -> Result<bool>;
    /// The issue day (`YYYY-MM-DD`) of the batch's latest current nucleic-acid report.
    fn latest_nucleic_acid(&mut self, batch: Uuid) -> Result<Option<String>>;

    /// Opens a finding about `v.subject`, or updates the open one (a new movement clears its answer).
    fn flag(
        &mut self,
        v: &Violation,
        enterprise: Uuid,
        province: Option<&str>,
        batch: Option<Uuid>,
        movement: Option<Uuid>,
        now: i64,
    ) -> Result<()>;
    /// Resolves the open finding about `subject`: later records put it right.
    fn resolve(&mut self, subject: &str, now: i64) -> Result<()>;
    /// Resolves the open in-transit findings of the sender's shipments of the batch to the receiver.
    fn resolve_in_transit(
        &mut self,
        batch: Uuid,
        sender: Uuid,
        receiver: Uuid,
        now: i64,
    ) -> Result<()>;
    /// Resolves the open findings that the enterprise with this USCC is not registered.
    fn resolve_unregistered(&mut self, uscc: &str, now: i64) -> Result<()>;
    /// Resolves each lot's (batch, holder) open dormant-stock finding when the lot moved since it was opened.
    fn resolve_dormant(&mut self, lots: &[(Uuid, Uuid)], now: i64) -> Result<()>;
    /// The subjects of the open findings of a rule about a batch.
    fn open_subjects(&mut self, rule: &str, batch: Uuid) -> Result<Vec<String>>;
    /// The open stale-nucleic-acid findings of a batch, each with the holder's latest move of it (the later of
    /// the finding's movement and the holder's last shipment or sale).
    fn stale_nucleic_acid_findings(&mut self, batch: Uuid) -> Result<Vec<(String, i64)>>;
    /// When the sender first shipped the batch to the receiver (current records).
    fn first_shipment(&mut self, batch: Uuid, sender: Uuid, receiver: Uuid) -> Result<Option<i64>>;

    /// Adds a movement's quantity to one column of a lot's kept stock, with the time it moved.
    #[allow(clippy::too_many_arguments)]
    fn stock_add(
        &mut self,
        batch: Uuid,
        holder: Uuid,
        col: StockColumn,
        quantity: i64,
        at: i64,
        first_in: Option<i64>,
        first_out: Option<i64>,
    ) -> Result<()>;
    /// The lots a submission touched, before [`Self::lot_stock`] is asked about each: a backend that pays a
    /// round trip per statement reads their stock in one (the embedded store needs nothing).
    fn prefetch_lots(&mut self, _lots: &[(Uuid, Uuid)]) -> Result<()> {
        Ok(())
    }
    /// A lot's stock as kept (zero when none).
    fn lot_stock(&mut self, batch: Uuid, holder: Uuid) -> Result<KeptStock>;
    /// Counts a lot's kept stock again from its current records (after a correction).
    fn recount_lot(&mut self, batch: Uuid, holder: Uuid) -> Result<()>;
    /// The lots (batch, holder) a stored movement touched, its counterparty's included.
    fn lots_of_movement(&mut self, id: Uuid) -> Result<Vec<(Uuid, Uuid)>>;

    /// Writes the docking messages that report the submission's new records to the national platform (and
    /// issues the platform's codes), when this platform docks; nothing otherwise.
    fn report(&mut self, fresh: &Fresh, now: i64) -> Result<()>;
}
