/* The SIMD bodies of the training kernels (src/core/kernels_avx2.c) against the portable
 * scalar reference on odd sizes (vector tails, partial query blocks, head sizes that are
 * not multiples of 8), and their independence from the thread count.
 *
 * Bound: |simd - scalar| <= atol·max|scalar| + rtol·|scalar|, atol 2e-6, rtol 1e-5 (3e-5
 * for attention's longer sums). Both sides are fp32 with different summation orders and a
 * polynomial exp/tanh against libm (~2 ulp); a wrong kernel is off by O(1). Skipped on a
 * CPU without AVX2+FMA. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels.h"
#include "core/quant.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "test.h"

static float *rand_buf(int64_t n, float scale, uint64_t seed) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    gb_rng r;
    gb_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) p[i] = scale * gb_rng_normal(&r);
    return p;
}

static float *copy_buf(const float *x, int64_t n) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    memcpy(p, x, (size_t)n * sizeof(float));
    return p;
}

static double max_abs(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static void close_rel(const char *what, const float *simd, const float *ref, int64_t n,
                      double rtol) {
    gb_test_allclose(what, simd, ref, n, 2e-6 * max_abs(ref, n), rtol);
}

static int need_simd(void) {
    if (!gb_kernels_use_simd(1)) {
        gb_test_skip("no AVX2+FMA on this CPU");
        return 0;
    }
    return 1;
}

TEST(model_kernels_gelu_swiglu_simd_vs_scalar) {
    if (!need_simd()) return;
    /* 16391 crosses the element-wise chunk (16384) with a 7-element tail */
    static const int64_t sizes[] = {1, 7, 8, 13, 100, 16391};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int64_t n = sizes[k];
        float *x = rand_buf(n, 3.0f, 1 + k), *dy = rand_buf(n, 1.0f, 100 + k);
        if (n > 3) x[0] = 40.0f, x[1] = -40.0f, x[2] = 0.0f; /* saturated tanh, zero */
        float *y0 = rand_buf(n, 1, 7), *y1 = rand_buf(n, 1, 8);
        char what[64];
        gb_kernels_use_simd(0), gb_gelu_forward(y0, x, n);
        gb_kernels_use_simd(1), gb_gelu_forward(y1, x, n);
        snprintf(what, sizeof what, "gelu forward n=%lld", (long long)n);
        close_rel(what, y1, y0, n, 1e-5);
        gb_kernels_use_simd(0), gb_gelu_backward(y0, x, dy, n);
        gb_kernels_use_simd(1), gb_gelu_backward(y1, x, dy, n);
        snprintf(what, sizeof what, "gelu backward n=%lld", (long long)n);
        close_rel(what, y1, y0, n, 1e-5);
        free(x), free(dy), free(y0), free(y1);
    }
    static const int shapes[][2] = {{1, 1}, {3, 13}, {2, 8}, {5, 37}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        int N = shapes[k][0], F = shapes[k][1];
        float *in = rand_buf(2 * N * F, 3.0f, 10 + k), *dy = rand_buf(N * F, 1.0f, 20 + k);
        float *y0 = rand_buf(2 * N * F, 1, 1), *y1 = rand_buf(2 * N * F, 1, 2);
        char what[64];
        gb_kernels_use_simd(0), gb_swiglu_forward(y0, in, N, F);
        gb_kernels_use_simd(1), gb_swiglu_forward(y1, in, N, F);
        snprintf(what, sizeof what, "swiglu forward %dx%d", N, F);
        close_rel(what, y1, y0, N * F, 1e-5);
        gb_kernels_use_simd(0), gb_swiglu_backward(y0, in, dy, N, F);
        gb_kernels_use_simd(1), gb_swiglu_backward(y1, in, dy, N, F);
        snprintf(what, sizeof what, "swiglu backward %dx%d", N, F);
        close_rel(what, y1, y0, 2 * N * F, 1e-5);
        free(in), free(dy), free(y0), free(y1);
    }
    gb_kernels_use_simd(1);
}

