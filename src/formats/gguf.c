/* glassbox — GGUF v3 reader (byte layout in include/glassbox/gguf.h; the checks and caps in
 * docs/gguf.md).
 *
 * The file is mapped and parsed once, front to back, by a cursor that never reads a byte
 * without first checking that the bytes are there. Counts are checked against the bytes left
 * before anything is allocated for them, so every allocation is bounded by a small multiple
 * of the file's real size. Metadata values stay in the mapping: a key/value records where its
 * value starts, and arrays of strings or arrays get an offset table (one u64 per element) so
 * element i is found in O(1). Keys and tensor names are copied once, NUL-terminated. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/gguf_internal.h"
#include "glassbox/mem.h"

/* ---------------------------------------------------------------- type tables */

typedef struct ggml_type_info {
    const char *name;
    int64_t blck; /* elements per block */
    size_t size;  /* bytes per block */
} ggml_type_info;

/* Block sizes and bytes are those of ggml's block structs (ggml-common.h). */
static const ggml_type_info ggml_types[GB_GGML_TYPE_COUNT] = {
    [GB_GGML_F32] = {"F32", 1, 4},          [GB_GGML_F16] = {"F16", 1, 2},
    [GB_GGML_Q4_0] = {"Q4_0", 32, 18},      [GB_GGML_Q4_1] = {"Q4_1", 32, 20},
    [GB_GGML_Q5_0] = {"Q5_0", 32, 22},      [GB_GGML_Q5_1] = {"Q5_1", 32, 24},
    [GB_GGML_Q8_0] = {"Q8_0", 32, 34},      [GB_GGML_Q8_1] = {"Q8_1", 32, 36},
    [GB_GGML_Q2_K] = {"Q2_K", 256, 84},     [GB_GGML_Q3_K] = {"Q3_K", 256, 110},
    [GB_GGML_Q4_K] = {"Q4_K", 256, 144},    [GB_GGML_Q5_K] = {"Q5_K", 256, 176},
    [GB_GGML_Q6_K] = {"Q6_K", 256, 210},    [GB_GGML_Q8_K] = {"Q8_K", 256, 292},
    [GB_GGML_IQ2_XXS] = {"IQ2_XXS", 256, 66}, [GB_GGML_IQ2_XS] = {"IQ2_XS", 256, 74},
    [GB_GGML_IQ3_XXS] = {"IQ3_XXS", 256, 98}, [GB_GGML_IQ1_S] = {"IQ1_S", 256, 50},
    [GB_GGML_IQ4_NL] = {"IQ4_NL", 32, 18},  [GB_GGML_IQ3_S] = {"IQ3_S", 256, 110},
    [GB_GGML_IQ2_S] = {"IQ2_S", 256, 82},   [GB_GGML_IQ4_XS] = {"IQ4_XS", 256, 136},
    [GB_GGML_I8] = {"I8", 1, 1},            [GB_GGML_I16] = {"I16", 1, 2},
    [GB_GGML_I32] = {"I32", 1, 4},          [GB_GGML_I64] = {"I64", 1, 8},
    [GB_GGML_F64] = {"F64", 1, 8},          [GB_GGML_IQ1_M] = {"IQ1_M", 256, 56},
    [GB_GGML_BF16] = {"BF16", 1, 2},        [GB_GGML_TQ1_0] = {"TQ1_0", 256, 54},
    [GB_GGML_TQ2_0] = {"TQ2_0", 256, 66},   [GB_GGML_MXFP4] = {"MXFP4", 32, 17},
};

const char *gb_ggml_type_name(uint32_t type) {
    return type < GB_GGML_TYPE_COUNT ? ggml_types[type].name : NULL;
}
int64_t gb_ggml_blck_size(uint32_t type) {
    return type < GB_GGML_TYPE_COUNT && ggml_types[type].name ? ggml_types[type].blck : 0;
}
size_t gb_ggml_type_size(uint32_t type) {
    return type < GB_GGML_TYPE_COUNT && ggml_types[type].name ? ggml_types[type].size : 0;
}

