//! The state, in an SQLite file or a PostgreSQL database: every normalized
//! item with its first-seen time and the sources that carry it, and per
//! source its HTTP validators and health.
//!
//! One transaction per source result, so a crash never leaves half a source
//! written. The store does no network I/O and knows nothing of formats.
//!
//! Identity: an entry is recognised within its source by
//! [`Article::source_key`]. A new entry whose canonical link (or URI guid)
//! matches an item another source already brought is the same article: it is
//! attached to that item as a second attribution, not stored twice.
//!
//! Here: opening (fast fill, WAL; or connecting), batches and the shared
//! types. Beside it: `db` (the one connection both backends are used
//! through, and what only one of them has),
//! `schema` (tables, added columns, indexes), `items` (recording entries,
//! merging, retention, reading items back), `sources` (validators, due
//! times, health, hosts' Retry-After) and `published` (what the outputs
//! were built from and where each item's bytes sit in them).

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use url::Url;

pub use cluster::{Claim, LEASE};
use db::Db;
pub use db::DbError;

use crate::config::Location;
use crate::error::{StoreError, query};
use crate::model::{Article, SourceMeta, Validators};

mod cluster;
mod db;
mod items;
mod published;
mod schema;
mod sources;

use items::{ITEM_COLUMNS, item_from_row};
pub use published::{ItemKey, Layout, LayoutEntries, Placed, Placements, Stamp};

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
    /// The due time as stored (milliseconds), whatever the location: a
    /// worker claims the source only while it is unchanged, so a source
    /// another worker fetched since it was read is not fetched again.
    pub stored_due_ms: Option<i64>,
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

/// The state: an SQLite file, or a PostgreSQL database.
pub struct Store {
    db: Db,
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

/// The advisory lock that makes creating the tables one process's work.
const SCHEMA_LOCK: i64 = 0x6665_6564_6c6f_6f6d; // "feedloom"

/// The advisory lock a run or daemon holds on a PostgreSQL database.
const RUN_LOCK: i64 = SCHEMA_LOCK + 1;

/// A database URL without its password, for messages.
#[must_use]
pub fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("…"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(an unreadable URL)".into(),
    }
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

