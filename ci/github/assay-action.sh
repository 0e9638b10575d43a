#!/usr/bin/env bash
# Entry script of the assay GitHub Action (action.yml at the repository root); it runs as well
# outside Actions, which is how tests/ci_scripts.rs checks it.
#
# Grades one submission folder (the checked-out candidate repository by default) and
#   - prints one workflow command per located finding (`::error file=…,line=…::` for a failed
#     required check, `::warning` for an optional one or a warning), made by
#     `assay evaluate --format github`, which %-encodes every candidate value, so a file name
#     holding `%0A::error::` stays inside its own annotation;
#   - prints assay's own messages to the log between `::stop-commands::` markers, so nothing
#     they quote is read as a command;
#   - appends the Markdown report to $GITHUB_STEP_SUMMARY;
#   - writes `verdict`, `exit-code` and `reports-dir` to $GITHUB_OUTPUT;
#   - leaves report.json, report.md, report.html, junit.xml (or error.json) in the reports dir
#     for the artifact upload;
#   - exits with assay's exit code (0 PASS, 1 FAIL, 2 usage error, 3 could not grade).
#
# Inputs (environment; the action sets them from its inputs):
#   ASSAY_BIN          the assay executable (default: `assay` on PATH)
#   ASSAY_PATH         the submission folder, relative to the working directory (default: .)
#   ASSAY_RUBRIC       a rubric file (default: the built-in rubric)
#   ASSAY_STATIC       `true` for the static checks only (no Docker needed)
#   ASSAY_TIMEOUT      the runtime phase's deadline in seconds (default: the rubric's)
#   ASSAY_REPORTS_DIR  where the reports go; it must not exist yet or be empty (default:
#                      $RUNNER_TEMP/assay-reports, outside the checkout)
set -uo pipefail

bin=${ASSAY_BIN:-assay}
path=${ASSAY_PATH:-.}
reports=${ASSAY_REPORTS_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/assay-reports}

# Reports of an earlier run must not be taken for this one's, and nothing is deleted to make
# room: the folder must be new or empty.
if [ -d "$reports" ] && [ -n "$(ls -A -- "$reports")" ]; then
  echo "assay-action: $reports is not empty; give an empty or new folder as the reports dir" >&2
  exit 2
fi
# assay reads the submission before it writes anything, and everything is written to a scratch
# folder first, so a reports dir inside the graded folder is never graded.
scratch=$(mktemp -d) || exit 3
trap 'rm -rf -- "$scratch"' EXIT
annotations="$scratch/annotations"
log="$scratch/assay.log"

args=(evaluate --format github --out "$scratch/out")
[ "${ASSAY_STATIC:-false}" = true ] && args+=(--static)
[ -n "${ASSAY_RUBRIC:-}" ] && args+=(--rubric "$ASSAY_RUBRIC")
[ -n "${ASSAY_TIMEOUT:-}" ] && args+=(--timeout "$ASSAY_TIMEOUT")
args+=("$path")

"$bin" "${args[@]}" >"$annotations" 2>"$log"
code=$?

mkdir -p -- "$reports" || exit 3
if [ -d "$scratch/out" ]; then
  cp -- "$scratch/out"/* "$reports"/
fi
cp -- "$log" "$reports/assay.log"

# assay's messages may quote candidate text: shown with workflow commands switched off, under a
# token nobody can guess.
if [ -s "$log" ]; then
  token="assay-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  echo "::stop-commands::$token"
  cat -- "$log"
  echo "::$token::"
fi

# The annotations: assay's own encoded workflow commands, one a line.
cat -- "$annotations"

verdict=""
if [ -f "$reports/report.json" ]; then
  # The top-level field of the pretty-printed report (nested objects are indented further).
  verdict=$(sed -n 's/^  "verdict": "\(pass\|fail\)",$/\1/p' "$reports/report.json" | head -n 1)
elif [ -f "$reports/error.json" ]; then
  verdict="could-not-grade"
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    if [ -f "$reports/report.md" ]; then
      cat -- "$reports/report.md"
    else
      case $code in
        2) echo "# assay: usage error" ;;
        *) echo "# assay: could not grade" ;;
      esac
      echo
      echo "assay exited with code $code before writing a report; its messages are in the job log."
    fi
  } >>"$GITHUB_STEP_SUMMARY"
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "verdict=$verdict"
    echo "exit-code=$code"
    echo "reports-dir=$reports"
  } >>"$GITHUB_OUTPUT"
fi

exit "$code"
