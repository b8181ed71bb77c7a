#!/bin/sh
# Builds and runs the GEMM benchmark: FMA peak, glassbox vs OpenBLAS cblas_sgemm, 1 and 2
# threads. Compiles the GEMM sources directly (the same flags as the Makefile, plain -O2:
# SIMD comes from target attributes), so it does not need the rest of the library to build.
#   sh bench/gemm/run.sh [--quick] [--threads N]      BUILDDIR=dir (default build)
# Needs Debian's libopenblas-dev (scripts/deps.sh installs it).
set -eu
cd "$(dirname "$0")/../.."
B=${BUILDDIR:-build}/bench
mkdir -p "$B"
CC=${CC:-gcc}
$CC -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Werror -O2 -g -fopenmp -Iinclude -Isrc \
    bench/gemm/gemm_bench.c src/core/gemm.c src/core/gemm_avx2.c src/core/gemm_avx512.c \
    src/core/sys.c src/core/mem.c src/core/error.c \
    -lopenblas -lm -fopenmp -o "$B/gemm_bench"
exec "$B/gemm_bench" "$@"
