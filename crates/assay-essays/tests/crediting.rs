//! Which sections are credited as answers, in which documents, and the reasons the report gives.

mod support;

use assay_essays::{grade_with, DocumentRole, EssayOutcome, GradeOptions, SearchedDocument};
use std::path::PathBuf;
use support::{prose, rubric};

/// Grades `files` with `opts` (the top README is the root README unless `opts` names one).
fn grade(
    files: &[(&str, String)],
    rubric: &assay_core::Rubric,
    opts: GradeOptions,
) -> EssayOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        docs.push(PathBuf::from(name));
    }
    let top_readme = opts.top_readme.clone().or_else(|| {
        docs.iter()
            .find(|d| d.to_str() == Some("README.md"))
            .cloned()
    });
    let opts = GradeOptions { top_readme, ..opts };
    grade_with(
        &assay_core::SubmissionRoot::open(dir.path()).unwrap(),
        &docs,
        rubric,
        true,
        &opts,
    )
}

fn credited(o: &EssayOutcome) -> Vec<(&str, &str)> {
    o.answers
        .iter()
        .map(|a| (a.question.as_str(), a.file.as_str()))
        .collect()
}

fn doc<'a>(o: &'a EssayOutcome, file: &str) -> &'a SearchedDocument {
    o.documents.iter().find(|d| d.file == file).unwrap()
}

/// About 160 words of a real answer to the test rubric's q2 (open source).
const OPEN_SOURCE: &str =
    "I maintain a small open-source library for parsing cron expressions, and I \
contribute fixes to two larger projects that depend on it. I started the library because every \
scheduler I used parsed schedules slightly differently, and I wanted one well tested parser that \
others could share. The hardest challenges were compatibility and time zones: users rely on odd \
behaviour, so every change needs a test that pins the old result before the fix lands. When a pull \
request arrives I answer within two days, ask for a failing test first, and review the change with \
the contributor rather than rewriting it myself. Issues get a label the same week, and questions \
become documentation so the next person finds the answer without asking. As a maintainer I learned \
that a quick, kind no is better than a pull request left open for months, and that contributors \
who feel heard come back with the next fix and often help review the issues of others.";

#[test]
fn quarters_and_numbered_design_documents_are_not_questions() {
    let o = grade(
        &[
            (
                "docs/ROADMAP.md",
                format!("# Roadmap\n\n## Q2 2024\n\n{OPEN_SOURCE}\n"),
            ),
            ("docs/3-tier-architecture.md", prose(300)),
            ("answers/2-open-source.md", OPEN_SOURCE.to_string()),
        ],
        &rubric(),
        GradeOptions::new(support::extractor()),
    );
    assert_eq!(credited(&o), [("q2", "answers/2-open-source.md")]);
    assert_eq!(
        doc(&o, "docs/3-tier-architecture.md").role,
        DocumentRole::Other
    );
    assert_eq!(
        doc(&o, "answers/2-open-source.md").why,
        "an answer document: its name names Q2"
    );
    assert!(
        o.diagnostics.iter().all(|d| !d.message.contains("3-tier")),
        "{:?}",
        o.diagnostics
    );
}

#[test]
fn faq_entries_numbered_like_questions_are_not_answers_but_a_bare_label_is() {
    let faq = format!(
        "# FAQ\n\n### Q2: Why does the web container restart?\n\n{}\n\n### Q4: Is port 8080 safe to publish?\n\n{}\n",
        "Because the database was not ready yet. The compose file waits for the health check of \
         the database service, so run docker compose up again after pulling the latest file and \
         check the logs of the db service if it still happens.",
        prose(60)
    );
    let notes = format!("# Notes\n\n## Question 2\n\n{OPEN_SOURCE}\n");
    let o = grade(
        &[("docs/FAQ.md", faq), ("docs/notes.md", notes)],
        &rubric(),
        GradeOptions::new(support::extractor()),
    );
    assert_eq!(credited(&o), [("q2", "docs/notes.md")]);
    assert_eq!(o.answers[0].credited_because, "labelled `Question 2`");
    let faq = doc(&o, "docs/FAQ.md");
    assert_eq!(faq.role, DocumentRole::Other);
    let reasons: Vec<&str> = faq.not_credited.iter().map(|u| u.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].starts_with("labelled `Q2` but is not about Q2 ("),
        "{}",
        reasons[0]
    );
    assert_eq!(
        faq.not_credited[0].heading,
        "### Q2: Why does the web container restart?"
    );
}

