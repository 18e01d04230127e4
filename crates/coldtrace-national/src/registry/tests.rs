use super::*;
use coldtrace_domain::docking::Derivation;

const DAY: i64 = 86_400_000;
const T0: i64 = 1_604_188_800_000; // 2020-11-01

fn batch(id: &str, product: &str, cert: Option<&str>, qty: i64) -> Message {
    Message::Batch(BatchFacts {
        batch: id.into(),
        codes: vec![],
        product: product.into(),
        gtin: None,
        batch_no: format!("NO-{id}"),
        owner_uscc: String::new(),
        origin_country: None,
        inspection_cert_no: cert.map(str::to_string),
        declaration_no: None,
        port_of_entry: None,
        import_date: None,
        quantity_milli: qty,
        unit: "kg".into(),
    })
}

fn flow(
    batch: &str,
    seller: &str,
    buyer: &str,
    other: &str,
    qty: i64,
    at: i64,
    product: &str,
) -> BorderFlow {
    BorderFlow {
        movement: format!("m-{batch}-{at}"),
        batch: batch.into(),
        product: product.into(),
        seller_uscc: Some(seller.into()),
        seller_name: format!("seller {seller}"),
        buyer_uscc: Some(buyer.into()),
        buyer_name: format!("buyer {buyer}"),
        other_province: Some(other.into()),
        quantity_milli: qty,
        unit: "kg".into(),
        at_ms: at,
    }
}

const IMPORTER_A: &str = "91120000MA0IMPT01X";
const PROCESSOR_B: &str = "91320500MA1PROC01X";
const SHOP_C: &str = "91330000MA2SHOP01X";

/// A (12) imports and sells to B (32) on paper with the certificate; B processes into two batches and sells one
/// to C (33), which records it under its own id with a slightly different product name.
fn chain() -> Registry {
    let mut r = Registry::new();
    r.apply(
        "12",
        T0,
        &batch("a1", "冻牛腩", Some("120100020201101001"), 25_000_000),
    );
    r.apply(
        "12",
        T0,
        &Message::Outflow(flow(
            "a1",
            IMPORTER_A,
            PROCESSOR_B,
            "32",
            5_000_000,
            T0 + DAY,
            "冻牛腩",
        )),
    );
    r.apply(
        "32",
        T0,
        &batch("b-in", "冻牛腩", Some("120100020201101001"), 5_000_000),
    );
    r.apply(
        "32",
        T0,
        &Message::Inflow(flow(
            "b-in",
            IMPORTER_A,
            PROCESSOR_B,
            "12",
            5_000_000,
            T0 + DAY,
            "冻牛腩",
        )),
    );
    r.apply("32", T0, &batch("b-p1", "牛肉丸", None, 3_000_000));
    r.apply("32", T0, &batch("b-p2", "牛肉片", None, 2_000_000));
    r.apply(
        "32",
        T0,
        &Message::Derivation(Derivation {
            holder_uscc: PROCESSOR_B.into(),
            inputs: vec!["b-in".into()],
            outputs: vec!["b-p1".into(), "b-p2".into()],
            at_ms: T0 + 2 * DAY,
        }),
    );
    r.apply(
        "32",
        T0,
        &Message::Outflow(flow(
            "b-p1",
            PROCESSOR_B,
            SHOP_C,
            "33",
            1_000_000,
            T0 + 3 * DAY,
            "牛肉丸",
        )),
    );
    r.apply("33", T0, &batch("c-1", "牛肉丸(冷冻)", None, 1_000_000));
    r.apply(
        "33",
        T0,
        &Message::Inflow(flow(
            "c-1",
            PROCESSOR_B,
            SHOP_C,
            "32",
            1_000_000,
            T0 + 3 * DAY + 3_600_000,
            "牛肉丸(冷冻)",
        )),
    );
    r
}

/// A positive test of Zhejiang's batch, reported by Zhejiang.
fn positive_in_c() -> IncidentRec {
    IncidentRec {
        province: "33".into(),
        report: IncidentReport {
            incident: Uuid::nil(),
            kind: "batch_sample".into(),
            subject: "c-1".into(),
            positive_at: "2020-11-05T10:00:00+08:00".into(),
            batches: vec!["c-1".into()],
        },
        received_at_ms: T0,
    }
}

