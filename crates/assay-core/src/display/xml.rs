//! XML 1.0 output (JUnit reports).

use super::html::markup_reference;
use super::sanitize::{encode, Sanitizer};

/// True for a character XML 1.0 allows in a document (`Char` production). After sanitising,
/// only the noncharacters U+FFFE and U+FFFF are left to exclude.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Foreign text for XML element content: sanitised keeping lines, characters XML 1.0 does not
/// allow dropped, and `& < > " '` written as character references (so `]]>` cannot close a
/// CDATA section either: its `>` is escaped).
pub fn xml_text(s: &str) -> String {
    encode_xml(s, false)
}

/// Foreign text for a quoted XML attribute value: as [`xml_text`], and newlines and tabs written
/// as `&#10;` and `&#9;`, which a parser's attribute-value normalisation would otherwise turn
/// into spaces.
pub fn xml_attr(s: &str) -> String {
    encode_xml(s, true)
}

fn encode_xml(s: &str, attr: bool) -> String {
    encode(s, Sanitizer::TEXT, |c| match c {
        c if !is_xml_char(c) => Some(""),
        '\n' if attr => Some("&#10;"),
        '\t' if attr => Some("&#9;"),
        c => markup_reference(c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_cdata_ends_are_escaped() {
        assert_eq!(
            xml_text("]]><x a=\"1\">&"),
            "]]&gt;&lt;x a=&quot;1&quot;&gt;&amp;"
        );
        assert_eq!(xml_attr("it's \"q\""), "it&#39;s &quot;q&quot;");
    }

    #[test]
    fn characters_xml_forbids_never_appear() {
        // NUL and ESC are made visible by the sanitiser; U+FFFE/U+FFFF are dropped.
        assert_eq!(
            xml_text("a\0b\u{1b}c\u{fffe}d\u{ffff}"),
            "a\\u{0}b\\u{1b}cd"
        );
        for c in [
            '\0', '\u{1}', '\u{b}', '\u{c}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ] {
            assert!(!is_xml_char(c), "{c:?}");
        }
        for c in [
            '\t',
            '\n',
            ' ',
            '\u{d7ff}',
            '\u{e000}',
            '\u{fffd}',
            '\u{10000}',
            '\u{10ffff}',
        ] {
            assert!(is_xml_char(c), "{c:?}");
        }
    }

    #[test]
    fn attributes_keep_their_line_breaks_as_references() {
        assert_eq!(xml_attr("a\nb\tc\rd"), "a&#10;b&#9;c\\rd");
        assert_eq!(xml_text("a\nb\tc"), "a\nb\tc");
    }
}
