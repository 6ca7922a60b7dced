//! End to end for running feedloom for months: the daemon as a subprocess
//! on a schedule and stopping on SIGTERM, the run lock, polite fetching
//! (Retry-After, backoff, redirects, 410), `status`, `serve` and OPML.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Project, fixture, free_port, round_trip, serve, serve_kitchen_and_almanac};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spawn(project: &Project, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(args)
        .arg("--config")
        .arg(project.config())
        .current_dir(project.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start feedloom")
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to exit, at most `limit`; returns its exit code.
fn wait_for(child: &mut Child, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(
            start.elapsed() < limit,
            "feedloom did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn requests_to(requests: &[wiremock::Request], route: &str) -> usize {
    requests.iter().filter(|r| r.url.path() == route).count()
}

fn status_json(project: &Project) -> Value {
    let out = project.feedloom(&["status", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    serde_json::from_str(&out.stdout).unwrap()
}

fn source_status<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

fn no_temp_files(project: &Project) {
    for entry in std::fs::read_dir(project.dir.path().join("output")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".feedloom-"), "temp file left: {name}");
    }
}

#[tokio::test]
async fn daemon_fetches_on_schedule_and_stops_on_sigterm() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let base = server.uri();
    let project = Project::new(&format!(
        "[settings]\ninterval = \"1s\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Kitchen\"\nurl = \"{base}/kitchen.json\"\n\n[[source]]\nname = \"Almanac\"\nurl = \"{base}/almanac.rdf\"\ninterval = \"2s\"\n"
    ));
    let mut daemon = spawn(&project, &["daemon"]);
    std::thread::sleep(Duration::from_millis(6500));
    let requests = server.received_requests().await.unwrap();
    let kitchen = requests_to(&requests, "/kitchen.json");
    let almanac = requests_to(&requests, "/almanac.rdf");
    assert!((5..=8).contains(&kitchen), "every second: {kitchen}");
    assert!((3..=4).contains(&almanac), "every two seconds: {almanac}");
    // After the first fetch every request is conditional.
    let conditional = requests
        .iter()
        .filter(|r| r.headers.contains_key("if-none-match"))
        .count();
    assert_eq!(conditional, kitchen + almanac - 2);

    signal(&daemon, "TERM");
    assert_eq!(wait_for(&mut daemon, Duration::from_secs(5)), 0);
    round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    assert_eq!(
        project.json("all.json")["items"].as_array().unwrap().len(),
        2
    );
    no_temp_files(&project);
}

#[tokio::test]
async fn sigterm_in_the_middle_of_fetching_exits_cleanly() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/slow.rdf"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("feeds/rdf.rdf"), "application/rdf+xml")
                .set_delay(Duration::from_secs(20)),
        )
        .mount(&server)
        .await;
    let base = server.uri();
    let project = Project::new(&format!(
        "[settings]\ninterval = \"1s\"\ntimeout = \"60s\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Kitchen\"\nurl = \"{base}/kitchen.json\"\n\n[[source]]\nname = \"Slow\"\nurl = \"{base}/slow.rdf\"\n"
    ));
    let mut daemon = spawn(&project, &["daemon"]);
    std::thread::sleep(Duration::from_millis(1500));
    signal(&daemon, "TERM");
    let started = Instant::now();
    assert_eq!(wait_for(&mut daemon, Duration::from_secs(6)), 0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (channel, _) = round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    assert_eq!(channel.items().len(), 1, "the fast source was published");
    no_temp_files(&project);
}

#[tokio::test]
async fn two_runs_at_once_only_one_fetches() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/slow.json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("feeds/feed.json"), "application/feed+json")
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&server)
        .await;
    let project = Project::new(&format!(
        "[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Slow\"\nurl = \"{}/slow.json\"\n",
        server.uri()
    ));
    let mut first = spawn(&project, &["run"]);
    std::thread::sleep(Duration::from_millis(400));
    let second = project.feedloom(&["run", "--all"]);
    assert_eq!(second.code, 4, "{second:?}");
    assert!(
        second.stderr.contains("another feedloom"),
        "{}",
        second.stderr
    );
    // The refused run asked nothing: at most the first run's request is in.
    assert!(server.received_requests().await.unwrap().len() <= 1);
    assert_eq!(wait_for(&mut first, Duration::from_secs(10)), 0);
    assert!(!server.received_requests().await.unwrap().is_empty());
    // The lock went with the process that held it.
    assert_eq!(project.feedloom(&["run"]).code, 0);
}