TEST(model_kernels_crossentropy_simd_vs_scalar) {
    if (!need_simd()) return;
    static const int shapes[][2] = {{1, 1}, {3, 7}, {4, 16}, {5, 37}, {2, 50257}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        int N = shapes[k][0], V = shapes[k][1];
        float *x = rand_buf((int64_t)N * V, 4.0f, 30 + k);
        if (V > 3) x[1] = -1e4f, x[2] = 30.0f; /* exp underflow, a dominant logit */
        int32_t *tg = malloc((size_t)N * sizeof *tg);
        for (int n = 0; n < N; n++) tg[n] = (n * 7 + 3) % V;
        float lse0[8], lse1[8];
        gb_kernels_use_simd(0);
        float l0 = gb_crossentropy_forward(lse0, x, tg, N, V);
        gb_kernels_use_simd(1);
        float l1 = gb_crossentropy_forward(lse1, x, tg, N, V);
        char what[64];
        snprintf(what, sizeof what, "cross-entropy lse %dx%d", N, V);
        gb_test_allclose(what, lse1, lse0, N, 1e-6, 1e-6);
        snprintf(what, sizeof what, "cross-entropy loss %dx%d", N, V);
        gb_test_allclose(what, &l1, &l0, 1, 1e-6, 1e-6);
        float *d0 = copy_buf(x, (int64_t)N * V), *d1 = copy_buf(x, (int64_t)N * V);
        gb_kernels_use_simd(0), gb_crossentropy_backward(d0, lse0, tg, N, V, 0.5f);
        gb_kernels_use_simd(1), gb_crossentropy_backward(d1, lse0, tg, N, V, 0.5f);
        snprintf(what, sizeof what, "cross-entropy backward %dx%d", N, V);
        close_rel(what, d1, d0, (int64_t)N * V, 1e-5);
        free(x), free(tg), free(d0), free(d1);
    }
    gb_kernels_use_simd(1);
}

TEST(model_kernels_layernorm_simd_vs_scalar) {
    if (!need_simd()) return;
    static const int shapes[][2] = {{1, 1}, {3, 7}, {2, 8}, {5, 67}, {3, 768}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        int N = shapes[k][0], C = shapes[k][1];
        for (int bias = 0; bias < 2; bias++) {
            float *x = rand_buf(N * C, 2.0f, 40 + k), *w = rand_buf(C, 1.0f, 50 + k);
            float *b = bias ? rand_buf(C, 1.0f, 60 + k) : NULL, *dy = rand_buf(N * C, 1.0f, 70 + k);
            for (int n = 0; n < N; n++) x[n * C] += 5.0f; /* a mean far from 0 */
            float *y0 = rand_buf(N * C, 1, 1), *y1 = rand_buf(N * C, 1, 2);
            float m0[8], m1[8], r0[8], r1[8];
            char what[64];
            gb_kernels_use_simd(0), gb_layernorm_forward(y0, m0, r0, x, w, b, N, C, 1e-5f);
            gb_kernels_use_simd(1), gb_layernorm_forward(y1, m1, r1, x, w, b, N, C, 1e-5f);
            snprintf(what, sizeof what, "layernorm forward %dx%d bias %d", N, C, bias);
            close_rel(what, y1, y0, N * C, 1e-5);
            gb_test_allclose("layernorm mean", m1, m0, N, 1e-7, 1e-6);
            gb_test_allclose("layernorm rstd", r1, r0, N, 0, 1e-6);
            /* dinp accumulates: start both from the same nonzero values */
            float *dx0 = rand_buf(N * C, 1.0f, 80 + k), *dx1 = copy_buf(dx0, N * C);
            float *dw0 = calloc((size_t)C, 4), *dw1 = calloc((size_t)C, 4);
            float *db0 = calloc((size_t)C, 4), *db1 = calloc((size_t)C, 4);
            gb_kernels_use_simd(0), gb_layernorm_backward(dx0, dw0, db0, dy, x, w, m0, r0, N, C);
            gb_kernels_use_simd(1), gb_layernorm_backward(dx1, dw1, db1, dy, x, w, m0, r0, N, C);
            snprintf(what, sizeof what, "layernorm backward %dx%d", N, C);
            close_rel(what, dx1, dx0, N * C, 1e-5);
            close_rel("layernorm dw", dw1, dw0, C, 1e-5);
            close_rel("layernorm db", db1, db0, C, 1e-5);
            free(x), free(w), free(b), free(dy), free(y0), free(y1);
            free(dx0), free(dx1), free(dw0), free(dw1), free(db0), free(db1);
        }
    }
    gb_kernels_use_simd(1);
}

