//! `assay logs count|follow|generate|grade …`, mounted by the root binary.
//!
//! [`run`] returns the process exit code (0 success or PASS, 1 FAIL from `grade`); `Err` is a
//! usage problem (bad endpoint, unreadable file) that the caller prints and exits 2 with.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::json;

use crate::count::{count_detailed, decompressed, Counts};
use crate::follow::{follow, FollowOptions};
use crate::generate::generate_to;
use crate::grade::grade;
use crate::rule::{Cidr, Rule};
use crate::sandboxed::{
    grade_command, grade_live, task_text, CommandGrading, CommandReport, Limits, LiveOptions,
    Program, SandboxError, MAX_SCRIPT,
};

/// Options every subcommand shares: what to count and how to print.
#[derive(Debug, Clone, clap::Args)]
pub struct RuleArgs {
    /// The endpoint: `METHOD /path`. The method is case-sensitive; the path is compared after
    /// dropping the query, decoding %-escaped letters/digits/-._~, and one trailing slash.
    #[arg(
        long,
        value_name = "\"METHOD /path\"",
        default_value = "GET /api/notes"
    )]
    pub endpoint: String,
    /// A network of our own servers whose requests are excluded (repeatable), e.g. `--own 10.0.0.0/8 --own fd00::/8`.
    #[arg(long = "own", value_name = "CIDR", value_parser = parse_cidr)]
    pub own: Vec<Cidr>,
    /// A user-agent substring marking a bot, case-insensitive (repeatable; replaces the defaults:
    /// bot, crawl, spider, slurp, facebookexternalhit, headless).
    #[arg(long = "bot-marker", value_name = "S")]
    pub bot_markers: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    s.parse()
}

impl RuleArgs {
    pub fn rule(&self) -> Result<Rule, String> {
        let mut rule = Rule::from_endpoint(&self.endpoint)?.with_own_networks(self.own.clone());
        if !self.bot_markers.is_empty() {
            rule = rule.with_bot_markers(&self.bot_markers);
        }
        Ok(rule)
    }
}

/// The `assay logs` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LogsCommand {
    /// Count the endpoint's requests in a finished log, with the breakdown.
    ///
    /// Example: assay logs count access.log --own 10.0.0.0/8
    Count {
        /// The nginx access log (combined format); `-` reads standard input. Gzip-compressed
        /// input (`access.log.2.gz`) is inflated as it is read.
        file: PathBuf,
        #[command(flatten)]
        rule: RuleArgs,
    },
    /// Count live on a growing log (like `tail -F`: survives truncation and rotation); prints a
    /// line per change.
    ///
    /// Example: assay logs follow /var/log/nginx/access.log --from-end --for 60
    Follow {
        /// The access log to follow (it may be rotated or truncated while followed).
        file: PathBuf,
        /// Only count lines appended from now on.
        #[arg(long)]
        from_end: bool,
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long = "for", value_name = "SECS")]
        for_secs: Option<f64>,
        /// Stop after this many seconds without new lines.
        #[arg(long = "idle", value_name = "SECS")]
        idle_secs: Option<f64>,
        /// How often to check the file, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 250)]
        poll_ms: u64,
        #[command(flatten)]
        rule: RuleArgs,
    },
    /// Write a deterministic practice log and its answer key FILE.answer.json (any size: the
    /// log is written as it is generated).
    ///
    /// Example: assay logs generate --out access.log --lines 5000 --seed 7 --own 10.0.0.0/8
    Generate {
        /// Where to write the log.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Number of lines.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        lines: u64,
        /// The seed: the same seed and options always give the same log.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        rule: RuleArgs,
    },
    /// Grade a candidate: the number they give for FILE (`--answer`), or their own command run
    /// in a sandbox on logs assay generates (`--command`/`--script`, `--live` on a growing
    /// log). Exit 0 PASS, 1 FAIL, 3 could not grade (no Docker).
    ///
    /// Examples: assay logs grade access.log --answer 1234 --own 10.0.0.0/8
    ///           assay logs grade --command "awk -f count.awk access.log"
    ///           assay logs grade --live --script follow.sh
    #[command(verbatim_doc_comment)]
    Grade {
        /// The log the candidate counted, with `--answer` (`-` for standard input; gzip is
        /// inflated).
        #[arg(required_unless_present_any = ["command", "script"], requires = "answer")]
        file: Option<PathBuf>,
        /// The candidate's count of FILE.
        #[arg(long, value_name = "N", requires = "file")]
        answer: Option<u64>,
        /// The candidate's command, run with bash in the working directory holding `access.log`
        /// (no network, unprivileged, limited); the last number it prints is its answer.
        #[arg(long, value_name = "CMD", conflicts_with_all = ["script", "file", "answer"])]
        command: Option<String>,
        /// The candidate's script (its `#!` line picks the interpreter; else bash), run like
        /// `--command`.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "answer"])]
        script: Option<PathBuf>,
        /// Grade the command on a growing log: lines are appended while it runs (with a
        /// rotation half way), then its process group gets SIGTERM.
        #[arg(long)]
        live: bool,
        /// A seed of a generated log (repeatable; default: 4 random seeds, or 1 with `--live`).
        #[arg(long = "seed", value_name = "S")]
        seeds: Vec<u64>,
        /// Lines of each generated log.
        #[arg(long, value_name = "N", default_value_t = 20_000)]
        lines: u64,
        /// Seconds the command may run on one log before it is stopped.
        #[arg(long = "timeout", value_name = "SECS", default_value_t = 60)]
        timeout_secs: u64,
        /// Memory of the command's container, in MiB (no swap).
        #[arg(long = "memory", value_name = "MIB", default_value_t = 256)]
        memory_mib: u64,
        /// Print the task the command is graded against and exit.
        #[arg(long)]
        print_task: bool,
        #[command(flatten)]
        rule: RuleArgs,
    },
}

