//! # coldtrace-gen
//!
//! Synthetic but realistic cold-chain data, deterministic from a seed, shaped by the real figures in SPEC
//! section 5: the enterprise mix of a province (scaled from Tianjin's census), container-sized import batches
//! from the real origin countries, 3-5 hops, first-station codes, processors mixing several input batches into
//! new ones, 10-20% of flows crossing a province border, and the staff who handle the goods.
//!
//! Records go through [`Store::submit`], the same validated, transactional path as the API, in submissions of a
//! few thousand records.
//!
//! **Invariant:** the same seed and size give the same records, ids included.

pub mod customs;

use coldtrace_domain::code::uscc_code_check;
use coldtrace_domain::id::{USCC_CHARSET, container_check_digit, gs1_check_digit, uscc_check_char};
use coldtrace_domain::person::Handler;
use coldtrace_domain::{
    Batch, BatchRef, Contact, CountryCode, DeclarationNo, Document, DocumentKind, Enterprise,
    EnterpriseKind, EventTime, Gtin, Movement, MovementKind, Product, ProductCategory,
    ProvinceCode, Quantity, RegionCode, Submission, TestResult, TraceCode, Unit, Uscc,
};
use coldtrace_domain::{Counterparty, Line};
use coldtrace_store::{Store, StoreError, SubmitRequest};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub seed: u64,
    /// Target number of movements (the result is within a few percent).
    pub movements: u64,
    /// Provinces in the data set; the first is where imports land most.
    pub provinces: Vec<ProvinceCode>,
    /// Share of downstream flows that cross a province border.
    pub cross_province: f64,
    /// Share of records carrying the faults real ledgers have (a sale of more than was received, a receipt
    /// dated before its shipment, an imported batch missing a paper or with a stale nucleic-acid report, stock
    /// left unrecorded, a receipt never recorded), so that the ledger checks and the screens have something to show; each is counted in
    /// [`GenSummary`].
    pub faults: f64,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            movements: 10_000,
            provinces: ["12", "31", "44"]
                .iter()
                .map(|p| ProvinceCode::parse(p).expect("valid"))
                .collect(),
            cross_province: 0.15,
            faults: 0.02,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GenSummary {
    pub enterprises: u64,
    pub products: u64,
    pub batches: u64,
    pub documents: u64,
    pub movements: u64,
    pub people: u64,
    pub transformations: u64,
    pub cross_province_flows: u64,
    /// Faults put in on purpose: retail sales of more than was received.
    pub faults_oversold: u64,
    /// Faults: retail receipts dated two days before the shipment they match.
    pub faults_early_receipts: u64,
    /// Faults: imported batches without their disinfection certificate.
    pub faults_missing_papers: u64,
    /// Faults: imported batches whose only nucleic-acid report is 45 days older than the import (an old report
    /// reused), so every move on is made on a stale report.
    pub faults_stale_reports: u64,
    /// Faults: a vendor's or retailer's remaining stock never sold nor recorded again (dormant stock).
    pub faults_dormant: u64,
    /// Faults: a shipment from a first-station cold store whose receipt the buyer never records (goods that
    /// vanish in transit, or a ledger not kept).
    pub faults_unreceived: u64,
}

/// A generated enterprise with its staff.
#[derive(Debug, Clone)]
pub struct Member {
    pub enterprise: Enterprise,
    pub staff: Vec<Handler>,
}

/// Every generated enterprise by kind and province, for callers that want to issue keys or pick examples.
#[derive(Debug, Clone, Default)]
pub struct Population {
    pub members: Vec<Member>,
}

impl Population {
    pub fn of_kind(&self, kind: EnterpriseKind) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(move |m| m.enterprise.kind == kind)
    }
}

