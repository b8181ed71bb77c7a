/* glassbox — the inference engine: a GGUF model mapped from disk, a KV cache, and the
 * forward pass for a batch of tokens (prefill) or one token (decode).
 *
 * Load: the file is mapped (gb_gguf_open); hyper-parameters come from `general.architecture`
 * and the `<arch>.*` keys of the GGUF conventions; matrices stay in the mapping in their
 * stored type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K) and are multiplied in place; 1-D
 * tensors (norms, biases) that are not F32 are converted once. `output.weight` absent means
 * the output projection is token_embd (tied). Fused `attn_qkv` (gpt2) and separate
 * `attn_q/k/v` (llama) are both accepted for either architecture. RoPE scaling as llama.cpp
 * applies it: linear (`rope.scaling.factor`) and per-dimension `rope_freqs.weight`, folded into
 * the cos/sin tables at load; other scaling types are refused (read_rope_scaling).
 *
 * Eval, per block (x is the residual stream, rows = tokens of the batch):
 *   xb = norm(x); q,k,v = xb·Wᵀ (+b); rope(q, k) (llama); cache[pos..] = k, v
 *   att = softmax(q·Kᵀ/√HS, causal over the cache) · V;  x += att·Woᵀ (+b)
 *   xb = norm(x); x += down(gelu(up xb))  or  down(silu(gate xb) · up xb)
 * then logits = norm(x)·Woutᵀ. Decode (one token) runs in llm_decode.c, the threads in one
 * parallel region for the whole token; a batch of a few rows multiplies through
 * gb_quant_matmul (one dot product per weight row and activation row), a larger batch through
 * gb_gemm_forward (F32), gb_quant_gemm (the integer types) or, for F16/BF16, gb_sgemm on
 * panels of weight rows dequantized into a scratch buffer (each weight byte is read once per
 * batch, and the fp32 GEMM runs near its peak). The KV cache keeps each kv head's positions
 * contiguous (gb_llm_kv_head), so attention reads a head's history as one stream. Attention
 * splits (token, head) pairs over threads by fixed ranges; every output element is summed by
 * one thread in a fixed order, so the bits do not depend on thread timing. Every buffer is
 * sized at load: eval allocates nothing. */
#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/kernels.h"
#include "core/quant.h"
#include "core/quant_x8.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/mem.h"
#include "glassbox/sys.h"
#include "infer/llm_internal.h"

#define N_BATCH 512           /* rows per pass of eval at most; longer inputs run in chunks */
#define ACT_BUDGET ((size_t)32 << 20) /* bytes of per-row activation buffers (batch_rows) */
#define SCORE_FLOATS ((size_t)2 << 20) /* the prefill score matrix: 8 MiB */

static size_t score_floats = SCORE_FLOATS;
void gb_llm_test_score_floats(size_t n) { score_floats = n ? n : SCORE_FLOATS; }
#define GEMM_MIN_ROWS 8       /* batches this large go through GEMMs (prefill), smaller ones through dot products */
#define DEQ_PANEL_FLOATS (1 << 20) /* 4 MiB panel of dequantized weight rows */
#define MAX_OWNED 8192

/* ---------------------------------------------------------------- loading */

/* Flawfinder: ignore — format(printf) + -Wformat=2 check every caller's literal */
static gb_status fmt_err(const gb_llm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static gb_status fmt_err(const gb_llm *m, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* Flawfinder: ignore (fmt checked at each call site) */
    va_end(ap);
    return gb_errorf(GB_ERR_FORMAT, "%s: %s", gb_gguf_path(m->g), msg);
}

static const char *type_name(uint32_t t) {
    const char *n = gb_ggml_type_name(t);
    return n ? n : "unknown";
}

/* A 2-D weight (rows, cols) = ne (cols, rows). Missing and !required: out->data = NULL. */
static gb_status get_mat(gb_llm *m, gb_llm_mat *out, const char *name, int64_t rows, int64_t cols,
                         int required) {
    memset(out, 0, sizeof *out);
    const gb_gguf_tensor *t = gb_gguf_find_tensor(m->g, name);
    if (!t) return required ? fmt_err(m, "tensor %s is missing", name) : GB_OK;
    if (!gb_quant_supported(t->type))
        return fmt_err(m, "tensor %s has type %s, which glassbox cannot run (supported: F32, F16, "
                          "BF16, Q8_0, Q4_0, Q4_K, Q6_K)", name, type_name(t->type));
    if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows) {
        char want[96];
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)cols, (long long)rows);
        return fmt_err(m, "tensor %s should have shape %s", name, want);
    }
    out->data = t->data;
    out->type = t->type;
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = gb_quant_row_size(t->type, cols);
    m->weight_bytes += t->nbytes;
    m->n_params += t->n_elements;
    return GB_OK;
}

/* A 1-D tensor of n floats, owned and F32. Copied even when the file stores F32: eval reading a
 * few floats in the mapping can map a whole large folio of the page cache around them (up to
 * 2 MiB), pages of matrices re-laid and dropped at load — 53 MiB more resident on the 1.1B Q4_K
 * layout, its peak RSS over the bound. The copy faults at load, before those drops. */
static gb_status get_vec(gb_llm *m, const float **out, const char *name, int64_t n, int required) {
    *out = NULL;
    const gb_gguf_tensor *t = gb_gguf_find_tensor(m->g, name);
    if (!t) return required ? fmt_err(m, "tensor %s is missing", name) : GB_OK;
    if (!gb_quant_supported(t->type))
        return fmt_err(m, "tensor %s has type %s, which glassbox cannot run", name, type_name(t->type));
    if (t->n_elements != n || t->ne[0] != n) {
        char want[48];
        snprintf(want, sizeof want, "[%lld]", (long long)n);
        return fmt_err(m, "tensor %s should have shape %s", name, want);
    }
    m->weight_bytes += t->nbytes;
    m->n_params += t->n_elements;
    if (m->n_owned == MAX_OWNED) return fmt_err(m, "too many tensors");
    float *p = gb_alloc((size_t)n * sizeof(float));
    if (!p) return gb_errorf(GB_ERR_NOMEM, "out of memory reading %s", name);
    m->owned[m->n_owned++] = p;
    if (t->type == GB_GGML_F32) memcpy(p, t->data, (size_t)n * sizeof(float));
    else {
        gb_status rc = gb_quant_dequantize_row(t->type, p, t->data, n);
        if (rc) return rc;
    }
    *out = p;
    return GB_OK;
}

/* Whether a matrix of this type moves into the arena as it is, rows in the file's order: F32,
 * whose decode kernel reads a row as one stream and gains from the huge pages alone (decode at
 * 2 threads, alternated with the file's pages: 110M 1.03x, 1.1B 1.10x; interleaved by 8 rows
 * like F16 it was no faster), and whose prefill GEMM reads the same layout. */
