#!/usr/bin/env bash
# Shows assay's container image at work, end to end, on this machine and with no registry:
#   1. the images a run needs, prepared on the host (`assay images`, offline stand-ins when no
#      registry answers; reused when present);
#   2. the assay image built from the Dockerfile (ci/container/build-image.sh);
#   3. examples/good.zip graded by the image through the host's Docker socket, with a host
#      `assay gc` run while it grades: the containerised run's lock is shared, so gc must leave
#      it alone and the grade must still PASS;
#   4. nothing labelled by that run left behind afterwards.
# Prints each step's time. Takes minutes (a full runtime grading, plus a build the first time),
# so it is a script rather than a test; the result measured here is in the commit's report.
#
# Usage: ci/container/grade-through-socket.sh [--profile debug|release] [--tag NAME]
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=debug tag=assay:socket-demo
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "grade-through-socket: unknown argument $1" >&2; exit 2 ;;
  esac
done
target=${CARGO_TARGET_DIR:-target}
case $profile in debug) bin=$target/debug ;; release) bin=$target/release ;; *) exit 2 ;; esac

step() { printf '\n== %s (at %ss)\n' "$*" "$SECONDS"; }

step "build the image ($profile binaries)"
ci/container/build-image.sh --profile "$profile" --tag "$tag"

step "images on the host"
"$bin/assay" images || "$bin/assay" images --offline

out=$(mktemp -d)
cleanup() {
  rm -rf -- "$out"
  rm -f -- "$out.stdout" "$out.stderr" "$out.gc"
  docker image rm "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# Resources of the containerised run only (other assay runs may share this daemon).
of_run() {
  { docker ps -aq --filter "label=dev.assay.run=$1"
    docker network ls -q --filter "label=dev.assay.run=$1"
    docker volume ls -q --filter "label=dev.assay.run=$1"; } | sort -u
}

step "grade examples/good.zip in the container, through /var/run/docker.sock"
# The runs' lock folder is shared with the container: that is how a host gc sees the run alive.
runs="${TMPDIR:-/tmp}/assay-runs"
mkdir -p "$runs"
locks_before=$(ls "$runs")
started=$SECONDS
docker run --rm \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$runs:/tmp/assay-runs" \
  -v "$PWD/examples:/grade:ro" -v "$out:/out" -w /grade \
  "$tag" evaluate good.zip --out /out >"$out.stdout" 2>"$out.stderr" &
pid=$!

# While it grades: find its run by its new lock file, wait for its containers, run gc on the
# host, and check they are all still there.
run=""
for _ in $(seq 1 300); do
  run=$(comm -13 <(echo "$locks_before") <(ls "$runs") | sed -n 's/\.lock$//p' | head -n 1)
  [ -n "$run" ] && [ -n "$(docker ps -q --filter "label=dev.assay.run=$run")" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if [ -n "$run" ] && kill -0 "$pid" 2>/dev/null; then
  step "host assay gc while run $run is live in the container"
  live_before=$(of_run "$run")
  "$bin/assay" gc 2>&1 | tee "$out.gc"
  live_after=$(of_run "$run")
  if [ "$live_before" != "$live_after" ]; then
    echo "gc removed resources of the live run $run"; exit 1
  fi
  echo "gc left the live run's $(echo "$live_after" | wc -l) containers, networks and volumes alone"
else
  echo "the run ended before gc could be tried on it"; gc_untried=1
fi

code=0
wait "$pid" || code=$?
graded=$((SECONDS - started))
step "result: exit $code after ${graded}s"
cat "$out.stdout"
if [ "$code" -ne 0 ]; then
  echo "--- stderr"; cat "$out.stderr"
  exit 1
fi
if grep -q "building" "$out.stderr"; then
  echo "the image's assay rebuilt images (its binaries differ from the host's):"
  grep "building" "$out.stderr"
else
  echo "the image's assay reused the host's images"
fi
grep -q '"verdict": "pass"' "$out/report.json" || { echo "no PASS in report.json"; exit 1; }
[ -f "$out/report.html" ] && [ -f "$out/junit.xml" ] || { echo "reports missing"; exit 1; }

step "nothing of run $run left behind"
left=$(of_run "$run")
if [ -n "$left" ]; then
  echo "left behind:"; echo "$left"; exit 1
fi
[ -z "${gc_untried:-}" ] || exit 1
echo "grade-through-socket: PASS through the socket in ${graded}s; a host gc left the live run alone; nothing left behind (total ${SECONDS}s)"
