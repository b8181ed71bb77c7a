/* Tests of tokenizer files: one test per malformed case (each must give a one-line
 * GB_ERR_FORMAT message naming the file and the problem, never a crash), plus the
 * GPT-2 merge-round semantics that only a hand-written file can express. */
#include <stdlib.h>
#include <string.h>

#include "glassbox/error.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/tokenizer.h"
#include "test.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/tokenizer_internal.h"

static void put(const char *path, const char *data) {
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, strlen(data), fp) != strlen(data) || fclose(fp) != 0) abort();
}

/* Loads `path` expecting `want_rc` and a one-line message with `named` (the file at
 * fault; NULL: `path`) and `want` in it. */
static void expect_error_in(const char *path, const char *named, gb_status want_rc, const char *want, int line) {
    if (!named) named = path;
    gb_tokenizer *t = NULL;
    gb_status rc = gb_tokenizer_load(&t, path);
    const char *msg = gb_last_error();
    if (rc != want_rc)
        gb_test_fail(__FILE__, line, "%s: status %d, want %d (message: %s)", path, rc, want_rc, msg);
    else if (!strstr(msg, named) || !strstr(msg, want) || strchr(msg, '\n'))
        gb_test_fail(__FILE__, line, "message \"%s\" should be one line naming %s and saying \"%s\"", msg, named, want);
    if (t) gb_test_fail(__FILE__, line, "a tokenizer came back with an error");
    gb_tokenizer_free(t);
}
#define EXPECT_BAD(path, want) expect_error_in(path, NULL, GB_ERR_FORMAT, want, __LINE__)
/* an encoder.json whose merges.txt is at fault */
static void expect_bad_merges(const char *path, const char *want, int line) {
    char named[1024];
    snprintf(named, sizeof named, "%.*s/merges.txt", (int)(strrchr(path, '/') - path), path);
    expect_error_in(path, named, GB_ERR_FORMAT, want, line);
}
#define EXPECT_BAD_MERGES(path, want) expect_bad_merges(path, want, __LINE__)

static char *cat(char *dst, const char *s) {
    size_t n = strlen(s);
    memcpy(dst, s, n + 1);
    return dst + n;
}

/* A JSON string for byte b as GPT-2 maps it. */
static char *mapped(char *dst, uint8_t b) {
    uint32_t cp = gb_gpt2_byte_to_cp(b);
    *dst++ = '"';
    if (cp == '"' || cp == '\\') *dst++ = '\\';
    if (cp < 0x80) *dst++ = (char)cp;
    else *dst++ = (char)(0xc0 | cp >> 6), *dst++ = (char)(0x80 | (cp & 0x3f));
    *dst++ = '"';
    *dst = 0;
    return dst;
}

/* ---- a case file in its own directory (encoder.json needs merges.txt beside it) ---- */

static const char *case_dir(const char *name) {
    const char *d = gb_test_path("%s/%s", gb_test_tmpdir(), name);
    CHECK_OK(gb_mkdir_p(d));
    return d;
}

/* encoder.json with the 256 bytes at ids 0..255, then `extra` (", \"x\": 256 ...") */
static const char *encoder_json(const char *name, const char *extra, const char *merges) {
    static char buf[16384];
    char *p = cat(buf, "{");
    for (int b = 0; b < 256; b++) {
        if (b) p = cat(p, ", ");
        p = mapped(p, (uint8_t)b);
        p += sprintf(p, ": %d", b);
    }
    p = cat(p, extra);
    cat(p, "}\n");
    const char *d = case_dir(name);
    const char *path = gb_test_path("%s/encoder.json", d);
    put(path, buf);
    if (merges) put(gb_test_path("%s/merges.txt", d), merges);
    return path;
}

/* glassbox JSON: bytes at 0..255 (null for byte `null_byte`), extra tokens, then the rest
 * of the object from `tail` */
static int null_byte = -1;
static const char *glassbox_json(const char *name, const char *head, int vocab_size, const char *extra_tokens,
                                 const char *tail) {
    static char buf[16384];
    char *p = buf;
    p += sprintf(p, "{\"format\": \"glassbox-tokenizer\", %s \"vocab_size\": %d, \"tokens\": [", head, vocab_size);
    for (int b = 0; b < 256; b++) {
        if (b) p = cat(p, ", ");
        p = b == null_byte ? cat(p, "null") : mapped(p, (uint8_t)b);
    }
    p = cat(p, extra_tokens);
    p = cat(p, "], ");
    p = cat(p, tail);
    cat(p, "}\n");
    const char *path = gb_test_path("%s/%s.json", case_dir(name), name);
    put(path, buf);
    return path;
}
#define GB_HEAD "\"version\": 1, \"pattern\": \"gpt2\", \"merge_rule\": \"merges\","

