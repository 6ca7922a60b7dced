//! `feedloom import-planet`: a Planet / Planet Venus `config.ini` or a
//! rawdog `config` becomes feeds.toml — what maps is carried over, what
//! does not is listed, so a person moving over knows what to redo.
//!
//! Planet: `[Planet]` holds the settings (`name`, `link`, `owner_name`,
//! `owner_email`, `items_per_page`, `feed_timeout`, `output_dir`, ...);
//! every other section is a feed, named by its URL, with `name` and
//! options. rawdog: `feed PERIOD URL` lines, each followed by indented
//! option lines (`define_name Example`), and global `key value` lines.

use ini::{Ini, ParseOption};
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::edit::Sources;

/// What [`import`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// The new (or extended) feeds.toml text.
    pub config: String,
    /// Which tool the file came from (`Planet`, `rawdog`).
    pub from: &'static str,
    /// Sources added, by name.
    pub added: Vec<String>,
    /// Settings carried over: "`items_per_page` → `max_items`, `page_items`".
    pub mapped: Vec<String>,
    /// What has no feedloom equivalent (or was not applied), with why.
    pub unmapped: Vec<String>,
}

/// A feed of the old tool.
struct OldFeed {
    url: String,
    name: Option<String>,
    interval: Option<String>,
    /// Its options feedloom has no use for.
    ignored: Vec<String>,
}

