//! Just enough of a Dockerfile to know what the final image is built from and whether it
//! declares a HEALTHCHECK.

use std::collections::HashMap;

/// What grading reads from a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DockerfileFacts {
    /// The base image of the final stage, following `FROM <earlier stage>` chains.
    pub final_base: Option<String>,
    /// The `HEALTHCHECK` instruction in effect for the final stage (text after the keyword).
    pub healthcheck: Option<String>,
}

struct Stage {
    name: Option<String>,
    base: String,
    healthcheck: Option<String>,
}

/// Reads the instructions of a Dockerfile (line continuations, comments, global `ARG`
/// defaults in `FROM`).
pub(crate) fn analyze(text: &str) -> DockerfileFacts {
    let mut stages: Vec<Stage> = Vec::new();
    let mut global_args: HashMap<String, String> = HashMap::new();
    for instruction in instructions(text) {
        let (keyword, args) = match instruction.split_once(char::is_whitespace) {
            Some((k, a)) => (k.to_ascii_uppercase(), a.trim().to_string()),
            None => (instruction.to_ascii_uppercase(), String::new()),
        };
        match keyword.as_str() {
            "ARG" if stages.is_empty() => {
                for decl in args.split_whitespace() {
                    let (k, v) = decl.split_once('=').unwrap_or((decl, ""));
                    global_args.insert(k.to_string(), v.trim_matches('"').to_string());
                }
            }
            "FROM" => {
                let words: Vec<&str> = args
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                let Some(image) = words.first() else { continue };
                let name = match words.as_slice() {
                    [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => None,
                };
                stages.push(Stage {
                    name,
                    base: substitute(image, &global_args),
                    healthcheck: None,
                });
            }
            "HEALTHCHECK" => {
                if let Some(stage) = stages.last_mut() {
                    stage.healthcheck = Some(args);
                }
            }
            _ => {}
        }
    }
    let mut facts = DockerfileFacts::default();
    let Some(mut idx) = stages.len().checked_sub(1) else {
        return facts;
    };
    // Follow `FROM stage` chains, at most once per stage.
    for _ in 0..stages.len() {
        if facts.healthcheck.is_none() {
            facts.healthcheck = stages[idx].healthcheck.clone();
        }
        let base = stages[idx].base.to_ascii_lowercase();
        match stages[..idx]
            .iter()
            .rposition(|s| s.name.as_deref() == Some(base.as_str()))
        {
            Some(earlier) => idx = earlier,
            None => break,
        }
    }
    facts.final_base = Some(stages[idx].base.clone());
    facts
}

/// Logical instructions: comments dropped, `\` continuations joined.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        // Comment lines and blank lines are skipped, also inside a continuation (as BuildKit does).
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// `$X`, `${X}`, `${X:-d}` with the global ARG defaults.
fn substitute(s: &str, args: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            let expr = &inner[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            let value = args
                .get(name)
                .filter(|v| !v.is_empty())
                .map(String::as_str)
                .or(default)
                .unwrap_or("");
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(args.get(&after[..len]).map(String::as_str).unwrap_or(""));
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stage_base_and_healthcheck() {
        let f = analyze("# syntax=docker/dockerfile:1\nARG PG=16\nFROM --platform=linux/amd64 postgres:${PG}-alpine AS base\nHEALTHCHECK CMD pg_isready\nFROM base\nCOPY init.sql \\\n  /docker-entrypoint-initdb.d/\n");
        assert_eq!(f.final_base.as_deref(), Some("postgres:16-alpine"));
        assert_eq!(f.healthcheck.as_deref(), Some("CMD pg_isready"));
        let f = analyze("FROM rust:1.80 AS build\nRUN cargo build\nFROM debian:bookworm-slim\n");
        assert_eq!(f.final_base.as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(f.healthcheck, None);
        assert_eq!(analyze("").final_base, None);
        // A stage naming itself cannot loop.
        assert_eq!(analyze("FROM a AS a\n").final_base.as_deref(), Some("a"));
    }
}
