//! Validation of the merged tree against the compose schema's facts (`schema/data.rs`, generated
//! from the compose-spec JSON schema by `tools/gen_schema.py`): unknown keys and wrong types are
//! located errors; near misses get a "did you mean" hint. Every problem is reported, not the first.

mod data;

use crate::node::{Node, NodeKind};
use assay_core::Diagnostic;

/// Pattern of a `patternProperties` key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pat {
    /// `^x-`
    Extension,
    /// `^[a-zA-Z0-9._-]+$`
    Name,
    /// `.+` / `^.+$`
    NonEmpty,
    /// `^[a-z]+$`
    Lower,
}

impl Pat {
    fn matches(self, key: &str) -> bool {
        match self {
            Pat::Extension => key.starts_with("x-"),
            Pat::Name => {
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            }
            Pat::NonEmpty => !key.is_empty(),
            Pat::Lower => !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase()),
        }
    }
}

/// One schema node (a subset of JSON schema draft-07: what the compose schema uses).
#[derive(Debug)]
pub(crate) struct Sch {
    /// Bit set of accepted types (see the `T_*` constants); 0 accepts any.
    pub types: u8,
    pub props: &'static [(&'static str, &'static Sch)],
    pub patterns: &'static [(Pat, &'static Sch)],
    pub additional_allowed: bool,
    pub additional: Option<&'static Sch>,
    pub items: Option<&'static Sch>,
    pub one_of: &'static [&'static Sch],
    pub reference: Option<&'static Sch>,
    pub required: &'static [&'static str],
    pub enums: &'static [&'static str],
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub deprecated: bool,
}

const T_STRING: u8 = 1;
const T_INTEGER: u8 = 2;
const T_NUMBER: u8 = 4;
const T_BOOLEAN: u8 = 8;
const T_NULL: u8 = 16;
const T_OBJECT: u8 = 32;
const T_ARRAY: u8 = 64;

/// Validates a whole project tree; appends one diagnostic per problem.
pub(crate) fn validate(root: &Node, diags: &mut Vec<Diagnostic>) {
    check(root, &data::ROOT, "", diags);
}

/// The schema of a service (for callers that validate one service, e.g. extends).
pub(crate) fn node_type_bits(node: &Node) -> u8 {
    match &node.kind {
        NodeKind::Str(_) => T_STRING,
        NodeKind::Int(_) => T_INTEGER | T_NUMBER,
        NodeKind::Float(f) if f.fract() == 0.0 && f.is_finite() => T_INTEGER | T_NUMBER,
        NodeKind::Float(_) => T_NUMBER,
        NodeKind::Bool(_) => T_BOOLEAN,
        NodeKind::Null => T_NULL,
        NodeKind::Map(_) => T_OBJECT,
        NodeKind::Seq(_) => T_ARRAY,
    }
}

/// Whether `node`'s type is one `sch` can accept (looking through references and oneOf).
fn accepts(sch: &Sch, node: &Node) -> bool {
    if let Some(r) = sch.reference {
        if !accepts(r, node) {
            return false;
        }
    }
    if !sch.one_of.is_empty() && !sch.one_of.iter().any(|b| accepts(b, node)) {
        return false;
    }
    sch.types == 0 || sch.types & node_type_bits(node) != 0
}

fn type_names(bits: u8) -> String {
    let mut names = Vec::new();
    for (bit, name) in [
        (T_STRING, "string"),
        (T_INTEGER, "integer"),
        (T_NUMBER, "number"),
        (T_BOOLEAN, "boolean"),
        (T_NULL, "null"),
        (T_OBJECT, "mapping"),
        (T_ARRAY, "list"),
    ] {
        if bits & bit != 0 && !(bit == T_INTEGER && bits & T_NUMBER != 0) {
            names.push(name);
        }
    }
    match names.len() {
        0 => "value".into(),
        1 => names[0].to_string(),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {}", names.join(", "), last)
        }
    }
}

fn expected_bits(sch: &Sch) -> u8 {
    let mut bits = sch.types;
    if let Some(r) = sch.reference {
        bits |= expected_bits(r);
    }
    for b in sch.one_of {
        bits |= expected_bits(b);
    }
    bits
}

