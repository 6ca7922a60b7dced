//! The commands behind `feedloom`'s subcommands: each loads what it
//! needs, calls the library and prints for a person (or as JSON).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use feedloom::config::{self, Settings};
use feedloom::run::{Outcome, RunOptions, Signals};

/// Some sources failed; the rest was published.
pub(crate) const EXIT_SOURCES_FAILED: u8 = 3;
/// Another run holds the lock.
pub(crate) const EXIT_LOCKED: u8 = 4;

/// The progress bar on screen, if any: log lines are written around it.
static BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Where log lines go: stderr, with the progress bar (when one is shown)
/// taken off the screen while a line is written and drawn again after, so
/// a terminal shows whole lines, never a log line glued to a bar frame.
pub(crate) struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().ok().and_then(|b| b.clone());
        let mut out = std::io::stderr().lock();
        match bar {
            Some(bar) => bar.suspend(|| out.write_all(buf))?,
            None => out.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Shows `bar` (or none) to [`LogWriter`].
fn set_bar(bar: Option<&indicatif::ProgressBar>) {
    if let Ok(mut slot) = BAR.lock() {
        *slot = bar.cloned();
    }
}

/// What `feedloom run` was asked to do.
pub(crate) struct RunRequest {
    /// Every source, due or not.
    pub(crate) all: bool,
    /// Only these sources (`--source`, repeatable).
    pub(crate) only: Vec<String>,
    /// Fetch and report, writing nothing.
    pub(crate) dry_run: bool,
}

/// `feedloom run`: one cycle, then publish; a progress bar on a terminal,
/// and a summary line after it.
pub(crate) fn run(
    config_path: &Path,
    request: RunRequest,
    show_progress: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    warn_about(&settings);
    for name in &request.only {
        if !settings.sources.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = settings.sources.iter().map(|s| s.name.as_str()).collect();
            anyhow::bail!(
                "--source {name}: no source has that name; the sources are: {}",
                names.join(", ")
            );
        }
    }
    let options = RunOptions {
        all: request.all,
        only: request.only,
    };
    if request.dry_run {
        anyhow::ensure!(
            settings.database_url.is_none(),
            "run --dry-run works on a copy of the state file; it is not available with database_url"
        );
        return dry_run(&settings, options);
    }
    let _lock = feedloom::lock::acquire(&settings.state_file)?;
    let bar = show_progress.then(|| {
        let bar = indicatif::ProgressBar::new(settings.sources.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        set_bar(Some(&bar));
        bar
    });
    let progress = |name: &str, outcome: &Outcome| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{name}: {}", short(outcome)));
            bar.inc(1);
        }
    };
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let cancel = tokio_util::sync::CancellationToken::new();
        let on_interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.cancel();
            }
        });
        feedloom::run::run_with(&settings, options, &cancel, &progress).await
    });
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    if let Some(bar) = bar {
        set_bar(None);
        bar.finish_and_clear();
    }
    let report = report.context("publishing")?;
    for note in report.notes() {
        eprintln!("note: {note}");
    }
    let failures = report.failures();
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    let changed = report.written.iter().filter(|w| w.changed).count();
    tracing::info!(files = report.written.len(), changed, "Published.");
    if show_progress || verbose {
        eprintln!("{}", summary(&report));
    }
    if verbose {
        let quiet: Vec<&str> = report
            .sources
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::NotModified))
            .map(|(n, _)| n.as_str())
            .collect();
        if !quiet.is_empty() {
            eprintln!("not modified: {}", quiet.join(", "));
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        let tried = report
            .sources
            .iter()
            .filter(|(_, o)| {
                matches!(
                    o,
                    Outcome::Updated { .. } | Outcome::NotModified | Outcome::Failed(_)
                )
            })
            .count();
        eprintln!(
            "{} of {tried} sources failed; their earlier items are still published",
            failures.len()
        );
        Ok(ExitCode::from(EXIT_SOURCES_FAILED))
    }
}

/// One outcome in a few words, for the progress bar and the dry run.
fn short(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Updated { new, .. } => format!("{new} new"),
        Outcome::NotModified => "not modified".to_owned(),
        Outcome::Skipped => "not due".to_owned(),
        Outcome::Waiting(_) => "host asked to wait".to_owned(),
        Outcome::Disabled(_) => "disabled".to_owned(),
        Outcome::Failed(_) => "FAILED".to_owned(),
    }
}

