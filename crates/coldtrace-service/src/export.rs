//! Trace exports: one row per movement, sortable, as CSV or XLSX (the US FDA's food traceability rule asks for
//! such a spreadsheet within 24 hours; here it takes a request).

use coldtrace_store::{Store, StoreError};

use crate::tracer::{TraceAnswer, Tracer};

/// Column headers, Chinese and English.
pub const HEADERS: [&str; 13] = [
    "时间 time",
    "类型 kind",
    "持有者 holder",
    "省份 province",
    "地区 place",
    "批号 batch_no",
    "品名 product",
    "数量 quantity",
    "单位 unit",
    "对方 counterparty",
    "存放位置 location",
    "环节 role",
    "记录 movement_id",
];

/// The rows of an export, in time order.
pub async fn rows(
    store: &dyn Store,
    tracer: &Tracer,
    a: &TraceAnswer,
) -> Result<Vec<Vec<String>>, StoreError> {
    let moves = store.movements_by_seq(tracer.movement_seqs(a)).await?;
    // Holders by party key and by enterprise id, so a large export stays linear.
    let mut by_key = std::collections::HashMap::with_capacity(a.holders.len());
    let mut by_enterprise = std::collections::HashMap::with_capacity(a.holders.len());
    for h in &a.holders {
        by_key.entry(h.key).or_insert(h);
        if let Some(e) = h.enterprise {
            by_enterprise.entry(e).or_insert(h);
        }
    }
    let holder_of = |enterprise: &uuid::Uuid| {
        tracer
            .party_of(enterprise)
            .and_then(|k| by_key.get(&k).copied())
            .or_else(|| by_enterprise.get(enterprise).copied())
    };
    let mut out: Vec<(i64, Vec<String>)> = Vec::with_capacity(moves.len());
    for m in moves {
        let r = &m.record;
        let holder = holder_of(&r.holder);
        let batch_ids: Vec<uuid::Uuid> = r
            .batch
            .iter()
            .chain(r.inputs.iter().map(|l| &l.batch))
            .chain(r.outputs.iter().map(|l| &l.batch))
            .filter_map(|b| match b {
                coldtrace_domain::BatchRef::Id(id) => Some(*id),
                _ => None,
            })
            .collect();
        let lot = holder.and_then(|h| h.lots.iter().find(|l| batch_ids.contains(&l.batch)));
        let (batch_no, product, unit) = match lot {
            Some(l) => (
                l.batch_no.to_string(),
                l.product.to_string(),
                l.unit.to_string(),
            ),
            None => Default::default(),
        };
        let quantity = if r.kind == coldtrace_domain::MovementKind::Transform {
            r.outputs
                .iter()
                .map(|l| l.quantity)
                .sum::<coldtrace_domain::Quantity>()
                .to_string()
        } else {
            r.quantity.to_string()
        };
        out.push((
            r.at.millis(),
            vec![
                r.at.to_string(),
                r.kind.as_str().to_string(),
                holder.map(|h| h.name.to_string()).unwrap_or_default(),
                holder
                    .and_then(|h| h.province_name.as_deref().map(str::to_string))
                    .unwrap_or_default(),
                holder
                    .and_then(|h| h.place.as_deref().map(str::to_string))
                    .unwrap_or_default(),
                batch_no,
                product,
                quantity,
                unit,
                r.counterparty
                    .as_ref()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                r.location.clone().unwrap_or_default(),
                lot.map(|l| l.role.as_str().to_string()).unwrap_or_default(),
                r.id.to_string(),
            ],
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// A cell as a spreadsheet will not run it: text that starts like a formula (`=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading apostrophe, so a name an enterprise typed cannot become a formula on a
/// regulator's machine. Numbers stay numbers.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A sheet's layout: its headers, the column that holds numbers, the worksheet's name and column widths.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub headers: &'static [&'static str],
    pub number_column: usize,
    pub sheet: &'static str,
    pub widths: &'static [u16],
}

/// The trace export: one row per movement ([`rows`]).
pub const TRACE: Layout = Layout {
    headers: &HEADERS,
    number_column: 7,
    sheet: "trace",
    widths: &[26, 10, 34, 8, 16, 18, 18, 10, 8, 34, 14, 9, 38],
};

/// The key-data-element sheet: one row per critical tracking event and batch ([`kde_rows`]).
pub const KDE: Layout = Layout {
    headers: &KDE_HEADERS,
    number_column: 6,
    sheet: "KDE",
    widths: &[22, 11, 26, 36, 40, 30, 10, 8, 40, 40, 30, 20, 40, 38],
};

/// CSV of `rows` in `layout`, in UTF-8 with a BOM so that Excel opens the Chinese headers correctly; every cell
/// neutralised.
pub fn csv_as(layout: Layout, rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(layout.headers);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| neutralise(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

/// A workbook of `rows` in `layout`: the header bold, filters on every column, the header row frozen, the
/// quantities as numbers.
pub fn xlsx_as(
    layout: Layout,
    rows: &[Vec<String>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(layout.sheet)?;
    let bold = Format::new().set_bold();
    for (c, h) in layout.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            if c == layout.number_column
                && let Ok(n) = v.parse::<f64>()
            {
                ws.write_number(i as u32 + 1, c as u16, n)?;
                continue;
            }
            ws.write_string(i as u32 + 1, c as u16, v)?;
        }
    }
    ws.autofilter(0, 0, rows.len() as u32, layout.headers.len() as u16 - 1)?;
    ws.set_freeze_panes(1, 0)?;
    for (c, w) in layout.widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w as f64)?;
    }
    wb.save_to_buffer()
}

/// Headers of the key-data-element sheet (关键数据元素表), in the terms of the US FDA's food traceability rule
/// (FSMA 204): one row per critical tracking event.
pub const KDE_HEADERS: [&str; 14] = [
    "关键追踪事件 critical tracking event",
    "日期 event date",
    "时间 event time",
    "追溯批次码 traceability lot code",
    "批次码来源 traceability lot code source",
    "产品描述 product description",
    "数量 quantity",
    "单位 unit of measure",
    "发货地点 ship-from location",
    "收货地点 ship-to location",
    "事件地点 location of the event",
    "参考单据类型 reference document type",
    "参考单据号 reference document number",
    "记录 record id",
];

/// The critical tracking event a movement is, in FSMA 204's words.
fn cte(kind: coldtrace_domain::MovementKind) -> &'static str {
    use coldtrace_domain::MovementKind as K;
    match kind {
        K::Receive => "收货 receiving",
        K::Ship => "发货 shipping",
        K::Sell => "销售 shipping (sale)",
        K::Transform => "加工 transformation",
        K::Destroy => "销毁 destruction",
        K::Seal => "封存 hold",
        K::Return => "退货 shipping (return)",
    }
}

/// A place as the sheet names it: name, then GLN or USCC, then the address or GB/T 2260 place.
fn place_of(e: &coldtrace_domain::Enterprise) -> String {
    let id = match &e.gln {
        Some(g) => format!("GLN {g}"),
        None => format!("USCC {}", e.uscc.as_str()),
    };
    let at = e
        .address
        .clone()
        .unwrap_or_else(|| e.region.place().replace(' ', ""));
    format!("{} ({id}) {at}", e.name)
}

/// The key-data-element rows of an answer: each movement with the lot code the goods carried (a GS1 code where
/// the batch has one), who assigned it, the product, quantity and unit, where the goods came from and went to,
/// and the document the record rests on (a customs declaration, an EPCIS event, or the movement record).
pub async fn kde_rows(
    store: &dyn Store,
    tracer: &Tracer,
    a: &TraceAnswer,
) -> Result<Vec<Vec<String>>, StoreError> {
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    let moves = store.movements_by_seq(tracer.movement_seqs(a)).await?;
    let mut enterprises: HashMap<uuid::Uuid, Option<coldtrace_domain::Enterprise>> = HashMap::new();
    let mut by_uscc: HashMap<String, Option<coldtrace_domain::Enterprise>> = HashMap::new();
    let mut batches: HashMap<
        uuid::Uuid,
        Option<(coldtrace_domain::Batch, Option<coldtrace_domain::Product>)>,
    > = HashMap::new();
    let mut out: Vec<(i64, Vec<String>)> = Vec::with_capacity(moves.len());
    for m in moves {
        let r = &m.record;
        if let Entry::Vacant(v) = enterprises.entry(r.holder) {
            v.insert(store.enterprise(r.holder).await?.map(|s| s.record));
        }
        let holder = enterprises[&r.holder].clone();
        let here = holder.as_ref().map(place_of).unwrap_or_default();
        let other = match &r.counterparty {
            Some(c) => {
                let registered = match &c.uscc {
                    Some(u) => {
                        let key = u.as_str().to_string();
                        if let Entry::Vacant(v) = by_uscc.entry(key.clone()) {
                            v.insert(store.enterprise_by_uscc(&key).await?.map(|s| s.record));
                        }
                        by_uscc[&key].clone()
                    }
                    None => None,
                };
                registered
                    .as_ref()
                    .map(place_of)
                    .unwrap_or_else(|| match &c.uscc {
                        Some(u) => format!("{} (USCC {})", c.name, u.as_str()),
                        None => c.name.clone(),
                    })
            }
            None => String::new(),
        };
        let (from, to) = match r.kind {
            coldtrace_domain::MovementKind::Receive => (other, here.clone()),
            coldtrace_domain::MovementKind::Ship
            | coldtrace_domain::MovementKind::Sell
            | coldtrace_domain::MovementKind::Return => (here.clone(), other),
            _ => (String::new(), String::new()),
        };
        // One row per batch the movement touches (a transformation's inputs and outputs each).
        let mut lines: Vec<(uuid::Uuid, coldtrace_domain::Quantity, &str)> = Vec::new();
        let id_of = |b: &coldtrace_domain::BatchRef| match b {
            coldtrace_domain::BatchRef::Id(id) => Some(*id),
            _ => None,
        };
        if let Some(b) = r.batch.as_ref().and_then(id_of) {
            lines.push((b, r.quantity, ""));
        }
        for l in &r.inputs {
            if let Some(b) = id_of(&l.batch) {
                lines.push((b, l.quantity, "投入 input: "));
            }
        }
        for l in &r.outputs {
            if let Some(b) = id_of(&l.batch) {
                lines.push((b, l.quantity, "产出 output: "));
            }
        }
        for (batch, quantity, side) in lines {
            if let Entry::Vacant(v) = batches.entry(batch) {
                v.insert(match store.batch(batch).await? {
                    Some(b) => {
                        let p = store.product(b.record.product).await?.map(|p| p.record);
                        Some((b.record, p))
                    }
                    None => None,
                });
            }
            let (tlc, source, product, unit, doc_type, doc_no) = match &batches[&batch] {
                Some((b, p)) => {
                    let tlc = b
                        .trace_codes
                        .iter()
                        .find(|c| c.scheme == coldtrace_domain::CodeScheme::Gs1)
                        .or(b.trace_codes.first())
                        .map(|c| c.value.clone())
                        .unwrap_or_else(|| b.batch_no.clone());
                    if let Entry::Vacant(v) = enterprises.entry(b.owner) {
                        v.insert(store.enterprise(b.owner).await?.map(|s| s.record));
                    }
                    let source = enterprises[&b.owner]
                        .as_ref()
                        .map(place_of)
                        .unwrap_or_default();
                    let product = p
                        .as_ref()
                        .map(|p| {
                            let mut d = p.name.clone();
                            if let Some(s) = &p.spec {
                                d.push_str(&format!(" {s}"));
                            }
                            if let Some(g) = &p.gtin {
                                d.push_str(&format!(" (GTIN {})", g.to_gtin14()));
                            }
                            d
                        })
                        .unwrap_or_default();
                    let (doc_type, doc_no) = match (&r.note, &b.declaration_no) {
                        (Some(n), _) if n.starts_with("EPCIS ") => (
                            "EPCIS 事件 EPCIS event".to_string(),
                            n["EPCIS ".len()..].to_string(),
                        ),
                        (_, Some(d)) if r.kind == coldtrace_domain::MovementKind::Receive => (
                            "报关单 customs declaration".to_string(),
                            d.as_str().to_string(),
                        ),
                        _ => ("出入库记录 movement record".to_string(), r.id.to_string()),
                    };
                    (
                        tlc,
                        source,
                        product,
                        b.unit.as_str().to_string(),
                        doc_type,
                        doc_no,
                    )
                }
                None => Default::default(),
            };
            out.push((
                r.at.millis(),
                vec![
                    format!("{side}{}", cte(r.kind)),
                    r.at.to_string().get(..10).unwrap_or("").to_string(),
                    r.at.to_string(),
                    tlc,
                    source,
                    product,
                    quantity.to_string(),
                    unit,
                    from.clone(),
                    to.clone(),
                    r.location.clone().unwrap_or_else(|| here.clone()),
                    doc_type,
                    doc_no,
                    r.id.to_string(),
                ],
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("+86 138"), "'+86 138");
        assert_eq!(neutralise("-1+2"), "'-1+2");
        assert_eq!(neutralise("\tcmd"), "'\tcmd");
        assert_eq!(neutralise("-12.5"), "-12.5");
        assert_eq!(neutralise("冷冻牛腩"), "冷冻牛腩");
        let out = String::from_utf8(csv_as(TRACE, &[vec!["=1+1".into(), "5".into()]])).unwrap();
        assert!(out.contains("'=1+1,5"), "{out}");
    }
}
