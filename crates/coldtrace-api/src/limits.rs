//! Request rate limits: per client address and per credential, and a strict one on failed authentications per
//! address (a key-guessing flood is cut off after a few tries). Over a limit the answer is 429 with
//! `Retry-After`. GCRA from `governor`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// Requests per second and burst, for each limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Every request from one address.
    pub per_address: (u32, u32),
    /// Every request with one credential (bearer key or docking client).
    pub per_credential: (u32, u32),
    /// Failed authentications from one address.
    pub failed_auth_per_address: (u32, u32),
}

impl Default for RateLimits {
    /// A busy enterprise system sends a few requests a second; a regulator's console a few more. A province's
    /// docking client and the ledger importers stay far below these.
    fn default() -> Self {
        RateLimits {
            per_address: (200, 400),
            per_credential: (100, 200),
            failed_auth_per_address: (2, 20),
        }
    }
}

impl RateLimits {
    /// No limit in effect (for tests that hammer one server from one address on purpose).
    pub fn unlimited() -> Self {
        RateLimits {
            per_address: (1_000_000, 1_000_000),
            per_credential: (1_000_000, 1_000_000),
            failed_auth_per_address: (1_000_000, 1_000_000),
        }
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    (rps, burst): (u32, u32),
) -> DefaultKeyedRateLimiter<K> {
    let rps = NonZeroU32::new(rps.max(1)).expect("at least 1");
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    RateLimiter::keyed(Quota::per_second(rps).allow_burst(burst))
}

/// The limiters of one server.
pub struct Limiter {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_credential: DefaultKeyedRateLimiter<[u8; 16]>,
    failed_auth: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused after too many failed authentications, until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Failed sign-ins per login, whatever the address (guessing one person's password from many addresses).
    failed_sign_in: DefaultKeyedRateLimiter<String>,
    /// Logins refused after too many failed sign-ins, until when.
    locked_logins: Mutex<HashMap<String, Instant>>,
}

/// Failed sign-ins one login may take: a burst of 10, then one a minute.
const SIGN_IN_FAILURES_BURST: u32 = 10;

impl Limiter {
    /// How long a login is locked for, if it is.
    pub fn login_locked(&self, login: &str) -> Option<Duration> {
        let until = self
            .locked_logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(login)
            .copied()?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed sign-in for a login; past the allowance the login is locked for a while.
    pub fn sign_in_failed(&self, login: &str) {
        let key = login.trim().to_ascii_lowercase();
        if let Err(not) = self.failed_sign_in.check_key(&key) {
            let wait = not
                .wait_time_from(DefaultClock::default().now())
                .max(Duration::from_secs(1));
            let mut locked = self.locked_logins.lock().unwrap_or_else(|p| p.into_inner());
            locked.retain(|_, t| *t > Instant::now());
            locked.insert(key, Instant::now() + wait);
        }
    }
}

impl Limiter {
    pub fn new(l: RateLimits) -> Arc<Self> {
        Arc::new(Limiter {
            per_address: limiter(l.per_address),
            per_credential: limiter(l.per_credential),
            failed_auth: limiter(l.failed_auth_per_address),
            blocked: Mutex::new(HashMap::new()),
            failed_sign_in: RateLimiter::keyed(
                Quota::per_minute(NonZeroU32::new(1).expect("1"))
                    .allow_burst(NonZeroU32::new(SIGN_IN_FAILURES_BURST).expect("10")),
            ),
            locked_logins: Mutex::new(HashMap::new()),
        })
    }
}

fn too_many(wait: Duration) -> Response {
    let mut r = ApiError::TooManyRequests(format!(
        "too many requests; retry in {} s",
        wait.as_secs().max(1)
    ))
    .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
    r
}

/// A credential's identity for the limiter: a digest of the `Authorization` or `X-Api-Key` header.
fn credential_of(req: &Request) -> Option<[u8; 16]> {
    let v = req
        .headers()
        .get(header::AUTHORIZATION)
        .or_else(|| req.headers().get("x-api-key"))?;
    let d = Sha256::digest(v.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    Some(k)
}

pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let l = &state.limiter;
    let clock = DefaultClock::default();
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip {
        let until = l
            .blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .copied();
        if let Some(until) = until
            && until > Instant::now()
        {
            return too_many(until - Instant::now());
        }
        if let Err(not) = l.per_address.check_key(&ip) {
            return too_many(not.wait_time_from(clock.now()));
        }
    }
    if let Some(k) = credential_of(&req)
        && let Err(not) = l.per_credential.check_key(&k)
    {
        return too_many(not.wait_time_from(clock.now()));
    }
    let resp = next.run(req).await;
    if resp.status() == StatusCode::UNAUTHORIZED
        && let Some(ip) = ip
        && let Err(not) = l.failed_auth.check_key(&ip)
    {
        let wait = not.wait_time_from(clock.now()).max(Duration::from_secs(1));
        let mut blocked = l.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, t| *t > Instant::now());
        blocked.insert(ip, Instant::now() + wait);
    }
    resp
}
