/* glassbox — the transformer: tensor table, weight init, forward and backward.
 *
 * One code path serves every config; the differences (norm, positions, MLP, biases, tied
 * output, GQA) are a handful of branches around the same kernels. Two layout choices make
 * that possible: q, k and v of a block are adjacent in the parameter block, so
 * [attn_q; attn_k; attn_v] IS the fused (C + 2·KVC, C) attn_qkv matrix, and ffn_gate is
 * followed by ffn_up, so SwiGLU's two input projections are one (2F, C) matmul.
 * docs/model.md documents the tensor table and the activation memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernels.h"
#include "glassbox/mem.h"
#include "glassbox/model.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"

/* Per-kernel wall time, summed over steps, when GB_PROFILE is set in the environment
 * (printed to stderr by gb_model_free). A diagnostic for bench/train; off, it costs a
 * branch per kernel call. */
enum {
    P_EMBED, P_NORM, P_MM_QKV, P_ROPE, P_ATTN, P_MM_ATTO, P_ADD, P_MM_UP, P_ACT, P_MM_DOWN,
    P_MM_HEAD, P_CE, P_NPROF
};
static const char *const prof_names[P_NPROF] = {
    "embedding", "norm", "matmul qkv", "rope", "attention", "matmul attn_out", "residual add",
    "matmul ffn_up", "gelu/swiglu", "matmul ffn_down", "matmul lm head", "cross-entropy"};

/* Activations of one block for a (B,T) batch; N = B*T. */
typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd; /* (N,C), (N), (N); mean only for layernorm */
    float *qkv;                       /* (N,QKV): q, k after RoPE, v */
    float *atty;                      /* (N,C) attention output, before attn_output */
    float *att_lse;                   /* (B,NH,T) softmax log-sum-exp per query row */
    float *res2;                      /* (N,C) residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd; /* (N,C), (N), (N) */
    float *fch;                       /* (N,F2) ffn_up (and gate) output, F2 = F or 2F */
    float *fch_act;                   /* (N,F) gelu / swiglu output */
    float *res3;                      /* (N,C) residual after the MLP = the block's output */
} layer_acts;

typedef struct {
    float *encoded;                   /* (N,C) token (+ position) embeddings */
    layer_acts *layer;                /* n_layer */
    float *lnf, *lnf_mean, *lnf_rstd; /* (N,C), (N), (N) */
    float *logits_lse;                /* (N) */
    float *att_scratch;               /* (B,NH,T) forward work space */
    /* work space shared by the forward (tmp_c) and the backward */
    float *dres;                      /* (N,C) gradient of the residual stream */
    float *tmp_c;                     /* (N,C) */
    float *tmp_f;                     /* (N,F) */
    float *tmp_w;                     /* (N,max(QKV,F2)) */
    int32_t *tokens, *targets;        /* (N) copies */
    layer_acts *layer_mem;
    int profile;                      /* GB_PROFILE set: time every kernel */
    double prof[2][P_NPROF];          /* seconds, [0] forward, [1] backward */
} model_impl;

#define PROF(dir, k, stmt)                                                                     \
    do {                                                                                       \
        double t0_ = im->profile ? gb_time_now() : 0;                                          \
        stmt;                                                                                  \
        if (im->profile) im->prof[dir][k] += gb_time_now() - t0_;                              \
    } while (0)

/* ---- tensor table ---------------------------------------------------------------------- */

typedef struct {
    gb_model *m;
    int cap;
    float ***dst; /* where to store each tensor's pointer once the block exists */
    gb_status rc;
} table_builder;

static void add_tensor(table_builder *tb, float **dst, const char *name, int64_t rows,
                       int64_t cols) {
    gb_model *m = tb->m;
    if (tb->rc) return;
    if (m->n_tensors == tb->cap) {
        int cap = tb->cap ? 2 * tb->cap : 64;
        gb_tensor_info *t = realloc(m->tensors, (size_t)cap * sizeof *t);
        float ***d = t ? realloc(tb->dst, (size_t)cap * sizeof *d) : NULL;
        if (t) m->tensors = t;
        if (!t || !d) {
            tb->rc = gb_errorf(GB_ERR_NOMEM, "model: out of memory for the tensor table");
            return;
        }
        tb->dst = d, tb->cap = cap;
    }
    gb_tensor_info *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows, t->shape[1] = cols;
    t->numel = cols ? rows * cols : rows;
    t->decay = cols != 0;
    t->offset = m->n_floats;
    m->n_floats += (t->numel + 15) / 16 * 16; /* next tensor 64-byte aligned */
    m->n_params += t->numel;
    tb->dst[m->n_tensors++] = dst;
}

