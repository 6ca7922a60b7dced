//! The `feed` source kind: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed
//! bytes into [`RawEntry`] values.
//!
//! Two parsers read feeds. feedparser-rs ([`super::feedparser`]) reads
//! first: it follows Python feedparser, which is what subscribers' readers
//! agree with (on the public corpus, alone, it matched feedparser's entry
//! counts on 97–100% of the files of seven suites in nine, feed-rs on
//! 76–100%; the two together, as here, on 97.4–100% of every suite). Where it finds no
//! entries or reports the document broken, feed-rs reads it too, with the
//! repairs below, and the reading with more entries wins: feed-rs's strict
//! XML reading is the better one for some broken documents and for Atom
//! with a prefixed namespace.
//!
//! feed-rs's known gaps are closed here: it refuses `<rss>` roots whose
//! version it does not know (we retry as 2.0), it invents random ids for
//! entries without link and title (we ask it for no id and derive stable
//! keys ourselves), and it reads naive dates as UTC (we hand it our date
//! parser with the source's zone).

use feed_rs::model::{Entry, Feed, Link, Person, Text};
use feed_rs::parser::{self, ParseErrorKind, ParseFeedError};
use url::Url;

use super::{decode, feedparser, prepare};
use crate::config::{Limits, SourceConfig};
use crate::model::{Article, DateSource, Enclosure, SourceMeta};
use crate::normalize::{RawEntry, date, link, sanitize};

/// Parses feed bytes. `content_type` supplies the HTTP charset; `location`
/// is the document's URL, the base for relative links.
///
/// # Errors
/// A message saying why the bytes are not a readable feed.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    location: &Url,
    source: &SourceConfig,
    limits: &Limits,
) -> Result<(SourceMeta, Vec<RawEntry>), String> {
    let text = decode::to_utf8(bytes, content_type);
    let is_json = text.trim_start().starts_with('{');
    let text = if is_json {
        lone_surrogates_replaced(text)
    } else {
        // Most documents declare no entities: keep the text, do not copy it.
        let expanded = match prepare::entities(&text)? {
            std::borrow::Cow::Owned(expanded) => Some(expanded),
            std::borrow::Cow::Borrowed(_) => None,
        };
        expanded.unwrap_or(text)
    };
    let scan = prepare::scan(&text, location, limits.max_depth)?;
    let mut primary = feedparser::read(&text, limits)
        .ok()
        .filter(feedparser::recognised);
    if primary.is_none()
        && is_json
        && let Some(fixed) = json_feed_version_repaired(&text)
    {
        primary = feedparser::read(&fixed, limits)
            .ok()
            .filter(feedparser::recognised);
    }
    if primary.as_ref().is_none_or(|f| f.entries.is_empty())
        && !scan.entries.is_empty()
        && let Some(fixed) = with_channel(&text)
    {
        // Items straight under <rss>, with no <channel>: read them.
        primary = feedparser::read(&fixed, limits)
            .ok()
            .filter(|f| !f.entries.is_empty())
            .or(primary);
    }
    let doubtful = primary
        .as_ref()
        .is_none_or(|f| f.entries.is_empty() || f.bozo);
    let mut best = primary.map(|f| feedparser::adapt(f, location, &scan, source));
    if doubtful {
        match read_with_feed_rs(text, location, source, limits) {
            Ok(other) if best.as_ref().is_none_or(|(_, b)| other.1.len() > b.len()) => {
                best = Some(other);
            }
            Ok(_) => {}
            Err(e) if best.is_none() => return Err(e),
            Err(_) => {}
        }
    }
    let Some((meta, entries)) = best else {
        return Err("no RSS, Atom or JSON Feed root element found".to_owned());
    };
    if entries.len() > limits.max_entries {
        return Err(format!(
            "it lists {} entries, more than the limit of {} (settings.max_entries)",
            entries.len(),
            limits.max_entries
        ));
    }
    // A document with items that yields none must not pass for an empty feed.
    if entries.is_empty() && !scan.entries.is_empty() {
        return Err(format!(
            "it holds {} item or entry element(s), but none could be read",
            scan.entries.len()
        ));
    }
    let max_field = limits.max_field_size;
    let entries = entries
        .into_iter()
        .map(|mut e| {
            let cut = |text: String| truncate_bytes(text, max_field);
            let a = std::mem::take(&mut e.article);
            e.article = Article {
                title: cut(a.title),
                summary: a.summary.map(cut),
                content: a.content.map(cut),
                ..a
            };
            e
        })
        .collect();
    Ok((meta, entries))
}

