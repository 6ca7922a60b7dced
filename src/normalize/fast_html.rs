//! The sanitizer's fast path: one pass over HTML that is already simple.
//!
//! Most feed bodies are a few allowlisted tags, properly nested, with quoted
//! attributes and common character references. For such input the tree the
//! HTML parser builds is exactly the tags as written, so ammonia's result
//! (allowlist, `rel` on links, relative URLs made absolute, html5ever's
//! escaping) can be written directly, without a DOM. [`clean`] says `None`
//! the moment the input leaves that subset (a tag the tree builder would
//! close, reopen or move, an unknown tag or reference, an unquoted value,
//! a script) and the caller hands the input to ammonia instead. Tests and a
//! fuzz target hold the two to the same bytes.

use url::Url;

/// How the HTML tree builder treats a tag, as far as the fast path cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Phrasing content: never closes anything when it opens.
    Inline,
    /// A block start tag: closes an open `p`, so none may be open.
    Block,
    /// `h1`-`h6`: a block that also closes a heading it opens inside.
    Heading,
    /// `ul`, `ol`: blocks that may hold `li`.
    List,
    /// `li`: closes an open `li`, so its parent must be a list.
    ListItem,
    /// `pre`: a block whose first newline the parser drops.
    Pre,
}

/// The tags the fast path handles: allowlisted ones with no tree-builder
/// special case beyond [`Kind`].
fn tag(name: &str) -> Option<(&'static str, Kind)> {
    use Kind::{Block, Heading, Inline, List, ListItem, Pre};
    Some(match name {
        "a" => ("a", Inline),
        "abbr" => ("abbr", Inline),
        "b" => ("b", Inline),
        "bdi" => ("bdi", Inline),
        "cite" => ("cite", Inline),
        "code" => ("code", Inline),
        "del" => ("del", Inline),
        "dfn" => ("dfn", Inline),
        "em" => ("em", Inline),
        "i" => ("i", Inline),
        "ins" => ("ins", Inline),
        "kbd" => ("kbd", Inline),
        "mark" => ("mark", Inline),
        "q" => ("q", Inline),
        "s" => ("s", Inline),
        "samp" => ("samp", Inline),
        "small" => ("small", Inline),
        "span" => ("span", Inline),
        "strike" => ("strike", Inline),
        "strong" => ("strong", Inline),
        "sub" => ("sub", Inline),
        "sup" => ("sup", Inline),
        "time" => ("time", Inline),
        "tt" => ("tt", Inline),
        "u" => ("u", Inline),
        "var" => ("var", Inline),
        "br" => ("br", Inline),
        "img" => ("img", Inline),
        "wbr" => ("wbr", Inline),
        "p" => ("p", Block),
        "div" => ("div", Block),
        "blockquote" => ("blockquote", Block),
        "figure" => ("figure", Block),
        "figcaption" => ("figcaption", Block),
        "article" => ("article", Block),
        "aside" => ("aside", Block),
        "header" => ("header", Block),
        "footer" => ("footer", Block),
        "nav" => ("nav", Block),
        "center" => ("center", Block),
        "hr" => ("hr", Block),
        "h1" => ("h1", Heading),
        "h2" => ("h2", Heading),
        "h3" => ("h3", Heading),
        "h4" => ("h4", Heading),
        "h5" => ("h5", Heading),
        "h6" => ("h6", Heading),
        "ul" => ("ul", List),
        "ol" => ("ol", List),
        "li" => ("li", ListItem),
        "pre" => ("pre", Pre),
        _ => return None,
    })
}

