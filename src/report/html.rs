//! A self-contained HTML page (no scripts, no external resources), every value escaped.

use super::{reading_order, Report};
use assay_core::display::html as h;
use assay_core::Status;
use std::fmt::Write;

pub fn render_html(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>assay: {} — {}</title><style>\
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;width:100%}}\
td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
.pass{{color:#176f2c}}.fail{{color:#b00020;font-weight:bold}}.skipped{{color:#666}}code{{font-size:.9em}}\
</style></head><body>\n",
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
        "<h1><span class=\"{class}\">{}</span> {}</h1><p>Score {:.1} / {:.0} (threshold {:.0}) · mode {}</p>",
        report.verdict,
        h(&report.submission),
        report.score,
        report.max_score,
        report.threshold,
        h(&report.mode)
    );
    for n in &report.notes {
        let _ = writeln!(out, "<p><strong>Note:</strong> {}</p>", h(n));
    }
    out.push_str("<table><tr><th>check</th><th>status</th><th>required</th><th>points</th><th>evidence</th><th>location</th></tr>\n");
    for c in reading_order(report) {
        let st = c.result.status.to_string();
        let mut evidence = h(&c.result.evidence);
        if c.result.status == Status::Fail && !c.result.details.is_empty() {
            evidence.push_str("<ul>");
            for d in &c.result.details {
                let _ = write!(evidence, "<li>{}</li>", h(&d.to_string()));
            }
            evidence.push_str("</ul>");
        }
        let loc = c
            .result
            .location
            .as_ref()
            .map(|l| h(&l.to_string()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"{st}\">{st}</td><td>{}</td><td>{}/{}</td><td>{evidence}</td><td><code>{loc}</code></td></tr>",
            c.result.id,
            if c.required { "yes" } else { "no" },
            c.points,
            c.max_points
        );
    }
    out.push_str("</table>\n");
    if !report.answers.is_empty() {
        out.push_str("<h2>Answers</h2><table><tr><th>question</th><th>file</th><th>words</th><th>wc -w</th><th>credited because</th></tr>\n");
        for a in &report.answers {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                h(&a.question),
                h(&a.file),
                a.words,
                a.wc_words,
                h(&a.credited_because)
            );
        }
        out.push_str("</table>\n");
    }
    if !report.documents_searched.is_empty() {
        out.push_str("<h2>Documents searched</h2><ul>\n");
        for d in &report.documents_searched {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", h(&d.file), h(&d.why));
        }
        out.push_str("</ul>\n");
        let uncredited = super::not_credited_lines(report);
        if !uncredited.is_empty() {
            out.push_str("<h3>Not credited</h3><ul>\n");
            for line in uncredited {
                let _ = writeln!(out, "<li>{}</li>", h(&line));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}
