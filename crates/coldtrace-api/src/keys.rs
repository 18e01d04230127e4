//! API keys: random secrets shown once, stored as SHA-256 hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};

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