/// The line a run ends with on a terminal: what was fetched, what was new,
/// what was written.
fn summary(report: &feedloom::run::RunReport) -> String {
    let count = |f: fn(&Outcome) -> bool| report.sources.iter().filter(|(_, o)| f(o)).count();
    let fetched = count(|o| matches!(o, Outcome::Updated { .. }));
    let not_modified = count(|o| matches!(o, Outcome::NotModified));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    let waiting = count(|o| {
        matches!(
            o,
            Outcome::Skipped | Outcome::Waiting(_) | Outcome::Disabled(_)
        )
    });
    let new: usize = report
        .sources
        .iter()
        .map(|(_, o)| match o {
            Outcome::Updated { new, .. } => *new,
            _ => 0,
        })
        .sum();
    let written = report.written.iter().filter(|w| w.changed).count();
    format!(
        "{} sources: {fetched} fetched, {not_modified} not modified, {failed} failed, {waiting} not due; {new} new items; {written} of {} output files written",
        report.sources.len(),
        report.written.len()
    )
}

/// `run --dry-run`: the same cycle on a copy of the state, publishing into
/// a scratch folder, then a report of what would change. The state file,
/// the outputs and the WebSub hubs are not touched.
fn dry_run(settings: &Settings, options: RunOptions) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    let mut trial = settings.clone();
    trial.state_file = scratch.path().join("state.db");
    trial.output_dir = scratch.path().join("output");
    for output in &mut trial.outputs {
        output.websub_hub = None;
    }
    feedloom::store::Store::snapshot(&settings.state_file, &trial.state_file)?;
    let counts = |settings: &Settings| -> anyhow::Result<Vec<usize>> {
        let store = feedloom::store::Store::open(&settings.state_file)?;
        settings
            .sources
            .iter()
            .map(|s| Ok(store.item_count(&s.name)?))
            .collect()
    };
    let before = counts(&trial)?;
    let runtime = runtime()?;
    let report = runtime
        .block_on(feedloom::run::run_with(
            &trial,
            options,
            &tokio_util::sync::CancellationToken::new(),
            &|_, _| {},
        ))
        .context("the trial publish")?;
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    let after = counts(&trial)?;
    println!("dry run: nothing is written; this is what a run would do now\n");
    for (index, (name, outcome)) in report.sources.iter().enumerate() {
        let line = match outcome {
            Outcome::Updated {
                new,
                merged,
                changed,
                ..
            } => {
                let kept = before[index] + new + merged;
                let dropped = kept.saturating_sub(after[index]);
                format!("{new} new, {changed} changed, {dropped} dropped")
            }
            Outcome::Failed(why) => format!("FAILED: {why}"),
            other => short(other),
        };
        println!("source `{name}`: {line}");
    }
    println!();
    for written in &report.written {
        let Some(file) = written.path.file_name() else {
            continue;
        };
        let real = settings.output_dir.join(file);
        let state = match std::fs::read(&real) {
            Ok(bytes) if std::fs::read(&written.path).is_ok_and(|b| b == bytes) => "unchanged",
            Ok(_) => "would change",
            Err(_) => "would be created",
        };
        println!(
            "output {}: {state} ({} items)",
            real.display(),
            written.items
        );
    }
    Ok(if report.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SOURCES_FAILED)
    })
}

