//! What incremental publishing reads and keeps: the items of an output as
//! keys only (no bodies), single items by id, and each published file's
//! layout (where every item's bytes sit in it), so the next publish copies
//! the bytes of unchanged items instead of rendering them again.

use std::collections::HashMap;

use super::db::{Db, params};
use super::{ITEM_COLUMNS, Store, StoredItem, from_ts, item_from_row};
use crate::error::{StoreError, query};
use chrono::{DateTime, Utc};

/// An item of an output as publishing first sees it: enough to order it,
/// date it and tell whether it changed, without reading its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemKey {
    /// The row's id.
    pub row_id: i64,
    /// Its change stamp.
    pub revision: i64,
    /// When it was published.
    pub published: DateTime<Utc>,
    /// When it was updated, if it says.
    pub updated: Option<DateTime<Utc>>,
}

/// Where one item sits in a published file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// The item's row id.
    pub row_id: i64,
    /// Its change stamp when it was written.
    pub revision: i64,
    /// What else its bytes depended on (a format's own value, such as the
    /// `updated` second Atom gave it).
    pub context: i64,
    /// Its bytes' offset and length in the file; `None` for an item the
    /// output's filter turned away (so the filter need not run again).
    pub span: Option<(u64, u64)>,
}

const PLACED_BYTES: usize = 40;

impl Placed {
    fn encode(&self, out: &mut Vec<u8>) {
        let (start, len) = self.span.unwrap_or((u64::MAX, 0));
        out.extend_from_slice(&self.row_id.to_le_bytes());
        out.extend_from_slice(&self.revision.to_le_bytes());
        out.extend_from_slice(&self.context.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
        let word = |k: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[k * 8..k * 8 + 8]);
            w
        };
        let (start, len) = (u64::from_le_bytes(word(3)), u64::from_le_bytes(word(4)));
        Self {
            row_id: i64::from_le_bytes(word(0)),
            revision: i64::from_le_bytes(word(1)),
            context: i64::from_le_bytes(word(2)),
            span: (start != u64::MAX).then_some((start, len)),
        }
    }
}

/// What a layout is recorded for: the file as written and what its
/// items' bytes depended on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// See the `basis` column.
    pub basis: [u8; 16],
    /// The file's length when written.
    pub file_len: u64,
    /// Its modification time when written, in nanoseconds.
    pub file_mtime_ns: i64,
}

/// A published file's layout, as recorded after writing it. Its entries
/// stay in the state file, read through [`LayoutEntries`]: an output of
/// every item would otherwise hold 40 bytes per item per format in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// What it was recorded for.
    pub stamp: Stamp,
    /// How many entries it has.
    pub entries: usize,
    /// Its row in `layouts`, for the blob handle.
    row: i64,
    /// The file it is recorded for (its key in `layouts`).
    file: String,
}

/// Where a layout's entries are read from.
enum Entries<'s> {
    /// SQLite: by blob I/O.
    Blob(rusqlite::blob::Blob<'s>),
    /// PostgreSQL: a window at a time, as a substring of the column.
    Column { db: &'s Db, file: String },
}

/// Entries read through a window of consecutive ones: publishing reads
/// them mostly in order, so one read serves thousands.
pub struct LayoutEntries<'s> {
    source: Entries<'s>,
    entries: usize,
    window: Vec<u8>,
    /// The index of the window's first entry.
    first: usize,
}

/// Entries read at a time.
const WINDOW: usize = 4096;

fn layout_io(context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Layout { context, source }
}

