#!/usr/bin/env bash
# Entry script of the GitLab CI template (ci/gitlab/assay.gitlab-ci.yml); it runs as well
# outside GitLab, which is how tests/ci_scripts.rs checks it.
#
# Grades one submission folder (the project checkout by default) and leaves, for the job's
# `artifacts:reports`:
#   $ASSAY_REPORTS_DIR/junit.xml                 JUnit (one test case per check; an optional
#                                                failure does not fail the pipeline's test view)
#   $ASSAY_REPORTS_DIR/gl-code-quality-report.json   code-quality issues at the located findings
#   $ASSAY_REPORTS_DIR/report.{json,md,html}     the reports (or error.json)
# prints the Markdown report to the job log, and exits with assay's exit code (0 PASS, 1 FAIL,
# 2 usage error, 3 could not grade).
#
# Inputs (environment):
#   ASSAY_BIN          the assay executable (default: `assay` on PATH)
#   ASSAY_PATH         the submission folder, relative to the working directory (default: .)
#   ASSAY_RUBRIC       a rubric file (default: the built-in rubric)
#   ASSAY_STATIC       `true` for the static checks only (no Docker needed)
#   ASSAY_TIMEOUT      the runtime phase's deadline in seconds (default: the rubric's)
#   ASSAY_REPORTS_DIR  where the reports go; new or empty (default: assay-reports; GitLab
#                      keeps artifacts inside the project folder, so it is created only after
#                      assay has read the submission and is never graded itself)
set -uo pipefail

bin=${ASSAY_BIN:-assay}
path=${ASSAY_PATH:-.}
reports=${ASSAY_REPORTS_DIR:-assay-reports}

if [ -d "$reports" ] && [ -n "$(ls -A -- "$reports")" ]; then
  echo "assay-job: $reports is not empty; give an empty or new folder as ASSAY_REPORTS_DIR" >&2
  exit 2
fi
# assay reads the submission before it writes anything, and everything is written to a scratch
# folder first, so a reports dir inside the graded folder is never graded.
scratch=$(mktemp -d) || exit 3
trap 'rm -rf -- "$scratch"' EXIT

args=(evaluate --format gitlab-codequality --out "$scratch/out")
[ "${ASSAY_STATIC:-false}" = true ] && args+=(--static)
[ -n "${ASSAY_RUBRIC:-}" ] && args+=(--rubric "$ASSAY_RUBRIC")
[ -n "${ASSAY_TIMEOUT:-}" ] && args+=(--timeout "$ASSAY_TIMEOUT")
args+=("$path")

"$bin" "${args[@]}" >"$scratch/codequality.json"
code=$?

mkdir -p -- "$reports" || exit 3
if [ -d "$scratch/out" ]; then
  cp -- "$scratch/out"/* "$reports"/
fi
if [ -s "$scratch/codequality.json" ]; then
  cp -- "$scratch/codequality.json" "$reports/gl-code-quality-report.json"
else
  # No report (usage error, could not grade): an empty list keeps the artifact valid.
  echo "[]" >"$reports/gl-code-quality-report.json"
fi

if [ -f "$reports/report.md" ]; then
  cat -- "$reports/report.md"
fi
echo "assay exited with $code; reports in $reports"
exit "$code"
