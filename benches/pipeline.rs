//! The end-to-end benchmark: the real `feedloom run` process against a
//! generated corpus served on loopback.
//!
//!     cargo bench --bench pipeline -- [--n 100,1000] [--huge] [--runs 3] [--compare]
//!     cargo bench --bench pipeline -- --sources 100000
//!
//! For each N it generates a deterministic corpus (four formats, 20-200
//! items per feed, 300 B-20 KB items, odd dates, cross-posted items), serves
//! it with ETag/Last-Modified from an in-process server, and times, as
//! medians of `--runs` runs: cold (empty state, newest 500 published),
//! cold-all (every item published), warm (every feed answers 304) and
//! churn (10% of the feeds changed, answered 200 with one new item on
//! top), on the state of each cold case, as a share of that cold case's
//! time. `--huge` adds N = 10,000. With
//! `--compare` and `../shared/bench` present, the Python reference peer
//! (planet.py + fastfeedparser, installed into a virtualenv if missing) and
//! the quick-xml lower bound run on the same corpus, and ratios are printed.
//!
//! `--sources COUNT` (alone, or beside `--n`) configures COUNT sources of
//! one small feed each and reports what a large feeds.toml costs: reading
//! it (`check`), the first run (every source fetched), a run with none due,
//! and a daemon's start and its idle CPU with none due, with peak memory.
//!
//! `--workers 1,2,3` (with `--n`, default 1,000 feeds) keeps the state in
//! PostgreSQL (the server `FEEDLOOM_TEST_DATABASE_URL` names, or one
//! `scripts/postgres-test-server` starts) and times 1, 2 and 3 daemons
//! sharing it as workers until every source has been fetched and recorded
//! once: sources/s, items/s and the workers' CPU, beside one daemon on an
//! SQLite state.

// A benchmark turns counts into rates and ratios; the precision a u64 loses
// in f64 is far below what it reports.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

// ---------------------------------------------------------------------------
// A small deterministic random source (xorshift64*): the corpus must be the
// same bytes for the same seed on every machine.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "server",
    "release",
    "feed",
    "update",
    "data",
    "build",
    "code",
    "memory",
    "latency",
    "network",
    "kernel",
    "parser",
    "async",
    "thread",
    "cache",
    "design",
    "test",
    "fix",
    "café",
    "naïve",
    "Zürich",
    "“quoted”",
    "it’s",
    "—",
    "garden",
    "river",
    "market",
    "council",
    "library",
    "ferry",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

fn body(rng: &mut Rng, bytes: usize) -> String {
    let mut html = String::new();
    while html.len() < bytes {
        let _ = write!(
            html,
            "<p>{} <a href=\"/ref/{}\">link</a> &amp; more.</p>",
            sentence(rng, 40),
            rng.below(1000)
        );
    }
    html
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A date in one of the forms feeds really use.
fn odd_date(rng: &mut Rng, ts: i64, iso: bool) -> String {
    let d = chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default();
    if iso {
        return match rng.below(3) {
            0 => d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            1 => d
                .with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap())
                .to_rfc3339(),
            _ => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        };
    }
    match rng.below(4) {
        0 => d.to_rfc2822(),
        1 => d
            .with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).unwrap())
            .format("%a, %d %b %Y %H:%M:%S EST")
            .to_string(),
        2 => d.format("%d %b %Y %H:%M GMT").to_string(),
        _ => d.format("%a, %d %b %y %H:%M:%S +0000").to_string(),
    }
}

#[derive(Clone)]
struct Item {
    title: String,
    link: String,
    id: String,
    date: i64,
    html: String,
}

