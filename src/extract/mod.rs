//! Article fields from an HTML page: title, publication date, author,
//! credit, summary, body and lead image, each with where it came from.
//!
//! Signals are trusted in a fixed order, most explicit first: a configured
//! selector, then JSON-LD (written for machines), then `<meta>` tags, then
//! the markup (`<time>`, `<h1>`, `rel=author`, `figcaption`), then visible
//! text (bylines, date lines), and last the URL. The body comes from
//! readability-style scoring (dom_smoothie), with fields already extracted
//! (title, standfirst, date and credit lines) taken out of it.
//!
//! This module only reads HTML; fetching belongs to `source/`.

mod depth;
pub use depth::markup_depth;
mod jsonld;
pub mod text;

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::model::DateSource;
use crate::normalize::{date, link, sanitize};

/// A CSS selector with an optional attribute to read (`time@datetime`).
#[derive(Debug, Clone)]
pub struct FieldSelector {
    /// The compiled selector.
    pub css: Selector,
    /// The attribute to read; `None` reads the text (or HTML, for bodies).
    pub attr: Option<String>,
    /// The selector as written, for messages and provenance.
    pub source: String,
}

impl FieldSelector {
    /// Parses `css` or `css@attr`.
    ///
    /// # Errors
    /// A message saying why the selector is not valid CSS.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (css, attr) = match spec.rsplit_once('@') {
            Some((css, attr)) if !attr.is_empty() && !attr.contains([' ', ']', '"', '\'']) => {
                (css, Some(attr.to_owned()))
            }
            _ => (spec, None),
        };
        let css = if css.trim().is_empty() { "*" } else { css };
        Selector::parse(css)
            .map(|css| Self {
                css,
                attr,
                source: spec.to_owned(),
            })
            .map_err(|e| format!("`{spec}` is not a valid CSS selector: {}", explain(&e)))
    }

    /// The value in the first match under `scope`: the attribute, or the
    /// collapsed text.
    #[must_use]
    pub fn text_in(&self, scope: ElementRef<'_>) -> Option<String> {
        scope.select(&self.css).find_map(|el| self.value_of(el))
    }

    /// The attribute or text of one element.
    #[must_use]
    pub fn value_of(&self, el: ElementRef<'_>) -> Option<String> {
        let value = match &self.attr {
            Some(attr) => el.value().attr(attr).map(str::to_owned),
            None => Some(element_text(el)),
        }?;
        let value = sanitize::collapse_whitespace(&value);
        (!value.is_empty()).then_some(value)
    }
}

/// Selectors given for an article page; any left `None` is found automatically.
#[derive(Debug, Clone, Default)]
pub struct PageSelectors {
    /// The headline.
    pub title: Option<FieldSelector>,
    /// The publication date.
    pub date: Option<FieldSelector>,
    /// The author.
    pub author: Option<FieldSelector>,
    /// The article body (inner HTML of every match).
    pub body: Option<FieldSelector>,
    /// The credit line.
    pub credit: Option<FieldSelector>,
    /// The lead image (usually `img@src` or `meta[property=og:image]@content`).
    pub image: Option<FieldSelector>,
    /// Furniture removed before anything else is read.
    pub remove: Vec<FieldSelector>,
}

/// One extracted value and where it came from ("json-ld", "meta:og:title", ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// Where it was found.
    pub from: String,
}

fn found<T>(value: T, from: impl Into<String>) -> Found<T> {
    Found {
        value,
        from: from.into(),
    }
}

/// What automatic extraction (with any selectors) found on one page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// Plain-text headline.
    pub title: Option<Found<String>>,
    /// Publication instant, with the kind of signal it came from.
    /// Kept in the offset it was written in: the day a page shows is the
    /// day in its own zone.
    pub published: Option<(Found<DateTime<FixedOffset>>, DateSource)>,
    /// Author name.
    pub author: Option<Found<String>>,
    /// Photo or source credit, without its "Photo:" prefix.
    pub credit: Option<Found<String>>,
    /// Plain-text standfirst or description.
    pub summary: Option<Found<String>>,
    /// Body HTML (not yet sanitized).
    pub body: Option<Found<String>>,
    /// Lead image.
    pub image: Option<Found<Url>>,
}

/// The words that start a credit line.
const CREDIT_PREFIXES: [&str; 6] = [
    "photo:",
    "source:",
    "credit:",
    "image:",
    "photograph:",
    "picture:",
];

/// The credit in a line starting with a credit prefix, without the prefix.
#[must_use]
pub fn credit_line(line: &str) -> Option<String> {
    let line = line.trim();
    let lower = line.to_lowercase();
    CREDIT_PREFIXES.iter().find_map(|p| {
        lower
            .starts_with(p)
            .then(|| line[p.len()..].trim().to_owned())
            .filter(|c| !c.is_empty())
    })
}

fn sel(css: &str) -> Selector {
    Selector::parse(css).expect("static selector")
}

/// An element's text with a space between every two text nodes: for
/// short fields (a byline, a date line, a headline), whose parts sites
/// often set apart with CSS alone (`<span>By</span><span>Jo</span>`).
fn element_text(el: ElementRef<'_>) -> String {
    element_text_within(el, usize::MAX).unwrap_or_default()
}

/// [`element_text`], or `None` as soon as it grows past `limit` bytes: the
/// checks for a date, credit or byline want short lines, and building the
/// whole text of every enclosing `div` only to throw it away took 13% of
/// extraction's time in a profile.
fn element_text_within(el: ElementRef<'_>, limit: usize) -> Option<String> {
    let mut text = String::new();
    for word in el.text().flat_map(str::split_whitespace) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
        if text.len() > limit {
            return None;
        }
    }
    Some(text)
}

/// An element's text as it reads in running prose: text nodes joined as
/// written, since inline markup adds no space (`m<sup>2</sup>` is `m2`,
/// and a linked name keeps the comma after it), and a space wherever
/// anything else (a block, a line break, a cell) separates two runs.
fn flowing_text(el: ElementRef<'_>) -> String {
    flowing_text_within(el, usize::MAX).unwrap_or_default()
}

/// [`flowing_text`], or `None` as soon as the raw text passes `limit`
/// bytes: a check meant for short blocks need not read a long one whole.
fn flowing_text_within(el: ElementRef<'_>, limit: usize) -> Option<String> {
    use ego_tree::iter::Edge;
    use scraper::Node;
    let mut text = String::new();
    for edge in el.traverse() {
        let (Edge::Open(node) | Edge::Close(node)) = edge;
        match node.value() {
            Node::Text(t) if matches!(edge, Edge::Open(_)) => {
                text.push_str(t);
                if text.len() > limit {
                    return None;
                }
            }
            Node::Element(e) if !is_inline(e.name()) => text.push(' '),
            _ => {}
        }
    }
    Some(sanitize::collapse_whitespace(&text))
}

/// Phrasing elements: their text runs on into the text around them.
fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "label"
            | "mark"
            | "nobr"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
    )
}

/// Every `<meta>` value by its lowercased name, property or itemprop.
fn meta_map(doc: &Html) -> Vec<(String, String)> {
    let metas = sel("meta[content]");
    doc.select(&metas)
        .filter_map(|m| {
            let v = m.value();
            let key = v
                .attr("property")
                .or(v.attr("name"))
                .or(v.attr("itemprop"))?;
            let content = v.attr("content")?.trim();
            (!content.is_empty()).then(|| (key.trim().to_lowercase(), content.to_owned()))
        })
        .collect()
}

fn meta<'a>(metas: &'a [(String, String)], keys: &[&str]) -> Option<(&'a str, &'a str)> {
    keys.iter().find_map(|k| {
        metas
            .iter()
            .find(|(key, _)| key == k)
            .map(|(k, v)| (k.as_str(), v.as_str()))
    })
}

