//! Test support: a hand-built rubric and generators for binary fixtures (.docx, .pdf), so no
//! opaque blobs are committed. Shared by the integration tests and the bench example.
#![allow(dead_code)]

pub use assay_testkit::docgen as gen;

use assay_core::{
    DatabaseRules, EssayRules, IntakeLimits, Question, QuestionKind, Rubric, RuntimeRules,
    WebappIdentity,
};
use std::collections::BTreeMap;

/// The five take-home questions in this test's own words: q1 orchestration, q2..q5 electives,
/// 250 words, one elective required.
pub fn rubric() -> Rubric {
    let q = |id: &str, kind, title: &str, text: &str, keywords: &[&str]| Question {
        id: id.to_string(),
        kind,
        title: title.to_string(),
        text: text.to_string(),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
    };
    Rubric {
        name: "test".into(),
        pass_threshold: 70.0,
        essays: EssayRules { min_words: 250, electives_required: 1, near_miss_fraction: 0.05 },
        questions: vec![
            q(
                "q1",
                QuestionKind::Orchestration,
                "Orchestration",
                "Give an orchestration file that lets the webapp talk to Postgres in a portable environment. \
                 Without one, explain how you would connect the services portably, why that is better, and how it would scale.",
                &["orchestration", "compose", "kubernetes", "portable"],
            ),
            q(
                "q2",
                QuestionKind::Elective,
                "Open source",
                "Tell us about an open-source project you built or contribute to: why you did it, the challenges, \
                 and how you handle pull requests and issues.",
                &["open source", "open-source", "contribute", "pull requests", "maintainer"],
            ),
            q(
                "q3",
                QuestionKind::Elective,
                "A system you improved",
                "Describe a system you improved: the specifics of what you changed and the lessons you learned.",
                &["improved", "improvement", "lessons"],
            ),
            q(
                "q4",
                QuestionKind::Elective,
                "Security",
                "Describe a serious vulnerability you found or fixed, and your philosophy of threat mitigation.",
                &["vulnerability", "security", "threat", "mitigation"],
            ),
            q(
                "q5",
                QuestionKind::Elective,
                "Redesign",
                "Which piece of software would you redesign? What workarounds do you use today, and what DevOps \
                 tooling do you wish existed and how would you build it?",
                &["redesign", "workaround", "workarounds", "tooling"],
            ),
        ],
        checks: BTreeMap::new(),
        intake: IntakeLimits::default(),
        webapp: WebappIdentity {
            images: vec!["assay/sample-webapp".into()],
            service_hints: vec!["webapp".into()],
            package_name: "sample-webapp".into(),
            default_port: 8080,
        },
        database: DatabaseRules { images: vec!["postgres".into()], allowed_tags: vec!["16".into()] },
        runtime: RuntimeRules { timeout_secs: 120, required: false, cold_start_pause_secs: 10 },
        limits: Default::default(),
    }
}

/// `n` words of plain prose (every token one word by both assay's policy and `wc -w`).
pub fn prose(n: usize) -> String {
    const WORDS: &[&str] = &[
        "containers",
        "share",
        "a",
        "private",
        "network",
        "so",
        "the",
        "webapp",
        "reaches",
        "its",
        "database",
        "by",
        "name",
        "and",
        "nothing",
        "depends",
        "on",
        "host",
        "ports",
        "which",
        "keeps",
        "every",
        "run",
        "portable",
        "across",
        "laptops",
        "build",
        "servers",
        "clusters",
    ];
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(if i % 17 == 0 { '\n' } else { ' ' });
        }
        s.push_str(WORDS[(i * 7 + i / 29) % WORDS.len()]);
        if i % 12 == 11 {
            s.push('.');
        }
    }
    s
}

