//! The state file's schema: the tables, the columns later versions added
//! (added in place to an older file), and the indexes publishing reads by.

use rusqlite::Connection;

pub(super) const TABLES: &str = r"
CREATE TABLE IF NOT EXISTS sources (
    name                 TEXT PRIMARY KEY,
    location             TEXT NOT NULL,
    title                TEXT,
    site_link            TEXT,
    feed_id              TEXT,
    -- The feed's own self link, published for sources read from disk.
    self_link            TEXT,
    -- From feeds.toml: whose fields win when sources share a story.
    priority             INTEGER NOT NULL DEFAULT 0,
    -- While the daemon fetches it: since when (milliseconds); else NULL.
    fetching_since_ms    INTEGER,
    etag                 TEXT,
    last_modified        TEXT,
    last_attempt         INTEGER,
    last_success         INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    -- Milliseconds: short intervals need better than whole seconds.
    next_due_ms          INTEGER,
    -- Where a permanent redirect (301/308) sent us; used instead of the
    -- configured URL until the configured URL changes.
    moved_to             TEXT,
    -- Why the source is disabled (410 Gone); NULL when enabled.
    disabled             TEXT
);
-- Small facts about the state itself, such as what the outputs were last
-- built from.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Hosts that asked us (429/503 with Retry-After) not to come back before a time.
CREATE TABLE IF NOT EXISTS hosts (
    host       TEXT PRIMARY KEY,
    not_before INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id           INTEGER PRIMARY KEY,
    -- Small columns first, the bodies last: a query that reads only the
    -- dates or the owner then stops before the body's overflow pages.
    -- (State files made before this order keep theirs; columns are always
    -- named, so both work.)
    published    INTEGER NOT NULL,
    updated      INTEGER,
    -- The change stamp of the last write that could change how the item
    -- is published (its fields or its sources): publishing copies an
    -- item's bytes from the last file while this is the same.
    revision     INTEGER NOT NULL DEFAULT 0,
    first_seen   INTEGER NOT NULL,
    date_source  TEXT NOT NULL,
    public_id    TEXT NOT NULL UNIQUE,
    -- The source whose version of the fields is kept; others only fill gaps,
    -- so two sources never flip an item back and forth between runs.
    owner        TEXT NOT NULL,
    link         TEXT,
    title        TEXT NOT NULL,
    authors      TEXT NOT NULL,
    categories   TEXT NOT NULL,
    credit       TEXT,
    image        TEXT,
    -- JSON list of {url, length, mime, duration}.
    enclosures   TEXT,
    author_email TEXT,
    summary      TEXT,
    content      TEXT
);
CREATE INDEX IF NOT EXISTS items_by_link ON items(link);
CREATE TABLE IF NOT EXISTS item_sources (
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    item_id    INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    link       TEXT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE INDEX IF NOT EXISTS item_sources_by_item ON item_sources(item_id);
-- Item pages read for feeds with `full_text = true`: the article body got,
-- or how many reads failed (retried a few times, then left alone).
CREATE TABLE IF NOT EXISTS full_text (
    source     TEXT NOT NULL,
    link       TEXT NOT NULL,
    body       TEXT,
    attempts   INTEGER NOT NULL,
    last_error TEXT,
    PRIMARY KEY (source, link)
);
";

pub(super) const OUTPUTS: &str = "
-- Items newest first, covering what publishing reads before the bodies:
-- reading the stamp from the table would walk each body's overflow pages.
-- (It replaces the narrower `items_newest` of earlier versions.)
CREATE INDEX IF NOT EXISTS items_by_date ON items(published DESC, public_id, revision, updated);
DROP INDEX IF EXISTS items_newest;
CREATE TABLE IF NOT EXISTS layouts (
    -- The published file's name in the output folder.
    file          TEXT PRIMARY KEY,
    -- Digest of everything besides the items that the items' bytes depend on.
    basis         BLOB NOT NULL,
    -- The file as written, to tell that it was not replaced since.
    file_len      INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL,
    -- Placed entries, 40 bytes each (see Placed::encode).
    placed        BLOB NOT NULL
);
";

/// Columns added after the first version, `(table, column, type)`: a state
/// file written before gains them in place when it is opened.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("items", "image", "TEXT"),
    ("items", "enclosures", "TEXT"),
    ("items", "author_email", "TEXT"),
    ("sources", "moved_to", "TEXT"),
    ("sources", "disabled", "TEXT"),
    ("sources", "next_due_ms", "INTEGER"),
    ("sources", "self_link", "TEXT"),
    ("sources", "priority", "INTEGER NOT NULL DEFAULT 0"),
    ("sources", "fetching_since_ms", "INTEGER"),
    ("item_sources", "digest", "TEXT"),
    ("items", "revision", "INTEGER NOT NULL DEFAULT 0"),
];

/// Creates what is missing: the tables, the columns older files lack, then
/// the indexes over them.
pub(super) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(TABLES)?;
    for (table, column, kind) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            [table, column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    // After the columns they cover exist.
    conn.execute_batch(OUTPUTS)
}

