//! Incremental publishing: a file is rebuilt from the last one, copying
//! the bytes of every item that did not change and rendering only the
//! items that did, so a run where a tenth of the feeds changed costs what
//! changed, not a render of every item an output holds.
//!
//! After every publish, each RSS, Atom and JSON Feed file's layout (where
//! each item's bytes sit, and the item's change stamp) is recorded in the
//! state. The next publish reads only the output's item keys; an item
//! whose stamp and context (see [`FormatWriter::context`]) are the same
//! is copied, file to file, from its recorded place. Anything the items'
//! bytes depend on besides the items (the config, the sources' titles
//! and links, this program's version) goes into the layout's basis: when
//! it changes, or the file is not the one recorded, the output is
//! rebuilt in full, which gives the same bytes (a test compares them).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use super::{
    FormatWriter, Head, Run, Written, build_error, file_path, head, publish_streaming, spliceable,
    updated_from, write, writer_for,
};
use crate::config::{FilterFields, Format, Output, Settings};
use crate::error::PublishError;
use crate::store::{ItemKey, LayoutEntries, Placed, Placements, Stamp, Store, StoredItem};

/// Items read and rendered in full at most: more changed than this and
/// the output is rebuilt by streaming, whose memory stays bounded.
const MOST_CHANGED: usize = 4096;

/// Bumped when the item bytes a layout points at could differ for the
/// same basis (a change in how layouts are kept).
const LAYOUT_VERSION: &str = "1";

/// What, besides the items, the bytes of `output`'s items in `format`
/// depend on.
pub(super) fn basis(
    settings: &Settings,
    output: &Output,
    format: Format,
    sources_digest: &[u8; 16],
) -> [u8; 16] {
    let mut text = Vec::new();
    for part in [
        settings.fingerprint.as_str(),
        output.name.as_str(),
        format.extension(),
        env!("CARGO_PKG_VERSION"),
        LAYOUT_VERSION,
    ] {
        text.extend_from_slice(part.as_bytes());
        text.push(0);
    }
    text.extend_from_slice(sources_digest);
    xxhash_rust::xxh3::xxh3_128(&text).to_le_bytes()
}

/// The state's name for a published file.
fn layout_key(path: &Path) -> String {
    path.display().to_string()
}

/// The file's length and modification time (nanoseconds).
fn stat(path: &Path) -> Option<(u64, i64)> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let ns = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), i64::try_from(ns).ok()?))
}

/// Records the layout of the file just published at `path`.
pub(super) fn record(
    store: &Store,
    path: &Path,
    basis: [u8; 16],
    placed: Placements,
) -> Result<(), PublishError> {
    let stamp = stat(path).map(|(file_len, file_mtime_ns)| Stamp {
        basis,
        file_len,
        file_mtime_ns,
    });
    Ok(store.set_layout(&layout_key(path), stamp.as_ref().map(|s| (s, placed)))?)
}

/// The entries of a recorded layout by item row id: packed as
/// `row_id << 24 | index` and sorted, 8 bytes per entry, where a hash map
/// would hold about three times that.
struct Index(Vec<u64>);

/// Bits of an [`Index`] entry that hold the layout index.
const INDEX_BITS: u32 = 24;

impl Index {
    /// Reads every entry's row id; `None` when one does not fit the packing
    /// (the output is then rebuilt in full).
    fn of(entries: &mut LayoutEntries<'_>) -> Result<Option<Self>, PublishError> {
        if entries.len() >= 1 << INDEX_BITS {
            return Ok(None);
        }
        let mut packed = Vec::with_capacity(entries.len());
        for k in 0..entries.len() {
            let row = entries.get(k)?.row_id;
            match u64::try_from(row) {
                Ok(row) if row < 1 << (64 - INDEX_BITS) => {
                    packed.push(row << INDEX_BITS | k as u64);
                }
                _ => return Ok(None),
            }
        }
        packed.sort_unstable();
        Ok(Some(Self(packed)))
    }

    /// The entry of `entries` recorded for the item `row_id`, if any.
    fn find(
        &self,
        entries: &mut LayoutEntries<'_>,
        row_id: i64,
    ) -> Result<Option<Placed>, PublishError> {
        let Ok(row) = u64::try_from(row_id) else {
            return Ok(None);
        };
        let at = self.0.partition_point(|&p| p >> INDEX_BITS < row);
        let Some(&p) = self.0.get(at).filter(|&&p| p >> INDEX_BITS == row) else {
            return Ok(None);
        };
        let index = usize::try_from(p & ((1 << INDEX_BITS) - 1)).unwrap_or(usize::MAX);
        if index >= entries.len() {
            return Ok(None);
        }
        // Another format's layout may list its items in another order.
        Ok(Some(entries.get(index)?).filter(|e| e.row_id == row_id))
    }
}

