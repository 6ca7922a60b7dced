//! Three daemons sharing one PostgreSQL state as workers, against a
//! loopback server that logs every request: each source is fetched on its
//! schedule and never by two workers at once, the per-host limit holds
//! across the workers, a worker killed mid-fetch has its sources taken
//! over once its leases lapse, and the published feed equals the one a
//! single run with an SQLite state publishes from the same feeds.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Project;

/// Sources the workers share.
const SOURCES: usize = 300;
/// Requests at once to one host, across the workers.
const PER_HOST: usize = 24;
/// How long the feeds keep changing, then how long they stay as they are.
const CHANGING: Duration = Duration::from_secs(14);
const SETTLED: Duration = Duration::from_secs(12);
/// When one worker is killed.
const KILL_AT: Duration = Duration::from_secs(6);

/// One request the server answered.
#[derive(Debug, Clone)]
struct Request {
    /// `a` (the workers' copy of the feeds) or `b` (the single run's).
    side: String,
    feed: usize,
    start: Duration,
    end: Duration,
}

#[derive(Default)]
struct Log {
    requests: Vec<Request>,
}

struct Server {
    started: Instant,
    log: Mutex<Log>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// The feed's version at `at`: one more item every two seconds while the
/// feeds change, then none.
fn version(at: Duration) -> u64 {
    at.min(CHANGING).as_secs() / 2
}

/// Feed `feed` as it is at version `v`: every item it ever had, newest
/// first (nothing rotates out, so a missed version loses nothing a later
/// fetch does not bring back).
fn feed_xml(feed: usize, v: u64) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed {feed}</title><link>https://f{feed}.example.org/</link><description>Test feed {feed}</description>"
    );
    for n in (0..=v).rev() {
        let at = chrono::DateTime::from_timestamp(
            1_780_000_000 + i64::try_from(feed * 100).unwrap() + i64::try_from(n).unwrap() * 60,
            0,
        )
        .unwrap();
        let _ = write!(
            xml,
            "<item><title>Item {n} of feed {feed}</title><link>https://f{feed}.example.org/{n}</link><guid>https://f{feed}.example.org/{n}</guid><pubDate>{}</pubDate><description>Body {n} of {feed}.</description></item>",
            at.to_rfc2822()
        );
    }
    xml + "</channel></rss>"
}

async fn serve(
    axum::extract::State(server): axum::extract::State<Arc<Server>>,
    axum::extract::Path((side, file)): axum::extract::Path<(String, String)>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let start = server.started.elapsed();
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    if side == "a" {
        server.most_in_flight.fetch_max(now, Ordering::SeqCst);
    }
    let feed: usize = file.trim_end_matches(".rss").parse().unwrap_or(usize::MAX);
    // Long enough for overlapping fetches of one source to show.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let body = feed_xml(feed, version(start));
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    server.log.lock().unwrap().requests.push(Request {
        side,
        feed,
        start,
        end: server.started.elapsed(),
    });
    ([("content-type", "application/rss+xml")], body).into_response()
}

