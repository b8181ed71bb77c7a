/* gb_llm against the training model: a model made with gb_model_init + gb_model_init_weights,
 * written as GGUF by the trainer's checkpoint writer, must give the training forward's logits
 * (F32), the same logits prefilled at once or decoded token by token, logits close to F32 when
 * quantized, and one-line errors for bad files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "infer/llm_internal.h"
#include "glassbox/model.h"
#include "glassbox/sys.h"
#include "glassbox/train.h"
#include "model_fixture.h"
#include "test.h"

static gb_model_config tiny(const char *preset, int V, int n_ctx) {
    gb_model_config c;
    gb_model_config_preset(&c, preset);
    c.vocab_size = V;
    c.n_ctx = n_ctx;
    return c;
}

static void fill_tokens(uint32_t *tok, int32_t *tok32, int T, int V, uint32_t seed) {
    uint32_t s = seed;
    for (int t = 0; t < T; t++) {
        s = s * 1664525u + 1013904223u;
        tok[t] = (s >> 8) % (uint32_t)V;
        if (tok32) tok32[t] = (int32_t)tok[t];
    }
}

/* max |a-b| / max |b| */
static double rel_max(const float *a, const float *b, int64_t n) {
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d) d = e;
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return s > 0 ? d / s : d;
}

/* rms(a-b) / rms(b) */
static double rel_rms(const float *a, const float *b, int64_t n) {
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* The logits of T tokens through m by prefill and token by token, each row's worst
 * |diff| / max |logit| against the training model's: *pre, *dec. */
static void logits_vs_training(gb_llm *m, const gb_model *tm, const uint32_t *tok, int T, int64_t V, float *got,
                               float *one, double *pre, double *dec) {
    *pre = *dec = INFINITY;
    if (gb_llm_eval(m, tok, T, 0, got, 1)) return;
    *pre = rel_max(got, tm->logits, (int64_t)T * V);
    *dec = 0;
    for (int t = 0; t < T; t++) {
        if (gb_llm_eval(m, tok + t, 1, t, one, 0)) *dec = INFINITY;
        double e = rel_max(one, tm->logits + (size_t)t * (size_t)V, V);
        if (e > *dec) *dec = e;
    }
}

static void check_against_training(const char *preset, int nkv) {
    gb_model_config c = tiny(preset, 300, 64);
    if (nkv) c.n_kv_head = nkv;
    const char *path = gb_test_path("%s/%s.gguf", gb_test_tmpdir(), preset);
    gb_model *tm = fixture_write_model(&c, path, 7);
    REQUIRE(tm);
    enum { T = 40 };
    uint32_t tok[T];
    int32_t tok32[T];
    fill_tokens(tok, tok32, T, c.vocab_size, 11);
    float *got = malloc(sizeof(float) * T * (size_t)c.vocab_size);
    float *one = malloc(sizeof(float) * (size_t)c.vocab_size);
    /* an fp16 KV cache (the default) rounds k and v: logits within 2e-3 */
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, path, 0));
    CHECK_OK(gb_model_forward(tm, tok32, NULL, 1, T));
    if (m && got && one) {
        double pre, dec;
        logits_vs_training(m, tm, tok, T, c.vocab_size, got, one, &pre, &dec);
        printf("    %s (NKV %d), fp16 KV cache: prefill %.2e, decode %.2e\n", preset, c.n_kv_head, pre, dec);
        CHECK(pre <= 2e-3 && dec <= 2e-3);
    }
    gb_llm_free(m);
    /* with an fp32 cache, the training model's numbers */
    m = NULL;
    CHECK_OK(gb_llm_set_kv_type(GB_GGML_F32));
    CHECK_OK(gb_llm_load(&m, path, 0));
    CHECK_OK(gb_llm_set_kv_type(GB_GGML_F16));
    if (m && got && one) {
        CHECK_STR(gb_llm_arch(m), c.arch);
        CHECK_EQ_INT(gb_llm_n_ctx(m), 64);
        CHECK_EQ_INT(gb_llm_n_vocab(m), 300);
        CHECK_OK(gb_llm_eval(m, tok, T, 0, got, 1));
        const int64_t n = (int64_t)T * c.vocab_size;
        double r = rel_max(got, tm->logits, n);
        printf("    %s (NKV %d): prefill vs training forward: max |diff| / max |logit| = %.2e\n", preset,
               c.n_kv_head, r);
        CHECK(r <= 1e-4);
        gb_test_allclose("prefill logits", got, tm->logits, n, 1e-4, 1e-4);
        /* token by token through the cache: the same rows */
        double rd = 0;
        for (int t = 0; t < T; t++) {
            CHECK_OK(gb_llm_eval(m, tok + t, 1, t, one, 0));
            double e = rel_max(one, tm->logits + (size_t)t * c.vocab_size, c.vocab_size);
            if (e > rd) rd = e;
        }
        printf("    %s: decode vs training forward: %.2e\n", preset, rd);
        CHECK(rd <= 1e-4);
        /* last-row logits, and a rewind: evaluate from position 5 again */
        CHECK_OK(gb_llm_eval(m, tok + 5, T - 5, 5, one, 0));
        CHECK(rel_max(one, tm->logits + (size_t)(T - 1) * c.vocab_size, c.vocab_size) <= 1e-4);
        /* threads do not change the bits */
        int nt = gb_threads_get();
        gb_threads_set(1);
        float *one1 = malloc(sizeof(float) * (size_t)c.vocab_size);
        CHECK_OK(gb_llm_eval(m, tok, T, 0, one1, 0));
        gb_threads_set(2);
        CHECK_OK(gb_llm_eval(m, tok, T, 0, one, 0));
        CHECK(memcmp(one, one1, sizeof(float) * (size_t)c.vocab_size) == 0);
        gb_threads_set(nt);
        free(one1);
    }
    gb_llm_free(m);
    free(got);
    free(one);
    gb_model_free(tm);
}

