//! Dates as feeds really write them, turned into UTC instants.
//!
//! Handles RFC 3339 / ISO 8601 (with and without offsets), RFC 822/2822 with
//! the usual breakage (no weekday, no seconds, zone names such as `EST`,
//! two-digit years, offsets with a colon) and the human forms of the same
//! tokens ("June 22, 2021", "22nd June 2021 3:45 PM EDT"). A date without an
//! offset is read in the source's time zone.
//!
//! Written here rather than taken from a crate: chrono parses only strict
//! RFC 2822/3339, and the lenient crates we tried read naive dates as local
//! machine time, which breaks the per-source `timezone` rule.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Parses `text` into a UTC instant; naive dates are read in `tz`.
#[must_use]
pub fn parse(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    parse_local(text, tz).map(|d| d.with_timezone(&Utc))
}

/// Parses `text` keeping the offset it was written with (or `tz`'s), so
/// the calendar day the page shows is not lost to the conversion to UTC.
#[must_use]
pub fn parse_local(text: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 100 {
        return None;
    }
    parse_iso(text, tz).or_else(|| parse_tokens(text, tz))
}

/// Relative dates as pages print them ("3 hours ago", "an hour ago",
/// "yesterday", "today", "just now"), against `now`.
#[must_use]
pub fn parse_relative(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let lower = text.trim().to_lowercase();
    let lower = lower.trim_end_matches('.');
    match lower {
        "just now" | "now" | "today" | "moments ago" | "a moment ago" => return Some(now),
        "yesterday" => return Some(now - chrono::TimeDelta::days(1)),
        _ => {}
    }
    let caps = RELATIVE.captures(lower)?;
    let n: i64 = match &caps[1] {
        "a" | "an" | "one" => 1,
        digits => digits.parse().ok()?,
    };
    let unit = &caps[2];
    let delta = if unit.starts_with("sec") {
        chrono::TimeDelta::seconds(n)
    } else if unit.starts_with("min") {
        chrono::TimeDelta::minutes(n)
    } else if unit.starts_with('h') {
        chrono::TimeDelta::hours(n)
    } else if unit.starts_with('d') {
        chrono::TimeDelta::days(n)
    } else if unit.starts_with('w') {
        chrono::TimeDelta::weeks(n)
    } else if unit.starts_with("mo") {
        chrono::TimeDelta::days(30 * n)
    } else {
        chrono::TimeDelta::days(365 * n)
    };
    now.checked_sub_signed(delta)
}

static RELATIVE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^(\d{1,4}|an?|one)\s+(seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|d|weeks?|w|months?|mo|years?|yrs?|y)\s+ago$")
        .expect("static regex")
});

/// Month-name and ISO dates, with an optional time and zone, or a relative
/// date, anywhere inside a run of text ("Published June 22, 2021 at 3:45 PM").
static DATE_IN_TEXT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    let month = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
    let time =
        r"(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s+[a-z]{2,5}\b)?)?";
    let pattern = format!(
        r"(?i)\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{month},?\s+\d{{4}}{time}|{month}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}{time}|\d{{4}}-\d{{2}}-\d{{2}}(?:[t ]\d{{2}}:\d{{2}}(?::\d{{2}})?(?:z|[+-]\d{{2}}:?\d{{2}})?)?|\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}}|\d{{4}}/\d{{2}}/\d{{2}}|\d{{4}}\.\d{{2}}\.\d{{2}}|\d{{1,2}}\.\d{{1,2}}\.\d{{2}}|(?:\d{{1,4}}|an?|one)\s+(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago|yesterday)\b"
    );
    regex::Regex::new(&pattern).expect("static regex")
});

/// The first date written anywhere in `text`, read in `tz` (relative forms
/// against `now`).
#[must_use]
pub fn find_in_text(text: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    find_in_text_local(text, tz, now).map(|d| d.with_timezone(&Utc))
}

