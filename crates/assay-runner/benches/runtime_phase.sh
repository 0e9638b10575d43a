#!/usr/bin/env bash
# Benchmark of assay's runtime phase (sweep → up → health → round-trip → teardown) against
# (1) a docker-compose v1 script: up -d, poll /health, psql the nonce, down -v, and
# (2) the floor: plain `docker run` of postgres + webapp until /health is 200, then removal.
# Same submission, same host, alternating order per round. Prints medians and ratios
# (targets: assay ≤ 0.6× docker-compose, ≤ 1.3× the floor), then the full scenario set once.
# Then the same against docker-compose for a second submission with a directory bind and a
# file bind (bench-submission-binds), which assay copies in where docker-compose mounts.
#
# Usage: crates/assay-runner/benches/runtime_phase.sh [ROUNDS]   (needs the images of
# `assay images`, docker-compose v1, curl; only loopback and the run's containers are contacted)
set -euo pipefail
ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
cd "$ROOT"
# Release, as assay ships; the images get the release webapp and probe (the test suite puts
# debug builds under the same tags, and `assay images` swaps them back by content hash).
cargo build --quiet --release --workspace --examples --bins
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/runtime_phase"
"${CARGO_TARGET_DIR:-$ROOT/target}/release/assay" images --offline >/dev/null
now_ms() { date +%s%3N; }

run_assay() {
  local out
  out=$("$BIN" "$SUB" notes bench-pw notes 2>/dev/null | tail -1)
  case "$out" in
    *" ok=true") ;;
    *) echo "assay did not pass $(basename "$SUB"): $out" >&2 ;;
  esac
  echo "$out" | sed -n 's/^assay_ms=\([0-9]*\).*/\1/p'
}

run_compose() {
  local p="assaybench$$" t0 port nonce id got
  t0=$(now_ms)
  docker-compose -p "$p" -f "$SUB/compose.yaml" up -d >/dev/null 2>&1
  port=""
  for _ in $(seq 1 600); do
    port=$(docker-compose -p "$p" -f "$SUB/compose.yaml" port webapp 8080 2>/dev/null | sed 's/.*://') || true
    if [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"database":"ok"'; then break; fi
    sleep 0.2
  done
  nonce="bench-$RANDOM$RANDOM"
  id=$(curl -fsS -X POST --data "$nonce" "http://127.0.0.1:$port/notes" | sed 's/[^0-9]//g')
  got=$(curl -fsS "http://127.0.0.1:$port/notes/$id")
  [ "$got" = "$nonce" ] || { echo "compose round-trip failed" >&2; }
  docker-compose -p "$p" -f "$SUB/compose.yaml" exec -T db \
    psql -U notes -d notes -tAc "SELECT count(*) FROM notes WHERE body = '$nonce'" | grep -q '^1$' \
    || echo "compose psql did not find the nonce" >&2
  docker-compose -p "$p" -f "$SUB/compose.yaml" down -v >/dev/null 2>&1
  echo $(( $(now_ms) - t0 ))
}

run_floor() {
  local n="assaybenchfloor$$" t0 port
  t0=$(now_ms)
  docker network create --label dev.assay.managed=true "$n" >/dev/null
  docker run -d --label dev.assay.managed=true --name "$n-db" --network "$n" --network-alias db \
    -e POSTGRES_USER=notes -e POSTGRES_PASSWORD=bench-pw -e POSTGRES_DB=notes postgres:16 >/dev/null
  # The webapp retries for 5 s and exits; the floor restarts it until the db is up.
  docker run -d --label dev.assay.managed=true --name "$n-web" --network "$n" --restart on-failure \
    -p 127.0.0.1::8080 -e PGHOST=db -e PGUSER=notes -e PGPASSWORD=bench-pw -e PGDATABASE=notes \
    assay/sample-webapp:0.1.0 >/dev/null
  port=$(docker port "$n-web" 8080 | head -1 | sed 's/.*://')
  for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"database":"ok"'; then break; fi
    sleep 0.2
  done
  docker rm -f -v "$n-web" "$n-db" >/dev/null
  docker network rm "$n" >/dev/null
  echo $(( $(now_ms) - t0 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

bench() {
  SUB="$1"; local floor="$2" r ma mc mf
  echo "== $(basename "$SUB")"
  A=(); C=(); F=()
  for r in $(seq 1 "$ROUNDS"); do
    case $(( r % 3 )) in
      1) A+=("$(run_assay)"); C+=("$(run_compose)"); [ "$floor" = no ] || F+=("$(run_floor)") ;;
      2) C+=("$(run_compose)"); [ "$floor" = no ] || F+=("$(run_floor)"); A+=("$(run_assay)") ;;
      0) [ "$floor" = no ] || F+=("$(run_floor)"); A+=("$(run_assay)"); C+=("$(run_compose)") ;;
    esac
    echo "round $r: assay ${A[-1]:-failed} ms, docker-compose ${C[-1]} ms${F:+, floor ${F[-1]} ms}"
  done
  ma=$(printf '%s\n' "${A[@]}" | median); mc=$(printf '%s\n' "${C[@]}" | median)
  if [ "$floor" = no ]; then
    echo "median over $ROUNDS rounds: assay $ma ms, docker-compose $mc ms"
    awk -v a="$ma" -v c="$mc" 'BEGIN { printf "assay / docker-compose = %.2f (target <= 0.60)\n", a/c }'
    return
  fi
  mf=$(printf '%s\n' "${F[@]}" | median)
  echo "median over $ROUNDS rounds: assay $ma ms, docker-compose $mc ms, floor $mf ms"
  awk -v a="$ma" -v c="$mc" -v f="$mf" 'BEGIN {
    printf "assay / docker-compose = %.2f (target <= 0.60)\nassay / floor = %.2f (target <= 1.30)\n", a/c, a/f }'
  full=$("$BIN" "$SUB" notes bench-pw notes --all 2>/dev/null | sed -n 's/^assay_ms=\([0-9]*\).*/\1/p')
  echo "full default scenario set (cold start concurrent, persistence, scale): $full ms"
}

bench "$HERE/bench-submission" yes
bench "$HERE/bench-submission-binds" no
