//! `full_text = true` on a feed source: each new item's page is read once
//! and its article extracted (the extraction `scrape` uses), so a feed of
//! teasers publishes whole articles. The feed's own title, date and author
//! stay; its text becomes the summary. Pages are read as a scraper reads
//! them: robots.txt, the per-host limit, the source's `delay`, and the
//! private-address rule for hosts other than the feed's own.
//!
//! A page that fails keeps the teaser and is tried again on the next
//! runs, [`MAX_ATTEMPTS`] times in all; at most [`PER_RUN`] pages are read
//! per source per run, the rest on the next run.

use std::collections::HashMap;

use url::Url;

use super::{Context, PageState, polite::Pacer, scrape};
use crate::config::{FullTextConfig, SourceConfig};
use crate::extract::{self, PageSelectors};
use crate::model::{Article, FullText, Validators};
use crate::normalize::sanitize::Sanitizer;

/// Reads of one page before it is left as a teaser for good.
pub const MAX_ATTEMPTS: u32 = 3;

/// Pages read per source per run: a feed that lists 500 new items at once
/// is read over several runs instead of holding one for many minutes.
pub const PER_RUN: usize = 25;

/// Gives each article its page's body where it can: a body stored before
/// is reused, a page not yet read (or failed fewer than [`MAX_ATTEMPTS`]
/// times) is read now. Returns what each read gave, for the store. An
/// article whose page is still to be (re)tried gets no digest, so the next
/// run normalizes it again instead of skipping it as unchanged.
pub(crate) async fn fill(
    ctx: &Context<'_>,
    source: &SourceConfig,
    config: &FullTextConfig,
    articles: &mut [Article],
    digests: &mut [Option<String>],
    known: &HashMap<String, PageState>,
) -> Vec<FullText> {
    let mut pacer = Pacer::new(config.delay);
    let mut results = Vec::new();
    for (index, article) in articles.iter_mut().enumerate() {
        let (Some(link), Some(url)) = (article.link_str().map(str::to_owned), article.link.clone())
        else {
            continue;
        };
        let state = known.get(&link).cloned().unwrap_or_default();
        if let Some(body) = state.body {
            with_body(article, body);
            continue;
        }
        if state.attempts >= MAX_ATTEMPTS {
            continue;
        }
        if results.len() >= PER_RUN {
            if let Some(d) = digests.get_mut(index) {
                *d = None;
            }
            continue;
        }
        let read = read_article(ctx, source, &url, &mut pacer).await;
        let retry = read.is_err() && state.attempts + 1 < MAX_ATTEMPTS;
        match read {
            Ok(body) => {
                with_body(article, body.clone());
                results.push(FullText {
                    link,
                    body: Some(body),
                    error: None,
                });
            }
            Err(error) => {
                tracing::info!(source = %source.name, url = %url, error = %error, "Full text not read; keeping the feed's text.");
                results.push(FullText {
                    link,
                    body: None,
                    error: Some(error),
                });
            }
        }
        if retry && let Some(d) = digests.get_mut(index) {
            *d = None;
        }
    }
    results
}

/// The page's body becomes the content; the feed's text the summary.
fn with_body(article: &mut Article, body: String) {
    let teaser = article.content.take().or_else(|| article.summary.take());
    article.summary = teaser;
    article.content = Some(body);
}

/// One item page, read and its article body extracted and sanitized.
///
/// # Errors
/// Why there is no body: the page could not be read, robots.txt forbids
/// it, or no article was found on it.
pub async fn read_article(
    ctx: &Context<'_>,
    source: &SourceConfig,
    url: &Url,
    pacer: &mut Pacer,
) -> Result<String, String> {
    let page = scrape::get_page(ctx, source, url, &Validators::default(), pacer)
        .await
        .map_err(|e| e.to_string())?;
    let Some((html, final_url, _)) = page else {
        return Err(format!("{url} answered 304 to a plain GET"));
    };
    let (tz, now) = (source.timezone, ctx.now);
    tokio::task::spawn_blocking(move || {
        let extracted = extract::html(&html, &final_url, &PageSelectors::default(), tz, now);
        extracted
            .body
            .and_then(|b| Sanitizer::new(Some(&final_url)).html(&b.value))
            .filter(|b| !extract::body_text(b).trim().is_empty())
            .ok_or_else(|| format!("no article body found on {final_url}"))
    })
    .await
    .map_err(|e| format!("the extractor stopped: {e}"))?
}
