/* GGUF: the real llama.cpp-written vocabularies, a writer→reader round trip of every value
 * type, byte-level checks of the writer against the spec, and one test per malformed file
 * (each built here with a small byte builder). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glassbox/fileio.h"
#include "glassbox/gguf.h"
#include "test.h"

#define VOCAB_DIR "../shared/vocab"

/* ---------------------------------------------------------------- byte builder */

typedef struct bb {
    uint8_t *p;
    size_t n, cap;
} bb;

static void bb_bytes(bb *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void bb_u8(bb *b, uint8_t v) { bb_bytes(b, &v, 1); }
static void bb_u32(bb *b, uint32_t v) { bb_bytes(b, &v, 4); } /* the host is little-endian */
static void bb_u64(bb *b, uint64_t v) { bb_bytes(b, &v, 8); }
static void bb_str(bb *b, const char *s) {
    bb_u64(b, strlen(s));
    bb_bytes(b, s, strlen(s));
}
static void bb_zeros(bb *b, size_t n) {
    for (size_t i = 0; i < n; i++) bb_u8(b, 0);
}
static void bb_pad(bb *b, uint32_t align) { bb_zeros(b, (align - b->n % align) % align); }
static void bb_header(bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bb_bytes(b, "GGUF", 4);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}
static void bb_kv_u32(bb *b, const char *key, uint32_t v) {
    bb_str(b, key);
    bb_u32(b, GB_GGUF_UINT32);
    bb_u32(b, v);
}
static void bb_kv_str(bb *b, const char *key, const char *v) {
    bb_str(b, key);
    bb_u32(b, GB_GGUF_STRING);
    bb_str(b, v);
}
/* A tensor info with up to 4 dimensions. */
static void bb_tensor(bb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset) {
    bb_str(b, name);
    bb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) bb_u64(b, ne[d]);
    bb_u32(b, type);
    bb_u64(b, offset);
}

static const char *bb_save(const bb *b, const char *name) {
    const char *path = gb_test_path("%s/%s.gguf", gb_test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return path;
    fwrite(b->p, 1, b->n, fp);
    fclose(fp);
    return path;
}

/* The file in b must be rejected with GB_ERR_FORMAT and one line that names the file and
 * contains `needle`; both through the file and through memory. Frees b. */
static void expect_bad_at(const char *file, int line, const char *name, bb *b, const char *needle) {
    const char *path = bb_save(b, name);
    gb_gguf *g = (gb_gguf *)1;
    gb_status rc = gb_gguf_open(&g, path);
    if (rc != GB_ERR_FORMAT) gb_test_fail(file, line, "%s: status %d (%s), want GB_ERR_FORMAT", name, rc, gb_last_error());
    else if (!strstr(gb_last_error(), needle) || !strstr(gb_last_error(), path) ||
             strchr(gb_last_error(), '\n') != NULL)
        gb_test_fail(file, line, "%s: message '%s' lacks '%s' or the path", name, gb_last_error(), needle);
    if (g) gb_test_fail(file, line, "%s: *out not NULL on failure", name);
    if (rc == GB_OK) gb_gguf_close(g);
    rc = gb_gguf_open_mem(&g, b->p, b->n, "mem");
    if (rc != GB_ERR_FORMAT || !strstr(gb_last_error(), needle))
        gb_test_fail(file, line, "%s: from memory: status %d, message '%s'", name, rc, gb_last_error());
    if (rc == GB_OK) gb_gguf_close(g);
    free(b->p);
    memset(b, 0, sizeof *b);
}
#define expect_bad(name, b, needle) expect_bad_at(__FILE__, __LINE__, name, b, needle)

/* A valid file with one F32 tensor "t" of `ne0` elements at offset 0, and the kvs in `kvs`
 * (already encoded, count n_kv). */
static void good_file(bb *b, uint64_t n_kv, const bb *kvs, uint64_t ne0) {
    bb_header(b, 3, 1, n_kv);
    if (kvs) bb_bytes(b, kvs->p, kvs->n);
    bb_tensor(b, "t", 1, &ne0, GB_GGML_F32, 0);
    bb_pad(b, 32);
    for (uint64_t i = 0; i < ne0; i++) bb_u32(b, 0x3f800000); /* 1.0f */
}

/* ---------------------------------------------------------------- real files */

/* The shared folder has all three files; the repository carries the MIT-licensed GPT-2 and
 * Phi-3 ones (tests/data/vocab/README.md), so a fresh clone still checks those. */
static int have_vocab(const char *name, const char **path) {
    struct stat st;
    const char *dirs[] = {VOCAB_DIR, "tests/data/vocab"};
    for (int i = 0; i < 2; i++) {
        *path = gb_test_path("%s/%s", dirs[i], name);
        if (stat(*path, &st) == 0) return 1;
    }
    gb_test_skip(VOCAB_DIR " is missing and the repository has no copy of this file (shared test "
                           "data): cannot check this real llama.cpp-written GGUF file");
    return 0;
}

static int str_is(gb_gguf_str s, const char *lit) { return gb_gguf_str_eq(s, lit); }

TEST(formats_gguf_vocab_gpt2) {
    const char *path;
    if (!have_vocab("ggml-vocab-gpt-2.gguf", &path)) return;
    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, path));
    REQUIRE(g);
    CHECK_EQ_INT(gb_gguf_version(g), 3);
    CHECK_EQ_INT(gb_gguf_n_tensors(g), 0);
    CHECK_EQ_INT(gb_gguf_n_kv(g), 16);
    CHECK_EQ_INT(gb_gguf_alignment(g), 32);
    CHECK_STR(gb_gguf_key(g, 0), "general.architecture");
    gb_gguf_str s;
    CHECK_OK(gb_gguf_get_str(g, "general.architecture", &s));
    CHECK(str_is(s, "gpt2"));
    CHECK_OK(gb_gguf_get_str(g, "tokenizer.ggml.model", &s));
    CHECK(str_is(s, "gpt2"));
    uint32_t u;
    CHECK_OK(gb_gguf_get_u32(g, "gpt2.context_length", &u));
    CHECK_EQ_INT(u, 1024);
    CHECK_OK(gb_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u));
    CHECK_EQ_INT(u, 50256);
    float eps;
    CHECK_OK(gb_gguf_get_f32(g, "gpt2.attention.layer_norm_epsilon", &eps));
    CHECK(fabsf(eps - 1e-5f) < 1e-9f);
    int64_t n;
    CHECK_OK(gb_gguf_get_int(g, "gpt2.block_count", &n));
    CHECK_EQ_INT(n, 12);
    gb_gguf_arr tok, merges, types;
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.tokens", GB_GGUF_STRING, &tok));
    CHECK_EQ_INT(tok.n, 50257);
    CHECK(str_is(gb_gguf_arr_str(&tok, 0), "!"));
    CHECK(str_is(gb_gguf_arr_str(&tok, 50255), "\xc4\xa0gazed")); /* "Ġgazed" */
    CHECK(str_is(gb_gguf_arr_str(&tok, 50256), "<|endoftext|>"));
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.merges", GB_GGUF_STRING, &merges));
    CHECK_EQ_INT(merges.n, 50000);
    CHECK(str_is(gb_gguf_arr_str(&merges, 0), "\xc4\xa0 t"));
    CHECK(str_is(gb_gguf_arr_str(&merges, 2), "h e"));
    CHECK(str_is(gb_gguf_arr_str(&merges, 49999), "\xc4\xa0g azed"));
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.token_type", GB_GGUF_INT32, &types));
    CHECK_EQ_INT(types.n, 50257);
    CHECK_EQ_INT(gb_gguf_arr_i32(&types, 0), 1);
    CHECK_EQ_INT(gb_gguf_arr_i32(&types, 50256), 3);
    /* the token strings tile the array: the sum of lengths + 8 per entry + 12 is the value size */
    uint64_t bytes = 12;
    for (uint64_t i = 0; i < tok.n; i++) bytes += 8 + gb_gguf_arr_str(&tok, i).len;
    const void *raw;
    size_t raw_len;
    gb_gguf_kv_raw(g, gb_gguf_find_key(g, "tokenizer.ggml.tokens"), &raw, &raw_len);
    CHECK_EQ_INT(raw_len, bytes);
    gb_gguf_close(g);
}

