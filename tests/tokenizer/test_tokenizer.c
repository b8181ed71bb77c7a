/* Tests of the tokenizer: exact round trips, GPT-2 / cl100k golden ids, merge semantics
 * against a naive reference, save/load, and one test per malformed file. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glassbox/error.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "glassbox/tokenizer.h"
#include "test.h"
#include "tokenizer/tokenizer_internal.h"

/* ---- helpers ---- */

static void write_file(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
}

static int file_exists(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    return fp != NULL;
}

/* The committed vocabulary file `name` (maybe gzipped) in one of `dirs`, or NULL.
 * $GB_TEST_VOCAB_DIR, if set, is searched first. */
static const char *find_vocab(const char *name) {
    const char *dirs[] = {getenv("GB_TEST_VOCAB_DIR"), "data/vocab/gpt2", "data/vocab/cl100k", "data/vocab"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i]) continue;
        const char *p = gb_test_path("%s/%s", dirs[i], name);
        if (file_exists(p)) return p;
        p = gb_test_path("%s/%s.gz", dirs[i], name);
        if (file_exists(p)) return p;
    }
    return NULL;
}

static gb_tokenizer *load_or_skip(const char *name) {
    const char *p = find_vocab(name);
    if (!p) {
        gb_test_skip("vocabulary file not committed yet (data/vocab/gpt2/)");
        return NULL;
    }
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_tokenizer_load(&t, p));
    return t;
}

/* decode(encode(x)) == x; reports the first differing byte */
static int roundtrip(const gb_tokenizer *t, const void *text, size_t len, int allow_special) {
    gb_ids ids = {0};
    gb_bytes out = {0};
    int ok = 0;
    if (gb_tokenizer_encode(t, text, len, allow_special, &ids) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "encode failed: %s", gb_last_error());
        goto done;
    }
    if (gb_tokenizer_decode(t, ids.data, ids.len, &out) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "decode failed: %s", gb_last_error());
        goto done;
    }
    if (out.len != len || (len && memcmp(out.data, text, len) != 0)) {
        size_t i = 0;
        while (i < len && i < out.len && out.data[i] == ((const uint8_t *)text)[i]) i++;
        gb_test_fail(__FILE__, __LINE__, "round trip differs at byte %zu (len %zu -> %zu)", i, len, out.len);
        goto done;
    }
    ok = 1;
done:
    gb_ids_free(&ids);
    gb_bytes_free(&out);
    return ok;
}

static const char *const nasty[] = {
    "",
    "a",
    "Hello, world! It's a test; we'll see what they've done.",
    "  leading and trailing spaces  ",
    "\r\n\r\n\r\r\n\n\n   \t\t\n \n",
    "emoji: \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
    "CJK: \xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86 \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
    "combining: e\xcc\x81 a\xcc\x8a n\xcc\x83\xcc\x83\xcc\x83 \xd9\x85\xd9\x8e\xd8\xb1\xd9\x92",
    "invalid: \xff\xfe\x80\x80\xc0\xaf\xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82",
    "numbers 1234567890 3.14159 1,000,000 0x1F",
    "<|endoftext|>between<|endoftext|><|endoftext|>",
    "code: int main(void) { return printf(\"%d\\n\", 42); }\n\tif (x) {\n\t\ty++;\n\t}\n",
};

static void check_nasty_and_random(const gb_tokenizer *t) {
    for (size_t i = 0; i < sizeof nasty / sizeof *nasty; i++) {
        roundtrip(t, nasty[i], strlen(nasty[i]), 0);
        roundtrip(t, nasty[i], strlen(nasty[i]), 1);
    }
    static const char nul[] = "a\0b\0\0 \0\n\0";
    roundtrip(t, nul, sizeof nul, 0);
    gb_rng rng;
    gb_rng_seed(&rng, 1234);
    uint8_t buf[600];
    for (int k = 0; k < 200; k++) {
        size_t n = (size_t)((uint32_t)gb_rng_u64(&rng) % sizeof buf);
        uint32_t mode = (uint32_t)gb_rng_u64(&rng) % 3;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = (uint32_t)gb_rng_u64(&rng);
            /* all bytes, or mostly ASCII letters/space, or a few bytes that make long runs */
            if (mode == 0) buf[i] = (uint8_t)r;
            else if (mode == 1) buf[i] = r % 4 ? (uint8_t)"ab c\n'e"[r % 7] : (uint8_t)(r >> 8);
            else buf[i] = (uint8_t)" \xe3\x81"[r % 3];
        }
        if (!roundtrip(t, buf, n, (int)(k & 1))) break;
    }
}

