//! What servers and configs feed the scheduler — a status, a `Retry-After`
//! header, an interval, a cron schedule, a failure count, a cap, the clock —
//! never panics it, and the next due time never comes before "now" or
//! after the cap where a cap applies.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use feedloom::config::{Location, SourceConfig};
use feedloom::schedule;
use feedloom::source::http;
use libfuzzer_sys::fuzz_target;

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, byte) in data.iter().skip(at).take(8).enumerate() {
        b[i] = *byte;
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 34 {
        return;
    }
    let interval = Duration::from_millis(u64_at(data, 0));
    let cap = Duration::from_secs(u64_at(data, 8) >> (data[32] % 64));
    let failures = u32::try_from(u64_at(data, 16) & 0xffff_ffff).unwrap_or(u32::MAX);
    let now_s = (u64_at(data, 24) as i64) >> (data[33] % 64);
    let Some(now) = DateTime::<Utc>::from_timestamp(now_s, 0) else {
        return;
    };
    let header = String::from_utf8_lossy(&data[34..]);
    let (header, cron) = header.split_once('\n').unwrap_or((&header, ""));
    let clock = UNIX_EPOCH
        .checked_add(Duration::from_secs(now_s.max(0) as u64))
        .unwrap_or(SystemTime::now());
    let wait = http::retry_after(header, clock).map(|w| w.min(cap));
    let mut source = SourceConfig::feed("fuzz", Location::Path("/fuzz".into()));
    source.interval = interval;
    source.schedule = cron.parse().ok();
    let due = schedule::next_due(&source, now);
    assert!(due >= now);
    let backoff = schedule::backoff(&source, failures, cap, wait, now);
    assert!(backoff >= now);
    assert!(backoff <= schedule::later(now, cap));
    let _ = schedule::later(now, interval);
});
