//! `assay kit`: the candidate handout — the webapp's source, its Dockerfile, and a README with the
//! rubric's questions — as one zip.

use crate::error::Error;
use assay_core::{QuestionKind, Rubric};
use std::io::Write;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/webapp_files.rs"));

/// The folder every handout file sits in inside the zip.
pub const HANDOUT_DIR: &str = "devops-take-home";
/// The webapp's folder in the handout, and the image name its README builds
/// (`docker build -t sample-webapp .`).
pub const WEBAPP_DIR: &str = "sample-webapp";
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

/// The webapp README's section that says what is graded (moved to the top README).
const CHECKED_HEADING: &str = "## What will be checked";
/// The webapp README's questions section (the questions live in the top README).
const QUESTIONS_HEADING: &str = "## Questions";

/// The handout's self-check script, with the rubric's numbers filled in.
const SELF_CHECK: &str = include_str!("kit/self-check.sh");
/// Its name in the handout folder.
pub const SELF_CHECK_NAME: &str = "self-check.sh";

/// The embedded webapp README split in two: its own documentation (up to the questions) and
/// the "What will be checked" section. A README the build embedded without them is an
/// internal fault ([`ErrorKind::Host`](crate::error::ErrorKind::Host)).
fn webapp_readme_parts() -> Result<(String, String), Error> {
    let readme = WEBAPP_FILES
        .iter()
        .find(|(p, _)| *p == "README.md")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .ok_or_else(|| Error::host("the embedded webapp has no README.md"))?;
    if !readme.contains(QUESTIONS_MARKER) {
        return Err(Error::host(format!(
            "the webapp README has no {QUESTIONS_MARKER} marker"
        )));
    }
    let docs_end = readme.find(QUESTIONS_HEADING).ok_or_else(|| {
        Error::host(format!(
            "the webapp README has no `{QUESTIONS_HEADING}` section"
        ))
    })?;
    let checked = readme
        .find(CHECKED_HEADING)
        .map(|i| readme[i..].trim_end().to_string())
        .ok_or_else(|| {
            Error::host(format!(
                "the webapp README has no `{CHECKED_HEADING}` section"
            ))
        })?;
    Ok((readme[..docs_end].trim_end().to_string(), checked))
}

/// The webapp's README as the handout ships it: its own documentation, pointing one folder up
/// for the questions and how to submit.
pub fn webapp_readme() -> Result<String, Error> {
    let (docs, _) = webapp_readme_parts()?;
    Ok(format!(
        "{docs}\n\n## Questions\n\nThe questions, how to submit and what will be checked are in the README one folder up (`../README.md`).\n"
    ))
}

