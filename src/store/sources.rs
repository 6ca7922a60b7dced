//! Sources and hosts: validators and due times read before a fetch, each
//! attempt's outcome (health, backoff, moves, disabling) and the hosts'
//! Retry-After holds.

use chrono::{DateTime, Utc};
use url::Url;

use super::db::{Db, DbError, Row, params};
use super::{SourceState, SourceStatus, Store, When, from_ms, from_ts, location_key, to_ts};
use crate::config::SourceConfig;
use crate::error::{StoreError, query};
use crate::model::Validators;

/// An attempt on a source: `(name, location, attempt time, next due in
/// ms, priority)`. A changed location starts afresh: no move, not disabled.
pub(super) const TOUCH_SOURCE: &str =
    "INSERT INTO sources (name, location, last_attempt, next_due_ms, priority)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT(name) DO UPDATE SET
        moved_to = CASE WHEN sources.location = excluded.location THEN sources.moved_to END,
        disabled = CASE WHEN sources.location = excluded.location THEN sources.disabled END,
        location = excluded.location,
        last_attempt = excluded.last_attempt,
        next_due_ms = excluded.next_due_ms,
        priority = excluded.priority";

/// A success: `(name, time)`.
pub(super) const MARK_HEALTHY: &str =
    "UPDATE sources SET last_success = ?2, last_error = NULL, consecutive_failures = 0
     WHERE name = ?1";

/// A source's row as [`Store::source_state`] reads it.
type StateRow = (
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// The columns of a [`StateRow`], after the name.
const STATE_COLUMNS: &str =
    "location, etag, last_modified, next_due_ms, consecutive_failures, moved_to, disabled,
     last_attempt";

fn state_row(r: &Row<'_>, first: usize) -> Result<StateRow, DbError> {
    Ok((
        r.get(first)?,
        r.get(first + 1)?,
        r.get(first + 2)?,
        r.get(first + 3)?,
        r.get(first + 4)?,
        r.get(first + 5)?,
        r.get(first + 6)?,
        r.get(first + 7)?,
    ))
}

/// The state a fetch of `source` starts from, given its row.
fn state_of(source: &SourceConfig, row: Option<StateRow>) -> SourceState {
    let stored_due_ms = row.as_ref().and_then(|r| r.3);
    let state = match row {
        Some((loc, etag, last_modified, next_due, failures, moved_to, disabled, last_attempt))
            if loc == location_key(&source.location) =>
        {
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
                stored_due_ms,
            }
        }
        _ => SourceState::default(),
    };
    SourceState {
        stored_due_ms,
        ..state
    }
}

impl Store {
    /// The state a fetch starts from. Validators are dropped when the
    /// source's location changed since they were stored.
    ///
    /// # Errors
    /// On a failed query.
    pub fn source_state(&self, source: &SourceConfig) -> Result<SourceState, StoreError> {
        // Cached: a statement parsed once, however often it is asked.
        let row = self
            .db
            .query_opt(
                &format!("SELECT {STATE_COLUMNS} FROM sources WHERE name = ?1"),
                params![source.name],
                |r| state_row(r, 0),
            )
            .map_err(query("reading source state"))?;
        Ok(state_of(source, row))
    }

    /// [`Store::source_state`] of every source in `sources`, in their
    /// order, read in one query: `run` and the daemon's start ask it of
    /// every configured source, and one query per source was 100,000
    /// round trips to a PostgreSQL server.
    ///
    /// # Errors
    /// On a failed query.
    pub fn source_states(&self, sources: &[SourceConfig]) -> Result<Vec<SourceState>, StoreError> {
        let mut rows: std::collections::HashMap<String, StateRow> =
            std::collections::HashMap::with_capacity(sources.len());
        self.db
            .query_each(
                &format!("SELECT name, {STATE_COLUMNS} FROM sources"),
                &[],
                |r| {
                    rows.insert(r.get(0)?, state_row(r, 1)?);
                    Ok(true)
                },
            )
            .map_err(query("reading source states"))?;
        Ok(sources
            .iter()
            .map(|s| state_of(s, rows.remove(&s.name)))
            .collect())
    }

