//! Terminal output: text that cannot move the cursor, recolour, retitle or clear the screen.

use super::sanitize::Sanitizer;

/// Characters of a foreign value shown inside one line of evidence.
pub const VALUE_CHARS: usize = 80;
/// Characters of a file or archive-entry name shown before it is cut.
pub const NAME_CHARS: usize = 300;

/// Foreign text for a terminal, keeping its lines ([`Sanitizer::TEXT`]).
pub fn terminal(s: &str) -> String {
    Sanitizer::TEXT.apply(s)
}

/// Foreign text for one line of a terminal: progress lines, a name inside a sentence
/// ([`Sanitizer::LINE`]).
pub fn terminal_line(s: &str) -> String {
    Sanitizer::LINE.apply(s)
}

/// A short foreign value inside a sentence of evidence (an image name, an environment value):
/// one line, at most [`VALUE_CHARS`] characters.
pub fn value(s: &str) -> String {
    Sanitizer::LINE.max_chars(VALUE_CHARS).apply(s)
}

/// A file or archive-entry name, shown so that it names exactly one input: one line,
/// backslashes escaped too, at most [`NAME_CHARS`] characters.
pub fn name(s: &str) -> String {
    Sanitizer::LINE
        .escape_backslashes()
        .max_chars(NAME_CHARS)
        .apply(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_cannot_drive_the_terminal() {
        // Clear screen, retitle (OSC ... BEL), 8-bit CSI, fake verdict on a new line.
        let hostile = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31mPASS\r\nPASS 100";
        assert_eq!(
            terminal(hostile),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{9b}31mPASS\\r\nPASS 100"
        );
        assert_eq!(
            terminal_line(hostile),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{9b}31mPASS\\r\\nPASS 100"
        );
    }

    #[test]
    fn bidi_overrides_cannot_reorder_a_line() {
        assert_eq!(terminal_line("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(terminal_line("a\u{2067}b\u{2069}"), "a\\u{2067}b\\u{2069}");
    }

    #[test]
    fn values_are_one_capped_line() {
        assert_eq!(value("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(value("a\nb"), "a\\nb");
        assert_eq!(value(&"x".repeat(200)).chars().count(), VALUE_CHARS + 1);
    }

    #[test]
    fn names_are_exact_and_capped() {
        assert_eq!(name("..\\..\\x"), "..\\\\..\\\\x");
        assert_eq!(name("a\0b\nc\rd"), "a\\u{0}b\\nc\\rd");
        assert_eq!(name(&"n".repeat(400)).chars().count(), NAME_CHARS + 1);
    }
}
