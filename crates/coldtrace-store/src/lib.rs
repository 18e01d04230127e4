//! # coldtrace-store
//!
//! Durable storage behind one trait, [`Store`]. The embedded implementation (crate `coldtrace-store-sqlite`)
//! keeps everything in one SQLite file in WAL mode with `synchronous=FULL`; a PostgreSQL implementation will sit
//! beside it and callers will not change.
//!
//! ## Layout
//! - `lib.rs`: the role traits ([`RecordStore`], [`CredentialStore`], [`IndexFeed`], [`IncidentStore`],
//!   [`PublicationStore`], [`OutboxStore`], [`InboxStore`]) and their supertrait [`Store`], the request and answer
//!   types, errors.
//! - [`report`]: what a province reports to the national platform about a submission, and the codes it issues;
//!   every backend calls it inside its submission transaction.
//! - The embedded SQLite implementation is the crate `coldtrace-store-sqlite`; nothing here names a backend.
//!
//! **Invariants.**
//! - A submission is one transaction: either every record is stored or none is, and the call returns only after
//!   the commit reached the disk. Once a commit fails to reach the disk the store refuses every later write
//!   ([`StoreError::Unavailable`]) rather than acknowledge something it may not keep.
//! - Records are never updated in place. A correction is a new record whose `corrects` names the old one.
//! - The same idempotency key from the same subject stores nothing new and answers with the first answer.
//!
//! **API boundary:** the store knows records and who may see them by tenant (enterprise or province); it does
//! not know HTTP, roles' business rules or masking.

pub mod audit;
pub mod census;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod customs;
pub mod epcis;
pub mod findings;
pub mod inbox;
pub mod report;
pub mod writer;

pub use census::{CoverageDay, EnterpriseActivity, UnregisteredParty};
pub use customs::{CustomsReceipt, DeclarationFilter, StoredDeclaration};
pub use findings::{
    Closing, Finding, FindingAnswer, FindingFilter, FindingStatus, Quality, QualityDay, SweepReport,
};

use async_trait::async_trait;
use coldtrace_domain::{
    Batch, Document, Enterprise, Movement, Principal, Product, ProvinceCode, Role, Submission,
    ValidationErrors,
};
use uuid::Uuid;

/// What a provincial platform reports to the national platform and how it issues codes: given to a backend that
/// writes docking messages into its outbox with each record.
#[derive(Debug, Clone)]
pub struct DockingConfig {
    /// GB/T 2260 two-digit province code of this platform.
    pub province: String,
    /// The code scheme this platform issues for batches that arrive without one of its codes.
    pub issuer: Option<coldtrace_domain::code::Issuer>,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record refers to something that does not exist, or breaks a rule only the store can check.
    #[error("invalid submission: {0}")]
    Invalid(ValidationErrors),
    /// A record collides with a different stored record (same id or batch number, different content).
    #[error("conflict: {0}")]
    Conflict(ValidationErrors),
    /// The idempotency key was used before with a different request.
    #[error("idempotency key {0:?} was used for a different request")]
    KeyReused(String),
    /// Writes are refused after a failed commit (for example a failed fsync or a full disk).
    #[error("the store refuses writes after a failed commit: {0}")]
    Unavailable(String),
    /// The backend failed (a database error): opaque to callers, logged with its cause chain.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored record is unreadable")]
    Corrupt(#[from] serde_json::Error),
    #[error("I/O error")]
    Io(#[from] std::io::Error),
    #[error("background task failed: {0}")]
    Task(String),
    /// A docking upload skipped a sequence number: nothing after the gap is applied.
    #[error("expected sequence {expected}, got {got}")]
    SequenceGap { expected: u64, got: u64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A submission to store atomically.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    /// Who submits (`Principal::subject`), scoping the idempotency key.
    pub subject: String,
    /// Who writes, for the ownership rules ([`coldtrace_domain::ownership`]) the store applies to every record.
    pub writer: coldtrace_domain::Writer,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Hash of the request body, to refuse a reused key with a different body.
    pub request_hash: String,
    pub submission: Submission,
    /// The province's policy for the ledger checks the store runs on the submission.
    pub checks: coldtrace_domain::checks::CheckPolicy,
}

/// What a submission stored: the ids of its records, in submission order.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Receipt {
    pub enterprises: Vec<Uuid>,
    pub products: Vec<Uuid>,
    pub batches: Vec<Uuid>,
    pub documents: Vec<Uuid>,
    pub movements: Vec<Uuid>,
    /// Records that were already stored with the same content (resubmitted), so nothing new was written.
    pub unchanged: usize,
}

/// The outcome of a submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    pub receipt: Receipt,
    /// True when the idempotency key was seen before and this is the first answer again.
    pub replayed: bool,
    /// The movements stored by this call, as flows for the trace index (empty on a replay).
    pub flows: Vec<coldtrace_trace::Flow>,
}

/// A stored movement as the trace index is rebuilt from it, with what a directory needs of its counterparty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub flow: coldtrace_trace::Flow,
    pub counterparty_name: Option<String>,
    pub counterparty_uscc: Option<String>,
    /// A later record corrects this movement: the index does not take its flow.
    pub corrected: bool,
    /// This movement corrects another: the flow the index withdraws.
    pub retracts: Option<coldtrace_trace::Flow>,
}

