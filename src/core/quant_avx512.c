/* glassbox — quantized dot products for AVX-512 (F, BW, VL) with VNNI: the decode kernels of
 * the matvec path, 64 bytes of codes per instruction.
 *
 * They return the AVX2 kernels' bits, and so the scalar references' (quant.c): every block's
 * (or lane's) integer sum is exact in either width, and the float steps that follow are the
 * AVX2 ones, in the same order.
 *   Q8_0, Q4_0: two blocks per 512-bit vector, summed by VPDPBUSD; the per-block sums of four
 *     blocks are then scaled as one 4-lane vector (the scalar code's four partial sums).
 *   Q4_K, Q6_K: the eight int32 lanes of a super-block are the AVX2 kernel's lanes: lane k of
 *     the low and of the high 256 bits hold the same elements' sums as AVX2's lane k for two
 *     of its 32-byte steps, and the halves are added before the one float step.
 * The fp16/bf16/f32 dots, the activation quantizer and the prefill packer and tiles stay AVX2:
 * the first are memory-bound, and prefill tiles with 256-bit VPDPBUSD (same layout, same bits)
 * ran 0-20 % slower than the AVX2 tiles on a Sapphire Rapids (docs/quantization.md). Where the
 * CPU has AMX, prefill runs on its tiles instead (quant_gemm_amx.c).
 *
 * Operand ranges as in quant_avx2.c: activation codes in [-127, 127]. */
#include "core/quant_internal.h"

#ifdef QUANT_X86
#include "core/quant_x86.h"

#ifndef GB_QUANT_EMULATE_AVX512
#define TGT __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#else /* tests/core/quant_avx512_emulated.c: SIMDe's portable versions of the intrinsics */
#define TGT X86_AVX2
#endif

/* The 32-byte halves a (low) and b (high). */
TGT static inline __m512i load2(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load32(a)), load32(b), 1);
}

TGT static inline __m256i lo256(__m512i v) { return _mm512_castsi512_si256(v); }
TGT static inline __m256i hi256(__m512i v) { return _mm512_extracti64x4_epi64(v, 1); }

/* 16 int32 partial sums of Σ w·x over 64 signed bytes: |w| (unsigned) times x with w's sign. */
TGT static inline __m512i dot2_i8(__m512i w, __m512i x) {
    const __m512i xs = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), xs);
}

/* The 32 unsigned nibbles of two Q4_0 blocks in element order: (lo(q0), hi(q0), lo(q1), hi(q1))
 * by 128-bit lanes. */
TGT static inline __m512i nibbles2(const uint8_t *q0, const uint8_t *q1) {
    const __m256i t = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)q1), _mm_loadu_si128((const __m128i *)q0));
    const __m512i d = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(t));
    return _mm512_and_si512(_mm512_srlv_epi64(d, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)), _mm512_set1_epi8(0x0F));
}

/* The four blocks' sums (Σ lanes 0..7 and 8..15 of v01, then of v23). */
TGT static inline __m128i hsum4_pairs(__m512i v01, __m512i v23) {
    return hsum4_i32(lo256(v01), hi256(v01), lo256(v23), hi256(v23));
}

TGT static float dot_q8_0_t(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x,
                            const float *restrict xd) {
    const int64_t nb = n / GB_QK8_0;
    __m128 acc = _mm_setzero_ps();
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const gb_block_q8_0 *a = w + ib, *b = x + ib;
        const __m128i s = hsum4_pairs(dot2_i8(load2(a[0].qs, a[1].qs), load2(b[0].qs, b[1].qs)),
                                      dot2_i8(load2(a[2].qs, a[3].qs), load2(b[2].qs, b[3].qs)));
        const __m128 d = _mm_mul_ps(dw4(&a[0].d, sizeof *a), _mm_loadu_ps(xd + ib));
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), d));
    }
    float sums[4];
    _mm_storeu_ps(sums, acc);
    for (; ib < nb; ib++) {
        const __m256i wv = load32(w[ib].qs), xv = load32(x[ib].qs);
        const int sumi = hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv)));
        sums[ib & 3] += (float)sumi * (f16(w[ib].d) * xd[ib]);
    }
    return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

