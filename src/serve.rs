//! `feedloom serve`: the output folder over HTTP, so a feed reader on this
//! machine or the LAN subscribes by URL. Feed content types, `ETag` and
//! `Last-Modified`, and 304 answers to conditional requests.
//!
//! Only what was published is served: regular files of the published
//! kinds whose real path (symlinks followed) is inside the folder, never the
//! state file, its lock, the config, dotfiles or temp files, whatever
//! `output_dir` is. A client that holds a connection without sending its
//! headers is cut off, and connections beyond a cap are refused, so a few
//! hundred idle sockets cannot stop the server answering.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;

/// Connections served at once; beyond it new ones are closed at once.
const MAX_CONNECTIONS: usize = 512;

/// How long a client has to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What may be served: the folder (its real path) and the files inside it
/// that must never be, such as a state file or config kept there.
#[derive(Debug, Clone)]
pub struct Folder {
    dir: PathBuf,
    hidden: Vec<PathBuf>,
    /// Folders of `files` sources published under `public_url`: their
    /// items' links lead here, so they are served at their path too.
    mounts: Vec<Mount>,
    /// File names of the JSON Feed outputs (other `.json` is plain JSON).
    json_feeds: Vec<String>,
}

/// A `files` source's folder, served at the path its `base_url` has below
/// `public_url`.
#[derive(Debug, Clone)]
struct Mount {
    /// The URL path, with a trailing slash (`/articles/`).
    prefix: String,
    /// The folder's real path.
    dir: PathBuf,
}

/// What the output folder serves: the files feedloom publishes, and the
/// assets a page template may use. Nothing else there is served (the
/// folder may hold other files, even the config).
const SERVED_EXTENSIONS: [&str; 24] = [
    "rss", "atom", "json", "opml", "html", "htm", "xml", "xsl", "css", "png", "jpg", "jpeg", "gif",
    "webp", "avif", "svg", "ico", "woff2", "mp3", "m4a", "ogg", "opus", "mp4", "webm",
];

/// What a `files` source's folder may serve: its article files.
const ARTICLE_EXTENSIONS: [&str; 5] = ["html", "htm", "md", "markdown", "txt"];

impl Folder {
    /// The output folder, hiding the config, the state file and the files
    /// SQLite and the lock keep beside it.
    #[must_use]
    pub fn of(settings: &crate::config::Settings) -> Self {
        let state = settings.state_file.as_os_str().to_owned();
        let beside = |suffix: &str| {
            let mut p = state.clone();
            p.push(suffix);
            PathBuf::from(p)
        };
        let mut hidden = vec![
            settings.config_path.clone(),
            settings.state_file.clone(),
            beside("-wal"),
            beside("-shm"),
            beside("-journal"),
            crate::lock::path_for(&settings.state_file),
        ];
        hidden.retain(|p| !p.as_os_str().is_empty());
        let mut folder = Self::new(&settings.output_dir, &hidden);
        folder.json_feeds = settings
            .outputs
            .iter()
            .filter(|o| o.formats.contains(&crate::config::Format::Json))
            .map(|o| format!("{}.json", o.name))
            .collect();
        let root = settings.public_url.as_str();
        for source in &settings.sources {
            if let (crate::config::SourceKind::Files(files), crate::config::Location::Path(dir)) =
                (&source.kind, &source.location)
                && let Some(rest) = files
                    .base_url
                    .as_ref()
                    .and_then(|b| b.as_str().strip_prefix(root))
                    .filter(|rest| !rest.is_empty())
            {
                let prefix = format!("/{}/", rest.trim_end_matches('/'));
                folder.mounts.push(Mount {
                    prefix,
                    dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()),
                });
            }
        }
        folder
    }

    /// `dir`, never serving the `hidden` files.
    #[must_use]
    pub fn new(dir: &Path, hidden: &[PathBuf]) -> Self {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        Self {
            dir: real(dir),
            hidden: hidden.iter().map(|p| real(p)).collect(),
            mounts: Vec::new(),
            json_feeds: Vec::new(),
        }
    }

    /// The real path of the regular file `requested` names, if it may be served.
    fn allowed(&self, requested: &Path) -> Option<PathBuf> {
        self.allowed_in(requested, &self.dir, &SERVED_EXTENSIONS)
    }

    /// The file a request path names, in the output folder or in a
    /// `files` source's folder mounted at that path, if it may be served.
    fn lookup(&self, uri: &Uri) -> Option<PathBuf> {
        for mount in &self.mounts {
            if let Some(rest) = uri.path().strip_prefix(mount.prefix.as_str()) {
                let path = resolve(&mount.dir, rest)?;
                return self.allowed_in(&path, &mount.dir, &ARTICLE_EXTENSIONS);
            }
        }
        self.allowed(&resolve(&self.dir, uri.path())?)
    }

    /// `requested`, if it really is a regular file inside `dir` (after
    /// symlinks), not hidden, not under a dot-name, with one of `extensions`.
    fn allowed_in(&self, requested: &Path, dir: &Path, extensions: &[&str]) -> Option<PathBuf> {
        let real = std::fs::canonicalize(requested).ok()?;
        let servable = real.starts_with(dir)
            && !self.hidden.contains(&real)
            && std::fs::metadata(&real).is_ok_and(|m| m.is_file())
            && real
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
            && real
                .strip_prefix(dir)
                .ok()?
                .components()
                .all(|c| !c.as_os_str().to_string_lossy().starts_with('.'));
        servable.then_some(real)
    }

    /// The content type of a served file: the feeds' own types, then
    /// mime_guess by extension; text types in UTF-8, which feedloom writes.
    fn content_type(&self, path: &Path) -> String {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let essence = match extension.as_str() {
            "rss" => "application/rss+xml".to_owned(),
            "atom" => "application/atom+xml".to_owned(),
            "json" if self.json_feeds.iter().any(|f| f == name) => {
                "application/feed+json".to_owned()
            }
            "opml" => "text/x-opml".to_owned(),
            "md" | "markdown" => "text/markdown".to_owned(),
            _ => mime_guess::from_path(path)
                .first_or_octet_stream()
                .essence_str()
                .to_owned(),
        };
        let textual = essence.starts_with("text/")
            || essence.ends_with("+xml")
            || essence.ends_with("+json")
            || matches!(
                essence.as_str(),
                "application/json" | "application/xml" | "application/javascript" | "image/svg+xml"
            );
        if textual {
            format!("{essence}; charset=utf-8")
        } else {
            essence
        }
    }
}

