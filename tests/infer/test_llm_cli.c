/* The model commands end to end on a tiny model: init → info → quantize → perplexity →
 * generate, their usage errors (exit 2) and failures (exit 1, one line). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static int run(const char *const *argv, char **out, char **err) {
    return gb_test_run(argv, NULL, 0, out, NULL, err);
}

static const char *tiny_model(void) {
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/cli-tiny.gguf", gb_test_tmpdir());
        const char *a[] = {"init", "--arch", "llama", "--preset", "tiny", "--vocab", "600", "--ctx", "64", "--out", path, NULL};
        char *out = NULL, *err = NULL;
        int rc = run(a, &out, &err);
        if (rc != 0) gb_test_fail(__FILE__, __LINE__, "init exit %d: %s", rc, err ? err : "");
        free(out), free(err);
    }
    return path;
}

TEST(infer_cli_init_info_quantize) {
    const char *m = tiny_model();
    char *out = NULL, *err = NULL;
    const char *info[] = {"info", m, NULL};
    CHECK_EQ_INT(run(info, &out, &err), 0);
    CHECK(out && strstr(out, "architecture  llama") && strstr(out, "F32: ") && strstr(out, "sha256"));
    CHECK(out && strstr(out, "tokenizer.ggml.tokens") && strstr(out, "[string × 600]"));
    free(out), free(err);
    const char *q = gb_test_path("%s/cli-tiny-q8.gguf", gb_test_tmpdir());
    const char *qa[] = {"quantize", m, q, "--type", "q8_0", NULL};
    CHECK_EQ_INT(run(qa, &out, &err), 0);
    free(out), free(err);
    const char *ij[] = {"info", q, "--json", NULL};
    CHECK_EQ_INT(run(ij, &out, &err), 0);
    CHECK(out && strstr(out, "\"Q8_0\"") && strstr(out, "\"general.file_type\":\t7"));
    free(out), free(err);
    const char *bad[] = {"quantize", m, q, "--type", "q5_k", NULL};
    CHECK_EQ_INT(run(bad, &out, &err), 2);
    CHECK(err && gb_test_count_lines(err) == 1 && strstr(err, "q5_k"));
    free(out), free(err);
    const char *bi[] = {"init", "--arch", "mamba", "--preset", "tiny", "--out", q, NULL};
    CHECK_EQ_INT(run(bi, &out, &err), 2);
    free(out), free(err);
    const char *missing[] = {"info", gb_test_path("%s/none.gguf", gb_test_tmpdir()), NULL};
    CHECK_EQ_INT(run(missing, &out, &err), 1);
    CHECK(err && gb_test_count_lines(err) == 1 && strstr(err, "none.gguf"));
    free(out), free(err);
}

TEST(infer_cli_perplexity_and_generate) {
    const char *m = tiny_model();
    const char *txt = gb_test_path("%s/cli-text.txt", gb_test_tmpdir());
    FILE *fp = fopen(txt, "w");
    REQUIRE(fp);
    for (int i = 0; i < 40; i++) fprintf(fp, "In the beginning God created the heaven and the earth. %d\n", i);
    fclose(fp);
    char *out = NULL, *err = NULL;
    const char *pa[] = {"perplexity", "-m", m, "-f", txt, "--ctx", "32", "--json", NULL};
    CHECK_EQ_INT(run(pa, &out, &err), 0);
    CHECK(out && strstr(out, "\"ppl\":"));
    /* a random model over 600 tokens: perplexity near the vocabulary size */
    const char *p = out ? strstr(out, "\"ppl\":") : NULL;
    double ppl = p ? atof(p + 6) : 0;
    CHECK(ppl > 300 && ppl < 1200);
    free(out), free(err);
    const char *pl[] = {"perplexity", "-m", m, "-f", txt, "--ctx", "128", NULL};
    CHECK_EQ_INT(run(pl, &out, &err), 1);
    CHECK(err && gb_test_count_lines(err) == 1 && strstr(err, "context"));
    free(out), free(err);
    const char *ga[] = {"generate", "-m", m, "-p", "In the beginning", "-n", "8", "--temp", "0", "--verbose", NULL};
    CHECK_EQ_INT(run(ga, &out, &err), 0);
    CHECK(out && !strncmp(out, "In the beginning", 16));
    CHECK(err && strstr(err, "tok/s"));
    char *out2 = NULL;
    CHECK_EQ_INT(run(ga, &out2, NULL), 0);
    CHECK(out && out2 && !strcmp(out, out2)); /* greedy is deterministic */
    free(out), free(out2), free(err);
    const char *gu[] = {"generate", "-m", m, NULL};
    CHECK_EQ_INT(run(gu, &out, &err), 2);
    free(out), free(err);
}

