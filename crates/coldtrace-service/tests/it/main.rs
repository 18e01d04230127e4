//! The platform's use cases on a real SQLite store, without HTTP: the tenant and province rules of submissions,
//! where a trace may start, publication and incident registration.

mod national_nodes;
mod province_nodes;

use std::sync::Arc;

use coldtrace_domain::incident::IncidentKind;
use coldtrace_domain::{EventTime, Principal, ProvinceCode, Role, SubmissionDraft};
use coldtrace_service::platform::trace::{TimeRule, TraceDirection};
use coldtrace_service::platform::{
    IncidentStart, OpenIncidentRequest, SubmitCommand, TraceCommand, TraceStart,
};
use coldtrace_service::{Platform, PlatformConfig, ServiceError, Tier};
use coldtrace_store::prelude::*;
use coldtrace_store::{Scope, SubmitOutcome};
use coldtrace_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use uuid::Uuid;

struct Ctx {
    platform: Platform,
    _dir: tempfile::TempDir,
}

fn regulator(province: &str) -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::Regulator,
        enterprise: None,
        province: Some(ProvinceCode::parse(province).unwrap()),
        person: None,
    }
}

fn enterprise(id: Uuid) -> Principal {
    Principal {
        credential: Uuid::nil(),
        role: Role::Enterprise,
        enterprise: Some(id),
        province: None,
        person: None,
    }
}

async fn ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap());
    let platform = Platform::start(
        store as Arc<dyn Store>,
        PlatformConfig::new(Tier::Province(ProvinceCode::parse("12").unwrap())),
    )
    .await
    .unwrap();
    Ctx {
        platform,
        _dir: dir,
    }
}

impl Ctx {
    async fn submit(
        &self,
        p: &Principal,
        v: Value,
        key: Option<&str>,
    ) -> Result<SubmitOutcome, ServiceError> {
        let draft: SubmissionDraft = serde_json::from_value(v.clone()).unwrap();
        self.platform
            .submit(
                p,
                SubmitCommand {
                    draft: &draft,
                    idempotency_key: key.map(str::to_string),
                    request_hash: v.to_string(),
                },
            )
            .await
    }

    /// A Tianjin importer holding one batch of 10 kg received from abroad; answers (importer id, batch id).
    async fn importer_with_batch(&self) -> (Uuid, Uuid) {
        let out = self
            .submit(
                &regulator("12"),
                json!({"enterprises": [{"uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链", "kind": "importer",
                    "region": "120116", "contact_name": "王伟", "contact_phone": "13812341234"}]}),
                None,
            )
            .await
            .unwrap();
        let importer = out.receipt.enterprises[0];
        let pid = Uuid::now_v7();
        let out = self
            .submit(
                &enterprise(importer),
                json!({
                    "products": [{"id": pid, "name": "冷冻牛肉", "category": "meat", "origin_country": "AU"}],
                    "batches": [{"product_id": pid, "batch_no": "B1", "quantity": 10, "unit": "kg",
                                 "trace_codes": [{"value": "11020201101001"}]}],
                    "movements": [{"kind": "receive", "batch_no": "B1", "quantity": 10,
                                   "at": "2026-03-01T08:00:00+08:00", "counterparty_name": "Teys"}]
                }),
                Some("first"),
            )
            .await
            .unwrap();
        (importer, out.receipt.batches[0])
    }
}

