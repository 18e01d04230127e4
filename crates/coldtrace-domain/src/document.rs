//! Documents (证明): the certificates a batch must carry before it may be sold (四证).

use jiff::civil::Date;
use uuid::Uuid;

use crate::batch::{BatchRef, parse_batch_ref, parse_date};
use crate::error::{ValidationErrors, optional_text, path, required_text};

/// Which certificate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 检验检疫证明 (inspection-and-quarantine certificate)
    InspectionQuarantine,
    /// 核酸检测报告 (nucleic-acid test report)
    NucleicAcid,
    /// 消毒证明 (disinfection certificate)
    Disinfection,
}

impl DocumentKind {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "inspection_quarantine" | "检验检疫证明" | "入境货物检验检疫证明" => {
                Self::InspectionQuarantine
            }
            "nucleic_acid" | "核酸检测报告" | "核酸检测证明" => Self::NucleicAcid,
            "disinfection" | "消毒证明" => Self::Disinfection,
            o => {
                return Err(format!(
                    "{o:?} is not a document kind (inspection_quarantine, nucleic_acid, disinfection)"
                ));
            }
        })
    }
    pub const ALL: [DocumentKind; 3] = [
        Self::InspectionQuarantine,
        Self::NucleicAcid,
        Self::Disinfection,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InspectionQuarantine => "inspection_quarantine",
            Self::NucleicAcid => "nucleic_acid",
            Self::Disinfection => "disinfection",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::InspectionQuarantine => "检验检疫证明",
            Self::NucleicAcid => "核酸检测报告",
            Self::Disinfection => "消毒证明",
        }
    }
}

/// Result of a nucleic-acid test.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    /// 阴性
    Negative,
    /// 阳性
    Positive,
    /// 待检 / 检测中
    Pending,
}

impl TestResult {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "negative" | "阴性" => Self::Negative,
            "positive" | "阳性" => Self::Positive,
            "pending" | "待检" | "检测中" => Self::Pending,
            o => {
                return Err(format!(
                    "{o:?} is not a result (negative, positive, pending)"
                ));
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Negative => "negative",
            Self::Positive => "positive",
            Self::Pending => "pending",
        }
    }
}

/// Document (证明): one certificate attached to a batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Document {
    pub id: Uuid,
    /// The enterprise that uploaded it.
    pub owner: Uuid,
    pub batch: BatchRef,
    pub kind: DocumentKind,
    pub number: String,
    pub issuer: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: Date,
    /// Required for a nucleic-acid report, absent otherwise.
    pub result: Option<TestResult>,
    /// SHA-256 (hex) of the scanned certificate, stored by content hash.
    pub attachment_sha256: Option<String>,
    pub corrects: Option<Uuid>,
}

/// A document as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentDraft {
    pub id: Option<Uuid>,
    pub batch_id: Option<Uuid>,
    pub batch_no: Option<String>,
    pub trace_code: Option<String>,
    pub kind: Option<String>,
    pub number: Option<String>,
    pub issuer: Option<String>,
    pub issued_on: Option<String>,
    pub result: Option<String>,
    pub attachment_sha256: Option<String>,
    pub corrects: Option<Uuid>,
}

impl DocumentDraft {
    pub fn parse(&self, at: &str, owner: Uuid) -> Result<Document, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let batch = parse_batch_ref(at, self.batch_id, &self.batch_no, &self.trace_code, &mut e);
        let kind = e.take(
            &f("kind"),
            required_text(&self.kind, 32).and_then(|k| DocumentKind::parse(&k)),
        );
        let number = e.take(&f("number"), required_text(&self.number, 64));
        let issuer = e.take(&f("issuer"), required_text(&self.issuer, 200));
        let issued_on = e.take(
            &f("issued_on"),
            parse_date(&self.issued_on).and_then(|d| d.ok_or_else(|| "is required".to_string())),
        );
        let result = e.take(
            &f("result"),
            optional_text(&self.result, 16)
                .and_then(|r| r.map(|r| TestResult::parse(&r)).transpose()),
        );
        match (kind, &result) {
            (Some(DocumentKind::NucleicAcid), Some(None)) => {
                e.push(f("result"), "is required for a nucleic-acid report")
            }
            (Some(k), Some(Some(_))) if k != DocumentKind::NucleicAcid => {
                e.push(f("result"), "is only for a nucleic-acid report")
            }
            _ => {}
        }
        let attachment = e.take(
            &f("attachment_sha256"),
            optional_text(&self.attachment_sha256, 64).and_then(|h| match h {
                Some(h) if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Err("must be 64 hexadecimal characters (SHA-256)".to_string())
                }
                h => Ok(h.map(|h| h.to_ascii_lowercase())),
            }),
        );
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Document {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            owner,
            batch: batch.expect("checked"),
            kind: kind.expect("checked"),
            number: number.expect("checked"),
            issuer: issuer.expect("checked"),
            issued_on: issued_on.expect("checked"),
            result: result.flatten(),
            attachment_sha256: attachment.flatten(),
            corrects: self.corrects,
        })
    }
}