impl LayoutEntries<'_> {
    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The entry at `index` (below [`LayoutEntries::len`]).
    ///
    /// # Errors
    /// When the blob cannot be read (or `index` is out of range).
    pub fn get(&mut self, index: usize) -> Result<Placed, StoreError> {
        let have = self.window.len() / PLACED_BYTES;
        if index < self.first || index >= self.first + have {
            let count = WINDOW.min(self.entries.saturating_sub(index));
            if count == 0 {
                return Err(layout_io("reading an entry")(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("entry {index} of {}", self.entries),
                )));
            }
            self.window.resize(count * PLACED_BYTES, 0);
            match &self.source {
                Entries::Blob(blob) => blob
                    .read_at_exact(&mut self.window, index * PLACED_BYTES)
                    .map_err(query("reading a layout"))?,
                Entries::Column { db, file } => {
                    let at = i64::try_from(index * PLACED_BYTES + 1).unwrap_or(i64::MAX);
                    let len = i64::try_from(self.window.len()).unwrap_or(i64::MAX);
                    let bytes: Vec<u8> = db
                        .query_row(
                            "SELECT substring(placed FROM ?2::bigint::int FOR ?3::bigint::int) FROM layouts WHERE file = ?1",
                            params![file, at, len],
                            |r| r.get(0),
                        )
                        .map_err(query("reading a layout"))?;
                    if bytes.len() != self.window.len() {
                        return Err(layout_io("reading an entry")(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("entry {index} of {}", self.entries),
                        )));
                    }
                    self.window = bytes;
                }
            }
            self.first = index;
        }
        let at = (index - self.first) * PLACED_BYTES;
        Ok(Placed::decode(&self.window[at..at + PLACED_BYTES]))
    }
}

/// A layout's entries as a publish makes them, kept in an unnamed temp
/// file until [`Store::set_layout`] copies them into the state.
pub struct Placements {
    file: std::io::BufWriter<std::fs::File>,
    count: usize,
    record: Vec<u8>,
}

impl Placements {
    /// An empty list.
    ///
    /// # Errors
    /// When no temp file can be made.
    pub fn new() -> Result<Self, StoreError> {
        Ok(Self {
            file: std::io::BufWriter::with_capacity(
                64 * 1024,
                tempfile::tempfile().map_err(layout_io("making a temp file"))?,
            ),
            count: 0,
            record: Vec::with_capacity(PLACED_BYTES),
        })
    }

    /// Adds the next entry.
    ///
    /// # Errors
    /// When the temp file cannot be written.
    pub fn push(&mut self, entry: &Placed) -> Result<(), StoreError> {
        use std::io::Write;
        self.record.clear();
        entry.encode(&mut self.record);
        self.count += 1;
        self.file
            .write_all(&self.record)
            .map_err(layout_io("writing a temp file"))
    }

    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl Store {
    /// The newest `limit` items of the named sources, newest first (ties
    /// by id): the order [`Store::newest_items`] gives, without reading
    /// any body. Also
    /// makes these sources the ones [`Store::items_by_id`] attributes to.
    ///
    /// # Errors
    /// On a failed query.
    pub fn item_keys(&self, sources: &[String], limit: usize) -> Result<Vec<ItemKey>, StoreError> {
        self.fill_wanted(sources)?;
        // SQLite reads a negative limit as none; PostgreSQL, NULL.
        let limit = i64::try_from(limit).ok();
        self.db
            .query_vec(
                "SELECT i.id, i.revision, i.published, i.updated FROM items i
                 WHERE EXISTS (SELECT 1 FROM item_sources s
                               WHERE s.item_id = i.id AND s.source IN (SELECT name FROM wanted))
                 ORDER BY i.published DESC, i.public_id LIMIT ?1",
                params![limit.or(match self.db.dialect() {
                    super::db::Dialect::Sqlite => Some(-1),
                    super::db::Dialect::Postgres => None,
                })],
                |r| {
                    Ok(ItemKey {
                        row_id: r.get(0)?,
                        revision: r.get(1)?,
                        published: from_ts(r.get(2)?),
                        updated: r.get::<Option<i64>>(3)?.map(from_ts),
                    })
                },
            )
            .map_err(query("reading item keys"))
    }

    /// Whole items by row id, attributed to the sources of the last
    /// [`Store::item_keys`] call; ids no longer stored are left out.
    ///
    /// # Errors
    /// On a failed query.
    pub fn items_by_id(&self, ids: &[i64]) -> Result<HashMap<i64, StoredItem>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for &id in ids {
            let item = self
                .db
                .query_opt(
                    &format!("SELECT {ITEM_COLUMNS} FROM items i WHERE i.id = ?1"),
                    params![id],
                    item_from_row,
                )
                .map_err(query("reading an item"))?;
            if let Some(mut item) = item {
                item.sources = self.attributions(id)?;
                found.insert(id, item);
            }
        }
        Ok(found)
    }

