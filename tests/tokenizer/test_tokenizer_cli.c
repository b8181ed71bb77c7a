/* Tests of `glassbox tokenizer encode|decode` through the binary ($GB_BIN). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/tokenizer.h"
#include "test.h"
#include "tokenizer/tokenizer_internal.h"

/* A small tokenizer saved once per run. */
static const char *tok_file(void) {
    static char path[512];
    if (!path[0]) {
        static const uint32_t merges[][2] = {{'h', 'e'}, {'l', 'l'}, {256, 257}, {258, 'o'}, {' ', 'w'}, {260, 'o'}};
        static const char *const specials[] = {"<|endoftext|>"};
        gb_tokenizer *t = NULL;
        if (gb_tokenizer_from_merges(&t, GB_PRETOK_GPT2, merges, 6, specials, 1) != GB_OK) abort();
        snprintf(path, sizeof path, "%s/cli_tok.json", gb_test_tmpdir());
        if (gb_tokenizer_save(t, path) != GB_OK) abort();
        gb_tokenizer_free(t);
    }
    return path;
}

static const char text[] = "hello world<|endoftext|>\xff\xfe\0\r\n\r\n caf\xc3\xa9 \xf0\x9f\x98\x80  \xe4\xb8\xad";

TEST(tokenizer_cli_encode_decode_text) {
    const char *enc[] = {"tokenizer", "encode", "--tokenizer", tok_file(), NULL};
    char *out = NULL, *err = NULL, *back = NULL;
    size_t out_len = 0, back_len = 0;
    CHECK_EQ_INT(gb_test_run(enc, text, sizeof text - 1, &out, &out_len, &err), 0);
    REQUIRE(out && out_len > 0);
    CHECK(out[out_len - 1] == '\n');
    CHECK_EQ_INT(gb_test_count_lines(out), 1);
    CHECK(strncmp(out, "259 ", 4) == 0); /* "hello" is one token */
    CHECK(strstr(out, " 262 ") != NULL); /* <|endoftext|> */
    const char *dec[] = {"tokenizer", "decode", "--tokenizer", tok_file(), NULL};
    free(err);
    CHECK_EQ_INT(gb_test_run(dec, out, out_len, &back, &back_len, &err), 0);
    CHECK(back_len == sizeof text - 1 && memcmp(back, text, back_len) == 0);
    free(out);
    free(err);
    free(back);
}

TEST(tokenizer_cli_encode_decode_binary) {
    const char *enc[] = {"tokenizer", "encode", "-t", tok_file(), "--binary", NULL};
    char *out = NULL, *err = NULL, *back = NULL;
    size_t out_len = 0, back_len = 0;
    CHECK_EQ_INT(gb_test_run(enc, text, sizeof text - 1, &out, &out_len, &err), 0);
    REQUIRE(out && out_len % 4 == 0 && out_len > 0);
    CHECK(out[0] == 3 && out[1] == 1 && out[2] == 0 && out[3] == 0); /* 259, little-endian */
    const char *dec[] = {"tokenizer", "decode", "-t", tok_file(), "--binary", NULL};
    free(err);
    CHECK_EQ_INT(gb_test_run(dec, out, out_len, &back, &back_len, &err), 0);
    CHECK(back_len == sizeof text - 1 && memcmp(back, text, back_len) == 0);
    free(out);
    free(err);
    free(back);
}

TEST(tokenizer_cli_no_special) {
    const char *enc[] = {"tokenizer", "encode", "--tokenizer", tok_file(), "--no-special", NULL};
    char *out = NULL, *err = NULL;
    CHECK_EQ_INT(gb_test_run(enc, "<|endoftext|>", 13, &out, NULL, &err), 0);
    CHECK(out && strstr(out, "262") == NULL && strchr(out, ' ') != NULL);
    free(out);
    free(err);
}

TEST(tokenizer_cli_empty_input) {
    const char *enc[] = {"tokenizer", "encode", "--tokenizer", tok_file(), NULL};
    char *out = NULL, *err = NULL;
    CHECK_EQ_INT(gb_test_run(enc, "", 0, &out, NULL, &err), 0);
    CHECK_STR(out, "\n");
    free(out);
    free(err);
    const char *dec[] = {"tokenizer", "decode", "--tokenizer", tok_file(), NULL};
    size_t len = 1;
    CHECK_EQ_INT(gb_test_run(dec, "\n", 1, &out, &len, &err), 0);
    CHECK_EQ_INT(len, 0);
    free(out);
    free(err);
}

/* exit code `want`, nothing on stdout, exactly one line on stderr containing `needle` */
static void expect_fail(const char *const *argv, const char *in, size_t in_len, int want, const char *needle,
                        int line) {
    char *out = NULL, *err = NULL;
    size_t out_len = 0;
    int rc = gb_test_run(argv, in, in_len, &out, &out_len, &err);
    if (rc != want) gb_test_fail(__FILE__, line, "exit %d, want %d (stderr: %s)", rc, want, err ? err : "");
    else if (out_len != 0) gb_test_fail(__FILE__, line, "wrote %zu bytes to stdout on failure", out_len);
    else if (gb_test_count_lines(err) != 1 || !strstr(err, needle))
        gb_test_fail(__FILE__, line, "stderr should be one line with \"%s\": %s", needle, err ? err : "(none)");
    free(out);
    free(err);
}

