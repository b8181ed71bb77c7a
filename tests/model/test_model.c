/* The transformer against PyTorch (tests/ref/model_ref.py golden files), finite
 * differences, config validation, weight init and thread-count independence.
 *
 * Tolerances against PyTorch (fp32 both sides, different summation orders):
 *   logits, loss, gradients: |got - want| <= 2e-5·max|want| + 1e-4·|want|  (per tensor)
 *   losses and gradient norms of the 3 AdamW steps: rtol 1e-5
 *   parameters after 3 AdamW steps: |got - want| <= 1e-5·max|want| + 1e-5·|want|, except
 *     where the first gradient is at noise level (< 1e-4 of its tensor's largest), which
 *     Adam's division by |g| turns into ±lr: there 10·lr (see golden_check)
 *   AdamW alone on torch's own gradients: 1e-7 + 1e-6·|want|
 * The measured worst errors are printed with GB_TEST_VERBOSE=1 and recorded in
 * docs/model.md; the bounds leave a few times that headroom, far below what any real bug
 * gives (a wrong kernel is off by O(1) relative). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/model.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "golden.h"
#include "test.h"

static int verbose(void) { return getenv("GB_TEST_VERBOSE") != NULL; }

/* Worst absolute and relative error (relative only where |want| > 1e-3·max|want|). */
static void measure(const float *got, const float *want, int64_t n, double *max_abs, double *max_rel,
                    double *max_want) {
    double mw = 0;
    for (int64_t i = 0; i < n; i++) mw = fmax(mw, fabs(want[i]));
    double ma = 0, mr = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        ma = fmax(ma, d);
        if (fabs(want[i]) > 1e-3 * mw) mr = fmax(mr, d / fabs(want[i]));
    }
    *max_abs = ma, *max_rel = mr, *max_want = mw;
}

/* Compares with atol = atol_frac·max|want| and rtol; keeps the worst ratio for the report. */
typedef struct {
    double worst_abs_frac; /* max over tensors of max|err| / max|want| */
    double worst_rel;
} summary;

static void close_to(summary *s, const char *what, const float *got, const float *want, int64_t n,
                     double atol_frac, double rtol) {
    double ma, mr, mw;
    measure(got, want, n, &ma, &mr, &mw);
    if (mw > 0) s->worst_abs_frac = fmax(s->worst_abs_frac, ma / mw);
    s->worst_rel = fmax(s->worst_rel, mr);
    gb_test_allclose(what, got, want, n, atol_frac * mw, rtol);
}

static int config_from_golden(const golden_file *g, gb_model_config *c) {
    const int32_t *ci = golden_i32(g, "config", 13);
    const float *cf = golden_f32(g, "config_f", 2);
    if (!ci || !cf) return 0;
    memset(c, 0, sizeof *c);
    c->n_layer = ci[0], c->n_head = ci[1], c->n_kv_head = ci[2], c->d_model = ci[3];
    c->d_ff = ci[4], c->vocab_size = ci[5], c->n_ctx = ci[6];
    c->norm = ci[7] ? GB_NORM_RMSNORM : GB_NORM_LAYERNORM;
    c->pos = ci[8] ? GB_POS_ROPE : GB_POS_LEARNED;
    c->mlp = ci[9] ? GB_MLP_SWIGLU : GB_MLP_GELU;
    c->bias = ci[10], c->tied = ci[11], c->fused_qkv = ci[12];
    c->norm_eps = cf[0], c->rope_theta = cf[1];
    strcpy(c->arch, c->fused_qkv ? "gpt2" : "llama");
    return 1;
}

/* Loads tests/ref/golden/model_<tag>.bin and a model holding its initial weights. */
static gb_model *golden_model(golden_file *g, const char *tag) {
    char path[256];
    snprintf(path, sizeof path, "tests/ref/golden/model_%s.bin", tag);
    if (golden_load(g, path)) {
        gb_test_fail(__FILE__, __LINE__, "%s", gb_last_error());
        return NULL;
    }
    gb_model_config c;
    gb_model *m = NULL;
    if (!config_from_golden(g, &c) || gb_model_init(&m, &c)) {
        gb_test_fail(__FILE__, __LINE__, "%s: bad config (%s)", path, gb_last_error());
        golden_free(g);
        return NULL;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "param.%s", t->name);
        const golden_tensor *gt = golden_get(g, name);
        int same = gt && gt->dtype == 0 && gt->ndim == t->ndim && gt->dims[0] == t->shape[0] &&
                   (t->ndim == 1 || gt->dims[1] == t->shape[1]);
        if (!same) {
            gb_test_fail(__FILE__, __LINE__, "%s: no tensor %s of the model's shape", path, name);
            gb_model_free(m);
            golden_free(g);
            return NULL;
        }
        memcpy(m->params + t->offset, gt->data, (size_t)t->numel * sizeof(float));
    }
    /* every golden parameter must be a model tensor: the two tables agree 1:1 */
    int n_golden = 0;
    for (int i = 0; i < g->n; i++) n_golden += strncmp(g->t[i].name, "param.", 6) == 0;
    CHECK_EQ_INT(n_golden, m->n_tensors);
    return m;
}

