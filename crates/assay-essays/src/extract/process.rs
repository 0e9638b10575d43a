//! PDF and .docx parsing in a child process, so that no document can take the grader down.
//!
//! Their parsers walk hostile input through deep code (zip, inflate, PDF object graphs and content
//! streams). The caps inside them (decoded bytes per filter chain, bytes per zip part, text kept)
//! stop the bombs we know of, but not time, recursion or the parsers' own allocations. So the
//! grader runs them in a child: the same code ([`child_main`]) in a process started from a
//! [`ParserCommand`] — for assay, the assay binary itself re-run with a hidden subcommand — and
//! confined by
//! - an address-space limit (`RLIMIT_AS`: every mapping counts, so resident memory stays below),
//! - a CPU-time limit (`RLIMIT_CPU`: SIGXCPU, then SIGKILL a second later),
//! - no core dumps and no file writes (`RLIMIT_CORE`, `RLIMIT_FSIZE` = 0),
//! - death with its parent (Linux: `PR_SET_PDEATHSIG`),
//! - a wall-clock deadline, after which the grader kills it,
//! - a cap on the reply read back.
//!
//! The child is started per document, so a failure names its document. The request is one JSON
//! line (format and limits) followed by the document's bytes on stdin; the reply is JSON on
//! stdout; stderr (capped) only tells the grader why a child died.

