//! The `scrape` source kind: a listing page whose items CSS selectors pick,
//! optionally following each new item's link to extract the article there.
//!
//! Listing fields come from `[source.select]`; with `[source.article]`,
//! the article page's own selectors win, then the listing's, then automatic
//! extraction fills whatever is left. Articles already stored are not
//! fetched again. Pages are read politely (robots.txt, two requests at a
//! time per host, the source's `delay` between requests).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use scraper::{ElementRef, Html};
use url::Url;

use super::{Context, Listing, Read, decode, http, policy, polite::Pacer};
use crate::config::{ScrapeConfig, SourceConfig};
use crate::error::SourceError;
use crate::extract::{self, FieldSelector};
use crate::model::{Article, DateSource, SourceMeta, Validators};
use crate::normalize::{RawEntry, date, link, sanitize};

static FIRST_LINK: std::sync::LazyLock<FieldSelector> =
    std::sync::LazyLock::new(|| FieldSelector::parse("a@href").expect("static selector"));
static LINK_TEXT: std::sync::LazyLock<FieldSelector> =
    std::sync::LazyLock::new(|| FieldSelector::parse("a").expect("static selector"));

/// One item as the listing page shows it.
#[derive(Debug, Clone, Default)]
struct Listed {
    link: Option<Url>,
    /// From the `title` selector.
    title: Option<String>,
    /// The link's own text: the title of last resort.
    link_text: Option<String>,
    date: Option<DateTime<Utc>>,
    author: Option<String>,
    summary: Option<String>,
    image: Option<Url>,
}

/// Reads the listing page(s) and, with `[source.article]`, each new article.
///
/// # Errors
/// The listing cannot be fetched, or robots.txt disallows it.
pub(super) async fn read<S: std::hash::BuildHasher>(
    ctx: &Context<'_>,
    source: &SourceConfig,
    config: &ScrapeConfig,
    validators: &Validators,
    known: &HashSet<String, S>,
) -> Result<Read, SourceError> {
    let start = source.location.as_url();
    let mut pacer = Pacer::new(config.delay);
    let mut listed = Vec::new();
    let mut notes = Vec::new();
    let mut next_validators = Validators::default();
    let mut meta = SourceMeta::default();
    let mut page_url = Some(start.clone());
    let mut seen_pages = HashSet::new();
    for page in 0..config.select.max_pages {
        let Some(url) = page_url.take().filter(|u| seen_pages.insert(u.clone())) else {
            break;
        };
        let sent = if page == 0 {
            validators.clone()
        } else {
            Validators::default()
        };
        let Some((html, final_url, got)) = get_page(ctx, source, &url, &sent, &mut pacer).await?
        else {
            return Ok(Read::NotModified);
        };
        if page == 0 {
            next_validators = got;
        }
        let (items, next, misses) = parse_listing(&html, &final_url, config, source, ctx.now);
        if page == 0 {
            notes.extend(misses);
            meta = site_meta(&html, &final_url);
        }
        listed.extend(items);
        page_url = next.filter(|n| {
            let follow = policy::same_site(&start, n, &config.follow_hosts);
            if !follow {
                notes.push(format!("not following the next-page link {n}: it is on another site (add its host to `follow_hosts` to follow it)"));
            }
            follow
        });
    }

    // A listing is read like a feed: at most `max_entries` items, so a
    // page of a million links cannot hold the run.
    let max_entries = ctx.settings.limits.max_entries;
    if listed.len() > max_entries {
        notes.push(format!(
            "the listing has {} items; only the first {max_entries} are read (settings.max_entries)",
            listed.len()
        ));
        listed.truncate(max_entries);
    }
    let mut listing = Listing {
        listed: listed.len(),
        validators: next_validators,
        meta,
        ..Listing::default()
    };
    let mut seen = HashSet::new();
    for item in listed {
        let Some(link) = item.link.clone() else {
            notes.push("an item has no http(s) link; it is skipped".to_owned());
            continue;
        };
        let canonical = link::canonical(link.clone());
        if !seen.insert(canonical.clone()) {
            continue;
        }
        match &config.article {
            Some(_) if known.contains(canonical.as_str()) => {
                listing.unchanged.push(format!("link:{canonical}"));
            }
            // Links to other sites are published as links, never fetched:
            // a listing must not make feedloom read pages it was not
            // pointed at (an intranet, another port, a metadata address).
            Some(_) if !policy::same_site(&start, &link, &config.follow_hosts) => {
                notes.push(format!(
                    "not following {link}: it is on another site than the listing (add its host to `follow_hosts` to follow it)"
                ));
                listing.entries.push(entry(&item, None, link, &start));
            }
            Some(selectors) => {
                match get_page(ctx, source, &link, &Validators::default(), &mut pacer).await {
                    Ok(Some((html, final_url, _))) => {
                        let (selectors, tz, now) = (selectors.clone(), source.timezone, ctx.now);
                        let found = tokio::task::spawn_blocking(move || {
                            let e = extract::html(&html, &final_url, &selectors, tz, now);
                            (e, final_url)
                        })
                        .await;
                        if let Ok((extracted, final_url)) = found {
                            listing
                                .entries
                                .push(entry(&item, Some(extracted), link, &final_url));
                        }
                    }
                    Ok(None) => {}
                    Err(e @ SourceError::Robots { .. }) => return Err(e),
                    Err(e @ SourceError::Refused { .. }) => {
                        notes.push(format!("not following a link: {e}"));
                        listing.entries.push(entry(&item, None, link, &start));
                    }
                    Err(e) => notes.push(format!("skipped an article that could not be read: {e}")),
                }
            }
            None => listing.entries.push(entry(&item, None, link, &start)),
        }
    }
    listing.notes = notes;
    Ok(Read::Listing(Box::new(listing)))
}

