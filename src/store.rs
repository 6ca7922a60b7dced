//! The SQLite state file: every normalized item with its first-seen time and
//! the sources that carry it, and per source its HTTP validators and health.
//!
//! One transaction per source result, so a crash never leaves half a source
//! written. The store does no network I/O and knows nothing of formats.
//!
//! Identity: an entry is recognised within its source by
//! [`Article::source_key`]. A new entry whose canonical link (or URI guid)
//! matches an item another source already brought is the same article: it is
//! attached to that item as a second attribution, not stored twice.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use url::Url;

use crate::config::{Location, Retention, SourceConfig, SourceKind};
use crate::error::{StoreError, query};
use crate::model::{Article, DateSource, SourceMeta, Validators};
use crate::normalize::link;

mod published;
pub use published::{ItemKey, Layout, LayoutEntries, Placed, Placements, Stamp};

const SCHEMA: &str = r"
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

/// Per-source state read before a fetch.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    /// Validators for the conditional GET (empty when the location changed).
    pub validators: Validators,
    /// When the source is next due; `None`: never fetched. After a
    /// success it follows the configured `interval` or `schedule` from the
    /// last fetch, so lowering either in feeds.toml applies at once.
    pub next_due: Option<DateTime<Utc>>,
    /// Failures in a row up to now.
    pub failures: u32,
    /// Where a permanent redirect sent the source.
    pub moved_to: Option<Url>,
    /// Why the source is disabled, if it is.
    pub disabled: Option<String>,
}

/// The time of a source result and when the source is next due.
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// When the attempt was made.
    pub now: DateTime<Utc>,
    /// When the source should next be fetched.
    pub next_due: DateTime<Utc>,
}

/// What the state says about one source, for `feedloom status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    /// The source's name.
    pub name: String,
    /// Its configured location.
    pub location: String,
    /// The last fetch attempt.
    pub last_attempt: Option<DateTime<Utc>>,
    /// The last successful fetch.
    pub last_success: Option<DateTime<Utc>>,
    /// The last error, while failing.
    pub last_error: Option<String>,
    /// Failures in a row.
    pub failures: u32,
    /// When it is next due.
    pub next_due: Option<DateTime<Utc>>,
    /// Where a permanent redirect sent it.
    pub moved_to: Option<String>,
    /// Why it is disabled.
    pub disabled: Option<String>,
    /// Items stored.
    pub items: usize,
    /// While the daemon fetches it: since when.
    pub fetching_since: Option<DateTime<Utc>>,
}

/// One source's result as the store records it.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The normalized articles.
    pub articles: &'a [Article],
    /// Each article's raw-entry digest, beside it (may be shorter: the
    /// rest have none).
    pub digests: &'a [Option<String>],
    /// Keys of entries still listed but not read again.
    pub unchanged: &'a [String],
    /// What the source says about itself.
    pub meta: &'a SourceMeta,
    /// Validators for the next request.
    pub validators: &'a Validators,
    /// Item pages read for `full_text`.
    pub full_text: &'a [crate::model::FullText],
}

/// What recording one source result changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Items stored for the first time.
    pub new: usize,
    /// Entries attached to an item another source brought.
    pub merged: usize,
}

/// One source that carries an item, for attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// The source's name from `feeds.toml`.
    pub name: String,
    /// The feed's web address: the URL it was fetched from, or for a
    /// source read from disk its own self link; never a local path.
    pub feed_url: Option<String>,
    /// The feed's own title.
    pub feed_title: Option<String>,
    /// The feed's site link.
    pub site_link: Option<String>,
    /// The feed's own id.
    pub feed_id: Option<String>,
    /// The item's link as this source gave it.
    pub link: Option<String>,
}

/// An item as publishing sees it: the article, its id, its sources.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    /// The row's id in the state.
    pub row_id: i64,
    /// Its change stamp (see the `revision` column).
    pub revision: i64,
    /// Stable published id (Atom id, RSS guid, JSON id).
    pub public_id: String,
    /// The normalized article; `published` is always set.
    pub article: Article,
    /// Every configured source that carries it, first-seen first.
    pub sources: Vec<Attribution>,
}

impl StoredItem {
    /// When it was published (the store always fills this in).
    #[must_use]
    pub fn published(&self) -> DateTime<Utc> {
        self.article.published.unwrap_or(DateTime::UNIX_EPOCH)
    }
}

/// The SQLite state.
pub struct Store {
    conn: Connection,
    /// While a new state file is filled without a journal: the marker
    /// file that says so (see [`Store::open_locked`]).
    filling: Option<Filling>,
}

/// A state file being filled without a journal.
struct Filling {
    /// The file that says so.
    marker: std::path::PathBuf,
    /// The state file itself, to start its write-back after each batch
    /// (see [`crate::writeback`]): the sync that ends the fill then finds
    /// little left to write.
    file: std::fs::File,
}

/// The marker beside a state file being filled without a journal.
fn fill_marker(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".filling");
    std::path::PathBuf::from(name)
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn to_ts(d: DateTime<Utc>) -> i64 {
    d.timestamp()
}

