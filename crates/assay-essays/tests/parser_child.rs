//! Documents built to take a grader down, read as the grader reads them: PDF and .docx parsed in
//! the real child process (this crate's `assay-essays-parser`), under its limits. Each document
//! becomes one located diagnostic naming the limit it hit; the grading process itself never
//! holds the bomb, and the other documents of the submission are still read.

mod support;

use assay_core::{CheckId, Severity, Status};
use assay_essays::{extract_document, Document, ExtractError, ExtractLimits, Extractor, Format};
use std::time::Duration;
use support::gen;

const MIB: usize = 1024 * 1024;

/// Reads `bytes` as `name` through `limits` and the real parser child.
fn read(name: &str, bytes: &[u8], limits: ExtractLimits) -> Result<Document, ExtractError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    let extractor = Extractor {
        limits,
        parser: support::parser(),
    };
    extract_document(
        &assay_core::SubmissionRoot::open(dir.path()).unwrap(),
        name.as_ref(),
        &extractor,
    )
}

/// The error message of a document that must not be read, checked to be located at it.
fn refused(name: &str, bytes: &[u8], limits: ExtractLimits) -> String {
    match read(name, bytes, limits) {
        Ok(doc) => panic!("{name} was read: {} bytes of text", doc.text().len()),
        Err(ExtractError::Fault(why)) => panic!("{name}: the parser child failed: {why}"),
        Err(ExtractError::Document(d)) => {
            assert_eq!(d.severity, Severity::Error);
            assert_eq!(d.location.as_ref().unwrap().to_string(), name);
            d.message
        }
    }
}

/// Limits that let a bomb past every decoding cap, so only the child's limits stand.
fn caps_off(memory: usize) -> ExtractLimits {
    ExtractLimits {
        max_pdf_inflated_bytes: u64::MAX,
        max_part_bytes: u64::MAX,
        max_unzipped_bytes: u64::MAX,
        parser_memory_bytes: memory as u64,
        ..ExtractLimits::default()
    }
}

#[test]
fn an_ascii85_flate_chain_bomb_is_refused_before_parsing() {
    // Issue 10's shape: 4 GiB behind [/ASCII85Decode /FlateDecode], about 5 MB on disk.
    let bomb = gen::pdf_chain_bomb(4 << 30);
    assert!(bomb.len() < 8 * MIB, "{}", bomb.len());
    let m = refused("essay.pdf", &bomb, ExtractLimits::default());
    assert_eq!(
        m,
        "the PDF's compressed streams expand beyond 268435456 bytes (compression bomb?); not read"
    );
}

#[test]
fn a_chain_bomb_past_the_decoding_caps_hits_the_memory_limit() {
    let bomb = gen::pdf_chain_bomb(1 << 30);
    assert!(bomb.len() < 2 * MIB, "small on disk: {}", bomb.len());
    let m = refused("essay.pdf", &bomb, caps_off(192 * MIB));
    assert_eq!(
        m,
        "PDF text extraction exceeded its memory limit of 192 MiB; the document is not read"
    );
}

#[test]
fn a_docx_bomb_is_refused_at_the_part_cap_and_bounded_without_it() {
    let bomb = gen::docx_bomb(256 * MIB);
    assert!(bomb.len() < 4 * MIB, "small on disk: {}", bomb.len());
    let m = refused("Q3 - answer.docx", &bomb, ExtractLimits::default());
    assert_eq!(
        m,
        "word/document.xml expands beyond 16777216 bytes (zip bomb?); the document is not read"
    );
    let m = refused("Q3 - answer.docx", &bomb, caps_off(128 * MIB));
    assert_eq!(
        m,
        ".docx text extraction exceeded its memory limit of 128 MiB; the document is not read"
    );
}

/// Form XObjects that each call the next `fan` times, `depth` deep: `fan^depth` calls of the
/// last one, which runs `leaf`.
fn fan_out(fan: usize, depth: usize, leaf: &str) -> Vec<u8> {
    let mut forms: Vec<String> = (0..depth)
        .map(|i| format!("/X{} Do\n", i + 1).repeat(fan))
        .collect();
    forms.push(leaf.to_string());
    gen::pdf_with_forms("/X0 Do", &forms)
}

#[test]
fn a_pdf_that_never_finishes_is_killed_at_the_deadline() {
    // 32^6 ≈ 10^9 form calls, no text: the parser would run for hours.
    let hang = fan_out(32, 6, "");
    let limits = ExtractLimits {
        parser_timeout: Duration::from_secs(2),
        parser_cpu: Duration::from_secs(60),
        ..ExtractLimits::default()
    };
    let m = refused("q5.pdf", &hang, limits);
    assert_eq!(
        m,
        "PDF text extraction took longer than 2 s; the document is not read"
    );
}

#[test]
fn a_pdf_that_spins_is_stopped_by_the_cpu_limit() {
    let hang = fan_out(32, 6, "");
    let limits = ExtractLimits {
        parser_timeout: Duration::from_secs(120),
        parser_cpu: Duration::from_secs(1),
        ..ExtractLimits::default()
    };
    let m = refused("q5.pdf", &hang, limits);
    assert_eq!(
        m,
        "PDF text extraction used more than its 1 s of CPU time; the document is not read"
    );
}

#[test]
fn a_form_that_calls_itself_is_a_diagnostic_not_a_crash() {
    let pdf = gen::pdf_with_forms("/X0 Do", &["/X0 Do".to_string()]);
    let m = refused("q4.pdf", &pdf, ExtractLimits::default());
    assert_eq!(
        m,
        "PDF text extraction crashed: the document nests too deeply (stack overflow); the document is not read"
    );
}

