//! The index as bytes: written to any [`Write`] and read back from any [`Read`], so that a node restarts from
//! a snapshot in seconds instead of rebuilding from the store.
//!
//! The format is the index's own arrays, little-endian, each prefixed by its length, after a magic and a
//! version. Reading checks every length and every index against the arrays it points into, so a damaged or
//! foreign file is refused with [`SnapshotError::Format`] rather than making a later search panic. The
//! holder-to-lot maps of wide batches and the id maps are derived, not stored. The caller adds what ties a
//! snapshot to its store (which store, up to which sequence) and a checksum; this module is pure.

use std::collections::HashMap;
use std::io::{Read, Write};

use uuid::Uuid;

use crate::{Edge, Ix, Kind, NONE, Secs, TraceIndex};

const MAGIC: &[u8; 8] = b"CTTRACE\x01";

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("reading the trace index snapshot: {0}")]
    Io(#[from] std::io::Error),
    #[error("the trace index snapshot is not valid: {0}")]
    Format(String),
}

fn bad(what: impl Into<String>) -> SnapshotError {
    SnapshotError::Format(what.into())
}

/// Elements read per chunk, so that a damaged length cannot ask for a huge allocation up front.
const CHUNK: usize = 1 << 16;

struct Out<'a, W: Write>(&'a mut W);

impl<W: Write> Out<'_, W> {
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    /// `v`'s length, then its elements of `N` bytes each (as `f` gives them), written a chunk at a time.
    fn elems<T, const N: usize>(
        &mut self,
        v: &[T],
        f: impl Fn(&T) -> [u8; N],
    ) -> std::io::Result<()> {
        self.u64(v.len() as u64)?;
        let mut buf = Vec::with_capacity(CHUNK * N);
        for c in v.chunks(CHUNK) {
            buf.clear();
            for x in c {
                buf.extend_from_slice(&f(x));
            }
            self.0.write_all(&buf)?;
        }
        Ok(())
    }
    fn u32s(&mut self, v: &[u32]) -> std::io::Result<()> {
        self.elems(v, |x| x.to_le_bytes())
    }
    fn i64s(&mut self, v: &[i64]) -> std::io::Result<()> {
        self.elems(v, |x| x.to_le_bytes())
    }
    fn bytes(&mut self, v: &[u8]) -> std::io::Result<()> {
        self.u64(v.len() as u64)?;
        self.0.write_all(v)
    }
    fn uuids(&mut self, v: &[Uuid]) -> std::io::Result<()> {
        self.elems(v, |x| *x.as_bytes())
    }
}

struct In<'a, R: Read>(&'a mut R);

impl<R: Read> In<'_, R> {
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        let mut b = [0u8; 8];
        self.0.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn len(&mut self) -> Result<usize, SnapshotError> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| bad("a length does not fit in memory"))
    }
    /// `n` elements of `W` bytes each, converted by `f`.
    fn elems<T, const W: usize>(
        &mut self,
        f: impl Fn([u8; W]) -> T,
    ) -> Result<Vec<T>, SnapshotError> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n.min(CHUNK));
        let mut buf = vec![0u8; CHUNK * W];
        let mut left = n;
        while left > 0 {
            let k = left.min(CHUNK);
            let b = &mut buf[..k * W];
            self.0.read_exact(b)?;
            out.extend(
                b.chunks_exact(W)
                    .map(|c| f(c.try_into().expect("chunks of W bytes"))),
            );
            left -= k;
        }
        Ok(out)
    }
    fn u32s(&mut self) -> Result<Vec<u32>, SnapshotError> {
        self.elems::<u32, 4>(u32::from_le_bytes)
    }
    fn i64s(&mut self) -> Result<Vec<i64>, SnapshotError> {
        self.elems::<i64, 8>(i64::from_le_bytes)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, SnapshotError> {
        self.elems::<u8, 1>(|[b]| b)
    }
    fn uuids(&mut self) -> Result<Vec<Uuid>, SnapshotError> {
        self.elems::<Uuid, 16>(Uuid::from_bytes)
    }
}

fn kind_code(k: Kind) -> u8 {
    k as u8
}

fn kind_of(c: u8) -> Option<Kind> {
    Some(match c {
        0 => Kind::Receive,
        1 => Kind::Ship,
        2 => Kind::Sell,
        3 => Kind::Consume,
        4 => Kind::Produce,
        5 => Kind::Destroy,
        6 => Kind::Seal,
        7 => Kind::Return,
        _ => return None,
    })
}

/// Every entry of `v` is [`NONE`] or below `bound`.
fn check_links(v: &[Ix], bound: usize, what: &str) -> Result<(), SnapshotError> {
    match v.iter().find(|&&x| x != NONE && x as usize >= bound) {
        Some(x) => Err(bad(format!("{what} points at {x}, past the end ({bound})"))),
        None => Ok(()),
    }
}

