//! The national registry: batches from every province, processing lineage, border flows, the links that say two
//! provinces' records denote the same goods, and the trace over all of it.
//!
//! **Identification.** Two batches in different provinces are linked when they share a key that survives a
//! border: the inspection certificate number, the customs declaration number with the same product, or a GTIN
//! with the same batch number (confidence 1). Where no key is shared, the seller's outflow record and the
//! buyer's inflow record are matched on evidence: both parties' USCCs (required), the product name, the
//! quantity and the date window; each link keeps the facts that made it and a confidence, and an inflow with
//! several close candidates marks all of them ambiguous rather than picking one. A commander confirms or
//! rejects a link; the trace follows confirmed and proposed links and never a rejected one.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use coldtrace_domain::docking::{
    BatchFacts, BorderFlow, EnterpriseShort, IncidentReport, Message, NativeCode, Notice,
    NoticeAck, NoticeItem,
};
use uuid::Uuid;

/// Lowest evidence score proposed as a link.
pub const MIN_CONFIDENCE: f64 = 0.6;
/// Two candidates within this score of each other make an inflow ambiguous.
pub const AMBIGUITY_MARGIN: f64 = 0.1;
/// Flows further apart than this are not the same shipment.
pub const WINDOW_MS: i64 = 7 * 86_400_000;
/// How far two provinces' ledger clocks may disagree: an inflow recorded up to this long before the outflow it
/// matches still matches (dates kept by day, clocks set by hand); earlier than that it cannot be the same goods.
pub const CLOCK_SKEW_MS: i64 = 12 * 3_600_000;
/// The least product-name similarity for two flows to be the same goods, unless the names share their food noun.
pub const MIN_PRODUCT_SIMILARITY: f64 = 0.25;

const NS: Uuid = Uuid::from_u128(0x6c64_7472_6163_655f_6e61_7469_6f6e_616c);

/// The id of the notice for `province` about `incident` naming `batches`: the same on every replay, so a notice
/// is made once. A later notice about the same incident (goods found after data arrived late) names other
/// batches and so has another id.
pub fn notice_id(incident: Uuid, province: &str, batches: &[String]) -> Uuid {
    let mut b: Vec<&str> = batches.iter().map(String::as_str).collect();
    b.sort_unstable();
    Uuid::new_v5(
        &NS,
        format!("notice:{incident}:{province}:{}", b.join(",")).as_bytes(),
    )
}

mod snapshot;
pub use snapshot::SnapshotError;

type Ix = usize;

/// What a link rests on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The same inspection and quarantine certificate number (检验检疫证明编号).
    InspectionCert,
    /// The same customs declaration number and product.
    DeclarationProduct,
    /// The same GTIN and batch number.
    GtinBatch,
    /// No shared key: seller, buyer, product, quantity and date agree.
    Evidence,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Proposed,
    Confirmed,
    Rejected,
}

/// A province's batch as the national platform names it.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub struct NodeRef {
    pub province: String,
    pub batch: String,
}

/// Two provinces' records of the same goods, upstream (`from`) to downstream (`to`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Link {
    pub id: String,
    pub from: NodeRef,
    pub to: NodeRef,
    pub basis: Basis,
    /// The facts that made the link, in words.
    pub evidence: Vec<String>,
    pub confidence: f64,
    /// Another candidate scored about as well: a commander should decide.
    pub ambiguous: bool,
    pub status: LinkStatus,
    pub decided_by: Option<String>,
    pub note: Option<String>,
}

