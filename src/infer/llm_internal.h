/* glassbox — inside gb_llm (src/infer/llm*.c only): the mapped weights, the KV cache and
 * the scratch buffers eval works in. Shapes use C = d_model, HS = head size, KVC = NKV·HS,
 * F = d_ff, V = vocabulary, B = n_batch rows. */
#ifndef GLASSBOX_INFER_LLM_INTERNAL_H
#define GLASSBOX_INFER_LLM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/gguf.h"
#include "glassbox/infer.h"

/* A weight matrix (rows, cols) = PyTorch (out, in), in its stored type: in the mapping, or
 * an owned copy in the re-laid arena — interleaved by 8 rows for decode (x8;
 * src/core/quant_x8.h), or F32 rows as in the file. */
typedef struct gb_llm_mat {
    const void *data;  /* NULL: absent */
    uint32_t type;     /* gb_ggml_type */
    int64_t rows, cols;
    size_t row_bytes;
    int x8;            /* data is interleaved by 8 rows */
} gb_llm_mat;

/* Where one thread's part of a shared decode product stands: the offset in it of the next row
 * no thread has taken (llm_decode.c). A cache line each: the owner's claims stay in its cache
 * until another thread comes to help. */
typedef struct {
    int64_t next;
    char pad[56];
} gb_llm_cursor;

typedef struct gb_llm_layer {
    const float *attn_norm_w, *attn_norm_b;  /* (C); bias NULL for rmsnorm */
    gb_llm_mat qkv;                          /* (C+2·KVC, C) fused, or: */
    gb_llm_mat q, k, v;                      /* (C, C), (KVC, C), (KVC, C) */
    const float *qkv_b, *q_b, *k_b, *v_b;    /* matching biases or NULL */
    gb_llm_mat attn_out;                     /* (C, C) */
    const float *attn_out_b;                 /* (C) or NULL */
    const float *ffn_norm_w, *ffn_norm_b;    /* (C) */
    gb_llm_mat gate, up, down;               /* (F, C) swiglu only, (F, C), (C, F) */
    gb_llm_mat gate_up;                      /* (2F, C): gate then up, one re-laid buffer
                                                (decode's single product), or absent */
    const float *gate_b, *up_b, *down_b;     /* or NULL */
} gb_llm_layer;

struct gb_llm {
    gb_gguf *g;           /* the mapped file; every weight pointer lives in it */
    gb_tokenizer *tok;    /* NULL when the file has no tokenizer.ggml.* keys */
    char arch[16];
    int is_llama;
    int norm_rms, rope, swiglu, tied;
    int n_layer, C, NH, NKV, HS, KVC, F, V, rope_dim;
    int64_t n_ctx, n_ctx_train, n_batch;
    float eps, rope_theta;
    float rope_freq_scale;      /* llama.cpp's freq_scale = 1/rope.scaling.factor (1: unscaled) */
    const char *rope_scaling;   /* "none" or "linear" (the rope.scaling.type applied) */
    const float *rope_freqs;    /* (rope_dim/2) rope_freqs.weight: frequency i divided by it; or NULL */
    int64_t n_params;
    uint64_t weight_bytes;  /* tensor bytes in the file */

    gb_llm_mat token_embd;      /* (V, C) */
    gb_llm_mat position_embd;   /* (n_ctx_train, C) gpt2 */
    gb_llm_mat output;          /* (V, C); == token_embd when tied */
    const float *out_norm_w, *out_norm_b; /* (C) */
    gb_llm_layer *layers;       /* n_layer */
    void **owned;               /* the 1-D tensors as F32, the arena below */
    int n_owned;
    char *x8_arena;             /* the re-laid matrices, one after another (owned) */
    size_t x8_cap;              /* bytes planned for them */
    uint64_t x8_bytes;          /* bytes of them */

    void *k_cache, *v_cache;    /* (n_layer, NKV, n_ctx, HS) each: a head's positions contiguous */
    uint32_t kv_type;           /* their elements: GB_GGML_F16 (the default, as llama.cpp) or F32 */
    float *kv_f32;              /* (2, n_ctx, HS) an fp16 cache's head as fp32, for prefill's GEMM */
    float *rope_cos, *rope_sin; /* (n_ctx, rope_dim/2) */
    float *x, *xb, *q, *att;    /* (B, C) */
    float *k, *v;               /* (B, KVC) */
    float *hb;                  /* (B, max(2F, C+2·KVC)) */
    float *hb2;                 /* (B, F) */
    float *stat;                /* (2B) norm mean / rstd */
    float *scores;              /* (n_score_threads, n_ctx), or (score_rows, n_ctx) if gemm_attention */
    int64_t score_rows;         /* query rows per chunk of prefill attention by GEMM */
    int gemm_attention;         /* prefill attention through gb_sgemm */
    int n_score_threads;
    float *deq;                 /* dequantized weight panel, deq_floats */
    size_t deq_floats;
    float *dec;                 /* (n_score_threads, dec_stride) decode's per-thread scratch */
    size_t dec_stride;
    gb_llm_cursor *cursors;     /* (gb_llm_cursor_slots, n_score_threads): decode's shared products */
};

/* Decode's shared products a token: 3 a layer (output projection, FFN up, down) and the output. */
static inline size_t gb_llm_cursor_slots(const gb_llm *m) { return 3 * (size_t)m->n_layer + 1; }

/* Bytes of one cached element. */
static inline size_t gb_llm_kv_esize(const gb_llm *m) { return m->kv_type == GB_GGML_F16 ? 2 : 4; }

/* Layer l's cached keys or values (cache: k_cache or v_cache) of kv head g: n_ctx rows of HS
 * elements, so that attention reads one head's history as one sequential stream. */
static inline void *gb_llm_kv_head(const gb_llm *m, void *cache, int l, int g) {
    return (char *)cache +
           ((size_t)l * (size_t)m->NKV + (size_t)g) * (size_t)m->n_ctx * (size_t)m->HS * gb_llm_kv_esize(m);
}

/* The cache rows of kv head g of layer l at position pos: k and v (HS floats each). */
void gb_llm_kv_store(const gb_llm *m, int l, int g, int64_t pos, const float *k, const float *v);
/* out (HS) = attention of the query row q over keys 0..n-1 of kv head g of layer l (sc: n
 * floats of scratch). */
void gb_llm_attend_row(const gb_llm *m, float *out, float *sc, const float *q, int l, int g, int64_t n);

/* x (C) = the embedding of token tok at position p (+ its learned position row, gpt2). */
void gb_llm_embed_row(gb_llm *m, float *x, uint32_t tok, int64_t p);
/* Rotates pairs (2i, 2i+1), i < rope_dim/2, of each of nh heads of size HS in x, position p. */
void gb_llm_rope_row(const gb_llm *m, float *x, int nh, int64_t p);
/* One token at position pos through every layer (src/infer/llm_decode.c); logits (V) of it
 * unless NULL. Same bits as a batch of one row through eval, whatever the thread count. */
gb_status gb_llm_decode(gb_llm *m, uint32_t token, int64_t pos, float *logits);

/* Tests: the size of the prefill score matrix of models loaded afterwards (0 restores the
 * default), to exercise attention in query-row chunks without a huge context. */
void gb_llm_test_score_floats(size_t n);

#endif
