/* glassbox train / sample end to end on a tiny model: loss goes down, runs are bit for bit
 * reproducible (twice, 1 vs 2 threads, straight vs stopped and resumed), checkpoints are
 * valid GGUF, Ctrl-C saves, and bad input fails with one line leaving the last checkpoint. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "glassbox/fileio.h"
#include "glassbox/gguf.h"
#include "glassbox/mem.h"
#include "glassbox/sha256.h"
#include "test.h"
#include "train_fixture.h"

/* gb_test_path's buffers rotate; run directories get their own, longer-lived pool */
static const char *run_dir(const char *name) {
    static char bufs[32][512];
    static int next;
    char *b = bufs[next++ % 32];
    snprintf(b, sizeof bufs[0], "%s/runs/%s", gb_test_tmpdir(), name);
    return b;
}

/* Trains into run_dir(name); on success copies the weights digest into hex. */
static int train_ok(const char *name, const char *const *extra, char hex[65]) {
    char *out = NULL, *err = NULL;
    int rc = train_run(run_dir(name), extra, &out, &err);
    int ok = rc == 0 && train_sha(out, hex) == 0;
    if (!ok) gb_test_fail(__FILE__, __LINE__, "train %s: exit %d, stdout '%s', stderr '%s'", name, rc, out, err);
    free(out), free(err);
    return ok;
}

static int file_digest(const char *path, char hex[65]) {
    uint8_t d[32];
    if (gb_sha256_file(path, d) != GB_OK) return -1;
    gb_sha256_hex(d, hex);
    return 0;
}

/* Reads column `col` of log.csv rows into v (NAN for empty); returns the row count. */
static int log_column(const char *dir, int col, double *v, int max) {
    char *s = NULL;
    size_t len;
    if (gb_read_file(gb_test_path("%s/log.csv", dir), 0, &s, &len) != GB_OK) return -1;
    int n = 0;
    char *line = strchr(s, '\n');
    while (line && line[1] && n < max) {
        line++;
        char *p = line;
        for (int c = 0; c < col; c++) p = strchr(p, ',') + 1;
        v[n++] = (*p == ',' || *p == '\n') ? NAN : strtod(p, NULL);
        line = strchr(line, '\n');
    }
    gb_free(s);
    return n;
}

