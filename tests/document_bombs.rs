//! A document built to take the grader down, graded in a batch through the real binary: assay
//! survives it, the other submissions get their full reports, and the bomb's submission fails its
//! essays with the reason, naming the document (issue 10, item 3).

mod support;
use support::*;

use assay_testkit::docgen as gen;

use std::io::{Read, Write};
use std::path::Path;

/// `examples/good.zip` with its essays replaced by `essay.pdf` holding `pdf`.
fn good_with_essay_pdf(pdf: &[u8], out: &Path) {
    let good = std::fs::read(repo_root().join("examples/good.zip")).unwrap();
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(good)).unwrap();
    let mut dst = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let mut entry = src.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        if entry.is_dir() || name == "good/ANSWERS.md" {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        dst.start_file(name, opts).unwrap();
        dst.write_all(&data).unwrap();
    }
    dst.start_file("good/essay.pdf", opts).unwrap();
    dst.write_all(pdf).unwrap();
    dst.finish().unwrap();
}

fn evaluate_json(paths: &[&Path]) -> (Option<i32>, serde_json::Value, String) {
    let mut args = vec!["evaluate", "--static", "--format", "json"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let o = assay(&args);
    let v = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    (o.status.code(), v, stderr(&o))
}

/// A report without what differs from run to run, by file name, or by batch (alice and carol
/// are the same submission, so the batch flags their answers as copies of each other).
fn comparable(report: &serde_json::Value) -> serde_json::Value {
    let mut r = without_durations(report);
    r["submission"] = "".into();
    r["similar_answers"] = serde_json::json!([]);
    if let Some(notes) = r["notes"].as_array_mut() {
        notes.retain(|n| !n.as_str().unwrap_or("").contains("is near-identical"));
    }
    r
}

#[test]
fn a_pdf_bomb_in_a_static_batch_fails_its_own_essays_only() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bomb, carol) = (
        dir.path().join("alice.zip"),
        dir.path().join("bomb.zip"),
        dir.path().join("carol.zip"),
    );
    std::fs::copy(repo_root().join("examples/good.zip"), &alice).unwrap();
    std::fs::copy(repo_root().join("examples/good.zip"), &carol).unwrap();
    // Issue 10's essay: 4 GiB behind [/ASCII85Decode /FlateDecode], about 5 MB.
    good_with_essay_pdf(&gen::pdf_chain_bomb(4 << 30), &bomb);

    let (code, batch, err) = evaluate_json(&[&alice, &bomb, &carol]);
    assert_eq!(code, Some(1), "one FAIL in the batch: {err}");
    let reports = batch.as_array().expect("a batch prints an array");
    assert_eq!(reports.len(), 3, "every submission has its report");

    // The good ones: exactly the report they get when graded alone.
    let (solo_code, solo, _) = evaluate_json(&[&alice]);
    assert_eq!(solo_code, Some(0));
    for r in [&reports[0], &reports[2]] {
        assert_eq!(r["verdict"], "pass", "{r}");
        assert_eq!(comparable(r), comparable(&solo[0]));
    }

    // The bomb's: graded too, failing on its essays, which name the document and the reason.
    let r = &reports[1];
    assert_eq!(r["submission"], "bomb.zip");
    assert_eq!(r["verdict"], "fail");
    let failed: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["essays.elective"], "{r}");
    let elective = check(r, "essays.elective");
    assert!(
        elective["evidence"]
            .as_str()
            .unwrap()
            .ends_with("1 answer document(s) could not be read"),
        "{elective}"
    );
    let reason = "essay.pdf: the PDF's compressed streams expand beyond 268435456 bytes (compression bomb?); not read";
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str() == Some(&format!("essays: {reason}"))),
        "{}",
        r["notes"]
    );
    assert_eq!(
        elective["details"][0]["location"]["file"], "essay.pdf",
        "{elective}"
    );
}

#[test]
fn the_parser_child_is_this_binary_and_refuses_a_bad_request() {
    // `assay internal-parse-document` is the child `evaluate` starts; fed nonsense, it says so
    // and exits 3 (the grader reports that as its own fault, never the candidate's).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .arg("internal-parse-document")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"not json\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).starts_with("assay document parser: bad request:"),
        "{}",
        stderr(&o)
    );
    // Hidden from the help.
    let help = stdout(&assay(&["--help"]));
    assert!(!help.contains("internal-parse-document"), "{help}");
}
