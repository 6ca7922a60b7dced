//! Fidelity end to end: every class of input a real-world reader meets,
//! each in a small feed of our own served on 127.0.0.1, read by the real
//! binary and checked in all three outputs (and by the W3C checker): no
//! format read as empty, no item dropped, fields and links as the
//! publisher wrote them.

mod common;

use common::{Project, by_title, fixture, round_trip, serve};
use serde_json::Value;
use wiremock::MockServer;

/// (route, fixture, content type) of the feeds one run reads.
const FEEDS: [(&str, &str, &str); 16] = [
    ("/atom03", "atom03.xml", "application/atom+xml"),
    ("/rss090", "rss090.rdf", "application/rdf+xml"),
    ("/defaultns", "rss-default-ns.xml", "application/rss+xml"),
    ("/fallbacks", "fallbacks.rss", "application/rss+xml"),
    ("/rss10", "rss10-nolink.rdf", "application/rdf+xml"),
    ("/sparse", "sparse.rss", "application/rss+xml"),
    ("/titles-atom", "titles.atom", "application/atom+xml"),
    ("/titles-rss", "titles.rss", "application/rss+xml"),
    ("/links", "links.rss", "application/rss+xml"),
    ("/bases", "bases.rss", "application/rss+xml"),
    ("/podcast", "podcast.rss", "application/rss+xml"),
    ("/entities", "entities.rss", "application/rss+xml"),
    ("/external", "external.rss", "application/rss+xml"),
    ("/surrogates", "surrogates.json", "application/feed+json"),
    ("/origin", "origin.rss", "application/rss+xml"),
    ("/foreign", "foreign.rss", "application/rss+xml"),
];

async fn server() -> MockServer {
    let server = MockServer::start().await;
    for (route, file, kind) in FEEDS {
        serve(&server, route, fixture(&format!("fidelity/{file}")), kind).await;
    }
    server
}

