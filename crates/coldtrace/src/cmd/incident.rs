//! `coldtrace incident`: register a positive test and follow it, on a data directory, as a province's regulator.

use anyhow::Context;
use coldtrace_domain::incident::IncidentKind;
use coldtrace_domain::{EventTime, Principal, ProvinceCode, Role, TraceCode};
use coldtrace_service::TraceFrom;
use coldtrace_service::incidents::{self, IncidentView, OpenIncident};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
    /// Data directory (overrides `server.data`).
    #[arg(long, global = true)]
    pub data: Option<std::path::PathBuf>,
    /// The province whose regulator acts.
    #[arg(long, global = true, default_value = "12")]
    pub province: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Register a positive test of a batch sample, by any code of the batch.
    Open {
        code: String,
        /// When the sample was positive (RFC 3339); now if omitted.
        #[arg(long)]
        positive_at: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// strict or conservative.
        #[arg(long, default_value = "strict")]
        mode: coldtrace_service::platform::trace::TimeRule,
    },
    /// Show an incident: tasks, notices, what is accounted for.
    Show { id: Uuid },
    /// List incidents.
    List,
    /// Close an incident (a reason is needed while quantities are unaccounted for).
    Close {
        id: Uuid,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn run(settings: Settings, a: Args) -> anyhow::Result<()> {
    let data = a.data.unwrap_or(settings.server.data.clone());
    let store = super::open_any(&settings, &data, None, None).await?;
    let province =
        ProvinceCode::parse(&a.province).map_err(|e| anyhow::anyhow!("--province: {e}"))?;
    let who = Principal {
        credential: Uuid::nil(),
        role: Role::Regulator,
        enterprise: None,
        province: Some(province),
        person: None,
    };
    match a.what {
        What::Open {
            code,
            positive_at,
            note,
            mode,
        } => {
            let c = TraceCode::parse(&code, None).map_err(|e| anyhow::anyhow!("code: {e}"))?;
            let batch = store
                .batch_by_code(&c.key)
                .await?
                .with_context(|| format!("no batch carries the code {code}"))?;
            let tracer = super::tracer_for(store.as_ref(), &data).await?;
            let positive_at = match positive_at {
                Some(t) => {
                    EventTime::parse(&t).map_err(|e| anyhow::anyhow!("--positive-at: {e}"))?
                }
                None => EventTime::from_millis(jiff::Timestamp::now().as_millisecond(), 8 * 3600),
            };
            let req = OpenIncident {
                kind: IncidentKind::BatchSample,
                from: TraceFrom::Batch(batch),
                subject: code,
                positive_at,
                note,
                mode: mode.into(),
                id: None,
                notice: None,
            };
            let v = incidents::open(store.as_ref(), &tracer, &who, req).await?;
            print_view(&v);
        }
        What::Show { id } => {
            let row = incidents::load(store.as_ref(), &who, id).await?;
            print_view(&incidents::view(&row));
        }
        What::List => {
            for r in store.incidents().await? {
                let v = incidents::view(&r);
                println!(
                    "{}  {:<6}  {:<28}  tasks {:>3}  outstanding {}",
                    v.id,
                    v.status,
                    v.subject,
                    v.tasks.len(),
                    v.outstanding
                );
            }
        }
        What::Close { id, reason } => {
            let v = incidents::close(store.as_ref(), &who, id, reason).await?;
            print_view(&v);
        }
    }
    Ok(())
}

fn print_view(v: &IncidentView) {
    println!(
        "incident {} ({}): {} positive at {}",
        v.id, v.status, v.subject, v.positive_at
    );
    println!(
        "  {} task(s), {} open; accounted {}, outstanding {}",
        v.tasks.len(),
        v.open_tasks,
        v.accounted,
        v.outstanding
    );
    for t in &v.tasks {
        println!(
            "  task {}  {:<34} {:<12} on hand {:>8} {:<7} {:?} {:?}",
            t.task.id,
            t.task.holder_name,
            t.task.batch_no,
            t.on_hand,
            t.task.unit,
            t.task.action,
            t.status
        );
    }
    for n in &v.notices {
        let to = ProvinceCode::parse(&n.notice.to_province)
            .map(|p| p.name())
            .unwrap_or("?");
        println!(
            "  notice to {} ({}): {} line(s){}",
            to,
            n.notice.to_province,
            n.notice.lines.len(),
            if n.sent { ", sent" } else { "" }
        );
    }
}
