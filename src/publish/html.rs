//! The HTML page of an output (`formats = [.., "html"]`): a Planet-style
//! river of the newest items, rendered by minijinja from the built-in
//! template (`river.html`) or the user's own (`template = "path"`).
//!
//! The page is static and self-contained: styles inline, no script, no
//! external fonts. Item HTML is the already-sanitized content; a
//! Content-Security-Policy forbids scripts anyway, so a sanitizer miss
//! still runs nothing. Only `http(s)` links and media are written.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{FormatWriter, Head, Run};
use crate::config::Format;
use crate::store::{Attribution, StoredItem};

/// The built-in template; its variables are documented in the README.
const BUILT_IN: &str = include_str!("river.html");

/// A user template that loops without end stops here instead of hanging
/// the publish (minijinja counts instructions as fuel).
const FUEL: u64 = 50_000_000;

/// Collects the newest `page_items` items, then renders the page at the end.
#[derive(Default)]
pub(crate) struct Writer {
    items: Vec<PageItem>,
}

/// One item as the template sees it.
#[derive(Serialize)]
struct PageItem {
    id: String,
    title: String,
    link: Option<String>,
    /// RFC 3339, for `<time datetime>`.
    date: String,
    /// Readable, in the output's zone.
    date_text: String,
    /// The day heading it goes under, in the output's zone.
    day: String,
    /// Sanitized HTML: the content, else the summary.
    body: Option<String>,
    authors: Vec<String>,
    categories: Vec<String>,
    image: Option<String>,
    enclosures: Vec<PageEnclosure>,
    sources: Vec<PageSource>,
}

#[derive(Serialize)]
struct PageEnclosure {
    url: String,
    mime: String,
    /// `audio`, `video`, `image` or `file`: which player the template uses.
    kind: &'static str,
    length: Option<u64>,
}

#[derive(Serialize)]
struct PageSource {
    name: String,
    title: Option<String>,
    site: Option<String>,
    feed: Option<String>,
    /// The item's link as this source gave it.
    link: Option<String>,
}

#[derive(Serialize)]
struct Day<'a> {
    day: &'a str,
    items: Vec<&'a PageItem>,
}

#[derive(Serialize)]
struct PageOutput<'a> {
    name: &'a str,
    title: &'a str,
    description: &'a str,
    link: &'a str,
    lang: &'a str,
    timezone: String,
    updated: Option<String>,
    updated_text: Option<String>,
}

#[derive(Serialize)]
struct Alternate {
    href: String,
    mime: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct Page<'a> {
    output: PageOutput<'a>,
    feeds: Vec<Alternate>,
    opml: Option<String>,
    items: &'a [PageItem],
    days: Vec<Day<'a>>,
    sources: Vec<PageSource>,
    generator: &'static str,
}

/// An address a page may link or load: `http(s)` only, never `javascript:`
/// or `data:`.
fn web(url: Option<&str>) -> Option<String> {
    let url = url?;
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| url.to_owned())
}

fn card(a: &Attribution) -> PageSource {
    PageSource {
        name: a.name.clone(),
        title: a.feed_title.clone(),
        site: web(a.site_link.as_deref()),
        feed: web(a.feed_url.as_deref()),
        link: web(a.link.as_deref()),
    }
}

fn readable(d: DateTime<Utc>, zone: Tz) -> (String, String) {
    let local = d.with_timezone(&zone);
    (
        local.format("%-d %B %Y, %H:%M %Z").to_string(),
        local.format("%A, %-d %B %Y").to_string(),
    )
}

fn page_item(stored: &StoredItem, zone: Tz) -> PageItem {
    let a = &stored.article;
    let (date_text, day) = readable(stored.published(), zone);
    PageItem {
        id: stored.public_id.clone(),
        title: a.title.clone(),
        link: web(a.link_str()),
        date: stored
            .published()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        date_text,
        day,
        body: a.content.clone().or_else(|| a.summary.clone()),
        authors: a.authors.clone(),
        categories: a.categories.clone(),
        image: web(a.image.as_ref().map(url::Url::as_str)),
        enclosures: a
            .enclosures
            .iter()
            .filter_map(|e| {
                let url = web(Some(&e.url))?;
                let mime = e.mime.clone().unwrap_or_default();
                let kind = match mime.split('/').next() {
                    Some("audio") => "audio",
                    Some("video") => "video",
                    Some("image") => "image",
                    _ => "file",
                };
                Some(PageEnclosure {
                    url,
                    mime,
                    kind,
                    length: e.length,
                })
            })
            .collect(),
        sources: stored.sources.iter().map(card).collect(),
    }
}

