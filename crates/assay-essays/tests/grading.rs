//! The `essays.*` checks and answer matching, end to end through `grade`.

mod support;

use assay_core::{CheckId, CheckResult, Severity, SkipKind, Status};
use assay_essays::{count_words, near_duplicates, EssayOutcome};
use support::{fixture, grade_files, prose};

fn files(list: &[(&str, String)]) -> Vec<(String, Vec<u8>)> {
    list.iter()
        .map(|(n, s)| (n.to_string(), s.clone().into_bytes()))
        .collect()
}

fn check(o: &EssayOutcome, id: CheckId) -> &CheckResult {
    o.checks.iter().find(|c| c.id == id).unwrap()
}

fn words_of(o: &EssayOutcome, q: &str) -> Option<usize> {
    o.answers.iter().find(|a| a.question == q).map(|a| a.words)
}

#[test]
fn a_249_word_answer_fails_and_a_250_word_answer_passes() {
    let o = grade_files(
        &[("ANSWERS.md".into(), fixture("min_words/answer_249.md"))],
        true,
    );
    let c = check(&o, CheckId::EssaysMinWords);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.evidence, "q3: 249 words: 1 short (within 5 % of 250)");
    assert_eq!(c.location.as_ref().unwrap().to_string(), "ANSWERS.md:5:1");
    assert_eq!(c.details.len(), 1);
    assert!(
        c.details[0].message.contains("wc -w 253"),
        "{}",
        c.details[0]
    );
    assert_eq!(
        check(&o, CheckId::EssaysElective).status,
        Status::Pass,
        "short but present"
    );
    assert_eq!(check(&o, CheckId::EssaysQ1).status, Status::Pass);

    let o = grade_files(
        &[("ANSWERS.md".into(), fixture("min_words/answer_250.md"))],
        true,
    );
    let c = check(&o, CheckId::EssaysMinWords);
    assert_eq!(c.status, Status::Pass, "{}", c.evidence);
    assert!(
        c.evidence
            .contains("q3 ANSWERS.md:5:1 (250 words; wc -w 254)"),
        "{}",
        c.evidence
    );
}

