//! Submissions: a set of records sent together, stored all or nothing.

use crate::batch::{Batch, BatchDraft};
use crate::document::{Document, DocumentDraft};
use crate::enterprise::{Enterprise, EnterpriseDraft};
use crate::error::ValidationErrors;
use crate::movement::{Movement, MovementDraft};
use crate::product::{Product, ProductDraft};
use uuid::Uuid;

/// Records as submitted through the API or read from a ledger file.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionDraft {
    /// Only a regulator registers enterprises.
    #[serde(default)]
    pub enterprises: Vec<EnterpriseDraft>,
    #[serde(default)]
    pub products: Vec<ProductDraft>,
    #[serde(default)]
    pub batches: Vec<BatchDraft>,
    #[serde(default)]
    pub documents: Vec<DocumentDraft>,
    #[serde(default)]
    pub movements: Vec<MovementDraft>,
}

/// Who submits: an enterprise (owner of what it records) or a regulator (who may register enterprises and accept
/// a failing USCC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter {
    Enterprise(Uuid),
    Regulator,
}

/// A submission whose every record is well formed. References to other records are still unresolved: the store
/// resolves them inside its transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pub enterprises: Vec<Enterprise>,
    pub products: Vec<Product>,
    pub batches: Vec<Batch>,
    pub documents: Vec<Document>,
    pub movements: Vec<Movement>,
}

/// The most records one submission may carry.
pub const MAX_RECORDS: usize = 20_000;

impl Submission {
    pub fn len(&self) -> usize {
        self.enterprises.len()
            + self.products.len()
            + self.batches.len()
            + self.documents.len()
            + self.movements.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SubmissionDraft {
    pub fn len(&self) -> usize {
        self.enterprises.len()
            + self.products.len()
            + self.batches.len()
            + self.documents.len()
            + self.movements.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Validates every record, collecting every error with its path.
    pub fn parse(&self, who: Submitter) -> Result<Submission, ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.is_empty() {
            e.push("", "the submission holds no records");
            return Err(e);
        }
        if self.len() > MAX_RECORDS {
            e.push(
                "",
                format!(
                    "the submission holds {} records; at most {MAX_RECORDS} are allowed",
                    self.len()
                ),
            );
            return Err(e);
        }
        let mut out = Submission::default();
        match who {
            Submitter::Regulator => {
                for (i, d) in self.enterprises.iter().enumerate() {
                    match d.parse(&format!("enterprises[{i}]"), true) {
                        Ok(v) => out.enterprises.push(v),
                        Err(x) => e.extend(x),
                    }
                }
                for (name, n) in [
                    ("products", self.products.len()),
                    ("batches", self.batches.len()),
                    ("documents", self.documents.len()),
                    ("movements", self.movements.len()),
                ] {
                    if n > 0 {
                        e.push(name, "records are submitted by the enterprise that keeps them, not by a regulator");
                    }
                }
            }
            Submitter::Enterprise(owner) => {
                if !self.enterprises.is_empty() {
                    e.push("enterprises", "only a regulator registers enterprises");
                }
                for (i, d) in self.products.iter().enumerate() {
                    match d.parse(&format!("products[{i}]"), owner) {
                        Ok(v) => out.products.push(v),
                        Err(x) => e.extend(x),
                    }
                }
                for (i, d) in self.batches.iter().enumerate() {
                    match d.parse(&format!("batches[{i}]"), owner) {
                        Ok(v) => out.batches.push(v),
                        Err(x) => e.extend(x),
                    }
                }
                for (i, d) in self.documents.iter().enumerate() {
                    match d.parse(&format!("documents[{i}]"), owner) {
                        Ok(v) => out.documents.push(v),
                        Err(x) => e.extend(x),
                    }
                }
                for (i, d) in self.movements.iter().enumerate() {
                    match d.parse(&format!("movements[{i}]"), owner) {
                        Ok(v) => out.movements.push(v),
                        Err(x) => e.extend(x),
                    }
                }
            }
        }
        e.into_result(|| out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, who: Submitter, expect: &[(&str, &str)]) {
        let d: SubmissionDraft = serde_json::from_str(json).expect("json");
        let got = match d.parse(who) {
            Ok(_) => vec![],
            Err(e) => {
                e.0.into_iter()
                    .map(|f| (f.field, f.reason))
                    .collect::<Vec<_>>()
            }
        };
        let got: Vec<(String, String)> = got;
        assert_eq!(got.len(), expect.len(), "got {got:?}");
        for ((gf, gr), (ef, er)) in got.iter().zip(expect) {
            assert_eq!(gf, ef);
            assert!(gr.contains(er), "{gr:?} does not contain {er:?}");
        }
    }

    const E: Submitter = Submitter::Enterprise(Uuid::nil());

    #[test]
    fn field_paths_name_every_problem() {
        check(
            r#"{"batches":[{"product_id":"0190f5b2-0000-7000-8000-000000000001","batch_no":"B1","quantity":10,"unit":"箱",
                "declaration_no":"02022020100045678","expiry_date":"2020-01-01","production_date":"2021-01-01"}]}"#,
            E,
            &[
                ("batches[0].expiry_date", "before production_date"),
                ("batches[0].declaration_no", "18"),
            ],
        );
        check(
            r#"{"movements":[{"kind":"ship","batch_no":"B1","quantity":"0","at":"2026-01-01T00:00:00+08:00"}]}"#,
            E,
            &[
                ("movements[0].counterparty_name", "required for ship"),
                ("movements[0].quantity", "greater than zero"),
            ],
        );
        check(
            r#"{"movements":[{"kind":"transform","at":"2026-01-01T00:00:00+08:00",
                "inputs":[{"batch_no":"A","quantity":5}],"outputs":[]}]}"#,
            E,
            &[("movements[0].outputs", "at least one")],
        );
        check(
            r#"{"enterprises":[{"uscc":"x"}]}"#,
            E,
            &[("enterprises", "only a regulator")],
        );
        check(r#"{}"#, E, &[("", "no records")]);
        check(
            r#"{"movements":[{"kind":"sell","batch_no":"B1","quantity":2.5,"at":"2026-01-01T00:00:00+08:00"}]}"#,
            E,
            &[],
        );
    }

    #[test]
    fn regulator_override_of_uscc() {
        let bad = r#"{"enterprises":[{"uscc":"911100001011123456","name":"某冷库","kind":"third_party_cold_store",
            "region":"110105","contact_name":"张三","contact_phone":"13812341234"}]}"#;
        check(
            bad,
            Submitter::Regulator,
            &[("enterprises[0].uscc", "check character mismatch")],
        );
        let with_reason = bad.replace(
            r#""name""#,
            r#""uscc_override_reason":"registry record","name""#,
        );
        let d: SubmissionDraft = serde_json::from_str(&with_reason).unwrap();
        let s = d.parse(Submitter::Regulator).unwrap();
        assert_eq!(
            s.enterprises[0].uscc_override.as_deref(),
            Some("registry record")
        );
    }
}
