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

#endif