/// Items grouped under their day, in order (they arrive newest first).
fn days(items: &[PageItem]) -> Vec<Day<'_>> {
    let mut days: Vec<Day<'_>> = Vec::new();
    for item in items {
        match days.last_mut() {
            Some(d) if d.day == item.day => d.items.push(item),
            _ => days.push(Day {
                day: &item.day,
                items: vec![item],
            }),
        }
    }
    days
}

/// The page's `<link rel="alternate">` list: the output's other formats.
fn alternates(head: &Head<'_>) -> (Vec<Alternate>, Option<String>) {
    let file = |f: Format| format!("{}.{}", head.output.name, f.extension());
    let mut feeds = Vec::new();
    let mut opml = None;
    for &format in &head.output.formats {
        let (mime, label) = match format {
            Format::Rss => ("application/rss+xml", "RSS"),
            Format::Atom => ("application/atom+xml", "Atom"),
            Format::Json => ("application/feed+json", "JSON Feed"),
            Format::Opml => {
                opml = Some(file(format));
                continue;
            }
            Format::Html => continue,
        };
        feeds.push(Alternate {
            href: file(format),
            mime,
            label,
        });
    }
    (feeds, opml)
}

/// Whether a template's text parses, for `check`; `name` is its file.
pub(crate) fn check_template(name: &str, text: &str) -> Result<(), String> {
    environment()
        .add_template(name, text)
        .map_err(|e| format!("the template does not parse: {e}"))
}

/// Every value escaped for HTML unless marked `|safe`, whatever the
/// template file is called.
fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env
}

/// Renders `template` (its text) with the page's variables.
fn render(name: &str, template: &str, page: &Page<'_>) -> Result<String, String> {
    let mut env = environment();
    env.add_template(name, template)
        .map_err(|e| format!("the template does not parse: {e}"))?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(page))))
        .map_err(|e| format!("the template failed: {e}"))
}

impl FormatWriter for Writer {
    fn begin(&mut self, _: &Head<'_>, _: &mut Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    fn items(
        &mut self,
        head: &Head<'_>,
        run: &Run<'_>,
        _: &mut Vec<u8>,
        _: &mut Vec<(usize, usize)>,
    ) -> Result<(), String> {
        let room = head.output.page_items.saturating_sub(self.items.len());
        self.items.extend(
            run.items
                .iter()
                .take(room)
                .map(|i| page_item(i, head.output.timezone)),
        );
        Ok(())
    }

    fn end(&mut self, head: &Head<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        let output = head.output;
        let (name, template) = output
            .template
            .as_ref()
            .map_or(("river.html".into(), BUILT_IN), |t| {
                (t.path.display().to_string(), t.text.as_str())
            });
        let (feeds, opml) = alternates(head);
        let updated = head.updated;
        let page = Page {
            output: PageOutput {
                name: &output.name,
                title: &output.title,
                description: &output.description,
                link: output.link.as_str(),
                lang: &output.lang,
                timezone: output.timezone.name().to_owned(),
                updated: updated.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                updated_text: updated.map(|d| readable(d, output.timezone).0),
            },
            feeds,
            opml,
            items: &self.items,
            days: days(&self.items),
            sources: head.source_cards.iter().map(card).collect(),
            generator: concat!("feedloom ", env!("CARGO_PKG_VERSION")),
        };
        let text = render(&name, template, &page)?;
        out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_linked() {
        assert_eq!(
            web(Some("https://a.example/x")).as_deref(),
            Some("https://a.example/x")
        );
        assert_eq!(web(Some("javascript:alert(1)")), None);
        assert_eq!(web(Some("data:text/html,<script>")), None);
        assert_eq!(web(Some("not a url")), None);
        assert_eq!(web(None), None);
    }

    #[test]
    fn a_user_template_that_never_ends_is_stopped() {
        let page = Page {
            output: PageOutput {
                name: "n",
                title: "t",
                description: "d",
                link: "http://x.example/",
                lang: "en",
                timezone: "UTC".into(),
                updated: None,
                updated_text: None,
            },
            feeds: Vec::new(),
            opml: None,
            items: &[],
            days: Vec::new(),
            sources: Vec::new(),
            generator: "g",
        };
        let looping =
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
        let err = render("t", looping, &page).unwrap_err();
        assert!(err.contains("fuel"), "{err}");
        let escaped = render("t", "{{ output.title }}<{{ '<b>' }}>", &page).unwrap();
        assert_eq!(escaped, "t<&lt;b&gt;>");
        assert!(
            render("t", "{% for %}", &page)
                .unwrap_err()
                .contains("does not parse")
        );
    }
}
