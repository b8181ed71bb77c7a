/* Quantized types: hand-built blocks decoded exactly, round-trip error bounds on Gaussian and
 * outlier data, fp16/bf16 conversions over every half, every AVX2 kernel against its scalar
 * reference (bit for bit for the quantized dots), dot products against dequantize-then-dot,
 * and matvec/matmul (thread-count independent, argument errors). The byte-for-byte comparison
 * with ggml itself is in test_quant_ggml.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "test.h"

static const uint32_t qtypes[] = {GB_GGML_Q8_0, GB_GGML_Q4_0, GB_GGML_Q4_K, GB_GGML_Q6_K};
static const uint32_t all_types[] = {GB_GGML_F32,  GB_GGML_F16,  GB_GGML_BF16, GB_GGML_Q8_0,
                                     GB_GGML_Q4_0, GB_GGML_Q4_K, GB_GGML_Q6_K};
#define N_ALL (sizeof all_types / sizeof all_types[0])

/* Whether this CPU runs the kernels of isa (the automatic choice is restored). */
static int cpu_has(gb_quant_isa isa) { return gb_quant_use(isa) && (gb_quant_use(GB_QUANT_AUTO), 1); }
static int has_avx2(void) { return cpu_has(GB_QUANT_AVX2); }

static const char *no_isa(gb_quant_isa isa) {
    return isa == GB_QUANT_AVX2 ? "no AVX2+FMA+F16C on this CPU" : "no AVX-512 F/BW/VL+VNNI on this CPU";
}

static int64_t blck(uint32_t t) { return t == GB_GGML_Q4_K || t == GB_GGML_Q6_K ? 256 : t <= 1 || t == 30 ? 1 : 32; }

static void gaussian(float *x, int64_t n, gb_rng *r, float outlier_rate) {
    for (int64_t i = 0; i < n; i++) {
        x[i] = gb_rng_normal(r);
        if (outlier_rate > 0 && gb_rng_float(r) < outlier_rate) x[i] *= 10.0f;
    }
}

/* ---- known answers ------------------------------------------------------------------------- */

TEST(core_quant_known_q4_0) {
    gb_block_q4_0 b;
    b.d = 0x3800; /* 0.5 */
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float y[32];
    gb_dequantize_row_q4_0(y, &b, 32);
    for (int j = 0; j < 16; j++) {
        CHECK(y[j] == 0.5f * (float)(j - 8));
        CHECK(y[j + 16] == 0.5f * (float)(7 - j));
    }
    /* and back: the block's max |x| is x[0] = −4, so d = −4/−8 = 0.5 and the codes return */
    gb_block_q4_0 c;
    gb_quantize_row_q4_0(&c, y, 32);
    CHECK_EQ_INT(c.d, 0x3800);
    CHECK(memcmp(c.qs, b.qs, 16) == 0);
}

TEST(core_quant_known_q8_0) {
    gb_block_q8_0 b;
    b.d = 0x3c00; /* 1.0 */
    for (int j = 0; j < 32; j++) b.qs[j] = (int8_t)(j * 8 - 127);
    float y[32];
    gb_dequantize_row_q8_0(y, &b, 32);
    for (int j = 0; j < 32; j++) CHECK(y[j] == (float)(j * 8 - 127));
    /* ramp 0..31: d = 31/127, codes round(j·127/31) (halves away from zero) */
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)j;
    gb_quantize_row_q8_0(&b, x, 32);
    CHECK_EQ_INT(b.d, gb_fp32_to_fp16(31.0f / 127));
    for (int j = 0; j < 32; j++) CHECK_EQ_INT(b.qs[j], (int)roundf((float)j * (1.0f / (31.0f / 127))));
}

