//! Integration tests of the SQLite store on real files.

mod conformance;

use coldtrace_domain::{SubmissionDraft, Submitter};
use coldtrace_store::prelude::*;
use coldtrace_store::{BatchFilter, Page, Scope, StoreError, SubmitRequest};
use coldtrace_store_sqlite::SqliteStore;
use serde_json::json;
use uuid::Uuid;

struct Ctx {
    store: SqliteStore,
    _dir: tempfile::TempDir,
    owner: Uuid,
}

async fn ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    let reg: SubmissionDraft = serde_json::from_value(json!({"enterprises": [{
        "uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链", "kind": "importer", "region": "120116",
        "contact_name": "王伟", "contact_phone": "13812341234"}]}))
    .unwrap();
    let out = store
        .submit(SubmitRequest {
            subject: "regulator:12".into(),
            writer: coldtrace_domain::Writer::Regulator(
                coldtrace_domain::ProvinceCode::parse("12").unwrap(),
            ),
            idempotency_key: None,
            request_hash: String::new(),
            submission: reg.parse(Submitter::Regulator).unwrap(),
            checks: Default::default(),
        })
        .await
        .unwrap();
    Ctx {
        owner: out.receipt.enterprises[0],
        store,
        _dir: dir,
    }
}

impl Ctx {
    async fn submit(
        &self,
        v: serde_json::Value,
        key: Option<&str>,
    ) -> Result<coldtrace_store::SubmitOutcome, StoreError> {
        let d: SubmissionDraft = serde_json::from_value(v.clone()).unwrap();
        let s = d.parse(Submitter::Enterprise(self.owner)).unwrap();
        self.store
            .submit(SubmitRequest {
                subject: format!("enterprise:{}", self.owner),
                writer: coldtrace_domain::Writer::Enterprise(self.owner),
                idempotency_key: key.map(str::to_string),
                request_hash: v.to_string(),
                submission: s,
                checks: Default::default(),
            })
            .await
    }
}

const P: &str = "0190f5b2-0000-7000-8000-000000000001";

fn product_and_batch(no: &str, code: &str) -> serde_json::Value {
    json!({
        "products": [{"id": P, "name": "冷冻牛肉", "category": "meat", "origin_country": "AU"}],
        "batches": [{"product_id": P, "batch_no": no, "quantity": 10, "unit": "kg", "trace_codes": [{"value": code}]}]
    })
}

#[tokio::test]
async fn a_submission_is_stored_whole_or_not_at_all() {
    let c = ctx().await;
    let mut v = product_and_batch("B1", "11020201101001");
    v["movements"] = json!([
        {"kind": "receive", "batch_no": "B1", "quantity": 10, "at": "2026-03-01T08:00:00+08:00", "counterparty_name": "Teys"},
        {"kind": "sell", "trace_code": "11020201101999", "quantity": 1, "at": "2026-03-01T09:00:00+08:00"}
    ]);
    match c.submit(v.clone(), None).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "movements[1].trace_code"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.store.stats(&Scope::All).await.unwrap().batches, 0);
    assert_eq!(
        c.store
            .batch_by_code("issued:11020201101001")
            .await
            .unwrap(),
        None
    );
    v["movements"][1]["trace_code"] = json!("11020201101001");
    let out = c.submit(v, None).await.unwrap();
    assert_eq!(out.receipt.movements.len(), 2);
    // The committed movements come back as flows for the trace index, keyed by party.
    assert_eq!(out.flows.len(), 2);
    assert_eq!(out.flows[0].kind, coldtrace_trace::FlowKind::Receive);
    assert_eq!(
        out.flows[0].counterparty,
        Some(coldtrace_domain::party::by_name("Teys"))
    );
    assert_eq!(
        out.flows[0].holder,
        coldtrace_domain::party::by_uscc(
            &coldtrace_domain::Uscc::parse("91120116MA05T1Q16A").unwrap()
        )
    );
    // The index rebuilt from the store sees the same flows.
    let rows = c.store.flows(0, 100).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.flow.clone()).collect::<Vec<_>>(),
        out.flows
    );
    let s = c.store.stats(&Scope::All).await.unwrap();
    assert_eq!(
        (s.products, s.batches, s.movements, s.trace_codes),
        (1, 1, 2, 1)
    );
}