static void add_blk(table_builder *tb, float **dst, int l, const char *what, int64_t rows,
                    int64_t cols) {
    char name[48];
    snprintf(name, sizeof name, "blk.%d.%s", l, what);
    add_tensor(tb, dst, name, rows, cols);
}

/* Builds the tensor table; with `alloc`, also the zeroed parameter block and the views. */
static gb_status build_table(gb_model *m, int alloc) {
    const gb_model_config *c = &m->cfg;
    int64_t C = c->d_model, V = c->vocab_size, F = c->d_ff;
    int64_t KVC = (int64_t)c->n_kv_head * (C / c->n_head);
    int ln_bias = c->bias && c->norm == GB_NORM_LAYERNORM;
    table_builder tb = {.m = m};

    add_tensor(&tb, &m->token_embd, "token_embd.weight", V, C);
    if (c->pos == GB_POS_LEARNED) add_tensor(&tb, &m->position_embd, "position_embd.weight", c->n_ctx, C);
    for (int l = 0; l < c->n_layer; l++) {
        gb_layer_weights *w = &m->layers[l];
        add_blk(&tb, &w->attn_norm_w, l, "attn_norm.weight", C, 0);
        if (ln_bias) add_blk(&tb, &w->attn_norm_b, l, "attn_norm.bias", C, 0);
        if (c->fused_qkv) {
            add_blk(&tb, &w->attn_qkv_w, l, "attn_qkv.weight", C + 2 * KVC, C);
            if (c->bias) add_blk(&tb, &w->attn_qkv_b, l, "attn_qkv.bias", C + 2 * KVC, 0);
        } else { /* adjacent, so together they are the fused matrix */
            add_blk(&tb, &w->attn_qkv_w, l, "attn_q.weight", C, C);
            add_blk(&tb, NULL, l, "attn_k.weight", KVC, C);
            add_blk(&tb, NULL, l, "attn_v.weight", KVC, C);
            if (c->bias) {
                add_blk(&tb, &w->attn_qkv_b, l, "attn_q.bias", C, 0);
                add_blk(&tb, NULL, l, "attn_k.bias", KVC, 0);
                add_blk(&tb, NULL, l, "attn_v.bias", KVC, 0);
            }
        }
        add_blk(&tb, &w->attn_out_w, l, "attn_output.weight", C, C);
        if (c->bias) add_blk(&tb, &w->attn_out_b, l, "attn_output.bias", C, 0);
        add_blk(&tb, &w->ffn_norm_w, l, "ffn_norm.weight", C, 0);
        if (ln_bias) add_blk(&tb, &w->ffn_norm_b, l, "ffn_norm.bias", C, 0);
        if (c->mlp == GB_MLP_SWIGLU) { /* gate rows then up rows: one (2F, C) matmul */
            add_blk(&tb, &w->ffn_up_w, l, "ffn_gate.weight", F, C);
            add_blk(&tb, NULL, l, "ffn_up.weight", F, C);
            if (c->bias) {
                add_blk(&tb, &w->ffn_up_b, l, "ffn_gate.bias", F, 0);
                add_blk(&tb, NULL, l, "ffn_up.bias", F, 0);
            }
        } else {
            add_blk(&tb, &w->ffn_up_w, l, "ffn_up.weight", F, C);
            if (c->bias) add_blk(&tb, &w->ffn_up_b, l, "ffn_up.bias", F, 0);
        }
        add_blk(&tb, &w->ffn_down_w, l, "ffn_down.weight", C, F);
        if (c->bias) add_blk(&tb, &w->ffn_down_b, l, "ffn_down.bias", C, 0);
    }
    add_tensor(&tb, &m->output_norm_w, "output_norm.weight", C, 0);
    if (ln_bias) add_tensor(&tb, &m->output_norm_b, "output_norm.bias", C, 0);
    if (!c->tied) add_tensor(&tb, &m->output, "output.weight", V, C);
    if (tb.rc || !alloc) {
        free(tb.dst);
        return tb.rc;
    }

    size_t bytes;
    if (!gb_mul_ok((size_t)m->n_floats, sizeof(float), &bytes)) {
        free(tb.dst);
        return gb_errorf(GB_ERR_NOMEM, "model: %lld parameters do not fit in memory",
                         (long long)m->n_params);
    }
    m->params = gb_alloc(bytes);
    if (!m->params) {
        free(tb.dst);
        return gb_errorf(GB_ERR_NOMEM, "model: cannot allocate %zu bytes for %lld parameters",
                         bytes, (long long)m->n_params);
    }
    memset(m->params, 0, bytes);
    for (int i = 0; i < m->n_tensors; i++)
        if (tb.dst[i]) *tb.dst[i] = m->params + m->tensors[i].offset;
    if (c->tied) m->output = m->token_embd;
    free(tb.dst);
    return GB_OK;
}

