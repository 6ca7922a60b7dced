//! Normalization: the steps every article passes through, in one visible
//! order, between a source's adapter and the store.
//!
//! A source adapter hands over [`RawEntry`] values: fields as the source wrote
//! them, links already resolved against the document's base, dates already
//! read by [`date::parse`] in the source's zone. The steps here make titles
//! plain, links canonical, HTML safe, dates trustworthy, then filter, dedupe
//! and cap the batch.

pub mod date;
pub mod link;
pub mod sanitize;

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use url::Url;

use crate::config::{FilterFields, SourceConfig};
use crate::model::{Article, DateSource};
use sanitize::Sanitizer;

/// How far in the future a date may be before it is not believed: a day
/// covers zone mistakes without letting an item pin itself to the top.
const FUTURE_TOLERANCE: TimeDelta = TimeDelta::days(1);

/// Longest title kept, in characters; longer ones are cut at a word.
const MAX_TITLE_CHARS: usize = 300;

/// An entry as a source adapter produced it, before normalization.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// Fields as the source gave them; `title` may hold markup, `summary`
    /// and `content` are unsanitized HTML, `link` is absolute.
    pub article: Article,
    /// Base for relative URLs inside `summary` and `content`.
    pub base: Option<Url>,
    /// Where each field came from ("title" → "json-ld", ...), for
    /// `feedloom check --source` and `feedloom extract`.
    pub origins: Vec<(&'static str, String)>,
}

/// Normalizes one source's entries: each entry through the steps, then the
/// batch deduped (first wins) and cut to the source's `max_items`.
#[must_use]
pub fn normalize(
    entries: Vec<RawEntry>,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Vec<Article> {
    let mut sanitizers: Vec<(Option<Url>, Sanitizer)> = Vec::new();
    let mut seen = HashSet::new();
    let mut articles: Vec<Article> = entries
        .into_iter()
        .filter_map(|entry| {
            let index = if let Some(i) = sanitizers.iter().position(|(b, _)| *b == entry.base) {
                i
            } else {
                sanitizers.push((entry.base.clone(), Sanitizer::new(entry.base.as_ref())));
                sanitizers.len() - 1
            };
            let article = entry.article;
            let article = canonical_link(article);
            let article = safe_html(article, &sanitizers[index].1);
            let article = plain_fields(article)?;
            let article = trusted_dates(article, now);
            filtered(article, source)
        })
        .filter(|a| seen.insert(a.source_key()))
        .collect();
    if let Some(max) = source.max_items
        && articles.len() > max
    {
        // Newest first; undated entries keep the source's order after dated ones.
        articles.sort_by_key(|a| std::cmp::Reverse(a.published));
        articles.truncate(max);
    }
    articles
}

fn canonical_link(mut a: Article) -> Article {
    a.link = a.link.map(link::canonical);
    a
}

fn safe_html(mut a: Article, sanitizer: &Sanitizer) -> Article {
    a.summary = a.summary.as_deref().and_then(|s| sanitizer.html(s));
    a.content = a.content.as_deref().and_then(|s| sanitizer.html(s));
    if a.summary == a.content {
        a.summary = None;
    }
    a
}

/// Titles, names, categories and credits as plain text. An entry with
/// nothing to show (no title, no text, no link) is dropped; one without a
/// title borrows the start of its text, as readers would show it.
fn plain_fields(mut a: Article) -> Option<Article> {
    a.title = truncate_words(&sanitize::plain_text(&a.title), MAX_TITLE_CHARS);
    let mut names = HashSet::new();
    a.authors = a
        .authors
        .iter()
        .map(|n| sanitize::plain_text(n))
        .filter(|n| !n.is_empty() && names.insert(n.clone()))
        .collect();
    let mut cats = HashSet::new();
    a.categories = a
        .categories
        .iter()
        .map(|c| sanitize::plain_text(c))
        .filter(|c| !c.is_empty() && cats.insert(c.clone()))
        .collect();
    a.credit = a
        .credit
        .as_deref()
        .map(sanitize::plain_text)
        .filter(|c| !c.is_empty());
    if a.guid.as_deref().is_some_and(|g| g.trim().is_empty()) {
        a.guid = None;
    }
    a.guid = a.guid.map(|g| sanitize::xml_safe(g.trim()));
    if a.title.is_empty() {
        let text = a
            .summary
            .as_deref()
            .or(a.content.as_deref())
            .map(sanitize::plain_text);
        match (text.filter(|t| !t.is_empty()), &a.link) {
            (Some(text), _) => a.title = truncate_words(&text, 80),
            (None, Some(link)) => a.title = link.to_string(),
            (None, None) => return None,
        }
    }
    Some(a)
}

/// Cuts `text` to at most `max` characters at a word boundary, with an ellipsis.
fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end())
}

