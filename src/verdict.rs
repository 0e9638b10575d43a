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
    pub source: Option<crate::excerpt::SourceExcerpt>,
    /// A reviewer's override: the check credited or waived, why and by whom. `status` stays
    /// what assay found; `points` and `counted` follow the override.
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub overridden: Option<crate::overrides::Override>,
}

impl ScoredCheck {
    /// The check fails its submission's verdict: required, counted, not passed, and not
    /// credited by a reviewer.
    pub fn fails_verdict(&self) -> bool {
        self.required && self.counted && self.result.status != Status::Pass && !self.credited()
    }

    /// A reviewer credited or waived it.
    pub fn is_overridden(&self) -> bool {
        self.overridden.is_some()
    }

    fn credited(&self) -> bool {
        self.overridden
            .as_ref()
            .is_some_and(|o| o.action == crate::overrides::Action::Credit)
    }
}

/// The verdict with everything that led to it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub verdict: Verdict,
    /// 0-100: points of passed checks over points of counted checks.
    pub score: f64,
    pub threshold: f64,
    pub checks: Vec<ScoredCheck>,
    /// Required checks that failed or were blocked (and were not credited), in report order.
    pub failed_required: Vec<CheckId>,
    /// The verdict and score assay gave before reviewer overrides, when there are any.
    pub before_overrides: Option<(Verdict, f64)>,
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
            overridden: None,
            result,
        });
    }
    let mut scored = Scored {
        verdict: Verdict::Fail,
        score: 0.0,
        threshold: rubric.pass_threshold,
        checks,
        failed_required: Vec::new(),
        before_overrides: None,
    };
    tally(&mut scored);
    scored
}

