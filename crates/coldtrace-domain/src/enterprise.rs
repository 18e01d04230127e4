//! Enterprises (主体): who holds the goods, identified by USCC.

use uuid::Uuid;

use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::id::{RegionCode, Uscc};
use crate::person::valid_phone;

/// The kind of business, as the census (摸清底数) counts them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseKind {
    /// 进口商
    Importer,
    /// 首站冷库: the first domestic holder after customs; it assigns codes (首站赋码).
    FirstStationColdStore,
    /// 集中监管仓
    CentralizedSupervisionWarehouse,
    /// 第三方冷库
    ThirdPartyColdStore,
    /// 生产加工企业
    Processor,
    /// 批发市场经营户
    WholesaleVendor,
    /// 市场开办方
    MarketOperator,
    /// 商超
    Supermarket,
    /// 生鲜电商
    FreshEcommerce,
    /// 餐饮
    Restaurant,
}

impl EnterpriseKind {
    pub const ALL: [EnterpriseKind; 10] = [
        Self::Importer,
        Self::FirstStationColdStore,
        Self::CentralizedSupervisionWarehouse,
        Self::ThirdPartyColdStore,
        Self::Processor,
        Self::WholesaleVendor,
        Self::MarketOperator,
        Self::Supermarket,
        Self::FreshEcommerce,
        Self::Restaurant,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Importer => "importer",
            Self::FirstStationColdStore => "first_station_cold_store",
            Self::CentralizedSupervisionWarehouse => "centralized_supervision_warehouse",
            Self::ThirdPartyColdStore => "third_party_cold_store",
            Self::Processor => "processor",
            Self::WholesaleVendor => "wholesale_vendor",
            Self::MarketOperator => "market_operator",
            Self::Supermarket => "supermarket",
            Self::FreshEcommerce => "fresh_ecommerce",
            Self::Restaurant => "restaurant",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Importer => "进口商",
            Self::FirstStationColdStore => "首站冷库",
            Self::CentralizedSupervisionWarehouse => "集中监管仓",
            Self::ThirdPartyColdStore => "第三方冷库",
            Self::Processor => "生产加工企业",
            Self::WholesaleVendor => "批发市场经营户",
            Self::MarketOperator => "市场开办方",
            Self::Supermarket => "商超",
            Self::FreshEcommerce => "生鲜电商",
            Self::Restaurant => "餐饮",
        }
    }
    /// Accepts the API name or the Chinese label.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label_zh() == s)
            .ok_or_else(|| format!("{s:?} is not an enterprise kind"))
    }
}

/// The designated contact (专人联络) an enterprise names for cold-chain matters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub name: String,
    /// Mobile or landline; masked for roles that may not see it.
    pub phone: String,
}

/// Enterprise (主体 / 生产经营者): a registered business in the census.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Enterprise {
    pub id: Uuid,
    pub uscc: Uscc,
    /// Set when a regulator accepted a USCC whose check character fails; the reason they gave.
    pub uscc_override: Option<String>,
    pub name: String,
    pub kind: EnterpriseKind,
    pub region: RegionCode,
    pub address: Option<String>,
    /// Its GS1 Global Location Number (全球位置码), when it has one: how EPCIS events and GS1 labels name it.
    #[serde(default)]
    pub gln: Option<String>,
    pub contact: Contact,
    /// Whether the enterprise signed the self-commitment (自我承诺) to report truthfully.
    pub self_commitment: bool,
    /// The day it signed the self-commitment (承诺书日期), when recorded.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub self_commitment_on: Option<jiff::civil::Date>,
    /// The earlier version this record corrects (append-only history).
    pub corrects: Option<Uuid>,
    /// Why the record was corrected (更正原因); a regulator's correction always states one.
    pub correction_reason: Option<String>,
}

/// An enterprise as submitted, before validation.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseDraft {
    /// Optional client-chosen id (UUID); makes a resubmission recognisable.
    pub id: Option<Uuid>,
    pub uscc: Option<String>,
    /// A regulator may accept a USCC that fails its check character by giving a reason.
    pub uscc_override_reason: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    /// GB/T 2260 six-digit region code.
    pub region: Option<String>,
    pub address: Option<String>,
    /// GS1 Global Location Number, 13 digits (as a party GLN, AI 417, or a location GLN, AI 414).
    pub gln: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub self_commitment: bool,
    /// The day the self-commitment was signed, `YYYY-MM-DD` (with `self_commitment: true`).
    pub self_commitment_on: Option<String>,
    pub corrects: Option<Uuid>,
    /// Why this corrects the earlier version; required when a regulator corrects (at most 500 characters).
    pub correction_reason: Option<String>,
}