/* A small tokenizer with merges that overlap and chain, for semantics tests. */
static gb_tokenizer *small_tokenizer(void) {
    static const uint32_t merges[][2] = {
        {'a', 'a'}, {'a', 'b'}, {'b', 'a'}, {256, 'a'}, {257, 257}, {' ', 'a'}, {258, 'b'}, {'b', 'b'},
        {256, 256}, {260, 'a'}, {'e', 'e'}, {'c', 'c'}, {261, 256}, {263, 'b'}, {264, 265}, {257, 'a'},
    };
    static const char *const specials[] = {"<|endoftext|>", "<|pad|>"};
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, merges, sizeof merges / sizeof *merges, specials, 2));
    return t;
}

/* ---- round trips ---- */

TEST(tokenizer_roundtrip_from_merges) {
    gb_tokenizer *t = small_tokenizer();
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 256 + 16 + 2);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 272);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|pad|>"), 273);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|nope|>"), -1);
    check_nasty_and_random(t);
    gb_tokenizer_free(t);
}

TEST(tokenizer_roundtrip_encoder_json) {
    gb_tokenizer *t = load_or_skip("encoder.json");
    if (t) check_nasty_and_random(t);
    gb_tokenizer_free(t);
}

TEST(tokenizer_roundtrip_tiktoken) {
    gb_tokenizer *t = load_or_skip("r50k_base.tiktoken");
    if (t) check_nasty_and_random(t);
    gb_tokenizer_free(t);
}

TEST(tokenizer_roundtrip_glassbox_json) {
    gb_tokenizer *t = small_tokenizer(), *u = NULL;
    REQUIRE(t);
    const char *p = gb_test_path("%s/rt.json", gb_test_tmpdir());
    CHECK_OK(gb_tokenizer_save(t, p));
    CHECK_OK(gb_tokenizer_load(&u, p));
    if (u) check_nasty_and_random(u);
    gb_tokenizer_free(t);
    gb_tokenizer_free(u);
}

/* ---- specials ---- */

TEST(tokenizer_specials_split_text) {
    gb_tokenizer *t = small_tokenizer();
    REQUIRE(t);
    const char *s = "aa<|endoftext|>b<|pad|>";
    gb_ids a = {0}, b = {0};
    CHECK_OK(gb_tokenizer_encode(t, s, strlen(s), 1, &a));
    REQUIRE(a.len == 4);
    CHECK_EQ_INT(a.data[0], 256);
    CHECK_EQ_INT(a.data[1], 272);
    CHECK_EQ_INT(a.data[2], 'b');
    CHECK_EQ_INT(a.data[3], 273);
    CHECK_OK(gb_tokenizer_encode(t, s, strlen(s), 0, &b));
    for (int64_t i = 0; i < b.len; i++) CHECK(b.data[i] < 272);
    gb_ids_free(&a);
    gb_ids_free(&b);
    gb_tokenizer_free(t);
}

/* ---- merge semantics against naive references ---- */

/* GPT-2's bpe(): each round merges every occurrence of the lowest-ranked pair, left to right. */
static int64_t ref_gpt2(const uint32_t (*merges)[2], int64_t nm, const uint8_t *p, size_t n, uint32_t *out) {
    int64_t m = (int64_t)n;
    for (size_t i = 0; i < n; i++) out[i] = p[i];
    for (;;) {
        int64_t best = -1;
        for (int64_t i = 0; i + 1 < m; i++)
            for (int64_t r = 0; r < nm && (best < 0 || r < best); r++)
                if (merges[r][0] == out[i] && merges[r][1] == out[i + 1]) best = r;
        if (best < 0) return m;
        int64_t w = 0;
        for (int64_t i = 0; i < m;) {
            if (i + 1 < m && out[i] == merges[best][0] && out[i + 1] == merges[best][1]) {
                out[w++] = 256 + (uint32_t)best;
                i += 2;
            } else {
                out[w++] = out[i++];
            }
        }
        m = w;
    }
}

