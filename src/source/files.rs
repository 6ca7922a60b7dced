//! The `files` source kind: a folder of article files (`.html`, `.md`,
//! `.txt`) becomes a feed. Each file is one item whose identity is its
//! path relative to the folder, so editing a file updates its item.
//!
//! Symlinks that lead out of the folder are not followed; files over the
//! size limit are skipped with a note.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use url::Url;

use super::{Listing, Read};
use crate::config::{FilesConfig, SourceConfig};
use crate::error::SourceError;
use crate::extract::{self, Extracted};
use crate::model::{Article, DateSource, Validators};
use crate::normalize::{RawEntry, link, sanitize};

/// Reads every matching file under the source's folder. Unchanged files
/// (same paths, sizes and modification times) read as not modified.
///
/// # Errors
/// The folder cannot be read.
pub(super) fn read(
    source: &SourceConfig,
    config: &FilesConfig,
    validators: &Validators,
    max_size: u64,
    now: DateTime<Utc>,
) -> Result<Read, SourceError> {
    let root_path = match &source.location {
        crate::config::Location::Path(p) => p.clone(),
        crate::config::Location::Url(_) => unreachable!("config gives files sources a path"),
    };
    let failed = |e: std::io::Error| SourceError::File {
        source_name: source.name.clone(),
        path: root_path.clone(),
        source: e,
    };
    let root = root_path.canonicalize().map_err(failed)?;
    let mut files = Vec::new();
    let mut notes = Vec::new();
    walk(&root, &root, config, &mut files, &mut notes).map_err(failed)?;
    files.sort();

    // The folder's "ETag": every file's path, size and modification time,
    // and the settings that shape its items (a new `base_url` relinks them).
    let mut parts = vec![
        format!(
            "base_url\0{}",
            config.base_url.as_ref().map_or("", url::Url::as_str)
        ),
        format!("timezone\0{}", source.timezone.name()),
    ];
    for (rel, path) in &files {
        let meta = std::fs::metadata(path).map_err(failed)?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        parts.push(format!("{rel}\0{}\0{mtime}", meta.len()));
    }
    let etag = format!(
        "files:{}",
        link::digest(&parts.iter().map(String::as_str).collect::<Vec<_>>())
    );
    if validators.etag.as_deref() == Some(etag.as_str()) {
        return Ok(Read::NotModified);
    }

    let mut listing = Listing {
        listed: files.len(),
        validators: Validators {
            etag: Some(etag),
            last_modified: None,
        },
        ..Listing::default()
    };
    for (rel, path) in &files {
        match super::local::read_bounded(path, max_size) {
            Ok(bytes) => listing
                .entries
                .push(entry(source, config, rel, path, &bytes, now)),
            Err(super::local::LocalError::TooBig) => notes.push(format!(
                "{rel} is over the limit of {max_size} bytes (settings.max_response_size); skipped"
            )),
            Err(super::local::LocalError::Io(e)) => notes.push(format!("{rel}: {e}; skipped")),
        }
    }
    for note in &notes {
        tracing::warn!(source = %source.name, "{note}");
    }
    listing.notes = notes;
    Ok(Read::Listing(Box::new(listing)))
}

/// Collects `(relative path, path)` of matching files, never leaving `root`.
fn walk(
    root: &Path,
    dir: &Path,
    config: &FilesConfig,
    out: &mut Vec<(String, PathBuf)>,
    notes: &mut Vec<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let Ok(resolved) = path.canonicalize() else {
            continue; // A dangling symlink.
        };
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if !resolved.starts_with(root) {
            notes.push(format!("{rel} links outside the folder; not followed"));
            continue;
        }
        if resolved.is_dir() {
            if config.recursive && !entry.file_type()?.is_symlink() {
                walk(root, &path, config, out, notes)?;
            }
        } else if config.pattern.is_match(&rel) || config.pattern.is_match(entry.file_name()) {
            if super::local::is_regular(&resolved) {
                out.push((rel, path));
            } else {
                notes.push(format!(
                    "{rel} is not a regular file (a FIFO, device or socket); skipped"
                ));
            }
        }
    }
    Ok(())
}

/// One file as an entry: extracted by its extension.
fn entry(
    source: &SourceConfig,
    config: &FilesConfig,
    rel: &str,
    path: &Path,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> RawEntry {
    let link = config
        .base_url
        .as_ref()
        .and_then(|b| link_under(b, rel))
        .or_else(|| Url::from_file_path(path).ok());
    let base = link.clone().unwrap_or_else(|| source.location.as_url());
    let (extracted, categories) = extract::document(bytes, rel, &base, source.timezone, now);
    from_extracted(extracted, categories, rel, link, base)
}

/// `base` plus the relative path `rel`, each segment percent-encoded: a
/// file named `notes#1.txt` or `page?a.txt` is a path, not a fragment or a
/// query.
fn link_under(base: &Url, rel: &str) -> Option<Url> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(rel.split('/'));
    Some(url)
}

/// An entry from extracted fields; the guid is the relative path.
pub(crate) fn from_extracted(
    e: Extracted,
    categories: Vec<String>,
    rel: &str,
    link: Option<Url>,
    base: Url,
) -> RawEntry {
    let mut origins = Vec::new();
    let mut take = |field: &'static str, f: Option<extract::Found<String>>| {
        f.map(|f| {
            origins.push((field, f.from));
            f.value
        })
    };
    let title = take("title", e.title).unwrap_or_else(|| rel.to_owned());
    let summary = take("summary", e.summary).map(|s| sanitize::escape_html(&s));
    let content = take("body", e.body);
    let author = take("author", e.author);
    let credit = take("credit", e.credit);
    let (published, date_source) = match e.published {
        Some((f, source)) => {
            origins.push(("date", f.from));
            (Some(f.value.with_timezone(&chrono::Utc)), source)
        }
        None => (None, DateSource::FirstSeen),
    };
    RawEntry {
        article: Article {
            guid: Some(format!("file:{rel}")),
            link,
            title,
            summary,
            content,
            authors: author.into_iter().collect(),
            categories,
            credit,
            image: e.image.map(|i| i.value),
            published,
            updated: None,
            date_source,
            ..Article::default()
        },
        base: Some(base),
        origins,
        title_is_html: true,
    }
}
