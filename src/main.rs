//! The `feedloom` command: parses arguments, sets up logging, calls the
//! library and maps the result to an exit code.
//!
//! Exit codes: 0 published and every source ok; 3 published but some
//! sources failed; 1 nothing could be published; 2 usage errors (clap).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use feedloom::config::{self, Settings};
use feedloom::run::{Outcome, RunOptions};

/// Weaves feeds into merged RSS, Atom and JSON Feed files.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log every source's result, not just problems.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the sources that are due, then publish every output.
    Run {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
        /// Fetch every source, due or not.
        #[arg(long)]
        all: bool,
    },
    /// Validate the config and print what it resolves to; with --source,
    /// also read that source now and show every item it yields.
    Check {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
        /// Read this source (by name) and print each item's fields and where
        /// each came from; exits 1 when a selector matches nothing or an item
        /// lacks a title or link.
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Show what automatic extraction finds on one page or article file.
    Extract {
        /// Print one JSON object (title, published, author, summary, body, ...).
        #[arg(long)]
        json: bool,
        /// The page's address, for relative links and dates in the URL
        /// (default: the file's own file:// URL).
        #[arg(long)]
        url: Option<String>,
        /// Zone for dates written without an offset.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// An HTML, Markdown or text file, or an http(s) URL.
        target: String,
    },
}

const EXIT_SOURCES_FAILED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.verbose { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!("feedloom={level}"))
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config, all } => run(&config, all),
        Command::Check {
            config,
            source: None,
        } => check(&config),
        Command::Check {
            config,
            source: Some(name),
        } => check_source(&config, &name),
        Command::Extract {
            json,
            url,
            timezone,
            target,
        } => extract(json, url.as_deref(), &timezone, &target),
    }
}

fn run(config_path: &std::path::Path, all: bool) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    let report = runtime()?
        .block_on(feedloom::run::run_once(&settings, RunOptions { all }))
        .context("publishing")?;
    let failures = report.failures();
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    let changed = report.written.iter().filter(|w| w.changed).count();
    tracing::info!(files = report.written.len(), changed, "Published.");
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} of {} sources failed; their earlier items are still published",
            failures.len(),
            report
                .sources
                .iter()
                .filter(|(_, o)| *o != Outcome::Skipped)
                .count()
        );
        Ok(ExitCode::from(EXIT_SOURCES_FAILED))
    }
}

fn check(config_path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    print!("{}", describe(&settings));
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `feedloom check --source NAME`: read one source now, without touching
/// the state, and show what it yields.
fn check_source(config_path: &std::path::Path, name: &str) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    let Some(source) = settings.sources.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = settings.sources.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "no source is named `{name}`; the sources are: {}",
            names.join(", ")
        );
    };
    let client = feedloom::source::http::client(&settings).context("setting up the HTTP client")?;
    let politeness = feedloom::source::polite::Politeness::default();
    let ctx = feedloom::source::Context {
        client: &client,
        settings: &settings,
        politeness: &politeness,
        now: chrono::Utc::now(),
    };
    let read = runtime()?.block_on(feedloom::source::read(
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
        println!(
            "    date:    {} ({}){}",
            a.published
                .map_or("(none: first-seen)".to_owned(), |d| d.to_rfc3339()),
            a.date_source.as_str(),
            from("date")
        );
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
        if a.title.trim().is_empty() || a.link.is_none() {
            println!("    PROBLEM: this item has no title or no link");
            broken = true;
        }
    }
    for note in &listing.notes {
        println!("\nnote: {note}");
        broken |= note.contains("matched nothing");
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
fn extract(
    json: bool,
    url: Option<&str>,
    timezone: &str,
    target: &str,
) -> anyhow::Result<ExitCode> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(|_| {
        anyhow::anyhow!(
            "`{timezone}` is not a time zone; use an IANA name such as \"Europe/Berlin\""
        )
    })?;
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
        let path = std::path::absolute(target).with_context(|| format!("reading {target}"))?;
        let bytes = std::fs::read(&path).with_context(|| format!("reading {target}"))?;
        let page_url = match url {
            Some(u) => url::Url::parse(u).with_context(|| format!("--url {u}"))?,
            None => url::Url::from_file_path(&path)
                .map_err(|()| anyhow::anyhow!("{target} has no file URL"))?,
        };
        (bytes, page_url)
    };
    let name = page_url
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let name = if target.starts_with("http") {
        format!("{name}.html")
    } else {
        target.to_owned()
    };
    let (e, _) = feedloom::extract::document(&bytes, &name, &page_url, tz, now);
    let body = e
        .body
        .as_ref()
        .map(|b| feedloom::extract::body_text(&b.value));
    if json {
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
        let out = serde_json::json!({
            "title": e.title.as_ref().map(|f| &f.value),
            "published": e.published.as_ref().map(|(f, _)| f.value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "date_source": e.published.as_ref().map(|(_, s)| s.as_str()),
            "author": e.author.as_ref().map(|f| &f.value),
            "credit": e.credit.as_ref().map(|f| &f.value),
            "summary": e.summary.as_ref().map(|f| &f.value),
            "body": body,
            "image": e.image.as_ref().map(|f| f.value.as_str()),
            "from": from,
        });
        println!("{out}");
    } else {
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

/// What a config resolved to, for `feedloom check`.
fn describe(s: &Settings) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{} is valid.", s.config_path.display());
    let _ = writeln!(out, "output folder: {}", s.output_dir.display());
    let _ = writeln!(out, "state file:    {}", s.state_file.display());
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