/// Builds a Markdown answer from the same 250 words with every kind of decoration.
fn decorated(words: &str) -> String {
    let q3 = &support::rubric().questions[2];
    let w: Vec<&str> = words.split_whitespace().collect();
    let mut md = format!(
        "---\nauthor: someone with several words here\n---\n\n## Question 3\n\n> {}\n\n",
        q3.text
    );
    for (i, chunk) in w.chunks(25).enumerate() {
        let line = chunk
            .iter()
            .enumerate()
            .map(|(j, word)| match (i + j) % 9 {
                1 => format!("**{word}**"),
                3 => format!("_{word}_"),
                5 => format!("[{word}](https://example.com/some/long-url?x=1)"),
                7 => format!("`{word}`"),
                _ => word.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        match i % 4 {
            0 => md.push_str(&format!("{line}\n\n")),
            1 => md.push_str(&format!("- {line}\n\n")),
            2 => md.push_str(&format!("1. {line}\n\n```sh\ndocker compose up --build -d && echo lots of code words\n```\n\n")),
            _ => md.push_str(&format!("> {line} 🎉 →\n\n---\n\n")),
        }
    }
    md.push_str("![diagram of everything](arch.png)\n\n    indented code block words\n");
    md
}

#[test]
fn markdown_syntax_code_blocks_and_a_pasted_question_do_not_change_the_count() {
    let plain = prose(250);
    assert_eq!(count_words(&plain), 250);
    let o = grade_files(&files(&[("q3.txt", plain.clone())]), true);
    assert_eq!(words_of(&o, "q3"), Some(250));
    let md = decorated(&plain);
    let o = grade_files(&files(&[("ANSWERS.md", md.clone())]), true);
    assert_eq!(words_of(&o, "q3"), Some(250), "{md}");
    let a = &o.answers[0];
    assert_eq!(a.removed_question_words, 16);
    assert_eq!(check(&o, CheckId::EssaysMinWords).status, Status::Pass);
    // Same text, one word less: fails.
    let md249 = decorated(&prose(249));
    let o = grade_files(&files(&[("ANSWERS.md", md249)]), true);
    assert_eq!(words_of(&o, "q3"), Some(249));
    assert_eq!(check(&o, CheckId::EssaysMinWords).status, Status::Fail);
}

#[test]
fn q1_is_an_orchestration_file_or_a_long_enough_essay() {
    let long = format!(
        "## Question 1\n\n{}\n\n## Question 2\n\n{}\n",
        prose(260),
        prose(300)
    );
    let o = grade_files(&files(&[("ANSWERS.md", long.clone())]), false);
    let c = check(&o, CheckId::EssaysQ1);
    assert_eq!(c.status, Status::Pass);
    assert!(
        c.evidence
            .starts_with("no orchestration file; Q1 essay: q1 ANSWERS.md:1:1 (260 words"),
        "{}",
        c.evidence
    );
    assert_eq!(check(&o, CheckId::EssaysMinWords).status, Status::Pass);

    let short = format!(
        "## Question 1\n\n{}\n\n## Question 2\n\n{}\n",
        prose(120),
        prose(300)
    );
    let o = grade_files(&files(&[("ANSWERS.md", short.clone())]), false);
    let c = check(&o, CheckId::EssaysQ1);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.evidence.contains("120 words, minimum 250"),
        "{}",
        c.evidence
    );
    assert_eq!(
        check(&o, CheckId::EssaysMinWords).evidence,
        "q1: 120 words, minimum 250"
    );

    // With an orchestration file, short Q1 notes are not an essay and not measured.
    let o = grade_files(&files(&[("ANSWERS.md", short)]), true);
    assert_eq!(check(&o, CheckId::EssaysQ1).status, Status::Pass);
    assert_eq!(check(&o, CheckId::EssaysMinWords).status, Status::Pass);

    let o = grade_files(
        &files(&[("README.md", "# My project\n\nRun it.\n".into())]),
        false,
    );
    assert_eq!(
        check(&o, CheckId::EssaysQ1).evidence,
        "no orchestration file and no Q1 essay found"
    );
}

#[test]
fn electives_are_counted_and_a_missing_one_fails() {
    let o = grade_files(
        &files(&[
            ("q2.md", prose(260)),
            ("answers/question-5.txt", prose(255)),
        ]),
        true,
    );
    let c = check(&o, CheckId::EssaysElective);
    assert_eq!(c.status, Status::Pass);
    assert!(
        c.evidence
            .starts_with("2 of 4 elective questions answered (1 required): q2 q2.md"),
        "{}",
        c.evidence
    );

    let o = grade_files(
        &files(&[("README.md", "# Notes\n\nNothing here.\n".into())]),
        true,
    );
    let c = check(&o, CheckId::EssaysElective);
    assert_eq!(
        (c.status, c.evidence.as_str()),
        (
            Status::Fail,
            "0 of 4 elective questions answered (1 required)"
        )
    );
    let c = check(&o, CheckId::EssaysMinWords);
    assert_eq!(
        (c.status, c.skip),
        (Status::Skipped, Some(SkipKind::NotApplicable))
    );

    // An unreadable document is named in the failing check.
    let o = grade_files(&[("q3.pdf".into(), b"%PDF-1.4 garbage".to_vec())], true);
    let c = check(&o, CheckId::EssaysElective);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.evidence
            .ends_with("; 1 answer document(s) could not be read"),
        "{}",
        c.evidence
    );
    assert_eq!(
        c.details[0].location.as_ref().unwrap().to_string(),
        "q3.pdf"
    );
}

#[test]
fn near_misses_say_how_many_words_are_missing() {
    let md = format!(
        "## Q2\n\n{}\n\n## Q3\n\n{}\n\n## Q4\n\n{}\n",
        prose(240),
        prose(200),
        prose(300)
    );
    let o = grade_files(&files(&[("ANSWERS.md", md)]), true);
    let c = check(&o, CheckId::EssaysMinWords);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.evidence,
        "q2: 240 words: 10 short (within 5 % of 250); q3: 200 words, minimum 250"
    );
    let places: Vec<String> = c
        .details
        .iter()
        .map(|d| d.location.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(places, ["ANSWERS.md:1:1", "ANSWERS.md:19:1"]);
}

#[test]
fn file_names_that_name_a_question() {
    let body = prose(30);
    for (name, q) in [
        ("q2.md", "q2"),
        ("answers/question-3.txt", "q3"),
        ("Q4 - security.txt", "q4"),
        ("essays/5.md", "q5"),
        ("answer_1.md", "q1"),
        ("q3/answer.md", "q3"),
    ] {
        let o = grade_files(&files(&[(name, body.clone())]), true);
        let found: Vec<(&str, usize)> = o
            .answers
            .iter()
            .map(|a| (a.question.as_str(), a.words))
            .collect();
        assert_eq!(found, [(q, 30)], "{name}");
    }
}

