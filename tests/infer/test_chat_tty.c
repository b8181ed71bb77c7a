/* glassbox chat on a terminal: the command runs on a pseudo-terminal, so it reads lines through
 * libedit. Keys sent as a user types them must be edited (Backspace, Ctrl-A then an insert) and
 * recalled (Up arrow = the previous line from the history) before the command sees the line:
 * each of three edited or recalled "/reset" lines must print "(conversation reset)". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

/* Reads the master side until `want` has appeared `count` times in all output so far, or the
 * deadline passes; returns how many times it appeared. */
static int wait_for(int fd, char *buf, size_t cap, size_t *len, const char *want, int count, double seconds) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int seen = 0;
        for (const char *p = buf; (p = strstr(p, want)) != NULL; p += strlen(want)) seen++;
        if (seen >= count) return seen;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double left = seconds - ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec));
        if (left <= 0) return seen;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0) return seen; /* the child closed the terminal */
        *len += (size_t)n;
        buf[*len] = 0;
    }
}

static void type_keys(int fd, const char *keys) {
    /* one key at a time, as a user types, so that libedit sees each */
    for (const char *k = keys; *k; k++) {
        size_t n = (*k == '\x1b') ? 3 : 1; /* an escape sequence goes whole */
        if (write(fd, k, n) != (ssize_t)n) return;
        k += n - 1;
        usleep(2000);
    }
}

TEST(infer_chat_tty_line_editing_and_history) {
    const char *bin = getenv("GB_BIN");
    if (!bin) {
        gb_test_skip("GB_BIN unset");
        return;
    }
    char model[512];
    snprintf(model, sizeof model, "%s/tty-chat.gguf", gb_test_tmpdir());
    const char *init[] = {"init", "--arch", "llama", "--preset", "tiny", "--vocab", "512", "--ctx", "64", "--out", model, NULL};
    char *err = NULL;
    int rc = gb_test_run(init, NULL, 0, NULL, NULL, &err);
    free(err);
    REQUIRE(rc == 0);

    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        gb_test_skip("no pseudo-terminal here (posix_openpt failed)");
        return;
    }
    REQUIRE(grantpt(master) == 0 && unlockpt(master) == 0);
    const char *slave_name = ptsname(master);
    REQUIRE(slave_name);
    char slave_path[256];
    snprintf(slave_path, sizeof slave_path, "%s", slave_name);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        setsid();
        int s = open(slave_path, O_RDWR); /* the first terminal opened becomes the controlling one */
        if (s < 0) _exit(126);
        dup2(s, 0), dup2(s, 1), dup2(s, 2);
        if (s > 2) close(s);
        close(master);
        setenv("TERM", "xterm", 1);
        execl(bin, bin, "chat", "-m", model, "--template", "chatml", "--temp", "0", "-n", "2", (char *)NULL);
        _exit(127);
    }
    static char out[1 << 16];
    size_t len = 0;
    out[0] = 0;
    /* the banner, then: "/resex" Backspace "t" Enter; "reset" Ctrl-A "/" Enter; Up Enter */
    CHECK(wait_for(master, out, sizeof out, &len, "/reset starts over", 1, 30) == 1);
    type_keys(master, "/resex\x7ft\r");
    CHECK(wait_for(master, out, sizeof out, &len, "(conversation reset)", 1, 30) == 1);
    type_keys(master, "reset\x01/\r");
    CHECK(wait_for(master, out, sizeof out, &len, "(conversation reset)", 2, 30) == 2);
    type_keys(master, "\x1b[A\r");
    CHECK(wait_for(master, out, sizeof out, &len, "(conversation reset)", 3, 30) == 3);
    type_keys(master, "/exit\r");
    int status = 0;
    for (int i = 0; i < 3000 && waitpid(pid, &status, WNOHANG) == 0; i++) {
        char drain[4096];
        struct pollfd pfd = {.fd = master, .events = POLLIN};
        if (poll(&pfd, 1, 10) > 0 && read(master, drain, sizeof drain) < 0 && errno != EINTR && errno != EAGAIN) {
            /* the child is gone: EIO on the master */
        }
        if (i == 2999) kill(pid, SIGKILL), waitpid(pid, &status, 0);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (gb_test_failed()) fprintf(stderr, "    terminal output:\n%s\n", out);
    close(master);
}
