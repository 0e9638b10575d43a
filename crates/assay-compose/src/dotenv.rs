//! The `.env` / `env_file` grammar of compose-go (`dotenv/parser.go`): `KEY=value`, `KEY: value`,
//! `export KEY=value`, comments, inline ` #` comments on unquoted values, single quotes (raw),
//! double quotes (escapes + interpolation, may span lines), a bare `KEY` (inherited from the
//! caller's lookup only), a UTF-8 BOM. The first invalid statement stops the parse with compose-go's
//! message (`line 7: key cannot contain a space`).

use crate::template::{self, TemplateError, Usage};

/// Most bytes of values one env file may produce (values may reference earlier ones).
const MAX_TOTAL: usize = 16 * 1024 * 1024;

/// One `KEY=value` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line of the key.
    pub line: u32,
}

/// A grammar error: the message (compose-go's wording, with its `line N:` prefix) and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DotenvError {
    pub line: u32,
    pub message: String,
}

fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

fn is_key_char(c: char) -> bool {
    matches!(c, '_' | '.' | '-' | '[' | ']') || c.is_alphanumeric()
}

/// Parses an env file. `lookup` answers bare `KEY` lines and wins over values in the file (it is
/// the `--env` overrides for assay — never the process environment).
pub(crate) fn parse(
    src: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Entry>, DotenvError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut out: Vec<Entry> = Vec::new();
    let mut line: u32 = 1;
    let mut rest = src;
    let mut total = 0usize;
    loop {
        // statement start: skip whitespace and comment lines
        let mut found = None;
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\n' {
                line += 1;
                continue;
            }
            if c.is_whitespace() {
                continue;
            }
            if c == '#' {
                match rest[i..].find('\n') {
                    Some(nl) => {
                        // continue scanning from the newline (which counts the line)
                        let next = i + nl;
                        chars = rest[next..].char_indices();
                        rest = &rest[next..];
                        continue;
                    }
                    None => break,
                }
            }
            found = Some(i);
            break;
        }
        let Some(start) = found else { return Ok(out) };
        let mut stmt = &rest[start..];
        if let Some(after) = stmt.strip_prefix("export") {
            if after.starts_with([' ', '\t']) {
                stmt = after.trim_start_matches(is_space);
            }
        }
        // the key, up to `=`, `:` or a newline (a bare, inherited key)
        let key_line = line;
        let mut term = None;
        for (i, c) in stmt.char_indices() {
            if is_space(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    term = Some((i, c));
                    break;
                }
                c if is_key_char(c) => {}
                c => {
                    return Err(DotenvError {
                        line,
                        message: format!(
                            "line {line}: unexpected character {:?} in variable name {:?}",
                            c.to_string(),
                            stmt.split('\n').next().unwrap_or("")
                        ),
                    })
                }
            }
        }
        let (raw_key, after_key, inherited) = match term {
            Some((i, c)) => (&stmt[..i], &stmt[i + c.len_utf8()..], c == '\n'),
            None => (stmt, "", true),
        };
        let key = raw_key.trim_end();
        if key.contains(' ') {
            return Err(DotenvError {
                line,
                message: format!("line {line}: key cannot contain a space"),
            });
        }
        if inherited && term.is_some() {
            line += 1;
        }
        let value_src = after_key.trim_start_matches(is_space);
        if inherited {
            if let Some(v) = lookup(key) {
                push(&mut out, key, v, key_line);
            }
            rest = value_src;
            continue;
        }
        let lookup_so_far = |k: &str| -> Option<String> {
            lookup(k).or_else(|| {
                out.iter()
                    .rev()
                    .find(|e| e.key == k)
                    .map(|e| e.value.clone())
            })
        };
        let (value, next) = match value_src.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let Some((raw, next, newlines)) = quoted(value_src, q) else {
                    let first = value_src.split('\n').next().unwrap_or("");
                    return Err(DotenvError {
                        line,
                        message: format!("line {line}: unterminated quoted value {first}"),
                    });
                };
                line += newlines;
                let value = if q == '"' {
                    expand(&expand_escapes(&raw), &lookup_so_far, line)?
                } else {
                    raw
                };
                (value, next)
            }
            _ => {
                let (text, next) = match value_src.find('\n') {
                    Some(nl) => (&value_src[..nl], &value_src[nl + 1..]),
                    None => (value_src, ""),
                };
                line += 1;
                let text = text.split(" #").next().unwrap_or("").trim_end();
                (expand(text, &lookup_so_far, key_line)?, next)
            }
        };
        let value = lookup(key).unwrap_or(value);
        total += value.len();
        if total > MAX_TOTAL {
            return Err(DotenvError {
                line: key_line,
                message: format!(
                    "line {key_line}: the values of this file exceed {MAX_TOTAL} bytes"
                ),
            });
        }
        push(&mut out, key, value, key_line);
        rest = next;
    }
}

