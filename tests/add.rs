//! `feedloom add URL`: an address copied from a browser becomes a source,
//! through a real local HTTP server: a feed as it is, the feed a page
//! advertises, one at a usual place, or the page scraped with selectors
//! found for it. feeds.toml keeps its comments; a URL already there is
//! refused; `run` on a page that advertises a feed names that feed.

mod common;

use std::fmt::Write as _;

use common::{Project, fixture, serve};
use wiremock::MockServer;

const START: &str = "# my reading list\n[settings]\ninterval = \"1h\" # hourly is plenty\n\n[[output]]\nname = \"all\"\n";

/// Serves an HTML page with `head` and `body`.
async fn html(server: &MockServer, route: &str, head: &str, body: &str) {
    let bytes = format!(
        "<!DOCTYPE html><html><head><title>A site</title>{head}</head><body>{body}</body></html>"
    );
    serve(
        server,
        route,
        bytes.into_bytes(),
        "text/html; charset=utf-8",
    )
    .await;
}

fn config(project: &Project) -> String {
    std::fs::read_to_string(project.config()).unwrap()
}

#[tokio::test]
async fn a_feed_address_is_added_as_it_is_and_never_twice() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/almanac.rdf",
        fixture("feeds/rdf.rdf"),
        "application/rdf+xml",
    )
    .await;
    let project = Project::new(START);
    let url = format!("{}/almanac.rdf", server.uri());
    let added = project.feedloom(&["add", &url, "--tags", "weather,daily"]);
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("a feed (the address is a feed)"),
        "{}",
        added.stdout
    );
    // What `check --source` shows follows.
    assert!(added.stdout.contains("item(s) listed"), "{}", added.stdout);
    let text = config(&project);
    assert!(text.starts_with(START), "comments and layout kept:\n{text}");
    assert!(
        text.contains(&format!("url = \"{url}\"\ntags = [\"weather\", \"daily\"]")),
        "{text}"
    );
    let again = project.feedloom(&["add", &format!("{url}/")]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("is already source"),
        "{}",
        again.stderr
    );
    assert_eq!(config(&project), text);
    assert_eq!(project.feedloom(&["run"]).code, 0);
}

#[tokio::test]
async fn a_page_gives_the_feed_it_advertises_and_run_names_it() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/blog/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    serve(
        &server,
        "/almanac.rdf",
        fixture("feeds/rdf.rdf"),
        "application/rdf+xml",
    )
    .await;
    html(
        &server,
        "/blog/",
        r#"<link rel="alternate" type="application/feed+json" href="kitchen.json" title="Recipes"><link rel="alternate" type="application/rss+xml" href="/almanac.rdf">"#,
        "<p>Hello.</p>",
    )
    .await;
    let blog = format!("{}/blog/", server.uri());

    // `run` on the page itself fails that source, naming the real feed.
    let wrong = Project::new(&format!(
        "{START}\n[[source]]\nname = \"Blog\"\nurl = \"{blog}\"\n"
    ));
    let run = wrong.feedloom(&["run"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains(&format!(
            "the page advertises its feed at {}/blog/kitchen.json",
            server.uri()
        )),
        "{}",
        run.stderr
    );

    let project = Project::new(START);
    let added = project.feedloom(&["add", &blog]);
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("the page advertises 2 feeds"),
        "{}",
        added.stdout
    );
    assert!(added.stdout.contains(" * 1. "), "{}", added.stdout);
    let text = config(&project);
    assert!(
        text.contains(&format!("url = \"{}/blog/kitchen.json\"", server.uri())),
        "{text}"
    );
    // The feed's own title names it.
    assert!(text.contains("name = \"JSON Kitchen\""), "{text}");

    let second = Project::new(START);
    let picked = second.feedloom(&["add", &blog, "--pick", "2", "--name", "Almanac"]);
    assert_eq!(picked.code, 0, "{}", picked.stderr);
    assert!(
        config(&second).contains(&format!(
            "name = \"Almanac\"\nurl = \"{}/almanac.rdf\"",
            server.uri()
        )),
        "{}",
        config(&second)
    );
    let too_far = second.feedloom(&["add", &format!("{blog}?x=1"), "--pick", "3"]);
    assert_eq!(too_far.code, 1);
    assert!(
        too_far.stderr.contains("advertises 2 feed(s)"),
        "{}",
        too_far.stderr
    );
}

