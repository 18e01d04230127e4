//! Incident response (涉疫处置): register a positive test, keep the trace as it was, order a disposal task for
//! every holder with goods on hand, draft a notice for every affected province, follow every task to closure.

use std::collections::BTreeMap;

use coldtrace_domain::incident::{
    DisposalAction, DisposalTask, Incident, IncidentEvent, IncidentKind, NoticeDraft, NoticeLine,
    TaskStatus,
};
use coldtrace_domain::{EventTime, Principal, Role};
use coldtrace_store::{IncidentRow, Store, StoreError};
use coldtrace_trace::{Direction, TimeMode};
use uuid::Uuid;

use crate::tracer::{Relation, Stamp, TraceAnswer, TraceError, TraceFrom, Tracer};

#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The national platform did not answer.
    #[error("{0}")]
    Unavailable(String),
}

fn invalid(field: &str, reason: impl Into<String>) -> IncidentError {
    IncidentError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A positive test to register.
#[derive(Debug, Clone)]
pub struct OpenIncident {
    pub kind: IncidentKind,
    pub from: TraceFrom,
    /// What tested positive, in words.
    pub subject: String,
    pub positive_at: EventTime,
    pub note: Option<String>,
    pub mode: TimeMode,
    /// A chosen id (an incident opened from a national notice has one derived from the notice).
    pub id: Option<Uuid>,
    /// The national notice this incident answers.
    pub notice: Option<Uuid>,
}

/// A task with what has been done about it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: DisposalTask,
    pub status: TaskStatus,
    /// Quantity accounted for so far (thousandths).
    pub accounted_milli: i64,
    pub outstanding_milli: i64,
    pub on_hand: f64,
    pub accounted: f64,
    pub outstanding: f64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    #[serde(flatten)]
    pub notice: NoticeDraft,
    pub sent: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub by: String,
    pub event: IncidentEvent,
}

/// An incident as it stands: the registration folded with its history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: Uuid,
    pub province: String,
    pub kind: IncidentKind,
    pub subject: String,
    pub positive_at: String,
    pub reported_by: String,
    pub note: Option<String>,
    pub opened_at_ms: i64,
    /// `open` or `closed`.
    pub status: String,
    pub closed_reason: Option<String>,
    pub tasks: Vec<TaskView>,
    pub notices: Vec<NoticeView>,
    pub accounted: f64,
    pub outstanding: f64,
    /// Tasks not yet fully accounted for.
    pub open_tasks: usize,
    pub timeline: Vec<TimelineEntry>,
    /// The trace as registered, as the viewer may see it (absent in lists and for enterprises).
    #[schema(value_type = Option<TraceAnswer>)]
    pub trace: serde_json::Value,
}

/// The open incidents that implicate a batch (it tested positive, or a disposal task names it), newest first.
pub async fn open_for_batch(
    store: &dyn Store,
    batch: Uuid,
) -> Result<Vec<IncidentRow>, IncidentError> {
    Ok(store
        .incidents_of_batch(batch)
        .await?
        .into_iter()
        .filter(|r| view(r).status == "open")
        .collect())
}

/// How the notices of an incident fared at the national platform (delivered, acknowledged, what each province
/// located), for the regulators of the province that registered it; empty when the platform does not dock.
pub async fn deliveries(
    store: &dyn Store,
    docking: Option<&crate::docking::DockingClient>,
    who: &Principal,
    id: Uuid,
) -> Result<Vec<coldtrace_national::Delivery>, IncidentError> {
    let row = load(store, who, id).await?;
    if !owns_incident(who, &row.incident.province) || who.role != Role::Regulator {
        return Err(IncidentError::Forbidden(
            "only the regulators of the province that registered the incident follow its notices"
                .into(),
        ));
    }
    match docking {
        Some(d) => d
            .deliveries(id)
            .await
            .map_err(|e| IncidentError::Unavailable(e.to_string())),
        None => Ok(vec![]),
    }
}

/// Who may register incidents and see them.
fn is_authority(p: &Principal) -> bool {
    matches!(p.role, Role::Regulator | Role::National)
}

