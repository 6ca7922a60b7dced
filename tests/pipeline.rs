//! End to end: feeds.toml in, files out, through a real HTTP server on
//! 127.0.0.1. Six hand-written feeds cover the formats and the breakage the
//! normalizer must absorb; one of them is malformed and must fail alone.

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use common::{Project, by_title, fixture, reader, round_trip, serve};
use serde_json::Value;
use wiremock::MockServer;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn six_feeds() -> (MockServer, Project) {
    let server = MockServer::start().await;
    serve(
        &server,
        "/odd.rss",
        fixture("feeds/odd-dates.rss"),
        "application/rss+xml",
    )
    .await;
    serve(
        &server,
        "/base.atom",
        fixture("feeds/xml-base.atom"),
        "application/atom+xml",
    )
    .await;
    serve(
        &server,
        "/almanac.rdf",
        fixture("feeds/rdf.rdf"),
        "application/rdf+xml",
    )
    .await;
    serve(
        &server,
        "/kitchen.json",
        fixture("feeds/feed.json"),
        "application/feed+json",
    )
    .await;
    // The header says nothing of the charset: the XML declaration must.
    serve(
        &server,
        "/latin.rss",
        fixture("feeds/latin1.rss"),
        "text/xml",
    )
    .await;
    serve(
        &server,
        "/broken.xml",
        fixture("feeds/broken.xml"),
        "application/xml",
    )
    .await;
    let base = server.uri();
    let config = format!(
        r#"
[settings]
public_url = "https://feeds.example.org/"

[[output]]
name = "all"
title = "All six"
link = "https://feeds.example.org/"

[[source]]
name = "Odd Dates"
url = "{base}/odd.rss"
timezone = "America/New_York"

[[source]]
name = "Base Camp"
url = "{base}/base.atom"

[[source]]
name = "RDF Almanac"
url = "{base}/almanac.rdf"

[[source]]
name = "JSON Kitchen"
url = "{base}/kitchen.json"

[[source]]
name = "Cafe Notes"
url = "{base}/latin.rss"

[[source]]
name = "Broken"
url = "{base}/broken.xml"
"#
    );
    (server, Project::new(&config))
}

