//! Whether a section of text is *about* a question: the evidence that lets a numbered or
//! keyword heading outside an answer document count as an answer.
//!
//! Two measures, both shown to the reviewer:
//! - **keywords**: the distinct rubric keyword phrases of the question found in the section's
//!   body (whole words after English stemming, so `measured` matches `measure`, `pull requests`
//!   matches `pull request`);
//! - **similarity**: the cosine of TF-IDF vectors of the section and of the question's profile
//!   (its text, title and keywords), stop words left out, words stemmed. Document frequencies
//!   come from the rubric's question profiles plus the sections of the document being read, so
//!   words every section of a document uses (`challenges`, `project`) weigh little there.
//!
//! A section is about a question when it is long enough to be an essay, that question is the
//! best match among the rubric's questions (by a margin for headings that only name it by its
//! words), and either two keywords match with some similarity, three keywords match, or the
//! similarity alone is high. With few keywords in a rubric the keyword route closes and only similarity decides,
//! which credits fewer unlabelled answers (misses, never false credits): see the README.

use crate::count::words_lower;
use assay_core::{Question, Rubric};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// Keywords needed in the body together with [`SIMILARITY_WITH_KEYWORDS`].
pub(crate) const KEYWORDS_NEEDED: usize = 2;
/// Similarity needed together with [`KEYWORDS_NEEDED`] keywords.
pub(crate) const SIMILARITY_WITH_KEYWORDS: f64 = 0.10;
/// Similarity that is evidence on its own (the section reads like the question's topic).
pub(crate) const SIMILARITY_ALONE: f64 = 0.22;
/// A paragraph this similar to a question's profile restates the question.
pub(crate) const RESTATED_SIMILARITY: f64 = 0.45;
/// … and this many times more similar to it than to any other question.
pub(crate) const RESTATED_MARGIN: f64 = 1.5;
/// A heading that only *names* a question by its words must be about it by this factor more
/// than about any other question; a numbered heading must be about its question at least as
/// much as about any other (factor 1).
pub(crate) const KEYWORD_HEADING_MARGIN: f64 = 1.25;
/// A section shorter than this fraction of the rubric's minimum words (after any pasted
/// question text) is no evidence at all: a setup step under `## 1.` is not an essay. Missing such
/// a short unlabelled answer costs little, as it would fail `essays.min-words` anyway.
pub(crate) const MIN_BODY_FRACTION: f64 = 0.4;
/// The floor of that minimum, for rubrics with a small `min_words`.
pub(crate) const MIN_BODY_FLOOR: usize = 30;

/// English function words and words every question and answer uses; they carry no topic.
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
    "can", "could", "did", "do", "does", "doing", "done", "down", "during", "each", "eg", "etc",
    "even", "ever", "every", "few", "for", "from", "further", "get", "got", "had", "has", "have",
    "having", "he", "her", "here", "hers", "him", "his", "how", "i", "ie", "if", "in", "into",
    "is", "it", "its", "itself", "just", "let", "like", "made", "make", "many", "may", "me",
    "might", "more", "most", "much", "must", "my", "myself", "no", "nor", "not", "now", "of",
    "off", "on", "once", "one", "only", "or", "other", "our", "ours", "out", "over", "own", "per",
    "please", "quite", "rather", "really", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "thing", "things", "this",
    "those", "through", "to", "too", "two", "under", "until", "up", "us", "use", "used", "using",
    "very", "via", "was", "way", "we", "well", "were", "what", "when", "where", "whether", "which",
    "while", "who", "whom", "why", "will", "with", "within", "without", "would", "yes", "yet",
    "you", "your", "yours", "yourself", "i'm", "i've", "i'd", "it's", "don't", "didn't", "doesn't",
    "isn't", "wasn't", "we're", "we've", "you're", "that's", "there's", "can't", "won't", "tell",
    "describe", "explain", "give", "pick", "example",
];

fn stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

fn is_stop(w: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| STOP_WORDS.iter().copied().collect());
    set.contains(w.replace('\u{2019}', "'").as_str())
}

/// The stemmed words of `text` in order, hyphenated compounds split (`open-source` → `open`,
/// `sourc`), numbers and stop words kept out when `content_only`.
pub(crate) fn stems(text: &str, content_only: bool) -> Vec<String> {
    let mut out = Vec::new();
    for w in words_lower(text) {
        for part in w.split(['-', '\u{2010}', '\u{2011}', '/', '_']) {
            if part.is_empty() || (content_only && is_stop(part)) {
                continue;
            }
            if content_only && !part.chars().any(char::is_alphabetic) {
                continue;
            }
            let part = part.trim_end_matches("'s").trim_end_matches("\u{2019}s");
            out.push(stemmer().stem(part).into_owned());
        }
    }
    out
}

