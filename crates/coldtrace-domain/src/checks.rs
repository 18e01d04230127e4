//! Ledger checks (台账核查): named rules that every write path runs (the API, ledger import, the generator;
//! every backend's writer calls them inside its transaction), each with a policy per province: *reject* (the
//! submission is refused, 422 naming the field and the rule, nothing stored), *flag* (stored, and a finding is
//! opened for the regulator) or *off*. Pure: a store gathers the facts and asks these functions.
//!
//! Records arriving out of order are normal (a shipment recorded before the receipt it draws on): a finding that
//! later records put right is resolved by the platform itself.

use std::collections::BTreeMap;

/// A named check.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 库存守恒: a lot never ships, sells, uses or destroys more than it received or made.
    StockConservation,
    /// 时间顺序: a receipt is not recorded before the shipment it matches, nor goods sent on before they arrived
    /// (beyond [`CLOCK_SKEW_MS`]).
    TimeOrder,
    /// 未来时间: a movement is not dated in the future (beyond [`FUTURE_MARGIN_MS`]).
    FutureTime,
    /// 四不得: imported goods without their inspection-and-quarantine certificate, nucleic-acid report,
    /// disinfection certificate or trace code may not be sold, processed or moved on.
    FourNots,
    /// 数量与批次不符: one movement of more than the whole batch as declared.
    BatchQuantity,
    /// 在途未达: goods shipped to a registered enterprise that recorded no receipt within [`TRANSIT_WINDOW_MS`]
    /// (still in transit, or vanished). Found by the periodic sweep, not by a write.
    InTransit,
    /// 交易对象未登记: a counterparty named by a USCC of the holder's own province that is not registered on its
    /// platform (every cold-chain business of the province should be).
    UnregisteredCounterparty,
    /// 核酸检测报告过期: imported goods moved on when their latest nucleic-acid report is older than
    /// [`Windows::nucleic_acid_days`]; a newer report answers it.
    StaleNucleicAcid,
    /// 库存长期未动: a holder with stock of a lot that has not moved for [`Windows::dormant_days`] (goods kept out
    /// of the ledger, or sold without records). Sealed stock is not dormant. Found by the periodic sweep.
    DormantStock,
    /// 报关单或证明不存在: a batch names a declaration the customs data lacks (where the feed covers its office
    /// and day), or an inspection certificate customs never issued or issued to another consignee.
    CustomsUnknown,
    /// 与报关数据不符: a batch differs from its declaration: quantity or net weight beyond
    /// [`Windows::customs_tolerance_percent`], a container or seal not declared, another product, origin or
    /// establishment.
    CustomsMismatch,
    /// 申报货物未入账: goods customs declared that no importer recorded within [`Windows::customs_days`] (goods
    /// that entered and vanished).
    CustomsUnrecorded,
    /// 从业人员核酸检测逾期: a staff member who handles imported cold-chain goods whose latest negative test is
    /// older than [`Windows::staff_test_days`]. Found by the sweep.
    StaffTestOverdue,
    /// 冷链温度超标: a lot held above its category's limit ([`Windows::max_c`]) for longer than
    /// [`Windows::excursion_minutes`], by the readings of a cold store, a reefer or an EPCIS sensor report.
    TemperatureExcursion,
}

/// How long goods may be in transit before a missing receipt is a finding.
pub const TRANSIT_WINDOW_MS: i64 = 72 * 3_600_000;

/// Every rule, in the order they are documented.
pub const RULES: [Rule; 14] = [
    Rule::StockConservation,
    Rule::TimeOrder,
    Rule::FutureTime,
    Rule::FourNots,
    Rule::BatchQuantity,
    Rule::InTransit,
    Rule::UnregisteredCounterparty,
    Rule::StaleNucleicAcid,
    Rule::DormantStock,
    Rule::CustomsUnknown,
    Rule::CustomsMismatch,
    Rule::CustomsUnrecorded,
    Rule::StaffTestOverdue,
    Rule::TemperatureExcursion,
];

/// The rules of the customs cross-check ([`crate::customs`]), which customs itself may read findings of.
pub const CUSTOMS_RULES: [Rule; 3] = [
    Rule::CustomsUnknown,
    Rule::CustomsMismatch,
    Rule::CustomsUnrecorded,
];