static const char *const gguf_type_names[GB_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *gb_gguf_type_name(uint32_t type) {
    return type < GB_GGUF_TYPE_COUNT ? gguf_type_names[type] : "?";
}

size_t gguf_scalar_size(uint32_t type) {
    switch (type) {
    case GB_GGUF_UINT8: case GB_GGUF_INT8: case GB_GGUF_BOOL: return 1;
    case GB_GGUF_UINT16: case GB_GGUF_INT16: return 2;
    case GB_GGUF_UINT32: case GB_GGUF_INT32: case GB_GGUF_FLOAT32: return 4;
    case GB_GGUF_UINT64: case GB_GGUF_INT64: case GB_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* The fewest bytes a value of `type` can take: what a claimed array length is checked against. */
static uint64_t min_value_size(uint32_t type) {
    if (type == GB_GGUF_STRING) return 8;
    if (type == GB_GGUF_ARRAY) return 12;
    return gguf_scalar_size(type);
}

/* Shape checks shared by the reader (GB_ERR_FORMAT) and the writer (GB_ERR_ARG): returns
 * NULL if ne[0..n_dims) of `type` is valid and sets *n_el and *nbytes, else a message. */
static const char *check_shape(uint32_t type, uint32_t n_dims, const uint64_t *ne, int64_t *n_el,
                               size_t *nbytes, char *msg, size_t cap) {
    if (n_dims < 1 || n_dims > GB_GGUF_MAX_DIMS) {
        snprintf(msg, cap, "has %u dimensions (must be 1 to %d)", (unsigned)n_dims, GB_GGUF_MAX_DIMS);
        return msg;
    }
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0) {
            snprintf(msg, cap, "has dimension %u of size 0", (unsigned)d);
            return msg;
        }
        if (ne[d] > (uint64_t)INT64_MAX / n) {
            snprintf(msg, cap, "has %u dimensions whose element count overflows (dimension %u is %llu)",
                     (unsigned)n_dims, (unsigned)d, (unsigned long long)ne[d]);
            return msg;
        }
        n *= ne[d];
    }
    const char *tname = gb_ggml_type_name(type);
    if (!tname) {
        if (type == 4 || type == 5 || (type >= 31 && type <= 33) || (type >= 36 && type <= 38))
            snprintf(msg, cap, "has type id %u, which ggml removed from GGUF", (unsigned)type);
        else
            snprintf(msg, cap, "has unknown type id %u", (unsigned)type);
        return msg;
    }
    const ggml_type_info *ti = &ggml_types[type];
    if (ne[0] % (uint64_t)ti->blck != 0) {
        snprintf(msg, cap, "has rows of %llu elements, not a multiple of the %s block size %lld",
                 (unsigned long long)ne[0], tname, (long long)ti->blck);
        return msg;
    }
    uint64_t blocks = n / (uint64_t)ti->blck;
    if (blocks > SIZE_MAX / ti->size || blocks > UINT64_MAX / ti->size) {
        snprintf(msg, cap, "has %llu elements of %s whose byte size overflows", (unsigned long long)n, tname);
        return msg;
    }
    *n_el = (int64_t)n;
    *nbytes = (size_t)(blocks * ti->size);
    return NULL;
}

gb_status gb_ggml_nbytes(uint32_t type, int n_dims, const int64_t *ne, size_t *out) {
    uint64_t u[GB_GGUF_MAX_DIMS] = {0};
    char msg[200];
    if (n_dims < 1 || n_dims > GB_GGUF_MAX_DIMS)
        return gb_errorf(GB_ERR_ARG, "tensor has %d dimensions (must be 1 to %d)", n_dims, GB_GGUF_MAX_DIMS);
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 1) return gb_errorf(GB_ERR_ARG, "tensor dimension %d is %" PRId64 " (must be >= 1)", d, ne[d]);
        u[d] = (uint64_t)ne[d];
    }
    int64_t n_el;
    size_t nbytes;
    const char *bad = check_shape(type, (uint32_t)n_dims, u, &n_el, &nbytes, msg, sizeof msg);
    if (bad) return gb_errorf(GB_ERR_ARG, "tensor %s", bad);
    *out = nbytes;
    return GB_OK;
}

/* ---------------------------------------------------------------- names and the hash index */

const char *gguf_printable(char *buf, size_t cap, const void *name, uint64_t n) {
    const uint8_t *s = name;
    size_t max = cap > 4 ? cap - 4 : 0, o = 0;
    for (uint64_t i = 0; i < n && o < max; i++) buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    if (n > max && cap >= 4) memcpy(buf + o, "...", 3), o += 3;
    if (cap) buf[o < cap ? o : cap - 1] = 0;
    return buf;
}

static uint64_t hash_bytes(const uint8_t *p, uint64_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

gb_status gguf_index_init(gguf_index *h, size_t expected) {
    size_t cap = 16;
    while (cap / 2 < expected) cap *= 2; /* expected is bounded by the file size, so no overflow */
    h->slot = gb_alloc(cap * sizeof *h->slot);
    if (!h->slot) return GB_ERR_NOMEM;
    memset(h->slot, 0xff, cap * sizeof *h->slot);
    h->cap = cap;
    h->used = 0;
    return GB_OK;
}

void gguf_index_free(gguf_index *h) {
    gb_free(h->slot);
    memset(h, 0, sizeof *h);
}

int64_t gguf_index_find(const gguf_index *h, const void *name, uint64_t n, gguf_name_at name_at,
                        const void *ctx) {
    if (!h->cap) return -1;
    for (size_t s = hash_bytes(name, n) & (h->cap - 1);; s = (s + 1) & (h->cap - 1)) {
        int64_t j = h->slot[s];
        if (j < 0) return -1;
        const uint8_t *p;
        uint64_t m;
        name_at(ctx, j, &p, &m);
        if (m == n && memcmp(p, name, n) == 0) return j;
    }
}

int64_t gguf_index_insert(gguf_index *h, int64_t i, gguf_name_at name_at, const void *ctx) {
    if ((h->used + 1) * 2 > h->cap) { /* keep the load under one half */
        gguf_index bigger;
        if (gguf_index_init(&bigger, h->used + 1)) return -2;
        for (size_t s = 0; s < h->cap; s++)
            if (h->slot[s] >= 0) {
                const uint8_t *p;
                uint64_t m;
                name_at(ctx, h->slot[s], &p, &m);
                size_t t = hash_bytes(p, m) & (bigger.cap - 1);
                while (bigger.slot[t] >= 0) t = (t + 1) & (bigger.cap - 1);
                bigger.slot[t] = h->slot[s];
            }
        bigger.used = h->used;
        gguf_index_free(h);
        *h = bigger;
    }
    const uint8_t *p = NULL;
    uint64_t n;
    name_at(ctx, i, &p, &n);
    size_t s = hash_bytes(p, n) & (h->cap - 1);
    for (; h->slot[s] >= 0; s = (s + 1) & (h->cap - 1)) {
        const uint8_t *q;
        uint64_t m;
        name_at(ctx, h->slot[s], &q, &m);
        if (m == n && memcmp(p, q, n) == 0) return h->slot[s];
    }
    h->slot[s] = i;
    h->used++;
    return -1;
}

/* ---------------------------------------------------------------- the parsing cursor */

typedef struct u64vec {
    uint64_t *v;
    size_t n, cap;
} u64vec;

/* Appends k zeroed slots; returns the index of the first. */
static gb_status u64vec_grow(u64vec *a, uint64_t k, uint64_t *first) {
    *first = a->n;
    if (k == 0) return GB_OK;
    if (k > SIZE_MAX / 8 - a->n) return gb_errorf(GB_ERR_NOMEM, "offset table overflows");
    if (a->n + k > a->cap) {
        size_t cap = a->cap ? a->cap : 1024;
        while (cap < a->n + k) cap = cap > SIZE_MAX / 16 ? a->n + k : cap * 2;
        void *p = a->v;
        gb_status rc = gb_realloc_array(&p, cap, sizeof *a->v);
        if (rc) return rc;
        a->v = p;
        a->cap = cap;
    }
    memset(a->v + a->n, 0, k * sizeof *a->v);
    a->n += k;
    return GB_OK;
}

typedef struct cursor {
    const uint8_t *base, *p, *end;
    const char *name; /* the file, for messages */
    int capped;       /* end is the metadata cap, not the end of the file */
    u64vec *offsets;  /* where to index STRING/ARRAY array elements; NULL = only check */
} cursor;

static uint64_t left(const cursor *c) { return (uint64_t)(c->end - c->p); }
static uint64_t pos(const cursor *c) { return (uint64_t)(c->p - c->base); }

/* `what` needs `need` bytes at the cursor and they are not there. */
static gb_status past_end(const cursor *c, const char *what, uint64_t need) {
    if (c->capped)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s at offset %" PRIu64 " (%" PRIu64
                         " bytes) runs past the metadata cap of %" PRIu64 " bytes",
                         c->name, what, pos(c), need, (uint64_t)GB_GGUF_MAX_META);
    return gb_errorf(GB_ERR_FORMAT, "%s: truncated: %s at offset %" PRIu64 " needs %" PRIu64
                     " bytes, %" PRIu64 " left", c->name, what, pos(c), need, left(c));
}

static gb_status take(cursor *c, uint64_t n, const char *what, const uint8_t **out) {
    if (n > left(c)) return past_end(c, what, n);
    *out = c->p;
    c->p += n;
    return GB_OK;
}

static gb_status take32(cursor *c, const char *what, uint32_t *v) {
    const uint8_t *p = NULL;
    gb_status rc = take(c, 4, what, &p);
    if (!rc) *v = gguf_rd32(p);
    return rc;
}

static gb_status take64(cursor *c, const char *what, uint64_t *v) {
    const uint8_t *p = NULL;
    gb_status rc = take(c, 8, what, &p);
    if (!rc) *v = gguf_rd64(p);
    return rc;
}

/* A GGUF string of at most `max` bytes; `ctx` says whose, for messages. */
static gb_status take_string(cursor *c, uint64_t max, const char *ctx, const uint8_t **s, uint64_t *n) {
    char what[256];
    snprintf(what, sizeof what, "%s: string length", ctx);
    gb_status rc = take64(c, what, n);
    if (rc) return rc;
    if (*n > max)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s: string of %" PRIu64 " bytes exceeds the cap of %" PRIu64,
                         c->name, ctx, *n, max);
    snprintf(what, sizeof what, "%s: string of %llu bytes", ctx, (unsigned long long)*n);
    return take(c, *n, what, s);
}

