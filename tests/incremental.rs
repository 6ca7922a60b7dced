//! Incremental publishing gives the same bytes as a full rebuild.
//!
//! Three feeds change over four rounds the ways feeds do: new items on
//! top, an edited item, items pushed out by retention while another source
//! still carries one of them, a new item whose `updated` second collides
//! with an older one's (Atom moves the older one), a cross-post that adds
//! an attribution to an old item, and a feed that renames itself. After
//! every round the files published from the last ones must equal, byte for
//! byte, what a rebuild from scratch of the same state writes.

mod common;

use std::fmt::Write as _;

use common::Project;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One item of a test feed.
#[derive(Clone)]
struct Entry {
    id: String,
    title: String,
    link: String,
    /// Seconds after 2026-03-01T00:00:00Z.
    at: i64,
    body: String,
}

fn entry(feed: &str, n: i64, at: i64) -> Entry {
    Entry {
        id: format!("{feed}-{n}"),
        title: format!("{feed} note number {n}"),
        link: format!("https://{feed}.example.net/notes/{n}"),
        at,
        body: format!(
            "<p>Note {n} of {feed}, with <em>a little</em> markup &amp; a link to <a href=\"https://{feed}.example.net/\">home</a>.</p>"
        ),
    }
}

fn when(at: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_772_323_200 + at, 0).unwrap()
}

fn rss(title: &str, site: &str, entries: &[Entry]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title><link>{site}</link><description>Test notes</description>"
    );
    for e in entries {
        let _ = write!(
            xml,
            "<item><title>{}</title><link>{}</link><guid>{}</guid><pubDate>{}</pubDate><description><![CDATA[{}]]></description></item>",
            e.title,
            e.link,
            e.link,
            when(e.at).to_rfc2822(),
            e.body
        );
    }
    xml + "</channel></rss>"
}

fn atom(title: &str, site: &str, entries: &[Entry]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{title}</title><id>urn:test:{title}</id><updated>2026-03-01T00:00:00Z</updated><link href=\"{site}\"/><author><name>Tester</name></author>"
    );
    for e in entries {
        // Every entry is updated at the next full hour: several share one
        // second, which Atom entries must not.
        let updated = when(e.at + 3600 - e.at % 3600).to_rfc3339();
        let _ = write!(
            xml,
            "<entry><title>{}</title><id>urn:test:{}</id><link href=\"{}\"/><published>{}</published><updated>{updated}</updated><content type=\"html\">{}</content></entry>",
            e.title,
            e.id,
            e.link,
            when(e.at).to_rfc3339(),
            e.body.replace('&', "&amp;").replace('<', "&lt;")
        );
    }
    xml + "</feed>"
}

fn json(title: &str, site: &str, entries: &[Entry]) -> String {
    let items: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "url": e.link, "title": e.title,
                "content_html": e.body, "date_published": when(e.at).to_rfc3339(),
            })
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1", "title": title,
        "home_page_url": site, "items": items,
    })
    .to_string()
}

/// The three feeds as they are in one round.
struct World {
    alpha: Vec<Entry>,
    alpha_title: String,
    beta: Vec<Entry>,
    gamma: Vec<Entry>,
}

async fn publish(server: &MockServer, world: &World) {
    server.reset().await;
    for (route, body, kind) in [
        (
            "/alpha.rss",
            rss(
                &world.alpha_title,
                "https://alpha.example.net/",
                &world.alpha,
            ),
            "application/rss+xml",
        ),
        (
            "/beta.atom",
            atom("Beta", "https://beta.example.net/", &world.beta),
            "application/atom+xml",
        ),
        (
            "/gamma.json",
            json("Gamma", "https://gamma.example.net/", &world.gamma),
            "application/feed+json",
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("Content-Type", kind)
                    .set_body_string(body),
            )
            .mount(server)
            .await;
    }
}

const FILES: [&str; 10] = [
    "all.rss",
    "all.atom",
    "all.json",
    "all.html",
    "picked.rss",
    "picked.atom",
    "picked.json",
    "oldest.rss",
    "oldest.atom",
    "oldest.json",
];

/// Runs feedloom, then rebuilds every file from scratch and compares.
/// Returns how many files were published from the last ones, and the files.
fn run_and_compare(project: &Project, round: &str) -> (usize, Vec<Vec<u8>>) {
    let out = project.feedloom(&["run", "--all", "--verbose"]);
    assert_eq!(out.code, 0, "{round}: {}", out.stderr);
    let spliced = out.stderr.matches("Published from the last file.").count();
    let incremental: Vec<Vec<u8>> = FILES.iter().map(|f| project.read(f)).collect();
    std::fs::remove_dir_all(project.dir.path().join("output")).unwrap();
    // No source is due again yet: this run only publishes, from the same
    // state.
    let again = project.feedloom(&["run", "--verbose"]);
    assert_eq!(again.code, 0, "{round}: {}", again.stderr);
    assert!(
        !again.stderr.contains("Published from the last file.")
            && !again.stderr.contains("Fetched."),
        "{round}: with no files left, everything is rebuilt, and nothing is fetched: {}",
        again.stderr
    );
    for (file, bytes) in FILES.iter().zip(&incremental) {
        let full = project.read(file);
        if &full != bytes {
            let at = full
                .iter()
                .zip(bytes)
                .position(|(a, b)| a != b)
                .unwrap_or(full.len().min(bytes.len()));
            let show = |b: &[u8]| {
                String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 80).min(b.len())])
                    .into_owned()
            };
            panic!(
                "{round}: {file} differs from a full rebuild at byte {at}:\nincremental: {}\nfull:        {}",
                show(bytes),
                show(&full)
            );
        }
    }
    project.assert_valid_outputs();
    (spliced, incremental)
}