fn from_ts(ts: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(ts, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// A source's feed address as published: its location when that is a web
/// URL, else (a file on disk) the feed's own self link; never a local path.
fn feed_url(location: String, self_link: Option<String>) -> Option<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        Some(location)
    } else {
        self_link
    }
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn location_key(l: &Location) -> String {
    l.as_url().to_string()
}

impl Store {
    /// Opens (creating if needed) the state file, in WAL mode.
    ///
    /// # Errors
    /// When the folder cannot be created or SQLite cannot open the file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_journaled(path, true)
    }

    /// Opens the state for a run or daemon that holds the run lock.
    ///
    /// A run that stopped while filling a new state file without a
    /// journal left that file unfinished: it is removed, and this run
    /// starts afresh (nothing was published from it). With `fast_fill`,
    /// a state file that does not exist yet is filled without a journal
    /// until [`Store::settle`]: each page is written once instead of twice
    /// (WAL, then checkpoint), which took a fifth off a cold run's wall
    /// time at N = 1,000.
    ///
    /// # Errors
    /// As [`Store::open`], or when the unfinished file cannot be removed.
    pub fn open_locked(path: &Path, fast_fill: bool) -> Result<Self, StoreError> {
        let marker = fill_marker(path);
        let remove = |p: &Path| match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Folder {
                path: p.to_owned(),
                source: e,
            }),
            _ => Ok(()),
        };
        if marker.exists() {
            tracing::warn!(state = %path.display(), "The last run stopped while filling a new state file; starting it afresh.");
            for suffix in ["", "-wal", "-shm"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                remove(Path::new(&name))?;
            }
            remove(&marker)?;
        }
        if !fast_fill || path.exists() {
            return Self::open(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: dir.to_owned(),
                source,
            })?;
        }
        std::fs::write(&marker, b"").map_err(|source| StoreError::Folder {
            path: marker.clone(),
            source,
        })?;
        let mut store = Self::open_journaled(path, false)?;
        // Built once at the end instead (see `settle`): its keys come in
        // date order, not in the order of the rows, so keeping it while
        // filling touched a random page per item. Once it outgrew the page
        // cache (N = 10,000) every item cost a page written and read back.
        store
            .conn
            .execute_batch("DROP INDEX IF EXISTS items_by_date;")
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        let file = std::fs::File::open(path).map_err(|source| StoreError::Folder {
            path: path.to_owned(),
            source,
        })?;
        store.filling = Some(Filling { marker, file });
        Ok(store)
    }

    /// Ends a fast fill (see [`Store::open_locked`]): the state switches to
    /// WAL, is synced to disk, and its marker goes. Nothing otherwise.
    ///
    /// # Errors
    /// When the switch or the sync fails; the marker stays then, so the
    /// next run starts afresh.
    pub fn settle(&mut self, path: &Path) -> Result<(), StoreError> {
        let Some(Filling { marker, file }) = self.filling.take() else {
            return Ok(());
        };
        let fail = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        self.end_batch()?;
        // The index a fill left out (see `open_locked`), sorted in one go.
        self.conn.execute_batch(published::SCHEMA).map_err(fail)?;
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        let synced = file.sync_all();
        synced
            .and_then(|()| std::fs::remove_file(&marker))
            .map_err(|source| StoreError::Folder {
                path: marker,
                source,
            })
    }

    fn open_journaled(path: &Path, journaled: bool) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: dir.to_owned(),
                source,
            })?;
        }
        let open = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open)?;
        // 16 KB pages for a new state file (an existing one keeps its own):
        // rows hold whole article bodies, which overflowed 4 KB pages, and
        // SQLite writes a page per call (measured at N = 1,000: 0.6 s less
        // wall time, a third less system time). Before WAL: it fixes the
        // page size when it creates the file.
        conn.pragma_update(None, "page_size", 16_384)
            .map_err(open)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open)?;
        if journaled {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(open)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(open)?;
        } else {
            conn.pragma_update(None, "journal_mode", "OFF")
                .map_err(open)?;
            conn.pragma_update(None, "synchronous", "OFF")
                .map_err(open)?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open)?;
        // A 16 MB page cache (SQLite's default is 2 MB): a cold run touches
        // every index page over and over, and with the default it read
        // them back from the file (measured at N = 1,000: 1.3 s less
        // CPU, about 15 MB more peak memory).
        conn.pragma_update(None, "cache_size", -16_384)
            .map_err(open)?;
        conn.execute_batch(SCHEMA).map_err(open)?;

        // State files written by earlier versions lack the newer columns.
        for (table, column, kind) in [
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
        ] {
            let present: bool = conn
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
                    [table, column],
                    |r| r.get(0),
                )
                .map_err(open)?;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                    .map_err(open)?;
            }
        }
        // After the columns it covers exist.
        conn.execute_batch(published::SCHEMA).map_err(open)?;
        Ok(Self {
            conn,
            filling: None,
        })
    }

    /// Copies the state file at `from` to `to` (a consistent snapshot,
    /// even while a daemon writes it), opening `from` read-only so it is
    /// not touched; `false` when there is no state file yet. For
    /// `run --dry-run`, which runs on the copy.
    ///
    /// # Errors
    /// When the file cannot be read or the copy written.
    pub fn snapshot(from: &Path, to: &Path) -> Result<bool, StoreError> {
        if !from.exists() {
            return Ok(false);
        }
        let open = |source| StoreError::Open {
            path: from.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open)?;
        conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
            .map_err(open)?;
        Ok(true)
    }

    /// The state a fetch starts from. Validators are dropped when the
    /// source's location changed since they were stored.
    ///
    /// # Errors
    /// On a failed query.
    pub fn source_state(&self, source: &SourceConfig) -> Result<SourceState, StoreError> {
        // Cached: `run` asks this of every configured source (100,000
        // parses of the same statement were a third of a run with none due).
        let row = self
            .conn
            .prepare_cached(
                "SELECT location, etag, last_modified, next_due_ms, consecutive_failures, moved_to, disabled,
                        last_attempt
                 FROM sources WHERE name = ?1",
            )
            .and_then(|mut s| s.query_row([&source.name], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                    ))
                })
                .optional()
            )
            .map_err(query("reading source state"))?;
        Ok(match row {
            Some((
                loc,
                etag,
                last_modified,
                next_due,
                failures,
                moved_to,
                disabled,
                last_attempt,
            )) if loc == location_key(&source.location) => {
                // A failing source keeps its backoff; a healthy one is due
                // by today's config (never later than stored).
                let next_due = match (next_due.map(from_ms), last_attempt) {
                    (Some(stored), Some(last)) if failures == 0 => {
                        Some(stored.min(crate::schedule::next_due(source, from_ts(last))))
                    }
                    (stored, _) => stored,
                };
                SourceState {
                    validators: Validators {
                        etag,
                        last_modified,
                    },
                    next_due,
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                    moved_to: moved_to.and_then(|m| Url::parse(&m).ok()),
                    disabled,
                }
            }
            _ => SourceState::default(),
        })
    }

    fn touch_source(tx: &Connection, source: &SourceConfig, when: When) -> Result<(), StoreError> {
        // A changed location starts afresh: no move, not disabled.
        tx.execute(
            "INSERT INTO sources (name, location, last_attempt, next_due_ms, priority)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET
                moved_to = CASE WHEN sources.location = excluded.location THEN sources.moved_to END,
                disabled = CASE WHEN sources.location = excluded.location THEN sources.disabled END,
                location = excluded.location,
                last_attempt = excluded.last_attempt,
                next_due_ms = excluded.next_due_ms,
                priority = excluded.priority",
            params![
                source.name,
                location_key(&source.location),
                to_ts(when.now),
                when.next_due.timestamp_millis(),
                source.priority
            ],
        )
        .map_err(query("updating source"))?;
        Ok(())
    }

    /// Records a failed fetch: the source's earlier items stay.
    ///
    /// # Errors
    /// On a failed query.
    pub fn record_failure(
        &mut self,
        source: &SourceConfig,
        error: &str,
        when: When,
    ) -> Result<(), StoreError> {
        self.atomically("committing failure", |tx| {
            Self::touch_source(tx, source, when)?;
            tx.execute(
                "UPDATE sources SET last_error = ?2, consecutive_failures = consecutive_failures + 1
                 WHERE name = ?1",
                params![source.name, error],
            )
            .map_err(query("recording failure"))?;
            Ok(())
        })
    }

    /// Records a 304 (or unchanged file): healthy, nothing else changes.
    ///
    /// # Errors
    /// On a failed query.
    pub fn record_not_modified(
        &mut self,
        source: &SourceConfig,
        when: When,
    ) -> Result<(), StoreError> {
        self.atomically("committing not-modified", |tx| {
            Self::touch_source(tx, source, when)?;
            Self::mark_healthy(tx, source, when.now)
        })
    }

    /// Runs `work` as a transaction of its own, or inside the open batch.
    /// A failure inside a batch is never committed: it ends the run (or the
    /// daemon), and the batch's transaction is rolled back with it. (A
    /// savepoint per source would cost a copy of every page it touches.)
    fn atomically<T>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.conn.is_autocommit() {
            return work(&self.conn);
        }
        // Unchecked only in that it takes `&self`: no transaction is open
        // (just checked), so none can be nested.
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(query("starting transaction"))?;
        let value = work(&tx)?;
        tx.commit().map_err(query(what))?;
        Ok(value)
    }

    fn mark_healthy(
        tx: &Connection,
        source: &SourceConfig,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        tx.execute(
            "UPDATE sources SET last_success = ?2, last_error = NULL, consecutive_failures = 0
             WHERE name = ?1",
            params![source.name, to_ts(now)],
        )
        .map_err(query("recording success"))?;
        Ok(())
    }

    /// Records one source's new articles, validators and meta in one
    /// transaction, then applies retention to that source.
    ///
    /// # Errors
    /// On a failed query; nothing of this source is written then.
    pub fn record_articles(
        &mut self,
        source: &SourceConfig,
        batch: &Batch<'_>,
        retention: Retention,
        when: When,
    ) -> Result<RecordStats, StoreError> {
        let now = when.now;
        let Batch {
            articles,
            digests,
            unchanged,
            meta,
            validators,
            full_text,
        } = *batch;
        self.atomically("committing source result", |tx| {
            Self::touch_source(tx, source, when)?;
            Self::mark_healthy(tx, source, now)?;
            tx.execute(
                "UPDATE sources SET title = ?2, site_link = ?3, feed_id = ?4, etag = ?5, last_modified = ?6,
                    self_link = ?7
                 WHERE name = ?1",
                params![
                    source.name,
                    meta.title,
                    meta.site_link.as_ref().map(Url::as_str),
                    meta.feed_id,
                    validators.etag,
                    validators.last_modified,
                    meta.self_link.as_ref().map(Url::as_str)
                ],
            )
            .map_err(query("storing source meta"))?;
            // The outputs no longer match the state until they are rebuilt;
            // forgetting it here, in this transaction, survives a crash before
            // the publish.
            tx.execute("DELETE FROM meta WHERE key = 'published'", [])
                .map_err(query("marking outputs stale"))?;
            let mut stats = RecordStats::default();
            let revision = next_revision(tx)?;
            // A source read for the first time has no entries to look up:
            // only keys repeated within this batch can be found, so the
            // others skip a lookup that cannot find anything.
            let had_entries: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM item_sources WHERE source = ?1)")
                .and_then(|mut s| s.query_row([&source.name], |r| r.get(0)))
                .map_err(query("looking up entries"))?;
            let mut first_keys = (!had_entries).then(HashSet::new);
            for (index, article) in articles.iter().enumerate() {
                let digest = digests.get(index).and_then(Option::as_deref);
                upsert(
                    tx,
                    source,
                    meta.site_link.as_ref(),
                    (article, digest),
                    (now, revision),
                    (&mut stats, first_keys.as_mut()),
                )?;
            }
            for key in unchanged {
                tx.prepare_cached(
                    "UPDATE item_sources SET last_seen = ?3 WHERE source = ?1 AND key = ?2",
                )
                .and_then(|mut s| s.execute(params![source.name, key, to_ts(now)]))
                .map_err(query("touching listed entry"))?;
            }
            apply_retention(tx, source, retention, (now, revision))?;
            if source.full_text.is_some() {
                record_full_text(tx, source, full_text)?;
            }
            Ok(stats)
        })
    }

    /// Calls `each` with items from the given sources, newest first (ties by
    /// id), until it returns `false`. Only the named sources appear in each
    /// item's attributions.
    ///
    /// # Errors
    /// On a failed query.
    pub fn newest_items(
        &self,
        sources: &[String],
        mut each: impl FnMut(StoredItem) -> bool,
    ) -> Result<(), StoreError> {
        self.fill_wanted(sources)?;
        let mut items = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items i
                 WHERE EXISTS (SELECT 1 FROM item_sources s
                               WHERE s.item_id = i.id AND s.source IN temp.wanted)
                 ORDER BY i.published DESC, i.public_id"
            ))
            .map_err(query("preparing item query"))?;
        let mut rows = items.query([]).map_err(query("reading items"))?;
        while let Some(row) = rows.next().map_err(query("reading items"))? {
            let mut item = item_from_row(row).map_err(query("decoding item"))?;
            item.sources = self.attributions(item.row_id)?;
            if !each(item) {
                break;
            }
        }
        Ok(())
    }

    /// Puts the wanted source names into an indexed temp table, for the
    /// item queries that follow: an IN over a JSON list is re-scanned for
    /// every row, which made large outputs quadratic in the number of
    /// sources.
    fn fill_wanted(&self, sources: &[String]) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS wanted (name TEXT PRIMARY KEY); DELETE FROM temp.wanted;",
            )
            .map_err(query("preparing the source list"))?;
        let mut insert = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO temp.wanted (name) VALUES (?1)")
            .map_err(query("preparing the source list"))?;
        for name in sources {
            insert
                .execute([name])
                .map_err(query("filling the source list"))?;
        }
        Ok(())
    }

    /// The item's sources among the wanted ones (see [`Self::fill_wanted`]),
    /// its owner first, then in the order they brought it.
    fn attributions(&self, item_id: i64) -> Result<Vec<Attribution>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT s.name, s.location, s.title, s.site_link, s.feed_id, x.link, s.self_link
                 FROM item_sources x JOIN sources s ON s.name = x.source
                 JOIN items i ON i.id = x.item_id
                 WHERE x.item_id = ?1 AND x.source IN temp.wanted
                 ORDER BY (x.source = i.owner) DESC, x.first_seen, x.source",
            )
            .and_then(|mut stmt| {
                stmt.query_map([item_id], |r| {
                    Ok(Attribution {
                        name: r.get(0)?,
                        feed_url: feed_url(r.get(1)?, r.get(6)?),
                        feed_title: r.get(2)?,
                        site_link: r.get(3)?,
                        feed_id: r.get(4)?,
                        link: r.get(5)?,
                    })
                })?
                .collect()
            })
            .map_err(query("reading attributions"))
    }

    /// What the state knows of each named source as a subscriber sees it
    /// (its feed, title and site), in the order given; a source never
    /// fetched yet has only its name. For the HTML page's source list.
    ///
    /// # Errors
    /// On a failed query.
    pub fn source_cards(&self, sources: &[String]) -> Result<Vec<Attribution>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT location, title, site_link, feed_id, self_link FROM sources WHERE name = ?1",
            )
            .map_err(query("reading sources"))?;
        sources
            .iter()
            .map(|name| {
                let known = stmt
                    .query_row([name], |r| {
                        Ok(Attribution {
                            name: name.clone(),
                            feed_url: feed_url(r.get(0)?, r.get(4)?),
                            feed_title: r.get(1)?,
                            site_link: r.get(2)?,
                            feed_id: r.get(3)?,
                            link: None,
                        })
                    })
                    .optional()
                    .map_err(query("reading sources"))?;
                Ok(known.unwrap_or_else(|| Attribution {
                    name: name.clone(),
                    feed_url: None,
                    feed_title: None,
                    site_link: None,
                    feed_id: None,
                    link: None,
                }))
            })
            .collect()
    }

    /// Opens a batch: the source results recorded until [`Store::end_batch`]
    /// share one transaction, which saves a commit per source. A crash
    /// loses the whole uncommitted batch (those sources are fetched again),
    /// never half a source.
    ///
    /// # Errors
    /// On a failed query.
    pub fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(query("starting a batch"))
    }

    /// Commits the open batch.
    ///
    /// # Errors
    /// On a failed query.
    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(query("committing a batch"))?;
        if let Some(filling) = &self.filling {
            crate::writeback::start(&filling.file);
        }
        Ok(())
    }

    /// The fingerprint the outputs were last built from, if they are current.
    ///
    /// # Errors
    /// On a failed query.
    pub fn published_fingerprint(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'published'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(query("reading the publish fingerprint"))
    }

    /// Records that the outputs now match the state, built from `fingerprint`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn set_published_fingerprint(&mut self, fingerprint: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('published', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [fingerprint],
            )
            .map(drop)
            .map_err(query("recording the publish fingerprint"))
    }

    /// Records that `output`'s files were written at `at` holding `items`
    /// items (for `/metrics`).
    ///
    /// # Errors
    /// On a failed query.
    pub fn set_output_published(
        &mut self,
        output: &str,
        items: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('output:' || ?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![output, format!("{items} {}", at.timestamp())],
            )
            .map(drop)
            .map_err(query("recording a publish"))
    }

    /// Every output's last publish: (name, items, Unix time), by name.
    ///
    /// # Errors
    /// On a failed query.
    pub fn outputs_published(&self) -> Result<Vec<(String, usize, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT substr(key, 8), value FROM meta WHERE key LIKE 'output:%' ORDER BY key",
            )
            .map_err(query("reading publishes"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(query("reading publishes"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, value)| {
                let (items, at) = value.split_once(' ')?;
                Some((name, items.parse().ok()?, at.parse().ok()?))
            })
            .collect())
    }

    /// Remembers a permanent redirect: the source is read from `to` until
    /// its configured location changes.
    ///
    /// # Errors
    /// On a failed query.
    pub fn record_moved(&mut self, source: &SourceConfig, to: &Url) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sources SET moved_to = ?2 WHERE name = ?1",
                params![source.name, to.as_str()],
            )
            .map(drop)
            .map_err(query("recording a move"))
    }

    /// Disables a source (410 Gone) until its configured location changes.
    ///
    /// # Errors
    /// On a failed query.
    pub fn disable(&mut self, source: &SourceConfig, reason: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sources SET disabled = ?2 WHERE name = ?1",
                params![source.name, reason],
            )
            .map(drop)
            .map_err(query("disabling a source"))
    }

    /// Records that `host` asked not to be asked again before `until`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn block_host(&mut self, host: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO hosts (host, not_before) VALUES (?1, ?2)
                 ON CONFLICT(host) DO UPDATE SET not_before = MAX(not_before, excluded.not_before)",
                params![host, to_ts(until)],
            )
            .map(drop)
            .map_err(query("recording Retry-After"))
    }

    /// When `host` may be asked again, if it asked us to wait.
    ///
    /// # Errors
    /// On a failed query.
    pub fn host_not_before(&self, host: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.conn
            .prepare_cached("SELECT not_before FROM hosts WHERE host = ?1")
            .and_then(|mut s| s.query_row([host], |r| r.get::<_, i64>(0)).optional())
            .map(|t| t.map(from_ts))
            .map_err(query("reading Retry-After"))
    }

    /// Every source the state knows, for `feedloom status`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn statuses(&self) -> Result<Vec<SourceStatus>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, s.location, s.last_attempt, s.last_success, s.last_error,
                        s.consecutive_failures, s.next_due_ms, s.moved_to, s.disabled,
                        (SELECT COUNT(*) FROM item_sources x WHERE x.source = s.name),
                        s.fetching_since_ms
                 FROM sources s ORDER BY s.name",
            )
            .map_err(query("reading statuses"))?;
        stmt.query_map([], |r| {
            Ok(SourceStatus {
                name: r.get(0)?,
                location: r.get(1)?,
                last_attempt: r.get::<_, Option<i64>>(2)?.map(from_ts),
                last_success: r.get::<_, Option<i64>>(3)?.map(from_ts),
                last_error: r.get(4)?,
                failures: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(u32::MAX),
                next_due: r.get::<_, Option<i64>>(6)?.map(from_ms),
                moved_to: r.get(7)?,
                disabled: r.get(8)?,
                items: usize::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
                fetching_since: r.get::<_, Option<i64>>(10)?.map(from_ms),
            })
        })
        .and_then(Iterator::collect)
        .map_err(query("reading statuses"))
    }

    /// Marks a source as being fetched since `since` (`None`: not any
    /// more), for `feedloom status` while the daemon runs. A source the
    /// state has never seen gets its row when its first result is recorded.
    ///
    /// # Errors
    /// On a failed query.
    pub fn mark_fetching(
        &self,
        source: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sources SET fetching_since_ms = ?2 WHERE name = ?1",
                params![source, since.map(|d| d.timestamp_millis())],
            )
            .map(drop)
            .map_err(query("marking a fetch"))
    }

    /// Forgets every in-flight mark (a daemon that died left them).
    ///
    /// # Errors
    /// On a failed query.
    pub fn clear_fetching(&self) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE sources SET fetching_since_ms = NULL", [])
            .map(drop)
            .map_err(query("clearing fetch marks"))
    }

    /// What a source's fetch should know of what is stored: for scrape
    /// sources, the links of stored items (not fetched again); for feeds,
    /// stored entries by raw digest (only touched when listed unchanged).
    ///
    /// # Errors
    /// On a failed query.
    pub fn known(&self, source: &SourceConfig) -> Result<crate::source::Known, StoreError> {
        let mut known = crate::source::Known::default();
        match source.kind {
            SourceKind::Scrape(_) => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT link FROM item_sources WHERE source = ?1 AND link IS NOT NULL",
                    )
                    .map_err(query("reading known links"))?;
                known.links = stmt
                    .query_map([&source.name], |r| r.get::<_, String>(0))
                    .and_then(Iterator::collect)
                    .map_err(query("reading known links"))?;
            }
            SourceKind::Feed => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT digest, key FROM item_sources WHERE source = ?1 AND digest IS NOT NULL
                         ORDER BY rowid",
                    )
                    .map_err(query("reading stored digests"))?;
                let rows = stmt
                    .query_map([&source.name], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(query("reading stored digests"))?;
                for (digest, key) in rows {
                    known.digests.entry(digest).or_default().push(key);
                }
                if source.full_text.is_some() {
                    let mut stmt = self
                        .conn
                        .prepare_cached(
                            "SELECT link, body, attempts FROM full_text WHERE source = ?1",
                        )
                        .map_err(query("reading full texts"))?;
                    known.full_text = stmt
                        .query_map([&source.name], |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                crate::source::PageState {
                                    body: r.get(1)?,
                                    attempts: u32::try_from(r.get::<_, i64>(2)?)
                                        .unwrap_or(u32::MAX),
                                },
                            ))
                        })
                        .and_then(Iterator::collect)
                        .map_err(query("reading full texts"))?;
                }
            }
            SourceKind::Files(_) => {}
        }
        Ok(known)
    }

    /// How many items each source has stored (for reports and tests).
    ///
    /// # Errors
    /// On a failed query.
    pub fn item_count(&self, source: &str) -> Result<usize, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM item_sources WHERE source = ?1",
                [source],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or_default())
            .map_err(query("counting items"))
    }
}

