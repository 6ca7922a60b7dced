//! The HTML page of an output, as a person meets it: published by `run`,
//! served by `feedloom serve`, loaded by headless Chromium at a desktop
//! and a phone width (tests/browser/check.mjs, on Playwright).
//!
//! The browser part needs Chromium and `npm ci` in tests/browser; without
//! them it says so and skips, unless FEEDLOOM_BROWSER_TESTS=required (as
//! `.ci/run` sets), where their absence fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use common::{Project, free_port};

/// Copies the page fixtures beside a feeds.toml with two outputs: the
/// river (every format, dates in Lisbon time) and one of hostile items.
fn project() -> Project {
    let project = Project::new(
        r#"[settings]
public_url = "http://127.0.0.1:8080/"

[[output]]
name = "river"
title = "Harbour & Lighthouse"
description = "Two small sources, one page."
formats = ["rss", "atom", "json", "opml", "html"]
sources = ["Harbour Radio", "Lighthouse Log"]
timezone = "Europe/Lisbon"
lang = "en-GB"

[[output]]
name = "trouble"
formats = ["html", "rss"]
sources = ["Trouble"]

[[source]]
name = "Harbour Radio"
path = "harbour.rss"

[[source]]
name = "Lighthouse Log"
path = "lighthouse.atom"

[[source]]
name = "Trouble"
path = "hostile.rss"
"#,
    );
    for name in ["harbour.rss", "lighthouse.atom", "hostile.rss"] {
        std::fs::write(
            project.dir.path().join(name),
            common::fixture(&format!("page/{name}")),
        )
        .unwrap();
    }
    project
}

const TITLES: [&str; 6] = [
    "Tides & timetables for the spring",
    "The lamp was cleaned today",
    "A walk along the new breakwater",
    "Night fishing: lamps, licences and luck",
    "Café Ancoragem reopens — Lisboa-style pastries on the quay",
    "Fog horn test on Thursday",
];