static void golden_check(const char *tag) {
    golden_file g;
    gb_model *m = golden_model(&g, tag);
    if (!m) return;
    const gb_model_config *c = &m->cfg;
    const golden_tensor *tk = golden_get(&g, "tokens");
    REQUIRE(tk && tk->ndim == 2);
    int B = (int)tk->dims[0], T = (int)tk->dims[1];
    int64_t N = (int64_t)B * T;
    const int32_t *tokens = golden_i32(&g, "tokens", N), *targets = golden_i32(&g, "targets", N);
    const float *logits = golden_f32(&g, "logits", N * c->vocab_size);
    const float *loss = golden_f32(&g, "loss", 1), *hp = golden_f32(&g, "adamw", 6);
    const float *losses = golden_f32(&g, "losses", 3), *norms = golden_f32(&g, "grad_norms", 3);
    REQUIRE(tokens && targets && logits && loss && hp && losses && norms);
    summary fwd = {0}, grad = {0}, step = {0};

    CHECK_OK(gb_model_forward(m, tokens, targets, B, T));
    close_to(&fwd, "logits", m->logits, logits, N * c->vocab_size, 2e-5, 1e-4);
    close_to(&fwd, "loss", &m->loss, loss, 1, 0, 1e-5);
    CHECK_OK(gb_model_zero_grad(m));
    CHECK_OK(gb_model_backward(m, 1.0f));
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "grad.%s", t->name);
        const float *want = golden_f32(&g, name, t->numel);
        if (!want) {
            gb_test_fail(__FILE__, __LINE__, "golden file has no %s", name);
            continue;
        }
        close_to(&grad, name, m->grads + t->offset, want, t->numel, 2e-5, 1e-4);
    }

    /* 3 steps of zero_grad, forward, backward, clip, AdamW on the same batch */
    gb_adamw opt;
    CHECK_OK(gb_adamw_init(&opt, m->n_floats, hp[1], hp[2], hp[3], hp[4]));
    for (int s = 0; s < 3; s++) {
        CHECK_OK(gb_model_zero_grad(m));
        CHECK_OK(gb_model_forward(m, tokens, targets, B, T));
        CHECK_OK(gb_model_backward(m, 1.0f));
        float norm = gb_model_clip_grad_norm(m, hp[5]);
        close_to(&step, "step loss", &m->loss, &losses[s], 1, 0, 1e-5);
        close_to(&step, "step grad norm", &norm, &norms[s], 1, 0, 1e-5);
        gb_adamw_step(&opt, m, hp[0]);
    }
    CHECK_EQ_INT(opt.step, 3);
    /* Adam divides by |g|: where the first gradient is at rounding-noise level (the key
     * bias, whose gradient is 0 in exact arithmetic because softmax ignores a shift of all
     * scores of a row) the two implementations' noise becomes ±lr steps. Those elements
     * get the bound 10·lr and must be rare; the rest the tight bound. */
    summary after = {0};
    int64_t n_noise = 0;
    float *want_ok = malloc((size_t)m->n_floats * sizeof(float));
    REQUIRE(want_ok);
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        char name[128], gname[128];
        snprintf(name, sizeof name, "step3.%s", t->name);
        snprintf(gname, sizeof gname, "grad.%s", t->name);
        const float *want = golden_f32(&g, name, t->numel), *g1 = golden_f32(&g, gname, t->numel);
        if (!want || !g1) {
            gb_test_fail(__FILE__, __LINE__, "golden file has no %s", name);
            continue;
        }
        float gmax = 0;
        for (int64_t k = 0; k < t->numel; k++) gmax = fmaxf(gmax, fabsf(g1[k]));
        const float *got = m->params + t->offset;
        for (int64_t k = 0; k < t->numel; k++) {
            want_ok[k] = want[k];
            if (g1[k] != 0 && fabsf(g1[k]) < 1e-4f * gmax) { /* exact zeros stay exact */
                n_noise++;
                if (!(fabsf(got[k] - want[k]) <= 10 * hp[0]))
                    gb_test_fail(__FILE__, __LINE__, "%s[%lld]: got %g want %g", name, (long long)k, got[k], want[k]);
                want_ok[k] = got[k]; /* judged above */
            }
        }
        close_to(&after, name, got, want_ok, t->numel, 1e-5, 1e-5);
    }
    free(want_ok);
    CHECK(n_noise * 100 < m->n_params);
    if (verbose())
        fprintf(stderr,
                "  %s vs torch: forward max|err|/max|want| %.2e, max rel %.2e; grads %.2e, rel %.2e; "
                "3-step losses/norms rel %.2e; params after 3 AdamW steps %.2e, rel %.2e "
                "(%lld noise-gradient elements held to 10 lr)\n",
                tag, fwd.worst_abs_frac, fwd.worst_rel, grad.worst_abs_frac, grad.worst_rel,
                step.worst_rel, after.worst_abs_frac, after.worst_rel, (long long)n_noise);
    gb_adamw_free(&opt);
    gb_model_free(m);
    golden_free(&g);
}

