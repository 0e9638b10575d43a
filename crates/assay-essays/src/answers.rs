//! Answer matching: which text answers which question, and why.
//!
//! Every searched document has a [`DocumentRole`], and the role sets the bar:
//! - **answer documents** — named for answers (`ANSWERS.md`, `answers.txt`, `QUESTIONS.md`,
//!   `essays.docx`, `responses.md`, `submission.md`, `take-home-answers.md`, anything in an
//!   `answers/` or `essays/` folder) or for one question (`q2.md`, `question-3.txt`,
//!   `Q4 - security.docx`, `essays/5.md`): an explicit label (`Question 2`, `Q2`, `Answer 2`),
//!   a numbered heading (`## 2.`, `## 2)`) or a heading whose words name one question's rubric
//!   title/keywords best starts an answer, and so does a paragraph restating a question's text
//!   or a heading naming no question whose section is about one; the file name of a
//!   per-question file is enough;
//! - **the submission's README** (in the root, else beside the compose file): an explicit label
//!   starts an answer; a numbered or keyword heading only when its section is *about* the
//!   question (see [`crate::about`]), since READMEs number their setup steps and have sections
//!   like "Security" or "Scaling" about the candidate's stack;
//! - **other documents** (`CHALLENGES.md`, `docs/*.md`, design notes, an app's README): the same
//!   as the README, and an explicit label followed by a title needs some of the question in its
//!   section (an FAQ's `Q2: why port 8080?` has none).
//!
//! With an orchestration file, Q1 needs no essay: a short Q1 section is a pointer to the file,
//! and other documents' sections about the stack are never Q1 answers unless labelled.
//!
//! A section runs to the next labelled section, or — under a structural heading — to the next
//! heading of the same or a higher level. The heading that labels a section is not counted.
//! Nothing is guessed silently: every answer says why it was credited, a question-like section
//! that was not credited says why not, and a heading that matches two questions equally, a
//! question answered in two places, and an answer document with no recognisable labels are
//! diagnostics.

use crate::about::{Judge, KEYWORD_HEADING_MARGIN};
use crate::count::{count_words, words_lower};
use crate::extract::{Block, Document, Format};
use assay_core::{Diagnostic, Location, Question, QuestionKind, Rubric};
use serde::Serialize;

/// One stretch of text attributed to a question, before counting.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub question: String,
    pub file: String,
    pub location: Location,
    pub text: String,
    /// Why the text was credited to the question: the label or the evidence.
    pub credit: String,
    /// The heading or line that starts it as written (shortened), or the file name.
    pub label: String,
}

/// What kind of document a searched file is; the bar for crediting an answer differs (see the
/// module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentRole {
    /// Named for answers, or for one question.
    Answers,
    /// The submission's own README.
    Readme,
    /// Any other document searched: answers only where a section is about its question.
    Other,
    /// A copy of the handout (its questions, no answers): not searched.
    Handout,
}

/// A heading or line that looks like an answer's label but was not credited, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uncredited {
    /// Where the heading or line is.
    pub location: Location,
    /// The heading or line as written (shortened).
    pub heading: String,
    /// The question it looks like.
    pub question: String,
    /// Why it was not credited, e.g. "looks numbered like Q2 but is not about it (…)".
    pub reason: String,
}

/// A label at the start of a heading or line: the question number and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label<'a> {
    pub number: usize,
    /// `Question 2`, `Q2`, `Answer 2` (not a bare `2.`).
    pub explicit: bool,
    /// A delimiter (`:`, `.`, `)`, a dash) or the end of the text follows the number.
    pub delimited: bool,
    pub rest: &'a str,
    /// The label as written, from its first letter or digit to the end of the number
    /// (`Question 2`, `Q2`, `2`).
    pub written: &'a str,
}

const PREFIXES: &[&str] = &[
    "answer to question",
    "answer to q",
    "question",
    "answer",
    "essay",
    "ques",
    "q",
];

/// Parses a label at the start of `s` (after any Markdown-ish markers like `**`, `#`, `>`).
pub(crate) fn parse_label(s: &str) -> Option<Label<'_>> {
    let t = s.trim_start_matches(|c: char| !c.is_alphanumeric());
    if let Some(l) = explicit_label(t) {
        return Some(l);
    }
    // A bare number: `2.`, `2)`, `2:` (a delimiter is required).
    number_then_rest(t, false).filter(|l| {
        l.delimited
            && t.as_bytes()
                .get(digits_len(t))
                .is_some_and(|c| matches!(c, b'.' | b')' | b':'))
    })
}