/// Extracts an article from `html` served at `url`.
#[must_use]
pub fn html(
    html: &str,
    url: &Url,
    selectors: &PageSelectors,
    tz: Tz,
    now: DateTime<Utc>,
) -> Extracted {
    let mut doc = Html::parse_document(html);
    let flattened = depth::cap(&mut doc);
    if !selectors.remove.is_empty() {
        let doomed: Vec<_> = selectors
            .remove
            .iter()
            .flat_map(|s| doc.select(&s.css).map(|e| e.id()).collect::<Vec<_>>())
            .collect();
        for id in doomed {
            if let Some(mut node) = doc.tree.get_mut(id) {
                node.detach();
            }
        }
    }
    let root = doc.root_element();
    let metas = meta_map(&doc);
    let ld = jsonld::article(&doc);
    let site_name = meta(&metas, &["og:site_name", "application-name"]).map(|(_, v)| v.to_owned());

    let title = title(&doc, root, selectors, &ld, &metas, site_name.as_deref());
    // A title read off the first <h1> cannot tell which heading is the headline.
    let shown_title = title
        .as_ref()
        .filter(|t| t.from != "h1")
        .map(|t| t.value.as_str());
    let published = published(
        &doc,
        root,
        selectors,
        &ld,
        &metas,
        (url, shown_title),
        tz,
        now,
    )
    .map(|(d, source)| {
        let d = on_url_day(d, url, tz);
        let shown = || date_near_title(&doc, shown_title, tz, now).map(|v| v.date_naive());
        (on_day(d, shown, "the day the page shows"), source)
    });
    let author = author(
        &doc,
        root,
        selectors,
        &ld,
        &metas,
        (site_name.as_deref(), url),
    );
    let credit = selectors
        .credit
        .as_ref()
        .and_then(|s| {
            s.text_in(root).map(|v| {
                found(
                    credit_line(&v).unwrap_or(v),
                    format!("selector {}", s.source),
                )
            })
        })
        .or_else(|| credit(&doc));
    let summary = ld
        .description
        .clone()
        .map(|d| found(d, "json-ld"))
        .or_else(|| {
            meta(
                &metas,
                &["description", "og:description", "twitter:description"],
            )
            .map(|(k, v)| found(sanitize::plain_text(v), format!("meta:{k}")))
        })
        .or_else(|| standfirst(&doc))
        .filter(|s| !s.value.is_empty());
    let image = selectors
        .image
        .as_ref()
        .and_then(|s| {
            s.text_in(root)
                .and_then(|v| link::resolve(&v, Some(url)))
                .map(|u| found(u, format!("selector {}", s.source)))
        })
        .or_else(|| {
            meta(&metas, &["og:image", "og:image:url", "twitter:image"]).and_then(|(k, v)| {
                link::resolve(v, Some(url)).map(|u| found(u, format!("meta:{k}")))
            })
        })
        .or_else(|| {
            ld.image
                .as_deref()
                .and_then(|v| link::resolve(v, Some(url)))
                .map(|u| found(u, "json-ld"))
        });

    let body = if let Some(s) = &selectors.body {
        let parts: Vec<String> = root.select(&s.css).map(|e| e.inner_html()).collect();
        (!parts.is_empty()).then(|| found(parts.join("\n"), format!("selector {}", s.source)))
    } else {
        let scored = if selectors.remove.is_empty() && !flattened {
            readable_body(html, url)
        } else {
            readable_body(&doc.html(), url)
        };
        container_body(&doc, scored)
    };
    let skip: Vec<&str> = [
        title.as_ref().map(|t| t.value.as_str()),
        summary.as_ref().map(|s| s.value.as_str()),
        credit.as_ref().map(|c| c.value.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let cleaned = |b: Found<String>| found(without_repeats_or_furniture(&b.value, &skip), b.from);
    // What scoring kept may be nothing but furniture once that is taken
    // out: a page with text still gets a body, from the fallbacks.
    // So may a body of a few words (a section label, a caption): the
    // fallback's, when it says clearly more.
    let body = body.map(cleaned);
    let body = if selectors.body.is_some() {
        body
    } else {
        fuller_of(body.filter(|b| has_text(&b.value)), || {
            fallback_body(&doc, ld.body.as_deref()).map(cleaned)
        })
    };

    Extracted {
        title,
        published,
        author,
        credit,
        summary,
        body,
        image,
    }
}

fn title(
    doc: &Html,
    root: ElementRef<'_>,
    selectors: &PageSelectors,
    ld: &jsonld::Article,
    metas: &[(String, String)],
    site_name: Option<&str>,
) -> Option<Found<String>> {
    if let Some(s) = &selectors.title
        && let Some(v) = s.text_in(root)
    {
        return Some(found(v, format!("selector {}", s.source)));
    }
    let clean = |t: &str| without_site_name(&sanitize::plain_text(t), site_name);
    let declared = ld
        .headline
        .as_deref()
        .map(|t| found(clean(t), "json-ld"))
        .or_else(|| {
            meta(metas, &["og:title", "twitter:title"])
                .map(|(k, v)| found(clean(v), format!("meta:{k}")))
        });
    // The headline the page shows, where the declared one is a variant of
    // it (an SEO title, the site name kept): readers see the shown one.
    if let Some(d) = &declared
        && let Some(shown) = shown_headline(doc, &d.value)
    {
        return Some(found(shown, "h1"));
    }
    declared
        .or_else(|| {
            doc.select(&sel("h1"))
                .next()
                .map(|h| found(element_text(h), "h1"))
        })
        .or_else(|| {
            doc.select(&sel("title"))
                .next()
                .map(|t| found(clean(&element_text(t)), "title"))
        })
        .filter(|t| !t.value.is_empty())
}

/// The page's one `<h1>`, when it shares most of its words with the
/// declared title without being the same: the same story, retitled for
/// search engines or with the site's name. `None` for a page with no
/// `<h1>`, several, or one that names something else (a logo, a section).
fn shown_headline(doc: &Html, declared: &str) -> Option<String> {
    let h1_selector = sel("h1");
    let mut h1s = doc.select(&h1_selector);
    let h1 = element_text(h1s.next()?);
    if h1s.next().is_some() || h1.is_empty() || h1.len() > 300 || h1 == declared {
        return None;
    }
    same_story(&h1, declared).then_some(h1)
}

/// Whether a heading and a title share most of their words (at least two):
/// the same story, however retitled.
fn same_story(heading: &str, title: &str) -> bool {
    let words = |t: &str| -> std::collections::HashSet<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (shown, said) = (words(heading), words(title));
    if shown.len() < 2 {
        return false;
    }
    let shared = shown.intersection(&said).count();
    shared * 2 >= shown.len().max(said.len())
}

/// "Headline | Site", "Headline - Site", "Site: Headline" without the site.
fn without_site_name(title: &str, site_name: Option<&str>) -> String {
    const SEPARATORS: [&str; 6] = [" | ", " - ", " – ", " — ", " · ", " :: "];
    for sep in SEPARATORS {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let tail_is_site = site_name
                .is_some_and(|s| tail.trim().eq_ignore_ascii_case(s.trim()))
                || (site_name.is_none()
                    && tail.split_whitespace().count() <= 3
                    && head.split_whitespace().count() >= 3);
            if tail_is_site {
                return head.trim().to_owned();
            }
            if site_name.is_some_and(|s| head.trim().eq_ignore_ascii_case(s.trim())) {
                return tail.trim().to_owned();
            }
        }
    }
    title.to_owned()
}

/// A timestamp given in UTC whose day is one off the day in the page's
/// address (`/2020/02/17/…` published `2020-02-18T02:18:11Z`) was written
/// on the address's day in the publisher's zone: it is shown in the
/// nearest whole-hour offset that puts it on that day. The instant stays
/// the same; only the calendar day a reader sees changes. (Tried on the
/// open sets: a day from any other offset, or a UTC midnight guessed from
/// a `22:00:00Z`, moved as many dates away from the truth as towards it.)
fn on_url_day(d: Found<DateTime<FixedOffset>>, url: &Url, tz: Tz) -> Found<DateTime<FixedOffset>> {
    on_day(
        d,
        || date::from_url_path_local(url.path(), tz).map(|u| u.date_naive()),
        "the address's day",
    )
}

/// [`on_url_day`] with the day from elsewhere (the address, or the date
/// line under the headline): `day` is asked for only when the timestamp is
/// in UTC. (The date line, tried on the open sets: 7 more right of 1,000
/// on `htmldate`, 8 of 990 on `trafilatura`; 3 fewer of 711 on `wcxb-dev`,
/// whose gold takes the UTC day where the page shows the next one, as in
/// "Published: 03 Dec 2025" over `2025-12-02T23:00:55Z`.)
fn on_day(
    d: Found<DateTime<FixedOffset>>,
    day: impl FnOnce() -> Option<chrono::NaiveDate>,
    what: &str,
) -> Found<DateTime<FixedOffset>> {
    const DAY: i32 = 24 * 3600;
    if d.value.offset().local_minus_utc() != 0 {
        return d;
    }
    let Some(day) = day() else {
        return d;
    };
    let seconds = i32::try_from(d.value.time().num_seconds_from_midnight()).unwrap_or(0);
    let hours = match (day - d.value.date_naive()).num_days() {
        1 => (DAY - seconds + 3599) / 3600,
        -1 => -(seconds / 3600 + 1),
        _ => return d,
    };
    match FixedOffset::east_opt(hours * 3600).filter(|_| (-12..=14).contains(&hours)) {
        Some(offset) => Found {
            value: d.value.with_timezone(&offset),
            from: format!("{} (on {what})", d.from),
        },
        None => d,
    }
}

#[allow(clippy::too_many_arguments)]
fn published(
    doc: &Html,
    root: ElementRef<'_>,
    selectors: &PageSelectors,
    ld: &jsonld::Article,
    metas: &[(String, String)],
    (url, title): (&Url, Option<&str>),
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<(Found<DateTime<FixedOffset>>, DateSource)> {
    let read = |text: &str| {
        date::parse_local(text, tz).or_else(|| date::find_in_text_local(text, tz, now))
    };
    if let Some(s) = &selectors.date
        && let Some(d) = s.text_in(root).as_deref().and_then(read)
    {
        return Some((
            found(d, format!("selector {}", s.source)),
            DateSource::Selector,
        ));
    }
    if let Some(d) = ld
        .date_published
        .as_deref()
        .and_then(|t| date::parse_local(t, tz))
    {
        return Some((found(d, "json-ld"), DateSource::JsonLd));
    }
    const META_DATES: [&str; 21] = [
        "article:published_time",
        "og:article:published_time",
        "og:published_time",
        "datepublished",
        "dc.date.issued",
        "dc.date",
        "dcterms.issued",
        "dcterms.created",
        "dcterms.date",
        "parsely-pub-date",
        "sailthru.date",
        "article.published",
        "published_time",
        "pubdate",
        "publishdate",
        "publish-date",
        "dc.date.created",
        "citation_publication_date",
        "citation_date",
        "date",
        "release_date",
    ];
    if let Some((k, d)) = META_DATES
        .iter()
        .find_map(|k| meta(metas, &[k]).and_then(|(k, v)| date::parse_local(v, tz).map(|d| (k, d))))
    {
        return Some((found(d, format!("meta:{k}")), DateSource::Meta));
    }
    // Microdata, and its RDFa twin (`property="schema:dateCreated"`).
    let itemprop = sel(
        "[itemprop=datePublished], [property$=datePublished][content], [property$=dateCreated][content]",
    );
    if let Some(d) = doc.select(&itemprop).find_map(|e| {
        e.value()
            .attr("content")
            .or(e.value().attr("datetime"))
            .and_then(|v| date::parse_local(v, tz))
    }) {
        return Some((found(d, "itemprop=datePublished"), DateSource::Meta));
    }
    let times = sel("time[datetime]");
    let mut candidates: Vec<ElementRef<'_>> = doc.select(&times).collect();
    // A <time> marked as the publication date beats the first one on the page.
    candidates.sort_by_key(|t| {
        let v = t.value();
        let marked = v.attr("pubdate").is_some()
            || v.attr("class")
                .is_some_and(|c| c.contains("publish") || c.contains("posted"));
        !marked
    });
    if let Some(d) = candidates.iter().find_map(|t| {
        t.value()
            .attr("datetime")
            .and_then(|v| date::parse_local(v, tz))
    }) {
        return Some((found(d, "time[datetime]"), DateSource::TimeElement));
    }
    // Older markup: the machine date in a `title` attribute
    // (`<abbr class="published" title="2019-06-12T10:00">`).
    let titled = sel("abbr[title], .published[title], .date[title], .updated[title]");
    if let Some(d) = doc.select(&titled).find_map(|e| {
        e.value()
            .attr("title")
            .and_then(|v| date::parse_local(v, tz))
    }) {
        return Some((found(d, "title attribute"), DateSource::Meta));
    }
    if let Some(d) = date_in_marked_element(doc, tz, now) {
        return Some((found(d, "an element marked as a date"), DateSource::Text));
    }
    if let Some(d) = date_near_title(doc, title, tz, now) {
        return Some((found(d, "text near the title"), DateSource::Text));
    }
    if let Some(d) = labelled_date(doc, tz, now) {
        return Some((found(d, "a labelled date line"), DateSource::Text));
    }
    if let Some(d) = dateline(doc, tz) {
        return Some((
            found(d, "the dateline of an opening paragraph"),
            DateSource::Text,
        ));
    }
    if let Some(d) = ld
        .page_date
        .as_deref()
        .and_then(|t| date::parse_local(t, tz))
    {
        return Some((found(d, "json-ld page"), DateSource::JsonLd));
    }
    if let Some(d) = ld
        .script_date
        .as_deref()
        .and_then(|t| date::parse_local(t, tz))
    {
        return Some((found(d, "page script data"), DateSource::Meta));
    }
    date::from_url_path_local(url.path(), tz).map(|d| (found(d, "url path"), DateSource::Url))
}

/// The date a news item's first paragraph opens with, as agencies write
/// it ("01.02.2022 – The council…", "Kiel (12.11.2021). The…"): only the
/// first paragraphs of text outside furniture, and only a date within
/// their first words, so a date the story mentions later is not taken.
fn dateline(doc: &Html, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let opening = |blocks: &Selector, leaf_only: bool| {
        doc.select(blocks)
            .filter(|b| !in_furniture(*b))
            // A `<div>` counts only when it holds text, not other blocks
            // (pages that set their story in divs and line breaks).
            .filter(|b| {
                !leaf_only
                    || b.children().filter_map(ElementRef::wrap).all(|c| {
                        matches!(c.value().name(), "br" | "wbr") || is_inline(c.value().name())
                    })
            })
            .filter(|b| b.text().flat_map(str::split_whitespace).nth(8).is_some())
            .take(PARAGRAPHS)
            .find_map(|b| opening_date(b, tz))
    };
    opening(&sel("p"), false).or_else(|| opening(&sel("div"), true))
}

/// The paragraphs [`dateline`] looks at: the first few of the page's text
/// (a cookie notice or a teaser may come before the story).
const PARAGRAPHS: usize = 3;

/// The date `p` opens with, if any.
fn opening_date(p: ElementRef<'_>, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let opening: String = p
        .text()
        .flat_map(str::split_whitespace)
        .take(4)
        .collect::<Vec<_>>()
        .join(" ");
    let head = opening
        .split(['–', '—', '|', '„', '"', '('])
        .find(|part| !part.trim().is_empty())
        .unwrap_or_default();
    let inside = opening
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'));
    let read =
        |text: &str| date::parse_local(text.trim().trim_end_matches(['.', ',', ':', '-']), tz);
    // The whole part ("01.02.2026 10:00"), or its first or last word
    // ("01.02.2026: The…", "Kiel, 01.02.2026").
    [Some(head), inside.map(|(d, _)| d)]
        .into_iter()
        .flatten()
        .find_map(|part| {
            let part = part.trim();
            read(part)
                .or_else(|| part.split(' ').next().and_then(read))
                .or_else(|| part.rsplit(' ').next().and_then(read))
        })
}

/// Whether an element sits in page furniture (navigation, sidebars,
/// comments, footers), whose dates belong to other articles.
fn in_furniture(el: ElementRef<'_>) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .any(is_furniture)
}

/// Whether this element itself is navigation, a sidebar, comments or a
/// footer, by its name, or by its class (or, with none, its id). Never
/// `<body>` or `<html>`: their classes name the page's template
/// (`right-sidebar`, `has-comments`), not a part of it.
fn is_furniture(el: ElementRef<'_>) -> bool {
    let v = el.value();
    if matches!(v.name(), "body" | "html") {
        return false;
    }
    matches!(v.name(), "nav" | "aside" | "footer")
        || v.attr("class").or(v.attr("id")).is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            [
                "comment",
                "sidebar",
                "related",
                "footer",
                "widget",
                "recommend",
            ]
            .iter()
            .any(|w| c.contains(w))
        })
}

