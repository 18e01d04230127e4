//! Credentials (访问凭证): API keys for people and systems, and docking clients for provinces. Keys are random
//! secrets shown once and stored only as SHA-256 hashes.

use coldtrace_domain::{Principal, ProvinceCode, Role};
use coldtrace_store::{Credential, CredentialInfo, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ServiceError;

/// A fresh key: `ct_` and 48 hex characters (192 bits of randomness).
pub fn new_key() -> String {
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    format!("ct_{}", hex::encode(b))
}

/// What the store keeps of a key. A plain hash suffices: the keys are random, not chosen passwords.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A key just issued: its credential id and the secret, which is shown once.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub credential_id: Uuid,
    pub key: String,
}

/// Stores a new key for a role and its tenant (a regulator's province, an enterprise) and returns it. Every way
/// of issuing a key (the admin's and regulators' API, the command line, tests) goes through here.
pub async fn create_key(
    store: &dyn Store,
    role: Role,
    province: Option<ProvinceCode>,
    enterprise: Option<Uuid>,
    label: &str,
) -> Result<NewKey, ServiceError> {
    create_key_until(store, role, province, enterprise, label, None).await
}

/// [`create_key`] with an expiry (Unix ms); the key stops working then.
pub async fn create_key_until(
    store: &dyn Store,
    role: Role,
    province: Option<ProvinceCode>,
    enterprise: Option<Uuid>,
    label: &str,
    expires_at_ms: Option<i64>,
) -> Result<NewKey, ServiceError> {
    let key = new_key();
    let credential_id = Uuid::now_v7();
    store
        .create_credential(Credential {
            id: credential_id,
            key_hash: hash_key(&key),
            role,
            enterprise,
            province,
            label: label.to_string(),
            revoked: false,
            expires_at_ms,
            account: None,
        })
        .await?;
    Ok(NewKey { credential_id, key })
}

/// Issues an API key directly into a store (bootstrapping the first regulator, or an operator's tooling) and
/// returns it; it is shown once. A regulator needs its province; an enterprise key names its enterprise by USCC.
pub async fn issue_key(
    store: &dyn Store,
    role: Role,
    province: Option<&str>,
    enterprise_uscc: Option<&str>,
    label: &str,
    expires_at_ms: Option<i64>,
) -> Result<String, ServiceError> {
    let province = match (role, province) {
        (Role::Regulator | Role::Customs, Some(p)) => Some(
            ProvinceCode::parse(p).map_err(|e| ServiceError::invalid("province", e.to_string()))?,
        ),
        (Role::Regulator | Role::Customs, None) => {
            return Err(ServiceError::invalid(
                "province",
                "a regulator or customs key needs a province (customs: the platform it feeds)",
            ));
        }
        _ => None,
    };
    let enterprise = match (role, enterprise_uscc) {
        (Role::Enterprise, Some(u)) => Some(
            store
                .enterprise_by_uscc(u)
                .await?
                .ok_or(ServiceError::NotFound("enterprise with this USCC"))?
                .record
                .id,
        ),
        (Role::Enterprise, None) => {
            return Err(ServiceError::invalid(
                "enterprise",
                "an enterprise key needs the enterprise's USCC",
            ));
        }
        _ => None,
    };
    Ok(
        create_key_until(store, role, province, enterprise, label, expires_at_ms)
            .await?
            .key,
    )
}

/// Registers (or re-keys) a province's docking client at the national platform; answers its id and secret
/// (generated when none is given).
pub async fn register_docking_client(
    store: &dyn Store,
    province: &str,
    client_id: Option<&str>,
    secret: Option<String>,
) -> Result<(String, String), ServiceError> {
    let p = ProvinceCode::parse(province)
        .map_err(|e| ServiceError::invalid("province", e.to_string()))?;
    let id = client_id
        .map(str::to_string)
        .unwrap_or_else(|| format!("province-{}", p.as_str()));
    let secret = secret.unwrap_or_else(new_key);
    if secret.len() < 16 {
        return Err(ServiceError::invalid(
            "secret",
            "a docking secret needs at least 16 characters",
        ));
    }
    store
        .put_docking_client(id.clone(), p.as_str().to_string(), hash_key(&secret))
        .await?;
    Ok((id, secret))
}