/// Serves `folder` on `addr` (`127.0.0.1:8080`, `localhost:8086`,
/// `[::1]:80`) until `stop` is cancelled.
///
/// # Errors
/// When the address cannot be resolved or bound.
pub async fn serve(
    folder: Folder,
    metrics: Arc<crate::metrics::Metrics>,
    addr: &str,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, dir = %folder.dir.display(), "Serving the outputs.");
    let app = axum::Router::new()
        .fallback(file)
        .with_state(Arc::new(Served { folder, metrics }));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => {
                let Ok(pair) = accepted else {
                    // Out of file descriptors and the like: wait, do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                pair
            }
            () = stop.cancelled() => return Ok(()),
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream); // Over the cap: refuse rather than queue.
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let connection = http.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(2), connection).await;
                }
            }
        });
    }
}

/// The file a request path names, if its name stays inside the folder
/// (where it really leads is checked by [`Folder::allowed`]).
fn resolve(dir: &Path, request_path: &str) -> Option<PathBuf> {
    let rel = request_path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut path = dir.to_path_buf();
    for raw in rel.split('/') {
        // Each segment as the file is named (`notes%231.txt` is `notes#1.txt`).
        let part = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        if part.is_empty()
            || part == "."
            || part == ".."
            || part.contains(['\\', '/', '\0'])
            || part.starts_with('.')
        {
            return None;
        }
        path.push(part.as_ref());
    }
    Some(path)
}

/// What the server answers from: the folder, and the live metrics.
struct Served {
    folder: Folder,
    metrics: Arc<crate::metrics::Metrics>,
}

async fn file(
    State(served): State<Arc<Served>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut response = match uri.path() {
        "/metrics" if method == Method::GET || method == Method::HEAD => {
            metrics(Arc::clone(&served.metrics)).await
        }
        "/healthz" if served.metrics.healthy() => (StatusCode::OK, "ok\n").into_response(),
        "/healthz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the scheduler has stopped\n",
        )
            .into_response(),
        _ => answer(&served.folder, &method, &uri, &headers).await,
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn answer(folder: &Folder, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    if uri.path() == "/" && !folder.dir.join("index.html").exists() {
        return index(folder).await;
    }
    let Some(path) = folder.lookup(uri) else {
        return StatusCode::NOT_FOUND.into_response();
    };
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
        HeaderValue::from_str(&folder.content_type(&path))
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `/metrics`, read off the state file on the blocking pool.
async fn metrics(metrics: Arc<crate::metrics::Metrics>) -> Response {
    match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(Ok(text)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// A plain list of the published files, for a person who opens the root.
async fn index(folder: &Folder) -> Response {
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&folder.dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            if folder.allowed(&e.path()).is_some() {
                names.push(name);
            }
        }
    }
    names.sort();
    // Each output's page first (what a person opens), then the feeds (what
    // a reader subscribes to).
    let list = |pages: bool| -> String {
        let mut html = String::new();
        for n in names
            .iter()
            .filter(|n| Path::new(n).extension().is_some_and(|e| e == "html") == pages)
        {
            let n = crate::normalize::sanitize::escape_html(n);
            let _ = write!(html, "<li><a href=\"{n}\">{n}</a></li>");
        }
        html
    };
    let (pages, feeds) = (list(true), list(false));
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>feedloom</title></head><body><h1>Outputs</h1><h2>Pages</h2><ul>{pages}</ul><h2>Feeds</h2><ul>{feeds}</ul></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let dir = Path::new("/srv/out");
        let ok = |p: &str| resolve(dir, p.parse::<Uri>().unwrap().path());
        assert_eq!(ok("/all.atom"), Some(PathBuf::from("/srv/out/all.atom")));
        assert_eq!(ok("/"), Some(PathBuf::from("/srv/out/index.html")));
        assert_eq!(
            ok("/notes%231.txt"),
            Some(PathBuf::from("/srv/out/notes#1.txt"))
        );
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/.feedloom-tmp",
            "/a//b",
            "/%2e%2e/x",
            "/a%2fb",
            "/%2efeedloom",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
        let mut folder = Folder::new(dir, &[]);
        folder.json_feeds = vec!["all.json".to_owned()];
        for (file, expected) in [
            ("all.json", "application/feed+json; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            ("all.rss", "application/rss+xml; charset=utf-8"),
            ("all.html", "text/html; charset=utf-8"),
            ("notes.md", "text/markdown; charset=utf-8"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("logo.png", "image/png"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("talk.mp3", "audio/mpeg"),
            ("blob.unknownext", "application/octet-stream"),
        ] {
            assert_eq!(folder.content_type(Path::new(file)), expected, "{file}");
        }
    }
}
