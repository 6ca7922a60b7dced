//! Reading a `feeds.toml` of many sources in slices. The TOML parser holds
//! the whole document as a tree before serde sees it, about 2 KB per
//! `[[source]]` block: 210 MB for a file of 100,000 sources, more than the
//! rest of a run. Read a few thousand blocks at a time, the tree never
//! grows past a slice's.
//!
//! Every slice is parsed as text of the file's own length, everything but
//! its blocks blanked to spaces, so the spans serde records are offsets
//! into the real file and messages name its real lines. Anything unusual
//! (a slice or the rest that does not read, a `source` key outside the
//! blocks) gives up, and the whole file is read at once as before, which
//! also reports its mistakes.

use std::ops::Range;

use toml::Spanned;

use super::{RawConfig, RawSource};

/// `[[source]]` blocks per slice: the parser's tree for one is ~10 MB.
const BLOCKS_PER_SLICE: usize = 5_000;

/// Fewer blocks than this are read at once: slicing would save little.
const MIN_BLOCKS: usize = 2 * BLOCKS_PER_SLICE;

/// The file's shape read slice by slice; `None` when the file is small or
/// does not split cleanly (then it is read whole).
pub(super) fn read(text: &str) -> Option<RawConfig> {
    let blocks = source_blocks(text);
    if blocks.len() < MIN_BLOCKS {
        return None;
    }
    let mut sources: Vec<Spanned<RawSource>> = Vec::with_capacity(blocks.len());
    for slice in blocks.chunks(BLOCKS_PER_SLICE) {
        let part: RawConfig = toml::from_str(&keep_only(text, slice)).ok()?;
        if part.source.len() != slice.len() || !part.output.is_empty() {
            return None;
        }
        sources.extend(part.source);
    }
    let mut rest: RawConfig = toml::from_str(&blank_out(text, &blocks)).ok()?;
    if !rest.source.is_empty() {
        return None;
    }
    rest.source = sources;
    Some(rest)
}

/// The byte ranges of the `[[source]]` blocks, in file order: from the
/// header line to the next header that is not one of the source's own
/// tables (`[source.select]`, `[source.article]`, ...), whole lines.
fn source_blocks(text: &str) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let mut open: Option<usize> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let Some(name) = header_name(line) else {
            continue;
        };
        let array = line.trim_start().starts_with("[[");
        if array && name == "source" {
            if let Some(from) = open.replace(start) {
                blocks.push(from..start);
            }
        } else if !name.starts_with("source.")
            && let Some(from) = open.take()
        {
            blocks.push(from..start);
        }
    }
    if let Some(from) = open {
        blocks.push(from..text.len());
    }
    blocks
}

/// The table name of a header line (`[[ source ]]` gives `source`), with
/// the spaces around its dots dropped; `None` for any other line.
fn header_name(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('[')?;
    let rest = rest.strip_prefix('[').unwrap_or(rest);
    let name = &rest[..rest.find(']')?];
    Some(name.split('.').map(str::trim).collect::<Vec<_>>().join("."))
}

/// `text` with everything outside `keep` turned into spaces (same length).
fn keep_only(text: &str, keep: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(keep.last().map_or(0, |r| r.end));
    let mut done = 0;
    for r in keep {
        push_spaces(&mut out, r.start - done);
        out.push_str(&text[r.clone()]);
        done = r.end;
    }
    out
}

/// `text` with every range in `drop` turned into spaces (same length).
fn blank_out(text: &str, drop: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for r in drop {
        out.push_str(&text[done..r.start]);
        push_spaces(&mut out, r.len());
        done = r.end;
    }
    out.push_str(&text[done..]);
    out
}

fn push_spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// A config of `n` sources, with the settings and an output between
    /// them and source tables of their own, in every shape slicing meets.
    fn config(n: usize) -> String {
        let mut text = String::from("# Ünïcode before everything\n[settings]\ninterval = \"2h\"\n");
        for k in 0..n {
            if k == n / 2 {
                text.push_str("\n[[output]]\nname = \"all\"\n");
            }
            let _ = write!(
                text,
                "\n[[ source ]]\nname = \"sön {k}\"\nurl = \"https://example.org/{k}.xml\"\n"
            );
            if k % 7 == 0 {
                text.push_str("[source.include]\ntitle = \"(?i)rust\"\n");
            }
        }
        text
    }

    #[test]
    fn slices_read_what_the_whole_file_reads() {
        let text = config(MIN_BLOCKS + 123);
        let whole: RawConfig = toml::from_str(&text).unwrap();
        let sliced = read(&text).expect("a config this size is read in slices");
        assert_eq!(format!("{sliced:?}"), format!("{whole:?}"));
        assert_eq!(sliced.source.len(), MIN_BLOCKS + 123);
    }

    #[test]
    fn small_or_unusual_files_are_read_whole() {
        assert!(read(&config(10)).is_none());
        // A multi-line string cut by a line that looks like a header.
        let mut text = config(MIN_BLOCKS);
        text.push_str("\n[[source]]\nname = \"x\"\nurl = \"https://example.org/\"\ntags = [\"\"\"\n[[source]]\n\"\"\"]\n");
        assert!(toml::from_str::<RawConfig>(&text).is_ok());
        assert!(read(&text).is_none());
        // A mistake in one block: the whole file is read to report it.
        let text = config(MIN_BLOCKS).replace("name = \"sön 3\"", "nmae = \"sön 3\"");
        assert!(read(&text).is_none());
    }

    #[test]
    fn blocks_run_from_a_source_header_to_the_next_other_header() {
        let text =
            "[settings]\n[[source]]\na = 1\n[source.select]\nb = 2\n[[output]]\n[[source]]\nc = 3";
        let blocks = source_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            &text[blocks[0].clone()],
            "[[source]]\na = 1\n[source.select]\nb = 2\n"
        );
        assert_eq!(&text[blocks[1].clone()], "[[source]]\nc = 3");
    }
}
