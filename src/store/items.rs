//! Items: recording a source's entries (new, merged with another source's
//! copy of the same article, or updated), retention, and reading items back
//! with their attributions.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use url::Url;

use super::db::{Db, DbError, Param, Row, params};
use super::{
    Attribution, Batch, RecordStats, Store, StoredItem, When, feed_url, from_ts, json_list,
    location_key, parse_list, to_ts,
};
use crate::config::{Retention, SourceConfig, SourceKind};
use crate::error::{StoreError, query};
use crate::model::{Article, DateSource};
use crate::normalize::link;

impl Store {
    /// Records one source's new articles, validators and meta in one
    /// transaction, then applies retention to that source.
    ///
    /// # Errors
    /// On a failed query; nothing of this source is written then.
    pub fn record_articles(
        &mut self,
        source: &SourceConfig,
        batch: &Batch<'_>,
        retention: Retention,
        when: When,
    ) -> Result<RecordStats, StoreError> {
        let now = when.now;
        let Batch {
            articles,
            digests,
            unchanged,
            meta,
            validators,
            full_text,
        } = *batch;
        let location = location_key(&source.location);
        let (at, next_due_ms) = (to_ts(now), when.next_due.timestamp_millis());
        let (site_link, self_link) = (
            meta.site_link.as_ref().map(Url::as_str),
            meta.self_link.as_ref().map(Url::as_str),
        );
        self.atomically("committing source result", |tx| {
            // Sent together: none of their answers is needed.
            tx.execute_all([
                (
                    super::sources::TOUCH_SOURCE,
                    params![source.name, location, at, next_due_ms, source.priority],
                ),
                (super::sources::MARK_HEALTHY, params![source.name, at]),
                (
                    "UPDATE sources SET title = ?2, site_link = ?3, feed_id = ?4, etag = ?5,
                        last_modified = ?6, self_link = ?7
                     WHERE name = ?1",
                    params![
                        source.name,
                        meta.title,
                        site_link,
                        meta.feed_id,
                        validators.etag,
                        validators.last_modified,
                        self_link
                    ],
                ),
                // The outputs no longer match the state until they are
                // rebuilt; forgetting it here, in this transaction,
                // survives a crash before the publish.
                ("DELETE FROM meta WHERE key LIKE 'published%'", &[]),
            ])
            .map_err(query("storing source meta"))?;
            let mut stats = RecordStats::default();
            let revision = next_revision(tx)?;
            // A source read for the first time has no entries to look up:
            // only keys repeated within this batch can be found, so the
            // others skip a lookup that cannot find anything.
            let had_entries: bool = tx
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM item_sources WHERE source = ?1)",
                    params![source.name],
                    |r| r.get(0),
                )
                .map_err(query("looking up entries"))?;
            let mut first_keys = (!had_entries).then(HashSet::new);
            for (index, article) in articles.iter().enumerate() {
                let digest = digests.get(index).and_then(Option::as_deref);
                upsert(
                    tx,
                    source,
                    meta.site_link.as_ref(),
                    (article, digest),
                    (now, revision),
                    (&mut stats, first_keys.as_mut()),
                )?;
            }
            let touched: Vec<[&dyn Param; 3]> = unchanged
                .iter()
                .map(|key| [&source.name as &dyn Param, key, &at])
                .collect();
            tx.execute_all(touched.iter().map(|p| {
                (
                    "UPDATE item_sources SET last_seen = ?3 WHERE source = ?1 AND key = ?2",
                    &p[..],
                )
            }))
            .map_err(query("touching listed entries"))?;
            apply_retention(tx, source, retention, (now, revision))?;
            if source.full_text.is_some() {
                record_full_text(tx, source, full_text)?;
            }
            Ok(stats)
        })
    }

    /// Calls `each` with items from the given sources, newest first (ties by
    /// id), until it returns `false`. Only the named sources appear in each
    /// item's attributions.
    ///
    /// # Errors
    /// On a failed query.
    pub fn newest_items(
        &self,
        sources: &[String],
        mut each: impl FnMut(StoredItem) -> bool,
    ) -> Result<(), StoreError> {
        self.fill_wanted(sources)?;
        // `wanted` is the temp table (see `fill_wanted`).
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items i
             WHERE EXISTS (SELECT 1 FROM item_sources s
                           WHERE s.item_id = i.id AND s.source IN (SELECT name FROM wanted))
             ORDER BY i.published DESC, i.public_id"
        );
        let mut failed = None;
        self.db
            .query_each(&sql, &[], |row| {
                let mut item = item_from_row(row)?;
                match self.attributions(item.row_id) {
                    Ok(sources) => item.sources = sources,
                    Err(e) => {
                        failed = Some(e);
                        return Ok(false);
                    }
                }
                Ok(each(item))
            })
            .map_err(query("reading items"))?;
        failed.map_or(Ok(()), Err)
    }

    /// Puts the wanted source names into an indexed temp table, for the
    /// item queries that follow: an IN over a JSON list is re-scanned for
    /// every row, which made large outputs quadratic in the number of
    /// sources.
    pub(super) fn fill_wanted(&self, sources: &[String]) -> Result<(), StoreError> {
        self.db
            .batch("CREATE TEMP TABLE IF NOT EXISTS wanted (name TEXT PRIMARY KEY); DELETE FROM wanted;")
            .map_err(query("preparing the source list"))?;
        for name in sources {
            self.db
                .execute(
                    "INSERT INTO wanted (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                    params![name],
                )
                .map_err(query("filling the source list"))?;
        }
        Ok(())
    }

    /// The item's sources among the wanted ones (see [`Self::fill_wanted`]),
    /// its owner first, then in the order they brought it.
    pub(super) fn attributions(&self, item_id: i64) -> Result<Vec<Attribution>, StoreError> {
        self.db
            .query_vec(
                "SELECT s.name, s.location, s.title, s.site_link, s.feed_id, x.link, s.self_link
                 FROM item_sources x JOIN sources s ON s.name = x.source
                 JOIN items i ON i.id = x.item_id
                 WHERE x.item_id = ?1 AND x.source IN (SELECT name FROM wanted)
                 ORDER BY (x.source = i.owner) DESC, x.first_seen, x.source",
                params![item_id],
                |r| {
                    Ok(Attribution {
                        name: r.get(0)?,
                        feed_url: feed_url(r.get(1)?, r.get(6)?),
                        feed_title: r.get(2)?,
                        site_link: r.get(3)?,
                        feed_id: r.get(4)?,
                        link: r.get(5)?,
                    })
                },
            )
            .map_err(query("reading attributions"))
    }

    /// What the state knows of each named source as a subscriber sees it
    /// (its feed, title and site), in the order given; a source never
    /// fetched yet has only its name. For the HTML page's source list.
    ///
    /// # Errors
    /// On a failed query.
    pub fn source_cards(&self, sources: &[String]) -> Result<Vec<Attribution>, StoreError> {
        sources
            .iter()
            .map(|name| {
                let known = self
                    .db
                    .query_opt(
                        "SELECT location, title, site_link, feed_id, self_link FROM sources WHERE name = ?1",
                        params![name],
                        |r| {
                            Ok(Attribution {
                                name: name.clone(),
                                feed_url: feed_url(r.get(0)?, r.get(4)?),
                                feed_title: r.get(1)?,
                                site_link: r.get(2)?,
                                feed_id: r.get(3)?,
                                link: None,
                            })
                        },
                    )
                    .map_err(query("reading sources"))?;
                Ok(known.unwrap_or_else(|| Attribution {
                    name: name.clone(),
                    feed_url: None,
                    feed_title: None,
                    site_link: None,
                    feed_id: None,
                    link: None,
                }))
            })
            .collect()
    }

    /// What a source's fetch should know of what is stored: for scrape
    /// sources, the links of stored items (not fetched again); for feeds,
    /// stored entries by raw digest (only touched when listed unchanged).
    ///
    /// # Errors
    /// On a failed query.
    pub fn known(&self, source: &SourceConfig) -> Result<crate::source::Known, StoreError> {
        let mut known = crate::source::Known::default();
        match source.kind {
            SourceKind::Scrape(_) => {
                known.links = self
                    .db
                    .query_vec(
                        "SELECT link FROM item_sources WHERE source = ?1 AND link IS NOT NULL",
                        params![source.name],
                        |r| r.get::<String>(0),
                    )
                    .map_err(query("reading known links"))?
                    .into_iter()
                    .collect();
            }
            SourceKind::Feed => {
                let digests = &mut known.digests;
                self.db
                    .query_each(
                        self.db.pick(
                            "SELECT digest, key FROM item_sources WHERE source = ?1 AND digest IS NOT NULL
                             ORDER BY rowid",
                            "SELECT digest, key FROM item_sources WHERE source = ?1 AND digest IS NOT NULL
                             ORDER BY seq",
                        ),
                        params![source.name],
                        |r| {
                            digests.entry(r.get::<String>(0)?).or_default().push(r.get(1)?);
                            Ok(true)
                        },
                    )
                    .map_err(query("reading stored digests"))?;
                if source.full_text.is_some() {
                    known.full_text = self
                        .db
                        .query_vec(
                            "SELECT link, body, attempts FROM full_text WHERE source = ?1",
                            params![source.name],
                            |r| {
                                Ok((
                                    r.get::<String>(0)?,
                                    crate::source::PageState {
                                        body: r.get(1)?,
                                        attempts: u32::try_from(r.get::<i64>(2)?)
                                            .unwrap_or(u32::MAX),
                                    },
                                ))
                            },
                        )
                        .map_err(query("reading full texts"))?
                        .into_iter()
                        .collect();
                }
            }
            SourceKind::Files(_) => {}
        }
        Ok(known)
    }

    /// How many items each source has stored (for reports and tests).
    ///
    /// # Errors
    /// On a failed query.
    pub fn item_count(&self, source: &str) -> Result<usize, StoreError> {
        self.db
            .query_row(
                "SELECT COUNT(*) FROM item_sources WHERE source = ?1",
                params![source],
                |r| r.get::<i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or_default())
            .map_err(query("counting items"))
    }
}

