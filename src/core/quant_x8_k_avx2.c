/* glassbox — AVX2 group kernels of the 8-row interleaved layouts (quant_x8.h) for Q4_K and
 * Q6_K. As in quant_x8_avx2.c, lane r of every vector is row r: one 32-byte load is 4 codes of
 * each of the 8 rows, met by the activation's 4 codes broadcast to all lanes, so a sub-block's
 * (group's) sums come out whole per row and need no shuffles, and the per-row scales are one
 * int32 lane each. The integers are exact and the float steps are the scalar kernels'
 * (quant_x8.c), lane by lane: the same bits.
 *
 * Scales. The 8 rows' scale arrays are transposed once per super-block with a few shuffles so
 * that int32 lane r holds 4 of row r's scale bytes; one VPSHUFB then copies scale s of every
 * row into both int16 halves of its lane, the operand VPMADDWD needs to weight a row's int16
 * sums. The GGUF kernels (quant_avx2.c) shuffle a scale for every 32 codes of one row; here one
 * shuffle serves a sub-block of 8 rows, and a sub-block's int16 sums widen once. Q4_K's min
 * term Σ m_s·Σx_s is 4 VPMADDWD per super-block for all 8 rows, Q6_K's −32·Σ sc_g·bsums_g 8.
 * About 0.36 (Q4_K) and 0.40 (Q6_K) vector instructions per weight byte, against 0.56 for
 * either GGUF kernel.
 *
 * Overflow bounds (activation codes x in [-128, 127]; the quantizers give [-127, 127]):
 *   Q4_K: VPMADDUBSW(nibble, x) pair sums are within ±2·15·128 = 3840; a sub-block is 8 loads
 *         (32 codes per row), so its int16 sums stay within ±30720 < 32768 before VPMADDWD
 *         widens them with the 6-bit scale (≤ 63): |sc·Σ| < 4 M per lane, int32 is far off.
 *   Q6_K: pair sums of the 6-bit codes (0..63) are within [-16128, 16002]; two of them add to
 *         [-32256, 32004], still int16, so every group (16 codes, 4 loads) widens twice with
 *         its signed scale (|sc| ≤ 128). |isum| < 2^29 (Σ_g 128·16·63·128 plus 32·Σ 128·2048).
 * Integer sums are then exact, so their order does not matter: the result is the reference's
 * int32 and the float steps are the same. */
#include "core/quant_internal.h"

#ifdef QUANT_X86
#include "core/quant_x8_avx2.h"

/* The 32 bits at p (two int16 bsums) broadcast to all lanes. */
X8_TGT static inline __m256i bcast_i16x2(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* x8_prefetch of piece k of `parts` equal pieces of the block at b (size bytes), issued by the
 * loop step that reads about that share of the block: the same lines at the same distance as
 * x8_prefetch(b, size), but spread out instead of all of the block's 18 (Q4_K) or 26 (Q6_K)
 * lines in one burst at its start. Measured on Zen 3, one thread, from DRAM: Q6_K 15-16 ->
 * 18-19 GB/s, Q4_K within the noise; in cache both a few % faster. */
X8_TGT static inline void prefetch_part(const void *b, size_t size, int parts, int k) {
    x8_prefetch((const uint8_t *)b + size / (size_t)parts * (size_t)k, size / (size_t)parts, X8_PREFETCH);
}

/* Byte b (0..3) of each int32 lane of v, zero-extended, in both of its int16 halves: a row's
 * scale as the VPMADDWD operand that weights both of its int16 sums. */
X8_TGT static inline __m256i dup_byte(__m256i v, int b) {
    const __m256i base = _mm256_setr_epi8(0, -128, 0, -128, 4, -128, 4, -128, 8, -128, 8, -128, 12, -128, 12, -128,
                                          0, -128, 0, -128, 4, -128, 4, -128, 8, -128, 8, -128, 12, -128, 12, -128);
    /* -128 + b keeps bit 7 set: those bytes become zero */
    return _mm256_shuffle_epi8(v, _mm256_add_epi8(base, _mm256_set1_epi8((char)b)));
}

/* ---- Q4_K ------------------------------------------------------------------------------------ */

/* The 8 rows' 6-bit scales and mins, int32 lane r = row r: sc[0] bytes = sc_0..3, sc[1] =
 * sc_4..7, mn[0] = m_0..3, mn[1] = m_4..7 (quant_q4_K_scale_min, four at a time). Row r's 12
 * bytes are dwords 3r, 3r+1, 3r+2 of the 96; for each k, dwords 3r+k (r < 8) fall on 8
 * different positions mod 8, so two blends of the three 32-byte loads and one VPERMD gather
 * them in row order. */
X8_TGT static inline void q4k_scales(const uint8_t *s, __m256i sc[2], __m256i mn[2]) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)s), b = _mm256_loadu_si256((const __m256i *)(s + 32)),
                  c = _mm256_loadu_si256((const __m256i *)(s + 64));
    const __m256i u0 = _mm256_permutevar8x32_epi32(_mm256_blend_epi32(_mm256_blend_epi32(a, b, 0x92), c, 0x24),
                                                   _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5));
    const __m256i u1 = _mm256_permutevar8x32_epi32(_mm256_blend_epi32(_mm256_blend_epi32(a, b, 0x24), c, 0x49),
                                                   _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6));
    const __m256i u2 = _mm256_permutevar8x32_epi32(_mm256_blend_epi32(_mm256_blend_epi32(a, b, 0x49), c, 0x92),
                                                   _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7));
    const __m256i m6 = _mm256_set1_epi8(0x3F), m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    /* j < 4: low 6 bits of bytes j (scales) and j + 4 (mins); j ≥ 4: the nibbles of byte j + 4
     * and the top two bits of byte j − 4 (scales) or j (mins) as bits 4..5 */
    sc[0] = _mm256_and_si256(u0, m6);
    mn[0] = _mm256_and_si256(u1, m6);
    sc[1] = _mm256_or_si256(_mm256_and_si256(u2, m4), _mm256_and_si256(_mm256_srli_epi32(u0, 2), m30));
    mn[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 4), m4),
                            _mm256_and_si256(_mm256_srli_epi32(u1, 2), m30));
}

