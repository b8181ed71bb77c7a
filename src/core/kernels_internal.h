/* glassbox — training-kernel internals shared by kernels.c (contracts, threads, scalar
 * reference) and the per-ISA bodies (kernels_avx2.c).
 *
 * kernels.c owns every parallel loop: it splits work over fixed index ranges (heads,
 * rows, fixed-size element chunks) and calls one of these single-threaded bodies per
 * range, so a SIMD body changes the bits only against the scalar reference, never
 * between thread counts. Element-wise bodies treat a tail with masked vector loads, so an
 * element's bits do not depend on where a range starts or ends either. */
#ifndef GLASSBOX_CORE_KERNELS_INTERNAL_H
#define GLASSBOX_CORE_KERNELS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define GB_KERNELS_X86 1

/* out (n) = gelu_tanh(in) */
void gb_gelu_forward_avx2(float *restrict out, const float *restrict in, int64_t n);
/* dinp (n) = dout · gelu'(in) */
void gb_gelu_backward_avx2(float *restrict dinp, const float *restrict in,
                           const float *restrict dout, int64_t n);
/* out (n) = silu(g) · u */
void gb_swiglu_forward_avx2(float *restrict out, const float *restrict g, const float *restrict u,
                            int64_t n);
/* gb_attention_row's and gb_attention_row_f16's bodies */
void gb_attention_row_avx2(float *restrict out, float *restrict scores, const float *restrict q,
                           const float *restrict k, const float *restrict v, int64_t n, int64_t ld, int HS,
                           float scale);
void gb_attention_row_f16_avx2(float *restrict out, float *restrict scores, const float *restrict q,
                               const uint16_t *restrict k, const uint16_t *restrict v, int64_t n, int64_t ld,
                               int HS, float scale);
/* g (n) = silu(g) · u in place */
void gb_silu_mul_inplace_avx2(float *g, const float *restrict u, int64_t n);
/* dg, du (n) of out = silu(g) · u */
void gb_swiglu_backward_avx2(float *restrict dg, float *restrict du, const float *restrict g,
                             const float *restrict u, const float *restrict dout, int64_t n);

/* AdamW on n elements; the same operations in the same order as the scalar loop (no FMA
 * contraction), so the bits match it exactly */
void gb_adamw_update_avx2(float *restrict p, const float *restrict g, float *restrict m,
                          float *restrict v, int64_t n, const gb_adamw_scalars *s);

/* Σ x² (n) in double, in an order fixed by n */
double gb_sumsq_avx2(const float *x, int64_t n);

/* log Σ_i exp(x_i), x (V), the sum in double */
float gb_logsumexp_avx2(const float *restrict x, int V);
/* x (V) = exp(x - lse) · scale */
void gb_softmax_scaled_avx2(float *x, float lse, float scale, int V);

/* layernorm of one row: y = (x - mean)·rstd·w + b (b may be NULL); returns mean, rstd */
void gb_layernorm_row_avx2(float *restrict y, float *mean, float *rstd, const float *restrict x,
                           const float *restrict w, const float *restrict b, int C, float eps);
/* rmsnorm of one row: y = x·rstd·w; returns rstd. Σ x² as gb_sumsq_avx2 (four double
 * accumulators: a serial sum was 1 µs of a 768-wide row, a decode step has 2 a layer) */
float gb_rmsnorm_row_avx2(float *restrict y, const float *restrict x, const float *restrict w, int C, float eps);
/* dx (C) += layernorm input gradient of one row */
void gb_layernorm_row_backward_avx2(float *restrict dx, const float *restrict dy,
                                    const float *restrict x, const float *restrict w, float mean,
                                    float rstd, int C);

/* dw[c0..c0+nc) += Σ_n dout·(x - mean)·rstd, db likewise += Σ_n dout (db may be NULL),
 * nc <= 16, rows n = 0..N-1 in order, mul then add as the scalar loop: identical bits */
void gb_layernorm_dw_avx2(float *restrict dw, float *restrict db, const float *restrict dout,
                          const float *restrict in, const float *restrict mean,
                          const float *restrict rstd, int64_t N, int C, int c0, int nc);

/* Attention of one (batch, head): q, k, v point at the head's first row inside qkv (row
 * stride ld), out at its first output row (row stride ldo); lse (T). ws: attention_ws
 * floats. */
void gb_attention_head_forward_avx2(float *restrict out, float *restrict lse, float *restrict ws,
                                    const float *q, const float *k, const float *v, int64_t ld,
                                    int64_t ldo, int T, int HS);
/* Backward of one (batch, kv head) and the G query heads that read it (G consecutive
 * heads starting at q / dq, HS apart). dq, dk, dv inside dqkv (row stride ld); dout, out
 * (row stride ldo) at the group's first head; lse (G, T). Overwrites dq, dk, dv. */
void gb_attention_group_backward_avx2(float *dq, float *dk, float *dv, float *restrict ws,
                                      const float *dout, const float *q, const float *k,
                                      const float *v, const float *out, const float *lse,
                                      int64_t ld, int64_t ldo, int T, int HS, int G);
#endif

/* Query rows per block of the AVX2 attention bodies. */
#define GB_ATTN_QB 16

/* Floats of work space one attention task needs (forward and backward alike). */
size_t gb_attention_ws_floats(int T, int HS);

#endif
