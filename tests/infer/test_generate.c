/* glassbox — generation tests: the hold-back stream on hand-made token byte streams (UTF-8
 * split across tokens, stop strings split across tokens, false starts, a random property
 * test), then the loop on a tiny random model made by `glassbox init` (greedy determinism,
 * max tokens, continuing from the cache, stop strings, context full, callback stop). */
#include <stdlib.h>

#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/rng.h"
#include "test.h"

/* Pushes pieces[] through a stream; returns everything emitted (with a final flush unless
 * no_flush) as a static string, and the number of the piece after which it stopped. */
static const char *run_stream(const char *const *stop, int n_stop, const char *const *pieces, int n,
                              int *stopped_at) {
    static char buf[4096];
    size_t len = 0;
    gb_textstream ts;
    gb_textstream_init(&ts, stop, n_stop);
    *stopped_at = -1;
    for (int i = 0; i < n; i++) {
        const char *out;
        size_t k;
        if (gb_textstream_push(&ts, pieces[i], strlen(pieces[i]), &out, &k) != GB_OK) break;
        memcpy(buf + len, out, k), len += k;
        if (ts.stopped && *stopped_at < 0) *stopped_at = i;
    }
    const char *out;
    size_t k;
    gb_textstream_flush(&ts, &out, &k);
    memcpy(buf + len, out, k), len += k;
    buf[len] = 0;
    gb_textstream_free(&ts);
    return buf;
}

/* What each push emits, joined with '|' */
static const char *emissions(const char *const *stop, int n_stop, const char *const *pieces, int n) {
    static char buf[4096];
    size_t len = 0;
    gb_textstream ts;
    gb_textstream_init(&ts, stop, n_stop);
    for (int i = 0; i < n; i++) {
        const char *out;
        size_t k;
        if (gb_textstream_push(&ts, pieces[i], strlen(pieces[i]), &out, &k) != GB_OK) break;
        if (i) buf[len++] = '|';
        memcpy(buf + len, out, k), len += k;
    }
    buf[len] = 0;
    gb_textstream_free(&ts);
    return buf;
}

TEST(infer_generate_stream_utf8_holdback) {
    /* "h€!" with the euro sign's three bytes in three tokens; then a 4-byte emoji in two */
    const char *p1[] = {"h", "\xE2", "\x82", "\xAC", "!", "\xF0\x9F", "\x98\x80", "x"};
    CHECK_STR(emissions(NULL, 0, p1, 8), "h|||\xE2\x82\xAC|!||\xF0\x9F\x98\x80|x");
    /* a character's tail and the next one's head in one token */
    const char *p2[] = {"a\xC3", "\xA9\xC3", "\xA9"};
    CHECK_STR(emissions(NULL, 0, p2, 3), "a|\xC3\xA9|\xC3\xA9");
    /* invalid bytes are not held (a stray continuation byte, 0xFF) */
    const char *p3[] = {"\x80", "\xFF", "ok"};
    CHECK_STR(emissions(NULL, 0, p3, 3), "\x80|\xFF|ok");
    /* an unfinished character at the end comes out with the flush */
    int at;
    const char *p4[] = {"ab", "\xE2\x82"};
    CHECK_STR(run_stream(NULL, 0, p4, 2, &at), "ab\xE2\x82");
}

TEST(infer_generate_stream_stop_strings) {
    const char *stop[] = {"END"};
    int at;
    /* split across tokens: held, then dropped with everything after it */
    const char *p1[] = {"abcE", "N", "D more", "again"};
    CHECK_STR(emissions(stop, 1, p1, 4), "abc|||");
    CHECK_STR(run_stream(stop, 1, p1, 4, &at), "abc");
    CHECK_EQ_INT(at, 2);
    /* a false start is released as soon as it cannot be the stop string */
    const char *p2[] = {"xE", "Nx", "y"};
    CHECK_STR(emissions(stop, 1, p2, 3), "x|ENx|y");
    /* inside one token */
    const char *p3[] = {"helloEND there"};
    CHECK_STR(run_stream(stop, 1, p3, 1, &at), "hello");
    CHECK_EQ_INT(at, 0);
    /* the earliest of several stop strings wins */
    const char *two[] = {"bb", "ab"};
    const char *p4[] = {"xabb"};
    CHECK_STR(run_stream(two, 2, p4, 1, &at), "x");
    /* overlapping prefixes: "aaab" holds "aa" after "aaa", then finds "aab" */
    const char *st3[] = {"aab"};
    const char *p5[] = {"aaa", "b"};
    CHECK_STR(emissions(st3, 1, p5, 2), "a|");
    CHECK_STR(run_stream(st3, 1, p5, 2, &at), "a");
    /* a prefix never completed comes out with the flush */
    const char *p6[] = {"xEN"};
    CHECK_STR(run_stream(stop, 1, p6, 1, &at), "xEN");
    CHECK_EQ_INT(at, -1);
    /* a stop string that starts with a multi-byte character */
    const char *st4[] = {"\xC3\xA9t\xC3\xA9"};
    const char *p7[] = {"l'\xC3", "\xA9", "t", "\xC3\xA9", "!"};
    CHECK_STR(emissions(st4, 1, p7, 5), "l'||||");
}