/// Run a subcommand, printing to stdout. `Ok(code)`: 0 success/PASS, 1 FAIL; `Err`: a usage
/// problem to print on stderr, exit 2. `follow` without `--for`/`--idle` runs until the
/// process is interrupted; use [`run_with`] to stop it with a flag.
pub fn run(cmd: LogsCommand) -> Result<i32, String> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    run_with(cmd, &mut out, &AtomicBool::new(false))
}

/// [`run`] with an explicit output and a cancellation flag for `follow`.
pub fn run_with(cmd: LogsCommand, out: &mut dyn Write, cancel: &AtomicBool) -> Result<i32, String> {
    match cmd {
        LogsCommand::Count { file, rule } => {
            let r = rule.rule()?;
            let counter = count_detailed(open(&file)?, &r).map_err(|e| read_err(&file, &e))?;
            let counts = counter.counts();
            if rule.json {
                let mut v = counts_json(&r, counts);
                v["malformed"] = json!(counter.errors());
                writeln!(out, "{v}").map_err(write_err)?;
            } else {
                print_counts(out, &r, counts).map_err(write_err)?;
                for e in counter.errors() {
                    writeln!(out, "malformed {}:{}: {}", file.display(), e.line, e.reason)
                        .map_err(write_err)?;
                }
            }
            Ok(0)
        }
        LogsCommand::Follow {
            file,
            from_end,
            for_secs,
            idle_secs,
            poll_ms,
            rule,
        } => {
            let r = rule.rule()?;
            let secs = |s: Option<f64>, what: &str| -> Result<Option<Duration>, String> {
                s.map(|s| {
                    Duration::try_from_secs_f64(s)
                        .map_err(|_| format!("{what} {s}: not a number of seconds"))
                })
                .transpose()
            };
            let opts = FollowOptions {
                poll: Duration::from_millis(poll_ms.max(1)),
                from_end,
                max_duration: secs(for_secs, "--for")?,
                idle_timeout: secs(idle_secs, "--idle")?,
            };
            let mut write_failed = None;
            let fin = follow(&file, &r, &opts, cancel, |c| {
                let res = if rule.json {
                    writeln!(out, "{}", counts_json(&r, c))
                } else {
                    writeln!(
                        out,
                        "matched {} (own {}, bots {}, lines {}, malformed {})",
                        c.matched,
                        c.excluded_own,
                        c.excluded_bots,
                        c.total_lines,
                        c.malformed_lines
                    )
                };
                if let Err(e) = res.and_then(|_| out.flush()) {
                    write_failed.get_or_insert(e);
                }
            })
            .map_err(|e| read_err(&file, &e))?;
            if let Some(e) = write_failed {
                return Err(write_err(e));
            }
            if !rule.json {
                writeln!(
                    out,
                    "final: {} requests to {} {}",
                    fin.matched, r.method, r.path
                )
                .map_err(write_err)?;
            }
            Ok(0)
        }
        LogsCommand::Generate {
            out: path,
            lines,
            seed,
            rule,
        } => {
            let r = rule.rule()?;
            let key_path = answer_path(&path);
            let err = |e: io::Error| format!("cannot write {}: {e}", path.display());
            let file = File::create(&path).map_err(err)?;
            // Written as it is drawn: any size, constant memory.
            let expected = generate_to(&r, lines, seed, file).map_err(err)?;
            let mut key = counts_json(&r, &expected);
            key["seed"] = json!(seed);
            key["lines"] = json!(lines);
            let key_text = serde_json::to_string_pretty(&key).map_err(|e| e.to_string())? + "\n";
            write_file(&key_path, key_text.as_bytes())?;
            if rule.json {
                writeln!(
                    out,
                    "{}",
                    json!({"log": path, "answer_key": key_path, "answer": expected.matched})
                )
            } else {
                writeln!(
                    out,
                    "wrote {} ({lines} lines) and {}; the answer is {}",
                    path.display(),
                    key_path.display(),
                    expected.matched
                )
            }
            .map_err(write_err)?;
            Ok(0)
        }
        LogsCommand::Grade {
            file,
            answer,
            command,
            script,
            live,
            seeds,
            lines,
            timeout_secs,
            memory_mib,
            print_task,
            rule,
        } => {
            let program = match (command, script) {
                (Some(c), _) => Some(Program::Command(c)),
                (None, Some(path)) => Some(Program::Script(read_script(&path)?)),
                (None, None) => None,
            };
            let Some(program) = program else {
                if live || print_task {
                    return Err("--live and --print-task grade a --command or --script".into());
                }
                let (Some(file), Some(answer)) = (file, answer) else {
                    return Err("give the candidate's number with --answer N, or their command with --command/--script".into());
                };
                return grade_answer(&file, answer, &rule, out);
            };
            let mut r = rule.rule()?;
            if r.own_networks.is_empty() {
                // The exercise's own network, so that the own-server trap is in every log.
                r.own_networks = vec![DEFAULT_OWN.parse().expect("a valid CIDR")];
            }
            if print_task {
                writeln!(out, "{}", task_text(&r, live)).map_err(write_err)?;
                return Ok(0);
            }
            if lines == 0 || lines > 5_000_000 {
                return Err(format!("--lines {lines}: give 1 to 5000000 lines"));
            }
            let seeds = if seeds.is_empty() {
                random_seeds(if live { 1 } else { 4 })
            } else {
                seeds
            };
            let grading = CommandGrading {
                rule: r,
                program,
                seeds,
                lines,
                limits: Limits {
                    memory_bytes: i64::try_from(memory_mib.clamp(16, 64 * 1024) << 20)
                        .unwrap_or(i64::MAX),
                    time: Duration::from_secs(timeout_secs.clamp(1, 24 * 3600)),
                    ..Limits::default()
                },
                image: assay_sandbox::tools_image().to_string(),
            };
            grade_program(&grading, live, rule.json, out, cancel)
        }
    }
}

