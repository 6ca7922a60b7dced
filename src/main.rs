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
use feedloom::config::{self, Location, Settings};
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
    /// Validate the config and print what it resolves to.
    Check {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
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
        Command::Check { config } => check(&config),
    }
}

fn run(config_path: &std::path::Path, all: bool) -> anyhow::Result<ExitCode> {
    let settings = config::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime
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
        let kind = match &src.location {
            Location::Url(_) => "feed (url)",
            Location::Path(_) => "feed (file)",
        };
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
