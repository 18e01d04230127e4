//! The submission transaction on PostgreSQL: the writer of `coldtrace_store::writer` answered from this store's
//! tables. A submission runs on a blocking thread, with the transaction's statements sent through the async client
//! (`Handle::block_on`); it first takes the submission lock, so movement sequence numbers are given in commit
//! order and a node following the movement log never passes a row that is yet to commit.

use std::collections::{BTreeSet, HashMap, HashSet};

use coldtrace_domain::checks::{CheckPolicy, LotStock, Violation};
use coldtrace_domain::docking::{Message, NativeCode};
use coldtrace_domain::{
    Batch, BatchRef, Counterparty, Document, Enterprise, Handler, Movement, Product, TraceCode,
};
use coldtrace_store::report::{Fresh, ReportSource};
use coldtrace_store::writer::held::{HeldFlags, STOCK_COLUMNS, StockDelta, earliest};
use coldtrace_store::writer::{
    self, CustomsRefusal, KeptStock, Ledger, MovementRefs, RecordKind, StockColumn,
};
use coldtrace_store::{DockingConfig, SubmitOutcome, SubmitRequest};
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{Error, Result, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

/// Taken first by every transaction that writes records or the outbox.
pub(crate) const SUBMIT_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('coldtrace:submit:' || current_schema())::bigint)";

/// A movement that no later record corrects (SQL, over `movements m`; the writer keeps `superseded_by`).
pub(crate) const CURRENT: &str = "m.superseded_by IS NULL";

/// The start of every `UPDATE` by which the platform resolves findings that later records settled, with the
/// time as parameter `$1` (append the `WHERE`).
pub(crate) const RESOLVE_BY_RECORDS: &str =
    "UPDATE findings SET status = 'resolved', closed_at = $1,
    closed_by = 'platform', reason = 'put right by later records'";

/// Runs one submission through the writer in its own transaction, committed when the writer accepts it.
pub(crate) fn submit_blocking(
    mut writer: crate::Writer,
    req: SubmitRequest,
    docking: Option<DockingConfig>,
) -> StoreResult<SubmitOutcome> {
    let rt = Handle::current();
    let tx = rt.block_on(crate::begin_locked(&mut writer.client))?;
    let out = {
        let mut l = PgLedger::open(&tx, rt.clone(), docking.as_ref());
        // On an error the transaction is dropped, which rolls it back: nothing of a refused submission is kept.
        writer::submit(&mut l, &req, now_ms())?
    };
    if !out.replayed {
        // Other nodes' trace indexes catch up at this commit.
        rt.block_on(tx.execute(crate::listen::NOTIFY_RECORDS, &[]))
            .map_err(Error::from)?;
        rt.block_on(tx.commit()).map_err(Error::from)?;
    }
    Ok(out)
}

/// The ledger of one open PostgreSQL transaction.
pub(crate) struct PgLedger<'a> {
    tx: &'a deadpool_postgres::Transaction<'a>,
    rt: Handle,
    /// The sequence number of the next movement, read when the first is stored (the submission lock is held).
    next_seq: Option<i64>,
    /// Numbers (`ids.n`) of ids, counterparties and people looked up in this transaction (dropped with it).
    ids: HashMap<Uuid, i64>,
    counterparties: HashMap<(String, String), i64>,
    people: HashMap<[String; 5], i64>,
    docking: Option<&'a DockingConfig>,
    /// Movement fingerprints known in this transaction (read ahead, or written): `None` for an id not stored.
    fps: HashMap<Uuid, Option<i64>>,
    /// Sequence numbers of the movements this transaction wrote, by id.
    seqs: HashMap<Uuid, i64>,
    /// Rows held back to be written in one statement per table ([`Ledger::flush`]).
    pending: Pending,
    /// Lots' stock as stored, read once or ahead ([`Ledger::prefetch_lots`]); the held-back changes are added
    /// when a lot is asked about, so a read does not write them first. Dropped when stock is written.
    stock_stored: HashMap<(Uuid, Uuid), KeptStock>,
}

/// Movements (their handlers on their rows), their lines, and lot stock changes not yet written.
#[derive(Default)]
struct Pending {
    movements: MovementRows,
    lines: LineRows,
    /// Per lot (batch, holder): what to add to each column, and the earliest arrival and departure and the last
    /// movement among the changes.
    stock: HashMap<(i64, i64), StockDelta>,
    /// Findings flagged, once per subject: a rule broken by every movement of a bulk ledger (papers missing on
    /// each sale) is written once with its last movement, not once per movement (in PostgreSQL each update of a
    /// row leaves a version behind that the next must step over).
    flags: HeldFlags,
    /// Findings to close as put right by later records, by subject, with the time: written in one statement.
    /// A subject is never both flagged and to be resolved here (each flushes the other first), so the two lists
    /// may be written in either order.
    resolves: Vec<(String, i64)>,
    resolving: HashSet<String>,
    /// Receipts that answer shipments found in transit (batch, sender, receiver, time), each once: their
    /// findings are closed in one statement with the other resolutions, not one per receipt.
    in_transit: HashSet<(Uuid, Uuid, Uuid, i64)>,
}

/// Transformation lines, one vector per column of `movement_lines`.
#[derive(Default)]
struct LineRows {
    movement_seq: Vec<i64>,
    holder_province: Vec<String>,
    role: Vec<&'static str>,
    batch: Vec<i64>,
    quantity: Vec<i64>,
}

/// The columns of `movements`, one vector each, in the order of [`INSERT_MOVEMENTS`].
#[derive(Default)]
struct MovementRows {
    seq: Vec<i64>,
    id: Vec<Uuid>,
    kind: Vec<&'static str>,
    holder: Vec<i64>,
    holder_province: Vec<String>,
    holder_key: Vec<i64>,
    batch: Vec<Option<i64>>,
    quantity: Vec<i64>,
    at_ms: Vec<i64>,
    at_ns: Vec<Option<i64>>,
    at_offset: Vec<i32>,
    counterparty: Vec<Option<i64>>,
    counterparty_id: Vec<Option<i64>>,
    location: Vec<Option<String>>,
    note: Vec<Option<String>>,
    corrects: Vec<Option<i64>>,
    fp: Vec<i64>,
    recorded_at: Vec<i64>,
    /// The people who handled it (`people.n`, in the order written) as an array literal, none when nobody.
    handlers: Vec<Option<String>>,
}

impl MovementRows {
    /// The held-back rows that send goods of batch `b` onward (ship, sell, return), from `holder` when given.
    fn shipments(&self, b: i64, holder: Option<i64>) -> impl Iterator<Item = usize> + '_ {
        (0..self.seq.len()).filter(move |&i| {
            self.batch[i] == Some(b)
                && matches!(self.kind[i], "ship" | "sell" | "return")
                && holder.is_none_or(|h| h == self.holder[i])
        })
    }
}

