//! Tracing (追溯): where a trace starts, who may start there, and the answer.

use coldtrace_domain::{Principal, Role, TraceCode, party};
use uuid::Uuid;

use super::Platform;
use crate::error::{ServiceError, require_role};
use crate::tracer::{PersonOut, TraceAnswer, TraceFrom, TraceRequest};
pub use crate::tracer::{TimeRule, TraceDirection};

/// The wire name of a closed set of values (the serde names, so the command line and the API spell them alike).
fn parse_name<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    use serde::de::IntoDeserializer;
    T::deserialize(s.into_deserializer()).map_err(|e: serde::de::value::Error| e.to_string())
}

impl std::str::FromStr for TraceDirection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_name(s)
    }
}

impl std::str::FromStr for TimeRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_name(s)
    }
}

/// Where a trace starts, as a caller names it (before it is resolved and checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceStart {
    /// A batch by any of its trace codes, optionally only at one holder.
    Code { code: String, holder: Option<Uuid> },
    /// A batch by id, optionally only at one holder.
    Batch { batch: Uuid, holder: Option<Uuid> },
    /// Every batch from an overseas establishment (境外生产企业).
    Establishment(String),
    /// Every batch from an origin country (ISO 3166 alpha-2).
    Origin(String),
    /// A place (an enterprise's premises) during a window, times as typed (RFC 3339, or local time in UTC+8).
    Place {
        enterprise: Uuid,
        from: Option<String>,
        to: Option<String>,
    },
    /// A person by identity number or phone (人物同查).
    Person(String),
    /// A person by identity number, only what they handled at one enterprise.
    PersonAt(String, Uuid),
}

/// A trace as the caller asks it.
#[derive(Debug, Clone)]
pub struct TraceCommand {
    pub start: TraceStart,
    pub direction: TraceDirection,
    pub mode: TimeRule,
    /// Also list the people who handled the implicated goods.
    pub people: bool,
    /// The purpose the caller stated; names and phones of people are shown in full only with one.
    pub purpose: Option<String>,
}

/// The answer, as the caller may see it, and the people when asked.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TraceOutcome {
    #[serde(flatten)]
    pub answer: TraceAnswer,
    /// With `people=true`: who handled the implicated goods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<Vec<PersonOut>>,
}

/// The part of a trace answer a caller asks for (分页): each list (holders, batches, flows, people) from
/// `offset`, at most `limit` items, in the answer's stable order. Exports are not paged (they hold up to
/// [`MAX_EXPORT_ROWS`] movements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: usize,
    pub limit: usize,
}

/// Items per list in one trace answer unless the caller asks for fewer or more.
pub const DEFAULT_PAGE: usize = 1_000;
/// The most items per list in one trace answer.
pub const MAX_PAGE: usize = 5_000;
/// The most movements in a trace export (an XLSX sheet holds 1,048,576 rows).
pub const MAX_EXPORT_ROWS: usize = 1_000_000;

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            offset: 0,
            limit: DEFAULT_PAGE,
        }
    }
}

impl PageRequest {
    /// A page as asked for, refused (naming `limit`) beyond [`MAX_PAGE`] or at 0.
    pub fn new(offset: Option<usize>, limit: Option<usize>) -> Result<Self, ServiceError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ServiceError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE} items per list"),
            ));
        }
        Ok(PageRequest {
            offset: offset.unwrap_or(0),
            limit,
        })
    }
}

/// Where a page of a trace answer stands in the whole.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PageInfo {
    pub offset: usize,
    pub limit: usize,
    pub holders_total: usize,
    pub batches_total: usize,
    pub flows_total: usize,
    /// With `people=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people_total: Option<usize>,
    /// The `offset` of the next page while any list has more; absent on the last page.
    pub next_offset: Option<usize>,
}

/// One page of a trace answer: the lists cut to the page, and where it stands.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TracePage {
    #[serde(flatten)]
    pub outcome: TraceOutcome,
    pub page: PageInfo,
}

fn cut<T>(v: &mut Vec<T>, r: PageRequest) -> usize {
    let total = v.len();
    let from = r.offset.min(total);
    let to = r.offset.saturating_add(r.limit).min(total);
    v.truncate(to);
    v.drain(..from);
    total
}

