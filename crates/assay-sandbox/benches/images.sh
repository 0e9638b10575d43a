#!/bin/sh
# Times `assay images --offline` (through the library's `images` example).
#
#   crates/assay-sandbox/benches/images.sh                 # the second-run timing only
#   crates/assay-sandbox/benches/images.sh --from-scratch  # first a from-scratch build: a fresh
#       debootstrap cache and --rebuild of assay's images (replaced by tag, never deleted, so
#       containers of other users keep theirs), then the second run
#
# Target: the second run does nothing, in under 2 s.
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
cache="$root/target/tmp/assay-images-bench"
cargo build --quiet -p assay-probe -p sample-webapp
cargo build --quiet -p assay-sandbox --example images
run() {
	"$root/target/debug/examples/images" --offline --work-dir "$cache" \
		--webapp-binary "$root/target/debug/sample-webapp" \
		--probe-binary "$root/target/debug/assay-probe" "$@"
}
now() { date +%s.%N; }
if [ "${1-}" = --from-scratch ]; then
	rm -rf "$cache"
	echo "== from scratch (debootstrap, import, build)"
	start=$(now)
	run --rebuild
	echo "from scratch: $(echo "$(now) - $start" | bc) s wall"
fi
echo "== again (target: < 2 s, nothing to do)"
start=$(now)
run
echo "second run: $(echo "$(now) - $start" | bc) s wall"