/// [`find_in_text`], keeping the written offset.
#[must_use]
pub fn find_in_text_local(text: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    DATE_IN_TEXT
        .find_iter(text)
        // "Yesterday's Word" names a page, not a date.
        .filter(|m| !text[m.end()..].starts_with(['\'', '\u{2019}']))
        .find_map(|m| {
            parse_local(m.as_str(), tz)
                .or_else(|| parse_relative(m.as_str(), now).map(|d| d.fixed_offset()))
        })
        .or_else(|| localized_in_text(text, tz))
}

/// Month names as other languages write a date in running text, with
/// their month numbers: German, French, Spanish, Portuguese, Italian,
/// Dutch, and the genitive forms Russian and Polish use after a day.
pub(crate) const LOCAL_MONTHS: &[(&str, u32)] = &[
    ("januar", 1),
    ("jänner", 1),
    ("februar", 2),
    ("märz", 3),
    ("april", 4),
    ("mai", 5),
    ("juni", 6),
    ("juli", 7),
    ("august", 8),
    ("september", 9),
    ("oktober", 10),
    ("november", 11),
    ("dezember", 12),
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("marco", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
    ("января", 1),
    ("февраля", 2),
    ("марта", 3),
    ("апреля", 4),
    ("мая", 5),
    ("июня", 6),
    ("июля", 7),
    ("августа", 8),
    ("сентября", 9),
    ("октября", 10),
    ("ноября", 11),
    ("декабря", 12),
    ("stycznia", 1),
    ("lutego", 2),
    ("marca", 3),
    ("kwietnia", 4),
    ("maja", 5),
    ("czerwca", 6),
    ("lipca", 7),
    ("sierpnia", 8),
    ("września", 9),
    ("października", 10),
    ("listopada", 11),
    ("grudnia", 12),
    ("ocak", 1),
    ("şubat", 2),
    ("mart", 3),
    ("nisan", 4),
    ("mayıs", 5),
    ("haziran", 6),
    ("temmuz", 7),
    ("ağustos", 8),
    ("eylül", 9),
    ("ekim", 10),
    ("kasım", 11),
    ("aralık", 12),
    ("gen", 1),
    ("feb", 2),
    ("mär", 3),
    ("okt", 10),
    ("dez", 12),
    ("janv", 1),
    ("févr", 2),
    ("avr", 4),
    ("juil", 7),
    ("sept", 9),
    ("déc", 12),
    ("ene", 1),
    ("abr", 4),
    ("ago", 8),
    ("dic", 12),
    ("fev", 2),
    ("mai", 5),
    ("set", 9),
    ("out", 10),
    ("dez", 12),
    ("giu", 6),
    ("lug", 7),
    ("ott", 10),
    ("mrt", 3),
    ("nov", 11),
    ("jan", 1),
    ("apr", 4),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("dec", 12),
    ("jun", 6),
    ("jul", 7),
];

static LOCALIZED_DATE: std::sync::LazyLock<[regex::Regex; 2]> = std::sync::LazyLock::new(|| {
    let mut names: Vec<&str> = LOCAL_MONTHS.iter().map(|(n, _)| *n).collect();
    // Longest first, so "juni" is not read as "jun".
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names.dedup();
    let month = names.join("|");
    [
        // 12. Juni 2019, 12 juin 2019, 12 de junio de 2019, 12 июня 2019 г.
        format!(r"(?i)\b(\d{{1,2}})\.?\s*(?:de\s+)?({month})\.?,?\s+(?:de\s+|del\s+)?(\d{{4}})\b"),
        // 2019年6月12日 (Chinese, Japanese), 2019년 6월 12일 (Korean)
        r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]".to_owned(),
    ]
    .map(|p| regex::Regex::new(&p).expect("static regex"))
});

