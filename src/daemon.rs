//! The daemon: every source on its own clock. A due-time queue (a heap)
//! feeds a bounded pool of fetches; each result is recorded as it arrives
//! (one transaction), and publishing follows changes, not rounds: the
//! first result that changed something starts a `publish_delay` wait, and
//! the results arriving meanwhile share that one publish. A slow or hanging
//! fetch holds only its own source (and its host's politeness slot), never
//! the schedule; waking up costs what is due, not what is configured.
//!
//! With a PostgreSQL state, several daemons (on one machine or many) share
//! the sources as workers: each claims a source with a lease before
//! fetching it, renews its leases while it fetches, and records a result
//! only while its lease holds (see `store::cluster`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use tokio::task::JoinHandle;

use crate::config::{Location, Settings};
use crate::error::{RunError, SourceError};
use crate::metrics::Metrics;
use crate::model::Fetched;
use crate::run::{
    Fetcher, Outcome, Progress, STOP_GRACE, Signals, effective, publish_if_needed, record,
};
use crate::store::{Claim, LEASE, SourceState, Store};

/// The longest the daemon sleeps between looks at the queue (a safety net:
/// every due time it knows of wakes it exactly).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// One fetch running on the pool: which source, how many failures it had
/// in a row when it started, and the clock its results are recorded with.
struct Running {
    name: String,
    failures: u32,
    now: DateTime<Utc>,
    started: std::time::Instant,
    handle: JoinHandle<()>,
}

/// A finished fetch, sent back by its task: the fetch's id and its result.
type Done = (usize, Result<Fetched, SourceError>);

/// Sources by when they are next due, soonest first.
type DueQueue = BinaryHeap<Reverse<(DateTime<Utc>, String)>>;

/// The due-time queue: every enabled source by when it is next due (or
/// its host may be asked again, whichever is later).
fn queue(settings: &Settings, store: &Store) -> Result<DueQueue, RunError> {
    // The holds and the states are read once, not once per source.
    let holds = store.host_holds()?;
    let states = store.source_states(&settings.sources)?;
    let mut heap = BinaryHeap::new();
    for (src, state) in settings.sources.iter().zip(&states) {
        let hold = host(src).and_then(|h| holds.get(h).copied());
        if let Some(due) = due_of(state, hold) {
            heap.push(Reverse((due, src.name.clone())));
        }
    }
    Ok(heap)
}

/// The host a source is fetched from, if it is fetched over HTTP.
fn host(src: &crate::config::SourceConfig) -> Option<&str> {
    match &src.location {
        Location::Url(url) => url.host_str(),
        Location::Path(_) => None,
    }
}

/// When a source is next due; `None` when it is disabled.
fn due_time(
    src: &crate::config::SourceConfig,
    store: &Store,
) -> Result<Option<DateTime<Utc>>, RunError> {
    due_with_hold(src, &store.source_state(src)?, store)
}

/// [`due_time`] from a state already read, with its host's hold read now.
fn due_with_hold(
    src: &crate::config::SourceConfig,
    state: &SourceState,
    store: &Store,
) -> Result<Option<DateTime<Utc>>, RunError> {
    let hold = match host(src) {
        Some(h) => store.host_not_before(h)?,
        None => None,
    };
    Ok(due_of(state, hold))
}

/// A source's own due time, or later if its host asked (Retry-After) to
/// wait until `hold`; `None` when it is disabled.
fn due_of(state: &SourceState, hold: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    if state.disabled.is_some() {
        return None;
    }
    // Never fetched: due since always (not "now", which moves on).
    let due = state.next_due.unwrap_or(DateTime::UNIX_EPOCH);
    Some(hold.map_or(due, |until| due.max(until)))
}

