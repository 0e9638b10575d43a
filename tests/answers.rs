//! Answers credited only where they answer: fixture submissions through the real binary.
//!
//! `tests/fixtures/answers/` holds submissions written for these tests; `tests/fixtures/blind/`
//! holds 20 documents written by someone who never saw the matcher (10 with real answers
//! labelled in different ways, 10 with numbered or keyword sections that are not answers) and
//! `LABELS.tsv` (document → the questions it answers, or `none`).
//!
//! To compare with another build of assay (e.g. the commit before a matcher change):
//! `ASSAY_BASE_BIN=/path/to/old/assay cargo test --test answers blind -- --nocapture`
//! prints misses and false credits of both side by side.

mod support;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::*;

fn json_report(bin: &Path, submission: &Path) -> serde_json::Value {
    let o = std::process::Command::new(bin)
        .args(["evaluate", "--static", "--format", "json"])
        .arg(submission)
        .env("NO_COLOR", "1")
        .output()
        .expect("run assay");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!("{}: {e}: {}", submission.display(), stderr(&o));
    });
    v[0].clone()
}

fn report_of(fixture: &str) -> serde_json::Value {
    let path = repo_root().join("tests/fixtures/answers").join(fixture);
    json_report(Path::new(env!("CARGO_BIN_EXE_assay")), &path)
}