/// One keyword phrase of a question: as the rubric writes it, and stemmed.
#[derive(Debug, Clone)]
struct Keyword {
    written: String,
    stems: Vec<String>,
}

/// A sparse TF-IDF vector, L2-normalised.
type Vector = HashMap<String, f64>;

/// Judges sections of one document against a rubric's questions.
pub(crate) struct Judge<'r> {
    questions: Vec<&'r Question>,
    keywords: Vec<Vec<Keyword>>,
    idf: HashMap<String, f64>,
    default_idf: f64,
    profiles: Vec<Vector>,
    min_body_words: usize,
}

/// How one section measures against one question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measure {
    pub question: String,
    /// Keyword phrases found in the body, as the rubric writes them.
    pub matched: Vec<String>,
    pub similarity: f64,
}

/// The judgement of one section against the question it claims (by number or heading words).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    /// The claimed question's measure.
    pub claimed: Measure,
    /// The best other question, if any measured above zero.
    pub runner_up: Option<Measure>,
    /// Keywords the claimed question needs for the keyword route (0: it has none).
    pub keywords_needed: usize,
    /// The minimum the section fell short of, if it did.
    pub too_short_under: Option<usize>,
    pub about: bool,
}

impl Judgement {
    /// Something of the question is in the section: enough keywords, or some similarity
    /// (the bar an explicit label outside answer documents must meet; no length or margin).
    pub fn supported(&self) -> bool {
        self.claimed.matched.len() >= self.keywords_needed.max(1)
            || self.claimed.similarity >= SIMILARITY_WITH_KEYWORDS
    }

