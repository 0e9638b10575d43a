//! The candidate README's configuration table must match what the code really reads: every
//! documented variable is read and changes the configuration, every variable the code reads is
//! documented, and the documented defaults are the real ones.

use sample_webapp::config::{self, Config, ConfigError};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

const README: &str = include_str!("../README.md");

/// One row of the README's configuration table.
#[derive(Debug)]
struct Row {
    name: String,
    /// The default when the column holds a single `literal`, else `None` ("unset", "required…").
    literal_default: Option<String>,
    example: String,
}

/// The single `code` span of a table cell, if the cell is exactly one.
fn code_span(cell: &str) -> Option<String> {
    let inner = cell.trim().strip_prefix('`')?.strip_suffix('`')?;
    (!inner.contains('`')).then(|| inner.to_string())
}

fn documented_rows() -> Vec<Row> {
    let section = README
        .split("\n## Configuration")
        .nth(1)
        .expect("README has a `## Configuration` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows: Vec<Row> = section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert!(
                cells.len() >= 4,
                "a configuration row has 4 columns: {line}"
            );
            Row {
                name: code_span(cells[0]).unwrap_or_else(|| panic!("no `NAME` in {line}")),
                literal_default: code_span(cells[1]),
                example: code_span(cells[2]).unwrap_or_else(|| panic!("no `example` in {line}")),
            }
        })
        .collect();
    assert!(
        rows.len() >= 5,
        "the configuration table was not found: {rows:?}"
    );
    rows
}

type Env = BTreeMap<String, String>;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn read(env: &Env) -> Result<Config, ConfigError> {
    config::from_env(&|name| env.get(name).cloned())
}

/// Names the configuration reader looks up for `env`.
fn names_read(env: &Env) -> BTreeSet<String> {
    let seen = RefCell::new(BTreeSet::new());
    let _ = config::from_env(&|name| {
        seen.borrow_mut().insert(name.to_string());
        env.get(name).cloned()
    });
    let _ = config::listen_port(&|name| {
        seen.borrow_mut().insert(name.to_string());
        env.get(name).cloned()
    });
    seen.into_inner()
}

/// The README's example for `row`, made usable here (a `*_FILE` example becomes a real file).
fn example_value(row: &Row, scratch: &std::path::Path) -> String {
    if row.name.ends_with("_FILE") {
        let path = scratch.join(row.name.to_lowercase());
        std::fs::write(&path, "from-the-file\n").unwrap();
        path.display().to_string()
    } else {
        row.example.clone()
    }
}

#[test]
fn every_variable_the_code_reads_is_documented_and_vice_versa() {
    let documented: BTreeSet<String> = documented_rows().into_iter().map(|r| r.name).collect();
    let scratch = tempfile::tempdir().unwrap();
    let pw = scratch.path().join("pw");
    std::fs::write(&pw, "x").unwrap();
    let mut read_by_code = BTreeSet::new();
    for case in [
        env(&[]),
        env(&[("PGHOST", "db")]),
        env(&[("PGHOST", "db"), ("PGPASSWORD_FILE", pw.to_str().unwrap())]),
        env(&[("DATABASE_URL", "postgres://u:p@db/x")]),
    ] {
        read_by_code.extend(names_read(&case));
    }
    assert_eq!(
        documented, read_by_code,
        "README configuration table vs variables the code reads"
    );
}

#[test]
fn every_documented_variable_changes_the_configuration() {
    let scratch = tempfile::tempdir().unwrap();
    let baseline = env(&[("PGHOST", "baseline-host")]);
    let before = read(&baseline).expect("baseline configuration");
    for row in documented_rows() {
        let mut changed = baseline.clone();
        changed.insert(row.name.clone(), example_value(&row, scratch.path()));
        let after = read(&changed)
            .unwrap_or_else(|e| panic!("README example for {} is rejected: {e}", row.name));
        assert_ne!(
            before, after,
            "setting {}={:?} (the README's example) has no effect",
            row.name, row.example
        );
    }
}

#[test]
fn documented_defaults_are_the_real_defaults() {
    let baseline = env(&[("PGHOST", "baseline-host")]);
    let unset = read(&baseline).unwrap();
    let mut checked = 0;
    for row in documented_rows() {
        let Some(default) = row.literal_default else {
            continue;
        };
        assert_ne!(
            default, row.example,
            "{}: the example should differ from the default",
            row.name
        );
        let mut explicit = baseline.clone();
        explicit.insert(row.name.clone(), default.clone());
        assert_eq!(
            read(&explicit).unwrap(),
            unset,
            "{}={default:?} (the documented default) differs from leaving it unset",
            row.name
        );
        checked += 1;
    }
    assert!(
        checked >= 4,
        "expected literal defaults for PORT, PGPORT, PGUSER, DB_CONNECT_TIMEOUT_SECS"
    );
}

#[test]
fn documented_database_name_default_follows_pguser() {
    let row = documented_rows()
        .into_iter()
        .find(|r| r.name == "PGDATABASE")
        .expect("PGDATABASE documented");
    assert!(row.literal_default.is_none());
    let config = read(&env(&[("PGHOST", "h"), ("PGUSER", "someone")])).unwrap();
    assert_eq!(config.db.dbname, "someone");
}

#[test]
fn readme_has_the_questions_marker_once() {
    assert_eq!(README.matches("<!-- QUESTIONS -->").count(), 1);
}

#[test]
fn readme_does_not_reveal_hidden_scenario_details() {
    let lower = README.to_lowercase();
    for secret in [
        "pause",
        "10 s",
        "10 seconds",
        "nonce",
        "replicas: 2",
        "two replicas",
        "runtime.",
    ] {
        assert!(!lower.contains(secret), "the README mentions {secret:?}");
    }
}

#[test]
fn readme_names_the_table_the_code_creates() {
    assert!(README.contains(&format!(
        "CREATE TABLE IF NOT EXISTS {} (",
        sample_webapp::db::TABLE
    )));
}
