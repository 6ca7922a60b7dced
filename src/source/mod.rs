//! Sources: where articles come from. [`fetch`] dispatches on the source
//! kind, reads its bytes (HTTP or disk), parses and normalizes them off the
//! async threads, and returns a [`Fetched`] result. A source never touches
//! the store or the outputs.

pub mod decode;
pub mod feed;
pub mod http;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{Location, Settings, SourceConfig, SourceKind};
use crate::error::SourceError;
use crate::model::{Fetched, Validators};
use crate::normalize::{self, link};

/// Fetches one source, sending its stored validators.
///
/// # Errors
/// A [`SourceError`] naming the source and the cause.
pub async fn fetch(
    client: &reqwest::Client,
    settings: &Settings,
    source: &SourceConfig,
    validators: &Validators,
    now: DateTime<Utc>,
) -> Result<Fetched, SourceError> {
    let (bytes, content_type, base, validators) = match &source.location {
        Location::Url(url) => {
            match http::get(
                client,
                &source.name,
                url,
                validators,
                settings.max_response_size,
            )
            .await?
            {
                http::Response::NotModified => return Ok(Fetched::NotModified),
                http::Response::Body {
                    bytes,
                    content_type,
                    validators,
                    final_url,
                } => (bytes, content_type, final_url, validators),
            }
        }
        Location::Path(path) => {
            let bytes = tokio::fs::read(path).await.map_err(|e| SourceError::File {
                source_name: source.name.clone(),
                path: path.clone(),
                source: e,
            })?;
            if bytes.len() as u64 > settings.max_response_size {
                return Err(SourceError::Limit {
                    source_name: source.name.clone(),
                    what: format!("{} ({} bytes)", path.display(), bytes.len()),
                    limit: format!(
                        "{} bytes (settings.max_response_size)",
                        settings.max_response_size
                    ),
                });
            }
            // A local file's "ETag" is its content hash: unchanged bytes
            // cost no parsing, like a 304.
            let etag = format!(
                "sha256:{}",
                link::digest(&[&String::from_utf8_lossy(&bytes)])
            );
            if validators.etag.as_deref() == Some(etag.as_str()) {
                return Ok(Fetched::NotModified);
            }
            let base = source.location.as_url();
            let validators = Validators {
                etag: Some(etag),
                last_modified: None,
            };
            (bytes, None, base, validators)
        }
    };
    let source_owned = source.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        parse(&bytes, content_type.as_deref(), &base, &source_owned, now)
    })
    .await
    .map_err(|e| SourceError::Parse {
        source_name: source.name.clone(),
        location: source.location.to_string(),
        message: format!("the parser stopped: {e}"),
    })?;
    let (meta, articles) = parsed.map_err(|message| SourceError::Parse {
        source_name: source.name.clone(),
        location: source.location.to_string(),
        message,
    })?;
    Ok(Fetched::Updated {
        articles,
        meta,
        validators,
    })
}

fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Result<(crate::model::SourceMeta, Vec<crate::model::Article>), String> {
    match source.kind {
        SourceKind::Feed => {
            let (meta, entries) = feed::parse(bytes, content_type, base, source)?;
            Ok((meta, normalize::normalize(entries, source, now)))
        }
    }
}
