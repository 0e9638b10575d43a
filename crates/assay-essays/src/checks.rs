//! The `essays.*` checks, from matched answers.

use crate::Answer;
use assay_core::{CheckId, CheckResult, Diagnostic, QuestionKind, Rubric, SkipKind};

/// "248 words: 2 short (within 5 % of 250)" or "100 words, minimum 250" or "312 words".
pub(crate) fn words_phrase(words: usize, min: usize, near_miss_fraction: f64) -> String {
    if words >= min {
        return format!("{words} words");
    }
    let short = min - words;
    let near_floor = (min as f64 * (1.0 - near_miss_fraction)).ceil() as usize;
    if words >= near_floor {
        let pct = near_miss_fraction * 100.0;
        format!("{words} words: {short} short (within {pct:.0} % of {min})")
    } else {
        format!("{words} words, minimum {min}")
    }
}

fn describe(a: &Answer, rules: &assay_core::EssayRules) -> String {
    let mut s = format!(
        "{} {} ({}; wc -w {})",
        a.question,
        a.place(),
        words_phrase(a.words, rules.min_words, rules.near_miss_fraction),
        a.wc_words
    );
    if a.removed_question_words > 0 {
        s.push_str(&format!(
            "; {} words of pasted question text not counted",
            a.removed_question_words
        ));
    }
    s
}

pub(crate) fn checks(
    answers: &[Answer],
    rubric: &Rubric,
    has_orchestration_file: bool,
    unread: &[Diagnostic],
) -> Vec<CheckResult> {
    let rules = &rubric.essays;
    let kind_of = |id: &str| rubric.questions.iter().find(|q| q.id == id).map(|q| q.kind);
    let orchestration: Vec<&Answer> = answers
        .iter()
        .filter(|a| kind_of(&a.question) == Some(QuestionKind::Orchestration))
        .collect();
    let electives: Vec<&Answer> = answers
        .iter()
        .filter(|a| kind_of(&a.question) == Some(QuestionKind::Elective) && a.words > 0)
        .collect();
    let elective_total = rubric
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Elective)
        .count();
    let unread_note = if unread.is_empty() {
        String::new()
    } else {
        format!("; {} answer document(s) could not be read", unread.len())
    };

    // essays.q1
    let q1 = if has_orchestration_file {
        let mut ev = "Q1 is answered by an orchestration file".to_string();
        if let Some(a) = orchestration.first() {
            ev.push_str(&format!("; Q1 notes: {}", describe(a, rules)));
        }
        CheckResult::pass(CheckId::EssaysQ1, ev)
    } else {
        match orchestration.first() {
            Some(a) if a.words >= rules.min_words => CheckResult::pass(
                CheckId::EssaysQ1,
                format!("no orchestration file; Q1 essay: {}", describe(a, rules)),
            )
            .at_opt(a.location.clone()),
            Some(a) => CheckResult::fail(
                CheckId::EssaysQ1,
                format!(
                    "no orchestration file, and the Q1 essay is too short: {}",
                    describe(a, rules)
                ),
            )
            .at_opt(a.location.clone()),
            None => CheckResult::fail(
                CheckId::EssaysQ1,
                format!("no orchestration file and no Q1 essay found{unread_note}"),
            )
            .with_details(unread.to_vec()),
        }
    };

    // essays.elective
    let answered: Vec<String> = electives.iter().map(|a| describe(a, rules)).collect();
    let summary = format!(
        "{} of {} elective questions answered ({} required)",
        electives.len(),
        elective_total,
        rules.electives_required
    );
    let elective = if electives.len() >= rules.electives_required {
        CheckResult::pass(
            CheckId::EssaysElective,
            if answered.is_empty() {
                summary
            } else {
                format!("{summary}: {}", answered.join(", "))
            },
        )
        .at_opt(electives.first().and_then(|a| a.location.clone()))
    } else {
        let ev = if answered.is_empty() {
            format!("{summary}{unread_note}")
        } else {
            format!("{summary}: {}{unread_note}", answered.join(", "))
        };
        CheckResult::fail(CheckId::EssaysElective, ev).with_details(unread.to_vec())
    };

    // essays.min-words: every written answer (Q1 only when it is the essay form).
    let measured: Vec<&Answer> = answers
        .iter()
        .filter(|a| {
            !(has_orchestration_file && kind_of(&a.question) == Some(QuestionKind::Orchestration))
        })
        .filter(|a| a.words > 0)
        .collect();
    let short: Vec<&Answer> = measured
        .iter()
        .copied()
        .filter(|a| a.words < rules.min_words)
        .collect();
    let min_words = if measured.is_empty() {
        CheckResult::skipped(
            CheckId::EssaysMinWords,
            SkipKind::NotApplicable,
            "no written answers to measure",
        )
    } else if short.is_empty() {
        let list: Vec<String> = measured
            .iter()
            .map(|a| {
                format!(
                    "{} {} ({} words; wc -w {})",
                    a.question,
                    a.place(),
                    a.words,
                    a.wc_words
                )
            })
            .collect();
        CheckResult::pass(
            CheckId::EssaysMinWords,
            format!(
                "every answer has at least {} words: {}",
                rules.min_words,
                list.join(", ")
            ),
        )
    } else {
        let list: Vec<String> = short
            .iter()
            .map(|a| {
                format!(
                    "{}: {}",
                    a.question,
                    words_phrase(a.words, rules.min_words, rules.near_miss_fraction)
                )
            })
            .collect();
        let details = short
            .iter()
            .map(|a| {
                Diagnostic::error(format!("{} is {}", a.question, describe(a, rules))).at_opt(
                    a.location
                        .clone()
                        .or_else(|| Some(assay_core::Location::file(a.file.clone()))),
                )
            })
            .collect();
        CheckResult::fail(CheckId::EssaysMinWords, list.join("; "))
            .at_opt(short[0].location.clone())
            .with_details(details)
    };
    vec![q1, elective, min_words]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_miss_phrasing() {
        assert_eq!(
            words_phrase(248, 250, 0.05),
            "248 words: 2 short (within 5 % of 250)"
        );
        assert_eq!(
            words_phrase(238, 250, 0.05),
            "238 words: 12 short (within 5 % of 250)"
        );
        assert_eq!(words_phrase(237, 250, 0.05), "237 words, minimum 250");
        assert_eq!(words_phrase(250, 250, 0.05), "250 words");
    }
}
