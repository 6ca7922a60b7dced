//! The hostile world, round two: servers and settings that used to stop a
//! run or reach inside. Every server here listens on loopback only:
//! 127.0.0.1 plays the configured site, 127.0.0.2 plays "another host"
//! (an intranet box, an admin port, a metadata service).

mod common;

use std::time::Duration;

use common::{Project, fixture, free_port, other_host};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    project.assert_valid_outputs();
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
    project.assert_valid_outputs();
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

/// Kills the child when dropped, so a failing test leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(project: &Project, args: &[&str]) -> Child {
    Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(args)
            .arg("--config")
            .arg(project.config())
            .current_dir(project.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[tokio::test]
async fn serve_shows_only_what_was_published() {
    use tokio::io::AsyncWriteExt;
    // The careless layout: outputs in the project folder itself, beside
    // feeds.toml and the state.
    let project = Project::new(
        r#"
[settings]
output_dir = "."
[[output]]
name = "all"
[[source]]
name = "Local"
path = "local.rdf"
"#,
    );
    let dir = project.dir.path();
    std::fs::write(dir.join("local.rdf"), fixture("feeds/rdf.rdf")).unwrap();
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let check = project.feedloom(&["check"]);
    assert!(
        check.stderr.contains("warning: the state file")
            && check.stderr.contains("inside output_dir"),
        "{check:?}"
    );
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd.rss")).unwrap();
    std::fs::write(dir.join(".hidden.rss"), "private").unwrap();
    std::fs::write(dir.join("notes.txt"), "private").unwrap();

    let port = free_port();
    let _server = spawn(&project, &["serve", "--addr", &format!("localhost:{port}")]);
    let base = format!("http://localhost:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/all.rss")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "serve --addr localhost:PORT never answered");
    let feed = client.get(format!("{base}/all.rss")).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(feed.headers()["x-content-type-options"], "nosniff");
    for hidden in [
        "/feeds.toml",
        "/state/feedloom.db",
        "/state/feedloom.lock",
        "/passwd.rss",
        "/.hidden.rss",
        "/notes.txt",
        "/local.rdf",
    ] {
        let r = client.get(format!("{base}{hidden}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{hidden} was served");
        let body = r.text().await.unwrap();
        assert!(!body.contains("root:"), "{hidden}: {body}");
    }
    let index = client
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("all.rss") && !index.contains("feeds.toml") && !index.contains("passwd"),
        "{index}"
    );
    let refused = client.post(format!("{base}/all.rss")).send().await.unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "GET, HEAD");

    // 300 clients that never finish their headers do not stop it answering.
    let mut idle = Vec::new();
    for _ in 0..300 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .or(tokio::net::TcpStream::connect(("::1", port)).await)
        {
            let _ = s.write_all(b"GET /all.rss HTTP/1.1\r\nHost: x\r\n").await;
            idle.push(s);
        }
    }
    let answered = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(format!("{base}/all.atom")).send(),
    )
    .await;
    assert!(
        answered.is_ok_and(|r| r.is_ok_and(|r| r.status() == 200)),
        "no answer while 300 connections hang"
    );
    drop(idle);
}

