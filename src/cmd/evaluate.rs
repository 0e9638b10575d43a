//! `assay evaluate`: check the command line's inputs, grade each submission (the library's
//! [`crate::evaluate`]), write the reports and print them, and choose the exit code.

use super::progress::Progress;
use super::{EvaluateArgs, PARSER_SUBCOMMAND};
use crate::error::{Error, ErrorKind};
use crate::evaluate::{display_name, Options};
use crate::exit::Exit;
use crate::report::{self, ColorChoice, Report};
use crate::runtime::Unavailable;
use crate::say::Say;
use crate::verdict::Verdict;
use assay_core::display::{terminal, terminal_line};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `assay evaluate`: one submission or a batch, reports to stdout and `--out`.
pub(super) fn run(mut args: EvaluateArgs) -> Result<Exit, Error> {
    let color = ColorChoice::resolve(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let rubric = super::load_rubric(args.rubric.as_deref())?;
    // Every input before any image or Docker work: a typo costs nothing but this line.
    check_inputs(&args).map_err(|problems| Error::list(ErrorKind::Usage, problems))?;
    // A reviewer's overrides, checked against the submissions named before anything is graded.
    let overrides = match &args.overrides {
        None => crate::overrides::Overrides::default(),
        Some(path) => {
            let by = crate::overrides::default_reviewer(
                crate::overrides::git_user_name(),
                std::env::var("USER").ok(),
            );
            let names: Vec<String> = args.submissions.iter().map(|p| display_name(p)).collect();
            crate::overrides::load(path, &by)
                .and_then(|o| o.check_submissions(&names).map(|()| o))?
        }
    };
    // `--rerun-failed DIR`: what passed there is not graded again; its folders (and in a
    // batch folder, the others' names) come from DIR.
    let mut earlier: Vec<report::summary::Placed> = Vec::new();
    if let Some(prev) = &args.rerun_failed {
        earlier = match report::summary::collect_placed(prev) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => {
                return Err(Error::input(format!(
                    "--rerun-failed {}: no report.json or error.json in it or its sub-folders",
                    prev.display()
                )))
            }
            Err(e) => {
                return Err(Error::input(format!(
                    "--rerun-failed {}: {e}",
                    prev.display()
                )))
            }
        };
        let passed = |p: &PathBuf| {
            let name = display_name(p);
            earlier.iter().any(|e| {
                e.entry.submission() == name
                    && matches!(&e.entry, report::summary::Entry::Graded(d)
                        if d.verdict == report::summary::DigestVerdict::Pass)
            })
        };
        let (skip, again): (Vec<PathBuf>, Vec<PathBuf>) =
            args.submissions.drain(..).partition(|p| passed(p));
        if !skip.is_empty() {
            let names: Vec<String> = skip
                .iter()
                .map(|p| terminal_line(&display_name(p)))
                .collect();
            eprintln!(
                "assay: --rerun-failed: {} passed in {} and are not graded again: {}",
                skip.len(),
                terminal_line(&prev.display().to_string()),
                names.join(", ")
            );
        }
        if again.is_empty() {
            eprintln!("assay: --rerun-failed: nothing to grade again");
            return Ok(Exit::Pass);
        }
        args.submissions = again;
    }
    // Regrading into the folder it reads: the earlier batch's layout is kept.
    let same_folder = match (&args.rerun_failed, &args.out) {
        (Some(a), Some(b)) => a
            .canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok() == Some(a)),
        _ => false,
    };
    let parser = assay_essays::ParserCommand::current_exe([PARSER_SUBCOMMAND]).map_err(|e| {
        Error::could_not_grade(format!(
            "cannot find assay's own executable to read documents: {e}"
        ))
    })?;
    let say = Say::new(|line| eprintln!("assay: {line}"));
    let (mut runtime, mut runtime_unavailable) = (None, None);
    if !args.static_only {
        eprintln!("assay: images: checking the images the runtime checks run…");
        match crate::runtime::prepare(&rubric, &say) {
            Ok(ctx) => runtime = Some(Arc::new(ctx)),
            Err(Unavailable::NoDaemon(why)) if !rubric.runtime.required => {
                runtime_unavailable = Some(why)
            }
            Err(Unavailable::NoDaemon(why) | Unavailable::Fault(why)) => {
                return Err(Error::could_not_grade(why))
            }
        }
    }
    let opts = Options {
        timeout_secs: args.timeout.unwrap_or(rubric.runtime.timeout_secs),
        rubric,
        static_only: args.static_only,
        env_overrides: args.env.iter().cloned().collect(),
        runtime,
        runtime_unavailable,
        build_webapp: args.build_webapp,
        extractor: assay_essays::Extractor::new(parser),
        overrides,
        show_phases: args.submissions.len() == 1,
        say,
    };
    let into_batch = same_folder && earlier.iter().any(|e| !e.folder.is_empty());
    let batch = args.submissions.len() > 1 || into_batch;
    let names: Vec<String> = args.submissions.iter().map(|p| display_name(p)).collect();
    let mut folders = if batch {
        batch_folders(&names)
    } else {
        vec![String::new(); names.len()]
    };
    if same_folder {
        // A submission graded before keeps its folder; a new one gets a name no other has.
        let mut used: std::collections::BTreeSet<String> =
            earlier.iter().map(|e| e.folder.clone()).collect();
        for (i, name) in names.iter().enumerate() {
            folders[i] = match earlier.iter().find(|e| e.entry.submission() == name) {
                Some(e) => e.folder.clone(),
                None if batch => report::summary::unique_folder(name, &mut used),
                None => String::new(),
            };
        }
    }
    let progress = Progress::new(names.len(), batch);
    let write_errors = std::sync::Mutex::new(Vec::new());
    // Each submission's reports are written as soon as it is graded: a long batch leaves
    // finished work on disk, and the progress line names where.
    let on_done = |i: usize, outcome: &Result<Report, Error>| {
        let mut shown_folder = None;
        if let Some(dir) = &args.out {
            let target = dir.join(&folders[i]);
            match write_one(&target, &names[i], outcome) {
                Ok(true) => shown_folder = Some(target),
                Ok(false) => {}
                Err(e) => write_errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(e),
            }
        }
        progress.done(&names[i], outcome, shown_folder.as_deref());
    };
    let outcomes =
        crate::batch::evaluate_all(&args.submissions, &opts, args.jobs as usize, &on_done);
    let mut reports = Vec::new();
    // Which input each report is (for its folder).
    let mut report_index = Vec::new();
    // Submissions that could not be graded, by name, in input order among the reports.
    let mut ungraded: Vec<(usize, report::summary::GradeError)> = Vec::new();
    let mut worst = Exit::Pass;
    for (i, (path, outcome)) in args.submissions.iter().zip(outcomes).enumerate() {
        match outcome {
            Ok(r) => {
                if r.verdict == Verdict::Fail && worst == Exit::Pass {
                    worst = Exit::Fail;
                }
                reports.push(r);
                report_index.push(i);
            }
            Err(e) => {
                // Both may quote the submission (its file name, an entry): made safe to print.
                let msg = terminal(&e.to_string());
                let shown = terminal_line(&path.display().to_string());
                if msg.contains(&shown) {
                    eprintln!("error: {msg}");
                } else {
                    eprintln!("error: {shown}: {msg}");
                }
                if e.kind() == ErrorKind::CouldNotGrade {
                    ungraded.push((i, report::summary::GradeError::new(&names[i], e.message())));
                }
                worst = match (worst, e.exit_code()) {
                    (Exit::CouldNotGrade, _) | (_, Exit::CouldNotGrade) => Exit::CouldNotGrade,
                    _ => Exit::Usage,
                };
            }
        }
    }
    crate::batch::flag_similar_answers(&mut reports);
    if let Some(dir) = &args.out {
        let mut errors = write_errors.into_inner().unwrap_or_else(|p| p.into_inner());
        // Reports flagged for similar answers changed after they were first written.
        for (r, &i) in reports.iter().zip(&report_index) {
            if !r.similar_answers.is_empty() {
                let target = dir.join(&folders[i]);
                if let Err(e) = report::write_all(r, &target) {
                    errors.push(format!("cannot write reports to {}: {e}", target.display()));
                }
            }
        }
        if batch && errors.is_empty() {
            let mut placed: Vec<report::summary::Placed> = reports
                .iter()
                .zip(&report_index)
                .map(|(r, &i)| report::summary::Placed {
                    entry: report::summary::Entry::of_report(r),
                    folder: folders[i].clone(),
                })
                .chain(ungraded.iter().map(|(i, e)| report::summary::Placed {
                    entry: report::summary::Entry::CouldNotGrade(e.clone()),
                    folder: folders[*i].clone(),
                }))
                .collect();
            if same_folder {
                // Every submission in the folder, the ones not graded again included.
                match report::summary::collect_placed(dir) {
                    Ok(all) => placed = all,
                    Err(e) => errors.push(format!("cannot read {}: {e}", dir.display())),
                }
            }
            report::summary::batch_order(&mut placed, |p| p.entry.submission());
            if let Err(e) = report::summary::write_summaries(dir, &placed) {
                errors.push(format!(
                    "cannot write the batch summary to {}: {e}",
                    dir.display()
                ));
            }
        }
        if !errors.is_empty() {
            return Err(Error::list(ErrorKind::Write, errors));
        }
    }
    progress.finish(
        &reports,
        &ungraded.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
    );
    let ungraded: Vec<report::summary::GradeError> = ungraded.into_iter().map(|(_, e)| e).collect();
    if args.format == report::Format::Junit && !ungraded.is_empty() {
        // CI reads the JUnit on stdout too: what could not be graded is an <error> there.
        print!("{}", report::render_junit_with(&reports, &ungraded));
    } else {
        print!("{}", report::render(&reports, args.format, color));
    }
    Ok(worst)
}