TEST(tokenizer_merges_match_gpt2_reference) {
    /* overlapping, chaining merges on a two-letter alphabet: words of every length, so
     * both the short (array) and long (heap) merge loops are exercised */
    static const uint32_t merges[][2] = {
        {'a', 'a'}, {'a', 'b'}, {256, 'a'}, {'b', 'b'}, {257, 256}, {259, 'a'}, {256, 256}, {258, 257},
        {'b', 256}, {262, 262}, {260, 'b'}, {265, 'a'}, {261, 261}, {257, 'b'}, {263, 264}, {266, 266},
    };
    const int64_t nm = sizeof merges / sizeof *merges;
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, merges, nm, NULL, 0));
    REQUIRE(t);
    gb_rng rng;
    gb_rng_seed(&rng, 7);
    uint8_t word[300];
    uint32_t want[300];
    for (int k = 0; k < 400 && !gb_test_failed(); k++) {
        size_t n = 1 + (size_t)((uint32_t)gb_rng_u64(&rng) % (k < 200 ? 70 : 300));
        uint32_t bias = (uint32_t)gb_rng_u64(&rng) % 4;
        for (size_t i = 0; i < n; i++) word[i] = (uint32_t)gb_rng_u64(&rng) % 4 < 1 + (bias > 1) ? 'b' : 'a';
        int64_t m = ref_gpt2(merges, nm, word, n, want);
        gb_ids ids = {0};
        CHECK_OK(gb_tokenizer_encode(t, word, n, 0, &ids));
        int same = ids.len == m;
        for (int64_t i = 0; same && i < m; i++) same = ids.data[i] == want[i];
        if (!same) gb_test_fail(__FILE__, __LINE__, "word %d (%zu letters): %lld ids, reference %lld", k, n,
                                (long long)ids.len, (long long)m);
        gb_ids_free(&ids);
    }
    gb_tokenizer_free(t);
}

/* tiktoken's rule: merge the leftmost pair whose joined bytes have the lowest rank. */
static int64_t rank_of(const gb_tokenizer *t, const uint8_t *p, size_t n) {
    for (uint32_t id = 0; id < (uint32_t)gb_tokenizer_vocab_size(t); id++) {
        size_t len;
        const uint8_t *b = gb_tokenizer_token(t, id, &len);
        if (b && len == n && memcmp(b, p, n) == 0) return id; /* (this vocabulary has no specials) */
    }
    return -1;
}

static int64_t ref_tiktoken(const gb_tokenizer *t, const uint8_t *p, size_t n, uint32_t *out) {
    size_t start[301];
    int64_t m = (int64_t)n;
    for (size_t i = 0; i <= n; i++) start[i] = i;
    int64_t whole = rank_of(t, p, n);
    if (whole >= 0) {
        out[0] = (uint32_t)whole;
        return 1;
    }
    for (;;) {
        int64_t best = -1, bi = -1;
        for (int64_t i = 0; i + 1 < m; i++) {
            int64_t r = rank_of(t, p + start[i], start[i + 2] - start[i]);
            if (r >= 0 && (best < 0 || r < best)) best = r, bi = i;
        }
        if (best < 0) break;
        memmove(start + bi + 1, start + bi + 2, (size_t)(m - bi - 1) * sizeof *start);
        m--;
    }
    for (int64_t i = 0; i < m; i++) out[i] = (uint32_t)rank_of(t, p + start[i], start[i + 1] - start[i]);
    return m;
}

TEST(tokenizer_ranks_match_tiktoken_reference) {
    /* the same vocabulary under tiktoken's rule: save, switch the rule, reload */
    static const uint32_t merges[][2] = {
        {'a', 'a'}, {'a', 'b'}, {256, 'a'}, {'b', 'b'}, {257, 256}, {259, 'a'}, {256, 256}, {258, 257},
        {'b', 256}, {262, 262}, {260, 'b'}, {265, 'a'}, {261, 261}, {257, 'b'},
    };
    gb_tokenizer *t = NULL, *u = NULL;
    CHECK_OK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, merges, sizeof merges / sizeof *merges, NULL, 0));
    REQUIRE(t);
    const char *p = gb_test_path("%s/ranks.json", gb_test_tmpdir());
    CHECK_OK(gb_tokenizer_save(t, p));
    char *json;
    size_t len;
    CHECK_OK(gb_read_file(p, 0, &json, &len));
    char *rule = strstr(json, "\"merges\",");
    char *list = strstr(json, "\"merges\": [");
    REQUIRE(rule && list);
    memcpy(rule, "\"ranks\", ", 9);
    strcpy(list, "\"merges\": []\n}\n");
    write_file(p, json, strlen(json));
    gb_free(json);
    CHECK_OK(gb_tokenizer_load(&u, p));
    REQUIRE(u);
    gb_rng rng;
    gb_rng_seed(&rng, 11);
    uint8_t word[300];
    uint32_t want[300];
    for (int k = 0; k < 100 && !gb_test_failed(); k++) { /* the reference is slow: keep it small */
        size_t n = 1 + (size_t)((uint32_t)gb_rng_u64(&rng) % (k < 60 ? 70 : 160));
        for (size_t i = 0; i < n; i++) word[i] = (uint32_t)gb_rng_u64(&rng) % 3 ? 'a' : 'b';
        int64_t m = ref_tiktoken(u, word, n, want);
        gb_ids ids = {0};
        CHECK_OK(gb_tokenizer_encode(u, word, n, 0, &ids));
        int same = ids.len == m;
        for (int64_t i = 0; same && i < m; i++) same = ids.data[i] == want[i];
        if (!same) gb_test_fail(__FILE__, __LINE__, "word %d (%zu letters): %lld ids, reference %lld", k, n,
                                (long long)ids.len, (long long)m);
        gb_ids_free(&ids);
    }
    gb_tokenizer_free(t);
    gb_tokenizer_free(u);
}