/// `Question 2…`, `Q2…`, `answer-2…`: a prefix from [`PREFIXES`], then the number.
fn explicit_label(t: &str) -> Option<Label<'_>> {
    PREFIXES.iter().find_map(|p| {
        let head = t.get(..p.len())?;
        if !head.eq_ignore_ascii_case(p) {
            return None;
        }
        let r = t[p.len()..].trim_start_matches([' ', '\t', '#', '.', '-', '_', '\u{a0}']);
        let l = number_then_rest(r, true)?;
        // `Q2 2024`, `Q3 2023 roadmap`: a quarter, not a question.
        if l.rest.starts_with(|c: char| c.is_ascii_digit()) && !l.delimited {
            return None;
        }
        let end = t.len() - r.len() + digits_len(r);
        Some(Label {
            written: &t[..end],
            ..l
        })
    })
}

fn digits_len(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

fn number_then_rest(r: &str, explicit: bool) -> Option<Label<'_>> {
    let n = digits_len(r);
    if n == 0 || n > 2 {
        return None;
    }
    let number: usize = r[..n].parse().ok()?;
    let after = &r[n..];
    if after.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let trimmed = after.trim_start();
    let delims = |c: char| {
        matches!(
            c,
            ':' | '.' | ')' | '-' | '–' | '—' | '*' | '_' | ']' | '/' | '|'
        )
    };
    let delimited = trimmed.is_empty() || trimmed.starts_with(delims);
    let rest = trimmed.trim_start_matches(|c: char| delims(c) || c.is_whitespace());
    Some(Label {
        number,
        explicit,
        delimited,
        rest,
        written: &r[..n],
    })
}

/// The question a file name (or its folder) names, e.g. `answers/question-3.txt` → q3. A bare
/// number names a question when it is the whole name (`essays/5.md`), or inside a folder named
/// for answers (`answers/2-open-source.md`); `3-tier-architecture.md` names none.
pub(crate) fn question_from_path<'r>(file: &str, rubric: &'r Rubric) -> Option<&'r Question> {
    let mut parts = file.rsplit('/');
    let name = parts.next()?;
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let in_answers_folder = folder_named_for_answers(file);
    let from = |s: &str| -> Option<usize> {
        let t = s.trim_start_matches(|c: char| !c.is_alphanumeric());
        if let Some(l) = explicit_label(t) {
            return Some(l.number);
        }
        let n = digits_len(t);
        let rest = t.get(n..).unwrap_or_default();
        let alone = rest.chars().all(|c| !c.is_alphanumeric());
        (n > 0
            && n <= 2
            && !rest.starts_with(|c: char| c.is_alphanumeric())
            && (alone || in_answers_folder))
            .then(|| t[..n].parse().ok())
            .flatten()
    };
    let n = from(stem).or_else(|| parts.next().and_then(from))?;
    question_by_number(rubric, n)
}

/// A section of at most this many words, this similar to its question, only states it (the
/// bar is higher than for a restated question, so that short answers are not taken for it).
const STATED_MAX_WORDS: usize = 60;
const STATED_SIMILARITY: f64 = 0.5;

/// A paragraph of this many words can be a restated question (a label).
const RESTATED_MIN_WORDS: usize = 8;
const RESTATED_MAX_WORDS: usize = 80;

/// Words in a file or folder name that say it holds answers.
const ANSWER_NAME_WORDS: &[&str] = &[
    "answer",
    "answers",
    "question",
    "questions",
    "essay",
    "essays",
    "response",
    "responses",
    "reply",
    "replies",
    "submission",
    "writeup",
    "qa",
];

/// The lower-case words of a file or folder name (`take-home_Answers.md` → `take`, `home`,
/// `answers`, `md`), with `write up` also as `writeup`.
fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let joined: Vec<String> = words
        .windows(2)
        .filter(|w| w[0] == "write" && w[1] == "up")
        .map(|w| format!("{}{}", w[0], w[1]))
        .collect();
    words.extend(joined);
    words
}

fn named_for_answers(name: &str) -> Option<String> {
    name_words(name)
        .into_iter()
        .find(|w| ANSWER_NAME_WORDS.contains(&w.as_str()))
}

fn folder_named_for_answers(file: &str) -> bool {
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    dir.split('/').any(|c| named_for_answers(c).is_some())
}

