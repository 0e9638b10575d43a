#!/usr/bin/env bash
# How fast `assay logs count` counts one endpoint in a big nginx access log, side by side with
# what an interviewer would compare it to, in one run:
#   wc -l (the floor: reading the bytes and finding newlines), assay (all cores, then one),
#   a careful awk one-liner (LC_ALL=C, drops 10/8, bot markers and query strings), GoAccess.
# Each row: wall time, MB/s, CPU time, peak RSS (GNU time -v) and the count it printed, next to
# the generator's answer key. Every run reads the log from the page cache (it is read once
# before the runs). Targets (issue 16): assay >= 5x the awk one-liner and >= 1 GB/s.
#
# Usage (from anywhere in a clone):
#   crates/assay-logs/benches/count_speed.sh [SIZE_MB]        # default 1024 (a ~1 GB log)
# Environment:
#   ASSAY_BIN=path   time `ASSAY_BIN logs …` (an assay binary); without it, the crate's own
#                    example `logs` (the same `assay logs` code, without the rest of assay) is
#                    built with `cargo build --release -p assay-logs --example logs`
#   BENCH_DIR=dir    keep the generated log there (reused when it exists with the same size)
#   BENCH_GZIP=1     also count a gzipped copy (assay vs zcat | wc -l)
#   RUNS=n           runs per row, the fastest is shown (default 2)
#   GOACCESS=0       skip the GoAccess row (it takes minutes per GB, and over 1 GiB of memory)
# GNU time and GoAccess are installed with apt-get when missing and possible; otherwise the RSS
# column or the GoAccess row says it was skipped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
size_mb=${1:-1024}
runs=${RUNS:-2}
own=10.0.0.0/8