/// Every entry of `v` is below `bound` (no [`NONE`] allowed).
fn check_refs(v: &[Ix], bound: usize, what: &str) -> Result<(), SnapshotError> {
    match v.iter().find(|&&x| x as usize >= bound) {
        Some(x) => Err(bad(format!("{what} points at {x}, past the end ({bound})"))),
        None => Ok(()),
    }
}

fn same_len(n: usize, v: usize, what: &str) -> Result<(), SnapshotError> {
    if n == v {
        Ok(())
    } else {
        Err(bad(format!("{what} has {v} entries, expected {n}")))
    }
}

impl TraceIndex {
    /// Writes the index. The caller buffers `w` and adds a checksum.
    pub fn write_snapshot<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let mut o = Out(w);
        o.0.write_all(MAGIC)?;
        o.u64(self.flows)?;
        o.u64(self.compacted)?;
        o.uuids(&self.batches)?;
        o.u32s(&self.batch_first_lot)?;
        o.uuids(&self.holders)?;
        o.u32s(&self.holder_first_lot)?;
        for v in [
            &self.lot_batch,
            &self.lot_holder,
            &self.lot_next_in_batch,
            &self.lot_next_in_holder,
            &self.lot_first_mv,
            &self.lot_out,
            &self.lot_in,
            &self.mv_lot,
        ] {
            o.u32s(v)?;
        }
        let kinds: Vec<u8> = self.mv_kind.iter().map(|k| kind_code(*k)).collect();
        o.bytes(&kinds)?;
        o.u32s(&self.mv_t)?;
        o.i64s(&self.mv_qty)?;
        o.u32s(&self.mv_seq)?;
        o.u32s(&self.mv_next)?;
        let flat: Vec<u32> = self
            .edges
            .iter()
            .flat_map(|e| [e.other, e.mv, e.next])
            .collect();
        o.u32s(&flat)?;
        let mut void: Vec<u32> = self.void.iter().copied().collect();
        void.sort_unstable();
        o.u32s(&void)
    }

    /// Reads an index written by [`TraceIndex::write_snapshot`], checking that every link stays inside the
    /// arrays.
    pub fn read_snapshot<R: Read>(r: &mut R) -> Result<TraceIndex, SnapshotError> {
        let mut i = In(r);
        let mut magic = [0u8; 8];
        i.0.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad("not a coldtrace trace index snapshot of this version"));
        }
        let flows = i.u64()?;
        let compacted = i.u64()?;
        let batches = i.uuids()?;
        let batch_first_lot = i.u32s()?;
        let holders = i.uuids()?;
        let holder_first_lot = i.u32s()?;
        let lot_batch = i.u32s()?;
        let lot_holder = i.u32s()?;
        let lot_next_in_batch = i.u32s()?;
        let lot_next_in_holder = i.u32s()?;
        let lot_first_mv = i.u32s()?;
        let lot_out = i.u32s()?;
        let lot_in = i.u32s()?;
        let mv_lot = i.u32s()?;
        let kinds = i.bytes()?;
        let mv_t: Vec<Secs> = i.u32s()?;
        let mv_qty = i.i64s()?;
        let mv_seq = i.u32s()?;
        let mv_next = i.u32s()?;
        let flat = i.u32s()?;
        let void = i.u32s()?;

        let (nb, nh, nl, nm) = (batches.len(), holders.len(), lot_batch.len(), mv_lot.len());
        same_len(nb, batch_first_lot.len(), "batch_first_lot")?;
        same_len(nh, holder_first_lot.len(), "holder_first_lot")?;
        for (v, what) in [
            (&lot_holder, "lot_holder"),
            (&lot_next_in_batch, "lot_next_in_batch"),
            (&lot_next_in_holder, "lot_next_in_holder"),
            (&lot_first_mv, "lot_first_mv"),
            (&lot_out, "lot_out"),
            (&lot_in, "lot_in"),
        ] {
            same_len(nl, v.len(), what)?;
        }
        for (n, what) in [
            (kinds.len(), "mv_kind"),
            (mv_t.len(), "mv_t"),
            (mv_qty.len(), "mv_qty"),
            (mv_seq.len(), "mv_seq"),
            (mv_next.len(), "mv_next"),
        ] {
            same_len(nm, n, what)?;
        }
        if flat.len() % 3 != 0 {
            return Err(bad("the edge array is not made of whole edges"));
        }
        let ne = flat.len() / 3;
        if nl > NONE as usize || nm > NONE as usize || ne > NONE as usize {
            return Err(bad("more entries than an index can number"));
        }
        check_links(&batch_first_lot, nl, "batch_first_lot")?;
        check_links(&holder_first_lot, nl, "holder_first_lot")?;
        check_refs(&lot_batch, nb, "lot_batch")?;
        check_refs(&lot_holder, nh, "lot_holder")?;
        check_links(&lot_next_in_batch, nl, "lot_next_in_batch")?;
        check_links(&lot_next_in_holder, nl, "lot_next_in_holder")?;
        check_links(&lot_first_mv, nm, "lot_first_mv")?;
        check_links(&lot_out, ne, "lot_out")?;
        check_links(&lot_in, ne, "lot_in")?;
        check_refs(&mv_lot, nl, "mv_lot")?;
        check_links(&mv_next, nm, "mv_next")?;
        check_refs(&void, nm, "void")?;
        let mv_kind = kinds
            .iter()
            .map(|c| kind_of(*c).ok_or_else(|| bad(format!("movement kind {c} is unknown"))))
            .collect::<Result<Vec<_>, _>>()?;
        let edges: Vec<Edge> = flat
            .chunks_exact(3)
            .map(|c| Edge {
                other: c[0],
                mv: c[1],
                next: c[2],
            })
            .collect();
        if let Some(e) = edges.iter().find(|e| {
            e.other as usize >= nl
                || e.mv as usize >= nm
                || (e.next != NONE && e.next as usize >= ne)
        }) {
            return Err(bad(format!("an edge points past the end: {e:?}")));
        }
        if compacted > nm as u64 {
            return Err(bad("the movement counts disagree with the arrays"));
        }

        let batch_ix: HashMap<Uuid, Ix> = batches
            .iter()
            .enumerate()
            .map(|(n, b)| (*b, n as Ix))
            .collect();
        let holder_ix: HashMap<Uuid, Ix> = holders
            .iter()
            .enumerate()
            .map(|(n, h)| (*h, n as Ix))
            .collect();
        if batch_ix.len() != nb || holder_ix.len() != nh {
            return Err(bad("a batch or holder appears twice"));
        }
        let mut ix = TraceIndex {
            batches,
            batch_ix,
            batch_first_lot,
            holders,
            holder_ix,
            holder_first_lot,
            lot_batch,
            lot_holder,
            lot_next_in_batch,
            lot_next_in_holder,
            lot_first_mv,
            lot_out,
            lot_in,
            mv_lot,
            mv_kind,
            mv_t,
            mv_qty,
            mv_seq,
            mv_next,
            edges,
            flows,
            void: void.into_iter().collect(),
            wide: HashMap::new(),
            compacted,
        };
        ix.check_chains()?;
        ix.rebuild_wide();
        Ok(ix)
    }

    /// Every lot is on its own batch's chain exactly once, and every list ends: a damaged snapshot with a cycle
    /// would otherwise make a search loop forever.
    fn check_chains(&self) -> Result<(), SnapshotError> {
        let nl = self.lot_batch.len();
        let mut seen = vec![false; nl];
        let walk = |seen: &mut Vec<bool>,
                    first: Ix,
                    next: &[Ix],
                    owner: &dyn Fn(Ix) -> bool,
                    what: &str| {
            let mut cur = first;
            while cur != NONE {
                let c = cur as usize;
                if seen[c] || !owner(cur) {
                    return Err(bad(format!("the {what} lists are damaged")));
                }
                seen[c] = true;
                cur = next[c];
            }
            Ok(())
        };
        for b in 0..self.batches.len() {
            walk(
                &mut seen,
                self.batch_first_lot[b],
                &self.lot_next_in_batch,
                &|l| self.lot_batch[l as usize] == b as Ix,
                "batch",
            )?;
        }
        if seen.iter().any(|s| !s) {
            return Err(bad("a lot is on no batch's list"));
        }
        seen.iter_mut().for_each(|s| *s = false);
        for h in 0..self.holders.len() {
            walk(
                &mut seen,
                self.holder_first_lot[h],
                &self.lot_next_in_holder,
                &|l| self.lot_holder[l as usize] == h as Ix,
                "holder",
            )?;
        }
        let mut seen = vec![false; self.mv_lot.len()];
        for l in 0..nl {
            walk(
                &mut seen,
                self.lot_first_mv[l],
                &self.mv_next,
                &|m| self.mv_lot[m as usize] == l as Ix,
                "movement",
            )?;
        }
        if seen.iter().any(|s| !s) {
            return Err(bad("a movement is on no lot's list"));
        }
        let next: Vec<Ix> = self.edges.iter().map(|e| e.next).collect();
        let mut seen = vec![false; self.edges.len()];
        for l in 0..nl {
            walk(&mut seen, self.lot_out[l], &next, &|_| true, "edge")?;
            walk(&mut seen, self.lot_in[l], &next, &|_| true, "edge")?;
        }
        Ok(())
    }
}
