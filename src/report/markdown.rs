//! The Markdown report, for pull-request comments and GitHub job summaries: the verdict line
//! first, then the failures (required before optional, an optional one marked as such), then
//! everything else folded in `<details>` blocks. Code spans in evidence stay code spans; log
//! tails and source lines are `<pre>` blocks of escaped text (GitHub keeps `<pre>`, and an HTML
//! block is not read as Markdown, so candidate text cannot start any).

use super::{
    code_spans, failed_list, head_and_body, optional_failure, reading_order, Report, SourceExcerpt,
};
use crate::verdict::ScoredCheck;
use assay_core::display::{html, markdown as esc, markdown_code, MdContext};
use assay_core::{Diagnostic, Status};
use std::fmt::Write;

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let before = super::before_overrides(report)
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "# assay: {}{before} — {}\n",
        report.verdict,
        esc(&report.submission)
    );
    let _ = writeln!(
        out,
        "Score **{:.1}** / {:.0} (threshold {:.0}) · mode `{}` · assay {}\n",
        report.score, report.max_score, report.threshold, report.mode, report.assay_version
    );
    let code = |id: &str| format!("`{id}`");
    let (req, opt) = (
        failed_list(report, true, code),
        failed_list(report, false, code),
    );
    if !req.is_empty() {
        let _ = writeln!(out, "**Failed required checks:** {req}\n");
    }
    if !opt.is_empty() {
        let _ = writeln!(
            out,
            "Optional checks failed (they lower the score only): {opt}\n"
        );
    }
    for n in &report.notes {
        let _ = writeln!(
            out,
            "> {}\n",
            cell(head_and_body(n).0, MdContext::Paragraph)
        );
    }
    let overridden = super::overridden(report);
    if !overridden.is_empty() {
        let _ = writeln!(out, "**Reviewer overrides:**\n");
        let _ = writeln!(out, "| check | assay found | override | by | reason |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for c in &overridden {
            let Some(o) = &c.overridden else { continue };
            let _ = writeln!(
                out,
                "| `{}` | {} | **{}** | {} | {} |",
                c.result.id,
                super::found_status(c),
                o.action.past(),
                cell(&o.by, MdContext::TableCell),
                cell(&o.reason, MdContext::TableCell)
            );
        }
        out.push('\n');
    }
    let failures: Vec<&ScoredCheck> = reading_order(report)
        .into_iter()
        .filter(|c| c.result.status == Status::Fail && !c.is_overridden())
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "| check | status | points | evidence | location |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for c in &failures {
            row(&mut out, c);
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "<details><summary>All {} checks</summary>\n",
        report.checks.len()
    );
    let _ = writeln!(out, "| check | status | points | evidence | location |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for c in reading_order(report) {
        row(&mut out, c);
    }
    out.push_str("\n</details>\n\n");
    for c in failures {
        if c.result.details.is_empty()
            && c.source.is_none()
            && head_and_body(&c.result.evidence).1.is_none()
        {
            continue;
        }
        let _ = writeln!(
            out,
            "<details><summary>Details of <code>{}</code></summary>\n",
            c.result.id
        );
        if let Some(body) = head_and_body(&c.result.evidence).1 {
            pre(&mut out, body);
        }
        if let Some(src) = &c.source {
            source(&mut out, src);
        }
        for d in &c.result.details {
            diagnostic(&mut out, d);
        }
        out.push_str("</details>\n\n");
    }
    if !report.notes.iter().all(|n| head_and_body(n).1.is_none()) {
        out.push_str("<details><summary>Notes in full</summary>\n\n");
        for n in &report.notes {
            let _ = writeln!(out, "{}\n", cell(head_and_body(n).0, MdContext::Paragraph));
            if let Some(body) = head_and_body(n).1 {
                pre(&mut out, body);
            }
        }
        out.push_str("</details>\n\n");
    }
    if !report.answers.is_empty() {
        out.push_str("<details><summary>Answers</summary>\n\n| question | file | words | wc -w | credited because |\n|---|---|---|---|---|\n");
        for a in &report.answers {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&a.question, MdContext::TableCell),
                esc(&a.file),
                a.words,
                a.wc_words,
                cell(&a.credited_because, MdContext::TableCell)
            );
        }
        out.push_str("\n</details>\n\n");
    }
    if !report.documents_searched.is_empty() {
        out.push_str("<details><summary>Documents searched</summary>\n\n");
        for d in &report.documents_searched {
            let _ = writeln!(
                out,
                "- {}: {}",
                markdown_code(&d.file, MdContext::Paragraph),
                cell(&d.why, MdContext::Paragraph)
            );
        }
        let uncredited = super::not_credited_lines(report);
        if !uncredited.is_empty() {
            let _ = writeln!(out, "\nNot credited:\n");
            for line in uncredited {
                let _ = writeln!(out, "- {}", cell(&line, MdContext::Paragraph));
            }
        }
        out.push_str("\n</details>\n");
    }
    let p = &report.provenance;
    let _ = writeln!(
        out,
        "\n<details><summary>Provenance</summary>\n\n- assay {}\n- rubric sha256 `{}`",
        report.assay_version, p.rubric_sha256
    );
    if let Some(d) = &p.docker {
        let _ = writeln!(
            out,
            "- Docker {} (API {})",
            esc(&d.version),
            esc(&d.api_version)
        );
    }
    for i in &p.images {
        let _ = writeln!(out, "- image {}", esc(&i.describe()));
    }
    out.push_str("\n</details>\n");
    out
}