/// The first date in `text` written the way another language writes it
/// (see [`LOCAL_MONTHS`]), at midnight in `tz`.
fn localized_in_text(text: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let [named, cjk] = &*LOCALIZED_DATE;
    let from_named = named.captures_iter(text).find_map(|c| {
        let name = c[2].to_lowercase();
        let month = LOCAL_MONTHS.iter().find(|(n, _)| *n == name)?.1;
        NaiveDate::from_ymd_opt(c[3].parse().ok()?, month, c[1].parse().ok()?)
    });
    let date = from_named.or_else(|| {
        cjk.captures_iter(text).find_map(|c| {
            NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)
        })
    })?;
    local(date.and_hms_opt(0, 0, 0)?, tz)
}

static DATE_IN_PATH: std::sync::LazyLock<[regex::Regex; 5]> = std::sync::LazyLock::new(|| {
    [
        r"/(?P<y>(?:19|20)\d{2})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/|$)",
        r"/(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})(?:[/._-]|$)",
        r"/(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?:/|$)",
        r"/(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})/(?P<d>\d{2})/",
        r"/(?P<d>\d{2})-(?P<m>\d{2})-(?P<y>(?:19|20)\d{2})(?:[/._]|$)",
    ]
    .map(|p| regex::Regex::new(p).expect("static regex"))
});

/// A date in a URL path: `/2021/06/22/`, `/2021-06-22-slug`, `/20210622/`,
/// `/2021-06/22/`, `/22-06-2021`.
#[must_use]
pub fn from_url_path(path: &str, tz: Tz) -> Option<DateTime<Utc>> {
    from_url_path_local(path, tz).map(|d| d.with_timezone(&Utc))
}

/// [`from_url_path`], in `tz`.
#[must_use]
pub fn from_url_path_local(path: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    DATE_IN_PATH.iter().find_map(|re| {
        let caps = re.captures(path)?;
        let date = NaiveDate::from_ymd_opt(
            caps["y"].parse().ok()?,
            caps["m"].parse().ok()?,
            caps["d"].parse().ok()?,
        )?;
        local(date.and_hms_opt(0, 0, 0)?, tz)
    })
}

/// RFC 3339 and the ISO 8601 shapes feeds use: `T` or space between date
/// and time, optional seconds and fractions, `Z`, `+hh:mm`, `+hhmm`, `+hh`
/// or no offset at all.
fn parse_iso(text: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let b = text.as_bytes();
    let is_iso_date = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if !is_iso_date {
        return None;
    }
    let date = NaiveDate::parse_from_str(&text[..10], "%Y-%m-%d").ok()?;
    let rest = text[10..].trim_start();
    if rest.is_empty() {
        return local(date.and_hms_opt(0, 0, 0)?, tz);
    }
    let rest = rest.strip_prefix(['T', 't']).unwrap_or(rest);
    // Split the time from its offset at the first `Z`, `+` or `-`.
    let split = rest
        .find(|c: char| matches!(c, 'Z' | 'z' | '+' | '-') || c.is_ascii_alphabetic() || c == ' ')
        .unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(split);
    let time = parse_clock(clock)?;
    let naive = date.and_time(time);
    let zone = zone.trim();
    if zone.is_empty() {
        return local(naive, tz);
    }
    let offset = zone_offset(zone)?;
    offset.from_local_datetime(&naive).single()
}

