//! OPML 2.0: exporting the sources as a subscription list, and importing
//! one into `feeds.toml` as `[[source]]` blocks without disturbing the
//! file's comments and layout (toml_edit).

use crate::config::{Location, SourceConfig, SourceKind};

/// The sources as an OPML 2.0 outline list, and the names of those it
/// cannot express.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Exported {
    /// The OPML document.
    pub document: String,
    /// Sources left out, each with why.
    pub skipped: Vec<String>,
}

/// The sources as an OPML 2.0 document: feeds with their `xmlUrl`; scraped
/// sites, and folders of files published under a `base_url`, as
/// `type="link"` outlines with their site. A folder with no `base_url`
/// has no address to list, and is reported as skipped.
///
/// # Errors
/// When the OPML writer fails.
pub fn export<'a>(
    title: &str,
    sources: impl IntoIterator<Item = &'a SourceConfig>,
) -> Result<Exported, String> {
    let mut doc = opml::OPML {
        head: Some(opml::Head {
            title: Some(title.to_owned()),
            ..opml::Head::default()
        }),
        ..opml::OPML::default()
    };
    let mut skipped = Vec::new();
    for source in sources {
        let mut outline = opml::Outline {
            text: source.name.clone(),
            title: Some(source.name.clone()),
            ..opml::Outline::default()
        };
        match (&source.kind, &source.location) {
            (SourceKind::Feed, Location::Url(url)) => {
                outline.r#type = Some("rss".to_owned());
                outline.xml_url = Some(url.to_string());
            }
            (SourceKind::Scrape(_), Location::Url(url)) => {
                outline.r#type = Some("link".to_owned());
                outline.url = Some(url.to_string());
                outline.html_url = Some(url.to_string());
            }
            (SourceKind::Files(files), _) if files.base_url.is_some() => {
                let site = files.base_url.as_ref().map(ToString::to_string);
                outline.r#type = Some("link".to_owned());
                outline.url.clone_from(&site);
                outline.html_url = site;
            }
            (SourceKind::Files(_), _) => {
                skipped.push(format!(
                    "`{}`: a folder of files without `base_url` has no address to list",
                    source.name
                ));
                continue;
            }
            (_, Location::Path(path)) => {
                skipped.push(format!(
                    "`{}`: a feed read from {} has no address to list",
                    source.name,
                    path.display()
                ));
                continue;
            }
        }
        if !source.tags.is_empty() {
            outline.category = Some(source.tags.join(","));
        }
        doc.body.outlines.push(outline);
    }
    let xml = doc.to_string().map_err(|e| e.to_string())?;
    Ok(Exported {
        document: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}\n"),
        skipped,
    })
}

/// What [`import`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// The new config text.
    pub config: String,
    /// Names of the sources added.
    pub added: Vec<String>,
    /// Feed URLs skipped because a source already reads them.
    pub skipped: Vec<String>,
    /// Outlines skipped because they are broken, each with its line.
    pub problems: Vec<String>,
}

/// One feed outline of an OPML file, with the line it is on.
struct Outline {
    line: usize,
    name: String,
    url: String,
    folder: Option<String>,
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref().eq_ignore_ascii_case(key))
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_owned())
        })
}

/// Every outline with an `xmlUrl`, in order, with its line and the folder
/// (the nearest enclosing outline's label) it sits in.
fn outlines(opml_text: &str) -> Result<Vec<Outline>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(opml_text);
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut found = Vec::new();
    let mut saw_opml = false;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let line = line_of(
                opml_text,
                usize::try_from(reader.error_position()).unwrap_or(at),
            );
            format!("line {line}: not well-formed XML: {e}")
        })?;
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().as_ref() == "outline" {
                    folders.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = start.local_name();
        saw_opml |= local.as_ref() == "opml";
        if local.as_ref() != "outline" {
            continue;
        }
        let label = attribute(&start, "title")
            .filter(|t| !t.is_empty())
            .or_else(|| attribute(&start, "text"))
            .unwrap_or_default();
        if let Some(url) = attribute(&start, "xmlUrl") {
            found.push(Outline {
                line: line_of(opml_text, at),
                name: label.clone(),
                url,
                folder: folders.iter().rev().flatten().next().cloned(),
            });
        }
        if !empty {
            // An outline with its own feed is not a folder for its children.
            let is_feed = attribute(&start, "xmlUrl").is_some();
            folders.push((!is_feed && !label.is_empty()).then_some(label));
        }
    }
    if !saw_opml {
        return Err("no <opml> element: this is not an OPML file".to_owned());
    }
    Ok(found)
}

