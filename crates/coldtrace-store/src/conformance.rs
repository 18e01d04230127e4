//! The conformance suite (一致性测试): what every backend's role traits must answer, written once against the
//! traits so that the SQLite and the PostgreSQL store run the same checks (`cargo test -p coldtrace-store-sqlite`
//! and `-p coldtrace-store-pg`). Each check starts from an empty store and panics, naming what differed, when the
//! backend answers otherwise.

use std::sync::Arc;

use coldtrace_domain::{ProvinceCode, Role};
use uuid::Uuid;

use crate::audit::{AuditEvent, VerifyState, verify};
use crate::{Account, AuditStore, Credential, CredentialStore, PublicationStore};

fn event(i: u32, province: &str) -> AuditEvent {
    AuditEvent {
        at_ms: 1_765_000_000_000 + i as i64,
        actor: format!("regulator:{province}"),
        role: Some("regulator".into()),
        province: Some(province.into()),
        action: "GET /api/v1/trace".into(),
        object: format!("/api/v1/trace?code={i}"),
        outcome: 200,
        purpose: i.is_multiple_of(2).then(|| "positive test 涉疫排查".into()),
    }
}

/// The audit trail: appends extend one chain that verifies, pages and filters by province, keep every field,
/// and concurrent appends (several requests, or several nodes) still make one unbroken chain.
pub async fn audit_trail(store: Arc<dyn AuditStore>) {
    assert!(store.audit_entries(None, 0, 10).await.unwrap().is_empty());
    assert_eq!(
        store.append_audit(vec![]).await.unwrap(),
        None,
        "nothing appended"
    );
    let first: Vec<AuditEvent> = (1..=3)
        .map(|i| event(i, if i == 2 { "32" } else { "12" }))
        .collect();
    let last = store.append_audit(first.clone()).await.unwrap().unwrap();
    assert_eq!(last.seq, 3);
    assert_eq!(last.event, first[2]);
    let more: Vec<AuditEvent> = (4..=5).map(|i| event(i, "12")).collect();
    let last = store.append_audit(more).await.unwrap().unwrap();
    assert_eq!(last.seq, 5);
    let all = store.audit_entries(None, 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(all[0].event, first[0], "every field kept as written");
    let mut state = VerifyState::default();
    verify(&mut state, &all).expect("the chain verifies");
    assert_eq!(
        all[3].prev, all[2].hash,
        "a second append continues the chain"
    );
    // Pages and the province's own trail.
    let page = store.audit_entries(None, 2, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    let tj = store
        .audit_entries(Some("12".into()), 0, 100)
        .await
        .unwrap();
    assert_eq!(
        tj.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 3, 4, 5]
    );
    assert!(
        store
            .audit_entries(Some("44".into()), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Eight appenders at once: one chain, no gap, no fork.
    let tasks: Vec<_> = (0..8u32)
        .map(|t| {
            let s = store.clone();
            tokio::spawn(async move {
                s.append_audit((0..10).map(|i| event(100 + t * 10 + i, "12")).collect())
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let all = store.audit_entries(None, 0, 1_000).await.unwrap();
    assert_eq!(all.len(), 85);
    let mut state = VerifyState::default();
    verify(&mut state, &all).expect("concurrent appends make one chain");
}

fn key(label: &str, role: Role, province: Option<&str>, account: Option<&str>) -> Credential {
    Credential {
        id: Uuid::now_v7(),
        key_hash: format!("{:064x}", Uuid::now_v7().as_u128()),
        role,
        enterprise: (role == Role::Enterprise).then(Uuid::now_v7),
        province: province.map(|p| ProvinceCode::parse(p).unwrap()),
        label: label.into(),
        revoked: false,
        expires_at_ms: (role == Role::Regulator).then_some(1_900_000_000_000),
        account: account.map(str::to_string),
    }
}

/// API keys, console accounts and docking clients: stored and read back whole, listed in order, revoked and
/// disabled (a disabled account's sessions end with it), duplicates refused or ignored as the trait says.
pub async fn credentials(store: Arc<dyn CredentialStore>) {
    let ent = key("冷库 A 的接口", Role::Enterprise, Some("12"), None);
    let reg = key(
        "天津市监局值班",
        Role::Regulator,
        Some("12"),
        Some("zhang.san"),
    );
    store.create_credential(ent.clone()).await.unwrap();
    store.create_credential(reg.clone()).await.unwrap();
    assert_eq!(
        store.credential_by_hash(&ent.key_hash).await.unwrap(),
        Some(ent.clone())
    );
    assert_eq!(
        store.credential_by_hash(&reg.key_hash).await.unwrap(),
        Some(reg.clone())
    );
    assert_eq!(
        store.credential_by_hash("no such hash").await.unwrap(),
        None
    );
    let mut twin = key("twin", Role::Admin, None, None);
    twin.key_hash = ent.key_hash.clone();
    assert!(
        store.create_credential(twin).await.is_err(),
        "a key hash is unique"
    );
    let info = store.credential(reg.id).await.unwrap().unwrap();
    assert_eq!(
        (
            info.role,
            info.province.as_ref().map(|p| p.as_str()),
            info.label.as_str(),
            info.expires_at_ms,
            info.account.as_deref()
        ),
        (
            Role::Regulator,
            Some("12"),
            "天津市监局值班",
            Some(1_900_000_000_000),
            Some("zhang.san")
        )
    );
    assert!(info.created_at_ms > 0);
    assert_eq!(store.credential(Uuid::now_v7()).await.unwrap(), None);
    let listed: Vec<Uuid> = store
        .credentials()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&ent.id) && listed.contains(&reg.id));
    assert!(store.revoke_credential(ent.id).await.unwrap());
    assert!(
        store
            .credential_by_hash(&ent.key_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(!store.revoke_credential(Uuid::now_v7()).await.unwrap());

    let person = Account {
        id: Uuid::now_v7(),
        login: "zhang.san".into(),
        name: "张三".into(),
        role: Role::Regulator,
        enterprise: None,
        province: Some(ProvinceCode::parse("12").unwrap()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        created_at_ms: 1_765_000_000_000,
    };
    assert!(store.create_account(person.clone()).await.unwrap());
    let mut same_login = person.clone();
    same_login.id = Uuid::now_v7();
    assert!(
        !store.create_account(same_login).await.unwrap(),
        "a login is taken once"
    );
    let other = Account {
        id: Uuid::now_v7(),
        login: "li.si".into(),
        name: "李四".into(),
        role: Role::Enterprise,
        enterprise: Some(Uuid::now_v7()),
        province: None,
        created_at_ms: 1_765_000_000_001,
        ..person.clone()
    };
    assert!(store.create_account(other.clone()).await.unwrap());
    assert_eq!(
        store.account_by_login("zhang.san").await.unwrap(),
        Some(person.clone())
    );
    assert_eq!(store.account(other.id).await.unwrap(), Some(other.clone()));
    assert_eq!(store.account_by_login("nobody").await.unwrap(), None);
    assert_eq!(
        store
            .accounts()
            .await
            .unwrap()
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>(),
        vec!["zhang.san", "li.si"],
        "in the order they were made"
    );
    assert!(store.disable_account(person.id).await.unwrap());
    assert!(store.account(person.id).await.unwrap().unwrap().disabled);
    assert!(
        store
            .credential_by_hash(&reg.key_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked,
        "the person's session ends with the account"
    );
    assert!(!store.disable_account(Uuid::now_v7()).await.unwrap());

    assert_eq!(
        store.docking_client("province-12".into()).await.unwrap(),
        None
    );
    store
        .put_docking_client("province-12".into(), "12".into(), "h1".into())
        .await
        .unwrap();
    store
        .put_docking_client("province-12".into(), "12".into(), "h2".into())
        .await
        .unwrap();
    assert_eq!(
        store.docking_client("province-12".into()).await.unwrap(),
        Some(("12".into(), "h2".into())),
        "a new secret replaces the old"
    );
}

/// Publication approvals: once each, withdrawn once, and read as they stand.
pub async fn publications(store: Arc<dyn PublicationStore>) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(!store.is_published(a).await.unwrap());
    assert!(store.publish(a, "regulator:12".into()).await.unwrap());
    assert!(
        !store.publish(a, "regulator:12".into()).await.unwrap(),
        "published once"
    );
    assert!(store.is_published(a).await.unwrap());
    assert!(!store.is_published(b).await.unwrap());
    assert!(store.withdraw(a).await.unwrap());
    assert!(!store.withdraw(a).await.unwrap());
    assert!(!store.is_published(a).await.unwrap());
}

fn envelope(seq: u64, uscc: &str) -> coldtrace_domain::docking::Envelope {
    coldtrace_domain::docking::Envelope {
        id: Uuid::now_v7(),
        seq,
        recorded_at_ms: 1_765_000_000_000,
        body: coldtrace_domain::docking::Message::Enterprise(
            coldtrace_domain::docking::EnterpriseShort {
                uscc: uscc.into(),
                name: format!("冷链企业 {uscc}"),
                kind: "wholesaler".into(),
                region: "120116".into(),
            },
        ),
    }
}

fn notice(to: &str, incident: Uuid) -> coldtrace_domain::docking::Notice {
    coldtrace_domain::docking::Notice {
        id: Uuid::now_v7(),
        purpose: Default::default(),
        seq: 0,
        incident,
        from_province: "12".into(),
        to_province: to.into(),
        subject: "冻牛腩 核酸阳性".into(),
        positive_at: "2025-11-20".into(),
        created_at_ms: 0,
        lines: vec![],
    }
}

/// The national inbox: each province's messages once, in its sequence (a gap refused, a partial upload kept up
/// to the gap), ids unique per province, foreign records numbered on arrival, one acceptance order across
/// provinces even under concurrent uploads; link decisions in order; notices stored once each with their
/// delivery sequence, listed per province.
pub async fn inbox(store: Arc<dyn crate::InboxStore>) {
    use crate::StoreError;
    let id = store.store_id().await.unwrap();
    assert_eq!(store.store_id().await.unwrap(), id, "made once");
    let first = vec![envelope(1, "A1"), envelope(2, "A2")];
    let out = store
        .accept_upload("12".into(), first.clone(), false)
        .await
        .unwrap();
    assert_eq!(
        (
            out.receipt.accepted,
            out.receipt.duplicates,
            out.receipt.next_seq
        ),
        (2, 0, 3)
    );
    assert_eq!(out.fresh.len(), 2);
    assert!(out.fresh[0].gseq < out.fresh[1].gseq);
    assert_eq!(out.fresh[1].envelope, first[1]);
    let again = store
        .accept_upload("12".into(), first.clone(), false)
        .await
        .unwrap();
    assert_eq!(
        (
            again.receipt.accepted,
            again.receipt.duplicates,
            again.receipt.next_seq
        ),
        (0, 2, 3),
        "a resent upload is recognised"
    );
    assert!(again.fresh.is_empty());
    match store
        .accept_upload("12".into(), vec![envelope(5, "A5")], false)
        .await
    {
        Err(StoreError::SequenceGap { expected, got }) => assert_eq!((expected, got), (3, 5)),
        other => panic!("a gap is refused, got {other:?}"),
    }
    let partial = store
        .accept_upload(
            "12".into(),
            vec![envelope(3, "A3"), envelope(5, "A5")],
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        (partial.receipt.accepted, partial.receipt.next_seq),
        (1, 4),
        "kept up to the gap"
    );
    // Another province may use the same message id; a foreign system's records are numbered here.
    let mut same_id = envelope(1, "B1");
    same_id.id = first[0].id;
    let foreign = store
        .accept_upload("44".into(), vec![same_id, envelope(0, "B2")], true)
        .await
        .unwrap();
    assert_eq!(foreign.receipt.accepted, 2);
    assert_eq!(
        foreign
            .fresh
            .iter()
            .map(|r| r.envelope.seq)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    // Sent again with a new record among them: the known ones are recognised, the new one numbered next.
    let mut resent = foreign
        .fresh
        .iter()
        .map(|r| r.envelope.clone())
        .collect::<Vec<_>>();
    resent.insert(1, envelope(0, "B3"));
    let more = store
        .accept_upload("44".into(), resent, true)
        .await
        .unwrap();
    assert_eq!(
        (
            more.receipt.accepted,
            more.receipt.duplicates,
            more.receipt.next_seq
        ),
        (1, 2, 4)
    );
    assert_eq!(more.fresh[0].envelope.seq, 3);
    let rows = store.inbox(0, 100).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.province.as_str(), r.envelope.seq))
            .collect::<Vec<_>>(),
        vec![
            ("12", 1),
            ("12", 2),
            ("12", 3),
            ("44", 1),
            ("44", 2),
            ("44", 3)
        ]
    );
    assert!(rows.windows(2).all(|w| w[0].gseq < w[1].gseq));
    assert_eq!(rows[0].envelope, first[0], "read back as sent");
    let page = store.inbox(rows[1].gseq, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|r| r.gseq).collect::<Vec<_>>(),
        vec![rows[2].gseq, rows[3].gseq]
    );

    // Text as a province may send it, a NUL and control characters included, is kept as sent.
    let mut odd = envelope(1, "C1");
    if let coldtrace_domain::docking::Message::Enterprise(e) = &mut odd.body {
        e.name = "冷库\u{0}\u{1b}[31m\t名称".into();
    }
    let kept = store
        .accept_upload("13".into(), vec![odd.clone()], false)
        .await
        .unwrap();
    assert_eq!(kept.receipt.accepted, 1);
    let back = store.inbox(kept.fresh[0].gseq - 1, 1).await.unwrap();
    assert_eq!(back[0].envelope, odd, "read back as sent");

    // Four provinces upload at once, in order each, while a follower reads the inbox by sequence number: every
    // message lands once, each province in its order, and the follower passes none (acceptance order is commit
    // order).
    let follower = {
        let s = store.clone();
        let start = back[0].gseq;
        tokio::spawn(async move {
            let (mut cursor, mut seen) = (start, Vec::new());
            while seen.len() < 200 {
                let rows = s.inbox(cursor, 1_000).await.unwrap();
                if let Some(last) = rows.last() {
                    cursor = last.gseq;
                }
                seen.extend(rows.into_iter().map(|r| (r.province, r.envelope.seq)));
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let tasks: Vec<_> = ["31", "32", "33", "35"]
        .into_iter()
        .map(|p| {
            let s = store.clone();
            tokio::spawn(async move {
                for chunk in 0..5u64 {
                    let msgs = (1..=10)
                        .map(|i| envelope(chunk * 10 + i, &format!("{p}-{chunk}-{i}")))
                        .collect();
                    let r = s.accept_upload(p.into(), msgs, false).await.unwrap();
                    assert_eq!(r.receipt.accepted, 10);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut seen = tokio::time::timeout(std::time::Duration::from_secs(20), follower)
        .await
        .expect("the follower passed a row: acceptance order is not commit order")
        .unwrap();
    seen.sort();
    let mut want: Vec<(String, u64)> = ["31", "32", "33", "35"]
        .into_iter()
        .flat_map(|p| (1..=50).map(move |i| (p.to_string(), i)))
        .collect();
    want.sort();
    assert_eq!(seen, want, "the follower passed no row");
    let rows = store.inbox(0, 1_000).await.unwrap();
    assert_eq!(rows.len(), 7 + 4 * 50);
    for p in ["31", "32", "33", "35"] {
        let seqs: Vec<u64> = rows
            .iter()
            .filter(|r| r.province == p)
            .map(|r| r.envelope.seq)
            .collect();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>(), "province {p}");
    }

    for (link, decision) in [("L1", "confirmed"), ("L2", "rejected"), ("L1", "rejected")] {
        store
            .decide_link(crate::LinkDecision {
                link: link.into(),
                decision: decision.into(),
                by: "commander".into(),
                note: Some("核对证明".into()),
                at_ms: 1_765_000_000_000,
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .link_decisions()
            .await
            .unwrap()
            .iter()
            .map(|d| (d.link.as_str(), d.decision.as_str()))
            .collect::<Vec<_>>(),
        vec![("L1", "confirmed"), ("L2", "rejected"), ("L1", "rejected")]
    );

    let incident = Uuid::now_v7();
    let ns = vec![notice("44", incident), notice("32", incident)];
    let stored = store
        .put_notices(ns.clone(), Some(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[0].seq > 0 && stored[0].seq < stored[1].seq);
    assert!(stored[0].created_at_ms > 0);
    let more = vec![ns[1].clone(), notice("44", incident)];
    // Computed by a registry that had not followed the two just stored: refused, nothing stored.
    assert_eq!(
        store
            .put_notices(more.clone(), Some(stored[0].seq))
            .await
            .unwrap(),
        None
    );
    let stored_again = store
        .put_notices(more, Some(stored[1].seq))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_again.len(), 1, "a notice is stored once");
    assert!(stored_again[0].seq > stored[1].seq);
    let all = store.notices_out(None, 0, 100).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], stored[0], "read back with its sequence");
    let to_44 = store.notices_out(Some("44".into()), 0, 100).await.unwrap();
    assert_eq!(to_44.len(), 2);
    assert!(to_44.iter().all(|n| n.to_province == "44"));
    let after = store
        .notices_out(Some("44".into()), to_44[0].seq, 100)
        .await
        .unwrap();
    assert_eq!(after, vec![to_44[1].clone()]);
}

fn entry(office: &str, phone: &str) -> coldtrace_domain::contacts::ProvinceContacts {
    coldtrace_domain::contacts::ProvinceContactsDraft {
        office: Some(office.into()),
        hours: Some("24小时".into()),
        contacts: vec![coldtrace_domain::contacts::DutyContactDraft {
            name: Some("张伟".into()),
            role: Some("值班长".into()),
            phone: Some(phone.into()),
            email: None,
        }],
    }
    .parse()
    .expect("a valid entry")
}

/// The province contacts registry: a change is a new version, the same entry again changes nothing, the latest
/// of every province is listed by province, every version kept.
pub async fn contacts(store: Arc<dyn crate::ContactsStore>) {
    assert!(store.contacts().await.unwrap().is_empty());
    let tj = entry("天津市市场监督管理委员会食品流通处", "022-23456789");
    let v1 = store
        .put_contacts("12".into(), tj.clone(), "docking:12".into(), 1_000)
        .await
        .unwrap();
    assert_eq!((v1.version, v1.updated_at_ms), (1, 1_000));
    let same = store
        .put_contacts("12".into(), tj.clone(), "docking:12".into(), 2_000)
        .await
        .unwrap();
    assert_eq!(same, v1, "the same entry again changes nothing");
    let changed = entry("天津市市场监督管理委员会食品流通处", "022-87654321");
    let v2 = store
        .put_contacts("12".into(), changed.clone(), "docking:12".into(), 3_000)
        .await
        .unwrap();
    assert_eq!((v2.version, &v2.contacts), (2, &changed));
    store
        .put_contacts(
            "11".into(),
            entry("北京市市场监督管理局", "010-12345678"),
            "docking:11".into(),
            4_000,
        )
        .await
        .unwrap();
    let latest = store.contacts().await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|v| (v.province.as_str(), v.version))
            .collect::<Vec<_>>(),
        vec![("11", 1), ("12", 2)]
    );
    assert_eq!(latest[1], v2);
    let history = store.contacts_history("12".into()).await.unwrap();
    assert_eq!(history, vec![v1, v2]);
    assert!(
        store
            .contacts_history("44".into())
            .await
            .unwrap()
            .is_empty()
    );
}

fn submission(
    writer: &coldtrace_domain::Writer,
    v: serde_json::Value,
) -> coldtrace_domain::Submission {
    let draft: coldtrace_domain::SubmissionDraft =
        serde_json::from_value(v).expect("a well-formed draft");
    let who = match writer {
        coldtrace_domain::Writer::Enterprise(e) => coldtrace_domain::Submitter::Enterprise(*e),
        _ => coldtrace_domain::Submitter::Regulator,
    };
    draft.parse(who).expect("a valid draft")
}

async fn submit(
    store: &dyn crate::RecordStore,
    writer: coldtrace_domain::Writer,
    v: serde_json::Value,
    key: Option<&str>,
    checks: &coldtrace_domain::checks::CheckPolicy,
) -> crate::Result<crate::SubmitOutcome> {
    let hash = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(v.to_string().as_bytes())
    );
    store
        .submit(crate::SubmitRequest {
            subject: "conformance".into(),
            submission: submission(&writer, v),
            writer,
            idempotency_key: key.map(str::to_string),
            request_hash: hash,
            checks: checks.clone(),
        })
        .await
}

/// The first refused field of a refusal (422) or a collision (409), and which it was.
fn refused(e: crate::StoreError) -> (&'static str, String) {
    match e {
        crate::StoreError::Invalid(v) => ("invalid", v.0[0].field.clone()),
        crate::StoreError::Conflict(v) => ("conflict", v.0[0].field.clone()),
        other => panic!("expected a refusal naming a field, got {other:?}"),
    }
}

/// A valid USCC of a region (legal person, enterprise) with the organisation code given.
fn uscc(region: &str, org: &str) -> String {
    let first17 = format!("91{region}{org}");
    let check = coldtrace_domain::id::uscc_check_char(&first17).expect("a USCC body");
    format!("{first17}{check}")
}

fn registration(uscc: &str, name: &str, region: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({"enterprises": [{"uscc": uscc, "name": name, "kind": kind, "region": region,
        "contact_name": "王伟", "contact_phone": "13812341234"}]})
}

/// Submissions through the shared writer and the reads of records: what is stored reads back as written, in
/// scope; the same content again changes nothing and other content under the same id or batch number is a
/// collision; an idempotency key answers the first receipt again and refuses another body; a refused submission
/// stores nothing of itself; one tenant cannot record against another's batch; the ledger checks refuse a lot
/// that ships more than it holds when the province rejects, and flag it otherwise; a correction marks the
/// record it corrects; movements get increasing sequence numbers and the index feed gives them back as the
/// flows the writer answered, a correction with the flow it withdraws, with batch summaries and handlers.
pub async fn records(store: Arc<dyn crate::RecordStore>, feed: Arc<dyn crate::IndexFeed>) {
    use crate::{BatchFilter, MovementFilter, Page, Scope};
    use coldtrace_domain::Writer;
    let s = store.as_ref();
    let flag = coldtrace_domain::checks::CheckPolicy::default();
    let importer_uscc = "91120116MA05T1Q16A";
    let reg = submit(
        s,
        Writer::Operator,
        registration(importer_uscc, "天津滨海冷链", "120116", "importer"),
        None,
        &flag,
    )
    .await
    .unwrap();
    let importer = reg.receipt.enterprises[0];
    let again = submit(
        s,
        Writer::Operator,
        registration(importer_uscc, "天津滨海冷链", "120116", "importer"),
        None,
        &flag,
    )
    .await
    .unwrap();
    assert_eq!(
        again.receipt.enterprises,
        vec![importer],
        "the same USCC and content answers the stored enterprise"
    );
    assert_eq!(again.receipt.unchanged, 1);
    let other = submit(
        s,
        Writer::Operator,
        registration(importer_uscc, "另一个名字", "120116", "importer"),
        None,
        &flag,
    )
    .await
    .unwrap_err();
    assert_eq!(refused(other), ("conflict", "enterprises[0].uscc".into()));
    let store_uscc = uscc("120101", "MA05T1Q17");
    let cold = submit(
        s,
        Writer::Operator,
        registration(&store_uscc, "天津冷库", "120101", "third_party_cold_store"),
        None,
        &flag,
    )
    .await
    .unwrap()
    .receipt
    .enterprises[0];

    // The importer's product, batch (with a code) and receipt, under an idempotency key.
    let pid = Uuid::now_v7();
    let first = serde_json::json!({
        "products": [{"id": pid, "name": "冷冻牛肉", "category": "meat", "origin_country": "AU"}],
        "batches": [{"product_id": pid, "batch_no": "B1", "quantity": 10, "unit": "kg",
                     "trace_codes": [{"value": "11020201101001"}]}],
        "movements": [{"kind": "receive", "batch_no": "B1", "quantity": 10,
                       "at": "2026-03-01T08:00:00+08:00", "counterparty_name": "Teys"}]
    });
    let out = submit(
        s,
        Writer::Enterprise(importer),
        first.clone(),
        Some("k1"),
        &flag,
    )
    .await
    .unwrap();
    assert!(!out.replayed);
    let batch = out.receipt.batches[0];
    assert_eq!(
        out.flows.len(),
        1,
        "the receipt is a flow for the trace index"
    );
    let replay = submit(
        s,
        Writer::Enterprise(importer),
        first.clone(),
        Some("k1"),
        &flag,
    )
    .await
    .unwrap();
    assert!(
        replay.replayed,
        "the same key and body answer the first receipt"
    );
    assert_eq!(replay.receipt, out.receipt);
    assert!(replay.flows.is_empty());
    let mut changed = first.clone();
    changed["batches"][0]["quantity"] = serde_json::json!(11);
    assert!(matches!(
        submit(s, Writer::Enterprise(importer), changed, Some("k1"), &flag)
            .await
            .unwrap_err(),
        crate::StoreError::KeyReused(_)
    ));
    // Reads: the records as written, the code, the tenant scopes.
    let b = store
        .batch(batch)
        .await
        .unwrap()
        .expect("the batch reads back");
    assert_eq!(b.record.batch_no, "B1");
    assert_eq!(b.record.owner, importer);
    assert_eq!(
        store.product(pid).await.unwrap().unwrap().record.name,
        "冷冻牛肉"
    );
    let e = store
        .enterprise_by_uscc(importer_uscc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.record.id, importer);
    let code = coldtrace_domain::TraceCode::parse("11020201101001", None).unwrap();
    assert_eq!(store.batch_by_code(&code.key).await.unwrap(), Some(batch));
    assert!(
        store
            .batch_visible(&Scope::Enterprise(importer), batch)
            .await
            .unwrap()
    );
    assert!(
        !store
            .batch_visible(&Scope::Enterprise(cold), batch)
            .await
            .unwrap(),
        "not the cold store's yet"
    );
    assert!(
        store
            .batch_visible(
                &Scope::Province(coldtrace_domain::ProvinceCode::parse("12").unwrap()),
                batch
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .batch_visible(
                &Scope::Province(coldtrace_domain::ProvinceCode::parse("32").unwrap()),
                batch
            )
            .await
            .unwrap()
    );
    assert!(!store.batch_visible(&Scope::Nothing, batch).await.unwrap());
    let listed = store
        .batches(
            &Scope::Enterprise(importer),
            &BatchFilter {
                batch_no: Some("B1".into()),
                product: None,
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|b| b.record.id).collect::<Vec<_>>(),
        vec![batch]
    );
    assert!(
        store
            .batches(
                &Scope::Enterprise(cold),
                &BatchFilter::default(),
                Page::default()
            )
            .await
            .unwrap()
            .is_empty()
    );

    // A refused submission stores nothing of itself: the good shipment beside a movement of an unknown batch.
    let unknown = Uuid::now_v7();
    let bad = serde_json::json!({"movements": [
        {"kind": "ship", "batch_id": batch, "quantity": 2, "at": "2026-03-02T08:00:00+08:00",
         "counterparty_uscc": store_uscc, "counterparty_name": "天津冷库"},
        {"kind": "ship", "batch_id": unknown, "quantity": 1, "at": "2026-03-02T09:00:00+08:00",
         "counterparty_name": "某人"}]});
    assert_eq!(
        refused(
            submit(s, Writer::Enterprise(importer), bad, None, &flag)
                .await
                .unwrap_err()
        ),
        ("invalid", "movements[1].batch_id".into())
    );
    let moves = store
        .movements(
            &Scope::All,
            &MovementFilter {
                batch: Some(batch),
                holder: None,
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(moves.len(), 1, "nothing of the refused submission was kept");
    // Another tenant may not record against the importer's batch.
    let theft = serde_json::json!({"movements": [{"kind": "ship", "batch_id": batch, "quantity": 1,
        "at": "2026-03-02T08:00:00+08:00", "counterparty_name": "某人"}]});
    assert_eq!(
        refused(
            submit(s, Writer::Enterprise(cold), theft, None, &flag)
                .await
                .unwrap_err()
        ),
        ("invalid", "movements[0].batch_id".into())
    );

    // Stock conservation: under reject, shipping 12 of 10 is refused naming the quantity; 4 of 10 is stored.
    let reject = coldtrace_domain::checks::CheckPolicy::default().with(
        coldtrace_domain::checks::Rule::StockConservation,
        coldtrace_domain::checks::Policy::Reject,
    );
    let over = |q: u32, at: &str| {
        serde_json::json!({"movements": [{"kind": "ship", "batch_id": batch, "quantity": q,
        "at": at, "counterparty_uscc": store_uscc, "counterparty_name": "天津冷库"}]})
    };
    assert_eq!(
        refused(
            submit(
                s,
                Writer::Enterprise(importer),
                over(12, "2026-03-02T08:00:00+08:00"),
                None,
                &reject
            )
            .await
            .unwrap_err()
        ),
        ("invalid", "movements[0].quantity".into())
    );
    let shipped = submit(
        s,
        Writer::Enterprise(importer),
        over(4, "2026-03-02T08:00:00+08:00"),
        None,
        &reject,
    )
    .await
    .unwrap();
    assert_eq!(shipped.flows.len(), 1);
    assert!(
        shipped.flows[0].seq > out.flows[0].seq,
        "sequence numbers increase"
    );
    // The receiver now sees the batch and may record its receipt.
    assert!(
        store
            .batch_visible(&Scope::Enterprise(cold), batch)
            .await
            .unwrap(),
        "a shipment lets the receiver see the batch"
    );
    let receipt = serde_json::json!({"movements": [{"kind": "receive", "batch_id": batch, "quantity": 4,
        "at": "2026-03-02T12:00:00+08:00", "counterparty_uscc": importer_uscc, "counterparty_name": "天津滨海冷链"}]});
    submit(s, Writer::Enterprise(cold), receipt, None, &reject)
        .await
        .unwrap();
    assert!(store.are_counterparties(importer, cold).await.unwrap());

    // A correction of the shipment (4 → 3) marks the record it corrects.
    let ship_id = shipped.receipt.movements[0];
    let fix = serde_json::json!({"movements": [{"kind": "ship", "batch_id": batch, "quantity": 3, "corrects": ship_id,
        "at": "2026-03-02T08:00:00+08:00", "counterparty_uscc": store_uscc, "counterparty_name": "天津冷库"}]});
    let fixed = submit(s, Writer::Enterprise(importer), fix, None, &reject)
        .await
        .unwrap();
    let old = store.movement(ship_id).await.unwrap().unwrap();
    assert_eq!(old.corrected_by, Some(fixed.receipt.movements[0]));
    let new = store
        .movement(fixed.receipt.movements[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.record.corrects, Some(ship_id));
    assert_eq!(
        new.record.quantity,
        coldtrace_domain::Quantity::from_milli(3000)
    );
    // Only the correction's author may correct: the cold store cannot correct the importer's shipment.
    let foreign = serde_json::json!({"movements": [{"kind": "ship", "batch_id": batch, "quantity": 1, "corrects": ship_id,
        "at": "2026-03-02T08:00:00+08:00", "counterparty_name": "某人"}]});
    assert_eq!(
        refused(
            submit(s, Writer::Enterprise(cold), foreign, None, &flag)
                .await
                .unwrap_err()
        ),
        ("invalid", "movements[0].corrects".into())
    );

    // The index feed: every stored movement as the writer's flow, in order; the correction withdraws the flow
    // it corrects; the movements and people by sequence number.
    let flows = feed.flows(0, 100).await.unwrap();
    assert_eq!(flows.len(), 4);
    assert!(flows.windows(2).all(|w| w[0].flow.seq < w[1].flow.seq));
    assert_eq!(
        flows[0].flow, out.flows[0],
        "the feed gives the flow the writer answered"
    );
    assert_eq!(flows[1].flow, shipped.flows[0]);
    assert!(flows[1].corrected, "the corrected shipment is marked");
    assert_eq!(flows[3].flow, fixed.flows[0]);
    assert_eq!(
        flows[3].retracts.as_ref(),
        Some(&shipped.flows[0]),
        "a correction withdraws the flow it corrects"
    );
    assert_eq!(
        flows[1].counterparty_uscc.as_deref(),
        Some(store_uscc.as_str())
    );
    assert_eq!(
        feed.flows(flows[1].flow.seq, 1).await.unwrap()[0].flow.seq,
        flows[2].flow.seq,
        "pages after a seq"
    );
    let anchor = feed.feed_anchor(flows[3].flow.seq).await.unwrap();
    assert_eq!(anchor.last_seq, flows[3].flow.seq);
    assert_eq!(anchor.movement_at, Some(fixed.receipt.movements[0]));
    let summaries = feed.batch_summaries(0, 10).await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(
        (summaries[0].1.id, summaries[0].1.batch_no.as_str()),
        (batch, "B1")
    );
    assert_eq!(summaries[0].1.product, "冷冻牛肉");
    assert_eq!(
        feed.batch_summaries_of(vec![batch, Uuid::now_v7()])
            .await
            .unwrap()
            .len(),
        1
    );
    let by_seq = feed
        .movements_by_seq(vec![flows[2].flow.seq, flows[0].flow.seq])
        .await
        .unwrap();
    assert_eq!(
        by_seq.iter().map(|m| m.seq as u64).collect::<Vec<_>>(),
        vec![flows[2].flow.seq, flows[0].flow.seq]
    );
    // The people who handled a movement (人物同查).
    let handled = serde_json::json!({"movements": [{"kind": "ship", "batch_id": batch, "quantity": 1,
        "at": "2026-03-03T08:00:00+08:00", "counterparty_name": "小店",
        "handlers": [{"name": "张三", "phone": "13900001111"}, {"name": "李四"}]}]});
    let h = submit(s, Writer::Enterprise(cold), handled, None, &flag)
        .await
        .unwrap();
    let seq = h.flows[0].seq;
    let rows = feed.handlers_of(vec![seq]).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["张三", "李四"]
    );
    assert_eq!(rows[0].phone.as_deref(), Some("13900001111"));
    assert_eq!(rows[1].phone, None);
    assert_eq!(
        feed.movements_of_person(&rows[0].person_key).await.unwrap(),
        vec![seq]
    );
    let moved = store
        .movement(h.receipt.movements[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        moved.record.handlers.len(),
        2,
        "the movement reads back with its handlers"
    );

    let stats = store.stats(&Scope::All).await.unwrap();
    assert_eq!(
        (
            stats.enterprises,
            stats.products,
            stats.batches,
            stats.movements
        ),
        (2, 1, 1, 5)
    );

    // A lot held before its holder was registered here and after: one lot, whatever the store keeps it by (a
    // backend partitioned by the holder's province must not start a second one when the province becomes known).
    let late = Uuid::now_v7();
    let late_product = Uuid::now_v7();
    submit(
        s,
        Writer::Enterprise(late),
        serde_json::json!({
            "products": [{"id": late_product, "name": "冷冻虾", "category": "aquatic", "origin_country": "EC"}],
            "batches": [{"product_id": late_product, "batch_no": "L1", "quantity": 10, "unit": "kg"}],
            "movements": [{"kind": "receive", "batch_no": "L1", "quantity": 10,
                           "at": "2026-04-01T08:00:00+08:00", "counterparty_name": "Pesquera"}]
        }),
        None,
        &reject,
    )
    .await
    .unwrap();
    let mut registered = registration(
        &uscc("120102", "MA05T1Q18"),
        "天津河东冷链",
        "120102",
        "wholesale_vendor",
    );
    registered["enterprises"][0]["id"] = serde_json::json!(late);
    submit(s, Writer::Operator, registered, None, &flag)
        .await
        .unwrap();
    let sell = |q: u32| {
        serde_json::json!({"movements": [{"kind": "sell", "batch_no": "L1", "quantity": q,
            "at": "2026-04-02T08:00:00+08:00", "counterparty_name": "河东超市"}]})
    };
    assert_eq!(
        refused(
            submit(s, Writer::Enterprise(late), sell(11), None, &reject)
                .await
                .unwrap_err()
        ),
        ("invalid", "movements[0].quantity".into()),
        "the lot still holds the 10 received before registration"
    );
    submit(s, Writer::Enterprise(late), sell(10), None, &reject)
        .await
        .expect("selling what was received before registration");
}
