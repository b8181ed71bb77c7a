/* glassbox — decode: one token through the model in a single parallel region.
 *
 * A decode step is a chain of small matrix-vector products (4–6 a layer), each a few tens of
 * microseconds on a 110M model. Opening a parallel region per product, with the norms, the
 * activation quantization, rope and the residual adds run by one thread in between while the
 * others wait, costs a fork and a join per product and leaves threads idle. Here the threads
 * stay in one region for the whole token: each starts on its own part of every matrix's rows and
 * owns a part of the heads, adds the rows it computed into the residual, and the threads meet
 * at a barrier only where the next stage needs a whole vector: 4 a layer where each thread can
 * own whole kv groups (it computes their q, k, v rows itself and attends with them), 6
 * otherwise. What one thread would do alone and every thread needs — the norm of the residual
 * row and its quantization for the next product — each thread does for itself, in its own
 * scratch (a few microseconds, less than a wait). On 2 cores the gain is small (110M Q4_0
 * tg128, alternated in one process: +1 % median, +5 % best); it grows with the number of
 * threads that each fork and barrier must wake. Threads taking rows
 * in dynamic chunks instead measured 5–13 % slower, and asking for the next product's first
 * lines before each barrier changed nothing, nor did pairs of threads taking a product's rows
 * from both ends in shrinking pieces (0.97–1.02×). Owning kv groups (two barriers fewer): +3 %
 * on 110M Q8_0, +2 % on 1.1B Q4_0, level on 110M Q4_0 (paired medians of alternated runs).
 *
 * A thread done with its part of the output projection, the FFN or the output takes chunks of
 * the parts still going, behind their owners (claim): a thread slowed by anything — a busy
 * neighbour on its core, its share of the bandwidth — no longer holds the other at the barrier.
 * 110M Q4_K and F16 +3-4 % on a quiet machine, +27 % with a busy loop on one of the two cores
 * (alternated slices against the same chunks without helping).
 *
 * Every value comes from the functions eval_batch uses, in the same order (the same norm row,
 * the same dot kernels on the same quantized activations, the same attention row), so decode
 * has the bits of a small batch and they do not depend on the thread count. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/kernels.h"
#include "core/quant.h"
#include "glassbox/sys.h"
#include "infer/llm_internal.h"

typedef struct {
    int t, nt;           /* this thread, of nt */
    float *xn;           /* (C) the normed residual row */
    void *act;           /* the activations prepared for the current product */
    const float *act_of; /* ... from this vector (NULL: none yet) */
    uint32_t act_vt;     /* ... in this format */
} worker;

/* Part p of nt, [*i0, *i1), of n items in units of u (n a multiple of u). */
static void part_of(int64_t n, int64_t u, int p, int nt, int64_t *i0, int64_t *i1) {
    const int64_t units = n / u;
    *i0 = units * p / nt * u;
    *i1 = units * (p + 1) / nt * u;
}

/* This thread's part of n items in units of u. */
static void share(const worker *w, int64_t n, int64_t u, int64_t *i0, int64_t *i1) {
    part_of(n, u, w->t, w->nt, i0, i1);
}

/* Rows a claim takes, in units (8-row groups of an interleaved matrix): 64 rows of a 768-wide
 * Q4_0 matrix are 27 KiB, a few microseconds of streaming. */
#define CHUNK_UNITS 8

/* The next chunk [*a, *b) of a shared product's n rows (units of u) that no thread has taken,
 * by its cursors c (one a part): from this thread's own part while it lasts, then from the
 * other parts, behind their owners. 0 when every row is taken. Relaxed atomics: the rows
 * written reach the other threads through the barrier after the product. */
static int claim(const worker *w, gb_llm_cursor *c, int64_t n, int64_t u, int64_t *a, int64_t *b) {
    const int64_t chunk = CHUNK_UNITS * u;
    for (int k = 0; k < w->nt; k++) {
        const int p = (w->t + k) % w->nt;
        int64_t p0, p1;
        part_of(n, u, p, w->nt, &p0, &p1);
        if (__atomic_load_n(&c[p].next, __ATOMIC_RELAXED) >= p1 - p0) continue;
        const int64_t s = __atomic_fetch_add(&c[p].next, chunk, __ATOMIC_RELAXED);
        if (s >= p1 - p0) continue;
        *a = p0 + s, *b = p0 + s + chunk < p1 ? p0 + s + chunk : p1;
        return 1;
    }
    return 0;
}

/* Rows [r0, r1) of out = W·x + b, x (W.cols) prepared once per format for the products that
 * share it (q, k, v; gate, up); norm and residual mark a new vector. */
static void rows(worker *w, const gb_llm_mat *W, const float *b, const float *x, float *out, int64_t r0, int64_t r1) {
    const uint32_t vt = gb_quant_vec_dot_type(W->type);
    if (w->act_of != x || w->act_vt != vt) {
        gb_quant_act_prepare(W->type, w->act, x, W->cols);
        w->act_of = x, w->act_vt = vt;
    }
    gb_quant_matvec_rows(W->type, W->x8, W->data, w->act, out, W->cols, r0, r1);
    if (b)
        for (int64_t r = r0; r < r1; r++) out[r] += b[r];
}