static char *b64(char *dst, const uint8_t *s, size_t n) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        *dst++ = al[w >> 18];
        *dst++ = al[(w >> 12) & 63];
        *dst++ = i + 1 < n ? al[(w >> 6) & 63] : '=';
        *dst++ = i + 2 < n ? al[w & 63] : '=';
    }
    *dst = 0;
    return dst;
}

/* tiktoken file: bytes 0..255 (except `skip`, when >= 0) with rank = byte, then `extra` lines */
static const char *tiktoken_file(const char *name, int skip, const char *extra) {
    static char buf[16384];
    char *p = buf;
    for (int b = 0; b < 256; b++) {
        if (b == skip) continue;
        uint8_t c = (uint8_t)b;
        p = b64(p, &c, 1);
        p += sprintf(p, " %d\n", b);
    }
    cat(p, extra);
    const char *path = gb_test_path("%s/%s.tiktoken", case_dir(name), name);
    put(path, buf);
    return path;
}

/* ---- the base files load ---- */

TEST(tokenizer_files_minimal_files_load) {
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_tokenizer_load(&t, encoder_json("ok_enc", ", \"ab\": 256, \"<|endoftext|>\": 257", "#version: 0.2\na b\n")));
    if (t) CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 257);
    gb_tokenizer_free(t);
    t = NULL;
    CHECK_OK(gb_tokenizer_load(&t, glassbox_json("ok_gb", GB_HEAD, 258, ", \"ab\", null",
                                                 "\"specials\": [{\"id\": 257, \"content\": \"<|x|>\"}], "
                                                 "\"merges\": [[97, 98, 256]]")));
    gb_tokenizer_free(t);
    t = NULL;
    CHECK_OK(gb_tokenizer_load(&t, tiktoken_file("ok_tt", -1, "YWI= 256\n")));
    if (t) {
        CHECK_EQ_INT(gb_tokenizer_vocab_size(t), 258);
        CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 257);
    }
    gb_tokenizer_free(t);
}

/* ---- any file ---- */

TEST(tokenizer_files_missing_file) {
    expect_error_in(gb_test_path("%s/no-such-tokenizer.json", gb_test_tmpdir()), NULL, GB_ERR_IO, "No such file",
                    __LINE__);
}

TEST(tokenizer_files_empty_file) {
    const char *p = gb_test_path("%s/empty.json", gb_test_tmpdir());
    put(p, "");
    EXPECT_BAD(p, "empty");
    put(p, "  \n\t\n");
    EXPECT_BAD(p, "empty");
}

TEST(tokenizer_files_truncated_json) {
    const char *p = glassbox_json("trunc", GB_HEAD, 257, ", \"ab\"", "\"merges\": [[97, 98, 256]]");
    char *data;
    size_t len;
    CHECK_OK(gb_read_file(p, 0, &data, &len));
    for (size_t cut = len / 2; cut < len; cut += len / 7) {
        data[cut] = 0;
        put(p, data);
        EXPECT_BAD(p, "invalid JSON");
    }
    gb_free(data);
}

TEST(tokenizer_files_json_array) {
    const char *p = gb_test_path("%s/array.json", gb_test_tmpdir());
    put(p, "[1, 2, 3]");
    EXPECT_BAD(p, "not an object");
}

TEST(tokenizer_files_garbage) {
    const char *p = gb_test_path("%s/garbage.bin", gb_test_tmpdir());
    put(p, "\x01\x02\x03 hello\n");
    EXPECT_BAD(p, "base64");
}

/* ---- glassbox JSON ---- */