/* ---- lifetime -------------------------------------------------------------------------- */

gb_status gb_model_init(gb_model **out, const gb_model_config *cfg) {
    *out = NULL;
    gb_status rc = gb_model_config_validate(cfg);
    if (rc) return rc;
    gb_model *m = calloc(1, sizeof *m);
    if (!m) return gb_errorf(GB_ERR_NOMEM, "model: out of memory");
    m->cfg = *cfg;
    m->loss = NAN;
    m->layers = calloc((size_t)cfg->n_layer, sizeof *m->layers);
    if (!m->layers) {
        rc = gb_errorf(GB_ERR_NOMEM, "model: out of memory");
        goto done;
    }
    if ((rc = build_table(m, 1))) goto done;
    if (cfg->pos == GB_POS_ROPE) {
        int HS = cfg->d_model / cfg->n_head, half = HS / 2;
        size_t n = (size_t)cfg->n_ctx * (size_t)half;
        m->rope_cos = gb_alloc(n * sizeof(float));
        m->rope_sin = gb_alloc(n * sizeof(float));
        if (!m->rope_cos || !m->rope_sin) {
            rc = gb_errorf(GB_ERR_NOMEM, "model: out of memory for the rope tables");
            goto done;
        }
        for (int t = 0; t < cfg->n_ctx; t++)
            for (int i = 0; i < half; i++) {
                double freq = pow((double)cfg->rope_theta, -2.0 * i / HS);
                m->rope_cos[(size_t)t * half + i] = (float)cos(t * freq);
                m->rope_sin[(size_t)t * half + i] = (float)sin(t * freq);
            }
    }
done:
    if (rc) gb_model_free(m);
    else *out = m;
    return rc;
}

gb_status gb_model_config_n_params(const gb_model_config *cfg, int64_t *n_params) {
    gb_status rc = gb_model_config_validate(cfg);
    if (rc) return rc;
    gb_model m = {.cfg = *cfg};
    m.layers = calloc((size_t)cfg->n_layer, sizeof *m.layers);
    if (!m.layers) return gb_errorf(GB_ERR_NOMEM, "model: out of memory");
    rc = build_table(&m, 0);
    *n_params = m.n_params;
    free(m.tensors);
    free(m.layers);
    return rc;
}

static void print_profile(const model_impl *im) {
    double tot[2] = {0, 0};
    for (int k = 0; k < P_NPROF; k++) tot[0] += im->prof[0][k], tot[1] += im->prof[1][k];
    fprintf(stderr, "GB_PROFILE  %-16s %10s %10s %6s\n", "kernel", "fwd s", "bwd s", "%");
    for (int k = 0; k < P_NPROF; k++)
        fprintf(stderr, "GB_PROFILE  %-16s %10.3f %10.3f %5.1f%%\n", prof_names[k], im->prof[0][k],
                im->prof[1][k], 100 * (im->prof[0][k] + im->prof[1][k]) / (tot[0] + tot[1] + 1e-30));
    fprintf(stderr, "GB_PROFILE  %-16s %10.3f %10.3f\n", "total", tot[0], tot[1]);
}