/// What [`launch`] did with a source taken off the queue.
enum Launch {
    /// Its fetch is running.
    Started(Running),
    /// Not due yet after all (its host asked to wait since it was queued):
    /// back in the queue for this time.
    Later(DateTime<Utc>),
    /// Sharing the state: another worker has it, or its host is at its
    /// limit across the workers; back in the queue for this time (not a
    /// skipped fetch: it is only asked again).
    Elsewhere(DateTime<Utc>),
    /// Disabled, or no longer in feeds.toml.
    Gone,
}

/// This daemon's name among the workers sharing a database: the
/// machine's name, the process and the time it started.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!(
        "{host}/{}/{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    )
}

/// Starts fetching `name` on the pool, if it is still due and (sharing the
/// state with other workers) this worker's claim on it holds; its result
/// comes back on `done` tagged with `id`.
fn launch(
    shared: &Fetcher,
    (store, full_hosts): (&Store, &mut HashMap<String, DateTime<Utc>>),
    (name, worker): (&str, &str),
    id: usize,
    done: &tokio::sync::mpsc::UnboundedSender<Done>,
) -> Result<Launch, RunError> {
    let Some(src) = shared.source(name) else {
        return Ok(Launch::Gone);
    };
    // A host the workers already fetch `per_host` sources from is not
    // asked again (one claim each) for every other source it has.
    if let Some(until) = host(src).and_then(|h| full_hosts.get(h))
        && *until > Utc::now()
    {
        return Ok(Launch::Elsewhere(*until));
    }
    let state = store.source_state(src)?;
    let Some(due) = due_with_hold(src, &state, store)? else {
        return Ok(Launch::Gone);
    };
    if due > Utc::now() {
        return Ok(Launch::Later(due));
    }
    match store.claim(
        src,
        worker,
        Utc::now(),
        shared.settings.per_host,
        state.stored_due_ms,
    )? {
        Claim::Taken => {}
        Claim::Busy(until) => return Ok(Launch::Elsewhere(until)),
        Claim::HostFull(until) => {
            if let Some(h) = host(src) {
                full_hosts.insert(h.to_owned(), until);
            }
            return Ok(Launch::Elsewhere(until));
        }
        // Fetched by another worker since it was read: read it again.
        Claim::Changed => return Ok(Launch::Elsewhere(Utc::now())),
    }
    let precise = Utc::now();
    let now = precise.trunc_subsecs(0);
    let known = store.known(src)?;
    let reading = effective(src, state.moved_to.as_ref());
    let validators = state.validators;
    store.mark_fetching(&src.name, Some(precise))?;
    let done = done.clone();
    let fetch = shared.clone().fetch(now, reading, validators, known);
    let handle = tokio::spawn(async move {
        let result = fetch.await;
        // The daemon may have stopped listening (shutdown): nothing to do.
        let _ = done.send((id, result));
    });
    Ok(Launch::Started(Running {
        name: src.name.clone(),
        failures: state.failures,
        now,
        started: std::time::Instant::now(),
        handle,
    }))
}