static int moves_as_is(uint32_t type) { return type == GB_GGML_F32; }

/* Whether the matrices can share one re-laid buffer: present, of one type, interleavable or
 * moved as they are. */
static int can_fuse(const gb_llm_mat *const *w, int n) {
    for (int i = 0; i < n; i++)
        if (!w[i]->data || w[i]->type != w[0]->type || w[i]->cols != w[0]->cols ||
            !(moves_as_is(w[i]->type) || gb_quant_x8_supported(w[i]->type, w[i]->rows, w[i]->cols)))
            return 0;
    return 1;
}

/* Whether w already lives in the arena (re-laid alone or as part of a fused matrix). */
static int in_arena(const gb_llm *m, const gb_llm_mat *w) {
    const char *p = w->data;
    return m->x8_arena && p >= m->x8_arena && p < m->x8_arena + m->x8_bytes;
}

/* b bytes from src to dst by the threads, in 2 MiB pieces (a 1.1B F32 output matrix is 262 MB). */
static void copy_parallel(char *restrict dst, const char *restrict src, size_t b) {
    const size_t piece = (size_t)2 << 20, n = (b + piece - 1) / piece;
    int nt = gb_threads_get();
    if (nt < 1) nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && n > 1)
    for (size_t i = 0; i < n; i++) memcpy(dst + i * piece, src + i * piece, i + 1 < n ? piece : b - i * piece);
}

/* Matrices w[0..n) re-laid, one after another, at the arena's next free byte; *fused (if not
 * NULL) then describes them as a whole, and each w[i] points at its part. The file's pages of
 * each are dropped once it is copied. */
static gb_status relay(gb_llm *m, gb_llm_mat *const *w, int n, gb_llm_mat *fused) {
    int64_t rows = 0;
    for (int i = 0; i < n; i++) rows += w[i]->rows;
    const size_t rb = w[0]->row_bytes;
    if ((size_t)rows * rb > m->x8_cap - m->x8_bytes) return fmt_err(m, "re-laid matrices outgrow their plan%s", "");
    char *p = m->x8_arena + m->x8_bytes;
    const int x8 = !moves_as_is(w[0]->type);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        const size_t b = (size_t)w[i]->rows * rb;
        if (x8) {
            gb_status rc = gb_quant_x8_pack(w[i]->type, p + off, w[i]->data, w[i]->rows, w[i]->cols);
            if (rc) return rc;
        } else {
            copy_parallel(p + off, w[i]->data, b);
        }
        gb_gguf_drop_pages(m->g, w[i]->data, b);
        w[i]->data = p + off, w[i]->x8 = x8;
        off += b;
    }
    if (fused) *fused = (gb_llm_mat){p, w[0]->type, rows, w[0]->cols, rb, x8};
    m->x8_bytes += off;
    return GB_OK;
}

static int repack_on = 1;
void gb_llm_set_repack(int on) { repack_on = on != 0; }

static uint32_t kv_type_next = GB_GGML_F16;
gb_status gb_llm_set_kv_type(uint32_t type) {
    if (type != GB_GGML_F16 && type != GB_GGML_F32)
        return gb_errorf(GB_ERR_ARG, "the KV cache holds f16 or f32, not %s", type_name(type));
    kv_type_next = type;
    return GB_OK;
}

/* The bytes of the matrices repack re-lays: every one decode multiplies whose type and shape
 * allow it (fused or alone, each is copied once). */
static size_t relay_bytes(const gb_llm *m) {
    size_t bytes = 0;
    if (!m->tied && can_fuse((const gb_llm_mat *[]){&m->output}, 1)) bytes += (size_t)m->output.rows * m->output.row_bytes;
    for (int l = 0; l < m->n_layer; l++) {
        const gb_llm_layer *L = &m->layers[l];
        const gb_llm_mat *all[] = {&L->qkv, &L->q, &L->k, &L->v, &L->attn_out, &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (can_fuse(&all[i], 1)) bytes += (size_t)all[i]->rows * all[i]->row_bytes;
    }
    return bytes;
}

/* The matrices decode multiplies, re-laid interleaved by 8 rows where their type and shape
 * allow (F32 moved as it is), into one arena of transparent huge pages where the kernel has
 * them: a token streams every page of it, and with 4 KiB pages each is a TLB miss (decode at
 * 2 threads, alternated with 4 KiB pages in one process: 110M layout 1.03-1.07x, 1.1B
 * 0.98-1.03x). q, k, v become one fused qkv matrix (one product instead of three, as
 * gpt2's), and gate and up share a buffer that decode multiplies in one product. Not the
 * embedding table, which is read by rows, nor a tied output that is that same tensor. */
static gb_status repack(gb_llm *m) {
    if (!repack_on || !strcmp(gb_quant_kernel_name(), "scalar")) return GB_OK;
    const size_t need = relay_bytes(m);
    if (!need) return GB_OK;
    if (m->n_owned == MAX_OWNED) return fmt_err(m, "too many tensors");
    m->x8_arena = gb_alloc_huge(need);
    if (!m->x8_arena) return gb_errorf(GB_ERR_NOMEM, "%s: out of memory re-laying the weights", gb_gguf_path(m->g));
    m->owned[m->n_owned++] = m->x8_arena;
    m->x8_cap = need;
    gb_status rc;
    if (!m->tied && can_fuse((const gb_llm_mat *[]){&m->output}, 1) &&
        (rc = relay(m, (gb_llm_mat *[]){&m->output}, 1, NULL)))
        return rc;
    for (int l = 0; l < m->n_layer; l++) {
        gb_llm_layer *L = &m->layers[l];
        gb_llm_mat *qkv[] = {&L->q, &L->k, &L->v}, *gu[] = {&L->gate, &L->up};
        if (!L->q_b && !L->k_b && !L->v_b && can_fuse((const gb_llm_mat *const *)qkv, 3)) {
            if ((rc = relay(m, qkv, 3, &L->qkv))) return rc;
            L->q.data = L->k.data = L->v.data = NULL; /* eval takes the fused path */
        }
        if (!L->gate_b && !L->up_b && can_fuse((const gb_llm_mat *const *)gu, 2) && (rc = relay(m, gu, 2, &L->gate_up)))
            return rc;
        gb_llm_mat *one[] = {&L->qkv, &L->q, &L->k, &L->v, &L->attn_out, &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
            if (!in_arena(m, one[i]) && can_fuse((const gb_llm_mat *const *)&one[i], 1) &&
                (rc = relay(m, &one[i], 1, NULL)))
                return rc;
    }
    return GB_OK;
}

static gb_status blk_mat(gb_llm *m, gb_llm_mat *out, int l, const char *what, int64_t rows, int64_t cols,
                         int required) {
    char name[64];
    snprintf(name, sizeof name, "blk.%d.%s", l, what);
    return get_mat(m, out, name, rows, cols, required);
}
static gb_status blk_vec(gb_llm *m, const float **out, int l, const char *what, int64_t n, int required) {
    char name[64];
    snprintf(name, sizeof name, "blk.%d.%s", l, what);
    return get_vec(m, out, name, n, required);
}

/* `<arch>.key` as an integer in [lo, hi]; def < lo means required. */
static gb_status hp_int(gb_llm *m, const char *key, int64_t lo, int64_t hi, int64_t def, int64_t *out) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch, key);
    if (gb_gguf_find_key(m->g, full) < 0) {
        if (def < lo) return fmt_err(m, "metadata key %s is missing%s", full, "");
        *out = def;
        return GB_OK;
    }
    gb_status rc = gb_gguf_get_int(m->g, full, out);
    if (rc) return rc;
    if (*out < lo || *out > hi) return fmt_err(m, "metadata %s is out of range%s", full, "");
    return GB_OK;
}

