/* The 8-row interleaved layouts (src/core/quant_x8.*): packing and unpacking are inverses; the
 * scalar group kernels against a double product of the dequantized operands; every SIMD
 * kernel set against the scalar kernels bit for bit; the threaded product against the group
 * kernel and across thread counts; the prefill product on interleaved weights against the one
 * on the GGUF layout, bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "core/quant_x8.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "test.h"

static const uint32_t x8_types[] = {GB_GGML_Q8_0, GB_GGML_Q4_0, GB_GGML_Q4_K, GB_GGML_Q6_K, GB_GGML_F16};
enum { N_X8 = sizeof x8_types / sizeof x8_types[0] };

/* Columns of one x8 block. */
static int64_t qk(uint32_t t) { return t == GB_GGML_Q4_K || t == GB_GGML_Q6_K ? 256 : t == GB_GGML_F16 ? 8 : 32; }

/* Random rows of `type`: random bytes (every code occurs), small finite fp16 scales; F16:
 * normal values. */
static void *random_rows(uint32_t type, int64_t rows, int64_t cols, gb_rng *r) {
    const size_t rs = gb_quant_row_size(type, cols), bs = rs / (size_t)(cols / qk(type));
    unsigned char *p = malloc(rs * (size_t)rows);
    if (type == GB_GGML_F16) {
        for (int64_t i = 0; i < rows * cols; i++) ((uint16_t *)p)[i] = gb_fp32_to_fp16(gb_rng_normal(r));
        return p;
    }
    for (size_t i = 0; i < rs * (size_t)rows; i++) p[i] = (unsigned char)gb_rng_u64(r);
    for (size_t b = 0; b < rs * (size_t)rows / bs; b++) {
        const uint16_t d = gb_fp32_to_fp16(gb_rng_normal(r) * 0.01f), m = gb_fp32_to_fp16(gb_rng_float(r) * 0.01f);
        memcpy(p + b * bs + (type == GB_GGML_Q6_K ? 208 : 0), &d, 2);
        if (type == GB_GGML_Q4_K) memcpy(p + b * bs + 2, &m, 2);
    }
    return p;
}

static void normals(float *x, int64_t n, gb_rng *r) {
    for (int64_t i = 0; i < n; i++) x[i] = gb_rng_normal(r) * (gb_rng_float(r) < 0.03f ? 10.0f : 1.0f);
}

/* Activation row x in the kernels' format: Q8_0 with its side table, or Q8_K. */
typedef struct {
    void *q;
    float xd[512];
    int32_t xs[512];
} act;

static void make_act(uint32_t type, act *a, const float *x, int64_t n) {
    const uint32_t vt = gb_quant_vec_dot_type(type);
    a->q = malloc(gb_quant_row_size(vt, n));
    gb_quant_quantize_act(vt, a->q, x, n);
    if (vt != GB_GGML_Q8_0) return;
    const gb_block_q8_0 *b = a->q;
    for (int64_t i = 0; i < n / 32; i++) {
        a->xd[i] = gb_fp16_to_fp32(b[i].d), a->xs[i] = 0;
        for (int j = 0; j < 32; j++) a->xs[i] += b[i].qs[j];
    }
}

static gb_dot8_fn ref_of(uint32_t t) {
    return t == GB_GGML_Q8_0 ? gb_dot8_q8_0_ref : t == GB_GGML_Q4_0 ? gb_dot8_q4_0_ref
         : t == GB_GGML_Q4_K ? gb_dot8_q4_K_ref : t == GB_GGML_Q6_K ? gb_dot8_q6_K_ref : gb_dot8_f16_ref;
}

