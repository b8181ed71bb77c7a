/* glassbox — sampler tests: each filter on hand-made logits with exact survivors, the
 * penalties' formulas, seeded reproducibility, the empirical distribution against
 * softmax(logits/T), and the log-probabilities' normalisation. */
#include <stdlib.h>

#include "glassbox/infer.h"
#include "glassbox/rng.h"
#include "test.h"

/* All filters and penalties off; temperature 1. */
static gb_sampler_params plain_params(void) {
    gb_sampler_params p;
    gb_sampler_params_default(&p);
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.seed = 1234;
    return p;
}

/* Candidates of `logits` under p, compared with the expected ids (best first). */
static int survivors_are(const gb_sampler_params *p, const float *logits, int64_t V, const uint32_t *want,
                         int64_t n_want) {
    gb_sampler *s = NULL;
    if (gb_sampler_new(&s, p, V) != GB_OK) return 0;
    uint32_t ids[64];
    float probs[64];
    int64_t n = gb_sampler_candidates(s, logits, ids, probs);
    int ok = n == n_want;
    for (int64_t i = 0; ok && i < n; i++) ok = ids[i] == want[i];
    if (!ok) {
        fprintf(stderr, "    got %lld survivors:", (long long)n);
        for (int64_t i = 0; i < n; i++) fprintf(stderr, " %u", ids[i]);
        fprintf(stderr, "\n");
    }
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += probs[i];
    if (fabs(sum - 1.0) > 1e-5) ok = 0;
    gb_sampler_free(s);
    return ok;
}

/* logits = log(probs): the softmax gives the probabilities back */
static void log_of(float *out, const double *p, int n) {
    for (int i = 0; i < n; i++) out[i] = (float)log(p[i]);
}

TEST(infer_sampler_params_checked) {
    gb_sampler_params p = plain_params();
    gb_sampler *s = NULL;
    p.temperature = -1;
    CHECK(gb_sampler_new(&s, &p, 10) == GB_ERR_ARG && !s);
    p = plain_params(), p.top_p = 0;
    CHECK(gb_sampler_new(&s, &p, 10) == GB_ERR_ARG);
    p = plain_params(), p.min_p = 1.5f;
    CHECK(gb_sampler_new(&s, &p, 10) == GB_ERR_ARG);
    p = plain_params(), p.top_k = -1;
    CHECK(gb_sampler_new(&s, &p, 10) == GB_ERR_ARG);
    p = plain_params(), p.repeat_penalty = 0;
    CHECK(gb_sampler_new(&s, &p, 10) == GB_ERR_ARG);
    p = plain_params();
    CHECK(gb_sampler_new(&s, &p, 0) == GB_ERR_ARG);
    gb_sampler_free(NULL);
}

TEST(infer_sampler_greedy_argmax_lowest_id) {
    gb_sampler_params p = plain_params();
    p.temperature = 0;
    p.top_k = 1; /* filters do not matter to greedy */
    gb_sampler *s = NULL;
    CHECK_OK(gb_sampler_new(&s, &p, 6));
    REQUIRE(s);
    const float logits[6] = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f, NAN};
    gb_token_logprob ch, top[6];
    for (int rep = 0; rep < 3; rep++) CHECK_EQ_INT(gb_sampler_sample(s, logits, &ch, top, 6), 1);
    /* logprob of the untempered distribution; NaN counts as -inf */
    double z = exp(0.5) + 2 * exp(2.0) + exp(-1.0) + exp(1.9);
    CHECK(fabs(ch.logprob - (2.0 - log(z))) < 1e-5);
    CHECK_EQ_INT(top[0].id, 1);
    CHECK_EQ_INT(top[1].id, 3);
    CHECK_EQ_INT(top[2].id, 4);
    CHECK_EQ_INT(top[3].id, 0);
    CHECK_EQ_INT(top[4].id, 2);
    CHECK(isinf(top[5].logprob) && top[5].logprob < 0);
    gb_sampler_free(s);
}

TEST(infer_sampler_top_k_survivors) {
    const float logits[6] = {1.0f, 3.0f, 2.0f, 3.0f, 0.0f, 2.5f};
    gb_sampler_params p = plain_params();
    p.top_k = 2;
    CHECK(survivors_are(&p, logits, 6, (const uint32_t[]){1, 3}, 2));
    p.top_k = 3;
    CHECK(survivors_are(&p, logits, 6, (const uint32_t[]){1, 3, 5}, 3));
    p.top_k = 100; /* more than the vocabulary: all, best first */
    CHECK(survivors_are(&p, logits, 6, (const uint32_t[]){1, 3, 5, 2, 0, 4}, 6));
}

