//! The hostile world, round two: servers and settings that used to stop a
//! run or reach inside. Every server here listens on loopback only:
//! 127.0.0.1 plays the configured site, 127.0.0.2 plays "another host"
//! (an intranet box, an admin port, a metadata service).

mod common;

use std::time::Duration;

use common::{Project, fixture};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A mock server on another loopback address, standing in for a host the
/// configured sources must never reach.
async fn other_host() -> MockServer {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    MockServer::builder().listener(listener).start().await
}

async fn html(server: &MockServer, route: &str, body: String) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/html; charset=utf-8"))
        .mount(server)
        .await;
}

/// A page whose text must never be published.
async fn internal_pages(server: &MockServer) {
    let secret = "<html><head><title>Admin console</title></head><body><article><h1>Admin console</h1><p>INTERNAL-SECRET-TOKEN: the router password is hunter2, and this paragraph is long enough to be an article body for any extractor.</p><p>Second paragraph of private text, INTERNAL-SECRET-TOKEN again, so extraction has plenty to find.</p></article></body></html>";
    for route in ["/secret", "/admin", "/latest/meta-data"] {
        html(server, route, secret.to_owned()).await;
    }
}

fn no_secret_in_outputs(project: &Project) {
    for name in ["all.rss", "all.atom", "all.json"] {
        let text = String::from_utf8_lossy(&project.read(name)).into_owned();
        assert!(
            !text.contains("INTERNAL-SECRET-TOKEN") && !text.contains("Admin console"),
            "{name} published an internal page:\n{text}"
        );
    }
}

#[tokio::test]
async fn absurd_retry_after_values_neither_crash_nor_hold_a_host_for_ever() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "9999999999999"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/down"))
        .respond_with(
            ResponseTemplate::new(503).insert_header("Retry-After", "18446744073709551615"),
        )
        .mount(&server)
        .await;
    let other = other_host().await;
    Mock::given(method("GET"))
        .and(path("/garbled"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "tomorrow-ish"))
        .mount(&other)
        .await;
    let project = Project::new(&format!(
        r#"
[settings]
max_backoff = "1h"
[[output]]
name = "all"
[[source]]
name = "Busy"
url = "{uri}/busy"
[[source]]
name = "Down"
url = "{uri}/down"
[[source]]
name = "Garbled"
url = "{other}/garbled"
[[source]]
name = "Local"
path = "local.rss"
"#,
        uri = server.uri(),
        other = other.uri()
    ));
    std::fs::write(
        project.dir.path().join("local.rss"),
        fixture("feeds/rdf.rdf"),
    )
    .unwrap();
    for attempt in 0..3 {
        let run = project.feedloom(&["run", "--all"]);
        assert_eq!(run.code, 3, "attempt {attempt}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(
            !project.json("all.json")["items"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    let status = project.feedloom(&["status", "--json"]);
    assert_eq!(status.code, 0, "{status:?}");
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let latest = chrono::Utc::now() + chrono::TimeDelta::minutes(61);
    for source in status["sources"].as_array().unwrap() {
        let Some(due) = source["next_due"].as_str() else {
            continue;
        };
        let due = chrono::DateTime::parse_from_rfc3339(due).unwrap();
        assert!(due <= latest, "{} is held until {due}", source["name"]);
    }
    // A plain run (not --all) after the holds: still no crash.
    let run = project.feedloom(&["run"]);
    assert!(matches!(run.code, 0 | 3), "{run:?}");
}

#[tokio::test]
async fn a_listing_cannot_make_feedloom_read_other_hosts() {
    let site = MockServer::start().await;
    let inside = other_host().await;
    internal_pages(&inside).await;
    // A second port on the listing's own address, named `localhost`: another site.
    let admin_port = MockServer::start().await;
    internal_pages(&admin_port).await;
    let admin = format!("http://localhost:{}/admin", admin_port.address().port());
    let listing = format!(
        r#"<html><head><title>Harbour Gazette</title></head><body><ul>
<li class="story"><a href="/stories/tide.html">Tide tables revised</a></li>
<li class="story"><a href="{inside}/secret">Another host</a></li>
<li class="story"><a href="{admin}">An admin port</a></li>
<li class="story"><a href="/go/elsewhere">A redirect inside</a></li>
<li class="story"><a href="file:///etc/passwd">A local file</a></li>
<li class="story"><a href="http://169.254.169.254/latest/meta-data">Metadata</a></li>
</ul></body></html>"#,
        inside = inside.uri()
    );
    html(&site, "/latest", listing).await;
    html(&site, "/stories/tide.html", "<html><head><title>Tide tables revised</title></head><body><article><h1>Tide tables revised</h1><p>The harbour office published corrected tide tables for the spring, after a survey found the old ones ran eleven minutes late at the north quay.</p><p>Boat owners are asked to check the new times before the regatta.</p></article></body></html>".to_owned()).await;
    Mock::given(method("GET"))
        .and(path("/go/elsewhere"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/secret", inside.uri())),
        )
        .mount(&site)
        .await;
    // A feed source whose server redirects to the other host.
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("Location", format!("{}/secret", inside.uri())),
        )
        .mount(&site)
        .await;
    let config = |extra: &str| {
        format!(
            r#"
[settings]
timeout = "5s"
{extra}
[[output]]
name = "all"
[[source]]
name = "Gazette"
kind = "scrape"
url = "{site}/latest"
delay = "0s"
[source.select]
item = "li.story"
[source.article]
[[source]]
name = "Moved feed"
url = "{site}/feed.xml"
"#,
            site = site.uri()
        )
    };
    let project = Project::new(&config(""));
    let run = project.feedloom(&["run", "--all"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("Moved feed") && run.stderr.contains("refused to fetch"),
        "{}",
        run.stderr
    );
    assert!(
        inside.received_requests().await.unwrap().is_empty(),
        "the other host was asked"
    );
    assert!(
        admin_port.received_requests().await.unwrap().is_empty(),
        "the admin port was asked"
    );
    no_secret_in_outputs(&project);
    let feed = project.json("all.json");
    let items = feed["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    assert!(titles.contains(&"Tide tables revised"), "{titles:?}");
    // Links to other sites are still published, as links.
    assert!(titles.contains(&"Another host"), "{titles:?}");
    assert!(titles.contains(&"An admin port"), "{titles:?}");
    assert!(
        !items
            .iter()
            .any(|i| i["url"].as_str().is_some_and(|u| u.starts_with("file:"))),
        "a file: link was published: {items:?}"
    );

    // `check --source` says which links it did not follow, and why.
    let check = project.feedloom(&["check", "--source", "Gazette"]);
    assert!(
        check.stdout.contains("another site") || check.stderr.contains("another site"),
        "{check:?}"
    );

    // With `allow_private` and the host listed in `follow_hosts`, an
    // intranet aggregator can read the other host.
    let widened = Project::new(&config("allow_private = true").replace(
        "delay = \"0s\"",
        "delay = \"0s\"\nfollow_hosts = [\"127.0.0.2\"]",
    ));
    let run = widened.feedloom(&["run", "--all"]);
    assert!(matches!(run.code, 0 | 3), "{run:?}");
    assert!(
        !inside.received_requests().await.unwrap().is_empty(),
        "allow_private + follow_hosts should reach the other host"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}
