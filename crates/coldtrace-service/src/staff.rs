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

/// At most this many positive tests in one request (each opens an incident).
pub const MAX_POSITIVE: usize = 20;

/// Records tests of the caller's staff, all or nothing; answers how many were new, and the tests as stored.
pub async fn put_tests(
    store: &dyn Store,
    p: &Principal,
    drafts: &[StaffTestDraft],
    every_days: u32,
) -> Result<(u64, Vec<coldtrace_domain::staff::StaffTest>), ServiceError> {
    let e = own(p)?;
    if drafts.is_empty() || drafts.len() > MAX_STAFF {
        return Err(ServiceError::invalid(
            "tests",
            format!("send 1 to {MAX_STAFF} tests"),
        ));
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let today = coldtrace_domain::time::day_at(now);
    let mut errors = coldtrace_domain::ValidationErrors::default();
    let mut tests = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match d.parse(&format!("tests[{i}]"), today) {
            Ok(t) => tests.push(t),
            Err(x) => errors.extend(x),
        }
    }
    let positives = tests
        .iter()
        .filter(|t| t.result == coldtrace_domain::TestResult::Positive)
        .count();
    if positives > MAX_POSITIVE {
        errors.push(
            "tests",
            format!("at most {MAX_POSITIVE} positive tests at once (each opens an incident); send the rest after"),
        );
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let new = store
        .put_staff_tests(e, tests.clone(), every_days, now)
        .await?;
    Ok((new, tests))
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
            // Names in full are for the enterprise itself; a regulator tracing people states a purpose there.
            s.member.name = coldtrace_domain::person::mask_name(&s.member.name);
        }
    }
    Ok(out)
}

/// What recording staff tests did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct TestsOutcome {
    /// Tests stored for the first time.
    pub new: u64,
    /// Incidents a positive test opened: the trace starts from what the person handled (人物同查).
    pub incidents: Vec<uuid::Uuid>,
    /// Positive tests of people whose movements name no goods: no trace to start (the regulator is told by the
    /// finding list and registers what it knows).
    pub not_traced: u64,
}

impl crate::Platform {
    /// Records tests of the caller's staff; each positive one opens a positive-test incident of kind `person`
    /// on the enterprise's province, registered by the platform in the enterprise's name, that starts from the
    /// movements the person handled. A positive test registered again answers the same incident.
    pub async fn staff_tests(
        &self,
        p: &Principal,
        drafts: &[StaffTestDraft],
    ) -> Result<TestsOutcome, ServiceError> {
        let (new, tests) = put_tests(
            self.store.as_ref(),
            p,
            drafts,
            self.checks.windows.staff_test_days,
        )
        .await?;
        let mut out = TestsOutcome {
            new,
            ..Default::default()
        };
        let enterprise = own(p)?;
        let province = self
            .store
            .enterprise(enterprise)
            .await?
            .map(|e| e.record.region.province())
            .ok_or(ServiceError::NotFound("enterprise"))?;
        let registrar = Principal {
            credential: p.credential,
            role: Role::Regulator,
            enterprise: None,
            province: Some(province),
            person: Some(format!("staff test reported by enterprise {enterprise}")),
        };
        for t in tests
            .iter()
            .filter(|t| t.result == coldtrace_domain::TestResult::Positive)
        {
            // The day it was sampled, as the incident's time: the same test again is the same incident.
            let at =
                coldtrace_domain::EventTime::parse(&format!("{}T00:00:00+08:00", t.sampled_on))
                    .map_err(|e| ServiceError::invalid("sampled_on", e))?;
            let req = crate::platform::OpenIncidentRequest {
                // Only what the person handled at this enterprise: an enterprise speaks for its own staff.
                start: crate::platform::IncidentStart::StaffMember {
                    id_no: t.id_no.clone(),
                    enterprise,
                },
                positive_at: at,
                note: Some("从业人员核酸检测阳性 a staff member's test was positive".into()),
                mode: Default::default(),
            };
            match self.open_incident(&registrar, req).await {
                Ok((v, _)) => out.incidents.push(v.id),
                // The test is stored either way; a person who handled nothing here has nothing to trace.
                Err(ServiceError::Invalid(_)) | Err(ServiceError::NotFound(_)) => {
                    out.not_traced += 1
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
