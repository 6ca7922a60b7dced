//! Bytes in any declared charset to UTF-8, before a parser sees them.
//!
//! Order of authority (RFC 7303): a byte-order mark, then the HTTP
//! `charset`, then the XML declaration, then UTF-8. One exception for the
//! commonest server mistake: a header claiming UTF-8 over bytes that are not
//! UTF-8 yields to the document's own declaration. Labels follow the WHATWG
//! Encoding Standard (so `ISO-8859-1` and `us-ascii` read as windows-1252, as
//! browsers do). Invalid sequences become U+FFFD instead of failing the feed.

use encoding_rs::{Encoding, UTF_8};

/// The `charset` parameter of a `Content-Type` header.
fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// The `encoding` pseudo-attribute of a leading `<?xml ...?>` declaration.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = bytes.get(start..)?;
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.iter().take(512).position(|b| *b == b'>')?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    rest[1..].split(quote).next()
}

/// The charset an HTML page declares in `<meta charset>` or
/// `<meta http-equiv="Content-Type" content="...; charset=...">`, looked for
/// in the first 2 KiB as browsers do.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(at) = rest.find("<meta") {
        rest = &rest[at + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(c) = tag.find("charset=") {
            let value = tag[c + 8..].trim_start_matches(['"', '\'', ' ']);
            let end = value
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'))
                .unwrap_or(value.len());
            if let Some(e) = Encoding::for_label(&value.as_bytes()[..end]) {
                return Some(e);
            }
        }
    }
    None
}

/// Decodes `bytes` to UTF-8 text and rewrites any XML declaration to say so,
/// so the parser does not decode a second time.
#[must_use]
pub fn to_utf8(bytes: &[u8], content_type: Option<&str>) -> String {
    let from_header = content_type
        .and_then(header_charset)
        .and_then(|l| Encoding::for_label(l.as_bytes()));
    let from_decl = declared_encoding(bytes)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| meta_charset(bytes));
    let encoding = match (
        Encoding::for_bom(bytes).or_else(|| utf16_without_bom(bytes)),
        from_header,
        from_decl,
    ) {
        (Some((bom, _)), _, _) => bom,
        (None, Some(h), Some(d)) if h == UTF_8 && d != UTF_8 && !is_utf8(bytes) => d,
        (None, Some(h), _) => h,
        (None, None, Some(d)) => d,
        (None, None, None) => UTF_8,
    };
    // A declaration naming UTF-16 without a BOM is a lie about these bytes
    // (which reached us as ASCII-compatible text): read them as UTF-8.
    let encoding = if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Encoding::for_bom(bytes)
            .or_else(|| utf16_without_bom(bytes))
            .map_or(UTF_8, |(e, _)| e)
    } else {
        encoding
    };
    // Bytes said to be UTF-8 (or said to be nothing) that hold not one valid
    // multi-byte sequence are legacy 8-bit text with a wrong label, the
    // commonest charset mistake: read them as windows-1252, as browsers do.
    // Bytes with some valid UTF-8 stay UTF-8, broken bytes replaced.
    let encoding = if encoding == UTF_8 && !is_utf8(bytes) && !has_utf8_multibyte(bytes) {
        encoding_rs::WINDOWS_1252
    } else {
        encoding
    };
    let (text, _, _) = encoding.decode(bytes);
    // NUL is never allowed in XML, and it makes the XML reader guess at
    // UTF-16 again (and panic): drop it here, once.
    let text = if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', ""))
    } else {
        text
    };
    rewrite_declaration(&text)
}

/// Whether `bytes` are valid UTF-8, by encoding_rs's vectorized check: the
/// standard library's took 4% of a cold run's CPU on whole documents.
fn is_utf8(bytes: &[u8]) -> bool {
    Encoding::utf8_valid_up_to(bytes) == bytes.len()
}

/// Whether `bytes` hold at least one well-formed multi-byte UTF-8 sequence.
fn has_utf8_multibyte(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => return valid.bytes().any(|b| b >= 0x80),
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                if valid.iter().any(|b| *b >= 0x80) {
                    return true;
                }
                let skip = e.error_len().unwrap_or(after.len()).max(1);
                rest = &after[skip.min(after.len())..];
                if rest.is_empty() {
                    return false;
                }
            }
        }
    }
}

/// UTF-16 recognised from `<?` without a byte-order mark (XML 1.0, Appendix F).
fn utf16_without_bom(bytes: &[u8]) -> Option<(&'static Encoding, usize)> {
    match bytes.get(..4)? {
        [0, b'<', 0, b'?'] => Some((encoding_rs::UTF_16BE, 0)),
        [b'<', 0, b'?', 0] => Some((encoding_rs::UTF_16LE, 0)),
        _ => None,
    }
}

