//! The EPCIS event repository (EPCIS 事件库): capture jobs and the events they stored, indexed for the standard
//! queries. Events are kept as sent (JSON); the index holds what the queries filter on.

use uuid::Uuid;

/// How a capture treats a wrong event (`GS1-Capture-Error-Behaviour`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBehaviour {
    /// Any wrong event fails the whole capture; nothing is stored.
    Rollback,
    /// The right events are stored, the wrong ones reported.
    Proceed,
}

impl ErrorBehaviour {
    /// The name a store keeps it under.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorBehaviour::Rollback => "rollback",
            ErrorBehaviour::Proceed => "proceed",
        }
    }

    /// Read back from [`ErrorBehaviour::as_str`]; anything else is the safe default, rollback.
    pub fn from_stored(s: &str) -> Self {
        if s == "proceed" {
            ErrorBehaviour::Proceed
        } else {
            ErrorBehaviour::Rollback
        }
    }
}

/// One thing wrong in a capture, by event index and JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct JobError {
    pub event: Option<usize>,
    pub pointer: String,
    pub reason: String,
}

/// A capture job and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureJob {
    pub id: Uuid,
    pub enterprise: Uuid,
    pub behaviour: ErrorBehaviour,
    pub created_ms: i64,
    /// None while it runs.
    pub finished_ms: Option<i64>,
    pub success: bool,
    /// Events stored, and events recognised as already stored (by event hash or eventID).
    pub captured: u64,
    pub duplicates: u64,
    pub errors: Vec<JobError>,
    /// Events stored in the repository that the trace does not take (goods the platform does not know), and why.
    pub notes: Vec<JobError>,
}

/// An event ready to store, with what the queries filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub hash: String,
    pub event_id: Option<String>,
    pub kind: String,
    pub event_time_ms: i64,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    /// (role, identifier key): `epc`, `parent`, `child`, `input`, `output`, `class`.
    pub ids: Vec<(String, String)>,
    /// The event as sent, JSON.
    pub body: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the repository (the page token).
    pub seq: i64,
    pub enterprise: Uuid,
    pub record_time_ms: i64,
    pub body: String,
}

/// An identifier to match: exactly, or every key under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMatch {
    pub key: String,
    pub prefix: bool,
}

/// What `GET /epcis/events` asks for, in storage terms. Empty lists do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub kinds: Vec<String>,
    pub ge_event_time: Option<i64>,
    pub lt_event_time: Option<i64>,
    pub ge_record_time: Option<i64>,
    pub lt_record_time: Option<i64>,
    pub actions: Vec<String>,
    pub biz_steps: Vec<String>,
    pub dispositions: Vec<String>,
    pub biz_locations: Vec<String>,
    pub read_points: Vec<String>,
    /// Each entry: the roles it looks in and the identifiers, any of which matches.
    pub ids: Vec<(Vec<String>, Vec<KeyMatch>)>,
    pub after: Option<i64>,
    pub descending: bool,
    pub limit: usize,
}