/// The role of a searched document and why, from its path: `top_readme` is the submission's
/// own README (relative path), if it has one.
pub(crate) fn document_role(
    file: &str,
    top_readme: Option<&str>,
    rubric: &Rubric,
) -> (DocumentRole, String) {
    if top_readme == Some(file) {
        return (
            DocumentRole::Readme,
            "the submission's README: labelled answers count; numbered or keyword sections only when about their question".into(),
        );
    }
    if let Some(q) = question_from_path(file, rubric) {
        return (
            DocumentRole::Answers,
            format!("an answer document: its name names {}", q.id.to_uppercase()),
        );
    }
    let name = file.rsplit('/').next().unwrap_or(file);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    if let Some(w) = named_for_answers(stem) {
        return (
            DocumentRole::Answers,
            format!("an answer document: named `{w}`"),
        );
    }
    if folder_named_for_answers(file) {
        return (
            DocumentRole::Answers,
            "an answer document: in a folder named for answers".into(),
        );
    }
    (
        DocumentRole::Other,
        "another document: labelled answers count unless about another question; numbered or keyword sections only when about their question".into(),
    )
}

/// `q{n}` by id, else the n-th question.
pub(crate) fn question_by_number(rubric: &Rubric, n: usize) -> Option<&Question> {
    let id = format!("q{n}");
    rubric
        .questions
        .iter()
        .find(|q| q.id.eq_ignore_ascii_case(&id))
        .or_else(|| n.checked_sub(1).and_then(|i| rubric.questions.get(i)))
}

/// The distinct phrases among a question's keywords and title that a heading contains (whole
/// words, case-insensitive), as the rubric writes them.
fn heading_keywords(heading: &str, q: &Question) -> Vec<String> {
    let hay = format!(" {} ", words_lower(heading).join(" "));
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for p in q.keywords.iter().chain(std::iter::once(&q.title)) {
        let norm = words_lower(p).join(" ");
        if norm.is_empty() || seen.contains(&norm) {
            continue;
        }
        if hay.contains(&format!(" {norm} ")) {
            out.push(p.clone());
        }
        seen.push(norm);
    }
    out
}

/// How many distinct phrases among a question's keywords and title a heading contains.
fn keyword_score(heading: &str, q: &Question) -> usize {
    heading_keywords(heading, q).len()
}

/// The question a heading's words point to, if exactly one scores best (≥ `min`).
fn by_keywords<'r>(
    heading: &str,
    rubric: &'r Rubric,
    min: usize,
) -> Result<Option<&'r Question>, Vec<&'r Question>> {
    let mut scored: Vec<(usize, &Question)> = rubric
        .questions
        .iter()
        .map(|q| (keyword_score(heading, q), q))
        .filter(|(s, _)| *s >= min.max(1))
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [] => Ok(None),
        [(_, q)] => Ok(Some(q)),
        [(a, q), (b, _), ..] if a > b => Ok(Some(q)),
        [(a, _), ..] => Err(scored
            .iter()
            .filter(|(s, _)| s == a)
            .map(|(_, q)| *q)
            .collect()),
    }
}

struct Start<'a> {
    block: usize,
    question: &'a Question,
    /// Text after the label on the same line that belongs to the answer.
    rest: Option<String>,
    /// Why the section is credited to the question.
    credit: String,
}

/// What matching found in one document.
#[derive(Debug, Default)]
pub(crate) struct Matched {
    pub sections: Vec<Section>,
    pub uncredited: Vec<Uncredited>,
    /// How many questions the document restates without answering them, when that makes it a
    /// copy of the questions (a handout), not answers: nothing is credited in it.
    pub questions_only: Option<usize>,
}