/* Random streams of valid UTF-8 cut at random byte positions, with stop strings planted:
 * the concatenated output is the text up to the first stop string, and no emission before
 * the flush ends inside a character. */
TEST(infer_generate_stream_random_property) {
    static const char *alphabet[] = {"a", "b", "E", "N", "D", " ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
    const char *stop[] = {"END", "\xE2\x82\xAC\xE2\x82\xAC"};
    gb_rng r;
    gb_rng_seed(&r, 99);
    for (int iter = 0; iter < 2000; iter++) {
        char text[256];
        size_t n = 0;
        int nchars = (int)gb_rng_below(&r, 40);
        for (int i = 0; i < nchars; i++) {
            const char *c = alphabet[gb_rng_below(&r, 9)];
            memcpy(text + n, c, strlen(c)), n += strlen(c);
        }
        text[n] = 0;
        /* expected: up to the earliest stop string */
        size_t want = n;
        for (int s = 0; s < 2; s++) {
            const char *h = strstr(text, stop[s]);
            if (h && (size_t)(h - text) < want) want = (size_t)(h - text);
        }
        gb_textstream ts;
        gb_textstream_init(&ts, stop, 2);
        char got[256];
        size_t got_len = 0, i = 0;
        int bad_boundary = 0;
        while (i < n) {
            size_t k = 1 + gb_rng_below(&r, 4);
            if (k > n - i) k = n - i;
            const char *out;
            size_t ol;
            REQUIRE(gb_textstream_push(&ts, text + i, k, &out, &ol) == GB_OK);
            memcpy(got + got_len, out, ol), got_len += ol;
            /* the output so far ends on a character boundary */
            if (got_len && ((unsigned char)got[got_len - 1] & 0x80)) {
                size_t j = got_len;
                while (j > 0 && ((unsigned char)got[j - 1] & 0xC0) == 0x80) j--;
                unsigned char lead = j ? (unsigned char)got[j - 1] : 0;
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (got_len - (j - 1) != need) bad_boundary = 1;
            }
            i += k;
        }
        const char *out;
        size_t ol;
        gb_textstream_flush(&ts, &out, &ol);
        memcpy(got + got_len, out, ol), got_len += ol;
        gb_textstream_free(&ts);
        if (got_len != want || memcmp(got, text, want) != 0 || bad_boundary) {
            gb_test_fail(__FILE__, __LINE__, "iteration %d: text \"%s\": got %zu bytes \"%.*s\", want %zu%s", iter,
                         text, got_len, (int)got_len, got, want, bad_boundary ? " (split character)" : "");
            break;
        }
    }
}

/* ---- the loop on a tiny model ---- */

static const char *tiny_model(void) {
    static char path[512];
    static int made = 0;
    if (made) return made > 0 ? path : NULL;
    made = -1;
    if (!getenv("GB_BIN")) return NULL;
    snprintf(path, sizeof path, "%s/tiny-gen.gguf", gb_test_tmpdir());
    const char *argv[] = {"init", "--arch", "llama", "--preset", "tiny", "--vocab", "512", "--ctx", "64",
                          "--out", path, NULL};
    char *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, NULL, NULL, &err);
    free(err);
    if (rc != 0) return NULL;
    made = 1;
    return path;
}

typedef struct {
    char text[4096];
    size_t len;
    uint32_t ids[256];
    int n_ids, n_calls, stop_after, null_chosen;
    float worst_top_gap; /* chosen logprob above top[0]: must be <= 0 */
} collect;

static int collect_cb(void *user, const char *text, size_t len, const gb_token_logprob *chosen,
                      const gb_token_logprob *top, int n_top) {
    collect *c = user;
    if (c->len + len < sizeof c->text) memcpy(c->text + c->len, text, len), c->len += len;
    if (!chosen) {
        c->null_chosen++;
        return 0;
    }
    if (c->n_ids < 256) c->ids[c->n_ids++] = chosen->id;
    if (n_top > 0 && chosen->logprob - top[0].logprob > c->worst_top_gap)
        c->worst_top_gap = chosen->logprob - top[0].logprob;
    c->n_calls++;
    return c->stop_after && c->n_calls >= c->stop_after;
}

