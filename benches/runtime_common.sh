# Sourced by the runtime benchmarks (benches/runtime_verdicts.sh, benches/abuse.sh): the repo
# root, the runtime fixtures, the assay binary (ASSAY_BIN, else a release build), the images it
# needs, a millisecond clock and a work dir. The caller sets its own EXIT trap for $work.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
FIX="$ROOT/tests/fixtures/runtime"
if [ -n "${ASSAY_BIN:-}" ]; then
  ASSAY=$ASSAY_BIN
else
  cargo build --release -q --bin assay
  ASSAY="${CARGO_TARGET_DIR:-$ROOT/target}/release/assay"
fi
echo "binary: $ASSAY"
"$ASSAY" images --offline >/dev/null
now_ms() { date +%s%3N; }
# What the host's CPUs did, for the batch benchmark's bound: busy time of all cores so far (ms;
# /proc/stat, everything but idle and iowait) and the containers' share of it (ms; cgroup v1
# cpuacct of Docker's parent cgroup, empty where that file does not exist).
CORES=$(nproc)
host_busy_ms() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print int(($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz) }' /proc/stat
}
containers_cpu_ms() {
  local f=/sys/fs/cgroup/cpuacct/docker/cpuacct.usage
  if [ -r "$f" ]; then echo $(( $(cat "$f") / 1000000 )); fi
}
work=$(mktemp -d)
