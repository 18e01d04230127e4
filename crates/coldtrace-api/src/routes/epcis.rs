//! EPCIS 2.0 over GS1's REST binding: `POST /epcis/capture` (202 and the job's `Location`),
//! `GET /epcis/capture/{id}` (the job's status and errors), `GET /epcis/events` (the standard query parameters,
//! an `EPCISQueryDocument`, a `Link` to the next page). Bearer API keys and tenant rules as for `/api/v1`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coldtrace_store::epcis::{CaptureJob, ErrorBehaviour, JobError};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth, RawBody};

/// The JSON-LD context of the documents this repository answers with.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// A capture job's status, in the REST binding's shape.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptureJobView {
    #[serde(rename = "captureID")]
    pub capture_id: Uuid,
    /// RFC 3339.
    pub created_at: String,
    pub finished_at: Option<String>,
    pub running: bool,
    /// Finished without an error.
    pub success: bool,
    /// `rollback` or `proceed`.
    pub capture_error_behaviour: ErrorBehaviour,
    /// Each wrong event by its index in the document and a JSON pointer to the field.
    pub errors: Vec<JobError>,
    /// Events stored, and events already stored before (same event hash or eventID).
    pub captured: u64,
    pub duplicates: u64,
    /// Events stored in the repository that the trace does not take (goods the platform does not know: no
    /// product of the enterprise with the GTIN, no batch with the code), by index and pointer, with why.
    pub notes: Vec<JobError>,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl From<CaptureJob> for CaptureJobView {
    fn from(j: CaptureJob) -> Self {
        Self {
            capture_id: j.id,
            created_at: rfc3339(j.created_ms),
            finished_at: j.finished_ms.map(rfc3339),
            running: j.finished_ms.is_none(),
            success: j.success,
            capture_error_behaviour: j.behaviour,
            errors: j.errors,
            captured: j.captured,
            duplicates: j.duplicates,
            notes: j.notes,
        }
    }
}

/// The answer to a query: an EPCIS query document.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryDocument {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// `EPCISQueryDocument`.
    #[serde(rename = "type")]
    pub kind: String,
    pub schema_version: String,
    pub creation_date: String,
    pub epcis_body: QueryBody,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryBody {
    pub query_results: QueryResults,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryResults {
    pub query_name: String,
    pub results_body: ResultsBody,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultsBody {
    /// The events as captured, each with the `recordTime` the repository gave it. Events are open JSON-LD
    /// objects (extensions are kept), so each is any object.
    #[schema(value_type = Vec<EventView>)]
    pub event_list: Vec<serde_json::Value>,
}

/// An EPCIS event as stored (the common fields; every other field the sender gave, extensions included, is
/// kept as sent).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `ObjectEvent`, `AggregationEvent`, `TransactionEvent`, `TransformationEvent`, `AssociationEvent`.
    #[serde(rename = "type")]
    pub kind: String,
    pub event_time: String,
    pub event_time_zone_offset: String,
    /// When this repository stored it.
    pub record_time: String,
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    /// `ADD`, `OBSERVE`, `DELETE`.
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub epc_list: Option<Vec<String>>,
    #[serde(rename = "parentID")]
    pub parent_id: Option<String>,
    pub child_epcs: Option<Vec<String>>,
    pub input_epc_list: Option<Vec<String>>,
    pub output_epc_list: Option<Vec<String>>,
}

/// A capture accepted.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CaptureAccepted {
    /// The job; its status is at `/epcis/capture/{captureID}` (the `Location`).
    #[serde(rename = "captureID")]
    pub capture_id: Uuid,
}

fn behaviour(h: &HeaderMap) -> Result<ErrorBehaviour, ApiError> {
    match h
        .get("gs1-capture-error-behaviour")
        .map(|v| v.to_str().unwrap_or(""))
    {
        None | Some("rollback") => Ok(ErrorBehaviour::Rollback),
        Some("proceed") => Ok(ErrorBehaviour::Proceed),
        Some(other) => Err(ApiError::invalid(
            "GS1-Capture-Error-Behaviour",
            format!("{other:?} is not rollback or proceed"),
        )),
    }
}

