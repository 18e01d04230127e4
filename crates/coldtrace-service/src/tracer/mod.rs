//! The tracer: the trace index and the directories beside it (parties, batches), rebuilt from the store at
//! start and caught up after every commit, and the full answer of a trace: implicated batches, every holder with
//! its province, city, contact (masked by role) and quantities, the path that implicates it, and the earliest
//! time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Instant;

use coldtrace_domain::person::{mask_name, mask_phone};
use coldtrace_domain::{Principal, Role, party};
use coldtrace_store::{BatchSummary, Page, Scope, Store, StoreError};
use coldtrace_trace::{
    Direction, Hit, Ix, IxSet, Kind, Query, Secs, Start, TimeMode, TraceIndex, TraceResult, millis,
    secs,
};
use uuid::Uuid;

mod snapshot;
pub use snapshot::{Opened, SnapshotError, SnapshotFigures};

/// What the directory knows of a trading party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyInfo {
    pub enterprise: Option<Uuid>,
    pub name: Text,
    pub uscc: Option<Text>,
    /// GB/T 2260 region code (6 digits) of a registered enterprise.
    pub region: Option<Text>,
    pub kind: Option<Text>,
    pub contact_name: Option<Text>,
    pub contact_phone: Option<Text>,
    /// Province code and name, and city code, derived once from the region.
    pub province: Option<Text>,
    pub province_name: Option<Text>,
    pub city: Option<Text>,
    /// The place below the province by name (`郑州市 金水区`), from the GB/T 2260 table.
    pub place: Option<Text>,
    /// The contact name as every viewer but the regulator of the party's province sees it (see
    /// `contact_visible`), masked once here rather than per answer.
    pub contact_name_masked: Option<Text>,
    /// The contact phone, masked likewise.
    pub contact_phone_masked: Option<Text>,
}

impl PartyInfo {
    /// The same party with its masked contact filled in from the contact.
    pub fn with_masks(mut self) -> Self {
        self.contact_name_masked = self.contact_name.as_deref().map(|n| text(&mask_name(n)));
        self.contact_phone_masked = self.contact_phone.as_deref().map(|p| text(&mask_phone(p)));
        self
    }
}

/// Shared immutable text: answers clone names thousands of times, so they share one allocation.
pub type Text = std::sync::Arc<str>;

fn text(s: &str) -> Text {
    Text::from(s)
}

/// What an answer needs of a batch, in shared text.
#[derive(Debug, Clone)]
struct BatchInfo {
    batch_no: Text,
    product: Text,
    unit: Text,
    origin_country: Text,
    establishment_no: Option<Text>,
    imported: bool,
}

/// A map keyed by id, with a fast seeded hasher (every answer looks up each holder and batch here).
type IdMap<V> = HashMap<Uuid, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Directory {
    parties: IdMap<PartyInfo>,
    by_enterprise: IdMap<Uuid>,
    batches: IdMap<BatchInfo>,
    by_establishment: HashMap<String, Vec<Uuid>>,
    by_origin: HashMap<String, Vec<Uuid>>,
}

impl Directory {
    fn add_enterprise(&mut self, e: &coldtrace_domain::Enterprise) {
        let key = party::by_uscc(&e.uscc);
        self.by_enterprise.insert(e.id, key);
        let province = e.region.province();
        self.parties.insert(
            key,
            PartyInfo {
                enterprise: Some(e.id),
                name: text(&e.name),
                uscc: Some(text(e.uscc.as_str())),
                region: Some(text(e.region.as_str())),
                kind: Some(text(e.kind.as_str())),
                contact_name: Some(text(&e.contact.name)),
                contact_phone: Some(text(&e.contact.phone)),
                province: Some(text(province.as_str())),
                province_name: Some(text(province.name())),
                city: Some(text(&e.region.city())),
                place: Some(text(&e.region.place())),
                ..Default::default()
            }
            .with_masks(),
        );
    }
    fn add_batch(&mut self, b: BatchSummary) {
        if let Some(est) = &b.establishment_no {
            self.by_establishment
                .entry(est.clone())
                .or_default()
                .push(b.id);
        }
        self.by_origin
            .entry(b.origin_country.clone())
            .or_default()
            .push(b.id);
        self.batches.insert(
            b.id,
            BatchInfo {
                batch_no: text(&b.batch_no),
                product: text(&b.product),
                unit: text(&b.unit),
                origin_country: text(&b.origin_country),
                establishment_no: b.establishment_no.as_deref().map(text),
                imported: b.declaration_no.is_some(),
            },
        );
    }
}

/// How far the tracer has read the store.
#[derive(Debug, Default, Clone, Copy)]
struct Cursor {
    flow: u64,
    batch: i64,
    enterprise: i64,
}

/// Figures of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RebuildStats {
    pub movements: u64,
    pub lots: usize,
    pub batches: usize,
    pub seconds: f64,
    pub movements_per_second: f64,
    pub index_bytes: usize,
    pub bytes_per_movement: f64,
}

/// The trace index and its directories, shared by every request.
pub struct Tracer {
    /// A `std` lock: searches are microseconds and never await while holding it.
    index: RwLock<TraceIndex>,
    dir: RwLock<Directory>,
    /// Serialises catch-ups so that each stored row is applied once.
    cursor: std::sync::Arc<tokio::sync::Mutex<Cursor>>,
    /// One snapshot save at a time.
    save_gate: std::sync::Mutex<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// Where a trace starts, as a caller names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceFrom {
    Batch(Uuid),
    /// Several batches at once (the batches a national notice names).
    Batches(Vec<Uuid>),
    /// A batch at one holder (an enterprise id).
    Lot {
        batch: Uuid,
        enterprise: Uuid,
    },
    /// Every batch from an overseas establishment.
    Establishment(String),
    /// Every batch from an origin country.
    Origin(String),
    /// A place (an enterprise's premises) during a window.
    Place {
        enterprise: Uuid,
        from_ms: i64,
        to_ms: i64,
    },
    /// What a person handled (a person key, see `coldtrace_domain::party::person_key`).
    Person(String),
    /// What a person handled at one enterprise only (an enterprise's own report of its staff member).
    PersonAt(String, Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRequest {
    pub from: TraceFrom,
    pub direction: Direction,
    pub mode: TimeMode,
}

/// Which way a trace goes (追溯方向).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TraceDirection {
    /// Backward to the sources and forward to every holder (正反向同时).
    #[default]
    Both,
    /// Forward: where the goods went (正向).
    Forward,
    /// Backward: where the goods came from (反向).
    Backward,
    /// The scope of an incident (处置范围): backward to the sources, then forward from everything reached, so
    /// the remaining stock at the sources is found too.
    Scope,
}

impl From<TraceDirection> for Direction {
    fn from(d: TraceDirection) -> Self {
        match d {
            TraceDirection::Both => Direction::Both,
            TraceDirection::Forward => Direction::Forward,
            TraceDirection::Backward => Direction::Backward,
            TraceDirection::Scope => Direction::Scope,
        }
    }
}

/// How time counts in a trace.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TimeRule {
    /// Goods that left a holder before contaminated goods arrived are not implicated.
    #[default]
    Strict,
    /// Every flow counts, whatever its time.
    Conservative,
}

