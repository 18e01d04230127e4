//! `POST /api/v1/ledger`: an enterprise uploads its ledger file (CSV or XLSX).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use coldtrace_ledger::{Format, ImportReport};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth, RawBody};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// `csv` or `xlsx`; detected from the content type or the bytes when absent.
    pub format: Option<Format>,
    /// Import every row without errors instead of all or nothing.
    #[serde(default)]
    pub partial: bool,
}

/// A file's format: as the query names it, else by its content type (`text/csv`, the XLSX media type), else by
/// its first bytes. Every file upload (ledgers, customs feeds, censuses) decides the same way.
pub fn file_format(asked: Option<Format>, headers: &HeaderMap, body: &[u8]) -> Format {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    asked.unwrap_or_else(|| {
        if ct.contains("spreadsheetml") {
            Format::Xlsx
        } else if ct.starts_with("text/csv") {
            Format::Csv
        } else {
            Format::detect(None, body)
        }
    })
}

#[utoipa::path(post, path = "/api/v1/ledger", tag = "records", params(LedgerQuery),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "the ledger file (text/csv or the XLSX media type)"),
    responses((status = 201, body = ImportReport, description = "imported"),
              (status = 422, body = ImportReport, description = "rows in error; nothing stored unless partial")),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<LedgerQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<ImportReport>), ApiError> {
    let format = file_format(q.format, &headers, &body);
    let report = state.import_ledger(&p, &body, format, q.partial).await?;
    let status = if report.receipt.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)))
}
