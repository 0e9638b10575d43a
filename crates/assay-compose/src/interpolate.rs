//! Stage 2: interpolation of every string value of a parsed file (keys are left alone, as in
//! compose-go). Errors and "variable is not set" warnings are located at the value.

use crate::model::Located;
use crate::node::{Node, NodeKind, Origin};
use crate::template::{self, TemplateError, Usage};
use assay_core::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};

/// The variables interpolation may use: the submission's `.env` and the caller's overrides.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variables {
    pub values: BTreeMap<String, Located<String>>,
    /// Names whose value came from a `.env` file (and not from an override).
    pub from_dotenv: BTreeSet<String>,
}

impl Variables {
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).map(|v| v.value.clone())
    }
}

/// What interpolation has seen across a project's files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    /// Unset variables already warned about (each is warned about once).
    pub warned: BTreeSet<String>,
    /// Every variable a value used.
    pub used: BTreeSet<String>,
}

/// Interpolates `node` in place.
pub(crate) fn interpolate(
    node: &mut Node,
    vars: &Variables,
    seen: &mut Seen,
    diags: &mut Vec<Diagnostic>,
) {
    let mut path = String::new();
    let mut budget = MAX_TOTAL;
    walk(node, vars, seen, diags, &mut path, &mut budget);
}

/// Most bytes interpolation may produce in one file, all values together.
const MAX_TOTAL: usize = 16 * 1024 * 1024;

fn walk(
    node: &mut Node,
    vars: &Variables,
    seen: &mut Seen,
    diags: &mut Vec<Diagnostic>,
    path: &mut String,
    budget: &mut usize,
) {
    match &mut node.kind {
        NodeKind::Str(s) => {
            if !s.contains('$') {
                return;
            }
            let lookup = |k: &str| vars.get(k);
            let mut usage = Usage::default();
            match template::substitute(s, &lookup, &mut usage) {
                Ok(v) if v.len() > *budget => {
                    diags.push(
                        Diagnostic::error(format!(
                            "interpolation produces more than {MAX_TOTAL} bytes in this file"
                        ))
                        .at(node.location.clone()),
                    );
                    *budget = 0;
                    *s = String::new();
                }
                Ok(v) => {
                    *budget -= v.len();
                    seen.used.extend(usage.variables.iter().cloned());
                    for name in &usage.unset {
                        if seen.warned.insert(name.clone()) {
                            diags.push(
                                Diagnostic::warning(format!("The {name:?} variable is not set. Defaulting to a blank string."))
                                    .at(node.location.clone()),
                            );
                        }
                    }
                    if !usage.variables.is_empty() {
                        let from_dotenv = usage
                            .variables
                            .iter()
                            .filter(|v| vars.from_dotenv.contains(*v))
                            .cloned()
                            .collect();
                        node.origin = Origin::Interpolated {
                            variables: usage.variables,
                            from_dotenv,
                        };
                    }
                    *s = v;
                }
                Err(TemplateError::Invalid) => {
                    diags.push(
                        Diagnostic::error(format!(
                            "invalid interpolation format for {path}: {s:?}"
                        ))
                        .at(node.location.clone())
                        .with_hint("You may need to escape any $ with another $."),
                    );
                }
                Err(TemplateError::TooLong) => {
                    diags.push(
                        Diagnostic::error(format!(
                            "interpolating {path} gives more than {} bytes",
                            crate::template::MAX_OUTPUT
                        ))
                        .at(node.location.clone()),
                    );
                    *s = String::new();
                }
                Err(TemplateError::Required { name, message }) => {
                    diags.push(
                        Diagnostic::error(format!(
                            "error while interpolating {path}: {}",
                            TemplateError::required_text(&name, &message)
                        ))
                        .at(node.location.clone()),
                    );
                }
            }
        }
        NodeKind::Map(entries) => {
            let len = path.len();
            for (k, v) in entries.iter_mut() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.name);
                walk(v, vars, seen, diags, path, budget);
                path.truncate(len);
            }
        }
        NodeKind::Seq(items) => {
            let len = path.len();
            for (i, v) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(v, vars, seen, diags, path, budget);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
