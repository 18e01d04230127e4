//! The movement table in the lean layout (schema 26): integer references instead of text ids, the id as 16
//! bytes, no JSON body. A movement is written from its record and read back into the same record; older stores
//! are converted when they are opened.

use coldtrace_domain::{
    BatchRef, Counterparty, EventTime, Handler, Line, Movement, MovementKind, Quantity, Uscc,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::{Result, StoreError, Stored, parse_uuid};

/// SQL turning a 16-byte id column into the text form other tables keep (`8-4-4-4-12`, lower case).
pub(crate) fn id_text(col: &str) -> String {
    let h = format!("hex({col})");
    format!(
        "lower(substr({h}, 1, 8) || '-' || substr({h}, 9, 4) || '-' || substr({h}, 13, 4) || '-' || \
         substr({h}, 17, 4) || '-' || substr({h}, 21))"
    )
}

/// SQL for the text id of a number (`ids.id`).
pub(crate) fn id_of(col: &str) -> String {
    format!("(SELECT id FROM ids WHERE n = {col})")
}

/// The numbers of ids, counterparties and people already looked up in one transaction (dropped with it: a
/// rolled-back number is not kept).
#[derive(Default)]
pub(crate) struct Ns {
    ids: std::collections::HashMap<Uuid, i64>,
    counterparties: std::collections::HashMap<(String, String), i64>,
    people: std::collections::HashMap<[String; 5], i64>,
}

impl Ns {
    /// The number of an id already looked up in this transaction, if it was.
    pub(crate) fn known(&self, id: Uuid) -> Option<i64> {
        self.ids.get(&id).copied()
    }
}

/// The number of an id, stored the first time it is referred to.
pub(crate) fn n_for(c: &Connection, ns: &mut Ns, id: Uuid) -> rusqlite::Result<i64> {
    if let Some(n) = ns.ids.get(&id) {
        return Ok(*n);
    }
    let s = id.to_string();
    let n = find_or_add(
        c,
        ("SELECT n FROM ids WHERE id = ?1", &[&s]),
        ("INSERT INTO ids (id) VALUES (?1)", &[&s]),
    )?;
    ns.ids.insert(id, n);
    Ok(n)
}

/// The number of a dictionary row (`ids`, `counterparties`, `people`): the one the query finds, else the one the
/// insert adds.
fn find_or_add(
    c: &Connection,
    (find, key): (&str, &[&dyn rusqlite::ToSql]),
    (add, row): (&str, &[&dyn rusqlite::ToSql]),
) -> rusqlite::Result<i64> {
    if let Some(n) = c
        .prepare_cached(find)?
        .query_row(key, |r| r.get(0))
        .optional()?
    {
        return Ok(n);
    }
    c.prepare_cached(add)?.execute(row)?;
    Ok(c.last_insert_rowid())
}

/// A counterparty as named (USCC or none, name), stored once with its party key.
fn counterparty_n(c: &Connection, ns: &mut Ns, cp: &Counterparty) -> rusqlite::Result<i64> {
    let uscc = cp.uscc.as_ref().map(|u| u.as_str()).unwrap_or("");
    let key = (uscc.to_string(), cp.name.clone());
    if let Some(n) = ns.counterparties.get(&key) {
        return Ok(*n);
    }
    let party = n_for(c, ns, cp.party_key())?;
    let n = find_or_add(
        c,
        (
            "SELECT n FROM counterparties WHERE uscc = ?1 AND name = ?2",
            &[&uscc, &cp.name],
        ),
        (
            "INSERT INTO counterparties (uscc, name, party) VALUES (?1, ?2, ?3)",
            &[&uscc, &cp.name, &party],
        ),
    )?;
    ns.counterparties.insert(key, n);
    Ok(n)
}

/// A handler as written, stored once with their person key.
fn person_n(c: &Connection, ns: &mut Ns, key: &str, h: &Handler) -> rusqlite::Result<i64> {
    let part = |v: &Option<String>| v.clone().unwrap_or_default();
    let whole = [
        key.to_string(),
        h.name.clone(),
        part(&h.id_no),
        part(&h.phone),
        part(&h.role),
    ];
    if let Some(n) = ns.people.get(&whole) {
        return Ok(*n);
    }
    let row: Vec<&dyn rusqlite::ToSql> = whole.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
    let n = find_or_add(
        c,
        (
            "SELECT n FROM people WHERE person_key = ?1 AND name = ?2 AND id_no = ?3 AND phone = ?4 AND role = ?5",
            &row,
        ),
        (
            "INSERT INTO people (person_key, name, id_no, phone, role) VALUES (?1, ?2, ?3, ?4, ?5)",
            &row,
        ),
    )?;
    ns.people.insert(whole, n);
    Ok(n)
}

/// The stored form of a record's fingerprint (hex SHA-256): its first 8 bytes as an integer.
pub(crate) fn fp_int(hex_fp: &str) -> i64 {
    let mut b = [0u8; 8];
    if let Ok(v) = hex::decode(hex_fp.get(..16).unwrap_or(hex_fp)) {
        let k = v.len().min(8);
        b[..k].copy_from_slice(&v[..k]);
    }
    i64::from_be_bytes(b)
}

/// What a movement refers to, as numbers, resolved by the writer.
pub(crate) struct Refs {
    /// The seq to keep (a converted store's), else the next.
    pub seq: Option<i64>,
    pub holder: Uuid,
    pub holder_province: String,
    pub holder_key: Uuid,
    pub batch: Option<Uuid>,
    /// The registered enterprise the counterparty's USCC named.
    pub counterparty_id: Option<Uuid>,
    pub fp: i64,
    pub recorded_at: i64,
}

/// Writes a movement, its lines and its handlers; returns its seq.
pub(crate) fn insert(c: &Connection, ns: &mut Ns, m: &Movement, r: &Refs) -> rusqlite::Result<i64> {
    let holder = n_for(c, ns, r.holder)?;
    let holder_key = n_for(c, ns, r.holder_key)?;
    let batch = r.batch.map(|b| n_for(c, ns, b)).transpose()?;
    let cp_id = r.counterparty_id.map(|e| n_for(c, ns, e)).transpose()?;
    let cp = m
        .counterparty
        .as_ref()
        .map(|cp| counterparty_n(c, ns, cp))
        .transpose()?;
    let corrects: Option<i64> = match m.corrects {
        Some(id) => c
            .prepare_cached("SELECT seq FROM movements WHERE id = ?1")?
            .query_row([id.as_bytes().as_slice()], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let nanos = m.at.at.as_nanosecond();
    let ms = m.at.millis();
    let rest = (nanos - i128::from(ms) * 1_000_000) as i64;
    c.prepare_cached(
        "INSERT INTO movements (id, kind, holder, holder_province, holder_key, batch, quantity_milli, at_ms, at_ns,
            at_offset, counterparty, counterparty_id, location, note, corrects, fp, recorded_at, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        m.id.as_bytes().as_slice(),
        m.kind.as_str(),
        holder,
        r.holder_province,
        holder_key,
        batch,
        m.quantity.milli(),
        ms,
        (rest != 0).then_some(rest),
        m.at.offset_seconds,
        cp,
        cp_id,
        m.location,
        m.note,
        corrects,
        r.fp,
        r.recorded_at,
        r.seq,
    ])?;
    let seq = c.last_insert_rowid();
    for (pos, h) in m.handlers.iter().enumerate() {
        let key = coldtrace_domain::party::person_key(
            h.id_no.as_deref(),
            h.phone.as_deref(),
            &h.name,
            m.holder,
        );
        let person = person_n(c, ns, &key, h)?;
        c.prepare_cached(
            "INSERT INTO movement_handlers (movement_seq, pos, person) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![seq, pos as i64, person])?;
    }
    for (role, lines) in [("in", &m.inputs), ("out", &m.outputs)] {
        for l in lines {
            if let BatchRef::Id(b) = l.batch {
                let b = n_for(c, ns, b)?;
                c.prepare_cached(
                    "INSERT INTO movement_lines (movement_seq, role, batch, quantity_milli) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![seq, role, b, l.quantity.milli()])?;
            }
        }
    }
    Ok(seq)
}

/// The columns [`read`] takes, over `movements m`.
fn select_sql(filter: &str) -> String {
    format!(
        "SELECT m.seq, m.id, m.kind, {holder}, {batch}, m.quantity_milli, m.at_ms, m.at_ns, m.at_offset,
            cp.uscc, cp.name, m.location, m.note, (SELECT x.id FROM movements x WHERE x.seq = m.corrects),
            m.recorded_at,
            (SELECT x.id FROM movements x WHERE x.corrects = m.seq ORDER BY x.seq DESC LIMIT 1)
         FROM movements m LEFT JOIN counterparties cp ON cp.n = m.counterparty
         WHERE {filter}",
        holder = id_of("m.holder"),
        batch = id_of("m.batch"),
    )
}

fn blob_uuid(v: rusqlite::types::ValueRef<'_>) -> Result<Option<Uuid>> {
    match v {
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Blob(b) => Uuid::from_slice(b)
            .map(Some)
            .map_err(|e| StoreError::Task(format!("stored movement id: {e}")).into()),
        _ => Err(StoreError::Task("stored movement id is not 16 bytes".into()).into()),
    }
}

/// Movements by an SQL condition over `movements m` (with its parameters), as the records that were written.
pub(crate) fn read(
    c: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Stored<Movement>>> {
    let mut stmt = c.prepare_cached(&select_sql(filter))?;
    let mut q = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = q.next()? {
        let seq: i64 = r.get(0)?;
        let id = blob_uuid(r.get_ref(1)?)?.unwrap_or_default();
        let kind = MovementKind::parse(&r.get::<_, String>(2)?).map_err(StoreError::Task)?;
        let holder = parse_uuid(&r.get::<_, String>(3)?)?;
        let batch = r
            .get::<_, Option<String>>(4)?
            .map(|b| parse_uuid(&b).map(BatchRef::Id))
            .transpose()?;
        let ms: i64 = r.get(6)?;
        let rest: Option<i64> = r.get(7)?;
        let at = jiff::Timestamp::from_nanosecond(
            i128::from(ms) * 1_000_000 + i128::from(rest.unwrap_or(0)),
        )
        .map_err(|e| StoreError::Task(format!("stored movement time: {e}")))?;
        let uscc: Option<String> = r.get(9)?;
        let counterparty = match r.get::<_, Option<String>>(10)? {
            Some(name) => Some(Counterparty {
                uscc: match uscc.as_deref() {
                    None | Some("") => None,
                    Some(u) => Some(
                        Uscc::parse_overridden(u)
                            .map_err(|e| StoreError::Task(format!("stored USCC {u:?}: {e}")))?,
                    ),
                },
                name,
            }),
            None => None,
        };
        let m = Movement {
            id,
            kind,
            holder,
            batch,
            quantity: Quantity::from_milli(r.get(5)?),
            counterparty,
            at: EventTime {
                at,
                offset_seconds: r.get(8)?,
            },
            location: r.get(11)?,
            handlers: vec![],
            inputs: vec![],
            outputs: vec![],
            note: r.get(12)?,
            corrects: blob_uuid(r.get_ref(13)?)?,
        };
        out.push(Stored {
            seq,
            record: m,
            recorded_at_ms: r.get(14)?,
            corrected_by: blob_uuid(r.get_ref(15)?)?,
        });
    }
    for s in out.iter_mut() {
        fill_parts(c, s.seq, &mut s.record)?;
    }
    Ok(out)
}

/// A movement's handlers and transformation lines.
fn fill_parts(c: &Connection, seq: i64, m: &mut Movement) -> Result<()> {
    let mut h = c.prepare_cached(
        "SELECT p.name, p.id_no, p.phone, p.role FROM movement_handlers h JOIN people p ON p.n = h.person
         WHERE h.movement_seq = ?1 ORDER BY h.pos",
    )?;
    let part = |s: String| (!s.is_empty()).then_some(s);
    m.handlers = h
        .query_map([seq], |r| {
            Ok(Handler {
                name: r.get(0)?,
                id_no: part(r.get(1)?),
                phone: part(r.get(2)?),
                role: part(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if m.kind == MovementKind::Transform {
        let mut l = c.prepare_cached(&format!(
            "SELECT role, {batch}, quantity_milli FROM movement_lines WHERE movement_seq = ?1 ORDER BY rowid",
            batch = id_of("batch")
        ))?;
        let rows: Vec<(String, String, i64)> = l
            .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (role, b, q) in rows {
            let line = Line {
                batch: BatchRef::Id(parse_uuid(&b)?),
                quantity: Quantity::from_milli(q),
            };
            if role == "in" {
                m.inputs.push(line);
            } else {
                m.outputs.push(line);
            }
        }
    }
    Ok(())
}

fn has_column(c: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    c.prepare(&format!(
        "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
    ))?
    .exists([column])
}

fn has_table(c: &Connection, table: &str) -> rusqlite::Result<bool> {
    c.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table])
}

/// Whether any table of the store is still in the layout before schema 26: movements with text ids and a JSON
/// body, lot stock or batch access keyed by text ids.
pub(crate) fn is_old_layout(c: &Connection) -> rusqlite::Result<bool> {
    Ok(has_column(c, "movements", "body")?
        || has_column(c, "lot_stock", "batch_id")?
        || has_column(c, "batch_access", "batch_id")?)
}

/// Sets the old movement tables aside (renamed, their indexes dropped) so that the schema can create the lean
/// ones; [`convert_old_layout`] then copies them over. The old lot stock is dropped: it is counted again from the
/// movements.
pub(crate) fn set_aside_old_layout(c: &Connection) -> rusqlite::Result<()> {
    let old_movements = has_column(c, "movements", "body")?;
    let old_lots = has_column(c, "lot_stock", "batch_id")?;
    let old_access = has_column(c, "batch_access", "batch_id")?;
    let mut tables = vec![];
    if old_movements {
        tables.extend(["movements", "movement_lines", "movement_handlers"]);
    }
    if old_access {
        tables.push("batch_access");
    }
    if old_lots {
        tables.push("lot_stock");
    }
    for t in &tables {
        let indexes: Vec<String> = c
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?1",
            )?
            .query_map([t], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for i in indexes {
            c.execute_batch(&format!("DROP INDEX \"{i}\""))?;
        }
    }
    if old_lots {
        c.execute_batch("DROP TABLE lot_stock")?;
    }
    for t in tables.iter().filter(|t| **t != "lot_stock") {
        if has_table(c, t)? {
            c.execute_batch(&format!("ALTER TABLE {t} RENAME TO old_{t}"))?;
        }
    }
    Ok(())
}

/// Copies the movements and access rows set aside by [`set_aside_old_layout`] into the lean tables, keeping every
/// seq, counts the lots' stock again, then drops the old tables. Returns how many movements were converted.
pub(crate) fn convert_old_layout(c: &Connection) -> Result<u64> {
    let mut n = 0u64;
    if has_table(c, "old_movements")? {
        n = convert_movements(c)?;
        // Seqs never reused: the new table's counter starts where the old one was.
        c.execute_batch(
            "UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT s.seq FROM sqlite_sequence s
                WHERE s.name = 'old_movements'), 0)) WHERE name = 'movements';
             DROP TABLE old_movements; DROP TABLE IF EXISTS old_movement_lines;
             DROP TABLE IF EXISTS old_movement_handlers;",
        )?;
    }
    if has_table(c, "old_batch_access")? {
        c.execute_batch(
            "INSERT OR IGNORE INTO ids (id)
               SELECT batch_id FROM old_batch_access UNION SELECT enterprise_id FROM old_batch_access;
             INSERT OR IGNORE INTO batch_access (batch, enterprise, province)
               SELECT (SELECT n FROM ids WHERE id = batch_id), (SELECT n FROM ids WHERE id = enterprise_id), province
               FROM old_batch_access;
             DROP TABLE old_batch_access;",
        )?;
    }
    crate::schema::backfill_lot_stock(c)?;
    Ok(n)
}

fn convert_movements(c: &Connection) -> Result<u64> {
    let mut rows = c.prepare(
        "SELECT seq, body, holder_province, holder_key, counterparty_id, fp, recorded_at
         FROM old_movements ORDER BY seq",
    )?;
    let mut q = rows.query([])?;
    let mut n = 0u64;
    let mut ns = Ns::default();
    while let Some(r) = q.next()? {
        let seq: i64 = r.get(0)?;
        let bad = |what: String| StoreError::Task(format!("converting movement seq {seq}: {what}"));
        let body: String = r.get(1)?;
        let m: Movement = serde_json::from_str(&body).map_err(|e| bad(e.to_string()))?;
        let uuid = |i: usize| -> Result<Option<Uuid>> {
            r.get::<_, Option<String>>(i)?
                .map(|s| parse_uuid(&s))
                .transpose()
        };
        // A correction keeps its link: the record it corrects was stored before it.
        if let Some(old) = m.corrects
            && !c
                .prepare_cached("SELECT 1 FROM movements WHERE id = ?1")?
                .exists([old.as_bytes().as_slice()])?
        {
            return Err(bad(format!(
                "the movement {old} it corrects is not stored before it"
            ))
            .into());
        }
        let refs = Refs {
            seq: Some(seq),
            holder: m.holder,
            holder_province: r.get(2)?,
            holder_key: uuid(3)?.ok_or_else(|| bad("no holder key".into()))?,
            batch: match &m.batch {
                Some(BatchRef::Id(b)) => Some(*b),
                _ => None,
            },
            counterparty_id: uuid(4)?,
            fp: fp_int(&r.get::<_, String>(5)?),
            recorded_at: r.get(6)?,
        };
        insert(c, &mut ns, &m, &refs)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_fingerprint_is_the_stored_prefix_of_the_encoded_one() {
        let v = json!({"id": "a", "b": [1, 2], "c": {"z": 1, "y": "冷\"库"}});
        let (hex_fp, _) = crate::encode(&v).unwrap();
        assert_eq!(
            coldtrace_store::writer::fingerprint(&v).unwrap(),
            super::fp_int(&hex_fp),
            "a converted store keeps the fingerprints a new write computes"
        );
        let same = json!({"id": "b", "b": [1, 2], "c": {"y": "冷\"库", "z": 1}});
        assert_eq!(
            coldtrace_store::writer::fingerprint(&same).unwrap(),
            coldtrace_store::writer::fingerprint(&v).unwrap(),
            "neither the id nor the key order counts"
        );
        let other = json!({"id": "a", "b": [2, 1], "c": {"z": 1, "y": "冷\"库"}});
        assert_ne!(
            coldtrace_store::writer::fingerprint(&other).unwrap(),
            coldtrace_store::writer::fingerprint(&v).unwrap()
        );
    }
}
