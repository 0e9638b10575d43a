//! The terminal report: one screen, failures first with their evidence and location.

use super::{reading_order, Report};
use crate::verdict::Verdict;
use assay_core::display::{terminal, terminal_line};
use assay_core::{Severity, Status};
use std::fmt::Write;

/// Whether to colour the output. Resolve `Auto` with [`ColorChoice::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Always,
    Never,
}

impl ColorChoice {
    /// Colour only for a terminal, and never when `NO_COLOR` is set to a non-empty value.
    pub fn resolve(is_terminal: bool, no_color: Option<&str>) -> ColorChoice {
        match no_color {
            Some(v) if !v.is_empty() => ColorChoice::Never,
            _ if is_terminal => ColorChoice::Always,
            _ => ColorChoice::Never,
        }
    }
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\u{1b}[{code}m{s}\u{1b}[0m")
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("1;32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// How many located details of one check the terminal shows before "… and N more".
const DETAILS_SHOWN: usize = 8;

pub fn render_human(report: &Report, color: ColorChoice) -> String {
    let p = Paint(color == ColorChoice::Always);
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Pass => p.green("PASS"),
        Verdict::Fail => p.red("FAIL"),
    };
    let _ = writeln!(
        out,
        "{verdict}  {}  score {:.1}/{:.0} (threshold {:.0}){}",
        p.bold(&terminal_line(&report.submission)),
        report.score,
        report.max_score,
        report.threshold,
        if report.mode == "static" {
            "  [static checks only]"
        } else {
            ""
        }
    );
    if let Some(before) = super::before_overrides(report) {
        let _ = writeln!(out, "  {}", p.bold(&format!("{} {before}", report.verdict)));
    }
    let checks = reading_order(report);
    let mut passed = Vec::new();
    let mut skipped = Vec::new();
    for c in checks {
        if let Some(o) = &c.overridden {
            let req = if c.required { "required" } else { "optional" };
            let _ = writeln!(
                out,
                "  {} {} ({req}, assay found {}; {}/{} pts)",
                p.bold(&o.action.past().to_uppercase()),
                p.bold(c.result.id.as_str()),
                super::found_status(c),
                c.points,
                c.max_points
            );
            let _ = writeln!(
                out,
                "       {} by {}: {}",
                o.action.past(),
                terminal_line(&o.by),
                indented(&o.reason, 7)
            );
            continue;
        }
        match c.result.status {
            Status::Fail => {
                let tag = if c.required {
                    p.red("FAIL")
                } else {
                    p.yellow("fail")
                };
                let req = if c.required { "required" } else { "optional" };
                let _ = writeln!(
                    out,
                    "  {tag} {} ({req}, 0/{} pts)",
                    p.bold(c.result.id.as_str()),
                    c.max_points
                );
                let _ = writeln!(out, "       {}", indented(&c.result.evidence, 7));
                if let Some(loc) = &c.result.location {
                    let _ = writeln!(out, "       at {}", p.dim(&terminal_line(&loc.to_string())));
                }
                let errors: Vec<_> = c
                    .result
                    .details
                    .iter()
                    .filter(|d| d.severity != Severity::Info)
                    .collect();
                for d in errors.iter().take(DETAILS_SHOWN) {
                    let _ = writeln!(out, "       - {}", indented(&d.to_string(), 9));
                }
                if errors.len() > DETAILS_SHOWN {
                    let _ = writeln!(
                        out,
                        "       … and {} more (see report.json)",
                        errors.len() - DETAILS_SHOWN
                    );
                }
            }
            Status::Skipped => skipped.push(c),
            Status::Pass => passed.push(c.result.id.as_str()),
        }
    }
    // Skipped checks grouped by reason, so twenty checks behind one failure take one line.
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in skipped {
        match reasons.iter_mut().find(|(r, _)| *r == c.result.evidence) {
            Some((_, ids)) => ids.push(c.result.id.as_str()),
            None => reasons.push((&c.result.evidence, vec![c.result.id.as_str()])),
        }
    }
    for (reason, ids) in reasons {
        let _ = writeln!(
            out,
            "  {} {}",
            p.dim(&format!("skipped ({}):", terminal_line(reason))),
            ids.join(", ")
        );
    }
    if !passed.is_empty() {
        let _ = writeln!(out, "  {} {}", p.green("passed:"), passed.join(", "));
    }
    // Warnings that matter even on a passing check (a variable left blank, `${PWD}` read as
    // the project directory, what assay ran in place of the candidate's webapp).
    for c in reading_order(report)
        .into_iter()
        .filter(|c| c.result.status == Status::Pass)
    {
        let warnings: Vec<_> = c
            .result
            .details
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect();
        for d in warnings.iter().take(DETAILS_SHOWN) {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                p.yellow("warning:"),
                c.result.id.as_str(),
                terminal(&d.to_string())
            );
        }
        if warnings.len() > DETAILS_SHOWN {
            let _ = writeln!(
                out,
                "  {} {}: … and {} more (see report.json)",
                p.yellow("warning:"),
                c.result.id.as_str(),
                warnings.len() - DETAILS_SHOWN
            );
        }
    }
    if !report.documents_searched.is_empty() {
        let docs: Vec<String> = report
            .documents_searched
            .iter()
            .map(|d| terminal(&d.file))
            .collect();
        let _ = writeln!(out, "  answers searched in: {}", docs.join(", "));
    }
    for a in &report.answers {
        let place = match a.line {
            Some(l) => format!("{}:{l}", a.file),
            None => a.file.clone(),
        };
        let _ = writeln!(
            out,
            "  answer {} {} words (wc -w {}) at {}: {}",
            a.question,
            a.words,
            a.wc_words,
            terminal(&place),
            terminal(&a.credited_because)
        );
    }
    let uncredited = super::not_credited_lines(report);
    for line in uncredited.iter().take(DETAILS_SHOWN) {
        let _ = writeln!(out, "  not an answer: {}", terminal(line));
    }
    if uncredited.len() > DETAILS_SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more question-like sections not credited (see report.json)",
            uncredited.len() - DETAILS_SHOWN
        );
    }
    for n in &report.notes {
        let _ = writeln!(out, "  {} {}", p.yellow("note:"), indented(n, 8));
    }
    let prov = &report.provenance;
    if !prov.images.is_empty() {
        let mut with: Vec<String> = prov.images.iter().map(|i| i.describe()).collect();
        if let Some(d) = &prov.docker {
            with.push(format!("Docker {}", d.version));
        }
        let _ = writeln!(out, "  graded with: {}", terminal(&with.join("; ")));
    }
    out
}

/// Foreign text made safe for the terminal, its later lines indented by `by` spaces: nothing a
/// candidate wrote starts a line of the report (a log line cannot pass for a verdict).
fn indented(text: &str, by: usize) -> String {
    terminal(text).replace('\n', &format!("\n{}", " ".repeat(by)))
}
