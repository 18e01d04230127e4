//! Credentials (访问凭证): API keys for people and systems, and docking clients for provinces. Keys are random
//! secrets shown once and stored only as SHA-256 hashes.

use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_store::{Credential, Store};
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
) -> Result<String, ServiceError> {
    let province = match (role, province) {
        (Role::Regulator, Some(p)) => Some(
            ProvinceCode::parse(p).map_err(|e| ServiceError::invalid("province", e.to_string()))?,
        ),
        (Role::Regulator, None) => {
            return Err(ServiceError::invalid(
                "province",
                "a regulator key needs a province",
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
    Ok(create_key(store, role, province, enterprise, label)
        .await?
        .key)
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
