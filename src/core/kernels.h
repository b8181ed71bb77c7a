/* glassbox — fp32 training kernels: forward/backward pairs for the transformer.
 *
 * Conventions (llm.c style): output first, const restrict inputs, sizes last; N = rows
 * (B*T tokens). Forward kernels overwrite their outputs. Backward kernels ADD into
 * parameter gradients (dw, db) so micro-batches accumulate; what they do with the input
 * gradient (dinp) is stated per kernel.
 *
 * Determinism: every parallel loop splits a fixed index range (rows, channels, heads) and
 * each output element is summed by one iteration in a fixed order, so results are the same
 * bits for any thread count. The linear layers (gb_matmul_*) are thin wrappers over
 * core/gemm.h, so a faster GEMM slots in there; the rest are portable C for now. */
#ifndef GLASSBOX_CORE_KERNELS_H
#define GLASSBOX_CORE_KERNELS_H

#include <stdint.h>

/* Kernel choice for everything below except the matmuls (core/gemm.h has its own):
 * AVX2+FMA bodies when the CPU has them, else portable C. on = 0 selects the portable C
 * (the reference the tests hold the SIMD bodies to), on = 1 AVX2; returns 0 (and changes
 * nothing) if the CPU cannot run it. Process-wide; not while a kernel runs. */
int gb_kernels_use_simd(int on);
/* "avx2" or "scalar" */
const char *gb_kernels_name(void);

/* out (N,OC) = in (N,C) · w(OC,C)ᵀ + b(OC); b may be NULL */
void gb_matmul_forward(float *restrict out, const float *restrict in, const float *restrict w,
                       const float *restrict b, int64_t N, int C, int OC);

/* dinp (N,C) = dout (N,OC) · w (OC,C)   (overwritten; skipped when dinp is NULL)
 * dw (OC,C) += doutᵀ · in;  db (OC) += Σ_n dout (db may be NULL) */
void gb_matmul_backward(float *restrict dinp, float *restrict dw, float *restrict db,
                        const float *restrict dout, const float *restrict in,
                        const float *restrict w, int64_t N, int C, int OC);

/* out (N,C) = (in - mean) * rstd * w + b; mean, rstd (N) saved for the backward; b may be NULL */
void gb_layernorm_forward(float *restrict out, float *restrict mean, float *restrict rstd,
                          const float *restrict in, const float *restrict w,
                          const float *restrict b, int64_t N, int C, float eps);

/* One row of it, single-threaded (inference decode): y (C), *mean, *rstd */
void gb_layernorm_row(float *restrict y, float *restrict mean, float *restrict rstd, const float *restrict x,
                      const float *restrict w, const float *restrict b, int C, float eps);

/* dinp (N,C) += ∂/∂in; dw (C) += Σ dout·x̂; db (C) += Σ dout (db may be NULL) */
void gb_layernorm_backward(float *restrict dinp, float *restrict dw, float *restrict db,
                           const float *restrict dout, const float *restrict in,
                           const float *restrict w, const float *restrict mean,
                           const float *restrict rstd, int64_t N, int C);

/* out (N,C) = in * rstd * w, rstd = 1/sqrt(mean(in²) + eps) saved (N) */
void gb_rmsnorm_forward(float *restrict out, float *restrict rstd, const float *restrict in,
                        const float *restrict w, int64_t N, int C, float eps);

/* One row of it, single-threaded (inference decode): y (C); returns rstd */
float gb_rmsnorm_row(float *restrict y, const float *restrict x, const float *restrict w, int C, float eps);

/* dinp (N,C) += ∂/∂in; dw (C) += Σ dout·x̂ */
void gb_rmsnorm_backward(float *restrict dinp, float *restrict dw, const float *restrict dout,
                         const float *restrict in, const float *restrict w,
                         const float *restrict rstd, int64_t N, int C);

/* out (B,T,C) = wte[tok] (V,C) + wpe[t] (T,C); wpe may be NULL (rotary positions) */
void gb_embedding_forward(float *restrict out, const int32_t *restrict tok,
                          const float *restrict wte, const float *restrict wpe, int B, int T,
                          int C);

/* dwte (V,C) += scatter of dout (B,T,C) by tok; dwpe (T,C) += Σ_b dout (dwpe may be NULL) */
void gb_embedding_backward(float *restrict dwte, float *restrict dwpe, const float *restrict dout,
                           const int32_t *restrict tok, int B, int T, int C);

/* Rotary embedding, in place, on the q and k parts of qkv (B,T,QKV) where a token's row is
 * [q: NH*HS | k: NKV*HS | v: NKV*HS]. Pairs (2i, 2i+1) of each head rotate by angle
 * t·θ_i (the GGUF "llama" / Meta layout); cos, sin (n_ctx, HS/2). */
void gb_rope_forward(float *qkv, const float *restrict cos_t, const float *restrict sin_t, int B,
                     int T, int NH, int NKV, int HS);

