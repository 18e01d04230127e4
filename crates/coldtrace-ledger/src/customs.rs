//! Customs feed files (海关数据文件): one row per goods line of an import declaration, the declaration's own
//! columns repeated on each of its lines, in CSV (UTF-8 or GBK) or XLSX, Chinese headers or English ones. Lists
//! in a cell (certificates, containers, seals) are separated by `;`, `,`, `、` or spaces. The format is
//! documented in `docs/regulation.md`.

use std::collections::HashMap;

use coldtrace_domain::Quantity;
use coldtrace_domain::customs::{DeclarationDraft, DeclarationLineDraft};

use crate::aliased::{Columns, Layout, header};
use crate::{RowError, Table};

/// The columns of a customs feed: field name, then the headers accepted for it.
const COLUMNS: &Columns = &[
    (
        "declaration_no",
        &["报关单号", "报关单编号", "declaration_no"],
    ),
    ("port", &["入境口岸", "口岸", "port"]),
    ("declared_on", &["申报日期", "declared_on"]),
    (
        "consignee_uscc",
        &["收货人统一社会信用代码", "收货人代码", "consignee_uscc"],
    ),
    (
        "consignee_name",
        &["收货人名称", "收货人", "consignee_name"],
    ),
    (
        "certificate_nos",
        &["检验检疫证明编号", "证明编号", "certificate_nos"],
    ),
    ("hs_code", &["商品编码", "hs_code"]),
    ("product", &["商品名称", "品名", "product"]),
    (
        "origin_country",
        &["原产国", "原产国(地区)", "origin_country"],
    ),
    (
        "establishment_no",
        &["境外生产企业注册号", "注册号", "establishment_no"],
    ),
    ("quantity", &["数量", "quantity"]),
    ("unit", &["单位", "unit"]),
    ("net_weight_kg", &["净重", "净重(千克)", "net_weight_kg"]),
    ("containers", &["集装箱号", "containers"]),
    ("seals", &["封志号", "seals"]),
];

const REQUIRED: &[&str] = &[
    "declaration_no",
    "declared_on",
    "consignee_uscc",
    "hs_code",
    "product",
    "origin_country",
    "quantity",
    "unit",
    "net_weight_kg",
];

/// Declarations read from a feed file, each with the file rows of its lines (for errors found later).
#[derive(Debug, Clone, Default)]
pub struct CustomsFile {
    pub declarations: Vec<DeclarationDraft>,
    /// For each declaration, the file row of each of its lines.
    pub rows: Vec<Vec<usize>>,
    /// Headers that are not part of the format.
    pub ignored_columns: Vec<String>,
}

fn list(cell: &str) -> Vec<String> {
    cell.split([';', '；', ',', '，', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Groups a feed table's rows into declarations. Errors name the row and the column's header; the declaration
/// columns of a declaration's later lines must repeat its first line's.
pub fn declarations(table: &Table) -> Result<CustomsFile, Vec<RowError>> {
    let layout = Layout::of(&table.headers, COLUMNS, REQUIRED)?;
    let mut errors = Vec::new();
    let mut out = CustomsFile {
        ignored_columns: layout.ignored.clone(),
        ..Default::default()
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        let cell = |field: &str| layout.cell(cells, field);
        let quantity = |field: &str, errors: &mut Vec<RowError>| -> Option<Quantity> {
            let v = cell(field)?;
            match Quantity::parse(&v.replace(',', "")) {
                Ok(q) => Some(q),
                Err(e) => {
                    errors.push(RowError {
                        row: *row,
                        column: layout
                            .index(field)
                            .and_then(|i| table.headers.get(i))
                            .cloned(),
                        reason: e.to_string(),
                    });
                    None
                }
            }
        };
        let line = DeclarationLineDraft {
            hs_code: cell("hs_code"),
            product: cell("product"),
            origin_country: cell("origin_country"),
            establishment_no: cell("establishment_no"),
            quantity: quantity("quantity", &mut errors),
            unit: cell("unit"),
            net_weight_kg: quantity("net_weight_kg", &mut errors),
            containers: cell("containers").map(|c| list(&c)).unwrap_or_default(),
            seals: cell("seals").map(|c| list(&c)).unwrap_or_default(),
        };
        let head = DeclarationDraft {
            declaration_no: cell("declaration_no"),
            port: cell("port"),
            declared_on: cell("declared_on"),
            consignee_uscc: cell("consignee_uscc"),
            consignee_name: cell("consignee_name"),
            certificate_nos: cell("certificate_nos")
                .map(|c| list(&c))
                .unwrap_or_default(),
            lines: vec![],
        };
        let key = head.declaration_no.clone().unwrap_or_default();
        match index.get(&key) {
            Some(&i) => {
                let d = &mut out.declarations[i];
                for (field, a, b) in [
                    ("declared_on", &d.declared_on, &head.declared_on),
                    ("consignee_uscc", &d.consignee_uscc, &head.consignee_uscc),
                ] {
                    if a != b {
                        errors.push(RowError {
                            row: *row,
                            column: layout
                                .index(field)
                                .and_then(|i| table.headers.get(i))
                                .cloned(),
                            reason: format!(
                                "differs from the declaration's first line (row {}): {:?}",
                                out.rows[i][0],
                                a.as_deref().unwrap_or("")
                            ),
                        });
                    }
                }
                for c in head.certificate_nos {
                    if !d.certificate_nos.contains(&c) {
                        d.certificate_nos.push(c);
                    }
                }
                d.lines.push(line);
                out.rows[i].push(*row);
            }
            None => {
                index.insert(key, out.declarations.len());
                out.declarations.push(DeclarationDraft {
                    lines: vec![line],
                    ..head
                });
                out.rows.push(vec![*row]);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The file row and column of a field path of `declarations[i]…` (as the domain's parser names it), for
/// errors found when the drafts are parsed.
pub fn locate(file: &CustomsFile, table: &Table, field: &str) -> (usize, Option<String>) {
    let rest = field.strip_prefix("declarations[").unwrap_or(field);
    let (i, rest) = rest.split_once(']').unwrap_or(("", rest));
    let Ok(i) = i.parse::<usize>() else {
        return (0, None);
    };
    let rows = file.rows.get(i).cloned().unwrap_or_default();
    let rest = rest.trim_start_matches('.');
    let (row, leaf) = match rest.strip_prefix("lines[") {
        Some(l) => {
            let (j, leaf) = l.split_once(']').unwrap_or(("0", l));
            let j: usize = j.parse().unwrap_or(0);
            (
                rows.get(j).copied().unwrap_or(0),
                leaf.trim_start_matches('.'),
            )
        }
        None => (rows.first().copied().unwrap_or(0), rest),
    };
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    (row, header(&table.headers, COLUMNS, leaf))
}
