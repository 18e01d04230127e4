//! Province adapters (适配器): a province that runs another system keeps its field names and code scheme; an
//! adapter maps its records onto docking messages, field by field, and checks its codes in its own scheme.
//!
//! A map is data, not code (`docs/docking.md` shows one):
//!
//! ```json
//! { "province": "33", "scheme": "url", "type_field": "jllx",
//!   "types": { "PC": "batch", "CK": "outflow", "RK": "inflow", "QY": "enterprise" },
//!   "fields": { "batch": "pch_id", "code": "zsm", "product": "spmc", "batch_no": "pch" } }
//! ```

use std::collections::BTreeMap;

use coldtrace_domain::code::{CodeScheme, TraceCode};
use coldtrace_domain::docking::{
    BatchFacts, BorderFlow, EnterpriseShort, Message, NativeCode, province_of_uscc,
};
use coldtrace_domain::{EventTime, Quantity, Uscc};

/// How one foreign system's records read as protocol messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// The province the foreign system serves.
    pub province: String,
    /// The code scheme its labels use.
    pub scheme: CodeScheme,
    /// The foreign field that says what a record is.
    pub type_field: String,
    /// Foreign record type to protocol message type (`enterprise`, `batch`, `outflow`, `inflow`).
    pub types: BTreeMap<String, String>,
    /// Protocol field to foreign field. Protocol fields: `batch`, `code`, `product`, `gtin`, `batch_no`,
    /// `owner_uscc`, `origin_country`, `inspection_cert_no`, `declaration_no`, `quantity`, `unit`, `movement`,
    /// `seller_uscc`, `seller_name`, `buyer_uscc`, `buyer_name`, `time`, `uscc`, `name`, `kind`, `region`.
    pub fields: BTreeMap<String, String>,
}

/// A record the adapter cannot map: which protocol field (and the foreign field it reads) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} ({foreign}): {reason}")]
pub struct AdapterError {
    pub field: String,
    pub foreign: String,
    pub reason: String,
}

impl FieldMap {
    fn foreign<'a>(&'a self, field: &'a str) -> &'a str {
        self.fields.get(field).map(String::as_str).unwrap_or(field)
    }

    fn err(&self, field: &str, reason: impl Into<String>) -> AdapterError {
        AdapterError {
            field: field.into(),
            foreign: self.foreign(field).into(),
            reason: reason.into(),
        }
    }