/// What ties a trace index snapshot to its store: which store, and which movement stands at the snapshot's
/// sequence number (a store restored from an older copy, or another store, answers differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedAnchor {
    /// Made once when the store is created; a backup carries it.
    pub store_id: Uuid,
    /// The id of the movement stored at the asked sequence number, if any.
    pub movement_at: Option<Uuid>,
    /// The highest movement sequence number stored.
    pub last_seq: u64,
    /// The highest batch and enterprise sequence numbers stored (a snapshot that read further belongs to a
    /// store that held more).
    pub last_batch_seq: i64,
    pub last_enterprise_seq: i64,
}

/// What a trace answer needs of a batch and its product.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchSummary {
    pub id: Uuid,
    pub owner: Uuid,
    pub batch_no: String,
    pub unit: String,
    pub product: String,
    pub category: String,
    pub origin_country: String,
    pub establishment_no: Option<String>,
    pub declaration_no: Option<String>,
    pub port_of_entry: Option<String>,
    pub import_date: Option<String>,
}

/// One handler of one movement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HandlerRow {
    pub movement_seq: u64,
    pub person_key: String,
    pub name: String,
    pub id_no: Option<String>,
    pub phone: Option<String>,
}

/// An incident and its history, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    pub seq: i64,
    pub incident: coldtrace_domain::incident::Incident,
    pub recorded_at_ms: i64,
    /// `(seq, by, event, recorded_at_ms)` in order.
    pub events: Vec<(i64, String, coldtrace_domain::incident::IncidentEvent, i64)>,
}

/// A stored record with the facts the store adds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Stored<T> {
    /// Monotonic position in its table; pagination cursors are built from it.
    pub seq: i64,
    #[serde(flatten)]
    pub record: T,
    /// When the store committed it (milliseconds since the epoch).
    pub recorded_at_ms: i64,
    /// The record that corrects this one, if any (the newer version).
    pub corrected_by: Option<Uuid>,
}

/// Whose records a query may return: the tenant scope of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One enterprise's own records.
    Enterprise(Uuid),
    /// Everything whose holder or owner is in the province.
    Province(ProvinceCode),
    /// Every record (national platform, tests, the CLI on its own store).
    All,
    /// No business data (admin, customs until its own issue).
    Nothing,
}

impl Scope {
    pub fn of(p: &Principal) -> Scope {
        match (p.role, p.enterprise, &p.province) {
            (Role::Enterprise, Some(e), _) => Scope::Enterprise(e),
            (Role::Regulator, _, Some(prov)) => Scope::Province(prov.clone()),
            (Role::National, _, _) => Scope::All,
            _ => Scope::Nothing,
        }
    }
}

/// A page request: items after the cursor (a `seq`), at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: i64,
    pub limit: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            after: 0,
            limit: 100,
        }
    }
}

/// Filters for listing movements.
#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    pub batch: Option<Uuid>,
    pub holder: Option<Uuid>,
}

/// Filters for listing batches.
#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    pub batch_no: Option<String>,
    pub product: Option<Uuid>,
}

/// A credential: an API key's hash and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: Uuid,
    /// SHA-256 (hex) of the secret key; the key itself is never stored.
    pub key_hash: String,
    pub role: Role,
    pub enterprise: Option<Uuid>,
    pub province: Option<ProvinceCode>,
    pub label: String,
    pub revoked: bool,
    /// When the key stops working (Unix ms); none for a key without expiry.
    pub expires_at_ms: Option<i64>,
    /// For a console session: the login of the person's account it was opened for.
    pub account: Option<String>,
}

