//! `coldtrace bench trace`: trace latency of the in-memory engine (full answer built) beside the same queries as
//! recursive CTEs in SQLite (and PostgreSQL when given), on the same data; index size and rebuild rate.

use std::time::Instant;

use anyhow::Context;
use coldtrace_service::Tracer;
use coldtrace_trace::{Direction, Start, TimeMode};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rusqlite::{Connection, params};

use coldtrace_domain::Principal;

/// Percentiles of a sample, in microseconds.
pub struct Figures {
    pub n: usize,
    pub p50: f64,
    pub p99: f64,
}

pub fn figures(mut us: Vec<f64>) -> Figures {
    us.sort_by(|a, b| a.total_cmp(b));
    let n = us.len().max(1);
    let at = |q: f64| {
        us.get(
            ((n as f64 * q).ceil() as usize)
                .saturating_sub(1)
                .min(n - 1),
        )
        .copied()
        .unwrap_or(0.0)
    };
    Figures {
        n: us.len(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn row_of(f: &Figures) -> String {
    format!("{} | {} | {}", f.n, fmt_us(f.p50), fmt_us(f.p99))
}

fn fmt_us(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

/// The same data organised for SQL: an edge table with both indexes, and a party table.
fn prepare_sql(
    store_file: &std::path::Path,
    aux: &std::path::Path,
) -> anyhow::Result<(Connection, f64)> {
    // Opened read-write only so that the scratch database can be attached; the store itself is not written.
    let conn = Connection::open(store_file)?;
    let _ = std::fs::remove_file(aux);
    conn.execute(
        "ATTACH DATABASE ?1 AS aux",
        [aux.to_str().context("aux path")?],
    )?;
    let t = Instant::now();
    conn.execute_batch(
        "PRAGMA aux.journal_mode = OFF; PRAGMA aux.synchronous = OFF; PRAGMA cache_size = -262144;
         -- The movements with their ids as text, as the recursive CTE's tables key them.
         CREATE TABLE aux.mv AS SELECT m.seq, m.kind, (SELECT id FROM ids WHERE n = m.holder) AS holder,
             (SELECT id FROM ids WHERE n = m.holder_key) AS holder_key, (SELECT id FROM ids WHERE n = m.batch) AS batch_id,
             (SELECT id FROM ids WHERE n = cp.party) AS counterparty_key, cp.name AS counterparty_name,
             m.quantity_milli, m.at_ms
           FROM movements m LEFT JOIN counterparties cp ON cp.n = m.counterparty;
         CREATE INDEX aux.mv_seq ON mv (seq);
         CREATE INDEX aux.mv_batch ON mv (batch_id, holder_key);
         CREATE INDEX aux.mv_holder ON mv (holder_key, at_ms);
         CREATE TABLE aux.ml AS SELECT movement_seq, role, (SELECT id FROM ids WHERE n = batch) AS batch_id, quantity_milli
           FROM movement_lines;
         CREATE INDEX aux.ml_seq ON ml (movement_seq);
         CREATE INDEX aux.ml_batch ON ml (batch_id);
         CREATE TABLE aux.trace_edges (fb TEXT NOT NULL, fh TEXT NOT NULL, tb TEXT NOT NULL, th TEXT NOT NULL, t INTEGER NOT NULL);
         INSERT INTO aux.trace_edges
           SELECT batch_id, holder_key, batch_id, counterparty_key, at_ms FROM aux.mv
            WHERE kind IN ('ship', 'sell', 'return') AND counterparty_key IS NOT NULL AND batch_id IS NOT NULL
           UNION ALL
           SELECT batch_id, counterparty_key, batch_id, holder_key, at_ms FROM aux.mv
            WHERE kind = 'receive' AND counterparty_key IS NOT NULL AND batch_id IS NOT NULL
           UNION ALL
           SELECT i.batch_id, m.holder_key, o.batch_id, m.holder_key, m.at_ms FROM aux.mv m
             JOIN aux.ml i ON i.movement_seq = m.seq AND i.role = 'in'
             JOIN aux.ml o ON o.movement_seq = m.seq AND o.role = 'out';
         CREATE INDEX aux.trace_edges_from ON trace_edges (fb, fh, t);
         CREATE INDEX aux.trace_edges_to ON trace_edges (tb, th, t);
         CREATE TABLE aux.party (h TEXT PRIMARY KEY, name TEXT, region TEXT, phone TEXT) WITHOUT ROWID;
         INSERT OR IGNORE INTO aux.party
           SELECT m.holder_key, e.name, e.region, json_extract(e.body, '$.contact.phone')
             FROM (SELECT holder_key, MIN(holder) AS holder FROM aux.mv GROUP BY holder_key) m
             JOIN enterprises e ON e.id = m.holder;
         INSERT OR IGNORE INTO aux.party SELECT counterparty_key, MIN(counterparty_name), NULL, NULL FROM aux.mv
           WHERE counterparty_key IS NOT NULL GROUP BY counterparty_key;
         CREATE TEMP TABLE seeds (b TEXT NOT NULL, h TEXT NOT NULL, PRIMARY KEY (b, h)) WITHOUT ROWID;",
    )?;
    Ok((conn, t.elapsed().as_secs_f64()))
}

const ANSWER_SQL: &str = "SELECT lots.b, lots.h, lots.at, p.name, p.region, p.phone,
    (SELECT COALESCE(SUM(CASE WHEN m.kind = 'receive' THEN m.quantity_milli
                              WHEN m.kind IN ('ship', 'sell', 'destroy', 'return') THEN -m.quantity_milli ELSE 0 END), 0)
       FROM aux.mv m WHERE m.batch_id = lots.b AND m.holder_key = lots.h)
    + (SELECT COALESCE(SUM(CASE WHEN l.role = 'out' THEN l.quantity_milli ELSE -l.quantity_milli END), 0)
       FROM aux.ml l JOIN aux.mv m3 ON m3.seq = l.movement_seq WHERE l.batch_id = lots.b AND m3.holder_key = lots.h)
  FROM lots LEFT JOIN aux.party p ON p.h = lots.h";

/// Runs one trace in SQL from the seeds in `temp.seeds`; returns the number of (lot, direction) rows answered.
fn sql_trace(conn: &Connection, forward: bool, backward: bool) -> anyhow::Result<usize> {
    let mut rows = 0;
    if forward {
        let sql = format!(
            "WITH RECURSIVE fwd(b, h, at) AS (
               SELECT b, h, 0 FROM temp.seeds
               UNION
               SELECT e.tb, e.th, e.t FROM fwd JOIN aux.trace_edges e ON e.fb = fwd.b AND e.fh = fwd.h AND e.t >= fwd.at
             ), lots AS (SELECT b, h, MIN(at) AS at FROM fwd GROUP BY b, h) {ANSWER_SQL}"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let mut q = st.query([])?;
        while q.next()?.is_some() {
            rows += 1;
        }
    }
    if backward {
        let sql = format!(
            "WITH RECURSIVE bwd(b, h, at) AS (
               SELECT b, h, 9223372036854775807 FROM temp.seeds
               UNION
               SELECT e.fb, e.fh, e.t FROM bwd JOIN aux.trace_edges e ON e.tb = bwd.b AND e.th = bwd.h AND e.t <= bwd.at
             ), lots AS (SELECT b, h, MAX(at) AS at FROM bwd GROUP BY b, h) {ANSWER_SQL}"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let mut q = st.query([])?;
        while q.next()?.is_some() {
            rows += 1;
        }
    }
    Ok(rows)
}

/// Seeds for whole batches: every (batch, holder) the batch was ever at.
fn seed_batches(conn: &Connection, batches: &[uuid::Uuid]) -> anyhow::Result<()> {
    conn.execute("DELETE FROM temp.seeds", [])?;
    let mut st = conn.prepare_cached(
        "INSERT OR IGNORE INTO temp.seeds SELECT batch_id, holder_key FROM aux.mv WHERE batch_id = ?1
         UNION SELECT fb, fh FROM aux.trace_edges WHERE fb = ?1 UNION SELECT tb, th FROM aux.trace_edges WHERE tb = ?1",
    )?;
    for b in batches {
        st.execute([b.to_string()])?;
    }
    Ok(())
}

/// Seeds for a place and window: the lots of the holder that moved goods up to the window's end.
fn seed_place(conn: &Connection, holder_key: &uuid::Uuid, to_ms: i64) -> anyhow::Result<()> {
    conn.execute("DELETE FROM temp.seeds", [])?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO temp.seeds SELECT DISTINCT batch_id, holder_key FROM aux.mv
          WHERE holder_key = ?1 AND at_ms <= ?2 AND batch_id IS NOT NULL",
    )?
    .execute(params![holder_key.to_string(), to_ms])?;
    Ok(())
}

pub struct Row {
    pub class: String,
    pub engine: Figures,
    pub sqlite: Figures,
    pub postgres: Option<Figures>,
}

pub async fn run(
    data: &std::path::Path,
    queries: usize,
    sql_queries: usize,
    seed: u64,
    pg_url: Option<&str>,
    pg_store: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    let store: std::sync::Arc<dyn coldtrace_store::Store> = match pg_store {
        Some((url, schema)) => {
            println!("coldtrace bench trace on the PostgreSQL store in schema {schema}");
            std::fs::create_dir_all(data)?;
            std::sync::Arc::new(
                coldtrace_store_pg::PgStore::connect_in_schema(url, schema)
                    .await
                    .context("opening the PostgreSQL store")?,
            )
        }
        None => {
            println!("coldtrace bench trace on {}", data.display());
            crate::open_store(data)?
        }
    };
    let (tracer, stats) = Tracer::rebuild(store.as_ref()).await?;
    println!(
        "index: {} movements, {} lots, {} batches; rebuilt from the store in {:.2} s = {:.0} movements/s; {:.1} MB = {:.1} bytes per movement",
        stats.movements,
        stats.lots,
        stats.batches,
        stats.seconds,
        stats.movements_per_second,
        stats.index_bytes as f64 / 1e6,
        stats.bytes_per_movement
    );
    // A restart: the tracer written to a snapshot, then loaded and caught up as `coldtrace serve` does at start;
    // the queries below run on the loaded tracer.
    let tracer = std::sync::Arc::new(tracer);
    let snap = tempfile::Builder::new()
        .prefix("trace-index-")
        .tempfile_in(data)?;
    let saved = tracer.save_snapshot(store.as_ref(), snap.path()).await?;
    drop(tracer);
    let t = Instant::now();
    let (tracer, loaded) = Tracer::load_snapshot(store.as_ref(), snap.path()).await?;
    let caught_up = tracer.catch_up(store.as_ref()).await?;
    let compaction = tracer.compact_if_scattered();
    let restart = t.elapsed().as_secs_f64();
    println!(
        "restart: snapshot of {:.1} MB written in {:.2} s; loaded in {:.2} s ({:.2} M movements/s), {} movements caught up{}, ready in {:.2} s (rebuild from the store: {:.2} s, {:.1}x)",
        saved.bytes as f64 / 1e6,
        saved.seconds,
        loaded.seconds,
        loaded.movements as f64 / loaded.seconds.max(1e-9) / 1e6,
        caught_up,
        compaction
            .map(|s| format!(", compacted in {s:.2} s"))
            .unwrap_or_default(),
        restart,
        stats.seconds,
        stats.seconds / restart.max(1e-9)
    );
    drop(snap);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let who = Principal::operator();
    let mut batches = tracer.imported_batches();
    batches.shuffle(&mut rng);
    batches.truncate(queries);
    let establishments: Vec<(String, Vec<uuid::Uuid>)> = tracer
        .establishments()
        .into_iter()
        .take(queries.min(20))
        .collect();
    let stores = tracer.enterprises_of_kind("first_station_cold_store");
    let year = 365 * 86_400_000i64;
    let base = jiff::Timestamp::from_second(1_767_196_800)
        .expect("2026-01-01")
        .as_millisecond();
    let windows: Vec<(uuid::Uuid, i64, i64)> = (0..queries.min(50))
        .filter_map(|i| {
            let s = *stores.get(i % stores.len().max(1))?;
            let from = base + (i as i64 * 7 * 86_400_000) % year;
            Some((s, from, from + 7 * 86_400_000))
        })
        .collect();

    // The engine: search and full answer, in memory.
    let mut rows: Vec<Row> = Vec::new();
    let mut single = Vec::new();
    let mut single_lots = 0usize;
    for b in &batches {
        let t = Instant::now();
        let a = tracer.answer(
            Start::Batches(vec![*b]),
            Direction::Both,
            TimeMode::Strict,
            &who,
        );
        single.push(t.elapsed().as_secs_f64() * 1e6);
        single_lots += a.lots.len();
        std::hint::black_box(a);
    }
    println!(
        "single-batch answers list {:.1} lots on average ({} answers)",
        single_lots as f64 / single.len().max(1) as f64,
        single.len()
    );
    let mut est = Vec::new();
    let mut est_sizes = Vec::new();
    for (_, bs) in &establishments {
        let t = Instant::now();
        let a = tracer.answer(
            Start::Batches(bs.clone()),
            Direction::Both,
            TimeMode::Strict,
            &who,
        );
        est.push(t.elapsed().as_secs_f64() * 1e6);
        est_sizes.push(bs.len());
        std::hint::black_box(a);
    }
    let mut win = Vec::new();
    for (s, from, to) in &windows {
        let t = Instant::now();
        let a = tracer
            .trace(
                store.as_ref(),
                &coldtrace_service::TraceRequest {
                    from: coldtrace_service::TraceFrom::Place {
                        enterprise: *s,
                        from_ms: *from,
                        to_ms: *to,
                    },
                    direction: Direction::Forward,
                    mode: TimeMode::Strict,
                },
                &who,
            )
            .await?;
        win.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(a);
    }

    let mean_est = est_sizes.iter().sum::<usize>() as f64 / est_sizes.len().max(1) as f64;
    if pg_store.is_some() || sql_queries == 0 {
        // The CTE baselines read a SQLite file; `coldtrace gen` with the same seed gives the same data there. With
        // `--sql-queries 0` the engine's figures come without building the baselines' tables (minutes at 10^7).
        println!();
        println!(
            "| query class | engine n | engine p50 | engine p99 |\n|---|---:|---:|---:|\n| single batch, both directions | {} |\n| establishment ({:.0} batches), both directions | {} |\n| cold store, 7-day window, forward | {} |",
            row_of(&figures(single)),
            mean_est,
            row_of(&figures(est)),
            row_of(&figures(win))
        );
        if pg_store.is_some() {
            println!(
                "(the recursive-CTE baselines run on a SQLite store: generate the same seed with `coldtrace gen --data DIR` and run this on it)"
            );
        } else if pg_url.is_some() {
            println!("(--sql-queries 0: no recursive-CTE baselines, in SQLite or PostgreSQL)");
        }
        return Ok(());
    }

    // The same queries as recursive CTEs in SQLite, on the same file.
    let aux =
        std::env::temp_dir().join(format!("coldtrace-bench-aux-{}.sqlite", std::process::id()));
    let (conn, prep) = prepare_sql(&coldtrace_store_sqlite::store_path(data), &aux)?;
    println!("SQLite: edge and party tables built in {prep:.1} s (not timed below)");
    let mut s_single = Vec::new();
    for b in batches.iter().take(sql_queries) {
        seed_batches(&conn, &[*b])?;
        let t = Instant::now();
        std::hint::black_box(sql_trace(&conn, true, true)?);
        s_single.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mut s_est = Vec::new();
    for (_, bs) in establishments.iter().take(sql_queries.min(5)) {
        seed_batches(&conn, bs)?;
        let t = Instant::now();
        std::hint::black_box(sql_trace(&conn, true, true)?);
        s_est.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mut s_win = Vec::new();
    for (s, _, to) in windows.iter().take(sql_queries) {
        let key = tracer.party_of(s).context("party")?;
        let t = Instant::now();
        seed_place(&conn, &key, *to)?;
        std::hint::black_box(sql_trace(&conn, true, false)?);
        s_win.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mut pg_figs: Option<[Vec<f64>; 3]> = None;
    if let Some(url) = pg_url {
        let (client, secs) = pg::prepare(url, &conn)
            .await
            .context("loading PostgreSQL")?;
        println!("PostgreSQL: the same tables copied and indexed in {secs:.1} s (not timed below)");
        let mut f: [Vec<f64>; 3] = Default::default();
        for b in batches.iter().take(sql_queries) {
            pg::seed_batches(&client, &[*b]).await?;
            let t = Instant::now();
            std::hint::black_box(pg::trace(&client, true, true).await?);
            f[0].push(t.elapsed().as_secs_f64() * 1e6);
        }
        for (_, bs) in establishments.iter().take(sql_queries.min(5)) {
            pg::seed_batches(&client, bs).await?;
            let t = Instant::now();
            std::hint::black_box(pg::trace(&client, true, true).await?);
            f[1].push(t.elapsed().as_secs_f64() * 1e6);
        }
        for (s, _, to) in windows.iter().take(sql_queries) {
            let key = tracer.party_of(s).context("party")?;
            let t = Instant::now();
            pg::seed_place(&client, &key, *to).await?;
            std::hint::black_box(pg::trace(&client, true, false).await?);
            f[2].push(t.elapsed().as_secs_f64() * 1e6);
        }
        if std::env::var_os("COLDTRACE_BENCH_KEEP_PG").is_none() {
            client
                .batch_execute("DROP SCHEMA IF EXISTS coldtrace_bench CASCADE")
                .await?;
        }
        pg_figs = Some(f);
    }
    drop(conn);
    let _ = std::fs::remove_file(&aux);
    let mut pg_iter = pg_figs.map(|f| f.into_iter().map(figures).collect::<Vec<_>>().into_iter());
    let mut next_pg = || pg_iter.as_mut().and_then(|i| i.next());

    rows.push(Row {
        class: "single batch, both directions".into(),
        engine: figures(single),
        sqlite: figures(s_single),
        postgres: next_pg(),
    });
    rows.push(Row {
        class: format!("establishment ({mean_est:.0} batches), both directions"),
        engine: figures(est),
        sqlite: figures(s_est),
        postgres: next_pg(),
    });
    rows.push(Row {
        class: "cold store, 7-day window, forward".into(),
        engine: figures(win),
        sqlite: figures(s_win),
        postgres: next_pg(),
    });
    println!();
    println!(
        "| query class | engine n | engine p50 | engine p99 | SQLite CTE n | SQLite p50 | SQLite p99 | SQLite/engine p50 | PostgreSQL CTE n | PostgreSQL p50 | PostgreSQL p99 | PostgreSQL/engine p50 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let s = &r.sqlite;
        let pg = match &r.postgres {
            Some(p) => format!(
                "{} | {} | {} | {:.0}x",
                p.n,
                fmt_us(p.p50),
                fmt_us(p.p99),
                p.p50 / r.engine.p50.max(0.001)
            ),
            None => "- | - | - | -".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0}x | {pg} |",
            r.class,
            r.engine.n,
            fmt_us(r.engine.p50),
            fmt_us(r.engine.p99),
            s.n,
            fmt_us(s.p50),
            fmt_us(s.p99),
            s.p50 / r.engine.p50.max(0.001)
        );
    }
    Ok(())
}

/// PostgreSQL: the same tables (edges, movements, lines, parties) copied from the SQLite file, with the same
/// indexes, queried with the same recursive CTEs.
pub mod pg {
    use std::time::Instant;

    use bytes::Bytes;
    use futures_util::SinkExt;
    use rusqlite::Connection;
    use tokio_postgres::{Client, NoTls};

    fn esc(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
    }

    async fn copy(
        client: &Client,
        into: &str,
        conn: &Connection,
        select: &str,
        cols: usize,
    ) -> anyhow::Result<u64> {
        let sink = client.copy_in(&format!("COPY {into} FROM STDIN")).await?;
        futures_util::pin_mut!(sink);
        let mut st = conn.prepare(select)?;
        let mut q = st.query([])?;
        let mut buf = String::with_capacity(1 << 20);
        let mut n = 0;
        while let Some(r) = q.next()? {
            for c in 0..cols {
                if c > 0 {
                    buf.push('\t');
                }
                match r.get_ref(c)? {
                    rusqlite::types::ValueRef::Null => buf.push_str("\\N"),
                    rusqlite::types::ValueRef::Integer(i) => buf.push_str(&i.to_string()),
                    rusqlite::types::ValueRef::Real(f) => buf.push_str(&f.to_string()),
                    rusqlite::types::ValueRef::Text(t) => {
                        buf.push_str(&esc(&String::from_utf8_lossy(t)))
                    }
                    rusqlite::types::ValueRef::Blob(_) => buf.push_str("\\N"),
                }
            }
            buf.push('\n');
            n += 1;
            if buf.len() > (1 << 20) {
                sink.send(Bytes::from(std::mem::take(&mut buf))).await?;
            }
        }
        if !buf.is_empty() {
            sink.send(Bytes::from(buf)).await?;
        }
        sink.finish().await?;
        Ok(n)
    }

    /// Connects and loads the data; returns the client and the seconds the load took.
    pub async fn prepare(url: &str, conn: &Connection) -> anyhow::Result<(Client, f64)> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let t = Instant::now();
        client
            .batch_execute(
                "DROP SCHEMA IF EXISTS coldtrace_bench CASCADE; CREATE SCHEMA coldtrace_bench; SET search_path = coldtrace_bench;
                 CREATE UNLOGGED TABLE trace_edges (fb uuid NOT NULL, fh uuid NOT NULL, tb uuid NOT NULL, th uuid NOT NULL, t bigint NOT NULL);
                 CREATE UNLOGGED TABLE moves (seq bigint NOT NULL, batch_id uuid, holder_key uuid NOT NULL, kind text NOT NULL, quantity_milli bigint NOT NULL, at_ms bigint NOT NULL);
                 CREATE UNLOGGED TABLE lines (movement_seq bigint NOT NULL, role text NOT NULL, batch_id uuid NOT NULL, quantity_milli bigint NOT NULL);
                 CREATE UNLOGGED TABLE party (h uuid PRIMARY KEY, name text, region text, phone text);",
            )
            .await?;
        copy(
            &client,
            "trace_edges",
            conn,
            "SELECT fb, fh, tb, th, t FROM aux.trace_edges",
            5,
        )
        .await?;
        copy(
            &client,
            "moves",
            conn,
            "SELECT seq, batch_id, holder_key, kind, quantity_milli, at_ms FROM aux.mv",
            6,
        )
        .await?;
        copy(
            &client,
            "lines",
            conn,
            "SELECT movement_seq, role, batch_id, quantity_milli FROM aux.ml",
            4,
        )
        .await?;
        copy(
            &client,
            "party",
            conn,
            "SELECT h, name, region, phone FROM aux.party",
            4,
        )
        .await?;
        client
            .batch_execute(
                "CREATE INDEX ON trace_edges (fb, fh, t); CREATE INDEX ON trace_edges (tb, th, t);
                 CREATE INDEX ON moves (batch_id, holder_key); CREATE INDEX ON moves (seq); CREATE INDEX ON moves (holder_key, at_ms);
                 CREATE INDEX ON lines (batch_id); ANALYZE;
                 CREATE TEMP TABLE seeds (b uuid NOT NULL, h uuid NOT NULL, PRIMARY KEY (b, h));
                 -- The planner cannot size a recursive worktable and picks hash joins that scan every edge; the
                 -- index plan is the fast one for traces, so the comparison gives PostgreSQL that plan.
                 SET enable_hashjoin = off; SET enable_mergejoin = off;
                 -- JIT compiles each query for ~200 ms because the worktable's estimate is large; off, as for OLTP.
                 SET jit = off;",
            )
            .await?;
        Ok((client, t.elapsed().as_secs_f64()))
    }

    const ANSWER: &str = "SELECT lots.b, lots.h, lots.at, p.name, p.region, p.phone,
        (SELECT COALESCE(SUM(CASE WHEN m.kind = 'receive' THEN m.quantity_milli
                                  WHEN m.kind IN ('ship', 'sell', 'destroy', 'return') THEN -m.quantity_milli ELSE 0 END), 0)
           FROM moves m WHERE m.batch_id = lots.b AND m.holder_key = lots.h)
        + (SELECT COALESCE(SUM(CASE WHEN l.role = 'out' THEN l.quantity_milli ELSE -l.quantity_milli END), 0)
           FROM lines l JOIN moves m3 ON m3.seq = l.movement_seq WHERE l.batch_id = lots.b AND m3.holder_key = lots.h)
      FROM lots LEFT JOIN party p ON p.h = lots.h";

    pub async fn seed_batches(client: &Client, batches: &[uuid::Uuid]) -> anyhow::Result<()> {
        client.execute("TRUNCATE seeds", &[]).await?;
        let st = client
            .prepare(
                "INSERT INTO seeds SELECT batch_id, holder_key FROM moves WHERE batch_id = $1
                 UNION SELECT fb, fh FROM trace_edges WHERE fb = $1 UNION SELECT tb, th FROM trace_edges WHERE tb = $1
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        for b in batches {
            client.execute(&st, &[b]).await?;
        }
        Ok(())
    }

    pub async fn seed_place(
        client: &Client,
        holder: &uuid::Uuid,
        to_ms: i64,
    ) -> anyhow::Result<()> {
        client.execute("TRUNCATE seeds", &[]).await?;
        client
            .execute(
                "INSERT INTO seeds SELECT DISTINCT batch_id, holder_key FROM moves
                  WHERE holder_key = $1 AND at_ms <= $2 AND batch_id IS NOT NULL
                 ON CONFLICT DO NOTHING",
                &[holder, &to_ms],
            )
            .await?;
        Ok(())
    }

    pub async fn trace(client: &Client, forward: bool, backward: bool) -> anyhow::Result<usize> {
        let mut n = 0;
        if forward {
            let sql = format!(
                "WITH RECURSIVE fwd(b, h, at) AS (
                   SELECT b, h, 0::bigint FROM seeds
                   UNION
                   SELECT e.tb, e.th, e.t FROM fwd JOIN trace_edges e ON e.fb = fwd.b AND e.fh = fwd.h AND e.t >= fwd.at
                 ), lots AS (SELECT b, h, MIN(at) AS at FROM fwd GROUP BY b, h) {ANSWER}"
            );
            n += client.query(&sql, &[]).await?.len();
        }
        if backward {
            let sql = format!(
                "WITH RECURSIVE bwd(b, h, at) AS (
                   SELECT b, h, 9223372036854775807::bigint FROM seeds
                   UNION
                   SELECT e.fb, e.fh, e.t FROM bwd JOIN trace_edges e ON e.tb = bwd.b AND e.th = bwd.h AND e.t <= bwd.at
                 ), lots AS (SELECT b, h, MAX(at) AS at FROM bwd GROUP BY b, h) {ANSWER}"
            );
            n += client.query(&sql, &[]).await?.len();
        }
        Ok(n)
    }
}
