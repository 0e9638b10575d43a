//! The `assay logs …` subcommands, driven through clap parsing and `run_with`, on tempfiles.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use assay_logs::cli::{answer_path, run_with, LogsCommand};
use clap::{CommandFactory, Parser};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: LogsCommand,
}

fn parse(args: &[&str]) -> LogsCommand {
    Cli::try_parse_from(std::iter::once("logs").chain(args.iter().copied()))
        .unwrap()
        .cmd
}

/// Run a command line; returns the result and what it printed.
fn run(args: &[&str]) -> (Result<i32, String>, String) {
    let mut out = Vec::new();
    let r = run_with(parse(args), &mut out, &AtomicBool::new(false));
    (r, String::from_utf8(out).unwrap())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const LOG: &str = concat!(
    "203.0.113.1 - - [25/Nov/2026:10:00:00 +0000] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"Mozilla\"\n",
    "203.0.113.2 - - [25/Nov/2026:10:00:01 +0000] \"GET /api/notes/?page=2 HTTP/1.1\" 200 1 \"-\" \"curl/8\"\n",
    "10.0.0.5 - - [25/Nov/2026:10:00:02 +0000] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"Mozilla\"\n",
    "203.0.113.3 - - [25/Nov/2026:10:00:03 +0000] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"Googlebot\"\n",
    "garbage\n",
);

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
    assert!(
        Cli::try_parse_from(["logs", "count"]).is_err(),
        "FILE is required"
    );
    assert!(Cli::try_parse_from(["logs", "count", "f", "--own", "10.0.0.0/99"]).is_err());
    assert!(
        Cli::try_parse_from(["logs", "grade", "f"]).is_err(),
        "--answer is required"
    );
    assert!(
        Cli::try_parse_from(["logs", "grade"]).is_err(),
        "a log and --answer, or a command"
    );
    assert!(
        Cli::try_parse_from(["logs", "grade", "f", "--answer", "1", "--command", "wc -l"]).is_err()
    );
    assert!(Cli::try_parse_from(["logs", "grade", "--command", "x", "--script", "y"]).is_err());
    assert!(
        Cli::try_parse_from(["logs", "grade", "--command", "wc -l access.log", "--live"]).is_ok()
    );
}

#[test]
fn count_human_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, LOG).unwrap();

    let (r, out) = run(&["count", s(&log), "--own", "10.0.0.0/8"]);
    assert_eq!(r, Ok(0));
    assert!(out.starts_with("2 requests to GET /api/notes\n"), "{out}");
    assert!(
        out.contains("excluded: 1 from own servers, 1 from bots"),
        "{out}"
    );
    assert!(out.contains("access.log:5: client address"), "{out}");

    let (r, out) = run(&["count", s(&log), "--own", "10.0.0.0/8", "--json"]);
    assert_eq!(r, Ok(0));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["matched"], 2);
    assert_eq!(v["alternatives"]["with_own_and_bots"], 4);
    assert_eq!(v["malformed"][0]["line"], 5);
    assert_eq!(v["own"][0], "10.0.0.0/8");

    // Custom markers replace the defaults: curl becomes a bot, Googlebot does not.
    let (_, out) = run(&["count", s(&log), "--bot-marker", "CURL", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["matched"].as_u64(), v["excluded_bots"].as_u64()),
        (Some(3), Some(1))
    );

    let (_, out) = run(&["count", s(&log), "--endpoint", "HEAD /api/notes"]);
    assert!(out.starts_with("0 requests to HEAD /api/notes"), "{out}");
}

#[test]
fn usage_problems_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.log");
    let (r, _) = run(&["count", s(&missing)]);
    assert!(r.unwrap_err().contains("cannot read"));
    let (r, _) = run(&["count", s(dir.path())]);
    assert!(r.unwrap_err().contains("directory"));
    let (r, _) = run(&["grade", s(&missing), "--answer", "3"]);
    assert!(r.is_err());
    let (r, _) = run(&["follow", s(&missing), "--for", "0.05"]);
    assert!(r.is_err());
    let log = dir.path().join("a.log");
    std::fs::write(&log, LOG).unwrap();
    let (r, _) = run(&["count", s(&log), "--endpoint", "/api/notes"]);
    assert!(r.unwrap_err().contains("METHOD /path"));
    let (r, _) = run(&["follow", s(&log), "--for=-1"]);
    assert!(r.is_err());
    let (r, _) = run(&["generate", "--out", s(&dir.path().join("no/such/dir.log"))]);
    assert!(r.unwrap_err().contains("cannot write"));
}

#[test]
fn generate_then_grade_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.log");
    let (r, out) = run(&[
        "generate",
        "--out",
        s(&log),
        "--lines",
        "3000",
        "--seed",
        "9",
        "--own",
        "10.0.0.0/8",
    ]);
    assert_eq!(r, Ok(0), "{out}");
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(answer_path(&log)).unwrap()).unwrap();
    let answer = key["matched"].as_u64().unwrap();
    assert!(out.contains(&format!("the answer is {answer}")));
    assert_eq!(key["seed"], 9);
    assert_eq!(key["total_lines"], 3000);

    let (r, out) = run(&[
        "grade",
        s(&log),
        "--answer",
        &answer.to_string(),
        "--own",
        "10.0.0.0/8",
    ]);
    assert_eq!(r, Ok(0));
    assert!(out.starts_with("PASS"), "{out}");

    let with_bots = key["alternatives"]["with_bots"].as_u64().unwrap();
    let (r, out) = run(&[
        "grade",
        s(&log),
        "--answer",
        &with_bots.to_string(),
        "--own",
        "10.0.0.0/8",
    ]);
    assert_eq!(r, Ok(1));
    assert!(out.contains("bots included"), "{out}");

    let (r, out) = run(&[
        "grade",
        s(&log),
        "--answer",
        "1",
        "--own",
        "10.0.0.0/8",
        "--json",
    ]);
    assert_eq!(r, Ok(1));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["pass"], false);
    assert_eq!(v["expected"], answer);

    // Same seed, same bytes.
    let log2 = dir.path().join("gen2.log");
    run(&[
        "generate",
        "--out",
        s(&log2),
        "--lines",
        "3000",
        "--seed",
        "9",
        "--own",
        "10.0.0.0/8",
    ])
    .0
    .unwrap();
    assert_eq!(std::fs::read(&log).unwrap(), std::fs::read(&log2).unwrap());
}

