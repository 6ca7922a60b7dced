//! Date strings → instants: never a panic, and never a date the parser
//! cannot write back out.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = chrono::Utc::now();
    for tz in [chrono_tz::Tz::UTC, chrono_tz::Tz::America__New_York, chrono_tz::Tz::Asia__Kolkata] {
        if let Some(d) = feedloom::normalize::date::parse(text, tz) {
            let _ = d.to_rfc2822();
        }
        let _ = feedloom::normalize::date::find_in_text(text, tz, now);
        let _ = feedloom::normalize::date::from_url_path(text, tz);
    }
    let _ = feedloom::normalize::date::parse_relative(text, now);
});
