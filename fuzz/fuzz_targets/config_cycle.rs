//! Random feeds.toml text → `check`, and for a valid config one whole
//! cycle (fetch, record, publish) over local fixtures: no setting may
//! panic the run. Every source is pointed at a fixture (feeds, a folder of
//! articles) or at a closed loopback port (pages), and state and outputs
//! at a scratch folder, whatever the text says.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use feedloom::config::{Location, SourceKind};
use libfuzzer_sys::fuzz_target;

const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Fixture</title><link>http://127.0.0.1:1/</link><description>d</description>
<item><title>First</title><link>http://127.0.0.1:1/a</link><guid>a</guid><pubDate>Tue, 10 Mar 2026 10:00:00 +0000</pubDate><description>One &lt;b&gt;two&lt;/b&gt;</description></item>
<item><title>Old</title><link>http://127.0.0.1:1/b</link><pubDate>Mon, 01 Jan 0001 00:00:00 +1400</pubDate></item>
</channel></rss>"#;

/// The scratch folder: the fixture feed, a folder with one article.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("feedloom-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("articles")).unwrap();
        std::fs::write(dir.join("feed.rss"), FEED).unwrap();
        std::fs::write(
            dir.join("articles/note.md"),
            "---\ntitle: A note\ndate: 2026-03-01\n---\nSome words.\n",
        )
        .unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let dir = scratch();
    let Ok(mut settings) = feedloom::config::parse(text, &dir.join("feeds.toml")) else {
        return;
    };
    let _ = feedloom::config::warnings(&settings);
    settings.state_file = dir.join("state/feedloom.db");
    settings.output_dir = dir.join("output");
    let closed = url::Url::parse("http://127.0.0.1:1/").unwrap();
    settings.sources.retain_mut(|s| {
        s.location = match &s.kind {
            SourceKind::Feed => Location::Path(dir.join("feed.rss")),
            SourceKind::Files(_) => Location::Path(dir.join("articles")),
            SourceKind::Scrape(_) => Location::Url(closed.clone()),
        };
        true
    });
    for output in &mut settings.outputs {
        output.websub_hub = None;
        output.template = None;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = feedloom::run::RunOptions {
        all: true,
        ..Default::default()
    };
    let _ = runtime.block_on(feedloom::run::run_once(&settings, options));
    // A fresh state each time: the next input starts from nothing.
    let _ = std::fs::remove_dir_all(dir.join("state"));
    let _ = std::fs::remove_dir_all(dir.join("output"));
});