#[tokio::test]
async fn a_killed_run_does_not_block_the_next() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/slow.json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("feeds/feed.json"), "application/feed+json")
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let project = Project::new(&format!(
        "[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Slow\"\nurl = \"{}/slow.json\"\n",
        server.uri()
    ));
    let mut first = spawn(&project, &["run"]);
    std::thread::sleep(Duration::from_millis(400));
    signal(&first, "KILL");
    wait_for(&mut first, Duration::from_secs(5));
    let out = project.feedloom(&["run", "--quiet"]);
    assert_ne!(out.code, 4, "{out:?}");
}

#[tokio::test]
async fn retry_after_holds_the_host_and_status_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/busy.xml"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let project = Project::new(&format!(
        "[settings]\ninterval = \"1s\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Busy\"\nurl = \"{}/busy.xml\"\n",
        server.uri()
    ));
    let first = project.feedloom(&["run"]);
    assert_eq!(first.code, 3, "{first:?}");
    assert!(
        first.stderr.contains("HTTP 429") && first.stderr.contains("retry after 3600s"),
        "{}",
        first.stderr
    );
    // Not asked again before the time given, even when forced.
    let again = project.feedloom(&["run", "--all"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let status = status_json(&project);
    let busy = source_status(&status, "Busy");
    assert_eq!(busy["state"], "backing off");
    assert!(busy["last_error"].as_str().unwrap().contains("429"));
    let due = chrono::DateTime::parse_from_rfc3339(busy["next_due"].as_str().unwrap()).unwrap();
    assert!(
        due > chrono::Utc::now() + chrono::TimeDelta::minutes(59),
        "{due}"
    );
}

fn wait_seconds(status: &Value, name: &str) -> i64 {
    let s = source_status(status, name);
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
    (at("next_due") - at("last_attempt")).num_seconds()
}

#[tokio::test]
async fn backoff_grows_with_failures_and_resets_on_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/flaky.json"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let project = Project::new(&format!(
        "[settings]\ninterval = \"10s\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Flaky\"\nurl = \"{}/flaky.json\"\n",
        server.uri()
    ));
    let mut waits = Vec::new();
    for _ in 0..4 {
        assert_eq!(project.feedloom(&["run", "--all"]).code, 3);
        waits.push(wait_seconds(&status_json(&project), "Flaky"));
    }
    // 10s doubled per failure, with ±10% jitter: about 20, 40, 80, 160.
    for (wait, expected) in waits.iter().zip([20, 40, 80, 160]) {
        assert!(
            (expected * 9 / 10 - 1..=expected * 11 / 10 + 1).contains(wait),
            "{waits:?}"
        );
    }
    assert_eq!(
        source_status(&status_json(&project), "Flaky")["consecutive_failures"],
        4
    );
    server.reset().await;
    serve(
        &server,
        "/flaky.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    let status = status_json(&project);
    assert_eq!(source_status(&status, "Flaky")["state"], "ok");
    assert_eq!(source_status(&status, "Flaky")["consecutive_failures"], 0);
    assert!((10..=11).contains(&wait_seconds(&status, "Flaky")));
}

#[tokio::test]
async fn permanent_redirects_move_the_source_and_gone_disables_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/old.json"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "/new.json"))
        .mount(&server)
        .await;
    serve(
        &server,
        "/new.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/gone.xml"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop-a"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/loop-b"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop-b"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/loop-a"))
        .mount(&server)
        .await;
    let base = server.uri();
    let project = Project::new(&format!(
        "[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Moved\"\nurl = \"{base}/old.json\"\n\n[[source]]\nname = \"Gone\"\nurl = \"{base}/gone.xml\"\n\n[[source]]\nname = \"Loop\"\nurl = \"{base}/loop-a\"\n"
    ));
    let first = project.feedloom(&["run"]);
    assert_eq!(first.code, 3, "{first:?}");
    assert!(
        first.stderr.contains(&format!(
            "source `Moved` moved permanently to {base}/new.json"
        )),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("410 Gone"), "{}", first.stderr);
    assert!(first.stderr.contains("redirect loop"), "{}", first.stderr);

    let before = server.received_requests().await.unwrap().len();
    project.feedloom(&["run", "--all"]);
    let requests = server.received_requests().await.unwrap()[before..].to_vec();
    assert_eq!(
        requests_to(&requests, "/old.json"),
        0,
        "the stored URL is used"
    );
    assert_eq!(requests_to(&requests, "/new.json"), 1);
    assert_eq!(
        requests_to(&requests, "/gone.xml"),
        0,
        "a gone source is not asked again"
    );

    let status = status_json(&project);
    assert_eq!(
        source_status(&status, "Moved")["moved_to"],
        format!("{base}/new.json")
    );
    assert_eq!(source_status(&status, "Gone")["state"], "disabled");
    let table = project.feedloom(&["status"]);
    assert!(
        table.stdout.contains("disabled") && table.stdout.contains("moved to"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("3 sources:"), "{}", table.stdout);
}