/// Keys issued over the API last this long unless the request says otherwise.
pub const DEFAULT_KEY_DAYS: u32 = 365;

/// Whether the enterprise `e` is registered in `province` (a regulator's jurisdiction over its keys and
/// accounts).
pub(crate) async fn in_province(
    store: &dyn Store,
    e: Uuid,
    province: Option<&ProvinceCode>,
) -> Result<bool, ServiceError> {
    Ok(match store.enterprise(e).await? {
        Some(e) => Some(&e.record.region.province()) == province,
        None => false,
    })
}

/// Whether `who` manages the credential `c`: an administrator any; a regulator the keys of its province (its
/// regulators' and its enterprises'); an enterprise its own keys.
async fn manages(
    store: &dyn Store,
    who: &Principal,
    c: &CredentialInfo,
) -> Result<bool, ServiceError> {
    Ok(match who.role {
        Role::Admin => true,
        Role::Regulator => match (c.role, &c.province, c.enterprise) {
            // A person's session manages the enterprises' keys, not the office's own.
            (Role::Regulator, Some(p), _) => {
                who.person.is_none() && Some(p) == who.province.as_ref()
            }
            (Role::Enterprise, _, Some(e)) => in_province(store, e, who.province.as_ref()).await?,
            _ => false,
        },
        // The enterprise's office key manages its keys; a staff member's session manages none (it could
        // otherwise turn itself into a key that outlives the account).
        Role::Enterprise => {
            who.person.is_none()
                && c.role == Role::Enterprise
                && c.enterprise.is_some()
                && c.enterprise == who.enterprise
        }
        _ => false,
    })
}

/// The credentials `who` manages.
pub async fn list(store: &dyn Store, who: &Principal) -> Result<Vec<CredentialInfo>, ServiceError> {
    let mut out = Vec::new();
    for c in store.credentials().await? {
        if manages(store, who, &c).await? {
            out.push(c);
        }
    }
    Ok(out)
}

async fn managed(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
) -> Result<CredentialInfo, ServiceError> {
    match store.credential(id).await? {
        Some(c) if manages(store, who, &c).await? => Ok(c),
        // Another tenant's credential and none at all get the same answer.
        _ => Err(ServiceError::NotFound("credential")),
    }
}

/// Revokes a key at once; revoking a revoked key is harmless.
pub async fn revoke(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
) -> Result<CredentialInfo, ServiceError> {
    managed(store, who, id).await?;
    store.revoke_credential(id).await?;
    store
        .credential(id)
        .await?
        .ok_or(ServiceError::NotFound("credential"))
}

/// Replaces a key: a new key for the same role, tenant and label (with the same lifetime, when the old one had
/// an expiry), and the old one revoked. The new secret is shown once.
pub async fn rotate(
    store: &dyn Store,
    who: &Principal,
    id: Uuid,
    now_ms: i64,
) -> Result<NewKey, ServiceError> {
    let old = managed(store, who, id).await?;
    if old.account.is_some() {
        // A session ends by signing out or by disabling the account; it is never turned into a key.
        return Err(ServiceError::Conflict(vec![
            coldtrace_domain::FieldError::new("id", "a session is not rotated; sign in again"),
        ]));
    }
    if old.revoked {
        return Err(ServiceError::Conflict(vec![
            coldtrace_domain::FieldError::new("id", "the key is revoked; issue a new one"),
        ]));
    }
    let expires = old
        .expires_at_ms
        .map(|t| now_ms + (t - old.created_at_ms).max(0));
    let new = create_key_until(
        store,
        old.role,
        old.province.clone(),
        old.enterprise,
        &old.label,
        expires,
    )
    .await?;
    store.revoke_credential(id).await?;
    Ok(new)
}
