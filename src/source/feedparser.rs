//! feedparser-rs's model into [`RawEntry`] values: the main reader of every
//! feed format (it follows Python feedparser: RSS 0.9x/1.0/2.0 with or
//! without namespaces, Atom 0.3/1.0, JSON Feed, Dublin Core, iTunes and
//! Media RSS fallbacks).
//!
//! It is asked not to resolve relative URLs and not to sanitize: both are
//! done here and in normalization, with the bases the issue of fidelity
//! asks for (`xml:base` wherever it stands, then the channel link, then the
//! document URL; never a local path) and one sanitizer for every source.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use feedparser_rs::{Entry, ParsedFeed, Person, TextConstruct, TextType};
use url::Url;

use super::policy::is_web;
use super::prepare::Hints;
use crate::config::{Limits, SourceConfig};
use crate::model::{Article, DateSource, Enclosure, SourceMeta};
use crate::normalize::{RawEntry, date, link, sanitize};

/// Parses `text` (already UTF-8, entities already expanded).
///
/// # Errors
/// feedparser-rs's message when it cannot read the document at all.
pub fn read(text: &str, limits: &Limits) -> Result<ParsedFeed, String> {
    let options = feedparser_rs::ParseOptions {
        resolve_relative_uris: false,
        sanitize_html: false,
        limits: feedparser_rs::ParserLimits {
            // One more than allowed, so "too many" is ours to report.
            max_entries: limits.max_entries.saturating_add(1),
            max_nesting_depth: limits.max_depth,
            max_text_length: limits.max_field_size.saturating_mul(4).max(1 << 20),
            max_feed_size_bytes: usize::MAX,
            ..feedparser_rs::ParserLimits::default()
        },
    };
    feedparser_rs::parse_with_options(text.as_bytes(), &options).map_err(|e| e.to_string())
}

/// Whether feedparser-rs found a feed at all (a known version, or entries).
#[must_use]
pub fn recognised(feed: &ParsedFeed) -> bool {
    !feed.entries.is_empty() || feed.version != feedparser_rs::FeedVersion::Unknown
}

/// The feed as feedloom's entries. `location` is the document's URL;
/// `hints` are [`super::prepare::scan`]'s, used when they line up with the
/// entries.
#[must_use]
pub fn adapt(
    feed: ParsedFeed,
    location: &Url,
    scan: &super::prepare::Scan,
    source: &SourceConfig,
) -> (SourceMeta, Vec<RawEntry>) {
    let hints = &scan.entries;
    // A document read from disk has no address relative links could mean.
    let document = scan
        .feed_base
        .as_ref()
        .or(Some(location))
        .filter(|l| is_web(l));
    let channel = feed
        .feed
        .link
        .as_deref()
        .and_then(|l| link::resolve(&attribute_text(l), document))
        .filter(is_web);
    let fallback_base = channel.clone().or_else(|| document.cloned());
    let self_link = feed
        .feed
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("self"))
        .find_map(|l| link::resolve(&attribute_text(&l.href), fallback_base.as_ref()))
        .filter(is_web);
    let meta = SourceMeta {
        title: feed
            .feed
            .title_detail
            .as_ref()
            .map(text_of)
            .or_else(|| feed.feed.title.clone())
            .filter(|t| !t.trim().is_empty()),
        site_link: channel.clone(),
        feed_id: feed
            .feed
            .id
            .clone()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty()),
        self_link,
    };
    let feed_authors: Vec<Person> = feed.feed.authors.clone();
    let lined_up = hints.len() == feed.entries.len();
    let entries = feed
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            let hint = if lined_up { hints.get(i) } else { None };
            entry(&mut e, hint, fallback_base.as_ref(), &feed_authors, source)
        })
        .collect();
    (meta, entries)
}

/// A URL as the publisher meant it: feedparser-rs hands out Atom `href`
/// attributes with their XML escapes still in (`?a=1&amp;b=2`).
fn attribute_text(href: &str) -> Cow<'_, str> {
    if href.contains('&') {
        quick_xml::escape::unescape(href).unwrap_or(Cow::Borrowed(href))
    } else {
        Cow::Borrowed(href)
    }
}

/// A text construct's value: plain text as written, HTML made text later
/// (normalization keeps every element's text).
fn text_of(t: &TextConstruct) -> String {
    t.value.clone()
}