fn source(name: &str, url: &str) -> String {
    format!("[[source]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

#[tokio::test]
async fn every_class_of_input_is_read_faithfully() {
    let server = server().await;
    let uri = server.uri();
    // A text title with HTML end tags in it (`Test: <b>bold</b>`) is text,
    // yet RSS validators warn on it whatever the escaping: that feed goes
    // to Atom and JSON Feed only, where its type can be declared.
    let mut names = Vec::new();
    let mut sources = String::new();
    for (route, _, _) in FEEDS {
        if matches!(route, "/origin" | "/foreign") {
            continue;
        }
        let name = route.trim_start_matches('/');
        if name != "titles-atom" {
            names.push(format!("\"{name}\""));
        }
        sources.push_str(&source(name, &format!("{uri}{route}")));
    }
    let config = format!(
        "[[output]]\nname = \"all\"\nmax_items = 500\nsources = [{}]\n[[output]]\nname = \"text-titles\"\nsources = [\"titles-atom\"]\nformats = [\"atom\", \"json\"]\n{sources}",
        names.join(", ")
    );
    let project = Project::new(&config);
    let run = project.feedloom(&["run"]);
    // The document with an external entity fails, named, with its cause.
    assert_eq!(run.code, 3, "{run:?}");
    let failed: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", run.stderr);
    assert!(
        failed[0].contains("`external`") && failed[0].contains("external entity `secret`"),
        "{}",
        run.stderr
    );

    let feed = project.json("all.json");
    let mut items = by_title(&feed);
    let text_titles = project.json("text-titles.json");
    let all_count = items.len();
    items.extend(by_title(&text_titles));
    let item = |title: &str| {
        items.get(title).unwrap_or_else(|| {
            panic!(
                "no item {title:?}; have {:?}",
                items.keys().collect::<Vec<_>>()
            )
        })
    };

    // 1. Formats once read as empty.
    assert_eq!(
        item("Lamp serviced")["url"],
        "https://lighthouse.example/log/lamp"
    );
    assert_eq!(
        item("Lamp serviced")["date_published"],
        "2025-11-01T20:00:00Z"
    );
    assert!(
        item("Lamp serviced")["content_html"]
            .as_str()
            .unwrap()
            .contains("<b>lamp</b>")
    );
    item("Wheel turns again");
    item("Flour for the fair");
    assert_eq!(
        item("Namespaced item")["url"],
        "https://userland.example/one"
    );

    // 2. Fallback elements.
    let hay = item("Hay bales counted");
    assert_eq!(hay["authors"][0]["name"], "Ines Moor");
    assert_eq!(hay["date_published"], "2025-10-20T06:30:00Z");
    assert!(
        hay["content_html"]
            .as_str()
            .unwrap()
            .contains("Four hundred")
    );
    let geese = item("Geese on the pond");
    assert_eq!(geese["url"], "https://farm.example/geese");
    assert_eq!(geese["date_published"], "2025-10-21T07:00:00Z");
    assert!(
        geese["content_html"]
            .as_str()
            .unwrap()
            .contains("Eleven geese")
    );
    let episode = item("Episode three: fences");
    assert_eq!(episode["authors"][0]["name"], "Ola Reed");
    assert!(
        episode["content_html"]
            .as_str()
            .unwrap()
            .contains("mending fences")
    );
    let blasting = item("Blasting schedule");
    assert_eq!(blasting["url"], "https://quarry.example/updates/blasting");

    // 3. Nothing an entry carries is lost: guid-only, text-only and
    // enclosure-only items are all published.
    let sparse: Vec<&Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["_feedloom"]["sources"][0]["name"] == "sparse")
        .collect();
    assert_eq!(sparse.len(), 4, "{sparse:#?}");
    assert!(
        sparse
            .iter()
            .any(|i| i["attachments"][0]["url"] == "https://sparse.example/audio/bell.mp3")
    );
    assert!(
        sparse
            .iter()
            .any(|i| i["title"] == "A note that has nothing but its text.")
    );

    // 4. Text titles stay text; HTML titles keep every element's text.
    item("Test: <b>bold</b> stays");
    item("Shown bold and slanted");
    item("Inline xhtml title");
    item("Item <!-- Title");
    item("self-closing <tag/> and <tag> kept");

    // 5 and 6. Links byte for byte but tracking parameters; anchors are items.
    assert_eq!(
        item("Bare query")["url"],
        "https://links.example/326649?rss"
    );
    assert_eq!(
        item("Perl style")["url"],
        "https://links.example/here.pl?r123"
    );
    assert_eq!(
        item("Encoded space")["url"],
        "https://links.example/find?q=tide%20table"
    );
    for (title, anchor) in [
        ("Anchor one", "one"),
        ("Anchor two", "two"),
        ("Anchor three", "three"),
    ] {
        assert_eq!(
            item(title)["url"],
            format!("https://links.example/digest#{anchor}")
        );
    }
    assert_eq!(
        item("Upper-case host")["url"],
        "https://Links.Example/Case/Path?Q=1"
    );
    assert_eq!(
        item("Written as an IRI")["url"],
        "https://links.example/café/straße?q=ü"
    );
    assert_eq!(item("Shared guid A")["url"], "https://links.example/a");
    assert_eq!(item("Shared guid B")["url"], "https://links.example/b");

    // 7. xml:base wherever it stands; else the item's link; else the channel.
    let first = item("Item base");
    assert_eq!(first["url"], "https://mirror.example/posts/first.html");
    assert!(
        first["content_html"]
            .as_str()
            .unwrap()
            .contains(r#"href="https://mirror.example/posts/notes.html""#),
        "{first}"
    );
    let second = item("Description base");
    assert_eq!(second["url"], "https://station.example/blog/second.html");
    assert!(
        second["content_html"]
            .as_str()
            .unwrap()
            .contains(r#"src="https://images.example/gallery/boat.png""#),
        "{second}"
    );
    let third = item("Channel link base");
    assert_eq!(third["url"], "https://station.example/blog/third.html");
    let html = third["content_html"].as_str().unwrap();
    assert!(
        html.contains(r#"href="https://station.example/about""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://station.example/blog/more.html""#),
        "{html}"
    );

    // 8 and 9. Enclosures, images and RFC 822 authors.
    let ep1 = item("Episode 1: Spring tides");
    assert_eq!(
        ep1["attachments"][0],
        serde_json::json!({"url": "https://cdn.tidetalk.example/ep1.mp3", "mime_type": "audio/mpeg",
                           "size_in_bytes": 24_681_357, "duration_in_seconds": 2465})
    );
    assert_eq!(ep1["image"], "https://cdn.tidetalk.example/ep1.jpg");
    assert_eq!(ep1["authors"][0]["name"], "Maren Holt");
    let ep2 = item("Episode 2: Neap tides");
    assert_eq!(ep2["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(ep2["authors"][0]["name"], "Maren Holt");

    // 10. Entities the document declares, and HTML ones, are text.
    let notes = item("Notes by The Harbour Crew");
    assert!(
        notes["content_html"]
            .as_str()
            .unwrap()
            .contains("Signed: The Harbour Crew &amp; friends"),
        "{notes}"
    );
    // (A no-break space is whitespace in a title, collapsed like the rest.)
    item("Café opens early");

    // 11. One lone surrogate damages its field only.
    item("Broken \u{fffd} title");
    item("Pair \u{1f34e} kept");
    assert!(
        item("Third item")["content_html"]
            .as_str()
            .unwrap()
            .contains('\u{fffd}')
    );

    // The same items in RSS and Atom, as three parsers and two readers see them.
    let (channel, atom) = round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    assert_eq!(channel.items().len(), all_count);
    assert_eq!(atom.entries().len(), all_count);
    let declared =
        atom_syndication::Feed::read_from(&project.read("text-titles.atom")[..]).unwrap();
    let escaped: Vec<&str> = declared
        .entries()
        .iter()
        .map(|e| e.title().as_str())
        .collect();
    assert!(
        escaped.contains(&"Test: &lt;b&gt;bold&lt;/b&gt; stays"),
        "{escaped:?}"
    );
    let rss_ep1 = channel
        .items()
        .iter()
        .find(|i| i.title() == Some("Episode 1: Spring tides"))
        .unwrap();
    let enclosure = rss_ep1.enclosure().unwrap();
    assert_eq!(enclosure.url(), "https://cdn.tidetalk.example/ep1.mp3");
    assert_eq!(enclosure.length(), "24681357");
    assert_eq!(enclosure.mime_type(), "audio/mpeg");
    assert_eq!(rss_ep1.author(), Some("host@tidetalk.example (Maren Holt)"));
    let atom_ep2 = atom
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "Episode 2: Neap tides")
        .unwrap();
    let enclosures: Vec<(&str, Option<&str>, Option<&str>)> = atom_ep2
        .links()
        .iter()
        .filter(|l| l.rel() == "enclosure")
        .map(|l| (l.href(), l.mime_type(), l.length()))
        .collect();
    assert_eq!(
        enclosures,
        [
            (
                "https://cdn.tidetalk.example/ep2.ogg",
                Some("audio/ogg"),
                Some("19876543")
            ),
            (
                "https://cdn.tidetalk.example/ep2.mp4",
                Some("video/mp4"),
                Some("98765432")
            ),
        ]
    );
    assert_eq!(atom_ep2.authors()[0].email(), Some("host@tidetalk.example"));
    // The IRI as written in Atom; RSS, which wants URIs, gets its encoded form.
    let atom_iri = atom
        .entries()
        .iter()
        .find(|e| e.title().as_str() == "Written as an IRI")
        .unwrap();
    assert_eq!(
        atom_iri.links()[0].href(),
        "https://links.example/café/straße?q=ü"
    );
    let rss_iri = channel
        .items()
        .iter()
        .find(|i| i.title() == Some("Written as an IRI"))
        .unwrap();
    assert_eq!(
        rss_iri.link(),
        Some("https://links.example/caf%C3%A9/stra%C3%9Fe?q=%C3%BC")
    );
    readers_see_every_item(&project, all_count);
}

/// newsboat and Python feedparser, where installed, read every item
/// without an error.
fn readers_see_every_item(project: &Project, expected: usize) {
    for name in ["all.rss", "all.atom"] {
        let path = project.output(name);
        if let Some(nb) = common::reader("newsboat-read", &["--json"], &path) {
            assert_eq!(
                nb["errors"].as_array().map_or(0, Vec::len),
                0,
                "{name}: {nb}"
            );
            assert_eq!(nb["item_count"], expected, "{name}: {nb}");
        }
        if let Some(fp) = common::reader("feedparser-read", &[], &path) {
            assert_eq!(fp["bozo"], false, "{name}: {fp}");
            assert_eq!(fp["entry_count"], expected, "{name}: {fp}");
        }
    }
}

#[tokio::test]
async fn a_story_keeps_its_origins_words() {
    let server = server().await;
    let uri = server.uri();
    let foreign_only = format!(
        "[[output]]\nname = \"all\"\n{}",
        source("Roundup", &format!("{uri}/foreign"))
    );
    let project = Project::new(&foreign_only);
    assert_eq!(project.feedloom(&["run"]).code, 0);
    // The origin is added later: its title and text replace the
    // aggregator's, and both stay in the attribution.
    std::fs::write(
        project.config(),
        format!(
            "{foreign_only}{}",
            source("Gazette", &format!("{uri}/origin"))
        ),
    )
    .unwrap();
    let run = project.feedloom(&["run", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    let feed = project.json("all.json");
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:#?}");
    let story = &items[0];
    assert_eq!(story["title"], "New pier opens on Friday");
    assert_eq!(story["url"], "https://harbour.example/news/pier");
    assert!(
        story["content_html"]
            .as_str()
            .unwrap()
            .contains("mayor's quote")
    );
    let names: Vec<&str> = story["_feedloom"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gazette", "Roundup"]);
    let (channel, _) = round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    assert_eq!(
        channel.items()[0].source().unwrap().title(),
        Some("Gazette")
    );
    // A third run changes nothing: the origin keeps it.
    assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    assert_eq!(
        project.json("all.json")["items"][0]["title"],
        "New pier opens on Friday"
    );
}

#[tokio::test]
async fn priority_decides_between_sources_that_are_not_the_origin() {
    let server = server().await;
    let uri = server.uri();
    // Two copies of the aggregator's feed under two names: neither is the
    // story's origin, so the configured priority decides.
    let first = source("Low", &format!("{uri}/foreign"));
    let project = Project::new(&format!("[[output]]\nname = \"all\"\n{first}"));
    assert_eq!(project.feedloom(&["run"]).code, 0);
    std::fs::write(
        project.config(),
        format!(
            "[[output]]\nname = \"all\"\n{first}{}priority = 10\n",
            source("High", &format!("{uri}/foreign?copy=2"))
        ),
    )
    .unwrap();
    assert_eq!(project.feedloom(&["run", "--all"]).code, 0);
    let feed = project.json("all.json");
    assert_eq!(feed["items"][0]["_feedloom"]["sources"][0]["name"], "High");
}

#[test]
fn local_files_never_leak_their_paths() {
    let project = Project::new(
        "[[output]]\nname = \"all\"\n[[source]]\nname = \"Saved\"\npath = \"saved.rss\"\n[[source]]\nname = \"Mirror\"\npath = \"mirror.atom\"\n",
    );
    std::fs::write(
        project.dir.path().join("saved.rss"),
        fixture("fidelity/local-noself.rss"),
    )
    .unwrap();
    std::fs::write(
        project.dir.path().join("mirror.atom"),
        fixture("fidelity/local-self.atom"),
    )
    .unwrap();
    let run = project.feedloom(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let dir = project.dir.path().to_string_lossy().into_owned();
    for name in ["all.rss", "all.atom", "all.json"] {
        let text = String::from_utf8(project.read(name)).unwrap();
        assert!(
            !text.contains("file:"),
            "{name} names a local file:\n{text}"
        );
        assert!(!text.contains(&dir), "{name} names the folder:\n{text}");
    }
    let feed = project.json("all.json");
    let mirror = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Tag only")
        .unwrap();
    assert_eq!(
        mirror["_feedloom"]["sources"][0]["feed_url"],
        "https://mirror.example/feed.atom"
    );
    round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
}
