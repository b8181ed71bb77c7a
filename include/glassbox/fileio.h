/* glassbox — reading whole files and writing files atomically.
 *
 * Writers never leave a partial file under the final name: they write "<path>.tmp.XXXXXX"
 * in the same directory, fsync it, rename it over the target and fsync the directory.
 * A failure (or gb_atomic_abort) removes the temp file, and the previous file at `path`,
 * if any, stays as it was. */
#ifndef GLASSBOX_FILEIO_H
#define GLASSBOX_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "glassbox/error.h"

/* Reads all of `path` into a new NUL-terminated buffer (*len excludes the NUL); a gzip
 * file (.gz, detected by its magic) is inflated. `max_size` caps what is accepted
 * (0 = no cap). Caller frees with gb_free. A truncated/corrupt gzip is GB_ERR_FORMAT. */
gb_status gb_read_file(const char *path, size_t max_size, char **data, size_t *len);

typedef struct gb_atomic_file {
    FILE *fp;       /* write through this */
    char *path;     /* final name */
    char *tmp_path; /* where the bytes go until commit */
} gb_atomic_file;

gb_status gb_atomic_open(gb_atomic_file *f, const char *path);
/* Flushes, fsyncs and renames into place; on any failure removes the temp file. */
gb_status gb_atomic_commit(gb_atomic_file *f);
/* Discards the temp file; safe on a zeroed or already committed struct. */
void gb_atomic_abort(gb_atomic_file *f);

/* Creates directory `path` (and parents) if missing. */
gb_status gb_mkdir_p(const char *path);

#endif