TEST(core_quant_known_q4_K) {
    gb_block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = 0x3c00;    /* 1.0 */
    b.dmin = 0x3800; /* 0.5 */
    uint8_t sc[8] = {1, 2, 3, 63, 17, 33, 48, 63}, mn[8] = {0, 5, 10, 63, 16, 31, 32, 1};
    for (int j = 0; j < 4; j++) {
        b.scales[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
        b.scales[j + 4] = (uint8_t)(mn[j] | ((mn[j + 4] >> 4) << 6));
        b.scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
    for (int i = 0; i < 128; i++) b.qs[i] = (uint8_t)((i % 16) | ((15 - i % 16) << 4));
    float y[256];
    gb_dequantize_row_q4_K(y, &b, 256);
    for (int e = 0; e < 256; e++) {
        int chunk = e / 64, l = e % 32, hi = (e % 64) >= 32, j = 2 * chunk + hi;
        int q = hi ? 15 - l % 16 : l % 16;
        float want = (1.0f * sc[j]) * (float)q - 0.5f * mn[j];
        if (y[e] != want) {
            gb_test_fail(__FILE__, __LINE__, "Q4_K element %d: %g, want %g", e, y[e], want);
            break;
        }
    }
}

TEST(core_quant_known_q6_K) {
    gb_block_q6_K b;
    b.d = 0x3400; /* 0.25 */
    for (int g = 0; g < 16; g++) b.scales[g] = (int8_t)(g * 17 - 128);
    /* element e gets code c(e) = (e * 7) % 64, placed by the layout in quant.c */
    memset(b.ql, 0, sizeof b.ql);
    memset(b.qh, 0, sizeof b.qh);
    for (int e = 0; e < 256; e++) {
        int c = (e * 7) % 64, h = e / 128, t = (e % 128) / 32, l = e % 32;
        b.ql[64 * h + l + 32 * (t & 1)] |= (uint8_t)((c & 15) << (4 * (t >> 1)));
        b.qh[32 * h + l] |= (uint8_t)((c >> 4) << (2 * t));
    }
    float y[256];
    gb_dequantize_row_q6_K(y, &b, 256);
    for (int e = 0; e < 256; e++) {
        float want = 0.25f * b.scales[e / 16] * (float)((e * 7) % 64 - 32);
        if (y[e] != want) {
            gb_test_fail(__FILE__, __LINE__, "Q6_K element %d: %g, want %g", e, y[e], want);
            break;
        }
    }
}

TEST(core_quant_sizes_and_errors) {
    CHECK_EQ_INT(gb_quant_row_size(GB_GGML_Q8_0, 64), 68);
    CHECK_EQ_INT(gb_quant_row_size(GB_GGML_Q4_0, 64), 36);
    CHECK_EQ_INT(gb_quant_row_size(GB_GGML_Q4_K, 512), 288);
    CHECK_EQ_INT(gb_quant_row_size(GB_GGML_Q6_K, 512), 420);
    CHECK_EQ_INT(gb_quant_row_size(GB_GGML_BF16, 3), 6);
    CHECK_EQ_INT(gb_quant_row_size(GB_GGML_Q5_K, 256), 0);
    float x[256] = {0}, out[4];
    unsigned char buf[1024];
    CHECK_EQ_INT(gb_quant_quantize_row(GB_GGML_Q5_K, buf, x, 256), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "Q5_K") != NULL);
    CHECK_EQ_INT(gb_quant_quantize_row(GB_GGML_Q4_K, buf, x, 100), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "block size 256") != NULL);
    CHECK_EQ_INT(gb_quant_dequantize_row(77, x, buf, 32), GB_ERR_ARG);
    CHECK_EQ_INT(gb_quant_matvec(GB_GGML_Q8_0, buf, x, out, 1, 33), GB_ERR_ARG);
    CHECK_EQ_INT(gb_quant_matvec(GB_GGML_Q8_K, buf, x, out, 1, 256), GB_ERR_ARG);
    CHECK_OK(gb_quant_matvec(GB_GGML_Q8_0, buf, x, out, 0, 32));
    /* all-zero input: zero blocks, zero output */
    for (size_t t = 0; t < N_ALL; t++) {
        float y[256];
        memset(buf, 0xAB, sizeof buf);
        CHECK_OK(gb_quant_quantize_row(all_types[t], buf, x, 256));
        CHECK_OK(gb_quant_dequantize_row(all_types[t], y, buf, 256));
        for (int i = 0; i < 256; i++) CHECK(y[i] == 0.0f);
    }
}

/* NaN and Inf in the input must not crash (UBSan: no undefined conversions) or write out of
 * the row; the codes are meaningless. */
TEST(core_quant_nonfinite_input) {
    float x[512];
    gb_rng r;
    gb_rng_seed(&r, 3);
    gaussian(x, 512, &r, 0);
    x[3] = NAN, x[40] = INFINITY, x[300] = -INFINITY, x[301] = 1e-40f, x[302] = 3e38f;
    unsigned char buf[2048 + 16];
    for (size_t t = 0; t < N_ALL; t++) {
        memset(buf, 0x5A, sizeof buf);
        size_t rs = gb_quant_row_size(all_types[t], 512);
        CHECK_OK(gb_quant_quantize_row(all_types[t], buf, x, 512));
        CHECK(buf[rs] == 0x5A);
    }
    float tiny[32];
    for (int i = 0; i < 32; i++) tiny[i] = i == 5 ? 1e-38f : 0.0f; /* 1/d overflows to Inf */
    gb_block_q8_0 q;
    gb_quantize_row_q8_0(&q, tiny, 32);
    gb_block_q8_K k[2];
    gb_quantize_row_q8_K(k, x, 512);
}

