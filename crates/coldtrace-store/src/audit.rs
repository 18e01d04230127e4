//! The audit trail (审计日志): who did what to which object, with what outcome, for what purpose, when, as a hash
//! chain. Each entry's hash covers its content and the previous entry's hash, so changing, removing or
//! reordering any stored entry breaks every hash after it; [`verify`] recomputes the chain and names the first
//! broken entry. Backend-neutral: a backend stores entries and computes the chain with [`link`] inside the
//! transaction that appends them.

use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event to record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// When it happened (Unix milliseconds).
    pub at_ms: i64,
    /// Who: the credential's subject (`enterprise:<id>`, `regulator:<province>`, a docking client), or
    /// `anonymous` for a failed authentication.
    pub actor: String,
    /// The actor's role, when authenticated.
    pub role: Option<String>,
    /// The province whose trail this belongs to (the actor's, or the platform's own).
    pub province: Option<String>,
    /// What: `authenticate`, or the method and route (`POST /api/v1/movements`).
    pub action: String,
    /// Which object: the request path with its ids, and the query (secrets never appear in either).
    pub object: String,
    /// The outcome: the HTTP status.
    pub outcome: u16,
    /// The purpose the caller stated (`X-Purpose` header or `purpose=`), for reads of personal data.
    pub purpose: Option<String>,
}

/// A stored entry: the event, its place in the chain and the chain's hashes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The previous entry's hash (hex SHA-256).
    pub prev: String,
    /// SHA-256 over `prev`, `seq` and the event.
    pub hash: String,
}

/// The hash of entry `seq` after `prev`: SHA-256 of the previous hash, the sequence number and the event's
/// canonical JSON (fields in declaration order), separated by unit separators.
pub fn link(prev: &str, seq: u64, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update([0x1f]);
    h.update(seq.to_string().as_bytes());
    h.update([0x1f]);
    h.update(serde_json::to_vec(event).unwrap_or_default());
    hex::encode(h.finalize())
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("entry {seq}: its hash does not match its content (changed after it was written)")]
    Content { seq: u64 },
    #[error(
        "entry {seq}: it does not follow the entry before it (an entry was removed, inserted or reordered)"
    )]
    Link { seq: u64 },
    #[error("entry {seq}: expected sequence number {expected}")]
    Gap { seq: u64, expected: u64 },
    #[error("checkpoint at entry {seq}: the chain's hash there is not the one published")]
    Checkpoint { seq: u64 },
}

/// Verifies entries in sequence order, continuing from `state` (the previous page's last entry), and answers
/// the state after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyState {
    pub next_seq: u64,
    pub prev: String,
}

impl Default for VerifyState {
    fn default() -> Self {
        VerifyState {
            next_seq: 1,
            prev: GENESIS.into(),
        }
    }
}

/// Checks one page of entries against the chain so far.
pub fn verify(state: &mut VerifyState, entries: &[AuditEntry]) -> Result<(), Broken> {
    for e in entries {
        if e.seq != state.next_seq {
            return Err(Broken::Gap {
                seq: e.seq,
                expected: state.next_seq,
            });
        }
        if e.prev != state.prev {
            return Err(Broken::Link { seq: e.seq });
        }
        if link(&e.prev, e.seq, &e.event) != e.hash {
            return Err(Broken::Content { seq: e.seq });
        }
        state.prev = e.hash.clone();
        state.next_seq += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: u16) -> AuditEvent {
        AuditEvent {
            at_ms: 1_700_000_000_000 + i as i64,
            actor: format!("enterprise:{i}"),
            role: Some("enterprise".into()),
            province: Some("12".into()),
            action: "GET /api/v1/batches/{id}".into(),
            object: format!("/api/v1/batches/{i}"),
            outcome: 200,
            purpose: None,
        }
    }

    fn chain(n: u16) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|i| {
                let e = event(i);
                let hash = link(&prev, i as u64, &e);
                let entry = AuditEntry {
                    seq: i as u64,
                    event: e,
                    prev: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                entry
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_in_pages() {
        let c = chain(10);
        let mut s = VerifyState::default();
        verify(&mut s, &c[..4]).unwrap();
        verify(&mut s, &c[4..]).unwrap();
        assert_eq!(s.next_seq, 11);
    }

    #[test]
    fn a_changed_removed_or_reordered_entry_is_named() {
        let mut c = chain(10);
        c[6].event.outcome = 403;
        assert_eq!(
            verify(&mut VerifyState::default(), &c),
            Err(Broken::Content { seq: 7 })
        );
        let mut c = chain(10);
        c.remove(3);
        assert_eq!(
            verify(&mut VerifyState::default(), &c),
            Err(Broken::Gap {
                seq: 5,
                expected: 4
            })
        );
        // Renumbered after a removal: the link to the entry before breaks.
        let mut c = chain(10);
        c.remove(3);
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as u64 + 1;
        }
        assert!(matches!(
            verify(&mut VerifyState::default(), &c),
            Err(Broken::Link { seq: 4 }) | Err(Broken::Content { seq: 4 })
        ));
    }
}
