/* glassbox — loss.svg: train and validation loss against step, as a small self-contained SVG
 * (axes with "nice" ticks, labels, legend). Long runs are drawn from at most MAX_POINTS
 * bucket means so the file stays small. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "glassbox/fileio.h"
#include "glassbox/train.h"

#define W 760
#define H 440
#define ML 70 /* margins: left, right, top, bottom */
#define MR 20
#define MT 40
#define MB 55
#define MAX_POINTS 1500

static double nice_step(double range, int target) {
    double raw = range / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

typedef struct {
    double x0, x1, y0, y1;
} frame;

static double px(const frame *f, double x) { return ML + (x - f->x0) / (f->x1 - f->x0) * (W - ML - MR); }
static double py(const frame *f, double y) { return H - MB - (y - f->y0) / (f->y1 - f->y0) * (H - MT - MB); }

gb_status gb_train_plot_svg(const char *path, const int64_t *step, const float *loss, const float *val_loss,
                            int64_t n) {
    frame f = {0, 1, INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++) {
        if ((double)step[i] > f.x1) f.x1 = (double)step[i];
        float v[2] = {loss[i], val_loss[i]};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) {
                if (v[k] < f.y0) f.y0 = v[k];
                if (v[k] > f.y1) f.y1 = v[k];
            }
    }
    if (!(f.y0 <= f.y1)) f.y0 = 0, f.y1 = 1;
    double pad = (f.y1 - f.y0) * 0.05 + 1e-3;
    f.y0 -= pad, f.y1 += pad;
    double xs = nice_step(f.x1 - f.x0, 8), ys = nice_step(f.y1 - f.y0, 6);
    f.y0 = floor(f.y0 / ys) * ys, f.y1 = ceil(f.y1 / ys) * ys;

    gb_atomic_file af;
    gb_status rc = gb_atomic_open(&af, path);
    if (rc) return rc;
    FILE *o = af.fp;
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(o, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(o, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">training loss</text>\n", W / 2);
    /* grid, ticks and tick labels */
    for (double x = 0; x <= f.x1 + 1e-9; x += xs) {
        double X = px(&f, x);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n", X, MT, X, H - MB);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>\n", X, H - MB, X, H - MB + 5);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", X, H - MB + 18, x);
    }
    for (double y = f.y0; y <= f.y1 + ys * 1e-6; y += ys) {
        double Y = py(&f, y);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", ML, Y, W - MR, Y);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n", ML - 5, Y, ML, Y);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", ML - 8, Y + 4, fabs(y) < ys * 1e-6 ? 0.0 : y);
    }
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", ML, MT,
            W - ML - MR, H - MT - MB);
    fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n", (ML + W - MR) / 2, H - 12);
    fprintf(o, "<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">loss (nats/token)</text>\n",
            (MT + H - MB) / 2);
    /* train loss: bucket means when there are many points */
    int64_t nb = n < MAX_POINTS ? n : MAX_POINTS;
    fprintf(o, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
    for (int64_t b = 0; b < nb; b++) {
        int64_t lo = b * n / nb, hi = (b + 1) * n / nb;
        double sx = 0, sy = 0;
        int64_t k = 0;
        for (int64_t i = lo; i < hi; i++)
            if (isfinite(loss[i])) sx += (double)step[i], sy += loss[i], k++;
        if (k) fprintf(o, "%.1f,%.1f ", px(&f, sx / (double)k), py(&f, sy / (double)k));
    }
    fprintf(o, "\"/>\n");
    /* validation loss: every point, with markers */
    fprintf(o, "<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" points=\"");
    for (int64_t i = 0; i < n; i++)
        if (isfinite(val_loss[i])) fprintf(o, "%.1f,%.1f ", px(&f, (double)step[i]), py(&f, val_loss[i]));
    fprintf(o, "\"/>\n");
    for (int64_t i = 0; i < n; i++)
        if (isfinite(val_loss[i]))
            fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#ff7f0e\"/>\n", px(&f, (double)step[i]),
                    py(&f, val_loss[i]));
    /* legend */
    int lx = W - MR - 150, ly = MT + 12;
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"140\" height=\"44\" fill=\"white\" stroke=\"#ccc\"/>\n", lx, ly - 4);
    fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
               "<text x=\"%d\" y=\"%d\">train loss</text>\n", lx + 8, ly + 10, lx + 32, ly + 10, lx + 40, ly + 14);
    fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>"
               "<text x=\"%d\" y=\"%d\">validation loss</text>\n", lx + 8, ly + 28, lx + 32, ly + 28, lx + 40, ly + 32);
    fprintf(o, "</svg>\n");
    return gb_atomic_commit(&af);
}