TEST(formats_gguf_vocab_llama_spm) {
    const char *path;
    if (!have_vocab("ggml-vocab-llama-spm.gguf", &path)) return;
    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, path));
    REQUIRE(g);
    gb_gguf_str s;
    CHECK_OK(gb_gguf_get_str(g, "general.architecture", &s));
    CHECK(str_is(s, "llama"));
    CHECK_OK(gb_gguf_get_str(g, "tokenizer.ggml.model", &s));
    CHECK(str_is(s, "llama"));
    gb_gguf_arr tok, scores, types;
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.tokens", GB_GGUF_STRING, &tok));
    CHECK_EQ_INT(tok.n, 32000);
    CHECK(str_is(gb_gguf_arr_str(&tok, 0), "<unk>"));
    CHECK(str_is(gb_gguf_arr_str(&tok, 1), "<s>"));
    CHECK(str_is(gb_gguf_arr_str(&tok, 2), "</s>"));
    CHECK(str_is(gb_gguf_arr_str(&tok, 3), "<0x00>"));
    CHECK(str_is(gb_gguf_arr_str(&tok, 31999), "\xe7\xbb\x99")); /* 给 */
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.scores", GB_GGUF_FLOAT32, &scores));
    CHECK_EQ_INT(scores.n, 32000);
    CHECK(gb_gguf_arr_f32(&scores, 31999) == -31740.0f);
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.token_type", GB_GGUF_INT32, &types));
    CHECK_EQ_INT(gb_gguf_arr_i32(&types, 0), 2);
    CHECK_EQ_INT(gb_gguf_arr_i32(&types, 1), 3);
    bool add_bos = false, add_eos = true;
    CHECK_OK(gb_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos));
    CHECK_OK(gb_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &add_eos));
    CHECK(add_bos && !add_eos);
    uint32_t u;
    CHECK_OK(gb_gguf_get_u32(g, "llama.attention.head_count_kv", &u));
    CHECK_EQ_INT(u, 32);
    gb_gguf_close(g);
}

TEST(formats_gguf_vocab_phi3) {
    const char *path;
    if (!have_vocab("ggml-vocab-phi-3.gguf", &path)) return;
    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, path));
    REQUIRE(g);
    CHECK_EQ_INT(gb_gguf_n_kv(g), 26);
    gb_gguf_str s;
    CHECK_OK(gb_gguf_get_str(g, "general.architecture", &s));
    CHECK(str_is(s, "phi3"));
    CHECK_OK(gb_gguf_get_str(g, "tokenizer.chat_template", &s));
    CHECK(s.len > 100 && memcmp(s.ptr, "{{ bos_token }}", 15) == 0);
    gb_gguf_arr tok;
    CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.tokens", GB_GGUF_STRING, &tok));
    CHECK_EQ_INT(tok.n, 32064);
    CHECK(str_is(gb_gguf_arr_str(&tok, 32063), "[PAD32063]"));
    uint32_t u;
    CHECK_OK(gb_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u));
    CHECK_EQ_INT(u, 32000);
    CHECK_OK(gb_gguf_get_u32(g, "general.quantization_version", &u));
    CHECK_EQ_INT(u, 2);
    double f;
    CHECK_OK(gb_gguf_get_float(g, "phi3.rope.freq_base", &f));
    CHECK(f == 10000.0);
    CHECK_STR(gb_gguf_key(g, 25), "general.quantization_version");
    gb_gguf_close(g);
}

/* reader → writer on a real file gives back the same bytes (no tensors, so no padding). */
TEST(formats_gguf_vocab_rewrite_identical) {
    const char *names[3] = {"ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf"};
    for (int f = 0; f < 3; f++) {
        const char *path;
        if (!have_vocab(names[f], &path)) return;
        gb_gguf *g;
        CHECK_OK(gb_gguf_open(&g, path));
        REQUIRE(g);
        gb_gguf_writer *w;
        CHECK_OK(gb_gguf_writer_new(&w));
        for (int64_t i = 0; i < gb_gguf_n_kv(g); i++) CHECK_OK(gb_gguf_add_kv_from(w, g, i));
        const char *out = gb_test_path("%s/rewrite%d.gguf", gb_test_tmpdir(), f);
        CHECK_OK(gb_gguf_write(w, out));
        CHECK_EQ_INT(gb_gguf_writer_size(w), gb_gguf_file_size(g));
        char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK_OK(gb_read_file(path, 0, &a, &na));
        CHECK_OK(gb_read_file(out, 0, &b, &nb));
        CHECK(a && b && na == nb && memcmp(a, b, na) == 0);
        free(a);
        free(b);
        /* and the copy reads back with the same metadata */
        gb_gguf *h;
        CHECK_OK(gb_gguf_open(&h, out));
        if (h) {
            CHECK_EQ_INT(gb_gguf_n_kv(h), gb_gguf_n_kv(g));
            gb_gguf_arr ta, tb;
            CHECK_OK(gb_gguf_get_arr(g, "tokenizer.ggml.tokens", GB_GGUF_STRING, &ta));
            CHECK_OK(gb_gguf_get_arr(h, "tokenizer.ggml.tokens", GB_GGUF_STRING, &tb));
            int same = ta.n == tb.n;
            for (uint64_t i = 0; same && i < ta.n; i++) {
                gb_gguf_str x = gb_gguf_arr_str(&ta, i), y = gb_gguf_arr_str(&tb, i);
                same = x.len == y.len && memcmp(x.ptr, y.ptr, x.len) == 0;
            }
            CHECK(same);
            gb_gguf_close(h);
        }
        gb_gguf_writer_free(w);
        gb_gguf_close(g);
    }
}

/* ---------------------------------------------------------------- round trip */

static uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}

