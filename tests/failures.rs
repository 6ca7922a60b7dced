//! End to end: a source that breaks fails alone, with a message naming it
//! and the cause; the others and the earlier items still publish; exit
//! codes say what happened.

mod common;

use std::time::{Duration, Instant};

use common::{Project, fixture, round_trip, serve, serve_kitchen_and_almanac};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn two_sources(base: &str, extra: &str) -> String {
    format!(
        r#"
[settings]
timeout = "1s"

[[output]]
name = "all"

[[source]]
name = "Kitchen"
url = "{base}/kitchen.json"

[[source]]
name = "Almanac"
url = "{base}/almanac.rdf"
{extra}
"#
    )
}

fn titles(project: &Project) -> Vec<String> {
    project.json("all.json")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_failing_source_keeps_its_earlier_items() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let project = Project::new(&two_sources(&server.uri(), ""));
    let first = project.feedloom(&["run"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stderr.is_empty(),
        "quiet when all is well: {}",
        first.stderr
    );
    assert_eq!(titles(&project).len(), 2);

    server.reset().await;
    serve(
        &server,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/almanac.rdf"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let second = project.feedloom(&["run", "--all"]);
    assert_eq!(second.code, 3, "{second:?}");
    assert!(
        second.stderr.contains("source `Almanac`"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("HTTP 500"), "{}", second.stderr);
    assert!(titles(&project).contains(&"Spring tides this week".to_owned()));
    round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
}

#[tokio::test]
async fn slow_missing_and_wrong_sources_fail_alone() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/almanac.rdf"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(8)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/page.html"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let base = server.uri();
    let extra = format!(
        r#"
[[source]]
name = "Gone"
url = "{base}/nothing-here.xml"

[[source]]
name = "Homepage"
url = "{base}/page.html"

[[source]]
name = "Missing file"
path = "no/such/feed.xml"
"#
    );
    let project = Project::new(&two_sources(&base, &extra));
    let started = Instant::now();
    let run = project.feedloom(&["run"]);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the slow source held the run"
    );
    assert_eq!(run.code, 3, "{run:?}");
    let expect = [
        ("Almanac", "timed out"),
        ("Gone", "HTTP 404"),
        ("Homepage", "HTML page"),
        ("Missing file", "feed.xml"),
    ];
    for (name, cause) in expect {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(&format!("source `{name}`")))
            .unwrap_or_else(|| panic!("{name} not named: {}", run.stderr));
        assert!(line.contains(cause), "{name}: {line}");
    }
    assert_eq!(titles(&project), ["Slow bread, fast mornings"]);
}

#[tokio::test]
async fn only_due_sources_are_fetched() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let project = Project::new(&two_sources(&server.uri(), ""));
    assert_eq!(project.feedloom(&["run"]).code, 0);
    let requests = server.received_requests().await.unwrap().len();
    assert_eq!(requests, 2);
    // Default interval is 30 minutes: nothing is due a moment later.
    assert_eq!(project.feedloom(&["run"]).code, 0);
    assert_eq!(server.received_requests().await.unwrap().len(), requests);
    assert_eq!(titles(&project).len(), 2, "outputs keep every item");
    assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        requests + 2
    );
}

#[test]
fn invalid_config_exits_1_naming_lines() {
    let project = Project::new(
        "[settings]\ninterval = \"soon\"\n\n[[source]]\nname = \"x\"\nurl = \"ftp://example.org/feed\"\n\n[[output]]\nname = \"all\"\nsources = [\"y\"]\n",
    );
    for command in ["run", "check"] {
        let out = project.feedloom(&[command]);
        assert_eq!(out.code, 1, "{out:?}");
        for needle in [
            "line 2, column 12: key `settings.interval`",
            "line 6, column 7: key `source[1].url`",
            "line 10, column 12: key `output[1].sources`",
        ] {
            assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
        }
    }
    assert!(!project.output("all.rss").exists());
}

#[test]
fn unwritable_output_exits_1() {
    let project =
        Project::new("[settings]\noutput_dir = \"feeds.toml/out\"\n\n[[output]]\nname = \"all\"\n");
    let out = project.feedloom(&["run"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("all.rss"), "{}", out.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let project = Project::new("");
    assert_eq!(project.feedloom(&["run", "--no-such-flag"]).code, 2);
    assert_eq!(project.feedloom(&["frobnicate"]).code, 2);
}

/// The repository's own feeds.toml works offline, as the README promises.
#[test]
fn bundled_config_publishes_offline() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = Project::new(&std::fs::read_to_string(root.join("feeds.toml")).unwrap());
    for folder in ["examples/feeds", "examples/articles"] {
        let to = project.dir.path().join(folder);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let check = project.feedloom(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("4 source(s)"), "{}", check.stdout);
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (channel, feed) = round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    assert_eq!(channel.items().len(), 8);
    assert_eq!(feed.entries().len(), 8);
    let json = project.json("all.json");
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    let swap = items
        .iter()
        .find(|i| i["title"] == "Seed Swap Fills the Village Hall")
        .unwrap();
    assert_eq!(swap["_feedloom"]["credit"], "Garden Club Archive");
    assert_eq!(swap["date_published"], "2026-03-08T00:00:00Z");
}
