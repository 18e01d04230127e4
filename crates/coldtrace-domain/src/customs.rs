//! Customs data (海关数据) and the cross-check of what importers record against it (海关数据比对).
//!
//! Customs sends its import declarations (报关单) with their goods lines and the inspection-and-quarantine
//! certificates (检验检疫证明) issued for them. [`cross_check`] compares every imported batch that names a
//! declaration with what customs declared, and every declaration with the batches recorded for it, and answers
//! the findings that should be open: a declaration or certificate customs does not know, quantities or weights
//! beyond the tolerance, a container or seal not on the declaration, a product, origin or establishment that
//! differs, and declared goods no importer recorded within [`Windows::customs_days`](crate::checks::Windows).
//! The function is pure: the store loads the declarations and batches in scope and applies its answer to the
//! findings (opening what is new, resolving what records have since put right).

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use uuid::Uuid;

use crate::batch::parse_date;
use crate::checks::Rule;
use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::id::{ContainerNo, CountryCode, DeclarationNo, Uscc};
use crate::quantity::{Quantity, Unit};

/// An import declaration as customs sent it (进口报关单), with its goods lines and certificates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Declaration {
    /// 报关单号: 18 digits, the customs office in the first four.
    pub declaration_no: DeclarationNo,
    /// 入境口岸: the port of entry as customs names it.
    pub port: Option<String>,
    /// 申报日期.
    #[schema(value_type = String, format = Date)]
    pub declared_on: Date,
    /// 收货人: the consignee's USCC.
    pub consignee_uscc: Uscc,
    pub consignee_name: Option<String>,
    /// 检验检疫证明编号: the certificates customs issued for these goods.
    pub certificate_nos: Vec<String>,
    /// 商品项: one line per product.
    pub lines: Vec<DeclarationLine>,
}

/// One goods line of a declaration (商品项).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeclarationLine {
    /// 商品编码: the HS code, 6 to 10 digits.
    pub hs_code: String,
    /// 商品名称.
    pub product: String,
    /// 原产国: ISO 3166-1 alpha-2.
    #[schema(value_type = String)]
    pub origin_country: CountryCode,
    /// 境外生产企业注册号: the foreign establishment's registration number.
    pub establishment_no: Option<String>,
    pub quantity: Quantity,
    pub unit: Unit,
    /// 净重 in kilograms.
    pub net_weight_kg: Quantity,
    /// 集装箱号.
    #[schema(value_type = Vec<String>)]
    pub containers: Vec<ContainerNo>,
    /// 封志号.
    pub seals: Vec<String>,
}

/// A declaration as customs submits it.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationDraft {
    pub declaration_no: Option<String>,
    pub port: Option<String>,
    /// YYYY-MM-DD.
    pub declared_on: Option<String>,
    pub consignee_uscc: Option<String>,
    pub consignee_name: Option<String>,
    #[serde(default)]
    pub certificate_nos: Vec<String>,
    #[serde(default)]
    pub lines: Vec<DeclarationLineDraft>,
}

/// A goods line as customs submits it.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationLineDraft {
    pub hs_code: Option<String>,
    pub product: Option<String>,
    pub origin_country: Option<String>,
    pub establishment_no: Option<String>,
    pub quantity: Option<Quantity>,
    pub unit: Option<String>,
    pub net_weight_kg: Option<Quantity>,
    #[serde(default)]
    pub containers: Vec<String>,
    #[serde(default)]
    pub seals: Vec<String>,
}

/// At most this many goods lines in one declaration.
pub const MAX_LINES: usize = 500;

fn positive(e: &mut ValidationErrors, field: String, q: Option<Quantity>) -> Option<Quantity> {
    match q {
        None => {
            e.push(field, "is required");
            None
        }
        Some(q) if q.milli() <= 0 => {
            e.push(field, "must be greater than zero");
            None
        }
        Some(q) => Some(q),
    }
}

/// A certificate or seal number: letters and digits, at most 32.
fn reference(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "{s:?} is not a reference number (1 to 32 letters, digits or '-')"
        ));
    }
    Ok(s.to_ascii_uppercase())
}