TEST(model_golden_gpt2) { golden_check("gpt2"); }
TEST(model_golden_llama) { golden_check("llama"); }

/* AdamW alone against torch.optim.AdamW on the same fixed gradients: only the optimizer's
 * own rounding differs, so the bound is a few float ulps (rtol 1e-6). */
TEST(model_adamw_vs_torch) {
    golden_file g;
    REQUIRE(golden_load(&g, "tests/ref/golden/model_adamw.bin") == GB_OK);
    const float *hp = golden_f32(&g, "adamw", 5), *w0 = golden_f32(&g, "param.w", 120),
                *b0 = golden_f32(&g, "param.b", 10);
    REQUIRE(hp && w0 && b0);
    gb_tensor_info t[2] = {{.name = "w", .offset = 0, .numel = 120, .ndim = 2, .shape = {12, 10}, .decay = 1},
                           {.name = "b", .offset = 128, .numel = 10, .ndim = 1, .shape = {10, 0}, .decay = 0}};
    float params[144] = {0}, grads[144] = {0};
    memcpy(params, w0, sizeof(float) * 120);
    memcpy(params + 128, b0, sizeof(float) * 10);
    gb_adamw opt;
    REQUIRE(gb_adamw_init(&opt, 144, hp[1], hp[2], hp[3], hp[4]) == GB_OK);
    double worst = 0;
    for (int s = 1; s <= 3; s++) {
        char n1[32], n2[32], n3[32], n4[32];
        snprintf(n1, sizeof n1, "grad%d.w", s), snprintf(n2, sizeof n2, "grad%d.b", s);
        snprintf(n3, sizeof n3, "step%d.w", s), snprintf(n4, sizeof n4, "step%d.b", s);
        const float *gw = golden_f32(&g, n1, 120), *gbias = golden_f32(&g, n2, 10);
        const float *ww = golden_f32(&g, n3, 120), *wb = golden_f32(&g, n4, 10);
        REQUIRE(gw && gbias && ww && wb);
        memcpy(grads, gw, sizeof(float) * 120);
        memcpy(grads + 128, gbias, sizeof(float) * 10);
        gb_adamw_step_tensors(&opt, params, grads, t, 2, hp[0]);
        gb_test_allclose(n3, params, ww, 120, 1e-7, 1e-6);
        gb_test_allclose(n4, params + 128, wb, 10, 1e-7, 1e-6);
        for (int k = 0; k < 120; k++) worst = fmax(worst, fabs((double)params[k] - ww[k]) / fmax(fabs(ww[k]), 1e-3));
        for (int k = 0; k < 10; k++) worst = fmax(worst, fabs((double)params[128 + k] - wb[k]) / fmax(fabs(wb[k]), 1e-3));
    }
    CHECK(params[138] == 0 && params[139] == 0); /* padding untouched */
    if (verbose()) fprintf(stderr, "  adamw vs torch: worst relative error over 3 steps %.2e\n", worst);
    gb_adamw_free(&opt);
    golden_free(&g);
}