/// One feed document in its format.
fn render(kind: u64, k: usize, items: &[Item], rng: &mut Rng) -> (String, Vec<u8>) {
    let mut doc = String::new();
    match kind {
        0 => {
            let _ = write!(
                doc,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Feed {k}</title><link>https://site{k}.example/</link><description>Bench feed {k}</description>"
            );
            for it in items {
                let _ = write!(
                    doc,
                    "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}</guid><pubDate>{}</pubDate><description>{}</description></item>",
                    xml_escape(&it.title),
                    it.link,
                    it.id,
                    odd_date(rng, it.date, false),
                    xml_escape(&it.html)
                );
            }
            doc.push_str("</channel></rss>");
            (format!("feeds/{k:05}.rss"), doc.into_bytes())
        }
        1 => {
            let _ = write!(
                doc,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Feed {k}</title><id>tag:site{k}.example,2026:feed</id><updated>2026-01-01T00:00:00Z</updated><link href=\"https://site{k}.example/\"/><author><name>Author {k}</name></author>"
            );
            for it in items {
                let _ = write!(
                    doc,
                    "<entry><title>{}</title><id>tag:site{k}.example,2026:{}</id><link href=\"{}\"/><published>{}</published><updated>{}</updated><content type=\"html\">{}</content></entry>",
                    xml_escape(&it.title),
                    it.id,
                    it.link,
                    odd_date(rng, it.date, true),
                    odd_date(rng, it.date, true),
                    xml_escape(&it.html)
                );
            }
            doc.push_str("</feed>");
            (format!("feeds/{k:05}.atom"), doc.into_bytes())
        }
        2 => {
            let _ = write!(
                doc,
                "<?xml version=\"1.0\"?><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel rdf:about=\"https://site{k}.example/\"><title>Feed {k}</title><link>https://site{k}.example/</link><description>d</description></channel>"
            );
            for it in items {
                let _ = write!(
                    doc,
                    "<item rdf:about=\"{}\"><title>{}</title><link>{}</link><dc:date>{}</dc:date><description>{}</description></item>",
                    it.link,
                    xml_escape(&it.title),
                    it.link,
                    odd_date(rng, it.date, true),
                    xml_escape(&it.html)
                );
            }
            doc.push_str("</rdf:RDF>");
            (format!("feeds/{k:05}.rdf"), doc.into_bytes())
        }
        _ => {
            let items: Vec<serde_json::Value> = items
                .iter()
                .map(|it| serde_json::json!({"id": it.id, "url": it.link, "title": it.title, "content_html": it.html, "date_published": odd_date(rng, it.date, true)}))
                .collect();
            let doc = serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": format!("Feed {k}"), "home_page_url": format!("https://site{k}.example/"), "items": items});
            (
                format!("feeds/{k:05}.json"),
                serde_json::to_vec(&doc).unwrap(),
            )
        }
    }
}

#[derive(Clone)]
struct Feed {
    path: String,
    kind: u64,
    items: Vec<Item>,
    bytes: Vec<u8>,
    version: u64,
}

struct Corpus {
    feeds: Vec<Feed>,
    items: usize,
    bytes: usize,
}

fn generate(n: usize, seed: u64) -> Corpus {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let stories: Vec<(String, String)> = (0..n * 3)
        .map(|i| {
            (
                format!("Shared story {i}: {}", sentence(&mut rng, 6)),
                format!("https://news.example/story/{i}"),
            )
        })
        .collect();
    let mut feeds = Vec::with_capacity(n);
    for k in 0..n {
        let roll = rng.below(100);
        let kind = match roll {
            0..50 => 0,
            50..77 => 1,
            77..88 => 2,
            _ => 3,
        };
        // About 65 items of ~3.7 KB a feed on average: ~240 MB at N = 1,000,
        // the size of the peers' reference corpus.
        let count = if rng.below(5) == 0 {
            rng.range(100, 200)
        } else {
            rng.range(20, 70)
        } as usize;
        let size = match rng.below(3) {
            0 => (300, 1200),
            1 => (1200, 5000),
            _ => (4000, 11000),
        };
        let mut items = Vec::with_capacity(count);
        for i in 0..count {
            let date = 1_767_225_600
                - (i as i64) * 3600 * (1 + rng.below(24) as i64)
                - rng.below(3600) as i64;
            let (title, link) = if rng.below(1000) < 45 {
                stories[rng.below(stories.len() as u64) as usize].clone()
            } else {
                (
                    sentence(&mut rng, 8),
                    format!("https://site{k}.example/posts/{i}?utm_source=feed"),
                )
            };
            let bytes = rng.range(size.0, size.1) as usize;
            items.push(Item {
                title,
                link,
                id: format!("feed{k}-item{i}"),
                date,
                html: body(&mut rng, bytes),
            });
        }
        let (path, bytes) = render(kind, k, &items, &mut rng);
        feeds.push(Feed {
            path,
            kind,
            items,
            bytes,
            version: 0,
        });
    }
    let items = feeds.iter().map(|f| f.items.len()).sum();
    let bytes = feeds.iter().map(|f| f.bytes.len()).sum();
    Corpus {
        feeds,
        items,
        bytes,
    }
}

