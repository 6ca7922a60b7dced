//! JSON Feed 1.1, with `authors` and a `_feedloom` extension object that
//! carries every attribution, the credit and where the date came from.

use serde::Serialize;

use super::{FormatWriter, Head, Run, updated_of};
use crate::store::StoredItem;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    authors: Vec<Author<'a>>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    _feedloom: Extension<'a>,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_in_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Extension<'a> {
    date_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit: Option<&'a str>,
    sources: Vec<SourceRef<'a>>,
}

#[derive(Serialize)]
struct SourceRef<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

fn rfc3339(d: chrono::DateTime<chrono::Utc>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Streams JSON Feed: the head serialized with an empty item list, which
/// is then opened, items appended one by one, and closed.
#[derive(Default)]
pub(crate) struct Writer;

impl FormatWriter for Writer {
    fn begin(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        let output = head.output;
        let feed = JsonFeed {
            version: "https://jsonfeed.org/version/1.1",
            title: &output.title,
            home_page_url: output.link.as_str(),
            feed_url: head.self_url.as_str(),
            description: &output.description,
            authors: vec![Author {
                name: &output.author,
            }],
            items: Vec::new(),
        };
        let text = serde_json::to_string(&feed).map_err(|e| e.to_string())?;
        let open = text
            .strip_suffix("[]}")
            .ok_or("the JSON head does not end with its item list")?;
        out.extend_from_slice(open.as_bytes());
        out.push(b'[');
        Ok(())
    }

    fn items(
        &mut self,
        _: &Head<'_>,
        run: &Run<'_>,
        out: &mut Vec<u8>,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        for (k, stored) in run.items.iter().enumerate() {
            if k > 0 || run.after_item {
                out.extend_from_slice(self.separator());
            }
            let start = out.len();
            out.push(b'\n');
            serde_json::to_writer(&mut *out, &item(stored)).map_err(|e| e.to_string())?;
            spans.push((start, out.len() - start));
        }
        Ok(())
    }

    fn separator(&self) -> &'static [u8] {
        b","
    }

    fn end(&mut self, _: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(b"\n]}\n");
        Ok(())
    }
}

fn item(stored: &StoredItem) -> Item<'_> {
    let a = &stored.article;
    // JSON Feed's summary is plain text.
    let summary = a
        .summary
        .as_deref()
        .map(crate::normalize::sanitize::plain_text_of_clean)
        .filter(|s| !s.is_empty());
    Item {
        id: &stored.public_id,
        url: a.link_str(),
        title: &a.title,
        content_html: a.content.as_deref().or(a.summary.as_deref()),
        summary,
        image: a.image.as_ref().map(url::Url::as_str),
        date_published: rfc3339(stored.published()),
        date_modified: rfc3339(updated_of(stored)),
        authors: a.authors.iter().map(|n| Author { name: n }).collect(),
        tags: &a.categories,
        attachments: a
            .enclosures
            .iter()
            .map(|e| Attachment {
                url: &e.url,
                mime_type: e.mime.as_deref().unwrap_or("application/octet-stream"),
                size_in_bytes: e.length,
                duration_in_seconds: e.duration,
            })
            .collect(),
        _feedloom: Extension {
            date_source: a.date_source.as_str(),
            credit: a.credit.as_deref(),
            sources: stored
                .sources
                .iter()
                .map(|s| SourceRef {
                    name: &s.name,
                    feed_url: s.feed_url.as_deref(),
                    title: s.feed_title.as_deref(),
                    home_page_url: s.site_link.as_deref(),
                    url: s.link.as_deref(),
                })
                .collect(),
        },
    }
}
