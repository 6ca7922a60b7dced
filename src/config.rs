//! `feeds.toml`: the raw serde structs that mirror the file, and their
//! validation into [`Settings`], where URLs are parsed, durations and time
//! zones resolved, regexes compiled and relative paths made absolute.
//!
//! Validation collects every mistake (not just the first) and names its line,
//! its key and the fix. This module does no I/O besides reading the file.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::error::ConfigError;
use crate::extract::{FieldSelector, PageSelectors};

mod slices;

/// Items on an output's HTML page unless `page_items` says otherwise: a
/// day or two of a busy river, a page a phone still scrolls quickly.
pub const DEFAULT_PAGE_ITEMS: usize = 100;

/// The default user agent: names the product and where to learn about it.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "feedloom/",
    env!("CARGO_PKG_VERSION"),
    " (feed aggregator; +https://crates.io/crates/feedloom)"
);

// ---------------------------------------------------------------------------
// Raw structs: exactly the file's shape.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    output: Vec<Spanned<RawOutput>>,
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    output_dir: Option<Spanned<String>>,
    state_file: Option<Spanned<String>>,
    database_url: Option<Spanned<String>>,
    user_agent: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    interval: Option<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
    max_response_size: Option<Spanned<i64>>,
    max_depth: Option<Spanned<i64>>,
    max_entries: Option<Spanned<i64>>,
    max_field_size: Option<Spanned<i64>>,
    public_url: Option<Spanned<String>>,
    websub_hub: Option<Spanned<String>>,
    min_date: Option<Spanned<String>>,
    contact: Option<String>,
    connect_timeout: Option<Spanned<String>>,
    per_host: Option<Spanned<i64>>,
    max_backoff: Option<Spanned<String>>,
    publish_delay: Option<Spanned<String>>,
    allow_private: Option<bool>,
    retention: Option<RawRetention>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    max_age: Option<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    name: Spanned<String>,
    title: Option<String>,
    link: Option<Spanned<String>>,
    description: Option<String>,
    id: Option<Spanned<String>>,
    author: Option<String>,
    formats: Option<Vec<Spanned<String>>>,
    sources: Option<Vec<Spanned<String>>>,
    tags: Option<Vec<String>>,
    max_items: Option<Spanned<i64>>,
    include: Option<RawFilter>,
    exclude: Option<RawFilter>,
    // The HTML page (formats = [.., "html"]).
    timezone: Option<Spanned<String>>,
    lang: Option<Spanned<String>>,
    template: Option<Spanned<String>>,
    page_items: Option<Spanned<i64>>,
    websub_hub: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    tags: Option<Vec<String>>,
    interval: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
    // The rarely set tables are boxed: inline, they made each source
    // 1.5 KB while reading, 196 MB at 100,000 sources.
    include: Option<Box<RawFilter>>,
    exclude: Option<Box<RawFilter>>,
    priority: Option<i64>,
    // kind = "feed"
    full_text: Option<Spanned<bool>>,
    // kind = "scrape"
    select: Option<Box<Spanned<RawSelect>>>,
    article: Option<Box<RawArticle>>,
    delay: Option<Spanned<String>>,
    follow_hosts: Option<Vec<Spanned<String>>>,
    // kind = "files"
    pattern: Option<Spanned<String>>,
    recursive: Option<bool>,
    base_url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelect {
    item: Option<Spanned<String>>,
    link: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    next: Option<Spanned<String>>,
    max_pages: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArticle {
    title: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    body: Option<Spanned<String>>,
    credit: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    remove: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    title: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    category: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------
// Validated settings: what the rest of the program uses.

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file these settings came from.
    pub config_path: PathBuf,
    /// A digest of the config text and feedloom's version: outputs built
    /// under another fingerprint must be rebuilt.
    pub fingerprint: String,
    /// Folder the published files go to.
    pub output_dir: PathBuf,
    /// The SQLite state file (used unless `database_url` is set).
    pub state_file: PathBuf,
    /// A PostgreSQL database to keep the state in instead
    /// (`postgres://…`): `database_url` in `[settings]`, or the
    /// `FEEDLOOM_DATABASE_URL` environment variable, which wins.
    pub database_url: Option<String>,
    /// Sent with every request.
    pub user_agent: String,
    /// Total time allowed for one request, body included.
    pub timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Sources fetched at once.
    pub concurrency: usize,
    /// Requests in flight to one host at once.
    pub per_host: usize,
    /// The longest a failing source waits before it is tried again.
    pub max_backoff: Duration,
    /// How long the daemon waits after a result that changed an output
    /// before it publishes, so results arriving meanwhile share one publish.
    pub publish_delay: Duration,
    /// Whether any source may fetch loopback, private and link-local
    /// addresses (an intranet aggregator). Off, only a source whose own
    /// configured URL is on such a host may reach that host.
    pub allow_private: bool,
    /// Largest response body accepted, in bytes (after decompression).
    pub max_response_size: u64,
    /// Limits on what one document may hold.
    pub limits: Limits,
    /// Where `output/` is served; self links are built from it.
    pub public_url: Url,
    /// How long and how many items per source the state keeps.
    pub retention: Retention,
    /// The merged feeds to publish.
    pub outputs: Vec<Output>,
    /// Where items come from.
    pub sources: Vec<SourceConfig>,
}

/// Limits on what one source's document may hold, against hostile input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest element nesting read, in XML feeds and HTML pages; deeper
    /// documents are refused.
    pub max_depth: usize,
    /// Most entries one document may list; more is refused.
    pub max_entries: usize,
    /// Longest title, summary or body kept, in bytes; longer ones are cut.
    pub max_field_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 512,
            max_entries: 10_000,
            max_field_size: 512 * 1024,
        }
    }
}

/// How much history the state keeps, so outputs do not lose items just
/// because a source rotated them out of its own feed.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Items older than this (by published date) are dropped, unless their
    /// source still lists them.
    pub max_age: Duration,
    /// At most this many items are kept per source.
    pub max_items: usize,
}

/// The document formats an output can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// RSS 2.0, `NAME.rss`.
    Rss,
    /// Atom 1.0, `NAME.atom`.
    Atom,
    /// JSON Feed 1.1, `NAME.json`.
    Json,
    /// OPML 2.0 list of the output's sources, `NAME.opml`.
    Opml,
    /// A readable web page of the newest items, `NAME.html`.
    Html,
}