/// A short element whose class or id says it holds the date (`post-date`,
/// `published`, `entry-meta`, `byline`...): sites mark the date they show.
fn date_in_marked_element(doc: &Html, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    const MARKS: [&str; 12] = [
        "date", "publish", "posted", "updated", "byline", "time", "meta", "datum", "fecha", "info",
        "calendar", "author",
    ];
    let candidates = sel("[class], [id]");
    doc.select(&candidates).find_map(|el| {
        let v = el.value();
        let label = format!(
            "{} {}",
            v.attr("class").unwrap_or_default(),
            v.attr("id").unwrap_or_default()
        )
        .to_ascii_lowercase();
        if !MARKS.iter().any(|m| label.contains(m))
            || matches!(v.name(), "meta" | "script" | "style" | "body" | "html")
        {
            return None;
        }
        // Too long with its blocks (a rating box inside the byline): the
        // line of its own, without them.
        let text = element_text_within(el, 100).or_else(|| own_line(el, 100))?;
        if in_furniture(el) {
            return None;
        }
        // A relative time ("15 minutes ago") may keep the precise date in
        // its `title`; an icon (`<i class="fa-calendar">`) is followed by it.
        if let Some(d) = v
            .attr("title")
            .and_then(|t| date::find_in_text_local(t, tz, now))
        {
            return Some(d);
        }
        if !text.is_empty() {
            return date::find_in_text_local(&text, tz, now);
        }
        let after = el.next_sibling()?.value().as_text()?.trim();
        (after.len() <= 40)
            .then(|| date::find_in_text_local(after, tz, now))
            .flatten()
    })
}