TEST(formats_gguf_round_trip_every_type) {
    gb_gguf_writer *w;
    CHECK_OK(gb_gguf_writer_new(&w));
    REQUIRE(w);
    CHECK_OK(gb_gguf_add_str(w, "general.architecture", "llama"));
    CHECK_OK(gb_gguf_add_u32(w, "general.alignment", 64));
    CHECK_OK(gb_gguf_add_u8(w, "t.u8", 200));
    CHECK_OK(gb_gguf_add_i8(w, "t.i8", -100));
    CHECK_OK(gb_gguf_add_u16(w, "t.u16", 60000));
    CHECK_OK(gb_gguf_add_i16(w, "t.i16", -30000));
    CHECK_OK(gb_gguf_add_u32(w, "t.u32", 4000000000u));
    CHECK_OK(gb_gguf_add_i32(w, "t.i32", -2000000000));
    CHECK_OK(gb_gguf_add_u64(w, "t.u64", UINT64_MAX - 1));
    CHECK_OK(gb_gguf_add_i64(w, "t.i64", INT64_MIN + 1));
    CHECK_OK(gb_gguf_add_f32(w, "t.f32", 3.25f));
    CHECK_OK(gb_gguf_add_f64(w, "t.f64", -1e300));
    CHECK_OK(gb_gguf_add_bool(w, "t.bool", true));
    CHECK_OK(gb_gguf_add_str(w, "t.empty", ""));
    CHECK_OK(gb_gguf_add_strn(w, "t.nul", "a\0b", 3));
    const uint8_t au8[3] = {1, 2, 255};
    const int8_t ai8[2] = {-1, 127};
    const uint16_t au16[2] = {1, 65535};
    const int16_t ai16[2] = {-32768, 7};
    const uint32_t au32[2] = {0, 0xdeadbeef};
    const int32_t ai32[3] = {-5, 0, 5};
    const uint64_t au64[1] = {1ull << 63};
    const int64_t ai64[2] = {INT64_MIN, INT64_MAX};
    const float af32[3] = {0.5f, -0.0f, 1e-30f};
    const double af64[2] = {1.0 / 3, -2.5};
    const bool abool[3] = {true, false, true};
    CHECK_OK(gb_gguf_add_arr(w, "a.u8", GB_GGUF_UINT8, au8, 3));
    CHECK_OK(gb_gguf_add_arr(w, "a.i8", GB_GGUF_INT8, ai8, 2));
    CHECK_OK(gb_gguf_add_arr(w, "a.u16", GB_GGUF_UINT16, au16, 2));
    CHECK_OK(gb_gguf_add_arr(w, "a.i16", GB_GGUF_INT16, ai16, 2));
    CHECK_OK(gb_gguf_add_arr(w, "a.u32", GB_GGUF_UINT32, au32, 2));
    CHECK_OK(gb_gguf_add_arr(w, "a.i32", GB_GGUF_INT32, ai32, 3));
    CHECK_OK(gb_gguf_add_arr(w, "a.u64", GB_GGUF_UINT64, au64, 1));
    CHECK_OK(gb_gguf_add_arr(w, "a.i64", GB_GGUF_INT64, ai64, 2));
    CHECK_OK(gb_gguf_add_arr(w, "a.f32", GB_GGUF_FLOAT32, af32, 3));
    CHECK_OK(gb_gguf_add_arr(w, "a.f64", GB_GGUF_FLOAT64, af64, 2));
    CHECK_OK(gb_gguf_add_arr(w, "a.bool", GB_GGUF_BOOL, abool, 3));
    CHECK_OK(gb_gguf_add_arr(w, "a.none", GB_GGUF_INT32, NULL, 0));
    const char *strs[4] = {"hello", "", "w\xc3\xb6rld", "x\0y"};
    const uint64_t lens[4] = {5, 0, 6, 3};
    CHECK_OK(gb_gguf_add_arr_str(w, "a.str", strs, NULL, 3));
    CHECK_OK(gb_gguf_add_arr_str(w, "a.strn", strs, lens, 4));
    /* a nested array: [[1, 2], ["x"], []] given in encoded form */
    bb nest = {0};
    bb_u32(&nest, GB_GGUF_ARRAY);
    bb_u64(&nest, 3);
    bb_u32(&nest, GB_GGUF_UINT16), bb_u64(&nest, 2), bb_bytes(&nest, "\x01\x00\x02\x00", 4);
    bb_u32(&nest, GB_GGUF_STRING), bb_u64(&nest, 1), bb_str(&nest, "x");
    bb_u32(&nest, GB_GGUF_ARRAY), bb_u64(&nest, 0);
    CHECK_OK(gb_gguf_add_raw(w, "a.nested", GB_GGUF_ARRAY, nest.p, nest.n));
    free(nest.p);

    /* tensors: F32 (3x2), F16 (5), BF16 (2x1x3), Q8_0 (64x2, raw blocks), I32 (1x1x1x2) */
    float f32[6] = {1, 2, 3, 4, 5, 6};
    uint16_t f16[5] = {0x3c00, 0x4000, 0x4200, 0x4400, 0xbc00};
    uint16_t bf16[6];
    for (int i = 0; i < 6; i++) bf16[i] = f32_to_bf16((float)i - 2.5f);
    uint8_t q8[4 * 34];
    for (int i = 0; i < (int)sizeof q8; i++) q8[i] = (uint8_t)(i * 7);
    int32_t i32[2] = {-7, 7};
    const int64_t s_f32[2] = {3, 2}, s_f16[1] = {5}, s_bf16[3] = {2, 1, 3}, s_q8[2] = {64, 2}, s_i32[4] = {1, 1, 1, 2};
    CHECK_OK(gb_gguf_add_tensor(w, "token_embd.weight", GB_GGML_F32, 2, s_f32, f32, sizeof f32));
    CHECK_OK(gb_gguf_add_tensor(w, "f16", GB_GGML_F16, 1, s_f16, f16, sizeof f16));
    CHECK_OK(gb_gguf_add_tensor(w, "blk.0.attn_q.weight", GB_GGML_BF16, 3, s_bf16, bf16, sizeof bf16));
    CHECK_OK(gb_gguf_add_tensor(w, "q8", GB_GGML_Q8_0, 2, s_q8, q8, sizeof q8));
    CHECK_OK(gb_gguf_add_tensor(w, "i32", GB_GGML_I32, 4, s_i32, i32, sizeof i32));
    const char *path = gb_test_path("%s/every.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    uint64_t want_size = gb_gguf_writer_size(w);
    gb_gguf_writer_free(w);

    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, path));
    REQUIRE(g);
    CHECK_EQ_INT(gb_gguf_file_size(g), want_size);
    CHECK_EQ_INT(gb_gguf_alignment(g), 64);
    CHECK_EQ_INT(gb_gguf_n_kv(g), 30);
    CHECK_STR(gb_gguf_key(g, 0), "general.architecture");
    CHECK_STR(gb_gguf_key(g, 29), "a.nested");
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t vi32;
    uint64_t u64;
    int64_t i64;
    float f;
    double d;
    bool b;
    gb_gguf_str s;
    CHECK_OK(gb_gguf_get_u8(g, "t.u8", &u8)); CHECK_EQ_INT(u8, 200);
    CHECK_OK(gb_gguf_get_i8(g, "t.i8", &i8)); CHECK_EQ_INT(i8, -100);
    CHECK_OK(gb_gguf_get_u16(g, "t.u16", &u16)); CHECK_EQ_INT(u16, 60000);
    CHECK_OK(gb_gguf_get_i16(g, "t.i16", &i16)); CHECK_EQ_INT(i16, -30000);
    CHECK_OK(gb_gguf_get_u32(g, "t.u32", &u32)); CHECK(u32 == 4000000000u);
    CHECK_OK(gb_gguf_get_i32(g, "t.i32", &vi32)); CHECK_EQ_INT(vi32, -2000000000);
    CHECK_OK(gb_gguf_get_u64(g, "t.u64", &u64)); CHECK(u64 == UINT64_MAX - 1);
    CHECK_OK(gb_gguf_get_i64(g, "t.i64", &i64)); CHECK(i64 == INT64_MIN + 1);
    CHECK_OK(gb_gguf_get_f32(g, "t.f32", &f)); CHECK(f == 3.25f);
    CHECK_OK(gb_gguf_get_f64(g, "t.f64", &d)); CHECK(d == -1e300);
    CHECK_OK(gb_gguf_get_bool(g, "t.bool", &b)); CHECK(b);
    CHECK_OK(gb_gguf_get_str(g, "t.empty", &s)); CHECK_EQ_INT(s.len, 0);
    CHECK_OK(gb_gguf_get_str(g, "t.nul", &s)); CHECK(s.len == 3 && memcmp(s.ptr, "a\0b", 3) == 0);
    CHECK_OK(gb_gguf_get_int(g, "t.i16", &i64)); CHECK_EQ_INT(i64, -30000);
    CHECK_OK(gb_gguf_get_int(g, "t.u32", &i64)); CHECK_EQ_INT(i64, 4000000000ll);
    CHECK_OK(gb_gguf_get_float(g, "t.f32", &d)); CHECK(d == 3.25);

    gb_gguf_arr a;
    CHECK_OK(gb_gguf_get_arr(g, "a.u8", GB_GGUF_UINT8, &a));
    CHECK(a.n == 3 && gb_gguf_arr_u8(&a, 2) == 255);
    CHECK_OK(gb_gguf_get_arr(g, "a.i8", GB_GGUF_INT8, &a));
    CHECK(a.n == 2 && gb_gguf_arr_i8(&a, 0) == -1 && gb_gguf_arr_i8(&a, 1) == 127);
    CHECK_OK(gb_gguf_get_arr(g, "a.u16", GB_GGUF_UINT16, &a));
    CHECK(gb_gguf_arr_u16(&a, 1) == 65535);
    CHECK_OK(gb_gguf_get_arr(g, "a.i16", GB_GGUF_INT16, &a));
    CHECK(gb_gguf_arr_i16(&a, 0) == -32768 && gb_gguf_arr_i16(&a, 1) == 7);
    CHECK_OK(gb_gguf_get_arr(g, "a.u32", GB_GGUF_UINT32, &a));
    CHECK(gb_gguf_arr_u32(&a, 1) == 0xdeadbeef);
    CHECK_OK(gb_gguf_get_arr(g, "a.i32", GB_GGUF_INT32, &a));
    CHECK(a.n == 3 && gb_gguf_arr_i32(&a, 0) == -5 && gb_gguf_arr_i32(&a, 2) == 5);
    CHECK_OK(gb_gguf_get_arr(g, "a.u64", GB_GGUF_UINT64, &a));
    CHECK(gb_gguf_arr_u64(&a, 0) == 1ull << 63);
    CHECK_OK(gb_gguf_get_arr(g, "a.i64", GB_GGUF_INT64, &a));
    CHECK(gb_gguf_arr_i64(&a, 0) == INT64_MIN && gb_gguf_arr_i64(&a, 1) == INT64_MAX);
    CHECK_OK(gb_gguf_get_arr(g, "a.f32", GB_GGUF_FLOAT32, &a));
    CHECK(gb_gguf_arr_f32(&a, 0) == 0.5f && signbit(gb_gguf_arr_f32(&a, 1)) && gb_gguf_arr_f32(&a, 2) == 1e-30f);
    CHECK_OK(gb_gguf_get_arr(g, "a.f64", GB_GGUF_FLOAT64, &a));
    CHECK(gb_gguf_arr_f64(&a, 0) == 1.0 / 3 && gb_gguf_arr_f64(&a, 1) == -2.5);
    CHECK_OK(gb_gguf_get_arr(g, "a.bool", GB_GGUF_BOOL, &a));
    CHECK(gb_gguf_arr_bool(&a, 0) && !gb_gguf_arr_bool(&a, 1) && gb_gguf_arr_bool(&a, 2));
    CHECK_OK(gb_gguf_get_arr(g, "a.none", GB_GGUF_INT32, &a));
    CHECK_EQ_INT(a.n, 0);
    CHECK_OK(gb_gguf_get_arr(g, "a.str", GB_GGUF_STRING, &a));
    CHECK(a.n == 3 && str_is(gb_gguf_arr_str(&a, 0), "hello") && gb_gguf_arr_str(&a, 1).len == 0 &&
          str_is(gb_gguf_arr_str(&a, 2), "w\xc3\xb6rld"));
    CHECK_OK(gb_gguf_get_arr(g, "a.strn", GB_GGUF_STRING, &a));
    CHECK(a.n == 4 && gb_gguf_arr_str(&a, 3).len == 3 && memcmp(gb_gguf_arr_str(&a, 3).ptr, "x\0y", 3) == 0);
    CHECK_OK(gb_gguf_get_arr(g, "a.nested", GB_GGUF_ARRAY, &a));
    REQUIRE(a.n == 3);
    gb_gguf_arr in0 = gb_gguf_arr_arr(&a, 0), in1 = gb_gguf_arr_arr(&a, 1), in2 = gb_gguf_arr_arr(&a, 2);
    CHECK(in0.type == GB_GGUF_UINT16 && in0.n == 2 && gb_gguf_arr_u16(&in0, 1) == 2);
    CHECK(in1.type == GB_GGUF_STRING && in1.n == 1 && str_is(gb_gguf_arr_str(&in1, 0), "x"));
    CHECK(in2.type == GB_GGUF_ARRAY && in2.n == 0);

    CHECK_EQ_INT(gb_gguf_n_tensors(g), 5);
    const gb_gguf_tensor *t = gb_gguf_find_tensor(g, "token_embd.weight");
    REQUIRE(t);
    CHECK(t->type == GB_GGML_F32 && t->n_dims == 2 && t->ne[0] == 3 && t->ne[1] == 2 && t->ne[2] == 1);
    CHECK_EQ_INT(t->n_elements, 6);
    CHECK_EQ_INT(t->nbytes, 24);
    CHECK(memcmp(t->data, f32, sizeof f32) == 0);
    t = gb_gguf_find_tensor(g, "f16");
    REQUIRE(t);
    CHECK(t->type == GB_GGML_F16 && t->nbytes == 10 && memcmp(t->data, f16, 10) == 0);
    t = gb_gguf_find_tensor(g, "blk.0.attn_q.weight");
    REQUIRE(t);
    CHECK(t->type == GB_GGML_BF16 && t->n_dims == 3 && t->ne[2] == 3 && memcmp(t->data, bf16, sizeof bf16) == 0);
    t = gb_gguf_find_tensor(g, "q8");
    REQUIRE(t);
    CHECK(t->type == GB_GGML_Q8_0 && t->n_elements == 128 && t->nbytes == 136 && memcmp(t->data, q8, 136) == 0);
    t = gb_gguf_find_tensor(g, "i32");
    REQUIRE(t);
    CHECK(t->n_dims == 4 && t->ne[3] == 2 && memcmp(t->data, i32, 8) == 0);
    CHECK(gb_gguf_find_tensor(g, "nope") == NULL);
    /* every tensor's data is aligned in memory and in the file */
    for (int64_t i = 0; i < gb_gguf_n_tensors(g); i++) {
        t = gb_gguf_tensor_at(g, i);
        CHECK((uintptr_t)t->data % 64 == 0);
        CHECK(t->offset % 64 == 0);
    }
    CHECK(gb_gguf_data_offset(g) % 64 == 0);
    gb_gguf_close(g);
}