impl Format {
    /// The file extension, which is also the name used in `formats = [..]`.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
            Format::Opml => "opml",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// One `[[output]]`: a merged feed.
#[derive(Debug, Clone)]
pub struct Output {
    /// File stem under the output folder.
    pub name: String,
    /// Feed title.
    pub title: String,
    /// The site the feed is about (channel link).
    pub link: Url,
    /// Feed description.
    pub description: String,
    /// Stable feed id (Atom `<id>`).
    pub id: String,
    /// Feed-level author, so Atom entries without one stay valid.
    pub author: String,
    /// Formats to write, sorted and without repeats.
    pub formats: Vec<Format>,
    /// Only items from these sources (by name); `None` with no tags means all.
    pub sources: Option<BTreeSet<String>>,
    /// Only items from sources carrying one of these tags.
    pub tags: Option<BTreeSet<String>>,
    /// How many of the newest items to publish.
    pub max_items: usize,
    /// Which items to keep and drop.
    pub filter: Filter,
    /// The zone the HTML page shows dates in.
    pub timezone: Tz,
    /// The HTML page's language (`<html lang>`).
    pub lang: String,
    /// A user's own template for the HTML page, instead of the built-in one.
    pub template: Option<UserTemplate>,
    /// How many of the newest items the HTML page shows.
    pub page_items: usize,
    /// The WebSub hub told of every change to this output's feeds.
    pub websub_hub: Option<Url>,
}

/// A template file named by `template = "path"`, read (and parsed) when
/// the config is, so a mistake in it is a config error and an edit to it
/// republishes the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTemplate {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

impl Output {
    /// Whether items of the given source belong in this output.
    #[must_use]
    pub fn wants(&self, source: &SourceConfig) -> bool {
        match (&self.sources, &self.tags) {
            (None, None) => true,
            (names, tags) => {
                names.as_ref().is_some_and(|n| n.contains(&source.name))
                    || tags
                        .as_ref()
                        .is_some_and(|t| source.tags.iter().any(|tag| t.contains(tag)))
            }
        }
    }
}

/// Where a source's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Fetched over HTTP(S).
    Url(Url),
    /// Read from disk (relative paths already resolved against the config folder).
    Path(PathBuf),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Url(u) => f.write_str(u.as_str()),
            Location::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Location {
    /// The URL, for a source fetched over HTTP(S).
    #[must_use]
    pub fn url(&self) -> Option<&Url> {
        match self {
            Location::Url(u) => Some(u),
            Location::Path(_) => None,
        }
    }

    /// The location as a URL: itself, or `file://` for a path. Used as the
    /// base for relative links and as the attribution's feed URL.
    #[must_use]
    #[allow(clippy::missing_panics_doc)] // "file:///" always parses.
    pub fn as_url(&self) -> Url {
        match self {
            Location::Url(u) => u.clone(),
            Location::Path(p) => {
                Url::from_file_path(p).unwrap_or_else(|()| Url::parse("file:///").expect("static"))
            }
        }
    }
}

/// The kinds of source, each with what only it needs.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// An HTML listing page whose items are picked by CSS selectors.
    Scrape(Box<ScrapeConfig>),
    /// A folder of article files.
    Files(Box<FilesConfig>),
}

impl SourceKind {
    /// The name used in `kind = ".."`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Scrape(_) => "scrape",
            SourceKind::Files(_) => "files",
        }
    }
}

/// `[source.select]` of a scrape source: how to find items on the listing.
#[derive(Debug, Clone)]
pub struct ListingSelectors {
    /// One match per item.
    pub item: FieldSelector,
    /// The item's link, inside the item (default: the first `a@href`).
    pub link: Option<FieldSelector>,
    /// The item's title, inside the item (default: the link's text).
    pub title: Option<FieldSelector>,
    /// The item's date.
    pub date: Option<FieldSelector>,
    /// The item's author.
    pub author: Option<FieldSelector>,
    /// The item's summary.
    pub summary: Option<FieldSelector>,
    /// The item's image.
    pub image: Option<FieldSelector>,
    /// The link to the next listing page.
    pub next: Option<FieldSelector>,
    /// Listing pages read at most (with `next`).
    pub max_pages: usize,
}

/// `full_text = true` on a feed source: each new item's page is read and
/// its article extracted, the feed's text kept as the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullTextConfig {
    /// Least time between two page requests (`delay`, 1 s by default).
    pub delay: Duration,
}

/// What a `scrape` source needs beyond a URL.
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    /// Selectors for the listing page.
    pub select: ListingSelectors,
    /// With `[source.article]`: follow each new item's link and extract the
    /// article there, using these selectors where given.
    pub article: Option<PageSelectors>,
    /// Least time between two requests of this source to its site.
    pub delay: Duration,
    /// Hosts besides the listing's own site whose article links are
    /// followed (`cdn.example.net`), lower-cased.
    pub follow_hosts: Vec<String>,
}

/// What a `files` source needs beyond its folder.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Which files (relative to the folder) are articles.
    pub pattern: globset::GlobMatcher,
    /// Whether to look in sub-folders.
    pub recursive: bool,
    /// Public address of the folder: item links are this plus the relative path.
    pub base_url: Option<Url>,
}

/// One `[[source]]`.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Unique name; used in attribution and in messages.
    pub name: String,
    /// What kind of source.
    pub kind: SourceKind,
    /// Where to read it.
    pub location: Location,
    /// Tags that outputs can select on.
    pub tags: Vec<String>,
    /// Time between fetches.
    pub interval: Duration,
    /// A cron expression; when set, it decides when the source is due.
    /// (Boxed: it is 300 bytes, and most sources have none.)
    pub schedule: Option<Box<croner::Cron>>,
    /// Zone for dates written without an offset.
    pub timezone: Tz,
    /// Keep at most this many entries per fetch (newest first); `None`: all.
    pub max_items: Option<usize>,
    /// Which entries to keep; `None`: every entry (most sources have no
    /// filter, and 256 bytes of empty patterns add up at 100,000 sources).
    pub filter: Option<Box<Filter>>,
    /// When sources share a story and none of them is its origin, the
    /// fields published come from the one with the higher priority.
    pub priority: i64,
    /// With `full_text = true` (feeds only): read each new item's page.
    pub full_text: Option<FullTextConfig>,
    /// Dates before this are not believed (`settings.min_date`).
    pub min_date: DateTime<Utc>,
}

/// `settings.min_date` unless set: no feed item is older than the web.
#[must_use]
pub fn default_min_date() -> DateTime<Utc> {
    DateTime::from_timestamp(631_152_000, 0).unwrap_or(DateTime::UNIX_EPOCH) // 1990-01-01
}

impl SourceConfig {
    /// A `feed` source with the defaults `feeds.toml` would give it (30
    /// minute interval, UTC, no limit, no filter): for programs that build
    /// a config in code, and for tests.
    #[must_use]
    pub fn feed(name: &str, location: Location) -> Self {
        Self {
            name: name.to_owned(),
            kind: SourceKind::Feed,
            location,
            tags: Vec::new(),
            interval: Duration::from_secs(30 * 60),
            schedule: None,
            timezone: Tz::UTC,
            max_items: None,
            filter: None,
            priority: 0,
            full_text: None,
            min_date: default_min_date(),
        }
    }
}