/// Finds the sections of one document, read with the bar of its `role`. Diagnostics go to
/// `diags`.
pub(crate) fn sections(
    doc: &Document,
    rubric: &Rubric,
    role: DocumentRole,
    has_orchestration_file: bool,
    diags: &mut Vec<Diagnostic>,
) -> Matched {
    let mut matched = Matched::default();
    if role == DocumentRole::Handout {
        return matched;
    }
    let file_q = if role == DocumentRole::Answers {
        question_from_path(&doc.file, rubric)
    } else {
        None
    };
    let judge = Judge::new(rubric, &section_texts(doc));
    let mut reader = Reader {
        doc,
        rubric,
        role,
        judge: &judge,
        last_bare: 0,
        has_orchestration_file,
        diags,
        uncredited: &mut matched.uncredited,
    };
    let starts = reader.find_starts();
    let out = &mut matched.sections;
    if let Some(fq) = file_q {
        if starts.iter().all(|s| s.question.id == fq.id) {
            // The whole file answers its question; label headings are not counted.
            let label_blocks: Vec<usize> = starts.iter().map(|s| s.block).collect();
            let mut text = String::new();
            let mut first_block = None;
            for (i, b) in doc.blocks.iter().enumerate() {
                if label_blocks.contains(&i) {
                    if let Some(rest) = starts
                        .iter()
                        .find(|s| s.block == i)
                        .and_then(|s| s.rest.clone())
                    {
                        text.push_str(&rest);
                        text.push('\n');
                    }
                    continue;
                }
                if i == 0 && b.heading.is_some() {
                    continue; // the document's title
                }
                first_block = first_block.or(Some(b));
                text.push_str(&b.text);
                text.push('\n');
            }
            let location = match starts.first() {
                Some(s) => doc.location_of(&doc.blocks[s.block]),
                None => first_block
                    .map_or_else(|| Location::file(doc.file.clone()), |b| doc.location_of(b)),
            };
            let credit = match starts.first() {
                Some(s) => format!(
                    "its file name names {} ({})",
                    fq.id.to_uppercase(),
                    s.credit
                ),
                None => format!("its file name names {}", fq.id.to_uppercase()),
            };
            out.push(Section {
                question: fq.id.clone(),
                file: doc.file.clone(),
                location,
                text,
                credit,
                label: doc.file.rsplit('/').next().unwrap_or(&doc.file).to_string(),
            });
            return matched;
        }
        let others: Vec<&str> = starts
            .iter()
            .map(|s| s.question.id.as_str())
            .filter(|id| *id != fq.id)
            .collect();
        diags.push(
            Diagnostic::warning(format!(
                "file name says {} but its headings name {}; answers are taken from the headings",
                fq.id,
                others.join(", ")
            ))
            .at(Location::file(doc.file.clone())),
        );
    }
    if starts.is_empty() {
        if role == DocumentRole::Answers {
            let words = count_words(&doc.text());
            if words > 0 {
                diags.push(
                    Diagnostic::warning(format!(
                        "no question labels found; its {words} words are not attributed to any question"
                    ))
                    .at(Location::file(doc.file.clone()))
                    .with_hint("start each answer with a heading such as `## Question 2`, or name the file q2.md"),
                );
            }
        }
        return matched;
    }
    for (k, s) in starts.iter().enumerate() {
        let next_start = starts.get(k + 1).map_or(doc.blocks.len(), |n| n.block);
        let level = doc.blocks[s.block].heading;
        let mut end = next_start;
        if let Some(level) = level {
            if let Some(p) = doc.blocks[s.block + 1..next_start]
                .iter()
                .position(|b| b.heading.is_some_and(|l| l <= level))
            {
                end = s.block + 1 + p;
            }
        }
        let mut text = String::new();
        if let Some(rest) = &s.rest {
            text.push_str(rest);
            text.push('\n');
        }
        for b in &doc.blocks[s.block + 1..end] {
            text.push_str(&b.text);
            text.push('\n');
        }
        out.push(Section {
            question: s.question.id.clone(),
            file: doc.file.clone(),
            location: doc.location_of(&doc.blocks[s.block]),
            text,
            credit: s.credit.clone(),
            label: as_written(doc, &doc.blocks[s.block]),
        });
    }
    if let Some(n) = questions_only(&matched.sections, rubric, &judge) {
        for s in std::mem::take(&mut matched.sections) {
            matched.uncredited.push(Uncredited {
                location: s.location,
                heading: s.label,
                question: s.question,
                reason: format!("{}, but the document only states the questions", s.credit),
            });
        }
        matched.questions_only = Some(n);
    }
    matched
}

/// Questions a document states (a short section near the question's own text) in a document
/// whose sections all do so: a handout of the questions, however worded, not answers. `None`
/// unless at least three questions (all of them, in a smaller rubric) are stated and nothing
/// else is credited.
fn questions_only(sections: &[Section], rubric: &Rubric, judge: &Judge<'_>) -> Option<usize> {
    let needed = rubric.questions.len().min(3);
    if sections.len() < needed.max(1) {
        return None;
    }
    let stated = sections
        .iter()
        .filter(|s| {
            count_words(&s.text) <= STATED_MAX_WORDS
                && judge
                    .measure("", &s.text)
                    .iter()
                    .find(|m| m.question == s.question)
                    .is_some_and(|m| m.similarity >= STATED_SIMILARITY)
        })
        .count();
    (stated == sections.len()).then_some(stated)
}

