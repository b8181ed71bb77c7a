/* gb_llm_quantize_ftype with llama.cpp's Q4_K_M mix: the per-tensor types follow
 * llama_tensor_get_type (written out here by hand for the layer counts used, not computed with
 * the engine's formula), the file says general.file_type 15, loads and runs close to F32;
 * Q4_K_S is today's q4_k; rows that do not fit 256 fall back; the CLI names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/model.h"
#include "glassbox/train.h"
#include "test.h"

static int write_model(const gb_model_config *c, const char *path) {
    gb_model *m = NULL;
    if (gb_model_init(&m, c)) return 0;
    gb_model_init_weights(m, 5);
    int ok = gb_ckpt_save(path, NULL, m, NULL, NULL, NULL, NULL) == GB_OK;
    gb_model_free(m);
    return ok;
}

static uint32_t type_of(const gb_gguf *g, const char *name) {
    const gb_gguf_tensor *t = gb_gguf_find_tensor(g, name);
    return t ? t->type : UINT32_MAX;
}

/* Checks tensor `name` of g has type `want`, naming both on failure. */
static void expect_type(const gb_gguf *g, const char *name, uint32_t want, int line) {
    uint32_t got = type_of(g, name);
    if (got != want)
        gb_test_fail(__FILE__, line, "%s is %s, want %s", name, got == UINT32_MAX ? "missing" : gb_ggml_type_name(got),
                     gb_ggml_type_name(want));
}
#define EXPECT_TYPE(g, name, want) expect_type(g, name, want, __LINE__)

static double rel_rms(const float *a, const float *b, int64_t n) {
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

enum { T = 16 };

/* logits of T tokens, every row; NULL on failure (reported) */
static float *eval_all(const char *path, int V) {
    uint32_t tok[T];
    for (int t = 0; t < T; t++) tok[t] = (uint32_t)(t * 37 + 11) % (uint32_t)V;
    float *out = malloc(sizeof(float) * T * (size_t)V);
    gb_llm *m = NULL;
    if (!out || gb_llm_load(&m, path, 0) || gb_llm_eval(m, tok, T, 0, out, 1)) {
        gb_test_fail(__FILE__, __LINE__, "%s: %s", path, gb_last_error());
        free(out);
        out = NULL;
    }
    gb_llm_free(m);
    return out;
}

TEST(infer_quantize_q4_k_m_llama) {
    /* 8 layers, every row a multiple of 256: the layer rule decides alone */
    gb_model_config c;
    gb_model_config_preset(&c, "llama-tiny");
    c.n_layer = 8, c.d_model = 256, c.d_ff = 768, c.n_head = 4, c.n_kv_head = 2;
    c.vocab_size = 512, c.n_ctx = 32;
    const char *f32 = gb_test_path("%s/mix-f32.gguf", gb_test_tmpdir());
    const char *km = gb_test_path("%s/mix-q4km.gguf", gb_test_tmpdir());
    const char *ks = gb_test_path("%s/mix-q4ks.gguf", gb_test_tmpdir());
    REQUIRE(write_model(&c, f32));
    CHECK_OK(gb_llm_quantize_ftype(f32, km, GB_FTYPE_MOSTLY_Q4_K_M, 0));
    CHECK_OK(gb_llm_quantize_ftype(f32, ks, GB_FTYPE_MOSTLY_Q4_K_S, 0));

    /* use_more_bits(i, 8): i < 1, i >= 7, (i - 1) % 3 == 2  →  layers 0, 3, 6, 7 */
    static const int more[8] = {1, 0, 0, 1, 0, 0, 1, 1};
    gb_gguf *g = NULL;
    CHECK_OK(gb_gguf_open(&g, km));
    REQUIRE(g);
    int64_t ft = -1;
    CHECK_OK(gb_gguf_get_int(g, "general.file_type", &ft));
    CHECK_EQ_INT(ft, 15);
    EXPECT_TYPE(g, "output.weight", GB_GGML_Q6_K);
    EXPECT_TYPE(g, "token_embd.weight", GB_GGML_Q4_K); /* not the output: the base type */
    EXPECT_TYPE(g, "output_norm.weight", GB_GGML_F32);
    char name[64];
    for (int l = 0; l < 8; l++) {
        const uint32_t hi = more[l] ? GB_GGML_Q6_K : GB_GGML_Q4_K;
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l), EXPECT_TYPE(g, name, hi);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l), EXPECT_TYPE(g, name, hi);
        static const char *const base[] = {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"};
        for (int k = 0; k < 5; k++) snprintf(name, sizeof name, "blk.%d.%s.weight", l, base[k]), EXPECT_TYPE(g, name, GB_GGML_Q4_K);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l), EXPECT_TYPE(g, name, GB_GGML_F32);
    }
    gb_gguf_close(g);
    g = NULL;

    /* Q4_K_S: Q4_K everywhere but the output */
    CHECK_OK(gb_gguf_open(&g, ks));
    REQUIRE(g);
    CHECK_OK(gb_gguf_get_int(g, "general.file_type", &ft));
    CHECK_EQ_INT(ft, 14);
    EXPECT_TYPE(g, "output.weight", GB_GGML_Q6_K);
    EXPECT_TYPE(g, "blk.0.attn_v.weight", GB_GGML_Q4_K);
    EXPECT_TYPE(g, "blk.7.ffn_down.weight", GB_GGML_Q4_K);
    gb_gguf_close(g);

    /* the file loads and runs; the mix sits between Q4_K_S and Q6_K */
    float *ref = eval_all(f32, c.vocab_size), *gm = eval_all(km, c.vocab_size), *gs = eval_all(ks, c.vocab_size);
    REQUIRE(ref && gm && gs);
    const int64_t n = (int64_t)T * c.vocab_size;
    double em = rel_rms(gm, ref, n), es = rel_rms(gs, ref, n);
    printf("    8-layer llama, rms logit error vs F32: Q4_K_M %.3f, Q4_K_S %.3f\n", em, es);
    CHECK(em <= 0.22);
    CHECK(es <= 0.22);
    /* the same bits as gb_llm_quantize with Q4_K (today's q4_k is Q4_K_S) */
    const char *k = gb_test_path("%s/mix-q4k.gguf", gb_test_tmpdir());
    CHECK_OK(gb_llm_quantize(f32, k, GB_GGML_Q4_K, 0));
    float *gk = eval_all(k, c.vocab_size);
    CHECK(gk && !memcmp(gk, gs, sizeof(float) * (size_t)n));
    free(ref), free(gm), free(gs), free(gk);
}