/// `el`'s own text, split at its `<br>`s: its text and inline children as
/// written (whitespace untouched), without the blocks inside it, and
/// whether it had any; `None` when that text is over `limit` bytes.
fn own_lines(el: ElementRef<'_>, limit: usize) -> Option<(Vec<String>, bool)> {
    let mut lines = vec![String::new()];
    let (mut len, mut blocks) = (0, false);
    for child in el.children() {
        let text: String = if let Some(t) = child.value().as_text() {
            t.to_string()
        } else if let Some(e) = ElementRef::wrap(child) {
            match e.value().name() {
                "br" => {
                    lines.push(String::new());
                    continue;
                }
                name if is_inline(name) => e.text().collect(),
                _ => {
                    blocks = true;
                    continue;
                }
            }
        } else {
            continue;
        };
        len += text.len();
        if len > limit {
            return None;
        }
        lines.last_mut()?.push_str(&text);
    }
    Some((lines, blocks))
}

fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of `el`'s own line: its text and inline children, without the
/// blocks inside it; `None` when longer than `limit` bytes.
fn own_line(el: ElementRef<'_>, limit: usize) -> Option<String> {
    let (lines, _) = own_lines(el, limit * 2)?;
    let line = squeezed(&lines.concat());
    (line.len() <= limit).then_some(line)
}

/// The lines of `el` split at its `<br>`s (text and inline children only);
/// `None` without a `<br>`, with a block inside, or over `limit` bytes.
fn br_lines(el: ElementRef<'_>, limit: usize) -> Option<Vec<String>> {
    let (lines, blocks) = own_lines(el, limit)?;
    (lines.len() > 1 && !blocks).then(|| lines.iter().map(|l| squeezed(l)).collect())
}

/// Words that introduce a page's own date in a short line ("Erschienen
/// am: 01.11.2023", "Datum 12.01.2017" as a `<dt>`/`<dd>` pair), in the
/// languages the dates are read in.
const DATE_LABELS: [&str; 17] = [
    "published",
    "posted",
    "date",
    "datum",
    "erschienen",
    "veröffentlicht",
    "publié",
    "publication",
    "publicado",
    "publicada",
    "pubblicato",
    "fecha",
    "data",
    "опубликовано",
    "дата",
    "yayınlanma",
    "tarih",
];

/// A short line that begins with a date label, or a `<dd>` after a `<dt>`
/// that is one: where a page prints its date with no markup saying so,
/// away from the headline. Outside furniture first; a labelled date in a
/// sidebar or footer ("Erschienen am" under the text) only when the page
/// has none elsewhere.
fn labelled_date(doc: &Html, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    let is_label = |text: &str| {
        let lower = text.trim().to_lowercase();
        let first = lower
            .split(|c: char| !c.is_alphanumeric())
            .find(|w| !w.is_empty())
            .unwrap_or_default();
        DATE_LABELS.contains(&first)
    };
    let lines = sel("p, span, div, dd, li, em, small, td, strong, b");
    let labelled = |el: ElementRef<'_>| {
        let Some(text) = element_text_within(el, 80).filter(|t| !t.is_empty()) else {
            // Lines set apart by `<br>` ("Letzte Änderung: …<br>Erschienen
            // am: 01.11.2023"): each is a line of its own.
            return br_lines(el, 300)?
                .iter()
                .filter(|l| l.len() <= 80 && is_label(l))
                .find_map(|l| date::find_in_text_local(l, tz, now));
        };
        let labelled = is_label(&text)
            || (el.value().name() == "dd"
                && el
                    .prev_siblings()
                    .find_map(ElementRef::wrap)
                    .is_some_and(|dt| dt.value().name() == "dt" && is_label(&element_text(dt))));
        labelled
            .then(|| date::find_in_text_local(&text, tz, now))
            .flatten()
    };
    let mut outside = doc.select(&lines).filter(|el| !in_furniture(*el));
    outside.find_map(labelled).or_else(|| {
        doc.select(&lines)
            .filter(|el| in_furniture(*el))
            .find_map(labelled)
    })
}

/// A date written in the short text blocks around the headline: the
/// closest after it first, then the closest before it (some sites print
/// the date above the title).
///
/// The headline is the first `<h1>`, then `<h2>` or `<h3>`, telling the
/// story of the page's `title` or `<title>`, else the first `<h1>`: a logo
/// in the first `<h1>`, or a page with no `<h1>`, does not hide the date
/// under the real one.
fn date_near_title(
    doc: &Html,
    title: Option<&str>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<FixedOffset>> {
    let page_title = doc.select(&sel("title")).next().map(element_text);
    let titles: Vec<&str> = title.into_iter().chain(page_title.as_deref()).collect();
    let telling = |css: &str| {
        doc.select(&sel(css)).find(|h| {
            let heading = element_text(*h);
            titles.iter().any(|t| same_story(&heading, t))
        })
    };
    let h1 = telling("h1")
        .or_else(|| telling("h2, h3"))
        .or_else(|| doc.select(&sel("h1")).next())?;
    let blocks: Vec<ElementRef<'_>> = doc
        .select(&sel(
            "h1, p, span, div, time, small, li, h2, h3, h4, h5, h6",
        ))
        .collect();
    let at = blocks.iter().position(|b| b.id() == h1.id())?;
    let short_date = |el: &ElementRef<'_>| {
        // Only short blocks: a date line, not a paragraph that happens to
        // mention a date.
        let text = element_text_within(*el, 120)?;
        (!text.is_empty())
            .then(|| date::find_in_text_local(&text, tz, now))
            .flatten()
    };
    let after = blocks[at + 1..].iter().take(40).find_map(short_date);
    after.or_else(|| blocks[..at].iter().rev().take(12).find_map(short_date))
}

