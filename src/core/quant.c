/* glassbox — GGUF number formats: fp16/bf16 conversions, ggml's reference quantizers and
 * dequantizers, the scalar dot products every SIMD kernel is held to, and the threaded
 * matrix-vector / matrix-matrix products. Layouts are in quant.h; docs/quantization.md has
 * the algorithms and measured errors.
 *
 * The quantizers follow ggml's quantize_row_*_ref operation for operation, in the same order,
 * so that the same floats come out rounded the same way: float arithmetic is not associative,
 * and a reordered sum picks another scale now and then. This file is compiled without FMA
 * contraction (ISO C mode, no FMA target), as ggml's reference is on x86-64.
 *
 * Q6_K's code for element e of a super-block (e = 128·h + 32·t + l, h < 2, t < 4, l < 32):
 *   low 4 bits  = ql[64·h + l + 32·(t & 1)] >> (4·(t >> 1)) & 15
 *   high 2 bits = qh[32·h + l] >> (2·t) & 3
 *   scale       = scales[8·h + 2·t + l / 16]                                                 */
#include "core/quant.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant_internal.h"
#include "glassbox/sys.h"

#ifdef QUANT_X86
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define MAXF(a, b) ((a) > (b) ? (a) : (b)) /* ggml's MAX: keeps its NaN behaviour */
#define MINI(a, b) ((a) < (b) ? (a) : (b))
#define MAXI(a, b) ((a) > (b) ? (a) : (b))

static inline uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- fp16 / bf16 ------------------------------------------------------------------------ */

uint16_t gb_fp32_to_fp16(float f) {
    uint32_t u = f2u(f), a = u & 0x7fffffffu;
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u), h;
    if (a > 0x7f800000u) { /* NaN: quiet, top payload bits kept */
        h = (uint16_t)(0x7e00u | ((a >> 13) & 0x3ffu));
    } else if (a >= 0x47800000u) { /* >= 65536 (and Inf): Inf; 65520..65536 round up below */
        h = 0x7c00u;
    } else if (a < 0x38800000u) { /* below 2^-14: a half subnormal or zero */
        /* adding 0.5 (whose ulp is 2^-24, the subnormal step) rounds to nearest even in the
         * FPU; the low bits are then the half's mantissa (1024 = the smallest normal) */
        h = (uint16_t)(f2u(u2f(a) + 0.5f) - 0x3f000000u);
    } else { /* normal: rebias the exponent, round the 13 dropped bits to nearest even */
        uint32_t odd = (a >> 13) & 1u;
        h = (uint16_t)((a - 0x38000000u + 0xfffu + odd) >> 13);
    }
    return (uint16_t)(sign | h);
}

