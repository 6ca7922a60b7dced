//! Several daemons sharing one PostgreSQL state: each is a worker with an
//! id, which claims a source before fetching it with a lease (the source's
//! `lease_owner` and `lease_until_ms`), renews its leases while fetching,
//! and records a result only while it still holds the lease. A worker that
//! dies stops renewing: its leases lapse and the others take its sources.
//!
//! A claim also holds the cluster-wide per-host limit: at most `per_host`
//! live leases on one host, counted under a lock on that host's name, so
//! two workers claiming at once cannot both take the last slot. A claim
//! is one call of the `feedloom_claim` function (see `schema`), and the
//! claim marks the source as being fetched: each round trip counts when
//! 150 sources a second are claimed, recorded and released.
//!
//! With an SQLite state there is one process (the run lock says so): every
//! claim is granted and the rest does nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::db::{Dialect, params};
use super::{Store, from_ms, location_key};
use crate::config::SourceConfig;
use crate::error::{StoreError, query};

/// How long a claim holds without renewal. Workers renew every third of
/// it, so a live worker never loses a lease to a slow fetch, and a dead
/// one's sources are taken over at most this long after it died.
pub const LEASE: Duration = Duration::from_secs(10);

/// How soon to ask again for a source another worker is fetching.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// How soon to ask again for a source whose host has no free slot: about
/// a fetch's time, so a slot another worker frees is soon taken.
const HOST_FULL_RETRY: Duration = Duration::from_millis(50);

/// What a claim got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The source is this worker's until its lease ends.
    Taken,
    /// Another worker holds it: ask again then (when its lease ends, or
    /// in a second: the holder usually finishes long before its lease
    /// would).
    Busy(DateTime<Utc>),
    /// Its host is at its limit: ask again then (and for the host's other
    /// sources, not before either).
    HostFull(DateTime<Utc>),
    /// Another worker fetched it since its state was read: read it again.
    Changed,
}

fn ms(d: DateTime<Utc>) -> i64 {
    d.timestamp_millis()
}

