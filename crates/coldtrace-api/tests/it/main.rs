//! Integration tests of the HTTP API: a real server on a free port over a real SQLite file.

mod access;
mod browser;
mod checks;
mod customs;
pub mod docking;
mod epcis;
mod gs1;
mod hostile;
mod incidents;
mod ledger;
mod openapi;
mod records;
mod schema;
mod sensors;
mod staff;
mod statistics;
mod support;
mod tenancy;