TEST(tokenizer_long_piece_is_fast) {
    /* a megabyte of one letter is one pre-token: the merge loop must not be quadratic */
    gb_tokenizer *t = small_tokenizer();
    REQUIRE(t);
    size_t n = 1 << 20;
    char *s = malloc(n);
    REQUIRE(s);
    memset(s, 'a', n);
    double t0 = gb_time_now();
    roundtrip(t, s, n, 0);
    memset(s, ' ', n);
    roundtrip(t, s, n, 0);
    double secs = gb_time_now() - t0;
    if (secs > 5) gb_test_fail(__FILE__, __LINE__, "two 1 MB pieces took %.1f s", secs);
    free(s);
    gb_tokenizer_free(t);
}

/* ---- GPT-2 / cl100k golden ids ---- */

static int64_t read_ids(const char *path, uint32_t **out) {
    char *data;
    size_t len;
    *out = NULL;
    if (gb_read_file(path, 0, &data, &len) != GB_OK) return -1;
    int64_t n = 0, cap = 1024;
    uint32_t *ids = malloc((size_t)cap * sizeof *ids);
    char *p = data, *end;
    for (;;) {
        unsigned long v = strtoul(p, &end, 10);
        if (end == p) break;
        if (n == cap) ids = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
        ids[n++] = (uint32_t)v;
        p = end;
    }
    gb_free(data);
    *out = ids;
    return n;
}

/* Encodes text_path with `vocab` and compares with the ids in ids_path. */
static void check_ids(const char *vocab, const char *text_path, const char *ids_path) {
    gb_tokenizer *t = load_or_skip(vocab);
    if (!t) return;
    char *text;
    size_t len;
    uint32_t *want = NULL;
    int64_t nwant = read_ids(ids_path, &want);
    if (nwant < 0 || gb_read_file(text_path, 0, &text, &len) != GB_OK) {
        gb_test_skip("the text or its golden ids are missing");
        gb_tokenizer_free(t);
        free(want);
        return;
    }
    gb_ids got = {0};
    CHECK_OK(gb_tokenizer_encode(t, text, len, 0, &got));
    int64_t i = 0;
    while (i < got.len && i < nwant && got.data[i] == want[i]) i++;
    if (i < got.len || i < nwant) {
        /* show the ids and the text around the first difference */
        int64_t lo = i > 5 ? i - 5 : 0;
        char ctx[512];
        size_t k = 0;
        gb_bytes b = {0};
        gb_tokenizer_decode(t, got.data + lo, (i + 5 < got.len ? i + 5 : got.len) - lo, &b);
        for (size_t j = 0; j < b.len && k < sizeof ctx - 8; j++)
            k += (size_t)snprintf(ctx + k, sizeof ctx - k, b.data[j] >= 0x20 && b.data[j] < 0x7f ? "%c" : "\\x%02x",
                                  b.data[j]);
        ctx[k] = 0;
        gb_test_fail(__FILE__, __LINE__,
                     "%s: %lld ids, golden %lld; first difference at id %lld: got %lld, want %lld; text there: \"%s\"",
                     vocab, (long long)got.len, (long long)nwant, (long long)i,
                     i < got.len ? (long long)got.data[i] : -1LL, i < nwant ? (long long)want[i] : -1LL, ctx);
        gb_bytes_free(&b);
    }
    roundtrip(t, text, len, 1);
    gb_ids_free(&got);
    gb_free(text);
    free(want);
    gb_tokenizer_free(t);
}

