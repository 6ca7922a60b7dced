//! Sources: where articles come from. [`read`] dispatches on the source
//! kind and returns what the source holds now, as [`RawEntry`] values with
//! where each field came from; [`fetch`] adds normalization and is what a
//! run uses. A source never touches the store or the outputs.

pub mod decode;
pub mod feed;
pub mod feedparser;
pub mod files;
pub mod full_text;
pub mod http;
pub mod local;
pub mod policy;
pub mod polite;
pub mod prepare;
pub mod scrape;

use std::collections::{HashMap, HashSet};

use crate::config::{Location, Settings, SourceConfig, SourceKind};
use crate::error::SourceError;
use crate::model::{Fetched, SourceMeta, Validators};
use crate::normalize::{self, RawEntry, link};
use chrono::{DateTime, Utc};

/// What every fetch of one run shares.
pub struct Context<'a> {
    /// The HTTP clients.
    pub client: &'a http::Client,
    /// The validated config.
    pub settings: &'a Settings,
    /// Per-host limits and robots.txt.
    pub politeness: &'a polite::Politeness,
    /// This run's clock: relative dates and first-seen times use it.
    pub now: DateTime<Utc>,
}

/// What a source holds now, before normalization.
#[derive(Debug, Default)]
pub struct Listing {
    /// Entries as read, with field origins.
    pub entries: Vec<RawEntry>,
    /// What the source says about itself.
    pub meta: SourceMeta,
    /// Validators for the next conditional request.
    pub validators: Validators,
    /// Keys of entries still listed but not read again (scraped articles
    /// already stored), so the store knows they are still current.
    pub unchanged: Vec<String>,
    /// How many items the source listed (for "the scraper broke" checks).
    pub listed: usize,
    /// Warnings about the source's shape: a selector that matched nothing,
    /// an article page that could not be read.
    pub notes: Vec<String>,
    /// Where a permanent redirect sent the source's URL.
    pub moved: Option<url::Url>,
}

/// The result of [`read`].
#[derive(Debug)]
pub enum Read {
    /// Content as it is now.
    Listing(Box<Listing>),
    /// 304, or unchanged files: keep what we have.
    NotModified,
}

/// Reads one source, sending its stored validators. `known` holds the
/// canonical links already stored for it: scraped articles among them are
/// not fetched again.
///
/// # Errors
/// A [`SourceError`] naming the source and the cause.
pub async fn read<S: std::hash::BuildHasher>(
    ctx: &Context<'_>,
    source: &SourceConfig,
    validators: &Validators,
    known: &HashSet<String, S>,
) -> Result<Read, SourceError> {
    match &source.kind {
        SourceKind::Feed => read_feed(ctx, source, validators).await,
        SourceKind::Scrape(config) => scrape::read(ctx, source, config, validators, known).await,
        SourceKind::Files(config) => {
            let (source, config, validators, settings, now) = (
                source.clone(),
                config.clone(),
                validators.clone(),
                ctx.settings.max_response_size,
                ctx.now,
            );
            let (name, folder) = (source.name.clone(), source.location.to_string());
            let reading = tokio::task::spawn_blocking(move || {
                files::read(&source, &config, &validators, settings, now)
            });
            // A whole folder gets the timeout of one request: a file on a
            // stuck network mount fails the source, not the run.
            match tokio::time::timeout(ctx.settings.timeout, reading).await {
                Ok(done) => done.map_err(|e| stopped(&name, &e))?,
                Err(_) => Err(SourceError::File {
                    source_name: name,
                    path: std::path::PathBuf::from(folder),
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the folder was not read within settings.timeout",
                    ),
                }),
            }
        }
    }
}

/// What the store already holds for a source, read before its fetch.
#[derive(Debug, Default)]
pub struct Known {
    /// Canonical links of stored items: scraped articles among them are
    /// not fetched again.
    pub links: HashSet<String>,
    /// Stored entries' keys by their raw digest ([`RawEntry::digest`]),
    /// oldest first: a feed entry listed again unchanged is touched, not
    /// normalized again.
    pub digests: HashMap<String, Vec<String>>,
    /// For `full_text`: what each item page gave so far, by item link.
    pub full_text: HashMap<String, PageState>,
}

/// An item page's state for `full_text`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageState {
    /// The article body, once got.
    pub body: Option<String>,
    /// Reads so far (successful or not).
    pub attempts: u32,
}