#[test]
fn a_shared_certificate_links_the_importer_to_the_buyer_across_the_border() {
    let r = chain();
    let l = r
        .links(false)
        .into_iter()
        .find(|l| l.basis == Basis::InspectionCert)
        .unwrap();
    assert_eq!(
        (l.from.province.as_str(), l.from.batch.as_str()),
        ("12", "a1")
    );
    assert_eq!(
        (l.to.province.as_str(), l.to.batch.as_str()),
        ("32", "b-in")
    );
    assert_eq!(l.confidence, 1.0);
    assert!(l.evidence[0].contains("120100020201101001"));
}

#[test]
fn without_a_shared_key_the_flows_are_matched_on_evidence_with_a_confidence() {
    let r = chain();
    let l = r
        .links(false)
        .into_iter()
        .find(|l| l.basis == Basis::Evidence)
        .unwrap();
    assert_eq!(
        (l.from.batch.as_str(), l.to.batch.as_str()),
        ("b-p1", "c-1")
    );
    assert!(
        l.confidence >= 0.9 && l.confidence < 1.0,
        "{}",
        l.confidence
    );
    assert!(!l.ambiguous);
    assert!(l.evidence.iter().any(|e| e.contains("quantity equal")));
    assert!(l.evidence.iter().any(|e| e.contains("dates within a day")));
}

#[test]
fn a_positive_test_in_c_reaches_the_importer_in_a_and_every_batch_made_in_b() {
    let r = chain();
    let inc = positive_in_c();
    let (t, notices) = r.notices_for(&inc);
    let rel = |p: &str, b: &str| {
        t.batches
            .iter()
            .find(|x| x.province == p && x.batch == b)
            .map(|x| x.relation.clone())
    };
    assert_eq!(rel("33", "c-1").as_deref(), Some("positive"));
    assert_eq!(rel("32", "b-p1").as_deref(), Some("upstream"));
    assert_eq!(rel("32", "b-in").as_deref(), Some("upstream"));
    assert_eq!(rel("12", "a1").as_deref(), Some("upstream"));
    // Made from the same imported batch: implicated although it never went to C.
    assert_eq!(rel("32", "b-p2").as_deref(), Some("downstream"));
    assert_eq!(t.provinces, vec!["12", "32", "33"]);
    let to: Vec<&str> = notices.iter().map(|n| n.to_province.as_str()).collect();
    assert_eq!(
        to,
        vec!["12", "32"],
        "every affected province but the reporting one"
    );
    let b = notices.iter().find(|n| n.to_province == "32").unwrap();
    let entry = b.lines.iter().find(|l| l.batch == "b-in").unwrap();
    assert_eq!(entry.sale_date.as_deref(), Some("2020-11-02"));
    assert_eq!(entry.seller_uscc.as_deref(), Some(IMPORTER_A));
    assert_eq!(
        notices[0].id,
        notice_id(Uuid::nil(), "12", &["a1".into()]),
        "ids are stable across replays"
    );
}

#[test]
fn goods_found_after_a_notice_go_out_in_a_further_notice_of_their_own() {
    let mut r = chain();
    let inc = positive_in_c();
    let (_, first) = r.notices_for(&inc);
    first.iter().for_each(|n| r.track(n));
    assert!(
        r.notices_for(&inc).1.is_empty(),
        "nothing new, nothing sent"
    );
    // Jiangsu reports late that it made a third product from the same input.
    r.apply("32", T0, &batch("b-p3", "牛肉馅", None, 500_000));
    r.apply(
        "32",
        T0,
        &Message::Derivation(Derivation {
            holder_uscc: PROCESSOR_B.into(),
            inputs: vec!["b-in".into()],
            outputs: vec!["b-p3".into()],
            at_ms: T0 + 5 * DAY,
        }),
    );
    let (_, more) = r.notices_for(&inc);
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].to_province, "32");
    assert_eq!(more[0].lines.len(), 1);
    assert_eq!(more[0].lines[0].batch, "b-p3");
    assert!(first.iter().all(|n| n.id != more[0].id));
}

