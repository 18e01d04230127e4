//! Temperature logs (温度记录) as cold stores and reefer controllers export them: one row per reading, Chinese or
//! English headers, CSV (UTF-8 or GBK) or XLSX. The format is documented in `docs/epcis.md`.

use coldtrace_domain::sensor::ReadingDraft;

use crate::aliased::{Columns, Layout, header, item_index};
use crate::{RowError, Table};

/// The columns of a temperature log: field, then the headers accepted.
const COLUMNS: &Columns = &[
    ("device", &["设备", "设备编号", "探头", "记录仪", "device"]),
    ("at", &["时间", "记录时间", "采集时间", "at", "time"]),
    (
        "temperature_c",
        &[
            "温度",
            "温度(℃)",
            "温度（℃）",
            "temperature",
            "temperature_c",
        ],
    ),
    ("trace_code", &["追溯码", "trace_code"]),
    ("container_no", &["集装箱号", "箱号", "container_no"]),
    ("location", &["存放位置", "库位", "冷库", "location"]),
];

/// Reads a temperature log into drafts, with each draft's file row; a temperature that is not a number is that
/// cell's error.
pub fn readings(table: &Table) -> Result<(Vec<ReadingDraft>, Vec<usize>), Vec<RowError>> {
    let layout = Layout::of(&table.headers, COLUMNS, &["device", "at", "temperature_c"])?;
    let mut drafts = Vec::with_capacity(table.rows.len());
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut errors = Vec::new();
    for (row, cells) in &table.rows {
        let cell = |f: &str| layout.cell(cells, f);
        let temperature_c = match cell("temperature_c") {
            Some(t) => match t
                .replace(['−', '－'], "-")
                .trim_end_matches(['℃', 'C', '°'])
                .trim()
                .parse::<f64>()
            {
                Ok(v) => Some(v),
                Err(_) => {
                    errors.push(RowError {
                        row: *row,
                        column: header(&table.headers, COLUMNS, "temperature_c"),
                        reason: format!("{t:?} is not a temperature in °C"),
                    });
                    continue;
                }
            },
            None => None,
        };
        drafts.push(ReadingDraft {
            device: cell("device"),
            at: cell("at"),
            temperature_c,
            trace_code: cell("trace_code"),
            container_no: cell("container_no"),
            location: cell("location"),
        });
        rows.push(*row);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((drafts, rows))
}

/// The file row and column of an error the domain's parser named by path (`readings[3].at`).
pub fn locate(table: &Table, rows: &[usize], field: &str) -> (usize, Option<String>) {
    let row = item_index(field)
        .and_then(|i| rows.get(i).copied())
        .unwrap_or(0);
    let leaf = field.rsplit('.').next().unwrap_or(field);
    (row, header(&table.headers, COLUMNS, leaf))
}
