//! What is done to a feed's text before a parser sees it, and what is read
//! from it on the side.
//!
//! [`entities`]: a document may declare its own entities in an internal
//! DTD subset; XML parsers here resolve only the five predefined ones, which
//! would publish `&who;` as text. Internal entities are expanded (within a
//! budget, so "billion laughs" fails the source instead of the machine),
//! external ones fail the source (they are never read), HTML named entities
//! of the RSS 0.91 DTD (`&eacute;`, `&nbsp;`) become character references,
//! and the DOCTYPE is dropped.
//!
//! [`scan`]: one tokenizing pass that refuses documents nested too deep
//! (parsers recurse) and notes, per item or entry in document order, what
//! the parsers do not hand out: the `xml:base` in force on it and on its
//! content, and an `atom:link` inside an RSS item.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use quick_xml::events::{BytesStart, Event};
use url::Url;

/// The most bytes entity expansion may add to a document.
const MAX_EXPANSION: usize = 1024 * 1024;

/// How deep entity definitions may refer to each other.
const MAX_ENTITY_DEPTH: usize = 16;

/// One declared entity.
enum Declared {
    Internal(String),
    External(String),
}

/// The document with its own entities expanded and its DOCTYPE removed.
///
/// # Errors
/// When the document uses an external entity, or its entities expand past
/// the budget.
pub fn entities(text: &str) -> Result<Cow<'_, str>, String> {
    let doctype = find_doctype(text);
    let declared = doctype
        .as_ref()
        .map(|&(start, end)| declarations(&text[start..end]))
        .unwrap_or_default();
    if doctype.is_none() && !has_named_reference(text) {
        return Ok(Cow::Borrowed(text));
    }
    let (head, body) = match doctype {
        Some((start, end)) => (&text[..start], &text[end..]),
        None => ("", text),
    };
    let mut memo: HashMap<String, String> = HashMap::new();
    let mut budget = MAX_EXPANSION;
    let mut out = String::with_capacity(text.len());
    out.push_str(head);
    let mut rest = body;
    // memchr, not `str::find` with a char set, which decodes every
    // character of the document.
    while let Some(at) = memchr::memchr2(b'&', b'<', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Character data in CDATA sections and comments is not markup.
        for (open, close) in [("<![CDATA[", "]]>"), ("<!--", "-->")] {
            if rest.starts_with(open) {
                let end = rest.find(close).map_or(rest.len(), |n| n + close.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
        }
        if rest.starts_with('<') {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        if !rest.starts_with('&') {
            continue;
        }
        let name_len = reference_name(&rest[1..]);
        let Some(name) = name_len.map(|n| &rest[1..=n]) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let whole = name.len() + 2;
        if predefined(name) {
            out.push_str(&rest[..whole]);
        } else if declared.contains_key(name) {
            let value = expand(name, &declared, &mut memo, &mut budget, 0)?;
            out.push_str(&value);
        } else if let Some(c) = html_entity(name) {
            let _ = write!(out, "&#{};", u32::from(c));
        } else {
            out.push_str(&rest[..whole]);
        }
        rest = &rest[whole..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The five entities every XML parser knows.
fn predefined(name: &str) -> bool {
    matches!(name, "lt" | "gt" | "amp" | "quot" | "apos")
}

/// Whether `text` holds a named reference other than the five predefined.
fn has_named_reference(text: &str) -> bool {
    text.match_indices('&').any(|(at, _)| {
        reference_name(&text[at + 1..]).is_some_and(|n| {
            !matches!(
                &text[at + 1..=at + n],
                "lt" | "gt" | "amp" | "quot" | "apos"
            )
        })
    })
}

/// The length of the entity name at the start of `s` when it is followed by `;`.
fn reference_name(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let len = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
        .unwrap_or(s.len());
    (len <= 64 && s[len..].starts_with(';')).then_some(len)
}

/// One HTML named entity as its character (`eacute` → é).
fn html_entity(name: &str) -> Option<char> {
    let reference = format!("&{name};");
    let decoded = html_escape::decode_html_entities(&reference);
    let mut chars = decoded.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if decoded != reference => Some(c),
        _ => None,
    }
}

/// The byte range of the `<!DOCTYPE …>` declaration before the root, if any.
fn find_doctype(text: &str) -> Option<(usize, usize)> {
    // Only the prolog can hold it: walk its markup (declarations,
    // processing instructions, comments) up to the root element, instead
    // of searching the whole document for a DOCTYPE it almost never has.
    let mut at = 0;
    let start = loop {
        let i = at + memchr::memchr(b'<', &text.as_bytes()[at..])?;
        let rest = &text[i..];
        if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
            break i;
        }
        if !(rest.starts_with("<?") || rest.starts_with("<!")) || i > 64 * 1024 {
            // The root element (or a prolog too long to be one): none.
            return None;
        }
        at = i + 2;
    };
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text[start..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '>') if depth == 0 => return Some((start, start + i + 1)),
            _ => {}
        }
    }
    None
}

/// The general entities a DOCTYPE declares (parameter entities are skipped).
fn declarations(doctype: &str) -> HashMap<String, Declared> {
    static DECL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"<!ENTITY\s+([A-Za-z_][\w.:-]*)\s+(?:"([^"]*)"|'([^']*)'|((?:SYSTEM|PUBLIC)\s[^>]*))\s*>"#,
        )
        .expect("static regex")
    });
    DECL.captures_iter(doctype)
        .map(|c| {
            let name = c[1].to_owned();
            let declared = match (c.get(2).or(c.get(3)), c.get(4)) {
                (Some(v), _) => Declared::Internal(v.as_str().to_owned()),
                (None, Some(ext)) => Declared::External(ext.as_str().trim().to_owned()),
                (None, None) => Declared::Internal(String::new()),
            };
            (name, declared)
        })
        .collect()
}