/// A person's account (人员账号) for the console: who signs in, for which role and tenant, with an argon2
/// password hash (PHC string). A session opened with it is a short-lived credential that names the person, so
/// the audit trail says who acted, not only which office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    /// The sign-in name, unique on the platform.
    pub login: String,
    /// The person's name as shown.
    pub name: String,
    pub role: Role,
    pub enterprise: Option<Uuid>,
    pub province: Option<ProvinceCode>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at_ms: i64,
}

/// An account as listed: everything but the password hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AccountInfo {
    pub id: Uuid,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub enterprise: Option<Uuid>,
    pub province: Option<ProvinceCode>,
    pub disabled: bool,
    pub created_at_ms: i64,
}

impl Account {
    pub fn info(&self) -> AccountInfo {
        AccountInfo {
            id: self.id,
            login: self.login.clone(),
            name: self.name.clone(),
            role: self.role,
            enterprise: self.enterprise,
            province: self.province.clone(),
            disabled: self.disabled,
            created_at_ms: self.created_at_ms,
        }
    }
}

/// A credential as listed: everything but the hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialInfo {
    pub id: Uuid,
    pub role: Role,
    pub enterprise: Option<Uuid>,
    pub province: Option<ProvinceCode>,
    pub label: String,
    pub revoked: bool,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    /// For a console session: the login of the person it was opened for.
    pub account: Option<String>,
}

impl Credential {
    /// Whether the key may be used at `now_ms`.
    pub fn usable(&self, now_ms: i64) -> bool {
        !self.revoked && self.expires_at_ms.is_none_or(|t| now_ms < t)
    }

    pub fn principal(&self) -> Principal {
        Principal {
            credential: self.id,
            role: self.role,
            enterprise: self.enterprise,
            province: self.province.clone(),
            person: self.account.clone(),
        }
    }
}

/// Counts for dashboards, the demo summary and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub enterprises: u64,
    pub products: u64,
    pub batches: u64,
    pub documents: u64,
    pub movements: u64,
    pub trace_codes: u64,
}

/// Reporting coverage of one kind of enterprise (摸清底数: who is registered, who reports).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub kind: String,
    pub enterprises: u64,
    /// Those that recorded at least one movement in the period.
    pub reporting: u64,
}

/// Where the provincial outbox stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxStatus {
    /// Sequence of the last message written.
    pub last_seq: u64,
    /// Sequence up to which the national platform has acknowledged receipt.
    pub delivered_seq: u64,
    /// When the oldest undelivered message was written (Unix ms).
    pub oldest_pending_ms: Option<i64>,
}

/// A notice received from the national platform, with what was done about it here.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct NoticeInRow {
    pub notice: coldtrace_domain::docking::Notice,
    /// The local incident opened from it.
    pub incident: Option<Uuid>,
    pub received_at_ms: i64,
    pub acked_at_ms: Option<i64>,
    pub acked_by: Option<String>,
    pub ack_note: Option<String>,
}

/// What acknowledging a notice did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    Acked,
    AlreadyAcked,
    NotFound,
}

/// One message accepted at the national platform.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    /// National acceptance order across provinces.
    pub gseq: u64,
    pub province: String,
    pub received_at_ms: i64,
    pub envelope: coldtrace_domain::docking::Envelope,
}

/// What an upload did: the receipt, and the messages that took effect now (to apply in memory).
#[derive(Debug, Clone)]
pub struct AcceptOutcome {
    pub receipt: coldtrace_domain::docking::UploadReceipt,
    pub fresh: Vec<InboxRow>,
}

/// A commander's decision on a link between provinces' records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LinkDecision {
    pub link: String,
    /// `confirmed` or `rejected`.
    pub decision: String,
    pub by: String,
    pub note: Option<String>,
    pub at_ms: i64,
}