/// The time limits of the rules that have one, per province (`[checks]` in `coldtrace.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Windows {
    /// Hours goods may be in transit before a missing receipt is a finding (in_transit).
    pub transit_hours: u32,
    /// Days a lot with stock may stay still before it is a finding (dormant_stock).
    pub dormant_days: u32,
    /// Days a nucleic-acid report speaks for imported goods moved on (stale_nucleic_acid).
    pub nucleic_acid_days: u32,
    /// Days after a declaration before goods no importer recorded (or recorded short) are a finding
    /// (customs_unrecorded, customs_mismatch).
    #[serde(default = "default_customs_days")]
    pub customs_days: u32,
    /// How far, in percent of the declared figure, recorded quantities and net weights may differ from a
    /// declaration line (customs_mismatch).
    #[serde(default = "default_customs_tolerance")]
    pub customs_tolerance_percent: u32,
    /// Days between nucleic-acid tests of staff handling imported cold-chain goods (staff_test_overdue).
    #[serde(default = "default_staff_test_days")]
    pub staff_test_days: u32,
    /// The highest temperature (°C) goods of each category may be held at (temperature_excursion): frozen
    /// meat and aquatic products −15 °C by default, other goods too unless the province sets another.
    #[serde(default = "default_max_c")]
    pub meat_max_c: i32,
    #[serde(default = "default_max_c")]
    pub aquatic_max_c: i32,
    #[serde(default = "default_max_c")]
    pub other_max_c: i32,
    /// Minutes above the limit before it is an excursion.
    #[serde(default = "default_excursion_minutes")]
    pub excursion_minutes: u32,
}

fn default_max_c() -> i32 {
    -15
}

fn default_excursion_minutes() -> u32 {
    30
}

fn default_staff_test_days() -> u32 {
    7
}

fn default_customs_days() -> u32 {
    7
}
fn default_customs_tolerance() -> u32 {
    3
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            transit_hours: (TRANSIT_WINDOW_MS / 3_600_000) as u32,
            dormant_days: 90,
            nucleic_acid_days: 30,
            customs_days: default_customs_days(),
            customs_tolerance_percent: default_customs_tolerance(),
            staff_test_days: default_staff_test_days(),
            meat_max_c: default_max_c(),
            aquatic_max_c: default_max_c(),
            other_max_c: default_max_c(),
            excursion_minutes: default_excursion_minutes(),
        }
    }
}

impl Windows {
    /// The temperature limit of a product category.
    pub fn max_c(&self, category: crate::product::ProductCategory) -> i32 {
        use crate::product::ProductCategory as C;
        match category {
            C::LivestockPoultryMeat => self.meat_max_c,
            C::Aquatic => self.aquatic_max_c,
            C::Other => self.other_max_c,
        }
    }
    pub fn transit_ms(&self) -> i64 {
        i64::from(self.transit_hours) * 3_600_000
    }
    pub fn dormant_ms(&self) -> i64 {
        i64::from(self.dormant_days) * 86_400_000
    }
    pub fn nucleic_acid_ms(&self) -> i64 {
        i64::from(self.nucleic_acid_days) * 86_400_000
    }

    /// Sets a window by its name in `[checks]`; `Ok(false)` when the name is not a window's.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let limit = match name {
            "meat_max_c" => Some(&mut self.meat_max_c),
            "aquatic_max_c" => Some(&mut self.aquatic_max_c),
            "other_max_c" => Some(&mut self.other_max_c),
            _ => None,
        };
        if let Some(slot) = limit {
            return match value.trim().parse::<i32>() {
                Ok(v) if (-60..=25).contains(&v) => {
                    *slot = v;
                    Ok(true)
                }
                _ => Err(format!(
                    "{name}: {value:?} is not a whole number of °C from -60 to 25"
                )),
            };
        }
        let (slot, max) = match name {
            "excursion_minutes" => (&mut self.excursion_minutes, 24 * 60),
            "transit_hours" => (&mut self.transit_hours, 24 * 365),
            "dormant_days" => (&mut self.dormant_days, 3650),
            "nucleic_acid_days" => (&mut self.nucleic_acid_days, 3650),
            "customs_days" => (&mut self.customs_days, 3650),
            "customs_tolerance_percent" => (&mut self.customs_tolerance_percent, 100),
            "staff_test_days" => (&mut self.staff_test_days, 365),
            _ => return Ok(false),
        };
        let min = u32::from(name != "customs_tolerance_percent");
        match value.trim().parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) => {
                *slot = v;
                Ok(true)
            }
            _ => Err(format!(
                "{name}: {value:?} is not a whole number from {min} to {max}"
            )),
        }
    }
}

