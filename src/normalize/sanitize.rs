//! Text and HTML made safe to publish: titles become plain text, summaries
//! and bodies pass an allowlist (ammonia) with relative URLs made absolute,
//! and characters XML 1.0 forbids are dropped so every output stays
//! well-formed whatever came in.

use ammonia::{Builder, UrlRelative};
use scraper::Html;
use url::Url;

/// Whether XML 1.0 allows the character in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Drops characters that XML 1.0 forbids (control characters, U+FFFE/FFFF)
/// and the C1 controls (U+0080–U+009F, mislabelled windows-1252, which
/// feed validators flag and readers show as boxes).
#[must_use]
pub fn xml_safe(text: &str) -> String {
    xml_safe_cow(text).into_owned()
}

/// The first byte that may start a character XML forbids (below 0x20, or
/// 0xC2 / 0xEF), eight bytes at a time: whole articles go through here, and
/// a byte-by-byte test was 2.5% of a cold run's CPU.
fn candidate_at(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let byte_test = |b: u8| b < 0x20 || b == 0xC2 || b == 0xEF;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // Standard SWAR tests: some byte < 0x20, or equal to 0xC2 / 0xEF.
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let eq = |v: u8| {
            let y = x ^ (ONES * u64::from(v));
            y.wrapping_sub(ONES) & !y & HIGH
        };
        if below | eq(0xC2) | eq(0xEF) != 0
            && let Some(i) = chunk.iter().position(|&b| byte_test(b))
        {
            return Some(offset + i);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| byte_test(b))
        .map(|i| offset + i)
}

/// [`xml_safe`], borrowing the text when it is clean, as nearly every text is.
#[must_use]
pub fn xml_safe_cow(text: &str) -> std::borrow::Cow<'_, str> {
    // Every forbidden character starts with a byte below 0x20, or is C2 80-9F
    // (the C1 controls) or EF BF BE / EF BF BF (U+FFFE, U+FFFF).
    let bytes = text.as_bytes();
    let forbidden_at = |i: usize| match bytes[i] {
        b'\t' | b'\n' | b'\r' => false,
        b if b < 0x20 => true,
        0xC2 => bytes.get(i + 1).is_some_and(|b| (0x80..=0x9F).contains(b)),
        0xEF => bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)),
        _ => false,
    };
    let mut from = 0;
    let first = loop {
        let candidate = candidate_at(&bytes[from..]);
        match candidate {
            None => return std::borrow::Cow::Borrowed(text),
            Some(at) if forbidden_at(from + at) => break from + at,
            Some(at) => from += at + 1,
        }
    };
    let forbidden = |c: char| !is_xml_char(c) || ('\u{80}'..='\u{9F}').contains(&c);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut run = first;
    for (i, c) in text[first..].char_indices() {
        let i = first + i;
        if forbidden(c) {
            out.push_str(&text[run..i]);
            run = i + c.len_utf8();
        }
    }
    out.push_str(&text[run..]);
    std::borrow::Cow::Owned(out)
}

/// Collapses runs of whitespace to one space and trims the ends.
#[must_use]
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Plain text from a title or name that may hold markup or entities:
/// tags stripped, entities decoded, whitespace collapsed.
#[must_use]
pub fn plain_text(input: &str) -> String {
    let text = if memchr::memchr2(b'<', b'&', input.as_bytes()).is_some() {
        let fragment = Html::parse_fragment(input);
        fragment.root_element().text().collect::<String>()
    } else {
        input.to_owned()
    };
    collapse_whitespace(&xml_safe(&text))
}

/// [`plain_text`] of HTML this module sanitized (stored summaries), without
/// parsing it again: such HTML is a serialized tree, so its text is what
/// lies between the tags, with the serializer's five escapes undone.
/// Anything else goes to [`plain_text`].
#[must_use]
pub fn plain_text_of_clean(html: &str) -> String {
    if memchr::memchr2(b'<', b'&', html.as_bytes()).is_none() {
        return plain_text(html);
    }
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = memchr::memchr2(b'<', b'&', rest.as_bytes()) {
        text.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('<') {
            // Attribute values never hold `<` or `>` (the serializer escapes them).
            let Some(end) = rest.find('>') else {
                return plain_text(html);
            };
            rest = &rest[end + 1..];
            continue;
        }
        let (c, len) = match () {
            () if rest.starts_with("&amp;") => ('&', 5),
            () if rest.starts_with("&lt;") => ('<', 4),
            () if rest.starts_with("&gt;") => ('>', 4),
            () if rest.starts_with("&quot;") => ('"', 6),
            () if rest.starts_with("&nbsp;") => ('\u{a0}', 6),
            () => return plain_text(html),
        };
        text.push(c);
        rest = &rest[len..];
    }
    text.push_str(rest);
    collapse_whitespace(&xml_safe_cow(&text))
}

/// Sanitizes HTML for one base URL. Simple HTML takes the one-pass
/// [`fast_html`](super::fast_html) path; the rest goes through ammonia,
/// whose allowlist setup is built only when a fragment needs it.
pub struct Sanitizer {
    base: Option<Url>,
    builder: std::cell::OnceCell<Builder<'static>>,
}

impl Sanitizer {
    /// A sanitizer that rewrites relative URLs against `base`.
    #[must_use]
    pub fn new(base: Option<&Url>) -> Self {
        Self {
            base: base.cloned(),
            builder: std::cell::OnceCell::new(),
        }
    }

