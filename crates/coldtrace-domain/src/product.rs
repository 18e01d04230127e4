//! Products (产品): what a batch is of.

use uuid::Uuid;

use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::id::{CountryCode, Gtin};

/// Product category; meat, poultry and aquatic products come first in the notice, others are allowed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProductCategory {
    /// 畜禽肉类
    LivestockPoultryMeat,
    /// 水产品
    Aquatic,
    /// 其他
    Other,
}

impl ProductCategory {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "livestock_poultry_meat" | "meat" | "畜禽肉" | "畜禽肉类" | "肉类" => {
                Self::LivestockPoultryMeat
            }
            "aquatic" | "seafood" | "水产品" | "水产" => Self::Aquatic,
            "other" | "其他" => Self::Other,
            other => {
                return Err(format!(
                    "{other:?} is not a category (livestock_poultry_meat, aquatic, other)"
                ));
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LivestockPoultryMeat => "livestock_poultry_meat",
            Self::Aquatic => "aquatic",
            Self::Other => "other",
        }
    }
}

/// Product (产品): a kind of food an enterprise deals in, with where it was made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: Uuid,
    /// The enterprise that registered the product.
    pub owner: Uuid,
    pub name: String,
    pub category: ProductCategory,
    pub origin_country: CountryCode,
    /// Overseas establishment registration number (境外生产企业注册号), e.g. a plant's SIF number.
    pub establishment_no: Option<String>,
    pub gtin: Option<Gtin>,
    /// HS commodity code (海关商品编码), 8 or 10 digits.
    pub hs_code: Option<String>,
    /// Specification (规格), e.g. `20kg/箱`.
    pub spec: Option<String>,
    pub corrects: Option<Uuid>,
}

/// A product as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDraft {
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub category: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub origin_country: Option<String>,
    pub establishment_no: Option<String>,
    pub gtin: Option<String>,
    pub hs_code: Option<String>,
    pub spec: Option<String>,
    pub corrects: Option<Uuid>,
}

impl ProductDraft {
    pub fn parse(&self, at: &str, owner: Uuid) -> Result<Product, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let name = e.take(&f("name"), required_text(&self.name, 200));
        let category = e.take(
            &f("category"),
            required_text(&self.category, 64).and_then(|c| ProductCategory::parse(&c)),
        );
        let origin = e.take(
            &f("origin_country"),
            required_text(&self.origin_country, 2)
                .and_then(|c| CountryCode::parse(&c).map_err(|x| x.to_string())),
        );
        let establishment_no = e.take(
            &f("establishment_no"),
            optional_text(&self.establishment_no, 64),
        );
        let gtin = e.take(
            &f("gtin"),
            optional_text(&self.gtin, 14).and_then(|g| {
                g.map(|g| Gtin::parse(&g).map_err(|x| x.to_string()))
                    .transpose()
            }),
        );
        let hs_code = e.take(
            &f("hs_code"),
            optional_text(&self.hs_code, 10).and_then(|h| match h {
                Some(h)
                    if !(h.len() == 8 || h.len() == 10)
                        || !h.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Err("must be 8 or 10 digits".to_string())
                }
                h => Ok(h),
            }),
        );
        let spec = e.take(&f("spec"), optional_text(&self.spec, 100));
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Product {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            owner,
            name: name.expect("checked"),
            category: category.expect("checked"),
            origin_country: origin.expect("checked"),
            establishment_no: establishment_no.flatten(),
            gtin: gtin.flatten(),
            hs_code: hs_code.flatten(),
            spec: spec.flatten(),
            corrects: self.corrects,
        })
    }
}
