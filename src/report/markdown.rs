//! The Markdown report, for pull-request comments and GitHub job summaries.

use super::{reading_order, Report};
use assay_core::display::{markdown as esc, markdown_code, MdContext};
use assay_core::Status;
use std::fmt::Write;

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let icon = |s: Status| match s {
        Status::Pass => "✅ pass",
        Status::Fail => "❌ fail",
        Status::Skipped => "⏭ skipped",
    };
    let _ = writeln!(
        out,
        "# assay: {} — {}\n",
        report.verdict,
        esc(&report.submission)
    );
    let _ = writeln!(
        out,
        "Score **{:.1}** / {:.0} (threshold {:.0}) · mode `{}` · assay {}\n",
        report.score, report.max_score, report.threshold, report.mode, report.assay_version
    );
    for n in &report.notes {
        let _ = writeln!(out, "> {}\n", esc(n));
    }
    let _ = writeln!(
        out,
        "| check | status | required | points | evidence | location |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for c in reading_order(report) {
        let loc = c
            .result
            .location
            .as_ref()
            .map(|l| markdown_code(&l.to_string(), MdContext::TableCell))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {}/{} | {} | {} |",
            c.result.id,
            icon(c.result.status),
            if c.required { "yes" } else { "no" },
            c.points,
            c.max_points,
            esc(&c.result.evidence),
            loc
        );
    }
    let with_details: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.result.status == Status::Fail && !c.result.details.is_empty())
        .collect();
    if !with_details.is_empty() {
        let _ = writeln!(out, "\n## Details\n");
        for c in with_details {
            let _ = writeln!(out, "### `{}`\n", c.result.id);
            for d in &c.result.details {
                let _ = writeln!(out, "- {}", esc(&d.to_string()));
            }
            out.push('\n');
        }
    }
    if !report.answers.is_empty() {
        let _ = writeln!(
            out,
            "\n## Answers\n\n| question | file | words | wc -w | credited because |\n|---|---|---|---|---|"
        );
        for a in &report.answers {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                esc(&a.question),
                esc(&a.file),
                a.words,
                a.wc_words,
                esc(&a.credited_because)
            );
        }
    }
    if !report.documents_searched.is_empty() {
        let _ = writeln!(out, "\n## Documents searched\n");
        for d in &report.documents_searched {
            let _ = writeln!(out, "- `{}`: {}", esc(&d.file), esc(&d.why));
        }
        let uncredited = super::not_credited_lines(report);
        if !uncredited.is_empty() {
            let _ = writeln!(out, "\n### Not credited\n");
            for line in uncredited {
                let _ = writeln!(out, "- {}", esc(&line));
            }
        }
    }
    out
}
