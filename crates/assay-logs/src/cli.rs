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
    /// Count FILE and grade a candidate's answer: exit 0 PASS, 1 FAIL.
    ///
    /// Example: assay logs grade access.log --answer 1234 --own 10.0.0.0/8
    Grade {
        /// The log (`-` for standard input; gzip is inflated).
        file: PathBuf,
        /// The candidate's count.
        #[arg(long, value_name = "N")]
        answer: u64,
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
        LogsCommand::Grade { file, answer, rule } => {
            let r = rule.rule()?;
            let counts = count_detailed(open(&file)?, &r)
                .map_err(|e| read_err(&file, &e))?
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
    }
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