static gb_sampler *greedy(int64_t V) {
    gb_sampler_params p;
    gb_sampler_params_default(&p);
    p.temperature = 0;
    gb_sampler *s = NULL;
    return gb_sampler_new(&s, &p, V) == GB_OK ? s : NULL;
}

TEST(infer_generate_tiny_model) {
    const char *path = tiny_model();
    if (!path) {
        gb_test_skip("no tiny model (GB_BIN unset or 'glassbox init' failed)");
        return;
    }
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, path, 0));
    REQUIRE(m);
    const int64_t V = gb_llm_n_vocab(m);
    const uint32_t prompt[] = {72, 101, 108, 108, 111, 44, 32, 119};
    gb_generate_params gp = {.max_tokens = 12, .n_logprobs = 5};
    gb_generate_stats st;

    /* greedy twice: identical; max tokens → "length"; the cache holds all but the last */
    static collect a, b;
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    gb_sampler *s = greedy(V);
    int64_t n_past = 0;
    CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &gp, collect_cb, &a, &st));
    gb_sampler_free(s);
    CHECK_EQ_INT(st.n_prompt, 8);
    CHECK_EQ_INT(st.n_generated, 12);
    CHECK_STR(st.finish_reason, "length");
    CHECK_EQ_INT(n_past, 8 + 11);
    CHECK_EQ_INT(a.n_ids, 12);
    CHECK(a.worst_top_gap <= 0.0f);
    CHECK(st.prompt_seconds >= 0 && st.gen_seconds >= 0);
    s = greedy(V);
    n_past = 0;
    CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &gp, collect_cb, &b, &st));
    gb_sampler_free(s);
    CHECK(a.n_ids == b.n_ids && !memcmp(a.ids, b.ids, sizeof a.ids));
    CHECK(a.len == b.len && !memcmp(a.text, b.text, a.len));

    /* 6 tokens, then continue from the cache with the 6th as the prompt: the same 12 */
    static collect c;
    memset(&c, 0, sizeof c);
    s = greedy(V);
    n_past = 0;
    gp.max_tokens = 6;
    CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &gp, collect_cb, &c, &st));
    CHECK_EQ_INT(n_past, 8 + 5);
    uint32_t last = c.ids[5];
    CHECK_OK(gb_generate(m, s, &last, 1, &n_past, &gp, collect_cb, &c, &st));
    gb_sampler_free(s);
    CHECK_EQ_INT(c.n_ids, 12);
    CHECK(!memcmp(a.ids, c.ids, 12 * sizeof *a.ids));

    /* a stop string taken from the middle of the greedy text: output ends right before it */
    CHECK(a.len >= 6);
    if (a.len >= 6) {
        char stop_s[4];
        size_t at = a.len / 2;
        memcpy(stop_s, a.text + at, 3);
        stop_s[3] = 0;
        const char *first = memmem(a.text, a.len, stop_s, 3);
        size_t want = (size_t)(first - a.text);
        if (!memchr(stop_s, 0, 3)) {
            static collect d;
            memset(&d, 0, sizeof d);
            const char *stops[] = {stop_s};
            gb_generate_params g2 = {.max_tokens = 12, .stop = stops, .n_stop = 1};
            s = greedy(V);
            n_past = 0;
            CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &g2, collect_cb, &d, &st));
            gb_sampler_free(s);
            CHECK_STR(st.finish_reason, "stop");
            CHECK_EQ_INT(d.len, want);
            CHECK(!memcmp(d.text, a.text, want));
        }
    }

    /* the callback stops it */
    static collect e;
    memset(&e, 0, sizeof e);
    e.stop_after = 3;
    s = greedy(V);
    n_past = 0;
    gp.max_tokens = 0;
    CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &gp, collect_cb, &e, &st));
    CHECK_STR(st.finish_reason, "callback");
    CHECK_EQ_INT(st.n_generated, 3);
    gb_sampler_free(s);
    gb_llm_free(m);
}

