//! The lines of the submission's file around a located failure, so a reviewer sees what the
//! finding is about without unpacking the submission. Secrets are masked with the submission's
//! [`Masker`] (the one the runtime uses for logs) and every line is sanitised to one line.

use assay_core::display::{Masker, Sanitizer};
use assay_core::{CheckId, CheckResult, Location, Status, SubmissionRoot};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Lines shown before and after the located line.
pub const CONTEXT_LINES: u32 = 2;
/// Characters kept of one shown line.
const LINE_CHARS: usize = 240;
/// A file larger than this is not read for an excerpt (compose files are small).
const FILE_CAP: u64 = 1024 * 1024;

/// Lines `start_line..` of `file`, the located one being `line`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceExcerpt {
    pub file: String,
    /// The located line (1-based).
    pub line: u32,
    /// The number of the first line in `lines` (1-based).
    pub start_line: u32,
    /// The lines, secrets masked, each sanitised to one line.
    pub lines: Vec<String>,
}

impl SourceExcerpt {
    /// `(number, text, is the located line)` for each line.
    pub fn numbered(&self) -> impl Iterator<Item = (u32, &str, bool)> {
        self.lines.iter().enumerate().map(move |(i, l)| {
            let n = self.start_line + i as u32;
            (n, l.as_str(), n == self.line)
        })
    }
}

/// An excerpt for every failed check located at a line of a file under `root`. Files that
/// cannot be read safely (outside, a link, too large, not UTF-8) give no excerpt.
pub fn for_failures(
    results: &[CheckResult],
    root: &SubmissionRoot,
    masker: &Masker,
) -> BTreeMap<CheckId, SourceExcerpt> {
    let mut files: BTreeMap<&str, Option<Vec<String>>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for r in results.iter().filter(|r| r.status == Status::Fail) {
        let Some(Location {
            file,
            line: Some(line),
            ..
        }) = &r.location
        else {
            continue;
        };
        let lines = files.entry(file.as_str()).or_insert_with(|| {
            root.read_to_string(Path::new(file), FILE_CAP)
                .ok()
                .map(|text| text.lines().map(str::to_string).collect())
        });
        if let Some(e) = lines
            .as_deref()
            .and_then(|l| excerpt(file, *line, l, masker))
        {
            out.insert(r.id, e);
        }
    }
    out
}

/// The excerpt around `line` of a file's `lines`; `None` when the line is not in the file.
pub fn excerpt(file: &str, line: u32, lines: &[String], masker: &Masker) -> Option<SourceExcerpt> {
    if line == 0 || line as usize > lines.len() {
        return None;
    }
    let start = line.saturating_sub(CONTEXT_LINES).max(1);
    let end = (line + CONTEXT_LINES).min(lines.len() as u32);
    let shown = Sanitizer::LINE.max_chars(LINE_CHARS);
    Some(SourceExcerpt {
        file: file.to_string(),
        line,
        start_line: start,
        lines: (start..=end)
            .map(|n| shown.apply(&masker.mask(&lines[n as usize - 1])))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    #[test]
    fn shows_two_lines_each_side_clipped_at_the_file_s_ends() {
        let f = lines("a\nb\nc\nd\ne\nf\ng");
        let m = Masker::default();
        let e = excerpt("compose.yaml", 4, &f, &m).unwrap();
        assert_eq!((e.start_line, e.lines.len()), (2, 5));
        assert_eq!(
            e.numbered().filter(|(_, _, at)| *at).collect::<Vec<_>>(),
            vec![(4, "d", true)]
        );
        let first = excerpt("compose.yaml", 1, &f, &m).unwrap();
        assert_eq!((first.start_line, first.lines), (1, lines("a\nb\nc")));
        let last = excerpt("compose.yaml", 7, &f, &m).unwrap();
        assert_eq!((last.start_line, last.lines), (5, lines("e\nf\ng")));
        assert!(excerpt("compose.yaml", 8, &f, &m).is_none());
        assert!(excerpt("compose.yaml", 0, &f, &m).is_none());
    }

    #[test]
    fn secrets_are_masked_and_controls_made_visible() {
        let f =
            lines("env:\n  POSTGRES_PASSWORD: hunter2\n  URL: postgres://u:hunter2@db/x\u{1b}[2J");
        let m = Masker::new(["hunter2".to_string()]);
        let e = excerpt("compose.yaml", 2, &f, &m).unwrap();
        let all = e.lines.join("\n");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(all.contains("POSTGRES_PASSWORD: ****"), "{all}");
        assert!(all.contains("\\u{1b}[2J"), "{all}");
    }
}
