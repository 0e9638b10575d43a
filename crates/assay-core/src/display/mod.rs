//! The one home for "make this foreign text safe to show".
//!
//! Everything a submission controls (file and entry names, compose values, container logs,
//! Dockerfile and build output, essay text, error messages that quote any of these) passes
//! through here before it reaches a terminal or a report.
//!
//! Two layers:
//! - **one sanitiser**, [`Sanitizer`]: control characters (ANSI and 8-bit C1 sequences
//!   included), bidi controls and other invisible format characters are made visible as
//!   escapes; one-line or multi-line; capped by characters or bytes with a visible marker.
//!   [`Masker`] masks known secrets (raw and URL-encoded) before sanitising.
//! - **one encoder per output**, each sanitising first and then escaping what its format
//!   gives meaning to:
//!
//! | output | encoder |
//! |---|---|
//! | terminal | [`terminal`], [`terminal_line`]; short values [`value`], exact names [`name`], capped output [`evidence`] |
//! | HTML (element content, quoted attribute) | [`html`] |
//! | Markdown (paragraph, list item, table cell; code spans) | [`markdown`], [`markdown_code`] |
//! | XML 1.0 (JUnit) | [`xml_text`], [`xml_attr`] |
//! | CSV (formula-injection guard) | [`csv_field`], [`csv_record`] |
//! | CI annotations (GitHub workflow commands) | [`workflow_data`], [`workflow_property`], [`workflow_command`] |
//! | JSON (reports; data unchanged) | [`json_visible`] over `serde_json`'s text |
//! | YAML (`assay compose config`; data unchanged) | [`yaml_quoted`] |
//!
//! Evidence is sanitised where it is made (checks use [`value`], the runner [`Masker::clean`],
//! intake [`name`]) and encoded again for each output when a report is rendered; sanitising is
//! idempotent, so the second pass changes nothing but what the output format needs.

mod annotation;
mod csv;
mod html;
mod json;
mod markdown;
mod mask;
mod sanitize;
mod terminal;
mod xml;
mod yaml;

pub use annotation::{workflow_command, workflow_data, workflow_property};
pub use csv::{csv_field, csv_record};
pub use html::html;
pub use json::json_visible;
pub use markdown::{markdown, markdown_code, MdContext};
pub use mask::{evidence, url_encode, Masker, EVIDENCE_CAP, MASK};
pub use sanitize::{is_hidden, must_escape, Cap, Lines, Sanitizer, LINE_MARKER, TEXT_MARKER};
pub use terminal::{name, terminal, terminal_line, value, NAME_CHARS, VALUE_CHARS};
pub use xml::{is_xml_char, xml_attr, xml_text};
pub use yaml::{yaml_escapes, yaml_quoted};

/// `1.5 MiB`-style sizes for messages.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod sizes {
    #[test]
    fn sizes_read_well() {
        use super::human_bytes;
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Characters an attacker would use, mixed with plain text.
    fn hostile_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => any::<char>(),
            2 => (0u32..0x20).prop_map(|n| char::from_u32(n).unwrap()),
            1 => (0x7fu32..0xa0).prop_map(|n| char::from_u32(n).unwrap()),
            1 => prop::sample::select(vec![
                '\u{200B}', '\u{200E}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{061C}',
                '\u{FEFF}', '\u{2028}', '\u{E0041}', '\u{FFFE}', '\u{FFFF}',
            ]),
            3 => prop::sample::select(vec![
                '<', '>', '&', '"', '\'', '|', '`', '%', ':', ',', '=', '+', '-', '@', '\\',
                ']', '$', 'a', ' ',
            ]),
        ]
    }

    fn hostile_text() -> impl Strategy<Value = String> {
        prop::collection::vec(hostile_char(), 0..64).prop_map(|v| v.into_iter().collect())
    }

    /// No control character but those `allowed`, and nothing invisible.
    fn shows_only_visible(out: &str, allowed: &[char]) -> Result<(), TestCaseError> {
        for c in out.chars() {
            prop_assert!(allowed.contains(&c) || !must_escape(c), "{c:?} in {out:?}");
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn no_encoder_lets_a_raw_control_or_hidden_character_through(s in hostile_text()) {
            // Text that keeps its lines: newline and tab only.
            let lines = ['\n', '\t'];
            shows_only_visible(&terminal(&s), &lines)?;
            shows_only_visible(&html(&s), &lines)?;
            shows_only_visible(&xml_text(&s), &lines)?;
            shows_only_visible(&csv_field(&s), &lines)?;
            shows_only_visible(&evidence(&s), &lines)?;
            shows_only_visible(&Masker::new(["pw".to_string()]).clean(&s), &lines)?;
            // One line that may hold a tab.
            for tabbed in [markdown(&s), workflow_data(&s), workflow_property(&s)] {
                shows_only_visible(&tabbed, &['\t'])?;
            }
            // One line, no control character at all.
            for line in [
                terminal_line(&s),
                value(&s),
                name(&s),
                markdown_code(&s, MdContext::TableCell),
                markdown_code(&s, MdContext::Paragraph),
                xml_attr(&s),
            ] {
                shows_only_visible(&line, &[])?;
            }
        }

        #[test]
        fn json_stays_the_same_data_and_shows_only_visible_characters(s in hostile_text()) {
            let shown = json_visible(&serde_json::to_string_pretty(&[&s]).unwrap());
            shows_only_visible(&shown, &['\n'])?;
            let back: Vec<String> = serde_json::from_str(&shown).unwrap();
            prop_assert_eq!(&back[0], &s);
        }

        #[test]
        fn yaml_scalars_stay_the_same_data_and_show_only_visible_characters(s in hostile_text()) {
            let quoted = yaml_quoted(&s);
            shows_only_visible(&quoted, &[])?;
            let back: String = serde_saphyr::from_str(&quoted).unwrap();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn sanitising_is_idempotent(s in hostile_text()) {
            for z in [Sanitizer::LINE, Sanitizer::TEXT] {
                let once = z.apply(&s);
                prop_assert_eq!(z.apply(&once), once);
            }
        }

        #[test]
        fn xml_output_holds_only_xml_characters(s in hostile_text()) {
            prop_assert!(xml_text(&s).chars().all(is_xml_char));
            prop_assert!(xml_attr(&s).chars().all(is_xml_char));
        }

        #[test]
        fn caps_hold(s in hostile_text(), n in 0usize..40) {
            let out = Sanitizer::LINE.max_chars(n).apply(&s);
            prop_assert!(out.chars().count() <= n + LINE_MARKER.chars().count());
            let out = Sanitizer::TEXT.max_bytes(n).apply(&s);
            prop_assert!(out.len() <= n + TEXT_MARKER.len());
        }

        #[test]
        fn csv_fields_never_start_a_formula(s in hostile_text()) {
            let f = csv_field(&s);
            let inner = &f[1..f.len() - 1];
            prop_assert!(!inner.starts_with(['=', '+', '-', '@', '\t', '\r']), "{}", f);
        }

        #[test]
        fn workflow_text_has_no_line_break_and_properties_no_separator(s in hostile_text()) {
            let d = workflow_data(&s);
            prop_assert!(!d.contains(['\n', '\r']));
            let p = workflow_property(&s);
            prop_assert!(!p.contains([',', ':', '\n', '\r']));
        }
    }
}