fn author(
    doc: &Html,
    root: ElementRef<'_>,
    selectors: &PageSelectors,
    ld: &jsonld::Article,
    metas: &[(String, String)],
    site: (Option<&str>, &Url),
) -> Option<Found<String>> {
    if let Some(s) = &selectors.author
        && let Some(v) = s.text_in(root)
    {
        return Some(found(without_by(&v), format!("selector {}", s.source)));
    }
    // A declared author that is the site itself ("Badische Zeitung" on
    // badische-zeitung.de) or a user handle ("jdoe42") is kept only if the
    // page names no writer in words: `writer` holds it back as the
    // fallback (the first one found wins) and answers only a writer.
    let mut fallback = None;
    let mut writer = |name: String, from: String| {
        let second_best = names_the_site(&name, site) || is_handle(&name);
        if second_best {
            fallback.get_or_insert(found(name, from));
            None
        } else {
            Some(found(name, from))
        }
    };
    if let Some(name) = ld.author.as_deref().and_then(declared_name)
        && let Some(chosen) = writer(name, "json-ld".into())
    {
        return Some(chosen);
    }
    if let Some((k, name)) = [
        "author",
        "article:author",
        "parsely-author",
        "dc.creator",
        "sailthru.author",
        "byl",
    ]
    .iter()
    .find_map(|k| meta(metas, &[k]).and_then(|(k, v)| declared_name(v).map(|n| (k, n))))
    // Yoast's "Written by" card for link previews.
    .or_else(|| {
        let label = meta(metas, &["twitter:label1"])?.1;
        let name = meta(metas, &["twitter:data1"])?.1;
        label
            .eq_ignore_ascii_case("written by")
            .then(|| declared_name(name))
            .flatten()
            .map(|n| ("twitter:data1", n))
    }) && let Some(chosen) = writer(name, format!("meta:{k}"))
    {
        return Some(chosen);
    }
    for (css, from) in [
        ("a[rel=author], [rel=author]", "rel=author"),
        ("[itemprop=author] [itemprop=name]", "itemprop=author"),
        ("[itemprop=author]", "itemprop=author"),
        (
            ".byline, .author, .by-line, [class*=byline], byline",
            "byline",
        ),
        // The name part of an author card: hCard's `fn`, "author-name".
        (
            ".vcard .fn, [class*=author] .fn, [class*=author-name], [class*=author_name], [class*=auth_name], [class*=auteur]",
            "byline",
        ),
    ] {
        if let Some(name) = doc
            .select(&sel(css))
            .filter(|e| !in_comments(*e))
            .find_map(|e| {
                declared_name(&element_text(e)).filter(|n| n.split_whitespace().count() <= 6)
            })
            && let Some(chosen) = writer(name, from.into())
        {
            return Some(chosen);
        }
    }
    // "By Jo Writer" (or "Von", "Par", "Por"...) as a line of its own.
    let lines = sel("p, span, div, small, address");
    root.select(&lines)
        .find_map(|e| {
            let text = element_text_within(e, BYLINE_MAX_BYTES)?;
            let rest = after_by_label(&text)?;
            // Short labels that are also common words ("di", "par", "por",
            // "av", "door") only count where the page marks a byline.
            let label = &text[..text.len() - rest.len()];
            if AMBIGUOUS_BY.contains(&label.to_lowercase().as_str()) {
                return None;
            }
            let name = person_name(rest)?;
            (name.split_whitespace().count() <= 5
                && name.chars().next().is_some_and(char::is_uppercase))
            .then(|| found(name, "byline"))
        })
        .or(fallback)
        // An organization credited as the author, when no person is named.
        .or_else(|| {
            ld.organization
                .as_deref()
                .and_then(person_name)
                .map(|n| found(n, "json-ld organization"))
        })
}

/// The longest line read as a byline: "By" and a name, perhaps a title and
/// a date; a paragraph that starts with "By" is prose.
const BYLINE_MAX_BYTES: usize = 400;

/// A user handle ("brandon-peaktwo"), not a name in words: one lowercase
/// word in Latin letters, or an address ("kath.net"). Scripts without
/// letter case (孔德明) are names all the same.
fn is_handle(name: &str) -> bool {
    let one_word = name.split_whitespace().count() == 1;
    let lowercase =
        name.chars().any(|c| c.is_ascii_alphabetic()) && !name.chars().any(char::is_uppercase);
    let address = name.contains('.') && !name.ends_with('.') && !name.contains(". ");
    one_word && (lowercase || address)
}

/// Whether an element sits in the comments (`class="comment-author vcard"`,
/// `id="comments"`): the names there are readers', not the writer's.
fn in_comments(e: ElementRef<'_>) -> bool {
    std::iter::once(e)
        .chain(e.ancestors().filter_map(ElementRef::wrap))
        .any(|a| {
            let v = a.value();
            v.attr("class")
                .into_iter()
                .chain(v.attr("id"))
                .any(|c| c.to_ascii_lowercase().contains("comment"))
        })
}

/// Whether a declared author is the site's own name: its `og:site_name`,
/// or its address's name ("IT Finanzmagazin" on it-finanzmagazin.de),
/// compared by letters and digits only.
fn names_the_site(name: &str, (site_name, url): (Option<&str>, &Url)) -> bool {
    let squeeze = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let name = squeeze(name);
    if name.is_empty() {
        return false;
    }
    let host = url.host_str().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    // The address's name: the host without its last label ("de", "com").
    let label = host.rsplit_once('.').map_or(host, |(rest, _)| rest);
    site_name.is_some_and(|s| squeeze(s) == name) || squeeze(label) == name
}

/// A byline's text as a name: the "By"/"Written by"/"Author:" label and
/// any date after the name removed; `None` when what is left is not a
/// person's name (a bare label, a date, a URL, an e-mail, a user handle).
fn person_name(text: &str) -> Option<String> {
    name_in(text, false)
}

/// [`person_name`] of a name the page declares as its author (JSON-LD,
/// `<meta name="author">`, author markup): a user handle ("jsteinhardt")
/// is the author there, while in free text it is more often a word.
fn declared_name(text: &str) -> Option<String> {
    name_in(text, true)
}

fn name_in(text: &str, handle_ok: bool) -> Option<String> {
    let mut name = without_by(text);
    if let Some(m) = DATE_START.find(&name) {
        // A byline that starts with a date names no one.
        name.truncate(m.start());
    }
    let mut name = name
        .trim()
        .trim_end_matches(['-', '·', '|', ',', '–', '—', ':', '»', '→', '●', '•'])
        .trim()
        .to_owned();
    // The word that led to a date cut off after the name ("Jo Writer on",
    // "Ana Ruiz am"), or a label the site put after it ("Ana Ruiz Alle
    // Artikel", "Ana Ruiz Publiziert").
    for joint in [
        " on",
        " at",
        " am",
        " um",
        " le",
        " el",
        " il",
        " den",
        " alle artikel",
        " publiziert",
        " published",
        " veröffentlicht",
        " last updated",
        " updated",
        " sponsored",
        " stand",
    ] {
        let cut = name.len().saturating_sub(joint.len());
        if name.is_char_boundary(cut) && name[cut..].to_lowercase() == joint {
            name.truncate(cut);
            let kept = name
                .trim_end_matches([',', '·', '-', '|', '–', '—'])
                .trim_end()
                .len();
            name.truncate(kept);
        }
    }
    let lower = name.to_lowercase();
    let label = matches!(
        lower.as_str(),
        "" | "by"
            | "author"
            | "authors"
            | "written by"
            | "posted by"
            | "posted by:"
            | "admin"
            | "administrator"
            | "editor"
            | "staff"
            | "von"
            | "par"
            | "por"
            | "di"
            | "door"
            | "av"
            | "autor"
            | "auteur"
            | "автор"
            | "no author"
            | "undefined"
            | "null"
            | "publisher"
            | "anónimo"
            | "anonym"
    );
    let handle = is_handle(&name);
    let bad = label
        || (handle && !handle_ok)
        || name.len() > 200
        || name.contains('@')
        || name.starts_with("http")
        || name
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace())
        || date::parse(&name, Tz::UTC).is_some();
    (!bad).then_some(name)
}

/// Where a date starts inside a byline ("Ana Ruiz December 2", "Ana · Dec 20").
static DATE_START: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    // Also "31. Oktober", "7 juin": a day before another language's month.
    let local = date::LOCAL_MONTHS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join("|");
    regex::Regex::new(&format!(
        r"(?i)\b(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|\b\d{{1,2}}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|\b\d{{1,2}}\.?\s+(?:{local})\b|\b\d{{4}}-\d{{2}}-\d{{2}}|\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}",
    ))
    .expect("static regex")
});

/// Byline labels, lowercase, longest first where one starts another: in
/// English and as other languages write them ("Von", "Par", "Por", "Di",
/// "Door", "Av", "Автор").
const BY_LABELS: [&str; 43] = [
    // Author-archive links that name the writer: "View all posts by Ana".
    "view all posts by ",
    "all posts by ",
    "zeige alle beiträge von ",
    "alle beiträge von ",
    "article written by: ",
    "written by: ",
    "written by ",
    "posted by: ",
    "posted by ",
    "text by ",
    "author: ",
    "authors: ",
    "by: ",
    "by ",
    "geschrieben von ",
    "verfasst von ",
    "veröffentlicht von ",
    "eingestellt von ",
    "erstellt von ",
    "beitrag von ",
    "vom ",
    "autor: ",
    "autorin: ",
    "von ",
    "publié par ",
    "écrit par ",
    "auteur : ",
    "auteur: ",
    "par ",
    "escrito por ",
    "publicado por ",
    "por ",
    "scritto da ",
    "pubblicato da ",
    "di ",
    "door ",
    "av ",
    "автор: ",
    "автор ",
    "yazar: ",
    "yazan: ",
    "interview: ",
    "author ",
];

/// Labels of [`BY_LABELS`] that are also everyday words.
const AMBIGUOUS_BY: [&str; 7] = ["di ", "par ", "por ", "av ", "door ", "vom ", "author "];

/// What follows a byline label at the start of `text`, if one is there.
fn after_by_label(text: &str) -> Option<&str> {
    let lower = text.to_lowercase();
    BY_LABELS.iter().find_map(|label| {
        lower
            .starts_with(label)
            .then(|| text.get(label.len()..))
            .flatten()
    })
}

