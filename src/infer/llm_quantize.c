/* glassbox — quantize a GGUF model: every 2-D weight matrix to one type, the rest as is.
 *
 * What llama.cpp's llama-quantize does without an importance matrix, simplified to one type:
 *   - 1-D tensors (norms, biases) are written as F32;
 *   - the output projection (`output.weight`, or `token_embd.weight` when the model ties them)
 *     becomes Q6_K when the type is Q4_0 or Q4_K, as llama.cpp's llama_tensor_get_type does
 *     (it is the matrix whose error costs most perplexity);
 *   - a matrix whose rows are not a multiple of the type's block size falls back to Q8_0
 *     (rows a multiple of 32) or F32, as llama.cpp falls back;
 *   - every other matrix, token_embd included, gets the type.
 * Any source type this build reads is dequantized to F32 first (re-quantizing a quantized file
 * compounds the errors, as in llama.cpp with --allow-requantize). Metadata is copied in order,
 * with general.file_type set to llama.cpp's LLAMA_FTYPE_MOSTLY_* for the type and
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

static uint32_t file_type(uint32_t type) {
    switch (type) {
    case GB_GGML_F32: return 0;
    case GB_GGML_F16: return 1;
    case GB_GGML_Q4_0: return 2;
    case GB_GGML_Q8_0: return 7;
    case GB_GGML_Q4_K: return 14; /* LLAMA_FTYPE_MOSTLY_Q4_K_S: Q4_K throughout */
    case GB_GGML_Q6_K: return 18;
    case GB_GGML_BF16: return 32;
    default: return 0;
    }
}

/* The type llama.cpp would give tensor t when asked for `type`. */
static uint32_t choose(const gb_gguf *g, const gb_gguf_tensor *t, uint32_t type) {
    if (t->n_dims != 2 || !gb_quant_supported(t->type)) return t->n_dims == 2 ? t->type : GB_GGML_F32;
    int is_output = !strcmp(t->name, "output.weight") ||
                    (!strcmp(t->name, "token_embd.weight") && !gb_gguf_find_tensor(g, "output.weight"));
    uint32_t want = type;
    if (is_output && (type == GB_GGML_Q4_0 || type == GB_GGML_Q4_K)) want = GB_GGML_Q6_K;
    if (t->ne[0] % gb_ggml_blck_size(want) != 0) want = t->ne[0] % 32 == 0 ? GB_GGML_Q8_0 : GB_GGML_F32;
    if (want == GB_GGML_Q8_0 && type == GB_GGML_F32) want = GB_GGML_F32;
    return want;
}

gb_status gb_llm_quantize(const char *in, const char *out, uint32_t type, int verbose) {
    if (!gb_quant_supported(type))
        return gb_errorf(GB_ERR_ARG, "cannot quantize to type %u", (unsigned)type);
    gb_gguf *g = NULL;
    gb_gguf_writer *w = NULL;
    void **bufs = NULL;
    gb_status rc = gb_gguf_open(&g, in);
    if (rc) return rc;
    const int64_t nt = gb_gguf_n_tensors(g);
    if ((rc = gb_gguf_writer_new(&w))) goto done;
    if (!(bufs = calloc((size_t)(nt ? nt : 1), sizeof *bufs))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
        const char *key = gb_gguf_key(g, i);
        if (!strcmp(key, "glassbox.weights_sha256")) continue;
        if (!strcmp(key, "general.file_type")) rc = gb_gguf_add_u32(w, key, file_type(type));
        else rc = gb_gguf_add_kv_from(w, g, i);
        if (rc) goto done;
    }
    if (gb_gguf_find_key(g, "general.file_type") < 0 && (rc = gb_gguf_add_u32(w, "general.file_type", file_type(type))))
        goto done;
    for (int64_t i = 0; i < nt; i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        uint32_t to = choose(g, t, type);
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
            if (verbose && to != type && t->n_dims == 2)
                fprintf(stderr, "%s: %s (rows of %lld) kept as %s\n", t->name, gb_ggml_type_name(to),
                        (long long)cols, gb_ggml_type_name(to));
        }
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
