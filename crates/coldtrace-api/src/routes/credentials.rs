//! API keys: an admin issues keys for regulators and the national platform; a regulator issues keys for the
//! enterprises of its province. The key is shown once; only its hash is stored.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_service::credentials::create_key_until;
use coldtrace_store::CredentialInfo;
use uuid::Uuid;

use crate::AppState;
use crate::authz::require_role;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, RawBody};

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
    /// Days the key works, 1 to 3650 (default 365).
    pub expires_in_days: Option<u32>,
}

/// Options of an enterprise key.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseKeyRequest {
    /// Days the key works, 1 to 3650 (default 365).
    pub expires_in_days: Option<u32>,
}

fn expiry(days: Option<u32>) -> Result<Option<i64>, ApiError> {
    let days = days.unwrap_or(coldtrace_service::credentials::DEFAULT_KEY_DAYS);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::invalid(
            "expires_in_days",
            "must be between 1 and 3650",
        ));
    }
    Ok(Some(
        jiff::Timestamp::now().as_millisecond() + days as i64 * 86_400_000,
    ))
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
    let k = create_key_until(
        state.store.as_ref(),
        r.role,
        province,
        None,
        &r.label.unwrap_or_default(),
        expiry(r.expires_in_days)?,
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
    request_body = EnterpriseKeyRequest,
    responses((status = 201, body = IssuedKey), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_for_enterprise(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    // The body is optional: none, or a JSON object with options.
    let opts: EnterpriseKeyRequest = if body.iter().all(u8::is_ascii_whitespace) {
        EnterpriseKeyRequest::default()
    } else {
        crate::extract::parse_json(&body)?
    };
    let days = opts.expires_in_days;
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
    let k = create_key_until(
        state.store.as_ref(),
        Role::Enterprise,
        None,
        Some(id),
        &e.record.name,
        expiry(days)?,
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

/// The keys the caller manages (an administrator all; a regulator its province's; an enterprise its own).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialList {
    pub items: Vec<CredentialInfo>,
}

#[utoipa::path(get, path = "/api/v1/credentials", tag = "access",
    responses((status = 200, body = CredentialList)), security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<CredentialList>, ApiError> {
    Ok(Json(CredentialList {
        items: coldtrace_service::credentials::list(state.store.as_ref(), &p).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/revoke", tag = "access",
    responses((status = 200, body = CredentialInfo, description = "revoked: the key stops working at once"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<CredentialInfo>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("credential"))?;
    Ok(Json(
        coldtrace_service::credentials::revoke(state.store.as_ref(), &p, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/rotate", tag = "access",
    responses((status = 201, body = IssuedKey, description = "a new key for the same holder; the old one is revoked"),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("credential"))?;
    let k = coldtrace_service::credentials::rotate(
        state.store.as_ref(),
        &p,
        id,
        jiff::Timestamp::now().as_millisecond(),
    )
    .await?;
    let role = state
        .store
        .credential(k.credential_id)
        .await?
        .map(|c| c.role)
        .unwrap_or(p.role);
    Ok((
        StatusCode::CREATED,
        Json(IssuedKey {
            credential_id: k.credential_id,
            role,
            api_key: k.key,
        }),
    ))
}
