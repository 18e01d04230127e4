//! API keys: an admin issues keys for regulators and the national platform; a regulator issues keys for the
//! enterprises of its province. The key is shown once; only its hash is stored.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_service::credentials::create_key;
use uuid::Uuid;

use crate::AppState;
use crate::authz::require_role;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth};

/// A new key, shown once.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IssuedKey {
    pub credential_id: Uuid,
    pub role: Role,
    /// The secret. It cannot be shown again.
    pub api_key: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    pub role: Role,
    /// Required for a regulator: the province code (`33`).
    pub province: Option<String>,
    pub label: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/credentials", tag = "access", request_body = CredentialRequest,
    responses((status = 201, body = IssuedKey), (status = 403, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<CredentialRequest>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    require_role(&p, &[Role::Admin], "issue platform credentials")?;
    let r = body.value;
    let province = match (r.role, r.province.as_deref()) {
        (Role::Regulator, Some(pr)) => Some(
            ProvinceCode::parse(pr).map_err(|e| ApiError::invalid("province", e.to_string()))?,
        ),
        (Role::Regulator, None) => {
            return Err(ApiError::invalid("province", "is required for a regulator"));
        }
        (Role::Enterprise, _) => {
            return Err(ApiError::invalid(
                "role",
                "enterprise keys are issued by the enterprise's regulator",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "province",
                "only a regulator has a province",
            ));
        }
        (_, None) => None,
    };
    let k = create_key(
        state.store.as_ref(),
        r.role,
        province,
        None,
        &r.label.unwrap_or_default(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedKey {
            credential_id: k.credential_id,
            role: r.role,
            api_key: k.key,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/credentials", tag = "access",
    responses((status = 201, body = IssuedKey), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_for_enterprise(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    require_role(&p, &[Role::Regulator], "issue enterprise credentials")?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("enterprise"))?;
    let e = state
        .store
        .enterprise(id)
        .await?
        .ok_or(ApiError::NotFound("enterprise"))?;
    if Some(&e.record.region.province()) != p.province.as_ref() {
        return Err(ApiError::NotFound("enterprise"));
    }
    let k = create_key(
        state.store.as_ref(),
        Role::Enterprise,
        None,
        Some(id),
        &e.record.name,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedKey {
            credential_id: k.credential_id,
            role: Role::Enterprise,
            api_key: k.key,
        }),
    ))
}
