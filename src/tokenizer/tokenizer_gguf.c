/* glassbox — tokenizers from GGUF metadata, the tokenizer.ggml.* keys that llama.cpp reads:
 *
 *   tokenizer.ggml.model        string   "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE)
 *   tokenizer.ggml.tokens       [string] the vocabulary; id = index
 *   tokenizer.ggml.token_type   [int]    per id: 1 normal, 2 unknown, 3 control, 4 user-defined,
 *                                        5 unused, 6 byte (default: all normal)
 *   tokenizer.ggml.merges       [string] gpt2: "A B" per merge, rank = index (required)
 *   tokenizer.ggml.scores       [float]  llama: per id, higher merges first (default: all 0)
 *   tokenizer.ggml.pre          string   gpt2: the pre-tokenizer ("gpt-2", "llama-bpe", …)
 *   tokenizer.ggml.bos_token_id, eos_token_id, unknown_token_id          ids
 *   tokenizer.ggml.add_bos_token, add_eos_token, add_space_prefix        bools
 *
 * gpt2 token strings are GPT-2's byte<->unicode strings (normal tokens) or the text itself
 * (control, unknown, user-defined: the specials). Every value is checked against the
 * others before use (array lengths, types in range, merges naming tokens), and a bad one
 * is one line of GB_ERR_FORMAT naming the file and the key. */
#include <string.h>

#include "glassbox/gguf.h"
#include "glassbox/mem.h"
#include "tokenizer/spm.h"
#include "tokenizer/tokenizer_impl.h"

#define K_MODEL "tokenizer.ggml.model"
#define K_PRE "tokenizer.ggml.pre"
#define K_TOKENS "tokenizer.ggml.tokens"
#define K_TYPES "tokenizer.ggml.token_type"
#define K_MERGES "tokenizer.ggml.merges"
#define K_SCORES "tokenizer.ggml.scores"

/* A string from the file, made safe for a one-line message (at most 40 bytes shown). */
static const char *show(gb_gguf_str s, char buf[48]) {
    size_t n = s.len < 40 ? (size_t)s.len : 40, k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s.len > 40) buf[k - 1] = buf[k - 2] = buf[k - 3] = '.';
    buf[k] = 0;
    return buf;
}

static int is_int_type(gb_gguf_type t) {
    return t == GB_GGUF_UINT8 || t == GB_GGUF_INT8 || t == GB_GGUF_UINT16 || t == GB_GGUF_INT16 ||
           t == GB_GGUF_UINT32 || t == GB_GGUF_INT32 || t == GB_GGUF_UINT64 || t == GB_GGUF_INT64;
}

/* Element i of an integer array of any integer type (values above INT64_MAX saturate). */
static int64_t arr_int(const gb_gguf_arr *a, uint64_t i) {
    switch (a->type) {
    case GB_GGUF_UINT8: return gb_gguf_arr_u8(a, i);
    case GB_GGUF_INT8: return gb_gguf_arr_i8(a, i);
    case GB_GGUF_UINT16: return gb_gguf_arr_u16(a, i);
    case GB_GGUF_INT16: return gb_gguf_arr_i16(a, i);
    case GB_GGUF_UINT32: return gb_gguf_arr_u32(a, i);
    case GB_GGUF_INT32: return gb_gguf_arr_i32(a, i);
    case GB_GGUF_UINT64: return gb_gguf_arr_u64(a, i) > INT64_MAX ? INT64_MAX : (int64_t)gb_gguf_arr_u64(a, i);
    default: return gb_gguf_arr_i64(a, i);
    }
}

/* An optional integer key that must be an id below n: *id stays as it is if absent. */
static gb_status opt_id(const gb_gguf *g, const char *key, uint32_t n, int64_t *id) {
    if (gb_gguf_find_key(g, key) < 0) return GB_OK;
    int64_t v;
    gb_status rc = gb_gguf_get_int(g, key, &v);
    if (rc != GB_OK) return rc;
    if (v < 0 || v >= n)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s is %lld, not an id below the vocabulary size %u", gb_gguf_path(g), key,
                         (long long)v, n);
    *id = v;
    return GB_OK;
}

/* An optional bool key: *v stays as it is if absent. */
static gb_status opt_bool(const gb_gguf *g, const char *key, int *v) {
    if (gb_gguf_find_key(g, key) < 0) return GB_OK;
    bool b;
    gb_status rc = gb_gguf_get_bool(g, key, &b);
    if (rc == GB_OK) *v = b;
    return rc;
}