#[test]
fn a_numbered_readme_section_is_credited_when_it_is_about_its_question() {
    let readme = format!(
        "# My stack\n\n## 1. Setup\n\nRun docker compose up and open port 8080 in a browser.\n\n## 2. Open source\n\n{OPEN_SOURCE} {OPEN_SOURCE}\n"
    );
    let o = grade(
        &[("README.md", readme)],
        &rubric(),
        GradeOptions::new(support::extractor()),
    );
    assert_eq!(credited(&o), [("q2", "README.md")]);
    let why = &o.answers[0].credited_because;
    assert!(
        why.starts_with("numbered `2` and about Q2: matched `open source`"),
        "{why}"
    );
    assert!(why.contains("similarity 0."), "{why}");
    let readme = doc(&o, "README.md");
    assert_eq!(readme.role, DocumentRole::Readme);
    assert_eq!(readme.not_credited[0].heading, "## 1. Setup");
}

/// With no keywords in the rubric, only similarity to the question's text can show that a
/// numbered section is about its question: an answer that speaks to the question is still
/// credited, a section about something else is not.
#[test]
fn a_rubric_without_keywords_judges_by_similarity_alone() {
    let mut r = rubric();
    for q in &mut r.questions {
        q.keywords.clear();
    }
    let about = format!("## 2. The project I contribute to\n\n{OPEN_SOURCE}\n");
    let decoy = format!("## 2. Networking\n\n{}\n", prose(200));
    let o = grade(
        &[("docs/notes.md", about), ("docs/CHALLENGES.md", decoy)],
        &r,
        GradeOptions::new(support::extractor()),
    );
    assert_eq!(credited(&o), [("q2", "docs/notes.md")]);
    let why = &o.answers[0].credited_because;
    assert!(why.contains("no keyword, similarity"), "{why}");
    assert_eq!(doc(&o, "docs/CHALLENGES.md").not_credited.len(), 1);
}

#[test]
fn a_copy_of_the_handout_is_not_searched() {
    let handout = format!(
        "# Take-home\n\nBuild the webapp and answer the questions.\n\n## Question 2\n\n{}\n\n## Question 4\n\n{}\n\n{}\n",
        rubric().questions[1].text,
        rubric().questions[3].text,
        prose(120)
    );
    let opts = GradeOptions {
        handout_markdown: vec![handout.clone()],
        ..GradeOptions::new(support::extractor())
    };
    let o = grade(
        &[
            ("README.md", handout),
            ("ANSWERS.md", format!("## Q2\n\n{OPEN_SOURCE}\n")),
        ],
        &rubric(),
        opts,
    );
    assert_eq!(credited(&o), [("q2", "ANSWERS.md")]);
    let copy = doc(&o, "README.md");
    assert_eq!(copy.role, DocumentRole::Handout);
    assert!(
        copy.why.starts_with("a copy of the handout (similarity "),
        "{}",
        copy.why
    );
}