#[test]
fn the_page_lists_every_item_with_its_source_date_and_media() {
    let project = project();
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = String::from_utf8(project.read("river.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en-GB\">"));
    // Newest first, each title once, linked to the original.
    let mut at = 0;
    for title in TITLES {
        let escaped = title.replace('&', "&amp;");
        let found = page[at..]
            .find(&escaped)
            .unwrap_or_else(|| panic!("`{title}` missing or out of order"));
        at += found + escaped.len();
    }
    assert!(page.contains(
        "<a href=\"https:&#x2f;&#x2f;harbour.example&#x2f;episodes&#x2f;tides\">Tides &amp; timetables"
    ));
    // 18:30 UTC in March is 18:30 in Lisbon (WET); the machine-readable
    // date stays UTC.
    assert!(
        page.contains("<time datetime=\"2026-03-10T18:30:00Z\">10 March 2026, 18:30 WET</time>")
    );
    assert!(page.contains("Tuesday, 10 March 2026"));
    // Attribution: the source's own title, linked to its site; the side
    // list with each feed.
    assert!(page.contains(">Harbour Radio</a>"));
    assert!(page.contains("href=\"https:&#x2f;&#x2f;lighthouse.example&#x2f;log.atom\">feed</a>"));
    assert!(page.contains("<audio controls preload=\"none\""));
    assert!(page.contains("<video controls preload=\"none\""));
    assert!(page.contains("<li>Where the old wall stood</li>"));
    // Discovery of the other formats and the OPML list.
    for (mime, file) in [
        ("application&#x2f;rss+xml", "river.rss"),
        ("application&#x2f;atom+xml", "river.atom"),
        ("application&#x2f;feed+json", "river.json"),
    ] {
        assert!(
            page.contains(&format!("<link rel=\"alternate\" type=\"{mime}\"")),
            "{mime}"
        );
        assert!(page.contains(&format!("href=\"{file}\"")), "{file}");
    }
    assert!(page.contains("<a href=\"river.opml\">OPML</a>"));
    assert!(!page.contains("<script"), "the page carries no script");

    // Unchanged state, unchanged page: the file is not rewritten.
    let before = std::fs::metadata(project.output("river.html"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    let after = std::fs::metadata(project.output("river.html"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn hostile_items_become_inert_text_on_the_page() {
    let project = project();
    assert_eq!(project.feedloom(&["run"]).code, 0);
    let page = String::from_utf8(project.read("trouble.html")).unwrap();
    let lower = page.to_ascii_lowercase();
    for bad in [
        "<script",
        "javascript:",
        " onclick",
        " onload",
        " onerror",
        " ontoggle",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<style>body",
        "http-equiv=\"refresh\"",
    ] {
        assert!(!lower.contains(bad), "`{bad}` reached the page");
    }
    // The title that tried to close the <title> early is shown as text.
    assert!(page.contains("&lt;&#x2f;title&gt;&lt;script&gt;"), "{page}");
}

#[test]
fn a_users_own_template_renders_the_documented_variables() {
    let project = project();
    std::fs::write(
        project.dir.path().join("mine.html"),
        "<h1>{{ output.title }}</h1>{% for day in days %}<h2>{{ day.day }}</h2>{% for item in day.items %}<p>{{ item.title }} | {{ item.sources[0].name }} | {{ item.date }}</p>{% endfor %}{% endfor %}{% for s in sources %}[{{ s.name }}]{% endfor %}",
    )
    .unwrap();
    let config = std::fs::read_to_string(project.config()).unwrap().replace(
        "lang = \"en-GB\"",
        "lang = \"en-GB\"\ntemplate = \"mine.html\"\npage_items = 2",
    );
    std::fs::write(project.config(), config).unwrap();
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = String::from_utf8(project.read("river.html")).unwrap();
    assert_eq!(
        page,
        "<h1>Harbour &amp; Lighthouse</h1><h2>Tuesday, 10 March 2026</h2><p>Tides &amp; timetables for the spring | Harbour Radio | 2026-03-10T18:30:00Z</p><p>The lamp was cleaned today | Lighthouse Log | 2026-03-10T12:00:00Z</p>[Harbour Radio][Lighthouse Log]"
    );
    // An edit to the template republishes the page on the next run.
    std::fs::write(
        project.dir.path().join("mine.html"),
        "{{ items|length }} items",
    )
    .unwrap();
    assert_eq!(project.feedloom(&["run"]).code, 0);
    assert_eq!(project.read("river.html"), b"2 items");
    // A template with a mistake is a config error naming the file and its
    // key, and the page already published stays.
    std::fs::write(project.dir.path().join("mine.html"), "{% for %}").unwrap();
    for command in ["check", "run"] {
        let broken = project.feedloom(&[command]);
        assert_eq!(broken.code, 1, "{command}: {}", broken.stderr);
        assert!(
            broken.stderr.contains("output[1].template")
                && broken.stderr.contains("mine.html:1")
                && broken.stderr.contains("does not parse"),
            "{}",
            broken.stderr
        );
    }
    assert_eq!(project.read("river.html"), b"2 items");
}

/// `feedloom serve` on a free port, answering once it is up.
fn serve(project: &Project) -> (Child, String) {
    let port = free_port();
    let mut child = project.spawn(&["serve", "--addr", &format!("127.0.0.1:{port}")]);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, base);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("feedloom serve did not start");
}

/// The body of a plain HTTP/1.0 GET.
fn get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// Where the Playwright checker lives, when it can run here.
fn browser() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let missing = if !chromium.exists() {
        Some(format!(
            "{} is absent (apt-get install chromium)",
            chromium.display()
        ))
    } else if !dir.join("node_modules/playwright-core").exists() {
        Some("tests/browser has no node_modules (npm ci --prefix tests/browser)".to_owned())
    } else if Command::new("node").arg("--version").output().is_err() {
        Some("node is absent".to_owned())
    } else {
        None
    };
    match missing {
        None => Some(dir),
        Some(why) if std::env::var("FEEDLOOM_BROWSER_TESTS").as_deref() == Ok("required") => {
            panic!("the browser test must run here, but {why}")
        }
        Some(why) => {
            eprintln!("skipping the browser check: {why}");
            None
        }
    }
}

/// Loads `page` in Chromium at both widths; returns the checker's report.
fn load(dir: &Path, url: &str, shots: &str) -> serde_json::Value {
    let shots_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/page-screenshots");
    std::fs::create_dir_all(&shots_dir).unwrap();
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg(url)
        .arg(shots_dir.join(shots))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "the browser check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checker output: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn chromium_renders_every_item_at_desktop_and_phone_widths() {
    let Some(dir) = browser() else { return };
    let project = project();
    assert_eq!(project.feedloom(&["run"]).code, 0);
    let (mut server, base) = serve(&project);
    let index = get(&base, "/");
    let report = load(&dir, &format!("{base}/river.html"), "river");
    let trouble = load(&dir, &format!("{base}/trouble.html"), "trouble");
    let _ = server.kill();
    let _ = server.wait();
    assert!(index.contains("<a href=\"river.html\">"), "{index}");
    assert!(index.contains("<a href=\"trouble.html\">"), "{index}");

    let views = report["views"].as_array().unwrap();
    assert_eq!(views.len(), 2);
    for view in views {
        let name = view["name"].as_str().unwrap();
        assert_eq!(view["status"], 200, "{name}");
        assert_eq!(view["content_type"], "text/html; charset=utf-8");
        let titles: Vec<&str> = view["titles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(titles, TITLES, "{name}: every item, newest first");
        assert_eq!(view["console_errors"], serde_json::json!([]), "{name}");
        assert_eq!(view["page_errors"], serde_json::json!([]), "{name}");
        assert_eq!(view["foreign_requests"], serde_json::json!([]), "{name}");
        assert_eq!(view["lang"], "en-GB");
        assert_eq!(view["scripts"], 0);
        assert_eq!(view["audio"], 1);
        assert_eq!(view["video"], 1);
        assert_eq!(view["alternates"].as_array().unwrap().len(), 3);
        // Headings in order: never a jump of more than one level down.
        let levels: Vec<i64> = view["headings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_i64().unwrap())
            .collect();
        assert_eq!(levels[0], 1, "{name}: {levels:?}");
        assert!(
            levels.windows(2).all(|w| w[1] <= w[0] + 1),
            "{name}: {levels:?}"
        );
        // Nothing wider than the screen on a phone.
        let width = if name == "phone" { 390 } else { 1280 };
        assert!(
            view["scroll_width"].as_i64().unwrap() <= width,
            "{name}: the page scrolls sideways ({})",
            view["scroll_width"]
        );
        assert!(Path::new(view["screenshot"].as_str().unwrap()).exists());
    }
    for view in trouble["views"].as_array().unwrap() {
        let name = view["name"].as_str().unwrap();
        assert_eq!(view["status"], 200);
        assert_eq!(view["pwned"], false, "{name}: a hostile item ran script");
        assert_eq!(view["flag"], false, "{name}");
        assert_eq!(view["dialogs"], serde_json::json!([]), "{name}");
        assert_eq!(view["scripts"], 0, "{name}");
        assert_eq!(view["page_errors"], serde_json::json!([]), "{name}");
        assert_eq!(view["titles"].as_array().unwrap().len(), 4, "{name}");
    }
}
