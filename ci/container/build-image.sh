#!/usr/bin/env bash
# Builds the assay container image with no registry:
#   1. the Debian base from `assay images` (its debootstrap stand-in when no registry answers;
#      skipped when the daemon has it already),
#   2. assay, assay-probe and sample-webapp built on this host (glibc of the base's release:
#      debian:<this host's release>-slim by default),
#   3. `docker build --pull=false` of the repository's Dockerfile on a context holding just them.
#
# Usage: ci/container/build-image.sh [--profile release|debug] [--tag NAME] [--base IMAGE]
#   --profile  cargo profile of the binaries (default release; debug builds faster)
#   --tag      image name (default assay:local)
#   --base     base image (default debian:<this host's Debian release>-slim)
# CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=release tag=assay:local base=""
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$base" ]; then
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  base="debian:${codename:-bookworm}-slim"
fi

target=${CARGO_TARGET_DIR:-target}
case $profile in
  release) cargo build --release -p assay -p assay-probe -p sample-webapp; dir=$target/release ;;
  debug) cargo build -p assay -p assay-probe -p sample-webapp; dir=$target/debug ;;
  *) echo "build-image: --profile is release or debug" >&2; exit 2 ;;
esac

if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "build-image: $base is not in the daemon: preparing it with assay images" >&2
  "$dir/assay" images || "$dir/assay" images --offline
fi

ctx=$(mktemp -d)
trap 'rm -rf -- "$ctx"' EXIT
mkdir "$ctx/bin"
for b in assay assay-probe sample-webapp; do
  cp -- "$dir/$b" "$ctx/bin/$b"
done
# Not stripped: the webapp and probe images carry the hash of the binaries they hold, so the
# same bytes as the host's let assay in the container reuse the host's images instead of
# rebuilding them.
mkdir "$ctx/share"
cp ci/github/assay-action.sh ci/gitlab/assay-job.sh "$ctx/share/"
cp Dockerfile "$ctx/Dockerfile"
docker build --pull=false --build-arg "BASE=$base" -t "$tag" "$ctx"
docker image ls "$tag"
