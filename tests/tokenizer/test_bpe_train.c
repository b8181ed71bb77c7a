/* BPE training: merges worked out by hand, the tie-break, determinism, exact round trips,
 * special tokens, bad input, and the `glassbox tokenizer train` command. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "glassbox/error.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/tokenizer.h"
#include "test.h"

static const char *write_text(const char *name, const void *data, size_t len) {
    const char *path = gb_test_path("%s/%s", gb_test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    if (len) fwrite(data, 1, len, fp);
    fclose(fp);
    return path;
}

static gb_status train(gb_tokenizer **t, int64_t vocab, const char *const *specials, int n_specials,
                       const char *const *paths, int n, gb_bpe_train_stats *st) {
    gb_bpe_train_opts o = {.vocab_size = vocab, .pattern = GB_PRETOK_GPT2, .specials = specials,
                           .n_specials = n_specials};
    return gb_bpe_train(t, &o, paths, n, st);
}

/* token `id` equals the C string s */
static int token_is(const gb_tokenizer *t, uint32_t id, const char *s) {
    size_t n;
    const uint8_t *p = gb_tokenizer_token(t, id, &n);
    return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* A few kB of varied text: prose, numbers, UTF-8 in several scripts, invalid bytes, NULs,
 * CR/LF runs, and special tokens between documents. */
static size_t varied_text(char *buf, size_t cap) {
    static const char *parts[] = {
        "In the beginning God created the heaven and the earth. ",
        "And the earth was without form, and void; ",
        "they're we'll I'm it's  \t  12345 3.14159 ",
        "naïve café — 東京タワー 🙂🙂 Ünïcödé ",
        "\r\n\r\n\n",
        "x = f(a, b) + g[0]; // code\n    return 0;\n",
        "\xff\xfe\x80 broken \xc3 utf8 ",
        "<|endoftext|>",
    };
    size_t n = 0;
    for (int i = 0; i < 120; i++) {
        const char *p = parts[(i * 7 + i / 3) % 8];
        size_t l = strlen(p);
        if (n + l + 1 > cap) break;
        memcpy(buf + n, p, l);
        n += l;
        if (i % 17 == 0) buf[n++] = '\0'; /* NUL bytes are text too */
    }
    return n;
}

TEST(tokenizer_train_classic_example) {
    /* aaabdaaabac: (a,a) occurs 4 times -> 256 "aa"; then (a,b) and (256,a) both occur
     * twice: the smaller pair (97,98) wins -> 257 "ab"; then (256,257) -> 258 "aaab";
     * after that every pair occurs once, so training stops early. */
    const char *path = write_text("classic.txt", "aaabdaaabac", 11);
    REQUIRE(path);
    gb_tokenizer *t = NULL;
    gb_bpe_train_stats st;
    CHECK_OK(train(&t, 300, NULL, 0, &path, 1, &st));
    REQUIRE(t);
    CHECK_EQ_INT(st.n_merges, 3);
    CHECK_EQ_INT(st.input_bytes, 11);
    CHECK_EQ_INT(st.n_pretokens, 1);
    CHECK_EQ_INT(st.n_unique, 1);
    CHECK(token_is(t, 256, "aa"));
    CHECK(token_is(t, 257, "ab"));
    CHECK(token_is(t, 258, "aaab"));
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 256 + 3 + 1);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 259);
    /* "aaab d aaab a c" = 5 tokens for 11 bytes */
    CHECK(st.tokens_per_byte == 5.0 / 11.0);
    gb_ids ids = {0};
    CHECK_OK(gb_tokenizer_encode(t, "aaabdaaabac", 11, 0, &ids));
    CHECK_EQ_INT(ids.len, 5);
    if (ids.len == 5) {
        CHECK_EQ_INT(ids.data[0], 258);
        CHECK_EQ_INT(ids.data[2], 258);
    }
    gb_ids_free(&ids);
    gb_tokenizer_free(t);

    /* a vocab size that ends the training after two merges */
    CHECK_OK(train(&t, 256 + 2 + 1, NULL, 0, &path, 1, &st));
    CHECK_EQ_INT(st.n_merges, 2);
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 259);
    gb_tokenizer_free(t);
}

