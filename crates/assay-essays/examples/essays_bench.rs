//! Benchmark: extraction + word counting of a 1 MB Markdown document and a 50-page PDF.
//!
//! Run: `cargo run --release -p assay-essays --example essays_bench`
//! Prints, per input: size, words, median and min/max wall time over the runs, and peak RSS
//! during the runs (VmHWM after resetting it through /proc/self/clear_refs, Linux); then the
//! same PDF read as the grader reads it, in the parser child (this example re-run), to show what
//! the process costs.

use assay_testkit::docgen as gen;

use assay_essays::extract::extract_bytes;
use assay_essays::{count_words, ExtractLimits, Extractor, Format, ParserCommand};
use std::time::{Duration, Instant};

fn markdown_1mb() -> String {
    const SENTENCES: &[&str] = &[
        "The webapp reaches Postgres by its service name on a private network, so nothing depends on the host.",
        "Health checks make start-up order explicit; don't rely on sleep loops or retries hidden in scripts.",
        "We cached dependencies, split the suite into four shards and cut the build from 40 to 9.5 minutes.",
        "Secrets come from files mounted at run time, never from the image or the compose file itself.",
        "See [the runbook](https://wiki.example.com/runbooks/billing) or mail oncall@example.com for details.",
    ];
    let mut s = String::from("---\ntitle: bench\n---\n\n");
    let mut i = 0usize;
    while s.len() < 1024 * 1024 {
        s.push_str(&format!("## Question {}\n\n", 1 + i % 5));
        for p in 0..6 {
            for k in 0..5 {
                s.push_str(SENTENCES[(i + p + k) % SENTENCES.len()]);
                s.push(' ');
            }
            s.push_str("\n\n");
        }
        s.push_str("- **bold** item with `code`\n- _italic_ item — state-of-the-art\n\n```yaml\nservices:\n  db:\n    image: postgres:16\n```\n\n");
        i += 1;
    }
    s
}

fn pdf_50_pages() -> Vec<u8> {
    let paragraph = "The webapp reaches Postgres by its service name on a private network, so nothing depends on the host. \
        Health checks make start-up order explicit and the database keeps its data in a named volume across restarts.";
    let paragraphs: Vec<String> = (0..500).map(|i| format!("{i}. {paragraph}")).collect();
    let pdf = gen::pdf_from_paragraphs(&paragraphs, 40);
    let pages = pdf.windows(12).filter(|w| w == b"/Type /Page ").count();
    assert_eq!(pages, 50, "the PDF has 50 pages");
    pdf
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(name: &str, format: Format, bytes: &[u8], runs: usize) {
    let limits = ExtractLimits::default();
    reset_peak_rss();
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut words = 0;
    let mut blocks = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let doc = extract_bytes(name, format, bytes, &limits).expect("extract");
        words = count_words(&doc.text());
        times.push(start.elapsed());
        blocks = doc.blocks.len();
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{name:<14} {:>9} bytes {blocks:>6} blocks {words:>7} words  median {:>8.2} ms  (min {:.2}, max {:.2}, {runs} runs)  peak RSS {} KiB",
        bytes.len(),
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        peak_rss_kib().map_or("n/a".to_string(), |k| k.to_string()),
    );
}

/// The argument that makes this example the parser child.
const PARSER_ARG: &str = "--parse-document";

fn main() {
    if std::env::args().nth(1).as_deref() == Some(PARSER_ARG) {
        std::process::exit(assay_essays::child_main());
    }
    let extractor =
        Extractor::new(ParserCommand::current_exe([PARSER_ARG]).expect("this example's path"));
    let md = markdown_1mb();
    let pdf = pdf_50_pages();
    println!(
        "baseline RSS before runs: {} KiB",
        peak_rss_kib().map_or("n/a".to_string(), |k| k.to_string())
    );
    bench("1MB.md", Format::Markdown, md.as_bytes(), 15);
    bench("50pages.pdf", Format::Pdf, &pdf, 9);
    let dir = std::env::temp_dir().join(format!("assay-essays-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("50pages.pdf"), &pdf).unwrap();
    let mut c: Vec<Duration> = (0..9)
        .map(|_| {
            let s = Instant::now();
            assay_essays::extract_document(
                &assay_core::SubmissionRoot::open(&dir).unwrap(),
                "50pages.pdf".as_ref(),
                &extractor,
            )
            .expect("extract in the child");
            s.elapsed()
        })
        .collect();
    c.sort();
    println!(
        "50pages.pdf in the parser child (spawn, limits, reply): median {:.2} ms (9 runs)",
        c[4].as_secs_f64() * 1e3
    );
    // The whole essays stage on the Markdown document (matching, question stripping, checks).
    std::fs::write(dir.join("ANSWERS.md"), &md).unwrap();
    let rubric = assay_core::default_rubric();
    let root = assay_core::SubmissionRoot::open(&dir).unwrap();
    reset_peak_rss();
    let mut g: Vec<Duration> = (0..9)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(assay_essays::grade(
                &root,
                &["ANSWERS.md".into()],
                &rubric,
                false,
                &extractor,
            ));
            s.elapsed()
        })
        .collect();
    g.sort();
    println!(
        "grade() on the 1 MB Markdown: median {:.2} ms (9 runs), peak RSS {} KiB",
        g[4].as_secs_f64() * 1e3,
        peak_rss_kib().map_or("n/a".to_string(), |k| k.to_string())
    );
    let _ = std::fs::remove_dir_all(&dir);
    // Counting alone, on the Markdown's extracted text.
    let text = extract_bytes(
        "1MB.md",
        Format::Markdown,
        md.as_bytes(),
        &ExtractLimits::default(),
    )
    .unwrap()
    .text();
    let mut t: Vec<Duration> = (0..15)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(count_words(&text));
            s.elapsed()
        })
        .collect();
    t.sort();
    println!(
        "count_words only on the Markdown's {} bytes of text: median {:.2} ms",
        text.len(),
        t[7].as_secs_f64() * 1e3
    );
}
