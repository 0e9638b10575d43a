//! Plain text: one block per line, blank lines mark standalone lines.

use super::Block;

/// Splits text into line blocks (blank lines dropped) with 1-based line numbers.
pub(crate) fn blocks(text: &str) -> Vec<Block> {
    lines_to_blocks(
        text.lines()
            .enumerate()
            .map(|(i, l)| (Some(u32::try_from(i + 1).unwrap_or(u32::MAX)), l)),
    )
}

/// Shared with PDF: lines → blocks, marking a line standalone when blank lines surround it.
pub(crate) fn lines_to_blocks<'a>(
    lines: impl Iterator<Item = (Option<u32>, &'a str)>,
) -> Vec<Block> {
    let lines: Vec<(Option<u32>, &str)> = lines.collect();
    let blank = |i: usize| lines.get(i).is_none_or(|(_, l)| l.trim().is_empty());
    let mut out = Vec::new();
    for (i, (line, text)) in lines.iter().enumerate() {
        let t = text.trim();
        if t.is_empty() {
            continue;
        }
        let before = i == 0 || blank(i - 1);
        let after = blank(i + 1);
        out.push(Block {
            heading: None,
            text: t.to_string(),
            line: *line,
            standalone: before && after,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_numbers_and_standalone_marks() {
        let b = blocks("Question 2\n\nfirst line\nsecond line\n\n3.\n");
        assert_eq!(b.len(), 4);
        assert_eq!((b[0].line, b[0].standalone), (Some(1), true));
        assert_eq!((b[1].line, b[1].standalone), (Some(3), false));
        assert_eq!(
            (b[3].text.as_str(), b[3].line, b[3].standalone),
            ("3.", Some(6), true)
        );
    }
}
