/* glassbox — the 8-row interleaved layouts (quant_x8.h): packing, unpacking a row, and the
 * scalar group kernels every SIMD one must equal bit for bit. */
#include "core/quant_x8.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/quant_internal.h"
#include "glassbox/sys.h"

#define F16(h) gb_fp16_to_fp32(h)

/* Columns of one x8 block of `type`. */
static int64_t block_cols(uint32_t type) {
    return type == GB_GGML_Q4_K || type == GB_GGML_Q6_K ? GB_QK_K : type == GB_GGML_F16 ? 8 : 32;
}

int gb_quant_x8_supported(uint32_t type, int64_t rows, int64_t cols) {
    return (type == GB_GGML_Q8_0 || type == GB_GGML_Q4_0 || type == GB_GGML_Q4_K || type == GB_GGML_Q6_K ||
            type == GB_GGML_F16) &&
           rows > 0 && rows % 8 == 0 && cols > 0 && cols % block_cols(type) == 0;
}

/* L bytes (a multiple of 4) of each of the 8 rows src[r], interleaved by 4-byte groups. */
static void interleave(uint8_t *restrict dst, const uint8_t *const src[8], size_t L) {
    for (size_t u = 0; u < L / 4; u++)
        for (int r = 0; r < 8; r++) memcpy(dst + 32 * u + 4 * r, src[r] + 4 * u, 4);
}

/* The x8 block from block b of the 8 rows rows[r]. */
static void pack_block(uint32_t type, void *restrict dst, const uint8_t *const rows[8], int64_t b) {
    const uint8_t *s[8];
    switch (type) {
    case GB_GGML_Q8_0: {
        gb_block_q8_0x8 *o = dst;
        for (int r = 0; r < 8; r++) {
            const gb_block_q8_0 *q = (const gb_block_q8_0 *)rows[r] + b;
            o->d[r] = q->d, s[r] = (const uint8_t *)q->qs;
        }
        interleave((uint8_t *)o->qs, s, 32);
        break;
    }
    case GB_GGML_Q4_0: {
        gb_block_q4_0x8 *o = dst;
        for (int r = 0; r < 8; r++) {
            const gb_block_q4_0 *q = (const gb_block_q4_0 *)rows[r] + b;
            o->d[r] = q->d, s[r] = q->qs;
        }
        interleave(o->qs, s, 16);
        break;
    }
    case GB_GGML_Q4_K: {
        gb_block_q4_Kx8 *o = dst;
        for (int r = 0; r < 8; r++) {
            const gb_block_q4_K *q = (const gb_block_q4_K *)rows[r] + b;
            o->d[r] = q->d, o->dmin[r] = q->dmin, s[r] = q->qs;
            memcpy(o->scales + 12 * r, q->scales, 12);
        }
        interleave(o->qs, s, 128);
        break;
    }
    case GB_GGML_Q6_K: {
        gb_block_q6_Kx8 *o = dst;
        const uint8_t *h[8];
        for (int r = 0; r < 8; r++) {
            const gb_block_q6_K *q = (const gb_block_q6_K *)rows[r] + b;
            o->d[r] = q->d, s[r] = q->ql, h[r] = q->qh;
            memcpy(o->scales + 16 * r, q->scales, 16);
        }
        interleave(o->ql, s, 128);
        interleave(o->qh, h, 64);
        break;
    }
    case GB_GGML_F16: {
        gb_block_f16x8 *o = dst;
        for (int r = 0; r < 8; r++) memcpy(o->v + 8 * r, rows[r] + 16 * b, 16);
        break;
    }
    default: break;
    }
}

static int64_t blocks_per_row(uint32_t type, int64_t cols) { return cols / block_cols(type); }

gb_status gb_quant_x8_pack(uint32_t type, void *restrict dst, const void *restrict src, int64_t rows, int64_t cols) {
    if (!gb_quant_x8_supported(type, rows, cols))
        return gb_errorf(GB_ERR_ARG, "x8 pack: %s %lld x %lld cannot be interleaved", gb_ggml_type_name(type),
                         (long long)rows, (long long)cols);
    const size_t wrow = gb_quant_row_size(type, cols), bsz = wrow / (size_t)blocks_per_row(type, cols);
    const int64_t nb = blocks_per_row(type, cols), ng = rows / 8;
    int nt = gb_threads_get();
    if (nt < 1) nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && ng > 1)
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *r8[8];
        for (int r = 0; r < 8; r++) r8[r] = (const uint8_t *)src + (size_t)(8 * g + r) * wrow;
        uint8_t *o = (uint8_t *)dst + (size_t)g * 8 * wrow;
        for (int64_t b = 0; b < nb; b++) pack_block(type, o + (size_t)b * 8 * bsz, r8, b);
    }
    return GB_OK;
}