# Arithmetic with awk, which every system has (bc is not always installed).
calc() { awk "BEGIN { print $* }"; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { as_root apt-get update -qq >/dev/null 2>&1 &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

if [ -n "${ASSAY_BIN:-}" ]; then
    [ -x "$ASSAY_BIN" ] || { echo "no assay binary at $ASSAY_BIN" >&2; exit 2; }
    logs=("$ASSAY_BIN" logs)
else
    echo "building assay logs (release, example of the assay-logs crate)..." >&2
    (cd "$root" && cargo build --release --quiet -p assay-logs --example logs)
    logs=("${CARGO_TARGET_DIR:-$root/target}/release/examples/logs")
    [ -x "${logs[0]}" ] || { echo "no binary at ${logs[0]}" >&2; exit 2; }
fi

timer=/usr/bin/time
if ! "$timer" -f %M true >/dev/null 2>&1; then
    apt_install time || true
fi
"$timer" -f %M true >/dev/null 2>&1 || timer=""
[ -n "$timer" ] || echo "GNU time is missing and cannot be installed: no RSS column" >&2

if [ "${GOACCESS:-1}" != 0 ] && ! command -v goaccess >/dev/null 2>&1; then
    echo "installing GoAccess..." >&2
    apt_install goaccess || echo "GoAccess is not installed and cannot be installed: its row is skipped" >&2
fi

if [ -n "${BENCH_DIR:-}" ]; then
    dir=$BENCH_DIR
    mkdir -p "$dir"
else
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
fi
log=$dir/access.log
key=$log.answer.json

# Size the log from a sample of the generator's mean line length.
"${logs[@]}" generate --out "$dir/sample.log" --lines 200000 --seed 1 --own $own >/dev/null
mean=$(($(stat -c %s "$dir/sample.log") / 200000))
rm -f "$dir/sample.log" "$dir/sample.log.answer.json"
lines=$((size_mb * 1024 * 1024 / mean))
if [ -s "$key" ] && grep -q "\"lines\": $lines," "$key"; then
    echo "reusing $log" >&2
else
    echo "generating $lines lines (~$size_mb MiB)..." >&2
    "${logs[@]}" generate --out "$log" --lines "$lines" --seed 1 --own $own >/dev/null
fi
bytes=$(stat -c %s "$log")
answer=$(sed -n 's/^  "matched": \([0-9]*\),*$/\1/p' "$key")
cat "$log" >/dev/null # into the page cache

awk_bin=$(command -v awk)
awk_name=$(basename "$(readlink -f "$awk_bin")")
# The careful one-liner: split on quotes, drop own servers (10/8, also IPv4-mapped) and bot
# markers, keep GET, cut the query string/fragment and one trailing slash.
awk_prog='{split($1,a," ")} a[1]~/^(::ffff:)?10\./{next} tolower($6)~/bot|crawl|spider|slurp|facebookexternalhit|headless/{next} {split($2,r," "); if(r[1]!="GET")next; p=r[2]; sub(/[?#].*/,"",p); sub(/\/$/,"",p); if(p=="/api/notes")n++} END{print n+0}'

printf '\n%s: %d lines, %.1f MiB, %d cores; answer key: %s requests to GET /api/notes\n\n' \
    "$log" "$lines" "$(calc "$bytes / 1048576")" "$(nproc)" "$answer"
# The host is often shared: its load says how much the wall times can be trusted; CPU seconds
# (user + sys) are the fairer comparison then.
printf 'host load before the runs: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %9s %9s %9s %9s %10s  %s\n' tool "wall s" "MB/s" "CPU s" "MB/CPU-s" "peak RSS" "count"
printf '%-34s %9s %9s %9s %9s %10s  %s\n' ---- ------ ---- ----- -------- -------- -----

declare -A wall_of cpu_of
# row NAME INPUT_BYTES COUNT_FILTER -- COMMAND...: run RUNS times (ROW_RUNS for this row when
# set), show the fastest.
row() {
    local name=$1 in_bytes=$2 filter=$3
    shift 4
    local best="" best_rss="" best_cpu="" out=""
    for _ in $(seq "${ROW_RUNS:-$runs}"); do
        local t0 t1 wall rss cpu
        t0=$(date +%s.%N)
        if [ -n "$timer" ]; then
            "$timer" -f '%M %U %S' -o "$dir/time.txt" "$@" >"$dir/out.txt" 2>"$dir/err.txt" || true
        else
            "$@" >"$dir/out.txt" 2>"$dir/err.txt" || true
        fi
        t1=$(date +%s.%N)
        wall=$(calc "$t1 - $t0")
        if [ -n "$timer" ]; then
            read -r rss u s < <(tail -n 1 "$dir/time.txt")
            cpu=$(calc "$u + $s")
            rss=$(printf '%.1f MiB' "$(calc "$rss / 1024")")
        else
            rss="-" cpu="-"
        fi
        if [ -z "$best" ] || [ "$(calc "$wall < $best")" = 1 ]; then
            best=$wall best_rss=$rss best_cpu=$cpu
            out=$(eval "$filter" <"$dir/out.txt" | head -c 60)
        fi
    done
    wall_of[$name]=$best
    cpu_of[$name]=$best_cpu
    # MB per CPU second (user + sys): what a loaded host still measures fairly.
    local per_cpu=-
    if [ "$best_cpu" != - ] && [ "$(calc "($best_cpu > 0)")" = 1 ]; then
        per_cpu=$(printf '%.0f' "$(calc "$in_bytes / 1000000 / $best_cpu")")
    fi
    printf '%-34s %9.2f %9.0f %9s %9s %10s  %s\n' "$name" "$best" \
        "$(calc "$in_bytes / 1000000 / $best")" "$best_cpu" "$per_cpu" "$best_rss" "$out"
}

row "wc -l (floor)" "$bytes" "awk '{print \$1 \" lines\"}'" -- wc -l "$log"
row "assay logs count (all cores)" "$bytes" "head -n 1" -- "${logs[@]}" count "$log" --own $own
row "assay logs count (1 core)" "$bytes" "head -n 1" -- env RAYON_NUM_THREADS=1 "${logs[@]}" count "$log" --own $own
row "awk one-liner ($awk_name)" "$bytes" cat -- env LC_ALL=C "$awk_bin" -F'"' "$awk_prog" "$log"
if command -v gawk >/dev/null 2>&1 && [ "$awk_name" != gawk ]; then
    row "awk one-liner (gawk)" "$bytes" cat -- env LC_ALL=C gawk -F'"' "$awk_prog" "$log"
fi
if [ "${GOACCESS:-1}" = 0 ]; then
    printf '%-34s  skipped (GOACCESS=0)\n' "GoAccess (full report)"
elif command -v goaccess >/dev/null 2>&1; then
    # Ten times slower than the rest: once is enough.
    ROW_RUNS=1 row "GoAccess (full report)" "$bytes" "printf 'n/a (report)'" -- \
        goaccess "$log" --log-format=COMBINED --no-global-config --no-progress -o "$dir/goaccess.json"
fi
if [ "${BENCH_GZIP:-}" = 1 ]; then
    [ -s "$log.gz" ] || gzip -1 -c "$log" >"$log.gz"
    row "zcat | wc -l (gzip floor)" "$bytes" "awk '{print \$1 \" lines\"}'" -- sh -c "zcat '$log.gz' | wc -l"
    row "assay logs count access.log.gz" "$bytes" "head -n 1" -- "${logs[@]}" count "$log.gz" --own $own
fi

a=${wall_of["assay logs count (all cores)"]}
w=${wall_of["awk one-liner ($awk_name)"]}
printf '\nhost load after the runs: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'assay: %.2f GB/s from the page cache (target >= 1); %.1fx the %s one-liner (target >= 5)\n' \
    "$(calc "$bytes / 1000000000 / $a")" "$(calc "$w / $a")" "$awk_name"
if [ -n "$timer" ]; then
    ac=${cpu_of["assay logs count (all cores)"]}
    a1=${cpu_of["assay logs count (1 core)"]}
    wc=${cpu_of["awk one-liner ($awk_name)"]}
    printf 'per CPU second: assay %.0f MB (one core: %.0f MB), %s %.0f MB; on an idle host with %d cores: ~%.1fx %s\n' \
        "$(calc "$bytes / 1000000 / $ac")" "$(calc "$bytes / 1000000 / $a1")" "$awk_name" \
        "$(calc "$bytes / 1000000 / $wc")" "$(nproc)" "$(calc "$wc / $a1 * $(nproc)")" "$awk_name"
    # Parallel efficiency: counting on all cores should cost little more CPU than on one.
    printf 'all cores vs one: %.2fx the CPU seconds\n' "$(calc "$ac / $a1")"
fi
