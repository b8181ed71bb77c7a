/* glassbox — AVX2 tiles of the quantized prefill product (layouts in quant_gemm.h).
 *
 * Lane c of every vector is activation row c of the column group, so a block's integer sums
 * come out of VPMADDWD already whole — no horizontal reductions — and the float steps are the
 * scalar tile's, lane by lane: the same bits.
 *
 * Ranges (activation codes in [−127, 127], all the Q8_0 quantizer makes):
 *   4-bit codes: a VPMADDUBSW pair sum is ≤ 2·15·127 = 3810, so the eight 4-element groups of
 *     a block add up in int16 (≤ 30480) before one VPMADDWD widens them;
 *   6-bit codes: ≤ 2·63·127 = 16002 per pair sum, two groups at a time in int16;
 *   8-bit codes: VPMADDUBSW takes |w| and x with w's sign (≤ 2·128·127 = 32512), widened at
 *     once. */
#include "core/quant_gemm.h"
#include "core/quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include "core/quant_gemm_x86.h"

#define TGT __attribute__((target("avx2,fma,f16c")))

TGT static void tile_u4(int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                        float *restrict out, int64_t ldo, int nr, int nc) {
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    for (int64_t b = 0; b < nb; b++, w += QG_RM, x++) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < 8; g++) {
            const __m256i xv = xgroup(x, g);
            a0 = _mm256_add_epi16(a0, _mm256_maddubs_epi16(bcast4(w[0].q + 4 * g), xv));
            a1 = _mm256_add_epi16(a1, _mm256_maddubs_epi16(bcast4(w[1].q + 4 * g), xv));
            a2 = _mm256_add_epi16(a2, _mm256_maddubs_epi16(bcast4(w[2].q + 4 * g), xv));
            a3 = _mm256_add_epi16(a3, _mm256_maddubs_epi16(bcast4(w[3].q + 4 * g), xv));
        }
        const __m256 dx = _mm256_load_ps(x->dx), xs = _mm256_load_ps(x->xs);
        f0 = scale_add(f0, widen(a0), w[0].sc[0], dx, w[0].mn[0], xs);
        f1 = scale_add(f1, widen(a1), w[1].sc[0], dx, w[1].mn[0], xs);
        f2 = scale_add(f2, widen(a2), w[2].sc[0], dx, w[2].mn[0], xs);
        f3 = scale_add(f3, widen(a3), w[3].sc[0], dx, w[3].mn[0], xs);
    }
    const __m256 f[QG_RM] = {f0, f1, f2, f3};
    store_tile(f, out, ldo, nr, nc);
}

/* Σ over the 16 elements of half h (groups 4h .. 4h+3) of row r, widened to int32 then float. */
TGT static inline __m256 half_u6(const qg_wblk *w, const __m256i xv[4], int h) {
    const uint8_t *q = w->q + 16 * h;
    __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(bcast4(q), xv[0]), _mm256_maddubs_epi16(bcast4(q + 4), xv[1]));
    __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(bcast4(q + 8), xv[2]), _mm256_maddubs_epi16(bcast4(q + 12), xv[3]));
    const __m256i one = _mm256_set1_epi16(1);
    return _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_madd_epi16(s, one), _mm256_madd_epi16(t, one)));
}

TGT static void tile_u6(int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x, float *restrict out,
                        int64_t ldo, int nr, int nc) {
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    for (int64_t b = 0; b < nb; b++, w += QG_RM, x++) {
        const __m256 dx = _mm256_load_ps(x->dx);
        for (int h = 0; h < 2; h++) {
            const __m256i xv[4] = {xgroup(x, 4 * h), xgroup(x, 4 * h + 1), xgroup(x, 4 * h + 2), xgroup(x, 4 * h + 3)};
            const __m256 xs = _mm256_load_ps(h ? x->xs1 : x->xs0);
            f0 = scale_add(f0, half_u6(w + 0, xv, h), w[0].sc[h], dx, w[0].mn[h], xs);
            f1 = scale_add(f1, half_u6(w + 1, xv, h), w[1].sc[h], dx, w[1].mn[h], xs);
            f2 = scale_add(f2, half_u6(w + 2, xv, h), w[2].sc[h], dx, w[2].mn[h], xs);
            f3 = scale_add(f3, half_u6(w + 3, xv, h), w[3].sc[h], dx, w[3].mn[h], xs);
        }
    }
    const __m256 f[QG_RM] = {f0, f1, f2, f3};
    store_tile(f, out, ldo, nr, nc);
}

TGT static inline __m256i dot_s8(__m256i acc, const uint8_t *q, __m256i xv) {
    const __m256i wv = bcast4(q);
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

TGT static void tile_s8(int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                        float *restrict out, int64_t ldo, int nr, int nc) {
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    for (int64_t b = 0; b < nb; b++, w += QG_RM, x++) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < 8; g++) {
            const __m256i xv = xgroup(x, g);
            a0 = dot_s8(a0, w[0].q + 4 * g, xv);
            a1 = dot_s8(a1, w[1].q + 4 * g, xv);
            a2 = dot_s8(a2, w[2].q + 4 * g, xv);
            a3 = dot_s8(a3, w[3].q + 4 * g, xv);
        }
        const __m256 dx = _mm256_load_ps(x->dx);
        f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a0), _mm256_mul_ps(_mm256_set1_ps(w[0].sc[0]), dx), f0);
        f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a1), _mm256_mul_ps(_mm256_set1_ps(w[1].sc[0]), dx), f1);
        f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a2), _mm256_mul_ps(_mm256_set1_ps(w[2].sc[0]), dx), f2);
        f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a3), _mm256_mul_ps(_mm256_set1_ps(w[3].sc[0]), dx), f3);
    }
    const __m256 f[QG_RM] = {f0, f1, f2, f3};
    store_tile(f, out, ldo, nr, nc);
}