/// Records (记录): submissions and the reads of enterprises, products, batches, documents, movements and attachments, each scoped by tenant.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    /// Stores a submission atomically, or replays the first answer for a known idempotency key.
    async fn submit(&self, req: SubmitRequest) -> Result<SubmitOutcome>;

    /// Stores an attachment by its SHA-256 and returns the hash (hex). Storing the same bytes again is a no-op.
    async fn put_attachment(
        &self,
        bytes: Vec<u8>,
        media_type: String,
        uploader: Option<Uuid>,
    ) -> Result<String>;

    async fn attachment(&self, sha256: &str) -> Result<Option<(Vec<u8>, String)>>;

    /// Whether a document the scope may see refers to the attachment.
    async fn attachment_visible(&self, scope: &Scope, sha256: &str) -> Result<bool>;

    async fn enterprise(&self, id: Uuid) -> Result<Option<Stored<Enterprise>>>;

    async fn enterprise_by_uscc(&self, uscc: &str) -> Result<Option<Stored<Enterprise>>>;

    /// The enterprise whose current version carries this GS1 Global Location Number.
    async fn enterprise_by_gln(&self, gln: &str) -> Result<Option<Stored<Enterprise>>>;

    async fn enterprises(&self, scope: &Scope, page: Page) -> Result<Vec<Stored<Enterprise>>>;

    /// Whether two enterprises have traded with each other (either direction).
    async fn are_counterparties(&self, a: Uuid, b: Uuid) -> Result<bool>;

    async fn product(&self, id: Uuid) -> Result<Option<Stored<Product>>>;

    async fn products(&self, scope: &Scope, page: Page) -> Result<Vec<Stored<Product>>>;

    async fn batch(&self, id: Uuid) -> Result<Option<Stored<Batch>>>;

    /// Finds a batch by a trace code's canonical key.
    async fn batch_by_code(&self, key: &str) -> Result<Option<Uuid>>;

    async fn batches(
        &self,
        scope: &Scope,
        filter: &BatchFilter,
        page: Page,
    ) -> Result<Vec<Stored<Batch>>>;

    /// Whether the scope may see the batch: it owns or held it (or is in the province of one that did).
    async fn batch_visible(&self, scope: &Scope, batch: Uuid) -> Result<bool>;

    async fn product_visible(&self, scope: &Scope, product: Uuid) -> Result<bool>;

    async fn documents_of(&self, batch: Uuid) -> Result<Vec<Stored<Document>>>;

    async fn document(&self, id: Uuid) -> Result<Option<Stored<Document>>>;

    async fn movement(&self, id: Uuid) -> Result<Option<Stored<Movement>>>;

    async fn movements(
        &self,
        scope: &Scope,
        filter: &MovementFilter,
        page: Page,
    ) -> Result<Vec<Stored<Movement>>>;

    async fn stats(&self, scope: &Scope) -> Result<Stats>;

    /// Registered enterprises by kind, and how many of them recorded a movement since `since_ms`.
    async fn coverage(&self, scope: &Scope, since_ms: i64) -> Result<Vec<Coverage>>;
}

/// Credentials: API keys and provinces' docking clients, stored as hashes.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    async fn create_credential(&self, c: Credential) -> Result<()>;

    async fn credential_by_hash(&self, key_hash: &str) -> Result<Option<Credential>>;

    async fn credential(&self, id: Uuid) -> Result<Option<CredentialInfo>>;

    /// Every credential, newest first.
    async fn credentials(&self) -> Result<Vec<CredentialInfo>>;

    /// Revokes a key; `false` when there is no such credential. Revoking twice is harmless.
    async fn revoke_credential(&self, id: Uuid) -> Result<bool>;

    /// Stores a new account; `false` when the login is taken (nothing is stored).
    async fn create_account(&self, a: Account) -> Result<bool>;

    async fn account_by_login(&self, login: &str) -> Result<Option<Account>>;

    async fn account(&self, id: Uuid) -> Result<Option<Account>>;

    /// Every account, oldest first.
    async fn accounts(&self) -> Result<Vec<Account>>;

    /// Disables an account and revokes its sessions in one transaction; `false` when there is no such account.
    async fn disable_account(&self, id: Uuid) -> Result<bool>;

    /// Registers a province's docking client (HTTP Basic): the secret's SHA-256, never the secret.
    async fn put_docking_client(
        &self,
        client_id: String,
        province: String,
        secret_hash: String,
    ) -> Result<()>;

    /// A docking client's province and secret hash.
    async fn docking_client(&self, client_id: String) -> Result<Option<(String, String)>>;
}

/// The feed of the trace index: committed movements in `seq` order, batch summaries, handlers.
#[async_trait]
pub trait IndexFeed: Send + Sync + 'static {
    /// Stored movements as flows, in `seq` order after `after`: the trace index is rebuilt from these.
    async fn flows(&self, after: u64, limit: u32) -> Result<Vec<FlowRow>>;

    /// Batch summaries in `seq` order after `after` (`seq` returned alongside).
    async fn batch_summaries(&self, after: i64, limit: u32) -> Result<Vec<(i64, BatchSummary)>>;

    /// Summaries of the given batches.
    async fn batch_summaries_of(&self, ids: Vec<Uuid>) -> Result<Vec<BatchSummary>>;

    /// Movements by their sequence numbers.
    async fn movements_by_seq(&self, seqs: Vec<u64>) -> Result<Vec<Stored<Movement>>>;

    /// The handlers of the given movements.
    async fn handlers_of(&self, seqs: Vec<u64>) -> Result<Vec<HandlerRow>>;

    /// The movements a person handled.
    async fn movements_of_person(&self, person_key: &str) -> Result<Vec<u64>>;

    /// The store's identity and the movement at `seq`, to check a trace index snapshot against.
    async fn feed_anchor(&self, seq: u64) -> Result<FeedAnchor>;

    /// Returns when another node (or process) may have committed records, or after `within`: a hint to catch up,
    /// never the data (the index still reads by sequence number).
    async fn records_changed(&self, within: std::time::Duration) -> Result<()>;
}

