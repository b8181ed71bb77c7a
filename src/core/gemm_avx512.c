/* glassbox — GEMM micro-kernel for AVX-512F: 12 rows x 32 columns (two 16-float vectors).
 * The same source as the AVX2 kernel (gemm_ukernel.h), only wider and taller. */
#include "core/gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define UK_NAME gemm_ukernel_avx512_12x32
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

#include "core/gemm_ukernel.h"
#endif