/* |w| once per broadcast, for both activation vectors. */
TGT static inline void dot_s8_2(__m256i *acc_x, __m256i *acc_y, const uint8_t *q, __m256i xv, __m256i yv) {
    const __m256i wv = bcast4(q), aw = _mm256_abs_epi8(wv), one = _mm256_set1_epi16(1);
    *acc_x = _mm256_add_epi32(*acc_x, _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, wv)), one));
    *acc_y = _mm256_add_epi32(*acc_y, _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(yv, wv)), one));
}

/* Two column groups at once (x, then x + nb: up to 16 activation rows), for the 8-bit codes:
 * each weight broadcast and its |w| serve both activation vectors. Sign fix-ups and the two
 * multiplies share the ports that bound this tile, and this saves a quarter of the fix-ups:
 * +7-11 % on the Q8_0 products of a 110M layer (M = 512, 2 threads, alternated in one
 * process). The 4-bit tile gained nothing from the same (its float steps outweigh the
 * broadcasts it saves). Every output takes the one-group tile's integer sums and float
 * steps: the same bits. */
TGT static void tile_s8_2(int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                          float *restrict out, int64_t ldo, int nr, int nc) {
    const qg_xblk *restrict y = x + nb;
    __m256 f[QG_RM], h[QG_RM];
    for (int r = 0; r < QG_RM; r++) f[r] = h[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++, w += QG_RM, x++, y++) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int g = 0; g < 8; g++) {
            const __m256i xv = xgroup(x, g), yv = xgroup(y, g);
            dot_s8_2(&a0, &c0, w[0].q + 4 * g, xv, yv);
            dot_s8_2(&a1, &c1, w[1].q + 4 * g, xv, yv);
            dot_s8_2(&a2, &c2, w[2].q + 4 * g, xv, yv);
            dot_s8_2(&a3, &c3, w[3].q + 4 * g, xv, yv);
        }
        const __m256i a[QG_RM] = {a0, a1, a2, a3}, c[QG_RM] = {c0, c1, c2, c3};
        const __m256 dx = _mm256_load_ps(x->dx), dy = _mm256_load_ps(y->dx);
        for (int r = 0; r < QG_RM; r++) {
            const __m256 sc = _mm256_set1_ps(w[r].sc[0]);
            f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a[r]), _mm256_mul_ps(sc, dx), f[r]);
            h[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c[r]), _mm256_mul_ps(sc, dy), h[r]);
        }
    }
    store_tile(f, out, ldo, nr, QG_NC);
    store_tile(h, out + QG_NC * ldo, ldo, nr, nc - QG_NC);
}

TGT void gb_qg_pack_row_avx2(const float *restrict x, int64_t nb, int c, qg_xblk *restrict o) {
    for (int64_t b = 0; b < nb; b++, x += 32) {
        gb_block_q8_0 q;
        gb_quantize_row_q8_0_avx2(&q, x, 32);
        const __m256i codes = _mm256_loadu_si256((const __m256i *)q.qs);
        int32_t g4[8];
        _mm256_storeu_si256((__m256i *)g4, codes);
        for (int g = 0; g < 8; g++) memcpy(o[b].q + 32 * g + 4 * c, &g4[g], 4);
        /* Σ codes of each half: bytes widened by VPMADDUBSW with ones, then summed */
        const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), codes);
        const __m128i s32 = _mm_madd_epi16(_mm_hadd_epi16(_mm256_castsi256_si128(s16), _mm256_extracti128_si256(s16, 1)),
                                           _mm_set1_epi16(1)); /* (lo0+lo1, lo2+lo3, hi0+hi1, hi2+hi3) */
        const __m128i h = _mm_hadd_epi32(s32, s32);
        const int s0 = _mm_cvtsi128_si32(h), s1 = _mm_extract_epi32(h, 1);
        const float dx = _cvtsh_ss(q.d);
        o[b].dx[c] = dx;
        o[b].xs[c] = dx * (float)(s0 + s1);
        o[b].xs0[c] = dx * (float)s0;
        o[b].xs1[c] = dx * (float)s1;
    }
}

TGT void gb_qg_tile_avx2(qg_kind kind, int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                         float *restrict out, int64_t ldo, int nr, int nc) {
    if (nc > QG_NC && kind == QG_S8) {
        tile_s8_2(nb, w, x, out, ldo, nr, nc);
        return;
    }
    for (int g = 0; g * QG_NC < nc; g++, x += nb, out += QG_NC * ldo) {
        const int ncg = nc - g * QG_NC < QG_NC ? nc - g * QG_NC : QG_NC;
        switch (kind) {
        case QG_U4: tile_u4(nb, w, x, out, ldo, nr, ncg); break;
        case QG_U6: tile_u6(nb, w, x, out, ldo, nr, ncg); break;
        case QG_S8: tile_s8(nb, w, x, out, ldo, nr, ncg); break;
        }
    }
}

#endif
