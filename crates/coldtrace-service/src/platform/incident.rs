//! Registering a positive test (阳性检出登记): where it was found, the trace, tasks and notices.

use coldtrace_domain::incident::IncidentKind;
use coldtrace_domain::{EventTime, Principal, Role};
use uuid::Uuid;

use super::Platform;
use super::trace::{TimeRule, TraceStart};
use crate::error::{ServiceError, require_role};
use crate::incidents::{self, IncidentView, OpenIncident};

/// What tested positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentStart {
    /// A sample of a batch (by any code, or by id), optionally at the holder where it was taken.
    BatchSample {
        code: Option<String>,
        batch: Option<Uuid>,
        holder: Option<Uuid>,
    },
    /// An environment sample at a place during a window.
    Environment {
        enterprise: Option<Uuid>,
        from: Option<String>,
        to: Option<String>,
    },
    /// A person (identity number or phone).
    Person(Option<String>),
    /// A staff member of an enterprise, by identity number, as the enterprise reports them: the trace starts only
    /// from what they handled there.
    StaffMember { id_no: String, enterprise: Uuid },
}

/// A positive test to register.
#[derive(Debug, Clone)]
pub struct OpenIncidentRequest {
    pub start: IncidentStart,
    /// When the sample was taken or the result came.
    pub positive_at: EventTime,
    pub note: Option<String>,
    pub mode: TimeRule,
}

impl OpenIncidentRequest {
    pub fn kind(&self) -> IncidentKind {
        match self.start {
            IncidentStart::BatchSample { .. } => IncidentKind::BatchSample,
            IncidentStart::Environment { .. } => IncidentKind::Environment,
            IncidentStart::Person(_) | IncidentStart::StaffMember { .. } => IncidentKind::Person,
        }
    }
}

impl Platform {
    /// Registers a positive test: resolves and checks where it was found, traces, keeps the trace, orders a
    /// disposal task per holder with goods on hand and drafts a notice per affected province; the incident goes
    /// to the national platform with the next delivery.
    /// Registering the same positive test again while its incident is open answers that incident, with
    /// `false` (see [`incidents::open_once`]).
    pub async fn open_incident(
        &self,
        p: &Principal,
        req: OpenIncidentRequest,
    ) -> Result<(IncidentView, bool), ServiceError> {
        require_role(p, &[Role::Regulator, Role::National], "register incidents")?;
        let kind = req.kind();
        let (start, subject) = match req.start {
            IncidentStart::BatchSample {
                code,
                batch,
                holder,
            } => {
                let mut subject = code
                    .clone()
                    .or(batch.map(|b| b.to_string()))
                    .unwrap_or_default();
                let at_holder = |holder| match (&code, batch) {
                    (Some(code), None) => Ok(TraceStart::Code {
                        code: code.clone(),
                        holder,
                    }),
                    (None, Some(batch)) => Ok(TraceStart::Batch { batch, holder }),
                    _ => Err(ServiceError::invalid(
                        "code",
                        "give exactly one of code and batch_id for a batch sample",
                    )),
                };
                if let Some(h) = holder {
                    // The sample was taken at one holder: that holder must be one the caller may look at, and
                    // is noted; the whole batch is implicated, wherever it is.
                    self.resolve_start(p, &at_holder(Some(h))?).await?;
                    let name = self
                        .store
                        .enterprise(h)
                        .await?
                        .map(|e| e.record.name)
                        .unwrap_or_else(|| h.to_string());
                    subject = format!("{subject} @ {name}");
                }
                (at_holder(None)?, subject)
            }
            IncidentStart::Environment {
                enterprise,
                from,
                to,
            } => {
                let subject = format!(
                    "{} {}..{}",
                    enterprise.map(|e| e.to_string()).unwrap_or_default(),
                    from.clone().unwrap_or_default(),
                    to.clone().unwrap_or_default()
                );
                let enterprise = enterprise.ok_or_else(|| {
                    ServiceError::invalid("enterprise_id", "is required for an environment sample")
                })?;
                (
                    TraceStart::Place {
                        enterprise,
                        from,
                        to,
                    },
                    subject,
                )
            }
            IncidentStart::Person(person) => {
                let person = person
                    .ok_or_else(|| ServiceError::invalid("person", "is required for a person"))?;
                let subject = coldtrace_domain::person::mask_id_no(&person);
                (TraceStart::Person(person), subject)
            }
            IncidentStart::StaffMember { id_no, enterprise } => {
                let subject = coldtrace_domain::person::mask_id_no(&id_no);
                (TraceStart::PersonAt(id_no, enterprise), subject)
            }
        };
        let from = self.resolve_start(p, &start).await?;
        let (v, created) = incidents::open_once(
            self.store.as_ref(),
            &self.tracer,
            p,
            OpenIncident {
                kind,
                from,
                subject,
                positive_at: req.positive_at,
                note: req.note,
                mode: req.mode.into(),
                id: None,
                notice: None,
            },
        )
        .await?;
        if created {
            // The incident is in the outbox for the national platform: deliver it now.
            self.queued();
            metrics::counter!("coldtrace_incidents_opened_total").increment(1);
        }
        Ok((v, created))
    }
}
