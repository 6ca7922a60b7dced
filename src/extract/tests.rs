//! One small hand-written page per extraction rule.

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn page(url: &str, html: &str) -> Extracted {
    super::html(
        html,
        &Url::parse(url).unwrap(),
        &PageSelectors::default(),
        Tz::UTC,
        now(),
    )
}

fn date_of(e: &Extracted) -> (String, DateSource) {
    let (d, s) = e.published.clone().expect("a date");
    (d.value.with_timezone(&Utc).to_rfc3339(), s)
}

const BODY: &str = "<p>The council voted on Tuesday to keep the ferry running through the winter months, after a petition signed by more than two thousand residents.</p>\
<p>The service had been due to stop in November. Councillors said the cost would be met from the harbour budget, and that timetables would be published next week.</p>\
<p>Regular passengers welcomed the decision, saying the crossing was the only practical way to reach the hospital on the mainland without a long detour by road.</p>";

#[test]
fn json_ld_gives_title_date_author() {
    let e = page(
        "https://news.example.org/ferry",
        &format!(
            r#"<html><head><title>Ferry saved | Island News</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@graph":[{{"@type":"WebSite","name":"Island News"}},
{{"@type":"NewsArticle","headline":"Ferry saved for the winter","datePublished":"2026-03-03T09:15:00+01:00","author":[{{"@type":"Person","name":"Ines Calder"}}]}}]}}</script>
</head><body><article><h1>Ferry saved for the winter</h1>{BODY}</article></body></html>"#
        ),
    );
    assert_eq!(
        e.title.as_ref().unwrap().value,
        "Ferry saved for the winter"
    );
    assert_eq!(e.title.as_ref().unwrap().from, "json-ld");
    assert_eq!(
        date_of(&e),
        ("2026-03-03T08:15:00+00:00".into(), DateSource::JsonLd)
    );
    assert_eq!(e.author.unwrap().value, "Ines Calder");
}

#[test]
fn meta_date_and_site_name_suffix() {
    let e = page(
        "https://news.example.org/ferry",
        &format!(
            r#"<html><head><title>Ferry saved for the winter | Island News</title>
<meta property="og:site_name" content="Island News">
<meta property="article:published_time" content="2026-03-03T08:00:00Z">
<meta name="author" content="Ines Calder">
<meta name="description" content="The ferry keeps running.">
<meta property="og:image" content="/img/ferry.jpg">
</head><body>{BODY}</body></html>"#
        ),
    );
    assert_eq!(
        e.title.as_ref().unwrap().value,
        "Ferry saved for the winter"
    );
    assert_eq!(
        date_of(&e),
        ("2026-03-03T08:00:00+00:00".into(), DateSource::Meta)
    );
    assert_eq!(e.author.unwrap().from, "meta:author");
    assert_eq!(e.summary.unwrap().value, "The ferry keeps running.");
    assert_eq!(
        e.image.unwrap().value.as_str(),
        "https://news.example.org/img/ferry.jpg"
    );
}

#[test]
fn the_date_under_the_heading_that_tells_the_title_s_story() {
    // The first <h1> is the logo; the headline is an <h2>, and the date
    // line under it is far from the logo.
    let filler = "<li>Section</li>".repeat(45);
    let html = format!(
        r#"<html><head><title>Lifeboat crew rescue two kayakers - Harbour Post</title></head><body>
<h1 class="logo">Harbour Post</h1><ul class="sections">{filler}</ul>
<div class="story"><h2>Lifeboat crew rescue two kayakers</h2>
<span class="when">14.02.2019 09:30</span>
<p>Two kayakers were brought ashore by the volunteer crew after their boat overturned near the point.</p></div>
</body></html>"#
    );
    let e = page("https://post.example/story?id=17", &html);
    let (day, source) = date_of(&e);
    assert_eq!(day, "2019-02-14T00:00:00+00:00");
    assert_eq!(source, DateSource::Text);
}

#[test]
fn a_date_line_with_a_label_away_from_the_headline() {
    let body = "<p>The choir sang in the old church for the first time since the roof was mended in the spring.</p>";
    let footer = page(
        "https://choir.example/news?id=4",
        &format!(
            r#"<html><head><title>Choir returns</title></head><body><h1>Choir returns</h1>{}
<p>More news from the parish and the village below, with photographs from the whole year.</p>{BODY}
<p class="info">Erschienen am: 03.05.2021</p></body></html>"#,
            "<p>Filler line about the parish.</p>".repeat(45)
        ),
    );
    assert_eq!(date_of(&footer).0, "2021-05-03T00:00:00+00:00");
    // A <dt> label and its <dd>.
    let listed = page(
        "https://choir.example/news?id=5",
        &format!(
            r"<html><head><title>Choir tour</title></head><body>{body}
<dl><dt>Datum</dt><dd>21.06.2021</dd><dt>Kategorie</dt><dd>Musik</dd></dl></body></html>"
        ),
    );
    assert_eq!(date_of(&listed).0, "2021-06-21T00:00:00+00:00");
    // A date in running text, with no label, is not the page's date.
    let unlabelled = page(
        "https://choir.example/news?id=6",
        &format!(
            r"<html><head><title>Choir plans</title></head><body>{body}
<p>Rehearsals restart on 12.09.2021 in the hall.</p></body></html>"
        ),
    );
    assert!(unlabelled.published.is_none(), "{:?}", unlabelled.published);
    // In an aside or a footer, a labelled date counts only when the page
    // has none elsewhere.
    let aside = r"<aside class=blogData><dl><dt>Datum</dt><dd>12.01.2021</dd></dl></aside>";
    let in_aside = page(
        "https://choir.example/news?id=7",
        &format!("<html><body>{body}{aside}</body></html>"),
    );
    assert_eq!(date_of(&in_aside).0, "2021-01-12T00:00:00+00:00");
    let both = page(
        "https://choir.example/news?id=8",
        &format!("<html><body>{aside}{body}<p class=meta>Posted: 14.01.2021</p></body></html>"),
    );
    assert_eq!(date_of(&both).0, "2021-01-14T00:00:00+00:00");
    // Lines set apart by line breaks: the labelled one, not the first date.
    let broken = page(
        "https://choir.example/news?id=9",
        &format!(
            "<html><body>{body}<p class=small>Letzte \u{c4}nderung: 31.10.2021 - 14:49<br>Erschienen am: 01.11.2021<br>Gelesen: 61 mal, zuletzt heute von einem Besucher aus der Stadt</p></body></html>"
        ),
    );
    assert_eq!(date_of(&broken).0, "2021-11-01T00:00:00+00:00");
}