fn expand(
    name: &str,
    declared: &HashMap<String, Declared>,
    memo: &mut HashMap<String, String>,
    budget: &mut usize,
    depth: usize,
) -> Result<String, String> {
    if let Some(done) = memo.get(name) {
        *budget = budget.checked_sub(done.len()).ok_or_else(too_big)?;
        return Ok(done.clone());
    }
    if depth > MAX_ENTITY_DEPTH {
        return Err(format!(
            "its entity `{name}` refers to itself or nests deeper than {MAX_ENTITY_DEPTH} levels"
        ));
    }
    let value = match declared.get(name) {
        Some(Declared::External(target)) => {
            return Err(format!(
                "it uses the external entity `{name}` ({target}); feedloom never reads external entities"
            ));
        }
        Some(Declared::Internal(v)) => v.clone(),
        None => return Ok(format!("&{name};")),
    };
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(n) = reference_name(&rest[1..]) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let inner = &rest[1..=n];
        if predefined(inner) {
            out.push_str(&rest[..n + 2]);
        } else if declared.contains_key(inner) {
            out.push_str(&expand(inner, declared, memo, budget, depth + 1)?);
        } else if let Some(c) = html_entity(inner) {
            let _ = write!(out, "&#{};", u32::from(c));
        } else {
            out.push_str(&rest[..n + 2]);
        }
        rest = &rest[n + 2..];
        if out.len() > MAX_EXPANSION {
            return Err(too_big());
        }
    }
    out.push_str(rest);
    *budget = budget.checked_sub(out.len()).ok_or_else(too_big)?;
    memo.insert(name.to_owned(), out.clone());
    Ok(out)
}

fn too_big() -> String {
    format!(
        "its entities expand to more than {} KiB (an entity expansion attack?)",
        MAX_EXPANSION / 1024
    )
}

/// What [`scan`] noticed about one item or entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// The `xml:base` in force on the item, resolved, when any element on
    /// the way (root, channel, item) set one.
    pub base: Option<Url>,
    /// The `xml:base` set on the item's description, summary or content.
    pub content_base: Option<Url>,
    /// An `atom:link` (alternate or unlabelled) inside an RSS item.
    pub atom_link: Option<String>,
    /// The item's own link as written: an RSS `<link>`'s text, an Atom
    /// entry's alternate `<link href>`. feedparser-rs blanks links to
    /// loopback, private and `.local`-style hosts (its SSRF guard, made for
    /// fetching); feedloom only publishes them, so an intranet feed keeps
    /// its links.
    pub raw_link: Option<String>,
    /// The HTML of an `<xhtml:body>` or `<fullitem>` inside an RSS item:
    /// bodies some publishers use instead of `content:encoded`.
    pub body: Option<String>,
    /// `atom:title`, `atom:summary`, `atom:content`, `atom:published` and
    /// `atom:updated` inside an RSS item, as their text (HTML where the
    /// element holds markup): fallbacks where RSS's own are missing.
    pub atom: AtomFallbacks,
}

/// Atom elements inside an RSS item; see [`Hints::atom`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AtomFallbacks {
    /// `atom:title`, as text.
    pub title: Option<String>,
    /// `atom:summary`, as HTML.
    pub summary: Option<String>,
    /// `atom:content`, as HTML.
    pub content: Option<String>,
    /// `atom:published`, as written.
    pub published: Option<String>,
    /// `atom:updated`, as written.
    pub updated: Option<String>,
}

