/* glassbox tests — golden file reader (format in golden.h). Every count and size is
 * checked against the bytes left before use. */
#include "golden.h"

#include <stdlib.h>
#include <string.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"

static int take_u32(const char **p, const char *end, uint32_t *v) {
    if (end - *p < 4) return 0;
    const unsigned char *b = (const unsigned char *)*p;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    *p += 4;
    return 1;
}

gb_status golden_load(golden_file *g, const char *path) {
    memset(g, 0, sizeof *g);
    size_t len;
    gb_status rc = gb_read_file(path, 64u << 20, &g->buf, &len);
    if (rc) return rc;
    const char *p = g->buf, *end = g->buf + len;
    uint32_t count;
    if (len < 12 || memcmp(p, "GBREF1\0\0", 8) != 0) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: not a golden file (bad magic)", path);
        goto fail;
    }
    p += 8;
    if (!take_u32(&p, end, &count) || count > 100000) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: bad tensor count", path);
        goto fail;
    }
    g->t = calloc(count ? count : 1, sizeof *g->t);
    if (!g->t) {
        rc = gb_errorf(GB_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (uint32_t i = 0; i < count; i++) {
        golden_tensor *t = &g->t[i];
        uint32_t nlen, dtype, ndim;
        if (!take_u32(&p, end, &nlen) || nlen >= sizeof t->name || (size_t)(end - p) < nlen) goto trunc;
        memcpy(t->name, p, nlen);
        p += nlen;
        if (!take_u32(&p, end, &dtype) || !take_u32(&p, end, &ndim) || dtype > 1 || ndim > 4) goto trunc;
        t->dtype = (int)dtype, t->ndim = (int)ndim, t->numel = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            uint32_t v;
            if (!take_u32(&p, end, &v) || v > (1u << 24)) goto trunc;
            t->dims[d] = v;
            t->numel *= v;
            if (t->numel > (int64_t)1 << 26) goto trunc;
        }
        if ((size_t)(end - p) / 4 < (size_t)t->numel) goto trunc;
        /* the elements may sit at any byte offset: keep an aligned copy */
        void *copy = malloc((size_t)t->numel * 4 + 4);
        if (!copy) {
            rc = gb_errorf(GB_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        memcpy(copy, p, (size_t)t->numel * 4);
        t->data = copy;
        p += t->numel * 4;
        g->n++;
    }
    return GB_OK;
trunc:
    rc = gb_errorf(GB_ERR_FORMAT, "%s: truncated or malformed tensor %d", path, g->n);
fail:
    golden_free(g);
    return rc;
}

void golden_free(golden_file *g) {
    for (int i = 0; i < g->n; i++) free((void *)g->t[i].data);
    free(g->t);
    gb_free(g->buf);
    memset(g, 0, sizeof *g);
}

const golden_tensor *golden_get(const golden_file *g, const char *name) {
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->t[i].name, name)) return &g->t[i];
    return NULL;
}

const float *golden_f32(const golden_file *g, const char *name, int64_t want_numel) {
    const golden_tensor *t = golden_get(g, name);
    if (!t || t->dtype != 0 || (want_numel >= 0 && t->numel != want_numel)) return NULL;
    return t->data;
}

const int32_t *golden_i32(const golden_file *g, const char *name, int64_t want_numel) {
    const golden_tensor *t = golden_get(g, name);
    if (!t || t->dtype != 1 || (want_numel >= 0 && t->numel != want_numel)) return NULL;
    return t->data;
}