TEST(core_quant_x8_pack_unpack) {
    gb_rng r;
    gb_rng_seed(&r, 81);
    for (size_t t = 0; t < N_X8; t++) {
        const uint32_t type = x8_types[t];
        const int64_t rows = 24, cols = type == GB_GGML_F16 ? 264 : 3 * qk(type); /* F16: past one 256-column gather */
        const size_t rs = gb_quant_row_size(type, cols);
        unsigned char *w = random_rows(type, rows, cols, &r), *p = malloc(rs * rows), *row = malloc(rs);
        CHECK_OK(gb_quant_x8_pack(type, p, w, rows, cols));
        CHECK(memcmp(p, w, rs * rows) != 0);
        int bad = 0;
        for (int64_t i = 0; i < rows; i++) {
            gb_quant_x8_unpack_row(type, row, p, i, cols);
            bad += memcmp(row, w + (size_t)i * rs, rs) != 0;
            if (type == GB_GGML_F16) { /* prefill's panels read the groups directly */
                float a[264], b[264];
                gb_quant_x8_f16_rows(a, 264, p, i, i + 1, cols);
                CHECK_OK(gb_quant_dequantize_row(type, b, w + (size_t)i * rs, cols));
                bad += memcmp(a, b, sizeof(float) * (size_t)cols) != 0;
            }
        }
        if (type == GB_GGML_F16) { /* rows 3..20: groups entered and left mid-way, rows apart by ld */
            float *all = malloc(sizeof(float) * 17 * 300), *b = malloc(sizeof(float) * (size_t)cols);
            gb_quant_x8_f16_rows(all, 300, p, 3, 20, cols);
            for (int64_t i = 3; i < 20; i++) {
                CHECK_OK(gb_quant_dequantize_row(type, b, w + (size_t)i * rs, cols));
                bad += memcmp(all + (i - 3) * 300, b, sizeof(float) * (size_t)cols) != 0;
            }
            free(all), free(b);
        }
        CHECK_EQ_INT(bad, 0);
        free(w), free(p), free(row);
    }
    unsigned char in[64] = {0}, o[64];
    CHECK(gb_quant_x8_pack(GB_GGML_Q4_0, o, in, 4, 32) == GB_ERR_ARG); /* rows not a multiple of 8 */
    CHECK(gb_quant_x8_pack(GB_GGML_Q4_K, o, in, 8, 32) == GB_ERR_ARG); /* not whole super-blocks */
    CHECK(gb_quant_x8_pack(GB_GGML_F16, o, in, 8, 4) == GB_ERR_ARG);   /* not whole 8-column blocks */
    CHECK(gb_quant_x8_pack(GB_GGML_BF16, o, in, 8, 16) == GB_ERR_ARG);
    CHECK(!gb_quant_x8_supported(GB_GGML_Q6_K, 0, 256) && gb_quant_x8_supported(GB_GGML_Q6_K, 16, 512));
}

/* The reference group kernels against Σ dequant(w)·dequant(x) in double. */
TEST(core_quant_x8_ref_vs_dequantized) {
    gb_rng r;
    gb_rng_seed(&r, 82);
    for (size_t t = 0; t < N_X8; t++) {
        const uint32_t type = x8_types[t], vt = gb_quant_vec_dot_type(type);
        const int64_t n = 4 * qk(type);
        const size_t rs = gb_quant_row_size(type, n);
        unsigned char *w = random_rows(type, 8, n, &r), *p = malloc(rs * 8);
        float x[1024], wf[1024], xf[1024], out[8];
        normals(x, n, &r);
        act a;
        make_act(type, &a, x, n);
        CHECK_OK(gb_quant_x8_pack(type, p, w, 8, n));
        ref_of(type)(n, p, a.q, a.xd, a.xs, out);
        CHECK_OK(gb_quant_dequantize_row(vt, xf, a.q, n));
        for (int row = 0; row < 8; row++) {
            CHECK_OK(gb_quant_dequantize_row(type, wf, w + (size_t)row * rs, n));
            double s = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) s += (double)wf[i] * xf[i], mag += fabs((double)wf[i] * xf[i]);
            if (!(fabs(out[row] - s) <= 1e-5 * mag + 1e-30))
                gb_test_fail(__FILE__, __LINE__, "%s row %d: %.9g vs %.9g (Σ|w·x| %g)", gb_ggml_type_name(type), row,
                             out[row], s, mag);
        }
        free(a.q), free(w), free(p);
    }
}

/* Every code at the end of its range: Q8_0 −128 and 127, 4-bit 15, 6-bit 63, Q4_K scales and
 * mins 63, Q6_K scales 127 and −128 (the scale fields d/dmin kept); F16 ±65504 and the
 * subnormals ±2⁻²⁴. */
static void extreme_blocks(uint32_t type, unsigned char *p, size_t nblk) {
    const size_t bs = gb_quant_row_size(type, qk(type));
    for (size_t b = 0; b < nblk; b++, p += bs)
        for (size_t i = 0; i < bs; i++) {
            if (type == GB_GGML_Q8_0 && i >= 2) p[i] = i % 2 ? 0x80 : 0x7F;
            if (type == GB_GGML_Q4_0 && i >= 2) p[i] = 0xFF;
            if (type == GB_GGML_Q4_K && i >= 4) p[i] = 0xFF;
            if (type == GB_GGML_Q6_K && i < 192) p[i] = 0xFF;
            if (type == GB_GGML_Q6_K && i >= 192 && i < 208) p[i] = i % 2 ? 0x80 : 0x7F;
            if (type == GB_GGML_F16 && i % 2 == 0) {
                static const uint16_t ends[4] = {0x7BFF, 0xFBFF, 0x0001, 0x8001};
                memcpy(p + i, &ends[(b + i / 2) % 4], 2);
            }
        }
}

/* Every kernel set this CPU runs against the scalar kernels, bit for bit, on every length
 * (1 .. 9 super-blocks, 1 .. 72 blocks), random and extreme codes. */