TEST(infer_quantize_q4_k_m_gpt2_and_fallback) {
    /* gpt2: fused attn_qkv, tied output (token_embd is the output), position_embd */
    gb_model_config c;
    gb_model_config_preset(&c, "gpt2-tiny");
    c.d_model = 256, c.d_ff = 1024, c.n_head = 4, c.vocab_size = 300, c.n_ctx = 32;
    const char *f32 = gb_test_path("%s/mixg-f32.gguf", gb_test_tmpdir());
    const char *km = gb_test_path("%s/mixg-q4km.gguf", gb_test_tmpdir());
    REQUIRE(write_model(&c, f32));
    CHECK_OK(gb_llm_quantize_ftype(f32, km, GB_FTYPE_MOSTLY_Q4_K_M, 0));
    gb_gguf *g = NULL;
    CHECK_OK(gb_gguf_open(&g, km));
    REQUIRE(g);
    EXPECT_TYPE(g, "token_embd.weight", GB_GGML_Q6_K);    /* tied: the output's rule */
    EXPECT_TYPE(g, "position_embd.weight", GB_GGML_F32);  /* llama.cpp never quantizes it */
    EXPECT_TYPE(g, "blk.0.attn_qkv.weight", GB_GGML_Q6_K); /* llama.cpp: Q5_K */
    EXPECT_TYPE(g, "blk.1.attn_qkv.weight", GB_GGML_Q6_K);
    /* use_more_bits(i, 2): i >= 7·2/8 = 1 → layer 1 only */
    EXPECT_TYPE(g, "blk.0.ffn_down.weight", GB_GGML_Q4_K);
    EXPECT_TYPE(g, "blk.1.ffn_down.weight", GB_GGML_Q6_K);
    EXPECT_TYPE(g, "blk.0.ffn_up.weight", GB_GGML_Q4_K);
    EXPECT_TYPE(g, "blk.0.attn_output.weight", GB_GGML_Q4_K);
    EXPECT_TYPE(g, "blk.0.ffn_up.bias", GB_GGML_F32);
    gb_gguf_close(g);
    g = NULL;
    float *ref = eval_all(f32, c.vocab_size), *gm = eval_all(km, c.vocab_size);
    CHECK(ref && gm && rel_rms(gm, ref, (int64_t)T * c.vocab_size) <= 0.22);
    free(ref), free(gm);

    /* rows of 128 and 384 (llama-tiny): Q4_K and Q6_K do not fit, Q8_0 does */
    gb_model_config t;
    gb_model_config_preset(&t, "llama-tiny");
    t.vocab_size = 300, t.n_ctx = 32;
    const char *tf = gb_test_path("%s/mixt-f32.gguf", gb_test_tmpdir());
    const char *tq = gb_test_path("%s/mixt-q4km.gguf", gb_test_tmpdir());
    REQUIRE(write_model(&t, tf));
    CHECK_OK(gb_llm_quantize_ftype(tf, tq, GB_FTYPE_MOSTLY_Q4_K_M, 0));
    CHECK_OK(gb_gguf_open(&g, tq));
    REQUIRE(g);
    EXPECT_TYPE(g, "output.weight", GB_GGML_Q8_0);
    EXPECT_TYPE(g, "blk.0.attn_v.weight", GB_GGML_Q8_0);
    EXPECT_TYPE(g, "blk.1.ffn_down.weight", GB_GGML_Q8_0);
    EXPECT_TYPE(g, "blk.1.attn_q.weight", GB_GGML_Q8_0);
    gb_gguf_close(g);
    float *r2 = eval_all(tq, t.vocab_size);
    CHECK(r2 != NULL);
    free(r2);

    CHECK_EQ_INT(gb_llm_quantize_ftype(f32, km, (gb_llm_ftype)17, 0), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "17") != NULL);
}