/// `feedloom daemon`: cycles until SIGINT/SIGTERM; SIGHUP reloads.
pub(crate) fn daemon(config_path: &Path, serve: Option<&str>) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    if let Some(addr) = serve {
        warn_about_self_links(&settings, addr);
    }
    let _lock = feedloom::lock::acquire(&settings.state_file)?;
    let runtime = runtime()?;
    let metrics = std::sync::Arc::new(feedloom::metrics::Metrics::new(&settings, true));
    let served = runtime.block_on(async {
        let signals = Signals::default();
        watch_signals(&signals)?;
        let server = serve.map(|addr| {
            let (folder, addr, stop, metrics) = (
                feedloom::serve::Folder::of(&settings),
                addr.to_owned(),
                signals.stop.clone(),
                std::sync::Arc::clone(&metrics),
            );
            tokio::spawn(async move {
                feedloom::serve::serve(folder, metrics, &addr, stop)
                    .await
                    .with_context(|| format!("serving on {addr}"))
            })
        });
        let ran =
            feedloom::daemon::run(config_path, settings, &signals, &metrics, &|_, _| {}).await;
        metrics.scheduler_stopped();
        ran?;
        signals.stop.cancel();
        if let Some(server) = server {
            server.await.context("the file server stopped")??;
        }
        anyhow::Ok(())
    });
    // A read still stuck on the blocking pool must not keep the process
    // alive after the stop was asked for (dropping the runtime waits for it).
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The longest exiting waits for reads left running on the blocking pool.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Cancels `signals.stop` on SIGINT or SIGTERM; notifies `signals.reload` on SIGHUP.
fn watch_signals(signals: &Signals) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    let stop = signals.stop.clone();
    let reload = signals.reload.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => { stop.cancel(); break; }
                _ = term.recv() => { stop.cancel(); break; }
                _ = hup.recv() => reload.notify_one(),
            }
        }
    });
    Ok(())
}

