//! Running: one cycle over the due sources (concurrently, each result
//! recorded in the store as it arrives, one transaction per source), then
//! publishing: what `feedloom run` (the cron one-shot) does. The daemon
//! ([`crate::daemon`]) shares the recording policy below.
//!
//! Policy on results lives here: a 304 keeps the items; a failure backs
//! off; a 429/503 with `Retry-After` holds the whole host; a 301/308 is
//! remembered; a 410 disables the source; a scraper that suddenly finds
//! nothing has broken.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::{Location, Settings, SourceConfig, SourceKind};
use crate::error::{RunError, SourceError};
use crate::model::Fetched;
use crate::publish::{self, Written};
use crate::schedule;
use crate::source;
use crate::store::{Batch, Store, When};

/// Source results recorded per transaction.
const RECORD_BATCH: usize = 32;

/// How long fetches already running may go on after a stop was asked for,
/// before they are abandoned (their sources stay due).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);

/// What a run should do beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Fetch every source, due or not.
    pub all: bool,
    /// Fetch only these sources (by name), due or not; empty: every due one.
    pub only: Vec<String>,
}

/// One source's outcome this cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// New content: how many entries it listed, and how many were new.
    Updated {
        /// Entries after normalization and filters, with the ones listed
        /// unchanged.
        entries: usize,
        /// Items stored for the first time.
        new: usize,
        /// Entries attached to an item another source brought.
        merged: usize,
        /// Stored items read again because their entry changed.
        changed: usize,
        /// Set when the source moved permanently (301/308) to this URL.
        moved: Option<Url>,
    },
    /// 304 or unchanged files.
    NotModified,
    /// Not due yet.
    Skipped,
    /// Its host asked us to wait (Retry-After) until this time.
    Waiting(DateTime<Utc>),
    /// Disabled earlier (410 Gone); the reason.
    Disabled(String),
    /// The fetch failed; the message names the source and the cause.
    Failed(String),
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Each configured source with its outcome, in config order.
    pub sources: Vec<(String, Outcome)>,
    /// Every file published.
    pub written: Vec<Written>,
}