    /// `matched `latency`, `measured`, similarity 0.41` — what a reviewer reads.
    pub fn evidence(&self) -> String {
        let m = &self.claimed;
        let mut s = if m.matched.is_empty() {
            "no keyword".to_string()
        } else {
            format!(
                "matched {}",
                m.matched
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        s.push_str(&format!(", similarity {:.2}", m.similarity));
        if let Some(min) = self.too_short_under {
            s.push_str(&format!(", under {min} words"));
        }
        if let Some(r) = &self.runner_up {
            if r.similarity > m.similarity {
                s.push_str(&format!(
                    "; closer to {} (similarity {:.2})",
                    r.question.to_uppercase(),
                    r.similarity
                ));
            }
        }
        s
    }
}

impl<'r> Judge<'r> {
    /// A judge for one document: `sections` are the texts of the document's sections, used for
    /// document frequencies together with the questions' profiles.
    pub fn new(rubric: &'r Rubric, sections: &[String]) -> Judge<'r> {
        let questions: Vec<&Question> = rubric.questions.iter().collect();
        let keywords: Vec<Vec<Keyword>> = questions.iter().map(|q| keywords_of(q)).collect();
        let profile_terms: Vec<Vec<String>> = questions.iter().map(|q| profile_text(q)).collect();
        let section_terms: Vec<BTreeSet<String>> = sections
            .iter()
            .map(|s| stems(s, true).into_iter().collect())
            .collect();
        let mut df: HashMap<String, usize> = HashMap::new();
        for terms in profile_terms
            .iter()
            .map(|t| t.iter().cloned().collect::<BTreeSet<_>>())
            .chain(section_terms.iter().cloned())
        {
            for t in terms {
                *df.entry(t).or_default() += 1;
            }
        }
        let n = (profile_terms.len() + section_terms.len()) as f64;
        let idf: HashMap<String, f64> = df
            .into_iter()
            .map(|(t, d)| (t, ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0))
            .collect();
        let default_idf = ((1.0 + n) / 1.0).ln() + 1.0;
        let mut judge = Judge {
            questions,
            keywords,
            idf,
            default_idf,
            profiles: Vec::new(),
            min_body_words: MIN_BODY_FLOOR
                .max((rubric.essays.min_words as f64 * MIN_BODY_FRACTION).round() as usize),
        };
        judge.profiles = profile_terms.iter().map(|t| judge.vector(t)).collect();
        judge
    }

    /// Words a section needs before its content is evidence.
    pub fn min_body_words(&self) -> usize {
        self.min_body_words
    }

    /// The question a short paragraph restates, with the similarity, when the paragraph is
    /// near the question's own text and clearly nearer to it than to any other.
    pub fn restates(&self, paragraph: &str) -> Option<(String, f64)> {
        let mut m = self.measure("", paragraph);
        m.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        let best = m.first()?;
        let second = m.get(1).map_or(0.0, |x| x.similarity);
        (best.similarity >= RESTATED_SIMILARITY && best.similarity >= second * RESTATED_MARGIN)
            .then(|| (best.question.clone(), best.similarity))
    }

    fn vector(&self, terms: &[String]) -> Vector {
        let mut tf: HashMap<&str, usize> = HashMap::new();
        for t in terms {
            *tf.entry(t.as_str()).or_default() += 1;
        }
        let mut v: Vector = tf
            .into_iter()
            .map(|(t, n)| {
                let idf = self.idf.get(t).copied().unwrap_or(self.default_idf);
                (t.to_string(), (1.0 + (n as f64).ln()) * idf)
            })
            .collect();
        let norm = v.values().map(|w| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            v.values_mut().for_each(|w| *w /= norm);
        }
        v
    }

    /// Measures `title` (a heading's words after any label) and `body` against every question.
    pub fn measure(&self, title: &str, body: &str) -> Vec<Measure> {
        let mut terms = stems(title, true);
        terms.extend(stems(body, true));
        let v = self.vector(&terms);
        let body_stems = stems(body, false);
        self.questions
            .iter()
            .enumerate()
            .map(|(i, q)| Measure {
                question: q.id.clone(),
                matched: matched_keywords(&self.keywords[i], &body_stems),
                similarity: cosine(&v, &self.profiles[i]),
            })
            .collect()
    }

    /// Whether the section (`title`, `body`) is about question `claimed` (a rubric id), by at
    /// least `margin` times as much as about any other question.
    pub fn judge(&self, claimed: &str, title: &str, body: &str, margin: f64) -> Judgement {
        let measures = self.measure(title, body);
        let idx = self
            .questions
            .iter()
            .position(|q| q.id == claimed)
            .unwrap_or(0);
        let mine = measures[idx].clone();
        let runner_up = measures
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != idx)
            .map(|(_, m)| m)
            .max_by(|a, b| a.similarity.total_cmp(&b.similarity))
            .filter(|m| m.similarity > 0.0)
            .cloned();
        let clear_best = runner_up
            .as_ref()
            .is_none_or(|r| mine.similarity > 0.0 && mine.similarity >= r.similarity * margin);
        let long_enough = crate::count::count_words(body) >= self.min_body_words;
        let keyword_count = self.keywords[idx].len();
        let needed = KEYWORDS_NEEDED.min(keyword_count);
        // Enough keywords with some similarity, or one keyword more than needed on their own
        // (a long answer's similarity is diluted by everything else it says).
        let by_keywords = needed > 0
            && mine.matched.len() >= needed
            && (mine.similarity >= SIMILARITY_WITH_KEYWORDS || mine.matched.len() > needed);
        let about =
            long_enough && clear_best && (by_keywords || mine.similarity >= SIMILARITY_ALONE);
        Judgement {
            claimed: mine,
            runner_up,
            keywords_needed: needed,
            too_short_under: (!long_enough).then_some(self.min_body_words),
            about,
        }
    }
}

/// The keywords found in `body`, a keyword inside a longer one found (`compose` in
/// `docker-compose`) not counted again.
fn matched_keywords(keywords: &[Keyword], body: &[String]) -> Vec<String> {
    let found: Vec<&Keyword> = keywords
        .iter()
        .filter(|k| contains_run(body, &k.stems))
        .collect();
    found
        .iter()
        .filter(|k| {
            !found
                .iter()
                .any(|o| o.stems.len() > k.stems.len() && contains_run(&o.stems, &k.stems))
        })
        .map(|k| k.written.clone())
        .collect()
}

fn cosine(a: &Vector, b: &Vector) -> f64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let dot: f64 = small
        .iter()
        .filter_map(|(t, w)| large.get(t).map(|v| w * v))
        .sum();
    if dot > 0.0 {
        dot
    } else {
        0.0
    }
}

/// A question's profile terms: its text, its title and its keywords.
fn profile_text(q: &Question) -> Vec<String> {
    let mut t = stems(&q.text, true);
    t.extend(stems(&q.title, true));
    for k in &q.keywords {
        t.extend(stems(k, true));
    }
    t
}

/// The question's keyword phrases, stemmed and de-duplicated (`open source` = `open-source`).
fn keywords_of(q: &Question) -> Vec<Keyword> {
    let mut out: Vec<Keyword> = Vec::new();
    for k in &q.keywords {
        let s = stems(k, false);
        if s.is_empty() || out.iter().any(|o| o.stems == s) {
            continue;
        }
        out.push(Keyword {
            written: k.clone(),
            stems: s,
        });
    }
    out
}

fn contains_run(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty()
        && needle.len() <= hay.len()
        && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_split_compounds_and_drop_stop_words() {
        assert_eq!(
            stems("The open-source project's issues", true),
            ["open", "sourc", "project", "issu"]
        );
        assert_eq!(stems("measured latency", false), ["measur", "latenc"]);
    }
}