const INSERT_MOVEMENTS: &str = "INSERT INTO movements (seq, id, kind, holder, holder_province, holder_key, batch,
        quantity_milli, at_ms, at_ns, at_offset, counterparty, counterparty_id, location, note, corrects, fp,
        recorded_at, handlers)
    SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19::BIGINT[]
    FROM unnest($1::BIGINT[], $2::UUID[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::BIGINT[],
        $7::BIGINT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::INTEGER[], $12::BIGINT[], $13::BIGINT[],
        $14::TEXT[], $15::TEXT[], $16::BIGINT[], $17::BIGINT[], $18::BIGINT[], $19::TEXT[])
        AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19)";

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<'a> PgLedger<'a> {
    /// The ledger of an open transaction that holds the submission lock.
    pub(crate) fn open(
        tx: &'a deadpool_postgres::Transaction<'a>,
        rt: Handle,
        docking: Option<&'a DockingConfig>,
    ) -> Self {
        PgLedger {
            tx,
            rt,
            next_seq: None,
            ids: HashMap::new(),
            counterparties: HashMap::new(),
            people: HashMap::new(),
            docking,
            fps: HashMap::new(),
            seqs: HashMap::new(),
            pending: Pending::default(),
            stock_stored: HashMap::new(),
        }
    }

    /// Closes the findings queued by [`Ledger::resolve`] and [`Ledger::resolve_in_transit`], one statement per
    /// time given.
    fn write_resolves(&mut self) -> Result<()> {
        let queued = std::mem::take(&mut self.pending.resolves);
        self.pending.resolving.clear();
        for run in queued.chunk_by(|a, b| a.1 == b.1) {
            let subjects: Vec<&str> = run.iter().map(|(s, _)| s.as_str()).collect();
            self.exec(
                &format!("{RESOLVE_BY_RECORDS} WHERE subject = ANY($2) AND status = 'open'"),
                &[&run[0].1, &subjects],
            )?;
        }
        let mut queued: Vec<_> = std::mem::take(&mut self.pending.in_transit)
            .into_iter()
            .collect();
        queued.sort_unstable_by_key(|q| q.3);
        for run in queued.chunk_by(|a, b| a.3 == b.3) {
            let batches: Vec<Uuid> = run.iter().map(|q| q.0).collect();
            let senders: Vec<Uuid> = run.iter().map(|q| q.1).collect();
            let receivers: Vec<Uuid> = run.iter().map(|q| q.2).collect();
            // The batch's open in-transit findings first (most receipts have none), then whether the shipment
            // each names went from the sender to the receiver. The sweep opens these findings about stored
            // movements and the writer never flags them, so nothing held back bears on this statement.
            self.exec(
                &format!(
                    "{RESOLVE_BY_RECORDS}
                     FROM unnest($2::UUID[], $3::UUID[], $4::UUID[]) AS q(batch, sender, receiver)
                     WHERE findings.rule = 'in_transit' AND findings.status = 'open' AND findings.batch = q.batch
                       AND EXISTS (SELECT 1 FROM movements m WHERE m.id = findings.movement
                            AND m.batch = (SELECT n FROM ids WHERE id = q.batch)
                            AND m.holder = (SELECT n FROM ids WHERE id = q.sender)
                            AND m.counterparty_id = (SELECT n FROM ids WHERE id = q.receiver))"
                ),
                &[&run[0].3, &batches, &senders, &receivers],
            )?;
        }
        Ok(())
    }

    /// Writes the findings flagged and not yet written.
    fn write_flags(&mut self) -> Result<()> {
        self.write_resolves()?;
        for (subject, f) in self.pending.flags.take() {
            let updated = self.exec(
                // A new record that breaks the rule again makes an earlier answer moot.
                "UPDATE findings SET message = $2, movement = COALESCE($3, movement),
                    answer_note = CASE WHEN $3 IS NOT NULL AND $3 IS DISTINCT FROM movement THEN NULL ELSE answer_note END,
                    answer_record = CASE WHEN $3 IS NOT NULL AND $3 IS DISTINCT FROM movement THEN NULL ELSE answer_record END,
                    answered_by = CASE WHEN $3 IS NOT NULL AND $3 IS DISTINCT FROM movement THEN NULL ELSE answered_by END,
                    answered_at = CASE WHEN $3 IS NOT NULL AND $3 IS DISTINCT FROM movement THEN NULL ELSE answered_at END
                 WHERE subject = $1 AND status = 'open'",
                &[&subject, &f.message, &f.movement],
            )?;
            if updated == 0 {
                self.exec(
                    "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement,
                        message, opened_at)
                     VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9)",
                    &[
                        &Uuid::now_v7(),
                        &f.rule,
                        &subject,
                        &f.enterprise.to_string(),
                        &f.province,
                        &f.batch,
                        &f.movement,
                        &f.message,
                        &f.now,
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Writes the held-back rows, one statement per table, and the findings flagged.
    fn write_pending(&mut self) -> Result<()> {
        self.write_flags()?;
        if !self.pending.stock.is_empty() {
            self.stock_stored.clear();
        }
        let p = std::mem::take(&mut self.pending);
        let m = &p.movements;
        if !m.seq.is_empty() {
            self.exec(
                INSERT_MOVEMENTS,
                &[
                    &m.seq,
                    &m.id,
                    &m.kind,
                    &m.holder,
                    &m.holder_province,
                    &m.holder_key,
                    &m.batch,
                    &m.quantity,
                    &m.at_ms,
                    &m.at_ns,
                    &m.at_offset,
                    &m.counterparty,
                    &m.counterparty_id,
                    &m.location,
                    &m.note,
                    &m.corrects,
                    &m.fp,
                    &m.recorded_at,
                    &m.handlers,
                ],
            )?;
            if m.corrects.iter().any(Option::is_some) {
                // The rows these correct are no longer current: each names its latest correction.
                self.exec(
                    "UPDATE movements t SET superseded_by = x.latest
                       FROM (SELECT c, MAX(s) AS latest FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(s, c)
                              WHERE c IS NOT NULL GROUP BY c) x
                      WHERE t.seq = x.c AND (t.superseded_by IS NULL OR t.superseded_by < x.latest)",
                    &[&m.seq, &m.corrects],
                )?;
            }
        }
        if !p.lines.movement_seq.is_empty() {
            // In the order written: the line number keeps it for reading back.
            self.exec(
                "INSERT INTO movement_lines (movement_seq, holder_province, role, batch, quantity_milli)
                 SELECT s, pr, r, b, q
                   FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[])
                        WITH ORDINALITY AS l(s, pr, r, b, q, o) ORDER BY o",
                &[
                    &p.lines.movement_seq,
                    &p.lines.holder_province,
                    &p.lines.role,
                    &p.lines.batch,
                    &p.lines.quantity,
                ],
            )?;
        }
        if !p.stock.is_empty() {
            let mut cols: Vec<Vec<i64>> = vec![Vec::new(); 10];
            let (mut first_in, mut first_out, mut last_at) = (Vec::new(), Vec::new(), Vec::new());
            for ((b, h), d) in &p.stock {
                cols[0].push(*b);
                cols[1].push(*h);
                for (i, v) in d.cols.iter().enumerate() {
                    cols[2 + i].push(*v);
                }
                first_in.push(d.first_in);
                first_out.push(d.first_out);
                last_at.push(d.last_at);
            }
            let add: Vec<String> = STOCK_COLUMNS
                .iter()
                .map(|c| format!("{0} = s.{0} + EXCLUDED.{0}", c.as_str()))
                .collect();
            self.exec(
                &format!(
                    "INSERT INTO lot_stock AS s (batch, holder, received, produced, reported_inbound, shipped,
                        sold, consumed, destroyed, returned, first_in, first_out, last_at)
                     SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[],
                        $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[],
                        $12::BIGINT[], $13::BIGINT[])
                     ON CONFLICT (batch, holder) DO UPDATE SET {},
                        first_in = LEAST(s.first_in, EXCLUDED.first_in),
                        first_out = LEAST(s.first_out, EXCLUDED.first_out),
                        last_at = GREATEST(s.last_at, EXCLUDED.last_at)",
                    add.join(", ")
                ),
                &[
                    &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6], &cols[7],
                    &cols[8], &cols[9], &first_in, &first_out, &last_at,
                ],
            )?;
        }
        Ok(())
    }
}