static void free_acts(gb_model *m) {
    model_impl *im = m->impl;
    if (im && im->profile) print_profile(im);
    if (im) free(im->layer_mem);
    free(im);
    gb_free(m->acts);
    m->impl = NULL, m->acts = NULL, m->acts_bytes = 0, m->B = m->T = 0, m->logits = NULL;
}

void gb_model_free(gb_model *m) {
    if (!m) return;
    free_acts(m);
    gb_free(m->params);
    gb_free(m->grads);
    gb_free(m->rope_cos);
    gb_free(m->rope_sin);
    free(m->tensors);
    free(m->layers);
    free(m);
}

const gb_tensor_info *gb_model_tensor(const gb_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

void gb_model_init_weights(gb_model *m, uint64_t seed) {
    float resid_std = 0.02f / sqrtf(2.0f * (float)m->cfg.n_layer);
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        float *p = m->params + t->offset;
        if (t->ndim == 1) { /* norm weights 1, everything else (biases) 0 */
            float v = ends_with(t->name, "norm.weight") ? 1.0f : 0.0f;
            for (int64_t k = 0; k < t->numel; k++) p[k] = v;
            continue;
        }
        float std = ends_with(t->name, "attn_output.weight") || ends_with(t->name, "ffn_down.weight")
                        ? resid_std
                        : 0.02f;
        gb_rng r;
        gb_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1)));
        for (int64_t k = 0; k < t->numel; k++) p[k] = std * gb_rng_normal(&r);
    }
}

/* ---- activations ----------------------------------------------------------------------- */

typedef struct {
    float **dst;
    int64_t n;
} slot;

/* Lays out the activation block for (B,T); see docs/model.md for the sizes. */
static gb_status alloc_acts(gb_model *m, int B, int T) {
    const gb_model_config *c = &m->cfg;
    free_acts(m);
    int64_t N = (int64_t)B * T, C = c->d_model, F = c->d_ff, V = c->vocab_size;
    int64_t HS = C / c->n_head, QKV = C + 2 * (int64_t)c->n_kv_head * HS;
    int64_t F2 = c->mlp == GB_MLP_SWIGLU ? 2 * F : F, W = QKV > F2 ? QKV : F2;
    int64_t BHT = (int64_t)B * c->n_head * T;
    int ln = c->norm == GB_NORM_LAYERNORM;

    /* floats per token, bounded first in double so no int64 product below can wrap */
    double per_token = (double)c->n_layer * (5.0 * C + QKV + F2 + F + c->n_head + 4) + 5.0 * C +
                       V + F + W + c->n_head + 8;
    if ((double)N * per_token > 0x1p56)
        return gb_errorf(GB_ERR_NOMEM, "model: activations for B=%d T=%d would need %.3g floats", B,
                         T, (double)N * per_token);
    model_impl *im = calloc(1, sizeof *im);
    if (!im) return gb_errorf(GB_ERR_NOMEM, "model: out of memory");
    m->impl = im;
    im->profile = getenv("GB_PROFILE") != NULL;
    im->layer = im->layer_mem = calloc((size_t)c->n_layer, sizeof *im->layer);
    int nslots = 16 * c->n_layer + 16;
    slot *s = calloc((size_t)nslots, sizeof *s);
    if (!im->layer || !s) {
        free(s);
        free_acts(m);
        return gb_errorf(GB_ERR_NOMEM, "model: out of memory");
    }
    int k = 0;
#define SLOT(p, count) (s[k].dst = &(p), s[k].n = (count), k++)
    SLOT(im->encoded, N * C);
    for (int l = 0; l < c->n_layer; l++) {
        layer_acts *a = &im->layer[l];
        SLOT(a->ln1, N * C);
        if (ln) SLOT(a->ln1_mean, N);
        SLOT(a->ln1_rstd, N);
        SLOT(a->qkv, N * QKV);
        SLOT(a->atty, N * C);
        SLOT(a->att_lse, BHT);
        SLOT(a->res2, N * C);
        SLOT(a->ln2, N * C);
        if (ln) SLOT(a->ln2_mean, N);
        SLOT(a->ln2_rstd, N);
        SLOT(a->fch, N * F2);
        SLOT(a->fch_act, N * F);
        SLOT(a->res3, N * C);
    }
    SLOT(im->lnf, N * C);
    if (ln) SLOT(im->lnf_mean, N);
    SLOT(im->lnf_rstd, N);
    SLOT(m->logits, N * V);
    SLOT(im->logits_lse, N);
    SLOT(im->att_scratch, BHT);
    SLOT(im->dres, N * C);
    SLOT(im->tmp_c, N * C);
    SLOT(im->tmp_f, N * F);
    SLOT(im->tmp_w, N * W);
#undef SLOT
    /* every slot starts 64-byte aligned; sizes are < 2^62 so the sum cannot wrap int64 */
    int64_t total = 2 * ((N + 15) / 16 * 16); /* tokens and targets (int32, one float each) */
    for (int i = 0; i < k; i++) total += (s[i].n + 15) / 16 * 16;
    size_t bytes;
    if (!gb_mul_ok((size_t)total, sizeof(float), &bytes) || !(m->acts = gb_alloc(bytes))) {
        free(s);
        free_acts(m);
        return gb_errorf(GB_ERR_NOMEM, "model: cannot allocate %lld floats of activations for B=%d T=%d",
                         (long long)total, B, T);
    }
    m->acts_bytes = bytes;
    float *p = m->acts;
    for (int i = 0; i < k; i++) *s[i].dst = p, p += (s[i].n + 15) / 16 * 16;
    /* the block is untyped memory from gb_alloc; int32 slots have a float's size and alignment */
    // cppcheck-suppress invalidPointerCast
    im->tokens = (int32_t *)p, p += (N + 15) / 16 * 16;
    // cppcheck-suppress invalidPointerCast
    im->targets = (int32_t *)p;
    free(s);
    m->B = B, m->T = T;
    return GB_OK;
}