/// The columns [`item_from_row`] reads, in its order (`i` is `items`).
const ITEM_COLUMNS: &str = "i.id, i.public_id, i.link, i.title, i.summary, i.content, i.authors,
    i.categories, i.credit, i.published, i.updated, i.date_source, i.image,
    i.enclosures, i.author_email, i.revision";

/// An item row (see [`ITEM_COLUMNS`]) without its attributions.
fn item_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
    let link: Option<String> = row.get(2)?;
    Ok(StoredItem {
        row_id: row.get(0)?,
        revision: row.get(15)?,
        public_id: row.get(1)?,
        article: Article {
            guid: None,
            link: link.as_deref().and_then(|l| Url::parse(l).ok()),
            link_text: link,
            title: row.get(3)?,
            summary: row.get(4)?,
            content: row.get(5)?,
            authors: parse_list(&row.get::<_, String>(6)?),
            categories: parse_list(&row.get::<_, String>(7)?),
            credit: row.get(8)?,
            image: row
                .get::<_, Option<String>>(12)?
                .and_then(|i| Url::parse(&i).ok()),
            published: Some(from_ts(row.get(9)?)),
            updated: row.get::<_, Option<i64>>(10)?.map(from_ts),
            date_source: DateSource::parse(&row.get::<_, String>(11)?),
            enclosures: row
                .get::<_, Option<String>>(13)?
                .and_then(|e| serde_json::from_str(&e).ok())
                .unwrap_or_default(),
            author_email: row.get(14)?,
        },
        sources: Vec::new(),
    })
}