/// The text with its XML declaration saying UTF-8, and any other
/// declaration (misplaced after garbage, or repeated) removed: the XML
/// reader would otherwise switch encodings mid-document, which it cannot do
/// (quick-xml panics).
fn rewrite_declaration(text: &str) -> String {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    // memmem: SIMD over the whole document, which is searched to its end.
    let find = |s: &str| memchr::memmem::find(s.as_bytes(), b"<?xml");
    if find(trimmed).is_none() {
        return trimmed.to_owned();
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut rest = trimmed;
    let mut first = true;
    while let Some(at) = find(rest) {
        let is_decl = rest[at + 5..].starts_with(|c: char| c.is_whitespace() || c == '?');
        let Some(end) = rest[at..]
            .find("?>")
            .map(|e| at + e + 2)
            .filter(|_| is_decl)
        else {
            out.push_str(&rest[..at + 5]);
            rest = &rest[at + 5..];
            continue;
        };
        out.push_str(&rest[..at]);
        if first && at == 0 {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        }
        first = false;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_declaration_comes_out_right() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><t>caf\xe9</t></rss>";
        let text = to_utf8(bytes, None);
        assert!(text.contains("café"), "{text}");
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    }

    #[test]
    fn header_charset_wins_over_declaration() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>\x93quoted\x94</t>";
        let text = to_utf8(bytes, Some("application/xml; charset=windows-1252"));
        assert!(text.contains("\u{201c}quoted\u{201d}"), "{text}");
    }

    #[test]
    fn utf8_header_over_latin1_bytes_yields_to_the_declaration() {
        let bytes = b"<?xml version='1.0' encoding='iso-8859-1'?><t>na\xefve</t>";
        let text = to_utf8(bytes, Some("text/xml; charset=UTF-8"));
        assert!(text.contains("naïve"), "{text}");
    }

    #[test]
    fn html_meta_charset() {
        let page = b"<html><head><meta charset=\"windows-1252\"><title>caf\xe9</title>";
        assert!(to_utf8(page, Some("text/html")).contains("café"));
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"><p>\xfc</p>";
        assert!(to_utf8(page, None).contains("ü"));
    }

    #[test]
    fn mislabelled_latin1_and_broken_utf8() {
        // Said to be UTF-8, but Latin-1 through and through.
        let text = to_utf8(b"<t>caf\xe9 cr\xe8me</t>", Some("text/xml; charset=utf-8"));
        assert_eq!(text, "<t>café crème</t>");
        // Real UTF-8 with one broken byte: the byte is replaced, the rest kept.
        let text = to_utf8(
            "<t>café \u{0}</t>"
                .as_bytes()
                .iter()
                .map(|b| if *b == 0 { 0xff } else { *b })
                .collect::<Vec<_>>()
                .as_slice(),
            None,
        );
        assert_eq!(text, "<t>café \u{fffd}</t>");
    }

    #[test]
    fn bom_and_invalid_bytes() {
        let text = to_utf8(b"\xef\xbb\xbf<t>ok \xc3\xa9 \xff</t>", None);
        assert_eq!(text, "<t>ok é \u{fffd}</t>");
        let utf16: Vec<u8> = "\u{feff}<t>hé</t>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(to_utf8(&utf16, None), "<t>hé</t>");
    }

    /// Regression (fuzzing, feed_bytes): garbage before an XML declaration
    /// naming ISO-8859-1 made quick-xml switch encodings mid-stream and panic.
    #[test]
    fn misplaced_declarations_are_removed() {
        let text = to_utf8(
            b"\xf2\xf2<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>",
            None,
        );
        assert_eq!(text, "\u{f2}\u{f2}<rss/>");
        let text = to_utf8(
            b"<?xml version='1.0'?><a/><?xml version='1.0' encoding='latin1'?><b/>",
            None,
        );
        assert_eq!(text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/><b/>");
        assert_eq!(
            to_utf8(b"<p><?xml-stylesheet href='x'?></p>", None),
            "<p><?xml-stylesheet href='x'?></p>"
        );
    }

    /// Regression: UTF-16 without a BOM reached the XML reader as text full
    /// of NULs, and quick-xml panicked (found by the corpus sweep).
    #[test]
    fn utf16_without_bom_is_detected() {
        let be: Vec<u8> = "<?xml version=\"1.0\"?><t>hé</t>"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            to_utf8(&be, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>hé</t>"
        );
        assert_eq!(to_utf8(b"<t>a\0b</t>", None), "<t>ab</t>");
    }
}