static gb_status parse_array(cursor *c, int depth, const char *ctx, gb_gguf_arr *arr, uint64_t *base);

/* Checks one value of `type` at the cursor and moves past it. For an ARRAY, fills *arr and
 * *base (the first of its slots in the offset table) when they are not NULL. */
static gb_status parse_value(cursor *c, uint32_t type, int depth, const char *ctx, gb_gguf_arr *arr,
                             uint64_t *base) {
    const uint8_t *p = NULL;
    gb_status rc;
    char what[256];
    switch (type) {
    case GB_GGUF_STRING: {
        uint64_t n;
        return take_string(c, GB_GGUF_MAX_STRING, ctx, &p, &n);
    }
    case GB_GGUF_ARRAY: {
        gb_gguf_arr a;
        uint64_t b;
        return parse_array(c, depth, ctx, arr ? arr : &a, base ? base : &b);
    }
    case GB_GGUF_BOOL:
        snprintf(what, sizeof what, "%s: bool value", ctx);
        if ((rc = take(c, 1, what, &p))) return rc;
        if (*p > 1)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s: bool value %u (must be 0 or 1)", c->name, ctx, *p);
        return GB_OK;
    default:
        if (type >= GB_GGUF_TYPE_COUNT)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s: unknown value type %" PRIu32, c->name, ctx, type);
        snprintf(what, sizeof what, "%s: %s value", ctx, gb_gguf_type_name(type));
        return take(c, gguf_scalar_size(type), what, &p);
    }
}