/* A copy of the GGUF file in with tokenizer.ggml.eos_token_id set to eos. */
static int copy_with_eos(const char *in, const char *out, uint32_t eos) {
    gb_gguf *g = NULL;
    gb_gguf_writer *w = NULL;
    int ok = 0;
    if (gb_gguf_open(&g, in) || gb_gguf_writer_new(&w)) goto done;
    int have = 0;
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
        const char *key = gb_gguf_key(g, i);
        if (!strcmp(key, "tokenizer.ggml.eos_token_id")) {
            if (gb_gguf_add_u32(w, key, eos)) goto done;
            have = 1;
        } else if (gb_gguf_add_kv_from(w, g, i))
            goto done;
    }
    if (!have && gb_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", eos)) goto done;
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        if (gb_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes)) goto done;
    }
    ok = gb_gguf_write(w, out) == GB_OK;
done:
    gb_gguf_writer_free(w);
    gb_gguf_close(g);
    return ok;
}

/* The end-of-sequence token ends generation: with the k-th greedy token of the model declared
 * EOS, the same prompt yields the first k tokens' text, finish reason "stop", k+1 sampled. */
TEST(infer_generate_eos_stops) {
    const char *path = tiny_model();
    if (!path) {
        gb_test_skip("no tiny model (GB_BIN unset or 'glassbox init' failed)");
        return;
    }
    const uint32_t prompt[] = {72, 101, 108, 108, 111, 44, 32, 119};
    gb_generate_params gp = {.max_tokens = 12};
    gb_generate_stats st;
    static collect a, b;
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, path, 0));
    REQUIRE(m);
    gb_sampler *s = greedy(gb_llm_n_vocab(m));
    int64_t n_past = 0;
    CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &gp, collect_cb, &a, &st));
    gb_sampler_free(s);
    gb_llm_free(m);
    REQUIRE(a.n_ids == 12);
    /* the first position from 2 on whose token did not occur before it */
    int k = -1;
    for (int i = 2; i < 12 && k < 0; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= a.ids[j] == a.ids[i];
        if (!seen) k = i;
    }
    if (k < 0) {
        gb_test_skip("the greedy text repeats one token; no position to declare EOS");
        return;
    }
    const char *eos_path = gb_test_path("%s/tiny-eos.gguf", gb_test_tmpdir());
    REQUIRE(copy_with_eos(path, eos_path, a.ids[k]));
    m = NULL;
    CHECK_OK(gb_llm_load(&m, eos_path, 0));
    REQUIRE(m);
    CHECK_EQ_INT(gb_llm_eos(m), a.ids[k]);
    s = greedy(gb_llm_n_vocab(m));
    n_past = 0;
    CHECK_OK(gb_generate(m, s, prompt, 8, &n_past, &gp, collect_cb, &b, &st));
    gb_sampler_free(s);
    gb_llm_free(m);
    CHECK_STR(st.finish_reason, "stop");
    CHECK_EQ_INT(st.n_generated, k + 1);
    CHECK_EQ_INT(b.n_ids, k);
    CHECK(!memcmp(a.ids, b.ids, (size_t)k * sizeof *a.ids));
    CHECK(b.len <= a.len && !memcmp(a.text, b.text, b.len));
}

TEST(infer_generate_context_full) {
    const char *path = tiny_model();
    if (!path) {
        gb_test_skip("no tiny model (GB_BIN unset or 'glassbox init' failed)");
        return;
    }
    gb_llm *m = NULL;
    CHECK_OK(gb_llm_load(&m, path, 16));
    REQUIRE(m);
    CHECK_EQ_INT(gb_llm_n_ctx(m), 16);
    uint32_t prompt[20];
    for (int i = 0; i < 20; i++) prompt[i] = (uint32_t)(65 + i);
    gb_sampler *s = greedy(gb_llm_n_vocab(m));
    gb_generate_params gp = {0};
    gb_generate_stats st;
    static collect c;
    memset(&c, 0, sizeof c);
    int64_t n_past = 0;
    /* unlimited tokens until the context is full: 10 prompt + 6 evaluated + 1 last sampled */
    CHECK_OK(gb_generate(m, s, prompt, 10, &n_past, &gp, collect_cb, &c, &st));
    CHECK_STR(st.finish_reason, "length");
    CHECK_EQ_INT(n_past, 16);
    CHECK_EQ_INT(st.n_generated, 7);
    /* a prompt longer than the context */
    n_past = 0;
    CHECK(gb_generate(m, s, prompt, 20, &n_past, &gp, collect_cb, &c, &st) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "longer than the context") != NULL);
    n_past = 10;
    CHECK(gb_generate(m, s, prompt, 7, &n_past, &gp, collect_cb, &c, &st) == GB_ERR_ARG);
    CHECK(gb_generate(m, s, prompt, 0, &n_past, &gp, collect_cb, &c, &st) == GB_ERR_ARG);
    gb_sampler_free(s);
    gb_llm_free(m);
}