#[tokio::test]
async fn six_feeds_merge_into_one_feed_per_format() {
    let (server, project) = six_feeds().await;
    let before = Utc::now() - chrono::TimeDelta::seconds(2);
    let run = project.feedloom(&["run"]);
    let after = Utc::now() + chrono::TimeDelta::seconds(2);

    assert_eq!(run.code, 3, "one source failed: {run:?}");
    assert!(run.stderr.contains("source `Broken`"), "{}", run.stderr);
    assert!(run.stderr.contains("broken.xml"), "{}", run.stderr);
    for good in [
        "Odd Dates",
        "Base Camp",
        "RDF Almanac",
        "JSON Kitchen",
        "Cafe Notes",
    ] {
        assert!(
            !run.stderr.contains(&format!("`{good}`")),
            "{good}: {}",
            run.stderr
        );
    }

    let json = project.json("all.json");
    let items = by_title(&json);
    assert_eq!(items.len(), 11, "{:#?}", items.keys());

    // Every date in UTC, whatever the source wrote.
    let expected_dates = [
        ("Zone names: Eastern Standard Time", "2026-03-10T14:30:00Z"),
        (
            "No weekday, no seconds, an Indian offset",
            "2026-03-10T10:35:00Z",
        ),
        ("Two-digit year & Pacific time", "2026-03-11T15:00:00Z"),
        ("ISO date inside RSS", "2026-03-09T12:00:00Z"),
        ("Relative links everywhere", "2026-03-11T08:00:00Z"),
        ("Spring tides this week", "2026-03-08T09:00:00Z"),
        ("Slow bread, fast mornings", "2026-03-07T11:30:00Z"),
        ("Café crème à Zürich", "2026-03-06T14:00:00Z"),
        (
            "The shared story (as told by Odd Dates)",
            "2026-03-09T08:00:00Z",
        ),
    ];
    for (title, date) in expected_dates {
        let item = items
            .get(title)
            .or_else(|| {
                items
                    .get("The shared story")
                    .filter(|_| title.starts_with("The shared"))
            })
            .unwrap_or_else(|| panic!("missing {title}: {:#?}", items.keys()));
        assert_eq!(item["date_published"], date, "{title}");
        assert_eq!(item["_feedloom"]["date_source"], "feed", "{title}");
    }
    // No date, and a date too far in the future: both get the first-seen time.
    for title in ["Undated note", "From the far future"] {
        let item = &items[title];
        assert_eq!(item["_feedloom"]["date_source"], "first-seen", "{title}");
        let seen = utc(item["date_published"].as_str().unwrap());
        assert!(before <= seen && seen <= after, "{title}: {seen}");
    }

    // Plain-text titles, absolute canonical links (tracking parameters
    // gone, fragments kept), no active content.
    for (title, item) in &items {
        assert!(!title.contains('<'), "markup in title {title}");
        let url = item["url"].as_str().unwrap();
        assert!(url.starts_with("https://"), "{url}");
        assert!(!url.contains("utm_") && !url.contains("fbclid"), "{url}");
        let html = item["content_html"].as_str().unwrap_or_default();
        for banned in ["<script", "onclick", "javascript:", "<iframe"] {
            assert!(!html.contains(banned), "{banned} in {title}: {html}");
        }
    }
    let relative = &items["Relative links everywhere"];
    assert_eq!(
        relative["url"],
        "https://atom.example.org/blog/posts/relative.html"
    );
    let html = relative["content_html"].as_str().unwrap();
    assert!(
        html.contains(r#"href="https://atom.example.org/about.html""#),
        "{html}"
    );
    assert!(
        html.contains(r#"src="https://atom.example.org/blog/img/map.png""#),
        "{html}"
    );
    let pdt_html = items["Two-digit year & Pacific time"]["content_html"]
        .as_str()
        .unwrap();
    // No xml:base: relative URLs in an item's HTML resolve against the
    // item's own link (then the channel link, then the feed's URL).
    assert!(
        pdt_html.contains(r#"href="https://odd.example.org/more""#),
        "{pdt_html}"
    );
    assert_eq!(
        items["Slow bread, fast mornings"]["url"],
        "https://kitchen.example.org/bread"
    );
    assert_eq!(
        items["Spring tides this week"]["authors"][0]["name"],
        "Jun Harrow"
    );

    // The article two feeds carry is one item naming both sources.
    let shared: Vec<&Value> = items
        .values()
        .filter(|i| i["url"] == "https://shared.example.com/story?id=7")
        .collect();
    assert_eq!(shared.len(), 1);
    let names: Vec<&str> = shared[0]["_feedloom"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Odd Dates") && names.contains(&"Base Camp"),
        "{names:?}"
    );

    // RSS and Atom say the same, and all three reader crates accept them.
    let (channel, feed) = round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    assert_eq!(channel.items().len(), 11);
    assert_eq!(feed.entries().len(), 11);
    // Undated items were first seen just now, so they lead; then by date.
    let dated: Vec<&str> = channel.items()[2..5]
        .iter()
        .filter_map(|i| i.title())
        .collect();
    assert_eq!(
        dated,
        [
            "Two-digit year & Pacific time",
            "Relative links everywhere",
            "Zone names: Eastern Standard Time"
        ]
    );
    let pdt = &channel.items()[2];
    assert_eq!(pdt.pub_date(), Some("Wed, 11 Mar 2026 15:00:00 +0000"));
    assert_eq!(pdt.source().unwrap().title(), Some("Odd Dates"));
    assert_eq!(
        pdt.source().unwrap().url(),
        format!("{}/odd.rss", server.uri())
    );
    let shared_rss = channel
        .items()
        .iter()
        .find(|i| i.link() == Some("https://shared.example.com/story?id=7"))
        .unwrap();
    let via = shared_rss.atom_ext().unwrap().links();
    assert_eq!(via.len(), 2);
    assert!(via.iter().all(|l| l.rel() == "via"));
    let tides = channel
        .items()
        .iter()
        .find(|i| i.title() == Some("Spring tides this week"))
        .unwrap();
    assert_eq!(tides.dublin_core_ext().unwrap().creators(), ["Jun Harrow"]);
    let cafe = feed
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "Café crème à Zürich")
        .unwrap();
    assert_eq!(
        cafe.published().unwrap().to_rfc3339(),
        "2026-03-06T14:00:00+00:00"
    );
    assert_eq!(cafe.source().unwrap().title().as_str(), "Café Notes");
    let relative_atom = feed
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "Relative links everywhere")
        .unwrap();
    let source = relative_atom.source().unwrap();
    assert_eq!(source.id(), "tag:atom.example.org,2026:blog");
    assert_eq!(source.title().as_str(), "Base Camp");
    assert!(
        source
            .links()
            .iter()
            .any(|l| l.href() == "https://atom.example.org/blog/")
    );
    let ids: std::collections::HashSet<&str> = feed
        .entries()
        .iter()
        .map(atom_syndication::Entry::id)
        .collect();
    assert_eq!(ids.len(), 11, "ids are unique");
}

#[tokio::test]
async fn second_run_is_conditional_and_changes_no_byte() {
    let (server, project) = six_feeds().await;
    assert_eq!(project.feedloom(&["run"]).code, 3);
    let first: Vec<Vec<u8>> = ["all.rss", "all.atom", "all.json"]
        .iter()
        .map(|n| project.read(n))
        .collect();
    let mtimes: Vec<_> = ["all.rss", "all.atom", "all.json"]
        .iter()
        .map(|n| {
            std::fs::metadata(project.output(n))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    let seen_before = server.received_requests().await.unwrap().len();

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = project.feedloom(&["run", "--all"]);
    assert_eq!(second.code, 3, "{second:?}");

    let requests = server
        .received_requests()
        .await
        .unwrap()
        .split_off(seen_before);
    assert_eq!(requests.len(), 6, "one request per source");
    for r in &requests {
        let path = r.url.path();
        if path == "/broken.xml" {
            continue; // It never parsed, so it has no validators to send.
        }
        assert!(
            r.headers.contains_key("if-none-match"),
            "{path} sent no If-None-Match"
        );
        assert!(
            r.headers.contains_key("if-modified-since"),
            "{path} sent no If-Modified-Since"
        );
    }
    for (i, name) in ["all.rss", "all.atom", "all.json"].iter().enumerate() {
        assert_eq!(project.read(name), first[i], "{name} changed");
        let mtime = std::fs::metadata(project.output(name))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(mtime, mtimes[i], "{name} was rewritten");
    }
}

/// What subscribers' software sees: newsboat and Python feedparser read
/// every item of the RSS and Atom outputs, with the same UTC dates as the
/// JSON Feed, and report no error.
#[tokio::test]
async fn real_feed_readers_accept_the_outputs() {
    let (_server, project) = six_feeds().await;
    assert_eq!(project.feedloom(&["run"]).code, 3);
    let json = project.json("all.json");
    let dates: HashMap<String, String> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["date_published"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for file in ["all.rss", "all.atom"] {
        let path = project.output(file);
        if let Some(nb) = reader("newsboat-read", &["--json"], &path) {
            assert_eq!(
                nb["errors"].as_array().map_or(0, Vec::len),
                0,
                "{file}: {nb}"
            );
            assert_eq!(nb["item_count"], 11, "{file}: {nb}");
            for item in nb["items"].as_array().unwrap() {
                let guid = item["guid"].as_str().unwrap();
                assert_eq!(
                    item["date"].as_str(),
                    dates.get(guid).map(String::as_str),
                    "{file} {guid}"
                );
            }
        }
        if let Some(fp) = reader("feedparser-read", &[], &path) {
            assert_eq!(fp["bozo"], false, "{file}: {fp}");
            assert_eq!(fp["entry_count"], 11, "{file}: {fp}");
            for entry in fp["entries"].as_array().unwrap() {
                let id = entry["id"].as_str().unwrap();
                assert_eq!(
                    entry["published"].as_str(),
                    dates.get(id).map(String::as_str),
                    "{file} {id}"
                );
                assert!(
                    entry["source_title"].is_string() || file == "all.rss",
                    "{file}: {entry}"
                );
            }
        }
    }
}

/// Serves the two feeds of the churn test, as they are in `round`.
async fn serve_churn(server: &MockServer, round: usize) {
    server.reset().await;
    let mut odd = String::from_utf8(fixture("feeds/odd-dates.rss")).unwrap();
    let mut base = String::from_utf8(fixture("feeds/xml-base.atom")).unwrap();
    // One entry listed twice, byte for byte: two items, each keeping its key.
    let start = odd
        .find("<item>\n      <title>ISO date inside RSS")
        .unwrap();
    let end = start + odd[start..].find("</item>").unwrap() + "</item>".len();
    let entry = odd[start..end].to_owned();
    odd.insert_str(end, &format!("\n    {entry}"));
    if round > 0 {
        // One entry edited in each feed, one entry added to the RSS (whose
        // far-future entry is read again every time: its date is judged
        // against the clock).
        odd = odd
            .replacen("Nine thirty in New York.", "Nine thirty in New York, edited.", 1)
            .replacen(
                "<item>",
                "<item><title>Added later</title><link>https://odd.example.org/added</link><pubDate>Thu, 12 Mar 2026 09:00:00 GMT</pubDate><description>New.</description></item>\n    <item>",
                1,
            );
        let edited = base.replacen(
            "The shared story</title>",
            "The shared story, edited</title>",
            1,
        );
        assert_ne!(edited, base);
        base = edited;
    }
    // No validators: every run reads the whole body again.
    for (route, body, kind) in [
        ("/odd.rss", odd, "application/rss+xml"),
        ("/base.atom", base, "application/atom+xml"),
    ] {
        wiremock::Mock::given(wiremock::matchers::path(route))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw(body, kind))
            .mount(server)
            .await;
    }
}

/// An entry listed again unchanged is only touched, not normalized and
/// written again; the outputs are byte for byte what re-reading every
/// entry writes (the second project forgets its digests between runs).
#[tokio::test]
async fn unchanged_entries_are_skipped_without_changing_a_byte() {
    let server = MockServer::start().await;
    serve_churn(&server, 0).await;
    let uri = server.uri();
    let config = format!(
        "[settings]\npublic_url = \"https://feeds.example.org/\"\n\n[[output]]\nname = \"all\"\n\n[[source]]\nname = \"Odd Dates\"\nurl = \"{uri}/odd.rss\"\ntimezone = \"America/New_York\"\n\n[[source]]\nname = \"Base Camp\"\nurl = \"{uri}/base.atom\"\n"
    );
    let skipping = Project::new(&config);
    let run = skipping.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The same state (first-seen dates and all), without its digests.
    let rereading = Project::new(&config);
    for folder in ["state", "output"] {
        let to = rereading.dir.path().join(folder);
        std::fs::create_dir_all(&to).unwrap();
        for file in std::fs::read_dir(skipping.dir.path().join(folder)).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, to.join(file.file_name().unwrap())).unwrap();
        }
    }
    let state = rereading.dir.path().join("state/feedloom.db");
    let db = rusqlite::Connection::open(&state).unwrap();
    let forgotten = db
        .execute("UPDATE item_sources SET digest = NULL", [])
        .unwrap();
    assert!(forgotten > 5, "digests stored: {forgotten}");
    drop(db);

    // The second run in a later second than the first (`last_seen` is in
    // whole seconds), so an entry it did not touch shows.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    serve_churn(&server, 1).await;
    let log = |project: &Project| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(["run", "--all", "--config"])
            .arg(project.config())
            .current_dir(project.dir.path())
            .env("RUST_LOG", "feedloom=info")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let skipped = log(&skipping);
    let reread = log(&rereading);
    assert!(
        skipped.contains("source=Odd Dates entries=9 new=1 merged=0 unchanged=6"),
        "{skipped}"
    );
    assert!(
        skipped.contains("source=Base Camp entries=2 new=0 merged=0 unchanged=1"),
        "{skipped}"
    );
    assert_eq!(reread.matches("unchanged=0").count(), 2, "{reread}");
    // Every entry listed was seen this run, the twice-listed one both times.
    let db = rusqlite::Connection::open(skipping.dir.path().join("state/feedloom.db")).unwrap();
    let untouched: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM item_sources WHERE last_seen < (SELECT MAX(last_seen) FROM item_sources)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(untouched, 0, "entries listed but not touched");
    for name in ["all.rss", "all.atom", "all.json"] {
        assert_eq!(
            String::from_utf8(skipping.read(name)).unwrap(),
            String::from_utf8(rereading.read(name)).unwrap(),
            "{name}"
        );
    }
    let titles = by_title(&skipping.json("all.json"));
    assert!(titles.contains_key("Added later"), "{:?}", titles.keys());
    skipping.assert_valid_outputs();
}
