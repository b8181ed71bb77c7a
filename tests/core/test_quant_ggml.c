/* Quantization against ggml itself: a prebuilt llama.cpp (npm @node-llama-cpp/linux-x64,
 * installed by `npm install` in bench/quant, or the folder named by $GB_GGML_DIR) is loaded
 * with dlopen and given the same inputs:
 *   - ggml_quantize_chunk (what llama-quantize calls, no importance matrix) must write the
 *     same bytes as gb_quant_quantize_row for Q8_0, Q4_0, Q4_K, Q6_K, F16, BF16;
 *   - dequantize_row_* the same floats (bit for bit), quantize_row_q8_K_ref the same Q8_K;
 *   - ggml_fp32_to_fp16 / fp16_to_fp32 / fp32_to_bf16 the same bits (NaN payloads aside);
 *   - ggml's AVX2 dot products on our blocks the same sums up to float summation order.
 * Skipped when the library is not there (it is x86-64 Linux only). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "glassbox/rng.h"
#include "test.h"

#define DEFAULT_DIR "bench/quant/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"

typedef size_t (*quantize_chunk_fn)(int type, const float *src, void *dst, int64_t start,
                                    int64_t nrows, int64_t n_per_row, const float *imatrix);
typedef void (*dequant_fn)(const void *x, float *y, int64_t k);
typedef void (*qref_fn)(const float *x, void *y, int64_t k);
typedef uint16_t (*f2h_fn)(float);
typedef float (*h2f_fn)(uint16_t);
typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy,
                           size_t by, int nrc);

static void *base_lib, *cpu_lib;

/* Both libraries, or NULL (after a skip message). */
static void *sym(const char *name) {
    static int tried;
    if (!tried) {
        tried = 1;
        const char *dir = getenv("GB_GGML_DIR");
        if (!dir) dir = DEFAULT_DIR;
        char path[1024];
        snprintf(path, sizeof path, "%s/libggml-base.so", dir);
        base_lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
        snprintf(path, sizeof path, "%s/libggml-cpu-haswell.so", dir);
        /* ggml's "haswell" build: AVX2, FMA, F16C (which every AVX2 CPU has) */
        if (base_lib && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            cpu_lib = dlopen(path, RTLD_NOW);
        if (cpu_lib) {
            void (*init)(void) = (void (*)(void))dlsym(cpu_lib, "ggml_cpu_init");
            if (init) init();
        }
    }
    if (!base_lib) return NULL;
    void *p = dlsym(base_lib, name);
    if (!p && cpu_lib) p = dlsym(cpu_lib, name);
    return p;
}

static int have_ggml(void) {
    if (sym("ggml_quantize_chunk")) return 1;
    gb_test_skip("no ggml library (cd bench/quant && npm install, or set GB_GGML_DIR)");
    return 0;
}

/* Rows that exercise the quantizers' branches: Gaussian, outliers, tiny, all-equal blocks,
 * zeros, a negative maximum, wide dynamic range. */
static void fill_rows(float *x, int64_t nrows, int64_t ncols, uint64_t seed) {
    gb_rng r;
    gb_rng_seed(&r, seed);
    for (int64_t i = 0; i < nrows; i++) {
        float *row = x + i * ncols;
        int kind = (int)(i % 8);
        for (int64_t j = 0; j < ncols; j++) {
            float g = gb_rng_normal(&r);
            switch (kind) {
            case 0: row[j] = g; break;
            case 1: row[j] = gb_rng_below(&r, 50) == 0 ? 20.0f * g : g; break;
            case 2: row[j] = 1e-3f * g; break;
            case 3: row[j] = (j / 32) % 3 == 0 ? 0.0f : g * 0.02f; break;
            case 4: row[j] = (float)((j / 16) % 4) * 0.25f; break; /* constant runs */
            case 5: row[j] = -fabsf(g) * 3.0f; break;
            case 6: row[j] = g * expf(4.0f * gb_rng_float(&r) - 2.0f); break;
            default: row[j] = gb_rng_float(&r) + 0.5f; break; /* all positive: min > 0 */
            }
        }
    }
}

static void check_type_bytes(int type, const char *name, int64_t nrows, int64_t ncols) {
    quantize_chunk_fn qc = (quantize_chunk_fn)sym("ggml_quantize_chunk");
    float *x = malloc((size_t)(nrows * ncols) * sizeof *x);
    size_t rs = gb_quant_row_size((uint32_t)type, ncols);
    unsigned char *want = calloc(1, rs * (size_t)nrows), *got = calloc(1, rs * (size_t)nrows);
    fill_rows(x, nrows, ncols, 1000u + (uint64_t)type);
    size_t n = qc(type, x, want, 0, nrows, ncols, NULL);
    CHECK_EQ_INT(n, rs * (size_t)nrows);
    for (int64_t i = 0; i < nrows; i++)
        CHECK_OK(gb_quant_quantize_row((uint32_t)type, got + (size_t)i * rs, x + i * ncols, ncols));
    for (int64_t i = 0; i < nrows; i++) {
        if (memcmp(got + (size_t)i * rs, want + (size_t)i * rs, rs) != 0) {
            size_t b = 0;
            while (got[(size_t)i * rs + b] == want[(size_t)i * rs + b]) b++;
            gb_test_fail(__FILE__, __LINE__, "%s: row %lld (kind %lld) differs from ggml at byte %zu",
                         name, (long long)i, (long long)(i % 8), b);
            break;
        }
    }
    free(x), free(want), free(got);
}

TEST(core_quant_ggml_quantize_bytes) {
    if (!have_ggml()) return;
    check_type_bytes(GB_GGML_Q8_0, "Q8_0", 64, 512);
    check_type_bytes(GB_GGML_Q4_0, "Q4_0", 64, 512);
    check_type_bytes(GB_GGML_Q4_K, "Q4_K", 64, 512);
    check_type_bytes(GB_GGML_Q6_K, "Q6_K", 64, 512);
    check_type_bytes(GB_GGML_F16, "F16", 16, 512);
    check_type_bytes(GB_GGML_BF16, "BF16", 16, 512);
}

/* Random block bytes with finite fp16 scales, dequantized by both. */
static void check_dequant(int type, const char *fn, const char *name, size_t dofs0, size_t dofs1) {
    dequant_fn dq = (dequant_fn)sym(fn);
    if (!dq) {
        gb_test_fail(__FILE__, __LINE__, "ggml has no %s", fn);
        return;
    }
    const int64_t n = 256 * 64;
    size_t rs = gb_quant_row_size((uint32_t)type, n), bs = gb_ggml_type_size((uint32_t)type);
    unsigned char *q = malloc(rs);
    float *got = malloc((size_t)n * sizeof *got), *want = malloc((size_t)n * sizeof *want);
    gb_rng r;
    gb_rng_seed(&r, 7u + (uint64_t)type);
    for (size_t i = 0; i < rs; i++) q[i] = (unsigned char)gb_rng_u64(&r);
    for (size_t b = 0; b < rs / bs; b++) {
        size_t offs[2] = {dofs0, dofs1};
        for (int k = 0; k < 2; k++) {
            if (offs[k] == (size_t)-1) continue;
            uint16_t h = gb_fp32_to_fp16(gb_rng_normal(&r) * 0.01f);
            memcpy(q + b * bs + offs[k], &h, 2);
        }
    }
    dq(q, want, n);
    CHECK_OK(gb_quant_dequantize_row((uint32_t)type, got, q, n));
    if (memcmp(got, want, (size_t)n * sizeof *got) != 0) gb_test_allclose(name, got, want, n, 0, 0);
    free(q), free(got), free(want);
}

TEST(core_quant_ggml_dequantize_bits) {
    if (!have_ggml()) return;
    check_dequant(GB_GGML_Q8_0, "dequantize_row_q8_0", "Q8_0", 0, (size_t)-1);
    check_dequant(GB_GGML_Q4_0, "dequantize_row_q4_0", "Q4_0", 0, (size_t)-1);
    check_dequant(GB_GGML_Q4_K, "dequantize_row_q4_K", "Q4_K", 0, 2);
    check_dequant(GB_GGML_Q6_K, "dequantize_row_q6_K", "Q6_K", 208, (size_t)-1);
}

TEST(core_quant_ggml_q8_K) {
    if (!have_ggml()) return;
    qref_fn q8k = (qref_fn)sym("quantize_row_q8_K_ref");
    REQUIRE(q8k);
    const int64_t nrows = 32, n = 1024;
    float *x = malloc((size_t)(nrows * n) * sizeof *x);
    fill_rows(x, nrows, n, 99);
    gb_block_q8_K want[4], got[4];
    for (int64_t i = 0; i < nrows; i++) {
        memset(want, 0, sizeof want);
        q8k(x + i * n, want, n);
        gb_quantize_row_q8_K(got, x + i * n, n);
        for (int b = 0; b < 4; b++) {
            if (want[b].d == 0.0f) memset(want[b].bsums, 0, sizeof want[b].bsums); /* unset */
            if (memcmp(&got[b], &want[b], sizeof got[b]) != 0) {
                gb_test_fail(__FILE__, __LINE__, "Q8_K row %lld block %d differs", (long long)i, b);
                i = nrows;
                break;
            }
        }
    }
    free(x);
}

TEST(core_quant_ggml_fp16_bf16) {
    if (!have_ggml()) return;
    f2h_fn f2h = (f2h_fn)sym("ggml_fp32_to_fp16"), f2b = (f2h_fn)sym("ggml_fp32_to_bf16");
    h2f_fn h2f = (h2f_fn)sym("ggml_fp16_to_fp32");
    REQUIRE(f2h && f2b && h2f);
    long bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float a = gb_fp16_to_fp32((uint16_t)h), b = h2f((uint16_t)h);
        if (isnan(a) ? !isnan(b) : memcmp(&a, &b, 4) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* every half, the midpoints between neighbours (ties) and one float either side of them,
     * then random bit patterns; NaNs compared as NaN only (ggml's scalar code returns the
     * canonical 0x7E00, F16C keeps the payload) */
    gb_rng r;
    gb_rng_seed(&r, 5);
    for (uint32_t i = 0; i < (1u << 22); i++) {
        float f;
        if (i < 65536 * 4) {
            uint16_t h = (uint16_t)(i / 4);
            float a = gb_fp16_to_fp32(h), b = gb_fp16_to_fp32((uint16_t)(h + 1));
            float m = (float)(((double)a + (double)b) / 2);
            f = (i % 4 == 0) ? a : (i % 4 == 1) ? m : (i % 4 == 2) ? nextafterf(m, -INFINITY) : nextafterf(m, INFINITY);
        } else {
            uint32_t u = (uint32_t)gb_rng_u64(&r);
            memcpy(&f, &u, 4);
        }
        uint16_t a = gb_fp32_to_fp16(f), b = f2h(f);
        if (isnan(f) ? !((a & 0x7c00) == 0x7c00 && (a & 0x3ff) && (b & 0x7c00) == 0x7c00 && (b & 0x3ff)) : a != b) {
            if (bad++ < 3)
                gb_test_fail(__FILE__, __LINE__, "fp16(%a): 0x%04x, ggml 0x%04x", (double)f, a, b);
        }
        if (gb_fp32_to_bf16(f) != f2b(f)) {
            if (bad++ < 3)
                gb_test_fail(__FILE__, __LINE__, "bf16(%a): 0x%04x, ggml 0x%04x", (double)f,
                             gb_fp32_to_bf16(f), f2b(f));
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* ggml's own AVX2 dot products on our blocks: the integer parts must agree, so the sums agree
 * to float rounding (ggml sums in another order). */
TEST(core_quant_ggml_vec_dot) {
    if (!have_ggml()) return;
    if (!cpu_lib) {
        gb_test_skip("no AVX2 ggml CPU library for this machine");
        return;
    }
    struct {
        int type;
        const char *fn;
    } cases[] = {{GB_GGML_Q8_0, "ggml_vec_dot_q8_0_q8_0"},
                 {GB_GGML_Q4_0, "ggml_vec_dot_q4_0_q8_0"},
                 {GB_GGML_Q4_K, "ggml_vec_dot_q4_K_q8_K"},
                 {GB_GGML_Q6_K, "ggml_vec_dot_q6_K_q8_K"}};
    const int64_t n = 4096;
    float *w = malloc(n * sizeof *w), *x = malloc(n * sizeof *x), *wd = malloc(n * sizeof *wd);
    void *wq = malloc(gb_quant_row_size(GB_GGML_Q8_0, n) + gb_quant_row_size(GB_GGML_Q8_K, n));
    void *xq = malloc(gb_quant_row_size(GB_GGML_Q8_0, n) + gb_quant_row_size(GB_GGML_Q8_K, n));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        vec_dot_fn vd = (vec_dot_fn)sym(cases[c].fn);
        if (!vd) {
            gb_test_fail(__FILE__, __LINE__, "ggml has no %s", cases[c].fn);
            continue;
        }
        for (int rep = 0; rep < 8; rep++) {
            fill_rows(w, 1, n, 10u * c + rep);
            fill_rows(x, 1, n, 500u + 10u * c + rep);
            uint32_t t = (uint32_t)cases[c].type, vt = gb_quant_vec_dot_type(t);
            CHECK_OK(gb_quant_quantize_row(t, wq, w, n));
            gb_quant_quantize_act(vt, xq, x, n);
            float want = 0, got = gb_quant_vec_dot(t, wq, xq, n);
            vd((int)n, &want, 0, wq, 0, xq, 0, 1);
            /* bound: a few ulps of Σ|w·x| over the dequantized values */
            CHECK_OK(gb_quant_dequantize_row(t, wd, wq, n));
            double mag = 0;
            for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * x[i]);
            if (!(fabs((double)got - want) <= 1e-5 * mag + 1e-30))
                gb_test_fail(__FILE__, __LINE__, "%s rep %d: %.9g, ggml %.9g (|Σ| %.3g)",
                             cases[c].fn, rep, got, want, mag);
        }
    }
    free(w), free(x), free(wd), free(wq), free(xq);
}