impl PgLedger<'_> {
    pub(crate) fn rows(&self, sql: &str, p: Params<'_>) -> Result<Vec<Row>> {
        self.rt.block_on(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query(&st, p).await?)
        })
    }

    pub(crate) fn row(&self, sql: &str, p: Params<'_>) -> Result<Option<Row>> {
        self.rt.block_on(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query_opt(&st, p).await?)
        })
    }

    pub(crate) fn exec(&self, sql: &str, p: Params<'_>) -> Result<u64> {
        self.rt.block_on(async {
            let st = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&st, p).await?)
        })
    }

    /// The first column of the first row, when there is a row and the value is not null.
    pub(crate) fn value<T: for<'r> tokio_postgres::types::FromSql<'r>>(
        &self,
        sql: &str,
        p: Params<'_>,
    ) -> Result<Option<T>> {
        Ok(match self.row(sql, p)? {
            Some(r) => r.get::<_, Option<T>>(0),
            None => None,
        })
    }

    fn exists(&self, sql: &str, p: Params<'_>) -> Result<bool> {
        Ok(self.row(sql, p)?.is_some())
    }

    /// The number of an id, stored the first time it is referred to.
    fn n(&mut self, id: Uuid) -> Result<i64> {
        if let Some(n) = self.ids.get(&id) {
            return Ok(*n);
        }
        let n: i64 = match self.value("SELECT n FROM ids WHERE id = $1", &[&id])? {
            Some(n) => n,
            None => self
                .row("INSERT INTO ids (id) VALUES ($1) RETURNING n", &[&id])?
                .ok_or_else(|| Error::Unreadable("ids: no number returned".into()))?
                .get(0),
        };
        self.ids.insert(id, n);
        Ok(n)
    }

    /// A counterparty as named (USCC or none, name), stored once with its party key.
    fn counterparty_n(&mut self, cp: &Counterparty) -> Result<i64> {
        let uscc = cp.uscc.as_ref().map(|u| u.as_str()).unwrap_or("");
        let key = (uscc.to_string(), cp.name.clone());
        if let Some(n) = self.counterparties.get(&key) {
            return Ok(*n);
        }
        let party = self.n(cp.party_key())?;
        let n: i64 = match self.value(
            "SELECT n FROM counterparties WHERE uscc = $1 AND name = $2",
            &[&uscc, &cp.name],
        )? {
            Some(n) => n,
            None => self
                .row(
                    "INSERT INTO counterparties (uscc, name, party) VALUES ($1, $2, $3) RETURNING n",
                    &[&uscc, &cp.name, &party],
                )?
                .ok_or_else(|| Error::Unreadable("counterparties: no number returned".into()))?
                .get(0),
        };
        self.counterparties.insert(key, n);
        Ok(n)
    }

    /// A handler as written, stored once with their person key.
    fn person_n(&mut self, key: &str, h: &Handler) -> Result<i64> {
        let part = |v: &Option<String>| v.clone().unwrap_or_default();
        let whole = [
            key.to_string(),
            h.name.clone(),
            part(&h.id_no),
            part(&h.phone),
            part(&h.role),
        ];
        if let Some(n) = self.people.get(&whole) {
            return Ok(*n);
        }
        let [k, name, id_no, phone, role] = &whole;
        let n: i64 = match self.value(
            "SELECT n FROM people WHERE person_key = $1 AND name = $2 AND id_no = $3 AND phone = $4
               AND role = $5",
            &[k, name, id_no, phone, role],
        )? {
            Some(n) => n,
            None => self
                .row(
                    "INSERT INTO people (person_key, name, id_no, phone, role) VALUES ($1, $2, $3, $4, $5)
                     RETURNING n",
                    &[k, name, id_no, phone, role],
                )?
                .ok_or_else(|| Error::Unreadable("people: no number returned".into()))?
                .get(0),
        };
        self.people.insert(whole, n);
        Ok(n)
    }

    /// A record's id and fingerprint found by a natural-key query selecting `id, fp`.
    fn id_fp(&self, sql: &str, p: Params<'_>) -> Result<Option<(Uuid, String)>> {
        Ok(self.row(sql, p)?.map(|r| (r.get(0), r.get(1))))
    }

    /// A lot's stock counted from its current records, with its first arrival and first departure.
    fn stock_from_records(&self, batch: i64, holder: i64) -> Result<KeptStock> {
        let mut s = LotStock::default();
        let r = self
            .row(
                &format!(
                    "SELECT
                        COALESCE(SUM(CASE WHEN kind = 'receive' THEN quantity_milli END), 0)::BIGINT,
                        COALESCE(SUM(CASE WHEN kind = 'ship' THEN quantity_milli END), 0)::BIGINT,
                        COALESCE(SUM(CASE WHEN kind = 'sell' THEN quantity_milli END), 0)::BIGINT,
                        COALESCE(SUM(CASE WHEN kind = 'destroy' THEN quantity_milli END), 0)::BIGINT,
                        COALESCE(SUM(CASE WHEN kind = 'return' THEN quantity_milli END), 0)::BIGINT,
                        MIN(CASE WHEN kind = 'receive' THEN at_ms END),
                        MIN(CASE WHEN kind IN ('ship', 'sell', 'return', 'destroy') THEN at_ms END)
                     FROM movements m WHERE batch = $1 AND holder = $2 AND {CURRENT}"
                ),
                &[&batch, &holder],
            )?
            .ok_or_else(|| Error::Unreadable("lot stock: no row".into()))?;
        (s.received, s.shipped, s.sold, s.destroyed, s.returned) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let (first_receipt, first_sent): (Option<i64>, Option<i64>) = (r.get(5), r.get(6));
        let r = self
            .row(
                &format!(
                    "SELECT
                        COALESCE(SUM(CASE WHEN l.role = 'out' THEN l.quantity_milli END), 0)::BIGINT,
                        COALESCE(SUM(CASE WHEN l.role = 'in' THEN l.quantity_milli END), 0)::BIGINT,
                        MIN(CASE WHEN l.role = 'out' THEN m.at_ms END),
                        MIN(CASE WHEN l.role = 'in' THEN m.at_ms END)
                     FROM movement_lines l
                        JOIN movements m ON m.holder_province = l.holder_province AND m.seq = l.movement_seq
                     WHERE l.batch = $1 AND m.holder = $2 AND {CURRENT}"
                ),
                &[&batch, &holder],
            )?
            .ok_or_else(|| Error::Unreadable("lot stock: no row".into()))?;
        (s.produced, s.consumed) = (r.get(0), r.get(1));
        let (first_made, first_used): (Option<i64>, Option<i64>) = (r.get(2), r.get(3));
        s.reported_inbound = self
            .value(
                &format!(
                    "SELECT COALESCE(SUM(quantity_milli), 0)::BIGINT FROM movements m
                     WHERE batch = $1 AND counterparty_id = $2 AND kind IN ('ship', 'sell', 'return')
                       AND {CURRENT}"
                ),
                &[&batch, &holder],
            )?
            .unwrap_or(0);
        Ok((
            s,
            earliest(first_receipt, first_made),
            earliest(first_sent, first_used),
        ))
    }

    fn push(&self, now: i64, body: Message) -> Result<()> {
        self.rt.block_on(crate::outbox::push(&**self.tx, now, body))
    }
}

