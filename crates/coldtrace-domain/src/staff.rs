//! Staff and their nucleic-acid testing (从业人员核酸检测): an enterprise's staff registry, the tests they take,
//! and the schedule by role. People who handle imported cold-chain goods are tested every
//! [`Windows::staff_test_days`](crate::checks::Windows) days; one whose latest negative test is older than that is
//! overdue, a finding the sweep opens (`CT-STAFF`).

use jiff::civil::Date;

use crate::document::TestResult;
use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::person::{valid_id_no, valid_phone};

/// What a staff member does, for the testing schedule (岗位).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Handles imported cold-chain goods (接触进口冷链食品): porters, storekeepers, drivers, processors; tested on
    /// schedule.
    ImportedColdChain,
    /// Other staff: no schedule.
    Other,
}

impl StaffRole {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "imported_cold_chain" | "接触进口冷链食品" => Ok(Self::ImportedColdChain),
            "other" | "其他" => Ok(Self::Other),
            o => Err(format!(
                "{o:?} is not a staff role (imported_cold_chain, other)"
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImportedColdChain => "imported_cold_chain",
            Self::Other => "other",
        }
    }
}

/// A staff member (从业人员); the identity number is personal data, masked when read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub name: String,
    pub id_no: String,
    pub phone: Option<String>,
    pub role: StaffRole,
}

/// A staff member as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffMemberDraft {
    pub name: Option<String>,
    pub id_no: Option<String>,
    pub phone: Option<String>,
    pub role: Option<String>,
}

/// One nucleic-acid test of a staff member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StaffTest {
    pub id_no: String,
    #[schema(value_type = String, format = Date)]
    pub sampled_on: Date,
    pub result: TestResult,
    pub institution: Option<String>,
}

/// A test as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffTestDraft {
    pub id_no: Option<String>,
    /// `YYYY-MM-DD`.
    pub sampled_on: Option<String>,
    /// `negative` or `positive` (阴性, 阳性).
    pub result: Option<String>,
    pub institution: Option<String>,
}

impl StaffMemberDraft {
    pub fn parse(&self, at: &str) -> Result<StaffMember, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let name = e.take(&path(at, "name"), required_text(&self.name, 100));
        let id_no = e.take(
            &path(at, "id_no"),
            required_text(&self.id_no, 18).and_then(|v| valid_id_no(&v)),
        );
        let phone = e
            .take(
                &path(at, "phone"),
                optional_text(&self.phone, 20)
                    .and_then(|p| p.map(|p| valid_phone(&p).map(|_| p)).transpose()),
            )
            .flatten();
        let role = e.take(
            &path(at, "role"),
            required_text(&self.role, 32).and_then(|r| StaffRole::parse(&r)),
        );
        if !e.is_empty() {
            return Err(e);
        }
        Ok(StaffMember {
            name: name.expect("checked"),
            id_no: id_no.expect("checked"),
            phone,
            role: role.expect("checked"),
        })
    }
}

impl StaffTestDraft {
    /// Validates a test sampled no later than `today`.
    pub fn parse(&self, at: &str, today: Date) -> Result<StaffTest, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let id_no = e.take(
            &path(at, "id_no"),
            required_text(&self.id_no, 18).and_then(|v| valid_id_no(&v)),
        );
        let sampled_on = e.take(
            &path(at, "sampled_on"),
            crate::batch::parse_date(&self.sampled_on).and_then(|d| match d {
                None => Err("is required".to_string()),
                Some(d) if d > today => Err(format!("{d} is in the future")),
                Some(d) => Ok(d),
            }),
        );
        let result = e.take(
            &path(at, "result"),
            required_text(&self.result, 16).and_then(|r| match TestResult::parse(&r)? {
                TestResult::Pending => {
                    Err("a test is recorded with its result (negative or positive)".into())
                }
                r => Ok(r),
            }),
        );
        let institution = e
            .take(
                &path(at, "institution"),
                optional_text(&self.institution, 200),
            )
            .flatten();
        if !e.is_empty() {
            return Err(e);
        }
        Ok(StaffTest {
            id_no: id_no.expect("checked"),
            sampled_on: sampled_on.expect("checked"),
            result: result.expect("checked"),
            institution,
        })
    }
}

/// What an overdue finding says of a member (masked: a finding is read by regulators and the enterprise alike).
pub fn overdue_message(
    member: &StaffMember,
    last_negative: Option<Date>,
    registered_on: Date,
    days: i64,
    every_days: u32,
) -> String {
    format!(
        "{} {} (handles imported cold-chain goods): {}, {days} days overdue (every {every_days} days)",
        crate::person::mask_name(&member.name),
        crate::person::mask_id_no(&member.id_no),
        match last_negative {
            Some(d) => format!("last negative test sampled {d}"),
            None => format!("no test since registered on {registered_on}"),
        }
    )
}

/// How many days a staff member is overdue on `today`: their latest negative test (or, with none, the day they
/// were registered) more than `every_days` ago. `None` when not overdue or not on a schedule.
pub fn overdue_days(
    role: StaffRole,
    last_negative: Option<Date>,
    registered_on: Date,
    today: Date,
    every_days: u32,
) -> Option<i64> {
    if role != StaffRole::ImportedColdChain {
        return None;
    }
    let since = last_negative.unwrap_or(registered_on);
    let days = (today - since).get_days() as i64;
    (days > i64::from(every_days)).then_some(days - i64::from(every_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn the_schedule_counts_from_the_last_negative_test() {
        let today = date(2026, 12, 10);
        let role = StaffRole::ImportedColdChain;
        assert_eq!(
            overdue_days(role, Some(date(2026, 12, 3)), date(2026, 1, 1), today, 7),
            None
        );
        assert_eq!(
            overdue_days(role, Some(date(2026, 12, 1)), date(2026, 1, 1), today, 7),
            Some(2)
        );
        // Never tested: from the day of registration.
        assert_eq!(overdue_days(role, None, date(2026, 12, 5), today, 7), None);
        assert_eq!(
            overdue_days(role, None, date(2026, 11, 30), today, 7),
            Some(3)
        );
        assert_eq!(
            overdue_days(StaffRole::Other, None, date(2020, 1, 1), today, 7),
            None
        );
    }

    #[test]
    fn drafts_name_every_wrong_field() {
        let t = StaffTestDraft {
            id_no: Some("123".into()),
            sampled_on: Some("2026-12-31".into()),
            result: Some("pending".into()),
            institution: None,
        }
        .parse("tests[0]", date(2026, 12, 10))
        .unwrap_err();
        let fields: Vec<String> = t.0.into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            vec!["tests[0].id_no", "tests[0].sampled_on", "tests[0].result"]
        );
    }
}
