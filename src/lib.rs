//! feedloom weaves many sources into a few clean feeds: it reads RSS, Atom
//! and JSON feeds, normalizes every article (UTC dates, plain titles, safe
//! HTML, canonical links, attribution), remembers them in a SQLite state
//! file, and publishes merged RSS 2.0, Atom 1.0 and JSON Feed files. It also
//! scrapes sites without feeds and turns folders of saved articles into feeds.
//!
//! # Layout
//! - [`config`]: `feeds.toml` into validated [`config::Settings`].
//! - [`model`]: the nouns handed between stages ([`model::Article`], [`model::Fetched`]).
//! - [`source`]: reading each source kind: feeds (feedparser-rs, feed-rs as
//!   the fallback), scraped pages, folders of files; HTTP with the host
//!   policy, charsets, robots.txt and per-host limits.
//! - [`extract`]: article fields from HTML pages, text dumps and Markdown.
//! - [`normalize`]: dates, links, sanitizing, filters, in one visible order.
//! - [`store`]: the SQLite state: items, first-seen times, validators, health.
//! - [`publish`]: RSS, Atom, JSON Feed and OPML writers, streamed, with atomic file writes.
//! - [`run`]: one cycle ([`run::run_once`]); [`daemon`]: every source on
//!   its own clock ([`daemon::run`]).
//! - [`opml`]: OPML import and export.
//! - [`schedule`]: when each source is next due, backoff.
//! - [`serve`]: the output folder over HTTP; [`lock`]: one run at a time.
//! - [`error`]: one error enum per stage.
//!
//! # Example
//! ```
//! let text = r#"
//! [[source]]
//! name = "Example blog"
//! url = "https://blog.example.org/feed.xml"
//!
//! [[output]]
//! name = "all"
//! formats = ["rss", "atom"]
//! "#;
//! let settings = feedloom::config::parse(text, std::path::Path::new("/srv/feeds.toml")).unwrap();
//! assert_eq!(settings.sources[0].name, "Example blog");
//! assert_eq!(settings.outputs[0].formats.len(), 2);
//! assert_eq!(settings.output_dir, std::path::Path::new("/srv/output"));
//! ```

pub mod config;
pub mod daemon;
pub mod discover;
pub mod edit;
pub mod error;
pub mod extract;
pub mod lock;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod publish;
pub mod run;
pub mod schedule;
pub mod serve;
pub mod source;
pub mod store;
pub mod websub;
pub mod writeback;