/* The writer's bytes, checked one by one against the spec for a small file. */
TEST(formats_gguf_writer_bytes_match_spec) {
    gb_gguf_writer *w;
    CHECK_OK(gb_gguf_writer_new(&w));
    REQUIRE(w);
    CHECK_OK(gb_gguf_add_str(w, "general.architecture", "gpt2"));
    CHECK_OK(gb_gguf_add_u32(w, "gpt2.block_count", 2));
    const float x[3] = {1.0f, -2.0f, 0.5f}, y[2] = {7.0f, 8.0f};
    const int64_t sx[1] = {3}, sy[2] = {1, 2};
    CHECK_OK(gb_gguf_add_tensor(w, "x", GB_GGML_F32, 1, sx, x, sizeof x));
    CHECK_OK(gb_gguf_add_tensor(w, "y", GB_GGML_F32, 2, sy, y, sizeof y));
    const char *path = gb_test_path("%s/spec.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf_writer_free(w);

    bb want = {0};
    bb_header(&want, 3, 2, 2);
    bb_kv_str(&want, "general.architecture", "gpt2");
    bb_kv_u32(&want, "gpt2.block_count", 2);
    bb_tensor(&want, "x", 1, (const uint64_t[]){3}, GB_GGML_F32, 0);
    bb_tensor(&want, "y", 2, (const uint64_t[]){1, 2}, GB_GGML_F32, 32); /* 12 bytes padded to 32 */
    bb_pad(&want, 32);
    size_t data_start = want.n;
    bb_bytes(&want, x, sizeof x);
    bb_pad(&want, 32);
    bb_bytes(&want, y, sizeof y);
    bb_pad(&want, 32); /* the last tensor is padded too, as llama.cpp writes it */
    char *got = NULL;
    size_t n = 0;
    CHECK_OK(gb_read_file(path, 0, &got, &n));
    CHECK_EQ_INT(n, want.n);
    CHECK(got && n == want.n && memcmp(got, want.p, n) == 0);
    CHECK_EQ_INT(data_start % 32, 0);
    CHECK_EQ_INT(data_start, 192); /* 24 + 44 + 32 + 33 + 41 = 174, padded to 32 */
    free(got);
    free(want.p);
}

TEST(formats_gguf_empty_and_version2) {
    bb b = {0};
    bb_header(&b, 3, 0, 0);
    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, bb_save(&b, "empty")));
    if (g) {
        CHECK_EQ_INT(gb_gguf_n_kv(g) + gb_gguf_n_tensors(g), 0);
        CHECK_EQ_INT(gb_gguf_data_offset(g), 24);
    }
    gb_gguf_close(g);
    free(b.p);
    /* version 2 has the same layout as 3 (3 only added big-endian files): accepted */
    b = (bb){0};
    good_file(&b, 0, NULL, 4);
    memcpy(b.p + 4, "\x02\0\0\0", 4);
    CHECK_OK(gb_gguf_open(&g, bb_save(&b, "v2")));
    if (g) {
        CHECK_EQ_INT(gb_gguf_version(g), 2);
        CHECK(gb_gguf_find_tensor(g, "t") != NULL);
    }
    gb_gguf_close(g);
    free(b.p);
    /* the writer's empty file */
    gb_gguf_writer *w;
    CHECK_OK(gb_gguf_writer_new(&w));
    const char *path = gb_test_path("%s/empty-w.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    CHECK_EQ_INT(gb_gguf_writer_size(w), 24);
    gb_gguf_writer_free(w);
    CHECK_OK(gb_gguf_open(&g, path));
    gb_gguf_close(g);
    gb_gguf_close(NULL);
    gb_gguf_writer_free(NULL);
}

