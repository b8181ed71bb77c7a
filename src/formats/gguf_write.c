/* glassbox — GGUF v3 writer (byte layout in include/glassbox/gguf.h).
 *
 * Key/values are encoded as they are added, into one growing buffer (metadata is small);
 * tensors are kept as pointers to the caller's data and streamed out at write time, so
 * writing a model costs no second copy of its weights. Every input is checked by the same
 * rules the reader applies, so a file this writer produces always opens. The layout is the
 * one llama.cpp's loader insists on: tensors in info order, each at the next multiple of the
 * alignment, zero-padded, the last one too. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf_internal.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"

#define MAX_WRITER_NAME (GB_GGUF_MAX_NAME - 1) /* llama.cpp's GGML_MAX_NAME counts the NUL */

typedef struct wtensor {
    char *name;
    size_t name_len;
    gb_ggml_type type;
    int n_dims;
    int64_t ne[GB_GGUF_MAX_DIMS];
    const void *data;
    size_t nbytes;
} wtensor;

struct gb_gguf_writer {
    uint8_t *kv; /* encoded key/values, in order */
    size_t kv_len, kv_cap;
    int64_t n_kv;
    uint64_t *key_off; /* where key i's bytes start in kv */
    uint64_t *key_len;
    size_t key_cap;
    gguf_index keys;
    wtensor *t;
    int64_t n_t;
    size_t t_cap;
    gguf_index names;
    uint32_t alignment;
    size_t pending; /* kv_len before the key/value being added */
};

static void key_at(const void *ctx, int64_t i, const uint8_t **p, uint64_t *n) {
    const gb_gguf_writer *w = ctx;
    *p = w->kv + w->key_off[i];
    *n = w->key_len[i];
}

static void tname_at(const void *ctx, int64_t i, const uint8_t **p, uint64_t *n) {
    const gb_gguf_writer *w = ctx;
    *p = (const uint8_t *)w->t[i].name;
    *n = w->t[i].name_len;
}

gb_status gb_gguf_writer_new(gb_gguf_writer **out) {
    *out = NULL;
    gb_gguf_writer *w = gb_calloc(1, sizeof *w);
    if (!w) return GB_ERR_NOMEM;
    w->alignment = GB_GGUF_DEFAULT_ALIGNMENT;
    if (gguf_index_init(&w->keys, 16) || gguf_index_init(&w->names, 16)) {
        gb_gguf_writer_free(w);
        return GB_ERR_NOMEM;
    }
    *out = w;
    return GB_OK;
}

void gb_gguf_writer_free(gb_gguf_writer *w) {
    if (!w) return;
    free(w->kv);
    free(w->key_off);
    free(w->key_len);
    for (int64_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    gguf_index_free(&w->keys);
    gguf_index_free(&w->names);
    gb_free(w);
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Checks `key` and makes room for key + type + val_len bytes of value; *val is where the
 * value goes. Finish with kv_commit, which registers the key. */
static gb_status kv_reserve(gb_gguf_writer *w, const char *key, uint32_t type, uint64_t val_len, uint8_t **val) {
    char shown[80];
    size_t klen = strlen(key);
    if (klen == 0) return gb_errorf(GB_ERR_ARG, "gguf writer: empty key");
    if (klen > GB_GGUF_MAX_KEY)
        return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s' is %zu bytes (at most %d)",
                         gguf_printable(shown, sizeof shown, key, klen), klen, GB_GGUF_MAX_KEY);
    if (gguf_index_find(&w->keys, key, klen, key_at, w) >= 0)
        return gb_errorf(GB_ERR_ARG, "gguf writer: duplicate key '%s'", gguf_printable(shown, sizeof shown, key, klen));
    uint64_t need = 8 + klen + 4;
    if (val_len > GB_GGUF_MAX_META || w->kv_len + need + val_len > GB_GGUF_MAX_META - 24)
        return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': metadata would exceed the cap of %" PRIu64 " bytes",
                         gguf_printable(shown, sizeof shown, key, klen), (uint64_t)GB_GGUF_MAX_META);
    need += val_len;
    if (w->kv_len + need > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 4096;
        while (cap < w->kv_len + need) cap *= 2; /* both below 2 GiB: no overflow */
        void *p = w->kv;
        gb_status rc = gb_realloc_array(&p, cap, 1);
        if (rc) return rc;
        w->kv = p;
        w->kv_cap = cap;
    }
    if ((size_t)w->n_kv == w->key_cap) {
        size_t cap = w->key_cap ? 2 * w->key_cap : 64;
        void *a = w->key_off, *b = w->key_len;
        gb_status rc = gb_realloc_array(&a, cap, sizeof *w->key_off);
        if (!rc) w->key_off = a;
        if (!rc) rc = gb_realloc_array(&b, cap, sizeof *w->key_len);
        if (!rc) w->key_len = b;
        if (rc) return rc;
        w->key_cap = cap;
    }
    w->pending = w->kv_len;
    uint8_t *p = w->kv + w->kv_len;
    put64(p, klen);
    memcpy(p + 8, key, klen);
    put32(p + 8 + klen, type);
    w->key_off[w->n_kv] = w->kv_len + 8;
    w->key_len[w->n_kv] = klen;
    w->kv_len += need;
    *val = p + 8 + klen + 4;
    return GB_OK;
}