/// The own network `grade --command` uses when none is given: the exercise's.
pub const DEFAULT_OWN: &str = "10.0.0.0/8";

fn grade_answer(
    file: &Path,
    answer: u64,
    rule: &RuleArgs,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let r = rule.rule()?;
    let counts = count_detailed(open(file)?, &r)
        .map_err(|e| read_err(file, &e))?
        .counts()
        .clone();
    let g = grade(answer, &counts);
    if rule.json {
        let mut v = json!(g);
        v["answer"] = json!(answer);
        v["expected"] = json!(counts.matched);
        v["counts"] = counts_json(&r, &counts);
        writeln!(out, "{v}")
    } else {
        writeln!(out, "{}", g.message)
    }
    .map_err(write_err)?;
    Ok(if g.pass { 0 } else { 1 })
}

fn read_script(path: &Path) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_SCRIPT as u64 + 1).read_to_end(&mut data))
        .map_err(|e| read_err(path, &e))?;
    if data.len() > MAX_SCRIPT {
        return Err(format!(
            "{}: a script of more than {} KiB is not a one-liner",
            path.display(),
            MAX_SCRIPT >> 10
        ));
    }
    Ok(data)
}

/// `n` seeds nobody can know in advance.
fn random_seeds(n: usize) -> Vec<u64> {
    let hex = assay_sandbox::random_hex(n);
    (0..n)
        .map(|i| {
            u64::from_str_radix(&hex[i * 16..i * 16 + 16], 16).unwrap_or(i as u64) % 1_000_000_000
        })
        .collect()
}

/// Run the candidate's program in the sandbox and print the verdict. Exit 0 PASS, 1 FAIL, 3
/// when assay could not grade (no daemon, no image); the reason goes to stderr.
fn grade_program(
    g: &CommandGrading,
    live: bool,
    json_out: bool,
    out: &mut dyn Write,
    cancel: &AtomicBool,
) -> Result<i32, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let progress = |line: &str| eprintln!("assay logs: {line}");
    let result = rt.block_on(async {
        let engine = assay_sandbox::Engine::connect().await?;
        let opts = assay_sandbox::ImagesOptions {
            offline: true,
            work_dir: assay_sandbox::default_work_dir(),
            ..Default::default()
        };
        assay_sandbox::ensure_tools(&engine, &opts, &progress)
            .await
            .map_err(|e| SandboxError::Io(e.to_string()))?;
        if live {
            grade_live(&engine, g, &LiveOptions::default(), cancel, &progress).await
        } else {
            grade_command(&engine, g, cancel, &progress).await
        }
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not grade the command: {e}");
            return Ok(3);
        }
    };
    if json_out {
        let v = json!({
            "task": task_text(&g.rule, live),
            "live": live,
            "lines": g.lines,
            "report": report,
        });
        writeln!(out, "{v}").map_err(write_err)?;
    } else {
        print_report(out, g, live, &report).map_err(write_err)?;
    }
    Ok(if report.pass { 0 } else { 1 })
}