#[test]
fn rdfa_dates_and_elements_marked_as_times() {
    let rdfa = page(
        "https://choir.example/a",
        &format!(
            r#"<html><head><title>Concert</title></head><body>{BODY}
<span property="schema:dateCreated" content="2022-01-28T12:45:46+00:00"></span></body></html>"#
        ),
    );
    assert_eq!(date_of(&rdfa).0, "2022-01-28T12:45:46+00:00");
    let marked = page(
        "https://choir.example/b",
        &format!(
            r#"<html><head><title>Concert</title></head><body><span class="h-time">2020-02-19 20:29</span>{BODY}</body></html>"#
        ),
    );
    assert_eq!(date_of(&marked).0, "2020-02-19T20:29:00+00:00");
}

#[test]
fn time_element_then_visible_text_then_url() {
    let with_time = page(
        "https://x.example/a",
        &format!(
            r#"<html><body><h1>Ferry</h1><time datetime="2026-03-02">2 March</time>{BODY}</body></html>"#
        ),
    );
    assert_eq!(
        date_of(&with_time),
        ("2026-03-02T00:00:00+00:00".into(), DateSource::TimeElement)
    );
    let in_text = page(
        "https://x.example/a",
        &format!(
            r#"<html><body><h1>Ferry</h1><p class="meta">Posted on March 1st, 2026 at 4:30 pm</p>{BODY}</body></html>"#
        ),
    );
    assert_eq!(
        date_of(&in_text),
        ("2026-03-01T16:30:00+00:00".into(), DateSource::Text)
    );
    let in_url = page(
        "https://x.example/2026/02/28/ferry",
        &format!("<html><body><h1>Ferry</h1>{BODY}</body></html>"),
    );
    assert_eq!(
        date_of(&in_url),
        ("2026-02-28T00:00:00+00:00".into(), DateSource::Url)
    );
    let undated = page(
        "https://x.example/ferry",
        &format!("<html><body><h1>Ferry</h1>{BODY}</body></html>"),
    );
    assert_eq!(undated.published, None, "no date is invented");
}

#[test]
fn the_page_node_s_date_when_nothing_else_dates_the_page() {
    let graph = |article: &str| {
        format!(
            r#"<html><head><script type="application/ld+json">{{"@context":"https://schema.org","@graph":[{{"@type":"WebSite","name":"Harbour Notes"}},
{{"@type":"WebPage","name":"Ferry","datePublished":"2026-02-20T08:00:00+00:00"}}{article}]}}</script></head>
<body><h1>Ferry</h1>{BODY}</body></html>"#
        )
    };
    let page_only = page("https://x.example/ferry", &graph(""));
    assert_eq!(
        date_of(&page_only),
        ("2026-02-20T08:00:00+00:00".into(), DateSource::JsonLd)
    );
    // The article's own date, or a visible one, comes first.
    let with_article = page(
        "https://x.example/ferry",
        &graph(r#",{"@type":"BlogPosting","datePublished":"2026-02-22T10:00:00+00:00"}"#),
    );
    assert_eq!(date_of(&with_article).0, "2026-02-22T10:00:00+00:00");
    let shown = page(
        "https://x.example/ferry",
        &graph("").replace(
            "<h1>Ferry</h1>",
            r#"<h1>Ferry</h1><time datetime="2026-02-25">25 February</time>"#,
        ),
    );
    assert_eq!(date_of(&shown).0, "2026-02-25T00:00:00+00:00");
}

