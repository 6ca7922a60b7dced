//! feeds.toml text → config or a list of mistakes: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = feedloom::config::parse(text, std::path::Path::new("/fuzz/feeds.toml"));
});
