//! Word counting: the one policy every answer is measured with.
//!
//! # Word counting policy
//!
//! assay counts the words of an answer's *extracted text* (Markdown syntax, code blocks, front
//! matter, HTML tags, the heading that labels the answer and any pasted question text are removed
//! before counting) as follows:
//!
//! 1. The text is split at white space into tokens.
//! 2. A token that is a URL (`scheme://…` or `www.…`) or an e-mail address counts as **one** word,
//!    whatever punctuation it holds.
//! 3. Every other token is segmented at Unicode word boundaries (UAX #29, the rules word
//!    processors and browsers use, via the `unicode-segmentation` crate). A segment counts as a
//!    word when it contains a letter or a digit, so punctuation, bullets (`-`, `*`, `•`), emoji,
//!    Markdown markers (`#`, `**`, `>`) and arrows never count; numbers (`42`, `3.14`, `1,000`)
//!    do.
//! 4. Contractions and possessives count once (`don't`, `it’s`, `O'Reilly`: UAX #29 keeps
//!    them together). Hyphenated compounds count once: words joined by a single hyphen
//!    (`-`, U+2010, U+2011) with nothing else between them are one word (`state-of-the-art`,
//!    `docker-compose`). A dash (`—`, `–`, `--`) separates words. Other joiners split as
//!    UAX #29 says: `and/or` is two words, `client_id` (underscore) is one.
//! 5. In an answer, typed list numbers at the start of a line (`1.`, `2)`) are list markers, not words, as
//!    Markdown/HTML lists and Word's automatic numbering never put them in the text; the same
//!    answer counts the same in `.txt`, `.md`, `.html`, `.docx` and `.pdf`.
//! 6. Text in scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer,
//!    Myanmar) is segmented into dictionary words (ICU4X `icu_segmenter`, compiled data), not
//!    counted as one word per run nor one word per character.
//!
//! Next to this count every answer also carries what `wc -w` says for the same extracted text
//! (runs of non-white-space characters), so a reviewer sees both.

use icu_segmenter::options::WordBreakInvariantOptions;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed};
use std::sync::OnceLock;
use unicode_segmentation::UnicodeSegmentation;

/// Counts the words of `text` by the policy in this module's documentation.
pub fn count_words(text: &str) -> usize {
    text.split(char::is_whitespace)
        .filter(|t| !t.is_empty())
        .map(count_token)
        .sum()
}

/// What `wc -w` reports for the same text: runs of non-white-space characters.
pub fn wc_words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Iterates over the counted words of `text` (lower-cased), in order; used for fingerprints and
/// for recognising pasted question text. Follows the same policy as [`count_words`], except
/// that URL and e-mail tokens are yielded whole.
pub(crate) fn words_lower(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split(char::is_whitespace).filter(|t| !t.is_empty()) {
        if let Some(core) = link_core(token) {
            out.push(core.to_lowercase());
            continue;
        }
        for_each_word(token, &mut |w| out.push(w.to_lowercase()));
    }
    out
}

fn count_token(token: &str) -> usize {
    if link_core(token).is_some() {
        return 1;
    }
    let mut n = 0;
    for_each_word(token, &mut |_| n += 1);
    n
}

/// The token without surrounding punctuation, when it is a URL or an e-mail address.
fn link_core(token: &str) -> Option<&str> {
    let core = token.trim_matches(|c: char| {
        matches!(
            c,
            '(' | ')'
                | '['
                | ']'
                | '<'
                | '>'
                | '{'
                | '}'
                | '"'
                | '\''
                | ','
                | '.'
                | ';'
                | ':'
                | '!'
                | '?'
                | '`'
                | '*'
                | '_'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '«'
                | '»'
        )
    });
    if is_url(core) || is_email(core) {
        Some(core)
    } else {
        None
    }
}

fn is_url(s: &str) -> bool {
    if let Some((scheme, rest)) = s.split_once("://") {
        let scheme_ok = !scheme.is_empty()
            && scheme.len() <= 16
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        return scheme_ok && rest.chars().any(|c| c.is_alphanumeric());
    }
    let lower = s.get(..4).map(|p| p.eq_ignore_ascii_case("www."));
    lower == Some(true) && s[4..].contains('.') && s[4..].chars().any(|c| c.is_alphanumeric())
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-'));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

fn is_hyphen(s: &str) -> bool {
    matches!(s, "-" | "\u{2010}" | "\u{2011}")
}

fn has_letter_or_digit(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Scripts written without spaces between words: segmented with a dictionary.
fn is_dictionary_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF   // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x19E0..=0x19FF // Khmer symbols
        | 0x2E80..=0x2FDF // CJK radicals
        | 0x3005..=0x3007 // 々 〆 〇
        | 0x3021..=0x3029 // Hangzhou numerals
        | 0x3031..=0x3035 // kana repeat marks
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x31F0..=0x31FF // Katakana extension
        | 0x3400..=0x4DBF // CJK ext A
        | 0x4E00..=0x9FFF // CJK unified
        | 0xF900..=0xFAFF // CJK compatibility
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x3FFFF // CJK ext B..
    )
}

