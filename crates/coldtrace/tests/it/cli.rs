//! The CLI commands, run as a user runs them.

use crate::support::{key, run, stdout};
use coldtrace_store::prelude::*;

#[test]
fn demo_no_serve_runs_the_scenario_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let o = run(&[
        "demo",
        "--no-serve",
        "--movements",
        "2000",
        "--data",
        data.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for expect in [
        "provincial platform of 天津 (12)",
        "imported ledger",
        "(GBK): 3 rows, 3 imported, 0 errors",
        "GET /healthz -> 200",
        "-> 200: batch DEMO-BR-001",
        "3 document(s)",
        "without a key -> 401",
        "a bad movement -> 422 quantity",
        "another importer's record -> 404",
        "positive test of batch",
        "traced both ways in",
        "disposal task(s)",
        "demo finished",
    ] {
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    }
    assert!(data.join("coldtrace.sqlite").exists());
}

#[test]
fn gen_is_deterministic_from_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let summary = |name: &str, seed: &str| {
        let d = dir.path().join(name);
        let o = run(&[
            "gen",
            "--data",
            d.to_str().unwrap(),
            "--movements",
            "3000",
            "--seed",
            seed,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = stdout(&o);
        let json_end = out.find("}\n").unwrap() + 1;
        let v: serde_json::Value = serde_json::from_str(&out[..json_end]).unwrap();
        let conn = first_batch_ids(&d.join("coldtrace.sqlite"));
        (v, conn)
    };
    let (a, ida) = summary("a", "7");
    let (b, idb) = summary("b", "7");
    let (_, idc) = summary("c", "8");
    assert_eq!(a, b);
    assert_eq!(
        ida, idb,
        "the same seed gives the same records, ids included"
    );
    assert_ne!(ida, idc);
    assert!(a["movements"].as_u64().unwrap() >= 3000);
    assert!(a["transformations"].as_u64().unwrap() > 0);
    assert!(a["cross_province_flows"].as_u64().unwrap() > 0);
}

/// The ids of the first batches in a store, read through the store crate.
fn first_batch_ids(path: &std::path::Path) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = coldtrace_store_sqlite::SqliteStore::open(path).unwrap();
        let page = s
            .batches(
                &coldtrace_store::Scope::All,
                &Default::default(),
                coldtrace_store::Page {
                    after: 0,
                    limit: 20,
                },
            )
            .await
            .unwrap();
        page.iter().map(|b| b.record.id.to_string()).collect()
    })
}

#[test]
fn import_reports_row_errors_and_exits_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _ = key(data, &["--role", "admin"]);
    // Register an enterprise through the store path the API uses.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {

        let s = coldtrace_store_sqlite::SqliteStore::open(data.join("coldtrace.sqlite")).unwrap();
        let draft: coldtrace_domain::SubmissionDraft = serde_json::from_value(serde_json::json!({"enterprises": [{
            "uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链有限公司", "kind": "importer", "region": "120116",
            "contact_name": "王伟", "contact_phone": "13812341234"}]}))
        .unwrap();
        let sub = draft.parse(coldtrace_domain::Submitter::Regulator).unwrap();
        s.submit(coldtrace_store::SubmitRequest {
            subject: "regulator:12".into(),
            writer: coldtrace_domain::Writer::Regulator(coldtrace_domain::ProvinceCode::parse("12").unwrap()),
            idempotency_key: None,
            request_hash: String::new(),
            submission: sub,
            checks: Default::default(),
        })
        .await
        .unwrap();
    });
    let good = data.join("good.csv");
    std::fs::write(&good, "日期,类型,品名,原产国,批号,数量,单位,对方名称\n2026-03-01 08:00,入库,冷冻牛肉,AU,G-1,10,kg,Teys Australia\n").unwrap();
    let o = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        "--enterprise",
        "91120116MA05T1Q16A",
        good.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("\"imported_rows\": 1"));
    let bad = data.join("bad.csv");
    std::fs::write(
        &bad,
        "日期,类型,品名,原产国,批号,数量,单位\n2026-03-01 08:00,入库,冷冻牛肉,AU,G-2,ten,kg\n",
    )
    .unwrap();
    let o = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        "--enterprise",
        "91120116MA05T1Q16A",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("\"row\": 2") && out.contains("\"column\": \"数量\""),
        "{out}"
    );
    let o = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        "--enterprise",
        "91110000802100433B",
        good.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no enterprise with USCC"));
}