/* Σ_s m_s·(bsums[2s] + bsums[2s+1]) per row, exact: pairs (m_2k, m_2k+1) as int16 against the
 * sub-block sums (b_2k, b_2k+1) in every lane. */
X8_TGT static inline __m256i q4k_msum(const __m256i mn[2], const int16_t *bsums) {
    const __m128i b8 = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bsums),
                                      _mm_loadu_si128((const __m128i *)(bsums + 8))); /* b_0..b_7 */
    const __m256i bb = _mm256_broadcastsi128_si256(b8);
    const __m256i lo = _mm256_setr_epi8(0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13, -128,
                                        0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13, -128);
    const __m256i hi = _mm256_add_epi8(lo, _mm256_set1_epi8(2));
    __m256i s = _mm256_madd_epi16(_mm256_shuffle_epi8(mn[0], lo), _mm256_shuffle_epi32(bb, 0x00));
    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_shuffle_epi8(mn[0], hi), _mm256_shuffle_epi32(bb, 0x55)));
    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_shuffle_epi8(mn[1], lo), _mm256_shuffle_epi32(bb, 0xAA)));
    return _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_shuffle_epi8(mn[1], hi), _mm256_shuffle_epi32(bb, 0xFF)));
}

/* Chunk j (row bytes 32j..32j+31, loads 8j..8j+7) holds sub-block 2j in its low nibbles and
 * 2j + 1 in its high ones; load t meets activation codes 64j + 4t (low) and 64j + 32 + 4t
 * (high). Each sub-block's int16 sums are widened once, with its scale. */
X8_TGT void gb_dot8_q4_K_avx2(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                              const int32_t *restrict xs, float *restrict out) {
    (void)xd, (void)xs;
    const gb_block_q4_Kx8 *wb = w;
    const gb_block_q8_K *xb = x;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        __m256i sc[2], mn[2];
        q4k_scales(wb[i].scales, sc, mn);
        /* the min term first (acc and accm are independent), so mn's registers are free below */
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q4k_msum(mn, xb[i].bsums)), x8_scales(wb[i].dmin, xb[i].d), accm);
        const uint8_t *q = wb[i].qs;
        const int8_t *a = xb[i].qs;
        __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            prefetch_part(wb + i, sizeof *wb, 4, j);
            __m256i sl = _mm256_setzero_si256(), sh = sl;