#[test]
fn local_reads_are_bounded_and_never_block() {
    let project = Project::new(
        r#"
[settings]
timeout = "3s"
[[output]]
name = "all"
[[source]]
name = "Zero"
path = "/dev/zero"
[[source]]
name = "Pipe"
path = "pipe.rss"
[[source]]
name = "Folder"
kind = "files"
path = "articles"
[[source]]
name = "Local"
path = "local.rdf"
"#,
    );
    let dir = project.dir.path();
    std::fs::write(dir.join("local.rdf"), fixture("feeds/rdf.rdf")).unwrap();
    std::fs::create_dir(dir.join("articles")).unwrap();
    std::fs::write(
        dir.join("articles/kept.md"),
        "---\ntitle: Kept note\ndate: 2026-02-03\n---\nA note that sits beside a pipe.\n",
    )
    .unwrap();
    let fifo = |p: &std::path::Path| {
        assert!(
            std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .unwrap()
                .success()
        );
    };
    fifo(&dir.join("pipe.rss"));
    fifo(&dir.join("articles/stuck.md"));

    // Held to a deadline: before the fix this run never ended.
    let mut child = spawn(&project, &["run"]);
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "run hangs on a FIFO"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(3));
    let run = project.feedloom(&["run", "--all"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("Zero") && run.stderr.contains("device"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Pipe") && run.stderr.contains("FIFO"),
        "{}",
        run.stderr
    );
    let feed = project.json("all.json");
    let titles: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(titles.contains(&"Kept note"), "{titles:?}");
    project.assert_valid_outputs();

    // The daemon, with the same sources, stops within 5 s of SIGTERM.
    let mut daemon = spawn(&project, &["daemon"]);
    std::thread::sleep(Duration::from_millis(1500));
    let pid = daemon.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let asked = std::time::Instant::now();
    loop {
        if daemon.0.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "daemon still alive 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn files_links_encode_every_path_segment() {
    let project = Project::new(
        r#"
[[output]]
name = "all"
[[source]]
name = "Notes"
kind = "files"
path = "notes"
base_url = "https://example.org/notes/"
"#,
    );
    let notes = project.dir.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    for (file, title) in [
        ("notes#1.txt", "First numbered note"),
        ("notes#2.txt", "Second numbered note"),
        ("page?a.txt", "A page with a question mark"),
        ("two words.txt", "A name with a space"),
    ] {
        std::fs::write(
            notes.join(file),
            format!("{title}\n\nSome words of the note body here.\n"),
        )
        .unwrap();
    }
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let feed = project.json("all.json");
    let mut links: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap().to_owned())
        .collect();
    links.sort();
    assert_eq!(
        links,
        [
            "https://example.org/notes/notes%231.txt",
            "https://example.org/notes/notes%232.txt",
            "https://example.org/notes/page%3Fa.txt",
            "https://example.org/notes/two%20words.txt",
        ]
    );
    project.assert_valid_outputs();
}

#[tokio::test]
async fn small_things_a_user_hits() {
    // `extract … | head`: the reader goes away, feedloom ends quietly.
    let project = Project::new("");
    let page = project.dir.path().join("long.html");
    let paragraphs =
        "<p>Another paragraph of the long page, written to fill a pipe.</p>\n".repeat(20_000);
    std::fs::write(&page, format!("<html><head><title>Long</title></head><body><article><h1>Long</h1>{paragraphs}</article></body></html>")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("extract")
        .arg(&page)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Read;
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    } // stdout closed here, like `head` exiting
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");

    // Every mistake at once, each with its key, in words a person reads.
    let project = Project::new(
        r#"
[settings]
concurrency = "many"
per_host = "two"
[[output]]
name = "all"
[[source]]
name = "Listing"
kind = "scrape"
url = "https://example.org/"
[source.select]
item = "li[=x]"
[source.article]
body = "div[=y]"
"#,
    );
    let check = project.feedloom(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    for expected in [
        "key `settings.concurrency`",
        "key `settings.per_host`",
        "key `source[1].select.item`: `li[=x]`",
        "key `source[1].article.body`: `div[=y]`",
    ] {
        assert!(
            check.stderr.contains(expected),
            "missing {expected}:\n{}",
            check.stderr
        );
    }
    assert!(!check.stderr.contains("Please report"), "{}", check.stderr);

    // Sources but no output: said out loud, not a silent success.
    let project = Project::new("[[source]]\nname = \"Local\"\npath = \"local.rdf\"\n");
    std::fs::write(
        project.dir.path().join("local.rdf"),
        fixture("feeds/rdf.rdf"),
    )
    .unwrap();
    let run = project.feedloom(&["run"]);
    assert!(run.stderr.contains("no [[output]]"), "{run:?}");

    // `check --source` exits 1 when an item is skipped for having no link.
    let site = MockServer::start().await;
    html(&site, "/list", "<html><body><ul><li class=\"n\"><a href=\"/a\">Has a link</a></li><li class=\"n\">No link at all</li></ul></body></html>".to_owned()).await;
    let project = Project::new(&format!(
        "[[output]]\nname = \"all\"\n[[source]]\nname = \"Board\"\nkind = \"scrape\"\nurl = \"{}/list\"\n[source.select]\nitem = \"li.n\"\n",
        site.uri()
    ));
    let check = project.feedloom(&["check", "--source", "Board"]);
    assert_eq!(check.code, 1, "{check:?}");
}

/// Markup nested far deeper than any real page (the parser's cost grows
/// with the square of the nesting): a listing like that fails its source
/// alone, an article like that is skipped, and neither holds the run.
#[tokio::test]
async fn pages_nested_past_max_depth_are_refused_before_parsing() {
    let site = MockServer::start().await;
    let deep = |words: &str| {
        format!(
            "<html><head><title>Deep</title></head><body>{}<p>{words}</p>{}</body></html>",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        )
    };
    html(&site, "/deep-listing", deep("<a href=\"/a\">A story</a>")).await;
    html(
        &site,
        "/listing",
        r#"<html><body><ul>
<li class="story"><a href="/stories/quay.html">Quay lights repaired</a></li>
<li class="story"><a href="/stories/deep.html">A page of nested boxes</a></li>
</ul></body></html>"#
            .to_owned(),
    )
    .await;
    html(&site, "/stories/quay.html", "<html><head><title>Quay lights repaired</title></head><body><article><h1>Quay lights repaired</h1><p>The lamps along the east quay shine again after a week in the dark, the harbour office said on Tuesday, once a flooded junction box was replaced.</p></article></body></html>".to_owned()).await;
    html(&site, "/stories/deep.html", deep("NESTED-BOX-WORDS")).await;
    let project = Project::new(&format!(
        r#"
[[output]]
name = "all"
[[source]]
name = "Boxes"
kind = "scrape"
url = "{site}/deep-listing"
[source.select]
item = "p"
[[source]]
name = "Quay"
kind = "scrape"
url = "{site}/listing"
delay = "0s"
[source.select]
item = "li.story"
[source.article]
"#,
        site = site.uri()
    ));
    let run = project.feedloom(&["run", "--all"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("`Boxes`")
            && run.stderr.contains("nesting")
            && run.stderr.contains("settings.max_depth"),
        "{}",
        run.stderr
    );
    project.assert_valid_outputs();
    let feed = project.json("all.json");
    let items = feed["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    assert!(titles.contains(&"Quay lights repaired"), "{titles:?}");
    let text = feed.to_string();
    assert!(!text.contains("NESTED-BOX-WORDS"), "{text}");
    let check = project.feedloom(&["check", "--source", "Quay"]);
    assert!(
        format!("{}{}", check.stdout, check.stderr).contains("settings.max_depth"),
        "{check:?}"
    );
}