static gb_status hp_float(gb_llm *m, const char *key, double def, float *out) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch, key);
    double v = def;
    if (gb_gguf_find_key(m->g, full) >= 0) {
        gb_status rc = gb_gguf_get_float(m->g, full, &v);
        if (rc) return rc;
    }
    if (!isfinite(v) || v <= 0 || v > 1e30) return fmt_err(m, "metadata %s is out of range%s", full, "");
    *out = (float)v;
    return GB_OK;
}

/* RoPE scaling as llama.cpp reads it (llama-model.cpp load_hparams, llama-context.cpp): an
 * absent rope.scaling.type means "linear"; the factor is rope.scaling.factor, else the older
 * rope.scale_linear, 0 or absent meaning 1; freq_scale = 1/factor, and "none" forces it to 1.
 * Angles are then pos·freq_scale·base^(-2i/d) (ggml's rope_yarn with ext_factor 0). "yarn",
 * "longrope" and anything else need more than freq_scale: refused, as is an attn_factor != 1
 * (it scales cos and sin). */
static gb_status read_rope_scaling(gb_llm *m) {
    char key[128];
    gb_status rc;
    m->rope_scaling = "linear";
    m->rope_freq_scale = 1.0f;
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch);
    if (gb_gguf_find_key(m->g, key) >= 0) {
        gb_gguf_str st;
        if ((rc = gb_gguf_get_str(m->g, key, &st))) return rc;
        if (gb_gguf_str_eq(st, "none")) m->rope_scaling = "none";
        else if (!gb_gguf_str_eq(st, "linear")) {
            char got[40];
            size_t n = 0;
            for (; n < st.len && n < 32; n++) got[n] = st.ptr[n] > 32 && st.ptr[n] < 127 ? st.ptr[n] : '?';
            got[n] = 0;
            return fmt_err(m, "%s = '%s': %s RoPE scaling is not supported (glassbox applies none, linear and "
                              "rope_freqs.weight)", key, got, gb_gguf_str_eq(st, "yarn") ? "YaRN" : "this type of");
        }
    }
    static const char *const factor_keys[] = {"rope.scaling.factor", "rope.scale_linear"};
    for (int k = 0; k < 2; k++) {
        snprintf(key, sizeof key, "%s.%s", m->arch, factor_keys[k]);
        if (gb_gguf_find_key(m->g, key) < 0) continue;
        double f;
        if ((rc = gb_gguf_get_float(m->g, key, &f))) return rc;
        if (!isfinite(f) || f < 0 || f > 1e6) return fmt_err(m, "metadata %s = %g is out of range (0 or a factor > 0)", key, f);
        if (f > 0 && strcmp(m->rope_scaling, "none") != 0)
            m->rope_freq_scale = 1.0f / (float)f;
        break;
    }
    snprintf(key, sizeof key, "%s.rope.scaling.attn_factor", m->arch);
    if (gb_gguf_find_key(m->g, key) >= 0) {
        double af;
        if ((rc = gb_gguf_get_float(m->g, key, &af))) return rc;
        if (af != 1.0) return fmt_err(m, "%s = %g: a RoPE attention factor other than 1 is not supported", key, af);
    }
    return GB_OK;
}

static gb_status read_hparams(gb_llm *m) {
    gb_gguf_str a;
    gb_status rc = gb_gguf_get_str(m->g, "general.architecture", &a);
    if (rc) return rc;
    if (gb_gguf_str_eq(a, "llama")) m->is_llama = 1;
    else if (!gb_gguf_str_eq(a, "gpt2")) {
        char got[40];
        snprintf(got, sizeof got, "%.*s", (int)(a.len < 32 ? a.len : 32), a.ptr);
        return fmt_err(m, "unknown architecture '%s' (glassbox runs: gpt2, llama)%s", got, "");
    }
    snprintf(m->arch, sizeof m->arch, "%s", m->is_llama ? "llama" : "gpt2");
    int64_t v;
    if ((rc = hp_int(m, "block_count", 1, 4096, -1, &v))) return rc;
    m->n_layer = (int)v;
    if ((rc = hp_int(m, "embedding_length", 1, 1 << 18, -1, &v))) return rc;
    m->C = (int)v;
    if ((rc = hp_int(m, "feed_forward_length", 1, 1 << 20, -1, &v))) return rc;
    m->F = (int)v;
    if ((rc = hp_int(m, "attention.head_count", 1, 4096, -1, &v))) return rc;
    m->NH = (int)v;
    if ((rc = hp_int(m, "attention.head_count_kv", 1, 4096, m->NH, &v))) return rc;
    m->NKV = (int)v;
    if ((rc = hp_int(m, "context_length", 1, 1 << 22, -1, &m->n_ctx_train))) return rc;
    if (m->C % m->NH) return fmt_err(m, "head_count does not divide embedding_length");
    if (m->NH % m->NKV) return fmt_err(m, "head_count_kv does not divide head_count");
    m->HS = m->C / m->NH;
    m->KVC = m->NKV * m->HS;
    m->norm_rms = m->is_llama;
    m->rope = m->is_llama;
    m->swiglu = m->is_llama;
    if (m->is_llama) {
        if ((rc = hp_float(m, "attention.layer_norm_rms_epsilon", 1e-5, &m->eps))) return rc;
        if ((rc = hp_float(m, "rope.freq_base", 10000.0, &m->rope_theta))) return rc;
        if ((rc = hp_int(m, "rope.dimension_count", 2, m->HS, m->HS, &v))) return rc;
        if (v % 2) return fmt_err(m, "rope.dimension_count is odd");
        m->rope_dim = (int)v;
        if ((rc = read_rope_scaling(m))) return rc;
    } else {
        if ((rc = hp_float(m, "attention.layer_norm_epsilon", 1e-5, &m->eps))) return rc;
    }
    return GB_OK;
}