TEST(formats_gguf_getters_fail_cleanly) {
    gb_gguf_writer *w;
    CHECK_OK(gb_gguf_writer_new(&w));
    REQUIRE(w);
    CHECK_OK(gb_gguf_add_str(w, "name", "x"));
    CHECK_OK(gb_gguf_add_u64(w, "big", UINT64_MAX));
    CHECK_OK(gb_gguf_add_arr_str(w, "list", (const char *const[]){"a"}, NULL, 1));
    const char *path = gb_test_path("%s/getters.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf_writer_free(w);
    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, path));
    REQUIRE(g);
    uint32_t u = 12345;
    CHECK(gb_gguf_get_u32(g, "name", &u) == GB_ERR_FORMAT);
    CHECK(strstr(gb_last_error(), "'name' is string, not uint32") && strstr(gb_last_error(), path));
    CHECK_EQ_INT(u, 12345);
    CHECK(gb_gguf_get_u32(g, "absent", &u) == GB_ERR_FORMAT);
    CHECK(strstr(gb_last_error(), "missing key 'absent'") != NULL);
    int64_t i = 0;
    CHECK(gb_gguf_get_int(g, "big", &i) == GB_ERR_FORMAT);
    CHECK(strstr(gb_last_error(), "too large") != NULL);
    CHECK(gb_gguf_get_int(g, "name", &i) == GB_ERR_FORMAT);
    double d;
    CHECK(gb_gguf_get_float(g, "big", &d) == GB_ERR_FORMAT);
    gb_gguf_arr a;
    CHECK(gb_gguf_get_arr(g, "list", GB_GGUF_INT32, &a) == GB_ERR_FORMAT);
    CHECK(strstr(gb_last_error(), "array of string, not of int32") != NULL);
    CHECK_OK(gb_gguf_get_arr(g, "list", GB_GGUF_TYPE_COUNT, &a));
    CHECK(gb_gguf_get_arr(g, "name", GB_GGUF_STRING, &a) == GB_ERR_FORMAT);
    CHECK_EQ_INT(gb_gguf_find_key(g, "list"), 2);
    CHECK_EQ_INT(gb_gguf_find_key(g, "lis"), -1);
    CHECK_EQ_INT(gb_gguf_kv_type(g, 1), GB_GGUF_UINT64);
    gb_gguf_close(g);
    /* missing, unreadable and non-regular files */
    CHECK(gb_gguf_open(&g, gb_test_path("%s/nope.gguf", gb_test_tmpdir())) == GB_ERR_IO);
    CHECK(g == NULL);
    CHECK(gb_gguf_open(&g, gb_test_tmpdir()) == GB_ERR_FORMAT);
}