/// Publishes `output` from its last files, or returns `None` when it must
/// be rebuilt in full: a file or its layout is missing or stale, or too
/// many items changed.
pub(super) fn publish(
    settings: &Settings,
    output: &Output,
    names: &[String],
    store: &Store,
) -> Result<Option<Vec<Written>>, PublishError> {
    let formats: Vec<Format> = output
        .formats
        .iter()
        .copied()
        .filter(|f| spliceable(*f))
        .collect();
    if formats.is_empty() || names.is_empty() {
        return Ok(None);
    }
    let sources_digest = store.sources_digest(names)?;
    let mut lasts = Vec::with_capacity(formats.len());
    for &format in &formats {
        let path = file_path(settings, output, format);
        let Some(layout) = store.layout(&layout_key(&path))? else {
            tracing::debug!(file = %path.display(), "Rebuilding: no layout recorded.");
            return Ok(None);
        };
        if layout.stamp.basis != basis(settings, output, format, &sources_digest) {
            tracing::debug!(file = %path.display(), "Rebuilding: the config or a source changed.");
            return Ok(None);
        }
        if stat(&path) != Some((layout.stamp.file_len, layout.stamp.file_mtime_ns)) {
            tracing::debug!(file = %path.display(), "Rebuilding: the file is not the one recorded.");
            return Ok(None);
        }
        lasts.push(layout);
    }
    let mut entries = lasts
        .iter()
        .map(|last| store.layout_entries(last))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(index) = Index::of(&mut entries[0])? else {
        tracing::debug!(output = %output.name, "Rebuilding: the layout is too large to index.");
        return Ok(None);
    };
    // The newest keys are enough for an output that keeps a few (reading
    // every item's key was 44% of a churn run's CPU at 10,000 feeds): twice
    // its size, and all of them only if the filter turned away so many
    // that those ran out first.
    let mut limit = output.max_items.saturating_mul(2).saturating_add(16);
    let mut chosen = loop {
        let keys = store.item_keys(names, limit)?;
        let complete = keys.len() < limit;
        let Some(chosen) = choose(output, keys, (&index, &mut entries[0]), store)? else {
            tracing::debug!(output = %output.name, "Rebuilding: too many items changed.");
            return Ok(None);
        };
        if complete || chosen.included.len() >= output.max_items {
            break chosen;
        }
        limit = usize::MAX;
    };
    // Each format's copies, and the unchanged items whose context moved
    // (Atom entries that must take another second): read those too, so
    // the files can then be written at once, without the store.
    let mut plans = Vec::with_capacity(formats.len());
    for (&format, last) in formats.iter().zip(&mut entries) {
        let plan = Plan::new(format, (&index, last), &chosen)?;
        let moved: Vec<i64> = plan
            .copies
            .iter()
            .zip(&chosen.included)
            .filter(|(copy, key)| copy.span().is_none() && !chosen.read.contains_key(&key.row_id))
            .map(|(_, key)| key.row_id)
            .collect();
        if chosen.read.len() + moved.len() > MOST_CHANGED {
            tracing::debug!(output = %output.name, "Rebuilding: too many items moved.");
            return Ok(None);
        }
        chosen.read.extend(store.items_by_id(&moved)?);
        plans.push(plan);
    }
    // The layouts are recorded again below: their handles go first.
    drop(entries);
    drop(index);
    // The files share nothing: each is written on a thread of its own,
    // so one's copying overlaps another's rendering and syncing.
    let chosen = &chosen;
    let results: Vec<Result<Rebuilt, PublishError>> = std::thread::scope(|scope| {
        let running: Vec<_> = plans
            .iter()
            .map(|plan| scope.spawn(move || rebuild(settings, output, plan, chosen)))
            .collect();
        running
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut written = Vec::new();
    for (plan, result) in plans.iter().zip(results) {
        let Rebuilt {
            placed,
            changed,
            rendered,
        } = result?;
        let path = file_path(settings, output, plan.format);
        tracing::info!(
            file = %path.display(),
            items = chosen.included.len(),
            rendered,
            "Published from the last file."
        );
        record(
            store,
            &path,
            basis(settings, output, plan.format, &sources_digest),
            placed,
        )?;
        written.push(Written {
            path,
            items: chosen.included.len(),
            changed,
        });
    }
    // The page and the OPML file do not lay items out one after another:
    // they are written as always, from only the items they show.
    let others: Vec<Format> = output
        .formats
        .iter()
        .copied()
        .filter(|f| !spliceable(*f))
        .collect();
    if !others.is_empty() {
        let limit = if others.contains(&Format::Html) {
            output.page_items.min(output.max_items)
        } else {
            1
        };
        written.extend(publish_streaming(
            settings,
            output,
            (names, &others),
            limit,
            store,
        )?);
    }
    Ok(Some(written))
}

/// The items an output holds now, and those of them read in full.
struct Chosen {
    /// In order.
    included: Vec<ItemKey>,
    /// Those the filter turned away, as layouts keep them.
    turned_away: Vec<Placed>,
    /// Items read because they changed since the last layout.
    read: HashMap<i64, StoredItem>,
}

/// Walks the item keys as the streaming publish walks the items: an item
/// whose stamp is the last layout's keeps the filter's verdict; any other
/// is read and filtered. `None` when too many changed. The keys an output
/// holds are kept in place, as `included`.
fn choose(
    output: &Output,
    mut keys: Vec<ItemKey>,
    (index, last): (&Index, &mut LayoutEntries<'_>),
    store: &Store,
) -> Result<Option<Chosen>, PublishError> {
    let mut turned_away = Vec::new();
    let mut read = HashMap::new();
    let mut kept = 0;
    for k in 0..keys.len() {
        if kept >= output.max_items {
            break;
        }
        let key = keys[k];
        let known = index
            .find(last, key.row_id)?
            .filter(|p| p.revision == key.revision);
        let wanted = if let Some(p) = known {
            p.span.is_some()
        } else {
            if read.len() >= MOST_CHANGED {
                return Ok(None);
            }
            let Some(item) = store.items_by_id(&[key.row_id])?.remove(&key.row_id) else {
                continue;
            };
            let accepted = output.filter.accepts(&FilterFields::of(&item.article));
            if accepted {
                read.insert(key.row_id, item);
            }
            accepted
        };
        if wanted {
            keys[kept] = key;
            kept += 1;
        } else {
            turned_away.push(Placed {
                row_id: key.row_id,
                revision: key.revision,
                context: 0,
                span: None,
            });
        }
    }
    keys.truncate(kept);
    Ok(Some(Chosen {
        included: keys,
        turned_away,
        read,
    }))
}

/// Where the next copied run of old bytes starts and ends in the last
/// file, and where it starts in the new one.
struct Copying {
    from: u64,
    to: u64,
    at: u64,
}

/// Where in the last file an included item's bytes can be copied from,
/// packed in 8 bytes (offset in the high 40 bits, length in the low 24),
/// since a plan holds one per item per format. An item whose place does
/// not fit is rendered again, which gives the same bytes.
#[derive(Clone, Copy)]
struct Copy(u64);

impl Copy {
    const RENDER: Self = Self(u64::MAX);
    const LEN_BITS: u32 = 24;

    fn of(span: Option<(u64, u64)>) -> Self {
        match span {
            Some((start, len))
                if start < 1 << (64 - Self::LEN_BITS) && len < (1 << Self::LEN_BITS) - 1 =>
            {
                Self(start << Self::LEN_BITS | len)
            }
            _ => Self::RENDER,
        }
    }

    fn span(self) -> Option<(u64, u64)> {
        (self.0 != Self::RENDER.0).then_some((
            self.0 >> Self::LEN_BITS,
            self.0 & ((1 << Self::LEN_BITS) - 1),
        ))
    }
}

/// One file's part of a publish: where in the last file the bytes of the
/// items that can be copied are. (Each item's context is worked out
/// again while writing: the same calls in the same order give the same.)
struct Plan {
    format: Format,
    /// Beside each included item.
    copies: Vec<Copy>,
}

impl Plan {
    fn new(
        format: Format,
        (index, last): (&Index, &mut LayoutEntries<'_>),
        chosen: &Chosen,
    ) -> Result<Self, PublishError> {
        let mut writer = writer_for(format);
        let mut copies = Vec::with_capacity(chosen.included.len());
        for key in &chosen.included {
            let context = writer.context(updated_from(key.published, key.updated));
            let span = index
                .find(last, key.row_id)?
                .filter(|p| p.revision == key.revision && p.context == context)
                .and_then(|p| p.span);
            copies.push(Copy::of(span));
        }
        Ok(Self { format, copies })
    }
}

/// What writing one file from the last one did.
struct Rebuilt {
    /// The new layout's entries.
    placed: Placements,
    /// Whether the file's bytes changed.
    changed: bool,
    /// Items rendered (the rest were copied).
    rendered: usize,
}

/// Writes one file from the last one and the chosen items.
fn rebuild(
    settings: &Settings,
    output: &Output,
    plan: &Plan,
    chosen: &Chosen,
) -> Result<Rebuilt, PublishError> {
    let format = plan.format;
    let path = file_path(settings, output, format);
    let fail = |source| PublishError::Write {
        path: path.clone(),
        source,
    };
    let old = File::open(&path).map_err(fail)?;
    let updated = chosen
        .included
        .first()
        .map(|k| updated_from(k.published, k.updated));
    let head: Head<'_> = head(settings, output, format, &[], updated);
    let mut writer: Box<dyn FormatWriter> = writer_for(format);
    let mut file = write::Staged::new(&path)?;
    let mut buf = Vec::new();
    writer
        .begin(&head, &mut buf)
        .map_err(build_error(output, format))?;
    file.append(&buf)?;
    let separator = writer.separator();
    let gap = separator.len() as u64;
    let mut placed = Placements::new()?;
    let mut copying: Option<Copying> = None;
    let mut rendered = 0usize;
    for (k, (key, copy)) in chosen.included.iter().zip(&plan.copies).enumerate() {
        let after_item = k > 0;
        let context = writer.context(updated_from(key.published, key.updated));
        if let Some((start, len)) = copy.span() {
            // Consecutive in the last file too: one copy, separators and all.
            let at = match &mut copying {
                Some(run) if run.to + gap == start => {
                    let at = run.at + (start - run.from);
                    run.to = start + len;
                    at
                }
                _ => {
                    if let Some(run) = copying.take() {
                        file.copy_from(&old, run.from, run.to - run.from)?;
                    }
                    if after_item {
                        file.append(separator)?;
                    }
                    copying = Some(Copying {
                        from: start,
                        to: start + len,
                        at: file.len(),
                    });
                    file.len()
                }
            };
            placed.push(&Placed {
                row_id: key.row_id,
                revision: key.revision,
                context,
                span: Some((at, len)),
            })?;
            continue;
        }
        if let Some(run) = copying.take() {
            file.copy_from(&old, run.from, run.to - run.from)?;
        }
        let item = chosen.read.get(&key.row_id).ok_or_else(|| {
            build_error(output, format)(format!(
                "item {} left the state while publishing",
                key.row_id
            ))
        })?;
        let (mut out, mut spans) = (Vec::new(), Vec::with_capacity(1));
        let run = Run {
            items: std::slice::from_ref(item),
            contexts: &[context],
            after_item,
        };
        writer
            .items(&head, &run, &mut out, &mut spans)
            .map_err(build_error(output, format))?;
        let &[(start, len)] = spans.as_slice() else {
            return Err(build_error(output, format)("placed no item".into()));
        };
        let at = file.len() + start as u64;
        file.append(&out)?;
        rendered += 1;
        placed.push(&Placed {
            row_id: key.row_id,
            revision: key.revision,
            context,
            span: Some((at, len as u64)),
        })?;
    }
    if let Some(run) = copying.take() {
        file.copy_from(&old, run.from, run.to - run.from)?;
    }
    buf.clear();
    writer
        .end(&head, &mut buf)
        .map_err(build_error(output, format))?;
    file.append(&buf)?;
    for entry in &chosen.turned_away {
        placed.push(entry)?;
    }
    drop(old);
    let changed = file.commit()?;
    Ok(Rebuilt {
        placed,
        changed,
        rendered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_pack_what_fits_and_render_the_rest() {
        for span in [(0, 0), (7, 1), ((1 << 40) - 1, (1 << 24) - 2)] {
            assert_eq!(Copy::of(Some(span)).span(), Some(span));
        }
        for span in [None, Some((1 << 40, 5)), Some((5, (1 << 24) - 1))] {
            assert_eq!(Copy::of(span).span(), None, "{span:?}");
        }
    }

    #[test]
    fn the_index_finds_each_entry_by_row_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        // Row ids out of order, as a layout lists items newest first.
        let rows: Vec<i64> = (0..9000).map(|k| (k * 7919) % 9001 + 1).collect();
        let mut placed = Placements::new().unwrap();
        for &row_id in &rows {
            let entry = Placed {
                row_id,
                revision: row_id * 2,
                context: 0,
                span: Some((u64::try_from(row_id).unwrap(), 1)),
            };
            placed.push(&entry).unwrap();
        }
        let stamp = Stamp {
            basis: [0; 16],
            file_len: 1,
            file_mtime_ns: 1,
        };
        store.set_layout("f", Some((&stamp, placed))).unwrap();
        let layout = store.layout("f").unwrap().unwrap();
        let mut entries = store.layout_entries(&layout).unwrap();
        let index = Index::of(&mut entries).unwrap().unwrap();
        for &row_id in rows.iter().rev() {
            let found = index.find(&mut entries, row_id).unwrap().unwrap();
            assert_eq!((found.row_id, found.revision), (row_id, row_id * 2));
        }
        for absent in [0, -3, 9002, 1 << 50] {
            assert!(index.find(&mut entries, absent).unwrap().is_none());
        }
    }
}