/* rope_freqs.weight (Llama 3.1's per-dimension factors, as llama.cpp's LLM_TENSOR_ROPE_FREQS):
 * optional, F32 of shape [rope_dim/2]; ggml divides the angle of pair i by element i. */
static gb_status get_rope_freqs(gb_llm *m) {
    const char *name = "rope_freqs.weight";
    const gb_gguf_tensor *t = gb_gguf_find_tensor(m->g, name);
    if (!t) return GB_OK;
    const int64_t half = m->rope_dim / 2;
    if (t->type != GB_GGML_F32 || t->n_dims != 1 || t->ne[0] != half) {
        char got[96] = "[";
        for (int d = 0; d < (int)t->n_dims && d < 4; d++) {
            size_t o = strlen(got);
            snprintf(got + o, sizeof got - o, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
        }
        size_t o = strlen(got);
        snprintf(got + o, sizeof got - o, "]");
        return fmt_err(m, "tensor %s should be F32 of shape [%lld] (rope.dimension_count / 2), not %s %s", name,
                       (long long)half, type_name(t->type), got);
    }
    const float *f = t->data;
    for (int64_t i = 0; i < half; i++)
        if (!isfinite(f[i]) || !(f[i] > 0))
            return fmt_err(m, "tensor %s: element %lld is %g; frequency factors must be finite and > 0", name,
                           (long long)i, (double)f[i]);
    m->rope_freqs = f;
    m->weight_bytes += t->nbytes;
    m->n_params += t->n_elements;
    return GB_OK;
}

static gb_status map_tensors(gb_llm *m) {
    gb_status rc;
    if (m->rope && (rc = get_rope_freqs(m))) return rc;
    const gb_gguf_tensor *te = gb_gguf_find_tensor(m->g, "token_embd.weight");
    if (!te) return fmt_err(m, "tensor %s is missing", "token_embd.weight");
    if (te->n_dims != 2 || te->ne[0] != m->C || te->ne[1] < 1 || te->ne[1] > (1 << 24))
        return fmt_err(m, "tensor %s should have shape [embedding_length, n_vocab]%s", "token_embd.weight", "");
    m->V = (int)te->ne[1];
    const int64_t C = m->C, F = m->F, KVC = m->KVC, V = m->V;
    if ((rc = get_mat(m, &m->token_embd, "token_embd.weight", V, C, 1))) return rc;
    if (!m->rope && (rc = get_mat(m, &m->position_embd, "position_embd.weight", m->n_ctx_train, C, 1))) return rc;
    if ((rc = get_vec(m, &m->out_norm_w, "output_norm.weight", C, 1)) ||
        (rc = get_vec(m, &m->out_norm_b, "output_norm.bias", C, 0)) ||
        (rc = get_mat(m, &m->output, "output.weight", V, C, 0)))
        return rc;
    if (!m->output.data) {
        m->output = m->token_embd;
        m->tied = 1;
    }
    for (int l = 0; l < m->n_layer; l++) {
        gb_llm_layer *L = &m->layers[l];
        if ((rc = blk_vec(m, &L->attn_norm_w, l, "attn_norm.weight", C, 1)) ||
            (rc = blk_vec(m, &L->attn_norm_b, l, "attn_norm.bias", C, 0)) ||
            (rc = blk_mat(m, &L->qkv, l, "attn_qkv.weight", C + 2 * KVC, C, 0)))
            return rc;
        if (L->qkv.data) {
            if ((rc = blk_vec(m, &L->qkv_b, l, "attn_qkv.bias", C + 2 * KVC, 0))) return rc;
        } else if ((rc = blk_mat(m, &L->q, l, "attn_q.weight", C, C, 1)) ||
                   (rc = blk_mat(m, &L->k, l, "attn_k.weight", KVC, C, 1)) ||
                   (rc = blk_mat(m, &L->v, l, "attn_v.weight", KVC, C, 1)) ||
                   (rc = blk_vec(m, &L->q_b, l, "attn_q.bias", C, 0)) ||
                   (rc = blk_vec(m, &L->k_b, l, "attn_k.bias", KVC, 0)) ||
                   (rc = blk_vec(m, &L->v_b, l, "attn_v.bias", KVC, 0)))
            return rc;
        if ((rc = blk_mat(m, &L->attn_out, l, "attn_output.weight", C, C, 1)) ||
            (rc = blk_vec(m, &L->attn_out_b, l, "attn_output.bias", C, 0)) ||
            (rc = blk_vec(m, &L->ffn_norm_w, l, "ffn_norm.weight", C, 1)) ||
            (rc = blk_vec(m, &L->ffn_norm_b, l, "ffn_norm.bias", C, 0)) ||
            (rc = blk_mat(m, &L->up, l, "ffn_up.weight", F, C, 1)) ||
            (rc = blk_vec(m, &L->up_b, l, "ffn_up.bias", F, 0)) ||
            (rc = blk_mat(m, &L->down, l, "ffn_down.weight", C, F, 1)) ||
            (rc = blk_vec(m, &L->down_b, l, "ffn_down.bias", C, 0)))
            return rc;
        if (m->swiglu && ((rc = blk_mat(m, &L->gate, l, "ffn_gate.weight", F, C, 1)) ||
                          (rc = blk_vec(m, &L->gate_b, l, "ffn_gate.bias", F, 0))))
            return rc;
    }
    return GB_OK;
}

/* n floats, in huge pages if asked (gb_alloc_huge); NULL and *rc set if they cannot be had. */
static float *alloc_floats(gb_llm *m, size_t n, int huge, gb_status *rc) {
    if (*rc) return NULL;
    size_t bytes;
    float *p = gb_mul_ok(n ? n : 1, sizeof(float), &bytes) ? (huge ? gb_alloc_huge(bytes) : gb_alloc(bytes)) : NULL;
    if (!p) {
        *rc = gb_errorf(GB_ERR_NOMEM, "%s: not enough memory for the KV cache and buffers (%zu floats)",
                        gb_gguf_path(m->g), n);
        return NULL;
    }
    return p;
}

static float *alloc_f(gb_llm *m, size_t n, gb_status *rc) { return alloc_floats(m, n, 0, rc); }

/* Whether a prefill multiplies an F16/BF16 matrix (those go through dequantized fp32 panels). */
static int needs_deq_panel(const gb_llm *m) {
    const gb_llm_mat *out = &m->output;
    int any = out->type == GB_GGML_F16 || out->type == GB_GGML_BF16;
    for (int l = 0; l < m->n_layer; l++) {
        const gb_llm_layer *L = &m->layers[l];
        const gb_llm_mat *mats[] = {&L->qkv, &L->q, &L->k, &L->v, &L->attn_out, &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            any |= mats[i]->data && (mats[i]->type == GB_GGML_F16 || mats[i]->type == GB_GGML_BF16);
    }
    return any;
}

/* Rows per pass: at most N_BATCH, and few enough that the activation buffers below stay within
 * ACT_BUDGET bytes (at least 32 rows), so peak memory is the file + KV cache + a bounded
 * scratch whatever the model's width. */
static int64_t batch_rows(const gb_llm *m) {
    const size_t C = (size_t)m->C, F = (size_t)m->F, KVC = (size_t)m->KVC;
    const size_t qkv = C + 2 * KVC, hb = 2 * F > qkv ? 2 * F : qkv;
    const size_t row = sizeof(float) * (4 * C + 2 * KVC + hb + F + 2);
    int64_t b = (int64_t)(ACT_BUDGET / row);
    if (b < 32) b = 32;
    if (b > N_BATCH) b = N_BATCH;
    return m->n_ctx < b ? m->n_ctx : b;
}

static gb_status alloc_state(gb_llm *m) {
    gb_status rc = GB_OK;
    const size_t B = (size_t)m->n_batch, C = (size_t)m->C, F = (size_t)m->F, KVC = (size_t)m->KVC;
    size_t qkv = C + 2 * KVC, hb = 2 * F > qkv ? 2 * F : qkv;
    size_t kv = (size_t)m->n_layer * (size_t)m->n_ctx * KVC; /* elements */
    m->kv_type = kv_type_next;
    const size_t kv_floats = (kv * gb_llm_kv_esize(m) + sizeof(float) - 1) / sizeof(float);
    m->k_cache = alloc_floats(m, kv_floats, 1, &rc); /* each head's keys are a short stream */
    m->v_cache = alloc_floats(m, kv_floats, 1, &rc);
    if (m->kv_type == GB_GGML_F16) m->kv_f32 = alloc_f(m, 2 * (size_t)m->n_ctx * (size_t)m->HS, &rc);
    m->x = alloc_f(m, B * C, &rc);
    m->xb = alloc_f(m, B * C, &rc);
    m->q = alloc_f(m, B * C, &rc);
    m->k = alloc_f(m, B * KVC, &rc);
    m->v = alloc_f(m, B * KVC, &rc);
    m->att = alloc_f(m, B * C, &rc);
    m->hb = alloc_f(m, B * hb, &rc);
    m->hb2 = alloc_f(m, B * F, &rc);
    m->stat = alloc_f(m, 2 * B, &rc);
    m->n_score_threads = omp_get_max_threads();
    if (m->n_score_threads < gb_cores()) m->n_score_threads = gb_cores();
    if (m->n_score_threads < 1) m->n_score_threads = 1;
    /* prefill attention by GEMM takes its query rows in chunks whose (rows, n_ctx) score matrix
     * fits SCORE_FLOATS; a context too long for chunks of GEMM_MIN_ROWS uses per-row loops */
    size_t n_sc = (size_t)m->n_score_threads * (size_t)m->n_ctx;
    const size_t cap = score_floats / (size_t)m->n_ctx, gemm_sc = (B < cap ? B : cap) * (size_t)m->n_ctx;
    m->gemm_attention = gemm_sc >= GEMM_MIN_ROWS * (size_t)m->n_ctx;
    m->score_rows = (int64_t)(gemm_sc / (size_t)m->n_ctx);
    if (m->gemm_attention && gemm_sc > n_sc) n_sc = gemm_sc;
    m->scores = alloc_f(m, n_sc, &rc);
    /* decode's per-thread scratch (llm_decode.c): the normed row, then activations of up to
     * max(C, F) elements prepared for a product (at most 4 bytes an element + 64) */
    const size_t up16 = (C + 15) / 16 * 16, in_max = C > F ? C : F;
    m->dec_stride = up16 + (in_max + 16 + 15) / 16 * 16;
    m->dec = alloc_f(m, (size_t)m->n_score_threads * m->dec_stride, &rc);
    m->cursors = rc ? NULL : gb_calloc(gb_llm_cursor_slots(m) * (size_t)m->n_score_threads, sizeof(gb_llm_cursor));
    if (!rc && !m->cursors) rc = gb_errorf(GB_ERR_NOMEM, "%s: not enough memory for decode's cursors", gb_gguf_path(m->g));
    if (needs_deq_panel(m)) {
        m->deq_floats = DEQ_PANEL_FLOATS > (size_t)m->F * 16 ? DEQ_PANEL_FLOATS : (size_t)m->F * 16;
        m->deq = alloc_f(m, m->deq_floats, &rc);
    }
    if (m->rope) {
        size_t half = (size_t)m->rope_dim / 2;
        m->rope_cos = alloc_f(m, (size_t)m->n_ctx * half, &rc);
        m->rope_sin = alloc_f(m, (size_t)m->n_ctx * half, &rc);
        if (rc) return rc;
        /* in double, as the training model's tables; angle = pos·freq_scale·base^(-2i/d) / ff_i
         * (ggml's rope with ext_factor 0). Left to right, so that with freq_scale 1/2 position
         * 2p gives position p's bits, and ff_i = 2 gives freq_scale 1/2's. */
        const double fs = (double)m->rope_freq_scale;
        for (int64_t t = 0; t < m->n_ctx; t++)
            for (size_t i = 0; i < half; i++) {
                double freq = pow((double)m->rope_theta, -2.0 * (double)i / m->rope_dim);
                double a = (double)t * fs * freq;
                if (m->rope_freqs) a /= (double)m->rope_freqs[i];
                m->rope_cos[(size_t)t * half + i] = (float)cos(a);
                m->rope_sin[(size_t)t * half + i] = (float)sin(a);
            }
    }
    if (!rc) memset(m->k_cache, 0, kv_floats * sizeof(float)), memset(m->v_cache, 0, kv_floats * sizeof(float));
    return rc;
}

/* Everything after the file is open (m->g set): hyper-parameters, tensors, tokenizer, state. */
static gb_status load_opened(gb_llm *m, const char *path, int64_t n_ctx) {
    gb_status rc;
    if ((rc = read_hparams(m))) return rc;
    if (!(m->layers = calloc((size_t)m->n_layer, sizeof *m->layers))) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    if ((rc = map_tensors(m))) return rc;
    if (n_ctx < 0 || n_ctx > m->n_ctx_train)
        return gb_errorf(GB_ERR_ARG, "%s: a context of %lld is longer than the model's %lld", path, (long long)n_ctx,
                         (long long)m->n_ctx_train);
    m->n_ctx = n_ctx ? n_ctx : m->n_ctx_train;
    m->n_batch = batch_rows(m);
    if ((rc = repack(m))) return rc;
    if (gb_gguf_find_key(m->g, "tokenizer.ggml.model") >= 0) {
        if ((rc = gb_tokenizer_load_gguf(&m->tok, m->g))) return rc;
        if (gb_tokenizer_vocab_size(m->tok) > m->V)
            return gb_errorf(GB_ERR_FORMAT, "%s: the tokenizer's %lld tokens do not fit the model's vocabulary of %d",
                             path, (long long)gb_tokenizer_vocab_size(m->tok), m->V);
    }
    return alloc_state(m);
}

static gb_status load(gb_llm **out, const char *path, const void *data, size_t len, int64_t n_ctx) {
    *out = NULL;
    gb_llm *m = calloc(1, sizeof *m);
    if (!m) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    m->owned = calloc(MAX_OWNED, sizeof *m->owned);
    if (!m->owned) {
        free(m);
        return gb_errorf(GB_ERR_NOMEM, "out of memory");
    }
    gb_status rc = data ? gb_gguf_open_mem(&m->g, data, len, path) : gb_gguf_open(&m->g, path);
    if (!rc) rc = load_opened(m, path, n_ctx);
    if (rc) gb_llm_free(m);
    else *out = m;
    return rc;
}

gb_status gb_llm_load(gb_llm **out, const char *path, int64_t n_ctx) { return load(out, path, NULL, 0, n_ctx); }

gb_status gb_llm_load_mem(gb_llm **out, const void *data, size_t len, const char *name, int64_t n_ctx) {
    return load(out, name, data, len, n_ctx);
}

void gb_llm_free(gb_llm *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) gb_free(m->owned[i]);
    free(m->owned);
    gb_free(m->k_cache), gb_free(m->v_cache), gb_free(m->kv_f32), gb_free(m->x), gb_free(m->xb), gb_free(m->q);
    gb_free(m->k), gb_free(m->v), gb_free(m->att), gb_free(m->hb), gb_free(m->hb2);
    gb_free(m->stat), gb_free(m->scores), gb_free(m->dec), gb_free(m->cursors), gb_free(m->deq), gb_free(m->rope_cos), gb_free(m->rope_sin);
    free(m->layers);
    gb_tokenizer_free(m->tok);
    gb_gguf_close(m->g);
    free(m);
}

const gb_tokenizer *gb_llm_tokenizer(const gb_llm *m) { return m->tok; }
int64_t gb_llm_n_ctx(const gb_llm *m) { return m->n_ctx; }
int64_t gb_llm_n_vocab(const gb_llm *m) { return m->V; }
const char *gb_llm_arch(const gb_llm *m) { return m->arch; }
int64_t gb_llm_bos(const gb_llm *m) { return m->tok ? gb_tokenizer_bos_id(m->tok) : -1; }
int64_t gb_llm_eos(const gb_llm *m) { return m->tok ? gb_tokenizer_eos_id(m->tok) : -1; }
int gb_llm_add_bos(const gb_llm *m) { return m->tok && gb_tokenizer_add_bos(m->tok) && gb_llm_bos(m) >= 0; }

void gb_llm_get_info(const gb_llm *m, gb_llm_info *out) {
    memset(out, 0, sizeof *out);
    out->n_layer = m->n_layer;
    out->n_head = m->NH;
    out->n_kv_head = m->NKV;
    out->d_model = m->C;
    out->d_ff = m->F;
    out->n_params = m->n_params;
    out->file_bytes = gb_gguf_file_size(m->g);
    /* per decoded token: every tensor but the embedding tables (one row each) */
    uint64_t emb = m->token_embd.row_bytes * (uint64_t)m->V;
    uint64_t pos = m->position_embd.data ? m->position_embd.row_bytes * (uint64_t)m->n_ctx_train : 0;
    out->weight_bytes_per_token = m->weight_bytes - emb - pos + (m->tied ? emb : 0);
    out->kv_bytes_per_pos = 2 * (uint64_t)m->n_layer * (uint64_t)m->KVC * gb_llm_kv_esize(m);
    out->kv_type = m->kv_type;
    out->rope_scaling = m->rope ? m->rope_scaling : "none";
    out->rope_freq_scale = m->rope ? m->rope_freq_scale : 1.0f;
    out->rope_freqs = m->rope_freqs != NULL;
    out->repacked_bytes = m->x8_bytes;
}

/* ---------------------------------------------------------------- eval */

static int n_threads(void) {
    int nt = gb_threads_get();
    return nt < 1 ? 1 : nt;
}

/* out (M, w.rows) = in (M, w.cols) · Wᵀ + b */
static gb_status linear(gb_llm *m, float *out, const float *in, const gb_llm_mat *w, const float *b, int64_t M) {
    const int64_t N = w->rows, K = w->cols;
    if (w->type == GB_GGML_F32 && M > 1) {
        gb_gemm_forward(out, in, w->data, b, M, K, N);
        return GB_OK;
    }
    if (w->x8 && (M < GEMM_MIN_ROWS || gb_quant_gemm_supported(w->type))) { /* interleaved by 8 rows (quant_x8.h) */
        gb_status rc = M < GEMM_MIN_ROWS ? gb_quant_x8_matmul(w->type, w->data, in, out, M, N, K)
                                         : gb_quant_gemm_x8(w->type, w->data, in, out, M, N, K);
        if (rc) return rc;
    } else if (M < GEMM_MIN_ROWS) {
        gb_status rc = gb_quant_matmul(w->type, w->data, in, out, M, N, K);
        if (rc) return rc;
    } else if (gb_quant_gemm_supported(w->type)) {
        /* integer products: faster than dequantizing to fp32 (src/core/quant_gemm.c) */
        gb_status rc = gb_quant_gemm(w->type, w->data, in, out, M, N, K);
        if (rc) return rc;
    } else {
        /* panels of weight rows dequantized once, multiplied by every activation row (F16
         * interleaved for decode is read back out of its groups: the same floats) */
        int64_t pr = (int64_t)(m->deq_floats / (size_t)K);
        pr = pr >= 16 ? pr / 16 * 16 : pr;
        if (pr > N) pr = N;
        const int nt = n_threads();
        for (int64_t r0 = 0; r0 < N; r0 += pr) {
            const int64_t r1 = r0 + pr < N ? r0 + pr : N;
            const char *src = (const char *)w->data;
            float *deq = m->deq;
            const uint32_t type = w->type;
            const size_t rb = w->row_bytes;
            const int x8 = w->x8;
            if (x8) { /* a group of 8 rows at a time */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
                for (int64_t g = r0 / 8; g < (r1 + 7) / 8; g++) {
                    const int64_t a = 8 * g > r0 ? 8 * g : r0, e = 8 * g + 8 < r1 ? 8 * g + 8 : r1;
                    gb_quant_x8_f16_rows(deq + (a - r0) * K, (size_t)K, src, a, e, K);
                }
            } else {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
                for (int64_t r = r0; r < r1; r++)
                    gb_quant_dequantize_row(type, deq + (r - r0) * K, src + (size_t)r * rb, K);
            }
            gb_sgemm(0, 1, M, r1 - r0, K, 1.0f, in, K, deq, K, 0.0f, out + r0, N);
        }
    }
    if (b)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) out[i * N + j] += b[j];
    return GB_OK;
}

