//! The web console (监管端与企业端): one page, its style and its script as small ES modules (`web/js/`), all
//! embedded in the binary so that nothing is loaded from outside (closed networks) and nothing is built. It signs
//! in with the platform's API keys and uses the same JSON API as every other client, so it sees exactly what the
//! account's role may see.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use coldtrace_domain::Role;
use uuid::Uuid;

use coldtrace_service::platform::publish::Publication;

use crate::AppState;
use crate::authz::require_role;
use crate::error::ApiError;
use crate::extract::Auth;

const INDEX: &str = include_str!("../web/index.html");
const APP_CSS: &str = include_str!("../web/app.css");

/// The console's scripts, served under `/console/js/{name}`: `errors.js` (a classic script that collects the
/// page's errors), `main.js` (router, navigation, sign-in) and the modules it imports.
const MODULES: &[(&str, &str)] = &[
    ("errors.js", include_str!("../web/js/errors.js")),
    ("main.js", include_str!("../web/js/main.js")),
    ("api.js", include_str!("../web/js/api.js")),
    ("html.js", include_str!("../web/js/html.js")),
    ("dashboard.js", include_str!("../web/js/dashboard.js")),
    ("batches.js", include_str!("../web/js/batches.js")),
    ("trace.js", include_str!("../web/js/trace.js")),
    ("findings.js", include_str!("../web/js/findings.js")),
    ("customs.js", include_str!("../web/js/customs.js")),
    ("statistics.js", include_str!("../web/js/statistics.js")),
    ("names.js", include_str!("../web/js/names.js")),
    ("incidents.js", include_str!("../web/js/incidents.js")),
    ("notices.js", include_str!("../web/js/notices.js")),
    ("national.js", include_str!("../web/js/national.js")),
    ("enterprise.js", include_str!("../web/js/enterprise.js")),
];

pub async fn root() -> Redirect {
    Redirect::to("/console")
}

pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// `GET /console/js/{file}`: one of the console's scripts; 404 for any other name.
pub async fn module(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, body) = MODULES
        .iter()
        .find(|(name, _)| *name == file)
        .ok_or(ApiError::NotFound("script"))?;
    Ok((
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        *body,
    )
        .into_response())
}

pub async fn style() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        APP_CSS,
    )
        .into_response()
}

/// What a regulator's dashboard shows.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub stats: coldtrace_store::Stats,
    /// Enterprises by kind and how many reported in the period.
    pub coverage: Vec<coldtrace_store::Coverage>,
    /// The period, in days.
    pub days: u32,
    pub open_incidents: usize,
    /// Disposal tasks of open incidents still outstanding more than two hours after the positive result.
    pub overdue_tasks: usize,
    /// Data quality by city and enterprise kind: lots and those with an open finding of the ledger checks.
    pub quality: Vec<coldtrace_store::Quality>,
    /// The same by day over the period, as the periodic sweeps recorded it (oldest first).
    pub quality_trend: Vec<coldtrace_store::QualityDay>,
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "records",
    responses((status = 200, body = Dashboard), (status = 403, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// A regulator's dashboard: counts, enterprises by kind with their reporting coverage over 30 days, open
/// incidents, data quality by city and kind now and by day over the 30 days.
pub async fn dashboard(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<Json<Dashboard>, ApiError> {
    require_role(&p, &[Role::Regulator, Role::National], "see the dashboard")?;
    let scope = crate::authz::scope(&p);
    let days = 30;
    let since = jiff::Timestamp::now().as_millisecond() - i64::from(days) * 86_400_000;
    let since_day = jiff::Timestamp::from_millisecond(since)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default();
    let open: Vec<_> = state
        .store
        .incidents()
        .await?
        .iter()
        .filter(|r| coldtrace_service::incidents::may_see(&p, &r.incident))
        .map(coldtrace_service::incidents::view)
        .filter(|v| v.status == "open")
        .collect();
    let now = jiff::Timestamp::now();
    let overdue_tasks = open
        .iter()
        .filter(|v| {
            v.positive_at
                .parse::<jiff::Timestamp>()
                .is_ok_and(|t| now.duration_since(t) > jiff::SignedDuration::from_hours(2))
        })
        .map(|v| v.open_tasks)
        .sum();
    let open_incidents = open.len();
    Ok(Json(Dashboard {
        stats: state.store.stats(&scope).await?,
        coverage: state.store.coverage(&scope, since).await?,
        days,
        open_incidents,
        overdue_tasks,
        quality: state.store.quality(scope.clone()).await?,
        quality_trend: state.store.quality_history(scope, since_day).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/batches/{id}/publish", tag = "records",
    responses((status = 200, body = Publication, description = "published (again: no change)"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// A provincial regulator approves a batch for the public lookup (nothing is published without approval).
pub async fn publish(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
) -> Result<Json<Publication>, ApiError> {
    Ok(Json(state.publish(&p, id).await?))
}

#[utoipa::path(post, path = "/api/v1/batches/{id}/withdraw", tag = "records",
    responses((status = 200, body = Publication, description = "withdrawn from the public lookup (again: no change)"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
/// A provincial regulator withdraws a batch from the public lookup.
pub async fn withdraw(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
) -> Result<Json<Publication>, ApiError> {
    Ok(Json(state.withdraw(&p, id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn served(name: &str) -> bool {
        MODULES.iter().any(|(n, _)| *n == name)
    }

    /// A module missing from the table would fail to load in the browser: every script the page names and
    /// every module a module imports is served.
    #[test]
    fn every_script_the_console_loads_is_served() {
        for src in INDEX.split("src=\"/console/js/").skip(1) {
            let name = src.split('"').next().unwrap();
            assert!(served(name), "index.html loads {name}");
        }
        for (module, body) in MODULES {
            for import in body.split("from \"./").skip(1) {
                let name = import.split('"').next().unwrap();
                assert!(served(name), "{module} imports {name}");
            }
        }
    }

    #[tokio::test]
    async fn a_module_is_javascript_and_any_other_name_is_not_found() {
        let r = module(Path("html.js".into())).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        for name in ["app.js", "../app.css", "main.js.map", ""] {
            let e = module(Path(name.into())).await.unwrap_err();
            assert_eq!(e.into_response().status(), StatusCode::NOT_FOUND, "{name}");
        }
    }
}