TEST(tokenizer_train_tie_break_smallest_pair) {
    /* pre-tokens "ab", " ab", " cd", " cd": (32,99), (97,98) and (99,100) all occur twice;
     * the smallest (left, right) goes first: " c", then (97,98) "ab" beats (256,100),
     * then " cd"; then nothing occurs twice. */
    const char *path = write_text("tie.txt", "ab ab cd cd", 11);
    REQUIRE(path);
    gb_tokenizer *t = NULL;
    gb_bpe_train_stats st;
    CHECK_OK(train(&t, 1000, NULL, 0, &path, 1, &st));
    REQUIRE(t);
    CHECK_EQ_INT(st.n_pretokens, 4);
    CHECK_EQ_INT(st.n_unique, 3);
    CHECK_EQ_INT(st.n_merges, 3);
    CHECK(token_is(t, 256, " c"));
    CHECK(token_is(t, 257, "ab"));
    CHECK(token_is(t, 258, " cd"));
    gb_tokenizer_free(t);
}

TEST(tokenizer_train_overlapping_pairs) {
    /* "aaaaa" twice: (a,a) merges left to right, giving aa aa a; then (256,97) and
     * (256,256) tie at 2 and the smaller right id wins: "aaa"; then aa+aaa = "aaaaa" */
    const char *path = write_text("runs.txt", "aaaaa\naaaaa", 11);
    REQUIRE(path);
    gb_tokenizer *t = NULL;
    gb_bpe_train_stats st;
    CHECK_OK(train(&t, 1000, NULL, 0, &path, 1, &st));
    REQUIRE(t);
    CHECK(token_is(t, 256, "aa"));
    CHECK(token_is(t, 257, "aaa"));
    CHECK(token_is(t, 258, "aaaaa"));
    CHECK_EQ_INT(st.n_merges, 3);
    gb_tokenizer_free(t);
}

TEST(tokenizer_train_deterministic) {
    static char buf[16384];
    size_t n = varied_text(buf, sizeof buf);
    const char *a = write_text("det_a.txt", buf, n / 2);
    const char *b = write_text("det_b.txt", buf + n / 2, n - n / 2);
    REQUIRE(a && b);
    const char *ab[] = {a, b}, *ba[] = {b, a};
    uint8_t d1[32], d2[32], d3[32];
    gb_tokenizer *t = NULL;
    gb_bpe_train_stats s1, s2, s3;
    CHECK_OK(train(&t, 600, NULL, 0, ab, 2, &s1));
    REQUIRE(t);
    gb_tokenizer_digest(t, d1);
    gb_tokenizer_free(t);
    CHECK_OK(train(&t, 600, NULL, 0, ab, 2, &s2));
    REQUIRE(t);
    gb_tokenizer_digest(t, d2);
    gb_tokenizer_free(t);
    /* the order of the files does not matter either: only the word counts do */
    CHECK_OK(train(&t, 600, NULL, 0, ba, 2, &s3));
    REQUIRE(t);
    gb_tokenizer_digest(t, d3);
    gb_tokenizer_free(t);
    CHECK(memcmp(d1, d2, 32) == 0);
    CHECK(memcmp(d1, d3, 32) == 0);
    CHECK_EQ_INT(s1.n_merges, s2.n_merges);
    CHECK(s1.tokens_per_byte == s3.tokens_per_byte);
}

TEST(tokenizer_train_round_trip_and_compression) {
    static char buf[16384];
    size_t n = varied_text(buf, sizeof buf);
    const char *path = write_text("varied.txt", buf, n);
    REQUIRE(path);
    for (int pat = 0; pat < 2; pat++) {
        gb_bpe_train_opts o = {.vocab_size = 700, .pattern = pat ? GB_PRETOK_CL100K : GB_PRETOK_GPT2};
        gb_tokenizer *t = NULL;
        gb_bpe_train_stats st;
        CHECK_OK(gb_bpe_train(&t, &o, &path, 1, &st));
        REQUIRE(t);
        CHECK(gb_tokenizer_pattern(t) == o.pattern);
        CHECK(st.n_merges > 100);
        CHECK_EQ_INT(st.input_bytes, n);
        gb_ids ids = {0};
        gb_bytes back = {0};
        CHECK_OK(gb_tokenizer_encode(t, buf, n, 1, &ids));
        CHECK_OK(gb_tokenizer_decode(t, ids.data, ids.len, &back));
        CHECK(back.len == n && memcmp(back.data, buf, n) == 0);
        /* the statistic is the real encoding's length: merge order semantics agree */
        CHECK(st.tokens_per_byte == (double)ids.len / (double)n);
        CHECK(st.tokens_per_byte < 0.5);
        gb_ids_free(&ids);
        gb_bytes_free(&back);
        gb_tokenizer_free(t);
    }
}

