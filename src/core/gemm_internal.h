/* glassbox — GEMM internals shared by the driver (gemm.c) and the per-ISA micro-kernels. */
#ifndef GLASSBOX_CORE_GEMM_INTERNAL_H
#define GLASSBOX_CORE_GEMM_INTERNAL_H

#include <stdint.h>

/* The micro-kernel contract. a: packed MR-row micro-panel, a[k*MR + i] = A(i,k);
 * b: packed NR-column micro-panel, b[k*NR + j] = B(k,j); k = 0..kc-1 (kc may be 0).
 * acc(i,j) = Σ_k a·b, one fused multiply-add per k in increasing k, from 0. Then
 *   t = acc; if alpha != 1: t = alpha·t; if beta != 0: t = t + (beta == 1 ? c : beta·c);
 *   if bias: t = t + bias[j];  c(i,j) = t
 * with exactly these roundings (the driver's edge-tile path repeats them in scalar code,
 * so a tile's bits do not depend on whether it is full). c has row stride ldc. */
typedef void (*gemm_ukernel)(int64_t kc, const float *restrict a, const float *restrict b,
                             float *restrict c, int64_t ldc, float alpha, float beta,
                             const float *restrict bias);

/* Σ_k x[k]·y[k], k = 0..n-1, in an order that depends only on n (small-M path). */
typedef float (*gemm_dot)(const float *restrict x, const float *restrict y, int64_t n);

/* One full w-wide micro-panel from a c-major source (see pack in gemm.c):
 * dst[k*w + c] = src[c*lds + k], c < w, k < kc; w fixed by the function. */
typedef void (*gemm_pack_panel)(float *restrict dst, const float *restrict src, int64_t lds,
                                int64_t kc);

#define GEMM_MR_MAX 16
#define GEMM_NR_MAX 32

void gb_gemm_ukernel_avx2_6x16(int64_t kc, const float *restrict a, const float *restrict b,
                            float *restrict c, int64_t ldc, float alpha, float beta,
                            const float *restrict bias);
void gb_gemm_ukernel_avx512_12x32(int64_t kc, const float *restrict a, const float *restrict b,
                               float *restrict c, int64_t ldc, float alpha, float beta,
                               const float *restrict bias);
void gb_gemm_pack16_cmajor_avx2(float *restrict dst, const float *restrict src, int64_t lds,
                             int64_t kc);
void gb_gemm_pack6_cmajor_avx2(float *restrict dst, const float *restrict src, int64_t lds,
                            int64_t kc);
float gb_gemm_dot_avx2(const float *restrict x, const float *restrict y, int64_t n);
float gb_gemm_dot_avx512(const float *restrict x, const float *restrict y, int64_t n);

/* Tests: deny != 0 makes every call take the unpacked fallback, as if the packing memory
 * could not be allocated. */
void gb_gemm_deny_workspace(int deny);

#endif