/// Include/exclude regexes on an item's fields.
///
/// An item passes when it matches at least one `include` pattern (if any
/// are given) and no `exclude` pattern.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Keep only items matching one of these.
    pub include: FieldPatterns,
    /// Drop items matching any of these.
    pub exclude: FieldPatterns,
}

/// One regex per item field, each optional.
#[derive(Debug, Clone, Default)]
pub struct FieldPatterns {
    /// Matched against the plain-text title.
    pub title: Option<Regex>,
    /// Matched against the summary and the content HTML.
    pub content: Option<Regex>,
    /// Matched against each author name.
    pub author: Option<Regex>,
    /// Matched against each category.
    pub category: Option<Regex>,
}

impl FieldPatterns {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.content.is_none()
            && self.author.is_none()
            && self.category.is_none()
    }

    /// Whether any given pattern matches its field.
    fn matches(&self, fields: &FilterFields<'_>) -> bool {
        fn hit<'v>(re: Option<&Regex>, mut values: impl Iterator<Item = &'v str>) -> bool {
            re.is_some_and(|re| values.any(|v| re.is_match(v)))
        }
        hit(self.title.as_ref(), std::iter::once(fields.title))
            || hit(self.content.as_ref(), fields.content.iter().copied())
            || hit(
                self.author.as_ref(),
                fields.authors.iter().map(String::as_str),
            )
            || hit(
                self.category.as_ref(),
                fields.categories.iter().map(String::as_str),
            )
    }
}

/// The fields of an item a [`Filter`] looks at.
#[derive(Debug)]
pub struct FilterFields<'a> {
    /// Plain-text title.
    pub title: &'a str,
    /// Summary and content HTML.
    pub content: Vec<&'a str>,
    /// Author names.
    pub authors: &'a [String],
    /// Categories.
    pub categories: &'a [String],
}

impl<'a> FilterFields<'a> {
    /// The fields of an article a filter looks at.
    #[must_use]
    pub fn of(a: &'a crate::model::Article) -> Self {
        Self {
            title: &a.title,
            content: a
                .summary
                .iter()
                .chain(a.content.iter())
                .map(String::as_str)
                .collect(),
            authors: &a.authors,
            categories: &a.categories,
        }
    }
}

impl Filter {
    /// Whether the filter has no pattern at all (every item passes).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the item passes this filter.
    #[must_use]
    pub fn accepts(&self, fields: &FilterFields<'_>) -> bool {
        (self.include.is_empty() || self.include.matches(fields)) && !self.exclude.matches(fields)
    }
}

// ---------------------------------------------------------------------------
// Loading and validation.

/// Reads and validates a config file.
///
/// # Errors
/// [`ConfigError::Read`] when the file cannot be read, [`ConfigError::Invalid`]
/// listing every mistake otherwise.
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::Missing {
                path: path.to_owned(),
            }
        } else {
            ConfigError::Read {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    parse(&text, path)
}

/// Validates config text; `path` locates relative paths and names the file in errors.
///
/// # Errors
/// [`ConfigError::Invalid`] listing every mistake.
pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
    let mut v = Validator {
        text,
        // Absolute, so `file://` URLs and messages do not depend on the
        // folder the command was started from.
        base_dir: std::path::absolute(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )
        .unwrap_or_else(|_| PathBuf::from(".")),
        problems: Vec::new(),
    };
    let (raw, shape_problems) = match read_shape(text) {
        Ok(found) => found,
        Err(problem) => {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems: vec![problem],
            });
        }
    };
    v.problems.extend(shape_problems);
    let mut settings = v.settings(&raw, path);
    // The config's text and every template it names: a template edit
    // changes the pages.
    let mut parts = vec![text, env!("CARGO_PKG_VERSION")];
    parts.extend(
        settings
            .outputs
            .iter()
            .filter_map(|o| o.template.as_ref().map(|t| t.text.as_str())),
    );
    settings.fingerprint = crate::normalize::link::digest(&parts);
    if v.problems.is_empty() {
        Ok(settings)
    } else {
        // In file order, whichever check found them.
        v.problems.sort_by_key(|p| {
            let at = |part: Option<&str>| {
                part.map(|n| n.trim_matches(|c: char| !c.is_ascii_digit()))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
            };
            let place = p.split(':').next().unwrap_or_default();
            let mut parts = place.split(',');
            (at(parts.next()), at(parts.next()))
        });
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems: v.problems,
        })
    }
}

/// The file's shape (keys and types) as the raw structs, with every
/// shape mistake found: serde stops at the first, so each mistaken
/// `key = value` is reported and blanked out (lines keep their numbers) and
/// the rest read again, until what remains reads. A syntax error, or a
/// mistake that cannot be blanked (a missing key), ends the search.
fn read_shape(text: &str) -> Result<(RawConfig, Vec<String>), String> {
    /// More mistakes than anyone fixes in one pass.
    const MAX_SHAPE_PROBLEMS: usize = 100;
    if let Some(raw) = slices::read(text) {
        return Ok((raw, Vec::new()));
    }
    let mut current = text.to_owned();
    let mut problems = Vec::new();
    loop {
        let e = match toml::from_str::<RawConfig>(&current) {
            Ok(raw) => return Ok((raw, problems)),
            Err(e) => e,
        };
        let message = e.message().trim().replace('\n', " ");
        let fix = syntax_fix(e.message());
        let span = e.span();
        let place = span
            .as_ref()
            .map_or_else(|| "line 0".to_owned(), |s| place_of(&current, s.start));
        let key = span
            .as_ref()
            .and_then(|s| key_path_at(&current, s.start))
            .map(|k| format!("key `{k}`: "))
            .unwrap_or_default();
        let problem = match did_you_mean(&message) {
            Some((typo, known)) => format!(
                "{place}: {key}unknown key `{typo}`; did you mean `{known}`? (the README lists every key)"
            ),
            None => format!("{place}: {key}{message}{fix}"),
        };
        let blanked = span
            .filter(|_| !key.is_empty() && problems.len() < MAX_SHAPE_PROBLEMS)
            .and_then(|s| blank_lines(&current, s));
        match blanked {
            Some(next) if problems.len() + 1 < MAX_SHAPE_PROBLEMS => {
                problems.push(problem);
                current = next;
            }
            _ if problems.is_empty() => return Err(problem),
            _ => {
                problems.push(problem);
                return Err(problems.join("\n"));
            }
        }
    }
}