/* In place on dqkv (B,T,QKV): the inverse rotation of the q and k parts. */
void gb_rope_backward(float *dqkv, const float *restrict cos_t, const float *restrict sin_t, int B,
                      int T, int NH, int NKV, int HS);

/* out (n) = gelu_tanh(in) = 0.5 x (1 + tanh(sqrt(2/π)(x + 0.044715 x³))) */
void gb_gelu_forward(float *restrict out, const float *restrict in, int64_t n);
/* dinp (n) = dout · gelu'(in)   (overwritten) */
void gb_gelu_backward(float *restrict dinp, const float *restrict in, const float *restrict dout,
                      int64_t n);

/* g (n) = silu(g) · u in place (inference's SwiGLU on separate gate and up rows); threaded */
void gb_silu_mul_inplace(float *g, const float *restrict u, int64_t n);
/* One query row against n cached keys (inference decode; single-threaded, callers split
 * (row, head) pairs): scores[j] = scale·(q·k_j), p = softmax(scores), out = Σ_j p_j·v_j, with
 * k_j = k + j·ld and v_j = v + j·ld (HS floats each). scores holds n floats of scratch. */
void gb_attention_row(float *restrict out, float *restrict scores, const float *restrict q,
                      const float *restrict k, const float *restrict v, int64_t n, int64_t ld, int HS,
                      float scale);
/* The same over an fp16 cache (inference's KV cache in fp16, as llama.cpp keeps it). */
void gb_attention_row_f16(float *restrict out, float *restrict scores, const float *restrict q,
                          const uint16_t *restrict k, const uint16_t *restrict v, int64_t n, int64_t ld, int HS,
                          float scale);
/* x (n) = softmax(x) in place, one row (single-threaded: callers split rows) */
void gb_softmax_row(float *x, int n);

/* out (N,F) = silu(in[:, :F]) * in[:, F:]   with in (N, 2F) = [gate | up] */
void gb_swiglu_forward(float *restrict out, const float *restrict in, int64_t N, int F);
/* dinp (N,2F) = [∂/∂gate | ∂/∂up]   (overwritten) */
void gb_swiglu_backward(float *restrict dinp, const float *restrict in, const float *restrict dout,
                        int64_t N, int F);

/* Causal self-attention with grouped kv heads (query head h reads kv head h/(NH/NKV)).
 * qkv (B,T,QKV) as in gb_rope_forward, QKV = (NH + 2*NKV)*HS; out (B,T,NH*HS);
 * lse (B,NH,T): per-row log-sum-exp of the scaled scores, all the backward needs besides
 * qkv and out (the (T,T) score matrix is never stored); scratch (B,NH,T) work space. */
void gb_attention_forward(float *restrict out, float *restrict lse, float *restrict scratch,
                          const float *restrict qkv, int B, int T, int NH, int NKV, int HS);

/* dqkv (B,T,QKV) = ∂/∂qkv (overwritten), recomputing the probabilities from qkv and lse. */
void gb_attention_backward(float *restrict dqkv, const float *restrict dout,
                           const float *restrict qkv, const float *restrict out,
                           const float *restrict lse, int B, int T, int NH, int NKV, int HS);

/* Cross-entropy of logits (N,V) against targets (N): lse (N) saved, returns the mean loss
 * (per-row losses summed in double in row order). Targets must be in [0, V). */
float gb_crossentropy_forward(float *restrict lse, const float *restrict logits,
                              const int32_t *restrict targets, int64_t N, int V);

/* In place: logits (N,V) becomes dloss/N · (softmax(logits) - onehot(target)). */
void gb_crossentropy_backward(float *logits, const float *restrict lse,
                              const int32_t *restrict targets, int64_t N, int V, float dloss);

/* out (n) = a + b */
void gb_add_forward(float *restrict out, const float *restrict a, const float *restrict b,
                    int64_t n);

/* Σ x² over x (n), in double: 256 parts whose bounds depend on n only, each summed in
 * order, the parts added in order (thread-count independent). */
double gb_sumsq(const float *x, int64_t n);

/* x (n) *= s */
void gb_scale(float *x, float s, int64_t n);

/* Scalars of one AdamW step, each rounded to float from the double that torch's Python
 * code computes (so 1-beta1 is (float)(1.0-0.9), not 1.0f-0.9f). */
typedef struct gb_adamw_scalars {
    float decay_mul;        /* 1 - lr*wd (1 for tensors without decay) */
    float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
    float step_size;        /* lr / (1 - beta1^t) */
    float bc2_sqrt;         /* sqrt(1 - beta2^t) */
} gb_adamw_scalars;

/* One AdamW update of p (n) with gradient g and moments m, v (torch.optim.AdamW order):
 * p *= decay_mul; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * p -= step_size · m / (sqrt(v) / bc2_sqrt + eps). */
void gb_adamw_update(float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, int64_t n, const gb_adamw_scalars *s);
/* The same on the calling thread only, for callers that own the parallel loop (same bits). */
void gb_adamw_update_serial(float *restrict p, const float *restrict g, float *restrict m,
                            float *restrict v, int64_t n, const gb_adamw_scalars *s);

#endif
