//! JUnit XML: one test suite per submission, one test case per check id.

use super::Report;
use assay_core::display::{xml_attr, xml_text};
use assay_core::Status;
use std::fmt::Write;

pub fn render_junit(reports: &[Report]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"assay\">\n");
    for r in reports {
        let failures = r
            .checks
            .iter()
            .filter(|c| c.result.status == Status::Fail)
            .count();
        let skipped = r
            .checks
            .iter()
            .filter(|c| c.result.status == Status::Skipped)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml_attr(&r.submission),
            r.checks.len(),
            r.duration_ms as f64 / 1000.0
        );
        for c in &r.checks {
            let _ = write!(
                out,
                "    <testcase classname=\"assay.{}\" name=\"{}\"",
                c.result.id.family(),
                c.result.id
            );
            let body = match c.result.status {
                Status::Pass => None,
                Status::Fail => {
                    let mut text = c.result.evidence.clone();
                    if let Some(l) = &c.result.location {
                        text.push_str(&format!("\nat {l}"));
                    }
                    for d in &c.result.details {
                        text.push_str(&format!("\n{d}"));
                    }
                    Some(format!(
                        "<failure message=\"{}\">{}</failure>",
                        xml_attr(&c.result.evidence),
                        xml_text(&text)
                    ))
                }
                Status::Skipped => Some(format!(
                    "<skipped message=\"{}\"/>",
                    xml_attr(&c.result.evidence)
                )),
            };
            match body {
                None => out.push_str("/>\n"),
                Some(b) => {
                    let _ = writeln!(out, ">{b}</testcase>");
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
