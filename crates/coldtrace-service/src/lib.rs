//! # coldtrace-service
//!
//! Services between the store and the HTTP API.
//!
//! ## Layout
//! - [`platform`]: one running platform ([`Platform::start`] builds it the same way everywhere) and its use
//!   cases, one method each: submit records, import a ledger, trace, register an incident, publish.
//! - [`credentials`]: API keys and provinces' docking clients.
//! - [`error`]: [`ServiceError`], the one error of the use cases.
//! - [`tracer`]: the trace index kept current beside the store, with directories of parties and batches, and
//!   the full answer of a trace (holders, quantities, contacts masked by role, paths, earliest time).
//! - [`export`]: a trace as a sortable spreadsheet (CSV, XLSX), one row per movement.
//! - [`incidents`]: positive tests, disposal tasks, notices, closure.
//! - [`national`]: the national command platform: accepting provinces' uploads, the registry, notices.
//! - [`docking`]: the provincial side of docking: outbox delivery, notice pulling, acknowledgements.
//!
//! **Invariant:** the index only grows from committed rows, read in `seq` order after the last one applied
//! ([`tracer::Tracer::catch_up`]); nothing is applied that the store has not acknowledged.

pub mod accounts;
pub mod audit;
pub mod credentials;
pub mod docking;
pub mod error;
pub mod export;
pub mod export_epcis;
pub mod findings;
pub mod incidents;
pub mod national;
pub mod platform;
mod snapshot_file;
pub mod staff;
pub mod statistics;
pub mod tracer;

pub use error::ServiceError;
pub use platform::{Platform, PlatformConfig, Tier, TierKind};
pub use tracer::{Stamp, TraceAnswer, TraceFrom, TraceRequest, Tracer};
