//! A sweep over the public feed corpus in `../shared/corpus/feeds`: every
//! file through the real parse and normalize path. Nothing may panic; the
//! counts of files read, items produced and failures by kind are printed.
//! Skipped, with a message, where the corpus is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use feedloom::config::{Limits, Location, SourceConfig};
use url::Url;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/feeds");
    dir.is_dir().then_some(dir)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The kind of a parse failure, for the summary: the message up to its
/// first detail.
fn kind(message: &str) -> String {
    let cut = message
        .find(" at ")
        .or_else(|| message.find(':'))
        .unwrap_or(message.len());
    message[..cut.min(60)].to_owned()
}

#[test]
fn corpus_sweep_never_panics() {
    let Some(dir) = corpus() else {
        eprintln!("skipping the corpus sweep: ../shared/corpus/feeds is absent");
        return;
    };
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    let source = SourceConfig::feed("corpus", Location::Path(dir.clone()));
    let now = Utc::now();
    let (mut read, mut items, mut panics) = (0usize, 0usize, Vec::new());
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    // SWEEP_COUNTS=FILE writes each file's item count (or null) as JSON, for
    // differential runs against other readers (scripts/reader-agreement).
    let mut counts: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for path in &paths {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(path).unwrap();
        let url = Url::from_file_path(path).unwrap();
        let result = std::panic::catch_unwind(|| {
            feedloom::source::feed::parse(&bytes, None, &url, &source, &Limits::default())
                .map(|(_, entries)| feedloom::normalize::normalize(entries, &source, now).len())
        });
        match result {
            Ok(Ok(n)) => {
                read += 1;
                items += n;
                counts.insert(rel, Some(n));
            }
            Ok(Err(message)) => {
                counts.insert(rel, None);
                if std::env::var_os("SWEEP_VERBOSE").is_some() {
                    println!("FAIL {}: {message}", path.display());
                }
                *failures.entry(kind(&message)).or_default() += 1;
            }
            Err(_) => panics.push(path.display().to_string()),
        }
    }
    if let Some(out) = std::env::var_os("SWEEP_COUNTS") {
        std::fs::write(out, serde_json::to_string(&counts).unwrap()).unwrap();
    }
    println!(
        "corpus sweep: {} files, {read} read, {items} items, {} not feeds, {} panics",
        paths.len(),
        failures.values().sum::<usize>(),
        panics.len()
    );
    for (kind, n) in &failures {
        println!("  {n:>5}  {kind}");
    }
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    assert!(read > paths.len() / 2, "most of the corpus should read");
}

/// A differential check on dates: on feed-rs's own fixtures (many of them
/// real sites' feeds), every entry's published instant must agree with
/// feed-rs's expected result, except where our reading is a deliberate
/// difference (printed, so a person can judge).
#[test]
fn dates_agree_with_feed_rs_expected_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let expected_dir = root.join("expected/feed-rs");
    if !expected_dir.is_dir() {
        eprintln!("skipping the date differential: ../shared/corpus/expected/feed-rs is absent");
        return;
    }
    let mut expected_files = Vec::new();
    files(&expected_dir, &mut expected_files);
    let source = SourceConfig::feed("diff", Location::Path(root.clone()));
    let (mut compared, mut differ) = (0usize, Vec::new());
    for expected_path in expected_files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".serde.json"))
    {
        let rel = expected_path
            .strip_prefix(&expected_dir)
            .unwrap()
            .to_string_lossy()
            .replace(".serde.json", "");
        let Some(feed_path) = ["xml", "json", "rss", "atom"]
            .iter()
            .map(|ext| root.join("feeds/feed-rs").join(format!("{rel}.{ext}")))
            .find(|p| p.exists())
        else {
            continue;
        };
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(expected_path).unwrap()).unwrap();
        let url = Url::from_file_path(&feed_path).unwrap();
        let Ok((_, entries)) = feedloom::source::feed::parse(
            &std::fs::read(&feed_path).unwrap(),
            None,
            &url,
            &source,
            &Limits::default(),
        ) else {
            continue;
        };
        for (ours, theirs) in entries.iter().zip(expected["entries"].as_array().unwrap()) {
            let want = theirs["published"].as_str().or(theirs["updated"].as_str());
            let got = ours.article.published.or(ours.article.updated);
            // feedloom drops fractional seconds on purpose (readers mishandle them).
            let want_secs = want.map(|w| {
                w.split('.')
                    .next()
                    .unwrap_or(w)
                    .trim_end_matches('Z')
                    .to_owned()
                    + "Z"
            });
            let want = want_secs.as_deref();
            let Some(want) = want else { continue };
            compared += 1;
            let want = chrono::DateTime::parse_from_rfc3339(want)
                .unwrap()
                .with_timezone(&Utc);
            if got != Some(want) {
                differ.push(format!("{rel}: expected {want}, got {got:?}"));
            }
        }
    }
    println!(
        "date differential: {compared} dated entries compared, {} differ",
        differ.len()
    );
    for d in &differ {
        println!("  {d}");
    }
    assert!(compared > 50, "too few entries compared: {compared}");
    assert!(
        differ.len() * 50 <= compared,
        "more than 2% of dates differ from feed-rs"
    );
}