TEST(tokenizer_train_specials_last_and_never_merged) {
    /* "<|endoftext|>" between every word: trained on it, "<|" and "|>" would be merges */
    static char buf[8192];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        const char *w = i % 3 ? "<|endoftext|>hello world" : "<|pad|> hello there";
        size_t l = strlen(w);
        memcpy(buf + n, w, l);
        n += l;
    }
    const char *path = write_text("specials.txt", buf, n);
    REQUIRE(path);
    const char *specials[] = {"<|endoftext|>", "<|pad|>"};
    gb_tokenizer *t = NULL;
    gb_bpe_train_stats st;
    CHECK_OK(train(&t, 400, specials, 2, &path, 1, &st));
    REQUIRE(t);
    int64_t v = gb_tokenizer_vocab_size(t);
    CHECK_EQ_INT(v, 256 + st.n_merges + 2);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), v - 2);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|pad|>"), v - 1);
    for (uint32_t id = 256; id < (uint32_t)(256 + st.n_merges); id++) {
        size_t len;
        const uint8_t *p = gb_tokenizer_token(t, id, &len);
        REQUIRE(p);
        CHECK(!memchr(p, '<', len) && !memchr(p, '|', len));
    }
    /* every special occurrence is one token, the rest are words */
    gb_ids ids = {0};
    CHECK_OK(gb_tokenizer_encode(t, buf, n, 1, &ids));
    CHECK(st.tokens_per_byte == (double)ids.len / (double)n);
    gb_ids_free(&ids);
    gb_tokenizer_free(t);

    /* no specials at all */
    CHECK_OK(train(&t, 270, specials, 0, &path, 1, &st));
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 270);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), -1);
    gb_tokenizer_free(t);
}

TEST(tokenizer_train_stops_when_no_pair_repeats) {
    const char *path = write_text("once.txt", "abcdef", 6);
    REQUIRE(path);
    gb_tokenizer *t = NULL;
    gb_bpe_train_stats st;
    CHECK_OK(train(&t, 5000, NULL, 0, &path, 1, &st));
    REQUIRE(t);
    CHECK_EQ_INT(st.n_merges, 0);
    CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 257);
    CHECK(st.tokens_per_byte == 1.0);
    gb_tokenizer_free(t);
}

TEST(tokenizer_train_vocab_too_small) {
    const char *path = write_text("small.txt", "hello hello", 11);
    REQUIRE(path);
    gb_tokenizer *t = (gb_tokenizer *)1;
    CHECK(train(&t, 256, NULL, 0, &path, 1, NULL) == GB_ERR_ARG);
    CHECK(t == NULL);
    CHECK(strstr(gb_last_error(), "minimum is 257") != NULL);
    const char *specials[] = {"<a>", "<b>", "<c>"};
    CHECK(train(&t, 258, specials, 3, &path, 1, NULL) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "minimum is 259") != NULL);
    /* exactly the minimum is fine: no merges */
    gb_bpe_train_stats st;
    CHECK_OK(train(&t, 259, specials, 3, &path, 1, &st));
    CHECK_EQ_INT(st.n_merges, 0);
    gb_tokenizer_free(t);
    /* bad specials */
    const char *dup[] = {"<a>", "<a>"};
    CHECK(train(&t, 1000, dup, 2, &path, 1, NULL) == GB_ERR_ARG);
    const char *bad_utf8[] = {"<\xff>"};
    CHECK(train(&t, 1000, bad_utf8, 1, &path, 1, NULL) == GB_ERR_ARG);
}