impl From<TimeRule> for TimeMode {
    fn from(m: TimeRule) -> Self {
        match m {
            TimeRule::Strict => TimeMode::Strict,
            TimeRule::Conservative => TimeMode::Conservative,
        }
    }
}

impl From<Direction> for TraceDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Both => TraceDirection::Both,
            Direction::Forward => TraceDirection::Forward,
            Direction::Backward => TraceDirection::Backward,
            Direction::Scope => TraceDirection::Scope,
        }
    }
}

impl From<TimeMode> for TimeRule {
    fn from(m: TimeMode) -> Self {
        match m {
            TimeMode::Strict => TimeRule::Strict,
            TimeMode::Conservative => TimeRule::Conservative,
        }
    }
}

/// How a batch or a lot is implicated: where the trace started, or reached forward or backward from it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    Start,
    Forward,
    Backward,
}

impl Relation {
    /// The wire name, for spreadsheets.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Start => "start",
            Relation::Forward => "forward",
            Relation::Backward => "backward",
        }
    }
}

/// An implicated batch.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BatchOut {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub batch_no: Text,
    #[schema(value_type = String)]
    pub product: Text,
    #[schema(value_type = String)]
    pub origin_country: Text,
    #[schema(value_type = Option<String>)]
    pub establishment_no: Option<Text>,
    #[schema(value_type = String)]
    pub unit: Text,
    pub role: Relation,
    /// The batch was held through a temperature excursion somewhere (a `temperature_excursion` finding).
    pub temperature_excursion: bool,
}

/// One batch at one holder.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LotOut {
    pub batch: Uuid,
    #[schema(value_type = String)]
    pub batch_no: Text,
    #[schema(value_type = String)]
    pub product: Text,
    #[schema(value_type = String)]
    pub unit: Text,
    pub received: f64,
    pub produced: f64,
    pub shipped: f64,
    pub sold: f64,
    pub consumed: f64,
    pub destroyed: f64,
    pub returned: f64,
    pub on_hand: f64,
    /// What the records add up to: negative when more left the lot than came in (a stock finding); on hand is
    /// then 0.
    pub balance: f64,
    /// True when the holder recorded no receipt and the quantity is what senders reported.
    pub receipt_unconfirmed: bool,
    /// Forward: earliest time it held implicated goods. Backward: latest time it sent goods onward.
    #[schema(value_type = Option<String>)]
    pub time: Option<Stamp>,
    /// When the forward search reached the lot (it held implicated goods from then), if it did.
    #[schema(value_type = Option<String>)]
    pub forward_time: Option<Stamp>,
    /// When the backward search reached the lot (the latest time it sent goods towards the start), if it did.
    #[schema(value_type = Option<String>)]
    pub backward_time: Option<Stamp>,
    pub role: Relation,
    #[serde(skip)]
    pub on_hand_milli: i64,
    #[serde(skip)]
    pub lot: Ix,
}

/// Where a lot's goods came from: the seller (or the holder itself, when it made them) and when.
#[derive(Debug, Clone)]
pub struct LotSource {
    pub seller: Text,
    pub seller_uscc: Option<Text>,
    /// The seller's business contact, when it is a registered enterprise.
    pub seller_contact: Option<String>,
    pub at: Option<Stamp>,
    pub kind: coldtrace_domain::incident::LineDate,
}

/// One step of the path that implicates a holder.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PathStep {
    #[schema(value_type = String)]
    pub holder: Text,
    #[schema(value_type = String)]
    pub batch_no: Text,
    /// The movement that led to this step (`receive`, `ship`, `sell`, `return`, `transform`).
    pub via: Option<&'static str>,
    #[schema(value_type = Option<String>)]
    pub at: Option<Stamp>,
}

/// An implicated holder with everything the response needs.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HolderOut {
    pub key: Uuid,
    pub enterprise: Option<Uuid>,
    #[schema(value_type = String)]
    pub name: Text,
    #[schema(value_type = Option<String>)]
    pub uscc: Option<Text>,
    #[schema(value_type = Option<String>)]
    pub kind: Option<Text>,
    #[schema(value_type = Option<String>)]
    pub province: Option<Text>,
    #[schema(value_type = Option<String>)]
    pub province_name: Option<Text>,
    #[schema(value_type = Option<String>)]
    pub city: Option<Text>,
    /// The place below the province by name (`郑州市 金水区`): city and district from the GB/T 2260 table.
    #[schema(value_type = Option<String>)]
    pub place: Option<Text>,
    #[schema(value_type = Option<String>)]
    pub contact_name: Option<Text>,
    #[schema(value_type = Option<String>)]
    pub contact_phone: Option<Text>,
    /// Earliest forward time over its lots (when implicated goods reached it).
    #[schema(value_type = Option<String>)]
    pub earliest: Option<Stamp>,
    pub lots: Vec<LotOut>,
    /// The path from a start to this holder (the first of its lots reached).
    pub path: Vec<PathStep>,
    pub on_hand: f64,
    /// Name and phone as [`TraceAnswer::masked_for`] shows them to every viewer but the regulator of the holder's
    /// province.
    #[serde(skip)]
    masked_contact: (Option<Text>, Option<Text>),
}

/// The full answer of a trace.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TraceAnswer {
    /// Microseconds spent in the search and in building this answer.
    pub took_us: u64,
    pub direction: TraceDirection,
    pub mode: TimeRule,
    pub batches: Vec<BatchOut>,
    pub holders: Vec<HolderOut>,
    pub provinces: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub earliest: Option<Stamp>,
    /// Flows between the holders of the answer (goods passing from one holder to another), for drawing.
    pub flows: Vec<FlowOut>,
    /// The lots behind the answer, for exports and people (see [`Tracer::movement_seqs`]).
    #[serde(skip)]
    pub lots: Vec<Ix>,
}