TEST(model_kernels_rmsnorm_simd_vs_scalar) {
    if (!need_simd()) return;
    static const int shapes[][2] = {{1, 1}, {3, 7}, {2, 8}, {5, 67}, {3, 768}, {2, 2048}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int N = shapes[k][0], C = shapes[k][1];
        float *x = rand_buf(N * C, 2.0f, 140 + k), *w = rand_buf(C, 1.0f, 150 + k);
        for (int n = 0; n < N; n++) x[n * C + C / 2] += 30.0f; /* one large channel */
        float *y0 = rand_buf(N * C, 1, 1), *y1 = rand_buf(N * C, 1, 2);
        float r0[8], r1[8];
        char what[64];
        gb_kernels_use_simd(0), gb_rmsnorm_forward(y0, r0, x, w, N, C, 1e-5f);
        gb_kernels_use_simd(1), gb_rmsnorm_forward(y1, r1, x, w, N, C, 1e-5f);
        snprintf(what, sizeof what, "rmsnorm forward %dx%d", N, C);
        close_rel(what, y1, y0, N * C, 1e-6);
        gb_test_allclose("rmsnorm rstd", r1, r0, N, 0, 1e-6);
        free(x), free(w), free(y0), free(y1);
    }
    gb_kernels_use_simd(1);
}

/* forward + backward of attention; out, lse, dqkv written into the given buffers */
static void attention_run(float *out, float *lse, float *dqkv, const float *qkv, const float *dout,
                          int B, int T, int NH, int NKV, int HS) {
    float *scratch = malloc((size_t)B * NH * T * sizeof(float));
    gb_attention_forward(out, lse, scratch, qkv, B, T, NH, NKV, HS);
    gb_attention_backward(dqkv, dout, qkv, out, lse, B, T, NH, NKV, HS);
    free(scratch);
}

TEST(model_kernels_attention_simd_vs_scalar) {
    if (!need_simd()) return;
    /* B, T, NH, NKV, HS: T = 1, partial 16-row blocks, tails of 16-wide tiles; HS below 8,
     * odd, past 32 (a second chunk with a tail), 64, past 64 (64 + 32 + tail); GQA groups
     * of 2, 3 and 2 */
    static const int shapes[][5] = {{1, 1, 1, 1, 4},  {2, 5, 2, 1, 3},  {1, 17, 4, 2, 12},
                                    {2, 33, 3, 3, 37}, {1, 40, 6, 2, 64}, {1, 19, 2, 2, 40},
                                    {1, 21, 2, 1, 100}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        int B = shapes[k][0], T = shapes[k][1], NH = shapes[k][2], NKV = shapes[k][3], HS = shapes[k][4];
        int64_t QKV = (int64_t)(NH + 2 * NKV) * HS, C = (int64_t)NH * HS;
        int64_t nq = B * T * QKV, no = B * T * C, nl = (int64_t)B * NH * T;
        float *qkv = rand_buf(nq, 1.5f, 90 + k), *dout = rand_buf(no, 1.0f, 95 + k);
        float *o0 = rand_buf(no, 1, 1), *o1 = rand_buf(no, 1, 2);
        float *l0 = rand_buf(nl, 1, 3), *l1 = rand_buf(nl, 1, 4);
        float *d0 = rand_buf(nq, 1, 5), *d1 = rand_buf(nq, 1, 6);
        gb_kernels_use_simd(0), attention_run(o0, l0, d0, qkv, dout, B, T, NH, NKV, HS);
        gb_kernels_use_simd(1), attention_run(o1, l1, d1, qkv, dout, B, T, NH, NKV, HS);
        char what[96];
        snprintf(what, sizeof what, "attention out B%d T%d NH%d NKV%d HS%d", B, T, NH, NKV, HS);
        close_rel(what, o1, o0, no, 3e-5);
        snprintf(what, sizeof what, "attention lse B%d T%d NH%d NKV%d HS%d", B, T, NH, NKV, HS);
        close_rel(what, l1, l0, nl, 3e-5);
        snprintf(what, sizeof what, "attention dqkv B%d T%d NH%d NKV%d HS%d", B, T, NH, NKV, HS);
        close_rel(what, d1, d0, nq, 3e-5);
        free(qkv), free(dout), free(o0), free(o1), free(l0), free(l1), free(d0), free(d1);
    }
    gb_kernels_use_simd(1);
}

