//! Batch summaries: `summary.csv`, `summary.json`, `index.html` and a combined `junit.xml` at
//! the root of a batch's output folder.
//!
//! They are built from reports as `report.json` holds them (parsed back into [`Digest`]), never
//! from the in-memory report, so a local batch (`assay evaluate --out DIR a.zip b.zip …`) and
//! `assay report merge` over reports written by other runs (CI matrix jobs, cluster pods) build
//! the same files from the same bytes.

pub use super::digest::{
    CheckDigest, DiagnosticDigest, Digest, DigestStatus, DigestVerdict, Entry, GradeError,
};
use super::{junit, SCHEMA_VERSION};
use assay_core::display::{csv_record, html as h};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A submission's report in its folder.
pub const REPORT_FILE: &str = "report.json";
/// Written instead of the reports when a submission could not be graded.
pub const ERROR_FILE: &str = "error.json";
/// Every file a submission's folder may hold, copied as they are by `report merge`.
pub const SUBMISSION_FILES: [&str; 5] = [
    REPORT_FILE,
    "report.md",
    "report.html",
    "junit.xml",
    ERROR_FILE,
];
/// The summary files at the root of a batch folder.
pub const SUMMARY_FILES: [&str; 4] = ["summary.csv", "summary.json", "index.html", "junit.xml"];
/// The largest `report.json` or `error.json` read back.
const MAX_REPORT_BYTES: u64 = 64 << 20;

/// An entry and the folder (relative to the batch root, `/`-separated) holding its files.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub entry: Entry,
    pub folder: String,
}

/// Batch order: by submission name (stable, so equal names keep their given order). A local
/// batch and a merge of the same submissions therefore list them alike, whatever order the
/// command line or the CI jobs had.
pub fn batch_order<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| name(a).cmp(name(b)));
}

/// A folder name for `submission` within a batch folder, unique among `used`: the name without
/// `.zip`, anything but ASCII letters, digits, `-`, `_` and `.` replaced by `_`.
pub fn unique_folder(submission: &str, used: &mut std::collections::BTreeSet<String>) -> String {
    let base: String = submission
        .trim_end_matches(".zip")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.is_empty() || base.starts_with('.') {
        format!("submission{base}")
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// One row of summary.csv and summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub submission: String,
    /// `pass`, `fail` or `could-not-grade`.
    pub verdict: String,
    pub score: Option<f64>,
    pub threshold: Option<f64>,
    pub mode: Option<String>,
    pub failed_required: Vec<String>,
    pub failed_optional: Vec<String>,
    /// The verdict before a reviewer's overrides, when there were any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_before_overrides: Option<String>,
    /// The checks a reviewer credited or waived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<String>,
    pub duration_ms: Option<u64>,
    /// The submission's HTML report, relative to the batch root (its error.json when it could
    /// not be graded).
    pub report: String,
    pub error: Option<String>,
}

impl Row {
    pub fn of(p: &Placed) -> Row {
        let file = |name: &str| {
            if p.folder.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", p.folder)
            }
        };
        match &p.entry {
            Entry::Graded(d) => {
                let failed = |required: bool| {
                    d.checks
                        .iter()
                        .filter(|c| c.failed() && c.required == required)
                        .map(|c| c.id.clone())
                        .collect()
                };
                Row {
                    submission: d.submission.clone(),
                    verdict: match d.verdict {
                        DigestVerdict::Pass => "pass",
                        DigestVerdict::Fail => "fail",
                    }
                    .into(),
                    score: Some(d.score),
                    threshold: Some(d.threshold),
                    mode: Some(d.mode.clone()),
                    failed_required: failed(true),
                    failed_optional: failed(false),
                    verdict_before_overrides: d.verdict_before_overrides.map(|v| {
                        match v {
                            DigestVerdict::Pass => "pass",
                            DigestVerdict::Fail => "fail",
                        }
                        .to_string()
                    }),
                    overridden: d
                        .checks
                        .iter()
                        .filter(|c| c.overridden.is_some())
                        .map(|c| c.id.clone())
                        .collect(),
                    duration_ms: Some(d.duration_ms),
                    report: file("report.html"),
                    error: None,
                }
            }
            Entry::CouldNotGrade(e) => Row {
                submission: e.submission.clone(),
                verdict: "could-not-grade".into(),
                score: None,
                threshold: None,
                mode: None,
                failed_required: Vec::new(),
                failed_optional: Vec::new(),
                verdict_before_overrides: None,
                overridden: Vec::new(),
                duration_ms: None,
                report: file(ERROR_FILE),
                error: Some(e.error.clone()),
            },
        }
    }
}

