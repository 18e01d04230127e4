//! The ledger's columns: each field with its Chinese header and accepted aliases.

/// A column of the ledger format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    At,
    Kind,
    ProductName,
    Category,
    OriginCountry,
    EstablishmentNo,
    Gtin,
    Spec,
    BatchNo,
    Quantity,
    Unit,
    NetWeightKg,
    ProductionDate,
    ExpiryDate,
    DeclarationNo,
    InspectionCertNo,
    NucleicAcidReportNo,
    NucleicAcidResult,
    DisinfectionCertNo,
    Issuer,
    PortOfEntry,
    ImportDate,
    ContainerNo,
    SealNo,
    TraceCode,
    CounterpartyName,
    CounterpartyUscc,
    Location,
    HandlerName,
    HandlerPhone,
    Note,
    InputBatchNo,
    InputTraceCode,
    InputQuantity,
}

/// `(field, canonical Chinese header, aliases)`. Aliases are compared after removing spaces and unifying
/// brackets and case.
pub const COLUMNS: &[(Field, &str, &[&str])] = &[
    (
        Field::At,
        "日期",
        &[
            "时间",
            "日期时间",
            "业务日期",
            "出入库日期",
            "date",
            "time",
            "at",
        ],
    ),
    (
        Field::Kind,
        "类型",
        &["业务类型", "出入库类型", "kind", "type"],
    ),
    (
        Field::ProductName,
        "品名",
        &[
            "产品名称",
            "商品名称",
            "食品名称",
            "product",
            "product_name",
        ],
    ),
    (Field::Category, "品类", &["类别", "产品类别", "category"]),
    (
        Field::OriginCountry,
        "原产国",
        &["产地国", "原产地", "origin_country", "origin"],
    ),
    (
        Field::EstablishmentNo,
        "境外生产企业注册号",
        &["生产企业注册号", "厂号", "establishment_no"],
    ),
    (Field::Gtin, "商品条码", &["gtin", "条码"]),
    (Field::Spec, "规格", &["spec"]),
    (
        Field::BatchNo,
        "批号",
        &["生产批号", "批次号", "batch_no", "batch"],
    ),
    (Field::Quantity, "数量", &["quantity", "qty"]),
    (Field::Unit, "单位", &["unit"]),
    (
        Field::NetWeightKg,
        "净重(kg)",
        &["净重", "净重(千克)", "net_weight_kg"],
    ),
    (Field::ProductionDate, "生产日期", &["production_date"]),
    (
        Field::ExpiryDate,
        "保质期至",
        &["到期日期", "失效日期", "expiry_date"],
    ),
    (Field::DeclarationNo, "报关单号", &["declaration_no"]),
    (
        Field::InspectionCertNo,
        "检验检疫证明编号",
        &[
            "检疫证明编号",
            "入境货物检验检疫证明编号",
            "inspection_cert_no",
        ],
    ),
    (
        Field::NucleicAcidReportNo,
        "核酸检测报告编号",
        &["核酸报告编号", "nucleic_acid_report_no"],
    ),
    (
        Field::NucleicAcidResult,
        "核酸检测结果",
        &["核酸结果", "nucleic_acid_result"],
    ),
    (
        Field::DisinfectionCertNo,
        "消毒证明编号",
        &["disinfection_cert_no"],
    ),
    (Field::Issuer, "签发机构", &["issuer"]),
    (Field::PortOfEntry, "入境口岸", &["口岸", "port_of_entry"]),
    (Field::ImportDate, "进口日期", &["入境日期", "import_date"]),
    (Field::ContainerNo, "集装箱号", &["箱号", "container_no"]),
    (Field::SealNo, "铅封号", &["封条号", "seal_no"]),
    (Field::TraceCode, "追溯码", &["trace_code", "code"]),
    (
        Field::CounterpartyName,
        "对方名称",
        &[
            "供货方",
            "供应商",
            "购货方",
            "客户",
            "counterparty_name",
            "counterparty",
        ],
    ),
    (
        Field::CounterpartyUscc,
        "对方统一社会信用代码",
        &["对方信用代码", "counterparty_uscc"],
    ),
    (
        Field::Location,
        "存放位置",
        &["库位", "存储位置", "location"],
    ),
    (Field::HandlerName, "经手人", &["handler", "handler_name"]),
    (Field::HandlerPhone, "经手人电话", &["handler_phone"]),
    (Field::Note, "备注", &["note"]),
    (
        Field::InputBatchNo,
        "投入批号",
        &["原料批号", "input_batch_no"],
    ),
    (
        Field::InputTraceCode,
        "投入追溯码",
        &["原料追溯码", "input_trace_code"],
    ),
    (
        Field::InputQuantity,
        "投入数量",
        &["原料数量", "input_quantity"],
    ),
];

