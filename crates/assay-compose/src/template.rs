//! Variable substitution in one string, with compose-go's forms and semantics
//! (`template/template.go`): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?message}`, `${VAR?message}`, `${VAR:+replacement}`, `${VAR+replacement}`, nested
//! substitutions inside the argument, and `$$` for a literal `$`.

/// Why a template could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    /// A `$` that starts no valid substitution (`$1`, `${}`, `${A B}`, an unclosed `${`).
    Invalid,
    /// `${VAR:?msg}` / `${VAR?msg}` with the variable missing (or empty for `:?`).
    Required { name: String, message: String },
    /// The result would exceed [`MAX_OUTPUT`] bytes.
    TooLong,
}

impl TemplateError {
    /// The message compose-go gives (without the path it adds around it).
    pub(crate) fn required_text(name: &str, message: &str) -> String {
        if message.is_empty() {
            format!("required variable {name} is missing a value")
        } else {
            format!("required variable {name} is missing a value: {message}")
        }
    }
}

/// What a substitution used, for origins and warnings.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    /// Every variable looked up, in order of first use.
    pub variables: Vec<String>,
    /// Variables used without a default and not set (compose warns about each).
    pub unset: Vec<String>,
}

impl Usage {
    fn used(&mut self, name: &str) {
        if !self.variables.iter().any(|v| v == name) {
            self.variables.push(name.to_string());
        }
    }
}

/// Most nested `${...}` levels followed inside one template (bounds recursion).
const MAX_NESTING: usize = 32;

/// Largest result of one substitution, bytes (bounds `$A$A$A...` amplification).
pub(crate) const MAX_OUTPUT: usize = 1024 * 1024;

/// Substitutes every variable of `template` using `lookup`.
pub(crate) fn substitute(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    usage: &mut Usage,
) -> Result<String, TemplateError> {
    substitute_at(template, lookup, usage, 0)
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

fn substitute_at(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    usage: &mut Usage,
    depth: usize,
) -> Result<String, TemplateError> {
    if depth > MAX_NESTING {
        return Err(TemplateError::Invalid);
    }
    let b = template.as_bytes();
    let mut out = String::with_capacity(template.len());
    let mut i = 0;
    let mut literal_start = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        out.push_str(&template[literal_start..i]);
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(&c) if is_name_start(c) => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && is_name_char(b[end]) {
                    end += 1;
                }
                let name = &template[start..end];
                out.push_str(&plain_lookup(name, lookup, usage));
                i = end;
            }
            Some(b'{') => {
                let close = closing_brace(b, i).ok_or(TemplateError::Invalid)?;
                let content = &template[i + 2..close];
                out.push_str(&braced(content, lookup, usage, depth)?);
                i = close + 1;
            }
            _ => return Err(TemplateError::Invalid),
        }
        literal_start = i;
        if out.len() > MAX_OUTPUT {
            return Err(TemplateError::TooLong);
        }
    }
    out.push_str(&template[literal_start..]);
    if out.len() > MAX_OUTPUT {
        return Err(TemplateError::TooLong);
    }
    Ok(out)
}

/// Index of the `}` closing the `${` at `start`, counting nested `${`.
fn closing_brace(b: &[u8], start: usize) -> Option<usize> {
    let mut open = 0usize;
    let mut i = start;
    while i < b.len() {
        if b[i] == b'}' {
            open = open.saturating_sub(1);
            if open == 0 {
                return Some(i);
            }
        }
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

fn plain_lookup(name: &str, lookup: &dyn Fn(&str) -> Option<String>, usage: &mut Usage) -> String {
    usage.used(name);
    match lookup(name) {
        Some(v) => v,
        None => {
            if !usage.unset.iter().any(|u| u == name) {
                usage.unset.push(name.to_string());
            }
            String::new()
        }
    }
}

fn braced(
    content: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    usage: &mut Usage,
    depth: usize,
) -> Result<String, TemplateError> {
    let b = content.as_bytes();
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(TemplateError::Invalid);
    }
    let mut n = 1;
    while n < b.len() && is_name_char(b[n]) {
        n += 1;
    }
    let name = &content[..n];
    let rest = &content[n..];
    if rest.is_empty() {
        return Ok(plain_lookup(name, lookup, usage));
    }
    let (colon, op_rest) = match rest.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let op = op_rest.as_bytes().first().copied();
    if !matches!(op, Some(b'-' | b'+' | b'?')) {
        return Err(TemplateError::Invalid);
    }
    let arg = substitute_at(&op_rest[1..], lookup, usage, depth + 1)?;
    usage.used(name);
    let value = lookup(name);
    let present = match (&value, colon) {
        (None, _) => false,
        (Some(v), true) => !v.is_empty(),
        (Some(_), false) => true,
    };
    match op {
        Some(b'-') => Ok(if present {
            value.unwrap_or_default()
        } else {
            arg
        }),
        Some(b'+') => Ok(if present {
            arg
        } else {
            value.unwrap_or_default()
        }),
        _ => {
            if present {
                Ok(value.unwrap_or_default())
            } else {
                Err(TemplateError::Required {
                    name: name.to_string(),
                    message: arg,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn sub(t: &str) -> Result<String, TemplateError> {
        let vars: BTreeMap<&str, &str> = [("FOO", "first"), ("BAR", ""), ("NESTED", "FOO")]
            .into_iter()
            .collect();
        let lookup = move |k: &str| vars.get(k).map(|v| v.to_string());
        substitute(t, &lookup, &mut Usage::default())
    }

    #[test]
    fn forms() {
        assert_eq!(sub("$FOO ${FOO} $$FOO").unwrap(), "first first $FOO");
        assert_eq!(
            sub("${BAR:-d} ${BAR-d} ${NOPE-d} ${NOPE:-d}").unwrap(),
            "d  d d"
        );
        assert_eq!(
            sub("${FOO:+r} ${BAR:+r} ${BAR+r} ${NOPE+r}").unwrap(),
            "r  r "
        );
        assert_eq!(sub("${NOPE:-${FOO}-x}y").unwrap(), "first-xy");
        assert_eq!(sub("${NOPE:-${NOPE2:-deep}}").unwrap(), "deep");
        assert_eq!(sub("${FOO:?boom}").unwrap(), "first");
        assert_eq!(sub("${BAR?boom}").unwrap(), "");
    }

    #[test]
    fn errors() {
        assert_eq!(
            sub("${BAR:?must be set}"),
            Err(TemplateError::Required {
                name: "BAR".into(),
                message: "must be set".into()
            })
        );
        assert_eq!(
            sub("${NOPE?x ${FOO}}"),
            Err(TemplateError::Required {
                name: "NOPE".into(),
                message: "x first".into()
            })
        );
        for bad in ["$1", "cost $", "${}", "${FOO", "${A B}", "${A:x}", "${ A}"] {
            assert_eq!(sub(bad), Err(TemplateError::Invalid), "{bad}");
        }
    }

    #[test]
    fn amplification_is_bounded() {
        let big = "x".repeat(100_000);
        let lookup = move |_: &str| Some(big.clone());
        let t = "$A".repeat(100);
        assert_eq!(
            substitute(&t, &lookup, &mut Usage::default()),
            Err(TemplateError::TooLong)
        );
    }

    #[test]
    fn usage_records_unset() {
        let lookup = |_: &str| None;
        let mut usage = Usage::default();
        assert_eq!(
            substitute("$A ${B} ${C:-x}", &lookup, &mut usage).unwrap(),
            "  x"
        );
        assert_eq!(usage.variables, ["A", "B", "C"]);
        assert_eq!(usage.unset, ["A", "B"]);
    }
}
