//! HTML output: foreign text as element content or a quoted attribute value.

use super::sanitize::{encode, Sanitizer};

/// Foreign text for HTML element content (including RCDATA such as `<title>`) and for
/// attribute values in double or single quotes: sanitised keeping lines, then `& < > " '`
/// written as character references, so no tag, attribute or entity can be started.
pub fn html(s: &str) -> String {
    encode(s, Sanitizer::TEXT, markup_reference)
}

/// The character reference for a character that means something in HTML or XML text and
/// attribute values.
pub(crate) fn markup_reference(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_neutralised() {
        assert_eq!(html("<script>&"), "&lt;script&gt;&amp;");
        assert_eq!(html("\" onmouseover='x'"), "&quot; onmouseover=&#39;x&#39;");
        assert_eq!(html("&lt;"), "&amp;lt;");
        assert_eq!(
            html("</title><img src=x>"),
            "&lt;/title&gt;&lt;img src=x&gt;"
        );
    }

    #[test]
    fn controls_and_bidi_are_made_visible() {
        assert_eq!(
            html("a\u{1b}[31m\u{202e}b\0"),
            "a\\u{1b}[31m\\u{202e}b\\u{0}"
        );
        assert_eq!(html("two\nlines"), "two\nlines");
    }
}