TEST(tokenizer_files_glassbox_wrong_types) {
    EXPECT_BAD(glassbox_json("gb_types1", GB_HEAD, 256, "", "\"merges\": 5"), "\"merges\" must be an array");
    EXPECT_BAD(glassbox_json("gb_types2", "\"version\": \"1\", \"pattern\": \"gpt2\", \"merge_rule\": \"merges\",", 256,
                             "", "\"merges\": []"),
               "version");
    EXPECT_BAD(glassbox_json("gb_types3", GB_HEAD, 257, ", 42", "\"merges\": []"), "tokens[256]");
    EXPECT_BAD(glassbox_json("gb_types4", GB_HEAD, 256, "", "\"merges\": [[97, 98]]"), "merges[0]");
    EXPECT_BAD(glassbox_json("gb_types5", GB_HEAD, 256, "", "\"merges\": [], \"specials\": {}"), "specials");
    EXPECT_BAD(glassbox_json("gb_types6", GB_HEAD, 257, ", null", "\"merges\": [], \"specials\": [{\"id\": 256}]"),
               "specials[0]");
}

TEST(tokenizer_files_glassbox_bad_header) {
    EXPECT_BAD(glassbox_json("gb_hdr1", "\"version\": 2, \"pattern\": \"gpt2\", \"merge_rule\": \"merges\",", 256, "",
                             "\"merges\": []"),
               "version 2");
    EXPECT_BAD(glassbox_json("gb_hdr2", "\"version\": 1, \"pattern\": \"o200k\", \"merge_rule\": \"merges\",", 256, "",
                             "\"merges\": []"),
               "pattern");
    EXPECT_BAD(glassbox_json("gb_hdr3", "\"version\": 1, \"pattern\": \"gpt2\", \"merge_rule\": \"magic\",", 256, "",
                             "\"merges\": []"),
               "merge_rule");
    const char *p = gb_test_path("%s/other_format.json", gb_test_tmpdir());
    put(p, "{\"format\": \"something-else\"}");
    EXPECT_BAD(p, "format");
}

TEST(tokenizer_files_glassbox_huge_numbers) {
    EXPECT_BAD(glassbox_json("gb_huge1", "\"version\": 1e300, \"pattern\": \"gpt2\", \"merge_rule\": \"merges\",", 256,
                             "", "\"merges\": []"),
               "version");
    const char *p = gb_test_path("%s/gb_huge2.json", gb_test_tmpdir());
    put(p, "{\"format\": \"glassbox-tokenizer\", " GB_HEAD " \"vocab_size\": 1e300, \"tokens\": [], \"merges\": []}");
    EXPECT_BAD(p, "vocab_size");
    put(p, "{\"format\": \"glassbox-tokenizer\", " GB_HEAD " \"vocab_size\": 4294967297, \"tokens\": [], \"merges\": []}");
    EXPECT_BAD(p, "vocab_size");
    EXPECT_BAD(glassbox_json("gb_huge3", GB_HEAD, 257, ", \"ab\"", "\"merges\": [[97, 98, 1e20]]"), "merges[0]");
    EXPECT_BAD(glassbox_json("gb_huge4", GB_HEAD, 257, ", \"ab\"", "\"merges\": [[97, 98, 256.5]]"), "merges[0]");
}

TEST(tokenizer_files_glassbox_size_mismatch) {
    EXPECT_BAD(glassbox_json("gb_size", GB_HEAD, 300, ", \"ab\"", "\"merges\": []"), "vocab_size");
}

TEST(tokenizer_files_glassbox_ids_out_of_range) {
    EXPECT_BAD(glassbox_json("gb_range1", GB_HEAD, 257, ", \"ab\"", "\"merges\": [[97, 98, 257]]"), "merges[0]");
    EXPECT_BAD(glassbox_json("gb_range2", GB_HEAD, 257, ", null",
                             "\"merges\": [], \"specials\": [{\"id\": 999, \"content\": \"<|x|>\"}]"),
               "specials[0]");
}

TEST(tokenizer_files_glassbox_merge_makes_other_token) {
    EXPECT_BAD(glassbox_json("gb_merge1", GB_HEAD, 257, ", \"ab\"", "\"merges\": [[97, 99, 256]]"), "not tokens");
    EXPECT_BAD(glassbox_json("gb_merge2", GB_HEAD, 258, ", \"ab\", null",
                             "\"merges\": [[97, 98, 257]], \"specials\": [{\"id\": 257, \"content\": \"<|x|>\"}]"),
               "not a token");
}