/// A heading or line as the candidate wrote it (Markdown headings with their `#`), shortened.
fn as_written(doc: &Document, b: &Block) -> String {
    match (doc.format, b.heading) {
        (Format::Markdown, Some(level)) => format!(
            "{} {}",
            "#".repeat(usize::from(level)),
            crate::truncate_chars(&b.text, 80)
        ),
        _ => crate::truncate_chars(&b.text, 80),
    }
}

/// The texts of a document's parts (split at headings, else at blank-line paragraphs), the
/// document's share of the corpus that weighs words for [`Judge`].
fn section_texts(doc: &Document) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let headed = doc.blocks.iter().any(|b| b.heading.is_some());
    for b in &doc.blocks {
        let split = if headed {
            b.heading.is_some()
        } else {
            b.standalone
        };
        if split || out.is_empty() {
            out.push(String::new());
        }
        let last = out.last_mut().expect("pushed above");
        last.push_str(&b.text);
        last.push('\n');
    }
    out
}

/// Reads one document's blocks for answer starts.
struct Reader<'d, 'r> {
    doc: &'d Document,
    rubric: &'r Rubric,
    role: DocumentRole,
    judge: &'d Judge<'r>,
    /// The highest bare number accepted so far (numbered lines must count upwards).
    last_bare: usize,
    /// Q1 is answered by a compose file or manifests.
    has_orchestration_file: bool,
    diags: &'d mut Vec<Diagnostic>,
    uncredited: &'d mut Vec<Uncredited>,
}

