//! One module per resource.

pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod batches;
pub mod console;
pub mod credentials;
pub mod customs;
pub mod docking;
pub mod documents;
pub mod enterprises;
pub mod epcis;
pub mod findings;
pub mod gs1;
pub mod incidents;
pub mod ledger;
pub mod movements;
pub mod products;
pub mod public;
pub mod sensors;
pub mod staff;
pub mod statistics;
pub mod submissions;
pub mod system;
pub mod trace;