impl Link {
    /// The confidence the trace uses: 1 once confirmed, none once rejected.
    fn weight(&self) -> Option<f64> {
        match self.status {
            LinkStatus::Confirmed => Some(1.0),
            LinkStatus::Rejected => None,
            LinkStatus::Proposed => Some(self.confidence),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Node {
    province: String,
    batch: String,
    facts: Option<BatchFacts>,
    inputs: Vec<Ix>,
    outputs: Vec<Ix>,
    /// Links where this node is upstream / downstream (indexes into `links`).
    down: Vec<usize>,
    up: Vec<usize>,
    flows: Vec<usize>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct FlowRec {
    province: String,
    inward: bool,
    flow: BorderFlow,
    node: Ix,
}

/// A notice's delivery at the national platform.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    pub notice: Uuid,
    pub province: String,
    pub incident: Uuid,
    pub created_at_ms: i64,
    /// When the province reported it stored the notice.
    pub received_at_ms: Option<i64>,
    pub acked_at_ms: Option<i64>,
    pub ack: Option<NoticeAck>,
    /// A request for detail rather than a notice: the acknowledgement's holders are the answer.
    pub detail_request: bool,
}

/// An incident reported by a province.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IncidentRec {
    pub province: String,
    pub report: IncidentReport,
    pub received_at_ms: i64,
}

/// One batch reached by a national trace.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TracedBatch {
    pub province: String,
    pub batch: String,
    /// `positive`, `upstream` or `downstream`.
    pub relation: String,
    /// Lowest confidence of the links on the way (1 within a province and over confirmed or key links).
    pub confidence: f64,
    pub product: Option<String>,
    pub batch_no: Option<String>,
    pub codes: Vec<NativeCode>,
    pub owner_uscc: Option<String>,
    pub owner_name: Option<String>,
    pub quantity_milli: Option<i64>,
    pub unit: Option<String>,
    /// Border flows of this batch (into or out of its province).
    pub flows: Vec<BorderFlowView>,
}

/// A border flow of a traced batch, as its province reported it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BorderFlowView {
    /// `in` or `out`.
    pub direction: String,
    #[serde(flatten)]
    pub flow: BorderFlow,
}

/// The answer of a national trace.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NationalTrace {
    pub batches: Vec<TracedBatch>,
    /// Provinces with implicated goods, in code order.
    pub provinces: Vec<String>,
    /// The cross-province links the trace crossed.
    pub links: Vec<Link>,
    /// Batches named as a start that no province has reported.
    pub unknown: Vec<NodeRef>,
}

