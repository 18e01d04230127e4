//! Temperature records (温度记录): an enterprise sends its cold stores', reefers' and loggers' readings as JSON or
//! as a log file; the readings are stored and every lot held through an excursion beyond its category's limit
//! gets a finding (`temperature_excursion`) in the same transaction. EPCIS sensor reports arrive the same way
//! (`platform::epcis_trace`).

use coldtrace_domain::checks::Rule;
use coldtrace_domain::sensor::{MAX_READINGS, ReadingDraft};
use coldtrace_domain::{Principal, Role};
use coldtrace_ledger::{Format, RowError};
use coldtrace_store::SensorReceipt;

use super::Platform;
use crate::error::{ServiceError, require_role};

/// What a temperature log file did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct SensorImportReport {
    /// `UTF-8`, `GBK` or `XLSX`.
    pub encoding: String,
    pub rows: usize,
    /// Every problem by file row and column; when there is one, nothing was stored.
    pub errors: Vec<RowError>,
    pub receipt: Option<SensorReceipt>,
}

impl Platform {
    /// Stores an enterprise's readings, all or nothing (every wrong field named by its path), and opens the
    /// excursion findings they show.
    pub async fn put_readings(
        &self,
        p: &Principal,
        drafts: &[ReadingDraft],
    ) -> Result<SensorReceipt, ServiceError> {
        require_role(p, &[Role::Enterprise], "send temperature readings")?;
        let enterprise = p.enterprise.ok_or_else(|| {
            ServiceError::Forbidden("an enterprise key without its enterprise".into())
        })?;
        if drafts.is_empty() || drafts.len() > MAX_READINGS {
            return Err(ServiceError::invalid(
                "readings",
                format!("send 1 to {MAX_READINGS} readings"),
            ));
        }
        let mut errors = coldtrace_domain::ValidationErrors::default();
        let mut readings = Vec::with_capacity(drafts.len());
        let latest =
            jiff::Timestamp::now().as_millisecond() + coldtrace_domain::checks::FUTURE_MARGIN_MS;
        for (i, d) in drafts.iter().enumerate() {
            match d.parse(&format!("readings[{i}]")) {
                Ok(r) if r.at_ms > latest => {
                    errors.push(format!("readings[{i}].at"), "is in the future")
                }
                Ok(r) => readings.push(r),
                Err(e) => errors.0.extend(e.0),
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors.0));
        }
        self.store_readings(enterprise, readings).await
    }

    pub(crate) async fn store_readings(
        &self,
        enterprise: uuid::Uuid,
        readings: Vec<coldtrace_domain::sensor::Reading>,
    ) -> Result<SensorReceipt, ServiceError> {
        Ok(self
            .store
            .put_readings(
                enterprise,
                readings,
                self.checks.windows,
                self.checks.of(Rule::TemperatureExcursion),
                jiff::Timestamp::now().as_millisecond(),
            )
            .await?)
    }

    /// Imports a temperature log file (CSV or XLSX): every row or none.
    pub async fn import_readings(
        &self,
        p: &Principal,
        bytes: &[u8],
        format: Format,
    ) -> Result<SensorImportReport, ServiceError> {
        require_role(p, &[Role::Enterprise], "send temperature readings")?;
        let file = match self.read_upload(bytes, format, MAX_READINGS).await? {
            Ok(f) => f,
            Err(e) => {
                return Ok(SensorImportReport {
                    errors: vec![e],
                    ..Default::default()
                });
            }
        };
        let mut report = SensorImportReport {
            encoding: file.encoding.to_string(),
            rows: file.table.rows.len(),
            ..Default::default()
        };
        let (drafts, rows) = match coldtrace_ledger::sensor::readings(&file.table) {
            Ok(d) => d,
            Err(errors) => {
                report.errors = errors;
                return Ok(report);
            }
        };
        match self.put_readings(p, &drafts).await {
            Ok(r) => report.receipt = Some(r),
            Err(ServiceError::Invalid(errors)) => {
                report.errors = errors
                    .into_iter()
                    .map(|e| {
                        let (row, column) =
                            coldtrace_ledger::sensor::locate(&file.table, &rows, &e.field);
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
