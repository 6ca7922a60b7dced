//! Publishing: each `[[output]]` read from the store (newest first) and
//! written as RSS 2.0, Atom 1.0, JSON Feed 1.1 and OPML. No network I/O here.
//!
//! Items stream from the store in chunks into one temp file per format, so
//! memory stays bounded however many items an output holds; a file replaces
//! the published one only if its bytes differ (see [`mod@write`]).
//!
//! Output depends only on the stored items, never on the clock, so the same
//! state gives the same bytes: feed-level dates are the newest item's.

mod atom;
mod html;
pub(crate) use html::check_template;
mod json;
mod rss;
mod splice;
pub mod write;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{FilterFields, Format, Output, Settings, SourceConfig};
use crate::error::PublishError;
use crate::store::{Attribution, Placed, Placements, Store, StoredItem};

/// Items rendered at a time: bounds memory while keeping per-chunk
/// overhead negligible.
const CHUNK: usize = 256;

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

/// What every format writer knows about the document it writes.
pub(crate) struct Head<'a> {
    pub(crate) output: &'a Output,
    /// The sources the output draws on (for OPML).
    pub(crate) sources: Vec<&'a SourceConfig>,
    /// What the state knows of those sources (for the HTML page's list;
    /// read only when the output has a page).
    pub(crate) source_cards: &'a [Attribution],
    /// The URL this very file will be served at.
    pub(crate) self_url: Url,
    /// The feed-level date: the newest item's, so unchanged items mean
    /// unchanged bytes; `None` for an empty feed.
    pub(crate) updated: Option<DateTime<Utc>>,
}

/// The item as RSS and Atom carry it: U+FFFD (what undecodable bytes
/// became) written as `?`, since feed validators flag the replacement
/// character as a bad character; JSON Feed keeps it.
pub(crate) fn without_replacement_chars(item: &StoredItem) -> std::borrow::Cow<'_, StoredItem> {
    const MARK: char = '\u{FFFD}';
    let a = &item.article;
    let has = |t: &str| t.contains(MARK);
    let any = has(&a.title)
        || a.summary.as_deref().is_some_and(has)
        || a.content.as_deref().is_some_and(has)
        || a.credit.as_deref().is_some_and(has)
        || a.authors.iter().any(|n| has(n))
        || a.categories.iter().any(|c| has(c));
    if !any {
        return std::borrow::Cow::Borrowed(item);
    }
    let fix = |t: &str| t.replace(MARK, "?");
    let mut owned = item.clone();
    let b = &mut owned.article;
    b.title = fix(&b.title);
    b.summary = b.summary.as_deref().map(fix);
    b.content = b.content.as_deref().map(fix);
    b.credit = b.credit.as_deref().map(fix);
    b.authors = b.authors.iter().map(|n| fix(n)).collect();
    b.categories = b.categories.iter().map(|c| fix(c)).collect();
    std::borrow::Cow::Owned(owned)
}

/// The item's "updated": its own, if not before published.
pub(crate) fn updated_of(item: &StoredItem) -> DateTime<Utc> {
    updated_from(item.published(), item.article.updated)
}

/// [`updated_of`] from the two dates alone.
pub(crate) fn updated_from(
    published: DateTime<Utc>,
    updated: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    updated.filter(|u| *u > published).unwrap_or(published)
}

/// Consecutive items to write, newest first.
pub(crate) struct Run<'a> {
    pub(crate) items: &'a [StoredItem],
    /// What [`FormatWriter::context`] gave each, beside it.
    pub(crate) contexts: &'a [i64],
    /// Whether an item comes before these in the file: a writer with a
    /// separator writes it first then.
    pub(crate) after_item: bool,
}

