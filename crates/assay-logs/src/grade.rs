//! Grading a candidate's number against the counts.

use serde::Serialize;

use crate::count::Counts;

/// The verdict on one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grade {
    pub pass: bool,
    pub message: String,
    /// Names of the [`crate::Alternatives`] equal to the candidate's number (a wrong answer
    /// explained by a known mistake).
    pub explained_by: Vec<&'static str>,
}

/// PASS iff `candidate` equals the answer. A wrong number is explained by the common mistakes
/// that produce it, or else by how far off it is — a reviewer should see *why* in one line.
pub fn grade(candidate: u64, counts: &Counts) -> Grade {
    let expected = counts.matched;
    if candidate == expected {
        return Grade {
            pass: true,
            message: format!("PASS: {candidate} is the number of matching requests"),
            explained_by: Vec::new(),
        };
    }
    let hits: Vec<_> = counts
        .alternatives
        .list()
        .into_iter()
        .filter(|(_, _, n)| *n == candidate)
        .collect();
    let explained_by = hits.iter().map(|(name, _, _)| *name).collect();
    let message = if !hits.is_empty() {
        let why: Vec<String> = hits
            .iter()
            .map(|(name, desc, _)| format!("{desc} ({name})"))
            .collect();
        format!(
            "FAIL: your count {candidate} equals {}; the expected count is {expected}",
            why.join(", and also ")
        )
    } else if candidate == counts.total_lines {
        format!("FAIL: your count {candidate} is the number of lines in the log; the expected count is {expected}")
    } else {
        let (dir, diff) = if candidate > expected {
            ("high", candidate - expected)
        } else {
            ("low", expected - candidate)
        };
        let pct = if expected == 0 {
            String::new()
        } else {
            format!(", off by {:.1}%", diff as f64 * 100.0 / expected as f64)
        };
        format!("FAIL: your count {candidate} is {diff} too {dir} (expected {expected}{pct}) and matches no known mistake")
    };
    Grade {
        pass: false,
        message,
        explained_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::Alternatives;

    fn counts() -> Counts {
        Counts {
            total_lines: 100,
            matched: 40,
            alternatives: Alternatives {
                with_bots: 45,
                with_own: 50,
                with_own_and_bots: 55,
                exact_target: 30,
                any_method: 45,
                path_substring: 60,
            },
            ..Counts::default()
        }
    }

    #[test]
    fn pass_only_on_the_exact_answer() {
        let g = grade(40, &counts());
        assert!(g.pass && g.message.starts_with("PASS"));
    }

    #[test]
    fn names_the_mistakes() {
        let g = grade(45, &counts());
        assert!(!g.pass);
        assert_eq!(g.explained_by, vec!["with_bots", "any_method"]);
        assert!(g.message.contains("bots included"), "{}", g.message);
        assert!(g.message.contains("expected count is 40"));
        assert_eq!(grade(30, &counts()).explained_by, vec!["exact_target"]);
    }

    #[test]
    fn otherwise_says_how_far_off() {
        let g = grade(42, &counts());
        assert!(
            g.message.contains("2 too high") && g.message.contains("5.0%"),
            "{}",
            g.message
        );
        assert!(grade(0, &counts()).message.contains("40 too low"));
        assert!(grade(100, &counts()).message.contains("number of lines"));
        let zero = Counts::default();
        assert!(grade(3, &zero).message.contains("3 too high (expected 0)"));
    }
}