/// Tianjin's 2022 census (SPEC section 5), per kind, the basis of the enterprise mix.
const CENSUS: &[(EnterpriseKind, u32, u32)] = &[
    // (kind, Tianjin count, minimum in a small data set)
    (EnterpriseKind::Importer, 324, 2),
    (EnterpriseKind::FirstStationColdStore, 40, 1),
    (EnterpriseKind::CentralizedSupervisionWarehouse, 10, 1),
    (EnterpriseKind::ThirdPartyColdStore, 110, 1),
    (EnterpriseKind::Processor, 144, 2),
    (EnterpriseKind::MarketOperator, 33, 1),
    (EnterpriseKind::WholesaleVendor, 3118, 4),
    (EnterpriseKind::Supermarket, 400, 3),
    (EnterpriseKind::FreshEcommerce, 60, 1),
    (EnterpriseKind::Restaurant, 2427, 4),
];

/// Origin countries by category (SPEC section 5), with a product name and the HS heading.
const ORIGINS: &[(&str, &str, ProductCategory, &str)] = &[
    (
        "BR",
        "冷冻去骨牛肉",
        ProductCategory::LivestockPoultryMeat,
        "02023000",
    ),
    (
        "AR",
        "冷冻牛腱",
        ProductCategory::LivestockPoultryMeat,
        "02023000",
    ),
    (
        "UY",
        "冷冻牛腩",
        ProductCategory::LivestockPoultryMeat,
        "02023000",
    ),
    (
        "AU",
        "冷冻牛肉",
        ProductCategory::LivestockPoultryMeat,
        "02023000",
    ),
    (
        "NZ",
        "冷冻羊肉卷",
        ProductCategory::LivestockPoultryMeat,
        "02044200",
    ),
    (
        "ES",
        "冷冻猪前腿肉",
        ProductCategory::LivestockPoultryMeat,
        "02032900",
    ),
    (
        "DE",
        "冷冻猪蹄",
        ProductCategory::LivestockPoultryMeat,
        "02064900",
    ),
    (
        "DK",
        "冷冻猪肋排",
        ProductCategory::LivestockPoultryMeat,
        "02032900",
    ),
    (
        "NL",
        "冷冻猪五花",
        ProductCategory::LivestockPoultryMeat,
        "02032900",
    ),
    (
        "US",
        "冷冻鸡爪",
        ProductCategory::LivestockPoultryMeat,
        "02071422",
    ),
    ("EC", "冷冻白虾", ProductCategory::Aquatic, "03061729"),
    ("IN", "冷冻南美白对虾", ProductCategory::Aquatic, "03061729"),
    ("RU", "冷冻狭鳕鱼", ProductCategory::Aquatic, "03036700"),
    ("NO", "冷冻三文鱼", ProductCategory::Aquatic, "03031300"),
    ("CL", "冷冻帝王蟹", ProductCategory::Aquatic, "03061490"),
];

