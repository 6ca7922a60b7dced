//! From an address a person copied out of a browser to a source: the feed
//! itself, the feed a page advertises (`<link rel="alternate">`), a feed
//! at one of the usual places, or else the page as a `scrape` source whose
//! listing selectors are found here, from the page's repeated blocks of
//! article links. `feedloom add` is built on it, and `run` uses
//! [`advertised_feeds`] to say which feed a page meant.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::config::{Location, Settings, SourceConfig};
use crate::model::Validators;
use crate::source::{decode, feed, http};

/// Where sites usually keep their feed, tried when a page advertises none.
pub const USUAL_PLACES: [&str; 7] = [
    "/feed",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/feeds/posts/default",
];

/// A feed a page names in its `<head>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    /// The feed's address, resolved against the page.
    pub url: Url,
    /// Its declared type (`application/rss+xml`, ...).
    pub mime: String,
    /// Its `title`, when the page gives one.
    pub title: Option<String>,
}

/// Listing selectors found on a page, in the `[source.select]` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selectors {
    /// Matches one listing item.
    pub item: String,
    /// The item's link, inside the item (`h2 a@href`).
    pub link: String,
    /// The item's title, inside the item.
    pub title: String,
    /// The item's date, inside the item, when items show one.
    pub date: Option<String>,
    /// How many items the page lists with them.
    pub items: usize,
}

/// What an address turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A feed, at `url`.
    Feed {
        /// The feed's address (after redirects).
        url: Url,
        /// The feed's own title.
        title: Option<String>,
        /// How it was found, for the person: "the address is a feed", ...
        how: String,
        /// Every feed the page advertised, when it was found that way.
        choices: Vec<Advertised>,
    },
    /// A page with no feed: scrape it with these selectors.
    Scrape {
        /// The page's address (after redirects).
        url: Url,
        /// The page's `<title>`.
        title: Option<String>,
        /// The listing selectors found.
        selectors: Selectors,
    },
}

const FEED_TYPES: [&str; 5] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// Whether decoded text is an HTML page rather than a feed document.
#[must_use]
pub fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || (head.contains("<html") && !head.contains("<rss") && !head.contains("<feed"))
}

/// The feeds a page advertises with `<link rel="alternate" type=...>`, in
/// page order, relative `href`s resolved against `base` (or the page's
/// `<base href>`).
#[must_use]
pub fn advertised_feeds(html: &str, base: &Url) -> Vec<Advertised> {
    let doc = Html::parse_document(html);
    let base = select(&doc, "base[href]")
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| base.join(h.trim()).ok())
        .unwrap_or_else(|| base.clone());
    let mut found: Vec<Advertised> = Vec::new();
    for link in select(&doc, "link[rel][href]") {
        let rel = link.value().attr("rel").unwrap_or_default();
        if !rel
            .split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case("alternate"))
        {
            continue;
        }
        let mime = link
            .value()
            .attr("type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !FEED_TYPES.contains(&mime.as_str()) {
            continue;
        }
        let Some(url) = link
            .value()
            .attr("href")
            .and_then(|h| base.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            continue;
        };
        if found.iter().any(|f| f.url == url) {
            continue;
        }
        found.push(Advertised {
            url,
            mime,
            title: link
                .value()
                .attr("title")
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
        });
    }
    found
}

fn select<'a>(doc: &'a Html, css: &str) -> impl Iterator<Item = ElementRef<'a>> + 'a {
    let selector = Selector::parse(css).expect("static selector");
    doc.select(&selector).collect::<Vec<_>>().into_iter()
}

