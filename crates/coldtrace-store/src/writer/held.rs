//! What a backend holds back inside a submission's transaction and writes once (暂存后写), the same for every
//! backend: a lot's stock changes summed per lot, and the findings flagged, once per subject. A bulk ledger
//! sells one lot many times and breaks the same rule with each sale; written as they come, that is one upsert
//! and one finding update per movement, where one of each per submission says the same.
//!
//! The backend writes what it holds before any read of the open findings, adds a lot's held changes to its stored
//! stock when asked for it, and writes everything at [`super::Ledger::flush`].

use std::collections::HashMap;

use coldtrace_domain::checks::Violation;
use uuid::Uuid;

use super::{KeptStock, StockColumn};

/// The stock columns in the order [`StockDelta::cols`] keeps them.
pub const STOCK_COLUMNS: [StockColumn; 8] = [
    StockColumn::Received,
    StockColumn::Produced,
    StockColumn::ReportedInbound,
    StockColumn::Shipped,
    StockColumn::Sold,
    StockColumn::Consumed,
    StockColumn::Destroyed,
    StockColumn::Returned,
];

/// A lot's stock changes held back: what to add to each column ([`STOCK_COLUMNS`] order), and the earliest
/// arrival and departure and the latest movement among them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StockDelta {
    pub cols: [i64; 8],
    pub first_in: Option<i64>,
    pub first_out: Option<i64>,
    pub last_at: Option<i64>,
}

impl StockDelta {
    /// Adds one movement's change.
    pub fn add(
        &mut self,
        col: StockColumn,
        quantity: i64,
        at: i64,
        first_in: Option<i64>,
        first_out: Option<i64>,
    ) {
        let i = STOCK_COLUMNS
            .iter()
            .position(|c| *c == col)
            .expect("every column is listed");
        self.cols[i] += quantity;
        self.first_in = earliest(self.first_in, first_in);
        self.first_out = earliest(self.first_out, first_out);
        self.last_at = Some(self.last_at.map_or(at, |l| l.max(at)));
    }

    /// A lot's stored stock with these changes added.
    pub fn onto(&self, stored: KeptStock) -> KeptStock {
        let (mut s, first_in, first_out) = stored;
        for (col, q) in STOCK_COLUMNS.iter().zip(self.cols) {
            let field = match col {
                StockColumn::Received => &mut s.received,
                StockColumn::Produced => &mut s.produced,
                StockColumn::ReportedInbound => &mut s.reported_inbound,
                StockColumn::Shipped => &mut s.shipped,
                StockColumn::Sold => &mut s.sold,
                StockColumn::Consumed => &mut s.consumed,
                StockColumn::Destroyed => &mut s.destroyed,
                StockColumn::Returned => &mut s.returned,
            };
            *field += q;
        }
        (
            s,
            earliest(first_in, self.first_in),
            earliest(first_out, self.first_out),
        )
    }
}

/// The earlier of two optional times.
pub fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// A finding to open, or to update when one is open about its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub rule: &'static str,
    pub message: String,
    pub enterprise: Uuid,
    pub province: Option<String>,
    pub batch: Option<Uuid>,
    pub movement: Option<Uuid>,
    pub now: i64,
}

/// The findings flagged in a submission, by subject, in the order first flagged. The same subject again keeps
/// the first flag's enterprise, batch and time (as the finding was opened) and takes the latest message and
/// movement: what an update per flag would have left.
#[derive(Debug, Default)]
pub struct HeldFlags {
    order: Vec<String>,
    by_subject: HashMap<String, Flag>,
}

impl HeldFlags {
    /// Holds a broken rule.
    pub fn hold(
        &mut self,
        v: &Violation,
        enterprise: Uuid,
        province: Option<&str>,
        batch: Option<Uuid>,
        movement: Option<Uuid>,
        now: i64,
    ) {
        match self.by_subject.get_mut(&v.subject) {
            Some(held) => {
                held.message.clone_from(&v.message);
                held.movement = movement.or(held.movement);
            }
            None => {
                self.order.push(v.subject.clone());
                self.by_subject.insert(
                    v.subject.clone(),
                    Flag {
                        rule: v.rule.as_str(),
                        message: v.message.clone(),
                        enterprise,
                        province: province.map(str::to_string),
                        batch,
                        movement,
                        now,
                    },
                );
            }
        }
    }

    /// Whether a flag about this subject is held.
    pub fn holds(&self, subject: &str) -> bool {
        self.by_subject.contains_key(subject)
    }

    /// Everything held, in the order first flagged, leaving nothing held.
    pub fn take(&mut self) -> Vec<(String, Flag)> {
        let mut by_subject = std::mem::take(&mut self.by_subject);
        std::mem::take(&mut self.order)
            .into_iter()
            .filter_map(|s| by_subject.remove(&s).map(|f| (s, f)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coldtrace_domain::checks::LotStock;
    use coldtrace_domain::checks::Rule;

    fn violation(subject: &str, message: &str) -> Violation {
        Violation {
            rule: Rule::FourNots,
            field: "movements[0]".into(),
            message: message.into(),
            subject: subject.into(),
        }
    }

    #[test]
    fn a_subject_flagged_again_keeps_its_first_opening_and_takes_the_latest_message_and_movement() {
        let mut h = HeldFlags::default();
        let (e1, e2, m1, m2) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        h.hold(
            &violation("lot:a", "first"),
            e1,
            Some("31"),
            None,
            Some(m1),
            10,
        );
        h.hold(&violation("lot:b", "other"), e2, None, None, None, 11);
        h.hold(
            &violation("lot:a", "second"),
            e2,
            Some("44"),
            None,
            None,
            12,
        );
        h.hold(&violation("lot:a", "third"), e2, None, None, Some(m2), 13);
        assert!(h.holds("lot:a") && h.holds("lot:b") && !h.holds("lot:c"));
        let out = h.take();
        assert_eq!(
            out.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
            ["lot:a", "lot:b"]
        );
        let a = &out[0].1;
        assert_eq!(
            (
                a.message.as_str(),
                a.movement,
                a.enterprise,
                a.province.as_deref(),
                a.now
            ),
            ("third", Some(m2), e1, Some("31"), 10)
        );
        // A flag without a movement leaves the held movement.
        assert_eq!(out[1].1.movement, None);
        assert!(h.take().is_empty() && !h.holds("lot:a"));
    }

    #[test]
    fn stock_changes_summed_give_what_adding_them_one_by_one_gives() {
        let mut d = StockDelta::default();
        d.add(StockColumn::Received, 5_000, 100, Some(100), None);
        d.add(StockColumn::Sold, 1_000, 300, None, Some(300));
        d.add(StockColumn::Sold, 2_000, 200, None, Some(200));
        d.add(StockColumn::Returned, 500, 250, None, Some(250));
        assert_eq!(d.cols, [5_000, 0, 0, 0, 3_000, 0, 0, 500]);
        assert_eq!(
            (d.first_in, d.first_out, d.last_at),
            (Some(100), Some(200), Some(300))
        );
        let stored = (
            LotStock {
                received: 1_000,
                sold: 400,
                ..Default::default()
            },
            Some(50),
            Some(400),
        );
        let (s, first_in, first_out) = d.onto(stored);
        assert_eq!((s.received, s.sold, s.returned), (6_000, 3_400, 500));
        assert_eq!((first_in, first_out), (Some(50), Some(200)));
    }
}