fn print_report(
    out: &mut dyn Write,
    g: &CommandGrading,
    live: bool,
    report: &CommandReport,
) -> io::Result<()> {
    use assay_core::display;
    writeln!(out, "task: {}", task_text(&g.rule, live))?;
    let l = &g.limits;
    writeln!(
        out,
        "sandbox: {}, no network, {} MiB, {:.1} CPU, {} processes, {} s per log",
        g.image,
        l.memory_bytes >> 20,
        l.nano_cpus as f64 / 1e9,
        l.pids,
        l.time.as_secs()
    )?;
    for r in &report.runs {
        let what = if live {
            format!(
                "seed {} ({} lines appended, rotated half way)",
                r.seed, g.lines
            )
        } else {
            format!("seed {} ({} lines)", r.seed, g.lines)
        };
        let verdict = match (&r.grade, &r.no_number) {
            (Some(grade), _) => grade.message.clone(),
            (None, Some(why)) => format!(
                "FAIL: no answer: {why}; the expected count is {}",
                r.expected
            ),
            (None, None) => format!("FAIL: no answer; the expected count is {}", r.expected),
        };
        writeln!(out, "{what}: {verdict} ({:.1} s)", r.seconds)?;
        if let Some(f) = r.follow_count {
            writeln!(out, "  assay logs follow on the same appends: {f}")?;
        }
        if !r.pass {
            for (name, text) in [("stdout", &r.stdout_tail), ("stderr", &r.stderr_tail)] {
                for line in text.lines() {
                    writeln!(out, "  {name}| {}", display::terminal_line(line))?;
                }
            }
        }
    }
    for n in &report.notes {
        writeln!(out, "note: {n}")?;
    }
    let right = report.runs.iter().filter(|r| r.pass).count();
    writeln!(
        out,
        "{}: {right} of {} logs counted right",
        if report.pass { "PASS" } else { "FAIL" },
        report.runs.len()
    )
}

/// `access.log` → `access.log.answer.json`.
pub fn answer_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".answer.json");
    PathBuf::from(s)
}

fn counts_json(rule: &Rule, c: &Counts) -> serde_json::Value {
    let mut v = json!(c);
    v["endpoint"] = json!(format!("{} {}", rule.method, rule.path));
    v["own"] = json!(rule
        .own_networks
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>());
    v["bot_markers"] = json!(rule.bot_markers);
    v
}

fn print_counts(out: &mut dyn Write, r: &Rule, c: &Counts) -> io::Result<()> {
    writeln!(out, "{} requests to {} {}", c.matched, r.method, r.path)?;
    writeln!(
        out,
        "excluded: {} from own servers, {} from bots",
        c.excluded_own, c.excluded_bots
    )?;
    writeln!(
        out,
        "lines: {} read, {} malformed",
        c.total_lines, c.malformed_lines
    )?;
    for (name, _, n) in c.alternatives.list() {
        writeln!(out, "  if {name}: {n}")?;
    }
    Ok(())
}

/// The log to count: `-` is standard input; gzip data (by its magic bytes) is inflated.
fn open(path: &Path) -> Result<Box<dyn Read + Send>, String> {
    if path.as_os_str() == "-" {
        return decompressed(io::stdin()).map_err(|e| read_err(path, &e));
    }
    let f = File::open(path).map_err(|e| read_err(path, &e))?;
    match f.metadata() {
        Ok(m) if m.is_dir() => Err(format!("cannot read {}: it is a directory", path.display())),
        _ => decompressed(f).map_err(|e| read_err(path, &e)),
    }
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), String> {
    let err = |e: io::Error| format!("cannot write {}: {e}", path.display());
    let mut w = BufWriter::new(File::create(path).map_err(err)?);
    w.write_all(data).and_then(|_| w.flush()).map_err(err)
}

fn read_err(path: &Path, e: &io::Error) -> String {
    format!("cannot read {}: {e}", path.display())
}

fn write_err(e: io::Error) -> String {
    format!("cannot write output: {e}")
}
