/* The integer prefill product gb_quant_gemm: against a double-precision product of the
 * dequantized weights with the Q8_0-quantized activations (the math it promises), AVX2 tiles
 * against the scalar tiles bit for bit, thread-count independence, the int16 range limits
 * (every code at its extreme, activations at ±127), odd shapes, and argument errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "test.h"

static const uint32_t gemm_types[] = {GB_GGML_Q8_0, GB_GGML_Q4_0, GB_GGML_Q4_K, GB_GGML_Q6_K};

static int64_t qk_of(uint32_t t) { return t == GB_GGML_Q4_K || t == GB_GGML_Q6_K ? 256 : 32; }

/* Random bytes with small finite scales: every code of the type over its full range. */
static void raw_weights(uint32_t type, void *q, int64_t rows, int64_t n, gb_rng *r) {
    size_t rs = gb_quant_row_size(type, n) * (size_t)rows;
    unsigned char *p = q;
    for (size_t i = 0; i < rs; i++) p[i] = (unsigned char)gb_rng_u64(r);
    size_t bs = type == GB_GGML_Q8_0 ? 34 : type == GB_GGML_Q4_0 ? 18 : type == GB_GGML_Q4_K ? 144 : 210;
    for (size_t b = 0; b < rs / bs; b++) {
        uint16_t d = gb_fp32_to_fp16(gb_rng_normal(r) * 0.01f), m = gb_fp32_to_fp16(gb_rng_float(r) * 0.01f);
        memcpy(p + b * bs + (type == GB_GGML_Q6_K ? 208 : 0), &d, 2);
        if (type == GB_GGML_Q4_K) memcpy(p + b * bs + 2, &m, 2);
    }
}

/* Worst |out − exact| / Σ|w·x| over the product, exact = Σ dequant(w)·dequant(q8_0(x)) in double. */
static double worst_rel(uint32_t type, const void *W, const float *X, const float *out, int64_t M,
                        int64_t N, int64_t K) {
    float *w = malloc((size_t)K * sizeof *w), *x = malloc((size_t)M * K * sizeof *x);
    void *xq = malloc(gb_quant_row_size(GB_GGML_Q8_0, K));
    for (int64_t m = 0; m < M; m++) {
        gb_quant_quantize_act(GB_GGML_Q8_0, xq, X + m * K, K);
        gb_quant_dequantize_row(GB_GGML_Q8_0, x + m * K, xq, K);
    }
    double worst = 0;
    size_t rs = gb_quant_row_size(type, K);
    for (int64_t n = 0; n < N; n++) {
        gb_quant_dequantize_row(type, w, (const char *)W + (size_t)n * rs, K);
        for (int64_t m = 0; m < M; m++) {
            double s = 0, a = 0;
            for (int64_t k = 0; k < K; k++) s += (double)w[k] * x[m * K + k], a += fabs((double)w[k] * x[m * K + k]);
            double e = fabs(out[m * N + n] - s) / (a > 0 ? a : 1);
            if (!(e <= worst)) worst = e; /* NaN sticks */
        }
    }
    free(w), free(x), free(xq);
    return worst;
}

TEST(core_quant_gemm_matches_exact_product) {
    gb_rng r;
    gb_rng_seed(&r, 5);
    const int64_t shapes[][3] = {{1, 1, 1}, {8, 4, 1}, {9, 5, 2}, {17, 33, 3}, {3, 7, 1}, {16, 12, 2}};
    for (size_t t = 0; t < 4; t++) {
        const uint32_t type = gemm_types[t];
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2] * qk_of(type);
            void *W = malloc(gb_quant_row_size(type, K) * (size_t)N);
            float *X = malloc((size_t)(M * K) * sizeof *X), *out = malloc((size_t)(M * N) * sizeof *out);
            raw_weights(type, W, N, K, &r);
            for (int64_t i = 0; i < M * K; i++) X[i] = gb_rng_normal(&r) * (gb_rng_float(&r) < 0.02f ? 30.0f : 1.0f);
            CHECK_OK(gb_quant_gemm(type, W, X, out, M, N, K));
            double e = worst_rel(type, W, X, out, M, N, K);
            if (!(e < 2e-6))
                gb_test_fail(__FILE__, __LINE__, "%s %lldx%lldx%lld: worst relative error %g",
                             gb_ggml_type_name(type), (long long)M, (long long)N, (long long)K, e);
            free(W), free(X), free(out);
        }
    }
}

/* Codes at the ends of their range against activations of ±127 with the weight's sign: the
 * largest int16 partial sums the tiles can meet (they must not saturate); 24 activation rows,
 * so that tiles taking two column groups meet them as well as one-group tails. */
