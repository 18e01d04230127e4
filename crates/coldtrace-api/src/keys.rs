//! API keys: random secrets shown once, stored as SHA-256 hashes (see `coldtrace_service::credentials`).

pub use coldtrace_service::credentials::{hash_key, new_key};
