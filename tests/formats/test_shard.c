/* Token shards: round trip and one test per malformed header. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glassbox/shard.h"
#include "test.h"

static const uint8_t digest[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

TEST(formats_shard_round_trip_both_widths) {
    uint32_t ids[1000];
    for (int i = 0; i < 1000; i++) ids[i] = (uint32_t)(i * 7919) % 65536;
    const int64_t vocabs[2] = {65536, 100000};
    for (int v = 0; v < 2; v++) {
        const char *path = gb_test_path("%s/rt%d.bin", gb_test_tmpdir(), v);
        CHECK_OK(gb_shard_write(path, ids, 1000, vocabs[v], digest));
        gb_shard s;
        CHECK_OK(gb_shard_open(&s, path));
        CHECK_EQ_INT(s.token_bytes, v == 0 ? 2 : 4);
        CHECK_EQ_INT(s.n_tokens, 1000);
        CHECK_EQ_INT(s.vocab_size, vocabs[v]);
        CHECK(memcmp(s.tokenizer_digest, digest, 32) == 0);
        int same = 1;
        for (int i = 0; i < 1000; i++) same &= gb_shard_token(&s, i) == ids[i];
        CHECK(same);
        gb_shard_close(&s);
    }
    /* an empty shard is valid */
    const char *empty = gb_test_path("%s/empty.bin", gb_test_tmpdir());
    CHECK_OK(gb_shard_write(empty, ids, 0, 50257, digest));
    gb_shard s;
    CHECK_OK(gb_shard_open(&s, empty));
    CHECK_EQ_INT(s.n_tokens, 0);
    gb_shard_close(&s);
    /* the writer refuses ids outside the vocabulary and leaves no file */
    const char *bad = gb_test_path("%s/bad-id.bin", gb_test_tmpdir());
    CHECK(gb_shard_write(bad, ids, 1000, 100, digest) == GB_ERR_ARG);
    struct stat st;
    CHECK(stat(bad, &st) != 0);
}

/* Writes a valid 4-token shard, lets `mutate` damage the bytes, and expects a format error
 * whose message contains `needle`. */
static void expect_bad(const char *name, void (*mutate)(uint8_t *buf, size_t *len), const char *needle) {
    uint32_t ids[4] = {1, 2, 3, 4};
    const char *path = gb_test_path("%s/%s.bin", gb_test_tmpdir(), name);
    CHECK_OK(gb_shard_write(path, ids, 4, 50257, digest));
    uint8_t buf[256];
    FILE *fp = fopen(path, "rb");
    REQUIRE(fp);
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    mutate(buf, &len);
    fp = fopen(path, "wb");
    REQUIRE(fp);
    fwrite(buf, 1, len, fp);
    fclose(fp);
    gb_shard s;
    gb_status rc = gb_shard_open(&s, path);
    if (rc != GB_ERR_FORMAT) gb_test_fail(__FILE__, __LINE__, "%s: status %d, want GB_ERR_FORMAT", name, rc);
    if (!strstr(gb_last_error(), needle) || !strstr(gb_last_error(), path))
        gb_test_fail(__FILE__, __LINE__, "%s: message '%s' lacks '%s' or the path", name, gb_last_error(), needle);
    CHECK(s.map == NULL);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void bad_magic(uint8_t *b, size_t *n) { (void)n, b[0] = 'X'; }
static void version0(uint8_t *b, size_t *n) { (void)n, put32(b + 8, 0); }
static void version2(uint8_t *b, size_t *n) { (void)n, put32(b + 8, 2); }
static void width3(uint8_t *b, size_t *n) { (void)n, put32(b + 12, 3); }
static void truncated(uint8_t *b, size_t *n) { (void)b, *n -= 1; }
static void header_only(uint8_t *b, size_t *n) { (void)b, *n = 40; }
static void count_overflow(uint8_t *b, size_t *n) { (void)n, put64(b + 16, UINT64_MAX / 2 + 2); }
static void count_too_big(uint8_t *b, size_t *n) { (void)n, put64(b + 16, 5); }
static void vocab_zero(uint8_t *b, size_t *n) { (void)n, put64(b + 24, 0); }
static void vocab_too_wide(uint8_t *b, size_t *n) { (void)n, put64(b + 24, 70000); }
static void id_out_of_vocab(uint8_t *b, size_t *n) { (void)n, put64(b + 24, 3); }

TEST(formats_shard_rejects_malformed) {
    expect_bad("magic", bad_magic, "bad magic");
    expect_bad("version0", version0, "version 0");
    expect_bad("version2", version2, "version 2");
    expect_bad("width3", width3, "width 3");
    expect_bad("truncated", truncated, "truncated");
    expect_bad("header-only", header_only, "too short");
    expect_bad("count-overflow", count_overflow, "truncated");
    expect_bad("count-too-big", count_too_big, "truncated");
    expect_bad("vocab-zero", vocab_zero, "vocabulary size 0");
    expect_bad("vocab-too-wide", vocab_too_wide, "vocabulary size 70000");
    expect_bad("id-out-of-vocab", id_out_of_vocab, "outside the vocabulary");
    gb_shard s;
    CHECK(gb_shard_open(&s, gb_test_path("%s/nope.bin", gb_test_tmpdir())) == GB_ERR_IO);
}