TEST(formats_gguf_writer_rejects_bad_input) {
    gb_gguf_writer *w;
    CHECK_OK(gb_gguf_writer_new(&w));
    REQUIRE(w);
    CHECK_OK(gb_gguf_add_u32(w, "k", 1));
    CHECK(gb_gguf_add_u32(w, "k", 2) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "duplicate key 'k'") != NULL);
    CHECK(gb_gguf_add_str(w, "", "x") == GB_ERR_ARG);
    CHECK(gb_gguf_add_u32(w, "general.alignment", 48) == GB_ERR_ARG);
    CHECK(gb_gguf_add_u64(w, "general.alignment", 64) == GB_ERR_ARG);
    CHECK(gb_gguf_add_arr(w, "s", GB_GGUF_STRING, NULL, 0) == GB_ERR_ARG);
    const uint8_t notbool[2] = {1, 2};
    CHECK(gb_gguf_add_arr(w, "b", GB_GGUF_BOOL, notbool, 2) == GB_ERR_ARG);
    const uint8_t badraw[9] = {5, 0, 0, 0, 0, 0, 0, 0, 'x'}; /* a string of 5 bytes, 1 given */
    CHECK(gb_gguf_add_raw(w, "r", GB_GGUF_STRING, badraw, sizeof badraw) == GB_ERR_ARG);
    CHECK(gb_gguf_add_raw(w, "r", GB_GGUF_BOOL, "\x02", 1) == GB_ERR_ARG);
    CHECK(gb_gguf_add_raw(w, "r", GB_GGUF_UINT32, "\x01\0\0\0\0", 5) == GB_ERR_ARG); /* trailing byte */
    float data[64] = {0};
    const int64_t s2[2] = {4, 2}, s0[1] = {0}, s33[1] = {33};
    CHECK_OK(gb_gguf_add_tensor(w, "t", GB_GGML_F32, 2, s2, data, 32));
    CHECK(gb_gguf_add_tensor(w, "t", GB_GGML_F32, 2, s2, data, 32) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "duplicate tensor name 't'") != NULL);
    CHECK(gb_gguf_add_tensor(w, "u", GB_GGML_F32, 2, s2, data, 31) == GB_ERR_ARG);
    CHECK(gb_gguf_add_tensor(w, "u", GB_GGML_F32, 1, s0, data, 0) == GB_ERR_ARG);
    CHECK(gb_gguf_add_tensor(w, "u", GB_GGML_F32, 5, s2, data, 32) == GB_ERR_ARG);
    CHECK(gb_gguf_add_tensor(w, "u", GB_GGML_Q8_0, 1, s33, data, 36) == GB_ERR_ARG);
    CHECK(strstr(gb_last_error(), "not a multiple of the Q8_0 block size 32") != NULL);
    CHECK(gb_gguf_add_tensor(w, "u", (gb_ggml_type)4, 2, s2, data, 32) == GB_ERR_ARG);
    CHECK(gb_gguf_add_tensor(w, "u", GB_GGML_F32, 2, s2, NULL, 32) == GB_ERR_ARG);
    char longname[65];
    memset(longname, 'n', 64), longname[64] = 0;
    CHECK(gb_gguf_add_tensor(w, longname, GB_GGML_F32, 2, s2, data, 32) == GB_ERR_ARG);
    longname[63] = 0; /* 63 bytes: the longest llama.cpp accepts */
    CHECK_OK(gb_gguf_add_tensor(w, longname, GB_GGML_F32, 2, s2, data, 32));
    /* after all the refusals the file is still exactly what was accepted */
    const char *path = gb_test_path("%s/after-refusals.gguf", gb_test_tmpdir());
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf *g;
    CHECK_OK(gb_gguf_open(&g, path));
    if (g) {
        CHECK_EQ_INT(gb_gguf_n_kv(g), 1);
        CHECK_EQ_INT(gb_gguf_n_tensors(g), 2);
    }
    gb_gguf_close(g);
    /* a write into a missing directory fails without leaving anything */
    CHECK(gb_gguf_write(w, gb_test_path("%s/no/such/dir.gguf", gb_test_tmpdir())) == GB_ERR_IO);
    gb_gguf_writer_free(w);
}

TEST(formats_gguf_type_table) {
    CHECK_STR(gb_ggml_type_name(GB_GGML_Q4_K), "Q4_K");
    CHECK(gb_ggml_type_name(4) == NULL && gb_ggml_type_name(31) == NULL && gb_ggml_type_name(40) == NULL);
    const struct { uint32_t t; int64_t blck; size_t size; } want[] = {
        {0, 1, 4},     {1, 1, 2},     {2, 32, 18},   {3, 32, 20},   {6, 32, 22},  {7, 32, 24},
        {8, 32, 34},   {9, 32, 36},   {10, 256, 84}, {11, 256, 110}, {12, 256, 144}, {13, 256, 176},
        {14, 256, 210}, {15, 256, 292}, {24, 1, 1},  {25, 1, 2},    {26, 1, 4},   {27, 1, 8},
        {28, 1, 8},    {30, 1, 2},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        CHECK_EQ_INT(gb_ggml_blck_size(want[i].t), want[i].blck);
        CHECK_EQ_INT(gb_ggml_type_size(want[i].t), want[i].size);
    }
    size_t n = 0;
    CHECK_OK(gb_ggml_nbytes(GB_GGML_Q4_K, 2, (const int64_t[]){4096, 11008}, &n));
    CHECK_EQ_INT(n, 4096 / 256 * 144 * 11008);
    CHECK(gb_ggml_nbytes(GB_GGML_Q6_K, 1, (const int64_t[]){100}, &n) == GB_ERR_ARG);
    CHECK_STR(gb_gguf_type_name(GB_GGUF_FLOAT64), "float64");
    CHECK_STR(gb_gguf_type_name(99), "?");
}

/* ---------------------------------------------------------------- malformed files */

TEST(formats_gguf_bad_magic) {
    bb b = {0};
    good_file(&b, 0, NULL, 1);
    memcpy(b.p, "GGML", 4);
    expect_bad("magic", &b, "not a GGUF file (magic 'GGML'");
}

TEST(formats_gguf_bad_too_short) {
    bb b = {0};
    bb_bytes(&b, "GGUF\3\0\0\0", 8);
    expect_bad("short", &b, "too short for a GGUF header");
}

TEST(formats_gguf_bad_version) {
    const uint32_t bad[4] = {0, 1, 4, 0xffff};
    for (int i = 0; i < 4; i++) {
        bb b = {0};
        good_file(&b, 0, NULL, 1);
        memcpy(b.p + 4, &bad[i], 4);
        char needle[64];
        snprintf(needle, sizeof needle, "unsupported GGUF version %u", bad[i]);
        expect_bad("version", &b, needle);
    }
    bb b = {0};
    good_file(&b, 0, NULL, 1);
    memcpy(b.p + 4, "\0\0\0\3", 4); /* version 3 written big-endian */
    expect_bad("big-endian", &b, "big-endian");
}

/* CVE pattern: a key/value count so large that count × entry size wraps. */
TEST(formats_gguf_bad_kv_count_overflow) {
    const uint64_t counts[3] = {UINT64_MAX, (UINT64_MAX / 48) + 1, 1000000000};
    for (int i = 0; i < 3; i++) {
        bb b = {0};
        bb_header(&b, 3, 0, counts[i]);
        bb_kv_u32(&b, "a", 1);
        expect_bad("kv-count", &b, "key/value count");
    }
}