/// summary.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub assay_version: String,
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub could_not_grade: usize,
    pub submissions: Vec<Row>,
}

impl Summary {
    pub fn of(items: &[Placed]) -> Summary {
        let submissions: Vec<Row> = items.iter().map(Row::of).collect();
        let count = |v: &str| submissions.iter().filter(|r| r.verdict == v).count();
        Summary {
            schema_version: SCHEMA_VERSION,
            assay_version: env!("CARGO_PKG_VERSION").to_string(),
            total: submissions.len(),
            pass: count("pass"),
            fail: count("fail"),
            could_not_grade: count("could-not-grade"),
            submissions,
        }
    }
}

/// Writes summary.csv, summary.json, index.html and junit.xml into `root`.
pub fn write_summaries(root: &Path, items: &[Placed]) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    let summary = Summary::of(items);
    std::fs::write(root.join("summary.csv"), render_csv(&summary))?;
    std::fs::write(
        root.join("summary.json"),
        assay_core::display::json_visible(
            &serde_json::to_string_pretty(&summary).expect("summary serialises"),
        ) + "\n",
    )?;
    std::fs::write(root.join("index.html"), render_index(&summary))?;
    let entries: Vec<Entry> = items.iter().map(|p| p.entry.clone()).collect();
    std::fs::write(root.join("junit.xml"), junit::render_junit(&entries))?;
    Ok(())
}

const CSV_HEADER: [&str; 10] = [
    "submission",
    "verdict",
    "score",
    "threshold",
    "mode",
    "failed_required",
    "failed_optional",
    "duration_ms",
    "report",
    "error",
];

/// summary.csv: one row per submission, every cell through the CSV encoder (a cell starting
/// with `=`, `+`, `-` or `@` cannot become a spreadsheet formula).
pub fn render_csv(summary: &Summary) -> String {
    let mut out = csv_record(CSV_HEADER);
    for r in &summary.submissions {
        let cells = [
            r.submission.clone(),
            r.verdict.clone(),
            r.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
            r.threshold.map(|s| format!("{s:.1}")).unwrap_or_default(),
            r.mode.clone().unwrap_or_default(),
            r.failed_required.join(" "),
            r.failed_optional.join(" "),
            r.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            r.report.clone(),
            r.error.clone().unwrap_or_default(),
        ];
        out.push_str(&csv_record(cells.iter().map(String::as_str)));
    }
    out
}

/// The table sorter of index.html; the page's Content-Security-Policy allows this script alone
/// (by its hash).
const SORT_SCRIPT: &str = r#"
document.querySelectorAll('th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    document.querySelectorAll('th').forEach(function (o) { o.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.key, y = b.cells[col].dataset.key;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"#;

fn script_hash() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SORT_SCRIPT.as_bytes()))
}