TEST(tokenizer_files_glassbox_duplicates) {
    EXPECT_BAD(glassbox_json("gb_dup1", GB_HEAD, 257, ", \"ab\"", "\"merges\": [[97, 98, 256], [97, 98, 256]]"),
               "repeats");
    EXPECT_BAD(glassbox_json("gb_dup2", GB_HEAD, 257, ", \"a\"", "\"merges\": []"), "same bytes");
    EXPECT_BAD(glassbox_json("gb_dup3", GB_HEAD, 258, ", null, null",
                             "\"merges\": [], \"specials\": [{\"id\": 256, \"content\": \"<|x|>\"}, "
                             "{\"id\": 257, \"content\": \"<|x|>\"}]"),
               "the same");
    EXPECT_BAD(glassbox_json("gb_dup4", GB_HEAD, 257, ", null",
                             "\"merges\": [], \"specials\": [{\"id\": 256, \"content\": \"<|x|>\"}, "
                             "{\"id\": 256, \"content\": \"<|y|>\"}]"),
               "already");
    EXPECT_BAD(glassbox_json("gb_dup5", "\"version\": 1, \"pattern\": \"gpt2\", \"merge_rule\": \"ranks\",", 258,
                             ", \"ab\", \"ab\"", "\"merges\": []"),
               "same bytes");
}

TEST(tokenizer_files_glassbox_missing_byte) {
    null_byte = 'a';
    const char *p = glassbox_json("gb_byte", GB_HEAD, 256, "", "\"merges\": []");
    null_byte = -1;
    EXPECT_BAD(p, "no token for the byte 0x61");
}

TEST(tokenizer_files_glassbox_bad_token_string) {
    EXPECT_BAD(glassbox_json("gb_str1", GB_HEAD, 257, ", \"\\u20ac\"", "\"merges\": []"), "tokens[256]");
    EXPECT_BAD(glassbox_json("gb_str2", GB_HEAD, 257, ", \"\"", "\"merges\": []"), "tokens[256]");
}

/* ---- encoder.json + merges.txt ---- */

TEST(tokenizer_files_encoder_wrong_types) {
    EXPECT_BAD(encoder_json("enc_types1", ", \"ab\": \"256\"", "a b\n"), "not a token id");
    EXPECT_BAD(encoder_json("enc_types2", ", \"ab\": [256]", "a b\n"), "not a token id");
    EXPECT_BAD(encoder_json("enc_types3", ", \"ab\": -1", "a b\n"), "not a token id");
}

TEST(tokenizer_files_encoder_huge_numbers) {
    EXPECT_BAD(encoder_json("enc_huge1", ", \"ab\": 1e20", "a b\n"), "not a token id");
    EXPECT_BAD(encoder_json("enc_huge2", ", \"ab\": 300", "a b\n"), "gap");
}

TEST(tokenizer_files_encoder_duplicate_ids) {
    EXPECT_BAD(encoder_json("enc_dupid", ", \"ab\": 256, \"ba\": 256", "a b\n"), "given to both");
}

TEST(tokenizer_files_encoder_duplicate_tokens) {
    EXPECT_BAD(encoder_json("enc_duptok", ", \"ab\": 256, \"ab\": 257", "a b\n"), "appears twice");
}

TEST(tokenizer_files_encoder_gap) {
    EXPECT_BAD(encoder_json("enc_gap", ", \"ab\": 257", "a b\n"), "gap");
}

TEST(tokenizer_files_encoder_no_merges_file) {
    const char *p = encoder_json("enc_nomerges", ", \"ab\": 256", NULL);
    EXPECT_BAD(p, "merges.txt");
}

TEST(tokenizer_files_encoder_merge_unknown_token) {
    EXPECT_BAD_MERGES(encoder_json("enc_unk", ", \"ab\": 256", "#version: 0.2\na b\nab zz\n"), "line 3");
    EXPECT_BAD_MERGES(encoder_json("enc_unk2", ", \"ab\": 256", "a \xe2\x82\xac\n"), "is not in");
}

TEST(tokenizer_files_encoder_merge_result_missing) {
    EXPECT_BAD_MERGES(encoder_json("enc_res", ", \"ab\": 256", "a b\nb a\n"), "makes a token that is not in");
}

TEST(tokenizer_files_encoder_bad_merge_line) {
    EXPECT_BAD_MERGES(encoder_json("enc_line1", ", \"ab\": 256", "a b c\n"), "not a merge");
    EXPECT_BAD_MERGES(encoder_json("enc_line2", ", \"ab\": 256", "ab\n"), "not a merge");
    EXPECT_BAD_MERGES(encoder_json("enc_line3", ", \"ab\": 256", "a b\n a\n"), "line 2");
}