/// How far a ledger's clock may be off before time order is a finding.
pub const CLOCK_SKEW_MS: i64 = 12 * 3_600_000;
/// How far in the future a movement may be dated (clocks a little ahead) before it is refused.
pub const FUTURE_MARGIN_MS: i64 = 10 * 60_000;

impl Rule {
    /// The stable code of the rule, in findings and error messages.
    pub fn code(self) -> &'static str {
        match self {
            Rule::StockConservation => "CT-STOCK",
            Rule::TimeOrder => "CT-TIME",
            Rule::FutureTime => "CT-FUTURE",
            Rule::FourNots => "CT-4NOT",
            Rule::BatchQuantity => "CT-QTY",
            Rule::InTransit => "CT-TRANSIT",
            Rule::UnregisteredCounterparty => "CT-PARTY",
            Rule::StaleNucleicAcid => "CT-NAT",
            Rule::DormantStock => "CT-DORMANT",
            Rule::CustomsUnknown => "CT-CUS-UNKNOWN",
            Rule::CustomsMismatch => "CT-CUS-DIFF",
            Rule::CustomsUnrecorded => "CT-CUS-VANISH",
            Rule::StaffTestOverdue => "CT-STAFF",
            Rule::TemperatureExcursion => "CT-TEMP",
        }
    }

    /// The rule's name with the Chinese term.
    pub fn title(self) -> &'static str {
        match self {
            Rule::StockConservation => "库存守恒 stock conservation",
            Rule::TimeOrder => "时间顺序 time order",
            Rule::FutureTime => "未来时间 a time in the future or before 2000",
            Rule::FourNots => "四不得 imported goods moved on without their papers",
            Rule::BatchQuantity => "数量与批次不符 more than the whole batch",
            Rule::InTransit => "在途未达 shipped, never received",
            Rule::UnregisteredCounterparty => "交易对象未登记 an unregistered counterparty",
            Rule::StaleNucleicAcid => "核酸检测报告过期 a stale nucleic-acid report",
            Rule::DormantStock => "库存长期未动 stock that has not moved",
            Rule::CustomsUnknown => {
                "报关单或证明不存在 a declaration or certificate customs does not know"
            }
            Rule::CustomsMismatch => "与报关数据不符 differs from the customs declaration",
            Rule::CustomsUnrecorded => "申报货物未入账 declared goods no importer recorded",
            Rule::StaffTestOverdue => "从业人员核酸检测逾期 a staff member's test overdue",
            Rule::TemperatureExcursion => "冷链温度超标 a temperature excursion",
        }
    }

    /// The policy a province gets unless it chooses another.
    pub fn default_policy(self) -> Policy {
        match self {
            // Out-of-order arrival is normal (papers are often recorded after the goods moved): these are
            // findings to follow, not refusals.
            Rule::StockConservation
            | Rule::TimeOrder
            | Rule::FourNots
            | Rule::BatchQuantity
            | Rule::InTransit
            | Rule::UnregisteredCounterparty
            | Rule::StaleNucleicAcid
            | Rule::DormantStock
            | Rule::CustomsUnknown
            | Rule::CustomsMismatch
            | Rule::CustomsUnrecorded
            | Rule::StaffTestOverdue
            | Rule::TemperatureExcursion => Policy::Flag,
            // A date in the future is a typing error the enterprise can fix at once.
            Rule::FutureTime => Policy::Reject,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::StockConservation => "stock_conservation",
            Rule::TimeOrder => "time_order",
            Rule::FutureTime => "future_time",
            Rule::FourNots => "four_nots",
            Rule::BatchQuantity => "batch_quantity",
            Rule::InTransit => "in_transit",
            Rule::UnregisteredCounterparty => "unregistered_counterparty",
            Rule::StaleNucleicAcid => "stale_nucleic_acid",
            Rule::DormantStock => "dormant_stock",
            Rule::CustomsUnknown => "customs_unknown",
            Rule::CustomsMismatch => "customs_mismatch",
            Rule::CustomsUnrecorded => "customs_unrecorded",
            Rule::StaffTestOverdue => "staff_test_overdue",
            Rule::TemperatureExcursion => "temperature_excursion",
        }
    }

    pub fn parse(s: &str) -> Result<Rule, String> {
        RULES
            .into_iter()
            .find(|r| r.as_str() == s || r.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a check (one of stock_conservation, time_order, future_time, four_nots, \
                     batch_quantity, in_transit, unregistered_counterparty, stale_nucleic_acid, dormant_stock, \
                     customs_unknown, customs_mismatch, customs_unrecorded, staff_test_overdue, temperature_excursion)"
                )
            })
    }
}

