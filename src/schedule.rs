//! When each source is next due: its `interval` (with a little jitter so
//! sources do not fire together) or its cron `schedule`; after failures,
//! exponential backoff with jitter, capped; after a `Retry-After`, no
//! earlier than the server asked.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::SourceConfig;
use crate::normalize::link;

/// The largest jitter added to an interval: 5% of it, and never more than this.
const MAX_JITTER: Duration = Duration::from_secs(30);

/// A stable pseudo-random fraction in [0, 1) for this source at this time:
/// spreads sources apart without a random-number generator, and repeats
/// exactly in tests.
fn fraction(source: &str, now: DateTime<Utc>) -> f64 {
    let hex = link::digest(&[source, &now.timestamp().to_string()]);
    let n = u32::from_str_radix(&hex[..8], 16).unwrap_or(0);
    f64::from(n) / (f64::from(u32::MAX) + 1.0)
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `now + wait`, saturating at the latest instant chrono can hold: waits
/// come from the config and from servers (`Retry-After`), and no value of
/// either may panic the scheduler.
#[must_use]
pub fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now.checked_add_signed(delta(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `d × factor`, saturating at [`Duration::MAX`] (and 0 for a factor that is
/// not a positive number): `Duration::mul_f64` panics on overflow.
fn scaled(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(if factor > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

/// When a source that just succeeded is next due.
#[must_use]
pub fn next_due(source: &SourceConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    if let Some(cron) = &source.schedule
        && let Ok(next) = cron.find_next_occurrence(&now, false)
    {
        return next;
    }
    let jitter = scaled(
        scaled(source.interval, 0.05).min(MAX_JITTER),
        fraction(&source.name, now),
    );
    later(now, source.interval.saturating_add(jitter))
}

/// When a source that has now failed `failures` times in a row is next due:
/// its interval doubled per failure (±10% jitter), at most `cap`, and never
/// before `retry_after` from now, which is itself held to `cap`: a server
/// may ask for a pause, not for a source to be dropped for centuries.
#[must_use]
pub fn backoff(
    source: &SourceConfig,
    failures: u32,
    cap: Duration,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let factor = 2f64.powi(i32::try_from(failures.min(30)).unwrap_or(30));
    let wait = scaled(source.interval, factor).min(cap);
    let wait = scaled(wait, 0.9 + 0.2 * fraction(&source.name, now)).min(cap);
    let wait = retry_after.map_or(wait, |r| wait.max(r.min(cap)));
    later(now, wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Location;

    fn source(interval: u64, schedule: Option<&str>) -> SourceConfig {
        SourceConfig {
            interval: Duration::from_secs(interval),
            schedule: schedule.map(|s| Box::new(s.parse().unwrap())),
            ..SourceConfig::feed("s", Location::Path("/x".into()))
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn interval_with_small_jitter() {
        let now = t("2026-03-01T10:00:00Z");
        let due = next_due(&source(600, None), now);
        let wait = (due - now).num_seconds();
        assert!((600..=630).contains(&wait), "{wait}");
        assert_eq!(due, next_due(&source(600, None), now), "deterministic");
    }

    #[test]
    fn cron_schedule_wins() {
        let now = t("2026-03-01T10:07:30Z");
        assert_eq!(
            next_due(&source(600, Some("*/15 * * * *")), now),
            t("2026-03-01T10:15:00Z")
        );
    }

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let now = t("2026-03-01T10:00:00Z");
        let s = source(60, None);
        let cap = Duration::from_secs(3600);
        let waits: Vec<i64> = (1..=8)
            .map(|f| (backoff(&s, f, cap, None, now) - now).num_seconds())
            .collect();
        for pair in waits.windows(2) {
            assert!(pair[1] >= pair[0], "{waits:?}");
        }
        assert!((108..=132).contains(&waits[0]), "{waits:?}");
        assert!(waits[7] <= 3600, "{waits:?}");
        let after = backoff(&s, 1, cap, Some(Duration::from_secs(900)), now);
        assert_eq!((after - now).num_seconds(), 900);
        let absurd = backoff(&s, 1, cap, Some(Duration::MAX), now);
        assert_eq!(
            absurd - now,
            TimeDelta::hours(1),
            "Retry-After is held to the cap"
        );
    }

    #[test]
    fn the_largest_values_saturate_instead_of_panicking() {
        let huge = SourceConfig {
            interval: Duration::MAX,
            ..source(1, None)
        };
        for now in [t("2026-03-01T10:00:00Z"), DateTime::<Utc>::MAX_UTC] {
            assert_eq!(next_due(&huge, now), DateTime::<Utc>::MAX_UTC);
            let due = backoff(&huge, u32::MAX, Duration::MAX, Some(Duration::MAX), now);
            assert_eq!(due, DateTime::<Utc>::MAX_UTC);
        }
        assert_eq!(
            later(DateTime::<Utc>::MIN_UTC, Duration::ZERO),
            DateTime::<Utc>::MIN_UTC
        );
    }
}
