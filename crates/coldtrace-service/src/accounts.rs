//! Accounts (人员账号) and console sessions: a person signs in with a login and a password and gets a session,
//! a credential that works for [`SESSION_HOURS`] and names the person, so that the audit trail says who acted.
//! Passwords are kept only as argon2id hashes (PHC strings); hashing and checking run off the async threads.
//!
//! Who manages which accounts follows who issues which keys: an administrator the platform's regulators and
//! national staff; a regulator its province's regulators and the staff of its province's enterprises; an
//! enterprise its own staff.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use coldtrace_domain::{Principal, ProvinceCode, Role};
use coldtrace_store::{Account, AccountInfo, Credential, Store};
use uuid::Uuid;

use crate::credentials::{hash_key, new_key};
use crate::error::ServiceError;

/// How long a console session works.
pub const SESSION_HOURS: i64 = 8;
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// The longest password accepted (hashing cost grows with it).
pub const MAX_PASSWORD: usize = 256;

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub province: Option<ProvinceCode>,
    pub enterprise: Option<Uuid>,
    pub password: String,
}

/// A session just opened: the token (shown once), when it stops working, and the account.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`, like an API key.
    pub token: String,
    pub credential_id: Uuid,
    pub expires_at_ms: i64,
    pub account: AccountInfo,
}

fn hash_password(password: String) -> Result<String, ServiceError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(internal)?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(internal)?
        .to_string())
}

fn internal(e: argon2::password_hash::Error) -> ServiceError {
    ServiceError::Internal(e.to_string().into())
}

/// A hash of a password nobody has, checked when the login is unknown so that both answers take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(new_key()).expect("hashing a random password"))
}

fn password_ok(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Whether `who` manages accounts of this role and tenant; `None` is the operator at the command line.
async fn manages(
    store: &dyn Store,
    who: Option<&Principal>,
    role: Role,
    province: Option<&ProvinceCode>,
    enterprise: Option<Uuid>,
) -> Result<bool, ServiceError> {
    let Some(who) = who else { return Ok(true) };
    Ok(match who.role {
        Role::Admin => matches!(role, Role::Regulator | Role::National | Role::Admin),
        Role::Regulator => match (role, enterprise) {
            (Role::Regulator, _) => province.is_some() && province == who.province.as_ref(),
            (Role::Enterprise, Some(e)) => {
                crate::credentials::in_province(store, e, who.province.as_ref()).await?
            }
            _ => false,
        },
        Role::Enterprise => {
            role == Role::Enterprise && enterprise.is_some() && enterprise == who.enterprise
        }
        _ => false,
    })
}

fn check(n: &NewAccount) -> Result<(), ServiceError> {
    let mut errors = coldtrace_domain::ValidationErrors::default();
    let login_ok = (3..=64).contains(&n.login.chars().count())
        && n.login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !login_ok {
        errors.push(
            "login",
            "3 to 64 characters: letters, digits, '.', '_', '-' or '@'",
        );
    }
    let name = n.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("name", "is required, at most 100 characters");
    }
    let len = n.password.chars().count();
    let distinct = n
        .password
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
        errors.push(
            "password",
            format!("must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        );
    } else if n.password.chars().any(char::is_control) || n.password.trim().is_empty() {
        errors.push("password", "must not be blank or hold control characters");
    } else if distinct < 5 || n.password.chars().all(|c| c.is_ascii_digit()) {
        errors.push(
            "password",
            "is too easy to guess: use at least 5 different characters, not only digits",
        );
    } else if n.password.to_lowercase().contains(&n.login.to_lowercase()) {
        errors.push("password", "must not contain the login");
    }
    match (n.role, &n.province, n.enterprise) {
        (Role::Regulator, None, _) => errors.push("province", "is required for a regulator"),
        (Role::Enterprise, _, None) => {
            errors.push("enterprise", "is required for an enterprise's staff")
        }
        (Role::Regulator, _, Some(_)) | (Role::National | Role::Admin, _, Some(_)) => errors.push(
            "enterprise",
            "only an enterprise's staff have an enterprise",
        ),
        (Role::Enterprise | Role::National | Role::Admin, Some(_), _) => {
            errors.push("province", "only a regulator has a province")
        }
        _ => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::from(errors))
    }
}