TEST(train_loss_decreases_and_writes_run) {
    char hex[65];
    const char *extra[] = {"--steps", "60", "--lr", "3e-3", "--eval-every", "20", NULL};
    REQUIRE(train_ok("learn", extra, hex));
    double loss[64], val[64];
    int n = log_column(run_dir("learn"), 1, loss, 64);
    CHECK_EQ_INT(n, 60);
    CHECK_EQ_INT(log_column(run_dir("learn"), 2, val, 64), 60);
    REQUIRE(n == 60);
    double first = (loss[0] + loss[1] + loss[2]) / 3, last = (loss[57] + loss[58] + loss[59]) / 3;
    if (!(last < first - 1.0))
        gb_test_fail(__FILE__, __LINE__, "loss went from %.3f to %.3f", first, last);
    CHECK(isnan(val[0]) && !isnan(val[19]) && !isnan(val[59]) && val[59] < val[19]);
    /* the run directory */
    char *s = NULL;
    size_t len;
    REQUIRE(gb_read_file(gb_test_path("%s/log.csv", run_dir("learn")), 0, &s, &len) == GB_OK);
    CHECK(!strncmp(s, "step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n", 55));
    gb_free(s);
    REQUIRE(gb_read_file(gb_test_path("%s/loss.svg", run_dir("learn")), 0, &s, &len) == GB_OK);
    CHECK(!strncmp(s, "<svg", 4) && strstr(s, "</svg>"));
    gb_free(s);
    CHECK(access(gb_test_path("%s/model.gguf", run_dir("learn")), R_OK) == 0);
    CHECK(access(gb_test_path("%s/tokenizer.json", run_dir("learn")), R_OK) == 0);

    /* the checkpoint: GGUF with the gpt2 conventions, tokenizer and training state */
    gb_gguf *g = NULL;
    REQUIRE(gb_gguf_open(&g, gb_test_path("%s/ckpt.gguf", run_dir("learn"))) == GB_OK);
    gb_gguf_str str;
    int64_t v;
    double f;
    CHECK(gb_gguf_get_str(g, "general.architecture", &str) == GB_OK && gb_gguf_str_eq(str, "gpt2"));
    CHECK(gb_gguf_get_int(g, "gpt2.context_length", &v) == GB_OK && v == 32);
    CHECK(gb_gguf_get_int(g, "gpt2.embedding_length", &v) == GB_OK && v == 32);
    CHECK(gb_gguf_get_int(g, "gpt2.block_count", &v) == GB_OK && v == 1);
    CHECK(gb_gguf_get_int(g, "gpt2.feed_forward_length", &v) == GB_OK && v == 128);
    CHECK(gb_gguf_get_int(g, "gpt2.attention.head_count", &v) == GB_OK && v == 2);
    CHECK(gb_gguf_get_float(g, "gpt2.attention.layer_norm_epsilon", &f) == GB_OK && f > 0);
    CHECK(gb_gguf_get_str(g, "tokenizer.ggml.model", &str) == GB_OK && gb_gguf_str_eq(str, "gpt2"));
    CHECK(gb_gguf_find_key(g, "tokenizer.ggml.tokens") >= 0 && gb_gguf_find_key(g, "tokenizer.ggml.merges") >= 0 &&
          gb_gguf_find_key(g, "glassbox.tokenizer.json") >= 0);
    CHECK(gb_gguf_get_int(g, "glassbox.state.step", &v) == GB_OK && v == 60);
    CHECK(gb_gguf_get_int(g, "glassbox.train.steps", &v) == GB_OK && v == 60);
    CHECK(gb_gguf_get_str(g, "glassbox.weights_sha256", &str) == GB_OK && gb_gguf_str_eq(str, hex));
    const gb_gguf_tensor *t = gb_gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->type == GB_GGML_F32 && t->n_dims == 2 && t->ne[0] == 32 && t->ne[1] == 300);
    CHECK(gb_gguf_find_tensor(g, "position_embd.weight") && gb_gguf_find_tensor(g, "blk.0.attn_qkv.weight") &&
          gb_gguf_find_tensor(g, "blk.0.ffn_down.bias") && gb_gguf_find_tensor(g, "output_norm.weight") &&
          gb_gguf_find_tensor(g, "glassbox.adamw_m.token_embd.weight"));
    CHECK(!gb_gguf_find_tensor(g, "output.weight")); /* tied */
    gb_gguf_close(g);
}

TEST(train_same_seed_same_bits) {
    char a[65], b[65], c[65];
    const char *extra[] = {"--steps", "6", "--seed", "7", NULL};
    REQUIRE(train_ok("det1", extra, a));
    REQUIRE(train_ok("det2", extra, b));
    CHECK_STR(a, b);
    const char *other[] = {"--steps", "6", "--seed", "8", NULL};
    REQUIRE(train_ok("det3", other, c));
    CHECK(strcmp(a, c) != 0);
}

TEST(train_one_or_two_threads_same_bits) {
    char a[65], b[65];
    const char *t1[] = {"--steps", "6", "--accum", "2", "--threads", "1", NULL};
    const char *t2[] = {"--steps", "6", "--accum", "2", "--threads", "2", NULL};
    REQUIRE(train_ok("thr1", t1, a));
    REQUIRE(train_ok("thr2", t2, b));
    CHECK_STR(a, b);
    /* llama layout too (rope, GQA, swiglu) */
    const char *l1[] = {"--arch", "llama", "--n-kv-head", "1", "--steps", "4", "--threads", "1", NULL};
    const char *l2[] = {"--arch", "llama", "--n-kv-head", "1", "--steps", "4", "--threads", "2", NULL};
    REQUIRE(train_ok("lthr1", l1, a));
    REQUIRE(train_ok("lthr2", l2, b));
    CHECK_STR(a, b);
}