impl<'r> Reader<'_, 'r> {
    fn find_starts(&mut self) -> Vec<Start<'r>> {
        let mut starts = Vec::new();
        // Level of the heading that opened the current section: deeper headings belong to it
        // ("### Lessons" inside "## Question 3") unless they carry an explicit label.
        let mut open_level: Option<u8> = None;
        for (i, b) in self.doc.blocks.iter().enumerate() {
            if let (Some(open), Some(level)) = (open_level, b.heading) {
                if level > open {
                    let labelled = parse_label(&b.text).is_some_and(|l| {
                        l.explicit && question_by_number(self.rubric, l.number).is_some()
                    });
                    if !labelled {
                        continue;
                    }
                } else {
                    open_level = None;
                }
            }
            if b.heading.is_none() && parse_label(&b.text).is_none() {
                // A restated question inside that question's own answer is a quote.
                let current = starts.last().map(|s: &Start| s.question.id.as_str());
                if let Some(start) = self.restated_question(i, b) {
                    if current != Some(start.question.id.as_str()) {
                        open_level = None;
                        starts.push(start);
                    }
                }
                continue;
            }
            if let Some(start) = self.start_at(i, b) {
                open_level = b.heading;
                starts.push(start);
            }
        }
        starts
    }

    /// The text of the section a heading or label line at block `i` would open: to the next
    /// heading of the same or a higher level (a heading), or to the next heading or label line.
    fn body_of(&self, i: usize) -> String {
        let blocks = &self.doc.blocks;
        let level = blocks[i].heading;
        let mut text = String::new();
        for b in &blocks[i + 1..] {
            let stop = match (level, b.heading) {
                (Some(l), Some(h)) => h <= l,
                (None, Some(_)) => true,
                (None, None) => parse_label(&b.text).is_some(),
                (Some(_), None) => false,
            };
            if stop {
                break;
            }
            text.push_str(&b.text);
            text.push('\n');
        }
        text
    }

    /// `body` with the question's own pasted text and typed list numbers removed: what is
    /// judged.
    fn judged_body(body: &str, q: &Question) -> String {
        strip_question(&strip_list_markers(body), q).0
    }

    fn not_credited(&mut self, b: &Block, q: &Question, reason: String) {
        self.uncredited.push(Uncredited {
            location: self.doc.location_of(b),
            heading: as_written(self.doc, b),
            question: q.id.clone(),
            reason,
        });
    }

    /// An explicit label followed by a title (`Q2: the container keeps restarting`) outside
    /// an answer document or README counts only when its section has something of the
    /// question: enough of its keywords or some similarity (an FAQ entry has neither). A bare
    /// `Question 2` always counts. Returns why not.
    fn unsupported(&self, q: &Question, title: &str, body: &str) -> Option<String> {
        if self.role != DocumentRole::Other || title.trim().is_empty() {
            return None;
        }
        let j = self
            .judge
            .judge(&q.id, title, &Self::judged_body(body, q), 0.0);
        (!j.supported()).then(|| format!("is not about {} ({})", q.id.to_uppercase(), j.evidence()))
    }

    /// With an orchestration file, Q1 needs no essay: text credited to it must be an essay
    /// (at least the evidence minimum of words) in an answer document or the README, or
    /// explicitly labelled elsewhere. Returns why not.
    fn orchestration_text_refused(
        &self,
        q: &Question,
        body: &str,
        explicit: bool,
    ) -> Option<String> {
        if !self.has_orchestration_file || q.kind != QuestionKind::Orchestration {
            return None;
        }
        let qn = q.id.to_uppercase();
        if self.role == DocumentRole::Other && !explicit {
            return Some(format!(
                "documents the submission's orchestration; {qn} is answered by the orchestration file"
            ));
        }
        let words = count_words(&Self::judged_body(body, q));
        (words < self.judge.min_body_words()).then(|| {
            format!(
                "points to the orchestration file ({words} words); {qn} is answered by the file"
            )
        })
    }

    /// Credits `q` at block `i` unless the orchestration rule refuses it.
    fn credit(
        &mut self,
        i: usize,
        q: &'r Question,
        rest: Option<String>,
        explicit: bool,
        credit: String,
    ) -> Option<Start<'r>> {
        let b = &self.doc.blocks[i];
        let mut body = rest.clone().unwrap_or_default();
        body.push_str(&self.body_of(i));
        if let Some(why) = self.orchestration_text_refused(q, &body, explicit) {
            self.not_credited(b, q, why);
            return None;
        }
        Some(Start {
            block: i,
            question: q,
            rest,
            credit,
        })
    }

    fn start_at(&mut self, i: usize, b: &Block) -> Option<Start<'r>> {
        let rubric = self.rubric;
        let label = parse_label(&b.text);
        if b.heading.is_some() {
            if let Some(l) = &label {
                if let Some(q) = question_by_number(rubric, l.number) {
                    let body = self.body_of(i);
                    if l.explicit {
                        return self.explicit(i, q, l, None, &body);
                    }
                    return self.numbered(i, q, l, &body);
                }
            }
            return self.keyword_heading(i, b);
        }
        let l = label?;
        let q = question_by_number(rubric, l.number)?;
        if l.explicit {
            if !l.delimited {
                return None; // "Question 2 was hard" is prose
            }
            // A short label line on its own ("Q2 - Open source") is a heading: its rest is a
            // title, not answer text.
            let title_line = b.standalone && count_words(&b.text) <= 8;
            let rest = (!title_line && !l.rest.trim().is_empty()).then(|| l.rest.to_string());
            let mut body = rest.clone().unwrap_or_default();
            body.push_str(&self.body_of(i));
            return self.explicit(i, q, &l, rest, &body);
        }
        // A bare number outside a heading: only a short standalone line in a format without
        // structural lists, numbered upwards, naming the question (or nothing else).
        let plain = matches!(self.doc.format, Format::Text | Format::Pdf | Format::Docx);
        let short = count_words(&b.text) <= 8;
        let names_it = l.rest.trim().is_empty() || keyword_score(l.rest, q) > 0;
        let readme = self.role == DocumentRole::Readme;
        if !(plain && !readme && b.standalone && short && names_it && l.number > self.last_bare) {
            return None;
        }
        let body = self.body_of(i);
        let start = self.numbered(i, q, &l, &body)?;
        self.last_bare = l.number;
        Some(start)
    }

    /// An explicit label (`Question 2`, `Q2`) at block `i`; `rest` is answer text on its line.
    fn explicit(
        &mut self,
        i: usize,
        q: &'r Question,
        l: &Label<'_>,
        rest: Option<String>,
        body: &str,
    ) -> Option<Start<'r>> {
        if let Some(why) = self.unsupported(q, l.rest, body) {
            let reason = format!("labelled `{}` but {why}", l.written);
            self.not_credited(&self.doc.blocks[i], q, reason);
            return None;
        }
        let credit = format!("labelled `{}`", l.written);
        self.credit(i, q, rest, true, credit)
    }

    /// A bare number (`## 2.`, a `2.` line) at block `i`: an answer in an answer document;
    /// elsewhere only when its section is about the question.
    fn numbered(
        &mut self,
        i: usize,
        q: &'r Question,
        l: &Label<'_>,
        body: &str,
    ) -> Option<Start<'r>> {
        if self.role == DocumentRole::Answers {
            let credit = format!("numbered `{}` in an answer document", l.written);
            return self.credit(i, q, None, false, credit);
        }
        let j = self
            .judge
            .judge(&q.id, l.rest, &Self::judged_body(body, q), 1.0);
        let qn = q.id.to_uppercase();
        if !j.about {
            let reason = format!(
                "looks numbered like {qn} but is not about it ({})",
                j.evidence()
            );
            self.not_credited(&self.doc.blocks[i], q, reason);
            return None;
        }
        let credit = format!("numbered `{}` and about {qn}: {}", l.written, j.evidence());
        self.credit(i, q, None, false, credit)
    }

    /// A paragraph of an answer document that restates one question's text (a pasted
    /// question, or a numbered list item holding it) starts that question's answer.
    fn restated_question(&mut self, i: usize, b: &Block) -> Option<Start<'r>> {
        let words = count_words(&b.text);
        // Only answer documents: elsewhere a quoted question would open a section that runs
        // over whatever the document says next.
        if self.role != DocumentRole::Answers
            || !(RESTATED_MIN_WORDS..=RESTATED_MAX_WORDS).contains(&words)
        {
            return None;
        }
        let (q, similarity) = self.judge.restates(&b.text)?;
        let q = self.rubric.questions.iter().find(|x| x.id == q)?;
        let credit = format!(
            "restates {}'s question (similarity {similarity:.2})",
            q.id.to_uppercase()
        );
        self.credit(i, q, None, true, credit)
    }

    /// A heading without a number whose words name a question: an answer in an answer
    /// document; elsewhere only when its section is about that question.
    fn keyword_heading(&mut self, i: usize, b: &Block) -> Option<Start<'r>> {
        let named = match by_keywords(&b.text, self.rubric, 1) {
            Ok(found) => found.into_iter().collect::<Vec<_>>(),
            Err(tied) => tied,
        };
        // A document's title is not an answer's label by its words alone.
        let title = i == 0 && b.heading == Some(1);
        if named.is_empty() && self.role == DocumentRole::Answers && b.heading != Some(1) {
            return self.unlabelled_heading(i, b);
        }
        if named.is_empty() || (title && self.role != DocumentRole::Answers) {
            return None;
        }
        let names = |q: &Question| {
            heading_keywords(&b.text, q)
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.role == DocumentRole::Answers {
            if let [q] = named.as_slice() {
                let credit = format!(
                    "heading names {} ({}) in an answer document",
                    q.id.to_uppercase(),
                    names(q)
                );
                return self.credit(i, q, None, false, credit);
            }
            self.tie(b, &named);
            return None;
        }
        // Elsewhere the body decides among the questions the heading names.
        let body = self.body_of(i);
        let judged: Vec<(&'r Question, crate::about::Judgement)> = named
            .iter()
            .map(|q| {
                (
                    *q,
                    self.judge.judge(
                        &q.id,
                        &b.text,
                        &Self::judged_body(&body, q),
                        KEYWORD_HEADING_MARGIN,
                    ),
                )
            })
            .collect();
        let about: Vec<&(&Question, crate::about::Judgement)> =
            judged.iter().filter(|(_, j)| j.about).collect();
        match about.as_slice() {
            [(q, j)] => {
                let credit = format!(
                    "heading names {qn} ({}) and about {qn}: {}",
                    names(q),
                    j.evidence(),
                    qn = q.id.to_uppercase()
                );
                self.credit(i, q, None, false, credit)
            }
            _ => {
                for (q, j) in &judged {
                    let reason = format!(
                        "names {} ({}) but is not about it ({})",
                        q.id.to_uppercase(),
                        names(q),
                        j.evidence()
                    );
                    self.not_credited(b, q, reason);
                }
                None
            }
        }
    }

    /// A heading of an answer document that names no question (`Part B / Essay 1`): its
    /// section is credited to the question it is about, if it is clearly about one.
    fn unlabelled_heading(&mut self, i: usize, b: &Block) -> Option<Start<'r>> {
        let body = self.body_of(i);
        let best = self
            .judge
            .measure(&b.text, &body)
            .into_iter()
            .max_by(|x, y| x.similarity.total_cmp(&y.similarity))?;
        let q = self
            .rubric
            .questions
            .iter()
            .find(|q| q.id == best.question)?;
        let j = self.judge.judge(
            &q.id,
            &b.text,
            &Self::judged_body(&body, q),
            KEYWORD_HEADING_MARGIN,
        );
        if !j.about {
            if j.too_short_under.is_none() {
                let reason = format!(
                    "names no question and is not clearly about one (nearest {}: {})",
                    q.id.to_uppercase(),
                    j.evidence()
                );
                self.not_credited(b, q, reason);
            }
            return None;
        }
        let qn = q.id.to_uppercase();
        let credit = format!(
            "heading names no question; its section is about {qn}: {}",
            j.evidence()
        );
        self.credit(i, q, None, false, credit)
    }

    fn tie(&mut self, b: &Block, tied: &[&Question]) {
        let ids: Vec<&str> = tied.iter().map(|q| q.id.as_str()).collect();
        self.diags.push(
            Diagnostic::warning(format!(
                "heading \"{}\" matches {} equally; not attributed",
                crate::truncate_chars(&b.text, 80),
                ids.join(" and ")
            ))
            .at(self.doc.location_of(b))
            .with_hint("label the heading with the question number, e.g. `Question 3`"),
        );
    }
}