TEST(infer_quantize_q4_k_m_cli) {
    gb_model_config c;
    gb_model_config_preset(&c, "llama-tiny");
    c.d_model = 256, c.d_ff = 512, c.vocab_size = 300, c.n_ctx = 32;
    const char *f32 = gb_test_path("%s/mixc-f32.gguf", gb_test_tmpdir());
    const char *q = gb_test_path("%s/mixc-q.gguf", gb_test_tmpdir());
    REQUIRE(write_model(&c, f32));
    static const struct {
        const char *name;
        const char *ft;
    } cases[] = {{"q4_k_m", "\"general.file_type\":\t15"}, {"Q4_K_S", "\"general.file_type\":\t14"},
                 {"q4_k", "\"general.file_type\":\t14"}};
    for (int i = 0; i < 3; i++) {
        char *out = NULL, *err = NULL;
        const char *a[] = {"quantize", f32, q, "--type", cases[i].name, "--verbose", NULL};
        CHECK_EQ_INT(gb_test_run(a, NULL, 0, &out, NULL, &err), 0);
        if (i == 0) {
            CHECK(out && strstr(out, "Q4_K_M"));
            /* 2 layers: use_more_bits(i, 2) holds for i >= 7·2/8 = 1 only */
            CHECK(err && strstr(err, "blk.1.attn_v.weight: Q6_K instead of Q4_K") && !strstr(err, "blk.0.attn_v"));
            CHECK(err && strstr(err, "output.weight: Q6_K instead of Q4_K"));
        }
        free(out), free(err);
        const char *j[] = {"info", q, "--json", NULL};
        CHECK_EQ_INT(gb_test_run(j, NULL, 0, &out, NULL, &err), 0);
        CHECK(out && strstr(out, cases[i].ft));
        free(out), free(err);
    }
    char *out = NULL, *err = NULL;
    const char *bad[] = {"quantize", f32, q, "--type", "q4_k_l", NULL};
    CHECK_EQ_INT(gb_test_run(bad, NULL, 0, &out, NULL, &err), 2);
    CHECK(err && gb_test_count_lines(err) == 1 && strstr(err, "q4_k_l") && strstr(err, "q4_k_m"));
    free(out), free(err);
}
