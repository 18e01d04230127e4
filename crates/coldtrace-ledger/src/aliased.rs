//! Tables whose columns are known by several headers (`报关单号` or `declaration_no`): which column holds each
//! field, which headers are not part of the format, which required fields have no column, and a field's header
//! for an error. The customs feed and the census read their files through it.

use std::collections::HashMap;

use crate::RowError;

/// Field names, each with the headers accepted for it (the first is the one the format documents).
pub type Columns = [(&'static str, &'static [&'static str])];

/// Where each field's column is, in a table's headers.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    at: HashMap<&'static str, usize>,
    /// Headers that are not part of the format (kept out, listed so typos are seen).
    pub ignored: Vec<String>,
}

impl Layout {
    /// Maps `headers`; a required field without a column is an error of row 1 naming the documented header.
    pub fn of(
        headers: &[String],
        columns: &Columns,
        required: &[&str],
    ) -> Result<Self, Vec<RowError>> {
        let mut layout = Layout::default();
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim();
            match columns
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
            {
                Some((field, _)) => {
                    layout.at.insert(field, i);
                }
                None if h.is_empty() => {}
                None => layout.ignored.push(h.to_string()),
            }
        }
        let missing: Vec<RowError> = required
            .iter()
            .filter(|f| !layout.at.contains_key(*f))
            .map(|f| RowError {
                row: 1,
                column: header(&[], columns, f),
                reason: "the file has no such column".into(),
            })
            .collect();
        if missing.is_empty() {
            Ok(layout)
        } else {
            Err(missing)
        }
    }

    /// The column index of a field.
    pub fn index(&self, field: &str) -> Option<usize> {
        self.at.get(field).copied()
    }

    /// A field's cell in a row, trimmed; `None` when empty or absent.
    pub fn cell(&self, cells: &[String], field: &str) -> Option<String> {
        self.index(field)
            .and_then(|i| cells.get(i))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// A field's header as the file writes it, else as the format documents it.
pub fn header(headers: &[String], columns: &Columns, field: &str) -> Option<String> {
    let names = columns.iter().find(|(f, _)| *f == field)?.1;
    headers
        .iter()
        .find(|h| names.iter().any(|n| n.eq_ignore_ascii_case(h.trim())))
        .cloned()
        .or_else(|| Some(names[0].to_string()))
}

/// The index of the first `[n]` in a field path (`entries[3].region` → 3).
pub fn item_index(field: &str) -> Option<usize> {
    field.split_once('[')?.1.split(']').next()?.parse().ok()
}