TEST(core_quant_x8_simd_equals_scalar) {
    gb_rng r;
    gb_rng_seed(&r, 83);
    const gb_quant_isa isas[] = {GB_QUANT_AVX2, GB_QUANT_AVX512, GB_QUANT_AMX};
    int ran = 0;
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!gb_quant_use(isas[k])) continue;
        ran++;
        for (size_t t = 0; t < N_X8; t++) {
            const uint32_t type = x8_types[t];
            const gb_dot8_fn simd = gb_quant_dot8_fn(type);
            int bad = 0;
            for (int64_t nb = 1; nb * qk(type) <= 2304; nb++) {
                const int64_t n = nb * qk(type);
                const size_t rs = gb_quant_row_size(type, n);
                unsigned char *w = random_rows(type, 8, n, &r), *p = malloc(rs * 8);
                if (nb % 5 == 0) extreme_blocks(type, w, (size_t)nb * 8);
                float x[2304], o1[8], o2[8];
                normals(x, n, &r);
                if (nb % 7 == 0) /* activation codes at ±127 */
                    for (int64_t i = 0; i < n; i++) x[i] = i % 2 ? 1.0f : -1.0f;
                act a;
                make_act(type, &a, x, n);
                CHECK_OK(gb_quant_x8_pack(type, p, w, 8, n));
                ref_of(type)(n, p, a.q, a.xd, a.xs, o1);
                simd(n, p, a.q, a.xd, a.xs, o2);
                if (memcmp(o1, o2, sizeof o1) != 0 && bad++ < 3)
                    gb_test_fail(__FILE__, __LINE__, "%s %s n=%lld: row 0 simd %.9g scalar %.9g", gb_quant_kernel_name(),
                                 gb_ggml_type_name(type), (long long)n, o2[0], o1[0]);
                free(a.q), free(w), free(p);
            }
        }
    }
    gb_quant_use(GB_QUANT_AUTO);
    if (!ran) gb_test_skip("no SIMD kernels on this CPU");
}

/* gb_quant_x8_matmul: each output is the group kernel's, for 1..7 activation rows and 1 or 3
 * threads alike. */
TEST(core_quant_x8_matmul_threads) {
    gb_rng r;
    gb_rng_seed(&r, 84);
    const int saved = gb_threads_get();
    for (size_t t = 0; t < N_X8; t++) {
        const uint32_t type = x8_types[t];
        const int64_t N = 40, K = 2 * qk(type) + (qk(type) == 32 ? 64 : 0), M = 7;
        const size_t rs = gb_quant_row_size(type, K);
        unsigned char *w = random_rows(type, N, K, &r), *p = malloc(rs * N);
        float *X = malloc(sizeof(float) * M * K), *o1 = malloc(sizeof(float) * M * N), *o2 = malloc(sizeof(float) * M * N);
        normals(X, M * K, &r);
        CHECK_OK(gb_quant_x8_pack(type, p, w, N, K));
        gb_threads_set(1);
        CHECK_OK(gb_quant_x8_matmul(type, p, X, o1, M, N, K));
        gb_threads_set(3);
        CHECK_OK(gb_quant_x8_matmul(type, p, X, o2, M, N, K));
        CHECK(memcmp(o1, o2, sizeof(float) * M * N) == 0);
        for (int64_t m = 0; m < M; m++) { /* row m alone, through the selected group kernel */
            act a;
            make_act(type, &a, X + m * K, K);
            float o8[8];
            for (int64_t g = 0; g < N / 8; g++) {
                gb_quant_dot8_fn(type)(K, p + (size_t)g * 8 * rs, a.q, a.xd, a.xs, o8);
                CHECK(memcmp(o8, o1 + m * N + 8 * g, sizeof o8) == 0);
            }
            free(a.q);
        }
        CHECK(gb_quant_x8_matmul(type, p, X, o1, M, 12, K) == GB_ERR_ARG);
        free(w), free(p), free(X), free(o1), free(o2);
    }
    gb_threads_set(saved);
}

/* Prefill on interleaved weights: the same bits as on the GGUF layout. */
TEST(core_quant_x8_gemm_equals_gemm) {
    gb_rng r;
    gb_rng_seed(&r, 85);
    for (size_t t = 0; t < N_X8; t++) {
        const uint32_t type = x8_types[t];
        if (!gb_quant_gemm_supported(type)) continue; /* F16: prefill dequantizes (test_llm.c) */
        const int64_t N = 48, K = 2 * qk(type), M = 21;
        const size_t rs = gb_quant_row_size(type, K);
        unsigned char *w = random_rows(type, N, K, &r), *p = malloc(rs * N);
        float *X = malloc(sizeof(float) * M * K), *o1 = malloc(sizeof(float) * M * N), *o2 = malloc(sizeof(float) * M * N);
        normals(X, M * K, &r);
        CHECK_OK(gb_quant_x8_pack(type, p, w, N, K));
        CHECK_OK(gb_quant_gemm(type, w, X, o1, M, N, K));
        CHECK_OK(gb_quant_gemm_x8(type, p, X, o2, M, N, K));
        CHECK(memcmp(o1, o2, sizeof(float) * M * N) == 0);
        free(w), free(p), free(X), free(o1), free(o2);
    }
    gb_quant_release();
}
