//! HTTP GET with conditional headers and a body-size limit. The one place
//! that talks to the network; it knows nothing of feed formats.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use url::Url;

use crate::config::Settings;
use crate::error::SourceError;
use crate::model::Validators;

/// The most redirects followed before a fetch fails.
const MAX_REDIRECTS: usize = 5;

/// What a GET produced.
#[derive(Debug)]
pub enum Response {
    /// 304: the stored copy is current.
    NotModified,
    /// A body, with what is needed to decode it and refetch it politely.
    Body {
        /// The body, decompressed.
        bytes: Vec<u8>,
        /// The `Content-Type` header, for its charset.
        content_type: Option<String>,
        /// Validators for the next conditional GET.
        validators: Validators,
        /// The URL after redirects, the base for relative links.
        final_url: Url,
    },
}

/// Builds the one client every fetch shares.
///
/// # Errors
/// When the TLS backend cannot be set up.
pub fn client(settings: &Settings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(settings.user_agent.clone())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .build()
}

/// The causes of a reqwest error on one line ("a: b: c"). reqwest's own
/// top message only repeats the URL, which the error already names.
fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// GETs `url`, sending the stored validators, reading at most `max_size` bytes.
///
/// # Errors
/// A [`SourceError`] naming the source and URL on network failure, an error
/// status, or a body over the limit.
pub async fn get(
    client: &reqwest::Client,
    source_name: &str,
    url: &Url,
    validators: &Validators,
    max_size: u64,
) -> Result<Response, SourceError> {
    let http_error = |e: &reqwest::Error| SourceError::Http {
        source_name: source_name.to_owned(),
        url: url.to_string(),
        message: if e.is_timeout() {
            "timed out".to_owned()
        } else {
            chain(e)
        },
    };
    let mut request = client.get(url.clone());
    if let Some(etag) = &validators.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(lm) = &validators.last_modified {
        request = request.header(IF_MODIFIED_SINCE, lm);
    }
    let mut response = request.send().await.map_err(|e| http_error(&e))?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Response::NotModified);
    }
    if !status.is_success() {
        return Err(SourceError::Status {
            source_name: source_name.to_owned(),
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let too_big = || SourceError::Limit {
        source_name: source_name.to_owned(),
        what: format!("the response from {url}"),
        limit: format!("{max_size} bytes (settings.max_response_size)"),
    };
    if response.content_length().is_some_and(|n| n > max_size) {
        return Err(too_big());
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
    };
    let content_type = header(CONTENT_TYPE);
    let final_url = response.url().clone();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http_error(&e))? {
        if (bytes.len() + chunk.len()) as u64 > max_size {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Response::Body {
        bytes,
        content_type,
        validators,
        final_url,
    })
}
