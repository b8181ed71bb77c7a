/* glassbox chat through a pipe, on a tiny random model made by `glassbox init`: one message
 * per line, /reset, the cache reused across turns, greedy answers reproducible. */
#include <stdlib.h>

#include "test.h"

static const char *chat_model(void) {
    static char path[512];
    static int made = 0;
    if (made) return made > 0 ? path : NULL;
    made = -1;
    snprintf(path, sizeof path, "%s/tiny-chat.gguf", gb_test_tmpdir());
    const char *argv[] = {"init", "--arch", "llama", "--preset", "tiny", "--vocab", "512", "--ctx", "128",
                          "--out", path, NULL};
    char *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, NULL, NULL, &err);
    free(err);
    if (rc != 0) return NULL;
    made = 1;
    return path;
}

TEST(infer_chat_cli_pipe_turns_and_reset) {
    const char *model = chat_model();
    if (!model) {
        gb_test_skip("'glassbox init' failed; no model to chat with");
        return;
    }
    const char *argv[] = {"chat", "-m", model, "--template", "chatml", "--temp", "0", "-n", "5", "--verbose",
                          "--system", "Be brief.", NULL};
    const char *in = "hello there\nhow are you\n/reset\nhello there\n";
    char *out = NULL, *err = NULL;
    size_t out_len = 0;
    int rc = gb_test_run(argv, in, strlen(in), &out, &out_len, &err);
    CHECK_EQ_INT(rc, 0);
    REQUIRE(out && err);
    /* the same first turn before and after /reset gives the same greedy answer */
    const char *mark = "(conversation reset)\n";
    const char *r = strstr(out, mark);
    REQUIRE(r);
    const char *second = r + strlen(mark);
    size_t a2 = out_len - (size_t)(second - out);
    /* before the reset: answer 1 + "\n" + answer 2 + "\n"; after: answer 1 + "\n" */
    CHECK(a2 > 0 && (size_t)(r - out) > a2 && !memcmp(out, second, a2));
    /* three answers, the second one reusing the cache */
    int n_stats = 0;
    const char *p = err;
    long cached[3] = {-1, -1, -1};
    while ((p = strstr(p, "[prompt: ")) != NULL) {
        const char *q = strstr(p, "evaluated, ");
        if (q && n_stats < 3) cached[n_stats] = strtol(q + strlen("evaluated, "), NULL, 10);
        n_stats++;
        p++;
    }
    CHECK_EQ_INT(n_stats, 3);
    CHECK_EQ_INT(cached[0], 0);
    CHECK(cached[1] > 10);
    CHECK_EQ_INT(cached[2], 0);
    free(out);
    free(err);
}

TEST(infer_chat_cli_errors) {
    const char *model = chat_model();
    if (!model) {
        gb_test_skip("'glassbox init' failed; no model to chat with");
        return;
    }
    char *out = NULL, *err = NULL;
    const char *a1[] = {"chat", "-m", model, "--template", "vicuna", NULL};
    CHECK_EQ_INT(gb_test_run(a1, "", 0, &out, NULL, &err), 2);
    CHECK(err && strstr(err, "vicuna") && strstr(err, "chatml"));
    free(out), free(err);
    const char *a2[] = {"chat", NULL};
    CHECK_EQ_INT(gb_test_run(a2, "", 0, &out, NULL, &err), 2);
    free(out), free(err);
    const char *a3[] = {"chat", "-m", "/nonexistent.gguf", NULL};
    CHECK_EQ_INT(gb_test_run(a3, "", 0, &out, NULL, &err), 1);
    CHECK(err && gb_test_count_lines(err) == 1);
    free(out), free(err);
    /* no template in the file: plain, said on stderr; /exit ends before the second line */
    const char *a4[] = {"chat", "-m", model, "--temp", "0", "-n", "3", NULL};
    const char *in = "hi\n/exit\nnot read\n";
    CHECK_EQ_INT(gb_test_run(a4, in, strlen(in), &out, NULL, &err), 0);
    CHECK(err && strstr(err, "using 'plain'"));
    free(out), free(err);
}
