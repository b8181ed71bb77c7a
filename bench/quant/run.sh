#!/bin/sh
# Builds and runs the quantized matvec benchmark (GB/s per type at 1 and 2 threads against a
# STREAM-style read of the same machine, for the file's layout and the 8-row interleaved one
# the model loader uses, and against ggml's kernels when `npm install` has been run here).
#   sh bench/quant/run.sh [--threads N] [--reps N] [--mib N] [--isa …]   BUILDDIR=dir (default build)
set -eu
cd "$(dirname "$0")/../.."
BUILDDIR=${BUILDDIR:-build}
B=$BUILDDIR/bench
mkdir -p "$B"
CC=${CC:-gcc}
[ -d bench/quant/node_modules ] || (cd bench/quant && npm install --no-audit --no-fund >/dev/null 2>&1) || true
make --no-print-directory BUILDDIR="$BUILDDIR" lib >/dev/null
$CC -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Werror -O2 -g -fopenmp -Iinclude -Isrc bench/quant/quant_bench.c "$BUILDDIR/libglassbox.a" \
    -lcjson -lz -lm -ldl -fopenmp -o "$B/quant_bench"
exec "$B/quant_bench" "$@"