/// Incidents (涉疫事件) as registered and their append-only history.
#[async_trait]
pub trait IncidentStore: Send + Sync + 'static {
    /// Stores an incident, unless `same_as` (what makes two registrations the same positive test) names an open
    /// incident already: answers the id of the incident that stands, decided inside the write, so two
    /// registrations at the same instant make one.
    async fn create_incident(
        &self,
        incident: coldtrace_domain::incident::Incident,
        same_as: Option<String>,
    ) -> Result<Uuid>;

    async fn append_incident_event(
        &self,
        incident: Uuid,
        by: String,
        event: coldtrace_domain::incident::IncidentEvent,
    ) -> Result<i64>;

    async fn incident(&self, id: Uuid) -> Result<Option<IncidentRow>>;

    /// Every incident, newest first (a platform has few).
    async fn incidents(&self) -> Result<Vec<IncidentRow>>;

    /// The incidents that implicate a batch (it is where the trace started, or a disposal task names it), newest
    /// first.
    async fn incidents_of_batch(&self, batch: Uuid) -> Result<Vec<IncidentRow>>;
}

/// Publication approvals (公开发布审核) for the public lookup.
#[async_trait]
pub trait PublicationStore: Send + Sync + 'static {
    /// A regulator approves a batch for the public lookup; `false` if it already was.
    async fn publish(&self, batch: Uuid, by: String) -> Result<bool>;

    /// A regulator withdraws a publication; `false` if the batch was not published.
    async fn withdraw(&self, batch: Uuid) -> Result<bool>;

    async fn is_published(&self, batch: Uuid) -> Result<bool>;
}

/// A province's docking outbox, the codes it issued, and the notices it received from the national platform.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Every code of a batch: the enterprise's and the one the platform issued.
    async fn codes_of(&self, batch: Uuid) -> Result<Vec<coldtrace_domain::docking::NativeCode>>;

    // Docking, provincial side (see `docs/docking.md`).

    /// Messages not yet delivered to the national platform, in sequence order.
    async fn outbox_pending(&self, limit: u32) -> Result<Vec<coldtrace_domain::docking::Envelope>>;

    /// Records that the national platform has every message up to `upto`.
    async fn outbox_delivered(&self, upto: u64) -> Result<()>;

    async fn outbox_status(&self) -> Result<OutboxStatus>;

    /// Stores a notice from the national platform once and queues its receipt; `false` if already stored.
    async fn record_notice(
        &self,
        notice: coldtrace_domain::docking::Notice,
        incident: Option<Uuid>,
    ) -> Result<bool>;

    /// The national delivery sequence of the last notice stored.
    async fn notice_cursor(&self) -> Result<u64>;

    async fn received_notices(&self) -> Result<Vec<NoticeInRow>>;

    /// Marks a notice acknowledged and queues the acknowledgement, in one transaction.
    async fn ack_notice(&self, ack: coldtrace_domain::docking::NoticeAck) -> Result<AckOutcome>;

    // Docking, national side.
}

