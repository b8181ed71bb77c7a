/* Whole-file reads (plain and gzip) and atomic writes. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "test.h"

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

TEST(core_fileio_read_plain_and_gzip) {
    const char *plain = gb_test_path("%s/plain.txt", gb_test_tmpdir());
    FILE *fp = fopen(plain, "wb");
    REQUIRE(fp);
    fputs("hello\n\0world", fp);
    fclose(fp);
    char *data;
    size_t len;
    CHECK_OK(gb_read_file(plain, 0, &data, &len));
    CHECK_EQ_INT(len, 6);
    CHECK(memcmp(data, "hello\n", 6) == 0);
    gb_free(data);

    const char *gz = gb_test_path("%s/plain.txt.gz", gb_test_tmpdir());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "gzip -c %s > %s", plain, gz);
    REQUIRE(system(cmd) == 0);
    CHECK_OK(gb_read_file(gz, 0, &data, &len));
    CHECK_EQ_INT(len, 6);
    gb_free(data);

    /* a truncated gzip stream is an error, not a short read */
    snprintf(cmd, sizeof cmd, "head -c 20 %s > %s.cut", gz, gz);
    REQUIRE(system(cmd) == 0);
    CHECK(gb_read_file(gb_test_path("%s.cut", gz), 0, &data, &len) != GB_OK);
    CHECK(gb_read_file(gb_test_path("%s/missing", gb_test_tmpdir()), 0, &data, &len) == GB_ERR_IO);
    CHECK(strstr(gb_last_error(), "missing") != NULL);
    CHECK(gb_read_file(plain, 3, &data, &len) == GB_ERR_FORMAT);
}

TEST(core_fileio_atomic_keeps_old_file_on_abort) {
    const char *path = gb_test_path("%s/atomic.txt", gb_test_tmpdir());
    gb_atomic_file f;
    CHECK_OK(gb_atomic_open(&f, path));
    fputs("first", f.fp);
    CHECK_OK(gb_atomic_commit(&f));
    CHECK_OK(gb_atomic_open(&f, path));
    fputs("second, never committed", f.fp);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", f.tmp_path);
    CHECK(exists(tmp));
    gb_atomic_abort(&f);
    CHECK(!exists(tmp));
    char *data;
    size_t len;
    CHECK_OK(gb_read_file(path, 0, &data, &len));
    CHECK_STR(data, "first");
    gb_free(data);
    CHECK(gb_atomic_open(&f, "/nonexistent-dir/x") == GB_ERR_IO);
}

TEST(core_fileio_mkdir_p) {
    const char *dir = gb_test_path("%s/a/b/c", gb_test_tmpdir());
    CHECK_OK(gb_mkdir_p(dir));
    CHECK_OK(gb_mkdir_p(dir));
    CHECK(exists(dir));
    CHECK(gb_mkdir_p("") == GB_ERR_ARG);
}
