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

/// Bounds on a ledger file, checked while it is read so that no file can take more memory or time than these
/// allow. A ledger of a busy cold store has a few thousand rows a month and twenty columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file as uploaded.
    pub max_bytes: usize,
    /// Data rows (the header not counted), and the highest row number a cell may sit on.
    pub max_rows: usize,
    /// Columns, and the highest column a cell may sit in.
    pub max_columns: usize,
    /// Characters in one cell.
    pub max_cell_chars: usize,
    /// An XLSX workbook unpacked (every part of the archive together).
    pub max_unpacked_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_rows: 50_000,
            max_columns: 200,
            max_cell_chars: 4_096,
            max_unpacked_bytes: 128 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("the file is empty")]
    Empty,
    /// The file exceeds one of the [`Limits`]: `limit` names it, `detail` says by how much.
    #[error("{detail}")]
    TooLarge { limit: &'static str, detail: String },
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

fn too_large(limit: &'static str, detail: String) -> TableError {
    TableError::TooLarge { limit, detail }
}

/// Reads a ledger file within `limits`; the first limit exceeded stops the reading.
pub fn read(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<(Table, &'static str), TableError> {
    if bytes.len() > limits.max_bytes {
        return Err(too_large(
            "max_bytes",
            format!(
                "the file has {} bytes; at most {} are accepted",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    match format {
        Format::Csv => read_csv(bytes, limits),
        Format::Xlsx => read_xlsx(bytes, limits),
    }
}

fn check_row(cells: &[String], line: usize, limits: &Limits) -> Result<(), TableError> {
    if cells.len() > limits.max_columns {
        return Err(too_large(
            "max_columns",
            format!(
                "row {line} has {} columns; at most {} are accepted",
                cells.len(),
                limits.max_columns
            ),
        ));
    }
    if let Some(c) = cells
        .iter()
        .position(|c| c.chars().count() > limits.max_cell_chars)
    {
        return Err(too_large(
            "max_cell_chars",
            format!(
                "row {line}, column {} has more than {} characters",
                c + 1,
                limits.max_cell_chars
            ),
        ));
    }
    Ok(())
}

fn too_many_rows(limits: &Limits) -> TableError {
    too_large(
        "max_rows",
        format!("the file has more than {} data rows", limits.max_rows),
    )
}

fn read_csv(bytes: &[u8], limits: &Limits) -> Result<(Table, &'static str), TableError> {
    let (text, enc) = decode_text(bytes);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut t = Table::default();
    // Line counting resumes where the previous record left off (linear in the file).
    let mut cursor = (0usize, 1usize);
    let mut rec = csv::StringRecord::new();
    let mut i = 0usize;
    while r.read_record(&mut rec)? {
        // The file's own line number: the CSV reader skips blank lines.
        let line = match rec.position() {
            Some(p) => {
                cursor = line_of(text.as_bytes(), p.byte() as usize, cursor);
                cursor.1
            }
            None => i + 1,
        };
        if rec.len() > limits.max_columns {
            return Err(too_large(
                "max_columns",
                format!(
                    "row {line} has {} columns; at most {} are accepted",
                    rec.len(),
                    limits.max_columns
                ),
            ));
        }
        let cells: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
        check_row(&cells, line, limits)?;
        if i == 0 {
            t.headers = cells;
        } else if cells.iter().any(|c| !c.is_empty()) {
            if t.rows.len() == limits.max_rows {
                return Err(too_many_rows(limits));
            }
            t.rows.push((line, cells));
        }
        i += 1;
    }
    if t.headers.is_empty() {
        return Err(TableError::Empty);
    }
    Ok((t, enc))
}

/// Unpacks every part of the archive into nothing, counting, so that a compressed bomb is refused before the
/// workbook reader holds any part in memory.
fn check_unpacked(bytes: &[u8], limits: &Limits) -> Result<(), TableError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let f = zip
            .by_index(i)
            .map_err(|e| TableError::Xlsx(e.to_string()))?;
        let left = limits.max_unpacked_bytes - total;
        let n = std::io::copy(&mut std::io::Read::take(f, left + 1), &mut std::io::sink())
            .map_err(|e| TableError::Xlsx(e.to_string()))?;
        total += n;
        if total > limits.max_unpacked_bytes {
            return Err(too_large(
                "max_unpacked_bytes",
                format!(
                    "the workbook unpacks to more than {} bytes",
                    limits.max_unpacked_bytes
                ),
            ));
        }
    }
    Ok(())
}

fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<(Table, &'static str), TableError> {
    check_unpacked(bytes, limits)?;
    // The workbook reader is not ours: a panic on a hostile sheet (an overflowing cell reference in a debug
    // build) refuses the file instead of unwinding into the caller.
    std::panic::catch_unwind(|| read_sheet(bytes, limits))
        .unwrap_or_else(|_| Err(TableError::Xlsx("the workbook could not be read".into())))
}

fn read_sheet(bytes: &[u8], limits: &Limits) -> Result<(Table, &'static str), TableError> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| TableError::Xlsx("the workbook has no sheet".into()))?;
    // Cells one by one, by position: a sheet whose declared extent is huge costs only the cells it holds.
    let mut cells = wb
        .worksheet_cells_reader(&sheet)
        .map_err(|e| TableError::Xlsx(e.to_string()))?;
    let mut by_row: std::collections::BTreeMap<u32, Vec<(u32, String)>> = Default::default();
    // The first and last rows holding a value so far: a sheet may list its rows in any order.
    let mut rows: Option<(u32, u32)> = None;
    let mut count = 0usize;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| TableError::Xlsx(e.to_string()))?
    {
        let (r, c) = cell.get_position();
        if c as usize >= limits.max_columns {
            return Err(too_large(
                "max_columns",
                format!(
                    "row {} has a cell in column {}; at most {} columns are accepted",
                    r + 1,
                    c + 1,
                    limits.max_columns
                ),
            ));
        }
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        let (top, bottom) = rows.map_or((r, r), |(t, b)| (t.min(r), b.max(r)));
        if (bottom - top) as usize > limits.max_rows {
            return Err(too_many_rows(limits));
        }
        rows = Some((top, bottom));
        if text.chars().count() > limits.max_cell_chars {
            return Err(too_large(
                "max_cell_chars",
                format!(
                    "row {}, column {} has more than {} characters",
                    r + 1,
                    c + 1,
                    limits.max_cell_chars
                ),
            ));
        }
        count += 1;
        if count > limits.max_rows.saturating_mul(limits.max_columns) {
            return Err(too_many_rows(limits));
        }
        by_row.entry(r).or_default().push((c, text));
    }
    let width = by_row
        .values()
        .flat_map(|cs| cs.iter().map(|(c, _)| *c as usize + 1))
        .max()
        .unwrap_or(0);
    let mut t = Table::default();
    for (i, (r, cs)) in by_row.into_iter().enumerate() {
        let mut row = vec![String::new(); width];
        for (c, text) in cs {
            row[c as usize] = text;
        }
        if i == 0 {
            t.headers = row;
        } else {
            t.rows.push((r as usize + 1, row));
        }
    }
    if t.headers.is_empty() {
        return Err(TableError::Empty);
    }
    Ok((t, "XLSX"))
}

/// The 1-based line where the record starting at `byte` begins (the reader reports the offset before any
/// blank lines it skipped), counting on from `(from_byte, from_line)`; returns the new cursor. A line ends with
/// LF, CRLF or a lone CR (as Excel for Mac writes CSV).
fn line_of(text: &[u8], byte: usize, (from_byte, from_line): (usize, usize)) -> (usize, usize) {
    let mut start = byte.min(text.len());
    while start < text.len() && matches!(text[start], b'\n' | b'\r') {
        start += 1;
    }
    let from = from_byte.min(start);
    let ends = (from..start)
        .filter(|&i| text[i] == b'\n' || text[i] == b'\r' && text.get(i + 1) != Some(&b'\n'))
        .count();
    (start, from_line + ends)
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
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
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
        let (t, enc) = read(&gbk, Format::Csv, &Limits::default()).unwrap();
        assert_eq!(enc, "GBK");
        assert_eq!(t.headers, vec!["日期", "品名"]);
        assert_eq!(t.rows[0].1[1], "冻牛肉");
        let (t, enc) = read(
            "\u{feff}日期,品名\n\n2026-01-01,冻牛肉\n".as_bytes(),
            Format::Csv,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(enc, "UTF-8");
        assert_eq!(t.headers[0], "日期");
        assert_eq!(t.rows[0].0, 3, "file row numbers survive blank rows");
    }
}