#[test]
fn a_rejected_link_stops_the_trace_and_a_confirmed_one_is_certain() {
    let mut r = chain();
    let ev = r
        .links(false)
        .into_iter()
        .find(|l| l.basis == Basis::Evidence)
        .unwrap();
    assert!(r.decide(&ev.id, true, "commander", None));
    let t = r.trace("33", &["c-1".into()]);
    assert!(t.batches.iter().all(|b| b.confidence == 1.0));
    assert!(r.decide(&ev.id, false, "commander", Some("different goods")));
    let t = r.trace("33", &["c-1".into()]);
    assert_eq!(t.provinces, vec!["33"]);
    assert!(!r.decide("no-such-link", true, "commander", None));
}

#[test]
fn two_close_candidates_are_both_shown_as_ambiguous() {
    let mut r = chain();
    // B sold C a second, similar lot the same day: C's inflow could be either.
    r.apply("32", T0, &batch("b-p3", "牛肉丸", None, 1_000_000));
    r.apply(
        "32",
        T0,
        &Message::Outflow(flow(
            "b-p3",
            PROCESSOR_B,
            SHOP_C,
            "33",
            1_000_000,
            T0 + 3 * DAY + 1_800_000,
            "牛肉丸",
        )),
    );
    let ev: Vec<Link> = r
        .links(false)
        .into_iter()
        .filter(|l| l.basis == Basis::Evidence)
        .collect();
    assert_eq!(ev.len(), 2);
    assert!(
        ev.iter().all(|l| l.ambiguous && l.to.batch == "c-1"),
        "{ev:?}"
    );
    // The trace follows both until a commander decides.
    let t = r.trace("33", &["c-1".into()]);
    assert!(t.batches.iter().any(|b| b.batch == "b-p3"));
}

#[test]
fn a_key_link_is_oriented_by_the_flows_even_when_the_buyer_reported_first() {
    let mut r = Registry::new();
    r.apply(
        "32",
        T0,
        &batch("b-in", "冻牛腩", Some("120100020201101001"), 5_000_000),
    );
    r.apply(
        "12",
        T0,
        &batch("a1", "冻牛腩", Some("120100020201101001"), 25_000_000),
    );
    r.apply(
        "32",
        T0,
        &Message::Inflow(flow(
            "b-in",
            IMPORTER_A,
            PROCESSOR_B,
            "12",
            5_000_000,
            T0,
            "冻牛腩",
        )),
    );
    let l = &r.links(false)[0];
    assert_eq!((l.from.batch.as_str(), l.to.batch.as_str()), ("a1", "b-in"));
}

#[test]
fn different_parties_or_a_wide_gap_in_time_never_link() {
    let mut r = Registry::new();
    r.apply(
        "32",
        T0,
        &Message::Outflow(flow("b", PROCESSOR_B, SHOP_C, "33", 1_000, T0, "牛肉丸")),
    );
    r.apply(
        "33",
        T0,
        &Message::Inflow(flow(
            "c",
            PROCESSOR_B,
            IMPORTER_A,
            "32",
            1_000,
            T0,
            "牛肉丸",
        )),
    );
    r.apply(
        "33",
        T0,
        &Message::Inflow(flow(
            "c2",
            PROCESSOR_B,
            SHOP_C,
            "32",
            1_000,
            T0 + 30 * DAY,
            "牛肉丸",
        )),
    );
    assert!(r.links(false).is_empty());
}

#[test]
fn notice_dates_are_china_standard_time() {
    assert_eq!(day(T0), "2020-11-01");
    // 16:00 UTC is already the next day in Beijing.
    assert_eq!(day(T0 + 16 * 3_600_000 - 1), "2020-11-01");
    assert_eq!(day(T0 + 16 * 3_600_000), "2020-11-02");
    assert_eq!(day(0), "1970-01-01");
    assert_eq!(day(951_782_400_000), "2000-02-29");
}

