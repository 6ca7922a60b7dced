//! Links made absolute and canonical, and the digests ids are built from.

use std::fmt::Write;

use sha2::{Digest, Sha256};
use url::Url;

/// Query parameters that only track the click, never select the content.
fn is_tracking_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "_hsenc"
                | "_hsmi"
        )
}

/// Resolves `href` against `base` and keeps it only if it is a web (or file) link.
#[must_use]
pub fn resolve(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = match Url::parse(href) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    matches!(url.scheme(), "http" | "https" | "file").then_some(url)
}

/// The canonical form of an article link: the link as its publisher wrote
/// it, less the tracking parameters (`utm_*`, `fbclid`, ...). Everything
/// else stays byte for byte: other parameters in their order and spelling
/// (`?rss` stays `?rss`, `%20` stays `%20`), and the fragment, since items
/// that are anchors on one page are distinct items.
#[must_use]
pub fn canonical(mut url: Url) -> Url {
    let Some(query) = url.query() else {
        return url;
    };
    let is_tracking = |pair: &str| {
        let name = pair.split('=').next().unwrap_or_default();
        let name = percent_decoded(name);
        is_tracking_param(&name)
    };
    if !query.split('&').any(is_tracking) {
        return url;
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !is_tracking(p))
        .collect();
    let kept = kept.join("&");
    url.set_query(Some(kept.as_str()).filter(|q| !q.is_empty()));
    url
}

/// A link as written, less its tracking parameters, by the same rule as
/// [`canonical`] but on the text itself, so every other byte stays.
#[must_use]
pub fn without_tracking(raw: &str) -> String {
    let (before_fragment, fragment) = match raw.find('#') {
        Some(at) => (&raw[..at], &raw[at..]),
        None => (raw, ""),
    };
    let Some((path, query)) = before_fragment.split_once('?') else {
        return raw.to_owned();
    };
    let is_tracking = |pair: &str| {
        is_tracking_param(&percent_decoded(pair.split('=').next().unwrap_or_default()))
    };
    if !query.split('&').any(is_tracking) {
        return raw.to_owned();
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !is_tracking(p))
        .collect();
    if kept.is_empty() {
        format!("{path}{fragment}")
    } else {
        format!("{path}?{}{fragment}", kept.join("&"))
    }
}

/// Whether `raw`, an absolute link as a feed wrote it, can be published
/// as it is: an IRI with nothing a feed document or reader would choke on
/// (whitespace, controls, `<>"{}|\^` and backquote).
#[must_use]
pub fn publishable_as_written(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 2048
        && !raw.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
        && Url::parse(raw).is_ok()
}

fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .next()
        .map_or_else(|| text.to_owned(), |(k, _)| k.into_owned())
}

/// A hex SHA-256 of the parts, separated so ("ab","c") and ("a","bc") differ.
#[must_use]
pub fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// The published id of a new item: the source's guid when it is an absolute
/// URI (so it means the same thing to every reader), else a name-based UUID
/// of what identifies the item (its canonical link, or its source and key).
#[must_use]
pub fn public_id(guid: Option<&str>, link: Option<&Url>, source: &str, key: &str) -> String {
    if let Some(guid) = guid
        && is_trustworthy_guid(guid)
    {
        return guid.to_owned();
    }
    let name = match link {
        Some(link) => format!("link:{link}"),
        None => format!("source:{source}\0{key}"),
    };
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
    )
}

/// A guid we can publish as an Atom id: an absolute URI with no spaces or
/// characters that make it an invalid IRI.
fn is_trustworthy_guid(guid: &str) -> bool {
    guid.len() <= 512
        && !guid.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
        && Url::parse(guid).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https" | "urn" | "tag")
                && (u.scheme() != "urn" || guid.matches(':').count() >= 2)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn canonical_drops_tracking_and_keeps_every_other_byte() {
        let cases = [
            (
                "https://Example.org/a?utm_source=x&utm_medium=y#top",
                "https://example.org/a#top",
            ),
            (
                "https://example.org/a?id=3&fbclid=abc",
                "https://example.org/a?id=3",
            ),
            (
                "https://example.org:443/a?b=1&UTM_Campaign=z&c=2",
                "https://example.org/a?b=1&c=2",
            ),
            ("http://example.org:80/x/../y", "http://example.org/y"),
            (
                "https://example.org/a?q=rust+lang",
                "https://example.org/a?q=rust+lang",
            ),
            (
                "https://example.org/326649?rss",
                "https://example.org/326649?rss",
            ),
            (
                "https://example.org/here.pl?r123",
                "https://example.org/here.pl?r123",
            ),
            (
                "https://example.org/a?q=a%20b&utm_x=1",
                "https://example.org/a?q=a%20b",
            ),
            (
                "https://example.org/page#part-2",
                "https://example.org/page#part-2",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical(url(input)).as_str(), expected, "{input}");
        }
    }

    #[test]
    fn resolve_makes_links_absolute() {
        let base = url("https://example.org/blog/feed.xml");
        assert_eq!(
            resolve("posts/1.html", Some(&base)).unwrap().as_str(),
            "https://example.org/blog/posts/1.html"
        );
        assert_eq!(
            resolve("/about", Some(&base)).unwrap().as_str(),
            "https://example.org/about"
        );
        assert_eq!(resolve("javascript:alert(1)", Some(&base)), None);
        assert_eq!(resolve("relative", None), None);
        assert_eq!(resolve("  ", Some(&base)), None);
    }

    #[test]
    fn ids_are_stable_and_prefer_uri_guids() {
        let link = url("https://example.org/a");
        let a = public_id(None, Some(&link), "s1", "k");
        let b = public_id(None, Some(&link), "s2", "other");
        assert_eq!(a, b, "the same link gives the same id from any source");
        assert!(a.starts_with("urn:uuid:"));
        assert_eq!(
            public_id(Some("tag:example.org,2021:post-1"), Some(&link), "s", "k"),
            "tag:example.org,2021:post-1"
        );
        assert_eq!(
            public_id(Some("https://example.org/?p=1"), None, "s", "k"),
            "https://example.org/?p=1"
        );
        // Bare numbers and words are not URIs: hashed with the source.
        let n1 = public_id(Some("42"), None, "s1", "guid:42");
        let n2 = public_id(Some("42"), None, "s2", "guid:42");
        assert_ne!(n1, n2);
        assert_eq!(n1, public_id(Some("42"), None, "s1", "guid:42"));
        assert_eq!(digest(&["ab", "c"]).len(), 64);
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
    }
}
