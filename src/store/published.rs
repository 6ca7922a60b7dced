//! What incremental publishing reads and keeps: the items of an output as
//! keys only (no bodies), single items by id, and each published file's
//! layout (where every item's bytes sit in it), so the next publish copies
//! the bytes of unchanged items instead of rendering them again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ITEM_COLUMNS, Store, StoredItem, from_ts, item_from_row};
use crate::error::{StoreError, query};

pub(super) const SCHEMA: &str = "
-- Items newest first, covering what publishing reads before the bodies:
-- reading the stamp from the table would walk each body's overflow pages.
-- (It replaces the narrower `items_newest` of earlier versions.)
CREATE INDEX IF NOT EXISTS items_by_date ON items(published DESC, public_id, revision, updated);
DROP INDEX IF EXISTS items_newest;
CREATE TABLE IF NOT EXISTS layouts (
    -- The published file's name in the output folder.
    file          TEXT PRIMARY KEY,
    -- Digest of everything besides the items that the items' bytes depend on.
    basis         BLOB NOT NULL,
    -- The file as written, to tell that it was not replaced since.
    file_len      INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL,
    -- Placed entries, 40 bytes each (see Placed::encode).
    placed        BLOB NOT NULL
);
";

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

/// A published file's layout, as recorded after writing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// See the `basis` column.
    pub basis: [u8; 16],
    /// The file's length when written.
    pub file_len: u64,
    /// Its modification time when written, in nanoseconds.
    pub file_mtime_ns: i64,
    /// Every item considered for it, in order.
    pub placed: Vec<Placed>,
}

impl Store {
    /// The items of the named sources, newest first (ties by id): the
    /// order [`Store::newest_items`] gives, without reading any body. Also
    /// makes these sources the ones [`Store::items_by_id`] attributes to.
    ///
    /// # Errors
    /// On a failed query.
    pub fn item_keys(&self, sources: &[String]) -> Result<Vec<ItemKey>, StoreError> {
        self.fill_wanted(sources)?;
        self.conn
            .prepare_cached(
                "SELECT i.id, i.revision, i.published, i.updated FROM items i
                 WHERE EXISTS (SELECT 1 FROM item_sources s
                               WHERE s.item_id = i.id AND s.source IN temp.wanted)
                 ORDER BY i.published DESC, i.public_id",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    Ok(ItemKey {
                        row_id: r.get(0)?,
                        revision: r.get(1)?,
                        published: from_ts(r.get(2)?),
                        updated: r.get::<_, Option<i64>>(3)?.map(from_ts),
                    })
                })?
                .collect()
            })
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
                .conn
                .prepare_cached(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items i WHERE i.id = ?1"
                ))
                .and_then(|mut stmt| stmt.query_row([id], item_from_row).optional())
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
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT location, title, site_link, feed_id, self_link FROM sources WHERE name = ?1",
            )
            .map_err(query("reading sources"))?;
        let mut text = String::new();
        for name in sources {
            let row: Option<[Option<String>; 5]> = stmt
                .query_row([name], |r| {
                    Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
                })
                .optional()
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
        self.conn
            .prepare_cached(
                "SELECT basis, file_len, file_mtime_ns, placed FROM layouts WHERE file = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([file], |r| {
                    let basis: Vec<u8> = r.get(0)?;
                    let placed: Vec<u8> = r.get(3)?;
                    Ok((basis, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, placed))
                })
                .optional()
            })
            .map_err(query("reading a layout"))
            .map(|row| {
                let (basis, len, mtime, placed) = row?;
                let basis = <[u8; 16]>::try_from(basis.as_slice()).ok()?;
                (placed.len() % PLACED_BYTES == 0).then(|| Layout {
                    basis,
                    file_len: u64::try_from(len).unwrap_or_default(),
                    file_mtime_ns: mtime,
                    placed: placed
                        .chunks_exact(PLACED_BYTES)
                        .map(Placed::decode)
                        .collect(),
                })
            })
    }

    /// Records a published file's layout (or forgets it, with `None`).
    ///
    /// # Errors
    /// On a failed query.
    pub fn set_layout(&self, file: &str, layout: Option<&Layout>) -> Result<(), StoreError> {
        let Some(layout) = layout else {
            return self
                .conn
                .execute("DELETE FROM layouts WHERE file = ?1", [file])
                .map(drop)
                .map_err(query("forgetting a layout"));
        };
        let mut placed = Vec::with_capacity(layout.placed.len() * PLACED_BYTES);
        for p in &layout.placed {
            p.encode(&mut placed);
        }
        self.conn
            .execute(
                "INSERT INTO layouts (file, basis, file_len, file_mtime_ns, placed)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(file) DO UPDATE SET basis = excluded.basis,
                    file_len = excluded.file_len, file_mtime_ns = excluded.file_mtime_ns,
                    placed = excluded.placed",
                params![
                    file,
                    layout.basis.as_slice(),
                    i64::try_from(layout.file_len).unwrap_or(i64::MAX),
                    layout.file_mtime_ns,
                    placed
                ],
            )
            .map(drop)
            .map_err(query("recording a layout"))
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
}