/// The national platform's inbox of provinces' messages, commanders' link decisions and the notices it issues.
#[async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// The store's identity, made once when it was created (a national registry snapshot belongs to it).
    async fn store_id(&self) -> Result<Uuid>;

    /// Accepts a province's messages: each message id takes effect once, in the province's sequence order.
    /// With `assign_seq` (records from an adapted foreign system) each new message takes the next sequence.
    async fn accept_upload(
        &self,
        province: String,
        messages: Vec<coldtrace_domain::docking::Envelope>,
        assign_seq: bool,
    ) -> Result<AcceptOutcome>;

    /// Accepted messages in acceptance order, to rebuild the national view.
    async fn inbox(&self, after: u64, limit: u32) -> Result<Vec<InboxRow>>;

    async fn decide_link(&self, d: LinkDecision) -> Result<()>;

    async fn link_decisions(&self) -> Result<Vec<LinkDecision>>;

    /// Stores the notices not stored before (by id); answers the new ones with their delivery sequence. With
    /// `seen_through` (the last notice the caller's registry followed), nothing is stored when the store holds a
    /// notice after it, and the answer is `None`: the caller catches up and computes them again, so that two
    /// national nodes never issue overlapping notices for one incident.
    async fn put_notices(
        &self,
        notices: Vec<coldtrace_domain::docking::Notice>,
        seen_through: Option<u64>,
    ) -> Result<Option<Vec<coldtrace_domain::docking::Notice>>>;

    /// Waits until another writer may have stored inbox rows, notices or decisions (with PostgreSQL, its
    /// notification at their commit), or until `within` passed; a node that shares its store follows it this way.
    async fn inbox_changed(&self, within: std::time::Duration) -> Result<()>;

    /// Notices after a delivery sequence, for one province or all.
    async fn notices_out(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<coldtrace_domain::docking::Notice>>;
}

/// Durable storage of coldtrace records: every role a backend plays. A backend implements each role trait; this
/// trait follows. Callers hold `Arc<dyn Store>` and bring the roles they use into scope (`use coldtrace_store::prelude::*`).
/// The audit trail ([`audit`]): appended in batches, read in sequence order.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events in order, chaining each to the stored tail inside one transaction; answers the last
    /// entry written.
    async fn append_audit(
        &self,
        events: Vec<audit::AuditEvent>,
    ) -> Result<Option<audit::AuditEntry>>;
    /// Entries after `after` in sequence order, only `province`'s when given.
    async fn audit_entries(
        &self,
        province: Option<String>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<audit::AuditEntry>>;
}

/// Findings of the ledger checks: opened and resolved by the writer inside a submission's transaction,
/// dismissed by a regulator.
#[async_trait]
pub trait FindingStore: Send + Sync + 'static {
    /// Findings in `scope` matching `filter`, newest first, after the cursor (`seq`); answers the cursor of each.
    async fn findings(
        &self,
        scope: Scope,
        filter: FindingFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, Finding)>>;

    async fn finding(&self, id: Uuid) -> Result<Option<Finding>>;

    /// Data quality by city and enterprise kind, over the lots in `scope`.
    async fn quality(&self, scope: Scope) -> Result<Vec<Quality>>;

    /// Data quality by day, city and enterprise kind from `since_day` (`2026-11-06`) on, as each sweep recorded
    /// it (the last sweep of a day stands for the day), oldest first.
    async fn quality_history(&self, scope: Scope, since_day: String) -> Result<Vec<QualityDay>>;

    /// The periodic sweep over stored records, under `checks` (a rule that is off is not swept; one under reject
    /// is flagged, there being no write to refuse): opens an in-transit finding for each shipment to a
    /// registered enterprise older than the transit window at `now_ms` with no receipt, and a dormant-stock
    /// finding for each unsealed lot with stock that has not moved within the dormant window (once per
    /// shipment or lot and window: a dismissed one is not opened again); resolves those that records have since
    /// settled; then records the day's data quality by city and kind ([`FindingStore::quality_history`]).
    async fn sweep(
        &self,
        now_ms: i64,
        checks: coldtrace_domain::checks::CheckPolicy,
    ) -> Result<SweepReport>;

    /// Closes an open or answered finding as `closing` says, by `by`, with a reason; answers it as it now
    /// stands (`None` when there is no such finding). Closing a closed finding changes nothing.
    async fn close_finding(
        &self,
        id: Uuid,
        closing: Closing,
        by: String,
        reason: String,
    ) -> Result<Option<Finding>>;

    /// Records the enterprise's answer to an open or answered finding (a later answer replaces an earlier
    /// one); answers it as it now stands. A closed finding is left as it was.
    async fn answer_finding(&self, id: Uuid, answer: FindingAnswer) -> Result<Option<Finding>>;
}

