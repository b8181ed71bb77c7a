/* glassbox — progress bar with rate and ETA (see include/glassbox/progress.h). */
#include "glassbox/progress.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "glassbox/sys.h"

static int global_quiet;

void gb_progress_set_quiet(int quiet) { global_quiet = quiet; }

void gb_format_duration(char *buf, size_t size, double s) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, size, "--:--");
        return;
    }
    long t = lround(s);
    if (t >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

/* 1234567 -> "1.23M" */
static void format_count(char *buf, size_t size, double v) {
    static const char *suffix[] = {"", "k", "M", "G", "T"};
    int i = 0;
    while (fabs(v) >= 1000 && i < 4) v /= 1000, i++;
    if (i == 0) snprintf(buf, size, "%.0f", v);
    else snprintf(buf, size, "%.*f%s", v < 10 ? 2 : v < 100 ? 1 : 0, v, suffix[i]);
}

void gb_progress_begin(gb_progress *p, const char *label, int64_t total, const char *unit) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit ? unit : "";
    p->total = total;
    p->out = stderr;
    p->quiet = global_quiet;
    p->tty = isatty(fileno(stderr));
    p->t_start = p->t_last = gb_time_now();
}

static void draw(gb_progress *p, double now, const char *extra, int final) {
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char done[32], total[32], rate_s[32], eta[32], line[512];
    int n = 0;
    format_count(done, sizeof done, (double)p->done);
    format_count(rate_s, sizeof rate_s, rate);
    n += snprintf(line + n, sizeof line - n, "%s", p->label);
    if (p->total > 0) {
        double frac = (double)p->done / (double)p->total;
        if (frac > 1) frac = 1;
        if (p->tty) {
            char bar[26];
            int fill = (int)(frac * 24);
            for (int i = 0; i < 24; i++) bar[i] = i < fill ? '#' : '.';
            bar[24] = 0;
            n += snprintf(line + n, sizeof line - n, "  [%s]", bar);
        }
        format_count(total, sizeof total, (double)p->total);
        n += snprintf(line + n, sizeof line - n, " %3.0f%%  %s/%s", frac * 100, done, total);
    } else {
        n += snprintf(line + n, sizeof line - n, "  %s", done);
    }
    /* "3.4MB/s" for bytes, "120 tok/s" for other units */
    if (strcmp(p->unit, "B") == 0) n += snprintf(line + n, sizeof line - n, "  %sB/s", rate_s);
    else n += snprintf(line + n, sizeof line - n, "  %s %s/s", rate_s, p->unit);
    if (final) {
        gb_format_duration(eta, sizeof eta, elapsed);
        n += snprintf(line + n, sizeof line - n, "  in %s", eta);
    } else if (p->total > 0 && rate > 0) {
        gb_format_duration(eta, sizeof eta, (double)(p->total - p->done) / rate);
        n += snprintf(line + n, sizeof line - n, "  ETA %s", eta);
    }
    if (extra && *extra) snprintf(line + n, sizeof line - n, "  %s", extra);
    if (p->tty) fprintf(p->out, "\r\033[K%s%s", line, final ? "\n" : "");
    else fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->drawn = 1;
}

void gb_progress_update(gb_progress *p, int64_t done, const char *extra) {
    p->done = done;
    if (p->quiet) return;
    double now = gb_time_now();
    double every = p->tty ? 0.1 : GB_PROGRESS_PLAIN_SECONDS;
    if (now - p->t_last < every) return;
    p->t_last = now;
    draw(p, now, extra, 0);
}

void gb_progress_end(gb_progress *p, const char *extra) {
    if (p->quiet) return;
    draw(p, gb_time_now(), extra, 1);
}
