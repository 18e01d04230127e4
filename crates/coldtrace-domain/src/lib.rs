//! # coldtrace-domain
//!
//! The vocabulary of cold-chain traceability and its rules, with no I/O: enterprises (主体), products, batches
//! (批次), documents (证明), movements (出入库), trace codes (追溯码), and the identifiers they carry. Every type
//! that crosses into the system is parsed from a *draft* (what a client sent) into a validated record, and every
//! refusal names the field path and the reason.
//!
//! ## Layout
//! - [`id`]: USCC, customs declaration number, GTIN, region and province codes, country, container number.
//! - [`region`]: names of GB/T 2260 administrative divisions, from the table compiled in.
//! - [`code`]: trace code schemes and their canonical keys.
//! - [`gs1`]: GS1 codes in every form (element strings, Digital Link, EPC URNs), checked against GS1's dictionary.
//! - [`quantity`], [`time`]: exact quantities and offset-preserving event times.
//! - [`enterprise`], [`product`], [`batch`], [`document`], [`movement`], [`person`]: the records and drafts.
//! - [`submission`]: a set of records validated together.
//! - [`census`]: the census of cold-chain enterprises and its matching against registered ones.
//! - [`contacts`]: the province contacts registry kept at the national platform.
//! - [`customs`]: customs declarations and the cross-check of importers' batches against them.
//! - [`staff`]: staff registries, their nucleic-acid tests and the testing schedule.
//! - [`sensor`]: temperature readings and the excursions they show.
//! - [`incident`]: positive tests, disposal tasks, notices and their history.
//! - [`docking`]: the docking protocol between provincial platforms and the national command platform.
//! - [`error`]: field errors.
//!
//! - [`access`]: roles and principals; [`party`]: stable keys of trading parties and people for the trace.
//!
//! **Invariant:** this crate does no I/O and holds no state. Drafts are the wire shape of what clients send;
//! records are built from drafts by parsers. Records also (de)serialize for storage, and every identifier
//! newtype deserializes through its parser, so a stored record read back is as valid as when it was written.

pub mod access;
pub mod batch;
pub mod census;
pub mod checks;
pub mod code;
pub mod contacts;
pub mod customs;
pub mod docking;
pub mod document;
pub mod enterprise;
pub mod error;
pub mod gs1;
pub mod id;
pub mod incident;
pub mod movement;
pub mod ownership;
pub mod party;
pub mod person;
pub mod product;
pub mod quantity;
pub mod region;
pub mod sensor;
pub mod staff;
pub mod submission;
pub mod time;

pub use access::{Principal, Role};
pub use batch::{Batch, BatchDraft, BatchRef};
pub use code::{CodeScheme, TraceCode};
pub use document::{Document, DocumentDraft, DocumentKind, TestResult};
pub use enterprise::{Contact, Enterprise, EnterpriseDraft, EnterpriseKind};
pub use error::{FieldError, ValidationErrors};
pub use id::{CountryCode, DeclarationNo, Gtin, ProvinceCode, RegionCode, Uscc};
pub use movement::{Counterparty, Line, Movement, MovementDraft, MovementKind};
pub use ownership::Writer;
pub use person::Handler;
pub use product::{Product, ProductCategory, ProductDraft};
pub use quantity::{Quantity, Unit};
pub use submission::{Submission, SubmissionDraft, Submitter};
pub use time::EventTime;
