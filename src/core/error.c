/* glassbox — thread-local error messages (see include/glassbox/error.h). */
#include "glassbox/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_error[1024];

gb_status gb_errorf(gb_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap); /* Flawfinder: ignore (fmt checked at each call site) */
    va_end(ap);
    return code;
}

const char *gb_last_error(void) { return last_error; }

const char *gb_status_name(gb_status code) {
    switch (code) {
    case GB_OK: return "ok";
    case GB_ERR_IO: return "I/O error";
    case GB_ERR_FORMAT: return "bad format";
    case GB_ERR_NOMEM: return "out of memory";
    case GB_ERR_ARG: return "invalid argument";
    case GB_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown error";
}

void gb_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "glassbox: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