/* This thread's rows of out = W·x + b. */
static void product(worker *w, const gb_llm_mat *W, const float *b, const float *x, float *out) {
    int64_t r0, r1;
    share(w, W->rows, W->x8 ? 8 : 1, &r0, &r1);
    rows(w, W, b, x, out, r0, r1);
}

/* The rows of out = W·x + b this thread claims (by the cursors c). */
static void shared_product(worker *w, gb_llm_cursor *c, const gb_llm_mat *W, const float *b, const float *x,
                           float *out) {
    int64_t r0, r1;
    while (claim(w, c, W->rows, W->x8 ? 8 : 1, &r0, &r1)) rows(w, W, b, x, out, r0, r1);
}

/* w->xn = norm(x); the prepared activations are stale from here. */
static void norm(const gb_llm *m, worker *w, const float *x, const float *nw, const float *nb) {
    float mean, rstd;
    if (m->norm_rms) gb_rmsnorm_row(w->xn, x, nw, m->C, m->eps);
    else gb_layernorm_row(w->xn, &mean, &rstd, x, nw, nb, m->C, m->eps);
    w->act_of = NULL;
}

/* The rows of x += W·in + b (the residual add) this thread claims, through out; in is a vector
 * the threads have just written. */
static void residual(worker *w, gb_llm_cursor *c, float *x, const gb_llm_mat *W, const float *b, const float *in,
                     float *out) {
    w->act_of = NULL;
    int64_t r0, r1;
    while (claim(w, c, W->rows, W->x8 ? 8 : 1, &r0, &r1)) {
        rows(w, W, b, in, out, r0, r1);
        for (int64_t r = r0; r < r1; r++) x[r] += out[r];
    }
}

/* The elements of hb (F) = act(gate·xn) · (up·xn), or gelu(up·xn) (gpt2), this thread claims. */
static void ffn_up(const gb_llm *m, worker *w, gb_llm_cursor *c, const gb_llm_layer *L) {
    int64_t j0, j1;
    while (claim(w, c, m->F, L->up.x8 || (m->swiglu && L->gate.x8) ? 8 : 1, &j0, &j1)) {
        rows(w, &L->up, L->up_b, w->xn, m->hb2, j0, j1);
        if (m->swiglu) {
            rows(w, &L->gate, L->gate_b, w->xn, m->hb, j0, j1);
            gb_silu_mul_inplace(m->hb + j0, m->hb2 + j0, j1 - j0);
        } else {
            gb_gelu_forward(m->hb + j0, m->hb2 + j0, j1 - j0);
        }
    }
}

/* Rope on kv heads [g0, g1) of k and their cache rows of position pos, and rope on query
 * heads [h0, h1) of q. The cache rows' lines are asked for first, all at once: a position's
 * lines were last written a token or more ago and are in memory, and stores missing one by
 * one waited for each in turn (rope and cache 1.5 % of a 110M Q4_0 token, 0.8 % so). */
static void rope_and_cache(const gb_llm *m, int l, float *q, float *k, const float *v, int64_t pos, int64_t g0,
                           int64_t g1, int64_t h0, int64_t h1) {
    const int HS = m->HS;
    const size_t row = (size_t)HS * gb_llm_kv_esize(m);
    for (int64_t g = g0; g < g1; g++) {
        const char *kc = (const char *)gb_llm_kv_head(m, m->k_cache, l, (int)g) + (size_t)pos * row;
        const char *vc = (const char *)gb_llm_kv_head(m, m->v_cache, l, (int)g) + (size_t)pos * row;
        for (size_t o = 0; o < row; o += 64) __builtin_prefetch(kc + o, 1), __builtin_prefetch(vc + o, 1);
    }
    for (int64_t g = g0; g < g1; g++) {
        if (m->rope) gb_llm_rope_row(m, k + g * HS, 1, pos);
        gb_llm_kv_store(m, l, (int)g, pos, k + g * HS, v + g * HS);
    }
    if (m->rope)
        for (int64_t h = h0; h < h1; h++) gb_llm_rope_row(m, q + h * HS, 1, pos);
}

/* att (C): query heads [h0, h1) against keys 0..pos of layer l. */
static void attend(gb_llm *m, const worker *w, int l, const float *q, int64_t pos, int64_t h0, int64_t h1) {
    const int HS = m->HS, rep = m->NH / m->NKV;
    float *sc = m->scores + (size_t)w->t * (size_t)m->n_ctx;
    for (int64_t h = h0; h < h1; h++) gb_llm_attend_row(m, m->att + h * HS, sc, q + h * HS, l, (int)(h / rep), pos + 1);
}

