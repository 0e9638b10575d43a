//! Hostile answer documents: each is a located diagnostic, never a panic or an exhaustion.

mod support;

use assay_core::{CheckId, Severity, Status};
use assay_essays::{
    extract::extract_bytes, extract_document, grade, ExtractError, ExtractLimits, Extractor, Format,
};
use support::gen;

fn unread(file: &str, bytes: Vec<u8>) -> assay_core::Diagnostic {
    let o = support::grade_files(&[(file.to_string(), bytes)], true);
    assert!(o.answers.is_empty(), "{file}: {:?}", o.answers);
    let errors: Vec<_> = o
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{file}: {:?}", o.diagnostics);
    assert_eq!(errors[0].location.as_ref().unwrap().to_string(), file);
    let elective = o
        .checks
        .iter()
        .find(|c| c.id == CheckId::EssaysElective)
        .unwrap();
    assert_eq!(elective.status, Status::Fail);
    assert_eq!(
        &elective.details[0], errors[0],
        "the failing check names the unreadable document"
    );
    errors[0].clone()
}

#[test]
fn malformed_pdfs_are_diagnostics() {
    let good = support::pdf_fixture();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("header only", b"%PDF-1.7\n".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("no xref, garbage", [b"%PDF-1.4\n".as_slice(), &[0xAB; 4096]].concat()),
        ("not a pdf", b"hello, this is a text file named .pdf".to_vec()),
        ("empty", Vec::new()),
        ("broken objects", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Kids [2 0 R] /Count 999999999 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec()),
    ];
    for (what, bytes) in cases {
        let d = unread("q5.pdf", bytes);
        assert!(
            d.message.contains("PDF") || d.message.contains("pdf"),
            "{what}: {}",
            d.message
        );
    }
}

/// Whether `line` is text of `original`: a piece of it, or one of its lines with at most
/// `changed` characters replaced (a corrupted byte inside a text string shows as another
/// character).
fn from_original(original: &str, line: &str, changed: usize) -> bool {
    original.contains(line)
        || original.lines().any(|o| {
            o.chars().count() == line.chars().count()
                && o.chars().zip(line.chars()).filter(|(a, b)| a != b).count() <= changed
        })
}

#[test]
fn mutated_pdfs_never_crash() {
    // Deterministic corruptions of a valid PDF, read as the grader reads them (in the parser
    // child): each comes back within the parser's deadline, either as text within the caps that
    // was in the original (a corruption may lose text, never invent it), or as an error located
    // at the file that says what went wrong with the PDF. Both outcomes occur.
    let good = support::pdf_fixture();
    let extractor = support::extractor();
    let dir = tempfile::tempdir().unwrap();
    let read_back = |bytes: &[u8]| {
        std::fs::write(dir.path().join("m.pdf"), bytes).unwrap();
        let started = std::time::Instant::now();
        let r = extract_document(
            &assay_core::SubmissionRoot::open(dir.path()).unwrap(),
            "m.pdf".as_ref(),
            &extractor,
        );
        (r, started.elapsed())
    };
    let original = match read_back(&good).0 {
        Ok(doc) => doc.text(),
        Err(e) => panic!("the unmutated fixture reads: {e:?}"),
    };
    assert!(original.contains("Question 5"), "{original}");
    let deadline = extractor.limits.parser_timeout + std::time::Duration::from_secs(2);
    let mut seed = 0x9e37_79b9_u64;
    let (mut read, mut errors) = (0, 0);
    for round in 0..60 {
        let mut bytes = good.clone();
        let mutations = 1 + round % 8;
        for _ in 0..mutations {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (seed >> 33) as usize % bytes.len();
            bytes[at] = (seed >> 17) as u8;
        }
        if round % 5 == 0 {
            bytes.truncate(bytes.len() * 3 / 4);
        }
        let (outcome, took) = read_back(&bytes);
        assert!(took <= deadline, "round {round}: {took:?}");
        match outcome {
            Ok(doc) => {
                let text = doc.text();
                assert!(
                    text.len() <= extractor.limits.max_text_bytes,
                    "round {round}"
                );
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    assert!(
                        from_original(&original, line, mutations),
                        "round {round}: {line:?} is not in the original, even with {mutations} bytes changed"
                    );
                }
                assert!(
                    doc.diagnostics
                        .iter()
                        .all(|d| d.severity != Severity::Error),
                    "round {round}: {:?}",
                    doc.diagnostics
                );
                read += 1;
            }
            Err(ExtractError::Document(d)) => {
                assert_eq!(d.severity, Severity::Error, "round {round}");
                assert_eq!(
                    d.location.as_ref().map(|l| l.to_string()).as_deref(),
                    Some("m.pdf"),
                    "round {round}"
                );
                assert!(
                    [
                        "malformed PDF",
                        "not a PDF",
                        "the PDF's",
                        "PDF text extraction"
                    ]
                    .iter()
                    .any(|p| d.message.starts_with(p)),
                    "round {round}: {}",
                    d.message
                );
                errors += 1;
            }
            Err(ExtractError::Fault(why)) => {
                panic!("round {round}: the parser child failed: {why}")
            }
        }
    }
    assert_eq!(read + errors, 60);
    assert!(
        read > 0 && errors > 0,
        "the corruptions reach both outcomes: {read} read, {errors} unreadable"
    );
    println!("{read} of 60 mutated PDFs were read, {errors} unreadable");
}

