#!/bin/sh
# Builds and runs the quantized matvec benchmark (GB/s per type at 1 and 2 threads against a
# STREAM-style read of the same machine, and against ggml's kernels when `npm install` has
# been run here). Compiles the quant sources directly with the Makefile's flags (plain -O2:
# SIMD comes from target attributes).
#   sh bench/quant/run.sh [--threads N] [--reps N] [--mib N]      BUILDDIR=dir (default build)
set -eu
cd "$(dirname "$0")/../.."
B=${BUILDDIR:-build}/bench
mkdir -p "$B"
CC=${CC:-gcc}
[ -d bench/quant/node_modules ] || (cd bench/quant && npm install --no-audit --no-fund >/dev/null 2>&1) || true
$CC -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Werror -O2 -g -fopenmp -Iinclude -Isrc \
    bench/quant/quant_bench.c src/core/quant.c src/core/quant_avx2.c src/core/quant_avx512.c src/core/quant_gemm.c src/core/quant_gemm_avx2.c src/core/quant_gemm_amx.c src/formats/gguf.c \
    src/core/sys.c src/core/mem.c src/core/error.c src/core/fileio.c src/core/rng.c \
    -lz -lm -ldl -fopenmp -o "$B/quant_bench"
exec "$B/quant_bench" "$@"
