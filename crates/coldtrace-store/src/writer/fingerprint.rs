//! A record's fingerprint (指纹): the SHA-256 of its JSON without its id, keys in order at every level. The same
//! record sent again has the same fingerprint (a resubmission is harmless); other content under the same id does
//! not (a conflict). Stores keep it, so the bytes hashed never change.

use coldtrace_domain::{BatchRef, Handler, Line, Movement};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Result;

/// A record's fingerprint (hex SHA-256 of its JSON without its id) and its JSON body.
pub fn encode<T: Serialize>(r: &T) -> Result<(String, String)> {
    let mut v = serde_json::to_value(r)?;
    let body = v.to_string();
    Ok((hex::encode(digest_without_id(&mut v)?), body))
}

/// A record's fingerprint alone, as [`encode`] computes it, for a record kept without a JSON body: the first 8
/// bytes of the SHA-256. Movements use [`movement_fingerprint`], which gives the same.
pub fn fingerprint<T: Serialize>(r: &T) -> Result<i64> {
    Ok(first_eight(digest_without_id(&mut serde_json::to_value(
        r,
    )?)?))
}

/// A movement's [`fingerprint`], the same bytes hashed, written straight into the hash instead of through a JSON
/// tree (which a bulk ledger built and dropped once per movement: 9.5% of the CPU samples of a `bench ingest`
/// profile, 3.1% written straight).
pub fn movement_fingerprint(m: &Movement) -> Result<i64> {
    let mut h = Hashing(Sha256::new());
    let w = &mut h;
    // The keys of `Movement` in order, without `id`.
    w.key_json("{\"at\":", &m.at)?;
    w.raw(",\"batch\":");
    match &m.batch {
        Some(b) => w.batch_ref(b)?,
        None => w.raw("null"),
    }
    w.key_json(",\"corrects\":", &m.corrects)?;
    w.raw(",\"counterparty\":");
    match &m.counterparty {
        Some(c) => {
            w.key_json("{\"name\":", &c.name)?;
            w.key_json(",\"uscc\":", &c.uscc)?;
            w.raw("}");
        }
        None => w.raw("null"),
    }
    w.raw(",\"handlers\":[");
    for (i, hd) in m.handlers.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.handler(hd)?;
    }
    w.key_json("],\"holder\":", &m.holder)?;
    w.raw(",\"inputs\":");
    w.lines(&m.inputs)?;
    w.key_json(",\"kind\":", &m.kind)?;
    w.key_json(",\"location\":", &m.location)?;
    w.key_json(",\"note\":", &m.note)?;
    w.raw(",\"outputs\":");
    w.lines(&m.outputs)?;
    w.key_json(",\"quantity\":", &m.quantity)?;
    w.raw("}");
    Ok(first_eight(h.0.finalize().into()))
}

fn first_eight(d: [u8; 32]) -> i64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    i64::from_be_bytes(first)
}

/// The SHA-256 being written.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Hashing {
    fn raw(&mut self, s: &str) {
        self.0.update(s.as_bytes());
    }

    /// A value with no map inside it (a string, number, id, time or null), as the JSON writer writes it.
    fn json<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        Ok(serde_json::to_writer(&mut *self, v)?)
    }

    /// A key (with the punctuation before it, as written) and its value with no map inside it.
    fn key_json<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<()> {
        self.raw(key);
        self.json(v)
    }

    fn batch_ref(&mut self, b: &BatchRef) -> Result<()> {
        match b {
            BatchRef::Id(id) => {
                self.key_json("{\"id\":", id)?;
                self.raw("}");
                Ok(())
            }
            // Not resolved (never so in a stored movement): through the JSON tree, which orders its keys.
            other => self.json(&serde_json::to_value(other)?),
        }
    }

    fn handler(&mut self, h: &Handler) -> Result<()> {
        self.key_json("{\"id_no\":", &h.id_no)?;
        self.key_json(",\"name\":", &h.name)?;
        self.key_json(",\"phone\":", &h.phone)?;
        self.key_json(",\"role\":", &h.role)?;
        self.raw("}");
        Ok(())
    }

    fn lines(&mut self, lines: &[Line]) -> Result<()> {
        self.raw("[");
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.raw("{\"batch\":");
            self.batch_ref(&l.batch)?;
            self.key_json(",\"quantity\":", &l.quantity)?;
            self.raw("}");
        }
        self.raw("]");
        Ok(())
    }
}

