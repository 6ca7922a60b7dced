//! WebSub: outputs advertise their hub, and a publish that changed a feed
//! tells the hub (a local HTTP server standing in for it) with
//! `hub.mode=publish` and the feed's self URL. A hub that fails never
//! fails the run.

mod common;

use std::time::{Duration, Instant};

use common::{Project, fixture, serve};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(feeds: &str, hub: &str, extra_output: &str) -> String {
    format!(
        r#"[settings]
public_url = "https://feeds.example/out/"
websub_hub = "{hub}/hub"

[[output]]
name = "all"
formats = ["rss", "atom", "json", "html"]

{extra_output}

[[source]]
name = "Kitchen"
url = "{feeds}/kitchen.json"
"#
    )
}

/// The form fields of every POST the hub received.
async fn pings(hub: &MockServer) -> Vec<Vec<(String, String)>> {
    hub.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| {
            url::form_urlencoded::parse(&r.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .collect()
}

fn topic(fields: &[(String, String)]) -> String {
    assert!(
        fields.contains(&("hub.mode".to_owned(), "publish".to_owned())),
        "{fields:?}"
    );
    fields
        .iter()
        .find(|(k, _)| k == "hub.url")
        .map(|(_, v)| v.clone())
        .expect("hub.url")
}

#[tokio::test]
async fn a_changed_feed_is_announced_to_its_hub_once() {
    let feeds = MockServer::start().await;
    serve(
        &feeds,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hub"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hub)
        .await;
    let project = Project::new(&config(
        &feeds.uri(),
        &hub.uri(),
        "[[output]]\nname = \"quiet\"\nformats = [\"rss\"]\nwebsub_hub = \"https://other-hub.example/\"\nsources = []\n",
    ));
    let run = project.feedloom(&["run", "-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut topics: Vec<String> = pings(&hub).await.iter().map(|f| topic(f)).collect();
    topics.sort();
    // RSS and Atom of `all`; JSON Feed and the page are not WebSub topics,
    // and `quiet` has its own hub.
    assert_eq!(
        topics,
        [
            "https://feeds.example/out/all.atom",
            "https://feeds.example/out/all.rss"
        ]
    );
    assert!(
        run.stderr.contains("WebSub: told the hub."),
        "{}",
        run.stderr
    );
    // Each feed names the hub and itself, as WebSub discovery wants.
    let rss = String::from_utf8(project.read("all.rss")).unwrap();
    assert!(
        rss.contains(&format!(
            "<atom:link href=\"{}/hub\" rel=\"hub\"/>",
            hub.uri()
        )),
        "{rss}"
    );
    assert!(rss.contains("href=\"https://feeds.example/out/all.rss\" rel=\"self\""));
    let atom = String::from_utf8(project.read("all.atom")).unwrap();
    assert!(
        atom.contains(&format!("<link href=\"{}/hub\" rel=\"hub\"/>", hub.uri())),
        "{atom}"
    );
    let quiet = String::from_utf8(project.read("quiet.rss")).unwrap();
    assert!(quiet.contains("href=\"https://other-hub.example/\" rel=\"hub\""));
    common::round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();

    // Nothing changed: nothing to announce.
    assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    assert_eq!(pings(&hub).await.len(), 2);
}

#[tokio::test]
async fn a_failing_hub_is_retried_and_never_fails_the_run() {
    let feeds = MockServer::start().await;
    serve(
        &feeds,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hub"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&hub)
        .await;
    let project = Project::new(&config(&feeds.uri(), &hub.uri(), ""));
    let started = Instant::now();
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    // Two feeds, three tries each.
    assert_eq!(pings(&hub).await.len(), 6);
    assert!(
        run.stderr.contains("WebSub: the hub was not told")
            && run.stderr.contains("HTTP 503 (3 tries)"),
        "{}",
        run.stderr
    );
    assert!(project.output("all.rss").exists());

    // A hub nobody answers at: the run still publishes and succeeds.
    let gone = common::free_port();
    let project = Project::new(&config(
        &feeds.uri(),
        &format!("http://127.0.0.1:{gone}"),
        "",
    ));
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("WebSub: the hub was not told"),
        "{}",
        run.stderr
    );
}
