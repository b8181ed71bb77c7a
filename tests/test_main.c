/* glassbox — test runner: the {name, fn} table, checks, temp dirs, running the CLI. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "glassbox/error.h"
#include "test.h"

typedef struct {
    const char *name;
    gb_test_fn fn;
} test_entry;

static test_entry *tests;
static int ntests, captests;
static int current_failed, current_skipped;
static const char *current_name;

void gb_test_register(const char *name, gb_test_fn fn) {
    if (ntests == captests) {
        captests = captests ? 2 * captests : 64;
        tests = realloc(tests, (size_t)captests * sizeof *tests);
        if (!tests) abort();
    }
    tests[ntests++] = (test_entry){name, fn};
}

void gb_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  FAIL %s (%s:%d): ", current_name, file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    current_failed = 1;
}

void gb_test_skip(const char *why) {
    fprintf(stderr, "  skip %s: %s\n", current_name, why);
    current_skipped = 1;
}

int gb_test_failed(void) { return current_failed; }

int gb_test_allclose(const char *what, const float *got, const float *want, int64_t n, double atol,
                     double rtol) {
    int64_t worst = -1, bad = 0;
    double worst_excess = 0;
    for (int64_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)want[i]);
        double tol = atol + rtol * fabs((double)want[i]);
        if (!(diff <= tol)) {
            bad++;
            double excess = isnan(diff) ? INFINITY : diff - tol;
            if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
        }
    }
    if (bad) {
        fprintf(stderr, "  FAIL %s: %s: %lld of %lld elements off; worst [%lld] got %.9g want %.9g\n",
                current_name, what, (long long)bad, (long long)n, (long long)worst, got[worst],
                want[worst]);
        current_failed = 1;
    }
    return bad == 0;
}

static char tmpdir[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tmpdir(void) {
    if (tmpdir[0]) nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *gb_test_tmpdir(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/glassbox-test.XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *gb_test_path(const char *fmt, ...) {
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return b;
}

int gb_test_count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++)
        if (*s == '\n') n++;
    return n;
}

/* Appends what is readable on fd to *buf; returns 0 at EOF. */
static int drain(int fd, char **buf, size_t *len, size_t *cap) {
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return n < 0 && errno == EINTR;
    if (*len + (size_t)n + 1 > *cap) {
        *cap = (*len + (size_t)n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf) abort();
    }
    memcpy(*buf + *len, chunk, (size_t)n);
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return 1;
}

int gb_test_run(const char *const *argv, const char *stdin_data, size_t stdin_len, char **out,
                size_t *out_len, char **err) {
    const char *bin = getenv("GB_BIN");
    if (!bin) bin = "./glassbox";
    int in_p[2], out_p[2], err_p[2];
    if (pipe(in_p) || pipe(out_p) || pipe(err_p)) abort();
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        dup2(in_p[0], 0), dup2(out_p[1], 1), dup2(err_p[1], 2);
        close(in_p[1]), close(out_p[0]), close(err_p[0]);
        int argc = 0;
        while (argv[argc]) argc++;
        char **args = calloc((size_t)argc + 2, sizeof *args);
        args[0] = (char *)bin;
        for (int i = 0; i < argc; i++) args[i + 1] = (char *)argv[i];
        execv(bin, args);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(in_p[0]), close(out_p[1]), close(err_p[1]);
    signal(SIGPIPE, SIG_IGN);
    char *obuf = NULL, *ebuf = NULL;
    size_t olen = 0, ocap = 0, elen = 0, ecap = 0, written = 0;
    int in_fd = in_p[1], out_open = 1, err_open = 1;
    if (!stdin_data || stdin_len == 0) close(in_fd), in_fd = -1;
    while (out_open || err_open) {
        struct pollfd fds[3] = {{out_p[0], out_open ? POLLIN : 0, 0},
                                {err_p[0], err_open ? POLLIN : 0, 0},
                                {in_fd, in_fd >= 0 ? POLLOUT : 0, 0}};
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            abort();
        }
        if (fds[0].revents) out_open = drain(out_p[0], &obuf, &olen, &ocap);
        if (fds[1].revents) err_open = drain(err_p[0], &ebuf, &elen, &ecap);
        if (in_fd >= 0 && fds[2].revents) {
            ssize_t n = (fds[2].revents & POLLOUT) ? write(in_fd, stdin_data + written, stdin_len - written) : -1;
            if (n > 0) written += (size_t)n;
            if (n <= 0 || written == stdin_len) close(in_fd), in_fd = -1;
        }
    }
    if (in_fd >= 0) close(in_fd);
    close(out_p[0]), close(err_p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!obuf) obuf = calloc(1, 1);
    if (!ebuf) ebuf = calloc(1, 1);
    if (out) *out = obuf; else free(obuf);
    if (out_len) *out_len = olen;
    if (err) *err = ebuf; else free(ebuf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const test_entry *)a)->name, ((const test_entry *)b)->name);
}

int main(int argc, char **argv) {
    qsort(tests, (size_t)ntests, sizeof *tests, by_name);
    const char *prefix = argc > 1 ? argv[1] : "";
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        if (strncmp(tests[i].name, prefix, strlen(prefix)) != 0) continue;
        current_name = tests[i].name;
        current_failed = current_skipped = 0;
        tests[i].fn();
        if (current_failed) failed++;
        else if (current_skipped) skipped++;
        else passed++;
        fprintf(stderr, "%s %s\n", current_failed ? "FAIL" : current_skipped ? "skip" : "ok  ", current_name);
    }
    free(tests);
    if (skipped) printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