#[test]
fn follow_prints_changes_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("live.log");
    std::fs::write(&log, LOG).unwrap();
    let (r, out) = run(&["follow", s(&log), "--for", "0.05", "--poll-ms", "10"]);
    assert_eq!(r, Ok(0));
    assert!(
        out.starts_with("matched 3 (own 0, bots 1, lines 5, malformed 1)\n"),
        "{out}"
    );
    assert!(
        out.ends_with("final: 3 requests to GET /api/notes\n"),
        "{out}"
    );
    let (r, out) = run(&[
        "follow",
        s(&log),
        "--idle",
        "0.05",
        "--poll-ms",
        "10",
        "--json",
        "--from-end",
    ]);
    assert_eq!(r, Ok(0));
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["total_lines"], 0);
}

#[test]
fn hostile_files() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let (r, out) = run(&["count", s(&empty), "--json"]);
    assert_eq!(r, Ok(0));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["matched"].as_u64(), v["total_lines"].as_u64()),
        (Some(0), Some(0))
    );

    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    bytes.extend(vec![b'x'; 1 << 20]);
    bytes.extend(
        b"\n203.0.113.1 - - [t] \"GET /api/%6Eotes HTTP/1.1\" 200 1 \"\xff\" \"\xc3\x28\"\n",
    );
    let hostile = dir.path().join("hostile.log");
    std::fs::write(&hostile, &bytes).unwrap();
    let (r, out) = run(&["count", s(&hostile), "--json"]);
    assert_eq!(r, Ok(0));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["matched"], 1);
    assert_eq!(
        v["malformed_lines"].as_u64(),
        Some(v["total_lines"].as_u64().unwrap() - 1)
    );
    let (r, out) = run(&["grade", s(&hostile), "--answer", "1"]);
    assert_eq!(r, Ok(0), "{out}");
}

#[test]
fn gzip_logs_count_like_plain_ones() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let own = ["--own", "10.0.0.0/8"];
    let mut gen = vec![
        "generate",
        "--out",
        s(&log),
        "--lines",
        "4000",
        "--seed",
        "5",
    ];
    gen.extend(own);
    assert_eq!(run(&gen).0, Ok(0));
    let mut count = vec!["count", s(&log), "--json"];
    count.extend(own);
    let (r, plain) = run(&count);
    assert_eq!(r, Ok(0));

    // Rotated logs are gzipped; the name does not matter, the content does.
    let gz = dir.path().join("access.log.2.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    e.write_all(&std::fs::read(&log).unwrap()).unwrap();
    e.finish().unwrap();
    let mut count = vec!["count", s(&gz), "--json"];
    count.extend(own);
    let (r, packed) = run(&count);
    assert_eq!(r, Ok(0));
    assert_eq!(packed, plain);

    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(answer_path(&log)).unwrap()).unwrap();
    let answer = key["matched"].as_u64().unwrap().to_string();
    let mut grade = vec!["grade", s(&gz), "--answer", &answer];
    grade.extend(own);
    assert_eq!(run(&grade).0, Ok(0));

    // A damaged archive is a read error naming the file, not a count.
    let bytes = std::fs::read(&gz).unwrap();
    let bad = dir.path().join("bad.gz");
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    let (r, _) = run(&["count", s(&bad)]);
    assert!(r.unwrap_err().contains("bad.gz"));
}

#[test]
fn grade_prints_the_task_and_refuses_half_a_command_line() {
    let (r, out) = run(&["grade", "--command", "wc -l access.log", "--print-task"]);
    assert_eq!(r, Ok(0));
    assert!(out.contains("`GET /api/notes`"), "{out}");
    assert!(
        out.contains("our own servers (10.0.0.0/8)"),
        "the exercise's default: {out}"
    );
    assert!(!out.contains("SIGTERM"), "{out}");
    let (r, out) = run(&[
        "grade",
        "--live",
        "--command",
        "x",
        "--print-task",
        "--own",
        "192.0.2.0/24",
    ]);
    assert_eq!(r, Ok(0));
    assert!(
        out.contains("SIGTERM") && out.contains("access.log.1"),
        "{out}"
    );
    assert!(out.contains("(192.0.2.0/24)"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.sh");
    let (r, _) = run(&["grade", "--script", s(&missing)]);
    assert!(r.unwrap_err().contains("nope.sh"));
    let big = dir.path().join("big.sh");
    std::fs::write(&big, vec![b'#'; 300 * 1024]).unwrap();
    let (r, _) = run(&["grade", "--script", s(&big)]);
    assert!(r.unwrap_err().contains("not a one-liner"));
    let (r, _) = run(&["grade", "--command", "x", "--lines", "0"]);
    assert!(r.unwrap_err().contains("--lines 0"));
}