TEST(tokenizer_cli_usage_errors) {
    const char *a1[] = {"tokenizer", "encode", "--tokenizer", tok_file(), "--frobnicate", NULL};
    expect_fail(a1, "", 0, 2, "--frobnicate", __LINE__);
    const char *a2[] = {"tokenizer", "decode", "--tokenizer", tok_file(), "-z", NULL};
    expect_fail(a2, "", 0, 2, "-z", __LINE__);
    const char *a3[] = {"tokenizer", "encode", NULL};
    expect_fail(a3, "", 0, 2, "--tokenizer", __LINE__);
    const char *a4[] = {"tokenizer", "encode", "--tokenizer", NULL};
    expect_fail(a4, "", 0, 2, "needs a value", __LINE__);
    const char *a5[] = {"tokenizer", "frob", NULL};
    expect_fail(a5, "", 0, 2, "frob", __LINE__);
    const char *a6[] = {"tokenizer", NULL};
    expect_fail(a6, "", 0, 2, "missing command", __LINE__);
    const char *a7[] = {"tokenizer", "decode", "--tokenizer", tok_file(), "--no-special", NULL};
    expect_fail(a7, "", 0, 2, "--no-special", __LINE__);
    const char *a8[] = {"tokenizer", "encode", "--tokenizer", tok_file(), "stray", NULL};
    expect_fail(a8, "", 0, 2, "stray", __LINE__);
}

TEST(tokenizer_cli_help) {
    const char *const subs[] = {"encode", "decode"};
    for (int i = 0; i < 2; i++) {
        const char *a[] = {"tokenizer", subs[i], "--help", NULL};
        char *out = NULL, *err = NULL;
        CHECK_EQ_INT(gb_test_run(a, NULL, 0, &out, NULL, &err), 0);
        CHECK(out && strstr(out, "usage: glassbox tokenizer") && strstr(out, "--tokenizer"));
        free(out);
        free(err);
    }
    const char *a[] = {"tokenizer", "--help", NULL};
    char *out = NULL, *err = NULL;
    CHECK_EQ_INT(gb_test_run(a, NULL, 0, &out, NULL, &err), 0);
    CHECK(out && strstr(out, "train") && strstr(out, "encode") && strstr(out, "decode"));
    free(out);
    free(err);
}

TEST(tokenizer_cli_missing_tokenizer_file) {
    const char *missing = gb_test_path("%s/nope/tok.json", gb_test_tmpdir());
    const char *a[] = {"tokenizer", "encode", "--tokenizer", missing, NULL};
    expect_fail(a, "hi", 2, 1, missing, __LINE__);
    const char *b[] = {"tokenizer", "decode", "--tokenizer", missing, NULL};
    expect_fail(b, "1 2", 3, 1, missing, __LINE__);
}

TEST(tokenizer_cli_corrupt_tokenizer_file) {
    const char *p = gb_test_path("%s/corrupt.json", gb_test_tmpdir());
    FILE *fp = fopen(p, "wb");
    REQUIRE(fp);
    fputs("{\"format\": \"glassbox-tokenizer\", \"version\": 1, \"tok", fp);
    fclose(fp);
    const char *a[] = {"tokenizer", "encode", "--tokenizer", p, NULL};
    expect_fail(a, "hi", 2, 1, p, __LINE__);
}

TEST(tokenizer_cli_decode_bad_ids) {
    const char *a[] = {"tokenizer", "decode", "--tokenizer", tok_file(), NULL};
    expect_fail(a, "259 12x 5", 9, 1, "'12x'", __LINE__);
    expect_fail(a, "259 -1", 6, 1, "'-1'", __LINE__);
    expect_fail(a, "99999999999999", 14, 1, "not a token id", __LINE__);
    expect_fail(a, "259 263", 7, 1, "263", __LINE__); /* one past the last id */
    const char *b[] = {"tokenizer", "decode", "--tokenizer", tok_file(), "--binary", NULL};
    expect_fail(b, "\x03\x01\x00\x00\x07", 5, 1, "4-byte", __LINE__);
    expect_fail(b, "\xff\xff\xff\xff", 4, 1, "4294967295", __LINE__);
}

TEST(tokenizer_cli_train_failure_leaves_no_output) {
    const char *dir = gb_test_path("%s/train_fail", gb_test_tmpdir());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    REQUIRE(system(cmd) == 0);
    const char *outp = gb_test_path("%s/tok.json", dir);
    const char *in = gb_test_path("%s/missing.txt", dir);
    const char *a[] = {"tokenizer", "train", "--vocab-size", "300", "--input", in, "--output", outp, NULL};
    char *err = NULL;
    int rc = gb_test_run(a, NULL, 0, NULL, NULL, &err);
    CHECK(rc == 1);
    CHECK(err && gb_test_count_lines(err) == 1 && strstr(err, in));
    free(err);
    DIR *d = opendir(dir);
    REQUIRE(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') gb_test_fail(__FILE__, __LINE__, "left behind: %s", e->d_name);
    closedir(d);
}
