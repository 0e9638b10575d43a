//! `assay kit`: the candidate handout — the webapp's source, its Dockerfile, and a README with the
//! rubric's questions — as one zip.

use assay_core::{QuestionKind, Rubric};
use std::io::Write;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/webapp_files.rs"));

/// The folder every handout file sits in inside the zip.
pub const HANDOUT_DIR: &str = "devops-take-home";
/// Where the README holds the questions.
pub const QUESTIONS_MARKER: &str = "<!-- QUESTIONS -->";

/// The questions as Markdown, from the rubric.
pub fn questions_markdown(rubric: &Rubric) -> String {
    let mut s = String::new();
    let electives: Vec<_> = rubric
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Elective)
        .collect();
    s.push_str(&format!(
        "Answer **Q1** and at least **{}** of the other questions. Every written answer needs at least **{} words**; put your answers in `ANSWERS.md` with a heading per question (`## Q2`), or one file per question (`q2.md`).\n\n",
        rubric.essays.electives_required, rubric.essays.min_words
    ));
    for q in &rubric.questions {
        let tag = match q.kind {
            QuestionKind::Orchestration => " (required)",
            QuestionKind::Elective if electives.len() > rubric.essays.electives_required => {
                " (elective)"
            }
            QuestionKind::Elective => " (required)",
        };
        s.push_str(&format!(
            "### {} — {}{tag}\n\n{}\n\n",
            q.id.to_uppercase(),
            q.title,
            q.text.trim()
        ));
    }
    s
}

/// The handout README: the webapp's README with the questions put in place of the marker.
pub fn handout_readme(rubric: &Rubric) -> Result<String, String> {
    let readme = WEBAPP_FILES
        .iter()
        .find(|(p, _)| *p == "README.md")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .ok_or("the embedded webapp has no README.md")?;
    if !readme.contains(QUESTIONS_MARKER) {
        return Err(format!(
            "the webapp README has no {QUESTIONS_MARKER} marker"
        ));
    }
    Ok(readme.replacen(QUESTIONS_MARKER, &questions_markdown(rubric), 1))
}

/// Writes the handout zip to `out`.
pub fn write_kit(rubric: &Rubric, out: &Path) -> Result<usize, String> {
    let readme = handout_readme(rubric)?;
    let file =
        std::fs::File::create(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut count = 0;
    for (path, bytes) in WEBAPP_FILES {
        let name = format!("{HANDOUT_DIR}/sample-webapp/{path}");
        let data: &[u8] = if *path == "README.md" {
            readme.as_bytes()
        } else {
            bytes
        };
        zip.start_file(name.clone(), opts)
            .map_err(|e| format!("{name}: {e}"))?;
        zip.write_all(data).map_err(|e| format!("{name}: {e}"))?;
        count += 1;
    }
    let top = format!("{HANDOUT_DIR}/README.md");
    zip.start_file(top.clone(), opts)
        .map_err(|e| format!("{top}: {e}"))?;
    zip.write_all(readme.as_bytes())
        .map_err(|e| format!("{top}: {e}"))?;
    count += 1;
    zip.finish()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(count)
}

/// How a submission's copy of the webapp differs from the handout (for the reviewer: the
/// evaluation runs the pristine webapp whatever the copy says).
pub fn webapp_changes(webapp_dir: &Path) -> Vec<String> {
    let mut changes = Vec::new();
    for (rel, ours) in WEBAPP_FILES {
        if *rel == "README.md" {
            continue; // the handout README carries the questions; candidates may edit it
        }
        match std::fs::read(webapp_dir.join(rel)) {
            Ok(theirs) if theirs == *ours => {}
            Ok(_) => changes.push(format!("changed {rel}")),
            Err(_) => changes.push(format!("missing {rel}")),
        }
    }
    let mut stack = vec![webapp_dir.join("src")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(webapp_dir) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !WEBAPP_FILES.iter().any(|(p, _)| *p == rel) {
                    changes.push(format!("added {rel}"));
                }
            }
        }
    }
    changes.sort();
    changes
}
