//! The schema, as numbered migrations applied once each, in order, in one transaction under an advisory lock
//! (two nodes starting on a new database do not both create it). A database migrated by a newer release is
//! refused rather than written with older rules.

use uuid::Uuid;

use crate::{Error, Result, now_ms};

/// The migrations, in order. A released migration is never edited; a change is a new one.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE TABLE store_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_id UUID NOT NULL
);
INSERT INTO store_meta (id, store_id) VALUES (1, gen_random_uuid());

-- The audit trail: one row per entry, chained by hash inside the appending transaction.
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT,
    province TEXT,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome INTEGER NOT NULL,
    purpose TEXT,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_province ON audit (province, seq);

-- API keys (their SHA-256 only), console accounts, docking clients.
CREATE TABLE credentials (
    id UUID PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    enterprise_id UUID,
    province TEXT,
    label TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    account TEXT
);
CREATE INDEX credentials_account ON credentials (account) WHERE account IS NOT NULL;
CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    enterprise_id UUID,
    province TEXT,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE TABLE docking_clients (
    client_id TEXT PRIMARY KEY,
    province TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Batches a regulator approved for the public page.
CREATE TABLE published (
    batch_id UUID PRIMARY KEY,
    by_subject TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
"#,
    ),
    (
        2,
        r#"
-- The national inbox: every message accepted from every province, once. `gseq` is the acceptance order across
-- provinces; uploads are accepted under one lock, so gseq order is commit order and a node following the inbox
-- by gseq never passes a row that is not yet visible. Bodies are kept as the JSON text they were accepted as
-- (not JSONB, which refuses the \u0000 escape a province's text may carry).
CREATE TABLE inbox (
    gseq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    province TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (province, seq),
    UNIQUE (province, id)
);
CREATE TABLE link_decisions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    by_subject TEXT NOT NULL,
    note TEXT,
    at_ms BIGINT NOT NULL
);
-- Notices to deliver, in one order across provinces (stored under the same kind of lock as the inbox).
CREATE TABLE notices_out (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    province TEXT NOT NULL,
    incident UUID NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notices_out_province ON notices_out (province, seq);
"#,
    ),
    (
        3,
        r#"
-- The province contacts registry (省级联络名录): every version of every province's entry.
CREATE TABLE province_contacts (
    province TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (province, version)
);
"#,
    ),
    (
        4,
        r#"
-- The records (schema 4): the lean layout of the embedded store, in PostgreSQL's types. Enterprises, batches and
-- party keys that movements, lots and access rows refer to are numbered once in `ids`; the few fields of a record
-- that reads and checks select on are columns beside its JSON body (kept as text, like the inbox's).
CREATE TABLE ids (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE
);

CREATE TABLE enterprises (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    uscc TEXT NOT NULL,
    province TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    gln TEXT,
    corrects UUID,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX enterprises_uscc ON enterprises (uscc, seq);
CREATE INDEX enterprises_province ON enterprises (province, seq);
CREATE INDEX enterprises_corrects ON enterprises (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX enterprises_gln ON enterprises (gln) WHERE gln IS NOT NULL;

CREATE TABLE products (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    owner UUID NOT NULL,
    owner_province TEXT NOT NULL,
    origin_country TEXT,
    corrects UUID,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX products_owner ON products (owner, seq);
CREATE INDEX products_corrects ON products (corrects) WHERE corrects IS NOT NULL;

CREATE TABLE batches (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    owner UUID NOT NULL,
    product UUID NOT NULL,
    batch_no TEXT NOT NULL,
    -- An imported batch's customs declaration and inspection-and-quarantine certificate (as written).
    declaration_no TEXT,
    inspection_cert_no TEXT,
    corrects UUID,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX batches_owner_no ON batches (owner, batch_no, seq);
CREATE INDEX batches_product ON batches (product);
CREATE INDEX batches_corrects ON batches (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX batches_declaration ON batches (declaration_no) WHERE declaration_no IS NOT NULL;
CREATE INDEX batches_certificate ON batches (upper(trim(inspection_cert_no)))
    WHERE declaration_no IS NOT NULL;

-- Which enterprises (and provinces) hold or held a batch: the tenant index for reads (ids.n).
CREATE TABLE batch_access (
    batch BIGINT NOT NULL,
    enterprise BIGINT NOT NULL,
    province TEXT NOT NULL,
    PRIMARY KEY (batch, enterprise)
);
CREATE INDEX batch_access_enterprise ON batch_access (enterprise, batch);
CREATE INDEX batch_access_province ON batch_access (province, batch);

CREATE TABLE trace_codes (
    key TEXT PRIMARY KEY,
    batch_id UUID NOT NULL,
    scheme TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX trace_codes_batch ON trace_codes (batch_id);

CREATE TABLE documents (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    batch_id UUID NOT NULL,
    owner UUID NOT NULL,
    kind TEXT NOT NULL,
    attachment TEXT,
    -- The day a certificate or report was issued (YYYY-MM-DD), for the nucleic-acid check.
    issued_on TEXT,
    corrects UUID,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX documents_batch ON documents (batch_id);
CREATE INDEX documents_attachment ON documents (attachment) WHERE attachment IS NOT NULL;
CREATE INDEX documents_corrects ON documents (corrects) WHERE corrects IS NOT NULL;

-- A counterparty as movements name it: its USCC ('' when none given) and name, and its party key (ids.n).
CREATE TABLE counterparties (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    party BIGINT NOT NULL,
    UNIQUE (uscc, name)
);
CREATE INDEX counterparties_uscc ON counterparties (uscc) WHERE uscc != '';

-- Movements: the columns are the record. `seq` is given under the submission lock, so seq order is commit order
-- and a node following the movement log by seq never passes a row that is not yet visible.
CREATE TABLE movements (
    seq BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    holder BIGINT NOT NULL,
    holder_province TEXT NOT NULL,
    holder_key BIGINT NOT NULL,
    batch BIGINT,
    quantity_milli BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    at_ns BIGINT,
    at_offset INTEGER NOT NULL,
    counterparty BIGINT,
    counterparty_id BIGINT,
    location TEXT,
    note TEXT,
    corrects BIGINT,
    fp BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX movements_batch ON movements (batch, at_ms);
CREATE INDEX movements_holder ON movements (holder, seq);
CREATE INDEX movements_province ON movements (holder_province, seq);
CREATE INDEX movements_counterparty ON movements (counterparty_id, holder) WHERE counterparty_id IS NOT NULL;
CREATE INDEX movements_corrects ON movements (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX movements_seal ON movements (batch, holder) WHERE kind = 'seal';
CREATE INDEX movements_unregistered ON movements (holder_province, counterparty)
    WHERE counterparty_id IS NULL AND counterparty IS NOT NULL;

-- Inputs ('in') and outputs ('out') of transformations, in the order written.
CREATE TABLE movement_lines (
    line BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    movement_seq BIGINT NOT NULL,
    role TEXT NOT NULL,
    batch BIGINT NOT NULL,
    quantity_milli BIGINT NOT NULL
);
CREATE INDEX movement_lines_movement ON movement_lines (movement_seq);
CREATE INDEX movement_lines_batch ON movement_lines (batch);

-- People who handled goods (人物同查), each as written once, and who handled each movement.
CREATE TABLE people (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_key TEXT NOT NULL,
    name TEXT NOT NULL,
    id_no TEXT NOT NULL,
    phone TEXT NOT NULL,
    role TEXT NOT NULL,
    UNIQUE (person_key, name, id_no, phone, role)
);
CREATE TABLE movement_handlers (
    movement_seq BIGINT NOT NULL,
    pos INTEGER NOT NULL,
    person BIGINT NOT NULL,
    PRIMARY KEY (movement_seq, pos)
);
CREATE INDEX movement_handlers_person ON movement_handlers (person, movement_seq);

CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE TABLE attachment_owners (
    sha256 TEXT NOT NULL,
    enterprise_id UUID NOT NULL,
    PRIMARY KEY (sha256, enterprise_id)
);

-- The answer to each submission sent with an idempotency key.
CREATE TABLE submissions (
    subject TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (subject, idem_key)
);

-- Each lot's stock (a batch at one holder), kept by the writer (ids.n).
CREATE TABLE lot_stock (
    batch BIGINT NOT NULL,
    holder BIGINT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    produced BIGINT NOT NULL DEFAULT 0,
    reported_inbound BIGINT NOT NULL DEFAULT 0,
    shipped BIGINT NOT NULL DEFAULT 0,
    sold BIGINT NOT NULL DEFAULT 0,
    consumed BIGINT NOT NULL DEFAULT 0,
    destroyed BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    first_in BIGINT,
    first_out BIGINT,
    last_at BIGINT,
    PRIMARY KEY (batch, holder)
);
CREATE INDEX lot_stock_holder ON lot_stock (holder);

-- Findings of the ledger checks (核查问题); one open finding per subject.
CREATE TABLE findings (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    enterprise TEXT NOT NULL,
    province TEXT,
    batch UUID,
    movement UUID,
    message TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    closed_by TEXT,
    reason TEXT,
    answer_note TEXT,
    answer_record TEXT,
    answered_by TEXT,
    answered_at BIGINT,
    declaration TEXT
);
CREATE UNIQUE INDEX findings_open ON findings (subject) WHERE status = 'open';
CREATE INDEX findings_open_batch ON findings (batch, rule) WHERE status = 'open';
CREATE INDEX findings_subject ON findings (subject);
CREATE INDEX findings_province ON findings (province, seq);
CREATE INDEX findings_enterprise ON findings (enterprise, seq);
CREATE INDEX findings_declaration ON findings (declaration) WHERE declaration IS NOT NULL;

-- Customs data (海关数据): declarations as customs sent them and the certificates each lists.
CREATE TABLE customs_declarations (
    declaration_no TEXT PRIMARY KEY,
    province TEXT NOT NULL,
    office TEXT NOT NULL,
    consignee_uscc TEXT NOT NULL,
    declared_on TEXT NOT NULL,
    fp TEXT NOT NULL,
    body TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX customs_office_day ON customs_declarations (office, declared_on);
CREATE INDEX customs_consignee ON customs_declarations (consignee_uscc);
CREATE INDEX customs_province ON customs_declarations (province, declaration_no);
CREATE TABLE customs_certificates (
    certificate_no TEXT NOT NULL,
    declaration_no TEXT NOT NULL,
    PRIMARY KEY (certificate_no, declaration_no)
);
CREATE INDEX customs_certificates_declaration ON customs_certificates (declaration_no);

-- Docking, province side: messages to the national platform, written in the submission's transaction.
CREATE TABLE outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE TABLE docking_state (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
"#,
    ),
    (
        5,
        r#"
-- Incidents as registered (never changed), their append-only history and the batches each implicates (schema 5).
CREATE TABLE incidents (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    province TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    -- What makes two registrations the same positive test (none for an incident opened from a notice).
    dedupe TEXT
);
CREATE INDEX incidents_dedupe ON incidents (dedupe) WHERE dedupe IS NOT NULL;
CREATE TABLE incident_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id UUID NOT NULL,
    by_subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The event's type, for the incidents still open.
    kind TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, seq);
CREATE TABLE incident_batches (
    batch_id UUID NOT NULL,
    incident_id UUID NOT NULL,
    PRIMARY KEY (batch_id, incident_id)
);

-- Notices received from the national platform, with what was done about each.
CREATE TABLE notices_in (
    id UUID PRIMARY KEY,
    seq BIGINT NOT NULL,
    body TEXT NOT NULL,
    incident UUID,
    received_at BIGINT NOT NULL,
    acked_at BIGINT,
    acked_by TEXT,
    ack_note TEXT
);

-- Staff of each enterprise (从业人员), by identity number, and their nucleic-acid tests.
CREATE TABLE staff (
    enterprise UUID NOT NULL,
    id_no TEXT NOT NULL,
    body TEXT NOT NULL,
    role TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (enterprise, id_no)
);
CREATE TABLE staff_tests (
    enterprise UUID NOT NULL,
    id_no TEXT NOT NULL,
    sampled_on TEXT NOT NULL,
    result TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (enterprise, id_no, sampled_on, result)
);
CREATE INDEX staff_tests_person ON staff_tests (id_no, sampled_on);

-- Data quality by day (UTC+8), city and enterprise kind, as the sweeps recorded it.
CREATE TABLE quality_daily (
    day TEXT NOT NULL,
    city TEXT NOT NULL,
    kind TEXT NOT NULL,
    lots BIGINT NOT NULL,
    flagged BIGINT NOT NULL,
    PRIMARY KEY (day, city, kind)
);
"#,
    ),
    (
        6,
        r#"
-- The census of cold-chain enterprises (冷链主体底数) per province, as last imported, and coverage by day
-- (UTC+8), city and kind, as the sweeps recorded it (schema 6).
CREATE TABLE census (
    province TEXT NOT NULL,
    seq BIGINT NOT NULL,
    uscc TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    body TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    PRIMARY KEY (province, seq)
);
CREATE TABLE coverage_daily (
    province TEXT NOT NULL,
    day TEXT NOT NULL,
    city TEXT NOT NULL,
    kind TEXT NOT NULL,
    census BIGINT NOT NULL,
    registered BIGINT NOT NULL,
    PRIMARY KEY (province, day, city, kind)
);

-- Temperature readings of each enterprise's cold stores, reefers and sensors, by subject and device.
CREATE TABLE sensor_readings (
    enterprise UUID NOT NULL,
    subject TEXT NOT NULL,
    device TEXT NOT NULL,
    at BIGINT NOT NULL,
    celsius DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (enterprise, subject, device, at)
);

-- Capture jobs (EPCIS 捕获任务); the document is kept until the job finishes, so a restart runs it again.
CREATE TABLE epcis_jobs (
    id UUID PRIMARY KEY,
    enterprise UUID NOT NULL,
    behaviour TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    success BOOLEAN NOT NULL DEFAULT FALSE,
    captured BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]',
    document TEXT
);
CREATE INDEX epcis_jobs_unfinished ON epcis_jobs (created_at) WHERE finished_at IS NULL;
-- Events as sent, with what the queries filter on. One enterprise's event is stored once (by hash, by eventID).
CREATE TABLE epcis_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enterprise UUID NOT NULL,
    province TEXT NOT NULL,
    job UUID NOT NULL,
    hash TEXT NOT NULL,
    event_id TEXT,
    kind TEXT NOT NULL,
    event_time BIGINT NOT NULL,
    record_time BIGINT NOT NULL,
    action TEXT,
    biz_step TEXT,
    disposition TEXT,
    read_point TEXT,
    biz_location TEXT,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX epcis_events_hash ON epcis_events (enterprise, hash);
CREATE UNIQUE INDEX epcis_events_id ON epcis_events (enterprise, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX epcis_events_province ON epcis_events (province, seq);
CREATE INDEX epcis_events_time ON epcis_events (event_time);
-- Every identifier an event names, by its canonical key (GS1 codes in any form share one key).
CREATE TABLE epcis_ids (
    key TEXT NOT NULL,
    role TEXT NOT NULL,
    event BIGINT NOT NULL,
    PRIMARY KEY (key, role, event)
);
CREATE INDEX epcis_ids_event ON epcis_ids (event, role);
"#,
    ),
    (
        7,
        r#"
-- Partitioning by province (schema 7): the movement log and the tenant index, the tables that grow with the
-- nation, are partitioned by the province of the holder (GB/T 2260 two digits; a default partition for anything
-- else). The province is the distribution key for a Citus cluster too: each province's movements and access rows
-- live together, and the dictionaries (ids, counterparties, people) and the other records are reference tables.
-- A movement's id and seq stay unique across provinces: they are given and checked by the writer under the
-- submission lock; the keys below are what PostgreSQL can enforce per partition.
CREATE TABLE movements_by_province (
    LIKE movements,
    PRIMARY KEY (holder_province, seq),
    UNIQUE (holder_province, id)
) PARTITION BY LIST (holder_province);
CREATE TABLE batch_access_by_province (
    LIKE batch_access,
    PRIMARY KEY (province, batch, enterprise)
) PARTITION BY LIST (province);
DO $$
DECLARE p TEXT;
BEGIN
    FOREACH p IN ARRAY ARRAY['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36',
        '37', '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65', '71',
        '81', '82']
    LOOP
        EXECUTE format('CREATE TABLE movements_%s PARTITION OF movements_by_province FOR VALUES IN (%L)', p, p);
        EXECUTE format('CREATE TABLE batch_access_%s PARTITION OF batch_access_by_province FOR VALUES IN (%L)',
            p, p);
    END LOOP;
END
$$;
CREATE TABLE movements_other PARTITION OF movements_by_province DEFAULT;
CREATE TABLE batch_access_other PARTITION OF batch_access_by_province DEFAULT;
INSERT INTO movements_by_province SELECT * FROM movements;
INSERT INTO batch_access_by_province SELECT * FROM batch_access;
DROP TABLE movements;
DROP TABLE batch_access;
ALTER TABLE movements_by_province RENAME TO movements;
ALTER TABLE batch_access_by_province RENAME TO batch_access;
CREATE INDEX movements_seq ON movements (seq);
CREATE INDEX movements_id ON movements (id);
CREATE INDEX movements_batch ON movements (batch, at_ms);
CREATE INDEX movements_holder ON movements (holder, seq);
CREATE INDEX movements_counterparty ON movements (counterparty_id, holder) WHERE counterparty_id IS NOT NULL;
CREATE INDEX movements_corrects ON movements (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX movements_seal ON movements (batch, holder) WHERE kind = 'seal';
CREATE INDEX movements_unregistered ON movements (holder_province, counterparty)
    WHERE counterparty_id IS NULL AND counterparty IS NOT NULL;
CREATE INDEX batch_access_batch ON batch_access (batch, enterprise);
CREATE INDEX batch_access_enterprise ON batch_access (enterprise, batch);
"#,
    ),
    (
        8,
        r#"
-- Whether a movement is current (schema 8): the seq of the latest movement that corrects it, kept on the row by
-- the writer. Asking "does any movement correct this one" of a log partitioned by province looked in every
-- partition for every row a check or the index feed read; the column answers it from the row itself.
ALTER TABLE movements ADD COLUMN superseded_by BIGINT;
UPDATE movements m SET superseded_by = c.latest
  FROM (SELECT corrects, MAX(seq) AS latest FROM movements WHERE corrects IS NOT NULL GROUP BY corrects) c
 WHERE m.seq = c.corrects;
"#,
    ),
    (
        9,
        r#"
-- The rest of the movement log partitioned by province (schema 9). A movement's handlers are kept on its row, as
-- the numbers of the people in the order written (`people.n`), instead of two rows each in a table of their own,
-- with an inverted (GIN) index for the movements a person handled; transformation lines carry their movement's
-- province and are partitioned by it. The tables are rebuilt rather than altered, so the store keeps no dead row
-- versions. Lot stock stays one table keyed by lot: partitioned, every read and upsert of a lot (several per
-- movement) paid for the partitions in planning, locking and routing, and `gen` ran a fifth slower.
CREATE TABLE movements_new (
    LIKE movements,
    handlers BIGINT[],
    PRIMARY KEY (holder_province, seq),
    UNIQUE (holder_province, id)
) PARTITION BY LIST (holder_province);
CREATE SEQUENCE movement_lines_line;
CREATE TABLE movement_lines_new (
    line BIGINT NOT NULL DEFAULT nextval('movement_lines_line'),
    holder_province TEXT NOT NULL,
    movement_seq BIGINT NOT NULL,
    role TEXT NOT NULL,
    batch BIGINT NOT NULL,
    quantity_milli BIGINT NOT NULL,
    PRIMARY KEY (holder_province, line)
) PARTITION BY LIST (holder_province);
DO $$
DECLARE p TEXT; t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['movements', 'movement_lines']
    LOOP
        FOREACH p IN ARRAY ARRAY['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35',
            '36', '37', '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64',
            '65', '71', '81', '82']
        LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', t || '_new_' || p, t || '_new', p);
        END LOOP;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t || '_new_other', t || '_new');
    END LOOP;
END
$$;
INSERT INTO movements_new
SELECT m.*, h.people FROM movements m
  LEFT JOIN (SELECT movement_seq, array_agg(person ORDER BY pos) AS people FROM movement_handlers
              GROUP BY movement_seq) h ON h.movement_seq = m.seq;
SELECT setval('movement_lines_line', COALESCE((SELECT MAX(line) FROM movement_lines), 0) + 1, false);
INSERT INTO movement_lines_new (line, holder_province, movement_seq, role, batch, quantity_milli)
SELECT l.line, COALESCE(m.holder_province, ''), l.movement_seq, l.role, l.batch, l.quantity_milli
  FROM movement_lines l LEFT JOIN movements m ON m.seq = l.movement_seq;
DROP TABLE movements;
DROP TABLE movement_handlers;
DROP TABLE movement_lines;
DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'i', 'I')
                AND c.relname ~ '^(movements|movement_lines)_new'
    LOOP
        EXECUTE format(CASE WHEN r.relkind IN ('i', 'I') THEN 'ALTER INDEX %I RENAME TO %I'
                            ELSE 'ALTER TABLE %I RENAME TO %I' END,
            r.relname, replace(r.relname, '_new', ''));
    END LOOP;
END
$$;
ALTER SEQUENCE movement_lines_line OWNED BY movement_lines.line;
CREATE INDEX movements_seq ON movements (seq);
CREATE INDEX movements_id ON movements (id);
CREATE INDEX movements_batch ON movements (batch, at_ms);
CREATE INDEX movements_holder ON movements (holder, seq);
CREATE INDEX movements_counterparty ON movements (counterparty_id, holder) WHERE counterparty_id IS NOT NULL;
CREATE INDEX movements_corrects ON movements (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX movements_seal ON movements (batch, holder) WHERE kind = 'seal';
CREATE INDEX movements_unregistered ON movements (holder_province, counterparty)
    WHERE counterparty_id IS NULL AND counterparty IS NOT NULL;
CREATE INDEX movements_handlers ON movements USING GIN (handlers) WHERE handlers IS NOT NULL;
CREATE INDEX movement_lines_movement ON movement_lines (movement_seq);
CREATE INDEX movement_lines_batch ON movement_lines (batch);
"#,
    ),
    (
        10,
        r#"
-- Each key of the movement log and the tenant index once (schema 10). A partitioned table's keys must name its
-- partition key, so schemas 7 to 9 kept (holder_province, seq) and (holder_province, id) unique, and seq and id
-- again for the reads that know no province (following the log, finding a corrected movement): two indexes of
-- each, 93 of the 516 bytes a movement took at 10^5 (`bench disk`). A partition holds one province, so a unique
-- index of the partition on seq, on id, and on a batch's access row (batch, enterprise) enforces what the keys
-- did, and serves those reads too. The writer still gives and checks ids and seqs across provinces under the
-- submission lock. A partition's indexes are its own, not its table's: a partition added later needs them too
-- (only these migrations make partitions). The default partition holds the codes not listed, where they are a
-- little stricter than the keys were. A Citus cluster requires its unique indexes to name the distribution key:
-- there they are the schema 9 keys, made by hand (docs/scale.md).
DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT conname, conrelid::regclass::text AS tab FROM pg_constraint
              WHERE conrelid IN ('movements'::regclass, 'batch_access'::regclass) AND contype IN ('p', 'u')
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tab, r.conname);
    END LOOP;
    FOR r IN SELECT c.relname AS part, i.inhparent = 'movements'::regclass AS movements FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent IN ('movements'::regclass, 'batch_access'::regclass)
    LOOP
        IF r.movements THEN
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I (seq)', r.part || '_seq_key', r.part);
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I (id)', r.part || '_id_key', r.part);
        ELSE
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I (batch, enterprise)', r.part || '_key', r.part);
        END IF;
    END LOOP;
END
$$;
DROP INDEX movements_seq;
DROP INDEX movements_id;
DROP INDEX batch_access_batch;
"#,
    ),
];

/// The newest schema this release knows.
pub const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Applies the migrations the database lacks and answers the store's id.
pub(crate) async fn migrate(client: &mut deadpool_postgres::Object) -> Result<Uuid> {
    migrate_to(client, LATEST).await
}

/// Applies the migrations the database lacks up to `target` (a test brings a store to an older schema with it).
async fn migrate_to(client: &mut tokio_postgres::Client, target: i32) -> Result<Uuid> {
    let tx = client.transaction().await?;
    // One lock per schema: stores in other schemas of the same database migrate independently.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('coldtrace:' || current_schema())::bigint)",
        &[],
    )
    .await?;
    let fresh = tx
        .query_one("SELECT to_regclass('coldtrace_migrations') IS NULL", &[])
        .await?
        .get::<_, bool>(0);
    if fresh {
        tx.batch_execute(
            "CREATE TABLE coldtrace_migrations (
                version INTEGER PRIMARY KEY,
                applied_at_ms BIGINT NOT NULL
            )",
        )
        .await?;
    }
    let have: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM coldtrace_migrations",
            &[],
        )
        .await?
        .get(0);
    if have > LATEST {
        return Err(Error::Config(format!(
            "the database is at schema {have}, made by a newer coldtrace; this release knows up to {LATEST}"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > have && *v <= target) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO coldtrace_migrations (version, applied_at_ms) VALUES ($1, $2)",
            &[version, &now_ms()],
        )
        .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    let id: Uuid = tx
        .query_one("SELECT store_id FROM store_meta WHERE id = 1", &[])
        .await?
        .get(0);
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> String {
        std::env::var("COLDTRACE_TEST_PG")
            .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
    }

    /// The first column of every row of a query, as text.
    async fn texts(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
        c.query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// Schema 7 partitions the movements and the access rows by province: a store migrated from schema 6 keeps
    /// every row, each in its province's partition, and stays readable by the queries that knew no partitions;
    /// schema 8 marks each corrected movement with its latest correction; schema 9 moves handlers onto the
    /// movement's row and partitions the transformation lines too; schema 10 keeps each key once, per partition.
    #[tokio::test]
    async fn partitioning_by_province_keeps_every_row() {
        let schema = format!("coldtrace_test_{}", Uuid::now_v7().simple());
        let (mut c, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (set COLDTRACE_TEST_PG): {e}", url()));
        tokio::spawn(conn);
        c.batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .await
        .unwrap();
        let id = migrate_to(&mut c, 6).await.unwrap();
        c.batch_execute(
            "INSERT INTO movements (seq, id, kind, holder, holder_province, holder_key, batch, quantity_milli,
                at_ms, at_offset, fp, recorded_at)
             VALUES (1, gen_random_uuid(), 'receive', 1, '12', 1, 7, 1000, 1, 28800, 42, 1),
                    (2, gen_random_uuid(), 'ship', 2, '44', 2, 7, 500, 2, 28800, 43, 2),
                    (3, gen_random_uuid(), 'sell', 3, '', 3, 7, 100, 3, 28800, 44, 3);
             INSERT INTO movements (seq, id, kind, holder, holder_province, holder_key, batch, quantity_milli,
                at_ms, at_offset, corrects, fp, recorded_at)
             VALUES (4, gen_random_uuid(), 'receive', 1, '12', 1, 7, 900, 1, 28800, 1, 45, 4),
                    (5, gen_random_uuid(), 'receive', 1, '12', 1, 7, 800, 1, 28800, 1, 46, 5);
             INSERT INTO batch_access VALUES (7, 1, '12'), (7, 2, '44');
             INSERT INTO people (person_key, name, id_no, phone, role) VALUES ('k1', 'A', '', '', ''),
                ('k2', 'B', '', '', '');
             INSERT INTO movement_handlers VALUES (2, 0, 2), (2, 1, 1);
             INSERT INTO movement_lines (movement_seq, role, batch, quantity_milli) VALUES (1, 'in', 7, 10);
             INSERT INTO movement_lines (movement_seq, role, batch, quantity_milli) VALUES (3, 'out', 8, 10);",
        )
        .await
        .unwrap();
        assert_eq!(
            migrate_to(&mut c, LATEST).await.unwrap(),
            id,
            "the store keeps its id"
        );
        let rows: Vec<(String, i64)> = c
            .query(
                "SELECT tableoid::regclass::TEXT, seq FROM movements WHERE seq > 0 ORDER BY seq",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let part = |p: &str| format!("movements_{p}");
        assert_eq!(
            rows,
            vec![
                (part("12"), 1),
                (part("44"), 2),
                (part("other"), 3),
                (part("12"), 4),
                (part("12"), 5)
            ]
        );
        // Schema 9: handlers on the movement's row in the order written; lines by their movement's province.
        let handlers: Option<Vec<i64>> = c
            .query_one("SELECT handlers FROM movements WHERE seq = 2", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(handlers, Some(vec![2, 1]));
        let placed = texts(
            &c,
            "SELECT tableoid::regclass::TEXT FROM movement_lines ORDER BY movement_seq",
        )
        .await;
        assert_eq!(placed, vec!["movement_lines_12", "movement_lines_other"]);
        // Schema 8: a corrected movement names its latest correction; the others are current.
        let superseded: Vec<(i64, Option<i64>)> = c
            .query("SELECT seq, superseded_by FROM movements ORDER BY seq", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(
            superseded,
            vec![(1, Some(5)), (2, None), (3, None), (4, None), (5, None)]
        );
        let access: i64 = c
            .query_one("SELECT COUNT(*) FROM batch_access_12", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(access, 1);
        // Schema 10: each partition's unique indexes keep a seq, an id and an access row once, as the keys did.
        for (what, sql) in [
            (
                "a seq again",
                "INSERT INTO movements (seq, id, kind, holder, holder_province, holder_key, batch, quantity_milli,
                    at_ms, at_offset, fp, recorded_at)
                 VALUES (4, gen_random_uuid(), 'receive', 1, '12', 1, 7, 1, 1, 28800, 47, 6)",
            ),
            (
                "an id again",
                "INSERT INTO movements (seq, id, kind, holder, holder_province, holder_key, batch, quantity_milli,
                    at_ms, at_offset, fp, recorded_at)
                 SELECT 6, id, 'receive', 1, '12', 1, 7, 1, 1, 28800, 47, 6 FROM movements WHERE seq = 5",
            ),
            (
                "an access row again",
                "INSERT INTO batch_access VALUES (7, 1, '12')",
            ),
        ] {
            let e = c.batch_execute(sql).await.expect_err(what);
            assert_eq!(
                e.code(),
                Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
                "{what}: {e}"
            );
        }
        // Every partition has them: a partition added later gets none from its table (partitions are made only
        // by the migrations, from the province lists above).
        let missing = texts(
            &c,
            "SELECT c.relname::TEXT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent IN ('movements'::regclass, 'batch_access'::regclass)
               AND (SELECT COUNT(*) FROM pg_index x WHERE x.indrelid = c.oid AND x.indisunique)
                   <> CASE WHEN i.inhparent = 'movements'::regclass THEN 2 ELSE 1 END",
        )
        .await;
        assert!(
            missing.is_empty(),
            "partitions without their keys: {missing:?}"
        );
        assert_eq!(
            c.execute(
                "INSERT INTO batch_access VALUES (7, 1, '12') ON CONFLICT DO NOTHING",
                &[]
            )
            .await
            .unwrap(),
            0,
            "a grant given twice is one row"
        );
        c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    }
}