static gb_status kv_commit(gb_gguf_writer *w) {
    const uint8_t *p = w->kv + w->pending;
    uint64_t klen = gguf_rd64(p);
    if (klen == 17 && memcmp(p + 8, "general.alignment", 17) == 0) {
        uint32_t type = gguf_rd32(p + 8 + klen), a = gguf_rd32(p + 12 + klen);
        if (type != GB_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0) {
            w->kv_len = w->pending;
            return gb_errorf(GB_ERR_ARG, "gguf writer: general.alignment must be a uint32 power of two");
        }
        w->alignment = a;
    }
    if (gguf_index_insert(&w->keys, w->n_kv, key_at, w) == -2) {
        w->kv_len = w->pending;
        return GB_ERR_NOMEM;
    }
    w->n_kv++;
    return GB_OK;
}

static gb_status add_scalar(gb_gguf_writer *w, const char *key, gb_gguf_type type, uint64_t bits) {
    uint8_t *v;
    size_t n = gguf_scalar_size(type);
    gb_status rc = kv_reserve(w, key, type, n, &v);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(bits >> (8 * i));
    return kv_commit(w);
}

gb_status gb_gguf_add_u8(gb_gguf_writer *w, const char *key, uint8_t v) { return add_scalar(w, key, GB_GGUF_UINT8, v); }
gb_status gb_gguf_add_i8(gb_gguf_writer *w, const char *key, int8_t v) {
    return add_scalar(w, key, GB_GGUF_INT8, (uint8_t)v);
}
gb_status gb_gguf_add_u16(gb_gguf_writer *w, const char *key, uint16_t v) {
    return add_scalar(w, key, GB_GGUF_UINT16, v);
}
gb_status gb_gguf_add_i16(gb_gguf_writer *w, const char *key, int16_t v) {
    return add_scalar(w, key, GB_GGUF_INT16, (uint16_t)v);
}
gb_status gb_gguf_add_u32(gb_gguf_writer *w, const char *key, uint32_t v) {
    return add_scalar(w, key, GB_GGUF_UINT32, v);
}
gb_status gb_gguf_add_i32(gb_gguf_writer *w, const char *key, int32_t v) {
    return add_scalar(w, key, GB_GGUF_INT32, (uint32_t)v);
}
gb_status gb_gguf_add_u64(gb_gguf_writer *w, const char *key, uint64_t v) {
    return add_scalar(w, key, GB_GGUF_UINT64, v);
}
gb_status gb_gguf_add_i64(gb_gguf_writer *w, const char *key, int64_t v) {
    return add_scalar(w, key, GB_GGUF_INT64, (uint64_t)v);
}
gb_status gb_gguf_add_f32(gb_gguf_writer *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return add_scalar(w, key, GB_GGUF_FLOAT32, u);
}
gb_status gb_gguf_add_f64(gb_gguf_writer *w, const char *key, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    return add_scalar(w, key, GB_GGUF_FLOAT64, u);
}
gb_status gb_gguf_add_bool(gb_gguf_writer *w, const char *key, bool v) {
    return add_scalar(w, key, GB_GGUF_BOOL, v ? 1 : 0);
}

gb_status gb_gguf_add_strn(gb_gguf_writer *w, const char *key, const char *s, size_t len) {
    if (len > GB_GGUF_MAX_STRING)
        return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': string of %zu bytes exceeds the cap of %u", key, len,
                         GB_GGUF_MAX_STRING);
    uint8_t *v;
    gb_status rc = kv_reserve(w, key, GB_GGUF_STRING, 8 + (uint64_t)len, &v);
    if (rc) return rc;
    put64(v, len);
    if (len) memcpy(v + 8, s, len);
    return kv_commit(w);
}

gb_status gb_gguf_add_str(gb_gguf_writer *w, const char *key, const char *s) {
    return gb_gguf_add_strn(w, key, s, strlen(s));
}