static gb_status parse_array(cursor *c, int depth, const char *ctx, gb_gguf_arr *arr, uint64_t *base) {
    char what[256];
    uint32_t et;
    uint64_t n;
    gb_status rc;
    snprintf(what, sizeof what, "%s: array header", ctx);
    if ((rc = take32(c, what, &et)) || (rc = take64(c, what, &n))) return rc;
    if (et >= GB_GGUF_TYPE_COUNT)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s: array of unknown value type %" PRIu32, c->name, ctx, et);
    if (et == GB_GGUF_ARRAY && depth + 1 >= GB_GGUF_MAX_DEPTH)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s: arrays nested more than %d deep", c->name, ctx, GB_GGUF_MAX_DEPTH);
    if (n > GB_GGUF_MAX_ARRAY)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s: array of %" PRIu64 " elements exceeds the cap of %" PRIu64,
                         c->name, ctx, n, (uint64_t)GB_GGUF_MAX_ARRAY);
    uint64_t min = min_value_size(et);
    if (n > left(c) / min) { /* before any allocation: the elements must fit in what is left */
        snprintf(what, sizeof what, "%s: array of %llu %s", ctx, (unsigned long long)n, gb_gguf_type_name(et));
        return past_end(c, what, n * min); /* n * min <= GB_GGUF_MAX_ARRAY * 12: no overflow */
    }
    arr->type = (gb_gguf_type)et;
    arr->n = n;
    arr->data = c->p;
    arr->offsets_ = NULL;
    *base = 0;
    if (et != GB_GGUF_STRING && et != GB_GGUF_ARRAY) {
        if (et == GB_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->p[i] > 1)
                    return gb_errorf(GB_ERR_FORMAT, "%s: %s: element %" PRIu64 " is bool value %u (must be 0 or 1)",
                                     c->name, ctx, i, c->p[i]);
        c->p += n * min;
        return GB_OK;
    }
    uint64_t k = et == GB_GGUF_STRING ? 1 : 2; /* slots per element: offset [, inner base] */
    if (c->offsets && (rc = u64vec_grow(c->offsets, n * k, base))) return rc;
    char ectx[256];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = (uint64_t)(c->p - arr->data);
        snprintf(ectx, sizeof ectx, "%s: element %llu", ctx, (unsigned long long)i);
        if (et == GB_GGUF_STRING) {
            const uint8_t *s;
            uint64_t len;
            if ((rc = take_string(c, GB_GGUF_MAX_STRING, ectx, &s, &len))) return rc;
            if (c->offsets) c->offsets->v[*base + i] = off;
        } else {
            gb_gguf_arr inner;
            uint64_t inner_base;
            if ((rc = parse_array(c, depth + 1, ectx, &inner, &inner_base))) return rc;
            if (c->offsets) {
                c->offsets->v[*base + 2 * i] = off;
                c->offsets->v[*base + 2 * i + 1] = inner_base ? inner_base - *base : 0; /* reserved later */
            }
        }
    }
    return GB_OK;
}

gb_status gguf_check_value(const void *bytes, size_t len, uint32_t type, const char *what) {
    cursor c = {.base = bytes, .p = bytes, .end = (const uint8_t *)bytes + len, .name = what};
    gb_status rc = parse_value(&c, type, 0, "value", NULL, NULL);
    if (rc) return rc;
    if (c.p != c.end)
        return gb_errorf(GB_ERR_FORMAT, "%s: %zu bytes given but the %s value takes %" PRIu64, what, len,
                         gb_gguf_type_name(type), pos(&c));
    return GB_OK;
}

/* ---------------------------------------------------------------- the file */

typedef struct name_ref {
    const uint8_t *p; /* in the mapping */
    uint64_t n;
} name_ref;

typedef struct kv_entry {
    const char *key;       /* NUL-terminated copy */
    gb_gguf_type type;
    const uint8_t *val;    /* encoded value, in the mapping */
    size_t val_len;
    gb_gguf_arr arr;       /* when type is ARRAY */
    uint64_t arr_base;     /* its first slot in the offset table */
} kv_entry;

struct gb_gguf {
    char *path;
    const uint8_t *map;
    size_t len;
    int mapped; /* map came from mmap */
    uint32_t version, alignment;
    uint64_t data_offset;
    int64_t n_kv, n_tensors;
    kv_entry *kv;
    name_ref *kv_names;
    gb_gguf_tensor *tensors;
    name_ref *t_names;
    u64vec offsets;
    char *names; /* keys and tensor names, NUL-terminated */
    gguf_index kv_index, t_index;
};

static void name_ref_at(const void *ctx, int64_t i, const uint8_t **p, uint64_t *n) {
    const name_ref *r = (const name_ref *)ctx + i;
    *p = r->p;
    *n = r->n;
}

/* Bytes needed at least per key/value (8-byte length, a 1-byte key, type, a 1-byte value) and
 * per tensor info (length, 1-byte name, n_dims, one dimension, type, offset). */
#define MIN_KV_BYTES 14
#define MIN_TENSOR_BYTES 33

typedef struct tensor_span {
    uint64_t start, end;
    int64_t i;
} tensor_span;