static void norm(const gb_llm *m, float *out, const float *in, const float *w, const float *b, int64_t M) {
    if (m->norm_rms) gb_rmsnorm_forward(out, m->stat, in, w, M, m->C, m->eps);
    else gb_layernorm_forward(out, m->stat, m->stat + m->n_batch, in, w, b, M, m->C, m->eps);
}

void gb_llm_rope_row(const gb_llm *m, float *x, int nh, int64_t p) {
    const int half = m->rope_dim / 2;
    const float *c = m->rope_cos + p * half, *s = m->rope_sin + p * half;
    for (int h = 0; h < nh; h++) {
        float *v = x + (size_t)h * m->HS;
        for (int i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c[i] - b * s[i];
            v[2 * i + 1] = a * s[i] + b * c[i];
        }
    }
}

void gb_llm_kv_store(const gb_llm *m, int l, int g, int64_t pos, const float *k, const float *v) {
    const size_t HS = (size_t)m->HS, at = (size_t)pos * HS;
    if (m->kv_type == GB_GGML_F16) {
        gb_fp16_from_f32_row((uint16_t *)gb_llm_kv_head(m, m->k_cache, l, g) + at, k, (int64_t)HS);
        gb_fp16_from_f32_row((uint16_t *)gb_llm_kv_head(m, m->v_cache, l, g) + at, v, (int64_t)HS);
    } else {
        memcpy((float *)gb_llm_kv_head(m, m->k_cache, l, g) + at, k, HS * sizeof(float));
        memcpy((float *)gb_llm_kv_head(m, m->v_cache, l, g) + at, v, HS * sizeof(float));
    }
}

