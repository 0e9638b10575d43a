//! report.html in a real headless Chromium (Debian `chromium`), driven through the DevTools
//! protocol over a pipe (`--remote-debugging-pipe`: JSON messages ending in NUL on fds 3 and 4).
//! Fixture reports are rendered, then the test reads the DOM: the verdict, every failing check
//! id as a row (an optional failure marked apart from a required one), a log tail inside a
//! `<pre>`, a candidate's `<script>` shown as text and never an element, masked secrets; and,
//! on a desktop and a phone viewport with every `<details>` block opened, that no element is
//! wider than the viewport. Screenshots go to a temp dir (path printed), not the repo.
//!
//! Without Chromium the test prints a notice and passes, except under `CI=true`, where it fails.
//! `ASSAY_CHROMIUM` names another binary.

mod support;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;
use support::*;

/// How long one protocol answer may take before the test gives up (a hung browser must fail
/// the test, not hang it). Not a timing assertion: a healthy answer takes milliseconds.
const ANSWER_WAIT: Duration = Duration::from_secs(90);

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ASSAY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// The browser, or `None` after the skip notice (a failure under CI).
fn browser_or_skip(test: &str) -> Option<Browser> {
    match chromium() {
        Some(bin) => Some(Browser::launch(&bin)),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: chromium is not installed (CI=true: the browser test must run; .ci/run installs it)")
        }
        None => {
            eprintln!("SKIPPED {test}: chromium not found on PATH (apt-get install chromium, or set ASSAY_CHROMIUM)");
            None
        }
    }
}