/// One page, decoded, after robots.txt, the host limit and the pacer.
/// `None` for a 304.
pub(super) async fn get_page(
    ctx: &Context<'_>,
    source: &SourceConfig,
    url: &Url,
    validators: &Validators,
    pacer: &mut Pacer,
) -> Result<Option<(String, Url, Validators)>, SourceError> {
    let fetch = http::Fetch {
        source_name: &source.name,
        own: source.location.url(),
    };
    if !ctx.politeness.allowed(ctx.client, fetch, url).await {
        return Err(SourceError::Robots {
            source_name: source.name.clone(),
            url: url.to_string(),
        });
    }
    pacer.wait().await;
    let _permit = ctx.politeness.permit(url).await;
    match http::get(
        ctx.client,
        fetch,
        url,
        validators,
        ctx.settings.max_response_size,
    )
    .await?
    {
        http::Response::NotModified => Ok(None),
        http::Response::Body {
            bytes,
            content_type,
            validators,
            final_url,
            ..
        } => {
            let html = decode::to_utf8(&bytes, content_type.as_deref());
            // Measured before any parse: the parser is quadratic in nesting.
            let max_depth = ctx.settings.limits.max_depth;
            if extract::markup_depth(&html) > max_depth {
                return Err(SourceError::Limit {
                    source_name: source.name.clone(),
                    what: format!("the nesting of elements on {final_url}"),
                    limit: format!("{max_depth} levels (settings.max_depth)"),
                });
            }
            Ok(Some((html, final_url, validators)))
        }
    }
}

/// The site as attribution names it: its name (`og:site_name`, else the
/// listing's `<title>`) and its home page.
fn site_meta(html: &str, url: &Url) -> SourceMeta {
    let doc = Html::parse_document(html);
    let first = |css: &str, attr: Option<&str>| {
        let sel = scraper::Selector::parse(css).expect("static selector");
        doc.select(&sel).find_map(|e| match attr {
            Some(a) => e.value().attr(a).map(str::to_owned),
            None => Some(e.text().collect::<String>()),
        })
    };
    let title = first("meta[property='og:site_name']", Some("content"))
        .or_else(|| first("title", None))
        .map(|t| sanitize::plain_text(&t))
        .filter(|t| !t.is_empty());
    SourceMeta {
        title,
        site_link: url.join("/").ok(),
        feed_id: None,
        self_link: None,
    }
}

