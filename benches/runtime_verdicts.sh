#!/usr/bin/env bash
# Benchmarks for runtime verdicts that are fast and do not depend on the grader's load.
#
# 1. Fail fast: the three stacks that can never come up — a db crash loop (a typo in a server
#    setting, restart: always), a wrong password with restart: on-failure, a webapp that exits 1
#    without a restart policy — each graded alone. Prints each one's wall time, the headline
#    (the failing service's own line) and the target: judged within 20 s of the cause (before
#    the fail-fast watch, each waited out the 180 s deadline).
# 2. A batch of 8 mixed fixtures (half failing at runtime) with --jobs 4 against --jobs 1:
#    both wall times, the ratio (target <= 0.5) and whether every verdict and runtime check
#    status is the same in both; per submission, its wall time in each run and what the load
#    did to it in the --jobs 4 run (start-slot wait, db later than nominal, graded again).
#    Each run also prints how busy it kept the host's CPUs (and the containers' share), and
#    the last line the CPU bound: the --jobs 1 run's busy time spread over every core, which
#    no batch of the same work can beat (run it with nothing else busy on the host), and the
#    order bound: the --jobs 1 times dealt to 4 threads in batch order with no slowdown from
#    sharing the host. The gap between the measured ratio and the larger bound is what the
#    load itself costs (slower dbs, slot waits).
#    `assay images` runs first (untimed): it takes a nominal db sample, so neither run
#    measures nominal in its critical path.
#
# Usage: benches/runtime_verdicts.sh   (needs Docker and the images of `assay images`; only
# the runs' own containers are contacted). ASSAY_BIN=path uses that binary instead of a
# release build (the numbers then say which binary ran).
set -euo pipefail
source "$(dirname "$0")/runtime_common.sh"
trap 'rm -rf "$work"' EXIT

# verdict, each runtime check's status, runtime.up's evidence, the evaluation's wall time and
# what the grader's load did to it (start-slot wait, db later than nominal, graded again),
# from a --format json run
summarise() {
  python3 -c '
import json, re, sys
v = json.load(sys.stdin)
for r in (v if isinstance(v, list) else [v]):
    checks = {c["id"]: c for c in r["checks"]}
    runtime = " ".join("%s=%s" % (k.split(".")[1], c["status"]) for k, c in sorted(checks.items()) if k.startswith("runtime."))
    up = checks.get("runtime.up", {})
    texts = [d.get("message", "") for d in up.get("details", [])] + list(r.get("notes", []))
    load = []
    for t in texts:
        if m := re.search(r"waited ([0-9.]+) s for a start slot", t):
            load.append("slot wait %s s" % m[1])
        if m := re.search(r"ready ([0-9.]+) s after it started; nominal for its image on this grader is ([0-9.]+) s", t):
            load.append("db %s s vs nominal %s s" % (m[1], m[2]))
        if m := re.search(r"graded (twice|[0-9]+ times).*after waiting ([0-9., s]+) for the stacks", t):
            load.append("graded %s (exclusive start after %s)" % (m[1], m[2].strip(", ")))
        if "was not graded again" in t:
            load.append("not graded again (db on time)")
        if "samples were taken now" in t:
            load.append("nominal measured during the run")
    print("%s\t%s\t%s\t%.1f\t%s" % (r.get("verdict"), runtime, up.get("evidence", ""), r.get("duration_ms", 0) / 1000, "; ".join(load)))
'
}

echo "== fail fast (target: judged within 20 s of the cause; each alone)"
printf '%-24s %8s  %s\n' fixture wall headline
for f in crash-loop wrong-password-restart exit-1; do
  t0=$(now_ms)
  out=$("$ASSAY" evaluate --format json "$FIX/$f" 2>/dev/null || true)
  t=$(( $(now_ms) - t0 ))
  line=$(printf '%s' "$out" | summarise)
  printf '%-24s %6.1f s  %s\n' "$f" "$(awk -v t="$t" 'BEGIN { print t / 1000 }')" "$(printf '%s' "$line" | cut -f1,3)"
done

echo
echo "== batch of 8, --jobs 4 against --jobs 1"
batch=()
i=0
for f in well-wired no-wait crash-loop broken-wiring well-wired exit-1 no-wait wrong-password-restart; do
  i=$((i + 1))
  cp -r "$FIX/$f" "$work/$i-$f"
  batch+=("$work/$i-$f")
