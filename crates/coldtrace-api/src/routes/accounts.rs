//! Accounts and console sessions: a person signs in with a login and a password (`POST /api/v1/sessions`) and
//! uses the session's token like an API key for eight hours; whoever issues keys for a role and tenant manages
//! the accounts for them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_service::accounts::{self, NewAccount, Session};
use coldtrace_store::AccountInfo;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, AuditActor, AuditSlot, Auth};

/// A person's account to create.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    /// The sign-in name: 3 to 64 letters, digits, `.`, `_`, `-` or `@`; unique on the platform.
    pub login: String,
    /// The person's name.
    pub name: String,
    pub role: Role,
    /// A regulator's province (`12`).
    pub province: Option<String>,
    /// An enterprise's staff: the enterprise's id.
    pub enterprise: Option<Uuid>,
    /// 10 to 256 characters; kept only as an argon2id hash.
    pub password: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountList {
    pub items: Vec<AccountInfo>,
}

/// A sign-in.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub login: String,
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "access", request_body = AccountRequest,
    responses((status = 201, body = AccountInfo), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody, description = "the login is taken"),
              (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: ApiJson<AccountRequest>,
) -> Result<(StatusCode, Json<AccountInfo>), ApiError> {
    let r = body.value;
    let province = r
        .province
        .as_deref()
        .map(ProvinceCode::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("province", e.to_string()))?;
    let a = accounts::create(
        state.store.as_ref(),
        Some(&p),
        NewAccount {
            login: r.login,
            name: r.name,
            role: r.role,
            province,
            enterprise: r.enterprise,
            password: r.password,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(get, path = "/api/v1/accounts", tag = "access",
    responses((status = 200, body = AccountList, description = "the accounts the caller manages")),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<AccountList>, ApiError> {
    Ok(Json(AccountList {
        items: accounts::list(state.store.as_ref(), Some(&p)).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/disable", tag = "access",
    responses((status = 200, body = AccountInfo, description = "disabled; its sessions end at once"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<AccountInfo>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("account"))?;
    Ok(Json(
        accounts::disable(state.store.as_ref(), Some(&p), id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "access", request_body = SignIn,
    responses((status = 201, body = Session, description = "signed in: the token works for 8 hours"),
              (status = 401, body = crate::error::ErrorBody, description = "wrong login or password"),
              (status = 429, body = crate::error::ErrorBody, description = "too many failed sign-ins from this address")))]
pub async fn sign_in(
    State(state): State<AppState>,
    slot: Option<Extension<AuditSlot>>,
    body: ApiJson<SignIn>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let r = body.value;
    // The trail names the login tried, whatever the outcome.
    if let Some(Extension(slot)) = &slot {
        *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(AuditActor {
            actor: format!("login:{}", r.login.chars().take(64).collect::<String>()),
            role: None,
            province: None,
        });
    }
    let login = r.login.trim().to_ascii_lowercase();
    if let Some(wait) = state.limiter.login_locked(&login) {
        return Err(ApiError::TooManyRequests(format!(
            "too many failed sign-ins for this login; retry in {} s",
            wait.as_secs().max(1)
        )));
    }
    let s = match accounts::sign_in(state.store.as_ref(), &r.login, &r.password).await {
        Ok(s) => s,
        Err(e @ coldtrace_service::ServiceError::SignInRefused) => {
            state.limiter.sign_in_failed(&login);
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(Extension(slot)) = slot {
        *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(AuditActor {
            actor: format!("login:{}#{}", s.account.login, s.credential_id),
            role: Some(s.account.role.as_str().to_string()),
            province: s.account.province.as_ref().map(|x| x.as_str().to_string()),
        });
    }
    Ok((StatusCode::CREATED, Json(s)))
}

/// A session ended.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionEnded {
    /// The session's credential, now revoked.
    pub credential_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/sessions/end", tag = "access",
    responses((status = 200, body = SessionEnded, description = "signed out: the session's token stops working"),
              (status = 422, body = crate::error::ErrorBody, description = "an API key is not a session")),
    security(("api_key" = [])))]
pub async fn sign_out(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<SessionEnded>, ApiError> {
    accounts::sign_out(state.store.as_ref(), &p).await?;
    Ok(Json(SessionEnded {
        credential_id: p.credential,
    }))
}
