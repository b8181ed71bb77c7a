/* glassbox — quantized dot products and fp16 rows for AVX2 + FMA + F16C.
 *
 * The quantized kernels compute each block's integer sum with VPMADDUBSW/VPMADDWD (exact) and
 * then the same float operations, in the same order, as the scalar references in quant.c:
 * they return the same bits. For Q8_0/Q4_0 the per-block sums of four blocks are reduced
 * together and scaled as one 4-lane vector, which is the scalar code's four partial sums.
 * The float kernels (f16/bf16/f32 · f32) use four 8-lane FMA accumulators: equal to the
 * scalar ones up to rounding.
 *
 * Operand ranges: VPMADDUBSW saturates a pair sum above 32767; with activation codes in
 * [-127, 127] (what the activation quantizers produce) no pair can reach it. */
#include "core/quant_internal.h"

#ifdef QUANT_X86
#include <math.h>

#include "core/quant_x86.h"

#define TGT __attribute__((target("avx2,fma,f16c")))

/* 8 int32 partial sums of Σ a·b over 32 signed bytes (a's sign moved onto b: |a| is unsigned). */
TGT static inline __m256i dot_i8(__m256i a, __m256i b) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* 8 int32 partial sums of Σ (q−8)·x over one Q4_0 block: the nibbles q go to VPMADDUBSW as
 * they are (unsigned), and x8 (the pair sums of 8·x, from x8_of) is taken off before widening.
 * No sign fix-ups; the int16 pair sums stay within ±3840 for any x: exact. */
TGT static inline __m256i dot_q4_0_blk(const uint8_t *qs, __m256i xv, __m256i x8) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
    return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(b, xv), x8), _mm256_set1_epi16(1));
}

/* The int16 pair sums of 8·x over 32 signed bytes. */
TGT static inline __m256i x8_of(__m256i xv) { return _mm256_maddubs_epi16(_mm256_set1_epi8(8), xv); }

/* Four blocks' scale products d_w·d_x as a vector (the scalar code's F16(w.d) * F16(x.d)). */
TGT static inline __m128 scale4(uint16_t w0, uint16_t w1, uint16_t w2, uint16_t w3, uint16_t x0,
                                uint16_t x1, uint16_t x2, uint16_t x3) {
    __m128 dw = _mm_cvtph_ps(_mm_setr_epi16((short)w0, (short)w1, (short)w2, (short)w3, 0, 0, 0, 0));
    __m128 dx = _mm_cvtph_ps(_mm_setr_epi16((short)x0, (short)x1, (short)x2, (short)x3, 0, 0, 0, 0));
    return _mm_mul_ps(dw, dx);
}

/* roundf on 8 lanes: halves away from zero (trunc, then ±1 where the dropped part is ≥ ½). */
TGT static inline __m256i round_away(__m256 t) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 tr = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(t, tr)), half, _CMP_GE_OQ);
    const __m256 step = _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(t, sign), one));
    return _mm256_cvttps_epi32(_mm256_add_ps(tr, step));
}

/* The largest |x| of a 32-value block; *finite: whether every value is finite (|v| < inf is
 * false for NaN and ±inf). */
TGT static inline float block_absmax(const float *x, int *finite) {
    const __m256 sign = _mm256_set1_ps(-0.0f), inf = _mm256_set1_ps(INFINITY);
    const __m256 a0 = _mm256_andnot_ps(sign, _mm256_loadu_ps(x)), a1 = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)),
                 a2 = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)), a3 = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24));
    const __m256 fin = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(a0, inf, _CMP_LT_OQ), _mm256_cmp_ps(a1, inf, _CMP_LT_OQ)),
                                     _mm256_and_ps(_mm256_cmp_ps(a2, inf, _CMP_LT_OQ), _mm256_cmp_ps(a3, inf, _CMP_LT_OQ)));
    *finite = _mm256_movemask_ps(fin) == 0xff;
    const __m256 m = _mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

/* qs[0..32) = roundf(x·id), half away from zero; returns the codes as int32 lanes summed in
 * fours (the codes are within ±127, so packing saturated none). */
TGT static inline __m256i block_codes(int8_t *qs, const float *x, float id) {
    const __m256 vid = _mm256_set1_ps(id);
    const __m256i c0 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x), vid)),
                  c1 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8), vid)),
                  c2 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 16), vid)),
                  c3 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 24), vid));
    /* packs interleave 128-bit lanes; the permutation puts codes 0..31 back in order */
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
    _mm256_storeu_si256((__m256i *)qs, _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    return _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
}

