//! Ledger import against a real SQLite store: processing lines, repeated files, partial imports.

mod fuzz;

use coldtrace_domain::{BatchRef, MovementKind, SubmissionDraft, Submitter};
use coldtrace_ledger::{Format, ImportOptions, import};
use coldtrace_store::prelude::*;
use coldtrace_store::{MovementFilter, Page, Scope, SubmitRequest};
use coldtrace_store_sqlite::SqliteStore;
use serde_json::json;
use uuid::Uuid;

async fn store_with_processor() -> (SqliteStore, Uuid, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    let d: SubmissionDraft = serde_json::from_value(json!({"enterprises": [{
        "uscc": "91440300708461136T", "name": "深圳某食品加工厂", "kind": "processor", "region": "440305",
        "contact_name": "陈静", "contact_phone": "13812341234"}]}))
    .unwrap();
    let out = store
        .submit(SubmitRequest {
            subject: "regulator:44".into(),
            writer: coldtrace_domain::Writer::Regulator(
                coldtrace_domain::ProvinceCode::parse("44").unwrap(),
            ),
            idempotency_key: None,
            request_hash: String::new(),
            submission: d.parse(Submitter::Regulator).unwrap(),
            checks: Default::default(),
        })
        .await
        .unwrap();
    (store, out.receipt.enterprises[0], dir)
}

const HEAD: &str = "日期,类型,品名,原产国,批号,数量,单位,追溯码,投入批号,投入数量,对方名称\n";

#[tokio::test]
async fn processing_lines_mix_inputs_into_one_output_batch() {
    let (store, owner, _d) = store_with_processor().await;
    let csv = format!(
        "{HEAD}2026-03-01 08:00,入库,冷冻牛腩,AR,IN-1,500,kg,,,,Importer A\n\
         2026-03-01 09:00,入库,冷冻牛腱,UY,IN-2,300,kg,,,,Importer B\n\
         2026-03-02 10:00,加工,调理牛肉,CN,OUT-1,700,kg,11020201109999,IN-1,450,\n\
         2026-03-02 10:00,加工,调理牛肉,CN,OUT-1,700,kg,11020201109999,IN-2,300,\n\
         2026-03-03 10:00,销售,调理牛肉,CN,OUT-1,100,kg,,,,某超市\n"
    );
    let report = import(
        &store,
        owner,
        "e",
        csv.as_bytes(),
        Format::Csv,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.imported_rows, 5);
    let ms = store
        .movements(
            &Scope::Enterprise(owner),
            &MovementFilter::default(),
            Page {
                after: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let kinds: Vec<MovementKind> = ms.iter().map(|m| m.record.kind).collect();
    assert_eq!(
        kinds,
        vec![
            MovementKind::Receive,
            MovementKind::Receive,
            MovementKind::Transform,
            MovementKind::Sell
        ]
    );
    let t = &ms[2].record;
    assert_eq!(
        t.inputs.len(),
        2,
        "two processing lines, one transformation"
    );
    assert_eq!(t.outputs.len(), 1);
    assert_eq!(t.inputs[0].quantity.milli(), 450_000);
    let out_id = match t.outputs[0].batch {
        BatchRef::Id(id) => id,
        ref o => panic!("{o:?}"),
    };
    assert_eq!(
        store.batch_by_code("issued:11020201109999").await.unwrap(),
        Some(out_id)
    );
    // Importing the same file again changes nothing.
    let again = import(
        &store,
        owner,
        "e",
        csv.as_bytes(),
        Format::Csv,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(again.replayed);
    let stats = store.stats(&Scope::All).await.unwrap();
    assert_eq!(stats.movements, 4);
}

#[tokio::test]
async fn a_second_file_may_refer_to_batches_of_the_first() {
    let (store, owner, _d) = store_with_processor().await;
    let first = format!("{HEAD}2026-03-01 08:00,入库,冷冻牛腩,AR,IN-1,500,kg,,,,Importer A\n");
    let r = import(
        &store,
        owner,
        "e",
        first.as_bytes(),
        Format::Csv,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(r.errors.is_empty());
    // The second ledger repeats the product columns on a sale of the same batch: the batch is not registered
    // again, the sale refers to it.
    let second = format!(
        "{HEAD}2026-03-05 08:00,销售,冷冻牛腩,AR,IN-1,20,kg,,,,某餐厅\n2026-03-05 09:00,销售,冷冻牛腩,AR,IN-9,1,kg,,,,某餐厅\n"
    );
    let r = import(
        &store,
        owner,
        "e",
        second.as_bytes(),
        Format::Csv,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].row, 3);
    assert_eq!(r.errors[0].column.as_deref(), Some("批号"));
    assert!(r.receipt.is_none());
    let r = import(
        &store,
        owner,
        "e",
        second.as_bytes(),
        Format::Csv,
        ImportOptions {
            partial: true,
            ..Default::default()
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(r.imported_rows, 1);
    assert_eq!(store.stats(&Scope::All).await.unwrap().batches, 1);
    assert_eq!(store.stats(&Scope::All).await.unwrap().movements, 2);
}