#[test]
fn a_province_acknowledges_only_the_notices_addressed_to_it() {
    use coldtrace_domain::docking::NoticeAck;
    let mut r = chain();
    let inc = positive_in_c();
    let (_, notices) = r.notices_for(&inc);
    notices.iter().for_each(|n| r.track(n));
    let to_a = notices.iter().find(|n| n.to_province == "12").unwrap();
    let forged = Message::NoticeAck(NoticeAck {
        notice: to_a.id,
        by: "someone".into(),
        note: Some("forged".into()),
        holders: vec![],
    });
    r.apply("32", T0 + DAY, &forged);
    r.apply("32", T0 + DAY, &Message::NoticeReceived { notice: to_a.id });
    let d = r
        .deliveries(None)
        .into_iter()
        .find(|d| d.notice == to_a.id)
        .unwrap();
    assert!(d.acked_at_ms.is_none() && d.received_at_ms.is_none() && d.ack.is_none());
    r.apply("12", T0 + DAY, &forged);
    let d = r
        .deliveries(None)
        .into_iter()
        .find(|d| d.notice == to_a.id)
        .unwrap();
    assert!(d.acked_at_ms.is_some());
}

/// The evidence links between two registries' flows, as `(from batch, to batch)`.
fn evidence(r: &Registry) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .links(false)
        .into_iter()
        .filter(|l| l.basis == Basis::Evidence)
        .map(|l| (l.from.batch.clone(), l.to.batch.clone()))
        .collect();
    v.sort();
    v
}

fn out(r: &mut Registry, batch: &str, qty: i64, at: i64, product: &str) {
    r.apply(
        "32",
        T0,
        &Message::Outflow(flow(batch, PROCESSOR_B, SHOP_C, "33", qty, at, product)),
    );
}

fn inn(r: &mut Registry, batch: &str, qty: i64, at: i64, product: &str) {
    r.apply(
        "33",
        T0,
        &Message::Inflow(flow(batch, PROCESSOR_B, SHOP_C, "32", qty, at, product)),
    );
}

#[test]
fn a_receipt_recorded_before_the_shipment_does_not_link() {
    let mut r = Registry::new();
    out(&mut r, "b", 1_000_000, T0 + 6 * DAY, "牛肉丸");
    inn(&mut r, "c", 1_000_000, T0, "牛肉丸");
    assert!(evidence(&r).is_empty(), "{:?}", evidence(&r));
    // Within the clocks' skew (a receipt dated a few hours early) it does.
    let mut r = Registry::new();
    out(&mut r, "b", 1_000_000, T0 + 6 * 3_600_000, "牛肉丸");
    inn(&mut r, "c", 1_000_000, T0, "牛肉丸");
    assert_eq!(evidence(&r), vec![("b".into(), "c".into())]);
}

#[test]
fn an_earlier_shipment_of_another_product_between_the_same_pair_does_not_link() {
    let mut r = Registry::new();
    out(&mut r, "b-shrimp", 200_000, T0, "冻虾仁");
    inn(&mut r, "c-beef", 1_000_000, T0 + DAY, "牛肉丸");
    assert!(evidence(&r).is_empty(), "{:?}", evidence(&r));
}

#[test]
fn two_same_day_shipments_of_two_products_link_each_to_its_own_receipt() {
    let mut r = Registry::new();
    out(&mut r, "b-beef", 1_000_000, T0 + 3_600_000, "牛肉丸");
    out(&mut r, "b-shrimp", 200_000, T0 + 2 * 3_600_000, "冻虾仁");
    inn(&mut r, "c-beef", 1_000_000, T0 + 5 * 3_600_000, "牛肉丸");
    inn(&mut r, "c-shrimp", 200_000, T0 + 6 * 3_600_000, "虾仁");
    assert_eq!(
        evidence(&r),
        vec![
            ("b-beef".into(), "c-beef".into()),
            ("b-shrimp".into(), "c-shrimp".into())
        ]
    );
}

#[test]
fn a_processors_earlier_output_is_not_linked_to_its_later_shipment() {
    let mut r = Registry::new();
    out(&mut r, "b-old", 500_000, T0, "牛肉丸");
    inn(&mut r, "c-old", 500_000, T0 + 3_600_000, "牛肉丸");
    out(&mut r, "b-new", 800_000, T0 + 5 * DAY, "牛肉丸");
    inn(&mut r, "c-new", 800_000, T0 + 5 * DAY + 3_600_000, "牛肉丸");
    assert_eq!(
        evidence(&r),
        vec![
            ("b-new".into(), "c-new".into()),
            ("b-old".into(), "c-old".into())
        ]
    );
    // The national trace from the new receipt does not reach the old output.
    let t = r.trace("33", &["c-new".into()]);
    assert!(
        t.batches.iter().all(|b| b.batch != "b-old"),
        "{:?}",
        t.batches
    );
}

