//! Role-dependent answers: only the fields the role may see, personal data masked where the role needs no more.
//! Every answer is a typed view, so the OpenAPI document gives its schema.

use coldtrace_domain::docking::NativeCode;
use coldtrace_domain::person::{mask_id_no, mask_name, mask_phone};
use coldtrace_domain::{Batch, Document, Enterprise, Movement, Principal, Role, TraceCode};
use coldtrace_store::Stored;
use uuid::Uuid;

use crate::authz::EnterpriseAccess;

/// An enterprise as the caller may see it: the whole record, or only its name for a direct counterparty.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EnterpriseView {
    Full(Box<Stored<Enterprise>>),
    NameOnly(EnterpriseName),
}

/// What a counterparty sees of an enterprise.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EnterpriseName {
    pub id: Uuid,
    pub name: String,
}

pub fn enterprise(
    e: &Stored<Enterprise>,
    access: EnterpriseAccess,
    p: &Principal,
) -> EnterpriseView {
    match access {
        EnterpriseAccess::NameOnly => EnterpriseView::NameOnly(EnterpriseName {
            id: e.record.id,
            name: e.record.name.clone(),
        }),
        EnterpriseAccess::Full => {
            let mut e = e.clone();
            if p.role == Role::National {
                // The national platform gets the contact for command, with the mobile masked until an incident.
                e.record.contact.phone = mask_phone(&e.record.contact.phone);
            }
            EnterpriseView::Full(Box::new(e))
        }
    }
}

pub fn movement(m: &Stored<Movement>, p: &Principal) -> Stored<Movement> {
    let mut m = m.clone();
    if p.role == Role::National {
        for h in &mut m.record.handlers {
            h.name = mask_name(&h.name);
            h.id_no = h.id_no.as_deref().map(mask_id_no);
            h.phone = h.phone.as_deref().map(mask_phone);
        }
    }
    m
}

/// A batch with its documents and every code it carries, including the one the platform issued.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: Stored<Batch>,
    pub documents: Vec<Stored<Document>>,
    pub codes: Vec<NativeCode>,
    /// The product's name and origin.
    pub product_name: Option<String>,
    pub origin_country: Option<String>,
    /// The owner's name.
    pub owner_name: Option<String>,
    /// Approved for the public lookup.
    pub published: bool,
    /// Who holds goods of the batch now and how much (a regulator sees every holder; an enterprise its own).
    pub holders: Vec<Holding>,
    /// Open incidents that implicate the batch, as the caller may see them.
    pub open_incidents: Vec<IncidentRef>,
    /// Open (or answered) findings of the ledger checks about the batch, as the caller may see them.
    pub open_findings: Vec<coldtrace_store::Finding>,
}

/// Goods of a batch at one holder.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Holding {
    pub holder: String,
    pub province: Option<String>,
    pub on_hand: f64,
    pub unit: String,
}

/// An incident named.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IncidentRef {
    pub id: Uuid,
    pub subject: String,
}

/// What a GS1 code itself says (empty for other schemes).
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct CodeSays {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
}

/// The answer to a code lookup: the code as parsed, what it says, and the batch it identifies.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CodeLookup {
    pub code: TraceCode,
    pub says: CodeSays,
    pub batch: BatchDetail,
}

/// A list that is never paged (a batch's documents, the incidents).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A stored attachment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AttachmentRef {
    /// The SHA-256 of the bytes (hex): documents cite the attachment by it.
    pub sha256: String,
}