/* --no-repack keeps the file's matrix layout; prefill (all perplexity does) gives the same bits
 * either way, so the same perplexity to the last digit. */
TEST(infer_cli_no_repack_same_perplexity) {
    const char *m = tiny_model();
    const char *q = gb_test_path("%s/cli-tiny-q4.gguf", gb_test_tmpdir());
    const char *txt = gb_test_path("%s/cli-text-rp.txt", gb_test_tmpdir());
    FILE *fp = fopen(txt, "w");
    REQUIRE(fp);
    for (int i = 0; i < 30; i++) fprintf(fp, "And God said, Let there be light: and there was light. %d\n", i);
    fclose(fp);
    char *out = NULL, *err = NULL, *out2 = NULL;
    const char *qa[] = {"quantize", m, q, "--type", "q4_0", NULL};
    CHECK_EQ_INT(run(qa, &out, &err), 0);
    free(out), free(err);
    const char *pa[] = {"perplexity", "-m", q, "-f", txt, "--ctx", "32", "--json", NULL};
    const char *pn[] = {"perplexity", "-m", q, "-f", txt, "--ctx", "32", "--json", "--no-repack", NULL};
    CHECK_EQ_INT(run(pa, &out, &err), 0);
    free(err);
    CHECK_EQ_INT(run(pn, &out2, &err), 0);
    const char *a = out ? strstr(out, "\"ppl\":") : NULL, *b = out2 ? strstr(out2, "\"ppl\":") : NULL;
    CHECK(a && b && !strncmp(a, b, 24));
    free(out), free(out2), free(err);
}

/* --kv-type: the fp16 cache (the default) and the fp32 one give perplexities a rounding apart;
 * another type is a usage error. */
TEST(infer_cli_kv_type) {
    const char *m = tiny_model();
    const char *txt = gb_test_path("%s/cli-text-kv.txt", gb_test_tmpdir());
    FILE *fp = fopen(txt, "w");
    REQUIRE(fp);
    for (int i = 0; i < 30; i++) fprintf(fp, "In the beginning was the Word, and the Word was with God. %d\n", i);
    fclose(fp);
    char *out = NULL, *err = NULL, *out2 = NULL;
    const char *p16[] = {"perplexity", "-m", m, "-f", txt, "--ctx", "32", "--json", NULL};
    const char *p32[] = {"perplexity", "-m", m, "-f", txt, "--ctx", "32", "--json", "--kv-type", "f32", NULL};
    CHECK_EQ_INT(run(p16, &out, &err), 0);
    free(err);
    CHECK_EQ_INT(run(p32, &out2, &err), 0);
    free(err);
    const char *a = out ? strstr(out, "\"ppl\":") : NULL, *b = out2 ? strstr(out2, "\"ppl\":") : NULL;
    REQUIRE(a && b);
    const double x = strtod(a + 6, NULL), y = strtod(b + 6, NULL);
    printf("    perplexity, fp16 KV %.6f, fp32 KV %.6f\n", x, y);
    CHECK(x > 1 && fabs(x - y) <= 1e-3 * y);
    free(out), free(out2);
    const char *bad[] = {"perplexity", "-m", m, "-f", txt, "--kv-type", "q8_0", NULL};
    CHECK_EQ_INT(run(bad, &out, &err), 2);
    CHECK(err && strstr(err, "--kv-type wants f16 or f32"));
    free(out), free(err);
}
