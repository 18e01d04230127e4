//! Batches (批次): the unit of traceability.

use jiff::civil::Date;
use uuid::Uuid;

use crate::code::{CodeScheme, TraceCode};
use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::id::{ContainerNo, DeclarationNo};
use crate::quantity::{Quantity, Unit};

/// Batch (批次): one product, one production batch, one import certificate. It may later be split across
/// many holders; the batch itself records what was imported or produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Batch {
    pub id: Uuid,
    /// The enterprise that created the batch: the importer, first station or processor.
    pub owner: Uuid,
    pub product: Uuid,
    /// The production batch number (生产批号) printed on the goods.
    pub batch_no: String,
    pub quantity: Quantity,
    pub unit: Unit,
    pub net_weight_kg: Option<Quantity>,
    #[schema(value_type = Option<String>, format = Date)]
    pub production_date: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<Date>,
    /// Customs declaration (报关单号), for imported goods.
    pub declaration_no: Option<DeclarationNo>,
    /// Inspection-and-quarantine certificate number (检验检疫证明编号).
    pub inspection_cert_no: Option<String>,
    pub port_of_entry: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub import_date: Option<Date>,
    pub container_no: Option<ContainerNo>,
    pub seal_no: Option<String>,
    /// Every code that identifies this batch, in any scheme.
    pub trace_codes: Vec<TraceCode>,
    pub corrects: Option<Uuid>,
}

/// A trace code as submitted: the value and, optionally, its scheme (detected otherwise).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceCodeDraft {
    pub value: Option<String>,
    pub scheme: Option<String>,
}

/// A batch as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDraft {
    pub id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub batch_no: Option<String>,
    pub quantity: Option<Quantity>,
    pub unit: Option<String>,
    pub net_weight_kg: Option<Quantity>,
    /// YYYY-MM-DD.
    pub production_date: Option<String>,
    pub expiry_date: Option<String>,
    pub declaration_no: Option<String>,
    pub inspection_cert_no: Option<String>,
    pub port_of_entry: Option<String>,
    pub import_date: Option<String>,
    pub container_no: Option<String>,
    pub seal_no: Option<String>,
    #[serde(default)]
    pub trace_codes: Vec<TraceCodeDraft>,
    pub corrects: Option<Uuid>,
}

pub(crate) fn parse_date(s: &Option<String>) -> Result<Option<Date>, String> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            let norm = v.replace('/', "-");
            let mut it = norm.split('-');
            let parts: Option<(i16, i8, i8)> = (|| {
                Some((
                    it.next()?.parse().ok()?,
                    it.next()?.parse().ok()?,
                    it.next()?.parse().ok()?,
                ))
            })();
            match parts {
                Some((y, m, d)) if it.next().is_none() => Date::new(y, m, d)
                    .map(Some)
                    .map_err(|e| format!("{v:?} is not a valid date: {e}")),
                _ => Err(format!("{v:?} is not a date (YYYY-MM-DD)")),
            }
        }
    }
}

