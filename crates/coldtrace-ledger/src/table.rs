//! Reading a ledger file into a table of text cells: CSV (UTF-8 or GBK) or XLSX.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

/// A ledger file's format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// Guesses from a file name, or from the first bytes (XLSX is a ZIP archive).
    pub fn detect(name: Option<&str>, bytes: &[u8]) -> Format {
        match name.map(|n| n.to_ascii_lowercase()) {
            Some(n) if n.ends_with(".xlsx") => Format::Xlsx,
            Some(n) if n.ends_with(".csv") || n.ends_with(".txt") => Format::Csv,
            _ if bytes.starts_with(b"PK\x03\x04") => Format::Xlsx,
            _ => Format::Csv,
        }
    }
}

/// A table: the header row and the data rows, each cell as text. Row numbers are the file's (header = 1).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    /// `(file row number, cells)`; blank rows are skipped.
    pub rows: Vec<(usize, Vec<String>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("the file is empty")]
    Empty,
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("XLSX: {0}")]
    Xlsx(String),
}

/// Decodes text: UTF-8 (with or without BOM) or, failing that, GBK (GB 18030), as Chinese Excel saves CSV.
pub fn decode_text(bytes: &[u8]) -> (String, &'static str) {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(b) {
        Ok(s) => (s.to_string(), "UTF-8"),
        Err(_) => {
            let (s, _, _) = encoding_rs::GB18030.decode(b);
            (s.into_owned(), "GBK")
        }
    }
}

pub fn read(bytes: &[u8], format: Format) -> Result<(Table, &'static str), TableError> {
    match format {
        Format::Csv => {
            let (text, enc) = decode_text(bytes);
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut t = Table::default();
            // Line counting resumes where the previous record left off (linear in the file).
            let mut cursor = (0usize, 1usize);
            for (i, rec) in r.records().enumerate() {
                let rec = rec?;
                // The file's own line number: the CSV reader skips blank lines.
                let line = match rec.position() {
                    Some(p) => {
                        cursor = line_of(text.as_bytes(), p.byte() as usize, cursor);
                        cursor.1
                    }
                    None => i + 1,
                };
                let cells: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
                if i == 0 {
                    t.headers = cells;
                } else if cells.iter().any(|c| !c.is_empty()) {
                    t.rows.push((line, cells));
                }
            }
            if t.headers.is_empty() {
                return Err(TableError::Empty);
            }
            Ok((t, enc))
        }
        Format::Xlsx => {
            let mut wb: Xlsx<_> =
                Xlsx::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
            let range = wb
                .worksheet_range_at(0)
                .ok_or_else(|| TableError::Xlsx("the workbook has no sheet".into()))?
                .map_err(|e| TableError::Xlsx(e.to_string()))?;
            let mut t = Table::default();
            let start_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
            for (i, row) in range.rows().enumerate() {
                let cells: Vec<String> = row.iter().map(cell_text).collect();
                if i == 0 {
                    t.headers = cells;
                } else if cells.iter().any(|c| !c.is_empty()) {
                    t.rows.push((start_row + i + 1, cells));
                }
            }
            if t.headers.is_empty() {
                return Err(TableError::Empty);
            }
            Ok((t, "XLSX"))
        }
    }
}

/// The 1-based line where the record starting at `byte` begins (the reader reports the offset before any
/// blank lines it skipped), counting on from `(from_byte, from_line)`; returns the new cursor.
fn line_of(text: &[u8], byte: usize, (from_byte, from_line): (usize, usize)) -> (usize, usize) {
    let mut start = byte.min(text.len());
    while start < text.len() && matches!(text[start], b'\n' | b'\r') {
        start += 1;
    }
    let from = from_byte.min(start);
    (
        start,
        from_line + text[from..start].iter().filter(|c| **c == b'\n').count(),
    )
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_serial_to_text(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Excel's serial date (days since 1899-12-30, fraction = time of day) as `YYYY-MM-DD HH:MM:SS`.
fn excel_serial_to_text(serial: f64) -> String {
    let secs = (serial * 86_400.0).round() as i64;
    let epoch = jiff::civil::date(1899, 12, 30).at(0, 0, 0, 0);
    match epoch.checked_add(jiff::SignedDuration::from_secs(secs)) {
        Ok(dt) => dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => serial.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials() {
        assert_eq!(excel_serial_to_text(45_000.5), "2023-03-15 12:00:00");
        assert_eq!(excel_serial_to_text(1.0), "1899-12-31 00:00:00");
    }

    #[test]
    fn gbk_and_utf8() {
        let (gbk, _, _) = encoding_rs::GBK.encode("日期,品名\n2026-01-01,冻牛肉\n");
        let (t, enc) = read(&gbk, Format::Csv).unwrap();
        assert_eq!(enc, "GBK");
        assert_eq!(t.headers, vec!["日期", "品名"]);
        assert_eq!(t.rows[0].1[1], "冻牛肉");
        let (t, enc) = read(
            "\u{feff}日期,品名\n\n2026-01-01,冻牛肉\n".as_bytes(),
            Format::Csv,
        )
        .unwrap();
        assert_eq!(enc, "UTF-8");
        assert_eq!(t.headers[0], "日期");
        assert_eq!(t.rows[0].0, 3, "file row numbers survive blank rows");
    }
}
