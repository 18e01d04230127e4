//! The tables of the embedded store and the schema version.

pub const SCHEMA_VERSION: i64 = 26;

pub const SCHEMA: &str = r#"
-- The store's identity (key 'store_id'), made once: what ties a trace index snapshot to the store it was built
-- from (schema 25).
CREATE TABLE IF NOT EXISTS store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every enterprise, batch and party key that a movement, a lot or an access row refers to, stored once and
-- referred to by its number (schema 26).
CREATE TABLE IF NOT EXISTS ids (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS enterprises (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    uscc TEXT NOT NULL,
    province TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS enterprises_uscc ON enterprises(uscc);
CREATE INDEX IF NOT EXISTS enterprises_province ON enterprises(province, seq);
CREATE INDEX IF NOT EXISTS enterprises_corrects ON enterprises(corrects) WHERE corrects IS NOT NULL;
CREATE INDEX IF NOT EXISTS enterprises_gln ON enterprises(json_extract(body, '$.gln'))
    WHERE json_extract(body, '$.gln') IS NOT NULL;

CREATE TABLE IF NOT EXISTS products (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    owner_province TEXT NOT NULL,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS products_owner ON products(owner, seq);
CREATE INDEX IF NOT EXISTS products_corrects ON products(corrects) WHERE corrects IS NOT NULL;

CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    product TEXT NOT NULL,
    batch_no TEXT NOT NULL,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_owner_no ON batches(owner, batch_no);
CREATE INDEX IF NOT EXISTS batches_product ON batches(product);
CREATE INDEX IF NOT EXISTS batches_corrects ON batches(corrects) WHERE corrects IS NOT NULL;

-- Which enterprises (and provinces) hold or held a batch: the tenant index for reads.
-- Batch and enterprise by number (ids.n, schema 26).
CREATE TABLE IF NOT EXISTS batch_access (
    batch INTEGER NOT NULL,
    enterprise INTEGER NOT NULL,
    province TEXT NOT NULL,
    PRIMARY KEY (batch, enterprise)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batch_access_enterprise ON batch_access(enterprise, batch);
CREATE INDEX IF NOT EXISTS batch_access_province ON batch_access(province, batch);

CREATE TABLE IF NOT EXISTS trace_codes (
    key TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    scheme TEXT NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_codes_batch ON trace_codes(batch_id);

CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    attachment TEXT,
    corrects TEXT,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_batch ON documents(batch_id);
CREATE INDEX IF NOT EXISTS documents_attachment ON documents(attachment) WHERE attachment IS NOT NULL;
-- A document no later record corrects (the current papers of a batch, for the checks).
CREATE INDEX IF NOT EXISTS documents_corrects ON documents(corrects) WHERE corrects IS NOT NULL;

-- The lean layout (schema 26). A movement refers to enterprises, batches and party keys by number (`ids`), to
-- the counterparties as written once in `counterparties` and to the people who handled goods once in `people`;
-- the movement itself has no JSON body, its columns are the record.
-- A counterparty as movements name it: its USCC ('' when none given) and name, and its party key (ids.n).
CREATE TABLE IF NOT EXISTS counterparties (
    n INTEGER PRIMARY KEY,
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    party INTEGER NOT NULL,
    UNIQUE (uscc, name)
);
CREATE INDEX IF NOT EXISTS counterparties_uscc ON counterparties(uscc) WHERE uscc != '';

CREATE TABLE IF NOT EXISTS movements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The movement's UUID, 16 bytes.
    id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    -- The holder enterprise (ids.n), its province when written, and its party key (ids.n).
    holder INTEGER NOT NULL,
    holder_province TEXT NOT NULL,
    holder_key INTEGER NOT NULL,
    -- The batch (ids.n), none for a transformation.
    batch INTEGER,
    quantity_milli INTEGER NOT NULL,
    -- When it happened: the millisecond, the rest in nanoseconds (none when zero), and the offset it was
    -- written in (seconds east of UTC).
    at_ms INTEGER NOT NULL,
    at_ns INTEGER,
    at_offset INTEGER NOT NULL,
    -- The counterparty as named (counterparties.n), and the registered enterprise its USCC named (ids.n).
    counterparty INTEGER,
    counterparty_id INTEGER,
    location TEXT,
    note TEXT,
    -- The movement this one corrects (its seq).
    corrects INTEGER,
    -- The first 8 bytes of the record's SHA-256 without its id: a resubmission with the same id must match.
    fp INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS movements_batch ON movements(batch, at_ms);
CREATE INDEX IF NOT EXISTS movements_holder ON movements(holder, seq);
CREATE INDEX IF NOT EXISTS movements_province ON movements(holder_province, seq);
CREATE INDEX IF NOT EXISTS movements_counterparty ON movements(counterparty_id, holder)
    WHERE counterparty_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS movements_corrects ON movements(corrects) WHERE corrects IS NOT NULL;
-- Seals (封存), few: whether a lot is sealed, for the dormant-stock sweep.
CREATE INDEX IF NOT EXISTS movements_seal ON movements(batch, holder) WHERE kind = 'seal';
-- Movements naming a counterparty that was not registered when they were written.
CREATE INDEX IF NOT EXISTS movements_unregistered ON movements(holder_province, counterparty)
    WHERE counterparty_id IS NULL AND counterparty IS NOT NULL;

-- Inputs (role 'in') and outputs (role 'out') of transformations; the batch is ids.n.
CREATE TABLE IF NOT EXISTS movement_lines (
    movement_seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    batch INTEGER NOT NULL,
    quantity_milli INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS movement_lines_movement ON movement_lines(movement_seq);
CREATE INDEX IF NOT EXISTS movement_lines_batch ON movement_lines(batch);

-- People who handled goods (人物同查), each as written once ('' for a part not given), with their person key.
CREATE TABLE IF NOT EXISTS people (
    n INTEGER PRIMARY KEY,
    person_key TEXT NOT NULL,
    name TEXT NOT NULL,
    id_no TEXT NOT NULL,
    phone TEXT NOT NULL,
    role TEXT NOT NULL,
    UNIQUE (person_key, name, id_no, phone, role)
);
-- Who handled each movement, in the order written.
CREATE TABLE IF NOT EXISTS movement_handlers (
    movement_seq INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    person INTEGER NOT NULL,
    PRIMARY KEY (movement_seq, pos)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS movement_handlers_person ON movement_handlers(person, movement_seq);

-- Incidents as registered (never changed) and their append-only history.
CREATE TABLE IF NOT EXISTS incidents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    province TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    -- What makes two registrations the same positive test (none for an incident opened from a notice).
    dedupe TEXT
);
CREATE INDEX IF NOT EXISTS incidents_dedupe ON incidents(dedupe) WHERE dedupe IS NOT NULL;
CREATE TABLE IF NOT EXISTS incident_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    by_subject TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events(incident_id, seq);
-- The batches each incident implicates (where its trace started, and every batch a task names).
CREATE TABLE IF NOT EXISTS incident_batches (
    batch_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    PRIMARY KEY (batch_id, incident_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    recorded_at INTEGER NOT NULL
);
-- Who uploaded an attachment: a document cites only an attachment its owner uploaded.
CREATE TABLE IF NOT EXISTS attachment_owners (
    sha256 TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    PRIMARY KEY (sha256, enterprise_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS submissions (
    subject TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (subject, idem_key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    enterprise_id TEXT,
    province TEXT,
    label TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    account TEXT
);
CREATE INDEX IF NOT EXISTS credentials_account ON credentials (account) WHERE account IS NOT NULL;

-- Each lot's stock (a batch at one holder), kept up to date by the writer so that the ledger checks cost the
-- same however many movements a lot has; rebuilt from the movements for a lot a correction touches.
-- The batch and the holder by number (ids.n, schema 26).
CREATE TABLE IF NOT EXISTS lot_stock (
    batch INTEGER NOT NULL,
    holder INTEGER NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    produced INTEGER NOT NULL DEFAULT 0,
    reported_inbound INTEGER NOT NULL DEFAULT 0,
    shipped INTEGER NOT NULL DEFAULT 0,
    sold INTEGER NOT NULL DEFAULT 0,
    consumed INTEGER NOT NULL DEFAULT 0,
    destroyed INTEGER NOT NULL DEFAULT 0,
    returned INTEGER NOT NULL DEFAULT 0,
    first_in INTEGER,
    first_out INTEGER,
    -- The lot's last movement (its own, or a sender's shipment to it), for dormant stock.
    last_at INTEGER,
    PRIMARY KEY (batch, holder)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lot_stock_holder ON lot_stock(holder);

-- Findings of the ledger checks (核查问题); one open finding per subject (a lot, a movement).
CREATE TABLE IF NOT EXISTS findings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    enterprise TEXT NOT NULL,
    province TEXT,
    batch TEXT,
    movement TEXT,
    message TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    closed_by TEXT,
    reason TEXT,
    -- The enterprise's answer (the finding stays 'open' until closed; answered when answered_at is set).
    answer_note TEXT,
    answer_record TEXT,
    answered_by TEXT,
    answered_at INTEGER,
    -- The customs declaration a finding of the cross-check is about.
    declaration TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS findings_open ON findings(subject) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS findings_open_batch ON findings(batch, rule) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS findings_subject ON findings(subject);
CREATE INDEX IF NOT EXISTS findings_province ON findings(province, seq);
CREATE INDEX IF NOT EXISTS findings_enterprise ON findings(enterprise, seq);
CREATE INDEX IF NOT EXISTS findings_declaration ON findings(declaration) WHERE declaration IS NOT NULL;

-- Customs data (海关数据): import declarations as customs sent them, for the cross-check.
CREATE TABLE IF NOT EXISTS customs_declarations (
    declaration_no TEXT PRIMARY KEY,
    -- The province whose platform customs fed (the customs key's), and the customs office (first four digits).
    province TEXT NOT NULL,
    office TEXT NOT NULL,
    consignee_uscc TEXT NOT NULL,
    declared_on TEXT NOT NULL,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS customs_office_day ON customs_declarations(office, declared_on);
CREATE INDEX IF NOT EXISTS customs_consignee ON customs_declarations(consignee_uscc);
CREATE INDEX IF NOT EXISTS customs_province ON customs_declarations(province, declaration_no);
-- The inspection-and-quarantine certificates listed on each declaration.
CREATE TABLE IF NOT EXISTS customs_certificates (
    certificate_no TEXT NOT NULL,
    declaration_no TEXT NOT NULL,
    PRIMARY KEY (certificate_no, declaration_no)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS customs_certificates_declaration ON customs_certificates(declaration_no);
-- Imported batches by the declaration they name.
CREATE INDEX IF NOT EXISTS batches_declaration ON batches(json_extract(body, '$.declaration_no'))
    WHERE json_extract(body, '$.declaration_no') IS NOT NULL;
-- Imported batches by the certificate they cite, for a feed's new certificates.
CREATE INDEX IF NOT EXISTS batches_certificate
    ON batches(upper(trim(json_extract(body, '$.inspection_cert_no'))))
    WHERE json_extract(body, '$.declaration_no') IS NOT NULL;

-- Data quality by day (UTC+8), city and enterprise kind, as the sweeps recorded it.
CREATE TABLE IF NOT EXISTS quality_daily (
    day TEXT NOT NULL,
    city TEXT NOT NULL,
    kind TEXT NOT NULL,
    lots INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    PRIMARY KEY (day, city, kind)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    enterprise_id TEXT,
    province TEXT,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
"#;

/// Table, column and declaration of every column added to a table after it was first released.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("credentials", "expires_at", "INTEGER"),
    ("credentials", "account", "TEXT"),
    ("lot_stock", "last_at", "INTEGER"),
    ("incidents", "dedupe", "TEXT"),
    ("findings", "answer_note", "TEXT"),
    ("findings", "answer_record", "TEXT"),
    ("findings", "answered_by", "TEXT"),
    ("findings", "answered_at", "INTEGER"),
    ("findings", "declaration", "TEXT"),
];

/// Columns added after a table was first created (`CREATE TABLE IF NOT EXISTS` leaves an older table as it
/// was): added to an older store when it is opened.
/// Version 24 reads GS1 codes with GS1's dictionary: a key now carries the CPV qualifier (22) where the code has
/// one, and other keys (SSCC, GLN) are recognised. Stored codes get their new key where it differs and is free;
/// a code the dictionary now refuses keeps the key it had, so it is still found.
pub(crate) fn rekey_gs1_codes(c: &rusqlite::Connection) -> rusqlite::Result<usize> {
    let rows: Vec<(String, String)> = c
        .prepare("SELECT key, value FROM trace_codes WHERE scheme = 'gs1'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = 0;
    for (old, value) in rows {
        let Ok(code) =
            coldtrace_domain::TraceCode::parse(&value, Some(coldtrace_domain::CodeScheme::Gs1))
        else {
            continue;
        };
        if code.key != old {
            changed += c.execute(
                "UPDATE trace_codes SET key = ?2 WHERE key = ?1
                   AND NOT EXISTS (SELECT 1 FROM trace_codes WHERE key = ?2)",
                rusqlite::params![old, code.key],
            )?;
        }
    }
    Ok(changed)
}

pub(crate) fn add_missing_columns(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    for (table, column, decl) in ADDED_COLUMNS {
        let exists: bool = c
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))?
            .exists([column])?;
        let table_exists: bool = c
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
            .exists([table])?;
        if table_exists && !exists {
            c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    Ok(())
}

/// The start of every `UPDATE` by which the platform itself resolves findings that later records settled, with
/// the time as parameter `?{now}` (append the `WHERE`).
pub(crate) fn resolve_by_records(now: usize) -> String {
    format!(
        "UPDATE findings SET status = 'resolved', closed_at = ?{now}, closed_by = 'platform',
            reason = 'put right by later records'"
    )
}

/// A lot's goods on hand (SQL over `lot_stock ls`): what it received or made (or, with no receipt of its own,
/// what senders shipped to it) less what left it.
pub(crate) const LOT_BALANCE: &str = "(CASE WHEN ls.received + ls.produced > 0 THEN ls.received + ls.produced
    ELSE ls.reported_inbound END) - ls.shipped - ls.sold - ls.consumed - ls.destroyed - ls.returned";

/// A movement `m` that no later record corrects (SQL, for queries over `movements m`).
pub(crate) const CURRENT: &str = "NOT EXISTS (SELECT 1 FROM movements c WHERE c.corrects = m.seq)";

/// Fills `lot_stock` from the stored movements, for a store written before the table existed. Corrected
/// movements do not count.
pub(crate) fn backfill_lot_stock(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    const ADD: &str = "ON CONFLICT (batch, holder) DO UPDATE SET
        received = received + excluded.received, produced = produced + excluded.produced,
        reported_inbound = reported_inbound + excluded.reported_inbound, shipped = shipped + excluded.shipped,
        sold = sold + excluded.sold, consumed = consumed + excluded.consumed,
        destroyed = destroyed + excluded.destroyed, returned = returned + excluded.returned,
        first_in = COALESCE(MIN(first_in, excluded.first_in), first_in, excluded.first_in),
        first_out = COALESCE(MIN(first_out, excluded.first_out), first_out, excluded.first_out),
        last_at = COALESCE(MAX(last_at, excluded.last_at), last_at, excluded.last_at)";
    c.execute_batch(&format!(
        "DELETE FROM lot_stock;
         INSERT INTO lot_stock (batch, holder, received, shipped, sold, destroyed, returned, first_in, first_out,
            last_at)
         SELECT batch, holder,
            COALESCE(SUM(CASE WHEN kind = 'receive' THEN quantity_milli END), 0),
            COALESCE(SUM(CASE WHEN kind = 'ship' THEN quantity_milli END), 0),
            COALESCE(SUM(CASE WHEN kind = 'sell' THEN quantity_milli END), 0),
            COALESCE(SUM(CASE WHEN kind = 'destroy' THEN quantity_milli END), 0),
            COALESCE(SUM(CASE WHEN kind = 'return' THEN quantity_milli END), 0),
            MIN(CASE WHEN kind = 'receive' THEN at_ms END),
            MIN(CASE WHEN kind IN ('ship', 'sell', 'return', 'destroy') THEN at_ms END),
            MAX(at_ms)
         FROM movements m WHERE batch IS NOT NULL AND {CURRENT} GROUP BY batch, holder {ADD};
         INSERT INTO lot_stock (batch, holder, produced, consumed, first_in, first_out, last_at)
         SELECT l.batch, m.holder,
            COALESCE(SUM(CASE WHEN l.role = 'out' THEN l.quantity_milli END), 0),
            COALESCE(SUM(CASE WHEN l.role = 'in' THEN l.quantity_milli END), 0),
            MIN(CASE WHEN l.role = 'out' THEN m.at_ms END),
            MIN(CASE WHEN l.role = 'in' THEN m.at_ms END),
            MAX(m.at_ms)
         FROM movement_lines l JOIN movements m ON m.seq = l.movement_seq WHERE {CURRENT}
         GROUP BY l.batch, m.holder {ADD};
         INSERT INTO lot_stock (batch, holder, reported_inbound, last_at)
         SELECT batch, counterparty_id, SUM(quantity_milli), MAX(at_ms) FROM movements m
         WHERE batch IS NOT NULL AND counterparty_id IS NOT NULL AND counterparty_id != holder
            AND kind IN ('ship', 'sell', 'return') AND {CURRENT}
         GROUP BY batch, counterparty_id {ADD};"
    ))
}

/// The batches an incident implicates, written with it.
pub(crate) fn index_incident(
    c: &rusqlite::Connection,
    i: &coldtrace_domain::incident::Incident,
) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO incident_batches (batch_id, incident_id) VALUES (?1, ?2)",
    )?;
    for b in i.seeds.iter().chain(i.tasks.iter().map(|t| &t.batch)) {
        stmt.execute([b.to_string(), i.id.to_string()])?;
    }
    Ok(())
}

/// Fills `incident_batches` from the stored incidents, for a store written before the table existed.
pub(crate) fn backfill_incident_batches(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    let bodies: Vec<String> = c
        .prepare("SELECT body FROM incidents")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for b in bodies {
        if let Ok(i) = serde_json::from_str::<coldtrace_domain::incident::Incident>(&b) {
            index_incident(c, &i)?;
        }
    }
    Ok(())
}
