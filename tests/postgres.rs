//! The state in PostgreSQL (`database_url`): one writer at a time, on any
//! machine, and a clear error for a URL that is not PostgreSQL's. (That a
//! PostgreSQL state publishes the same bytes as an SQLite one is shown in
//! tests/incremental.rs.)

mod common;

use std::time::{Duration, Instant};

use common::{Project, serve_kitchen_and_almanac};
use wiremock::MockServer;

fn config(base: &str, database_url: &str) -> String {
    format!(
        r#"
[settings]
database_url = "{database_url}"
interval = "1h"

[[output]]
name = "all"

[[source]]
name = "Kitchen"
url = "{base}/kitchen.json"

[[source]]
name = "Almanac"
url = "{base}/almanac.rdf"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_process_writes_a_database_at_a_time_and_a_killed_one_frees_it() {
    let Some(url) = common::postgres_url("one_writer").await else {
        return;
    };
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    // Two folders, as two machines would have: the file lock beside one
    // does not stop the other; the database's lock must.
    let first = Project::new(&config(&server.uri(), &url));
    let second = Project::new(&config(&server.uri(), &url));
    let mut daemon = first.spawn(&["daemon"]);
    let started = Instant::now();
    // Until its file holds both sources' items (it publishes an empty one
    // first, then as results come in).
    let both = |p: &Project| {
        std::fs::read_to_string(p.output("all.rss"))
            .is_ok_and(|t| t.contains(">Kitchen<") && t.contains(">Almanac<"))
    };
    while !both(&first) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the daemon did not publish both sources"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let refused = second.feedloom(&["run"]);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("another feedloom run or daemon is using the state database"),
        "{}",
        refused.stderr
    );
    assert!(!second.output("all.rss").exists());

    daemon.kill().unwrap();
    daemon.wait().unwrap();
    // The server frees the lock when the killed process's connection
    // drops; the next run then goes ahead, with the state the daemon left
    // (no source is due again: nothing is fetched, all is published).
    let started = Instant::now();
    let ran = loop {
        let out = second.feedloom(&["run", "--verbose"]);
        if out.code == 0 || started.elapsed() > Duration::from_secs(10) {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stderr.contains("Fetched."), "{}", ran.stderr);
    // Every item the daemon published is in the second run's file.
    let guids = |bytes: Vec<u8>| -> Vec<String> {
        rss::Channel::read_from(&bytes[..])
            .unwrap()
            .items()
            .iter()
            .filter_map(|i| i.guid().map(|g| g.value().to_owned()))
            .collect()
    };
    let (before, after) = (guids(first.read("all.rss")), guids(second.read("all.rss")));
    assert!(!before.is_empty());
    assert!(
        before.iter().all(|g| after.contains(g)),
        "{before:?} {after:?}"
    );
    let status = second.feedloom(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains("Kitchen"), "{}", status.stdout);
}

#[test]
fn a_database_url_that_is_not_postgres_is_a_config_error() {
    let project = Project::new(&config("http://127.0.0.1:9", "mysql://db.example/feeds"));
    let out = project.feedloom(&["check"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("settings.database_url") && out.stderr.contains("PostgreSQL URL"),
        "{}",
        out.stderr
    );
}
