#!/bin/sh
# Inference benchmark (issue 4): models made with `glassbox init` — llama ~110M (12 layers,
# d 768) and the TinyLlama-1.1B layout — each in F32, F16, Q8_0, Q4_0, Q4_K; prefill (pp512)
# and decode (tg128) tokens/s at 1 and 2 threads, with the STREAM-style read bandwidth and the
# sgemm peak measured in the same run. Decode is reported as achieved GB/s (weight + KV bytes
# per token × tok/s) and its fraction of the read bandwidth; prefill as GFLOP/s and its
# fraction of the sgemm peak.
#   sh bench/infer/run.sh [--quick] [--skip-1b]     BUILDDIR=dir (default build)
#   MODELS=dir keeps the generated models (default: a temporary directory, removed)
set -eu
cd "$(dirname "$0")/../.."
BUILDDIR=${BUILDDIR:-build}
B=$BUILDDIR/bench
GB=$BUILDDIR/glassbox
CC=${CC:-gcc}
QUICK=0; SKIP1B=0
for a in "$@"; do
  case $a in --quick) QUICK=1 ;; --skip-1b) SKIP1B=1 ;; *) echo "usage: $0 [--quick] [--skip-1b]" >&2; exit 2 ;; esac
done
make --no-print-directory BUILDDIR="$BUILDDIR" all >/dev/null
mkdir -p "$B"
$CC -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror -O2 -g \
    -fopenmp -Iinclude -Isrc bench/infer/llm_bench.c "$BUILDDIR/libglassbox.a" -lcjson -lz -lm -fopenmp -o "$B/llm_bench"
if [ -n "${MODELS:-}" ]; then D=$MODELS; mkdir -p "$D"; else D=$(mktemp -d); trap 'rm -rf "$D"' EXIT; fi
PP=512; TG=128; REPS=2
[ $QUICK = 1 ] && PP=128 TG=32 REPS=1

echo "== machine"
"$B/llm_bench" --machine --threads 1,2 | tee "$D/machine.txt"
BW=$(awk '/STREAM/ {for (i=1;i<=NF;i++) if ($i=="GB/s,") printf "%s%s", s, $(i-1); s=","}' "$D/machine.txt")
PK=$(awk '/STREAM/ {for (i=1;i<=NF;i++) if ($i=="GFLOP/s") printf "%s%s", s, $(i-1); s=","}' "$D/machine.txt")

models="110m"
[ $SKIP1B = 1 ] || models="110m 1.1b"
for p in $models; do
  echo "== llama $p: glassbox init --arch llama --preset $p"
  [ -f "$D/$p-f32.gguf" ] || "$GB" init --arch llama --preset "$p" --out "$D/$p-f32.gguf" >/dev/null
  for t in f32 f16 q8_0 q4_0 q4_k; do
    f="$D/$p-$t.gguf"
    [ $t = f32 ] || [ -f "$f" ] || "$GB" quantize "$D/$p-f32.gguf" "$f" --type $t >/dev/null
    "$B/llm_bench" "$f" --threads 1,2 --pp $PP --tg $TG --reps $REPS --bw "$BW" --peak "$PK"
    [ $t = f32 ] || [ -n "${MODELS:-}" ] || rm -f "$f"
  done
  [ -n "${MODELS:-}" ] || rm -f "$D/$p-f32.gguf"
done
