//! A regulator imports its province's census of cold-chain enterprises as a file (CSV or XLSX, one row per
//! business), all or nothing, with problems by row and column.

use coldtrace_domain::Principal;
use coldtrace_ledger::{Format, RowError};

use super::Platform;
use crate::error::ServiceError;

/// What a census file did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct CensusImportReport {
    /// `UTF-8`, `GBK` or `XLSX`.
    pub encoding: String,
    pub rows: usize,
    /// Every problem by file row and column; when there is one, nothing was stored.
    pub errors: Vec<RowError>,
    /// Entries stored (the province's census replaced), when there was no problem.
    pub stored: Option<u64>,
}

impl Platform {
    pub async fn import_census(
        &self,
        p: &Principal,
        bytes: &[u8],
        format: Format,
    ) -> Result<CensusImportReport, ServiceError> {
        crate::error::require_role(p, &[coldtrace_domain::Role::Regulator], "import a census")?;
        let file = match self
            .read_upload(bytes, format, crate::statistics::MAX_CENSUS)
            .await?
        {
            Ok(f) => f,
            Err(e) => {
                return Ok(CensusImportReport {
                    errors: vec![e],
                    ..Default::default()
                });
            }
        };
        let mut report = CensusImportReport {
            encoding: file.encoding.to_string(),
            rows: file.table.rows.len(),
            ..Default::default()
        };
        let (drafts, rows) = match coldtrace_ledger::census::entries(&file.table) {
            Ok(d) => d,
            Err(errors) => {
                report.errors = errors;
                return Ok(report);
            }
        };
        match crate::statistics::put_census(self.store.as_ref(), p, &drafts).await {
            Ok(n) => report.stored = Some(n),
            Err(ServiceError::Invalid(errors)) => {
                report.errors = errors
                    .into_iter()
                    .map(|e| {
                        let (row, column) =
                            coldtrace_ledger::census::locate(&file.table, &rows, &e.field);
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
