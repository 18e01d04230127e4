//! `GET /api/v1/gs1/parse?code=…`: what a GS1 code says, read by the same parser as every other entry point.

use axum::Json;
use coldtrace_domain::gs1::dictionary::Dictionary;
use coldtrace_domain::gs1::{GS1_RESOLVER, Gs1Code};

use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ParseQuery {
    /// A GS1 code in any form: `(01)…(10)…`, a raw scanner string (FNC1 as GS, `]C1`, `]d2`, `]Q3`, `]e0`), a
    /// Digital Link URI on any domain, or an EPC URN.
    pub code: String,
}

/// One AI of the code.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ParsedAi {
    pub ai: String,
    pub value: String,
    /// GS1's short title of the AI (`BATCH/LOT`, `NET WEIGHT (kg)`).
    pub title: String,
}

/// A GS1 code read.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Gs1Parsed {
    pub ais: Vec<ParsedAi>,
    /// The bracketed element string, `(01)09520123456788(10)ABC`.
    pub element_string: String,
    /// The GS1 Digital Link URI on GS1's resolver; null when the code holds no GS1 key.
    pub digital_link: Option<String>,
    /// The identity the platform looks the goods up by (key and qualifiers); null without a GS1 key.
    pub key: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/gs1/parse", tag = "records", params(ParseQuery),
    responses((status = 200, body = Gs1Parsed, description = "the AIs the code holds, checked against GS1's dictionary"),
              (status = 422, body = crate::error::ErrorBody, description = "`code` refused, with the AI at fault and the reason")),
    security(("api_key" = [])))]
pub async fn parse(
    _: Auth,
    ApiQuery(q): ApiQuery<ParseQuery>,
) -> Result<Json<Gs1Parsed>, ApiError> {
    let code = Gs1Code::parse(&q.code).map_err(|e| ApiError::invalid("code", e.to_string()))?;
    let dict = Dictionary::get();
    Ok(Json(Gs1Parsed {
        ais: code
            .ais()
            .iter()
            .map(|a| ParsedAi {
                ai: a.ai.clone(),
                value: a.value.clone(),
                title: dict
                    .spec(&a.ai)
                    .map(|s| s.title.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        element_string: code.element_string(),
        digital_link: code.digital_link(GS1_RESOLVER),
        key: code.key(),
    }))
}