/* ---- round-trip error ---------------------------------------------------------------------- */

/* RMSE / RMS of quantize→dequantize on n values. */
static double roundtrip_rel_rmse(uint32_t type, const float *x, int64_t n) {
    void *q = malloc(gb_quant_row_size(type, n));
    float *y = malloc((size_t)n * sizeof *y);
    gb_quant_quantize_row(type, q, x, n);
    gb_quant_dequantize_row(type, y, q, n);
    double se = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        ss += (double)x[i] * x[i];
    }
    free(q), free(y);
    return sqrt(se / ss);
}

TEST(core_quant_roundtrip_error) {
    /* bounds ~15 % above the figures measured on this data (docs/quantization.md):
     * {type, Gaussian, 1 % outliers ×10} */
    static const struct {
        uint32_t type;
        double gauss, outl;
    } lim[] = {
        {GB_GGML_F16, 0.00025, 0.00025}, {GB_GGML_BF16, 0.0019, 0.0019},
        {GB_GGML_Q8_0, 0.0062, 0.0108},  {GB_GGML_Q4_0, 0.099, 0.166},
        {GB_GGML_Q4_K, 0.082, 0.108},    {GB_GGML_Q6_K, 0.0205, 0.0318},
    };
    const int64_t n = 1 << 16;
    float *x = malloc(n * sizeof *x);
    gb_rng r;
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        for (int o = 0; o < 2; o++) {
            gb_rng_seed(&r, 11);
            gaussian(x, n, &r, o ? 0.01f : 0.0f);
            double e = roundtrip_rel_rmse(lim[i].type, x, n), want = o ? lim[i].outl : lim[i].gauss;
            if (getenv("GB_QUANT_PRINT"))
                printf("  %-5s %-9s rel RMSE %.5f\n", gb_ggml_type_name(lim[i].type),
                       o ? "outliers" : "gaussian", e);
            if (!(e < want))
                gb_test_fail(__FILE__, __LINE__, "%s %s: relative RMSE %.5f >= %.5f",
                             gb_ggml_type_name(lim[i].type), o ? "outliers" : "gaussian", e, want);
        }
    }
    free(x);
}

/* Every element's error is within its block's rounding step: |x − y| <= d/2 (Q8_0, Q4_0
 * away from the clamped +8 end) — a per-element invariant besides the RMS one. */
TEST(core_quant_roundtrip_elementwise) {
    const int64_t n = 4096;
    float x[4096], y[4096];
    gb_block_q8_0 q8[128];
    gb_block_q4_0 q4[128];
    gb_rng r;
    gb_rng_seed(&r, 12);
    gaussian(x, n, &r, 0.01f);
    gb_quantize_row_q8_0(q8, x, n);
    gb_dequantize_row_q8_0(y, q8, n);
    for (int64_t i = 0; i < n; i++) {
        double d = gb_fp16_to_fp32(q8[i / 32].d);
        /* d was rounded to fp16 after the codes were chosen: allow its relative error too */
        if (!(fabs((double)y[i] - x[i]) <= d * 0.5 * (1 + 1e-6) + 127 * d * 0x1p-11)) {
            gb_test_fail(__FILE__, __LINE__, "Q8_0 [%lld]: %g vs %g (d %g)", (long long)i, y[i], x[i], d);
            break;
        }
    }
    gb_quantize_row_q4_0(q4, x, n);
    gb_dequantize_row_q4_0(y, q4, n);
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(gb_fp16_to_fp32(q4[i / 32].d));
        if (!(fabs((double)y[i] - x[i]) <= d * 1.0 * (1 + 1e-6) + 8 * d * 0x1p-11)) {
            gb_test_fail(__FILE__, __LINE__, "Q4_0 [%lld]: %g vs %g (d %g)", (long long)i, y[i], x[i], d);
            break;
        }
    }
}

/* ---- fp16 / bf16 --------------------------------------------------------------------------- */

/* A half's value computed from its fields with ldexp, in double. */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? INFINITY : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