/* ---- forward --------------------------------------------------------------------------- */

static void norm_forward(const gb_model *m, float *out, float *mean, float *rstd, const float *in,
                         const float *w, const float *b, int64_t N) {
    if (m->cfg.norm == GB_NORM_LAYERNORM)
        gb_layernorm_forward(out, mean, rstd, in, w, b, N, m->cfg.d_model, m->cfg.norm_eps);
    else
        gb_rmsnorm_forward(out, rstd, in, w, N, m->cfg.d_model, m->cfg.norm_eps);
}

static void norm_backward(const gb_model *m, float *dinp, float *dw, float *db, const float *dout,
                          const float *in, const float *w, const float *mean, const float *rstd,
                          int64_t N) {
    if (m->cfg.norm == GB_NORM_LAYERNORM)
        gb_layernorm_backward(dinp, dw, db, dout, in, w, mean, rstd, N, m->cfg.d_model);
    else
        gb_rmsnorm_backward(dinp, dw, dout, in, w, rstd, N, m->cfg.d_model);
}

gb_status gb_model_forward(gb_model *m, const int32_t *tokens, const int32_t *targets, int B,
                           int T) {
    const gb_model_config *c = &m->cfg;
    if (B < 1 || B > (1 << 20) || T < 1 || T > c->n_ctx)
        return gb_errorf(GB_ERR_ARG, "model forward: batch B=%d T=%d (need B >= 1, 1 <= T <= n_ctx = %d)",
                         B, T, c->n_ctx);
    int64_t N = (int64_t)B * T;
    for (int64_t i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return gb_errorf(GB_ERR_ARG, "model forward: token %d at position %lld is outside the vocabulary (%d)",
                             tokens[i], (long long)i, c->vocab_size);
        if (targets && (targets[i] < 0 || targets[i] >= c->vocab_size))
            return gb_errorf(GB_ERR_ARG, "model forward: target %d at position %lld is outside the vocabulary (%d)",
                             targets[i], (long long)i, c->vocab_size);
    }
    if (m->B != B || m->T != T) {
        gb_status rc = alloc_acts(m, B, T);
        if (rc) return rc;
    }
    model_impl *im = m->impl;
    memcpy(im->tokens, tokens, (size_t)N * sizeof *tokens);
    if (targets) memcpy(im->targets, targets, (size_t)N * sizeof *targets);
    m->has_targets = targets != NULL;

    int C = c->d_model, F = c->d_ff, NH = c->n_head, NKV = c->n_kv_head, HS = C / NH;
    int QKV = C + 2 * NKV * HS, F2 = c->mlp == GB_MLP_SWIGLU ? 2 * F : F;

    PROF(0, P_EMBED, gb_embedding_forward(im->encoded, im->tokens, m->token_embd, m->position_embd, B, T, C));
    const float *res = im->encoded;
    for (int l = 0; l < c->n_layer; l++) {
        const gb_layer_weights *w = &m->layers[l];
        layer_acts *a = &im->layer[l];
        PROF(0, P_NORM, norm_forward(m, a->ln1, a->ln1_mean, a->ln1_rstd, res, w->attn_norm_w, w->attn_norm_b, N));
        PROF(0, P_MM_QKV, gb_matmul_forward(a->qkv, a->ln1, w->attn_qkv_w, w->attn_qkv_b, N, C, QKV));
        if (c->pos == GB_POS_ROPE) PROF(0, P_ROPE, gb_rope_forward(a->qkv, m->rope_cos, m->rope_sin, B, T, NH, NKV, HS));
        PROF(0, P_ATTN, gb_attention_forward(a->atty, a->att_lse, im->att_scratch, a->qkv, B, T, NH, NKV, HS));
        PROF(0, P_MM_ATTO, gb_matmul_forward(im->tmp_c, a->atty, w->attn_out_w, w->attn_out_b, N, C, C));
        PROF(0, P_ADD, gb_add_forward(a->res2, res, im->tmp_c, N * C));
        PROF(0, P_NORM, norm_forward(m, a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, w->ffn_norm_w, w->ffn_norm_b, N));
        PROF(0, P_MM_UP, gb_matmul_forward(a->fch, a->ln2, w->ffn_up_w, w->ffn_up_b, N, C, F2));
        if (c->mlp == GB_MLP_SWIGLU) PROF(0, P_ACT, gb_swiglu_forward(a->fch_act, a->fch, N, F));
        else PROF(0, P_ACT, gb_gelu_forward(a->fch_act, a->fch, N * F));
        PROF(0, P_MM_DOWN, gb_matmul_forward(im->tmp_c, a->fch_act, w->ffn_down_w, w->ffn_down_b, N, F, C));
        PROF(0, P_ADD, gb_add_forward(a->res3, a->res2, im->tmp_c, N * C));
        res = a->res3;
    }
    PROF(0, P_NORM, norm_forward(m, im->lnf, im->lnf_mean, im->lnf_rstd, res, m->output_norm_w, m->output_norm_b, N));
    PROF(0, P_MM_HEAD, gb_matmul_forward(m->logits, im->lnf, m->output, NULL, N, C, c->vocab_size));
    m->loss = NAN;
    if (targets) PROF(0, P_CE, m->loss = gb_crossentropy_forward(im->logits_lse, m->logits, im->targets, N, c->vocab_size));
    return GB_OK;
}