/// Registers a positive test.
pub async fn open(
    store: &dyn Store,
    tracer: &Tracer,
    who: &Principal,
    req: OpenIncident,
) -> Result<IncidentView, IncidentError> {
    Ok(open_once(store, tracer, who, req).await?.0)
}

/// Registers a positive test once: the same positive test registered again in the same province (the same kind,
/// the same start of the trace and subject, the same time) while its incident is open answers that incident
/// (`false`: nothing new), so a double click or two officers entering the same result make one incident; the
/// store decides inside its write, so registrations at the same instant make one too.
pub async fn open_once(
    store: &dyn Store,
    tracer: &Tracer,
    who: &Principal,
    req: OpenIncident,
) -> Result<(IncidentView, bool), IncidentError> {
    if !is_authority(who) {
        return Err(IncidentError::Forbidden(
            "only a regulator or the national platform registers incidents".into(),
        ));
    }
    tracer.catch_up(store).await?;
    // One search: the full answer builds the tasks and the notices (which go to regulators, who need the
    // contacts); the registering regulator's view of it is the trace kept with the incident.
    let start = tracer.seeds_for(store, &req.from, who).await?;
    // One scope for a province and the nation: backward to the sources, forward from everything reached.
    let unmasked = tracer.answer_unmasked(start, Direction::Scope, req.mode);
    let answer = unmasked.clone().masked_for(who);
    // A batch sample is named by its product and batch number (the code it was registered by stays in the
    // trace), with the holder where the sample was taken.
    let subject = match req.kind {
        IncidentKind::BatchSample => {
            let start = unmasked
                .holders
                .iter()
                .flat_map(|h| &h.lots)
                .find(|l| l.role == Relation::Start);
            match start {
                Some(l) => {
                    let at = req
                        .subject
                        .split_once(" @ ")
                        .map(|(_, h)| format!(" @ {h}"))
                        .unwrap_or_default();
                    format!("{} {}{at}", l.product, l.batch_no)
                }
                None => req.subject,
            }
        }
        _ => req.subject,
    };
    let incident = Incident {
        id: req.id.unwrap_or_else(Uuid::now_v7),
        province: who
            .province
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "00".into()),
        kind: req.kind,
        subject,
        positive_at: req.positive_at,
        reported_by: who.subject(),
        note: req.note,
        seeds: seeds(&unmasked),
        notice: req.notice,
        trace: serde_json::to_value(&answer).unwrap_or_default(),
        tasks: tasks(&unmasked),
        notices: notices(&unmasked, &tracer.sources(&unmasked)),
    };
    let mut incident = incident;
    if incident.notice.is_some() {
        // Opened from a national notice: this province's holders only; the national platform notifies the others.
        incident
            .tasks
            .retain(|t| t.province.as_deref() == Some(incident.province.as_str()));
        incident.notices.clear();
    }
    // What makes two registrations the same positive test: the province, the kind, the subject, where the trace
    // started (the batches, those a person handled, those at a place: two importers' batches of the same name and
    // number, or two people whose masked identity numbers look alike, are different tests) and the time. The
    // store decides inside its write, so a double click or two officers make one incident.
    let same_as = incident.notice.is_none().then(|| {
        let seeds: Vec<String> = incident.seeds.iter().map(Uuid::to_string).collect();
        format!(
            "{}|{:?}|{}|{}|{}",
            incident.province,
            incident.kind,
            incident.subject,
            seeds.join(","),
            incident.positive_at
        )
    });
    let id = store.create_incident(incident.clone(), same_as).await?;
    let row = store
        .incident(id)
        .await?
        .ok_or(IncidentError::NotFound("incident"))?;
    Ok((view(&row), id == incident.id))
}

/// The batches where the trace started, in order, once each.
fn seeds(a: &TraceAnswer) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    for h in &a.holders {
        for l in &h.lots {
            if l.role == Relation::Start && !out.contains(&l.batch) {
                out.push(l.batch);
            }
        }
    }
    out
}