/* ---- finite differences ---------------------------------------------------------------- */

/* Central differences of the fp32 loss on the golden weights, for the 2 largest-gradient
 * elements and 3 random elements of EVERY tensor (so every kernel's backward shows up).
 * fp32 loss noise (~1e-6 of a loss of ~5) over 2h = 2e-2 limits the agreement to ~1e-3
 * absolute, hence the tolerance. */
static void fd_check(const char *tag) {
    golden_file g;
    gb_model *m = golden_model(&g, tag);
    if (!m) return;
    const golden_tensor *tk = golden_get(&g, "tokens");
    int B = (int)tk->dims[0], T = (int)tk->dims[1];
    const int32_t *tokens = golden_i32(&g, "tokens", -1), *targets = golden_i32(&g, "targets", -1);
    CHECK_OK(gb_model_zero_grad(m));
    CHECK_OK(gb_model_forward(m, tokens, targets, B, T));
    CHECK_OK(gb_model_backward(m, 1.0f));
    const float h = 1e-2f;
    const double atol = 2e-3, rtol = 2e-2;
    double worst_err = 0, worst_rel = 0;
    int checked = 0, bad = 0;
    gb_rng r;
    gb_rng_seed(&r, 42);
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        int64_t pick[5] = {0, 0, 0, 0, 0};
        const float *gr = m->grads + t->offset;
        for (int64_t k = 0; k < t->numel; k++) /* two largest |grad| */
            if (fabsf(gr[k]) > fabsf(gr[pick[0]])) pick[1] = pick[0], pick[0] = k;
            else if (k != pick[0] && fabsf(gr[k]) > fabsf(gr[pick[1]])) pick[1] = k;
        for (int k = 2; k < 5; k++) pick[k] = (int64_t)gb_rng_below(&r, (uint64_t)t->numel);
        for (int k = 0; k < 5; k++) {
            float *p = m->params + t->offset + pick[k];
            float an = gr[pick[k]], p0 = *p, pp = p0 + h, pm = p0 - h;
            *p = pp;
            CHECK_OK(gb_model_forward(m, tokens, targets, B, T));
            double lp = m->loss;
            *p = pm;
            CHECK_OK(gb_model_forward(m, tokens, targets, B, T));
            double lm = m->loss;
            *p = p0;
            double fd = (lp - lm) / ((double)pp - (double)pm);
            double err = fabs(fd - an);
            worst_err = fmax(worst_err, err);
            if (fabs(an) > 1e-2) worst_rel = fmax(worst_rel, err / fabs(an));
            checked++;
            if (!(err <= atol + rtol * fabs(an))) {
                bad++;
                gb_test_fail(__FILE__, __LINE__, "%s: %s[%lld]: analytic %.6g, finite difference %.6g",
                             tag, t->name, (long long)pick[k], an, fd);
            }
        }
    }
    if (verbose())
        fprintf(stderr, "  %s finite differences: %d elements of %d tensors, %d off; worst |err| %.2e, "
                "worst rel (|grad| > 1e-2) %.2e\n", tag, checked, m->n_tensors, bad, worst_err, worst_rel);
    gb_model_free(m);
    golden_free(&g);
}

TEST(model_finite_difference_gpt2) { fd_check("gpt2"); }
TEST(model_finite_difference_llama) { fd_check("llama"); }

/* ---- thread-count independence --------------------------------------------------------- */

typedef struct {
    float loss, norm;
    float *logits, *grads, *params;
} run_result;

/* init, forward, backward, clip, one AdamW step with `threads` threads */
static int run_once(const gb_model_config *c, int threads, int B, int T, const int32_t *tok,
                    const int32_t *tgt, run_result *out) {
    gb_threads_set(threads);
    gb_model *m = NULL;
    gb_adamw opt = {0};
    int ok = 0;
    if (gb_model_init(&m, c)) goto done;
    gb_model_init_weights(m, 7);
    if (gb_model_zero_grad(m) || gb_model_forward(m, tok, tgt, B, T)) goto done;
    out->loss = m->loss;
    size_t nl = (size_t)B * T * c->vocab_size, np = (size_t)m->n_floats;
    out->logits = malloc(nl * sizeof(float));
    out->grads = malloc(np * sizeof(float));
    out->params = malloc(np * sizeof(float));
    if (!out->logits || !out->grads || !out->params) goto done;
    memcpy(out->logits, m->logits, nl * sizeof(float));
    if (gb_model_backward(m, 1.0f)) goto done;
    out->norm = gb_model_clip_grad_norm(m, 1.0f);
    memcpy(out->grads, m->grads, np * sizeof(float));
    if (gb_adamw_init(&opt, m->n_floats, 0.9f, 0.95f, 1e-8f, 0.1f)) goto done;
    gb_adamw_step(&opt, m, 1e-3f);
    memcpy(out->params, m->params, np * sizeof(float));
    ok = 1;
done:
    gb_adamw_free(&opt);
    gb_model_free(m);
    gb_threads_set(0);
    return ok;
}

