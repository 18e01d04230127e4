//! The registry as bytes (登记簿快照), so that the national platform restarts from a snapshot and the inbox
//! rows after it instead of replaying every message it ever accepted.
//!
//! The bytes are postcard (a compact serde encoding) of what the registry was folded into (batch nodes, border flows, links, incidents,
//! deliveries, what was notified, the counts, the flows' claims); the lookups (a node by province and batch,
//! flows by parties, a link by its ends and by its id) are rebuilt on reading. Maps are written in key order,
//! so the same registry always gives the same bytes: two registries are the same exactly when their bytes are.
//! Reading checks every index it follows, so a damaged snapshot is refused, never a panic later.

use coldtrace_domain::docking::EnterpriseShort;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

use super::{Basis, Delivery, FlowRec, IncidentRec, Ix, Link, Node, Registry};

/// A snapshot that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("registry snapshot: {0}")]
    Format(String),
}

/// What is written, borrowed from the registry.
#[derive(serde::Serialize)]
struct Out<'a> {
    enterprises: Vec<&'a EnterpriseShort>,
    nodes: &'a [Node],
    flows: &'a [FlowRec],
    by_key: Vec<(&'a (Basis, String), &'a Vec<Ix>)>,
    links: &'a [Link],
    link_ends: &'a [(Ix, Ix)],
    incidents: &'a [IncidentRec],
    deliveries: Vec<&'a Delivery>,
    notified: Vec<(&'a (Uuid, String), &'a BTreeSet<String>)>,
    counts: &'a BTreeMap<String, u64>,
    claims: Vec<(&'a usize, &'a (usize, f64))>,
}

/// What is read back.
#[derive(serde::Deserialize)]
struct In {
    enterprises: Vec<EnterpriseShort>,
    nodes: Vec<Node>,
    flows: Vec<FlowRec>,
    by_key: Vec<((Basis, String), Vec<Ix>)>,
    links: Vec<Link>,
    link_ends: Vec<(Ix, Ix)>,
    incidents: Vec<IncidentRec>,
    deliveries: Vec<Delivery>,
    notified: Vec<((Uuid, String), BTreeSet<String>)>,
    counts: BTreeMap<String, u64>,
    claims: Vec<(usize, (usize, f64))>,
}

fn sorted<K: Ord, V>(m: &HashMap<K, V>) -> Vec<(&K, &V)> {
    let mut v: Vec<(&K, &V)> = m.iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

impl Registry {
    /// The registry as bytes (deterministically: the same registry, the same bytes).
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let mut enterprises: Vec<&EnterpriseShort> = self.enterprises.values().collect();
        enterprises.sort_unstable_by(|a, b| a.uscc.cmp(&b.uscc));
        let out = Out {
            enterprises,
            nodes: &self.nodes,
            flows: &self.flows,
            by_key: sorted(&self.by_key),
            links: &self.links,
            link_ends: &self.link_ends,
            incidents: &self.incidents,
            deliveries: self.deliveries.values().collect(),
            notified: sorted(&self.notified),
            counts: &self.counts,
            claims: sorted(&self.claims),
        };
        postcard::to_stdvec(&out).expect("the registry's types all serialise")
    }

    /// Reads a registry from [`Registry::snapshot_bytes`], rebuilding its lookups.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Registry, SnapshotError> {
        let (i, rest): (In, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(|e| SnapshotError::Format(e.to_string()))?;
        if !rest.is_empty() {
            return Err(SnapshotError::Format(format!(
                "{} bytes after the registry",
                rest.len()
            )));
        }
        check(&i)?;
        let mut reg = Registry {
            enterprises: i
                .enterprises
                .into_iter()
                .map(|e| (e.uscc.clone(), e))
                .collect(),
            by_key: i.by_key.into_iter().collect(),
            incidents: i.incidents,
            deliveries: i.deliveries.into_iter().map(|d| (d.notice, d)).collect(),
            notified: i.notified.into_iter().collect(),
            counts: i.counts,
            claims: i.claims.into_iter().collect(),
            ..Registry::default()
        };
        reg.node_ix.reserve(i.nodes.len());
        for (ix, n) in i.nodes.iter().enumerate() {
            if reg
                .node_ix
                .insert((n.province.clone(), n.batch.clone()), ix)
                .is_some()
            {
                return Err(SnapshotError::Format(format!(
                    "batch {}/{} appears twice",
                    n.province, n.batch
                )));
            }
        }
        for (fi, f) in i.flows.iter().enumerate() {
            if let Some(parties) = f.flow.seller_uscc.clone().zip(f.flow.buyer_uscc.clone()) {
                reg.by_parties.entry(parties).or_default().push(fi);
            }
        }
        for (l, (link, ends)) in i.links.iter().zip(&i.link_ends).enumerate() {
            reg.link_ix.insert(*ends, l);
            reg.link_by_id.insert(link.id.clone(), l);
        }
        reg.nodes = i.nodes;
        reg.flows = i.flows;
        reg.links = i.links;
        reg.link_ends = i.link_ends;
        Ok(reg)
    }
}

/// Every index the registry follows points inside what was read.
fn check(i: &In) -> Result<(), SnapshotError> {
    let (nodes, flows, links) = (i.nodes.len(), i.flows.len(), i.links.len());
    let bad = |what: &str, v: usize, n: usize| {
        Err(SnapshotError::Format(format!(
            "{what} {v} out of range (there are {n})"
        )))
    };
    if i.link_ends.len() != links {
        return Err(SnapshotError::Format(format!(
            "{links} links with {} pairs of ends",
            i.link_ends.len()
        )));
    }
    for n in &i.nodes {
        for &x in n.inputs.iter().chain(&n.outputs) {
            if x >= nodes {
                return bad("node", x, nodes);
            }
        }
        for &l in n.down.iter().chain(&n.up) {
            if l >= links {
                return bad("link", l, links);
            }
        }
        for &f in &n.flows {
            if f >= flows {
                return bad("flow", f, flows);
            }
        }
    }
    for f in &i.flows {
        if f.node >= nodes {
            return bad("node", f.node, nodes);
        }
    }
    for &(a, b) in &i.link_ends {
        if a >= nodes || b >= nodes {
            return bad("node", a.max(b), nodes);
        }
    }
    for (_, v) in &i.by_key {
        if let Some(&x) = v.iter().find(|&&x| x >= nodes) {
            return bad("node", x, nodes);
        }
    }
    for &(o, (inn, _)) in &i.claims {
        if o >= flows || inn >= flows {
            return bad("flow", o.max(inn), flows);
        }
    }
    Ok(())
}
