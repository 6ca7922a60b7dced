//! One cycle: read each due source (concurrently), record each result in
//! the store as it arrives (one transaction per source), then publish.

use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;

use std::collections::HashSet;

use crate::config::{Settings, SourceKind};
use crate::error::RunError;
use crate::model::Fetched;
use crate::publish::{self, Written};
use crate::source;
use crate::store::Store;

/// What a run should do beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Fetch every source, due or not.
    pub all: bool,
}

/// One source's outcome this cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// New content: how many entries it listed, and how many were new.
    Updated {
        /// Entries after normalization and filters.
        entries: usize,
        /// Items stored for the first time.
        new: usize,
    },
    /// 304 or an unchanged file.
    NotModified,
    /// Not due yet.
    Skipped,
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
}

/// Runs one cycle over the due sources (all with `options.all`) and publishes.
///
/// # Errors
/// [`RunError`] when nothing can be published: the state file or an output
/// cannot be written. Failing sources are reported in the [`RunReport`].
pub async fn run_once(settings: &Settings, options: RunOptions) -> Result<RunReport, RunError> {
    let now: DateTime<Utc> = Utc::now().trunc_subsecs(0);
    let mut store = Store::open(&settings.state_file)?;
    let client = source::http::client(settings).map_err(|e| RunError::Client(e.to_string()))?;

    let politeness = source::polite::Politeness::default();
    let ctx = source::Context {
        client: &client,
        settings,
        politeness: &politeness,
        now,
    };

    let mut outcomes: Vec<Option<Outcome>> = vec![None; settings.sources.len()];
    let mut due = Vec::new();
    for (index, src) in settings.sources.iter().enumerate() {
        let state = store.source_state(src)?;
        if options.all || state.next_due.is_none_or(|d| d <= now) {
            let known = match &src.kind {
                SourceKind::Scrape(_) => store.known_links(&src.name)?,
                _ => HashSet::new(),
            };
            due.push((index, src, state.validators, known));
        } else {
            outcomes[index] = Some(Outcome::Skipped);
        }
    }

    let mut results = futures::stream::iter(due)
        .map(|(index, src, validators, known)| {
            let ctx = &ctx;
            async move {
                let result = source::fetch(ctx, src, &validators, &known).await;
                (index, src, result)
            }
        })
        .buffer_unordered(settings.concurrency);
    while let Some((index, src, result)) = results.next().await {
        let outcome = match result {
            Ok(Fetched::NotModified) => {
                store.record_not_modified(src, now)?;
                tracing::debug!(source = %src.name, "Not modified.");
                Outcome::NotModified
            }
            Ok(Fetched::Updated { listed: 0, .. })
                if matches!(src.kind, SourceKind::Scrape(_))
                    && store.item_count(&src.name)? > 0 =>
            {
                // A scraper that finds nothing where it used to find items
                // has broken (the site changed): say so, keep the old items.
                let message = format!(
                    "source `{}`: the listing yielded no items where earlier runs found some; the page layout may have changed (try `feedloom check --source \"{}\"`)",
                    src.name, src.name
                );
                store.record_failure(src, &message, now)?;
                Outcome::Failed(message)
            }
            Ok(Fetched::Updated {
                articles,
                meta,
                validators,
                unchanged,
                ..
            }) => {
                let stats = store.record_articles(
                    src,
                    &crate::store::Batch {
                        articles: &articles,
                        unchanged: &unchanged,
                        meta: &meta,
                        validators: &validators,
                    },
                    settings.retention,
                    now,
                )?;
                tracing::info!(source = %src.name, entries = articles.len(), new = stats.new, merged = stats.merged, "Fetched.");
                Outcome::Updated {
                    entries: articles.len(),
                    new: stats.new,
                }
            }
            Err(e) => {
                let message = error_chain(&e);
                // The caller reports failures to the user; this is for the log.
                tracing::info!(source = %src.name, error = %message, "Fetch failed; keeping previous items.");
                store.record_failure(src, &message, now)?;
                Outcome::Failed(message)
            }
        };
        outcomes[index] = Some(outcome);
    }
    drop(results);

    let written = publish::publish_all(settings, &store)?;
    Ok(RunReport {
        sources: settings
            .sources
            .iter()
            .zip(outcomes)
            .map(|(s, o)| (s.name.clone(), o.unwrap_or(Outcome::Skipped)))
            .collect(),
        written,
    })
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