static void free_result(run_result *r) {
    free(r->logits), free(r->grads), free(r->params);
}

static void threads_check(gb_model_config c) {
    enum { B = 3, T = 13 };
    c.vocab_size = 97, c.n_ctx = 16;
    int32_t tok[B * T], tgt[B * T];
    gb_rng r;
    gb_rng_seed(&r, 3);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)gb_rng_below(&r, 97), tgt[i] = (int32_t)gb_rng_below(&r, 97);
    gb_model *probe = NULL;
    REQUIRE(gb_model_init(&probe, &c) == GB_OK);
    size_t nl = (size_t)B * T * c.vocab_size * sizeof(float), np = (size_t)probe->n_floats * sizeof(float);
    gb_model_free(probe);
    run_result one = {0};
    REQUIRE(run_once(&c, 1, B, T, tok, tgt, &one));
    for (int threads = 2; threads <= 3; threads++) {
        run_result many = {0};
        if (!run_once(&c, threads, B, T, tok, tgt, &many)) {
            gb_test_fail(__FILE__, __LINE__, "run with %d threads failed: %s", threads, gb_last_error());
        } else {
            CHECK(memcmp(&one.loss, &many.loss, sizeof one.loss) == 0);
            CHECK(memcmp(&one.norm, &many.norm, sizeof one.norm) == 0);
            CHECK(memcmp(one.logits, many.logits, nl) == 0);
            CHECK(memcmp(one.grads, many.grads, np) == 0);
            CHECK(memcmp(one.params, many.params, np) == 0);
        }
        free_result(&many);
    }
    free_result(&one);
}

TEST(model_threads_bit_identical) {
    gb_model_config c;
    CHECK_OK(gb_model_config_preset(&c, "gpt2-tiny"));
    c.n_layer = 2, c.d_model = 48, c.n_head = 4, c.d_ff = 96;
    threads_check(c);
    CHECK_OK(gb_model_config_preset(&c, "llama-tiny"));
    c.n_layer = 2, c.d_model = 48, c.n_head = 6, c.n_kv_head = 3, c.d_ff = 80;
    threads_check(c);
}

/* ---- configs, presets, tensor table ---------------------------------------------------- */

static void expect_bad(gb_model_config c, const char *needle) {
    gb_status rc = gb_model_config_validate(&c);
    CHECK_EQ_INT(rc, GB_ERR_ARG);
    if (rc == GB_ERR_ARG && !strstr(gb_last_error(), needle))
        gb_test_fail(__FILE__, __LINE__, "message '%s' does not mention '%s'", gb_last_error(), needle);
    CHECK_EQ_INT(gb_test_count_lines(gb_last_error()), 0);
    gb_model *m = (gb_model *)1;
    CHECK_EQ_INT(gb_model_init(&m, &c), GB_ERR_ARG);
    CHECK(m == NULL);
}

TEST(model_config_validation) {
    gb_model_config ok, c;
    CHECK_OK(gb_model_config_preset(&ok, "llama-tiny"));
    CHECK_OK(gb_model_config_validate(&ok));
    c = ok, c.n_head = 3;
    expect_bad(c, "does not divide d_model");
    c = ok, c.n_kv_head = 3;
    expect_bad(c, "does not divide n_head");
    c = ok, c.d_model = 0;
    expect_bad(c, "d_model");
    c = ok, c.n_layer = -1;
    expect_bad(c, "n_layer");
    c = ok, c.vocab_size = 0;
    expect_bad(c, "vocab_size");
    c = ok, c.n_ctx = 0;
    expect_bad(c, "n_ctx");
    c = ok, c.d_ff = 0;
    expect_bad(c, "d_ff");
    c = ok, c.n_head = 8, c.d_model = 120, c.n_kv_head = 2; /* head size 15 */
    expect_bad(c, "even head size");
    c = ok, c.norm_eps = 0;
    expect_bad(c, "norm_eps");
    c = ok, c.rope_theta = 0;
    expect_bad(c, "rope_theta");
    c = ok, c.norm = (gb_norm_kind)7;
    expect_bad(c, "norm");
    c = ok, c.d_model = 1 << 30;
    expect_bad(c, "d_model");
    /* odd head sizes are fine without rope */
    c = ok, c.pos = GB_POS_LEARNED, c.n_head = 8, c.d_model = 120, c.n_kv_head = 2;
    CHECK_OK(gb_model_config_validate(&c));
    CHECK_EQ_INT(gb_model_config_preset(&c, "gpt5"), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "gpt5") != NULL);
}

