/* glassbox — the decoder-only transformer: config, weights layout, forward, backward,
 * AdamW, gradient clipping, weight init.
 *
 * One config struct describes every supported layout (GPT-2, Llama and the mixes in
 * between). Parameters live in ONE gb_alloc'd block laid out from a table of tensors
 * (gb_model.tensors) whose names follow the GGUF conventions, so a GGUF writer maps them
 * 1:1; gradients live in a second block with the same layout; activations for a B×T batch
 * in a third. Weight matrices are stored (out, in) row-major, as GGUF and PyTorch do.
 * docs/model.md has the tensor table, the memory layout and the maths.
 *
 * Determinism: every kernel splits work over fixed index ranges and sums in a fixed
 * order, so the same inputs give the same bits with any thread count. */
#ifndef GLASSBOX_MODEL_H
#define GLASSBOX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"

typedef enum { GB_NORM_LAYERNORM = 0, GB_NORM_RMSNORM = 1 } gb_norm_kind;
typedef enum { GB_POS_LEARNED = 0, GB_POS_ROPE = 1 } gb_pos_kind;
typedef enum { GB_MLP_GELU = 0, GB_MLP_SWIGLU = 1 } gb_mlp_kind;

typedef struct gb_model_config {
    char arch[16];      /* GGUF general.architecture: "gpt2", "llama", ... (naming only) */
    int n_layer;        /* transformer blocks */
    int n_head;         /* query heads NH */
    int n_kv_head;      /* key/value heads NKV (GQA); NH % NKV == 0; NKV == NH is plain MHA */
    int d_model;        /* C; head size HS = C / NH */
    int d_ff;           /* hidden size F of the MLP */
    int vocab_size;     /* V */
    int n_ctx;          /* longest sequence T; also the rows of position_embd */
    gb_norm_kind norm;  /* layernorm (weight, bias if `bias`) or rmsnorm (weight only) */
    float norm_eps;     /* added to the variance / mean square */
    gb_pos_kind pos;    /* learned absolute embeddings or rotary (RoPE) on q and k */
    float rope_theta;   /* RoPE base (10000 in Llama); frequencies theta^(-2i/HS) */
    gb_mlp_kind mlp;    /* gelu: down(gelu_tanh(up x)); swiglu: down(silu(gate x) * up x) */
    int bias;           /* 1: every linear layer (and layernorm) has a bias */
    int tied;           /* 1: the output projection reuses token_embd.weight */
    int fused_qkv;      /* 1: q,k,v named as one blk.N.attn_qkv tensor (gpt2); else attn_q/k/v */
} gb_model_config;

/* Fills *out with a named preset: "gpt2-124m" (alias "gpt2"), "gpt2-10m", "gpt2-tiny",
 * "llama-10m" (alias "llama"), "llama-tiny". Presets use GPT-2's vocabulary size 50257;
 * callers set vocab_size to their tokenizer's. Unknown name: GB_ERR_ARG listing the names. */
gb_status gb_model_config_preset(gb_model_config *out, const char *name);

/* The preset names, NULL-terminated. */
const char *const *gb_model_preset_names(void);

/* Checks sizes and their relations; GB_ERR_ARG with a one-line message naming the field. */
gb_status gb_model_config_validate(const gb_model_config *c);

/* *n_params = the parameter count of a (validated) config, without allocating the weights. */
gb_status gb_model_config_n_params(const gb_model_config *cfg, int64_t *n_params);

/* One named tensor inside the parameter (and gradient) block. */
typedef struct gb_tensor_info {
    char name[48];     /* GGUF name, e.g. "blk.3.attn_qkv.weight" */
    int64_t offset;    /* in floats from the start of the block */
    int64_t numel;     /* element count */
    int ndim;          /* 1 or 2 */
    int64_t shape[2];  /* PyTorch order: (out, in) for matrices, (n) for vectors */
    int decay;         /* 1: AdamW applies weight decay (every 2-D tensor) */
} gb_tensor_info;

/* Pointers into the parameter block for one block (layer); NULL where the config has no
 * such tensor. C = d_model, KVC = NKV*HS, F = d_ff. */
typedef struct gb_layer_weights {
    float *attn_norm_w, *attn_norm_b; /* (C) */
    float *attn_qkv_w;                /* (C + 2*KVC, C): rows q, then k, then v */
    float *attn_qkv_b;                /* (C + 2*KVC) */
    float *attn_out_w;                /* (C, C) */
    float *attn_out_b;                /* (C) */
    float *ffn_norm_w, *ffn_norm_b;   /* (C) */
    float *ffn_up_w;                  /* gelu: (F, C); swiglu: (2F, C) = gate rows then up rows */
    float *ffn_up_b;                  /* (F) or (2F) */
    float *ffn_down_w;                /* (C, F) */
    float *ffn_down_b;                /* (C) */
} gb_layer_weights;

