#!/bin/sh
# Encode throughput: glassbox vs the `tiktoken` npm package (OpenAI's Rust tokenizer compiled
# to WASM) on the same >= 10 MB text, same vocabulary (r50k_base), one thread, in one run.
# Both sides time encode in-process (load time reported apart), best of $REPEATS runs, and
# must produce the same number of ids. Goal (issue 2): glassbox >= 1.5x tiktoken.
# Usage: bench/tokenizer/encode.sh     (env: BUILDDIR=build, REPEATS=3, VOCAB=r50k file)
set -eu
cd "$(dirname "$0")/../.."
BUILDDIR=${BUILDDIR:-build}
REPEATS=${REPEATS:-3}
VOCAB=${VOCAB:-data/vocab/gpt2/r50k_base.tiktoken}
MIN_BYTES=10000000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
say() { echo "bench/tokenizer/encode.sh: $*" >&2; }

command -v node >/dev/null 2>&1 || { say "node not found (Node 20 runs the peer)"; exit 1; }
if [ ! -d bench/tokenizer/node_modules/tiktoken ]; then
    (cd bench/tokenizer && npm ci --silent --no-audit --no-fund) || { say "npm ci failed"; exit 1; }
fi
[ -f "$BUILDDIR/libglassbox.a" ] || make --no-print-directory BUILDDIR="$BUILDDIR" lib >/dev/null
${CC:-cc} -std=c17 -D_GNU_SOURCE -O2 -Iinclude -o "$WORK/bench_encode" bench/tokenizer/bench_encode.c \
    "$BUILDDIR/libglassbox.a" -lcjson -lz -lm -fopenmp
if [ ! -f "$VOCAB" ]; then
    say "$VOCAB not found; writing r50k_base from the tiktoken package"
    VOCAB="$WORK/r50k_base.tiktoken"
    node bench/tokenizer/tiktoken_encode.mjs --write-ranks "$VOCAB"
fi

# the text: the bundled corpora and the golden test text, repeated up to >= 10 MB
TEXT="$WORK/text.txt"
: >"$TEXT"
while [ "$(wc -c <"$TEXT")" -lt "$MIN_BYTES" ]; do
    before=$(wc -c <"$TEXT")
    for f in data/corpora/*.gz; do [ -f "$f" ] && gzip -dc "$f" >>"$TEXT"; done
    [ -f tests/ref/gpt2/text.txt ] && cat tests/ref/gpt2/text.txt >>"$TEXT"
    [ "$(wc -c <"$TEXT")" -gt "$before" ] || { say "no text to benchmark on"; exit 1; }
done

PIN=
command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"
G=$(OMP_NUM_THREADS=1 $PIN "$WORK/bench_encode" "$VOCAB" "$TEXT" "$REPEATS")
T=$($PIN node bench/tokenizer/tiktoken_encode.mjs "$TEXT" "$REPEATS")
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "== tokenizer encode, r50k_base, one thread, $(field "$G" bytes) bytes, best of $REPEATS"
printf '  glassbox  %8s MB/s  (%s ids; encode %s s, load %s s)\n' \
    "$(field "$G" mb_s)" "$(field "$G" ids)" "$(field "$G" encode_s)" "$(field "$G" load_s)"
printf '  tiktoken  %8s MB/s  (%s ids; encode %s s, load %s s)  npm tiktoken %s (WASM)\n' \
    "$(field "$T" mb_s)" "$(field "$T" ids)" "$(field "$T" encode_s)" "$(field "$T" load_s)" \
    "$(node -p 'require("./bench/tokenizer/node_modules/tiktoken/package.json").version')"
awk -v g="$(field "$G" mb_s)" -v t="$(field "$T" mb_s)" \
    'BEGIN { r = g / t; printf "  ratio     %8.2fx  (goal >= 1.5x: %s)\n", r, (r >= 1.5 ? "met" : "NOT met") }'
if [ "$(field "$G" ids)" != "$(field "$T" ids)" ]; then
    say "glassbox made $(field "$G" ids) ids, tiktoken $(field "$T" ids): the encoders disagree"
    exit 1
fi