#pragma GCC unroll 8
            for (int t = 0; t < 8; t++) {
                const __m256i qb = in_reg(_mm256_loadu_si256((const __m256i *)(q + 256 * j + 32 * t)));
                const __m256i lo = _mm256_and_si256(qb, m4), hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
                sl = in_reg(_mm256_add_epi16(sl, _mm256_maddubs_epi16(lo, x8_bcast4(a + 64 * j + 4 * t))));
                sh = in_reg(_mm256_add_epi16(sh, _mm256_maddubs_epi16(hi, x8_bcast4(a + 64 * j + 32 + 4 * t))));
            }
            /* scales 2j, 2j + 1: bytes 2(j % 2), +1 of sc[j / 2] */
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(sl, dup_byte(sc[j / 2], 2 * (j % 2))));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(sh, dup_byte(sc[j / 2], 2 * (j % 2) + 1)));
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), x8_scales(wb[i].d, xb[i].d), acc);
    }
    _mm256_storeu_ps(out, _mm256_sub_ps(acc, accm));
}

/* ---- Q6_K ------------------------------------------------------------------------------------ */

/* Row r's 16 scales (s = scales + 16r) in the low half, row r + 4's in the high one. */
X8_TGT static inline __m256i q6k_rows2(const int8_t *s) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)s)),
                                   _mm_loadu_si128((const __m128i *)(s + 64)), 1);
}

/* Four groups' scales from g (lane r: row r's 4 signed scale bytes) into scv[0..3], and corr
 * plus Σ sc·bsums over them. Bytes 0, 1 (2, 3) go to the high bytes of the int16 halves, where
 * VPSRAW 8 sign-extends them; those pairs meet the bsums pairs, then each half is copied to
 * both (the scale operand). */
X8_TGT static inline __m256i q6k_groups4(__m256i g, const int16_t *bsums, __m256i scv[4], __m256i corr) {
    const __m256i ma = _mm256_setr_epi8(-128, 0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13,
                                        -128, 0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13);
    const __m256i d0 = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4, 5, 4, 5, 8,
                                        9, 8, 9, 12, 13, 12, 13);
    const __m256i two = _mm256_set1_epi8(2);
    const __m256i pa = _mm256_srai_epi16(_mm256_shuffle_epi8(g, ma), 8);                        /* sc_0, sc_1 */
    const __m256i pb = _mm256_srai_epi16(_mm256_shuffle_epi8(g, _mm256_add_epi8(ma, two)), 8); /* sc_2, sc_3 */
    corr = _mm256_add_epi32(corr, _mm256_madd_epi16(pa, bcast_i16x2(bsums)));
    corr = _mm256_add_epi32(corr, _mm256_madd_epi16(pb, bcast_i16x2(bsums + 2)));
    const __m256i d1 = _mm256_add_epi8(d0, two);
    scv[0] = _mm256_shuffle_epi8(pa, d0), scv[1] = _mm256_shuffle_epi8(pa, d1);
    scv[2] = _mm256_shuffle_epi8(pb, d0), scv[3] = _mm256_shuffle_epi8(pb, d1);
    return corr;
}

/* The 16 group scale vectors of a super-block into scv (int32 lane r: row r's signed scale of
 * group g in both int16 halves) and, returned, −32·Σ_g sc_g·bsums_g per row — the isum's start.
 * Row r's 16 scales are 4 dwords; a 4×4 dword transpose in each 128-bit half (rows r and r + 4
 * loaded as one vector) puts row r's scales 4k..4k+3 in lane r of one vector per k. */
X8_TGT static inline __m256i q6k_scales(const int8_t *s, const int16_t *bsums, __m256i scv[16]) {
    const __m256i v0 = q6k_rows2(s), v1 = q6k_rows2(s + 16), v2 = q6k_rows2(s + 32), v3 = q6k_rows2(s + 48);
    const __m256i t0 = _mm256_unpacklo_epi32(v0, v1), t1 = _mm256_unpacklo_epi32(v2, v3);
    const __m256i t2 = _mm256_unpackhi_epi32(v0, v1), t3 = _mm256_unpackhi_epi32(v2, v3);
    __m256i corr = q6k_groups4(_mm256_unpacklo_epi64(t0, t1), bsums, scv, _mm256_setzero_si256());
    corr = q6k_groups4(_mm256_unpackhi_epi64(t0, t1), bsums + 4, scv + 4, corr);
    corr = q6k_groups4(_mm256_unpacklo_epi64(t2, t3), bsums + 8, scv + 8, corr);
    corr = q6k_groups4(_mm256_unpackhi_epi64(t2, t3), bsums + 12, scv + 12, corr);
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5));
}

