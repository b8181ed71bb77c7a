/* glassbox — fp32 GEMM: the matrix products of training and inference.
 *
 * A packed, cache-blocked GEMM in the GotoBLAS/BLIS structure: panels of A and B are copied
 * into aligned buffers in the order the micro-kernel reads them, and a register-blocked
 * micro-kernel (AVX2+FMA 6x16, AVX-512 12x32, or the portable scalar 4x8) multiplies them.
 * Fewer than 16 rows against Bᵀ (inference: one token at a time) skip the packing and take
 * one SIMD dot product per element. The kernel is chosen once at run time from CPUID.
 * All matrices are row-major.
 *
 * Determinism: every output element's K-sum is computed in the same order whatever the
 * thread count — work is split over output tiles (rows of M, panels of N), never over K, and
 * the K blocking depends only on K and the kernel. So 1, 2, 3 ... threads give the same
 * bits (on the same machine with the same kernel and the same shape; a row's bits may differ
 * between M = 1 and M = 64 calls, as the small-M path sums in another order).
 * Threads: gb_threads_get(); products under ~10⁶ multiply-adds run on the calling thread.
 *
 * None of these allocate in the steady state: packing buffers are cached per calling thread
 * and grown on demand. If that allocation fails they fall back to an unblocked loop (slow,
 * still correct and deterministic), so they cannot fail. */
#ifndef GLASSBOX_CORE_GEMM_H
#define GLASSBOX_CORE_GEMM_H

#include <stdint.h>

/* C (M,N) = alpha · op(A) (M,K) · op(B) (K,N) + beta · C
 *   op(A) = A (M,K), row stride lda >= K       when transA == 0
 *         = Aᵀ with A stored (K,M), lda >= M   when transA != 0
 *   op(B) = B (K,N), row stride ldb >= N       when transB == 0
 *         = Bᵀ with B stored (N,K), ldb >= K   when transB != 0
 *   C (M,N) with row stride ldc >= N. beta == 0: C is only written (it may hold NaN).
 *   K == 0 or alpha == 0: C = beta · C. C must not overlap A or B. */
void gb_sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc);

/* The three products of a linear layer with weights w stored (N,K) = (OC,C) as in PyTorch
 * and GGUF. M = rows (B·T tokens), K = input channels, N = output channels. */

/* out (M,N) = in (M,K) · w (N,K)ᵀ + bias (N); bias may be NULL. out is overwritten. */
void gb_gemm_forward(float *restrict out, const float *restrict in, const float *restrict w,
                     const float *restrict bias, int64_t M, int64_t K, int64_t N);

/* din (M,K) = dout (M,N) · w (N,K) + beta · din; beta 0 overwrites, beta 1 accumulates. */
void gb_gemm_backward_input(float *restrict din, const float *restrict dout,
                            const float *restrict w, float beta, int64_t M, int64_t K, int64_t N);

/* dw (N,K) += dout (M,N)ᵀ · in (M,K);  dbias (N) += Σ_m dout[m,:] (dbias may be NULL).
 * The sum over M (= B·T) is a K-sum of the product, so it is split the same way: over
 * (N,K) output tiles, rows of dout in order. */
void gb_gemm_backward_weight(float *restrict dw, float *restrict dbias, const float *restrict dout,
                             const float *restrict in, int64_t M, int64_t K, int64_t N);

/* dbias (N) += Σ_m dout (M,N)[m,:], rows added in order m = 0..M-1 (deterministic). */
void gb_gemm_colsum(float *restrict dbias, const float *restrict dout, int64_t M, int64_t N);

/* Frees the calling thread's cached packing buffers (up to ~12 MiB; the next call on this
 * thread allocates them again). For threads that are done with GEMM. */
void gb_gemm_release(void);

/* Micro-kernel choice, for tests and benchmarks. GB_GEMM_AUTO is the best the CPU runs. */
typedef enum {
    GB_GEMM_AUTO = 0,
    GB_GEMM_SCALAR, /* portable C, the reference every SIMD kernel is held to */
    GB_GEMM_AVX2,   /* AVX2 + FMA */
    GB_GEMM_AVX512, /* AVX-512F */
} gb_gemm_isa;

/* Selects the kernel for all later calls (process-wide; not while a GEMM runs).
 * Returns 0 if this CPU (or this compiler's build) cannot run it, leaving the choice as is. */
int gb_gemm_use(gb_gemm_isa isa);
/* Name of the kernel in use: "scalar", "avx2", "avx512". */
const char *gb_gemm_kernel_name(void);

#endif