/// The number of entries an expected-result JSON gives, if it gives one
/// and every entry carries something a reader shows (a title, link, id,
/// summary, content or enclosure; an entry with only an author is not
/// published, by design).
fn expected_count(expected: &serde_json::Value) -> Option<usize> {
    const SHOWN: [&str; 14] = [
        "title",
        "link",
        "links",
        "id",
        "guid",
        "summary",
        "description",
        "content",
        "content_html",
        "content_text",
        "url",
        "enclosures",
        "attachments",
        "media",
    ];
    let entries = ["items", "entries"]
        .iter()
        .find_map(|k| expected.get(*k).and_then(serde_json::Value::as_array))?;
    let shows = |e: &serde_json::Value| {
        SHOWN.iter().any(|k| match e.get(*k) {
            Some(serde_json::Value::String(s)) => !s.trim().is_empty(),
            Some(serde_json::Value::Array(a)) => !a.is_empty(),
            Some(serde_json::Value::Object(o)) => !o.is_empty(),
            Some(serde_json::Value::Null) | None => false,
            Some(_) => true,
        })
    };
    entries.iter().all(shows).then_some(entries.len())
}

/// Entry counts against the expected results the corpus ships (gofeed's
/// parsed models, feed-rs's): where a suite says how many entries a file
/// holds, feedloom must publish that many on at least 97% of its files.
#[test]
fn entry_counts_agree_with_expected_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.join("expected").is_dir() {
        eprintln!("skipping entry counts: ../shared/corpus/expected is absent");
        return;
    }
    let now = Utc::now();
    for suite in ["gofeed", "feed-rs"] {
        let expected_dir = root.join("expected").join(suite);
        let mut expected_files = Vec::new();
        files(&expected_dir, &mut expected_files);
        let (mut compared, mut differ) = (0usize, Vec::new());
        for expected_path in expected_files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            let rel = expected_path.strip_prefix(&expected_dir).unwrap();
            let name = rel.file_name().unwrap().to_string_lossy();
            let stem = name
                .trim_end_matches(".json")
                .trim_end_matches(".serde")
                .trim_end_matches("_expected");
            let folder = root.join("feeds").join(suite).join(rel.parent().unwrap());
            let Some(feed_path) = ["xml", "json", "rss", "atom", "rdf"]
                .iter()
                .map(|ext| folder.join(format!("{stem}.{ext}")))
                .find(|p| p.is_file())
            else {
                continue;
            };
            let Ok(expected) =
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(expected_path).unwrap())
            else {
                continue;
            };
            let Some(want) = expected_count(&expected) else {
                continue;
            };
            let source = SourceConfig::feed("counts", Location::Path(feed_path.clone()));
            let url = Url::parse("http://127.0.0.1/feed").unwrap();
            let got = feedloom::source::feed::parse(
                &std::fs::read(&feed_path).unwrap(),
                None,
                &url,
                &source,
                &Limits::default(),
            )
            .map_or(0, |(_, entries)| {
                feedloom::normalize::normalize(entries, &source, now).len()
            });
            compared += 1;
            if got != want {
                differ.push(format!("{}: expected {want}, got {got}", rel.display()));
            }
        }
        println!(
            "entry counts ({suite}): {compared} files compared, {} differ",
            differ.len()
        );
        for d in &differ {
            println!("  {d}");
        }
        assert!(compared > 50, "{suite}: too few files compared: {compared}");
        assert!(
            differ.len() * 100 <= compared * 3,
            "{suite}: entry counts differ on more than 3% of files"
        );
    }
}