#[tokio::test]
async fn a_page_that_advertises_nothing_gets_the_feed_at_a_usual_place() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/rss.xml",
        fixture("feeds/rdf.rdf"),
        "application/rss+xml",
    )
    .await;
    html(&server, "/about/", "", "<p>No links here.</p>").await;
    let project = Project::new(START);
    let added = project.feedloom(&["add", &format!("{}/about/", server.uri())]);
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("/rss.xml on its site is one"),
        "{}",
        added.stdout
    );
    assert!(config(&project).contains(&format!("url = \"{}/rss.xml\"", server.uri())));
}

#[tokio::test]
async fn a_page_with_no_feed_becomes_a_scrape_source_that_works() {
    let server = MockServer::start().await;
    let mut stories = String::new();
    for (slug, title, date) in [
        ("bridge", "The bridge reopens on Monday", "2026-03-02"),
        ("library", "Library extends its opening hours", "2026-03-01"),
        (
            "market",
            "Saturday market moves to the square",
            "2026-02-28",
        ),
        (
            "choir",
            "School choir wins the regional prize",
            "2026-02-27",
        ),
    ] {
        let _ = write!(
            stories,
            "<article class=\"teaser\"><h3><a href=\"/news/{slug}\">{title}</a></h3><time datetime=\"{date}T09:00:00Z\">{date}</time><p>More inside.</p></article>"
        );
    }
    html(
        &server,
        "/news/",
        "",
        &format!(
            "<header><nav><a href=\"/\">Home of the town</a><a href=\"/contact-the-town-hall\">Contact the town hall</a><a href=\"/events-calendar-page\">Events calendar page</a></nav></header><main><h1>News</h1><section id=\"latest\">{stories}</section></main>"
        ),
    )
    .await;
    let project = Project::new(START);
    let added = project.feedloom(&["add", &format!("{}/news/", server.uri()), "--name", "Town"]);
    assert_eq!(added.code, 0, "{}{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("a page listing 4 items"),
        "{}",
        added.stdout
    );
    let text = config(&project);
    assert!(
        text.contains("kind = \"scrape\"")
            && text.contains("[source.select]\nitem = \"section#latest > article.teaser\"\ntitle = \"h3 a\"\nlink = \"h3 a@href\"\ndate = \"time@datetime\""),
        "{text}"
    );
    // What `check --source` shows: every story with its date.
    assert!(
        added
            .stdout
            .contains("[4] title:   School choir wins the regional prize"),
        "{}",
        added.stdout
    );
    assert!(
        added.stdout.contains("2026-03-02T09:00:00"),
        "{}",
        added.stdout
    );
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let feed = project.json("all.json");
    let titles: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "The bridge reopens on Monday",
            "Library extends its opening hours",
            "Saturday market moves to the square",
            "School choir wins the regional prize"
        ]
    );
}

#[tokio::test]
async fn an_address_with_nothing_to_read_is_refused_with_the_reason() {
    let server = MockServer::start().await;
    html(
        &server,
        "/empty/",
        "",
        "<p>Only <a href=\"/one-long-article-link\">one long article link here</a>.</p>",
    )
    .await;
    let project = Project::new(START);
    let added = project.feedloom(&["add", &format!("{}/empty/", server.uri())]);
    assert_eq!(added.code, 1);
    assert!(
        added.stderr.contains("has no feed") && added.stderr.contains("/feed.json"),
        "{}",
        added.stderr
    );
    assert_eq!(config(&project), START);
    let bad = project.feedloom(&["add", "ftp://files.example/feed"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("is not an http(s) address"));
}
