/* glassbox — error convention.
 *
 * Every fallible function returns a gb_status. On failure it has also recorded one
 * human-readable line (no trailing newline) that names the file or argument and the
 * problem; gb_last_error() returns it. The message is thread-local, so worker threads
 * do not clobber each other. Programmer errors (broken invariants) are not statuses:
 * GB_ASSERT aborts in every build. Never assert on input. */
#ifndef GLASSBOX_ERROR_H
#define GLASSBOX_ERROR_H

typedef enum {
    GB_OK = 0,
    GB_ERR_IO,          /* open/read/write/rename failed; errno text in the message */
    GB_ERR_FORMAT,      /* a file or stream is malformed */
    GB_ERR_NOMEM,       /* allocation failed or a size would overflow */
    GB_ERR_ARG,         /* a caller passed an invalid value (bad flag, bad config) */
    GB_ERR_INTERRUPTED, /* the user asked to stop (SIGINT) */
} gb_status;

/* Records a printf-style message for the calling thread and returns `code`,
 * so callers can write `return gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));` */
/* Flawfinder: ignore — format(printf) + -Wformat=2 make every caller pass a checked literal */
gb_status gb_errorf(gb_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" if none). Valid until the next gb_errorf. */
const char *gb_last_error(void);

/* A short name for a status ("I/O error", "bad format", ...). */
const char *gb_status_name(gb_status code);

_Noreturn void gb_assert_fail(const char *expr, const char *file, int line);

#define GB_ASSERT(x) \
    do { \
        if (!(x)) gb_assert_fail(#x, __FILE__, __LINE__); \
    } while (0)

#endif