TEST(infer_sampler_top_p_survivors) {
    float logits[4];
    log_of(logits, (const double[]){0.15, 0.5, 0.05, 0.3}, 4);
    gb_sampler_params p = plain_params();
    p.top_p = 0.45f; /* the first token alone reaches 0.45 */
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1}, 1));
    p.top_p = 0.75f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1, 3}, 2));
    p.top_p = 0.85f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1, 3, 0}, 3));
    p.top_p = 0.99f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1, 3, 0, 2}, 4));
    /* after top-k the nucleus is measured on the renormalised top-k mass (0.8): 0.5/0.8 >= 0.6 */
    p.top_k = 2, p.top_p = 0.6f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1}, 1));
    p.top_p = 0.65f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1, 3}, 2));
}

TEST(infer_sampler_min_p_survivors) {
    float logits[4];
    log_of(logits, (const double[]){0.15, 0.5, 0.05, 0.3}, 4);
    gb_sampler_params p = plain_params();
    p.min_p = 0.2f; /* keep p >= 0.1 */
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1, 3, 0}, 3));
    p.min_p = 0.7f; /* keep p >= 0.35 */
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1}, 1));
    p.min_p = 0.59f; /* 0.3 >= 0.295 */
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){1, 3}, 2));
}

TEST(infer_sampler_temperature_before_filters) {
    /* at T = 0.5 the probabilities are ∝ p²: 0.25, 0.09, 0.0225, 0.0025 → 0.685, 0.247, 0.062, 0.007 */
    float logits[4];
    log_of(logits, (const double[]){0.5, 0.3, 0.15, 0.05}, 4);
    gb_sampler_params p = plain_params();
    p.temperature = 0.5f;
    p.top_p = 0.65f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){0}, 1));
    p.top_p = 0.9f;
    CHECK(survivors_are(&p, logits, 4, (const uint32_t[]){0, 1}, 2));
}

/* A large vocabulary takes the pruning shortcut: the survivors must equal a full sort's. */
TEST(infer_sampler_filters_large_vocab_match_reference) {
    enum { V = 5000 };
    static float logits[V];
    static uint32_t ids[V], order[V];
    static float probs[V];
    static double pr[V];
    gb_rng r;
    gb_rng_seed(&r, 7);
    for (int i = 0; i < V; i++) logits[i] = 3.0f * gb_rng_normal(&r);
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < V; i++) mx = fmax(mx, logits[i]);
    for (int i = 0; i < V; i++) z += exp(logits[i] - mx);
    for (int i = 0; i < V; i++) pr[i] = exp(logits[i] - mx) / z, order[i] = (uint32_t)i;
    /* selection sort of the head is enough: the reference only needs the top few hundred */
    for (int i = 0; i < 400; i++) {
        int b = i;
        for (int j = i + 1; j < V; j++)
            if (pr[order[j]] > pr[order[b]]) b = j;
        uint32_t t = order[i];
        order[i] = order[b], order[b] = t;
    }
    const struct {
        int k;
        float top_p, min_p;
    } cases[] = {{0, 0.5f, 0}, {0, 0.9f, 0}, {0, 1.0f, 0.01f}, {50, 1.0f, 0}, {200, 0.95f, 0.001f}, {0, 0.95f, 0.05f}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t n = 0;
        double cum = 0, mass = 0;
        int64_t nk = cases[c].k ? cases[c].k : V;
        for (int64_t i = 0; i < nk && i < 400; i++) mass += pr[order[i]];
        if (!cases[c].k) mass = 1.0;
        if (cases[c].top_p < 1) {
            while (n < nk) {
                cum += pr[order[n++]];
                if (cum >= cases[c].top_p * mass) break;
            }
        } else {
            n = nk;
        }
        if (cases[c].min_p > 0) {
            int64_t j = 1;
            while (j < n && pr[order[j]] >= cases[c].min_p * pr[order[0]]) j++;
            n = j;
        }
        REQUIRE(n < 400);
        gb_sampler_params p = plain_params();
        p.top_k = cases[c].k, p.top_p = cases[c].top_p, p.min_p = cases[c].min_p;
        gb_sampler *s = NULL;
        CHECK_OK(gb_sampler_new(&s, &p, V));
        REQUIRE(s);
        int64_t got = gb_sampler_candidates(s, logits, ids, probs);
        CHECK_EQ_INT(got, n);
        for (int64_t i = 0; i < n && i < got; i++)
            if (ids[i] != order[i]) {
                gb_test_fail(__FILE__, __LINE__, "case %zu: survivor %lld is %u, want %u", c, (long long)i,
                             ids[i], order[i]);
                break;
            }
        gb_sampler_free(s);
    }
}