impl EnterpriseDraft {
    /// Validates; `may_override` is true only for a regulator.
    pub fn parse(&self, at: &str, may_override: bool) -> Result<Enterprise, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let override_reason = optional_text(&self.uscc_override_reason, 500).unwrap_or(None);
        let uscc = match self.uscc.as_deref().map(str::trim) {
            None | Some("") => {
                e.push(f("uscc"), "is required");
                None
            }
            Some(s) => match Uscc::parse(s) {
                Ok(u) => Some(u),
                Err(err @ crate::id::IdError::Check { .. }) => {
                    if override_reason.is_some() && may_override {
                        Uscc::parse_overridden(s).ok()
                    } else if override_reason.is_some() {
                        e.push(
                            f("uscc_override_reason"),
                            "only a regulator may accept a failing USCC",
                        );
                        None
                    } else {
                        e.push(f("uscc"), err.to_string());
                        None
                    }
                }
                Err(err) => {
                    e.push(f("uscc"), err.to_string());
                    None
                }
            },
        };
        let name = e.take(&f("name"), required_text(&self.name, 200));
        let kind = e.take(
            &f("kind"),
            required_text(&self.kind, 64).and_then(|k| EnterpriseKind::parse(&k)),
        );
        let region = e.take(
            &f("region"),
            required_text(&self.region, 6)
                .and_then(|r| RegionCode::parse(&r).map_err(|x| x.to_string()))
                .and_then(|r| {
                    if r.is_known() {
                        Ok(r)
                    } else {
                        Err(format!(
                            "{} is not a division of GB/T 2260 (the platform's table of {} divisions)",
                            r.as_str(),
                            crate::region::divisions().len()
                        ))
                    }
                }),
        );
        let address = e.take(&f("address"), optional_text(&self.address, 500));
        let gln = e.take(
            &f("gln"),
            optional_text(&self.gln, 13).and_then(|g| match g {
                None => Ok(None),
                Some(g) => crate::gs1::Gs1Code::from_ais(vec![("417".into(), g.clone())])
                    .map(|_| Some(g))
                    .map_err(|x| format!("is not a GLN: {}", x.reason)),
            }),
        );
        let contact_name = e.take(&f("contact_name"), required_text(&self.contact_name, 100));
        let contact_phone = e.take(
            &f("contact_phone"),
            required_text(&self.contact_phone, 20).and_then(|p| valid_phone(&p).map(|_| p)),
        );
        let self_commitment_on = e.take(
            &f("self_commitment_on"),
            crate::batch::parse_date(&self.self_commitment_on).and_then(|d| match d {
                Some(_) if !self.self_commitment => {
                    Err("is given only with self_commitment: true".to_string())
                }
                d => Ok(d),
            }),
        );
        let correction_reason = e
            .take(
                &f("correction_reason"),
                optional_text(&self.correction_reason, 500),
            )
            .flatten();
        if self.corrects.is_none() && correction_reason.is_some() {
            e.push(
                f("correction_reason"),
                "is given only with `corrects` (the record it corrects)",
            );
        } else if self.corrects.is_some() && may_override && correction_reason.is_none() {
            e.push(
                f("correction_reason"),
                "is required: a regulator's correction states its reason",
            );
        }
        if !e.is_empty() {
            return Err(e);
        }
        let uscc = uscc.expect("checked");
        let uscc_override = if uscc.check_ok() {
            None
        } else {
            override_reason
        };
        Ok(Enterprise {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            uscc,
            uscc_override,
            name: name.expect("checked"),
            kind: kind.expect("checked"),
            region: region.expect("checked"),
            address: address.flatten(),
            gln: gln.flatten(),
            contact: Contact {
                name: contact_name.expect("checked"),
                phone: contact_phone.expect("checked"),
            },
            self_commitment: self.self_commitment,
            self_commitment_on: self_commitment_on.flatten(),
            corrects: self.corrects,
            correction_reason,
        })
    }
}