#[tokio::test]
async fn serve_answers_conditional_requests_and_newsboat_subscribes() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let base = server.uri();
    let project = Project::new(&format!(
        "[[output]]\nname = \"all\"\nformats = [\"rss\", \"atom\", \"json\", \"opml\"]\n\n[[source]]\nname = \"Kitchen\"\nurl = \"{base}/kitchen.json\"\n\n[[source]]\nname = \"Almanac\"\nurl = \"{base}/almanac.rdf\"\n"
    ));
    assert_eq!(project.feedloom(&["run"]).code, 0);
    let port = free_port();
    let mut serving = spawn(&project, &["serve", "--addr", &format!("127.0.0.1:{port}")]);
    let url = format!("http://127.0.0.1:{port}/all.atom");
    let client = reqwest::Client::new();
    let mut first = None;
    for _ in 0..50 {
        if let Ok(r) = client.get(&url).send().await {
            first = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = first.expect("serve answers");
    assert_eq!(first.status(), 200);
    assert_eq!(
        first.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let last_modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.bytes().await.unwrap(), project.read("all.atom"));
    let again = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let since = client
        .get(&url)
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(since.status(), 304);
    let json = client
        .get(format!("http://127.0.0.1:{port}/all.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json.headers()["content-type"],
        "application/feed+json; charset=utf-8"
    );
    let rss = client
        .get(format!("http://127.0.0.1:{port}/all.rss"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        rss.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let escape = client
        .get(format!("http://127.0.0.1:{port}/../feeds.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(escape.status(), 404);
    let opml = client
        .get(format!("http://127.0.0.1:{port}/all.opml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        opml.contains(&format!("xmlUrl=\"{base}/kitchen.json\"")),
        "{opml}"
    );

    // A real reader subscribed by URL loads every item.
    let tool =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/newsboat-read");
    if tool.exists() && Command::new("newsboat").arg("--version").output().is_ok() {
        let out = Command::new(&tool)
            .arg("--json")
            .arg(&url)
            .output()
            .unwrap();
        let seen: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(seen["item_count"], 2, "{seen}");
        assert_eq!(seen["errors"].as_array().map_or(0, Vec::len), 0, "{seen}");
    } else {
        eprintln!("skipping the newsboat subscription: newsboat or ../shared/tools is absent");
    }
    signal(&serving, "TERM");
    assert_eq!(wait_for(&mut serving, Duration::from_secs(5)), 0);
}

#[test]
fn opml_round_trips_through_import_and_export() {
    let project = Project::new(
        "# My feeds, hand-kept.\n[settings]\ninterval = \"1h\"  # hourly is enough\n\n[[output]]\nname = \"all\"\n",
    );
    let list = project.dir.path().join("subscriptions.opml");
    std::fs::write(
        &list,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Exported elsewhere</title></head><body>
<outline text="Cooking"><outline type="rss" text="Slow Kitchen" xmlUrl="https://kitchen.example.org/feed.json"/></outline>
<outline type="rss" text="Tide tables" title="Tide tables" xmlUrl="https://tides.example.net/rss.xml" htmlUrl="https://tides.example.net/"/>
</body></opml>"#,
    )
    .unwrap();
    let imported = project.feedloom(&["import-opml", list.to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{imported:?}");
    assert!(imported.stdout.contains("2 added"), "{}", imported.stdout);
    let config = std::fs::read_to_string(project.config()).unwrap();
    assert!(
        config.starts_with(
            "# My feeds, hand-kept.\n[settings]\ninterval = \"1h\"  # hourly is enough\n"
        ),
        "{config}"
    );
    let twice = project.feedloom(&["import-opml", list.to_str().unwrap()]);
    assert!(
        twice.stdout.contains("0 added, 2 already"),
        "{}",
        twice.stdout
    );

    let exported = project.feedloom(&["export-opml"]);
    assert_eq!(exported.code, 0, "{exported:?}");
    let doc = opml::OPML::from_str(
        exported
            .stdout
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
    )
    .unwrap();
    let urls: Vec<String> = doc
        .body
        .outlines
        .iter()
        .filter_map(|o| o.xml_url.clone())
        .collect();
    assert_eq!(
        urls,
        [
            "https://kitchen.example.org/feed.json",
            "https://tides.example.net/rss.xml"
        ]
    );
    let names: Vec<&str> = doc.body.outlines.iter().map(|o| o.text.as_str()).collect();
    assert_eq!(names, ["Slow Kitchen", "Tide tables"]);
}
