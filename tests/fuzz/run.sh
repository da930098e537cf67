#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, address + undefined sanitizers) and runs each for a fixed
# time over its committed seed corpus. Ends with `fuzz: N passed, N failed` (one per target).
# usage: tests/fuzz/run.sh [-t SECONDS] [-o BUILD_DIR] [--build-only]
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SECONDS_PER_TARGET=60
OUT="$REPO/build-fuzz"
BUILD_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
    -t) SECONDS_PER_TARGET="$2"; shift 2 ;;
    -o) OUT="$2"; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    *) echo "usage: tests/fuzz/run.sh [-t SECONDS] [-o BUILD_DIR] [--build-only]" >&2; exit 2 ;;
    esac
done

CC="${FUZZ_CC:-clang}"
# clang warns on `{NULL}` table terminators, which gcc (the project compiler) accepts.
CFLAGS=(-std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers
    -I "$REPO/common"
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
# shellcheck disable=SC2207 # pkg-config output is a list of flags
JANSSON=($(pkg-config --cflags --libs jansson))
C="$REPO/common"
# Only pure code goes into a target: no libpq, no libmicrohttpd, no threads.
DOMAIN=("$C/err.c" "$C/timefmt.c" "$C/xalloc.c" "$C/domain/names.c" "$C/domain/order.c"
    "$C/domain/account.c" "$C/domain/decide.c")
CODEC=("$C/json_text.c" "$C/codec/validate.c" "$C/codec/command_codec.c" "$C/codec/event_codec.c"
    "$C/codec/view_codec.c" "$C/codec/render.c" "$C/codec/scan.c" "$C/http/problem.c")
declare -A SOURCES=(
    [command]="${DOMAIN[*]} ${CODEC[*]}"
    [router]="$C/http/router.c $C/xalloc.c"
)
TARGETS=(command router)

mkdir -p "$OUT"
passed=0
failed=0
for t in "${TARGETS[@]}"; do
    # shellcheck disable=SC2086 # SOURCES holds a list of paths without spaces
    if ! "$CC" "${CFLAGS[@]}" -o "$OUT/fuzz_$t" "$HERE/fuzz_$t.c" ${SOURCES[$t]} "${JANSSON[@]}"; then
        echo "fuzz: fuzz_$t did not build" >&2
        failed=$((failed + 1))
        continue
    fi
    [ "$BUILD_ONLY" -eq 1 ] && { passed=$((passed + 1)); continue; }
    # New inputs go to a scratch dir so a run never rewrites the committed corpus; a crash
    # leaves its input in $OUT (add it to corpus/$t once fixed).
    scratch="$(mktemp -d)"
    echo "==> fuzz_$t for ${SECONDS_PER_TARGET}s" >&2
    if "$OUT/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$OUT/crash-$t-" "$scratch" "$HERE/corpus/$t" \
        >"$OUT/fuzz_$t.log" 2>&1; then
        tail -n 12 "$OUT/fuzz_$t.log" | grep -E '^(stat::number_of_executed_units|Done)' >&2
        passed=$((passed + 1))
    else
        tail -n 60 "$OUT/fuzz_$t.log" >&2
        echo "fuzz: fuzz_$t failed; the input is in $OUT/crash-$t-*" >&2
        failed=$((failed + 1))
    fi
    rm -rf "$scratch"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