/* The SIMD kernels give the same bits with 1, 2 and 3 threads (the model-level test covers
 * the composition; this pins each kernel, with sizes that split unevenly). */
/* Inference's one-row attention over a cache (row stride ld > HS), odd head sizes and key
 * counts (the two-key loop's tail, the head's masked tail, heads over 32 lanes). */
TEST(model_kernels_attention_row_simd_vs_scalar) {
    if (!need_simd()) return;
    const int heads[] = {1, 7, 8, 32, 33, 64, 80, 128};
    const int64_t ns[] = {1, 2, 3, 17, 130};
    for (size_t a = 0; a < sizeof heads / sizeof heads[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
            const int HS = heads[a];
            const int64_t n = ns[b], ld = HS + 5;
            float *q = rand_buf(HS, 1.0f, 1 + a), *k = rand_buf(n * ld, 1.0f, 2 + b), *v = rand_buf(n * ld, 1.0f, 3 + a);
            float *o0 = malloc(sizeof(float) * (size_t)HS), *o1 = malloc(sizeof(float) * (size_t)HS);
            float *s0 = malloc(sizeof(float) * (size_t)n), *s1 = malloc(sizeof(float) * (size_t)n);
            const float scale = 1.0f / sqrtf((float)HS);
            gb_kernels_use_simd(0), gb_attention_row(o0, s0, q, k, v, n, ld, HS, scale);
            gb_kernels_use_simd(1), gb_attention_row(o1, s1, q, k, v, n, ld, HS, scale);
            close_rel("attention_row out", o1, o0, HS, 3e-5);
            close_rel("attention_row p", s1, s0, n, 3e-5);
            free(q), free(k), free(v), free(o0), free(o1), free(s0), free(s1);
        }
}

/* The fp16 cache's attention row is the fp32 one on the fp16 values, to the bit, scalar and
 * AVX2: the loads convert exactly and the arithmetic is the same (odd head sizes: the masked
 * tail). */
TEST(model_kernels_attention_row_f16_is_f32_on_its_values) {
    const int heads[] = {1, 8, 33, 64, 80, 128};
    const int64_t ns[] = {1, 2, 3, 17, 130};
    for (int mode = 0; mode < 2; mode++) {
        if (mode && !gb_kernels_use_simd(1)) break;
        gb_kernels_use_simd(mode);
        for (size_t a = 0; a < sizeof heads / sizeof heads[0]; a++)
            for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
                const int HS = heads[a];
                const int64_t n = ns[b], ld = HS + 8, len = n * ld;
                float *q = rand_buf(HS, 1.0f, 1 + a), *k = rand_buf(len, 1.0f, 2 + b), *v = rand_buf(len, 1.0f, 3 + a);
                uint16_t *k16 = malloc(sizeof(uint16_t) * (size_t)len), *v16 = malloc(sizeof(uint16_t) * (size_t)len);
                float o32[128], o16[128], s32[130], s16[130];
                REQUIRE(k16 && v16);
                gb_fp16_from_f32_row(k16, k, len), gb_fp16_to_f32_row(k, k16, len);
                gb_fp16_from_f32_row(v16, v, len), gb_fp16_to_f32_row(v, v16, len);
                const float scale = 1.0f / sqrtf((float)HS);
                gb_attention_row(o32, s32, q, k, v, n, ld, HS, scale);
                gb_attention_row_f16(o16, s16, q, k16, v16, n, ld, HS, scale);
                if (memcmp(o32, o16, sizeof(float) * (size_t)HS) || memcmp(s32, s16, sizeof(float) * (size_t)n))
                    gb_test_fail(__FILE__, __LINE__, "%s: HS %d, %lld keys: fp16 row differs", mode ? "avx2" : "scalar",
                                 HS, (long long)n);
                free(q), free(k), free(v), free(k16), free(v16);
            }
    }
    gb_kernels_use_simd(1);
}