TEST(infer_llm_gpt2_matches_training) { check_against_training("gpt2-tiny", 0); }
TEST(infer_llm_llama_gqa_matches_training) { check_against_training("llama-tiny", 2); }
TEST(infer_llm_llama_mqa_matches_training) { check_against_training("llama-tiny", 1); }

/* The F32 file `name` of a 2-block llama (GQA) whose matrix rows are all multiples of 256, so
 * that every quantized type applies to every matrix; NULL if it cannot be written. */
static const char *write_llama256(gb_model_config *c, const char *name, int n_ctx, uint64_t seed) {
    *c = tiny("llama-tiny", 512, n_ctx);
    c->d_model = 256, c->d_ff = 512, c->n_head = 4, c->n_kv_head = 2;
    const char *path = gb_test_path("%s/%s", gb_test_tmpdir(), name);
    gb_model *tm = fixture_write_model(c, path, seed);
    gb_model_free(tm);
    return tm ? path : NULL;
}

/* Matrices re-laid for decode (interleaved by 8 rows; F32 moved as they are, q/k/v and
 * gate/up fused) change nothing but the float order of decode: prefill has the same bits,
 * decode agrees to rounding, and the off switch keeps the file's layout. With an fp32 KV
 * cache: an fp16 one would round the last-bit differences of k and v to whole fp16 steps. */
