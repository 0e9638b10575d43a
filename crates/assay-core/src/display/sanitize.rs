//! The one sanitiser: what of a foreign string may be shown as it is, and what is made visible.

use std::fmt::Write;

/// Whether the text keeps its line structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: newline, carriage return and tab are shown as `\n`, `\r`, `\t`.
    One,
    /// Several lines: newline and tab are kept; a carriage return is shown as `\r` (a bare CR
    /// would let a line overwrite itself on a terminal).
    Many,
}

/// An upper bound on what one sanitised string shows, measured on the output (an escape counts
/// at its shown length and is never split). Past the cap a visible marker ends the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    None,
    /// At most this many characters.
    Chars(usize),
    /// At most this many bytes of UTF-8.
    Bytes(usize),
}

/// Makes foreign text (file names, compose values, container logs, build output, essays,
/// errors) safe to show: every character that is not plainly visible is replaced by an escape
/// that is.
///
/// Escaped: control characters (C0, DEL and C1, so no ANSI or 8-bit CSI sequence reaches a
/// terminal), the invisible format characters that can reorder or hide text ([`is_hidden`]:
/// bidi controls, zero-width characters, BOM, tag characters, …) and the Unicode line and
/// paragraph separators. The escapes are `\n`, `\r`, `\t` and `\u{hex}` (lower-case hex, as
/// Rust writes them). Everything else is kept, so sanitising twice changes nothing more
/// (unless backslashes are escaped, see [`Sanitizer::escape_backslashes`]).
///
/// The two common shapes are [`Sanitizer::LINE`] and [`Sanitizer::TEXT`]; caps are added with
/// [`Sanitizer::max_chars`] and [`Sanitizer::max_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sanitizer {
    lines: Lines,
    cap: Cap,
    backslashes: bool,
}

/// What ends text cut at its cap on one line.
pub const LINE_MARKER: &str = "…";
/// What ends text cut at its cap when it keeps its lines (on a line of its own, so it cannot be
/// mistaken for the text's last word).
pub const TEXT_MARKER: &str = "\n… [truncated]";

impl Sanitizer {
    /// One line, no cap.
    pub const LINE: Sanitizer = Sanitizer {
        lines: Lines::One,
        cap: Cap::None,
        backslashes: false,
    };
    /// Several lines, no cap.
    pub const TEXT: Sanitizer = Sanitizer {
        lines: Lines::Many,
        cap: Cap::None,
        backslashes: false,
    };

    /// Shows at most `n` characters, then [`LINE_MARKER`] or [`TEXT_MARKER`].
    pub const fn max_chars(mut self, n: usize) -> Sanitizer {
        self.cap = Cap::Chars(n);
        self
    }

    /// Shows at most `n` bytes, then [`LINE_MARKER`] or [`TEXT_MARKER`].
    pub const fn max_bytes(mut self, n: usize) -> Sanitizer {
        self.cap = Cap::Bytes(n);
        self
    }

    /// Also shows a backslash as `\\`, so the output names the input exactly (an entry called
    /// `a\u{1b}` cannot pass for one holding an escape character). For names whose exact bytes
    /// matter; not idempotent, so apply it once, where the name is first shown.
    pub const fn escape_backslashes(mut self) -> Sanitizer {
        self.backslashes = true;
        self
    }

    /// The layout this sanitiser keeps.
    pub const fn lines(&self) -> Lines {
        self.lines
    }