fn tasks(a: &TraceAnswer) -> Vec<DisposalTask> {
    let mut out = Vec::new();
    for h in &a.holders {
        for l in &h.lots {
            // Every holder of implicated goods, the sources' remaining stock included.
            if l.on_hand_milli <= 0 {
                continue;
            }
            out.push(DisposalTask {
                id: Uuid::now_v7(),
                holder_key: h.key,
                enterprise: h.enterprise,
                holder_name: h.name.to_string(),
                province: h.province.as_deref().map(str::to_string),
                batch: l.batch,
                batch_no: l.batch_no.to_string(),
                product: l.product.to_string(),
                on_hand_milli: l.on_hand_milli,
                unit: l.unit.to_string(),
                action: DisposalAction::Seal,
            });
        }
    }
    out
}

fn notices(
    a: &TraceAnswer,
    sources: &std::collections::HashMap<coldtrace_trace::Ix, crate::tracer::LotSource>,
) -> Vec<NoticeDraft> {
    let mut by: BTreeMap<String, Vec<NoticeLine>> = BTreeMap::new();
    for h in &a.holders {
        let Some(p) = h.province.as_deref().map(str::to_string) else {
            continue;
        };
        for l in &h.lots {
            // The seller and the date from where the goods came from; else the path that reached the holder.
            let (seller, seller_uscc, seller_contact, at, date_kind) = match sources.get(&l.lot) {
                Some(s) => (
                    s.seller.to_string(),
                    s.seller_uscc.as_deref().map(str::to_string),
                    s.seller_contact.clone(),
                    s.at.or(l.time),
                    s.kind,
                ),
                None => (
                    if h.path.len() >= 2 {
                        h.path[h.path.len() - 2].holder.to_string()
                    } else {
                        String::new()
                    },
                    None,
                    None,
                    l.time,
                    coldtrace_domain::incident::LineDate::Sale,
                ),
            };
            by.entry(p.clone()).or_default().push(NoticeLine {
                food_name: l.product.to_string(),
                batch_no: l.batch_no.to_string(),
                quantity_milli: ((l.received + l.produced) * 1000.0).round() as i64,
                unit: l.unit.to_string(),
                sale_dates: at.iter().map(Stamp::to_string).collect(),
                date_kind,
                seller,
                seller_uscc,
                seller_contact,
                holder: h.name.to_string(),
                contact: crate::tracer::contact_line(
                    h.contact_name.as_deref(),
                    h.contact_phone.as_deref(),
                ),
            });
        }
    }
    by.into_iter()
        .map(|(to_province, lines)| NoticeDraft {
            id: Uuid::now_v7(),
            to_province,
            lines,
        })
        .collect()
}

/// Folds an incident's history into its current state.
pub fn view(row: &IncidentRow) -> IncidentView {
    let inc = &row.incident;
    type Reported = (i64, TaskStatus, Option<DisposalAction>);
    let mut accounted: BTreeMap<Uuid, Reported> = BTreeMap::new();
    let mut sent = std::collections::BTreeSet::new();
    let mut closed_reason = None;
    let mut closed = false;
    for (_, _, e, _) in &row.events {
        match e {
            IncidentEvent::TaskUpdate {
                task,
                status,
                action,
                quantity_milli,
                ..
            } => {
                let a = accounted
                    .entry(*task)
                    .or_insert((0, TaskStatus::Open, None));
                a.0 += quantity_milli;
                a.1 = *status;
                a.2 = Some(*action);
            }
            IncidentEvent::NoticeSent { notice } => {
                sent.insert(*notice);
            }
            IncidentEvent::Closed { reason } => {
                closed = true;
                closed_reason = reason.clone();
            }
            IncidentEvent::Note { .. } => {}
        }
    }
    let tasks: Vec<TaskView> = inc
        .tasks
        .iter()
        .map(|t| {
            let (acc, status, done) =
                accounted
                    .get(&t.id)
                    .copied()
                    .unwrap_or((0, TaskStatus::Open, None));
            let outstanding = (t.on_hand_milli - acc).max(0);
            let mut task = t.clone();
            // The measure as last reported; the one ordered until then.
            task.action = done.unwrap_or(task.action);
            TaskView {
                task,
                status,
                accounted_milli: acc,
                outstanding_milli: outstanding,
                on_hand: t.on_hand_milli as f64 / 1000.0,
                accounted: acc as f64 / 1000.0,
                outstanding: outstanding as f64 / 1000.0,
            }
        })
        .collect();
    IncidentView {
        id: inc.id,
        province: inc.province.clone(),
        kind: inc.kind,
        subject: inc.subject.clone(),
        positive_at: inc.positive_at.to_string(),
        reported_by: inc.reported_by.clone(),
        note: inc.note.clone(),
        opened_at_ms: row.recorded_at_ms,
        status: if closed { "closed" } else { "open" }.into(),
        closed_reason,
        accounted: tasks.iter().map(|t| t.accounted).sum(),
        outstanding: tasks.iter().map(|t| t.outstanding).sum(),
        open_tasks: tasks
            .iter()
            .filter(|t| t.outstanding_milli > 0 || t.status != TaskStatus::Done)
            .count(),
        tasks,
        notices: inc
            .notices
            .iter()
            .map(|n| NoticeView {
                notice: n.clone(),
                sent: sent.contains(&n.id),
            })
            .collect(),
        timeline: row
            .events
            .iter()
            .map(|(seq, by, e, at)| TimelineEntry {
                seq: *seq,
                at_ms: *at,
                by: by.clone(),
                event: e.clone(),
            })
            .collect(),
        trace: inc.trace.clone(),
    }
}