/// The page's `<title>` text.
fn page_title(doc: &Html) -> Option<String> {
    select(doc, "title")
        .next()
        .map(|t| t.text().collect::<String>().trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Shortest title text that counts as an article's (not "More", "Next").
const MIN_TITLE_CHARS: usize = 12;

/// A class name safe to write into a selector as it is.
fn plain_class(c: &str) -> bool {
    let mut chars = c.chars();
    chars
        .next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == '-')
        && chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}

/// `tag.class1.class2`: what siblings of one kind share.
fn signature(e: ElementRef<'_>) -> String {
    let mut classes: Vec<&str> = e.value().classes().filter(|c| plain_class(c)).collect();
    classes.sort_unstable();
    let mut sig = e.value().name().to_owned();
    for c in classes {
        sig.push('.');
        sig.push_str(c);
    }
    sig
}

/// `tag#id` where the element has a plain id, else its signature.
fn specific(e: ElementRef<'_>) -> String {
    match e.value().id().filter(|id| plain_class(id)) {
        Some(id) => format!("{}#{id}", e.value().name()),
        None => signature(e),
    }
}

/// Inside page furniture, whose lists are menus, not articles.
fn in_furniture(e: ElementRef<'_>) -> bool {
    std::iter::once(e)
        .chain(e.ancestors().filter_map(ElementRef::wrap))
        .any(|a| {
            matches!(
                a.value().name(),
                "nav" | "header" | "footer" | "aside" | "form"
            )
        })
}

/// The anchor that titles an item: the first with a web link and
/// article-length text, preferring one inside a heading.
fn title_link<'a>(item: ElementRef<'a>, base: &Url) -> Option<(ElementRef<'a>, Url, String)> {
    let anchors = item
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a");
    let mut first = None;
    for a in anchors {
        let Some(href) = a.value().attr("href") else {
            continue;
        };
        let Ok(url) = base.join(href.trim()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || href.trim_start().starts_with('#') {
            continue;
        }
        let text = a.text().collect::<String>();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() < MIN_TITLE_CHARS {
            continue;
        }
        let in_heading = a
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take_while(|p| p.id() != item.id())
            .any(|p| matches!(p.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"));
        if in_heading {
            return Some((a, url, text));
        }
        first.get_or_insert((a, url, text));
    }
    first
}

/// A group of sibling elements of one kind that each hold an article link.
struct Group<'a> {
    members: Vec<ElementRef<'a>>,
    score: f64,
}

/// The repeated block of article links on a page: siblings of one kind,
/// at least three, most of which title a distinct link with enough text.
/// Scored by how many there are, how long their titles are, and whether
/// their titles are headings and they show dates.
// Counts on one page are far below f64's exact range.
#[allow(clippy::cast_precision_loss)]
fn best_group<'a>(doc: &'a Html, base: &Url) -> Option<Group<'a>> {
    let mut best: Option<Group<'a>> = None;
    for parent in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let mut kinds: HashMap<String, Vec<ElementRef<'a>>> = HashMap::new();
        for child in parent.children().filter_map(ElementRef::wrap) {
            kinds.entry(signature(child)).or_default().push(child);
        }
        for (_, members) in kinds {
            if members.len() < 3 || in_furniture(parent) {
                continue;
            }
            let titled: Vec<_> = members
                .iter()
                .filter_map(|m| title_link(*m, base))
                .collect();
            let mut links: Vec<&Url> = titled.iter().map(|(_, u, _)| u).collect();
            links.sort_unstable();
            links.dedup();
            if links.len() < 3 || titled.len() * 10 < members.len() * 7 {
                continue;
            }
            let mean_title = titled
                .iter()
                .map(|(_, _, t)| t.chars().count().min(100) as f64)
                .sum::<f64>()
                / titled.len() as f64;
            let headings = titled
                .iter()
                .filter(|(a, _, _)| {
                    a.ancestors().filter_map(ElementRef::wrap).any(|p| {
                        matches!(p.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
                    })
                })
                .count() as f64
                / titled.len() as f64;
            let dated = members
                .iter()
                .filter(|m| date_selector(**m).is_some())
                .count() as f64
                / members.len() as f64;
            let score = links.len() as f64 * mean_title * (1.0 + headings) * (1.0 + dated);
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Group { members, score });
            }
        }
    }
    best
}

