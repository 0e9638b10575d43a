//! `assay images` and `assay gc`: the commands that work on the Docker daemon itself.

use super::with_engine;
use crate::error::Error;
use crate::exit::Exit;
use assay_core::Rubric;
use std::time::Duration;

/// `assay images`.
pub(super) fn run(rubric: &Rubric, offline: bool, rebuild: bool) -> Result<Exit, Error> {
    with_engine(|engine| async move {
        let progress = |line: &str| eprintln!("assay images: {line}");
        match crate::images::prepare(&engine, rubric, offline, rebuild, true, &progress).await {
            Ok(crate::images::Prepared { report, nominal }) => {
                for w in &report.warnings {
                    eprintln!("warning: {w}");
                }
                for i in &report.images {
                    println!("{i}");
                }
                for n in &nominal {
                    println!("{}", nominal_text(n));
                }
                Ok(Exit::Pass)
            }
            Err(e) => Err(Error::host(e.to_string())),
        }
    })
}

/// One line of `assay images` for a Postgres image's nominal readiness: the kept figure and
/// this run's samples.
fn nominal_text(n: &crate::images::NominalLine) -> String {
    let secs = |d: &Option<std::time::Duration>| {
        d.map_or_else(
            || "not ready".into(),
            |d| format!("{:.1} s", d.as_secs_f64()),
        )
    };
    let what = match (&n.measured, &n.warning) {
        (Some(m), _) => {
            let samples: Vec<String> = m.samples.iter().map(secs).collect();
            format!(
                "{} (this run's samples: {}; the fastest ever seen is kept)",
                secs(&m.nominal),
                if samples.is_empty() {
                    "none".into()
                } else {
                    samples.join(", ")
                }
            )
        }
        (None, Some(w)) => w.clone(),
        (None, None) => "the image is not present".into(),
    };
    format!("nominal db readiness of {}: {what}", n.tags.join(", "))
}

/// `assay gc`: sweep what dead runs left behind.
pub(super) fn gc() -> Result<Exit, Error> {
    // Work dirs of a killed assay (SIGKILL runs no destructor). Older than any one evaluation
    // can take (the runtime deadline is at most an hour), so a live one is never touched.
    let dirs =
        assay_intake::sweep_stale_work_dirs(&std::env::temp_dir(), Duration::from_secs(6 * 3600));
    if dirs > 0 {
        println!(
            "removed {dirs} stale work dirs from {}",
            std::env::temp_dir().display()
        );
    }
    with_engine(|engine| async move {
        match assay_runner::gc(&engine).await {
            Ok(r) => {
                println!(
                    "removed {} containers, {} networks, {} volumes of {} dead runs{}",
                    r.containers,
                    r.networks,
                    r.volumes,
                    r.runs.len(),
                    if r.live_runs.is_empty() {
                        String::new()
                    } else {
                        format!("; {} live runs left alone", r.live_runs.len())
                    }
                );
                for e in &r.errors {
                    eprintln!("warning: {e}");
                }
                // Each error is on its own warning line: exit 3 without another line.
                Ok(if r.errors.is_empty() {
                    Exit::Pass
                } else {
                    Exit::CouldNotGrade
                })
            }
            Err(e) => Err(Error::host(e.to_string())),
        }
    })
}
