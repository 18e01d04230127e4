//! Hostile files and bodies: each is refused with the limit it broke, the process stays up, and `/healthz`
//! keeps answering while they are refused.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Ent, TestApp, json};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn upload(app: &TestApp, e: &Ent, body: Vec<u8>, ct: &str) -> (StatusCode, Value) {
    oversize(app, "/api/v1/ledger", &e.key, body, ct).await
}

/// Sends a body and reads the answer. The server refuses a body over its limit as soon as it reads the length,
/// and closes the connection: a client still writing may see the connection close before it reads the 413
/// (as curl does not, the HTTP client here sometimes does), so such a send is tried again, a few times.
async fn oversize(
    app: &TestApp,
    path: &str,
    key: &str,
    body: Vec<u8>,
    ct: &str,
) -> (StatusCode, Value) {
    for _ in 0..5 {
        let r = app
            .http
            .post(app.url(path))
            .bearer_auth(key)
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .await;
        match r {
            Ok(r) => return json(r).await,
            Err(e) if e.is_request() => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the connection closed before the answer five times");
}

/// A small workbook whose only cells are A1 and XFD1048576: its declared extent is 17 billion cells.
fn corner_cells_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "日期").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

/// A valid ledger workbook carrying one more part that unpacks to `mb` megabytes of zeros.
fn bomb_xlsx(mb: usize) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().write_string(0, 0, "日期").unwrap();
    let small = wb.save_to_buffer().unwrap();
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(small)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        out.raw_copy_file(src.by_index(i).unwrap()).unwrap();
    }
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    out.start_file("xl/media/padding.bin", opts).unwrap();
    let chunk = vec![0u8; 1024 * 1024];
    for _ in 0..mb {
        out.write_all(&chunk).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Calls `/healthz` every 20 ms until `stop`, answering the slowest reply.
async fn watch_health(base: String, stop: tokio::sync::watch::Receiver<bool>) -> Duration {
    let http = reqwest::Client::new();
    let mut worst = Duration::ZERO;
    while !*stop.borrow() {
        let t = Instant::now();
        let r = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worst
}

fn field_reason(v: &Value) -> String {
    format!("{} {}", v["field"], v["message"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ledgers_are_refused_naming_the_limit_while_the_platform_keeps_answering() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 81).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let health = tokio::spawn(watch_health(app.base.clone(), stop_rx));

    // The workbook with two corner cells: 1.5 KB on the wire.
    let corner = corner_cells_xlsx();
    assert!(corner.len() < 10_000, "{} bytes", corner.len());
    let (s, v) = upload(&app, &e, corner, XLSX).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(field_reason(&v).contains("max_columns"), "{v}");

    // Two CSVs of a million columns each, at once.
    let wide = format!("{}\n", ",".repeat(1_000_000)).into_bytes();
    let (a, b) = tokio::join!(
        upload(&app, &e, wide.clone(), "text/csv"),
        upload(&app, &e, wide, "text/csv")
    );
    for (s, v) in [a, b] {
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(field_reason(&v).contains("max_columns"), "{v}");
    }

    // A workbook that unpacks to 200 MB.
    let bomb = bomb_xlsx(200);
    assert!(bomb.len() < 2_000_000, "{} bytes", bomb.len());
    let (s, v) = upload(&app, &e, bomb, XLSX).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(field_reason(&v).contains("max_unpacked_bytes"), "{v}");

    // Rows beyond the limit.
    let mut many = String::from("日期,类型,品名,批号,数量,单位\n");
    for i in 0..50_001 {
        many.push_str(&format!("2026/3/1,入库,冻肉,L-{i},1,箱\n"));
    }
    let (s, v) = upload(&app, &e, many.into_bytes(), "text/csv").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(field_reason(&v).contains("max_rows"), "{v}");

    // A file over the ledger route's size.
    let (s, v) = upload(&app, &e, vec![b'a'; 17 * 1024 * 1024], "text/csv").await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["code"], "payload_too_large");

    stop_tx.send(true).unwrap();
    let worst = health.await.unwrap();
    eprintln!("slowest /healthz while hostile ledgers were refused: {worst:?}");
    assert!(
        worst < Duration::from_secs(1),
        "/healthz waited {worst:?} behind the parsing"
    );
    // Nothing of any of them was stored, and the platform still imports a real ledger.
    assert_eq!(app.stats().await.movements, 0);
    let ok = "日期,类型,品名,品类,原产国,批号,数量,单位,追溯码,对方名称\n2026/3/1 08:30,入库,冷冻去骨牛肉,畜禽肉,BR,L-1,10,箱,11020201108001,Frigorifico S.A.\n";
    let (s, v) = upload(&app, &e, ok.as_bytes().to_vec(), "text/csv").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 82).await;
    let body = vec![b' '; 100 * 1024 * 1024];
    let t = Instant::now();
    let (s, v) = oversize(
        &app,
        "/api/v1/submissions",
        &e.key,
        body,
        "application/json",
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["code"], "payload_too_large");
    eprintln!("100 MB JSON body refused in {:?}", t.elapsed());
    let r = app.get("/healthz", &e.key).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_key_guessing_flood_and_a_busy_key_get_429_with_retry_after() {
    use coldtrace_api::limits::RateLimits;
    let app = TestApp::spawn_with(RateLimits {
        per_address: (10_000, 10_000),
        per_credential: (5, 10),
        failed_auth_per_address: (1, 5),
    })
    .await;
    let e = app.enterprise("120116", "importer", 83).await;
    // A busy key: the burst passes, then 429 with the time to wait.
    let mut statuses = vec![];
    for _ in 0..30 {
        let r = app.get("/api/v1/batches", &e.key).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().get("retry-after").is_some());
            let (_, v) = json(r).await;
            assert_eq!(v["code"], "too_many_requests");
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!((10..30).contains(&ok), "{statuses:?}");
    assert!(statuses.contains(&429));
    // Guessing keys: after a few failures the address is refused for a while, whatever key it sends.
    let mut seen = vec![];
    for i in 0..20 {
        let r = app.get("/api/v1/batches", &format!("ct_guess_{i}")).await;
        seen.push(r.status().as_u16());
    }
    assert_eq!(&seen[..5], &[401; 5], "{seen:?}");
    assert!(seen[6..].iter().all(|s| *s == 429), "{seen:?}");
    let r = app.get("/api/v1/whoami", &app.regulator).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_do_not_hold_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /api/v1/batches HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // The platform keeps answering while they hang.
    let t = Instant::now();
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    eprintln!("/healthz beside 300 half-sent requests: {:?}", t.elapsed());
    // Each is closed once the header-read timeout passes.
    let limit = coldtrace_api::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    let t = Instant::now();
    for mut s in held {
        let mut buf = [0u8; 256];
        let left = limit
            .saturating_sub(t.elapsed())
            .max(Duration::from_millis(1));
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(n)) => assert!(
                n == 0 || buf.starts_with(b"HTTP/1.1 408"),
                "{:?}",
                &buf[..n]
            ),
            Ok(Err(_)) => {}
            Err(_) => panic!("a half-sent request was still held after {limit:?}"),
        }
    }
    eprintln!("300 half-sent requests closed after {:?}", t.elapsed());
}