static int span_cmp(const void *a, const void *b) {
    const tensor_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static gb_status parse_kvs(gb_gguf *g, cursor *c) {
    gb_status rc;
    char ctx[128], key[80], what[160];
    for (int64_t i = 0; i < g->n_kv; i++) {
        kv_entry *kv = &g->kv[i];
        name_ref *nr = &g->kv_names[i];
        snprintf(ctx, sizeof ctx, "key #%lld", (long long)i);
        if ((rc = take_string(c, GB_GGUF_MAX_KEY, ctx, &nr->p, &nr->n))) return rc;
        if (nr->n == 0) return gb_errorf(GB_ERR_FORMAT, "%s: key #%" PRId64 " is empty", g->path, i);
        gguf_printable(key, sizeof key, nr->p, nr->n);
        if (memchr(nr->p, 0, nr->n))
            return gb_errorf(GB_ERR_FORMAT, "%s: key #%" PRId64 " ('%s') contains a NUL byte", g->path, i, key);
        int64_t dup = gguf_index_insert(&g->kv_index, i, name_ref_at, g->kv_names);
        if (dup == -2) return GB_ERR_NOMEM;
        if (dup >= 0)
            return gb_errorf(GB_ERR_FORMAT, "%s: duplicate key '%s' (#%" PRId64 " and #%" PRId64 ")", g->path, key,
                             dup, i);
        snprintf(ctx, sizeof ctx, "key '%s'", key);
        snprintf(what, sizeof what, "%s: value type", ctx);
        uint32_t type;
        if ((rc = take32(c, what, &type))) return rc;
        if (type >= GB_GGUF_TYPE_COUNT)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s has unknown value type %" PRIu32, g->path, ctx, type);
        kv->type = (gb_gguf_type)type;
        kv->val = c->p;
        if ((rc = parse_value(c, type, 0, ctx, &kv->arr, &kv->arr_base))) return rc;
        kv->val_len = (size_t)(c->p - kv->val);
    }
    return GB_OK;
}

static gb_status read_alignment(gb_gguf *g) {
    g->alignment = GB_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = gguf_index_find(&g->kv_index, "general.alignment", 17, name_ref_at, g->kv_names);
    if (i < 0) return GB_OK;
    if (g->kv[i].type != GB_GGUF_UINT32)
        return gb_errorf(GB_ERR_FORMAT, "%s: key 'general.alignment' is %s (must be uint32)", g->path,
                         gb_gguf_type_name(g->kv[i].type));
    uint32_t a = gguf_rd32(g->kv[i].val);
    if (a == 0 || (a & (a - 1)) != 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: general.alignment is %" PRIu32 " (must be a power of two)", g->path, a);
    g->alignment = a;
    return GB_OK;
}

static gb_status parse_tensor_infos(gb_gguf *g, cursor *c) {
    gb_status rc;
    char ctx[128], name[80], what[160], msg[200];
    for (int64_t i = 0; i < g->n_tensors; i++) {
        gb_gguf_tensor *t = &g->tensors[i];
        name_ref *nr = &g->t_names[i];
        snprintf(ctx, sizeof ctx, "tensor #%lld name", (long long)i);
        if ((rc = take_string(c, GB_GGUF_MAX_NAME, ctx, &nr->p, &nr->n))) return rc;
        if (nr->n == 0) return gb_errorf(GB_ERR_FORMAT, "%s: tensor #%" PRId64 " has an empty name", g->path, i);
        gguf_printable(name, sizeof name, nr->p, nr->n);
        if (memchr(nr->p, 0, nr->n))
            return gb_errorf(GB_ERR_FORMAT, "%s: tensor #%" PRId64 " name ('%s') contains a NUL byte", g->path, i,
                             name);
        int64_t dup = gguf_index_insert(&g->t_index, i, name_ref_at, g->t_names);
        if (dup == -2) return GB_ERR_NOMEM;
        if (dup >= 0)
            return gb_errorf(GB_ERR_FORMAT, "%s: duplicate tensor name '%s' (#%" PRId64 " and #%" PRId64 ")",
                             g->path, name, dup, i);
        snprintf(ctx, sizeof ctx, "tensor '%s'", name);
        uint32_t n_dims, type;
        snprintf(what, sizeof what, "%s: dimension count", ctx);
        if ((rc = take32(c, what, &n_dims))) return rc;
        if (n_dims < 1 || n_dims > GB_GGUF_MAX_DIMS)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s has %" PRIu32 " dimensions (must be 1 to %d)", g->path, ctx,
                             n_dims, GB_GGUF_MAX_DIMS);
        uint64_t ne[GB_GGUF_MAX_DIMS];
        snprintf(what, sizeof what, "%s: dimensions", ctx);
        for (uint32_t d = 0; d < n_dims; d++)
            if ((rc = take64(c, what, &ne[d]))) return rc;
        snprintf(what, sizeof what, "%s: type", ctx);
        if ((rc = take32(c, what, &type))) return rc;
        const char *bad = check_shape(type, n_dims, ne, &t->n_elements, &t->nbytes, msg, sizeof msg);
        if (bad) return gb_errorf(GB_ERR_FORMAT, "%s: %s %s", g->path, ctx, bad);
        snprintf(what, sizeof what, "%s: data offset", ctx);
        if ((rc = take64(c, what, &t->offset))) return rc;
        if (t->offset % g->alignment != 0)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s has data offset %" PRIu64 ", not a multiple of the alignment %" PRIu32,
                             g->path, ctx, t->offset, g->alignment);
        t->type = (gb_ggml_type)type;
        t->n_dims = (int)n_dims;
        for (int d = 0; d < GB_GGUF_MAX_DIMS; d++) t->ne[d] = d < (int)n_dims ? (int64_t)ne[d] : 1;
    }
    return GB_OK;
}

/* Every tensor inside the data section, and no two sharing a byte. */
static gb_status check_data(gb_gguf *g) {
    uint64_t data_size = g->len - g->data_offset;
    char a[80], b[80];
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const gb_gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return gb_errorf(GB_ERR_FORMAT, "%s: truncated: tensor '%s' (%zu bytes at data offset %" PRIu64
                             ") runs past the end of the %" PRIu64 "-byte data section",
                             g->path, gguf_printable(a, sizeof a, t->name, strlen(t->name)), t->nbytes, t->offset,
                             data_size);
    }
    if (g->n_tensors < 2) return GB_OK;
    tensor_span *s = gb_calloc((size_t)g->n_tensors, sizeof *s);
    if (!s) return GB_ERR_NOMEM;
    for (int64_t i = 0; i < g->n_tensors; i++)
        s[i] = (tensor_span){g->tensors[i].offset, g->tensors[i].offset + g->tensors[i].nbytes, i};
    qsort(s, (size_t)g->n_tensors, sizeof *s, span_cmp);
    gb_status rc = GB_OK;
    for (int64_t i = 1; i < g->n_tensors && !rc; i++)
        if (s[i].start < s[i - 1].end) {
            const char *x = g->tensors[s[i - 1].i].name, *y = g->tensors[s[i].i].name;
            rc = gb_errorf(GB_ERR_FORMAT, "%s: tensors '%s' (data offset %" PRIu64 ", %" PRIu64 " bytes) and '%s' (data offset %" PRIu64 ") overlap",
                           g->path, gguf_printable(a, sizeof a, x, strlen(x)), s[i - 1].start,
                           s[i - 1].end - s[i - 1].start, gguf_printable(b, sizeof b, y, strlen(y)), s[i].start);
        }
    gb_free(s);
    return rc;
}

