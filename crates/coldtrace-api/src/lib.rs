//! # coldtrace-api
//!
//! HTTP API v1 of a coldtrace platform: thin axum handlers that authenticate the caller, ask [`authz`] whether
//! the caller may do or see what it asks, call the store or a service, and shape the answer for the caller's
//! role ([`views`]).
//!
//! ## Layout
//! - [`app`] builds the router from an [`AppState`]; tests call it without a socket, or [`serve`] it on a bound
//!   listener (port 0 in tests).
//! - `routes/`: one file per resource.
//! - [`extract`]: the JSON, query and authentication extractors; [`error`]: the one error type.
//! - [`authz`]: the central authorization checks; [`views`]: role-dependent masking.
//! - [`openapi`]: the OpenAPI document served at `/api/openapi.json`.
//!
//! **Invariant:** every route under `/api/v1` takes the [`extract::Auth`] extractor; open are `/healthz`,
//! `/metrics`, `/api/openapi.json`, the console's static page (`/console`, which signs in with a key), and the
//! public lookup (`/t/{code}`, `/qr.svg`, `/label`), which shows only batches a regulator published.
//! `/docking/v1` takes HTTP Basic client credentials (`routes::docking::DockingAuth`).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use coldtrace_service::Platform;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

mod audit;
pub mod authz;
pub mod error;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod routes;
pub mod views;

/// Everything a handler needs, built once at start-up: the platform (its store, trace index, registry or
/// docking client, and its use cases) and the metrics renderer. Handlers reach the platform's parts through
/// `Deref` (`state.store`, `state.tracer`).
#[derive(Clone)]
pub struct AppState {
    pub platform: Arc<Platform>,
    /// Renders `/metrics`; shared by every app in the process because the recorder is global.
    pub metrics: PrometheusHandle,
    /// Request rate limits.
    pub limiter: Arc<limits::Limiter>,
    /// Which request guards run; all of them, except in the baseline of `coldtrace bench guards`.
    pub guards: Guards,
    /// The base URL the public reaches this platform at (`https://trace.tj.example`), put in the QR codes of
    /// labels; without it, the address the page was asked for.
    pub public_url: Option<String>,
    /// Public pages as rendered, kept for a second and dropped on every write (the page a phone's camera opens
    /// is what the platform serves most).
    pub public_pages: Arc<routes::public::PageCache>,
}

/// The request guards around every route: the audit trail and the rate limits. A server always runs both
/// ([`Guards::ALL`]); only the benchmark that measures what they cost builds a state without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    pub audit: bool,
    pub rate_limits: bool,
}

impl Guards {
    pub const ALL: Guards = Guards {
        audit: true,
        rate_limits: true,
    };
    /// No audit trail and no rate limits: the baseline a measurement compares the guarded server with.
    pub const NONE_FOR_MEASUREMENT: Guards = Guards {
        audit: false,
        rate_limits: false,
    };
}

impl AppState {
    /// The state with the default rate limits ([`limits::RateLimits::default`]).
    pub fn new(platform: Arc<Platform>) -> Self {
        Self::with_limits(platform, limits::RateLimits::default())
    }

    pub fn with_limits(platform: Arc<Platform>, l: limits::RateLimits) -> Self {
        Self {
            platform,
            metrics: metrics_handle(),
            limiter: limits::Limiter::new(l),
            guards: Guards::ALL,
            public_url: None,
            public_pages: Arc::new(routes::public::PageCache::default()),
        }
    }

    /// The base URL printed in labels' QR codes (a trailing `/` is dropped).
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_string());
        self
    }
}