fn check<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn numbered_sections_of_a_challenges_document_are_not_answers() {
    let v = report_of("challenges-numbered");
    let elective = check(&v, "essays.elective");
    assert_eq!(elective["status"], "fail", "{elective}");
    let min_words = check(&v, "essays.min-words");
    assert_ne!(
        min_words["status"], "fail",
        "no min-words failure for sections that are not answers: {min_words}"
    );
    let answers = v["answers"].as_array().unwrap();
    assert!(answers.is_empty(), "nothing is an answer: {answers:?}");

    // The report says what was searched and why the numbered sections were not credited.
    let docs = v["documents_searched"].as_array().unwrap();
    let challenges = docs
        .iter()
        .find(|d| d["file"] == "docs/CHALLENGES.md")
        .expect("CHALLENGES.md searched");
    assert_eq!(challenges["role"], "other");
    let readme = docs.iter().find(|d| d["file"] == "README.md").unwrap();
    assert_eq!(readme["role"], "readme");
    let not_credited: Vec<(String, String)> = challenges["not_credited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["question"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let questions: Vec<&str> = not_credited.iter().map(|(q, _)| q.as_str()).collect();
    assert_eq!(questions, ["q1", "q2", "q3", "q4", "q5"]);
    let (_, networking) = &not_credited[1];
    assert!(
        networking.starts_with("looks numbered like Q2 but is not about it ("),
        "{networking}"
    );
    let first = &challenges["not_credited"][1];
    assert_eq!(first["heading"], "## 2. Networking");
    assert_eq!(first["location"]["line"], 12);

    // The terminal report says so too.
    let path = repo_root().join("tests/fixtures/answers/challenges-numbered");
    let text = stdout(&assay(&["evaluate", "--static", path.to_str().unwrap()]));
    assert!(
        text.contains("not an answer: docs/CHALLENGES.md:12:1 `## 2. Networking` looks numbered like Q2 but is not about it"),
        "{text}"
    );
    assert!(
        text.contains("answers searched in: README.md, docs/CHALLENGES.md"),
        "{text}"
    );
}

#[test]
fn answers_labelled_five_usual_ways_are_all_credited() {
    let v = report_of("labelled-five-ways");
    let found: Vec<(&str, &str, &str)> = v["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["question"].as_str().unwrap(),
                a["file"].as_str().unwrap(),
                a["credited_because"].as_str().unwrap(),
            )
        })
        .collect();
    let expect: [(&str, &str, &str); 5] = [
        // a keyword heading in another document, about its question
        (
            "q1",
            "docs/deployment.md",
            "heading names Q1 (`orchestration`) and about Q1: matched",
        ),
        // an explicit heading label in an answer document
        ("q2", "ANSWERS.md", "labelled `Question 2`"),
        // an inline bold label starting a paragraph
        ("q3", "ANSWERS.md", "labelled `Q3`"),
        // a file per question in an answers folder
        ("q4", "answers/4-security.txt", "its file name names Q4"),
        // a numbered heading in the README, about its question
        ("q5", "README.md", "numbered `5` and about Q5: matched"),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for ((q, file, why), (eq, efile, ewhy)) in found.iter().zip(expect) {
        assert_eq!((*q, *file), (eq, efile));
        assert!(why.starts_with(ewhy), "{q}: {why}");
    }
    for id in ["essays.q1", "essays.elective", "essays.min-words"] {
        assert_eq!(check(&v, id)["status"], "pass", "{id}: {}", check(&v, id));
    }
    // README's `## 1. Running it` is a setup step, reported as not credited.
    let readme = v["documents_searched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["file"] == "README.md")
        .unwrap();
    assert_eq!(readme["credited"], serde_json::json!(["q5"]));
    assert_eq!(readme["not_credited"][0]["heading"], "## 1. Running it");
}

/// Where a blind document is put in its submission: the name after `answer-NN-`/`decoy-NN-`,
/// with a `docs-` prefix meaning the `docs/` folder.
fn placed_name(fixture: &str) -> String {
    let rest = fixture
        .split_once('-')
        .and_then(|(_, r)| r.split_once('-'))
        .map_or(fixture, |(_, r)| r);
    match rest.strip_prefix("docs-") {
        Some(r) => format!("docs/{r}"),
        None => rest.to_string(),
    }
}

const MINIMAL_COMPOSE: &str = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD_FILE: /run/secrets/pg\n  webapp:\n    image: assay/sample-webapp\n    environment:\n      PGHOST: db\n";

/// Runs `bin` on a submission holding the blind document `fixture` (and a compose file) and
/// returns the questions credited to that document.
fn credited(bin: &Path, fixture: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let placed = placed_name(fixture);
    let dest = dir.path().join(&placed);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(blind_dir().join(fixture), &dest).unwrap();
    std::fs::write(dir.path().join("compose.yaml"), MINIMAL_COMPOSE).unwrap();
    let v = json_report(bin, dir.path());
    v["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["file"] == placed.as_str())
        .map(|a| a["question"].as_str().unwrap().to_string())
        .collect()
}

fn blind_dir() -> PathBuf {
    repo_root().join("tests/fixtures/blind")
}

/// (fixture, expected questions) from LABELS.tsv.
fn labels() -> Vec<(String, BTreeSet<String>)> {
    let text = std::fs::read_to_string(blind_dir().join("LABELS.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (file, qs) = l.split_once('\t').expect("file<TAB>questions");
            let expected = if qs.trim() == "none" {
                BTreeSet::new()
            } else {
                qs.split(',').map(|q| q.trim().to_string()).collect()
            };
            (file.to_string(), expected)
        })
        .collect()
}

/// Misses and false credits of one build over the blind documents, per document.
struct Tally {
    rows: Vec<(String, Vec<String>, Vec<String>)>,
}

impl Tally {
    fn of(bin: &Path) -> Tally {
        let rows = labels()
            .into_iter()
            .map(|(file, expected)| {
                let got = credited(bin, &file);
                let missed = expected.difference(&got).cloned().collect();
                let false_credits = got.difference(&expected).cloned().collect();
                (file, missed, false_credits)
            })
            .collect();
        Tally { rows }
    }
    fn misses(&self) -> usize {
        self.rows.iter().map(|r| r.1.len()).sum()
    }
    fn false_credits(&self) -> usize {
        self.rows.iter().map(|r| r.2.len()).sum()
    }
}

#[test]
fn blind_documents_are_credited_as_labelled() {
    assert_eq!(placed_name("decoy-10-docs-scaling.md"), "docs/scaling.md");
    assert_eq!(placed_name("answer-02-ANSWERS.md"), "ANSWERS.md");
    let after = Tally::of(Path::new(env!("CARGO_BIN_EXE_assay")));
    if let Ok(base) = std::env::var("ASSAY_BASE_BIN") {
        let before = Tally::of(Path::new(&base));
        println!("| document | expected | before: missed / false | after: missed / false |");
        println!("|---|---|---|---|");
        let list = |v: &Vec<String>| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(",")
            }
        };
        for ((file, expected), (b, a)) in labels().iter().zip(before.rows.iter().zip(&after.rows)) {
            let exp: Vec<String> = expected.iter().cloned().collect();
            println!(
                "| {file} | {} | {} / {} | {} / {} |",
                if exp.is_empty() {
                    "none".into()
                } else {
                    exp.join(",")
                },
                list(&b.1),
                list(&b.2),
                list(&a.1),
                list(&a.2)
            );
        }
        println!(
            "| **total** | | {} / {} | {} / {} |",
            before.misses(),
            before.false_credits(),
            after.misses(),
            after.false_credits()
        );
    }
    let detail: Vec<String> = after
        .rows
        .iter()
        .filter(|r| !r.1.is_empty() || !r.2.is_empty())
        .map(|(f, m, fc)| format!("{f}: missed {m:?}, false {fc:?}"))
        .collect();
    assert_eq!(
        (after.misses(), after.false_credits()),
        (0, 0),
        "misses and false credits over the blind documents: {detail:#?}"
    );
}

/// The handout as `assay kit` ships it, sent back unchanged: its README holds the questions,
/// not answers, and is set aside as the handout.
#[test]
fn the_handout_sent_back_is_not_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("kit.zip");
    let o = assay(&["kit", "--out", zip.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_report(Path::new(env!("CARGO_BIN_EXE_assay")), &zip);
    assert!(
        v["answers"].as_array().unwrap().is_empty(),
        "{}",
        v["answers"]
    );
    assert_eq!(check(&v, "essays.elective")["status"], "fail");
    let docs = v["documents_searched"].as_array().unwrap();
    assert_eq!(
        docs.len(),
        1,
        "the webapp folder's README is not searched: {docs:?}"
    );
    assert_eq!(docs[0]["file"], "README.md");
    assert_eq!(docs[0]["role"], "handout");
}
