//! Publishing: each `[[output]]` read from the store (newest first) and
//! written as RSS 2.0, Atom 1.0 and JSON Feed 1.1. No network I/O here.
//!
//! Output depends only on the stored items, never on the clock, so the same
//! state gives the same bytes: feed-level dates are the newest item's.

mod atom;
mod json;
mod rss;
pub mod write;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{FilterFields, Format, Output, Settings};
use crate::error::PublishError;
use crate::store::{Store, StoredItem};

/// The namespace of feedloom's attribution extension in RSS.
pub const NAMESPACE: &str = "tag:feedloom,2026:attribution";

/// What publishing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// Items in it.
    pub items: usize,
    /// Whether its bytes changed.
    pub changed: bool,
}

/// Everything a format writer needs about one output.
pub(crate) struct Document<'a> {
    pub(crate) output: &'a Output,
    /// The sources the output draws on (for OPML).
    pub(crate) sources: Vec<&'a crate::config::SourceConfig>,
    pub(crate) items: &'a [StoredItem],
    /// The URL this very file will be served at.
    pub(crate) self_url: Url,
}

impl Document<'_> {
    /// The feed-level date: the newest item's, so unchanged items mean
    /// unchanged bytes; the epoch for an empty feed.
    pub(crate) fn updated(&self) -> DateTime<Utc> {
        self.items
            .iter()
            .map(|i| {
                i.article
                    .updated
                    .unwrap_or_else(|| i.published())
                    .max(i.published())
            })
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH)
    }
}

/// The item's "updated": its own, if not before published.
pub(crate) fn updated_of(item: &StoredItem) -> DateTime<Utc> {
    item.article
        .updated
        .filter(|u| *u > item.published())
        .unwrap_or_else(|| item.published())
}

/// Publishes every output in every configured format.
///
/// # Errors
/// The first file that could not be built or written; files already
/// written stay, files not yet written keep their old version.
pub fn publish_all(settings: &Settings, store: &Store) -> Result<Vec<Written>, PublishError> {
    let mut written = Vec::new();
    for output in &settings.outputs {
        let items = select(settings, output, store)?;
        for &format in &output.formats {
            let file_name = format!("{}.{}", output.name, format.extension());
            let doc = Document {
                output,
                sources: settings
                    .sources
                    .iter()
                    .filter(|s| output.wants(s))
                    .collect(),
                items: &items,
                self_url: settings
                    .public_url
                    .join(&file_name)
                    .unwrap_or_else(|_| settings.public_url.clone()),
            };
            let bytes = render(format, &doc)?;
            let path = settings.output_dir.join(&file_name);
            let changed = write::write_if_changed(&path, &bytes)?;
            written.push(Written {
                path,
                items: items.len(),
                changed,
            });
        }
    }
    Ok(written)
}

/// The newest `max_items` items of the output's sources that pass its filter.
fn select(
    settings: &Settings,
    output: &Output,
    store: &Store,
) -> Result<Vec<StoredItem>, PublishError> {
    let sources: Vec<String> = settings
        .sources
        .iter()
        .filter(|s| output.wants(s))
        .map(|s| s.name.clone())
        .collect();
    let mut items = Vec::new();
    if sources.is_empty() {
        return Ok(items);
    }
    store.newest_items(&sources, |item| {
        let a = &item.article;
        let fields = FilterFields {
            title: &a.title,
            content: a
                .summary
                .iter()
                .chain(a.content.iter())
                .map(String::as_str)
                .collect(),
            authors: &a.authors,
            categories: &a.categories,
        };
        if output.filter.accepts(&fields) {
            items.push(item);
        }
        items.len() < output.max_items
    })?;
    Ok(items)
}

fn render(format: Format, doc: &Document<'_>) -> Result<Vec<u8>, PublishError> {
    let build_error = |message: String| PublishError::Build {
        output: doc.output.name.clone(),
        format: format.extension(),
        message,
    };
    match format {
        Format::Rss => rss::render(doc).map_err(build_error),
        Format::Atom => atom::render(doc).map_err(build_error),
        Format::Json => json::render(doc).map_err(build_error),
        Format::Opml => crate::opml::export(&doc.output.title, doc.sources.iter().copied())
            .map(String::into_bytes)
            .map_err(build_error),
    }
}
