//! Every answer format, with known counts.

mod support;

use assay_essays::{grade, EssayOutcome};
use std::path::PathBuf;
use support::gen::{self, Para};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

fn grade_files(files: &[(&str, Vec<u8>)], has_orchestration_file: bool) -> EssayOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        docs.push(PathBuf::from(name));
    }
    grade(dir.path(), &docs, &support::rubric(), has_orchestration_file)
}

fn summary(o: &EssayOutcome) -> Vec<(String, String, usize, usize)> {
    o.answers.iter().map(|a| (a.question.clone(), a.location.as_ref().map_or(a.file.clone(), |l| l.to_string()), a.words, a.wc_words)).collect()
}

#[test]
fn dump() {
    for (name, files) in [
        ("md", vec![("ANSWERS.md", fixture("formats/ANSWERS.md"))]),
        ("txt", vec![("q2.txt", fixture("formats/q2.txt"))]),
        ("html", vec![("answers.html", fixture("formats/answers.html"))]),
        ("cjk", vec![("cjk.md", fixture("formats/cjk.md"))]),
        ("250", vec![("ANSWERS.md", fixture("min_words/answer_250.md"))]),
    ] {
        let o = grade_files(&files, false);
        println!("{name}: {:?}\n  diags {:?}", summary(&o), o.diagnostics);
        for a in &o.answers { println!("  text: {}", a.text_excerpt); }
    }
    let d = gen::docx(&[Para::Heading(1, "Q4 - security"), Para::Text("I fixed a serious bug."), Para::WithFootnote("See the report.", "CVE-2024-1234 was assigned."), Para::Table(vec![vec!["cell one", "cell two"]])]);
    let o = grade_files(&[("Q4 - security.docx", d)], false);
    println!("docx: {:?} {:?}", summary(&o), o.diagnostics);
    let p = gen::pdf_from_paragraphs(&["Question 5".to_string(), "I would redesign the build system because it is slow.".to_string()], 40);
    let o = grade_files(&[("answers.pdf", p)], false);
    println!("pdf: {:?} {:?}", summary(&o), o.diagnostics);
    for a in &o.answers { println!("  text: {}", a.text_excerpt); }
}