/* gb_quantize_row_q8_0's bits: the same max, scale and rounding per block; a block holding a
 * NaN or an infinity goes to the scalar code, whose NaN order and conversions decide it. */
TGT void gb_quantize_row_q8_0_avx2(gb_block_q8_0 *restrict y, const float *restrict x, int64_t n) {
    for (int64_t b = 0; b < n / GB_QK8_0; b++, x += GB_QK8_0) {
        int finite;
        const float d = block_absmax(x, &finite) / 127, id = d != 0.0f ? 1.0f / d : 0.0f;
        /* !(id < inf): a subnormal scale, 1/d overflows, x·id may be ±inf or NaN */
        if (!finite || !(id < INFINITY)) {
            gb_quantize_row_q8_0(y + b, x, GB_QK8_0);
            continue;
        }
        block_codes(y[b].qs, x, id);
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    }
}

/* gb_quantize_row_q8_0_t's bits, 8 blocks at a time: their maxima first, then the scales and
 * their reciprocals as one vector division each (two scalar divisions in a row had been most
 * of a block's time), then the codes and their sum. Blocks the scalar code must decide (as
 * above) go to it. A 768-wide row with its side table: 1350 -> 760 TSC cycles, 2048 wide
 * 3530 -> 1740 (Zen 3). */
TGT void gb_quantize_row_q8_0_t_avx2(gb_block_q8_0 *restrict y, float *restrict xd, int32_t *restrict xs,
                                     const float *restrict x, int64_t n) {
    const int64_t nb = n / GB_QK8_0;
    for (int64_t b0 = 0; b0 < nb; b0 += 8) {
        const int g = nb - b0 < 8 ? (int)(nb - b0) : 8;
        float amax[8] = {0}, id[8], dx[8];
        int finite[8];
        for (int i = 0; i < g; i++) amax[i] = block_absmax(x + (b0 + i) * GB_QK8_0, &finite[i]);
        /* d = amax / 127, id = d ? 1 / d : 0: IEEE divisions, the scalar code's bits */
        const __m256 dv = _mm256_div_ps(_mm256_loadu_ps(amax), _mm256_set1_ps(127.0f));
        const __m256 idv = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), dv),
                                         _mm256_cmp_ps(dv, _mm256_setzero_ps(), _CMP_NEQ_OQ));
        const __m128i dh = _mm256_cvtps_ph(dv, _MM_FROUND_TO_NEAREST_INT);
        uint16_t dh16[8];
        _mm256_storeu_ps(id, idv);
        _mm_storeu_si128((__m128i *)dh16, dh);
        _mm256_storeu_ps(dx, _mm256_cvtph_ps(dh));
        for (int i = 0; i < g; i++) {
            const int64_t b = b0 + i;
            const float *xb = x + b * GB_QK8_0;
            if (!finite[i] || !(id[i] < INFINITY)) {
                gb_quantize_row_q8_0_t(y + b, xd + b, xs + b, xb, GB_QK8_0);
                continue;
            }
            const __m256i c = block_codes(y[b].qs, xb, id[i]);
            __m128i t = _mm_add_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
            y[b].d = dh16[i], xd[b] = dx[i], xs[b] = _mm_cvtsi128_si32(t);
        }
    }
}

/* gb_quantize_row_q8_K's bits: the first element of largest magnitude sets the sign of the
 * scale, codes round to nearest even (VCVTPS2DQ, as ggml's nearest_int), at most 127. A block
 * with a NaN or an infinity, or whose scale overflows, goes to the scalar code. */
