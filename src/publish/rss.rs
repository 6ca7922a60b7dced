//! RSS 2.0, with the `atom:link rel="self"` the validator asks for, one
//! `<source>` naming the first source, `dc:creator` for authors (RSS
//! `<author>` must be an e-mail address), `content:encoded` for bodies and
//! a `feedloom:via` element per source so every attribution survives.

use std::collections::BTreeMap;

use rss::extension::Extension;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, ChannelBuilder, Guid, ItemBuilder};

use super::{Document, NAMESPACE};
use crate::normalize::sanitize::escape_html;
use crate::store::StoredItem;

pub(crate) fn render(doc: &Document<'_>) -> Result<Vec<u8>, String> {
    let output = doc.output;
    let items: Vec<rss::Item> = doc.items.iter().map(item).collect();
    let mut namespaces = BTreeMap::new();
    namespaces.insert("feedloom".to_owned(), NAMESPACE.to_owned());
    let newest = (!doc.items.is_empty()).then(|| doc.updated().to_rfc2822());
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
                href: doc.self_url.to_string(),
                rel: "self".to_owned(),
                mime_type: Some("application/rss+xml".to_owned()),
                ..Link::default()
            }],
        }))
        .namespaces(namespaces)
        .items(items)
        .build();
    let mut bytes = Vec::new();
    channel
        .pretty_write_to(&mut bytes, b' ', 2)
        .map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
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
