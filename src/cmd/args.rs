//! The command line's arguments (clap): what each command and option means.

use crate::report::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "assay",
    version,
    about = "Grades DevOps take-home submissions: safe intake, compose loaded as Docker Compose does, real runs, fair word counts",
    after_help = "Exit codes: 0 every submission PASS · 1 at least one FAIL · 2 usage error · 3 could not grade.\n\nExample:\n  assay evaluate candidate-17.zip --out reports/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade one or more submissions (.zip, directory, or git checkout) and print the report.
    #[command(
        after_help = "Examples:\n  assay evaluate candidate.zip\n  assay evaluate --static --format json candidate.zip\n  assay evaluate --jobs 2 --out reports/ submissions/*.zip\n  assay evaluate --rerun-failed reports/ --out reports/ --overrides reviewed.yaml submissions/*.zip\n\nExit codes: 0 every submission PASS · 1 at least one FAIL · 2 usage error · 3 could not grade."
    )]
    Evaluate(EvaluateArgs),
    /// Work with compose files as assay loads them.
    #[command(subcommand)]
    Compose(ComposeCommand),
    /// Prepare the images evaluations need: pulled when a registry answers, otherwise (or with
    /// --offline) stand-ins built from Debian packages; plus the pristine webapp and the probe.
    #[command(
        after_help = "Examples:\n  assay images\n  assay images --offline\n\nA second run does nothing when every image is present (content-hash labels).\n\nThis command always tries the registry (unless --offline). An evaluation does not for an hour after no registry answered this Docker daemon (remembered per daemon ID in $TMPDIR/assay-runs/registry-unreachable.json)."
    )]
    Images {
        /// Never try a registry: build stand-ins from Debian packages (needs root and debootstrap).
        #[arg(long)]
        offline: bool,
        /// Rebuild assay's own images even when they are up to date.
        #[arg(long)]
        rebuild: bool,
        /// Rubric whose database tags and webapp image to prepare (default: the built-in rubric).
        #[arg(long, value_name = "FILE")]
        rubric: Option<PathBuf>,
    },
    /// Remove every container, network and volume that a killed or crashed run left behind
    /// (found by the `dev.assay.managed` label; runs still alive are left alone).
    #[command(
        after_help = "Removes, for every run no live assay process holds (its lock in $TMPDIR/assay-runs is free): the containers, networks and volumes labelled dev.assay.managed=true with that run's id, and the run's private work folder (the unpacked copy of the submission). Never removes images (`assay images` keeps them current), a live run's resources, or anything assay did not label.\n\nExample:\n  assay gc"
    )]
    Gc,
    /// Build the candidate handout: the sample webapp (source + Dockerfile) and a README with
    /// the rubric's questions, as one zip.
    #[command(
        after_help = "Examples:\n  assay kit --out handout.zip\n  assay kit --rubric team-rubric.yaml --out handout.zip"
    )]
    Kit {
        /// Where to write the zip.
        #[arg(long, value_name = "FILE.zip")]
        out: PathBuf,
        /// Rubric whose questions the README prints (default: the built-in rubric).
        #[arg(long, value_name = "FILE")]
        rubric: Option<PathBuf>,
    },
    /// The log-parsing exercise kit: count one endpoint's requests in an nginx access log
    /// (without our own servers and bots), live on a growing log, generate logs with answer
    /// keys, and grade a candidate's number.
    #[command(
        subcommand,
        after_help = "Examples:\n  assay logs generate --out access.log --lines 5000 --own 10.0.0.0/8\n  assay logs count access.log --own 10.0.0.0/8\n  assay logs grade access.log --answer 1234 --own 10.0.0.0/8\n  assay logs follow /var/log/nginx/access.log --from-end"
    )]
    Logs(assay_logs::LogsCommand),
    /// Work with reports already written: merge the reports of CI jobs or cluster pods into
    /// one batch folder, or compare two gradings.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Internal: the PDF/.docx parser child `assay evaluate` starts for each such answer
    /// document (request and document on stdin, reply on stdout; see `assay_essays::extract::process`).
    #[command(name = PARSER_SUBCOMMAND, hide = true)]
    ParseDocument,
}

