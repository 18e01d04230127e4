//! Movements: a holder's ledger lines.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use coldtrace_domain::{MovementDraft, SubmissionDraft};
use coldtrace_store::MovementFilter;

use uuid::Uuid;

use crate::AppState;
use crate::authz::{batch_visible, movement_visible, scope};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, PageOf, PageQuery, next_cursor};
use crate::routes::submissions::create_one;
use crate::views;
use coldtrace_domain::Movement;
use coldtrace_store::Stored;

#[utoipa::path(post, path = "/api/v1/movements", tag = "records", request_body = MovementDraft,
    responses((status = 201, body = coldtrace_store::Receipt), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: ApiJson<MovementDraft>,
) -> Result<Response, ApiError> {
    let draft = SubmissionDraft {
        movements: vec![body.value],
        ..Default::default()
    };
    create_one(&state, &p, &headers, draft, "movements", &body.body_hash).await
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementQuery {
    pub after: Option<i64>,
    pub limit: Option<u32>,
    /// Only movements of this batch (as moved, consumed or produced).
    pub batch: Option<Uuid>,
    /// Only this holder's movements.
    pub holder: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/movements", tag = "records", params(MovementQuery),
    responses((status = 200, body = PageOf<Stored<Movement>>, description = "movements the caller may see")), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<MovementQuery>,
) -> Result<Json<PageOf<Stored<Movement>>>, ApiError> {
    let page = PageQuery {
        after: q.after,
        limit: q.limit,
    }
    .page()?;
    if let Some(b) = q.batch
        && !batch_visible(&state, &p, b).await?
    {
        return Err(ApiError::NotFound("batch"));
    }
    let filter = MovementFilter {
        batch: q.batch,
        holder: q.holder,
    };
    let rows = state.store.movements(&scope(&p), &filter, page).await?;
    let next = next_cursor(&rows, page.limit, |r| r.seq);
    let items = rows.iter().map(|m| views::movement(m, &p)).collect();
    Ok(Json(PageOf { items, next }))
}

#[utoipa::path(get, path = "/api/v1/movements/{id}", tag = "records",
    responses((status = 200, body = Stored<Movement>, description = "the movement"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Stored<Movement>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("movement"))?;
    let m = state
        .store
        .movement(id)
        .await?
        .ok_or(ApiError::NotFound("movement"))?;
    if !movement_visible(&state, &p, &m).await? {
        return Err(ApiError::NotFound("movement"));
    }
    Ok(Json(views::movement(&m, &p)))
}