/// "By Jo Writer" → "Jo Writer"; also "Written by", "Author:", "Posted by",
/// and the same labels in other languages (see [`BY_LABELS`]).
fn without_by(text: &str) -> String {
    // "Posted by&nbsp;Ana": the label's space may be a no-break one.
    let t = text.trim().replace('\u{a0}', " ");
    let t = t.as_str();
    // Labels may come two in a row: "Author Posted by Ana" (a screen
    // reader's label before the visible one).
    let rest = after_by_label(t).unwrap_or(t).trim_start();
    let rest = after_by_label(rest).unwrap_or(rest);
    let rest = rest.split(['|', '\n']).next().unwrap_or(rest);
    sanitize::collapse_whitespace(rest)
}

/// A credit from a `figcaption`, or from a line starting "Photo:", "SOURCE:", ...
fn credit(doc: &Html) -> Option<Found<String>> {
    let lines = sel("p, span, small, div, figcaption, cite");
    if let Some(c) = doc
        .select(&lines)
        .find_map(|e| element_text_within(e, 299).and_then(|text| credit_line(&text)))
    {
        return Some(found(c, "credit line"));
    }
    doc.select(&sel("figcaption"))
        .map(element_text)
        .find(|t| !t.is_empty())
        .map(|t| found(t, "figcaption"))
}

/// A standfirst: the element sites mark as the dek or lede.
fn standfirst(doc: &Html) -> Option<Found<String>> {
    let css = sel(
        ".standfirst, .dek, .subtitle, .subheadline, .sub-headline, .lede, .lead, .excerpt, .article-summary, .intro, [itemprop=description]",
    );
    doc.select(&css)
        .map(element_text)
        .find(|t| !t.is_empty() && t.len() < 600)
        .map(|t| found(t, "standfirst"))
}

/// A body with fewer words than this may be a label scoring picked up.
const FEW_WORDS: usize = 25;

/// The scored body, unless it is missing or a few words (a section label,
/// a caption) and the fallback says clearly more: at least
/// [`FEW_WORDS`], and twice the scored body's.
fn fuller_of(
    scored: Option<Found<String>>,
    fallback: impl FnOnce() -> Option<Found<String>>,
) -> Option<Found<String>> {
    let words = scored.as_ref().map_or(0, |b| word_count(&b.value));
    if scored.is_some() && words >= FEW_WORDS {
        return scored;
    }
    fallback()
        .filter(|f| scored.is_none() || word_count(&f.value) >= (2 * words).max(FEW_WORDS))
        .or(scored)
}

/// The body by readability scoring, with its word count.
fn readable_body(page: &str, url: &Url) -> Option<(Found<String>, usize)> {
    // Classes stay on, for `without_repeats_or_furniture` to tell furniture
    // (share bars, newsletter boxes) from text; publishing drops them.
    let config = dom_smoothie::Config {
        keep_classes: true,
        ..dom_smoothie::Config::default()
    };
    let mut readability =
        dom_smoothie::Readability::new(page, Some(url.as_str()), Some(config)).ok()?;
    let article = readability.parse().ok()?;
    let content = article.content.to_string();
    let words = article.text_content.split_whitespace().count();
    (!content.trim().is_empty()).then(|| (found(content, "readability"), words))
}

/// Whether some HTML has a letter or digit outside its tags: cheaper than
/// [`word_count`], which parses it.
fn has_text(html: &str) -> bool {
    let mut in_tag = false;
    html.chars().any(|c| match c {
        '<' => {
            in_tag = true;
            false
        }
        '>' => {
            in_tag = false;
            false
        }
        c => !in_tag && c.is_alphanumeric(),
    })
}

/// Words of plain text in some HTML.
fn word_count(html: &str) -> usize {
    Html::parse_fragment(html)
        .root_element()
        .text()
        .map(|t| t.split_whitespace().count())
        .sum()
}

/// When scoring found little or nothing (a page whose text sits in many
/// small blocks can fool it), the paragraphs of the page's own main
/// container (`<article>`, `<main>`, `role=main`), if it holds clearly more.
fn container_body(doc: &Html, scored: Option<(Found<String>, usize)>) -> Option<Found<String>> {
    const ENOUGH: usize = 150;
    let scored_words = scored.as_ref().map_or(0, |(_, words)| *words);
    let scored = scored.map(|(body, _)| body);
    if scored_words >= ENOUGH {
        return scored;
    }
    let containers = sel("article, main, [role=main]");
    let paragraphs = sel("p, h2, h3, h4, li, blockquote, pre");
    let best = doc
        .select(&containers)
        .map(|c| {
            let blocks: Vec<String> = c
                .select(&paragraphs)
                .filter(|p| {
                    !in_furniture(*p)
                        && !p
                            .ancestors()
                            .filter_map(ElementRef::wrap)
                            .any(|a| paragraphs.matches(&a))
                })
                .map(|p| p.html())
                .collect();
            let html = blocks.join("\n");
            (word_count(&html), html)
        })
        .max_by_key(|(words, _)| *words)?;
    if best.0 >= ENOUGH.max(scored_words * 2) {
        Some(found(best.1, "main container"))
    } else {
        scored
    }
}

/// When neither scoring nor a main container gives a body (readability's
/// thresholds are made for long pages: a three-paragraph news item in a
/// plain `div` gets nothing), the page still has one: the element whose
/// own paragraphs hold the most words (outside navigation, sidebars and
/// comments), or the JSON-LD `articleBody`, whichever says more.
fn fallback_body(doc: &Html, ld_body: Option<&str>) -> Option<Found<String>> {
    /// Fewer words than this is a caption or a teaser, not an article.
    const LEAST: usize = 25;
    let paragraphs = sel("p");
    let mut words_by_parent = std::collections::HashMap::new();
    for p in doc.select(&paragraphs) {
        if in_furniture(p) {
            continue;
        }
        if let Some(parent) = p.parent() {
            let words: usize = p.text().map(|t| t.split_whitespace().count()).sum();
            *words_by_parent.entry(parent.id()).or_insert(0usize) += words;
        }
    }
    let densest = words_by_parent
        .into_iter()
        .max_by_key(|&(id, words)| (words, std::cmp::Reverse(id)))
        .and_then(|(id, words)| {
            let parent = ElementRef::wrap(doc.tree.get(id)?)?;
            let blocks = sel("p, h2, h3, h4, blockquote, pre, ul, ol");
            let html: Vec<String> = parent
                .children()
                .filter_map(ElementRef::wrap)
                .filter(|c| blocks.matches(c))
                .map(|c| c.html())
                .collect();
            Some((words, html.join("\n")))
        });
    let ld = ld_body.map(|text| {
        let html: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| format!("<p>{}</p>", crate::normalize::sanitize::escape_html(l)))
            .collect();
        (text.split_whitespace().count(), html.join("\n"))
    });
    match (densest, ld) {
        (Some(d), Some(l)) if l.0 > d.0 && l.0 >= LEAST => Some(found(l.1, "json-ld articleBody")),
        (Some(d), _) if d.0 >= LEAST => Some(found(d.1, "densest block")),
        (None | Some(_), Some(l)) if l.0 >= LEAST => Some(found(l.1, "json-ld articleBody")),
        (densest, _) => {
            if let Some((_, html)) = noscript_body(doc).filter(|(words, _)| *words >= LEAST) {
                return Some(found(html, "noscript copy"));
            }
            let block = text_block_body(doc);
            if block.as_ref().is_some_and(|(words, _)| *words >= LEAST) {
                return block.map(|(_, html)| found(html, "densest text block"));
            }
            // A page of a few sentences (a notice, a product's one
            // paragraph) is still a page with text: its fullest block.
            [densest, block]
                .into_iter()
                .flatten()
                .filter(|(words, _)| *words >= SENTENCE)
                .max_by_key(|(words, _)| *words)
                .map(|(_, html)| found(html, "short text block"))
        }
    }
}

/// Words of the shortest text [`fallback_body`] keeps as a body.
const SENTENCE: usize = 8;

/// Elements whose text is never an article's.
fn is_never_text(name: &str) -> bool {
    matches!(
        name,
        "head"
            | "script"
            | "style"
            | "noscript"
            | "template"
            | "select"
            | "option"
            | "button"
            | "textarea"
            | "svg"
    )
}

