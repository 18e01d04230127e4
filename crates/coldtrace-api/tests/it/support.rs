//! The shared test context: a platform on port 0 with a fresh store, and helpers to register enterprises and
//! issue keys. The store is a SQLite file, or with `COLDTRACE_TEST_STORE=postgresql` a schema of its own in the
//! PostgreSQL at `COLDTRACE_TEST_PG` (default the machine's, `postgresql://postgres@127.0.0.1:5432/test`), dropped
//! when the test ends: `scripts/test` runs this suite on both.

use coldtrace_store::prelude::*;
use std::sync::Arc;

use coldtrace_api::AppState;
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_service::credentials::create_key;
use coldtrace_service::{Platform, PlatformConfig, Tier};
use coldtrace_store_pg::PgStore;
use coldtrace_store_sqlite::SqliteStore;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    backend: Backend,
    /// Regulator of Tianjin (12).
    pub regulator: String,
    pub admin: String,
    _dir: tempfile::TempDir,
}

/// The store under test, as opened.
enum Backend {
    Sqlite(Arc<SqliteStore>),
    Pg {
        store: Arc<PgStore>,
        /// Dropped with the test.
        _schema: PgSchema,
    },
}

/// A test's PostgreSQL schema, dropped when the test ends.
struct PgSchema(String);

impl Drop for PgSchema {
    fn drop(&mut self) {
        // The drop waits for the test's platform to let go of its connections, which happens only once the test's
        // runtime moves on: a thread of its own drops the schema, and nothing waits for it. A schema a run leaves
        // behind (the process ended first) is dropped when the next run starts.
        let schema = self.0.clone();
        std::thread::spawn(move || drop_schemas(&format!("'{schema}'")));
    }
}

/// Drops the schemas the SQL list names (a subquery or quoted names).
fn drop_schemas(which: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let Ok((client, conn)) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
        else {
            return;
        };
        tokio::spawn(conn);
        let Ok(rows) = client
            .query(
                &format!("SELECT nspname::TEXT FROM pg_namespace WHERE nspname IN ({which})"),
                &[],
            )
            .await
        else {
            return;
        };
        for r in rows {
            let name: String = r.get(0);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await;
        }
    });
}

fn pg_url() -> String {
    std::env::var("COLDTRACE_TEST_PG")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
}

/// Whether this run tests the PostgreSQL store (`COLDTRACE_TEST_STORE=postgresql`).
pub fn on_postgres() -> bool {
    std::env::var("COLDTRACE_TEST_STORE").is_ok_and(|v| v == "postgresql")
}

/// A fresh store of the backend under test.
async fn open_backend(dir: &std::path::Path) -> (Arc<dyn Store>, Backend) {
    if on_postgres() {
        // Once per run: what an earlier run left behind.
        static CLEAN: std::sync::Once = std::sync::Once::new();
        CLEAN.call_once(|| {
            std::thread::spawn(|| {
                drop_schemas(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'coldtrace\\_api\\_%'",
                )
            })
            .join()
            .unwrap()
        });
        let schema = format!("coldtrace_api_{}", Uuid::now_v7().simple());
        let store = Arc::new(
            PgStore::connect_in_schema(&pg_url(), &schema)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL at {} (set COLDTRACE_TEST_PG): {e}", pg_url())
                }),
        );
        (
            store.clone(),
            Backend::Pg {
                store,
                _schema: PgSchema(schema),
            },
        )
    } else {
        let store = Arc::new(SqliteStore::open(dir.join("coldtrace.sqlite")).unwrap());
        (store.clone(), Backend::Sqlite(store))
    }
}

/// An enterprise registered for a test, with its key.
#[derive(Debug, Clone)]
pub struct Ent {
    pub id: String,
    pub uscc: String,
    pub key: String,
}

/// Serves `state` on a free loopback port until the test ends; answers the base URL.
pub async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(coldtrace_api::serve(
        listener,
        state,
        std::future::pending(),
    ));
    base
}