/// Changes `share` of the feeds: a new item on top, a new ETag. Returns
/// the items and bytes of the feeds that changed. Each feed's first
/// version goes into `saved`, for [`restore`].
fn churn(
    corpus: &mut Corpus,
    share: f64,
    round: u64,
    saved: &mut std::collections::HashMap<usize, Feed>,
) -> (usize, usize) {
    let mut rng = Rng(0x00c0_ffee + round);
    let count = (corpus.feeds.len() as f64 * share).ceil() as usize;
    let n = corpus.feeds.len();
    for j in 0..count {
        let k = (j * n / count + round as usize) % n;
        saved.entry(k).or_insert_with(|| corpus.feeds[k].clone());
        let feed = &mut corpus.feeds[k];
        feed.version += 1;
        let v = feed.version;
        feed.items.insert(
            0,
            Item {
                title: format!("Fresh note {v} of feed {k}"),
                link: format!("https://site{k}.example/fresh/{v}"),
                id: format!("feed{k}-fresh{v}"),
                date: 1_767_225_600 + v as i64 * 60,
                html: body(&mut rng, 2000),
            },
        );
        let (path, bytes) = render(feed.kind, k, &feed.items, &mut rng);
        feed.path = path;
        feed.bytes = bytes;
    }
    let changed = (0..count).map(|j| &corpus.feeds[(j * n / count + round as usize) % n]);
    changed.fold((0, 0), |(i, b), f| (i + f.items.len(), b + f.bytes.len()))
}

/// Puts back the feeds [`churn`] changed, as they were first.
fn restore(corpus: &mut Corpus, saved: std::collections::HashMap<usize, Feed>) {
    for (k, feed) in saved {
        corpus.feeds[k] = feed;
    }
}

// ---------------------------------------------------------------------------
// The loopback server.

struct Served {
    files: std::collections::HashMap<String, (Vec<u8>, String)>,
}

type Shared = Arc<RwLock<Served>>;

fn publish_corpus(shared: &Shared, corpus: &Corpus) {
    let mut s = shared.write().unwrap();
    s.files = corpus
        .feeds
        .iter()
        .map(|f| {
            (
                format!("/{}", f.path),
                (
                    f.bytes.clone(),
                    format!("\"{}-{}\"", f.path.len(), f.version),
                ),
            )
        })
        .collect();
}

async fn serve_file(State(shared): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.read().unwrap();
    let Some((bytes, etag)) = s.files.get(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone())]).into_response();
    }
    let ct = if Path::new(uri.path())
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        "application/feed+json"
    } else {
        "application/xml"
    };
    (
        StatusCode::OK,
        [
            (header::ETAG, etag.clone()),
            (header::CONTENT_TYPE, ct.to_owned()),
            (
                header::LAST_MODIFIED,
                "Thu, 01 Jan 2026 00:00:00 GMT".to_owned(),
            ),
        ],
        bytes.clone(),
    )
        .into_response()
}

fn start_server(shared: Shared) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let app = axum::Router::new().fallback(serve_file).with_state(shared);
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

// ---------------------------------------------------------------------------
// Measuring a process.

#[derive(Clone, Copy, Default)]
struct Measure {
    wall: f64,
    cpu: f64,
    peak_mb: f64,
}

fn timed(mut cmd: Command) -> Measure {
    let time = Path::new("/usr/bin/time");
    let start = Instant::now();
    if !time.exists() {
        let status = cmd.status().expect("run");
        assert!(status.success() || status.code() == Some(3), "{status}");
        return Measure {
            wall: start.elapsed().as_secs_f64(),
            ..Measure::default()
        };
    }
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut wrapped = Command::new(time);
    wrapped
        .arg("-f")
        .arg("@@ %e %U %S %M")
        .arg(program)
        .args(args);
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let out = wrapped.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("@@ "))
        .unwrap_or_else(|| panic!("no timing: {stderr}"));
    let f: Vec<f64> = line[3..]
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{} failed: {stderr}",
        cmd.get_program().to_string_lossy()
    );
    Measure {
        wall: f[0],
        cpu: f[1] + f[2],
        peak_mb: f[3] / 1024.0,
    }
}

fn median(mut v: Vec<Measure>) -> Measure {
    v.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let m = v[v.len() / 2];
    Measure {
        peak_mb: v.iter().map(|x| x.peak_mb).fold(0.0, f64::max),
        ..m
    }
}

fn feedloom(dir: &Path, all: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedloom"));
    cmd.arg("run")
        .arg("--quiet")
        .arg("--config")
        .arg(dir.join("feeds.toml"))
        .current_dir(dir);
    if all {
        cmd.arg("--all");
    }
    cmd
}