impl std::ops::Deref for AppState {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.platform
    }
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ])
                .expect("static buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding program); then ours only renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The largest JSON body accepted: a submission of the most records allowed
/// ([`coldtrace_domain::submission::MAX_RECORDS`]) at about 1.6 KB a record, or a docking upload.
pub const MAX_JSON_BYTES: usize = 32 * 1024 * 1024;
/// The largest ledger file accepted ([`coldtrace_ledger::Limits`]'s `max_bytes`).
pub const MAX_LEDGER_BYTES: usize = 16 * 1024 * 1024;

/// Builds the router.
pub fn app(state: AppState) -> Router {
    use routes::*;
    let v1 = Router::new()
        .route("/submissions", post(submissions::submit))
        .route(
            "/enterprises",
            post(enterprises::create).get(enterprises::list),
        )
        .route("/enterprises/{id}", get(enterprises::get_one))
        .route(
            "/enterprises/{id}/credentials",
            post(credentials::create_for_enterprise),
        )
        .route(
            "/credentials",
            post(credentials::create).get(credentials::list),
        )
        .route("/reference", get(system::reference))
        .route("/findings", get(findings::list))
        .route("/findings/{id}", get(findings::get_one))
        .route("/findings/{id}/dismiss", post(findings::dismiss))
        .route("/findings/{id}/resolve", post(findings::resolve))
        .route("/findings/{id}/answer", post(findings::answer))
        .route("/accounts", post(accounts::create).get(accounts::list))
        .route("/accounts/{id}/disable", post(accounts::disable))
        .route("/sessions", post(accounts::sign_in))
        .route("/sessions/end", post(accounts::sign_out))
        .route("/credentials/{id}/revoke", post(credentials::revoke))
        .route("/credentials/{id}/rotate", post(credentials::rotate))
        .route("/products", post(products::create).get(products::list))
        .route("/products/{id}", get(products::get_one))
        .route("/batches", post(batches::create).get(batches::list))
        .route("/batches/{id}", get(batches::get_one))
        .route("/batches/{id}/publish", post(console::publish))
        .route("/batches/{id}/withdraw", post(console::withdraw))
        .route("/dashboard", get(console::dashboard))
        .route("/batches/{id}/documents", get(documents::of_batch))
        .route("/codes/{*code}", get(batches::by_code))
        .route("/gs1/parse", get(gs1::parse))
        .route("/documents", post(documents::create))
        .route("/documents/{id}", get(documents::get_one))
        .route("/movements", post(movements::create).get(movements::list))
        .route("/movements/{id}", get(movements::get_one))
        .route(
            "/attachments",
            post(attachments::upload).layer(DefaultBodyLimit::max(
                routes::attachments::MAX_ATTACHMENT_BYTES,
            )),
        )
        .route("/attachments/{sha256}", get(attachments::download))
        .route(
            "/ledger",
            post(ledger::import).layer(DefaultBodyLimit::max(MAX_LEDGER_BYTES)),
        )
        .route(
            "/customs/declarations",
            post(customs::submit).get(customs::list),
        )
        .route(
            "/customs/declarations/import",
            post(customs::import).layer(DefaultBodyLimit::max(MAX_LEDGER_BYTES)),
        )
        .route("/customs/declarations/{no}", get(customs::get_one))
        .route("/census", post(statistics::put))
        .route(
            "/census/import",
            post(statistics::import).layer(DefaultBodyLimit::max(MAX_LEDGER_BYTES)),
        )
        .route("/statistics", get(statistics::get))
        .route("/staff", post(staff::put).get(staff::list))
        .route("/staff/tests", post(staff::tests))
        .route("/sensors/readings", post(sensors::put))
        .route(
            "/sensors/readings/import",
            post(sensors::import).layer(DefaultBodyLimit::max(MAX_LEDGER_BYTES)),
        )
        .route("/trace", get(trace::trace))
        .route("/incidents", post(incidents::open).get(incidents::list))
        .route("/incidents/{id}", get(incidents::get_one))
        .route("/incidents/{id}/deliveries", get(incidents::deliveries))
        .route("/incidents/{id}/tasks/{task}", post(incidents::update_task))
        .route(
            "/incidents/{id}/notices/{notice}/sent",
            post(incidents::notice_sent),
        )
        .route("/incidents/{id}/notes", post(incidents::note))
        .route("/incidents/{id}/close", post(incidents::close))
        .route("/docking", get(docking::status))
        .route("/notices", get(docking::received))
        .route("/notices/{id}/ack", post(docking::ack))
        .route("/national/overview", get(docking::overview))
        .route("/national/links", get(docking::links))
        .route("/national/links/{id}/decision", post(docking::decide))
        .route("/national/incidents", get(docking::incidents))
        .route("/national/incidents/{id}", get(docking::incident))
        .route("/national/trace", get(docking::trace))
        .route("/national/contacts", get(docking::contacts))
        .route("/contacts", put(docking::send_contacts))
        .route("/national/requests", post(docking::request_detail))
        .route("/national/requests/{id}", get(docking::request_status))
        .route("/stats", get(system::stats))
        .route("/whoami", get(system::whoami))
        .route("/audit", get(audit::list));
    let router: Router<AppState> = Router::new()
        .nest("/api/v1", v1)
        .route("/epcis/capture", post(epcis::capture))
        .route("/epcis/capture/{id}", get(epcis::job))
        .route("/epcis/events", get(epcis::events))
        .route("/docking/v1/messages", post(docking::upload))
        .route("/docking/v1/notices", get(docking::notices))
        .route(
            "/docking/v1/incidents/{id}/deliveries",
            get(docking::incident_deliveries),
        )
        .route("/docking/v1/foreign/records", post(docking::foreign))
        .route("/docking/v1/contacts", put(docking::put_contacts))
        .route(
            "/docking/v1/schema.json",
            get(openapi::serve_docking_schema),
        )
        .route("/", get(console::root))
        .route("/console", get(console::index))
        .route("/console/js/{file}", get(console::module))
        .route("/console/app.css", get(console::style))
        .route("/t", get(public::search))
        .route("/t/{*code}", get(public::lookup))
        .route("/qr.svg", get(public::qr))
        .route("/label", get(public::label))
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/api/openapi.json", get(openapi::serve))
        .fallback(system::not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
    let router = if state.guards.audit {
        router.layer(middleware::from_fn_with_state(
            state.clone(),
            crate::audit::record,
        ))
    } else {
        router
    };
    let router = if state.guards.rate_limits {
        router.layer(middleware::from_fn_with_state(state.clone(), limits::limit))
    } else {
        router
    };
    router
        .layer(middleware::from_fn_with_state(
            state.clone(),
            public::forget_on_write,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(track))
        .with_state(state)
}

/// Headers every answer carries: no sniffing of types, no framing (clickjacking), no referrer leaving the
/// platform, and for pages a content policy that runs only the platform's own scripts (styles inline are the
/// public pages' and labels' own).
async fn security_headers(req: Request, next: Next) -> Response {
    use axum::http::HeaderValue;
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    let html = h
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                 form-action 'self'",
            ),
        );
    }
    resp
}

/// Counts requests and their latency by route and status.
async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("coldtrace_http_requests_total", &labels).increment(1);
    metrics::histogram!("coldtrace_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// A client has this long to send a request's headers once it starts a request or a connection.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A connection that neither sends nor receives for this long is closed (an idle keep-alive, a stalled body).
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// On shutdown, requests in flight get this long to finish.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Serves the app on a bound listener until `shutdown` resolves: HTTP/1.1 with a header-read timeout and an
/// idle timeout per connection (so half-sent requests cannot hold connections), the client's address for the
/// rate limits, and a graceful shutdown that lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let app = app(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let mut io = tokio_io_timeout::TimeoutStream::new(stream);
        io.set_read_timeout(Some(IDLE_TIMEOUT));
        io.set_write_timeout(Some(IDLE_TIMEOUT));
        let app = app.clone();
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(addr));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .keep_alive(true)
            .serve_connection(TokioIo::new(Box::pin(io)), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the shutdown grace period");
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM: a server's graceful shutdown.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