    /// The full sanitizer, built on first use.
    fn builder(&self) -> &Builder<'static> {
        self.builder.get_or_init(|| {
            let mut builder = Builder::default();
            builder.url_relative(match &self.base {
                Some(base) => UrlRelative::RewriteWithBase(base.clone()),
                // With nothing to resolve against, a relative URL would mean
                // something different in every reader: drop it.
                None => UrlRelative::Deny,
            });
            builder
        })
    }

    /// Sanitized HTML, or `None` when nothing visible is left.
    #[must_use]
    pub fn html(&self, input: &str) -> Option<String> {
        // Text with no markup, entity or no-break space comes out of the
        // HTML parser unchanged: skip it.
        // (memchr: a `contains` with a char set decodes every character.)
        let bytes = input.as_bytes();
        let plain = memchr::memchr3(b'<', b'>', b'&', bytes).is_none()
            && memchr::memmem::find(bytes, "\u{a0}".as_bytes()).is_none();
        if plain {
            let text = xml_safe(input.trim());
            return (!text.is_empty()).then_some(text);
        }
        let input = xml_safe_cow(input);
        // The parser decodes references to characters XML forbids (`&#1;`,
        // `&#xFFFF;`), which the fast path leaves to it: drop them again.
        let clean = super::fast_html::clean(&input, self.base.as_ref()).unwrap_or_else(|| {
            let full = self.builder().clean(&input).to_string();
            match xml_safe_cow(&full) {
                std::borrow::Cow::Borrowed(_) => full,
                std::borrow::Cow::Owned(safe) => safe,
            }
        });
        let trimmed = clean.trim();
        if trimmed.is_empty() {
            None
        } else if trimmed.len() == clean.len() {
            Some(clean)
        } else {
            Some(trimmed.to_owned())
        }
    }
}

/// Escapes plain text for use as HTML (a text-typed summary becomes HTML).
#[must_use]
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_found_eight_bytes_at_a_time_as_one_by_one() {
        let naive = |b: &[u8]| b.iter().position(|&c| c < 0x20 || c == 0xC2 || c == 0xEF);
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for len in 0..200 {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly plain text, now and then a byte of interest.
                        match seed % 97 {
                            0 => b'\n',
                            1 => 0x01,
                            2 => 0xC2,
                            3 => 0xEF,
                            4 => 0xC3,
                            5 => 0x20,
                            6 => 0x1F,
                            _ => b'a' + (seed % 26) as u8,
                        }
                    })
                    .collect();
                assert_eq!(candidate_at(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn titles_become_plain_text() {
        assert_eq!(
            plain_text("  Rust &amp; <b>Go</b>\n\t news "),
            "Rust & Go news"
        );
        assert_eq!(plain_text("Caf&eacute; &#8220;open&#8221;"), "Café “open”");
        assert_eq!(plain_text("A <script>alert(1)</script>B"), "A alert(1)B");
        assert_eq!(plain_text("bell\u{7}char"), "bellchar");
        assert_eq!(plain_text("5 > 3"), "5 > 3");
    }

    #[test]
    fn html_loses_active_content_and_gains_absolute_urls() {
        let base = Url::parse("https://example.org/blog/").unwrap();
        let s = Sanitizer::new(Some(&base));
        let out = s
            .html(
                r#"<p onclick="x()">Hi <a href="post.html">post</a> <a href="javascript:alert(1)">bad</a></p>
<script>alert(1)</script><style>p{}</style><iframe src="https://evil.example/"></iframe>
<img src="/img/a.png" onerror="x()"><object data="x"></object>"#,
            )
            .unwrap();
        for banned in [
            "onclick",
            "script",
            "style",
            "iframe",
            "javascript:",
            "onerror",
            "object",
        ] {
            assert!(!out.contains(banned), "{banned} in {out}");
        }
        assert!(
            out.contains(r#"href="https://example.org/blog/post.html""#),
            "{out}"
        );
        assert!(
            out.contains(r#"src="https://example.org/img/a.png""#),
            "{out}"
        );
        assert_eq!(s.html("<script>only</script>"), None);
    }

    #[test]
    fn plain_text_passes_unchanged_either_way() {
        let s = Sanitizer::new(None);
        for text in [
            "Just words, \"quoted\" and 'single'.",
            "  padded  ",
            "tab\tand\nnewline",
        ] {
            assert_eq!(
                s.html(text),
                s.builder().clean(text).to_string().trim().to_owned().into(),
                "{text}"
            );
        }
    }

    #[test]
    fn references_to_forbidden_characters_are_dropped_too() {
        let s = Sanitizer::new(None);
        assert_eq!(
            s.html("<p>a&#1;b&#x85;c&#xFFFF;d</p>").as_deref(),
            Some("<p>ab…cd</p>")
        );
    }

    #[test]
    fn forbidden_xml_characters_are_dropped() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\u{fffe}d\te"), "abcd\te");
        assert_eq!(xml_safe("x\u{85}y\u{fffd}z é"), "xy\u{fffd}z é");
        assert_eq!(xml_safe("\u{9f}\u{ffff}a\u{fffe}\u{1}"), "a");
        // Clean text, with bytes that start forbidden characters elsewhere
        // (C2, EF), is not copied.
        for clean in ["no\u{a0}break · ©", "\u{feff}wide \u{ff21}", "’quoted’"] {
            assert!(
                matches!(xml_safe_cow(clean), std::borrow::Cow::Borrowed(_)),
                "{clean}"
            );
        }
    }
}
