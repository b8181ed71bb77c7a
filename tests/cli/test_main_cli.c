/* The glassbox binary's top level: help, version, unknown commands and flags. */
#include <stdlib.h>
#include <string.h>

#include "glassbox/error.h"
#include "test.h"

TEST(cli_help_and_version) {
    char *out, *err;
    const char *help[] = {"--help", NULL};
    CHECK_EQ_INT(gb_test_run(help, NULL, 0, &out, NULL, &err), 0);
    CHECK(strstr(out, "usage: glassbox COMMAND") != NULL);
    CHECK(strstr(out, "tokenizer") && strstr(out, "data") && strstr(out, "train") && strstr(out, "sample"));
    free(out), free(err);

    const char *version[] = {"--version", NULL};
    CHECK_EQ_INT(gb_test_run(version, NULL, 0, &out, NULL, &err), 0);
    CHECK(strncmp(out, "glassbox ", 9) == 0 && strstr(out, "commit ") != NULL);
    free(out), free(err);

    /* every subcommand answers --help on stdout with exit 0 */
    const char *const cmds[][4] = {{"tokenizer", "--help"}, {"tokenizer", "train", "--help"},
                                   {"tokenizer", "encode", "--help"}, {"tokenizer", "decode", "--help"},
                                   {"data", "--help"}, {"data", "prepare", "--help"},
                                   {"data", "stats", "--help"}, {"train", "--help"}, {"sample", "--help"},
                                   {"chat", "--help"}, {"init", "--help"}, {"quantize", "--help"},
                                   {"info", "--help"}, {"perplexity", "--help"}, {"generate", "--help"}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = gb_test_run(cmds[i], NULL, 0, &out, NULL, &err);
        if (rc != 0 || !strstr(out, "usage: glassbox"))
            gb_test_fail(__FILE__, __LINE__, "'%s %s --help' exit %d, stdout '%.80s'", cmds[i][0],
                         cmds[i][1], rc, out);
        free(out), free(err);
    }
}

/* A usage error is exactly one line on stderr, with a hint, and exit status 2. */
static void expect_usage_error(const char *const *argv, const char *needle) {
    char *out, *err;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    if (rc != 2 || gb_test_count_lines(err) != 1 || !strstr(err, needle) || !strstr(err, "--help"))
        gb_test_fail(__FILE__, __LINE__, "'%s %s': exit %d, stderr '%s'", argv[0], argv[1] ? argv[1] : "", rc, err);
    free(out), free(err);
}

TEST(cli_unknown_command_and_flags) {
    const char *a[] = {"frobnicate", NULL};
    expect_usage_error(a, "unknown command 'frobnicate'");
    const char *b[] = {"--frobnicate", NULL};
    expect_usage_error(b, "unknown option '--frobnicate'");
    const char *c[] = {"data", "prepare", "--frobnicate", NULL};
    expect_usage_error(c, "unknown option '--frobnicate'");
    const char *d[] = {"data", "prepare", "--tokenizer", NULL};
    expect_usage_error(d, "needs a value");
    const char *e[] = {"data", "frobnicate", NULL};
    expect_usage_error(e, "unknown command 'frobnicate'");
    const char *f[] = {"data", "prepare", "--val-fraction", "0.9", NULL};
    expect_usage_error(f, "--val-fraction");
    const char *g[] = {"data", "prepare", "--threads", "0", NULL};
    expect_usage_error(g, "--threads");
}