/// What a province does when a rule is broken.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Refuse the submission (422 naming the field and the rule); nothing is stored.
    Reject,
    /// Store it and open a finding.
    Flag,
    /// Do not check.
    Off,
}

/// A province's policy for every rule (the defaults where it chose none), and the rules' time limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckPolicy {
    pub rules: BTreeMap<Rule, Policy>,
    pub windows: Windows,
}

impl CheckPolicy {
    pub fn of(&self, rule: Rule) -> Policy {
        self.rules
            .get(&rule)
            .copied()
            .unwrap_or_else(|| rule.default_policy())
    }

    /// Sets one rule's policy.
    pub fn with(mut self, rule: Rule, p: Policy) -> Self {
        self.rules.insert(rule, p);
        self
    }
}

/// A broken rule, as a writer found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    /// The field of the submission that broke it (`movements[3].quantity`).
    pub field: String,
    /// What is wrong, with the figures.
    pub message: String,
    /// What the finding is about, so that one open finding stands for one problem (`stock:<batch>:<holder>`).
    pub subject: String,
}

impl Violation {
    /// The message of a refusal: the rule's code and name, then what is wrong.
    pub fn refusal(&self) -> String {
        format!(
            "{} {}: {}",
            self.rule.code(),
            self.rule.title(),
            self.message
        )
    }
}

/// A lot's stock in thousandths of the unit, for [`stock`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LotStock {
    pub received: i64,
    pub produced: i64,
    /// What senders recorded shipping to the holder (counts only when the holder recorded no receipt).
    pub reported_inbound: i64,
    pub shipped: i64,
    pub sold: i64,
    pub consumed: i64,
    pub destroyed: i64,
    pub returned: i64,
}

impl LotStock {
    pub fn inflow(&self) -> i64 {
        if self.received + self.produced > 0 {
            self.received + self.produced
        } else {
            self.reported_inbound
        }
    }
    pub fn outflow(&self) -> i64 {
        self.shipped + self.sold + self.consumed + self.destroyed + self.returned
    }
    /// Inflow minus outflow, negative when more left than came.
    pub fn balance(&self) -> i64 {
        self.inflow() - self.outflow()
    }
}

/// Stock conservation for a lot: `Some(message)` when more left it than came in.
pub fn stock(s: &LotStock) -> Option<String> {
    (s.balance() < 0).then(|| {
        format!(
            "more left the lot ({}) than came in ({}): {} short",
            milli(s.outflow()),
            milli(s.inflow()),
            milli(-s.balance())
        )
    })
}

/// Time order of a receipt against the shipment it matches: `Some(message)` when it is recorded before it.
pub fn receipt_before_shipment(receipt_at_ms: i64, shipped_at_ms: i64) -> Option<String> {
    (receipt_at_ms + CLOCK_SKEW_MS < shipped_at_ms).then(|| {
        format!(
            "received at {} but shipped by the sender at {}",
            when(receipt_at_ms),
            when(shipped_at_ms)
        )
    })
}

/// Time order of goods sent on from a lot against the lot's first arrival: `Some(message)` when they left
/// before any arrived.
pub fn sent_before_arrival(sent_at_ms: i64, first_in_at_ms: i64) -> Option<String> {
    (sent_at_ms + CLOCK_SKEW_MS < first_in_at_ms).then(|| {
        format!(
            "sent on at {} but first received or made at {}",
            when(sent_at_ms),
            when(first_in_at_ms)
        )
    })
}

/// What an imported batch lacks of the four papers (四不得), in the notice's words; empty when it has them.
pub fn four_nots_missing(kinds: &[crate::DocumentKind], has_code: bool) -> Vec<&'static str> {
    use crate::DocumentKind as K;
    let mut out = Vec::new();
    for (k, name) in [
        (
            K::InspectionQuarantine,
            "检验检疫证明 inspection-and-quarantine certificate",
        ),
        (K::NucleicAcid, "核酸检测报告 nucleic-acid report"),
        (K::Disinfection, "消毒证明 disinfection certificate"),
    ] {
        if !kinds.contains(&k) {
            out.push(name);
        }
    }
    if !has_code {
        out.push("追溯码 trace code");
    }
    out
}