/* CVE pattern: a tensor count so large that count × info size wraps. */
TEST(formats_gguf_bad_tensor_count_overflow) {
    const uint64_t counts[3] = {UINT64_MAX, (UINT64_MAX / 200) + 1, 1000000};
    for (int i = 0; i < 3; i++) {
        bb b = {0};
        good_file(&b, 0, NULL, 8);
        memcpy(b.p + 8, &counts[i], 8);
        expect_bad("tensor-count", &b, "tensor count");
    }
}

/* CVE pattern: a string length near 2^64 that wraps when 1 is added for a NUL. */
TEST(formats_gguf_bad_string_length_wrap) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_u64(&b, UINT64_MAX);
    bb_bytes(&b, "key and some bytes", 18);
    expect_bad("string-wrap", &b, "string of 18446744073709551615 bytes exceeds the cap");
    b = (bb){0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_STRING);
    bb_u64(&b, UINT64_MAX - 7);
    expect_bad("string-wrap-value", &b, "exceeds the cap");
}

TEST(formats_gguf_bad_string_past_end) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_STRING);
    bb_u64(&b, 100);
    bb_bytes(&b, "only a few bytes", 16);
    expect_bad("string-past-end", &b, "truncated: key 'k': string of 100 bytes");
}

TEST(formats_gguf_bad_string_cap) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_STRING);
    bb_u64(&b, (uint64_t)GB_GGUF_MAX_STRING + 1);
    expect_bad("string-cap", &b, "exceeds the cap of 268435456");
    /* keys are capped at 65535 bytes by the spec */
    b = (bb){0};
    bb_header(&b, 3, 0, 1);
    bb_u64(&b, 65536);
    bb_zeros(&b, 65536 + 8);
    expect_bad("key-cap", &b, "key #0: string of 65536 bytes exceeds the cap of 65535");
}

TEST(formats_gguf_bad_array_length) {
    /* more elements than bytes left: rejected before anything is allocated */
    const uint64_t lens[2] = {1ull << 27, 1000};
    for (int i = 0; i < 2; i++) {
        bb b = {0};
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "k");
        bb_u32(&b, GB_GGUF_ARRAY);
        bb_u32(&b, GB_GGUF_STRING);
        bb_u64(&b, lens[i]);
        bb_str(&b, "one");
        expect_bad("array-past-end", &b, "truncated: key 'k': array of");
    }
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_ARRAY);
    bb_u32(&b, GB_GGUF_UINT8);
    bb_u64(&b, UINT64_MAX / 2);
    expect_bad("array-cap", &b, "exceeds the cap of 268435456");
}

TEST(formats_gguf_bad_array_nesting) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_ARRAY);
    for (int d = 0; d < 20; d++) bb_u32(&b, GB_GGUF_ARRAY), bb_u64(&b, 1);
    bb_u32(&b, GB_GGUF_UINT8), bb_u64(&b, 0);
    expect_bad("nesting", &b, "nested more than 8 deep");
}

TEST(formats_gguf_bad_empty_key) {
    bb b = {0};
    bb kvs = {0};
    bb_kv_u32(&kvs, "", 1);
    good_file(&b, 1, &kvs, 1);
    free(kvs.p);
    expect_bad("empty-key", &b, "key #0 is empty");
}

TEST(formats_gguf_bad_duplicate_key) {
    bb b = {0};
    bb kvs = {0};
    bb_kv_u32(&kvs, "general.x", 1);
    bb_kv_str(&kvs, "general.y", "v");
    bb_kv_str(&kvs, "general.x", "again");
    good_file(&b, 3, &kvs, 1);
    free(kvs.p);
    expect_bad("duplicate-key", &b, "duplicate key 'general.x' (#0 and #2)");
}

TEST(formats_gguf_bad_key_with_nul) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_u64(&b, 3);
    bb_bytes(&b, "a\0b", 3);
    bb_u32(&b, GB_GGUF_UINT8);
    bb_u8(&b, 1);
    expect_bad("key-nul", &b, "contains a NUL byte");
}

TEST(formats_gguf_bad_value_type) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, 13);
    bb_u32(&b, 0);
    expect_bad("value-type", &b, "key 'k' has unknown value type 13");
    b = (bb){0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_ARRAY);
    bb_u32(&b, 0xffffffff);
    bb_u64(&b, 0);
    expect_bad("array-type", &b, "array of unknown value type 4294967295");
}

TEST(formats_gguf_bad_bool) {
    bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_BOOL);
    bb_u8(&b, 2);
    expect_bad("bool", &b, "bool value 2 (must be 0 or 1)");
    b = (bb){0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GB_GGUF_ARRAY);
    bb_u32(&b, GB_GGUF_BOOL);
    bb_u64(&b, 3);
    bb_bytes(&b, "\1\0\xff", 3);
    expect_bad("bool-array", &b, "element 2 is bool value 255");
}

TEST(formats_gguf_bad_alignment) {
    const uint32_t bad[3] = {0, 48, 0x80000001u};
    for (int i = 0; i < 3; i++) {
        bb b = {0}, kvs = {0};
        bb_kv_u32(&kvs, "general.alignment", bad[i]);
        good_file(&b, 1, &kvs, 1);
        free(kvs.p);
        expect_bad("alignment", &b, "(must be a power of two)");
    }
    bb b = {0}, kvs = {0};
    bb_str(&kvs, "general.alignment");
    bb_u32(&kvs, GB_GGUF_UINT64);
    bb_u64(&kvs, 32);
    good_file(&b, 1, &kvs, 1);
    free(kvs.p);
    expect_bad("alignment-type", &b, "'general.alignment' is uint64 (must be uint32)");
}

/* CVE pattern: n_dims > 4 used to index a 4-entry array. */
TEST(formats_gguf_bad_n_dims) {
    const uint32_t bad[3] = {0, 5, 0xffffffff};
    for (int i = 0; i < 3; i++) {
        bb b = {0};
        bb_header(&b, 3, 1, 0);
        bb_str(&b, "t");
        bb_u32(&b, bad[i]);
        bb_zeros(&b, 64);
        char needle[64];
        snprintf(needle, sizeof needle, "tensor 't' has %u dimensions (must be 1 to 4)", bad[i]);
        expect_bad("n-dims", &b, needle);
    }
}

TEST(formats_gguf_bad_zero_dim) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 2, (const uint64_t[]){4, 0}, GB_GGML_F32, 0);
    bb_pad(&b, 32);
    expect_bad("zero-dim", &b, "tensor 't' has dimension 1 of size 0");
}

TEST(formats_gguf_bad_dims_overflow) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 3, (const uint64_t[]){1ull << 32, 1ull << 31, 2}, GB_GGML_F32, 0);
    expect_bad("dims-overflow", &b, "element count overflows");
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){UINT64_MAX}, GB_GGML_I8, 0);
    expect_bad("dim-too-big", &b, "element count overflows");
}

/* CVE pattern: element count fits but its size in bytes does not. */
TEST(formats_gguf_bad_byte_size_overflow) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 2, (const uint64_t[]){1ull << 31, 1ull << 31}, GB_GGML_F32, 0); /* 2^62 × 4 */
    expect_bad("nbytes-overflow", &b, "byte size overflows");
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){1ull << 62}, GB_GGML_F64, 0);
    expect_bad("nbytes-overflow-f64", &b, "byte size overflows");
}