#[tokio::test]
async fn resubmitted_records_are_recognised_and_changed_ones_refused() {
    let c = ctx().await;
    let first = c
        .submit(product_and_batch("B1", "11020201101001"), None)
        .await
        .unwrap();
    // Same content again, without a key: the batch is found by its number and nothing new is stored.
    let again = c
        .submit(product_and_batch("B1", "11020201101001"), None)
        .await
        .unwrap();
    assert_eq!(again.receipt.batches, first.receipt.batches);
    assert_eq!(again.receipt.unchanged, 2);
    assert_eq!(c.store.stats(&Scope::All).await.unwrap().batches, 1);
    // The same number with other content is a conflict.
    let mut changed = product_and_batch("B1", "11020201101001");
    changed["batches"][0]["quantity"] = json!(11);
    assert!(matches!(
        c.submit(changed, None).await,
        Err(StoreError::Conflict(_))
    ));
    // A code already identifying another batch is a conflict.
    let other = json!({"batches": [{"product_id": P, "batch_no": "B2", "quantity": 1, "unit": "kg",
                                   "trace_codes": [{"value": "11020201101001"}]}]});
    match c.submit(other, None).await {
        Err(StoreError::Conflict(e)) => assert_eq!(e.0[0].field, "batches[0].trace_codes[0].value"),
        o => panic!("{o:?}"),
    }
    // A correction of the batch takes its codes along.
    let b1 = first.receipt.batches[0];
    let fix = json!({"batches": [{"product_id": P, "batch_no": "B1", "quantity": 12, "unit": "kg", "corrects": b1,
                                 "trace_codes": [{"value": "11020201101001"}]}]});
    let out = c.submit(fix, None).await.unwrap();
    let b1v2 = out.receipt.batches[0];
    assert_eq!(
        c.store
            .batch_by_code("issued:11020201101001")
            .await
            .unwrap(),
        Some(b1v2)
    );
    let old = c.store.batch(b1).await.unwrap().unwrap();
    assert_eq!(old.corrected_by, Some(b1v2));
    assert_eq!(
        old.record.quantity.milli(),
        10_000,
        "the original is never changed"
    );
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let c = ctx().await;
    let v = product_and_batch("B1", "11020201101001");
    let a = c.submit(v.clone(), Some("k")).await.unwrap();
    let b = c.submit(v, Some("k")).await.unwrap();
    assert!(!a.replayed && b.replayed);
    assert_eq!(a.receipt, b.receipt);
    assert!(matches!(
        c.submit(product_and_batch("B9", "11020201101009"), Some("k"))
            .await,
        Err(StoreError::KeyReused(_))
    ));
}