TEST(infer_sampler_seeded_reproducible) {
    float logits[50];
    gb_rng r;
    gb_rng_seed(&r, 3);
    for (int i = 0; i < 50; i++) logits[i] = gb_rng_normal(&r);
    gb_sampler_params p = plain_params();
    p.top_k = 20, p.top_p = 0.9f;
    gb_sampler *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(gb_sampler_new(&a, &p, 50));
    CHECK_OK(gb_sampler_new(&b, &p, 50));
    p.seed++;
    CHECK_OK(gb_sampler_new(&c, &p, 50));
    REQUIRE(a && b && c);
    int same = 1, differs = 0;
    for (int i = 0; i < 200; i++) {
        uint32_t x = gb_sampler_sample(a, logits, NULL, NULL, 0);
        uint32_t y = gb_sampler_sample(b, logits, NULL, NULL, 0);
        uint32_t z = gb_sampler_sample(c, logits, NULL, NULL, 0);
        same &= x == y;
        differs |= x != z;
    }
    CHECK(same);
    CHECK(differs);
    gb_sampler_free(a), gb_sampler_free(b), gb_sampler_free(c);
}

/* 100k draws at T = 0.7 against softmax(logits/T): Pearson's chi-square with 7 degrees of
 * freedom stays below 24.3 (p = 0.001) for a correct sampler; the seed is fixed, so the
 * test is deterministic. */
TEST(infer_sampler_distribution_chi_square) {
    const float logits[8] = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
    const float T = 0.7f;
    gb_sampler_params p = plain_params();
    p.temperature = T;
    gb_sampler *s = NULL;
    CHECK_OK(gb_sampler_new(&s, &p, 8));
    REQUIRE(s);
    enum { N = 100000 };
    long count[8] = {0};
    for (int i = 0; i < N; i++) count[gb_sampler_sample(s, logits, NULL, NULL, 0)]++;
    double z = 0, e[8];
    for (int i = 0; i < 8; i++) z += exp(logits[i] / T);
    double chi2 = 0;
    for (int i = 0; i < 8; i++) {
        e[i] = N * exp(logits[i] / T) / z;
        chi2 += (count[i] - e[i]) * (count[i] - e[i]) / e[i];
    }
    if (!(chi2 < 24.3)) gb_test_fail(__FILE__, __LINE__, "chi-square %.2f >= 24.3", chi2);
    gb_sampler_free(s);
}

/* Draws under top-k follow the renormalised survivors' distribution (and nothing else). */
TEST(infer_sampler_distribution_after_top_k) {
    const float logits[5] = {0.0f, 1.0f, 0.5f, -2.0f, 0.9f};
    gb_sampler_params p = plain_params();
    p.top_k = 3;
    gb_sampler *s = NULL;
    CHECK_OK(gb_sampler_new(&s, &p, 5));
    REQUIRE(s);
    enum { N = 100000 };
    long count[5] = {0};
    for (int i = 0; i < N; i++) count[gb_sampler_sample(s, logits, NULL, NULL, 0)]++;
    CHECK_EQ_INT(count[0], 0);
    CHECK_EQ_INT(count[3], 0);
    double z = exp(1.0) + exp(0.5) + exp(0.9), chi2 = 0;
    const int kept[3] = {1, 2, 4};
    for (int j = 0; j < 3; j++) {
        double e = N * exp((double)logits[kept[j]]) / z;
        chi2 += (count[kept[j]] - e) * (count[kept[j]] - e) / e;
    }
    if (!(chi2 < 13.8)) gb_test_fail(__FILE__, __LINE__, "chi-square %.2f >= 13.8 (2 dof)", chi2);
    gb_sampler_free(s);
}