fn write_config(dir: &Path, port: u16, corpus: &Corpus, keep: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    // 16 requests at once, as every peer is allowed. All feeds sit on one
    // loopback host: the per-host limit that protects real sites is lifted
    // to the same 16, so fetches overlap as they would across hosts.
    let mut cfg = format!(
        "[settings]\nconcurrency = 16\nper_host = 16\nmax_items = {keep}\n\n[[output]]\nname = \"all\"\nformats = [\"rss\", \"atom\", \"json\"]\n"
    );
    for (k, f) in corpus.feeds.iter().enumerate() {
        let _ = write!(
            cfg,
            "\n[[source]]\nname = \"feed {k}\"\nurl = \"http://127.0.0.1:{port}/{}\"\n",
            f.path
        );
    }
    std::fs::write(dir.join("feeds.toml"), cfg).unwrap();
}

struct Row {
    case: String,
    n: usize,
    m: Measure,
    items: usize,
    bytes: usize,
}

fn bench_n(
    n: usize,
    runs: usize,
    compare: bool,
    base: &Path,
    rows: &mut Vec<Row>,
    ratios: &mut Vec<String>,
) -> Option<Peer> {
    eprintln!("generating N = {n} ...");
    let mut corpus = generate(n, 42);
    let shared: Shared = Arc::new(RwLock::new(Served {
        files: std::collections::HashMap::default(),
    }));
    publish_corpus(&shared, &corpus);
    let port = start_server(shared.clone());
    let dir = base.join(format!("n{n}"));
    let (items, bytes) = (corpus.items, corpus.bytes);
    eprintln!("N = {n}: {items} items, {:.1} MB", bytes as f64 / 1e6);

    // Churn rounds on the state the last cold run left; the corpus is put
    // back after them, so every cold run (and the peer) reads the same one.
    let churn_rounds = |corpus: &mut Corpus| {
        let mut saved = std::collections::HashMap::new();
        let mut churned = Vec::new();
        let mut size = (0, 0);
        for round in 0..runs as u64 {
            size = churn(corpus, 0.10, round, &mut saved);
            publish_corpus(&shared, corpus);
            churned.push(timed(feedloom(&dir, true)));
        }
        restore(corpus, saved);
        publish_corpus(&shared, corpus);
        (median(churned), size)
    };
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..runs {
        write_config(&dir, port, &corpus, 500);
        cold.push(timed(feedloom(&dir, false)));
        warm.push(timed(feedloom(&dir, true)));
    }
    let (churned_newest, churn_size) = churn_rounds(&mut corpus);
    let mut cold_all = Vec::new();
    for _ in 0..runs {
        write_config(&dir, port, &corpus, 10_000_000);
        cold_all.push(timed(feedloom(&dir, false)));
    }
    let (churned_all, _) = churn_rounds(&mut corpus);
    let (cold, warm, cold_all) = (median(cold), median(warm), median(cold_all));
    rows.push(Row {
        case: "cold, newest 500".into(),
        n,
        m: cold,
        items,
        bytes,
    });
    rows.push(Row {
        case: "cold, every item".into(),
        n,
        m: cold_all,
        items,
        bytes,
    });
    rows.push(Row {
        case: "warm (all 304)".into(),
        n,
        m: warm,
        items: 0,
        bytes: 0,
    });
    rows.push(Row {
        case: "churn 10%, newest 500".into(),
        n,
        m: churned_newest,
        items: churn_size.0,
        bytes: churn_size.1,
    });
    rows.push(Row {
        case: "churn 10%, every item".into(),
        n,
        m: churned_all,
        items: churn_size.0,
        bytes: churn_size.1,
    });
    ratios.push(format!(
        "N = {n}: churn / cold = {:.0}% (newest 500), {:.0}% (every item)",
        100.0 * churned_newest.wall / cold.wall.max(1e-9),
        100.0 * churned_all.wall / cold_all.wall.max(1e-9)
    ));

    // The peer holds every parsed feed in memory (about 0.9 GB at
    // N = 1,000): at N = 10,000 it and this harness's corpus no longer fit
    // a 24 GB machine together, so it is compared at N <= 1,000 only.
    if compare && n <= 1000 {
        return compare_peers(n, &corpus, port, &dir, runs, cold, cold_all, warm, ratios);
    }
    if compare {
        eprintln!("N = {n}: the peer is compared at N <= 1,000 only (its memory)");
    }
    None
}