#[test]
fn section_labels_in_one_document() {
    // A sub-heading inside an answer ("Details") is part of it and counts.
    let doc = |h2: &str, h3: &str| {
        format!(
            "# Answers\n\n{h2}\n\n{}\n\n### Details\n\n{}\n\n{h3}\n\n{}\n",
            prose(10),
            prose(5),
            prose(7)
        )
    };
    for (h2, h3) in [
        ("## Question 2", "## Question 3"),
        ("## Q2: Open source", "## Q3. Improvements"),
        ("## 2) Open source", "## 3)"),
        ("## 2. My open-source work", "## 3."),
        ("## My open source project", "## A system I improved"),
    ] {
        let o = grade_files(&files(&[("ANSWERS.md", doc(h2, h3))]), true);
        assert_eq!(
            (words_of(&o, "q2"), words_of(&o, "q3")),
            (Some(16), Some(7)),
            "{h2} / {h3}: {:?}",
            o.diagnostics
        );
    }
    // Plain text: label lines, inline labels (a short standalone label line is a title), and a
    // numbered list that is not a label (its typed numbers are not counted).
    let txt = format!(
        "Question 2\n\n{}\n1. first step\n2. second step\n3. third step\n\nQ3: {}\n\n4.\n\n{}\n",
        prose(10),
        prose(12),
        prose(4)
    );
    let o = grade_files(&files(&[("answers.txt", txt)]), true);
    assert_eq!(
        (words_of(&o, "q2"), words_of(&o, "q3"), words_of(&o, "q4")),
        (Some(16), Some(12), Some(4)),
        "{:?}",
        o.answers
    );
}

#[test]
fn readme_sections_are_matched_strictly() {
    let readme = format!(
        "# Stack\n\n## Running\n\n{}\n\n## Security\n\nSecrets live in files.\n\n## 1. Setup\n\nSteps.\n\n## Question 4: security\n\n{}\n\n## Scaling\n\nMore replicas.\n",
        prose(8),
        prose(12)
    );
    let o = grade_files(&files(&[("README.md", readme)]), true);
    let found: Vec<(&str, usize)> = o
        .answers
        .iter()
        .map(|a| (a.question.as_str(), a.words))
        .collect();
    assert_eq!(
        found,
        [("q4", 12)],
        "a README's 'Security' or '1. Setup' sections are not answers"
    );
    assert!(o.diagnostics.is_empty(), "{:?}", o.diagnostics);
}

#[test]
fn ambiguity_is_reported_not_guessed() {
    // A heading that matches two questions' keywords equally.
    let md = format!("## Security lessons\n\n{}\n", prose(40));
    let o = grade_files(&files(&[("ANSWERS.md", md)]), true);
    assert!(o.answers.is_empty());
    let d = o
        .diagnostics
        .iter()
        .find(|d| d.message.contains("matches q3 and q4 equally"))
        .expect("tie reported");
    assert_eq!(
        (d.severity, d.location.as_ref().unwrap().to_string()),
        (Severity::Warning, "ANSWERS.md:1:1".into())
    );

    // The same question answered in two places: the longest counts, both are named.
    let o = grade_files(
        &files(&[
            ("q2.md", prose(260)),
            ("ANSWERS.md", format!("## Question 2\n\n{}\n", prose(40))),
        ]),
        true,
    );
    assert_eq!(words_of(&o, "q2"), Some(260));
    let d = o
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("q2 is answered in 2 places"))
        .expect("reported");
    assert!(
        d.message
            .contains("q2.md:1:1 (260 words), ANSWERS.md:1:1 (40 words)"),
        "{d}"
    );

    // An answer document without any label.
    let o = grade_files(&files(&[("ANSWERS.md", prose(300))]), true);
    assert!(o.answers.is_empty());
    let d = &o.diagnostics[0];
    assert_eq!(
        d.message,
        "no question labels found; its 300 words are not attributed to any question"
    );
    assert!(d.hint.as_deref().unwrap().contains("Question 2"));

    // A file named for one question whose headings name others.
    let o = grade_files(
        &files(&[("q2.md", format!("## Question 3\n\n{}\n", prose(20)))]),
        true,
    );
    assert_eq!(words_of(&o, "q3"), Some(20));
    assert!(o.diagnostics[0]
        .message
        .starts_with("file name says q2 but its headings name q3"));
}

#[test]
fn near_identical_essays_across_submissions_are_paired() {
    let base = prose(300);
    let tweaked = base.replacen("network", "subnet", 2);
    let a = grade_files(
        &files(&[
            ("q3.md", base.clone()),
            (
                "q2.md",
                format!("{} unique", prose(280).replace("the", "a")),
            ),
        ]),
        true,
    );
    let b = grade_files(&files(&[("answers/q3.txt", tweaked)]), true);
    let c = grade_files(
        &files(&[(
            "q3.md",
            "Something else entirely, written by someone who ".repeat(20),
        )]),
        true,
    );
    let pairs = near_duplicates(&a.answers, &b.answers);
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let (i, j, sim) = pairs[0];
    assert_eq!(
        (
            a.answers[i].question.as_str(),
            b.answers[j].question.as_str()
        ),
        ("q3", "q3")
    );
    assert!(sim >= 0.8, "{sim}");
    assert!(near_duplicates(&a.answers, &c.answers).is_empty());
}