#[tokio::test]
async fn batch_visibility_follows_holders() {
    let c = ctx().await;
    let out = c
        .submit(product_and_batch("B1", "11020201101001"), None)
        .await
        .unwrap();
    let b = out.receipt.batches[0];
    assert!(
        c.store
            .batch_visible(&Scope::Enterprise(c.owner), b)
            .await
            .unwrap()
    );
    assert!(
        !c.store
            .batch_visible(&Scope::Enterprise(Uuid::now_v7()), b)
            .await
            .unwrap()
    );
    let tj = Scope::Province(coldtrace_domain::ProvinceCode::parse("12").unwrap());
    let sh = Scope::Province(coldtrace_domain::ProvinceCode::parse("31").unwrap());
    assert!(c.store.batch_visible(&tj, b).await.unwrap());
    assert!(!c.store.batch_visible(&sh, b).await.unwrap());
    assert!(!c.store.batch_visible(&Scope::Nothing, b).await.unwrap());
    let filter = BatchFilter {
        batch_no: Some("B1".into()),
        product: None,
    };
    assert_eq!(
        c.store
            .batches(&sh, &filter, Page::default())
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        c.store
            .batches(&tj, &filter, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let id = {
        let store = SqliteStore::open(&path).unwrap();
        let reg: SubmissionDraft = serde_json::from_value(json!({"enterprises": [{
            "uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链", "kind": "importer", "region": "120116",
            "contact_name": "王伟", "contact_phone": "13812341234"}]}))
        .unwrap();
        let out = store
            .submit(SubmitRequest {
                subject: "r".into(),
                writer: coldtrace_domain::Writer::Regulator(
                    coldtrace_domain::ProvinceCode::parse("12").unwrap(),
                ),
                idempotency_key: None,
                request_hash: String::new(),
                submission: reg.parse(Submitter::Regulator).unwrap(),
                checks: Default::default(),
            })
            .await
            .unwrap();
        out.receipt.enterprises[0]
    };
    let store = SqliteStore::open(&path).unwrap();
    let e = store.enterprise(id).await.unwrap().unwrap();
    assert_eq!(e.record.uscc.as_str(), "91120116MA05T1Q16A");
    assert_eq!(
        store
            .enterprise_by_uscc("91120116ma05t1q16a")
            .await
            .unwrap()
            .unwrap()
            .record
            .id,
        id
    );
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_the_store_file_are_private_to_the_platform() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = coldtrace_store_sqlite::store_path(&data);
    let _store = SqliteStore::open(&path).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&path), 0o600);
    for entry in std::fs::read_dir(&data).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
    }
}

