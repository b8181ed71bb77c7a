/* glassbox — quantize a GGUF model: weight matrices to one type, or to llama.cpp's Q4_K_M mix.
 *
 * What llama.cpp's llama-quantize does without an importance matrix (llama_tensor_get_type in
 * src/llama-quant.cpp), for the types glassbox runs:
 *   - 1-D tensors (norms, biases, rope_freqs) are written as F32;
 *   - the output projection (`output.weight`, or `token_embd.weight` when the model ties them)
 *     becomes Q6_K when the type is Q4_0 or Q4_K, the matrix whose error costs most perplexity;
 *   - Q4_K_M (LLAMA_FTYPE_MOSTLY_Q4_K_M, base Q4_K) also gives Q6_K to `attn_v.weight` and
 *     `ffn_down.weight` on the "use_more_bits" layers (i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2,
 *     i the tensor's rank among its kind in llama.cpp's order: by block, then by name; n the
 *     count of attn_v + attn_qkv matrices, and block_count for ffn_down), gives the fused
 *     `attn_qkv.weight` Q6_K where llama.cpp gives Q5_K (glassbox has no Q5_K: the next type
 *     up), and leaves `position_embd.weight` in its stored type (llama.cpp never quantizes it);
 *   - a matrix whose rows are not a multiple of the chosen type's block size falls back to
 *     Q8_0 (rows a multiple of 32) or F32; llama.cpp falls back from Q4_K to Q5_0 and from Q6_K
 *     to Q8_0, then to F16 — glassbox has no Q5_0 and keeps F32 rather than F16;
 *   - every other matrix, token_embd included, gets the base type.
 * Q4_K_S (the plain q4_k) is Q4_K throughout but the output: llama.cpp's Q4_K_S also gives Q5_K
 * to the first 4 attn_v and the first n/8 ffn_down, which glassbox leaves Q4_K.
 * Any source type this build reads is dequantized to F32 first (re-quantizing a quantized file
 * compounds the errors, as in llama.cpp with --allow-requantize). Metadata is copied in order,
 * with general.file_type set to llama.cpp's LLAMA_FTYPE_MOSTLY_* number and
 * glassbox.weights_sha256 (a digest of F32 weights) dropped. The file is written atomically. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/mem.h"
#include "glassbox/sys.h"

/* The base tensor type of a file type; 0 with *ok = 0 for a number glassbox does not write. */
static uint32_t base_type(gb_llm_ftype ftype, int *ok) {
    *ok = 1;
    switch (ftype) {
    case GB_FTYPE_ALL_F32: return GB_GGML_F32;
    case GB_FTYPE_MOSTLY_F16: return GB_GGML_F16;
    case GB_FTYPE_MOSTLY_Q4_0: return GB_GGML_Q4_0;
    case GB_FTYPE_MOSTLY_Q8_0: return GB_GGML_Q8_0;
    case GB_FTYPE_MOSTLY_Q4_K_S:
    case GB_FTYPE_MOSTLY_Q4_K_M: return GB_GGML_Q4_K;
    case GB_FTYPE_MOSTLY_Q6_K: return GB_GGML_Q6_K;
    case GB_FTYPE_MOSTLY_BF16: return GB_GGML_BF16;
    }
    *ok = 0;
    return 0;
}

/* The block of "blk.N.…", or -1 (llama.cpp's weight_name_comparer: sscanf "blk.%d."). */
static int block_of(const char *name) {
    int l = -1;
    if (strncmp(name, "blk.", 4) || sscanf(name + 4, "%d.", &l) != 1) return -1; /* Flawfinder: ignore */
    return l;
}

/* Does a come before b in llama.cpp's tensor order (block, then name)? */
static int before(const char *a, const char *b) {
    int la = block_of(a), lb = block_of(b);
    return la != lb ? la < lb : strcmp(a, b) < 0;
}

