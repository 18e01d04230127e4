//! Incidents (涉疫事件): a positive test and everything done about it: the trace as it was when registered,
//! a disposal task (处置) for every holder with goods on hand, a draft notice (通报) for every affected province,
//! and an append-only history of what was done.

use uuid::Uuid;

use crate::time::EventTime;

/// What tested positive.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A sample of the goods (外包装或内容物).
    BatchSample,
    /// A person who handled goods.
    Person,
    /// An environment sample at a place (a cold store, a market stall).
    Environment,
}

impl IncidentKind {
    /// The wire name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::BatchSample => "batch_sample",
            IncidentKind::Person => "person",
            IncidentKind::Environment => "environment",
        }
    }
}

/// Disposal measure (处置措施).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DisposalAction {
    /// 封存
    Seal,
    /// 召回
    Recall,
    /// 销毁
    Destroy,
    /// 退运
    ReturnToOrigin,
}

impl DisposalAction {
    pub const ALL: [DisposalAction; 4] = [
        Self::Seal,
        Self::Recall,
        Self::Destroy,
        Self::ReturnToOrigin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seal => "seal",
            Self::Recall => "recall",
            Self::Destroy => "destroy",
            Self::ReturnToOrigin => "return_to_origin",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Seal => "封存",
            Self::Recall => "召回",
            Self::Destroy => "销毁",
            Self::ReturnToOrigin => "退运",
        }
    }
}

/// Status of a disposal task.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
}

/// A disposal task: one holder, one batch, the quantity it had on hand when the incident was registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DisposalTask {
    pub id: Uuid,
    /// The holder's party key (see [`crate::party`]).
    pub holder_key: Uuid,
    /// The registered enterprise, when the holder is one (who may update the task).
    pub enterprise: Option<Uuid>,
    pub holder_name: String,
    pub province: Option<String>,
    pub batch: Uuid,
    pub batch_no: String,
    pub product: String,
    /// Quantity on hand, in thousandths of the batch's unit.
    pub on_hand_milli: i64,
    pub unit: String,
    /// The measure ordered (seal first; the holder or regulator then records what was done).
    pub action: DisposalAction,
}

/// A draft notice to one affected province (通报): the facts the notice must carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NoticeDraft {
    pub id: Uuid,
    /// The province notified (GB/T 2260 two digits).
    pub to_province: String,
    pub lines: Vec<NoticeLine>,
}

/// One implicated holding in a notice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NoticeLine {
    pub food_name: String,
    pub batch_no: String,
    /// Quantity received (or produced) by the holder, in thousandths of the unit.
    pub quantity_milli: i64,
    pub unit: String,
    /// When goods reached the holder (RFC 3339): sold to it, imported by it, or produced by it.
    pub sale_dates: Vec<String>,
    /// What the date is.
    #[serde(default)]
    pub date_kind: LineDate,
    /// Who sold it to the holder: the supplier, the overseas exporter of an import, or the maker itself.
    pub seller: String,
    /// The seller's USCC, when it is a registered enterprise.
    #[serde(default)]
    pub seller_uscc: Option<String>,
    /// The seller's business contact (销售者联系方式), when it is a registered enterprise.
    #[serde(default)]
    pub seller_contact: Option<String>,
    pub holder: String,
    /// The holder's business contact.
    pub contact: Option<String>,
}

/// What the date of a notice line is (销售日期, 进口日期, 生产日期).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LineDate {
    /// The holder bought it.
    #[default]
    Sale,
    /// The holder imported it.
    Import,
    /// The holder made it.
    Production,
}

/// The incident as registered. Never changed afterwards; what follows is in [`IncidentEvent`]s.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    pub id: Uuid,
    /// The province whose platform registered it.
    pub province: String,
    pub kind: IncidentKind,
    /// What tested positive, in words: the code, the person's key, the place.
    pub subject: String,
    pub positive_at: EventTime,
    pub reported_by: String,
    pub note: Option<String>,
    /// The batches the positive test implicates directly (where the trace started).
    #[serde(default)]
    pub seeds: Vec<Uuid>,
    /// The national notice (通报) this incident answers, when it was opened from one rather than from a test
    /// in this province.
    #[serde(default)]
    pub notice: Option<Uuid>,
    /// The trace as it was when the incident was registered.
    pub trace: serde_json::Value,
    pub tasks: Vec<DisposalTask>,
    pub notices: Vec<NoticeDraft>,
}

/// Something done about an incident, appended to its history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IncidentEvent {
    /// A holder or regulator reports on a task: the measure taken and the quantity it accounts for.
    TaskUpdate {
        task: Uuid,
        status: TaskStatus,
        action: DisposalAction,
        /// Quantity accounted for by this update (sealed, recalled, destroyed, returned), in thousandths.
        quantity_milli: i64,
        note: Option<String>,
    },
    /// A notice was sent (or marked sent) to its province.
    NoticeSent { notice: Uuid },
    /// A cause found, a remark.
    Note { text: String },
    /// The incident is closed: every quantity accounted for, or the reason it is closed anyway.
    Closed { reason: Option<String> },
}

#[cfg(test)]
mod kind_name_tests {
    use super::IncidentKind;

    #[test]
    fn the_wire_name_is_the_serialized_name() {
        for k in [
            IncidentKind::BatchSample,
            IncidentKind::Person,
            IncidentKind::Environment,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
