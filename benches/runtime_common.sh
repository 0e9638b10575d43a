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
work=$(mktemp -d)
