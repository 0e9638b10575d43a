//! Loading rubrics: the built-in `rubrics/default.yaml` (embedded), or a team's own file.
//!
//! Rubrics are parsed with `serde-saphyr` (strict booleans, duplicate keys as errors, input
//! budgets, errors with line and column) into the typed [`assay_core::Rubric`], whose structs
//! deny unknown fields, so a misspelt key is an error rather than a silently ignored setting.

use crate::{CheckId, QuestionKind, Rubric};
use std::path::Path;

/// The default rubric, embedded in the binary.
pub const DEFAULT_RUBRIC: &str = include_str!("../../../rubrics/default.yaml");

/// A rubric that cannot be used. Display is one line naming the place.
#[derive(Debug, thiserror::Error)]
pub enum RubricError {
    #[error("cannot read rubric {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{message}")]
    Invalid { path: String, message: String },
}

/// The built-in rubric.
pub fn default_rubric() -> Rubric {
    parse(DEFAULT_RUBRIC, "rubrics/default.yaml").expect("the embedded default rubric is valid")
}

/// Reads and validates a rubric file.
pub fn load(path: &Path) -> Result<Rubric, RubricError> {
    let meta = std::fs::metadata(path).map_err(|source| RubricError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if meta.len() > 1024 * 1024 {
        return Err(RubricError::Invalid {
            path: path.display().to_string(),
            message: " larger than 1 MiB".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| RubricError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses rubric text; `name` is used in error messages.
pub fn parse(text: &str, name: &str) -> Result<Rubric, RubricError> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_nodes: 100_000,
            max_total_scalar_bytes: 1024 * 1024,
        },
    };
    let rubric: Rubric =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| RubricError::Invalid {
            path: name.to_string(),
            message: located(&e.to_string()),
        })?;
    validate(&rubric).map_err(|message| RubricError::Invalid {
        path: name.to_string(),
        message: format!(" {message}"),
    })?;
    Ok(rubric)
}

/// serde-saphyr reports `error: line L column C: message` followed by a source snippet; we keep
/// the first line and shape it as `L:C: message` so the rubric error reads `file:L:C: message`
/// (the overrides file's errors too).
pub fn located(s: &str) -> String {
    let first = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML");
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(after) = rest.strip_prefix("line ") {
        if let Some((line, after)) = after.split_once(" column ") {
            if let Some((col, msg)) = after.split_once(": ") {
                if line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok() {
                    return format!("{line}:{col}: {msg}");
                }
            }
        }
    }
    rest.to_string()
}

/// Checks what serde cannot: check ids exist, question ids are unique, numbers are sane.
fn validate(r: &Rubric) -> Result<(), String> {
    for id in r.checks.keys() {
        if CheckId::parse(id).is_none() {
            let known: Vec<&str> = CheckId::ALL.iter().map(|c| c.as_str()).collect();
            let hint = known
                .iter()
                .min_by_key(|k| edit_distance(k, id))
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(format!("checks: unknown check id `{id}`{hint}"));
        }
    }
    for (id, rule) in &r.checks {
        if !(rule.weight.is_finite() && rule.weight >= 0.0) {
            return Err(format!("checks.{id}.weight must be a number >= 0"));
        }
    }
    if !(0.0..=100.0).contains(&r.pass_threshold) {
        return Err("pass_threshold must be between 0 and 100".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for q in &r.questions {
        if !seen.insert(q.id.as_str()) {
            return Err(format!("questions: question id `{}` appears twice", q.id));
        }
    }
    let orchestration = r
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Orchestration)
        .count();
    if orchestration > 1 {
        return Err("questions: at most one question may have kind `orchestration`".into());
    }
    let electives = r
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Elective)
        .count();
    if r.essays.electives_required > electives {
        return Err(format!(
            "essays.electives_required is {} but the rubric has only {electives} elective questions",
            r.essays.electives_required
        ));
    }
    if r.essays.min_words == 0 || r.essays.min_words > 100_000 {
        return Err("essays.min_words must be between 1 and 100000".into());
    }
    if r.runtime.timeout_secs == 0 || r.runtime.timeout_secs > 3600 {
        return Err("runtime.timeout_secs must be between 1 and 3600".into());
    }
    r.limits.validate()?;
    Ok(())
}

/// Levenshtein distance, for "did you mean" hints on short identifiers.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rubric_is_valid_and_complete() {
        let r = default_rubric();
        assert_eq!(r.essays.min_words, 250);
        assert_eq!(r.questions.len(), 5);
        for id in CheckId::ALL {
            let rule = r
                .checks
                .get(id.as_str())
                .unwrap_or_else(|| panic!("{id} missing from default rubric"));
            assert_eq!(
                rule.required,
                id.required_by_default(),
                "{id}: default rubric disagrees with the spec"
            );
        }
    }

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let text = DEFAULT_RUBRIC.replace("pass_threshold: 70", "pass_treshold: 70");
        let err = parse(&text, "r.yaml").unwrap_err().to_string();
        assert!(err.contains("pass_treshold"), "{err}");
        assert!(
            err.starts_with("r.yaml:7:1: unknown field `pass_treshold`"),
            "no location in: {err}"
        );
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let text = DEFAULT_RUBRIC.replace(
            "pass_threshold: 70",
            "pass_threshold: 70\npass_threshold: 10",
        );
        let err = parse(&text, "r.yaml").unwrap_err().to_string();
        assert!(err.to_lowercase().contains("duplicate"), "{err}");
    }

    #[test]
    fn unknown_check_id_gets_a_hint() {
        let text = DEFAULT_RUBRIC.replace("compose.db-volume:", "compose.db-volumes:");
        let err = parse(&text, "r.yaml").unwrap_err().to_string();
        assert!(err.contains("did you mean `compose.db-volume`"), "{err}");
    }

    #[test]
    fn yes_is_not_a_boolean() {
        let text = DEFAULT_RUBRIC.replace(
            "required: true\n  cold_start",
            "required: yes\n  cold_start",
        );
        assert!(parse(&text, "r.yaml").is_err());
    }
}