fn dictionary_segmenter() -> &'static WordSegmenterBorrowed<'static> {
    static SEG: OnceLock<WordSegmenterBorrowed<'static>> = OnceLock::new();
    SEG.get_or_init(|| WordSegmenter::new_dictionary(WordBreakInvariantOptions::default()))
}

/// Calls `f` for every counted word of a white-space-free token.
fn for_each_word<'a>(token: &'a str, f: &mut dyn FnMut(&'a str)) {
    // Split the token into runs of dictionary-script text and the rest.
    let mut start = 0;
    let mut in_dict = None::<bool>;
    for (i, c) in token.char_indices() {
        let d = is_dictionary_script(c);
        match in_dict {
            Some(prev) if prev != d => {
                emit_run(&token[start..i], prev, f);
                start = i;
            }
            _ => {}
        }
        in_dict = Some(d);
    }
    if let Some(d) = in_dict {
        emit_run(&token[start..], d, f);
    }
}

fn emit_run<'a>(run: &'a str, dictionary: bool, f: &mut dyn FnMut(&'a str)) {
    if dictionary {
        let mut iter = dictionary_segmenter().segment_str(run);
        let mut prev = match iter.next() {
            Some(p) => p,
            None => return,
        };
        while let Some(next) = iter.next() {
            let word = &run[prev..next];
            if iter.is_word_like() || has_letter_or_digit(word) {
                f(word);
            }
            prev = next;
        }
        return;
    }
    // UAX #29, with hyphenated compounds joined.
    let mut chain = false; // the last segment was a counted word
    let mut pending_hyphen = false; // ... followed by exactly one hyphen
    let mut chain_start = 0usize;
    let mut offset = 0usize;
    let mut last_end = 0usize;
    let mut flushed = true;
    for seg in run.split_word_bounds() {
        let seg_start = offset;
        offset += seg.len();
        if has_letter_or_digit(seg) {
            if chain && pending_hyphen {
                // joined compound: extend the current word
            } else {
                if !flushed {
                    f(&run[chain_start..last_end]);
                }
                chain_start = seg_start;
            }
            last_end = offset;
            flushed = false;
            chain = true;
            pending_hyphen = false;
        } else if chain && !pending_hyphen && is_hyphen(seg) {
            pending_hyphen = true;
        } else {
            chain = false;
            pending_hyphen = false;
        }
    }
    if !flushed {
        f(&run[chain_start..last_end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_prose() {
        assert_eq!(
            count_words("The quick brown fox jumps over the lazy dog."),
            9
        );
        assert_eq!(count_words(""), 0);
        assert_eq!(count_words("  \n\t "), 0);
    }

    #[test]
    fn hyphenated_compounds_and_contractions_count_once() {
        assert_eq!(count_words("state-of-the-art"), 1);
        assert_eq!(count_words("don't won’t O'Reilly it's"), 4);
        assert_eq!(count_words("docker-compose up"), 2);
        assert_eq!(count_words("pre- and post-processing"), 3);
        assert_eq!(count_words("fast—cheap"), 2);
        assert_eq!(count_words("fast--cheap"), 2);
        assert_eq!(count_words("fast – cheap"), 2);
    }

    #[test]
    fn urls_and_emails_count_once() {
        assert_eq!(count_words("see https://example.com/a-b/c?d=e&f=g."), 2);
        assert_eq!(count_words("(www.example.org/path)"), 1);
        assert_eq!(count_words("mail jane.doe+x@mail.example.com now"), 3);
        assert_eq!(count_words("<https://x.io>"), 1);
    }

    #[test]
    fn numbers_count_punctuation_bullets_emoji_do_not() {
        assert_eq!(count_words("42 3.14 1,000 v2.0"), 4);
        assert_eq!(count_words("- * • — ... ### ** > | 🎉 👍🏽 →"), 0);
        assert_eq!(count_words("- item one\n* item two\n• item three 🎉"), 6);
        assert_eq!(count_words("**bold** and _italic_"), 3);
    }

    #[test]
    fn cjk_and_thai_are_segmented_into_words() {
        // "Hello world" in Japanese: こんにちは / 世界
        assert_eq!(count_words("こんにちは世界"), 2);
        // Thai: ทุก / สอง / สัปดาห์ ("every two weeks")
        assert_eq!(count_words("ทุกสองสัปดาห์"), 3);
        // Mixed with Latin.
        assert_eq!(count_words("Docker は便利です"), 4);
    }

    #[test]
    fn wc_counts_whitespace_runs() {
        assert_eq!(wc_words("a - b state-of-the-art 🎉"), 5);
    }

    #[test]
    fn words_lower_follows_the_same_policy() {
        assert_eq!(
            words_lower("Don't use state-of-the-art, see https://x.io!"),
            vec!["don't", "use", "state-of-the-art", "see", "https://x.io"]
        );
    }
}