#define GOLDEN_TEXT "tests/ref/gpt2/text.txt"
TEST(tokenizer_gpt2_golden_encoder_json) { check_ids("encoder.json", GOLDEN_TEXT, "tests/ref/gpt2/text.r50k.ids"); }
TEST(tokenizer_gpt2_golden_tiktoken) { check_ids("r50k_base.tiktoken", GOLDEN_TEXT, "tests/ref/gpt2/text.r50k.ids"); }
TEST(tokenizer_cl100k_golden_tiktoken) {
    if (!file_exists("tests/ref/gpt2/text.cl100k.ids")) {
        gb_test_skip("no cl100k golden ids");
        return;
    }
    check_ids("cl100k_base.tiktoken", GOLDEN_TEXT, "tests/ref/gpt2/text.cl100k.ids");
}

/* Re-runs the oracle (tests/ref/gpt2/live.mjs: OpenAI's tiktoken via npm) on a fresh random
 * sample and compares the ids of all three vocabulary files. Skips without node or the
 * npm packages. */
TEST(tokenizer_gpt2_live_node) {
    if (!file_exists("tests/ref/gpt2/node_modules/tiktoken/package.json") || !file_exists("tests/ref/gpt2/live.mjs")) {
        gb_test_skip("tests/ref/gpt2/node_modules missing (npm ci --prefix tests/ref/gpt2)");
        return;
    }
    if (system("command -v node >/dev/null 2>&1") != 0) {
        gb_test_skip("node is not on PATH");
        return;
    }
    unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    const char *dir = gb_test_path("%s/live-%u", gb_test_tmpdir(), seed);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && node tests/ref/gpt2/live.mjs %u '%s' 16384", dir, seed, dir);
    int rc = system(cmd);
    if (rc != 0) {
        gb_test_fail(__FILE__, __LINE__, "%s failed (status %d)", cmd, rc);
        return;
    }
    char text[600], r50k[600], cl100k[600];
    snprintf(text, sizeof text, "%s/sample.txt", dir);
    snprintf(r50k, sizeof r50k, "%s/sample.r50k.ids", dir);
    snprintf(cl100k, sizeof cl100k, "%s/sample.cl100k.ids", dir);
    check_ids("encoder.json", text, r50k);
    check_ids("r50k_base.tiktoken", text, r50k);
    check_ids("cl100k_base.tiktoken", text, cl100k);
    if (gb_test_failed()) fprintf(stderr, "  live sample seed %u (rerun: node tests/ref/gpt2/live.mjs %u DIR)\n", seed, seed);
}

TEST(tokenizer_gpt2_specials_and_ids) {
    gb_tokenizer *t = load_or_skip("encoder.json");
    if (!t) return;
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 50257);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 50256);
    const char *s = "Hello world<|endoftext|>";
    gb_ids ids = {0};
    CHECK_OK(gb_tokenizer_encode(t, s, strlen(s), 1, &ids));
    REQUIRE(ids.len == 3);
    CHECK_EQ_INT(ids.data[0], 15496);
    CHECK_EQ_INT(ids.data[1], 995);
    CHECK_EQ_INT(ids.data[2], 50256);
    gb_ids_free(&ids);
    gb_tokenizer_free(t);
}

/* ---- save / load ---- */

static void check_save_load(gb_tokenizer *t, const char *name) {
    const char *p = gb_test_path("%s/%s.json", gb_test_tmpdir(), name);
    gb_tokenizer *u = NULL;
    CHECK_OK(gb_tokenizer_save(t, p));
    CHECK_OK(gb_tokenizer_load(&u, p));
    if (!u) return;
    uint8_t d1[32], d2[32];
    gb_tokenizer_digest(t, d1);
    gb_tokenizer_digest(u, d2);
    CHECK(memcmp(d1, d2, 32) == 0);
    CHECK_EQ_INT(gb_tokenizer_vocab_size(u), gb_tokenizer_vocab_size(t));
    CHECK_EQ_INT(gb_tokenizer_pattern(u), gb_tokenizer_pattern(t));
    char *text;
    size_t len;
    if (gb_read_file("tests/ref/gpt2/text.txt", 0, &text, &len) != GB_OK) {
        text = strdup(nasty[2]);
        len = strlen(text);
    }
    gb_ids a = {0}, b = {0};
    CHECK_OK(gb_tokenizer_encode(t, text, len, 1, &a));
    CHECK_OK(gb_tokenizer_encode(u, text, len, 1, &b));
    CHECK(a.len == b.len && memcmp(a.data, b.data, (size_t)a.len * 4) == 0);
    /* saving the reloaded tokenizer gives the same bytes */
    const char *p2 = gb_test_path("%s/%s.again.json", gb_test_tmpdir(), name);
    CHECK_OK(gb_tokenizer_save(u, p2));
    char *f1, *f2;
    size_t l1, l2;
    CHECK_OK(gb_read_file(p, 0, &f1, &l1));
    CHECK_OK(gb_read_file(p2, 0, &f2, &l2));
    CHECK(l1 == l2 && memcmp(f1, f2, l1) == 0);
    gb_free(f1);
    gb_free(f2);
    gb_ids_free(&a);
    gb_ids_free(&b);
    free(text);
    gb_tokenizer_free(u);
}