TEST(model_kernels_simd_threads_bit_identical) {
    if (!need_simd()) return;
    int B = 3, T = 29, NH = 6, NKV = 2, HS = 20, N = B * T, F = 16391 / N + 1, V = 301;
    int64_t QKV = (int64_t)(NH + 2 * NKV) * HS, C = (int64_t)NH * HS;
    float *qkv = rand_buf(N * QKV, 1.5f, 1), *dout = rand_buf(N * C, 1.0f, 2);
    float *x = rand_buf((int64_t)N * F, 2.0f, 3), *lg = rand_buf((int64_t)N * V, 3.0f, 4);
    int32_t *tg = malloc((size_t)N * sizeof *tg);
    for (int n = 0; n < N; n++) tg[n] = (n * 13) % V;
    float *ref[4] = {0}, *got[4] = {0};
    int64_t len[4] = {N * C, (int64_t)B * NH * T, N * QKV, (int64_t)N * F + (int64_t)N * V + 1};
    for (int threads = 1; threads <= 3; threads++) {
        gb_threads_set(threads);
        float **r = threads == 1 ? ref : got;
        for (int i = 0; i < 4; i++) {
            free(r[i]);
            r[i] = calloc((size_t)len[i], sizeof(float));
        }
        attention_run(r[0], r[1], r[2], qkv, dout, B, T, NH, NKV, HS);
        gb_gelu_forward(r[3], x, (int64_t)N * F);
        float *d = r[3] + (int64_t)N * F, lse[128];
        memcpy(d, lg, (size_t)N * V * sizeof(float));
        d[(int64_t)N * V] = gb_crossentropy_forward(lse, d, tg, N, V);
        gb_crossentropy_backward(d, lse, tg, N, V, 1.0f);
        if (threads > 1)
            for (int i = 0; i < 4; i++)
                if (memcmp(ref[i], got[i], (size_t)len[i] * sizeof(float)))
                    gb_test_fail(__FILE__, __LINE__, "output %d differs between 1 and %d threads", i,
                                 threads);
    }
    gb_threads_set(0);
    for (int i = 0; i < 4; i++) free(ref[i]), free(got[i]);
    free(qkv), free(dout), free(x), free(lg), free(tg);
}

/* AdamW's AVX2 body does the scalar loop's operations in its order: identical bits. */
TEST(model_kernels_adamw_simd_equals_scalar) {
    if (!need_simd()) return;
    static const int64_t sizes[] = {1, 7, 8, 13, 16391};
    gb_adamw_scalars s = {.decay_mul = 1.0f - 3e-4f * 0.1f, .beta1 = 0.9f, .one_minus_beta1 = 0.1f,
                          .beta2 = 0.95f, .one_minus_beta2 = 0.05f, .eps = 1e-8f,
                          .step_size = 3e-3f, .bc2_sqrt = 0.2236068f};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int64_t n = sizes[k];
        float *g = rand_buf(n, 1e-2f, 1 + k), *p0 = rand_buf(n, 0.1f, 2 + k);
        float *m0 = rand_buf(n, 1e-3f, 3 + k), *v0 = rand_buf(n, 1e-3f, 4 + k);
        for (int64_t i = 0; i < n; i++) v0[i] = v0[i] * v0[i];
        if (n > 2) g[1] = 0.0f, v0[1] = 0.0f; /* sqrt(0) + eps */
        float *p1 = copy_buf(p0, n), *m1 = copy_buf(m0, n), *v1 = copy_buf(v0, n);
        gb_kernels_use_simd(0), gb_adamw_update(p0, g, m0, v0, n, &s);
        gb_kernels_use_simd(1), gb_adamw_update(p1, g, m1, v1, n, &s);
        CHECK(!memcmp(p0, p1, (size_t)n * sizeof(float)));
        CHECK(!memcmp(m0, m1, (size_t)n * sizeof(float)));
        CHECK(!memcmp(v0, v1, (size_t)n * sizeof(float)));
        free(g), free(p0), free(m0), free(v0), free(p1), free(m1), free(v1);
    }
    gb_kernels_use_simd(1);
}

TEST(model_kernels_sumsq_simd_vs_scalar) {
    if (!need_simd()) return;
    static const int64_t sizes[] = {0, 1, 7, 17, 1000, 70001, 1234567};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int64_t n = sizes[k];
        float *x = rand_buf(n, 2.0f, 5 + k);
        gb_kernels_use_simd(0);
        double s0 = gb_sumsq(x, n);
        gb_kernels_use_simd(1);
        double s1 = gb_sumsq(x, n);
        if (!(fabs(s1 - s0) <= 1e-12 * s0))
            gb_test_fail(__FILE__, __LINE__, "sumsq n=%lld: simd %.17g scalar %.17g", (long long)n, s1, s0);
        free(x);
    }
}
