/* The trainer tests' tiny corpus, tokenizer and prepared directory. */
#include "train_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static const char *words[] = {"the", "LORD", "said", "unto", "Moses", "and", "Aaron", "spake", "people",
                              "land", "of", "Egypt", "went", "out", "into", "wilderness", "children",
                              "Israel", "God", "heaven", "earth", "light", "darkness", "was", "good"};

const char *train_fixture_tokenizer(void) { return gb_test_path("%s/trainfix/tok.json", gb_test_tmpdir()); }

const char *train_fixture_data(void) {
    static int state = 0; /* 0 not made, 1 ok, -1 failed */
    const char *dir = gb_test_path("%s/trainfix/data", gb_test_tmpdir());
    static char saved[4096];
    if (state == 1) return saved;
    if (state == -1) return NULL;
    state = -1;
    const char *root = gb_test_path("%s/trainfix", gb_test_tmpdir());
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", root);
    if (system(cmd) != 0) return NULL;
    const char *text = gb_test_path("%s/trainfix/text.txt", gb_test_tmpdir());
    FILE *fp = fopen(text, "w");
    if (!fp) return NULL;
    /* verses with a little grammar: a model can learn the frequent bigrams quickly */
    uint32_t x = 12345;
    const int nw = (int)(sizeof words / sizeof *words);
    for (int v = 0; v < 800; v++) {
        fprintf(fp, "%d:%d ", v / 30 + 1, v % 30 + 1);
        int len = 5 + v % 7;
        for (int i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            int w = (i % 3 == 0) ? 0 : (int)((x >> 16) % (uint32_t)nw);
            fprintf(fp, "%s%s", i ? " " : "", words[w]);
        }
        fputs(".\n", fp);
    }
    fclose(fp);
    const char *tok = train_fixture_tokenizer();
    const char *t_argv[] = {"tokenizer", "train", "--vocab-size", "300", "--input", text, "--output", tok, "--quiet", NULL};
    char *err = NULL;
    int rc = gb_test_run(t_argv, NULL, 0, NULL, NULL, &err);
    if (rc != 0) {
        gb_test_fail(__FILE__, __LINE__, "tokenizer train exit %d: %s", rc, err);
        free(err);
        return NULL;
    }
    free(err);
    const char *p_argv[] = {"data", "prepare", "--tokenizer", tok, "--input", text, "--out", dir, "--quiet", NULL};
    rc = gb_test_run(p_argv, NULL, 0, NULL, NULL, &err);
    if (rc != 0) {
        gb_test_fail(__FILE__, __LINE__, "data prepare exit %d: %s", rc, err);
        free(err);
        return NULL;
    }
    free(err);
    snprintf(saved, sizeof saved, "%s", dir);
    state = 1;
    return saved;
}

int train_run(const char *out_dir, const char *const *extra, char **out, char **err) {
    const char *data = train_fixture_data();
    if (!data) return -1;
    const char *argv[64] = {"train", "--data", data, "--out", out_dir, "--n-layer", "1", "--d-model", "32",
                            "--n-head", "2", "--ctx", "32", "--seq", "16", "--batch", "4", "--eval-batches", "2",
                            "--quiet"};
    int n = 20;
    for (int i = 0; extra && extra[i] && n < 63; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    return gb_test_run(argv, NULL, 0, out, NULL, err);
}

int train_sha(const char *s, char hex[65]) {
    const char *p = s ? strstr(s, "weights sha256 ") : NULL;
    if (!p) return -1;
    p += strlen("weights sha256 ");
    if (strspn(p, "0123456789abcdef") < 64) return -1;
    memcpy(hex, p, 64);
    hex[64] = 0;
    return 0;
}

int train_copy(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = -1;
    return rc;
}