/// `text` with the whole lines that `span` touches replaced by spaces, so
/// byte offsets and line numbers stay put. `None` when the first line is not
/// a `key = value` (a table header: blanking it would move its keys).
fn blank_lines(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let start = text.get(..span.start)?.rfind('\n').map_or(0, |n| n + 1);
    let end = span.end.max(span.start + 1).min(text.len());
    let end = text.get(end..)?.find('\n').map_or(text.len(), |n| end + n);
    let first_line = text
        .get(start..)?
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start();
    if first_line.starts_with('[') || !first_line.contains('=') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    // A space per byte: offsets after the blanked lines stay put.
    for c in text[start..end].chars() {
        if c == '\n' {
            out.push('\n');
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out.push_str(&text[end..]);
    Some(out)
}

/// The dotted key path of the `key = value` line holding `offset`, under the
/// nearest table header above it: `settings.concurrency`,
/// `source[3].select.item` (array-of-tables entries counted from 1).
fn key_path_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |n| n + 1);
    let line = text[start..].lines().next().unwrap_or_default();
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let mut header = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for l in text[..start].lines() {
        let l = l.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_owned();
            let n = counts.entry(name.clone()).or_default();
            *n += 1;
            header = format!("{name}[{n}]");
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
            // `[source.select]` belongs to the latest `[[source]]`.
            let name = name.trim();
            header = match name.split_once('.') {
                Some((parent, rest)) if counts.contains_key(parent) => {
                    format!("{parent}[{}].{rest}", counts[parent])
                }
                _ => name.to_owned(),
            };
        }
    }
    Some(if header.is_empty() {
        key.to_owned()
    } else {
        format!("{header}.{key}")
    })
}

/// Settings that are legal but probably not what the user wants: shown by
/// `check` and `run`, never fatal.
#[must_use]
pub fn warnings(settings: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    if settings.outputs.is_empty() && !settings.sources.is_empty() {
        out.push(format!(
            "{} has sources but no [[output]]: nothing will be published; add an [[output]] block with a `name`",
            settings.config_path.display()
        ));
    }
    let inside = |p: &Path| {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let dir = real(&settings.output_dir);
        p.parent()
            .is_some_and(|parent| real(parent).starts_with(&dir))
    };
    for (what, path) in [
        ("the state file", &settings.state_file),
        ("the config file", &settings.config_path),
    ] {
        if inside(path) {
            out.push(format!(
                "{what} {} is inside output_dir {}; `feedloom serve` never serves it, but a static web server pointed at the folder would: keep it elsewhere",
                path.display(),
                settings.output_dir.display()
            ));
        }
    }
    out
}

/// `line L, column C` of a byte offset (both from 1; columns in characters).
fn place_of(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, l)| l)
        .chars()
        .count()
        + 1;
    format!("line {line}, column {column}")
}

/// For "unknown field `timezon`, expected one of `name`, ...": the known
/// key nearest the typo, when one is close enough to be what was meant.
fn did_you_mean(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (typo, expected) = rest.split_once('`')?;
    let (distance, known) = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|known| (strsim::damerau_levenshtein(typo, known), known))
        .min()?;
    (distance <= 2.max(typo.chars().count() / 3)).then_some((typo, known))
}

/// A hint for the commonest syntax mistakes toml reports.
fn syntax_fix(message: &str) -> &'static str {
    if message.contains("unknown field") {
        "; remove the key or correct its spelling (the README lists every key)"
    } else if message.contains("missing field") {
        "; add the key"
    } else if message.contains("invalid type") {
        "; check the value's type (strings need quotes, lists need [ ])"
    } else {
        ""
    }
}

const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// The accepted range of each duration key (the README lists them): wide
/// enough for any real use, narrow enough that no arithmetic on them can
/// overflow.
fn duration_range(key: &str) -> (Duration, Duration) {
    let (s, m, h) = (
        Duration::from_secs(1),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    match key {
        "settings.timeout" => (s, h),
        "settings.connect_timeout" => (s, 10 * m),
        "settings.max_backoff" => (m, days(365)),
        "settings.publish_delay" | "source.delay" => (Duration::ZERO, h),
        "settings.retention.max_age" => (h, days(36_500)),
        // settings.interval, source.interval
        _ => (s, days(365)),
    }
}

/// The accepted range of each count key (the README lists them).
fn count_range(key: &str) -> (usize, usize) {
    match key {
        "settings.per_host" => (1, 256),
        "settings.concurrency" => (1, 4096),
        "settings.max_response_size" => (1024, 4 << 30),
        "settings.max_depth" => (8, 100_000),
        "settings.max_field_size" => (1024, 1 << 30),
        "settings.retention.max_items" => (1, 100_000_000),
        "source.select.max_pages" => (1, 1000),
        "output.page_items" => (1, 100_000),
        // max_items (settings, output, source), max_entries
        _ => (1, 10_000_000),
    }
}

struct Validator<'a> {
    text: &'a str,
    base_dir: PathBuf,
    problems: Vec<String>,
}