/* token_type into types[0..n) (all normal if the key is absent). */
static gb_status read_types(const gb_gguf *g, uint32_t n, uint8_t *types) {
    const char *path = gb_gguf_path(g);
    memset(types, GB_TT_NORMAL, n);
    if (gb_gguf_find_key(g, K_TYPES) < 0) return GB_OK;
    gb_gguf_arr a;
    gb_status rc = gb_gguf_get_arr(g, K_TYPES, GB_GGUF_TYPE_COUNT, &a);
    if (rc != GB_OK) return rc;
    if (!is_int_type(a.type))
        return gb_errorf(GB_ERR_FORMAT, "%s: %s is an array of %s, not of integers", path, K_TYPES,
                         gb_gguf_type_name(a.type));
    if (a.n != n)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s has %llu entries for %u tokens", path, K_TYPES,
                         (unsigned long long)a.n, n);
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = arr_int(&a, i);
        if (v < GB_TT_NORMAL || v > GB_TT_BYTE)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s[%u] is %lld (token types are 1 to 6)", path, K_TYPES, i,
                             (long long)v);
        types[i] = (uint8_t)v;
    }
    return GB_OK;
}

/* ---- gpt2: byte-level BPE ---- */

/* the pre-tokenizers of llama.cpp that glassbox runs exactly */
static const char *const gpt2_pres[] = {"gpt-2", "default", "phi-2", "jina-es", "jina-de", "jina-v1-en",
                                        "jina-v2-es", "jina-v2-de", "gigachat", "mellum"};
static const char *const llama3_pres[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"};
static const char *const llama3_merges_pres[] = {"dbrx", "smaug-bpe"}; /* Llama 3's pattern, merges only */

static int in_list(gb_gguf_str s, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (gb_gguf_str_eq(s, list[i])) return 1;
    return 0;
}

/* bytes -> id over the byte-level tokens (the last id wins, as in llama.cpp's map) */
typedef struct bytes_map {
    uint32_t *slot; /* id + 1; 0 empty */
    uint64_t mask;
    const gb_tokenizer *t;
} bytes_map;

static int64_t bmap_find(const bytes_map *m, const uint8_t *p, size_t n, uint64_t *at) {
    uint64_t i = gb_tok_hash(p, n) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        uint32_t s = m->slot[i];
        if (!s) break;
        uint32_t id = s - 1;
        const uint64_t *off = m->t->off;
        if (off[id + 1] - off[id] == n && memcmp(m->t->bytes + off[id], p, n) == 0) break;
    }
    *at = i;
    return m->slot[i] ? (int64_t)m->slot[i] - 1 : -1;
}