TEST(train_resume_continues_exactly) {
    char straight[65], half[65], resumed[65];
    const char *all[] = {"--steps", "10", "--eval-every", "3", "--ckpt-every", "4", NULL};
    REQUIRE(train_ok("straight", all, straight));
    const char *first[] = {"--steps", "10", "--eval-every", "3", "--ckpt-every", "4", "--stop-after", "5", NULL};
    REQUIRE(train_ok("halves", first, half));
    CHECK(strcmp(half, straight) != 0);
    CHECK(access(gb_test_path("%s/ckpt.prev.gguf", run_dir("halves")), R_OK) == 0); /* step 4's */
    const char *argv[] = {"train", "--resume", run_dir("halves"), "--quiet", NULL};
    char *out = NULL, *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK(train_sha(out, resumed) == 0);
    CHECK_STR(resumed, straight);
    free(out), free(err);
    /* the log has one row per step, the same losses as the straight run */
    double a[16], b[16];
    CHECK_EQ_INT(log_column(run_dir("straight"), 1, a, 16), 10);
    CHECK_EQ_INT(log_column(run_dir("halves"), 1, b, 16), 10);
    CHECK(!memcmp(a, b, sizeof(double) * 10));
    /* the same flags again are accepted; a different one is refused, checkpoint untouched */
    char before[65], after[65];
    REQUIRE(file_digest(gb_test_path("%s/ckpt.gguf", run_dir("halves")), before) == 0);
    const char *same[] = {"train", "--resume", run_dir("halves"), "--steps", "10", "--quiet", NULL};
    CHECK_EQ_INT(gb_test_run(same, NULL, 0, NULL, NULL, NULL), 0);
    const char *bad[] = {"train", "--resume", run_dir("halves"), "--lr", "0.5", "--quiet", NULL};
    rc = gb_test_run(bad, NULL, 0, &out, NULL, &err);
    CHECK(rc != 0 && gb_test_count_lines(err) == 1 && strstr(err, "--lr 0.5 differs"));
    free(out), free(err);
    const char *bad2[] = {"train", "--resume", run_dir("halves"), "--n-layer", "2", "--quiet", NULL};
    rc = gb_test_run(bad2, NULL, 0, &out, NULL, &err);
    CHECK(rc != 0 && gb_test_count_lines(err) == 1 && strstr(err, "--n-layer 2 differs"));
    free(out), free(err);
    REQUIRE(file_digest(gb_test_path("%s/ckpt.gguf", run_dir("halves")), after) == 0);
    CHECK_STR(after, before);
    /* nothing to resume */
    const char *none[] = {"train", "--resume", run_dir("nonexistent"), "--quiet", NULL};
    rc = gb_test_run(none, NULL, 0, &out, NULL, &err);
    CHECK(rc == 1 && gb_test_count_lines(err) == 1 && strstr(err, "ckpt.gguf"));
    free(out), free(err);
}

/* A copy of the fixture's data directory to break. */
static const char *copy_data(const char *name) {
    const char *src = train_fixture_data();
    if (!src) return NULL;
    static char bufs[4][4096];
    static int next;
    char *dst = bufs[next++ % 4];
    snprintf(dst, sizeof bufs[0], "%s/bad-%s", gb_test_tmpdir(), name);
    mkdir(dst, 0755);
    const char *files[] = {"meta.json", "train-0000.bin", "val-0000.bin"};
    for (int i = 0; i < 3; i++)
        if (train_copy(gb_test_path("%s/%s", src, files[i]), gb_test_path("%s/%s", dst, files[i]))) return NULL;
    return dst;
}

