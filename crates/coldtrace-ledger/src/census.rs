//! Census files (冷链主体底数): one row per business, Chinese or English headers, in CSV (UTF-8 or GBK) or XLSX.
//! The format is documented in `docs/regulation.md`.

use coldtrace_domain::census::CensusEntryDraft;

use crate::aliased::{Columns, Layout, header, item_index};
use crate::{RowError, Table};

/// The columns of a census file: field, then the headers accepted.
const COLUMNS: &Columns = &[
    ("uscc", &["统一社会信用代码", "信用代码", "uscc"]),
    ("name", &["名称", "企业名称", "主体名称", "name"]),
    ("kind", &["类型", "主体类型", "kind"]),
    ("region", &["行政区划", "区划代码", "region"]),
    ("address", &["地址", "住所", "address"]),
    ("contact_name", &["联系人", "contact_name"]),
    ("contact_phone", &["联系电话", "电话", "contact_phone"]),
];

/// Reads a census table into drafts, with each draft's file row; missing columns are row 1's errors.
pub fn entries(table: &Table) -> Result<(Vec<CensusEntryDraft>, Vec<usize>), Vec<RowError>> {
    let layout = Layout::of(&table.headers, COLUMNS, &["name", "kind", "region"])?;
    let mut drafts = Vec::with_capacity(table.rows.len());
    let mut rows = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let cell = |f: &str| layout.cell(cells, f);
        drafts.push(CensusEntryDraft {
            uscc: cell("uscc"),
            name: cell("name"),
            kind: cell("kind"),
            region: cell("region"),
            address: cell("address"),
            contact_name: cell("contact_name"),
            contact_phone: cell("contact_phone"),
        });
        rows.push(*row);
    }
    Ok((drafts, rows))
}

/// The file row and column of an error the domain's parser named by path (`entries[3].region`).
pub fn locate(table: &Table, rows: &[usize], field: &str) -> (usize, Option<String>) {
    let row = item_index(field)
        .and_then(|i| rows.get(i).copied())
        .unwrap_or(0);
    let leaf = field.rsplit('.').next().unwrap_or(field);
    (row, header(&table.headers, COLUMNS, leaf))
}
