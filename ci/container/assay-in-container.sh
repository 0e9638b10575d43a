#!/usr/bin/env bash
# Runs the assay container image ($ASSAY_IMAGE) like a local `assay`: the current folder and
# $RUNNER_TEMP / $TMPDIR are mounted at the same paths (so the paths given as arguments mean
# the same inside), the runs' lock folder is shared, and the host's Docker socket ($DOCKER_SOCKET, default /var/run/docker.sock)
# is mounted so assay can run the candidate's stack. Whoever holds that socket is root on the
# host: see the Dockerfile. Used by the GitHub Action when its `image` input is set.
set -euo pipefail
image=${ASSAY_IMAGE:?set ASSAY_IMAGE to the assay image}
socket=${DOCKER_SOCKET:-/var/run/docker.sock}
# The runs' lock folder is shared, so an `assay gc` outside sees this run's lock held.
runs="${TMPDIR:-/tmp}/assay-runs"
mkdir -p -- "$runs"
mounts=(-v "$PWD:$PWD" -v "$socket:/var/run/docker.sock" -v "$runs:/tmp/assay-runs")
for d in "${RUNNER_TEMP:-}" "${TMPDIR:-}"; do
  [ -n "$d" ] && [ -d "$d" ] && [ "$d" != "$PWD" ] && mounts+=(-v "$d:$d")
done
# The same user as the caller (the reports stay theirs), allowed on the socket.
exec docker run --rm -i "${mounts[@]}" -w "$PWD" \
  --user "$(id -u):$(id -g)" --group-add "$(stat -c %g "$socket")" \
  -e NO_COLOR=1 "$image" "$@"