    /// A digest of what the state says of the named sources that items'
    /// attributions carry: when it changes, every item's bytes may have.
    ///
    /// # Errors
    /// On a failed query.
    pub fn sources_digest(&self, sources: &[String]) -> Result<[u8; 16], StoreError> {
        let mut text = String::new();
        for name in sources {
            let row: Option<[Option<String>; 5]> = self
                .db
                .query_opt(
                    "SELECT location, title, site_link, feed_id, self_link FROM sources WHERE name = ?1",
                    params![name],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
                )
                .map_err(query("reading sources"))?;
            text.push_str(name);
            for field in row.iter().flatten() {
                text.push('\u{1f}');
                text.push_str(field.as_deref().unwrap_or("\u{0}"));
            }
            text.push('\u{1e}');
        }
        Ok(xxhash_rust::xxh3::xxh3_128(text.as_bytes()).to_le_bytes())
    }

    /// The recorded layout of a published file.
    ///
    /// # Errors
    /// On a failed query.
    pub fn layout(&self, file: &str) -> Result<Option<Layout>, StoreError> {
        self.db
            .query_opt(
                self.db.pick(
                    "SELECT basis, file_len, file_mtime_ns, length(placed), rowid
                     FROM layouts WHERE file = ?1",
                    "SELECT basis, file_len, file_mtime_ns, CAST(length(placed) AS BIGINT), 0::BIGINT
                     FROM layouts WHERE file = ?1",
                ),
                params![file],
                |r| {
                    let basis: Vec<u8> = r.get(0)?;
                    Ok((
                        basis,
                        r.get::<i64>(1)?,
                        r.get(2)?,
                        r.get::<i64>(3)?,
                        r.get(4)?,
                    ))
                },
            )
            .map_err(query("reading a layout"))
            .map(|row| {
                let (basis, len, file_mtime_ns, bytes, row) = row?;
                let basis = <[u8; 16]>::try_from(basis.as_slice()).ok()?;
                let bytes = usize::try_from(bytes).ok()?;
                (bytes % PLACED_BYTES == 0).then(|| Layout {
                    stamp: Stamp {
                        basis,
                        file_len: u64::try_from(len).unwrap_or_default(),
                        file_mtime_ns,
                    },
                    entries: bytes / PLACED_BYTES,
                    row,
                    file: file.to_owned(),
                })
            })
    }