/// The same tables for a PostgreSQL database: integers are 64-bit, the
/// ids are identity columns, bytes are `bytea`, and `item_sources` has
/// `seq` where SQLite has its rowid (the order entries were stored in).
pub(super) const POSTGRES: &str = r"
CREATE TABLE IF NOT EXISTS sources (
    name                 TEXT PRIMARY KEY,
    location             TEXT NOT NULL,
    title                TEXT,
    site_link            TEXT,
    feed_id              TEXT,
    self_link            TEXT,
    priority             BIGINT NOT NULL DEFAULT 0,
    fetching_since_ms    BIGINT,
    etag                 TEXT,
    last_modified        TEXT,
    last_attempt         BIGINT,
    last_success         BIGINT,
    last_error           TEXT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    next_due_ms          BIGINT,
    moved_to             TEXT,
    disabled             TEXT,
    -- The worker fetching it, until when (see store/cluster.rs), and the
    -- host it is fetched from, for the cluster-wide per-host limit.
    lease_owner          TEXT,
    lease_until_ms       BIGINT,
    host                 TEXT
);
CREATE INDEX IF NOT EXISTS sources_leased ON sources(host, lease_until_ms);
-- The daemons sharing this database, each with its feeds.toml's fingerprint
-- and when it last said it was alive.
CREATE TABLE IF NOT EXISTS workers (
    id          TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    seen_ms     BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hosts (
    host       TEXT PRIMARY KEY,
    not_before BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    published    BIGINT NOT NULL,
    updated      BIGINT,
    revision     BIGINT NOT NULL DEFAULT 0,
    first_seen   BIGINT NOT NULL,
    date_source  TEXT NOT NULL,
    public_id    TEXT NOT NULL UNIQUE,
    owner        TEXT NOT NULL,
    link         TEXT,
    title        TEXT NOT NULL,
    authors      TEXT NOT NULL,
    categories   TEXT NOT NULL,
    credit       TEXT,
    image        TEXT,
    enclosures   TEXT,
    author_email TEXT,
    summary      TEXT,
    content      TEXT
);
CREATE INDEX IF NOT EXISTS items_by_link ON items(link);
CREATE INDEX IF NOT EXISTS items_by_date ON items(published DESC, public_id, revision, updated);
CREATE TABLE IF NOT EXISTS item_sources (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    item_id    BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    link       TEXT,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    digest     TEXT,
    PRIMARY KEY (source, key)
);
CREATE INDEX IF NOT EXISTS item_sources_by_item ON item_sources(item_id);
CREATE TABLE IF NOT EXISTS full_text (
    source     TEXT NOT NULL,
    link       TEXT NOT NULL,
    body       TEXT,
    attempts   BIGINT NOT NULL,
    last_error TEXT,
    PRIMARY KEY (source, link)
);
-- A worker's claim on a source (see store/cluster.rs), in one round trip:
-- under a lock on the host's name, the host's live leases are counted
-- (each statement here sees what committed before it), then the source is
-- leased if no other worker holds it and it was not fetched since the
-- worker read it. Answers 'taken', 'host_full', 'changed' or 'busy:UNTIL'.
CREATE OR REPLACE FUNCTION feedloom_claim(
    p_name TEXT, p_location TEXT, p_worker TEXT, p_until BIGINT, p_host TEXT,
    p_now BIGINT, p_seen BIGINT, p_per_host BIGINT
) RETURNS TEXT LANGUAGE plpgsql AS $claim$
DECLARE
    leased BIGINT;
    got TEXT;
    held_by TEXT;
    held_until BIGINT;
BEGIN
    IF p_host IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext(p_host));
        SELECT COUNT(*) INTO leased FROM sources
            WHERE host = p_host AND lease_until_ms >= p_now AND name <> p_name;
        IF leased >= p_per_host THEN
            RETURN 'host_full';
        END IF;
    END IF;
    INSERT INTO sources (name, location, lease_owner, lease_until_ms, host, fetching_since_ms)
        VALUES (p_name, p_location, p_worker, p_until, p_host, p_now)
        ON CONFLICT (name) DO UPDATE SET lease_owner = excluded.lease_owner,
            lease_until_ms = excluded.lease_until_ms, host = excluded.host,
            fetching_since_ms = excluded.fetching_since_ms
        WHERE (sources.lease_owner IS NULL OR sources.lease_owner = excluded.lease_owner
               OR sources.lease_until_ms < p_now)
          AND sources.next_due_ms IS NOT DISTINCT FROM p_seen
        RETURNING name INTO got;
    IF got IS NOT NULL THEN
        RETURN 'taken';
    END IF;
    SELECT lease_owner, lease_until_ms INTO held_by, held_until FROM sources WHERE name = p_name;
    IF held_by IS NOT NULL AND held_by <> p_worker AND held_until >= p_now THEN
        RETURN 'busy:' || held_until;
    END IF;
    RETURN 'changed';
END
$claim$;
CREATE TABLE IF NOT EXISTS layouts (
    file          TEXT PRIMARY KEY,
    basis         BYTEA NOT NULL,
    file_len      BIGINT NOT NULL,
    file_mtime_ns BIGINT NOT NULL,
    placed        BYTEA NOT NULL
);
";
