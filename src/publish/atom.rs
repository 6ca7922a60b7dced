//! Atom 1.0 (RFC 4287): a stable feed id, `updated` from the newest item,
//! self and alternate links, a feed author (so entries without one stay
//! valid), and per entry its `<source>` (the first source's feed id, title
//! and links), `rel="via"` links for every source, `<rights>` for a credit.

use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text,
    WriteConfig,
};
use chrono::{DateTime, Utc};

use super::{FormatWriter, Head, updated_of};
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
            ],
            generator: Some(Generator {
                value: "feedloom".to_owned(),
                uri: None,
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            subtitle: Some(Text::plain(output.description.clone())),
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

    fn items(
        &mut self,
        _: &Head<'_>,
        items: &[StoredItem],
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        for stored in items {
            entry(stored)
                .write_with_config(&mut *out, NO_DECLARATION)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn end(&mut self, _: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(self.tail.as_bytes());
        Ok(())
    }
}

fn entry(stored: &StoredItem) -> Entry {
    let a = &stored.article;
    let mut links = Vec::new();
    if let Some(l) = &a.link {
        links.push(link(l.as_str(), "alternate", Some("text/html"), None));
    }
    for s in &stored.sources {
        let href = s.site_link.as_deref().unwrap_or(&s.feed_url);
        // A second alternate with the same type is invalid Atom; "via"
        // names where the entry came from, once per source.
        if !links.iter().any(|l| l.rel == "via" && l.href == href) {
            links.push(link(href, "via", None, Some(&s.name)));
        }
    }
    let source = stored.sources.first().map(|s| {
        let mut links = vec![link(&s.feed_url, "self", None, None)];
        if let Some(site) = &s.site_link {
            links.push(link(site, "alternate", Some("text/html"), None));
        }
        Source {
            title: Text::plain(s.feed_title.clone().unwrap_or_else(|| s.name.clone())),
            id: s.feed_id.clone().unwrap_or_else(|| s.feed_url.clone()),
            updated: fixed(updated_of(stored)),
            links,
            ..Source::default()
        }
    });
    Entry {
        title: Text::plain(a.title.clone()),
        id: stored.public_id.clone(),
        updated: fixed(updated_of(stored)),
        published: Some(fixed(stored.published())),
        authors: a
            .authors
            .iter()
            .map(|n| Person {
                name: n.clone(),
                ..Person::default()
            })
            .collect(),
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
        summary: a.summary.clone().map(Text::html),
        // RFC 4287 4.1.1.1: an entry with no content needs an alternate
        // link; with neither, the summary is the content.
        content: a
            .content
            .clone()
            .or_else(|| a.link.is_none().then(|| a.summary.clone()).flatten())
            .map(|body| Content {
                value: Some(body),
                content_type: Some("html".to_owned()),
                ..Content::default()
            }),
        ..Entry::default()
    }
}
