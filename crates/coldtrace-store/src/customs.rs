//! Customs data as the store keeps it (海关数据): declarations with who sent them, what a customs feed did, and
//! how the cross-check's findings are brought in line ([`reconcile`], the same for every backend).

use std::collections::{BTreeSet, HashSet};

use coldtrace_domain::checks::{CUSTOMS_RULES, CheckPolicy, Policy};
use coldtrace_domain::customs::{CustomsFinding, Declaration, ImportedBatch};
use coldtrace_domain::{Batch, Product};
use uuid::Uuid;

/// A declaration as stored: the record, the province whose platform customs fed, who sent it and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredDeclaration {
    pub record: Declaration,
    /// The province of the customs key that sent it (GB/T 2260 two digits).
    pub province: String,
    /// The customs key or account that sent it (`customs:<credential>`).
    pub submitted_by: String,
    pub received_at_ms: i64,
}

/// What one customs feed did (海关数据接收回执).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CustomsReceipt {
    /// Declarations stored for the first time.
    pub stored: u64,
    /// Declarations sent again with the same content: nothing changed.
    pub unchanged: u64,
    /// Declarations sent again with other content (customs amended them): the new content replaced the old.
    pub replaced: u64,
    /// Findings of the cross-check opened, and resolved, by this feed.
    pub opened: u64,
    pub resolved: u64,
}

/// Which declarations to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationFilter {
    /// Those a province's customs sent.
    pub province: Option<String>,
    /// Those of one consignee (USCC).
    pub consignee: Option<String>,
}

/// The findings table as the customs cross-check reconciles it, inside the backend's open transaction.
pub trait CustomsFindings {
    /// How the backend names a finding row.
    type Id;
    /// Brings the open finding about `f.subject` up to what holds now (message, rule, whose, batch); answers
    /// how many rows changed.
    fn update_open(&mut self, f: &CustomsFinding) -> crate::Result<u64>;
    /// Whether a finding about the subject is open or was dismissed (a dismissed one is not opened again).
    fn open_or_dismissed(&mut self, subject: &str) -> crate::Result<bool>;
    /// Opens a finding.
    fn open(&mut self, f: &CustomsFinding, now_ms: i64) -> crate::Result<()>;
    /// The open customs findings of the declarations in `scope` (every declaration's when `None`): id, subject,
    /// rule.
    fn open_in_scope(
        &mut self,
        scope: Option<&BTreeSet<String>>,
    ) -> crate::Result<Vec<(Self::Id, String, String)>>;
    /// Resolves one open finding: later records put it right. Answers how many rows changed.
    fn resolve(&mut self, id: Self::Id, now_ms: i64) -> crate::Result<u64>;
}

/// What a cross-check did, and the refusals for batches of a submission under *reject*.
#[derive(Debug, Default)]
pub struct Reconciled {
    pub report: crate::SweepReport,
    /// `(batch, field, message)` for each finding about a batch in `refusable` whose rule is under reject.
    pub refusals: Vec<(Uuid, &'static str, String)>,
}

/// Brings the customs findings in line with what the domain's cross-check found (the same for every backend):
/// opens each that should be open (a dismissed one is not opened again), updates one still open, and resolves
/// each open one of the scope that no longer holds. A finding about a batch in `refusable` under a rule the
/// province rejects is answered as a refusal instead.
pub fn reconcile<F: CustomsFindings + ?Sized>(
    fs: &mut F,
    found: Vec<CustomsFinding>,
    checks: &CheckPolicy,
    scope: Option<&BTreeSet<String>>,
    refusable: &HashSet<Uuid>,
    now_ms: i64,
) -> crate::Result<Reconciled> {
    let mut out = Reconciled::default();
    let mut expected: HashSet<String> = HashSet::with_capacity(found.len());
    for f in found {
        let policy = checks.of(f.rule);
        if policy == Policy::Off {
            continue;
        }
        if policy == Policy::Reject
            && let Some(b) = f.batches.iter().copied().find(|b| refusable.contains(b))
        {
            out.refusals.push((
                b,
                f.field,
                format!("{} {}: {}", f.rule.code(), f.rule.title(), f.message),
            ));
            continue;
        }
        expected.insert(f.subject.clone());
        let open = fs.update_open(&f)? > 0 || fs.open_or_dismissed(&f.subject)?;
        if !open {
            fs.open(&f, now_ms)?;
            out.report.opened += 1;
        }
    }
    // Open findings of the scope that no longer hold are put right.
    let rules: Vec<&str> = CUSTOMS_RULES
        .iter()
        .filter(|r| checks.of(**r) != Policy::Off)
        .map(|r| r.as_str())
        .collect();
    for (id, subject, rule) in fs.open_in_scope(scope)? {
        if rules.contains(&rule.as_str()) && !expected.contains(&subject) {
            out.report.resolved += fs.resolve(id, now_ms)?;
        }
    }
    Ok(out)
}

/// An imported batch as the cross-check sees it: its record, its product as last corrected, and its owner's USCC
/// (as last corrected) and province; the day it came in is its import date, else the day it was recorded.
pub fn imported_batch(
    b: Batch,
    p: Product,
    owner_uscc: Option<String>,
    owner_province: Option<String>,
    recorded_at_ms: i64,
) -> ImportedBatch {
    ImportedBatch {
        id: b.id,
        owner: b.owner,
        owner_uscc,
        owner_province,
        batch_no: b.batch_no,
        declaration_no: b
            .declaration_no
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        inspection_cert_no: b.inspection_cert_no,
        product: p.name,
        hs_code: p.hs_code,
        origin_country: p.origin_country.as_str().to_string(),
        establishment_no: p.establishment_no,
        quantity: b.quantity,
        unit: b.unit,
        net_weight_kg: b.net_weight_kg,
        container_no: b.container_no.map(|c| c.as_str().to_string()),
        seal_no: b.seal_no,
        day: b
            .import_date
            .unwrap_or_else(|| coldtrace_domain::time::day_at(recorded_at_ms)),
    }
}
