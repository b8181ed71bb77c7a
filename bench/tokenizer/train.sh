#!/bin/sh
# BPE training time on the bundled King James Bible, one thread: vocab 8192 and 32768.
# Goal (issue 2): vocab 8192 in <= 10 s on one core, reading and pre-tokenizing included.
# Usage: bench/tokenizer/train.sh [glassbox binary]   (default ./glassbox; run from anywhere)
set -e
cd "$(dirname "$0")/../.."
GB=${1:-${GB_BIN:-./glassbox}}
CORPUS=data/corpora/kjv.txt.gz
[ -x "$GB" ] || { echo "bench/tokenizer/train.sh: $GB not found; run 'make' first" >&2; exit 1; }
[ -f "$CORPUS" ] || { echo "bench/tokenizer/train.sh: $CORPUS not found" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM

now() { date +%s.%N; }
# one core really: pin to CPU 0 when taskset is there (training is single-threaded anyway)
PIN=
command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"

echo "== BPE training on $CORPUS ($(gzip -dc "$CORPUS" | wc -c) bytes), --threads 1"
for v in 8192 32768; do
    t0=$(now)
    json=$($PIN "$GB" tokenizer train --vocab-size "$v" --input "$CORPUS" --output "$OUT/tok$v.json" \
        --threads 1 --quiet --json)
    t1=$(now)
    # fields of the one-line JSON summary
    field() { printf '%s\n' "$json" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    printf 'vocab %-6s %6s s wall (%s s inside)  vocab reached %s, %s merges, %.4f tokens/byte%s\n' \
        "$v" "$secs" "$(awk -v s="$(field seconds)" 'BEGIN { printf "%.2f", s }')" \
        "$(field vocab_size)" "$(field merges)" "$(field tokens_per_byte)" \
        "$([ "$(field stopped_early)" = true ] && echo ', stopped early: no pair occurs twice')"
    if [ "$v" = 8192 ]; then
        if awk -v s="$secs" 'BEGIN { exit !(s <= 10) }'; then
            echo "  goal: vocab 8192 in <= 10 s on one core: met"
        else
            echo "  goal: vocab 8192 in <= 10 s on one core: NOT met"
        fi
    fi
done
