/* glassbox — small AVX2 helpers shared by the x86 quantized kernels (quant_avx2.c,
 * quant_avx512.c). Each reduction is written out because the scalar references in quant.c
 * repeat its exact order of float additions. Not part of the API. */
#ifndef GLASSBOX_CORE_QUANT_X86_H
#define GLASSBOX_CORE_QUANT_X86_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Functions of a narrower target inline into wider ones (the AVX-512 kernels). */
#define X86_AVX2 __attribute__((target("avx2,fma,f16c")))

X86_AVX2 static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

/* Σ of the 8 int32 lanes (exact). */
X86_AVX2 static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* (Σv0, Σv1, Σv2, Σv3) of four vectors of 8 int32. */
X86_AVX2 static inline __m128i hsum4_i32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
    __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* (v0 + v2) + (v1 + v3) */
X86_AVX2 static inline float hsum4_f32(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

/* (v0+v4 + v2+v6) + (v1+v5 + v3+v7) */
X86_AVX2 static inline float hsum_f32(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

X86_AVX2 static inline __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* The four weight scales of blocks w[0..3] as floats. */
X86_AVX2 static inline __m128 dw4(const uint16_t *d0, size_t stride) {
    const char *p = (const char *)d0;
    uint16_t a, b, c, e;
    memcpy(&a, p, 2), memcpy(&b, p + stride, 2), memcpy(&c, p + 2 * stride, 2), memcpy(&e, p + 3 * stride, 2);
    return _mm_cvtph_ps(_mm_setr_epi16((short)a, (short)b, (short)c, (short)e, 0, 0, 0, 0));
}

/* Q4_K's eight 6-bit sub-block scales (sc8) and mins (mn8) as bytes, from its 12 packed bytes
 * four at a time (quant_q4_K_scale_min's layout). */
static inline void q4k_scales_mins(const uint8_t scales[12], uint64_t *sc8, uint64_t *mn8) {
    uint32_t u[3];
    memcpy(u, scales, 12);
    *sc8 = (uint64_t)(u[0] & 0x3f3f3f3fu) | (uint64_t)((u[2] & 0x0f0f0f0fu) | ((u[0] >> 2) & 0x30303030u)) << 32;
    *mn8 = (uint64_t)(u[1] & 0x3f3f3f3fu) | (uint64_t)(((u[2] >> 4) & 0x0f0f0f0fu) | ((u[1] >> 2) & 0x30303030u)) << 32;
}

/* Q4_K's min term in 4 int32 lanes: lane k = m_2k·Σa(sub-block 2k) + m_2k+1·Σa(sub-block 2k+1),
 * Σa from the Q8_K activation's 16-element sums. */
X86_AVX2 static inline __m128i q4k_min_lanes(uint64_t mn8, const int16_t bsums[16]) {
    const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bsums), _mm_loadu_si128((const __m128i *)(bsums + 8)));
    return _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8)), bs);
}

#endif