fn push(out: &mut Vec<Entry>, key: &str, value: String, line: u32) {
    out.retain(|e| e.key != key);
    out.push(Entry {
        key: key.to_string(),
        value,
        line,
    });
}

/// Scans a quoted value starting at the quote; returns the raw text (escaped quotes unescaped,
/// other escapes kept), the rest after the closing quote, and the newlines crossed.
fn quoted(src: &str, quote: char) -> Option<(String, &str, u32)> {
    let mut out = String::new();
    let mut escaped = false;
    let mut newlines = 0;
    for (i, c) in src.char_indices().skip(1) {
        if c == '\n' {
            newlines += 1;
        }
        if escaped {
            escaped = false;
            if c != quote {
                out.push('\\');
            }
            out.push(c);
            continue;
        }
        match c {
            '\\' => escaped = true,
            c if c == quote => return Some((out, &src[i + 1..], newlines)),
            c => out.push(c),
        }
    }
    None
}

/// Shell escapes of double-quoted values: `\n \r \t \a \b \f \v \\ \" \0NNN`; `\$` becomes `$$`
/// (a literal dollar for the interpolation that follows).
fn expand_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(e @ ('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '"' | '\\' | '$')) => {
                chars.next();
                match e {
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\u{b}'),
                    '$' => out.push_str("$$"),
                    other => out.push(other),
                }
            }
            Some('0') => {
                chars.next();
                let mut digits = String::new();
                while digits.len() < 3 {
                    match chars.peek() {
                        Some(d) if d.is_ascii_digit() => {
                            digits.push(*d);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                match u32::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 8)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(ch) if digits.len() == 3 => out.push(ch),
                    _ => {
                        out.push_str("\\0");
                        out.push_str(&digits);
                    }
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

fn expand(
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    line: u32,
) -> Result<String, DotenvError> {
    template::substitute(value, lookup, &mut Usage::default()).map_err(|e| DotenvError {
        line,
        message: match e {
            TemplateError::Invalid => {
                format!("line {line}: invalid interpolation format in {value:?}")
            }
            TemplateError::Required { name, message } => format!(
                "line {line}: {}",
                TemplateError::required_text(&name, &message)
            ),
            TemplateError::TooLong => format!(
                "line {line}: the value expands to more than {} bytes",
                template::MAX_OUTPUT
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> Result<Vec<(String, String)>, DotenvError> {
        parse(src, &|_| None).map(|v| v.into_iter().map(|e| (e.key, e.value)).collect())
    }

    fn get(src: &str, key: &str) -> String {
        p(src)
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap()
    }

    #[test]
    fn plain_quoted_exported() {
        let src = "OPTION_A=1\nOPTION_C= 3\nOPTION_E = 5\n456 = ABC\nOPTION_F = \nOPTION_H = my string # Inline comment\n";
        assert_eq!(get(src, "OPTION_C"), "3");
        assert_eq!(get(src, "OPTION_E"), "5");
        assert_eq!(get(src, "456"), "ABC");
        assert_eq!(get(src, "OPTION_F"), "");
        assert_eq!(get(src, "OPTION_H"), "my string");
        assert_eq!(get("export OPTION_B='\\n'\n", "OPTION_B"), "\\n");
        assert_eq!(get("A=\"\\n\"\n", "A"), "\n");
        assert_eq!(get("K='Let\\'s go!'\n", "K"), "Let's go!");
        assert_eq!(get("J = 'first\nsecond'\nZ=1\n", "J"), "first\nsecond");
        assert_eq!(get("A=1\nB=${A}_$A\n", "B"), "1_1");
        assert_eq!(get("A=\"\\$x\"\n", "A"), "$x");
        assert_eq!(get("\u{feff}A=1\n", "A"), "1");
        assert_eq!(get("FOO:BAR\n", "FOO"), "BAR");
    }

    #[test]
    fn invalid_lines_are_located() {
        let src = "# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix";
        let e = p(src).unwrap_err();
        assert_eq!(e.message, "line 7: key cannot contain a space");
        assert_eq!(e.line, 7);
        let e = p("A=1\nB=\"open\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("line 2: unterminated quoted value"));
        let e = p("A=1\nB$C=1\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn lines_of_entries() {
        let v = parse("\n# c\nA=1\n\nB='x\ny'\nC=3\n", &|_| None).unwrap();
        assert_eq!(v.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 5, 7]);
    }
}
