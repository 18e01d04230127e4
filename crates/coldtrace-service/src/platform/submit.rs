//! Submitting records (记录上报): a submission of many records, one record, or an enterprise's ledger file, all
//! through the same rules and the same store transaction.

use coldtrace_domain::submission::MAX_RECORDS;
use coldtrace_domain::{Principal, Role, SubmissionDraft, Submitter, Writer};
use coldtrace_ledger::{Format, ImportOptions, ImportReport, Limits, ReadFile, TableError};
use coldtrace_store::{SubmitOutcome, SubmitRequest};

use super::Platform;
use crate::error::{ServiceError, require_role};

/// A submission as the caller sent it.
#[derive(Debug)]
pub struct SubmitCommand<'a> {
    pub draft: &'a SubmissionDraft,
    /// The caller's idempotency key: the same key again answers the first receipt and stores nothing new.
    pub idempotency_key: Option<String>,
    /// A digest of the request, so that a key reused for a different request is refused.
    pub request_hash: String,
}

impl Platform {
    /// Validates and stores a submission for the caller, all or nothing; then the trace index catches up and
    /// the docking client is woken. Enterprises submit their own records; a regulator submits for enterprises of
    /// the province it supervises.
    pub async fn submit(
        &self,
        p: &Principal,
        cmd: SubmitCommand<'_>,
    ) -> Result<SubmitOutcome, ServiceError> {
        require_role(p, &[Role::Enterprise, Role::Regulator], "submit records")?;
        if cmd.draft.len() > MAX_RECORDS {
            return Err(ServiceError::invalid(
                "",
                format!("at most {MAX_RECORDS} records per submission"),
            ));
        }
        let who = match p.role {
            Role::Enterprise => Submitter::Enterprise(p.enterprise.ok_or(
                ServiceError::Forbidden("an enterprise key without its enterprise".into()),
            )?),
            _ => Submitter::Regulator,
        };
        let writer = match who {
            Submitter::Enterprise(e) => Writer::Enterprise(e),
            Submitter::Regulator => Writer::Regulator(p.province.clone().ok_or(
                ServiceError::Forbidden("a regulator key without its province".into()),
            )?),
        };
        let submission = cmd.draft.parse(who)?;
        if p.role == Role::Regulator {
            let mine = p.province.as_ref();
            for (i, e) in submission.enterprises.iter().enumerate() {
                if Some(&e.region.province()) != mine {
                    return Err(ServiceError::invalid(
                        format!("enterprises[{i}].region"),
                        "is outside the province this regulator supervises",
                    ));
                }
            }
        }
        let n = submission.len() as u64;
        let out = self
            .store
            .submit(SubmitRequest {
                subject: p.subject(),
                writer,
                idempotency_key: cmd.idempotency_key,
                request_hash: cmd.request_hash,
                submission,
                checks: self.checks.clone(),
            })
            .await?;
        if !out.replayed {
            metrics::counter!("coldtrace_records_submitted_total").increment(n);
            self.after_write().await;
        }
        Ok(out)
    }

    /// Imports an enterprise's ledger file (台账) as one submission of its own records (or, with `partial`, of
    /// every row without errors). The report lists each row in error by file row and column.
    pub async fn import_ledger(
        &self,
        p: &Principal,
        bytes: &[u8],
        format: Format,
        partial: bool,
    ) -> Result<ImportReport, ServiceError> {
        require_role(p, &[Role::Enterprise], "import a ledger")?;
        let owner = p.enterprise.ok_or(ServiceError::Forbidden(
            "an enterprise key without its enterprise".into(),
        ))?;
        if bytes.is_empty() {
            return Err(ServiceError::invalid("body", "the ledger file is empty"));
        }
        let opts = ImportOptions {
            partial,
            checks: self.checks.clone(),
            ..Default::default()
        };
        let file = match self.read_ledger(bytes, format, opts.limits).await? {
            Ok(file) => file,
            Err(e) => return Ok(ImportReport::unreadable(&e)),
        };
        let report = coldtrace_ledger::import_read(
            self.store.as_ref(),
            owner,
            &p.subject(),
            file,
            opts,
            &|_, _| {},
        )
        .await
        .map_err(|e| match e {
            coldtrace_ledger::ImportError::Store(s) => ServiceError::from(s),
        })?;
        if report.receipt.is_some() && !report.replayed {
            self.after_write().await;
        }
        Ok(report)
    }

    /// Reads a ledger file within its limits on a blocking thread, at most [`super::LEDGER_READERS`] at once
    /// and for at most [`LEDGER_READ_SECONDS`]. A file over a limit is refused naming the limit; a file that is
    /// not a table is answered as the outer `Ok(Err(_))`, to be reported like a row error.
    /// Opens an uploaded file other than a ledger (a customs feed, a census, a temperature log) with at most
    /// `max_rows` rows: the file read, or the one whole-file error its report gives (row 0).
    pub(super) async fn read_upload(
        &self,
        bytes: &[u8],
        format: Format,
        max_rows: usize,
    ) -> Result<Result<ReadFile, coldtrace_ledger::RowError>, ServiceError> {
        if bytes.is_empty() {
            return Err(ServiceError::invalid("body", "the file is empty"));
        }
        let limits = Limits {
            max_rows,
            ..Limits::default()
        };
        Ok(self
            .read_ledger(bytes, format, limits)
            .await?
            .map_err(|e| coldtrace_ledger::RowError {
                row: 0,
                column: None,
                reason: e.to_string(),
            }))
    }

    pub(super) async fn read_ledger(
        &self,
        bytes: &[u8],
        format: Format,
        limits: Limits,
    ) -> Result<Result<ReadFile, TableError>, ServiceError> {
        if bytes.len() > limits.max_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the ledger file has {} bytes; at most {} are accepted (max_bytes)",
                bytes.len(),
                limits.max_bytes
            )));
        }
        let permit = self
            .ledger_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(ServiceError::internal)?;
        let bytes = bytes.to_vec();
        // The permit travels with the work: a reading that outlives the deadline still holds its slot.
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            coldtrace_ledger::read_file(&bytes, format, &limits)
        });
        let read = tokio::time::timeout(std::time::Duration::from_secs(LEDGER_READ_SECONDS), work)
            .await
            .map_err(|_| {
                ServiceError::invalid(
                    "file",
                    format!(
                        "reading the file took longer than {LEDGER_READ_SECONDS} s (max_seconds)"
                    ),
                )
            })?
            .map_err(ServiceError::internal)?;
        match read {
            Err(TableError::TooLarge { limit, detail }) => {
                Err(ServiceError::invalid("file", format!("{detail} ({limit})")))
            }
            other => Ok(other),
        }
    }
}

/// The longest a ledger file may take to read.
pub const LEDGER_READ_SECONDS: u64 = 20;