/// Customs data and the cross-check of importers' batches against it ([`coldtrace_domain::customs`]).
#[async_trait]
pub trait CustomsStore: Send + Sync + 'static {
    /// Stores declarations customs sent for `province`'s platform, in one transaction: a declaration sent again
    /// with the same content changes nothing, with other content replaces the stored one (customs amended it).
    /// Then cross-checks them, and every current batch naming them, under `checks` at `now_ms`, opening and
    /// resolving findings.
    async fn put_declarations(
        &self,
        province: ProvinceCode,
        by: String,
        declarations: Vec<coldtrace_domain::customs::Declaration>,
        checks: coldtrace_domain::checks::CheckPolicy,
        now_ms: i64,
    ) -> Result<CustomsReceipt>;

    /// Declarations matching the filter, by declaration number after `after`.
    async fn declarations(
        &self,
        filter: DeclarationFilter,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<StoredDeclaration>>;

    async fn declaration(&self, declaration_no: String) -> Result<Option<StoredDeclaration>>;

    /// The whole cross-check: every declaration against every current imported batch, opening what is new and
    /// resolving what records have since put right (the periodic sweep runs it too).
    async fn cross_check_customs(
        &self,
        now_ms: i64,
        checks: coldtrace_domain::checks::CheckPolicy,
    ) -> Result<SweepReport>;
}

/// The census of cold-chain enterprises and the per-enterprise figures of the bureau's statistics.
#[async_trait]
pub trait CensusStore: Send + Sync + 'static {
    /// Replaces `province`'s census with `entries` (a census is imported whole), in one transaction; answers how
    /// many were stored.
    async fn put_census(
        &self,
        province: ProvinceCode,
        by: String,
        entries: Vec<coldtrace_domain::census::CensusEntry>,
        now_ms: i64,
    ) -> Result<u64>;

    /// `province`'s census, in the order it was imported, with when and by whom (none imported: empty).
    async fn census(
        &self,
        province: ProvinceCode,
    ) -> Result<(
        Vec<coldtrace_domain::census::CensusEntry>,
        Option<(i64, String)>,
    )>;

    /// Every registered enterprise in `scope` (current versions) with its activity.
    async fn activity(&self, scope: Scope) -> Result<Vec<EnterpriseActivity>>;

    /// Businesses of `province` that movements name by USCC and that are not registered, most named first.
    async fn unregistered_parties(
        &self,
        province: ProvinceCode,
        limit: u32,
    ) -> Result<Vec<UnregisteredParty>>;

    /// Records coverage by city and kind for a day (replacing that day's), and reads it back from `since_day`.
    async fn record_coverage(&self, province: ProvinceCode, rows: Vec<CoverageDay>) -> Result<()>;
    async fn coverage_history(
        &self,
        province: ProvinceCode,
        since_day: String,
    ) -> Result<Vec<CoverageDay>>;
}

/// The province contacts registry at the national platform: every version of every province's entry.
#[async_trait]
pub trait ContactsStore: Send + Sync + 'static {
    /// Stores a new version of `province`'s entry (the same content as the latest changes nothing); answers the
    /// entry as it now stands.
    async fn put_contacts(
        &self,
        province: String,
        contacts: coldtrace_domain::contacts::ProvinceContacts,
        by: String,
        now_ms: i64,
    ) -> Result<coldtrace_domain::contacts::ContactsVersion>;
    /// The latest entry of every province, by province.
    async fn contacts(&self) -> Result<Vec<coldtrace_domain::contacts::ContactsVersion>>;
    /// Every version of one province's entry, oldest first.
    async fn contacts_history(
        &self,
        province: String,
    ) -> Result<Vec<coldtrace_domain::contacts::ContactsVersion>>;
}

/// A staff member as the store keeps it, with the latest test.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StaffEntry {
    pub enterprise: Uuid,
    pub member: coldtrace_domain::staff::StaffMember,
    pub registered_at_ms: i64,
    pub last_test: Option<coldtrace_domain::staff::StaffTest>,
}

/// Enterprises' staff registries and their nucleic-acid tests (从业人员与核酸检测).
#[async_trait]
pub trait StaffStore: Send + Sync + 'static {
    /// Adds or updates (by identity number) members of an enterprise's staff; answers how many were new.
    async fn put_staff(
        &self,
        enterprise: Uuid,
        members: Vec<coldtrace_domain::staff::StaffMember>,
        now_ms: i64,
    ) -> Result<u64>;
    /// The staff in `scope` with each one's latest test, by enterprise and name.
    async fn staff(&self, scope: Scope) -> Result<Vec<StaffEntry>>;
    /// Records tests of an enterprise's staff, all or nothing: each must name a member of its staff
    /// (`Invalid` naming `tests[i].id_no` otherwise). The same test again changes nothing; answers how many were
    /// new. An overdue finding a negative test settles (within `every_days` of today) is resolved at once.
    async fn put_staff_tests(
        &self,
        enterprise: Uuid,
        tests: Vec<coldtrace_domain::staff::StaffTest>,
        every_days: u32,
        now_ms: i64,
    ) -> Result<u64>;
    /// The latest test of each (enterprise, identity number) as that enterprise recorded it.
    async fn last_tests(
        &self,
        people: Vec<(Uuid, String)>,
    ) -> Result<std::collections::HashMap<(Uuid, String), coldtrace_domain::staff::StaffTest>>;
}