/// The settings of the old tool, as feeds.toml keys.
#[derive(Default)]
struct OldSettings {
    /// `[settings]` keys.
    settings: Vec<(&'static str, Item)>,
    /// `[[output]]` keys.
    output: Vec<(&'static str, Item)>,
}

/// Reads `old` (either format, told apart by its `[Planet]` section) and
/// adds its feeds to `config_text` (empty: a new feeds.toml, which also
/// gets the old settings and one output).
///
/// # Errors
/// When the file is neither format, or feeds.toml cannot be read.
pub fn import(config_text: &str, old: &str) -> Result<Migrated, String> {
    let is_planet = old
        .lines()
        .any(|l| l.trim().eq_ignore_ascii_case("[planet]"));
    let mut out = Migrated::default();
    let (settings, feeds) = if is_planet {
        out.from = "Planet";
        planet(old, &mut out)?
    } else if old
        .lines()
        .any(|l| l.trim_start().starts_with("feed ") && !l.starts_with(char::is_whitespace))
    {
        out.from = "rawdog";
        rawdog(old, &mut out)
    } else {
        return Err(
            "neither a Planet config.ini (no [Planet] section) nor a rawdog config (no `feed PERIOD URL` line)"
                .to_owned(),
        );
    };
    let fresh = config_text.trim().is_empty();
    let base = if fresh {
        new_config(&settings, &mut out)
    } else {
        for (key, _) in settings.settings.iter().chain(&settings.output) {
            out.unmapped.push(format!(
                "`{key}`: feeds.toml exists, so its settings and outputs stay as they are"
            ));
        }
        config_text.to_owned()
    };
    let mut sources = Sources::parse(&base)?;
    for feed in feeds {
        if url::Url::parse(&feed.url)
            .ok()
            .is_none_or(|u| !matches!(u.scheme(), "http" | "https"))
        {
            out.unmapped.push(format!(
                "feed `{}`: not an http(s) address, skipped",
                feed.url
            ));
            continue;
        }
        if !sources.claim_url(&feed.url) {
            out.unmapped
                .push(format!("feed {}: already a source, skipped", feed.url));
            continue;
        }
        let name = sources.unique_name(feed.name.as_deref().unwrap_or(&feed.url));
        let mut table = Table::new();
        table.insert("name", value(name.clone()));
        table.insert("url", value(&feed.url));
        if let Some(interval) = &feed.interval {
            table.insert("interval", value(interval));
        }
        sources.push(table);
        for option in feed.ignored {
            out.unmapped.push(format!("feed `{name}`: {option}"));
        }
        out.added.push(name);
    }
    out.config = sources.text();
    Ok(out)
}

fn new_config(old: &OldSettings, out: &mut Migrated) -> String {
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(format!(
        "# Migrated from {} by `feedloom import-planet`; see the README for every key.\n",
        out.from
    ));
    let mut settings = Table::new();
    for (key, item) in &old.settings {
        settings.insert(key, item.clone());
    }
    doc.insert("settings", Item::Table(settings));
    let mut output = Table::new();
    output.insert("name", value("planet"));
    let mut formats = Array::new();
    for f in ["rss", "atom", "json", "opml", "html"] {
        formats.push(f);
    }
    output.insert("formats", value(formats));
    for (key, item) in &old.output {
        output.insert(key, item.clone());
    }
    let mut outputs = toml_edit::ArrayOfTables::new();
    outputs.push(output);
    doc.insert("output", Item::ArrayOfTables(outputs));
    doc.to_string()
}

/// A Planet period or timeout in seconds (`20`), as a duration.
fn seconds(v: &str) -> Option<String> {
    v.trim().parse::<u64>().ok().map(|s| format!("{s}s"))
}

fn planet(text: &str, out: &mut Migrated) -> Result<(OldSettings, Vec<OldFeed>), String> {
    let ini = Ini::load_from_str_opt(
        text,
        ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            enabled_preserve_key_leading_whitespace: false,
        },
    )
    .map_err(|e| format!("not a readable config.ini: {e}"))?;
    let mut settings = OldSettings::default();
    let mut feeds = Vec::new();
    for (section, props) in &ini {
        let Some(section) = section else {
            continue;
        };
        if section.eq_ignore_ascii_case("planet") {
            for (key, v) in props {
                let v = v.trim();
                let mapped = match key.to_ascii_lowercase().as_str() {
                    "name" => Some(("output", "title", value(v))),
                    "link" => Some(("settings", "public_url", value(v))),
                    "owner_name" => Some(("output", "author", value(v))),
                    "owner_email" => Some(("settings", "contact", value(format!("mailto:{v}")))),
                    "output_dir" => Some(("settings", "output_dir", value(v))),
                    "feed_timeout" => seconds(v).map(|s| ("settings", "timeout", value(s))),
                    "items_per_page" => v
                        .parse::<i64>()
                        .ok()
                        .map(|n| ("output", "max_items", value(n))),
                    _ => None,
                };
                match mapped {
                    Some((table, to, item)) => {
                        out.mapped.push(format!("`{key}` → `{table}.{to}`"));
                        if key.eq_ignore_ascii_case("items_per_page") {
                            settings.output.push(("page_items", item.clone()));
                        }
                        if table == "settings" {
                            settings.settings.push((to, item));
                        } else {
                            settings.output.push((to, item));
                        }
                    }
                    None => out.unmapped.push(format!(
                        "[Planet] `{key}` has no feedloom equivalent{}",
                        hint(key)
                    )),
                }
            }
            continue;
        }
        let mut feed = OldFeed {
            url: section.trim().to_owned(),
            name: None,
            interval: None,
            ignored: Vec::new(),
        };
        for (key, v) in props {
            match key.to_ascii_lowercase().as_str() {
                "name" => feed.name = Some(v.trim().to_owned()),
                other => feed.ignored.push(format!(
                    "option `{other}` has no feedloom equivalent{}",
                    hint(other)
                )),
            }
        }
        feeds.push(feed);
    }
    Ok((settings, feeds))
}

/// What to do instead, for the options people ask about.
fn hint(key: &str) -> &'static str {
    match key.to_ascii_lowercase().as_str() {
        "filters" | "filter" => " (Planet filters are Python; use `include`/`exclude` patterns)",
        "template_files" | "output_theme" | "theme" => {
            " (the page is built in; `template = \"file\"` on an output for your own)"
        }
        "cache_directory" => " (feedloom keeps its state in `state_file`)",
        "face" | "facewidth" | "faceheight" => " (pictures of people are not shown)",
        _ => "",
    }
}

/// A rawdog period (`30m`, `3h`, `1d`, or minutes) as a duration.
fn period(p: &str) -> Option<String> {
    let p = p.trim();
    if p.parse::<u64>().is_ok() {
        return Some(format!("{p}m"));
    }
    humantime::parse_duration(p).ok().map(|_| p.to_owned())
}

