/* glassbox benchmarks — the STREAM-style read both inference benchmarks measure the machine's
 * memory bandwidth with (bench/quant/quant_bench.c, bench/infer/llm_bench.c): nt threads each
 * summing its share of a buffer with AVX2 loads, four independent accumulators. Header-only
 * (static functions), included by path from each benchmark. */
#ifndef GLASSBOX_BENCH_STREAM_READ_H
#define GLASSBOX_BENCH_STREAM_READ_H

#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>

#include "glassbox/sys.h"

static volatile float stream_read_sink;

/* Sum of every float of buf (n floats, a multiple of 32) read with AVX2 loads. */
__attribute__((target("avx2"))) static float read_sum(const float *buf, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(buf + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(buf + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(buf + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(buf + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

/* A buffer of about `bytes` (*n floats, a multiple of 1024), written by the nt threads that
 * will read it (first touch); NULL if it cannot be had. */
static float *read_buffer(int nt, size_t bytes, int64_t *n) {
    *n = (int64_t)(bytes / sizeof(float)) / 1024 * 1024;
    float *buf = aligned_alloc(64, (size_t)*n * sizeof(float));
    if (!buf) return NULL;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < *n; i++) buf[i] = 1.0f;
    return buf;
}

/* One pass of nt threads each summing its share of buf: GB/s. */
static double read_pass(const float *buf, int64_t n, int nt) {
    const double t0 = gb_time_now();
    float s = 0;
#pragma omp parallel num_threads(nt) reduction(+ : s)
    {
        const int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
        const int64_t i0 = n * ith / nth / 32 * 32, i1 = n * (ith + 1) / nth / 32 * 32;
        s += read_sum(buf + i0, i1 - i0);
    }
    stream_read_sink = s;
    return (double)n * sizeof(float) / (gb_time_now() - t0) / 1e9;
}

/* The best of `reps` passes over a buffer of `bytes`: GB/s (0 without the memory). */
static double stream_read(int nt, size_t bytes, int reps) {
    int64_t n;
    float *buf = read_buffer(nt, bytes, &n);
    if (!buf) return 0;
    double best = 0;
    for (int r = 0; r < reps; r++) {
        const double g = read_pass(buf, n, nt);
        if (g > best) best = g;
    }
    free(buf);
    return best;
}

#endif
