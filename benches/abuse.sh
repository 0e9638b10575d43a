#!/usr/bin/env bash
# What a submission that tries to take the grading host costs the host (issue 11).
#
# 1. The abuse fixture (a fork bomb, a memory hog, a disk flood and a CPU spinner as side
#    services of a well-wired stack), graded once with --timeout 90 while the host is sampled
#    every 0.5 s: the wall time against the deadline, and the host's peak memory in use, peak
#    1-minute load and peak growth of the Docker data root's disk use, each against the budget
#    of the submission (rubric `limits:`), plus the verdict and runtime.up's evidence.
# 2. A 1 ms healthcheck on every service (raised to the 1 s floor) against the same stack with
#    2 s healthchecks: both wall times and the ratio (target <= 1.5).
# 3. Forty services of three replicas with --timeout 20: refused statically, and how fast.
#
# Usage: benches/abuse.sh   (needs Docker and the images of `assay images`; only the runs' own
# containers are contacted). ASSAY_BIN=path uses that binary instead of a release build.
set -euo pipefail
source "$(dirname "$0")/runtime_common.sh"
trap 'rm -rf "$work"; [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null || true' EXIT
docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)

# Budgets of the default rubric (rubrics/default.yaml, limits:).
budget() { awk -v k="$1" '$1 == k":" { print $2 }' rubrics/default.yaml; }
mem_budget=$(budget memory_bytes)
disk_budget=$(budget disk_bytes)

# Samples the host every 0.5 s into $1: memory in use (kB), 1-min load, used kB of the root.
sample() {
  while :; do
    awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { printf "%d ", t - a }' /proc/meminfo
    printf '%s ' "$(cut -d' ' -f1 /proc/loadavg)"
    df -k --output=used "$docker_root" | tail -1
    sleep 0.5
  done >"$1"
}

summarise() {
  python3 -c '
import json, sys
v = json.load(sys.stdin)
for r in (v if isinstance(v, list) else [v]):
    checks = {c["id"]: c for c in r["checks"]}
    up = checks.get("runtime.up", {})
    print("verdict: %s; runtime.up %s: %s" % (r.get("verdict"), up.get("status"), up.get("evidence", "")))
    for d in up.get("details", []):
        if d.get("severity") == "error":
            print("  - " + d.get("message", ""))
'
}

echo "== 1. the abuse fixture, --timeout 90"
sample "$work/samples" &
sampler=$!
sleep 1.2
t0=$(now_ms)
"$ASSAY" evaluate --format json --timeout 90 "$FIX/abuse" >"$work/abuse.json" 2>"$work/abuse.err" || true
t=$(( $(now_ms) - t0 ))
sleep 1
kill "$sampler" 2>/dev/null || true
sampler=
python3 - "$work/samples" "$t" "$mem_budget" "$disk_budget" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
mem0, load0, disk0 = (float(x) for x in rows[0])
mem = max(float(r[0]) for r in rows) - mem0
load = max(float(r[1]) for r in rows)
disk = max(float(r[2]) for r in rows) - disk0
wall = int(sys.argv[2]) / 1000
mb, db = int(sys.argv[3]), int(sys.argv[4])
print("%-34s %12s  %s" % ("figure", "measured", "budget / deadline"))
print("%-34s %10.1f s  %d s" % ("wall time of the evaluation", wall, 90))
print("%-34s %8.0f MiB  %d MiB (limits.memory_bytes, all containers)" % ("host memory in use, peak growth", mem / 1024, mb >> 20))
print("%-34s %12.2f  (2 CPUs; was 58 before the budgets)" % ("1-minute load average, peak", load))
print("%-34s %8.0f MiB  %d MiB (limits.disk_bytes)" % ("docker root disk use, peak growth", disk / 1024, db >> 20))
print("(samples: %d, every 0.5 s; load before the run %.2f)" % (len(rows), load0))
EOF
summarise <"$work/abuse.json"

echo
echo "== 2. 1 ms healthchecks (raised to the floor) against the same stack at 2 s (target <= 1.5)"
# The same stack with every healthcheck at a usual 2 s: only the intervals differ.
cp -r "$FIX/healthcheck-1ms" "$work/healthcheck-2s"
sed -i 's/: 1ms$/: 2s/' "$work/healthcheck-2s/compose.yaml"
declare -A took
for f in "$work/healthcheck-2s" "$FIX/healthcheck-1ms"; do
  t0=$(now_ms)
  "$ASSAY" evaluate --format json "$f" >"$work/hc.json" 2>/dev/null || true
  took[$f]=$(( $(now_ms) - t0 ))
  printf '%-18s %6.1f s  %s\n' "$(basename "$f")" "$(awk -v t="${took[$f]}" 'BEGIN { print t / 1000 }')" "$(summarise <"$work/hc.json" | head -1)"
done
awk -v a="${took[$work/healthcheck-2s]}" -v b="${took[$FIX/healthcheck-1ms]}" 'BEGIN { printf "ratio 1 ms / 2 s: %.2f\n", b / a }'

echo
echo "== 3. forty services of three replicas, --timeout 20"
t0=$(now_ms)
"$ASSAY" evaluate --format json --timeout 20 "$FIX/many-services" >"$work/many.json" 2>/dev/null || true
t=$(( $(now_ms) - t0 ))
python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
r = v[0] if isinstance(v, list) else v
sec = {c["id"]: c for c in r["checks"]}["compose.security"]
print("verdict %s in %.1f s; compose.security %s: %s" % (r["verdict"], int(sys.argv[2]) / 1000, sec["status"], sec["evidence"]))
' "$work/many.json" "$t"