/// Stores one article of one source: updates the entry it already is,
/// attaches it to the same article from another source, or inserts it.
fn upsert(
    tx: &Connection,
    source: &SourceConfig,
    site: Option<&Url>,
    (a, digest): (&Article, Option<&str>),
    (now, revision): (DateTime<Utc>, i64),
    (stats, first_keys): (&mut RecordStats, Option<&mut HashSet<String>>),
) -> Result<(), StoreError> {
    let key = a.source_key();
    let new_key = first_keys.is_some_and(|keys| keys.insert(key.clone()));
    let link = a.link_str();
    let authors = json_list(&a.authors);
    let categories = json_list(&a.categories);
    let enclosures = (!a.enclosures.is_empty())
        .then(|| serde_json::to_string(&a.enclosures).unwrap_or_default());
    let existing: Option<i64> = if new_key {
        None
    } else {
        tx.prepare_cached("SELECT item_id FROM item_sources WHERE source = ?1 AND key = ?2")
            .and_then(|mut s| {
                s.query_row(params![source.name, key], |r| r.get(0))
                    .optional()
            })
            .map_err(query("looking up entry"))?
    };
    if let Some(item_id) = existing {
        tx.prepare_cached(
            "UPDATE item_sources SET last_seen = ?3, link = ?4, digest = ?5 WHERE source = ?1 AND key = ?2",
        )
        .and_then(|mut s| s.execute(params![source.name, key, to_ts(now), link, digest]))
        .map_err(query("touching entry"))?;
        // The owner's fields win where it has them; where it has none, what
        // another source filled in stays (or the item would lose its author
        // every time its owner is read again, and regain it when the other
        // source is). A dated version replaces a first-seen date, but an
        // entry that lost its date keeps the stored one.
        tx.prepare_cached(
            "UPDATE items SET
                link = ?3, title = ?4, summary = COALESCE(?5, summary),
                content = COALESCE(?6, content),
                authors = CASE WHEN ?7 = '[]' THEN authors ELSE ?7 END,
                categories = ?8, credit = COALESCE(?9, credit), updated = ?10,
                published = COALESCE(?11, published),
                date_source = CASE WHEN ?11 IS NULL THEN date_source ELSE ?12 END,
                image = COALESCE(?13, image), enclosures = COALESCE(?14, enclosures),
                author_email = COALESCE(?15, author_email), revision = ?16
             WHERE id = ?1 AND owner = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                item_id,
                source.name,
                link,
                a.title,
                a.summary,
                a.content,
                authors,
                categories,
                a.credit,
                a.updated.map(to_ts),
                a.published.map(to_ts),
                a.date_source.as_str(),
                a.image.as_ref().map(Url::as_str),
                enclosures,
                a.author_email,
                revision
            ])
        })
        .map_err(query("updating item"))?;
        // Another source's entry: the item is the owner's, but this
        // source's link in its attributions may have changed.
        mark_revised(tx, item_id, revision)?;
        return Ok(());
    }

    let public_id = link::public_id(a.guid.as_deref(), a.link.as_ref(), &source.name, &key);
    // The same article from another source: same canonical link, or the
    // same URI guid. Never merge two entries of one source.
    // One look at the items sharing the id or the link answers both
    // questions: which other source's item this is (the lowest id), and
    // whether the id is taken already (by this source's own entries too).
    let mut same: Option<i64> = None;
    let mut taken = false;
    {
        let mut look = tx
            .prepare_cached(
                "SELECT i.id, i.public_id = ?1,
                        EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = i.id AND s.source = ?3)
                 FROM items i
                 WHERE i.public_id = ?1 OR (?2 IS NOT NULL AND i.link = ?2)",
            )
            .map_err(query("looking up same article"))?;
        let rows = look
            .query_map(params![public_id, link, source.name], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .map_err(query("looking up same article"))?;
        for row in rows {
            let (id, same_id, mine) = row.map_err(query("looking up same article"))?;
            taken |= same_id;
            if !mine && same.is_none_or(|s| id < s) {
                same = Some(id);
            }
        }
    }
    let item_id = if let Some(item_id) = same {
        if outranks_owner(tx, source, site, item_id, a.link.as_ref())? {
            // The story's origin (or a source ranked higher) arrived after
            // another source carried it: its version is the one published.
            tx.prepare_cached(
                "UPDATE items SET owner = ?2, link = ?3, title = ?4, summary = ?5, content = ?6,
                    authors = ?7, categories = ?8, credit = COALESCE(?9, credit),
                    image = COALESCE(?10, image), enclosures = COALESCE(?11, enclosures),
                    author_email = COALESCE(?12, author_email)
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    item_id,
                    source.name,
                    link,
                    a.title,
                    a.summary,
                    a.content,
                    authors,
                    categories,
                    a.credit,
                    a.image.as_ref().map(Url::as_str),
                    enclosures,
                    a.author_email
                ])
            })
            .map_err(query("handing an item to its origin"))?;
        }
        tx.prepare_cached(
            "UPDATE items SET
                summary = COALESCE(summary, ?2), content = COALESCE(content, ?3),
                authors = CASE WHEN authors = '[]' THEN ?4 ELSE authors END,
                credit = COALESCE(credit, ?5), image = COALESCE(image, ?6),
                enclosures = COALESCE(enclosures, ?7), author_email = COALESCE(author_email, ?8),
                revision = ?9
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                item_id,
                a.summary,
                a.content,
                authors,
                a.credit,
                a.image.as_ref().map(Url::as_str),
                enclosures,
                a.author_email,
                revision
            ])
        })
        .map_err(query("merging item"))?;
        stats.merged += 1;
        item_id
    } else {
        // A URI guid already taken by an item of this very source (a feed
        // reusing one guid) must not collide: fall back to the hashed id.
        let public_id = if taken {
            link::public_id(None, None, &source.name, &key)
        } else {
            public_id
        };
        tx.prepare_cached(
            "INSERT INTO items (public_id, owner, link, title, summary, content, authors,
                                categories, credit, published, updated, date_source, first_seen, image,
                                enclosures, author_email, revision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )
        .and_then(|mut s| {
            s.execute(params![
                public_id,
                source.name,
                link,
                a.title,
                a.summary,
                a.content,
                authors,
                categories,
                a.credit,
                to_ts(a.published.unwrap_or(now)),
                a.updated.map(to_ts),
                a.date_source.as_str(),
                to_ts(now),
                a.image.as_ref().map(Url::as_str),
                enclosures,
                a.author_email,
                revision
            ])
        })
        .map_err(query("inserting item"))?;
        stats.new += 1;
        tx.last_insert_rowid()
    };
    tx.prepare_cached(
        "INSERT INTO item_sources (source, key, item_id, link, first_seen, last_seen, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![source.name, key, item_id, link, to_ts(now), digest]))
    .map_err(query("attributing item"))?;
    Ok(())
}