/// Whether a title typed as HTML really holds markup: RSS titles are typed
/// HTML whatever they hold, and `Item <!-- Title` or `a <tag> b` in one is
/// text, not a comment or an element that would swallow words.
fn looks_like_markup(text: &str) -> bool {
    static MARKUP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)</?(a|abbr|b|big|br|cite|code|del|em|font|i|img|ins|kbd|mark|p|q|s|small|span|strike|strong|sub|sup|tt|u|var)(\s[^<>]*)?/?>|&(#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);",
        )
        .expect("static regex")
    });
    MARKUP.is_match(text)
}

/// `e` is the parser's entry, consumed: its body is moved out, not copied.
fn entry(
    e: &mut Entry,
    hint: Option<&Hints>,
    fallback_base: Option<&Url>,
    feed_authors: &[Person],
    source: &SourceConfig,
) -> RawEntry {
    // xml:base wherever it stands, else the channel link, else the document.
    let base = hint
        .and_then(|h| h.base.clone())
        .or_else(|| fallback_base.cloned());
    let resolve = |href: &str| link::resolve(&attribute_text(href), base.as_ref()).filter(is_web);
    let guid =
        e.id.as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned);
    // feedparser-rs turns a guid into a link even when the guid is no
    // address ("post-17" → channel link + "post-17"): such a link was never
    // the publisher's.
    let from_guid = |l: &Url| {
        guid.as_deref().is_some_and(|g| {
            !g.starts_with("http://")
                && !g.starts_with("https://")
                && resolve(g).is_some_and(|r| r == *l)
        })
    };
    let hrefs: Vec<&str> = e
        .links
        .iter()
        .filter(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .map(|l| l.href.as_str())
        .chain(e.link.as_deref())
        .chain(hint.and_then(|h| h.raw_link.as_deref()))
        .collect();
    let chosen = hrefs
        .iter()
        .find_map(|h| resolve(h).filter(|l| !from_guid(l)).map(|l| (*h, l)));
    // An absolute link is published as written (an IRI stays an IRI).
    let link_text = chosen.as_ref().and_then(|(raw, _)| {
        let raw = attribute_text(raw.trim()).into_owned();
        link::publishable_as_written(&raw).then_some(raw)
    });
    let link = chosen
        .map(|(_, l)| l)
        .or_else(|| hint.and_then(|h| h.atom_link.as_deref()).and_then(resolve))
        .or_else(|| {
            // An RSS guid is a permalink unless it says otherwise.
            guid.as_deref()
                .filter(|_| e.guidislink != Some(false))
                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
                .and_then(|g| link::resolve(g, None))
        });
    let atom = hint.map(|h| &h.atom);
    let (mut title, title_is_html) = match (&e.title_detail, atom.and_then(|a| a.title.clone())) {
        (Some(t), _) => {
            let html = !matches!(t.content_type, TextType::Text) && looks_like_markup(&t.value);
            (t.value.clone(), html)
        }
        (None, Some(atom_title)) => {
            let html = looks_like_markup(&atom_title);
            (atom_title, html)
        }
        (None, None) => (e.title.clone().unwrap_or_default(), false),
    };
    if title.trim().is_empty() && link.is_none() {
        // A relative link with nothing to resolve it against (a local
        // file): the entry is still there; its link text names it.
        if let Some(raw) = e.link.as_deref().filter(|l| !l.trim().is_empty()) {
            raw.trim().clone_into(&mut title);
        }
    }
    let summary = e
        .summary_detail
        .as_ref()
        .map(|t| html_of(&t.value, t.content_type))
        .or_else(|| e.summary.clone().map(|s| as_html(&s)))
        .or_else(|| atom.and_then(|a| a.summary.as_deref()).map(as_html))
        .or_else(|| {
            e.itunes
                .as_ref()
                .and_then(|i| i.summary.as_deref().or(i.subtitle.as_deref()))
                .map(sanitize::escape_html)
        });
    let content = e
        .content
        .iter_mut()
        .find(|c| c.value.trim() != "")
        .map(|c| {
            let mime = c.content_type.as_deref().unwrap_or("text/html");
            if mime.contains("html") || mime.contains("xml") {
                std::mem::take(&mut c.value)
            } else {
                sanitize::escape_html(&c.value)
            }
        })
        .or_else(|| hint.and_then(|h| h.body.clone()))
        .or_else(|| atom.and_then(|a| a.content.as_deref()).map(as_html));
    let (authors, author_email) = authors_of(e, feed_authors);
    let (enclosures, enclosure_image) = enclosures(e, &resolve);
    let image = e
        .media_thumbnail
        .iter()
        .find_map(|t| resolve(&t.url))
        .or_else(|| {
            e.itunes
                .as_ref()
                .and_then(|i| i.image.as_deref())
                .and_then(resolve)
        })
        .or(enclosure_image);
    let credit = e
        .media_credit
        .iter()
        .map(|c| c.content.trim())
        .find(|c| !c.is_empty())
        .map(str::to_owned);
    let tz = source.timezone;
    // Our own date reading first: it knows the source's zone for dates
    // written without an offset; feedparser-rs's reading is the fallback.
    let when = |raw: Option<&str>, parsed: Option<DateTime<Utc>>| {
        raw.and_then(|r| date::parse(r, tz)).or(parsed)
    };
    let published = when(e.published_str.as_deref(), e.published)
        .or(e.dc_date)
        .or_else(|| when(e.created_str.as_deref(), e.created))
        .or_else(|| {
            atom.and_then(|a| a.published.as_deref())
                .and_then(|d| date::parse(d, tz))
        });
    let updated = when(e.updated_str.as_deref(), e.updated).or_else(|| {
        atom.and_then(|a| a.updated.as_deref())
            .and_then(|d| date::parse(d, tz))
    });
    // Links inside the item's HTML: its own xml:base, else the item's
    // link, else the channel link, else the document.
    let content_base = hint
        .and_then(|h| h.content_base.clone().or_else(|| h.base.clone()))
        .or_else(|| link.clone())
        .or_else(|| base.clone());
    let article = Article {
        guid,
        link_text: link_text.filter(|_| link.is_some()),
        link,
        title,
        summary,
        content,
        authors,
        author_email,
        categories: e
            .tags
            .iter()
            .map(|t| {
                t.label
                    .as_deref()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or(&t.term)
                    .to_string()
            })
            .filter(|c| !c.trim().is_empty())
            .collect(),
        credit,
        image,
        enclosures,
        published,
        updated,
        date_source: DateSource::Feed,
    };
    RawEntry {
        article,
        base: content_base,
        origins: Vec::new(),
        title_is_html,
    }
}