/* Copies keys and tensor names into one NUL-terminated block. */
static gb_status copy_names(gb_gguf *g) {
    uint64_t total = 1;
    for (int64_t i = 0; i < g->n_kv; i++) total += g->kv_names[i].n + 1;
    for (int64_t i = 0; i < g->n_tensors; i++) total += g->t_names[i].n + 1;
    g->names = gb_alloc((size_t)total); /* total <= metadata bytes + counts: bounded by the file */
    if (!g->names) return GB_ERR_NOMEM;
    char *p = g->names;
    for (int64_t i = 0; i < g->n_kv; i++) {
        memcpy(p, g->kv_names[i].p, g->kv_names[i].n);
        g->kv[i].key = p;
        p += g->kv_names[i].n;
        *p++ = 0;
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        memcpy(p, g->t_names[i].p, g->t_names[i].n);
        g->tensors[i].name = p;
        p += g->t_names[i].n;
        *p++ = 0;
    }
    return GB_OK;
}

static gb_status parse(gb_gguf *g) {
    gb_status rc;
    if (g->len < 24)
        return gb_errorf(GB_ERR_FORMAT, "%s: too short for a GGUF header (%zu bytes)", g->path, g->len);
    if (memcmp(g->map, GB_GGUF_MAGIC, 4) != 0) {
        char m[8];
        return gb_errorf(GB_ERR_FORMAT, "%s: not a GGUF file (magic '%s', want 'GGUF')", g->path,
                         gguf_printable(m, sizeof m, g->map, 4));
    }
    g->version = gguf_rd32(g->map + 4);
    if ((g->version & 0xffff) == 0 && g->version != 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: GGUF version %" PRIu32 " (0x%08" PRIx32
                         "): a big-endian file? glassbox reads little-endian GGUF", g->path, g->version, g->version);
    if (g->version < 2 || g->version > GB_GGUF_VERSION)
        return gb_errorf(GB_ERR_FORMAT, "%s: unsupported GGUF version %" PRIu32 " (this build reads 2 and 3)",
                         g->path, g->version);
    uint64_t n_tensors = gguf_rd64(g->map + 8), n_kv = gguf_rd64(g->map + 16);

    cursor c = {.base = g->map, .p = g->map + 24, .end = g->map + g->len, .name = g->path,
                .offsets = &g->offsets};
    if (g->len > GB_GGUF_MAX_META) c.end = g->map + GB_GGUF_MAX_META, c.capped = 1;

    /* The counts must fit in the bytes left before anything is allocated for them (a huge
     * count would otherwise wrap n * sizeof or ask for terabytes). */
    if (n_kv > left(&c) / MIN_KV_BYTES)
        return gb_errorf(GB_ERR_FORMAT, "%s: key/value count %" PRIu64 " cannot fit in the %" PRIu64
                         " bytes that follow the header", g->path, n_kv, left(&c));
    if (n_tensors > (left(&c) - n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES)
        return gb_errorf(GB_ERR_FORMAT, "%s: tensor count %" PRIu64 " cannot fit in the %" PRIu64
                         " bytes that follow the header", g->path, n_tensors, left(&c));
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    g->kv = gb_calloc((size_t)n_kv, sizeof *g->kv);
    g->kv_names = gb_calloc((size_t)n_kv, sizeof *g->kv_names);
    g->tensors = gb_calloc((size_t)n_tensors, sizeof *g->tensors);
    g->t_names = gb_calloc((size_t)n_tensors, sizeof *g->t_names);
    if (!g->kv || !g->kv_names || !g->tensors || !g->t_names) return GB_ERR_NOMEM;
    if ((rc = gguf_index_init(&g->kv_index, (size_t)n_kv)) || (rc = gguf_index_init(&g->t_index, (size_t)n_tensors)))
        return rc;

    if ((rc = parse_kvs(g, &c)) || (rc = read_alignment(g)) || (rc = parse_tensor_infos(g, &c))) return rc;

    /* The data section starts at the next multiple of the alignment. A file without tensors
     * may end right after its metadata (llama.cpp writes vocabulary files so). */
    uint64_t end_meta = pos(&c);
    uint64_t pad = (g->alignment - end_meta % g->alignment) % g->alignment;
    g->data_offset = end_meta + pad; /* end_meta <= 1 GiB, alignment <= 4 GiB: no overflow */
    if (g->data_offset > g->len) {
        if (g->n_tensors > 0)
            return gb_errorf(GB_ERR_FORMAT, "%s: truncated: the data section should start at offset %" PRIu64
                             " but the file has %zu bytes", g->path, g->data_offset, g->len);
        g->data_offset = g->len;
    }
    if ((rc = copy_names(g)) || (rc = check_data(g))) return rc;
    for (int64_t i = 0; i < g->n_tensors; i++)
        g->tensors[i].data = g->map + g->data_offset + g->tensors[i].offset;
    for (int64_t i = 0; i < g->n_kv; i++) /* the offset table no longer moves */
        if (g->kv[i].type == GB_GGUF_ARRAY && (g->kv[i].arr.type == GB_GGUF_STRING || g->kv[i].arr.type == GB_GGUF_ARRAY))
            if (g->kv[i].arr.n > 0) g->kv[i].arr.offsets_ = g->offsets.v + g->kv[i].arr_base;
    return GB_OK;
}

static gb_status open_common(gb_gguf **out, gb_gguf *g) {
    gb_status rc = parse(g);
    if (rc) {
        gb_gguf_close(g);
        return rc;
    }
    *out = g;
    return GB_OK;
}

static gb_gguf *new_gguf(const char *name) {
    gb_gguf *g = gb_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->path = strdup(name);
    if (!g->path) {
        gb_free(g);
        gb_errorf(GB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return g;
}

gb_status gb_gguf_open_mem(gb_gguf **out, const void *data, size_t len, const char *name) {
    *out = NULL;
    gb_gguf *g = new_gguf(name);
    if (!g) return GB_ERR_NOMEM;
    g->map = data;
    g->len = len;
    return open_common(out, g);
}

gb_status gb_gguf_open(gb_gguf **out, const char *path) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    gb_status rc = GB_OK;
    gb_gguf *g = NULL;
    if (fstat(fd, &st) != 0) {
        rc = gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: not a regular file", path);
        goto done;
    }
    if ((uint64_t)st.st_size < 24) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: too short for a GGUF header (%lld bytes)", path, (long long)st.st_size);
        goto done;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: too large to map", path);
        goto done;
    }
    if (!(g = new_gguf(path))) {
        rc = GB_ERR_NOMEM;
        goto done;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = gb_errorf(GB_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        gb_gguf_close(g);
        goto done;
    }
    g->map = m;
    g->len = (size_t)st.st_size;
    g->mapped = 1;
    rc = open_common(out, g);
done:
    close(fd);
    return rc;
}

void gb_gguf_close(gb_gguf *g) {
    if (!g) return;
    if (g->mapped) munmap((void *)g->map, g->len);
    gb_free(g->kv);
    gb_free(g->kv_names);
    gb_free(g->tensors);
    gb_free(g->t_names);
    free(g->offsets.v);
    gb_free(g->names);
    gguf_index_free(&g->kv_index);
    gguf_index_free(&g->t_index);
    free(g->path);
    gb_free(g);
}

void gb_gguf_drop_pages(const gb_gguf *g, const void *p, size_t n) {
    const uintptr_t lo = (uintptr_t)g->map, hi = lo + g->len, a = (uintptr_t)p;
    if (!g->mapped || a < lo || a > hi || n > hi - a) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t from = (a + page - 1) / page * page, to = (a + n) / page * page;
    if (to > from) (void)madvise((void *)from, to - from, MADV_DONTNEED); /* advice: failure is harmless */
}

/* ---------------------------------------------------------------- queries */

const char *gb_gguf_path(const gb_gguf *g) { return g->path; }
uint32_t gb_gguf_version(const gb_gguf *g) { return g->version; }
uint32_t gb_gguf_alignment(const gb_gguf *g) { return g->alignment; }
uint64_t gb_gguf_data_offset(const gb_gguf *g) { return g->data_offset; }
uint64_t gb_gguf_file_size(const gb_gguf *g) { return g->len; }
int64_t gb_gguf_n_kv(const gb_gguf *g) { return g->n_kv; }
int64_t gb_gguf_n_tensors(const gb_gguf *g) { return g->n_tensors; }

const char *gb_gguf_key(const gb_gguf *g, int64_t i) {
    GB_ASSERT(i >= 0 && i < g->n_kv);
    return g->kv[i].key;
}

gb_gguf_type gb_gguf_kv_type(const gb_gguf *g, int64_t i) {
    GB_ASSERT(i >= 0 && i < g->n_kv);
    return g->kv[i].type;
}

void gb_gguf_kv_raw(const gb_gguf *g, int64_t i, const void **bytes, size_t *len) {
    GB_ASSERT(i >= 0 && i < g->n_kv);
    *bytes = g->kv[i].val;
    *len = g->kv[i].val_len;
}

int64_t gb_gguf_find_key(const gb_gguf *g, const char *key) {
    return gguf_index_find(&g->kv_index, key, strlen(key), name_ref_at, g->kv_names);
}

const gb_gguf_tensor *gb_gguf_tensor_at(const gb_gguf *g, int64_t i) {
    GB_ASSERT(i >= 0 && i < g->n_tensors);
    return &g->tensors[i];
}

const gb_gguf_tensor *gb_gguf_find_tensor(const gb_gguf *g, const char *name) {
    int64_t i = gguf_index_find(&g->t_index, name, strlen(name), name_ref_at, g->t_names);
    return i < 0 ? NULL : &g->tensors[i];
}

/* The entry for `key` if it has type `want` (GB_GGUF_TYPE_COUNT: any), else an error. */
static gb_status lookup(const gb_gguf *g, const char *key, uint32_t want, const kv_entry **out) {
    int64_t i = gb_gguf_find_key(g, key);
    if (i < 0) return gb_errorf(GB_ERR_FORMAT, "%s: missing key '%s'", g->path, key);
    if (want != GB_GGUF_TYPE_COUNT && g->kv[i].type != want)
        return gb_errorf(GB_ERR_FORMAT, "%s: key '%s' is %s, not %s", g->path, key,
                         gb_gguf_type_name(g->kv[i].type), gb_gguf_type_name(want));
    *out = &g->kv[i];
    return GB_OK;
}

#define GETTER(fn, T, TYPE, expr) \
    gb_status fn(const gb_gguf *g, const char *key, T *out) { \
        const kv_entry *kv; \
        gb_status rc = lookup(g, key, TYPE, &kv); \
        if (rc) return rc; \
        const uint8_t *p = kv->val; \
        *out = (expr); \
        return GB_OK; \
    }

static float as_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double as_f64(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}

GETTER(gb_gguf_get_u8, uint8_t, GB_GGUF_UINT8, p[0])
GETTER(gb_gguf_get_i8, int8_t, GB_GGUF_INT8, (int8_t)p[0])
GETTER(gb_gguf_get_u16, uint16_t, GB_GGUF_UINT16, gguf_rd16(p))
GETTER(gb_gguf_get_i16, int16_t, GB_GGUF_INT16, (int16_t)gguf_rd16(p))
GETTER(gb_gguf_get_u32, uint32_t, GB_GGUF_UINT32, gguf_rd32(p))
GETTER(gb_gguf_get_i32, int32_t, GB_GGUF_INT32, (int32_t)gguf_rd32(p))
GETTER(gb_gguf_get_u64, uint64_t, GB_GGUF_UINT64, gguf_rd64(p))
GETTER(gb_gguf_get_i64, int64_t, GB_GGUF_INT64, (int64_t)gguf_rd64(p))
GETTER(gb_gguf_get_f32, float, GB_GGUF_FLOAT32, as_f32(gguf_rd32(p)))
GETTER(gb_gguf_get_f64, double, GB_GGUF_FLOAT64, as_f64(gguf_rd64(p)))
GETTER(gb_gguf_get_bool, bool, GB_GGUF_BOOL, p[0] != 0)
GETTER(gb_gguf_get_str, gb_gguf_str, GB_GGUF_STRING, ((gb_gguf_str){(const char *)p + 8, gguf_rd64(p)}))

gb_status gb_gguf_get_int(const gb_gguf *g, const char *key, int64_t *out) {
    const kv_entry *kv;
    gb_status rc = lookup(g, key, GB_GGUF_TYPE_COUNT, &kv);
    if (rc) return rc;
    const uint8_t *p = kv->val;
    switch (kv->type) {
    case GB_GGUF_UINT8: *out = p[0]; return GB_OK;
    case GB_GGUF_INT8: *out = (int8_t)p[0]; return GB_OK;
    case GB_GGUF_UINT16: *out = gguf_rd16(p); return GB_OK;
    case GB_GGUF_INT16: *out = (int16_t)gguf_rd16(p); return GB_OK;
    case GB_GGUF_UINT32: *out = gguf_rd32(p); return GB_OK;
    case GB_GGUF_INT32: *out = (int32_t)gguf_rd32(p); return GB_OK;
    case GB_GGUF_INT64: *out = (int64_t)gguf_rd64(p); return GB_OK;
    case GB_GGUF_UINT64:
        if (gguf_rd64(p) > INT64_MAX)
            return gb_errorf(GB_ERR_FORMAT, "%s: key '%s' is %" PRIu64 ", too large", g->path, key, gguf_rd64(p));
        *out = (int64_t)gguf_rd64(p);
        return GB_OK;
    default:
        return gb_errorf(GB_ERR_FORMAT, "%s: key '%s' is %s, not an integer", g->path, key,
                         gb_gguf_type_name(kv->type));
    }
}

gb_status gb_gguf_get_float(const gb_gguf *g, const char *key, double *out) {
    const kv_entry *kv;
    gb_status rc = lookup(g, key, GB_GGUF_TYPE_COUNT, &kv);
    if (rc) return rc;
    if (kv->type == GB_GGUF_FLOAT32) *out = as_f32(gguf_rd32(kv->val));
    else if (kv->type == GB_GGUF_FLOAT64) *out = as_f64(gguf_rd64(kv->val));
    else
        return gb_errorf(GB_ERR_FORMAT, "%s: key '%s' is %s, not a float", g->path, key, gb_gguf_type_name(kv->type));
    return GB_OK;
}

gb_status gb_gguf_get_arr(const gb_gguf *g, const char *key, gb_gguf_type elem, gb_gguf_arr *out) {
    const kv_entry *kv;
    gb_status rc = lookup(g, key, GB_GGUF_ARRAY, &kv);
    if (rc) return rc;
    if (elem != GB_GGUF_TYPE_COUNT && kv->arr.type != elem)
        return gb_errorf(GB_ERR_FORMAT, "%s: key '%s' is an array of %s, not of %s", g->path, key,
                         gb_gguf_type_name(kv->arr.type), gb_gguf_type_name(elem));
    *out = kv->arr;
    return GB_OK;
}

#define ARR_GETTER(fn, T, TYPE, expr) \
    T fn(const gb_gguf_arr *a, uint64_t i) { \
        GB_ASSERT(a->type == TYPE && i < a->n); \
        const uint8_t *p = a->data + i * sizeof(T); \
        return (expr); \
    }

ARR_GETTER(gb_gguf_arr_u8, uint8_t, GB_GGUF_UINT8, p[0])
ARR_GETTER(gb_gguf_arr_i8, int8_t, GB_GGUF_INT8, (int8_t)p[0])
ARR_GETTER(gb_gguf_arr_u16, uint16_t, GB_GGUF_UINT16, gguf_rd16(p))
ARR_GETTER(gb_gguf_arr_i16, int16_t, GB_GGUF_INT16, (int16_t)gguf_rd16(p))
ARR_GETTER(gb_gguf_arr_u32, uint32_t, GB_GGUF_UINT32, gguf_rd32(p))
ARR_GETTER(gb_gguf_arr_i32, int32_t, GB_GGUF_INT32, (int32_t)gguf_rd32(p))
ARR_GETTER(gb_gguf_arr_u64, uint64_t, GB_GGUF_UINT64, gguf_rd64(p))
ARR_GETTER(gb_gguf_arr_i64, int64_t, GB_GGUF_INT64, (int64_t)gguf_rd64(p))
ARR_GETTER(gb_gguf_arr_f32, float, GB_GGUF_FLOAT32, as_f32(gguf_rd32(p)))
ARR_GETTER(gb_gguf_arr_f64, double, GB_GGUF_FLOAT64, as_f64(gguf_rd64(p)))

bool gb_gguf_arr_bool(const gb_gguf_arr *a, uint64_t i) {
    GB_ASSERT(a->type == GB_GGUF_BOOL && i < a->n);
    return a->data[i] != 0;
}

gb_gguf_str gb_gguf_arr_str(const gb_gguf_arr *a, uint64_t i) {
    GB_ASSERT(a->type == GB_GGUF_STRING && i < a->n);
    const uint8_t *p = a->data + a->offsets_[i];
    return (gb_gguf_str){(const char *)p + 8, gguf_rd64(p)};
}

gb_gguf_arr gb_gguf_arr_arr(const gb_gguf_arr *a, uint64_t i) {
    GB_ASSERT(a->type == GB_GGUF_ARRAY && i < a->n);
    const uint8_t *p = a->data + a->offsets_[2 * i];
    gb_gguf_arr r = {(gb_gguf_type)gguf_rd32(p), gguf_rd64(p + 4), p + 12, NULL};
    /* slot 2i+1 holds where the inner array's slots start, relative to this array's */
    if (r.type == GB_GGUF_STRING || r.type == GB_GGUF_ARRAY)
        r.offsets_ = a->offsets_ + a->offsets_[2 * i + 1];
    return r;
}

bool gb_gguf_str_eq(gb_gguf_str s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}