TEST(infer_llm_repack_same_logits) {
    CHECK_OK(gb_llm_set_kv_type(GB_GGML_F32));
    gb_model_config c;
    const char *f32 = write_llama256(&c, "rp-f32.gguf", 64, 11);
    REQUIRE(f32);
    enum { T = 12 };
    uint32_t tok[T];
    fill_tokens(tok, NULL, T, c.vocab_size, 9);
    const size_t n = (size_t)T * (size_t)c.vocab_size;
    float *pre[2], *dec[2];
    static const uint32_t types[] = {GB_GGML_Q8_0, GB_GGML_Q4_0, GB_GGML_Q4_K, GB_GGML_Q6_K, GB_GGML_F16, GB_GGML_F32};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const char *qp = types[k] == GB_GGML_F32 ? f32 : gb_test_path("%s/rp-%s.gguf", gb_test_tmpdir(), gb_ggml_type_name(types[k]));
        if (types[k] != GB_GGML_F32) CHECK_OK(gb_llm_quantize(f32, qp, types[k], 0));
        for (int on = 0; on < 2; on++) {
            pre[on] = malloc(n * sizeof(float)), dec[on] = malloc(n * sizeof(float));
            gb_llm_set_repack(on);
            gb_llm *m = NULL;
            CHECK_OK(gb_llm_load(&m, qp, 0));
            REQUIRE(m && pre[on] && dec[on]);
            gb_llm_info info;
            gb_llm_get_info(m, &info);
            /* every matrix (the output is untied): all the per-token bytes but the norms' */
            const uint64_t norms = (2 * (uint64_t)c.n_layer + 1) * (uint64_t)c.d_model * sizeof(float);
            if (on && strcmp(gb_quant_kernel_name(), "scalar") != 0)
                CHECK(info.repacked_bytes + norms == info.weight_bytes_per_token);
            if (!on) CHECK(info.repacked_bytes == 0);
            /* the vectors eval reads are copies: a read in the mapping can map a large folio
             * of dropped matrix pages back in (llm.c, get_vec) */
            const gb_gguf_tensor *n0 = gb_gguf_find_tensor(m->g, "blk.0.attn_norm.weight"),
                                 *no = gb_gguf_find_tensor(m->g, "output_norm.weight");
            CHECK(n0 && no && (const void *)m->layers[0].attn_norm_w != n0->data && (const void *)m->out_norm_w != no->data);
            CHECK_OK(gb_llm_eval(m, tok, T, 0, pre[on], 1));
            for (int t = 0; t < T; t++) CHECK_OK(gb_llm_eval(m, tok + t, 1, t, dec[on] + (size_t)t * c.vocab_size, 0));
            gb_llm_free(m);
        }
        gb_llm_set_repack(1);
        CHECK(memcmp(pre[0], pre[1], n * sizeof(float)) == 0);
        const double e = rel_max(dec[1], dec[0], (int64_t)n);
        if (!(e < 1e-4)) gb_test_fail(__FILE__, __LINE__, "%s: decode differs by %g", gb_ggml_type_name(types[k]), e);
        for (int on = 0; on < 2; on++) free(pre[on]), free(dec[on]);
    }
    CHECK_OK(gb_llm_set_kv_type(GB_GGML_F16));
}

/* Decode (one token: one parallel region, each thread its rows and heads, src/infer/llm_decode.c)
 * has the bits of a batch of two rows through eval's per-product path, at 1, 2 and 3 threads,
 * for every matrix type but F32 (whose batches go through the fp32 GEMM), for llama (re-laid
 * and not: both layouts) and gpt2 (layernorm, biases, fused qkv, gelu). */
static void check_decode_bits(const char *path, int64_t V) {
    enum { T = 9 };
    uint32_t tok[T];
    fill_tokens(tok, NULL, T, (int)V, 17);
    float *two = malloc(2 * (size_t)V * sizeof(float)), *one = malloc((size_t)V * sizeof(float));
    float *first = malloc((size_t)V * sizeof(float));
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, path, 0));
    REQUIRE(m && two && one && first);
    const int nt = gb_threads_get();
    CHECK_OK(gb_llm_eval(m, tok, T - 2, 0, one, 0));
    CHECK_OK(gb_llm_eval(m, tok + T - 2, 2, T - 2, two, 1));
    for (int threads = 1; threads <= 3; threads++) {
        gb_threads_set(threads);
        CHECK_OK(gb_llm_eval(m, tok + T - 2, 1, T - 2, first, 0));
        CHECK_OK(gb_llm_eval(m, tok + T - 1, 1, T - 1, one, 0));
        if (memcmp(first, two, (size_t)V * sizeof(float)) || memcmp(one, two + V, (size_t)V * sizeof(float)))
            gb_test_fail(__FILE__, __LINE__, "%s: decode at %d threads differs from the batch (max rel %g)", path,
                         threads, rel_max(one, two + V, V));
    }
    gb_threads_set(nt);
    gb_llm_free(m);
    free(two), free(one), free(first);
}