/// Goods passing between two holders of an answer.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct FlowOut {
    /// Holder keys, as in [`HolderOut::key`].
    pub from: Uuid,
    pub to: Uuid,
    pub batch: Uuid,
    pub quantity: f64,
    #[schema(value_type = Option<String>)]
    pub at: Option<Stamp>,
    /// `ship`, `sell`, `return`, `receive`.
    pub via: &'static str,
}

/// A time in an answer: the index's seconds, written as RFC 3339 at UTC+8 (`2026-03-01T08:00:00+08:00`) when the
/// answer is serialized or displayed. It stays a number until then: an answer holds several times per lot, and
/// formatting each into a string of its own was a tenth of the answers' time in `bench trace` (search included).
/// Ordered as its text is (same offset, four-digit years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(Secs);

impl Stamp {
    /// The time of an index entry; none for the index's "no time" values (0 and the maximum).
    pub fn of(s: Secs) -> Option<Stamp> {
        (s != 0 && s != Secs::MAX).then_some(Stamp(s))
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        millis(self.0)
    }

    /// The local date (UTC+8), `2026-03-01`.
    pub fn date(self) -> String {
        let mut buf = [0u8; 25];
        self.write(&mut buf)[..10].to_string()
    }

    /// Writes the text into `out` by hand (no general formatter) and returns it.
    fn write(self, out: &mut [u8; 25]) -> &str {
        let t = millis(self.0) / 1000 + 8 * 3600;
        let (days, sod) = (t.div_euclid(86_400), t.rem_euclid(86_400));
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        *out = *b"0000-00-00T00:00:00+08:00";
        for (at, n) in [
            (0, y / 100),
            (2, y % 100),
            (5, m),
            (8, d),
            (11, sod / 3600),
            (14, sod / 60 % 60),
            (17, sod % 60),
        ] {
            out[at] = b'0' + (n / 10) as u8;
            out[at + 1] = b'0' + (n % 10) as u8;
        }
        std::str::from_utf8(out).expect("ASCII digits and separators")
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.write(&mut [0u8; 25]))
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.write(&mut [0u8; 25]))
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Receive => "receive",
        Kind::Ship => "ship",
        Kind::Sell => "sell",
        Kind::Consume | Kind::Produce => "transform",
        Kind::Destroy => "destroy",
        Kind::Seal => "seal",
        Kind::Return => "return",
    }
}

fn q(m: i64) -> f64 {
    m as f64 / 1000.0
}

impl Tracer {
    /// An empty tracer; [`Tracer::catch_up`] fills it from the store.
    pub fn new() -> Self {
        Self {
            index: RwLock::new(TraceIndex::new()),
            dir: RwLock::new(Directory::default()),
            cursor: Default::default(),
            save_gate: Default::default(),
        }
    }

    /// Builds the index from everything stored, laid out contiguously (the time includes the compaction).
    pub async fn rebuild(store: &dyn Store) -> Result<(Tracer, RebuildStats), TraceError> {
        let t = Tracer::new();
        let start = Instant::now();
        t.catch_up(store).await?;
        let seconds = start.elapsed().as_secs_f64();
        let (movements, lots, bytes) = {
            let mut ix = t.index.write().unwrap_or_else(|p| p.into_inner());
            ix.compact();
            ix.shrink_to_fit();
            (ix.flows(), ix.lots(), ix.heap_bytes())
        };
        let batches = t
            .dir
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .batches
            .len();
        let stats = RebuildStats {
            movements,
            lots,
            batches,
            seconds,
            movements_per_second: movements as f64 / seconds.max(1e-9),
            index_bytes: bytes,
            bytes_per_movement: bytes as f64 / (movements.max(1)) as f64,
        };
        Ok((t, stats))
    }