/// The EPCIS event repository: capture jobs, kept with their document until they finish (so an acknowledged
/// capture survives a crash), and the events they stored.
#[async_trait]
pub trait EpcisStore: Send + Sync + 'static {
    /// Records a capture job with its document before it is answered (202).
    async fn create_capture_job(
        &self,
        id: Uuid,
        enterprise: Uuid,
        behaviour: epcis::ErrorBehaviour,
        document: String,
        now_ms: i64,
    ) -> Result<()>;
    /// Jobs not finished (after a restart, they run again): id, enterprise, behaviour, document.
    async fn unfinished_capture_jobs(
        &self,
    ) -> Result<Vec<(Uuid, Uuid, epcis::ErrorBehaviour, String)>>;
    /// Stores a job's events in one transaction and ends the job: an event whose hash or eventID is already
    /// stored counts as a duplicate and is not stored again. With `errors` under rollback nothing is stored.
    /// `notes` are the events kept in the repository but not in the trace, and why.
    async fn finish_capture_job(
        &self,
        id: Uuid,
        events: Vec<epcis::NewEvent>,
        errors: Vec<epcis::JobError>,
        notes: Vec<epcis::JobError>,
        now_ms: i64,
    ) -> Result<epcis::CaptureJob>;
    async fn capture_job(&self, id: Uuid) -> Result<Option<epcis::CaptureJob>>;
    /// The identifiers (by key) that captured aggregations (`ADD` or `OBSERVE`) put in the container `parent`,
    /// each with the enterprise that captured the aggregation.
    async fn epcis_children(&self, parent: &str) -> Result<Vec<(String, Uuid)>>;
    /// Events in `scope` (by the enterprise that captured them) that pass `filter`, in repository order.
    async fn epcis_events(
        &self,
        scope: Scope,
        filter: epcis::EventFilter,
    ) -> Result<Vec<epcis::StoredEvent>>;
}

/// What a feed of temperature readings stored and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SensorReceipt {
    /// Readings new to the store (the same reading again is not stored twice).
    pub stored: u64,
    /// Excursions the readings show on lots (a lot and the start of a run), and the findings opened for them
    /// (an excursion found before keeps its finding).
    pub excursions: u64,
    pub findings_opened: u64,
}

/// Temperature readings (温度记录) and the excursions they show.
#[async_trait]
pub trait SensorStore: Send + Sync + 'static {
    /// Stores an enterprise's readings and, in the same transaction, opens a finding (`temperature_excursion`)
    /// for each lot held through an excursion its readings show, under `windows`' limits; nothing is opened under
    /// `Policy::Off`.
    async fn put_readings(
        &self,
        enterprise: Uuid,
        readings: Vec<coldtrace_domain::sensor::Reading>,
        windows: coldtrace_domain::checks::Windows,
        policy: coldtrace_domain::checks::Policy,
        now_ms: i64,
    ) -> Result<SensorReceipt>;
    /// Which of these batches experienced an excursion (a finding not dismissed).
    async fn excursion_batches(
        &self,
        batches: Vec<Uuid>,
    ) -> Result<std::collections::BTreeSet<Uuid>>;
}

pub trait Store:
    RecordStore
    + SensorStore
    + EpcisStore
    + FindingStore
    + CustomsStore
    + CensusStore
    + ContactsStore
    + StaffStore
    + AuditStore
    + CredentialStore
    + IndexFeed
    + IncidentStore
    + PublicationStore
    + OutboxStore
    + InboxStore
{
}

impl<
    T: RecordStore
        + SensorStore
        + EpcisStore
        + FindingStore
        + CustomsStore
        + CensusStore
        + ContactsStore
        + StaffStore
        + AuditStore
        + CredentialStore
        + IndexFeed
        + IncidentStore
        + PublicationStore
        + OutboxStore
        + InboxStore,
> Store for T
{
}

/// The role traits, for `use coldtrace_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        AuditStore, CensusStore, ContactsStore, CredentialStore, CustomsStore, EpcisStore,
        FindingStore, InboxStore, IncidentStore, IndexFeed, OutboxStore, PublicationStore,
        RecordStore, StaffStore, Store,
    };
}
