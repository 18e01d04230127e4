//! Fuzz and property targets for ledger files: [`read_file`] on arbitrary bytes as CSV and as XLSX, on CSV tables
//! with real and junk headers and random cells, and on workbooks with random sheets; and [`import`] (planning,
//! validation and storing, against a SQLite store) on random ledgers.
//!
//! Properties: nothing panics; a file is read within small [`Limits`] or refused with [`TableError::TooLarge`]
//! naming the limit, and refused only when it does exceed one; a CSV or workbook within the limits reads back
//! the cells that were written; an import accounts for every row and reports each problem at a data row of the
//! file and a column the file has (or, for a problem with the whole file, at row 0).
//!
//! Each target runs `COLDTRACE_FUZZ_CASES` generated files (256 by default). Run longer with
//!
//! ```sh
//! COLDTRACE_FUZZ_CASES=100000 cargo test -p coldtrace-ledger --test it fuzz
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use coldtrace_ledger::columns::COLUMNS;
use coldtrace_ledger::{
    Format, ImportOptions, ImportReport, Limits, ReadFile, TableError, import, read_file,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

/// Generated inputs per target: `COLDTRACE_FUZZ_CASES`, 256 when unset.
fn cases() -> u32 {
    std::env::var("COLDTRACE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn fuzz<S>(strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        source_file: Some(file!()),
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// Limits small enough that generated files cross each of them.
const SMALL: Limits = Limits {
    max_bytes: 8 * 1024,
    max_rows: 20,
    max_columns: 12,
    max_cell_chars: 64,
    max_unpacked_bytes: 32 * 1024,
};

const LIMIT_NAMES: [&str; 5] = [
    "max_bytes",
    "max_rows",
    "max_columns",
    "max_cell_chars",
    "max_unpacked_bytes",
];

fn hostile_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "\\PC{0,16}",
        2 => vec(any::<char>(), 0..16).prop_map(|v| v.into_iter().collect()),
        2 => "[\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{200b}\\u{feff}\\u{3000} 0-9a-zé牛\",;\\r\\n]{0,16}",
        1 => (select(vec!["9", "牛", "a", " ", "\""]), 50usize..80).prop_map(|(c, n)| c.repeat(n)),
    ]
    .boxed()
}

/// Checks what was read against the limits: every bound held, rows in file order after the header.
fn check_within(
    bytes: &[u8],
    limits: &Limits,
    read: &Result<ReadFile, TableError>,
) -> TestCaseResult {
    match read {
        Ok(f) => {
            prop_assert!(bytes.len() <= limits.max_bytes);
            let t = &f.table;
            prop_assert!(!t.headers.is_empty());
            prop_assert!(t.headers.len() <= limits.max_columns);
            prop_assert!(
                t.rows.len() <= limits.max_rows,
                "{} data rows read; at most {} allowed",
                t.rows.len(),
                limits.max_rows
            );
            let mut last = 1;
            for (n, cells) in &t.rows {
                prop_assert!(*n > last, "row {} after row {}", n, last);
                last = *n;
                prop_assert!(cells.len() <= limits.max_columns);
                prop_assert!(cells.iter().any(|c| !c.is_empty()), "blank row {} kept", n);
            }
            for c in t.headers.iter().chain(t.rows.iter().flat_map(|(_, r)| r)) {
                prop_assert!(c.chars().count() <= limits.max_cell_chars);
                prop_assert_eq!(c.trim(), c.as_str());
            }
            prop_assert!(["UTF-8", "GBK", "XLSX"].contains(&f.encoding));
            prop_assert_eq!(f.hash.len(), 64);
            prop_assert!(f.hash.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        Err(TableError::TooLarge { limit, detail }) => {
            prop_assert!(LIMIT_NAMES.contains(limit), "unknown limit {}", limit);
            prop_assert!(!detail.is_empty());
            if bytes.len() > limits.max_bytes {
                prop_assert_eq!(*limit, "max_bytes");
            }
        }
        Err(e) => {
            prop_assert!(bytes.len() <= limits.max_bytes, "{e} for an over-long file");
            prop_assert!(!e.to_string().is_empty());
        }
    }
    Ok(())
}

/// Arbitrary bytes, some beyond the size limit, as CSV and as XLSX.
#[test]
fn ledger_files_of_arbitrary_bytes() {
    let bytes = prop_oneof![
        4 => vec(any::<u8>(), 0..2_048),
        1 => vec(any::<u8>(), 8_000..8_400),
        1 => (vec(any::<u8>(), 0..256)).prop_map(|b| [b"PK\x03\x04".as_slice(), &b].concat()),
    ];
    fuzz(bytes, |bytes| {
        for format in [Format::Csv, Format::Xlsx] {
            check_within(&bytes, &SMALL, &read_file(&bytes, format, &SMALL))?;
        }
        let _ = Format::detect(None, &bytes);
        Ok(())
    });
}

/// Every header the ledger format knows, canonical and alias, with the spellings users give them.
fn header() -> BoxedStrategy<String> {
    let known: Vec<&'static str> = COLUMNS
        .iter()
        .flat_map(|(_, zh, aliases)| std::iter::once(*zh).chain(aliases.iter().copied()))
        .collect();
    prop_oneof![
        6 => (select(known), 0u8..5).prop_map(|(h, how)| match how {
            0 => format!(" {h} "),
            1 => h.to_uppercase(),
            2 => format!("{h}*"),
            3 => h.replace('(', "（").replace(')', "）"),
            _ => h.to_string(),
        }),
        1 => hostile_text(),
    ]
    .boxed()
}

/// A CSV file as written: records (header first), how it is encoded and laid out.
#[derive(Debug, Clone)]
struct CsvFile {
    records: Vec<Vec<String>>,
    bom: bool,
    gbk: bool,
    crlf: bool,
    blank_lines: Vec<usize>,
}

impl CsvFile {
    fn bytes(&self) -> Vec<u8> {
        let mut text = Vec::new();
        for (i, r) in self.records.iter().enumerate() {
            if self.blank_lines.contains(&i) && i > 0 {
                text.push(b'\n');
            }
            let mut w = csv::WriterBuilder::new()
                .terminator(if self.crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .from_writer(Vec::new());
            w.write_record(r).expect("write");
            text.extend(w.into_inner().expect("written"));
        }
        let text = if self.gbk {
            let s = String::from_utf8(text).expect("UTF-8");
            encoding_rs::GBK.encode(&s).0.into_owned()
        } else {
            text
        };
        if self.bom {
            [b"\xEF\xBB\xBF".as_slice(), &text].concat()
        } else {
            text
        }
    }

    /// Whether GBK encoding keeps the text: every character encodable, and the bytes not readable as other
    /// UTF-8 text.
    fn gbk_faithful(&self) -> bool {
        let text: String = self.records.iter().flatten().cloned().collect();
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
        !unmappable && (std::str::from_utf8(&gbk).is_err() || gbk.as_ref() == text.as_bytes())
    }
}

fn cell() -> BoxedStrategy<String> {
    prop_oneof![
        6 => "[A-Za-z0-9冻牛腩\\-:/ ]{0,12}",
        2 => hostile_text(),
        1 => Just(String::new()),
    ]
    .boxed()
}

fn csv_file() -> BoxedStrategy<CsvFile> {
    (
        vec(header(), 1..15),
        vec(vec(cell(), 1..15), 0..26),
        any::<bool>(),
        prop::bool::weighted(0.2),
        any::<bool>(),
        vec(0usize..26, 0..3),
    )
        .prop_map(|(headers, rows, bom, gbk, crlf, blank_lines)| {
            let mut records = vec![headers];
            records.extend(rows);
            CsvFile {
                records,
                bom,
                gbk,
                crlf,
                blank_lines,
            }
        })
        .boxed()
}

/// CSV ledgers with real and junk headers, random cells, quoting, a BOM, GBK, CRLF and blank lines: each is read
/// back cell for cell when within the limits, and refused naming a limit only when it exceeds one.
#[test]
fn ledger_csv_tables() {
    fuzz(csv_file(), |f| {
        let bytes = f.bytes();
        let read = read_file(&bytes, Format::Csv, &SMALL);
        check_within(&bytes, &SMALL, &read)?;
        // A file that starts with U+FEFF cannot be told from one with a byte order mark.
        if f.gbk && !f.gbk_faithful() || f.records[0][0].starts_with('\u{feff}') {
            return Ok(());
        }
        let trimmed = |r: &Vec<String>| r.iter().map(|c| c.trim().to_string()).collect::<Vec<_>>();
        let header = trimmed(&f.records[0]);
        let rows: Vec<Vec<String>> = f.records[1..]
            .iter()
            .map(trimmed)
            .filter(|r| r.iter().any(|c| !c.is_empty()))
            .collect();
        let exceeds = bytes.len() > SMALL.max_bytes
            || rows.len() > SMALL.max_rows
            || f.records.iter().any(|r| r.len() > SMALL.max_columns)
            || f.records
                .iter()
                .flat_map(trimmed)
                .any(|c| c.chars().count() > SMALL.max_cell_chars);
        match read {
            Ok(file) => {
                prop_assert!(!exceeds, "a file past the limits was read");
                prop_assert_eq!(&file.table.headers, &header);
                let got: Vec<Vec<String>> = file.table.rows.into_iter().map(|(_, r)| r).collect();
                prop_assert_eq!(got, rows);
            }
            Err(TableError::TooLarge { limit, .. }) => {
                prop_assert!(exceeds, "refused for {} within the limits", limit);
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e} for a well-formed CSV"))),
        }
        Ok(())
    });
}

/// A cell of a generated sheet: position, how it is written and its text.
#[derive(Debug, Clone)]
struct Cell {
    row: u32,
    col: u32,
    kind: CellKind,
    text: String,
}

#[derive(Debug, Clone)]
enum CellKind {
    Inline,
    Shared(u32),
    Number,
    Bool,
    Error,
    Date,
    NoRef,
    BadRef(String),
}

fn column_letters(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("letters")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A workbook as written: its cells in document order, shared strings, and junk spliced into the sheet.
#[derive(Debug, Clone)]
struct Workbook {
    cells: Vec<Cell>,
    shared: Vec<String>,
    junk: Option<(usize, String)>,
    deflate: bool,
}

impl Workbook {
    fn sheet_xml(&self) -> String {
        let mut rows: Vec<(u32, Vec<&Cell>)> = Vec::new();
        for c in &self.cells {
            match rows.last_mut() {
                Some((r, cs)) if *r == c.row => cs.push(c),
                _ => rows.push((c.row, vec![c])),
            }
        }
        let mut x = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, cs) in rows {
            x.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for c in cs {
                let at = format!("{}{}", column_letters(c.col), c.row + 1);
                let t = xml_escape(&c.text);
                x.push_str(&match &c.kind {
                    CellKind::Inline => {
                        format!(r#"<c r="{at}" t="inlineStr"><is><t>{t}</t></is></c>"#)
                    }
                    CellKind::Shared(i) => format!(r#"<c r="{at}" t="s"><v>{i}</v></c>"#),
                    CellKind::Number => format!(r#"<c r="{at}"><v>{t}</v></c>"#),
                    CellKind::Bool => format!(r#"<c r="{at}" t="b"><v>{t}</v></c>"#),
                    CellKind::Error => format!(r#"<c r="{at}" t="e"><v>{t}</v></c>"#),
                    CellKind::Date => format!(r#"<c r="{at}" t="d"><v>{t}</v></c>"#),
                    CellKind::NoRef => format!(r#"<c t="inlineStr"><is><t>{t}</t></is></c>"#),
                    CellKind::BadRef(r) => {
                        format!(
                            r#"<c r="{}" t="inlineStr"><is><t>{t}</t></is></c>"#,
                            xml_escape(r)
                        )
                    }
                });
            }
            x.push_str("</row>");
        }
        x.push_str("</sheetData></worksheet>");
        if let Some((at, junk)) = &self.junk {
            let mut at = at % (x.len() + 1);
            while !x.is_char_boundary(at) {
                at -= 1;
            }
            x.insert_str(at, junk);
        }
        x
    }

    fn bytes(&self) -> Vec<u8> {
        let shared: String = self
            .shared
            .iter()
            .map(|s| format!("<si><t>{}</t></si>", xml_escape(s)))
            .collect();
        let parts = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#.to_string(),
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
            ),
            (
                "xl/workbook.xml",
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string(),
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#.to_string(),
            ),
            (
                "xl/sharedStrings.xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">{shared}</sst>"#,
                    n = self.shared.len()
                ),
            ),
            ("xl/worksheets/sheet1.xml", self.sheet_xml()),
        ];
        let method = if self.deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, body) in parts {
            z.start_file(name, opts).expect("part");
            z.write_all(body.as_bytes()).expect("write");
        }
        z.finish().expect("zip").into_inner()
    }

    /// Unpacked size of every part.
    fn unpacked(&self) -> usize {
        let b = self.bytes();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(b)).expect("zip");
        (0..z.len())
            .map(|i| z.by_index(i).expect("part").size() as usize)
            .sum()
    }

    /// Whether the sheet is plain: inline text cells without control characters (which XML does not carry, or
    /// normalises) at distinct positions, and no junk.
    fn plain(&self) -> bool {
        let mut seen = BTreeSet::new();
        self.junk.is_none()
            && self.cells.iter().all(|c| {
                matches!(c.kind, CellKind::Inline)
                    && !c.text.chars().any(char::is_control)
                    && seen.insert((c.row, c.col))
            })
    }
}

/// A workbook: plain (inline text at distinct places, rows in any order) or anything a sheet may hold.
fn workbook() -> BoxedStrategy<Workbook> {
    prop_oneof![any_workbook(), plain_workbook()].boxed()
}

fn plain_workbook() -> BoxedStrategy<Workbook> {
    let text = prop_oneof![
        16 => "[A-Za-z0-9冻牛腩日期 ]{0,10}",
        2 => "\\PC{0,10}",
        1 => (select(vec!["a", "牛"]), 60usize..70).prop_map(|(c, n)| c.repeat(n)),
    ];
    let row = prop_oneof![16 => 0u32..24, 1 => 0u32..60];
    let col = prop_oneof![40 => 0u32..12, 1 => 12u32..20];
    (
        prop::collection::btree_map((row, col), text, 0..20),
        any::<bool>(),
    )
        .prop_map(|(cells, deflate)| {
            let mut cells: Vec<Cell> = cells
                .into_iter()
                .map(|((row, col), text)| Cell {
                    row,
                    col,
                    kind: CellKind::Inline,
                    text,
                })
                .collect();
            // Rows in any order (a sheet need not list them ascending), cells of a row together.
            cells.sort_by_key(|c| (c.row.wrapping_mul(2_654_435_761), c.col));
            Workbook {
                cells,
                shared: vec![],
                junk: None,
                deflate,
            }
        })
        .boxed()
}

fn any_workbook() -> BoxedStrategy<Workbook> {
    let kind = prop_oneof![
        12 => Just(CellKind::Inline),
        1 => (0u32..8).prop_map(CellKind::Shared),
        1 => Just(CellKind::Number),
        1 => Just(CellKind::Bool),
        1 => Just(CellKind::Error),
        1 => Just(CellKind::Date),
        1 => Just(CellKind::NoRef),
        1 => prop_oneof![
            Just("A0".to_string()),
            Just("XFD1048577".to_string()),
            Just("ZZZZZZ1".to_string()),
            Just("A99999999999".to_string()),
            hostile_text(),
        ]
        .prop_map(CellKind::BadRef),
    ];
    let text = prop_oneof![
        6 => "[A-Za-z0-9冻牛腩日期 ]{0,10}",
        1 => "-?[0-9]{1,12}(\\.[0-9]{1,6})?(e[0-9]{1,3})?",
        1 => hostile_text(),
        1 => (select(vec!["a", "牛"]), 60usize..70).prop_map(|(c, n)| c.repeat(n)),
    ];
    let row = prop_oneof![8 => 0u32..24, 1 => 0u32..2_000, 1 => Just(1_048_575u32)];
    let col = prop_oneof![8 => 0u32..13, 1 => 0u32..16_384];
    let junk = prop::option::weighted(
        0.15,
        (
            any::<usize>(),
            prop_oneof![
                Just("<row>".to_string()),
                Just("</sheetData>".to_string()),
                Just("<c r=\"B2\"><v>".to_string()),
                Just("&bogus;".to_string()),
                Just("<![CDATA[".to_string()),
                hostile_text(),
            ],
        ),
    );
    (
        vec((row, col, kind, text), 0..40),
        vec(hostile_text(), 0..4),
        junk,
        any::<bool>(),
    )
        .prop_map(|(cells, shared, junk, deflate)| {
            let mut cells: Vec<Cell> = cells
                .into_iter()
                .map(|(row, col, kind, text)| Cell {
                    row,
                    col,
                    kind,
                    text,
                })
                .collect();
            // Rows in any order (a sheet need not list them ascending), cells of a row together.
            cells.sort_by_key(|c| (c.row.wrapping_mul(2_654_435_761), c.col));
            Workbook {
                cells,
                shared,
                junk,
                deflate,
            }
        })
        .boxed()
}

/// Workbooks with random sheets: rows out of order, far cells, every cell type, bad references and junk XML.
/// A plain sheet within the limits reads back its cells; one past a limit is refused naming it.
#[test]
fn ledger_xlsx_workbooks() {
    fuzz(workbook(), |wb| {
        let bytes = wb.bytes();
        let read = read_file(&bytes, Format::Xlsx, &SMALL);
        check_within(&bytes, &SMALL, &read)?;
        if !wb.plain() {
            return Ok(());
        }
        // What a reader must make of a plain sheet: non-blank cells by row, the first row the header.
        let text: Vec<(u32, u32, String)> = wb
            .cells
            .iter()
            .map(|c| (c.row, c.col, c.text.trim().to_string()))
            .collect();
        let filled: Vec<&(u32, u32, String)> = text.iter().filter(|c| !c.2.is_empty()).collect();
        let rows: BTreeSet<u32> = filled.iter().map(|c| c.0).collect();
        let span = match (rows.first(), rows.last()) {
            (Some(a), Some(b)) => (b - a) as usize,
            _ => 0,
        };
        let exceeds = bytes.len() > SMALL.max_bytes
            || wb.unpacked() as u64 > SMALL.max_unpacked_bytes
            || filled.iter().any(|c| c.1 as usize >= SMALL.max_columns)
            || filled
                .iter()
                .any(|c| c.2.chars().count() > SMALL.max_cell_chars)
            || span > SMALL.max_rows;
        // A blank cell past the last column may be refused too (the reader need not look inside it first).
        let blank_far = text.iter().any(|c| c.1 as usize >= SMALL.max_columns);
        match read {
            Ok(file) => {
                prop_assert!(!exceeds, "a workbook past the limits was read");
                let width = filled.iter().map(|c| c.1 as usize + 1).max().unwrap_or(0);
                let mut by_row: BTreeMap<u32, Vec<String>> = BTreeMap::new();
                for (r, c, t) in &filled {
                    by_row
                        .entry(*r)
                        .or_insert_with(|| vec![String::new(); width])[*c as usize] = t.clone();
                }
                let mut expected = by_row.into_iter();
                let header = expected.next().map(|(_, h)| h).unwrap_or_default();
                prop_assert_eq!(&file.table.headers, &header);
                let expected: Vec<(usize, Vec<String>)> =
                    expected.map(|(r, cs)| (r as usize + 1, cs)).collect();
                prop_assert_eq!(file.table.rows, expected);
            }
            Err(TableError::TooLarge { limit, .. }) => {
                prop_assert!(
                    exceeds || blank_far,
                    "refused for {} within the limits",
                    limit
                );
            }
            Err(TableError::Empty) => prop_assert!(filled.is_empty()),
            Err(e) => return Err(TestCaseError::fail(format!("{e} for a plain workbook"))),
        }
        Ok(())
    });
}

/// A plausible cell for a ledger column, or hostile text.
fn cell_for(header: &str) -> BoxedStrategy<String> {
    let field = COLUMNS
        .iter()
        .find(|(_, zh, aliases)| *zh == header || aliases.contains(&header))
        .map(|(f, _, _)| *f);
    use coldtrace_ledger::Field as F;
    let fitting: BoxedStrategy<String> = match field {
        Some(F::At) => prop_oneof![
            4 => "2026-0[1-3]-[0-2][1-9]( [01][0-9]:[0-5][0-9])?",
            2 => "2026/[1-3]/[1-9] [0-9]:[0-5][0-9]",
            1 => "2026-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,3}:[0-9]{1,3})?",
        ]
        .boxed(),
        Some(F::Kind) => select(vec![
            "入库", "出库", "销售", "加工", "销毁", "封存", "退货", "receive", "进货", "卖",
        ])
        .prop_map(String::from)
        .boxed(),
        Some(F::BatchNo | F::InputBatchNo) => select(vec!["B1", "B2", "IN-1", "OUT-1", "b1"])
            .prop_map(String::from)
            .boxed(),
        Some(F::TraceCode | F::InputTraceCode) => prop_oneof![
            select(vec![
                "11020201109999",
                "11020201108888",
                "(01)07891234567895(10)BR1",
                "https://id.gs1.org/01/07891234567895/10/BR1",
                "LOT-7",
            ])
            .prop_map(String::from),
            "[0-9]{14}",
        ]
        .boxed(),
        Some(F::Quantity | F::InputQuantity | F::NetWeightKg) => {
            prop_oneof!["[0-9]{1,3}(\\.[0-9]{1,3})?", "-?[0-9,.]{0,8}"].boxed()
        }
        Some(F::Unit) => select(vec!["kg", "箱", "吨", "斤"])
            .prop_map(String::from)
            .boxed(),
        Some(F::OriginCountry) => select(vec!["AR", "BR", "nz", "XX"])
            .prop_map(String::from)
            .boxed(),
        Some(F::CounterpartyUscc) => select(vec![
            "91440300708461136T",
            "91110000802100433B",
            "911100001011123456",
        ])
        .prop_map(String::from)
        .boxed(),
        Some(F::ProductionDate | F::ExpiryDate | F::ImportDate) => {
            "202[0-9]-[01][0-9]-[0-3][0-9]".boxed()
        }
        Some(F::NucleicAcidResult) => select(vec!["阴性", "阳性", "待检", "x"])
            .prop_map(String::from)
            .boxed(),
        Some(F::HandlerPhone) => "1[3-9][0-9]{9}|[0-9]{3}".boxed(),
        _ => "[A-Za-z0-9冻牛腩超市]{0,8}".boxed(),
    };
    prop_oneof![16 => fitting, 1 => hostile_text(), 1 => Just(String::new())].boxed()
}

/// A ledger: headers from the format (those a receipt and a sale need mostly present) and junk, rows of
/// plausible cells.
fn ledger() -> BoxedStrategy<(Vec<String>, Vec<Vec<String>>, bool)> {
    let core = ["日期", "类型", "数量", "批号", "品名", "单位", "对方名称"];
    let others: Vec<&'static str> = COLUMNS
        .iter()
        .map(|(_, zh, _)| *zh)
        .filter(|h| !core.contains(h))
        .collect();
    (
        vec(prop::bool::weighted(0.9), core.len()),
        prop::sample::subsequence(others, 0..8),
        vec(header(), 0..2),
    )
        .prop_flat_map(move |(keep, opt, junk)| {
            let mut headers: Vec<String> = core
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(h, _)| h.to_string())
                .collect();
            headers.extend(opt.into_iter().map(String::from));
            headers.extend(junk);
            (Just(headers).prop_shuffle(), any::<bool>())
        })
        .prop_flat_map(|(headers, partial)| {
            let row: Vec<BoxedStrategy<String>> = headers.iter().map(|h| cell_for(h)).collect();
            (Just(headers), vec(row, 0..12), Just(partial))
        })
        .boxed()
}

fn check_report(
    headers: &[String],
    read: &Result<ReadFile, TableError>,
    report: &ImportReport,
    partial: bool,
) -> TestCaseResult {
    let file = match read {
        Ok(f) => f,
        Err(e) => {
            prop_assert_eq!(report, &ImportReport::unreadable(e));
            return Ok(());
        }
    };
    let rows: BTreeSet<usize> = file.table.rows.iter().map(|(n, _)| *n).collect();
    prop_assert_eq!(report.rows, rows.len());
    prop_assert_eq!(report.imported_rows + report.rejected_rows, report.rows);
    prop_assert_eq!(report.receipt.is_some(), report.imported_rows > 0);
    if !partial {
        prop_assert!(report.imported_rows == 0 || report.imported_rows == report.rows);
    }
    if report.imported_rows == report.rows && report.rows > 0 {
        prop_assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    for e in &report.errors {
        prop_assert!(!e.reason.is_empty(), "{e:?} gives no reason");
        if e.row == 0 {
            prop_assert!(
                e.reason.starts_with("missing column(s)"),
                "{e:?} is a problem of no row"
            );
            continue;
        }
        prop_assert!(rows.contains(&e.row), "{e:?} is not a data row of the file");
        match &e.column {
            // The file's header, or the format's for a column the row needs and the file lacks.
            Some(c) => prop_assert!(
                headers.iter().any(|h| h.trim() == c)
                    || COLUMNS.iter().any(|(_, zh, _)| zh == c) && !headers.iter().any(|h| h == c),
                "{e:?} names a column the file does not have"
            ),
            None => {
                return Err(TestCaseError::fail(format!("{e:?} names no column")));
            }
        }
    }
    Ok(())
}

/// Random ledgers imported for an enterprise (all or nothing, or row by row), against one store that keeps what
/// each import stored: every row is accounted for and every problem located at a data row and a column.
#[test]
fn ledger_imports_of_random_tables() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (store, owner, _dir) = rt.block_on(crate::store_with_processor());
    let imported = std::cell::Cell::new(0u32);
    fuzz(ledger(), |(headers, rows, partial)| {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(&headers).expect("write");
        for r in &rows {
            w.write_record(r).expect("write");
        }
        let bytes = w.into_inner().expect("written");
        let limits = Limits {
            max_bytes: 64 * 1024,
            max_rows: 100,
            max_columns: 60,
            max_cell_chars: 256,
            max_unpacked_bytes: 1024 * 1024,
        };
        let opts = ImportOptions {
            partial,
            default_offset_hours: 8,
            limits,
            ..Default::default()
        };
        let report = rt
            .block_on(import(
                &store,
                owner,
                "enterprise",
                &bytes,
                Format::Csv,
                opts,
                &|_, _| {},
            ))
            .map_err(|e| TestCaseError::fail(format!("store: {e}")))?;
        let read = read_file(&bytes, Format::Csv, &limits);
        check_report(&headers, &read, &report, partial)?;
        if report.imported_rows > 0 {
            imported.set(imported.get() + 1);
        }
        Ok(())
    });
    // Ledgers that import must be generated too, or storing would go untested.
    assert!(
        imported.get() >= cases() / 50,
        "only {} of {} ledgers imported anything",
        imported.get(),
        cases()
    );
}
