//! Submitting records (记录上报): a submission of many records, one record, or an enterprise's ledger file, all
//! through the same rules and the same store transaction.

use coldtrace_domain::submission::MAX_RECORDS;
use coldtrace_domain::{Principal, Role, SubmissionDraft, Submitter, Writer};
use coldtrace_ledger::{Format, ImportOptions, ImportReport};
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
            ..Default::default()
        };
        let report = coldtrace_ledger::import(
            self.store.as_ref(),
            owner,
            &p.subject(),
            bytes,
            format,
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
}