static void expect_fail(const char *data, const char *const *extra, const char *needle, int line) {
    const char *argv[32] = {"train", "--data", data, "--out", run_dir("bad"), "--n-layer", "1", "--d-model", "32",
                            "--n-head", "2", "--ctx", "32", "--steps", "2", "--quiet"};
    int n = 16;
    for (int i = 0; extra && extra[i]; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    if (rc == 0 || rc >= 128 || gb_test_count_lines(err) != 1 || !strstr(err, needle))
        gb_test_fail(__FILE__, line, "want '%s': exit %d, stderr '%s'", needle, rc, err);
    free(out), free(err);
}

TEST(train_bad_data_one_line) {
    const char *d = copy_data("magic");
    REQUIRE(d);
    FILE *fp = fopen(gb_test_path("%s/train-0000.bin", d), "r+b");
    REQUIRE(fp);
    fputs("NOTTOKEN", fp);
    fclose(fp);
    expect_fail(d, NULL, "bad magic", __LINE__);

    d = copy_data("trunc");
    REQUIRE(d);
    REQUIRE(truncate(gb_test_path("%s/train-0000.bin", d), 64 + 101) == 0);
    expect_fail(d, NULL, "train-0000.bin", __LINE__);

    /* the tokenizer given is not the shards' */
    d = copy_data("tok");
    REQUIRE(d);
    const char *tok[] = {"--tokenizer", "data/vocab/gpt2/r50k_base.tiktoken", NULL};
    expect_fail(d, tok, "another tokenizer", __LINE__);

    /* a val shard made with another tokenizer than the train shards */
    d = copy_data("mixed");
    REQUIRE(d);
    char text[600];
    snprintf(text, sizeof text, "%s/trainfix/text.txt", gb_test_tmpdir());
    char other[4096];
    snprintf(other, sizeof other, "%s/other", gb_test_tmpdir());
    const char *p_argv[] = {"data", "prepare", "--tokenizer", "data/vocab/gpt2/r50k_base.tiktoken", "--input", text,
                            "--out", other, "--quiet", NULL};
    REQUIRE(gb_test_run(p_argv, NULL, 0, NULL, NULL, NULL) == 0);
    REQUIRE(train_copy(gb_test_path("%s/val-0000.bin", other), gb_test_path("%s/val-0000.bin", d)) == 0);
    expect_fail(d, NULL, "another tokenizer", __LINE__);

    /* not a prepared directory */
    expect_fail(gb_test_tmpdir(), NULL, "meta.json", __LINE__);
}

TEST(train_invalid_config_one_line) {
    const char *d = train_fixture_data();
    REQUIRE(d);
    const char *heads[] = {"--n-head", "3", NULL};
    expect_fail(d, heads, "n_head = 3 does not divide d_model = 32", __LINE__);
    const char *kv[] = {"--n-kv-head", "3", NULL};
    expect_fail(d, kv, "n_kv_head = 3 does not divide n_head = 2", __LINE__);
    const char *seq[] = {"--seq", "64", NULL};
    expect_fail(d, seq, "seq = 64", __LINE__);
    const char *arch[] = {"--arch", "gpt3", NULL};
    expect_fail(d, arch, "--arch", __LINE__);
    const char *preset[] = {"--preset", "nope", NULL};
    expect_fail(d, preset, "unknown model preset", __LINE__);
    const char *minlr[] = {"--lr", "1e-3", "--min-lr", "1e-2", NULL};
    expect_fail(d, minlr, "min_lr", __LINE__);
    /* the output cannot be a directory */
    char file[600];
    snprintf(file, sizeof file, "%s/trainfix/text.txt", gb_test_tmpdir());
    const char *argv[] = {"train", "--data", d, "--out", file, "--n-layer", "1", "--d-model", "32", "--n-head", "2",
                          "--ctx", "32", "--steps", "1", "--quiet", NULL};
    char *out = NULL, *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    CHECK(rc == 1 && gb_test_count_lines(err) == 1);
    free(out), free(err);
}

/* Writing the checkpoint fails (file size limit: the same write error a full disk gives):
 * one line, exit 1, the previous checkpoint byte for byte intact, no temp file left. */
TEST(train_checkpoint_write_failure_keeps_previous) {
    char hex[65], before[65], after[65];
    const char *first[] = {"--steps", "6", "--stop-after", "3", NULL};
    REQUIRE(train_ok("full", first, hex));
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.gguf", run_dir("full"));
    REQUIRE(file_digest(ckpt, before) == 0);
    struct stat st;
    REQUIRE(stat(ckpt, &st) == 0);
    struct rlimit old, lim;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size / 2; /* room for the log and plot, not the checkpoint */
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    const char *argv[] = {"train", "--resume", run_dir("full"), "--quiet", NULL};
    char *out = NULL, *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_sig);
    CHECK(rc == 1 && gb_test_count_lines(err) == 1 && strstr(err, "checkpoint not saved") &&
          strstr(err, "intact"));
    if (rc != 1) gb_test_fail(__FILE__, __LINE__, "exit %d, stderr '%s'", rc, err);
    free(out), free(err);
    REQUIRE(file_digest(ckpt, after) == 0);
    CHECK_STR(after, before);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", run_dir("full"));
    CHECK(system(cmd) != 0);
    /* and with room again, the run resumes from it and finishes */
    const char *again[] = {"train", "--resume", run_dir("full"), "--quiet", NULL};
    CHECK_EQ_INT(gb_test_run(again, NULL, 0, NULL, NULL, NULL), 0);
}

