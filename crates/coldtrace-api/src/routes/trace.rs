//! `GET /api/v1/trace`: forward and backward traces, as JSON, CSV or XLSX.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use coldtrace_service::export;
use coldtrace_service::platform::trace::{PageRequest, TracePage};
use coldtrace_service::platform::trace::{TimeRule, TraceDirection};
use coldtrace_service::platform::{TraceCommand, TraceStart};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth};

/// Where to start (exactly one of `code`, `batch`, `establishment`, `origin`, `place`, `person`), which way,
/// how time counts, and the format.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    /// Which way (default `both`).
    #[serde(default)]
    pub direction: TraceDirection,
    /// How time counts (default `strict`).
    #[serde(default)]
    pub mode: TimeRule,
    /// The answer's format (default `json`).
    #[serde(default)]
    pub format: TraceFormat,
    /// With JSON: also list the people who handled the implicated goods.
    #[serde(default)]
    pub people: bool,
    /// Why the caller needs the people's details (also `X-Purpose`); without one names and phones are masked.
    pub purpose: Option<String>,
    /// With JSON: where the page starts in each list (default 0; the answer's `page.next_offset` gives the next).
    pub offset: Option<usize>,
    /// With JSON: items per list (default 1,000, at most 5,000).
    pub limit: Option<usize>,
}

/// The format of a trace answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    #[default]
    Json,
    /// CSV with a UTF-8 BOM (opens in Excel), one row per movement.
    Csv,
    /// An Excel workbook with filters and a frozen header, one row per movement.
    Xlsx,
    /// The key data elements (FSMA 204) as CSV: one row per critical tracking event and batch, with the
    /// traceability lot code and its source, product, quantity and unit, ship-from and ship-to, reference document.
    #[serde(rename = "kde_csv")]
    KdeCsv,
    /// The key data elements as an Excel workbook.
    #[serde(rename = "kde_xlsx")]
    KdeXlsx,
    /// An EPCIS 2.0 query document of the events along the trace (JSON-LD).
    Epcis,
}

impl TraceQuery {
    /// Where the trace starts: exactly one of the start fields.
    pub fn start(&self) -> Result<TraceStart, ApiError> {
        let given = [
            self.code.is_some(),
            self.batch.is_some(),
            self.establishment.is_some(),
            self.origin.is_some(),
            self.place.is_some(),
            self.person.is_some(),
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
        Ok(if let Some(code) = &self.code {
            TraceStart::Code {
                code: code.clone(),
                holder: self.holder,
            }
        } else if let Some(batch) = self.batch {
            TraceStart::Batch {
                batch,
                holder: self.holder,
            }
        } else if let Some(e) = &self.establishment {
            TraceStart::Establishment(e.clone())
        } else if let Some(o) = &self.origin {
            TraceStart::Origin(o.clone())
        } else if let Some(place) = self.place {
            TraceStart::Place {
                enterprise: place,
                from: self.from.clone(),
                to: self.to.clone(),
            }
        } else {
            TraceStart::Person(self.person.clone().unwrap_or_default())
        })
    }
}

#[utoipa::path(get, path = "/api/v1/trace", tag = "trace", params(TraceQuery),
    responses((status = 200, body = TracePage, description = "one page of the trace (each list from `offset`, at most `limit` items); CSV or XLSX of every movement with `format`"),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn trace(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<TraceQuery>,
) -> Result<Response, ApiError> {
    let purpose = q.purpose.clone().or_else(|| {
        headers
            .get("x-purpose")
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .map(|v| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
    });
    let cmd = TraceCommand {
        start: q.start()?,
        direction: q.direction,
        mode: q.mode,
        people: q.people && q.format == TraceFormat::Json,
        purpose,
    };
    let page = PageRequest::new(q.offset, q.limit).map_err(ApiError::from)?;
    let out = state.trace(&p, &cmd).await?;
    match q.format {
        TraceFormat::Json => Ok(Json(out.page(page)).into_response()),
        TraceFormat::Epcis => {
            let doc = state.trace_epcis(&out.answer).await?;
            Ok(([(header::CONTENT_TYPE, "application/ld+json")], Json(doc)).into_response())
        }
        f => {
            let (rows, layout, name) = if matches!(f, TraceFormat::KdeCsv | TraceFormat::KdeXlsx) {
                (
                    state.trace_kde_rows(&out.answer).await?,
                    export::KDE,
                    "trace-kde",
                )
            } else {
                (state.trace_rows(&out.answer).await?, export::TRACE, "trace")
            };
            if matches!(f, TraceFormat::Csv | TraceFormat::KdeCsv) {
                Ok((
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                        (
                            header::CONTENT_DISPOSITION,
                            &format!("attachment; filename=\"{name}.csv\""),
                        ),
                    ],
                    export::csv_as(layout, &rows),
                )
                    .into_response())
            } else {
                let bytes =
                    export::xlsx_as(layout, &rows).map_err(|e| ApiError::Internal(Box::new(e)))?;
                Ok((
                    [
                        (
                            header::CONTENT_TYPE,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        ),
                        (
                            header::CONTENT_DISPOSITION,
                            &format!("attachment; filename=\"{name}.xlsx\""),
                        ),
                    ],
                    bytes,
                )
                    .into_response())
            }
        }
    }
}
