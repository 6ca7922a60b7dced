//! The `feedloom` command: parses arguments, sets up logging, calls the
//! command and maps the result to an exit code.
//!
//! Exit codes: 0 published and every source ok; 3 published but some
//! sources failed; 1 nothing could be published; 2 usage errors (clap);
//! 4 another run holds the lock.

mod commands;

/// Items are many small strings, made on the parsing threads and freed on
/// the recording one: jemalloc's thread caches cost less than glibc's
/// malloc there (cold run, N = 1,000: 5.2 -> 4.3 CPU s).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Two arenas, not four per core: with the default the cold run's peak
/// memory grew by 40%; with two it stays where glibc's was, at the same
/// speed.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 10] = b"narenas:2\0";

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Weaves feeds, scraped pages and article files into merged RSS, Atom and
/// JSON Feed files.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log every source's result, not just problems.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Print only errors (no progress bar).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Log as text for people or as JSON lines for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
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
        /// Fetch only this source now (repeatable), then publish.
        #[arg(long = "source", value_name = "NAME")]
        sources: Vec<String>,
        /// Fetch and show what would be new, changed or dropped and which
        /// outputs would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Keep running: fetch each source on its own schedule, publish after
    /// changes, stop cleanly on SIGINT/SIGTERM, reload feeds.toml on SIGHUP.
    Daemon {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
        /// Also serve the outputs over HTTP on this address (host:port).
        #[arg(long, value_name = "ADDR")]
        serve: Option<String>,
    },
    /// Show each source's health from the state file (no network).
    Status {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Serve the output folder over HTTP for feed readers.
    Serve {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
        /// Address to listen on (host:port; a name such as localhost works).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
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
        /// Read pages as JSON lines on standard input (`{"html": PATH,
        /// "url": URL|null}`) and answer each with one JSON object a line.
        #[arg(long, conflicts_with_all = ["json", "target", "url"])]
        batch: bool,
        /// The page's address, for relative links and dates in the URL
        /// (default: the file's own file:// URL).
        #[arg(long)]
        url: Option<String>,
        /// Zone for dates written without an offset.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// An HTML, Markdown or text file, or an http(s) URL.
        #[arg(required_unless_present = "batch")]
        target: Option<String>,
    },
    /// Write a commented starter feeds.toml (never over an existing file).
    Init {
        /// Where to write it.
        #[arg(long, default_value = "feeds.toml")]
        path: PathBuf,
    },
    /// Add a site to feeds.toml by its address: its feed (the address
    /// itself, the one its page advertises, or one at the usual places),
    /// else the page as a scrape source with listing selectors found for it.
    Add {
        /// The address, as copied from a browser.
        url: String,
        /// The source's name (default: the feed's or the page's title).
        #[arg(long)]
        name: Option<String>,
        /// Tags for the source (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// When the page advertises several feeds, take the Nth (from 1).
        #[arg(long)]
        pick: Option<usize>,
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
    },
    /// Add the feeds of an OPML file to feeds.toml (keeping its comments).
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
        /// Refuse the whole file when any outline is broken (default: skip it).
        #[arg(long)]
        strict: bool,
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
    },
    /// Migrate from Planet / Planet Venus (config.ini) or rawdog (config):
    /// write (or extend) feeds.toml and list what does not map.
    ImportPlanet {
        /// The Planet config.ini or rawdog config.
        file: PathBuf,
        /// The config file to write or extend.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
    },
    /// Print the sources as OPML 2.0.
    ExportOpml {
        /// The config file.
        #[arg(short, long, default_value = "feeds.toml")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    let daemonish = matches!(cli.command, Command::Daemon { .. } | Command::Serve { .. });
    let level = if cli.quiet {
        "error"
    } else if cli.verbose || daemonish {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("feedloom={level}")));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| commands::LogWriter);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    if !daemonish && !matches!(cli.command, Command::Run { .. }) {
        quiet_on_broken_pipe();
    }
    let show_progress = !cli.quiet && std::io::stderr().is_terminal();
    let result = match cli.command {
        Command::Run {
            config,
            all,
            sources,
            dry_run,
        } => commands::run(
            &config,
            commands::RunRequest {
                all,
                only: sources,
                dry_run,
            },
            show_progress,
            cli.verbose,
        ),
        Command::Daemon { config, serve } => commands::daemon(&config, serve.as_deref()),
        Command::Status { config, json } => commands::status(&config, json),
        Command::Serve { config, addr } => commands::serve(&config, &addr),
        Command::Check {
            config,
            source: None,
        } => commands::check(&config),
        Command::Check {
            config,
            source: Some(name),
        } => commands::check_source(&config, &name),
        Command::Extract {
            json,
            batch,
            url,
            timezone,
            target,
        } => commands::extract(json, batch, url.as_deref(), &timezone, target.as_deref()),
        Command::Init { path } => commands::init(&path),
        Command::Add {
            url,
            name,
            tags,
            pick,
            config,
        } => commands::add(&config, &url, name.as_deref(), &tags, pick),
        Command::ImportOpml {
            file,
            config,
            strict,
        } => commands::import_opml(&config, &file, strict),
        Command::ImportPlanet { file, config } => commands::import_planet(&config, &file),
        Command::ExportOpml { config } => commands::export_opml(&config),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<feedloom::lock::LockError>() {
                Some(feedloom::lock::LockError::Busy { .. }) => {
                    ExitCode::from(commands::EXIT_LOCKED)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Commands that print for a pipe (`feedloom extract … | head`) end quietly
/// when the reader goes away, as `cat` and `grep` do: the Rust runtime
/// ignores SIGPIPE, which turns a closed pipe into a panic in `println!`.
/// The daemon, `serve` and `run` keep ignoring it (sockets and logs).
fn quiet_on_broken_pipe() {
    // SAFETY: setting a signal's disposition to its default before any
    // thread is started has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Holds glibc's malloc to four arenas, and fixes its mmap threshold.
///
/// By default every thread that allocates may get an arena (up to eight
/// per core), and each keeps the memory of the bodies it freed: at
/// N = 1,000 feeds that was 30-40 MB of peak memory for no speed (measured:
/// the same CPU time with four).
///
/// By default, too, the threshold above which a block gets its own mapping
/// rises to the largest block freed so far (up to 32 MB), and the trim
/// threshold with it: after the first multi-megabyte feed body, every body
/// was carved out of the arenas, and the holes they left stayed mapped.
/// Fixed thresholds (4 MB to map, 8 MB free at the top to trim; a 128 KB
/// trim threshold cost 0.6 CPU-seconds of page faults at N = 1,000) took a
/// cold run's peak from 125 to 100 MB at N = 1,000 and from 205 to 135 MB
/// at N = 10,000; any CPU cost was below this machine's run-to-run noise.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    }
}