/* The penalties change the logits exactly as the formulas say; the logprobs show them. */
TEST(infer_sampler_penalties_formulas) {
    enum { V = 6 };
    const float logits[V] = {2.0f, -1.0f, 0.5f, 3.0f, -0.25f, 1.0f};
    gb_sampler_params p = plain_params();
    p.repeat_penalty = 1.3f;
    p.frequency_penalty = 0.4f;
    p.presence_penalty = 0.25f;
    p.repeat_last_n = 4;
    gb_sampler *s = NULL;
    CHECK_OK(gb_sampler_new(&s, &p, V));
    REQUIRE(s);
    /* history 5 0 1 0 3 0: the window of 4 holds 1 0 3 0 → counts {0:2, 1:1, 3:1} */
    const uint32_t hist[] = {5, 0, 1, 0, 3, 0};
    for (int i = 0; i < 6; i++) gb_sampler_accept(s, hist[i]);
    float want[V];
    memcpy(want, logits, sizeof want);
    want[0] = 2.0f / 1.3f - 2 * 0.4f - 0.25f;
    want[1] = -1.0f * 1.3f - 0.4f - 0.25f;
    want[3] = 3.0f / 1.3f - 0.4f - 0.25f;
    gb_token_logprob top[V];
    gb_sampler_sample(s, logits, NULL, top, V);
    double z = 0;
    for (int i = 0; i < V; i++) z += exp((double)want[i]);
    float got[V], lp[V];
    for (int i = 0; i < V; i++) got[top[i].id] = top[i].logprob;
    for (int i = 0; i < V; i++) lp[i] = (float)(want[i] - log(z));
    gb_test_allclose("penalised logprobs", got, lp, V, 1e-5, 1e-5);
    gb_sampler_free(s);
}

/* Penalties alone change the greedy choice; a token leaves the window after N accepts. */
TEST(infer_sampler_penalty_window) {
    const float logits[3] = {1.0f, 0.9f, 0.0f};
    gb_sampler_params p = plain_params();
    p.temperature = 0;
    p.presence_penalty = 0.5f;
    p.repeat_last_n = 2;
    gb_sampler *s = NULL;
    CHECK_OK(gb_sampler_new(&s, &p, 3));
    REQUIRE(s);
    CHECK_EQ_INT(gb_sampler_sample(s, logits, NULL, NULL, 0), 0);
    gb_sampler_accept(s, 0);
    CHECK_EQ_INT(gb_sampler_sample(s, logits, NULL, NULL, 0), 1);
    gb_sampler_accept(s, 2);
    CHECK_EQ_INT(gb_sampler_sample(s, logits, NULL, NULL, 0), 1);
    gb_sampler_accept(s, 2); /* window now {2, 2}: token 0 is free again */
    CHECK_EQ_INT(gb_sampler_sample(s, logits, NULL, NULL, 0), 0);
    gb_sampler_free(s);
}

TEST(infer_sampler_logprobs_normalised) {
    enum { V = 300 };
    static float logits[V];
    gb_rng r;
    gb_rng_seed(&r, 11);
    for (int i = 0; i < V; i++) logits[i] = 2.0f * gb_rng_normal(&r);
    gb_sampler_params p = plain_params();
    p.temperature = 0.8f;
    p.top_k = 10; /* truncation does not change the reported distribution */
    gb_sampler *s = NULL;
    CHECK_OK(gb_sampler_new(&s, &p, V));
    REQUIRE(s);
    static gb_token_logprob top[V];
    gb_token_logprob ch;
    uint32_t t = gb_sampler_sample(s, logits, &ch, top, V);
    CHECK_EQ_INT(ch.id, t);
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp((double)top[i].logprob);
    CHECK(fabs(sum - 1.0) < 1e-4);
    for (int i = 1; i < V; i++) CHECK(top[i - 1].logprob >= top[i].logprob);
    int found = 0;
    for (int i = 0; i < V; i++)
        if (top[i].id == t) {
            found = 1;
            CHECK(top[i].logprob == ch.logprob);
        }
    CHECK(found);
    /* log_softmax(logits / T) of the best token */
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < V; i++) mx = fmax(mx, logits[i] / 0.8);
    for (int i = 0; i < V; i++) z += exp(logits[i] / 0.8 - mx);
    CHECK(fabs(top[0].logprob - (0.0 - log(z))) < 1e-4);
    /* the top 5 are a prefix of the full ranking */
    gb_token_logprob top5[5];
    gb_sampler_sample(s, logits, NULL, top5, 5);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(top5[i].id, top[i].id);
    gb_sampler_free(s);
}
