/* glassbox — AVX2 group kernels of the 8-row interleaved layouts (quant_x8.h) for Q8_0, Q4_0
 * and F16. In the integer kernels lane r of every vector is row r: one 32-byte load is 4 codes
 * of each row, met by the activation's 4 codes broadcast to all lanes, so the 8 rows' block
 * sums come out whole and their scales convert as one vector (F16: see its kernel). The
 * integers are exact and the float steps are the scalar kernels' (quant_x8.c), lane by lane:
 * the same bits.
 *
 * Decode streams the weights once, and with half the instructions per byte of the GGUF-layout
 * kernels the core has time to ask for them early: each block prefetches the lines
 * X8_PREFETCH bytes ahead (the hardware prefetcher alone left 15-25 % of the bandwidth
 * unused on the development machine; docs/quantization.md). A call takes one group: a Q4_0
 * kernel taking two groups per call to share each activation broadcast (20 % fewer
 * instructions) read two interleaved streams and decoded at 0.80-0.96x. */
#include "core/quant_internal.h"

#ifdef QUANT_X86
#include "core/quant_x8_avx2.h"

/* Σ (q − 8)·x for 8 rows of one Q4_0 block: the low nibbles of the 4-byte group j are elements
 * 4j..4j+3, the high ones 16+4j..; int16 pair sums ≤ 2·15·127, eight of them ≤ 30480. */
X8_TGT static inline __m256i q4_0_group(const uint8_t *qs, const int8_t *xq, int j, __m256i m4) {
    const __m256i q = in_reg(_mm256_loadu_si256((const __m256i *)(qs + 32 * j)));
    return _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(q, m4), x8_bcast4(xq + 4 * j)),
                            _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), x8_bcast4(xq + 16 + 4 * j)));
}

/* The four groups' sums added as a tree rather than in a chain through one register (with
 * the loop over them written out: decode 1.5-3 % faster, 110M Q4_0, alternated slices). 8·xs
 * is shifted in the vector: as a scalar, gcc spent a load, a shift, a move and a broadcast. */
X8_TGT void gb_dot8_q4_0_avx2(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                              const int32_t *restrict xs, float *restrict out) {
    const gb_block_q4_0x8 *wb = w;
    const gb_block_q8_0 *xb = x;
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 32; b++) {
        x8_prefetch(wb + b, sizeof *wb, X8_PREFETCH);
        const uint8_t *qs = wb[b].qs;
        const int8_t *xq = xb[b].qs;
        const __m256i s = _mm256_add_epi16(_mm256_add_epi16(q4_0_group(qs, xq, 0, m4), q4_0_group(qs, xq, 1, m4)),
                                           _mm256_add_epi16(q4_0_group(qs, xq, 2, m4), q4_0_group(qs, xq, 3, m4)));
        const __m256i si = _mm256_sub_epi32(_mm256_madd_epi16(s, one), _mm256_slli_epi32(in_reg(_mm256_set1_epi32(xs[b])), 3));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si), x8_scales(wb[b].d, xd[b]), acc);
    }
    _mm256_storeu_ps(out, acc);
}

/* Σ w·x for 8 rows of one Q8_0 block: |w| times x with w's sign (pair sums ≤ 2·128·127),
 * widened every group. */
X8_TGT void gb_dot8_q8_0_avx2(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                              const int32_t *restrict xs, float *restrict out) {
    (void)xs;
    const gb_block_q8_0x8 *wb = w;
    const gb_block_q8_0 *xb = x;
    const __m256i one = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 32; b++) {
        x8_prefetch(wb + b, sizeof *wb, X8_PREFETCH);
        __m256i s0 = _mm256_setzero_si256(), s1 = s0;
        for (int j = 0; j < 8; j += 2) {
            const __m256i w0 = _mm256_loadu_si256((const __m256i *)(wb[b].qs + 32 * j));
            const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wb[b].qs + 32 * j + 32));
            const __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x8_bcast4(xb[b].qs + 4 * j), w0));
            const __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(w1, w1), _mm256_sign_epi8(x8_bcast4(xb[b].qs + 4 * j + 4), w1));
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, one));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(p1, one));
        }
        const __m256i si = _mm256_add_epi32(s0, s1);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si), x8_scales(wb[b].d, xd[b]), acc);
    }
    _mm256_storeu_ps(out, acc);
}

/* Σ w·x for 8 rows of F16: one 8-lane accumulator a row (lane i: columns ≡ i mod 8), each
 * activation load met by the 8 rows' values, then the 8 accumulators summed across lanes at
 * once, lane r ending as row r's ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)). */
X8_TGT void gb_dot8_f16_avx2(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                             const int32_t *restrict xs, float *restrict out) {
    (void)xd, (void)xs;
    const gb_block_f16x8 *wb = w;
    const float *xf = x;
    /* eight named accumulators: as an array indexed in a loop, -O2 kept them on the stack */
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t b = 0; b < n / 8; b++) {
        x8_prefetch(wb + b, sizeof *wb, X8_PREFETCH_F16);
        const __m256 xv = _mm256_loadu_ps(xf + 8 * b);
#define ROW(r) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wb[b].v + 8 * (r))))
        a0 = _mm256_fmadd_ps(ROW(0), xv, a0);
        a1 = _mm256_fmadd_ps(ROW(1), xv, a1);
        a2 = _mm256_fmadd_ps(ROW(2), xv, a2);
        a3 = _mm256_fmadd_ps(ROW(3), xv, a3);
        a4 = _mm256_fmadd_ps(ROW(4), xv, a4);
        a5 = _mm256_fmadd_ps(ROW(5), xv, a5);
        a6 = _mm256_fmadd_ps(ROW(6), xv, a6);
        a7 = _mm256_fmadd_ps(ROW(7), xv, a7);
#undef ROW
    }
    /* hadd pairs lanes within 128-bit halves: after two rounds, low half lane r holds row r's
     * (a0 + a1) + (a2 + a3) (rows 0-3 from s0123, 4-7 from s4567), high half its a4..a7 */
    const __m256 s0123 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    const __m256 s4567 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
                                        _mm256_permute2f128_ps(s0123, s4567, 0x31)));
}

#endif
