//! From check results and a rubric to a score and a PASS/FAIL verdict: PASS iff every required
//! check passes and the score (points of passed checks over points of the checks that counted)
//! reaches the rubric's threshold.

use assay_core::{CheckId, CheckResult, Rubric, SkipKind, Status};
use serde::Serialize;

/// PASS or FAIL. There are no other choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        })
    }
}

/// One check with its weight applied.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredCheck {
    #[serde(flatten)]
    pub result: CheckResult,
    pub title: &'static str,
    pub required: bool,
    pub points: f64,
    pub max_points: f64,
    /// False when the check is left out of the score (not applicable, or not run in this mode).
    pub counted: bool,
    /// Wall time of the step that decided the check (checks decided by one step, such as the
    /// runtime phase, each carry that step's time); 0 for a check that did not run.
    pub duration_ms: u64,
    /// For a failure located at a line: the lines around it, secrets masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::report::SourceExcerpt>,
}

/// The verdict with everything that led to it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub verdict: Verdict,
    /// 0-100: points of passed checks over points of counted checks.
    pub score: f64,
    pub threshold: f64,
    pub checks: Vec<ScoredCheck>,
    /// Required checks that failed or were blocked, in report order.
    pub failed_required: Vec<CheckId>,
}

/// Applies the rubric to the results. Checks missing from `results` are treated as not run.
///
/// Rules: PASS iff every required check that ran passed and the score reaches the threshold.
/// A check skipped because a prerequisite failed (`Blocked`) scores 0 of its points; a check
/// not applicable or not run is left out of the score and the report names it.
pub fn score(results: Vec<CheckResult>, rubric: &Rubric) -> Scored {
    let mut checks = Vec::with_capacity(CheckId::ALL.len());
    for id in CheckId::ALL {
        let result = results
            .iter()
            .find(|r| r.id == *id)
            .cloned()
            .unwrap_or_else(|| CheckResult::skipped(*id, SkipKind::NotRun, "not run"));
        let rule = rubric.checks.get(id.as_str());
        let required = rule.map(|r| r.required).unwrap_or(id.required_by_default());
        let weight = rule.map(|r| r.weight).unwrap_or(0.0);
        let counted = !matches!(
            (result.status, result.skip),
            (
                Status::Skipped,
                Some(SkipKind::NotApplicable | SkipKind::NotRun)
            )
        );
        let points = if result.status == Status::Pass {
            weight
        } else {
            0.0
        };
        checks.push(ScoredCheck {
            title: id.title(),
            required,
            points,
            max_points: weight,
            counted,
            duration_ms: 0,
            source: None,
            result,
        });
    }
    let max: f64 = checks
        .iter()
        .filter(|c| c.counted)
        .map(|c| c.max_points)
        .sum();
    let got: f64 = checks.iter().filter(|c| c.counted).map(|c| c.points).sum();
    let score = if max > 0.0 {
        (got / max * 1000.0).round() / 10.0
    } else {
        0.0
    };
    let failed_required: Vec<CheckId> = checks
        .iter()
        .filter(|c| c.required && c.counted && c.result.status != Status::Pass)
        .map(|c| c.result.id)
        .collect();
    let verdict = if failed_required.is_empty() && score >= rubric.pass_threshold && max > 0.0 {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    Scored {
        verdict,
        score,
        threshold: rubric.pass_threshold,
        checks,
        failed_required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::default_rubric;

    fn all_pass() -> Vec<CheckResult> {
        CheckId::ALL
            .iter()
            .map(|id| CheckResult::pass(*id, "ok"))
            .collect()
    }

    #[test]
    fn everything_passing_is_pass_with_full_score() {
        let s = score(all_pass(), &default_rubric());
        assert_eq!(s.verdict, Verdict::Pass);
        assert_eq!(s.score, 100.0);
    }

    #[test]
    fn one_required_failure_fails_even_with_high_score() {
        let mut r = all_pass();
        r[6] = CheckResult::fail(CheckId::ComposeDbHost, "PGHOST=localhost");
        let s = score(r, &default_rubric());
        assert_eq!(s.verdict, Verdict::Fail);
        assert!(s.score > 90.0);
        assert_eq!(s.failed_required, vec![CheckId::ComposeDbHost]);
    }

    #[test]
    fn optional_failures_lower_the_score_below_threshold() {
        let optional = [
            CheckId::ComposeHealthcheck,
            CheckId::ComposeStartupOrder,
            CheckId::ComposeDbVolume,
            CheckId::ComposeNoInlineSecrets,
            CheckId::ComposeDbNotPublished,
            CheckId::ComposeScalable,
            CheckId::ComposePinnedImages,
            CheckId::RuntimeColdStart,
            CheckId::RuntimePersistence,
            CheckId::RuntimeScale,
            CheckId::EssaysQ1,
        ];
        let r: Vec<_> = all_pass()
            .into_iter()
            .map(|c| {
                if optional.contains(&c.id) {
                    CheckResult::fail(c.id, "no")
                } else {
                    c
                }
            })
            .collect();
        let s = score(r, &default_rubric());
        assert!(s.score < 70.0, "{}", s.score);
        assert_eq!(s.verdict, Verdict::Fail);
    }

    #[test]
    fn not_run_checks_are_left_out_and_blocked_ones_count_zero() {
        let mut r = all_pass();
        r.retain(|c| c.id.family() != "runtime");
        let s = score(r.clone(), &default_rubric());
        assert_eq!(
            s.verdict,
            Verdict::Pass,
            "static-only evaluation of passing checks"
        );
        assert_eq!(s.score, 100.0);
        r.push(CheckResult::blocked(
            CheckId::RuntimeUp,
            "compose.valid failed",
        ));
        let s = score(r, &default_rubric());
        assert_eq!(s.verdict, Verdict::Fail);
        assert!(s.score < 100.0);
    }

    #[test]
    fn nothing_counted_is_never_a_pass() {
        let s = score(Vec::new(), &default_rubric());
        assert_eq!(s.verdict, Verdict::Fail);
    }
}