    pub(super) fn touch_source(
        tx: &Db,
        source: &SourceConfig,
        when: When,
    ) -> Result<(), StoreError> {
        tx.execute(
            TOUCH_SOURCE,
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
        let location = location_key(&source.location);
        let (at, next_due_ms) = (to_ts(when.now), when.next_due.timestamp_millis());
        self.atomically("committing not-modified", |tx| {
            tx.execute_all([
                (
                    TOUCH_SOURCE,
                    params![source.name, location, at, next_due_ms, source.priority],
                ),
                (MARK_HEALTHY, params![source.name, at]),
            ])
            .map_err(query("recording success"))
        })
    }

    /// Remembers a permanent redirect: the source is read from `to` until
    /// its configured location changes.
    ///
    /// # Errors
    /// On a failed query.
    pub fn record_moved(&mut self, source: &SourceConfig, to: &Url) -> Result<(), StoreError> {
        self.db
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
        self.db
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
        let sql = self.db.pick(
            "INSERT INTO hosts (host, not_before) VALUES (?1, ?2)
             ON CONFLICT(host) DO UPDATE SET not_before = MAX(not_before, excluded.not_before)",
            "INSERT INTO hosts (host, not_before) VALUES (?1, ?2)
             ON CONFLICT(host) DO UPDATE SET not_before = GREATEST(hosts.not_before, excluded.not_before)",
        );
        self.db
            .execute(sql, params![host, to_ts(until)])
            .map(drop)
            .map_err(query("recording Retry-After"))
    }

    /// When `host` may be asked again, if it asked us to wait.
    ///
    /// # Errors
    /// On a failed query.
    pub fn host_not_before(&self, host: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.db
            .query_opt(
                "SELECT not_before FROM hosts WHERE host = ?1",
                params![host],
                |r| r.get::<i64>(0),
            )
            .map(|t| t.map(from_ts))
            .map_err(query("reading Retry-After"))
    }

    /// Every host that asked us to wait, with when it may be asked again:
    /// read once by a run instead of once per source (the table holds
    /// only hosts that sent Retry-After, so it is small).
    ///
    /// # Errors
    /// On a failed query.
    pub fn host_holds(
        &self,
    ) -> Result<std::collections::HashMap<String, DateTime<Utc>>, StoreError> {
        let mut holds = std::collections::HashMap::new();
        self.db
            .query_each("SELECT host, not_before FROM hosts", &[], |r| {
                holds.insert(r.get::<String>(0)?, from_ts(r.get(1)?));
                Ok(true)
            })
            .map(|()| holds)
            .map_err(query("reading Retry-After"))
    }

    /// Every source the state knows, for `feedloom status`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn statuses(&self) -> Result<Vec<SourceStatus>, StoreError> {
        self.db
            .query_vec(
                "SELECT s.name, s.location, s.last_attempt, s.last_success, s.last_error,
                        s.consecutive_failures, s.next_due_ms, s.moved_to, s.disabled,
                        (SELECT COUNT(*) FROM item_sources x WHERE x.source = s.name),
                        s.fetching_since_ms
                 FROM sources s ORDER BY s.name",
                &[],
                |r| {
                    Ok(SourceStatus {
                        name: r.get(0)?,
                        location: r.get(1)?,
                        last_attempt: r.get::<Option<i64>>(2)?.map(from_ts),
                        last_success: r.get::<Option<i64>>(3)?.map(from_ts),
                        last_error: r.get(4)?,
                        failures: u32::try_from(r.get::<i64>(5)?).unwrap_or(u32::MAX),
                        next_due: r.get::<Option<i64>>(6)?.map(from_ms),
                        moved_to: r.get(7)?,
                        disabled: r.get(8)?,
                        items: usize::try_from(r.get::<i64>(9)?).unwrap_or(0),
                        fetching_since: r.get::<Option<i64>>(10)?.map(from_ms),
                    })
                },
            )
            .map_err(query("reading statuses"))
    }

    /// Marks a source as being fetched since `since` (`None`: not any
    /// more), for `feedloom status` while the daemon runs. A source the
    /// state has never seen gets its row when its first result is recorded.
    /// Workers sharing a database mark it with their claim and its end
    /// instead (see `cluster`).
    ///
    /// # Errors
    /// On a failed query.
    pub fn mark_fetching(
        &self,
        source: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        if self.is_shared() {
            return Ok(());
        }
        self.db
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
        self.db
            .execute("UPDATE sources SET fetching_since_ms = NULL", &[])
            .map(drop)
            .map_err(query("clearing fetch marks"))
    }
}