fn write_corpus(dir: &Path, corpus: &Corpus) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("feeds")).unwrap();
    let mut list = String::new();
    for f in &corpus.feeds {
        std::fs::write(dir.join(&f.path), &f.bytes).unwrap();
        let _ = writeln!(list, "/{}", f.path);
    }
    std::fs::write(dir.join("feeds.txt"), list).unwrap();
}

#[allow(clippy::too_many_arguments)]
fn compare_peers(
    n: usize,
    corpus: &Corpus,
    port: u16,
    dir: &Path,
    runs: usize,
    cold: Measure,
    cold_all: Measure,
    warm: Measure,
    ratios: &mut Vec<String>,
) -> Option<Peer> {
    let shared_bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    if !shared_bench.is_dir() {
        eprintln!("skipping --compare: ../shared/bench is absent");
        return None;
    }
    let corpus_dir = dir.join("corpus");
    write_corpus(&corpus_dir, corpus);

    // The lower bound: quick-xml tokenize only, one thread.
    let limit = Command::new("cargo")
        .args(["run", "--release", "--quiet", "--manifest-path"])
        .arg(shared_bench.join("limit/Cargo.toml"))
        .arg("--")
        .arg(&corpus_dir)
        .output();
    let tokenize = limit.ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout).lines().find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["mode"] == "quick-xml-tokenize" && v["threads"] == 1)
                .then(|| v["median_s"].as_f64())
                .flatten()
        })
    });

    // The reference peer, in a virtualenv of its own.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let _ = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        let _ = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "requests",
                "feedgen==1.0.0",
                "fastfeedparser==0.6.5",
            ])
            .status();
    }
    let planet = |keep: &str, state: &Path| {
        let mut cmd = Command::new(&python);
        cmd.arg(shared_bench.join("peers/planet.py"))
            .args(["--base", &format!("http://127.0.0.1:{port}"), "--list"])
            .arg(corpus_dir.join("feeds.txt"))
            .arg("--out")
            .arg(dir.join("planet-out"))
            .args(["--parser", "fastfeedparser", "--keep", keep, "--state"])
            .arg(state);
        cmd
    };
    let mut p_cold = Vec::new();
    let mut p_warm = Vec::new();
    let mut p_all = Vec::new();
    for i in 0..runs {
        let state = dir.join(format!("planet-state-{i}"));
        let _ = std::fs::remove_dir_all(&state);
        p_cold.push(timed(planet("500", &state)));
        p_warm.push(timed(planet("500", &state)));
        let state_all = dir.join(format!("planet-state-all-{i}"));
        let _ = std::fs::remove_dir_all(&state_all);
        p_all.push(timed(planet("all", &state_all)));
    }
    let (pc, pw, pa) = (median(p_cold), median(p_warm), median(p_all));
    let _ = writeln!(
        ratios.last_mut().unwrap(),
        "\nN = {n} peer planet+fastfeedparser: cold {:.2}s ({:.0} MB), all {:.2}s, warm {:.2}s",
        pc.wall,
        pc.peak_mb,
        pa.wall,
        pw.wall
    );
    ratios.push(format!(
        "N = {n}: feedloom is {:.1}x faster cold (target 3x), {:.1}x faster cold-all (target 2x), {:.1}x faster warm (target 20x), uses {:.0}% of the peer's memory",
        pc.wall / cold.wall,
        pa.wall / cold_all.wall,
        pw.wall / warm.wall,
        100.0 * cold.peak_mb / pc.peak_mb.max(1e-9)
    ));
    if let Some(t) = tokenize {
        ratios.push(format!("N = {n}: lower bound (quick-xml tokenize, 1 thread) {t:.2}s; feedloom cold is {:.1}x it (target within 5x)", cold.wall / t));
    }
    Some(Peer {
        n,
        cold: pc,
        all: pa,
        warm: pw,
    })
}

/// The reference peer's medians at one N.
struct Peer {
    n: usize,
    cold: Measure,
    all: Measure,
    warm: Measure,
}

