//! Random HTML through the sanitizer's fast path and through ammonia: where
//! the fast path answers, the bytes are ammonia's (so no element or
//! attribute outside the allowlist ever comes out, and the text is the same).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let input = feedloom::normalize::sanitize::xml_safe(&input);
    let base = url::Url::parse("https://fuzz.example/a/b/page.html").unwrap();
    for base in [Some(&base), None] {
        if let Some(fast) = feedloom::normalize::fast_html::clean(&input, base) {
            let mut builder = ammonia::Builder::default();
            builder.url_relative(match base {
                Some(base) => ammonia::UrlRelative::RewriteWithBase(base.clone()),
                None => ammonia::UrlRelative::Deny,
            });
            assert_eq!(fast, builder.clean(&input).to_string(), "{input:?}");
        }
    }
});
