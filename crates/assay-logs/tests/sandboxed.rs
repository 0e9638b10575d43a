//! `assay logs grade --command` against the real daemon: the candidate's command runs in the
//! tools image on generated logs. A careful awk program passes on every seed; the usual mistakes
//! fail, each named; a constant is called one; a command that never ends, or eats memory, is
//! stopped and reported; live, a `tail -F | awk` pipeline follows appends across a rotation and
//! its last number equals the truth and `assay logs follow`'s.
//!
//! Without a daemon each test prints `SKIPPED …` (fails under `CI=true`). They run one at a time
//! (nextest group `logs-sandbox`): each starts containers, and the live one times its appends.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use assay_logs::sandboxed::{
    grade_command, grade_live, CommandGrading, CommandReport, Ending, Limits, LiveOptions, Program,
};
use assay_logs::Rule;
use assay_sandbox::{labels, Engine, ImagesOptions};

/// A careful count in awk (mawk and gawk): nginx's `\\` and `\"` escapes taken out before
/// splitting on quotes, the line checked (address, status, size, a quoted user agent), the
/// request split in three with an `HTTP/` protocol, the target cut at `?`/`#`, an absolute-form
/// target reduced to its path, %-escapes of unreserved characters decoded, one trailing slash
/// dropped; own servers (10/8, also IPv4-mapped) and bot markers (any case) left out.
/// `MISTAKE` is replaced to make the usual mistakes.
const CAREFUL: &str = r#"LC_ALL=C awk -F'"' '
function hex(c) { return index("0123456789abcdef", tolower(c)) - 1 }
function decode(p,   out, i, c, h, l, v) {
  out = ""
  for (i = 1; i <= length(p); i++) {
    c = substr(p, i, 1)
    if (c == "%" && i + 2 <= length(p)) {
      h = hex(substr(p, i + 1, 1)); l = hex(substr(p, i + 2, 1))
      if (h >= 0 && l >= 0) {
        v = sprintf("%c", h * 16 + l)
        if (v ~ /^[A-Za-z0-9._~-]$/) { out = out v; i += 2; continue }
      }
    }
    out = out c
  }
  return out
}
{
  gsub(/\\\\/, "\001"); gsub(/\\"/, "\002")
  $0 = $0
  if (NF < 7) next
  split($1, head, " ")
  addr = head[1]
  if (addr !~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ && addr !~ /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/) next
  if ($1 !~ /\] $/ || $3 !~ /^ [0-9][0-9][0-9] ([0-9]+|-) $/ || $5 != " ") next
  if (split($2, r, " ") != 3 || r[3] !~ /^HTTP\//) next
  if (r[1] != "GET") next
  t = r[2]
  MISTAKE_TARGET
  if (t != "/api/notes") next
  MISTAKE_OWN
  MISTAKE_BOT
  n++
}
END { print n + 0 }' access.log"#;

fn careful() -> String {
    CAREFUL
        .replace(
            "MISTAKE_TARGET",
            r#"sub(/[?#].*/, "", t); sub(/^[hH][tT][tT][pP][sS]?:\/\/[^\/]*/, "", t); if (t == "") t = "/"; t = decode(t); if (length(t) > 1) sub(/\/$/, "", t)"#,
        )
        .replace("MISTAKE_OWN", r#"if (addr ~ /^(::ffff:)?10\./) next"#)
        .replace(
            "MISTAKE_BOT",
            r#"if (tolower($6) ~ /bot|crawl|spider|slurp|facebookexternalhit|headless/) next"#,
        )
}

fn rule() -> Rule {
    Rule::from_endpoint("GET /api/notes")
        .unwrap()
        .with_own_networks(vec!["10.0.0.0/8".parse().unwrap()])
}

fn grading(command: String, limits: Limits) -> CommandGrading {
    CommandGrading {
        rule: rule(),
        program: Program::Command(command),
        seeds: vec![11, 22, 33],
        lines: 4000,
        limits,
        image: assay_sandbox::tools_image().to_string(),
    }
}

/// The daemon with the tools image built (offline, from the shared cache), or `None` after a
/// printed skip.
async fn engine(test: &str) -> Option<Engine> {
    let engine = assay_testkit::engine_or_skip(test).await?;
    let opts = ImagesOptions {
        offline: true,
        work_dir: assay_testkit::cache_dir(),
        ..Default::default()
    };
    assay_sandbox::ensure_tools(&engine, &opts, &|l| eprintln!("[images] {l}"))
        .await
        .expect("the tools image");
    Some(engine)
}

async fn run(engine: &Engine, g: &CommandGrading) -> CommandReport {
    let r = grade_command(engine, g, &AtomicBool::new(false), &|l| eprintln!("{l}"))
        .await
        .expect("graded");
    for run in &r.runs {
        eprintln!(
            "seed {}: expected {} printed {:?} {:?} {:.1} s {:?}\n  stdout: {}\n  stderr: {}",
            run.seed,
            run.expected,
            run.printed,
            run.ending,
            run.seconds,
            run.grade.as_ref().map(|g| &g.message),
            run.stdout_tail,
            run.stderr_tail
        );
    }
    r
}

/// Nothing of a finished grading is left: no container, no volume labelled as this process's
/// (the owner label every run resource carries; other processes' resources are not ours to
/// judge).
async fn assert_nothing_left(engine: &Engine) {
    let label = format!("{}={}", labels::OWNER_PID, std::process::id());
    let containers = engine.containers_labelled(&label).await.unwrap();
    let volumes = engine.volumes_labelled(&label).await.unwrap();
    assert!(
        containers.is_empty() && volumes.is_empty(),
        "left behind: {containers:?} {volumes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_careful_awk_command_passes_on_every_seed_with_mawk_and_gawk() {
    let Some(engine) = engine("a_careful_awk_command_passes").await else {
        return;
    };
    for awk in ["awk", "gawk"] {
        let cmd = careful().replacen("awk -F", &format!("{awk} -F"), 1);
        let r = run(&engine, &grading(cmd, Limits::default())).await;
        assert!(r.pass, "{awk}: {:?}", r.runs);
        assert_eq!(r.runs.len(), 3);
        let answers: Vec<u64> = r.runs.iter().map(|x| x.expected).collect();
        assert!(answers[0] != answers[1], "the seeds give different answers");
    }
    assert_nothing_left(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usual_mistakes_fail_each_named_after_its_trap() {
    let Some(engine) = engine("the_usual_mistakes_fail").await else {
        return;
    };
    let base = careful();
    let bots = base.replace(
        r#"if (tolower($6) ~ /bot|crawl|spider|slurp|facebookexternalhit|headless/) next"#,
        "",
    );
    let own = base.replace(r#"if (addr ~ /^(::ffff:)?10\./) next"#, "");
    // Query strings, trailing slashes, %-escapes and absolute forms not folded: only the
    // exact target counts.
    let split_variants = careful_with_target("");
    for (cmd, trap) in [
        (bots, "with_bots"),
        (own, "with_own"),
        (split_variants, "exact_target"),
    ] {
        let r = run(&engine, &grading(cmd, Limits::default())).await;
        assert!(!r.pass);
        for x in &r.runs {
            let g = x.grade.as_ref().expect("a number was printed");
            assert!(!g.pass);
            assert!(
                g.explained_by.contains(&trap),
                "seed {}: {} (wanted {trap})",
                x.seed,
                g.message
            );
            assert!(g.message.contains(&format!("({trap})")), "{}", g.message);
        }
    }
    // A number fixed in advance: wrong on every log and called a constant.
    let r = run(&engine, &grading("echo 2000".into(), Limits::default())).await;
    assert!(!r.pass);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("printed 2000 for every log")),
        "{:?}",
        r.notes
    );
    assert_nothing_left(&engine).await;
}

fn careful_with_target(fold: &str) -> String {
    CAREFUL
        .replace("MISTAKE_TARGET", fold)
        .replace("MISTAKE_OWN", r#"if (addr ~ /^(::ffff:)?10\./) next"#)
        .replace(
            "MISTAKE_BOT",
            r#"if (tolower($6) ~ /bot|crawl|spider|slurp|facebookexternalhit|headless/) next"#,
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_past_its_time_or_memory_is_stopped_and_reported() {
    let Some(engine) = engine("a_command_past_its_time").await else {
        return;
    };
    let limits = Limits {
        time: Duration::from_secs(3),
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    // Ignores SIGTERM too: only the SIGKILL after the grace period ends it.
    let forever = grading("trap '' TERM; while :; do :; done".into(), limits.clone());
    let forever = CommandGrading {
        seeds: vec![1],
        ..forever
    };
    let started = std::time::Instant::now();
    let r = run(&engine, &forever).await;
    assert!(!r.pass);
    assert_eq!(r.runs[0].ending, Ending::TimedOut);
    assert!(r.runs[0]
        .no_number
        .as_deref()
        .is_some_and(|w| w.contains("time limit")));
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "stopped in time"
    );

    let hog = CommandGrading {
        seeds: vec![1],
        ..grading(
            "python3 -c 'x = [bytearray(1 << 20) for _ in range(1000)]; print(len(x))'".into(),
            limits,
        )
    };
    let r = run(&engine, &hog).await;
    assert!(!r.pass);
    assert_eq!(r.runs[0].ending, Ending::OutOfMemory);
    assert_nothing_left(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_a_tail_pipeline_follows_appends_across_a_rotation() {
    let Some(engine) = engine("live_a_tail_pipeline").await else {
        return;
    };
    // The careful program, printing the running count on each match (the group's SIGTERM
    // ends it; the last number printed is the answer).
    let live = careful()
        .replace("  n++\n}", "  n++; print n; fflush()\n}")
        .replace("END { print n + 0 }' access.log", "'")
        .replacen(
            "LC_ALL=C awk",
            "tail -n +1 -F access.log 2>/dev/null | LC_ALL=C awk",
            1,
        );
    let g = CommandGrading {
        seeds: vec![5],
        lines: 3000,
        ..grading(live, Limits::default())
    };
    let opts = LiveOptions {
        appends: 8,
        interval: Duration::from_millis(300),
        settle: Duration::from_secs(2),
    };
    let r = grade_live(&engine, &g, &opts, &AtomicBool::new(false), &|l| {
        eprintln!("{l}")
    })
    .await
    .expect("graded");
    let run = &r.runs[0];
    eprintln!("{run:?}");
    assert_eq!(run.ending, Ending::Signalled);
    assert_eq!(run.follow_count, Some(run.expected), "assay logs follow");
    assert_eq!(run.printed, Some(run.expected), "{:?}", run.grade);
    assert!(r.pass);

    // A pipeline that reads the log once misses what comes after and the rotated part.
    let once = CommandGrading {
        program: Program::Command("sleep 1; cat access.log | wc -l; sleep 1000".into()),
        ..g.clone()
    };
    let r = grade_live(&engine, &once, &opts, &AtomicBool::new(false), &|l| {
        eprintln!("{l}")
    })
    .await
    .expect("graded");
    assert!(!r.pass);
    assert_eq!(r.runs[0].follow_count, Some(r.runs[0].expected));
    assert_nothing_left(&engine).await;
}
