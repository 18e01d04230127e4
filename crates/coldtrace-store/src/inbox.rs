//! The backend-neutral part of the national inbox: which messages of an upload take effect. A backend reads the
//! province's last sequence number and which of the upload's ids it already holds, asks [`plan_upload`], and
//! stores what the plan takes, so every backend accepts the same messages.

use std::collections::HashSet;

use coldtrace_domain::docking::Envelope;
use uuid::Uuid;

use crate::StoreError;

/// What an upload does: the messages to store, in order, and what the receipt says.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPlan {
    pub take: Vec<Envelope>,
    pub duplicates: u32,
    /// The sequence number the province sends next.
    pub next_seq: u64,
}

/// Each message id takes effect once, in the province's sequence after `last`: a known id or an old sequence
/// number is a duplicate, a gap before anything new is refused, a gap after something new ends the upload there
/// (the province resends from `next_seq`). With `assign_seq` (records from an adapted foreign system) each new
/// message takes the next sequence number.
pub fn plan_upload(
    mut last: u64,
    messages: Vec<Envelope>,
    assign_seq: bool,
    known: &HashSet<Uuid>,
) -> Result<UploadPlan, StoreError> {
    let mut taken: HashSet<Uuid> = HashSet::new();
    let mut take = Vec::new();
    let mut duplicates = 0u32;
    for m in messages {
        let m = if assign_seq {
            Envelope { seq: last + 1, ..m }
        } else {
            m
        };
        if known.contains(&m.id) || taken.contains(&m.id) || m.seq <= last {
            duplicates += 1;
            continue;
        }
        if m.seq != last + 1 {
            if take.is_empty() {
                return Err(StoreError::SequenceGap {
                    expected: last + 1,
                    got: m.seq,
                });
            }
            break;
        }
        taken.insert(m.id);
        last = m.seq;
        take.push(m);
    }
    Ok(UploadPlan {
        take,
        duplicates,
        next_seq: last + 1,
    })
}
