//! RSS 2.0, with the `atom:link rel="self"` the validator asks for, one
//! `<source>` naming the first source, `dc:creator` for authors (RSS
//! `<author>` must be an e-mail address), `content:encoded` for bodies and
//! a `feedloom:via` element per source so every attribution survives.

use std::collections::BTreeMap;

use rss::extension::Extension;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, ChannelBuilder, Guid, ItemBuilder};

use super::{FormatWriter, Head, NAMESPACE};
use crate::normalize::sanitize::escape_html;
use crate::store::StoredItem;

/// Streams RSS: the channel is rendered by the rss crate once without
/// items (its head and tail), then items in chunks, each chunk rendered by
/// the crate and cut out of its channel.
#[derive(Default)]
pub(crate) struct Writer {
    tail: String,
}

/// Every namespace the items may use, declared up front, so the root
/// element is the same whichever chunk an item lands in.
fn namespaces() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("atom".to_owned(), "http://www.w3.org/2005/Atom".to_owned()),
        (
            "content".to_owned(),
            "http://purl.org/rss/1.0/modules/content/".to_owned(),
        ),
        (
            "dc".to_owned(),
            "http://purl.org/dc/elements/1.1/".to_owned(),
        ),
        ("feedloom".to_owned(), NAMESPACE.to_owned()),
    ])
}

fn channel(head: &Head<'_>, items: &[StoredItem]) -> Result<String, String> {
    let output = head.output;
    let newest = head.updated.map(|d| d.to_rfc2822());
    let channel = ChannelBuilder::default()
        .title(output.title.clone())
        .link(output.link.to_string())
        .description(output.description.clone())
        .generator(Some(format!("feedloom {}", env!("CARGO_PKG_VERSION"))))
        .last_build_date(newest.clone())
        .pub_date(newest)
        .docs(Some(
            "https://www.rssboard.org/rss-specification".to_owned(),
        ))
        .atom_ext(Some(AtomExtension {
            links: vec![Link {
                href: head.self_url.to_string(),
                rel: "self".to_owned(),
                mime_type: Some("application/rss+xml".to_owned()),
                ..Link::default()
            }],
        }))
        .namespaces(namespaces())
        .items(items.iter().map(item).collect::<Vec<_>>())
        .build();
    let bytes = channel.write_to(Vec::new()).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

impl FormatWriter for Writer {
    fn begin(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        let empty = channel(head, &[])?;
        let cut = empty
            .rfind("</channel>")
            .ok_or("the rss writer gave no </channel>")?;
        out.extend_from_slice(&empty.as_bytes()[..cut]);
        self.tail = format!("{}\n", &empty[cut..]);
        Ok(())
    }

    fn items(
        &mut self,
        head: &Head<'_>,
        items: &[StoredItem],
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let doc = channel(head, items)?;
        // The first <item> opens the items (the channel's own elements come
        // before them); the last </item> closes them.
        let from = doc.find("<item>").ok_or("the rss writer gave no <item>")?;
        let to = doc
            .rfind("</item>")
            .ok_or("the rss writer gave no </item>")?
            + "</item>".len();
        out.extend_from_slice(&doc.as_bytes()[from..to]);
        Ok(())
    }

    fn end(&mut self, _: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(self.tail.as_bytes());
        Ok(())
    }
}

fn item(stored: &StoredItem) -> rss::Item {
    let a = &stored.article;
    let link = a.link.as_ref().map(ToString::to_string);
    let first = stored.sources.first();
    let via: Vec<Extension> = stored
        .sources
        .iter()
        .map(|s| {
            let mut attrs = BTreeMap::new();
            attrs.insert("source".to_owned(), s.name.clone());
            attrs.insert("url".to_owned(), s.feed_url.clone());
            if let Some(l) = &s.link {
                attrs.insert("link".to_owned(), l.clone());
            }
            Extension {
                name: "feedloom:via".to_owned(),
                value: None,
                attrs,
                children: BTreeMap::new(),
            }
        })
        .collect();
    let mut extensions = BTreeMap::new();
    if !via.is_empty() {
        extensions.insert(
            "feedloom".to_owned(),
            BTreeMap::from([("via".to_owned(), via)]),
        );
    }
    // The body goes in content:encoded when a summary fills description;
    // a credit line is appended there, where every reader shows it.
    let body = a.summary.as_ref().and(a.content.clone());
    let body = match &a.credit {
        Some(credit) => Some(format!(
            "{}<p><small>Credit: {}</small></p>",
            body.or_else(|| a.content.clone())
                .or_else(|| a.summary.clone())
                .unwrap_or_default(),
            escape_html(credit)
        )),
        None => body,
    };
    ItemBuilder::default()
        .title(Some(a.title.clone()))
        .link(link.clone())
        .description(a.summary.clone().or_else(|| a.content.clone()))
        .content(body)
        .guid(Some(Guid {
            permalink: link.as_deref() == Some(stored.public_id.as_str()),
            value: stored.public_id.clone(),
        }))
        .pub_date(Some(stored.published().to_rfc2822()))
        .categories(
            a.categories
                .iter()
                .map(|c| Category {
                    name: c.clone(),
                    domain: None,
                })
                .collect::<Vec<_>>(),
        )
        .source(first.map(|s| rss::Source {
            url: s.feed_url.clone(),
            title: Some(s.name.clone()),
        }))
        .dublin_core_ext((!a.authors.is_empty() || a.credit.is_some()).then(|| {
            DublinCoreExtension {
                creators: a.authors.clone(),
                rights: a.credit.iter().cloned().collect(),
                ..DublinCoreExtension::default()
            }
        }))
        .extensions(extensions)
        .build()
}
