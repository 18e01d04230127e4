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

/// CSV in UTF-8 with a BOM, so that Excel opens the Chinese headers correctly; every cell neutralised.
pub fn csv(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(HEADERS);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| neutralise(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

/// An XLSX workbook with a header row, filters on every column and frozen panes.
pub fn xlsx(rows: &[Vec<String>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("trace")?;
    let bold = Format::new().set_bold();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            if c == 6
                && let Ok(n) = v.parse::<f64>()
            {
                ws.write_number(i as u32 + 1, c as u16, n)?;
                continue;
            }
            ws.write_string(i as u32 + 1, c as u16, v)?;
        }
    }
    ws.autofilter(0, 0, rows.len() as u32, HEADERS.len() as u16 - 1)?;
    ws.set_freeze_panes(1, 0)?;
    for (c, w) in [26, 10, 34, 8, 16, 18, 10, 8, 34, 14, 9, 38]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w as f64)?;
    }
    wb.save_to_buffer()
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
        let out = String::from_utf8(csv(&[vec!["=1+1".into(), "5".into()]])).unwrap();
        assert!(out.contains("'=1+1,5"), "{out}");
    }
}