/* ---- backward -------------------------------------------------------------------------- */

gb_status gb_model_zero_grad(gb_model *m) {
    size_t bytes = (size_t)m->n_floats * sizeof(float); /* fits: params were allocated */
    if (!m->grads && !(m->grads = gb_alloc(bytes)))
        return gb_errorf(GB_ERR_NOMEM, "model: cannot allocate %zu bytes of gradients", bytes);
    memset(m->grads, 0, bytes);
    return GB_OK;
}

gb_status gb_model_backward(gb_model *m, float dloss) {
    const gb_model_config *c = &m->cfg;
    if (!m->impl || !m->has_targets)
        return gb_errorf(GB_ERR_ARG, "model backward: the last forward had no targets");
    if (!m->grads) {
        gb_status rc = gb_model_zero_grad(m);
        if (rc) return rc;
    }
    model_impl *im = m->impl;
    int B = m->B, T = m->T;
    int64_t N = (int64_t)B * T;
    int C = c->d_model, F = c->d_ff, NH = c->n_head, NKV = c->n_kv_head, HS = C / NH;
    int QKV = C + 2 * NKV * HS, F2 = c->mlp == GB_MLP_SWIGLU ? 2 * F : F;
    /* the gradient of a parameter sits at the same offset in the gradient block */
#define G(p) ((p) ? m->grads + ((p) - m->params) : NULL)

    PROF(1, P_CE, gb_crossentropy_backward(m->logits, im->logits_lse, im->targets, N, c->vocab_size, dloss));
    PROF(1, P_MM_HEAD, gb_matmul_backward(im->tmp_c, G(m->output), NULL, m->logits, im->lnf, m->output, N, C, c->vocab_size));
    const float *res_last = c->n_layer ? im->layer[c->n_layer - 1].res3 : im->encoded;
    memset(im->dres, 0, (size_t)N * C * sizeof(float));
    PROF(1, P_NORM, norm_backward(m, im->dres, G(m->output_norm_w), G(m->output_norm_b), im->tmp_c, res_last,
                                  m->output_norm_w, im->lnf_mean, im->lnf_rstd, N));
    for (int l = c->n_layer - 1; l >= 0; l--) {
        const gb_layer_weights *w = &m->layers[l];
        layer_acts *a = &im->layer[l];
        const float *res_in = l ? im->layer[l - 1].res3 : im->encoded;
        /* dres holds d loss / d res3 here; the skip connection passes it through unchanged */
        PROF(1, P_MM_DOWN, gb_matmul_backward(im->tmp_f, G(w->ffn_down_w), G(w->ffn_down_b), im->dres, a->fch_act,
                                              w->ffn_down_w, N, F, C));
        if (c->mlp == GB_MLP_SWIGLU) PROF(1, P_ACT, gb_swiglu_backward(im->tmp_w, a->fch, im->tmp_f, N, F));
        else PROF(1, P_ACT, gb_gelu_backward(im->tmp_w, a->fch, im->tmp_f, N * F));
        PROF(1, P_MM_UP, gb_matmul_backward(im->tmp_c, G(w->ffn_up_w), G(w->ffn_up_b), im->tmp_w, a->ln2,
                                            w->ffn_up_w, N, C, F2));
        PROF(1, P_NORM, norm_backward(m, im->dres, G(w->ffn_norm_w), G(w->ffn_norm_b), im->tmp_c, a->res2,
                                      w->ffn_norm_w, a->ln2_mean, a->ln2_rstd, N));
        /* dres is now d loss / d res2 */
        PROF(1, P_MM_ATTO, gb_matmul_backward(im->tmp_c, G(w->attn_out_w), G(w->attn_out_b), im->dres, a->atty,
                                              w->attn_out_w, N, C, C));
        PROF(1, P_ATTN, gb_attention_backward(im->tmp_w, im->tmp_c, a->qkv, a->atty, a->att_lse, B, T, NH, NKV, HS));
        if (c->pos == GB_POS_ROPE) PROF(1, P_ROPE, gb_rope_backward(im->tmp_w, m->rope_cos, m->rope_sin, B, T, NH, NKV, HS));
        PROF(1, P_MM_QKV, gb_matmul_backward(im->tmp_c, G(w->attn_qkv_w), G(w->attn_qkv_b), im->tmp_w, a->ln1,
                                             w->attn_qkv_w, N, C, QKV));
        PROF(1, P_NORM, norm_backward(m, im->dres, G(w->attn_norm_w), G(w->attn_norm_b), im->tmp_c, res_in,
                                      w->attn_norm_w, a->ln1_mean, a->ln1_rstd, N));
    }
    PROF(1, P_EMBED, gb_embedding_backward(G(m->token_embd), G(m->position_embd), im->dres, im->tokens, B, T, C));
#undef G
    m->has_targets = 0; /* logits now hold their gradient: a second backward would be wrong */
    return GB_OK;
}