TEST(tokenizer_train_bad_input_names_the_file) {
    gb_tokenizer *t = NULL;
    const char *empty = write_text("empty.txt", "", 0);
    REQUIRE(empty);
    CHECK(train(&t, 1000, NULL, 0, &empty, 1, NULL) != GB_OK);
    CHECK(strstr(gb_last_error(), empty) != NULL);
    CHECK(strstr(gb_last_error(), "empty") != NULL);
    CHECK(t == NULL);

    const char *missing = gb_test_path("%s/no-such-file.txt", gb_test_tmpdir());
    CHECK(train(&t, 1000, NULL, 0, &missing, 1, NULL) == GB_ERR_IO);
    CHECK(strstr(gb_last_error(), "no-such-file.txt") != NULL);

    /* an empty file next to a real one is fine; a missing one is not */
    const char *good = write_text("good.txt", "hello hello", 11);
    const char *two[] = {empty, good}, *with_missing[] = {good, missing};
    CHECK_OK(train(&t, 1000, NULL, 0, two, 2, NULL));
    gb_tokenizer_free(t);
    CHECK(train(&t, 1000, NULL, 0, with_missing, 2, NULL) == GB_ERR_IO);
    CHECK(strstr(gb_last_error(), "no-such-file.txt") != NULL);

    /* a directory is not a text file */
    const char *dir = gb_test_tmpdir();
    CHECK(train(&t, 1000, NULL, 0, &dir, 1, NULL) != GB_OK);
    CHECK(strstr(gb_last_error(), dir) != NULL);
}

/* ---- the command ---- */

static char *slurp(const char *path, size_t *len) {
    char *data = NULL;
    if (gb_read_file(path, 0, &data, len) != GB_OK) return NULL;
    return data;
}

TEST(tokenizer_train_cli_usage_errors) {
    char *err = NULL;
    const char *bad[] = {"tokenizer", "train", "--no-such-flag", NULL};
    CHECK_EQ_INT(gb_test_run(bad, NULL, 0, NULL, NULL, &err), 2);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    free(err);

    const char *in = write_text("cli_in.txt", "hello hello", 11);
    REQUIRE(in);
    const char *no_out[] = {"tokenizer", "train", "--vocab-size", "300", "--input", in, NULL};
    CHECK_EQ_INT(gb_test_run(no_out, NULL, 0, NULL, NULL, &err), 2);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    CHECK(err && strstr(err, "--output") != NULL);
    free(err);

    const char *bad_num[] = {"tokenizer", "train", "--vocab-size", "lots", "--input", in, "--output", "x", NULL};
    CHECK_EQ_INT(gb_test_run(bad_num, NULL, 0, NULL, NULL, &err), 2);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    free(err);

    const char *bad_pat[] = {"tokenizer", "train", "--vocab-size", "300", "--pattern", "p50k",
                             "--input", in, "--output", "x", NULL};
    CHECK_EQ_INT(gb_test_run(bad_pat, NULL, 0, NULL, NULL, &err), 2);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    free(err);

    char *out = NULL;
    const char *help[] = {"tokenizer", "train", "--help", NULL};
    CHECK_EQ_INT(gb_test_run(help, NULL, 0, &out, NULL, NULL), 0);
    CHECK(out && strstr(out, "--vocab-size") != NULL);
    free(out);
}

TEST(tokenizer_train_cli_failures_leave_no_output) {
    const char *in = write_text("cli_fail_in.txt", "hello hello", 11);
    REQUIRE(in);
    char *err = NULL;
    struct stat sb;

    /* vocab too small: exit 1, one line, no file */
    const char *fresh = gb_test_path("%s/fresh.json", gb_test_tmpdir());
    const char *small[] = {"tokenizer", "train", "--vocab-size", "100", "--input", in, "--output", fresh, NULL};
    CHECK_EQ_INT(gb_test_run(small, NULL, 0, NULL, NULL, &err), 1);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    CHECK(err && strstr(err, "minimum") != NULL);
    free(err);
    CHECK(stat(fresh, &sb) != 0);

    /* an existing output stays as it was when training fails */
    const char *old = write_text("old.json", "keep me", 7);
    REQUIRE(old);
    const char *missing = gb_test_path("%s/missing.txt", gb_test_tmpdir());
    const char *fail[] = {"tokenizer", "train", "--vocab-size", "300", "--input", missing, "--output", old, NULL};
    CHECK_EQ_INT(gb_test_run(fail, NULL, 0, NULL, NULL, &err), 1);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    CHECK(err && strstr(err, "missing.txt") != NULL);
    free(err);
    size_t len;
    char *data = slurp(old, &len);
    CHECK(data && len == 7 && memcmp(data, "keep me", 7) == 0);
    gb_free(data);

    const char *empty = write_text("cli_empty.txt", "", 0);
    const char *fail2[] = {"tokenizer", "train", "--vocab-size", "300", "--input", empty, "--output", old, NULL};
    CHECK_EQ_INT(gb_test_run(fail2, NULL, 0, NULL, NULL, &err), 1);
    CHECK_EQ_INT(gb_test_count_lines(err), 1);
    CHECK(err && strstr(err, "cli_empty.txt") != NULL);
    free(err);
    data = slurp(old, &len);
    CHECK(data && len == 7 && memcmp(data, "keep me", 7) == 0);
    gb_free(data);

    /* and no temp file was left beside it */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", gb_test_tmpdir());
    CHECK(system(cmd) != 0);
}

