//! Staff and their nucleic-acid tests (从业人员核酸检测): an enterprise keeps its staff registry and records its
//! staff's tests; a regulator reads its province's. Identity numbers are masked in every read; phones are shown to
//! the enterprise itself. The sweep finds those overdue (`CT-STAFF`).

use coldtrace_domain::staff::{StaffMemberDraft, StaffTestDraft};
use coldtrace_domain::{Principal, Role};
use coldtrace_store::{Scope, StaffEntry, Store};

use crate::error::{ServiceError, require_role};

/// At most this many staff members or tests at once.
pub const MAX_STAFF: usize = 5_000;

fn own(p: &Principal) -> Result<uuid::Uuid, ServiceError> {
    require_role(p, &[Role::Enterprise], "keep a staff registry")?;
    p.enterprise
        .ok_or_else(|| ServiceError::Forbidden("an enterprise key without its enterprise".into()))
}

/// Adds or updates members of the caller's staff, all or nothing; answers how many were new.
pub async fn put_staff(
    store: &dyn Store,
    p: &Principal,
    drafts: &[StaffMemberDraft],
) -> Result<u64, ServiceError> {
    let e = own(p)?;
    if drafts.is_empty() || drafts.len() > MAX_STAFF {
        return Err(ServiceError::invalid(
            "staff",
            format!("send 1 to {MAX_STAFF} members"),
        ));
    }
    let mut errors = coldtrace_domain::ValidationErrors::default();
    let mut members = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match d.parse(&format!("staff[{i}]")) {
            Ok(m) => members.push(m),
            Err(x) => errors.extend(x),
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok(store
        .put_staff(e, members, jiff::Timestamp::now().as_millisecond())
        .await?)
}

/// Records tests of the caller's staff, all or nothing; answers how many were new.
pub async fn put_tests(
    store: &dyn Store,
    p: &Principal,
    drafts: &[StaffTestDraft],
) -> Result<u64, ServiceError> {
    let e = own(p)?;
    if drafts.is_empty() || drafts.len() > MAX_STAFF {
        return Err(ServiceError::invalid(
            "tests",
            format!("send 1 to {MAX_STAFF} tests"),
        ));
    }
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    let mut errors = coldtrace_domain::ValidationErrors::default();
    let mut tests = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match d.parse(&format!("tests[{i}]"), today) {
            Ok(t) => tests.push(t),
            Err(x) => errors.extend(x),
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok(store
        .put_staff_tests(e, tests, jiff::Timestamp::now().as_millisecond())
        .await?)
}

/// The staff the caller may read (an enterprise its own, a regulator its province's, the national platform
/// all), identity numbers masked, phones shown only to the enterprise itself.
pub async fn list(store: &dyn Store, p: &Principal) -> Result<Vec<StaffEntry>, ServiceError> {
    require_role(
        p,
        &[Role::Enterprise, Role::Regulator, Role::National],
        "read staff registries",
    )?;
    let mut out = store.staff(Scope::of(p)).await?;
    for s in &mut out {
        s.member.id_no = coldtrace_domain::person::mask_id_no(&s.member.id_no);
        if let Some(t) = &mut s.last_test {
            t.id_no = s.member.id_no.clone();
        }
        if p.role != Role::Enterprise {
            s.member.phone = s
                .member
                .phone
                .as_deref()
                .map(coldtrace_domain::person::mask_phone);
        }
    }
    Ok(out)
}
