//! Candidate text never reaches a terminal or a page unescaped (security checklist item 24).

/// Replaces control characters (ANSI escapes included) with visible `\u{..}` escapes, keeping
/// newlines and tabs.
pub fn sanitize_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Bidirectional overrides can make text read differently from what it is ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize_terminal(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell or paragraph: no HTML, no emphasis, no table breaks.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize_terminal(s).chars() {
        match c {
            '\n' => out.push_str("<br>"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_escape_is_made_visible() {
        assert_eq!(sanitize_terminal("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(sanitize_terminal("x\u{202E}y"), "x\\u{202e}y");
    }

    #[test]
    fn html_and_markdown_are_neutralised() {
        assert_eq!(escape_html("<script>&"), "&lt;script&gt;&amp;");
        assert_eq!(escape_markdown("a|b <img>"), "a\\|b &lt;img&gt;");
    }
}
