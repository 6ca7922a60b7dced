//! A sweep over the public feed corpus in `../shared/corpus/feeds`: every
//! file through the real parse and normalize path. Nothing may panic; the
//! counts of files read, items produced and failures by kind are printed.
//! Skipped, with a message, where the corpus is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use feedloom::config::{Filter, Location, SourceConfig, SourceKind};
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
    let source = SourceConfig {
        name: "corpus".into(),
        kind: SourceKind::Feed,
        location: Location::Path(dir.clone()),
        tags: vec![],
        interval: Duration::from_mins(1),
        timezone: chrono_tz::Tz::UTC,
        max_items: None,
        filter: Filter::default(),
    };
    let now = Utc::now();
    let (mut read, mut items, mut panics) = (0usize, 0usize, Vec::new());
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let url = Url::from_file_path(path).unwrap();
        let result = std::panic::catch_unwind(|| {
            feedloom::source::feed::parse(&bytes, None, &url, &source)
                .map(|(_, entries)| feedloom::normalize::normalize(entries, &source, now).len())
        });
        match result {
            Ok(Ok(n)) => {
                read += 1;
                items += n;
            }
            Ok(Err(message)) => {
                if std::env::var_os("SWEEP_VERBOSE").is_some() {
                    println!("FAIL {}: {message}", path.display());
                }
                *failures.entry(kind(&message)).or_default() += 1;
            }
            Err(_) => panics.push(path.display().to_string()),
        }
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