/// What one pass over the document found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Per `<item>` / `<entry>`, in document order.
    pub entries: Vec<Hints>,
    /// The `xml:base` set on the root or the RSS `<channel>`: the base of
    /// the feed's own links.
    pub feed_base: Option<Url>,
}

/// Tokenizes the document once: refuses nesting deeper than `max_depth`,
/// and collects [`Hints`] for each item or entry. `location` is the
/// document's own URL, the base of a relative `xml:base`.
///
/// # Errors
/// When the document nests deeper than `max_depth`.
pub fn scan(text: &str, location: &Url, max_depth: usize) -> Result<Scan, String> {
    scan_skipping(text, location, max_depth, LONG_TEXT)
}

/// [`scan`], reading on from the end tag past text runs of `long_text`
/// bytes or more (`usize::MAX`: never, for the differential test).
fn scan_skipping(
    text: &str,
    location: &Url,
    max_depth: usize,
    long_text: usize,
) -> Result<Scan, String> {
    let mut found = Scan::default();
    if !text.trim_start().starts_with('<') {
        return Ok(found);
    }
    let mut reader = reader_at(text);
    // Where `reader`'s input starts in `text`: it is started again past
    // long runs of text (see `text_run_end`).
    let mut offset = 0usize;
    // Per open element: the base in force, whether it set one, and whether
    // it is an item or entry (and so which hints it fills).
    let mut stack: Vec<(Option<Url>, bool)> = Vec::new();
    let mut open_entry: Option<usize> = None;
    let mut in_rss_item = false;
    let mut entry_depth = 0usize;
    loop {
        let event = reader.read_event();
        // A reader started again (see `text_run_end`) has not seen the
        // elements still open, and calls their end tags unmatched.
        let restarted_end = offset > 0
            && !stack.is_empty()
            && matches!(
                event,
                Err(quick_xml::Error::IllFormed(
                    quick_xml::errors::IllFormedError::UnmatchedEndTag(_)
                ))
            );
        if restarted_end || matches!(event, Ok(Event::End(_))) {
            if stack.pop().is_some() && open_entry.is_some() && stack.len() < entry_depth {
                open_entry = None;
            }
            continue;
        }
        let (start, empty) = match event {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            // Malformed XML is for the parsers (and their repairs) to judge.
            Ok(Event::Eof) | Err(_) => return Ok(found),
            Ok(_) => continue,
        };
        if stack.len() >= max_depth {
            return Err(format!(
                "it nests elements deeper than the limit of {max_depth} (settings.max_depth)"
            ));
        }
        let parent = stack.last().and_then(|(b, _)| b.clone());
        // Most elements have no xml:base: look at the tag's bytes before
        // parsing its attributes (measured: 1.4% of a cold run's CPU).
        let explicit = memchr::memmem::find(start.as_bytes(), b"xml:base")
            .and_then(|_| attribute(&start, "xml:base"))
            .and_then(|b| parent.as_ref().unwrap_or(location).join(b.trim()).ok());
        let set_here = explicit.is_some();
        if set_here && open_entry.is_none() && stack.len() <= 1 {
            found.feed_base.clone_from(&explicit);
        }
        let inherited_explicit = stack.iter().any(|(_, set)| *set);
        let base = explicit.or(parent);
        let name = start.name();
        let local = name.local_name();
        let local = local.as_ref();
        let prefixed_atom = name.prefix().is_some_and(|p| p.as_ref() == "atom");
        if open_entry.is_none() && (local == "item" || local == "entry") {
            found.entries.push(Hints {
                base: base.clone().filter(|_| set_here || inherited_explicit),
                ..Hints::default()
            });
            open_entry = Some(found.entries.len() - 1);
            entry_depth = stack.len() + 1;
            in_rss_item = local == "item";
        } else if let Some(index) = open_entry {
            let hints = &mut found.entries[index];
            if set_here && matches!(local, "description" | "summary" | "content" | "encoded") {
                hints.content_base.clone_from(&base);
            }
            if !empty && hints.body.is_none() && matches!(local, "body" | "fullitem") {
                // xhtml:body holds markup; fullitem holds escaped HTML.
                hints.body = inner_xml(&mut reader, &start, text, offset).map(|x| {
                    if local == "body" {
                        x.to_owned()
                    } else {
                        atom_text(x, "html")
                    }
                });
                continue;
            }
            let fallback_slot = match local {
                "title" => Some(&mut hints.atom.title),
                "summary" => Some(&mut hints.atom.summary),
                "content" => Some(&mut hints.atom.content),
                "published" => Some(&mut hints.atom.published),
                "updated" => Some(&mut hints.atom.updated),
                _ => None,
            };
            if prefixed_atom
                && in_rss_item
                && !empty
                && let Some(slot) = fallback_slot.filter(|slot| slot.is_none())
            {
                let kind = attribute(&start, "type").unwrap_or_default();
                *slot = inner_xml(&mut reader, &start, text, offset).map(|x| atom_text(x, &kind));
                continue;
            }
            if prefixed_atom && local == "link" && hints.atom_link.is_none() {
                let rel = attribute(&start, "rel");
                if rel.as_deref().is_none_or(|r| r == "alternate") {
                    hints.atom_link = attribute(&start, "href");
                }
            }
            if name.prefix().is_none()
                && local == "link"
                && stack.len() == entry_depth
                && hints.raw_link.is_none()
            {
                if in_rss_item && !empty {
                    hints.raw_link = inner_xml(&mut reader, &start, text, offset)
                        .map(|x| atom_text(x, "text").trim().to_owned())
                        .filter(|l| !l.is_empty());
                    continue;
                }
                let rel = attribute(&start, "rel");
                if !in_rss_item && rel.as_deref().is_none_or(|r| r == "alternate") {
                    hints.raw_link = attribute(&start, "href");
                }
            }
        }
        if empty {
            if open_entry.is_some() && stack.len() + 1 == entry_depth {
                open_entry = None;
            }
        } else {
            stack.push((base, set_here));
            // An item's description or content is mostly escaped HTML,
            // which the reader would split at every `&lt;` and check as
            // UTF-8 piece by piece (4% of a cold run's CPU): nothing in it
            // is needed here, so read on from its end tag.
            let here = offset + usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            if let Some(end) = text_run_end(text, here).filter(|end| end - here >= long_text) {
                reader = reader_at(&text[end..]);
                offset = end;
            }
        }
    }
}