TGT void gb_quantize_row_q8_K_avx2(gb_block_q8_K *restrict y, const float *restrict x, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), inf = _mm256_set1_ps(INFINITY);
    for (int64_t i = 0; i < n / GB_QK_K; i++, x += GB_QK_K) {
        __m256 amax = _mm256_setzero_ps(), fin = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
        for (int j = 0; j < GB_QK_K; j += 8) {
            const __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j));
            fin = _mm256_and_ps(fin, _mm256_cmp_ps(a, inf, _CMP_LT_OQ)); /* false for NaN and ±inf */
            amax = _mm256_max_ps(amax, a);
        }
        if (_mm256_movemask_ps(fin) != 0xff) {
            gb_quantize_row_q8_K(y + i, x, GB_QK_K);
            continue;
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        const float am = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
        if (am == 0.0f) { /* as the scalar code: all zero, bsums included */
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        int j0 = 0; /* the first element of that magnitude decides the sign */
        while (fabsf(x[j0]) != am) j0++;
        const float iscale = -127.f / x[j0];
        if (!(fabsf(iscale) < INFINITY)) {
            gb_quantize_row_q8_K(y + i, x, GB_QK_K);
            continue;
        }
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i c127 = _mm256_set1_epi32(127), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (int j = 0; j < GB_QK_K; j += 32) {
            __m256i c[4];
            for (int k = 0; k < 4; k++)
                c[k] = _mm256_min_epi32(c127, _mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + j + 8 * k))));
            const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
            const __m256i q = _mm256_permutevar8x32_epi32(p, order);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), q);
            /* the two 16-code sums: bytes widened by VPMADDUBSW with ones, then added up */
            const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
            const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1)); /* 4-code sums */
            int32_t v[8];
            _mm256_storeu_si256((__m256i *)v, s32);
            y[i].bsums[j / 16] = (int16_t)(v[0] + v[1] + v[2] + v[3]);
            y[i].bsums[j / 16 + 1] = (int16_t)(v[4] + v[5] + v[6] + v[7]);
        }
        y[i].d = 1 / iscale;
    }
}

TGT float gb_avx2_dot_q8_0(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x) {
    const int64_t nb = n / GB_QK8_0;
    __m128 acc = _mm_setzero_ps();
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const gb_block_q8_0 *a = w + ib, *b = x + ib;
        __m128i s = hsum4_i32(dot_i8(load32(a[0].qs), load32(b[0].qs)),
                              dot_i8(load32(a[1].qs), load32(b[1].qs)),
                              dot_i8(load32(a[2].qs), load32(b[2].qs)),
                              dot_i8(load32(a[3].qs), load32(b[3].qs)));
        __m128 d = scale4(a[0].d, a[1].d, a[2].d, a[3].d, b[0].d, b[1].d, b[2].d, b[3].d);
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), d));
    }
    float sums[4];
    _mm_storeu_ps(sums, acc);
    for (; ib < nb; ib++) {
        int sumi = hsum_i32(dot_i8(load32(w[ib].qs), load32(x[ib].qs)));
        sums[ib & 3] += (float)sumi * (f16(w[ib].d) * f16(x[ib].d));
    }
    return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

TGT float gb_avx2_dot_q4_0(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x) {
    const int64_t nb = n / GB_QK4_0;
    __m128 acc = _mm_setzero_ps();
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const gb_block_q4_0 *a = w + ib;
        const gb_block_q8_0 *b = x + ib;
        const __m256i x0 = load32(b[0].qs), x1 = load32(b[1].qs), x2 = load32(b[2].qs), x3 = load32(b[3].qs);
        __m128i s = hsum4_i32(dot_q4_0_blk(a[0].qs, x0, x8_of(x0)), dot_q4_0_blk(a[1].qs, x1, x8_of(x1)),
                              dot_q4_0_blk(a[2].qs, x2, x8_of(x2)), dot_q4_0_blk(a[3].qs, x3, x8_of(x3)));
        __m128 d = scale4(a[0].d, a[1].d, a[2].d, a[3].d, b[0].d, b[1].d, b[2].d, b[3].d);
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), d));
    }
    float sums[4];
    _mm_storeu_ps(sums, acc);
    for (; ib < nb; ib++) {
        const __m256i xv = load32(x[ib].qs);
        int sumi = hsum_i32(dot_q4_0_blk(w[ib].qs, xv, x8_of(xv)));
        sums[ib & 3] += (float)sumi * (f16(w[ib].d) * f16(x[ib].d));
    }
    return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

/* dot_q8_0 with the activation scales from the side table: the same bits. */
TGT static float dot_q8_0_t(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x,
                            const float *restrict xd) {
    const int64_t nb = n / GB_QK8_0;
    __m128 acc = _mm_setzero_ps();
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const gb_block_q8_0 *a = w + ib, *b = x + ib;
        __m128i s = hsum4_i32(dot_i8(load32(a[0].qs), load32(b[0].qs)), dot_i8(load32(a[1].qs), load32(b[1].qs)),
                              dot_i8(load32(a[2].qs), load32(b[2].qs)), dot_i8(load32(a[3].qs), load32(b[3].qs)));
        __m128 d = _mm_mul_ps(dw4(&a[0].d, sizeof *a), _mm_loadu_ps(xd + ib));
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), d));
    }
    float sums[4];
    _mm_storeu_ps(sums, acc);
    for (; ib < nb; ib++) {
        int sumi = hsum_i32(dot_i8(load32(w[ib].qs), load32(x[ib].qs)));
        sums[ib & 3] += (float)sumi * (f16(w[ib].d) * xd[ib]);
    }
    return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

