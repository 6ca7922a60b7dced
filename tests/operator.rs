//! The operator's side, end to end through the real binary: `init`, `run
//! --source` and `--dry-run`, the summary line, migrating from Planet and
//! rawdog, OPML in and out, config changes that take effect at once,
//! `public_url`, serving a files source's articles, and `/metrics` read by
//! a Prometheus text parser.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Project, fixture, free_port, serve, serve_kitchen_and_almanac};
use wiremock::MockServer;

fn hits(requests: &[wiremock::Request], route: &str) -> usize {
    requests.iter().filter(|r| r.url.path() == route).count()
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn two_feeds(base: &str) -> String {
    format!(
        "[settings]\npublic_url = \"https://feeds.example.org/out/\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Kitchen\"\nurl = \"{base}/kitchen.json\"\n\n[[source]]\nname = \"Almanac\"\nurl = \"{base}/almanac.rdf\"\n"
    )
}

#[test]
fn init_writes_a_starter_that_checks_and_never_overwrites() {
    let project = Project::new("");
    std::fs::remove_file(project.config()).unwrap();
    let missing = project.feedloom(&["run"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("here; `feedloom init` writes a starter one"),
        "{}",
        missing.stderr
    );
    let path = project.config();
    let init = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(["init", "--path"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# feeds.toml"), "{text}");
    assert!(text.contains("[[output]]") && text.contains("[[source]]"));
    assert_eq!(project.feedloom(&["check"]).code, 0);
    std::fs::write(&path, "# mine\n").unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(["init", "--path"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
}

#[tokio::test]
async fn run_source_fetches_just_that_one_and_dry_run_writes_nothing() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let project = Project::new(&two_feeds(&server.uri()));
    let only = project.feedloom(&["run", "--source", "Almanac", "-v"]);
    assert_eq!(only.code, 0, "{}", only.stderr);
    let seen = requests(&server).await;
    assert_eq!(hits(&seen, "/almanac.rdf"), 1);
    assert_eq!(hits(&seen, "/kitchen.json"), 0);
    // The summary line (-v, or any run on a terminal).
    assert!(
        only.stderr
            .contains("2 sources: 1 fetched, 0 not modified, 0 failed, 1 not due;"),
        "{}",
        only.stderr
    );
    let unknown = project.feedloom(&["run", "--source", "Almanack"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("the sources are: Kitchen, Almanac"));

    let state = project.dir.path().join("state/feedloom.db");
    let before_state = std::fs::read(&state).unwrap();
    let before_rss = project.read("all.rss");
    let modified = std::fs::metadata(project.output("all.rss"))
        .unwrap()
        .modified()
        .unwrap();
    let dry = project.feedloom(&["run", "--dry-run", "--all"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("source `Kitchen`: 1 new, 0 changed, 0 dropped"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("source `Almanac`: not modified"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("all.rss: would change"),
        "{}",
        dry.stdout
    );
    assert_eq!(std::fs::read(&state).unwrap(), before_state);
    assert_eq!(project.read("all.rss"), before_rss);
    assert_eq!(
        std::fs::metadata(project.output("all.rss"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    // The real run then does what the dry run said.
    let real = project.feedloom(&["run", "--all", "-v"]);
    assert!(
        real.stderr.contains("not modified: Almanac"),
        "{}",
        real.stderr
    );
    assert_eq!(
        project.json("all.json")["items"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn the_summary_line_shows_on_a_terminal() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let project = Project::new(&two_feeds(&server.uri()));
    let Some(text) = project.on_a_terminal(&["run"]) else {
        return;
    };
    assert!(
        text.contains("2 sources: 2 fetched, 0 not modified, 0 failed, 0 not due; 2 new items;"),
        "{text}"
    );
}

#[tokio::test]
async fn config_changes_take_effect_on_the_next_run() {
    let server = MockServer::start().await;
    serve_kitchen_and_almanac(&server).await;
    let config = two_feeds(&server.uri()).replace(
        "[[source]]\nname = \"Kitchen\"",
        "[[source]]\ninterval = \"1h\"\nname = \"Kitchen\"",
    );
    let project = Project::new(&config);
    assert_eq!(project.feedloom(&["run"]).code, 0);
    // public_url is the default link of each output.
    let feed = project.json("all.json");
    assert_eq!(feed["home_page_url"], "https://feeds.example.org/out/");
    let rss = String::from_utf8(project.read("all.rss")).unwrap();
    assert!(
        rss.contains("<link>https://feeds.example.org/out/</link>"),
        "{rss}"
    );
    // Lowering the interval applies at once: due from the last fetch.
    assert_eq!(project.feedloom(&["run"]).code, 0);
    assert_eq!(hits(&requests(&server).await, "/kitchen.json"), 1);
    std::fs::write(project.config(), config.replace("\"1h\"", "\"1s\"")).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(project.feedloom(&["run"]).code, 0);
    assert_eq!(hits(&requests(&server).await, "/kitchen.json"), 2);
    // A new output title republishes though no source changed.
    let text = std::fs::read_to_string(project.config()).unwrap().replace(
        "name = \"all\"\n",
        "name = \"all\"\ntitle = \"Kitchen and sky\"\n",
    );
    std::fs::write(project.config(), text).unwrap();
    assert_eq!(project.feedloom(&["run"]).code, 0);
    assert_eq!(project.json("all.json")["title"], "Kitchen and sky");
}

#[test]
fn planet_and_rawdog_configs_migrate_with_what_does_not_map_listed() {
    let project = Project::new("");
    std::fs::remove_file(project.config()).unwrap();
    let planet = project.dir.path().join("config.ini");
    std::fs::write(
        &planet,
        "[Planet]\nname = Planet Quay\nlink = https://planet.quay.example/\nitems_per_page = 30\noutput_theme = classic_fancy\n\n[https://quay.example/feed.xml]\nname = The Quay\nfilters = stripAd/yahoo.sed\n",
    )
    .unwrap();
    let out = project.feedloom(&["import-planet", planet.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("(Planet)") && out.stdout.contains("added: The Quay"));
    assert!(
        out.stdout.contains("carried over: `items_per_page`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("not carried over: [Planet] `output_theme`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("not carried over: feed `The Quay`: option `filters`")
    );
    let check = project.feedloom(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("The Quay"), "{}", check.stdout);

    let rawdog = project.dir.path().join("rawdog-config");
    std::fs::write(
        &rawdog,
        "feed 2h https://harbour.example/radio.rss\n  define_name Harbour Radio\nfeed 1h https://quay.example/feed.xml\n",
    )
    .unwrap();
    let out = project.feedloom(&["import-planet", rawdog.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("(rawdog)") && out.stdout.contains("added: Harbour Radio"));
    assert!(out.stdout.contains("already a source"), "{}", out.stdout);
    let text = std::fs::read_to_string(project.config()).unwrap();
    assert!(text.contains("name = \"Harbour Radio\"\nurl = \"https://harbour.example/radio.rss\"\ninterval = \"2h\""), "{text}");
}

#[test]
fn opml_export_lists_every_expressible_source_and_import_skips_broken_outlines() {
    let project = Project::new(
        "[[output]]\nname = \"all\"\n\n[[source]]\nname = \"News\"\nkind = \"scrape\"\nurl = \"https://news.example.org/latest\"\n[source.select]\nitem = \"article\"\n\n[[source]]\nname = \"Notes\"\nkind = \"files\"\npath = \"notes\"\nbase_url = \"https://example.org/notes/\"\n\n[[source]]\nname = \"Drafts\"\nkind = \"files\"\npath = \"drafts\"\n",
    );
    let exported = project.feedloom(&["export-opml"]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let doc = opml::OPML::from_str(
        exported
            .stdout
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
    )
    .unwrap();
    let links: Vec<(String, Option<String>)> = doc
        .body
        .outlines
        .iter()
        .map(|o| (o.text.clone(), o.html_url.clone()))
        .collect();
    assert_eq!(
        links,
        [
            (
                "News".to_owned(),
                Some("https://news.example.org/latest".to_owned())
            ),
            (
                "Notes".to_owned(),
                Some("https://example.org/notes/".to_owned())
            )
        ]
    );
    assert!(
        exported
            .stderr
            .contains("`Drafts`: a folder of files without `base_url`")
    );

    let list = project.dir.path().join("list.opml");
    std::fs::write(
        &list,
        "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><body>\n<outline text=\"Good\" xmlUrl=\"https://good.example/feed\"/>\n\n<outline text=\"Bad\" xmlUrl=\"not a url\"/>\n</body></opml>\n",
    )
    .unwrap();
    let before = std::fs::read_to_string(project.config()).unwrap();
    let strict = project.feedloom(&["import-opml", "--strict", list.to_str().unwrap()]);
    assert_eq!(strict.code, 1);
    assert!(
        strict.stderr.contains("list.opml: 1 bad outline(s)")
            && strict.stderr.contains("line 5: outline `Bad`"),
        "{}",
        strict.stderr
    );
    assert_eq!(std::fs::read_to_string(project.config()).unwrap(), before);
    let lenient = project.feedloom(&["import-opml", list.to_str().unwrap()]);
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    assert!(
        lenient
            .stderr
            .contains("list.opml: line 5: outline `Bad` has xmlUrl `not a url`"),
        "{}",
        lenient.stderr
    );
    assert!(lenient.stdout.contains("1 added"));
}

async fn get(url: &str) -> reqwest::Response {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(url).await {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

fn metric<'a>(
    scrape: &'a prometheus_parse::Scrape,
    name: &str,
    label: (&str, &str),
) -> Option<&'a prometheus_parse::Value> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
        .map(|s| &s.value)
}

#[tokio::test]
async fn the_daemon_answers_metrics_and_health_and_serves_files_articles() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    let port = free_port();
    let project = Project::new(&format!(
        "[settings]\npublic_url = \"http://127.0.0.1:{port}/\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Kitchen\"\nurl = \"{}/kitchen.json\"\ninterval = \"1s\"\n\n[[source]]\nname = \"Notes\"\nkind = \"files\"\npath = \"notes\"\nbase_url = \"http://127.0.0.1:{port}/notes/\"\n",
        server.uri()
    ));
    let notes = project.dir.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(
        notes.join("tide #1.txt"),
        "High tide at noon\n\nThe harbour master says the tide is high at noon today.\n",
    )
    .unwrap();
    let mut daemon = project.spawn(&["daemon", "--serve", &format!("127.0.0.1:{port}")]);
    let base = format!("http://127.0.0.1:{port}");
    // Wait until Kitchen was fetched twice and the note is published.
    let mut text = String::new();
    let mut link = None;
    for _ in 0..100 {
        text = get(&format!("{base}/metrics")).await.text().await.unwrap();
        let feed = get(&format!("{base}/all.json")).await.text().await.unwrap();
        link = serde_json::from_str::<serde_json::Value>(&feed)
            .ok()
            .and_then(|f| {
                f["items"].as_array()?.iter().find_map(|i| {
                    i["url"]
                        .as_str()
                        .filter(|u| u.contains("/notes/"))
                        .map(str::to_owned)
                })
            });
        if link.is_some()
            && text.contains("feedloom_fetches_total{source=\"Kitchen\",result=\"not_modified\"}")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = get(&format!("{base}/healthz")).await;
    assert_eq!(health.status(), 200);
    // The files source's article, where its item links.
    let link = link.expect("the note's item");
    let article = get(&link).await;
    assert_eq!(article.status(), 200, "{link}");
    assert_eq!(
        article.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(article.text().await.unwrap().contains("High tide at noon"));
    assert_eq!(
        get(&format!("{base}/notes/../feeds.toml")).await.status(),
        404
    );
    let _ = Command::new("kill").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();

    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("a Prometheus text parser reads /metrics");
    let counted = |result: &str| {
        scrape.samples.iter().any(|s| {
            s.metric == "feedloom_fetches_total"
                && s.labels.get("source") == Some("Kitchen")
                && s.labels.get("result") == Some(result)
        })
    };
    assert!(counted("ok") && counted("not_modified"), "{text}");
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric.starts_with("feedloom_fetch_duration_seconds")),
        "{text}"
    );
    match metric(&scrape, "feedloom_source_items", ("source", "Kitchen")) {
        Some(prometheus_parse::Value::Gauge(n)) => assert!((*n - 1.0).abs() < f64::EPSILON, "{n}"),
        other => panic!("items: {other:?}\n{text}"),
    }
    assert!(
        metric(
            &scrape,
            "feedloom_source_last_success_timestamp_seconds",
            ("source", "Kitchen")
        )
        .is_some()
    );
    assert!(
        metric(&scrape, "feedloom_output_items", ("output", "all")).is_some(),
        "{text}"
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "feedloom_uptime_seconds")
    );
}

#[tokio::test]
async fn serving_others_with_loopback_self_links_is_warned_about() {
    let project = Project::new("[[output]]\nname = \"all\"\n");
    let port = free_port();
    let child = project.spawn(&["serve", "--addr", &format!("0.0.0.0:{port}")]);
    let health = get(&format!("http://127.0.0.1:{port}/healthz")).await;
    assert_eq!(health.status(), 200);
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("settings.public_url is http://127.0.0.1:8080/"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_bundled_configs_article_links_resolve_when_served() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = Project::new(&std::fs::read_to_string(root.join("feeds.toml")).unwrap());
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    };
    for folder in ["examples/feeds", "examples/articles"] {
        copy(&root.join(folder), &project.dir.path().join(folder));
    }
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The bundled config serves on 127.0.0.1:8080, which may be taken: the
    // same public_url path on a free port.
    let port = free_port();
    let text = std::fs::read_to_string(project.config())
        .unwrap()
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    std::fs::write(project.config(), text).unwrap();
    // The folder is read again (its new base_url is part of its validator).
    assert_eq!(
        project
            .feedloom(&["run", "--source", "Garden Club notes"])
            .code,
        0
    );
    let child = project.spawn(&["serve", "--addr", &format!("127.0.0.1:{port}")]);
    let feed: serde_json::Value = serde_json::from_str(
        &get(&format!("http://127.0.0.1:{port}/all.json"))
            .await
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let local: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["url"].as_str())
        .filter(|u| u.starts_with(&format!("http://127.0.0.1:{port}/")))
        .map(str::to_owned)
        .collect();
    assert!(!local.is_empty(), "{feed}");
    for link in local {
        assert_eq!(get(&link).await.status(), 200, "{link}");
    }
    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/all.html"))
            .await
            .status(),
        200
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait_with_output();
}
