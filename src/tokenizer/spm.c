/* glassbox — SentencePiece BPE (see spm.h): building the tables from a GGUF vocabulary,
 * encoding a stretch of text, the digest.
 *
 * The merge loop keeps the characters of the stretch as a linked list of symbols (a
 * symbol is a byte range of the escaped text that only grows) and the candidate pairs in
 * a binary heap keyed by (score descending, left symbol ascending), so a megabyte of text
 * costs O(n log n). A popped pair is used only if both symbols still have the sizes they
 * had when it was pushed: sizes only grow, so that is exactly "the pair is still there". */
#include <math.h>
#include <string.h>

#include "glassbox/mem.h"
#include "tokenizer/spm.h"
#include "tokenizer/tokenizer_impl.h"

#define MAP_EMPTY UINT64_MAX
#define NONE UINT32_MAX
#define ESC "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space */
#define ESC_LEN 3

struct gb_spm {
    float *score;          /* (n_ids) the piece's score; -0 stored as +0 */
    uint64_t *poff;        /* (n_ids+1) piece of id i: piece[poff[i] .. poff[i+1]) */
    uint8_t *piece;        /* every piece string, one block */
    uint64_t *map;         /* piece -> id: hash high 32 bits << 32 | id; MAP_EMPTY free */
    uint64_t map_mask;
    int64_t byte_tok[256]; /* the id written for byte b of a character with no token, or -1 */
    size_t longest;        /* the longest piece, bytes */
    int64_t unk_id;        /* -1: none */
    int add_space_prefix;
};

void gb_spm_free(gb_spm *s) {
    if (!s) return;
    gb_free(s->score);
    gb_free(s->poff);
    gb_free(s->piece);
    gb_free(s->map);
    gb_free(s);
}

int gb_spm_space_prefix(const gb_spm *s) { return s->add_space_prefix; }

/* the id whose piece is p[0..n), or -1 */
static int64_t map_find(const gb_spm *s, const uint8_t *p, size_t n) {
    uint64_t h = gb_tok_hash(p, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t i = h & s->map_mask;; i = (i + 1) & s->map_mask) {
        uint64_t v = s->map[i];
        if (v == MAP_EMPTY) return -1;
        if ((uint32_t)(v >> 32) != tag) continue;
        uint32_t id = (uint32_t)v;
        if (s->poff[id + 1] - s->poff[id] == n && memcmp(s->piece + s->poff[id], p, n) == 0) return id;
    }
}

/* Inserts id; a later id with the same piece replaces the earlier one (llama.cpp's
 * token_to_id map keeps the last). */
static void map_put(gb_spm *s, uint32_t id) {
    const uint8_t *p = s->piece + s->poff[id];
    size_t n = (size_t)(s->poff[id + 1] - s->poff[id]);
    uint64_t h = gb_tok_hash(p, n);
    uint32_t tag = (uint32_t)(h >> 32);
    uint64_t i = h & s->map_mask;
    for (;; i = (i + 1) & s->map_mask) {
        uint64_t v = s->map[i];
        if (v == MAP_EMPTY) break;
        uint32_t j = (uint32_t)v;
        if ((uint32_t)(v >> 32) == tag && s->poff[j + 1] - s->poff[j] == n && memcmp(s->piece + s->poff[j], p, n) == 0)
            break;
    }
    s->map[i] = (uint64_t)tag << 32 | id;
}