/// Records one finished fetch; `true` when it changed what is published.
/// A worker whose lease lapsed meanwhile (another took the source over)
/// drops the result: the other worker's is the one recorded.
fn finish(
    (shared, worker): (&Fetcher, &str),
    (store, full_hosts): (&mut Store, &mut HashMap<String, DateTime<Utc>>),
    queue: &mut DueQueue,
    running: &Running,
    result: Result<Fetched, SourceError>,
    (metrics, progress): (&Metrics, Progress<'_>),
) -> Result<bool, RunError> {
    store.mark_fetching(&running.name, None)?;
    // Its host has a slot free again, for this worker at least.
    if let Some(h) = shared.source(&running.name).and_then(host) {
        full_hosts.remove(h);
    }
    // A source removed by a reload while it was fetched: its result goes.
    let Some(src) = shared.source(&running.name) else {
        store.release(&running.name, worker)?;
        return Ok(false);
    };
    store.begin_batch()?;
    let outcome = record(
        &shared.settings,
        store,
        src,
        running.failures,
        result,
        running.now,
    );
    let held = match &outcome {
        Ok(_) => store.release_held(&src.name, worker, Utc::now())?,
        Err(_) => true,
    };
    if !held {
        store.abandon_batch()?;
        tracing::warn!(source = %src.name, "Lease lapsed while fetching; another worker has the source, so this result is dropped.");
        if let Some(due) = due_time(src, store)? {
            queue.push(Reverse((due, src.name.clone())));
        }
        return Ok(false);
    }
    store.end_batch()?;
    let outcome = outcome?;
    metrics.fetched(&src.name, &outcome, running.started.elapsed());
    progress(&src.name, &outcome);
    if let Outcome::Failed(message) = &outcome {
        tracing::warn!(source = %src.name, error = %message, "Fetch failed; keeping previous items.");
    }
    if let Some(due) = due_time(src, store)? {
        queue.push(Reverse((due, src.name.clone())));
    }
    Ok(matches!(outcome, Outcome::Updated { .. }))
}

/// Publishes if needed and tells the WebSub hubs of what changed, without
/// waiting for them: a slow hub never holds up the fetches. Returns how
/// many files changed.
fn publish(settings: &Arc<Settings>, store: &mut Store) -> Result<usize, RunError> {
    let written = publish_if_needed(settings, store)?;
    let files = written.iter().filter(|w| w.changed).count();
    let pings = crate::websub::pings(settings, &written);
    if !pings.is_empty() {
        let settings = Arc::clone(settings);
        tokio::spawn(async move {
            crate::websub::send(pings, &settings).await;
        });
    }
    Ok(files)
}

/// Runs until `signals.stop`: fetches each source when it is due, records
/// each result as it arrives, publishes `publish_delay` after a change
/// (one publish for every result that arrives meanwhile, and at most one
/// publish at a time), and reloads `feeds.toml` on `signals.reload`,
/// keeping the old config when the new one is invalid. On stop, fetches in
/// flight get a short grace, what arrived is recorded and published.
///
/// # Errors
/// When the state file or an output cannot be written.
pub async fn run(
    config_path: &Path,
    settings: Settings,
    signals: &Signals,
    metrics: &Metrics,
    progress: Progress<'_>,
) -> Result<(), RunError> {
    let mut store = Store::for_run(&settings, false, true)?;
    let worker = worker_id();
    if store.is_shared() {
        store.join_workers(&worker, &settings.fingerprint, Utc::now())?;
        tracing::info!(worker = %worker, "Sharing the sources with the other workers on this database.");
    } else {
        store.clear_fetching()?;
    }
    tracing::info!(sources = settings.sources.len(), "Daemon started.");
    // Leases are renewed three times a lease, while there are any.
    let renew_every = LEASE / 3;
    let mut renew_at = tokio::time::Instant::now() + renew_every;
    // Hosts at their limit across the workers, until when not to ask.
    let mut full_hosts: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut shared = Fetcher::new(settings)?;
    publish(&shared.settings, &mut store)?;
    let mut queue = queue(&shared.settings, &store)?;
    let mut running: HashMap<usize, Running> = HashMap::new();
    let mut next_id = 0usize;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let mut publish_at: Option<tokio::time::Instant> = None;
    loop {
        // Start what is due, as far as the pool allows; a source already
        // fetching is not started twice.
        let now = Utc::now();
        while running.len() < shared.settings.concurrency {
            let Some(Reverse((due, _))) = queue.peek() else {
                break;
            };
            if *due > now {
                break;
            }
            let Some(Reverse((_, name))) = queue.pop() else {
                break;
            };
            if running.values().any(|r| r.name == name) {
                continue;
            }
            match launch(
                &shared,
                (&store, &mut full_hosts),
                (&name, &worker),
                next_id,
                &done_tx,
            )? {
                Launch::Started(fetch) => {
                    running.insert(next_id, fetch);
                    next_id += 1;
                }
                Launch::Later(due) => {
                    metrics.fetched(&name, &Outcome::Skipped, Duration::ZERO);
                    queue.push(Reverse((due, name)));
                }
                Launch::Elsewhere(due) => queue.push(Reverse((due, name))),
                Launch::Gone => {}
            }
        }
        let until_due = queue.peek().map_or(MAX_SLEEP, |Reverse((due, _))| {
            (*due - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(MAX_SLEEP)
        });
        // With the pool full, only a result can start the next fetch.
        let wake = if running.len() >= shared.settings.concurrency {
            MAX_SLEEP
        } else {
            until_due
        };
        let mut wake_at = tokio::time::Instant::now() + wake;
        if let Some(at) = publish_at {
            wake_at = wake_at.min(at);
        }
        if store.is_shared() {
            wake_at = wake_at.min(renew_at);
        }
        tokio::select! {
            Some((id, result)) = done_rx.recv() => {
                if let Some(done) = running.remove(&id)
                    && finish((&shared, &worker), (&mut store, &mut full_hosts), &mut queue, &done, result, (metrics, progress))?
                {
                    publish_at.get_or_insert_with(|| {
                        tokio::time::Instant::now() + shared.settings.publish_delay
                    });
                }
            }
            () = tokio::time::sleep_until(wake_at) => {}
            () = signals.stop.cancelled() => break,
            () = signals.reload.notified() => {
                let loaded = crate::config::load(config_path).map_err(anyhow::Error::from).and_then(|new| {
                    // Workers run one feeds.toml: a changed one is taken
                    // only while no other worker runs the old one.
                    store.join_workers(&worker, &new.fingerprint, Utc::now())?;
                    Ok(new)
                });
                match loaded {
                    Ok(new) => {
                        tracing::info!(sources = new.sources.len(), "Reloaded feeds.toml.");
                        if new.state_file != shared.settings.state_file
                            || new.database_url != shared.settings.database_url
                        {
                            // The old store (and its run lock) goes first.
                            store.leave_workers(&worker)?;
                            drop(store);
                            store = Store::for_run(&new, false, true)?;
                            store.join_workers(&worker, &new.fingerprint, Utc::now())?;
                        }
                        shared = Fetcher::new(new)?;
                        queue = self::queue(&shared.settings, &store)?;
                        publish(&shared.settings, &mut store)?;
                    }
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "The new feeds.toml was not taken; keeping the old one."),
                }
            }
        }
        if store.is_shared() && renew_at <= tokio::time::Instant::now() {
            let names: Vec<String> = running.values().map(|r| r.name.clone()).collect();
            store.renew_leases(&worker, &names, Utc::now())?;
            renew_at = tokio::time::Instant::now() + renew_every;
        }
        if publish_at.is_some_and(|at| at <= tokio::time::Instant::now()) {
            publish_at = None;
            let files = publish(&shared.settings, &mut store)?;
            tracing::info!(changed_files = files, "Published.");
        }
    }
    // Stopping: fetches in flight get a short grace; what arrives in it is
    // recorded, the rest is abandoned (those sources stay due).
    let grace = tokio::time::Instant::now() + STOP_GRACE;
    while !running.is_empty() {
        let Ok(Some((id, result))) = tokio::time::timeout_at(grace, done_rx.recv()).await else {
            break;
        };
        if let Some(done) = running.remove(&id) {
            finish(
                (&shared, &worker),
                (&mut store, &mut full_hosts),
                &mut queue,
                &done,
                result,
                (metrics, progress),
            )?;
        }
    }
    for (_, abandoned) in running.drain() {
        abandoned.handle.abort();
        store.mark_fetching(&abandoned.name, None)?;
    }
    store.leave_workers(&worker)?;
    // The last publish's hubs are told within the grace too, not forgotten.
    let written = publish_if_needed(&shared.settings, &mut store)?;
    let pings = crate::websub::pings(&shared.settings, &written);
    let _ = tokio::time::timeout(STOP_GRACE, crate::websub::send(pings, &shared.settings)).await;
    tracing::info!("Daemon stopped.");
    Ok(())
}