/// Whether `value` is an `http`/`https` URL that [`Url::parse`] certainly
/// accepts: a lowercase scheme, then a host of ASCII letters, digits and
/// hyphens in dot-separated labels whose last starts with a letter (so it
/// is no IPv4 address) and none is punycode, then the end or a path, query
/// or fragment, whose parsing cannot fail. Such links are most of a feed's
/// and are kept as written, so parsing them only to learn that was 4% of
/// a cold run's CPU; anything else is parsed.
fn plainly_absolute_http(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let host = &rest[..end];
    let mut labels = host.split('.').peekable();
    while let Some(label) = labels.next() {
        let well_formed = !label.is_empty()
            && !label.starts_with("xn--")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !well_formed {
            return false;
        }
        if labels.peek().is_none() && !label.as_bytes()[0].is_ascii_lowercase() {
            return false;
        }
    }
    true
}

/// Elements with no content and no end tag.
fn is_void(name: &str) -> bool {
    matches!(name, "br" | "img" | "wbr" | "hr")
}

/// ammonia's default attribute allowlist, for the tags above.
fn allowed_attribute(tag: &str, attr: &str) -> bool {
    matches!(attr, "lang" | "title")
        || matches!(
            (tag, attr),
            ("a", "href" | "hreflang")
                | ("blockquote" | "q", "cite")
                | ("del" | "ins", "cite" | "datetime")
                | ("hr", "align" | "size" | "width")
                | ("img", "align" | "alt" | "height" | "src" | "width")
                | ("ol", "start")
        )
}

/// ammonia's default URL schemes.
fn allowed_scheme(scheme: &str) -> bool {
    matches!(
        scheme,
        "bitcoin"
            | "ftp"
            | "ftps"
            | "geo"
            | "http"
            | "https"
            | "im"
            | "irc"
            | "ircs"
            | "magnet"
            | "mailto"
            | "mms"
            | "mx"
            | "news"
            | "nntp"
            | "openpgp4fpr"
            | "sip"
            | "sms"
            | "smsto"
            | "ssh"
            | "tel"
            | "url"
            | "webcal"
            | "wtai"
            | "xmpp"
    )
}

/// The named references the fast path decodes (with their `;`); any other
/// goes to the full parser, which knows all of them.
fn named_reference(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "middot" => '·',
        "bull" => '•',
        "deg" => '°',
        "times" => '×',
        "euro" => '€',
        "pound" => '£',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// A numeric reference's character, when the parser would keep it as
/// written (no replacement table, no control character).
fn numeric_reference(digits: &str, hex: bool) -> Option<char> {
    if digits.is_empty() || digits.len() > 7 {
        return None;
    }
    let value = u32::from_str_radix(digits, if hex { 16 } else { 10 }).ok()?;
    let plain = matches!(value, 0x09 | 0x0A | 0x20..=0x7E | 0xA0..=0xFDCF | 0xFDF0..=0x10_FFFF)
        && value & 0xFFFE != 0xFFFE;
    if plain { char::from_u32(value) } else { None }
}

/// Writes text or an attribute value as html5ever's serializer does,
/// copying the runs between the characters it escapes. The next byte of
/// interest is found with memchr (SIMD) rather than byte by byte: every
/// article's text passes through here.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    // The next `&`/`<`/`>`, `"` (attributes only) and 0xC2 (U+00A0 is
    // C2 A0), each found once and kept until passed.
    let next_of =
        |byte: u8, at: usize| memchr::memchr(byte, &bytes[at..]).map_or(usize::MAX, |k| at + k);
    let mut quote = if attribute {
        next_of(b'"', 0)
    } else {
        usize::MAX
    };
    let mut c2 = next_of(0xC2, 0);
    let next_markup =
        |at: usize| memchr::memchr3(b'&', b'<', b'>', &bytes[at..]).map_or(usize::MAX, |k| at + k);
    let mut markup = next_markup(0);
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if markup < i {
            markup = next_markup(i);
        }
        if quote < i {
            quote = next_of(b'"', i);
        }
        if c2 < i {
            c2 = next_of(0xC2, i);
        }
        let at = markup.min(quote).min(c2);
        if at == usize::MAX {
            break;
        }
        let (escaped, width) = match bytes[at] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            // Any other C2 sequence is copied.
            _ if bytes.get(at + 1) == Some(&0xA0) => ("&nbsp;", 2),
            _ => {
                i = at + 1;
                continue;
            }
        };
        out.push_str(&text[run..at]);
        out.push_str(escaped);
        i = at + width;
        run = i;
    }
    out.push_str(&text[run..]);
}