static gb_status load_bpe(gb_tokenizer **out, const gb_gguf *g, const gb_gguf_arr *tokens, uint8_t **types) {
    const char *path = gb_gguf_path(g);
    const uint32_t n = (uint32_t)tokens->n;
    char sbuf[48], sbuf2[48];
    gb_status rc = GB_OK;
    gb_tokenizer *t = NULL;
    bytes_map map = {0};
    uint8_t *buf = NULL;
    const uint8_t *tt = *types;

    /* the pre-tokenizer */
    gb_pretok_kind pattern = GB_PRETOK_GPT2;
    int llama3 = 0;
    if (gb_gguf_find_key(g, K_PRE) >= 0) {
        gb_gguf_str pre;
        if ((rc = gb_gguf_get_str(g, K_PRE, &pre)) != GB_OK) return rc;
        if (in_list(pre, llama3_pres, sizeof llama3_pres / sizeof *llama3_pres)) llama3 = 1;
        else if (in_list(pre, llama3_merges_pres, sizeof llama3_merges_pres / sizeof *llama3_merges_pres))
            pattern = GB_PRETOK_LLAMA3;
        else if (!in_list(pre, gpt2_pres, sizeof gpt2_pres / sizeof *gpt2_pres))
            return gb_errorf(GB_ERR_FORMAT,
                             "%s: pre-tokenizer \"%s\" (%s) is not one glassbox has; it runs \"gpt-2\", "
                             "\"llama-bpe\", \"smaug-bpe\" and their aliases",
                             path, show(pre, sbuf), K_PRE);
        if (llama3) pattern = GB_PRETOK_LLAMA3;
    }
    gb_gguf_arr merges;
    if (gb_gguf_find_key(g, K_MERGES) < 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: no %s (a \"gpt2\" tokenizer needs its merges)", path, K_MERGES);
    if ((rc = gb_gguf_get_arr(g, K_MERGES, GB_GGUF_STRING, &merges)) != GB_OK) return rc;
    if (merges.n > GB_TOK_MAX_IDS)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s has %llu entries (limit %u)", path, K_MERGES,
                         (unsigned long long)merges.n, GB_TOK_MAX_IDS);

    /* tokens: byte strings (unmapped) and specials (as written) */
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        gb_gguf_str s = gb_gguf_arr_str(tokens, i);
        if (tt[i] == GB_TT_UNUSED) continue;
        if (s.len == 0) return gb_errorf(GB_ERR_FORMAT, "%s: %s[%u] is the empty string", path, K_TOKENS, i);
        if (s.len > GB_TOK_MAX_LEN)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s[%u] is %llu bytes long (limit %u)", path, K_TOKENS, i,
                             (unsigned long long)s.len, GB_TOK_MAX_LEN);
        total += s.len;
        if (total > GB_TOK_MAX_BYTES)
            return gb_errorf(GB_ERR_FORMAT, "%s: the tokens take over %llu bytes", path,
                             (unsigned long long)GB_TOK_MAX_BYTES);
    }
    if ((rc = gb_tok_alloc(&t, n, (size_t)total)) != GB_OK) return rc;
    uint64_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        gb_gguf_str s = gb_gguf_arr_str(tokens, i);
        t->off[i] = o;
        switch (tt[i]) {
        case GB_TT_UNUSED:
            t->kind[i] = TOK_HOLE;
            break;
        case GB_TT_NORMAL:
        case GB_TT_BYTE: {
            int64_t m = gb_gpt2_unmap(s.ptr, (size_t)s.len, t->bytes + o);
            if (m <= 0) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: %s[%u] \"%s\" is not a GPT-2 byte string (a character outside "
                               "bytes_to_unicode)", path, K_TOKENS, i, show(s, sbuf));
                goto done;
            }
            t->kind[i] = TOK_BYTES;
            o += (uint64_t)m;
            break;
        }
        default: /* control, unknown, user-defined */
            t->kind[i] = TOK_SPECIAL;
            memcpy(t->bytes + o, s.ptr, (size_t)s.len);
            o += s.len;
        }
    }
    t->off[n] = o;

    /* merges "A B": split at the first space after the first character (llama.cpp's
     * find(' ', 1)); both halves and their join must be byte-level tokens */
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n) cap *= 2;
    map.slot = gb_calloc((size_t)cap, sizeof *map.slot);
    map.mask = cap - 1;
    map.t = t;
    t->merges = gb_alloc(((size_t)merges.n + 1) * sizeof *t->merges);
    size_t longest = 0;
    for (uint64_t r = 0; r < merges.n; r++)
        if (gb_gguf_arr_str(&merges, r).len > longest) longest = (size_t)gb_gguf_arr_str(&merges, r).len;
    buf = gb_alloc(longest + 1);
    if (!map.slot || !t->merges || !buf) { rc = GB_ERR_NOMEM; goto done; }
    for (uint32_t i = 0; i < n; i++) {
        if (t->kind[i] != TOK_BYTES) continue;
        uint64_t at;
        bmap_find(&map, t->bytes + t->off[i], (size_t)(t->off[i + 1] - t->off[i]), &at);
        map.slot[at] = i + 1;
    }
    for (uint64_t r = 0; r < merges.n; r++) {
        gb_gguf_str s = gb_gguf_arr_str(&merges, r);
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
        if (!sp || sp == s.ptr + s.len - 1) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: %s[%llu] \"%s\" is not a merge \"A B\"", path, K_MERGES,
                           (unsigned long long)r, show(s, sbuf));
            goto done;
        }
        size_t la = (size_t)(sp - s.ptr), lb = (size_t)s.len - la - 1;
        int64_t ma = gb_gpt2_unmap(s.ptr, la, buf), mb = ma <= 0 ? -1 : gb_gpt2_unmap(sp + 1, lb, buf + ma);
        uint64_t at;
        int64_t a = ma > 0 ? bmap_find(&map, buf, (size_t)ma, &at) : -1;
        int64_t b = mb > 0 ? bmap_find(&map, buf + ma, (size_t)mb, &at) : -1;
        if (a < 0 || b < 0) {
            gb_gguf_str part = a < 0 ? (gb_gguf_str){s.ptr, la} : (gb_gguf_str){sp + 1, lb};
            rc = gb_errorf(GB_ERR_FORMAT, "%s: %s[%llu] \"%s\": \"%s\" is not a token", path, K_MERGES,
                           (unsigned long long)r, show(s, sbuf), show(part, sbuf2));
            goto done;
        }
        int64_t c = bmap_find(&map, buf, (size_t)(ma + mb), &at);
        if (c < 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: %s[%llu] \"%s\" makes a string that is not a token", path, K_MERGES,
                           (unsigned long long)r, show(s, sbuf));
            goto done;
        }
        t->merges[r] = (gb_tok_merge){(uint32_t)a, (uint32_t)b, (uint32_t)c};
    }
    t->n_merges = (int64_t)merges.n;
    t->pattern = pattern;
    t->rule = GB_MERGE_LIST;
    t->whole_pieces = llama3;
    t->add_bos = llama3; /* llama.cpp's default for these pre-tokenizers */
    t->ttype = *types;
    *types = NULL;
    if ((rc = gb_tok_finish(t, path)) != GB_OK) goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    gb_free(map.slot);
    gb_free(buf);
    return rc;
}