fn row(out: &mut String, c: &ScoredCheck) {
    let status = match c.result.status {
        _ if c.is_overridden() => format!(
            "{} → {} by reviewer",
            super::found_status(c),
            c.overridden.as_ref().map_or("", |o| o.action.past())
        ),
        Status::Pass => "✅ pass".to_string(),
        Status::Fail if optional_failure(c) => "⚠️ fail (optional)".to_string(),
        Status::Fail => "❌ **FAIL** (required)".to_string(),
        Status::Skipped => "⏭ skipped".to_string(),
    };
    let loc = c
        .result
        .location
        .as_ref()
        .map(|l| markdown_code(&l.to_string(), MdContext::TableCell))
        .unwrap_or_default();
    let (head, body) = head_and_body(&c.result.evidence);
    let more = if body.is_some() { " (more below)" } else { "" };
    let _ = writeln!(
        out,
        "| `{}` | {} | {}/{} | {}{more} | {} |",
        c.result.id,
        status,
        c.points,
        c.max_points,
        cell(head, MdContext::TableCell),
        loc
    );
}

/// One line of prose with its code spans kept as code spans, everything else escaped.
fn cell(text: &str, context: MdContext) -> String {
    code_spans(text)
        .into_iter()
        .map(|(code, run)| {
            if code {
                markdown_code(run, context)
            } else {
                esc(run)
            }
        })
        .collect()
}

fn diagnostic(out: &mut String, d: &Diagnostic) {
    let (head, body) = head_and_body(&d.message);
    let mut line = String::from("- ");
    if let Some(loc) = &d.location {
        let _ = write!(
            line,
            "{}: ",
            markdown_code(&loc.to_string(), MdContext::Paragraph)
        );
    }
    line.push_str(&cell(head, MdContext::Paragraph));
    if let Some(hint) = &d.hint {
        let _ = write!(line, " (hint: {})", cell(hint, MdContext::Paragraph));
    }
    let _ = writeln!(out, "{line}\n");
    if let Some(body) = body {
        pre(out, body);
    }
}

/// Output (a log tail) as an HTML `<pre>` block of escaped text, set apart by blank lines.
fn pre(out: &mut String, text: &str) {
    let _ = writeln!(out, "<pre>{}</pre>\n", html(text.trim_end_matches('\n')));
}

/// The submission's lines around a located failure, numbered, the located line marked `>`.
fn source(out: &mut String, src: &SourceExcerpt) {
    let width = (src.start_line as usize + src.lines.len())
        .to_string()
        .len();
    let _ = writeln!(
        out,
        "{} around line {}:\n",
        markdown_code(&src.file, MdContext::Paragraph),
        src.line
    );
    let text: Vec<String> = src
        .numbered()
        .map(|(n, t, at)| format!("{} {n:>width$} {t}", if at { ">" } else { " " }))
        .collect();
    pre(out, &text.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_and_the_rest_is_escaped() {
        assert_eq!(
            cell("service `db|x` sets *PGHOST*", MdContext::TableCell),
            "service `db\\|x` sets \\*PGHOST\\*"
        );
    }

    #[test]
    fn preformatted_output_cannot_end_its_block_or_start_markup() {
        let mut s = String::new();
        pre(&mut s, "</pre>\n# heading\n<script>x</script>\n");
        assert_eq!(
            s,
            "<pre>&lt;/pre&gt;\n# heading\n&lt;script&gt;x&lt;/script&gt;</pre>\n\n"
        );
    }
}