gb_status gb_gguf_add_arr(gb_gguf_writer *w, const char *key, gb_gguf_type elem, const void *vals, uint64_t n) {
    size_t size = gguf_scalar_size(elem);
    if (!size)
        return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': gb_gguf_add_arr takes fixed-size elements, not %s", key,
                         gb_gguf_type_name(elem));
    if (n > GB_GGUF_MAX_ARRAY)
        return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': array of %" PRIu64 " elements exceeds the cap of %" PRIu64,
                         key, n, (uint64_t)GB_GGUF_MAX_ARRAY);
    if (elem == GB_GGUF_BOOL)
        for (uint64_t i = 0; i < n; i++) {
            uint8_t b;
            memcpy(&b, (const uint8_t *)vals + i, 1);
            if (b > 1) return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': element %" PRIu64 " is not a bool", key, i);
        }
    uint8_t *v;
    gb_status rc = kv_reserve(w, key, GB_GGUF_ARRAY, 12 + n * size, &v);
    if (rc) return rc;
    put32(v, elem);
    put64(v + 4, n);
    if (n) memcpy(v + 12, vals, n * size); /* the host is little-endian, as the file */
    return kv_commit(w);
}

gb_status gb_gguf_add_arr_str(gb_gguf_writer *w, const char *key, const char *const *strs, const uint64_t *lens,
                              uint64_t n) {
    if (n > GB_GGUF_MAX_ARRAY)
        return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': array of %" PRIu64 " elements exceeds the cap of %" PRIu64,
                         key, n, (uint64_t)GB_GGUF_MAX_ARRAY);
    uint64_t total = 12;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = lens ? lens[i] : strlen(strs[i]);
        if (len > GB_GGUF_MAX_STRING)
            return gb_errorf(GB_ERR_ARG, "gguf writer: key '%s': element %" PRIu64 " exceeds the string cap of %u",
                             key, i, GB_GGUF_MAX_STRING);
        total += 8 + len;
        if (total > GB_GGUF_MAX_META) break; /* kv_reserve reports it */
    }
    uint8_t *v;
    gb_status rc = kv_reserve(w, key, GB_GGUF_ARRAY, total, &v);
    if (rc) return rc;
    put32(v, GB_GGUF_STRING);
    put64(v + 4, n);
    v += 12;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = lens ? lens[i] : strlen(strs[i]);
        put64(v, len);
        if (len) memcpy(v + 8, strs[i], len);
        v += 8 + len;
    }
    return kv_commit(w);
}

gb_status gb_gguf_add_raw(gb_gguf_writer *w, const char *key, gb_gguf_type type, const void *bytes, size_t len) {
    char what[120], shown[80];
    snprintf(what, sizeof what, "gguf writer: key '%s'", gguf_printable(shown, sizeof shown, key, strlen(key)));
    if ((uint32_t)type >= GB_GGUF_TYPE_COUNT)
        return gb_errorf(GB_ERR_ARG, "%s: unknown value type %u", what, (unsigned)type);
    if (gguf_check_value(bytes, len, type, what)) return GB_ERR_ARG; /* keeps the message */
    uint8_t *v;
    gb_status rc = kv_reserve(w, key, type, len, &v);
    if (rc) return rc;
    if (len) memcpy(v, bytes, len);
    return kv_commit(w);
}

gb_status gb_gguf_add_kv_from(gb_gguf_writer *w, const gb_gguf *g, int64_t i) {
    const void *bytes;
    size_t len;
    gb_gguf_kv_raw(g, i, &bytes, &len);
    return gb_gguf_add_raw(w, gb_gguf_key(g, i), gb_gguf_kv_type(g, i), bytes, len);
}

