//! Atom 1.0 (RFC 4287): a stable feed id, `updated` from the newest item,
//! self and alternate links, a feed author (so entries without one stay
//! valid), and per entry its `<source>` (the first source's feed id, title
//! and links), `rel="via"` links for every source, `<rights>` for a credit.

use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text,
    WriteConfig,
};
use chrono::{DateTime, Utc};

use super::{FormatWriter, Head, Run, updated_of};
use crate::store::StoredItem;

fn fixed(d: DateTime<Utc>) -> FixedDateTime {
    d.fixed_offset()
}

fn link(href: &str, rel: &str, mime: Option<&str>, title: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        title: title.map(str::to_owned),
        ..Link::default()
    }
}

/// Streams Atom: the feed is rendered by atom_syndication once without
/// entries (its head and tail), then each entry by the crate on its own.
#[derive(Default)]
pub(crate) struct Writer {
    tail: String,
    /// Every entry's `updated` so far: RFC 4287 readers (and the W3C
    /// checker) take two entries with one `updated` for one revision.
    used_updated: std::collections::HashSet<i64>,
}

const NO_DECLARATION: WriteConfig = WriteConfig {
    write_document_declaration: false,
    indent_size: None,
};

impl FormatWriter for Writer {
    fn begin(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        let output = head.output;
        let feed = Feed {
            title: Text::plain(output.title.clone()),
            id: output.id.clone(),
            updated: fixed(head.updated.unwrap_or(DateTime::UNIX_EPOCH)),
            authors: vec![Person {
                name: output.author.clone(),
                ..Person::default()
            }],
            links: vec![
                link(
                    head.self_url.as_str(),
                    "self",
                    Some("application/atom+xml"),
                    None,
                ),
                link(output.link.as_str(), "alternate", Some("text/html"), None),
            ]
            .into_iter()
            // WebSub discovery: the hub a subscriber may subscribe at.
            .chain(
                output
                    .websub_hub
                    .iter()
                    .map(|hub| link(hub.as_str(), "hub", None, None)),
            )
            .collect(),
            generator: Some(Generator {
                value: "feedloom".to_owned(),
                uri: None,
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            subtitle: Some(Text::plain(output.description.clone())),
            namespaces: std::collections::BTreeMap::from([(
                "media".to_owned(),
                "http://search.yahoo.com/mrss/".to_owned(),
            )]),
            ..Feed::default()
        };
        let bytes = feed
            .write_with_config(
                Vec::new(),
                WriteConfig {
                    write_document_declaration: true,
                    indent_size: None,
                },
            )
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        let cut = text
            .rfind("</feed>")
            .ok_or("the atom writer gave no </feed>")?;
        out.extend_from_slice(&text.as_bytes()[..cut]);
        self.tail = format!("{}\n", &text[cut..]);
        Ok(())
    }

    /// Entries come newest first; one that would repeat an earlier
    /// entry's `updated` is given the nearest earlier free second, the
    /// same way on every run (published stays as the source said).
    fn context(&mut self, updated: DateTime<Utc>) -> i64 {
        let mut second = updated.timestamp();
        while !self.used_updated.insert(second) {
            second -= 1;
        }
        second
    }

    fn items(
        &mut self,
        _: &Head<'_>,
        run: &Run<'_>,
        out: &mut Vec<u8>,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        for (stored, &second) in run.items.iter().zip(run.contexts) {
            let updated = DateTime::from_timestamp(second, 0).unwrap_or(DateTime::UNIX_EPOCH);
            let start = out.len();
            entry(stored, updated)
                .write_with_config(&mut *out, NO_DECLARATION)
                .map_err(|e| e.to_string())?;
            spans.push((start, out.len() - start));
        }
        Ok(())
    }

    fn end(&mut self, _: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(self.tail.as_bytes());
        Ok(())
    }
}

/// The id of an entry's `<source>`: the feed's own id when it is a full
/// URI (RFC 4287 wants one), else its address, else a name-based UUID of
/// the source, never a local path or a relative id.
fn source_id(s: &crate::store::Attribution) -> String {
    let absolute = |id: &str| {
        url::Url::parse(id)
            .is_ok_and(|u| !u.cannot_be_a_base() || u.scheme() == "urn" || u.scheme() == "tag")
            && !id.starts_with("file:")
            && !id.contains(char::is_whitespace)
    };
    s.feed_id
        .clone()
        .filter(|id| absolute(id))
        .or_else(|| s.feed_url.clone())
        .unwrap_or_else(|| {
            format!(
                "urn:uuid:{}",
                uuid::Uuid::new_v5(
                    &uuid::Uuid::NAMESPACE_URL,
                    format!("feedloom-source:{}", s.name).as_bytes()
                )
            )
        })
}

/// `media:thumbnail` for the entry's image (Media RSS, which validators know).
fn image_extension(image: Option<&url::Url>) -> atom_syndication::extension::ExtensionMap {
    let mut map = atom_syndication::extension::ExtensionMap::new();
    if let Some(image) = image {
        let thumbnail = atom_syndication::extension::Extension {
            name: "media:thumbnail".to_owned(),
            attrs: std::collections::BTreeMap::from([("url".to_owned(), image.to_string())]),
            ..atom_syndication::extension::Extension::default()
        };
        map.insert(
            "media".to_owned(),
            std::collections::BTreeMap::from([("thumbnail".to_owned(), vec![thumbnail])]),
        );
    }
    map
}

/// Plain text as an Atom text construct. Text holding `<` or `&` is
/// written as escaped HTML (`type="html"`), which readers show the same,
/// so none of them (nor the W3C checker) takes `a <b> c` for markup.
fn text(value: &str) -> Text {
    if memchr::memchr2(b'<', b'&', value.as_bytes()).is_some() {
        Text::html(crate::normalize::sanitize::escape_html(value))
    } else {
        Text::plain(value.to_owned())
    }
}

fn entry(stored: &StoredItem, updated: DateTime<Utc>) -> Entry {
    let stored = &*super::without_replacement_chars(stored);
    let a = &stored.article;
    let mut links = Vec::new();
    if let Some(l) = a.link_str() {
        links.push(link(l, "alternate", Some("text/html"), None));
    }
    for e in &a.enclosures {
        links.push(Link {
            href: e.url.clone(),
            rel: "enclosure".to_owned(),
            mime_type: e.mime.clone(),
            length: e.length.map(|n| n.to_string()),
            ..Link::default()
        });
    }
    for s in &stored.sources {
        let Some(href) = s.site_link.as_deref().or(s.feed_url.as_deref()) else {
            continue;
        };
        // A second alternate with the same type is invalid Atom; "via"
        // names where the entry came from, once per source.
        if !links.iter().any(|l| l.rel == "via" && l.href == href) {
            links.push(link(href, "via", None, Some(&s.name)));
        }
    }
    let source = stored.sources.first().map(|s| {
        let mut links = Vec::new();
        if let Some(feed) = &s.feed_url {
            links.push(link(feed, "self", None, None));
        }
        if let Some(site) = &s.site_link {
            links.push(link(site, "alternate", Some("text/html"), None));
        }
        Source {
            title: Text::plain(s.feed_title.clone().unwrap_or_else(|| s.name.clone())),
            id: source_id(s),
            updated: fixed(updated_of(stored)),
            links,
            ..Source::default()
        }
    });
    Entry {
        title: text(&a.title),
        id: stored.public_id.clone(),
        updated: fixed(updated),
        published: Some(fixed(stored.published())),
        authors: a
            .authors
            .iter()
            .enumerate()
            .map(|(i, n)| Person {
                name: n.clone(),
                email: a.author_email.clone().filter(|_| i == 0),
                ..Person::default()
            })
            .collect(),
        extensions: image_extension(a.image.as_ref()),
        categories: a
            .categories
            .iter()
            .map(|c| Category {
                term: c.clone(),
                ..Category::default()
            })
            .collect(),
        links,
        rights: a.credit.clone().map(Text::plain),
        source,
        // Without content or summary an entry has no text (RFC 4287 asks
        // for one where there is no content): its title stands in.
        summary: a
            .summary
            .clone()
            .map(Text::html)
            .or_else(|| (a.content.is_none() && a.link.is_some()).then(|| text(&a.title))),
        // RFC 4287 4.1.1.1: an entry with no content needs an alternate
        // link; with neither, the summary (else the title) is the content.
        content: a
            .content
            .clone()
            .or_else(|| {
                a.link.is_none().then(|| {
                    a.summary
                        .clone()
                        .unwrap_or_else(|| crate::normalize::sanitize::escape_html(&a.title))
                })
            })
            .map(|body| Content {
                value: Some(body),
                content_type: Some("html".to_owned()),
                ..Content::default()
            }),
        ..Entry::default()
    }
}
