//! Parity with the installed `docker-compose` v1 (`docker-compose -f FILE config`), used only as
//! an oracle: on every awesome-compose sample v1 accepts, the services, images, environment,
//! ports and volumes after interpolation must be the same. v1 reads the process environment for
//! interpolation, so it runs with a cleared environment (PATH only), like assay's loader.
//! v1's output is itself a compose file; it is read back with our loader to compare models.

mod common;

use assay_compose::{Project, Service};
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn v1_available() -> bool {
    let ok = Command::new("docker-compose")
        .arg("version")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        // v1 is an optional oracle (not Docker itself): skipped with a notice, even in CI
        eprintln!("notice: skipping parity, docker-compose v1 is not installed");
    }
    ok
}

type Summary = BTreeMap<String, String>;

/// The comparable facts of a service, one line per fact.
fn summary(svc: &Service, home: &str) -> Summary {
    let mut m = Summary::new();
    m.insert(
        "image".into(),
        format!("{:?}", svc.image.as_ref().map(|i| &i.value)),
    );
    for (k, v) in &svc.environment {
        if let Some(v) = &v.value {
            m.insert(format!("env {k}"), v.clone());
        }
    }
    let mut ports: Vec<String> = svc
        .ports
        .iter()
        .map(|p| {
            format!(
                "{:?}:{:?}:{}/{}",
                p.value.host_ip, p.value.published, p.value.target, p.value.protocol
            )
        })
        .collect();
    ports.sort();
    m.insert("ports".into(), ports.join(", "));
    let mut vols: Vec<String> = svc
        .volumes
        .iter()
        .map(|v| {
            let v = &v.value;
            let mut src = v
                .host_path
                .as_ref()
                .map(|p| p.display().to_string())
                .or(v.source.clone());
            // v1 expands `~` with the grader's home; assay keeps it as written (no grader data)
            if let Some(rest) = src
                .as_deref()
                .and_then(|s| s.strip_prefix(&format!("{home}/")))
            {
                src = Some(format!("~/{rest}"));
            }
            format!(
                "{}:{:?}:{}:ro={}",
                v.kind.as_str(),
                src,
                v.target,
                v.read_only
            )
        })
        .collect();
    vols.sort();
    m.insert("volumes".into(), vols.join(", "));
    m
}

fn services(p: &Project, home: &str) -> BTreeMap<String, Summary> {
    p.services
        .iter()
        .map(|(k, s)| (k.clone(), summary(s, home)))
        .collect()
}

/// Copies a sample into a temp dir and creates its missing build contexts (the corpus holds
/// only compose and env files; v1 refuses a build path that does not exist).
fn prepared_copy(dir: &Path, name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join(dir.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    copy_dir(dir, &copy);
    if let Some(p) = load(&copy, name).project {
        for svc in p.services.values() {
            if let Some(ctx) = svc.build.as_ref().and_then(|b| b.context_path.as_ref()) {
                if ctx.starts_with(&copy) && !ctx.exists() {
                    std::fs::create_dir_all(ctx).unwrap();
                }
            }
        }
    }
    (tmp, copy)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn same_model_as_docker_compose_v1_where_v1_accepts_the_file() {
    let Some(corpora) = corpora() else { return };
    if !v1_available() {
        return;
    }
    let mut compared = Vec::new();
    let mut rejected = Vec::new();
    let mut differences = Vec::new();
    let home = "/root";
    for (orig, name) in awesome_compose_files(&corpora) {
        let sample = orig.file_name().unwrap().to_string_lossy().into_owned();
        let (_tmp, dir) = prepared_copy(&orig, &name);
        let out = Command::new("docker-compose")
            .args(["-f", &name, "config"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .expect("docker-compose runs");
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            rejected.push(format!("{sample}: {why}"));
            continue;
        }
        let ours = load(&dir, &name)
            .project
            .expect("our loader accepts every sample");
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("compose.yaml"), &out.stdout).unwrap();
        let theirs = load(tmp.path(), "compose.yaml");
        assert!(
            errors(&theirs).is_empty(),
            "{sample}: v1 output does not load: {:#?}",
            theirs.diagnostics
        );
        let (a, b) = (
            services(&ours, home),
            services(&theirs.project.unwrap(), home),
        );
        if a != b {
            differences.push(format!("{sample}:\n  ours: {a:?}\n  v1:   {b:?}"));
        }
        compared.push(sample);
    }
    eprintln!(
        "parity: compared {} samples; v1 rejected {}:",
        compared.len(),
        rejected.len()
    );
    for r in &rejected {
        eprintln!("  {r}");
    }
    assert!(
        compared.len() >= 10,
        "too few samples compared: {compared:?}"
    );
    assert!(
        differences.is_empty(),
        "differences from docker-compose v1:\n{}",
        differences.join("\n")
    );
}
