//! Docking between the national platform and the provinces, as separate processes on loopback: who the
//! national platform admits, the codes each province issues and how the national platform recognises the same
//! goods across them, a positive test in Zhejiang traced back to the importer and forward to every holder,
//! notices delivered and acknowledged, requests for detail, and delivery exactly once across an outage.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::federation::{Federation, Http, National, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_docking_credentials_are_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let national = National::start(dir.path());
    let http = Http::new();
    let upload = |secret: &str, body: Value| {
        http.c
            .post(national.endpoint("/docking/v1/messages"))
            .basic_auth("province-12", Some(secret))
            .json(&body)
            .send()
    };
    let empty = json!({"version": "1", "province": "12", "messages": []});

    let r = upload("wrong-secret-wrong-secret", empty.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The body is not even looked at: one that is no upload at all is refused the same way.
    let r = upload("wrong-secret-wrong-secret", json!({"not": "an upload"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The province's own secret is accepted for the same upload.
    let r = upload("docking-secret-of-province-12", empty)
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provincial_regulator_key_means_nothing_at_the_national_platform() {
    let fed = Federation::start();
    // The commander sees the overview.
    fed.national.overview(&fed.http).await;
    let r = fed
        .http
        .c
        .get(fed.national.endpoint("/api/v1/national/overview"))
        .bearer_auth(&fed.zhejiang.regulator)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "a provincial key means nothing at the national platform"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provinces_issue_their_own_codes_and_the_national_platform_recognises_the_same_goods() {
    let fed = Federation::start();
    let goods = fed.record_goods().await;
    let http = &fed.http;

    // Tianjin: a URL code on its public host.
    let codes = fed
        .tianjin
        .codes(http, &goods.importer, &goods.container)
        .await;
    assert!(
        codes
            .iter()
            .any(|(_, c)| c.starts_with("http://trace.p12.example/t/12")),
        "{codes:?}"
    );
    // Jiangsu: a 14-digit code starting with the province.
    for batch in [&goods.received, &goods.balls, &goods.slices] {
        let codes = fed.jiangsu.codes(http, &goods.processor, batch).await;
        assert!(
            codes.iter().any(|(s, c)| s == "issued"
                && c.len() == 14
                && c.starts_with("32")
                && c.bytes().all(|b| b.is_ascii_digit())),
            "{codes:?}"
        );
    }
    // Zhejiang: a code built on the supermarket's USCC.
    let codes = fed.zhejiang.codes(http, &goods.shop, &goods.shelf).await;
    assert!(
        codes
            .iter()
            .any(|(s, c)| s == "uscc" && c.starts_with(&format!("{}.", goods.shop.uscc))),
        "{codes:?}"
    );

    // No code crosses a border, yet the national platform links Tianjin's container to the beef Jiangsu
    // received (same inspection certificate) and Jiangsu's balls to Zhejiang's (seller, buyer, quantity, date).
    let has = |links: &Value, from: (&str, &str), to: (&str, &str), basis: &str| {
        links.as_array().unwrap().iter().any(|l| {
            l["from"]["province"] == from.0
                && l["from"]["batch"] == from.1
                && l["to"]["province"] == to.0
                && l["to"]["batch"] == to.1
                && l["basis"] == basis
        })
    };
    wait_for(
        "the links between provinces",
        Duration::from_secs(10),
        || async {
            let links = http
                .get(
                    fed.national.endpoint("/api/v1/national/links"),
                    &fed.national.commander,
                )
                .await;
            has(
                &links,
                ("12", &goods.container),
                ("32", &goods.received),
                "inspection_cert",
            ) && has(
                &links,
                ("32", &goods.balls),
                ("33", &goods.shelf),
                "evidence",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_positive_test_is_traced_to_the_importer_and_forward_to_every_holder_across_provinces() {
    let fed = Federation::start();
    let goods = fed.record_goods().await;
    let incident = fed.positive_test(&goods).await;
    fed.wait_until_notified(&goods, Duration::from_secs(20))
        .await;
    fed.assert_traced_across_provinces(&goods, &incident).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notices_reach_every_province_concerned_and_locate_its_holders() {
    let fed = Federation::start();
    let http = &fed.http;
    let goods = fed.record_goods().await;
    fed.positive_test(&goods).await;
    fed.wait_until_notified(&goods, Duration::from_secs(20))
        .await;

    // Jiangsu's notices come from Zhejiang; the line for the beef it received says who sold it and when, with
    // Jiangsu's own code; each notice opened a local incident that located the holders.
    let mut holders: Vec<(String, f64)> = Vec::new();
    let mut entry_seen = false;
    for nb in &fed.jiangsu.notices(http).await {
        assert_eq!(nb["notice"]["from_province"], "33");
        for l in nb["notice"]["lines"].as_array().unwrap() {
            if l["batch"] == goods.received.as_str() {
                assert_eq!(l["sale_date"], "2026-11-02");
                assert_eq!(l["seller_uscc"], goods.importer.uscc.as_str());
                assert!(
                    l["codes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["scheme"] == "issued")
                );
                entry_seen = true;
            }
        }
        let li = fed.jiangsu.local_incident(http, nb).await;
        for t in li["tasks"].as_array().unwrap() {
            holders.push((
                t["holder_name"].as_str().unwrap().to_string(),
                t["on_hand"].as_f64().unwrap(),
            ));
        }
    }
    assert!(entry_seen);
    holders.sort_by(|x, y| x.partial_cmp(y).unwrap());
    holders.dedup();
    // The processor still holds 150 of the balls and 100 of the slices; the wholesaler 50 slices.
    assert_eq!(
        holders,
        vec![
            ("南京批发商".into(), 50.0),
            ("苏州肉制品加工厂".into(), 100.0),
            ("苏州肉制品加工厂".into(), 150.0)
        ]
    );
    // Tianjin's importer still holds 600 of the container.
    let a_notices = fed.tianjin.notices(http).await;
    let la = fed.tianjin.local_incident(http, &a_notices[0]).await;
    assert_eq!(la["tasks"][0]["holder_name"], "天津进口商");
    assert_eq!(la["tasks"][0]["on_hand"], 600.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_travel_back_and_the_national_view_shows_who_has_not_acknowledged() {
    let fed = Federation::start();
    let http = &fed.http;
    let goods = fed.record_goods().await;
    let incident = fed.positive_test(&goods).await;
    fed.wait_until_notified(&goods, Duration::from_secs(20))
        .await;
    let not_acknowledged = |ni: &Value| -> Vec<String> {
        let mut w: Vec<String> = ni["not_acknowledged"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        w.sort();
        w.dedup();
        w
    };
    let ni = fed.national.incident(http, &incident).await;
    assert_eq!(not_acknowledged(&ni), vec!["12", "32"]);

    let b_notices = fed.jiangsu.notices(http).await;
    for nb in &b_notices {
        let ack = fed.jiangsu.ack(http, nb, json!({"note": "已封存"})).await;
        assert!(ack["acked_at_ms"].is_i64());
    }
    wait_for(
        "Jiangsu's acknowledgements at the national platform",
        Duration::from_secs(10),
        || async { not_acknowledged(&fed.national.incident(http, &incident).await) == vec!["12"] },
    )
    .await;
    // Zhejiang, which registered the positive test, sees them too, with the note.
    let seen = http
        .get(
            fed.zhejiang
                .url(&format!("/api/v1/incidents/{incident}/deliveries")),
            &fed.zhejiang.regulator,
        )
        .await;
    let acked: Vec<&Value> = seen
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["province"] == "32" && !d["ack"].is_null())
        .collect();
    assert!(!acked.is_empty(), "{seen}");
    assert_eq!(acked[0]["ack"]["note"], "已封存", "{seen}");
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .any(|d| d["province"] == "12" && d["ack"].is_null()),
        "{seen}"
    );
    // Another province cannot follow Zhejiang's notices.
    let r = http
        .c
        .get(
            fed.jiangsu
                .url(&format!("/api/v1/incidents/{incident}/deliveries")),
        )
        .bearer_auth(&fed.jiangsu.regulator)
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());

    let a_notices = fed.tianjin.notices(http).await;
    for na in &a_notices {
        fed.tianjin.ack(http, na, json!({})).await;
        // Acknowledging twice is harmless.
        fed.tianjin.ack(http, na, json!({})).await;
    }
    wait_for("every acknowledgement", Duration::from_secs(10), || async {
        fed.national.incident(http, &incident).await["not_acknowledged"] == json!([])
    })
    .await;

    // Jiangsu's acknowledgements carry its note and the holders it located.
    let ni = fed.national.incident(http, &incident).await;
    let located: usize = ni["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["province"] == "32")
        .map(|d| {
            assert_eq!(d["ack"]["note"], "已封存");
            d["ack"]["holders"].as_array().unwrap().len()
        })
        .sum();
    assert!(
        located >= 3,
        "the acknowledgements locate Jiangsu's holders"
    );
    // One acknowledgement per notice reached the national platform, however often it was given.
    let ov = fed.delivered_exactly_once().await;
    assert_eq!(
        ov["counts"]["messages_notice_ack"],
        (a_notices.len() + b_notices.len()) as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_detail_is_answered_by_the_province_itself_without_opening_an_incident() {
    let fed = Federation::start();
    let (http, national, b) = (&fed.http, &fed.national, &fed.jiangsu);
    let goods = fed.record_goods().await;
    fed.delivered_exactly_once().await;

    // Where are the slices now? Jiangsu's platform answers by itself.
    let req = http
        .post(
            national.endpoint("/api/v1/national/requests"),
            &national.commander,
            json!({"province": "32", "batches": [goods.slices], "reason": "核查牛肉片去向"}),
        )
        .await;
    let req_id = req["id"].as_str().unwrap().to_string();
    let request = || {
        http.get(
            national.endpoint(&format!("/api/v1/national/requests/{req_id}")),
            &national.commander,
        )
    };
    wait_for(
        "the answer to the request for detail",
        Duration::from_secs(10),
        || async { request().await["acked_at_ms"].is_i64() },
    )
    .await;
    let d = request().await;
    let mut located: Vec<(String, i64)> = d["ack"]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["on_hand_milli"].as_i64().unwrap(),
            )
        })
        .collect();
    located.sort();
    assert_eq!(
        located,
        vec![
            ("南京批发商".into(), 50_000),
            ("苏州肉制品加工厂".into(), 100_000)
        ],
        "{d}"
    );

    let notices = b.notices(http).await;
    assert!(
        notices
            .iter()
            .any(|n| n["notice"]["id"] == req_id.as_str()
                && n["notice"]["purpose"] == "detail_request"),
        "Jiangsu lists the request: {notices:?}"
    );
    assert!(
        notices
            .iter()
            .all(|n| n["notice"]["purpose"] == "notice" || n["incident"].is_null()),
        "a request opens no incident"
    );
    let incidents = http.get(b.url("/api/v1/incidents"), &b.regulator).await;
    assert_eq!(incidents["items"], json!([]), "a request opens no incident");
    // The answer reached the national platform once.
    let ov = fed.delivered_exactly_once().await;
    assert_eq!(ov["counts"]["messages_notice_ack"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_platform_stopped_midway_gets_everything_exactly_once_when_back() {
    let mut fed = Federation::start();
    let imported = fed.record_import().await;
    wait_for(
        "Tianjin's messages at the national platform",
        Duration::from_secs(10),
        || async {
            let (last, delivered) = fed.tianjin.outbox(&fed.http).await;
            last > 0 && last == delivered
        },
    )
    .await;

    // The national platform goes down; Jiangsu and Zhejiang keep working, and Zhejiang finds a positive test.
    fed.national.stop();
    let goods = fed.record_processing_and_sale(imported).await;
    let incident = fed.positive_test(&goods).await;
    let (b_last, b_delivered) = fed.jiangsu.outbox(&fed.http).await;
    let (c_last, c_delivered) = fed.zhejiang.outbox(&fed.http).await;
    assert!(
        b_last > b_delivered && c_last > c_delivered,
        "queued while the national platform is down"
    );
    // The provinces keep retrying for a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The national platform comes back on the same address and catches up; the provinces deliver in their own
    // order, and every implicated batch reaches its province.
    fed.national.restart();
    let started = Instant::now();
    fed.wait_until_notified(&goods, Duration::from_secs(40))
        .await;
    eprintln!(
        "after the outage, every notice arrived {:?} after the national platform restarted",
        started.elapsed()
    );
    fed.assert_traced_across_provinces(&goods, &incident).await;
    // The provinces acknowledge every notice.
    let mut acks = 0;
    for p in [&fed.tianjin, &fed.jiangsu] {
        for n in p.notices(&fed.http).await {
            p.ack(&fed.http, &n, json!({})).await;
            acks += 1;
        }
    }

    // Exactly once: every province's outbox delivered, and the national platform holds each message once.
    let ov = fed.delivered_exactly_once().await;
    assert_eq!(ov["counts"]["messages_incident"], 1);
    assert_eq!(ov["counts"]["messages_notice_ack"], acks);
    let ni = fed.national.incident(&fed.http, &incident).await;
    assert_eq!(ni["not_acknowledged"], json!([]), "{ni}");

    // Restarting the national platform rebuilds the same view from its store.
    fed.national.stop();
    fed.national.restart();
    let again = fed.national.overview(&fed.http).await;
    assert_eq!(again["counts"], ov["counts"]);
    let ni2 = fed.national.incident(&fed.http, &incident).await;
    assert_eq!(
        ni2["deliveries"], ni["deliveries"],
        "no notice issued twice"
    );
}
