//! The province contacts registry (省级联络名录): for every province, the office responsible for cold-chain
//! traceability, its duty contacts and hours. Each province keeps its own entry at the national platform over the
//! docking interface; commanders see it beside every notice. Every change is a new version, kept.

use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::person::valid_phone;

/// One person on duty (值班联系人).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DutyContact {
    pub name: String,
    /// What they do (`值班长`, `冷链专班联络员`).
    pub role: String,
    pub phone: String,
    pub email: Option<String>,
}

/// A province's entry in the registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ProvinceContacts {
    /// The responsible office (`天津市市场监督管理委员会食品流通处`).
    pub office: String,
    /// When it is on duty (`24小时`, `工作日 8:30-17:30，其余时间值班电话`).
    pub hours: String,
    /// At least one, at most 20.
    pub contacts: Vec<DutyContact>,
}

/// A duty contact as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyContactDraft {
    pub name: Option<String>,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A province's entry as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvinceContactsDraft {
    pub office: Option<String>,
    pub hours: Option<String>,
    #[serde(default)]
    pub contacts: Vec<DutyContactDraft>,
}

fn email(s: &str) -> Result<String, String> {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace) =>
        {
            Ok(s.to_string())
        }
        _ => Err(format!("{s:?} is not an e-mail address")),
    }
}

impl ProvinceContactsDraft {
    pub fn parse(&self) -> Result<ProvinceContacts, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let office = e.take("office", required_text(&self.office, 200));
        let hours = e.take("hours", required_text(&self.hours, 200));
        if self.contacts.is_empty() || self.contacts.len() > 20 {
            e.push("contacts", "list 1 to 20 duty contacts");
        }
        let mut contacts = Vec::new();
        for (i, c) in self.contacts.iter().enumerate().take(20) {
            let at = format!("contacts[{i}]");
            let name = e.take(&path(&at, "name"), required_text(&c.name, 100));
            let role = e.take(&path(&at, "role"), required_text(&c.role, 100));
            let phone = e.take(
                &path(&at, "phone"),
                required_text(&c.phone, 20).and_then(|p| valid_phone(&p).map(|_| p)),
            );
            let mail = e.take(
                &path(&at, "email"),
                optional_text(&c.email, 200).and_then(|m| m.map(|m| email(&m)).transpose()),
            );
            if let (Some(name), Some(role), Some(phone), Some(email)) = (name, role, phone, mail) {
                contacts.push(DutyContact {
                    name,
                    role,
                    phone,
                    email,
                });
            }
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(ProvinceContacts {
            office: office.expect("checked"),
            hours: hours.expect("checked"),
            contacts,
        })
    }
}

/// A province's entry as the national platform keeps it: every version, the latest answering.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ContactsVersion {
    /// GB/T 2260 two digits.
    pub province: String,
    /// 1 for the first entry, then one more for each change.
    pub version: u64,
    pub contacts: ProvinceContacts,
    pub updated_at_ms: i64,
    /// Who sent it: `docking:<province>` (the person is in the sending platform's audit trail).
    pub updated_by: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_wrong_field_is_named() {
        let d: ProvinceContactsDraft = serde_json::from_value(json!({"office": "", "hours": "24小时",
            "contacts": [{"name": "张三", "role": "值班长", "phone": "12345", "email": "not-mail"}]}))
        .unwrap();
        let fields: Vec<String> = d
            .parse()
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            vec!["office", "contacts[0].phone", "contacts[0].email"]
        );
        let ok: ProvinceContactsDraft = serde_json::from_value(json!({"office": "市场监管委食品流通处", "hours": "24小时",
            "contacts": [{"name": "张三", "role": "值班长", "phone": "022-12345678", "email": "duty@scjg.tj.gov.cn"}]}))
        .unwrap();
        assert_eq!(
            ok.parse().unwrap().contacts[0].email.as_deref(),
            Some("duty@scjg.tj.gov.cn")
        );
        let none: ProvinceContactsDraft =
            serde_json::from_value(json!({"office": "x", "hours": "y", "contacts": []})).unwrap();
        assert_eq!(none.parse().unwrap_err().0[0].field, "contacts");
    }
}
