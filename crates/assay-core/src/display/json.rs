//! JSON output (reports, `assay compose config --format json`) that is safe to print too.

use super::sanitize::must_escape;
use std::fmt::Write;

/// JSON text, as `serde_json` writes it, with every character the sanitiser would escape (C1
/// controls, DEL, bidi and other invisible format characters, line separators) written as a
/// `\uXXXX` escape, UTF-16 surrogate pairs above U+FFFF. `serde_json` escapes only C0 controls;
/// a JSON parser reads the escapes back as the same characters, so the data is unchanged while
/// the text can go to a terminal. Outside strings JSON has only ASCII punctuation, digits,
/// letters and whitespace, so the only raw newlines and tabs left are layout and are kept.
pub fn json_visible(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if must_escape(c) && !matches!(c, '\n' | '\t' | '\r') {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04x}", u);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_c1_characters_are_escaped_and_read_back_the_same() {
        let raw = "a\u{9b}2J\u{7f}\u{202e}b\u{e0041}\u{2028}é";
        let json =
            serde_json::to_string_pretty(&serde_json::json!({ "v": raw, "k\u{200b}": 1 })).unwrap();
        let shown = json_visible(&json);
        assert!(
            shown.contains(r"a\u009b2J\u007f\u202eb\udb40\udc41\u2028é"),
            "{shown}"
        );
        assert!(shown.contains(r#""k\u200b""#), "{shown}");
        assert!(
            !shown.chars().any(|c| must_escape(c) && c != '\n'),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back["v"], raw);
        assert_eq!(back["k\u{200b}"], 1);
    }

    #[test]
    fn plain_json_is_unchanged() {
        let json = "{\n  \"a\": [1, \"x\\u001b\\n\"],\n  \"b\": null\n}";
        assert_eq!(json_visible(json), json);
    }
}