/// `hh:mm`, `hh:mm:ss`, `hh:mm:ss.fff`; fractions are dropped.
fn parse_clock(clock: &str) -> Option<NaiveTime> {
    let clock = clock.split('.').next()?.split(',').next()?;
    let mut parts = clock.split(':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next()?.trim().parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.trim().parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    // A leap second (":60") is read as the last second of the minute.
    NaiveTime::from_hms_opt(h, m, s.min(59))
}

fn local(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<FixedOffset>> {
    // In a DST gap or overlap, take the earliest reading rather than none.
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.fixed_offset())
}

/// A numeric offset (`Z`, `+05:30`, `-0500`, `+05`, `GMT+2`, `UTC-03:00`) or
/// a zone abbreviation (`EST`, `PDT`, `CEST`, ...).
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let zone = zone.trim().trim_matches(|c| c == '(' || c == ')');
    let upper = zone.to_ascii_uppercase();
    let numeric = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .or_else(|| upper.strip_prefix("UT"))
        .filter(|r| r.starts_with(['+', '-']))
        .unwrap_or(&upper);
    if let Some(sign) = numeric.chars().next().filter(|c| matches!(c, '+' | '-')) {
        let digits: String = numeric[1..].chars().filter(char::is_ascii_digit).collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok()?, 0),
            3 => (
                digits[..1].parse::<i32>().ok()?,
                digits[1..].parse::<i32>().ok()?,
            ),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        if h > 14 || m > 59 {
            return None;
        }
        let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
        return FixedOffset::east_opt(secs);
    }
    let hours = |h: f64| {
        #[allow(clippy::cast_possible_truncation)]
        FixedOffset::east_opt((h * 3600.0) as i32)
    };
    match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" | "ZULU" => hours(0.0),
        "EST" => hours(-5.0),
        "EDT" => hours(-4.0),
        "CST" => hours(-6.0),
        "CDT" => hours(-5.0),
        "MST" => hours(-7.0),
        "MDT" => hours(-6.0),
        "PST" => hours(-8.0),
        "PDT" => hours(-7.0),
        "AKST" => hours(-9.0),
        "AKDT" => hours(-8.0),
        "HST" => hours(-10.0),
        "AST" => hours(-4.0),
        "ADT" => hours(-3.0),
        "NST" => hours(-3.5),
        "NDT" => hours(-2.5),
        "BST" | "CET" | "WEST" | "MET" => hours(1.0),
        "CEST" | "EET" | "MEST" | "SAST" => hours(2.0),
        "EEST" | "MSK" => hours(3.0),
        "IST" => hours(5.5),
        "ICT" | "WIB" => hours(7.0),
        "HKT" | "SGT" | "AWST" | "PHT" => hours(8.0),
        "JST" | "KST" => hours(9.0),
        "ACST" => hours(9.5),
        "AEST" => hours(10.0),
        "ACDT" => hours(10.5),
        "AEDT" => hours(11.0),
        "NZST" => hours(12.0),
        "NZDT" => hours(13.0),
        // RFC 822 military zones are known to have been specified with the
        // wrong sign; RFC 1123 says to read them as "-0000".
        z if z.len() == 1 && z.chars().all(|c| c.is_ascii_alphabetic()) => hours(0.0),
        _ => None,
    }
}

fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if w.len() < 3 {
        return None;
    }
    let pos = MONTHS.iter().position(|m| w.starts_with(m))?;
    // Accept "Jan", "January", "Sept"; reject words that only start alike ("market").
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (FULL[pos].starts_with(&w)).then_some(pos as u32 + 1)
}

fn is_weekday(word: &str) -> bool {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    w.len() >= 3 && DAYS.iter().any(|d| d.starts_with(&w))
}

