#!/bin/sh
# Training-step benchmark: glassbox vs PyTorch (Debian python3-torch, fp32) on the same
# config, the same tokens, the same B, T and thread count, AdamW; one run prints tokens/s
# of both, the ratio, peak RSS of both and glassbox's GFLOP/s against the machine's peak.
#   sh bench/train/run.sh [--quick] [--threads N] [--steps S]     BUILDDIR=dir (default build)
# --quick: only the ~10M config. Each side runs in its own process (RSS = its own peak).
set -eu
cd "$(dirname "$0")/../.."
BUILDDIR=${BUILDDIR:-build}
PY=${PYTHON:-/usr/bin/python3}
THREADS=$(nproc)
STEPS=5
QUICK=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --threads) THREADS=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    *) echo "usage: $0 [--quick] [--threads N] [--steps S]" >&2; exit 2 ;;
    esac
    shift
done
make --no-print-directory -s BUILDDIR="$BUILDDIR" lib
B="$BUILDDIR/bench"
mkdir -p "$B"
${CC:-gcc} -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
    -Wmissing-prototypes -Werror -O2 -g -fopenmp -Iinclude -Isrc \
    bench/train/train_bench.c "$BUILDDIR/libglassbox.a" -lcjson -lz -lm -fopenmp \
    -o "$B/train_bench"

# OpenBLAS (under PyTorch) picks its kernel from CPUID; where it falls back to a weak core
# on an AVX2/AVX-512 CPU, name the right one (OPENBLAS_CORETYPE), as bench/gemm does.
CORE=$($PY -c 'import ctypes, torch
l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p
print(l.openblas_get_corename().decode())' 2>/dev/null || echo unknown)
case $CORE in
Prescott|Katmai|Coppermine|Northwood|Core2|Penryn|Dunnington|Nehalem|Atom|Barcelona|Unknown)
    if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -q avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi ;;
esac
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, using $THREADS threads"
echo "pytorch: $($PY -c 'import torch; print(torch.__version__)'), OpenBLAS core $CORE${OPENBLAS_CORETYPE:+ -> OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}"

get() { sed -n "s/^$1=//p" "$2"; }

# The peak is measured before and after the training runs and the higher kept: on a shared
# machine a burst of load elsewhere lowers a measurement, never raises it.
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
measure_peak() {
    "$B/train_bench" peak --threads "$THREADS" > "$B/peak.txt"
    FMA=$(max "${FMA:-0}" "$(get fma_peak_gflops "$B/peak.txt")")
    SGEMM=$(max "${SGEMM:-0}" "$(get sgemm_gflops "$B/peak.txt")")
}
measure_peak

run_cfg() { # preset B T
    toks="$B/tokens_$1_$2_$3.bin"
    $PY -c "import numpy as np, sys
n = $2 * $3 + 1
np.random.default_rng(1234).integers(0, 50257, n, dtype='<i4').tofile(sys.argv[1])" "$toks"
    "$B/train_bench" train --preset "$1" --batch "$2" --seq "$3" --steps "$STEPS" \
        --threads "$THREADS" --tokens "$toks" > "$B/gb.txt" 2> "$B/gb.log"
    $PY bench/train/torch_train.py --preset "$1" --batch "$2" --seq "$3" --steps "$STEPS" \
        --threads "$THREADS" --tokens "$toks" > "$B/pt.txt" 2> "$B/pt.log"
    gt=$(get tok_s_best "$B/gb.txt"); pt=$(get tok_s_best "$B/pt.txt")
    gr=$(get peak_rss_mib "$B/gb.txt"); pr=$(get peak_rss_mib "$B/pt.txt")
    fpt=$(get flops_per_token "$B/gb.txt")
    echo "ROW $1 $2 $3 $gt $pt $gr $pr $fpt"
    echo "    median tok/s: glassbox $(get tok_s_median "$B/gb.txt"), pytorch $(get tok_s_median "$B/pt.txt");" \
        "loss first/last: glassbox $(get loss_first "$B/gb.txt")/$(get loss_last "$B/gb.txt")," \
        "pytorch $(get loss_first "$B/pt.txt")/$(get loss_last "$B/pt.txt")"
    echo "    glassbox best phase times (s) zero,fwd,bwd,clip,adamw: $(get best_s_zero_fwd_bwd_clip_adamw "$B/gb.txt")"
}

run_cfg gpt2-10m 16 256 > "$B/rows.txt"
[ "$QUICK" = 1 ] || run_cfg gpt2-124m 4 256 >> "$B/rows.txt"
measure_peak
echo "peak: FMA loop $FMA GFLOP/s, glassbox sgemm 2048^3 ($(get sgemm_kernel "$B/peak.txt")) $SGEMM GFLOP/s" \
    "(best of before and after the runs)"
echo "FLOPs/token = 6*N_mm + 6*L*C*(T+1)   (N_mm: matrix parameters, LM head once; causal attention)"
echo
printf '%-10s %3s %4s | %10s %10s %6s | %9s %9s | %7s %6s %6s\n' config B T "gb tok/s" "pt tok/s" ratio \
    "gb RSS" "pt RSS" "GF/s" "%fma" "%sgemm"
while read -r line; do
    case $line in
    ROW*) set -- $line
        awk -v c="$2" -v b="$3" -v t="$4" -v gt="$5" -v pt="$6" -v gr="$7" -v pr="$8" -v f="$9" \
            -v fma="$FMA" -v sg="$SGEMM" 'BEGIN { gf = gt * f / 1e9
            printf "%-10s %3d %4d | %10.1f %10.1f %6.2f | %5.0f MiB %5.0f MiB | %7.1f %5.1f%% %5.1f%%\n",
                c, b, t, gt, pt, gt / pt, gr, pr, gf, 100 * gf / fma, 100 * gf / sg }' ;;
    *) echo "$line" ;;
    esac
done < "$B/rows.txt"
echo "(tok/s from the best of $STEPS timed steps after 2 warm-up steps; RSS = each process's peak)"
