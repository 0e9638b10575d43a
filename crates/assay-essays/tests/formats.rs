//! Every answer format, with known counts (cross-checked by `tests/reference.rs`).

mod support;

use assay_core::Severity;
use assay_essays::{Answer, EssayOutcome};

fn outcome(label: &str) -> EssayOutcome {
    let (_, files) = support::fixture_set()
        .into_iter()
        .find(|(l, _)| *l == label)
        .unwrap();
    support::grade_files(&files, false)
}

fn answer<'a>(o: &'a EssayOutcome, q: &str) -> &'a Answer {
    o.answers
        .iter()
        .find(|a| a.question == q)
        .unwrap_or_else(|| panic!("no {q} in {:?}", o.answers))
}

fn assert_excludes(a: &Answer, words: &[&str]) {
    for w in words {
        assert!(
            !a.text.contains(w),
            "{} text should not contain {w:?}: {}",
            a.question,
            a.text
        );
    }
}

#[test]
fn markdown_renders_to_prose_only() {
    let o = outcome("markdown");
    assert!(o.diagnostics.is_empty(), "{:?}", o.diagnostics);
    assert_eq!(o.answers.len(), 2);
    let q1 = answer(&o, "q1");
    assert_eq!(
        (q1.place().as_str(), q1.words, q1.wc_words),
        ("ANSWERS.md:8:1", 110, 109)
    );
    assert_eq!(
        q1.removed_question_words, 15,
        "the quoted question is not counted"
    );
    assert!(
        q1.text.contains("Compose specification"),
        "link text is kept"
    );
    assert!(q1.text.contains("state-of-the-art"));
    assert_excludes(
        q1,
        &[
            "compose-spec.io",
            "postgres:16",
            "title:",
            "devops",
            "Give an orchestration",
            "Concern |",
            "**",
        ],
    );
    let q3 = answer(&o, "q3");
    assert_eq!(
        (q3.place().as_str(), q3.words, q3.wc_words),
        ("ANSWERS.md:34:1", 33, 33)
    );
    assert_excludes(
        q3,
        &[
            "chart of build times",
            "Running this repository",
            "docker compose up",
            "[^1]",
        ],
    );
    assert!(
        q3.text.contains("Measured over 1,000 builds"),
        "footnote text is kept"
    );
}

#[test]
fn plain_text_file_per_question_with_pasted_question() {
    let o = outcome("text");
    let q2 = answer(&o, "q2");
    assert_eq!(
        (q2.place().as_str(), q2.words, q2.wc_words),
        ("q2.txt:1:1", 84, 89)
    );
    assert_eq!(q2.removed_question_words, 25);
    assert_excludes(q2, &["Tell us about", "Open source\n"]);
    assert!(q2
        .text
        .contains("https://github.com/example/logship/discussions"));
}

#[test]
fn html_text_without_script_style_comments_or_code() {
    let o = outcome("html");
    let q4 = answer(&o, "q4");
    assert_eq!(
        (q4.place().as_str(), q4.words, q4.wc_words),
        ("answers.html:11:1", 59, 60)
    );
    assert_excludes(
        q4,
        &[
            "script",
            "color",
            "comment",
            "curl",
            "not counted",
            "owasp.org",
        ],
    );
    assert!(q4.text.contains("& make the next one catch it"));
    let q5 = answer(&o, "q5");
    assert_eq!((q5.place().as_str(), q5.words), ("answers.html:23:1", 13));
    assert!(q5.text.starts_with("I’d redesign"));
}

#[test]
fn docx_paragraphs_tables_and_footnotes() {
    let o = outcome("docx");
    assert!(o.diagnostics.is_empty(), "{:?}", o.diagnostics);
    let q4 = answer(&o, "q4");
    assert_eq!(
        (q4.place().as_str(), q4.words, q4.wc_words),
        ("Q4 - security.docx", 77, 77)
    );
    assert!(
        q4.text.contains("disclosed to customers on 2024-03-08"),
        "footnote: {}",
        q4.text
    );
    assert!(
        q4.text.contains("egress allow-list"),
        "table cells: {}",
        q4.text
    );
    assert!(
        q4.text.contains("server-side request forgery"),
        "runs are joined: {}",
        q4.text
    );
    assert_excludes(q4, &["Q4 - security"]);
}

#[test]
fn pdf_text_layer() {
    let o = outcome("pdf");
    assert!(o.diagnostics.is_empty(), "{:?}", o.diagnostics);
    let q5 = answer(&o, "q5");
    assert_eq!(
        (q5.place().as_str(), q5.words, q5.wc_words),
        ("answers/question-5.pdf", 102, 102)
    );
    assert!(
        q5.text.contains("https://example.com/release-rings"),
        "{}",
        q5.text
    );
    assert_excludes(q5, &["Question 5"]);
}

#[test]
fn latin1_fallback_is_counted_and_reported() {
    let o = outcome("latin1");
    let q3 = answer(&o, "q3");
    assert_eq!((q3.words, q3.wc_words), (22, 23));
    assert!(
        q3.text.contains("system’s") && q3.text.contains("didn’t") && q3.text.contains("Naïve"),
        "{}",
        q3.text
    );
    let d = &o.diagnostics[0];
    assert_eq!(
        (d.severity, d.location.as_ref().unwrap().to_string()),
        (Severity::Warning, "q3.txt".to_string())
    );
    assert!(d.message.contains("Windows-1252"), "{d}");
}

#[test]
fn utf16_with_bom_is_decoded() {
    let o = outcome("utf16");
    let q2 = answer(&o, "q2");
    assert_eq!((q2.words, q2.wc_words), (13, 13));
    assert!(
        o.diagnostics.iter().any(|d| d.message.contains("UTF-16LE")),
        "{:?}",
        o.diagnostics
    );
}

#[test]
fn cjk_and_thai_are_segmented_into_words() {
    let o = outcome("cjk-thai");
    let q5 = answer(&o, "q5");
    // 9 Japanese + 7 Chinese + 7 Thai + 6 mixed; `wc -w` sees 7 runs.
    assert_eq!((q5.words, q5.wc_words), (29, 7));
}

#[test]
fn pdf_words_placed_by_positioning_are_separated() {
    // Word gaps made without space characters, as ps2pdf and justified layouts write them:
    // TJ offsets (-300 = 0.3 em), character spacing (Tc) inside one string with the next string
    // placed right after its last glyph (Helvetica: `live` is 15 pt wide at 10 pt, `dc` ends at
    // 84.435), and kerning (-20) that must not split a word; then a word hyphenated across lines.
    let content = "BT /F1 10 Tf 56 700 Td [(short-lived) -300 (credentials.) -300 (We) -300 (did) -20 (n't)] TJ ET\n\
                   BT /F1 10 Tf 56 687 Td (live) Tj 2.875 Tc (dc) Tj 0 Tc 1 0 0 1 84.435 687 Tm (redentials leak) Tj ET\n\
                   BT /F1 10 Tf 56 674 Td (we moved the infra-) Tj ET\n\
                   BT /F1 10 Tf 56 661 Td (structure) Tj ET\n";
    let pdf = support::gen::pdf_with_contents(&[content.to_string()]);
    let o = support::grade_files(&[("q4.pdf".to_string(), pdf)], true);
    let q4 = answer(&o, "q4");
    assert_eq!(
        q4.text,
        "short-lived credentials. We didn't\nlived credentials leak\nwe moved the infra-structure\n"
    );
    assert_eq!((q4.words, q4.wc_words), (11, 11));
}