/// A headless Chromium spoken to over the DevTools pipe.
struct Browser {
    child: Child,
    commands: ChildStdin,
    messages: Receiver<Value>,
    /// Events read while waiting for an answer, in order.
    events: Vec<Value>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(bin: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        // The shell puts our stdin on the browser's fd 3 (commands) and our stdout on its fd 4
        // (answers and events), then gives it /dev/null for both.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let commands = child.stdin.take().unwrap();
        let mut answers = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 64 * 1024];
            loop {
                let n = match answers.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.iter().position(|b| *b == 0) {
                    let msg: Vec<u8> = buf.drain(..=end).collect();
                    let v: Value = serde_json::from_slice(&msg[..end]).expect("protocol JSON");
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        Browser {
            child,
            commands,
            messages,
            events: Vec::new(),
            next_id: 0,
            _profile: profile,
        }
    }

    fn next_message(&mut self, waiting_for: &str) -> Value {
        self.messages
            .recv_timeout(ANSWER_WAIT)
            .unwrap_or_else(|e| panic!("chromium did not answer {waiting_for}: {e}"))
    }

    /// Sends `method` (to the page when `session` is given) and returns its result.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).expect("write to chromium");
        loop {
            let m = self.next_message(method);
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {}", m["error"]);
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    /// Waits for the event `method` of `session`, consuming it.
    fn event(&mut self, session: &str, method: &str) -> Value {
        let matches = |m: &Value| m["method"] == method && m["sessionId"] == session;
        if let Some(i) = self.events.iter().position(matches) {
            return self.events.remove(i);
        }
        loop {
            let m = self.next_message(method);
            if matches(&m) {
                return m;
            }
            self.events.push(m);
        }
    }

    /// A new page (tab), as a session id.
    fn page(&mut self) -> String {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"].as_str().unwrap().to_string();
        self.call(Some(&session), "Page.enable", json!({}));
        // The report's own Content-Security-Policy forbids scripts: lifted here so that what
        // keeps a candidate's `<script>` inert is the escaping alone (and so the test can run
        // its measuring script).
        self.call(
            Some(&session),
            "Page.setBypassCSP",
            json!({"enabled": true}),
        );
        session
    }

    /// Loads `file` at a `width`×`height` viewport and waits for its load event.
    fn open(&mut self, session: &str, file: &Path, width: u32, height: u32) {
        self.call(
            Some(session),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
        let url = format!("file://{}", file.display());
        let nav = self.call(Some(session), "Page.navigate", json!({"url": url}));
        assert!(nav.get("errorText").is_none(), "navigate {url}: {nav}");
        self.event(session, "Page.loadEventFired");
    }

    /// Runs `expression` in the page and returns its value.
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "script failed: {r}");
        r["result"]["value"].clone()
    }

    fn screenshot(&mut self, session: &str, to: &Path) {
        use base64::Engine as _;
        let shot = self.call(
            Some(session),
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(to, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.next_id += 1;
        let close = json!({"id": self.next_id, "method": "Browser.close", "params": {}});
        let mut bytes = serde_json::to_vec(&close).unwrap();
        bytes.push(0);
        let _ = self.commands.write_all(&bytes);
        // Chromium exits on Browser.close; kill is only for one that hangs.
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the test reads from a rendered report, with every `<details>` opened first (a folded
/// log must fit the window too once a reviewer opens it).
const READ_PAGE: &str = r#"(() => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  const w = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 0.5)
    .map(e => e.tagName.toLowerCase() + ': ' + (e.textContent || '').slice(0, 80));
  return {
    title: document.title,
    verdict: document.querySelector('#verdict .verdict')?.textContent,
    failed_required: [...document.querySelectorAll('tr.fail-required')].map(r => r.dataset.check),
    failed_optional: [...document.querySelectorAll('tr.fail-optional')].map(r => r.dataset.check),
    rows: document.querySelectorAll('#checks tbody tr').length,
    pres: [...document.querySelectorAll('pre')].map(p => p.textContent),
    codes: [...document.querySelectorAll('code')].map(c => c.textContent),
    scripts: document.querySelectorAll('script').length,
    text: document.body.innerText,
    scroll_width: document.documentElement.scrollWidth,
    inner_width: w,
    wide,
  };
})()"#;

/// Renders `report.html` in `dir` at a desktop and a phone viewport; returns what the page
/// showed at each (desktop first) after checking nothing is wider than the viewport.
fn read_report(b: &mut Browser, dir: &Path, name: &str, shots: &Path) -> Vec<Value> {
    let html = dir.join("report.html");
    let session = b.page();
    let mut seen = Vec::new();
    for (w, h) in [(1280, 800), (390, 844)] {
        b.open(&session, &html, w, h);
        let page = b.eval(&session, READ_PAGE);
        b.screenshot(&session, &shots.join(format!("{name}-{w}.png")));
        assert!(
            page["scroll_width"].as_u64() <= page["inner_width"].as_u64(),
            "{name} at {w}px: the page is {} px wide; too wide: {:#?}",
            page["scroll_width"],
            page["wide"]
        );
        assert_eq!(
            page["wide"],
            json!([]),
            "{name} at {w}px: elements wider than the viewport"
        );
        seen.push(page);
    }
    seen
}

/// A fresh temp dir kept after the test, for the screenshots (its path is printed).
fn screenshot_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("assay-report-screenshots-")
        .tempdir()
        .unwrap()
        .keep()
}

fn failed_ids(report: &Value, required: bool) -> Vec<String> {
    let mut v: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail" && c["required"] == required)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn sorted(v: &Value) -> Vec<String> {
    let mut v: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

const SECRET: &str = "Pa55-w0rd-never-shown";
/// A login name quoted in evidence (a table cell): 150 characters no browser may break at.
const LONG_USER: &str = "dbowner_with_a_very_long_name_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
const SCRIPT: &str = "<script>document.title='pwned'</script>";

/// A submission failing located static checks, with an inline secret next to the located
/// line, an answer heading carrying a `<script>`, and unbreakable 300-character words.
fn hostile_submission(root: &Path) -> PathBuf {
    let sub = root.join("hostile");
    copy_dir(
        &repo_root().join("crates/assay-checks/tests/fixtures/submissions/wrong-host"),
        &sub,
    );
    let compose = std::fs::read_to_string(sub.join("compose.yaml"))
        .unwrap()
        .replace("${DB_PASSWORD}", SECRET)
        .replace("USER: notes", &format!("USER: {LONG_USER}"))
        .replace(
            "    healthcheck:",
            "    ports:\n      - \"5432:5432\"\n    healthcheck:",
        );
    std::fs::write(sub.join("compose.yaml"), compose).unwrap();
    // Q1 is answered by the compose file, so this short Q1 section is listed as not credited,
    // its heading as written: the Markdown escapes make `<script>` literal text of the heading.
    let essays =
        std::fs::read_to_string(repo_root().join("tests/fixtures/essay-only/ANSWERS.md")).unwrap();
    let q4 = &essays[essays.find("## Q4").unwrap()..];
    let answers = format!(
        "# My answers\n\n## Q1 {} {}\n\nSee compose.yaml.\n\n{q4}",
        SCRIPT.replace('<', "\\<"),
        "B".repeat(300)
    );
    std::fs::write(sub.join("ANSWERS.md"), answers).unwrap();
    sub
}

#[test]
fn static_report_reads_well_in_chromium() {
    let Some(mut browser) = browser_or_skip("static_report_reads_well_in_chromium") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let shots = screenshot_dir();
    let sub = hostile_submission(work.path());
    let out = work.path().join("out");
    let o = assay(&[
        "evaluate",
        "--static",
        "--out",
        out.to_str().unwrap(),
        sub.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let required = failed_ids(&report, true);
    let optional = failed_ids(&report, false);
    assert!(
        required.contains(&"compose.db-host".to_string()),
        "{required:?}"
    );
    assert!(
        !optional.is_empty(),
        "the fixture fails an optional check too"
    );

    let pages = read_report(&mut browser, &out, "static", &shots);
    for page in &pages {
        assert_eq!(page["verdict"], "FAIL");
        assert_eq!(page["rows"], report["checks"].as_array().unwrap().len());
        assert_eq!(sorted(&page["failed_required"]), required);
        assert_eq!(sorted(&page["failed_optional"]), optional);
        assert_eq!(page["scripts"], 0, "no script element");
        assert!(
            page["title"].as_str().unwrap().starts_with("assay: FAIL"),
            "{}",
            page["title"]
        );
        let text = page["text"].as_str().unwrap();
        assert!(
            text.contains(SCRIPT),
            "the candidate's <script> is shown as text"
        );
        assert!(!text.contains(SECRET), "the password is masked everywhere");
        // The located db-host finding shows its compose lines, the password among them masked.
        let source = page["pres"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .find(|p| p.contains("PGHOST: localhost"))
            .unwrap_or_else(|| panic!("no source lines: {:#?}", page["pres"]));
        assert!(source.contains("PGPASSWORD: ****"), "{source}");
        // Backticked names are code elements, not literal backticks.
        assert!(
            page["codes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "webapp"),
            "{:#?}",
            page["codes"]
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# assay: FAIL"), "{md}");
    assert!(!md.contains(SECRET), "{md}");
    // In Markdown the heading is a code span (shown literally, as code); nowhere else raw.
    assert_eq!(
        md.matches("<script").count(),
        md.matches("`## Q1 <script>").count(),
        "{md}"
    );
    eprintln!("screenshots: {}", shots.display());
}

/// A report shaped as the runner makes one when the webapp crash-loops: the failure's details
/// carry the service's health log and its last log lines (multi-line text).
fn crash_loop_report() -> assay::report::Report {
    crash_loop_report_with(&[])
}

/// [`crash_loop_report`] after a reviewer's overrides.
fn crash_loop_report_with(overrides: &[&assay::overrides::Entry]) -> assay::report::Report {
    use assay_core::{CheckId, CheckResult, Diagnostic, Location};
    let log = format!(
        "{{\"level\":\"info\",\"msg\":\"starting\"}}\n\
         {{\"level\":\"error\",\"msg\":\"connect ECONNREFUSED 127.0.0.1:5432\",\"host\":\"localhost\"}}\n\
         \ttrace {}\n\
         {SCRIPT} was logged by the candidate's app",
        "x".repeat(500)
    );
    let results: Vec<CheckResult> = CheckId::ALL
        .iter()
        .map(|id| match id {
            CheckId::RuntimeUp => CheckResult::fail(
                *id,
                "service `webapp` restarts in a loop (restarted 3 times)",
            )
            .at(Location::at("compose.yaml", 17, 3))
            .with_details(vec![
                Diagnostic::info(
                    "service `webapp` is `restarting`\nhealth log (latest first):\nexit 1: curl: (7) Failed to connect",
                ),
                Diagnostic::info(format!("last 4 log lines of `webapp`:\n{log}")),
            ]),
            CheckId::RuntimeScale => CheckResult::fail(*id, "only one replica of `webapp` answered"),
            _ => CheckResult::pass(*id, "ok"),
        })
        .collect();
    let mut scored = assay::verdict::score(results, &assay::rubric::default_rubric());
    assay::verdict::apply_overrides(&mut scored, overrides).unwrap();
    assay::report::Report {
        schema_version: assay::report::SCHEMA_VERSION,
        assay_version: "0.0.0-test".into(),
        submission: "crash-loop".into(),
        verdict: scored.verdict,
        score: scored.score,
        max_score: 100.0,
        threshold: scored.threshold,
        verdict_before_overrides: scored.before_overrides.map(|(v, _)| v),
        score_before_overrides: scored.before_overrides.map(|(_, s)| s),
        mode: "full".into(),
        checks: scored.checks,
        answers: Vec::new(),
        files: Default::default(),
        notes: vec!["runtime.up: graded twice (the db was late)".into()],
        similar_answers: Vec::new(),
        documents_searched: Vec::new(),
        essay_answers: Vec::new(),
        duration_ms: 0,
        provenance: assay::report::Provenance {
            rubric_sha256: assay::report::provenance::rubric_sha256(
                &assay::rubric::default_rubric(),
            ),
            docker: Some(assay::report::DockerVersion {
                version: "26.1.5".into(),
                api_version: "1.45".into(),
            }),
            images: vec![assay::report::ImageProvenance {
                role: "db".into(),
                reference: "postgres:16".into(),
                id: Some(format!("sha256:{}", "ab".repeat(32))),
                stand_in: true,
                postgres_version: Some("15".into()),
            }],
        },
        source_dir: None,
    }
}

#[test]
fn log_tails_are_folded_preformatted_text_in_chromium() {
    let Some(mut browser) = browser_or_skip("log_tails_are_folded_preformatted_text_in_chromium")
    else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let shots = screenshot_dir();
    assay::report::write_all(&crash_loop_report(), out.path()).unwrap();
    let pages = read_report(&mut browser, out.path(), "crash-loop", &shots);
    let session = browser.page();
    browser.open(&session, &out.path().join("report.html"), 1280, 800);
    let folded = browser.eval(
        &session,
        r#"[...document.querySelectorAll('tr.fail-required details')].map(d => ({
             open: d.open,
             summary: d.querySelector('summary').textContent,
             pre: d.querySelector(':scope > pre')?.textContent ?? null }))"#,
    );
    for page in &pages {
        assert_eq!(page["verdict"], "FAIL");
        assert_eq!(sorted(&page["failed_required"]), vec!["runtime.up"]);
        assert_eq!(sorted(&page["failed_optional"]), vec!["runtime.scale"]);
        assert_eq!(page["scripts"], 0);
    }
    let folded = folded.as_array().unwrap();
    let tail = folded
        .iter()
        .find(|d| {
            d["summary"]
                .as_str()
                .unwrap()
                .starts_with("last 4 log lines of webapp:")
        })
        .unwrap_or_else(|| panic!("no folded log tail: {folded:#?}"));
    assert_eq!(tail["open"], false, "log tails start folded");
    let pre = tail["pre"].as_str().unwrap();
    assert!(pre.contains("connect ECONNREFUSED 127.0.0.1:5432"), "{pre}");
    assert!(pre.contains(&format!("{SCRIPT} was logged")), "{pre}");
    assert!(
        pre.contains("\n\ttrace x"),
        "lines and indentation are kept: {pre}"
    );
    assert!(
        folded.iter().any(|d| d["summary"]
            .as_str()
            .unwrap()
            .starts_with("service webapp is restarting")
            && d["pre"]
                .as_str()
                .unwrap()
                .contains("health log (latest first):\nexit 1:")),
        "{folded:#?}"
    );
    let text = pages[0]["text"].as_str().unwrap();
    assert!(
        text.contains("image db postgres:16 (stand-in built by assay, PostgreSQL 15) sha256:abab"),
        "provenance shown: {text}"
    );
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.starts_with("# assay: FAIL — crash-loop\n"), "{md}");
    assert!(md.contains("<pre>") && !md.contains("<script"), "{md}");
    eprintln!("screenshots: {}", shots.display());
}

/// A reviewer's override in the page: the verdict after it with the one before, the override's
/// row (what assay found, the action, who, why) and the check marked as overridden, not as a
/// failure; a long reason with markup wraps inside the page and stays text.
#[test]
fn reviewer_overrides_read_well_in_chromium() {
    let Some(mut browser) = browser_or_skip("reviewer_overrides_read_well_in_chromium") else {
        return;
    };
    let reason = format!("the crash loop is the grader's proxy, see {LONG_USER} {SCRIPT}");
    let credit = assay::overrides::Entry {
        submission: None,
        check: assay_core::CheckId::RuntimeUp,
        decision: assay::overrides::Override {
            action: assay::overrides::Action::Credit,
            reason: reason.clone(),
            by: "Dana Reviewer".into(),
        },
        at: "reviewed.yaml:2:5".into(),
    };
    let out = tempfile::tempdir().unwrap();
    let shots = screenshot_dir();
    assay::report::write_all(&crash_loop_report_with(&[&credit]), out.path()).unwrap();
    for page in read_report(&mut browser, out.path(), "overridden", &shots) {
        assert_eq!(page["verdict"], "PASS", "credited: nothing required fails");
        assert_eq!(page["failed_required"], json!([]));
        assert_eq!(sorted(&page["failed_optional"]), vec!["runtime.scale"]);
        assert_eq!(page["scripts"], 0);
        let text = page["text"].as_str().unwrap();
        assert!(
            text.contains("PASS after reviewer overrides; FAIL before them (score "),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "runtime.up\tfail\tcredited\tDana Reviewer\t{reason}"
            )),
            "the overrides table: {text}"
        );
        assert!(
            text.contains("fail → credited by reviewer"),
            "the check's own row: {text}"
        );
    }
    eprintln!("screenshots: {}", shots.display());
}