TEST(tokenizer_train_cli_trains_and_reports) {
    static char buf[16384];
    size_t n = varied_text(buf, sizeof buf);
    const char *a = write_text("cli_a.txt", buf, n / 2);
    const char *b = write_text("cli_b.txt", buf + n / 2, n - n / 2);
    REQUIRE(a && b);
    const char *outp = gb_test_path("%s/cli_tok.json", gb_test_tmpdir());
    /* several files after one --input, and a second special */
    const char *args[] = {"tokenizer", "train", "--vocab-size", "300", "--input", a, b, "--output", outp,
                          "--special", "<|endoftext|>", "--special", "<|pad|>", "--threads", "1",
                          "--json", NULL};
    char *out = NULL, *err = NULL;
    CHECK_EQ_INT(gb_test_run(args, NULL, 0, &out, NULL, &err), 0);
    if (gb_test_failed()) fprintf(stderr, "%s", err ? err : "");
    REQUIRE(out);
    CHECK_EQ_INT(gb_test_count_lines(out), 1);
    cJSON *j = cJSON_Parse(out);
    REQUIRE(j);
    cJSON *vs = cJSON_GetObjectItem(j, "vocab_size"), *dg = cJSON_GetObjectItem(j, "digest");
    cJSON *ib = cJSON_GetObjectItem(j, "input_bytes"), *tpb = cJSON_GetObjectItem(j, "tokens_per_byte");
    cJSON *nm = cJSON_GetObjectItem(j, "merges");
    REQUIRE(cJSON_IsNumber(vs) && cJSON_IsNumber(nm));
    CHECK(vs->valuedouble == 256 + nm->valuedouble + 2);
    CHECK(vs->valuedouble == 300);
    CHECK(cJSON_IsNumber(ib) && ib->valuedouble == (double)n);
    CHECK(cJSON_IsNumber(tpb) && tpb->valuedouble > 0 && tpb->valuedouble < 1);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "seconds")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "unique_words")));
    REQUIRE(cJSON_IsString(dg) && strlen(dg->valuestring) == 64);

    /* the file loads, and is the same tokenizer as training in-process */
    gb_tokenizer *t = NULL, *u = NULL;
    CHECK_OK(gb_tokenizer_load(&t, outp));
    const char *paths[] = {a, b}, *specials[] = {"<|endoftext|>", "<|pad|>"};
    CHECK_OK(train(&u, 300, specials, 2, paths, 2, NULL));
    if (t && u) {
        uint8_t d1[32], d2[32];
        char hex[65];
        gb_tokenizer_digest(t, d1);
        gb_tokenizer_digest(u, d2);
        CHECK(memcmp(d1, d2, 32) == 0);
        for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d1[i]);
        CHECK_STR(dg->valuestring, hex);
        CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|pad|>"), 299);
    }
    gb_tokenizer_free(t);
    gb_tokenizer_free(u);
    cJSON_Delete(j);
    free(out);
    free(err);

    /* readable summary; --quiet prints nothing */
    const char *plain[] = {"tokenizer", "train", "--vocab-size", "400", "--input", a, "--output", outp, NULL};
    CHECK_EQ_INT(gb_test_run(plain, NULL, 0, &out, NULL, NULL), 0);
    CHECK(out && strstr(out, "tokens/byte") && strstr(out, "digest"));
    free(out);
    const char *quiet[] = {"tokenizer", "train", "--vocab-size", "400", "--input", a, "--output", outp,
                           "--quiet", NULL};
    CHECK_EQ_INT(gb_test_run(quiet, NULL, 0, &out, NULL, &err), 0);
    CHECK(out && out[0] == '\0');
    CHECK(err && err[0] == '\0');
    free(out);
    free(err);
}
