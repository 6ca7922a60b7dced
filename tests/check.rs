//! `check` explains every mistake at once, and no setting can crash a run:
//! end to end through the binary, with a feeds.toml holding many mistakes,
//! the largest value of every duration and count, impossible schedules and
//! dates, a closed stdout, a terminal (through `script`), and `serve`'s
//! content types.

mod common;

use std::fmt::Write as _;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Project, free_port};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Quay</title><link>https://quay.example/</link><description>d</description>
<item><title>Placeholder date</title><link>https://quay.example/a</link><pubDate>Mon, 01 Jan 0001 00:00:00 +1400</pubDate></item>
<item><title>Real date</title><link>https://quay.example/b</link><pubDate>Tue, 10 Mar 2026 10:00:00 +0000</pubDate></item>
</channel></rss>"#;

#[test]
fn every_mistake_is_reported_in_one_pass_with_line_column_and_key() {
    let project = Project::new(
        r#"[settings]
concurency = 4
interval = "soon"
per_host = 100000

[[output]]
name = "all"
timezon = "UTC"
sources = ["Quay", "Nobody"]

[[source]]
name = "Quay"
url = "https://quay.example/feed"
schedule = "0 0 30 2 *"
max_items = "ten"

[[source]]
name = "Town"
kind = "scrape"
url = "https://town.example/news"
[source.select]
item = "li[=x]"
[source.article]
body = "div[[["
"#,
    );
    for command in ["check", "run"] {
        let out = project.feedloom(&[command]);
        assert_eq!(out.code, 1, "{command}: {}", out.stderr);
        for (place, key, what) in [
            (
                "line 2, column 1",
                "settings.concurency",
                "did you mean `concurrency`?",
            ),
            (
                "line 3, column 12",
                "settings.interval",
                "`soon` is not a duration",
            ),
            ("line 4, column 12", "settings.per_host", "from 1 to 256"),
            (
                "line 8, column 1",
                "output[1].timezon",
                "did you mean `timezone`?",
            ),
            (
                "line 9, column 20",
                "output[1].sources",
                "no source is named `Nobody`",
            ),
            (
                "line 14, column 12",
                "source[1].schedule",
                "never fires in the next 4 years",
            ),
            ("line 15, column 13", "source[1].max_items", "invalid type"),
            (
                "line 22, column 8",
                "source[2].select.item",
                "not a valid CSS selector",
            ),
            (
                "line 24, column 8",
                "source[2].article.body",
                "not a valid CSS selector",
            ),
        ] {
            let line = out
                .stderr
                .lines()
                .find(|l| l.starts_with(&format!("{place}: key `{key}`: ")))
                .unwrap_or_else(|| panic!("{command}: no `{place}` `{key}`:\n{}", out.stderr));
            assert!(line.contains(what), "{line}");
        }
        assert!(out.stderr.contains("has 9 mistakes"), "{}", out.stderr);
    }
}

/// Every duration key with the largest value it accepts, and every count.
fn largest(dir: &std::path::Path) -> String {
    std::fs::write(dir.join("quay.rss"), FEED).unwrap();
    r#"[settings]
interval = "365d"
timeout = "1h"
connect_timeout = "10m"
max_backoff = "365d"
publish_delay = "1h"
concurrency = 4096
per_host = 256
max_items = 10000000
max_response_size = 4294967296
max_depth = 100000
max_entries = 10000000
max_field_size = 1073741824
min_date = "1990-01-01"
[settings.retention]
max_age = "36500d"
max_items = 100000000

[[output]]
name = "all"
max_items = 10000000
page_items = 100000
formats = ["rss", "atom", "json", "html"]

[[source]]
name = "Quay"
path = "quay.rss"
interval = "365d"
max_items = 10000000
schedule = "59 23 31 12 *"
"#
    .to_owned()
}

