//! The console and the public lookup in a real browser: headless Chromium driven by ChromeDriver (Debian's
//! `chromium` and `chromium-driver`, which `.ci/run` installs). A regulator signs in, finds a batch by its code,
//! opens its trace, publishes it and registers a positive test; the tasks appear; the public page of the code
//! shows the approved facts; an enterprise scans a code into the movement form and uploads a ledger with an
//! error. On the incident pages a regulator, an enterprise and a commander go where a person would, through the
//! navigation, and see what the API answers. Every console step also checks that all the console's modules
//! loaded and that the page met no JavaScript error. With `COLDTRACE_SCREENSHOTS=1` the pages are saved to
//! `docs/screenshots/`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{Ent, TestApp, json};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser(profile: &std::path::Path) -> (Driver, Client) {
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromedriver).exists() && std::path::Path::new(&chromium).exists(),
        "browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)"
    );
    let port = free_port();
    let driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.display())]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

/// What the console's error collector holds, to tell why a page did not show what a test waited for.
async fn js_errors(c: &Client) -> serde_json::Value {
    c.execute(
        "return window.__ctErrors === undefined ? null : window.__ctErrors;",
        vec![],
    )
    .await
    .unwrap_or_default()
}

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("no {css}: {e}; JavaScript errors: {}", js_errors(c).await),
    }
}

/// The text of an element once it is there and stable (the page may re-render it while it loads).
async fn text_of(c: &Client, css: &str) -> String {
    wait_text(c, css, |t| !t.is_empty()).await
}