impl RunReport {
    /// The failure messages, one per failed source.
    #[must_use]
    pub fn failures(&self) -> Vec<&str> {
        self.sources
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Failed(m) => Some(m.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Notes worth telling the user that are not failures (moves).
    #[must_use]
    pub fn notes(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|(name, o)| match o {
                Outcome::Updated { moved: Some(to), .. } => Some(format!(
                    "source `{name}` moved permanently to {to}; feedloom reads it there from now on (update feeds.toml to match)"
                )),
                _ => None,
            })
            .collect()
    }
}

/// Called with each source's outcome as it is known (for a progress bar).
pub type Progress<'a> = &'a (dyn Fn(&str, &Outcome) + Sync);

/// Runs one cycle over the due sources (all with `options.all`) and publishes.
///
/// # Errors
/// [`RunError`] when nothing can be published: the state file or an output
/// cannot be written. Failing sources are reported in the [`RunReport`].
pub async fn run_once(settings: &Settings, options: RunOptions) -> Result<RunReport, RunError> {
    run_with(settings, options, &CancellationToken::new(), &|_, _| {}).await
}

/// [`run_once`], stoppable by `cancel` (fetches not yet started are not
/// started; what was fetched is recorded and published), reporting each
/// outcome to `progress`.
///
/// # Errors
/// As [`run_once`].
pub async fn run_with(
    settings: &Settings,
    options: RunOptions,
    cancel: &CancellationToken,
    progress: Progress<'_>,
) -> Result<RunReport, RunError> {
    // Run under the run lock (or on a copy of the state): a new state
    // file is filled fast, without a journal, and settled before publishing.
    let mut store = Store::for_run(settings, true, false)?;
    let sources = cycle(settings, &mut store, options, cancel, progress).await?;
    store.settle(&settings.state_file)?;
    let written = publish_if_needed(settings, &mut store)?;
    crate::websub::send(crate::websub::pings(settings, &written), settings).await;
    Ok(RunReport { sources, written })
}

/// Publishes unless the outputs already match the state and the config:
/// a run where every source answered 304 then reads no stored item.
///
/// # Errors
/// When an output cannot be written.
pub fn publish_if_needed(settings: &Settings, store: &mut Store) -> Result<Vec<Written>, RunError> {
    let folder = settings.output_dir.display().to_string();
    let files_present = settings.outputs.iter().all(|o| {
        o.formats.iter().all(|f| {
            settings
                .output_dir
                .join(format!("{}.{}", o.name, f.extension()))
                .exists()
        })
    });
    if files_present
        && store.published_fingerprint(&folder)?.as_deref() == Some(settings.fingerprint.as_str())
    {
        return Ok(Vec::new());
    }
    let written = publish::publish_all(settings, store)?;
    store.set_published_fingerprint(&folder, &settings.fingerprint)?;
    let now = Utc::now();
    for output in &settings.outputs {
        let files: Vec<&Written> = written
            .iter()
            .filter(|w| {
                w.path.file_stem().and_then(|s| s.to_str()) == Some(output.name.as_str())
                    && w.path.parent() == Some(settings.output_dir.as_path())
            })
            .collect();
        if files.iter().any(|w| w.changed) {
            let items = files.iter().map(|w| w.items).max().unwrap_or(0);
            store.set_output_published(&output.name, items, now)?;
        }
    }
    Ok(written)
}

/// The source as it should be read now: from where a permanent redirect
/// sent it, if it moved.
pub(crate) fn effective(source: &SourceConfig, moved_to: Option<&Url>) -> SourceConfig {
    match (moved_to, &source.location) {
        (Some(to), Location::Url(_)) => SourceConfig {
            location: Location::Url(to.clone()),
            ..source.clone()
        },
        _ => source.clone(),
    }
}

/// What every fetch shares: the config, the HTTP clients and the per-host
/// limits, owned, so each fetch can run as a task of its own.
#[derive(Clone)]
pub(crate) struct Fetcher {
    pub(crate) settings: Arc<Settings>,
    client: source::http::Client,
    politeness: Arc<source::polite::Politeness>,
    /// Each source's place in `settings.sources`, by name: the daemon looks
    /// sources up by name at every start and finish of a fetch, which
    /// must not cost a walk over every source.
    by_name: Arc<std::collections::HashMap<String, usize>>,
}

impl Fetcher {
    pub(crate) fn new(settings: Settings) -> Result<Self, RunError> {
        let client =
            source::http::Client::new(&settings).map_err(|e| RunError::Client(e.to_string()))?;
        let by_name = settings
            .sources
            .iter()
            .enumerate()
            .map(|(k, s)| (s.name.clone(), k))
            .collect();
        Ok(Self {
            politeness: Arc::new(source::polite::Politeness::new(settings.per_host)),
            settings: Arc::new(settings),
            client,
            by_name: Arc::new(by_name),
        })
    }

    /// The configured source of that name.
    pub(crate) fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.by_name
            .get(name)
            .and_then(|&k| self.settings.sources.get(k))
    }

    /// Fetches one source with this run's clock. A panic on the source's
    /// data fails that source, never the run or the daemon.
    pub(crate) async fn fetch(
        self,
        now: DateTime<Utc>,
        reading: SourceConfig,
        validators: crate::model::Validators,
        known: source::Known,
    ) -> Result<Fetched, SourceError> {
        let ctx = source::Context {
            client: &self.client,
            settings: &self.settings,
            politeness: &self.politeness,
            now,
        };
        std::panic::AssertUnwindSafe(source::fetch(&ctx, &reading, &validators, known))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(crashed(&reading.name, panic.as_ref())))
    }
}