    fn get(&self, r: &serde_json::Value, field: &str) -> Option<String> {
        match r.get(self.foreign(field))? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn need(&self, r: &serde_json::Value, field: &str) -> Result<String, AdapterError> {
        self.get(r, field)
            .ok_or_else(|| self.err(field, "is required"))
    }

    fn uscc(&self, r: &serde_json::Value, field: &str) -> Result<Option<String>, AdapterError> {
        self.get(r, field)
            .map(|u| {
                Uscc::parse(&u)
                    .map(|u| u.as_str().to_string())
                    .map_err(|e| self.err(field, e.to_string()))
            })
            .transpose()
    }

    fn quantity(&self, r: &serde_json::Value) -> Result<i64, AdapterError> {
        let q = self.need(r, "quantity")?;
        Quantity::parse(&q)
            .map(Quantity::milli)
            .map_err(|e| self.err("quantity", e.to_string()))
    }

    fn time(&self, r: &serde_json::Value) -> Result<i64, AdapterError> {
        let t = self.need(r, "time")?;
        EventTime::parse_local(&t, 8)
            .map(|t| t.millis())
            .map_err(|e| self.err("time", e))
    }

    /// Maps one foreign record; the message then passes the same checks as a native province's upload
    /// ([`Message::check`]), each problem named by the foreign field it came from where there is one.
    pub fn to_message(&self, r: &serde_json::Value) -> Result<Message, AdapterError> {
        let m = self.map_record(r)?;
        if let Some((field, reason)) = m.check().into_iter().next() {
            // `owner_uscc`, `seller_uscc`: the protocol field that the foreign field fills.
            let head = field.split(['[', '.']).next().unwrap_or(&field).to_string();
            let head = match head.as_str() {
                "quantity_milli" => "quantity".to_string(),
                "at_ms" => "time".to_string(),
                _ => head,
            };
            return Err(AdapterError {
                foreign: self.foreign(&head).to_string(),
                field,
                reason,
            });
        }
        Ok(m)
    }

    fn map_record(&self, r: &serde_json::Value) -> Result<Message, AdapterError> {
        let ty = r
            .get(&self.type_field)
            .and_then(|v| v.as_str())
            .ok_or_else(|| AdapterError {
                field: "type".into(),
                foreign: self.type_field.clone(),
                reason: "is required".into(),
            })?;
        let kind = self.types.get(ty).ok_or_else(|| AdapterError {
            field: "type".into(),
            foreign: self.type_field.clone(),
            reason: format!("{ty:?} is not a mapped record type"),
        })?;
        match kind.as_str() {
            "enterprise" => Ok(Message::Enterprise(EnterpriseShort {
                uscc: self
                    .uscc(r, "uscc")?
                    .ok_or_else(|| self.err("uscc", "is required"))?,
                name: self.need(r, "name")?,
                kind: self.get(r, "kind").unwrap_or_default(),
                region: self.get(r, "region").unwrap_or_default(),
            })),
            "batch" => {
                let mut codes = Vec::new();
                let mut gtin = self.get(r, "gtin");
                if let Some(c) = self.get(r, "code") {
                    let code =
                        TraceCode::parse(&c, Some(self.scheme)).map_err(|e| self.err("code", e))?;
                    if gtin.is_none() {
                        gtin = code.gs1().map(|p| p.gtin.to_gtin14());
                    }
                    codes.push(NativeCode {
                        scheme: code.scheme.as_str().into(),
                        value: code.value,
                    });
                }
                let batch = match self.get(r, "batch") {
                    Some(b) => b,
                    None => codes
                        .first()
                        .map(|c| c.value.clone())
                        .ok_or_else(|| self.err("batch", "is required (or a code)"))?,
                };
                Ok(Message::Batch(BatchFacts {
                    batch,
                    codes,
                    product: self.need(r, "product")?,
                    gtin,
                    batch_no: self.get(r, "batch_no").unwrap_or_default(),
                    owner_uscc: self.uscc(r, "owner_uscc")?.unwrap_or_default(),
                    origin_country: self.get(r, "origin_country"),
                    inspection_cert_no: self.get(r, "inspection_cert_no"),
                    declaration_no: self.get(r, "declaration_no"),
                    port_of_entry: self.get(r, "port_of_entry"),
                    import_date: self.get(r, "import_date"),
                    quantity_milli: self.quantity(r)?,
                    unit: self.get(r, "unit").unwrap_or_default(),
                }))
            }
            "outflow" | "inflow" => {
                let inward = kind == "inflow";
                let seller_uscc = self.uscc(r, "seller_uscc")?;
                let buyer_uscc = self.uscc(r, "buyer_uscc")?;
                let other = if inward { &seller_uscc } else { &buyer_uscc };
                let batch = match self.get(r, "batch") {
                    Some(b) => b,
                    None => self.need(r, "code")?,
                };
                let f = BorderFlow {
                    movement: self.need(r, "movement")?,
                    batch,
                    product: self.get(r, "product").unwrap_or_default(),
                    other_province: other
                        .as_deref()
                        .and_then(province_of_uscc)
                        .map(str::to_string),
                    seller_uscc,
                    seller_name: self.get(r, "seller_name").unwrap_or_default(),
                    buyer_uscc,
                    buyer_name: self.get(r, "buyer_name").unwrap_or_default(),
                    quantity_milli: self.quantity(r)?,
                    unit: self.get(r, "unit").unwrap_or_default(),
                    at_ms: self.time(r)?,
                };
                Ok(if inward {
                    Message::Inflow(f)
                } else {
                    Message::Outflow(f)
                })
            }
            other => Err(AdapterError {
                field: "type".into(),
                foreign: self.type_field.clone(),
                reason: format!("maps to {other:?}, which an adapter does not send"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> FieldMap {
        serde_json::from_value(serde_json::json!({
            "province": "33", "scheme": "gs1", "type_field": "jllx",
            "types": {"PC": "batch", "CK": "outflow", "RK": "inflow", "QY": "enterprise"},
            "fields": {"batch": "pch_id", "code": "zsm", "product": "spmc", "batch_no": "pch",
                       "quantity": "sl", "unit": "dw", "owner_uscc": "qydm",
                       "seller_uscc": "mfdm", "buyer_uscc": "gfdm", "time": "sj", "movement": "lsh",
                       "inspection_cert_no": "jyzh"}
        }))
        .unwrap()
    }

    #[test]
    fn a_foreign_batch_record_maps_with_its_code_checked_in_its_scheme() {
        let m = map()
            .to_message(&serde_json::json!({
                "jllx": "PC", "pch_id": "ZJ-1", "zsm": "https://id.gs1.org/01/07891234567895/10/BR1",
                "spmc": "冻牛腩", "pch": "BR1", "sl": "20", "dw": "carton",
                "qydm": "91330100MA2XXXXX0A", "jyzh": "330100020201101001"
            }))
            .unwrap_err();
        // The USCC above fails its check character: the error names the protocol and the foreign field.
        assert_eq!(m.field, "owner_uscc");
        assert_eq!(m.foreign, "qydm");
        let ok = map()
            .to_message(&serde_json::json!({
                "jllx": "PC", "pch_id": "ZJ-1", "zsm": "https://id.gs1.org/01/07891234567895/10/BR1",
                "spmc": "冻牛腩", "pch": "BR1", "sl": "20", "dw": "carton",
                "jyzh": "330100020201101001"
            }))
            .unwrap();
        let Message::Batch(b) = ok else {
            panic!("not a batch")
        };
        assert_eq!(b.batch, "ZJ-1");
        assert_eq!(b.codes[0].scheme, "gs1");
        assert_eq!(
            b.gtin.as_deref(),
            Some("07891234567895"),
            "read from the GS1 code"
        );
        assert_eq!(b.quantity_milli, 20_000);
        assert_eq!(b.inspection_cert_no.as_deref(), Some("330100020201101001"));
        let bad = map()
            .to_message(&serde_json::json!({"jllx": "PC", "zsm": "12345", "spmc": "x", "sl": "1"}))
            .unwrap_err();
        assert_eq!((bad.field.as_str(), bad.foreign.as_str()), ("code", "zsm"));
        let unknown = map()
            .to_message(&serde_json::json!({"jllx": "XX"}))
            .unwrap_err();
        assert!(unknown.reason.contains("not a mapped record type"));
    }

    #[test]
    fn a_foreign_inflow_names_the_other_province_from_the_seller_uscc() {
        let m = map()
            .to_message(&serde_json::json!({
                "jllx": "RK", "lsh": "R1", "pch_id": "ZJ-1", "mfdm": "91320100MA1Y6GAB3B",
                "gfdm": "91330100MA2H0EA2XE", "sl": 12.5, "sj": "2020-11-02 09:00:00"
            }))
            .unwrap();
        let Message::Inflow(f) = m else {
            panic!("not an inflow")
        };
        assert_eq!(f.other_province.as_deref(), Some("32"));
        assert_eq!(f.quantity_milli, 12_500);
    }
}
