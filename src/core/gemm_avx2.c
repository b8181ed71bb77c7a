/* glassbox — GEMM micro-kernel for AVX2 + FMA: 6 rows x 16 columns (two 8-float vectors). */
#include "core/gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define UK_NAME gemm_ukernel_avx2_6x16
#define UK_DOT_NAME gemm_dot_avx2
#define UK_TARGET __attribute__((target("avx2,fma")))
#define UK_MR 6
#define UK_NV 2
#define UK_VL 8
#define uk_vec __m256
#define uk_zero() _mm256_setzero_ps()
#define uk_load(p) _mm256_loadu_ps(p)
#define uk_store(p, v) _mm256_storeu_ps((p), (v))
#define uk_bcast(p) _mm256_broadcast_ss(p)
#define uk_set1(x) _mm256_set1_ps(x)
#define uk_fma(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define uk_add(a, b) _mm256_add_ps((a), (b))
#define uk_mul(a, b) _mm256_mul_ps((a), (b))

/* lanes summed pairwise: (0+4, 1+5, 2+6, 3+7), then (a+c, b+d), then the two */
UK_TARGET static inline float uk_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#include "core/gemm_ukernel.h"
#endif
