//! OPML 2.0: exporting the sources as a subscription list, and importing
//! one into `feeds.toml` as `[[source]]` blocks without disturbing the
//! file's comments and layout (toml_edit).

use crate::config::{Location, SourceConfig, SourceKind};

/// The sources as an OPML 2.0 document: feeds with their `xmlUrl`, scraped
/// sites as links; folders of files have no address to subscribe to.
///
/// # Errors
/// When the OPML writer fails.
pub fn export<'a>(
    title: &str,
    sources: impl IntoIterator<Item = &'a SourceConfig>,
) -> Result<String, String> {
    let mut doc = opml::OPML {
        head: Some(opml::Head {
            title: Some(title.to_owned()),
            ..opml::Head::default()
        }),
        ..opml::OPML::default()
    };
    for source in sources {
        let Location::Url(url) = &source.location else {
            continue;
        };
        let mut outline = opml::Outline {
            text: source.name.clone(),
            title: Some(source.name.clone()),
            ..opml::Outline::default()
        };
        match source.kind {
            SourceKind::Feed => {
                outline.r#type = Some("rss".to_owned());
                outline.xml_url = Some(url.to_string());
            }
            SourceKind::Scrape(_) => {
                outline.r#type = Some("link".to_owned());
                outline.url = Some(url.to_string());
                outline.html_url = Some(url.to_string());
            }
            SourceKind::Files(_) => continue,
        }
        if !source.tags.is_empty() {
            outline.category = Some(source.tags.join(","));
        }
        doc.body.outlines.push(outline);
    }
    let xml = doc.to_string().map_err(|e| e.to_string())?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}\n"
    ))
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
}

fn feeds(
    outlines: &[opml::Outline],
    folder: Option<&str>,
    out: &mut Vec<(String, String, Option<String>)>,
) {
    for o in outlines {
        if let Some(url) = o
            .xml_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            let name = o
                .title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| o.text.clone());
            out.push((
                name.trim().to_owned(),
                url.to_owned(),
                folder.map(str::to_owned),
            ));
        }
        let label = o.title.as_deref().unwrap_or(&o.text);
        feeds(&o.outlines, Some(folder.unwrap_or(label)), out);
    }
}

/// Adds the OPML file's feeds to the config text as `[[source]]` blocks,
/// skipping feeds whose URL a source already has. Folder names become tags.
///
/// # Errors
/// When either document cannot be read.
pub fn import(config_text: &str, opml_text: &str) -> Result<Imported, String> {
    let mut sources = crate::edit::Sources::parse(config_text)?;
    let list = opml::OPML::from_str(opml_text).map_err(|e| format!("the OPML file: {e}"))?;
    let mut found = Vec::new();
    feeds(&list.body.outlines, None, &mut found);
    let mut imported = Imported::default();
    for (name, url, folder) in found {
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
        let out = import(config, LIST).unwrap();
        assert_eq!(out.added, ["Rust blog", "Weather"]);
        assert_eq!(out.skipped, ["https://known.example.org/rss"]);
        assert!(
            out.config
                .starts_with("# my feeds\n[settings]\ninterval = \"1h\" # hourly\n"),
            "{}",
            out.config
        );
        assert!(out.config.contains("name = \"Rust blog\"\nurl = \"https://blog.example.org/feed.xml\"\ntags = [\"Tech\"]"), "{}", out.config);
        let again = import(&out.config, LIST).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.config, out.config);
    }
}