/// The entry's author names and the first e-mail address: its Atom
/// persons, else its RSS `<author>` (`jo@example.org (Jo Writer)`),
/// `dc:creator` or `itunes:author`, else the feed's authors.
fn authors_of(e: &Entry, feed_authors: &[Person]) -> (Vec<String>, Option<String>) {
    let people: Vec<&Person> = if !e.authors.is_empty() {
        e.authors.iter().collect()
    } else if let Some(p) = &e.author_detail {
        vec![p]
    } else {
        Vec::new()
    };
    let mut authors: Vec<String> = people
        .iter()
        .filter_map(|p| p.name.as_deref().map(str::to_owned))
        .collect();
    let mut author_email = people
        .iter()
        .find_map(|p| p.email.as_deref().map(str::to_owned));
    if authors.is_empty() {
        let named = e
            .author
            .as_deref()
            .or(e.dc_creator.as_deref())
            .or_else(|| e.itunes.as_ref().and_then(|i| i.author.as_deref()))
            .map(str::trim)
            .filter(|a| !a.is_empty());
        if let Some(named) = named {
            let (name, email) = split_rfc822_author(named);
            if let Some(name) = name {
                authors.push(name);
            }
            author_email = author_email.or(email);
        }
    }
    if authors.is_empty() && author_email.is_none() {
        authors = feed_authors
            .iter()
            .filter_map(|p| p.name.as_deref().map(str::to_owned))
            .collect();
    }
    (authors, author_email)
}

