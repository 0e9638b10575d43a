//! CSV output (RFC 4180) that a spreadsheet opens without running anything.

use super::sanitize::{encode, Sanitizer};

/// First characters that make a spreadsheet read a cell as a formula (a tab, some applications
/// skip before looking for one). A carriage return, the other such character, never comes
/// first: the sanitiser has already made it a visible `\r`.
const FORMULA_STARTS: [char; 5] = ['=', '+', '-', '@', '\t'];

/// One foreign value as a CSV field: sanitised keeping lines; a value that starts like a
/// formula (`= + - @`, tab, carriage return) gets a leading `'` so it is shown as text; always
/// quoted, with `"` doubled, so commas and newlines stay inside the field.
pub fn csv_field(s: &str) -> String {
    let body = encode(s, Sanitizer::TEXT, |c| (c == '"').then_some("\"\""));
    let guard = if body.starts_with(FORMULA_STARTS) {
        "'"
    } else {
        ""
    };
    format!("\"{guard}{body}\"")
}

/// One CSV record of foreign values, each encoded by [`csv_field`], ended by CRLF.
pub fn csv_record<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = fields
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_as_text() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        assert_eq!(csv_field("+1+1"), "\"'+1+1\"");
        assert_eq!(csv_field("-2"), "\"'-2\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_field("\t=1"), "\"'\t=1\"");
        // A carriage return is made visible first, so it can no longer hide a formula.
        assert_eq!(csv_field("\r=1"), "\"\\r=1\"");
        assert_eq!(csv_field("a=1"), "\"a=1\"");
    }

    #[test]
    fn quotes_commas_and_newlines_stay_inside_the_field() {
        assert_eq!(csv_field("a,\"b\"\nc"), "\"a,\"\"b\"\"\nc\"");
        assert_eq!(csv_field(""), "\"\"");
        assert_eq!(
            csv_record(["x", "=1", "q\""]),
            "\"x\",\"'=1\",\"q\"\"\"\r\n"
        );
    }

    #[test]
    fn controls_are_made_visible() {
        assert_eq!(csv_field("a\u{1b}[31m\0"), "\"a\\u{1b}[31m\\u{0}\"");
    }
}