/// Items, the next page's URL, and notes about selectors that matched nothing.
fn parse_listing(
    html: &str,
    url: &Url,
    config: &ScrapeConfig,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> (Vec<Listed>, Option<Url>, Vec<String>) {
    let doc = Html::parse_document(html);
    let s = &config.select;
    let items: Vec<ElementRef<'_>> = doc.select(&s.item.css).collect();
    let mut notes = Vec::new();
    if items.is_empty() {
        notes.push(format!(
            "selector `item` ({}) matched nothing on {url}",
            s.item.source
        ));
    }
    let mut hits = [0usize; 6];
    let listed: Vec<Listed> = items
        .iter()
        .map(|&item| {
            let pick = |sel: Option<&FieldSelector>, hit: &mut usize| {
                let v = sel.and_then(|sel| {
                    sel.text_in(item)
                        .or_else(|| sel.value_of(item).filter(|_| sel.css.matches(&item)))
                });
                *hit += usize::from(v.is_some());
                v
            };
            // Without a link selector: the first link in the item (or the item itself).
            let link_text = if s.link.is_some() {
                pick(s.link.as_ref(), &mut hits[0])
            } else {
                FIRST_LINK
                    .text_in(item)
                    .or_else(|| item.value().attr("href").map(str::to_owned))
            };
            let title = pick(s.title.as_ref(), &mut hits[1]);
            Listed {
                // Only web links are items: `file:`, `javascript:` and the
                // like are neither fetched nor published.
                link: link_text
                    .and_then(|l| link::resolve(&l, Some(url)))
                    .filter(policy::is_web),
                title,
                link_text: LINK_TEXT.text_in(item),
                date: pick(s.date.as_ref(), &mut hits[2]).and_then(|d| {
                    date::parse(&d, source.timezone)
                        .or_else(|| date::find_in_text(&d, source.timezone, now))
                }),
                author: pick(s.author.as_ref(), &mut hits[3]),
                summary: pick(s.summary.as_ref(), &mut hits[4]),
                image: pick(s.image.as_ref(), &mut hits[5])
                    .and_then(|i| link::resolve(&i, Some(url))),
            }
        })
        .collect();
    if !items.is_empty() {
        let named = [
            ("link", s.link.as_ref()),
            ("title", s.title.as_ref()),
            ("date", s.date.as_ref()),
            ("author", s.author.as_ref()),
            ("summary", s.summary.as_ref()),
            ("image", s.image.as_ref()),
        ];
        for ((field, sel), hit) in named.iter().zip(hits) {
            if let Some(sel) = sel
                && hit == 0
            {
                notes.push(format!(
                    "selector `{field}` ({}) matched nothing in {} items",
                    sel.source,
                    items.len()
                ));
            }
        }
    }
    let next = s
        .next
        .as_ref()
        .and_then(|sel| {
            doc.select(&sel.css).next().and_then(|e| match &sel.attr {
                Some(attr) => e.value().attr(attr).map(str::to_owned),
                None => e.value().attr("href").map(str::to_owned),
            })
        })
        .and_then(|href| link::resolve(&href, Some(url)));
    (listed, next, notes)
}

/// One entry from a listing item and, if followed, its article page.
fn entry(item: &Listed, page: Option<extract::Extracted>, link: Url, base: &Url) -> RawEntry {
    let page = page.unwrap_or_default();
    let mut origins = Vec::new();
    let mut pick =
        |field: &'static str, listing: Option<String>, found: Option<extract::Found<String>>| {
            // Article selectors beat the listing; the listing beats automatic extraction.
            match (listing, found) {
                (_, Some(f)) if f.from.starts_with("selector") => {
                    origins.push((field, f.from));
                    Some(f.value)
                }
                (Some(v), _) => {
                    origins.push((field, "listing".to_owned()));
                    Some(v)
                }
                (None, Some(f)) => {
                    origins.push((field, f.from));
                    Some(f.value)
                }
                (None, None) => None,
            }
        };
    // The link's text is the title only when nothing better is known.
    let title = pick("title", item.title.clone(), page.title.clone());
    let title_from_link = title.is_none();
    let author = pick("author", item.author.clone(), page.author.clone());
    let summary = pick("summary", item.summary.clone(), page.summary.clone());
    let credit = pick("credit", None, page.credit.clone());
    let body = pick("body", None, page.body.clone());
    let (published, date_source) = match (&page.published, item.date) {
        (Some((f, source)), _) if *source == DateSource::Selector => {
            origins.push(("date", f.from.clone()));
            (Some(f.value.with_timezone(&Utc)), *source)
        }
        (_, Some(d)) => {
            origins.push(("date", "listing".to_owned()));
            (Some(d), DateSource::Selector)
        }
        (Some((f, source)), None) => {
            origins.push(("date", f.from.clone()));
            (Some(f.value.with_timezone(&Utc)), *source)
        }
        (None, None) => (None, DateSource::FirstSeen),
    };
    let title = if title_from_link {
        origins.push(("title", "link text".to_owned()));
        item.link_text.clone().unwrap_or_default()
    } else {
        title.unwrap_or_default()
    };
    let image = item
        .image
        .clone()
        .or_else(|| page.image.as_ref().map(|i| i.value.clone()));
    RawEntry {
        article: Article {
            guid: None,
            link: Some(link),
            title,
            summary: summary.map(|s| sanitize::escape_html(&s)),
            content: body,
            authors: author.into_iter().collect(),
            categories: Vec::new(),
            credit,
            image,
            published,
            updated: None,
            date_source,
            ..Article::default()
        },
        base: Some(base.clone()),
        origins,
        title_is_html: true,
    }
}