impl DeclarationDraft {
    /// Validates the declaration at `at` (`declarations[3]`), collecting every error with its path.
    pub fn parse(&self, at: &str) -> Result<Declaration, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let declaration_no = e.take(
            &f("declaration_no"),
            required_text(&self.declaration_no, 18)
                .and_then(|d| DeclarationNo::parse(&d).map_err(|x| x.to_string())),
        );
        if let Some(d) = &declaration_no
            && !d.is_import()
        {
            e.push(
                f("declaration_no"),
                "is not an import declaration (character 9 must be 1); the cross-check reads imports",
            );
        }
        let port = e.take(&f("port"), optional_text(&self.port, 100)).flatten();
        let declared_on = e.take(
            &f("declared_on"),
            parse_date(&self.declared_on).and_then(|d| d.ok_or_else(|| "is required".into())),
        );
        let consignee_uscc = e.take(
            &f("consignee_uscc"),
            required_text(&self.consignee_uscc, 18)
                .and_then(|u| Uscc::parse(&u).map_err(|x| x.to_string())),
        );
        let consignee_name = e
            .take(
                &f("consignee_name"),
                optional_text(&self.consignee_name, 200),
            )
            .flatten();
        let mut certificate_nos = Vec::new();
        for (i, c) in self.certificate_nos.iter().enumerate() {
            if let Some(c) = e.take(&format!("{}[{i}]", f("certificate_nos")), reference(c)) {
                if certificate_nos.contains(&c) {
                    e.push(format!("{}[{i}]", f("certificate_nos")), "is listed twice");
                } else {
                    certificate_nos.push(c);
                }
            }
        }
        if self.lines.is_empty() {
            e.push(f("lines"), "a declaration has at least one goods line");
        } else if self.lines.len() > MAX_LINES {
            e.push(f("lines"), format!("at most {MAX_LINES} goods lines"));
        }
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate().take(MAX_LINES) {
            let at = format!("{}[{i}]", f("lines"));
            let g = |n: &str| path(&at, n);
            let hs_code = e.take(
                &g("hs_code"),
                required_text(&l.hs_code, 10).and_then(|h| {
                    if (6..=10).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit()) {
                        Ok(h)
                    } else {
                        Err(format!("{h:?} is not an HS code (6 to 10 digits)"))
                    }
                }),
            );
            let product = e.take(&g("product"), required_text(&l.product, 200));
            let origin_country = e.take(
                &g("origin_country"),
                required_text(&l.origin_country, 2)
                    .and_then(|c| CountryCode::parse(&c).map_err(|x| x.to_string())),
            );
            let establishment_no = e
                .take(
                    &g("establishment_no"),
                    optional_text(&l.establishment_no, 64),
                )
                .flatten();
            let quantity = positive(&mut e, g("quantity"), l.quantity);
            let unit = e.take(
                &g("unit"),
                required_text(&l.unit, 16).and_then(|u| Unit::parse(&u)),
            );
            let net_weight_kg = positive(&mut e, g("net_weight_kg"), l.net_weight_kg);
            let mut containers = Vec::new();
            for (j, c) in l.containers.iter().enumerate() {
                if let Some(c) = e.take(&format!("{}[{j}]", g("containers")), ContainerNo::parse(c))
                {
                    containers.push(c);
                }
            }
            let mut seals = Vec::new();
            for (j, s) in l.seals.iter().enumerate() {
                if let Some(s) = e.take(&format!("{}[{j}]", g("seals")), reference(s)) {
                    seals.push(s);
                }
            }
            if let (
                Some(hs_code),
                Some(product),
                Some(origin_country),
                Some(quantity),
                Some(unit),
                Some(net_weight_kg),
            ) = (
                hs_code,
                product,
                origin_country,
                quantity,
                unit,
                net_weight_kg,
            ) {
                lines.push(DeclarationLine {
                    hs_code,
                    product,
                    origin_country,
                    establishment_no,
                    quantity,
                    unit,
                    net_weight_kg,
                    containers,
                    seals,
                });
            }
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Declaration {
            declaration_no: declaration_no.expect("checked"),
            port,
            declared_on: declared_on.expect("checked"),
            consignee_uscc: consignee_uscc.expect("checked"),
            consignee_name,
            certificate_nos,
            lines,
        })
    }
}