/// Reads and normalizes one source: what a run records in the store.
///
/// # Errors
/// A [`SourceError`] naming the source and the cause.
pub async fn fetch(
    ctx: &Context<'_>,
    source: &SourceConfig,
    validators: &Validators,
    known: Known,
) -> Result<Fetched, SourceError> {
    let listing = match read(ctx, source, validators, &known.links).await? {
        Read::NotModified => return Ok(Fetched::NotModified),
        Read::Listing(listing) => *listing,
    };
    let (owned, now) = (source.clone(), ctx.now);
    let Listing {
        entries,
        meta,
        validators,
        mut unchanged,
        listed,
        moved,
        ..
    } = listing;
    // Feed entries are digested as read; one whose digest is stored comes
    // out of normalization as it is stored, so it is only touched. (Not
    // with `max_items`, which cuts the whole listing.)
    let digested = matches!(source.kind, SourceKind::Feed) && source.max_items.is_none();
    let mut stored = if digested {
        known.digests
    } else {
        HashMap::new()
    };
    let seed = ctx.settings.fingerprint.clone();
    let _slot = cpu_slot().await;
    let (articles, digests, skipped) = tokio::task::spawn_blocking(move || {
        let mut skipped = Vec::new();
        let mut changed = Vec::with_capacity(entries.len());
        for entry in entries {
            let digest = digested.then(|| entry.digest(&seed, now)).flatten();
            // Entries listed twice, byte for byte, hold a key each: they
            // take the stored keys in the order they were stored.
            let key = digest
                .as_ref()
                .and_then(|d| stored.get_mut(d))
                .and_then(|keys| (!keys.is_empty()).then(|| keys.remove(0)));
            match key {
                Some(key) => skipped.push(key),
                None => changed.push((entry, digest)),
            }
        }
        let (articles, digests) =
            normalize::normalize_changed(changed, &owned, now, skipped.clone());
        (articles, digests, skipped)
    })
    .await
    .map_err(|e| stopped(&source.name, &e))?;
    unchanged.extend(skipped);
    let (mut articles, mut digests) = (articles, digests);
    let full_text = match &source.full_text {
        Some(config) => {
            full_text::fill(
                ctx,
                source,
                config,
                &mut articles,
                &mut digests,
                &known.full_text,
            )
            .await
        }
        None => Vec::new(),
    };
    Ok(Fetched::Updated {
        articles,
        digests,
        full_text,
        meta,
        validators,
        unchanged,
        listed,
        moved,
    })
}

/// One of twice as many parsing slots as there are cores. Fetches overlap
/// freely, but parsing many more documents at once than there are cores
/// only holds more of them in memory without finishing any sooner
/// (measured at N = 1,000: peak memory 169 → 128 MB, the same wall time;
/// one slot per core was 20% slower, the recording thread competing).
async fn cpu_slot() -> tokio::sync::SemaphorePermit<'static> {
    static SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(
            2 * std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )
    });
    SLOTS
        .acquire()
        .await
        .expect("the semaphore is never closed")
}

fn stopped(name: &str, e: &tokio::task::JoinError) -> SourceError {
    SourceError::Parse {
        source_name: name.to_owned(),
        location: String::new(),
        message: format!("the parser stopped: {e}"),
    }
}

async fn read_feed(
    ctx: &Context<'_>,
    source: &SourceConfig,
    validators: &Validators,
) -> Result<Read, SourceError> {
    let (bytes, content_type, base, validators, moved) = match &source.location {
        Location::Url(url) => {
            let _permit = ctx.politeness.permit(url).await;
            match http::get(
                ctx.client,
                http::Fetch {
                    source_name: &source.name,
                    own: Some(url),
                },
                url,
                validators,
                ctx.settings.max_response_size,
            )
            .await?
            {
                http::Response::NotModified => return Ok(Read::NotModified),
                http::Response::Body {
                    bytes,
                    content_type,
                    validators,
                    final_url,
                    moved,
                } => (bytes, content_type, final_url, validators, moved),
            }
        }
        Location::Path(path) => {
            let bytes = read_local(
                source,
                path,
                ctx.settings.max_response_size,
                ctx.settings.timeout,
            )
            .await?;
            // A local file's "ETag" is its content hash: unchanged bytes
            // cost no parsing, like a 304.
            let etag = format!(
                "sha256:{}",
                link::digest(&[&String::from_utf8_lossy(&bytes)])
            );
            if validators.etag.as_deref() == Some(etag.as_str()) {
                return Ok(Read::NotModified);
            }
            let validators = Validators {
                etag: Some(etag),
                last_modified: None,
            };
            (bytes, None, source.location.as_url(), validators, None)
        }
    };
    let (owned, limits) = (source.clone(), ctx.settings.limits);
    let _slot = cpu_slot().await;
    let parsed = tokio::task::spawn_blocking(move || {
        feed::parse(&bytes, content_type.as_deref(), &base, &owned, &limits)
    })
    .await
    .map_err(|e| stopped(&source.name, &e))?;
    let (meta, entries) = parsed.map_err(|message| SourceError::Parse {
        source_name: source.name.clone(),
        location: source.location.to_string(),
        message,
    })?;
    Ok(Read::Listing(Box::new(Listing {
        listed: entries.len(),
        entries,
        meta,
        validators,
        moved,
        ..Listing::default()
    })))
}

/// A local feed file, read on the blocking pool within the source's
/// timeout and the size limit (a `/dev/zero` or a FIFO never holds a run).
async fn read_local(
    source: &SourceConfig,
    path: &std::path::Path,
    max: u64,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, SourceError> {
    let owned = path.to_owned();
    let reading = tokio::task::spawn_blocking(move || local::read_bounded(&owned, max));
    let file_error = |e: std::io::Error| SourceError::File {
        source_name: source.name.clone(),
        path: path.to_owned(),
        source: e,
    };
    match tokio::time::timeout(timeout, reading).await {
        Err(_) => Err(file_error(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "not read within {} s (settings.timeout)",
                timeout.as_secs_f32()
            ),
        ))),
        Ok(Err(e)) => Err(stopped(&source.name, &e)),
        Ok(Ok(Err(local::LocalError::Io(e)))) => Err(file_error(e)),
        Ok(Ok(Err(local::LocalError::TooBig))) => Err(SourceError::Limit {
            source_name: source.name.clone(),
            what: format!("{}", path.display()),
            limit: format!("{max} bytes (settings.max_response_size)"),
        }),
        Ok(Ok(Ok(bytes))) => Ok(bytes),
    }
}
