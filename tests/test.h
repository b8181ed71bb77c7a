/* glassbox — the test harness.
 *
 * TEST(name) { ... } registers a test in the runner's {name, fn} table (at load time, so a
 * new test file needs no central list). ./build/tests runs them all, sorted by name, and
 * ends with "N passed, N failed"; ./build/tests PREFIX runs those whose name starts with it.
 * Tests run from the repository root. CLI tests run the binary named by $GB_BIN. */
#ifndef GLASSBOX_TEST_H
#define GLASSBOX_TEST_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*gb_test_fn)(void);
void gb_test_register(const char *name, gb_test_fn fn);
void gb_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void gb_test_skip(const char *why);
int gb_test_failed(void); /* has the current test failed so far? */

#define TEST(name) \
    static void test_##name(void); \
    __attribute__((constructor)) static void register_##name(void) { gb_test_register(#name, test_##name); } \
    static void test_##name(void)

#define CHECK(cond) \
    do { \
        if (!(cond)) gb_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
    } while (0)

/* Stops the current test when the check fails (for preconditions the rest relies on). */
#define REQUIRE(cond) \
    do { \
        if (!(cond)) { \
            gb_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond); \
            return; \
        } \
    } while (0)

#define CHECK_EQ_INT(got, want) \
    do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (g_ != w_) gb_test_fail(__FILE__, __LINE__, "%s == %lld, want %lld", #got, g_, w_); \
    } while (0)

#define CHECK_STR(got, want) \
    do { \
        const char *g_ = (got), *w_ = (want); \
        if (!g_ || strcmp(g_, w_) != 0) \
            gb_test_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", w_); \
    } while (0)

/* A gb_status call that must succeed; prints the error message if it does not. */
#define CHECK_OK(call) \
    do { \
        int rc_ = (int)(call); \
        if (rc_ != 0) gb_test_fail(__FILE__, __LINE__, "%s failed: %s", #call, gb_last_error()); \
    } while (0)

/* Compares arrays with |got - want| <= atol + rtol*|want|; reports the worst element. */
int gb_test_allclose(const char *what, const float *got, const float *want, int64_t n, double atol,
                     double rtol);

/* A fresh empty directory for this test run (removed at exit); paths built inside it. */
const char *gb_test_tmpdir(void);
/* snprintf into a static rotating buffer: gb_test_path("%s/x.json", gb_test_tmpdir()) */
const char *gb_test_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs `$GB_BIN args...` (argv NULL-terminated) with `stdin_data` (may be NULL) on stdin.
 * Captures stdout/stderr into malloc'd buffers (may pass NULL to discard). Returns the
 * exit status, or 128+signal if it was killed (so a crash never looks like success). */
int gb_test_run(const char *const *argv, const char *stdin_data, size_t stdin_len, char **out,
                size_t *out_len, char **err);

/* Counts lines in s (a message must be exactly one line). */
int gb_test_count_lines(const char *s);

#endif