    /// Reads what was committed since the last call and adds it. Called after every write; cheap when nothing
    /// is new.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<u64, TraceError> {
        let mut cur = self.cursor.lock().await;
        loop {
            let page = store
                .enterprises(
                    &Scope::All,
                    Page {
                        after: cur.enterprise,
                        limit: 1000,
                    },
                )
                .await?;
            if page.is_empty() {
                break;
            }
            let mut dir = self.dir.write().unwrap_or_else(|p| p.into_inner());
            for e in &page {
                dir.add_enterprise(&e.record);
                cur.enterprise = e.seq;
            }
        }
        loop {
            let page = store.batch_summaries(cur.batch, 10_000).await?;
            if page.is_empty() {
                break;
            }
            let mut dir = self.dir.write().unwrap_or_else(|p| p.into_inner());
            for (seq, b) in page {
                cur.batch = seq;
                dir.add_batch(b);
            }
        }
        let mut added = 0;
        loop {
            let page = store.flows(cur.flow, 100_000).await?;
            if page.is_empty() {
                break;
            }
            {
                let mut ix = self.index.write().unwrap_or_else(|p| p.into_inner());
                for r in &page {
                    // A correction replaces the flow it corrects, live as after a rebuild.
                    if let Some(old) = &r.retracts {
                        ix.retract(old);
                    }
                    if !r.corrected {
                        ix.apply(&r.flow);
                    }
                }
            }
            let mut dir = self.dir.write().unwrap_or_else(|p| p.into_inner());
            for r in &page {
                if let (Some(k), Some(name)) = (r.flow.counterparty, &r.counterparty_name) {
                    dir.parties.entry(k).or_insert_with(|| PartyInfo {
                        name: text(name),
                        uscc: r.counterparty_uscc.as_deref().map(text),
                        ..Default::default()
                    });
                }
            }
            added += page.len() as u64;
            cur.flow = page.last().map(|r| r.flow.seq).unwrap_or(cur.flow);
        }
        Ok(added)
    }

    /// Index figures: `(movements, lots, heap bytes)`.
    pub fn figures(&self) -> (u64, usize, usize) {
        let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
        (ix.flows(), ix.lots(), ix.heap_bytes())
    }

    /// Whether the directory knows the batch.
    pub fn knows_batch(&self, id: &Uuid) -> bool {
        self.dir
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .batches
            .contains_key(id)
    }

    /// Where the goods of each lot of an answer came from, for the lines of notices (contacts in full): computed
    /// only when notices are drafted, not for every trace.
    pub fn sources(&self, a: &TraceAnswer) -> HashMap<Ix, LotSource> {
        let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        a.lots
            .iter()
            .filter_map(|&lot| {
                let imported = dir
                    .batches
                    .get(&ix.batch_id(ix.lot_batch(lot)))
                    .is_some_and(|b| b.imported);
                source_of(&ix, &dir, lot, imported).map(|s| (lot, s))
            })
            .collect()
    }

    /// The store sequence numbers of every movement at the lots of an answer, in order.
    pub fn movement_seqs(&self, a: &TraceAnswer) -> Vec<u64> {
        let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<u64> = a
            .lots
            .iter()
            .flat_map(|l| ix.lot_movements(*l).map(|m| m.4 as u64))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Every batch the directory knows, sorted.
    pub fn batch_ids(&self) -> Vec<Uuid> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Uuid> = dir.batches.keys().copied().collect();
        v.sort();
        v
    }

    /// Imported batches (those with a customs declaration), in a stable order: samples for benchmarks.
    pub fn imported_batches(&self) -> Vec<Uuid> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Uuid> = dir
            .batches
            .iter()
            .filter(|(_, b)| b.imported)
            .map(|(id, _)| *id)
            .collect();
        v.sort();
        v
    }

    /// Overseas establishments with the number of batches from each, largest first.
    pub fn establishments(&self) -> Vec<(String, Vec<Uuid>)> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<(String, Vec<Uuid>)> = dir
            .by_establishment
            .iter()
            .map(|(k, b)| (k.clone(), b.clone()))
            .collect();
        v.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        v
    }

    /// Registered enterprises of a kind (`first_station_cold_store`, ...).
    pub fn enterprises_of_kind(&self, kind: &str) -> Vec<Uuid> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Uuid> = dir
            .parties
            .values()
            .filter(|p| p.kind.as_deref() == Some(kind))
            .filter_map(|p| p.enterprise)
            .collect();
        v.sort();
        v
    }

    /// The party key of a registered enterprise.
    pub fn party_of(&self, enterprise: &Uuid) -> Option<Uuid> {
        self.dir
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_enterprise
            .get(enterprise)
            .copied()
    }

    /// Resolves where the trace starts into engine seeds (store lookups for places and people).
    pub async fn seeds(&self, store: &dyn Store, from: &TraceFrom) -> Result<Start, TraceError> {
        Ok(match from {
            TraceFrom::Batch(b) => {
                if self
                    .index
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .batch(b)
                    .is_none()
                    && !self.knows_batch(b)
                {
                    return Err(TraceError::NotFound(format!("no batch {b}")));
                }
                Start::Batches(vec![*b])
            }
            TraceFrom::Batches(bs) => {
                let known: Vec<Uuid> = bs.iter().filter(|b| self.knows_batch(b)).copied().collect();
                if known.is_empty() {
                    return Err(TraceError::NotFound(
                        "none of the batches is known here".into(),
                    ));
                }
                Start::Batches(known)
            }
            TraceFrom::Establishment(e) => {
                let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
                let v = dir.by_establishment.get(e).cloned().unwrap_or_default();
                if v.is_empty() {
                    return Err(TraceError::NotFound(format!(
                        "no batch from establishment {e}"
                    )));
                }
                Start::Batches(v)
            }
            TraceFrom::Origin(c) => {
                let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
                let v = dir
                    .by_origin
                    .get(&c.to_ascii_uppercase())
                    .cloned()
                    .unwrap_or_default();
                if v.is_empty() {
                    return Err(TraceError::NotFound(format!("no batch from {c}")));
                }
                Start::Batches(v)
            }
            TraceFrom::Lot { batch, enterprise } => {
                let key = self
                    .party_of(enterprise)
                    .ok_or_else(|| TraceError::NotFound("no such holder".into()))?;
                let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
                let lot = ix.lot(batch, &key).ok_or_else(|| {
                    TraceError::NotFound("the holder never had this batch".into())
                })?;
                Start::Lots(vec![(lot, 0, Secs::MAX)])
            }
            TraceFrom::Place {
                enterprise,
                from_ms,
                to_ms,
            } => {
                if to_ms < from_ms {
                    return Err(TraceError::Invalid("to is before from".into()));
                }
                let key = self
                    .party_of(enterprise)
                    .ok_or_else(|| TraceError::NotFound("no such place".into()))?;
                let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
                let Some(h) = ix.holder(&key) else {
                    return Ok(Start::Lots(vec![]));
                };
                // Every lot at the place that held goods during the window: received before its end, and still
                // moving (or not empty) after its start. In memory: the index chains each holder's lots.
                let (from, to) = (secs(*from_ms), secs(*to_ms));
                let mut seeds = Vec::new();
                for lot in ix.lots_of_holder(h) {
                    let mut first_in = Secs::MAX;
                    let mut last = 0;
                    for (_, k, t, _, _) in ix.lot_movements(lot) {
                        if matches!(k, Kind::Receive | Kind::Produce) {
                            first_in = first_in.min(t);
                        }
                        last = last.max(t);
                    }
                    if first_in <= to && (last >= from || ix.quantities(lot).on_hand() > 0) {
                        seeds.push((lot, from.max(first_in), to));
                    }
                }
                seeds.sort_unstable();
                Start::Lots(seeds)
            }
            TraceFrom::Person(key) | TraceFrom::PersonAt(key, _) => {
                let only = match from {
                    TraceFrom::PersonAt(_, e) => Some(*e),
                    _ => None,
                };
                let seqs = store.movements_of_person(key).await?;
                if seqs.is_empty() {
                    return Err(TraceError::NotFound(
                        "no movement was handled by this person".into(),
                    ));
                }
                let wanted: std::collections::HashSet<u32> =
                    seqs.iter().map(|s| *s as u32).collect();
                let moves = store.movements_by_seq(seqs).await?;
                let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
                let mut seeds = BTreeMap::new();
                for m in moves {
                    if only.is_some_and(|e| e != m.record.holder) {
                        continue;
                    }
                    let Some(key) = self.party_of(&m.record.holder) else {
                        continue;
                    };
                    let mut batches: Vec<Uuid> = m
                        .record
                        .batch
                        .iter()
                        .filter_map(|b| match b {
                            coldtrace_domain::BatchRef::Id(id) => Some(*id),
                            _ => None,
                        })
                        .collect();
                    for l in m.record.inputs.iter().chain(&m.record.outputs) {
                        if let coldtrace_domain::BatchRef::Id(id) = l.batch {
                            batches.push(id);
                        }
                    }
                    for b in batches {
                        if let Some(lot) = ix.lot(&b, &key) {
                            let t = ix
                                .lot_movements(lot)
                                .filter(|x| wanted.contains(&x.4))
                                .map(|x| x.2)
                                .min()
                                .unwrap_or(0);
                            let e = seeds.entry(lot).or_insert((t, t));
                            e.0 = e.0.min(t);
                            e.1 = e.1.max(t);
                        }
                    }
                }
                Start::Lots(seeds.into_iter().map(|(l, (f, t))| (l, f, t)).collect())
            }
        })
    }

    /// Runs a trace and builds the full answer for the viewer.
    pub async fn trace(
        &self,
        store: &dyn Store,
        req: &TraceRequest,
        viewer: &Principal,
    ) -> Result<TraceAnswer, TraceError> {
        let start = self.seeds_for(store, &req.from, viewer).await?;
        Ok(self.answer(start, req.direction, req.mode, viewer))
    }

    /// The seeds of a trace as `viewer` may start it: a regulator starts only from batches its province sees
    /// (an establishment, an origin or a person names goods in many provinces; the trace then follows them
    /// wherever they went, as a trace from a code does). Nothing left is answered as not found.
    pub async fn seeds_for(
        &self,
        store: &dyn Store,
        from: &TraceFrom,
        viewer: &Principal,
    ) -> Result<Start, TraceError> {
        let start = self.seeds(store, from).await?;
        if viewer.role != Role::Regulator {
            return Ok(start);
        }
        let scope = coldtrace_store::Scope::of(viewer);
        let mut seen: HashMap<Uuid, bool> = HashMap::new();
        let scoped = match start {
            Start::Batches(v) => {
                let mut keep = Vec::with_capacity(v.len());
                for b in v {
                    if store.batch_visible(&scope, b).await? {
                        keep.push(b);
                    }
                }
                Start::Batches(keep)
            }
            Start::Lots(v) => {
                let batches: Vec<(Uuid, (Ix, Secs, Secs))> = {
                    let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
                    v.into_iter()
                        .map(|l| (ix.batch_id(ix.lot_batch(l.0)), l))
                        .collect()
                };
                let mut keep = Vec::with_capacity(batches.len());
                for (b, l) in batches {
                    let visible = match seen.get(&b) {
                        Some(v) => *v,
                        None => {
                            let v = store.batch_visible(&scope, b).await?;
                            seen.insert(b, v);
                            v
                        }
                    };
                    if visible {
                        keep.push(l);
                    }
                }
                Start::Lots(keep)
            }
        };
        let empty = match &scoped {
            Start::Batches(v) => v.is_empty(),
            Start::Lots(v) => v.is_empty(),
        };
        if empty {
            return Err(TraceError::NotFound(
                "nothing in this province to start from".into(),
            ));
        }
        Ok(scoped)
    }

    /// The in-memory part of a trace: search and answer for a viewer, no I/O. This is what the benchmark times.
    pub fn answer(
        &self,
        start: Start,
        direction: Direction,
        mode: TimeMode,
        viewer: &Principal,
    ) -> TraceAnswer {
        let t0 = Instant::now();
        let mut a = self
            .answer_unmasked(start, direction, mode)
            .masked_for(viewer);
        a.took_us = t0.elapsed().as_micros() as u64;
        a
    }

    /// The search and the full answer with every contact in full: for notices, which go to regulators, and for
    /// callers that derive several viewers' answers from one search.
    pub fn answer_unmasked(
        &self,
        start: Start,
        direction: Direction,
        mode: TimeMode,
    ) -> TraceAnswer {
        let t0 = Instant::now();
        let ix = self.index.read().unwrap_or_else(|p| p.into_inner());
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let r = ix.trace(&Query {
            start,
            direction,
            mode,
        });
        // An establishment's answer lists thousands of lots and flows: its holders and the flows between them are
        // built at once, on two threads; a batch's few lots answer faster than a thread starts.
        let (mut a, flows) = if answers_on_two_threads(&r) {
            coldtrace_trace::at_once(|| build(&ix, &dir, &r), || flows_between(&ix, &r))
        } else {
            (build(&ix, &dir, &r), flows_between(&ix, &r))
        };
        a.flows = flows;
        a.direction = direction.into();
        a.mode = mode.into();
        a.took_us = t0.elapsed().as_micros() as u64;
        a
    }
}