#[test]
fn serve_explains_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "serve",
        "--data",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--role",
        "province",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--province"));
    let o = run(&[
        "serve",
        "--data",
        dir.path().to_str().unwrap(),
        "--role",
        "county",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("province or national"));
    // A ledger check's policy that does not exist is named.
    for (flag, says) in [
        ("stock_conservation=maybe", "not a policy"),
        ("stock=reject", "not a check"),
        ("dormant_days=0", "whole number from 1 to 3650"),
        ("transit_hours=soon", "whole number"),
    ] {
        let o = run(&[
            "serve",
            "--data",
            dir.path().to_str().unwrap(),
            "--province",
            "12",
            "--check",
            flag,
        ]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{flag}: {err}");
    }
}

#[test]
fn trace_and_incident_commands_on_a_generated_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let d = data.to_str().unwrap();
    let o = run(&["demo", "--no-serve", "--movements", "2000", "--data", d]);
    assert!(o.status.success());
    let code = "(01)06901234567892(10)DEMO-BR-001";
    let o = run(&["trace", code, "--data", d]);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("holder(s)") && out.contains("on hand: DEMO-BR-001 300 carton"),
        "{out}"
    );
    let o = run(&[
        "trace",
        code,
        "--data",
        d,
        "--json",
        "--direction",
        "forward",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["direction"], "forward");
    assert!(v["holders"].as_array().unwrap().len() >= 2);
    let o = run(&["trace", code, "--data", d, "--csv"]);
    let csv = stdout(&o);
    assert!(csv.lines().count() >= 4, "{csv}");
    assert!(csv.contains("DEMO-BR-001"));
    let xlsx = dir.path().join("t.xlsx");
    let o = run(&["trace", code, "--data", d, "--xlsx", xlsx.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
    let o = run(&["trace", "11111111111111", "--data", d]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no batch carries the code"));
    // An incident from the command line: tasks, then closing needs a reason.
    let o = run(&[
        "incident",
        "open",
        code,
        "--data",
        d,
        "--positive-at",
        "2026-03-05T10:00:00+08:00",
    ]);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("task(s)") && out.contains("notice to 天津"),
        "{out}"
    );
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    let o = run(&["incident", "close", &id, "--data", d]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("reason"));
    let o = run(&["incident", "close", &id, "--data", d, "--reason", "演练"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("(closed)"));
    let o = run(&["incident", "list", "--data", d]);
    assert!(stdout(&o).contains(&id) && stdout(&o).contains("closed"));
}

#[test]
fn serve_refuses_a_national_ca_that_holds_no_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "docking-secret-of-province-32").unwrap();
    let o = run(&[
        "serve",
        "--data",
        dir.path().join("p").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--role",
        "province",
        "--province",
        "32",
        "--national",
        "https://127.0.0.1:1",
        "--secret-file",
        secret.to_str().unwrap(),
        "--national-ca",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--national-ca") && err.contains("no PEM certificate"),
        "{err}"
    );
}

/// Stops a server as an operator would (SIGTERM), so it shuts down gracefully.
fn stop(s: crate::support::Server) {
    let pid = s.child.id().to_string();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(ok.success());
    let mut s = s;
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_verifies_and_names_the_entry_a_direct_edit_changed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let regulator = crate::support::key(data, &["--role", "regulator", "--province", "12"]);
    let s = crate::support::Server::start(data);
    let http = reqwest::Client::new();
    for i in 0..30 {
        let r = http
            .get(format!("{}/api/v1/batches", s.base))
            .bearer_auth(if i % 3 == 0 { "ct_wrong" } else { &regulator })
            .header("x-purpose", "例行检查")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), if i % 3 == 0 { 401 } else { 200 });
    }
    let page: serde_json::Value = http
        .get(format!("{}/api/v1/audit?limit=1000", s.base))
        .bearer_auth(&regulator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 30, "{page}");
    assert_eq!(items[0]["actor"], "anonymous");
    assert_eq!(items[0]["outcome"], 401);
    assert!(
        items[1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("regulator:12#")
    );
    assert_eq!(items[1]["purpose"], "例行检查");
    assert_eq!(items[1]["action"], "GET /api/v1/batches");
    stop(s);

    let verify = || crate::support::run(&["audit", "verify", "--data", data.to_str().unwrap()]);
    let o = verify();
    assert!(
        o.status.success(),
        "{}{}",
        crate::support::stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = crate::support::stdout(&o);
    assert!(
        out.contains("31 entries") && out.contains("1 checkpoint"),
        "{out}"
    );

    // A direct edit of the database: a refused request made to look allowed.
    let db = rusqlite::Connection::open(coldtrace_store_sqlite::store_path(data)).unwrap();
    db.execute("UPDATE audit SET outcome = 200 WHERE seq = 4", [])
        .unwrap();
    let o = verify();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        crate::support::stdout(&o).contains("entry 4"),
        "{}",
        crate::support::stdout(&o)
    );

    // The same edit with every later hash recomputed: the chain holds, the published checkpoint does not.
    let rows: Vec<(i64, String)> = db
        .prepare("SELECT seq, prev FROM audit ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let store = coldtrace_store_sqlite::SqliteStore::open(coldtrace_store_sqlite::store_path(data))
        .unwrap();
    use coldtrace_store::AuditStore;
    let entries = store.audit_entries(None, 0, 1000).await.unwrap();
    let mut prev = coldtrace_store::audit::GENESIS.to_string();
    for (e, (seq, _)) in entries.iter().zip(rows) {
        let hash = coldtrace_store::audit::link(&prev, e.seq, &e.event);
        db.execute(
            "UPDATE audit SET prev = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
    let o = verify();
    assert_eq!(o.status.code(), Some(1));
    let out = crate::support::stdout(&o);
    assert!(out.contains("checkpoint at entry 31"), "{out}");
}

#[tokio::test]
async fn the_operator_lists_revokes_and_rotates_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let d = data.to_str().unwrap();
    let key = crate::support::key(
        data,
        &[
            "--role",
            "regulator",
            "--province",
            "12",
            "--label",
            "天津值班",
            "--expires-days",
            "30",
        ],
    );
    let o = crate::support::run(&["key", "list", "--data", d]);
    assert!(o.status.success());
    let list = crate::support::stdout(&o);
    assert!(
        list.contains("regulator") && list.contains("天津值班") && list.contains("until"),
        "{list}"
    );
    let id = list.split_whitespace().next().unwrap().to_string();
    let s = crate::support::Server::start(data);
    let http = reqwest::Client::new();
    let whoami = |k: String| {
        let (http, base) = (http.clone(), s.base.clone());
        async move {
            http.get(format!("{base}/api/v1/whoami"))
                .bearer_auth(k)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(whoami(key.clone()).await, 200);
    let o = crate::support::run(&["key", "rotate", &id, "--data", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rotated = crate::support::stdout(&o).trim().to_string();
    assert_eq!(whoami(key).await, 401, "the old key stops at once");
    assert_eq!(whoami(rotated.clone()).await, 200);
    let new_id = String::from_utf8_lossy(&o.stderr)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let o = crate::support::run(&["key", "revoke", &new_id, "--data", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(whoami(rotated).await, 401);
    let list = crate::support::stdout(&crate::support::run(&["key", "list", "--data", d]));
    assert_eq!(list.matches("revoked").count(), 2, "{list}");
}

#[tokio::test]
async fn the_operator_adds_a_persons_account_who_signs_in_and_is_disabled() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let d = data.to_str().unwrap();
    let mut child = crate::support::bin()
        .args([
            "account",
            "add",
            "--login",
            "duty.officer",
            "--name",
            "值班员",
            "--role",
            "regulator",
            "--province",
            "12",
            "--data",
            d,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("值班-password-2026\n".as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = crate::support::stdout(&o).trim().to_string();
    let list = crate::support::stdout(&crate::support::run(&["account", "list", "--data", d]));
    assert!(
        list.contains("duty.officer") && list.contains("active"),
        "{list}"
    );
    // The password is not on the command line and not in the store as typed.
    let mut raw = std::fs::read(coldtrace_store_sqlite::store_path(data)).unwrap();
    raw.extend(
        std::fs::read(coldtrace_store_sqlite::store_path(data).with_extension("sqlite-wal"))
            .unwrap_or_default(),
    );
    let typed = b"-password-2026";
    assert!(
        !raw.windows(typed.len()).any(|w| w == typed),
        "a password stored as typed"
    );
    assert!(
        raw.windows(9).any(|w| w == b"$argon2id"),
        "an argon2id hash is stored"
    );

    let s = crate::support::Server::start(data);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/sessions", s.base))
        .json(&serde_json::json!({"login": "duty.officer", "password": "值班-password-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let whoami = || {
        http.get(format!("{}/api/v1/whoami", s.base))
            .bearer_auth(&token)
            .send()
    };
    let me: serde_json::Value = whoami().await.unwrap().json().await.unwrap();
    assert_eq!(me["person"], "duty.officer");
    let o = crate::support::run(&["account", "disable", &id, "--data", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        whoami().await.unwrap().status().as_u16(),
        401,
        "the session ends at once"
    );
    stop(s);
}

#[test]
fn an_imported_ledger_that_sells_more_than_it_received_shows_in_coldtrace_findings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let d = data.to_str().unwrap();
    let _ = key(data, &["--role", "admin"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = coldtrace_store_sqlite::SqliteStore::open(data.join("coldtrace.sqlite")).unwrap();
        let draft: coldtrace_domain::SubmissionDraft = serde_json::from_value(serde_json::json!({"enterprises": [{
            "uscc": "91120116MA05T1Q16A", "name": "天津滨海冷链有限公司", "kind": "importer", "region": "120116",
            "contact_name": "王伟", "contact_phone": "13812341234"}]}))
        .unwrap();
        s.submit(coldtrace_store::SubmitRequest {
            subject: "regulator:12".into(),
            writer: coldtrace_domain::Writer::Regulator(coldtrace_domain::ProvinceCode::parse("12").unwrap()),
            idempotency_key: None,
            request_hash: String::new(),
            submission: draft.parse(coldtrace_domain::Submitter::Regulator).unwrap(),
            checks: Default::default(),
        })
        .await
        .unwrap();
    });
    let ledger = data.join("short.csv");
    std::fs::write(
        &ledger,
        "日期,类型,品名,原产国,批号,数量,单位,对方名称\n\
         2026-03-01 08:00,入库,冷冻牛肉,AU,S-1,10,kg,Teys Australia\n\
         2026-03-02 08:00,销售,冷冻牛肉,AU,S-1,15,kg,某饭店\n\
         2026-03-01 08:00,入库,冷冻牛肉,AU,S-2,10,kg,Teys Australia\n\
         2026-03-02 08:00,销售,冷冻牛肉,AU,S-2,12,kg,某饭店\n",
    )
    .unwrap();
    let o = run(&[
        "import",
        "--data",
        d,
        "--enterprise",
        "91120116MA05T1Q16A",
        ledger.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[
        "findings",
        "list",
        "--rule",
        "stock_conservation",
        "--data",
        d,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = stdout(&o);
    assert!(
        list.contains("CT-STOCK") && list.contains("open") && list.contains("5 short"),
        "{list}"
    );
    let ids: Vec<String> = list
        .lines()
        .filter(|l| l.contains("CT-STOCK"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    // By the enterprise's city and kind.
    let o = run(&[
        "findings", "list", "--city", "1201", "--kind", "importer", "--data", d,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.contains("CT-STOCK"))
            .count(),
        2
    );
    let o = run(&["findings", "list", "--city", "1302", "--data", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.contains("CT-STOCK"))
            .count(),
        0
    );
    let o = run(&[
        "findings",
        "resolve",
        &ids[1],
        "--reason",
        "已补录入库单",
        "--data",
        d,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("resolved"), "{}", stdout(&o));
    let id = ids[0].clone();
    let o = run(&[
        "findings",
        "dismiss",
        &id,
        "--reason",
        "盘点差异已核实",
        "--data",
        d,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shown = stdout(&run(&["findings", "show", &id, "--data", d]));
    assert!(
        shown.contains("\"status\": \"dismissed\"") && shown.contains("盘点差异已核实"),
        "{shown}"
    );
    let o = run(&["findings", "list", "--rule", "nonsense", "--data", d]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a check"));
}

#[tokio::test]
async fn a_backup_restores_into_a_store_that_verifies_and_traces_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let d = data.to_str().unwrap();
    let o = run(&["demo", "--no-serve", "--movements", "2000", "--data", d]);
    assert!(o.status.success());
    // A served platform on the store writes audit entries and publishes a checkpoint when it stops.
    let regulator = crate::support::key(&data, &["--role", "regulator", "--province", "12"]);
    let s = crate::support::Server::start(&data);
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let r = http
            .get(format!("{}/api/v1/batches", s.base))
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    stop(s);
    // The server left its trace index snapshot for the next start; a backup does not carry it.
    assert!(data.join("trace-index.snapshot").exists());
    let file = dir.path().join("backup.sqlite");
    let f = file.to_str().unwrap();
    let o = run(&["backup", "--data", d, "--to", f]);
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("audit.key"), "{}", stdout(&o));
    // A backup never overwrites, a restore never lands on a store.
    assert!(!run(&["backup", "--data", d, "--to", f]).status.success());
    assert!(!run(&["restore", "--from", f, "--data", d]).status.success());
    let restored = dir.path().join("r");
    let r = restored.to_str().unwrap();
    let o = run(&["restore", "--from", f, "--data", r]);
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!restored.join("trace-index.snapshot").exists());
    // The audit trail verifies against the same published checkpoints, entry for entry.
    let verify = |dir: &str| {
        let o = run(&["audit", "verify", "--data", dir]);
        assert!(
            o.status.success(),
            "{}{}",
            stdout(&o),
            String::from_utf8_lossy(&o.stderr)
        );
        let out = stdout(&o);
        out.split(" entries")
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    let entries = verify(d);
    assert_eq!(verify(r), entries);
    assert!(entries.parse::<u64>().unwrap() > 0);
    // The same traces.
    let code = "(01)06901234567892(10)DEMO-BR-001";
    let trace = |dir: &str, how: &str| {
        let o = run(&["trace", code, "--data", dir, "--json"]);
        assert!(o.status.success());
        // The served store's snapshot is loaded; the restored store has none and builds the index.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(how), "{err}");
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut().unwrap().remove("took_us");
        v
    };
    assert_eq!(trace(r, "built in"), trace(d, "from the snapshot"));
}