/// The columns [`item_from_row`] reads, in its order (`i` is `items`).
pub(super) const ITEM_COLUMNS: &str =
    "i.id, i.public_id, i.link, i.title, i.summary, i.content, i.authors,
    i.categories, i.credit, i.published, i.updated, i.date_source, i.image,
    i.enclosures, i.author_email, i.revision";

/// An item row (see [`ITEM_COLUMNS`]) without its attributions.
pub(super) fn item_from_row(row: &Row<'_>) -> Result<StoredItem, DbError> {
    let link: Option<String> = row.get(2)?;
    Ok(StoredItem {
        row_id: row.get(0)?,
        revision: row.get(15)?,
        public_id: row.get(1)?,
        article: Article {
            guid: None,
            link: link.as_deref().and_then(|l| Url::parse(l).ok()),
            link_text: link,
            title: row.get(3)?,
            summary: row.get(4)?,
            content: row.get(5)?,
            authors: parse_list(&row.get::<String>(6)?),
            categories: parse_list(&row.get::<String>(7)?),
            credit: row.get(8)?,
            image: row
                .get::<Option<String>>(12)?
                .and_then(|i| Url::parse(&i).ok()),
            published: Some(from_ts(row.get(9)?)),
            updated: row.get::<Option<i64>>(10)?.map(from_ts),
            date_source: DateSource::parse(&row.get::<String>(11)?),
            enclosures: row
                .get::<Option<String>>(13)?
                .and_then(|e| serde_json::from_str(&e).ok())
                .unwrap_or_default(),
            author_email: row.get(14)?,
        },
        sources: Vec::new(),
    })
}

