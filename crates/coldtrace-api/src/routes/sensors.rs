//! Temperature records: an enterprise's `POST /api/v1/sensors/readings` (JSON) and
//! `POST /api/v1/sensors/readings/import` (a temperature log as CSV or XLSX). Excursions beyond the goods'
//! limits become `temperature_excursion` findings.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use coldtrace_domain::sensor::ReadingDraft;
use coldtrace_service::platform::sensors::SensorImportReport;
use coldtrace_store::SensorReceipt;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, RawBody};
use crate::routes::ledger::file_format;
use crate::routes::statistics::ImportQuery;

/// Readings of an enterprise's cold stores, reefers and loggers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingsRequest {
    pub readings: Vec<ReadingDraft>,
}

#[utoipa::path(post, path = "/api/v1/sensors/readings", tag = "sensors", request_body = ReadingsRequest,
    responses((status = 200, body = SensorReceipt, description = "readings stored, excursions found"),
              (status = 422, body = crate::error::ErrorBody, description = "every invalid field by its path; nothing stored")),
    security(("api_key" = [])))]
pub async fn put(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<ReadingsRequest>,
) -> Result<Json<SensorReceipt>, ApiError> {
    Ok(Json(state.put_readings(&p, &body.value.readings).await?))
}

#[utoipa::path(post, path = "/api/v1/sensors/readings/import", tag = "sensors", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "a temperature log: one row per reading (docs/epcis.md)"),
    responses((status = 200, body = SensorImportReport, description = "readings stored, excursions found"),
              (status = 422, body = SensorImportReport, description = "rows in error; nothing stored")),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<SensorImportReport>), ApiError> {
    let format = file_format(q.format, &headers, &body);
    let report = state.import_readings(&p, &body, format).await?;
    let status = if report.receipt.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)))
}