/// The command line's paths, checked before anything is graded: every submission is something
/// assay grades (the intake's own rule), and `--out` is a folder or can become one. Every
/// problem is listed, not just the first.
fn check_inputs(args: &EvaluateArgs) -> Result<(), Vec<String>> {
    let mut problems: Vec<String> = args
        .submissions
        .iter()
        .filter_map(|p| {
            let e = assay_intake::source_kind(p).err()?;
            Some(match other_archive(p) {
                Some(kind) => format!(
                    "{e} (hint: a {kind} archive is not unpacked by assay, whose intake limits are made for zip: unpack it into an empty folder, e.g. `mkdir sub && tar -xf {} -C sub --no-same-owner --no-same-permissions`, and grade the folder, which is copied under the same limits)",
                    p.display()
                ),
                None => e.to_string(),
            })
        })
        .collect();
    if let Some(out) = &args.out {
        if let Err(why) = check_out_dir(out) {
            problems.push(format!("--out {}: {why}", out.display()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The kind of a non-zip archive a grader may be handed, by its name.
fn other_archive(p: &Path) -> Option<&'static str> {
    let name = p.file_name()?.to_str()?.to_ascii_lowercase();
    [
        (".tar.gz", "tar.gz"),
        (".tgz", "tar.gz"),
        (".tar.bz2", "tar.bz2"),
        (".tar.xz", "tar.xz"),
        (".tar.zst", "tar.zst"),
        (".tar", "tar"),
    ]
    .into_iter()
    .find(|(ext, _)| name.ends_with(ext))
    .map(|(_, kind)| kind)
}

/// `--out` exists as a folder, or its nearest existing ancestor is one (it is created later).
fn check_out_dir(out: &Path) -> Result<(), String> {
    let mut at = Some(out);
    while let Some(p) = at {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) if p == out => return Err("exists and is not a folder".into()),
            Ok(_) => return Err(format!("{} is not a folder", p.display())),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                at = p.parent()
            }
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    Ok(())
}

/// Each submission's folder within a batch's `--out`, by input index: unique names given in
/// batch order (by submission name), as `assay report merge` names them.
fn batch_folders(names: &[String]) -> Vec<String> {
    let mut order: Vec<(&str, usize)> = names.iter().map(String::as_str).zip(0..).collect();
    report::summary::batch_order(&mut order, |(name, _)| name);
    let mut used = std::collections::BTreeSet::new();
    let mut folders = vec![String::new(); names.len()];
    for (name, i) in order {
        folders[i] = report::summary::unique_folder(name, &mut used);
    }
    folders
}

/// One submission's reports (or its error.json when it could not be graded) in `target`.
/// `Ok(false)` when there is nothing to write (a usage error).
fn write_one(target: &Path, name: &str, outcome: &Result<Report, Error>) -> Result<bool, String> {
    // What an earlier grading left of the other outcome goes (a folder holds one of them).
    let stale = |file: &str| match std::fs::remove_file(target.join(file)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    let written = match outcome {
        Ok(r) => report::write_all(r, target).and_then(|()| stale(report::summary::ERROR_FILE)),
        Err(e) if e.kind() == ErrorKind::CouldNotGrade => {
            let e = report::summary::GradeError::new(name, e.message());
            std::fs::create_dir_all(target)
                .and_then(|()| {
                    std::fs::write(target.join(report::summary::ERROR_FILE), e.to_json())
                })
                .and_then(|()| stale(report::summary::REPORT_FILE))
        }
        Err(_) => return Ok(false),
    };
    written
        .map(|()| true)
        .map_err(|e| format!("cannot write reports to {}: {e}", target.display()))
}