/// Whether `source` should own a story another source already brought:
/// the story's origin (the source whose site or feed is on the story
/// link's registrable domain) outranks every other source; between two
/// that are both or neither the origin, the higher `priority` wins; on a
/// tie the first source keeps it, so items never flip between runs.
fn outranks_owner(
    tx: &Connection,
    source: &SourceConfig,
    site: Option<&Url>,
    item_id: i64,
    story: Option<&Url>,
) -> Result<bool, StoreError> {
    let owner: Option<(String, Option<String>, i64)> = tx
        .prepare_cached(
            "SELECT s.location, s.site_link, s.priority FROM items i JOIN sources s ON s.name = i.owner
             WHERE i.id = ?1",
        )
        .and_then(|mut st| {
            st.query_row([item_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(query("reading the item's owner"))?;
    let Some((owner_location, owner_site, owner_priority)) = owner else {
        return Ok(false);
    };
    let Some(story_domain) = story
        .and_then(Url::host_str)
        .map(crate::source::policy::registrable)
    else {
        return Ok(source.priority > owner_priority);
    };
    let on_story_site = |urls: &[Option<&str>]| {
        urls.iter().flatten().any(|u| {
            Url::parse(u)
                .ok()
                .and_then(|u| u.host_str().map(crate::source::policy::registrable))
                .is_some_and(|d| d == story_domain)
        })
    };
    let location = location_key(&source.location);
    let new_is_origin = on_story_site(&[site.map(Url::as_str), Some(location.as_str())]);
    let owner_is_origin = on_story_site(&[owner_site.as_deref(), Some(owner_location.as_str())]);
    Ok(match (new_is_origin, owner_is_origin) {
        (true, false) => true,
        (false, true) => false,
        _ => source.priority > owner_priority,
    })
}

/// Stores what each item page gave (a body, or one more failed attempt)
/// and forgets the pages of items the source no longer has.
fn record_full_text(
    tx: &Connection,
    source: &SourceConfig,
    pages: &[crate::model::FullText],
) -> Result<(), StoreError> {
    for page in pages {
        tx.prepare_cached(
            "INSERT INTO full_text (source, link, body, attempts, last_error) VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT (source, link) DO UPDATE SET
                body = COALESCE(excluded.body, full_text.body),
                attempts = full_text.attempts + 1,
                last_error = excluded.last_error",
        )
        .and_then(|mut s| s.execute(params![source.name, page.link, page.body, page.error]))
        .map_err(query("storing a full text"))?;
    }
    tx.execute(
        "DELETE FROM full_text WHERE source = ?1 AND link NOT IN
            (SELECT link FROM item_sources WHERE source = ?1 AND link IS NOT NULL)",
        [&source.name],
    )
    .map_err(query("forgetting full texts"))?;
    Ok(())
}

/// Drops this source's entries beyond the retention limits, except the ones
/// it listed in this very fetch; then items no source carries any more.
fn apply_retention(
    tx: &Connection,
    source: &SourceConfig,
    retention: Retention,
    (now, revision): (DateTime<Utc>, i64),
) -> Result<(), StoreError> {
    let max_age = chrono::Duration::from_std(retention.max_age).unwrap_or(chrono::Duration::MAX);
    let oldest = now.checked_sub_signed(max_age).map_or(i64::MIN, to_ts);
    // Only entries the feed no longer lists can go. When it lists them all
    // (every first read, most re-reads) the ranking below need not run:
    // it joined every entry with its item (measured: 3.9% of a cold run).
    let unlisted: bool = tx
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM item_sources WHERE source = ?1 AND last_seen < ?2)",
        )
        .and_then(|mut s| s.query_row(params![source.name, to_ts(now)], |r| r.get(0)))
        .map_err(query("applying retention"))?;
    if !unlisted {
        return Ok(());
    }
    let removed: Vec<i64> = tx
        .prepare_cached(
            "DELETE FROM item_sources WHERE source = ?1 AND last_seen < ?2 AND rowid IN (
                SELECT x.rowid FROM item_sources x JOIN items i ON i.id = x.item_id
                WHERE x.source = ?1
                  AND (i.published < ?3 OR x.rowid NOT IN (
                        SELECT y.rowid FROM item_sources y JOIN items j ON j.id = y.item_id
                        WHERE y.source = ?1 ORDER BY j.published DESC, j.public_id LIMIT ?4)))
             RETURNING item_id",
        )
        .and_then(|mut s| {
            s.query_map(
                params![
                    source.name,
                    to_ts(now),
                    oldest,
                    i64::try_from(retention.max_items).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )?
            .collect()
        })
        .map_err(query("applying retention"))?;
    if !removed.is_empty() {
        tx.execute(
            "DELETE FROM items WHERE NOT EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = items.id)",
            [],
        )
        .map_err(query("dropping orphaned items"))?;
        // Items other sources still carry lost an attribution.
        for item_id in removed {
            mark_revised(tx, item_id, revision)?;
        }
    }
    Ok(())
}

/// The change stamp for one recording: one more than the last, kept in
/// `meta`, so a stamp is never given twice (rowids of deleted items can
/// be reused; their stamps cannot).
fn next_revision(tx: &Connection) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('item_revision', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
         RETURNING CAST(value AS INTEGER)",
    )
    .and_then(|mut s| s.query_row([], |r| r.get(0)))
    .map_err(query("stamping the recording"))
}

/// Stamps an item whose published form may have changed.
fn mark_revised(tx: &Connection, item_id: i64, revision: i64) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE items SET revision = ?2 WHERE id = ?1 AND revision <> ?2")
        .and_then(|mut s| s.execute(params![item_id, revision]))
        .map(drop)
        .map_err(query("stamping an item"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    fn source(name: &str) -> SourceConfig {
        SourceConfig {
            interval: Duration::from_mins(10),
            ..SourceConfig::feed(
                name,
                Location::Url(Url::parse(&format!("https://{name}.example/feed")).unwrap()),
            )
        }
    }

    fn article(title: &str, link: &str, published: Option<i64>) -> Article {
        Article {
            guid: None,
            link: Some(Url::parse(link).unwrap()),
            title: title.into(),
            summary: None,
            content: None,
            authors: vec![],
            categories: vec![],
            credit: None,
            image: None,
            published: published.map(from_ts),
            updated: None,
            date_source: if published.is_some() {
                DateSource::Feed
            } else {
                DateSource::FirstSeen
            },
            ..Article::default()
        }
    }

    /// A result at `ts`, next due ten minutes later.
    fn when(ts: i64) -> When {
        When {
            now: from_ts(ts),
            next_due: from_ts(ts + 600),
        }
    }

    fn batch(articles: &[Article]) -> Batch<'_> {
        const META: SourceMeta = SourceMeta {
            title: None,
            site_link: None,
            feed_id: None,
            self_link: None,
        };
        const VALIDATORS: Validators = Validators {
            etag: None,
            last_modified: None,
        };
        Batch {
            articles,
            digests: &[],
            unchanged: &[],
            meta: &META,
            validators: &VALIDATORS,
            full_text: &[],
        }
    }

    const RETAIN: Retention = Retention {
        max_age: Duration::from_hours(87600),
        max_items: 100,
    };

    fn all(store: &Store, names: &[&str]) -> Vec<StoredItem> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut out = Vec::new();
        store
            .newest_items(&names, |i| {
                out.push(i);
                true
            })
            .unwrap();
        out
    }

    fn record(store: &mut Store, s: &SourceConfig, articles: &[Article], now: i64) -> RecordStats {
        store
            .record_articles(s, &batch(articles), RETAIN, when(now))
            .unwrap()
    }

    #[test]
    fn first_seen_dates_never_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let s = source("a");
        let undated = article("Undated", "https://a.example/1", None);
        record(&mut store, &s, std::slice::from_ref(&undated), 1_000_000);
        record(&mut store, &s, &[undated], 2_000_000);
        let items = all(&store, &["a"]);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].published(), from_ts(1_000_000));
        assert_eq!(items[0].article.date_source, DateSource::FirstSeen);
    }

    #[test]
    fn a_key_repeated_in_a_first_batch_is_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let s = source("a");
        let first = article("First version", "https://a.example/1", Some(100));
        let again = article("Second version", "https://a.example/1", Some(100));
        let stats = record(&mut store, &s, &[first, again], 1000);
        assert_eq!(stats.new, 1);
        let items = all(&store, &["a"]);
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].article.title, "Second version",
            "the later one wins"
        );
    }

    #[test]
    fn same_link_from_two_sources_is_one_item_with_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let (a, b) = (source("a"), source("b"));
        let first = record(
            &mut store,
            &a,
            &[article("Shared", "https://news.example/x", Some(100))],
            1000,
        );
        let second = record(
            &mut store,
            &b,
            &[article(
                "Shared (copy)",
                "https://news.example/x",
                Some(200),
            )],
            1000,
        );
        assert_eq!(first.new, 1);
        assert_eq!(second, RecordStats { new: 0, merged: 1 });
        let items = all(&store, &["a", "b"]);
        assert_eq!(items.len(), 1);
        let names: Vec<_> = items[0].sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            items[0].article.title, "Shared",
            "the first source owns the fields"
        );
        // An output of only `b` still shows it, attributed to `b` alone.
        let only_b = all(&store, &["b"]);
        assert_eq!(only_b.len(), 1);
        assert_eq!(only_b[0].sources.len(), 1);
    }

    #[test]
    fn retention_keeps_listed_items_and_drops_rotated_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let s = source("a");
        let tight = Retention {
            max_age: Duration::from_hours(87600),
            max_items: 2,
        };
        let three: Vec<Article> = (0..3)
            .map(|i| {
                article(
                    &format!("n{i}"),
                    &format!("https://a.example/{i}"),
                    Some(100 + i),
                )
            })
            .collect();
        store
            .record_articles(&s, &batch(&three), tight, when(1000))
            .unwrap();
        assert_eq!(
            all(&store, &["a"]).len(),
            3,
            "items the source still lists are kept"
        );
        let newer = article("n9", "https://a.example/9", Some(900));
        store
            .record_articles(&s, &batch(&[newer]), tight, when(2000))
            .unwrap();
        let titles: Vec<_> = all(&store, &["a"])
            .into_iter()
            .map(|i| i.article.title)
            .collect();
        assert_eq!(titles, ["n9", "n2"]);
    }

    #[test]
    fn failures_keep_items_and_count_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let s = source("a");
        record(
            &mut store,
            &s,
            &[article("Kept", "https://a.example/k", Some(5))],
            1000,
        );
        store.record_failure(&s, "boom", when(2000)).unwrap();
        store.record_failure(&s, "boom", when(3000)).unwrap();
        assert_eq!(all(&store, &["a"]).len(), 1);
        let n: i64 = store
            .conn
            .query_row(
                "SELECT consecutive_failures FROM sources WHERE name='a'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        let state = store.source_state(&s).unwrap();
        assert_eq!(state.next_due, Some(from_ts(3000 + 600)));
    }

    fn journal_mode(store: &Store) -> String {
        store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_state_is_filled_fast_then_settled_into_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let s = source("a");
        let mut store = Store::open_locked(&path, true).unwrap();
        assert_eq!(journal_mode(&store), "off");
        assert!(fill_marker(&path).exists());
        record(
            &mut store,
            &s,
            &[article("One", "https://a.example/1", Some(1_000))],
            1_000_000,
        );
        let has_date_index = |store: &Store| -> bool {
            store
                .conn
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'items_by_date')",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert!(!has_date_index(&store), "left out while filling");
        store.settle(&path).unwrap();
        assert!(has_date_index(&store), "built when the fill settles");
        assert_eq!(journal_mode(&store), "wal");
        assert!(!fill_marker(&path).exists());
        drop(store);
        // An existing state is never filled without its journal.
        let store = Store::open_locked(&path, true).unwrap();
        assert_eq!(journal_mode(&store), "wal");
        assert_eq!(all(&store, &["a"]).len(), 1);
    }

    #[test]
    fn a_fill_that_never_settled_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let s = source("a");
        let mut store = Store::open_locked(&path, true).unwrap();
        record(
            &mut store,
            &s,
            &[article("One", "https://a.example/1", Some(1_000))],
            1_000_000,
        );
        drop(store); // as if the run were killed before settling
        assert!(fill_marker(&path).exists());
        let store = Store::open_locked(&path, false).unwrap();
        assert!(!fill_marker(&path).exists());
        assert!(
            all(&store, &["a"]).is_empty(),
            "the unfinished fill is gone"
        );
        assert_eq!(journal_mode(&store), "wal");
    }
}