TEST(infer_llm_decode_same_bits_as_batch) {
    gb_model_config c;
    const char *f32 = write_llama256(&c, "db-f32.gguf", 32, 21);
    REQUIRE(f32);
    static const uint32_t types[] = {GB_GGML_F16, GB_GGML_BF16, GB_GGML_Q8_0, GB_GGML_Q4_0, GB_GGML_Q4_K, GB_GGML_Q6_K};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const char *qp = gb_test_path("%s/db-%s.gguf", gb_test_tmpdir(), gb_ggml_type_name(types[k]));
        CHECK_OK(gb_llm_quantize(f32, qp, types[k], 0));
        for (int on = 0; on < 2; on++) {
            gb_llm_set_repack(on);
            check_decode_bits(qp, c.vocab_size);
        }
        gb_llm_set_repack(1);
    }
    gb_model_config g = tiny("gpt2-tiny", 300, 32);
    const char *gp = gb_test_path("%s/db-gpt2.gguf", gb_test_tmpdir()), *gq = gb_test_path("%s/db-gpt2-q8.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&g, gp, 5);
    REQUIRE(tm);
    gb_model_free(tm);
    CHECK_OK(gb_llm_quantize(gp, gq, GB_GGML_Q8_0, 0));
    check_decode_bits(gq, g.vocab_size);
}

TEST(infer_llm_quantized_close_to_f32) {
    /* row lengths multiples of 256 so that the K types apply everywhere */
    gb_model_config c;
    const char *f32 = write_llama256(&c, "q-f32.gguf", 64, 3);
    REQUIRE(f32);
    enum { T = 24 };
    uint32_t tok[T];
    fill_tokens(tok, NULL, T, c.vocab_size, 5);
    const size_t n = (size_t)T * (size_t)c.vocab_size;
    float *ref = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float)), *dec = malloc(n * sizeof(float));
    REQUIRE(ref && got && dec);
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, f32, 0));
    REQUIRE(m);
    CHECK_OK(gb_llm_eval(m, tok, T, 0, ref, 1));
    gb_llm_free(m);
    static const struct {
        uint32_t type;
        double bound; /* rms(logit error) / rms(logits) */
    } types[] = {/* measured (prefill, decode): F16 5.4e-4, BF16 4.0e-3, Q8_0 1.2e-2 / 1.6e-2,
                  * Q6_K 4.5e-2 / 4.7e-2, Q4_K 0.144, Q4_0 0.177 — random N(0, 0.02) weights
                  * through 2 blocks; bounds about 1.5x */
                 {GB_GGML_F16, 1e-3},  {GB_GGML_BF16, 6e-3}, {GB_GGML_Q8_0, 2.5e-2},
                 {GB_GGML_Q6_K, 7e-2}, {GB_GGML_Q4_K, 0.22}, {GB_GGML_Q4_0, 0.27}};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const char *name = gb_ggml_type_name(types[k].type);
        const char *qp = gb_test_path("%s/q-%s.gguf", gb_test_tmpdir(), name);
        CHECK_OK(gb_llm_quantize(f32, qp, types[k].type, 0));
        m = NULL;
        CHECK_OK(gb_llm_load(&m, qp, 0));
        if (!m) continue;
        /* the matrices are in the type */
        gb_gguf *g = NULL;
        CHECK_OK(gb_gguf_open(&g, qp));
        if (g) {
            const gb_gguf_tensor *t = gb_gguf_find_tensor(g, "blk.1.ffn_down.weight");
            CHECK(t && t->type == (gb_ggml_type)types[k].type);
            t = gb_gguf_find_tensor(g, "blk.1.ffn_norm.weight");
            CHECK(t && t->type == GB_GGML_F32);
        }
        gb_gguf_close(g);
        CHECK_OK(gb_llm_eval(m, tok, T, 0, got, 1));
        double e = rel_rms(got, ref, (int64_t)n);
        /* the same rows by decode (matvec with quantized activations) */
        for (int t = 0; t < T; t++) CHECK_OK(gb_llm_eval(m, tok + t, 1, t, dec + (size_t)t * c.vocab_size, 0));
        double ed = rel_rms(dec, ref, (int64_t)n);
        printf("    %-5s rms logit error vs F32: prefill %.2e, decode %.2e (bound %.1e)\n", name, e, ed,
               types[k].bound);
        CHECK(e <= types[k].bound);
        CHECK(ed <= types[k].bound);
        gb_llm_free(m);
    }
    free(ref), free(got), free(dec);
}