pub fn uscc(region: &str, seed: u32) -> String {
    coldtrace_gen::uscc_for_seed(region, seed)
        .as_str()
        .to_string()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(coldtrace_api::limits::RateLimits::unlimited()).await
    }

    /// A platform with these rate limits.
    pub async fn spawn_with(limits: coldtrace_api::limits::RateLimits) -> TestApp {
        Self::spawn_configured(limits, Default::default()).await
    }

    /// A platform with this policy for the ledger checks.
    pub async fn spawn_with_checks(checks: coldtrace_domain::checks::CheckPolicy) -> TestApp {
        Self::spawn_configured(coldtrace_api::limits::RateLimits::unlimited(), checks).await
    }

    async fn spawn_configured(
        limits: coldtrace_api::limits::RateLimits,
        checks: coldtrace_domain::checks::CheckPolicy,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let (store, backend) = open_backend(dir.path()).await;
        let regulator = Self::key(&store, Role::Regulator, Some("12"), None).await;
        let admin = Self::key(&store, Role::Admin, None, None).await;
        let mut config = PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").unwrap()));
        config.checks = checks;
        let platform = Platform::start(store.clone(), config).await.unwrap();
        let base = serve(AppState::with_limits(Arc::new(platform), limits)).await;
        TestApp {
            base,
            http: reqwest::Client::new(),
            store,
            backend,
            regulator,
            admin,
            _dir: dir,
        }
    }

    /// A new platform over the same store, as after a restart: the trace index is rebuilt from the store.
    pub async fn restart(&mut self) {
        self.restart_with_checks(Default::default()).await
    }

    /// [`TestApp::restart`] with another policy for the ledger checks.
    pub async fn restart_with_checks(&mut self, checks: coldtrace_domain::checks::CheckPolicy) {
        let mut config = PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").unwrap()));
        config.checks = checks;
        let platform = Platform::start(self.store.clone(), config).await.unwrap();
        self.base = serve(AppState::with_limits(
            Arc::new(platform),
            coldtrace_api::limits::RateLimits::unlimited(),
        ))
        .await;
    }

    /// Submissions also write docking messages (and issue the platform's codes).
    pub fn enable_docking(&self, cfg: coldtrace_store::DockingConfig) {
        match &self.backend {
            Backend::Sqlite(s) => s.enable_docking(cfg),
            Backend::Pg { store, .. } => store.enable_docking(cfg),
        }
    }

    pub async fn key(
        store: &Arc<dyn Store>,
        role: Role,
        province: Option<&str>,
        enterprise: Option<Uuid>,
    ) -> String {
        create_key(
            store.as_ref(),
            role,
            province.map(|p| ProvinceCode::parse(p).unwrap()),
            enterprise,
            "test",
        )
        .await
        .unwrap()
        .key
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Uploads a file (ledger, customs feed, census) as `content_type`.
    pub async fn post_file(
        &self,
        path: &str,
        key: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Registers an enterprise in `region` (as the regulator of its province) and issues its key.
    pub async fn enterprise(&self, region: &str, kind: &str, seed: u32) -> Ent {
        let u = uscc(region, seed);
        let regulator = if region.starts_with("12") {
            self.regulator.clone()
        } else {
            Self::key(&self.store, Role::Regulator, Some(&region[..2]), None).await
        };
        let r = self
            .post(
                "/api/v1/enterprises",
                &regulator,
                &json!({"uscc": u, "name": format!("测试企业{seed}"), "kind": kind, "region": region,
                        "contact_name": "王伟", "contact_phone": "13812341234", "self_commitment": true}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let v: Value = r.json().await.unwrap();
        let id = v["enterprises"][0].as_str().unwrap().to_string();
        let r = self
            .post(
                &format!("/api/v1/enterprises/{id}/credentials"),
                &regulator,
                &json!({}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let k: Value = r.json().await.unwrap();
        Ent {
            id,
            uscc: u,
            key: k["api_key"].as_str().unwrap().to_string(),
        }
    }

    /// A product and a batch of `ent`, with the given trace code; returns (product id, batch id).
    pub async fn batch(&self, ent: &Ent, batch_no: &str, code: &str) -> (String, String) {
        let pid = Uuid::now_v7().to_string();
        let r = self
            .post(
                "/api/v1/submissions",
                &ent.key,
                &json!({
                    "products": [{"id": pid, "name": "冷冻去骨牛肉", "category": "livestock_poultry_meat", "origin_country": "BR",
                                  "establishment_no": "SIF1234"}],
                    "batches": [{"product_id": pid, "batch_no": batch_no, "quantity": 1300, "unit": "carton",
                                 "declaration_no": "020220261000456789", "container_no": "CSQU3054383",
                                 "trace_codes": [{"value": code}]}]
                }),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let v: Value = r.json().await.unwrap();
        (pid, v["batches"][0].as_str().unwrap().to_string())
    }

    pub async fn stats(&self) -> coldtrace_store::Stats {
        self.store
            .stats(&coldtrace_store::Scope::All)
            .await
            .unwrap()
    }
}

/// Today (UTC+8) moved by `offset_days`, `YYYY-MM-DD`.
pub fn day(offset_days: i64) -> String {
    coldtrace_domain::time::day_at(jiff::Timestamp::now().as_millisecond())
        .checked_add(jiff::Span::new().days(offset_days))
        .unwrap()
        .to_string()
}

pub async fn json(r: Response) -> (StatusCode, Value) {
    let s = r.status();
    let v = r.json().await.unwrap_or(Value::Null);
    (s, v)
}

/// Posts an EPCIS capture and waits for its job to finish; answers the job's status.
pub async fn capture(app: &TestApp, key: &str, doc: &Value, behaviour: Option<&str>) -> Value {
    let mut req = app
        .http
        .post(app.url("/epcis/capture"))
        .bearer_auth(key)
        .header("content-type", "application/ld+json")
        .body(doc.to_string());
    if let Some(b) = behaviour {
        req = req.header("GS1-Capture-Error-Behaviour", b);
    }
    let r = req.send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "{}",
        r.text().await.unwrap()
    );
    let location = r.headers()["location"].to_str().unwrap().to_string();
    for _ in 0..500 {
        let (s, v) = json(app.get(&location, key).await).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["running"] == false {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("capture job {location} did not finish");
}

/// An EPCIS document of `events`.
pub fn epcis_document(events: Vec<Value>) -> Value {
    serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T08:00:00+08:00",
        "epcisBody": {"eventList": events}
    })
}
