//! The census of cold-chain enterprises and what the bureau's statistics read per enterprise (底数与统计).

use uuid::Uuid;

/// What the statistics need of one registered enterprise (its current version).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct EnterpriseActivity {
    pub enterprise: Uuid,
    pub uscc: String,
    pub name: String,
    pub kind: String,
    /// GB/T 2260 six digits.
    pub region: String,
    pub self_commitment: bool,
    /// `YYYY-MM-DD`, when recorded.
    pub self_commitment_on: Option<String>,
    /// When it last reported a movement (milliseconds), if ever.
    pub last_reported_ms: Option<i64>,
    /// Lots (a batch at this holder) it has held, and those with goods on hand now.
    pub lots: u64,
    pub lots_on_hand: u64,
    /// Open findings about its ledger, and its lots with one.
    pub findings_open: u64,
    pub flagged_lots: u64,
}

/// A business of the province named by USCC as a counterparty that is not registered (holds goods, unknown to
/// the platform).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UnregisteredParty {
    pub uscc: String,
    /// The name the ledgers gave it (the latest).
    pub name: String,
    /// Movements that name it, and the last of them (milliseconds).
    pub movements: u64,
    pub last_at_ms: i64,
}

/// Coverage of one city and enterprise kind on one day, as the sweep recorded it (覆盖率趋势).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CoverageDay {
    /// `2026-12-06` (UTC+8).
    pub day: String,
    pub city: String,
    pub kind: String,
    /// Census entries, and those registered.
    pub census: u64,
    pub registered: u64,
}
