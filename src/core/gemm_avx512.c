/* glassbox — GEMM micro-kernel for AVX-512F: 12 rows x 32 columns (two 16-float vectors).
 * The same source as the AVX2 kernel (gemm_ukernel.h), only wider and taller. */
#include "core/gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define UK_NAME gb_gemm_ukernel_avx512_12x32
#define UK_DOT_NAME gb_gemm_dot_avx512
#define UK_TARGET __attribute__((target("avx512f")))
#define UK_MR 12
#define UK_NV 2
#define UK_VL 16
#define uk_vec __m512
#define uk_zero() _mm512_setzero_ps()
#define uk_load(p) _mm512_loadu_ps(p)
#define uk_store(p, v) _mm512_storeu_ps((p), (v))
#define uk_bcast(p) _mm512_set1_ps(*(p))
#define uk_set1(x) _mm512_set1_ps(x)
#define uk_fma(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define uk_add(a, b) _mm512_add_ps((a), (b))
#define uk_mul(a, b) _mm512_mul_ps((a), (b))

/* lanes summed as the AVX2 version does after halving 16 -> 8 lanes */
UK_TARGET static inline float uk_hsum(__m512 v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#include "core/gemm_ukernel.h"
#endif