/// Removes sentences of the question's own text pasted into an answer (the question quoted
/// before answering it). Returns the remaining text and how many words were removed.
pub(crate) fn strip_question(body: &str, q: &Question) -> (String, usize) {
    let norm = |s: &str| s.replace(['\u{2019}', '\u{2018}'], "'");
    let qwords = words_lower(&norm(&q.text));
    let mut out = String::with_capacity(body.len());
    let mut removed = 0;
    for line in body.lines() {
        let mut kept: Vec<&str> = Vec::new();
        for sentence in sentences(line) {
            let w = words_lower(&norm(sentence));
            let pasted = (0..=2.min(w.len())).any(|skip| {
                let tail = &w[skip..];
                tail.len() >= 4 && contains_run(&qwords, tail)
            });
            if pasted {
                removed += count_words(sentence);
            } else {
                kept.push(sentence);
            }
        }
        if !kept.is_empty() {
            out.push_str(&kept.join(" "));
            out.push('\n');
        }
    }
    (out, removed)
}

/// Drops typed list numbers at the start of a line (`1.`, `2)`, up to three digits, then white
/// space), as Markdown and HTML lists and Word's automatic numbering never put them in the text:
/// the same answer counts the same in every format.
pub(crate) fn strip_list_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim_start();
        let n = digits_len(t);
        let marker = (1..=3).contains(&n)
            && matches!(t.as_bytes().get(n), Some(b'.' | b')'))
            && t[n + 1..].starts_with(char::is_whitespace);
        out.push_str(if marker {
            t[n + 1..].trim_start()
        } else {
            line
        });
        out.push('\n');
    }
    out
}