/// Score, failed required checks and verdict from the checks' points.
fn tally(s: &mut Scored) {
    let max: f64 = s
        .checks
        .iter()
        .filter(|c| c.counted)
        .map(|c| c.max_points)
        .sum();
    let got: f64 = s
        .checks
        .iter()
        .filter(|c| c.counted)
        .map(|c| c.points)
        .sum();
    s.score = if max > 0.0 {
        (got / max * 1000.0).round() / 10.0
    } else {
        0.0
    };
    s.failed_required = s
        .checks
        .iter()
        .filter(|c| c.fails_verdict())
        .map(|c| c.result.id)
        .collect();
    s.verdict = if s.failed_required.is_empty() && s.score >= s.threshold && max > 0.0 {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
}

/// Applies a reviewer's overrides and recomputes the verdict, keeping the one before them.
/// A credited check gets its points and counts as passed; a waived one is left out of the
/// score and of the verdict. Overriding a check that passed is an error (the file does not
/// fit this grading), as is an override naming a check twice; every such problem is returned
/// and nothing is applied.
pub fn apply_overrides(
    s: &mut Scored,
    overrides: &[&crate::overrides::Entry],
) -> Result<(), Vec<String>> {
    use crate::overrides::Action;
    if overrides.is_empty() {
        return Ok(());
    }
    let problems: Vec<String> = overrides
        .iter()
        .filter_map(|o| {
            let c = s.checks.iter().find(|c| c.result.id == o.check)?;
            (c.result.status == Status::Pass).then(|| {
                format!(
                    "{}: {} passed; there is nothing to {} (remove the override)",
                    o.at,
                    o.check,
                    match o.decision.action {
                        Action::Credit => "credit",
                        Action::Waive => "waive",
                    }
                )
            })
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    s.before_overrides = Some((s.verdict, s.score));
    for o in overrides {
        let Some(c) = s.checks.iter_mut().find(|c| c.result.id == o.check) else {
            continue;
        };
        match o.decision.action {
            Action::Credit => {
                c.points = c.max_points;
                c.counted = true;
            }
            Action::Waive => {
                c.points = 0.0;
                c.counted = false;
            }
        }
        c.overridden = Some(o.decision.clone());
    }
    tally(s);
    Ok(())
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
        let rubric = default_rubric();
        let optional = |id: CheckId| rubric.checks.get(id.as_str()).is_some_and(|r| !r.required);
        let r: Vec<_> = all_pass()
            .into_iter()
            .map(|c| {
                if optional(c.id) {
                    CheckResult::fail(c.id, "no")
                } else {
                    c
                }
            })
            .collect();
        let s = score(r, &rubric);
        assert!(s.score < 70.0, "{}", s.score);
        assert_eq!(s.verdict, Verdict::Fail);
        assert!(s.failed_required.is_empty(), "{:?}", s.failed_required);
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

    fn entry(check: CheckId, action: crate::overrides::Action) -> crate::overrides::Entry {
        crate::overrides::Entry {
            submission: None,
            check,
            decision: crate::overrides::Override {
                action,
                reason: "the reviewer's reason".into(),
                by: "Dana".into(),
            },
            at: "o.yaml:2:5".into(),
        }
    }

    #[test]
    fn a_credited_required_failure_passes_and_keeps_the_verdict_before() {
        use crate::overrides::Action;
        let mut r = all_pass();
        r[6] = CheckResult::fail(CheckId::ComposeDbHost, "PGHOST=localhost");
        let mut s = score(r, &default_rubric());
        let failing_score = s.score;
        assert_eq!(s.verdict, Verdict::Fail);
        apply_overrides(&mut s, &[&entry(CheckId::ComposeDbHost, Action::Credit)]).unwrap();
        assert_eq!(s.verdict, Verdict::Pass);
        assert_eq!(s.score, 100.0, "the credited check's points are given");
        assert_eq!(s.before_overrides, Some((Verdict::Fail, failing_score)));
        assert!(s.failed_required.is_empty());
        let c = s
            .checks
            .iter()
            .find(|c| c.result.id == CheckId::ComposeDbHost)
            .unwrap();
        assert_eq!(c.result.status, Status::Fail, "what assay found is kept");
        assert_eq!(c.overridden.as_ref().unwrap().by, "Dana");
    }

    #[test]
    fn a_waived_check_leaves_the_score_and_the_verdict() {
        use crate::overrides::Action;
        let mut r = all_pass();
        r[6] = CheckResult::fail(CheckId::ComposeDbHost, "PGHOST=localhost");
        let mut s = score(r, &default_rubric());
        apply_overrides(&mut s, &[&entry(CheckId::ComposeDbHost, Action::Waive)]).unwrap();
        assert_eq!(s.verdict, Verdict::Pass);
        assert_eq!(s.score, 100.0, "left out, not credited: 100 of the rest");
        let c = s
            .checks
            .iter()
            .find(|c| c.result.id == CheckId::ComposeDbHost)
            .unwrap();
        assert!(!c.counted && c.points == 0.0);
        // Waiving an optional failure raises the score the same way, never lowers it.
        let mut r = all_pass();
        r[8] = CheckResult::fail(CheckId::ComposeHealthcheck, "none");
        let mut s = score(r, &default_rubric());
        let before = s.score;
        apply_overrides(
            &mut s,
            &[&entry(CheckId::ComposeHealthcheck, Action::Waive)],
        )
        .unwrap();
        assert!(
            s.score > before && s.score == 100.0,
            "{before} -> {}",
            s.score
        );
    }

    #[test]
    fn overriding_a_passed_check_is_an_error_and_changes_nothing() {
        use crate::overrides::Action;
        let mut r = all_pass();
        r[6] = CheckResult::fail(CheckId::ComposeDbHost, "PGHOST=localhost");
        let mut s = score(r, &default_rubric());
        let e = apply_overrides(
            &mut s,
            &[
                &entry(CheckId::ComposeDbHost, Action::Credit),
                &entry(CheckId::EssaysQ1, Action::Waive),
            ],
        )
        .unwrap_err();
        assert_eq!(
            e,
            vec!["o.yaml:2:5: essays.q1 passed; there is nothing to waive (remove the override)"]
        );
        assert_eq!(s.verdict, Verdict::Fail);
        assert!(s.before_overrides.is_none() && s.checks.iter().all(|c| !c.is_overridden()));
    }
}