/* ---- bad files ---- */

typedef struct {
    const char *arch;      /* replaces general.architecture, or NULL */
    const char *drop;      /* tensor left out, or NULL */
    const char *retype;    /* tensor written as Q5_K (zeros), or NULL */
} edit;

static int copy_edited(const char *in, const char *out, const edit *e) {
    gb_gguf *g = NULL;
    gb_gguf_writer *w = NULL;
    void *zeros = NULL;
    int ok = 0;
    if (gb_gguf_open(&g, in) || gb_gguf_writer_new(&w)) goto done;
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
        const char *key = gb_gguf_key(g, i);
        if (e->arch && !strcmp(key, "general.architecture")) {
            if (gb_gguf_add_str(w, key, e->arch)) goto done;
        } else if (gb_gguf_add_kv_from(w, g, i))
            goto done;
    }
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        if (e->drop && !strcmp(t->name, e->drop)) continue;
        if (e->retype && !strcmp(t->name, e->retype)) {
            size_t nb;
            if (gb_ggml_nbytes(GB_GGML_Q5_K, t->n_dims, t->ne, &nb) || !(zeros = calloc(1, nb))) goto done;
            if (gb_gguf_add_tensor(w, t->name, GB_GGML_Q5_K, t->n_dims, t->ne, zeros, nb)) goto done;
        } else if (gb_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes))
            goto done;
    }
    ok = gb_gguf_write(w, out) == GB_OK;
done:
    free(zeros);
    gb_gguf_writer_free(w);
    gb_gguf_close(g);
    return ok;
}

static void expect_load_error(const char *path, gb_status want, const char *needle) {
    gb_llm *m = NULL;
    gb_status rc = gb_llm_load(&m, path, 0);
    CHECK(m == NULL);
    CHECK_EQ_INT(rc, want);
    const char *msg = gb_last_error();
    if (!strstr(msg, needle) || strchr(msg, '\n'))
        gb_test_fail(__FILE__, __LINE__, "error '%s' should be one line naming '%s'", msg, needle);
    gb_llm_free(m);
}

TEST(infer_llm_bad_files) {
    gb_model_config c = tiny("llama-tiny", 256, 32);
    c.d_model = 256, c.d_ff = 256;
    const char *good = gb_test_path("%s/bad-base.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, good, 1);
    REQUIRE(tm);
    gb_model_free(tm);
    const char *p = gb_test_path("%s/bad.gguf", gb_test_tmpdir());
    REQUIRE(copy_edited(good, p, &(edit){.arch = "mamba"}));
    expect_load_error(p, GB_ERR_FORMAT, "unknown architecture 'mamba'");
    REQUIRE(copy_edited(good, p, &(edit){.drop = "blk.1.ffn_down.weight"}));
    expect_load_error(p, GB_ERR_FORMAT, "blk.1.ffn_down.weight is missing");
    REQUIRE(copy_edited(good, p, &(edit){.retype = "blk.0.attn_k.weight"}));
    expect_load_error(p, GB_ERR_FORMAT, "blk.0.attn_k.weight has type Q5_K");
    expect_load_error(gb_test_path("%s/nothing-here.gguf", gb_test_tmpdir()), GB_ERR_IO, "nothing-here.gguf");

    /* a context longer than the model's; a prompt longer than the context; a bad token */
    gb_llm *m = NULL;
    CHECK_EQ_INT(gb_llm_load(&m, good, 33), GB_ERR_ARG);
    CHECK(m == NULL);
    CHECK_OK(gb_llm_load(&m, good, 16));
    REQUIRE(m);
    uint32_t tok[40] = {0};
    float *logits = malloc(256 * sizeof(float));
    CHECK_EQ_INT(gb_llm_eval(m, tok, 17, 0, logits, 0), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "prompt longer than the context") != NULL);
    CHECK_EQ_INT(gb_llm_eval(m, tok, 2, 15, logits, 0), GB_ERR_ARG);
    CHECK_OK(gb_llm_eval(m, tok, 16, 0, logits, 0));
    tok[3] = 256;
    CHECK_EQ_INT(gb_llm_eval(m, tok, 4, 0, logits, 0), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "256") != NULL);
    free(logits);
    gb_llm_free(m);
}