/// Everything the national platform knows, folded from the accepted messages.
#[derive(Debug, Default)]
pub struct Registry {
    enterprises: HashMap<String, EnterpriseShort>,
    nodes: Vec<Node>,
    node_ix: HashMap<(String, String), Ix>,
    flows: Vec<FlowRec>,
    /// Flow indexes by (seller USCC, buyer USCC).
    by_parties: HashMap<(String, String), Vec<usize>>,
    /// Node indexes by border key.
    by_key: HashMap<(Basis, String), Vec<Ix>>,
    links: Vec<Link>,
    link_ends: Vec<(Ix, Ix)>,
    link_ix: HashMap<(Ix, Ix), usize>,
    link_by_id: HashMap<String, usize>,
    incidents: Vec<IncidentRec>,
    deliveries: BTreeMap<Uuid, Delivery>,
    /// Batches already notified, per incident and province.
    notified: HashMap<(Uuid, String), BTreeSet<String>>,
    /// Messages applied, per kind.
    counts: BTreeMap<String, u64>,
    /// Each outflow's best-matching inflow and its score: a shipment already received (better or as well)
    /// elsewhere is not linked to a later receipt as well.
    claims: HashMap<usize, (usize, f64)>,
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '/' | '(' | ')' | '（' | '）'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Similarity of two product names in [0, 1]: equal, one inside the other, or shared character pairs.
fn name_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (norm(a), norm(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    if a.contains(&b) || b.contains(&a) {
        return 0.75;
    }
    let pairs = |s: &str| {
        let c: Vec<char> = s.chars().collect();
        c.windows(2).map(|w| (w[0], w[1])).collect::<BTreeSet<_>>()
    };
    let (pa, pb) = (pairs(&a), pairs(&b));
    let union = pa.union(&pb).count();
    if union == 0 {
        return 0.0;
    }
    pa.intersection(&pb).count() as f64 / union as f64
}

/// The civil date of an instant in China Standard Time (UTC+8), the dates notices carry.
fn day(ms: i64) -> String {
    let cst = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(cst).date().to_string())
        .unwrap_or_default()
}

/// Whether two product names can name the same goods: similar enough, or sharing their last two characters
/// (in Chinese food names the food itself: 冷冻去骨牛肉 and 冻牛肉 are both 牛肉).
fn same_food(a: &str, b: &str, sim: f64) -> bool {
    if sim >= MIN_PRODUCT_SIMILARITY {
        return true;
    }
    let tail = |s: &str| {
        let c: Vec<char> = norm(s).chars().collect();
        (c.len() >= 2).then(|| c[c.len() - 2..].iter().collect::<String>())
    };
    matches!((tail(a), tail(b)), (Some(x), Some(y)) if x == y)
}

/// Scores an outflow against an inflow; `None` when they cannot be the same shipment: other parties, an inflow
/// before the outflow (beyond [`CLOCK_SKEW_MS`]) or after the transit window, or another product.
fn score(out: &BorderFlow, inn: &BorderFlow) -> Option<(f64, Vec<String>)> {
    let seller = out.seller_uscc.as_ref()?;
    let buyer = out.buyer_uscc.as_ref()?;
    if inn.seller_uscc.as_ref() != Some(seller) || inn.buyer_uscc.as_ref() != Some(buyer) {
        return None;
    }
    // Goods arrive after they leave: within the transit window, allowing for the clocks.
    let transit = inn.at_ms - out.at_ms;
    if !(-CLOCK_SKEW_MS..=WINDOW_MS).contains(&transit) {
        return None;
    }
    let dt = transit.abs();
    let sim = name_similarity(&out.product, &inn.product);
    if !same_food(&out.product, &inn.product, sim) {
        return None;
    }
    let mut s = 0.5;
    let mut why = vec![format!("seller {seller} and buyer {buyer} agree")];
    s += 0.2 * sim;
    why.push(format!(
        "product {:?} / {:?}: similarity {:.2}",
        out.product, inn.product, sim
    ));
    let (qo, qi) = (out.quantity_milli, inn.quantity_milli);
    let same_unit = out.unit.is_empty() || inn.unit.is_empty() || out.unit == inn.unit;
    if same_unit && qo == qi {
        s += 0.2;
        why.push(format!(
            "quantity equal ({} {})",
            qo as f64 / 1000.0,
            out.unit
        ));
    } else if same_unit && qo > 0 && ((qo - qi).abs() as f64 / qo as f64) <= 0.05 {
        s += 0.1;
        why.push(format!(
            "quantity within 5% ({} / {})",
            qo as f64 / 1000.0,
            qi as f64 / 1000.0
        ));
    } else {
        why.push(format!(
            "quantity differs ({} / {})",
            qo as f64 / 1000.0,
            qi as f64 / 1000.0
        ));
    }
    if dt <= 86_400_000 {
        s += 0.1;
        why.push(format!(
            "dates within a day ({} / {})",
            day(out.at_ms),
            day(inn.at_ms)
        ));
    } else if dt <= 3 * 86_400_000 {
        s += 0.05;
        why.push(format!(
            "dates within three days ({} / {})",
            day(out.at_ms),
            day(inn.at_ms)
        ));
    } else {
        why.push(format!(
            "dates within a week ({} / {})",
            day(out.at_ms),
            day(inn.at_ms)
        ));
    }
    Some(((s * 1000.0_f64).round() / 1000.0, why))
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&mut self, province: &str, batch: &str) -> Ix {
        if let Some(&i) = self.node_ix.get(&(province.to_string(), batch.to_string())) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(Node {
            province: province.to_string(),
            batch: batch.to_string(),
            facts: None,
            inputs: vec![],
            outputs: vec![],
            down: vec![],
            up: vec![],
            flows: vec![],
        });
        self.node_ix
            .insert((province.to_string(), batch.to_string()), i);
        i
    }

    fn node_ref(&self, i: Ix) -> NodeRef {
        NodeRef {
            province: self.nodes[i].province.clone(),
            batch: self.nodes[i].batch.clone(),
        }
    }