/* Σ (q−8)·x = Σ q·x − 8·Σx, with Σx from the side table. */
TGT static float dot_q4_0_t(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x,
                            const float *restrict xd, const int32_t *restrict xs) {
    const int64_t nb = n / GB_QK4_0;
    const __m512i zero = _mm512_setzero_si512();
    __m128 acc = _mm_setzero_ps();
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const gb_block_q4_0 *a = w + ib;
        const gb_block_q8_0 *b = x + ib;
        __m128i s = hsum4_pairs(_mm512_dpbusd_epi32(zero, nibbles2(a[0].qs, a[1].qs), load2(b[0].qs, b[1].qs)),
                                _mm512_dpbusd_epi32(zero, nibbles2(a[2].qs, a[3].qs), load2(b[2].qs, b[3].qs)));
        s = _mm_sub_epi32(s, _mm_slli_epi32(_mm_loadu_si128((const __m128i *)(xs + ib)), 3));
        const __m128 d = _mm_mul_ps(dw4(&a[0].d, sizeof *a), _mm_loadu_ps(xd + ib));
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), d));
    }
    float sums[4];
    _mm_storeu_ps(sums, acc);
    for (; ib < nb; ib++) {
        const __m256i t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w[ib].qs));
        const __m256i q = _mm256_and_si256(_mm256_srlv_epi64(t, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
        const int sumi = hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, load32(x[ib].qs))) - 8 * xs[ib];
        sums[ib & 3] += (float)sumi * (f16(w[ib].d) * xd[ib]);
    }
    return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

/* int16 lanes 0..15 = k_lo, 16..31 = k_hi: VPERMW indices that spread two of eight scales. */
TGT static inline __m512i spread2(int k_lo, int k_hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)k_lo)), _mm256_set1_epi16((short)k_hi), 1);
}

/* int16 lanes 8q..8q+7 = k + q (q < 4): one scale per 128-bit lane. */
TGT static inline __m512i spread4(int k) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16((short)(k + 1)), _mm_set1_epi16((short)k))),
                              _mm256_set_m128i(_mm_set1_epi16((short)(k + 3)), _mm_set1_epi16((short)(k + 2))), 1);
}

/* Each 32-byte step j of the AVX2 kernel pairs the low nibbles with a[64j..64j+31] (scale 2j)
 * and the high ones with a[64j+32..64j+63] (scale 2j+1): here one vector, low and high half. */
TGT static float dot_q4_K(int64_t n, const gb_block_q4_K *restrict w, const gb_block_q8_K *restrict x) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), shift = _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4);
    const __m512i idx[4] = {spread2(0, 1), spread2(2, 3), spread2(4, 5), spread2(6, 7)};
    __m256 accv = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        uint64_t sc8, mn8;
        q4k_scales_mins(w[i].scales, &sc8, &mn8);
        const __m512i sc = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
        const uint8_t *q = w[i].qs;
        const int8_t *a = x[i].qs;
        __m512i acc = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            const __m512i qb = _mm512_broadcast_i64x4(load32(q + 32 * j));
            const __m512i nib = _mm512_and_si512(_mm512_srlv_epi64(qb, shift), m4);
            const __m512i p = _mm512_maddubs_epi16(nib, _mm512_loadu_si512(a + 64 * j));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p, _mm512_permutexvar_epi16(idx[j], sc)));
        }
        const __m256i acc8 = _mm256_add_epi32(lo256(acc), hi256(acc));
        accv = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[i].d) * x[i].d), _mm256_cvtepi32_ps(acc8), accv);
        accm = _mm_fmadd_ps(_mm_set1_ps(f16(w[i].dmin) * x[i].d), _mm_cvtepi32_ps(q4k_min_lanes(mn8, x[i].bsums)), accm);
    }
    return hsum_f32(accv) - hsum4_f32(accm);
}

