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
managed() {
  { docker ps -aq --no-trunc --filter label=dev.assay.managed=true
    docker network ls -q --no-trunc --filter label=dev.assay.managed=true
    docker volume ls -q --filter label=dev.assay.managed=true; } | sort -u
}

step "build the image ($profile binaries)"
ci/container/build-image.sh --profile "$profile" --tag "$tag"

step "images on the host"
"$bin/assay" images || "$bin/assay" images --offline

before=$(mktemp); after=$(mktemp); out=$(mktemp -d)
cleanup() {
  rm -f -- "$before" "$after"
  rm -rf -- "$out"
  rm -f -- "$out.stdout" "$out.stderr" "$out.gc"
  [ -n "${keep_image:-}" ] || docker image rm "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT
managed >"$before"

step "grade examples/good.zip in the container, through /var/run/docker.sock"
runs="${TMPDIR:-/tmp}/assay-runs"
mkdir -p "$runs"
started=$SECONDS
docker run --rm \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$runs:/tmp/assay-runs" \
  -v "$PWD/examples:/grade:ro" -v "$out:/out" -w /grade \
  "$tag" evaluate good.zip --out /out >"$out.stdout" 2>"$out.stderr" &
pid=$!

# While it grades: wait for its first labelled container, then run gc on the host.
for _ in $(seq 1 120); do
  [ -n "$(comm -13 "$before" <(managed))" ] && break
  sleep 1
done
step "host assay gc while the containerised run is live"
"$bin/assay" gc 2>&1 | tee "$out.gc"

code=0
wait "$pid" || code=$?
graded=$((SECONDS - started))
step "result: exit $code after ${graded}s"
cat "$out.stdout"
if [ "$code" -ne 0 ]; then
  echo "--- stderr"; cat "$out.stderr"
  exit 1
fi
grep -q '"verdict": "pass"' "$out/report.json" || { echo "no PASS in report.json"; exit 1; }
[ -f "$out/report.html" ] && [ -f "$out/junit.xml" ] || { echo "reports missing"; exit 1; }

step "nothing left behind"
managed >"$after"
left=$(comm -13 "$before" "$after")
if [ -n "$left" ]; then
  echo "left behind:"; echo "$left"; exit 1
fi
echo "grade-through-socket: PASS through the socket in ${graded}s; gc left the live run alone; nothing left behind (total ${SECONDS}s)"
