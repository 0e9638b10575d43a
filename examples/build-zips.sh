#!/usr/bin/env bash
# Rebuilds the bundled example submissions (examples/*.zip) from their folders. Each zip is what
# a candidate would send: their own files plus the handout webapp as `sample-webapp/`, wrapped in
# one top folder as "zip of a folder" tools make it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for dir in "$here"/*/; do
  name=$(basename "$dir")
  mkdir -p "$stage/$name/sample-webapp"
  cp -a "$dir/." "$stage/$name/"
  (cd "$repo/sample-webapp" && cp -a Cargo.toml Dockerfile .dockerignore README.md src "$stage/$name/sample-webapp/")
  rm -f "$here/$name.zip"
  # -X: no extra attributes; sorted names so the archive is stable
  (cd "$stage" && find "$name" -type f | LC_ALL=C sort | TZ=UTC zip -q -X -D "$here/$name.zip" -@)
  echo "examples/$name.zip"
done