/// What the cross-check needs of an imported batch that names a declaration (the current version of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedBatch {
    pub id: Uuid,
    pub owner: Uuid,
    pub owner_uscc: Option<String>,
    pub owner_province: Option<String>,
    pub batch_no: String,
    pub declaration_no: String,
    pub inspection_cert_no: Option<String>,
    pub product: String,
    pub hs_code: Option<String>,
    pub origin_country: String,
    pub establishment_no: Option<String>,
    pub quantity: Quantity,
    pub unit: Unit,
    pub net_weight_kg: Option<Quantity>,
    pub container_no: Option<String>,
    pub seal_no: Option<String>,
    /// The import date it gives, else the day it was recorded.
    pub day: Date,
}

/// A certificate as the feed lists it: the declaration it was issued for and that declaration's consignee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateOwner {
    pub declaration_no: String,
    pub consignee_uscc: String,
}

/// What the platform knows of the whole feed beyond the declarations in scope.
pub trait Feed {
    /// The declarations a certificate number is listed on.
    fn certificate(&self, no: &str) -> Vec<CertificateOwner>;
    /// The latest declaration day the feed holds for a customs office (its first four digits): the feed
    /// covers that office up to that day, so a batch imported by then names a declaration customs must know.
    fn covered_until(&self, office: &str) -> Option<Date>;
    /// The registered enterprise (id, province) with this USCC, for declared goods nobody recorded.
    fn enterprise(&self, uscc: &str) -> Option<(Uuid, String)>;
}

/// The cross-check's limits: `tolerance_percent` on quantities and weights, `unrecorded_days` after the
/// declaration before goods not recorded (or recorded short) are a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub tolerance_percent: u32,
    pub unrecorded_days: u32,
}

/// A finding the cross-check says should be open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomsFinding {
    pub rule: Rule,
    /// One open finding per subject: `customs:<declaration>:<aspect>[:<batch or line>]`.
    pub subject: String,
    pub declaration: String,
    pub batch: Option<Uuid>,
    /// Every batch the finding is about (a goods line's batches for its quantities); a submission that stores
    /// one of them is refused under *reject*.
    pub batches: Vec<Uuid>,
    /// Whose ledger: the batch's owner, or the consignee when it is registered.
    pub enterprise: Option<Uuid>,
    pub province: Option<String>,
    /// The batch's field it is about (`net_weight_kg`), for a refusal under *reject*.
    pub field: &'static str,
    pub message: String,
}

/// The subject prefix of every finding about a declaration.
pub fn subject_prefix(declaration: &str) -> String {
    format!("customs:{declaration}:")
}

fn hs_match(a: &str, b: &str) -> bool {
    let n = a.len().min(b.len()).min(8);
    n >= 4 && a[..n] == b[..n]
}

fn beyond(declared: Quantity, recorded: Quantity, tolerance_percent: u32) -> bool {
    let (d, r) = (declared.milli() as i128, recorded.milli() as i128);
    (r - d).abs() * 100 > d * i128::from(tolerance_percent)
}

