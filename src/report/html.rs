//! A self-contained HTML page (no scripts, no external resources), every value escaped.
//!
//! Read in a minute: the verdict and the failed required checks first; failures before passes,
//! an optional failure marked as such (it lowers the score, it does not fail the submission);
//! evidence with its code spans as code; a log tail or a health log folded in a `<details>`
//! block as preformatted text; the submission's lines around a located failure (secrets
//! masked). The page fits the window: long lines wrap, nothing is wider than the viewport.

use super::{code_spans, failed_list, head_and_body, reading_order, Report, SourceExcerpt};
use crate::verdict::ScoredCheck;
use assay_core::display::html as h;
use assay_core::{Diagnostic, Status};
use std::fmt::Write;

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:72rem;line-height:1.4;overflow-wrap:anywhere}\
table{border-collapse:collapse;width:100%;table-layout:fixed}\
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th.id{width:12rem}th.st{width:7rem}th.pt{width:5rem}th.loc{width:12rem}\
code{font-size:.9em;background:#f3f3f3;padding:0 .2em;border-radius:3px}\
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;border:1px solid #ddd;padding:.4rem;margin:.3rem 0;max-height:24rem;overflow:auto;font-size:.85em}\
pre.source .ln{color:#888;user-select:none}pre.source mark{background:#ffe9a8}\
details{margin:.2rem 0}summary{cursor:pointer}\
ul{margin:.2rem 0;padding-left:1.2rem}\
.verdict{padding:.1rem .5rem;border-radius:4px;color:#fff}\
.verdict.pass{background:#176f2c}.verdict.fail{background:#b00020}\
tr.fail-required{background:#fdecee}tr.fail-required td.status{color:#b00020;font-weight:bold}\
tr.fail-optional{background:#fff6e0}tr.fail-optional td.status{color:#8a5a00}\
tr.pass td.status{color:#176f2c}tr.skipped td.status{color:#666}\
tr.overridden{background:#eef3ff}tr.overridden td.status{color:#1c3f94;font-weight:bold}\
.override{border-left:4px solid #1c3f94;padding:.1rem .5rem;margin:.3rem 0}\
.failed-required{color:#b00020}\
@media (max-width:40rem){th.id,th.loc{width:auto}th.st,th.pt{width:auto}td,th{padding:.2rem}}";

pub fn render_html(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>assay: {} — {}</title><style>{STYLE}</style></head><body>\n",
        report.verdict,
        h(&report.submission)
    );
    let class = if report.verdict == crate::verdict::Verdict::Pass {
        "pass"
    } else {
        "fail"
    };
    let _ = writeln!(
        out,
        "<h1 id=\"verdict\"><span class=\"verdict {class}\">{}</span> {}</h1>\
<p>Score <strong>{:.1}</strong> / {:.0} (threshold {:.0}) · mode {} · assay {}</p>",
        report.verdict,
        h(&report.submission),
        report.score,
        report.max_score,
        report.threshold,
        h(&report.mode),
        h(&report.assay_version)
    );
    if let Some(before) = super::before_overrides(report) {
        let _ = writeln!(
            out,
            "<p id=\"before-overrides\" class=\"override\">{} {}</p>",
            report.verdict,
            h(&before)
        );
    }
    let overridden = super::overridden(report);
    if !overridden.is_empty() {
        out.push_str("<h2>Reviewer overrides</h2><table id=\"overrides\"><thead><tr><th class=\"id\">check</th><th class=\"st\">assay found</th><th class=\"st\">override</th><th class=\"loc\">by</th><th>reason</th></tr></thead><tbody>\n");
        for c in &overridden {
            let Some(o) = &c.overridden else { continue };
            let _ = writeln!(
                out,
                "<tr data-override=\"{id}\"><td><code>{id}</code></td><td>{}</td><td><strong>{}</strong></td><td>{}</td><td>{}</td></tr>",
                super::found_status(c),
                o.action.past(),
                h(&o.by),
                rich(&o.reason),
                id = c.result.id,
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let code = |id: &str| format!("<code>{id}</code>");
    let (req, opt) = (
        failed_list(report, true, code),
        failed_list(report, false, code),
    );
    if !req.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"failed-required\"><strong>Failed required checks:</strong> {req}</p>"
        );
    }
    if !opt.is_empty() {
        let _ = writeln!(
            out,
            "<p>Optional checks failed (they lower the score only): {opt}</p>"
        );
    }
    for n in &report.notes {
        let _ = writeln!(out, "<p><strong>Note:</strong> {}</p>", rich_block(n));
    }
    out.push_str(
        "<table id=\"checks\"><thead><tr><th class=\"id\">check</th><th class=\"st\">status</th>\
<th class=\"pt\">points</th><th>evidence</th><th class=\"loc\">location</th></tr></thead><tbody>\n",
    );
    for c in reading_order(report) {
        check_row(&mut out, c);
    }
    out.push_str("</tbody></table>\n");
    if !report.answers.is_empty() {
        out.push_str("<h2>Answers</h2><table id=\"answers\"><thead><tr><th>question</th><th>file</th><th class=\"pt\">words</th><th class=\"pt\">wc -w</th><th>credited because</th></tr></thead><tbody>\n");
        for a in &report.answers {
            let file = match a.line {
                Some(l) => format!("{}:{l}", a.file),
                None => a.file.clone(),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                rich(&a.question),
                h(&file),
                a.words,
                a.wc_words,
                rich(&a.credited_because)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !report.similar_answers.is_empty() {
        out.push_str("<h2>Answers similar to another submission's</h2><ul>\n");
        for s in &report.similar_answers {
            let _ = writeln!(
                out,
                "<li>{} (<code>{}</code>) ≈ {} of <strong>{}</strong> (<code>{}</code>): similarity {:.2}</li>",
                h(&s.question),
                h(&s.file),
                h(&s.other_question),
                h(&s.other_submission),
                h(&s.other_file),
                s.similarity
            );
        }
        out.push_str("</ul>\n");
    }
    if !report.documents_searched.is_empty() {
        out.push_str("<h2>Documents searched</h2><ul>\n");
        for d in &report.documents_searched {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                h(&d.file),
                rich(&d.why)
            );
        }
        out.push_str("</ul>\n");
        let uncredited = super::not_credited_lines(report);
        if !uncredited.is_empty() {
            out.push_str("<h3>Not credited</h3><ul>\n");
            for line in uncredited {
                let _ = writeln!(out, "<li>{}</li>", rich(&line));
            }
            out.push_str("</ul>\n");
        }
    }
    provenance(&mut out, report);
    out.push_str("</body></html>\n");
    out
}

/// What the report was made with, folded.
fn provenance(out: &mut String, report: &Report) {
    let p = &report.provenance;
    out.push_str("<details id=\"provenance\"><summary>Provenance</summary><ul>\n");
    let _ = writeln!(out, "<li>assay {}</li>", h(&report.assay_version));
    let _ = writeln!(
        out,
        "<li>rubric sha256 <code>{}</code></li>",
        h(&p.rubric_sha256)
    );
    if let Some(d) = &p.docker {
        let _ = writeln!(
            out,
            "<li>Docker {} (API {})</li>",
            h(&d.version),
            h(&d.api_version)
        );
    }
    for i in &p.images {
        let _ = writeln!(out, "<li>image {}</li>", h(&i.describe()));
    }
    out.push_str("</ul></details>\n");
}

fn check_row(out: &mut String, c: &ScoredCheck) {
    let (row, status) = match c.result.status {
        _ if c.is_overridden() => (
            "overridden",
            format!(
                "{} → {} by reviewer",
                super::found_status(c),
                c.overridden.as_ref().map_or("", |o| o.action.past())
            ),
        ),
        Status::Fail if c.required => ("fail-required", "FAIL (required)".to_string()),
        Status::Fail => ("fail-optional", "fail (optional)".to_string()),
        Status::Pass => ("pass", "pass".to_string()),
        Status::Skipped => (
            "skipped",
            match c.result.skip {
                Some(k) => format!("skipped ({})", skip_word(k)),
                None => "skipped".to_string(),
            },
        ),
    };
    let mut evidence = rich_block(&c.result.evidence);
    if let Some(o) = &c.overridden {
        let _ = write!(
            evidence,
            "<p class=\"override\"><strong>{}</strong> by {}: {}</p>",
            o.action.past(),
            h(&o.by),
            rich(&o.reason)
        );
    }
    if let Some(src) = &c.source {
        evidence.push_str(&source_block(src));
    }
    if c.result.status == Status::Fail && !c.result.details.is_empty() {
        evidence.push_str("<ul>");
        for d in &c.result.details {
            let _ = write!(evidence, "<li>{}</li>", diagnostic(d));
        }
        evidence.push_str("</ul>");
    }
    let loc = c
        .result
        .location
        .as_ref()
        .map(|l| format!("<code>{}</code>", h(&l.to_string())))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<tr class=\"{row}\" id=\"check-{id}\" data-check=\"{id}\"><td><code>{id}</code><br><small>{title} · {req}</small></td>\
<td class=\"status\">{status}</td><td>{}/{}</td><td>{evidence}</td><td>{loc}</td></tr>",
        c.points,
        c.max_points,
        id = c.result.id,
        title = h(c.title),
        req = if c.required { "required" } else { "optional" },
    );
}

fn skip_word(k: assay_core::SkipKind) -> &'static str {
    match k {
        assay_core::SkipKind::Blocked => "blocked",
        assay_core::SkipKind::NotApplicable => "not applicable",
        assay_core::SkipKind::NotRun => "not run",
    }
}

/// One finding: its place, its first line with code spans, the rest (a log tail) folded as
/// preformatted text, its hint.
fn diagnostic(d: &Diagnostic) -> String {
    let mut s = String::new();
    if let Some(loc) = &d.location {
        let _ = write!(s, "<code>{}</code>: ", h(&loc.to_string()));
    }
    s.push_str(&rich_block(&d.message));
    if let Some(hint) = &d.hint {
        let _ = write!(s, " <em>hint:</em> {}", rich(hint));
    }
    s
}

/// Text whose first line is prose and whose further lines, if any, are output (a log tail):
/// the first line with code spans, the rest in a `<pre>` inside a closed `<details>` block
/// whose summary is that first line.
fn rich_block(text: &str) -> String {
    match head_and_body(text) {
        (head, None) => rich(head),
        (head, Some(body)) => {
            let lines = body.lines().count();
            format!(
                "<details><summary>{} <small>({lines} line{})</small></summary><pre>{}</pre></details>",
                rich(head),
                if lines == 1 { "" } else { "s" },
                h(body)
            )
        }
    }
}

/// One line of prose: escaped, runs between backticks as `<code>`.
fn rich(text: &str) -> String {
    code_spans(text)
        .into_iter()
        .map(|(code, run)| {
            if code {
                format!("<code>{}</code>", h(run))
            } else {
                h(run)
            }
        })
        .collect()
}

/// The submission's lines around a located failure, numbered, the located line marked.
fn source_block(src: &SourceExcerpt) -> String {
    let width = (src.start_line as usize + src.lines.len())
        .to_string()
        .len();
    let mut s = format!(
        "<details class=\"source\" open><summary><code>{}</code> around line {}</summary><pre class=\"source\">",
        h(&src.file),
        src.line
    );
    for (n, text, at) in src.numbered() {
        let line = format!("<span class=\"ln\">{n:>width$} </span>{}", h(text));
        if at {
            let _ = write!(s, "<mark>{line}</mark>");
        } else {
            s.push_str(&line);
        }
        s.push('\n');
    }
    s.push_str("</pre></details>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code_and_stay_escaped() {
        assert_eq!(
            rich("service `<db>` & `x`"),
            "service <code>&lt;db&gt;</code> &amp; <code>x</code>"
        );
        assert_eq!(rich("a ` b"), "a ` b");
    }

    #[test]
    fn a_log_tail_is_folded_as_preformatted_text() {
        let s = rich_block("last 3 log lines of `webapp`:\n<b>one</b>\ntwo\nthree");
        assert!(s.starts_with("<details><summary>last 3 log lines of <code>webapp</code>:"));
        assert!(
            s.contains("<pre>&lt;b&gt;one&lt;/b&gt;\ntwo\nthree</pre></details>"),
            "{s}"
        );
        assert_eq!(rich_block("one line"), "one line");
    }
}
