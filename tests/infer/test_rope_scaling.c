/* RoPE scaling in gb_llm, as llama.cpp applies it: rope.scaling.type linear with
 * rope.scaling.factor F (or the older rope.scale_linear) divides positions by F; the optional
 * rope_freqs.weight (Llama 3.1) divides the angle of pair i by its element i; "none" ignores
 * the factor; anything else, and malformed factors, are one-line errors.
 *
 * The reference is the training forward (gb_model_forward) with its cos/sin tables rewritten
 * here from the formula angle(t, i) = t / F · base^(-2i/HS) / ff_i, so a wrong scaling in the
 * engine shows as a logit mismatch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/model.h"
#include "glassbox/train.h"
#include "infer/llm_internal.h"
#include "model_fixture.h"
#include "test.h"

enum { V = 300, CTX = 64, T = 48 };

static gb_model_config rope_config(void) {
    gb_model_config c;
    gb_model_config_preset(&c, "llama-tiny"); /* 2 layers, C 128, 4/2 heads: HS 32 */
    c.vocab_size = V;
    c.n_ctx = CTX;
    return c;
}

typedef struct {
    const char *type;     /* llama.rope.scaling.type, or NULL */
    int type_as_u32;      /* write llama.rope.scaling.type as a u32 (a bad file) */
    double factor;        /* llama.rope.scaling.factor when != 0 */
    double scale_linear;  /* llama.rope.scale_linear when != 0 */
    double attn_factor;   /* llama.rope.scaling.attn_factor when != 0 */
    const float *freqs;   /* rope_freqs.weight, or NULL */
    int64_t n_freqs;
    int freqs_f16;        /* store rope_freqs as F16 (a bad file) */
    int freqs_2d;         /* store rope_freqs as [n/2, 2] (a bad file) */
} rope_edit;

/* Copies the GGUF `in` to `out` with the keys and tensor of e added. */
static int write_edited(const char *in, const char *out, const rope_edit *e) {
    gb_gguf *g = NULL;
    gb_gguf_writer *w = NULL;
    void *f16 = NULL;
    int ok = 0;
    if (gb_gguf_open(&g, in) || gb_gguf_writer_new(&w)) goto done;
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++)
        if (gb_gguf_add_kv_from(w, g, i)) goto done;
    if (e->type && gb_gguf_add_str(w, "llama.rope.scaling.type", e->type)) goto done;
    if (e->type_as_u32 && gb_gguf_add_u32(w, "llama.rope.scaling.type", 1)) goto done;
    if (e->factor != 0 && gb_gguf_add_f32(w, "llama.rope.scaling.factor", (float)e->factor)) goto done;
    if (e->scale_linear != 0 && gb_gguf_add_f32(w, "llama.rope.scale_linear", (float)e->scale_linear)) goto done;
    if (e->attn_factor != 0 && gb_gguf_add_f32(w, "llama.rope.scaling.attn_factor", (float)e->attn_factor)) goto done;
    if (e->freqs) {
        int64_t ne[2] = {e->n_freqs, 1};
        int nd = 1;
        if (e->freqs_2d) ne[0] = e->n_freqs / 2, ne[1] = 2, nd = 2;
        if (e->freqs_f16) {
            size_t nb = gb_quant_row_size(GB_GGML_F16, e->n_freqs);
            if (!(f16 = malloc(nb)) || gb_quant_quantize_row(GB_GGML_F16, f16, e->freqs, e->n_freqs)) goto done;
            if (gb_gguf_add_tensor(w, "rope_freqs.weight", GB_GGML_F16, nd, ne, f16, nb)) goto done;
        } else if (gb_gguf_add_tensor(w, "rope_freqs.weight", GB_GGML_F32, nd, ne, e->freqs,
                                      (size_t)e->n_freqs * sizeof(float)))
            goto done;
    }
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        if (gb_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes)) goto done;
    }
    ok = gb_gguf_write(w, out) == GB_OK;
