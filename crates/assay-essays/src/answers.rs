//! Answer matching: which text answers which question.
//!
//! A document contributes answers in one of three shapes:
//! - **one file per question**: the file name (or its folder) names the question — `q2.md`,
//!   `answers/question-3.txt`, `Q4 - security.docx`, `2.md`, `essay5.pdf`;
//! - **sections**: a label starts each answer — a heading or a line beginning `Question 2`,
//!   `Q2`, `Answer 2`, `## 2)`, `2.` — or a heading whose words match one question's rubric
//!   title/keywords best;
//! - **a README with sections**: the same, stricter (a bare number in a heading needs a keyword
//!   of that question; keyword-only headings need two keyword hits), since READMEs also hold
//!   sections like "Security" or "Scaling" about the candidate's stack.
//!
//! A section runs to the next labelled section, or — under a structural heading — to the next
//! heading of the same or a higher level. The heading that labels a section is not counted.
//! Nothing is guessed silently: a heading that matches two questions equally, a question
//! answered in two places, and an answer document with no recognisable labels are diagnostics.

use crate::count::{count_words, words_lower};
use crate::extract::{Block, Document, Format};
use assay_core::{Diagnostic, Location, Question, Rubric};

/// One stretch of text attributed to a question, before counting.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub question: String,
    pub file: String,
    pub location: Location,
    pub text: String,
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
        number_then_rest(r, true)
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
    })
}

/// The question a file name (or its folder) names, e.g. `answers/question-3.txt` → q3.
pub(crate) fn question_from_path<'r>(file: &str, rubric: &'r Rubric) -> Option<&'r Question> {
    let mut parts = file.rsplit('/');
    let name = parts.next()?;
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let from = |s: &str| -> Option<usize> {
        let t = s.trim_start_matches(|c: char| !c.is_alphanumeric());
        if let Some(l) = explicit_label(t) {
            return Some(l.number);
        }
        let n = digits_len(t);
        (n > 0 && n <= 2 && !t[n..].starts_with(|c: char| c.is_alphanumeric()))
            .then(|| t[..n].parse().ok())
            .flatten()
    };
    let n = from(stem).or_else(|| parts.next().and_then(from))?;
    question_by_number(rubric, n)
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

/// How many distinct phrases among a question's keywords and title a heading contains (whole
/// words, case-insensitive).
fn keyword_score(heading: &str, q: &Question) -> usize {
    let hay = format!(" {} ", words_lower(heading).join(" "));
    let mut phrases: Vec<String> = q
        .keywords
        .iter()
        .chain(std::iter::once(&q.title))
        .map(|p| words_lower(p).join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    phrases.sort();
    phrases.dedup();
    phrases
        .iter()
        .filter(|p| hay.contains(&format!(" {p} ")))
        .count()
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

fn is_readme(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.to_ascii_lowercase().starts_with("readme")
}

struct Start<'a> {
    block: usize,
    question: &'a Question,
    /// Text after the label on the same line that belongs to the answer.
    rest: Option<String>,
}

/// Finds the sections of one document. Diagnostics go to `diags`.
pub(crate) fn sections(
    doc: &Document,
    rubric: &Rubric,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Section> {
    let readme = is_readme(&doc.file);
    let file_q = if readme {
        None
    } else {
        question_from_path(&doc.file, rubric)
    };
    let starts = find_starts(doc, rubric, readme, diags);

    let mut out = Vec::new();
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
            out.push(Section {
                question: fq.id.clone(),
                file: doc.file.clone(),
                location,
                text,
            });
            return out;
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
        if !readme {
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
        return out;
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
        });
    }
    out
}

fn find_starts<'r>(
    doc: &Document,
    rubric: &'r Rubric,
    readme: bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Start<'r>> {
    let mut starts = Vec::new();
    let mut last_bare = 0usize;
    // Level of the heading that opened the current section: deeper headings belong to it
    // ("### Lessons" inside "## Question 3") unless they carry an explicit label.
    let mut open_level: Option<u8> = None;
    for (i, b) in doc.blocks.iter().enumerate() {
        if let (Some(open), Some(level)) = (open_level, b.heading) {
            if level > open {
                let labelled = parse_label(&b.text)
                    .is_some_and(|l| l.explicit && question_by_number(rubric, l.number).is_some());
                if !labelled {
                    continue;
                }
            } else {
                open_level = None;
            }
        }
        if let Some(start) = start_at(doc, i, b, rubric, readme, &mut last_bare, diags) {
            open_level = b.heading;
            starts.push(start);
        }
    }
    starts
}

fn start_at<'r>(
    doc: &Document,
    i: usize,
    b: &Block,
    rubric: &'r Rubric,
    readme: bool,
    last_bare: &mut usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Start<'r>> {
    let label = parse_label(&b.text);
    if b.heading.is_some() {
        if let Some(l) = &label {
            let q = question_by_number(rubric, l.number);
            if let Some(q) = q {
                let accept = l.explicit || !readme || keyword_score(l.rest, q) > 0;
                if accept {
                    return Some(Start {
                        block: i,
                        question: q,
                        rest: None,
                    });
                }
            }
        }
        let min = if readme { 2 } else { 1 };
        return match by_keywords(&b.text, rubric, min) {
            Ok(Some(q)) => Some(Start {
                block: i,
                question: q,
                rest: None,
            }),
            Ok(None) => None,
            Err(tied) => {
                let ids: Vec<&str> = tied.iter().map(|q| q.id.as_str()).collect();
                diags.push(
                    Diagnostic::warning(format!(
                        "heading \"{}\" matches {} equally; not attributed",
                        crate::truncate_chars(&b.text, 80),
                        ids.join(" and ")
                    ))
                    .at(doc.location_of(b))
                    .with_hint("label the heading with the question number, e.g. `Question 3`"),
                );
                None
            }
        };
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
        return Some(Start {
            block: i,
            question: q,
            rest,
        });
    }
    // A bare number outside a heading: only a short standalone line in a format without
    // structural lists, numbered upwards, naming the question (or nothing else).
    let plain = matches!(doc.format, Format::Text | Format::Pdf | Format::Docx);
    let short = count_words(&b.text) <= 8;
    let names_it = l.rest.trim().is_empty() || keyword_score(l.rest, q) > 0;
    if plain && !readme && b.standalone && short && names_it && l.number > *last_bare {
        *last_bare = l.number;
        return Some(Start {
            block: i,
            question: q,
            rest: None,
        });
    }
    None
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