/// One pass over the input: the position, and the open elements.
struct Pass<'a> {
    text: &'a str,
    pos: usize,
    out: String,
    open: Vec<(&'static str, Kind)>,
    open_p: usize,
    open_headings: usize,
    open_links: usize,
}

impl<'a> Pass<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\x0C')) {
            self.pos += 1;
        }
    }

    /// Reads a character reference after `&`; `None` when the full parser
    /// should decide. A `&` that starts no reference is itself.
    fn reference(&mut self) -> Option<char> {
        let rest = &self.rest()[1..];
        let bytes = rest.as_bytes();
        if let Some(b'#') = bytes.first() {
            let hex = matches!(bytes.get(1), Some(b'x' | b'X'));
            let start = if hex { 2 } else { 1 };
            let len = bytes[start..]
                .iter()
                .take_while(|b| {
                    if hex {
                        b.is_ascii_hexdigit()
                    } else {
                        b.is_ascii_digit()
                    }
                })
                .count();
            if bytes.get(start + len) != Some(&b';') {
                return None;
            }
            let c = numeric_reference(&rest[start..start + len], hex)?;
            self.pos += 1 + start + len + 1;
            return Some(c);
        }
        let len = bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if len == 0 {
            self.pos += 1;
            return Some('&');
        }
        if bytes.get(len) != Some(&b';') {
            return None;
        }
        let c = named_reference(&rest[..len])?;
        self.pos += 1 + len + 1;
        Some(c)
    }

    /// Copies text up to the next `<`, decoding references.
    fn text_run(&mut self) -> Option<()> {
        while let Some(b) = self.peek() {
            match b {
                b'<' => return Some(()),
                b'&' => {
                    let c = self.reference()?;
                    escape_into(&mut self.out, c.encode_utf8(&mut [0; 4]), false);
                }
                _ => {
                    // memchr, not `str::find` with a char set, which
                    // decodes every character (8% of a cold run's CPU).
                    let rest = self.rest();
                    let len = memchr::memchr2(b'<', b'&', rest.as_bytes()).unwrap_or(rest.len());
                    escape_into(&mut self.out, &rest[..len], false);
                    self.pos += len;
                }
            }
        }
        Some(())
    }

    /// A tag or attribute name: ASCII letters and digits, lowercased.
    fn name(&mut self) -> Option<String> {
        let rest = self.rest();
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .count();
        if len == 0 {
            return None;
        }
        self.pos += len;
        Some(rest[..len].to_ascii_lowercase())
    }

    /// A quoted attribute value, references decoded.
    fn quoted_value(&mut self) -> Option<String> {
        let quote = self.peek().filter(|q| matches!(q, b'"' | b'\''))?;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let rest = self.rest();
            let len = memchr::memchr2(quote, b'&', rest.as_bytes()).unwrap_or(rest.len());
            value.push_str(&rest[..len]);
            self.pos += len;
            if self.peek()? == b'&' {
                value.push(self.reference()?);
            } else {
                self.pos += 1;
                return Some(value);
            }
        }
    }

    /// A start tag, from its `<`.
    fn start_tag(&mut self, base: Option<&Url>) -> Option<()> {
        self.pos += 1;
        let (name, kind) = tag(&self.name()?)?;
        let mut attributes: Vec<(String, String)> = Vec::new();
        let self_closing = loop {
            let before = self.pos;
            self.skip_whitespace();
            match self.peek()? {
                b'>' => {
                    self.pos += 1;
                    break false;
                }
                b'/' => {
                    self.pos += 1;
                    if self.peek()? != b'>' {
                        return None;
                    }
                    self.pos += 1;
                    break true;
                }
                _ if self.pos == before && !attributes.is_empty() => return None,
                _ => {}
            }
            let attr = self.name()?;
            self.skip_whitespace();
            let value = if self.peek()? == b'=' {
                self.pos += 1;
                self.skip_whitespace();
                self.quoted_value()?
            } else {
                String::new()
            };
            if attributes.iter().any(|(a, _)| *a == attr) {
                return None;
            }
            attributes.push((attr, value));
        };
        if self_closing && !is_void(name) {
            return None;
        }
        // The cases where the tree builder would not simply open the tag.
        let block = kind != Kind::Inline || name == "hr";
        if (block && self.open_p > 0)
            || (kind == Kind::Heading && self.open_headings > 0)
            || (name == "a" && self.open_links > 0)
            || (kind == Kind::ListItem && !matches!(self.open.last(), Some((_, Kind::List))))
            || (kind == Kind::Pre && self.peek() == Some(b'\n'))
        {
            return None;
        }
        self.out.push('<');
        self.out.push_str(name);
        for (attr, value) in &attributes {
            if !allowed_attribute(name, attr) {
                continue;
            }
            let is_link = matches!(attr.as_str(), "href" | "src");
            let value = if !is_link || plainly_absolute_http(value) {
                value.clone()
            } else {
                match Url::parse(value) {
                    Ok(url) if allowed_scheme(url.scheme()) => value.clone(),
                    Ok(_) => continue,
                    Err(url::ParseError::RelativeUrlWithoutBase) => match base {
                        Some(base) => base.join(value).ok()?.into(),
                        None => continue,
                    },
                    Err(_) => continue,
                }
            };
            self.out.push(' ');
            self.out.push_str(attr);
            self.out.push_str("=\"");
            escape_into(&mut self.out, &value, true);
            self.out.push('"');
        }
        if name == "a" {
            self.out.push_str(" rel=\"noopener noreferrer\"");
        }
        self.out.push('>');
        if !is_void(name) {
            self.open.push((name, kind));
            self.count(name, kind, 1);
        }
        Some(())
    }

    /// An end tag, from its `<`: it must close the element open last.
    fn end_tag(&mut self) -> Option<()> {
        self.pos += 2;
        let name = self.name()?;
        self.skip_whitespace();
        if self.peek()? != b'>' {
            return None;
        }
        self.pos += 1;
        let (open, kind) = self.open.last().copied()?;
        if open != name {
            return None;
        }
        self.open.pop();
        self.count(open, kind, -1);
        self.out.push_str("</");
        self.out.push_str(open);
        self.out.push('>');
        Some(())
    }

    fn count(&mut self, name: &str, kind: Kind, by: isize) {
        let counter = match (name, kind) {
            ("p", _) => &mut self.open_p,
            (_, Kind::Heading) => &mut self.open_headings,
            ("a", _) => &mut self.open_links,
            _ => return,
        };
        *counter = counter.saturating_add_signed(by);
    }

    /// A comment, from its `<`: dropped, as ammonia strips comments.
    fn comment(&mut self) -> Option<()> {
        let body = &self.rest()[4..];
        if body.starts_with('>') || body.starts_with("->") {
            return None;
        }
        let end = body.find("-->")?;
        if body[..end].contains("--!") || body[..end].ends_with('-') {
            return None;
        }
        self.pos += 4 + end + 3;
        Some(())
    }
}