/* The nearest half to f (finite), ties to even, by binary search over the positive halves;
 * beyond the largest half + half an ulp: Inf. */
static uint16_t half_nearest(float f) {
    double a = fabs((double)f);
    uint16_t s = signbit(f) ? 0x8000 : 0;
    if (a >= 65520.0) return s | 0x7c00;
    uint16_t lo = 0, hi = 0x7bff;
    while (lo < hi) { /* largest h with value(h) <= a */
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if (half_value(mid) <= a) lo = mid;
        else hi = (uint16_t)(mid - 1);
    }
    double d0 = a - half_value(lo), d1 = half_value((uint16_t)(lo + 1)) - a;
    uint16_t h = (d1 < d0 || (d1 == d0 && (lo & 1))) ? (uint16_t)(lo + 1) : lo;
    return s | h;
}

TEST(core_quant_fp16_exhaustive) {
    long bad = 0;
    float *fa = malloc(65536 * sizeof *fa);
    uint16_t *hs = malloc(65536 * sizeof *hs), *hb = malloc(65536 * sizeof *hb);
    for (uint32_t h = 0; h < 65536; h++) hs[h] = (uint16_t)h;
    gb_fp16_to_f32_row(fa, hs, 65536); /* the selected (F16C) path */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = gb_fp16_to_fp32((uint16_t)h);
        int nan = ((h >> 10) & 31) == 31 && (h & 1023);
        if (nan) {
            uint32_t u;
            memcpy(&u, &f, 4);
            if (!isnan(f) || (u >> 31) != (h >> 15) || ((u >> 13) & 0x1ff) != (h & 0x1ff)) bad++;
        } else if ((double)f != half_value((uint16_t)h) || (signbit(f) != 0) != (int)(h >> 15)) {
            bad++;
        }
        if (memcmp(&fa[h], &f, 4) != 0) bad++; /* SIMD row == scalar, NaNs included */
        /* every non-NaN half survives the round trip */
        if (!nan && gb_fp32_to_fp16(f) != h) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* rounding: each half, the midpoint to the next and a float either side of it */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float a = (float)half_value((uint16_t)h), b = (float)half_value((uint16_t)(h + 1));
        float m = (float)(((double)a + b) / 2), c[3] = {m, nextafterf(m, 0), nextafterf(m, INFINITY)};
        for (int k = 0; k < 3; k++) {
            for (int sg = 0; sg < 2; sg++) {
                float f = sg ? -c[k] : c[k];
                if (gb_fp32_to_fp16(f) != half_nearest(f)) {
                    if (bad++ < 3)
                        gb_test_fail(__FILE__, __LINE__, "fp16(%a) = 0x%04x, want 0x%04x", (double)f,
                                     gb_fp32_to_fp16(f), half_nearest(f));
                }
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* random floats (NaNs included): reference for finite ones, F16C row == scalar for all */
    gb_rng r;
    gb_rng_seed(&r, 77);
    float *f = malloc(65536 * sizeof *f);
    for (int rep = 0; rep < 8; rep++) {
        for (int i = 0; i < 65536; i++) {
            uint32_t u = (uint32_t)gb_rng_u64(&r);
            if (i % 4 == 0) u = (u & 0x807fffffu) | ((uint32_t)(100 + gb_rng_below(&r, 50)) << 23);
            if (i % 64 == 1) u |= 0x7f800000u; /* NaN or Inf */
            memcpy(&f[i], &u, 4);
        }
        gb_fp16_from_f32_row(hb, f, 65536);
        for (int i = 0; i < 65536; i++) {
            uint16_t s = gb_fp32_to_fp16(f[i]);
            if (hb[i] != s || (!isnan(f[i]) && s != half_nearest(f[i]))) {
                if (bad++ < 3)
                    gb_test_fail(__FILE__, __LINE__, "fp16(%a): row 0x%04x, scalar 0x%04x", (double)f[i], hb[i], s);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(fa), free(hs), free(hb), free(f);
}

TEST(core_quant_bf16_exhaustive) {
    long bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = gb_bf16_to_fp32((uint16_t)h);
        uint32_t u;
        memcpy(&u, &f, 4);
        if (u != h << 16) bad++;
        int nan = ((h >> 7) & 255) == 255 && (h & 127);
        if (nan ? gb_fp32_to_bf16(f) != (h | 64) : gb_fp32_to_bf16(f) != h) bad++;
        if (nan || ((h >> 7) & 255) == 255) continue;
        /* the midpoint to the next bf16 rounds to the even one; either side to the nearer */
        uint32_t mid = (h << 16) | 0x8000u, even = (h & 1) ? h + 1 : h;
        float fm, fl, fh;
        uint32_t ul = mid - 1, uh = mid + 1;
        memcpy(&fm, &mid, 4), memcpy(&fl, &ul, 4), memcpy(&fh, &uh, 4);
        if (gb_fp32_to_bf16(fm) != even || gb_fp32_to_bf16(fl) != h || gb_fp32_to_bf16(fh) != h + 1)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(gb_fp32_to_bf16(3.4e38f), 0x7f80); /* rounds up to Inf */
}

/* ---- SIMD == scalar ------------------------------------------------------------------------ */

/* Random weight blocks: random bytes with small finite fp16 scales (the codes span their whole
 * range), and activations from the quantizer (codes in [-127, 127]). */
static void random_weights(uint32_t type, void *q, int64_t n, gb_rng *r) {
    size_t rs = gb_quant_row_size(type, n);
    unsigned char *p = q;
    for (size_t i = 0; i < rs; i++) p[i] = (unsigned char)gb_rng_u64(r);
    size_t bs = type == GB_GGML_Q8_0 ? 34 : type == GB_GGML_Q4_0 ? 18 : type == GB_GGML_Q4_K ? 144 : 210;
    for (size_t b = 0; b < rs / bs; b++) {
        uint16_t d = gb_fp32_to_fp16(gb_rng_normal(r) * 0.01f), m = gb_fp32_to_fp16(gb_rng_float(r) * 0.01f);
        if (type == GB_GGML_Q6_K) memcpy(p + b * bs + 208, &d, 2);
        else memcpy(p + b * bs, &d, 2);
        if (type == GB_GGML_Q4_K) memcpy(p + b * bs + 2, &m, 2);
    }
}

/* Every quantized dot product of isa against the scalar one, bit for bit, directly and through
 * matvec (whose Q8_0/Q4_0 kernels read the activation side table), on every length. */
static void quantized_equal_scalar(gb_quant_isa isa) {
    if (!cpu_has(isa)) {
        gb_test_skip(no_isa(isa));
        return;
    }
    gb_rng r;
    gb_rng_seed(&r, 21);
    const int64_t nmax = 256 * 9;
    void *w = malloc(gb_quant_row_size(GB_GGML_Q8_0, nmax));
    void *a = malloc(gb_quant_row_size(GB_GGML_Q8_K, nmax) + gb_quant_row_size(GB_GGML_Q8_0, nmax));
    float *x = malloc(nmax * sizeof *x);
    long cases = 0;
    for (size_t t = 0; t < 4; t++) {
        uint32_t type = qtypes[t], vt = gb_quant_vec_dot_type(type);
        int64_t b = blck(type);
        for (int64_t nb = 1; nb * b <= nmax; nb += (b == 32 ? 1 : 1)) {
            for (int rep = 0; rep < (b == 32 ? 3 : 12); rep++) {
                int64_t n = nb * b;
                random_weights(type, w, n, &r);
                gaussian(x, n, &r, rep % 3 == 0 ? 0.05f : 0.0f);
                gb_quant_quantize_act(vt, a, x, n);
                gb_quant_use(GB_QUANT_SCALAR);
                float s = gb_quant_vec_dot(type, w, a, n);
                gb_quant_use(isa);
                float v = gb_quant_vec_dot(type, w, a, n), mv = 0;
                /* matvec's kernels read the activation side table (Q8_0, Q4_0): the same bits */
                CHECK_OK(gb_quant_matvec(type, w, x, &mv, 1, n));
                cases++;
                if (memcmp(&s, &v, 4) != 0 || memcmp(&s, &mv, 4) != 0) {
                    gb_test_fail(__FILE__, __LINE__, "%s %s n=%lld: simd %.9g, simd matvec %.9g, scalar %.9g",
                                 gb_quant_kernel_name(), gb_ggml_type_name(type), (long long)n, v, mv, s);
                    rep = 99, nb = nmax;
                }
            }
        }
    }
    gb_quant_use(GB_QUANT_AUTO);
    CHECK(cases > 500);
    free(w), free(a), free(x);
}

TEST(core_quant_avx2_equals_scalar_quantized) { quantized_equal_scalar(GB_QUANT_AVX2); }
TEST(core_quant_avx512_equals_scalar_quantized) { quantized_equal_scalar(GB_QUANT_AVX512); }

TEST(core_quant_simd_equals_scalar_float) {
    if (!has_avx2()) {
        gb_test_skip("no AVX2+FMA+F16C on this CPU");
        return;
    }
    gb_rng r;
    gb_rng_seed(&r, 22);
    const int64_t nmax = 300;
    float w[300], x[300];
    uint16_t h[300], bf[300];
    for (int64_t n = 1; n <= nmax; n++) {
        gaussian(w, n, &r, 0), gaussian(x, n, &r, 0);
        gb_fp16_from_f32_row(h, w, n);
        gb_bf16_from_f32_row(bf, w, n);
        double mag16 = 0, magb = 0, mag32 = 0;
        for (int64_t i = 0; i < n; i++) {
            mag16 += fabs(gb_fp16_to_fp32(h[i]) * x[i]);
            magb += fabs(gb_bf16_to_fp32(bf[i]) * x[i]);
            mag32 += fabs(w[i] * x[i]);
        }
        float s[3], v[3];
        gb_quant_use(GB_QUANT_SCALAR);
        s[0] = gb_quant_vec_dot(GB_GGML_F16, h, x, n);
        s[1] = gb_quant_vec_dot(GB_GGML_BF16, bf, x, n);
        s[2] = gb_quant_vec_dot(GB_GGML_F32, w, x, n);
        gb_quant_use(GB_QUANT_AVX2);
        v[0] = gb_quant_vec_dot(GB_GGML_F16, h, x, n);
        v[1] = gb_quant_vec_dot(GB_GGML_BF16, bf, x, n);
        v[2] = gb_quant_vec_dot(GB_GGML_F32, w, x, n);
        double mag[3] = {mag16, magb, mag32};
        for (int k = 0; k < 3; k++) /* both within n·eps·Σ|w·x| of the truth */
            if (!(fabs((double)s[k] - v[k]) <= 2.0 * (double)n * 0x1p-24 * mag[k]))
                gb_test_fail(__FILE__, __LINE__, "float dot %d n=%lld: avx2 %.9g scalar %.9g", k,
                             (long long)n, v[k], s[k]);
    }
    gb_quant_use(GB_QUANT_AUTO);
}

/* ---- dot products against dequantize-then-dot ---------------------------------------------- */

TEST(core_quant_dot_vs_dequantized) {
    gb_rng r;
    gb_rng_seed(&r, 31);
    const int64_t n = 2048;
    float *w = malloc(n * sizeof *w), *x = malloc(n * sizeof *x), *wd = malloc(n * sizeof *wd),
          *xd = malloc(n * sizeof *xd);
    void *wq = malloc(4 * n + 64), *xq = malloc(gb_quant_row_size(GB_GGML_Q8_K, n) + 4 * n);
    for (size_t t = 0; t < N_ALL; t++) {
        uint32_t type = all_types[t], vt = gb_quant_vec_dot_type(type);
        for (int rep = 0; rep < 4; rep++) {
            gaussian(w, n, &r, rep & 1 ? 0.02f : 0), gaussian(x, n, &r, rep & 2 ? 0.02f : 0);
            CHECK_OK(gb_quant_quantize_row(type, wq, w, n));
            CHECK_OK(gb_quant_dequantize_row(type, wd, wq, n));
            gb_quant_quantize_act(vt, xq, x, n);
            if (vt == GB_GGML_F32) memcpy(xd, x, n * sizeof *x);
            else CHECK_OK(gb_quant_dequantize_row(vt, xd, xq, n));
            /* exact value of what the kernel multiplies, and the bound on the activation
             * rounding: |x − xd| per element, times |wd| */
            double want = 0, mag = 0, xerr = 0;
            for (int64_t i = 0; i < n; i++) {
                want += (double)wd[i] * xd[i];
                mag += fabs((double)wd[i] * xd[i]);
                xerr += fabs((double)wd[i]) * fabs((double)x[i] - xd[i]);
            }
            float got = gb_quant_vec_dot(type, wq, xq, n);
            if (!(fabs(got - want) <= 1e-5 * mag + 1e-6)) /* the kernel vs its own inputs */
                gb_test_fail(__FILE__, __LINE__, "%s rep %d: dot %.9g, dequantized %.9g",
                             gb_ggml_type_name(type), rep, got, want);
            double truth = 0;
            for (int64_t i = 0; i < n; i++) truth += (double)wd[i] * x[i];
            if (!(fabs(got - truth) <= xerr + 1e-5 * mag + 1e-6)) /* vs float activations */
                gb_test_fail(__FILE__, __LINE__, "%s rep %d: dot %.9g vs float x %.9g (bound %.3g)",
                             gb_ggml_type_name(type), rep, got, truth, xerr);
        }
    }
    free(w), free(x), free(wd), free(xd), free(wq), free(xq);
}

/* ---- matvec / matmul ------------------------------------------------------------------------ */

TEST(core_quant_matvec_threads) {
    gb_rng r;
    gb_rng_seed(&r, 41);
    const int64_t rows = 67, cols = 512, M = 3;
    float *W = malloc(rows * cols * sizeof *W), *X = malloc(M * cols * sizeof *X);
    float *o1 = malloc(M * rows * sizeof *o1), *o2 = malloc(M * rows * sizeof *o2),
          *ov = malloc(rows * sizeof *ov);
    void *wq = malloc(rows * cols * 4), *xq = malloc(gb_quant_row_size(GB_GGML_Q8_K, cols) + 4 * cols);
    gaussian(W, rows * cols, &r, 0.01f), gaussian(X, M * cols, &r, 0);
    int saved = gb_threads_get();
    for (size_t t = 0; t < N_ALL; t++) {
        uint32_t type = all_types[t], vt = gb_quant_vec_dot_type(type);
        size_t rs = gb_quant_row_size(type, cols);
        for (int64_t i = 0; i < rows; i++)
            CHECK_OK(gb_quant_quantize_row(type, (char *)wq + i * rs, W + i * cols, cols));
        gb_threads_set(1);
        CHECK_OK(gb_quant_matmul(type, wq, X, o1, M, rows, cols));
        gb_threads_set(3);
        CHECK_OK(gb_quant_matmul(type, wq, X, o2, M, rows, cols));
        CHECK(memcmp(o1, o2, M * rows * sizeof *o1) == 0);
        for (int64_t m = 0; m < M; m++) {
            CHECK_OK(gb_quant_matvec(type, wq, X + m * cols, ov, rows, cols));
            CHECK(memcmp(ov, o1 + m * rows, rows * sizeof *ov) == 0);
            gb_quant_quantize_act(vt, xq, X + m * cols, cols);
            for (int64_t i = 0; i < rows; i++) {
                float d = gb_quant_vec_dot(type, (char *)wq + i * rs, xq, cols);
                if (memcmp(&d, &ov[i], 4) != 0) {
                    gb_test_fail(__FILE__, __LINE__, "%s row %lld: matvec %.9g, vec_dot %.9g",
                                 gb_ggml_type_name(type), (long long)i, ov[i], d);
                    break;
                }
            }
        }
    }
    gb_threads_set(saved);
    gb_quant_release();
    free(W), free(X), free(o1), free(o2), free(ov), free(wq), free(xq);
}

/* n values for a Q8_0 quantizer test, block b of kind (b + round) % 8: Gaussian, rounding ties
 * (a block maximum of 127), tiny and huge magnitudes, signed zeros, subnormals, a NaN or ±inf. */
static void q8_0_test_row(float *x, int n, int round, gb_rng *r) {
    for (int i = 0; i < n; i++) {
        const int kind = (i / 32 + round) % 8;
        float v = gb_rng_normal(r);
        if (kind == 1) v = i % 32 == 0 ? 127.0f : (float)((int)(gb_rng_u64(r) % 253) - 126) + 0.5f;
        if (kind == 2) v *= 1e-30f;
        if (kind == 3) v *= 1e30f;
        if (kind == 4) v = 0.0f * (i % 2 ? -1.0f : 1.0f);
        if (kind == 5) v *= 1e-41f; /* subnormal */
        if (kind == 6 && i % 32 == (round % 32)) v = round % 3 == 0 ? NAN : round % 3 == 1 ? INFINITY : -INFINITY;
        x[i] = v;
    }
}

/* The AVX2 Q8_0 activation quantizer against gb_quantize_row_q8_0, bit for bit: Gaussian rows,
 * rounding ties, tiny and huge magnitudes, zeros, subnormals, and blocks with NaN or ±inf
 * (which it hands to the scalar code). */
TEST(core_quant_act_q8_0_simd_equals_scalar) {
    if (!has_avx2()) {
        gb_test_skip("no AVX2+FMA+F16C on this CPU");
        return;
    }
    gb_rng r;
    gb_rng_seed(&r, 77);
    enum { NB = 64, N = NB * 32 };
    static float x[N];
    static gb_block_q8_0 a[NB], b[NB];
    int bad = 0;
    for (int round = 0; round < 200; round++) {
        q8_0_test_row(x, N, round, &r);
        gb_quantize_row_q8_0(a, x, N);
        gb_quant_quantize_act(GB_GGML_Q8_0, b, x, N);
        bad += memcmp(a, b, sizeof a) != 0;
    }
    CHECK_EQ_INT(bad, 0);
}

/* A decode matvec's activation row (Q8_0 codes with the side table of fp16 scales as floats and
 * code sums) from the AVX2 kernels against the scalar ones, byte for byte: rows of 1..64
 * blocks (the AVX2 code takes 8 at a time), with the values of the test above. */
TEST(core_quant_act_prepare_simd_equals_scalar) {
    if (!has_avx2()) {
        gb_test_skip("no AVX2+FMA+F16C on this CPU");
        return;
    }
    gb_rng r;
    gb_rng_seed(&r, 79);
    enum { MAXB = 64, BYTES = MAXB * 34 + 8 + MAXB * 8 };
    static float x[MAXB * 32];
    static unsigned char a[BYTES], b[BYTES];
    const int sizes[] = {1, 7, 8, 9, 24, 64};
    int bad = 0;
    for (int round = 0; round < 60; round++) {
        const int nb = sizes[round % 6], n = nb * 32;
        q8_0_test_row(x, n, round, &r);
        memset(a, 0, sizeof a), memset(b, 0, sizeof b);
        gb_quant_use(GB_QUANT_SCALAR);
        gb_quant_act_prepare(GB_GGML_Q4_0, a, x, n);
        gb_quant_use(GB_QUANT_AVX2);
        gb_quant_act_prepare(GB_GGML_Q4_0, b, x, n);
        bad += memcmp(a, b, sizeof a) != 0;
    }
    gb_quant_use(GB_QUANT_AUTO);
    CHECK_EQ_INT(bad, 0);
}

/* The AVX2 Q8_K activation quantizer against gb_quantize_row_q8_K, byte for byte: Gaussian
 * rows, rounding ties (a block maximum of 127, so the scale is −1 and x + ½ is a tie), the
 * largest magnitude twice with both signs (the first one sets the scale's sign), tiny and huge
 * magnitudes, zeros, subnormals, and blocks with NaN or ±inf (handed to the scalar code). */
TEST(core_quant_act_q8_K_simd_equals_scalar) {
    if (!has_avx2()) {
        gb_test_skip("no AVX2+FMA+F16C on this CPU");
        return;
    }
    gb_rng r;
    gb_rng_seed(&r, 78);
    enum { NB = 8, N = NB * 256 };
    static float x[N];
    static gb_block_q8_K a[NB], b[NB];
    int bad = 0;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < N; i++) {
            const int blk = i / 256, kind = (blk + round) % 8, e = i % 256;
            float v = gb_rng_normal(&r);
            if (kind == 1) v = e == 3 ? -127.0f : (float)((int)(gb_rng_u64(&r) % 253) - 126) + 0.5f;
            if (kind == 2) v = e == 5 ? -3.0f : e == 9 ? 3.0f : v * 0.5f; /* −3 first: scale sign from it */
            if (kind == 3) v *= (round % 2) ? 1e-30f : 1e30f;
            if (kind == 4) v = 0.0f * (i % 2 ? -1.0f : 1.0f);
            if (kind == 5) v *= 1e-41f; /* subnormal: the scale overflows */
            if (kind == 6 && e == (round % 256)) v = round % 3 == 0 ? NAN : round % 3 == 1 ? INFINITY : -INFINITY;
            x[i] = v;
        }
        gb_quantize_row_q8_K(a, x, N);
        gb_quant_quantize_act(GB_GGML_Q8_K, b, x, N);
        bad += memcmp(a, b, sizeof a) != 0;
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(core_quant_isa_names) {
    CHECK(gb_quant_isa_by_name("scalar") == GB_QUANT_SCALAR && gb_quant_isa_by_name("avx2") == GB_QUANT_AVX2);
    CHECK(gb_quant_isa_by_name("avx512") == GB_QUANT_AVX512 && gb_quant_isa_by_name("amx") == GB_QUANT_AMX);
    CHECK(gb_quant_isa_by_name("neon") == GB_QUANT_AUTO && gb_quant_isa_by_name("") == GB_QUANT_AUTO);
    CHECK(gb_quant_use(GB_QUANT_SCALAR) && !strcmp(gb_quant_kernel_name(), "scalar"));
    gb_quant_use(GB_QUANT_AUTO);
}
