//! Markdown output (GitHub-flavoured: pull-request comments, job summaries).

use super::sanitize::{encode, Sanitizer};

/// Where a code span is written: a table cell needs its pipes escaped even inside code
/// (GitHub ends the cell at the first bare `|`), a paragraph must not have them escaped
/// (a backslash inside code is shown as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdContext {
    TableCell,
    Paragraph,
}

/// Foreign text for a Markdown paragraph, list item or table cell: sanitised keeping lines;
/// a newline becomes `<br>` (so a table row or list item stays one line); `< > &` become
/// character references (no HTML, no autolink, no entity); and the characters that start
/// emphasis, links, images, headings, strike-through, code, math or a cell break are
/// backslash-escaped.
pub fn markdown(s: &str) -> String {
    encode(s, Sanitizer::TEXT, |c| {
        Some(match c {
            '\n' => "<br>",
            '<' => "&lt;",
            '>' => "&gt;",
            '&' => "&amp;",
            '|' => "\\|",
            '\\' => "\\\\",
            '`' => "\\`",
            '*' => "\\*",
            '_' => "\\_",
            '[' => "\\[",
            ']' => "\\]",
            '#' => "\\#",
            '~' => "\\~",
            '$' => "\\$",
            _ => return None,
        })
    })
}

/// Foreign text as an inline code span: sanitised to one line (a line break would end a table
/// row), fenced with one more backtick than the longest run of backticks inside, padded with a
/// space when it starts or ends with a backtick or a space (CommonMark strips one space from
/// each side), and with `|` escaped in a table cell. Empty text gives an empty string.
pub fn markdown_code(s: &str, context: MdContext) -> String {
    let mut body = Sanitizer::LINE.apply(s);
    if body.is_empty() {
        return body;
    }
    if context == MdContext::TableCell {
        body = body.replace('|', "\\|");
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let edge = |c: Option<char>| matches!(c, Some('`' | ' '));
    let pad = if (edge(body.chars().next()) || edge(body.chars().last()))
        && !body.chars().all(|c| c == ' ')
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_cannot_be_injected() {
        assert_eq!(markdown("a|b <img>"), "a\\|b &lt;img&gt;");
        assert_eq!(
            markdown("[click](https://evil) ![x](y) **b** _i_ ~~s~~ `c` # h"),
            "\\[click\\](https://evil) !\\[x\\](y) \\*\\*b\\*\\* \\_i\\_ \\~\\~s\\~\\~ \\`c\\` \\# h"
        );
        assert_eq!(markdown("&#x3C;script"), "&amp;\\#x3C;script");
        assert_eq!(markdown("$\\huge{PASS}$"), "\\$\\\\huge{PASS}\\$");
    }

    #[test]
    fn newlines_stay_inside_the_row_and_controls_are_visible() {
        assert_eq!(markdown("a\n| x | y |"), "a<br>\\| x \\| y \\|");
        assert_eq!(markdown("a\u{1b}[2J\u{202e}"), "a\\\\u{1b}\\[2J\\\\u{202e}");
    }

    #[test]
    fn code_spans_are_fenced_longer_than_any_backtick_run() {
        use MdContext::*;
        assert_eq!(
            markdown_code("compose.yaml:3:7", TableCell),
            "`compose.yaml:3:7`"
        );
        assert_eq!(markdown_code("a`b", Paragraph), "``a`b``");
        assert_eq!(markdown_code("a``b`", Paragraph), "``` a``b` ```");
        assert_eq!(markdown_code("`", Paragraph), "`` ` ``");
        assert_eq!(markdown_code(" x ", Paragraph), "`  x  `");
        assert_eq!(markdown_code("", Paragraph), "");
    }

    #[test]
    fn code_spans_escape_pipes_only_in_table_cells_and_stay_on_one_line() {
        use MdContext::*;
        assert_eq!(markdown_code("a|b\nc", TableCell), "`a\\|b\\nc`");
        assert_eq!(markdown_code("a|b", Paragraph), "`a|b`");
        assert_eq!(markdown_code("\u{1b}[1m", Paragraph), "`\\u{1b}[1m`");
    }
}
