//! HTML page → extracted article: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://fuzz.example/2021/06/22/page.html").unwrap();
    let now = chrono::Utc::now();
    for name in ["page.html", "page.txt", "page.md"] {
        let (found, _) = feedloom::extract::document(data, name, &url, chrono_tz::Tz::UTC, now);
        if let Some(body) = found.body {
            let _ = feedloom::extract::body_text(&body.value);
        }
    }
});
