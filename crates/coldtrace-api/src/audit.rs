//! The audit layer: every request to an authenticated route is recorded after its answer (who, role, what,
//! which object, outcome, stated purpose, when), and so is every failed authentication. Open routes (health,
//! metrics, the public pages, the console's files) carry no caller and are not recorded.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use coldtrace_store::audit::AuditEvent;

use crate::AppState;
use crate::extract::AuditSlot;

fn open_route(path: &str) -> bool {
    matches!(
        path,
        "/" | "/healthz" | "/metrics" | "/api/openapi.json" | "/qr.svg" | "/label" | "/t"
    ) || path.starts_with("/t/")
        || path.starts_with("/console")
        || path == "/docking/v1/schema.json"
}

/// The purpose a caller states for a read of personal data: the `X-Purpose` header, or `purpose=` in the query.
fn purpose(req: &Request) -> Option<String> {
    req.headers()
        .get("x-purpose")
        // UTF-8 as sent (a purpose is usually Chinese text), percent-encoded or not.
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .or_else(|| {
            req.uri()
                .query()
                .and_then(|q| url_pairs(q).find(|(k, _)| k == "purpose").map(|(_, v)| v))
        })
        .map(|p| p.chars().take(200).collect())
}

fn url_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let d = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (d(k), d(v))
    })
}

pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if open_route(&path) {
        return next.run(req).await;
    }
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let action = format!("{} {route}", req.method());
    let object: String = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
    .chars()
    .take(1_000)
    .collect();
    let purpose = purpose(&req);
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let platform_province = state.tier.province().map(|p| p.as_str().to_string());
    let event = match slot.take() {
        Some(a) => AuditEvent {
            at_ms: jiff::Timestamp::now().as_millisecond(),
            actor: a.actor,
            role: a.role,
            province: a.province.or(platform_province),
            action,
            object,
            outcome: status,
            purpose,
        },
        None if status == 401 => AuditEvent {
            at_ms: jiff::Timestamp::now().as_millisecond(),
            actor: "anonymous".into(),
            role: None,
            province: platform_province,
            action: format!("authenticate {action}"),
            object,
            outcome: status,
            purpose: None,
        },
        None => return resp,
    };
    state.audit.record(event).await;
    resp
}