/// Creates an account; `who` is the caller (`None`: the operator at the command line).
pub async fn create(
    store: &dyn Store,
    who: Option<&Principal>,
    n: NewAccount,
) -> Result<AccountInfo, ServiceError> {
    // Logins are told apart regardless of case: `duty.tj` and `DUTY.TJ` are one login.
    let n = NewAccount {
        login: n.login.trim().to_ascii_lowercase(),
        ..n
    };
    check(&n)?;
    if !manages(store, who, n.role, n.province.as_ref(), n.enterprise).await? {
        return Err(match who.map(|w| w.role) {
            Some(Role::Admin | Role::Regulator | Role::Enterprise) => {
                ServiceError::NotFound("enterprise or province")
            }
            _ => ServiceError::Forbidden("this role does not manage accounts".into()),
        });
    }
    if n.role == Role::Enterprise
        && let Some(e) = n.enterprise
        && store.enterprise(e).await?.is_none()
    {
        return Err(ServiceError::NotFound("enterprise"));
    }
    let password = n.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(password))
        .await
        .map_err(ServiceError::internal)??;
    let account = Account {
        id: Uuid::now_v7(),
        login: n.login,
        name: n.name.trim().to_string(),
        role: n.role,
        enterprise: n.enterprise,
        province: n.province,
        password_hash,
        disabled: false,
        created_at_ms: jiff::Timestamp::now().as_millisecond(),
    };
    if !store.create_account(account.clone()).await? {
        return Err(ServiceError::Conflict(vec![
            coldtrace_domain::FieldError::new("login", "is taken"),
        ]));
    }
    Ok(account.info())
}

/// The accounts `who` manages (`None`: the operator at the command line, every account).
pub async fn list(
    store: &dyn Store,
    who: Option<&Principal>,
) -> Result<Vec<AccountInfo>, ServiceError> {
    let mut out = Vec::new();
    for a in store.accounts().await? {
        if manages(store, who, a.role, a.province.as_ref(), a.enterprise).await? {
            out.push(a.info());
        }
    }
    Ok(out)
}

/// Disables an account and ends its sessions at once; disabling twice is harmless.
pub async fn disable(
    store: &dyn Store,
    who: Option<&Principal>,
    id: Uuid,
) -> Result<AccountInfo, ServiceError> {
    match store.account(id).await? {
        Some(a) if manages(store, who, a.role, a.province.as_ref(), a.enterprise).await? => {}
        // Another tenant's account and none at all get the same answer.
        _ => return Err(ServiceError::NotFound("account")),
    }
    store.disable_account(id).await?;
    Ok(store
        .account(id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?
        .info())
}

/// Opens a session for a login and password. A wrong password, an unknown login and a disabled account get the
/// same answer after the same work.
pub async fn sign_in(
    store: &dyn Store,
    login: &str,
    password: &str,
) -> Result<Session, ServiceError> {
    if password.chars().count() > MAX_PASSWORD || login.chars().count() > 64 {
        return Err(ServiceError::SignInRefused);
    }
    let account = store
        .account_by_login(&login.trim().to_ascii_lowercase())
        .await?;
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || password_ok(&hash, &pw))
        .await
        .map_err(ServiceError::internal)?;
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        _ => return Err(ServiceError::SignInRefused),
    };
    let token = new_key();
    let credential_id = Uuid::now_v7();
    let expires_at_ms = jiff::Timestamp::now().as_millisecond() + SESSION_HOURS * 3_600_000;
    store
        .create_credential(Credential {
            id: credential_id,
            key_hash: hash_key(&token),
            role: account.role,
            enterprise: account.enterprise,
            province: account.province.clone(),
            label: format!("session of {}", account.login),
            revoked: false,
            expires_at_ms: Some(expires_at_ms),
            account: Some(account.login.clone()),
        })
        .await?;
    Ok(Session {
        token,
        credential_id,
        expires_at_ms,
        account: account.info(),
    })
}

/// Ends the caller's session (signing out); a caller with an API key, not a session, is refused.
pub async fn sign_out(store: &dyn Store, who: &Principal) -> Result<(), ServiceError> {
    if who.person.is_none() {
        return Err(ServiceError::invalid(
            "authorization",
            "this is an API key, not a session; keys are revoked under /credentials",
        ));
    }
    store.revoke_credential(who.credential).await?;
    Ok(())
}
