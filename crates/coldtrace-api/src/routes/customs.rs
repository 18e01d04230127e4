//! Customs data (海关数据): customs' `POST /api/v1/customs/declarations` (JSON) and
//! `POST /api/v1/customs/declarations/import` (a CSV or XLSX feed file), each cross-checked at once against the
//! importers' batches; `GET /api/v1/customs/declarations` and `GET /api/v1/customs/declarations/{no}` for
//! customs, regulators, the national platform and consignees.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use coldtrace_domain::customs::DeclarationDraft;
use coldtrace_ledger::Format;
use coldtrace_service::platform::customs::{self, CustomsImportReport, DeclarationPage};
use coldtrace_store::{CustomsReceipt, StoredDeclaration};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, RawBody};
use crate::routes::ledger::file_format;

/// Declarations customs sends, at most 10,000 at once.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationsRequest {
    pub declarations: Vec<DeclarationDraft>,
}

#[utoipa::path(post, path = "/api/v1/customs/declarations", tag = "customs", request_body = DeclarationsRequest,
    responses((status = 200, body = CustomsReceipt, description = "stored (a declaration sent again with the same content changes nothing) and cross-checked"),
              (status = 422, body = crate::error::ErrorBody, description = "every invalid field by its path; nothing stored"),
              (status = 403, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<DeclarationsRequest>,
) -> Result<Json<CustomsReceipt>, ApiError> {
    Ok(Json(
        state
            .submit_declarations(&p, &body.value.declarations)
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `csv` or `xlsx`; detected from the content type or the bytes when absent.
    pub format: Option<Format>,
}

#[utoipa::path(post, path = "/api/v1/customs/declarations/import", tag = "customs", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "the feed file: one row per goods line (docs/regulation.md)"),
    responses((status = 200, body = CustomsImportReport, description = "stored and cross-checked"),
              (status = 422, body = CustomsImportReport, description = "rows in error; nothing stored")),
    security(("api_key" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<CustomsImportReport>), ApiError> {
    let format = file_format(q.format, &headers, &body);
    let report = state.import_declarations(&p, &body, format).await?;
    let status = if report.receipt.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)))
}

/// Which declarations: pages of `limit` (1 to 1000, default 100) by declaration number.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeclarationQuery {
    /// One consignee's (USCC).
    pub consignee: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/customs/declarations", tag = "customs", params(DeclarationQuery),
    responses((status = 200, body = DeclarationPage, description = "customs and a regulator: their province's feed; national: all; an enterprise: those it is the consignee of")),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<DeclarationQuery>,
) -> Result<Json<DeclarationPage>, ApiError> {
    Ok(Json(
        customs::list(
            state.store.as_ref(),
            &p,
            q.consignee,
            q.after,
            q.limit.unwrap_or(100),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/customs/declarations/{no}", tag = "customs",
    responses((status = 200, body = StoredDeclaration), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(no): Path<String>,
) -> Result<Json<StoredDeclaration>, ApiError> {
    Ok(Json(customs::get(state.store.as_ref(), &p, &no).await?))
}
