//! What `/metrics` and `/healthz` answer (served by `feedloom serve` and
//! `daemon --serve`): the daemon's fetch counts and durations since it
//! started, and per source and output what the state file holds now, in
//! the Prometheus text format (prometheus-client's OpenMetrics encoder).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::config::Settings;
use crate::run::Outcome;
use crate::store::Store;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    source: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutputLabels {
    output: String,
}

/// Buckets from 50 ms to about 100 s: a loopback answer to a slow site.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

/// The live part of the metrics, shared by the scheduler and the server.
pub struct Metrics {
    fetches: Family<FetchLabels, Counter>,
    durations: Family<SourceLabels, Histogram, fn() -> Histogram>,
    started: Instant,
    /// `None` for `serve` on its own (no scheduler to be alive).
    scheduler: Option<AtomicBool>,
    state_file: PathBuf,
    database_url: Option<String>,
}

/// The result label of an outcome.
fn result_of(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Updated { .. } => "ok",
        Outcome::NotModified => "not_modified",
        Outcome::Failed(_) => "failed",
        Outcome::Skipped | Outcome::Waiting(_) | Outcome::Disabled(_) => "skipped",
    }
}

fn gauge(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

impl Metrics {
    /// Metrics for the state file of `settings`; `scheduler` when a daemon
    /// runs in this process.
    #[must_use]
    pub fn new(settings: &Settings, scheduler: bool) -> Self {
        Self {
            fetches: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            started: Instant::now(),
            scheduler: scheduler.then(|| AtomicBool::new(true)),
            state_file: settings.state_file.clone(),
            database_url: settings.database_url.clone(),
        }
    }

    /// Counts one fetch of `source` that ended in `outcome` after `took`.
    pub fn fetched(&self, source: &str, outcome: &Outcome, took: Duration) {
        let result = result_of(outcome);
        self.fetches
            .get_or_create(&FetchLabels {
                source: source.to_owned(),
                result,
            })
            .inc();
        if result != "skipped" {
            self.durations
                .get_or_create(&SourceLabels {
                    source: source.to_owned(),
                })
                .observe(took.as_secs_f64());
        }
    }

    /// The scheduler has stopped (or died): `/healthz` answers 503 from now.
    pub fn scheduler_stopped(&self) {
        if let Some(alive) = &self.scheduler {
            alive.store(false, Ordering::SeqCst);
        }
    }

    /// Whether `/healthz` answers 200: the scheduler, if any, is running.
    #[must_use]
    pub fn healthy(&self) -> bool {
        self.scheduler
            .as_ref()
            .is_none_or(|alive| alive.load(Ordering::SeqCst))
    }

    /// The text `/metrics` answers: the live counters, and what the state
    /// file says now of each source and output.
    ///
    /// # Errors
    /// When the state file cannot be read.
    pub fn render(&self) -> Result<String, String> {
        let mut registry = Registry::with_prefix("feedloom");
        registry.register(
            "fetches",
            "Fetches since the daemon started, by source and result",
            self.fetches.clone(),
        );
        registry.register(
            "fetch_duration_seconds",
            "How long each fetch took, by source",
            self.durations.clone(),
        );
        registry.register(
            "uptime_seconds",
            "Seconds since this process started",
            gauge(i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX)),
        );
        registry.register(
            "scheduler_up",
            "1 while the daemon's scheduler runs in this process",
            gauge(i64::from(self.scheduler.is_some() && self.healthy())),
        );
        // Without a state file there is nothing more to say (and opening
        // one would create it).
        if self.database_url.is_some() || self.state_file.exists() {
            self.register_state(&mut registry)?;
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .map_err(|e| e.to_string())?;
        Ok(text)
    }

    fn register_state(&self, registry: &mut Registry) -> Result<(), String> {
        let store = match &self.database_url {
            Some(url) => Store::connect(url),
            None => Store::open(&self.state_file),
        }
        .map_err(|e| e.to_string())?;
        let statuses = store.statuses().map_err(|e| e.to_string())?;
        let per_source =
            |registry: &mut Registry,
             name: &str,
             help: &str,
             value: &dyn Fn(&crate::store::SourceStatus) -> Option<i64>| {
                let family = Family::<SourceLabels, Gauge>::default();
                for status in &statuses {
                    if let Some(v) = value(status) {
                        family
                            .get_or_create(&SourceLabels {
                                source: status.name.clone(),
                            })
                            .set(v);
                    }
                }
                registry.register(name, help, family);
            };
        per_source(
            registry,
            "source_last_success_timestamp_seconds",
            "When the source was last fetched successfully (Unix time)",
            &|s| s.last_success.map(|t| t.timestamp()),
        );
        per_source(
            registry,
            "source_items",
            "Items the state holds from the source",
            &|s| Some(i64::try_from(s.items).unwrap_or(i64::MAX)),
        );
        per_source(
            registry,
            "source_consecutive_failures",
            "Failures in a row; above 0 the source is backing off",
            &|s| Some(i64::from(s.failures)),
        );
        per_source(
            registry,
            "source_backing_off",
            "1 while the source waits longer than its interval after failures",
            &|s| Some(i64::from(s.failures > 0 && s.disabled.is_none())),
        );
        per_source(
            registry,
            "source_disabled",
            "1 when the source is disabled (410 Gone)",
            &|s| Some(i64::from(s.disabled.is_some())),
        );
        per_source(
            registry,
            "source_next_due_timestamp_seconds",
            "When the source is next due (Unix time)",
            &|s| s.next_due.map(|t| t.timestamp()),
        );
        let published = store.outputs_published().map_err(|e| e.to_string())?;
        let last = Family::<OutputLabels, Gauge>::default();
        let items = Family::<OutputLabels, Gauge>::default();
        for (output, count, at) in published {
            let labels = OutputLabels { output };
            last.get_or_create(&labels).set(at);
            items
                .get_or_create(&labels)
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        registry.register(
            "output_last_publish_timestamp_seconds",
            "When the output's files were last written (Unix time)",
            last,
        );
        registry.register("output_items", "Items in the output's feeds", items);
        Ok(())
    }
}