impl TraceAnswer {
    /// The answer as `viewer` may see it: contacts in full for the viewer's own province (all of them for the
    /// national platform), masked otherwise.
    pub fn masked_for(mut self, viewer: &Principal) -> TraceAnswer {
        for h in &mut self.holders {
            if !contact_visible(viewer, h.province.as_deref()) {
                h.contact_name = h.masked_contact.0.take();
                h.contact_phone = h.masked_contact.1.take();
            }
        }
        self
    }
}

impl Default for Tracer {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the viewer sees a holder's contact in full: only the regulator of the holder's province, as in
/// every other view of an enterprise (the national platform sees contacts masked; notices carry them to the
/// provinces that act on them).
fn contact_visible(viewer: &Principal, province: Option<&str>) -> bool {
    match viewer.role {
        Role::Regulator => {
            province.is_some() && viewer.province.as_ref().map(|p| p.as_str()) == province
        }
        _ => false,
    }
}

/// From how many hits (the lots each direction reached, a lot reached both ways counted twice) an answer builds its
/// holders and its flows on two threads.
const PARALLEL_ANSWER_FROM_HITS: usize = 1_024;

/// Whether the answer to `r` builds its holders and its flows on two threads.
fn answers_on_two_threads(r: &TraceResult) -> bool {
    r.forward.len() + r.backward.len() >= PARALLEL_ANSWER_FROM_HITS
}

/// The flows between the holders of the lots a search reached, in time order; flows of the same time in the order of
/// their holders, batch, kind and quantity, whatever order the index keeps its lists in.
fn flows_between(ix: &TraceIndex, r: &TraceResult) -> Vec<FlowOut> {
    let inside: IxSet = (r.forward.iter().chain(&r.backward))
        .map(|h| h.lot)
        .collect();
    let mut flows = Vec::new();
    for &lot in &inside {
        for (to, mv) in ix.out_edges(lot) {
            let (hf, ht) = (ix.lot_holder(lot), ix.lot_holder(to));
            if hf == ht || !inside.contains(&to) {
                continue;
            }
            flows.push(FlowOut {
                from: ix.holder_id(hf),
                to: ix.holder_id(ht),
                batch: ix.batch_id(ix.lot_batch(lot)),
                quantity: q(ix.quantity_of(mv)),
                at: Stamp::of(ix.movement_time(mv)),
                via: kind_name(ix.movement_kind(mv)),
            });
        }
    }
    // An establishment's answer has thousands of flows: sorting (time, position) pairs and moving each flow once
    // costs a fraction of sorting the flows themselves.
    let mut order: Vec<(Option<Stamp>, u32)> = (flows.iter().enumerate())
        .map(|(i, f)| (f.at, i as u32))
        .collect();
    order.sort_unstable_by(|x, y| {
        x.0.cmp(&y.0).then_with(|| {
            let (f, g) = (&flows[x.1 as usize], &flows[y.1 as usize]);
            (f.from, f.to, f.batch, f.via)
                .cmp(&(g.from, g.to, g.batch, g.via))
                .then(f.quantity.total_cmp(&g.quantity))
        })
    });
    order.iter().map(|&(_, i)| flows[i as usize]).collect()
}

/// The full answer, contacts unmasked; [`TraceAnswer::masked_for`] shapes it for a viewer.
fn build(ix: &TraceIndex, dir: &Directory, r: &TraceResult) -> TraceAnswer {
    let starts: IxSet = r.starts.iter().copied().collect();
    // Every lot with its role; a start lot is "start" whichever search reached it.
    let mut lots: Vec<(Ix, Relation, &Hit, bool)> =
        Vec::with_capacity(r.forward.len() + r.backward.len());
    let bwd_time: coldtrace_trace::IxMap<Secs> =
        r.backward.iter().map(|h| (h.lot, h.time)).collect();
    for h in &r.forward {
        lots.push((
            h.lot,
            if starts.contains(&h.lot) {
                Relation::Start
            } else if h.via.is_none() && bwd_time.contains_key(&h.lot) {
                // A source the scope's forward search started again from.
                Relation::Backward
            } else {
                Relation::Forward
            },
            h,
            true,
        ));
    }
    // A lot reached both ways (goods returned, a start at one holder among several) is one lot with both times.
    let fwd_time: coldtrace_trace::IxMap<Secs> =
        r.forward.iter().map(|h| (h.lot, h.time)).collect();
    for h in &r.backward {
        if fwd_time.contains_key(&h.lot) {
            continue;
        }
        lots.push((
            h.lot,
            if starts.contains(&h.lot) {
                Relation::Start
            } else {
                Relation::Backward
            },
            h,
            false,
        ));
    }
    let fwd_paths = r.paths(true);
    let bwd_paths = r.paths(false);
    let empty = text("");
    let unknown_party = PartyInfo {
        name: empty.clone(),
        ..Default::default()
    };
    let unknown_batch = BatchInfo {
        batch_no: empty.clone(),
        product: empty.clone(),
        unit: empty.clone(),
        origin_country: empty.clone(),
        establishment_no: None,
        imported: false,
    };
    // Holders and batches in the order the search reached them (forward by time, then backward), which does not
    // depend on how the index numbers them.
    let mut holders: Vec<HolderOut> = Vec::new();
    let mut holder_at: coldtrace_trace::IxMap<usize> = Default::default();
    let mut batches: Vec<BatchOut> = Vec::new();
    // Each batch's directory entry, looked up once per answer rather than once per lot.
    let mut batch_at: coldtrace_trace::IxMap<&BatchInfo> = Default::default();
    let mut earliest = Secs::MAX;
    for (lot, role, hit, forward) in &lots {
        let b = ix.lot_batch(*lot);
        let h = ix.lot_holder(*lot);
        let bid = ix.batch_id(b);
        let info: &BatchInfo = batch_at.entry(b).or_insert_with(|| {
            let info = dir.batches.get(&bid).unwrap_or(&unknown_batch);
            batches.push(BatchOut {
                id: bid,
                batch_no: info.batch_no.clone(),
                product: info.product.clone(),
                origin_country: info.origin_country.clone(),
                establishment_no: info.establishment_no.clone(),
                unit: info.unit.clone(),
                role: *role,
                temperature_excursion: false,
            });
            info
        });
        let qty = ix.quantities(*lot);
        if *forward && hit.time > 0 {
            earliest = earliest.min(hit.time);
        }
        let at = *holder_at.entry(h).or_insert_with(|| {
            let key = ix.holder_id(h);
            let p = dir.parties.get(&key).unwrap_or(&unknown_party);
            holders.push(HolderOut {
                key,
                enterprise: p.enterprise,
                name: p.name.clone(),
                uscc: p.uscc.clone(),
                kind: p.kind.clone(),
                province: p.province.clone(),
                province_name: p.province_name.clone(),
                city: p.city.clone(),
                place: p.place.clone(),
                contact_name: p.contact_name.clone(),
                contact_phone: p.contact_phone.clone(),
                masked_contact: (
                    p.contact_name_masked.clone(),
                    p.contact_phone_masked.clone(),
                ),
                earliest: None,
                lots: vec![],
                path: path(
                    ix,
                    dir,
                    if *forward { &fwd_paths } else { &bwd_paths },
                    *lot,
                    &empty,
                ),
                on_hand: 0.0,
            });
            holders.len() - 1
        });
        let holder = &mut holders[at];
        if *forward && hit.time > 0 {
            let t = Stamp::of(hit.time);
            if holder.earliest.is_none() || t < holder.earliest {
                holder.earliest = t;
            }
        }
        let on_hand = qty.on_hand();
        holder.on_hand += q(on_hand);
        let unconfirmed = qty.received + qty.produced == 0 && qty.reported_inbound > 0;
        holder.lots.push(LotOut {
            batch: bid,
            batch_no: info.batch_no.clone(),
            product: info.product.clone(),
            unit: info.unit.clone(),
            received: q(if unconfirmed {
                qty.reported_inbound
            } else {
                qty.received
            }),
            produced: q(qty.produced),
            shipped: q(qty.shipped),
            sold: q(qty.sold),
            consumed: q(qty.consumed),
            destroyed: q(qty.destroyed),
            returned: q(qty.returned),
            on_hand: q(on_hand),
            balance: q(qty.balance()),
            receipt_unconfirmed: unconfirmed,
            time: Stamp::of(hit.time),
            forward_time: fwd_time.get(lot).and_then(|t| Stamp::of(*t)),
            backward_time: bwd_time.get(lot).and_then(|t| Stamp::of(*t)),
            role: *role,
            on_hand_milli: on_hand,
            lot: *lot,
        });
    }
    let provinces: BTreeSet<&str> = holders
        .iter()
        .filter_map(|h| h.province.as_deref())
        .collect();
    let provinces: Vec<String> = provinces.into_iter().map(str::to_string).collect();
    TraceAnswer {
        took_us: 0,
        direction: TraceDirection::default(),
        mode: TimeRule::default(),
        batches,
        holders,
        provinces,
        earliest: Stamp::of(if earliest == Secs::MAX { 0 } else { earliest }),
        flows: Vec::new(),
        lots: lots.iter().map(|l| l.0).collect(),
    }
}

/// A business contact as notices print it: name and phone, or the phone alone.
pub fn contact_line(name: Option<&str>, phone: Option<&str>) -> Option<String> {
    match (name, phone) {
        (Some(n), Some(p)) => Some(format!("{n} {p}")),
        (None, Some(p)) => Some(p.to_string()),
        _ => None,
    }
}

/// Where a lot's goods came from: its first receipt (from a supplier, or an overseas exporter for an import
/// batch), or, for goods it made, the holder itself at the time it made them.
fn source_of(ix: &TraceIndex, dir: &Directory, lot: Ix, imported: bool) -> Option<LotSource> {
    use coldtrace_domain::incident::LineDate;
    let party = |key: Uuid| dir.parties.get(&key);
    let contact =
        |p: &PartyInfo| contact_line(p.contact_name.as_deref(), p.contact_phone.as_deref());
    // Flows from another holder; a transformation's edges (from the holder's own inputs) are production.
    let first_in = ix
        .in_edges(lot)
        .filter(|(from, _)| ix.lot_holder(*from) != ix.lot_holder(lot))
        // Ties by the store's sequence, not by index numbers, so the seller named is the same after a restart.
        .map(|(from, mv)| (ix.movement_time(mv), ix.movement_seq(mv), from))
        .min();
    let produced = ix
        .lot_movements(lot)
        .filter(|m| m.1 == Kind::Produce)
        .map(|m| m.2)
        .min();
    match (first_in, produced) {
        (Some((t, _, from)), p) if p.is_none_or(|p| t <= p) => {
            let key = ix.holder_id(ix.lot_holder(from));
            let info = party(key);
            let registered = info.is_some_and(|i| i.province.is_some());
            Some(LotSource {
                seller: info.map(|i| i.name.clone()).unwrap_or_else(|| text("")),
                seller_uscc: info.and_then(|i| i.uscc.clone()),
                seller_contact: info.filter(|_| registered).and_then(contact),
                at: Stamp::of(t),
                kind: if imported && !registered {
                    LineDate::Import
                } else {
                    LineDate::Sale
                },
            })
        }
        (_, Some(t)) => {
            let key = ix.holder_id(ix.lot_holder(lot));
            let info = party(key);
            Some(LotSource {
                seller: info.map(|i| i.name.clone()).unwrap_or_else(|| text("")),
                seller_uscc: info.and_then(|i| i.uscc.clone()),
                seller_contact: info.and_then(contact),
                at: Stamp::of(t),
                kind: LineDate::Production,
            })
        }
        _ => None,
    }
}

fn path(
    ix: &TraceIndex,
    dir: &Directory,
    paths: &coldtrace_trace::Paths<'_>,
    lot: Ix,
    empty: &Text,
) -> Vec<PathStep> {
    paths
        .path(lot)
        .iter()
        .map(|s| {
            let key = ix.holder_id(ix.lot_holder(s.lot));
            let bid = ix.batch_id(ix.lot_batch(s.lot));
            PathStep {
                holder: dir
                    .parties
                    .get(&key)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| empty.clone()),
                batch_no: dir
                    .batches
                    .get(&bid)
                    .map(|b| b.batch_no.clone())
                    .unwrap_or_else(|| empty.clone()),
                via: s.mv.map(|m| kind_name(ix.movement_kind(m))),
                at: s.mv.and_then(|m| Stamp::of(ix.movement_time(m))),
            }
        })
        .collect()
}