/* 8 int32 partial sums of Σ q·x over one Q4_0 block, q the unsigned nibbles: the 16 bytes
 * broadcast to both halves, the high half shifted right by 4, both masked. */
TGT static inline __m256i dot_u4_blk(const uint8_t *qs, __m256i xv) {
    const __m256i t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    const __m256i q = _mm256_and_si256(_mm256_srlv_epi64(t, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), _mm256_set1_epi16(1));
}

/* dot_q4_0 with the side table: Σ (q−8)·x = Σ q·x − 8·Σx with Σx from the table, four blocks
 * at a time — the same integers and float steps, so the same bits. */
TGT static float dot_q4_0_t(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x,
                            const float *restrict xd, const int32_t *restrict xs) {
    const int64_t nb = n / GB_QK4_0;
    __m128 acc = _mm_setzero_ps();
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const gb_block_q4_0 *a = w + ib;
        const gb_block_q8_0 *b = x + ib;
        __m128i s = hsum4_i32(dot_u4_blk(a[0].qs, load32(b[0].qs)), dot_u4_blk(a[1].qs, load32(b[1].qs)),
                              dot_u4_blk(a[2].qs, load32(b[2].qs)), dot_u4_blk(a[3].qs, load32(b[3].qs)));
        s = _mm_sub_epi32(s, _mm_slli_epi32(_mm_loadu_si128((const __m128i *)(xs + ib)), 3));
        __m128 d = _mm_mul_ps(dw4(&a[0].d, sizeof *a), _mm_loadu_ps(xd + ib));
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), d));
    }
    float sums[4];
    _mm_storeu_ps(sums, acc);
    for (; ib < nb; ib++) {
        int sumi = hsum_i32(dot_u4_blk(w[ib].qs, load32(x[ib].qs))) - 8 * xs[ib];
        sums[ib & 3] += (float)sumi * (f16(w[ib].d) * xd[ib]);
    }
    return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

/* Shuffle masks that broadcast int16 lane k of each 128-bit half: k_lo in the low half,
 * k_hi in the high one. */
#define SPLAT2(lo, hi) \
    _mm256_setr_epi8(2 * (lo), 2 * (lo) + 1, 2 * (lo), 2 * (lo) + 1, 2 * (lo), 2 * (lo) + 1, 2 * (lo), \
                     2 * (lo) + 1, 2 * (lo), 2 * (lo) + 1, 2 * (lo), 2 * (lo) + 1, 2 * (lo), 2 * (lo) + 1, \
                     2 * (lo), 2 * (lo) + 1, 2 * (hi), 2 * (hi) + 1, 2 * (hi), 2 * (hi) + 1, 2 * (hi), \
                     2 * (hi) + 1, 2 * (hi), 2 * (hi) + 1, 2 * (hi), 2 * (hi) + 1, 2 * (hi), 2 * (hi) + 1, \
                     2 * (hi), 2 * (hi) + 1, 2 * (hi), 2 * (hi) + 1)

TGT static float dot_q4_K(int64_t n, const gb_block_q4_K *restrict w, const gb_block_q8_K *restrict x) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i splat[8] = {SPLAT2(0, 0), SPLAT2(1, 1), SPLAT2(2, 2), SPLAT2(3, 3),
                              SPLAT2(4, 4), SPLAT2(5, 5), SPLAT2(6, 6), SPLAT2(7, 7)};
    __m256 accv = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        uint64_t sc8, mn8;
        q4k_scales_mins(w[i].scales, &sc8, &mn8);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
        const uint8_t *q = w[i].qs;
        const int8_t *a = x[i].qs;
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i qb = load32(q + 32 * j);
            __m256i lo = _mm256_and_si256(qb, m4), hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
            __m256i p0 = _mm256_maddubs_epi16(lo, load32(a + 64 * j));
            __m256i p1 = _mm256_maddubs_epi16(hi, load32(a + 64 * j + 32));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p0, _mm256_shuffle_epi8(sc16, splat[2 * j])));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p1, _mm256_shuffle_epi8(sc16, splat[2 * j + 1])));
        }
        accv = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[i].d) * x[i].d), _mm256_cvtepi32_ps(acc), accv);
        accm = _mm_fmadd_ps(_mm_set1_ps(f16(w[i].dmin) * x[i].d), _mm_cvtepi32_ps(q4k_min_lanes(mn8, x[i].bsums)), accm);
    }
    return hsum_f32(accv) - hsum4_f32(accm);
}

