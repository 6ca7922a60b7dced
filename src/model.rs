//! The nouns handed between pipeline stages: what a source produced
//! ([`Fetched`]), one normalized [`Article`], and where its date came from.

use chrono::{DateTime, Utc};
use url::Url;

/// Where an article's `published` instant came from, recorded so a reader of
/// the state (and of the JSON Feed) knows how far to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateSource {
    /// The feed entry's published (or, failing that, updated) date.
    Feed,
    /// A page's JSON-LD `datePublished`.
    JsonLd,
    /// A page's `<meta>` tags (`article:published_time`, `dc.date`, ...).
    Meta,
    /// A page's `<time datetime>` element.
    TimeElement,
    /// A date written in the visible text (or a plain-text article's date line).
    Text,
    /// A date in the article's URL path.
    Url,
    /// A configured selector, or a file's front matter.
    Selector,
    /// No usable date: the first time feedloom saw the item.
    #[default]
    FirstSeen,
}

impl DateSource {
    /// The name stored in the state file and published in JSON Feed.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Feed => "feed",
            DateSource::JsonLd => "json-ld",
            DateSource::Meta => "meta",
            DateSource::TimeElement => "time-element",
            DateSource::Text => "text",
            DateSource::Url => "url",
            DateSource::Selector => "selector",
            DateSource::FirstSeen => "first-seen",
        }
    }

    /// The inverse of [`DateSource::as_str`]; unknown names read as first-seen.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s {
            "feed" => DateSource::Feed,
            "json-ld" => DateSource::JsonLd,
            "meta" => DateSource::Meta,
            "time-element" => DateSource::TimeElement,
            "text" => DateSource::Text,
            "url" => DateSource::Url,
            "selector" => DateSource::Selector,
            _ => DateSource::FirstSeen,
        }
    }
}

/// One normalized article, as every source kind produces it.
///
/// Text fields are final: `title` is plain text, `summary` and `content` are
/// sanitized HTML with absolute URLs, `link` is canonical.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Article {
    /// The source's own id for the entry (RSS guid, Atom id, JSON id), if it
    /// gave one. Used to recognise the entry on the next fetch.
    pub guid: Option<String>,
    /// Canonical absolute link to the original article.
    pub link: Option<Url>,
    /// The same link byte for byte as the publisher wrote it (tracking
    /// parameters removed), where that differs from `link`'s serialization
    /// (an IRI with non-ASCII characters, an upper-case host): what is
    /// published and matched. `None`: `link` as serialized.
    pub link_text: Option<String>,
    /// Plain-text title (may be empty: some feeds have none).
    pub title: String,
    /// Sanitized HTML summary.
    pub summary: Option<String>,
    /// Sanitized HTML body.
    pub content: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// The first author's e-mail address, where the source gave one
    /// (RSS `<author>` needs one; Atom has a place for it).
    pub author_email: Option<String>,
    /// Category names.
    pub categories: Vec<String>,
    /// Credit line (photo or source credit), plain text.
    pub credit: Option<String>,
    /// Lead image.
    pub image: Option<Url>,
    /// Media files the item carries (a podcast's audio), in the source's
    /// order: RSS publishes the first, Atom and JSON Feed all of them.
    pub enclosures: Vec<Enclosure>,
    /// When it was published; `None` until the store fills in first-seen.
    pub published: Option<DateTime<Utc>>,
    /// When it was last updated, if the source says.
    pub updated: Option<DateTime<Utc>>,
    /// Where `published` came from.
    pub date_source: DateSource,
}

impl Article {
    /// The link as it is published: [`Article::link_text`], else `link`.
    #[must_use]
    pub fn link_str(&self) -> Option<&str> {
        self.link_text
            .as_deref()
            .or_else(|| self.link.as_ref().map(Url::as_str))
    }

    /// The key that recognises this entry within its source across fetches:
    /// the source's guid, else the canonical link, else a hash of its text.
    /// Why this order: guids are the source's promise of identity; links
    /// change less than titles; a content hash is the last resort for
    /// entries that have neither.
    #[must_use]
    pub fn source_key(&self) -> String {
        if let Some(guid) = &self.guid {
            return format!("guid:{guid}");
        }
        if let Some(link) = &self.link {
            return format!("link:{link}");
        }
        format!(
            "hash:{}",
            crate::normalize::link::digest(&[
                &self.title,
                self.summary.as_deref().unwrap_or_default(),
                self.content.as_deref().unwrap_or_default(),
            ])
        )
    }
}

/// One media file of an item: RSS `<enclosure>`, Atom `rel="enclosure"`,
/// JSON Feed `attachments`, `media:content`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enclosure {
    /// Absolute URL, as the source wrote it.
    pub url: String,
    /// Size in bytes, where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// MIME type (`audio/mpeg`), where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Duration in seconds, where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}

/// What the source says about itself, kept for attribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMeta {
    /// The feed's own title.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_link: Option<Url>,
    /// The feed's own id (Atom id), used in Atom `<source>`.
    pub feed_id: Option<String>,
    /// The feed's own address (its `rel="self"` link), published as the
    /// source's feed URL where the source was read from disk.
    pub self_link: Option<Url>,
}

/// HTTP validators for the next conditional GET (or a content hash for local files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` as the server sent it.
    pub etag: Option<String>,
    /// `Last-Modified` as the server sent it.
    pub last_modified: Option<String>,
}

/// What reading one item's page gave, for a feed with `full_text = true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullText {
    /// The item's link, as stored.
    pub link: String,
    /// The article's body (sanitized HTML); `None` when the page failed.
    pub body: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// One source's result for this cycle.
// One value per source per cycle, moved once: boxing the big variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Fetched {
    /// New content: its articles (normalized) and what to send next time.
    Updated {
        /// The articles, newest first as far as the source ordered them.
        articles: Vec<Article>,
        /// Each article's raw-entry digest, beside it (stored, so the entry
        /// is only touched when it is listed again unchanged).
        digests: Vec<Option<String>>,
        /// The feed's own description of itself.
        meta: SourceMeta,
        /// Validators for the next request.
        validators: Validators,
        /// Keys of entries still listed but not read again.
        unchanged: Vec<String>,
        /// How many items the source listed.
        listed: usize,
        /// Where a permanent redirect sent the source.
        moved: Option<Url>,
        /// Item pages read for `full_text`: what each gave.
        full_text: Vec<FullText>,
    },
    /// 304 Not Modified (or an unchanged local file): keep what we have.
    NotModified,
}
