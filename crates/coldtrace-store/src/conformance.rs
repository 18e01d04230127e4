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