/// The targets of the performance issue, each figure beside its bound (and
/// the peer's figure where the bound is relative to it).
fn targets(rows: &[Row], peers: &[Peer]) -> Vec<[String; 5]> {
    let find = |n: usize, case: &str| {
        rows.iter()
            .find(|r| r.n == n && r.case == case)
            .map(|r| r.m)
    };
    let peer = peers.iter().find(|p| p.n == 1000);
    let mut out = Vec::new();
    let mut row = |what: &str, ours: String, bound: &str, peer: String, met: bool| {
        let met = if met { "yes" } else { "no" };
        out.push([
            what.to_owned(),
            ours,
            bound.to_owned(),
            peer,
            met.to_owned(),
        ]);
    };
    let cold = find(1000, "cold, newest 500");
    let all = find(1000, "cold, every item");
    let warm = find(1000, "warm (all 304)");
    // (feedloom, peer) pairs whose ratio has a lower bound.
    let faster = [
        (
            "cold, newest 500, N = 1,000: times faster than the peer",
            cold,
            peer.map(|p| p.cold),
            3.0,
        ),
        (
            // The bound is against rss-funnel, which cannot run
            // here; planet is the peer measured in the same run.
            "cold, every item, N = 1,000: times faster than planet (the bound is against rss-funnel)",
            all,
            peer.map(|p| p.all),
            2.0,
        ),
        (
            "warm, N = 1,000: times faster than the peer",
            warm,
            peer.map(|p| p.warm),
            20.0,
        ),
    ];
    for (what, ours, theirs, bound) in faster {
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            let x = theirs.wall / ours.wall.max(1e-9);
            let shown = format!("{x:.1}x ({:.2} s)", ours.wall);
            row(
                what,
                shown,
                &format!("≥ {bound}x"),
                format!("{:.2} s", theirs.wall),
                x >= bound,
            );
        }
    }
    if let Some(cold) = cold {
        let cpu = format!("{:.2}", cold.cpu);
        row(
            "cold, newest 500, N = 1,000: CPU seconds",
            cpu,
            "≤ 4",
            "-".into(),
            cold.cpu <= 4.0,
        );
    }
    for n in [1000, 10_000] {
        for (churned, cold) in [
            ("churn 10%, newest 500", "cold, newest 500"),
            ("churn 10%, every item", "cold, every item"),
        ] {
            if let (Some(churn), Some(cold_run)) = (find(n, churned), find(n, cold)) {
                let share = 100.0 * churn.wall / cold_run.wall.max(1e-9);
                let what = format!("{churned}, N = {n}: share of the cold run");
                let shown = format!("{share:.0}% ({:.2} s)", churn.wall);
                row(&what, shown, "≤ 20%", "-".into(), share <= 20.0);
            }
        }
    }
    if let (Some(small), Some(huge)) = (cold, find(10_000, "cold, newest 500")) {
        let x = huge.wall / small.wall.max(1e-9);
        let shown = format!("{x:.1}x ({:.2} s)", huge.wall);
        row(
            "cold, N = 10,000 against N = 1,000",
            shown,
            "≤ 10.5x",
            "-".into(),
            x <= 10.5,
        );
        let peak = rows
            .iter()
            .filter(|r| r.n == 10_000)
            .map(|r| r.m.peak_mb)
            .fold(0.0, f64::max);
        let what = "N = 10,000: peak memory, MB (every case)";
        row(
            what,
            format!("{peak:.0}"),
            "≤ 150",
            "-".into(),
            peak <= 150.0,
        );
    }
    out
}

// ---------------------------------------------------------------------------
// Many sources: what a large feeds.toml costs when little is due.

/// One small feed served at one path; every source asks for it with a query
/// of its own, so each is a distinct URL with its own ETag exchange.
fn quiet_feed(shared: &Shared) {
    let body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Quiet</title><link>http://127.0.0.1/</link><description>Rarely posts</description></channel></rss>\n".to_vec();
    shared
        .write()
        .unwrap()
        .files
        .insert("/quiet.rss".into(), (body, "\"quiet-1\"".into()));
}

/// A config of `count` sources, each due once an hour.
fn write_many_config(dir: &Path, port: u16, count: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut cfg = String::from(
        "[settings]\nconcurrency = 16\nper_host = 16\ninterval = \"1h\"\n\n[[output]]\nname = \"all\"\nformats = [\"rss\", \"atom\", \"json\"]\n",
    );
    for k in 0..count {
        let _ = write!(
            cfg,
            "\n[[source]]\nname = \"source {k}\"\nurl = \"http://127.0.0.1:{port}/quiet.rss?s={k}\"\n"
        );
    }
    std::fs::write(dir.join("feeds.toml"), cfg).unwrap();
}

/// A process's CPU seconds and peak resident memory so far, from /proc.
fn proc_usage(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // SAFETY: sysconf only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .ok()?;
    Some((cpu, hwm / 1024.0))
}