float gb_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return u2f(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    if (e == 0) return u2f(sign | f2u((float)m * 0x1p-24f)); /* zero or subnormal, exact */
    return u2f(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t gb_fp32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64); /* quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float gb_bf16_to_fp32(uint16_t h) { return u2f((uint32_t)h << 16); }

static void fp16_from_f32_scalar(uint16_t *restrict dst, const float *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = gb_fp32_to_fp16(src[i]);
}

static void fp16_to_f32_scalar(float *restrict dst, const uint16_t *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = gb_fp16_to_fp32(src[i]);
}

void gb_bf16_from_f32_row(uint16_t *restrict dst, const float *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = gb_fp32_to_bf16(src[i]);
}

void gb_bf16_to_f32_row(float *restrict dst, const uint16_t *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = gb_bf16_to_fp32(src[i]);
}

#define F16(h) gb_fp16_to_fp32(h)

/* ---- helpers of the reference quantizers --------------------------------------------------- */

/* Round to nearest, ties to even, for |f| < 2^22: the float's mantissa after adding 1.5·2^23
 * (ggml's nearest_int; NaN gives 0, never undefined behaviour). */
static inline int nearest_int(float f) {
    int i;
    float v = f + 12582912.f;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* (int8_t) of a float as x86-64 converts it (truncation; NaN/out of range give 0), without the
 * C conversion's undefined behaviour on such values. */
static inline int8_t trunc_i8(float v) {
    return (v > -129.0f && v < 128.0f) ? (int8_t)(int)v : 0;
}

#define GROUP_MAX_EPS 1e-15f

/* ggml's make_qx_quants with rmse_type 1 and no importance weights (weights x²): codes in
 * [0, 2·nmax) for values x ≈ scale·(L − nmax); tries 18 scales around nmax/max. */
static float make_qx_quants(int n, int nmax, const float *restrict x, int8_t *restrict L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = MAXI(-nmax, MINI(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = MAXI(-nmax, MINI(nmax - 1, l));
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + MAXI(-nmax, MINI(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* ggml's make_qkx2_quants: x ≈ scale·L − the_min with L in [0, nmax], min <= 0; a weighted
 * least-squares fit of scale and min for each of nstep+1 trial scales, keeping the best. */
static float make_qkx2_quants(int n, int nmax, const float *restrict x,
                              const float *restrict weights, uint8_t *restrict L,
                              float *restrict the_min, uint8_t *restrict Laux, float rmin,
                              float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)MAXI(0, MINI(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = MAXI(0, MINI(nmax, l));
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* ---- quantize ----------------------------------------------------------------------------- */

void gb_quantize_row_q8_0(gb_block_q8_0 *restrict y, const float *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK8_0 == 0);
    for (int64_t i = 0; i < n / GB_QK8_0; i++, x += GB_QK8_0) {
        float amax = 0;
        for (int j = 0; j < GB_QK8_0; j++) amax = MAXF(amax, fabsf(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = gb_fp32_to_fp16(d);
        for (int j = 0; j < GB_QK8_0; j++) y[i].qs[j] = trunc_i8(roundf(x[j] * id));
    }
}

void gb_quantize_row_q4_0(gb_block_q4_0 *restrict y, const float *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK4_0 == 0);
    for (int64_t i = 0; i < n / GB_QK4_0; i++, x += GB_QK4_0) {
        float amax = 0, max = 0;
        for (int j = 0; j < GB_QK4_0; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = gb_fp32_to_fp16(d);
        for (int j = 0; j < GB_QK4_0 / 2; j++) {
            int q0 = MINI(15, trunc_i8(x[j] * id + 8.5f));
            int q1 = MINI(15, trunc_i8(x[j + GB_QK4_0 / 2] * id + 8.5f));
            y[i].qs[j] = (uint8_t)((uint8_t)q0 | (uint8_t)(q1 << 4));
        }
    }
}

void gb_quantize_row_q4_K(gb_block_q4_K *restrict y, const float *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK_K == 0);
    uint8_t L[GB_QK_K], Laux[32];
    float weights[32], mins[GB_QK_K / 32], scales[GB_QK_K / 32];
    for (int64_t i = 0; i < n / GB_QK_K; i++, x += GB_QK_K) {
        float max_scale = 0, max_min = 0; /* the min is subtracted: scales are positive */
        for (int j = 0; j < GB_QK_K / 32; j++) {
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -1.f, 0.1f, 20);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        for (int j = 0; j < GB_QK_K / 32; j++) {
            uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]); /* wraps as ggml's does */
            uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
            ls = (uint8_t)MINI(63, ls);
            lm = (uint8_t)MINI(63, lm);
            if (j < 4) {
                y[i].scales[j] = ls;
                y[i].scales[j + 4] = lm;
            } else {
                y[i].scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
                y[i].scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
                y[i].scales[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        y[i].d = gb_fp32_to_fp16(max_scale / 63.f);
        y[i].dmin = gb_fp32_to_fp16(max_min / 63.f);
        for (int j = 0; j < GB_QK_K / 32; j++) {
            uint8_t sc, m;
            quant_q4_K_scale_min(j, y[i].scales, &sc, &m);
            const float d = F16(y[i].d) * sc;
            if (!d) continue;
            const float dm = F16(y[i].dmin) * m;
            for (int ii = 0; ii < 32; ii++) {
                int l = nearest_int((x[32 * j + ii] + dm) / d);
                L[32 * j + ii] = (uint8_t)MAXI(0, MINI(15, l));
            }
        }
        uint8_t *q = y[i].qs;
        for (int j = 0; j < GB_QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

void gb_quantize_row_q6_K(gb_block_q6_K *restrict y, const float *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK_K == 0);
    int8_t L[GB_QK_K];
    float scales[GB_QK_K / 16];
    for (int64_t i = 0; i < n / GB_QK_K; i++, x += GB_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < GB_QK_K / 16; ib++) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            if (fabsf(scale) > max_abs_scale) {
                max_abs_scale = fabsf(scale);
                max_scale = scale;
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = gb_fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < GB_QK_K / 16; ib++)
            y[i].scales[ib] = (int8_t)MINI(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < GB_QK_K / 16; j++) {
            float d = F16(y[i].d) * y[i].scales[j];
            if (!d) continue; /* keeps make_qx_quants' codes, as ggml does */
            for (int ii = 0; ii < 16; ii++) {
                int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t)(MAXI(-32, MINI(31, l)) + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < GB_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}

void gb_quantize_row_q8_K(gb_block_q8_K *restrict y, const float *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK_K == 0);
    for (int64_t i = 0; i < n / GB_QK_K; i++, x += GB_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < GB_QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (!amax) { /* ggml leaves bsums unset here; zero them */
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < GB_QK_K; j++) y[i].qs[j] = (int8_t)MINI(127, nearest_int(iscale * x[j]));
        for (int j = 0; j < GB_QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

/* ---- dequantize --------------------------------------------------------------------------- */

void gb_dequantize_row_q8_0(float *restrict y, const gb_block_q8_0 *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK8_0 == 0);
    for (int64_t i = 0; i < n / GB_QK8_0; i++, y += GB_QK8_0) {
        const float d = F16(x[i].d);
        for (int j = 0; j < GB_QK8_0; j++) y[j] = x[i].qs[j] * d;
    }
}

void gb_dequantize_row_q4_0(float *restrict y, const gb_block_q4_0 *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK4_0 == 0);
    for (int64_t i = 0; i < n / GB_QK4_0; i++, y += GB_QK4_0) {
        const float d = F16(x[i].d);
        for (int j = 0; j < GB_QK4_0 / 2; j++) {
            y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + GB_QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void gb_dequantize_row_q4_K(float *restrict y, const gb_block_q4_K *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK_K == 0);
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        const uint8_t *q = x[i].qs;
        const float d = F16(x[i].d), min = F16(x[i].dmin);
        for (int j = 0; j < GB_QK_K / 64; j++, q += 32) {
            uint8_t sc, m;
            quant_q4_K_scale_min(2 * j, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            quant_q4_K_scale_min(2 * j + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void gb_dequantize_row_q6_K(float *restrict y, const gb_block_q6_K *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK_K == 0);
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        const float d = F16(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void gb_dequantize_row_q8_K(float *restrict y, const gb_block_q8_K *restrict x, int64_t n) {
    GB_ASSERT(n % GB_QK_K == 0);
    for (int64_t i = 0; i < n / GB_QK_K; i++, y += GB_QK_K)
        for (int j = 0; j < GB_QK_K; j++) y[j] = x[i].d * x[i].qs[j];
}

/* ---- scalar dot products ------------------------------------------------------------------ */
/* The 32-element types keep four partial sums (block b adds into sum b mod 4, combined as
 * (s0 + s1) + (s2 + s3)) and the K types one per row, each block's integer sum exact: the
 * AVX2 kernels compute the same integers and the same float operations in the same order, so
 * they give these bits exactly. */

float gb_vec_dot_q8_0_q8_0_ref(int64_t n, const gb_block_q8_0 *restrict w,
                               const gb_block_q8_0 *restrict x) {
    float acc[4] = {0, 0, 0, 0};
    for (int64_t ib = 0; ib < n / GB_QK8_0; ib++) {
        int sumi = 0;
        for (int j = 0; j < GB_QK8_0; j++) sumi += w[ib].qs[j] * x[ib].qs[j];
        acc[ib & 3] += (float)sumi * (F16(w[ib].d) * F16(x[ib].d));
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

float gb_vec_dot_q4_0_q8_0_ref(int64_t n, const gb_block_q4_0 *restrict w,
                               const gb_block_q8_0 *restrict x) {
    float acc[4] = {0, 0, 0, 0};
    for (int64_t ib = 0; ib < n / GB_QK4_0; ib++) {
        int sumi = 0;
        for (int j = 0; j < GB_QK4_0 / 2; j++)
            sumi += ((w[ib].qs[j] & 0xF) - 8) * x[ib].qs[j] +
                    ((w[ib].qs[j] >> 4) - 8) * x[ib].qs[j + GB_QK4_0 / 2];
        acc[ib & 3] += (float)sumi * (F16(w[ib].d) * F16(x[ib].d));
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* The K-quant products keep eight int32 lane sums per super-block — lane l holds the
 * products of elements 4l..4l+3 of every 32-element chunk, each chunk weighted by its integer
 * scale — and accumulate them in eight float lanes across super-blocks, then add the lanes in a
 * fixed order: the layout of the AVX2 kernels (VPMADDUBSW + VPMADDWD lanes, one FMA per
 * super-block, one horizontal sum per row), written out so that both give the same bits. */

/* (a0+a4 + a2+a6) + (a1+a5 + a3+a7): hsum_f32's order in quant_avx2.c. */
static float lanes8_sum(const float a[8]) {
    float s[4];
    for (int k = 0; k < 4; k++) s[k] = a[k] + a[k + 4];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

/* Q4_K·Q8_K: per super-block L[l] = Σ_s sc_s·Σ(q·a over lane l's elements of sub-block s)
 * and M[k] = m_2k·Σa(sub-block 2k) + m_2k+1·Σa(sub-block 2k+1) (exact ints);
 * acc[l] = fma(d·a.d, L[l], acc[l]), accm[k] = fma(dmin·a.d, M[k], accm[k]);
 * result = Σacc − Σaccm in lanes8_sum's order ((m0+m2) + (m1+m3) for the four). */
float gb_vec_dot_q4_K_q8_K_ref(int64_t n, const gb_block_q4_K *restrict w,
                               const gb_block_q8_K *restrict x) {
    float acc[8] = {0}, accm[4] = {0};
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        int L[8] = {0}, M[4] = {0};
        const int16_t *bs = x[i].bsums;
        for (int j = 0; j < GB_QK_K / 64; j++) {
            const uint8_t *q = w[i].qs + 32 * j;
            const int8_t *a = x[i].qs + 64 * j;
            uint8_t sc0, m0, sc1, m1;
            quant_q4_K_scale_min(2 * j, w[i].scales, &sc0, &m0);
            quant_q4_K_scale_min(2 * j + 1, w[i].scales, &sc1, &m1);
            for (int l = 0; l < 8; l++) {
                int s0 = 0, s1 = 0;
                for (int e = 4 * l; e < 4 * l + 4; e++) s0 += (q[e] & 0xF) * a[e], s1 += (q[e] >> 4) * a[e + 32];
                L[l] += sc0 * s0 + sc1 * s1;
            }
            M[j] = m0 * (bs[4 * j] + bs[4 * j + 1]) + m1 * (bs[4 * j + 2] + bs[4 * j + 3]);
        }
        const float dd = F16(w[i].d) * x[i].d, dm = F16(w[i].dmin) * x[i].d;
        for (int l = 0; l < 8; l++) acc[l] = fmaf(dd, (float)L[l], acc[l]);
        for (int k = 0; k < 4; k++) accm[k] = fmaf(dm, (float)M[k], accm[k]);
    }
    return lanes8_sum(acc) - ((accm[0] + accm[2]) + (accm[1] + accm[3]));
}

/* Q6_K·Q8_K: per super-block L[l] = −32·(scale_2l·bsums_2l + scale_2l+1·bsums_2l+1) +
 * Σ_chunks scale·Σ(code·a over lane l's elements of the chunk), the chunk's scale being its
 * first 16 elements' for l < 4 and its last 16's for l ≥ 4; acc[l] = fma(d·a.d, L[l], acc[l]). */
float gb_vec_dot_q6_K_q8_K_ref(int64_t n, const gb_block_q6_K *restrict w,
                               const gb_block_q8_K *restrict x) {
    float acc[8] = {0};
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        const int8_t *sc = w[i].scales;
        int L[8];
        for (int l = 0; l < 8; l++) L[l] = -32 * (sc[2 * l] * x[i].bsums[2 * l] + sc[2 * l + 1] * x[i].bsums[2 * l + 1]);
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 4; t++) { /* chunk: elements 128h + 32t .. +31, scales 8h+2t, 8h+2t+1 */
                const uint8_t *ql = w[i].ql + 64 * h + 32 * (t & 1), *qh = w[i].qh + 32 * h;
                const int8_t *a = x[i].qs + 128 * h + 32 * t;
                for (int l = 0; l < 8; l++) {
                    int s = 0;
                    for (int e = 4 * l; e < 4 * l + 4; e++)
                        s += (((ql[e] >> 4 * (t >> 1)) & 0xF) | (((qh[e] >> 2 * t) & 3) << 4)) * a[e];
                    L[l] += sc[8 * h + 2 * t + (l >= 4)] * s;
                }
            }
        const float dd = F16(w[i].d) * x[i].d;
        for (int l = 0; l < 8; l++) acc[l] = fmaf(dd, (float)L[l], acc[l]);
    }
    return lanes8_sum(acc);
}

float gb_vec_dot_f16_f32_ref(int64_t n, const uint16_t *restrict w, const float *restrict x) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += F16(w[i]) * x[i];
    return s;
}

float gb_vec_dot_bf16_f32_ref(int64_t n, const uint16_t *restrict w, const float *restrict x) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += gb_bf16_to_fp32(w[i]) * x[i];
    return s;
}

float gb_vec_dot_f32_ref(int64_t n, const float *restrict w, const float *restrict x) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += w[i] * x[i];
    return s;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static float dot_q8_0_t_scalar(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x,
                               const float *restrict xd) {
    (void)xd;
    return gb_vec_dot_q8_0_q8_0_ref(n, w, x);
}

static float dot_q4_0_t_scalar(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x,
                               const float *restrict xd, const int32_t *restrict xs) {
    (void)xd, (void)xs;
    return gb_vec_dot_q4_0_q8_0_ref(n, w, x);
}

static const quant_kernels kernels_scalar = {
    "scalar",
    GB_QUANT_SCALAR,
    gb_vec_dot_q8_0_q8_0_ref,
    gb_vec_dot_q4_0_q8_0_ref,
    dot_q8_0_t_scalar,
    dot_q4_0_t_scalar,
    gb_vec_dot_q4_K_q8_K_ref,
    gb_vec_dot_q6_K_q8_K_ref,
    gb_vec_dot_f16_f32_ref,
    gb_vec_dot_bf16_f32_ref,
    gb_vec_dot_f32_ref,
    fp16_from_f32_scalar,
    fp16_to_f32_scalar,
    gb_qg_tile_scalar,
    gb_qg_pack_row_scalar,
    QG_RM,
    1,
    gb_quantize_row_q8_0,
    gb_quantize_row_q8_0_t,
    gb_quantize_row_q8_K,
    gb_dot8_q8_0_ref,
    gb_dot8_q4_0_ref,
    gb_dot8_q4_K_ref,
    gb_dot8_q6_K_ref,
    gb_dot8_f16_ref,
};

static const quant_kernels *active;

#ifdef QUANT_X86
/* CPUID.1:ECX bit 29 (clang's __builtin_cpu_supports does not know "f16c"). */
static int has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

int gb_cpu_has_f16c(void) {
#ifdef QUANT_X86
    return has_f16c();
#else
    return 0;
#endif
}

#if defined(__x86_64__) /* AMX exists in 64-bit mode only */
/* CPUID.(7,0):EDX bits 24 (AMX-TILE) and 25 (AMX-INT8); clang's __builtin_cpu_supports does
 * not know them. */
static int has_amx_int8(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)) && (d & (1u << 25));
}

/* Linux hands out the 8 KiB AMX tile state only to processes that ask (arch_prctl
 * ARCH_REQ_XCOMP_PERM for XTILEDATA, since 5.16); an AMX instruction before that is SIGILL. */
static int amx_permitted(void) {
#if defined(__linux__)
    static int state; /* 0 unknown, 1 yes, 2 no; asking twice is harmless */
    if (!__atomic_load_n(&state, __ATOMIC_ACQUIRE)) {
        const long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
        int ok = syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
        __atomic_store_n(&state, ok ? 1 : 2, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&state, __ATOMIC_ACQUIRE) == 1;
#else
    return 0;
#endif
}
#endif

static int cpu_runs(gb_quant_isa isa) {
    switch (isa) {
    case GB_QUANT_SCALAR: return 1;
#ifdef QUANT_X86
    case GB_QUANT_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case GB_QUANT_AVX512: /* libgcc also checks that the OS saves the zmm registers */
        return cpu_runs(GB_QUANT_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512vnni");
#if defined(__x86_64__) /* AMX is 64-bit only */
    case GB_QUANT_AMX:
        return cpu_runs(GB_QUANT_AVX512) && has_amx_int8() && amx_permitted();
#endif
#endif
    default: return 0;
    }
}

static const quant_kernels *kernels_for(gb_quant_isa isa) {
#ifdef QUANT_X86
    if (isa == GB_QUANT_AVX2) return &gb_quant_kernels_avx2;
    if (isa == GB_QUANT_AVX512) return &gb_quant_kernels_avx512;
#if defined(__x86_64__)
    if (isa == GB_QUANT_AMX) return &gb_quant_kernels_amx;
#endif
#endif
    (void)isa;
    return &kernels_scalar;
}

/* The first call may race with another first call; both store the same pointer. */
static const quant_kernels *get_kernels(void) {
    const quant_kernels *k = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    if (!k) {
        k = cpu_runs(GB_QUANT_AMX)      ? kernels_for(GB_QUANT_AMX)
            : cpu_runs(GB_QUANT_AVX512) ? kernels_for(GB_QUANT_AVX512)
            : cpu_runs(GB_QUANT_AVX2) ? kernels_for(GB_QUANT_AVX2)
                                      : &kernels_scalar;
        __atomic_store_n(&active, k, __ATOMIC_RELEASE);
    }
    return k;
}

int gb_quant_use(gb_quant_isa isa) {
    if (isa == GB_QUANT_AUTO) {
        __atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
        get_kernels();
        return 1;
    }
    if (!cpu_runs(isa)) return 0;
    __atomic_store_n(&active, kernels_for(isa), __ATOMIC_RELEASE);
    return 1;
}

const char *gb_quant_kernel_name(void) { return get_kernels()->name; }

gb_quant_isa gb_quant_isa_by_name(const char *name) {
    static const struct {
        const char *name;
        gb_quant_isa isa;
    } names[] = {{"scalar", GB_QUANT_SCALAR}, {"avx2", GB_QUANT_AVX2}, {"avx512", GB_QUANT_AVX512}, {"amx", GB_QUANT_AMX}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) return names[i].isa;
    return GB_QUANT_AUTO;
}

qg_tile_fn gb_quant_tile_fn(void) { return get_kernels()->qg_tile; }

gb_dot8_fn gb_quant_dot8_fn(uint32_t type) {
    const quant_kernels *k = get_kernels();
    switch (type) {
    case GB_GGML_Q8_0: return k->dot8_q8_0;
    case GB_GGML_Q4_0: return k->dot8_q4_0;
    case GB_GGML_Q4_K: return k->dot8_q4_K;
    case GB_GGML_Q6_K: return k->dot8_q6_K;
    case GB_GGML_F16: return k->dot8_f16;
    default: return NULL;
    }
}
int gb_quant_tile_rows(void) { return get_kernels()->qg_rm; }
int gb_quant_tile_groups(void) { return get_kernels()->qg_groups; }
qg_pack_fn gb_quant_pack_fn(void) { return get_kernels()->qg_pack; }

void gb_fp16_from_f32_row(uint16_t *restrict dst, const float *restrict src, int64_t n) {
    get_kernels()->fp16_from_f32(dst, src, n);
}

void gb_fp16_to_f32_row(float *restrict dst, const uint16_t *restrict src, int64_t n) {
    get_kernels()->fp16_to_f32(dst, src, n);
}

/* ---- rows of any type ---------------------------------------------------------------------- */

int gb_quant_supported(uint32_t type) {
    switch (type) {
    case GB_GGML_F32:
    case GB_GGML_F16:
    case GB_GGML_BF16:
    case GB_GGML_Q8_0:
    case GB_GGML_Q4_0:
    case GB_GGML_Q4_K:
    case GB_GGML_Q6_K: return 1;
    default: return 0;
    }
}

static int64_t block_size(uint32_t type) {
    return type == GB_GGML_Q8_K ? GB_QK_K : gb_ggml_blck_size(type);
}

static size_t block_bytes(uint32_t type) {
    return type == GB_GGML_Q8_K ? sizeof(gb_block_q8_K) : gb_ggml_type_size(type);
}

size_t gb_quant_row_size(uint32_t type, int64_t n) {
    if (!gb_quant_supported(type) && type != GB_GGML_Q8_K) return 0;
    return (size_t)(n / block_size(type)) * block_bytes(type);
}

static gb_status check_row(uint32_t type, int64_t n, int allow_q8_K) {
    if (!gb_quant_supported(type) && !(allow_q8_K && type == GB_GGML_Q8_K)) {
        const char *name = gb_ggml_type_name(type);
        return gb_errorf(GB_ERR_ARG, "tensor type %s (%u) is not supported here",
                         name ? name : "unknown", type);
    }
    if (n < 0 || n % block_size(type) != 0)
        return gb_errorf(GB_ERR_ARG, "%lld elements of type %s: not a multiple of its block size %lld",
                         (long long)n, gb_ggml_type_name(type), (long long)block_size(type));
    return GB_OK;
}

gb_status gb_quant_quantize_row(uint32_t type, void *restrict dst, const float *restrict src,
                                int64_t n) {
    gb_status rc = check_row(type, n, 1);
    if (rc) return rc;
    switch (type) {
    case GB_GGML_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case GB_GGML_F16: gb_fp16_from_f32_row(dst, src, n); break;
    case GB_GGML_BF16: gb_bf16_from_f32_row(dst, src, n); break;
    case GB_GGML_Q8_0: gb_quantize_row_q8_0(dst, src, n); break;
    case GB_GGML_Q4_0: gb_quantize_row_q4_0(dst, src, n); break;
    case GB_GGML_Q4_K: gb_quantize_row_q4_K(dst, src, n); break;
    case GB_GGML_Q6_K: gb_quantize_row_q6_K(dst, src, n); break;
    case GB_GGML_Q8_K: gb_quantize_row_q8_K(dst, src, n); break;
    default: break;
    }
    return GB_OK;
}

gb_status gb_quant_dequantize_row(uint32_t type, float *restrict dst, const void *restrict src,
                                  int64_t n) {
    gb_status rc = check_row(type, n, 1);
    if (rc) return rc;
    switch (type) {
    case GB_GGML_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case GB_GGML_F16: gb_fp16_to_f32_row(dst, src, n); break;
    case GB_GGML_BF16: gb_bf16_to_f32_row(dst, src, n); break;
    case GB_GGML_Q8_0: gb_dequantize_row_q8_0(dst, src, n); break;
    case GB_GGML_Q4_0: gb_dequantize_row_q4_0(dst, src, n); break;
    case GB_GGML_Q4_K: gb_dequantize_row_q4_K(dst, src, n); break;
    case GB_GGML_Q6_K: gb_dequantize_row_q6_K(dst, src, n); break;
    case GB_GGML_Q8_K: gb_dequantize_row_q8_K(dst, src, n); break;
    default: break;
    }
    return GB_OK;
}

/* ---- dot products and products ------------------------------------------------------------- */

uint32_t gb_quant_vec_dot_type(uint32_t type) {
    switch (type) {
    case GB_GGML_Q8_0:
    case GB_GGML_Q4_0: return GB_GGML_Q8_0;
    case GB_GGML_Q4_K:
    case GB_GGML_Q6_K: return GB_GGML_Q8_K;
    default: return GB_GGML_F32;
    }
}

void gb_quant_quantize_act(uint32_t vec_dot_type, void *restrict dst, const float *restrict src,
                           int64_t n) {
    switch (vec_dot_type) {
    case GB_GGML_Q8_0: get_kernels()->quantize_q8_0(dst, src, n); break;
    case GB_GGML_Q8_K: get_kernels()->quantize_q8_K(dst, src, n); break;
    default: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    }
}

static inline float dot_with(const quant_kernels *k, uint32_t type, const void *restrict w,
                             const void *restrict x, int64_t n) {
    switch (type) {
    case GB_GGML_Q8_0: return k->dot_q8_0(n, w, x);
    case GB_GGML_Q4_0: return k->dot_q4_0(n, w, x);
    case GB_GGML_Q4_K: return k->dot_q4_K(n, w, x);
    case GB_GGML_Q6_K: return k->dot_q6_K(n, w, x);
    case GB_GGML_F16: return k->dot_f16(n, w, x);
    case GB_GGML_BF16: return k->dot_bf16(n, w, x);
    case GB_GGML_F32: return k->dot_f32(n, w, x);
    default: gb_assert_fail("gb_quant_supported(type)", __FILE__, __LINE__);
    }
}

float gb_quant_vec_dot(uint32_t type, const void *restrict w, const void *restrict x, int64_t n) {
    GB_ASSERT(gb_quant_supported(type) && n % block_size(type) == 0);
    return dot_with(get_kernels(), type, w, x, n);
}

/* The calling thread's quantized activations, grown on demand and kept between calls. */
static _Thread_local void *act_buf;
static _Thread_local size_t act_cap;

void gb_quant_release(void) {
    gb_quant_gemm_release();
    free(act_buf);
    act_buf = NULL;
    act_cap = 0;
}

/* Rows per tile in matmul: a tile's weights stay in cache while every activation row passes. */
#define MM_TILE 8

/* Bytes of one quantized activation row in matmul: the blocks, then for Q8_0 the side table
 * (float scale and int32 code sum per block) that the *_t kernels read. */
static size_t act_row_bytes(uint32_t vt, int64_t n) {
    size_t b = gb_quant_row_size(vt, n);
    if (vt == GB_GGML_Q8_0) b = (b + 7) / 8 * 8 + (size_t)(n / GB_QK8_0) * (sizeof(float) + sizeof(int32_t));
    return b;
}

/* Byte offset of the side table after a Q8_0 activation row of n elements (8-byte aligned). */
static size_t side_offset(int64_t n) { return (gb_quant_row_size(GB_GGML_Q8_0, n) + 7) / 8 * 8; }

void gb_quantize_row_q8_0_t(gb_block_q8_0 *restrict y, float *restrict xd, int32_t *restrict xs,
                            const float *restrict x, int64_t n) {
    gb_quantize_row_q8_0(y, x, n);
    for (int64_t b = 0; b < n / GB_QK8_0; b++) {
        int32_t s = 0;
        for (int j = 0; j < GB_QK8_0; j++) s += y[b].qs[j];
        xd[b] = gb_fp16_to_fp32(y[b].d), xs[b] = s;
    }
}

static void quantize_act_row(uint32_t vt, void *dst, const float *src, int64_t n) {
    if (vt != GB_GGML_Q8_0) {
        gb_quant_quantize_act(vt, dst, src, n);
        return;
    }
    float *xd = (void *)((char *)dst + side_offset(n));
    int32_t *xs = (void *)(xd + n / GB_QK8_0);
    get_kernels()->quantize_q8_0_t(dst, xd, xs, src, n);
}

/* X's M rows in the format of vt (with the side table for Q8_0), in the calling thread's
 * buffer (kept between calls): *act, *arow bytes apart; F32 rows are used as they are. */
static gb_status quantize_acts(uint32_t vt, const float *X, int64_t M, int64_t n_cols, const void **act,
                               size_t *arow) {
    *act = X;
    *arow = (size_t)n_cols * sizeof(float);
    if (vt == GB_GGML_F32) return GB_OK;
    *arow = act_row_bytes(vt, n_cols);
    if ((uint64_t)M > SIZE_MAX / (*arow ? *arow : 1))
        return gb_errorf(GB_ERR_NOMEM, "matmul: %lld activation rows overflow", (long long)M);
    const size_t need = (size_t)M * *arow;
    if (need > act_cap) {
        void *p = realloc(act_buf, need);
        if (!p) return gb_errorf(GB_ERR_NOMEM, "matmul: no memory for %zu bytes", need);
        act_buf = p;
        act_cap = need;
    }
    for (int64_t m = 0; m < M; m++) quantize_act_row(vt, (char *)act_buf + (size_t)m * *arow, X + m * n_cols, n_cols);
    *act = act_buf;
    return GB_OK;
}

/* One row's product with activation row x; xd, xs: x's side table (Q8_0 activations only). */
static inline float dot_act(const quant_kernels *k, uint32_t type, const void *restrict w, const void *restrict x,
                            const float *restrict xd, const int32_t *restrict xs, int64_t n) {
    if (type == GB_GGML_Q8_0) return k->dot_q8_0_t(n, w, x, xd);
    if (type == GB_GGML_Q4_0) return k->dot_q4_0_t(n, w, x, xd, xs);
    return dot_with(k, type, w, x, n);
}

gb_status gb_quant_matmul(uint32_t type, const void *restrict W, const float *restrict X,
                          float *restrict out, int64_t M, int64_t n_rows, int64_t n_cols) {
    gb_status rc = check_row(type, n_cols, 0);
    if (rc) return rc;
    if (M < 0 || n_rows < 0) return gb_errorf(GB_ERR_ARG, "matmul: negative size");
    if (M == 0 || n_rows == 0) return GB_OK;
    const uint32_t vt = gb_quant_vec_dot_type(type);
    const size_t wrow = gb_quant_row_size(type, n_cols);
    const void *act;
    size_t arow;
    rc = quantize_acts(vt, X, M, n_cols, &act, &arow);
    if (rc) return rc;
    const quant_kernels *k = get_kernels();
    const size_t side = vt == GB_GGML_Q8_0 ? side_offset(n_cols) : 0;
    int nt = gb_threads_get();
    double work = (double)M * (double)n_rows * (double)n_cols;
    if (work < 65536.0 || n_rows < 2) nt = 1;
    if (nt > n_rows) nt = (int)n_rows;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* fixed contiguous ranges of rows: which thread computes a row never changes a bit */
        const int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
        const int64_t r0 = n_rows * ith / nth, r1 = n_rows * (ith + 1) / nth;
        for (int64_t t0 = r0; t0 < r1; t0 += MM_TILE) {
            const int64_t t1 = t0 + MM_TILE < r1 ? t0 + MM_TILE : r1;
            for (int64_t m = 0; m < M; m++) {
                const char *a = (const char *)act + (size_t)m * arow;
                const float *xd = (const void *)(a + side); /* read only for Q8_0 activations */
                const int32_t *xs = (const void *)(xd + n_cols / GB_QK8_0);
                for (int64_t r = t0; r < t1; r++)
                    out[m * n_rows + r] = dot_act(k, type, (const char *)W + (size_t)r * wrow, a, xd, xs, n_cols);
            }
        }
    }
    return GB_OK;
}

void gb_quant_act_prepare(uint32_t type, void *restrict dst, const float *restrict x, int64_t n_cols) {
    GB_ASSERT(gb_quant_supported(type) && n_cols % block_size(type) == 0);
    quantize_act_row(gb_quant_vec_dot_type(type), dst, x, n_cols);
}

void gb_quant_matvec_rows(uint32_t type, int x8, const void *restrict W, const void *restrict act,
                          float *restrict out, int64_t n_cols, int64_t r0, int64_t r1) {
    GB_ASSERT(gb_quant_supported(type) && n_cols % block_size(type) == 0 && 0 <= r0 && r0 <= r1);
    const size_t side = gb_quant_vec_dot_type(type) == GB_GGML_Q8_0 ? side_offset(n_cols) : 0;
    const float *xd = (const void *)((const char *)act + side); /* read only for Q8_0 activations */
    const int32_t *xs = (const void *)(xd + n_cols / GB_QK8_0);
    const size_t wrow = gb_quant_row_size(type, n_cols);
    if (x8) {
        GB_ASSERT(r0 % 8 == 0 && r1 % 8 == 0);
        const gb_dot8_fn dot8 = gb_quant_dot8_fn(type);
        for (int64_t g = r0 / 8; g < r1 / 8; g++) dot8(n_cols, (const char *)W + (size_t)g * 8 * wrow, act, xd, xs, out + 8 * g);
        return;
    }
    const quant_kernels *k = get_kernels();
    for (int64_t r = r0; r < r1; r++) out[r] = dot_act(k, type, (const char *)W + (size_t)r * wrow, act, xd, xs, n_cols);
}

gb_status gb_quant_matvec(uint32_t type, const void *restrict W, const float *restrict x,
                          float *restrict out, int64_t n_rows, int64_t n_cols) {
    return gb_quant_matmul(type, W, x, out, 1, n_rows, n_cols);
}

gb_status gb_quant_x8_matmul(uint32_t type, const void *restrict W, const float *restrict X, float *restrict out,
                             int64_t M, int64_t n_rows, int64_t n_cols) {
    if (!gb_quant_x8_supported(type, n_rows, n_cols))
        return gb_errorf(GB_ERR_ARG, "x8 matmul: %s %lld x %lld is not interleaved", gb_ggml_type_name(type),
                         (long long)n_rows, (long long)n_cols);
    if (M < 0) return gb_errorf(GB_ERR_ARG, "matmul: negative size");
    if (M == 0) return GB_OK;
    const uint32_t vt = gb_quant_vec_dot_type(type);
    const void *act;
    size_t arow;
    gb_status rc = quantize_acts(vt, X, M, n_cols, &act, &arow);
    if (rc) return rc;
    const gb_dot8_fn dot8 = gb_quant_dot8_fn(type);
    const size_t side = vt == GB_GGML_Q8_0 ? side_offset(n_cols) : 0, group = 8 * gb_quant_row_size(type, n_cols);
    const int64_t ng = n_rows / 8;
    int nt = gb_threads_get();
    if ((double)M * (double)n_rows * (double)n_cols < 65536.0) nt = 1;
    if (nt > ng) nt = (int)ng;
    if (nt < 1) nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* fixed contiguous ranges of row groups: the thread count never changes a bit */
        const int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
        for (int64_t g = ng * ith / nth; g < ng * (ith + 1) / nth; g++)
            for (int64_t m = 0; m < M; m++) {
                const char *a = (const char *)act + (size_t)m * arow;
                const float *xd = (const void *)(a + side); /* read only for Q8_0 activations */
                const int32_t *xs = (const void *)(xd + n_cols / GB_QK8_0);
                dot8(n_cols, (const char *)W + (size_t)g * group, a, xd, xs, out + m * n_rows + 8 * g);
            }
    }
    return GB_OK;
}