impl TraceOutcome {
    /// This answer cut to one page.
    pub fn page(mut self, r: PageRequest) -> TracePage {
        let holders_total = cut(&mut self.answer.holders, r);
        let batches_total = cut(&mut self.answer.batches, r);
        let flows_total = cut(&mut self.answer.flows, r);
        let people_total = self.people.as_mut().map(|p| cut(p, r));
        let largest = holders_total
            .max(batches_total)
            .max(flows_total)
            .max(people_total.unwrap_or(0));
        let end = r.offset.saturating_add(r.limit);
        TracePage {
            outcome: self,
            page: PageInfo {
                offset: r.offset,
                limit: r.limit,
                holders_total,
                batches_total,
                flows_total,
                people_total,
                next_offset: (end < largest).then_some(end),
            },
        }
    }
}

/// The person key for an identity number or a phone as typed.
pub fn person_key(s: &str) -> String {
    let s = s.trim();
    if coldtrace_domain::person::valid_id_no(s).is_ok() {
        party::person_key(Some(s), None, "", Uuid::nil())
    } else if s.chars().filter(char::is_ascii_digit).count() >= 7
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        party::person_key(None, Some(s), "", Uuid::nil())
    } else {
        s.to_string()
    }
}

fn time_ms(field: &str, s: &Option<String>) -> Result<i64, ServiceError> {
    let s = s
        .as_deref()
        .ok_or_else(|| ServiceError::invalid(field, "is required with place"))?;
    coldtrace_domain::EventTime::parse_local(s, 8)
        .map(|t| t.millis())
        .map_err(|e| ServiceError::invalid(field, e))
}

impl Platform {
    /// Resolves where a trace starts and checks the caller may trace from there. A batch the caller may not see
    /// and a place outside a regulator's province are answered as not found.
    pub async fn resolve_start(
        &self,
        p: &Principal,
        start: &TraceStart,
    ) -> Result<TraceFrom, ServiceError> {
        Ok(match start {
            TraceStart::Code { code, holder } => {
                let parsed = TraceCode::parse(code, None);
                let batch = match &parsed {
                    Ok(c) => self.store.batch_by_code(&c.key).await?,
                    Err(_) => None,
                };
                match batch {
                    Some(batch) => self.batch_start(p, batch, *holder).await?,
                    // An identifier EPCIS events use for what holds goods (an SSCC pallet, a case): the batches
                    // its aggregations put in it.
                    None => match self.aggregated(p, code).await? {
                        Some(from) if holder.is_none() => from,
                        _ => {
                            parsed.map_err(|e| ServiceError::invalid("code", e))?;
                            return Err(ServiceError::NotFound("batch for this code"));
                        }
                    },
                }
            }
            TraceStart::Batch { batch, holder } => self.batch_start(p, *batch, *holder).await?,
            TraceStart::Establishment(e) => TraceFrom::Establishment(e.trim().to_string()),
            TraceStart::Origin(o) => TraceFrom::Origin(o.trim().to_ascii_uppercase()),
            TraceStart::Place {
                enterprise,
                from,
                to,
            } => {
                let e = self
                    .store
                    .enterprise(*enterprise)
                    .await?
                    .ok_or(ServiceError::NotFound("place"))?;
                if p.role == Role::Regulator
                    && Some(&e.record.region.province()) != p.province.as_ref()
                {
                    return Err(ServiceError::NotFound("place"));
                }
                TraceFrom::Place {
                    enterprise: *enterprise,
                    from_ms: time_ms("from", from)?,
                    to_ms: time_ms("to", to)?,
                }
            }
            TraceStart::Person(s) => TraceFrom::Person(person_key(s)),
            TraceStart::PersonAt(s, e) => TraceFrom::PersonAt(person_key(s), *e),
        })
    }