    /// Connects to the PostgreSQL database at `url` (`postgres://…`),
    /// creating the tables it lacks. Several processes may share it.
    ///
    /// # Errors
    /// When the server cannot be reached, refuses the login, or the
    /// tables cannot be made.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let fail = |source| StoreError::Connect {
            url: redacted(url),
            source,
        };
        let db = Db::postgres(url).map_err(fail)?;
        // Two processes creating the tables at once would collide: the
        // first takes this lock, the second waits and finds them made.
        // Three calls, not one: statements sent together are one
        // transaction, which would commit the tables after the unlock.
        db.batch(&format!("SELECT pg_advisory_lock({SCHEMA_LOCK})"))
            .map_err(fail)?;
        let made = db.batch(schema::POSTGRES);
        db.batch(&format!("SELECT pg_advisory_unlock({SCHEMA_LOCK})"))
            .map_err(fail)?;
        made.map_err(fail)?;
        Ok(Self { db, filling: None })
    }

    /// The state `settings` name, for reading: the PostgreSQL database
    /// when `database_url` is set, else the state file.
    ///
    /// # Errors
    /// As [`Store::connect`] or [`Store::open`].
    pub fn for_settings(settings: &crate::config::Settings) -> Result<Self, StoreError> {
        match &settings.database_url {
            Some(url) => Self::connect(url),
            None => Self::open(&settings.state_file),
        }
    }

    /// The state `settings` name, for a run or the daemon: the state file
    /// opened as [`Store::open_locked`] (the caller holds the file lock),
    /// or the PostgreSQL database with its run lock held for as long as
    /// this store is open (the lock ends with the connection, so a killed
    /// process frees it): a run holds it alone; daemons (`worker`) share
    /// it, with each other but not with a run.
    ///
    /// # Errors
    /// As [`Store::connect`] or [`Store::open_locked`]; [`StoreError::Busy`]
    /// when another process holds the database's run lock.
    pub fn for_run(
        settings: &crate::config::Settings,
        fast_fill: bool,
        worker: bool,
    ) -> Result<Self, StoreError> {
        let Some(url) = &settings.database_url else {
            return Self::open_locked(&settings.state_file, fast_fill);
        };
        let store = Self::connect(url)?;
        // A run writes alone; daemons share the database with each other
        // (as workers, see `cluster`), not with a run.
        let lock = if worker {
            "pg_try_advisory_lock_shared"
        } else {
            "pg_try_advisory_lock"
        };
        let held: bool = store
            .db
            .query_row(&format!("SELECT {lock}({RUN_LOCK})"), &[], |r| r.get(0))
            .map_err(query("taking the run lock"))?;
        if held {
            Ok(store)
        } else {
            Err(StoreError::Busy { url: redacted(url) })
        }
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
            .db
            .batch("DROP INDEX IF EXISTS items_by_date;")
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
        let fail = |source: rusqlite::Error| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        };
        self.end_batch()?;
        if let Some(conn) = self.db.as_sqlite() {
            // The index a fill left out (see `open_locked`), sorted in one go.
            conn.execute_batch(schema::OUTPUTS).map_err(fail)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(fail)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(fail)?;
        }
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
        let open = |source: rusqlite::Error| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
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
        schema::create(&conn).map_err(open)?;
        Ok(Self {
            db: Db::sqlite(conn),
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
        let open = |source: rusqlite::Error| StoreError::Open {
            path: from.to_owned(),
            source: source.into(),
        };
        let conn = Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open)?;
        conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
            .map_err(open)?;
        Ok(true)
    }

    /// Runs `work` as a transaction of its own, or inside the open batch.
    /// A failure inside a batch is never committed: it ends the run (or the
    /// daemon), and the batch's transaction is rolled back with it. (A
    /// savepoint per source would cost a copy of every page it touches.)
    fn atomically<T>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.db.in_transaction() {
            return work(&self.db);
        }
        self.db.begin().map_err(query("starting transaction"))?;
        match work(&self.db) {
            Ok(value) => {
                self.db.commit().map_err(query(what))?;
                Ok(value)
            }
            Err(e) => {
                // The failure is what the caller needs to hear of.
                let _ = self.db.rollback();
                Err(e)
            }
        }
    }

    /// Opens a batch: the source results recorded until [`Store::end_batch`]
    /// share one transaction, which saves a commit per source. A crash
    /// loses the whole uncommitted batch (those sources are fetched again),
    /// never half a source.
    ///
    /// # Errors
    /// On a failed query.
    pub fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.db.begin().map_err(query("starting a batch"))
    }

    /// Rolls the open batch back: nothing recorded since
    /// [`Store::begin_batch`] stays.
    ///
    /// # Errors
    /// On a failed query.
    pub fn abandon_batch(&mut self) -> Result<(), StoreError> {
        if !self.db.in_transaction() {
            return Ok(());
        }
        self.db.rollback().map_err(query("rolling a batch back"))
    }

    /// Commits the open batch.
    ///
    /// # Errors
    /// On a failed query.
    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        if !self.db.in_transaction() {
            return Ok(());
        }
        self.db.commit().map_err(query("committing a batch"))?;
        if let Some(filling) = &self.filling {
            crate::writeback::start(&filling.file);
        }
        Ok(())
    }
}