/// One cycle: fetch the due sources and record each result.
///
/// # Errors
/// When the state file cannot be read or written.
pub async fn cycle(
    settings: &Settings,
    store: &mut Store,
    options: RunOptions,
    cancel: &CancellationToken,
    progress: Progress<'_>,
) -> Result<Vec<(String, Outcome)>, RunError> {
    // Due times are compared precisely (short intervals need it); what is
    // stored (first-seen times, attempts) is in whole seconds.
    let precise = Utc::now();
    let now: DateTime<Utc> = precise.trunc_subsecs(0);
    // Fetches run as tasks of their own, so they go on while this task
    // records finished ones in the store.
    let fetcher = Fetcher::new(settings.clone())?;

    let mut outcomes: Vec<Option<Outcome>> = vec![None; settings.sources.len()];
    let mut due = Vec::new();
    let holds = store.host_holds()?;
    let states = store.source_states(&settings.sources)?;
    for (index, (src, state)) in settings.sources.iter().zip(states).enumerate() {
        if let Some(reason) = state.disabled {
            outcomes[index] = Some(Outcome::Disabled(reason));
            continue;
        }
        if let Location::Url(url) = &src.location
            && let Some(&until) = holds.get(url.host_str().unwrap_or_default())
            && until > now
        {
            outcomes[index] = Some(Outcome::Waiting(until));
            continue;
        }
        let wanted = if options.only.is_empty() {
            options.all || state.next_due.is_none_or(|d| d <= precise)
        } else {
            options.only.contains(&src.name)
        };
        if wanted {
            due.push((index, src, state.moved_to, state.validators, state.failures));
        } else {
            outcomes[index] = Some(Outcome::Skipped);
        }
    }
    for (index, outcome) in outcomes.iter().enumerate() {
        if let Some(o) = outcome {
            progress(&settings.sources[index].name, o);
        }
    }

    // What the store knows of a source is read as its fetch starts, not
    // for every due source up front (at 10,000 feeds that held every
    // stored digest in memory at once). The store is shared, in turn, by
    // the fetches starting and the results being recorded below.
    let store = std::cell::RefCell::new(store);
    let results = futures::stream::iter(due)
        .take_until(cancel.cancelled())
        .map(|(index, src, moved_to, validators, failures)| {
            // Made as the fetch starts: a whole source's config each, for
            // every due source at once, held 17 MB at 10,000 sources.
            let reading = effective(src, moved_to.as_ref());
            let known = match store.borrow().known(src) {
                Ok(known) => known,
                Err(e) => return futures::future::ready(Err(e)).left_future(),
            };
            let cancel = cancel.clone();
            let name = reading.name.clone();
            let fetch = fetcher.clone().fetch(now, reading, validators, known);
            let task = tokio::spawn(async move {
                tokio::select! {
                    r = fetch => Some(r),
                    () = async { cancel.cancelled().await; tokio::time::sleep(STOP_GRACE).await } => None,
                }
            });
            task.map(move |joined| {
                let result = joined.unwrap_or_else(|e| {
                    let message = if e.is_panic() { "a panic" } else { "the fetch was cancelled" };
                    Some(Err(SourceError::Crashed { source_name: name, message: message.to_owned() }))
                });
                Ok((index, src, failures, result))
            })
            .right_future()
        })
        .buffer_unordered(settings.concurrency);
    let mut results = std::pin::pin!(results);
    // Results are committed a batch at a time: one commit per source would
    // cost more than recording the source.
    let mut in_batch = 0;
    store.borrow_mut().begin_batch()?;
    while let Some(next) = results.next().await {
        let (index, src, failures, result) = next?;
        let Some(result) = result else {
            continue; // Abandoned at shutdown: stays due.
        };
        let outcome = record(
            settings,
            &mut store.borrow_mut(),
            src,
            failures,
            result,
            now,
        )?;
        progress(&src.name, &outcome);
        outcomes[index] = Some(outcome);
        in_batch += 1;
        if in_batch == RECORD_BATCH {
            let mut store = store.borrow_mut();
            store.end_batch()?;
            store.begin_batch()?;
            in_batch = 0;
        }
    }
    store.borrow_mut().end_batch()?;
    Ok(settings
        .sources
        .iter()
        .zip(outcomes)
        .map(|(s, o)| (s.name.clone(), o.unwrap_or(Outcome::Skipped)))
        .collect())
}