fn with_article(noun: &str) -> String {
    if noun == "null" {
        return "null".into();
    }
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {noun}"),
        _ => format!("a {noun}"),
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The closest candidate to `word`, if it is a plausible typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn check(node: &Node, sch: &Sch, path: &str, diags: &mut Vec<Diagnostic>) {
    if let Some(r) = sch.reference {
        check(node, r, path, diags);
    }
    if !sch.one_of.is_empty() {
        let candidates: Vec<&Sch> = sch
            .one_of
            .iter()
            .copied()
            .filter(|b| accepts(b, node))
            .collect();
        if candidates.is_empty() {
            diags.push(
                Diagnostic::error(format!(
                    "{} must be a {}, not {}",
                    display_path(path),
                    type_names(expected_bits(sch)),
                    with_article(node.type_name())
                ))
                .at(node.location.clone()),
            );
            return;
        }
        let mut first_errors = None;
        for branch in &candidates {
            let mut local = Vec::new();
            check(node, branch, path, &mut local);
            if !local.iter().any(Diagnostic::is_error) {
                diags.extend(local);
                first_errors = None;
                break;
            }
            first_errors.get_or_insert(local);
        }
        if let Some(errors) = first_errors {
            diags.extend(errors);
            return;
        }
    }
    if sch.deprecated {
        diags.push(
            Diagnostic::warning(format!(
                "{} is obsolete and ignored by Docker Compose",
                display_path(path)
            ))
            .at(node.location.clone()),
        );
    }
    if sch.types != 0 && sch.types & node_type_bits(node) == 0 {
        diags.push(
            Diagnostic::error(format!(
                "{} must be a {}, not {}",
                display_path(path),
                type_names(sch.types),
                with_article(node.type_name())
            ))
            .at(node.location.clone()),
        );
        return;
    }
    if !sch.enums.is_empty() {
        if let Some(text) = node.scalar_text() {
            if !sch.enums.contains(&text.as_str()) {
                let mut d = Diagnostic::error(format!(
                    "{} must be one of: {}",
                    display_path(path),
                    sch.enums.join(", ")
                ))
                .at(node.location.clone());
                if let Some(s) = did_you_mean(&text, sch.enums.iter().copied()) {
                    d = d.with_hint(format!("did you mean {s:?}?"));
                }
                diags.push(d);
            }
        }
    }
    if let NodeKind::Int(_) | NodeKind::Float(_) = node.kind {
        let v = match node.kind {
            NodeKind::Int(i) => i as f64,
            NodeKind::Float(f) => f,
            _ => 0.0,
        };
        if sch.minimum.is_some_and(|m| v < m) || sch.maximum.is_some_and(|m| v > m) {
            diags.push(
                Diagnostic::error(format!(
                    "{} must be between {} and {}",
                    display_path(path),
                    sch.minimum.map_or("-inf".to_string(), |m| m.to_string()),
                    sch.maximum.map_or("inf".to_string(), |m| m.to_string())
                ))
                .at(node.location.clone()),
            );
        }
    }
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                let p = child(path, &key.name);
                if let Some((_, s)) = sch.props.iter().find(|(k, _)| *k == key.name) {
                    check(value, s, &p, diags);
                } else if let Some((_, s)) =
                    sch.patterns.iter().find(|(pat, _)| pat.matches(&key.name))
                {
                    check(value, s, &p, diags);
                } else if let Some(s) = sch.additional {
                    check(value, s, &p, diags);
                } else if !sch.additional_allowed
                    && (sch.types & T_OBJECT != 0 || !sch.props.is_empty())
                {
                    let mut d = Diagnostic::error(format!(
                        "{}: additional property {:?} is not allowed",
                        display_path(path),
                        key.name
                    ))
                    .at(key.location.clone());
                    if let Some(s) = did_you_mean(&key.name, sch.props.iter().map(|(k, _)| *k)) {
                        d = d.with_hint(format!("did you mean {s:?}?"));
                    } else if sch.props.is_empty()
                        && sch.patterns.iter().any(|(p, _)| matches!(p, Pat::Name))
                    {
                        d = d.with_hint("names may only contain letters, digits, '.', '_' and '-'");
                    }
                    diags.push(d);
                }
            }
            for req in sch.required {
                if !entries.iter().any(|(k, _)| k.name == *req) {
                    diags.push(
                        Diagnostic::error(format!(
                            "{}: missing required property {:?}",
                            display_path(path),
                            req
                        ))
                        .at(node.location.clone()),
                    );
                }
            }
        }
        NodeKind::Seq(items) => {
            if let Some(s) = sch.items {
                for (i, item) in items.iter().enumerate() {
                    check(item, s, &format!("{path}[{i}]"), diags);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_documents, Budget};

    fn errors(src: &str) -> Vec<String> {
        let (docs, d) = parse_documents(src, "c.yaml", Budget::default());
        assert!(d.is_empty());
        let mut diags = Vec::new();
        validate(&docs[0], &mut diags);
        diags.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn valid_file_has_no_errors() {
        let src = "services:\n  web:\n    image: x\n    ports: ['8080:80', 9000]\n    environment: {A: 1, B: null}\n    depends_on: {db: {condition: service_healthy}}\n    privileged: 'true'\n  db:\n    build: .\nvolumes:\n  data:\n";
        assert_eq!(errors(src), Vec::<String>::new());
    }

    #[test]
    fn unknown_keys_and_types_are_located_with_hints() {
        let src = "services:\n  web:\n    image: x\n    restrat: always\n    ports: 8080\n    depends_on: {db: {condition: service_helthy}}\nnetwork:\n  a: {}\n";
        let e = errors(src);
        assert_eq!(e.len(), 4, "{e:?}");
        assert_eq!(e[0], "c.yaml:4:5: services.web: additional property \"restrat\" is not allowed (hint: did you mean \"restart\"?)");
        assert_eq!(
            e[1],
            "c.yaml:5:12: services.web.ports must be a list, not an integer"
        );
        assert!(
            e[2].starts_with("c.yaml:6:34: services.web.depends_on.db.condition must be one of"),
            "{}",
            e[2]
        );
        assert!(e[2].contains("did you mean \"service_healthy\"?"));
        assert!(e[3].contains("did you mean \"networks\"?"), "{}", e[3]);
    }
}