    /// A handle on a recorded layout's entries. It must be dropped before
    /// the layout is recorded again.
    ///
    /// # Errors
    /// When the layout's row is gone or cannot be opened.
    pub fn layout_entries(&self, layout: &Layout) -> Result<LayoutEntries<'_>, StoreError> {
        let source = match self.db.as_sqlite() {
            Some(conn) => Entries::Blob(
                conn.blob_open(rusqlite::MAIN_DB, "layouts", "placed", layout.row, true)
                    .map_err(query("opening a layout"))?,
            ),
            None => Entries::Column {
                db: &self.db,
                file: layout.file.clone(),
            },
        };
        Ok(LayoutEntries {
            source,
            entries: layout.entries,
            window: Vec::new(),
            first: 0,
        })
    }

    /// Records a published file's layout (or forgets it, with `None`),
    /// copying its entries from their temp file into the state by blob
    /// I/O, so they are never all in memory.
    ///
    /// # Errors
    /// On a failed query, or when the temp file cannot be read.
    pub fn set_layout(
        &self,
        file: &str,
        layout: Option<(&Stamp, Placements)>,
    ) -> Result<(), StoreError> {
        let Some((stamp, placed)) = layout else {
            return self
                .db
                .execute("DELETE FROM layouts WHERE file = ?1", params![file])
                .map(drop)
                .map_err(query("forgetting a layout"));
        };
        let bytes = placed.count * PLACED_BYTES;
        let entries = placed
            .file
            .into_inner()
            .map_err(|e| layout_io("writing a temp file")(e.into_error()))?;
        self.atomically("recording a layout", |conn| {
            Self::write_layout(conn, file, stamp, bytes, entries)
        })
    }

    /// [`Store::set_layout`]'s row and blob.
    fn write_layout(
        db: &Db,
        file: &str,
        stamp: &Stamp,
        bytes: usize,
        mut entries: std::fs::File,
    ) -> Result<(), StoreError> {
        use std::io::{Read, Seek};
        let Some(conn) = db.as_sqlite() else {
            // PostgreSQL has no blob I/O: the entries go in whole (40 bytes
            // an item: 2.6 MB for 65,000 items).
            entries.rewind().map_err(layout_io("reading a temp file"))?;
            let mut placed = Vec::with_capacity(bytes);
            entries
                .read_to_end(&mut placed)
                .map_err(layout_io("reading a temp file"))?;
            return db
                .execute(
                    "INSERT INTO layouts (file, basis, file_len, file_mtime_ns, placed)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(file) DO UPDATE SET basis = excluded.basis,
                        file_len = excluded.file_len, file_mtime_ns = excluded.file_mtime_ns,
                        placed = excluded.placed",
                    params![
                        file,
                        stamp.basis.as_slice(),
                        i64::try_from(stamp.file_len).unwrap_or(i64::MAX),
                        stamp.file_mtime_ns,
                        placed,
                    ],
                )
                .map(drop)
                .map_err(query("recording a layout"));
        };
        let row: i64 = conn
            .query_row(
                "INSERT INTO layouts (file, basis, file_len, file_mtime_ns, placed)
                 VALUES (?1, ?2, ?3, ?4, zeroblob(?5))
                 ON CONFLICT(file) DO UPDATE SET basis = excluded.basis,
                    file_len = excluded.file_len, file_mtime_ns = excluded.file_mtime_ns,
                    placed = excluded.placed
                 RETURNING rowid",
                rusqlite::params![
                    file,
                    stamp.basis.as_slice(),
                    i64::try_from(stamp.file_len).unwrap_or(i64::MAX),
                    stamp.file_mtime_ns,
                    i64::try_from(bytes).unwrap_or(i64::MAX),
                ],
                |r| r.get(0),
            )
            .map_err(query("recording a layout"))?;
        if bytes == 0 {
            return Ok(());
        }
        let mut blob = conn
            .blob_open(rusqlite::MAIN_DB, "layouts", "placed", row, false)
            .map_err(query("opening a layout"))?;
        entries.rewind().map_err(layout_io("reading a temp file"))?;
        let copied = std::io::copy(&mut std::io::BufReader::new(entries), &mut blob)
            .map_err(layout_io("copying a layout"))?;
        if copied == bytes as u64 {
            Ok(())
        } else {
            Err(layout_io("copying a layout")(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{copied} of {bytes} bytes"),
            )))
        }
    }
}

/// Which outputs match the state, and when each was last written.
impl Store {
    /// The fingerprint the outputs in `folder` were last built from, if
    /// they are current. Kept per folder: workers sharing a database each
    /// publish into their own, and one's publish says nothing of another's.
    ///
    /// # Errors
    /// On a failed query.
    pub fn published_fingerprint(&self, folder: &str) -> Result<Option<String>, StoreError> {
        self.db
            .query_opt(
                "SELECT value FROM meta WHERE key = 'published:' || ?1",
                params![folder],
                |r| r.get(0),
            )
            .map_err(query("reading the publish fingerprint"))
    }