/* Ctrl-C: the step in progress ends, a checkpoint is saved, exit status 130. */
TEST(train_interrupt_saves_checkpoint) {
    const char *data = train_fixture_data();
    REQUIRE(data);
    const char *dir = run_dir("sigint");
    const char *bin = getenv("GB_BIN") ? getenv("GB_BIN") : "./glassbox";
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) ||
            !freopen(gb_test_path("%s/sigint.err", gb_test_tmpdir()), "w", stderr))
            _exit(126);
        execl(bin, bin, "train", "--data", data, "--out", dir, "--n-layer", "1", "--d-model", "32", "--n-head", "2",
              "--ctx", "32", "--seq", "16", "--batch", "4", "--steps", "1000000", "--eval-every", "0", "--quiet",
              (char *)NULL);
        _exit(127);
    }
    /* wait until a few steps are logged */
    int logged = 0;
    for (int i = 0; i < 600 && !logged; i++) {
        double v[8];
        logged = log_column(dir, 1, v, 8) >= 3;
        if (!logged) usleep(50000);
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(logged);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 130);
    char *err = NULL;
    size_t len;
    REQUIRE(gb_read_file(gb_test_path("%s/sigint.err", gb_test_tmpdir()), 0, &err, &len) == GB_OK);
    CHECK(gb_test_count_lines(err) == 1 && strstr(err, "interrupted at step") && strstr(err, "--resume"));
    gb_free(err);
    gb_gguf *g = NULL;
    REQUIRE(gb_gguf_open(&g, gb_test_path("%s/ckpt.gguf", dir)) == GB_OK);
    int64_t step;
    CHECK(gb_gguf_get_int(g, "glassbox.state.step", &step) == GB_OK && step >= 3 && step < 1000000);
    gb_gguf_close(g);
}

TEST(train_sample_greedy_is_deterministic) {
    char hex[65];
    const char *extra[] = {"--steps", "30", "--lr", "3e-3", NULL};
    REQUIRE(train_ok("sample", extra, hex));
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.gguf", run_dir("sample"));
    const char *argv[] = {"sample", "-m", ckpt, "-p", "the LORD", "-n", "12", "--temperature", "0", NULL};
    char *a = NULL, *b = NULL, *err = NULL;
    CHECK_EQ_INT(gb_test_run(argv, NULL, 0, &a, NULL, &err), 0);
    free(err);
    CHECK_EQ_INT(gb_test_run(argv, NULL, 0, &b, NULL, NULL), 0);
    CHECK(a && b && !strcmp(a, b) && !strncmp(a, "the LORD", 8) && strlen(a) > 9);
    free(b);
    /* with the tokenizer file instead of the embedded one: the same text */
    char tokp[600];
    snprintf(tokp, sizeof tokp, "%s", train_fixture_tokenizer());
    const char *argv2[] = {"sample", "-m", ckpt, "-p", "the LORD", "-n", "12", "--temperature", "0",
                           "--tokenizer", tokp, NULL};
    CHECK_EQ_INT(gb_test_run(argv2, NULL, 0, &b, NULL, NULL), 0);
    CHECK(b && !strcmp(a, b));
    free(a), free(b);
    /* temperature sampling: the seed decides */
    const char *t1[] = {"sample", "-m", ckpt, "-p", "the", "-n", "12", "--temperature", "1", "--seed", "5", NULL};
    CHECK_EQ_INT(gb_test_run(t1, NULL, 0, &a, NULL, NULL), 0);
    CHECK_EQ_INT(gb_test_run(t1, NULL, 0, &b, NULL, NULL), 0);
    CHECK(a && b && !strcmp(a, b));
    free(a), free(b);
    /* a prompt longer than the context (32 tokens) */
    char longp[400] = "";
    for (int i = 0; i < 40; i++) strcat(longp, "God said ");
    const char *lp[] = {"sample", "-m", ckpt, "-p", longp, NULL};
    CHECK_EQ_INT(gb_test_run(lp, NULL, 0, &a, NULL, &err), 1);
    CHECK(gb_test_count_lines(err) == 1 && strstr(err, "longer than the model's context of 32"));
    free(a), free(err);
    /* not a checkpoint */
    const char *bad[] = {"sample", "-m", tokp, "-p", "x", NULL};
    CHECK_EQ_INT(gb_test_run(bad, NULL, 0, &a, NULL, &err), 1);
    CHECK(gb_test_count_lines(err) == 1);
    free(a), free(err);
}
