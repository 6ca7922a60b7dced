//! Adding `[[source]]` blocks to a `feeds.toml` a person wrote, keeping
//! its comments and layout (toml_edit): shared by `import-opml` and `add`.

use std::collections::HashSet;

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

/// A feeds.toml being added to.
pub struct Sources {
    doc: DocumentMut,
    urls: HashSet<String>,
    names: HashSet<String>,
}

/// A URL as compared for "already a source": without a trailing slash.
fn key(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

impl Sources {
    /// Reads the config text.
    ///
    /// # Errors
    /// When the text is not TOML, or `source` is not a list of tables.
    pub fn parse(config_text: &str) -> Result<Self, String> {
        let mut doc: DocumentMut = config_text
            .parse()
            .map_err(|e| format!("feeds.toml: {e}"))?;
        if doc.get("source").is_none() {
            doc.insert("source", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        let tables = doc
            .get("source")
            .and_then(Item::as_array_of_tables)
            .ok_or("feeds.toml: `source` is not a list of [[source]] tables")?;
        let mut urls = HashSet::new();
        let mut names = HashSet::new();
        for table in tables {
            if let Some(u) = table.get("url").and_then(Item::as_str) {
                urls.insert(key(u));
            }
            if let Some(n) = table.get("name").and_then(Item::as_str) {
                names.insert(n.to_owned());
            }
        }
        Ok(Self { doc, urls, names })
    }

    /// The name of the source that reads `url` already, if one does.
    #[must_use]
    pub fn reading(&self, url: &str) -> Option<String> {
        let wanted = key(url);
        self.doc
            .get("source")
            .and_then(Item::as_array_of_tables)?
            .iter()
            .find(|t| t.get("url").and_then(Item::as_str).map(key) == Some(wanted.clone()))
            .map(|t| {
                t.get("name")
                    .and_then(Item::as_str)
                    .unwrap_or("(unnamed)")
                    .to_owned()
            })
    }

    /// Whether a source reads `url` already (remembering it if not).
    pub fn claim_url(&mut self, url: &str) -> bool {
        self.urls.insert(key(url))
    }

    /// `name`, or `name (2)`, `name (3)`... whichever no source has yet
    /// (taken from here on).
    pub fn unique_name(&mut self, name: &str) -> String {
        let mut unique = name.to_owned();
        let mut n = 2;
        while self.names.contains(&unique) {
            unique = format!("{name} ({n})");
            n += 1;
        }
        self.names.insert(unique.clone());
        unique
    }

    /// Appends a `[[source]]` block, set off by a blank line.
    pub fn push(&mut self, mut table: Table) {
        table.decor_mut().set_prefix("\n");
        if let Some(list) = self
            .doc
            .get_mut("source")
            .and_then(Item::as_array_of_tables_mut)
        {
            list.push(table);
        }
    }

    /// The config text with every block added.
    #[must_use]
    pub fn text(&self) -> String {
        self.doc.to_string()
    }
}
