//! Batches, and finding a batch by any of its trace codes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use coldtrace_domain::{BatchDraft, SubmissionDraft, TraceCode};
use coldtrace_store::BatchFilter;

use uuid::Uuid;

use crate::AppState;
use crate::authz::{batch_visible, scope};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Auth, PageOf, PageQuery, next_cursor};
use crate::routes::submissions::create_one;
use crate::views::{BatchDetail, CodeLookup, CodeSays};
use coldtrace_domain::Batch;
use coldtrace_store::Stored;

#[utoipa::path(post, path = "/api/v1/batches", tag = "records", request_body = BatchDraft,
    responses((status = 201, body = coldtrace_store::Receipt), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: ApiJson<BatchDraft>,
) -> Result<Response, ApiError> {
    let draft = SubmissionDraft {
        batches: vec![body.value],
        ..Default::default()
    };
    create_one(&state, &p, &headers, draft, "batches", &body.body_hash).await
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    pub after: Option<i64>,
    pub limit: Option<u32>,
    pub batch_no: Option<String>,
    pub product: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/batches", tag = "records", params(BatchQuery),
    responses((status = 200, body = PageOf<Stored<Batch>>, description = "batches the caller owns or holds (or, for a regulator, its province's)")),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<BatchQuery>,
) -> Result<Json<PageOf<Stored<Batch>>>, ApiError> {
    let page = PageQuery {
        after: q.after,
        limit: q.limit,
    }
    .page()?;
    let filter = BatchFilter {
        batch_no: q.batch_no,
        product: q.product,
    };
    let rows = state.store.batches(&scope(&p), &filter, page).await?;
    let next = next_cursor(&rows, page.limit, |r| r.seq);
    Ok(Json(PageOf { items: rows, next }))
}

#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "records",
    responses((status = 200, body = BatchDetail, description = "the batch with its documents and codes"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<BatchDetail>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("batch"))?;
    Ok(Json(batch_with_documents(&state, &p, id).await?))
}

async fn batch_with_documents(
    state: &AppState,
    p: &coldtrace_domain::Principal,
    id: Uuid,
) -> Result<BatchDetail, ApiError> {
    if !batch_visible(state, p, id).await? {
        return Err(ApiError::NotFound("batch"));
    }
    let b = state
        .store
        .batch(id)
        .await?
        .ok_or(ApiError::NotFound("batch"))?;
    let docs = state.store.documents_of(id).await?;
    let product = state.store.product(b.record.product).await?;
    let owner = state.store.enterprise(b.record.owner).await?;
    // Where the goods are now, from the trace index.
    let mut holders = Vec::new();
    if let Ok(start) = state
        .tracer
        .seeds(
            state.store.as_ref(),
            &coldtrace_service::TraceFrom::Batch(id),
        )
        .await
    {
        let a = state.tracer.answer(
            start,
            coldtrace_trace::Direction::Both,
            coldtrace_trace::TimeMode::Strict,
            p,
        );
        for h in &a.holders {
            if p.role == coldtrace_domain::Role::Enterprise && h.enterprise != p.enterprise {
                continue;
            }
            for l in h.lots.iter().filter(|l| l.batch == id && l.on_hand > 0.0) {
                holders.push(crate::views::Holding {
                    holder: h.name.to_string(),
                    province: h.province.as_deref().map(str::to_string),
                    on_hand: l.on_hand,
                    unit: l.unit.to_string(),
                });
            }
        }
    }
    let open_incidents = coldtrace_service::incidents::open_for_batch(state.store.as_ref(), id)
        .await
        .map_err(coldtrace_service::ServiceError::from)?
        .into_iter()
        .filter(|r| coldtrace_service::incidents::may_see(p, &r.incident))
        .map(|r| crate::views::IncidentRef {
            id: r.incident.id,
            subject: r.incident.subject,
        })
        .collect();
    // The findings the caller may see (the scope of any other role sees none).
    let mut open_findings = Vec::new();
    for status in [
        coldtrace_store::FindingStatus::Open,
        coldtrace_store::FindingStatus::Answered,
    ] {
        let filter = coldtrace_store::FindingFilter {
            batch: Some(id),
            status: Some(status),
            ..Default::default()
        };
        open_findings.extend(
            state
                .store
                .findings(coldtrace_store::Scope::of(p), filter, None, 100)
                .await?
                .into_iter()
                .map(|(_, f)| f),
        );
    }
    Ok(BatchDetail {
        published: state.store.is_published(id).await?,
        product_name: product.as_ref().map(|p| p.record.name.clone()),
        origin_country: product
            .as_ref()
            .map(|p| p.record.origin_country.as_str().to_string()),
        // An enterprise downstream sees the batch, not who owns it (a name goes only to the parties themselves).
        owner_name: owner
            .filter(|o| {
                p.role != coldtrace_domain::Role::Enterprise || p.enterprise == Some(o.record.id)
            })
            .map(|o| o.record.name),
        batch: b,
        documents: docs,
        // Every code, including the one the platform issued in its province's scheme.
        codes: state.store.codes_of(id).await?,
        holders,
        open_incidents,
        open_findings,
    })
}

#[utoipa::path(get, path = "/api/v1/codes/{code}", tag = "records",
    params(("code" = String, Path, description = "any trace code: GS1 element string or Digital Link, URL, issued, USCC-based, customs")),
    responses((status = 200, body = CodeLookup, description = "the batch the code identifies, and what the code itself says"),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn by_code(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(code): Path<String>,
) -> Result<Json<CodeLookup>, ApiError> {
    let code = TraceCode::parse(&code, None).map_err(|e| ApiError::invalid("code", e))?;
    let says = match code.gs1() {
        Some(g) => CodeSays {
            gtin: Some(g.gtin.as_str().to_string()),
            batch_no: g.batch,
            serial: g.serial,
            expiry: g.expiry,
        },
        None => CodeSays::default(),
    };
    let id = state
        .store
        .batch_by_code(&code.key)
        .await?
        .ok_or(ApiError::NotFound("batch for this code"))?;
    let batch = batch_with_documents(&state, &p, id)
        .await
        .map_err(|_| ApiError::NotFound("batch for this code"))?;
    Ok(Json(CodeLookup { code, says, batch }))
}
