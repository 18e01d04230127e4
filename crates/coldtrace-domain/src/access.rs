//! Who is asking: roles and principals. The rules of what each may see live in the service layer; this module
//! only names the parties.

use uuid::Uuid;

use crate::id::ProvinceCode;

/// Role (角色) of a credential.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 企业: records its own batches and movements.
    Enterprise,
    /// 省级监管: a provincial market-supervision bureau; sees its province.
    Regulator,
    /// 国家指挥: the national command platform.
    National,
    /// 海关: provides declarations and certificates.
    Customs,
    /// 平台管理员: accounts and configuration, no business data.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::Regulator => "regulator",
            Self::National => "national",
            Self::Customs => "customs",
            Self::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "enterprise" => Self::Enterprise,
            "regulator" => Self::Regulator,
            "national" => Self::National,
            "customs" => Self::Customs,
            "admin" => Self::Admin,
            o => {
                return Err(format!(
                    "{o:?} is not a role (enterprise, regulator, national, customs, admin)"
                ));
            }
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Principal {
    /// The credential used, for the audit.
    pub credential: Uuid,
    pub role: Role,
    /// Set for the enterprise role: whose records these are.
    pub enterprise: Option<Uuid>,
    /// Set for the regulator role: which province it supervises.
    pub province: Option<ProvinceCode>,
    /// The person acting, when the credential is a console session opened with a person's account (its login).
    pub person: Option<String>,
}

impl Principal {
    /// The platform's own operator at the command line (`coldtrace trace`, `coldtrace incident`, benchmarks):
    /// national scope, no credential.
    pub fn operator() -> Principal {
        Principal {
            credential: Uuid::nil(),
            role: Role::National,
            enterprise: None,
            province: None,
            person: None,
        }
    }

    /// A stable name for idempotency keys and the audit: `enterprise:<id>`, `regulator:33`, `admin:<cred>`.
    pub fn subject(&self) -> String {
        match (self.role, self.enterprise, &self.province) {
            (Role::Enterprise, Some(e), _) => format!("enterprise:{e}"),
            (Role::Regulator, _, Some(p)) => format!("regulator:{p}"),
            (r, _, _) => format!("{}:{}", r.as_str(), self.credential),
        }
    }
}