TGT static float dot_q6_K(int64_t n, const gb_block_q6_K *restrict w, const gb_block_q8_K *restrict x) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    const __m256i splat[4] = {SPLAT2(0, 1), SPLAT2(2, 3), SPLAT2(4, 5), SPLAT2(6, 7)};
    __m256 accv = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[i].scales));
        /* 32·Σ_g sc_g·bsums_g, subtracted lane-wise before the one reduction */
        __m256i acc = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(x[i].bsums)), 5);
        acc = _mm256_sub_epi32(_mm256_setzero_si256(), acc);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[i].ql + 64 * h, *qh = w[i].qh + 32 * h;
            const int8_t *a = x[i].qs + 128 * h;
            /* scales 8h..8h+7 in both halves */
            const __m256i sch = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                                  : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            __m256i l0 = load32(ql), l1 = load32(ql + 32), hb = load32(qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
            for (int t = 0; t < 4; t++) { /* the 32 codes are groups 8h+2t (low half), +1 (high) */
                __m256i p = _mm256_maddubs_epi16(q[t], load32(a + 32 * t));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_shuffle_epi8(sch, splat[t])));
            }
        }
        accv = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[i].d) * x[i].d), _mm256_cvtepi32_ps(acc), accv);
    }
    return hsum_f32(accv);
}

/* The 16-bit rows' dots ask for the line 1 KiB ahead: decode (rows back to back, 110M F16 at
 * 2 threads) went from 75-79 % to 85 % of the read bandwidth measured beside it; 512 B was too
 * near, 2-4 KiB no better or worse. The fp32 dot runs best without (the hardware prefetcher
 * keeps up with its twice as fast stream). */
#define W16_PREFETCH 1024

TGT float gb_avx2_dot_f16(int64_t n, const uint16_t *restrict w, const float *restrict x) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
#define LDH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch((const char *)(w + i) + W16_PREFETCH, _MM_HINT_T0);
        a0 = _mm256_fmadd_ps(LDH(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(LDH(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(LDH(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(LDH(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(LDH(w + i), _mm256_loadu_ps(x + i), a0);
#undef LDH
    float s = hsum_f32(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += f16(w[i]) * x[i];
    return s;
}

TGT static inline __m256 load_bf16(const uint16_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

TGT float gb_avx2_dot_bf16(int64_t n, const uint16_t *restrict w, const float *restrict x) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch((const char *)(w + i) + W16_PREFETCH, _MM_HINT_T0);
        a0 = _mm256_fmadd_ps(load_bf16(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load_bf16(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(load_bf16(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(load_bf16(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_bf16(w + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum_f32(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += gb_bf16_to_fp32(w[i]) * x[i];
    return s;
}

TGT float gb_avx2_dot_f32(int64_t n, const float *restrict w, const float *restrict x) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum_f32(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += w[i] * x[i];
    return s;
}

TGT void gb_avx2_fp16_from_f32(uint16_t *restrict dst, const float *restrict src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

TGT void gb_avx2_fp16_to_f32(float *restrict dst, const uint16_t *restrict src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

const quant_kernels gb_quant_kernels_avx2 = {
    "avx2",          GB_QUANT_AVX2,    gb_avx2_dot_q8_0,      gb_avx2_dot_q4_0,    dot_q8_0_t,
    dot_q4_0_t,      dot_q4_K,         dot_q6_K,              gb_avx2_dot_f16,     gb_avx2_dot_bf16,
    gb_avx2_dot_f32, gb_avx2_fp16_from_f32, gb_avx2_fp16_to_f32, gb_qg_tile_avx2, gb_qg_pack_row_avx2,
    QG_RM,           2,               gb_quantize_row_q8_0_avx2, gb_quantize_row_q8_0_t_avx2,
    gb_quantize_row_q8_K_avx2,
    gb_dot8_q8_0_avx2, gb_dot8_q4_0_avx2, gb_dot8_q4_K_avx2, gb_dot8_q6_K_avx2, gb_dot8_f16_avx2,
};

#endif
