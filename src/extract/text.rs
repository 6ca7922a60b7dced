//! Article files that are not HTML: plain-text dumps in the shape of a
//! scraped news article, and Markdown with front matter.
//!
//! A plain-text dump reads, line by line: stray markup (a broken comment or
//! tag line) is dropped; the first real line is the title; a line that is
//! only a date is the date; a line starting `SOURCE:`, `Photo:`, `Credit:` or
//! `Image:` is the credit; a repeat of the title is dropped; a short first
//! paragraph after the title, before the date or credit, is the standfirst;
//! everything else is the body, one paragraph per line.

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;

use super::{Extracted, Found, credit_line};
use crate::model::DateSource;
use crate::normalize::{date, sanitize};

/// Longest standfirst, in words, before a paragraph counts as body.
const STANDFIRST_MAX_WORDS: usize = 80;

fn found<T>(value: T, from: &str) -> Found<T> {
    Found {
        value,
        from: from.to_owned(),
    }
}

/// A line that is markup debris, not prose: a comment or tag fragment
/// such as `!-- Google tag (gtag.js) -->` or `<script async src=...>`.
fn is_markup_noise(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("<!--")
        || t.starts_with("!--")
        || t.ends_with("-->")
        || t.starts_with("-->")
        || (t.starts_with('<') && t.ends_with('>'))
        || (t.starts_with('<')
            && t.len() > 1
            && t.as_bytes()[1].is_ascii_alphabetic()
            && !t.contains(". "))
        || t.starts_with("gtag(")
        || t.starts_with("window.dataLayer")
}

/// A line that holds nothing but a date.
fn date_line(line: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let t = line.trim();
    if t.len() > 60 {
        return None;
    }
    date::parse_local(t, tz)
}

fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", sanitize::escape_html(text))
}

/// Reads a plain-text article dump.
#[must_use]
pub fn plain(text: &str, tz: Tz) -> Extracted {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_markup_noise(l))
        .collect();
    let mut out = Extracted::default();
    let Some((title, rest)) = lines.split_first() else {
        return out;
    };
    let title = sanitize::collapse_whitespace(title);
    out.title = Some(found(title.clone(), "first line"));
    // The header (standfirst, date, credit) ends at the first body paragraph
    // that follows a date or credit line.
    let header_ends = rest
        .iter()
        .position(|l| date_line(l, tz).is_some() || credit_line(l).is_some())
        .map_or(0, |i| i + 1);
    let mut body = Vec::new();
    for (i, line) in rest.iter().enumerate() {
        let line = sanitize::collapse_whitespace(line);
        if line == title {
            continue;
        }
        if out.published.is_none()
            && let Some(d) = date_line(&line, tz)
        {
            out.published = Some((found(d, "date line"), DateSource::Text));
            continue;
        }
        if out.credit.is_none()
            && let Some(c) = credit_line(&line)
        {
            out.credit = Some(found(c, "credit line"));
            continue;
        }
        if i == 0 && i < header_ends && line.split_whitespace().count() <= STANDFIRST_MAX_WORDS {
            out.summary = Some(found(line, "standfirst"));
            continue;
        }
        body.push(paragraph(&line));
    }
    if !body.is_empty() {
        out.body = Some(found(body.join("\n"), "paragraphs"));
    }
    out
}

/// Reads Markdown with optional YAML (`---`) or TOML (`+++`) front matter:
/// `title`, `date`, `author`, `summary`/`description`, `tags`, `image`.
/// Without a front-matter title, the first `# heading` is the title.
#[must_use]
pub fn markdown(text: &str, tz: Tz) -> (Extracted, Vec<String>) {
    let (front, body) = front_matter(text);
    let field = |key: &str| -> Option<String> {
        match front.as_ref()?.get(key)? {
            serde_json::Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            // TOML dates arrive as a one-field object.
            serde_json::Value::Object(m) => m.values().find_map(|v| v.as_str()).map(str::to_owned),
            _ => None,
        }
    };
    let tags: Vec<String> = front
        .as_ref()
        .and_then(|f| f.get("tags").or(f.get("categories")))
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Extracted::default();
    let mut body = body.to_owned();
    out.title = field("title").map(|t| found(t, "front matter"));
    if out.title.is_none()
        && let Some(pos) = body.lines().position(|l| l.starts_with("# "))
    {
        let mut lines: Vec<&str> = body.lines().collect();
        out.title = Some(found(lines[pos][2..].trim().to_owned(), "# heading"));
        lines.remove(pos);
        body = lines.join("\n");
    }
    out.published = field("date")
        .or_else(|| field("published"))
        .and_then(|d| date::parse_local(&d, tz))
        .map(|d| (found(d, "front matter"), DateSource::Selector));
    out.author = field("author").map(|a| found(a, "front matter"));
    out.summary = field("summary")
        .or_else(|| field("description"))
        .map(|s| found(s, "front matter"));
    out.credit = field("credit").map(|c| found(c, "front matter"));
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(&body));
    if !html.trim().is_empty() {
        out.body = Some(found(html, "markdown"));
    }
    (out, tags)
}

