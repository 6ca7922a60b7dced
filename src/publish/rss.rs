//! RSS 2.0, with the `atom:link rel="self"` the validator asks for, one
//! `<source>` naming the first source, `<author>` where an e-mail address
//! is known (RSS wants one) and `dc:creator` otherwise, `content:encoded`
//! for bodies, the first enclosure (RSS allows one: Atom and JSON Feed
//! carry them all), `media:thumbnail` for the item's image, and an
//! `atom:link rel="via"` per source, a vocabulary feed validators and
//! readers know, so every attribution survives.

use std::collections::BTreeMap;

use rss::extension::Extension;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, ChannelBuilder, Guid, ItemBuilder};

use super::{FormatWriter, Head, Run};
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
        (
            "media".to_owned(),
            "http://search.yahoo.com/mrss/".to_owned(),
        ),
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
            links: std::iter::once(Link {
                href: head.self_url.to_string(),
                rel: "self".to_owned(),
                mime_type: Some("application/rss+xml".to_owned()),
                ..Link::default()
            })
            // WebSub discovery: the hub a subscriber may subscribe at.
            .chain(output.websub_hub.iter().map(|hub| Link {
                href: hub.to_string(),
                rel: "hub".to_owned(),
                ..Link::default()
            }))
            .collect(),
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
        run: &Run<'_>,
        out: &mut Vec<u8>,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        let doc = channel(head, run.items)?;
        // The first <item> opens the items (the channel's own elements come
        // before them); the last </item> closes them.
        let from = doc.find("<item>").ok_or("the rss writer gave no <item>")?;
        let to = doc
            .rfind("</item>")
            .ok_or("the rss writer gave no </item>")?
            + "</item>".len();
        let xml = hex_references(&doc[from..to]);
        // Each item ends at the next `</item>`: none can occur inside one,
        // since text is escaped and bodies are sanitized HTML, where an
        // `item` element cannot survive.
        let base = out.len();
        let mut start = 0;
        for _ in run.items {
            let end = xml[start..]
                .find("</item>")
                .ok_or("the rss writer gave fewer items than it was given")?
                + start
                + "</item>".len();
            spans.push((base + start, end - start));
            start = end;
        }
        if start != xml.len() {
            return Err("the rss writer gave more items than it was given".into());
        }
        out.extend_from_slice(xml.as_bytes());
        Ok(())
    }

    fn end(&mut self, _: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(self.tail.as_bytes());
        Ok(())
    }
}

/// `&lt;` and `&amp;` outside CDATA sections written as `&#x3C;` and
/// `&#x26;`: the same characters to any XML parser, and the form the RSS
/// Profile asks for in plain text, so readers (and the W3C checker) do not
/// take a title such as `a < b` for markup.
fn hex_references(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len() + 64);
    let mut rest = xml;
    while !rest.is_empty() {
        let (plain, cdata) = match rest.find("<![CDATA[") {
            Some(at) => {
                let end = rest[at..].find("]]>").map_or(rest.len(), |n| at + n + 3);
                (&rest[..at], &rest[at..end])
            }
            None => (rest, ""),
        };
        let mut segment = plain;
        while let Some(at) = segment.find('&') {
            out.push_str(&segment[..at]);
            let reference = &segment[at..];
            let (written, len) = if reference.starts_with("&lt;") {
                ("&#x3C;", 4)
            } else if reference.starts_with("&amp;") {
                ("&#x26;", 5)
            } else {
                ("&", 1)
            };
            out.push_str(written);
            segment = &reference[len..];
        }
        out.push_str(segment);
        out.push_str(cdata);
        rest = &rest[plain.len() + cdata.len()..];
    }
    out
}

fn element(name: &str, attrs: &[(&str, &str)]) -> Extension {
    Extension {
        name: name.to_owned(),
        value: None,
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        children: BTreeMap::new(),
    }
}

fn item(stored: &StoredItem) -> rss::Item {
    let stored = &*super::without_replacement_chars(stored);
    let a = &stored.article;
    // RSS wants URIs, not IRIs: a link written with non-ASCII characters
    // goes out in its percent-encoded form (Atom and JSON Feed keep it).
    let link = a
        .link_text
        .as_deref()
        .filter(|t| t.is_ascii())
        .or_else(|| a.link.as_ref().map(url::Url::as_str))
        .map(str::to_owned);
    let first = stored.sources.first();
    let via: Vec<Link> = stored
        .sources
        .iter()
        .filter_map(|s| {
            let href = s.feed_url.clone().or_else(|| s.site_link.clone())?;
            Some(Link {
                href,
                rel: "via".to_owned(),
                title: Some(s.name.clone()),
                ..Link::default()
            })
        })
        .collect();
    let mut extensions: rss::extension::ExtensionMap = BTreeMap::new();
    if let Some(image) = &a.image {
        extensions.insert(
            "media".to_owned(),
            BTreeMap::from([(
                "thumbnail".to_owned(),
                vec![element("media:thumbnail", &[("url", image.as_str())])],
            )]),
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
    // RSS <author> is an e-mail address, with the name in parentheses.
    let author = a
        .author_email
        .as_ref()
        .map(|email| match a.authors.first() {
            Some(name) => format!("{email} ({name})"),
            None => email.clone(),
        });
    let creators = if author.is_some() {
        a.authors.iter().skip(1).cloned().collect()
    } else {
        a.authors.clone()
    };
    ItemBuilder::default()
        .title(Some(a.title.clone()))
        .link(link.clone())
        .description(a.summary.clone().or_else(|| a.content.clone()))
        .content(body)
        .author(author)
        .enclosure(a.enclosures.first().map(|e| {
            rss::Enclosure {
                url: e.url.clone(),
                length: e.length.unwrap_or(0).to_string(),
                mime_type: e
                    .mime
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
            }
        }))
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
        .source(first.and_then(|s| {
            // RSS <source> needs the feed's address; a source read from
            // disk without one of its own gets none, never a local path.
            let url = s.feed_url.clone().or_else(|| s.site_link.clone())?;
            Some(rss::Source {
                url,
                title: Some(s.name.clone()),
            })
        }))
        .dublin_core_ext((!creators.is_empty() || a.credit.is_some()).then(|| {
            DublinCoreExtension {
                creators,
                rights: a.credit.iter().cloned().collect(),
                ..DublinCoreExtension::default()
            }
        }))
        .atom_ext((!via.is_empty()).then_some(AtomExtension { links: via }))
        .extensions(extensions)
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_are_hex_outside_cdata_only() {
        assert_eq!(
            super::hex_references(
                "<title>a &lt; b &amp; c</title><description><![CDATA[&lt;p&gt;]]></description>"
            ),
            "<title>a &#x3C; b &#x26; c</title><description><![CDATA[&lt;p&gt;]]></description>"
        );
    }
}