/// Starts the server on `ip` (the workers' sources are on one host,
/// 127.0.0.2, so the per-host limit is theirs alone).
async fn start(ip: [u8; 4], server: Arc<Server>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((ip, 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/{side}/{file}", axum::routing::get(serve))
        .with_state(server);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn config(addr: SocketAddr, side: &str, database_url: Option<&str>) -> String {
    let database = database_url.map_or_else(String::new, |u| format!("database_url = \"{u}\"\n"));
    let mut cfg = format!(
        "[settings]\n{database}interval = \"2s\"\nconcurrency = 16\nper_host = {PER_HOST}\npublish_delay = \"5s\"\npublic_url = \"https://feeds.example.net/\"\nmax_items = 100000\n\n[[output]]\nname = \"all\"\nformats = [\"rss\"]\n"
    );
    for k in 0..SOURCES {
        let _ = write!(
            cfg,
            "\n[[source]]\nname = \"feed {k}\"\nurl = \"http://{addr}/{side}/{k:04}.rss\"\n"
        );
    }
    cfg
}

/// Starts `feedloom daemon` in `project`, its stderr into `daemon.log`
/// there (a pipe nobody reads would fill and stall it).
fn daemon(project: &Project) -> Child {
    let log = std::fs::File::create(project.dir.path().join("daemon.log")).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(["daemon", "--config"])
        .arg(project.config())
        .current_dir(project.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn stop(child: &mut Child) {
    // SIGTERM: stop, record what is in flight, publish.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_the_sources_and_survive_one_killed() {
    let Some(url) = common::postgres_url("workers").await else {
        return;
    };
    let server = Arc::new(Server {
        started: Instant::now(),
        log: Mutex::default(),
        in_flight: AtomicUsize::new(0),
        most_in_flight: AtomicUsize::new(0),
    });
    let shared_addr = start([127, 0, 0, 2], server.clone()).await;
    let single_addr = start([127, 0, 0, 3], server.clone()).await;
    let text = config(shared_addr, "a", Some(&url));
    let workers: Vec<Project> = (0..3).map(|_| Project::new(&text)).collect();
    let single = Project::new(&config(single_addr, "b", None));
    let mut children: Vec<Child> = workers.iter().map(daemon).collect();

    tokio::time::sleep(KILL_AT).await;
    // Killed with fetches in flight: its leases are renewed no more.
    children[0].kill().unwrap();
    children[0].wait().unwrap();
    let killed_at = server.started.elapsed();
    tokio::time::sleep((CHANGING + SETTLED).saturating_sub(KILL_AT)).await;

    for (k, child) in children.iter_mut().enumerate().skip(1).rev() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "worker {k} ended early: {}",
            std::fs::read_to_string(workers[k].dir.path().join("daemon.log")).unwrap()
        );
        stop(child);
    }
    let stderr: String = workers
        .iter()
        .map(|w| std::fs::read_to_string(w.dir.path().join("daemon.log")).unwrap())
        .collect();
    let log = server.log.lock().unwrap().requests.clone();
    // Kept for a look after a failure.
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("workers.log"),
        &stderr,
    );

    // Never two fetches of one source at once.
    let mut by_feed: HashMap<usize, Vec<&Request>> = HashMap::new();
    for r in log.iter().filter(|r| r.side == "a") {
        by_feed.entry(r.feed).or_default().push(r);
    }
    assert_eq!(by_feed.len(), SOURCES, "every source was fetched");
    let mut gaps = Vec::new();
    for (feed, requests) in &mut by_feed {
        requests.sort_by_key(|r| r.start);
        for pair in requests.windows(2) {
            assert!(
                pair[1].start >= pair[0].end,
                "feed {feed} was fetched twice at once: {pair:?}"
            );
            gaps.push((
                pair[1].start.saturating_sub(pair[0].start),
                pair[0].start,
                *feed,
            ));
        }
        // Fetched again after the feeds settled: the last version is in.
        let last = requests.last().unwrap();
        assert!(
            last.start > CHANGING,
            "feed {feed} was last fetched at {:?}",
            last.start
        );
    }
    // On schedule: every 2 s (the median), never far behind, but for the
    // killed worker's sources, which wait for its leases to lapse.
    gaps.sort();
    let median = gaps[gaps.len() / 2].0;
    assert!(
        median <= Duration::from_millis(2_500),
        "median gap {median:?}"
    );
    let spans_kill = |from: Duration, gap: Duration| from <= killed_at && from + gap > killed_at;
    let longest = gaps
        .iter()
        .filter(|(gap, from, _)| !spans_kill(*from, *gap))
        .map(|g| g.0)
        .max();
    eprintln!(
        "{} fetches; gaps: median {median:?}, longest {longest:?} (but across the kill); \
         at most {} requests at once",
        log.iter().filter(|r| r.side == "a").count(),
        server.most_in_flight.load(Ordering::SeqCst)
    );
    for (gap, from, feed) in &gaps {
        let allowed = if spans_kill(*from, *gap) {
            Duration::from_secs(2) + feedloom::store::LEASE + Duration::from_secs(7)
        } else {
            // At most a lease late: a source waits on the worker holding
            // it, and a worker that stalls (two debug-built workers on 2
            // cores, with the server and PostgreSQL beside them, run at
            // their limit here) holds it until its lease lapses.
            feedloom::store::LEASE + Duration::from_secs(5)
        };
        assert!(
            *gap <= allowed,
            "feed {feed}: {gap:?} between fetches from {from:?} (killed at {killed_at:?})"
        );
    }
    let most = server.most_in_flight.load(Ordering::SeqCst);
    assert!(most <= PER_HOST, "{most} requests at once to one host");
    assert!(
        stderr.contains("Sharing the sources"),
        "the workers joined: {stderr}"
    );

    // What the workers published equals what one run with an SQLite state
    // publishes from the feeds as they settled (every item they ever had),
    // but for where the feeds were read from: nothing was lost.
    let ran = single.feedloom(&["run"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let normalize = |p: &Project, addr: SocketAddr, side: &str| {
        String::from_utf8(p.read("all.rss"))
            .unwrap()
            .replace(&format!("http://{addr}/{side}/"), "FEEDS/")
    };
    let published = normalize(&workers[1], shared_addr, "a");
    let alone = normalize(&single, single_addr, "b");
    let items = SOURCES * (usize::try_from(version(CHANGING)).unwrap() + 1);
    assert_eq!(
        alone.matches("<item>").count(),
        items,
        "the single run has every item"
    );
    assert!(
        published == alone,
        "the workers' feed differs from the single run's"
    );
}