/* Element e = 128h + 32t + 4v + i (v < 8, i < 4) of a row is ql byte 64h + 32(t & 1) + 4v + i,
 * nibble t >> 1, and qh byte 32h + 4v + i, bits 2t..2t+1 (quant.c): loads A = ql unit 16h + v,
 * B = ql unit 16h + 8 + v and H = qh unit 8h + v hold its codes for all four t, and it is in
 * group 8h + 2t + v/4. Loads v and v + 1 (v even) are in the same group for each t: their pair
 * sums add in int16, then widen with the group's scale. */
X8_TGT void gb_dot8_q6_K_avx2(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                              const int32_t *restrict xs, float *restrict out) {
    (void)xd, (void)xs;
    const gb_block_q6_Kx8 *wb = w;
    const gb_block_q8_K *xb = x;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        __m256i scv[16];
        __m256i isum = q6k_scales(wb[i].scales, xb[i].bsums, scv);
        for (int h = 0; h < 2; h++) {
#pragma GCC unroll 4
            for (int v = 0; v < 8; v += 2) {
                const uint8_t *ql = wb[i].ql + 32 * (16 * h + v), *qh = wb[i].qh + 32 * (8 * h + v);
                const int8_t *a = xb[i].qs + 128 * h + 4 * v;
                const __m256i *sg = scv + 8 * h + v / 4; /* group of t = 0; t adds 2 */
                prefetch_part(wb + i, sizeof *wb, 8, 4 * h + v / 2);
                const __m256i a0 = in_reg(_mm256_loadu_si256((const __m256i *)ql));
                const __m256i a1 = in_reg(_mm256_loadu_si256((const __m256i *)(ql + 32)));
                const __m256i b0 = in_reg(_mm256_loadu_si256((const __m256i *)(ql + 256)));
                const __m256i b1 = in_reg(_mm256_loadu_si256((const __m256i *)(ql + 288)));
                const __m256i h0 = in_reg(_mm256_loadu_si256((const __m256i *)qh));
                const __m256i h1 = in_reg(_mm256_loadu_si256((const __m256i *)(qh + 32)));
                __m256i q0, q1, p;
                /* t = 0: low nibbles of A, qh bits 0..1 */
                q0 = _mm256_or_si256(_mm256_and_si256(a0, m4), _mm256_and_si256(_mm256_slli_epi16(h0, 4), m30));
                q1 = _mm256_or_si256(_mm256_and_si256(a1, m4), _mm256_and_si256(_mm256_slli_epi16(h1, 4), m30));
                p = _mm256_add_epi16(_mm256_maddubs_epi16(q0, x8_bcast4(a)),
                                     _mm256_maddubs_epi16(q1, x8_bcast4(a + 4)));
                isum = in_reg(_mm256_add_epi32(isum, _mm256_madd_epi16(p, sg[0])));
                /* t = 1: low nibbles of B, bits 2..3 */
                q0 = _mm256_or_si256(_mm256_and_si256(b0, m4), _mm256_and_si256(_mm256_slli_epi16(h0, 2), m30));
                q1 = _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_and_si256(_mm256_slli_epi16(h1, 2), m30));
                p = _mm256_add_epi16(_mm256_maddubs_epi16(q0, x8_bcast4(a + 32)),
                                     _mm256_maddubs_epi16(q1, x8_bcast4(a + 36)));
                isum = in_reg(_mm256_add_epi32(isum, _mm256_madd_epi16(p, sg[2])));
                /* t = 2: high nibbles of A, bits 4..5 */
                q0 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a0, 4), m4), _mm256_and_si256(h0, m30));
                q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a1, 4), m4), _mm256_and_si256(h1, m30));
                p = _mm256_add_epi16(_mm256_maddubs_epi16(q0, x8_bcast4(a + 64)),
                                     _mm256_maddubs_epi16(q1, x8_bcast4(a + 68)));
                isum = in_reg(_mm256_add_epi32(isum, _mm256_madd_epi16(p, sg[4])));
                /* t = 3: high nibbles of B, bits 6..7 */
                q0 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b0, 4), m4),
                                     _mm256_and_si256(_mm256_srli_epi16(h0, 2), m30));
                q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4),
                                     _mm256_and_si256(_mm256_srli_epi16(h1, 2), m30));
                p = _mm256_add_epi16(_mm256_maddubs_epi16(q0, x8_bcast4(a + 96)),
                                     _mm256_maddubs_epi16(q1, x8_bcast4(a + 100)));
                isum = in_reg(_mm256_add_epi32(isum, _mm256_madd_epi16(p, sg[6])));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), x8_scales(wb[i].d, xb[i].d), acc);
    }
    _mm256_storeu_ps(out, acc);
}

#endif