/// Whether the caller may see the incident: its province's regulator, a notified province's regulator, the
/// national platform, or an enterprise with a task in it.
pub fn may_see(p: &Principal, inc: &Incident) -> bool {
    match p.role {
        Role::National => true,
        Role::Regulator => {
            let mine = p.province.as_ref().map(|x| x.as_str());
            mine == Some(inc.province.as_str())
                || inc
                    .notices
                    .iter()
                    .any(|n| Some(n.to_province.as_str()) == mine)
        }
        Role::Enterprise => inc
            .tasks
            .iter()
            .any(|t| t.enterprise.is_some() && t.enterprise == p.enterprise),
        _ => false,
    }
}

/// Whether the caller is the authority of the incident's own province (or the national platform), as opposed
/// to a notified province's regulator or an enterprise with a task.
fn owns_incident(p: &Principal, inc_province: &str) -> bool {
    match p.role {
        Role::National => true,
        Role::Regulator => p.province.as_ref().map(|x| x.as_str()) == Some(inc_province),
        _ => false,
    }
}

/// What a caller sees of an incident. An enterprise: only its own tasks and their reports, no notes, no trace,
/// no notices, totals over its own tasks. A notified province's regulator: the notices addressed to its
/// province only. The incident's own province and the national platform: everything.
pub fn for_viewer(p: &Principal, mut v: IncidentView) -> IncidentView {
    if p.role == Role::Enterprise {
        v.tasks
            .retain(|t| t.task.enterprise.is_some() && t.task.enterprise == p.enterprise);
        let mine: std::collections::BTreeSet<Uuid> = v.tasks.iter().map(|t| t.task.id).collect();
        v.timeline.retain(|e| match &e.event {
            IncidentEvent::TaskUpdate { task, .. } => mine.contains(task),
            IncidentEvent::Closed { .. } => true,
            _ => false,
        });
        v.notices.clear();
        v.note = None;
        v.trace = serde_json::Value::Null;
        v.accounted = v.tasks.iter().map(|t| t.accounted).sum();
        v.outstanding = v.tasks.iter().map(|t| t.outstanding).sum();
        v.open_tasks = v.tasks.iter().filter(|t| t.outstanding_milli > 0).count();
    } else if !owns_incident(p, &v.province) {
        let mine = p.province.as_ref().map(|x| x.as_str().to_string());
        v.notices
            .retain(|n| Some(&n.notice.to_province) == mine.as_ref());
        v.timeline.retain(|e| match &e.event {
            IncidentEvent::NoticeSent { notice } => {
                v.notices.iter().any(|n| n.notice.id == *notice)
            }
            IncidentEvent::Note { .. } => false,
            _ => true,
        });
    }
    v
}

pub async fn load(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
) -> Result<IncidentRow, IncidentError> {
    let row = store
        .incident(id)
        .await?
        .ok_or(IncidentError::NotFound("incident"))?;
    if !may_see(who, &row.incident) {
        return Err(IncidentError::NotFound("incident"));
    }
    Ok(row)
}

/// A report on a task.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    pub status: TaskStatus,
    pub action: DisposalAction,
    /// Quantity this report accounts for, in the batch's unit.
    pub quantity: coldtrace_domain::Quantity,
    pub note: Option<String>,
}