#[utoipa::path(post, path = "/epcis/capture", tag = "epcis",
    request_body(content = Object, description = "an EPCISDocument, an EPCISQueryDocument or one event (JSON / JSON-LD)"),
    params(("GS1-Capture-Error-Behaviour" = Option<String>, Header, description = "rollback (default) or proceed")),
    responses((status = 202, body = CaptureAccepted, description = "capture job created; its status is at the Location"),
              (status = 413, body = crate::error::ErrorBody, description = "more events than the capture limit"),
              (status = 422, body = crate::error::ErrorBody, description = "not JSON, or not an EPCIS document or event")),
    security(("api_key" = [])))]
pub async fn capture(
    State(state): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let b = behaviour(&headers)?;
    let id = state.platform.capture_epcis(&p, &body, b).await?;
    let mut resp = (
        StatusCode::ACCEPTED,
        Json(CaptureAccepted { capture_id: id }),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/epcis/capture/{id}")).expect("ascii"),
    );
    h.insert(
        "gs1-epcis-capture-limit",
        HeaderValue::from(coldtrace_service::platform::epcis::CAPTURE_LIMIT),
    );
    Ok(resp)
}

#[utoipa::path(get, path = "/epcis/capture/{id}", tag = "epcis",
    params(("id" = Uuid, Path, description = "the capture job")),
    responses((status = 200, body = CaptureJobView), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn job(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<CaptureJobView>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("capture job"))?;
    Ok(Json(state.platform.capture_job(&p, id).await?.into()))
}

#[utoipa::path(get, path = "/epcis/events", tag = "epcis",
    params(
        ("eventType" = Option<String>, Query, description = "ObjectEvent|AggregationEvent|…"),
        ("GE_eventTime" = Option<String>, Query), ("LT_eventTime" = Option<String>, Query),
        ("GE_recordTime" = Option<String>, Query), ("LT_recordTime" = Option<String>, Query),
        ("EQ_action" = Option<String>, Query), ("EQ_bizStep" = Option<String>, Query),
        ("EQ_disposition" = Option<String>, Query), ("EQ_bizLocation" = Option<String>, Query),
        ("EQ_readPoint" = Option<String>, Query), ("MATCH_epc" = Option<String>, Query),
        ("MATCH_anyEPC" = Option<String>, Query), ("MATCH_epcClass" = Option<String>, Query),
        ("MATCH_anyEPCClass" = Option<String>, Query), ("MATCH_parentID" = Option<String>, Query),
        ("MATCH_inputEPC" = Option<String>, Query), ("MATCH_outputEPC" = Option<String>, Query),
        ("perPage" = Option<usize>, Query, description = "1 to 1000, default 30"),
        ("nextPageToken" = Option<String>, Query, description = "from the Link of the page before"),
        ("orderDirection" = Option<String>, Query, description = "ASC (default) or DESC"),
    ),
    responses((status = 200, body = QueryDocument, description = "the events; a Link header with rel=\"next\" when more follow"),
              (status = 422, body = crate::error::ErrorBody, description = "a parameter this repository does not know, or a wrong value, named")),
    security(("api_key" = [])))]
pub async fn events(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let page = state.platform.epcis_events(&p, &pairs).await?;
    let mut list = Vec::with_capacity(page.events.len());
    for e in page.events {
        let mut v: serde_json::Value =
            serde_json::from_str(&e.body).map_err(|e| ApiError::Internal(Box::new(e)))?;
        if let Some(m) = v.as_object_mut() {
            m.insert("recordTime".into(), rfc3339(e.record_time_ms).into());
        }
        list.push(v);
    }
    let doc = QueryDocument {
        context: vec![EPCIS_CONTEXT.into()],
        kind: "EPCISQueryDocument".into(),
        schema_version: "2.0".into(),
        creation_date: jiff::Timestamp::now().to_string(),
        epcis_body: QueryBody {
            query_results: QueryResults {
                query_name: "SimpleEventQuery".into(),
                results_body: ResultsBody { event_list: list },
            },
        },
    };
    let mut resp = Json(doc).into_response();
    resp.headers_mut()
        .insert("gs1-epcis-version", HeaderValue::from_static("2.0.0"));
    if let Some(next) = page.next {
        let mut q: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| k != "nextPageToken")
            .collect();
        q.push(("nextPageToken".into(), next.to_string()));
        let qs: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let link = format!("</epcis/events?{}>; rel=\"next\"", qs.join("&"));
        resp.headers_mut().insert(
            header::LINK,
            HeaderValue::from_str(&link).map_err(|e| ApiError::Internal(Box::new(e)))?,
        );
    }
    Ok(resp)
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