/// Future dates are not believed; `published` falls back to `updated`;
/// with neither the store will use the first-seen time.
fn trusted_dates(mut a: Article, now: DateTime<Utc>) -> Article {
    let believable = |d: Option<DateTime<Utc>>| d.filter(|d| *d <= now + FUTURE_TOLERANCE);
    a.updated = believable(a.updated);
    a.published = believable(a.published).or(a.updated);
    if a.published.is_none() {
        a.date_source = DateSource::FirstSeen;
    } else if a.date_source == DateSource::FirstSeen {
        a.date_source = DateSource::Feed;
    }
    a
}

fn filtered(a: Article, source: &SourceConfig) -> Option<Article> {
    source.filter.accepts(&FilterFields::of(&a)).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Location;

    fn source() -> SourceConfig {
        SourceConfig::feed("s", Location::Path("/x".into()))
    }

    fn raw(title: &str, link: Option<&str>) -> RawEntry {
        RawEntry {
            article: Article {
                guid: None,
                link: link.map(|l| Url::parse(l).unwrap()),
                title: title.into(),
                summary: None,
                content: None,
                authors: vec![],
                categories: vec![],
                credit: None,
                image: None,
                published: None,
                updated: None,
                date_source: DateSource::FirstSeen,
            },
            base: None,
            origins: Vec::new(),
        }
    }

    #[test]
    fn steps_apply_in_order() {
        let now = Utc::now();
        let mut e = raw(
            "<b>Hello</b> &amp; bye",
            Some("https://ex.org/a?utm_source=x#c"),
        );
        e.article.summary = Some("<p onclick='x'>sum</p>".into());
        e.article.published = Some(now + TimeDelta::days(30));
        e.article.updated = Some(now - TimeDelta::hours(1));
        let out = normalize(vec![e], &source(), now);
        assert_eq!(out.len(), 1);
        let a = &out[0];
        assert_eq!(a.title, "Hello & bye");
        assert_eq!(a.link.as_ref().unwrap().as_str(), "https://ex.org/a");
        assert_eq!(a.summary.as_deref(), Some("<p>sum</p>"));
        assert_eq!(
            a.published, a.updated,
            "a future date falls back to updated"
        );
        assert_eq!(a.date_source, DateSource::Feed);
    }

    #[test]
    fn duplicates_within_a_batch_collapse_and_empty_entries_drop() {
        let now = Utc::now();
        let entries = vec![
            raw("One", Some("https://ex.org/1")),
            raw("One again", Some("https://ex.org/1#frag")),
            raw("", None),
            raw("", Some("https://ex.org/2")),
        ];
        let out = normalize(entries, &source(), now);
        let titles: Vec<_> = out.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["One", "https://ex.org/2"]);
        assert_eq!(out[0].date_source, DateSource::FirstSeen);
    }

    #[test]
    fn long_titles_are_cut_at_a_word() {
        let t = truncate_words(&"word ".repeat(100), 20);
        assert_eq!(t, "word word word word…");
    }
}
