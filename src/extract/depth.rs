//! Limits on how deeply a page nests, so that one hostile page cannot cost
//! minutes of CPU.
//!
//! html5ever nests elements as deep as the markup says, and both our own
//! line checks and readability scoring walk ancestors or descendants per
//! element: a page of 20,000 nested `<div>`s took 100 s to extract. The
//! parser itself is quadratic there too (each block start tag scans its
//! stack of open elements), so a fetched page is measured before it is
//! parsed ([`markup_depth`]) and refused past `settings.max_depth`; what is
//! parsed anyway is capped ([`cap`]). Browsers cap the tree the same way
//! (Blink stops nesting at 512), so no real page loses anything a reader
//! would see.

use std::cell::{Cell, RefCell};

use ego_tree::iter::Edge;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{LocalName, local_name};
use scraper::node::Text;
use scraper::{ElementRef, Html, Node};

/// Deepest element kept as an element; what is below becomes its text.
pub(super) const MAX_DEPTH: usize = 512;

/// Replaces everything below depth [`MAX_DEPTH`] with its text, one text
/// node per element at that depth, in one pass over the tree. Returns
/// whether anything was replaced (the page's source no longer matches
/// `doc`, so later passes must read `doc.html()`).
///
/// A capped page is parsed again from its own serialization: `Html::select`
/// walks every node the tree ever held, detached ones too, so the cut-off
/// elements would still be matched (and their text read) one by one.
pub(super) fn cap(doc: &mut Html) -> bool {
    let mut depth = 0usize;
    let mut at_cap = Vec::new();
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) if node.value().is_element() => {
                depth += 1;
                if depth == MAX_DEPTH && node.has_children() {
                    at_cap.push(node.id());
                }
            }
            Edge::Close(node) if node.value().is_element() => depth -= 1,
            _ => {}
        }
    }
    for &id in &at_cap {
        let Some(element) = doc.tree.get(id).and_then(ElementRef::wrap) else {
            continue;
        };
        let text: String = element.text().collect();
        let Some(mut node) = doc.tree.get_mut(id) else {
            continue;
        };
        while let Some(mut child) = node.first_child() {
            child.detach();
        }
        node.append(Node::Text(Text { text: text.into() }));
    }
    if at_cap.is_empty() {
        return false;
    }
    *doc = Html::parse_document(&doc.html());
    true
}

/// How deeply the page's markup nests its elements, read with the HTML
/// tokenizer alone (linear time, no tree): void elements, `/>` inside SVG
/// and MathML, and the tags HTML closes by themselves (`<p>`, `<li>`,
/// `<td>`...) do not nest, and an end tag closes up to its own start tag
/// when that is among the nearest 32 open ones. Close to the
/// depth of the tree a parser builds, and never far below it for the
/// markup that makes parsing slow: nested containers left open.
#[must_use]
pub fn markup_depth(html: &str) -> usize {
    let counter = DepthCounter::default();
    let tokenizer = Tokenizer::new(counter, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.deepest.get()
}

/// How far below the top of the open elements an end tag looks for its
/// start tag; past that it is ignored, as a stray end tag is. Bounded so
/// that the count stays linear on hostile markup.
const END_TAG_REACH: usize = 32;

#[derive(Default)]
struct DepthCounter {
    open: RefCell<Vec<LocalName>>,
    /// Open `svg` and `math` elements, where `/>` closes an element.
    foreign: Cell<usize>,
    deepest: Cell<usize>,
}

impl TokenSink for DepthCounter {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        let mut open = self.open.borrow_mut();
        let name = tag.name;
        match tag.kind {
            TagKind::StartTag => {
                if is_void(&name) || (tag.self_closing && self.foreign.get() > 0) {
                    return TokenSinkResult::Continue;
                }
                let group = closes_itself(&name);
                if group.is_some() {
                    while open.last().is_some_and(|top| closes_itself(top) == group) {
                        open.pop();
                    }
                } else if open.last() == Some(&local_name!("p")) && starts_block(&name) {
                    open.pop();
                }
                if matches!(name, local_name!("svg") | local_name!("math")) {
                    self.foreign.set(self.foreign.get() + 1);
                }
                let raw = raw_text(&name);
                open.push(name);
                self.deepest.set(self.deepest.get().max(open.len()));
                if let Some(kind) = raw {
                    // Its text is not markup; its end tag closes it.
                    open.pop();
                    return kind;
                }
            }
            TagKind::EndTag => {
                let reach = open.len().saturating_sub(END_TAG_REACH);
                if let Some(at) = open[reach..].iter().rposition(|n| *n == name) {
                    let closed = open.split_off(reach + at);
                    let foreign = closed
                        .iter()
                        .filter(|n| matches!(**n, local_name!("svg") | local_name!("math")))
                        .count();
                    self.foreign.set(self.foreign.get().saturating_sub(foreign));
                }
            }
        }
        TokenSinkResult::Continue
    }
}

fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
            | local_name!("keygen")
    )
}

/// Elements that a start tag of their own group closes (`<li>` after an
/// open `<li>`), as a group number.
fn closes_itself(name: &LocalName) -> Option<u8> {
    Some(match *name {
        local_name!("p") => 0,
        local_name!("li") => 1,
        local_name!("dt") | local_name!("dd") => 2,
        local_name!("option") | local_name!("optgroup") => 3,
        local_name!("tr") => 4,
        local_name!("td") | local_name!("th") => 5,
        local_name!("thead") | local_name!("tbody") | local_name!("tfoot") => 6,
        local_name!("rb") | local_name!("rt") | local_name!("rp") | local_name!("rtc") => 7,
        _ => return None,
    })
}

/// Start tags that close an open `<p>`.
fn starts_block(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("address")
            | local_name!("article")
            | local_name!("aside")
            | local_name!("blockquote")
            | local_name!("details")
            | local_name!("div")
            | local_name!("dl")
            | local_name!("fieldset")
            | local_name!("figcaption")
            | local_name!("figure")
            | local_name!("footer")
            | local_name!("form")
            | local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
            | local_name!("header")
            | local_name!("main")
            | local_name!("nav")
            | local_name!("ol")
            | local_name!("pre")
            | local_name!("section")
            | local_name!("table")
            | local_name!("ul")
    )
}

/// The tokenizer state for elements whose content is text, not markup.
fn raw_text(name: &LocalName) -> Option<TokenSinkResult<()>> {
    Some(match *name {
        local_name!("script") => TokenSinkResult::RawData(RawKind::ScriptData),
        local_name!("style")
        | local_name!("xmp")
        | local_name!("iframe")
        | local_name!("noembed")
        | local_name!("noframes")
        | local_name!("noscript") => TokenSinkResult::RawData(RawKind::Rawtext),
        local_name!("title") | local_name!("textarea") => TokenSinkResult::RawData(RawKind::Rcdata),
        local_name!("plaintext") => TokenSinkResult::Plaintext,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    fn nested(tag: &str, n: usize, inner: &str) -> String {
        format!(
            "<html><body>{}{inner}{}</body></html>",
            format!("<{tag}>").repeat(n),
            format!("</{tag}>").repeat(n)
        )
    }

    fn max_depth(doc: &Html) -> usize {
        let (mut depth, mut deepest) = (0usize, 0usize);
        for edge in doc.tree.root().traverse() {
            match edge {
                Edge::Open(n) if n.value().is_element() => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                Edge::Close(n) if n.value().is_element() => depth -= 1,
                _ => {}
            }
        }
        deepest
    }

    #[test]
    fn a_shallow_page_is_left_alone() {
        let page = nested("div", 40, "<p>Plain <b>words</b></p>");
        let mut doc = Html::parse_document(&page);
        let before = doc.html();
        assert!(!cap(&mut doc));
        assert_eq!(doc.html(), before);
    }

    #[test]
    fn a_deep_page_keeps_its_text_at_the_cap() {
        let page = nested("div", 3000, "deep <i>words</i> here");
        let mut doc = Html::parse_document(&page);
        assert!(max_depth(&doc) > 3000);
        assert!(cap(&mut doc));
        assert_eq!(max_depth(&doc), MAX_DEPTH);
        let text: String = doc.root_element().text().collect();
        assert_eq!(text, "deep words here");
        let divs = Selector::parse("div").unwrap();
        assert_eq!(doc.select(&divs).count(), MAX_DEPTH - 2);
    }
}