/// Stores one article of one source: updates the entry it already is,
/// attaches it to the same article from another source, or inserts it.
fn upsert(
    tx: &Db,
    source: &SourceConfig,
    site: Option<&Url>,
    (a, digest): (&Article, Option<&str>),
    (now, revision): (DateTime<Utc>, i64),
    (stats, first_keys): (&mut RecordStats, Option<&mut HashSet<String>>),
) -> Result<(), StoreError> {
    let key = a.source_key();
    let new_key = first_keys.is_some_and(|keys| keys.insert(key.clone()));
    let link = a.link_str();
    let authors = json_list(&a.authors);
    let categories = json_list(&a.categories);
    let enclosures = (!a.enclosures.is_empty())
        .then(|| serde_json::to_string(&a.enclosures).unwrap_or_default());
    let existing: Option<i64> = if new_key {
        None
    } else {
        tx.query_opt(
            "SELECT item_id FROM item_sources WHERE source = ?1 AND key = ?2",
            params![source.name, key],
            |r| r.get(0),
        )
        .map_err(query("looking up entry"))?
    };
    if let Some(item_id) = existing {
        tx.execute(
            "UPDATE item_sources SET last_seen = ?3, link = ?4, digest = ?5 WHERE source = ?1 AND key = ?2",
            params![source.name, key, to_ts(now), link, digest],
        )
        .map_err(query("touching entry"))?;
        // The owner's fields win where it has them; where it has none, what
        // another source filled in stays (or the item would lose its author
        // every time its owner is read again, and regain it when the other
        // source is). A dated version replaces a first-seen date, but an
        // entry that lost its date keeps the stored one.
        tx.execute(
            "UPDATE items SET
                link = ?3, title = ?4, summary = COALESCE(?5, summary),
                content = COALESCE(?6, content),
                authors = CASE WHEN ?7 = '[]' THEN authors ELSE ?7 END,
                categories = ?8, credit = COALESCE(?9, credit), updated = ?10,
                published = COALESCE(?11, published),
                date_source = CASE WHEN ?11 IS NULL THEN date_source ELSE ?12 END,
                image = COALESCE(?13, image), enclosures = COALESCE(?14, enclosures),
                author_email = COALESCE(?15, author_email), revision = ?16
             WHERE id = ?1 AND owner = ?2",
            params![
                item_id,
                source.name,
                link,
                a.title,
                a.summary,
                a.content,
                authors,
                categories,
                a.credit,
                a.updated.map(to_ts),
                a.published.map(to_ts),
                a.date_source.as_str(),
                a.image.as_ref().map(Url::as_str),
                enclosures,
                a.author_email,
                revision
            ],
        )
        .map_err(query("updating item"))?;
        // Another source's entry: the item is the owner's, but this
        // source's link in its attributions may have changed.
        mark_revised(tx, item_id, revision)?;
        return Ok(());
    }

    let public_id = link::public_id(a.guid.as_deref(), a.link.as_ref(), &source.name, &key);
    // The same article from another source: same canonical link, or the
    // same URI guid. Never merge two entries of one source.
    // One look at the items sharing the id or the link answers both
    // questions: which other source's item this is (the lowest id), and
    // whether the id is taken already (by this source's own entries too).
    let mut same: Option<i64> = None;
    let mut taken = false;
    tx.query_each(
        "SELECT i.id, i.public_id = ?1,
                EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = i.id AND s.source = ?3)
         FROM items i
         WHERE i.public_id = ?1 OR (i.link = ?2 AND ?2 IS NOT NULL)",
        params![public_id, link, source.name],
        |r| {
            let (id, same_id, mine) = (r.get::<i64>(0)?, r.get::<bool>(1)?, r.get::<bool>(2)?);
            taken |= same_id;
            if !mine && same.is_none_or(|s| id < s) {
                same = Some(id);
            }
            Ok(true)
        },
    )
    .map_err(query("looking up same article"))?;
    let item_id = if let Some(item_id) = same {
        if outranks_owner(tx, source, site, item_id, a.link.as_ref())? {
            // The story's origin (or a source ranked higher) arrived after
            // another source carried it: its version is the one published.
            tx.execute(
                "UPDATE items SET owner = ?2, link = ?3, title = ?4, summary = ?5, content = ?6,
                    authors = ?7, categories = ?8, credit = COALESCE(?9, credit),
                    image = COALESCE(?10, image), enclosures = COALESCE(?11, enclosures),
                    author_email = COALESCE(?12, author_email)
                 WHERE id = ?1",
                params![
                    item_id,
                    source.name,
                    link,
                    a.title,
                    a.summary,
                    a.content,
                    authors,
                    categories,
                    a.credit,
                    a.image.as_ref().map(Url::as_str),
                    enclosures,
                    a.author_email
                ],
            )
            .map_err(query("handing an item to its origin"))?;
        }
        tx.execute(
            "UPDATE items SET
                summary = COALESCE(summary, ?2), content = COALESCE(content, ?3),
                authors = CASE WHEN authors = '[]' THEN ?4 ELSE authors END,
                credit = COALESCE(credit, ?5), image = COALESCE(image, ?6),
                enclosures = COALESCE(enclosures, ?7), author_email = COALESCE(author_email, ?8),
                revision = ?9
             WHERE id = ?1",
            params![
                item_id,
                a.summary,
                a.content,
                authors,
                a.credit,
                a.image.as_ref().map(Url::as_str),
                enclosures,
                a.author_email,
                revision
            ],
        )
        .map_err(query("merging item"))?;
        stats.merged += 1;
        item_id
    } else {
        // A URI guid already taken by an item of this very source (a feed
        // reusing one guid) must not collide: fall back to the hashed id.
        let public_id = if taken {
            link::public_id(None, None, &source.name, &key)
        } else {
            public_id
        };
        let item_id = tx.query_row(
            "INSERT INTO items (public_id, owner, link, title, summary, content, authors,
                                categories, credit, published, updated, date_source, first_seen, image,
                                enclosures, author_email, revision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             RETURNING id",
            params![
                public_id,
                source.name,
                link,
                a.title,
                a.summary,
                a.content,
                authors,
                categories,
                a.credit,
                to_ts(a.published.unwrap_or(now)),
                a.updated.map(to_ts),
                a.date_source.as_str(),
                to_ts(now),
                a.image.as_ref().map(Url::as_str),
                enclosures,
                a.author_email,
                revision
            ],
            |r| r.get::<i64>(0),
        )
        .map_err(query("inserting item"))?;
        stats.new += 1;
        item_id
    };
    tx.execute(
        "INSERT INTO item_sources (source, key, item_id, link, first_seen, last_seen, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        params![source.name, key, item_id, link, to_ts(now), digest],
    )
    .map_err(query("attributing item"))?;
    Ok(())
}