/// A candidate who wrote an answer into the handout's README under its question is read, and
/// the questions left unanswered there are not answers of 0 words.
#[test]
fn answers_written_into_the_handout_are_read() {
    let q = |n: usize| rubric().questions[n].text.clone();
    let handout = format!(
        "# Take-home\n\nBuild the webapp and answer the questions.\n\n{}\n\n## Question 2\n\n{}\n\n## Question 4\n\n{}\n",
        prose(120),
        q(1),
        q(3)
    );
    let answered = handout.replacen(
        "\n\n## Question 4",
        &format!("\n\n{OPEN_SOURCE} {OPEN_SOURCE}\n\n## Question 4"),
        1,
    );
    let opts = GradeOptions {
        handout_markdown: vec![handout],
        ..GradeOptions::new(support::extractor())
    };
    let o = grade(&[("README.md", answered)], &rubric(), opts);
    assert_eq!(credited(&o), [("q2", "README.md")]);
    let readme = doc(&o, "README.md");
    assert_eq!(readme.role, DocumentRole::Readme);
    assert_eq!(readme.credited, ["q2"]);
    let empty = &readme.not_credited[0];
    assert_eq!(
        (empty.question.as_str(), empty.heading.as_str()),
        ("q4", "## Question 4")
    );
    assert_eq!(
        empty.reason,
        "labelled `Question 4` but holds no answer text (at most the question's own)"
    );
}

/// The company's own handout, in its own words (not the rubric's): every labelled section
/// states a question and answers none, so the document is the questions, not answers.
#[test]
fn a_handout_of_the_questions_in_other_words_is_not_answers() {
    let handout = "# DevOps take-home\n\n\
        ## Question 1\n\nProvide an orchestration file so the webapp can talk to Postgres in a portable way; \
        without one, explain how you would connect the services portably and how it would scale.\n\n\
        ## Question 2\n\nAn open-source project you built or contribute to: why, the challenges, and how \
        you handle pull requests and issues from other people.\n\n\
        ## Question 3\n\nA system you improved: what you changed, the specifics, and the lessons you learned.\n\n\
        ## Question 4\n\nA serious vulnerability you found or fixed, and your philosophy of threat mitigation.\n\n\
        ## Question 5\n\nSoftware you would redesign, the workarounds you use, and the DevOps tooling you \
        wish existed and how you would build it.\n";
    let o = grade(
        &[("take-home.md", handout.to_string())],
        &rubric(),
        GradeOptions::new(support::extractor()),
    );
    assert!(o.answers.is_empty(), "{:?}", credited(&o));
    let d = doc(&o, "take-home.md");
    assert_eq!(d.role, DocumentRole::Handout, "{}", d.why);
    assert_eq!(
        d.why,
        "states 4 questions and answers none: a copy of the questions (a handout), not answers"
    );
    // Q1 is answered by the orchestration file here, so its section is a pointer; the other
    // four state their questions.
    assert_eq!(d.not_credited.len(), 5);
}

/// Short answers that stay close to their questions are still answers (too short ones, which
/// `essays.min-words` reports), not a copy of the questions.
#[test]
fn short_answers_are_not_taken_for_the_questions() {
    let answers = "# Answers\n\n\
        ## Q2\n\nI contribute to an open-source HTTP client. The hardest challenge is keeping old \
        behaviour while fixing bugs; I review pull requests within two days and label new issues \
        every week so contributors know where they stand.\n\n\
        ## Q3\n\nI improved our deploy pipeline: builds took twenty minutes, I cached dependencies \
        and split the tests, and they now take six. The lesson was to measure each step before \
        changing anything.\n\n\
        ## Q4\n\nI fixed a path traversal vulnerability in an upload handler that let a crafted zip \
        write outside its folder. My approach to threat mitigation is least privilege first, then \
        small blast radius, then monitoring.\n\n\
        ## Q5\n\nI would redesign cron: no history, no ownership. Today my workaround is a wrapper \
        script and a freshness alert. The tool I wish existed records every run and alerts on \
        misses; I would build it as one small binary.\n";
    let o = grade(
        &[("ANSWERS.md", answers.to_string())],
        &rubric(),
        GradeOptions::new(support::extractor()),
    );
    let found: Vec<&str> = o.answers.iter().map(|a| a.question.as_str()).collect();
    assert_eq!(found, ["q2", "q3", "q4", "q5"], "{:?}", o.documents);
    assert_eq!(doc(&o, "ANSWERS.md").role, DocumentRole::Answers);
}