/// The hidden subcommand that makes this binary the document parser child.
pub const PARSER_SUBCOMMAND: &str = "internal-parse-document";

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Submissions to grade: .zip files, directories or git checkouts. Several make a batch.
    #[arg(required = true, value_name = "SUBMISSION")]
    pub submissions: Vec<PathBuf>,
    /// Rubric file (default: the built-in rubric, rubrics/default.yaml).
    #[arg(long, value_name = "FILE")]
    pub rubric: Option<PathBuf>,
    /// Static checks only: no Docker needed; runtime checks are reported as not run.
    #[arg(long = "static")]
    pub static_only: bool,
    /// Write report.json, report.md, report.html and junit.xml here (error.json for a
    /// submission assay could not grade). A batch gets a sub-folder per submission and, at DIR,
    /// summary.csv, summary.json, index.html and a combined junit.xml.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// What to print on stdout. json is always an array of reports (one per submission).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Parallel evaluations in a batch, 1-64 (runtime stacks also wait for a start slot:
    /// at most max(2, CPU cores) start at once).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Deadline in seconds for one submission's runtime phase, 1-3600 [default: the rubric's
    /// runtime.timeout_secs, 180 in the built-in rubric].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
    /// Build and run the candidate's own webapp (their `build:` context and Dockerfile) instead
    /// of the pristine handout image. Needs the Dockerfile's base images (a registry, usually).
    #[arg(long)]
    pub build_webapp: bool,
    /// Set a compose variable, overriding the submission's .env (repeatable). The grader's own
    /// environment is never used for interpolation.
    #[arg(long = "env", value_name = "KEY=VAL", value_parser = parse_key_val)]
    pub env: Vec<(String, String)>,
    /// Grade again only what did not PASS in the earlier `--out` folder DIR: the submissions
    /// that failed there, could not be graded, or were never graded; the others are listed
    /// and skipped. With `--out DIR` (the same folder) their reports are replaced and the
    /// batch summaries rebuilt over every submission in it.
    #[arg(long, value_name = "DIR")]
    pub rerun_failed: Option<PathBuf>,
    /// A reviewer's overrides (YAML): checks credited or waived, each with a reason and who
    /// decided (`by:`, default `git config --global user.name`, else $USER). The verdict is recomputed
    /// and the one before the overrides kept in every report. The file is checked before
    /// anything is graded (unknown check ids, empty reasons, submissions not given: exit 2);
    /// an override of a check that passes is an error for that submission (exit 2).
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the report folders of separate runs (one per CI job, matrix entry or pod) into one
    /// batch folder: each submission's reports copied into a folder of its own, and the
    /// summary.csv, summary.json, index.html and combined junit.xml a local batch writes.
    #[command(
        after_help = "Examples:\n  assay report merge job-1/ job-2/ job-3/ --out all/\n  assay report merge artifacts/ --out all/   # every report.json (or error.json) up to four folders down\n\nExit codes: 0 every submission PASS · 1 at least one FAIL · 2 usage error (an input that is not a report folder, a report of another schema version, an output folder that is not empty) · 3 could not grade or write."
    )]
    Merge {
        /// Folders written by `assay evaluate --out` (a single submission's or a batch's).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// The merged batch folder; it must be empty or not exist yet.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Compare two gradings of the same submissions: verdict, score and check status changes
    /// (durations are not compared).
    #[command(
        after_help = "Examples:\n  assay report diff monday/ tuesday/\n  assay report diff old/summary.json new/summary.json\n  assay report diff old/report.json new/report.json\n\nEach side is a folder `evaluate --out` or `report merge` wrote, a report.json, or a summary.json (which lists only failed checks, so a check then reads failed / not failed).\n\nExit codes: 0 no verdict changed (scores or checks may have) · 1 a verdict changed or a submission is on one side only · 2 usage error (an input that is not a report)."
    )]
    Diff {
        /// The earlier grading: a report folder, report.json or summary.json.
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The later grading: a report folder, report.json or summary.json.
        #[arg(value_name = "NEW")]
        new: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Print the resolved, canonical project (like `docker compose config`).
    #[command(
        after_help = "Examples:\n  assay compose config ./submission\n  assay compose config compose.yaml --format json --env TAG=16"
    )]
    Config {
        /// A compose file, or a directory holding one.
        #[arg(value_name = "FILE_OR_DIR")]
        path: PathBuf,
        /// Output format of the resolved project.
        #[arg(long, value_enum, default_value = "yaml")]
        format: ConfigFormatArg,
        /// Set a compose variable, overriding the .env file (repeatable).
        #[arg(long = "env", value_name = "KEY=VAL", value_parser = parse_key_val)]
        env: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfigFormatArg {
    Yaml,
    Json,
}

/// `--env KEY=VAL`, as clap's value parser for it. The error never leaves clap: clap prints it
/// with the argument's name and exits 2 (a usage error), so a message is all it needs.
fn parse_key_val(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}
