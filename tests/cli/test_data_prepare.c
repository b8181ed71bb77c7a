/* glassbox data prepare: shards decode back to the input, do not depend on the thread
 * count, and bad input fails with one line and leaves nothing behind. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/shard.h"
#include "glassbox/tokenizer.h"
#include "test.h"

#define TOKENIZER "data/vocab/gpt2/r50k_base.tiktoken"

static const char *write_text(const char *name, const char *text) {
    const char *path = gb_test_path("%s/%s", gb_test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    fputs(text, fp);
    fclose(fp);
    return path;
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len) {
    char *data = NULL;
    if (gb_read_file(path, 0, &data, len) != GB_OK) return NULL;
    return data;
}

TEST(cli_data_prepare_round_trip_and_threads) {
    /* about 100 KB, so several 32 KiB blocks and a validation split exist */
    gb_bytes text = {0};
    for (int i = 0; i < 2000; i++) {
        char line[128];
        snprintf(line, sizeof line, "Verse %d: And God saw the light, that it was good — ¿bueno? 光 %d\n", i, i * 7);
        REQUIRE(gb_bytes_append(&text, line, strlen(line)) == GB_OK);
    }
    REQUIRE(gb_bytes_append(&text, "", 1) == GB_OK); /* NUL-terminate for write_text */
    const char *in = write_text("prep.txt", (const char *)text.data);
    REQUIRE(in);

    const char *outs[2] = {gb_test_path("%s/prep1", gb_test_tmpdir()), gb_test_path("%s/prep2", gb_test_tmpdir())};
    const char *threads[2] = {"1", "2"};
    for (int r = 0; r < 2; r++) {
        const char *argv[] = {"data", "prepare", "--tokenizer", TOKENIZER, "--input", in, "--out", outs[r],
                              "--val-fraction", "0", "--threads", threads[r], "--quiet", NULL};
        char *out, *err;
        int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
        if (rc != 0) gb_test_fail(__FILE__, __LINE__, "prepare exit %d: %s", rc, err);
        free(out), free(err);
    }
    /* with no validation split the train shard decodes to the text plus <|endoftext|> */
    gb_tokenizer *tok = NULL;
    REQUIRE(gb_tokenizer_load(&tok, TOKENIZER) == GB_OK);
    gb_shard s;
    CHECK_OK(gb_shard_open(&s, gb_test_path("%s/train-0000.bin", outs[0])));
    gb_ids ids = {0};
    for (int64_t i = 0; i < s.n_tokens; i++) CHECK_OK(gb_ids_push(&ids, gb_shard_token(&s, i)));
    uint8_t digest[32];
    gb_tokenizer_digest(tok, digest);
    CHECK(memcmp(digest, s.tokenizer_digest, 32) == 0);
    gb_shard_close(&s);
    CHECK(ids.len > 0 && ids.data[ids.len - 1] == 50256);
    gb_bytes back = {0};
    CHECK_OK(gb_tokenizer_decode(tok, ids.data, ids.len - 1, &back));
    CHECK(back.len == text.len - 1 && memcmp(back.data, text.data, back.len) == 0);
    gb_bytes_free(&back);
    gb_ids_free(&ids);

    /* one thread or two: the same bytes */
    size_t la, lb;
    char *a = slurp(gb_test_path("%s/train-0000.bin", outs[0]), &la);
    char *b = slurp(gb_test_path("%s/train-0000.bin", outs[1]), &lb);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
    gb_free(a), gb_free(b);

    /* with a validation fraction, train + val hold every token, val about 10 % */
    const char *split = gb_test_path("%s/prep-split", gb_test_tmpdir());
    const char *argv[] = {"data", "prepare", "--tokenizer", TOKENIZER, "--input", in, "--out", split, "--json", NULL};
    char *out, *err;
    CHECK_EQ_INT(gb_test_run(argv, NULL, 0, &out, NULL, &err), 0);
    CHECK(strstr(out, "\"train_tokens\":") && strstr(out, "\"val_tokens\":"));
    free(out), free(err);
    gb_shard tr, va;
    CHECK_OK(gb_shard_open(&tr, gb_test_path("%s/train-0000.bin", split)));
    CHECK_OK(gb_shard_open(&va, gb_test_path("%s/val-0000.bin", split)));
    CHECK(va.n_tokens > 0 && va.n_tokens < tr.n_tokens / 4);
    gb_shard_close(&tr), gb_shard_close(&va);
    gb_bytes_free(&text);
    gb_tokenizer_free(tok);
}

/* Runs prepare with `input` and `tokenizer`; expects exit 1, one line naming `needle`, and
 * an output directory that is empty or absent. */
static void expect_failure(const char *tokenizer, const char *input, const char *needle) {
    const char *dir = gb_test_path("%s/fail-out", gb_test_tmpdir());
    const char *argv[] = {"data", "prepare", "--tokenizer", tokenizer, "--input", input, "--out", dir, NULL};
    char *out, *err;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    if (rc != 1 || gb_test_count_lines(err) != 1 || !strstr(err, needle))
        gb_test_fail(__FILE__, __LINE__, "prepare %s %s: exit %d, stderr '%s'", tokenizer, input, rc, err);
    int n = count_files(dir);
    if (n > 0) gb_test_fail(__FILE__, __LINE__, "%d files left in %s", n, dir);
    free(out), free(err);
}

TEST(cli_data_prepare_bad_input) {
    const char *ok = write_text("ok.txt", "hello world\n");
    const char *empty = write_text("empty.txt", "");
    const char *missing = gb_test_path("%s/no-such-file.txt", gb_test_tmpdir());
    const char *bad_tok = write_text("bad-tok.json", "{\"format\": 12");
    expect_failure(TOKENIZER, missing, "no-such-file.txt");
    expect_failure(TOKENIZER, empty, "empty.txt: input is empty");
    expect_failure(bad_tok, ok, "bad-tok.json");
    expect_failure(missing, ok, "no-such-file.txt");
}