fn field(e: ServiceError) -> String {
    match e {
        ServiceError::Invalid(v) => v[0].field.clone(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_submission_keeps_the_province_rule_and_reaches_the_trace_index() {
    let c = ctx().await;
    // A Tianjin regulator may not register a Jiangsu enterprise; nothing is stored.
    let refused = c
        .submit(
            &regulator("12"),
            json!({"enterprises": [{"uscc": coldtrace_gen::uscc_for_seed("320100", 7).as_str(), "name": "南京冷库", "kind": "third_party_cold_store",
                "region": "320100", "contact_name": "李", "contact_phone": "13900000000"}]}),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(field(refused), "enterprises[0].region");
    assert_eq!(
        c.platform
            .store
            .stats(&Scope::All)
            .await
            .unwrap()
            .enterprises,
        0
    );

    let (importer, batch) = c.importer_with_batch().await;
    // The submit use case caught the trace index up: the batch is traceable at once.
    assert!(c.platform.tracer.knows_batch(&batch));
    // The same key again answers the first receipt and stores nothing new.
    let pid = Uuid::now_v7();
    let again = c
        .submit(
            &enterprise(importer),
            json!({"products": [{"id": pid, "name": "x", "category": "meat", "origin_country": "AU"}]}),
            Some("first"),
        )
        .await;
    assert!(
        matches!(again, Err(ServiceError::KeyReused(_))),
        "{again:?}"
    );
    // A customs key may not submit records at all.
    let customs = Principal {
        role: Role::Customs,
        ..regulator("12")
    };
    let forbidden = c.submit(&customs, json!({}), None).await;
    assert!(
        matches!(forbidden, Err(ServiceError::Forbidden(_))),
        "{forbidden:?}"
    );
}

#[tokio::test]
async fn a_trace_starts_only_where_the_caller_may_look() {
    let c = ctx().await;
    let (importer, batch) = c.importer_with_batch().await;
    let cmd = |start| TraceCommand {
        start,
        direction: TraceDirection::Both,
        mode: TimeRule::Strict,
        people: false,
        purpose: None,
    };
    let by_code = cmd(TraceStart::Code {
        code: "11020201101001".into(),
        holder: None,
    });
    let out = c.platform.trace(&regulator("12"), &by_code).await.unwrap();
    assert_eq!(out.answer.batches.len(), 1);
    assert_eq!(out.answer.batches[0].id, batch);
    assert!(out.people.is_none());
    // Another province's regulator is told the batch does not exist, and so is a place in another province.
    let err = c
        .platform
        .trace(&regulator("32"), &by_code)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound("batch")), "{err:?}");
    let place = cmd(TraceStart::Place {
        enterprise: importer,
        from: Some("2026-03-01T00:00:00+08:00".into()),
        to: Some("2026-03-02T00:00:00+08:00".into()),
    });
    let err = c
        .platform
        .trace(&regulator("32"), &place)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound("place")), "{err:?}");
    // A place needs its window.
    let open_ended = cmd(TraceStart::Place {
        enterprise: importer,
        from: Some("2026-03-01T00:00:00+08:00".into()),
        to: None,
    });
    assert_eq!(
        field(
            c.platform
                .trace(&regulator("12"), &open_ended)
                .await
                .unwrap_err()
        ),
        "to"
    );
    // Enterprises do not trace.
    let err = c
        .platform
        .trace(&enterprise(importer), &by_code)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn publication_and_incidents_follow_the_regulators_province() {
    let c = ctx().await;
    let (importer, batch) = c.importer_with_batch().await;
    let err = c
        .platform
        .publish(&enterprise(importer), batch)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err:?}");
    let err = c
        .platform
        .publish(&regulator("32"), batch)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound("batch")), "{err:?}");
    assert!(
        c.platform
            .publish(&regulator("12"), batch)
            .await
            .unwrap()
            .new
    );
    assert!(
        !c.platform
            .publish(&regulator("12"), batch)
            .await
            .unwrap()
            .new
    );

    let positive_at = EventTime::parse("2026-03-02T10:00:00+08:00").unwrap();
    let request = |start| OpenIncidentRequest {
        start,
        positive_at,
        note: None,
        mode: TimeRule::Strict,
    };
    // A batch sample names its batch one way only.
    let both = request(IncidentStart::BatchSample {
        code: Some("11020201101001".into()),
        batch: Some(batch),
        holder: None,
    });
    assert_eq!(
        field(
            c.platform
                .open_incident(&regulator("12"), both)
                .await
                .unwrap_err()
        ),
        "code"
    );
    let sample = || {
        request(IncidentStart::BatchSample {
            code: Some("11020201101001".into()),
            batch: None,
            holder: None,
        })
    };
    let (v, created) = c
        .platform
        .open_incident(&regulator("12"), sample())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(v.kind, IncidentKind::BatchSample);
    // Named by the product and batch number, not by the code it was registered with.
    let b = c.platform.store.batch(batch).await.unwrap().unwrap().record;
    assert!(
        v.subject.ends_with(&b.batch_no) && v.subject != "11020201101001",
        "{}",
        v.subject
    );
    // The same positive test registered again (a double click) answers the same incident.
    let (again, created) = c
        .platform
        .open_incident(&regulator("12"), sample())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, v.id);
    assert_eq!(c.platform.store.incidents().await.unwrap().len(), 1);
    // A later result of the same batch, registered by two officers at the same instant: one new incident.
    let later = || OpenIncidentRequest {
        positive_at: EventTime::parse("2026-03-03T09:00:00+08:00").unwrap(),
        ..sample()
    };
    let r1 = regulator("12");
    let r2 = regulator("12");
    let (a, b) = tokio::join!(
        c.platform.open_incident(&r1, later()),
        c.platform.open_incident(&r2, later())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.0.id, b.0.id);
    assert!(a.1 != b.1, "one of the two created it");
    assert_eq!(c.platform.store.incidents().await.unwrap().len(), 2);
    // The importer still holds all 10 kg: one disposal task.
    assert_eq!(v.tasks.len(), 1);
    assert_eq!(v.open_tasks, 1);
    assert_eq!(v.outstanding, 10.0);
}

mod snapshot;