TEST(model_presets_and_tensor_names) {
    for (const char *const *p = gb_model_preset_names(); *p; p++) {
        gb_model_config c;
        CHECK_OK(gb_model_config_preset(&c, *p));
        CHECK_OK(gb_model_config_validate(&c));
    }
    gb_model_config c;
    int64_t n = 0;
    CHECK_OK(gb_model_config_preset(&c, "gpt2-124m"));
    CHECK_OK(gb_model_config_n_params(&c, &n));
    CHECK_EQ_INT(n, 124439808); /* GPT-2 small as published (tied, vocab 50257, ctx 1024) */

    gb_model *m = NULL;
    CHECK_OK(gb_model_config_preset(&c, "gpt2-tiny"));
    c.vocab_size = 100;
    REQUIRE(gb_model_init(&m, &c) == GB_OK);
    CHECK_EQ_INT(m->n_tensors, 2 + 12 * 2 + 2);
    const gb_tensor_info *t = gb_model_tensor(m, "blk.1.attn_qkv.weight");
    REQUIRE(t != NULL);
    CHECK(t->ndim == 2 && t->shape[0] == 3 * 128 && t->shape[1] == 128 && t->decay);
    t = gb_model_tensor(m, "blk.0.ffn_norm.bias");
    REQUIRE(t != NULL);
    CHECK(t->ndim == 1 && !t->decay);
    CHECK(gb_model_tensor(m, "token_embd.weight")->decay);
    CHECK(gb_model_tensor(m, "output.weight") == NULL); /* tied */
    CHECK(m->output == m->token_embd);
    int64_t sum = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        CHECK(m->tensors[i].offset % 16 == 0); /* 64-byte aligned */
        sum += m->tensors[i].numel;
    }
    CHECK_EQ_INT(sum, m->n_params);
    gb_model_free(m);

    CHECK_OK(gb_model_config_preset(&c, "llama-tiny"));
    c.vocab_size = 100;
    REQUIRE(gb_model_init(&m, &c) == GB_OK);
    static const char *names[] = {"token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
                                  "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight",
                                  "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
                                  "blk.0.ffn_down.weight", "output_norm.weight", "output.weight"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) CHECK(gb_model_tensor(m, names[i]) != NULL);
    CHECK(gb_model_tensor(m, "position_embd.weight") == NULL);
    CHECK(gb_model_tensor(m, "blk.0.attn_q.bias") == NULL);
    CHECK_EQ_INT(gb_model_tensor(m, "blk.1.attn_k.weight")->shape[0], 64); /* 2 kv heads × 32 */
    /* the fused views rely on q,k,v and gate,up being adjacent */
    const gb_tensor_info *q = gb_model_tensor(m, "blk.0.attn_q.weight"), *k = gb_model_tensor(m, "blk.0.attn_k.weight");
    CHECK_EQ_INT(k->offset, q->offset + q->numel);
    CHECK(m->layers[0].attn_qkv_w == m->params + q->offset);
    gb_model_free(m);
    gb_model_free(NULL);
}