/// Splits front matter from the Markdown body, as JSON for uniform access.
fn front_matter(text: &str) -> (Option<serde_json::Value>, &str) {
    let text = text.trim_start_matches('\u{feff}');
    for (fence, is_toml) in [("---", false), ("+++", true)] {
        let Some(rest) = text
            .strip_prefix(fence)
            .and_then(|r| r.strip_prefix('\n').or_else(|| r.strip_prefix("\r\n")))
        else {
            continue;
        };
        let Some(end) = rest.find(&format!("\n{fence}")) else {
            continue;
        };
        let raw = &rest[..end];
        let body = rest[end + 1 + fence.len()..].trim_start_matches(['\r', '\n']);
        let value = if is_toml {
            toml::from_str::<toml::Value>(raw)
                .ok()
                .and_then(|v| serde_json::to_value(v).ok())
        } else {
            let matter = gray_matter::Matter::<gray_matter::engine::YAML>::new();
            matter
                .parse::<serde_json::Value>(&format!("---\n{raw}\n---\n"))
                .ok()
                .and_then(|p| p.data)
        };
        return (value, body);
    }
    (None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "!-- Site analytics (tracker.js) -->\n\n\
Harbour Lights Return to the Old Pier\n\n\
After three dark winters, the lamps along the pier are lit again, paid for by a village collection.\n\n\
March 3, 2026\n\
Harbour Lights Return to the Old Pier\n\
SOURCE: PIER TRUST ARCHIVE / J. MORROW\n\n\
The first lamp was switched on at dusk on Saturday by the oldest member of the rowing club.\n\n\
Volunteers spent the autumn stripping rust from the posts and rewiring each lamp by hand.\n";

    #[test]
    fn plain_text_dump_fields() {
        let a = plain(DUMP, Tz::UTC);
        assert_eq!(
            a.title.unwrap().value,
            "Harbour Lights Return to the Old Pier"
        );
        assert_eq!(
            a.summary.unwrap().value,
            "After three dark winters, the lamps along the pier are lit again, paid for by a village collection."
        );
        let (date, source) = a.published.unwrap();
        assert_eq!(
            date.value.with_timezone(&chrono::Utc).to_rfc3339(),
            "2026-03-03T00:00:00+00:00"
        );
        assert_eq!(source, DateSource::Text);
        assert_eq!(a.credit.unwrap().value, "PIER TRUST ARCHIVE / J. MORROW");
        let body = a.body.unwrap().value;
        assert_eq!(body.matches("<p>").count(), 2, "{body}");
        assert!(body.starts_with("<p>The first lamp"), "{body}");
        assert!(
            !body.contains("tracker") && !body.contains("Harbour Lights"),
            "{body}"
        );
    }

    #[test]
    fn noise_lines() {
        for noise in [
            "!-- Google tag (gtag.js) -->",
            "<script async src=\"x.js\"></script>",
            "-->",
            "<div class=\"x\">",
        ] {
            assert!(is_markup_noise(noise), "{noise}");
        }
        for prose in [
            "The <b> tag is bold.",
            "Prices rose 3% -> 4%",
            "A normal sentence.",
        ] {
            assert!(!is_markup_noise(prose), "{prose}");
        }
    }

    #[test]
    fn markdown_with_yaml_and_toml_front_matter() {
        let yaml = "---\ntitle: Rain gauges compared\ndate: 2026-02-11\nauthor: Noor Haddad\ntags: [weather, tools]\n---\nWe tried *three* gauges.\n";
        let (a, tags) = markdown(yaml, Tz::UTC);
        assert_eq!(a.title.unwrap().value, "Rain gauges compared");
        assert_eq!(a.author.unwrap().value, "Noor Haddad");
        assert_eq!(
            a.published
                .unwrap()
                .0
                .value
                .with_timezone(&chrono::Utc)
                .to_rfc3339(),
            "2026-02-11T00:00:00+00:00"
        );
        assert_eq!(tags, ["weather", "tools"]);
        assert_eq!(
            a.body.unwrap().value.trim(),
            "<p>We tried <em>three</em> gauges.</p>"
        );
        let toml = "+++\ntitle = \"Frost dates\"\ndate = 2026-01-05T08:00:00Z\n+++\nBody.\n";
        let (a, _) = markdown(toml, Tz::UTC);
        assert_eq!(a.title.unwrap().value, "Frost dates");
        assert_eq!(
            a.published
                .unwrap()
                .0
                .value
                .with_timezone(&chrono::Utc)
                .to_rfc3339(),
            "2026-01-05T08:00:00+00:00"
        );
        let (a, _) = markdown("# Heading title\n\nText.\n", Tz::UTC);
        assert_eq!(a.title.unwrap().value, "Heading title");
        assert!(!a.body.unwrap().value.contains("Heading title"));
    }
}