/// A date inside an item: `<time>` (its `datetime` when it has one), else
/// an element whose class says date (`date`, `time`, `when`, `posted`...).
fn date_selector(item: ElementRef<'_>) -> Option<String> {
    let inside = item.descendants().filter_map(ElementRef::wrap);
    let mut classed = None;
    for e in inside {
        if e.value().name() == "time" {
            return Some(if e.value().attr("datetime").is_some() {
                "time@datetime".to_owned()
            } else {
                "time".to_owned()
            });
        }
        if classed.is_none()
            && let Some(c) = e.value().classes().find(|c| {
                plain_class(c) && {
                    let c = c.to_ascii_lowercase();
                    ["date", "time", "when", "posted", "published"]
                        .iter()
                        .any(|word| c.contains(word))
                }
            })
        {
            classed = Some(format!("{}.{c}", e.value().name()));
        }
    }
    classed
}

/// A selector that matches exactly the group's members: their kind under
/// their parent, with as many ancestors as it takes; where ancestors of
/// one kind repeat (two plain `<ul>`s), the parent's position is added.
fn item_selector(doc: &Html, members: &[ElementRef<'_>]) -> Option<String> {
    let wanted: Vec<_> = members.iter().map(|m| m.id()).collect();
    let exact = |path: &str| {
        Selector::parse(path)
            .is_ok_and(|s| doc.select(&s).map(|e| e.id()).collect::<Vec<_>>() == wanted)
    };
    for numbered in [false, true] {
        let mut path = signature(members[0]);
        let mut at = members[0];
        for level in 0..5 {
            let Some(parent) = at.parent().and_then(ElementRef::wrap) else {
                break;
            };
            if parent.value().name() == "html" {
                break;
            }
            let mut step = specific(parent);
            if numbered && level == 0 && parent.value().id().is_none() {
                let position = parent
                    .prev_siblings()
                    .filter_map(ElementRef::wrap)
                    .filter(|s| s.value().name() == parent.value().name())
                    .count()
                    + 1;
                step = format!("{step}:nth-of-type({position})");
            }
            path = format!("{step} > {path}");
            if exact(&path) {
                return Some(path);
            }
            at = parent;
        }
    }
    None
}

/// The title anchor's selector inside its item: `h2 a`, `a.title`, `a`.
fn title_selector(item: ElementRef<'_>, anchor: ElementRef<'_>) -> String {
    let heading = anchor
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take_while(|p| p.id() != item.id())
        .find(|p| matches!(p.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"));
    if let Some(h) = heading {
        return format!("{} a", h.value().name());
    }
    let first_anchor = item
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "a" && e.value().attr("href").is_some());
    if first_anchor.is_some_and(|f| f.id() == anchor.id()) {
        return "a".to_owned();
    }
    signature(anchor)
}

/// Listing selectors for a page without a feed, when it has a repeated
/// block of article links.
#[must_use]
pub fn find_listing(html: &str, base: &Url) -> Option<Selectors> {
    let doc = Html::parse_document(html);
    let group = best_group(&doc, base)?;
    let item = item_selector(&doc, &group.members)?;
    let (sample, anchor) = group
        .members
        .iter()
        .find_map(|m| title_link(*m, base).map(|(a, _, _)| (*m, a)))?;
    let title = title_selector(sample, anchor);
    let dates: Vec<String> = group
        .members
        .iter()
        .filter_map(|m| date_selector(*m))
        .collect();
    // A date selector only when most items show one the same way.
    let date = dates
        .first()
        .cloned()
        .filter(|d| dates.iter().filter(|x| *x == d).count() * 10 >= group.members.len() * 7);
    Some(Selectors {
        item,
        link: format!("{title}@href"),
        title,
        date,
        items: group.members.len(),
    })
}

/// One page or feed fetched for discovery: its decoded text and final URL.
struct Page {
    text: String,
    content_type: Option<String>,
    url: Url,
    bytes: Vec<u8>,
}

async fn get(client: &http::Client, settings: &Settings, url: &Url) -> Result<Page, String> {
    let response = http::get(
        client,
        http::Fetch {
            source_name: "add",
            own: Some(url),
        },
        url,
        &Validators::default(),
        settings.max_response_size,
    )
    .await
    .map_err(|e| e.to_string())?;
    match response {
        http::Response::NotModified => Err(format!("{url} answered 304 to a plain GET")),
        http::Response::Body {
            bytes,
            content_type,
            final_url,
            ..
        } => Ok(Page {
            text: decode::to_utf8(&bytes, content_type.as_deref()),
            content_type,
            url: final_url,
            bytes,
        }),
    }
}

/// A feed feedloom can read, as discovery needs it.
struct Readable {
    title: Option<String>,
}

/// `Some` when `page` is a feed feedloom can read.
fn as_feed(page: &Page, settings: &Settings) -> Option<Readable> {
    if looks_like_html(&page.text) {
        return None;
    }
    let probe = SourceConfig::feed("add", Location::Url(page.url.clone()));
    feed::parse(
        &page.bytes,
        page.content_type.as_deref(),
        &page.url,
        &probe,
        &settings.limits,
    )
    .ok()
    .map(|(meta, _)| Readable { title: meta.title })
}

/// Finds what `url` is: see the module docs. `pick` chooses among the
/// feeds a page advertises (1 = the first).
///
/// # Errors
/// When the address cannot be fetched, or is neither a feed nor a page
/// with feeds or a listing of articles.
pub async fn discover(
    client: &http::Client,
    settings: &Settings,
    url: &Url,
    pick: Option<usize>,
) -> Result<Found, String> {
    let page = get(client, settings, url).await?;
    if let Some(feed) = as_feed(&page, settings) {
        return Ok(Found::Feed {
            url: page.url,
            title: feed.title,
            how: "the address is a feed".to_owned(),
            choices: Vec::new(),
        });
    }
    if !looks_like_html(&page.text) {
        return Err(format!(
            "{} is neither a feed feedloom can read nor an HTML page",
            page.url
        ));
    }
    let choices = advertised_feeds(&page.text, &page.url);
    if !choices.is_empty() {
        let index = pick.unwrap_or(1);
        let Some(chosen) = index.checked_sub(1).and_then(|i| choices.get(i)) else {
            return Err(format!(
                "--pick {index}: the page advertises {} feed(s)",
                choices.len()
            ));
        };
        let fetched = get(client, settings, &chosen.url).await?;
        let feed = as_feed(&fetched, settings).ok_or_else(|| {
            format!(
                "the page advertises {}, but it is not a feed feedloom can read",
                chosen.url
            )
        })?;
        return Ok(Found::Feed {
            url: fetched.url,
            title: feed.title.or_else(|| chosen.title.clone()),
            how: format!("the page advertises it ({})", chosen.mime),
            choices,
        });
    }
    for place in USUAL_PLACES {
        let Ok(candidate) = page.url.join(place) else {
            continue;
        };
        if let Ok(fetched) = get(client, settings, &candidate).await
            && let Some(feed) = as_feed(&fetched, settings)
        {
            return Ok(Found::Feed {
                url: fetched.url,
                title: feed.title,
                how: format!("the page advertises none; {place} on its site is one"),
                choices: Vec::new(),
            });
        }
    }
    let doc_title = page_title(&Html::parse_document(&page.text));
    let selectors = find_listing(&page.text, &page.url).ok_or_else(|| {
        format!(
            "{} has no feed (none advertised, none at {}) and no repeated list of article links to scrape; write a scrape source by hand (README, \"Scraping a page\")",
            page.url,
            USUAL_PLACES.join(", ")
        )
    })?;
    Ok(Found::Scrape {
        url: page.url,
        title: doc_title,
        selectors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://site.example/blog/").unwrap()
    }

    #[test]
    fn advertised_feeds_resolve_relative_links_in_page_order() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/atom+xml" href="atom.xml" title="Posts (Atom)">
            <link rel="ALTERNATE" type="application/rss+xml" href="/rss">
            <link rel="alternate" type="text/html" href="/fr/">
            <link rel="alternate" type="application/rss+xml" href="javascript:x">
            <link rel="alternate" type="application/atom+xml" href="https://site.example/blog/atom.xml">
            </head><body></body></html>"#;
        let found = advertised_feeds(html, &base());
        let urls: Vec<&str> = found.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://site.example/blog/atom.xml",
                "https://site.example/rss"
            ]
        );
        assert_eq!(found[0].title.as_deref(), Some("Posts (Atom)"));
        assert_eq!(found[1].mime, "application/rss+xml");
    }

    #[test]
    fn html_is_told_from_feeds() {
        assert!(looks_like_html("<!DOCTYPE html><html>"));
        assert!(looks_like_html("\u{feff}  <HTML lang=en>"));
        assert!(!looks_like_html(
            "<?xml version=\"1.0\"?><rss version=\"2.0\">"
        ));
        assert!(!looks_like_html(
            "{\"version\": \"https://jsonfeed.org/version/1.1\"}"
        ));
        assert!(!looks_like_html(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><content type=\"html\">&lt;html&gt;</content>"
        ));
    }

    #[test]
    fn the_repeated_block_of_article_links_becomes_the_listing() {
        let html = r#"<html><head><title>Town news</title></head><body>
            <nav><ul><li><a href="/a-long-menu-entry-one">A long menu entry one</a></li>
            <li><a href="/a-long-menu-entry-two">A long menu entry two</a></li>
            <li><a href="/a-long-menu-entry-three">A long menu entry three</a></li>
            <li><a href="/a-long-menu-entry-four">A long menu entry four</a></li></ul></nav>
            <main><div class="stories">
            <div class="story"><h2><a href="/news/bridge">The bridge reopens on Monday</a></h2><span class="when">2 March 2026</span><p>Traffic returns.</p><a href="/tag/roads">Roads</a></div>
            <div class="story"><h2><a href="/news/library">Library extends its opening hours</a></h2><span class="when">1 March 2026</span><p>Evenings too.</p></div>
            <div class="story"><h2><a href="/news/market">Saturday market moves to the square</a></h2><span class="when">28 February 2026</span></div>
            <div class="story"><h2><a href="/news/school">School choir wins the regional prize</a></h2><span class="when">27 February 2026</span></div>
            </div>
            <p>See also <a href="/archive/everything-before">everything from before</a>.</p></main>
            <footer><a href="/about-this-site-and-us">About this site and us</a></footer></body></html>"#;
        let found = find_listing(html, &base()).expect("a listing");
        assert_eq!(found.item, "div.stories > div.story");
        assert_eq!(found.title, "h2 a");
        assert_eq!(found.link, "h2 a@href");
        assert_eq!(found.date.as_deref(), Some("span.when"));
        assert_eq!(found.items, 4);
    }

    #[test]
    fn plain_lists_and_time_elements_are_found_too() {
        let html = r#"<html><body><ul>
            <li><a href="https://site.example/p/1">First post about the harbour</a> <time datetime="2026-03-01">1 Mar</time></li>
            <li><a href="https://site.example/p/2">Second post about the harbour</a> <time datetime="2026-03-02">2 Mar</time></li>
            <li><a href="https://site.example/p/3">Third post about the harbour</a> <time datetime="2026-03-03">3 Mar</time></li>
            </ul><ul><li><a href="/x">short</a></li><li><a href="/y">short</a></li><li><a href="/z">short</a></li></ul></body></html>"#;
        let found = find_listing(html, &base()).expect("a listing");
        assert_eq!(found.item, "ul:nth-of-type(1) > li");
        assert_eq!(found.title, "a");
        assert_eq!(found.date.as_deref(), Some("time@datetime"));
        assert_eq!(found.items, 3);
    }

    #[test]
    fn a_page_without_repeated_article_links_has_no_listing() {
        let html = "<html><body><p>Just one <a href=\"/a-single-long-article-link\">single long article link here</a>.</p></body></html>";
        assert_eq!(find_listing(html, &base()), None);
    }
}