/// A person who handled implicated goods (人物同查), as the viewer may see them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PersonOut {
    /// The person's key, masked (`id:` or `phone:` and the masked number); `person=` takes the full identity
    /// number or phone, which the caller must already hold.
    pub key: String,
    pub name: String,
    pub id_no: Option<String>,
    pub phone: Option<String>,
    /// Movements of implicated goods they handled.
    pub movements: usize,
    /// The enterprises whose ledgers name them.
    pub holders: Vec<String>,
    /// Their latest nucleic-acid test as recorded by an enterprise whose ledger names them (day and result), shown
    /// only to a regulator of that province who stated a purpose.
    pub last_test: Option<LastTest>,
}

/// A person's latest test, as a trace shows it beside them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LastTest {
    /// `YYYY-MM-DD`.
    pub sampled_on: String,
    pub result: coldtrace_domain::TestResult,
}

/// A person key as a caller sees it: the kind and the identity number or phone masked (`id:1101**********002X`).
/// To trace from a person the caller types the number it already holds.
pub fn masked_person_key(key: &str) -> String {
    use coldtrace_domain::person::mask_id_no;
    match key.split_once(':') {
        Some(("id", v)) => format!("id:{}", mask_id_no(v)),
        Some(("phone", v)) => format!("phone:{}", mask_phone(v)),
        Some((k, v)) => format!("{k}:{}", mask_name(v)),
        None => mask_name(key),
    }
}

