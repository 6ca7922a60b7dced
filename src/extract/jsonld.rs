//! The article object of a page's JSON-LD (`NewsArticle`, `BlogPosting`,
//! ...), found at the top level, in arrays or in an `@graph`.

use scraper::{Html, Selector};
use serde_json::Value;

use crate::normalize::sanitize;

/// The JSON-LD fields extraction uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Article {
    pub(crate) headline: Option<String>,
    pub(crate) date_published: Option<String>,
    pub(crate) author: Option<String>,
    /// An organization named as the author: used only when no person is.
    pub(crate) organization: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) image: Option<String>,
    /// The article's text (`articleBody`), as plain text.
    pub(crate) body: Option<String>,
    /// `datePublished` of the page node (`WebPage`, as WordPress SEO
    /// plugins write for every post and page): a last resort for pages
    /// whose article node has no date, or that have none.
    pub(crate) page_date: Option<String>,
    /// A publication date a page script holds as data
    /// (`"published_at":"2019-03-02T06:22:28+01:00"` in a shop's product
    /// object, `"publishDate"` in an analytics layer): the very last resort
    /// before the address.
    pub(crate) script_date: Option<String>,
}

/// Types that describe the article itself (not the site, a breadcrumb or a person).
const ARTICLE_TYPES: [&str; 11] = [
    "Article",
    "NewsArticle",
    "BlogPosting",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "ScholarlyArticle",
    "TechArticle",
    "SocialMediaPosting",
    "LiveBlogPosting",
];

/// Types of the page itself, whose dates are the page's.
const PAGE_TYPES: [&str; 4] = ["WebPage", "ItemPage", "AboutPage", "ProfilePage"];

fn is_a(v: &Value, types: &[&str]) -> bool {
    match v.get("@type") {
        Some(Value::String(t)) => types.contains(&t.as_str()),
        Some(Value::Array(ts)) => ts
            .iter()
            .any(|t| t.as_str().is_some_and(|t| types.contains(&t))),
        _ => false,
    }
}

/// The article nodes under `v` into `out`, the page nodes into `pages`.
fn collect<'a>(v: &'a Value, out: &mut Vec<&'a Value>, pages: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, out, pages)),
        Value::Object(map) => {
            if is_a(v, &ARTICLE_TYPES) {
                out.push(v);
            } else if is_a(v, &PAGE_TYPES) {
                pages.push(v);
            }
            if let Some(graph) = map.get("@graph") {
                collect(graph, out, pages);
            }
            if let Some(main) = map.get("mainEntity") {
                collect(main, out, pages);
            }
            // A `Blog` holding one post is that post's page; a blog's list
            // of posts is not one article.
            match map.get("blogPost") {
                Some(post @ Value::Object(_)) => collect(post, out, pages),
                Some(Value::Array(posts)) if posts.len() == 1 => collect(&posts[0], out, pages),
                _ => {}
            }
        }
        _ => {}
    }
}

/// A string, or the `name`/`url` of an object, or the first of an array.
fn text(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Array(items) => {
            let names: Vec<String> = items.iter().filter_map(|i| text(i, key)).collect();
            (!names.is_empty()).then(|| names.join(", "))
        }
        Value::Object(map) => map.get(key).and_then(|n| text(n, key)),
        _ => None,
    }
}

/// Authors that are people: an organization named as the author is the
/// publisher, not a byline.
fn people(v: &Value) -> Option<String> {
    let is_organization = |o: &Value| {
        o.get("@type").and_then(Value::as_str).is_some_and(|t| {
            t.contains("Organization") || t == "Corporation" || t == "NewsMediaOrganization"
        })
    };
    match v {
        Value::Array(items) => {
            let names: Vec<String> = items
                .iter()
                .filter(|i| !is_organization(i))
                .filter_map(|i| text(i, "name"))
                .collect();
            (!names.is_empty()).then(|| names.join(", "))
        }
        Value::Object(_) if is_organization(v) => None,
        other => text(other, "name"),
    }
}

/// The first article object on the page, if any.
pub(crate) fn article(doc: &Html) -> Article {
    // Some sites leave the type out: a bare `<script>` whose text is a
    // schema.org object is read too.
    let scripts = Selector::parse(r#"script[type="application/ld+json"], script:not([type])"#)
        .expect("static selector");
    let mut page_date = None;
    let mut script_date = None;
    for script in doc.select(&scripts) {
        let raw: String = script.text().collect();
        let raw = raw
            .trim()
            .trim_start_matches("<![CDATA[")
            .trim_end_matches("]]>");
        let untyped = script.value().attr("type").is_none();
        if untyped && !(raw.starts_with('{') && raw.contains("schema.org")) {
            if script_date.is_none() {
                script_date = SCRIPT_DATE.captures(raw).map(|c| c[1].to_owned());
            }
            continue;
        }
        let Ok(value) = serde_json::from_str::<Value>(raw) else {
            continue;
        };
        let mut found = Vec::new();
        let mut pages = Vec::new();
        collect(&value, &mut found, &mut pages);
        if page_date.is_none() {
            page_date = pages
                .iter()
                .find_map(|p| p.get("datePublished").and_then(|v| text(v, "@value")));
        }
        if let Some(a) = found.first() {
            return Article {
                headline: a
                    .get("headline")
                    .or(a.get("name"))
                    .and_then(|v| text(v, "name"))
                    .map(|t| sanitize::plain_text(&t)),
                date_published: a
                    .get("datePublished")
                    .or(a.get("dateCreated"))
                    .and_then(|v| text(v, "@value")),
                author: a
                    .get("author")
                    .or(a.get("creator"))
                    .and_then(people)
                    .map(|t| sanitize::plain_text(&t)),
                organization: a
                    .get("author")
                    .or(a.get("creator"))
                    .and_then(|v| text(v, "name"))
                    .map(|t| sanitize::plain_text(&t)),
                description: a
                    .get("description")
                    .and_then(|v| text(v, "name"))
                    .map(|t| sanitize::plain_text(&t)),
                image: a
                    .get("image")
                    .or(a.get("thumbnailUrl"))
                    .and_then(|v| text(v, "url"))
                    .map(|s| s.split(", ").next().unwrap_or_default().to_owned()),
                body: a
                    .get("articleBody")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned),
                page_date,
                script_date,
            };
        }
    }
    Article {
        page_date,
        script_date,
        ..Article::default()
    }
}

/// A quoted publication-date key with an ISO date as its value, as page
/// scripts hold their data. (`createdAt` and `created_at` are left out:
/// on the open sets they were as often a user's or a comment's.)
static SCRIPT_DATE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#""(?:datePublished|published_at|publishedAt|publishDate|date_published)"\s*:\s*"(\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)""#,
    )
    .expect("static regex")
});