    /// `s` made safe to show.
    pub fn apply(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len().min(1 << 16));
        self.push(s, &mut out);
        out
    }

    /// Appends `s`, made safe to show, to `out` (the cap counts only what this call appends).
    pub fn push(&self, s: &str, out: &mut String) {
        let start = out.len();
        let mut chars = 0usize;
        let mut piece = String::new();
        for c in s.chars() {
            piece.clear();
            self.escape_into(c, &mut piece);
            let fits = match self.cap {
                Cap::None => true,
                Cap::Chars(n) => chars + piece.chars().count() <= n,
                Cap::Bytes(n) => out.len() - start + piece.len() <= n,
            };
            if !fits {
                out.push_str(match self.lines {
                    Lines::One => LINE_MARKER,
                    Lines::Many => TEXT_MARKER,
                });
                return;
            }
            if let Cap::Chars(_) = self.cap {
                chars += piece.chars().count();
            }
            out.push_str(&piece);
        }
    }

    fn escape_into(&self, c: char, out: &mut String) {
        match c {
            '\n' | '\t' if self.lines == Lines::Many => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' if self.backslashes => out.push_str("\\\\"),
            c if must_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// The shape of every encoder: `s` sanitised by `sanitizer`, then each character written as
/// `escape` says (`Some(text)` replaces it, `None` keeps it).
pub(crate) fn encode(
    s: &str,
    sanitizer: Sanitizer,
    escape: impl Fn(char) -> Option<&'static str>,
) -> String {
    let clean = sanitizer.apply(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match escape(c) {
            Some(text) => out.push_str(text),
            None => out.push(c),
        }
    }
    out
}

/// True for a character the sanitiser never shows as it is (newline and tab aside).
pub fn must_escape(c: char) -> bool {
    c.is_control() || is_hidden(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Invisible format characters that can reorder or hide text: the bidi embeddings, overrides,
/// isolates and marks ("Trojan Source"), zero-width spaces and joiners, the BOM, soft hyphen,
/// Hangul fillers, interlinear annotation marks, tag characters (which can carry a hidden
/// message), and the rest of Unicode's default-ignorable code points. Variation selectors are
/// not in the list: they only choose the glyph of the character before them.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{061C}'                // Arabic letter mark (bidi)
        | '\u{115F}' | '\u{1160}'   // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'   // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'   // Mongolian free variation selectors, vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space/non-joiner/joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates, deprecated
        | '\u{3164}'                // Hangul filler
        | '\u{FEFF}'                // BOM / zero-width no-break space
        | '\u{FFA0}'                // halfwidth Hangul filler
        | '\u{FFF0}'..='\u{FFFB}'   // reserved, interlinear annotation marks
        | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}' // musical format controls
        | '\u{E0000}'..='\u{E00FF}' // tag characters
        | '\u{E01F0}'..='\u{E0FFF}' // reserved default-ignorable
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_ansi_and_c1_are_made_visible() {
        assert_eq!(Sanitizer::TEXT.apply("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(
            Sanitizer::TEXT.apply("x\u{9b}2J\u{7f}\0"),
            "x\\u{9b}2J\\u{7f}\\u{0}"
        );
    }

    #[test]
    fn lines_are_kept_or_folded() {
        assert_eq!(Sanitizer::TEXT.apply("a\r\n\tb"), "a\\r\n\tb");
        assert_eq!(Sanitizer::LINE.apply("a\r\n\tb"), "a\\r\\n\\tb");
        assert_eq!(
            Sanitizer::TEXT.apply("a\u{2028}b\u{85}"),
            "a\\u{2028}b\\u{85}"
        );
    }

    #[test]
    fn bidi_and_invisible_format_characters_are_made_visible() {
        for c in [
            '\u{200B}',
            '\u{200D}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{061C}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
        ] {
            let shown = Sanitizer::LINE.apply(&format!("a{c}b"));
            assert_eq!(shown, format!("a\\u{{{:x}}}b", c as u32));
        }
        // Visible text, variation selectors (emoji presentation) and non-Latin scripts stay.
        let kept = "héllo 日本語 ❤\u{FE0F} עברית";
        assert_eq!(Sanitizer::LINE.apply(kept), kept);
    }

    #[test]
    fn backslashes_are_escaped_only_when_asked() {
        assert_eq!(Sanitizer::LINE.apply("..\\x"), "..\\x");
        assert_eq!(
            Sanitizer::LINE.escape_backslashes().apply("..\\x\u{1b}"),
            "..\\\\x\\u{1b}"
        );
    }

    #[test]
    fn sanitising_twice_changes_nothing() {
        let hostile = "a\u{1b}[2J\u{202e}b\r\nc\\d";
        for s in [Sanitizer::LINE, Sanitizer::TEXT] {
            let once = s.apply(hostile);
            assert_eq!(s.apply(&once), once);
        }
    }

    #[test]
    fn character_caps_count_what_is_shown_and_never_split_an_escape() {
        let s = Sanitizer::LINE.max_chars(5);
        assert_eq!(s.apply("abcde"), "abcde");
        assert_eq!(s.apply("abcdef"), "abcde…");
        // `\u{1b}` is 6 characters: it does not fit after "ab".
        assert_eq!(s.apply("ab\u{1b}cd"), "ab…");
        assert_eq!(Sanitizer::LINE.max_chars(0).apply(""), "");
    }

    #[test]
    fn byte_caps_hold_exactly_and_mark_the_cut_on_its_own_line() {
        let s = Sanitizer::TEXT.max_bytes(10);
        let out = s.apply(&"é".repeat(20));
        assert_eq!(out, format!("{}{TEXT_MARKER}", "é".repeat(5)));
        assert_eq!(s.apply("0123456789"), "0123456789");
        let out = s.apply(&"\u{1b}".repeat(20));
        assert_eq!(out, format!("\\u{{1b}}{TEXT_MARKER}"));
    }

    #[test]
    fn push_caps_only_what_it_appends() {
        let mut out = String::from("prefix: ");
        Sanitizer::LINE.max_chars(3).push("abcdef", &mut out);
        assert_eq!(out, "prefix: abc…");
    }
}