const PORTS: &[(&str, &str)] = &[
    ("0202", "天津新港"),
    ("2201", "上海洋山港"),
    ("5316", "深圳蛇口"),
    ("4200", "青岛港"),
    ("2300", "南京龙潭"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞",
    "平", "刚",
];
const WORDS: &[&str] = &[
    "海川", "鑫源", "恒通", "瑞丰", "盛达", "华冷", "冰鲜", "远洋", "万联", "金港", "汇鲜", "中储",
];

struct Gen {
    rng: ChaCha8Rng,
    summary: GenSummary,
    next_batch_no: u64,
}

impl Gen {
    fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        self.rng.fill(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid()
    }

    fn uscc(&mut self, region: &str) -> Uscc {
        uscc_with(region, || self.rng.random_range(0..31))
    }

    fn person(&mut self) -> Handler {
        let name = format!(
            "{}{}",
            SURNAMES.choose(&mut self.rng).expect("list"),
            GIVEN.choose(&mut self.rng).expect("list")
        );
        let phone = format!("13{}", self.rng.random_range(100_000_000u64..999_999_999));
        let body = format!(
            "{}{}{:02}{:02}{:03}",
            ["110105", "120101", "310104", "440305"]
                .choose(&mut self.rng)
                .expect("list"),
            self.rng.random_range(1965..2002),
            self.rng.random_range(1..13),
            self.rng.random_range(1..29),
            self.rng.random_range(0..1000)
        );
        let check = coldtrace_domain::person::id_no_check_char(&body);
        self.summary.people += 1;
        Handler {
            name,
            id_no: Some(format!("{body}{check}")),
            phone: Some(phone),
            role: Some(
                ["装卸工", "司机", "仓管员", "销售员"]
                    .choose(&mut self.rng)
                    .expect("list")
                    .to_string(),
            ),
        }
    }
}

fn base_time() -> jiff::Timestamp {
    "2026-01-01T00:00:00+08:00".parse().expect("constant")
}

fn at(ms: i64) -> EventTime {
    EventTime::from_millis(ms, 8 * 3600)
}

/// Builds the enterprise population for the configured size (pure; nothing stored).
fn population(g: &mut Gen, cfg: &GenConfig) -> Population {
    // About 25 movements per import batch; Tianjin's census at 2*10^7 movements per province.
    let scale = (cfg.movements as f64 / 2.0e7).min(1.0);
    let mut members = Vec::new();
    for (pi, prov) in cfg.provinces.iter().enumerate() {
        for (kind, census, min) in CENSUS {
            // Imports land mostly in the first (port) province.
            let share = if *kind == EnterpriseKind::Importer && pi > 0 {
                0.3
            } else {
                1.0
            };
            let n = ((*census as f64 * scale * share).round() as u32).max(*min);
            // Real districts of the province, so that names show as a bureau would read them.
            let districts: Vec<&str> = coldtrace_domain::region::divisions()
                .iter()
                .filter(|d| d.code.starts_with(prov.as_str()) && !d.code.ends_with("00"))
                .map(|d| d.code)
                .collect();
            for _ in 0..n {
                let region = match districts.len() {
                    0 => format!("{}0101", prov.as_str()),
                    len => districts[g.rng.random_range(0..len)].to_string(),
                };
                let region = RegionCode::parse(&region).expect("generated region");
                let uscc = g.uscc(region.as_str());
                let commitment = g.rng.random_bool(0.9);
                let word = WORDS.choose(&mut g.rng).expect("list");
                let name = format!(
                    "{}{}{}{}有限公司",
                    prov.name(),
                    word,
                    kind.label_zh(),
                    g.rng.random_range(1..1000)
                );
                let contact = g.person();
                let staff = (0..g.rng.random_range(2..6)).map(|_| g.person()).collect();
                let id = g.uuid();
                members.push(Member {
                    enterprise: Enterprise {
                        id,
                        uscc,
                        uscc_override: None,
                        name,
                        kind: *kind,
                        address: Some(format!(
                            "{}{}号",
                            region.place().replace(' ', ""),
                            g.rng.random_range(1..999)
                        )),
                        region,
                        gln: None,
                        contact: Contact {
                            name: contact.name.clone(),
                            phone: contact.phone.clone().unwrap_or_default(),
                        },
                        self_commitment: commitment,
                        self_commitment_on: commitment
                            .then(|| jiff::civil::date(2026, 1, 1 + (members.len() % 28) as i8)),
                        corrects: None,
                        correction_reason: None,
                    },
                    staff,
                });
            }
        }
    }
    Population { members }
}

/// Chunks records into submissions and stores them.
struct Sink<'a> {
    store: &'a dyn Store,
    pending: Submission,
    flush_at: usize,
}

impl Sink<'_> {
    async fn maybe_flush(&mut self) -> Result<(), StoreError> {
        if self.pending.len() >= self.flush_at {
            self.flush().await?;
        }
        Ok(())
    }
    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let submission = std::mem::take(&mut self.pending);
        self.store
            .submit(SubmitRequest {
                writer: coldtrace_domain::Writer::Operator,
                subject: "gen".into(),
                idempotency_key: None,
                request_hash: String::new(),
                submission,
                checks: Default::default(),
            })
            .await?;
        Ok(())
    }
}

