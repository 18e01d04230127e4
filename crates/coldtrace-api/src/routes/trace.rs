//! `GET /api/v1/trace`: forward and backward traces, as JSON, CSV or XLSX.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use coldtrace_domain::{Principal, Role, TraceCode, party};
use coldtrace_service::tracer::TraceError;
use coldtrace_service::{TraceAnswer, TraceFrom, TraceRequest, export};
use coldtrace_trace::{Direction, TimeMode};
use uuid::Uuid;

use crate::AppState;
use crate::authz::require_role;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth};

/// Where to start (exactly one of `code`, `batch`, `establishment`, `origin`, `place`, `person`), which way,
/// how time counts, and the format.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    /// Any trace code of the batch.
    pub code: Option<String>,
    /// A batch id.
    pub batch: Option<Uuid>,
    /// With `code` or `batch`: trace only the batch at this holder (an enterprise id).
    pub holder: Option<Uuid>,
    /// An overseas establishment registration number: all its batches.
    pub establishment: Option<String>,
    /// An origin country (ISO 3166 alpha-2): all its batches.
    pub origin: Option<String>,
    /// A place (an enterprise id) during `from`..`to`.
    pub place: Option<Uuid>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// A person: identity number or phone.
    pub person: Option<String>,
    /// `both` (default), `forward` or `backward`.
    pub direction: Option<String>,
    /// `strict` (default) or `conservative`.
    pub mode: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
    /// With JSON: also list the people who handled the implicated goods.
    #[serde(default)]
    pub people: bool,
}

pub fn direction(s: Option<&str>) -> Result<Direction, ApiError> {
    Ok(match s.unwrap_or("both") {
        "both" => Direction::Both,
        "forward" => Direction::Forward,
        "backward" => Direction::Backward,
        o => {
            return Err(ApiError::invalid(
                "direction",
                format!("{o:?} is not both, forward or backward"),
            ));
        }
    })
}

pub fn mode(s: Option<&str>) -> Result<TimeMode, ApiError> {
    Ok(match s.unwrap_or("strict") {
        "strict" => TimeMode::Strict,
        "conservative" => TimeMode::Conservative,
        o => {
            return Err(ApiError::invalid(
                "mode",
                format!("{o:?} is not strict or conservative"),
            ));
        }
    })
}

fn time_ms(field: &str, s: &Option<String>) -> Result<i64, ApiError> {
    let s = s
        .as_deref()
        .ok_or_else(|| ApiError::invalid(field, "is required with place"))?;
    coldtrace_domain::EventTime::parse_local(s, 8)
        .map(|t| t.millis())
        .map_err(|e| ApiError::invalid(field, e))
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

/// Resolves the start of a trace and checks the caller may trace from it.
pub async fn resolve(
    state: &AppState,
    p: &Principal,
    q: &TraceQuery,
) -> Result<TraceFrom, ApiError> {
    let given = [
        q.code.is_some(),
        q.batch.is_some(),
        q.establishment.is_some(),
        q.origin.is_some(),
        q.place.is_some(),
        q.person.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        return Err(ApiError::invalid(
            "code",
            "give exactly one of code, batch, establishment, origin, place, person",
        ));
    }
    let batch = match (&q.code, q.batch) {
        (Some(c), _) => {
            let code = TraceCode::parse(c, None).map_err(|e| ApiError::invalid("code", e))?;
            Some(
                state
                    .store
                    .batch_by_code(&code.key)
                    .await?
                    .ok_or(ApiError::NotFound("batch for this code"))?,
            )
        }
        (None, b) => b,
    };
    if let Some(b) = batch {
        if !state
            .store
            .batch_visible(&crate::authz::scope(p), b)
            .await?
        {
            return Err(ApiError::NotFound("batch"));
        }
        return Ok(match q.holder {
            Some(h) => TraceFrom::Lot {
                batch: b,
                enterprise: h,
            },
            None => TraceFrom::Batch(b),
        });
    }
    if let Some(e) = &q.establishment {
        return Ok(TraceFrom::Establishment(e.trim().to_string()));
    }
    if let Some(o) = &q.origin {
        return Ok(TraceFrom::Origin(o.trim().to_ascii_uppercase()));
    }
    if let Some(place) = q.place {
        let e = state
            .store
            .enterprise(place)
            .await?
            .ok_or(ApiError::NotFound("place"))?;
        if p.role == Role::Regulator && Some(&e.record.region.province()) != p.province.as_ref() {
            return Err(ApiError::NotFound("place"));
        }
        return Ok(TraceFrom::Place {
            enterprise: place,
            from_ms: time_ms("from", &q.from)?,
            to_ms: time_ms("to", &q.to)?,
        });
    }
    Ok(TraceFrom::Person(person_key(
        q.person.as_deref().unwrap_or(""),
    )))
}

pub fn trace_error(e: TraceError) -> ApiError {
    match e {
        TraceError::NotFound(_) => ApiError::NotFound("trace start"),
        TraceError::Invalid(m) => ApiError::invalid("to", m),
        TraceError::Store(s) => s.into(),
    }
}

#[utoipa::path(get, path = "/api/v1/trace", tag = "trace", params(TraceQuery),
    responses((status = 200, body = TraceAnswer, description = "the trace; CSV or XLSX with `format`"),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn trace(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<TraceQuery>,
) -> Result<Response, ApiError> {
    require_role(&p, &[Role::Regulator, Role::National], "trace")?;
    let direction = direction(q.direction.as_deref())?;
    let mode = mode(q.mode.as_deref())?;
    let format = q.format.clone().unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv" | "xlsx") {
        return Err(ApiError::invalid("format", "is json, csv or xlsx"));
    }
    let from = resolve(&state, &p, &q).await?;
    state.catch_up_index().await;
    let answer = state
        .tracer
        .trace(
            state.store.as_ref(),
            &TraceRequest {
                from,
                direction,
                mode,
            },
            &p,
        )
        .await
        .map_err(trace_error)?;
    metrics::histogram!("coldtrace_trace_answer_seconds").record(answer.took_us as f64 / 1e6);
    match format.as_str() {
        "json" if q.people => {
            let people =
                coldtrace_service::tracer::people(state.store.as_ref(), &state.tracer, &answer, &p)
                    .await?;
            let mut v =
                serde_json::to_value(&answer).map_err(|e| ApiError::Internal(Box::new(e)))?;
            v["people"] =
                serde_json::to_value(people).map_err(|e| ApiError::Internal(Box::new(e)))?;
            Ok(Json(v).into_response())
        }
        "json" => Ok(Json(answer).into_response()),
        f => {
            let rows = export::rows(state.store.as_ref(), &state.tracer, &answer).await?;
            if f == "csv" {
                Ok((
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                        (
                            header::CONTENT_DISPOSITION,
                            "attachment; filename=\"trace.csv\"",
                        ),
                    ],
                    export::csv(&rows),
                )
                    .into_response())
            } else {
                let bytes = export::xlsx(&rows).map_err(|e| ApiError::Internal(Box::new(e)))?;
                Ok((
                    [
                        (
                            header::CONTENT_TYPE,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        ),
                        (
                            header::CONTENT_DISPOSITION,
                            "attachment; filename=\"trace.xlsx\"",
                        ),
                    ],
                    bytes,
                )
                    .into_response())
            }
        }
    }
}