/// SHA-256 of a record's JSON without its id, streamed from the serializer.
fn digest_without_id(v: &mut serde_json::Value) -> Result<[u8; 32]> {
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    let mut h = Hashing(Sha256::new());
    serde_json::to_writer(&mut h, v)?;
    Ok(h.0.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coldtrace_domain::{Counterparty, EventTime, MovementKind, Quantity, TraceCode, Uscc};
    use uuid::Uuid;

    /// Movements varied in every field the JSON has: each kind, each way of naming a batch, optional parts
    /// present and absent, fractional quantities, text that must be escaped.
    fn movements() -> Vec<Movement> {
        let texts = [
            None,
            Some(String::new()),
            Some("1号库 \"A\" \\ 区\n\t\u{1}末".to_string()),
            Some("Ünïcødé 冷链 🧊".to_string()),
        ];
        let quantities = [
            Quantity::from_milli(1_000),
            Quantity::from_milli(1),
            Quantity::from_milli(12_345_678),
            Quantity::from_milli(999),
        ];
        let code = TraceCode::parse("(01)09506000134352(10)A1", None).ok();
        let mut refs = vec![
            BatchRef::Id(Uuid::from_u128(7)),
            BatchRef::BatchNo("B-\"1\"".into()),
        ];
        refs.extend(code.map(BatchRef::Code));
        let times = [
            EventTime::parse("2026-03-01T08:30:00+08:00").unwrap(),
            EventTime::parse("2026-03-01T08:30:00.123456789Z").unwrap(),
            EventTime::parse("2025-12-31T23:59:59-05:30").unwrap(),
        ];
        let kinds = [
            MovementKind::Receive,
            MovementKind::Ship,
            MovementKind::Sell,
            MovementKind::Transform,
            MovementKind::Destroy,
            MovementKind::Seal,
            MovementKind::Return,
        ];
        let mut out = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            for (j, text) in texts.iter().enumerate() {
                let q = quantities[(i + j) % quantities.len()];
                let r = refs[(i + j) % refs.len()].clone();
                let line = |k: usize| Line {
                    batch: refs[k % refs.len()].clone(),
                    quantity: quantities[k % quantities.len()],
                };
                out.push(Movement {
                    id: Uuid::from_u128((i * 10 + j) as u128),
                    kind,
                    holder: Uuid::from_u128(0xabc + i as u128),
                    batch: (j % 2 == 0).then_some(r),
                    quantity: q,
                    counterparty: match j % 3 {
                        0 => None,
                        1 => Some(Counterparty {
                            uscc: None,
                            name: text.clone().unwrap_or_default(),
                        }),
                        _ => Some(Counterparty {
                            uscc: Uscc::parse_overridden("91310000MA1FL8LQ5X").ok(),
                            name: "上海冷库".into(),
                        }),
                    },
                    at: times[(i + j) % times.len()],
                    location: text.clone(),
                    handlers: (0..j)
                        .map(|k| Handler {
                            name: format!("张{k}\""),
                            id_no: (k % 2 == 0).then(|| "110101199003077777".into()),
                            phone: text.clone(),
                            role: (k == 1).then(|| "司机".into()),
                        })
                        .collect(),
                    inputs: (0..j).map(line).collect(),
                    outputs: (0..(i % 3)).map(|k| line(k + 1)).collect(),
                    note: texts[(j + 1) % texts.len()].clone(),
                    corrects: (i % 2 == 1).then(|| Uuid::from_u128(99)),
                });
            }
        }
        out
    }

    #[test]
    fn a_movement_written_straight_into_the_hash_has_the_fingerprint_of_its_json_tree() {
        let ms = movements();
        assert!(ms.len() >= 28);
        let mut seen = std::collections::HashSet::new();
        for m in &ms {
            let fast = movement_fingerprint(m).unwrap();
            assert_eq!(fast, fingerprint(m).unwrap(), "{m:?}");
            seen.insert(fast);
        }
        assert_eq!(
            seen.len(),
            ms.len(),
            "different movements, different fingerprints"
        );
    }

    #[test]
    fn the_fingerprint_leaves_out_the_id_and_nothing_else() {
        let m = movements().remove(9);
        let mut again = m.clone();
        again.id = Uuid::from_u128(12345);
        assert_eq!(
            movement_fingerprint(&again).unwrap(),
            movement_fingerprint(&m).unwrap()
        );
        let mut other = m.clone();
        other.quantity = Quantity::from_milli(m.quantity.milli() + 1);
        assert_ne!(
            movement_fingerprint(&other).unwrap(),
            movement_fingerprint(&m).unwrap()
        );
    }
}