#[tokio::test(flavor = "multi_thread")]
async fn files_published_from_the_last_ones_equal_a_full_rebuild() {
    rounds(&MockServer::start().await, None).await;
}

/// The same rounds with the state in PostgreSQL publish the same bytes as
/// with the state in an SQLite file, round after round.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_state_publishes_what_an_sqlite_state_does() {
    let Some(url) = common::postgres_url("incremental").await else {
        return;
    };
    // One server for both, so the sources' addresses are the same.
    let server = MockServer::start().await;
    let sqlite = rounds(&server, None).await;
    let postgres = rounds(&server, Some(&url)).await;
    for (round, (a, b)) in sqlite.iter().zip(&postgres).enumerate() {
        for (file, (x, y)) in FILES.iter().zip(a.iter().zip(b)) {
            assert!(
                x == y,
                "round {round}: {file} differs between SQLite and PostgreSQL:\n{}\n---\n{}",
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    }
}

/// Four rounds of changes, each checked against a full rebuild; the
/// files after each round.
async fn rounds(server: &MockServer, database_url: Option<&str>) -> Vec<Vec<Vec<u8>>> {
    let base = server.uri();
    let database = database_url.map_or_else(String::new, |u| format!("database_url = \"{u}\"\n"));
    let config = format!(
        r#"
[settings]
{database}public_url = "https://feeds.example.org/"
# One fetch at a time, in this order: alpha and gamma share a story, whose
# id is the one its first source gave it, so the order must not vary.
concurrency = 1

[settings.retention]
max_items = 25

[[output]]
name = "all"
formats = ["rss", "atom", "json", "html"]

[[output]]
name = "picked"
formats = ["rss", "atom", "json"]
include = {{ title = "number [0-9]*[02468]$" }}

# Two of the oldest items: the newest keys read first hold none of them.
[[output]]
name = "oldest"
formats = ["rss", "atom", "json"]
max_items = 2
include = {{ title = "alpha note number [0-2]$" }}

[[source]]
name = "alpha"
url = "{base}/alpha.rss"

[[source]]
name = "beta"
url = "{base}/beta.atom"

[[source]]
name = "gamma"
url = "{base}/gamma.json"
"#
    );
    let project = Project::new(&config);
    let mut world = World {
        alpha: (0..25)
            .rev()
            .map(|n| entry("alpha", n, n * 7_200))
            .collect(),
        alpha_title: "Alpha".into(),
        beta: (0..20)
            .rev()
            .map(|n| entry("beta", n, n * 1_800 + 60))
            .collect(),
        gamma: (0..10)
            .rev()
            .map(|n| entry("gamma", n, n * 9_000 + 30))
            .collect(),
    };
    // Gamma also carries alpha's oldest note, which retention will push
    // out of alpha.
    let mut shared = world.alpha[24].clone();
    shared.id = "gamma-shared".into();
    world.gamma.push(shared);
    let mut files = Vec::new();
    publish(server, &world).await;
    let (spliced, published) = run_and_compare(&project, "first run");
    assert_eq!(spliced, 0);
    files.push(published);

    // Two new notes on top; one old note edited.
    world.alpha.insert(0, entry("alpha", 25, 25 * 7_200));
    world.alpha.insert(0, entry("alpha", 26, 26 * 7_200));
    world.alpha.truncate(25);
    world.alpha[5].title.push_str(" (corrected)");
    publish(server, &world).await;
    let (spliced, published) = run_and_compare(&project, "new and edited notes");
    assert_eq!(
        spliced, 9,
        "every RSS, Atom and JSON file is published from the last one"
    );
    files.push(published);

    // A beta note updated in the same second as an older one, and a
    // cross-post of an old alpha note.
    let mut late = entry("beta", 20, 19 * 1_800 + 120);
    late.at = world.beta[3].at;
    world.beta.insert(0, late);
    let mut cross = world.alpha[10].clone();
    cross.id = "gamma-cross".into();
    world.gamma.insert(0, cross);
    publish(server, &world).await;
    let (spliced, published) = run_and_compare(&project, "collisions and cross-posts");
    assert_eq!(spliced, 9);
    files.push(published);

    // A feed renames itself: every item's attribution changes.
    world.alpha_title = "Alpha, renamed".into();
    publish(server, &world).await;
    let (spliced, published) = run_and_compare(&project, "a renamed feed");
    assert_eq!(spliced, 0, "a changed source title rebuilds the files");
    files.push(published);
    files
}