/// JSON text with every lone UTF-16 surrogate escape (`"\ud800"` with no
/// partner) made U+FFFD: serde_json refuses the whole document for one,
/// where only that field is damaged.
fn lone_surrogates_replaced(text: String) -> String {
    let surrogate = |s: &str| -> Option<u16> {
        let hex = s.strip_prefix("\\u")?.get(..4)?;
        let n = u16::from_str_radix(hex, 16).ok()?;
        (0xD800..=0xDFFF).contains(&n).then_some(n)
    };
    if !text.contains("\\u") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match surrogate(rest) {
            Some(0xD800..=0xDBFF)
                if surrogate(&rest[6..]).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) =>
            {
                out.push_str(&rest[..12]);
                rest = &rest[12..];
            }
            Some(_) => {
                out.push_str("\\ufffd");
                rest = &rest[6..];
            }
            None => {
                // Any other escape, including an escaped backslash, as it is.
                let len = rest[1..].chars().next().map_or(1, |c| 1 + c.len_utf8());
                out.push_str(&rest[..len]);
                rest = &rest[len..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// An `<rss>` document whose items stand right under the root, with a
/// `<channel>` put around them; `None` when it has one.
fn with_channel(text: &str) -> Option<String> {
    if text.contains("<channel") {
        return None;
    }
    let start = text.find("<rss")?;
    let open_end = start + text[start..].find('>')? + 1;
    if text[..open_end].ends_with("/>") {
        return None;
    }
    let close = text.rfind("</rss>")?;
    (close >= open_end).then(|| {
        format!(
            "{}<channel>{}</channel>{}",
            &text[..open_end],
            &text[open_end..close],
            &text[close..]
        )
    })
}

/// A JSON document with `items` whose `version` is missing or not a JSON
/// Feed URL ("1.0"), with the version JSON Feed 1.1 gives: the items are
/// what matters, and both parsers refuse an unknown version.
fn json_feed_version_repaired(text: &str) -> Option<String> {
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = doc.as_object_mut()?;
    if !object.get("items").is_some_and(serde_json::Value::is_array) {
        return None;
    }
    let known = object
        .get("version")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|v| v.starts_with("https://jsonfeed.org/version/"));
    if known {
        return None;
    }
    object.insert(
        "version".to_owned(),
        serde_json::Value::from("https://jsonfeed.org/version/1.1"),
    );
    serde_json::to_string(&doc).ok()
}

/// The fallback reading, through feed-rs with its repairs.
fn read_with_feed_rs(
    mut text: String,
    location: &Url,
    source: &SourceConfig,
    limits: &Limits,
) -> Result<(SourceMeta, Vec<RawEntry>), String> {
    let mut repairs = 0;
    let feed = loop {
        let error = match read(&text, location, source) {
            Ok(feed) => break feed,
            Err(error) => error,
        };
        if let Some(fixed) = repair(&text, &error).filter(|_| repairs < MAX_REPAIRS) {
            text = fixed;
            repairs += 1;
            continue;
        }
        if matches!(
            error,
            ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot)
        ) {
            // A feed root with no channel or entries is an empty feed, not an error.
            return if root_tag(&text).is_some_and(|t| FEED_ROOTS.contains(&element_name(t))) {
                Ok((SourceMeta::default(), Vec::new()))
            } else {
                Err(not_a_feed(&text, location))
            };
        }
        return Err(error.to_string());
    };
    if feed.entries.len() > limits.max_entries {
        return Err(format!(
            "it lists {} entries, more than the limit of {} (settings.max_entries)",
            feed.entries.len(),
            limits.max_entries
        ));
    }
    // feed-rs resolves links against xml:base but does not hand out the
    // root element's xml:base, which relative URLs in content need too.
    let base = root_xml_base(&text)
        .and_then(|b| link::resolve(&b, Some(location)))
        .unwrap_or_else(|| location.clone());
    Ok(adapt(feed, &base))
}

/// How many times one document is repaired and read again.
const MAX_REPAIRS: usize = 8;

/// Root elements of the feed formats (`rdf:RDF` by its local name too).
const FEED_ROOTS: [&str; 5] = ["rss", "RDF", "rdf:RDF", "feed", "channel"];

/// The same document with what feed-rs tripped on made readable, where a
/// repair is known: an `<rss>` version it does not know is read as 2.0; a
/// text construct with a `type` it does not know (`application/octet-stream`,
/// an empty type) is read as plain text rather than losing the whole feed.
fn repair(text: &str, error: &ParseFeedError) -> Option<String> {
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => with_rss_version_2(text),
        ParseFeedError::ParseError(ParseErrorKind::UnknownMimeType { mime, .. }) => {
            let fixed = text
                .replace(&format!("type=\"{mime}\""), "type=\"text\"")
                .replace(&format!("type='{mime}'"), "type=\"text\"");
            (fixed != text).then_some(fixed)
        }
        ParseFeedError::JsonUnsupportedVersion(version) => {
            let fixed = text.replacen(
                &format!("\"{version}\""),
                "\"https://jsonfeed.org/version/1.1\"",
                1,
            );
            (fixed != text).then_some(fixed)
        }
        ParseFeedError::XmlReader(e) if e.to_string().contains("reference not closed") => {
            escape_bare_ampersands(text)
        }
        _ => None,
    }
}

