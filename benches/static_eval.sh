#!/usr/bin/env bash
# Benchmark: `assay evaluate --static` on a typical submission against the floor of merely
# reading it — `unzip -q` into a temp dir plus `wc -w` over the same files. Runs alternate;
# prints median wall time and peak RSS of both. RSS comes from GNU time (%M): a child forked from
# this Python script would inherit Python's own high-water mark, GNU time's children do not.
# Usage: benches/static_eval.sh [SUBMISSION.zip] [RUNS]   (targets: median < 50 ms, RSS < 40 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
zip=${1:-examples/good.zip}
runs=${2:-21}
cargo build --release -q --bin assay
exec python3 - "$zip" "$runs" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
zip_path, runs = sys.argv[1], int(sys.argv[2])
rss_file = tempfile.NamedTemporaryFile(delete=False).name
def run(cmd):
    t = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    return elapsed, int(open(rss_file).read().split()[-1])  # KiB
floor = ["bash", "-c", 'd=$(mktemp -d) && unzip -q "$1" -d "$d" && find "$d" -type f -print0 | xargs -0 wc -w >/dev/null; rm -rf "$d"', "_", zip_path]
assay = ["target/release/assay", "evaluate", "--static", "--format", "json", zip_path]
res = {"assay evaluate --static": [], "unzip -q + wc -w": []}
for _ in range(runs):
    res["assay evaluate --static"].append(run(assay))
    res["unzip -q + wc -w"].append(run(floor))
print(f"submission: {zip_path} ({os.path.getsize(zip_path)} bytes), {runs} alternating runs")
for label, rows in res.items():
    secs = [r[0] for r in rows]; rss = [r[1] for r in rows]
    print(f"{label:<26} median {statistics.median(secs)*1000:7.1f} ms   peak RSS {max(rss)/1024:6.1f} MiB")
print("targets: assay median < 50 ms and peak RSS < 40 MiB")
PY
