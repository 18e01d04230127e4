//! # coldtrace-ledger
//!
//! Ledger import (台账导入): an enterprise's Excel or CSV ledger, one line per movement, with Chinese headers
//! (English aliases accepted), in UTF-8 or GBK. A line that receives goods not yet known to the platform also
//! registers the product and the batch with its documents; a processing line (加工) consumes input batches and
//! produces a new one. The format is documented in `docs/ledger-format.md`.
//!
//! ## Layout
//! - [`table`]: bytes to a table of text cells (CSV decoding, XLSX reading).
//! - [`columns`]: header names and their aliases.
//! - `lib.rs`: planning rows into a submission, and [`import`], which stores it all or nothing (or, when asked,
//!   every row without errors) and reports errors by row and column.
//!
//! **Invariant:** the ids of records built from a file are derived from the enterprise, the content and the
//! occurrence, so importing the same file twice stores nothing new.

use std::collections::{HashMap, HashSet};

use coldtrace_domain::{
    BatchDraft, DocumentDraft, MovementDraft, MovementKind, ProductDraft, SubmissionDraft,
    Submitter, TraceCode, batch::TraceCodeDraft, movement::LineDraft, person::HandlerDraft,
};
use coldtrace_store::{BatchFilter, Page, Receipt, Scope, Store, StoreError, SubmitRequest};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub mod aliased;
pub mod census;
pub mod columns;
pub mod customs;
pub mod sensor;
pub mod table;

pub use columns::Field;
pub use table::{Format, Limits, Table, TableError};

/// One problem, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// File row number (the header is row 1); 0 for a problem with the whole file.
    pub row: usize,
    /// The column's header as it appears in the file, when the problem is in one cell; for a value the row
    /// needs from a column the file does not have, that column's header in the format (e.g. `品名`).
    pub column: Option<String>,
    pub reason: String,
}

/// What an import did.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct ImportReport {
    /// `UTF-8`, `GBK` or `XLSX`.
    pub encoding: String,
    pub rows: usize,
    pub imported_rows: usize,
    pub rejected_rows: usize,
    pub errors: Vec<RowError>,
    /// Headers that are not part of the format (kept out of the import, listed so typos are seen).
    pub ignored_columns: Vec<String>,
    pub receipt: Option<Receipt>,
    /// True when this exact file was imported before and nothing new was stored.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Import every row without errors instead of all or nothing.
    pub partial: bool,
    /// Offset of ledger times that carry none (China Standard Time: 8).
    pub default_offset_hours: i8,
    /// Bounds on the file.
    pub limits: Limits,
    /// The province's policy for the ledger checks, the same as for any other write.
    pub checks: coldtrace_domain::checks::CheckPolicy,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            partial: false,
            default_offset_hours: 8,
            limits: Limits::default(),
            checks: Default::default(),
        }
    }
}

/// A ledger file read within its limits: the table, the encoding and the file's content hash.
#[derive(Debug, Clone)]
pub struct ReadFile {
    pub table: Table,
    pub encoding: &'static str,
    pub hash: String,
}

/// Reads a ledger file within `limits` (CPU-bound: callers on an async runtime run it off the request threads).
pub fn read_file(bytes: &[u8], format: Format, limits: &Limits) -> Result<ReadFile, TableError> {
    let (table, encoding) = table::read(bytes, format, limits)?;
    Ok(ReadFile {
        table,
        encoding,
        hash: hex::encode(Sha256::digest(bytes)),
    })
}

