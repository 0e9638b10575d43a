//! CI annotations: GitHub Actions workflow commands (`::error file=…,line=…::message`).
//!
//! The runner reads every stdout line starting with `::` as a command and decodes `%25`,
//! `%0D`, `%0A` in its message, and also `%3A`, `%2C` in property values. Foreign text
//! encoded here can therefore neither start a command of its own (it has no raw line break)
//! nor end a property early.

use super::sanitize::{encode, Sanitizer};

/// Foreign text for a workflow command's message: sanitised keeping lines (a carriage return is
/// already shown as `\r` then), `%` and LF percent-encoded (a multi-line message stays one
/// command).
pub fn workflow_data(s: &str) -> String {
    encode_workflow(s, false)
}

/// Foreign text for a workflow command's property value (`file=`, `title=`): as
/// [`workflow_data`], and `:` and `,` encoded too.
pub fn workflow_property(s: &str) -> String {
    encode_workflow(s, true)
}

/// One workflow command line (without its line break): `::name k=v,k=v::message`. `name` and
/// the property keys are assay's own words (`error`, `file`, `line`, `title`); the values and
/// the message are encoded here.
pub fn workflow_command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    debug_assert!(
        std::iter::once(name)
            .chain(properties.iter().map(|(k, _)| *k))
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
        "command names and keys are assay's own words"
    );
    let props = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", workflow_property(v)))
        .collect::<Vec<_>>()
        .join(",");
    let space = if props.is_empty() { "" } else { " " };
    format!("::{name}{space}{props}::{}", workflow_data(message))
}

fn encode_workflow(s: &str, property: bool) -> String {
    encode(s, Sanitizer::TEXT, |c| match c {
        '%' => Some("%25"),
        '\n' => Some("%0A"),
        ':' if property => Some("%3A"),
        ',' if property => Some("%2C"),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_text_cannot_start_a_command() {
        // Already-encoded text is shown as written, not decoded into a line break.
        assert_eq!(workflow_data("%0A::error::pwned"), "%250A::error::pwned");
        assert_eq!(workflow_data("ok\n::error::pwned"), "ok%0A::error::pwned");
        assert_eq!(workflow_data("a\r\nb"), "a\\r%0Ab");
        assert_eq!(workflow_data("::stop-commands::x"), "::stop-commands::x");
    }

    #[test]
    fn properties_cannot_end_early() {
        assert_eq!(workflow_property("a,line=1::b"), "a%2Cline=1%3A%3Ab");
        assert_eq!(
            workflow_command(
                "error",
                &[("file", "x,y.yaml"), ("line", "3")],
                "bad\n::warning::x"
            ),
            "::error file=x%2Cy.yaml,line=3::bad%0A::warning::x"
        );
        assert_eq!(workflow_command("notice", &[], "50%"), "::notice::50%25");
    }

    #[test]
    fn controls_are_made_visible() {
        assert_eq!(workflow_data("\u{1b}[31m\u{202e}"), "\\u{1b}[31m\\u{202e}");
    }
}