TEST(tokenizer_files_encoder_duplicate_merge) {
    EXPECT_BAD(encoder_json("enc_dupm", ", \"ab\": 256", "a b\na b\n"), "repeats");
}

TEST(tokenizer_files_hf_tokenizer_json) {
    const char *p = gb_test_path("%s/tokenizer.json", gb_test_tmpdir());
    put(p, "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
    EXPECT_BAD(p, "Hugging Face");
}

/* ---- tiktoken ---- */

TEST(tokenizer_files_tiktoken_invalid_base64) {
    EXPECT_BAD(tiktoken_file("tt_b64a", -1, "@@@@ 256\n"), "base64");
    EXPECT_BAD(tiktoken_file("tt_b64b", -1, "YWI 256\n"), "base64");
    EXPECT_BAD(tiktoken_file("tt_b64c", -1, "Y=I= 256\n"), "base64");
    EXPECT_BAD(tiktoken_file("tt_b64d", -1, " 256\n"), "base64");
}

TEST(tokenizer_files_tiktoken_bad_rank) {
    EXPECT_BAD(tiktoken_file("tt_rank1", -1, "YWI= x1\n"), "rank");
    EXPECT_BAD(tiktoken_file("tt_rank2", -1, "YWI= 99999999999999999999999\n"), "rank");
    EXPECT_BAD(tiktoken_file("tt_rank3", -1, "YWI= -5\n"), "rank");
    EXPECT_BAD(tiktoken_file("tt_rank4", -1, "YWI=\n"), "base64 rank");
    EXPECT_BAD(tiktoken_file("tt_rank5", -1, "YWI= \n"), "rank");
}

TEST(tokenizer_files_tiktoken_duplicate_rank) {
    EXPECT_BAD(tiktoken_file("tt_duprank", -1, "YWI= 256\nYmE= 256\n"), "appears twice");
}

TEST(tokenizer_files_tiktoken_duplicate_token) {
    EXPECT_BAD(tiktoken_file("tt_duptok", -1, "YWI= 256\nYWI= 257\n"), "same bytes");
}

TEST(tokenizer_files_tiktoken_gaps) {
    EXPECT_BAD(tiktoken_file("tt_gaps", -1, "YWI= 258\nYmE= 260\n"), "missing");
}

TEST(tokenizer_files_tiktoken_missing_byte) {
    /* the one gap takes <|endoftext|>, so byte 'a' has no token */
    EXPECT_BAD(tiktoken_file("tt_byte", 'a', ""), "no token for the byte 0x61");
    /* every rank present, but byte 0xc8 has no token */
    EXPECT_BAD(tiktoken_file("tt_byte2", 200, "YWI= 200\n"), "no token for the byte 0xc8");
}

/* ---- semantics only a file can express ---- */

TEST(tokenizer_files_merge_rounds_as_gpt2) {
    /* rank 0: (ab, a) -> aba; rank 1: (a, b) -> ab. GPT-2's bpe() merges every (a, b) of
     * "abab" in one round, giving [ab, ab]; merging one pair at a time would give [aba, b]. */
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_tokenizer_load(&t, glassbox_json("rounds", GB_HEAD, 258, ", \"ab\", \"aba\"",
                                                 "\"merges\": [[256, 97, 257], [97, 98, 256]]")));
    REQUIRE(t);
    char text[201];
    for (int n = 4; n <= 200; n += n < 80 ? 2 : 50) { /* array and heap merge loops */
        for (int i = 0; i < n; i++) text[i] = "ab"[i & 1];
        gb_ids ids = {0};
        CHECK_OK(gb_tokenizer_encode(t, text, (size_t)n, 0, &ids));
        CHECK_EQ_INT(ids.len, n / 2);
        for (int64_t i = 0; i < ids.len; i++) CHECK_EQ_INT(ids.data[i], 256);
        gb_ids_free(&ids);
    }
    gb_ids ids = {0};
    CHECK_OK(gb_tokenizer_encode(t, "aba", 3, 0, &ids));
    CHECK(ids.len == 1 && ids.data[0] == 257);
    gb_ids_free(&ids);
    gb_tokenizer_free(t);
}
