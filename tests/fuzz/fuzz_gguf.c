/* libFuzzer harness: arbitrary bytes as a GGUF file (make fuzz; build/fuzz/fuzz_gguf CORPUS).
 *
 * Opens the bytes from memory, then touches everything the API hands out: every key, every
 * value through its typed getter, every array element at every nesting level, every tensor's
 * first and last data byte. A file that opens is then copied through the writer and read
 * back, and the copy must hold the same key/values (byte for byte) and tensor data: any
 * difference aborts, so the fuzzer reports writer/reader disagreements as well as crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void must(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_gguf: invariant broken: %s (%s)\n", what, gb_last_error());
        abort();
    }
}

static void walk_arr(const gb_gguf_arr *a) {
    for (uint64_t i = 0; i < a->n; i++) {
        switch (a->type) {
        case GB_GGUF_UINT8: sink += gb_gguf_arr_u8(a, i); break;
        case GB_GGUF_INT8: sink += (uint64_t)gb_gguf_arr_i8(a, i); break;
        case GB_GGUF_UINT16: sink += gb_gguf_arr_u16(a, i); break;
        case GB_GGUF_INT16: sink += (uint64_t)gb_gguf_arr_i16(a, i); break;
        case GB_GGUF_UINT32: sink += gb_gguf_arr_u32(a, i); break;
        case GB_GGUF_INT32: sink += (uint64_t)gb_gguf_arr_i32(a, i); break;
        case GB_GGUF_UINT64: sink += gb_gguf_arr_u64(a, i); break;
        case GB_GGUF_INT64: sink += (uint64_t)gb_gguf_arr_i64(a, i); break;
        case GB_GGUF_FLOAT32: sink += gb_gguf_arr_f32(a, i) > 0; break;
        case GB_GGUF_FLOAT64: sink += gb_gguf_arr_f64(a, i) > 0; break;
        case GB_GGUF_BOOL: sink += gb_gguf_arr_bool(a, i); break;
        case GB_GGUF_STRING: {
            gb_gguf_str s = gb_gguf_arr_str(a, i);
            if (s.len) sink += (uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1];
            break;
        }
        case GB_GGUF_ARRAY: {
            gb_gguf_arr inner = gb_gguf_arr_arr(a, i);
            walk_arr(&inner);
            break;
        }
        default: must(0, "array element type");
        }
    }
}

static void walk(const gb_gguf *g) {
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
        const char *key = gb_gguf_key(g, i);
        must(gb_gguf_find_key(g, key) == i, "find_key finds each key");
        gb_gguf_type t = gb_gguf_kv_type(g, i);
        union {
            uint8_t u8;
            int8_t i8;
            uint16_t u16;
            int16_t i16;
            uint32_t u32;
            int32_t i32;
            uint64_t u64;
            int64_t i64;
            float f32;
            double f64;
            bool b;
            gb_gguf_str s;
            gb_gguf_arr a;
        } v;
        gb_status rc;
        switch (t) {
        case GB_GGUF_UINT8: rc = gb_gguf_get_u8(g, key, &v.u8); break;
        case GB_GGUF_INT8: rc = gb_gguf_get_i8(g, key, &v.i8); break;
        case GB_GGUF_UINT16: rc = gb_gguf_get_u16(g, key, &v.u16); break;
        case GB_GGUF_INT16: rc = gb_gguf_get_i16(g, key, &v.i16); break;
        case GB_GGUF_UINT32: rc = gb_gguf_get_u32(g, key, &v.u32); break;
        case GB_GGUF_INT32: rc = gb_gguf_get_i32(g, key, &v.i32); break;
        case GB_GGUF_UINT64: rc = gb_gguf_get_u64(g, key, &v.u64); break;
        case GB_GGUF_INT64: rc = gb_gguf_get_i64(g, key, &v.i64); break;
        case GB_GGUF_FLOAT32: rc = gb_gguf_get_f32(g, key, &v.f32); break;
        case GB_GGUF_FLOAT64: rc = gb_gguf_get_f64(g, key, &v.f64); break;
        case GB_GGUF_BOOL: rc = gb_gguf_get_bool(g, key, &v.b); break;
        case GB_GGUF_STRING:
            rc = gb_gguf_get_str(g, key, &v.s);
            if (!rc && v.s.len) sink += (uint8_t)v.s.ptr[v.s.len - 1];
            break;
        case GB_GGUF_ARRAY:
            rc = gb_gguf_get_arr(g, key, GB_GGUF_TYPE_COUNT, &v.a);
            if (!rc) walk_arr(&v.a);
            break;
        default: rc = GB_ERR_FORMAT;
        }
        must(rc == GB_OK, "typed getter of the key's own type");
        int64_t n;
        double d;
        sink += gb_gguf_get_int(g, key, &n) == GB_OK;
        sink += gb_gguf_get_float(g, key, &d) == GB_OK;
        must(gb_gguf_get_u8(g, key, &v.u8) == (t == GB_GGUF_UINT8 ? GB_OK : GB_ERR_FORMAT), "wrong type fails");
    }
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        must(gb_gguf_find_tensor(g, t->name) == t, "find_tensor finds each tensor");
        size_t nbytes = 0;
        must(gb_ggml_nbytes(t->type, t->n_dims, t->ne, &nbytes) == GB_OK && nbytes == t->nbytes, "tensor size");
        const uint8_t *p = t->data;
        sink += p[0] + p[t->nbytes - 1];
    }
}

/* Writer round trip: the copy must read back with the same key/values and tensor bytes. */
static void round_trip(const gb_gguf *g) {
    gb_gguf_writer *w;
    must(gb_gguf_writer_new(&w) == GB_OK, "writer_new");
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) must(gb_gguf_add_kv_from(w, g, i) == GB_OK, "add_kv_from");
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *t = gb_gguf_tensor_at(g, i);
        if (strlen(t->name) > GB_GGUF_MAX_NAME - 1) goto done; /* valid for the spec, too long for llama.cpp */
        must(gb_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes) == GB_OK, "add_tensor");
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    must(fp != NULL, "open_memstream");
    must(gb_gguf_write_stream(w, fp, "copy") == GB_OK, "write_stream");
    fclose(fp);
    must(len == gb_gguf_writer_size(w), "writer_size");
    gb_gguf *h;
    must(gb_gguf_open_mem(&h, buf, len, "copy") == GB_OK, "the copy opens");
    must(gb_gguf_n_kv(h) == gb_gguf_n_kv(g) && gb_gguf_n_tensors(h) == gb_gguf_n_tensors(g), "counts");
    for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) {
        const void *a, *b;
        size_t na, nb;
        gb_gguf_kv_raw(g, i, &a, &na);
        gb_gguf_kv_raw(h, i, &b, &nb);
        must(strcmp(gb_gguf_key(g, i), gb_gguf_key(h, i)) == 0 && gb_gguf_kv_type(g, i) == gb_gguf_kv_type(h, i) &&
                 na == nb && memcmp(a, b, na) == 0,
             "same key/value");
    }
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        const gb_gguf_tensor *x = gb_gguf_tensor_at(g, i), *y = gb_gguf_tensor_at(h, i);
        must(strcmp(x->name, y->name) == 0 && x->type == y->type && x->nbytes == y->nbytes &&
                 memcmp(x->ne, y->ne, sizeof x->ne) == 0 && memcmp(x->data, y->data, x->nbytes) == 0,
             "same tensor");
    }
    gb_gguf_close(h);
    free(buf);
done:
    gb_gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gb_gguf *g;
    if (gb_gguf_open_mem(&g, data, size, "fuzz") != GB_OK) {
        must(g == NULL && strchr(gb_last_error(), '\n') == NULL, "one-line error, no handle");
        return 0;
    }
    walk(g);
    round_trip(g);
    gb_gguf_close(g);
    return 0;
}