/// A committed fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The generated .docx fixture: `Q4 - security.docx` (heading, split runs, a footnote, a table).
pub fn docx_fixture() -> Vec<u8> {
    use gen::Para;
    gen::docx(&[
        Para::Heading(1, "Q4 - security"),
        Para::Text(
            "The worst vulnerability I fixed was a server-side request forgery in our image proxy; \
             attackers could reach the cloud metadata endpoint and read short-lived credentials.",
        ),
        Para::WithFootnote(
            "We shipped the fix within a day, then added an allow-list and egress rules.",
            "Tracked internally as SEC-112; disclosed to customers on 2024-03-08.",
        ),
        Para::Heading(2, "Philosophy"),
        Para::Text("I don't trust a single control. Threat mitigation means layers: validate input, isolate workloads, and watch what leaves the network."),
        Para::Table(vec![vec!["Layer", "Control"], vec!["Network", "egress allow-list"], vec!["Identity", "least privilege"]]),
    ])
}

/// The generated .pdf fixture: `answers/question-5.pdf`, two pages.
pub fn pdf_fixture() -> Vec<u8> {
    let paragraphs = [
        "Question 5",
        "I would redesign our release tooling. Today we work around its gaps with a pile of shell \
         scripts, a shared spreadsheet of version numbers and a lot of hope.",
        "The tool I wish existed would read a declarative description of every service, resolve \
         dependency order, and roll out changes one ring at a time with automatic roll-back when \
         error rates rise above a budget. It's not rocket science: most of the parts exist.",
        "I'd build it as a small Rust service with a Postgres state store, expose a REST API, and \
         publish the design at https://example.com/release-rings so others can reuse the ideas.",
    ];
    gen::pdf_from_paragraphs(
        &paragraphs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        8,
    )
}

/// Windows-1252 text (not UTF-8): `q3.txt` with curly apostrophes and accents.
pub fn latin1_fixture() -> Vec<u8> {
    let mut v = b"Question 3\n\nI improved the caf\xe9 ordering system\x92s queue; it didn\x92t scale before.\n".to_vec();
    v.extend_from_slice(
        b"Na\xefve retries were replaced with back-off \x96 a clich\xe9, but it works.\n",
    );
    v
}

/// UTF-16LE text with a byte-order mark: `q2.txt`.
pub fn utf16_fixture() -> Vec<u8> {
    let text = "Q2\r\n\r\nI contribute to an open-source Helm chart; I review pull requests every Friday.\r\n";
    let mut v = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// The files of one submission: (path relative to its root, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// Every format fixture as (label, files of one submission).
pub fn fixture_set() -> Vec<(&'static str, Files)> {
    let one = |name: &str, bytes: Vec<u8>| vec![(name.to_string(), bytes)];
    vec![
        ("markdown", one("ANSWERS.md", fixture("formats/ANSWERS.md"))),
        ("text", one("q2.txt", fixture("formats/q2.txt"))),
        ("html", one("answers.html", fixture("formats/answers.html"))),
        ("cjk-thai", one("cjk.md", fixture("formats/cjk.md"))),
        ("docx", one("Q4 - security.docx", docx_fixture())),
        ("pdf", one("answers/question-5.pdf", pdf_fixture())),
        ("latin1", one("q3.txt", latin1_fixture())),
        ("utf16", one("q2.txt", utf16_fixture())),
        (
            "min-words-249",
            one("ANSWERS.md", fixture("min_words/answer_249.md")),
        ),
        (
            "min-words-250",
            one("ANSWERS.md", fixture("min_words/answer_250.md")),
        ),
    ]
}

/// The parser child of this crate's tests: its own `assay-essays-parser` binary.
pub fn parser() -> assay_essays::ParserCommand {
    assay_essays::ParserCommand::new(
        env!("CARGO_BIN_EXE_assay-essays-parser"),
        std::iter::empty::<&str>(),
    )
}

/// Default limits, PDF and .docx parsed in the real child process.
pub fn extractor() -> assay_essays::Extractor {
    assay_essays::Extractor::new(parser())
}

/// Grades the given files laid out in a fresh temporary submission directory.
pub fn grade_files(
    files: &[(String, Vec<u8>)],
    has_orchestration_file: bool,
) -> assay_essays::EssayOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        docs.push(std::path::PathBuf::from(name));
    }
    let root = assay_core::SubmissionRoot::open(dir.path()).unwrap();
    assay_essays::grade(
        &root,
        &docs,
        &rubric(),
        has_orchestration_file,
        &extractor(),
    )
}