/* The AVX2 kernel's steps t = 0, 1 (and 2, 3) of a half h in one vector: the 6-bit codes of
 * ql[64h..64h+63] (low nibbles, then high ones) with the 2-bit high parts of qh[32h..] shifted
 * by 0 and 2 (4 and 6); scales 8h + 4u + (0..3), one per 128-bit lane. */
TGT static float dot_q6_K(int64_t n, const gb_block_q6_K *restrict w, const gb_block_q8_K *restrict x) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
    const __m512i sh01 = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2), sh23 = _mm512_setr_epi64(4, 4, 4, 4, 6, 6, 6, 6);
    const __m512i idx[4] = {spread4(0), spread4(4), spread4(8), spread4(12)};
    __m256 accv = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / GB_QK_K; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[i].scales));
        const __m512i sc = _mm512_castsi256_si512(sc16);
        /* 32·Σ_g sc_g·bsums_g, subtracted lane-wise before the one reduction */
        __m256i acc8 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(x[i].bsums)), 5));
        __m512i acc = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const __m512i l = _mm512_loadu_si512(w[i].ql + 64 * h);
            const __m512i hb = _mm512_broadcast_i64x4(load32(w[i].qh + 32 * h));
            const int8_t *a = x[i].qs + 128 * h;
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(l, m4),
                                                _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi64(hb, sh01), m2), 4));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                                _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi64(hb, sh23), m2), 4));
            const __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512(a));
            const __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512(a + 64));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p01, _mm512_permutexvar_epi16(idx[2 * h], sc)));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p23, _mm512_permutexvar_epi16(idx[2 * h + 1], sc)));
        }
        acc8 = _mm256_add_epi32(acc8, _mm256_add_epi32(lo256(acc), hi256(acc)));
        accv = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[i].d) * x[i].d), _mm256_cvtepi32_ps(acc8), accv);
    }
    return hsum_f32(accv);
}

const quant_kernels gb_quant_kernels_avx512 = {
    "avx512vnni",    GB_QUANT_AVX512,  gb_avx2_dot_q8_0,      gb_avx2_dot_q4_0,    dot_q8_0_t,
    dot_q4_0_t,      dot_q4_K,         dot_q6_K,              gb_avx2_dot_f16,     gb_avx2_dot_bf16,
    gb_avx2_dot_f32, gb_avx2_fp16_from_f32, gb_avx2_fp16_to_f32, gb_qg_tile_avx2, gb_qg_pack_row_avx2,
    QG_RM,           2,               gb_quantize_row_q8_0_avx2, gb_quantize_row_q8_0_t_avx2,
    gb_quantize_row_q8_K_avx2,
    gb_dot8_q8_0_avx2, gb_dot8_q4_0_avx2, gb_dot8_q4_K_avx2, gb_dot8_q6_K_avx2, gb_dot8_f16_avx2,
};

#if !defined(GB_QUANT_EMULATE_AVX512) && defined(__x86_64__)
/* The same decode kernels; prefill on the AMX tiles (quant_gemm_amx.c, 64-bit only). */
const quant_kernels gb_quant_kernels_amx = {
    "amx",           GB_QUANT_AMX,     gb_avx2_dot_q8_0,      gb_avx2_dot_q4_0,    dot_q8_0_t,
    dot_q4_0_t,      dot_q4_K,         dot_q6_K,              gb_avx2_dot_f16,     gb_avx2_dot_bf16,
    gb_avx2_dot_f32, gb_avx2_fp16_from_f32, gb_avx2_fp16_to_f32, gb_qg_tile_amx, gb_qg_pack_row_avx2,
    QG_RM_AMX,       1,               gb_quantize_row_q8_0_avx2, gb_quantize_row_q8_0_t_avx2,
    gb_quantize_row_q8_K_avx2,
    gb_dot8_q8_0_avx2, gb_dot8_q4_0_avx2, gb_dot8_q4_K_avx2, gb_dot8_q6_K_avx2, gb_dot8_f16_avx2,
};
#endif

#endif
