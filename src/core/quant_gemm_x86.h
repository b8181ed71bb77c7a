/* glassbox — the helpers the x86 prefill tiles share (quant_gemm_avx2.c, quant_gemm_amx.c):
 * operand loads, the scalar tile's two float steps, and the transposed store. Not part of the
 * API. */
#ifndef GLASSBOX_CORE_QUANT_GEMM_X86_H
#define GLASSBOX_CORE_QUANT_GEMM_X86_H

#include "core/quant_gemm.h"
#include "core/quant_x86.h"

/* The 4 codes of weight group g broadcast to every lane. */
X86_AVX2 static inline __m256i bcast4(const uint8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm256_set1_epi32(v);
}

X86_AVX2 static inline __m256i xgroup(const qg_xblk *x, int g) {
    return _mm256_load_si256((const __m256i *)(x->q + 32 * g));
}

X86_AVX2 static inline __m256 widen(__m256i s16) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

/* acc = fma(isum, sc·dx, acc); acc = fma(mn, xs, acc) — the scalar tile's two steps. */
X86_AVX2 static inline __m256 scale_add(__m256 acc, __m256 isum, float sc, __m256 dx, float mn, __m256 xs) {
    acc = _mm256_fmadd_ps(isum, _mm256_mul_ps(_mm256_set1_ps(sc), dx), acc);
    return _mm256_fmadd_ps(_mm256_set1_ps(mn), xs, acc);
}

/* Lane c of f[r] to out[c·ldo + r]: a 4×8 transpose in registers, then a 4-float store per
 * activation row (through a buffer for an edge tile). */
X86_AVX2 static inline void store_tile(const __m256 f[QG_RM], float *restrict out, int64_t ldo, int nr, int nc) {
    const __m256 t0 = _mm256_unpacklo_ps(f[0], f[1]), t1 = _mm256_unpackhi_ps(f[0], f[1]);
    const __m256 t2 = _mm256_unpacklo_ps(f[2], f[3]), t3 = _mm256_unpackhi_ps(f[2], f[3]);
    const __m256 u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                         _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
    for (int c = 0; c < nc; c++) {
        const __m128 v = c < 4 ? _mm256_castps256_ps128(u[c]) : _mm256_extractf128_ps(u[c - 4], 1);
        if (nr == QG_RM) {
            _mm_storeu_ps(out + c * ldo, v);
        } else {
            float b[4];
            _mm_storeu_ps(b, v);
            memcpy(out + c * ldo, b, (size_t)nr * sizeof(float));
        }
    }
}

#endif