pub async fn update_task(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
    task: Uuid,
    u: TaskUpdate,
) -> Result<IncidentView, IncidentError> {
    let row = load(store, who, id).await?;
    let v = view(&row);
    if v.status == "closed" {
        return Err(IncidentError::Conflict("the incident is closed".into()));
    }
    let t = v
        .tasks
        .iter()
        .find(|t| t.task.id == task)
        .ok_or(IncidentError::NotFound("task"))?;
    let allowed = match who.role {
        Role::Enterprise => t.task.enterprise.is_some() && t.task.enterprise == who.enterprise,
        Role::Regulator => {
            let mine = who.province.as_ref().map(|p| p.as_str().to_string());
            mine.as_ref() == t.task.province.as_ref()
                || mine.as_deref() == Some(row.incident.province.as_str())
        }
        Role::National => true,
        _ => false,
    };
    if !allowed {
        return Err(IncidentError::Forbidden(
            "only the holder or its regulator reports on this task".into(),
        ));
    }
    if u.quantity.milli() > t.outstanding_milli {
        return Err(invalid(
            "quantity",
            format!(
                "{} is more than the {} still outstanding",
                u.quantity, t.outstanding
            ),
        ));
    }
    if u.status == TaskStatus::Done && u.quantity.milli() < t.outstanding_milli {
        return Err(invalid(
            "status",
            "a task is done only when its whole quantity is accounted for",
        ));
    }
    store
        .append_incident_event(
            id,
            who.subject(),
            IncidentEvent::TaskUpdate {
                task,
                status: u.status,
                action: u.action,
                quantity_milli: u.quantity.milli(),
                note: u.note,
            },
        )
        .await?;
    Ok(for_viewer(who, view(&load(store, who, id).await?)))
}

pub async fn mark_notice_sent(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
    notice: Uuid,
) -> Result<IncidentView, IncidentError> {
    let row = load(store, who, id).await?;
    if !owns_incident(who, &row.incident.province) {
        return Err(IncidentError::Forbidden(
            "only the incident's own province sends its notices".into(),
        ));
    }
    if !row.incident.notices.iter().any(|n| n.id == notice) {
        return Err(IncidentError::NotFound("notice"));
    }
    store
        .append_incident_event(id, who.subject(), IncidentEvent::NoticeSent { notice })
        .await?;
    Ok(for_viewer(who, view(&load(store, who, id).await?)))
}

pub async fn add_note(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
    text: String,
) -> Result<IncidentView, IncidentError> {
    let row = load(store, who, id).await?;
    if !owns_incident(who, &row.incident.province) {
        return Err(IncidentError::Forbidden(
            "only the incident's own province adds notes".into(),
        ));
    }
    if text.trim().is_empty() {
        return Err(invalid("text", "is empty"));
    }
    store
        .append_incident_event(id, who.subject(), IncidentEvent::Note { text })
        .await?;
    Ok(for_viewer(who, view(&load(store, who, id).await?)))
}

/// Closes an incident: only when every quantity is accounted for, or with a reason.
pub async fn close(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
    reason: Option<String>,
) -> Result<IncidentView, IncidentError> {
    let row = load(store, who, id).await?;
    let mine = who.province.as_ref().map(|p| p.as_str());
    if !(who.role == Role::National
        || (who.role == Role::Regulator && mine == Some(row.incident.province.as_str())))
    {
        return Err(IncidentError::Forbidden(
            "only the registering province's regulator closes an incident".into(),
        ));
    }
    let v = view(&row);
    if v.status == "closed" {
        return Err(IncidentError::Conflict(
            "the incident is already closed".into(),
        ));
    }
    let reason = reason.filter(|r| !r.trim().is_empty());
    if v.open_tasks > 0 && reason.is_none() {
        return Err(invalid(
            "reason",
            format!(
                "{} task(s) still have {} outstanding; account for them or give a reason",
                v.open_tasks, v.outstanding
            ),
        ));
    }
    store
        .append_incident_event(id, who.subject(), IncidentEvent::Closed { reason })
        .await?;
    Ok(for_viewer(who, view(&load(store, who, id).await?)))
}