#[tokio::test]
async fn a_store_from_an_older_release_opens_and_takes_the_new_columns() {
    use coldtrace_store::CredentialStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE credentials (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
                 enterprise_id TEXT, province TEXT, label TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
                 created_at INTEGER NOT NULL);
             CREATE TABLE inbox (gseq INTEGER PRIMARY KEY AUTOINCREMENT, province TEXT NOT NULL, seq INTEGER NOT NULL,
                 id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, body TEXT NOT NULL, received_at INTEGER NOT NULL,
                 UNIQUE (province, seq));
             INSERT INTO inbox (province, seq, id, kind, body, received_at) VALUES ('12', 1, 'm1', 'batch', '{}', 0);
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    store
        .create_credential(coldtrace_store::Credential {
            id: uuid::Uuid::now_v7(),
            key_hash: "h".into(),
            role: coldtrace_domain::Role::Admin,
            enterprise: None,
            province: None,
            label: "after upgrade".into(),
            revoked: false,
            expires_at_ms: Some(1),
            account: None,
        })
        .await
        .unwrap();
    let c = store.credential_by_hash("h").await.unwrap().unwrap();
    assert_eq!(c.expires_at_ms, Some(1));
    let c = rusqlite::Connection::open(&path).unwrap();
    let kept: i64 = c
        .query_row("SELECT count(*) FROM inbox WHERE id = 'm1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kept, 1, "the inbox keeps its rows when rebuilt");
}

/// The lot stock the writer keeps equals what the records add up to: as written, after a correction, and as
/// filled in when a store written before the table existed is opened.
#[tokio::test]
async fn the_kept_lot_stock_matches_the_records_after_corrections_and_after_an_upgrade() {
    let c = ctx().await;
    let mut v = product_and_batch("B1", "11020201101001");
    v["movements"] = json!([
        {"kind": "receive", "batch_no": "B1", "quantity": 400, "at": "2026-03-01T08:00:00+08:00", "counterparty_name": "Teys"},
        {"kind": "ship", "batch_no": "B1", "quantity": 223, "at": "2026-03-02T08:00:00+08:00", "counterparty_name": "某批发"},
        {"kind": "sell", "batch_no": "B1", "quantity": 50, "at": "2026-03-03T08:00:00+08:00"}
    ]);
    let out = c.submit(v, None).await.unwrap();
    let ship = out.receipt.movements[1];
    c.submit(
        json!({"movements": [{"kind": "ship", "batch_no": "B1", "quantity": 200, "at": "2026-03-02T08:00:00+08:00",
                              "counterparty_name": "某批发", "corrects": ship}]}),
        None,
    )
    .await
    .unwrap();
    let path = c._dir.path().join("s.sqlite");
    let kept = |p: &std::path::Path| -> (i64, i64, i64) {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row("SELECT received, shipped, sold FROM lot_stock", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap()
    };
    assert_eq!(
        kept(&path),
        (400_000, 200_000, 50_000),
        "the correction replaced 223 by 200"
    );
    // As if written by an older release: no lot stock, an older schema version. Opening fills it in.
    drop(c.store);
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("DELETE FROM lot_stock; PRAGMA user_version = 10;")
            .unwrap();
    }
    let _reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(kept(&path), (400_000, 200_000, 50_000));
}

/// The movement tables as releases before schema 26 wrote them (text ids, a JSON body per movement).
const OLD_MOVEMENT_TABLES: &str = "
    CREATE TABLE movements (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        holder TEXT NOT NULL, holder_province TEXT NOT NULL, batch_id TEXT, quantity_milli INTEGER NOT NULL,
        at_ms INTEGER NOT NULL, counterparty_uscc TEXT, counterparty_id TEXT, holder_key TEXT NOT NULL,
        counterparty_key TEXT, counterparty_name TEXT, corrects TEXT, fp TEXT NOT NULL, body TEXT NOT NULL,
        recorded_at INTEGER NOT NULL);
    CREATE INDEX movements_batch ON movements(batch_id, at_ms);
    CREATE INDEX movements_corrects ON movements(corrects) WHERE corrects IS NOT NULL;
    CREATE TABLE movement_lines (movement_seq INTEGER NOT NULL, role TEXT NOT NULL, batch_id TEXT NOT NULL,
        quantity_milli INTEGER NOT NULL);
    CREATE INDEX movement_lines_batch ON movement_lines(batch_id);
    CREATE TABLE movement_handlers (movement_seq INTEGER NOT NULL, person_key TEXT NOT NULL, name TEXT NOT NULL,
        id_no TEXT, phone TEXT);
    CREATE INDEX movement_handlers_person ON movement_handlers(person_key);
    CREATE TABLE batch_access (batch_id TEXT NOT NULL, enterprise_id TEXT NOT NULL, province TEXT NOT NULL,
        PRIMARY KEY (batch_id, enterprise_id)) WITHOUT ROWID;
    CREATE INDEX batch_access_enterprise ON batch_access(enterprise_id, batch_id);
    CREATE TABLE lot_stock (batch_id TEXT NOT NULL, holder TEXT NOT NULL, received INTEGER NOT NULL DEFAULT 0,
        produced INTEGER NOT NULL DEFAULT 0, reported_inbound INTEGER NOT NULL DEFAULT 0,
        shipped INTEGER NOT NULL DEFAULT 0, sold INTEGER NOT NULL DEFAULT 0, consumed INTEGER NOT NULL DEFAULT 0,
        destroyed INTEGER NOT NULL DEFAULT 0, returned INTEGER NOT NULL DEFAULT 0, first_in INTEGER,
        first_out INTEGER, last_at INTEGER, PRIMARY KEY (batch_id, holder)) WITHOUT ROWID;
    CREATE INDEX lot_stock_holder ON lot_stock(holder);";

#[tokio::test]
async fn a_store_with_the_old_movement_layout_is_converted_and_reads_the_same() {
    use coldtrace_store::{IndexFeed, MovementFilter};
    let c = ctx().await;
    let mut v = product_and_batch("B1", "11020201101001");
    v["products"][0]["id"] = json!(P);
    v["batches"]
        .as_array_mut()
        .unwrap()
        .push(json!({"product_id": P, "batch_no": "B2", "quantity": 10, "unit": "kg"}));
    v["movements"] = json!([
        {"kind": "receive", "batch_no": "B1", "quantity": 400, "at": "2026-03-01T08:00:00.123456789+08:00",
         "counterparty_name": "Teys", "location": "3号库A区", "note": "到港",
         "handlers": [{"name": "李四", "phone": "138-0000-1111", "role": "搬运"}, {"name": "张三", "id_no": "11010519491231002X"}]},
        {"kind": "ship", "batch_no": "B1", "quantity": 223.5, "at": "2026-03-02T08:00:00Z",
         "counterparty_uscc": "91440300708461136T", "counterparty_name": "上海某批发"},
        {"kind": "transform", "quantity": 0, "at": "2026-03-02T09:00:00-05:00",
         "inputs": [{"batch_no": "B1", "quantity": 100}], "outputs": [{"batch_no": "B2", "quantity": 90}]},
        {"kind": "sell", "batch_no": "B1", "quantity": 50, "at": "2026-03-03T08:00:00+08:00"}
    ]);
    let out = c.submit(v.clone(), None).await.unwrap();
    let ship = out.receipt.movements[1];
    c.submit(
        json!({"movements": [{"kind": "ship", "batch_no": "B1", "quantity": 200, "at": "2026-03-02T08:00:00Z",
                              "counterparty_uscc": "91440300708461136T", "counterparty_name": "上海某批发",
                              "corrects": ship}]}),
        None,
    )
    .await
    .unwrap();
    let all = |s: &SqliteStore| {
        let s = s.clone();
        async move {
            let m = s
                .movements(&Scope::All, &MovementFilter::default(), Page::default())
                .await
                .unwrap();
            let f = s.flows(0, 100).await.unwrap();
            let h = s
                .handlers_of(m.iter().map(|m| m.seq as u64).collect())
                .await
                .unwrap();
            (m, f, h)
        }
    };
    let path = c._dir.path().join("s.sqlite");
    let lots_and_access = |p: &std::path::Path| -> Vec<String> {
        let db = rusqlite::Connection::open(p).unwrap();
        let mut out: Vec<String> = db
            .prepare(
                "SELECT (SELECT id FROM ids WHERE n = batch) || (SELECT id FROM ids WHERE n = holder) || ':' ||
                     received || ':' || produced || ':' || reported_inbound || ':' || shipped || ':' || sold || ':' ||
                     consumed || ':' || COALESCE(first_in, '') || ':' || COALESCE(first_out, '') || ':' ||
                     COALESCE(last_at, '')
                 FROM lot_stock
                 UNION ALL SELECT (SELECT id FROM ids WHERE n = batch) || (SELECT id FROM ids WHERE n = enterprise)
                     || province FROM batch_access",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        out.sort();
        out
    };
    let kept = lots_and_access(&path);
    assert_eq!(kept.len(), 4, "two lots, two access rows: {kept:?}");
    let before = all(&c.store).await;
    assert_eq!(before.0.len(), 5);
    assert_eq!(before.0[0].record.at.at.subsec_nanosecond(), 123_456_789);
    assert_eq!(before.0[2].record.at.offset_seconds, -5 * 3600);
    assert_eq!(before.0[0].record.handlers.len(), 2);
    assert_eq!(before.0[2].record.inputs.len(), 1);
    assert_eq!(before.0[1].corrected_by, Some(before.0[4].record.id));
    assert_eq!(before.2.len(), 2);

    // The same store as an older release wrote it: the old tables, filled from the lean ones.
    drop(c.store);
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(&format!(
            "ALTER TABLE movements RENAME TO lean; ALTER TABLE movement_lines RENAME TO lean_lines;
             ALTER TABLE movement_handlers RENAME TO lean_handlers;
             ALTER TABLE batch_access RENAME TO lean_access; ALTER TABLE lot_stock RENAME TO lean_lots;
             DROP INDEX movements_batch; DROP INDEX movements_corrects; DROP INDEX movement_lines_batch;
             DROP INDEX movement_handlers_person; DROP INDEX batch_access_enterprise; DROP INDEX lot_stock_holder;
             {OLD_MOVEMENT_TABLES}
             INSERT INTO movements SELECT m.seq,
                 lower(substr(hex(m.id), 1, 8) || '-' || substr(hex(m.id), 9, 4) || '-' || substr(hex(m.id), 13, 4)
                   || '-' || substr(hex(m.id), 17, 4) || '-' || substr(hex(m.id), 21)),
                 m.kind, (SELECT id FROM ids WHERE n = m.holder), m.holder_province,
                 (SELECT id FROM ids WHERE n = m.batch), m.quantity_milli, m.at_ms, NULLIF(cp.uscc, ''),
                 (SELECT id FROM ids WHERE n = m.counterparty_id), (SELECT id FROM ids WHERE n = m.holder_key),
                 (SELECT id FROM ids WHERE n = cp.party), cp.name, NULL, printf('%016x', m.fp) || 'ffff', '',
                 m.recorded_at
               FROM lean m LEFT JOIN counterparties cp ON cp.n = m.counterparty;
             INSERT INTO movement_lines SELECT movement_seq, role, (SELECT id FROM ids WHERE n = batch), quantity_milli
               FROM lean_lines ORDER BY rowid;
             INSERT INTO movement_handlers SELECT h.movement_seq, p.person_key, p.name, NULLIF(p.id_no, ''),
                 NULLIF(p.phone, '') FROM lean_handlers h JOIN people p ON p.n = h.person ORDER BY h.movement_seq, h.pos;
             INSERT INTO batch_access SELECT (SELECT id FROM ids WHERE n = batch),
                 (SELECT id FROM ids WHERE n = enterprise), province FROM lean_access;
             -- Stock the old release had wrong: opening counts it again from the movements.
             INSERT INTO lot_stock (batch_id, holder, received, last_at) SELECT (SELECT id FROM ids WHERE n = batch),
                 (SELECT id FROM ids WHERE n = holder), 1, 0 FROM lean_lots;
             DROP TABLE lean_access; DROP TABLE lean_lots;
             DROP TABLE lean; DROP TABLE lean_lines; DROP TABLE lean_handlers; DROP TABLE ids;
             DROP TABLE counterparties; DROP TABLE people;
             PRAGMA user_version = 25;"
        ))
        .unwrap();
        for s in &before.0 {
            db.execute(
                "UPDATE movements SET body = ?1, corrects = ?2 WHERE seq = ?3",
                rusqlite::params![
                    serde_json::to_string(&s.record).unwrap(),
                    s.record.corrects.map(|c| c.to_string()),
                    s.seq
                ],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    let after = all(&store).await;
    assert_eq!(
        after.0, before.0,
        "the movements read back as they were written"
    );
    assert_eq!(after.1, before.1, "the trace index is fed the same flows");
    assert_eq!(after.2, before.2, "the same handlers");
    assert_eq!(
        lots_and_access(&path),
        kept,
        "the same access, and the lots counted again"
    );
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        let old: i64 = db
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE 'old_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0, "the old tables are gone");
    }
    // A resubmission of the converted records is recognised; a new movement continues the seqs.
    let c = Ctx {
        store,
        _dir: c._dir,
        owner: c.owner,
    };
    let mut again = v.clone();
    for (i, m) in again["movements"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        m["id"] = json!(before.0[i].record.id);
    }
    let out = c.submit(again, None).await.unwrap();
    assert!(out.flows.is_empty(), "nothing new: {:?}", out.receipt);
    assert_eq!(
        out.receipt.movements,
        before.0[..4]
            .iter()
            .map(|s| s.record.id)
            .collect::<Vec<_>>()
    );
    let out = c
        .submit(
            json!({"movements": [{"kind": "sell", "batch_no": "B1", "quantity": 1, "at": "2026-03-04T08:00:00+08:00"}]}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.flows[0].seq, before.0[4].seq as u64 + 1);
}