/* ---- llama: SentencePiece BPE ---- */

static gb_status load_spm(gb_tokenizer **out, const gb_gguf *g, const gb_gguf_arr *tokens, const uint8_t *types) {
    const char *path = gb_gguf_path(g);
    const uint32_t n = (uint32_t)tokens->n;
    gb_gguf_arr scores = {0};
    gb_status rc;
    if (gb_gguf_find_key(g, K_SCORES) >= 0) {
        if ((rc = gb_gguf_get_arr(g, K_SCORES, GB_GGUF_TYPE_COUNT, &scores)) != GB_OK) return rc;
        if (scores.type != GB_GGUF_FLOAT32 && scores.type != GB_GGUF_FLOAT64)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s is an array of %s, not of floats", path, K_SCORES,
                             gb_gguf_type_name(scores.type));
        if (scores.n != n)
            return gb_errorf(GB_ERR_FORMAT, "%s: %s has %llu entries for %u tokens", path, K_SCORES,
                             (unsigned long long)scores.n, n);
    }
    int space_prefix = 1;
    int64_t unk = n > 0 ? 0 : -1;
    if ((rc = opt_bool(g, "tokenizer.ggml.add_space_prefix", &space_prefix)) != GB_OK ||
        (rc = opt_id(g, "tokenizer.ggml.unknown_token_id", n, &unk)) != GB_OK)
        return rc;
    gb_spm_piece *p = gb_alloc((size_t)n * sizeof *p);
    if (!p) return GB_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        gb_gguf_str s = gb_gguf_arr_str(tokens, i);
        p[i].text = s.ptr;
        p[i].len = (size_t)s.len;
        p[i].type = types[i];
        p[i].score = !scores.n ? 0.0f
                     : scores.type == GB_GGUF_FLOAT32 ? gb_gguf_arr_f32(&scores, i)
                                                      : (float)gb_gguf_arr_f64(&scores, i);
    }
    rc = gb_spm_new(out, p, n, space_prefix, types[unk] == GB_TT_UNUSED ? -1 : unk, path);
    gb_free(p);
    if (rc == GB_OK) {
        (*out)->add_bos = 1; /* llama.cpp's defaults for SentencePiece */
        if (n > 1) (*out)->bos_id = 1;
        if (n > 2) (*out)->eos_id = 2;
    }
    return rc;
}

gb_status gb_tokenizer_load_gguf(gb_tokenizer **out, const gb_gguf *g) {
    *out = NULL;
    const char *path = gb_gguf_path(g);
    char sbuf[48];
    gb_status rc;
    gb_gguf_str model;
    gb_gguf_arr tokens;
    if (gb_gguf_find_key(g, K_MODEL) < 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: no %s, so no tokenizer in this file", path, K_MODEL);
    if ((rc = gb_gguf_get_str(g, K_MODEL, &model)) != GB_OK) return rc;
    int bpe = gb_gguf_str_eq(model, "gpt2"), spm = gb_gguf_str_eq(model, "llama");
    if (!bpe && !spm)
        return gb_errorf(GB_ERR_FORMAT,
                         "%s: tokenizer model \"%s\" (%s) is not one glassbox has; it reads \"gpt2\" (byte-level "
                         "BPE) and \"llama\" (SentencePiece)",
                         path, show(model, sbuf), K_MODEL);
    if (gb_gguf_find_key(g, K_TOKENS) < 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: no %s (the vocabulary)", path, K_TOKENS);
    if ((rc = gb_gguf_get_arr(g, K_TOKENS, GB_GGUF_STRING, &tokens)) != GB_OK) return rc;
    if (tokens.n == 0 || tokens.n > GB_TOK_MAX_IDS)
        return gb_errorf(GB_ERR_FORMAT, "%s: %s has %llu tokens (a vocabulary has 1 to %u)", path, K_TOKENS,
                         (unsigned long long)tokens.n, GB_TOK_MAX_IDS);
    const uint32_t n = (uint32_t)tokens.n;
    uint8_t *types = gb_alloc(n);
    if (!types) return GB_ERR_NOMEM;
    gb_tokenizer *t = NULL;
    if ((rc = read_types(g, n, types)) != GB_OK) goto done;
    rc = bpe ? load_bpe(&t, g, &tokens, &types) : load_spm(&t, g, &tokens, types);
    if (rc != GB_OK) goto done;
    if ((rc = opt_id(g, "tokenizer.ggml.bos_token_id", n, &t->bos_id)) != GB_OK ||
        (rc = opt_id(g, "tokenizer.ggml.eos_token_id", n, &t->eos_id)) != GB_OK ||
        (rc = opt_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos)) != GB_OK ||
        (rc = opt_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos)) != GB_OK)
        goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    gb_free(types);
    return rc;
}