/// One format's streaming writer: the head, items chunk by chunk, the tail.
pub(crate) trait FormatWriter: Send {
    /// Everything before the first item.
    fn begin(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String>;
    /// What an item's bytes depend on besides the item itself and the
    /// head, given its "updated" ([`updated_of`]); called for every item
    /// in order before it is written. Publishing copies an unchanged
    /// item's bytes from the last file only while this stays the same.
    fn context(&mut self, _updated: DateTime<Utc>) -> i64 {
        0
    }
    /// Writes a run of items, pushing each item's `(start, length)` in
    /// `out` (separators excluded) on `spans`, unless the format does not
    /// place items one after another (the HTML page).
    fn items(
        &mut self,
        head: &Head<'_>,
        run: &Run<'_>,
        out: &mut Vec<u8>,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<(), String>;
    /// The bytes between two items.
    fn separator(&self) -> &'static [u8] {
        b""
    }
    /// Everything after the last item.
    fn end(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String>;
}

fn writer_for(format: Format) -> Box<dyn FormatWriter> {
    match format {
        Format::Rss => Box::<rss::Writer>::default(),
        Format::Atom => Box::<atom::Writer>::default(),
        Format::Json => Box::<json::Writer>::default(),
        Format::Opml => Box::new(OpmlWriter),
        Format::Html => Box::<html::Writer>::default(),
    }
}

/// OPML lists sources, not items: all of it is written at the end.
struct OpmlWriter;

impl FormatWriter for OpmlWriter {
    fn begin(&mut self, _: &Head<'_>, _: &mut Vec<u8>) -> Result<(), String> {
        Ok(())
    }
    fn items(
        &mut self,
        _: &Head<'_>,
        _: &Run<'_>,
        _: &mut Vec<u8>,
        _: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        Ok(())
    }
    fn end(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        let doc = crate::opml::export(&head.output.title, head.sources.iter().copied())?;
        out.extend_from_slice(doc.document.as_bytes());
        Ok(())
    }
}

/// The formats whose items lie one after another in the file, so a
/// publish can copy unchanged items' bytes from the last one (see
/// [`mod@splice`]).
fn spliceable(format: Format) -> bool {
    matches!(format, Format::Rss | Format::Atom | Format::Json)
}

/// One format being written to its temp file.
struct Target<'a> {
    format: Format,
    writer: Box<dyn FormatWriter>,
    file: write::Staged,
    head: Head<'a>,
    /// Items written so far.
    written: usize,
    /// Where each went, for the layout (spliceable formats only).
    placed: Option<Placements>,
}

/// Publishes every output in every configured format.
///
/// # Errors
/// The first file that could not be built or written; files already
/// written stay, files not yet written keep their old version.
pub fn publish_all(settings: &Settings, store: &Store) -> Result<Vec<Written>, PublishError> {
    let mut written = Vec::new();
    for output in &settings.outputs {
        let names: Vec<String> = settings
            .sources
            .iter()
            .filter(|s| output.wants(s))
            .map(|s| s.name.clone())
            .collect();
        match splice::publish(settings, output, &names, store)? {
            Some(files) => written.extend(files),
            None => written.extend(publish_streaming(
                settings,
                output,
                (&names, &output.formats),
                output.max_items,
                store,
            )?),
        }
    }
    Ok(written)
}

fn build_error(output: &Output, format: Format) -> impl FnOnce(String) -> PublishError + '_ {
    move |message| PublishError::Build {
        output: output.name.clone(),
        format: format.extension(),
        message,
    }
}

/// The head every format's file of `output` starts from.
fn head<'a>(
    settings: &'a Settings,
    output: &'a Output,
    format: Format,
    source_cards: &'a [Attribution],
    updated: Option<DateTime<Utc>>,
) -> Head<'a> {
    let file_name = format!("{}.{}", output.name, format.extension());
    Head {
        output,
        sources: settings
            .sources
            .iter()
            .filter(|s| output.wants(s))
            .collect(),
        source_cards,
        self_url: settings
            .public_url
            .join(&file_name)
            .unwrap_or_else(|_| settings.public_url.clone()),
        updated,
    }
}

/// Where `output`'s file in `format` is published.
fn file_path(settings: &Settings, output: &Output, format: Format) -> PathBuf {
    settings
        .output_dir
        .join(format!("{}.{}", output.name, format.extension()))
}

/// Opens one temp file per format and writes each head. The newest item
/// (the first of `first_chunk`) decides the feed-level date.
fn begin<'a>(
    settings: &'a Settings,
    output: &'a Output,
    formats: &[Format],
    source_cards: &'a [Attribution],
    first_chunk: &[StoredItem],
) -> Result<Vec<Target<'a>>, PublishError> {
    let mut targets = Vec::new();
    for &format in formats {
        let head = head(
            settings,
            output,
            format,
            source_cards,
            first_chunk.first().map(updated_of),
        );
        let mut writer = writer_for(format);
        let mut file = write::Staged::new(&file_path(settings, output, format))?;
        let mut buf = Vec::new();
        writer
            .begin(&head, &mut buf)
            .map_err(build_error(output, format))?;
        file.append(&buf)?;
        targets.push(Target {
            format,
            writer,
            file,
            head,
            written: 0,
            placed: spliceable(format).then(Placements::new).transpose()?,
        });
    }
    Ok(targets)
}

/// Writes a chunk of items (and, at the end, each tail) to every target.
fn write_chunk(
    targets: &mut [Target<'_>],
    chunk: &[StoredItem],
    last: bool,
) -> Result<(), PublishError> {
    // The formats share nothing but the items: each renders and writes the
    // chunk on a thread of its own (the first on this one).
    let Some((first, rest)) = targets.split_first_mut() else {
        return Ok(());
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = rest
            .iter_mut()
            .map(|target| scope.spawn(move || render_chunk(target, chunk, last)))
            .collect();
        let mut result = render_chunk(first, chunk, last);
        for other in others {
            let done = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            result = result.and(done);
        }
        result
    })
}

