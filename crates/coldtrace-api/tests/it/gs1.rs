//! GS1 codes over HTTP: `GET /api/v1/gs1/parse` reads every form with GS1's dictionary, and a batch labelled in
//! one form is found by every other (scanner string with a symbology identifier, Digital Link with a GTIN-13 and
//! query AIs, EPC URN).

use reqwest::StatusCode;

use crate::support::{TestApp, json};

fn q(code: &str) -> String {
    format!(
        "/api/v1/gs1/parse?code={}",
        percent_encoding::utf8_percent_encode(code, percent_encoding::NON_ALPHANUMERIC)
    )
}

#[tokio::test]
async fn parse_answers_ais_element_string_and_digital_link_or_422_with_the_reason() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 71).await;
    let (s, v) = json(
        app.get(
            &q("]C10109520123456788310300019517251231\x1d10LOT-7"),
            &e.key,
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ais: Vec<(&str, &str)> = v["ais"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["ai"].as_str().unwrap(), a["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ais,
        [
            ("01", "09520123456788"),
            ("3103", "000195"),
            ("17", "251231"),
            ("10", "LOT-7")
        ]
    );
    assert_eq!(v["ais"][1]["title"], "NET WEIGHT (kg)");
    assert_eq!(
        v["element_string"],
        "(01)09520123456788(3103)000195(17)251231(10)LOT-7"
    );
    assert_eq!(
        v["digital_link"],
        "https://id.gs1.org/01/09520123456788/10/LOT-7?3103=000195&17=251231"
    );
    // An SSCC on its own.
    let (s, v) = json(app.get(&q("(00)106141411234567897"), &e.key).await).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["digital_link"],
        "https://id.gs1.org/00/106141411234567897"
    );
    // Refusals name the AI and the reason.
    for (code, says) in [
        ("(01)09520123456789", "(01) check digit is 9, should be 8"),
        (
            "(01)09520123456788(3103)000195(3102)000195",
            "(3103) may not appear with (3102)",
        ),
        (
            "https://example.com/01/09520123456788?17=251301",
            "(17) month 13",
        ),
        ("(10)ABC", "(10) needs (01)"),
    ] {
        let (s, v) = json(app.get(&q(code), &e.key).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {v}");
        let text = v.to_string();
        assert!(
            text.contains("\"code\"") && text.contains(says),
            "{code}: {v}"
        );
    }
    // No key, no answer.
    let r = app
        .http
        .get(app.url(&q("(00)106141411234567897")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_batch_labelled_in_one_gs1_form_is_found_by_every_other() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 72).await;
    let (_, batch) = app
        .batch(&e, "B-GS1-1", "(01)10614141073464(10)998877")
        .await;
    for form in [
        "]C10110614141073464109988 77",
        "]d201106141410734641099887 7",
        "https://shop.example.cn/c/01/10614141073464/10/998877?17=271231",
        "urn:epc:class:lgtin:0614141.107346.998877",
        "^011061414107346410998877",
    ] {
        let form = form.replace(' ', "");
        let path = format!(
            "/api/v1/codes/{}",
            percent_encoding::utf8_percent_encode(&form, percent_encoding::NON_ALPHANUMERIC)
        );
        let (s, v) = json(app.get(&path, &e.key).await).await;
        assert_eq!(s, StatusCode::OK, "{form}: {v}");
        assert_eq!(v["batch"]["id"], batch.as_str(), "{form}");
        assert_eq!(v["says"]["batch_no"], "998877", "{form}");
    }
}