TEST(model_init_weights) {
    gb_model_config c;
    CHECK_OK(gb_model_config_preset(&c, "gpt2-tiny"));
    c.vocab_size = 256;
    gb_model *a = NULL, *b = NULL;
    REQUIRE(gb_model_init(&a, &c) == GB_OK);
    REQUIRE(gb_model_init(&b, &c) == GB_OK);
    gb_threads_set(1);
    gb_model_init_weights(a, 11);
    gb_threads_set(2);
    gb_model_init_weights(b, 11);
    gb_threads_set(0);
    CHECK(memcmp(a->params, b->params, (size_t)a->n_floats * sizeof(float)) == 0);
    gb_model_init_weights(b, 12);
    CHECK(memcmp(a->params, b->params, (size_t)a->n_floats * sizeof(float)) != 0);
    for (int i = 0; i < a->n_tensors; i++) {
        const gb_tensor_info *t = &a->tensors[i];
        const float *p = a->params + t->offset;
        double s = 0, s2 = 0;
        for (int64_t k = 0; k < t->numel; k++) s += p[k], s2 += (double)p[k] * p[k];
        double mean = s / t->numel, sd = sqrt(s2 / t->numel - mean * mean);
        if (t->ndim == 1) {
            float want = strstr(t->name, "norm.weight") ? 1.0f : 0.0f;
            CHECK(mean == want && sd < 1e-6);
        } else {
            int resid = strstr(t->name, "attn_output") || strstr(t->name, "ffn_down");
            double want = resid ? 0.02 / sqrt(2.0 * c.n_layer) : 0.02;
            if (fabs(sd - want) > 0.1 * want)
                gb_test_fail(__FILE__, __LINE__, "%s: std %.5f, want %.5f", t->name, sd, want);
        }
    }
    gb_model_free(a);
    gb_model_free(b);
}

TEST(model_bad_input) {
    gb_model_config c;
    CHECK_OK(gb_model_config_preset(&c, "llama-tiny"));
    c.vocab_size = 50, c.n_ctx = 8, c.n_layer = 1;
    gb_model *m = NULL;
    REQUIRE(gb_model_init(&m, &c) == GB_OK);
    gb_model_init_weights(m, 1);
    int32_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8}, tgt[8] = {2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_EQ_INT(gb_model_backward(m, 1.0f), GB_ERR_ARG); /* no forward yet */
    tok[3] = 50;
    CHECK_EQ_INT(gb_model_forward(m, tok, tgt, 1, 8), GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "token 50") != NULL);
    tok[3] = 4, tgt[5] = -1;
    CHECK_EQ_INT(gb_model_forward(m, tok, tgt, 1, 8), GB_ERR_ARG);
    tgt[5] = 7;
    CHECK_EQ_INT(gb_model_forward(m, tok, tgt, 1, 9), GB_ERR_ARG); /* T > n_ctx */
    CHECK_EQ_INT(gb_model_forward(m, tok, tgt, 0, 8), GB_ERR_ARG);
    CHECK_OK(gb_model_forward(m, tok, NULL, 1, 8));
    CHECK(isnan(m->loss));
    CHECK_EQ_INT(gb_model_backward(m, 1.0f), GB_ERR_ARG); /* no targets */
    CHECK_OK(gb_model_forward(m, tok, tgt, 2, 4));       /* new shape: new activations */
    CHECK(isfinite(m->loss) && m->B == 2 && m->T == 4);
    CHECK_OK(gb_model_backward(m, 1.0f));
    CHECK_EQ_INT(gb_model_backward(m, 1.0f), GB_ERR_ARG); /* logits already consumed */
    gb_model_free(m);
}

/* Micro-batches accumulate: two backward passes with dloss 0.5 equal one with dloss 1. */
TEST(model_grad_accumulation) {
    gb_model_config c;
    CHECK_OK(gb_model_config_preset(&c, "gpt2-tiny"));
    c.vocab_size = 40, c.n_ctx = 8, c.n_layer = 1, c.d_model = 32, c.d_ff = 64;
    gb_model *m = NULL;
    REQUIRE(gb_model_init(&m, &c) == GB_OK);
    gb_model_init_weights(m, 5);
    int32_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8}, tgt[8] = {2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_OK(gb_model_zero_grad(m));
    CHECK_OK(gb_model_forward(m, tok, tgt, 1, 8));
    CHECK_OK(gb_model_backward(m, 1.0f));
    size_t np = (size_t)m->n_floats;
    float *once = malloc(np * sizeof(float));
    REQUIRE(once);
    memcpy(once, m->grads, np * sizeof(float));
    CHECK_OK(gb_model_zero_grad(m));
    for (int k = 0; k < 2; k++) {
        CHECK_OK(gb_model_forward(m, tok, tgt, 1, 8));
        CHECK_OK(gb_model_backward(m, 0.5f));
    }
    gb_test_allclose("accumulated grads", m->grads, once, (int64_t)np, 1e-7, 1e-5);
    free(once);
    gb_model_free(m);
}