/// A nucleic-acid report too old to speak for goods moved on at `moved_at_ms`: `Some(message)` when the latest
/// report (issued on `latest_ms`, 00:00 that day) is more than `max_age_ms` older.
pub fn stale_nucleic_acid(latest_ms: i64, moved_at_ms: i64, max_age_ms: i64) -> Option<String> {
    (moved_at_ms - latest_ms > max_age_ms + 86_400_000).then(|| {
        format!(
            "moved on at {} with its latest nucleic-acid report of {} ({} days old; at most {})",
            when(moved_at_ms),
            &when(latest_ms)[..10],
            (moved_at_ms - latest_ms) / 86_400_000,
            max_age_ms / 86_400_000
        )
    })
}

/// A time in the future: `Some(message)` beyond [`FUTURE_MARGIN_MS`]; or implausibly old (before
/// [`EARLIEST_MS`], 2000-01-01: a year typed wrong).
pub fn future(at_ms: i64, now_ms: i64) -> Option<String> {
    if at_ms > now_ms + FUTURE_MARGIN_MS {
        Some(format!("dated {}, in the future", when(at_ms)))
    } else if at_ms < EARLIEST_MS {
        Some(format!("dated {}, before 2000", when(at_ms)))
    } else {
        None
    }
}

/// The earliest plausible time of a movement: 2000-01-01T00:00+08:00.
pub const EARLIEST_MS: i64 = 946_656_000_000;

/// One movement of more than the batch as declared: `Some(message)`.
pub fn batch_quantity(moved_milli: i64, batch_milli: i64) -> Option<String> {
    (batch_milli > 0 && moved_milli > batch_milli).then(|| {
        format!(
            "{} moved at once, of a batch declared as {}",
            milli(moved_milli),
            milli(batch_milli)
        )
    })
}

fn milli(q: i64) -> String {
    crate::Quantity::from_milli(q).to_string()
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lot_that_sends_more_than_it_received_breaks_stock_conservation() {
        let s = LotStock {
            received: 400_000,
            shipped: 500_000,
            sold: 250_000,
            ..Default::default()
        };
        assert_eq!(s.balance(), -350_000);
        let m = stock(&s).unwrap();
        assert!(m.contains("350"), "{m}");
        // Without its own receipt, what senders reported shipping counts.
        let s = LotStock {
            reported_inbound: 100_000,
            sold: 100_000,
            ..Default::default()
        };
        assert_eq!(stock(&s), None);
    }

    #[test]
    fn time_order_allows_for_the_clock_skew() {
        let h = 3_600_000;
        assert!(receipt_before_shipment(10 * h, 20 * h).is_none());
        assert!(receipt_before_shipment(5 * h, 20 * h).is_some());
        assert!(sent_before_arrival(0, 13 * h).is_some());
        assert!(sent_before_arrival(2 * h, 13 * h).is_none());
    }

    #[test]
    fn a_report_older_than_the_window_is_stale_and_the_windows_are_set_by_name() {
        let day = 86_400_000;
        let w = Windows::default();
        // Issued on day 0 (00:00): valid through the whole of day 30.
        assert!(stale_nucleic_acid(0, 30 * day + 20 * 3_600_000, w.nucleic_acid_ms()).is_none());
        let m = stale_nucleic_acid(0, 32 * day, w.nucleic_acid_ms()).unwrap();
        assert!(m.contains("32 days old"), "{m}");
        let mut w = Windows::default();
        assert_eq!(w.set("dormant_days", "30"), Ok(true));
        assert_eq!(w.dormant_ms(), 30 * day);
        assert_eq!(w.set("stock_conservation", "reject"), Ok(false));
        assert!(w.set("transit_hours", "0").is_err());
        assert!(w.set("transit_hours", "soon").is_err());
    }

    #[test]
    fn policies_default_per_rule_and_parse_by_name_or_code() {
        let p = CheckPolicy::default();
        assert_eq!(p.of(Rule::StockConservation), Policy::Flag);
        assert_eq!(p.of(Rule::FutureTime), Policy::Reject);
        let p = p.with(Rule::StockConservation, Policy::Reject);
        assert_eq!(p.of(Rule::StockConservation), Policy::Reject);
        assert_eq!(Rule::parse("CT-TIME"), Ok(Rule::TimeOrder));
        assert_eq!(Rule::parse("time_order"), Ok(Rule::TimeOrder));
        assert!(Rule::parse("nope").is_err());
    }
}
