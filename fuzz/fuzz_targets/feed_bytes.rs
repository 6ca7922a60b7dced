//! Feed bytes → normalized items: never a panic, whatever the bytes.
#![no_main]

use feedloom::config::{Filter, Limits, Location, SourceConfig, SourceKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = SourceConfig {
        name: "fuzz".into(),
        kind: SourceKind::Feed,
        location: Location::Path("/fuzz".into()),
        tags: vec![],
        interval: std::time::Duration::from_secs(60),
        schedule: None,
        timezone: chrono_tz::Tz::UTC,
        max_items: None,
        filter: Filter::default(),
    };
    let url = url::Url::parse("https://fuzz.example/feed").unwrap();
    if let Ok((_, entries)) = feedloom::source::feed::parse(data, None, &url, &source, &Limits::default()) {
        let _ = feedloom::normalize::normalize(entries, &source, chrono::Utc::now());
    }
});