impl Validator<'_> {
    fn problem<T>(&mut self, at: &Spanned<T>, key: &str, what: impl fmt::Display) {
        let offset = at.span().start;
        let place = place_of(self.text, offset);
        let key = self.located_key(offset, key);
        self.problems.push(format!("{place}: key `{key}`: {what}"));
    }

    /// `key` (`source.select.item`) with the index of the block it is in
    /// (`source[3].select.item`), read off the text at `offset`.
    fn located_key(&self, offset: usize, key: &str) -> String {
        let Some(path) = key_path_at(self.text, offset) else {
            return key.to_owned();
        };
        let unindexed = |p: &str| {
            let mut out = String::new();
            let mut skipping = false;
            for c in p.chars() {
                match c {
                    '[' => skipping = true,
                    ']' => skipping = false,
                    _ if !skipping => out.push(c),
                    _ => {}
                }
            }
            out
        };
        if unindexed(&path) == key {
            return path;
        }
        // Same block, another key (a problem about `path` found on `name`).
        let Some((table, _)) = path.rsplit_once('.') else {
            return key.to_owned();
        };
        match key.strip_prefix(&unindexed(table)) {
            Some(rest) if rest.starts_with('.') => format!("{table}{rest}"),
            _ => key.to_owned(),
        }
    }

    fn duration(&mut self, value: &Spanned<String>, key: &str) -> Option<Duration> {
        let (least, most) = duration_range(key);
        match humantime::parse_duration(value.get_ref().trim()) {
            Ok(d) if d >= least && d <= most => Some(d),
            Ok(_) => {
                self.problem(
                    value,
                    key,
                    format_args!(
                        "`{}` is out of range: use from {} to {}",
                        value.get_ref().trim(),
                        humantime::format_duration(least),
                        humantime::format_duration(most)
                    ),
                );
                None
            }
            Err(e) => {
                self.problem(
                    value,
                    key,
                    format_args!(
                        "`{}` is not a duration ({e}); write e.g. \"90s\", \"15m\", \"2h\" or \"30d\"",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn zone(&mut self, tz: &Spanned<String>, key: &str) -> Tz {
        tz.get_ref().parse::<Tz>().unwrap_or_else(|_| {
            self.problem(
                tz,
                key,
                format_args!("`{}` is not a time zone; use an IANA name such as \"Europe/Berlin\" or \"UTC\"", tz.get_ref()),
            );
            Tz::UTC
        })
    }

    fn count(&mut self, value: &Spanned<i64>, key: &str) -> Option<usize> {
        let (least, most) = count_range(key);
        match usize::try_from(*value.get_ref()) {
            Ok(n) if (least..=most).contains(&n) => Some(n),
            _ => {
                self.problem(
                    value,
                    key,
                    format_args!(
                        "`{}` is out of range: use a whole number from {least} to {most}",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn url(&mut self, value: &Spanned<String>, key: &str) -> Option<Url> {
        match Url::parse(value.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            Ok(u) => {
                self.problem(
                    value,
                    key,
                    format_args!(
                        "`{}` uses scheme `{}`; use an http:// or https:// URL (for local files use `path`)",
                        value.get_ref(),
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                self.problem(
                    value,
                    key,
                    format_args!(
                        "`{}` is not a valid URL ({e}); write a full URL such as \"https://example.org/feed.xml\"",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn regex(&mut self, value: Option<&Spanned<String>>, key: &str) -> Option<Regex> {
        let value = value?;
        match Regex::new(value.get_ref()) {
            Ok(re) => Some(re),
            Err(e) => {
                let first = e.to_string().lines().last().unwrap_or_default().to_owned();
                self.problem(
                    value,
                    key,
                    format_args!(
                        "`{}` is not a valid regex ({}); escape special characters with \\\\",
                        value.get_ref(),
                        first.trim()
                    ),
                );
                None
            }
        }
    }

    fn patterns(&mut self, raw: Option<&RawFilter>, key: &str) -> FieldPatterns {
        let Some(raw) = raw else {
            return FieldPatterns::default();
        };
        FieldPatterns {
            title: self.regex(raw.title.as_ref(), &format!("{key}.title")),
            content: self.regex(raw.content.as_ref(), &format!("{key}.content")),
            author: self.regex(raw.author.as_ref(), &format!("{key}.author")),
            category: self.regex(raw.category.as_ref(), &format!("{key}.category")),
        }
    }

    fn path(&self, value: &str) -> PathBuf {
        let p = Path::new(value);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.base_dir.join(p)
        }
    }

    fn settings(&mut self, raw: &RawConfig, config_path: &Path) -> Settings {
        let s = &raw.settings;
        let output_dir = self.path(s.output_dir.as_ref().map_or("output", |v| v.get_ref()));
        let state_file = self.path(
            s.state_file
                .as_ref()
                .map_or("state/feedloom.db", |v| v.get_ref()),
        );
        // The user agent names feedloom and, when given, who to contact.
        let user_agent = s.user_agent.as_ref().map_or_else(
            || match &s.contact {
                Some(contact) => format!(
                    "feedloom/{} (feed aggregator; +{})",
                    env!("CARGO_PKG_VERSION"),
                    contact.trim()
                ),
                None => DEFAULT_USER_AGENT.to_owned(),
            },
            |v| v.get_ref().clone(),
        );
        let connect_timeout = s
            .connect_timeout
            .as_ref()
            .and_then(|v| self.duration(v, "settings.connect_timeout"))
            .unwrap_or(Duration::from_secs(10));
        let per_host = s
            .per_host
            .as_ref()
            .and_then(|v| self.count(v, "settings.per_host"))
            .unwrap_or(2);
        let max_backoff = s
            .max_backoff
            .as_ref()
            .and_then(|v| self.duration(v, "settings.max_backoff"))
            .unwrap_or(Duration::from_hours(24));
        let publish_delay = s
            .publish_delay
            .as_ref()
            .and_then(|v| self.duration(v, "settings.publish_delay"))
            .unwrap_or(Duration::from_secs(2));
        let timeout = s
            .timeout
            .as_ref()
            .and_then(|v| self.duration(v, "settings.timeout"))
            .unwrap_or(Duration::from_secs(30));
        let concurrency = s
            .concurrency
            .as_ref()
            .and_then(|v| self.count(v, "settings.concurrency"))
            .unwrap_or(16);
        let interval = s
            .interval
            .as_ref()
            .and_then(|v| self.duration(v, "settings.interval"))
            .unwrap_or(Duration::from_mins(30));
        let default_max_items = s
            .max_items
            .as_ref()
            .and_then(|v| self.count(v, "settings.max_items"))
            .unwrap_or(200);
        let max_response_size = s
            .max_response_size
            .as_ref()
            .and_then(|v| self.count(v, "settings.max_response_size"))
            .unwrap_or(10 * 1024 * 1024) as u64;
        let defaults = Limits::default();
        let limits = Limits {
            max_depth: s
                .max_depth
                .as_ref()
                .and_then(|v| self.count(v, "settings.max_depth"))
                .unwrap_or(defaults.max_depth),
            max_entries: s
                .max_entries
                .as_ref()
                .and_then(|v| self.count(v, "settings.max_entries"))
                .unwrap_or(defaults.max_entries),
            max_field_size: s
                .max_field_size
                .as_ref()
                .and_then(|v| self.count(v, "settings.max_field_size"))
                .unwrap_or(defaults.max_field_size),
        };
        let database_url = match std::env::var("FEEDLOOM_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
            _ => s.database_url.as_ref().and_then(|v| {
                let url = v.get_ref().trim();
                if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                    Some(url.to_owned())
                } else {
                    self.problem(
                        v,
                        "settings.database_url",
                        format_args!("must be a PostgreSQL URL (postgres://user@host/database)"),
                    );
                    None
                }
            }),
        };
        let public_url = s
            .public_url
            .as_ref()
            .and_then(|v| self.url(v, "settings.public_url"))
            .map_or_else(
                || Url::parse("http://127.0.0.1:8080/").expect("static"),
                with_trailing_slash,
            );
        let retention = Retention {
            max_age: s
                .retention
                .as_ref()
                .and_then(|r| r.max_age.as_ref())
                .and_then(|v| self.duration(v, "settings.retention.max_age"))
                .unwrap_or(Duration::from_hours(8760)),
            max_items: s
                .retention
                .as_ref()
                .and_then(|r| r.max_items.as_ref())
                .and_then(|v| self.count(v, "settings.retention.max_items"))
                .unwrap_or(1000),
        };

        let min_date = s.min_date.as_ref().map_or_else(default_min_date, |v| {
            let text = v.get_ref().trim();
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
                .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|d| d.to_utc()))
                .unwrap_or_else(|| {
                    self.problem(
                        v,
                        "settings.min_date",
                        format_args!("`{text}` is not a date; write e.g. \"1990-01-01\""),
                    );
                    default_min_date()
                })
        });
        let sources = self.sources(&raw.source, interval, min_date);
        let websub_hub = s
            .websub_hub
            .as_ref()
            .and_then(|v| self.url(v, "settings.websub_hub"));
        let outputs = self.outputs(
            &raw.output,
            &sources,
            default_max_items,
            websub_hub.as_ref(),
            &public_url,
        );
        Settings {
            config_path: config_path.to_owned(),
            fingerprint: String::new(),
            output_dir,
            state_file,
            database_url,
            user_agent,
            timeout,
            connect_timeout,
            concurrency,
            per_host,
            max_backoff,
            publish_delay,
            allow_private: s.allow_private.unwrap_or(false),
            max_response_size,
            limits,
            public_url,
            retention,
            outputs,
            sources,
        }
    }

    fn sources(
        &mut self,
        raw: &[Spanned<RawSource>],
        default_interval: Duration,
        min_date: DateTime<Utc>,
    ) -> Vec<SourceConfig> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for spanned in raw {
            let r = spanned.get_ref();
            let name = r.name.get_ref().trim().to_owned();
            if name.is_empty() {
                self.problem(&r.name, "source.name", "must not be empty");
            } else if !seen.insert(name.clone()) {
                self.problem(
                    &r.name,
                    "source.name",
                    format_args!(
                        "`{name}` is used by another source; give each source its own name"
                    ),
                );
            }
            let kind = self.kind(r, &name);
            let location = match (&r.url, &r.path) {
                (Some(url), None) => self.url(url, "source.url").map(Location::Url),
                (None, Some(path)) => Some(Location::Path(self.path(path.get_ref()))),
                (Some(url), Some(_)) => {
                    self.problem(
                        url,
                        "source.url",
                        format_args!("source `{name}` has both `url` and `path`; keep one"),
                    );
                    None
                }
                (None, None) => {
                    self.problem(
                        &r.name,
                        "source.url",
                        format_args!(
                            "source `{name}` needs `url = \"https://…\"` or `path = \"file.xml\"`"
                        ),
                    );
                    None
                }
            };
            let interval = r
                .interval
                .as_ref()
                .and_then(|v| self.duration(v, "source.interval"))
                .unwrap_or(default_interval);
            let schedule = r.schedule.as_ref().and_then(|v| {
                v.get_ref()
                    .parse::<croner::Cron>()
                    .map_err(|e| {
                        self.problem(
                            v,
                            "source.schedule",
                            format_args!(
                                "`{}` is not a cron expression ({e}); write five fields such as \"*/15 * * * *\"",
                                v.get_ref()
                            ),
                        );
                    })
                    .ok()
                    .filter(|cron| {
                        // An expression that never matches (30 February)
                        // would leave the source silently on `interval`.
                        let now = chrono::Utc::now();
                        let horizon = now + chrono::TimeDelta::days(4 * 366);
                        let fires = cron
                            .find_next_occurrence(&now, false)
                            .is_ok_and(|next| next <= horizon);
                        if !fires {
                            self.problem(
                                v,
                                "source.schedule",
                                format_args!(
                                    "`{}` never fires in the next 4 years (a day that does not exist?); check the day-of-month and month fields",
                                    v.get_ref()
                                ),
                            );
                        }
                        fires
                    })
                    .map(Box::new)
            });
            let timezone = r
                .timezone
                .as_ref()
                .map_or(Tz::UTC, |tz| self.zone(tz, "source.timezone"));
            let max_items = r
                .max_items
                .as_ref()
                .and_then(|v| self.count(v, "source.max_items"));
            let filter = Filter {
                include: self.patterns(r.include.as_deref(), "source.include"),
                exclude: self.patterns(r.exclude.as_deref(), "source.exclude"),
            };
            let filter = (!filter.is_empty()).then(|| Box::new(filter));
            let full_text = self.full_text(r, &name);
            if let (Some(kind), Some(location)) = (kind, location) {
                out.push(SourceConfig {
                    name,
                    kind,
                    location,
                    tags: r.tags.clone().unwrap_or_default(),
                    interval,
                    schedule,
                    timezone,
                    max_items,
                    filter,
                    priority: r.priority.unwrap_or(0),
                    full_text,
                    min_date,
                });
            }
        }
        out
    }

    fn selector(&mut self, value: Option<&Spanned<String>>, key: &str) -> Option<FieldSelector> {
        let value = value?;
        match FieldSelector::parse(value.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(value, key, format_args!("{e}; check the CSS syntax"));
                None
            }
        }
    }

    /// `delay`: the least time between two page requests of a source that
    /// reads pages (scrape, and feeds with `full_text`); 1 s by default.
    fn delay(&mut self, r: &RawSource) -> Duration {
        match &r.delay {
            None => Duration::from_secs(1),
            Some(d) => self.duration(d, "source.delay").unwrap_or(Duration::ZERO),
        }
    }

    /// `full_text = true` on a feed source: its item pages are read too.
    fn full_text(&mut self, r: &RawSource, name: &str) -> Option<FullTextConfig> {
        let on = r.full_text.as_ref()?;
        let kind = r.kind.as_ref().map_or("feed", |k| k.get_ref().as_str());
        if kind != "feed" {
            self.problem(
                on,
                "source.full_text",
                format_args!("source `{name}` is kind = \"{kind}\"; `full_text` is for feed sources (a scrape source reads its articles with [source.article])"),
            );
            return None;
        }
        (*on.get_ref()).then(|| FullTextConfig {
            delay: self.delay(r),
        })
    }

    /// The kind-specific part of a source, with its keys checked against the kind.
    fn kind(&mut self, r: &RawSource, name: &str) -> Option<SourceKind> {
        let kind = r.kind.as_ref().map_or("feed", |k| k.get_ref().as_str());
        let misplaced: [(&str, bool, &str); 7] = [
            ("select", r.select.is_some(), "scrape"),
            ("follow_hosts", r.follow_hosts.is_some(), "scrape"),
            ("article", r.article.is_some(), "scrape"),
            ("delay", r.delay.is_some(), "scrape"),
            ("pattern", r.pattern.is_some(), "files"),
            ("recursive", r.recursive.is_some(), "files"),
            ("base_url", r.base_url.is_some(), "files"),
        ];
        // A feed reading its item pages is paced like a scraper.
        let paced_feed = kind == "feed" && r.full_text.as_ref().is_some_and(|f| *f.get_ref());
        for (key, present, owner) in misplaced {
            if present && kind != owner && !(key == "delay" && paced_feed) {
                self.problem(
                    &r.name,
                    &format!("source.{key}"),
                    format_args!(
                        "source `{name}` is kind = \"{kind}\", but `{key}` is for kind = \"{owner}\"; remove it or change the kind"
                    ),
                );
            }
        }
        match kind {
            "feed" => Some(SourceKind::Feed),
            "scrape" => self
                .scrape(r, name)
                .map(|s| SourceKind::Scrape(Box::new(s))),
            "files" => self.files(r, name).map(|f| SourceKind::Files(Box::new(f))),
            other => {
                let at = r
                    .kind
                    .as_ref()
                    .expect("only an explicit kind can be unknown");
                self.problem(
                    at,
                    "source.kind",
                    format_args!(
                        "`{other}` is not a source kind; use \"feed\", \"scrape\" or \"files\""
                    ),
                );
                None
            }
        }
    }

    fn scrape(&mut self, r: &RawSource, name: &str) -> Option<ScrapeConfig> {
        if r.path.is_some() {
            self.problem(
                &r.name,
                "source.path",
                format_args!("scrape source `{name}` reads a web page: give `url`, not `path`"),
            );
        }
        let Some(select) = &r.select else {
            self.problem(
                &r.name,
                "source.select",
                format_args!(
                    "scrape source `{name}` needs a [source.select] table with at least `item = \"CSS selector\"`"
                ),
            );
            return None;
        };
        let sel = select.get_ref();
        if sel.item.is_none() {
            self.problem(
                select,
                "source.select.item",
                "is required: the CSS selector that matches one listing item",
            );
        }
        // Every selector is checked even when `item` is wrong, so one
        // mistake does not hide the next.
        let item = self.selector(sel.item.as_ref(), "source.select.item");
        let select = ListingSelectors {
            item: item.unwrap_or_else(|| FieldSelector::parse("*").expect("static selector")),
            link: self.selector(sel.link.as_ref(), "source.select.link"),
            title: self.selector(sel.title.as_ref(), "source.select.title"),
            date: self.selector(sel.date.as_ref(), "source.select.date"),
            author: self.selector(sel.author.as_ref(), "source.select.author"),
            summary: self.selector(sel.summary.as_ref(), "source.select.summary"),
            image: self.selector(sel.image.as_ref(), "source.select.image"),
            next: self.selector(sel.next.as_ref(), "source.select.next"),
            max_pages: sel
                .max_pages
                .as_ref()
                .and_then(|v| self.count(v, "source.select.max_pages"))
                .unwrap_or(1),
        };
        let article = r.article.as_ref().map(|a| PageSelectors {
            title: self.selector(a.title.as_ref(), "source.article.title"),
            date: self.selector(a.date.as_ref(), "source.article.date"),
            author: self.selector(a.author.as_ref(), "source.article.author"),
            body: self.selector(a.body.as_ref(), "source.article.body"),
            credit: self.selector(a.credit.as_ref(), "source.article.credit"),
            image: self.selector(a.image.as_ref(), "source.article.image"),
            remove: a
                .remove
                .iter()
                .flatten()
                .filter_map(|s| self.selector(Some(s), "source.article.remove"))
                .collect(),
        });
        sel.item.as_ref()?;
        let delay = self.delay(r);
        let follow_hosts = r
            .follow_hosts
            .iter()
            .flatten()
            .filter_map(|h| {
                let host = h.get_ref().trim().trim_end_matches('.').to_ascii_lowercase();
                if host.is_empty() || host.contains(['/', ':', '@', ' ']) {
                    self.problem(
                        h,
                        "source.follow_hosts",
                        format_args!(
                            "`{}` is not a host name; write just the host, e.g. \"cdn.example.net\"",
                            h.get_ref()
                        ),
                    );
                    None
                } else {
                    Some(host)
                }
            })
            .collect();
        Some(ScrapeConfig {
            select,
            article,
            delay,
            follow_hosts,
        })
    }

    fn files(&mut self, r: &RawSource, name: &str) -> Option<FilesConfig> {
        if r.url.is_some() {
            self.problem(
                &r.name,
                "source.url",
                format_args!("files source `{name}` reads a folder: give `path`, not `url`"),
            );
        }
        let pattern = r
            .pattern
            .as_ref()
            .map_or("*.{html,htm,md,markdown,txt}", |p| p.get_ref().as_str());
        let matcher = match globset::GlobBuilder::new(pattern).build() {
            Ok(glob) => glob.compile_matcher(),
            Err(e) => {
                let at = r.pattern.as_ref().expect("the default pattern is valid");
                self.problem(
                    at,
                    "source.pattern",
                    format_args!(
                        "`{pattern}` is not a valid glob ({e}); write e.g. \"*.md\" or \"**/*.{{html,txt}}\""
                    ),
                );
                return None;
            }
        };
        let base_url = r
            .base_url
            .as_ref()
            .and_then(|u| self.url(u, "source.base_url"))
            .map(with_trailing_slash);
        Some(FilesConfig {
            pattern: matcher,
            recursive: r.recursive.unwrap_or(false),
            base_url,
        })
    }

    fn outputs(
        &mut self,
        raw: &[Spanned<RawOutput>],
        sources: &[SourceConfig],
        default_max_items: usize,
        websub_hub: Option<&Url>,
        public_url: &Url,
    ) -> Vec<Output> {
        let known: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for spanned in raw {
            let r = spanned.get_ref();
            let name = r.name.get_ref().trim().to_owned();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                || name.starts_with('.')
            {
                self.problem(
                    &r.name,
                    "output.name",
                    format_args!("`{name}` is used as a file name; use letters, digits, `-`, `_` and `.` only"),
                );
            } else if !seen.insert(name.clone()) {
                self.problem(
                    &r.name,
                    "output.name",
                    format_args!(
                        "`{name}` is used by another output; give each output its own name"
                    ),
                );
            }
            let link = r
                .link
                .as_ref()
                .and_then(|v| self.url(v, "output.link"))
                // Where the output is served: its own page is there.
                .unwrap_or_else(|| public_url.clone());
            let id = match &r.id {
                Some(id) => {
                    if Url::parse(id.get_ref()).is_ok() {
                        id.get_ref().clone()
                    } else {
                        self.problem(id, "output.id", "must be an absolute URI, e.g. \"urn:uuid:…\" or \"https://example.org/feeds/all\"");
                        String::new()
                    }
                }
                // From the link as written, else the address feedloom
                // always derived it from: an id set by an earlier version
                // stays when `public_url` now supplies the link.
                None => derived_feed_id(
                    &name,
                    &r.link.as_ref().map_or_else(
                        || Url::parse("http://127.0.0.1:8080/").expect("static"),
                        |_| link.clone(),
                    ),
                ),
            };
            let mut formats = BTreeSet::new();
            for f in r.formats.iter().flatten() {
                match f.get_ref().as_str() {
                    "rss" => {
                        formats.insert(Format::Rss);
                    }
                    "atom" => {
                        formats.insert(Format::Atom);
                    }
                    "json" => {
                        formats.insert(Format::Json);
                    }
                    "opml" => {
                        formats.insert(Format::Opml);
                    }
                    "html" => {
                        formats.insert(Format::Html);
                    }
                    other => self.problem(
                        f,
                        "output.formats",
                        format_args!(
                            "`{other}` is not a format; use any of \"rss\", \"atom\", \"json\", \"opml\", \"html\""
                        ),
                    ),
                }
            }
            if r.formats.is_none() {
                formats.extend([Format::Rss, Format::Atom, Format::Json]);
            }
            let mut names = BTreeSet::new();
            for s in r.sources.iter().flatten() {
                if known.contains(s.get_ref().as_str()) {
                    names.insert(s.get_ref().clone());
                } else {
                    self.problem(
                        s,
                        "output.sources",
                        format_args!(
                            "no source is named `{}`; use the `name` of a [[source]] block",
                            s.get_ref()
                        ),
                    );
                }
            }
            let max_items = r
                .max_items
                .as_ref()
                .and_then(|v| self.count(v, "output.max_items"))
                .unwrap_or(default_max_items);
            let filter = Filter {
                include: self.patterns(r.include.as_ref(), "output.include"),
                exclude: self.patterns(r.exclude.as_ref(), "output.exclude"),
            };
            let title = r.title.clone().unwrap_or_else(|| name.clone());
            let timezone = r
                .timezone
                .as_ref()
                .map_or(Tz::UTC, |tz| self.zone(tz, "output.timezone"));
            let lang = match &r.lang {
                None => "en".to_owned(),
                Some(l) => {
                    let tag = l.get_ref().trim();
                    let ok = !tag.is_empty()
                        && tag.split('-').all(|part| {
                            (1..=8).contains(&part.len())
                                && part.chars().all(|c| c.is_ascii_alphanumeric())
                        });
                    if !ok {
                        self.problem(l, "output.lang", format_args!("`{tag}` is not a language tag; write e.g. \"en\", \"de\" or \"pt-BR\""));
                    }
                    tag.to_owned()
                }
            };
            let page_items = r
                .page_items
                .as_ref()
                .and_then(|v| self.count(v, "output.page_items"))
                .unwrap_or(DEFAULT_PAGE_ITEMS);
            let template = r.template.as_ref().and_then(|t| {
                let path = self.path(t.get_ref());
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    .and_then(|text| {
                        let name = path.display().to_string();
                        crate::publish::check_template(&name, &text).map(|()| text)
                    });
                match text {
                    Ok(text) => Some(UserTemplate { path, text }),
                    Err(why) => {
                        self.problem(t, "output.template", why);
                        None
                    }
                }
            });
            let hub = match &r.websub_hub {
                Some(v) => self.url(v, "output.websub_hub"),
                None => websub_hub.cloned(),
            };
            out.push(Output {
                timezone,
                lang,
                template,
                page_items,
                websub_hub: hub,
                description: r
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("{title}, merged by feedloom")),
                author: r.author.clone().unwrap_or_else(|| title.clone()),
                title,
                link,
                id,
                formats: formats.into_iter().collect(),
                sources: r.sources.as_ref().map(|_| names),
                tags: r.tags.as_ref().map(|t| t.iter().cloned().collect()),
                max_items,
                filter,
                name,
            });
        }
        out
    }
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// A stable Atom id for an output that does not set one: a name-based UUID,
/// so it never changes while the name and link stay the same.
fn derived_feed_id(name: &str, link: &Url) -> String {
    let key = format!("feedloom-output:{link}:{name}");
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(text, Path::new("/tmp/feeds.toml")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { problems, .. }) => problems,
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn a_blanked_line_of_wide_characters_keeps_later_places() {
        // `tags` must be a list: that line is blanked, and the URL's place
        // below must still be its own (a space per byte, not per character).
        let text = "[[source]]\nname = \"a\"\npath = \"a.xml\"\ntags = \"\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\"\n\n[[source]]\nname = \"b\"\nurl = \"not a url\"\n";
        let p = problems(text);
        assert!(
            p.iter()
                .any(|m| m.starts_with("line 8, column 7: key `source[2].url`")),
            "{p:#?}"
        );
    }

    #[test]
    fn minimal_config_resolves_defaults_and_relative_paths() {
        let s = parse(
            "[[source]]\nname = \"a\"\npath = \"feeds/a.xml\"\n[[output]]\nname = \"all\"\n",
            Path::new("/srv/loom/feeds.toml"),
        )
        .unwrap();
        assert_eq!(s.output_dir, PathBuf::from("/srv/loom/output"));
        assert_eq!(s.state_file, PathBuf::from("/srv/loom/state/feedloom.db"));
        assert_eq!(
            s.sources[0].location,
            Location::Path(PathBuf::from("/srv/loom/feeds/a.xml"))
        );
        assert_eq!(
            s.outputs[0].formats,
            vec![Format::Rss, Format::Atom, Format::Json]
        );
        assert_eq!(s.outputs[0].max_items, 200);
        assert!(s.outputs[0].id.starts_with("urn:uuid:"));
    }

    #[test]
    fn unknown_key_names_its_line() {
        let p = problems("[settings]\noutput_dir = \"o\"\nouptut = 1\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("line 3, column 1:"), "{p:?}");
        assert!(p[0].contains("ouptut"), "{p:?}");
        // Nothing close enough to suggest: no guess.
        assert!(!p[0].contains("did you mean"), "{p:?}");
        let close = problems(
            "[settings]
concurency = 4
",
        );
        assert!(
            close[0].contains("unknown key `concurency`; did you mean `concurrency`?"),
            "{close:?}"
        );
    }

    #[test]
    fn every_mistake_is_reported_with_line_and_key() {
        let text = r#"
[settings]
interval = "often"

[[source]]
name = "a"
url = "not a url"

[[source]]
name = "a"
path = "x.xml"
timezone = "Mars/Olympus"

[[source]]
name = "b"
url = "https://example.org/feed"
include = { title = "(unclosed" }

[[output]]
name = "all"
sources = ["a", "nobody"]
formats = ["rss", "pdf"]
"#;
        let p = problems(text);
        let has = |line: usize, key: &str| {
            p.iter().any(|m| {
                m.starts_with(&format!("line {line}, column "))
                    && m.contains(&format!(": key `{key}`: "))
            })
        };
        assert!(has(3, "settings.interval"), "{p:#?}");
        assert!(has(7, "source[1].url"), "{p:#?}");
        assert!(has(10, "source[2].name"), "{p:#?}");
        assert!(has(12, "source[2].timezone"), "{p:#?}");
        assert!(has(17, "source[3].include.title"), "{p:#?}");
        assert!(has(21, "output[1].sources"), "{p:#?}");
        assert!(has(22, "output[1].formats"), "{p:#?}");
        assert_eq!(p.len(), 7, "{p:#?}");
    }

    #[test]
    fn filter_include_and_exclude() {
        let filter = Filter {
            include: FieldPatterns {
                title: Some(Regex::new("(?i)rust").unwrap()),
                ..FieldPatterns::default()
            },
            exclude: FieldPatterns {
                category: Some(Regex::new("^sponsored$").unwrap()),
                ..FieldPatterns::default()
            },
        };
        let fields = |title, cats: &'static [String]| FilterFields {
            title,
            content: vec![],
            authors: &[],
            categories: cats,
        };
        assert!(filter.accepts(&fields("Rust 2.0 released", &[])));
        assert!(!filter.accepts(&fields("Go 2.0 released", &[])));
        let sponsored: &'static [String] = Box::leak(Box::new(["sponsored".to_owned()]));
        assert!(!filter.accepts(&fields("Rust ad", sponsored)));
    }
}
