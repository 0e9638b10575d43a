//! JUnit XML as CI systems read it: one test suite per submission, one test case per check id
//! with the time of the step that decided it, plus a `verdict` test case that fails exactly
//! when the submission FAILs (a FAIL by score alone has no failed check).
//!
//! - A required check that failed is a `<failure>`.
//! - An optional check that failed does not fail the suite: the test case carries the
//!   properties `optional=true`, `outcome=fail` and the evidence in `<system-out>`.
//! - A skipped check is `<skipped>`.
//! - A check a reviewer credited or waived is not a failure: properties `override`,
//!   `override_by`, `override_reason` and `outcome` (what assay found), the override in
//!   `<system-out>`; the suite has `verdict_before_overrides`.
//! - A submission assay could not grade is one test case with an `<error>`.

use super::digest::{CheckDigest, DigestStatus, DigestVerdict, Entry};
use assay_core::display::{xml_attr, xml_text};
use std::fmt::Write;

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Everything a check's failure says: evidence, place, details.
fn failure_text(c: &CheckDigest) -> String {
    let mut text = c.evidence.clone();
    if let Some(l) = &c.location {
        let _ = write!(text, "\nat {l}");
    }
    for d in &c.details {
        let _ = write!(text, "\n{d}");
    }
    text
}

pub fn render_junit(entries: &[Entry]) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors, mut skipped, mut total_ms) = (0, 0, 0, 0, 0);
    for entry in entries {
        match entry {
            Entry::Graded(d) => {
                let failed_required: Vec<&str> = d
                    .checks
                    .iter()
                    .filter(|c| c.failed() && c.required)
                    .map(|c| c.id.as_str())
                    .collect();
                let verdict_fails = d.verdict == DigestVerdict::Fail;
                let n_fail = failed_required.len() + usize::from(verdict_fails);
                let n_skip = d
                    .checks
                    .iter()
                    .filter(|c| c.status == DigestStatus::Skipped && c.overridden.is_none())
                    .count();
                let n_tests = d.checks.len() + 1;
                tests += n_tests;
                failures += n_fail;
                skipped += n_skip;
                total_ms += d.duration_ms;
                let _ = writeln!(
                    suites,
                    "  <testsuite name=\"{}\" tests=\"{n_tests}\" failures=\"{n_fail}\" errors=\"0\" skipped=\"{n_skip}\" time=\"{}\">",
                    xml_attr(&d.submission),
                    secs(d.duration_ms)
                );
                let verdict = match d.verdict {
                    DigestVerdict::Pass => "pass",
                    DigestVerdict::Fail => "fail",
                };
                let _ = writeln!(
                    suites,
                    "    <properties><property name=\"verdict\" value=\"{verdict}\"/><property name=\"score\" value=\"{:.1}\"/><property name=\"threshold\" value=\"{:.1}\"/><property name=\"mode\" value=\"{}\"/><property name=\"schema_version\" value=\"{}\"/>{}</properties>",
                    d.score,
                    d.threshold,
                    xml_attr(&d.mode),
                    d.schema_version,
                    match d.verdict_before_overrides {
                        Some(DigestVerdict::Pass) => "<property name=\"verdict_before_overrides\" value=\"pass\"/>",
                        Some(DigestVerdict::Fail) => "<property name=\"verdict_before_overrides\" value=\"fail\"/>",
                        None => "",
                    }
                );
                for c in &d.checks {
                    let _ = write!(
                        suites,
                        "    <testcase classname=\"assay.{}\" name=\"{}\" time=\"{}\"",
                        xml_attr(c.family()),
                        xml_attr(&c.id),
                        secs(c.duration_ms)
                    );
                    if let Some(o) = &c.overridden {
                        let found = match c.status {
                            DigestStatus::Pass => "pass",
                            DigestStatus::Fail => "fail",
                            DigestStatus::Skipped => "skipped",
                        };
                        let _ = writeln!(
                            suites,
                            "><properties><property name=\"override\" value=\"{}\"/><property name=\"override_by\" value=\"{}\"/><property name=\"override_reason\" value=\"{}\"/><property name=\"outcome\" value=\"{found}\"/></properties><system-out>{} by a reviewer ({}): {}; assay found: {}</system-out></testcase>",
                            o.action.past(),
                            xml_attr(&o.by),
                            xml_attr(&o.reason),
                            o.action.past(),
                            xml_text(&o.by),
                            xml_text(&o.reason),
                            xml_text(&failure_text(c))
                        );
                        continue;
                    }
                    match (c.status, c.required) {
                        (DigestStatus::Pass, _) => suites.push_str("/>\n"),
                        (DigestStatus::Fail, true) => {
                            let _ = writeln!(
                                suites,
                                "><failure type=\"required\" message=\"{}\">{}</failure></testcase>",
                                xml_attr(&c.evidence),
                                xml_text(&failure_text(c))
                            );
                        }
                        (DigestStatus::Fail, false) => {
                            let _ = writeln!(
                                suites,
                                "><properties><property name=\"optional\" value=\"true\"/><property name=\"outcome\" value=\"fail\"/></properties><system-out>optional check failed (it does not fail the suite; it costs its points): {}</system-out></testcase>",
                                xml_text(&failure_text(c))
                            );
                        }
                        (DigestStatus::Skipped, _) => {
                            let _ = writeln!(
                                suites,
                                "><skipped message=\"{}\"/></testcase>",
                                xml_attr(&c.evidence)
                            );
                        }
                    }
                }
                let _ = write!(
                    suites,
                    "    <testcase classname=\"assay\" name=\"verdict\" time=\"{}\"",
                    secs(d.duration_ms)
                );
                if verdict_fails {
                    let why = if failed_required.is_empty() {
                        format!(
                            "FAIL: score {:.1} is below the threshold {:.1}",
                            d.score, d.threshold
                        )
                    } else {
                        format!(
                            "FAIL: required checks failed: {}",
                            failed_required.join(", ")
                        )
                    };
                    let _ = writeln!(
                        suites,
                        "><failure type=\"verdict\" message=\"{}\">{}</failure></testcase>",
                        xml_attr(&why),
                        xml_text(&why)
                    );
                } else {
                    suites.push_str("/>\n");
                }
                suites.push_str("  </testsuite>\n");
            }
            Entry::CouldNotGrade(e) => {
                tests += 1;
                errors += 1;
                let _ = writeln!(
                    suites,
                    "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">\n    <testcase classname=\"assay\" name=\"evaluate\" time=\"0.000\"><error type=\"could-not-grade\" message=\"{}\">{}</error></testcase>\n  </testsuite>",
                    xml_attr(&e.submission),
                    xml_attr(&e.error),
                    xml_text(&format!("assay could not grade this submission (never a candidate's FAIL): {}", e.error))
                );
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"assay\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\">\n{suites}</testsuites>\n",
        secs(total_ms)
    )
}
