//! `full_text = true`: a feed of teasers publishes whole articles, read
//! from each item's page on a real local HTTP server. The feed's title,
//! date and author stay; the teaser becomes the summary; a page is read
//! once, and a page that fails is retried a bounded number of times.

mod common;

use std::fmt::Write as _;

use common::Project;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn feed(base: &str) -> String {
    let item = |slug: &str, title: &str, day: u32| {
        format!(
            "<item><title>{title}</title><link>{base}/articles/{slug}</link><guid>{base}/articles/{slug}</guid><pubDate>{day:02} Mar 2026 08:00:00 +0000</pubDate><author>desk@paper.example (News Desk)</author><description>Teaser for {slug}: read on.</description></item>"
        )
    };
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>The Paper</title><link>{base}/</link><description>Teasers only</description>{}{}{}</channel></rss>",
        item("ferry", "Ferry timetable changes", 3),
        item("orchard", "Orchard planting day", 2),
        item("storm", "Storm damage report", 1),
    )
}

fn article(title: &str, words: &str) -> String {
    let mut paragraphs = String::new();
    for n in 1..=4 {
        let _ = write!(
            paragraphs,
            "<p>Paragraph {n} of the story about {words}. It goes on for a while with details that only the full article carries, far beyond what the teaser could say.</p>"
        );
    }
    format!(
        "<!DOCTYPE html><html><head><title>{title} | The Paper</title></head><body><nav><a href=\"/\">Home</a></nav><article><h1>{title}</h1>{paragraphs}</article><footer>Copyright notice</footer></body></html>"
    )
}

async fn mount(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/teasers.rss"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(feed(&server.uri()), "application/rss+xml"),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/articles/ferry"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(article("Ferry timetable changes", "the ferry"), "text/html"),
        )
        .mount(server)
        .await;
    // Fails once, then answers.
    Mock::given(method("GET"))
        .and(path("/articles/orchard"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/articles/orchard"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(article("Orchard planting day", "the orchard"), "text/html"),
        )
        .with_priority(2)
        .mount(server)
        .await;
    // Never answers well.
    Mock::given(method("GET"))
        .and(path("/articles/storm"))
        .respond_with(ResponseTemplate::new(500))
        .mount(server)
        .await;
}

async fn hits(server: &MockServer, route: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == route)
        .count()
}

fn item<'a>(feed: &'a serde_json::Value, title: &str) -> &'a serde_json::Value {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no item `{title}`"))
}

#[tokio::test]
async fn teasers_become_whole_articles_read_once_and_retried_a_few_times() {
    let server = MockServer::start().await;
    mount(&server).await;
    let project = Project::new(&format!(
        "[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Paper\"\nurl = \"{}/teasers.rss\"\nfull_text = true\ndelay = \"0s\"\n",
        server.uri()
    ));
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = project.json("all.json");
    let ferry = item(&out, "Ferry timetable changes");
    let body = ferry["content_html"].as_str().unwrap();
    assert!(
        body.contains("Paragraph 4 of the story about the ferry"),
        "{body}"
    );
    assert!(
        !body.contains("Copyright notice") && !body.contains("Home"),
        "{body}"
    );
    assert_eq!(ferry["summary"], "Teaser for ferry: read on.");
    // The feed's own fields stay.
    assert_eq!(ferry["date_published"], "2026-03-03T08:00:00Z");
    assert_eq!(ferry["authors"][0]["name"], "News Desk");
    // A failed page keeps the teaser.
    let orchard = item(&out, "Orchard planting day");
    assert_eq!(orchard["content_html"], "Teaser for orchard: read on.");
    project.assert_valid_outputs();

    // The next runs: the feed is the same. The ferry page is not read
    // again; the orchard page is retried and now answers; the storm page
    // is tried three times in all, then left alone.
    for _ in 0..3 {
        assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    }
    assert_eq!(hits(&server, "/articles/ferry").await, 1);
    assert_eq!(hits(&server, "/articles/orchard").await, 2);
    assert_eq!(hits(&server, "/articles/storm").await, 3);
    let out = project.json("all.json");
    let orchard = item(&out, "Orchard planting day");
    assert!(
        orchard["content_html"]
            .as_str()
            .unwrap()
            .contains("Paragraph 1 of the story about the orchard")
    );
    assert_eq!(orchard["summary"], "Teaser for orchard: read on.");
    assert_eq!(
        item(&out, "Storm damage report")["content_html"],
        "Teaser for storm: read on."
    );
    // Still the whole article after the feed is read again.
    assert!(
        item(&out, "Ferry timetable changes")["content_html"]
            .as_str()
            .unwrap()
            .contains("Paragraph 4")
    );

    // `check --source` shows which items get full text.
    let check = project.feedloom(&["check", "--source", "Paper"]);
    assert!(
        check.stdout.contains("words from the item's page"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("full text: none, the feed's text stays"),
        "{}",
        check.stdout
    );
}

#[test]
fn full_text_is_for_feeds_only() {
    let project = Project::new(
        "[[source]]\nname = \"Notes\"\nkind = \"files\"\npath = \"notes\"\nfull_text = true\n",
    );
    let check = project.feedloom(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stderr.contains("`full_text` is for feed sources"),
        "{}",
        check.stderr
    );
}
