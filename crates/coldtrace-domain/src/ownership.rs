//! Ownership rules for every write (写入权限): who may record what against which stored record. Pure: a store
//! gathers the facts inside its transaction and asks these functions, so every backend and every write path
//! (the API, ledger import, the generator) applies the same rules.
//!
//! - An enterprise records only its own records; a movement, document or transformation input names a batch the
//!   enterprise owns, holds (it recorded a movement of it or a document on it) or was shipped (a shipment, sale
//!   or return of that batch names its USCC).
//! - A receipt from a registered sender is matched to that sender's shipment of the batch to this enterprise.
//! - A correction corrects only the writer's own record; a regulator corrects within its province.
//! - A trace code goes only on the writer's own batches; a code that identifies another batch stays there.
//! - References to unknown records and to records the writer may not use get the same answer, so that a write
//!   never reveals what exists.

use uuid::Uuid;

use crate::ProvinceCode;

/// Who writes a submission, as the rules see it (写入者).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// An enterprise writing its own records.
    Enterprise(Uuid),
    /// A provincial regulator (registers and corrects enterprises of its province).
    Regulator(ProvinceCode),
    /// The platform operator loading data in bulk (the generator, a migration): no tenant rule applies.
    Operator,
}

/// What a store knows of a stored record another record refers to or corrects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stake {
    /// The owning enterprise (a movement's holder; an enterprise record's own id).
    pub owner: Uuid,
    /// The province (two-digit code) of the owning enterprise, when registered.
    pub province: Option<String>,
}

/// What a store knows of a batch that a movement or document of `writer` names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReach {
    pub owner: Uuid,
    /// The writer holds or held the batch (it recorded a movement of it or a document on it).
    pub held: bool,
    /// A shipment, sale or return of the batch names the writer as its counterparty.
    pub shipped_to: bool,
}

/// Whether `w` may correct the stored record `target`.
pub fn may_correct(w: &Writer, target: &Stake) -> bool {
    match w {
        Writer::Enterprise(e) => target.owner == *e,
        Writer::Regulator(p) => target.province.as_deref() == Some(p.as_str()),
        Writer::Operator => true,
    }
}

/// Whether `w` may record a movement or document against a batch.
pub fn may_use_batch(w: &Writer, b: &BatchReach) -> bool {
    match w {
        Writer::Enterprise(e) => b.owner == *e || b.held || b.shipped_to,
        Writer::Regulator(_) => false,
        Writer::Operator => true,
    }
}

/// Whether a trace code that already identifies the batch `current` may be (re)attached to a batch of `w` that
/// corrects `corrects`: only when it stays with the same batch line, and the writer owns it.
pub fn may_take_code(
    w: &Writer,
    current: Uuid,
    current_owner: Uuid,
    corrects: Option<Uuid>,
) -> bool {
    corrects == Some(current)
        && match w {
            Writer::Enterprise(e) => current_owner == *e,
            Writer::Regulator(_) => false,
            Writer::Operator => true,
        }
}

/// Whether a receipt of `w` with a registered sender matches a shipment of the sender: `sender_shipped` is true
/// when the sender recorded a shipment, sale or return of this batch to the writer.
pub fn receipt_matches(w: &Writer, sender_registered: bool, sender_shipped: bool) -> bool {
    match w {
        Writer::Enterprise(_) => !sender_registered || sender_shipped,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn an_enterprise_corrects_only_its_own_records_and_a_regulator_only_its_province() {
        let e = Writer::Enterprise(id(1));
        let mine = Stake {
            owner: id(1),
            province: Some("12".into()),
        };
        let theirs = Stake {
            owner: id(2),
            province: Some("12".into()),
        };
        assert!(may_correct(&e, &mine));
        assert!(!may_correct(&e, &theirs));
        let r12 = Writer::Regulator(ProvinceCode::parse("12").unwrap());
        let r32 = Writer::Regulator(ProvinceCode::parse("32").unwrap());
        assert!(may_correct(&r12, &theirs));
        assert!(!may_correct(&r32, &theirs));
        assert!(!may_correct(
            &r12,
            &Stake {
                owner: id(3),
                province: None
            }
        ));
    }

    #[test]
    fn a_batch_is_used_by_its_owner_its_holders_and_whom_it_was_shipped_to() {
        let e = Writer::Enterprise(id(1));
        let b = |owner, held, shipped_to| BatchReach {
            owner: id(owner),
            held,
            shipped_to,
        };
        assert!(may_use_batch(&e, &b(1, false, false)));
        assert!(may_use_batch(&e, &b(2, true, false)));
        assert!(may_use_batch(&e, &b(2, false, true)));
        assert!(!may_use_batch(&e, &b(2, false, false)));
        let r = Writer::Regulator(ProvinceCode::parse("12").unwrap());
        assert!(!may_use_batch(&r, &b(1, true, true)));
        assert!(may_use_batch(&Writer::Operator, &b(2, false, false)));
    }

    #[test]
    fn a_code_moves_only_to_the_owners_correction_of_its_batch() {
        let e = Writer::Enterprise(id(1));
        assert!(may_take_code(&e, id(10), id(1), Some(id(10))));
        assert!(!may_take_code(&e, id(10), id(1), Some(id(11))));
        assert!(!may_take_code(&e, id(10), id(2), Some(id(10))));
        assert!(!may_take_code(&e, id(10), id(1), None));
    }

    #[test]
    fn a_receipt_from_a_registered_sender_needs_its_shipment() {
        let e = Writer::Enterprise(id(1));
        assert!(receipt_matches(&e, false, false));
        assert!(receipt_matches(&e, true, true));
        assert!(!receipt_matches(&e, true, false));
    }
}