/* Row r's 4-byte groups of one interleaved array (L bytes per row). */
static inline void deinterleave4(uint8_t *restrict dst, const uint8_t *restrict src, int r, size_t L) {
    for (size_t u = 0; u < L / 4; u++) memcpy(dst + 4 * u, src + 32 * u + 4 * r, 4);
}

void gb_quant_x8_unpack_row(uint32_t type, void *restrict dst, const void *restrict x8, int64_t row, int64_t cols) {
    const int64_t nb = blocks_per_row(type, cols);
    const uint8_t *grp = (const uint8_t *)x8 + (size_t)(row / 8) * 8 * gb_quant_row_size(type, cols);
    const int r = (int)(row % 8);
    if (type == GB_GGML_Q8_0) {
        const gb_block_q8_0x8 *s = (const gb_block_q8_0x8 *)grp;
        gb_block_q8_0 *o = dst;
        for (int64_t b = 0; b < nb; b++) {
            o[b].d = s[b].d[r];
            deinterleave4((uint8_t *)o[b].qs, (const uint8_t *)s[b].qs, r, 32);
        }
    } else if (type == GB_GGML_Q4_0) {
        const gb_block_q4_0x8 *s = (const gb_block_q4_0x8 *)grp;
        gb_block_q4_0 *o = dst;
        for (int64_t b = 0; b < nb; b++) {
            o[b].d = s[b].d[r];
            deinterleave4(o[b].qs, s[b].qs, r, 16);
        }
    } else if (type == GB_GGML_Q4_K) {
        const gb_block_q4_Kx8 *s = (const gb_block_q4_Kx8 *)grp;
        gb_block_q4_K *o = dst;
        for (int64_t b = 0; b < nb; b++) {
            o[b].d = s[b].d[r], o[b].dmin = s[b].dmin[r];
            memcpy(o[b].scales, s[b].scales + 12 * r, 12);
            deinterleave4(o[b].qs, s[b].qs, r, 128);
        }
    } else if (type == GB_GGML_Q6_K) {
        const gb_block_q6_Kx8 *s = (const gb_block_q6_Kx8 *)grp;
        gb_block_q6_K *o = dst;
        for (int64_t b = 0; b < nb; b++) {
            o[b].d = s[b].d[r];
            memcpy(o[b].scales, s[b].scales + 16 * r, 16);
            deinterleave4(o[b].ql, s[b].ql, r, 128);
            deinterleave4(o[b].qh, s[b].qh, r, 64);
        }
    } else if (type == GB_GGML_F16) {
        const gb_block_f16x8 *s = (const gb_block_f16x8 *)grp;
        for (int64_t b = 0; b < nb; b++) memcpy((uint16_t *)dst + 8 * b, s[b].v + 8 * r, 16);
    }
}

void gb_quant_x8_f16_rows(float *restrict dst, size_t ld, const void *restrict x8, int64_t r0, int64_t r1,
                          int64_t cols) {
    uint16_t buf[256]; /* a row's values gathered, then converted 256 at a time */
    for (int64_t g = r0 / 8; 8 * g < r1; g++) {
        const gb_block_f16x8 *s = (const gb_block_f16x8 *)((const uint8_t *)x8 + (size_t)g * 16 * (size_t)cols);
        const int64_t a = 8 * g > r0 ? 8 * g : r0, e = 8 * g + 8 < r1 ? 8 * g + 8 : r1;
        for (int64_t c0 = 0; c0 < cols; c0 += 256) {
            const int64_t n = cols - c0 < 256 ? cols - c0 : 256;
            for (int64_t r = a; r < e; r++) {
                for (int64_t b = 0; b < n / 8; b++) memcpy(buf + 8 * b, s[c0 / 8 + b].v + 8 * (r % 8), 16);
                gb_fp16_to_f32_row(dst + (size_t)(r - r0) * ld + c0, buf, n);
            }
        }
    }
}

/* ---- scalar group kernels ------------------------------------------------------------------ */

/* Byte i of row r of an interleaved array. */
static inline uint8_t at(const uint8_t *a, int r, int i) { return a[32 * (i / 4) + 4 * r + i % 4]; }