/// Navigation, headers, footers, sidebars, menus and comments, by name or
/// by a word of the class or id. Narrower than [`is_furniture`], which
/// also takes `widget` for one (blog engines set the whole post list in a
/// "widget Blog"): this is for the last resort, where a page's only text
/// may sit in such a box.
fn is_chrome(el: ElementRef<'_>) -> bool {
    let v = el.value();
    matches!(v.name(), "nav" | "aside" | "footer" | "header")
        || [v.attr("class"), v.attr("id")]
            .into_iter()
            .flatten()
            .any(|c| {
                c.to_ascii_lowercase()
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| {
                        matches!(
                            w,
                            "nav"
                                | "navbar"
                                | "menu"
                                | "header"
                                | "footer"
                                | "sidebar"
                                | "comment"
                                | "comments"
                                | "related"
                                | "cookie"
                                | "cookies"
                        )
                    })
            })
}

/// How much text a run holds, in words: a run of Chinese or Japanese,
/// written without spaces, counts a word for every two characters.
fn text_words(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| {
            let wide = w.chars().filter(|&c| c >= '\u{2e80}').count();
            (wide / 2).max(1)
        })
        .sum()
}

/// Words of an element's own running text: its text nodes and those of
/// its phrasing children, not those of its blocks.
fn own_words(el: ElementRef<'_>) -> usize {
    el.children()
        .map(|c| match c.value() {
            scraper::Node::Text(t) => text_words(t),
            scraper::Node::Element(e) if is_inline(e.name()) => {
                ElementRef::wrap(c).map_or(0, own_words)
            }
            _ => 0,
        })
        .sum()
}

/// The fullest `<noscript>` copy of the story, with its word count: some
/// blog templates write the post into a script template for their
/// scripts to show, and a copy in `<noscript>`, which a parser that runs
/// scripts (as browsers do, and html5ever by default) reads as raw text.
fn noscript_body(doc: &Html) -> Option<(usize, String)> {
    doc.select(&sel("noscript"))
        .filter_map(|n| {
            let raw: String = n.text().collect();
            if !raw.contains("<p") {
                return None;
            }
            let fragment = Html::parse_fragment(&raw);
            let words = fragment
                .select(&sel("p"))
                .flat_map(|p| p.text())
                .map(|t| t.split_whitespace().count())
                .sum::<usize>();
            Some((words, fragment.root_element().inner_html()))
        })
        .max_by_key(|(words, _)| *words)
}

/// The last resort for pages with no paragraphs at all: text set in
/// `<div>`s or table cells, lines parted by `<br>` (old forums, blogs,
/// shop pages). The element whose own running text and its block
/// children's hold the most words (outside [`is_chrome`]), as paragraphs.
fn text_block_body(doc: &Html) -> Option<(usize, String)> {
    let usable = |e: &ElementRef<'_>| {
        let name = e.value().name();
        !is_inline(name) && !is_never_text(name) && !is_chrome(*e)
    };
    // A list's items are menus and link lists far more often than text.
    let not_a_list = |e: &ElementRef<'_>| !matches!(e.value().name(), "ul" | "ol" | "dl" | "menu");
    let best = doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| {
            usable(e)
                && not_a_list(e)
                && !e
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| is_never_text(a.value().name()) || is_chrome(a))
        })
        .map(|e| {
            let children: usize = e
                .children()
                .filter_map(ElementRef::wrap)
                .filter(usable)
                .map(own_words)
                .sum();
            (own_words(e) + children, e)
        })
        .filter(|(words, _)| *words > 0)
        .max_by_key(|&(words, e)| (words, std::cmp::Reverse(e.id())))?;
    let (words, container) = best;
    let mut paragraphs = Vec::new();
    own_paragraphs(container, &mut paragraphs, true);
    Some((words, paragraphs.join("\n")))
}

/// An element's own running text as paragraphs: a run of text and
/// phrasing markup ends at a block child or at two line breaks in a row.
/// With `deeper`, block children with text of their own add theirs
/// (headings and paragraphs as they are), one level down.
fn own_paragraphs(el: ElementRef<'_>, out: &mut Vec<String>, deeper: bool) {
    use scraper::Node;
    fn flush(run: &mut String, out: &mut Vec<String>) {
        let text = run.trim();
        let text = text.strip_suffix("<br>").unwrap_or(text).trim();
        if !text.is_empty() && text != "<br>" {
            out.push(format!("<p>{text}</p>"));
        }
        run.clear();
    }
    let mut run = String::new();
    let mut breaks = 0;
    for child in el.children() {
        match child.value() {
            Node::Text(t) => {
                if !t.trim().is_empty() {
                    breaks = 0;
                }
                run.push_str(&crate::normalize::sanitize::escape_html(t));
            }
            Node::Element(e) if e.name() == "br" => {
                breaks += 1;
                if breaks >= 2 {
                    flush(&mut run, out);
                } else {
                    run.push_str("<br>");
                }
            }
            Node::Element(e) if is_inline(e.name()) => {
                breaks = 0;
                if let Some(inline) = ElementRef::wrap(child) {
                    run.push_str(&inline.html());
                }
            }
            Node::Element(e) => {
                flush(&mut run, out);
                breaks = 0;
                let Some(block) = ElementRef::wrap(child).filter(|_| deeper) else {
                    continue;
                };
                if is_never_text(e.name()) || is_chrome(block) || own_words(block) == 0 {
                    continue;
                }
                if matches!(
                    e.name(),
                    "p" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "pre"
                ) {
                    out.push(block.html());
                } else {
                    own_paragraphs(block, out, false);
                }
            }
            _ => {}
        }
    }
    flush(&mut run, out);
}

/// A short block that is mostly links: "Read also: <a>another story</a>",
/// a share bar, a list of related headlines. Prose with links in it keeps
/// most of its letters outside them.
/// `links` is `sel("a")`, compiled once by the caller for every block.
fn is_link_block(e: ElementRef<'_>, links: &Selector) -> bool {
    let letters = |t: &str| t.chars().filter(|c| c.is_alphanumeric()).count();
    let Some(text) = flowing_text_within(e, LINK_BLOCK_MAX_BYTES) else {
        return false;
    };
    let total = letters(&text);
    if total == 0 || text.split_whitespace().count() > LINK_BLOCK_MAX_WORDS {
        return false;
    }
    let linked: usize = e.select(links).map(|a| letters(&flowing_text(a))).sum();
    linked * 10 >= total * 7
}

/// Words in a class or id that name page furniture rather than text.
const FURNITURE_WORDS: [&str; 20] = [
    "share",
    "sharing",
    "social",
    "newsletter",
    "related",
    "subscribe",
    "subscription",
    "signup",
    "comments",
    "comment",
    "breadcrumb",
    "breadcrumbs",
    "tags",
    "promo",
    "ads",
    "advert",
    "advertisement",
    "sponsored",
    "paywall",
    "recommended",
];

/// Elements of the body whose class names them furniture (`share-bar`,
/// `newsletter-box`, `related_posts`), compared word by word so that
/// `shared-content` or `tagline` are not. Ids are not read (sites derive
/// them from headings: `h-what-is-social-shopping`), nor code (a
/// highlighter's `hljs-comment`). Never an element holding a third or
/// more of the body's text: that is the text, whatever its name.
fn furniture_in(fragment: &Html) -> Vec<ego_tree::NodeId> {
    let total = fragment.root_element().text().map(str::len).sum::<usize>();
    let named = |value: Option<&str>| {
        value.is_some_and(|v| {
            v.to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| FURNITURE_WORDS.contains(&w))
        })
    };
    let code = sel("pre, code");
    fragment
        .select(&sel("[class]"))
        .filter(|e| named(e.value().attr("class")))
        .filter(|e| {
            !code.matches(e)
                && !e
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| code.matches(&a))
        })
        .filter(|e| e.text().map(str::len).sum::<usize>() * 3 < total)
        .map(|e| e.id())
        .collect()
}