/// Starts a daemon on `dir`'s config with none due, and reports its CPU
/// after `start` (the start-up: config, state, queue) and over the `idle`
/// seconds after that, and its peak memory.
fn daemon_usage(dir: &Path, start: u64, idle: u64) -> (f64, f64, f64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(["daemon", "--quiet", "--config"])
        .arg(dir.join("feeds.toml"))
        .current_dir(dir)
        .spawn()
        .expect("daemon");
    std::thread::sleep(std::time::Duration::from_secs(start));
    let (started, _) = proc_usage(child.id()).unwrap_or_default();
    std::thread::sleep(std::time::Duration::from_secs(idle));
    let (total, peak) = proc_usage(child.id()).unwrap_or_default();
    // SAFETY: signals our own child, which is still running.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let _ = child.wait();
    (started, total - started, peak)
}

fn bench_sources(count: usize, base: &Path) {
    let shared: Shared = Arc::new(RwLock::new(Served {
        files: std::collections::HashMap::new(),
    }));
    quiet_feed(&shared);
    let port = start_server(shared);
    let dir = base.join(format!("sources{count}"));
    write_many_config(&dir, port, count);
    let mut check = Command::new(env!("CARGO_BIN_EXE_feedloom"));
    check
        .args(["check", "--quiet", "--config"])
        .arg(dir.join("feeds.toml"))
        .stdout(std::process::Stdio::null())
        .current_dir(&dir);
    let read = timed(check);
    let first = timed(feedloom(&dir, false));
    let none_due = timed(feedloom(&dir, false));
    let (start_cpu, idle_cpu, daemon_peak) = daemon_usage(&dir, 8, 10);
    println!("\nmany sources: {count} configured, one small feed each (due hourly)\n");
    println!("| case | wall s | CPU s | peak MB |\n|---|---|---|---|");
    for (case, m) in [
        ("read feeds.toml (check)", read),
        ("first run (every source fetched)", first),
        ("run, none due", none_due),
    ] {
        println!(
            "| {case} | {:.2} | {:.2} | {:.0} |",
            m.wall, m.cpu, m.peak_mb
        );
    }
    println!("| daemon start, none due (first 8 s) | | {start_cpu:.2} | {daemon_peak:.0} |");
    println!("| daemon idle, next 10 s | | {idle_cpu:.2} | |");
    println!(
        "\npeak memory <= 200 MB: {}",
        if [read, first, none_due].iter().all(|m| m.peak_mb <= 200.0) && daemon_peak <= 200.0 {
            "met"
        } else {
            "not met"
        }
    );
}

/// A PostgreSQL server for `--workers`: the one the environment names, or
/// one the test script starts.
fn postgres_url() -> String {
    if let Ok(url) = std::env::var("FEEDLOOM_TEST_DATABASE_URL") {
        return url;
    }
    let out = Command::new("scripts/postgres-test-server")
        .arg("start")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("scripts/postgres-test-server");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("export FEEDLOOM_TEST_DATABASE_URL=")
        .to_owned()
}