/// RFC 822 and human dates, read token by token: weekday names are skipped,
/// a month name fixes the month, a four-digit number is the year, the first
/// small number the day, `hh:mm[:ss]` the time, AM/PM adjusts it, and what
/// remains may be the zone.
fn parse_tokens(text: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let mut day: Option<u32> = None;
    let mut month: Option<u32> = None;
    let mut year: Option<i32> = None;
    let mut time: Option<NaiveTime> = None;
    let mut pm: Option<bool> = None;
    let mut offset: Option<FixedOffset> = None;
    let mut bare_numbers: Vec<u32> = Vec::new();

    // The RFC 822 weekday slot ("Tue," but also "mer," or "Di,") carries
    // nothing the date does not: drop whatever word fills it.
    let text = match text.split_once(',') {
        Some((head, rest))
            if !head.is_empty() && head.chars().all(|c| c.is_alphabetic() || c == '.') =>
        {
            rest
        }
        _ => text,
    };
    let cleaned = text.replace([',', '\u{a0}'], " ");
    let tokens = cleaned.split_whitespace().peekable();
    for token in tokens {
        let lower = token.to_ascii_lowercase();
        if matches!(lower.as_str(), "at" | "on" | "of" | "the" | "-" | "|" | "@")
            || is_weekday(token)
        {
            continue;
        }
        if matches!(lower.as_str(), "am" | "a.m." | "a.m") {
            pm = Some(false);
            continue;
        }
        if matches!(lower.as_str(), "pm" | "p.m." | "p.m") {
            pm = Some(true);
            continue;
        }
        if month.is_none()
            && let Some(m) = month_number(token)
        {
            month = Some(m);
            continue;
        }
        if token.contains(':') && time.is_none() {
            // "3:45pm", "15:45:30", "15:45:30+0200", "10:00:00Z"
            let split = token
                .find(|c: char| c.is_ascii_alphabetic() || c == '+' || c == '-')
                .unwrap_or(token.len());
            let (clock, suffix) = token.split_at(split);
            time = Some(parse_clock(clock)?);
            let suffix_lower = suffix.to_ascii_lowercase();
            match suffix_lower.as_str() {
                "" => {}
                "am" | "a.m." => pm = Some(false),
                "pm" | "p.m." => pm = Some(true),
                _ => offset = Some(zone_offset(suffix)?),
            }
            continue;
        }
        if let Some(number) = numeric_token(token) {
            match number {
                Numeric::Year(y) => year = Some(y),
                Numeric::Small(n) => bare_numbers.push(n),
            }
            continue;
        }
        if offset.is_none()
            && let Some(o) = zone_offset(token)
        {
            offset = Some(o);
            continue;
        }
        // "2021/06/22" or "22.06.2021"
        if let Some((y, m, d)) = slashed_date(token) {
            year = Some(y);
            month = Some(m);
            day = Some(d);
            continue;
        }
        return None;
    }

    let month = month?;
    for n in bare_numbers {
        if day.is_none() && (1..=31).contains(&n) {
            day = Some(n);
        } else if year.is_none() {
            // Two-digit years, as RFC 2822 reads them: 00-49 → 20xx.
            year = Some(if n < 50 {
                2000 + n as i32
            } else if n < 100 {
                1900 + n as i32
            } else {
                return None;
            });
        } else {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month, day?)?;
    let mut time = time.unwrap_or(NaiveTime::MIN);
    if let Some(pm) = pm {
        use chrono::Timelike;
        let h = time.hour();
        if h > 12 || h == 0 && pm {
            return None;
        }
        let h = match (pm, h) {
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, 12) => 0,
            (false, h) => h,
        };
        time = time.with_hour(h)?;
    }
    let naive = date.and_time(time);
    match offset {
        Some(o) => o.from_local_datetime(&naive).single(),
        None => local(naive, tz),
    }
}

enum Numeric {
    Year(i32),
    Small(u32),
}

/// A number token: "2021" is a year; "22", "22nd", "05" are day or short year.
fn numeric_token(token: &str) -> Option<Numeric> {
    let t = token.trim_end_matches('.');
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits_end == 0 {
        return None;
    }
    let (digits, suffix) = t.split_at(digits_end);
    if !matches!(
        suffix.to_ascii_lowercase().as_str(),
        "" | "st" | "nd" | "rd" | "th"
    ) {
        return None;
    }
    match digits.len() {
        4 if suffix.is_empty() => digits.parse().ok().map(Numeric::Year),
        1 | 2 => digits.parse().ok().map(Numeric::Small),
        _ => None,
    }
}

