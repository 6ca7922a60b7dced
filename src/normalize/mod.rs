//! Normalization: the steps every article passes through, in one visible
//! order, between a source's adapter and the store.
//!
//! A source adapter hands over [`RawEntry`] values: fields as the source wrote
//! them, links already resolved against the document's base, dates already
//! read by [`date::parse`] in the source's zone. The steps here make titles
//! plain, links canonical, HTML safe, dates trustworthy, then filter, dedupe
//! and cap the batch.

pub mod date;
pub mod fast_html;
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

/// The title of an entry that carries nothing a title could come from but
/// markup without text (an image): readers need something to show.
const UNTITLED: &str = "(untitled)";

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
    /// Whether `title` is HTML (made text, keeping every element's text);
    /// a plain-text title is text as written, even with `<` in it.
    pub title_is_html: bool,
}

impl RawEntry {
    /// A digest of everything normalization reads from this entry, and of
    /// `seed` (the config and version it runs under): an entry whose digest
    /// is stored from an earlier fetch would normalize to what is stored,
    /// so it is only touched. `None` for an entry whose result depends on
    /// the clock (a date still in the future).
    #[must_use]
    pub fn digest(&self, seed: &str, now: DateTime<Utc>) -> Option<String> {
        let a = &self.article;
        let limit = now + FUTURE_TOLERANCE;
        if a.published.is_some_and(|d| d > limit) || a.updated.is_some_and(|d| d > limit) {
            return None;
        }
        // XXH3-128: a change detector, not a signature. A feed that forged
        // a collision could only keep its own item from updating; SHA-256
        // cost 10x more here (measured: 2.7% of a cold run's CPU).
        let mut hash = xxhash_rust::xxh3::Xxh3::new();
        let mut field = |bytes: &[u8]| {
            hash.update(&(bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        fn text(t: Option<&str>) -> &[u8] {
            t.unwrap_or("\0").as_bytes()
        }
        fn url(u: Option<&Url>) -> &[u8] {
            u.map_or("\0", Url::as_str).as_bytes()
        }
        let date =
            |d: Option<DateTime<Utc>>| d.map_or(i64::MIN, |d| d.timestamp_millis()).to_le_bytes();
        field(seed.as_bytes());
        field(a.title.as_bytes());
        field(&[u8::from(self.title_is_html)]);
        field(url(self.base.as_ref()));
        field(text(a.guid.as_deref()));
        field(url(a.link.as_ref()));
        field(text(a.link_text.as_deref()));
        field(text(a.summary.as_deref()));
        field(text(a.content.as_deref()));
        field(text(a.author_email.as_deref()));
        field(text(a.credit.as_deref()));
        field(url(a.image.as_ref()));
        field(&date(a.published));
        field(&date(a.updated));
        field(a.date_source.as_str().as_bytes());
        for list in [&a.authors, &a.categories] {
            field(&(list.len() as u64).to_le_bytes());
            for item in list {
                field(item.as_bytes());
            }
        }
        field(&(a.enclosures.len() as u64).to_le_bytes());
        for e in &a.enclosures {
            field(e.url.as_bytes());
            field(&e.length.unwrap_or(u64::MAX).to_le_bytes());
            field(text(e.mime.as_deref()));
            field(&e.duration.unwrap_or(u64::MAX).to_le_bytes());
        }
        Some(format!("{:032x}", hash.digest128()))
    }
}

/// Normalizes one source's entries: each entry through the steps, then the
/// batch deduped (first wins) and cut to the source's `max_items`.
#[must_use]
pub fn normalize(
    entries: Vec<RawEntry>,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Vec<Article> {
    let entries = entries.into_iter().map(|e| (e, None)).collect();
    normalize_changed(entries, source, now, Vec::new()).0
}

/// [`normalize`] for the entries of a fetch that changed since the last
/// one, each with its [`RawEntry::digest`] (returned beside its article).
/// `taken` holds the keys of the unchanged entries left out, so a changed
/// entry never takes the key one of them holds.
#[must_use]
pub fn normalize_changed(
    entries: Vec<(RawEntry, Option<String>)>,
    source: &SourceConfig,
    now: DateTime<Utc>,
    taken: Vec<String>,
) -> (Vec<Article>, Vec<Option<String>>) {
    let mut sanitizers: Vec<(Option<Url>, Sanitizer)> = Vec::new();
    let mut seen: HashSet<String> = taken.into_iter().collect();
    let mut articles: Vec<(Article, Option<String>)> = entries
        .into_iter()
        .filter_map(|(entry, digest)| {
            let index = if let Some(i) = sanitizers.iter().position(|(b, _)| *b == entry.base) {
                i
            } else {
                sanitizers.push((entry.base.clone(), Sanitizer::new(entry.base.as_ref())));
                sanitizers.len() - 1
            };
            let article = entry.article;
            // An entry whose only body sanitizing empties (a lone <embed>)
            // is still an entry the source published.
            let had_body = article.summary.is_some()
                || article.content.is_some()
                || !article.title.trim().is_empty();
            let article = canonical_link(article);
            let article = safe_html(article, &sanitizers[index].1);
            let article = plain_fields(article, entry.title_is_html, had_body)?;
            let article = trusted_dates(article, now, source.min_date);
            filtered(article, source).map(|a| (a, digest))
        })
        .filter_map(|(mut a, digest)| {
            if seen.insert(a.source_key()) {
                return Some((a, digest));
            }
            // A key already taken in this batch: a guid reused on another
            // entry, or the same entry listed twice. Both are published,
            // as feed readers show them: told apart by the link, else by
            // the text, else by the entry's place in the feed.
            let root = a.guid.clone().unwrap_or_else(|| a.source_key());
            let tell = a.link.as_ref().map_or_else(
                || {
                    link::digest(&[
                        &a.title,
                        a.summary.as_deref().unwrap_or_default(),
                        a.content.as_deref().unwrap_or_default(),
                    ])
                },
                ToString::to_string,
            );
            let mut n = 1usize;
            loop {
                a.guid = Some(if n == 1 {
                    format!("{root} {tell}")
                } else {
                    format!("{root} {tell} #{n}")
                });
                if seen.insert(a.source_key()) {
                    return Some((a, digest));
                }
                n += 1;
            }
        })
        .collect();
    if let Some(max) = source.max_items
        && articles.len() > max
    {
        // Newest first; undated entries keep the source's order after dated ones.
        articles.sort_by_key(|(a, _)| std::cmp::Reverse(a.published));
        articles.truncate(max);
    }
    articles.into_iter().unzip()
}

fn canonical_link(mut a: Article) -> Article {
    a.link = a.link.map(link::canonical);
    a.link_text = a.link_text.as_deref().map(link::without_tracking);
    if a.link.is_none() || a.link_text.as_deref() == a.link.as_ref().map(Url::as_str) {
        a.link_text = None;
    }
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

/// Titles, names, categories and credits as plain text. A title that is
/// HTML becomes its text; a plain-text title stays as written (`a <b> c`
/// is three words, not markup). An entry with nothing at all (no title,
/// text, link, id or enclosure) is dropped; one without a title borrows the
/// start of its text, as readers would show it, else its link, its media
/// file or its id.
fn plain_fields(mut a: Article, title_is_html: bool, had_body: bool) -> Option<Article> {
    let title = if title_is_html {
        sanitize::plain_text(&a.title)
    } else {
        sanitize::collapse_whitespace(&sanitize::xml_safe(&a.title))
    };
    a.title = truncate_words(&title, MAX_TITLE_CHARS);
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
        let fallback = a
            .link
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| a.enclosures.first().map(|e| e.url.clone()))
            .or_else(|| a.guid.clone());
        let shows_something = had_body || a.summary.is_some() || a.content.is_some();
        match (text.filter(|t| !t.is_empty()), fallback) {
            (Some(text), _) => a.title = truncate_words(&text, 80),
            (None, Some(other)) => a.title = other,
            // Only markup (an image, a table): shown, under a neutral title.
            (None, None) if shows_something => UNTITLED.clone_into(&mut a.title),
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

/// Whether a source's date can be true: not in the future (beyond a day's
/// tolerance) and not before `min_date` (`0001-01-01` is a placeholder,
/// not a date).
#[must_use]
pub fn believable(d: DateTime<Utc>, now: DateTime<Utc>, min_date: DateTime<Utc>) -> bool {
    d >= min_date && d <= now + FUTURE_TOLERANCE
}

/// Dates that cannot be true are not believed; `published` falls back to
/// `updated`; with neither the store will use the first-seen time.
fn trusted_dates(mut a: Article, now: DateTime<Utc>, min_date: DateTime<Utc>) -> Article {
    let believable = |d: Option<DateTime<Utc>>| d.filter(|d| believable(*d, now, min_date));
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
    source
        .filter
        .as_ref()
        .is_none_or(|f| f.accepts(&FilterFields::of(&a)))
        .then_some(a)
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
                ..Article::default()
            },
            base: None,
            origins: Vec::new(),
            title_is_html: true,
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
        assert_eq!(a.link.as_ref().unwrap().as_str(), "https://ex.org/a#c");
        assert_eq!(a.summary.as_deref(), Some("<p>sum</p>"));
        assert_eq!(
            a.published, a.updated,
            "a future date falls back to updated"
        );
        assert_eq!(a.date_source, DateSource::Feed);
    }

    #[test]
    fn entries_sharing_a_key_stay_apart_and_empty_entries_drop() {
        let now = Utc::now();
        let entries = vec![
            raw("One", Some("https://ex.org/1")),
            raw("One again", Some("https://ex.org/1")),
            raw("", None),
            raw("", Some("https://ex.org/2")),
        ];
        let out = normalize(entries, &source(), now);
        let titles: Vec<_> = out.iter().map(|a| a.title.as_str()).collect();
        // Two entries with one link are both published, as readers show them.
        assert_eq!(titles, ["One", "One again", "https://ex.org/2"]);
        assert_ne!(out[0].source_key(), out[1].source_key());
        assert_eq!(out[0].date_source, DateSource::FirstSeen);
    }

    #[test]
    fn long_titles_are_cut_at_a_word() {
        let t = truncate_words(&"word ".repeat(100), 20);
        assert_eq!(t, "word word word word…");
    }
}