/// Records one source's result and decides when it is next due.
pub(crate) fn record(
    settings: &Settings,
    store: &mut Store,
    src: &SourceConfig,
    failures: u32,
    result: Result<Fetched, SourceError>,
    now: DateTime<Utc>,
) -> Result<Outcome, RunError> {
    // The schedule counts from when the answer arrived, not from when the
    // cycle began: a slow answer must not make the next fetch come early.
    let answered = Utc::now().max(now);
    let ok = When {
        now,
        next_due: schedule::next_due(src, answered),
    };
    let failed = |retry_after: Option<Duration>| When {
        now,
        next_due: schedule::backoff(
            src,
            failures.saturating_add(1),
            settings.max_backoff,
            retry_after,
            answered,
        ),
    };
    Ok(match result {
        Ok(Fetched::NotModified) => {
            store.record_not_modified(src, ok)?;
            tracing::debug!(source = %src.name, "Not modified.");
            Outcome::NotModified
        }
        Ok(Fetched::Updated { listed: 0, .. })
            if matches!(src.kind, SourceKind::Scrape(_)) && store.item_count(&src.name)? > 0 =>
        {
            // A scraper that finds nothing where it used to find items
            // has broken (the site changed): say so, keep the old items.
            let message = format!(
                "source `{}`: the listing yielded no items where earlier runs found some; the page layout may have changed (try `feedloom check --source \"{}\"`)",
                src.name, src.name
            );
            store.record_failure(src, &message, failed(None))?;
            Outcome::Failed(message)
        }
        Ok(Fetched::Updated {
            articles,
            digests,
            meta,
            validators,
            unchanged,
            moved,
            full_text,
            ..
        }) => {
            let batch = Batch {
                articles: &articles,
                digests: &digests,
                unchanged: &unchanged,
                meta: &meta,
                validators: &validators,
                full_text: &full_text,
            };
            let stats = store.record_articles(src, &batch, settings.retention, ok)?;
            if let Some(to) = &moved {
                store.record_moved(src, to)?;
                tracing::warn!(source = %src.name, to = %to, "Source moved permanently.");
            }
            let entries = articles.len() + unchanged.len();
            tracing::info!(source = %src.name, entries, new = stats.new, merged = stats.merged, unchanged = unchanged.len(), "Fetched.");
            Outcome::Updated {
                entries,
                new: stats.new,
                merged: stats.merged,
                changed: articles.len().saturating_sub(stats.new + stats.merged),
                moved,
            }
        }
        Err(e) => {
            let message = error_chain(&e);
            // The caller reports failures to the user; this is for the log.
            tracing::info!(source = %src.name, error = %message, "Fetch failed; keeping previous items.");
            match &e {
                SourceError::RetryLater {
                    retry_after, url, ..
                } => {
                    // A server may ask for a pause, never for longer than
                    // the longest backoff (a huge value would hold the host
                    // for ever).
                    let retry_after = retry_after.map(|r| r.min(settings.max_backoff));
                    store.record_failure(src, &message, failed(retry_after))?;
                    if let (Some(wait), Some(host)) = (
                        retry_after,
                        Url::parse(url)
                            .ok()
                            .and_then(|u| u.host_str().map(str::to_owned)),
                    ) {
                        store.block_host(&host, schedule::later(now, wait))?;
                    }
                }
                SourceError::Gone { .. } => {
                    store.record_failure(src, &message, failed(None))?;
                    store.disable(src, &message)?;
                }
                _ => store.record_failure(src, &message, failed(None))?,
            }
            Outcome::Failed(message)
        }
    })
}

/// The error for a source whose reading panicked.
pub(crate) fn crashed(name: &str, panic: &(dyn std::any::Any + Send)) -> SourceError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    SourceError::Crashed {
        source_name: name.to_owned(),
        message,
    }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

/// How the daemon learns it should stop or reload.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Cancelled on SIGINT/SIGTERM.
    pub stop: CancellationToken,
    /// Notified on SIGHUP.
    pub reload: std::sync::Arc<tokio::sync::Notify>,
}
