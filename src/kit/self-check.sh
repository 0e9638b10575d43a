#!/bin/sh
# self-check.sh: looks at your take-home folder the way the grader will read it, before you
# zip it. Run it from anywhere:   sh self-check.sh   (or: sh path/to/self-check.sh)
# It reads files only; with Docker installed it also asks `docker compose config` whether your
# compose file is valid. Exit status: 0 nothing to fix, 1 something to fix.

cd "$(dirname "$0")" || exit 2
MIN_WORDS=@MIN_WORDS@
PG_TAGS="@PG_TAGS@"
problems=0
say() { printf '%s\n' "$*"; }
ok() { say "  ok       $*"; }
note() { say "  note     $*"; }
bad() { say "  PROBLEM  $*"; problems=$((problems + 1)); }

say "Checking $(pwd)"

# 1. The orchestration file: in this folder, or one folder down (the grader looks there too).
compose=""
for name in compose.yaml compose.yml docker-compose.yml docker-compose.yaml; do
    if [ -f "$name" ]; then compose=$name; break; fi
done
if [ -z "$compose" ]; then
    for name in compose.yaml compose.yml docker-compose.yml docker-compose.yaml; do
        for f in */"$name"; do
            if [ -f "$f" ]; then compose=$f; break 2; fi
        done
    done
fi
if [ -z "$compose" ]; then
    note "no compose file here or one folder down: your Q1 answer must then be an essay of at least $MIN_WORDS words"
else
    ok "orchestration file: $compose"
    dir=$(dirname "$compose")

    # 2. The webapp: built from the handout folder, or the image its README builds.
    if grep -Eq '^[[:space:]]*(build:|context:|image:).*sample-webapp' "$compose"; then
        ok "the compose file builds sample-webapp or uses its image"
    else
        bad "$compose neither builds the sample-webapp folder nor uses \`image: sample-webapp\`"
    fi
    if [ ! -f sample-webapp/Dockerfile ]; then
        bad "sample-webapp/ is missing or incomplete: keep the handout's folder in your submission"
    fi

    # 3. Variables: the grader has no shell environment of yours, only the .env beside the file.
    vars=$(grep -v '^[[:space:]]*#' "$compose" | grep -o '\${[A-Za-z_][A-Za-z0-9_]*[^}]*}' | sort -u)
    for use in $vars; do
        name=$(printf '%s' "$use" | sed 's/^\${\([A-Za-z0-9_]*\).*/\1/')
        case "$use" in
            *:-* | *-*) continue ;; # has a default
        esac
        [ "$name" = PWD ] && continue # read as the compose file's folder
        if [ -f "$dir/.env" ] && grep -Eq "^[[:space:]]*(export[[:space:]]+)?$name=" "$dir/.env"; then
            :
        else
            bad "\${$name} is used in $compose but not set in $dir/.env: it would be blank when graded"
        fi
    done
    [ -f "$dir/.env" ] && ok "$dir/.env is included (it is read when your stack is graded)"

    # 4. Images: the grading machine is offline.
    images=$(grep -E '^[[:space:]]*image:' "$compose" | sed 's/^[[:space:]]*image:[[:space:]]*//; s/["'\'']//g; s/[[:space:]]*#.*//' |
    while read -r image; do
        case "$image" in
            *sample-webapp*) ;;
            postgres:* | library/postgres:* | docker.io/library/postgres:*)
                tag=${image##*:}
                case " $PG_TAGS " in
                    *" $tag "*) say "  ok       image $image is available offline" ;;
                    *) say "  PROBLEM  image $image: the grader runs postgres with one of these tags: $PG_TAGS" ;;
                esac ;;
            postgres | library/postgres | docker.io/library/postgres)
                say "  note     image $image has no tag: pin one (postgres:16)" ;;
            *) say "  note     image $image: the grading machine is offline and has only postgres and the webapp" ;;
        esac
    done)
    [ -n "$images" ] && say "$images"
    case "$images" in *PROBLEM*) problems=$((problems + 1)) ;; esac

    # 5. Valid as Docker Compose reads it (when Docker is here).
    if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        if (cd "$dir" && docker compose -f "$(basename "$compose")" config --quiet); then
            ok "docker compose config accepts $compose"
        else
            bad "docker compose config rejects $compose (see above)"
        fi
    else
        note "docker compose is not installed here: its own validation was skipped"
    fi
fi

# 6. Answers and their length (wc-style counts; the grader's count differs by a few words).
answers=$(ls ANSWERS.md answers.md q[1-5].md Q[1-5].md 2>/dev/null)
if [ -z "$answers" ]; then
    bad "no ANSWERS.md (one \`## Q1\` … heading per question) and no q1.md … q5.md"
else
    counts=$(for f in $answers; do
        awk -v min="$MIN_WORDS" -v file="$f" '
            function report() {
                if (label == "") return
                flag = (words < min) ? "PROBLEM " : "ok      "
                printf "  %s %s %s: %d words (at least %d)\n", flag, file, label, words, min
            }
            /^#+[[:space:]]*[Qq](uestion)?[[:space:]]*[1-5]/ { report(); label = $0; sub(/^#+[[:space:]]*/, "", label); words = 0; next }
            { if (label == "") { label = "(whole file)" } words += NF }
            END { report() }
        ' "$f"
    done)
    say "$counts"
    case "$counts" in *PROBLEM*) problems=$((problems + 1)) ;; esac
fi

if [ "$problems" -gt 0 ]; then
    say "$problems thing(s) to fix before you send."
    exit 1
fi
say "Nothing to fix. Zip this folder (from its parent: zip -r submission.zip $(basename "$(pwd)"))."
exit 0