void gb_llm_attend_row(const gb_llm *m, float *out, float *sc, const float *q, int l, int g, int64_t n) {
    const float scale = 1.0f / sqrtf((float)m->HS);
    const void *k = gb_llm_kv_head(m, m->k_cache, l, g), *v = gb_llm_kv_head(m, m->v_cache, l, g);
    if (m->kv_type == GB_GGML_F16) gb_attention_row_f16(out, sc, q, k, v, n, m->HS, m->HS, scale);
    else gb_attention_row(out, sc, q, k, v, n, m->HS, m->HS, scale);
}

/* *K, *V = the first n keys and values of kv head g of layer l as fp32 rows: the cache itself,
 * or an fp16 cache's converted into kv_f32 (the same floats every attention row reads). */
static void kv_head_f32(gb_llm *m, int l, int g, int64_t n, const float **K, const float **V) {
    if (m->kv_type != GB_GGML_F16) {
        *K = gb_llm_kv_head(m, m->k_cache, l, g), *V = gb_llm_kv_head(m, m->v_cache, l, g);
        return;
    }
    const int64_t e = n * m->HS, piece = 8192, pieces = (e + piece - 1) / piece;
    float *k = m->kv_f32, *v = k + (size_t)m->n_ctx * (size_t)m->HS;
    const uint16_t *kh = gb_llm_kv_head(m, m->k_cache, l, g), *vh = gb_llm_kv_head(m, m->v_cache, l, g);
    const int nt = n_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && pieces > 1)
    for (int64_t i = 0; i < pieces; i++) {
        const int64_t a = i * piece, len = a + piece < e ? piece : e - a;
        gb_fp16_to_f32_row(k + a, kh + a, len);
        gb_fp16_to_f32_row(v + a, vh + a, len);
    }
    *K = k, *V = v;
}

