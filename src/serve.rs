//! `feedloom serve`: the output folder over HTTP, so a feed reader on this
//! machine or the LAN subscribes by URL. Feed content types, `ETag` and
//! `Last-Modified`, and 304 answers to conditional requests; nothing outside
//! the folder is ever served.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

/// The content type of a published file, by its extension.
#[must_use]
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "rss" => "application/rss+xml; charset=utf-8",
        "atom" => "application/atom+xml; charset=utf-8",
        "json" => "application/feed+json; charset=utf-8",
        "opml" => "text/x-opml; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves `dir` on `addr` until `stop` is cancelled.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(dir: PathBuf, addr: SocketAddr, stop: CancellationToken) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, dir = %dir.display(), "Serving the outputs.");
    let app = axum::Router::new().fallback(file).with_state(Arc::new(dir));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

/// The file a request path names, if it stays inside the folder.
fn resolve(dir: &Path, uri: &Uri) -> Option<PathBuf> {
    let rel = uri.path().trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut path = dir.to_path_buf();
    for part in rel.split('/') {
        if part.is_empty()
            || part == "."
            || part == ".."
            || part.contains('\\')
            || part.starts_with('.')
        {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

async fn file(
    State(dir): State<Arc<PathBuf>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(path) = resolve(&dir, &uri) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if uri.path() == "/" && !path.exists() {
        return index(&dir).await;
    }
    let (Ok(meta), Ok(bytes)) = (
        tokio::fs::metadata(&path).await,
        tokio::fs::read(&path).await,
    ) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    let nanos = modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{:x}\"", bytes.len(), nanos);
    let last_modified = httpdate::fmt_http_date(modified);
    let fresh = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                // HTTP dates have whole seconds.
                modified
                    .duration_since(since)
                    .map_or(true, |d| d.as_secs() == 0)
            }),
    };
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(bytes))
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A plain list of the published files, for a person who opens the root.
async fn index(dir: &Path) -> Response {
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                names.push(name);
            }
        }
    }
    names.sort();
    let items: Vec<String> = names
        .iter()
        .map(|n| {
            let n = crate::normalize::sanitize::escape_html(n);
            format!("<li><a href=\"{n}\">{n}</a></li>")
        })
        .collect();
    let items = items.concat();
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>feedloom</title></head><body><h1>Feeds</h1><ul>{items}</ul></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let dir = Path::new("/srv/out");
        let ok = |p: &str| resolve(dir, &p.parse::<Uri>().unwrap());
        assert_eq!(ok("/all.atom"), Some(PathBuf::from("/srv/out/all.atom")));
        assert_eq!(ok("/"), Some(PathBuf::from("/srv/out/index.html")));
        for bad in ["/../etc/passwd", "/a/../../x", "/.feedloom-tmp", "/a//b"] {
            assert_eq!(ok(bad), None, "{bad}");
        }
        assert_eq!(
            content_type(Path::new("a.json")),
            "application/feed+json; charset=utf-8"
        );
    }
}
