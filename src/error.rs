//! The error types of each pipeline stage. Every variant carries what a
//! person needs to act on the message alone: the source name, the URL or
//! path, the line of `feeds.toml`.

use std::path::PathBuf;

/// A problem with `feeds.toml`: reading it, its syntax, or a value in it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// There is no config file there.
    #[error("no {} here; `feedloom init` writes a starter one (or pass --config PATH)", .path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file could not be read at all.
    #[error("reading {path}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// One or more mistakes, each already formatted with its line and fix.
    #[error("{path} has {} mistake{}:\n{}", .problems.len(), if .problems.len() == 1 { "" } else { "s" }, .problems.join("\n"))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Every mistake found, one line each: "line N: key `k`: what is wrong; the fix".
        problems: Vec<String>,
    },
}

/// Why one source could not be read this cycle. Always names the source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The request itself failed (connection, timeout, TLS, too many redirects).
    #[error("source `{source_name}`: fetching {url}: {message}")]
    Http {
        /// The source's name from `feeds.toml`.
        source_name: String,
        /// The URL requested.
        url: String,
        /// The cause, flattened so the message stands alone.
        message: String,
    },
    /// The server answered with an error status.
    #[error("source `{source_name}`: {url} answered HTTP {status}")]
    Status {
        /// The source's name.
        source_name: String,
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A limit from `[settings]` was crossed.
    #[error("source `{source_name}`: {what} exceeds the limit of {limit}")]
    Limit {
        /// The source's name.
        source_name: String,
        /// What crossed the limit, e.g. "response body".
        what: String,
        /// The limit, human readable.
        limit: String,
    },
    /// 429 or 503: the server asks us to come back later.
    #[error("source `{source_name}`: {url} answered HTTP {status}{}", retry_after.map(|d| format!(" and asked us to retry after {}s", d.as_secs())).unwrap_or_default())]
    RetryLater {
        /// The source's name.
        source_name: String,
        /// The URL requested.
        url: String,
        /// 429 or 503.
        status: u16,
        /// The wait the server asked for (`Retry-After`).
        retry_after: Option<std::time::Duration>,
    },
    /// 410: the feed is gone for good; the source is disabled.
    #[error(
        "source `{source_name}`: {url} answered 410 Gone; the source is disabled until its URL changes"
    )]
    Gone {
        /// The source's name.
        source_name: String,
        /// The URL requested.
        url: String,
    },
    /// Redirects that loop or do not end.
    #[error("source `{source_name}`: {url}: {problem}")]
    Redirect {
        /// The source's name.
        source_name: String,
        /// The URL first requested.
        url: String,
        /// "redirect loop via ..." or "more than 5 redirects".
        problem: String,
    },
    /// robots.txt asks us not to read a page.
    #[error("source `{source_name}`: {url} is disallowed by the site's robots.txt")]
    Robots {
        /// The source's name.
        source_name: String,
        /// The page.
        url: String,
    },
    /// A local file could not be read.
    #[error("source `{source_name}`: reading {path}")]
    File {
        /// The source's name.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a feed we can read.
    #[error("source `{source_name}`: {location} is not a readable feed: {message}")]
    Parse {
        /// The source's name.
        source_name: String,
        /// The URL or path the bytes came from.
        location: String,
        /// What the parser reported.
        message: String,
    },
    /// The host policy refuses an address: a private or loopback address,
    /// a link to another site, or a scheme other than http(s).
    #[error("source `{source_name}`: refused to fetch {url}: {reason}")]
    Refused {
        /// The source's name.
        source_name: String,
        /// The address refused.
        url: String,
        /// Which rule refused it, and how to allow it where that is possible.
        reason: String,
    },
    /// Reading the source panicked: a bug, confined to this source.
    #[error(
        "source `{source_name}`: reading it failed unexpectedly ({message}); please report this"
    )]
    Crashed {
        /// The source's name.
        source_name: String,
        /// The panic message.
        message: String,
    },
}

/// A failure of the state (the SQLite file or the PostgreSQL database).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening or creating the state file.
    #[error("opening state file {path}")]
    Open {
        /// The state file.
        path: PathBuf,
        /// The database's error.
        #[source]
        source: crate::store::DbError,
    },
    /// Connecting to the PostgreSQL database (its password left out).
    #[error("connecting to the state database {url}")]
    Connect {
        /// The database URL as given, without its password.
        url: String,
        /// The database's error.
        #[source]
        source: crate::store::DbError,
    },
    /// Creating the folder that holds the state file.
    #[error("creating state folder {path}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another run or daemon writes the PostgreSQL database.
    #[error("another feedloom run or daemon is using the state database {url}")]
    Busy {
        /// The database URL, without its password.
        url: String,
    },
    /// This daemon may not join the workers sharing the database.
    #[error("not joining the workers sharing the state database: {reason}")]
    Refused {
        /// Why.
        reason: String,
    },
    /// A query failed.
    #[error("state query: {context}")]
    Query {
        /// What was being done.
        context: &'static str,
        /// The database's error.
        #[source]
        source: crate::store::DbError,
    },
    /// Moving a published file's layout between its temp file and the
    /// state file.
    #[error("state file layout: {context}")]
    Layout {
        /// What was being done.
        context: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A failure while writing an output file.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Writing (or creating the folder for) an output file.
    #[error("writing {path}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serializing a feed document.
    #[error("building output `{output}` as {format}: {message}")]
    Build {
        /// The output's name.
        output: String,
        /// "rss", "atom" or "json".
        format: &'static str,
        /// What the serializer reported.
        message: String,
    },
    /// Reading items from the state file.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Shorthand used by the store.
pub(crate) fn query<E: Into<crate::store::DbError>>(
    context: &'static str,
) -> impl FnOnce(E) -> StoreError {
    move |source| StoreError::Query {
        context,
        source: source.into(),
    }
}

/// Why a whole run could not publish (exit code 1). A failing source is
/// not one of these: it is reported and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The state file could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An output could not be written.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The HTTP client could not be built.
    #[error("setting up the HTTP client: {0}")]
    Client(String),
}
