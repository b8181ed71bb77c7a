/* glassbox — GEMM micro-kernel for AVX2 + FMA: 6 rows x 16 columns (two 8-float vectors). */
#include "core/gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define UK_NAME gb_gemm_ukernel_avx2_6x16
#define UK_DOT_NAME gb_gemm_dot_avx2
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

/* Transposes the 8x8 block r[0..7] (rows) in place into columns. */
#define TRANSPOSE8(r) \
    do { \
        __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]); \
        __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]); \
        __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]); \
        __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]); \
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE); \
        __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE); \
        __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE); \
        __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE); \
        r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); \
        r[1] = _mm256_permute2f128_ps(u1, u5, 0x20); \
        r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); \
        r[3] = _mm256_permute2f128_ps(u3, u7, 0x20); \
        r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); \
        r[5] = _mm256_permute2f128_ps(u1, u5, 0x31); \
        r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); \
        r[7] = _mm256_permute2f128_ps(u3, u7, 0x31); \
    } while (0)

/* B micro-panel from Bᵀ stored (N,K): dst[k*16 + c] = src[c*lds + k], 8x8 transposes. */
UK_TARGET void gb_gemm_pack16_cmajor_avx2(float *restrict dst, const float *restrict src, int64_t lds,
                                       int64_t kc) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (int h = 0; h < 2; h++) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) {
                const float *p = src + (8 * h + i) * lds + k;
                if ((k & 15) == 0) __builtin_prefetch(p + 64);
                r[i] = _mm256_loadu_ps(p);
            }
            TRANSPOSE8(r);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + (k + j) * 16 + 8 * h, r[j]);
        }
    }
    for (; k < kc; k++)
        for (int c = 0; c < 16; c++) dst[k * 16 + c] = src[c * lds + k];
}

/* A micro-panel from A stored (M,K): dst[k*6 + r] = src[r*lds + k], as 8x8 transposes of the
 * six rows and two zero rows, of which six lanes are stored. */
UK_TARGET void gb_gemm_pack6_cmajor_avx2(float *restrict dst, const float *restrict src, int64_t lds,
                                      int64_t kc) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; i++) {
            const float *p = src + i * lds + k;
            if ((k & 15) == 0) __builtin_prefetch(p + 64);
            r[i] = _mm256_loadu_ps(p);
        }
        r[6] = r[7] = _mm256_setzero_ps();
        TRANSPOSE8(r);
        for (int j = 0; j < 8; j++) {
            float *d = dst + (k + j) * 6;
            _mm_storeu_ps(d, _mm256_castps256_ps128(r[j]));
            _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(r[j], 1));
        }
    }
    for (; k < kc; k++)
        for (int i = 0; i < 6; i++) dst[k * 6 + i] = src[i * lds + k];
}
#endif