/// The id as it is stored for the lean layout's number `n`.
const ID_OF: &str = "(SELECT id FROM ids WHERE n = ";

impl Ledger for PgLedger<'_> {
    fn prior_submission(
        &mut self,
        subject: &str,
        key: &str,
    ) -> StoreResult<Option<(String, String)>> {
        Ok(self
            .row(
                "SELECT request_hash, response FROM submissions WHERE subject = $1 AND idem_key = $2",
                &[&subject, &key],
            )?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn record_submission(
        &mut self,
        subject: &str,
        key: &str,
        request_hash: &str,
        response: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO submissions (subject, idem_key, request_hash, response, recorded_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&subject, &key, &request_hash, &response, &now],
        )?;
        Ok(())
    }

    fn stored_fp(&mut self, kind: RecordKind, id: Uuid) -> StoreResult<Option<String>> {
        let sql = match kind {
            RecordKind::Enterprise => "SELECT fp FROM enterprises WHERE id = $1",
            RecordKind::Product => "SELECT fp FROM products WHERE id = $1",
            RecordKind::Batch => "SELECT fp FROM batches WHERE id = $1",
            RecordKind::Document => "SELECT fp FROM documents WHERE id = $1",
            RecordKind::Movement => {
                return Err(coldtrace_store::StoreError::Task(
                    "a movement's fingerprint is movement_fp".into(),
                ));
            }
        };
        Ok(self.value(sql, &[&id])?)
    }

    fn movement_fp(&mut self, id: Uuid) -> StoreResult<Option<i64>> {
        if let Some(fp) = self.fps.get(&id) {
            return Ok(*fp);
        }
        Ok(self.value("SELECT fp FROM movements WHERE id = $1", &[&id])?)
    }

    fn prefetch_movements(&mut self, movements: &[Movement]) -> StoreResult<()> {
        if movements.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = movements.iter().map(|m| m.id).collect();
        for id in &ids {
            self.fps.insert(*id, None);
        }
        for r in self.rows(
            "SELECT m.id, m.fp FROM unnest($1::UUID[]) AS w(id) JOIN movements m ON m.id = w.id",
            &[&ids],
        )? {
            self.fps.insert(r.get(0), Some(r.get(1)));
        }
        // The dictionaries the movements will name, stored once (a refused submission rolls them back with
        // the rest): counterparties with their party keys, and the people who handled goods.
        let mut parties: Vec<Uuid> = Vec::new();
        let (mut usccs, mut names, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for m in movements {
            if let Some(cp) = &m.counterparty {
                let uscc = cp
                    .uscc
                    .as_ref()
                    .map(|u| u.as_str())
                    .unwrap_or("")
                    .to_string();
                if seen.insert((uscc.clone(), cp.name.clone())) {
                    let k = cp.party_key();
                    parties.push(k);
                    usccs.push(uscc);
                    names.push(cp.name.clone());
                    keys.push(k);
                }
            }
        }
        let mut people: [Vec<String>; 5] = Default::default();
        let mut seen_people = std::collections::HashSet::new();
        for m in movements {
            for h in &m.handlers {
                let part = |v: &Option<String>| v.clone().unwrap_or_default();
                let whole = [
                    coldtrace_domain::party::person_key(
                        h.id_no.as_deref(),
                        h.phone.as_deref(),
                        &h.name,
                        m.holder,
                    ),
                    h.name.clone(),
                    part(&h.id_no),
                    part(&h.phone),
                    part(&h.role),
                ];
                if seen_people.insert(whole.clone()) {
                    for (col, v) in people.iter_mut().zip(whole) {
                        col.push(v);
                    }
                }
            }
        }
        if !parties.is_empty() {
            parties.sort_unstable();
            parties.dedup();
            self.exec(
                "INSERT INTO ids (id) SELECT * FROM unnest($1::UUID[]) ON CONFLICT (id) DO NOTHING",
                &[&parties],
            )?;
            for r in self.rows(
                "SELECT i.id, i.n FROM unnest($1::UUID[]) AS w(id) JOIN ids i ON i.id = w.id",
                &[&parties],
            )? {
                self.ids.insert(r.get(0), r.get(1));
            }
            let party_ns: Vec<i64> = keys.iter().map(|k| self.ids[k]).collect();
            self.exec(
                "INSERT INTO counterparties (uscc, name, party)
                 SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[]) ON CONFLICT (uscc, name) DO NOTHING",
                &[&usccs, &names, &party_ns],
            )?;
            for r in self.rows(
                "SELECT c.n, c.uscc, c.name FROM counterparties c
                 JOIN unnest($1::TEXT[], $2::TEXT[]) AS w(uscc, name) ON c.uscc = w.uscc AND c.name = w.name",
                &[&usccs, &names],
            )? {
                self.counterparties.insert((r.get(1), r.get(2)), r.get(0));
            }
        }
        if !people[0].is_empty() {
            let [k, name, id_no, phone, role] = &people;
            self.exec(
                "INSERT INTO people (person_key, name, id_no, phone, role)
                 SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])
                 ON CONFLICT (person_key, name, id_no, phone, role) DO NOTHING",
                &[k, name, id_no, phone, role],
            )?;
            for r in self.rows(
                "SELECT p.n, p.person_key, p.name, p.id_no, p.phone, p.role FROM people p
                 JOIN unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[]) AS w(k, na, i, ph, ro)
                   ON p.person_key = w.k AND p.name = w.na AND p.id_no = w.i AND p.phone = w.ph AND p.role = w.ro",
                &[k, name, id_no, phone, role],
            )? {
                self.people.insert(
                    [r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)],
                    r.get(0),
                );
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> StoreResult<()> {
        Ok(self.write_pending()?)
    }

    fn stake(&mut self, kind: RecordKind, id: Uuid) -> StoreResult<Option<(Uuid, Option<String>)>> {
        if kind == RecordKind::Movement {
            self.write_pending()?;
        }
        let sql = match kind {
            RecordKind::Enterprise => "SELECT id, province FROM enterprises WHERE id = $1",
            RecordKind::Product => "SELECT owner, owner_province FROM products WHERE id = $1",
            RecordKind::Batch => "SELECT owner, NULL::TEXT FROM batches WHERE id = $1",
            RecordKind::Document => "SELECT owner, NULL::TEXT FROM documents WHERE id = $1",
            RecordKind::Movement => {
                "SELECT (SELECT id FROM ids WHERE n = holder), holder_province FROM movements
                 WHERE id = $1"
            }
        };
        Ok(self.row(sql, &[&id])?.map(|r| (r.get(0), r.get(1))))
    }

    fn enterprise_province(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        Ok(self.value("SELECT province FROM enterprises WHERE id = $1", &[&id])?)
    }

    fn enterprise_uscc(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        Ok(self.value("SELECT uscc FROM enterprises WHERE id = $1", &[&id])?)
    }

    fn first_with_uscc(&mut self, uscc: &str) -> StoreResult<Option<(Uuid, String)>> {
        Ok(self.id_fp(
            "SELECT id, fp FROM enterprises WHERE uscc = $1 ORDER BY seq LIMIT 1",
            &[&uscc],
        )?)
    }

    fn latest_with_uscc(&mut self, uscc: &str) -> StoreResult<Option<Uuid>> {
        Ok(self.value(
            "SELECT id FROM enterprises WHERE uscc = $1 ORDER BY seq DESC LIMIT 1",
            &[&uscc],
        )?)
    }

    fn gln_holder(&mut self, gln: &str, uscc: &str) -> StoreResult<Option<String>> {
        Ok(self.value(
            "SELECT e.uscc FROM enterprises e WHERE e.gln = $1 AND e.uscc != $2
               AND e.seq = (SELECT MAX(n.seq) FROM enterprises n WHERE n.uscc = e.uscc) LIMIT 1",
            &[&gln, &uscc],
        )?)
    }

    fn insert_enterprise(
        &mut self,
        e: &Enterprise,
        fp: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO enterprises (id, uscc, province, region, kind, name, gln, corrects, fp, body,
                recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &e.id,
                &e.uscc.as_str(),
                &e.region.province().as_str(),
                &e.region.as_str(),
                &e.kind.as_str(),
                &e.name,
                &e.gln,
                &e.corrects,
                &fp,
                &body,
                &now,
            ],
        )?;
        Ok(())
    }

    fn product_owner(&mut self, id: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(self.value("SELECT owner FROM products WHERE id = $1", &[&id])?)
    }

    fn insert_product(
        &mut self,
        p: &Product,
        owner_province: &str,
        fp: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO products (id, owner, owner_province, origin_country, corrects, fp, body, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &p.id,
                &p.owner,
                &owner_province,
                &p.origin_country.as_str(),
                &p.corrects,
                &fp,
                &body,
                &now,
            ],
        )?;
        Ok(())
    }

    fn batch_owner(&mut self, id: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(self.value("SELECT owner FROM batches WHERE id = $1", &[&id])?)
    }

    fn batch_record(&mut self, id: Uuid) -> StoreResult<Option<Batch>> {
        let body: Option<String> = self.value("SELECT body FROM batches WHERE id = $1", &[&id])?;
        // A body this release no longer reads (older rules) counts as unknown, as in the embedded store.
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    fn first_numbered(
        &mut self,
        owner: Uuid,
        batch_no: &str,
    ) -> StoreResult<Option<(Uuid, String)>> {
        Ok(self.id_fp(
            "SELECT id, fp FROM batches WHERE owner = $1 AND batch_no = $2 ORDER BY seq LIMIT 1",
            &[&owner, &batch_no],
        )?)
    }

    fn latest_numbered(&mut self, owner: Uuid, batch_no: &str) -> StoreResult<Option<Uuid>> {
        Ok(self.value(
            "SELECT id FROM batches WHERE owner = $1 AND batch_no = $2 ORDER BY seq DESC LIMIT 1",
            &[&owner, &batch_no],
        )?)
    }

    fn code_holder(&mut self, key: &str) -> StoreResult<Option<(Uuid, Uuid)>> {
        Ok(self
            .row(
                "SELECT t.batch_id, b.owner FROM trace_codes t JOIN batches b ON b.id = t.batch_id
                 WHERE t.key = $1",
                &[&key],
            )?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn put_trace_code(&mut self, code: &TraceCode, batch: Uuid) -> StoreResult<()> {
        self.exec(
            "INSERT INTO trace_codes (key, batch_id, scheme, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET batch_id = EXCLUDED.batch_id, scheme = EXCLUDED.scheme,
                value = EXCLUDED.value",
            &[&code.key, &batch, &code.scheme.as_str(), &code.value],
        )?;
        Ok(())
    }

    fn insert_batch(&mut self, b: &Batch, fp: &str, body: &str, now: i64) -> StoreResult<u64> {
        let seq: i64 = self
            .row(
                "INSERT INTO batches (id, owner, product, batch_no, declaration_no, inspection_cert_no, corrects,
                    fp, body, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
                &[
                    &b.id,
                    &b.owner,
                    &b.product,
                    &b.batch_no,
                    &b.declaration_no.as_ref().map(|d| d.as_str()),
                    &b.inspection_cert_no,
                    &b.corrects,
                    &fp,
                    &body,
                    &now,
                ],
            )?
            .ok_or_else(|| Error::Unreadable("batches: no seq returned".into()))?
            .get(0);
        Ok(seq as u64)
    }

    fn has_access(&mut self, batch: Uuid, enterprise: Uuid) -> StoreResult<bool> {
        Ok(self.exists(
            "SELECT 1 FROM batch_access WHERE batch = (SELECT n FROM ids WHERE id = $1)
               AND enterprise = (SELECT n FROM ids WHERE id = $2)",
            &[&batch, &enterprise],
        )?)
    }

    fn grant(&mut self, batch: Uuid, enterprise: Uuid, province: &str) -> StoreResult<()> {
        let (b, e) = (self.n(batch)?, self.n(enterprise)?);
        self.exec(
            "INSERT INTO batch_access (batch, enterprise, province) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&b, &e, &province],
        )?;
        Ok(())
    }

    fn shipped_to(&mut self, batch: Uuid, uscc: &str, from: Option<Uuid>) -> StoreResult<bool> {
        // The held-back rows first, in memory (their counterparties' numbers are all in this transaction's
        // cache), then the stored ones, without writing the held-back rows.
        // Any sender, or the one named; one not in this transaction's cache has no held-back rows.
        let sender = match from {
            None => Some(None),
            Some(f) => self.ids.get(&f).map(|n| Some(*n)),
        };
        if let (Some(b), Some(from_n)) = (self.ids.get(&batch).copied(), sender) {
            let p = &self.pending.movements;
            let sent_to: HashSet<i64> = p
                .shipments(b, from_n)
                .filter_map(|i| p.counterparty[i])
                .collect();
            if !sent_to.is_empty()
                && self
                    .counterparties
                    .iter()
                    .any(|((u, _), n)| u == uscc && sent_to.contains(n))
            {
                return Ok(true);
            }
        }
        Ok(self.exists(
            "SELECT 1 FROM movements WHERE batch = (SELECT n FROM ids WHERE id = $1)
               AND counterparty IN (SELECT n FROM counterparties WHERE uscc = $2)
               AND kind IN ('ship', 'sell', 'return')
               AND ($3::UUID IS NULL OR holder = (SELECT n FROM ids WHERE id = $3)) LIMIT 1",
            &[&batch, &uscc, &from],
        )?)
    }

    fn attachment_usable(
        &mut self,
        sha256: &str,
        owner: Uuid,
        any_owner: bool,
    ) -> StoreResult<bool> {
        Ok(self.exists(
            "SELECT 1 FROM attachments a WHERE a.sha256 = $1 AND ($2 OR EXISTS
               (SELECT 1 FROM attachment_owners o WHERE o.sha256 = a.sha256 AND o.enterprise_id = $3))",
            &[&sha256, &any_owner, &owner],
        )?)
    }

    fn insert_document(
        &mut self,
        d: &Document,
        batch: Uuid,
        fp: &str,
        body: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO documents (id, batch_id, owner, kind, attachment, issued_on, corrects, fp, body,
                recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &d.id,
                &batch,
                &d.owner,
                &d.kind.as_str(),
                &d.attachment_sha256,
                &d.issued_on.to_string(),
                &d.corrects,
                &fp,
                &body,
                &now,
            ],
        )?;
        Ok(())
    }

    fn insert_movement(&mut self, m: &Movement, r: &MovementRefs) -> StoreResult<u64> {
        let holder = self.n(r.holder)?;
        let holder_key = self.n(r.holder_key)?;
        let batch = r.batch.map(|b| self.n(b)).transpose()?;
        let cp_id = r.counterparty_id.map(|e| self.n(e)).transpose()?;
        let cp = m
            .counterparty
            .as_ref()
            .map(|cp| self.counterparty_n(cp))
            .transpose()?;
        let corrects: Option<i64> = match m.corrects {
            Some(id) => match self.seqs.get(&id) {
                Some(seq) => Some(*seq),
                None => self.value("SELECT seq FROM movements WHERE id = $1", &[&id])?,
            },
            None => None,
        };
        let nanos = m.at.at.as_nanosecond();
        let ms = m.at.millis();
        let rest = (nanos - i128::from(ms) * 1_000_000) as i64;
        let seq = match self.next_seq {
            Some(n) => n,
            None => self
                .value("SELECT COALESCE(MAX(seq), 0) + 1 FROM movements", &[])?
                .unwrap_or(1),
        };
        self.next_seq = Some(seq + 1);
        let rows = &mut self.pending.movements;
        rows.seq.push(seq);
        rows.id.push(m.id);
        rows.kind.push(m.kind.as_str());
        rows.holder.push(holder);
        rows.holder_province.push(r.holder_province.clone());
        rows.holder_key.push(holder_key);
        rows.batch.push(batch);
        rows.quantity.push(m.quantity.milli());
        rows.at_ms.push(ms);
        rows.at_ns.push((rest != 0).then_some(rest));
        rows.at_offset.push(m.at.offset_seconds);
        rows.counterparty.push(cp);
        rows.counterparty_id.push(cp_id);
        rows.location.push(m.location.clone());
        rows.note.push(m.note.clone());
        rows.corrects.push(corrects);
        rows.fp.push(r.fp);
        rows.recorded_at.push(r.recorded_at);
        self.fps.insert(m.id, Some(r.fp));
        self.seqs.insert(m.id, seq);
        let mut people = Vec::with_capacity(m.handlers.len());
        for h in &m.handlers {
            let key = coldtrace_domain::party::person_key(
                h.id_no.as_deref(),
                h.phone.as_deref(),
                &h.name,
                m.holder,
            );
            people.push(self.person_n(&key, h)?.to_string());
        }
        self.pending
            .movements
            .handlers
            .push((!people.is_empty()).then(|| format!("{{{}}}", people.join(","))));
        for (role, lines) in [("in", &m.inputs), ("out", &m.outputs)] {
            for l in lines {
                if let BatchRef::Id(b) = l.batch {
                    let b = self.n(b)?;
                    let ls = &mut self.pending.lines;
                    ls.movement_seq.push(seq);
                    ls.holder_province.push(r.holder_province.clone());
                    ls.role.push(role);
                    ls.batch.push(b);
                    ls.quantity.push(l.quantity.milli());
                }
            }
        }
        Ok(seq as u64)
    }

    fn declarations_of_product(&mut self, product: Uuid) -> StoreResult<Vec<String>> {
        // Batches name the product's first version.
        let root = crate::customs::root(self, "products", product)?;
        Ok(self
            .rows(
                "SELECT DISTINCT declaration_no FROM batches WHERE product = $1 AND declaration_no IS NOT NULL",
                &[&root],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn batch_declaration(&mut self, batch: Uuid) -> StoreResult<Option<String>> {
        Ok(self.value(
            "SELECT declaration_no FROM batches WHERE id = $1",
            &[&batch],
        )?)
    }

    fn cross_check(
        &mut self,
        now: i64,
        checks: &CheckPolicy,
        scope: &BTreeSet<String>,
        refusable: &HashSet<Uuid>,
    ) -> StoreResult<Vec<CustomsRefusal>> {
        self.write_flags()?;
        let o = crate::customs::cross_check(self, now, checks, Some(scope), refusable)?;
        Ok(o.refusals
            .into_iter()
            .map(|(b, field, message)| (b, field.to_string(), message))
            .collect())
    }

    fn import_marks(
        &mut self,
        batch: Uuid,
    ) -> StoreResult<Option<(Option<String>, Option<String>)>> {
        Ok(self
            .row(
                "SELECT b.declaration_no, p.origin_country
                 FROM batches b LEFT JOIN products p ON p.id = b.product WHERE b.id = $1",
                &[&batch],
            )?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn document_kinds(&mut self, batch: Uuid) -> StoreResult<Vec<String>> {
        Ok(self
            .rows(
                "SELECT DISTINCT kind FROM documents WHERE batch_id = $1",
                &[&batch],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn has_trace_code(&mut self, batch: Uuid) -> StoreResult<bool> {
        Ok(self.exists(
            "SELECT 1 FROM trace_codes WHERE batch_id = $1 LIMIT 1",
            &[&batch],
        )?)
    }

    fn latest_nucleic_acid(&mut self, batch: Uuid) -> StoreResult<Option<String>> {
        Ok(self.value(
            "SELECT MAX(d.issued_on) FROM documents d
             WHERE d.batch_id = $1 AND d.kind = 'nucleic_acid'
                AND NOT EXISTS (SELECT 1 FROM documents c WHERE c.corrects = d.id)",
            &[&batch],
        )?)
    }

    fn flag(
        &mut self,
        v: &Violation,
        enterprise: Uuid,
        province: Option<&str>,
        batch: Option<Uuid>,
        movement: Option<Uuid>,
        now: i64,
    ) -> StoreResult<()> {
        if self.pending.resolving.contains(&v.subject) {
            self.write_resolves()?;
        }
        self.pending
            .flags
            .hold(v, enterprise, province, batch, movement, now);
        Ok(())
    }

    fn resolve(&mut self, subject: &str, now: i64) -> StoreResult<()> {
        if self.pending.flags.holds(subject) {
            self.write_flags()?;
        }
        if self.pending.resolving.insert(subject.to_string()) {
            self.pending.resolves.push((subject.to_string(), now));
        }
        Ok(())
    }

    fn resolve_in_transit(
        &mut self,
        batch: Uuid,
        sender: Uuid,
        receiver: Uuid,
        now: i64,
    ) -> StoreResult<()> {
        // Queued with the other resolutions ([`Self::write_resolves`]): a statement per receipt cost 135 µs at
        // 10^5 movements, one of the two a receipt paid for.
        self.pending
            .in_transit
            .insert((batch, sender, receiver, now));
        Ok(())
    }

    fn resolve_unregistered(&mut self, uscc: &str, now: i64) -> StoreResult<()> {
        self.write_flags()?;
        self.exec(
            &format!(
                "{RESOLVE_BY_RECORDS}
                 WHERE status = 'open' AND rule = 'unregistered_counterparty' AND subject LIKE $2"
            ),
            &[&now, &format!("party:{uscc}:%")],
        )?;
        Ok(())
    }

    fn resolve_dormant(&mut self, lots: &[(Uuid, Uuid)], now: i64) -> StoreResult<()> {
        if lots.is_empty() {
            return Ok(());
        }
        self.write_pending()?;
        let (batches, holders): (Vec<Uuid>, Vec<Uuid>) = lots.iter().copied().unzip();
        let enterprises: Vec<String> = holders.iter().map(Uuid::to_string).collect();
        // A lot that moved since its dormant finding was opened is no longer dormant. The finding's subject ends
        // with the last movement it was opened for.
        self.exec(
            &format!(
                "{RESOLVE_BY_RECORDS}
                 FROM unnest($2::UUID[], $3::UUID[], $4::TEXT[]) AS lot(batch, holder, enterprise)
                 WHERE findings.rule = 'dormant_stock' AND findings.status = 'open'
                    AND findings.batch = lot.batch AND findings.enterprise = lot.enterprise
                    AND CAST(substr(findings.subject, length('dormant:') + 36 + 1 + 36 + 2) AS BIGINT) <
                        COALESCE((SELECT last_at FROM lot_stock WHERE batch = (SELECT n FROM ids WHERE id = lot.batch)
                                    AND holder = (SELECT n FROM ids WHERE id = lot.holder)), 0)"
            ),
            &[&now, &batches, &holders, &enterprises],
        )?;
        Ok(())
    }

    fn open_subjects(&mut self, rule: &str, batch: Uuid) -> StoreResult<Vec<String>> {
        self.write_flags()?;
        Ok(self
            .rows(
                "SELECT subject FROM findings WHERE rule = $1 AND status = 'open' AND batch = $2",
                &[&rule, &batch],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn stale_nucleic_acid_findings(&mut self, batch: Uuid) -> StoreResult<Vec<(String, i64)>> {
        self.write_pending()?;
        Ok(self
            .rows(
                // The batch's latest ship or sell per holder, read once: as a subquery per finding over the
                // partitioned movements it took 100-250 ms at 600,000 movements (a batch with 20 such findings).
                "WITH last AS (SELECT x.holder, MAX(x.at_ms) AS at_ms FROM movements x
                    WHERE x.batch = (SELECT n FROM ids WHERE id = $1) AND x.kind IN ('ship', 'sell')
                    GROUP BY x.holder)
                 SELECT f.subject, GREATEST(m.at_ms, COALESCE(last.at_ms, 0))
                 FROM findings f JOIN movements m ON m.id = f.movement
                 LEFT JOIN ids h ON h.id = f.enterprise::UUID
                 LEFT JOIN last ON last.holder = h.n
                 WHERE f.rule = 'stale_nucleic_acid' AND f.status = 'open' AND f.batch = $1",
                &[&batch],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn first_shipment(
        &mut self,
        batch: Uuid,
        sender: Uuid,
        receiver: Uuid,
    ) -> StoreResult<Option<i64>> {
        // Asked for every receipt: answered from the stored rows and the rows held back, without writing those
        // first (a held-back correction takes the row it corrects out of the answer).
        let p = &self.pending.movements;
        let corrected: HashSet<i64> = p.corrects.iter().flatten().copied().collect();
        let stored = self.rows(
            &format!(
                "SELECT seq, at_ms FROM movements m WHERE batch = (SELECT n FROM ids WHERE id = $1)
                 AND holder = (SELECT n FROM ids WHERE id = $2)
                 AND counterparty_id = (SELECT n FROM ids WHERE id = $3)
                 AND kind IN ('ship', 'sell', 'return') AND {CURRENT}"
            ),
            &[&batch, &sender, &receiver],
        )?;
        let mut first = stored
            .iter()
            .filter(|r| !corrected.contains(&r.get::<_, i64>(0)))
            .map(|r| r.get::<_, i64>(1))
            .min();
        let p = &self.pending.movements;
        if let (Some(b), Some(s), Some(r)) = (
            self.ids.get(&batch),
            self.ids.get(&sender),
            self.ids.get(&receiver),
        ) {
            for i in p.shipments(*b, Some(*s)) {
                if p.counterparty_id[i] == Some(*r) && !corrected.contains(&p.seq[i]) {
                    first = Some(first.map_or(p.at_ms[i], |f| f.min(p.at_ms[i])));
                }
            }
        }
        Ok(first)
    }

    fn stock_add(
        &mut self,
        batch: Uuid,
        holder: Uuid,
        col: StockColumn,
        quantity: i64,
        at: i64,
        first_in: Option<i64>,
        first_out: Option<i64>,
    ) -> StoreResult<()> {
        let (b, h) = (self.n(batch)?, self.n(holder)?);
        self.pending
            .stock
            .entry((b, h))
            .or_default()
            .add(col, quantity, at, first_in, first_out);
        Ok(())
    }

    fn prefetch_lots(&mut self, lots: &[(Uuid, Uuid)]) -> StoreResult<()> {
        if lots.is_empty() {
            return Ok(());
        }
        self.write_pending()?;
        let (batches, holders): (Vec<Uuid>, Vec<Uuid>) = lots.iter().copied().unzip();
        for lot in lots {
            self.stock_stored.insert(*lot, KeptStock::default());
        }
        for r in self.rows(
            "SELECT lot.batch, lot.holder, s.received, s.produced, s.reported_inbound, s.shipped, s.sold,
                s.consumed, s.destroyed, s.returned, s.first_in, s.first_out
             FROM unnest($1::UUID[], $2::UUID[]) AS lot(batch, holder)
             JOIN ids b ON b.id = lot.batch JOIN ids h ON h.id = lot.holder
             JOIN lot_stock s ON s.batch = b.n AND s.holder = h.n",
            &[&batches, &holders],
        )? {
            self.stock_stored.insert(
                (r.get(0), r.get(1)),
                (
                    LotStock {
                        received: r.get(2),
                        produced: r.get(3),
                        reported_inbound: r.get(4),
                        shipped: r.get(5),
                        sold: r.get(6),
                        consumed: r.get(7),
                        destroyed: r.get(8),
                        returned: r.get(9),
                    },
                    r.get(10),
                    r.get(11),
                ),
            );
        }
        Ok(())
    }

    fn lot_stock(&mut self, batch: Uuid, holder: Uuid) -> StoreResult<KeptStock> {
        let stored = match self.stock_stored.get(&(batch, holder)) {
            Some(kept) => *kept,
            None => {
                let kept = self.stored_lot_stock(batch, holder)?;
                self.stock_stored.insert((batch, holder), kept);
                kept
            }
        };
        let held = match (self.ids.get(&batch), self.ids.get(&holder)) {
            (Some(b), Some(h)) => self.pending.stock.get(&(*b, *h)).copied(),
            _ => None,
        };
        Ok(match held {
            Some(d) => d.onto(stored),
            None => stored,
        })
    }

    fn recount_lot(&mut self, batch: Uuid, holder: Uuid) -> StoreResult<()> {
        self.recount_lot_now(batch, holder)?;
        self.stock_stored.remove(&(batch, holder));
        Ok(())
    }

    fn lots_of_movement(&mut self, id: Uuid) -> StoreResult<Vec<(Uuid, Uuid)>> {
        self.write_pending()?;
        let row = self.row(
            &format!(
                "SELECT seq, {ID_OF}batch), {ID_OF}holder), {ID_OF}counterparty_id) FROM movements WHERE id = $1"
            ),
            &[&id],
        )?;
        let Some(row) = row else {
            return Ok(vec![]);
        };
        let (seq, batch, holder, cp): (i64, Option<Uuid>, Option<Uuid>, Option<Uuid>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let mut out = Vec::new();
        if let (Some(b), Some(h)) = (batch, holder) {
            out.push((b, h));
            if let Some(c) = cp {
                out.push((b, c));
            }
        }
        let lines: Vec<Uuid> = self
            .rows(
                &format!("SELECT {ID_OF}batch) FROM movement_lines WHERE movement_seq = $1"),
                &[&seq],
            )?
            .iter()
            .filter_map(|r| r.get::<_, Option<Uuid>>(0))
            .collect();
        if let Some(h) = holder {
            out.extend(lines.into_iter().map(|b| (b, h)));
        }
        Ok(out)
    }

    fn report(&mut self, fresh: &Fresh, now: i64) -> StoreResult<()> {
        let Some(cfg) = self.docking else {
            return Ok(());
        };
        for m in coldtrace_store::report::report(cfg, fresh, &mut Source(self))? {
            self.push(now, m)?;
        }
        Ok(())
    }
}

/// The records a docking report reads, as the open transaction sees them.
struct Source<'l, 'a>(&'l mut PgLedger<'a>);

impl Source<'_, '_> {
    fn latest<T: serde::de::DeserializeOwned>(&self, sql: &str, id: Uuid) -> Result<Option<T>> {
        let body: Option<String> = self.0.value(sql, &[&id])?;
        body.map(|b| serde_json::from_str(&b))
            .transpose()
            .map_err(|e| Error::Unreadable(format!("stored record: {e}")))
    }
}

impl ReportSource for Source<'_, '_> {
    type Error = Error;
    fn enterprise(&mut self, id: Uuid) -> Result<Option<Enterprise>> {
        self.latest(
            "SELECT body FROM enterprises WHERE id = $1 ORDER BY seq DESC LIMIT 1",
            id,
        )
    }
    fn product(&mut self, id: Uuid) -> Result<Option<Product>> {
        self.latest(
            "SELECT body FROM products WHERE id = $1 ORDER BY seq DESC LIMIT 1",
            id,
        )
    }
    fn batch(&mut self, id: Uuid) -> Result<Option<Batch>> {
        self.latest("SELECT body FROM batches WHERE id = $1", id)
    }
    fn codes(&mut self, batch: Uuid) -> Result<Vec<NativeCode>> {
        Ok(self
            .0
            .rows(
                "SELECT scheme, value FROM trace_codes WHERE batch_id = $1 ORDER BY key COLLATE \"C\"",
                &[&batch],
            )?
            .iter()
            .map(|r| NativeCode {
                scheme: r.get(0),
                value: r.get(1),
            })
            .collect())
    }
    fn add_code(&mut self, batch: Uuid, code: &TraceCode) -> Result<()> {
        // The number printed under a URL code's QR finds the batch too.
        for c in std::iter::once(code.clone()).chain(code.aliases()) {
            self.0.exec(
                "INSERT INTO trace_codes (key, batch_id, scheme, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO NOTHING",
                &[&c.key, &batch, &c.scheme.as_str(), &c.value],
            )?;
        }
        Ok(())
    }
}

impl PgLedger<'_> {
    /// A lot's stock row as stored (zero when none), without the held-back changes.
    fn stored_lot_stock(&mut self, batch: Uuid, holder: Uuid) -> Result<KeptStock> {
        let row = self.row(
            "SELECT received, produced, reported_inbound, shipped, sold, consumed, destroyed, returned,
                first_in, first_out
             FROM lot_stock WHERE batch = (SELECT n FROM ids WHERE id = $1)
                AND holder = (SELECT n FROM ids WHERE id = $2)",
            &[&batch, &holder],
        )?;
        Ok(row
            .map(|r| {
                (
                    LotStock {
                        received: r.get(0),
                        produced: r.get(1),
                        reported_inbound: r.get(2),
                        shipped: r.get(3),
                        sold: r.get(4),
                        consumed: r.get(5),
                        destroyed: r.get(6),
                        returned: r.get(7),
                    },
                    r.get(8),
                    r.get(9),
                )
            })
            .unwrap_or_default())
    }

    /// Counts a lot's stock again from its current records and stores it.
    fn recount_lot_now(&mut self, batch: Uuid, holder: Uuid) -> Result<()> {
        self.write_pending()?;
        let (b, h) = (self.n(batch)?, self.n(holder)?);
        let (s, first_in, first_out) = self.stock_from_records(b, h)?;
        let last_at: Option<i64> = self.value(
            &format!(
                "SELECT MAX(t) FROM (
                    SELECT MAX(at_ms) AS t FROM movements m WHERE batch = $1 AND holder = $2 AND {CURRENT}
                    UNION ALL
                    SELECT MAX(at_ms) FROM movements m WHERE batch = $1 AND counterparty_id = $2
                        AND kind IN ('ship', 'sell', 'return') AND {CURRENT}
                    UNION ALL
                    SELECT MAX(m.at_ms) FROM movement_lines l
                        JOIN movements m ON m.holder_province = l.holder_province AND m.seq = l.movement_seq
                        WHERE l.batch = $1 AND m.holder = $2 AND {CURRENT}) AS lot"
            ),
            &[&b, &h],
        )?;
        self.exec(
            "INSERT INTO lot_stock (batch, holder, received, produced, reported_inbound, shipped, sold, consumed,
                destroyed, returned, first_in, first_out, last_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (batch, holder) DO UPDATE SET received = EXCLUDED.received,
                produced = EXCLUDED.produced, reported_inbound = EXCLUDED.reported_inbound,
                shipped = EXCLUDED.shipped, sold = EXCLUDED.sold, consumed = EXCLUDED.consumed,
                destroyed = EXCLUDED.destroyed, returned = EXCLUDED.returned, first_in = EXCLUDED.first_in,
                first_out = EXCLUDED.first_out, last_at = EXCLUDED.last_at",
            &[
                &b,
                &h,
                &s.received,
                &s.produced,
                &s.reported_inbound,
                &s.shipped,
                &s.sold,
                &s.consumed,
                &s.destroyed,
                &s.returned,
                &first_in,
                &first_out,
                &last_at,
            ],
        )?;
        Ok(())
    }
}