/// The handout's top README: the candidate's guide — what is in the folder, the task, the
/// rubric's questions, how to submit, the self-check, and what will be checked. Every command
/// in it is run from the handout folder, as it says.
pub fn handout_readme(rubric: &Rubric) -> Result<String, Error> {
    let (_, checked) = webapp_readme_parts()?;
    let image = WEBAPP_DIR;
    let tags = rubric
        .database
        .allowed_tags
        .iter()
        .filter(|t| *t != "latest")
        .map(|t| format!("`postgres:{t}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let questions = questions_markdown(rubric);
    let min = rubric.essays.min_words;
    Ok(format!(
        r#"# DevOps take-home

Thank you for taking the time. This folder is the whole take-home:

```
README.md         this file: the task, the questions, how to submit
{SELF_CHECK_NAME}     checks your folder before you send it
{image}/    the application to run: source, Dockerfile, and its own README
```

## The task

`{image}` is a small web service that stores notes in PostgreSQL. Run it together with a
Postgres database so that the two talk to each other on any machine, and answer the questions
below. How the app is configured (environment variables, ports, health endpoint) is in
`{image}/README.md`. You do not need to change its code.

To try the image on its own, from this folder:

```sh
docker build -t {image} ./{image}
```

## Questions

{questions}## How to submit

1. **Work in this folder.** Put your orchestration file here (`compose.yaml` or
   `docker-compose.yml`; one folder down, such as `deploy/compose.yaml`, is found too) and your
   answers in `ANSWERS.md` with one heading per question (`## Q1`, `## Q2`, …), or in one file
   per question (`q1.md`, `q2.md`, …).
2. **Keep `{image}/` as it is.** In your compose file, either build it —
   `build: ./{image}` from this folder, `build: ../{image}` from a folder one down — or use
   the image its README builds, `image: {image}`. Either way the grader runs its own pristine
   build of this webapp; changes to its source are not used (and are shown to the reviewer).
3. **Include your `.env`.** The grader has none of your shell's variables: a `${{VARIABLE}}`
   in your compose file takes its value from the `.env` beside that file (include it, with the
   values to use for grading), or it is blank. `${{PWD}}` is read as the compose file's folder.
4. **Plan for no internet.** The grading machine is offline. Postgres ({tags}) and this
   webapp are available; any other image, and anything downloaded while your stack starts, is
   not.
5. **Check, then zip the folder.** From this folder:

   ```sh
   sh {SELF_CHECK_NAME}
   cd .. && zip -r submission.zip {HANDOUT_DIR} -x '*/target/*' '*/.git/*'
   ```

   One top folder in the zip is fine (the grader looks inside it). A git repository with the
   same files is fine too.

## Check before you send

`sh {SELF_CHECK_NAME}` (from this folder, or with its path from anywhere) reads your folder as
the grader will: it finds your compose file, checks that it builds `{image}/` or uses
`image: {image}`, that every `${{VARIABLE}}` it uses is set in the `.env` beside it, that its
images are available offline, and that every answer has at least {min} words (counted like
`wc -w`; the grader's own count differs by a few words). With Docker installed it also runs
`docker compose config` on your file. It changes nothing and exits 1 when something needs
fixing.

{checked}
"#
    ))
}

/// The self-check script with the rubric's numbers in it.
pub fn self_check_script(rubric: &Rubric) -> String {
    let tags: Vec<&str> = rubric
        .database
        .allowed_tags
        .iter()
        .map(String::as_str)
        .filter(|t| {
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        })
        .collect();
    SELF_CHECK
        .replace("@MIN_WORDS@", &rubric.essays.min_words.to_string())
        .replace("@PG_TAGS@", &tags.join(" "))
}

/// Writes the handout zip to `out`.
///
/// A README the build embedded without its sections is an internal fault (exit 3); an `out`
/// that cannot be written is the command line's (exit 2).
pub fn write_kit(rubric: &Rubric, out: &Path) -> Result<usize, Error> {
    let readme = handout_readme(rubric)?;
    let webapp_readme = webapp_readme()?;
    let file = std::fs::File::create(out)
        .map_err(|e| Error::usage(format!("cannot create {}: {e}", out.display())))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut count = 0;
    let mut add = |name: String, data: &[u8]| -> Result<(), Error> {
        zip.start_file(name.clone(), opts)
            .map_err(|e| Error::usage(format!("{name}: {e}")))?;
        zip.write_all(data)
            .map_err(|e| Error::usage(format!("{name}: {e}")))?;
        count += 1;
        Ok(())
    };
    for (path, bytes) in WEBAPP_FILES {
        let data: &[u8] = if *path == "README.md" {
            webapp_readme.as_bytes()
        } else {
            bytes
        };
        add(format!("{HANDOUT_DIR}/{WEBAPP_DIR}/{path}"), data)?;
    }
    add(format!("{HANDOUT_DIR}/README.md"), readme.as_bytes())?;
    add(
        format!("{HANDOUT_DIR}/{SELF_CHECK_NAME}"),
        self_check_script(rubric).as_bytes(),
    )?;
    zip.finish()
        .map_err(|e| Error::usage(format!("{}: {e}", out.display())))?;
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
