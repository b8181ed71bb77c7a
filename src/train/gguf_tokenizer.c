/* glassbox — a tokenizer as GGUF metadata (tokenizer.ggml.*), as llama.cpp's "gpt2" model
 * reads it, plus the glassbox JSON under glassbox.tokenizer.json.
 *
 * The public tokenizer API gives token bytes and specials but not the merge list, so the
 * merges are recovered from the vocabulary the way tiktoken → Hugging Face converters do:
 * for each token of two or more bytes, in id order, run BPE on its bytes allowing only tokens
 * of smaller id (priority = id, leftmost first) until two parts remain; those two are its
 * merge. On the vocabularies a BPE trainer writes (ids in merge order) this gives back the
 * merge list. Tokens longer than MAX_MERGE_BYTES are left without a merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/train.h"

#define MAX_MERGE_BYTES 4096

/* llama.cpp's token types */
enum { TT_NORMAL = 1, TT_CONTROL = 3, TT_UNUSED = 5 };

/* GPT-2's bytes_to_unicode(): the code point that stands for byte b in token strings. */
static uint32_t byte_cp(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    uint32_t k = 0; /* rank of b among the 68 unprintable bytes */
    for (uint32_t x = 0; x < b; x++)
        if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) k++;
    return 256 + k;
}

/* Appends the mapped form of bytes p[0..n) to *out (each byte becomes 1 or 2 UTF-8 bytes). */
static gb_status put_mapped(gb_bytes *out, const uint32_t cp[256], const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[p[i]];
        uint8_t u[2];
        size_t k;
        if (c < 0x80) u[0] = (uint8_t)c, k = 1;
        else u[0] = (uint8_t)(0xC0 | (c >> 6)), u[1] = (uint8_t)(0x80 | (c & 0x3F)), k = 2;
        gb_status rc = gb_bytes_append(out, u, k);
        if (rc) return rc;
    }
    return GB_OK;
}

/* bytes -> lowest id among byte-level tokens; open addressing */
typedef struct {
    const gb_tokenizer *tok;
    int64_t *slot; /* id or -1 */
    uint64_t mask;
} vocab_map;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int64_t map_find(const vocab_map *m, const uint8_t *p, size_t n) {
    for (uint64_t i = hash_bytes(p, n) & m->mask;; i = (i + 1) & m->mask) {
        int64_t id = m->slot[i];
        if (id < 0) return -1;
        size_t l;
        const uint8_t *b = gb_tokenizer_token(m->tok, (uint32_t)id, &l);
        if (l == n && memcmp(b, p, n) == 0) return id;
    }
}

static void map_put(vocab_map *m, int64_t id, const uint8_t *p, size_t n) {
    uint64_t i = hash_bytes(p, n) & m->mask;
    while (m->slot[i] >= 0) {
        size_t l;
        const uint8_t *b = gb_tokenizer_token(m->tok, (uint32_t)m->slot[i], &l);
        if (l == n && memcmp(b, p, n) == 0) return; /* keep the lower id */
        i = (i + 1) & m->mask;
    }
    m->slot[i] = id;
}

/* Is id a special token (its content matched as a special)? */
static int is_special(const gb_tokenizer *t, uint32_t id, const uint8_t *b, size_t n) {
    char buf[256];
    if (n >= sizeof buf || memchr(b, 0, n)) return 0;
    memcpy(buf, b, n);
    buf[n] = 0;
    return gb_tokenizer_special_id(t, buf) == (int64_t)id;
}

/* The merge that makes token `target` (bytes p[0..n)), or -1s. parts: scratch of n entries. */
static void find_merge(const vocab_map *m, int64_t target, const uint8_t *p, size_t n, size_t *start,
                       int64_t out[2]) {
    out[0] = out[1] = -1;
    size_t np = n;
    for (size_t i = 0; i < n; i++) start[i] = i;
    while (np > 2) {
        int64_t best = -1;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < np; i++) {
            size_t end = i + 2 < np ? start[i + 2] : n;
            int64_t id = map_find(m, p + start[i], end - start[i]);
            if (id >= 0 && id < target && (best < 0 || id < best)) best = id, bi = i;
        }
        if (best < 0) return;
        memmove(start + bi + 1, start + bi + 2, (np - bi - 2) * sizeof *start);
        np--;
    }
    if (np != 2) return;
    out[0] = map_find(m, p, start[1]);
    out[1] = map_find(m, p + start[1], n - start[1]);
}

/* The glassbox JSON of `tok`, through a file in a private temporary directory (the
 * tokenizer API saves to paths only). */
static gb_status tokenizer_json(const gb_tokenizer *tok, char **json, size_t *len) {
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/glassbox-tok-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return gb_errorf(GB_ERR_IO, "cannot make a temporary directory in %s", tmp && *tmp ? tmp : "/tmp");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    gb_status rc = gb_tokenizer_save(tok, path);
    if (!rc) rc = gb_read_file(path, 0, json, len);
    unlink(path);
    rmdir(dir);
    return rc;
}