#[test]
fn a_date_held_as_data_in_a_page_script_when_nothing_else_dates_the_page() {
    let shop = |data: &str| {
        format!(
            r#"<html><head><script>window.shop = {{"product":{{"title":"Ferry mug",{data}"vendor":"Harbour"}}}};</script></head>
<body><h1>Ferry mug</h1>{BODY}</body></html>"#
        )
    };
    let dated = page(
        "https://x.example/mug",
        &shop(r#""published_at":"2026-02-20T08:00:00+01:00","#),
    );
    assert_eq!(
        date_of(&dated),
        ("2026-02-20T07:00:00+00:00".into(), DateSource::Meta)
    );
    // A record's creation time is as often a user's or a comment's.
    let created = page(
        "https://x.example/mug",
        &shop(r#""created_at":"2026-02-20T08:00:00+01:00","#),
    );
    assert_eq!(created.published, None);
    // The address's date is below it; a visible date above it.
    let shown = page(
        "https://x.example/2026/02/25/mug",
        &shop(r#""published_at":"2026-02-20T08:00:00+01:00","#),
    );
    assert_eq!(date_of(&shown).1, DateSource::Meta);
}

#[test]
fn a_blog_node_holding_one_post_is_that_post() {
    let blog = |posts: &str| {
        format!(
            r#"<html><head><script type="application/ld+json">{{"@context":"https://schema.org","@type":"Blog","name":"Harbour Notes","blogPost":{posts}}}</script></head>
<body><h1>Ferry</h1>{BODY}</body></html>"#
        )
    };
    let post =
        r#"{"@type":"BlogPosting","headline":"Ferry","datePublished":"2026-02-22T10:00:00Z"}"#;
    let one = page("https://x.example/ferry", &blog(post));
    assert_eq!(
        date_of(&one),
        ("2026-02-22T10:00:00+00:00".into(), DateSource::JsonLd)
    );
    let listing = page(
        "https://x.example/",
        &blog(&format!("[{post},{}]", post.replace("22T", "23T"))),
    );
    assert_eq!(listing.published, None, "a list of posts dates no page");
}

#[test]
fn a_link_to_yesterday_s_page_is_no_date() {
    let e = page(
        "https://x.example/word",
        &format!(
            "<html><body><nav><a href=/today>Today's Word</a> <a href=/y>Yesterday's Word</a></nav><h1>Ferry</h1>{BODY}</body></html>"
        ),
    );
    assert_eq!(e.published, None);
}

#[test]
fn bylines_and_credits() {
    let e = page(
        "https://x.example/a",
        &format!(
            r#"<html><body><h1>Ferry</h1><p>By Ines Calder, Harbour Reporter</p>
<figure><img src="f.jpg"><figcaption>Photo: Tomas Brill / Island Photo Agency</figcaption></figure>{BODY}</body></html>"#
        ),
    );
    // A byline keeps what follows the name: a role is part of the credit.
    assert_eq!(e.author.unwrap().value, "Ines Calder, Harbour Reporter");
    assert_eq!(e.credit.unwrap().value, "Tomas Brill / Island Photo Agency");
    let rel = page(
        "https://x.example/a",
        &format!(
            r#"<html><body><h1>Ferry</h1><a rel="author" href="/people/ines">Ines Calder</a>{BODY}</body></html>"#
        ),
    );
    assert_eq!(rel.author.unwrap().from, "rel=author");
}

#[test]
fn body_drops_furniture_and_repeated_fields() {
    let e = page(
        "https://x.example/a",
        &format!(
            r#"<html><body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<aside class="sidebar"><h3>Most read</h3><ul><li>Something else entirely</li></ul></aside>
<article><h1>Ferry saved</h1><p class="standfirst">The crossing stays open all year.</p><p>March 3, 2026</p>{BODY}
<div class="share-bar"><a href="https://share.example/">Share</a></div></article>
<div id="comments"><p>First!</p></div><script>trackEverything()</script>
<footer>Copyright Island News</footer></body></html>"#
        ),
    );
    let body = e.body.unwrap().value;
    let text = body_text(&body);
    assert!(text.contains("The council voted on Tuesday"), "{text}");
    for furniture in [
        "Most read",
        "Sport",
        "trackEverything",
        "Copyright",
        "First!",
    ] {
        assert!(!text.contains(furniture), "{furniture} in {text}");
    }
    assert_eq!(
        e.summary.unwrap().value,
        "The crossing stays open all year."
    );
    assert!(
        !text.contains("The crossing stays open"),
        "standfirst repeated in body: {text}"
    );
}

#[test]
fn selectors_win_and_remove_furniture() {
    let selectors = PageSelectors {
        title: Some(FieldSelector::parse("h2.headline").unwrap()),
        date: Some(FieldSelector::parse("span.when@data-date").unwrap()),
        body: Some(FieldSelector::parse("div.text").unwrap()),
        remove: vec![FieldSelector::parse(".ad").unwrap()],
        ..PageSelectors::default()
    };
    let html = r#"<html><body><h1>Site banner</h1><h2 class="headline">Real headline</h2>
<span class="when" data-date="2026-03-04">yesterday</span>
<div class="text"><p>Real text.</p><div class="ad">Buy now</div></div></body></html>"#;
    let e = super::html(
        html,
        &Url::parse("https://x.example/a").unwrap(),
        &selectors,
        Tz::UTC,
        now(),
    );
    assert_eq!(e.title.as_ref().unwrap().value, "Real headline");
    assert_eq!(date_of(&e).1, DateSource::Selector);
    let body = e.body.unwrap().value;
    assert!(
        body.contains("Real text.") && !body.contains("Buy now"),
        "{body}"
    );
}

#[test]
fn field_selector_syntax() {
    let s = FieldSelector::parse("time@datetime").unwrap();
    assert_eq!(s.attr.as_deref(), Some("datetime"));
    let s = FieldSelector::parse("a[href^='https://x.example/@user']").unwrap();
    assert_eq!(s.attr, None);
    assert!(FieldSelector::parse("div[").is_err());
}

#[test]
fn a_date_in_an_element_marked_as_a_date() {
    let e = page(
        "https://x.example/a",
        &format!(
            r#"<html><body><nav><span class="date">January 1, 2020</span></nav><article><h1>Ferry</h1>{BODY}<div class="post-date">12.12.2025</div></article></body></html>"#
        ),
    );
    assert_eq!(
        date_of(&e),
        ("2025-12-12T00:00:00+00:00".into(), DateSource::Text)
    ); // A byline whose box also holds a long block (a rating): its own
    // line still gives the date.
    let rated = page(
        "https://x.example/b",
        &format!(
            r#"<html><body><article><h1>Ferry</h1><div class="author"><a href="/ines">Ines Calder</a>, 21. Jan. 2025<div class="rating">Rated four out of five by the forty readers who voted on this story so far this week</div></div>{BODY}</article></body></html>"#
        ),
    );
    assert_eq!(date_of(&rated).0, "2025-01-21T00:00:00+00:00");
}

#[test]
fn a_date_line_above_the_title() {
    let e = page(
        "https://x.example/a",
        &format!(
            "<html><body><div><span>Last updated:</span><span>Dec 12, 2025</span></div><h1>Ferry</h1>{BODY}</body></html>"
        ),
    );
    assert_eq!(date_of(&e).0, "2025-12-12T00:00:00+00:00");
}

#[test]
fn the_day_is_the_page_s_own_day() {
    let e = page(
        "https://x.example/a",
        &format!(
            r#"<html><head><meta property="article:published_time" content="2020-04-12T21:00:00-04:00"></head><body><h1>Ferry</h1>{BODY}</body></html>"#
        ),
    );
    let (d, _) = e.published.unwrap();
    assert_eq!(
        d.value.date_naive().to_string(),
        "2020-04-12",
        "not the UTC day, 2020-04-13"
    );
}

#[test]
fn byline_text_becomes_a_name_or_nothing() {
    assert_eq!(
        person_name("Written by Ana Ruiz").as_deref(),
        Some("Ana Ruiz")
    );
    assert_eq!(person_name("Author: Ana Ruiz").as_deref(), Some("Ana Ruiz"));
    // A colon after "Written by", as a line of its own on a page.
    assert_eq!(after_by_label("Written by: Ana Ruiz"), Some("Ana Ruiz"));
    assert_eq!(
        after_by_label("Article written by: Ana Ruiz, MD"),
        Some("Ana Ruiz, MD")
    );
    assert_eq!(
        person_name("Ana Ruiz · Dec 20").as_deref(),
        Some("Ana Ruiz")
    );
    assert_eq!(
        person_name("Ana Ruiz December 2, 2025").as_deref(),
        Some("Ana Ruiz")
    );
    assert_eq!(
        person_name("Jillian Kubala, MS, RD").as_deref(),
        Some("Jillian Kubala, MS, RD")
    );
    // Labels sites put around the name: an author archive's link text,
    // a "published" word after it.
    for (byline, name) in [
        ("View all posts by Ana Ruiz", "Ana Ruiz"),
        ("Zeige alle Beiträge von Ana Ruiz →", "Ana Ruiz"),
        ("Veröffentlicht von Ana Ruiz", "Ana Ruiz"),
        ("erstellt von Ana Ruiz — veröffentlicht", "Ana Ruiz"),
        ("Ana Ruiz Alle Artikel", "Ana Ruiz"),
        ("Beitrag von Ana Ruiz »", "Ana Ruiz"),
        ("Interview: Ana Ruiz", "Ana Ruiz"),
        ("Ana Ruiz Last Updated", "Ana Ruiz"),
        ("Author Posted by\u{a0}Ana Ruiz", "Ana Ruiz"),
        ("Ana Ruiz •", "Ana Ruiz"),
    ] {
        assert_eq!(person_name(byline).as_deref(), Some(name), "{byline}");
    }
    for not_a_name in [
        "Written by",
        "Posted by:",
        "admin",
        "March 20",
        "262588213843476",
        "brandon-peaktwo",
        "https://x.example/ana",
    ] {
        assert_eq!(person_name(not_a_name), None, "{not_a_name}");
    }
}

#[test]
fn author_cards_name_the_writer_and_comments_do_not() {
    let with = |html: &str| {
        page(
            "https://quay.example/post",
            &format!("<html><body><article><h1>Ferry</h1>{html}{BODY}</article></body></html>"),
        )
        .author
        .map(|a| a.value)
    };
    assert_eq!(
        with(r#"<span class="entry-author vcard"><i></i><a class="fn" href="/a/ines">Ines Calder</a></span>"#)
            .as_deref(),
        Some("Ines Calder")
    );
    assert_eq!(
        with("<byline>Von Ines Calder, dpa</byline>").as_deref(),
        Some("Ines Calder, dpa")
    );
    assert_eq!(
        with(r#"<span class="post-author vcard">Eingestellt von <span class="fn">Ines Calder</span></span>"#)
            .as_deref(),
        Some("Ines Calder")
    );
    // A reader's name on a comment is not the writer's.
    assert_eq!(
        with(
            r#"<ol class="comment-list"><li><div class="comment-author vcard"><b class="fn">Olav Brink</b> says:</div></li></ol>"#
        ),
        None
    );
    // Names in scripts without letter case are not user handles.
    assert_eq!(person_name("孔德明").as_deref(), Some("孔德明"));
}

#[test]
fn a_declared_handle_is_the_author_unless_the_page_names_one() {
    let with = |head: &str, body: &str| {
        page(
            "https://quay.example/post",
            &format!(
                "<html><head>{head}</head><body><article><h1>Ferry</h1>{body}{BODY}</article></body></html>"
            ),
        )
        .author
        .map(|a| a.value)
    };
    let handle = r#"<meta name="author" content="ines.calder">"#;
    assert_eq!(with(handle, "").as_deref(), Some("ines.calder"));
    assert_eq!(
        with(handle, r#"<p class="byline">By Ines Calder</p>"#).as_deref(),
        Some("Ines Calder")
    );
    // Yoast's preview card, and words that name no one.
    assert_eq!(
        with(
            r#"<meta name="twitter:label1" content="Written by"><meta name="twitter:data1" content="icalder">"#,
            ""
        )
        .as_deref(),
        Some("icalder")
    );
    assert_eq!(
        with(r#"<meta name="author" content="undefined">"#, ""),
        None
    );
}

#[test]
fn a_declared_author_that_is_the_site_yields_to_a_byline() {
    let with = |body: &str| {
        page(
            "https://www.harbour-post.example/news/ferry",
            &format!(
                r#"<html><head><meta name="author" content="Harbour Post"></head><body><article><h1>Ferry</h1>{body}{BODY}</article></body></html>"#
            ),
        )
        .author
        .map(|a| a.value)
    };
    assert_eq!(
        with(r#"<p class="byline">By Ines Calder</p>"#).as_deref(),
        Some("Ines Calder")
    );
    assert_eq!(with("").as_deref(), Some("Harbour Post"), "no writer named");
}

#[test]
fn an_organization_is_the_author_only_when_no_person_is() {
    let org = r#"<script type="application/ld+json">{"@type":"Article","headline":"Ferry","author":{"@type":"Organization","name":"Island Council"}}</script>"#;
    let with_byline = page(
        "https://x.example/a",
        &format!(
            "<html><head>{org}</head><body><h1>Ferry</h1><p>By Ines Calder</p>{BODY}</body></html>"
        ),
    );
    assert_eq!(with_byline.author.unwrap().value, "Ines Calder");
    let alone = page(
        "https://x.example/a",
        &format!("<html><head>{org}</head><body><h1>Ferry</h1>{BODY}</body></html>"),
    );
    assert_eq!(alone.author.unwrap().value, "Island Council");
}

#[test]
fn the_main_container_when_scoring_finds_too_little() {
    // Text spread over many short list items: scoring finds no good block.
    let items: Vec<String> = (0..40)
        .map(|i| format!("<li>Step {i}: clean the lamp glass and check the wick before lighting it again.</li>"))
        .collect();
    let items = items.concat();
    let e = page(
        "https://x.example/a",
        &format!(
            "<html><body><nav><a href=\"/\">Home</a></nav><main><h1>Lamp care</h1><ul>{items}</ul></main><footer>Footer text</footer></body></html>"
        ),
    );
    let text = body_text(&e.body.unwrap().value);
    assert!(
        text.contains("Step 0: clean the lamp glass") && text.contains("Step 39"),
        "{text}"
    );
    assert!(
        !text.contains("Footer text") && !text.contains("Home"),
        "{text}"
    );
}

#[test]
fn a_short_item_in_a_plain_div_still_has_a_body() {
    let e = page(
        "https://quay.example/news/short",
        r#"<html><head><title>Harbour wall repaired | Quay News</title></head><body>
<nav><p>Home · News · Sport · Weather · Contact the newsroom about a story</p></nav>
<div class="content">
<h1>Harbour wall repaired</h1>
<p>Workers finished repairing the harbour wall on Friday, two weeks ahead of the spring tides.</p>
<p>The wall was damaged in the January storms, when waves lifted several of its capstones.</p>
<p>Boats can use the inner berths again from Monday, the harbour master said.</p>
</div>
<footer><p>Quay News, printed and published on the island every week since the old mill closed.</p></footer>
</body></html>"#,
    );
    let body = e.body.expect("a body");
    assert_eq!(body.from, "densest block");
    assert!(body.value.contains("two weeks ahead"));
    assert!(body.value.contains("inner berths"));
    assert!(!body.value.contains("Contact the newsroom"));
    assert!(!body.value.contains("old mill"));
}

#[test]
fn text_set_with_line_breaks_and_no_paragraphs_still_has_a_body() {
    // An old blog engine: the post sits in a "widget", its lines in one
    // cell parted by <br>, with no <p> anywhere on the page.
    let e = page(
        "https://kiln.example/blog/2010/firing",
        r#"<html><head><title>Second firing</title></head><body>
<div class="menu">Home <br> Archive <br> Guestbook <br> Links to other potters we like</div>
<div class="widget Blog"><table><tr><td class="message">
The second firing of the new kiln went better than the first.<br>
We kept the door shut for a whole day and let it cool slowly.<br><br>
Only one bowl cracked, and the <b>celadon glaze</b> came out the colour we hoped for.<br>
Next month we will try the big jars, if the weather stays dry enough to dry them.
<div class="comments">Nice work! Posted by a visitor who also likes kilns and bowls a lot</div>
</td></tr></table></div>
<footer>All pictures and words on this little site belong to the two of us, please ask first</footer>
</body></html>"#,
    );
    let body = e.body.expect("a body");
    assert_eq!(body.from, "densest text block");
    assert!(body.value.contains("cool slowly"), "{}", body.value);
    assert!(
        body.value.contains("<b>celadon glaze</b>"),
        "{}",
        body.value
    );
    assert!(body.value.contains("big jars"), "{}", body.value);
    assert_eq!(body.value.matches("<p>").count(), 2, "{}", body.value);
    for furniture in ["Guestbook", "a visitor", "belong to"] {
        assert!(!body.value.contains(furniture), "{}", body.value);
    }
}

#[test]
fn a_share_box_is_not_the_body_of_a_page_whose_text_is_in_a_div() {
    // The only <p> on the page is a share box: it is not the body, the
    // text in the plain div is.
    let e = page(
        "https://kiln.example/blog/2010/glaze",
        r#"<html><head><title>Glaze notes</title></head><body>
<div class="share-bar"><p>Share this post with your friends on every network you use, and follow us for more news from the studio</p></div>
<div class="post-body">Ash glaze needs a hotter kiln than we thought, about fifty degrees more.<br>
We mixed three batches this week and tested each on small tiles first.<br><br>
The darkest one ran down the side and stuck a tile to the shelf, so that recipe goes.</div>
</body></html>"#,
    );
    let body = e.body.expect("a body");
    assert!(body.value.contains("fifty degrees"), "{}", body.value);
    assert!(!body.value.contains("Share this post"), "{}", body.value);
}

#[test]
fn json_ld_article_body_when_the_page_shows_no_paragraphs() {
    let e = page(
        "https://quay.example/news/ld",
        r#"<html><head><title>Ferry timetable</title>
<script type="application/ld+json">{"@type":"NewsArticle","headline":"Ferry timetable",
"articleBody":"The winter timetable starts on the first of December, with four crossings a day.\nThe late ferry on Fridays is kept, after passengers asked for it in the autumn survey."}</script>
</head><body><div id="app"><span>Ferry timetable</span></div></body></html>"#,
    );
    let body = e.body.expect("a body");
    assert_eq!(body.from, "json-ld articleBody");
    assert!(body.value.contains("<p>The winter timetable starts"));
    assert!(body.value.contains("autumn survey"));
}

#[test]
fn a_page_with_only_a_caption_has_no_body() {
    let e = page(
        "https://quay.example/photo",
        "<html><head><title>Photo</title></head><body><div><p>The quay at dawn.</p></div></body></html>",
    );
    assert!(e.body.is_none());
}

#[test]
fn bylines_in_other_languages() {
    let with_byline = |byline: &str| {
        page(
            "https://quay.example/artikel",
            &format!(
                "<html><head><title>Hafenmauer repariert</title></head><body><article><h1>Hafenmauer repariert</h1>{byline}{BODY}</article></body></html>"
            ),
        )
        .author
        .map(|a| a.value)
    };
    assert_eq!(
        with_byline("<p>Von Hanna Berger</p>").as_deref(),
        Some("Hanna Berger")
    );
    assert_eq!(
        with_byline(r#"<div class="byline">Par Louise Martin, le 3 mars 2020</div>"#).as_deref(),
        Some("Louise Martin")
    );
    assert_eq!(
        with_byline(r#"<span class="author">von Jonas Keller · 31. Oktober 2023</span>"#)
            .as_deref(),
        Some("Jonas Keller")
    );
    // A sentence that starts with a word a byline label also is.
    assert_eq!(
        with_byline("<p>Di solito il traghetto parte alle otto.</p>"),
        None
    );
    assert_eq!(with_byline("<p>Vom Kai aus sieht man alles.</p>"), None);
}

#[test]
fn the_shown_headline_beats_a_retitled_declared_one() {
    let with = |h1: &str| {
        page(
            "https://quay.example/news/ferry",
            &format!(
                r#"<html><head><meta property="og:title" content="Island Ferry 2026: Winter Service Kept After Petition (Full Timetable)"></head><body><article>{h1}{BODY}</article></body></html>"#
            ),
        )
        .title
        .map(|t| (t.value, t.from))
    };
    assert_eq!(
        with("<h1>Winter ferry service kept after petition</h1>"),
        Some((
            "Winter ferry service kept after petition".to_owned(),
            "h1".to_owned()
        ))
    );
    // An h1 that names something else (the site) leaves the declared title.
    let logo = with("<h1>Quay News</h1>").unwrap();
    assert_eq!(logo.1, "meta:og:title");
}

#[test]
fn older_date_markup_in_meta_and_title_attributes() {
    let dated = |head: &str, body: &str| {
        page(
            "https://quay.example/old/page",
            &format!(
                "<html><head><title>Old page</title>{head}</head><body>{body}{BODY}</body></html>"
            ),
        )
        .published
        .map(|(d, _)| (d.value.with_timezone(&Utc).date_naive().to_string(), d.from))
    };
    assert_eq!(
        dated(r#"<meta name="date" content="2018-04-02">"#, ""),
        Some(("2018-04-02".to_owned(), "meta:date".to_owned()))
    );
    assert_eq!(
        dated(
            "",
            r#"<abbr class="published" title="2017-11-05T09:30:00Z">5 Nov</abbr>"#
        ),
        Some(("2017-11-05".to_owned(), "title attribute".to_owned()))
    );
}

#[test]
fn body_text_runs_inline_markup_on_and_breaks_at_blocks() {
    let text = body_text(
        "<p>The hall is 120 m<sup>2</sup>, says <a href=\"/p\">Ada Quill</a>, its (<em>new</em>) keeper.</p>\
<p>Second<br>line</p><ul><li>one</li><li>two</li></ul>",
    );
    assert_eq!(
        text,
        "The hall is 120 m2, says Ada Quill, its (new) keeper.\nSecond line\none\ntwo"
    );
}

#[test]
fn styles_inside_the_story_are_not_its_text() {
    // As CSS-in-JS writes them: a `<style>` inside each heading, which
    // scoring keeps on some pages.
    let body = without_repeats_or_furniture(
        "<h2><style>.kicker{color:green;font-size:24px}</style>Why it stays</h2><p>The service had been due to stop in November.</p>",
        &[],
    );
    let text = body_text(&body);
    assert!(text.contains("Why it stays"), "{text}");
    assert!(!text.contains("font-size"), "{text}");
}

#[test]
fn what_follows_the_story_under_a_closing_heading_is_not_the_story() {
    let story = "<p>The ferry will keep running through the winter, the council decided after a long evening of debate in the town hall.</p>\
<p>Passengers had signed a petition, and the harbour budget will meet the cost of the extra crossings until the spring.</p>\
<p>The timetable for December is to be published next week, with an early crossing on weekdays for hospital staff.</p>";
    let teaser = "<h3>Das könnte Sie auch interessieren</h3><p>Neue Brücke über den Kanal: die Pläne der Stadt.</p>";
    let body = without_repeats_or_furniture(&format!("{story}{teaser}"), &[]);
    let text = body_text(&body);
    assert!(text.contains("hospital staff"), "{text}");
    assert!(
        !text.contains("interessieren") && !text.contains("Brücke"),
        "{text}"
    );
    // A button with that label is a control inside the post; a heading
    // high up opens no trailing section.
    let button = format!(
        "{story}<p><a class=button href=/c><span>Leave a comment</span></a></p><p>A last word.</p>"
    );
    assert!(body_text(&without_repeats_or_furniture(&button, &[])).contains("A last word."));
    // An advertisement's label, alone in its block, is not the story's either.
    let labelled = format!("{story}<div>Anzeige</div><p>A last word.</p>");
    let text = body_text(&without_repeats_or_furniture(&labelled, &[]));
    assert!(
        text.contains("A last word.") && !text.contains("Anzeige"),
        "{text}"
    );
    let early = format!("<h3>Related articles</h3>{story}");
    assert!(body_text(&without_repeats_or_furniture(&early, &[])).contains("hospital staff"));
}

#[test]
fn a_post_kept_for_scripts_is_read_from_its_noscript_copy() {
    let post = BODY.replace("<p>", "<p class=x>");
    let e = page(
        "https://blog.example.org/ferry",
        &format!(
            r#"<html><body><h1>Ferry</h1><div class=post-body><script type="text/template">{post}</script><noscript>{post}</noscript></div></body></html>"#
        ),
    );
    let body = body_text(&e.body.expect("a body").value);
    assert!(body.contains("harbour budget"), "{body}");
}

#[test]
fn a_description_that_is_the_whole_text_leaves_the_body_alone() {
    let words: Vec<String> = (0..200).map(|i| format!("word{i}")).collect();
    let long = words.join(" ");
    let e = page(
        "https://blog.example.org/long",
        &format!(
            r#"<html><head><title>All of it</title><meta name="description" content="{long}"></head>
<body><article><h1>All of it</h1><div class="post"><p>{long}</p></div></article></body></html>"#
        ),
    );
    let body = body_text(&e.body.expect("a body").value);
    assert!(
        body.contains("word0 word1") && body.contains("word199"),
        "{body}"
    );
}

#[test]
fn a_read_also_line_leaves_the_body_and_prose_with_links_stays() {
    let e = page(
        "https://news.example.org/harbour",
        &format!(
            r#"<html><head><title>Harbour dredged</title></head><body><article><h1>Harbour dredged</h1>
<p>The dredger worked through the night, and <a href="/tides">the tide tables</a> were changed for the week.</p>
{BODY}
<p>Read also: <a href="/other">Lighthouse keeper retires after forty years on the rock</a></p>
</article></body></html>"#
        ),
    );
    let body = body_text(&e.body.expect("a body").value);
    assert!(body.contains("and the tide tables were changed"), "{body}");
    assert!(!body.contains("Lighthouse keeper"), "{body}");
}

#[test]
fn a_utc_timestamp_a_day_off_the_address_shows_the_address_day() {
    let head = |published: &str| {
        format!(
            r#"<html><head><title>Night market opens</title>
<meta property="article:published_time" content="{published}"></head>
<body><article><h1>Night market opens</h1>{BODY}</article></body></html>"#
        )
    };
    let late = page(
        "https://news.example.org/2026/02/17/night-market/",
        &head("2026-02-18T02:18:11Z"),
    );
    let (d, _) = late.published.expect("a date");
    assert_eq!(d.value.to_rfc3339(), "2026-02-17T23:18:11-03:00");
    let early = page(
        "https://news.example.org/2026/01/01/night-market/",
        &head("2025-12-31T23:11:59Z"),
    );
    let (d, _) = early.published.expect("a date");
    assert_eq!(d.value.to_rfc3339(), "2026-01-01T00:11:59+01:00");
    // Same day, or a page that gave its own offset: left as written.
    for (url, published, shown) in [
        (
            "https://news.example.org/2026/02/18/night-market/",
            "2026-02-18T02:18:11Z",
            "2026-02-18T02:18:11+00:00",
        ),
        (
            "https://news.example.org/2026/02/17/night-market/",
            "2026-02-18T02:18:11+02:00",
            "2026-02-18T02:18:11+02:00",
        ),
    ] {
        let (d, _) = page(url, &head(published)).published.expect("a date");
        assert_eq!(d.value.to_rfc3339(), shown);
    }
}

#[test]
fn a_utc_timestamp_a_day_off_the_shown_date_shows_the_shown_day() {
    let with_line = |line: &str| {
        page(
            "https://news.example.org/night-market",
            &format!(
                r#"<html><head><title>Night market opens</title>
<meta property="article:published_time" content="2026-03-02T23:30:00Z"></head>
<body><article><h1>Night market opens</h1><p class="line">{line}</p>{BODY}</article></body></html>"#
            ),
        )
    };
    let (d, _) = with_line("March 3, 2026").published.expect("a date");
    assert_eq!(d.value.to_rfc3339(), "2026-03-03T00:30:00+01:00");
    // The shown day agrees, or is further off: the timestamp as written.
    for line in ["March 2, 2026", "March 9, 2026", "By the harbour desk"] {
        let (d, _) = with_line(line).published.expect("a date");
        assert_eq!(d.value.to_rfc3339(), "2026-03-02T23:30:00+00:00", "{line}");
    }
}

#[test]
fn a_date_in_an_element_named_for_it_in_german_or_spanish_or_as_info() {
    for class in ["artikel-datum", "fecha-nota", "post-info"] {
        let e = page(
            "https://news.example.org/night-market",
            &format!(
                r#"<html><head><title>Harbour notes</title></head><body>
<div class="masthead">Harbour notes</div><article>{BODY}<span class="{class}">06.10.2025 11:15</span></article></body></html>"#
            ),
        );
        let (d, _) = e.published.expect(class);
        assert_eq!(d.value.date_naive().to_string(), "2025-10-06", "{class}");
    }
}

#[test]
fn a_date_opening_the_first_paragraph_is_the_dateline() {
    let with_opening = |opening: &str| {
        page(
            "https://news.example.org/ferry",
            &format!(
                r"<html><head><title>Ferry saved</title></head><body><div>
<p>{opening} the island council voted on Tuesday evening to keep the winter ferry running.</p>
<p>The crossing takes forty minutes and carries the post, the doctor and the school.</p></div></body></html>"
            ),
        )
    };
    for opening in ["01.02.2026 –", "Kiel (01.02.2026).", "01.02.2026:"] {
        let (d, _) = with_opening(opening).published.expect(opening);
        assert_eq!(d.value.date_naive().to_string(), "2026-02-01", "{opening}");
    }
    // A date further into the sentence is something the story mentions.
    let later = with_opening("After a long winter of meetings since 01.02.2026");
    assert!(later.published.is_none());
    // A story set in a `<div>` of text and line breaks, with no `<p>`; a
    // div that only holds other blocks is not a paragraph.
    let in_div = page(
        "https://news.example.org/ferry",
        r"<html><body><div class=text><strong>Kiel (01.02.2026).</strong> The island council voted on Tuesday evening to keep the winter ferry running.<br>The crossing takes forty minutes.</div></body></html>",
    );
    let (d, _) = in_div.published.expect("the div's dateline");
    assert_eq!(d.value.date_naive().to_string(), "2026-02-01");
}

#[test]
fn json_ld_in_a_script_without_a_type_is_read() {
    let with_script = |open: &str, json: &str| {
        page(
            "https://news.example.org/night-market",
            &format!(
                r"<html><head><title>Harbour notes</title>{open}{json}</script></head><body><article>{BODY}</article></body></html>"
            ),
        )
    };
    let json = r#"{"@context": "https://schema.org", "@type": "NewsArticle", "datePublished": "2025-10-06T06:00:00+01:00"}"#;
    let (d, _) = with_script("<script>", json).published.expect("a date");
    assert_eq!(d.value.to_rfc3339(), "2025-10-06T06:00:00+01:00");
    // A script of another type, or a bare one that is not schema.org, is
    // not (the bare one's date is only a page script's data, the last resort).
    let other = r#"{"@type": "NewsArticle", "datePublished": "2025-10-06T06:00:00+01:00"}"#;
    assert_eq!(
        with_script("<script>", other).published.map(|(_, s)| s),
        Some(DateSource::Meta)
    );
    assert!(
        with_script(r#"<script type="text/template">"#, json)
            .published
            .is_none()
    );
}

#[test]
fn furniture_named_by_its_class_leaves_the_body() {
    // Long enough for readability scoring to pick the text's container.
    let more = (1..=8)
        .map(|i| {
            format!(
                "<p>Firing number {i} of the old kiln took most of a day and a night, with the potters taking turns to feed it wood and watch the colour of the flame.</p>"
            )
        })
        .collect::<Vec<_>>()
        .concat();
    let e = page(
        "https://news.example.org/kiln",
        &format!(
            r#"<html><head><title>Kiln relit</title></head><body><article><h1>Kiln relit</h1>
<div class="shared-content">{BODY}{more}
<p>To start it, run <code class="language-sh"><span class="hljs-comment">kiln --start</span></code> at dawn.</p></div>
<div class="newsletter-box"><p>Sign up to get every story from the island, the harbour and the hills in your inbox, each Friday, with the tide tables.</p><p>We send one letter a week, and you can leave at any time, with one click, from any letter.</p></div>
</article></body></html>"#
        ),
    );
    let body = body_text(&e.body.expect("a body").value);
    assert!(body.contains("keep the ferry running"), "{body}");
    assert!(body.contains("kiln --start"), "{body}");
    assert!(!body.contains("Sign up"), "{body}");
}

#[test]
fn a_body_of_a_few_words_gives_way_to_a_fuller_fallback() {
    let label = || {
        Some(found(
            "<p>Audio and video on this topic</p>".to_owned(),
            "readability",
        ))
    };
    let text = || Some(found(BODY.to_owned(), "densest block"));
    assert_eq!(fuller_of(label(), text).unwrap().from, "densest block");
    // Nothing better: the few words stay.
    assert_eq!(fuller_of(label(), || None).unwrap().from, "readability");
    let teaser = || {
        Some(found(
            "<p>Only a teaser of some eight words here.</p>".to_owned(),
            "densest block",
        ))
    };
    assert_eq!(fuller_of(label(), teaser).unwrap().from, "readability");
    // A body of its own length is never replaced, nor looked past.
    let fallback_called = std::cell::Cell::new(false);
    let kept = fuller_of(text(), || {
        fallback_called.set(true);
        None
    });
    assert_eq!(kept.unwrap().from, "densest block");
    assert!(!fallback_called.get());
    // No body at all: whatever the fallback finds.
    assert_eq!(fuller_of(None, teaser).unwrap().from, "densest block");
}

#[test]
fn a_template_class_on_the_body_element_is_not_furniture() {
    // WordPress themes name the layout on <body>: `right-sidebar` said
    // the whole page was a sidebar, and the article had no body.
    let e = page(
        "https://pods.example/about",
        &format!(
            r#"<html><head><title>About us</title></head>
<body class="page page-id-9 right-sidebar has-comments"><div class="wrap">
<h1>About us</h1><div class="entry-content">{BODY}</div></div></body></html>"#
        ),
    );
    let body = e.body.expect("a body");
    assert!(body.value.contains("harbour budget"), "{}", body.value);
}

#[test]
fn a_page_of_a_few_sentences_still_has_a_body() {
    let e = page(
        "https://pharmacy.example/products/chamomile-tea",
        r#"<html><head><title>Chamomile tea</title></head><body>
<nav><p>Products · Opening hours · Find us</p></nav>
<div class="container"><h1>Chamomile tea</h1>
<p>No leaflet for this product has been provided by its maker yet.</p>
<p>Ask at the counter.</p></div>
</body></html>"#,
    );
    let body = e.body.expect("a body");
    assert_eq!(body.from, "short text block");
    assert!(body.value.contains("No leaflet"), "{}", body.value);
    assert!(!body.value.contains("Opening hours"), "{}", body.value);
}

/// A page with `inner` under its headline, and paragraphs of text.
fn story_with(inner: &str) -> String {
    format!(
        r"<html><head><title>Weir opened</title></head><body>
<h1>Weir opened</h1>{inner}{BODY}</body></html>"
    )
}

#[test]
fn a_relative_time_keeps_its_date_in_its_title() {
    let e = page(
        "https://river.example/story/1",
        &story_with(
            r#"<div class="news-time-ago" title="2020-09-20T14:20:02Z">15 minutes ago</div>"#,
        ),
    );
    assert_eq!(date_of(&e).0, "2020-09-20T14:20:02+00:00");
}

#[test]
fn a_calendar_icon_is_followed_by_the_date() {
    let e = page(
        "https://river.example/story/2",
        &story_with(
            r#"<ul><li><i class="fa fa-calendar"></i> 16.10.2021<br><a href="/">News</a></li></ul>"#,
        ),
    );
    assert_eq!(date_of(&e).0, "2021-10-16T00:00:00+00:00");
}

#[test]
fn the_author_line_gives_the_date_beside_the_name() {
    let e = page(
        "https://river.example/story/3",
        &story_with(
            r#"<div class="author"><a href="/people/ann">Ann Weaver</a>, 21. Jan. 2015</div>"#,
        ),
    );
    assert_eq!(date_of(&e).0, "2015-01-21T00:00:00+00:00");
}