use super::{ExtractLimits, Format, Parsed};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How to start the parser child: a program whose `main` calls [`child_main`] when given `args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserCommand {
    program: PathBuf,
    args: Vec<OsString>,
}

impl ParserCommand {
    /// `program args…`, e.g. a dedicated binary whose whole `main` is [`child_main`].
    pub fn new<I, S>(program: impl Into<PathBuf>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        ParserCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// The running executable re-run with `args` (its `main` must dispatch them to
    /// [`child_main`]): one binary to install, and the child always speaks its parent's protocol.
    pub fn current_exe<I, S>(args: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Ok(ParserCommand::new(std::env::current_exe()?, args))
    }

    pub fn program(&self) -> &Path {
        &self.program
    }
}

/// Why the child gave no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChildError {
    /// The document could not be read: malformed, or over a limit. The candidate's.
    Document(String),
    /// The child could not be run or answered nonsense. assay's, not the candidate's.
    Fault(String),
}

#[derive(Serialize, Deserialize)]
struct Request {
    format: Format,
    limits: ExtractLimits,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reply {
    Parsed(Parsed),
    Unreadable(String),
}

/// Longest request line the child accepts.
const REQUEST_MAX: u64 = 64 * 1024;
/// The child's stderr kept by the grader.
const STDERR_MAX: usize = 64 * 1024;
/// Exit code of a child that could not read its request (a fault, not the document's).
const EXIT_BAD_REQUEST: i32 = 3;

/// The child's side: reads the request and the document from stdin, parses, writes the reply to
/// stdout. Returns the process exit code. Call it from `main` for the arguments given to
/// [`ParserCommand`]; the grader imposes the limits before this runs.
pub fn child_main() -> i32 {
    let reply = match read_request(&mut io::stdin().lock()) {
        Ok((request, bytes)) => {
            if bytes.len() as u64 > request.limits.max_file_bytes {
                Reply::Unreadable(format!(
                    "answer document is over the {}-byte limit; not read",
                    request.limits.max_file_bytes
                ))
            } else {
                match super::parse_isolated_format(request.format, &bytes, &request.limits) {
                    Ok(parsed) => Reply::Parsed(parsed),
                    Err(m) if m == super::MEMORY_EXHAUSTED => {
                        Reply::Unreadable(over_memory(what(request.format), &request.limits))
                    }
                    Err(message) => Reply::Unreadable(message),
                }
            }
        }
        Err(e) => {
            eprintln!("assay document parser: bad request: {e}");
            return EXIT_BAD_REQUEST;
        }
    };
    let mut out = io::stdout().lock();
    match serde_json::to_writer(&mut out, &reply)
        .map_err(io::Error::from)
        .and_then(|()| out.flush())
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("assay document parser: cannot write the reply: {e}");
            EXIT_BAD_REQUEST
        }
    }
}

fn read_request(input: &mut impl BufRead) -> io::Result<(Request, Vec<u8>)> {
    let mut line = Vec::new();
    input.take(REQUEST_MAX).read_until(b'\n', &mut line)?;
    let request: Request = serde_json::from_slice(&line)?;
    let mut bytes = Vec::new();
    input
        .take(request.limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((request, bytes))
}

/// What the failure messages call the work.
fn what(format: Format) -> &'static str {
    match format {
        Format::Pdf => "PDF text extraction",
        Format::Docx => ".docx text extraction",
        _ => "text extraction",
    }
}

/// Most reply bytes read back: the text cap with room for JSON escapes and block framing.
fn reply_cap(limits: &ExtractLimits) -> usize {
    limits
        .max_text_bytes
        .saturating_mul(8)
        .saturating_add(1 << 20)
}

/// The grader's side: parses `bytes` as `format` in a confined child started from `parser`.
pub(crate) fn parse_in_child(
    parser: &ParserCommand,
    format: Format,
    bytes: &[u8],
    limits: &ExtractLimits,
) -> Result<Parsed, ChildError> {
    let what = what(format);
    let mut request = serde_json::to_vec(&Request {
        format,
        limits: limits.clone(),
    })
    .map_err(|e| ChildError::Fault(format!("cannot encode the parser request: {e}")))?;
    request.push(b'\n');

    let mut cmd = Command::new(&parser.program);
    cmd.args(&parser.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .current_dir("/");
    confine(&mut cmd, limits);
    let mut child = cmd.spawn().map_err(|e| {
        ChildError::Fault(format!(
            "cannot start the document parser {}: {e}",
            parser.program.display()
        ))
    })?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ChildError::Fault(
            "the document parser has no pipes".to_string(),
        ));
    };
    let cap = reply_cap(limits);
    // Every thread is joined before this returns: the child is dead by then, so its pipes close.
    let (waited, (reply, reply_overflow), (errors, _)) = std::thread::scope(|s| {
        s.spawn(move || {
            // A child that died early closes its stdin: the write fails, and the status says why.
            let _ = stdin
                .write_all(&request)
                .and_then(|()| stdin.write_all(bytes));
        });
        let out = s.spawn(move || read_capped(stdout, cap));
        let err = s.spawn(move || read_capped(stderr, STDERR_MAX));
        let waited = wait_or_kill(&mut child, limits.parser_timeout);
        let joined = |h: std::thread::ScopedJoinHandle<'_, (Vec<u8>, bool)>| {
            h.join().unwrap_or_else(|_| (Vec::new(), false))
        };
        (waited, joined(out), joined(err))
    });
    let (status, timed_out) = waited
        .map_err(|e| ChildError::Fault(format!("cannot wait for the document parser: {e}")))?;
    if timed_out {
        return Err(ChildError::Document(format!(
            "{what} took longer than {}; the document is not read",
            seconds(limits.parser_timeout)
        )));
    }
    if status.success() {
        if reply_overflow {
            return Err(ChildError::Document(format!(
                "{what} produced more than {cap} bytes; the document is not read"
            )));
        }
        return match serde_json::from_slice::<Reply>(&reply) {
            Ok(Reply::Parsed(parsed)) => Ok(parsed),
            Ok(Reply::Unreadable(message)) => Err(ChildError::Document(message)),
            Err(e) => Err(ChildError::Fault(format!(
                "the document parser's reply is unreadable: {e}"
            ))),
        };
    }
    Err(died(
        what,
        status,
        &String::from_utf8_lossy(&errors),
        limits,
    ))
}

fn over_memory(what: &str, limits: &ExtractLimits) -> String {
    format!(
        "{what} exceeded its memory limit of {} MiB; the document is not read",
        limits.parser_memory_bytes / (1024 * 1024)
    )
}

/// Why a child that did not exit cleanly died, from its status and the runtime's last words.
fn died(what: &str, status: ExitStatus, stderr: &str, limits: &ExtractLimits) -> ChildError {
    let signal = exit_signal(status);
    if stderr.contains("memory allocation of") || stderr.contains("Cannot allocate memory") {
        return ChildError::Document(over_memory(what, limits));
    }
    if stderr.contains("has overflowed its stack") {
        return ChildError::Document(format!(
            "{what} crashed: the document nests too deeply (stack overflow); the document is not read"
        ));
    }
    if signal == Some(SIGXCPU) {
        return ChildError::Document(format!(
            "{what} used more than its {} of CPU time; the document is not read",
            seconds(cpu_limit(limits))
        ));
    }
    if signal == Some(SIGKILL) {
        return ChildError::Document(format!(
            "{what} was killed by the system (SIGKILL: out of memory?); the document is not read"
        ));
    }
    if status.code() == Some(EXIT_BAD_REQUEST) {
        return ChildError::Fault(format!(
            "the document parser refused its request: {}",
            stderr.trim()
        ));
    }
    ChildError::Document(format!(
        "{what} crashed ({status}); the document is not read"
    ))
}

const SIGXCPU: i32 = 24;
const SIGKILL: i32 = 9;

#[cfg(unix)]
fn exit_signal(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn exit_signal(_: ExitStatus) -> Option<i32> {
    None
}

/// Waits for the child until `timeout`; then kills it. `(status, timed out)`.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> io::Result<(ExitStatus, bool)> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, false));
        }
        let now = Instant::now();
        if now >= deadline {
            // Not reaped yet, so the pid is still this child's.
            let _ = child.kill();
            return Ok((child.wait()?, true));
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Reads `r` to its end, keeping at most `cap` bytes (the rest is drained, so the writer never
/// blocks on a full pipe). `(kept, more than cap came)`.
fn read_capped(mut r: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut overflow = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !overflow && kept.len() + n <= cap {
                    kept.extend_from_slice(&buf[..n]);
                } else {
                    overflow = true;
                }
            }
        }
    }
    (kept, overflow)
}

/// The CPU-time limit: the wall-clock deadline's length, in whole seconds (at least one).
fn cpu_limit(limits: &ExtractLimits) -> Duration {
    Duration::from_secs(limits.parser_cpu.as_secs().max(1))
}

/// `20 s`, or `250 ms` under a second.
fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) && d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Sets the child's limits between fork and exec.
#[cfg(unix)]
fn confine(cmd: &mut Command, limits: &ExtractLimits) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    use std::os::unix::process::CommandExt;
    let memory = limits.parser_memory_bytes;
    let cpu = cpu_limit(limits).as_secs();
    let lower = |resource: Resource, soft: u64, hard: u64| -> io::Result<()> {
        // Never above what this process may grant (a non-root parent cannot raise a hard limit).
        let ceiling = getrlimit(resource).maximum;
        let clamp = |v: u64| Some(ceiling.map_or(v, |c| v.min(c)));
        setrlimit(
            resource,
            Rlimit {
                current: clamp(soft),
                maximum: clamp(hard),
            },
        )
        .map_err(io::Error::from)
    };
    // SAFETY: the closure runs in the forked child before exec and only makes system calls
    // (getrlimit, setrlimit, prctl): no allocation, no locks.
    unsafe {
        cmd.pre_exec(move || {
            lower(Resource::As, memory, memory)?;
            lower(Resource::Cpu, cpu, cpu + 1)?;
            lower(Resource::Core, 0, 0)?;
            lower(Resource::Fsize, 0, 0)?;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn confine(_: &mut Command, _: &ExtractLimits) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(seconds(Duration::from_secs(20)), "20 s");
        assert_eq!(seconds(Duration::from_millis(250)), "250 ms");
        assert_eq!(seconds(Duration::from_millis(1500)), "1500 ms");
    }

    #[test]
    fn a_capped_read_drains_what_it_does_not_keep() {
        let data = vec![7u8; 200_000];
        let (kept, overflow) = read_capped(&data[..], 1000);
        assert!(kept.is_empty() && overflow, "{}", kept.len());
        let (kept, overflow) = read_capped(&data[..], 300_000);
        assert_eq!((kept.len(), overflow), (200_000, false));
    }

    #[test]
    fn a_missing_parser_is_assays_fault_not_the_documents() {
        let parser = ParserCommand::new("/nonexistent/assay-parser", ["x"]);
        let err = parse_in_child(&parser, Format::Pdf, b"%PDF-1.4", &ExtractLimits::default())
            .unwrap_err();
        assert!(
            matches!(&err, ChildError::Fault(m) if m.contains("cannot start the document parser /nonexistent/assay-parser")),
            "{err:?}"
        );
    }
}