done:
    free(f16);
    gb_gguf_writer_free(w);
    gb_gguf_close(g);
    return ok;
}

static void fill_tokens(uint32_t *tok, int32_t *tok32, uint32_t seed) {
    uint32_t s = seed;
    for (int t = 0; t < T; t++) {
        s = s * 1664525u + 1013904223u;
        tok[t] = (s >> 8) % V;
        tok32[t] = (int32_t)tok[t];
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

/* The training model's tables for angle = t / factor · base^(-2i/HS) / ff_i (ff NULL: 1). */
static void reference_tables(gb_model *tm, double factor, const float *ff) {
    const int HS = tm->cfg.d_model / tm->cfg.n_head, half = HS / 2;
    for (int t = 0; t < tm->cfg.n_ctx; t++)
        for (int i = 0; i < half; i++) {
            double inv_freq = exp(-(2.0 * i / HS) * log((double)tm->cfg.rope_theta));
            double a = t / factor * inv_freq / (ff ? ff[i] : 1.0);
            tm->rope_cos[t * half + i] = (float)cos(a);
            tm->rope_sin[t * half + i] = (float)sin(a);
        }
}

/* All T rows of logits of the model at path (V floats each), or NULL on error (reported). */
static float *eval_file(const char *path) {
    uint32_t tok[T];
    int32_t tok32[T];
    fill_tokens(tok, tok32, 23);
    float *out = malloc(sizeof(float) * T * V);
    gb_llm *m = NULL;
    gb_llm_set_kv_type(GB_GGML_F32); /* the training model's numbers */
    gb_status rc = gb_llm_load(&m, path, 0);
    gb_llm_set_kv_type(GB_GGML_F16);
    if (rc || !out || gb_llm_eval(m, tok, T, 0, out, 1)) {
        gb_test_fail(__FILE__, __LINE__, "eval of %s failed: %s", path, gb_last_error());
        free(out);
        out = NULL;
    }
    gb_llm_free(m);
    return out;
}

/* The training forward's logits with the reference tables (a pointer into tm). */
static const float *reference_logits(gb_model *tm, double factor, const float *ff) {
    uint32_t tok[T];
    int32_t tok32[T];
    fill_tokens(tok, tok32, 23);
    reference_tables(tm, factor, ff);
    if (gb_model_forward(tm, tok32, NULL, 1, T)) return NULL;
    return tm->logits;
}

static int same_bits(const float *a, const float *b) { return a && b && !memcmp(a, b, sizeof(float) * T * V); }

/* Llama 3.1's factors (convert_hf_to_gguf.py / transformers' llama3 rope) for a small original
 * context, so that the 16 pairs fall in all three regimes: kept, smoothed, divided by factor. */
static void llama31_freqs(float *ff, int HS, double base) {
    const double factor = 8, low = 1, high = 4, orig = 32;
    const double low_wl = orig / low, high_wl = orig / high;
    for (int i = 0; i < HS / 2; i++) {
        double freq = pow(base, -2.0 * i / HS), wl = 2 * M_PI / freq;
        if (wl < high_wl) ff[i] = 1.0f;
        else if (wl > low_wl) ff[i] = (float)factor;
        else {
            double smooth = (orig / wl - low) / (high - low);
            ff[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
        }
    }
}

TEST(infer_rope_linear_matches_reference) {
    gb_model_config c = rope_config();
    const char *base = gb_test_path("%s/rope-base.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, base, 17);
    REQUIRE(tm);
    const char *lin = gb_test_path("%s/rope-lin2.gguf", gb_test_tmpdir());
    const char *old = gb_test_path("%s/rope-old2.gguf", gb_test_tmpdir());
    const char *none = gb_test_path("%s/rope-none4.gguf", gb_test_tmpdir());
    const char *lin0 = gb_test_path("%s/rope-lin0.gguf", gb_test_tmpdir());
    REQUIRE(write_edited(base, lin, &(rope_edit){.type = "linear", .factor = 2}));
    REQUIRE(write_edited(base, old, &(rope_edit){.scale_linear = 2}));
    REQUIRE(write_edited(base, none, &(rope_edit){.type = "none", .factor = 4}));
    REQUIRE(write_edited(base, lin0, &(rope_edit){.type = "linear"}));

    /* the tables: position 2p of the factor-2 model is position p of the plain one, bit for bit */
    gb_llm *mb = NULL, *ml = NULL;
    CHECK_OK(gb_llm_load(&mb, base, 0));
    CHECK_OK(gb_llm_load(&ml, lin, 0));
    if (mb && ml) {
        const size_t half = (size_t)ml->rope_dim / 2;
        int same = 1, differ = 0;
        for (size_t p = 0; 2 * p < CTX; p++) {
            same &= !memcmp(ml->rope_cos + 2 * p * half, mb->rope_cos + p * half, half * sizeof(float));
            same &= !memcmp(ml->rope_sin + 2 * p * half, mb->rope_sin + p * half, half * sizeof(float));
            differ |= p > 0 && memcmp(ml->rope_cos + p * half, mb->rope_cos + p * half, half * sizeof(float));
        }
        CHECK(same);
        CHECK(differ);
        gb_llm_info info;
        gb_llm_get_info(ml, &info);
        CHECK_STR(info.rope_scaling, "linear");
        CHECK(info.rope_freq_scale == 0.5f);
        CHECK_EQ_INT(info.rope_freqs, 0);
        gb_llm_get_info(mb, &info);
        CHECK(info.rope_freq_scale == 1.0f);
    }
    gb_llm_free(mb);
    gb_llm_free(ml);

    /* the logits against the training forward with tables written from the formula */
    float *got = eval_file(lin);
    const float *want = reference_logits(tm, 2.0, NULL);
    REQUIRE(got && want);
    double r = rel_max(got, want, (int64_t)T * V);
    printf("    linear factor 2 vs reference forward: max |diff| / max |logit| = %.2e\n", r);
    CHECK(r <= 1e-4);
    want = reference_logits(tm, 1.0, NULL);
    REQUIRE(want);
    double r1 = rel_max(got, want, (int64_t)T * V);
    printf("    linear factor 2 vs the unscaled forward: %.2e (must differ)\n", r1);
    CHECK(r1 > 1e-3);

    /* the older key gives the same bits; "none" ignores a factor; linear without one is 1 */
    float *got_old = eval_file(old), *got_none = eval_file(none), *got_base = eval_file(base), *got_lin0 = eval_file(lin0);
    CHECK(same_bits(got_old, got));
    CHECK(same_bits(got_none, got_base));
    CHECK(same_bits(got_lin0, got_base));
    CHECK(got_base && rel_max(got_base, want, (int64_t)T * V) <= 1e-4);
    free(got), free(got_old), free(got_none), free(got_base), free(got_lin0);
    gb_model_free(tm);
}

TEST(infer_rope_freqs_matches_reference) {
    gb_model_config c = rope_config();
    const int HS = c.d_model / c.n_head, half = HS / 2;
    const char *base = gb_test_path("%s/rf-base.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, base, 17);
    REQUIRE(tm);
    float ones[64], twos[64], l31[64];
    for (int i = 0; i < half; i++) ones[i] = 1.0f, twos[i] = 2.0f;
    llama31_freqs(l31, HS, c.rope_theta);
    int kept = 0, divided = 0, smoothed = 0;
    for (int i = 0; i < half; i++) kept += l31[i] == 1.0f, divided += l31[i] == 8.0f;
    smoothed = half - kept - divided;
    CHECK(kept > 0 && divided > 0 && smoothed > 0);

    const char *p1 = gb_test_path("%s/rf-ones.gguf", gb_test_tmpdir());
    const char *p2 = gb_test_path("%s/rf-twos.gguf", gb_test_tmpdir());
    const char *pl = gb_test_path("%s/rf-lin2.gguf", gb_test_tmpdir());
    const char *p31 = gb_test_path("%s/rf-l31.gguf", gb_test_tmpdir());
    const char *p31l = gb_test_path("%s/rf-l31-lin2.gguf", gb_test_tmpdir());
    REQUIRE(write_edited(base, p1, &(rope_edit){.freqs = ones, .n_freqs = half}));
    REQUIRE(write_edited(base, p2, &(rope_edit){.freqs = twos, .n_freqs = half}));
    REQUIRE(write_edited(base, pl, &(rope_edit){.type = "linear", .factor = 2}));
    REQUIRE(write_edited(base, p31, &(rope_edit){.freqs = l31, .n_freqs = half}));
    REQUIRE(write_edited(base, p31l, &(rope_edit){.type = "linear", .factor = 2, .freqs = l31, .n_freqs = half}));

    float *g0 = eval_file(base), *g1 = eval_file(p1), *g2 = eval_file(p2), *gl = eval_file(pl);
    CHECK(same_bits(g1, g0)); /* all 1: as if absent */
    CHECK(same_bits(g2, gl)); /* all 2: linear factor 2 */
    CHECK(g0 && g2 && !same_bits(g2, g0));

    float *g31 = eval_file(p31);
    const float *want = reference_logits(tm, 1.0, l31);
    REQUIRE(g31 && want);
    double r = rel_max(g31, want, (int64_t)T * V);
    printf("    Llama 3.1 rope_freqs (%d kept, %d smoothed, %d / 8) vs reference: %.2e\n", kept, smoothed, divided, r);
    CHECK(r <= 1e-4);
    float *g31l = eval_file(p31l);
    want = reference_logits(tm, 2.0, l31);
    REQUIRE(g31l && want);
    r = rel_max(g31l, want, (int64_t)T * V);
    printf("    rope_freqs with linear factor 2 vs reference: %.2e\n", r);
    CHECK(r <= 1e-4);
    want = reference_logits(tm, 1.0, NULL);
    CHECK(want && rel_max(g31, want, (int64_t)T * V) > 1e-3);

    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, p31l, 0));
    if (m) {
        gb_llm_info info;
        gb_llm_get_info(m, &info);
        CHECK_EQ_INT(info.rope_freqs, 1);
        CHECK(info.rope_freq_scale == 0.5f);
    }
    gb_llm_free(m);
    free(g0), free(g1), free(g2), free(gl), free(g31), free(g31l);
    gb_model_free(tm);
}

static void expect_error(const char *path, const char *needle1, const char *needle2) {
    gb_llm *m = NULL;
    gb_status rc = gb_llm_load(&m, path, 0);
    CHECK(m == NULL);
    CHECK_EQ_INT(rc, GB_ERR_FORMAT);
    const char *msg = gb_last_error();
    if (!strstr(msg, needle1) || (needle2 && !strstr(msg, needle2)) || strchr(msg, '\n'))
        gb_test_fail(__FILE__, __LINE__, "error '%s' should be one line naming '%s'%s%s", msg, needle1,
                     needle2 ? " and " : "", needle2 ? needle2 : "");
    gb_llm_free(m);
}

TEST(infer_rope_bad_scaling) {
    gb_model_config c = rope_config();
    const int half = c.d_model / c.n_head / 2;
    const char *base = gb_test_path("%s/rb-base.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, base, 17);
    REQUIRE(tm);
    gb_model_free(tm);
    const char *p = gb_test_path("%s/rb-bad.gguf", gb_test_tmpdir());
    REQUIRE(write_edited(base, p, &(rope_edit){.type = "yarn", .factor = 4}));
    expect_error(p, "llama.rope.scaling.type = 'yarn'", "YaRN");
    REQUIRE(write_edited(base, p, &(rope_edit){.type = "longrope"}));
    expect_error(p, "llama.rope.scaling.type = 'longrope'", "not supported");
    REQUIRE(write_edited(base, p, &(rope_edit){.type = "sideways\n"}));
    expect_error(p, "'sideways?'", NULL);
    REQUIRE(write_edited(base, p, &(rope_edit){.type_as_u32 = 1}));
    expect_error(p, "llama.rope.scaling.type", "not string");
    REQUIRE(write_edited(base, p, &(rope_edit){.type = "linear", .factor = -2}));
    expect_error(p, "llama.rope.scaling.factor", "out of range");
    REQUIRE(write_edited(base, p, &(rope_edit){.scale_linear = NAN}));
    expect_error(p, "llama.rope.scale_linear", "out of range");
    REQUIRE(write_edited(base, p, &(rope_edit){.attn_factor = 1.5}));
    expect_error(p, "llama.rope.scaling.attn_factor", "not supported");

    float ff[64];
    for (int i = 0; i < 64; i++) ff[i] = 1.0f + (float)i;
    REQUIRE(write_edited(base, p, &(rope_edit){.freqs = ff, .n_freqs = half + 1}));
    expect_error(p, "rope_freqs.weight should be F32 of shape [16]", "not F32 [17]");
    REQUIRE(write_edited(base, p, &(rope_edit){.freqs = ff, .n_freqs = half, .freqs_f16 = 1}));
    expect_error(p, "rope_freqs.weight", "not F16 [16]");
    REQUIRE(write_edited(base, p, &(rope_edit){.freqs = ff, .n_freqs = half, .freqs_2d = 1}));
    expect_error(p, "rope_freqs.weight", "[8, 2]");
    ff[5] = 0.0f;
    REQUIRE(write_edited(base, p, &(rope_edit){.freqs = ff, .n_freqs = half}));
    expect_error(p, "rope_freqs.weight: element 5 is 0", NULL);
    ff[5] = -INFINITY;
    REQUIRE(write_edited(base, p, &(rope_edit){.freqs = ff, .n_freqs = half}));
    expect_error(p, "rope_freqs.weight: element 5 is -inf", NULL);
}

TEST(infer_rope_info_cli) {
    gb_model_config c = rope_config();
    const int HS = c.d_model / c.n_head;
    const char *base = gb_test_path("%s/ri-base.gguf", gb_test_tmpdir());
    gb_model *tm = fixture_write_model(&c, base, 17);
    REQUIRE(tm);
    gb_model_free(tm);
    float l31[64];
    llama31_freqs(l31, HS, c.rope_theta);
    const char *p = gb_test_path("%s/ri-scaled.gguf", gb_test_tmpdir());
    REQUIRE(write_edited(base, p, &(rope_edit){.type = "linear", .factor = 2, .freqs = l31, .n_freqs = HS / 2}));
    char *out = NULL, *err = NULL;
    const char *a[] = {"info", p, NULL};
    CHECK_EQ_INT(gb_test_run(a, NULL, 0, &out, NULL, &err), 0);
    CHECK(out && strstr(out, "rope scaling  linear, factor 2 (positions / 2)") &&
          strstr(out, "rope_freqs.weight: 16 factors 1 .. 8"));
    free(out), free(err);
    const char *j[] = {"info", p, "--json", NULL};
    CHECK_EQ_INT(gb_test_run(j, NULL, 0, &out, NULL, &err), 0);
    CHECK(out && strstr(out, "\"rope_scaling\"") && strstr(out, "\"type\":\t\"linear\"") &&
          strstr(out, "\"factor\":\t2") && strstr(out, "\"rope_freqs\":\t16"));
    free(out), free(err);
    /* no scaling: no line */
    const char *b[] = {"info", base, NULL};
    CHECK_EQ_INT(gb_test_run(b, NULL, 0, &out, NULL, &err), 0);
    CHECK(out && !strstr(out, "rope scaling"));
    free(out), free(err);
}
