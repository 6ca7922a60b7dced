//! Feed bytes → normalized items: never a panic, whatever the bytes.
#![no_main]

use feedloom::config::{Limits, Location, SourceConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = SourceConfig::feed("fuzz", Location::Path("/fuzz".into()));
    let url = url::Url::parse("https://fuzz.example/feed").unwrap();
    if let Ok((_, entries)) = feedloom::source::feed::parse(data, None, &url, &source, &Limits::default()) {
        let _ = feedloom::normalize::normalize(entries, &source, chrono::Utc::now());
    }
});