    /// Applies one accepted message from `province`.
    pub fn apply(&mut self, province: &str, at_ms: i64, m: &Message) {
        match self.counts.get_mut(m.kind()) {
            Some(c) => *c += 1,
            None => {
                self.counts.insert(m.kind().to_string(), 1);
            }
        }
        match m {
            Message::Enterprise(e) => {
                self.enterprises.insert(e.uscc.clone(), e.clone());
            }
            Message::Batch(b) => self.batch(province, b),
            Message::Derivation(d) => {
                let ins: Vec<Ix> = d.inputs.iter().map(|b| self.node(province, b)).collect();
                let outs: Vec<Ix> = d.outputs.iter().map(|b| self.node(province, b)).collect();
                for &i in &ins {
                    for &o in &outs {
                        if !self.nodes[i].outputs.contains(&o) {
                            self.nodes[i].outputs.push(o);
                            self.nodes[o].inputs.push(i);
                        }
                    }
                }
            }
            Message::Outflow(f) => self.flow(province, false, f),
            Message::Inflow(f) => self.flow(province, true, f),
            Message::Incident(r) => self.incidents.push(IncidentRec {
                province: province.to_string(),
                report: r.clone(),
                received_at_ms: at_ms,
            }),
            // A province speaks only for the notices addressed to it.
            Message::NoticeReceived { notice } => {
                if let Some(d) = self.deliveries.get_mut(notice)
                    && d.province == province
                {
                    d.received_at_ms.get_or_insert(at_ms);
                }
            }
            Message::NoticeAck(a) => {
                if let Some(d) = self.deliveries.get_mut(&a.notice)
                    && d.province == province
                {
                    d.received_at_ms.get_or_insert(at_ms);
                    if d.acked_at_ms.is_none() {
                        d.acked_at_ms = Some(at_ms);
                        d.ack = Some(a.clone());
                    }
                }
            }
        }
    }

