/* glassbox — whole-file reads and atomic (temp + fsync + rename) writes. */
#include "glassbox/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "glassbox/mem.h"

/* Reads through zlib, which passes plain files through unchanged and inflates gzip. */
gb_status gb_read_file(const char *path, size_t max_size, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *probe = fopen(path, "rb"); /* gzopen's errors are vaguer; check access first */
    if (!probe) return gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
    fclose(probe);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
    gzbuffer(gz, 1 << 17);
    gb_status rc = GB_OK;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            if (ncap < cap) { rc = gb_errorf(GB_ERR_NOMEM, "%s: file too large", path); goto done; }
            if ((rc = gb_realloc_array((void **)&buf, ncap + 1, 1)) != GB_OK) goto done;
            cap = ncap;
        }
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(gz, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            rc = gb_errorf(zerr == Z_ERRNO ? GB_ERR_IO : GB_ERR_FORMAT, "%s: %s", path,
                           zerr == Z_ERRNO ? strerror(errno) : msg);
            goto done;
        }
        n += (size_t)got;
        if (max_size && n > max_size) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: larger than the %zu-byte limit", path, max_size);
            goto done;
        }
        if (got == 0) break;
    }
    int zerr;
    const char *zmsg = gzerror(gz, &zerr);
    if (zerr != Z_OK) { /* e.g. a gzip stream cut short */
        rc = gb_errorf(GB_ERR_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, zmsg);
        goto done;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
done:
    free(buf);
    gzclose(gz);
    return rc;
}

gb_status gb_atomic_open(gb_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path);
    f->path = strdup(path);
    f->tmp_path = malloc(n + 12);
    if (!f->path || !f->tmp_path) {
        gb_atomic_abort(f);
        return gb_errorf(GB_ERR_NOMEM, "out of memory");
    }
    memcpy(f->tmp_path, path, n);
    memcpy(f->tmp_path + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        gb_status rc = gb_errorf(GB_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        free(f->tmp_path);
        f->tmp_path = NULL;
        gb_atomic_abort(f);
        return rc;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; outputs are ordinary files */
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        gb_status rc = gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
        gb_atomic_abort(f);
        return rc;
    }
    return GB_OK;
}

static void fsync_parent_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

gb_status gb_atomic_commit(gb_atomic_file *f) {
    gb_status rc = GB_OK;
    if (fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0) {
        rc = gb_errorf(GB_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
        goto fail;
    }
    int closed = fclose(f->fp);
    f->fp = NULL;
    if (closed != 0) {
        rc = gb_errorf(GB_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
        goto fail;
    }
    if (rename(f->tmp_path, f->path) != 0) {
        rc = gb_errorf(GB_ERR_IO, "%s: cannot rename into place: %s", f->path, strerror(errno));
        goto fail;
    }
    fsync_parent_dir(f->path);
    free(f->tmp_path);
    f->tmp_path = NULL;
    free(f->path);
    f->path = NULL;
    return GB_OK;
fail:
    gb_atomic_abort(f);
    return rc;
}

void gb_atomic_abort(gb_atomic_file *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->path);
    memset(f, 0, sizeof *f);
}

gb_status gb_mkdir_p(const char *path) {
    if (!*path) return gb_errorf(GB_ERR_ARG, "empty directory name");
    char *copy = strdup(path);
    if (!copy) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    gb_status rc = GB_OK;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            rc = gb_errorf(GB_ERR_IO, "%s: cannot create directory: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (saved == '\0') break;
    }
    free(copy);
    if (rc == GB_OK) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = gb_errorf(GB_ERR_IO, "%s: not a directory", path);
    }
    return rc;
}