#[test]
fn text_multiplied_by_forms_is_cut_at_the_text_cap() {
    // 16^5 ≈ 10^6 calls of a form that writes two lines: cut at 64 KiB of text.
    let pdf = fan_out(
        16,
        5,
        "BT /F1 10 Tf 56 700 Td (again) Tj 0 -30 Td (more) Tj ET",
    );
    let limits = ExtractLimits {
        max_text_bytes: 64 * 1024,
        ..ExtractLimits::default()
    };
    let doc = read("q2.pdf", &pdf, limits).unwrap();
    assert!(doc.text().len() <= 64 * 1024, "{}", doc.text().len());
    assert!(doc.text().len() > 32 * 1024, "{}", doc.text().len());
    assert!(
        doc.text().starts_with("again\nmore\nagain\n"),
        "{:?}",
        doc.blocks.first()
    );
    assert_eq!(
        doc.diagnostics[0].to_string(),
        "q2.pdf: document text is longer than 65536 bytes; the rest is not read"
    );
}

#[test]
fn a_docx_note_referenced_again_and_again_is_cut_at_the_text_cap() {
    // One footnote of 1 KiB, referenced 100 000 times (100 MB of copies).
    let note = "n".repeat(1024);
    let refs = "<w:r><w:footnoteReference w:id=\"1\"/></w:r>".repeat(100_000);
    let document = format!(
        "<w:document xmlns:w=\"x\"><w:body><w:p><w:r><w:t>Q2</w:t></w:r>{refs}</w:p></w:body></w:document>"
    );
    let footnotes = format!(
        "<w:footnotes xmlns:w=\"x\"><w:footnote w:id=\"1\"><w:p><w:r><w:t>{note}</w:t></w:r></w:p></w:footnote></w:footnotes>"
    );
    let docx = gen::zip_parts(&[
        ("word/document.xml", document.as_bytes()),
        ("word/footnotes.xml", footnotes.as_bytes()),
    ]);
    let limits = ExtractLimits {
        max_text_bytes: 256 * 1024,
        ..ExtractLimits::default()
    };
    let doc = read("q2.docx", &docx, limits).unwrap();
    assert!(doc.text().len() <= 256 * 1024);
    assert!(doc.blocks.len() > 100, "{}", doc.blocks.len());
    assert!(doc.diagnostics[0]
        .message
        .contains("longer than 262144 bytes"));
}

#[test]
fn every_fixture_reads_the_same_in_the_child_as_in_process() {
    let limits = ExtractLimits::default();
    let extractor = support::extractor();
    for (label, files) in support::fixture_set() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
            let format = Format::from_path(name.as_ref()).unwrap();
            let here = assay_essays::extract::extract_bytes(name, format, bytes, &limits).unwrap();
            let child = extract_document(
                &assay_core::SubmissionRoot::open(dir.path()).unwrap(),
                name.as_ref(),
                &extractor,
            )
            .unwrap();
            assert_eq!(child, here, "{label}: {name}");
            assert!(!child.blocks.is_empty(), "{label}: {name}");
        }
    }
}

#[test]
fn one_bomb_costs_its_submission_that_document_only() {
    // A bomb beside a good answer: the good answer is graded, the bomb is the one error, and
    // the failing check (no elective answered otherwise) names it.
    let good = support::pdf_fixture();
    let bomb = gen::pdf_chain_bomb(4 << 30);
    let o = support::grade_files(
        &[
            ("answers/question-5.pdf".to_string(), good),
            ("essay.pdf".to_string(), bomb.clone()),
        ],
        true,
    );
    assert_eq!(o.fault, None);
    assert_eq!(o.answers.len(), 1, "{:?}", o.diagnostics);
    assert_eq!(o.answers[0].question, "q5");
    let errors: Vec<String> = o
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        errors,
        ["essay.pdf: the PDF's compressed streams expand beyond 268435456 bytes (compression bomb?); not read"]
    );

    let o = support::grade_files(&[("essay.pdf".to_string(), bomb)], true);
    let elective = o
        .checks
        .iter()
        .find(|c| c.id == CheckId::EssaysElective)
        .unwrap();
    assert_eq!(elective.status, Status::Fail);
    assert!(
        elective
            .evidence
            .contains("1 answer document(s) could not be read"),
        "{}",
        elective.evidence
    );
    assert_eq!(
        elective.details[0].location.as_ref().unwrap().to_string(),
        "essay.pdf"
    );
}

#[test]
fn a_parser_that_cannot_start_is_a_fault_not_the_candidates_fail() {
    let extractor = Extractor::new(assay_essays::ParserCommand::new(
        "/nonexistent/assay",
        ["internal-parse-document"],
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("q5.pdf"), support::pdf_fixture()).unwrap();
    std::fs::write(dir.path().join("q2.md"), "# Q2\n\nSome words.\n").unwrap();
    let o = assay_essays::grade(
        &assay_core::SubmissionRoot::open(dir.path()).unwrap(),
        &["q5.pdf".into(), "q2.md".into()],
        &support::rubric(),
        true,
        &extractor,
    );
    let fault = o.fault.expect("a fault");
    assert!(
        fault.starts_with("q5.pdf: cannot start the document parser /nonexistent/assay:"),
        "{fault}"
    );
}