gb_status gb_gguf_add_tensor(gb_gguf_writer *w, const char *name, gb_ggml_type type, int n_dims, const int64_t *ne,
                             const void *data, size_t nbytes) {
    char shown[80];
    size_t len = strlen(name);
    gguf_printable(shown, sizeof shown, name, len);
    if (len == 0 || len > MAX_WRITER_NAME)
        return gb_errorf(GB_ERR_ARG, "gguf writer: tensor name '%s' is %zu bytes (must be 1 to %d)", shown, len,
                         MAX_WRITER_NAME);
    if (gguf_index_find(&w->names, name, len, tname_at, w) >= 0)
        return gb_errorf(GB_ERR_ARG, "gguf writer: duplicate tensor name '%s'", shown);
    size_t want;
    if (gb_ggml_nbytes((uint32_t)type, n_dims, ne, &want)) {
        char why[256];
        snprintf(why, sizeof why, "%s", gb_last_error()); /* gb_errorf overwrites it */
        return gb_errorf(GB_ERR_ARG, "gguf writer: tensor '%s': %s", shown, why);
    }
    if (nbytes != want)
        return gb_errorf(GB_ERR_ARG, "gguf writer: tensor '%s' has %zu bytes of data, its shape and type need %zu",
                         shown, nbytes, want);
    if (!data) return gb_errorf(GB_ERR_ARG, "gguf writer: tensor '%s' has no data", shown);
    if ((size_t)w->n_t == w->t_cap) {
        size_t cap = w->t_cap ? 2 * w->t_cap : 64;
        void *p = w->t;
        gb_status rc = gb_realloc_array(&p, cap, sizeof *w->t);
        if (rc) return rc;
        w->t = p;
        w->t_cap = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    t->name_len = len;
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < GB_GGUF_MAX_DIMS; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->data = data;
    t->nbytes = nbytes;
    if (gguf_index_insert(&w->names, w->n_t, tname_at, w) == -2) {
        free(t->name);
        return GB_ERR_NOMEM;
    }
    w->n_t++;
    return GB_OK;
}

static uint64_t pad_to(uint64_t x, uint32_t a) { return (a - x % a) % a; }

/* Bytes of header + key/values + tensor infos, and the offset of the data section. */
static void layout(const gb_gguf_writer *w, uint64_t *meta, uint64_t *data_start) {
    uint64_t m = 24 + w->kv_len;
    for (int64_t i = 0; i < w->n_t; i++) m += 8 + w->t[i].name_len + 4 + 8 * (uint64_t)w->t[i].n_dims + 4 + 8;
    *meta = m;
    *data_start = w->n_t > 0 ? m + pad_to(m, w->alignment) : m;
}

uint64_t gb_gguf_writer_size(const gb_gguf_writer *w) {
    uint64_t meta, pos;
    layout(w, &meta, &pos);
    for (int64_t i = 0; i < w->n_t; i++) pos += w->t[i].nbytes + pad_to(w->t[i].nbytes, w->alignment);
    return pos;
}

static void write_zeros(FILE *fp, uint64_t n) {
    static const uint8_t zeros[4096];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        fwrite(zeros, 1, k, fp);
        n -= k;
    }
}

gb_status gb_gguf_write_stream(const gb_gguf_writer *w, FILE *fp, const char *name) {
    uint64_t meta, data_start;
    layout(w, &meta, &data_start);
    if (meta > GB_GGUF_MAX_META)
        return gb_errorf(GB_ERR_ARG, "%s: metadata and tensor infos take %" PRIu64 " bytes, over the cap of %" PRIu64,
                         name, meta, (uint64_t)GB_GGUF_MAX_META);
    uint8_t buf[8 + MAX_WRITER_NAME + 4 + 8 * GB_GGUF_MAX_DIMS + 4 + 8];
    memcpy(buf, GB_GGUF_MAGIC, 4);
    put32(buf + 4, GB_GGUF_VERSION);
    put64(buf + 8, (uint64_t)w->n_t);
    put64(buf + 16, (uint64_t)w->n_kv);
    fwrite(buf, 1, 24, fp);
    if (w->kv_len) fwrite(w->kv, 1, w->kv_len, fp);
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        uint8_t *p = buf;
        put64(p, t->name_len), p += 8;
        memcpy(p, t->name, t->name_len), p += t->name_len;
        put32(p, (uint32_t)t->n_dims), p += 4;
        for (int d = 0; d < t->n_dims; d++) put64(p, (uint64_t)t->ne[d]), p += 8;
        put32(p, (uint32_t)t->type), p += 4;
        put64(p, off), p += 8;
        fwrite(buf, 1, (size_t)(p - buf), fp);
        off += t->nbytes + pad_to(t->nbytes, w->alignment);
    }
    write_zeros(fp, data_start - meta);
    for (int64_t i = 0; i < w->n_t; i++) {
        fwrite(w->t[i].data, 1, w->t[i].nbytes, fp);
        write_zeros(fp, pad_to(w->t[i].nbytes, w->alignment));
    }
    if (fflush(fp) != 0 || ferror(fp)) return gb_errorf(GB_ERR_IO, "%s: write failed: %s", name, strerror(errno));
    return GB_OK;
}

gb_status gb_gguf_write(const gb_gguf_writer *w, const char *path) {
    gb_atomic_file f;
    gb_status rc = gb_atomic_open(&f, path);
    if (rc) return rc;
    rc = gb_gguf_write_stream(w, f.fp, path);
    if (rc) {
        gb_atomic_abort(&f);
        return rc;
    }
    return gb_atomic_commit(&f);
}