/// One format's part of [`write_chunk`].
fn render_chunk(
    target: &mut Target<'_>,
    chunk: &[StoredItem],
    last: bool,
) -> Result<(), PublishError> {
    let mut buf = Vec::new();
    if !chunk.is_empty() {
        let contexts: Vec<i64> = chunk
            .iter()
            .map(|item| target.writer.context(updated_of(item)))
            .collect();
        let run = Run {
            items: chunk,
            contexts: &contexts,
            after_item: target.written > 0,
        };
        let mut spans = Vec::with_capacity(chunk.len());
        target
            .writer
            .items(&target.head, &run, &mut buf, &mut spans)
            .map_err(build_error(target.head.output, target.format))?;
        target.written += chunk.len();
        if let Some(placed) = &mut target.placed {
            if spans.len() != chunk.len() {
                return Err(build_error(target.head.output, target.format)(format!(
                    "placed {} of {} items",
                    spans.len(),
                    chunk.len()
                )));
            }
            let base = target.file.len();
            for ((item, &context), &(start, len)) in chunk.iter().zip(&contexts).zip(&spans) {
                placed.push(&Placed {
                    row_id: item.row_id,
                    revision: item.revision,
                    context,
                    span: Some((base + start as u64, len as u64)),
                })?;
            }
        }
    }
    if last {
        target
            .writer
            .end(&target.head, &mut buf)
            .map_err(build_error(target.head.output, target.format))?;
    }
    target.file.append(&buf)
}

/// Publishes `output` (drawn from the sources `names`) in `formats` from
/// its newest `limit` items, read from the store in chunks while the
/// chunk before is rendered, and records each spliceable file's layout.
fn publish_streaming(
    settings: &Settings,
    output: &Output,
    (names, formats): (&[String], &[Format]),
    limit: usize,
    store: &Store,
) -> Result<Vec<Written>, PublishError> {
    let cards = if formats.contains(&Format::Html) {
        store.source_cards(names)?
    } else {
        Vec::new()
    };
    let mut count = 0usize;
    // Items the filter turned away, for the layouts.
    let mut turned_away = Vec::new();
    // The store is read on this thread while another renders the chunk
    // read before: full chunks as they fill, then the rest (maybe empty),
    // which closes each file.
    let (send, receive) = std::sync::mpsc::sync_channel::<Vec<StoredItem>>(1);
    let (targets, read) = std::thread::scope(|scope| {
        let cards = &cards;
        let renderer = scope.spawn(move || {
            let mut targets: Option<Vec<Target<'_>>> = None;
            let mut pending: Option<Vec<StoredItem>> = None;
            for chunk in receive {
                if let Some(full) = pending.replace(chunk) {
                    let t = match &mut targets {
                        Some(t) => t,
                        None => targets.insert(begin(settings, output, formats, cards, &full)?),
                    };
                    write_chunk(t, &full, false)?;
                }
            }
            let rest = pending.unwrap_or_default();
            let mut t = match targets {
                Some(t) => t,
                None => begin(settings, output, formats, cards, &rest)?,
            };
            write_chunk(&mut t, &rest, true)?;
            Ok::<_, PublishError>(t)
        });
        let mut chunk: Vec<StoredItem> = Vec::with_capacity(CHUNK);
        let mut read = Ok(());
        if !names.is_empty() && limit > 0 {
            read = store.newest_items(names, |item| {
                if !output.filter.accepts(&FilterFields::of(&item.article)) {
                    turned_away.push(Placed {
                        row_id: item.row_id,
                        revision: item.revision,
                        context: 0,
                        span: None,
                    });
                    return true;
                }
                chunk.push(item);
                count += 1;
                // A send fails only when the renderer stopped on an error,
                // which its result carries.
                if chunk.len() == CHUNK
                    && send
                        .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                        .is_err()
                {
                    return false;
                }
                count < limit
            });
        }
        let _ = send.send(chunk);
        drop(send);
        let targets = renderer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (targets, read)
    });
    read?;
    let sources_digest = store.sources_digest(names)?;
    targets?
        .into_iter()
        .map(|t| {
            let path = t.file.path().to_owned();
            let changed = t.file.commit()?;
            if let Some(mut placed) = t.placed {
                for entry in &turned_away {
                    placed.push(entry)?;
                }
                splice::record(
                    store,
                    &path,
                    splice::basis(settings, output, t.format, &sources_digest),
                    placed,
                )?;
            }
            Ok(Written {
                path,
                items: count,
                changed,
            })
        })
        .collect()
}