/* Whether each thread can own whole kv groups: the threads divide them evenly and a head's
 * rows are whole 8-row groups of the interleaved matrices. */
static int owns_heads(const gb_llm *m, const worker *w, const gb_llm_layer *L) {
    const int x8 = L->qkv.data ? L->qkv.x8 : L->q.x8 || L->k.x8 || L->v.x8;
    return m->NKV % w->nt == 0 && (!x8 || m->HS % 8 == 0);
}

/* Attention with this thread owning kv groups [g0, g1) and their query heads: it computes
 * their rows of q, k and v, ropes them, writes their cache rows and attends with them —
 * nothing another thread writes, so no barrier until the output projection. */
static void attention_owned(gb_llm *m, worker *w, int l, const gb_llm_layer *L, int64_t pos) {
    const int64_t HS = m->HS, rep = m->NH / m->NKV, C = m->C, KVC = m->KVC;
    int64_t g0, g1;
    share(w, m->NKV, 1, &g0, &g1);
    float *q = m->q, *k = m->k, *v = m->v;
    if (L->qkv.data) {
        q = m->hb, k = q + C, v = k + KVC;
        rows(w, &L->qkv, L->qkv_b, w->xn, m->hb, g0 * rep * HS, g1 * rep * HS);
        rows(w, &L->qkv, L->qkv_b, w->xn, m->hb, C + g0 * HS, C + g1 * HS);
        rows(w, &L->qkv, L->qkv_b, w->xn, m->hb, C + KVC + g0 * HS, C + KVC + g1 * HS);
    } else {
        rows(w, &L->q, L->q_b, w->xn, q, g0 * rep * HS, g1 * rep * HS);
        rows(w, &L->k, L->k_b, w->xn, k, g0 * HS, g1 * HS);
        rows(w, &L->v, L->v_b, w->xn, v, g0 * HS, g1 * HS);
    }
    rope_and_cache(m, l, q, k, v, pos, g0, g1, g0 * rep, g1 * rep);
    attend(m, w, l, q, pos, g0 * rep, g1 * rep);
}

/* Attention with the rows of q, k, v shared out like any product's: barriers between the
 * products, rope and the cache, and the heads. */
static void attention_shared(gb_llm *m, worker *w, int l, const gb_llm_layer *L, int64_t pos) {
    float *q = m->q, *k = m->k, *v = m->v;
    if (L->qkv.data) {
        product(w, &L->qkv, L->qkv_b, w->xn, m->hb);
        q = m->hb, k = q + m->C, v = k + m->KVC;
    } else {
        product(w, &L->q, L->q_b, w->xn, q);
        product(w, &L->k, L->k_b, w->xn, k);
        product(w, &L->v, L->v_b, w->xn, v);
    }
    int64_t g0, g1, h0, h1;
    share(w, m->NKV, 1, &g0, &g1);
    share(w, m->NH, 1, &h0, &h1);
#pragma omp barrier
    rope_and_cache(m, l, q, k, v, pos, g0, g1, h0, h1);
#pragma omp barrier
    attend(m, w, l, q, pos, h0, h1);
}

gb_status gb_llm_decode(gb_llm *m, uint32_t token, int64_t pos, float *logits) {
    gb_llm_embed_row(m, m->x, token, pos);
    int nt = gb_threads_get();
    if (nt > m->n_score_threads) nt = m->n_score_threads;
    if (nt < 1) nt = 1;
    memset(m->cursors, 0, gb_llm_cursor_slots(m) * (size_t)nt * sizeof *m->cursors); /* nt a product */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num();
        float *mine = m->dec + (size_t)t * m->dec_stride;
        worker w = {t, omp_get_num_threads(), mine, mine + m->C, NULL, 0};
        for (int l = 0; l < m->n_layer; l++) {
            const gb_llm_layer *L = &m->layers[l];
            norm(m, &w, m->x, L->attn_norm_w, L->attn_norm_b);
            if (owns_heads(m, &w, L)) attention_owned(m, &w, l, L, pos);
            else attention_shared(m, &w, l, L, pos);
            gb_llm_cursor *c = m->cursors + (size_t)(3 * l) * (size_t)w.nt;
#pragma omp barrier
            residual(&w, c, m->x, &L->attn_out, L->attn_out_b, m->att, m->xb);
#pragma omp barrier
            norm(m, &w, m->x, L->ffn_norm_w, L->ffn_norm_b);
            ffn_up(m, &w, c + w.nt, L);
#pragma omp barrier
            residual(&w, c + 2 * w.nt, m->x, &L->down, L->down_b, m->hb, m->xb);
#pragma omp barrier
        }
        if (logits) {
            norm(m, &w, m->x, m->out_norm_w, m->out_norm_b);
            shared_product(&w, m->cursors + (gb_llm_cursor_slots(m) - 1) * (size_t)w.nt, &m->output, NULL, w.xn, logits);
        }
    }
    return GB_OK;
}