TEST(formats_gguf_bad_block_multiple) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "q", 2, (const uint64_t[]){33, 2}, GB_GGML_Q4_0, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_bad("block", &b, "tensor 'q' has rows of 33 elements, not a multiple of the Q4_0 block size 32");
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "k", 1, (const uint64_t[]){128}, GB_GGML_Q4_K, 0);
    expect_bad("block-k", &b, "not a multiple of the Q4_K block size 256");
}

TEST(formats_gguf_bad_type_id) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){32}, 99, 0);
    expect_bad("type-99", &b, "tensor 't' has unknown type id 99");
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){32}, 4, 0);
    expect_bad("type-4", &b, "type id 4, which ggml removed from GGUF");
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){32}, 0x80000000u, 0);
    expect_bad("type-huge", &b, "unknown type id 2147483648");
}

TEST(formats_gguf_bad_misaligned_offset) {
    bb b = {0};
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a", 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    bb_tensor(&b, "b", 1, (const uint64_t[]){1}, GB_GGML_F32, 4);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_bad("misaligned", &b, "tensor 'b' has data offset 4, not a multiple of the alignment 32");
}

TEST(formats_gguf_bad_overlap) {
    bb b = {0};
    bb_header(&b, 3, 3, 0);
    bb_tensor(&b, "a", 1, (const uint64_t[]){16}, GB_GGML_F32, 0);  /* bytes [0, 64) */
    bb_tensor(&b, "b", 1, (const uint64_t[]){4}, GB_GGML_F32, 96);  /* [96, 112) */
    bb_tensor(&b, "c", 1, (const uint64_t[]){4}, GB_GGML_F32, 32);  /* inside a */
    bb_pad(&b, 32);
    bb_zeros(&b, 128);
    expect_bad("overlap", &b, "tensors 'a' (data offset 0, 64 bytes) and 'c' (data offset 32) overlap");
    /* the same offset twice */
    b = (bb){0};
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a", 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    bb_tensor(&b, "b", 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 32);
    expect_bad("same-offset", &b, "overlap");
}

/* CVE pattern: offset + size wraps past 2^64 and lands inside the file. */
TEST(formats_gguf_bad_offset_out_of_range) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){16}, GB_GGML_F32, UINT64_MAX - 31);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_bad("offset-wrap", &b, "tensor 't' (64 bytes at data offset 18446744073709551584) runs past the end");
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "t", 1, (const uint64_t[]){1}, GB_GGML_F32, 1024);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_bad("offset-past-end", &b, "runs past the end of the 64-byte data section");
}

TEST(formats_gguf_bad_truncated_data) {
    bb b = {0};
    good_file(&b, 0, NULL, 8);
    b.n -= 1; /* the last byte of the only tensor */
    expect_bad("truncated-data", &b, "truncated: tensor 't' (32 bytes at data offset 0)");
    b = (bb){0};
    good_file(&b, 0, NULL, 8);
    b.n -= 32; /* the whole data section, and the padding before it, are missing */
    while (b.n % 32 == 0) b.n--;
    expect_bad("truncated-before-data", &b, "truncated: the data section should start at offset");
}

TEST(formats_gguf_bad_truncated_metadata) {
    /* cut a valid file at every length inside its header, key/values and tensor infos */
    bb full = {0};
    bb_header(&full, 3, 2, 2);
    bb_kv_str(&full, "general.architecture", "llama");
    bb_str(&full, "a");
    bb_u32(&full, GB_GGUF_ARRAY), bb_u32(&full, GB_GGUF_STRING), bb_u64(&full, 2);
    bb_str(&full, "xy"), bb_str(&full, "z");
    bb_tensor(&full, "t", 2, (const uint64_t[]){2, 2}, GB_GGML_F32, 0);
    bb_tensor(&full, "u", 1, (const uint64_t[]){8}, GB_GGML_F16, 32);
    size_t meta_end = full.n;
    bb_pad(&full, 32);
    bb_zeros(&full, 48);
    gb_gguf *g;
    CHECK_OK(gb_gguf_open_mem(&g, full.p, full.n, "full"));
    gb_gguf_close(g);
    for (size_t n = 0; n < meta_end; n++) {
        gb_status rc = gb_gguf_open_mem(&g, full.p, n, "cut");
        const char *e = gb_last_error();
        if (rc != GB_ERR_FORMAT || g || strchr(e, '\n') != NULL ||
            !(strstr(e, "truncated") || strstr(e, "cannot fit") || strstr(e, "too short"))) {
            gb_test_fail(__FILE__, __LINE__, "cut at %zu: status %d, message '%s'", n, rc, e);
            break;
        }
    }
    free(full.p);
}

TEST(formats_gguf_bad_duplicate_tensor) {
    bb b = {0};
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "w", 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    bb_tensor(&b, "w", 1, (const uint64_t[]){1}, GB_GGML_F32, 32);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_bad("duplicate-tensor", &b, "duplicate tensor name 'w' (#0 and #1)");
}

TEST(formats_gguf_bad_tensor_name) {
    bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "", 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 32);
    expect_bad("empty-name", &b, "tensor #0 has an empty name");
    char longname[66];
    memset(longname, 'x', 65), longname[65] = 0;
    b = (bb){0};
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, longname, 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    expect_bad("long-name", &b, "string of 65 bytes exceeds the cap of 64");
    /* control characters in a name are shown as '?', so the message stays one line */
    b = (bb){0};
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a\nb", 1, (const uint64_t[]){1}, GB_GGML_F32, 0);
    bb_tensor(&b, "a\nb", 1, (const uint64_t[]){1}, GB_GGML_F32, 32);
    expect_bad("newline-name", &b, "duplicate tensor name 'a?b'");
}

/* More than 1 GiB of metadata is refused (a sparse file: only the headers are written). */
TEST(formats_gguf_bad_metadata_cap) {
    const char *path = gb_test_path("%s/meta-cap.gguf", gb_test_tmpdir());
    FILE *fp = fopen(path, "wb");
    REQUIRE(fp);
    bb b = {0};
    bb_header(&b, 3, 0, 5);
    fwrite(b.p, 1, b.n, fp);
    uint64_t pos = b.n;
    for (int i = 0; i < 5; i++) {
        const char key[3] = {'k', (char)('0' + i), 0};
        b.n = 0;
        bb_str(&b, key);
        bb_u32(&b, GB_GGUF_STRING);
        bb_u64(&b, GB_GGUF_MAX_STRING);
        REQUIRE(fseek(fp, (long)pos, SEEK_SET) == 0);
        fwrite(b.p, 1, b.n, fp);
        pos += b.n + GB_GGUF_MAX_STRING;
    }
    REQUIRE(fseek(fp, (long)pos - 1, SEEK_SET) == 0);
    fputc(0, fp);
    CHECK(fclose(fp) == 0);
    free(b.p);
    gb_gguf *g;
    CHECK(gb_gguf_open(&g, path) == GB_ERR_FORMAT);
    CHECK(strstr(gb_last_error(), "key 'k3': string of 268435456 bytes at offset") != NULL);
    CHECK(strstr(gb_last_error(), "runs past the metadata cap of 1073741824 bytes") != NULL);
    remove(path);
}