/// Polls an element's text until `ok` holds for it.
async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let t = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(text) = e.text().await
        {
            if ok(&text) {
                return text;
            }
            last = text;
        }
        if t.elapsed() > Duration::from_secs(10) {
            panic!(
                "{css} never showed what was expected; last text: {last:?}; JavaScript errors: {}",
                js_errors(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn shot(c: &Client, name: &str) {
    if std::env::var_os("COLDTRACE_SCREENSHOTS").is_some() {
        let png = c.screenshot().await.unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/screenshots");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

async fn sign_in(c: &Client, base: &str, key: &str) {
    c.goto(&format!("{base}/console#/signin")).await.unwrap();
    // A page already at this address (only the fragment differs, or not at all) is not loaded again by `goto`;
    // reloading renders the sign-in form from the address, whatever the page showed before.
    c.refresh().await.unwrap();
    no_js_errors(c, "sign-in page").await;
    let k = wait_css(c, "#key").await;
    k.send_keys(key).await.unwrap();
    c.find(Locator::Css("#signin-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A province's name as the console shows it.
fn pname(code: &str) -> String {
    coldtrace_domain::ProvinceCode::parse(code)
        .map(|p| p.name().to_string())
        .unwrap_or_else(|_| code.to_string())
}

/// Fails on any JavaScript error the console met (`errors.js` collects errors, unhandled rejections and scripts
/// that failed to load into `window.__ctErrors`) and unless every module loaded (`main.js` sets `__ctReady`).
async fn no_js_errors(c: &Client, step: &str) {
    let t = Instant::now();
    loop {
        let v = c
            .execute(
                "return {ready: window.__ctReady === true, errors: window.__ctErrors === undefined ? null : window.__ctErrors};",
                vec![],
            )
            .await
            .unwrap();
        let errors = v["errors"].as_array().unwrap_or_else(|| {
            panic!("{step}: the console's error collector is not there (errors.js)")
        });
        assert!(errors.is_empty(), "{step}: JavaScript errors: {errors:#?}");
        if v["ready"] == true {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{step}: the console's modules never loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Holds back by 1.5 s, as a busy platform answers, the page's requests for which the JavaScript condition
/// `matches` holds (over the request's address `u` and options `o`).
async fn hold_back(c: &Client, matches: &str) {
    c.execute(
        &format!(
            "const f = window.fetch; window.fetch = (u, o) => ({matches}) \
               ? new Promise((r) => setTimeout(r, 1500)).then(() => f(u, o)) : f(u, o); return true;"
        ),
        vec![],
    )
    .await
    .unwrap();
}

async fn click(c: &Client, css: &str) {
    wait_css(c, css).await.click().await.unwrap();
}

/// The cells' texts of every body row of a table.
async fn rows(c: &Client, table: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for tr in c
        .find_all(Locator::Css(&format!("{table} tbody tr")))
        .await
        .unwrap()
    {
        let mut cells = Vec::new();
        for td in tr.find_all(Locator::Css("td")).await.unwrap() {
            cells.push(td.text().await.unwrap().trim().to_string());
        }
        out.push(cells);
    }
    out
}

async fn api_get(base: &str, key: &str, path: &str) -> serde_json::Value {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn mv(app: &TestApp, e: &Ent, body: serde_json::Value) {
    let r = app.post("/api/v1/movements", &e.key, &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regulators_enterprises_and_the_public_use_the_platform_in_a_browser() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 81).await;
    let store = app
        .enterprise("120104", "first_station_cold_store", 82)
        .await;
    let code = "12020261126001";
    let (_, batch) = app.batch(&importer, "BR-WEB-1", code).await;
    mv(&app, &importer, json!({"kind": "receive", "batch_id": batch, "quantity": 1000, "at": "2026-11-20T08:00:00+08:00", "counterparty_name": "Frigorifico Exemplo S.A."})).await;
    mv(&app, &importer, json!({"kind": "ship", "batch_id": batch, "quantity": 400, "at": "2026-11-21T08:00:00+08:00", "counterparty_uscc": store.uscc, "counterparty_name": "首站冷库"})).await;
    mv(&app, &store, json!({"kind": "receive", "trace_code": code, "quantity": 400, "at": "2026-11-21T15:00:00+08:00", "counterparty_uscc": importer.uscc, "counterparty_name": "进口商"})).await;

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    let base = &app.base;

    // The public page says nothing before a regulator approves the batch.
    c.goto(&format!("{base}/t/{code}")).await.unwrap();
    wait_text(&c, "main", |t| t.contains("尚未经省级平台审核发布")).await;

    // The duty officer signs in with a personal account (a wrong password first) and sees the dashboard.
    let r = app
        .post(
            "/api/v1/accounts",
            &app.regulator,
            &json!({"login": "duty.tj", "name": "值班员", "role": "regulator", "province": "12",
                    "password": "tianjin-duty-2026"}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    c.goto(&format!("{base}/console#/signin")).await.unwrap();
    no_js_errors(&c, "sign-in page").await;
    wait_css(&c, "#login")
        .await
        .send_keys("duty.tj")
        .await
        .unwrap();
    wait_css(&c, "#password")
        .await
        .send_keys("wrong-password")
        .await
        .unwrap();
    click(&c, "#signin-account-btn").await;
    wait_text(&c, "#msg-account", |t| {
        t.contains("wrong login or password")
    })
    .await;
    let pw = wait_css(&c, "#password").await;
    pw.clear().await.unwrap();
    pw.send_keys("tianjin-duty-2026").await.unwrap();
    click(&c, "#signin-account-btn").await;
    wait_text(&c, "#stat-batches", |t| t == "1").await;
    wait_text(&c, "#who-person", |t| t == "duty.tj").await;
    // The importer shipped imported goods before recording their papers: the dashboard's data quality shows it,
    // and the duty officer dismisses the finding with a reason on the findings page.
    let quality = rows(&c, "#quality").await;
    assert!(
        quality
            .iter()
            .any(|r| r.iter().any(|c| c.ends_with('%') && c != "100%")),
        "{quality:?}"
    );
    // A sweep records the day's quality: the dashboard shows it by day, and a trend per city and kind.
    coldtrace_service::platform::sweep(app.store.as_ref(), &Default::default())
        .await
        .unwrap();
    c.refresh().await.unwrap();
    let trend = wait_text(&c, "#quality-trend", |t| t.contains('%')).await;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .strftime("%Y-%m-%d")
        .to_string();
    assert!(trend.contains(&today), "{trend}");
    let quality = rows(&c, "#quality").await;
    assert!(
        quality.iter().any(|r| r
            .last()
            .is_some_and(|c| c.chars().any(|ch| "▁▂▃▄▅▆▇█".contains(ch)))),
        "{quality:?}"
    );
    no_js_errors(&c, "dashboard with its trend").await;
    // Cities by name; the flagged count of a city and kind opens its findings.
    assert!(
        quality.iter().any(|r| r[0] == "天津市") && !format!("{quality:?}").contains("120100"),
        "{quality:?}"
    );
    click(
        &c,
        "#quality a[href='#/findings?city=120100&kind=importer']",
    )
    .await;
    let where_ = wait_text(&c, "#findings-where", |t| !t.is_empty()).await;
    assert!(
        where_.contains("天津市") && where_.contains("进口"),
        "{where_}"
    );
    wait_text(&c, "#findings", |t| t.contains("CT-4NOT")).await;
    no_js_errors(&c, "findings of a city and kind").await;
    c.goto(&format!("{base}/console#/")).await.unwrap();
    wait_text(&c, "#stat-batches", |t| t == "1").await;
    // The counts lead to their pages.
    assert_ne!(text_of(&c, "#stat-flagged").await, "0");
    wait_css(&c, "a.stat[href='#/findings']").await;
    wait_css(&c, "a.stat[href='#/incidents']").await;
    click(&c, "a[href='#/findings']").await;
    let text = wait_text(&c, "#findings", |t| t.contains("CT-4NOT")).await;
    assert!(text.contains("消毒证明"), "{text}");
    no_js_errors(&c, "findings").await;
    shot(&c, "console-findings").await;
    wait_css(&c, "[data-reason]")
        .await
        .send_keys("证件已补录，现场核实")
        .await
        .unwrap();
    click(&c, "[data-dismiss]").await;
    wait_text(&c, "main", |t| t.contains("没有问题")).await;
    let (_, dismissed) = json(
        app.get("/api/v1/findings?status=dismissed", &app.regulator)
            .await,
    )
    .await;
    assert_eq!(
        dismissed["items"][0]["reason"], "证件已补录，现场核实",
        "{dismissed}"
    );
    assert!(
        dismissed["items"][0]["closed_by"]
            .as_str()
            .unwrap()
            .contains("person:duty.tj"),
        "{dismissed}"
    );
    c.goto(&format!("{base}/console#/")).await.unwrap();
    wait_text(&c, "#stat-batches", |t| t == "1").await;
    no_js_errors(&c, "dashboard").await;
    shot(&c, "console-dashboard").await;

    // Finds the batch by its code.
    c.goto(&format!("{base}/console#/batches")).await.unwrap();
    wait_css(&c, "#q").await.send_keys(code).await.unwrap();
    c.find(Locator::Css("#search-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#batch-no", |t| t == "BR-WEB-1").await;
    no_js_errors(&c, "batch found by its code").await;
    shot(&c, "console-batch").await;

    // Opens its trace: the graph and the holders beside it.
    let batch_url = c.current_url().await.unwrap();
    c.find(Locator::Css("#open-trace"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&c, "#trace-graph g.node").await;
    let nodes = c
        .find_all(Locator::Css("#trace-graph g.node"))
        .await
        .unwrap();
    assert!(nodes.len() >= 2, "importer and cold store are drawn");
    let flows = c
        .find_all(Locator::Css("#trace-graph path.flow"))
        .await
        .unwrap();
    assert!(flows.len() >= 2, "the flows between them are drawn");
    let labels = text_of(&c, "#trace-graph").await;
    assert!(
        labels.contains("400") && !labels.contains("800"),
        "the quantity on the flow, counted once: {labels}"
    );
    assert!(
        labels.contains("carton"),
        "quantities carry their unit: {labels}"
    );
    let holders = text_of(&c, "#holders").await;
    assert!(
        holders.contains("600") && holders.contains("400"),
        "{holders}"
    );
    // Places by name from the GB/T 2260 table: the city and the district, not 120116.
    assert!(
        holders.contains("天津市 滨海新区") && holders.contains("天津市 南开区"),
        "{holders}"
    );
    shot(&c, "console-trace").await;
    // The holder table sorts by stock (largest first on the second click), opens a holder's batches, and the
    // drawing zooms.
    click(&c, "th[data-sort='on_hand']").await;
    click(&c, "th[data-sort='on_hand']").await;
    let sorted = rows(&c, "#holders").await;
    assert!(sorted[0][3].starts_with("600"), "{sorted:?}");
    click(&c, "tr.holder-row").await;
    let lots = wait_text(&c, "#lots", |t| t.contains("BR-WEB-1")).await;
    assert!(lots.contains("carton"), "{lots}");
    wait_css(&c, "#f-q")
        .await
        .send_keys("不存在的名字")
        .await
        .unwrap();
    wait_text(&c, "#holders", |t| !t.contains("600")).await;
    click(&c, "#zoom-out").await;
    let w: f64 = c
        .execute(
            "return Number(document.getElementById('trace-graph').getAttribute('width'));",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    let w0: f64 = c
        .execute(
            "return Number(document.getElementById('trace-graph').dataset.width);",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(w < w0, "zoomed out: {w} of {w0}");
    // The export is fetched with the session's key: record what the page's fetch answers.
    c.execute(
        "window.__exports = []; const f = window.fetch; window.fetch = async (...a) => { const r = await f(...a); \
         window.__exports.push([String(a[0]), r.status, r.headers.get('content-type')]); return r; }; return true;",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#export-csv").await;
    let t = Instant::now();
    let fetched = loop {
        let v = c.execute("return window.__exports;", vec![]).await.unwrap();
        if v.as_array().is_some_and(|a| !a.is_empty()) || t.elapsed() > Duration::from_secs(5) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(fetched[0][1], 200, "{fetched}");
    assert!(
        fetched[0][0].as_str().unwrap().contains("format=csv"),
        "{fetched}"
    );
    assert!(
        fetched[0][2].as_str().unwrap().starts_with("text/csv"),
        "{fetched}"
    );
    // The key data elements (FSMA 204), as a workbook.
    click(&c, "#export-kde_xlsx").await;
    let t = Instant::now();
    let fetched = loop {
        let v = c.execute("return window.__exports;", vec![]).await.unwrap();
        if v.as_array().is_some_and(|a| a.len() > 1) || t.elapsed() > Duration::from_secs(5) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(fetched[1][1], 200, "{fetched}");
    assert!(
        fetched[1][0].as_str().unwrap().contains("format=kde_xlsx"),
        "{fetched}"
    );
    assert!(
        fetched[1][2].as_str().unwrap().contains("spreadsheetml"),
        "{fetched}"
    );
    no_js_errors(&c, "trace").await;

    // Publishes it and registers a positive test: the tasks appear.
    c.goto(batch_url.as_str()).await.unwrap();
    wait_css(&c, "#publish").await.click().await.unwrap();
    wait_text(&c, "#msg", |t| t.contains("published")).await;
    c.find(Locator::Css("#positive"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The registration asks what was sampled and when, then shows it back for confirmation.
    wait_text(&c, "#r-batch", |t| t == "BR-WEB-1").await;
    c.find(Locator::Css("#r-sample"))
        .await
        .unwrap()
        .select_by_value("outer_packaging")
        .await
        .unwrap();
    click(&c, "#review-btn").await;
    let review = wait_text(&c, "#review-box", |t| t.contains("确认登记")).await;
    assert!(
        review.contains("BR-WEB-1") && review.contains("外包装"),
        "{review}"
    );
    no_js_errors(&c, "review a positive test").await;
    // A double click registers one incident.
    c.execute(
        "const b = document.getElementById('confirm-btn'); b.click(); b.click(); return true;",
        vec![],
    )
    .await
    .unwrap();
    // A task for each holder with goods on hand.
    wait_text(&c, "#task-count", |t| t == "2").await;
    let head = text_of(&c, "main").await;
    assert!(
        head.contains("BR-WEB-1") && head.contains("阳性后"),
        "named by its batch, with the time since the result: {head}"
    );
    let tasks = text_of(&c, "#tasks").await;
    assert!(tasks.contains("600") && tasks.contains("400"), "{tasks}");
    no_js_errors(&c, "publish and register a positive test").await;
    shot(&c, "console-incident").await;

    // The incident is in the list, reached through the navigation as a person would, and opens from there.
    let listed = api_get(base, &app.regulator, "/api/v1/incidents").await;
    let items = listed["items"].as_array().expect("{items: [...]}");
    assert_eq!(items.len(), 1, "{listed}");
    let incident = items[0]["id"].as_str().unwrap().to_string();
    click(&c, "#nav a[href='#/incidents']").await;
    let list = wait_text(&c, "#incidents", |t| {
        t.contains(items[0]["subject"].as_str().unwrap())
    })
    .await;
    assert!(list.contains("open"), "{list}");
    let row = &rows(&c, "#incidents").await[0];
    assert_eq!(row[3], items[0]["open_tasks"].to_string(), "{row:?}");
    no_js_errors(&c, "incident list").await;
    click(&c, &format!("#incidents a[href='#/incident/{incident}']")).await;
    let answer = api_get(
        base,
        &app.regulator,
        &format!("/api/v1/incidents/{incident}"),
    )
    .await;
    let expected: Vec<(String, String)> = answer["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["holder_name"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    t["on_hand"].as_f64().unwrap(),
                    t["unit"].as_str().unwrap()
                ),
            )
        })
        .collect();
    assert_eq!(expected.len(), 2, "{answer}");
    wait_text(&c, "#task-count", |t| t == expected.len().to_string()).await;
    let shown: Vec<(String, String)> = rows(&c, "#tasks")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), r[3].clone()))
        .collect();
    assert_eq!(
        shown, expected,
        "the holders and quantities the API answers"
    );
    no_js_errors(&c, "incident opened from the list").await;
    // The duty officer reports the disposal at the holder that is not the cold store, and adds a note.
    let other = answer["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["enterprise"].as_str() != Some(store.id.as_str()))
        .expect("a task elsewhere")
        .clone();
    click(
        &c,
        &format!("[data-report='{}']", other["id"].as_str().unwrap()),
    )
    .await;
    c.find(Locator::Css("#rep-action"))
        .await
        .unwrap()
        .select_by_value("destroy")
        .await
        .unwrap();
    wait_css(&c, "#rep-note")
        .await
        .send_keys("现场监督销毁")
        .await
        .unwrap();
    click(&c, "#report-btn").await;
    wait_text(&c, "#timeline", |t| t.contains("现场监督销毁")).await;
    wait_css(&c, "#note-text")
        .await
        .send_keys("外包装阳性，已通知冷库封存")
        .await
        .unwrap();
    click(&c, "#note-btn").await;
    wait_text(&c, "#timeline", |t| t.contains("外包装阳性")).await;
    let after = api_get(
        base,
        &app.regulator,
        &format!("/api/v1/incidents/{incident}"),
    )
    .await;
    assert_eq!(after["open_tasks"], 1, "{after}");
    no_js_errors(&c, "report and note on the incident page").await;

    // The public page of the code: approved facts, no names.
    c.goto(&format!("{base}/t/{code}")).await.unwrap();
    wait_text(&c, "h1", |t| t == "冷冻去骨牛肉").await;
    let page = text_of(&c, "main").await;
    assert!(
        page.contains("BR") && page.contains("报关单") && page.contains("✓ 有"),
        "{page}"
    );
    assert!(
        !page.contains("测试企业"),
        "no enterprise names on the public page"
    );
    // Under the open incident the public is told what to do.
    let warning = text_of(&c, "#warning").await;
    assert!(
        warning.contains("请勿食用") && warning.contains("12315"),
        "{warning}"
    );
    assert!(page.contains("巴西"), "the origin by its name: {page}");
    assert!(
        page.contains("天津 · 天津市") && !page.contains("120100"),
        "cities by name: {page}"
    );
    wait_css(&c, ".qr img").await;
    shot(&c, "public-lookup").await;
    // On a phone's width the page fits: nothing to scroll sideways.
    c.set_window_size(390, 844).await.unwrap();
    c.refresh().await.unwrap();
    wait_css(&c, "#warning").await;
    let wide = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        wide.as_f64().unwrap() <= 0.0,
        "scrolls sideways by {wide}px"
    );
    shot(&c, "public-lookup-phone").await;
    c.set_window_size(1280, 900).await.unwrap();
    c.goto(&format!("{base}/label?code={code}&size=70x50"))
        .await
        .unwrap();
    wait_css(&c, ".label svg").await;
    shot(&c, "label-70x50").await;

    // Signing out ends the session on the platform: the token no longer works.
    let token = c
        .execute("return sessionStorage.getItem('ct_key');", vec![])
        .await
        .unwrap();
    let token = token.as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/v1/whoami", &token).await.status(),
        reqwest::StatusCode::OK
    );
    c.goto(&format!("{base}/console#/")).await.unwrap();
    wait_text(&c, "#who-person", |t| t == "duty.tj").await;
    // A page still loading when the officer signs out must not paint over the sign-in form, nor sign out again
    // on the 401 its late read meets: the platform's reads are held back 1.5 s here, as a busy platform
    // answers, while the officer opens the statistics and signs out at once.
    hold_back(
        &c,
        "(!o || !o.method || o.method === 'GET') && String(u).startsWith('/api/v1/statistics')",
    )
    .await;
    c.execute("location.hash = '#/statistics'; return true;", vec![])
        .await
        .unwrap();
    click(&c, "#signout").await;
    wait_css(&c, "#login").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        c.find(Locator::Css("#login")).await.is_ok(),
        "the statistics page, answered after signing out, covered the sign-in form"
    );
    assert_eq!(
        js_errors(&c).await,
        json!([]),
        "a page left while loading met an error"
    );
    let t = Instant::now();
    while app.get("/api/v1/whoami", &token).await.status() != reqwest::StatusCode::UNAUTHORIZED {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the session still works after signing out"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // An enterprise scans a code into the movement form: it fills in what the code says.
    c.goto(&format!("{base}/console#/signin")).await.unwrap();
    c.execute("sessionStorage.clear(); return true;", vec![])
        .await
        .unwrap();
    sign_in(&c, base, &store.key).await;
    let code_input = wait_css(&c, "#code").await;
    code_input
        .send_keys(&format!("{code}\u{E007}"))
        .await
        .unwrap();
    wait_text(&c, "#filled-batch", |t| t == "BR-WEB-1").await;
    c.find(Locator::Css("#kind"))
        .await
        .unwrap()
        .select_by_value("sell")
        .await
        .unwrap();
    c.find(Locator::Css("#quantity"))
        .await
        .unwrap()
        .send_keys("25")
        .await
        .unwrap();
    c.find(Locator::Css("#cp-name"))
        .await
        .unwrap()
        .send_keys("天津某饭店")
        .await
        .unwrap();
    shot(&c, "portal-record").await;
    c.find(Locator::Css("#record-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#msg", |t| t.contains("recorded")).await;
    no_js_errors(&c, "record a sale").await;

    // Uploads a ledger with one bad row and sees it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ledger.csv");
    std::fs::write(
        &file,
        format!("日期,类型,品名,批号,数量,单位,追溯码,对方名称\n2026/11/22 09:00,销售,冷冻去骨牛肉,BR-WEB-1,-5,箱,{code},某饭店\n"),
    )
    .unwrap();
    c.goto(&format!("{base}/console#/ledger")).await.unwrap();
    wait_css(&c, "#file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    c.find(Locator::Css("#upload-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#error-count", |t| t == "1").await;
    let errors = text_of(&c, "#row-errors").await;
    assert!(errors.contains('2'), "the row number is shown: {errors}");
    no_js_errors(&c, "ledger upload").await;
    shot(&c, "portal-ledger").await;

    // The cold store's disposal task: its own, with the quantity it had on hand.
    let mine = api_get(base, &store.key, "/api/v1/incidents").await;
    let task = &mine["items"][0]["tasks"][0];
    assert_eq!(
        mine["items"][0]["tasks"].as_array().map(Vec::len),
        Some(1),
        "{mine}"
    );
    click(&c, "#nav a[href='#/tasks']").await;
    wait_css(&c, "#my-tasks").await;
    let shown = rows(&c, "#my-tasks").await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(
        shown[0][2],
        format!(
            "{} {}",
            task["on_hand"].as_f64().unwrap(),
            task["unit"].as_str().unwrap()
        )
    );
    assert!(shown[0][1].contains("BR-WEB-1"), "{shown:?}");
    no_js_errors(&c, "enterprise tasks").await;
    // The cold store reports what it sealed, in its portal.
    click(&c, "#my-tasks [data-report]").await;
    c.find(Locator::Css("#rep-action"))
        .await
        .unwrap()
        .select_by_value("seal")
        .await
        .unwrap();
    click(&c, "#report-btn").await;
    wait_text(&c, "#my-tasks", |t| t.contains("已完成")).await;
    no_js_errors(&c, "enterprise reports its disposal").await;

    // The regulator closes the incident: every quantity is accounted for.
    c.execute("sessionStorage.clear(); return true;", vec![])
        .await
        .unwrap();
    sign_in(&c, base, &app.regulator).await;
    // Signed in once the dashboard shows (it is where signing in leads).
    wait_css(&c, "#stat-batches").await;
    c.goto(&format!("{base}/console#/incident/{incident}"))
        .await
        .unwrap();
    wait_text(&c, "#outstanding", |t| t == "0").await;
    wait_css(&c, "#close-reason")
        .await
        .send_keys("全部封存销毁完毕")
        .await
        .unwrap();
    click(&c, "#close-btn").await;
    wait_text(&c, "main", |t| t.contains("已结案")).await;
    let closed = api_get(
        base,
        &app.regulator,
        &format!("/api/v1/incidents/{incident}"),
    )
    .await;
    assert_eq!(closed["status"], "closed", "{closed}");
    no_js_errors(&c, "close the incident").await;
    shot(&c, "console-incident-closed").await;

    // Closed: the public page no longer warns.
    c.goto(&format!("{base}/t/{code}")).await.unwrap();
    let page = wait_text(&c, "main", |t| t.contains("流通链条")).await;
    assert!(!page.contains("风险提示"), "{page}");

    // The batch page shows who holds it, and the regulator withdraws its publication.
    c.goto(batch_url.as_str()).await.unwrap();
    let held = wait_text(&c, "#batch-holders", |t| t.contains("carton")).await;
    assert!(held.contains("天津"), "{held}");
    wait_text(&c, "#published", |t| t.contains("已发布")).await;
    click(&c, "#withdraw").await;
    wait_text(&c, "#published", |t| t.contains("未发布")).await;
    no_js_errors(&c, "withdraw a publication").await;
    c.goto(&format!("{base}/t/{code}")).await.unwrap();
    wait_text(&c, "main", |t| t.contains("尚未经省级平台审核发布")).await;

    // A button's request answered after the officer went on to another page: what it did stands, and the page
    // it came from does not reload over the new one. The publish request is held back 1.5 s here.
    c.goto(batch_url.as_str()).await.unwrap();
    wait_text(&c, "#published", |t| t.contains("未发布")).await;
    hold_back(&c, "String(u).endsWith('/publish')").await;
    click(&c, "#publish").await;
    click(&c, "#nav a[href='#/findings']").await;
    wait_text(&c, "h1", |t| t.contains("Ledger findings")).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        c.find(Locator::Css("#batch-no")).await.is_err(),
        "the batch page, reloaded after its publish request, covered the findings page"
    );
    wait_text(&c, "h1", |t| t.contains("Ledger findings")).await;
    no_js_errors(&c, "a page left during a button's request").await;
    c.goto(&format!("{base}/t/{code}")).await.unwrap();
    wait_text(&c, "main", |t| t.contains("流通链条")).await;
    c.close().await.unwrap();
}

/// At the national platform: a commander sees the links between two provinces' records with their evidence and
/// confirms one; the national overview, the incidents the provinces reported and one incident's cross-province
/// trace and delivery status are on their pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commander_confirms_a_link_between_provinces_in_the_browser() {
    use crate::docking::{Nat, env};
    let nat = Nat::spawn().await;
    let seller = crate::support::uscc("120116", 61);
    let buyer = crate::support::uscc("440106", 62);
    let flow = |ty: &str, batch: &str, product: &str, other: &str, at: i64| {
        json!({"type": ty, "movement": format!("m-{batch}"), "batch": batch, "product": product,
               "seller_uscc": seller, "seller_name": "天津进口商", "buyer_uscc": buyer, "buyer_name": "广州批发商",
               "other_province": other, "quantity_milli": 200_000, "unit": "kg", "at_ms": at})
    };
    let (s, _) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "12", "messages": [
            env(1, flow("outflow", "tj-7", "冻牛腩", "44", 1_700_000_000_000))]}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = nat
        .send("44", "/docking/v1/foreign/records", json!({"records": [
            {"jllx": "RK", "lsh": "gd-r7", "pch_id": "gd-7", "spmc": "冷冻牛腩", "mfdm": seller, "gfdm": buyer,
             "sl": "200", "dw": "kg", "sj": "2023-11-15 09:00:00"}]}))
        .await;
    assert_eq!(s, 200);
    // A positive test in Tianjin on the batch sold to Guangdong.
    let incident = uuid::Uuid::now_v7();
    let (s, _) = nat
        .send(
            "12",
            "/docking/v1/messages",
            json!({"version": "1", "province": "12", "messages": [env(2, json!({
            "type": "incident", "incident": incident, "kind": "batch_sample", "subject": "tj-7",
            "positive_at": "2023-11-20T09:00:00+08:00", "batches": ["tj-7"]}))]}),
        )
        .await;
    assert_eq!(s, 200);

    // Tianjin keeps its duty contacts at the national platform.
    let r = reqwest::Client::new()
        .put(format!("{}/docking/v1/contacts", nat.base))
        .basic_auth("province-12", Some("secret-of-province-12"))
        .json(
            &json!({"office": "天津市市场监督管理委员会食品流通处", "hours": "24小时",
            "contacts": [{"name": "张伟", "role": "值班长", "phone": "022-23456789"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    sign_in(&c, &nat.base, &nat.commander).await;
    wait_text(&c, "main h1", |t| t.contains("National command")).await;
    let by_province = wait_text(&c, "#by-province", |t| t.contains("广东")).await;
    assert!(by_province.contains("天津"), "{by_province}");
    let registry = text_of(&c, "#contacts").await;
    assert!(
        registry.contains("张伟") && registry.contains("022-23456789"),
        "{registry}"
    );
    no_js_errors(&c, "national overview").await;
    shot(&c, "national-overview").await;
    c.goto(&format!("{}/console#/links", nat.base))
        .await
        .unwrap();
    let table = wait_text(&c, "#links", |t| t.contains("evidence")).await;
    assert!(
        table.contains("seller") && table.contains("proposed"),
        "{table}"
    );
    no_js_errors(&c, "links").await;
    shot(&c, "national-links").await;
    wait_css(&c, "[data-d=confirm]")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&c, "#links", |t| t.contains("confirmed")).await;
    no_js_errors(&c, "link confirmed").await;

    // The incidents the provinces reported, through the navigation, and the one from Tianjin opened from there.
    let listed = api_get(&nat.base, &nat.commander, "/api/v1/national/incidents").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    click(&c, "#nav a[href='#/national/incidents']").await;
    wait_text(&c, "#national-incidents", |t| t.contains("tj-7")).await;
    let row = &rows(&c, "#national-incidents").await[0];
    assert_eq!(
        row[0],
        pname(listed[0]["incident"]["province"].as_str().unwrap())
    );
    let provinces: Vec<String> = listed[0]["trace"]["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| pname(p.as_str().unwrap()))
        .collect();
    assert_eq!(row[2], provinces.join("、"), "{row:?}");
    no_js_errors(&c, "national incidents").await;
    click(
        &c,
        &format!("#national-incidents a[href='#/national/incident/{incident}']"),
    )
    .await;
    wait_text(&c, "#incident-subject", |t| t == "tj-7").await;
    let answer = api_get(
        &nat.base,
        &nat.commander,
        &format!("/api/v1/national/incidents/{incident}"),
    )
    .await;
    let expected: Vec<(String, String)> = answer["trace"]["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                pname(b["province"].as_str().unwrap()),
                b["relation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        expected.len() >= 2,
        "the trace crosses into Guangdong: {answer}"
    );
    let shown: Vec<(String, String)> = rows(&c, "#national-trace")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), r[4].clone()))
        .collect();
    assert_eq!(shown, expected);
    // Every province the trace reaches is listed, with its notice's delivery or none.
    let deliveries = rows(&c, "#deliveries").await;
    let provinces: Vec<&str> = deliveries.iter().map(|r| r[0].as_str()).collect();
    let mut wanted: Vec<String> = answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(answer["trace"]["provinces"].as_array().unwrap())
        .map(|d| d["province"].as_str().or(d.as_str()).unwrap().to_string())
        .collect();
    wanted.sort();
    wanted.dedup();
    let wanted: Vec<String> = wanted.iter().map(|p| pname(p)).collect();
    assert_eq!(provinces, wanted, "{answer}");
    // Beside each province's notice, its duty contacts (or that it has none registered).
    let tianjin = deliveries
        .iter()
        .find(|r| r[0] == "天津")
        .expect("Tianjin's row");
    assert!(
        tianjin.last().unwrap().contains("值班长 张伟"),
        "{deliveries:?}"
    );
    assert!(
        deliveries
            .iter()
            .any(|r| r.last().unwrap().contains("未登记联络人")),
        "{deliveries:?}"
    );
    no_js_errors(&c, "national incident").await;
    c.close().await.unwrap();
}

/// A generated province's widest trace: every holder is drawn, the drawing zooms to fit the page and back, and no
/// script fails.
#[tokio::test]
async fn a_large_trace_is_drawn_whole_and_zooms_to_fit() {
    let app = TestApp::spawn().await;
    let cfg = coldtrace_gen::GenConfig {
        movements: 3_000,
        provinces: vec![coldtrace_domain::ProvinceCode::parse("12").unwrap()],
        ..Default::default()
    };
    coldtrace_gen::generate(app.store.as_ref(), &cfg, &|_, _| {})
        .await
        .unwrap();
    // The batch whose trace reaches the most holders.
    let list = api_get(&app.base, &app.regulator, "/api/v1/batches?limit=200").await;
    let mut widest = (0, String::new());
    for b in list["items"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        let t = api_get(
            &app.base,
            &app.regulator,
            &format!("/api/v1/trace?batch={id}&direction=both&limit=1"),
        )
        .await;
        let n = t["page"]["holders_total"].as_u64().unwrap();
        if n > widest.0 {
            widest = (n, id.to_string());
        }
    }
    assert!(widest.0 >= 8, "a trace of some size: {widest:?}");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    sign_in(&c, &app.base, &app.regulator).await;
    wait_css(&c, "#stat-batches").await;
    c.goto(&format!("{}/console#/trace/{}", app.base, widest.1))
        .await
        .unwrap();
    wait_css(&c, "#trace-graph g.node").await;
    let nodes = c
        .find_all(Locator::Css("#trace-graph g.node"))
        .await
        .unwrap();
    assert_eq!(nodes.len() as u64, widest.0, "every holder is drawn");
    assert_eq!(rows(&c, "#holders").await.len() as u64, widest.0);
    click(&c, "#zoom-fit").await;
    shot(&c, "console-trace-large").await;
    let fits = c
        .execute(
            "const s = document.getElementById('trace-graph'), b = document.getElementById('graph-box');\
             return Number(s.getAttribute('width')) <= b.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, serde_json::Value::Bool(true));
    click(&c, "#zoom-in").await;
    no_js_errors(&c, "a large trace").await;
    c.close().await.unwrap();
}

/// Customs uploads a feed file in the console; the importer's batch differs from its declaration, and the duty
/// officer finds the difference among the findings and the declaration on the customs page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customs_uploads_a_feed_and_the_regulator_sees_the_difference() {
    let app = TestApp::spawn().await;
    let importer = app.enterprise("120116", "importer", 91).await;
    // The batch records 1,300 cartons under declaration 020220261000456789.
    app.batch(&importer, "BR-CUS-1", "12020261126091").await;
    let customs = TestApp::key(
        &app.store,
        coldtrace_domain::Role::Customs,
        Some("12"),
        None,
    )
    .await;
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    let base = &app.base;

    sign_in(&c, base, &customs).await;
    wait_css(&c, "#customs-feed").await;
    no_js_errors(&c, "customs page").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.csv");
    let on = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    std::fs::write(
        &file,
        format!(
            "报关单号,入境口岸,申报日期,收货人统一社会信用代码,商品编码,商品名称,原产国,数量,单位,净重,集装箱号\n\
             020220261000456789,天津新港,{on},{},0202300090,冷冻去骨牛肉,BR,1000,箱,20000,CSQU3054383\n",
            importer.uscc
        ),
    )
    .unwrap();
    wait_css(&c, "#feed-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#feed-btn").await;
    let receipt = wait_text(&c, "#feed-receipt", |t| !t.is_empty()).await;
    assert!(
        receipt.contains("新 1") && receipt.contains("新问题 1"),
        "{receipt}"
    );
    wait_text(&c, "#declarations", |t| t.contains("020220261000456789")).await;
    no_js_errors(&c, "customs feed upload").await;
    shot(&c, "console-customs").await;
    // Customs reads the finding about its declaration, without the regulator's buttons.
    click(&c, "#nav a[href='#/findings']").await;
    let text = wait_text(&c, "#findings", |t| t.contains("CT-CUS-DIFF")).await;
    assert!(
        text.contains("quantity 1300 carton, declared 1000 carton"),
        "{text}"
    );
    assert!(c.find(Locator::Css("[data-dismiss]")).await.is_err());
    no_js_errors(&c, "customs findings").await;

    // The duty officer: the difference among the findings, by its rule, with the declaration.
    c.execute("localStorage.clear(); sessionStorage.clear();", vec![])
        .await
        .unwrap();
    sign_in(&c, base, &app.regulator).await;
    wait_css(&c, "#stat-batches").await;
    click(&c, "#nav a[href='#/customs']").await;
    wait_text(&c, "#declarations", |t| {
        t.contains("冷冻去骨牛肉 1,000 carton")
    })
    .await;
    click(&c, "a[href='#/findings?rule=customs_mismatch']").await;
    wait_text(&c, "#findings", |t| t.contains("CT-CUS-DIFF")).await;
    let found = rows(&c, "#findings").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].iter().any(|c| c == "020220261000456789"),
        "{found:?}"
    );
    no_js_errors(&c, "customs findings for the regulator").await;

    // The census: imported on the statistics page, matched, with the business not registered listed.
    let census = dir.path().join("census.csv");
    std::fs::write(
        &census,
        format!(
            "统一社会信用代码,名称,类型,行政区划,地址,联系人,联系电话\n{},天津某进口商,进口商,120116,,,\n,北辰冰山冷库有限公司,第三方冷库,120113,北辰区,张三,13800000000\n",
            importer.uscc
        ),
    )
    .unwrap();
    click(&c, "#nav a[href='#/statistics']").await;
    wait_css(&c, "#census-file")
        .await
        .send_keys(census.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#census-btn").await;
    wait_text(&c, "#census-stored", |t| t.contains('2')).await;
    assert_eq!(text_of(&c, "#census-coverage").await, "50%");
    let missing = text_of(&c, "#census-unregistered").await;
    assert!(
        missing.contains("北辰冰山冷库有限公司")
            && missing.contains("13800000000")
            && missing.contains("天津市 北辰区"),
        "{missing}"
    );
    let rows = rows(&c, "#stat-rows").await;
    assert!(
        rows.iter()
            .any(|r| r[0] == "天津市" && r[1] == "进口商" && r[4] == "100%"),
        "{rows:?}"
    );
    click(&c, "#stats-xlsx").await;
    no_js_errors(&c, "census and statistics").await;
    // The dashboard shows the coverage too.
    click(&c, "#nav a[href='#/']").await;
    wait_text(&c, "#stat-coverage", |t| t == "50%").await;
    no_js_errors(&c, "dashboard with coverage").await;
    shot(&c, "console-statistics").await;
}