/// Runs `sql` on the server at `url`, returning the first column of the
/// first row as text (`psql`, which comes with the server).
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-Atqc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `workers` daemons sharing a fresh schema until every one of `count`
/// sources is recorded: wall seconds and the daemons' CPU seconds.
fn run_workers(dir: &Path, url: Option<&str>, workers: usize, count: usize) -> (f64, f64) {
    let text = std::fs::read_to_string(dir.join("feeds.toml")).unwrap();
    let started = Instant::now();
    let mut children = Vec::new();
    for w in 0..workers {
        let here = dir.join(format!("worker{w}"));
        std::fs::create_dir_all(&here).unwrap();
        let cfg = match url {
            Some(url) => text.replacen(
                "[settings]\n",
                &format!("[settings]\ndatabase_url = \"{url}\"\n"),
                1,
            ),
            None => text.clone(),
        };
        std::fs::write(here.join("feeds.toml"), cfg).unwrap();
        children.push(
            Command::new(env!("CARGO_BIN_EXE_feedloom"))
                .args(["daemon", "--quiet", "--config"])
                .arg(here.join("feeds.toml"))
                .current_dir(&here)
                .spawn()
                .expect("daemon"),
        );
    }
    // Done when every source has a success recorded.
    let done = |dir: &Path| -> bool {
        match url {
            Some(url) => {
                psql(
                    url,
                    "SELECT COUNT(*) FROM sources WHERE last_success IS NOT NULL",
                )
                .parse::<usize>()
                .unwrap_or(0)
                    >= count
            }
            None => Command::new(env!("CARGO_BIN_EXE_feedloom"))
                .args(["status", "--json", "--config"])
                .arg(dir.join("worker0/feeds.toml"))
                .output()
                .ok()
                .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
                .and_then(|v| v["sources"].as_array().cloned())
                .is_some_and(|rows| {
                    rows.iter().filter(|r| !r["last_success"].is_null()).count() >= count
                }),
        }
    };
    while !done(dir) {
        assert!(
            started.elapsed().as_secs() < 600,
            "the workers did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu: f64 = children
        .iter()
        .map(|c| proc_usage(c.id()).map_or(0.0, |(cpu, _)| cpu))
        .sum();
    for child in &mut children {
        // SAFETY: signals our own child, which is still running.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let _ = child.wait();
    }
    (wall, cpu)
}

fn bench_workers(counts: &[usize], n: usize, base: &Path) {
    eprintln!("generating N = {n} ...");
    let corpus = generate(n, 42);
    let shared: Shared = Arc::new(RwLock::new(Served {
        files: std::collections::HashMap::default(),
    }));
    publish_corpus(&shared, &corpus);
    let port = start_server(shared);
    let url = postgres_url();
    let dir = base.join(format!("workers{n}"));
    println!(
        "\nworkers: {n} feeds ({} items) fetched and recorded once, newest 500 published\n",
        corpus.items
    );
    println!(
        "| state | workers | wall s | CPU s | sources/s | items/s |\n|---|---|---|---|---|---|"
    );
    let row = |state: &str, workers: usize, (wall, cpu): (f64, f64)| {
        println!(
            "| {state} | {workers} | {wall:.2} | {cpu:.2} | {:.0} | {:.0} |",
            n as f64 / wall,
            corpus.items as f64 / wall
        );
    };
    write_config(&dir, port, &corpus, 500);
    row("SQLite", 1, run_workers(&dir, None, 1, n));
    for &workers in counts {
        let schema = format!("bench_{}_{workers}", std::process::id());
        psql(
            &url,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        );
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-csearch_path%3D{schema}");
        write_config(&dir, port, &corpus, 500);
        // `psql` takes the schema from the same option.
        row(
            "PostgreSQL",
            workers,
            run_workers(&dir, Some(&scoped), workers, n),
        );
        psql(&url, &format!("DROP SCHEMA {schema} CASCADE"));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sources: Option<usize> = value("--sources").and_then(|v| v.parse().ok());
    let mut ns: Vec<usize> = value("--n").map_or_else(
        || {
            if sources.is_some() {
                Vec::new()
            } else {
                vec![100, 1000]
            }
        },
        |v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
    );
    if args.iter().any(|a| a == "--huge") {
        ns.push(10_000);
    }
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let compare = args.iter().any(|a| a == "--compare");
    let base: PathBuf = std::env::temp_dir().join("feedloom-bench");
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    let mut peers = Vec::new();
    if let Some(list) = value("--workers") {
        let counts: Vec<usize> = list
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        let n = value("--n").and_then(|v| v.parse().ok()).unwrap_or(1000);
        bench_workers(&counts, n, &base);
        return;
    }
    if let Some(count) = sources {
        bench_sources(count, &base);
        if ns.is_empty() {
            return;
        }
    }
    for n in ns {
        peers.extend(bench_n(n, runs, compare, &base, &mut rows, &mut ratios));
    }
    println!(
        "\nfeedloom end-to-end benchmark (median of {runs} runs; peak memory is the largest of them)\n"
    );
    println!("| case | N | wall s | CPU s | peak MB | items/s | MB/s |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        let per = |x: usize| {
            if r.m.wall > 0.0 && x > 0 {
                format!("{:.0}", x as f64 / r.m.wall)
            } else {
                "-".into()
            }
        };
        let mbps = if r.m.wall > 0.0 && r.bytes > 0 {
            format!("{:.1}", r.bytes as f64 / 1e6 / r.m.wall)
        } else {
            "-".into()
        };
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.0} | {} | {} |",
            r.case,
            r.n,
            r.m.wall,
            r.m.cpu,
            r.m.peak_mb,
            per(r.items),
            mbps
        );
    }
    println!();
    for r in ratios {
        println!("{r}");
    }
    let targets = targets(&rows, &peers);
    if !targets.is_empty() {
        println!("\n| target | feedloom | bound | peer | met |\n|---|---|---|---|---|");
        for [what, ours, bound, peer, met] in targets {
            println!("| {what} | {ours} | {bound} | {peer} | {met} |");
        }
    }
}