/* The tensors llama.cpp hands to llama_tensor_get_type: 2-D, named *weight, not a norm. */
static int quantizable(const gb_gguf_tensor *t) {
    size_t n = strlen(t->name);
    return t->n_dims >= 2 && n >= 6 && !strcmp(t->name + n - 6, "weight") && !strstr(t->name, "_norm.weight") &&
           strcmp(t->name, "position_embd.weight") != 0;
}

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* How the tensors are chosen: the counts llama.cpp takes before it starts. */
typedef struct {
    gb_llm_ftype ftype;
    uint32_t base;
    int has_output;     /* output.weight present: token_embd is not the output */
    int n_attention_wv; /* attn_v + attn_qkv matrices */
    int n_layer;        /* <arch>.block_count, for ffn_down */
} plan;

/* t's rank among the quantizable tensors whose names contain `kind`, in llama.cpp's order. */
static int rank_of(const gb_gguf *g, const gb_gguf_tensor *t, const char *kind) {
    int r = 0;
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *u = gb_gguf_tensor_at(g, i);
        r += u != t && quantizable(u) && strstr(u->name, kind) && before(u->name, t->name);
    }
    return r;
}

static void make_plan(const gb_gguf *g, gb_llm_ftype ftype, uint32_t base, plan *p) {
    memset(p, 0, sizeof *p);
    p->ftype = ftype;
    p->base = base;
    int n_down = 0;
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        if (!strcmp(t->name, "output.weight")) p->has_output = 1;
        if (strstr(t->name, "attn_v.weight") || strstr(t->name, "attn_qkv.weight") || strstr(t->name, "attn_kv_b.weight"))
            p->n_attention_wv++;
        if (quantizable(t) && strstr(t->name, "ffn_down")) n_down++;
    }
    gb_gguf_str arch;
    char key[96];
    int64_t v = 0;
    p->n_layer = n_down;
    if (!gb_gguf_get_str(g, "general.architecture", &arch)) {
        snprintf(key, sizeof key, "%.*s.block_count", (int)(arch.len < 64 ? arch.len : 64), arch.ptr);
        if (gb_gguf_find_key(g, key) >= 0 && !gb_gguf_get_int(g, key, &v) && v > 0 && v < (1 << 20)) p->n_layer = (int)v;
    }
}

/* The type llama.cpp would give tensor t under the plan. */
static uint32_t choose(const gb_gguf *g, const plan *p, const gb_gguf_tensor *t) {
    if (t->n_dims != 2 || !gb_quant_supported(t->type)) return t->n_dims == 2 ? t->type : GB_GGML_F32;
    const int q4km = p->ftype == GB_FTYPE_MOSTLY_Q4_K_M;
    if (q4km && !quantizable(t)) return t->type;
    int is_output = !strcmp(t->name, "output.weight") || (!strcmp(t->name, "token_embd.weight") && !p->has_output);
    uint32_t want = p->base;
    if (is_output) {
        if (p->base == GB_GGML_Q4_0 || p->base == GB_GGML_Q4_K) want = GB_GGML_Q6_K;
    } else if (q4km) {
        if (strstr(t->name, "attn_v.weight")) {
            if (use_more_bits(rank_of(g, t, "attn_v.weight"), p->n_attention_wv)) want = GB_GGML_Q6_K;
        } else if (strstr(t->name, "ffn_down")) {
            if (use_more_bits(rank_of(g, t, "ffn_down"), p->n_layer)) want = GB_GGML_Q6_K;
        } else if (strstr(t->name, "attn_qkv.weight"))
            want = GB_GGML_Q6_K; /* llama.cpp: Q5_K */
    }
    if (t->ne[0] % gb_ggml_blck_size(want) != 0) want = t->ne[0] % 32 == 0 ? GB_GGML_Q8_0 : GB_GGML_F32;
    if (want == GB_GGML_Q8_0 && p->base == GB_GGML_F32) want = GB_GGML_F32;
    return want;
}

static uint32_t ftype_of(uint32_t type) {
    switch (type) {
    case GB_GGML_F32: return GB_FTYPE_ALL_F32;
    case GB_GGML_F16: return GB_FTYPE_MOSTLY_F16;
    case GB_GGML_Q4_0: return GB_FTYPE_MOSTLY_Q4_0;
    case GB_GGML_Q8_0: return GB_FTYPE_MOSTLY_Q8_0;
    case GB_GGML_Q4_K: return GB_FTYPE_MOSTLY_Q4_K_S;
    case GB_GGML_Q6_K: return GB_FTYPE_MOSTLY_Q6_K;
    case GB_GGML_BF16: return GB_FTYPE_MOSTLY_BF16;
    default: return UINT32_MAX;
    }
}