/// Splits a line after `.`, `?`, `!` followed by white space.
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_end = false;
    for (i, c) in line.char_indices() {
        if prev_end && c.is_whitespace() {
            let s = line[start..i].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i;
        }
        prev_end = matches!(c, '.' | '?' | '!');
    }
    let s = line[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

fn contains_run(hay: &[String], needle: &[String]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let l = parse_label("## Question 2: Open source").unwrap();
        assert_eq!(
            (l.number, l.explicit, l.delimited, l.rest),
            (2, true, true, "Open source")
        );
        let l = parse_label("Q4 - security").unwrap();
        assert_eq!((l.number, l.explicit, l.rest), (4, true, "security"));
        let l = parse_label("**Q3.** I improved").unwrap();
        assert_eq!((l.number, l.delimited, l.rest), (3, true, "I improved"));
        let l = parse_label("2)").unwrap();
        assert_eq!((l.number, l.explicit, l.delimited), (2, false, true));
        let l = parse_label("5. Redesign").unwrap();
        assert_eq!((l.number, l.explicit), (5, false));
        assert!(!parse_label("Question 2 was hard").unwrap().delimited);
        assert_eq!(parse_label("Quality matters"), None);
        assert_eq!(parse_label("Questions 2-5"), None);
        assert_eq!(parse_label("2024 was a year"), None);
        assert_eq!(parse_label("3 things"), None);
        assert_eq!(parse_label("Q23x"), None);
    }

    #[test]
    fn typed_list_numbers_are_dropped() {
        assert_eq!(
            strip_list_markers("1. first\n  12) second\n3.14 is pi\n2024. A year\n4.\n"),
            "first\nsecond\n3.14 is pi\n2024. A year\n4.\n"
        );
    }

    #[test]
    fn sentences_split_after_terminators() {
        assert_eq!(
            sentences("A b. C d? E! f.g h"),
            vec!["A b.", "C d?", "E!", "f.g h"]
        );
    }
}