/// Generates and stores a data set. `progress(done, total)` is called as movements are produced.
pub async fn generate(
    store: &dyn Store,
    cfg: &GenConfig,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(GenSummary, Population), StoreError> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        summary: GenSummary::default(),
        next_batch_no: 1,
    };
    let pop = population(&mut g, cfg);
    let mut sink = Sink {
        store,
        pending: Submission::default(),
        flush_at: 5_000,
    };
    for m in &pop.members {
        sink.pending.enterprises.push(m.enterprise.clone());
        g.summary.enterprises += 1;
    }
    sink.flush().await?;
    let idx = |k: EnterpriseKind, p: Option<&ProvinceCode>| -> Vec<usize> {
        pop.members
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.enterprise.kind == k && p.is_none_or(|p| m.enterprise.region.province() == *p)
            })
            .map(|(i, _)| i)
            .collect()
    };
    let home = &cfg.provinces[0];
    let importers = idx(EnterpriseKind::Importer, None);
    let by_prov = |k: EnterpriseKind| -> Vec<Vec<usize>> {
        cfg.provinces.iter().map(|p| idx(k, Some(p))).collect()
    };
    let first_stations = by_prov(EnterpriseKind::FirstStationColdStore);
    let vendors = by_prov(EnterpriseKind::WholesaleVendor);
    let processors = by_prov(EnterpriseKind::Processor);
    let retail: Vec<Vec<usize>> = cfg
        .provinces
        .iter()
        .map(|p| {
            let mut v = idx(EnterpriseKind::Supermarket, Some(p));
            v.extend(idx(EnterpriseKind::Restaurant, Some(p)));
            v.extend(idx(EnterpriseKind::FreshEcommerce, Some(p)));
            v
        })
        .collect();
    // Products: each importer registers a few, from the origin list.
    let mut products: Vec<(usize, Product)> = Vec::new();
    for &i in &importers {
        for _ in 0..3 {
            let (country, name, category, hs) = *ORIGINS.choose(&mut g.rng).expect("list");
            let prefix = g.rng.random_range(690..700);
            let body = format!("{prefix}{:09}", g.rng.random_range(0..1_000_000_000u64));
            let gtin = format!("{body}{}", gs1_check_digit(&body));
            let p = Product {
                id: g.uuid(),
                owner: pop.members[i].enterprise.id,
                name: name.to_string(),
                category,
                origin_country: CountryCode::parse(country).expect("list"),
                establishment_no: Some(format!("{country}{}", g.rng.random_range(1000..9999))),
                gtin: Some(Gtin::parse(&gtin).expect("generated")),
                hs_code: Some(hs.to_string()),
                spec: Some("20kg/箱".into()),
                corrects: None,
            };
            sink.pending.products.push(p.clone());
            g.summary.products += 1;
            products.push((i, p));
        }
    }
    sink.flush().await?;
    // Processor stock waiting to be mixed: (batch, quantity, when it was received).
    let mut pools: Vec<Vec<(Uuid, Quantity, i64)>> = vec![Vec::new(); pop.members.len()];
    let year_ms: i64 = 365 * 86_400_000;
    let expected_batches = (cfg.movements / 25).max(1);
    let start = base_time().as_millisecond();
    let mut made: u64 = 0;
    let mut b: u64 = 0;
    while made < cfg.movements {
        let t0 = start + (b as i64 * year_ms / expected_batches as i64) % year_ms;
        b += 1;
        let (imp_i, product) = products.choose(&mut g.rng).expect("products").clone();
        let imp = &pop.members[imp_i];
        let imp_prov = cfg
            .provinces
            .iter()
            .position(|p| *p == imp.enterprise.region.province())
            .unwrap_or(0);
        // One reefer container: 1,250-1,400 cartons of 20 kg.
        let cartons = g.rng.random_range(1250..1400i64);
        let qty = Quantity::from_units(cartons);
        let (office, port) = *PORTS.choose(&mut g.rng).expect("list");
        // Unique per batch (the serial's first six digits are the batch's), as customs numbers are.
        let decl = format!(
            "{office}20261{:06}{:03}",
            g.next_batch_no % 1_000_000,
            g.rng.random_range(0..1_000u64)
        );
        let cont_prefix = format!(
            "{}U{:06}",
            ["MSK", "CMA", "COS", "ONE", "HLX"]
                .choose(&mut g.rng)
                .expect("list"),
            g.rng.random_range(0..1_000_000)
        );
        let container = format!("{cont_prefix}{}", container_check_digit(&cont_prefix));
        let batch_no = format!("{}{:08}", product.origin_country.as_str(), g.next_batch_no);
        g.next_batch_no += 1;
        let gs1 = format!(
            "(01){}(10){}",
            product.gtin.as_ref().expect("set").to_gtin14(),
            batch_no
        );
        let issued = format!("{}{:012}", home.as_str(), g.next_batch_no * 7 + b);
        let batch = Batch {
            id: g.uuid(),
            owner: imp.enterprise.id,
            product: product.id,
            batch_no: batch_no.clone(),
            quantity: qty,
            unit: Unit::Carton,
            net_weight_kg: Some(Quantity::from_units(cartons * 20)),
            production_date: Some(jiff::civil::date(
                2025,
                g.rng.random_range(6..13),
                g.rng.random_range(1..28),
            )),
            expiry_date: Some(jiff::civil::date(
                2027,
                g.rng.random_range(1..13),
                g.rng.random_range(1..28),
            )),
            declaration_no: Some(DeclarationNo::parse(&decl).expect("generated")),
            inspection_cert_no: Some(format!(
                "{office}{:014}",
                g.rng.random_range(0..100_000_000_000_000u64)
            )),
            port_of_entry: Some(port.into()),
            import_date: Some(
                at(t0)
                    .at
                    .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                    .date(),
            ),
            container_no: Some(
                coldtrace_domain::id::ContainerNo::parse(&container).expect("generated"),
            ),
            seal_no: Some(format!("SL{:08}", g.rng.random_range(0..100_000_000))),
            trace_codes: vec![
                TraceCode::parse(&gs1, None).expect("generated"),
                TraceCode::parse(&issued, Some(coldtrace_domain::CodeScheme::Issued))
                    .expect("generated"),
            ],
            corrects: None,
        };
        sink.pending.batches.push(batch.clone());
        g.summary.batches += 1;
        // Labelled faults: now and then the disinfection certificate is never recorded, or the nucleic-acid
        // report is an old one reused.
        let missing_paper = g.rng.random_bool(cfg.faults);
        if missing_paper {
            g.summary.faults_missing_papers += 1;
        }
        let stale_report = g.rng.random_bool(cfg.faults);
        if stale_report {
            g.summary.faults_stale_reports += 1;
        }
        for kind in [
            DocumentKind::InspectionQuarantine,
            DocumentKind::NucleicAcid,
            DocumentKind::Disinfection,
        ] {
            if missing_paper && kind == DocumentKind::Disinfection {
                continue;
            }
            sink.pending.documents.push(Document {
                id: g.uuid(),
                owner: imp.enterprise.id,
                batch: BatchRef::Id(batch.id),
                kind,
                number: format!(
                    "{}{:010}",
                    &kind.as_str()[..2].to_uppercase(),
                    g.rng.random_range(0..10_000_000_000u64)
                ),
                issuer: match kind {
                    DocumentKind::InspectionQuarantine => format!("{port}海关"),
                    DocumentKind::NucleicAcid => "第三方检测机构".into(),
                    DocumentKind::Disinfection => "消杀服务公司".into(),
                },
                issued_on: if stale_report && kind == DocumentKind::NucleicAcid {
                    batch
                        .import_date
                        .expect("set")
                        .checked_sub(jiff::Span::new().days(45))
                        .expect("in range")
                } else {
                    batch.import_date.expect("set")
                },
                result: (kind == DocumentKind::NucleicAcid).then_some(TestResult::Negative),
                attachment_sha256: None,
                corrects: None,
            });
            g.summary.documents += 1;
        }
        let mv = |g: &mut Gen,
                  sink: &mut Sink,
                  kind,
                  holder: &Member,
                  batch: Uuid,
                  q,
                  cp: Option<&Member>,
                  ms| {
            let handlers = holder
                .staff
                .choose_multiple(&mut g.rng, 2)
                .cloned()
                .collect();
            sink.pending.movements.push(Movement {
                id: g.uuid(),
                kind,
                holder: holder.enterprise.id,
                batch: Some(BatchRef::Id(batch)),
                quantity: q,
                counterparty: cp.map(|c| Counterparty {
                    uscc: Some(c.enterprise.uscc.clone()),
                    name: c.enterprise.name.clone(),
                }),
                at: at(ms),
                location: Some(format!("{}号库", g.rng.random_range(1..20))),
                handlers,
                inputs: vec![],
                outputs: vec![],
                note: None,
                corrects: None,
            });
            g.summary.movements += 1;
        };
        // What a holder has left is sold to walk-in buyers at `at`, unless a labelled fault leaves it (dormant stock).
        let sell_rest =
            |g: &mut Gen, sink: &mut Sink, holder: &Member, batch: Uuid, rest: i64, at: i64| {
                if rest <= 0 {
                    return;
                }
                if g.rng.random_bool(cfg.faults) {
                    g.summary.faults_dormant += 1;
                } else {
                    let q = Quantity::from_units(rest);
                    mv(g, sink, MovementKind::Sell, holder, batch, q, None, at);
                }
            };
        // `n` retailers of the province each get `share` units from `seller` (shipped or sold to them) on successive
        // days after `t`, receive them, sell half to consumers the next day and the rest three days later (unless
        // a labelled fault leaves it: dormant stock).
        let to_retail = |g: &mut Gen,
                         sink: &mut Sink,
                         first,
                         seller: &Member,
                         batch,
                         n: i64,
                         share: i64,
                         t: i64,
                         prov: usize| {
            for r in 0..n {
                if share <= 0 {
                    break;
                }
                let ret = &pop.members[*retail[prov].choose(&mut g.rng).expect("retail")];
                let t4 = t + (r + 1) * 86_400_000;
                let q = Quantity::from_units(share);
                mv(g, sink, first, seller, batch, q, Some(ret), t4);
                // Labelled faults: a receipt dated before the shipment, a sale of more than arrived.
                let early = g.rng.random_bool(cfg.faults);
                let oversold = g.rng.random_bool(cfg.faults);
                g.summary.faults_early_receipts += u64::from(early);
                g.summary.faults_oversold += u64::from(oversold);
                mv(
                    g,
                    sink,
                    MovementKind::Receive,
                    ret,
                    batch,
                    q,
                    Some(seller),
                    if early {
                        t4 - 2 * 86_400_000
                    } else {
                        t4 + 3_600_000
                    },
                );
                let first_sale = if oversold {
                    share * 2
                } else {
                    (share / 2).max(1)
                };
                mv(
                    g,
                    sink,
                    MovementKind::Sell,
                    ret,
                    batch,
                    Quantity::from_units(first_sale),
                    None,
                    t4 + 86_400_000,
                );
                sell_rest(g, sink, ret, batch, share - first_sale, t4 + 4 * 86_400_000);
            }
        };
        // Import: the importer receives from the overseas plant.
        sink.pending.movements.push(Movement {
            id: g.uuid(),
            kind: MovementKind::Receive,
            holder: imp.enterprise.id,
            batch: Some(BatchRef::Id(batch.id)),
            quantity: qty,
            counterparty: Some(Counterparty {
                uscc: None,
                name: format!(
                    "{} plant {}",
                    product.origin_country.as_str(),
                    product.establishment_no.clone().unwrap_or_default()
                ),
            }),
            at: at(t0),
            location: Some(format!("{port}监管库")),
            handlers: imp.staff.iter().take(1).cloned().collect(),
            inputs: vec![],
            outputs: vec![],
            note: None,
            corrects: None,
        });
        g.summary.movements += 1;
        // To the first-station cold store of the importer's province.
        let fs = &pop.members[*first_stations[imp_prov]
            .choose(&mut g.rng)
            .expect("first station")];
        let t1 = t0 + 86_400_000;
        mv(
            &mut g,
            &mut sink,
            MovementKind::Ship,
            imp,
            batch.id,
            qty,
            Some(fs),
            t1,
        );
        mv(
            &mut g,
            &mut sink,
            MovementKind::Receive,
            fs,
            batch.id,
            qty,
            Some(imp),
            t1 + 3_600_000,
        );
        // Fan out to 2-6 downstream holders, some in other provinces, some processors.
        let k = g.rng.random_range(2..7i64);
        let mut left = cartons;
        for j in 0..k {
            let part = if j == k - 1 {
                left
            } else {
                (cartons / k).max(1)
            };
            left -= part;
            if part <= 0 {
                continue;
            }
            let pq = Quantity::from_units(part);
            let cross = g.rng.random_bool(cfg.cross_province) && cfg.provinces.len() > 1;
            let prov = if cross {
                g.summary.cross_province_flows += 1;
                (imp_prov + g.rng.random_range(1..cfg.provinces.len())) % cfg.provinces.len()
            } else {
                imp_prov
            };
            let t2 = t1 + (j + 1) * 86_400_000;
            let to_processor = g.rng.random_bool(0.2);
            let dest_i = if to_processor {
                *processors[prov].choose(&mut g.rng).expect("processor")
            } else {
                *vendors[prov].choose(&mut g.rng).expect("vendor")
            };
            let dest = &pop.members[dest_i];
            mv(
                &mut g,
                &mut sink,
                MovementKind::Ship,
                fs,
                batch.id,
                pq,
                Some(dest),
                t2,
            );
            // A labelled fault: now and then the buyer never records the receipt.
            if g.rng.random_bool(cfg.faults) {
                g.summary.faults_unreceived += 1;
            } else {
                mv(
                    &mut g,
                    &mut sink,
                    MovementKind::Receive,
                    dest,
                    batch.id,
                    pq,
                    Some(fs),
                    t2 + 7_200_000,
                );
            }
            if to_processor {
                pools[dest_i].push((batch.id, pq, t2 + 7_200_000));
                if pools[dest_i].len() >= 2 {
                    // Mix the waiting input batches into one new batch, two days after the last of them arrived.
                    let inputs = std::mem::take(&mut pools[dest_i]);
                    let total: i64 = inputs.iter().map(|(_, q, _)| q.milli()).sum();
                    let last_in = inputs.iter().map(|(_, _, t)| *t).max().unwrap_or(t2);
                    // Nine tenths of the input, in whole cartons.
                    let out_units = total / 1000 * 9 / 10;
                    let out_q = Quantity::from_units(out_units);
                    let out_no = format!("P{:08}", g.next_batch_no);
                    g.next_batch_no += 1;
                    let body = format!(
                        "{}.0{}.{}",
                        dest.enterprise.uscc,
                        g.rng.random_range(100..999),
                        out_no
                    );
                    let code = format!("{body}.{}", uscc_code_check(&body).expect("charset"));
                    let out_product = Product {
                        id: g.uuid(),
                        owner: dest.enterprise.id,
                        name: format!("调理{}", product.name.trim_start_matches("冷冻")),
                        category: product.category,
                        origin_country: CountryCode::parse("CN").expect("CN"),
                        establishment_no: None,
                        gtin: None,
                        hs_code: None,
                        spec: Some("1kg/袋".into()),
                        corrects: None,
                    };
                    let out = Batch {
                        id: g.uuid(),
                        owner: dest.enterprise.id,
                        product: out_product.id,
                        batch_no: out_no,
                        quantity: out_q,
                        unit: Unit::Carton,
                        net_weight_kg: None,
                        production_date: None,
                        expiry_date: None,
                        declaration_no: None,
                        inspection_cert_no: None,
                        port_of_entry: None,
                        import_date: None,
                        container_no: None,
                        seal_no: None,
                        trace_codes: vec![TraceCode::parse(&code, None).expect("generated")],
                        corrects: None,
                    };
                    sink.pending.products.push(out_product);
                    g.summary.products += 1;
                    sink.pending.batches.push(out.clone());
                    g.summary.batches += 1;
                    let t3 = last_in.max(t2) + 2 * 86_400_000;
                    sink.pending.movements.push(Movement {
                        id: g.uuid(),
                        kind: MovementKind::Transform,
                        holder: dest.enterprise.id,
                        batch: None,
                        quantity: Quantity::ZERO,
                        counterparty: None,
                        at: at(t3),
                        location: Some("加工车间".into()),
                        handlers: dest.staff.iter().take(2).cloned().collect(),
                        inputs: inputs
                            .iter()
                            .map(|(b, q, _)| Line {
                                batch: BatchRef::Id(*b),
                                quantity: *q,
                            })
                            .collect(),
                        outputs: vec![Line {
                            batch: BatchRef::Id(out.id),
                            quantity: out_q,
                        }],
                        note: None,
                        corrects: None,
                    });
                    g.summary.movements += 1;
                    g.summary.transformations += 1;
                    // The processed goods go to 1-3 retailers of the processor's province.
                    let n = g.rng.random_range(1..4i64);
                    let share = out_units / n;
                    to_retail(
                        &mut g,
                        &mut sink,
                        MovementKind::Ship,
                        dest,
                        out.id,
                        n,
                        share,
                        t3,
                        prov,
                    );
                    // What is left over goes to walk-in buyers a week later (unless a labelled fault leaves it).
                    sell_rest(
                        &mut g,
                        &mut sink,
                        dest,
                        out.id,
                        out_units - n * share,
                        t3 + 7 * 86_400_000,
                    );
                }
            } else {
                // The vendor sells to 1-3 supermarkets or restaurants, which sell to consumers, and the rest to
                // walk-in buyers a week later (unless a labelled fault leaves it: dormant stock).
                let n = g.rng.random_range(1..4i64);
                let share = part / (n + 1);
                to_retail(
                    &mut g,
                    &mut sink,
                    MovementKind::Sell,
                    dest,
                    batch.id,
                    n,
                    share,
                    t2,
                    prov,
                );
                sell_rest(
                    &mut g,
                    &mut sink,
                    dest,
                    batch.id,
                    part - n * share,
                    t2 + 7 * 86_400_000,
                );
            }
        }
        made = g.summary.movements;
        if b.is_multiple_of(64) {
            progress(made.min(cfg.movements), cfg.movements);
        }
        sink.maybe_flush().await?;
    }
    sink.flush().await?;
    progress(cfg.movements, cfg.movements);
    Ok((g.summary, pop))
}

/// A USCC registered in `region` (six digits) whose nine free characters come from `pick` (each below 31),
/// with its check character.
fn uscc_with(region: &str, mut pick: impl FnMut() -> usize) -> Uscc {
    let mut body = format!("91{region}");
    for _ in 0..9 {
        body.push(USCC_CHARSET.as_bytes()[pick()] as char);
    }
    let c = uscc_check_char(&body).expect("charset");
    Uscc::parse(&format!("{body}{c}")).expect("generated USCC is valid")
}

/// The same valid USCC for the same region and seed: for demonstrations and tests that name enterprises.
pub fn uscc_for_seed(region: &str, seed: u32) -> Uscc {
    let mut x = seed.wrapping_mul(2_654_435_761);
    uscc_with(region, || {
        let i = (x % 31) as usize;
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345) >> 3;
        i
    })
}