fn normalise(h: &str) -> String {
    h.trim()
        .replace(['（'], "(")
        .replace(['）'], ")")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect::<String>()
        .to_lowercase()
}

/// Maps header positions to fields; returns the headers that match no field.
pub fn map_headers(headers: &[String]) -> (Vec<(usize, Field)>, Vec<String>) {
    let mut map = Vec::new();
    let mut ignored = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let n = normalise(h);
        let found = COLUMNS.iter().find(|(_, zh, aliases)| {
            normalise(zh) == n || aliases.iter().any(|a| normalise(a) == n)
        });
        match found {
            Some((f, _, _)) if !map.iter().any(|(_, g)| g == f) => map.push((i, *f)),
            _ if !h.trim().is_empty() => ignored.push(h.clone()),
            _ => {}
        }
    }
    (map, ignored)
}

/// Required columns absent from the file, by their Chinese header.
pub fn missing_required(map: &[(usize, Field)]) -> Vec<String> {
    let has = |f: Field| map.iter().any(|(_, g)| *g == f);
    let mut missing = Vec::new();
    for f in [Field::At, Field::Kind, Field::Quantity] {
        if !has(f) {
            missing.push(header(f).to_string());
        }
    }
    if !has(Field::BatchNo) && !has(Field::TraceCode) {
        missing.push("批号 或 追溯码".to_string());
    }
    missing
}

/// The canonical Chinese header of a field.
pub fn header(f: Field) -> &'static str {
    COLUMNS
        .iter()
        .find(|(g, _, _)| *g == f)
        .map(|(_, h, _)| *h)
        .expect("every field has a header")
}

/// Which column a submission field path came from, for error locations.
pub fn field_for_path(list: &str, leaf: &str) -> Option<Field> {
    let first = leaf.split(['.', '[']).next().unwrap_or("");
    Some(match (list, first) {
        // A record's id is derived from the columns that identify it: a conflict with a stored record that has
        // the same id and other content is located there.
        ("products", "id" | "name") => Field::ProductName,
        ("batches", "id") | ("movements", "id") => Field::BatchNo,
        ("batches", "product_id") => Field::ProductName,
        ("products", "category") => Field::Category,
        ("products", "origin_country") => Field::OriginCountry,
        ("products", "establishment_no") => Field::EstablishmentNo,
        ("products", "gtin") => Field::Gtin,
        ("products", "spec") => Field::Spec,
        ("batches", "batch_no") => Field::BatchNo,
        ("batches", "quantity") => Field::Quantity,
        ("batches", "unit") => Field::Unit,
        ("batches", "net_weight_kg") => Field::NetWeightKg,
        ("batches", "production_date") => Field::ProductionDate,
        ("batches", "expiry_date") => Field::ExpiryDate,
        ("batches", "declaration_no") => Field::DeclarationNo,
        ("batches", "inspection_cert_no") => Field::InspectionCertNo,
        ("batches", "port_of_entry") => Field::PortOfEntry,
        ("batches", "import_date") => Field::ImportDate,
        ("batches", "container_no") => Field::ContainerNo,
        ("batches", "seal_no") => Field::SealNo,
        ("batches", "trace_codes") => Field::TraceCode,
        // A document's number is in the column of its kind; `locate` knows which, this is the fallback.
        ("documents", "number") => Field::InspectionCertNo,
        ("documents" | "movements", "batch_id" | "batch_no") => Field::BatchNo,
        ("documents", "trace_code") => Field::TraceCode,
        ("documents", "result") => Field::NucleicAcidResult,
        ("documents", "issuer") => Field::Issuer,
        ("documents", "issued_on") => Field::ImportDate,
        ("movements", "trace_code") => Field::TraceCode,
        ("movements", "quantity") => Field::Quantity,
        ("movements", "counterparty_name") => Field::CounterpartyName,
        ("movements", "counterparty_uscc") => Field::CounterpartyUscc,
        ("movements", "at") => Field::At,
        ("movements", "location") => Field::Location,
        ("movements", "handlers") => Field::HandlerName,
        ("movements", "inputs") => Field::InputBatchNo,
        ("movements", "outputs") => Field::BatchNo,
        ("movements", "kind") => Field::Kind,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_aliases() {
        let h: Vec<String> = ["日期", " 类型 ", "净重（千克）", "batch_no", "QTY", "颜色"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (map, ignored) = map_headers(&h);
        assert_eq!(
            map.iter().map(|(_, f)| *f).collect::<Vec<_>>(),
            vec![
                Field::At,
                Field::Kind,
                Field::NetWeightKg,
                Field::BatchNo,
                Field::Quantity
            ]
        );
        assert_eq!(ignored, vec!["颜色".to_string()]);
        assert!(missing_required(&map).is_empty());
        assert_eq!(
            missing_required(&map[..2]),
            vec!["数量".to_string(), "批号 或 追溯码".to_string()]
        );
    }
}
