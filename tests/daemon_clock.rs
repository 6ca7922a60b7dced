//! The daemon keeps every source on its own clock: a source that takes
//! 20 s to answer holds nobody else, results are published shortly after
//! they arrive, and a burst of changes is one publish, not hundreds.

mod common;

use std::fmt::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Project;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A feed that gains one item on every request: item N is the N-th answer.
struct Growing {
    name: String,
    served: Arc<AtomicUsize>,
}

impl Respond for Growing {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_raw(feed(&self.name, n), "application/rss+xml")
    }
}

fn feed(name: &str, n: usize) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>https://{name}.example/</link><description>d</description>
<item><title>{name} update {n}</title><link>https://{name}.example/{n}</link><guid>https://{name}.example/{n}</guid></item></channel></rss>"#
    )
}

/// Starts `feedloom daemon` with its log in `log` (a pipe nobody reads
/// would fill and stall it).
fn daemon(project: &Project, log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("daemon")
        .arg("--config")
        .arg(project.config())
        .current_dir(project.dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start feedloom")
}

fn stop(child: &mut Child, within: Duration) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let asked = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            asked.elapsed() < within,
            "the daemon did not stop within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn published_titles(project: &Project) -> Vec<String> {
    let Ok(bytes) = std::fs::read(project.output("all.json")) else {
        return Vec::new();
    };
    let feed: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    feed["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_slow_source_never_delays_the_others() {
    let fast = MockServer::start().await;
    let mut counters = Vec::new();
    for i in 0..10 {
        let served = Arc::new(AtomicUsize::new(0));
        Mock::given(method("GET"))
            .and(path(format!("/fast{i}")))
            .respond_with(Growing {
                name: format!("fast{i}"),
                served: Arc::clone(&served),
            })
            .mount(&fast)
            .await;
        counters.push(served);
    }
    let slow = common::other_host().await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(feed("slow", 1), "application/rss+xml")
                .set_delay(Duration::from_secs(20)),
        )
        .mount(&slow)
        .await;
    let mut config = String::from(
        "[settings]\ntimeout = \"30s\"\npublish_delay = \"1s\"\nper_host = 10\n[[output]]\nname = \"all\"\nmax_items = 1000\n",
    );
    for i in 0..10 {
        let _ = write!(
            config,
            "[[source]]\nname = \"fast{i}\"\nurl = \"{}/fast{i}\"\ninterval = \"2s\"\n",
            fast.uri()
        );
    }
    let _ = write!(
        config,
        "[[source]]\nname = \"slow\"\nurl = \"{}/slow\"\ninterval = \"1h\"\n",
        slow.uri()
    );
    let project = Project::new(&config);
    let log = project.dir.path().join("daemon.log");
    let mut child = daemon(&project, &log);
    let started = Instant::now();

    // Half-way through the slow answer: what the fast sources served by
    // now is published within publish_delay + 2 s.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let served_by_now: Vec<usize> = counters.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let titles = published_titles(&project);
    for (i, n) in served_by_now.iter().enumerate() {
        assert!(*n >= 3, "fast{i} was fetched only {n} times in 10 s");
        let wanted = format!("fast{i} update {n}");
        assert!(
            titles.contains(&wanted),
            "{wanted} is not published: {titles:?}"
        );
    }
    assert!(!titles.iter().any(|t| t.starts_with("slow")));

    // While the slow source hangs (20 s), every fast one kept its clock.
    let hang_ends = Duration::from_secs(19);
    tokio::time::sleep(hang_ends.saturating_sub(started.elapsed())).await;
    for (i, c) in counters.iter().enumerate() {
        let n = c.load(Ordering::SeqCst);
        assert!(n >= 7, "fast{i} was fetched {n} times during the 20 s hang");
    }
    // The slow source's item is published once it answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !published_titles(&project).contains(&"slow update 1".to_owned()) {
        assert!(
            Instant::now() < deadline,
            "the slow source's item never arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(&mut child, Duration::from_secs(5));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_burst_of_changes_is_one_publish() {
    let mut config = String::from(
        "[settings]\npublish_delay = \"3s\"\nconcurrency = 32\n[[output]]\nname = \"all\"\nmax_items = 1000\n",
    );
    for i in 0..500 {
        let _ = write!(
            config,
            "[[source]]\nname = \"local{i}\"\npath = \"feeds/{i}.rss\"\ninterval = \"1h\"\n"
        );
    }
    let project = Project::new(&config);
    std::fs::create_dir(project.dir.path().join("feeds")).unwrap();
    for i in 0..500 {
        std::fs::write(
            project.dir.path().join(format!("feeds/{i}.rss")),
            feed(&format!("local{i}"), 1),
        )
        .unwrap();
    }
    let log = project.dir.path().join("daemon.log");
    let mut child = daemon(&project, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    while published_titles(&project).len() < 500 {
        assert!(
            Instant::now() < deadline,
            "500 sources were not all published"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(&mut child, Duration::from_secs(5));
    let log = std::fs::read_to_string(&log).unwrap();
    let publishes = log.lines().filter(|l| l.contains("Published.")).count();
    assert!(
        (1..=3).contains(&publishes),
        "500 changed sources took {publishes} publishes"
    );
    let status = project.feedloom(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert!(
        status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["fetching_since"].is_null() && s["next_due"].is_string()),
        "{status}"
    );
}