done
declare -A wall sums busy
for jobs in 1 4; do
  t0=$(now_ms) b0=$(host_busy_ms) c0=$(containers_cpu_ms)
  "$ASSAY" evaluate --format json --jobs "$jobs" "${batch[@]}" 2>/dev/null >"$work/jobs$jobs.json" || true
  wall[$jobs]=$(( $(now_ms) - t0 ))
  busy[$jobs]=$(( $(host_busy_ms) - b0 ))
  c1=$(containers_cpu_ms)
  sums[$jobs]=$(summarise <"$work/jobs$jobs.json")
  awk -v j="$jobs" -v t="${wall[$jobs]}" -v b="${busy[$jobs]}" -v n="$CORES" -v c0="$c0" -v c1="$c1" 'BEGIN {
    printf "--jobs %s: %.1f s; host CPU busy %.1f s (%.0f %% of %d cores)", j, t / 1000, b / 1000, 100 * b / (t * n), n
    if (c0 != "" && c1 != "") printf ", of which containers %.1f s", (c1 - c0) / 1000
    printf "\n" }'
done
# Per submission: verdict and wall time in each run, and what the load did in the --jobs 4 run.
paste <(printf '%s\n' "${batch[@]##*/}") <(printf '%s\n' "${sums[1]}" | cut -f1) \
  <(printf '%s\n' "${sums[1]}" | cut -f4) <(printf '%s\n' "${sums[4]}" | cut -f1) \
  <(printf '%s\n' "${sums[4]}" | cut -f4) <(printf '%s\n' "${sums[4]}" | cut -f5) |
  awk -F'\t' 'BEGIN { printf "%-28s %-14s %-14s %s\n", "submission", "jobs 1", "jobs 4", "load in the jobs 4 run" }
    { printf "%-28s %-5s %6.1f s %-5s %6.1f s %s\n", $1, $2, $3, $4, $5, $6 }'
if [ "$(printf '%s\n' "${sums[1]}" | cut -f1,2)" = "$(printf '%s\n' "${sums[4]}" | cut -f1,2)" ]; then same=yes; else same=NO; fi
# Where they differ: each runtime check's status and runtime.up's evidence in both runs.
paste <(printf '%s\n' "${batch[@]##*/}") <(printf '%s\n' "${sums[1]}" | cut -f2,3) <(printf '%s\n' "${sums[4]}" | cut -f2,3) |
  awk -F'\t' '$2 != $4 { printf "differs: %s\n  jobs 1: %s\n          %s\n  jobs 4: %s\n          %s\n", $1, $2, $3, $4, $5 }'
awk -v a="${wall[4]}" -v b="${wall[1]}" -v s="$same" -v busy="${busy[1]}" -v n="$CORES" 'BEGIN {
  printf "jobs 4 / jobs 1 = %.2f (target <= 0.50); same verdicts and runtime statuses: %s\n", a / b, s
  # The work of the --jobs 1 run spread perfectly over every core: no batch can beat it.
  printf "CPU bound: the --jobs 1 run kept the host busy %.1f s; on %d cores no batch of the same work beats %.1f s, a ratio of %.2f\n", busy / 1000, n, busy / 1000 / n, busy / n / b }'
# The order bound: each submission's --jobs 1 time, handed out in batch order to 4 threads as
# `assay evaluate --jobs 4` does (the next submission to the first free thread), with no
# slowdown from sharing the host: what the batch would take if the load cost nothing.
printf '%s\n' "${sums[1]}" | cut -f4 | awk -v b="${wall[1]}" '
  { t[NR] = $1 }
  END {
    for (i = 1; i <= 4; i++) lane[i] = 0
    for (k = 1; k <= NR; k++) {
      m = 1; for (i = 2; i <= 4; i++) if (lane[i] < lane[m]) m = i
      lane[m] += t[k]
    }
    end = 0; for (i = 1; i <= 4; i++) if (lane[i] > end) end = lane[i]
    printf "order bound: the --jobs 1 times on 4 threads in batch order, with no slowdown from sharing the host, end at %.1f s, a ratio of %.2f\n", end, end * 1000 / b }'