#[test]
fn a_docx_with_a_zip_bomb_inside_is_a_diagnostic() {
    // word/document.xml inflates to 20 MiB from a few KiB; the part cap is 16 MiB.
    let bomb = gen::docx_bomb(20 * 1024 * 1024);
    assert!(
        bomb.len() < 200 * 1024,
        "the bomb is small on disk: {}",
        bomb.len()
    );
    let d = unread("Q3 - answer.docx", bomb);
    assert!(
        d.message.contains("expands beyond") && d.message.contains("zip bomb"),
        "{}",
        d.message
    );
}

#[test]
fn a_docx_that_lies_about_its_sizes_is_still_bounded() {
    let bomb = gen::lie_about_sizes(gen::docx_bomb(20 * 1024 * 1024), 100);
    let d = unread("q3.docx", bomb);
    assert!(
        d.message.contains("word/document.xml") || d.message.contains("zip"),
        "{}",
        d.message
    );
}

#[test]
fn other_broken_docx_files_are_diagnostics() {
    let d = unread("q2.docx", b"PK\x03\x04 this is not really a zip".to_vec());
    assert!(d.message.contains(".docx"), "{}", d.message);
    // A zip without word/document.xml.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, b"hi").unwrap();
        z.finish().unwrap();
    }
    let d = unread("q2.docx", buf.into_inner());
    assert!(
        d.message.contains("word/document.xml is missing"),
        "{}",
        d.message
    );
    // Too many entries.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for i in 0..2_500 {
            z.start_file(format!("f{i}"), zip::write::SimpleFileOptions::default())
                .unwrap();
        }
        z.finish().unwrap();
    }
    let d = unread("q2.docx", buf.into_inner());
    assert!(d.message.contains("2500 zip entries"), "{}", d.message);
    // Broken XML inside.
    let mut doc = gen::docx(&[gen::Para::Text("fine")]);
    let at = doc.windows(4).position(|w| w == b"fine").map(|_| 0);
    assert!(at.is_none(), "document.xml is compressed");
    doc = {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file(
                "word/document.xml",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            std::io::Write::write_all(
                &mut z,
                b"<w:document><w:body><w:p><w:t>unclosed &bogus; </w:p>",
            )
            .unwrap();
            z.finish().unwrap();
        }
        buf.into_inner()
    };
    let d = unread("q2.docx", doc);
    assert!(d.message.starts_with("word/document.xml:"), "{}", d.message);
}

