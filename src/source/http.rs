//! HTTP GET with conditional headers, redirects followed by hand (so a
//! permanent move can be reported and loops caught), `Retry-After` read on
//! 429/503, 410 Gone recognised, and a body-size limit. The one place that
//! talks to the network; it knows nothing of feed formats.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use url::Url;

use super::policy;
use crate::config::Settings;
use crate::error::SourceError;
use crate::model::Validators;

/// The most redirects followed before a fetch fails.
pub const MAX_REDIRECTS: usize = 5;

/// What a GET produced.
// One value per request, moved once: boxing the body buys nothing.
#[allow(clippy::large_enum_variant)]
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
        /// Set when every redirect on the way was permanent (301/308):
        /// the address to use from now on.
        moved: Option<Url>,
    },
}

/// The HTTP clients every fetch of a run shares: one that may connect
/// anywhere, for a source's own configured host (and for every host with
/// `allow_private`), and one whose resolver keeps only public addresses,
/// for everything else. Redirects are followed by [`get`] itself, so each
/// hop picks its client and is checked again.
#[derive(Debug, Clone)]
pub struct Client {
    anywhere: reqwest::Client,
    public_only: reqwest::Client,
    allow_private: bool,
}

impl Client {
    /// Builds the clients from the settings.
    ///
    /// # Errors
    /// When the TLS backend cannot be set up.
    pub fn new(settings: &Settings) -> reqwest::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(settings.user_agent.clone())
                .timeout(settings.timeout)
                .connect_timeout(settings.connect_timeout.min(settings.timeout))
                .redirect(reqwest::redirect::Policy::none())
        };
        Ok(Self {
            anywhere: builder().build()?,
            public_only: builder()
                .dns_resolver(std::sync::Arc::new(policy::PublicOnly))
                .build()?,
            allow_private: settings.allow_private,
        })
    }
}

/// One fetch: for which source, and the URL that source is configured
/// with (its host may be private; every other host must be public).
#[derive(Debug, Clone, Copy)]
pub struct Fetch<'a> {
    /// The source's name, for messages.
    pub source_name: &'a str,
    /// The source's configured URL (`None` for sources read from disk).
    pub own: Option<&'a Url>,
}

/// The causes of a reqwest error on one line ("a: b: c"). reqwest's own
/// top message only repeats the URL, which the error already names.
pub(crate) fn chain(e: &reqwest::Error) -> String {
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

/// `Retry-After` as seconds or an HTTP date, as a wait from `now`. Whole
/// numbers too large for any clock saturate (the caller holds the wait to
/// `max_backoff`); a date in the past means no wait; anything else is not a
/// `Retry-After` at all, logged and treated as absent.
#[must_use]
pub fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    if let Ok(when) = httpdate::parse_http_date(value) {
        return Some(when.duration_since(now).unwrap_or_default());
    }
    tracing::warn!(value = %value.chars().take(80).collect::<String>(), "Ignoring a Retry-After header that is neither seconds nor an HTTP date.");
    None
}

/// GETs `url`, sending the stored validators, following up to
/// [`MAX_REDIRECTS`] redirects, reading at most `max_size` bytes.
///
/// # Errors
/// A [`SourceError`] naming the source and URL on network failure, an error
/// status, a redirect loop, or a body over the limit.
pub async fn get(
    client: &Client,
    fetch: Fetch<'_>,
    url: &Url,
    validators: &Validators,
    max_size: u64,
) -> Result<Response, SourceError> {
    let source_name = fetch.source_name;
    let http_error = |at: &Url, e: &reqwest::Error| SourceError::Http {
        source_name: source_name.to_owned(),
        url: at.to_string(),
        message: if e.is_timeout() {
            "timed out".to_owned()
        } else {
            chain(e)
        },
    };
    let mut current = url.clone();
    let mut visited = HashSet::from([url.clone()]);
    let mut all_permanent = true;
    let mut response = loop {
        // Every hop is checked on its own: a redirect may lead anywhere.
        let trusted = client.allow_private || policy::same_host(fetch.own, &current);
        if let Some(reason) = policy::refusal(&current, trusted) {
            return Err(SourceError::Refused {
                source_name: source_name.to_owned(),
                url: current.to_string(),
                reason,
            });
        }
        let chosen = if trusted {
            &client.anywhere
        } else {
            &client.public_only
        };
        let mut request = chosen.get(current.clone());
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, lm);
        }
        let response = request.send().await.map_err(|e| http_error(&current, &e))?;
        let status = response.status();
        if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
            break response;
        }
        let Some(next) = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| current.join(l).ok())
        else {
            break response;
        };
        all_permanent &= matches!(
            status,
            StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
        );
        let redirect_error = |problem: String| SourceError::Redirect {
            source_name: source_name.to_owned(),
            url: url.to_string(),
            problem,
        };
        if !visited.insert(next.clone()) {
            return Err(redirect_error(format!("redirect loop via {next}")));
        }
        if visited.len() > MAX_REDIRECTS + 1 {
            return Err(redirect_error(format!(
                "more than {MAX_REDIRECTS} redirects"
            )));
        }
        current = next;
    };
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Response::NotModified);
    }
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return Err(SourceError::RetryLater {
            source_name: source_name.to_owned(),
            url: current.to_string(),
            status: status.as_u16(),
            retry_after: response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, std::time::SystemTime::now())),
        });
    }
    if status == StatusCode::GONE {
        return Err(SourceError::Gone {
            source_name: source_name.to_owned(),
            url: current.to_string(),
        });
    }
    if !status.is_success() {
        return Err(SourceError::Status {
            source_name: source_name.to_owned(),
            url: current.to_string(),
            status: status.as_u16(),
        });
    }
    let too_big = || SourceError::Limit {
        source_name: source_name.to_owned(),
        what: format!("the response from {current}"),
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
    // Sized once from the announced length (within the limit, and at most
    // 8 MiB, so a false header cannot reserve much): growing by doubling
    // copied every body and left its old buffers in the heap.
    let announced = response.content_length().unwrap_or(0).min(8 << 20);
    let mut bytes = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| http_error(&current, &e))?
    {
        if (bytes.len() + chunk.len()) as u64 > max_size {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    let moved = (all_permanent && current != *url).then(|| current.clone());
    Ok(Response::Body {
        bytes,
        content_type,
        validators,
        final_url: current,
        moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = std::time::SystemTime::now();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        let later = now + Duration::from_secs(3600);
        let d = retry_after(&httpdate::fmt_http_date(later), now).unwrap();
        assert!(
            d > Duration::from_secs(3500) && d <= Duration::from_secs(3600),
            "{d:?}"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn absurd_retry_after_values_saturate_and_past_dates_mean_now() {
        let now = std::time::SystemTime::now();
        for huge in [
            "9999999999999",
            "18446744073709551615",
            "99999999999999999999999999",
        ] {
            assert!(retry_after(huge, now).unwrap() >= Duration::from_secs(9_999_999_999_999));
        }
        let past = httpdate::fmt_http_date(now - Duration::from_secs(3600));
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
    }
}