#[test]
fn the_largest_value_of_every_setting_runs_and_one_more_is_refused() {
    let project = Project::new("");
    let config = largest(project.dir.path());
    std::fs::write(project.config(), &config).unwrap();
    let check = project.feedloom(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    for _ in 0..2 {
        let run = project.feedloom(&["run", "--all"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    // Past each bound: a check error naming the key, never a panic.
    for (key, huge) in [
        ("interval = \"365d\"", "interval = \"1000000y\""),
        ("timeout = \"1h\"", "timeout = \"18446744073709551615s\""),
        ("connect_timeout = \"10m\"", "connect_timeout = \"11m\""),
        ("max_backoff = \"365d\"", "max_backoff = \"366d\""),
        ("publish_delay = \"1h\"", "publish_delay = \"2h\""),
        ("max_age = \"36500d\"", "max_age = \"36501d\""),
        ("concurrency = 4096", "concurrency = 4097"),
        ("per_host = 256", "per_host = 9223372036854775807"),
        ("max_depth = 100000", "max_depth = 2"),
        ("page_items = 100000", "page_items = 0"),
        ("max_response_size = 4294967296", "max_response_size = -1"),
    ] {
        std::fs::write(project.config(), config.replacen(key, huge, 1)).unwrap();
        let out = project.feedloom(&["run"]);
        assert_eq!(out.code, 1, "{huge}: {}", out.stderr);
        let name = huge.split(' ').next().unwrap();
        assert!(
            out.stderr.contains(&format!("{name}`: `"))
                && (out.stderr.contains("out of range") || out.stderr.contains("not a duration")),
            "{huge}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn dates_before_min_date_are_not_believed() {
    let project = Project::new(
        "[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Quay\"\npath = \"quay.rss\"\n",
    );
    std::fs::write(project.dir.path().join("quay.rss"), FEED).unwrap();
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let feed = project.json("all.json");
    let item = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Placeholder date")
        .unwrap();
    let date = item["date_published"].as_str().unwrap();
    assert!(date.starts_with("20"), "{date}");
    assert_eq!(item["_feedloom"]["date_source"], "first-seen");
    let rss = String::from_utf8(project.read("all.rss")).unwrap();
    assert!(!rss.contains(" 0000 ") && !rss.contains("0001"), "{rss}");
    let check = project.feedloom(&["check", "--source", "Quay"]);
    assert!(
        check.stdout.contains(
            "the source's date 0000-12-31T10:00:00+00:00 is before settings.min_date (1990-01-01)"
        ),
        "{}",
        check.stdout
    );
    // The rule is a setting.
    std::fs::write(
        project.config(),
        "[settings]\nmin_date = \"2027-01-01\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Quay\"\npath = \"quay.rss\"\n",
    )
    .unwrap();
    let check = project.feedloom(&["check", "--source", "Quay"]);
    assert!(
        check
            .stdout
            .contains("2026-03-10T10:00:00+00:00 is before settings.min_date (2027-01-01)"),
        "{}",
        check.stdout
    );
}

#[test]
fn every_printing_command_ends_quietly_on_a_closed_stdout() {
    let mut config = String::from("[[output]]\nname = \"all\"\n");
    for i in 0..2000 {
        let _ = write!(
            config,
            "\n[[source]]\nname = \"source number {i} with a long name\"\nurl = \"https://example{i}.org/feed/with/a/long/path.xml\"\n"
        );
    }
    let project = Project::new(&config);
    for args in [&["check"][..], &["export-opml"], &["status"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(args)
            .arg("--config")
            .arg(project.config())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The reader goes away, as `| head -c 16` does.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.success() || out.status.signal() == Some(13),
            "{args:?}: {:?}",
            out.status
        );
    }
}

/// The screen a terminal would show for `raw` (carriage returns move to
/// the line start, `ESC[2K` clears the line, other escapes are dropped).
fn screen(raw: &str) -> Vec<String> {
    raw.split('\n')
        .map(|line| {
            let mut shown: Vec<char> = Vec::new();
            for segment in line.split('\r') {
                let mut col = 0;
                let mut chars = segment.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '\u{1b}' {
                        let mut code = String::new();
                        for d in chars.by_ref() {
                            code.push(d);
                            if d.is_ascii_alphabetic() {
                                break;
                            }
                        }
                        if code == "[2K" {
                            shown.clear();
                        }
                        continue;
                    }
                    if col < shown.len() {
                        shown[col] = c;
                    } else {
                        shown.push(c);
                    }
                    col += 1;
                }
            }
            shown.into_iter().collect()
        })
        .collect()
}

#[tokio::test]
async fn log_lines_never_share_a_line_with_the_progress_bar() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("^/slow/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(FEED, "application/rss+xml")
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    let mut config = String::from("[settings]\nconcurrency = 2\n\n[[output]]\nname = \"all\"\n");
    for i in 0..6 {
        let _ = write!(
            config,
            "\n[[source]]\nname = \"steady-{i}\"\nurl = \"{}/slow/{i}.rss\"\n",
            server.uri()
        );
    }
    let project = Project::new(&config);
    let Some(raw) = project.on_a_terminal(&["-v", "run"]) else {
        return;
    };
    assert!(
        raw.contains('█') || raw.contains('░'),
        "no bar was drawn: {raw}"
    );
    let lines = screen(&raw);
    let logs: Vec<&String> = lines.iter().filter(|l| l.contains("INFO")).collect();
    assert!(logs.len() >= 6, "{lines:#?}");
    for line in logs {
        assert!(
            !line.contains('█') && !line.contains('░'),
            "a bar frame shares the line: {line:?}"
        );
    }
}

#[tokio::test]
async fn serve_sends_each_file_with_its_type() {
    let project = Project::new("[[output]]\nname = \"all\"\nformats = [\"json\"]\n");
    let out = project.dir.path().join("output");
    std::fs::create_dir_all(&out).unwrap();
    for (name, bytes) in [
        ("all.json", &b"{}"[..]),
        ("extra.json", b"{}"),
        ("style.css", b"body{}"),
        ("logo.png", b"\x89PNG"),
        ("talk.mp3", b"ID3"),
        ("notes.txt", b"private"),
    ] {
        std::fs::write(out.join(name), bytes).unwrap();
    }
    let port = free_port();
    let mut child = project.spawn(&["serve", "--addr", &format!("127.0.0.1:{port}")]);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up);
    for (name, expected) in [
        ("all.json", Some("application/feed+json; charset=utf-8")),
        ("extra.json", Some("application/json; charset=utf-8")),
        ("style.css", Some("text/css; charset=utf-8")),
        ("logo.png", Some("image/png")),
        ("talk.mp3", Some("audio/mpeg")),
        ("notes.txt", None),
    ] {
        let r = client.get(format!("{base}/{name}")).send().await.unwrap();
        match expected {
            Some(t) => {
                assert_eq!(r.status(), 200, "{name}");
                assert_eq!(r.headers()["content-type"], t, "{name}");
            }
            None => assert_eq!(r.status(), 404, "{name}"),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