/// Warns when the feeds' self links (from `public_url`) point at this
/// machine's loopback while the server listens for other machines: their
/// readers would subscribe to an address that only works here.
fn warn_about_self_links(settings: &Settings, addr: &str) {
    let loopback_host = |h: &str| {
        let h = h.trim_start_matches('[').trim_end_matches(']');
        h.eq_ignore_ascii_case("localhost")
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let listen_host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let public_host = settings.public_url.host_str().unwrap_or_default();
    if !loopback_host(listen_host) && loopback_host(public_host) {
        eprintln!(
            "warning: serving on {addr} for other machines, but settings.public_url is {}: the feeds' self links and the page's links point at this machine's loopback; set public_url to the address readers use",
            settings.public_url
        );
    }
}

/// `feedloom serve`.
pub(crate) fn serve(config_path: &Path, addr: &str) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    warn_about_self_links(&settings, addr);
    runtime()?.block_on(async {
        let signals = Signals::default();
        watch_signals(&signals)?;
        feedloom::serve::serve(
            feedloom::serve::Folder::of(&settings),
            std::sync::Arc::new(feedloom::metrics::Metrics::new(&settings, false)),
            addr,
            signals.stop.clone(),
        )
        .await
        .with_context(|| format!("serving on {addr}"))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `feedloom status`: each source's health, from the state file alone.
pub(crate) fn status(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    let store = feedloom::store::Store::for_settings(&settings)?;
    let known = store.statuses()?;
    let now = chrono::Utc::now();
    let rows: Vec<(String, Option<feedloom::store::SourceStatus>)> = settings
        .sources
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                known.iter().find(|k| k.name == s.name).cloned(),
            )
        })
        .collect();
    let state_of = |s: Option<&feedloom::store::SourceStatus>| match s {
        None => "new",
        Some(s) if s.disabled.is_some() => "disabled",
        Some(s) if s.failures > 0 && s.next_due.is_some_and(|d| d > now) => "backing off",
        Some(s) if s.failures > 0 => "failing",
        Some(s) if s.last_success.is_some() => "ok",
        Some(_) => "new",
    };
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    if json {
        let sources: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, s)| {
                let s = s.as_ref();
                serde_json::json!({
                    "name": name,
                    "state": state_of(s),
                    "last_attempt": time(s.and_then(|s| s.last_attempt)),
                    "last_success": time(s.and_then(|s| s.last_success)),
                    "last_error": s.and_then(|s| s.last_error.clone()),
                    "consecutive_failures": s.map_or(0, |s| s.failures),
                    "items": s.map_or(0, |s| s.items),
                    "next_due": time(s.and_then(|s| s.next_due)),
                    "moved_to": s.and_then(|s| s.moved_to.clone()),
                    "disabled": s.and_then(|s| s.disabled.clone()),
                    "fetching_since": time(s.and_then(|s| s.fetching_since)),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "sources": sources }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<28} {:<12} {:<21} {:>6}  {:<21} LAST ERROR",
        "SOURCE", "STATE", "LAST SUCCESS", "ITEMS", "NEXT DUE"
    );
    let mut counts = std::collections::BTreeMap::new();
    let mut items = 0;
    for (name, s) in &rows {
        let s = s.as_ref();
        let state = state_of(s);
        *counts.entry(state).or_insert(0) += 1;
        items += s.map_or(0, |s| s.items);
        let error = s
            .and_then(|s| {
                s.disabled
                    .clone()
                    .or_else(|| s.last_error.clone().filter(|_| s.failures > 0))
            })
            .map(|e| shorten(&e, 80))
            .unwrap_or_default();
        let moved = s
            .and_then(|s| s.moved_to.clone())
            .map(|m| format!(" (moved to {m})"))
            .unwrap_or_default();
        let fetching = time(s.and_then(|s| s.fetching_since))
            .map(|since| format!(" (fetching since {since})"))
            .unwrap_or_default();
        println!(
            "{:<28} {:<12} {:<21} {:>6}  {:<21} {error}{moved}{fetching}",
            shorten(name, 28),
            state,
            time(s.and_then(|s| s.last_success)).unwrap_or_else(|| "never".into()),
            s.map_or(0, |s| s.items),
            time(s.and_then(|s| s.next_due)).unwrap_or_else(|| "now".into()),
        );
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    println!(
        "\n{} sources: {}; {items} items stored",
        rows.len(),
        summary.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// `feedloom import-opml`.
pub(crate) fn import_opml(
    config_path: &Path,
    file: &Path,
    strict: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let list =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let imported = feedloom::opml::import(&text, &list, strict)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    // Check the result before replacing the file the user relies on.
    config::parse(&imported.config, config_path)?;
    feedloom::publish::write::write_if_changed(config_path, imported.config.as_bytes())?;
    for problem in &imported.problems {
        eprintln!("skipped: {}: {problem}", file.display());
    }
    for name in &imported.added {
        println!("added: {name}");
    }
    for url in &imported.skipped {
        println!("already there: {url}");
    }
    println!(
        "{} added, {} already in {}, {} skipped as broken",
        imported.added.len(),
        imported.skipped.len(),
        config_path.display(),
        imported.problems.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The starter config `init` writes: one output, one feed, the settings
/// people change first, each explained.
const STARTER: &str = include_str!("starter.toml");

/// `feedloom init`: writes [`STARTER`], refusing to replace a file.
pub(crate) fn init(path: &Path) -> anyhow::Result<ExitCode> {
    // The starter must itself be valid where it is written.
    config::parse(STARTER, path).context("the starter config")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            anyhow::bail!(
                "{} already exists; feedloom init never replaces a config (move it away first, or use another --path)",
                path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    std::io::Write::write_all(&mut file, STARTER.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {}: edit its [[source]] (or run `feedloom add URL`), then `feedloom run`",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `feedloom add URL`: finds the feed (or the listing) behind an address,
/// appends it to feeds.toml after checking the result, and shows what the
/// new source yields, as `check --source` does.
pub(crate) fn add(
    config_path: &Path,
    address: &str,
    name: Option<&str>,
    tags: &[String],
    pick: Option<usize>,
) -> anyhow::Result<ExitCode> {
    use feedloom::discover::Found;
    let settings = config::load(config_path)?;
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let url = url::Url::parse(address.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .with_context(|| format!("`{address}` is not an http(s) address"))?;
    let mut sources = feedloom::edit::Sources::parse(&text).map_err(anyhow::Error::msg)?;
    if let Some(existing) = sources.reading(url.as_str()) {
        anyhow::bail!(
            "{url} is already source `{existing}` in {}",
            config_path.display()
        );
    }
    let client =
        feedloom::source::http::Client::new(&settings).context("setting up the HTTP client")?;
    let found = runtime()?
        .block_on(feedloom::discover::discover(&client, &settings, &url, pick))
        .map_err(anyhow::Error::msg)?;
    let mut table = toml_edit::Table::new();
    let (found_url, title) = match &found {
        Found::Feed {
            url: feed,
            title,
            how,
            choices,
        } => {
            println!("{feed}: a feed ({how})");
            if choices.len() > 1 {
                println!("the page advertises {} feeds:", choices.len());
                for (i, c) in choices.iter().enumerate() {
                    let mark = if c.url == *feed { "*" } else { " " };
                    println!(
                        " {mark} {}. {} ({}){}",
                        i + 1,
                        c.url,
                        c.mime,
                        c.title
                            .as_ref()
                            .map_or(String::new(), |t| format!(" \"{t}\""))
                    );
                }
                println!("(--pick N takes another)");
            }
            (feed.clone(), title.clone())
        }
        Found::Scrape {
            url: page,
            title,
            selectors,
        } => {
            println!(
                "{page}: no feed; a page listing {} items, scraped with item = \"{}\"",
                selectors.items, selectors.item
            );
            (page.clone(), title.clone())
        }
    };
    if let Some(existing) = sources.reading(found_url.as_str()) {
        anyhow::bail!(
            "{found_url} is already source `{existing}` in {}",
            config_path.display()
        );
    }
    let wanted = name
        .map(str::to_owned)
        .or(title)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| found_url.host_str().unwrap_or("new source").to_owned());
    let unique = sources.unique_name(&wanted);
    table.insert("name", toml_edit::value(unique.clone()));
    if matches!(found, Found::Scrape { .. }) {
        table.insert("kind", toml_edit::value("scrape"));
    }
    table.insert("url", toml_edit::value(found_url.as_str()));
    if !tags.is_empty() {
        let mut list = toml_edit::Array::new();
        for t in tags {
            list.push(t.trim());
        }
        table.insert("tags", toml_edit::value(list));
    }
    if let Found::Scrape { selectors, .. } = &found {
        let mut select = toml_edit::Table::new();
        select.insert("item", toml_edit::value(&selectors.item));
        select.insert("title", toml_edit::value(&selectors.title));
        select.insert("link", toml_edit::value(&selectors.link));
        if let Some(date) = &selectors.date {
            select.insert("date", toml_edit::value(date));
        }
        table.insert("select", toml_edit::Item::Table(select));
    }
    sources.push(table);
    let new_text = sources.text();
    // Check the result before replacing the file the user relies on.
    config::parse(&new_text, config_path)?;
    feedloom::publish::write::write_if_changed(config_path, new_text.as_bytes())?;
    println!("added source `{unique}` to {}\n", config_path.display());
    check_source(config_path, &unique)
}

/// `feedloom import-planet`: a Planet or rawdog config into feeds.toml.
pub(crate) fn import_planet(config_path: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let old =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let text = match std::fs::read_to_string(config_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", config_path.display())),
    };
    let migrated = feedloom::migrate::import(&text, &old)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    // Check the result before writing the file the user will rely on.
    config::parse(&migrated.config, config_path)?;
    feedloom::publish::write::write_if_changed(config_path, migrated.config.as_bytes())?;
    println!(
        "{} ({}) → {}: {} source(s) added",
        file.display(),
        migrated.from,
        config_path.display(),
        migrated.added.len()
    );
    for name in &migrated.added {
        println!("added: {name}");
    }
    for m in &migrated.mapped {
        println!("carried over: {m}");
    }
    for u in &migrated.unmapped {
        println!("not carried over: {u}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedloom export-opml`: the OPML on stdout, what it leaves out on stderr.
pub(crate) fn export_opml(config_path: &Path) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    let exported = feedloom::opml::export("feedloom sources", &settings.sources)
        .map_err(anyhow::Error::msg)?;
    print!("{}", exported.document);
    for skipped in &exported.skipped {
        eprintln!("not in the OPML: {skipped}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn check(config_path: &Path) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    warn_about(&settings);
    print!("{}", describe(&settings));
    Ok(ExitCode::SUCCESS)
}

/// Prints the config's warnings (legal but suspicious settings) on stderr.
fn warn_about(settings: &Settings) {
    for warning in config::warnings(settings) {
        eprintln!("warning: {warning}");
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `feedloom check --source NAME`: read one source now, without touching
/// the state, and show what it yields.
pub(crate) fn check_source(config_path: &Path, name: &str) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    let Some(source) = settings.sources.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = settings.sources.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "no source is named `{name}`; the sources are: {}",
            names.join(", ")
        );
    };
    let client =
        feedloom::source::http::Client::new(&settings).context("setting up the HTTP client")?;
    let politeness = feedloom::source::polite::Politeness::default();
    let ctx = feedloom::source::Context {
        client: &client,
        settings: &settings,
        politeness: &politeness,
        now: chrono::Utc::now(),
    };
    let runtime = runtime()?;
    let read = runtime.block_on(feedloom::source::read(
        &ctx,
        source,
        &feedloom::model::Validators::default(),
        &std::collections::HashSet::<String>::new(),
    ))?;
    let feedloom::source::Read::Listing(listing) = read else {
        println!("source `{name}`: not modified");
        return Ok(ExitCode::SUCCESS);
    };
    let mut broken = false;
    let mut pacer = None;
    if let Some(cron) = &source.schedule {
        let mut at = chrono::Utc::now();
        let mut next = Vec::new();
        for _ in 0..3 {
            let Ok(t) = cron.find_next_occurrence(&at, false) else {
                break;
            };
            next.push(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            at = t;
        }
        println!(
            "schedule `{}`: next fetches at {}",
            cron.pattern,
            next.join(", ")
        );
    }
    println!(
        "source `{name}` ({}): {} item(s) listed, {} read",
        source.kind.name(),
        listing.listed,
        listing.entries.len()
    );
    for (i, entry) in listing.entries.iter().enumerate() {
        let a = &entry.article;
        let from = |field: &str| {
            entry
                .origins
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(String::new(), |(_, o)| format!("  [{o}]"))
        };
        println!("\n[{}] title:   {}{}", i + 1, a.title, from("title"));
        println!(
            "    link:    {}",
            a.link
                .as_ref()
                .map_or("(none)".to_owned(), ToString::to_string)
        );
        match a.published {
            Some(d) if !feedloom::normalize::believable(d, ctx.now, source.min_date) => {
                let why = if d < source.min_date {
                    format!(
                        "before settings.min_date ({})",
                        source.min_date.format("%Y-%m-%d")
                    )
                } else {
                    "in the future".to_owned()
                };
                println!(
                    "    date:    (none: first-seen){}\n    note:    the source's date {} is {why}; it is not believed",
                    from("date"),
                    d.to_rfc3339()
                );
            }
            published => println!(
                "    date:    {} ({}){}",
                published.map_or("(none: first-seen)".to_owned(), |d| d.to_rfc3339()),
                a.date_source.as_str(),
                from("date")
            ),
        }
        println!("    author:  {}{}", a.authors.join(", "), from("author"));
        if let Some(c) = &a.credit {
            println!("    credit:  {c}{}", from("credit"));
        }
        if let Some(s) = &a.summary {
            println!(
                "    summary: {}{}",
                shorten(&feedloom::normalize::sanitize::plain_text(s), 100),
                from("summary")
            );
        }
        if let Some(b) = &a.content {
            let text = feedloom::extract::body_text(b);
            println!(
                "    body:    {} words{}",
                text.split_whitespace().count(),
                from("body")
            );
        }
        if let (Some(config), Some(link)) = (&source.full_text, &a.link) {
            let pacer =
                pacer.get_or_insert_with(|| feedloom::source::polite::Pacer::new(config.delay));
            match runtime.block_on(feedloom::source::full_text::read_article(
                &ctx, source, link, pacer,
            )) {
                Ok(body) => println!(
                    "    full text: {} words from the item's page",
                    feedloom::extract::body_text(&body)
                        .split_whitespace()
                        .count()
                ),
                Err(e) => println!("    full text: none, the feed's text stays ({e})"),
            }
        }
        if a.title.trim().is_empty() || a.link.is_none() {
            println!("    PROBLEM: this item has no title or no link");
            broken = true;
        }
    }
    for note in &listing.notes {
        println!("\nnote: {note}");
        broken |= note.contains("matched nothing") || note.contains("is skipped");
    }
    if listing.entries.is_empty() && listing.listed == 0 {
        println!("\nPROBLEM: the source yielded no items");
        broken = true;
    }
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// `feedloom extract`: automatic extraction on one page or file.
pub(crate) fn extract(
    json: bool,
    batch: bool,
    url: Option<&str>,
    timezone: &str,
    target: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(|_| {
        anyhow::anyhow!(
            "`{timezone}` is not a time zone; use an IANA name such as \"Europe/Berlin\""
        )
    })?;
    // A page with no known address is read as if none were given.
    let url = url.filter(|u| !u.trim().is_empty());
    if batch {
        return extract_batch(tz);
    }
    let target = target.ok_or_else(|| anyhow::anyhow!("name a file or URL to extract"))?;
    let now = chrono::Utc::now();
    let (bytes, page_url) = if target.starts_with("http://") || target.starts_with("https://") {
        let page_url = url::Url::parse(target).context("reading the URL")?;
        let client = reqwest::Client::builder()
            .user_agent(config::DEFAULT_USER_AGENT)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let bytes = runtime()?.block_on(async {
            let response = client
                .get(page_url.clone())
                .send()
                .await?
                .error_for_status()?;
            response.bytes().await
        });
        (
            bytes
                .with_context(|| format!("fetching {target}"))?
                .to_vec(),
            page_url,
        )
    } else {
        let (bytes, page_url) = read_page(target, url)?;
        (bytes, page_url)
    };
    let name = if target.starts_with("http") {
        let last = page_url.path().rsplit('/').next().unwrap_or_default();
        format!("{last}.html")
    } else {
        target.to_owned()
    };
    let (e, _) = feedloom::extract::document(&bytes, &name, &page_url, tz, now);
    if json {
        println!("{}", extraction_json(&e));
        return Ok(ExitCode::SUCCESS);
    }
    let body = e
        .body
        .as_ref()
        .map(|b| feedloom::extract::body_text(&b.value));
    {
        let line = |field: &str, value: Option<String>, origin: Option<&str>| {
            println!(
                "{field:<10} {}{}",
                value.unwrap_or_else(|| "(none)".to_owned()),
                origin.map_or(String::new(), |o| format!("  [{o}]"))
            );
        };
        line(
            "title",
            e.title.as_ref().map(|f| f.value.clone()),
            e.title.as_ref().map(|f| f.from.as_str()),
        );
        line(
            "published",
            e.published
                .as_ref()
                .map(|(f, s)| format!("{} ({})", f.value.to_rfc3339(), s.as_str())),
            e.published.as_ref().map(|(f, _)| f.from.as_str()),
        );
        line(
            "author",
            e.author.as_ref().map(|f| f.value.clone()),
            e.author.as_ref().map(|f| f.from.as_str()),
        );
        line(
            "credit",
            e.credit.as_ref().map(|f| f.value.clone()),
            e.credit.as_ref().map(|f| f.from.as_str()),
        );
        line(
            "summary",
            e.summary.as_ref().map(|f| f.value.clone()),
            e.summary.as_ref().map(|f| f.from.as_str()),
        );
        line(
            "image",
            e.image.as_ref().map(|f| f.value.to_string()),
            e.image.as_ref().map(|f| f.from.as_str()),
        );
        line(
            "body",
            body.clone()
                .map(|b| format!("{} words", b.split_whitespace().count())),
            e.body.as_ref().map(|f| f.from.as_str()),
        );
        if let Some(b) = body {
            println!("\n{b}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A page file and its address: `url` if given, else the file's own
/// `file://` URL.
fn read_page(target: &str, url: Option<&str>) -> anyhow::Result<(Vec<u8>, url::Url)> {
    let path = std::path::absolute(target).with_context(|| format!("reading {target}"))?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {target}"))?;
    let page_url = match url {
        Some(u) => url::Url::parse(u).with_context(|| format!("--url {u}"))?,
        None => url::Url::from_file_path(&path)
            .map_err(|()| anyhow::anyhow!("{target} has no file URL"))?,
    };
    Ok((bytes, page_url))
}

/// What `extract --json` prints for one page.
fn extraction_json(e: &feedloom::extract::Extracted) -> serde_json::Value {
    let mut from = serde_json::Map::new();
    let mut note = |field: &str, origin: Option<&str>| {
        if let Some(o) = origin {
            from.insert(field.to_owned(), o.into());
        }
    };
    note("title", e.title.as_ref().map(|f| f.from.as_str()));
    note(
        "published",
        e.published.as_ref().map(|(f, _)| f.from.as_str()),
    );
    note("author", e.author.as_ref().map(|f| f.from.as_str()));
    note("credit", e.credit.as_ref().map(|f| f.from.as_str()));
    note("summary", e.summary.as_ref().map(|f| f.from.as_str()));
    note("body", e.body.as_ref().map(|f| f.from.as_str()));
    note("image", e.image.as_ref().map(|f| f.from.as_str()));
    serde_json::json!({
        "title": e.title.as_ref().map(|f| &f.value),
        "published": e.published.as_ref().map(|(f, _)| f.value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "date_source": e.published.as_ref().map(|(_, s)| s.as_str()),
        "author": e.author.as_ref().map(|f| &f.value),
        "credit": e.credit.as_ref().map(|f| &f.value),
        "summary": e.summary.as_ref().map(|f| &f.value),
        "body": e.body.as_ref().map(|b| feedloom::extract::body_text(&b.value)),
        "image": e.image.as_ref().map(|f| f.value.as_str()),
        "from": from,
    })
}

/// One request of `extract --batch`.
#[derive(serde::Deserialize)]
struct BatchPage {
    html: String,
    #[serde(default)]
    url: Option<String>,
}

/// `extract --batch`: one JSON line in (`{"html": PATH, "url": URL|null}`),
/// one JSON object out per line, flushed, until standard input ends; a
/// page that cannot be read answers `{"error": …}` and the next goes on.
fn extract_batch(tz: chrono_tz::Tz) -> anyhow::Result<ExitCode> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lines() {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = serde_json::from_str::<BatchPage>(&line)
            .context("a line is not {\"html\": PATH, \"url\": URL|null}")
            .and_then(|page| {
                let url = page.url.as_deref().filter(|u| !u.trim().is_empty());
                let (bytes, page_url) = read_page(&page.html, url)?;
                let (e, _) = feedloom::extract::document(
                    &bytes,
                    &page.html,
                    &page_url,
                    tz,
                    chrono::Utc::now(),
                );
                Ok(extraction_json(&e))
            })
            .unwrap_or_else(|e| serde_json::json!({ "error": format!("{e:#}") }));
        writeln!(stdout, "{answer}").context("writing standard output")?;
        stdout.flush().context("writing standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What a config resolved to, for `feedloom check`.
fn describe(s: &Settings) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{} is valid.", s.config_path.display());
    let _ = writeln!(out, "output folder: {}", s.output_dir.display());
    match &s.database_url {
        Some(url) => {
            let _ = writeln!(
                out,
                "state:         PostgreSQL, {}",
                feedloom::store::redacted(url)
            );
        }
        None => {
            let _ = writeln!(out, "state file:    {}", s.state_file.display());
        }
    }
    let _ = writeln!(out, "public URL:    {}", s.public_url);
    let _ = writeln!(
        out,
        "fetching:      {} at once, {}s timeout, {} bytes at most",
        s.concurrency,
        s.timeout.as_secs(),
        s.max_response_size
    );
    let _ = writeln!(out, "\n{} source(s):", s.sources.len());
    for src in &s.sources {
        let kind = src.kind.name();
        let _ = writeln!(
            out,
            "  {:<24} {kind}, every {}, timezone {}{}\n    {}",
            src.name,
            humantime::format_duration(src.interval),
            src.timezone,
            if src.tags.is_empty() {
                String::new()
            } else {
                format!(", tags {}", src.tags.join(", "))
            },
            src.location
        );
    }
    let _ = writeln!(out, "\n{} output(s):", s.outputs.len());
    for o in &s.outputs {
        let files: Vec<String> = o
            .formats
            .iter()
            .map(|f| format!("{}.{f}", o.name))
            .collect();
        let from: Vec<&str> = s
            .sources
            .iter()
            .filter(|src| o.wants(src))
            .map(|src| src.name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  {:<24} {} (newest {}) from {}",
            o.name,
            files.join(", "),
            o.max_items,
            if from.is_empty() {
                "no source".to_owned()
            } else {
                from.join(", ")
            }
        );
    }
    out
}