gb_status gb_gguf_add_tokenizer(gb_gguf_writer *w, const gb_tokenizer *tok) {
    if (gb_tokenizer_algorithm(tok) != GB_TOKENIZER_BPE)
        return gb_errorf(GB_ERR_ARG, "only byte-level BPE tokenizers can be embedded in a checkpoint so far");
    gb_status rc = GB_OK;
    int64_t n = gb_tokenizer_vocab_size(tok);
    uint32_t cp[256];
    for (int b = 0; b < 256; b++) cp[b] = byte_cp((uint8_t)b);
    gb_bytes strs = {0}, merges = {0};
    uint64_t *offs = calloc((size_t)n + 1, sizeof *offs), *lens = calloc((size_t)n, sizeof *lens);
    const char **ptrs = calloc((size_t)n, sizeof *ptrs);
    int32_t *types = calloc((size_t)n, sizeof *types);
    uint64_t cap = 1;
    while (cap < 2 * (uint64_t)n) cap <<= 1;
    vocab_map map = {tok, malloc(cap * sizeof(int64_t)), cap - 1};
    size_t *scratch = malloc(MAX_MERGE_BYTES * sizeof *scratch);
    uint64_t *moffs = NULL, *mlens = NULL;
    const char **mptrs = NULL;
    int64_t n_merges = 0;
    char *json = NULL;
    size_t json_len = 0;
    if (!offs || !lens || !ptrs || !types || !map.slot || !scratch) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    memset(map.slot, 0xff, cap * sizeof(int64_t));
    for (int64_t id = 0; id < n; id++) {
        size_t l;
        const uint8_t *b = gb_tokenizer_token(tok, (uint32_t)id, &l);
        offs[id] = strs.len;
        if (!b) {
            char hole[40];
            int k = snprintf(hole, sizeof hole, "[UNUSED_%lld]", (long long)id);
            rc = gb_bytes_append(&strs, hole, (size_t)k);
            types[id] = TT_UNUSED;
        } else if (is_special(tok, (uint32_t)id, b, l)) {
            rc = gb_bytes_append(&strs, b, l);
            types[id] = TT_CONTROL;
        } else {
            rc = put_mapped(&strs, cp, b, l);
            types[id] = TT_NORMAL;
            map_put(&map, id, b, l);
        }
        if (rc) goto done;
        lens[id] = strs.len - offs[id];
    }
    for (int64_t id = 0; id < n; id++) ptrs[id] = (const char *)strs.data + offs[id];
    if ((rc = gb_gguf_add_str(w, "tokenizer.ggml.model", "gpt2")) ||
        (rc = gb_gguf_add_str(w, "tokenizer.ggml.pre",
                              gb_tokenizer_pattern(tok) == GB_PRETOK_GPT2 ? "gpt-2" : "llama-bpe")) ||
        (rc = gb_gguf_add_arr_str(w, "tokenizer.ggml.tokens", ptrs, lens, (uint64_t)n)) ||
        (rc = gb_gguf_add_arr(w, "tokenizer.ggml.token_type", GB_GGUF_INT32, types, (uint64_t)n)))
        goto done;

    /* merges, in the order of the tokens they make */
    if (!(moffs = calloc((size_t)n, sizeof *moffs)) || !(mlens = calloc((size_t)n, sizeof *mlens))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t id = 0; id < n; id++) {
        size_t l;
        const uint8_t *b = gb_tokenizer_token(tok, (uint32_t)id, &l);
        if (!b || types[id] != TT_NORMAL || l < 2 || l > MAX_MERGE_BYTES) continue;
        int64_t pair[2];
        find_merge(&map, id, b, l, scratch, pair);
        if (pair[0] < 0 || pair[1] < 0) continue;
        moffs[n_merges] = merges.len;
        size_t l0, l1;
        const uint8_t *b0 = gb_tokenizer_token(tok, (uint32_t)pair[0], &l0);
        const uint8_t *b1 = gb_tokenizer_token(tok, (uint32_t)pair[1], &l1);
        if ((rc = put_mapped(&merges, cp, b0, l0)) || (rc = gb_bytes_append(&merges, " ", 1)) ||
            (rc = put_mapped(&merges, cp, b1, l1)))
            goto done;
        mlens[n_merges] = merges.len - moffs[n_merges];
        n_merges++;
    }
    if (!(mptrs = calloc((size_t)(n_merges ? n_merges : 1), sizeof *mptrs))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n_merges; i++) mptrs[i] = (const char *)merges.data + moffs[i];
    if ((rc = gb_gguf_add_arr_str(w, "tokenizer.ggml.merges", mptrs, mlens, (uint64_t)n_merges))) goto done;

    int64_t eot = gb_tokenizer_special_id(tok, "<|endoftext|>");
    if (eot >= 0 && ((rc = gb_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)eot)) ||
                     (rc = gb_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eot))))
        goto done;
    if ((rc = tokenizer_json(tok, &json, &json_len))) goto done;
    rc = gb_gguf_add_strn(w, "glassbox.tokenizer.json", json, json_len);
done:
    gb_bytes_free(&strs);
    gb_bytes_free(&merges);
    free(offs), free(lens), free(ptrs), free(types), free(map.slot), free(scratch);
    free(moffs), free(mlens), free(mptrs);
    gb_free(json);
    return rc;
}