    /// Records that the outputs in `folder` now match the state, built
    /// from `fingerprint`.
    ///
    /// # Errors
    /// On a failed query.
    pub fn set_published_fingerprint(
        &mut self,
        folder: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO meta (key, value) VALUES ('published:' || ?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![folder, fingerprint],
            )
            .map(drop)
            .map_err(query("recording the publish fingerprint"))
    }

    /// Records that `output`'s files were written at `at` holding `items`
    /// items (for `/metrics`).
    ///
    /// # Errors
    /// On a failed query.
    pub fn set_output_published(
        &mut self,
        output: &str,
        items: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO meta (key, value) VALUES ('output:' || ?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![output, format!("{items} {}", at.timestamp())],
            )
            .map(drop)
            .map_err(query("recording a publish"))
    }

    /// Every output's last publish: (name, items, Unix time), by name.
    ///
    /// # Errors
    /// On a failed query.
    pub fn outputs_published(&self) -> Result<Vec<(String, usize, i64)>, StoreError> {
        let rows = self
            .db
            .query_vec(
                "SELECT substr(key, 8), value FROM meta WHERE key LIKE 'output:%' ORDER BY key",
                &[],
                |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
            )
            .map_err(query("reading publishes"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, value)| {
                let (items, at) = value.split_once(' ')?;
                Some((name, items.parse().ok()?, at.parse().ok()?))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_entries_survive_encoding() {
        let entries = [
            Placed {
                row_id: 7,
                revision: 3,
                context: -5,
                span: Some((120, 4_000)),
            },
            Placed {
                row_id: i64::MAX,
                revision: 0,
                context: 0,
                span: None,
            },
        ];
        let mut bytes = Vec::new();
        for e in &entries {
            e.encode(&mut bytes);
        }
        let back: Vec<Placed> = bytes
            .chunks_exact(PLACED_BYTES)
            .map(Placed::decode)
            .collect();
        assert_eq!(back, entries);
    }

    fn entry(k: usize) -> Placed {
        let k = i64::try_from(k).unwrap();
        Placed {
            row_id: 1000 + k,
            revision: k % 7,
            context: -k,
            span: (k % 5 != 0).then(|| (u64::try_from(k).unwrap() * 100, 90)),
        }
    }

    fn record(store: &Store, file: &str, count: usize, file_len: u64) {
        let mut placed = Placements::new().unwrap();
        for k in 0..count {
            placed.push(&entry(k)).unwrap();
        }
        assert_eq!(placed.len(), count);
        let stamp = Stamp {
            basis: [3; 16],
            file_len,
            file_mtime_ns: 42,
        };
        store.set_layout(file, Some((&stamp, placed))).unwrap();
    }

    #[test]
    fn layouts_go_through_the_state_file_and_back_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        for (_backend, store) in super::super::test_stores(dir.path()) {
            // More entries than one window holds, so reads cross windows.
            let count = WINDOW * 2 + 17;
            record(&store, "all.rss", count, 9_000);
            let layout = store.layout("all.rss").unwrap().unwrap();
            assert_eq!(layout.entries, count);
            assert_eq!(layout.stamp.file_len, 9_000);
            let mut entries = store.layout_entries(&layout).unwrap();
            for k in (0..count)
                .chain((0..count).rev())
                .chain([WINDOW, 3, count - 1])
            {
                assert_eq!(entries.get(k).unwrap(), entry(k), "entry {k}");
            }
            assert!(entries.get(count).is_err(), "past the end is an error");
            drop(entries);

            // Recorded again, shorter: the old entries are gone.
            record(&store, "all.rss", 3, 10);
            let layout = store.layout("all.rss").unwrap().unwrap();
            assert_eq!(layout.entries, 3);
            let mut entries = store.layout_entries(&layout).unwrap();
            assert_eq!(entries.get(2).unwrap(), entry(2));
            assert!(entries.get(3).is_err());
            drop(entries);

            record(&store, "empty.rss", 0, 1);
            assert_eq!(store.layout("empty.rss").unwrap().unwrap().entries, 0);
            store.set_layout("all.rss", None).unwrap();
            assert!(store.layout("all.rss").unwrap().is_none());
        }
    }
}