TEST(tokenizer_save_load_from_merges) {
    gb_tokenizer *t = small_tokenizer();
    REQUIRE(t);
    check_save_load(t, "small");
    gb_tokenizer_free(t);
}

TEST(tokenizer_save_load_gpt2) {
    gb_tokenizer *t = load_or_skip("encoder.json");
    if (t) check_save_load(t, "gpt2");
    gb_tokenizer_free(t);
    t = load_or_skip("r50k_base.tiktoken");
    if (t) check_save_load(t, "r50k");
    gb_tokenizer_free(t);
}

TEST(tokenizer_save_load_cl100k) {
    /* unused ids and five specials survive the glassbox format */
    gb_tokenizer *t = load_or_skip("cl100k_base.tiktoken");
    if (!t) return;
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 100277);
    CHECK_EQ_INT(gb_tokenizer_pattern(t), GB_PRETOK_CL100K);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 100257);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endofprompt|>"), 100276);
    CHECK(gb_tokenizer_token(t, 100256, NULL) == NULL);
    CHECK(gb_tokenizer_token(t, 100270, NULL) == NULL);
    check_save_load(t, "cl100k");
    gb_tokenizer_free(t);
}

TEST(tokenizer_digest_tells_tokenizers_apart) {
    static const uint32_t m1[][2] = {{'a', 'b'}, {'c', 'd'}};
    static const uint32_t m2[][2] = {{'c', 'd'}, {'a', 'b'}};
    gb_tokenizer *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(gb_tokenizer_from_merges(&a, GB_PRETOK_GPT2, m1, 2, NULL, 0));
    CHECK_OK(gb_tokenizer_from_merges(&b, GB_PRETOK_GPT2, m2, 2, NULL, 0));
    CHECK_OK(gb_tokenizer_from_merges(&c, GB_PRETOK_CL100K, m1, 2, NULL, 0));
    REQUIRE(a && b && c);
    uint8_t da[32], db[32], dc[32], da2[32];
    gb_tokenizer_digest(a, da);
    gb_tokenizer_digest(b, db);
    gb_tokenizer_digest(c, dc);
    gb_tokenizer_digest(a, da2);
    CHECK(memcmp(da, da2, 32) == 0);
    CHECK(memcmp(da, db, 32) != 0);
    CHECK(memcmp(da, dc, 32) != 0);
    gb_tokenizer_free(a);
    gb_tokenizer_free(b);
    gb_tokenizer_free(c);
}

TEST(tokenizer_from_merges_rejects_bad_input) {
    gb_tokenizer *t = NULL;
    static const uint32_t future[][2] = {{'a', 256}};
    CHECK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, future, 1, NULL, 0) == GB_ERR_ARG);
    static const char *const dup[] = {"<|x|>", "<|x|>"};
    CHECK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, NULL, 0, dup, 2) != GB_OK);
    static const char *const bad_utf8[] = {"\xff"};
    CHECK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, NULL, 0, bad_utf8, 1) == GB_ERR_ARG);
    static const char *const empty[] = {""};
    CHECK(gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, NULL, 0, empty, 1) == GB_ERR_ARG);
    CHECK(t == NULL);
}

TEST(tokenizer_decode_rejects_bad_ids) {
    gb_tokenizer *t = small_tokenizer();
    REQUIRE(t);
    uint32_t ids[] = {'a', 274};
    gb_bytes b = {0};
    CHECK(gb_tokenizer_decode(t, ids, 2, &b) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "274") != NULL);
    CHECK(gb_tokenizer_token(t, 274, NULL) == NULL);
    gb_bytes_free(&b);
    gb_tokenizer_free(t);
}