fn until(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Store {
    /// Whether other processes may share this state (PostgreSQL).
    #[must_use]
    pub fn is_shared(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }

    /// Joins the workers sharing this database, as `worker` running a
    /// feeds.toml with `fingerprint`. Workers not seen for a lease are
    /// forgotten first.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when a live worker runs another feeds.toml;
    /// or on a failed query.
    pub fn join_workers(
        &self,
        worker: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !self.is_shared() {
            return Ok(());
        }
        self.atomically("joining the workers", |db| {
            db.execute("LOCK TABLE workers IN EXCLUSIVE MODE", &[])
                .map_err(query("joining the workers"))?;
            db.execute(
                "DELETE FROM workers WHERE seen_ms < ?1",
                params![ms(now) - i64::try_from(LEASE.as_millis()).unwrap_or(0)],
            )
            .map_err(query("forgetting workers"))?;
            let other: Option<String> = db
                .query_opt(
                    "SELECT id FROM workers WHERE fingerprint <> ?1 AND id <> ?2 LIMIT 1",
                    params![fingerprint, worker],
                    |r| r.get(0),
                )
                .map_err(query("reading the workers"))?;
            if let Some(other) = other {
                return Err(StoreError::Refused {
                    reason: format!(
                        "worker {other} runs a different feeds.toml: every worker sharing a \
                         database must run the same one (stop the others, or give this one theirs)"
                    ),
                });
            }
            db.execute(
                "INSERT INTO workers (id, fingerprint, seen_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint,
                    seen_ms = excluded.seen_ms",
                params![worker, fingerprint, ms(now)],
            )
            .map_err(query("joining the workers"))?;
            Ok(())
        })
    }

    /// Says `worker` is alive and extends the leases of the sources it is
    /// fetching (`names`) by a [`LEASE`] from `now`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn renew_leases(
        &self,
        worker: &str,
        names: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !self.is_shared() {
            return Ok(());
        }
        self.atomically("renewing leases", |db| {
            db.execute(
                "UPDATE workers SET seen_ms = ?2 WHERE id = ?1",
                params![worker, ms(now)],
            )
            .map_err(query("renewing leases"))?;
            for name in names {
                db.execute(
                    "UPDATE sources SET lease_until_ms = ?3 WHERE name = ?1 AND lease_owner = ?2",
                    params![name, worker, ms(until(now, LEASE))],
                )
                .map_err(query("renewing leases"))?;
            }
            Ok(())
        })
    }

    /// Leaves the workers: this worker's leases end now.
    ///
    /// # Errors
    /// On a failed query.
    pub fn leave_workers(&self, worker: &str) -> Result<(), StoreError> {
        if !self.is_shared() {
            return Ok(());
        }
        self.atomically("leaving the workers", |db| {
            db.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until_ms = NULL, fetching_since_ms = NULL
                 WHERE lease_owner = ?1",
                params![worker],
            )
            .map_err(query("ending leases"))?;
            db.execute("DELETE FROM workers WHERE id = ?1", params![worker])
                .map_err(query("leaving the workers"))?;
            Ok(())
        })
    }

    /// Claims `source` for `worker` for a [`LEASE`], if no other worker
    /// holds it, its host has a free slot (`per_host` leases at most), and
    /// its stored due time is still `seen_due_ms` (as [`Store::source_state`]
    /// read it).
    ///
    /// # Errors
    /// On a failed query.
    pub fn claim(
        &self,
        source: &SourceConfig,
        worker: &str,
        now: DateTime<Utc>,
        per_host: usize,
        seen_due_ms: Option<i64>,
    ) -> Result<Claim, StoreError> {
        if !self.is_shared() {
            return Ok(Claim::Taken);
        }
        let host = source.location.url().and_then(url::Url::host_str);
        let answer: String = self
            .db
            .query_row(
                "SELECT feedloom_claim(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    source.name,
                    location_key(&source.location),
                    worker,
                    ms(until(now, LEASE)),
                    host,
                    ms(now),
                    seen_due_ms,
                    i64::try_from(per_host).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )
            .map_err(query("claiming a source"))?;
        Ok(match answer.as_str() {
            "taken" => Claim::Taken,
            "host_full" => Claim::HostFull(until(now, HOST_FULL_RETRY)),
            busy => match busy
                .strip_prefix("busy:")
                .and_then(|t| t.parse::<i64>().ok())
            {
                Some(end) => Claim::Busy(from_ms(end + 1).min(until(now, BUSY_RETRY))),
                None => Claim::Changed,
            },
        })
    }

    /// Ends `worker`'s lease on `name` if it still holds it at `now`, and
    /// says whether it did. Within a batch, the row stays locked until the
    /// batch commits, so no other worker can take the source between this
    /// answer and the commit; a batch told `false` is rolled back.
    ///
    /// # Errors
    /// On a failed query.
    pub fn release_held(
        &self,
        name: &str,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !self.is_shared() {
            return Ok(true);
        }
        self.db
            .query_opt(
                "UPDATE sources SET lease_owner = NULL, lease_until_ms = NULL, fetching_since_ms = NULL
                 WHERE name = ?1 AND lease_owner = ?2 AND lease_until_ms >= ?3
                 RETURNING name",
                params![name, worker, ms(now)],
                |r| r.get::<String>(0),
            )
            .map(|released| released.is_some())
            .map_err(query("ending a lease"))
    }

    /// Ends `worker`'s lease on `name`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn release(&self, name: &str, worker: &str) -> Result<(), StoreError> {
        if !self.is_shared() {
            return Ok(());
        }
        self.db
            .execute(
                "UPDATE sources SET lease_owner = NULL, lease_until_ms = NULL, fetching_since_ms = NULL
                 WHERE name = ?1 AND lease_owner = ?2",
                params![name, worker],
            )
            .map(drop)
            .map_err(query("ending a lease"))
    }
}