impl ImportReport {
    /// The report of a file that could not be read as a table at all.
    pub fn unreadable(e: &TableError) -> Self {
        ImportReport {
            errors: vec![RowError {
                row: 0,
                column: None,
                reason: e.to_string(),
            }],
            ..Default::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A parsed data row.
#[derive(Debug, Clone)]
struct Row {
    n: usize,
    cells: HashMap<Field, String>,
}

impl Row {
    fn get(&self, f: Field) -> Option<String> {
        self.cells.get(&f).filter(|s| !s.is_empty()).cloned()
    }
}

/// Where each record of a planned submission came from.
#[derive(Debug, Default)]
struct Origins {
    products: Vec<Vec<usize>>,
    batches: Vec<Vec<usize>>,
    documents: Vec<Vec<usize>>,
    /// The column each document's number came from (which also identifies the document).
    document_numbers: Vec<Field>,
    movements: Vec<Vec<usize>>,
}

const NS: Uuid = Uuid::from_u128(0x5c0d_7a3e_2b1f_4e8a_9d6c_1f0e_3a2b_4c5d);

fn derived_id(owner: Uuid, parts: &[&str]) -> Uuid {
    let mut name = owner.to_string();
    for p in parts {
        name.push('\u{1f}');
        name.push_str(p);
    }
    Uuid::new_v5(&NS, name.as_bytes())
}

/// Reads a ledger file, plans it and stores it for `owner`.
pub async fn import(
    store: &dyn Store,
    owner: Uuid,
    subject: &str,
    bytes: &[u8],
    format: Format,
    opts: ImportOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ImportReport, ImportError> {
    match read_file(bytes, format, &opts.limits) {
        Ok(file) => import_read(store, owner, subject, file, opts, progress).await,
        Err(e) => Ok(ImportReport::unreadable(&e)),
    }
}

/// Plans a file already read and stores it for `owner`.
pub async fn import_read(
    store: &dyn Store,
    owner: Uuid,
    subject: &str,
    file: ReadFile,
    opts: ImportOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let ReadFile {
        table,
        encoding: enc,
        hash: file_hash,
    } = file;
    report.encoding = enc.to_string();
    report.rows = table.rows.len();
    let (map, ignored) = columns::map_headers(&table.headers);
    report.ignored_columns = ignored;
    let missing = columns::missing_required(&map);
    if !missing.is_empty() {
        report.errors.push(RowError {
            row: 0,
            column: None,
            reason: format!("missing column(s): {}", missing.join(", ")),
        });
        report.rejected_rows = report.rows;
        return Ok(report);
    }
    let header_of: HashMap<Field, String> = map
        .iter()
        .map(|(i, f)| (*f, table.headers[*i].clone()))
        .collect();
    let rows: Vec<Row> = table
        .rows
        .iter()
        .map(|(n, cells)| Row {
            n: *n,
            cells: map
                .iter()
                .map(|(i, f)| (*f, cells.get(*i).cloned().unwrap_or_default()))
                .collect(),
        })
        .collect();
    let mut excluded: HashSet<usize> = HashSet::new();
    let mut all_errors: Vec<RowError> = Vec::new();
    // Each round plans the live rows, validates and stores them. In partial mode the rows in error are left out
    // and the rest planned again (a row may only fail once its neighbours are gone), at most four rounds.
    for round in 0..4 {
        let live: Vec<&Row> = rows.iter().filter(|r| !excluded.contains(&r.n)).collect();
        let (draft, origins, mut errors) =
            plan(store, owner, &live, opts.clone(), &header_of, progress).await?;
        if errors.is_empty() && !draft.is_empty() {
            match draft.parse(Submitter::Enterprise(owner)) {
                Err(v) => errors = locate(&v.0, &origins, &header_of),
                Ok(submission) => {
                    let key = format!("ledger:{file_hash}:{}:{}", opts.partial, excluded.len());
                    let request = SubmitRequest {
                        writer: coldtrace_domain::Writer::Enterprise(owner),
                        subject: subject.to_string(),
                        idempotency_key: Some(key),
                        request_hash: file_hash.clone(),
                        submission,
                        checks: opts.checks.clone(),
                    };
                    match store.submit(request).await {
                        Ok(out) => {
                            report.imported_rows = live.len();
                            report.receipt = Some(out.receipt);
                            report.replayed = out.replayed;
                            break;
                        }
                        Err(StoreError::Invalid(v)) | Err(StoreError::Conflict(v)) => {
                            errors = locate(&v.0, &origins, &header_of)
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        if errors.is_empty() {
            break;
        }
        excluded.extend(errors.iter().map(|e| e.row));
        all_errors.append(&mut errors);
        if !opts.partial || round == 3 {
            break;
        }
    }
    all_errors.sort_by_key(|e| e.row);
    all_errors.dedup();
    report.rejected_rows = report.rows - report.imported_rows;
    report.errors = all_errors;
    Ok(report)
}

/// The header of `f` as the file spells it, or the format's header when the file has no such column.
fn column_of(f: Field, header_of: &HashMap<Field, String>) -> String {
    header_of
        .get(&f)
        .cloned()
        .unwrap_or_else(|| columns::header(f).to_string())
}

/// Maps field paths of a submission back to file rows and columns.
fn locate(
    errors: &[coldtrace_domain::FieldError],
    o: &Origins,
    header_of: &HashMap<Field, String>,
) -> Vec<RowError> {
    let mut out = Vec::new();
    for e in errors {
        let (list, rest) = e.field.split_once('[').unwrap_or((&e.field, ""));
        let (idx, tail) = rest.split_once(']').unwrap_or(("", ""));
        let idx: usize = idx.parse().unwrap_or(usize::MAX);
        let rows = match list {
            "products" => o.products.get(idx),
            "batches" => o.batches.get(idx),
            "documents" => o.documents.get(idx),
            "movements" => o.movements.get(idx),
            _ => None,
        };
        let leaf = tail.trim_start_matches('.');
        let field = match (list, leaf) {
            ("documents", "number" | "id") => o.document_numbers.get(idx).copied(),
            _ => columns::field_for_path(list, leaf),
        };
        let column = field.map(|f| column_of(f, header_of));
        match rows {
            Some(rows) => {
                for r in rows {
                    out.push(RowError {
                        row: *r,
                        column: column.clone(),
                        reason: e.reason.clone(),
                    });
                }
            }
            None => out.push(RowError {
                row: 0,
                column,
                reason: format!("{}: {}", e.field, e.reason),
            }),
        }
    }
    out
}

/// Turns rows into a submission of drafts, looking up which batches the platform already knows.
async fn plan(
    store: &dyn Store,
    owner: Uuid,
    rows: &[&Row],
    opts: ImportOptions,
    header_of: &HashMap<Field, String>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(SubmissionDraft, Origins, Vec<RowError>), ImportError> {
    let mut d = SubmissionDraft::default();
    let mut o = Origins::default();
    let mut errors = Vec::new();
    let cell_err = |r: &Row, f: Field, reason: String| RowError {
        row: r.n,
        column: Some(column_of(f, header_of)),
        reason,
    };
    // Batches known before this file: by code key and by own batch number.
    let mut known_codes: HashMap<String, bool> = HashMap::new();
    let mut known_nos: HashMap<String, bool> = HashMap::new();
    let mut product_index: HashMap<Uuid, usize> = HashMap::new();
    let mut batch_index: HashMap<String, usize> = HashMap::new(); // batch_no -> index in d.batches
    let mut doc_index: HashMap<Uuid, usize> = HashMap::new();
    let mut movement_index: HashMap<Uuid, usize> = HashMap::new();
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    let total = rows.len();
    for (i, r) in rows.iter().enumerate() {
        if i.is_multiple_of(1000) {
            progress(i, total);
        }
        let kind = match r.get(Field::Kind).map(|k| MovementKind::parse(&k)) {
            Some(Ok(k)) => k,
            Some(Err(e)) => {
                errors.push(cell_err(r, Field::Kind, e));
                continue;
            }
            None => {
                errors.push(cell_err(r, Field::Kind, "is required".into()));
                continue;
            }
        };
        let at = match r
            .get(Field::At)
            .map(|t| coldtrace_domain::EventTime::parse_local(&t, opts.default_offset_hours))
        {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                errors.push(cell_err(r, Field::At, e));
                continue;
            }
            None => {
                errors.push(cell_err(r, Field::At, "is required".into()));
                continue;
            }
        };
        let code = match r.get(Field::TraceCode).map(|c| TraceCode::parse(&c, None)) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                errors.push(cell_err(r, Field::TraceCode, e));
                continue;
            }
            None => None,
        };
        let batch_no = r.get(Field::BatchNo);
        if code.is_none() && batch_no.is_none() {
            errors.push(cell_err(
                r,
                Field::BatchNo,
                "give the batch number or the trace code".into(),
            ));
            continue;
        }
        // Does the platform (or an earlier row) already know this batch?
        let mut known = false;
        if let Some(c) = &code {
            if !known_codes.contains_key(&c.key) {
                let k = store.batch_by_code(&c.key).await?.is_some();
                known_codes.insert(c.key.clone(), k);
            }
            known = known_codes[&c.key];
        }
        if !known && let Some(no) = &batch_no {
            if batch_index.contains_key(no) {
                known = true;
            } else {
                if !known_nos.contains_key(no) {
                    let filter = BatchFilter {
                        batch_no: Some(no.clone()),
                        product: None,
                    };
                    let found = !store
                        .batches(
                            &Scope::Enterprise(owner),
                            &filter,
                            Page { after: 0, limit: 1 },
                        )
                        .await?
                        .is_empty();
                    known_nos.insert(no.clone(), found);
                }
                known = known_nos[no];
            }
        }
        let defines_batch =
            !known && matches!(kind, MovementKind::Receive | MovementKind::Transform);
        if !known && !defines_batch {
            let (f, what) = match &code {
                Some(c) => (
                    Field::TraceCode,
                    format!("no batch carries the code {:?}", c.value),
                ),
                None => (
                    Field::BatchNo,
                    format!(
                        "no batch numbered {:?}; receive it first",
                        batch_no.unwrap_or_default()
                    ),
                ),
            };
            errors.push(cell_err(r, f, what));
            continue;
        }
        if defines_batch {
            let Some(no) = batch_no.clone() else {
                errors.push(cell_err(
                    r,
                    Field::BatchNo,
                    "is required to register a new batch".into(),
                ));
                continue;
            };
            let Some(name) = r.get(Field::ProductName) else {
                errors.push(cell_err(
                    r,
                    Field::ProductName,
                    "is required to register a new batch".into(),
                ));
                continue;
            };
            let origin = r.get(Field::OriginCountry).unwrap_or_else(|| "CN".into());
            let est = r.get(Field::EstablishmentNo).unwrap_or_default();
            let pid = derived_id(owner, &["product", &name, &origin, &est]);
            if let std::collections::hash_map::Entry::Vacant(slot) = product_index.entry(pid) {
                slot.insert(d.products.len());
                o.products.push(vec![r.n]);
                d.products.push(ProductDraft {
                    id: Some(pid),
                    name: Some(name),
                    category: Some(r.get(Field::Category).unwrap_or_else(|| "other".into())),
                    origin_country: Some(origin),
                    establishment_no: r.get(Field::EstablishmentNo),
                    gtin: r.get(Field::Gtin),
                    hs_code: None,
                    spec: r.get(Field::Spec),
                    corrects: None,
                });
            }
            let bid = derived_id(owner, &["batch", &no]);
            batch_index.insert(no.clone(), d.batches.len());
            o.batches.push(vec![r.n]);
            d.batches.push(BatchDraft {
                id: Some(bid),
                product_id: Some(pid),
                batch_no: Some(no.clone()),
                quantity: r
                    .get(Field::Quantity)
                    .and_then(|q| coldtrace_domain::Quantity::parse(&q).ok()),
                unit: Some(r.get(Field::Unit).unwrap_or_else(|| "kg".into())),
                net_weight_kg: r
                    .get(Field::NetWeightKg)
                    .and_then(|q| coldtrace_domain::Quantity::parse(&q).ok()),
                production_date: r.get(Field::ProductionDate).map(date_part),
                expiry_date: r.get(Field::ExpiryDate).map(date_part),
                declaration_no: r.get(Field::DeclarationNo),
                inspection_cert_no: r.get(Field::InspectionCertNo),
                port_of_entry: r.get(Field::PortOfEntry),
                import_date: r.get(Field::ImportDate).map(date_part),
                container_no: r.get(Field::ContainerNo),
                seal_no: r.get(Field::SealNo),
                trace_codes: code
                    .iter()
                    .map(|c| TraceCodeDraft {
                        value: Some(c.value.clone()),
                        scheme: None,
                    })
                    .collect(),
                corrects: None,
            });
            if let Some(c) = &code {
                known_codes.insert(c.key.clone(), true);
            }
        }
        // Reference the batch the same way the platform will find it.
        let (ref_id, ref_no, ref_code) = if defines_batch {
            (None, batch_no.clone(), None)
        } else if let Some(c) = &code {
            (None, None, Some(c.value.clone()))
        } else {
            (None::<Uuid>, batch_no.clone(), None)
        };
        // Documents the row names.
        let doc_day = r
            .get(Field::ImportDate)
            .or_else(|| r.get(Field::At))
            .map(date_part);
        for (kind_s, no_field, result) in [
            ("inspection_quarantine", Field::InspectionCertNo, None),
            (
                "nucleic_acid",
                Field::NucleicAcidReportNo,
                r.get(Field::NucleicAcidResult),
            ),
            ("disinfection", Field::DisinfectionCertNo, None),
        ] {
            let Some(number) = r.get(no_field) else {
                continue;
            };
            let did = derived_id(
                owner,
                &[
                    "document",
                    kind_s,
                    &number,
                    ref_no.as_deref().or(ref_code.as_deref()).unwrap_or(""),
                ],
            );
            if doc_index.contains_key(&did) {
                continue;
            }
            doc_index.insert(did, d.documents.len());
            o.documents.push(vec![r.n]);
            o.document_numbers.push(no_field);
            d.documents.push(DocumentDraft {
                id: Some(did),
                batch_id: ref_id,
                batch_no: ref_no.clone(),
                trace_code: ref_code.clone(),
                kind: Some(kind_s.into()),
                number: Some(number),
                issuer: Some(
                    r.get(Field::Issuer)
                        .unwrap_or_else(|| default_issuer(kind_s).into()),
                ),
                issued_on: doc_day.clone(),
                result,
                attachment_sha256: None,
                corrects: None,
            });
        }
        let handlers = r
            .get(Field::HandlerName)
            .map(|n| {
                vec![HandlerDraft {
                    name: Some(n),
                    id_no: None,
                    phone: r.get(Field::HandlerPhone),
                    role: None,
                }]
            })
            .unwrap_or_default();
        if kind == MovementKind::Transform {
            // One transformation per output batch and time; each row adds one input.
            let Some(out_no) = batch_no.clone() else {
                errors.push(cell_err(
                    r,
                    Field::BatchNo,
                    "a processing line names the output batch".into(),
                ));
                continue;
            };
            let input_code = r.get(Field::InputTraceCode);
            let input_no = r.get(Field::InputBatchNo);
            if input_code.is_none() && input_no.is_none() {
                errors.push(cell_err(
                    r,
                    Field::InputBatchNo,
                    "a processing line names its input batch".into(),
                ));
                continue;
            }
            let mid = derived_id(owner, &["transform", &out_no, &at.to_string()]);
            let idx = *movement_index.entry(mid).or_insert_with(|| {
                o.movements.push(vec![]);
                d.movements.push(MovementDraft {
                    id: Some(mid),
                    kind: Some("transform".into()),
                    at: Some(at),
                    location: r.get(Field::Location),
                    handlers: handlers.clone(),
                    outputs: vec![LineDraft {
                        batch_id: None,
                        batch_no: Some(out_no.clone()),
                        trace_code: None,
                        quantity: r
                            .get(Field::Quantity)
                            .and_then(|q| coldtrace_domain::Quantity::parse(&q).ok()),
                    }],
                    note: r.get(Field::Note),
                    ..Default::default()
                });
                d.movements.len() - 1
            });
            o.movements[idx].push(r.n);
            let input_q = match r
                .get(Field::InputQuantity)
                .map(|q| coldtrace_domain::Quantity::parse(&q))
            {
                Some(Ok(q)) => Some(q),
                Some(Err(e)) => {
                    errors.push(cell_err(r, Field::InputQuantity, e.to_string()));
                    continue;
                }
                None => {
                    errors.push(cell_err(
                        r,
                        Field::InputQuantity,
                        "is required on a processing line".into(),
                    ));
                    continue;
                }
            };
            d.movements[idx].inputs.push(LineDraft {
                batch_id: None,
                batch_no: if input_code.is_some() { None } else { input_no },
                trace_code: input_code,
                quantity: input_q,
            });
            continue;
        }
        let quantity = match r
            .get(Field::Quantity)
            .map(|q| coldtrace_domain::Quantity::parse(&q))
        {
            Some(Ok(q)) => Some(q),
            Some(Err(e)) => {
                errors.push(cell_err(r, Field::Quantity, e.to_string()));
                continue;
            }
            None => None,
        };
        let content: Vec<String> = {
            let mut kv: Vec<(&Field, &String)> = r.cells.iter().collect();
            kv.sort();
            kv.iter().map(|(k, v)| format!("{k:?}={v}")).collect()
        };
        let content = content.join("\u{1e}");
        let occ = occurrences.entry(content.clone()).or_insert(0);
        *occ += 1;
        let mid = derived_id(owner, &["movement", &content, &occ.to_string()]);
        movement_index.insert(mid, d.movements.len());
        o.movements.push(vec![r.n]);
        d.movements.push(MovementDraft {
            id: Some(mid),
            kind: Some(kind.as_str().into()),
            batch_id: ref_id,
            batch_no: ref_no,
            trace_code: ref_code,
            quantity,
            counterparty_uscc: r.get(Field::CounterpartyUscc),
            counterparty_name: r.get(Field::CounterpartyName),
            at: Some(at),
            location: r.get(Field::Location),
            handlers,
            note: r.get(Field::Note),
            ..Default::default()
        });
    }
    progress(total, total);
    Ok((d, o, errors))
}

fn default_issuer(kind: &str) -> &'static str {
    match kind {
        "inspection_quarantine" => "海关",
        "nucleic_acid" => "检测机构",
        _ => "消毒单位",
    }
}

/// `2026-03-01 08:30:00` → `2026-03-01`; `2026/3/1` → `2026-3-1` (the date parser accepts both).
fn date_part(s: String) -> String {
    s.split([' ', 'T']).next().unwrap_or(&s).replace('/', "-")
}
