//! Customs data (海关数据): customs sends its import declarations and certificates, through the API or as a
//! file, for the platform of its province; each feed is cross-checked at once against the importers' batches
//! (and the periodic sweep runs the whole cross-check again). Customs reads what it sent and the findings about
//! it; a regulator reads its province's feed; an enterprise the declarations of which it is the consignee.

use coldtrace_domain::customs::DeclarationDraft;
use coldtrace_domain::{Principal, Role};
use coldtrace_ledger::{Format, RowError};
use coldtrace_store::{CustomsReceipt, DeclarationFilter, Store, StoredDeclaration};

use super::Platform;
use crate::error::{ServiceError, require_role};

/// At most this many declarations in one feed.
pub const MAX_DECLARATIONS: usize = 10_000;

/// A page of declarations, by declaration number.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeclarationPage {
    pub items: Vec<StoredDeclaration>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// What a customs feed file did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct CustomsImportReport {
    /// `UTF-8`, `GBK` or `XLSX`.
    pub encoding: String,
    /// Data rows (goods lines) read, and the declarations they make.
    pub rows: usize,
    pub declarations: usize,
    /// Every problem, by file row and column; when there is one, nothing was stored.
    pub errors: Vec<RowError>,
    /// Headers that are not part of the format.
    pub ignored_columns: Vec<String>,
    pub receipt: Option<CustomsReceipt>,
}

fn customs_province(p: &Principal) -> Result<coldtrace_domain::ProvinceCode, ServiceError> {
    require_role(p, &[Role::Customs], "send customs data")?;
    p.province
        .clone()
        .ok_or_else(|| ServiceError::Forbidden("a customs key without its province".into()))
}