/// `&` not starting an entity or character reference, escaped: the
/// commonest breakage of hand-made feeds ("Q&A", URLs with `?a=1&b=2`).
fn escape_bare_ampersands(text: &str) -> Option<String> {
    let is_reference = |rest: &str| {
        let body = rest.strip_prefix('#').unwrap_or(rest);
        let end = body.find(';').filter(|n| (1..=32).contains(n));
        end.is_some_and(|n| body[..n].chars().all(|c| c.is_ascii_alphanumeric()))
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = false;
    let mut pieces = text.split('&');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        out.push('&');
        if !is_reference(piece) {
            out.push_str("amp;");
            changed = true;
        }
        out.push_str(piece);
    }
    changed.then_some(out)
}

/// The document's root start tag (without `<` and `>`), skipping the prolog,
/// comments and doctype.
fn root_tag(text: &str) -> Option<&str> {
    let mut rest = text;
    loop {
        let start = rest.find('<')?;
        rest = &rest[start..];
        if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->")? + 3..];
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            rest = &rest[rest.find('>')? + 1..];
        } else {
            return Some(&rest[1..rest.find('>')?]);
        }
    }
}

fn element_name(tag: &str) -> &str {
    tag.split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or_default()
}

/// The `xml:base` attribute of the document's root element, if any.
fn root_xml_base(text: &str) -> Option<String> {
    let tag = root_tag(text)?;
    let at = tag.find("xml:base")?;
    let value = tag[at + "xml:base".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    value[1..].split(quote).next().map(str::to_owned)
}

fn read(text: &str, location: &Url, source: &SourceConfig) -> Result<Feed, ParseFeedError> {
    let tz = source.timezone;
    parser::Builder::new()
        .base_uri(Some(location.as_str()))
        // An empty id means "the source gave none"; stable keys come later.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(move |text| date::parse(text, tz))
        .sanitize_content(false)
        .build()
        .parse(text.as_bytes())
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncate_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Explains why a document with no feed root is not a feed; for a web
/// page, which feed it advertises (the address people paste is often the
/// site's, not its feed's).
fn not_a_feed(text: &str, location: &Url) -> String {
    if crate::discover::looks_like_html(text) {
        return match crate::discover::advertised_feeds(text, location).first() {
            Some(feed) => format!(
                "got an HTML page, not a feed; the page advertises its feed at {}: use that as the source's `url` (`feedloom add` finds it too)",
                feed.url
            ),
            None => "got an HTML page, not a feed, and it advertises none (is the URL the site rather than its feed? `feedloom add URL` looks for one)".to_owned(),
        };
    }
    if text.trim().is_empty() {
        "the document is empty".to_owned()
    } else {
        "no RSS, Atom or JSON Feed root element found".to_owned()
    }
}

/// When the root is `<rss>` with a version feed-rs does not know (or none),
/// the same document with `version="2.0"`: every RSS 0.9x/2.x is read alike.
fn with_rss_version_2(text: &str) -> Option<String> {
    let start = text.find("<rss")?;
    let after = text[start + 4..].chars().next()?;
    if !(after.is_whitespace() || after == '>') {
        return None;
    }
    let end = start + text[start..].find('>')?;
    let tag = &text[start..end];
    let version_attr =
        regex::Regex::new(r#"\sversion\s*=\s*("[^"]*"|'[^']*')"#).expect("static regex");
    let fixed_tag = if version_attr.is_match(tag) {
        version_attr.replace(tag, r#" version="2.0""#).into_owned()
    } else {
        format!(r#"<rss version="2.0"{}"#, &tag[4..])
    };
    if fixed_tag == tag {
        return None;
    }
    Some(format!("{}{}{}", &text[..start], fixed_tag, &text[end..]))
}

fn adapt(feed: Feed, location: &Url) -> (SourceMeta, Vec<RawEntry>) {
    let site_link = best_link(&feed.links, Some(location));
    // A feed read from disk has no web address of its own: relative URLs in
    // it mean the site's pages, so the site link is the better base.
    let file_base = site_link.clone().filter(|_| location.scheme() == "file");
    let location = file_base.as_ref().unwrap_or(location);
    let meta = SourceMeta {
        title: feed
            .title
            .as_ref()
            .map(|t| sanitize::plain_text(&t.content))
            .filter(|t| !t.is_empty()),
        site_link,
        feed_id: Some(feed.id.trim().to_owned()).filter(|id| !id.is_empty()),
        self_link: feed
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("self"))
            .find_map(|l| link::resolve(&l.href, Some(location)))
            .filter(super::policy::is_web),
    };
    let feed_authors = names(&feed.authors);
    let entries = feed
        .entries
        .into_iter()
        .map(|entry| adapt_entry(&entry, location, &feed_authors))
        .collect();
    (meta, entries)
}

fn adapt_entry(entry: &Entry, location: &Url, feed_authors: &[String]) -> RawEntry {
    let base = entry
        .base
        .as_deref()
        .and_then(|b| link::resolve(b, Some(location)))
        .unwrap_or_else(|| location.clone());
    let guid = Some(entry.id.trim().to_owned()).filter(|g| !g.is_empty());
    // RSS guids are permalinks by default: one that is a web URL stands in
    // for a missing <link>.
    let link = best_link(&entry.links, Some(&base)).or_else(|| {
        guid.as_deref()
            .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
            .and_then(|g| link::resolve(g, None))
    });
    let mut authors = names(&entry.authors);
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let content = entry.content.as_ref().and_then(|c| {
        let body = c.body.as_deref()?;
        Some(if is_html(c.content_type.as_ref()) {
            body.to_owned()
        } else {
            sanitize::escape_html(body)
        })
    });
    let credit = entry
        .media
        .iter()
        .flat_map(|m| m.credits.iter())
        .map(|c| c.entity.trim())
        .find(|c| !c.is_empty())
        .map(str::to_owned);
    let enclosures = entry
        .media
        .iter()
        .flat_map(|m| m.content.iter())
        .filter_map(|c| {
            let url = link::resolve(c.url.as_ref()?.as_str(), Some(&base))?;
            let mime = c.content_type.as_ref().map(ToString::to_string);
            (!mime.as_deref().is_some_and(|m| m.starts_with("image/"))).then(|| Enclosure {
                url: url.to_string(),
                length: c.size,
                mime,
                duration: c.duration.map(|d| d.as_secs()),
            })
        })
        .collect();
    let author_email = entry.authors.iter().find_map(|p| {
        p.email.clone().or_else(|| {
            p.name
                .as_deref()
                .and_then(|n| feedparser::split_rfc822_author(n).1)
        })
    });
    let title_is_html = entry
        .title
        .as_ref()
        .is_some_and(|t| is_html(t.content_type.as_ref()));
    let article = Article {
        guid,
        link,
        link_text: None,
        author_email,
        enclosures,
        title: entry
            .title
            .as_ref()
            .map(|t| t.content.clone())
            .unwrap_or_default(),
        summary: entry.summary.as_ref().map(html_of),
        content,
        authors,
        categories: entry
            .categories
            .iter()
            .map(|c| {
                c.label
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| c.term.clone())
            })
            .collect(),
        credit,
        image: entry
            .media
            .iter()
            .flat_map(|m| m.thumbnails.iter())
            .find_map(|t| link::resolve(&t.image.uri, Some(&base))),
        published: entry.published,
        updated: entry.updated,
        date_source: DateSource::Feed,
    };
    RawEntry {
        article,
        base: Some(base),
        origins: Vec::new(),
        title_is_html,
    }
}

fn is_html(media_type: &str) -> bool {
    media_type.contains("html")
}

/// A text construct as HTML: HTML and XHTML as they are, plain text escaped.
fn html_of(text: &Text) -> String {
    if is_html(text.content_type.as_ref()) {
        text.content.clone()
    } else {
        sanitize::escape_html(&text.content)
    }
}

/// The link a reader should open: the first `alternate` (or unlabelled) link
/// that is not a comments link, resolved against `base`.
fn best_link(links: &[Link], base: Option<&Url>) -> Option<Url> {
    links
        .iter()
        .filter(|l| l.target.is_none() && l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .find_map(|l| link::resolve(&l.href, base))
}

/// Author names: the name, else the e-mail's "(Name)" part, else the e-mail.
fn names(people: &[Person]) -> Vec<String> {
    people
        .iter()
        .filter_map(|p| {
            let name = p.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
            let name = name.map(|n| match (n.find('('), n.rfind(')')) {
                // "jo@example.org (Jo Writer)", RSS's author form.
                (Some(open), Some(close)) if n[..open].contains('@') && open < close => {
                    n[open + 1..close].trim().to_owned()
                }
                _ => n.to_owned(),
            });
            name.or_else(|| p.email.clone())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_missing_rss_versions_are_read_as_2() {
        assert_eq!(
            with_rss_version_2("<?xml version=\"1.0\"?>\n<rss version=\"0.94\"><channel/></rss>")
                .unwrap(),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            with_rss_version_2("<rss xmlns:dc=\"x\"><channel/></rss>").unwrap(),
            "<rss version=\"2.0\" xmlns:dc=\"x\"><channel/></rss>"
        );
        assert_eq!(with_rss_version_2("<rss version=\"2.0\">"), None);
        assert_eq!(with_rss_version_2("<rssfeed>"), None);
    }

    #[test]
    fn root_xml_base_is_found_after_prolog_and_comments() {
        let doc = "<?xml version=\"1.0\"?>\n<!-- c -->\n<feed xmlns=\"x\" xml:base='https://ex.org/b/'><entry/></feed>";
        assert_eq!(root_xml_base(doc).as_deref(), Some("https://ex.org/b/"));
        assert_eq!(root_xml_base("<rss version=\"2.0\"><channel/></rss>"), None);
    }

    #[test]
    fn links_to_intranet_hosts_are_kept() {
        // Published, never fetched: an intranet feed keeps its links.
        let source = source();
        let url = Url::parse("http://wiki.corp/feed").unwrap();
        let rss = br#"<rss version="2.0"><channel><title>t</title><link>http://wiki.corp/</link><description>d</description>
<item><title>One</title><link>http://10.1.2.3/pages/one</link></item>
<item><title>Two</title><link><![CDATA[http://wiki.corp/pages/two?a=1&b=2]]></link></item>
<item><title>Three</title><link>http://localhost:8080/three</link></item>
</channel></rss>"#;
        let (_, entries) = parse(rss, None, &url, &source, &Limits::default()).unwrap();
        let links: Vec<String> = entries
            .iter()
            .map(|e| e.article.link.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            links,
            [
                "http://10.1.2.3/pages/one",
                "http://wiki.corp/pages/two?a=1&b=2",
                "http://localhost:8080/three"
            ]
        );
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>
<entry><title>A</title><id>urn:x:1</id><updated>2024-01-01T00:00:00Z</updated><link rel="alternate" href="http://intranet.local/a"/></entry></feed>"#;
        let (_, entries) = parse(atom, None, &url, &source, &Limits::default()).unwrap();
        assert_eq!(
            entries[0].article.link.as_ref().map(Url::as_str),
            Some("http://intranet.local/a")
        );
    }

    #[test]
    fn empty_feeds_and_unknown_text_types_are_read() {
        let source = source();
        let url = Url::parse("https://ex.org/feed").unwrap();
        let (_, entries) = parse(
            b"<!-- x -->\n<rss version=\"0.92\">\n</rss>",
            None,
            &url,
            &source,
            &Limits::default(),
        )
        .unwrap();
        assert!(entries.is_empty());
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title type="application/octet-stream">Odd</title><id>urn:x:1</id><updated>2024-01-01T00:00:00Z</updated></entry></feed>"#;
        let (_, entries) = parse(atom, None, &url, &source, &Limits::default()).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(
            parse(
                b"<html><body>no</body></html>",
                None,
                &url,
                &source,
                &Limits::default()
            )
            .is_err()
        );
    }

    fn source() -> crate::config::SourceConfig {
        crate::config::SourceConfig::feed("t", crate::config::Location::Path("/t".into()))
    }

    fn read(doc: &str, limits: &Limits) -> Result<Vec<RawEntry>, String> {
        let url = Url::parse("https://ex.org/feed").unwrap();
        parse(doc.as_bytes(), None, &url, &source(), limits).map(|(_, e)| e)
    }

    #[test]
    fn entity_expansion_is_bounded() {
        use std::fmt::Write;
        let mut decls = String::from("<!ENTITY lol0 \"lol\">");
        for n in 1..10 {
            let refs = format!("&lol{};", n - 1).repeat(10);
            let _ = write!(decls, "<!ENTITY lol{n} \"{refs}\">");
        }
        let laughs = format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [{decls}]>\n<rss version=\"2.0\"><channel><title>t</title><item><title>&lol9;</title><link>https://ex.org/1</link></item></channel></rss>"
        );
        let error = read(&laughs, &Limits::default()).unwrap_err();
        assert!(error.contains("expand"), "{error}");
        let small = "<!DOCTYPE rss [<!ENTITY who \"The Editors\">]><rss version=\"2.0\"><channel><title>t</title><item><title>By &who;</title><link>https://ex.org/1</link></item></channel></rss>";
        assert_eq!(
            read(small, &Limits::default()).unwrap()[0].article.title,
            "By The Editors"
        );
    }

    #[test]
    fn external_entities_are_never_read() {
        let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "http://127.0.0.1:9/secret">]>
<rss version="2.0"><channel><title>t</title><item><title>a &xxe; b &remote;</title><link>https://ex.org/1</link></item></channel></rss>"#;
        let error = read(xxe, &Limits::default()).unwrap_err();
        assert!(error.contains("external entity"), "{error}");
    }

    #[test]
    fn deep_nesting_and_too_many_entries_are_refused() {
        let deep = format!(
            "<rss version=\"2.0\"><channel><item><title>x</title>{}{}</item></channel></rss>",
            "<x>".repeat(100_000),
            "</x>".repeat(100_000)
        );
        let error = read(&deep, &Limits::default()).unwrap_err();
        assert!(error.contains("settings.max_depth"), "{error}");
        let three = "<rss version=\"2.0\"><channel><item><title>a</title></item><item><title>b</title></item><item><title>c</title></item></channel></rss>";
        let few = Limits {
            max_entries: 2,
            ..Limits::default()
        };
        assert!(
            read(three, &few)
                .unwrap_err()
                .contains("settings.max_entries")
        );
        assert_eq!(read(three, &Limits::default()).unwrap().len(), 3);
    }

    #[test]
    fn long_fields_are_cut_at_a_character() {
        let body = "é".repeat(1000);
        let doc = format!(
            "<rss version=\"2.0\"><channel><item><title>t</title><description>{body}</description></item></channel></rss>"
        );
        let small = Limits {
            max_field_size: 101,
            ..Limits::default()
        };
        let entries = read(&doc, &small).unwrap();
        let summary = entries[0].article.summary.as_deref().unwrap();
        assert_eq!(summary.len(), 100);
    }

    #[test]
    fn bare_ampersands_are_escaped_and_references_kept() {
        assert_eq!(
            escape_bare_ampersands("<t>Q&A &amp; &#38; &#x26; ?a=1&b=2</t>").unwrap(),
            "<t>Q&amp;A &amp; &#38; &#x26; ?a=1&amp;b=2</t>"
        );
        assert_eq!(escape_bare_ampersands("<t>&lt;ok&gt;</t>"), None);
    }

    #[test]
    fn items_without_a_channel_get_one() {
        assert_eq!(
            with_channel("<rss>\n<item><title>a</title></item>\n</rss>").as_deref(),
            Some("<rss><channel>\n<item><title>a</title></item>\n</channel></rss>")
        );
        assert_eq!(with_channel("<rss><channel><item/></channel></rss>"), None);
        let entries = read(
            "<rss><item><description>alone</description></item></rss>",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(
            lone_surrogates_replaced(
                r#"{"a": "x\ud800y", "b": "\ud83c\udf4e", "c": "\udc00", "d": "\\ud800"}"#
                    .to_owned()
            ),
            r#"{"a": "x\ufffdy", "b": "\ud83c\udf4e", "c": "\ufffd", "d": "\\ud800"}"#
        );
    }

    #[test]
    fn html_pages_get_a_clear_message() {
        assert!(
            not_a_feed(
                "<!DOCTYPE html><html><body>hi</body></html>",
                &Url::parse("https://x.example/").unwrap()
            )
            .contains("HTML page")
        );
    }

    #[test]
    fn rss_author_form_gives_the_name() {
        let p = Person {
            name: Some("jo@example.org (Jo Writer)".into()),
            uri: None,
            email: None,
            role: None,
        };
        assert_eq!(names(&[p]), ["Jo Writer"]);
    }
}
