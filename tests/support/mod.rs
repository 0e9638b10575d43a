//! Helpers for end-to-end tests: run the real `assay` binary, build zips byte by byte.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `assay` binary with `args`, no colour, a clean environment for the variables
/// assay reads.
pub fn assay(args: &[&str]) -> Output {
    assay_with_env(args, &[])
}

/// [`assay`] with extra environment variables (e.g. `DOCKER_HOST`).
pub fn assay_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_assay"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("DB_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run assay")
}

/// The one report of `--format json` (always an array) for a single submission.
pub fn single_report(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("not JSON: {e}: {}\n{}", stdout(o), stderr(o)));
    let mut reports = match v {
        serde_json::Value::Array(a) => a,
        other => panic!("--format json prints an array, got {other}"),
    };
    assert_eq!(
        reports.len(),
        1,
        "one submission, one report: {}",
        stderr(o)
    );
    reports.remove(0)
}

/// Zeroes what differs from run to run: the durations of the report and of each check.
pub fn without_durations(report: &serde_json::Value) -> serde_json::Value {
    let mut r = report.clone();
    r["duration_ms"] = 0.into();
    if let Some(checks) = r["checks"].as_array_mut() {
        for c in checks {
            c["duration_ms"] = 0.into();
        }
    }
    r
}

/// Checks `report` against the JSON Schema kept in the repo (`schemas/report.schema.json`),
/// panicking with every violation and where it is.
pub fn assert_matches_schema(report: &serde_json::Value, what: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("schemas/report.schema.json"))
            .expect("the schema file"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the report does not match schemas/report.schema.json:\n{}",
        errors.join("\n")
    );
}

/// Copies a folder tree (files and folders; tests' fixtures hold no links).
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(e.file_name()));
        } else {
            std::fs::copy(&p, dst.join(e.file_name())).unwrap();
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A zip written by hand: stored (uncompressed) entries with whatever names the test wants,
/// including names no well-behaved zip writer would produce.
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: unix
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            h.extend_from_slice(&0u32.to_le_bytes()); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra len
            if central {
                h.extend_from_slice(&0u16.to_le_bytes()); // comment len
                h.extend_from_slice(&0u16.to_le_bytes()); // disk
                h.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
                h.extend_from_slice(&((0o100644u32) << 16).to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x04034b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x02014b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

/// Every file and folder under `dir`, for "nothing written outside" assertions.
pub fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p.clone());
                }
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The check `id` of a JSON report.
pub fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in the report"))
}

/// `assay evaluate --static --format json PATH`: the one report.
pub fn static_report(path: &Path) -> serde_json::Value {
    let o = assay(&[
        "evaluate",
        "--static",
        "--format",
        "json",
        path.to_str().expect("UTF-8 path"),
    ]);
    single_report(&o)
}

/// The reports of a `--format json` output (always an array).
pub fn json_reports(out: &str, err: &str) -> Vec<serde_json::Value> {
    match serde_json::from_str(out) {
        Ok(serde_json::Value::Array(a)) => a,
        Ok(other) => panic!("--format json prints an array, got {other}\n{err}"),
        Err(e) => panic!("{e}: {out}\n{err}"),
    }
}
