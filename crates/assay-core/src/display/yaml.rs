//! YAML output (`assay compose config`): a double-quoted scalar that is safe to print.

use super::sanitize::must_escape;
use super::xml::is_xml_char;
use std::fmt::Write;

/// `s` as a YAML double-quoted scalar that reads back as exactly `s`: `"` and `\` escaped,
/// newline, tab and carriage return as `\n`, `\t`, `\r`, and every other character the
/// sanitiser would escape, or that YAML does not allow in a document (U+FFFE, U+FFFF), as
/// `\uXXXX` or `\UXXXXXXXX` (YAML's escapes, no surrogate pairs).
pub fn yaml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if yaml_escapes(c) && (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if yaml_escapes(c) => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True for a character [`yaml_quoted`] writes as a `\u` or `\U` escape (or `\n`, `\t`, `\r`):
/// a plain scalar holding one must be quoted.
pub fn yaml_escapes(c: char) -> bool {
    must_escape(c) || !is_xml_char(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_reads_back_the_same() {
        let raw = "a\u{1b}[2J\u{9b}\"\\\n\t\r\u{202e}\u{e0041}\u{ffff}é: #x";
        let quoted = yaml_quoted(raw);
        assert_eq!(
            quoted,
            r#""a\u001b[2J\u009b\"\\\n\t\r\u202e\U000e0041\uffffé: #x""#
        );
        let back: String = serde_saphyr::from_str(&quoted).unwrap();
        assert_eq!(back, raw);
    }
}
