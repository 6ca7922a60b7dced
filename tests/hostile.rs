//! A hostile server on 127.0.0.1: every way a source can be broken or
//! malicious, next to good sources. One run over all of them must finish
//! within twice the timeout, publish the good items, exit 3, and name every
//! bad source with its cause.

mod common;

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use common::{Project, fixture, round_trip};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RSS_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://ex.org/</link><description>d</description>"#;

fn gzip_bomb() -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.finish().unwrap()
}

async fn respond(stream: &mut TcpStream, head: &str, body: &[u8]) {
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

fn ok(content_type: &str, len: usize) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

/// Answers one connection according to the path asked for.
async fn hostile(mut stream: TcpStream, port: u16, bomb: std::sync::Arc<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    let n = stream.read(&mut buf).await.unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]).into_owned();
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    match path.as_str() {
        "/hang" => tokio::time::sleep(Duration::from_secs(3600)).await,
        "/drip" => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
                .await;
            loop {
                if stream.write_all(b"<").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        "/endless" => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
        }
        "/bomb" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bomb.len()
            );
            respond(&mut stream, &head, &bomb).await;
        }
        "/loop" => {
            let head = format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            respond(&mut stream, &head, b"").await;
        }
        "/error" => respond(&mut stream, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", b"").await,
        "/busy" => respond(&mut stream, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", b"").await,
        "/html" => {
            let body = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Our home page.</p></body></html>";
            respond(&mut stream, &ok("text/html", body.len()), body).await;
        }
        "/laughs" => {
            let mut body = String::from(r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">"#);
            for i in 1..10 {
                let _ = write!(body, "<!ENTITY {} \"{}\">", (b'a' + i) as char, format!("&{};", (b'a' + i - 1) as char).repeat(10));
            }
            body.push_str(r#"]><rss version="2.0"><channel><title>t</title><item><title>&j;</title><link>https://laughs.example/1</link></item></channel></rss>"#);
            respond(&mut stream, &ok("application/rss+xml", body.len()), body.as_bytes()).await;
        }
        "/xxe" => {
            let body = format!(
                r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY file SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "http://127.0.0.1:{port}/secret">]><rss version="2.0"><channel><title>t</title><item><title>xxe &file; &net;</title><link>https://xxe.example/1</link></item></channel></rss>"#
            );
            respond(&mut stream, &ok("application/rss+xml", body.len()), body.as_bytes()).await;
        }
        "/secret" => panic!("an external entity was fetched"),
        "/deep" => {
            let body = format!(
                "{RSS_HEAD}<item><title>deep</title>{}{}</item></channel></rss>",
                "<x>".repeat(100_000),
                "</x>".repeat(100_000)
            );
            respond(&mut stream, &ok("application/rss+xml", body.len()), body.as_bytes()).await;
        }
        "/invalid-utf8" => {
            let mut body = format!("{RSS_HEAD}<item><title>broken café ").into_bytes();
            body.extend_from_slice(b"\xff\xfe\xc3 bytes</title><link>https://utf8.example/1</link></item></channel></rss>");
            respond(&mut stream, &ok("application/rss+xml; charset=utf-8", body.len()), &body).await;
        }
        "/wrong-charset" => {
            let mut body = format!("{RSS_HEAD}<item><title>caf").into_bytes();
            body.extend_from_slice(b"\xe9 cr\xe8me</title><link>https://charset.example/1</link></item></channel></rss>");
            respond(&mut stream, &ok("application/rss+xml; charset=utf-8", body.len()), &body).await;
        }
        "/good" => {
            let body = fixture("feeds/feed.json");
            respond(&mut stream, &ok("application/feed+json", body.len()), &body).await;
        }
        "/good2" => {
            let body = fixture("feeds/rdf.rdf");
            respond(&mut stream, &ok("application/rdf+xml", body.len()), &body).await;
        }
        _ => respond(&mut stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", b"").await,
    }
}

async fn start() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bomb = std::sync::Arc::new(gzip_bomb());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(hostile(stream, port, bomb.clone()));
        }
    });
    port
}

/// (source name, path, what its error must say); `None`: it must succeed.
const SOURCES: [(&str, &str, Option<&str>); 15] = [
    ("Hangs", "/hang", Some("timed out")),
    ("Drips", "/drip", Some("timed out")),
    ("Endless", "/endless", Some("exceeds the limit")),
    ("Bomb", "/bomb", Some("exceeds the limit")),
    ("Loops", "/loop", Some("redirect loop")),
    ("Errors", "/error", Some("HTTP 500")),
    ("Busy", "/busy", Some("HTTP 429")),
    ("Homepage", "/html", Some("HTML page")),
    ("Laughs", "/laughs", Some("entities expand")),
    ("Xxe", "/xxe", Some("external entity")),
    ("Deep", "/deep", Some("settings.max_depth")),
    ("Invalid UTF-8", "/invalid-utf8", None),
    ("Wrong charset", "/wrong-charset", None),
    ("Good", "/good", None),
    ("Good too", "/good2", None),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sources_fail_alone_and_fast() {
    let port = start().await;
    let mut config = String::from(
        "[settings]\ntimeout = \"2s\"\nmax_response_size = 1000000\n\n[[output]]\nname = \"all\"\n",
    );
    for (name, path, _) in SOURCES {
        let _ = write!(
            config,
            "\n[[source]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}{path}\"\n"
        );
    }
    let project = Project::new(&config);
    let started = Instant::now();
    let run = tokio::task::spawn_blocking(move || (project.feedloom_measured(&["run"]), project))
        .await
        .unwrap();
    let ((run, peak_kb), project) = run;
    if let Some(kb) = peak_kb {
        eprintln!("hostile run: peak memory {} MB", kb / 1024);
        assert!(kb < 200 * 1024, "peak memory {kb} kB is over 200 MB");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the run took {took:?}, more than twice the timeout"
    );
    assert_eq!(run.code, 3, "{run:?}");

    for (name, _, cause) in SOURCES {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(&format!("source `{name}`")));
        match (cause, line) {
            (Some(cause), Some(line)) => assert!(line.contains(cause), "{name}: {line}"),
            (Some(cause), None) => panic!("{name} ({cause}) not named: {}", run.stderr),
            (None, Some(line)) => panic!("{name} should have been read: {line}"),
            (None, None) => {}
        }
    }

    let (channel, _) = round_trip(&project.read("all.rss"), &project.read("all.atom"));
    project.assert_valid_outputs();
    let titles: Vec<&str> = channel.items().iter().filter_map(|i| i.title()).collect();
    assert!(titles.contains(&"Slow bread, fast mornings"), "{titles:?}");
    assert!(titles.contains(&"Spring tides this week"), "{titles:?}");
    assert!(
        titles.contains(&"café crème"),
        "the wrong charset is read right: {titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("broken ") && t.contains('?')),
        "invalid UTF-8 is replaced (U+FFFD, published as `?`): {titles:?}"
    );
    for t in &titles {
        assert!(t.len() < 200, "an entity expanded: {} bytes", t.len());
        assert!(!t.contains("root:"), "a file was read: {t}");
    }
}
