#!/bin/sh
# Inference benchmark (issue 4): models made with `glassbox init` — llama ~110M (12 layers,
# d 768) and the TinyLlama-1.1B layout — each in F32, F16, Q8_0, Q4_0, Q4_K; prefill (pp512)
# and decode (tg128) tokens/s at 1 and 2 threads (the best of 5 repetitions, llama-bench's
# count), with the STREAM-style read bandwidth and the sgemm peak measured in the same run,
# before each file.
# Decode is reported as achieved GB/s (weight + KV bytes per token × tok/s) and its fraction of
# the read bandwidth of the same seconds (passes between slices of the run); prefill as
# GFLOP/s and its fraction of the sgemm peak. Then each model's peak RSS (one process per model) against
# file size + KV cache + 64 MiB: PASS or FAIL, and where the anonymous memory goes.
# The peer: llama.cpp (the prebuilt 3.22.1 of npm node-llama-cpp, through
# bench/infer/llamacpp.mjs) on the same files, thread counts, token counts and repetitions,
# and the ratios glassbox / llama.cpp of pp and tg tokens/s (> 1: glassbox is faster). Without
# node or the package (sh scripts/deps.sh bench) a line says the peer was skipped.
#   sh bench/infer/run.sh [--quick] [--skip-1b]     BUILDDIR=dir (default build)
#   MODELS=dir keeps the generated models (default: a temporary directory, removed)
#   THREADS=1,2 the thread counts (default 1,2); TYPES="q4_0 q4_k" a subset of the types;
#   REPS=n repetitions (default 5)
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
PP=512; TG=128; REPS=${REPS:-5}
[ $QUICK = 1 ] && PP=128 TG=32 REPS=1
THREADS=${THREADS:-1,2}

PEER=1
if ! command -v node >/dev/null 2>&1; then
  PEER=0; echo "== llama.cpp peer skipped: node is not on PATH (sh scripts/deps.sh bench)"
elif [ ! -f "${GB_NODE_LLAMA_CPP:-bench/quant/node_modules/node-llama-cpp}/dist/index.js" ]; then
  PEER=0; echo "== llama.cpp peer skipped: node-llama-cpp is not installed (sh scripts/deps.sh bench)"
fi

# llama.cpp's lines (llamacpp.mjs, stdin) joined with glassbox's (llm_bench, file $1) by
# thread count: llama.cpp's tok/s and the ratios glassbox / llama.cpp
compare() {
  awk -v gbf="$1" '
    BEGIN {
      while ((getline l < gbf) > 0) {
        n = split(l, f, " ")
        if (f[2] !~ /^[0-9]+T$/) continue
        t = f[2] + 0
        for (i = 1; i < n; i++) {
          if (f[i] ~ /^pp[0-9]+$/) gpp[t] = f[i + 1]
          if (f[i] ~ /^tg[0-9]+$/) gtg[t] = f[i + 1]
        }
      }
    }
    /^llamacpp / {
      split("", kv)
      for (i = 2; i <= NF; i++) { split($i, a, "="); kv[a[1]] = a[2] }
      t = kv["threads"] + 0
      fmt = "llama.cpp %dT | pp%d %8.1f tok/s  glassbox/llama.cpp %5.2f | tg%d %7.2f tok/s  glassbox/llama.cpp %5.2f"
      fmt = fmt " | llama.cpp: flash_attn %s, KV %s\n"
      rpp = kv["pp_tps"] > 0 ? gpp[t] / kv["pp_tps"] : 0
      rtg = kv["tg_tps"] > 0 ? gtg[t] / kv["tg_tps"] : 0
      printf fmt, t, kv["pp"], kv["pp_tps"], rpp, kv["tg"], kv["tg_tps"], rtg, kv["flash_attn"], kv["kv_type"]
    }'
}

# The machine's read bandwidth and sgemm peak, measured again before each file: the machine is
# shared, and its bandwidth moves by tens of percent within minutes. llm_bench also measures the
# read again just before each decode run and sets the run against it.
machine() {
  "$B/llm_bench" --machine --threads "$THREADS" | tee "$D/machine.txt"
  PK=$(awk '/STREAM/ {for (i=1;i<=NF;i++) if ($i=="GFLOP/s") printf "%s%s", s, $(i-1); s=","}' "$D/machine.txt")
}

models="110m"
[ $SKIP1B = 1 ] || models="110m 1.1b"
for p in $models; do
  echo "== llama $p: glassbox init --arch llama --preset $p"
  [ -f "$D/$p-f32.gguf" ] || "$GB" init --arch llama --preset "$p" --out "$D/$p-f32.gguf" >/dev/null
  for t in ${TYPES:-f32 f16 q8_0 q4_0 q4_k}; do
    f="$D/$p-$t.gguf"
    [ $t = f32 ] || [ -f "$f" ] || "$GB" quantize "$D/$p-f32.gguf" "$f" --type $t >/dev/null
    machine
    "$B/llm_bench" "$f" --threads "$THREADS" --pp $PP --tg $TG --reps $REPS --peak "$PK" | tee "$D/gb.txt"
    if [ $PEER = 1 ]; then
      if node bench/infer/llamacpp.mjs bench "$f" --threads "$THREADS" --pp $PP --tg $TG --reps $REPS \
           >"$D/ll.txt" 2>"$D/ll.err"; then
        compare "$D/gb.txt" <"$D/ll.txt"
      else
        echo "llama.cpp failed on $(basename "$f"): $(tail -n 1 "$D/ll.err")"
      fi
    fi
    [ $t = f32 ] || [ -n "${MODELS:-}" ] || rm -f "$f"
  done
  [ -n "${MODELS:-}" ] || rm -f "$D/$p-f32.gguf"
done
