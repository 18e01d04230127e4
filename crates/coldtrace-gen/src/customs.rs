//! A customs feed for generated imports (海关数据): one declaration per imported batch as the importer recorded
//! it, with the faults a real cross-check meets, each counted in [`FeedFaults`] so a run can be checked against
//! the findings it makes: goods declared lighter than recorded, a container that is not the one recorded,
//! batches whose declaration customs never sent, and declarations of goods nobody recorded.

use coldtrace_domain::customs::{Declaration, DeclarationLine};
use coldtrace_domain::id::{ContainerNo, DeclarationNo};
use coldtrace_domain::{Batch, Product, Quantity, Uscc};
use jiff::civil::Date;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

/// An imported batch with what the feed needs of its product and importer.
#[derive(Debug, Clone)]
pub struct Import {
    pub batch: Batch,
    pub product: Product,
    pub consignee: Uscc,
}

/// The faults put into a feed on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedFaults {
    /// Declarations whose net weight is 10% below what the batch records (a difference beyond tolerance).
    pub lighter: u64,
    /// Declarations naming another container than the batch's.
    pub other_container: u64,
    /// Batches whose declaration the feed leaves out (a declaration customs does not know).
    pub undeclared: u64,
    /// Declarations, a month old, of goods no importer recorded.
    pub unrecorded: u64,
    /// Declarations of goods declared on `today`, not yet due to be recorded (no finding).
    pub pending: u64,
}

fn container(rng: &mut ChaCha8Rng) -> ContainerNo {
    let prefix = format!("TRIU{:06}", rng.random_range(0..1_000_000));
    ContainerNo::parse(&format!(
        "{prefix}{}",
        coldtrace_domain::id::container_check_digit(&prefix)
    ))
    .expect("valid")
}

/// The feed of `imports` (import batches with a declaration), padded with declarations of goods not recorded to
/// `total` declarations: `faults` of them unrecorded and a month old, the rest declared on `today`.
pub fn customs_feed(
    imports: &[Import],
    total: usize,
    today: Date,
    seed: u64,
    faults: f64,
) -> (Vec<Declaration>, FeedFaults) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC057);
    let mut out = Vec::with_capacity(total.max(imports.len()));
    let mut f = FeedFaults::default();
    for i in imports {
        let b = &i.batch;
        let Some(no) = b.declaration_no.clone() else {
            continue;
        };
        if rng.random_bool(faults) {
            f.undeclared += 1;
            continue;
        }
        let kg = b.net_weight_kg.unwrap_or(Quantity::from_units(20));
        let mut line = DeclarationLine {
            hs_code: i
                .product
                .hs_code
                .clone()
                .unwrap_or_else(|| "0202300090".into()),
            product: i.product.name.clone(),
            origin_country: i.product.origin_country.clone(),
            establishment_no: i.product.establishment_no.clone(),
            quantity: b.quantity,
            unit: b.unit,
            net_weight_kg: kg,
            containers: b.container_no.clone().into_iter().collect(),
            seals: b.seal_no.clone().into_iter().collect(),
        };
        if rng.random_bool(faults) {
            f.lighter += 1;
            line.net_weight_kg = Quantity::from_milli(kg.milli() * 10 / 11);
        }
        if b.container_no.is_some() && rng.random_bool(faults) {
            f.other_container += 1;
            line.containers = vec![container(&mut rng)];
        }
        let day = b.import_date.unwrap_or(today);
        out.push(Declaration {
            declaration_no: no,
            port: b.port_of_entry.clone(),
            declared_on: day.checked_sub(jiff::Span::new().days(2)).unwrap_or(day),
            consignee_uscc: i.consignee.clone(),
            consignee_name: None,
            certificate_nos: b
                .inspection_cert_no
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            lines: vec![line],
        });
    }
    // Goods declared but never recorded: a few a month old (findings), the rest declared today (pending).
    let offices = ["0202", "2201", "5316", "4200", "2300"];
    let consignees: Vec<&Uscc> = imports.iter().map(|i| &i.consignee).collect();
    let mut k: u64 = 0;
    while out.len() < total {
        k += 1;
        let old = rng.random_bool(faults);
        let office = offices[rng.random_range(0..offices.len())];
        let no =
            DeclarationNo::parse(&format!("{office}20261{:09}", 900_000_000 + k)).expect("valid");
        let on = if old {
            f.unrecorded += 1;
            today
                .checked_sub(jiff::Span::new().days(30))
                .unwrap_or(today)
        } else {
            f.pending += 1;
            today
        };
        let consignee = match consignees.choose(&mut rng) {
            Some(c) => (*c).clone(),
            None => break,
        };
        out.push(Declaration {
            declaration_no: no,
            port: None,
            declared_on: on,
            consignee_uscc: consignee,
            consignee_name: None,
            certificate_nos: vec![],
            lines: vec![DeclarationLine {
                hs_code: "0202300090".into(),
                product: "冷冻去骨牛肉".into(),
                origin_country: coldtrace_domain::CountryCode::parse("BR").expect("valid"),
                establishment_no: None,
                quantity: Quantity::from_units(1300),
                unit: coldtrace_domain::Unit::Carton,
                net_weight_kg: Quantity::from_units(26_000),
                containers: vec![container(&mut rng)],
                seals: vec![],
            }],
        });
    }
    (out, f)
}