/// 1-based line of a byte offset (the tag starts after leading blanks).
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let skipped = text
        .get(offset..)
        .unwrap_or_default()
        .bytes()
        .take_while(u8::is_ascii_whitespace)
        .filter(|b| *b == b'\n')
        .count();
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1 + skipped
}

/// Adds the OPML file's feeds to the config text as `[[source]]` blocks,
/// skipping feeds whose URL a source already has. Folder names become
/// tags. An outline whose `xmlUrl` is not an http(s) address is skipped
/// with a problem naming its line; with `strict`, any such outline refuses
/// the whole file.
///
/// # Errors
/// When either document cannot be read, or (with `strict`) an outline is bad.
pub fn import(config_text: &str, opml_text: &str, strict: bool) -> Result<Imported, String> {
    let mut sources = crate::edit::Sources::parse(config_text)?;
    let found = outlines(opml_text)?;
    let mut imported = Imported::default();
    for outline in found {
        let Outline {
            line,
            name,
            url,
            folder,
        } = outline;
        let valid = url::Url::parse(&url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        if valid.is_none() {
            imported.problems.push(format!(
                "line {line}: outline `{name}` has xmlUrl `{url}`, which is not an http(s) address"
            ));
            continue;
        }
        if !sources.claim_url(&url) {
            imported.skipped.push(url);
            continue;
        }
        let unique = sources.unique_name(if name.is_empty() { &url } else { &name });
        let mut table = toml_edit::Table::new();
        table.insert("name", toml_edit::value(unique.clone()));
        table.insert("url", toml_edit::value(url));
        if let Some(folder) = folder {
            let mut tags = toml_edit::Array::new();
            tags.push(folder);
            table.insert("tags", toml_edit::value(tags));
        }
        sources.push(table);
        imported.added.push(unique);
    }
    if strict && !imported.problems.is_empty() {
        return Err(format!(
            "{} bad outline(s), nothing imported (without --strict they are skipped):\n{}",
            imported.problems.len(),
            imported.problems.join("\n")
        ));
    }
    imported.config = sources.text();
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>My reading</title></head><body>
<outline text="Tech"><outline text="Rust blog" title="Rust blog" type="rss" xmlUrl="https://blog.example.org/feed.xml"/>
<outline text="Already here" type="rss" xmlUrl="https://known.example.org/rss"/></outline>
<outline text="Weather" type="rss" xmlUrl="https://weather.example.net/atom"/>
</body></opml>"#;

    #[test]
    fn import_keeps_comments_and_skips_known_feeds() {
        let config = "# my feeds\n[settings]\ninterval = \"1h\" # hourly\n\n[[source]]\nname = \"Known\"\nurl = \"https://known.example.org/rss/\"\n";
        let out = import(config, LIST, false).unwrap();
        assert_eq!(out.added, ["Rust blog", "Weather"]);
        assert_eq!(out.skipped, ["https://known.example.org/rss"]);
        assert!(
            out.config
                .starts_with("# my feeds\n[settings]\ninterval = \"1h\" # hourly\n"),
            "{}",
            out.config
        );
        assert!(out.config.contains("name = \"Rust blog\"\nurl = \"https://blog.example.org/feed.xml\"\ntags = [\"Tech\"]"), "{}", out.config);
        let again = import(&out.config, LIST, false).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.config, out.config);
    }
}
