//! The census and the bureau's statistics: a regulator's `POST /api/v1/census` (JSON) and
//! `POST /api/v1/census/import` (a CSV or XLSX file) replace its province's census; `GET /api/v1/statistics`
//! answers the statistics by city and kind with coverage, as JSON or (`format=xlsx`) a workbook.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coldtrace_domain::census::CensusEntryDraft;
use coldtrace_ledger::Format;
use coldtrace_service::platform::census::CensusImportReport;
use coldtrace_service::statistics::{self, Statistics};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, RawBody};
use crate::routes::ledger::file_format;

/// A province's census, replacing the one before.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CensusRequest {
    pub entries: Vec<CensusEntryDraft>,
}

/// How many entries were stored.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CensusReceipt {
    pub stored: u64,
}

#[utoipa::path(post, path = "/api/v1/census", tag = "statistics", request_body = CensusRequest,
    responses((status = 200, body = CensusReceipt, description = "the province's census replaced"),
              (status = 422, body = crate::error::ErrorBody, description = "every invalid field by its path; nothing stored")),
    security(("api_key" = [])))]
pub async fn put(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<CensusRequest>,
) -> Result<Json<CensusReceipt>, ApiError> {
    let stored = statistics::put_census(state.store.as_ref(), &p, &body.value.entries).await?;
    Ok(Json(CensusReceipt { stored }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `csv` or `xlsx`; detected from the content type or the bytes when absent.
    pub format: Option<Format>,
}

#[utoipa::path(post, path = "/api/v1/census/import", tag = "statistics", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "the census file: one row per business (docs/regulation.md)"),
    responses((status = 200, body = CensusImportReport, description = "the province's census replaced"),
              (status = 422, body = CensusImportReport, description = "rows in error; nothing stored")),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<CensusImportReport>), ApiError> {
    let format = file_format(q.format, &headers, &body);
    let report = state.import_census(&p, &body, format).await?;
    let status = if report.stored.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    /// The province (national platform only; a regulator reads its own).
    pub province: Option<String>,
    /// `json` (default) or `xlsx`.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics", params(StatisticsQuery),
    responses((status = 200, body = Statistics, description = "by city and kind: enterprises, census and coverage, commitments, reporting, lots on hand, findings, quality; the census entries and named businesses not registered; enterprises that stopped reporting; coverage by day"),
              (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<StatisticsQuery>,
) -> Result<Response, ApiError> {
    let s = statistics::statistics(
        state.store.as_ref(),
        &p,
        q.province.as_deref(),
        jiff::Timestamp::now().as_millisecond(),
    )
    .await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(s).into_response()),
        Some("xlsx") => {
            let bytes = statistics::xlsx(&s).map_err(|e| ApiError::Internal(Box::new(e)))?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"statistics.xlsx\"",
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        Some(_) => Err(ApiError::invalid("format", "must be json or xlsx")),
    }
}