TEST(core_quant_gemm_extreme_codes) {
    const int64_t M = 24, N = 4;
    for (size_t t = 0; t < 4; t++) {
        const uint32_t type = gemm_types[t];
        const int64_t K = 2 * qk_of(type);
        const size_t rs = gb_quant_row_size(type, K);
        unsigned char *W = calloc((size_t)N, rs);
        float *X = malloc((size_t)(M * K) * sizeof *X), *out = malloc((size_t)(M * N) * sizeof *out);
        for (int64_t n = 0; n < N; n++) {
            unsigned char *p = W + (size_t)n * rs;
            memset(p, n % 2 ? 0xff : 0x80, rs); /* max codes (and −128 for Q8_0) */
            size_t bs = type == GB_GGML_Q8_0 ? 34 : type == GB_GGML_Q4_0 ? 18 : type == GB_GGML_Q4_K ? 144 : 210;
            for (size_t b = 0; b < rs / bs; b++) {
                uint16_t one = 0x3c00;
                memcpy(p + b * bs + (type == GB_GGML_Q6_K ? 208 : 0), &one, 2);
                if (type == GB_GGML_Q4_K) memcpy(p + b * bs + 2, &one, 2);
            }
        }
        for (int64_t m = 0; m < M; m++)
            for (int64_t k = 0; k < K; k++) X[m * K + k] = m % 2 ? 1.0f : -1.0f; /* codes ±127 */
        CHECK_OK(gb_quant_gemm(type, W, X, out, M, N, K));
        double e = worst_rel(type, W, X, out, M, N, K);
        if (!(e < 1e-6)) gb_test_fail(__FILE__, __LINE__, "%s: worst relative error %g", gb_ggml_type_name(type), e);
        free(W), free(X), free(out);
    }
}

TEST(core_quant_gemm_simd_equals_scalar_and_threads) {
    gb_rng r;
    gb_rng_seed(&r, 9);
    const int64_t M = 21, N = 70;
    const int saved = gb_threads_get();
    for (size_t t = 0; t < 4; t++) {
        const uint32_t type = gemm_types[t];
        const int64_t K = 3 * qk_of(type);
        void *W = malloc(gb_quant_row_size(type, K) * (size_t)N);
        float *X = malloc((size_t)(M * K) * sizeof *X);
        float *o1 = malloc((size_t)(M * N) * sizeof *o1), *o2 = malloc((size_t)(M * N) * sizeof *o2);
        raw_weights(type, W, N, K, &r);
        for (int64_t i = 0; i < M * K; i++) X[i] = gb_rng_normal(&r);
        /* every third row: blocks of 127 and exact halves (codes at rounding ties, scale 1) */
        for (int64_t m = 0; m < M; m += 3)
            for (int64_t k = 0; k < K; k++)
                X[m * K + k] = k % 32 == 0 ? 127.0f : ((float)(gb_rng_u64(&r) % 253) - 126.0f) + 0.5f;
        gb_threads_set(1);
        CHECK_OK(gb_quant_gemm(type, W, X, o1, M, N, K));
        gb_threads_set(3);
        CHECK_OK(gb_quant_gemm(type, W, X, o2, M, N, K));
        CHECK(memcmp(o1, o2, (size_t)(M * N) * sizeof *o1) == 0);
        /* o1 came from the automatic choice; every kernel set this CPU runs gives its bits */
        const gb_quant_isa isas[] = {GB_QUANT_SCALAR, GB_QUANT_AVX2, GB_QUANT_AVX512, GB_QUANT_AMX};
        for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
            if (!gb_quant_use(isas[i])) continue;
            memset(o2, 0xff, (size_t)(M * N) * sizeof *o2);
            CHECK_OK(gb_quant_gemm(type, W, X, o2, M, N, K));
            if (memcmp(o1, o2, (size_t)(M * N) * sizeof *o1) != 0)
                gb_test_fail(__FILE__, __LINE__, "%s: %s tiles differ from the automatic choice's",
                             gb_ggml_type_name(type), gb_quant_kernel_name());
        }
        gb_quant_use(GB_QUANT_AUTO);
        free(W), free(X), free(o1), free(o2);
    }
    gb_threads_set(saved);
}

TEST(core_quant_gemm_bad_arguments) {
    float x[64] = {0}, o[4];
    unsigned char w[256] = {0};
    CHECK(gb_quant_gemm(GB_GGML_F16, w, x, o, 1, 1, 32) == GB_ERR_ARG);
    CHECK(gb_quant_gemm(GB_GGML_Q8_0, w, x, o, 1, 1, 33) == GB_ERR_ARG);
    CHECK(gb_quant_gemm(GB_GGML_Q4_K, w, x, o, 1, 1, 32) == GB_ERR_ARG);
    CHECK(gb_quant_gemm(GB_GGML_Q8_0, w, x, o, -1, 1, 32) == GB_ERR_ARG);
    CHECK_OK(gb_quant_gemm(GB_GGML_Q8_0, w, x, o, 0, 1, 32));
    CHECK(!gb_quant_gemm_supported(GB_GGML_F32) && gb_quant_gemm_supported(GB_GGML_Q6_K));
}