/// Who handled the goods of an answer (人物同查). One policy for people: identity numbers are always masked;
/// names and phones are shown in full only to a regulator of the province of an enterprise whose ledger names
/// the person, and only when the caller stated a purpose (recorded in the audit trail); masked for everyone
/// else, the national platform included.
pub async fn people(
    store: &dyn Store,
    tracer: &Tracer,
    a: &TraceAnswer,
    viewer: &Principal,
    purpose: Option<&str>,
) -> Result<Vec<PersonOut>, StoreError> {
    use coldtrace_domain::person::mask_id_no;
    let rows = store.handlers_of(tracer.movement_seqs(a)).await?;
    let holder_of: HashMap<u64, Uuid> = if rows.is_empty() {
        HashMap::new()
    } else {
        let seqs: Vec<u64> = rows
            .iter()
            .map(|r| r.movement_seq)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        store
            .movements_by_seq(seqs)
            .await?
            .into_iter()
            .map(|m| (m.seq as u64, m.record.holder))
            .collect()
    };
    let stated = purpose.is_some_and(|p| !p.trim().is_empty());
    // Each person's latest test as recorded by an enterprise whose ledger names them (人物同查: who handled the
    // goods, and when they last tested); another enterprise's word about them does not count.
    let pairs: Vec<(Uuid, String)> = rows
        .iter()
        .filter_map(|r| Some((*holder_of.get(&r.movement_seq)?, r.id_no.clone()?)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let tests = if pairs.is_empty() {
        HashMap::new()
    } else {
        store.last_tests(pairs).await?
    };
    // Per person: the output, whether it may be shown in full, and the full name and phone.
    let mut by: BTreeMap<String, (PersonOut, bool, String, Option<String>)> = BTreeMap::new();
    for r in rows {
        let holder = holder_of
            .get(&r.movement_seq)
            .and_then(|e| tracer.party_of(e))
            .and_then(|k| a.holders.iter().find(|h| h.key == k));
        let in_jurisdiction = stated
            && viewer.role == Role::Regulator
            && holder.is_some_and(|h| contact_visible(viewer, h.province.as_deref()));
        let name = holder.map(|h| h.name.to_string()).unwrap_or_default();
        let p = by.entry(r.person_key.clone()).or_insert_with(|| {
            (
                PersonOut {
                    key: masked_person_key(&r.person_key),
                    name: mask_name(&r.name),
                    id_no: r.id_no.as_deref().map(mask_id_no),
                    phone: r.phone.as_deref().map(mask_phone),
                    movements: 0,
                    holders: vec![],
                    last_test: None,
                },
                false,
                r.name.clone(),
                r.phone.clone(),
            )
        });
        p.0.movements += 1;
        p.1 |= in_jurisdiction;
        let recorded = holder_of
            .get(&r.movement_seq)
            .zip(r.id_no.as_ref())
            .and_then(|(e, i)| tests.get(&(*e, i.clone())));
        if let Some(t) = recorded
            && p.0
                .last_test
                .as_ref()
                .is_none_or(|l| l.sampled_on < t.sampled_on.to_string())
        {
            p.0.last_test = Some(LastTest {
                sampled_on: t.sampled_on.to_string(),
                result: t.result,
            });
        }
        if !name.is_empty() && !p.0.holders.contains(&name) {
            p.0.holders.push(name);
        }
    }
    Ok(by
        .into_values()
        .map(|(mut out, full, name, phone)| {
            if full {
                out.name = name;
                out.phone = phone;
            } else {
                // A test result is health data: for the regulator of the person's province with a purpose only.
                out.last_test = None;
            }
            out
        })
        .collect())
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for TraceDirection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TraceDirection::Both => "both",
            TraceDirection::Forward => "forward",
            TraceDirection::Backward => "backward",
            TraceDirection::Scope => "scope",
        })
    }
}

