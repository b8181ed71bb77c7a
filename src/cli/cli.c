/* glassbox — shared CLI helpers (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/sys.h"

int gb_cli_usage_error(const char *cmd, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* Flawfinder: ignore (fmt checked at each call site) */
    va_end(ap);
    fprintf(stderr, "glassbox %s: %s (try 'glassbox %s --help')\n", cmd, msg, cmd);
    return GB_EXIT_USAGE;
}

int gb_cli_fail(gb_status rc) {
    fprintf(stderr, "glassbox: error: %s\n", gb_last_error());
    return rc == GB_ERR_INTERRUPTED ? 130 : GB_EXIT_FAIL;
}

int gb_cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int gb_cli_parse_double(const char *s, double min, double max, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= min && v <= max)) return -1;
    *out = v;
    return 0;
}

int gb_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts) {
    opterr = 0;
    char opts[128];
    snprintf(opts, sizeof opts, ":%s", shortopts); /* leading ':' reports a missing value as ':' */
    int c = getopt_long(argc, argv, opts, longopts, NULL);
    if (c == '?') {
        const char *bad = argv[optind - 1];
        if (optopt && !(bad && bad[0] == '-' && bad[1] == '-'))
            gb_cli_usage_error(cmd, "unknown option '-%c'", optopt);
        else
            gb_cli_usage_error(cmd, "unknown option '%s'", bad ? bad : "?");
        return '?';
    }
    if (c == ':') {
        gb_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        return '?';
    }
    return c;
}

int gb_cli_set_kv_type(const char *cmd, const char *value) {
    if (strcmp(value, "f16") && strcmp(value, "f32"))
        return gb_cli_usage_error(cmd, "--kv-type wants f16 or f32, not '%s'", value);
    return gb_llm_set_kv_type(value[1] == '1' ? GB_GGML_F16 : GB_GGML_F32) ? GB_EXIT_USAGE : 0;
}

int gb_cli_set_threads(const char *cmd, const char *value) {
    int64_t n;
    if (gb_cli_parse_int(value, 1, 1024, &n) != 0)
        return gb_cli_usage_error(cmd, "--threads wants a whole number from 1 to 1024, not '%s'", value);
    gb_threads_set((int)n);
    return 0;
}