fn rawdog(text: &str, out: &mut Migrated) -> (OldSettings, Vec<OldFeed>) {
    let mut settings = OldSettings::default();
    let mut feeds: Vec<OldFeed> = Vec::new();
    let mut in_feed = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indented = line.starts_with(char::is_whitespace);
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        if indented && in_feed {
            let Some(feed) = feeds.last_mut() else {
                continue;
            };
            match key {
                "define_name" => feed.name = Some(rest.join(" ")),
                other => feed.ignored.push(format!(
                    "line {number}: option `{other}` has no feedloom equivalent"
                )),
            }
            continue;
        }
        in_feed = false;
        match (key, rest.as_slice()) {
            ("feed", [every, url, options @ ..]) => {
                in_feed = true;
                let mut feed = OldFeed {
                    url: (*url).to_owned(),
                    name: None,
                    interval: period(every),
                    ignored: Vec::new(),
                };
                for option in options {
                    match option.split_once('=') {
                        Some(("define_name", name)) => feed.name = Some(name.to_owned()),
                        _ => feed.ignored.push(format!(
                            "line {number}: option `{option}` has no feedloom equivalent"
                        )),
                    }
                }
                feeds.push(feed);
            }
            ("maxarticles", [n]) => {
                if let Ok(n) = n.parse::<i64>() {
                    out.mapped
                        .push("`maxarticles` → `settings.max_items`".to_owned());
                    settings.settings.push(("max_items", value(n)));
                }
            }
            ("timeout", [t]) => match period(t) {
                Some(t) => {
                    out.mapped.push("`timeout` → `settings.timeout`".to_owned());
                    // rawdog's bare number is seconds here, not minutes.
                    let t = t
                        .strip_suffix('m')
                        .filter(|n| n.parse::<u64>().is_ok())
                        .map_or(t.clone(), |n| format!("{n}s"));
                    settings.settings.push(("timeout", value(t)));
                }
                None => out
                    .unmapped
                    .push(format!("line {number}: `timeout {t}` is not a duration")),
            },
            ("pagetitle", words) if !words.is_empty() => {
                out.mapped.push("`pagetitle` → `output.title`".to_owned());
                settings.output.push(("title", value(words.join(" "))));
            }
            (other, _) => out.unmapped.push(format!(
                "line {number}: `{other}` has no feedloom equivalent"
            )),
        }
    }
    (settings, feeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANET: &str = "# my planet
[Planet]
name = Planet Harbour
link = https://planet.harbour.example/
owner_name = Marta Quay
owner_email = marta@harbour.example
items_per_page = 40
feed_timeout = 20
cache_directory = cache
filters = excerpt.py

[https://harbour.example/radio.rss]
name = Harbour Radio

[https://lighthouse.example/log.atom]
name = Lighthouse Log
face = keeper.png
";

    #[test]
    fn a_planet_config_becomes_a_feeds_toml() {
        let out = import("", PLANET).unwrap();
        assert_eq!(out.from, "Planet");
        assert_eq!(out.added, ["Harbour Radio", "Lighthouse Log"]);
        let settings = crate::config::parse(&out.config, std::path::Path::new("feeds.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", out.config));
        assert_eq!(
            settings.public_url.as_str(),
            "https://planet.harbour.example/"
        );
        assert_eq!(settings.timeout, std::time::Duration::from_secs(20));
        let output = &settings.outputs[0];
        assert_eq!(output.title, "Planet Harbour");
        assert_eq!(output.author, "Marta Quay");
        assert_eq!(output.max_items, 40);
        assert_eq!(output.page_items, 40);
        assert!(
            out.unmapped
                .iter()
                .any(|u| u.contains("`filters`") && u.contains("include"))
        );
        assert!(
            out.unmapped
                .iter()
                .any(|u| u.contains("Lighthouse Log") && u.contains("`face`"))
        );
        // Into an existing feeds.toml: only the feeds.
        let again = import(&out.config, PLANET).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.config, out.config);
    }

    #[test]
    fn a_rawdog_config_becomes_a_feeds_toml() {
        let rawdog = "maxarticles 150
timeout 30
pagetitle Town reading
showfeeds true
feed 1h https://town.example/news.rss
    define_name Town News
    user someone
feed 30 https://garden.example/atom.xml define_name=Garden
";
        let out = import("", rawdog).unwrap();
        assert_eq!(out.from, "rawdog");
        assert_eq!(out.added, ["Town News", "Garden"]);
        let settings =
            crate::config::parse(&out.config, std::path::Path::new("feeds.toml")).unwrap();
        assert_eq!(
            settings.sources[0].interval,
            std::time::Duration::from_secs(3600)
        );
        assert_eq!(
            settings.sources[1].interval,
            std::time::Duration::from_secs(1800)
        );
        assert_eq!(settings.timeout, std::time::Duration::from_secs(30));
        assert_eq!(settings.outputs[0].title, "Town reading");
        assert!(
            out.unmapped
                .iter()
                .any(|u| u.contains("line 4: `showfeeds`"))
        );
        assert!(
            out.unmapped
                .iter()
                .any(|u| u.contains("line 7: option `user`"))
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert!(
            import("", "just some text\n")
                .unwrap_err()
                .contains("neither")
        );
    }
}