/// ammonia's output for `input` (with the default allowlist, `rel` on links
/// and relative URLs joined to `base`, or dropped without one), when the
/// input is simple enough to write in one pass; `None` otherwise.
#[must_use]
pub fn clean(input: &str, base: Option<&Url>) -> Option<String> {
    // The parser's input stream turns CR LF and lone CRs into LF.
    let normalized;
    let text = if input.contains('\r') {
        normalized = input.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        input
    };
    if text.contains('\0') {
        return None;
    }
    let mut pass = Pass {
        text,
        pos: 0,
        out: String::with_capacity(text.len() + text.len() / 8),
        open: Vec::new(),
        open_p: 0,
        open_headings: 0,
        open_links: 0,
    };
    while pass.pos < text.len() {
        pass.text_run()?;
        if pass.pos >= text.len() {
            break;
        }
        let next = pass.rest().as_bytes().get(1).copied();
        match next {
            Some(b) if b.is_ascii_alphabetic() => pass.start_tag(base)?,
            Some(b'/') => pass.end_tag()?,
            Some(b'!') if pass.rest().starts_with("<!--") => pass.comment()?,
            // `<` before a space or a digit is text.
            Some(b) if b.is_ascii_whitespace() || b.is_ascii_digit() => {
                pass.out.push_str("&lt;");
                pass.pos += 1;
            }
            _ => return None,
        }
    }
    // Elements still open at the end are closed, as the serializer does.
    while let Some((name, _)) = pass.open.pop() {
        pass.out.push_str("</");
        pass.out.push_str(name);
        pass.out.push('>');
    }
    Some(pass.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::sanitize::{plain_text, plain_text_of_clean};

    fn ammonia(input: &str, base: Option<&Url>) -> String {
        let mut builder = ammonia::Builder::default();
        builder.url_relative(match base {
            Some(base) => ammonia::UrlRelative::RewriteWithBase(base.clone()),
            None => ammonia::UrlRelative::Deny,
        });
        builder.clean(input).to_string()
    }

    /// Inputs the fast path must write itself, byte for byte as ammonia.
    const SIMPLE: &[&str] = &[
        "<p>Hello <b>world</b> &amp; more.</p>",
        "<p>A <a href=\"/ref/1\">link</a> and <a href='https://x.example/?a=1&amp;b=2'>one</a>.</p>",
        "<p>quote \" and &quot; and &#39; and &#x2014; and &hellip; &nbsp;x\u{a0}y</p>",
        "<figure><img src=\"https://e.example/i.jpg\" alt=\"cat &amp; dog\" width=\"9\" height=\"5\" /><figcaption>Cap</figcaption></figure>",
        "<h2 title=\"t\">Heading &lt;tag&gt;</h2><ul><li>one</li><li><p>two</p><ul><li>three</li></ul></li></ul>",
        "<blockquote cite=\"x\"><p>inner</p></blockquote>text after",
        "<pre><code>let x = 1 &lt; 2;\n</code></pre>",
        "<p onclick=\"evil()\" class=\"c\" lang=\"en\">attrs</p>",
        "<a href=\"javascript:alert(1)\" rel=\"x\">bad</a><a href=\"mailto:a@b.example\">mail</a>",
        "<p>open at the end <em>still",
        "a < b and 3<4 > 2 <!-- a comment --> done",
        "<p>line\r\nbreaks\rhere</p>",
        "<div><span lang=\"fr\">Zürich café</span><br><br/><hr></div>",
        "<ol start=\"3\"><li>x</li></ol><P>upper</P><IMG SRC=\"/a.png\">",
        "<img src=\"//cdn.example/x.png\"><img src=\"data:x\"><img src=\"http://[bad\">",
        "plain & simple, 50% off",
    ];

    /// Inputs the fast path must hand to ammonia.
    const NOT_SIMPLE: &[&str] = &[
        "<p>one<p>two",
        "<p><div>block in p</div></p>",
        "<b><i>misnested</b></i>",
        "<script>alert(1)</script>",
        "<table><tr><td>x</td></tr></table>",
        "<a href=x>unquoted</a>",
        "<li>no list</li>",
        "<a href=\"/a\"><a href=\"/b\">nested</a></a>",
        "AT&T",
        "&#128; &#0; &#xD800;",
        "<pre>\nfirst newline</pre>",
        "<p/>",
        "</p>",
        "<!DOCTYPE html>",
        "<h1><h2>x</h2></h1>",
        "<section>unknown</section>",
        "<p a=\"1\"b=\"2\">",
        "<p a=\"1\" a=\"2\">",
        "&unknownentity;",
        "legacy &copy 2026",
    ];

    #[test]
    fn links_kept_unparsed_are_ones_the_url_parser_accepts_as_written() {
        let plain = [
            "https://example.org/",
            "http://a-b.example/x y?q=<1>#frag",
            "https://site12.example",
            "https://x.example?q",
        ];
        for link in plain {
            assert!(plainly_absolute_http(link), "{link}");
            let url = Url::parse(link).unwrap();
            assert!(matches!(url.scheme(), "http" | "https"), "{link}");
        }
        let parsed = [
            "HTTPS://example.org/",
            "https://Example.org/",
            "https://127.0.0.1/",
            "https://1.2.3/",
            "https://a..b/",
            "https:///x",
            "https://xn--zz.example/",
            "https://user@example.org/",
            "https://example.org:8080/",
            " https://example.org/",
            "https://exämple.org/",
            "javascript:alert(1)",
            "/relative",
        ];
        for link in parsed {
            assert!(!plainly_absolute_http(link), "{link}");
        }
    }

    #[test]
    fn simple_html_comes_out_as_ammonia_writes_it() {
        let base = Url::parse("https://example.org/blog/post/").unwrap();
        for base in [Some(&base), None] {
            for input in SIMPLE {
                let fast = clean(input, base).unwrap_or_else(|| panic!("not simple: {input}"));
                assert_eq!(fast, ammonia(input, base), "{input}");
            }
        }
    }

    #[test]
    fn anything_else_goes_to_ammonia() {
        for input in NOT_SIMPLE {
            assert_eq!(clean(input, None), None, "{input}");
        }
    }

    /// Whatever the fast path accepts it writes as ammonia does, on every
    /// prefix and suffix of the inputs above (cut tags, cut references).
    #[test]
    fn every_cut_agrees_with_ammonia() {
        let base = Url::parse("https://example.org/").unwrap();
        for input in SIMPLE.iter().chain(NOT_SIMPLE) {
            for (i, _) in input.char_indices() {
                for piece in [&input[..i], &input[i..]] {
                    if let Some(fast) = clean(piece, Some(&base)) {
                        assert_eq!(fast, ammonia(piece, Some(&base)), "{piece:?}");
                    }
                }
            }
        }
    }

    /// Every summary and body in the public feed corpus (`../shared/corpus`,
    /// skipped when absent): where the fast path answers, it answers as
    /// ammonia does; and the text of ammonia's result read without a parser
    /// is the parser's.
    #[test]
    fn the_feed_corpus_agrees_with_ammonia() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/feeds");
        if !dir.is_dir() {
            eprintln!("skipping the sanitizer differential: ../shared/corpus/feeds is absent");
            return;
        }
        let base = Url::parse("https://example.org/a/b.html").unwrap();
        let (mut fragments, mut fast) = (0, 0);
        let mut mismatches = Vec::new();
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                let Ok(feed) =
                    crate::source::feedparser::read(&text, &crate::config::Limits::default())
                else {
                    continue;
                };
                let bodies = feed.entries.iter().flat_map(|e| {
                    e.summary
                        .iter()
                        .cloned()
                        .chain(e.content.iter().map(|c| c.value.clone()))
                });
                for body in bodies {
                    let body = super::super::sanitize::xml_safe(&body);
                    fragments += 1;
                    let full = ammonia(&body, Some(&base));
                    let sanitized = full.trim();
                    if plain_text_of_clean(sanitized) != plain_text(sanitized) {
                        mismatches.push((path.clone(), format!("text of {sanitized}")));
                    }
                    if let Some(out) = clean(&body, Some(&base)) {
                        fast += 1;
                        if out != full {
                            mismatches.push((path.clone(), body));
                        }
                    }
                }
            }
        }
        eprintln!("sanitizer fast path: {fast} of {fragments} corpus fragments");
        assert!(
            mismatches.is_empty(),
            "{} differ, first: {:?}",
            mismatches.len(),
            mismatches.first()
        );
    }
}