/* Prefill attention in query-row chunks (a score matrix of 8 rows) gives the one-chunk logits. */
TEST(infer_llm_attention_chunks) {
    gb_model_config c = tiny("llama-tiny", 256, 64);
    const char *path = gb_test_path("%s/chunks.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, path, 5);
    REQUIRE(tm);
    gb_model_free(tm);
    enum { T = 40 };
    uint32_t tok[T];
    fill_tokens(tok, NULL, T, 256, 3);
    float *a = malloc(sizeof(float) * T * 256), *b = malloc(sizeof(float) * T * 256);
    gb_llm *m1 = NULL, *m2 = NULL;
    CHECK_OK(gb_llm_load(&m1, path, 0));
    gb_llm_test_score_floats(8 * 64);
    CHECK_OK(gb_llm_load(&m2, path, 0));
    gb_llm_test_score_floats(0);
    if (m1 && m2) {
        CHECK(m2->score_rows == 8 && m1->score_rows >= T);
        CHECK_OK(gb_llm_eval(m1, tok, T, 0, a, 1));
        CHECK_OK(gb_llm_eval(m2, tok, T, 0, b, 1));
        double e = rel_max(b, a, (int64_t)T * 256);
        if (!(e < 1e-6)) gb_test_fail(__FILE__, __LINE__, "chunked attention differs: %g", e);
    }
    gb_llm_free(m1), gb_llm_free(m2);
    free(a), free(b);
}

/* gb_llm_load_mem over the file's bytes gives the file's logits; a truncated image fails. */
TEST(infer_llm_load_mem) {
    gb_model_config c = tiny("llama-tiny", 256, 32);
    const char *path = gb_test_path("%s/mem.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, path, 4);
    REQUIRE(tm);
    gb_model_free(tm);
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *img = malloc((size_t)len);
    REQUIRE(img && fread(img, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    uint32_t tok[5] = {1, 7, 42, 200, 3};
    float a[256], b[256];
    gb_llm *m1 = NULL, *m2 = NULL;
    CHECK_OK(gb_llm_load(&m1, path, 16));
    CHECK_OK(gb_llm_load_mem(&m2, img, (size_t)len, "mem.gguf", 16));
    if (m1 && m2) {
        CHECK_OK(gb_llm_eval(m1, tok, 5, 0, a, 0));
        CHECK_OK(gb_llm_eval(m2, tok, 5, 0, b, 0));
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    gb_llm_free(m1), gb_llm_free(m2);
    m2 = NULL;
    CHECK(gb_llm_load_mem(&m2, img, (size_t)len / 2, "half.gguf", 16) != GB_OK);
    CHECK(m2 == NULL && strstr(gb_last_error(), "half.gguf") != NULL);
    free(img);
}

TEST(infer_llm_tied_output_and_info) {
    /* gpt2 preset is tied: no output.weight in the file */
    gb_model_config c = tiny("gpt2-tiny", 200, 32);
    const char *path = gb_test_path("%s/tied.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, path, 2);
    REQUIRE(tm);
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, path, 0));
    if (m) {
        gb_llm_info info;
        gb_llm_get_info(m, &info);
        CHECK_EQ_INT(info.n_params, tm->n_params);
        CHECK_EQ_INT(info.n_layer, 2);
        CHECK_EQ_INT(info.kv_bytes_per_pos, 2 * 2 * 128 * 2); /* fp16 */
        CHECK_EQ_INT(info.kv_type, GB_GGML_F16);
        CHECK(gb_llm_set_kv_type(GB_GGML_Q8_0) == GB_ERR_ARG && gb_llm_set_kv_type(999) == GB_ERR_ARG);
        CHECK(gb_llm_tokenizer(m) == NULL);
        CHECK_EQ_INT(gb_llm_bos(m), -1);
    }
    gb_llm_free(m);
    gb_model_free(tm);
}