/// Text shorter than this is read through: starting a reader costs more.
const LONG_TEXT: usize = 256;

fn reader_at(text: &str) -> quick_xml::Reader<&[u8]> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    reader
}

/// Where the next end tag starts, when only text (references and CDATA
/// sections included) comes before it from `from`; `None` when an element,
/// a comment or an instruction comes first, or a CDATA section never ends.
fn text_run_end(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        at += memchr::memchr(b'<', bytes.get(at..)?)?;
        let rest = &bytes[at..];
        if rest.starts_with(b"</") {
            return Some(at);
        }
        if !rest.starts_with(b"<![CDATA[") {
            return None;
        }
        at += memchr::memmem::find(rest, b"]]>")? + 3;
    }
}

/// The XML between `start` and its end tag, as written; the reader (whose
/// input starts at `offset` in `text`) moves past the end tag.
fn inner_xml<'t>(
    reader: &mut quick_xml::Reader<&[u8]>,
    start: &BytesStart<'_>,
    text: &'t str,
    offset: usize,
) -> Option<&'t str> {
    let end = start.name().as_ref().to_owned();
    let span = reader.read_to_end(quick_xml::name::QName(&end)).ok()?;
    let at = |p: u64| usize::try_from(p).ok().map(|p| p + offset);
    text.get(at(span.start)?..at(span.end)?)
}

/// An Atom text construct's inner XML as a string: XHTML and escaped HTML
/// become HTML, plain text stays text (escaped for HTML fields).
fn atom_text(inner: &str, kind: &str) -> String {
    let unescaped =
        || quick_xml::escape::unescape(inner).map_or_else(|_| inner.to_owned(), Cow::into_owned);
    if kind == "xhtml" {
        inner.trim().to_owned()
    } else if inner.trim_start().starts_with("<![CDATA[") {
        inner
            .trim()
            .trim_start_matches("<![CDATA[")
            .trim_end_matches("]]>")
            .to_owned()
    } else {
        unescaped()
    }
}