static int hex_digit(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The byte of a piece "<0xXX>", or -1. */
static int byte_piece(const char *p, size_t n) {
    if (n != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return -1;
    int hi = hex_digit((uint8_t)p[3]), lo = hex_digit((uint8_t)p[4]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Bytes that piece p[0..n) of type `type` decodes to (written to out if not NULL). */
static size_t decoded(const char *p, size_t n, int type, uint8_t *out) {
    switch (type) {
    case GB_TT_UNUSED:
        return 0;
    case GB_TT_BYTE:
        if (out) out[0] = (uint8_t)byte_piece(p, n);
        return 1;
    case GB_TT_NORMAL: {
        size_t m = 0;
        for (size_t i = 0; i < n;) {
            if (n - i >= ESC_LEN && memcmp(p + i, ESC, ESC_LEN) == 0) {
                if (out) out[m] = ' ';
                m++, i += ESC_LEN;
            } else {
                if (out) out[m] = (uint8_t)p[i];
                m++, i++;
            }
        }
        return m;
    }
    default: /* control, unknown, user-defined: the string as written */
        if (out) memcpy(out, p, n);
        return n;
    }
}

gb_status gb_spm_new(gb_tokenizer **out, const gb_spm_piece *pieces, uint32_t n, int add_space_prefix,
                     int64_t unk_id, const char *what) {
    *out = NULL;
    if (n == 0 || n > GB_TOK_MAX_IDS)
        return gb_errorf(GB_ERR_FORMAT, "%s: %u tokens (a vocabulary has 1 to %u)", what, n, GB_TOK_MAX_IDS);
    uint64_t total = 0, total_dec = 0;
    size_t longest = 0;
    for (uint32_t i = 0; i < n; i++) {
        const gb_spm_piece *p = &pieces[i];
        if (p->type < GB_TT_NORMAL || p->type > GB_TT_BYTE)
            return gb_errorf(GB_ERR_FORMAT, "%s: token %u has type %d (token types are 1 to 6)", what, i, p->type);
        if (p->type == GB_TT_UNUSED) continue;
        if (p->len == 0) return gb_errorf(GB_ERR_FORMAT, "%s: token %u is the empty string", what, i);
        if (p->len > GB_TOK_MAX_LEN)
            return gb_errorf(GB_ERR_FORMAT, "%s: token %u is %zu bytes long (limit %u)", what, i, p->len, GB_TOK_MAX_LEN);
        if (isnan(p->score)) return gb_errorf(GB_ERR_FORMAT, "%s: the score of token %u is not a number", what, i);
        if (p->type == GB_TT_BYTE && byte_piece(p->text, p->len) < 0)
            return gb_errorf(GB_ERR_FORMAT, "%s: token %u is of type byte but is \"%.*s\", not <0xXX>", what, i,
                             (int)(p->len < 40 ? p->len : 40), p->text);
        total += p->len;
        total_dec += decoded(p->text, p->len, p->type, NULL);
        if (p->len > longest) longest = p->len;
        if (total > GB_TOK_MAX_BYTES)
            return gb_errorf(GB_ERR_FORMAT, "%s: the tokens take over %llu bytes", what,
                             (unsigned long long)GB_TOK_MAX_BYTES);
    }
    if (unk_id >= (int64_t)n) unk_id = -1;

    gb_status rc = GB_OK;
    gb_tokenizer *t = NULL;
    gb_spm *s = NULL;
    if ((rc = gb_tok_alloc(&t, n, (size_t)total_dec)) != GB_OK) return rc;
    t->algo = GB_TOKENIZER_SPM;
    t->ttype = gb_alloc(n);
    s = t->spm = gb_calloc(1, sizeof *s);
    if (!t->ttype || !s) { rc = GB_ERR_NOMEM; goto done; }
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n) cap *= 2;
    s->score = gb_alloc((size_t)n * sizeof *s->score);
    s->poff = gb_alloc(((size_t)n + 1) * sizeof *s->poff);
    s->piece = gb_alloc((size_t)total);
    s->map = gb_alloc((size_t)cap * sizeof *s->map);
    if (!s->score || !s->poff || !s->piece || !s->map) { rc = GB_ERR_NOMEM; goto done; }
    memset(s->map, 0xff, (size_t)cap * sizeof *s->map);
    s->map_mask = cap - 1;
    s->longest = longest;
    s->add_space_prefix = add_space_prefix != 0;
    s->unk_id = unk_id;

    uint64_t o = 0, od = 0;
    for (uint32_t i = 0; i < n; i++) {
        const gb_spm_piece *p = &pieces[i];
        t->ttype[i] = (uint8_t)p->type;
        t->off[i] = od;
        s->poff[i] = o;
        s->score[i] = p->score == 0 ? 0.0f : p->score; /* -0 == +0 for llama.cpp's comparison */
        if (p->type == GB_TT_UNUSED) {
            t->kind[i] = TOK_HOLE;
            continue;
        }
        t->kind[i] = (p->type == GB_TT_NORMAL || p->type == GB_TT_BYTE) ? TOK_BYTES : TOK_SPECIAL;
        memcpy(s->piece + o, p->text, p->len);
        o += p->len;
        od += decoded(p->text, p->len, p->type, t->bytes + od);
    }
    t->off[n] = od;
    s->poff[n] = o;
    for (uint32_t i = 0; i < n; i++)
        if (t->kind[i] != TOK_HOLE) map_put(s, i);
    /* llama.cpp's byte_to_token: the piece <0xXX> (upper-case hex), else the byte itself */
    for (int b = 0; b < 256; b++) {
        static const char hex[] = "0123456789ABCDEF";
        const uint8_t name[6] = {'<', '0', 'x', (uint8_t)hex[b >> 4], (uint8_t)hex[b & 15], '>'};
        const uint8_t one = (uint8_t)b;
        s->byte_tok[b] = map_find(s, name, sizeof name);
        if (s->byte_tok[b] < 0) s->byte_tok[b] = map_find(s, &one, 1);
    }
    if ((rc = gb_tok_specials(t, what)) != GB_OK) goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    return rc;
}

/* ---- encode ---- */

typedef struct bigram {
    uint64_t key;        /* ~sortable(score) << 32 | left: the smallest key merges first */
    uint32_t right, size; /* right symbol, and the pair's size in bytes when pushed */
    uint32_t id;         /* the token the pair makes */
} bigram;

typedef struct spm_state {
    const gb_spm *s;
    const uint8_t *buf;
    uint32_t *start, *len, *prev, *next, *id; /* per symbol; len 0: merged away */
    bigram *heap;
    size_t hn, hcap;
} spm_state;

/* A float's bits as an unsigned number that orders like the float (no NaN here). */
static inline uint32_t sortable(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static gb_status heap_push(spm_state *st, bigram b) {
    if (st->hn == st->hcap) {
        size_t cap = st->hcap * 2;
        gb_status rc = gb_realloc_array((void **)&st->heap, cap, sizeof *st->heap);
        if (rc != GB_OK) return rc;
        st->hcap = cap;
    }
    size_t i = st->hn++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (st->heap[parent].key <= b.key) break;
        st->heap[i] = st->heap[parent];
        i = parent;
    }
    st->heap[i] = b;
    return GB_OK;
}

static bigram heap_pop(spm_state *st) {
    bigram top = st->heap[0], last = st->heap[--st->hn];
    size_t i = 0, n = st->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && st->heap[c + 1].key < st->heap[c].key) c++;
        if (last.key <= st->heap[c].key) break;
        st->heap[i] = st->heap[c];
        i = c;
    }
    if (n) st->heap[i] = last;
    return top;
}

/* Pushes the pair (l, r) if its concatenation is a token (llama.cpp's try_add_bigram). */
static gb_status try_pair(spm_state *st, uint32_t l, uint32_t r) {
    if (l == NONE || r == NONE) return GB_OK;
    size_t size = (size_t)st->len[l] + st->len[r];
    if (size > st->s->longest) return GB_OK;
    int64_t id = map_find(st->s, st->buf + st->start[l], size);
    if (id < 0) return GB_OK;
    bigram b = {(uint64_t)~sortable(st->s->score[id]) << 32 | l, r, (uint32_t)size, (uint32_t)id};
    return heap_push(st, b);
}

gb_status gb_spm_encode(const gb_tokenizer *t, const uint8_t *text, size_t len, gb_ids *out) {
    const gb_spm *s = t->spm;
    size_t n_space = 0;
    for (size_t i = 0; i < len; i++) n_space += text[i] == ' ';
    if (len > (UINT32_MAX / 4 - 3) / 3)
        return gb_errorf(GB_ERR_ARG, "a text of %zu bytes between special tokens is too long to encode", len);
    size_t blen = len + 2 * n_space + (s->add_space_prefix ? ESC_LEN : 0);
    gb_status rc = GB_OK;
    spm_state st = {.s = s};
    uint8_t *buf = gb_alloc(2 * blen), *esc = NULL; /* esc[i]: an escaped space starts at buf[i] */
    uint32_t *sym = gb_alloc(5 * blen * sizeof *sym);
    st.hcap = blen + 16;
    st.heap = NULL;
    if (!buf || !sym || gb_realloc_array((void **)&st.heap, st.hcap, sizeof *st.heap) != GB_OK) {
        rc = GB_ERR_NOMEM;
        goto done;
    }
    /* 1. escape */
    esc = buf + blen;
    size_t w = 0;
    memset(esc, 0, blen);
    if (s->add_space_prefix) memcpy(buf, ESC, ESC_LEN), esc[0] = 1, w = ESC_LEN;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(buf + w, ESC, ESC_LEN), esc[w] = 1, w += ESC_LEN;
        else buf[w++] = text[i];
    }
    st.buf = buf;
    st.start = sym, st.len = sym + blen, st.prev = sym + 2 * blen, st.next = sym + 3 * blen, st.id = sym + 4 * blen;
    /* 2. characters: the lead byte's length, cut at the end (llama.cpp's unicode_len_utf8).
     * llama.cpp lets a truncated sequence swallow the start of a following escaped space,
     * whose bytes then come back as "▁" instead of " "; here it stops there, the one place
     * the split differs, so every text round-trips. */
    static const uint8_t utf8_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    uint32_t ns = 0;
    for (size_t p = 0; p < blen; ns++) {
        size_t k = utf8_len[buf[p] >> 4];
        if (k > blen - p) k = blen - p;
        for (size_t j = 1; j < k; j++)
            if (esc[p + j]) k = j;
        st.start[ns] = (uint32_t)p;
        st.len[ns] = (uint32_t)k;
        st.prev[ns] = ns ? ns - 1 : NONE;
        st.id[ns] = NONE;
        p += k;
        st.next[ns] = p < blen ? ns + 1 : NONE;
    }
    /* 3. merges, best score first */
    for (uint32_t i = 1; i < ns; i++)
        if ((rc = try_pair(&st, i - 1, i)) != GB_OK) goto done;
    while (st.hn) {
        bigram b = heap_pop(&st);
        uint32_t l = (uint32_t)b.key, r = b.right;
        if (st.len[l] == 0 || st.len[r] == 0 || st.len[l] + st.len[r] != b.size) continue;
        st.len[l] += st.len[r];
        st.len[r] = 0;
        st.id[l] = b.id;
        st.next[l] = st.next[r];
        if (st.next[r] != NONE) st.prev[st.next[r]] = l;
        if ((rc = try_pair(&st, st.prev[l], l)) != GB_OK || (rc = try_pair(&st, l, st.next[l])) != GB_OK) goto done;
    }
    /* 4. pieces to ids; a character with no token becomes its bytes */
    for (uint32_t i = ns ? 0 : NONE; i != NONE; i = st.next[i]) {
        int64_t id = st.id[i] != NONE ? (int64_t)st.id[i] : map_find(s, buf + st.start[i], st.len[i]);
        if (id >= 0) {
            if ((rc = gb_ids_push(out, (uint32_t)id)) != GB_OK) goto done;
            continue;
        }
        for (uint32_t j = 0; j < st.len[i]; j++) {
            uint8_t c = buf[st.start[i] + j];
            int64_t bid = s->byte_tok[c] >= 0 ? s->byte_tok[c] : s->unk_id;
            if (bid < 0) {
                rc = gb_errorf(GB_ERR_ARG, "the vocabulary has no token for the byte 0x%02x (no <0x%02X> and no <unk>)",
                               c, c);
                goto done;
            }
            if ((rc = gb_ids_push(out, (uint32_t)bid)) != GB_OK) goto done;
        }
    }
done:
    gb_free(buf);
    gb_free(sym);
    gb_free(st.heap);
    return rc;
}

/* ---- digest ---- */

static void put_u32(gb_sha256_ctx *c, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gb_sha256_update(c, b, 4);
}

void gb_spm_digest(const gb_tokenizer *t, gb_sha256_ctx *c) {
    const gb_spm *s = t->spm;
    gb_sha256_update(c, "glassbox-tokenizer-digest-spm-1\n", 32);
    put_u32(c, t->n_ids);
    put_u32(c, (uint32_t)s->add_space_prefix);
    put_u32(c, (uint32_t)s->unk_id); /* -1: 0xffffffff */
    for (uint32_t i = 0; i < t->n_ids; i++) {
        uint8_t type = t->ttype[i];
        gb_sha256_update(c, &type, 1);
        put_u32(c, (uint32_t)(s->poff[i + 1] - s->poff[i]));
        gb_sha256_update(c, s->piece + s->poff[i], (size_t)(s->poff[i + 1] - s->poff[i]));
        uint32_t bits;
        memcpy(&bits, &s->score[i], sizeof bits);
        put_u32(c, bits);
    }
}
