/* glassbox — progress reporting for long work.
 *
 * On a terminal (stderr is a TTY) a single line is redrawn at most ten times a second:
 *     label  [#########.........]  45%  1.2M/2.7M  3.4 MB/s  ETA 0:07  extra
 * Elsewhere (logs, CI) a plain line is printed at most every `GB_PROGRESS_PLAIN_SECONDS`
 * and once at the end, so logs stay short but still show that work goes on. */
#ifndef GLASSBOX_PROGRESS_H
#define GLASSBOX_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#define GB_PROGRESS_PLAIN_SECONDS 10.0

typedef struct gb_progress {
    const char *label; /* shown first; not copied */
    const char *unit;  /* rate unit, e.g. "B" (scaled to kB/MB), "tok", "merges" */
    int64_t total;     /* <= 0: unknown, no bar or ETA */
    int64_t done;
    double t_start, t_last;
    int tty, quiet, drawn;
    FILE *out;
} gb_progress;

/* Global switch (e.g. --quiet): no progress output at all. */
void gb_progress_set_quiet(int quiet);

void gb_progress_begin(gb_progress *p, const char *label, int64_t total, const char *unit);
/* Sets the amount done; `extra` (may be NULL) is appended, e.g. "loss 3.21". Cheap to call
 * often: it only draws when it is time to. */
void gb_progress_update(gb_progress *p, int64_t done, const char *extra);
/* Final line (always drawn unless quiet), ends with a newline. */
void gb_progress_end(gb_progress *p, const char *extra);

/* "1:02:03" / "2:03" for a duration in seconds */
void gb_format_duration(char *buf, size_t size, double seconds);

#endif