gb_status gb_llm_quantize(const char *in, const char *out, uint32_t type, int verbose) {
    uint32_t ft = ftype_of(type);
    if (ft == UINT32_MAX) return gb_errorf(GB_ERR_ARG, "cannot quantize to type %u", (unsigned)type);
    return gb_llm_quantize_ftype(in, out, (gb_llm_ftype)ft, verbose);
}

gb_status gb_llm_quantize_ftype(const char *in, const char *out, gb_llm_ftype ftype, int verbose) {
    int ok;
    const uint32_t type = base_type(ftype, &ok);
    if (!ok) return gb_errorf(GB_ERR_ARG, "cannot quantize to file type %d", (int)ftype);
    gb_gguf *g = NULL;
    gb_gguf_writer *w = NULL;
    void **bufs = NULL;
    gb_status rc = gb_gguf_open(&g, in);
    if (rc) return rc;
    const int64_t nt = gb_gguf_n_tensors(g);
    plan p;
    make_plan(g, ftype, type, &p);
    if ((rc = gb_gguf_writer_new(&w))) goto done;
    if (!(bufs = calloc((size_t)(nt ? nt : 1), sizeof *bufs))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
        const char *key = gb_gguf_key(g, i);
        if (!strcmp(key, "glassbox.weights_sha256")) continue;
        if (!strcmp(key, "general.file_type")) rc = gb_gguf_add_u32(w, key, (uint32_t)ftype);
        else rc = gb_gguf_add_kv_from(w, g, i);
        if (rc) goto done;
    }
    if (gb_gguf_find_key(g, "general.file_type") < 0 && (rc = gb_gguf_add_u32(w, "general.file_type", (uint32_t)ftype)))
        goto done;
    for (int64_t i = 0; i < nt; i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        uint32_t to = choose(g, &p, t);
        const void *data = t->data;
        size_t nbytes = t->nbytes;
        if (to != t->type) {
            const int64_t cols = t->ne[0], rows = t->n_elements / cols;
            const size_t rb = gb_quant_row_size(to, cols), sb = gb_quant_row_size(t->type, cols);
            if (!gb_mul_ok(rb, (size_t)rows, &nbytes) || !(bufs[i] = gb_alloc(nbytes ? nbytes : 1))) {
                rc = gb_errorf(GB_ERR_NOMEM, "out of memory quantizing %s", t->name);
                goto done;
            }
            int failed = 0;
            const int nth = gb_threads_get() > 0 ? gb_threads_get() : 1;
#pragma omp parallel num_threads(nth) reduction(| : failed)
            {
                float *row = malloc((size_t)cols * sizeof(float));
                const int64_t ith = omp_get_thread_num(), n = omp_get_num_threads();
                if (!row) failed = 1;
                for (int64_t r = rows * ith / n; row && r < rows * (ith + 1) / n; r++) {
                    failed |= gb_quant_dequantize_row(t->type, row, (const char *)t->data + (size_t)r * sb, cols) != GB_OK;
                    failed |= gb_quant_quantize_row(to, (char *)bufs[i] + (size_t)r * rb, row, cols) != GB_OK;
                }
                free(row);
            }
            if (failed) {
                rc = gb_errorf(GB_ERR_NOMEM, "cannot convert %s to %s", t->name, gb_ggml_type_name(to));
                goto done;
            }
            data = bufs[i];
        }
        if (verbose && to != type && t->n_dims == 2)
            fprintf(stderr, "%s: %s instead of %s (rows of %lld)\n", t->name, gb_ggml_type_name(to),
                    gb_ggml_type_name(type), (long long)t->ne[0]);
        if ((rc = gb_gguf_add_tensor(w, t->name, (gb_ggml_type)to, t->n_dims, t->ne, data, nbytes))) goto done;
    }
    rc = gb_gguf_write(w, out);
done:
    for (int64_t i = 0; bufs && i < nt; i++) gb_free(bufs[i]);
    free(bufs);
    gb_gguf_writer_free(w);
    gb_gguf_close(g);
    return rc;
}