/// index.html: every submission with its verdict, score and failed checks, linking its report;
/// columns sort on a click.
pub fn render_index(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{}'\">\
<title>assay: {} submissions</title><style>\
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}}table{{border-collapse:collapse;width:100%}}\
td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}}\
th{{cursor:pointer;background:#f4f4f4}}th[aria-sort=ascending]::after{{content:' \\25B2'}}th[aria-sort=descending]::after{{content:' \\25BC'}}\
.pass{{color:#176f2c}}.fail{{color:#b00020;font-weight:bold}}.could-not-grade{{color:#8a5a00;font-weight:bold}}\
</style></head><body>\n",
        script_hash(),
        summary.total
    );
    let _ = writeln!(
        out,
        "<h1>assay: {} submissions</h1><p>{} pass · {} fail · {} could not be graded</p>",
        summary.total, summary.pass, summary.fail, summary.could_not_grade
    );
    out.push_str("<table><thead><tr><th>submission</th><th>verdict</th><th>score</th><th>failed required checks</th><th>failed optional checks</th><th>duration (s)</th></tr></thead><tbody>\n");
    for r in &summary.submissions {
        let score = r.score.map(|s| format!("{s:.1}")).unwrap_or_default();
        let secs = r
            .duration_ms
            .map(|d| format!("{:.1}", d as f64 / 1000.0))
            .unwrap_or_default();
        let failed_required = match &r.error {
            Some(e) => h(e),
            None => r
                .failed_required
                .iter()
                .map(|c| format!("<code>{}</code>", h(c)))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let failed_optional = r
            .failed_optional
            .iter()
            .map(|c| format!("<code>{}</code>", h(c)))
            .collect::<Vec<_>>()
            .join(" ");
        let before = r
            .verdict_before_overrides
            .as_deref()
            .map(|b| {
                format!(
                    "<br><small>{} before reviewer overrides of {}</small>",
                    h(b),
                    r.overridden
                        .iter()
                        .map(|c| format!("<code>{}</code>", h(c)))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td data-key=\"{name}\"><a href=\"{href}\">{name}</a></td><td data-key=\"{v}\" class=\"{v}\">{v}{before}</td><td data-key=\"{score}\">{score}</td><td data-key=\"{nreq}\">{failed_required}</td><td data-key=\"{nopt}\">{failed_optional}</td><td data-key=\"{secs}\">{secs}</td></tr>",
            name = h(&r.submission),
            href = h(&href(&r.report)),
            v = h(&r.verdict),
            nreq = r.failed_required.len(),
            nopt = r.failed_optional.len(),
        );
    }
    let _ = write!(
        out,
        "</tbody></table>\n<script>{SORT_SCRIPT}</script>\n</body></html>\n"
    );
    out
}

/// A relative link to a file in the batch folder: each path segment percent-encoded where a URL
/// needs it (folder names are already plain, but a single report's file name is fixed).
fn href(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Why `report merge` could not merge (exit 2: the inputs are not what it merges).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a merge found and wrote.
#[derive(Debug)]
pub struct Merged {
    pub items: Vec<Placed>,
}

/// A submission folder found under an input.
struct Found {
    entry: Entry,
    dir: PathBuf,
}

/// `assay report merge DIR… --out OUT`: finds every submission folder (one holding report.json
/// or error.json) under the inputs, copies each into its own folder of `out` as a local batch
/// names them, and writes the batch summaries. `out` must not exist or be empty.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<Merged, MergeError> {
    let usage = MergeError::Usage;
    if let Ok(mut rd) = std::fs::read_dir(out) {
        if rd.next().is_some() {
            return Err(usage(format!(
                "{}: the output folder must be empty or not exist yet",
                out.display()
            )));
        }
    } else if out.exists() {
        return Err(usage(format!("{}: not a folder", out.display())));
    }
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for input in inputs {
        let meta = std::fs::symlink_metadata(input)
            .map_err(|e| usage(format!("{}: {e}", input.display())))?;
        if !meta.is_dir() {
            return Err(usage(format!(
                "{}: not a folder of reports (give the folder `evaluate --out` wrote)",
                input.display()
            )));
        }
        let before = found.len();
        collect(input, 0, &mut found)?;
        if found.len() == before {
            return Err(usage(format!(
                "{}: no {REPORT_FILE} or {ERROR_FILE} in it or its sub-folders",
                input.display()
            )));
        }
        // A folder named twice (`merge a a/sub`) is merged once.
        let mut i = before;
        while i < found.len() {
            let key = found[i]
                .dir
                .canonicalize()
                .unwrap_or_else(|_| found[i].dir.clone());
            if seen.insert(key) {
                i += 1;
            } else {
                found.remove(i);
            }
        }
    }
    batch_order(&mut found, |f| f.entry.submission());
    let mut used = std::collections::BTreeSet::new();
    let mut items = Vec::new();
    for f in found {
        let folder = unique_folder(f.entry.submission(), &mut used);
        let target = out.join(&folder);
        let write_err = |source| MergeError::Write {
            path: target.clone(),
            source,
        };
        std::fs::create_dir_all(&target).map_err(write_err)?;
        for name in SUBMISSION_FILES {
            let from = f.dir.join(name);
            if std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_file()) {
                std::fs::copy(&from, target.join(name)).map_err(|source| MergeError::Write {
                    path: target.join(name),
                    source,
                })?;
            }
        }
        items.push(Placed {
            entry: f.entry,
            folder,
        });
    }
    write_summaries(out, &items).map_err(|source| MergeError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(Merged { items })
}

/// Every submission's entry (report.json or error.json) in `dir` or up to four folders down,
/// as `merge` finds them.
pub(crate) fn collect_entries(dir: &Path, found: &mut Vec<Entry>) -> Result<(), MergeError> {
    let mut f = Vec::new();
    collect(dir, 0, &mut f)?;
    found.extend(f.into_iter().map(|f| f.entry));
    Ok(())
}

/// Every submission's entry in `dir` (as [`collect_entries`]) with its folder relative to
/// `dir` (`/`-separated; empty for a single submission's folder).
pub(crate) fn collect_placed(dir: &Path) -> Result<Vec<Placed>, MergeError> {
    let mut f = Vec::new();
    collect(dir, 0, &mut f)?;
    Ok(f.into_iter()
        .map(|f| Placed {
            folder: f
                .dir
                .strip_prefix(dir)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default(),
            entry: f.entry,
        })
        .collect())
}

/// How deep below an input `merge` looks for submission folders (a batch folder is one level,
/// an artifact download a couple more).
const MAX_DEPTH: usize = 4;

fn collect(dir: &Path, depth: usize, found: &mut Vec<Found>) -> Result<(), MergeError> {
    let usage = MergeError::Usage;
    let report = dir.join(REPORT_FILE);
    let error = dir.join(ERROR_FILE);
    let is_file = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    match (is_file(&report), is_file(&error)) {
        (true, true) => {
            return Err(usage(format!(
                "{}: holds both {REPORT_FILE} and {ERROR_FILE}; keep the one of the latest run",
                dir.display()
            )))
        }
        (true, false) => {
            let digest: Digest = read_json(&report)?;
            found.push(Found {
                entry: Entry::Graded(digest),
                dir: dir.to_path_buf(),
            });
            return Ok(());
        }
        (false, true) => {
            let e: GradeError = read_json(&error)?;
            found.push(Found {
                entry: Entry::CouldNotGrade(e),
                dir: dir.to_path_buf(),
            });
            return Ok(());
        }
        (false, false) => {}
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| usage(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        // Links are not followed: only real folders of the input are merged.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for d in subdirs {
        collect(&d, depth + 1, found)?;
    }
    Ok(())
}

/// A report or error file, checked for its schema version.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, MergeError> {
    use std::io::Read;
    let usage = MergeError::Usage;
    let file = std::fs::File::open(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    if text.len() as u64 > MAX_REPORT_BYTES {
        return Err(usage(format!(
            "{}: larger than {} MiB; not a report assay wrote",
            path.display(),
            MAX_REPORT_BYTES >> 20
        )));
    }
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON: {e}", path.display())))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(usage(format!(
                "{}: schema_version {v}; this assay reads version {SCHEMA_VERSION} (merge with the assay that wrote it)",
                path.display()
            )))
        }
        None => {
            return Err(usage(format!(
                "{}: no schema_version: written by an older assay or not a report",
                path.display()
            )))
        }
    }
    serde_json::from_value(value)
        .map_err(|e| usage(format!("{}: not an assay report: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_plain_and_unique() {
        let mut used = Default::default();
        assert_eq!(unique_folder("a b.zip", &mut used), "a_b");
        assert_eq!(unique_folder("a b.zip", &mut used), "a_b-2");
        assert_eq!(unique_folder("../x", &mut used), "submission.._x");
        assert_eq!(unique_folder("", &mut used), "submission");
    }

    #[test]
    fn the_page_allows_exactly_its_own_script() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let page = render_index(&Summary::of(&[]));
        let csp = page
            .split("script-src 'sha256-")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .expect("a script hash in the policy");
        let body = page
            .split("<script>")
            .nth(1)
            .and_then(|r| r.split("</script>").next())
            .expect("the script");
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
        assert_eq!(
            csp, hash,
            "the browser runs the script only when these agree"
        );
        assert_eq!(page.matches("<script").count(), 1);
    }

    #[test]
    fn links_encode_what_a_url_cannot_hold() {
        assert_eq!(href("a_b-2/report.html"), "a_b-2/report.html");
        assert_eq!(href("a\"b/x y"), "a%22b/x%20y");
    }

    #[test]
    fn csv_cells_cannot_be_formulas() {
        let placed = Placed {
            entry: Entry::CouldNotGrade(GradeError::new("=HYPERLINK(\"x\")", "-1+1")),
            folder: "x".into(),
        };
        let csv = render_csv(&Summary::of(&[placed]));
        let row = csv.lines().nth(1).unwrap();
        assert!(row.starts_with("\"'=HYPERLINK"), "{row}");
        assert!(row.ends_with(",\"'-1+1\""), "{row:?}");
        assert!(row.contains("could-not-grade"), "{row}");
    }
}