/// Stores for tests: SQLite always, and PostgreSQL when
/// `FEEDLOOM_TEST_DATABASE_URL` names a server (each store in a schema of
/// its own, so tests do not see each other's rows). With
/// `FEEDLOOM_POSTGRES_TESTS=required` (as `.ci/run` sets), a missing URL
/// fails the test instead of leaving PostgreSQL out.
#[cfg(test)]
pub(crate) fn test_stores(dir: &Path) -> Vec<(&'static str, Store)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SCHEMAS: AtomicUsize = AtomicUsize::new(0);
    let mut stores = vec![("sqlite", Store::open(&dir.join("s.db")).unwrap())];
    match std::env::var("FEEDLOOM_TEST_DATABASE_URL") {
        Ok(url) => {
            let schema = format!(
                "test_{}_{}_{}",
                std::process::id(),
                SCHEMAS.fetch_add(1, Ordering::Relaxed),
                Utc::now().timestamp_micros()
            );
            Db::postgres(&url)
                .and_then(|db| db.batch(&format!("CREATE SCHEMA {schema}")))
                .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options=-csearch_path%3D{schema}");
            stores.push(("postgres", Store::connect(&url).unwrap()));
        }
        Err(_) => assert!(
            std::env::var("FEEDLOOM_POSTGRES_TESTS").as_deref() != Ok("required"),
            "FEEDLOOM_POSTGRES_TESTS=required, but FEEDLOOM_TEST_DATABASE_URL is not set"
        ),
    }
    stores
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Retention, SourceConfig};
    use crate::model::DateSource;

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
    fn all_states_read_at_once_are_each_sources_own() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, mut store) in test_stores(dir.path()) {
            let (a, b, never) = (source("a"), source("b"), source("never"));
            record(
                &mut store,
                &a,
                &[article("One", "https://a.example/1", Some(5))],
                1000,
            );
            store.record_failure(&b, "boom", when(2000)).unwrap();
            store.disable(&b, "gone").unwrap();
            let sources = [never.clone(), b.clone(), a.clone()];
            let together = store.source_states(&sources).unwrap();
            for (src, state) in sources.iter().zip(&together) {
                let alone = store.source_state(src).unwrap();
                assert_eq!(format!("{state:?}"), format!("{alone:?}"), "{}", src.name);
            }
            assert_eq!(together[1].failures, 1);
            assert_eq!(together[1].disabled.as_deref(), Some("gone"));
            assert!(together[0].next_due.is_none());
        }
    }

    #[test]
    fn database_urls_lose_their_password_in_messages() {
        assert_eq!(
            redacted("postgres://loom:s3cret@db.example:5432/feeds"),
            "postgres://loom:%E2%80%A6@db.example:5432/feeds"
        );
        assert_eq!(
            redacted("postgres://loom@db.example/feeds"),
            "postgres://loom@db.example/feeds"
        );
    }

    #[test]
    fn first_seen_dates_never_change() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, mut store) in test_stores(dir.path()) {
            let s = source("a");
            let undated = article("Undated", "https://a.example/1", None);
            record(&mut store, &s, std::slice::from_ref(&undated), 1_000_000);
            record(&mut store, &s, &[undated], 2_000_000);
            let items = all(&store, &["a"]);
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].published(), from_ts(1_000_000));
            assert_eq!(items[0].article.date_source, DateSource::FirstSeen);
        }
    }

    #[test]
    fn a_key_repeated_in_a_first_batch_is_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, mut store) in test_stores(dir.path()) {
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
    }

    #[test]
    fn same_link_from_two_sources_is_one_item_with_both() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, mut store) in test_stores(dir.path()) {
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
    }

    #[test]
    fn retention_keeps_listed_items_and_drops_rotated_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, mut store) in test_stores(dir.path()) {
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
    }

    #[test]
    fn failures_keep_items_and_count_up() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, mut store) in test_stores(dir.path()) {
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
                .db
                .query_row(
                    "SELECT consecutive_failures FROM sources WHERE name='a'",
                    &[],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 2);
            let state = store.source_state(&s).unwrap();
            assert_eq!(state.next_due, Some(from_ts(3000 + 600)));
        }
    }

    fn journal_mode(store: &Store) -> String {
        store
            .db
            .query_row("PRAGMA journal_mode", &[], |r| r.get(0))
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
                .db
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'items_by_date')",
                    &[],
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