impl std::fmt::Display for TimeRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeRule::Strict => "strict",
            TimeRule::Conservative => "conservative",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An establishment's answer, built on two threads, against the same answer built on one.
    #[test]
    fn an_answer_built_on_two_threads_is_the_answer_built_on_one() {
        let tracer = Tracer::new();
        let (ix, establishments) =
            coldtrace_trace::synthetic::index(coldtrace_trace::synthetic::Shape {
                seed: 11,
                flows: 100_000,
                batches_per_establishment: 200,
            });
        *tracer.index.write().unwrap() = ix;
        let mut threaded = 0;
        for batches in establishments.iter().take(6) {
            let start = Start::Batches(batches.clone());
            let got = tracer.answer_unmasked(start.clone(), Direction::Both, TimeMode::Strict);
            let ix = tracer.index.read().unwrap();
            let dir = tracer.dir.read().unwrap();
            let r = ix.trace(&Query {
                start,
                direction: Direction::Both,
                mode: TimeMode::Strict,
            });
            if answers_on_two_threads(&r) {
                threaded += 1;
            }
            let mut want = build(&ix, &dir, &r);
            want.flows = flows_between(&ix, &r);
            want.direction = got.direction;
            want.mode = got.mode;
            want.took_us = got.took_us;
            assert!(!want.flows.is_empty() && want.holders.len() > 1);
            assert_eq!(
                serde_json::to_value(&got).unwrap(),
                serde_json::to_value(&want).unwrap()
            );
        }
        assert!(threaded >= 6, "{threaded} answers took the two-thread path");
    }

    /// The hand-written formatter against jiff's, over the whole range of index times.
    #[test]
    fn times_are_formatted_as_jiff_formats_them() {
        let jiff = |s: Secs| {
            jiff::Timestamp::from_millisecond(millis(s))
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%dT%H:%M:%S+08:00")
                .to_string()
        };
        let mut s: Secs = 1;
        let mut n = 0;
        while s < Secs::MAX - 1 {
            assert_eq!(Stamp::of(s).map(|t| t.to_string()), Some(jiff(s)), "{s}");
            s = s.saturating_add(7_777 + (s % 86_400));
            n += 1;
        }
        for s in [
            1,
            59,
            60,
            86_399,
            86_400,
            5_097_599,
            5_097_600,
            Secs::MAX - 1,
        ] {
            assert_eq!(Stamp::of(s).map(|t| t.to_string()), Some(jiff(s)), "{s}");
        }
        // Every local midnight (UTC+8), and the seconds either side.
        let mut m: Secs = 57_600;
        while m < Secs::MAX - 2 {
            for s in [m - 1, m, m + 1] {
                assert_eq!(Stamp::of(s).map(|t| t.to_string()), Some(jiff(s)), "{s}");
            }
            m = m.saturating_add(86_400);
        }
        assert!(n > 50_000);
        assert_eq!(Stamp::of(0), None);
        assert_eq!(Stamp::of(Secs::MAX), None);
        // Serialized as the same text, ordered as the text is, the date its first ten characters.
        let t = Stamp::of(5_097_600).unwrap();
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!(jiff(5_097_600))
        );
        assert_eq!(t.date(), jiff(5_097_600)[..10]);
        assert!(Stamp::of(1) < Stamp::of(2) && Stamp::of(86_400) < Stamp::of(Secs::MAX - 1));
        assert_eq!(t.millis(), millis(5_097_600));
    }
}