typedef struct gb_model {
    gb_model_config cfg;
    int64_t n_params;          /* parameters (sum of the tensors' numel) */
    int64_t n_floats;          /* floats in the parameter block: each tensor starts 64-byte
                                  aligned, the gaps are zero and stay zero */
    float *params;             /* the parameter block */
    float *grads;              /* same layout; NULL until the first backward / zero_grad */
    gb_tensor_info *tensors;   /* n_tensors entries in block order */
    int n_tensors;

    /* views into params */
    float *token_embd;         /* (V, C) */
    float *position_embd;      /* (n_ctx, C) or NULL (rope) */
    gb_layer_weights *layers;  /* n_layer */
    float *output_norm_w, *output_norm_b; /* (C) */
    float *output;             /* (V, C); == token_embd when tied */

    float *rope_cos, *rope_sin; /* (n_ctx, HS/2) or NULL */

    /* activations for the current batch (see docs/model.md) */
    int B, T;                  /* shape the block is laid out for; 0 before the first forward */
    float *acts;               /* one block */
    size_t acts_bytes;
    float *logits;             /* (B, T, V); after backward it holds d loss / d logits */
    float loss;                /* mean cross-entropy of the last forward; NAN without targets */
    int has_targets;           /* the last forward had targets (a backward may follow) */
    void *impl;                /* private: activation views, copies of tokens and targets */
} gb_model;

/* Creates a model for *cfg (validated) with all parameters zero; see gb_model_init_weights.
 * *out is NULL on failure. Free with gb_model_free. */
gb_status gb_model_init(gb_model **out, const gb_model_config *cfg);
void gb_model_free(gb_model *m); /* NULL is a no-op */

/* GPT-2 initialisation from a seeded stream: matrices and embeddings N(0, 0.02²), the
 * residual projections (attn_output, ffn_down) N(0, (0.02/sqrt(2*n_layer))²), biases 0,
 * norm weights 1. Each tensor draws from its own stream (seed, tensor index), so the result
 * does not depend on the thread count. */
void gb_model_init_weights(gb_model *m, uint64_t seed);

/* Looks a tensor up by its GGUF name; NULL if the model has none by that name. */
const gb_tensor_info *gb_model_tensor(const gb_model *m, const char *name);

/* Forward pass on tokens (B, T) (row-major, ids in [0, V)), 1 <= T <= n_ctx.
 * Writes m->logits (B, T, V); with targets (B, T) also m->loss, the mean cross-entropy.
 * The first call (and any call with a new B or T) lays out the activation block.
 * Tokens and targets are copied for the backward. GB_ERR_ARG on a bad id or size,
 * GB_ERR_NOMEM if the activations do not fit. */
gb_status gb_model_forward(gb_model *m, const int32_t *tokens, const int32_t *targets, int B,
                           int T);

/* Sets every gradient to zero (allocating the gradient block on first use). */
gb_status gb_model_zero_grad(gb_model *m);

/* Backward pass of the last forward (which must have had targets): ADDS
 * dloss * d(mean loss)/d(param) into m->grads (so micro-batches accumulate; pass
 * dloss = 1/steps). Overwrites m->logits with d loss / d logits. */
gb_status gb_model_backward(gb_model *m, float dloss);

/* L2 norm of all gradients (summed in double over fixed chunks: thread-count independent).
 * If max_norm > 0, scales every gradient by max_norm / (norm + 1e-6) when that is < 1, as
 * torch.nn.utils.clip_grad_norm_ does. Returns the norm before
 * clipping. */
float gb_model_clip_grad_norm(gb_model *m, float max_norm);

/* AdamW exactly as torch.optim.AdamW (PyTorch 1.13, amsgrad off):
 *   p -= lr*wd*p (decay tensors only); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²;
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * Weight decay applies to every 2-D tensor (matrices and embeddings), not to norm weights
 * or biases (nanoGPT / llm.c). */
typedef struct gb_adamw {
    float beta1, beta2, eps, weight_decay;
    int64_t step;   /* steps taken so far */
    int64_t n;      /* floats in m and v */
    float *m, *v;   /* first and second moments, same layout as the parameters */
} gb_adamw;

/* Allocates zeroed moments for a parameter block of n floats (a model's n_floats). */
gb_status gb_adamw_init(gb_adamw *opt, int64_t n, float beta1, float beta2, float eps,
                        float weight_decay);
void gb_adamw_free(gb_adamw *opt); /* safe on a zeroed struct */

/* One step with learning rate lr using m->grads (which must exist). */
void gb_adamw_step(gb_adamw *opt, gb_model *m, float lr);

/* The same over any block described by a tensor table (offsets and numel in floats, decay
 * flags), for parameter sets that are not a gb_model. */
void gb_adamw_step_tensors(gb_adamw *opt, float *params, const float *grads,
                           const gb_tensor_info *tensors, int n_tensors, float lr);

#endif