    /// The batches the captured aggregations put in the container `code` names (through nested containers, three
    /// levels), those the caller may see and the packer held; none when the code names no container.
    async fn aggregated(
        &self,
        p: &Principal,
        code: &str,
    ) -> Result<Option<TraceFrom>, ServiceError> {
        let Ok(key) = coldtrace_epcis::identifier_key(code.trim()) else {
            return Ok(None);
        };
        let scope = coldtrace_store::Scope::of(p);
        // Containers to open, each with the enterprise whose aggregation put it where it is (none for the one
        // asked about): an inner container is followed only through the same packer's aggregations.
        let mut level: Vec<(String, Option<uuid::Uuid>)> = vec![(key, None)];
        let mut batches = Vec::new();
        for _ in 0..3 {
            let mut next = Vec::new();
            for (k, by) in &level {
                for (child, packer) in self.store.epcis_children(k).await? {
                    if by.is_some_and(|b| b != packer) {
                        continue;
                    }
                    match self.store.batch_by_code(&child).await? {
                        Some(b) => {
                            // Only an enterprise that held the goods can say what it packed them in: an
                            // aggregation by anyone else does not tie the goods to its container.
                            let held = self
                                .store
                                .batch_visible(&coldtrace_store::Scope::Enterprise(packer), b)
                                .await?;
                            if held
                                && !batches.contains(&b)
                                && self.store.batch_visible(&scope, b).await?
                            {
                                batches.push(b);
                            }
                        }
                        None => next.push((child, Some(packer))),
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        Ok((!batches.is_empty()).then_some(TraceFrom::Batches(batches)))
    }

    /// A trace from a batch (or the batch at one holder) the caller may see.
    async fn batch_start(
        &self,
        p: &Principal,
        batch: Uuid,
        holder: Option<Uuid>,
    ) -> Result<TraceFrom, ServiceError> {
        if !self
            .store
            .batch_visible(&coldtrace_store::Scope::of(p), batch)
            .await?
        {
            return Err(ServiceError::NotFound("batch"));
        }
        Ok(match holder {
            Some(enterprise) => TraceFrom::Lot { batch, enterprise },
            None => TraceFrom::Batch(batch),
        })
    }

    /// Runs a trace for a regulator or the national platform: the answer with contacts masked for the caller,
    /// and the people who handled the goods when asked.
    pub async fn trace(
        &self,
        p: &Principal,
        cmd: &TraceCommand,
    ) -> Result<TraceOutcome, ServiceError> {
        require_role(p, &[Role::Regulator, Role::National], "trace")?;
        let from = self.resolve_start(p, &cmd.start).await?;
        self.catch_up_index().await;
        let answer = self
            .tracer
            .trace(
                self.store.as_ref(),
                &TraceRequest {
                    from,
                    direction: cmd.direction.into(),
                    mode: cmd.mode.into(),
                },
                p,
            )
            .await?;
        metrics::histogram!("coldtrace_trace_answer_seconds").record(answer.took_us as f64 / 1e6);
        let mut answer = answer;
        let warm = self
            .store
            .excursion_batches(answer.batches.iter().map(|b| b.id).collect())
            .await?;
        for b in &mut answer.batches {
            b.temperature_excursion = warm.contains(&b.id);
        }
        let people = if cmd.people {
            Some(
                crate::tracer::people(
                    self.store.as_ref(),
                    &self.tracer,
                    &answer,
                    p,
                    cmd.purpose.as_deref(),
                )
                .await?,
            )
        } else {
            None
        };
        Ok(TraceOutcome { answer, people })
    }

    /// An export holds at most [`MAX_EXPORT_ROWS`] movements.
    fn export_fits(&self, answer: &TraceAnswer) -> Result<(), ServiceError> {
        let n = self.tracer.movement_seqs(answer).len();
        if n > MAX_EXPORT_ROWS {
            return Err(ServiceError::invalid(
                "format",
                format!(
                    "the trace has {n} movements; an export holds at most {MAX_EXPORT_ROWS}: page the JSON answer \
                     or start from a narrower place or time"
                ),
            ));
        }
        Ok(())
    }

    /// A trace as spreadsheet rows, one per movement.
    pub async fn trace_rows(&self, answer: &TraceAnswer) -> Result<Vec<Vec<String>>, ServiceError> {
        self.export_fits(answer)?;
        Ok(crate::export::rows(self.store.as_ref(), &self.tracer, answer).await?)
    }

    /// A trace as an EPCIS 2.0 query document of the events along it, within the same limit.
    pub async fn trace_epcis(
        &self,
        answer: &TraceAnswer,
    ) -> Result<serde_json::Value, ServiceError> {
        self.export_fits(answer)?;
        Ok(crate::export_epcis::document(self.store.as_ref(), &self.tracer, answer).await?)
    }

    /// The key-data-element rows of a trace (FSMA 204's sortable spreadsheet), within the same limit.
    pub async fn trace_kde_rows(
        &self,
        answer: &TraceAnswer,
    ) -> Result<Vec<Vec<String>>, ServiceError> {
        self.export_fits(answer)?;
        Ok(crate::export::kde_rows(self.store.as_ref(), &self.tracer, answer).await?)
    }
}