    fn batch(&mut self, province: &str, b: &BatchFacts) {
        let i = self.node(province, &b.batch);
        self.nodes[i].facts = Some(b.clone());
        let mut keys = Vec::new();
        if let Some(c) = b
            .inspection_cert_no
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            keys.push((Basis::InspectionCert, c.trim().to_string()));
        }
        if let Some(d) = b.declaration_no.as_deref().filter(|d| !d.trim().is_empty()) {
            keys.push((
                Basis::DeclarationProduct,
                format!("{}|{}", d.trim(), norm(&b.product)),
            ));
        }
        if let Some(g) = b.gtin.as_deref().filter(|g| !g.is_empty())
            && !b.batch_no.trim().is_empty()
        {
            keys.push((Basis::GtinBatch, format!("{g}|{}", norm(&b.batch_no))));
        }
        for key in keys {
            let others = self.by_key.entry(key.clone()).or_default().clone();
            for o in others {
                if self.nodes[o].province != province {
                    let evidence = match key.0 {
                        Basis::InspectionCert => format!("inspection certificate {}", key.1),
                        Basis::DeclarationProduct => {
                            format!(
                                "declaration {} for {}",
                                key.1.split('|').next().unwrap_or(""),
                                b.product
                            )
                        }
                        Basis::GtinBatch => format!(
                            "GTIN {} batch {}",
                            key.1.split('|').next().unwrap_or(""),
                            b.batch_no
                        ),
                        Basis::Evidence => String::new(),
                    };
                    let (from, to) = self.orient(o, i);
                    self.link(from, to, key.0, vec![evidence], 1.0);
                }
            }
            self.by_key.entry(key).or_default().push(i);
        }
    }

    /// Which of two linked nodes is upstream: the side whose province shipped to the other's, by the flows
    /// reported; failing that, the one reported first.
    fn orient(&self, a: Ix, b: Ix) -> (Ix, Ix) {
        let ships_to = |x: Ix, y: Ix| {
            let py = &self.nodes[y].province;
            let px = &self.nodes[x].province;
            self.nodes[x].flows.iter().any(|&f| {
                !self.flows[f].inward && self.flows[f].flow.other_province.as_ref() == Some(py)
            }) || self.nodes[y].flows.iter().any(|&f| {
                self.flows[f].inward && self.flows[f].flow.other_province.as_ref() == Some(px)
            })
        };
        if ships_to(a, b) {
            (a, b)
        } else if ships_to(b, a) {
            (b, a)
        } else if a < b {
            (a, b)
        } else {
            (b, a)
        }
    }

    fn link(&mut self, from: Ix, to: Ix, basis: Basis, evidence: Vec<String>, confidence: f64) {
        let existing = self
            .link_ix
            .get(&(from, to))
            .or_else(|| self.link_ix.get(&(to, from)))
            .copied();
        if let Some(l) = existing {
            let link = &mut self.links[l];
            for e in evidence {
                if !link.evidence.contains(&e) {
                    link.evidence.push(e);
                }
            }
            if basis < link.basis || (basis == link.basis && confidence > link.confidence) {
                link.basis = basis;
                link.confidence = confidence;
            }
            return;
        }
        let id = Uuid::new_v5(
            &NS,
            format!(
                "link:{}/{}>{}/{}",
                self.nodes[from].province,
                self.nodes[from].batch,
                self.nodes[to].province,
                self.nodes[to].batch
            )
            .as_bytes(),
        )
        .to_string();
        let l = self.links.len();
        self.links.push(Link {
            id: id.clone(),
            from: self.node_ref(from),
            to: self.node_ref(to),
            basis,
            evidence,
            confidence,
            ambiguous: false,
            status: LinkStatus::Proposed,
            decided_by: None,
            note: None,
        });
        self.link_ends.push((from, to));
        self.link_ix.insert((from, to), l);
        self.link_by_id.insert(id, l);
        self.nodes[from].down.push(l);
        self.nodes[to].up.push(l);
    }

    fn flow(&mut self, province: &str, inward: bool, f: &BorderFlow) {
        let n = self.node(province, &f.batch);
        let fi = self.flows.len();
        self.flows.push(FlowRec {
            province: province.to_string(),
            inward,
            flow: f.clone(),
            node: n,
        });
        self.nodes[n].flows.push(fi);
        let Some(parties) = f.seller_uscc.clone().zip(f.buyer_uscc.clone()) else {
            return;
        };
        let candidates = self.by_parties.entry(parties.clone()).or_default().clone();
        self.by_parties.entry(parties).or_default().push(fi);
        // A key link may have been oriented before this flow said which way the goods went.
        self.reorient(n);
        // Match every inflow concerned against the outflows on the other side.
        let inflows: Vec<usize> = if inward {
            vec![fi]
        } else {
            candidates
                .into_iter()
                .filter(|&c| self.flows[c].inward && self.flows[c].province != province)
                .collect()
        };
        for i in inflows {
            self.match_inflow(i);
        }
    }

    fn reorient(&mut self, n: Ix) {
        let touching: Vec<usize> = self.nodes[n]
            .up
            .iter()
            .chain(self.nodes[n].down.iter())
            .copied()
            .collect();
        for l in touching {
            let (a, b) = self.link_ends[l];
            let (from, to) = self.orient(a, b);
            if (from, to) != (a, b) {
                self.link_ends[l] = (from, to);
                self.link_ix.remove(&(a, b));
                self.link_ix.insert((from, to), l);
                self.nodes[a].down.retain(|&x| x != l);
                self.nodes[b].up.retain(|&x| x != l);
                self.nodes[from].down.push(l);
                self.nodes[to].up.push(l);
                self.links[l].from = self.node_ref(from);
                self.links[l].to = self.node_ref(to);
            }
        }
    }

    fn match_inflow(&mut self, i: usize) {
        let inn = self.flows[i].clone();
        let Some(parties) = inn
            .flow
            .seller_uscc
            .clone()
            .zip(inn.flow.buyer_uscc.clone())
        else {
            return;
        };
        let mut scored: Vec<(usize, f64, Vec<String>)> = Vec::new();
        for &o in self.by_parties.get(&parties).into_iter().flatten() {
            let out = &self.flows[o];
            if out.inward || out.province == inn.province {
                continue;
            }
            if out
                .flow
                .other_province
                .as_ref()
                .is_some_and(|p| *p != inn.province)
                || inn
                    .flow
                    .other_province
                    .as_ref()
                    .is_some_and(|p| *p != out.province)
            {
                continue;
            }
            if let Some((s, why)) = score(&out.flow, &inn.flow)
                && s >= MIN_CONFIDENCE
            {
                // This shipment's own receipt matches it at least as well: it is not this receipt's source.
                if self
                    .claims
                    .get(&o)
                    .is_some_and(|&(other, cs)| other != i && cs >= s)
                {
                    continue;
                }
                scored.push((o, s, why));
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = scored.first().map(|x| x.1).unwrap_or(0.0);
        let close = scored
            .iter()
            .filter(|x| best - x.1 <= AMBIGUITY_MARGIN)
            .count();
        for (o, s, why) in scored {
            let from = self.flows[o].node;
            let to = inn.node;
            // A better receipt for a shipment already linked to a weaker one (records out of order): the weaker
            // link is left for a commander to decide.
            if let Some(&(prev, ps)) = self.claims.get(&o)
                && prev != i
                && ps < s
                && let Some(&l) = self.link_ix.get(&(from, self.flows[prev].node))
                && self.links[l].basis == Basis::Evidence
            {
                self.links[l].ambiguous = true;
            }
            if self
                .claims
                .get(&o)
                .is_none_or(|&(prev, ps)| prev == i || ps < s)
            {
                self.claims.insert(o, (i, s));
            }
            self.link(from, to, Basis::Evidence, why, s);
            if let Some(&l) = self.link_ix.get(&(from, to)) {
                let link = &mut self.links[l];
                if link.basis == Basis::Evidence {
                    link.ambiguous = close > 1 && best - s <= AMBIGUITY_MARGIN;
                }
            }
        }
    }

    /// Applies a commander's decision; `false` when no link has that id.
    pub fn decide(&mut self, link: &str, confirmed: bool, by: &str, note: Option<&str>) -> bool {
        let Some(&l) = self.link_by_id.get(link) else {
            return false;
        };
        let link = &mut self.links[l];
        link.status = if confirmed {
            LinkStatus::Confirmed
        } else {
            LinkStatus::Rejected
        };
        link.decided_by = Some(by.to_string());
        link.note = note.map(str::to_string);
        true
    }

    pub fn link_by_id(&self, id: &str) -> Option<&Link> {
        self.link_by_id.get(id).map(|&l| &self.links[l])
    }

    /// Links, optionally only those still awaiting a decision.
    pub fn links(&self, only_proposed: bool) -> Vec<Link> {
        self.links
            .iter()
            .filter(|l| !only_proposed || l.status == LinkStatus::Proposed)
            .cloned()
            .collect()
    }

    pub fn incidents(&self) -> &[IncidentRec] {
        &self.incidents
    }

    pub fn incident(&self, id: Uuid) -> Option<&IncidentRec> {
        self.incidents.iter().find(|r| r.report.incident == id)
    }

    /// Enterprises reported by the provinces, by kind.
    pub fn enterprise_kinds(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for e in self.enterprises.values() {
            *m.entry(e.kind.clone()).or_default() += 1;
        }
        m
    }

    /// Batches reported, by province.
    pub fn batches_by_province(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for n in &self.nodes {
            *m.entry(n.province.clone()).or_default() += 1;
        }
        m
    }

    /// Counts of what the registry holds.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut m: BTreeMap<String, u64> = self
            .counts
            .iter()
            .map(|(k, v)| (format!("messages_{k}"), *v))
            .collect();
        m.insert("batches".into(), self.nodes.len() as u64);
        m.insert("links".into(), self.links.len() as u64);
        m.insert(
            "links_proposed".into(),
            self.links
                .iter()
                .filter(|l| l.status == LinkStatus::Proposed)
                .count() as u64,
        );
        m.insert(
            "links_ambiguous".into(),
            self.links.iter().filter(|l| l.ambiguous).count() as u64,
        );
        m.insert("enterprises".into(), self.enterprises.len() as u64);
        m
    }

    /// Traces from a province's batches across every province: backward to the origins, then forward from
    /// everything reached to every batch made from or sold on from it.
    pub fn trace(&self, province: &str, batches: &[String]) -> NationalTrace {
        let mut unknown = Vec::new();
        let mut seeds = Vec::new();
        for b in batches {
            match self.node_ix.get(&(province.to_string(), b.clone())) {
                Some(&i) => seeds.push(i),
                None => unknown.push(NodeRef {
                    province: province.to_string(),
                    batch: b.clone(),
                }),
            }
        }
        let mut links_used = BTreeSet::new();
        // Backward.
        let mut back: HashMap<Ix, f64> = seeds.iter().map(|&s| (s, 1.0)).collect();
        self.spread(&mut back, false, &mut links_used);
        // Forward from everything reached backward.
        let mut fwd = back.clone();
        self.spread(&mut fwd, true, &mut links_used);
        let mut out: Vec<TracedBatch> = fwd
            .iter()
            .map(|(&n, &c)| {
                let relation = if seeds.contains(&n) {
                    "positive"
                } else if back.contains_key(&n) {
                    "upstream"
                } else {
                    "downstream"
                };
                self.traced(n, relation, c)
            })
            .collect();
        out.sort_by(|a, b| {
            (a.province.as_str(), a.relation.as_str(), a.batch.as_str()).cmp(&(
                b.province.as_str(),
                b.relation.as_str(),
                b.batch.as_str(),
            ))
        });
        let provinces: BTreeSet<String> = out.iter().map(|b| b.province.clone()).collect();
        NationalTrace {
            batches: out,
            provinces: provinces.into_iter().collect(),
            links: links_used
                .into_iter()
                .map(|l| self.links[l].clone())
                .collect(),
            unknown,
        }
    }

    /// Widens `reached` (node to the best confidence it was reached with) along lineage and links that are not
    /// rejected, downstream or upstream, keeping the lowest link confidence on the way; records the links used.
    fn spread(&self, reached: &mut HashMap<Ix, f64>, forward: bool, used: &mut BTreeSet<usize>) {
        let mut q: VecDeque<Ix> = reached.keys().copied().collect();
        while let Some(n) = q.pop_front() {
            let c = reached[&n];
            let node = &self.nodes[n];
            let (lineage, links) = if forward {
                (&node.outputs, &node.down)
            } else {
                (&node.inputs, &node.up)
            };
            let mut next: Vec<(Ix, f64)> = lineage.iter().map(|&m| (m, c)).collect();
            for &l in links {
                if let Some(w) = self.links[l].weight() {
                    let (from, to) = self.link_ends[l];
                    next.push((if forward { to } else { from }, c.min(w)));
                    used.insert(l);
                }
            }
            for (m, cm) in next {
                if reached.get(&m).is_none_or(|&old| cm > old) {
                    reached.insert(m, cm);
                    q.push_back(m);
                }
            }
        }
    }

    fn traced(&self, n: Ix, relation: &str, confidence: f64) -> TracedBatch {
        let node = &self.nodes[n];
        let f = node.facts.as_ref();
        let flows: Vec<BorderFlowView> = node
            .flows
            .iter()
            .map(|&i| {
                let r = &self.flows[i];
                BorderFlowView {
                    direction: if r.inward { "in" } else { "out" }.into(),
                    flow: r.flow.clone(),
                }
            })
            .collect();
        let product = f.map(|f| f.product.clone()).or_else(|| {
            node.flows
                .first()
                .map(|&i| self.flows[i].flow.product.clone())
        });
        TracedBatch {
            province: node.province.clone(),
            batch: node.batch.clone(),
            relation: relation.into(),
            confidence: (confidence * 1000.0).round() / 1000.0,
            product,
            batch_no: f.map(|f| f.batch_no.clone()),
            codes: f.map(|f| f.codes.clone()).unwrap_or_default(),
            owner_uscc: f.map(|f| f.owner_uscc.clone()),
            owner_name: f
                .and_then(|f| self.enterprises.get(&f.owner_uscc))
                .map(|e| e.name.clone()),
            quantity_milli: f.map(|f| f.quantity_milli),
            unit: f.map(|f| f.unit.clone()),
            flows,
        }
    }

    /// The notices an incident calls for: one per affected province other than the reporting one, each with
    /// that province's implicated batches not notified before.
    pub fn notices_for(&self, inc: &IncidentRec) -> (NationalTrace, Vec<Notice>) {
        let trace = self.trace(&inc.province, &inc.report.batches);
        let mut by: BTreeMap<&str, Vec<NoticeItem>> = BTreeMap::new();
        for b in &trace.batches {
            if b.province == inc.province
                || self
                    .notified
                    .get(&(inc.report.incident, b.province.clone()))
                    .is_some_and(|s| s.contains(&b.batch))
            {
                continue;
            }
            by.entry(b.province.as_str())
                .or_default()
                .push(notice_item(b));
        }
        let notices = by
            .into_iter()
            .map(|(p, lines)| Notice {
                purpose: Default::default(),
                id: notice_id(
                    inc.report.incident,
                    p,
                    &lines.iter().map(|l| l.batch.clone()).collect::<Vec<_>>(),
                ),
                seq: 0,
                incident: inc.report.incident,
                from_province: inc.province.clone(),
                to_province: p.to_string(),
                subject: inc.report.subject.clone(),
                positive_at: inc.report.positive_at.clone(),
                created_at_ms: 0,
                lines,
            })
            .collect();
        (trace, notices)
    }

    /// A province's batch as a line of a request for detail: what the national platform knows of it.
    pub fn batch_item(&self, province: &str, batch: &str) -> NoticeItem {
        match self.node_ix.get(&(province.to_string(), batch.to_string())) {
            Some(&n) => notice_item(&self.traced(n, "requested", 1.0)),
            None => notice_item(&TracedBatch {
                province: province.to_string(),
                batch: batch.to_string(),
                relation: "requested".into(),
                confidence: 1.0,
                product: None,
                batch_no: None,
                codes: vec![],
                owner_uscc: None,
                owner_name: None,
                quantity_milli: None,
                unit: None,
                flows: vec![],
            }),
        }
    }

    /// Starts following a notice's delivery.
    pub fn track(&mut self, n: &Notice) {
        if n.purpose == coldtrace_domain::docking::Purpose::DetailRequest {
            self.deliveries.entry(n.id).or_insert_with(|| Delivery {
                notice: n.id,
                province: n.to_province.clone(),
                incident: n.incident,
                created_at_ms: n.created_at_ms,
                detail_request: true,
                ..Default::default()
            });
            return;
        }
        self.notified
            .entry((n.incident, n.to_province.clone()))
            .or_default()
            .extend(n.lines.iter().map(|l| l.batch.clone()));
        self.deliveries.entry(n.id).or_insert_with(|| Delivery {
            notice: n.id,
            province: n.to_province.clone(),
            incident: n.incident,
            created_at_ms: n.created_at_ms,
            ..Default::default()
        });
    }

    /// Deliveries of an incident's notices, or of all.
    pub fn deliveries(&self, incident: Option<Uuid>) -> Vec<Delivery> {
        self.deliveries
            .values()
            .filter(|d| incident.is_none_or(|i| d.incident == i))
            .cloned()
            .collect()
    }
}

/// A traced batch as a line of a notice: its facts, and how it entered its province (the sale to it).
fn notice_item(b: &TracedBatch) -> NoticeItem {
    let entry = b
        .flows
        .iter()
        .find(|f| f.direction == "in")
        .map(|f| &f.flow);
    NoticeItem {
        batch: b.batch.clone(),
        codes: b.codes.clone(),
        food_name: b.product.clone().unwrap_or_default(),
        batch_no: b.batch_no.clone().unwrap_or_default(),
        quantity_milli: b
            .quantity_milli
            .or(entry.map(|e| e.quantity_milli))
            .unwrap_or(0),
        unit: b
            .unit
            .clone()
            .or(entry.map(|e| e.unit.clone()))
            .unwrap_or_default(),
        sale_date: entry.map(|e| day(e.at_ms)),
        seller: entry.map(|e| e.seller_name.clone()),
        seller_uscc: entry.and_then(|e| e.seller_uscc.clone()),
        buyer: entry.map(|e| e.buyer_name.clone()),
        relation: b.relation.clone(),
        confidence: b.confidence,
    }
}

#[cfg(test)]
mod tests;