/// Compares the batches with the declarations: `declarations` are those in scope with every current batch
/// naming them in `batches` (which may also name declarations the feed lacks). `today` is the day (UTC+8) the
/// check runs.
pub fn cross_check(
    declarations: &[Declaration],
    batches: &[ImportedBatch],
    feed: &dyn Feed,
    limits: Limits,
    today: Date,
) -> Vec<CustomsFinding> {
    let mut out = Vec::new();
    let by_no: HashMap<&str, &Declaration> = declarations
        .iter()
        .map(|d| (d.declaration_no.as_str(), d))
        .collect();
    let mut of_decl: BTreeMap<&str, Vec<&ImportedBatch>> = BTreeMap::new();
    for b in batches {
        of_decl
            .entry(b.declaration_no.as_str())
            .or_default()
            .push(b);
    }
    let finding = |rule, subject: String, decl: &str, b: &ImportedBatch, field, message: String| {
        CustomsFinding {
            rule,
            subject,
            declaration: decl.to_string(),
            batch: Some(b.id),
            batches: vec![b.id],
            enterprise: Some(b.owner),
            province: b.owner_province.clone(),
            field,
            message,
        }
    };
    // Batches naming a declaration the feed lacks, where the feed covers their office and day.
    for (no, bs) in &of_decl {
        if by_no.contains_key(no) {
            continue;
        }
        let office = no.get(..4).unwrap_or(no);
        let covered = feed.covered_until(office);
        for b in bs {
            if covered.is_some_and(|c| c >= b.day) {
                out.push(finding(
                    Rule::CustomsUnknown,
                    format!("customs:{no}:unknown:{}", b.id),
                    no,
                    b,
                    "declaration_no",
                    format!(
                        "batch {}: declaration {no} is not in the customs data (customs office {office} sent \
                         declarations up to {})",
                        b.batch_no,
                        covered.expect("checked")
                    ),
                ));
            }
        }
    }
    for d in declarations {
        let no = d.declaration_no.as_str();
        let bs = of_decl.get(no).map(Vec::as_slice).unwrap_or(&[]);
        let due = today
            >= d.declared_on
                .saturating_add(jiff::Span::new().days(i64::from(limits.unrecorded_days)));
        let consignee = feed.enterprise(d.consignee_uscc.as_str());
        // Each batch's line: the same HS code and origin, then establishment and container decide.
        let mut per_line: BTreeMap<usize, Vec<&ImportedBatch>> = BTreeMap::new();
        // Only the consignee's batches count against its declaration: another enterprise naming it is a finding
        // on that enterprise's ledger, and its figures never implicate the consignee's.
        let (bs, foreign): (Vec<&ImportedBatch>, Vec<&ImportedBatch>) = bs
            .iter()
            .partition(|b| b.owner_uscc.as_deref() == Some(d.consignee_uscc.as_str()));
        for b in foreign {
            out.push(finding(
                Rule::CustomsUnknown,
                format!("customs:{no}:consignee:{}", b.id),
                no,
                b,
                "declaration_no",
                // Who the consignee is stays customs' and the consignee's to know.
                format!(
                    "batch {}: declaration {no} was declared for another consignee, not for this enterprise",
                    b.batch_no
                ),
            ));
        }
        for b in bs.iter().copied() {
            let score = |l: &DeclarationLine| {
                let hs = b
                    .hs_code
                    .as_deref()
                    .is_some_and(|h| hs_match(h, &l.hs_code));
                let origin = l.origin_country.as_str() == b.origin_country;
                let est = b.establishment_no.is_some() && b.establishment_no == l.establishment_no;
                let cont = b
                    .container_no
                    .as_deref()
                    .is_some_and(|c| l.containers.iter().any(|x| x.as_str() == c));
                (hs as u8) * 8 + (origin as u8) * 4 + (est as u8) * 2 + cont as u8
            };
            let (li, line) = d
                .lines
                .iter()
                .enumerate()
                .max_by_key(|(i, l)| (score(l), std::cmp::Reverse(*i)))
                .expect("a declaration has a line");
            per_line.entry(li).or_default().push(b);
            let mut differs = Vec::new();
            match b.hs_code.as_deref() {
                Some(h) if !hs_match(h, &line.hs_code) => differs.push(format!(
                    "HS code {h}, declared {} ({})",
                    line.hs_code, line.product
                )),
                _ => {}
            }
            if line.origin_country.as_str() != b.origin_country {
                differs.push(format!(
                    "origin {}, declared {}",
                    b.origin_country,
                    line.origin_country.as_str()
                ));
            }
            if let (Some(x), Some(y)) = (&b.establishment_no, &line.establishment_no)
                && !x.eq_ignore_ascii_case(y)
            {
                differs.push(format!("establishment {x}, declared {y}"));
            }
            if !differs.is_empty() {
                out.push(finding(
                    Rule::CustomsMismatch,
                    format!("customs:{no}:goods:{}", b.id),
                    no,
                    b,
                    "product_id",
                    format!(
                        "batch {}: {} on declaration {no}",
                        b.batch_no,
                        differs.join("; ")
                    ),
                ));
            }
            if let Some(c) = &b.container_no
                && !d
                    .lines
                    .iter()
                    .any(|l| l.containers.iter().any(|x| x.as_str() == c))
            {
                out.push(finding(
                    Rule::CustomsMismatch,
                    format!("customs:{no}:container:{}", b.id),
                    no,
                    b,
                    "container_no",
                    format!(
                        "batch {}: container {c} is not on declaration {no}",
                        b.batch_no
                    ),
                ));
            }
            if let Some(s) = &b.seal_no
                && !d
                    .lines
                    .iter()
                    .any(|l| l.seals.iter().any(|x| x.eq_ignore_ascii_case(s)))
            {
                out.push(finding(
                    Rule::CustomsMismatch,
                    format!("customs:{no}:seal:{}", b.id),
                    no,
                    b,
                    "seal_no",
                    format!("batch {}: seal {s} is not on declaration {no}", b.batch_no),
                ));
            }
            if let Some(cert) = &b.inspection_cert_no {
                let cert = cert.trim().to_ascii_uppercase();
                if !d.certificate_nos.contains(&cert) {
                    let owners = feed.certificate(&cert);
                    let message = match owners
                        .iter()
                        .find(|o| o.consignee_uscc != d.consignee_uscc.as_str())
                    {
                        // Naming neither the other consignee nor its declaration.
                        Some(_) => Some((
                            Rule::CustomsUnknown,
                            format!(
                                "batch {}: certificate {cert} was issued to another consignee",
                                b.batch_no
                            ),
                        )),
                        None => match owners.first() {
                            Some(o) => Some((
                                Rule::CustomsMismatch,
                                format!(
                                    "batch {}: certificate {cert} is on declaration {}, not on {no}",
                                    b.batch_no, o.declaration_no
                                ),
                            )),
                            None => Some((
                                Rule::CustomsUnknown,
                                format!(
                                    "batch {}: certificate {cert} is not in the customs data",
                                    b.batch_no
                                ),
                            )),
                        },
                    };
                    if let Some((rule, message)) = message {
                        out.push(finding(
                            rule,
                            format!("customs:{no}:certificate:{}", b.id),
                            no,
                            b,
                            "inspection_cert_no",
                            message,
                        ));
                    }
                }
            }
        }
        // Quantities and weights per line: more than declared at once; less once the goods are due.
        for (li, line) in d.lines.iter().enumerate() {
            let Some(lbs) = per_line.get(&li) else {
                if due {
                    let what = if bs.is_empty() {
                        format!("declaration {no}")
                    } else {
                        format!("line {} of declaration {no}", li + 1)
                    };
                    let subject = if bs.is_empty() {
                        format!("customs:{no}:unrecorded")
                    } else {
                        format!("customs:{no}:unrecorded:{li}")
                    };
                    if bs.is_empty() && li > 0 {
                        continue;
                    }
                    let goods = if bs.is_empty() {
                        d.lines
                            .iter()
                            .map(|l| format!("{} {} {}", l.product, l.quantity, l.unit.as_str()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        format!("{} {} {}", line.product, line.quantity, line.unit.as_str())
                    };
                    out.push(CustomsFinding {
                        rule: Rule::CustomsUnrecorded,
                        subject,
                        declaration: no.to_string(),
                        batch: None,
                        batches: vec![],
                        enterprise: consignee.as_ref().map(|c| c.0),
                        province: consignee
                            .as_ref()
                            .map(|c| c.1.clone())
                            .or_else(|| crate::docking::province_of_uscc(d.consignee_uscc.as_str()).map(str::to_string)),
                        field: "declaration_no",
                        message: format!(
                            "{what} ({goods}) declared on {} by {}{}: no batch recorded within {} days",
                            d.declared_on,
                            d.consignee_uscc,
                            if consignee.is_some() { "" } else { " (not registered)" },
                            limits.unrecorded_days
                        ),
                    });
                }
                continue;
            };
            // The newest batch of the line stands for the finding (a submission adding it is refused under
            // reject); every batch of the line is named.
            let first = lbs[lbs.len() - 1];
            let mut differs = Vec::new();
            let other_units: Vec<&str> = lbs
                .iter()
                .filter(|b| b.unit != line.unit)
                .map(|b| b.unit.as_str())
                .collect();
            if !other_units.is_empty() {
                differs.push(format!(
                    "recorded in {}, declared in {}",
                    other_units.join(", "),
                    line.unit.as_str()
                ));
            }
            let sum: Quantity = lbs
                .iter()
                .filter(|b| b.unit == line.unit)
                .map(|b| b.quantity)
                .sum();
            let all_units = other_units.is_empty();
            if beyond(line.quantity, sum, limits.tolerance_percent)
                && (sum > line.quantity || (due && all_units))
            {
                differs.push(format!(
                    "quantity {sum} {}, declared {} {}",
                    line.unit.as_str(),
                    line.quantity,
                    line.unit.as_str()
                ));
            }
            // Weights known are summed: more than declared is certain; less only when every batch gives one.
            let kg: Quantity = lbs.iter().filter_map(|b| b.net_weight_kg).sum();
            let all_weights = lbs.iter().all(|b| b.net_weight_kg.is_some());
            if beyond(line.net_weight_kg, kg, limits.tolerance_percent)
                && (kg > line.net_weight_kg || (due && all_weights))
            {
                differs.push(format!(
                    "net weight {kg} kg, declared {} kg",
                    line.net_weight_kg
                ));
            }
            if !differs.is_empty() {
                let names: Vec<&str> = lbs.iter().map(|b| b.batch_no.as_str()).collect();
                let field = if differs[0].starts_with("net weight") {
                    "net_weight_kg"
                } else if differs[0].starts_with("recorded in") {
                    "unit"
                } else {
                    "quantity"
                };
                let mut f = finding(
                    Rule::CustomsMismatch,
                    format!("customs:{no}:quantity:{li}"),
                    no,
                    first,
                    field,
                    format!(
                        "{} ({} on line {} of declaration {no}): {}, beyond the {}% tolerance",
                        names.join(", "),
                        line.product,
                        li + 1,
                        differs.join("; "),
                        limits.tolerance_percent
                    ),
                );
                f.batches = lbs.iter().map(|b| b.id).collect();
                out.push(f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMPORTER: &str = "91120116MA05XXXX0A";

    fn uscc() -> String {
        // A valid USCC registered in 120116.
        let body = "91120116MA05ABCD1";
        format!("{body}{}", crate::id::uscc_check_char(body).unwrap())
    }

    fn decl(v: serde_json::Value) -> Declaration {
        serde_json::from_value::<DeclarationDraft>(v)
            .unwrap()
            .parse("declarations[0]")
            .unwrap()
    }

    fn sample() -> Declaration {
        decl(
            json!({"declaration_no": "020220261000000123", "port": "天津新港", "declared_on": "2026-11-01",
            "consignee_uscc": uscc(), "certificate_nos": ["120000026000001"],
            "lines": [
                {"hs_code": "0202300090", "product": "冷冻去骨牛肉", "origin_country": "BR", "establishment_no": "SIF 1234",
                 "quantity": 1000, "unit": "carton", "net_weight_kg": 20000,
                 "containers": ["MSCU1234566"], "seals": ["SL00000001"]},
                {"hs_code": "0306171900", "product": "冷冻虾", "origin_country": "EC", "quantity": 500, "unit": "carton",
                 "net_weight_kg": 10000, "containers": ["MSCU1234566"], "seals": ["SL00000001"]}]}),
        )
    }

    fn batch(b: &str, hs: &str, origin: &str, q: i64, kg: i64) -> ImportedBatch {
        ImportedBatch {
            id: Uuid::new_v5(&Uuid::NAMESPACE_OID, b.as_bytes()),
            owner: Uuid::nil(),
            owner_uscc: Some(uscc()),
            owner_province: Some("12".into()),
            batch_no: b.into(),
            declaration_no: "020220261000000123".into(),
            inspection_cert_no: Some("120000026000001".into()),
            product: "冷冻去骨牛肉".into(),
            hs_code: Some(hs.into()),
            origin_country: origin.into(),
            establishment_no: None,
            quantity: Quantity::from_units(q),
            unit: Unit::Carton,
            net_weight_kg: Some(Quantity::from_units(kg)),
            container_no: Some("MSCU1234566".into()),
            seal_no: Some("SL00000001".into()),
            day: jiff::civil::date(2026, 11, 2),
        }
    }

    struct NoFeed;
    impl Feed for NoFeed {
        fn certificate(&self, _: &str) -> Vec<CertificateOwner> {
            vec![]
        }
        fn covered_until(&self, _: &str) -> Option<Date> {
            Some(jiff::civil::date(2026, 11, 30))
        }
        fn enterprise(&self, _: &str) -> Option<(Uuid, String)> {
            None
        }
    }

    const LIMITS: Limits = Limits {
        tolerance_percent: 3,
        unrecorded_days: 7,
    };

    fn subjects(f: &[CustomsFinding]) -> Vec<String> {
        f.iter()
            .map(|f| {
                f.subject
                    .rsplit(':')
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect()
    }

    #[test]
    fn drafts_name_every_wrong_field() {
        let e = serde_json::from_value::<DeclarationDraft>(json!({"declaration_no": "020220260000000123",
            "declared_on": "2026-13-01", "consignee_uscc": IMPORTER, "certificate_nos": ["bad cert!"],
            "lines": [{"hs_code": "02", "product": "牛肉", "origin_country": "XX", "quantity": 0, "unit": "barrel",
                       "net_weight_kg": 1, "containers": ["ABCD1234567"]}]}))
        .unwrap()
        .parse("declarations[0]")
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        for want in [
            "declarations[0].declaration_no",
            "declarations[0].declared_on",
            "declarations[0].consignee_uscc",
            "declarations[0].certificate_nos[0]",
            "declarations[0].lines[0].hs_code",
            "declarations[0].lines[0].origin_country",
            "declarations[0].lines[0].quantity",
            "declarations[0].lines[0].unit",
            "declarations[0].lines[0].containers[0]",
        ] {
            assert!(fields.contains(&want), "{want} missing from {fields:?}");
        }
    }

    #[test]
    fn matching_batches_give_no_finding_and_decoys_give_exactly_theirs() {
        let d = sample();
        let today = jiff::civil::date(2026, 11, 20);
        // Both lines recorded as declared (the beef in two batches): nothing to find.
        let good = vec![
            batch("B1", "0202300090", "BR", 600, 12000),
            batch("B2", "0202300090", "BR", 400, 8000),
            batch("S1", "0306171900", "EC", 500, 10000),
        ];
        assert_eq!(
            cross_check(std::slice::from_ref(&d), &good, &NoFeed, LIMITS, today),
            vec![]
        );
        // Within the 3% tolerance: still nothing.
        let mut near = good.clone();
        near[0].net_weight_kg = Some(Quantity::from_units(12500));
        assert_eq!(
            cross_check(std::slice::from_ref(&d), &near, &NoFeed, LIMITS, today),
            vec![]
        );
        // Decoys: a heavier beef batch, a shrimp batch in another container, a batch of an unknown declaration.
        let mut bad = good.clone();
        bad[1].net_weight_kg = Some(Quantity::from_units(9000));
        bad[2].container_no = Some("TGHU7654321".into());
        let mut stray = batch("X1", "0202300090", "BR", 10, 200);
        stray.declaration_no = "020220261000000999".into();
        bad.push(stray);
        let f = cross_check(&[d], &bad, &NoFeed, LIMITS, today);
        assert_eq!(
            subjects(&f),
            vec![
                format!("unknown:{}", bad[3].id),
                format!("container:{}", bad[2].id),
                "quantity:0".to_string(),
            ],
            "{f:#?}"
        );
        assert!(
            f[2].message
                .contains("net weight 21000 kg, declared 20000 kg"),
            "{}",
            f[2].message
        );
        assert_eq!(f[0].rule, Rule::CustomsUnknown);
        assert_eq!(f[1].rule, Rule::CustomsMismatch);
    }

    #[test]
    fn declared_goods_nobody_recorded_are_found_once_due() {
        let d = sample();
        // Only the beef recorded: the shrimp line is found once seven days have passed, not before.
        let some = vec![batch("B1", "0202300090", "BR", 1000, 20000)];
        assert_eq!(
            cross_check(
                std::slice::from_ref(&d),
                &some,
                &NoFeed,
                LIMITS,
                jiff::civil::date(2026, 11, 5)
            ),
            vec![]
        );
        let f = cross_check(
            std::slice::from_ref(&d),
            &some,
            &NoFeed,
            LIMITS,
            jiff::civil::date(2026, 11, 8),
        );
        assert_eq!(subjects(&f), vec!["unrecorded:1"], "{f:#?}");
        // Nothing recorded at all: one finding for the declaration, on the consignee's province.
        let f = cross_check(&[d], &[], &NoFeed, LIMITS, jiff::civil::date(2026, 11, 8));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, Rule::CustomsUnrecorded);
        assert_eq!(f[0].province.as_deref(), Some("12"));
        assert!(f[0].message.contains("not registered"), "{}", f[0].message);
    }

    #[test]
    fn another_enterprise_naming_a_declaration_never_implicates_the_consignee() {
        let d = sample();
        let own = vec![
            batch("B1", "0202300090", "BR", 1000, 20000),
            batch("S1", "0306171900", "EC", 500, 10000),
        ];
        let mut other = batch("X1", "0202300090", "BR", 1000, 20000);
        other.owner = Uuid::from_u128(7);
        other.owner_uscc = Some("911100007109323330".into());
        let mut all = own.clone();
        all.push(other.clone());
        let f = cross_check(
            std::slice::from_ref(&d),
            &all,
            &NoFeed,
            LIMITS,
            jiff::civil::date(2026, 11, 20),
        );
        // One finding, on the other enterprise; the consignee's line sums are untouched.
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].enterprise, Some(other.owner));
        assert!(f[0].subject.contains(":consignee:"), "{f:#?}");
    }

    #[test]
    fn goods_and_certificates_that_differ() {
        let d = sample();
        struct Certs;
        impl Feed for Certs {
            fn certificate(&self, no: &str) -> Vec<CertificateOwner> {
                match no {
                    "CERT-OTHER" => vec![CertificateOwner {
                        declaration_no: "020220261000000777".into(),
                        consignee_uscc: "911100007109323330".into(),
                    }],
                    _ => vec![],
                }
            }
            fn covered_until(&self, _: &str) -> Option<Date> {
                None
            }
            fn enterprise(&self, _: &str) -> Option<(Uuid, String)> {
                None
            }
        }
        let mut b = batch("B1", "0202300090", "AR", 1000, 20000);
        b.inspection_cert_no = Some("CERT-OTHER".into());
        let mut c = batch("S1", "0306171900", "EC", 500, 10000);
        c.inspection_cert_no = Some("NOPE".into());
        let f = cross_check(
            &[d],
            &[b, c],
            &Certs,
            LIMITS,
            jiff::civil::date(2026, 11, 3),
        );
        let kinds: Vec<(Rule, &str)> = f.iter().map(|f| (f.rule, f.field)).collect();
        assert_eq!(
            kinds,
            vec![
                (Rule::CustomsMismatch, "product_id"),
                (Rule::CustomsUnknown, "inspection_cert_no"),
                (Rule::CustomsUnknown, "inspection_cert_no"),
            ],
            "{f:#?}"
        );
        assert!(
            f[0].message.contains("origin AR, declared BR"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("another consignee"),
            "{}",
            f[1].message
        );
        assert!(
            f[2].message.contains("not in the customs data"),
            "{}",
            f[2].message
        );
    }
}