#[test]
fn oversized_and_special_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("q2.md"), "word ".repeat(5_000)).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("q3.txt")).unwrap();
    let extractor = Extractor {
        limits: ExtractLimits {
            max_file_bytes: 1024,
            ..ExtractLimits::default()
        },
        parser: support::parser(),
    };
    let docs = vec!["q2.md".into(), "q3.txt".into(), "missing.md".into()];
    let root = assay_core::SubmissionRoot::open(dir.path()).unwrap();
    let o = grade(&root, &docs, &support::rubric(), true, &extractor);
    assert!(o.answers.is_empty());
    let msgs: Vec<String> = o.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        msgs[0].starts_with("q2.md: answer document is 25000 bytes, over the 1024-byte limit"),
        "{msgs:?}"
    );
    #[cfg(unix)]
    assert!(
        msgs[1].starts_with("q3.txt: answer document is not a regular file"),
        "{msgs:?}"
    );
    assert!(
        msgs.last()
            .unwrap()
            .starts_with("missing.md: cannot read answer document"),
        "{msgs:?}"
    );
}

#[test]
fn long_text_is_capped_with_a_warning() {
    let limits = ExtractLimits {
        max_text_bytes: 1000,
        ..ExtractLimits::default()
    };
    let text = "A line of ten words that goes on and on.\n".repeat(100);
    let doc = extract_bytes("q2.txt", Format::Text, text.as_bytes(), &limits).unwrap();
    assert!(doc.text().len() <= 1000);
    assert!(doc.diagnostics[0]
        .message
        .contains("longer than 1000 bytes"));
}

#[test]
fn pathological_markup_is_linear_and_safe() {
    let limits = ExtractLimits::default();
    let deep_md = format!("{}deep\n", "> ".repeat(10_000));
    let html = "<div>".repeat(50_000) + &"<a href='".repeat(1000) + "<script>";
    let entities = "&#xFFFFFF;&#99999999999;&;&#;&#x;".repeat(1000);
    for (fmt, src) in [
        (Format::Markdown, deep_md),
        (Format::Html, html),
        (Format::Html, entities),
        (Format::Markdown, "[".repeat(50_000)),
    ] {
        let start = std::time::Instant::now();
        let r = extract_bytes("x", fmt, src.as_bytes(), &limits);
        assert!(r.is_ok(), "{fmt:?}");
        println!("{fmt:?} {} bytes in {:?}", src.len(), start.elapsed());
    }
}

#[test]
fn a_pdf_with_a_compression_bomb_inside_is_a_diagnostic() {
    // Small enough to be readable under the default limits...
    let small = gen::pdf_flate_bomb(64 * 1024);
    let doc = extract_bytes("ok.pdf", Format::Pdf, &small, &ExtractLimits::default()).unwrap();
    assert_eq!(doc.text().trim(), "hello");
    // ...and refused before parsing when its streams inflate beyond the cap.
    let limits = ExtractLimits {
        max_pdf_inflated_bytes: 1024 * 1024,
        ..ExtractLimits::default()
    };
    let bomb = gen::pdf_flate_bomb(4 * 1024 * 1024);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let err = extract_bytes("bomb.pdf", Format::Pdf, &bomb, &limits).unwrap_err();
    assert!(err.message.contains("compression bomb"), "{err}");
}

/// The old check looked at the last component only, so a linked folder (`answers` → a folder
/// outside) was read through. Every component is now opened without following links.
#[cfg(unix)]
#[test]
fn an_answer_under_a_linked_folder_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("q2.md"), "word ".repeat(300)).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("answers")).unwrap();
    let root = assay_core::SubmissionRoot::open(dir.path()).unwrap();
    let docs = vec!["answers/q2.md".into()];
    let o = grade(
        &root,
        &docs,
        &support::rubric(),
        true,
        &support::extractor(),
    );
    assert!(o.answers.is_empty());
    let msg = o.diagnostics[0].to_string();
    assert_eq!(
        msg,
        "answers/q2.md: cannot read answer document: `answers/q2.md` is refused: `answers` is a symbolic link (assay never follows links in a submission)"
    );
}
