//! Helpers shared by the end-to-end tests: fixtures, a temp project folder
//! with a feeds.toml, running the real binary, reading what it published.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Bytes of a file under `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Serves `body` at `route` with an ETag, answering 304 to a request that
/// sends the ETag back.
pub async fn serve(server: &MockServer, route: &str, body: Vec<u8>, content_type: &str) {
    let etag = format!("\"{}\"", route.trim_start_matches('/').replace('/', "-"));
    Mock::given(method("GET"))
        .and(path(route))
        .and(header("If-None-Match", etag.as_str()))
        .respond_with(ResponseTemplate::new(304).insert_header("ETag", etag.as_str()))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", etag.as_str())
                .insert_header("Last-Modified", "Wed, 11 Mar 2026 10:00:00 GMT")
                .set_body_raw(body, content_type),
        )
        .with_priority(2)
        .mount(server)
        .await;
}

/// Two good feeds many tests start from: JSON Kitchen and the RDF Almanac.
pub async fn serve_kitchen_and_almanac(server: &MockServer) {
    serve(
        server,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    serve(
        server,
        "/almanac.rdf",
        fixture("feeds/rdf.rdf"),
        "application/rdf+xml",
    )
    .await;
}

/// A temp folder holding a feeds.toml; outputs and state go beside it.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("feeds.toml"), config).unwrap();
        Self { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("feeds.toml")
    }

    pub fn output(&self, name: &str) -> PathBuf {
        self.dir.path().join("output").join(name)
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.output(name)).unwrap_or_else(|e| panic!("output {name}: {e}"))
    }

    /// Runs `feedloom ARGS --config <this feeds.toml>`.
    pub fn feedloom(&self, args: &[&str]) -> Outcome {
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.dir.path())
            .output()
            .expect("run feedloom");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs feedloom under `/usr/bin/time -v` where it exists, returning its
    /// peak memory in kB too (`None` without the tool).
    pub fn feedloom_measured(&self, args: &[&str]) -> (Outcome, Option<u64>) {
        let time = Path::new("/usr/bin/time");
        if !time.exists() {
            eprintln!("not measuring memory: /usr/bin/time is absent");
            return (self.feedloom(args), None);
        }
        let out = Command::new(time)
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_feedloom"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.dir.path())
            .output()
            .expect("run feedloom");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let peak = stderr
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.trim().parse().ok());
        // feedloom's own stderr, without time's report after it.
        let stderr = stderr
            .find("\tCommand being timed")
            .map_or(stderr.as_str(), |end| &stderr[..end])
            .to_owned();
        (
            Outcome {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr,
            },
            peak,
        )
    }

    /// Starts `feedloom ARGS --config <this feeds.toml>` in the background
    /// (a daemon, a server), its stderr kept for the test to read.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start feedloom")
    }

    /// What `feedloom ARGS --config <this feeds.toml>` shows on a terminal:
    /// run under `script` (util-linux), which gives it a pseudo-terminal as
    /// a person's shell would. `None`, with a message, where `script` is
    /// absent.
    pub fn on_a_terminal(&self, args: &[&str]) -> Option<String> {
        let command = format!(
            "{} {} --config {}",
            env!("CARGO_BIN_EXE_feedloom"),
            args.join(" "),
            self.config().display()
        );
        let Ok(out) = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
        else {
            eprintln!("skipping: `script` (util-linux) is absent");
            return None;
        };
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The JSON Feed output, parsed.
    pub fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.read(name)).unwrap()
    }
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Parses an RSS and an Atom output with all three reader crates, failing
/// the test if any of them refuses.
pub fn round_trip(rss: &[u8], atom: &[u8]) -> (rss::Channel, atom_syndication::Feed) {
    let channel = rss::Channel::read_from(rss).expect("rss crate reads our RSS");
    let feed = atom_syndication::Feed::read_from(atom).expect("atom_syndication reads our Atom");
    let from_rss = feed_rs::parser::parse(rss).expect("feed-rs reads our RSS");
    let from_atom = feed_rs::parser::parse(atom).expect("feed-rs reads our Atom");
    assert_eq!(from_rss.entries.len(), channel.items().len());
    assert_eq!(from_atom.entries.len(), feed.entries().len());
    (channel, feed)
}

/// The W3C Feed Validation Service's checker beside the checkout, if any.
fn validator() -> Option<PathBuf> {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/validate-feed");
    tool.exists().then_some(tool)
}

impl Project {
    /// Every RSS and Atom file this project published passes the W3C
    /// checker with 0 errors and 0 warnings (`validate-feed --strict`);
    /// skipped, with a message, where `../shared/tools` is absent.
    pub fn assert_valid_outputs(&self) {
        let Some(tool) = validator() else {
            eprintln!("not validating: ../shared/tools/validate-feed is absent");
            return;
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("output"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("rss" | "atom")));
        files.sort();
        assert!(!files.is_empty(), "nothing published to validate");
        let run = || {
            Command::new(&tool)
                .arg("--strict")
                .args(&files)
                .output()
                .expect("run validate-feed")
        };
        // The checker installs its libraries on its first run where the
        // system lacks them; tests running at once would race to create
        // the same virtualenv. The first run of this test binary goes
        // alone, the others wait for it.
        static FIRST_DONE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
        let first = {
            let mut done = FIRST_DONE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *done {
                None
            } else {
                let out = run();
                *done = true;
                Some(out)
            }
        };
        let out = first.unwrap_or_else(run);
        assert!(
            out.status.success(),
            "the W3C checker refuses the outputs:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs one of the real feed readers in `../shared/tools` (`newsboat-read`,
/// `feedparser-read`) on a file and parses its JSON; `None`, with a message,
/// where the tool or the reader behind it is absent.
pub fn reader(tool: &str, args: &[&str], file: &std::path::Path) -> Option<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tools")
        .join(tool);
    if !path.exists() {
        eprintln!("skipping {tool}: ../shared/tools is absent");
        return None;
    }
    let out = std::process::Command::new(&path)
        .args(args)
        .arg(file)
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed = serde_json::from_str(stdout.trim()).ok();
    if parsed.is_none() {
        eprintln!(
            "skipping {tool}: it did not run ({}{})",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parsed
}

/// The JSON Feed output's items by title.
pub fn by_title(feed: &serde_json::Value) -> std::collections::HashMap<String, serde_json::Value> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].as_str().unwrap().to_owned(), i.clone()))
        .collect()
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A mock server on another loopback address, 127.0.0.2: "another host"
/// in the tests (an intranet box, a slow remote site), still on loopback.
pub async fn other_host() -> MockServer {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    MockServer::builder().listener(listener).start().await
}

/// A PostgreSQL database URL for one test: the server named by
/// `FEEDLOOM_TEST_DATABASE_URL`, in a schema of this test's own (so tests
/// never see each other's rows). `None`, with a message, when no server is
/// named; with `FEEDLOOM_POSTGRES_TESTS=required` (as `.ci/run` sets) that
/// fails the test instead.
#[allow(dead_code)] // Not every test file that includes this uses it.
pub async fn postgres_url(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("FEEDLOOM_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("FEEDLOOM_POSTGRES_TESTS").as_deref() != Ok("required"),
            "FEEDLOOM_POSTGRES_TESTS=required, but FEEDLOOM_TEST_DATABASE_URL is not set"
        );
        eprintln!("skipping PostgreSQL: FEEDLOOM_TEST_DATABASE_URL is not set");
        return None;
    };
    let schema = format!(
        "{test}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to FEEDLOOM_TEST_DATABASE_URL");
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    drop(client);
    let _ = driver.await;
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}