/* Prefill attention by GEMM, one head at a time: S (M, n) = Q_h · K_hᵀ, causal softmax by row,
 * att_h (M, HS) = P · V_h, with n = pos + M keys. */
static void attention_gemm(gb_llm *m, int l, int64_t M, int64_t pos) {
    const int64_t C = m->C;
    const int HS = m->HS, rep = m->NH / m->NKV;
    const float scale = 1.0f / sqrtf((float)HS);
    float *S = m->scores;
    int nt = n_threads();
    /* query rows i0..i1 see keys 0 .. pos+i1-1: a chunk's score matrix is (i1-i0, pos+i1) */
    for (int64_t i0 = 0; i0 < M; i0 += m->score_rows) {
        const int64_t i1 = i0 + m->score_rows < M ? i0 + m->score_rows : M, mc = i1 - i0, n = pos + i1;
        const float *K = NULL, *V = NULL;
        for (int h = 0; h < m->NH; h++) {
            const int g = h / rep;
            if (h % rep == 0) kv_head_f32(m, l, g, n, &K, &V);
            gb_sgemm(0, 1, mc, n, HS, scale, m->q + (size_t)i0 * C + (size_t)h * HS, C, K, HS, 0.0f, S, n);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && mc * n > 16384)
            for (int64_t i = 0; i < mc; i++) {
                float *r = S + i * n;
                const int64_t nk = pos + i0 + i + 1;
                gb_softmax_row(r, (int)nk);
                for (int64_t j = nk; j < n; j++) r[j] = 0.0f;
            }
            gb_sgemm(0, 0, mc, HS, n, 1.0f, S, n, V, HS, 0.0f, m->att + (size_t)i0 * C + (size_t)h * HS, C);
        }
    }
}