/// Whether `source` should own a story another source already brought:
/// the story's origin (the source whose site or feed is on the story
/// link's registrable domain) outranks every other source; between two
/// that are both or neither the origin, the higher `priority` wins; on a
/// tie the first source keeps it, so items never flip between runs.
fn outranks_owner(
    tx: &Db,
    source: &SourceConfig,
    site: Option<&Url>,
    item_id: i64,
    story: Option<&Url>,
) -> Result<bool, StoreError> {
    let owner: Option<(String, Option<String>, i64)> = tx
        .query_opt(
            "SELECT s.location, s.site_link, s.priority FROM items i JOIN sources s ON s.name = i.owner
             WHERE i.id = ?1",
            params![item_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(query("reading the item's owner"))?;
    let Some((owner_location, owner_site, owner_priority)) = owner else {
        return Ok(false);
    };
    let Some(story_domain) = story
        .and_then(Url::host_str)
        .map(crate::source::policy::registrable)
    else {
        return Ok(source.priority > owner_priority);
    };
    let on_story_site = |urls: &[Option<&str>]| {
        urls.iter().flatten().any(|u| {
            Url::parse(u)
                .ok()
                .and_then(|u| u.host_str().map(crate::source::policy::registrable))
                .is_some_and(|d| d == story_domain)
        })
    };
    let location = location_key(&source.location);
    let new_is_origin = on_story_site(&[site.map(Url::as_str), Some(location.as_str())]);
    let owner_is_origin = on_story_site(&[owner_site.as_deref(), Some(owner_location.as_str())]);
    Ok(match (new_is_origin, owner_is_origin) {
        (true, false) => true,
        (false, true) => false,
        _ => source.priority > owner_priority,
    })
}

/// Stores what each item page gave (a body, or one more failed attempt)
/// and forgets the pages of items the source no longer has.
fn record_full_text(
    tx: &Db,
    source: &SourceConfig,
    pages: &[crate::model::FullText],
) -> Result<(), StoreError> {
    for page in pages {
        tx.execute(
            "INSERT INTO full_text (source, link, body, attempts, last_error) VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT (source, link) DO UPDATE SET
                body = COALESCE(excluded.body, full_text.body),
                attempts = full_text.attempts + 1,
                last_error = excluded.last_error",
            params![source.name, page.link, page.body, page.error],
        )
        .map_err(query("storing a full text"))?;
    }
    tx.execute(
        "DELETE FROM full_text WHERE source = ?1 AND link NOT IN
            (SELECT link FROM item_sources WHERE source = ?1 AND link IS NOT NULL)",
        params![source.name],
    )
    .map_err(query("forgetting full texts"))?;
    Ok(())
}

/// Drops this source's entries beyond the retention limits, except the ones
/// it listed in this very fetch; then items no source carries any more.
fn apply_retention(
    tx: &Db,
    source: &SourceConfig,
    retention: Retention,
    (now, revision): (DateTime<Utc>, i64),
) -> Result<(), StoreError> {
    let max_age = chrono::Duration::from_std(retention.max_age).unwrap_or(chrono::Duration::MAX);
    let oldest = now.checked_sub_signed(max_age).map_or(i64::MIN, to_ts);
    // Only entries the feed no longer lists can go. When it lists them all
    // (every first read, most re-reads) the ranking below need not run:
    // it joined every entry with its item (measured: 3.9% of a cold run).
    let unlisted: bool = tx
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM item_sources WHERE source = ?1 AND last_seen < ?2)",
            params![source.name, to_ts(now)],
            |r| r.get(0),
        )
        .map_err(query("applying retention"))?;
    if !unlisted {
        return Ok(());
    }
    // The row's own number: SQLite's rowid, PostgreSQL's `seq` column.
    let removed: Vec<i64> = tx
        .query_vec(
            tx.pick(
                "DELETE FROM item_sources WHERE source = ?1 AND last_seen < ?2 AND rowid IN (
                    SELECT x.rowid FROM item_sources x JOIN items i ON i.id = x.item_id
                    WHERE x.source = ?1
                      AND (i.published < ?3 OR x.rowid NOT IN (
                            SELECT y.rowid FROM item_sources y JOIN items j ON j.id = y.item_id
                            WHERE y.source = ?1 ORDER BY j.published DESC, j.public_id LIMIT ?4)))
                 RETURNING item_id",
                "DELETE FROM item_sources WHERE source = ?1 AND last_seen < ?2 AND seq IN (
                    SELECT x.seq FROM item_sources x JOIN items i ON i.id = x.item_id
                    WHERE x.source = ?1
                      AND (i.published < ?3 OR x.seq NOT IN (
                            SELECT y.seq FROM item_sources y JOIN items j ON j.id = y.item_id
                            WHERE y.source = ?1 ORDER BY j.published DESC, j.public_id LIMIT ?4)))
                 RETURNING item_id",
            ),
            params![
                source.name,
                to_ts(now),
                oldest,
                i64::try_from(retention.max_items).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )
        .map_err(query("applying retention"))?;
    if !removed.is_empty() {
        tx.execute(
            "DELETE FROM items WHERE NOT EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = items.id)",
            &[],
        )
        .map_err(query("dropping orphaned items"))?;
        // Items other sources still carry lost an attribution.
        for item_id in removed {
            mark_revised(tx, item_id, revision)?;
        }
    }
    Ok(())
}

/// The change stamp for one recording: one more than the last, kept in
/// `meta`, so a stamp is never given twice (rowids of deleted items can
/// be reused; their stamps cannot).
fn next_revision(tx: &Db) -> Result<i64, StoreError> {
    tx.query_row(
        "INSERT INTO meta (key, value) VALUES ('item_revision', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)
         RETURNING CAST(value AS BIGINT)",
        &[],
        |r| r.get(0),
    )
    .map_err(query("stamping the recording"))
}

/// Stamps an item whose published form may have changed.
fn mark_revised(tx: &Db, item_id: i64, revision: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE items SET revision = ?2 WHERE id = ?1 AND revision <> ?2",
        params![item_id, revision],
    )
    .map(drop)
    .map_err(query("stamping an item"))
}