/// Headings that open what follows a story on its page (related reading,
/// comments, sharing), in the languages of the open sets, compared with a
/// whole block's text in lower case without its closing punctuation.
const CLOSING_HEADINGS: &[&str] = &[
    "related articles",
    "related posts",
    "related stories",
    "related content",
    "you may also like",
    "you might also like",
    "more stories",
    "recommended for you",
    "leave a comment",
    "leave a reply",
    "no comments",
    "share this article",
    "share this",
    "das könnte sie auch interessieren",
    "das könnte dich auch interessieren",
    "das könnte ihnen auch gefallen",
    "ähnliche artikel",
    "weitere artikel",
    "weitere beiträge",
    "mehr zum thema",
    "keine kommentare",
    "lade weitere inhalte",
    "artikel teilen",
    "à lire aussi",
    "lire aussi",
    "sur le même sujet",
    "articles similaires",
    "artículos relacionados",
    "noticias relacionadas",
    "te puede interesar",
    "articoli correlati",
    "potrebbe interessarti",
    "leia também",
    "veja também",
    "artigos relacionados",
    "most read",
    "most popular",
    "about the author",
    "auch interessant",
    "schon gelesen?",
    "möchten sie den artikel teilen?",
    "zum weiterlesen",
    "siehe auch",
    "empfohlene beiträge",
    "weiterführende links",
    "mehr themen",
    "lesen sie auch",
    "lesen sie auch die folgenden beiträge",
    "das thema könnte dich auch interessieren",
    "heute empfehlen wir",
    "meistgelesene artikel",
    "meistdiskutierte artikel",
    "über den autor",
    "über die autorin",
];

/// A block in the last quarter of the body whose whole text is one of
/// [`CLOSING_HEADINGS`], and everything after it: what scoring let
/// through below the story.
fn trailing_section(fragment: &Html) -> Vec<ego_tree::NodeId> {
    let total: usize = fragment.root_element().text().map(str::len).sum();
    let mut seen = 0;
    let mut start = None;
    let blocks = sel("h2, h3, h4, h5, h6, p, div, strong, span");
    for node in fragment.root_element().descendants() {
        if let Some(text) = node.value().as_text() {
            seen += text.len();
            continue;
        }
        let Some(el) = ElementRef::wrap(node) else {
            continue;
        };
        if seen * 4 < total * 3 || !blocks.matches(&el) {
            continue;
        }
        let text = element_text_within(el, 60)
            .unwrap_or_default()
            .to_lowercase();
        let text = text.trim_end_matches([':', '!', '.', '…', ' ']);
        // Whether it is a control is asked last: it walks the element.
        if !text.is_empty() && CLOSING_HEADINGS.contains(&text) && !in_control(el) {
            start = Some(el);
            break;
        }
    }
    let Some(start) = start else {
        return Vec::new();
    };
    // The heading, what follows it, and what follows each of its ancestors.
    let root = fragment.root_element().id();
    let mut doomed = vec![start.id()];
    let mut at = Some(*start);
    while let Some(node) = at {
        doomed.extend(node.next_siblings().map(|n| n.id()));
        at = node.parent().filter(|p| p.id() != root);
    }
    doomed
}

/// The label a page sets over an advertisement ("Anzeige",
/// "Advertisement"), alone in its block: never part of the story.
fn is_ad_label(el: ElementRef<'_>) -> bool {
    const LABELS: [&str; 9] = [
        "advertisement",
        "anzeige",
        "werbung",
        "reklama",
        "publicité",
        "publicidad",
        "pubblicità",
        "publicidade",
        "sponsored",
    ];
    element_text_within(el, 40).is_some_and(|t| {
        let t = t.to_lowercase();
        LABELS.contains(&t.trim_end_matches([':', ' ', '-']))
    })
}

/// Whether an element is a link's or a button's label (a "Leave a
/// comment" button inside a post), not a heading of its own.
fn in_control(el: ElementRef<'_>) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .any(|a| matches!(a.value().name(), "a" | "button"))
        || el.select(&sel("a, button")).next().is_some()
}

/// Longest block, in words, that [`is_link_block`] may drop.
const LINK_BLOCK_MAX_WORDS: usize = 40;
/// The same bound in bytes of raw text, read before counting words.
const LINK_BLOCK_MAX_BYTES: usize = 2000;

/// Longest repeat, in words, that [`without_repeats_or_furniture`] removes.
const REPEAT_MAX_WORDS: usize = 150;

/// The body without blocks that only repeat a field extracted on its own
/// (the headline, the standfirst, the credit, a date line), so readers do
/// not see them twice, and without the furniture readability let through:
/// link blocks ([`is_link_block`]) and elements named as furniture
/// ([`furniture_in`]).
fn without_repeats_or_furniture(body: &str, fields: &[&str]) -> String {
    let mut fragment = Html::parse_fragment(body);
    let links = sel("a");
    let blocks = sel("p, h1, h2, h3, figcaption, div, span");
    let doomed: Vec<_> = fragment
        .select(&blocks)
        .filter(|e| {
            let text = element_text(*e);
            let is_date_line = text.len() <= 60 && date::parse(&text, Tz::UTC).is_some();
            // A repeated headline or standfirst is short; a block as long
            // as a whole article (a page whose description is its full
            // text) is the body itself.
            !text.is_empty()
                && text.split_whitespace().count() <= REPEAT_MAX_WORDS
                && (is_date_line
                    || fields.iter().any(|f| {
                        let f = sanitize::collapse_whitespace(f);
                        text == f || credit_line(&text).is_some_and(|c| c == f)
                    }))
        })
        .map(|e| e.id())
        .chain(
            fragment
                .select(&sel("p, div, nav, aside"))
                .filter(|e| is_link_block(*e, &links))
                .map(|e| e.id()),
        )
        .chain(furniture_in(&fragment))
        // Styles and scripts inside the story's markup (CSS-in-JS writes a
        // `<style>` into each heading) are code, not text.
        .chain(
            fragment
                .select(&sel("style, script, template"))
                .map(|e| e.id()),
        )
        .chain(trailing_section(&fragment))
        .chain(
            fragment
                .select(&sel("p, div, span, h2, h3, h4, h5, h6"))
                .filter(|e| is_ad_label(*e))
                .map(|e| e.id()),
        )
        .collect();
    if doomed.is_empty() {
        return body.to_owned();
    }
    for id in doomed {
        if let Some(mut node) = fragment.tree.get_mut(id) {
            node.detach();
        }
    }
    fragment.root_element().inner_html()
}

/// Extracts one article file by its extension: `.txt` as a plain-text
/// dump, `.md` as Markdown with front matter, anything else as HTML.
/// Returns the fields and any tags from front matter.
#[must_use]
pub fn document(
    bytes: &[u8],
    file_name: &str,
    url: &Url,
    tz: Tz,
    now: DateTime<Utc>,
) -> (Extracted, Vec<String>) {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "md" | "markdown" => text::markdown(&String::from_utf8_lossy(bytes), tz),
        "txt" | "text" => (text::plain(&String::from_utf8_lossy(bytes), tz), Vec::new()),
        _ => {
            let page = crate::source::decode::to_utf8(bytes, Some("text/html"));
            (
                html(&page, url, &PageSelectors::default(), tz, now),
                Vec::new(),
            )
        }
    }
}

/// Plain text of body HTML, one line per block: how `extract --json`
/// reports the body.
#[must_use]
pub fn body_text(html: &str) -> String {
    let fragment = Html::parse_fragment(html);
    let blocks = sel("p, h1, h2, h3, h4, h5, h6, li, blockquote, pre, figcaption, td");
    let mut lines: Vec<String> = fragment
        .select(&blocks)
        .filter(|e| {
            !e.ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| blocks.matches(&a))
        })
        .map(flowing_text)
        .filter(|t| !t.is_empty())
        .collect();
    if lines.is_empty() {
        lines.push(flowing_text(fragment.root_element()));
    }
    lines.join("\n")
}

/// What is wrong with a CSS selector, in words: scraper's own message for
/// most mistakes is "Unexpected error occurred. Please report this".
fn explain(e: &scraper::error::SelectorErrorKind<'_>) -> String {
    use scraper::error::SelectorErrorKind as K;
    let compact = |d: String| d.split_whitespace().collect::<String>();
    match e {
        K::UnexpectedToken(t) => format!("unexpected {}", compact(format!("{t:?}"))),
        K::EndOfLine => "it ends too early (an unclosed bracket, parenthesis or quote?)".to_owned(),
        K::InvalidAtRule(rule) => format!("`@{rule}` has no place in a selector"),
        K::ExpectedColonOnPseudoElement(t) | K::ExpectedIdentityOnPseudoElement(t) => format!(
            "a pseudo-element is malformed near {}",
            compact(format!("{t:?}"))
        ),
        K::UnexpectedSelectorParseError(kind) => {
            let debug = compact(format!("{kind:?}"));
            let name: String = debug
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let mut words = String::new();
            for c in name.chars() {
                if c.is_ascii_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.push(c.to_ascii_lowercase());
            }
            match debug.get(name.len()..).filter(|r| !r.is_empty()) {
                Some(rest) => format!("{words} (near {rest})"),
                None => words,
            }
        }
        _ => "it is not a selector".to_owned(),
    }
}
#[cfg(test)]
mod tests;