/// The item's media files (enclosures, then Media RSS content not already
/// listed), and an image marked as the item's picture (JSON Feed `image`).
fn enclosures(e: &Entry, resolve: &dyn Fn(&str) -> Option<Url>) -> (Vec<Enclosure>, Option<Url>) {
    let mut out: Vec<Enclosure> = Vec::new();
    let mut image = None;
    let number = |s: Option<&str>| s.and_then(|v| v.trim().parse::<u64>().ok());
    for enc in &e.enclosures {
        let Some(url) = resolve(&enc.url) else {
            continue;
        };
        let mime = enc.enclosure_type.as_deref().map(str::to_owned);
        // feedparser-rs gives a JSON Feed item's `image` as an enclosure
        // typed "image/*": it is the item's picture, not an attachment.
        if mime.as_deref() == Some("image/*") {
            image = image.or(Some(url));
            continue;
        }
        let duration = number(enc.duration.as_deref()).or_else(|| {
            e.itunes
                .as_ref()
                .and_then(|i| i.duration.as_deref())
                .and_then(duration_seconds)
        });
        out.push(Enclosure {
            url: url.to_string(),
            length: number(enc.length.as_deref()),
            mime,
            duration,
        });
    }
    for media in &e.media_content {
        let Some(url) = resolve(&media.url) else {
            continue;
        };
        let mime = media.content_type.as_deref().map(str::to_owned);
        let is_image = media.medium.as_deref() == Some("image")
            || mime.as_deref().is_some_and(|m| m.starts_with("image/"));
        if is_image {
            image = image.or(Some(url));
            continue;
        }
        if out.iter().any(|o| o.url == url.as_str()) {
            continue;
        }
        out.push(Enclosure {
            url: url.to_string(),
            length: number(media.filesize.as_deref()),
            mime,
            duration: None,
        });
    }
    (out, image)
}

/// An iTunes duration (`3600`, `59:30`, `1:02:03`) in seconds.
fn duration_seconds(text: &str) -> Option<u64> {
    text.trim().split(':').try_fold(0u64, |acc, part| {
        let n: u64 = part.trim().parse().ok()?;
        acc.checked_mul(60)?.checked_add(n)
    })
}

/// A text construct as HTML: HTML and XHTML as they are, plain text escaped.
fn html_of(value: &str, kind: TextType) -> String {
    match kind {
        TextType::Text => sanitize::escape_html(value),
        TextType::Html | TextType::Xhtml => value.to_owned(),
    }
}

/// Text of unknown type: kept as HTML when it holds markup, else escaped.
fn as_html(value: &str) -> String {
    if looks_like_markup(value) || value.contains('<') {
        value.to_owned()
    } else {
        sanitize::escape_html(value)
    }
}

/// RSS's author forms: `jo@example.org (Jo Writer)`, `Jo Writer
/// <jo@example.org>`, a bare address, or just a name.
#[must_use]
pub fn split_rfc822_author(text: &str) -> (Option<String>, Option<String>) {
    let text = text.trim();
    let is_email = |s: &str| {
        let s = s.trim().trim_start_matches("mailto:");
        s.contains('@') && !s.contains(char::is_whitespace)
    };
    if let (Some(open), Some(close)) = (text.find('('), text.rfind(')'))
        && open < close
        && is_email(&text[..open])
    {
        let name = text[open + 1..close].trim();
        return (
            Some(name.to_owned()).filter(|n| !n.is_empty()),
            Some(text[..open].trim().trim_start_matches("mailto:").to_owned()),
        );
    }
    if let (Some(open), Some(close)) = (text.find('<'), text.rfind('>'))
        && open < close
        && is_email(&text[open + 1..close])
    {
        let name = text[..open].trim().trim_matches('"').trim();
        return (
            Some(name.to_owned()).filter(|n| !n.is_empty()),
            Some(text[open + 1..close].trim().to_owned()),
        );
    }
    if is_email(text) {
        return (None, Some(text.trim_start_matches("mailto:").to_owned()));
    }
    (Some(text.to_owned()), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc822_authors_keep_name_and_address() {
        let s = |t: &str| split_rfc822_author(t);
        assert_eq!(
            s("me@example.org (Me Myself)"),
            (Some("Me Myself".into()), Some("me@example.org".into()))
        );
        assert_eq!(
            s("Me Myself <me@example.org>"),
            (Some("Me Myself".into()), Some("me@example.org".into()))
        );
        assert_eq!(s("me@example.org"), (None, Some("me@example.org".into())));
        assert_eq!(s("Just A Name"), (Some("Just A Name".into()), None));
    }

    #[test]
    fn only_real_markup_makes_a_title_html() {
        assert!(!looks_like_markup("Item <!-- Title"));
        assert!(!looks_like_markup("self-closing <tag/> and <tag>"));
        assert!(looks_like_markup("Test: <b>bold</b>"));
        assert!(looks_like_markup("caf&eacute;"));
        assert_eq!(duration_seconds("1:02:03"), Some(3723));
        assert_eq!(duration_seconds("59:30"), Some(3570));
        assert_eq!(duration_seconds("soon"), None);
    }
}