/// The chain with an incident reported, its notices tracked, one acknowledged and a link decided: every part of
/// the registry holds something.
fn worked_chain() -> Registry {
    use coldtrace_domain::docking::NoticeAck;
    let mut r = chain();
    let inc = positive_in_c();
    r.apply("33", T0, &Message::Incident(inc.report.clone()));
    let (_, notices) = r.notices_for(&inc);
    notices.iter().for_each(|n| r.track(n));
    r.apply(
        "12",
        T0 + DAY,
        &Message::NoticeAck(NoticeAck {
            notice: notices[0].id,
            by: "duty officer".into(),
            note: Some("sealed".into()),
            holders: vec![],
        }),
    );
    let ev = r
        .links(false)
        .into_iter()
        .find(|l| l.basis == Basis::Evidence)
        .unwrap();
    assert!(r.decide(&ev.id, true, "commander", Some("same lot")));
    r
}

#[test]
fn a_snapshot_reads_back_as_the_same_registry_and_goes_on_the_same_way() {
    let mut r = worked_chain();
    let bytes = r.snapshot_bytes();
    assert_eq!(
        bytes,
        r.snapshot_bytes(),
        "the same registry, the same bytes"
    );
    let mut back = Registry::from_snapshot(&bytes).unwrap();
    assert_eq!(back.snapshot_bytes(), bytes);
    assert_eq!(back.counts(), r.counts());
    let inc = positive_in_c();
    assert_eq!(
        serde_json::to_value(back.notices_for(&inc).0).unwrap(),
        serde_json::to_value(r.notices_for(&inc).0).unwrap()
    );
    // The lookups were rebuilt: later messages link and trace as they would have without the restart.
    for reg in [&mut r, &mut back] {
        reg.apply("32", T0, &batch("b-p3", "牛肉馅", None, 500_000));
        reg.apply(
            "32",
            T0,
            &Message::Derivation(Derivation {
                holder_uscc: PROCESSOR_B.into(),
                inputs: vec!["b-in".into()],
                outputs: vec!["b-p3".into()],
                at_ms: T0 + 5 * DAY,
            }),
        );
        inn(reg, "c-late", 5_000_000, T0 + 3 * DAY, "牛腩块");
        out(reg, "b-late", 5_000_000, T0 + 3 * DAY, "牛腩块");
        reg.apply(
            "12",
            T0,
            &batch("a-again", "冻牛腩", Some("120100020201101001"), 1_000),
        );
    }
    assert_eq!(back.snapshot_bytes(), r.snapshot_bytes());
    let (_, more) = back.notices_for(&inc);
    assert_eq!(
        more.iter().map(|n| n.id).collect::<Vec<_>>(),
        r.notices_for(&inc)
            .1
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>()
    );
    assert!(!more.is_empty(), "the late batch is notified");
}

#[test]
fn a_damaged_snapshot_is_refused_and_never_panics() {
    let r = worked_chain();
    let bytes = r.snapshot_bytes();
    for cut in [0, 1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            Registry::from_snapshot(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Registry::from_snapshot(&longer).is_err(), "a byte too many");
    // Well-formed bytes whose indexes point nowhere: a node's input, a flow's node, a link's ends, a claim.
    let damages: [fn(&mut Registry); 5] = [
        |r| r.nodes[0].inputs.push(9_999),
        |r| r.flows[0].node = 9_999,
        |r| r.link_ends[0].1 = 9_999,
        |r| {
            r.links.pop();
        },
        |r| {
            r.claims.insert(9_999, (0, 1.0));
        },
    ];
    for (i, damage) in damages.iter().enumerate() {
        let mut d = worked_chain();
        damage(&mut d);
        let e = Registry::from_snapshot(&d.snapshot_bytes())
            .err()
            .unwrap_or_else(|| panic!("damage {i} was accepted"));
        assert!(e.to_string().contains("registry snapshot"), "{e}");
    }
}
