//! `coldtrace bench disk`: where a store's bytes go, per movement, from SQLite's own page accounting (`dbstat`)
//! or PostgreSQL's relation sizes.

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
    println!(
        "coldtrace bench disk on {} (schema {version}): {movements} movements, file {:.1} MB",
        path.display(),
        file as f64 / 1e6
    );
    report(&rows, movements, "file", file as i64);
    Ok(())
}

/// The same for a PostgreSQL store: every table of `schema` with its indexes and TOAST, partitions counted
/// with the table they partition (`pg_partition_root`).
pub async fn run_pg(url: &str, schema: &str) -> anyhow::Result<()> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(conn);
    let movements: i64 = client
        .query_one(
            &format!("SELECT COUNT(*) FROM {}.movements", quote(schema)),
            &[],
        )
        .await
        .context("counting movements (is this a coldtrace store?)")?
        .get(0);
    let rows: Vec<(String, bool, i64)> = client
        .query(
            "SELECT COALESCE(r.relname, c.relname)::text AS t,
                    SUM(pg_table_size(c.oid))::bigint, SUM(pg_indexes_size(c.oid))::bigint
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_class r ON r.oid = pg_partition_root(c.oid)
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')
              GROUP BY 1",
            &[&schema],
        )
        .await?
        .into_iter()
        .flat_map(|r| {
            let t: String = r.get(0);
            [(t.clone(), false, r.get::<_, i64>(1)), (t, true, r.get(2))]
        })
        .collect();
    let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);
    let total: i64 = rows.iter().map(|r| r.2).sum();
    println!(
        "coldtrace bench disk on PostgreSQL {version}, schema {schema}: {movements} movements, {:.1} MB in its tables, indexes and TOAST",
        total as f64 / 1e6
    );
    report(&rows, movements, "schema", total);
    Ok(())
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The table of parts: `rows` are (table, is an index, bytes); `whole` is what the target is judged on.
fn report(rows: &[(String, bool, i64)], movements: i64, whole_name: &str, whole: i64) {
    let mut groups: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
    let mut tables: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut table_bytes: std::collections::BTreeMap<&str, i64> = Default::default();
    let per = |b: i64| b as f64 / movements.max(1) as f64;
    for (t, index, bytes) in rows {
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
        "{whole_name}: {:.1} bytes per movement (target: at most {TARGET:.0}; {})",
        per(whole),
        if per(whole) <= TARGET {
            "met"
        } else {
            "not met"
        }
    );
}
