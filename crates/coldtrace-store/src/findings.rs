//! Findings of the ledger checks as the store keeps them (核查问题): a finding with its status, the filter
//! that lists them, the data quality they add up to, and what a sweep did.

use uuid::Uuid;

/// Where a finding stands (问题状态).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// Still wrong, and not yet answered.
    Open,
    /// The enterprise answered it with the record that puts it right (a correction, the missing receipt, the
    /// papers); a regulator still has to resolve it (unless the records themselves settle it).
    Answered,
    /// Put right: by later records (a receipt arrived, a correction), or judged so by a regulator.
    Resolved,
    /// A regulator judged it not a problem, with a reason.
    Dismissed,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Answered => "answered",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Dismissed => "dismissed",
        }
    }
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "open" => Ok(FindingStatus::Open),
            "answered" => Ok(FindingStatus::Answered),
            "resolved" => Ok(FindingStatus::Resolved),
            "dismissed" => Ok(FindingStatus::Dismissed),
            o => Err(format!(
                "{o:?} is not a finding status (open, answered, resolved, dismissed)"
            )),
        }
    }
}

/// A broken ledger check, followed to closure (核查问题).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub id: Uuid,
    pub rule: coldtrace_domain::checks::Rule,
    /// The rule's code (`CT-STOCK`).
    pub code: String,
    pub status: FindingStatus,
    /// The enterprise whose ledger it is about (none for declared goods whose consignee is not registered), and
    /// its province.
    pub enterprise: Option<Uuid>,
    pub province: Option<String>,
    /// The customs declaration (报关单号) a finding of the customs cross-check is about.
    pub declaration: Option<String>,
    pub batch: Option<Uuid>,
    /// The movement that broke the rule last.
    pub movement: Option<Uuid>,
    pub message: String,
    pub opened_at_ms: i64,
    /// The enterprise's answer, once it gave one.
    pub answer: Option<FindingAnswer>,
    pub closed_at_ms: Option<i64>,
    /// Who closed it: `platform` for a finding later records put right, else the regulator.
    pub closed_by: Option<String>,
    pub reason: Option<String>,
}

/// An enterprise's answer to a finding (整改说明): what it did, and the record that shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FindingAnswer {
    /// The enterprise's own words (at most 500 characters).
    pub note: String,
    /// The id of the enterprise's record that puts it right: a movement (a correction, the missing receipt)
    /// or a document (the missing papers).
    pub record: Uuid,
    /// Who answered (`key:…`, or the account's `person:…`).
    pub by: String,
    pub at_ms: i64,
}

/// Data quality of one city's enterprises of one kind (数据质量): lots (a batch at a holder) and those with an
/// open finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Quality {
    /// GB/T 2260 city code (the region's first four digits, then `00`).
    pub city: String,
    pub kind: String,
    pub lots: u64,
    /// Lots with at least one open finding.
    pub flagged: u64,
}

/// Data quality of one city's enterprises of one kind on one day (数据质量趋势), as the sweep recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct QualityDay {
    /// The day (UTC+8), `2026-12-06`.
    pub day: String,
    pub city: String,
    pub kind: String,
    pub lots: u64,
    pub flagged: u64,
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub opened: u64,
    pub resolved: u64,
}

/// Which findings to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    pub rule: Option<coldtrace_domain::checks::Rule>,
    pub status: Option<FindingStatus>,
    pub enterprise: Option<Uuid>,
    pub batch: Option<Uuid>,
    /// The enterprise's city: the first four digits of its region code.
    pub city: Option<String>,
    /// The enterprise's kind (`importer`, `processor`, …).
    pub kind: Option<String>,
    /// Only findings about declarations the customs feeding this province sent (what customs may read).
    pub customs_of: Option<String>,
}

/// How a finding is closed by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Judged put right (from open or answered).
    Resolve,
    /// Judged not a problem.
    Dismiss,
}
