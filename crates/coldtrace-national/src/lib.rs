//! # coldtrace-national
//!
//! The core of the national command platform (国家级追溯管理平台), pure and in memory: what every province has
//! sent, the same goods recognised across provinces without a shared code (异构识别), the cross-province batch
//! graph, its trace from a positive test, and the notices (通报) each affected province must receive.
//!
//! ## Layout
//! - [`registry`]: [`Registry`], built by applying accepted docking messages in order; links and their
//!   evidence; commander decisions; the trace; notices; delivery and acknowledgement status.
//! - [`adapter`]: a province running another system, mapped field by field onto the protocol.
//!
//! **Invariant:** no I/O. The registry is a fold over the national inbox and the link decisions: replaying the
//! same messages in the same order gives the same links, traces and notice ids.

pub mod adapter;
pub mod registry;

pub use registry::{
    Basis, Delivery, Link, LinkStatus, NationalTrace, Registry, TracedBatch, notice_id,
};