fn attribute(start: &BytesStart<'_>, key: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(Cow::into_owned)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_entities_expand_and_external_ones_fail() {
        let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY who \"The Editors\"><!ENTITY both \"&who; &amp; friends\">]>\n<rss><t>By &who;, &both; &eacute;&nbsp;&lt;x&gt; <![CDATA[&who;]]></t></rss>";
        let out = entities(doc).unwrap();
        assert_eq!(
            out,
            "<?xml version=\"1.0\"?>\n\n<rss><t>By The Editors, The Editors &amp; friends &#233;&#160;&lt;x&gt; <![CDATA[&who;]]></t></rss>"
        );
        let xxe =
            "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><rss><t>&xxe;</t></rss>";
        assert!(entities(xxe).unwrap_err().contains("external entity `xxe`"));
        let laughs = format!(
            "<!DOCTYPE r [<!ENTITY a \"{}\"><!ENTITY b \"{}\"><!ENTITY c \"{}\"><!ENTITY d \"{}\">]><r>&d;</r>",
            "x".repeat(100),
            "&a;".repeat(100),
            "&b;".repeat(100),
            "&c;".repeat(100)
        );
        assert!(entities(&laughs).unwrap_err().contains("expand"));
        let looped = "<!DOCTYPE r [<!ENTITY a \"&b;\"><!ENTITY b \"&a;\">]><r>&a;</r>";
        assert!(entities(looped).is_err());
        assert!(matches!(
            entities("<rss><t>a &amp; b</t></rss>"),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn long_text_is_read_past_without_changing_the_scan() {
        let long = "&lt;p&gt;Words &amp; more words.&lt;/p&gt;".repeat(20);
        let doc = format!(
            r#"<rss xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<item><description>{long}<![CDATA[<b>a </description> inside CDATA</b>]]>{long}</description><atom:link href="http://s.example/one"/><link>one</link></item>
<item xml:base="http://b.example/"><description>{long}</description><link>two</link><atom:title>{long}</atom:title></item>
<item><description>{long}<x xml:base="http://c.example/">y</x></description><atom:link href="http://s.example/three"/></item>
</channel></rss>"#
        );
        let loc = Url::parse("http://feed.example/feed.xml").unwrap();
        let skipped = scan(&doc, &loc, 512).unwrap();
        assert_eq!(skipped, scan_skipping(&doc, &loc, 512, usize::MAX).unwrap());
        assert_eq!(skipped.entries.len(), 3);
        assert_eq!(
            skipped.entries[0].atom_link.as_deref(),
            Some("http://s.example/one")
        );
        assert_eq!(skipped.entries[1].raw_link.as_deref(), Some("two"));
        assert!(
            skipped.entries[1]
                .atom
                .title
                .as_deref()
                .unwrap()
                .starts_with("<p>Words")
        );
        assert_eq!(
            skipped.entries[2].atom_link.as_deref(),
            Some("http://s.example/three")
        );
    }

    /// Every feed of the public corpus scans the same with and without
    /// reading past long text.
    #[test]
    fn skipping_text_matches_reading_it_on_the_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/feeds");
        let Ok(listing) = std::fs::read_dir(&dir) else {
            eprintln!("skipping: {} is absent", dir.display());
            return;
        };
        let loc = Url::parse("http://feed.example/feed.xml").unwrap();
        let mut compared = 0;
        let mut stack: Vec<std::path::PathBuf> = listing.flatten().map(|e| e.path()).collect();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(
                    std::fs::read_dir(&path)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path()),
                );
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = crate::source::decode::to_utf8(&bytes, None);
            let fast = scan_skipping(&text, &loc, 512, 16);
            let slow = scan_skipping(&text, &loc, 512, usize::MAX);
            assert_eq!(fast, slow, "{}", path.display());
            compared += 1;
        }
        assert!(compared > 1000, "only {compared} feeds compared");
    }

    #[test]
    fn bases_and_atom_links_are_noted_per_item() {
        let doc = r#"<rss xmlns:atom="http://www.w3.org/2005/Atom"><channel><link>http://s.example/</link>
<item xml:base="http://a.example/x/"><link>one</link><description xml:base="http://d.example/">d</description></item>
<item><atom:link href="http://s.example/two"/><description>no base</description></item>
<item/>
</channel></rss>"#;
        let loc = Url::parse("http://feed.example/feed.xml").unwrap();
        let found = scan(doc, &loc, 512).unwrap();
        assert_eq!(found.entries.len(), 3);
        assert_eq!(
            found.entries[0].base.as_ref().unwrap().as_str(),
            "http://a.example/x/"
        );
        assert_eq!(
            found.entries[0].content_base.as_ref().unwrap().as_str(),
            "http://d.example/"
        );
        assert_eq!(found.entries[1].base, None);
        assert_eq!(
            found.entries[1].atom_link.as_deref(),
            Some("http://s.example/two")
        );
        let deep = format!("<r>{}{}</r>", "<x>".repeat(600), "</x>".repeat(600));
        assert!(scan(&deep, &loc, 512).unwrap_err().contains("max_depth"));
    }
}