void gb_dot8_q8_0_ref(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                      const int32_t *restrict xs, float *restrict out) {
    (void)xs;
    const gb_block_q8_0x8 *wb = w;
    const gb_block_q8_0 *xb = x;
    for (int r = 0; r < 8; r++) {
        float acc = 0.0f;
        for (int64_t b = 0; b < n / 32; b++) {
            int32_t s = 0;
            for (int i = 0; i < 32; i++) s += (int8_t)at((const uint8_t *)wb[b].qs, r, i) * xb[b].qs[i];
            acc = fmaf((float)s, F16(wb[b].d[r]) * xd[b], acc);
        }
        out[r] = acc;
    }
}

void gb_dot8_q4_0_ref(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                      const int32_t *restrict xs, float *restrict out) {
    const gb_block_q4_0x8 *wb = w;
    const gb_block_q8_0 *xb = x;
    for (int r = 0; r < 8; r++) {
        float acc = 0.0f;
        for (int64_t b = 0; b < n / 32; b++) {
            int32_t s = 0;
            for (int i = 0; i < 16; i++) {
                const uint8_t q = at(wb[b].qs, r, i);
                s += (q & 15) * xb[b].qs[i] + (q >> 4) * xb[b].qs[i + 16];
            }
            acc = fmaf((float)(s - 8 * xs[b]), F16(wb[b].d[r]) * xd[b], acc);
        }
        out[r] = acc;
    }
}

void gb_dot8_q4_K_ref(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                      const int32_t *restrict xs, float *restrict out) {
    (void)xd, (void)xs;
    const gb_block_q4_Kx8 *wb = w;
    const gb_block_q8_K *xb = x;
    for (int r = 0; r < 8; r++) {
        float acc = 0.0f, accm = 0.0f;
        for (int64_t i = 0; i < n / GB_QK_K; i++) {
            int32_t s = 0, sm = 0;
            for (int sb = 0; sb < 8; sb++) { /* sub-block sb: chunk sb/2, low or high nibbles */
                uint8_t sc, m;
                quant_q4_K_scale_min(sb, wb[i].scales + 12 * r, &sc, &m);
                int32_t t = 0;
                for (int k = 0; k < 32; k++) {
                    const uint8_t q = at(wb[i].qs, r, 32 * (sb / 2) + k);
                    t += (sb % 2 ? q >> 4 : q & 15) * xb[i].qs[32 * sb + k];
                }
                s += sc * t;
                sm += m * (xb[i].bsums[2 * sb] + xb[i].bsums[2 * sb + 1]);
            }
            acc = fmaf((float)s, F16(wb[i].d[r]) * xb[i].d, acc);
            accm = fmaf((float)sm, F16(wb[i].dmin[r]) * xb[i].d, accm);
        }
        out[r] = acc - accm;
    }
}

void gb_dot8_q6_K_ref(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                      const int32_t *restrict xs, float *restrict out) {
    (void)xd, (void)xs;
    const gb_block_q6_Kx8 *wb = w;
    const gb_block_q8_K *xb = x;
    for (int r = 0; r < 8; r++) {
        float acc = 0.0f;
        for (int64_t i = 0; i < n / GB_QK_K; i++) {
            const int8_t *sc = wb[i].scales + 16 * r;
            int32_t s = 0, off = 0;
            for (int e = 0; e < GB_QK_K; e++) { /* e = 128h + 32t + l (quant.c) */
                const int h = e / 128, t = (e / 32) % 4, l = e % 32;
                const uint8_t lo = at(wb[i].ql, r, 64 * h + l + 32 * (t & 1)), hi = at(wb[i].qh, r, 32 * h + l);
                const int q = ((lo >> 4 * (t >> 1)) & 15) | ((hi >> 2 * t) & 3) << 4;
                s += sc[8 * h + 2 * t + l / 16] * q * xb[i].qs[e];
            }
            for (int g = 0; g < 16; g++) off += sc[g] * xb[i].bsums[g];
            acc = fmaf((float)(s - 32 * off), F16(wb[i].d[r]) * xb[i].d, acc);
        }
        out[r] = acc;
    }
}

void gb_dot8_f16_ref(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                     const int32_t *restrict xs, float *restrict out) {
    (void)xd, (void)xs;
    const gb_block_f16x8 *wb = w;
    const float *xf = x;
    for (int r = 0; r < 8; r++) {
        float a[8] = {0};
        for (int64_t b = 0; b < n / 8; b++)
            for (int i = 0; i < 8; i++) a[i] = fmaf(F16(wb[b].v[8 * r + i]), xf[8 * b + i], a[i]);
        out[r] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    }
}