/* att (M, C): causal attention of the M query rows at positions pos.. over layer l's cache. */
static void attention(gb_llm *m, int l, int64_t M, int64_t pos) {
    const int NH = m->NH, HS = m->HS, rep = m->NH / m->NKV;
    if (M >= GEMM_MIN_ROWS && m->gemm_attention) {
        attention_gemm(m, l, M, pos);
        return;
    }
    int nt = n_threads();
    if (nt > m->n_score_threads) nt = m->n_score_threads;
    const int64_t n_tasks = M * NH;
    if ((double)n_tasks * (double)(pos + M) * HS < 32768.0) nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
        float *sc = m->scores + (size_t)ith * (size_t)m->n_ctx;
        for (int64_t task = n_tasks * ith / nth; task < n_tasks * (ith + 1) / nth; task++) {
            const int64_t i = task / NH;
            const int h = (int)(task % NH), g = h / rep;
            const int64_t n = pos + i + 1; /* keys 0 .. pos+i */
            const float *q = m->q + (size_t)i * (size_t)m->C + (size_t)h * HS;
            gb_llm_attend_row(m, m->att + (size_t)i * (size_t)m->C + (size_t)h * HS, sc, q, l, g, n);
        }
    }
}

void gb_llm_embed_row(gb_llm *m, float *x, uint32_t tok, int64_t p) {
    gb_quant_dequantize_row(m->token_embd.type, x, (const char *)m->token_embd.data + (size_t)tok * m->token_embd.row_bytes,
                            m->C);
    if (m->position_embd.data) {
        float *tmp = m->att; /* free until the first block */
        gb_quant_dequantize_row(m->position_embd.type, tmp,
                                (const char *)m->position_embd.data + (size_t)p * m->position_embd.row_bytes, m->C);
        for (int c = 0; c < m->C; c++) x[c] += tmp[c];
    }
}

/* One pass over M <= n_batch tokens at positions pos..; logits of the rows [first, M). */
static gb_status eval_batch(gb_llm *m, const uint32_t *tokens, int64_t M, int64_t pos, float *logits,
                            int64_t first) {
    const int64_t C = m->C, KVC = m->KVC, F = m->F;
    gb_status rc = GB_OK;
    if (M == 1) return gb_llm_decode(m, tokens[0], pos, first == 0 ? logits : NULL);
    for (int64_t i = 0; i < M; i++) gb_llm_embed_row(m, m->x + i * C, tokens[i], pos + i);
    for (int l = 0; l < m->n_layer; l++) {
        const gb_llm_layer *L = &m->layers[l];
        norm(m, m->xb, m->x, L->attn_norm_w, L->attn_norm_b, M);
        if (L->qkv.data) {
            const int64_t QKV = C + 2 * KVC;
            if ((rc = linear(m, m->hb, m->xb, &L->qkv, L->qkv_b, M))) return rc;
            for (int64_t i = 0; i < M; i++) {
                const float *r = m->hb + i * QKV;
                memcpy(m->q + i * C, r, (size_t)C * sizeof(float));
                memcpy(m->k + i * KVC, r + C, (size_t)KVC * sizeof(float));
                memcpy(m->v + i * KVC, r + C + KVC, (size_t)KVC * sizeof(float));
            }
        } else if ((rc = linear(m, m->q, m->xb, &L->q, L->q_b, M)) || (rc = linear(m, m->k, m->xb, &L->k, L->k_b, M)) ||
                   (rc = linear(m, m->v, m->xb, &L->v, L->v_b, M)))
            return rc;
        const size_t HS = (size_t)m->HS;
        for (int64_t i = 0; i < M; i++) {
            if (m->rope) {
                gb_llm_rope_row(m, m->q + i * C, m->NH, pos + i);
                gb_llm_rope_row(m, m->k + i * KVC, m->NKV, pos + i);
            }
            for (int g = 0; g < m->NKV; g++) gb_llm_kv_store(m, l, g, pos + i, m->k + i * KVC + g * HS, m->v + i * KVC + g * HS);
        }
        attention(m, l, M, pos);
        if ((rc = linear(m, m->xb, m->att, &L->attn_out, L->attn_out_b, M))) return rc;
        for (int64_t i = 0; i < M * C; i++) m->x[i] += m->xb[i];
        norm(m, m->xb, m->x, L->ffn_norm_w, L->ffn_norm_b, M);
        if (m->swiglu && L->gate_up.data && M < GEMM_MIN_ROWS) {
            /* decode: one product into rows [gate | up] of 2F, then each row's silu(gate)·up
             * moved down to stride F (in place: the destination never passes the source) */
            if ((rc = linear(m, m->hb, m->xb, &L->gate_up, NULL, M))) return rc;
            for (int64_t i = 0; i < M; i++) {
                gb_silu_mul_inplace(m->hb + i * 2 * F, m->hb + i * 2 * F + F, F);
                memmove(m->hb + i * F, m->hb + i * 2 * F, (size_t)F * sizeof(float));
            }
        } else if (m->swiglu) {
            if ((rc = linear(m, m->hb, m->xb, &L->gate, L->gate_b, M)) || (rc = linear(m, m->hb2, m->xb, &L->up, L->up_b, M)))
                return rc;
            gb_silu_mul_inplace(m->hb, m->hb2, M * F);
        } else {
            if ((rc = linear(m, m->hb2, m->xb, &L->up, L->up_b, M))) return rc;
            gb_gelu_forward(m->hb, m->hb2, M * F);
        }
        if ((rc = linear(m, m->xb, m->hb, &L->down, L->down_b, M))) return rc;
        for (int64_t i = 0; i < M * C; i++) m->x[i] += m->xb[i];
    }
    if (!logits || first >= M) return GB_OK;
    const int64_t R = M - first;
    norm(m, m->xb, m->x + first * C, m->out_norm_w, m->out_norm_b, R);
    return linear(m, logits, m->xb, &m->output, NULL, R);
}

gb_status gb_llm_eval(gb_llm *m, const uint32_t *tokens, int64_t n, int64_t pos, float *logits, int all_logits) {
    if (n < 1 || pos < 0) return gb_errorf(GB_ERR_ARG, "eval: %lld tokens at position %lld", (long long)n, (long long)pos);
    if (pos > m->n_ctx || n > m->n_ctx - pos)
        return gb_errorf(GB_ERR_ARG, "prompt longer than the context: %lld tokens at position %lld exceed %lld",
                         (long long)n, (long long)pos, (long long)m->n_ctx);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] >= (uint32_t)m->V)
            return gb_errorf(GB_ERR_ARG, "token id %u is outside the vocabulary of %d", tokens[i], m->V);
    for (int64_t i0 = 0; i0 < n; i0 += m->n_batch) {
        const int64_t M = n - i0 < m->n_batch ? n - i0 : m->n_batch;
        float *out = NULL;
        int64_t first = M;
        if (all_logits) out = logits + i0 * m->V, first = 0;
        else if (i0 + M == n) out = logits, first = M - 1;
        gb_status rc = eval_batch(m, tokens + i0, M, pos + i0, out, first);
        if (rc) return rc;
    }
    return GB_OK;
}