impl Platform {
    /// Stores declarations customs sent, all or nothing (every error named by its path), and cross-checks them.
    pub async fn submit_declarations(
        &self,
        p: &Principal,
        drafts: &[DeclarationDraft],
    ) -> Result<CustomsReceipt, ServiceError> {
        let province = customs_province(p)?;
        if drafts.is_empty() || drafts.len() > MAX_DECLARATIONS {
            return Err(ServiceError::invalid(
                "declarations",
                format!("send 1 to {MAX_DECLARATIONS} declarations"),
            ));
        }
        let mut errors = coldtrace_domain::ValidationErrors::default();
        let mut parsed = Vec::with_capacity(drafts.len());
        let mut seen = std::collections::HashMap::new();
        // A declaration day after tomorrow (UTC+8) is a typing error, and would make the feed look further
        // along than it is (declarations customs has not sent yet would look unknown).
        let now = jiff::Timestamp::now().as_millisecond();
        let latest = coldtrace_domain::time::day_at(now)
            .tomorrow()
            .map_err(ServiceError::internal)?;
        for (i, d) in drafts.iter().enumerate() {
            match d.parse(&format!("declarations[{i}]")) {
                Ok(d) if d.declared_on > latest => errors.push(
                    format!("declarations[{i}].declared_on"),
                    format!("{} is in the future", d.declared_on),
                ),
                Ok(d) => {
                    if let Some(first) = seen.insert(d.declaration_no.as_str().to_string(), i) {
                        errors.push(
                            format!("declarations[{i}].declaration_no"),
                            format!("is also declarations[{first}]"),
                        );
                    }
                    parsed.push(d);
                }
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let receipt = self
            .store
            .put_declarations(province, p.subject(), parsed, self.checks.clone(), now)
            .await?;
        Ok(receipt)
    }

    /// Reads a customs feed file (CSV or XLSX, one row per goods line) and stores its declarations as
    /// [`Platform::submit_declarations`] does; problems are reported by row and column, and then nothing is
    /// stored.
    pub async fn import_declarations(
        &self,
        p: &Principal,
        bytes: &[u8],
        format: Format,
    ) -> Result<CustomsImportReport, ServiceError> {
        customs_province(p)?;
        let file = match self.read_upload(bytes, format, 100_000).await? {
            Ok(f) => f,
            Err(e) => {
                return Ok(CustomsImportReport {
                    errors: vec![e],
                    ..Default::default()
                });
            }
        };
        let mut report = CustomsImportReport {
            encoding: file.encoding.to_string(),
            rows: file.table.rows.len(),
            ..Default::default()
        };
        let feed = match coldtrace_ledger::customs::declarations(&file.table) {
            Ok(f) => f,
            Err(errors) => {
                report.errors = errors;
                return Ok(report);
            }
        };
        report.declarations = feed.declarations.len();
        report.ignored_columns = feed.ignored_columns.clone();
        match self.submit_declarations(p, &feed.declarations).await {
            Ok(r) => report.receipt = Some(r),
            Err(ServiceError::Invalid(errors)) => {
                report.errors = errors
                    .into_iter()
                    .map(|e| {
                        let (row, column) =
                            coldtrace_ledger::customs::locate(&feed, &file.table, &e.field);
                        RowError {
                            row,
                            column,
                            reason: e.reason,
                        }
                    })
                    .collect();
            }
            Err(e) => return Err(e),
        }
        Ok(report)
    }
}

/// Which declarations a caller reads: customs and a regulator their province's feed, the national platform all,
/// an enterprise those it is the consignee of.
async fn visible_filter(
    store: &dyn Store,
    p: &Principal,
) -> Result<DeclarationFilter, ServiceError> {
    Ok(match p.role {
        Role::Customs | Role::Regulator => DeclarationFilter {
            province: Some(
                p.province
                    .as_ref()
                    .ok_or_else(|| ServiceError::Forbidden("a key without its province".into()))?
                    .as_str()
                    .to_string(),
            ),
            consignee: None,
        },
        Role::National => DeclarationFilter::default(),
        Role::Enterprise => {
            let e = p.enterprise.ok_or_else(|| {
                ServiceError::Forbidden("an enterprise key without its enterprise".into())
            })?;
            let e = store
                .enterprise(e)
                .await?
                .ok_or(ServiceError::NotFound("enterprise"))?;
            DeclarationFilter {
                province: None,
                consignee: Some(e.record.uscc.as_str().to_string()),
            }
        }
        Role::Admin => {
            return Err(ServiceError::Forbidden(
                "the admin role may not read customs data".into(),
            ));
        }
    })
}

/// Declarations the caller may read, by declaration number after `after`; `consignee` narrows to one USCC.
pub async fn list(
    store: &dyn Store,
    p: &Principal,
    consignee: Option<String>,
    after: Option<String>,
    limit: u32,
) -> Result<DeclarationPage, ServiceError> {
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be between 1 and 1000"));
    }
    let mut filter = visible_filter(store, p).await?;
    if let Some(c) = consignee {
        if filter.consignee.as_ref().is_some_and(|mine| *mine != c) {
            return Ok(DeclarationPage {
                items: vec![],
                next: None,
            });
        }
        filter.consignee = Some(c);
    }
    let items = store.declarations(filter, after, limit).await?;
    let next = (items.len() == limit as usize)
        .then(|| {
            items
                .last()
                .map(|d| d.record.declaration_no.as_str().to_string())
        })
        .flatten();
    Ok(DeclarationPage { items, next })
}

/// One declaration, if the caller may read it (another's and none at all get the same answer).
pub async fn get(
    store: &dyn Store,
    p: &Principal,
    declaration_no: &str,
) -> Result<StoredDeclaration, ServiceError> {
    let filter = visible_filter(store, p).await?;
    match store.declaration(declaration_no.to_string()).await? {
        Some(d)
            if filter.province.as_ref().is_none_or(|x| *x == d.province)
                && filter
                    .consignee
                    .as_ref()
                    .is_none_or(|x| x == d.record.consignee_uscc.as_str()) =>
        {
            Ok(d)
        }
        _ => Err(ServiceError::NotFound("declaration")),
    }
}