/// `YYYY/MM/DD`, `YYYY.MM.DD`, `DD.MM.YYYY`, `DD/MM/YYYY` is ambiguous and
/// therefore read only when the day is above 12 or equal to the month.
fn slashed_date(token: &str) -> Option<(i32, u32, u32)> {
    let sep = if token.contains('/') {
        '/'
    } else if token.contains('.') {
        '.'
    } else {
        return None;
    };
    let parts: Vec<&str> = token.split(sep).collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts[0].len() == 4 {
        return Some((n[0] as i32, n[1], n[2]));
    }
    if parts[2].len() == 4 {
        let (a, b) = (n[0], n[1]);
        if sep == '.' || a > 12 || a == b {
            return Some((n[2] as i32, b, a));
        }
        if b > 12 {
            return Some((n[2] as i32, a, b));
        }
    }
    // `DD.MM.YY`, as German pages print it; two-digit years as RFC 2822
    // reads them (00-49 → 20xx).
    if sep == '.' && parts[2].len() == 2 && parts[0].len() <= 2 && parts[1].len() <= 2 {
        let century = if n[2] < 50 { 2000 } else { 1900 };
        return Some((century + n[2] as i32, n[1], n[0]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dotted_dates_with_short_years_or_the_year_first_are_found_in_text() {
        let now = utc("2026-12-01T00:00:00Z");
        let day =
            |text: &str| find_in_text_local(text, Tz::UTC, now).map(|d| d.date_naive().to_string());
        assert_eq!(day("Party, 30.10.23").as_deref(), Some("2023-10-30"));
        assert_eq!(day("2023.11.02. 20:06").as_deref(), Some("2023-11-02"));
        assert_eq!(day("Version 2.10").as_deref(), None);
    }

    #[test]
    fn slashed_dates_are_read_only_when_unambiguous() {
        assert_eq!(slashed_date("25/03/2019"), Some((2019, 3, 25)));
        assert_eq!(slashed_date("03/25/2019"), Some((2019, 3, 25)));
        assert_eq!(slashed_date("08/08/2017"), Some((2017, 8, 8)));
        assert_eq!(slashed_date("25.03.2019"), Some((2019, 3, 25)));
        assert_eq!(slashed_date("2019/03/04"), Some((2019, 3, 4)));
        assert_eq!(slashed_date("03/04/2019"), None, "March 4 or 3 April");
        assert_eq!(slashed_date("31.10.23"), Some((2023, 10, 31)));
        assert_eq!(slashed_date("03.04.98"), Some((1998, 4, 3)));
        assert_eq!(slashed_date("03/04/23"), None, "slashes with a short year");
    }

    #[test]
    fn dates_written_in_other_languages() {
        let now = utc("2026-03-10T12:00:00Z");
        let day = |text: &str| find_in_text(text, Tz::UTC, now).map(|d| d.date_naive().to_string());
        for (text, want) in [
            ("Veröffentlicht am 12. Juni 2019 um 10:00", "2019-06-12"),
            ("Publié le 3 février 2020", "2020-02-03"),
            ("Publicado el 21 de septiembre de 2018", "2018-09-21"),
            ("Atualizado em 5 de março de 2017", "2017-03-05"),
            ("Pubblicato il 30 giugno 2021", "2021-06-30"),
            ("Geplaatst op 14 mei 2016", "2016-05-14"),
            ("Опубликовано 7 октября 2019 г.", "2019-10-07"),
            ("Dodano 2 września 2020", "2020-09-02"),
            ("Yayınlanma: 19 Haziran 2018", "2018-06-19"),
            ("发布时间：2019年6月12日 08:30", "2019-06-12"),
            ("le 1er avril", "none"),
        ] {
            assert_eq!(day(text).as_deref().unwrap_or("none"), want, "{text}");
        }
    }

    /// Real-world date strings, each with the UTC instant it means.
    const TABLE: &[(&str, &str)] = &[
        // RFC 822 / 2822 as specified.
        ("Tue, 22 Jun 2021 10:15:00 GMT", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 10:15:00 +0000", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 12:15:00 +0200", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 06:15:00 -0400", "2021-06-22T10:15:00Z"),
        ("Mon, 01 Jan 2024 00:00:00 UT", "2024-01-01T00:00:00Z"),
        // Zone names.
        ("Tue, 22 Jun 2021 06:15:00 EDT", "2021-06-22T10:15:00Z"),
        ("Fri, 05 Jan 2024 05:15:00 EST", "2024-01-05T10:15:00Z"),
        ("Fri, 05 Jan 2024 02:15:00 PST", "2024-01-05T10:15:00Z"),
        ("Tue, 22 Jun 2021 03:15:00 PDT", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 05:15:00 CDT", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 12:15:00 CEST", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 15:45:00 IST", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 19:15:00 JST", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 10:15:00 Z", "2021-06-22T10:15:00Z"),
        // Breakage: no weekday, no seconds, wrong weekday, full names, odd spacing.
        ("22 Jun 2021 10:15:00 GMT", "2021-06-22T10:15:00Z"),
        ("Tue, 22 Jun 2021 10:15 GMT", "2021-06-22T10:15:00Z"),
        ("Wed, 22 Jun 2021 10:15:00 GMT", "2021-06-22T10:15:00Z"),
        ("Tuesday, 22 June 2021 10:15:00 GMT", "2021-06-22T10:15:00Z"),
        ("Tue,22 Jun 2021 10:15:00 GMT", "2021-06-22T10:15:00Z"),
        ("Tue, 2 Jun 2021 10:15:00 GMT", "2021-06-02T10:15:00Z"),
        (
            "  Tue, 22 Jun 2021   10:15:00   GMT  ",
            "2021-06-22T10:15:00Z",
        ),
        ("Tue, 22 Jun 2021 12:15:00 +02:00", "2021-06-22T10:15:00Z"),
        (
            "Tue, 22 Jun 2021 10:15:00.250 +0000",
            "2021-06-22T10:15:00Z",
        ),
        ("Tue, 22 Jun 2021 10:15:00 GMT+2", "2021-06-22T08:15:00Z"),
        ("mer, 16 nov 2022 00:38:15 +0100", "2022-11-15T23:38:15Z"),
        // Two-digit years.
        ("Tue, 22 Jun 21 10:15:00 GMT", "2021-06-22T10:15:00Z"),
        ("Thu, 01 Jan 98 12:00:00 GMT", "1998-01-01T12:00:00Z"),
        // RFC 3339 / ISO 8601.
        ("2021-06-22T10:15:00Z", "2021-06-22T10:15:00Z"),
        ("2021-06-22T10:15:00.123456Z", "2021-06-22T10:15:00Z"),
        ("2021-06-22T12:15:00+02:00", "2021-06-22T10:15:00Z"),
        ("2021-06-22T12:15:00+0200", "2021-06-22T10:15:00Z"),
        ("2021-06-22T05:15:00-05", "2021-06-22T10:15:00Z"),
        ("2021-06-22 10:15:00Z", "2021-06-22T10:15:00Z"),
        ("2021-06-22T10:15Z", "2021-06-22T10:15:00Z"),
        ("2021-06-22t10:15:00z", "2021-06-22T10:15:00Z"),
        ("2021-06-22T10:15:00 GMT", "2021-06-22T10:15:00Z"),
        // Naive ISO and dates alone: read in the source zone (UTC here).
        ("2021-06-22T10:15:00", "2021-06-22T10:15:00Z"),
        ("2021-06-22 10:15", "2021-06-22T10:15:00Z"),
        ("2021-06-22", "2021-06-22T00:00:00Z"),
        // Human dates.
        ("June 22, 2021", "2021-06-22T00:00:00Z"),
        ("22 June 2021", "2021-06-22T00:00:00Z"),
        ("Jun. 22, 2021 3:45 PM EDT", "2021-06-22T19:45:00Z"),
        ("June 22nd, 2021 at 9:05am", "2021-06-22T09:05:00Z"),
        ("Sept 3, 2021 12:30 pm", "2021-09-03T12:30:00Z"),
        ("3 Sep 2021 12:05 AM", "2021-09-03T00:05:00Z"),
        ("2021/06/22", "2021-06-22T00:00:00Z"),
        ("22.06.2021 10:15", "2021-06-22T10:15:00Z"),
    ];

    #[test]
    fn real_world_dates() {
        assert!(TABLE.len() >= 40);
        for (input, expected) in TABLE {
            assert_eq!(parse(input, Tz::UTC), Some(utc(expected)), "{input}");
        }
    }

    #[test]
    fn relative_dates_and_dates_in_text_and_urls() {
        let now = utc("2026-03-10T12:00:00Z");
        assert_eq!(
            parse_relative("3 hours ago", now),
            Some(utc("2026-03-10T09:00:00Z"))
        );
        assert_eq!(
            parse_relative("an hour ago", now),
            Some(utc("2026-03-10T11:00:00Z"))
        );
        assert_eq!(
            parse_relative("Yesterday", now),
            Some(utc("2026-03-09T12:00:00Z"))
        );
        assert_eq!(
            parse_relative("2 days ago", now),
            Some(utc("2026-03-08T12:00:00Z"))
        );
        assert_eq!(parse_relative("in 3 hours", now), None);
        let text = "Posted by Ana on Jun. 22, 2021 3:45 PM EDT in News";
        assert_eq!(
            find_in_text(text, Tz::UTC, now),
            Some(utc("2021-06-22T19:45:00Z"))
        );
        assert_eq!(
            find_in_text("Updated 22nd of June 2021", Tz::UTC, now),
            Some(utc("2021-06-22T00:00:00Z"))
        );
        assert_eq!(
            find_in_text("Last edit: 2021-06-22 10:15", Tz::UTC, now),
            Some(utc("2021-06-22T10:15:00Z"))
        );
        assert_eq!(
            find_in_text("Shared 5 minutes ago", Tz::UTC, now),
            Some(utc("2026-03-10T11:55:00Z"))
        );
        assert_eq!(
            find_in_text("May the best team win in 2021", Tz::UTC, now),
            None
        );
        assert_eq!(
            from_url_path("/news/2021/06/22/moscow-meeting", Tz::UTC),
            Some(utc("2021-06-22T00:00:00Z"))
        );
        assert_eq!(
            from_url_path("/2021-06-22-moscow.html", Tz::UTC),
            Some(utc("2021-06-22T00:00:00Z"))
        );
        assert_eq!(
            from_url_path("/archive/20210622/", Tz::UTC),
            Some(utc("2021-06-22T00:00:00Z"))
        );
        assert_eq!(
            from_url_path("/news/2021-06/22/content_1.htm", Tz::UTC),
            Some(utc("2021-06-22T00:00:00Z"))
        );
        assert_eq!(
            from_url_path("/notices/22-06-2021", Tz::UTC),
            Some(utc("2021-06-22T00:00:00Z"))
        );
        assert_eq!(from_url_path("/products/1234567/", Tz::UTC), None);
        assert_eq!(from_url_path("/2021/13/40/", Tz::UTC), None);
        assert_eq!(from_url_path("/notices/22-06-2021-2", Tz::UTC), None);
    }

    #[test]
    fn naive_dates_use_the_source_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            parse("2021-06-22T12:15:00", berlin),
            Some(utc("2021-06-22T10:15:00Z"))
        );
        assert_eq!(
            parse("Tue, 22 Jun 2021 12:15:00", berlin),
            Some(utc("2021-06-22T10:15:00Z"))
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            parse("January 5, 2024", ny),
            Some(utc("2024-01-05T05:00:00Z"))
        );
        // An explicit offset wins over the source zone.
        assert_eq!(
            parse("2021-06-22T10:15:00Z", berlin),
            Some(utc("2021-06-22T10:15:00Z"))
        );
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for input in [
            "",
            "yesterday-ish",
            "not a date",
            "32 Jun 2021",
            "2021-13-01",
            "Tue, 22 Foo 2021 10:15:00 GMT",
            "Tue, 22 Jun 2021 25:15:00 GMT",
            "Tue, 22 Jun 2021 10:15:00 XYZT",
            "marketing 2021",
        ] {
            assert_eq!(parse(input, Tz::UTC), None, "{input}");
        }
    }
}