impl BatchDraft {
    pub fn parse(&self, at: &str, owner: Uuid) -> Result<Batch, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let product = match self.product_id {
            Some(p) => Some(p),
            None => {
                e.push(f("product_id"), "is required");
                None
            }
        };
        let batch_no = e.take(&f("batch_no"), required_text(&self.batch_no, 64));
        let quantity = match self.quantity {
            None => {
                e.push(f("quantity"), "is required");
                None
            }
            Some(q) if q.is_zero() => {
                e.push(f("quantity"), "must be greater than zero");
                None
            }
            Some(q) => Some(q),
        };
        let unit = e.take(
            &f("unit"),
            required_text(&self.unit, 16).and_then(|u| Unit::parse(&u)),
        );
        let production_date = e.take(&f("production_date"), parse_date(&self.production_date));
        let expiry_date = e.take(&f("expiry_date"), parse_date(&self.expiry_date));
        if let (Some(Some(p)), Some(Some(x))) = (production_date, expiry_date)
            && x < p
        {
            e.push(f("expiry_date"), "is before production_date");
        }
        let declaration_no = e.take(
            &f("declaration_no"),
            optional_text(&self.declaration_no, 18).and_then(|d| {
                d.map(|d| DeclarationNo::parse(&d).map_err(|x| x.to_string()))
                    .transpose()
            }),
        );
        if let Some(Some(d)) = &declaration_no
            && !d.is_import()
        {
            e.push(
                f("declaration_no"),
                "is an export declaration (character 9 is 0); an import is expected",
            );
        }
        let inspection_cert_no = e.take(
            &f("inspection_cert_no"),
            optional_text(&self.inspection_cert_no, 64),
        );
        let port_of_entry = e.take(&f("port_of_entry"), optional_text(&self.port_of_entry, 100));
        let import_date = e.take(&f("import_date"), parse_date(&self.import_date));
        let container_no = e.take(
            &f("container_no"),
            optional_text(&self.container_no, 15).and_then(|c| {
                c.map(|c| ContainerNo::parse(&c).map_err(|x| x.to_string()))
                    .transpose()
            }),
        );
        let seal_no = e.take(&f("seal_no"), optional_text(&self.seal_no, 32));
        let mut codes = Vec::new();
        for (i, c) in self.trace_codes.iter().enumerate() {
            let at = format!("{}[{i}]", f("trace_codes"));
            let scheme = e.take(
                &path(&at, "scheme"),
                optional_text(&c.scheme, 16)
                    .and_then(|s| s.map(|s| CodeScheme::parse(&s)).transpose()),
            );
            let value = e.take(&path(&at, "value"), required_text(&c.value, 256));
            if let (Some(scheme), Some(value)) = (scheme, value)
                && let Some(code) = e.take(&path(&at, "value"), TraceCode::parse(&value, scheme))
            {
                if codes.iter().any(|x: &TraceCode| x.key == code.key) {
                    e.push(path(&at, "value"), "is listed twice");
                } else {
                    codes.push(code);
                }
            }
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Batch {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            owner,
            product: product.expect("checked"),
            batch_no: batch_no.expect("checked"),
            quantity: quantity.expect("checked"),
            unit: unit.expect("checked"),
            net_weight_kg: self.net_weight_kg,
            production_date: production_date.flatten(),
            expiry_date: expiry_date.flatten(),
            declaration_no: declaration_no.flatten(),
            inspection_cert_no: inspection_cert_no.flatten(),
            port_of_entry: port_of_entry.flatten(),
            import_date: import_date.flatten(),
            container_no: container_no.flatten(),
            seal_no: seal_no.flatten(),
            trace_codes: codes,
            corrects: self.corrects,
        })
    }
}

/// How a record points at a batch: by id, by the submitter's own batch number, or by any trace code (scanned).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BatchRef {
    Id(Uuid),
    BatchNo(String),
    Code(TraceCode),
}

/// Parses the three optional ways of naming a batch; exactly one must be given.
pub fn parse_batch_ref(
    at: &str,
    id: Option<Uuid>,
    batch_no: &Option<String>,
    code: &Option<String>,
    e: &mut ValidationErrors,
) -> Option<BatchRef> {
    let batch_no = optional_text(batch_no, 64).ok().flatten();
    let code_s = optional_text(code, 256).ok().flatten();
    let n = id.is_some() as u8 + batch_no.is_some() as u8 + code_s.is_some() as u8;
    if n != 1 {
        e.push(
            path(at, "batch_id"),
            if n == 0 {
                "name the batch by batch_id, batch_no or trace_code"
            } else {
                "give only one of batch_id, batch_no, trace_code"
            },
        );
        return None;
    }
    if let Some(id) = id {
        return Some(BatchRef::Id(id));
    }
    if let Some(no) = batch_no {
        return Some(BatchRef::BatchNo(no));
    }
    e.take(
        &path(at, "trace_code"),
        TraceCode::parse(&code_s.expect("one given"), None),
    )
    .map(BatchRef::Code)
}
