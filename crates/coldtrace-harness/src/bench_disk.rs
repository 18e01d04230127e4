//! `coldtrace bench disk`: where a store's bytes go, per movement, from SQLite's own page accounting (`dbstat`).

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

/// The target for the whole store, in bytes per movement.
const TARGET: f64 = 400.0;

/// The part of the store a table or index belongs to.
fn group(table: &str) -> &'static str {
    match table {
        "movements" => "movements (rows)",
        "movement_handlers" | "people" => "handlers and people",
        "movement_lines" => "transformation lines",
        "lot_stock" => "lot stock",
        "batch_access" => "batch access index",
        "ids" | "counterparties" => "id and counterparty dictionaries",
        "documents" | "attachments" | "attachment_owners" => "documents and attachments",
        "batches" | "products" | "trace_codes" => "batches, products, trace codes",
        "findings" | "quality_daily" => "findings",
        "audit" | "audit_checkpoints" => "audit trail",
        t if t.starts_with("inbox") || t.starts_with("outbox") || t.starts_with("notices") => {
            "docking"
        }
        _ => "other",
    }
}

/// Prints the store's size by part, in bytes and bytes per movement, largest first.
pub fn run(data: &std::path::Path) -> anyhow::Result<()> {
    let path = coldtrace_store_sqlite::store_path(data);
    let c = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    let movements: i64 = c.query_row("SELECT COUNT(*) FROM movements", [], |r| r.get(0))?;
    let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let file = std::fs::metadata(&path)?.len();
    // One pass over the pages: each index counts with its table.
    let rows: Vec<(String, bool, i64)> = c
        .prepare(
            "SELECT COALESCE(m.tbl_name, d.name), COALESCE(m.type = 'index', 0), SUM(d.pgsize) FROM dbstat d
             LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1, 2",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut groups: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
    let mut tables: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut table_bytes: std::collections::BTreeMap<&str, i64> = Default::default();
    let per = |b: i64| b as f64 / movements.max(1) as f64;
    for (t, index, bytes) in &rows {
        let e = groups.entry(group(t)).or_default();
        e.0 += bytes;
        if *index {
            e.1 += bytes;
        }
        *table_bytes.entry(t).or_default() += bytes;
    }
    // Tables under a tenth of a byte per movement are counted but not named.
    for (t, bytes) in table_bytes {
        if per(bytes) >= 0.1 {
            tables.entry(group(t)).or_default().push(t.to_string());
        }
    }
    println!(
        "coldtrace bench disk on {} (schema {version}): {movements} movements, file {:.1} MB",
        path.display(),
        file as f64 / 1e6
    );
    println!();
    println!("| part | tables | MB | bytes per movement | of which indexes |");
    println!("|---|---|---:|---:|---:|");
    let mut sorted: Vec<_> = groups.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.1.0));
    let mut total = 0;
    for (g, (bytes, idx)) in sorted {
        total += bytes;
        println!(
            "| {g} | {} | {:.1} | {:.1} | {:.1} |",
            tables.get(g).map(|t| t.join(", ")).unwrap_or_default(),
            *bytes as f64 / 1e6,
            per(*bytes),
            per(*idx)
        );
    }
    println!(
        "| **all pages** | | {:.1} | **{:.1}** | |",
        total as f64 / 1e6,
        per(total)
    );
    println!();
    println!(
        "file: {:.1} bytes per movement (target: at most {TARGET:.0}; {})",
        per(file as i64),
        if per(file as i64) <= TARGET {
            "met"
        } else {
            "not met"
        }
    );
    Ok(())
}
