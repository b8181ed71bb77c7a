/* glassbox — byte-level BPE: the lookup tables, encode, decode, digest.
 *
 * Encoding a text: specials (when allowed) split it first; each stretch between them is
 * cut into pieces by the pre-tokenizer (pretok.c); each piece becomes ids by, in order,
 *   1. a single byte: its byte token;
 *   2. the whole piece is a token that BPE would produce anyway: that token (one hash
 *      lookup; most English words end here);
 *   3. the piece cache of this call (pieces up to CACHE_MAX_LEN bytes, bounded);
 *   4. BPE proper: an array scan for short pieces, a linked list + binary heap
 *      (O(n log n)) for long ones, so a megabyte of one repeated character stays fast.
 * Nothing is allocated per piece: scratch buffers grow by doubling and live for the call.
 * See tokenizer_impl.h for the two merge rules. A SentencePiece tokenizer (from GGUF) shares
 * the special-token handling, decode and accessors here and encodes in spm.c. */
#include <stdlib.h>
#include <string.h>

#include "glassbox/mem.h"
#include "glassbox/sha256.h"
#include "tokenizer/pretok.h"
#include "tokenizer/spm.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/tokenizer_internal.h"

#define PAIR_EMPTY UINT64_MAX
#define VOCAB_EMPTY UINT64_MAX
#define NO_MERGE UINT64_MAX      /* pair value: this pair does not merge */
#define DIRTY (UINT64_MAX - 1)   /* pair value: to be looked up again */
#define DEAD UINT32_MAX          /* a node merged into its left neighbour */
#define DIRECT_BIT (1ull << 31)

#define SHORT_MAX 64             /* pieces up to this many bytes use the array scan */
#define CACHE_MAX_LEN 64         /* longest piece the cache keeps */
#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2)
#define CACHE_KEY_BYTES (1u << 21)
#define CACHE_IDS (1u << 19)
#define CACHE_MIN_TEXT (1u << 15) /* texts shorter than this are not worth a cache */

/* ---- growable arrays (public) ---- */

static gb_status ids_reserve(gb_ids *ids, int64_t extra) {
    if (ids->len + extra <= ids->cap) return GB_OK;
    int64_t cap = ids->cap ? ids->cap : 256;
    while (cap < ids->len + extra) {
        if (cap > INT64_MAX / 2) return gb_errorf(GB_ERR_NOMEM, "token id array too large");
        cap *= 2;
    }
    gb_status rc = gb_realloc_array((void **)&ids->data, (size_t)cap, sizeof *ids->data);
    if (rc == GB_OK) ids->cap = cap;
    return rc;
}

gb_status gb_ids_push(gb_ids *ids, uint32_t id) {
    if (ids->len == ids->cap) {
        gb_status rc = ids_reserve(ids, 1);
        if (rc != GB_OK) return rc;
    }
    ids->data[ids->len++] = id;
    return GB_OK;
}

void gb_ids_free(gb_ids *ids) {
    if (!ids) return;
    gb_free(ids->data);
    memset(ids, 0, sizeof *ids);
}

static gb_status bytes_reserve(gb_bytes *b, size_t extra) {
    if (extra > SIZE_MAX - b->len) return gb_errorf(GB_ERR_NOMEM, "byte buffer too large");
    if (b->len + extra <= b->cap) return GB_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) {
        if (cap > SIZE_MAX / 2) return gb_errorf(GB_ERR_NOMEM, "byte buffer too large");
        cap *= 2;
    }
    gb_status rc = gb_realloc_array((void **)&b->data, cap, 1);
    if (rc == GB_OK) b->cap = cap;
    return rc;
}

gb_status gb_bytes_append(gb_bytes *b, const void *data, size_t len) {
    gb_status rc = bytes_reserve(b, len);
    if (rc != GB_OK) return rc;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    return GB_OK;
}

void gb_bytes_free(gb_bytes *b) {
    if (!b) return;
    gb_free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- hashing ---- */

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

uint64_t gb_tok_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + n - 4, 4);
            w = (uint64_t)a << 32 | b;
        } else {
            w = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
        }
        h = (h ^ w) * 0x94d049bb133111ebull;
    }
    return mix64(h);
}

static inline uint64_t pair_slot(const gb_tokenizer *t, uint64_t key) {
    return (key * 0x9e3779b97f4a7c15ull) >> t->pair_shift; /* Fibonacci hashing */
}

/* (rank << 32 | result) of pair (l, r), or NO_MERGE */
static inline uint64_t pair_get(const gb_tokenizer *t, uint32_t l, uint32_t r) {
    uint64_t key = (uint64_t)l << 32 | r;
    for (uint64_t i = pair_slot(t, key);; i = (i + 1) & t->pair_mask) {
        uint64_t k = t->pair_key[i];
        if (k == key) return t->pair_val[i];
        if (k == PAIR_EMPTY) return NO_MERGE;
    }
}

static inline const uint8_t *tok_bytes(const gb_tokenizer *t, uint32_t id, size_t *len) {
    *len = (size_t)(t->off[id + 1] - t->off[id]);
    return t->bytes + t->off[id];
}

/* the vocabulary slot holding bytes p[0..n) (hash h), or NULL */
static inline const uint64_t *vocab_find(const gb_tokenizer *t, const uint8_t *p, size_t n,
                                         uint64_t h) {
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t i = h & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
        uint64_t s = t->vocab[i];
        if (s == VOCAB_EMPTY) return NULL;
        if ((uint32_t)(s >> 32) == tag) {
            uint32_t id = (uint32_t)s & 0x7fffffffu;
            size_t len;
            const uint8_t *b = tok_bytes(t, id, &len);
            if (len == n && memcmp(b, p, n) == 0) return &t->vocab[i];
        }
    }
}

int64_t gb_tok_lookup(const gb_tokenizer *t, const uint8_t *p, size_t n) {
    if (!t->vocab) return -1;
    const uint64_t *s = vocab_find(t, p, n, gb_tok_hash(p, n));
    return s ? (int64_t)((uint32_t)*s & 0x7fffffffu) : -1;
}

/* ---- BPE on one piece ---- */

/* Scratch for one encode call (or one table build): grows, never shrinks. */
typedef struct scratch {
    uint32_t *tok, *nxt, *prv, *pend; /* (cap) per node of a long piece */
    uint64_t *heap;                   /* (3*cap) */
    size_t cap;
} scratch;

static void scratch_free(scratch *s) {
    gb_free(s->tok), gb_free(s->nxt), gb_free(s->prv), gb_free(s->pend), gb_free(s->heap);
    memset(s, 0, sizeof *s);
}

static gb_status scratch_reserve(scratch *s, size_t n) {
    if (n <= s->cap) return GB_OK;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < n) cap *= 2;
    if (cap > UINT32_MAX / 4) return gb_errorf(GB_ERR_ARG, "a pre-token of %zu bytes is too long", n);
    gb_status rc;
    if ((rc = gb_realloc_array((void **)&s->tok, cap, 4)) || (rc = gb_realloc_array((void **)&s->nxt, cap, 4)) ||
        (rc = gb_realloc_array((void **)&s->prv, cap, 4)) || (rc = gb_realloc_array((void **)&s->pend, 2 * cap, 4)) ||
        (rc = gb_realloc_array((void **)&s->heap, 3 * cap, 8)))
        return rc;
    s->cap = cap;
    return GB_OK;
}

/* Short pieces: an array of tokens and the values of their adjacent pairs; each round
 * finds the lowest pair and merges it (every occurrence under GB_MERGE_LIST, the leftmost
 * under GB_MERGE_RANKS), then looks up only the pairs that changed.
 * p[0..n), 2 <= n <= SHORT_MAX; ids go to out (room for n). Returns the id count. */
static size_t bpe_short(const gb_tokenizer *t, const uint8_t *p, size_t n, uint32_t *tok) {
    uint64_t val[SHORT_MAX];
    const int all = t->rule == GB_MERGE_LIST;
    for (size_t i = 0; i < n; i++) tok[i] = t->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++) val[i] = pair_get(t, tok[i], tok[i + 1]);
    size_t m = n;
    while (m > 1) {
        uint64_t best = NO_MERGE;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (val[i] < best) best = val[i], bi = i;
        if (best == NO_MERGE) break;
        uint32_t res = (uint32_t)best;
        size_t w = bi, i = bi, lo = bi ? bi - 1 : 0, hi = bi;
        while (i < m) {
            if (i + 1 < m && val[i] == best && (all || i == bi)) {
                tok[w] = res;
                if (w > 0) val[w - 1] = DIRTY;
                val[w] = DIRTY;
                hi = w;
                w++, i += 2;
                if (!all) { /* the rest only shifts left by one */
                    memmove(tok + w, tok + i, (m - i) * sizeof *tok);
                    memmove(val + w, val + i, (m - i) * sizeof *val);
                    w += m - i;
                    break;
                }
            } else {
                tok[w] = tok[i];
                val[w] = val[i];
                w++, i++;
            }
        }
        m = w;
        for (size_t j = lo; j <= hi && j + 1 < m; j++)
            if (val[j] == DIRTY) val[j] = pair_get(t, tok[j], tok[j + 1]);
    }
    return m;
}

static inline void heap_push(uint64_t *h, size_t *hn, uint64_t key) {
    size_t i = (*hn)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h[parent] <= key) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = key;
}

static inline void heap_sift_down(uint64_t *h, size_t hn, size_t i) {
    uint64_t key = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= hn) break;
        if (c + 1 < hn && h[c + 1] < h[c]) c++;
        if (key <= h[c]) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = key;
}

/* Pushes the pair that starts at node i, if it merges. Heap keys are rank << 32 | node,
 * so the heap yields the lowest rank, leftmost first. */
static inline void push_pair(const gb_tokenizer *t, scratch *s, size_t n, size_t *hn, uint32_t i) {
    if (s->tok[i] == DEAD || s->nxt[i] >= n) return;
    uint64_t v = pair_get(t, s->tok[i], s->tok[s->nxt[i]]);
    if (v != NO_MERGE) heap_push(s->heap, hn, (v >> 32) << 32 | i);
}

/* Long pieces: nodes in a linked list, candidate pairs in a min-heap; a popped entry is
 * used only if its pair is still there with the same rank (stale ones are skipped).
 * Under GB_MERGE_LIST the pairs a round creates wait in `pend` until every occurrence
 * of the round's pair present at its start has merged, exactly as GPT-2's bpe() does.
 * The scratch must have room for n. Returns the id count; ids go to out (room for n). */
static size_t bpe_long(const gb_tokenizer *t, scratch *s, const uint8_t *p, size_t n, uint32_t *out) {
    const int all = t->rule == GB_MERGE_LIST;
    uint32_t *tok = s->tok, *nxt = s->nxt, *prv = s->prv, *pend = s->pend;
    uint64_t *heap = s->heap;
    size_t hn = 0, np = 0;
    for (size_t i = 0; i < n; i++) {
        tok[i] = t->byte_id[p[i]];
        nxt[i] = (uint32_t)(i + 1);
        prv[i] = (uint32_t)i - 1; /* UINT32_MAX for node 0 */
    }
    for (size_t i = 0; i + 1 < n; i++) {
        uint64_t v = pair_get(t, tok[i], tok[i + 1]);
        if (v != NO_MERGE) heap[hn++] = (v >> 32) << 32 | i;
    }
    for (size_t i = hn / 2; i-- > 0;) heap_sift_down(heap, hn, i);
    uint64_t round = UINT64_MAX;
    for (;;) {
        if (np && (hn == 0 || heap[0] >> 32 != round)) {
            for (size_t k = 0; k < np; k++) push_pair(t, s, n, &hn, pend[k]);
            np = 0;
        }
        if (hn == 0) break;
        uint64_t key = heap[0];
        heap[0] = heap[--hn];
        if (hn) heap_sift_down(heap, hn, 0);
        uint32_t i = (uint32_t)key, j = nxt[i];
        if (tok[i] == DEAD || j >= n) continue;
        uint64_t v = pair_get(t, tok[i], tok[j]);
        if (v == NO_MERGE || v >> 32 != key >> 32) continue;
        tok[i] = (uint32_t)v;
        tok[j] = DEAD;
        nxt[i] = nxt[j];
        if (nxt[j] < n) prv[nxt[j]] = i;
        round = key >> 32;
        if (all) {
            if (prv[i] != UINT32_MAX) pend[np++] = prv[i];
            pend[np++] = i;
        } else {
            if (prv[i] != UINT32_MAX) push_pair(t, s, n, &hn, prv[i]);
            push_pair(t, s, n, &hn, i);
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i = nxt[i]) out[m++] = tok[i];
    return m;
}

/* BPE of p[0..n) (n >= 1) by merges alone (no whole-token shortcut) into out (room for n). */
static gb_status bpe_piece(const gb_tokenizer *t, scratch *s, const uint8_t *p, size_t n, uint32_t *out,
                           size_t *m) {
    if (n == 1) {
        out[0] = t->byte_id[p[0]];
        *m = 1;
        return GB_OK;
    }
    if (n <= SHORT_MAX) {
        *m = bpe_short(t, p, n, out);
        return GB_OK;
    }
    gb_status rc = scratch_reserve(s, n);
    if (rc != GB_OK) return rc;
    *m = bpe_long(t, s, p, n, out);
    return GB_OK;
}

/* ---- the piece cache of one encode call ---- */

typedef struct cache_slot {
    uint64_t hash; /* 0: empty */
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids;
} cache_slot;

typedef struct piece_cache {
    cache_slot *slots; /* (CACHE_SLOTS) */
    uint8_t *keys;     /* (CACHE_KEY_BYTES) */
    uint32_t *ids;     /* (CACHE_IDS) */
    uint32_t n_entries, key_used, ids_used;
} piece_cache;

static void cache_free(piece_cache *c) {
    gb_free(c->slots), gb_free(c->keys), gb_free(c->ids);
    memset(c, 0, sizeof *c);
}

static gb_status cache_init(piece_cache *c) {
    c->slots = gb_calloc(CACHE_SLOTS, sizeof *c->slots);
    c->keys = gb_alloc(CACHE_KEY_BYTES);
    c->ids = gb_alloc(CACHE_IDS * sizeof *c->ids);
    if (!c->slots || !c->keys || !c->ids) {
        cache_free(c);
        return GB_ERR_NOMEM;
    }
    return GB_OK;
}

static inline const cache_slot *cache_get(const piece_cache *c, const uint8_t *p, size_t n, uint64_t h) {
    for (uint32_t i = (uint32_t)(h >> 40) & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const cache_slot *s = &c->slots[i];
        if (s->hash == 0) return NULL;
        if (s->hash == h && s->key_len == n && memcmp(c->keys + s->key_off, p, n) == 0) return s;
    }
}

static void cache_put(piece_cache *c, const uint8_t *p, size_t n, uint64_t h, const uint32_t *ids, size_t m) {
    if (c->n_entries >= CACHE_MAX_ENTRIES || c->key_used + n > CACHE_KEY_BYTES || c->ids_used + m > CACHE_IDS) {
        /* full: start over (cheaper than eviction, and the working set refills fast) */
        memset(c->slots, 0, CACHE_SLOTS * sizeof *c->slots);
        c->n_entries = c->key_used = c->ids_used = 0;
    }
    uint32_t i = (uint32_t)(h >> 40) & (CACHE_SLOTS - 1);
    while (c->slots[i].hash != 0) i = (i + 1) & (CACHE_SLOTS - 1);
    cache_slot *s = &c->slots[i];
    s->hash = h;
    s->key_off = c->key_used;
    s->key_len = (uint16_t)n;
    s->ids_off = c->ids_used;
    s->n_ids = (uint16_t)m;
    memcpy(c->keys + c->key_used, p, n);
    memcpy(c->ids + c->ids_used, ids, m * sizeof *ids);
    c->key_used += (uint32_t)n;
    c->ids_used += (uint32_t)m;
    c->n_entries++;
}

/* ---- encode ---- */

typedef struct enc_state {
    scratch s;
    piece_cache cache;
    int use_cache; /* 0 not yet decided, 1 on, -1 off */
} enc_state;

/* Encodes text without specials: s[0..n) is one stretch between specials. */
static gb_status encode_ordinary(const gb_tokenizer *t, enc_state *st, const uint8_t *text, size_t n,
                                 gb_ids *out) {
    gb_status rc;
    size_t pos = 0;
    while (pos < n) {
        size_t k = gb_pretok_next(t->pattern, text, n, pos);
        const uint8_t *p = text + pos;
        pos += k;
        if (out->len + (int64_t)k > out->cap && (rc = ids_reserve(out, (int64_t)k)) != GB_OK) return rc;
        uint32_t *dst = out->data + out->len;
        if (k == 1) {
            *dst = t->byte_id[p[0]];
            out->len++;
            continue;
        }
        uint64_t h = gb_tok_hash(p, k);
        const uint64_t *v = vocab_find(t, p, k, h);
        if (v && (*v & DIRECT_BIT)) {
            *dst = (uint32_t)*v & 0x7fffffffu;
            out->len++;
            continue;
        }
        if (k <= CACHE_MAX_LEN) {
            if (st->use_cache == 0)
                st->use_cache = n - pos >= CACHE_MIN_TEXT && cache_init(&st->cache) == GB_OK ? 1 : -1;
            if (st->use_cache > 0) {
                uint64_t ch = h | 1;
                const cache_slot *c = cache_get(&st->cache, p, k, ch);
                if (c) {
                    memcpy(dst, st->cache.ids + c->ids_off, c->n_ids * sizeof *dst);
                    out->len += c->n_ids;
                    continue;
                }
                size_t m = bpe_short(t, p, k, dst);
                cache_put(&st->cache, p, k, ch, dst, m);
                out->len += (int64_t)m;
                continue;
            }
        }
        size_t m;
        if ((rc = bpe_piece(t, &st->s, p, k, dst, &m)) != GB_OK) return rc;
        out->len += (int64_t)m;
    }
    return GB_OK;
}

/* The next special at or after text[pos]: its start (or len) and id. Without `all`, only
 * user-defined tokens (GGUF) count. */
static size_t find_special(const gb_tokenizer *t, const uint8_t *text, size_t len, size_t pos, int all,
                           uint32_t *id, size_t *sp_len) {
    for (size_t i = pos; i < len; i++) {
        if (!t->special_first[text[i]]) continue;
        for (int k = 0; k < t->n_specials; k++) {
            if (!all && t->ttype[t->specials[k]] != GB_TT_USER) continue;
            size_t n;
            const uint8_t *b = tok_bytes(t, t->specials[k], &n);
            if (n <= len - i && memcmp(text + i, b, n) == 0) {
                *id = t->specials[k];
                *sp_len = n;
                return i;
            }
        }
    }
    return len;
}

gb_status gb_tokenizer_encode(const gb_tokenizer *t, const void *text, size_t len, int allow_special,
                              gb_ids *out) {
    const uint8_t *p = text;
    enc_state st = {0};
    gb_status rc = GB_OK;
    size_t pos = 0;
    const int match = t->n_specials > 0 && (allow_special || t->n_user > 0);
    while (pos < len) {
        size_t end = len, sp_len = 0;
        uint32_t sp_id = 0;
        if (match) end = find_special(t, p, len, pos, allow_special, &sp_id, &sp_len);
        if (end > pos) {
            rc = t->spm ? gb_spm_encode(t, p + pos, end - pos, out) : encode_ordinary(t, &st, p + pos, end - pos, out);
            if (rc != GB_OK) goto done;
        }
        if (end == len) break;
        if ((rc = gb_ids_push(out, sp_id)) != GB_OK) goto done;
        pos = end + sp_len;
    }
done:
    scratch_free(&st.s);
    cache_free(&st.cache);
    return rc;
}

/* ---- decode ---- */

gb_status gb_tokenizer_decode(const gb_tokenizer *t, const uint32_t *ids, int64_t n, gb_bytes *out) {
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id >= t->n_ids || t->kind[id] == TOK_HOLE)
            return gb_errorf(GB_ERR_ARG, "token id %u at position %lld is not in the vocabulary (%u ids)", id,
                             (long long)i, t->n_ids);
        total += (size_t)(t->off[id + 1] - t->off[id]);
    }
    gb_status rc = bytes_reserve(out, total);
    if (rc != GB_OK) return rc;
    uint8_t *dst = out->data + out->len;
    for (int64_t i = 0; i < n; i++) {
        size_t k;
        const uint8_t *b = tok_bytes(t, ids[i], &k);
        memcpy(dst, b, k);
        dst += k;
    }
    out->len += total;
    return GB_OK;
}

gb_status gb_tokenizer_decode_text(const gb_tokenizer *t, const uint32_t *ids, int64_t n, int strip_space,
                                   gb_bytes *out) {
    size_t start = out->len;
    gb_status rc = gb_tokenizer_decode(t, ids, n, out);
    if (rc != GB_OK || !strip_space || !t->spm || !gb_spm_space_prefix(t->spm)) return rc;
    /* the encoder's space is the first byte of the first token (as llama.cpp's lstrip) */
    if (n > 0 && out->len > start && out->data[start] == ' ' && t->off[ids[0] + 1] > t->off[ids[0]]) {
        memmove(out->data + start, out->data + start + 1, out->len - start - 1);
        out->len--;
    }
    return GB_OK;
}

/* ---- accessors ---- */

gb_tokenizer_algo gb_tokenizer_algorithm(const gb_tokenizer *t) { return t->algo; }
int64_t gb_tokenizer_bos_id(const gb_tokenizer *t) { return t->bos_id; }
int64_t gb_tokenizer_eos_id(const gb_tokenizer *t) { return t->eos_id; }
int gb_tokenizer_add_bos(const gb_tokenizer *t) { return t->add_bos; }
int gb_tokenizer_add_eos(const gb_tokenizer *t) { return t->add_eos; }

int64_t gb_tokenizer_vocab_size(const gb_tokenizer *t) { return t->n_ids; }

gb_pretok_kind gb_tokenizer_pattern(const gb_tokenizer *t) { return t->pattern; }

const uint8_t *gb_tokenizer_token(const gb_tokenizer *t, uint32_t id, size_t *len) {
    if (id >= t->n_ids || t->kind[id] == TOK_HOLE) {
        if (len) *len = 0;
        return NULL;
    }
    size_t n;
    const uint8_t *b = tok_bytes(t, id, &n);
    if (len) *len = n;
    return b;
}

int64_t gb_tokenizer_special_id(const gb_tokenizer *t, const char *content) {
    size_t n = strlen(content);
    for (int k = 0; k < t->n_specials; k++) {
        size_t len;
        const uint8_t *b = tok_bytes(t, t->specials[k], &len);
        if (len == n && memcmp(b, content, n) == 0) return t->specials[k];
    }
    return -1;
}

static void put_u32(gb_sha256_ctx *c, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gb_sha256_update(c, b, 4);
}

/* The canonical byte string hashed here is defined in docs/tokenizer-format.md. */
void gb_tokenizer_digest(const gb_tokenizer *t, uint8_t digest[32]) {
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    if (t->spm) {
        gb_spm_digest(t, &c);
        gb_sha256_final(&c, digest);
        return;
    }
    gb_sha256_update(&c, "glassbox-tokenizer-digest-1\n", 28);
    put_u32(&c, (uint32_t)t->pattern);
    put_u32(&c, (uint32_t)t->rule);
    put_u32(&c, t->n_ids);
    for (uint32_t i = 0; i < t->n_ids; i++) {
        size_t n;
        const uint8_t *b = tok_bytes(t, i, &n);
        uint8_t k = t->kind[i];
        gb_sha256_update(&c, &k, 1);
        put_u32(&c, (uint32_t)n);
        gb_sha256_update(&c, b, n);
    }
    put_u32(&c, (uint32_t)t->n_merges);
    for (int64_t i = 0; i < t->n_merges; i++) {
        put_u32(&c, t->merges[i].left);
        put_u32(&c, t->merges[i].right);
        put_u32(&c, t->merges[i].result);
    }
    /* what only GGUF sources have, so that the digests of all other tokenizers stay as they were */
    if (t->whole_pieces || t->n_user) {
        gb_sha256_update(&c, "gguf", 4);
        put_u32(&c, (uint32_t)t->whole_pieces);
        put_u32(&c, (uint32_t)t->n_user);
        for (uint32_t i = 0; i < t->n_ids; i++)
            if (t->kind[i] == TOK_SPECIAL && t->ttype[i] == GB_TT_USER) put_u32(&c, i);
    }
    gb_sha256_final(&c, digest);
}

void gb_tokenizer_free(gb_tokenizer *t) {
    if (!t) return;
    gb_free(t->kind);
    gb_free(t->off);
    gb_free(t->bytes);
    gb_free(t->merges);
    gb_free(t->pair_key);
    gb_free(t->pair_val);
    gb_free(t->vocab);
    gb_free(t->specials);
    gb_free(t->ttype);
    gb_spm_free(t->spm);
    gb_free(t);
}

/* ---- building ---- */

gb_status gb_tok_alloc(gb_tokenizer **out, uint32_t n_ids, size_t n_bytes) {
    *out = NULL;
    if (n_ids == 0 || n_ids > GB_TOK_MAX_IDS) return gb_errorf(GB_ERR_ARG, "vocabulary of %u ids", n_ids);
    gb_tokenizer *t = gb_calloc(1, sizeof *t);
    if (!t) return GB_ERR_NOMEM;
    t->n_ids = n_ids;
    t->bos_id = t->eos_id = -1;
    t->kind = gb_calloc(n_ids, 1);
    t->off = gb_calloc((size_t)n_ids + 1, sizeof *t->off);
    t->bytes = gb_alloc(n_bytes);
    if (!t->kind || !t->off || !t->bytes) {
        gb_tokenizer_free(t);
        return GB_ERR_NOMEM;
    }
    *out = t;
    return GB_OK;
}

static uint64_t table_size(uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    return cap;
}

static gb_status pair_put(gb_tokenizer *t, uint32_t l, uint32_t r, uint64_t val, uint64_t *existing) {
    uint64_t key = (uint64_t)l << 32 | r;
    uint64_t i = pair_slot(t, key);
    while (t->pair_key[i] != PAIR_EMPTY) {
        if (t->pair_key[i] == key) {
            *existing = t->pair_val[i];
            return GB_ERR_FORMAT;
        }
        i = (i + 1) & t->pair_mask;
    }
    t->pair_key[i] = key;
    t->pair_val[i] = val;
    t->n_pairs++;
    return GB_OK;
}

static gb_status pair_alloc(gb_tokenizer *t, uint64_t n) {
    uint64_t cap = table_size(n);
    t->pair_shift = 64;
    for (uint64_t c = cap; c > 1; c >>= 1) t->pair_shift--;
    t->pair_key = gb_alloc(cap * sizeof *t->pair_key);
    t->pair_val = gb_alloc(cap * sizeof *t->pair_val);
    if (!t->pair_key || !t->pair_val) return GB_ERR_NOMEM;
    memset(t->pair_key, 0xff, cap * sizeof *t->pair_key);
    t->pair_mask = cap - 1;
    return GB_OK;
}

static int cmp_special(const void *a, const void *b, void *ctx) {
    const gb_tokenizer *t = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint64_t lx = t->off[x + 1] - t->off[x], ly = t->off[y + 1] - t->off[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07;
        else return 0;
        if (n - i <= k) return 0; /* truncated */
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

gb_status gb_tok_specials(gb_tokenizer *t, const char *what) {
    int64_t n_sp = 0;
    for (uint32_t i = 0; i < t->n_ids; i++) n_sp += t->kind[i] == TOK_SPECIAL;
    if (n_sp >= INT32_MAX) return gb_errorf(GB_ERR_FORMAT, "%s: too many specials", what);
    t->n_specials = (int)n_sp;
    t->n_user = 0;
    /* longest first so the longest match wins */
    t->specials = gb_alloc(((size_t)t->n_specials + 1) * sizeof *t->specials);
    if (!t->specials) return GB_ERR_NOMEM;
    int k = 0;
    for (uint32_t i = 0; i < t->n_ids; i++)
        if (t->kind[i] == TOK_SPECIAL) {
            t->specials[k++] = i;
            if (t->ttype && t->ttype[i] == GB_TT_USER) t->n_user++;
        }
    qsort_r(t->specials, (size_t)t->n_specials, sizeof *t->specials, cmp_special, t);
    for (int a = 0; a < t->n_specials; a++) {
        size_t n;
        const uint8_t *b = tok_bytes(t, t->specials[a], &n);
        t->special_first[b[0]] = 1;
        if (a > 0) {
            size_t n0;
            const uint8_t *b0 = tok_bytes(t, t->specials[a - 1], &n0);
            if (n0 == n && memcmp(b0, b, n) == 0)
                return gb_errorf(GB_ERR_FORMAT, "%s: special tokens %u and %u are the same", what,
                                 t->specials[a - 1], t->specials[a]);
        }
    }
    return GB_OK;
}

gb_status gb_tok_finish(gb_tokenizer *t, const char *what) {
    gb_status rc = GB_OK;
    scratch s = {0};
    uint32_t *tmp = NULL;
    int have_byte[256] = {0};
    uint64_t n_bytes_tokens = 0, n_splits = 0;

    /* every id: sane kind and length */
    for (uint32_t i = 0; i < t->n_ids; i++) {
        uint64_t n = t->off[i + 1] - t->off[i];
        if (t->off[i + 1] < t->off[i]) return gb_errorf(GB_ERR_FORMAT, "%s: token %u: bad offsets", what, i);
        switch (t->kind[i]) {
        case TOK_HOLE:
            if (n) return gb_errorf(GB_ERR_FORMAT, "%s: unused id %u has bytes", what, i);
            break;
        case TOK_BYTES:
        case TOK_SPECIAL:
            if (n == 0) return gb_errorf(GB_ERR_FORMAT, "%s: token %u is empty", what, i);
            if (n > GB_TOK_MAX_LEN)
                return gb_errorf(GB_ERR_FORMAT, "%s: token %u is %llu bytes long (limit %u)", what, i,
                                 (unsigned long long)n, GB_TOK_MAX_LEN);
            if (t->kind[i] == TOK_BYTES) {
                n_bytes_tokens++;
                n_splits += n - 1;
            } else {
                if (!valid_utf8(t->bytes + t->off[i], n))
                    return gb_errorf(GB_ERR_FORMAT, "%s: special token %u is not valid UTF-8", what, i);
            }
            break;
        default:
            return gb_errorf(GB_ERR_FORMAT, "%s: token %u has an unknown kind", what, i);
        }
    }

    /* the vocabulary map; single bytes complete and unique */
    t->vocab_mask = table_size(n_bytes_tokens) - 1;
    t->vocab = gb_alloc((t->vocab_mask + 1) * sizeof *t->vocab);
    if (!t->vocab) return GB_ERR_NOMEM;
    memset(t->vocab, 0xff, (t->vocab_mask + 1) * sizeof *t->vocab);
    for (uint32_t i = 0; i < t->n_ids; i++) {
        if (t->kind[i] != TOK_BYTES) continue;
        size_t n;
        const uint8_t *b = tok_bytes(t, i, &n);
        uint64_t h = gb_tok_hash(b, n);
        const uint64_t *dup = vocab_find(t, b, n, h);
        if (dup) {
            uint32_t j = (uint32_t)*dup & 0x7fffffffu;
            /* an explicit merge list may name two ids with the same bytes (a trainer can
             * reach one string by two merges); nothing else may */
            if (t->rule != GB_MERGE_LIST || n == 1)
                return gb_errorf(GB_ERR_FORMAT, "%s: tokens %u and %u have the same bytes", what, j, i);
            continue;
        }
        if (n == 1) {
            have_byte[b[0]] = 1;
            t->byte_id[b[0]] = i;
        }
        uint64_t slot = h & t->vocab_mask;
        while (t->vocab[slot] != VOCAB_EMPTY) slot = (slot + 1) & t->vocab_mask;
        t->vocab[slot] = (h >> 32) << 32 | i;
    }
    for (int b = 0; b < 256; b++)
        if (!have_byte[b]) return gb_errorf(GB_ERR_FORMAT, "%s: no token for the byte 0x%02x", what, b);

    /* the pair map */
    if (t->rule == GB_MERGE_LIST) {
        if ((rc = pair_alloc(t, (uint64_t)t->n_merges)) != GB_OK) goto done;
        for (int64_t r = 0; r < t->n_merges; r++) {
            gb_tok_merge m = t->merges[r];
            if (m.left >= t->n_ids || m.right >= t->n_ids || m.result >= t->n_ids || t->kind[m.left] != TOK_BYTES ||
                t->kind[m.right] != TOK_BYTES || t->kind[m.result] != TOK_BYTES) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: merge %lld (%u %u -> %u) names an id that is not a token", what,
                               (long long)r, m.left, m.right, m.result);
                goto done;
            }
            size_t nl, nr, nres;
            const uint8_t *bl = tok_bytes(t, m.left, &nl), *br = tok_bytes(t, m.right, &nr);
            const uint8_t *bres = tok_bytes(t, m.result, &nres);
            if (nres != nl + nr || memcmp(bres, bl, nl) != 0 || memcmp(bres + nl, br, nr) != 0) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: merge %lld: token %u is not tokens %u and %u joined", what,
                               (long long)r, m.result, m.left, m.right);
                goto done;
            }
            uint64_t old;
            if (pair_put(t, m.left, m.right, (uint64_t)r << 32 | m.result, &old) != GB_OK) {
                rc = gb_errorf(GB_ERR_FORMAT, "%s: merge %lld repeats merge %llu (%u %u)", what, (long long)r,
                               (unsigned long long)(old >> 32), m.left, m.right);
                goto done;
            }
        }
    } else {
        /* tiktoken: every split of every token into two tokens is a pair that makes it */
        if ((rc = pair_alloc(t, n_splits)) != GB_OK) goto done;
        for (uint32_t i = 0; i < t->n_ids; i++) {
            if (t->kind[i] != TOK_BYTES) continue;
            size_t n;
            const uint8_t *b = tok_bytes(t, i, &n);
            for (size_t k = 1; k < n; k++) {
                int64_t l = gb_tok_lookup(t, b, k), r;
                if (l < 0 || (r = gb_tok_lookup(t, b + k, n - k)) < 0) continue;
                uint64_t old;
                if (pair_put(t, (uint32_t)l, (uint32_t)r, (uint64_t)i << 32 | i, &old) != GB_OK) {
                    rc = gb_errorf(GB_ERR_FORMAT, "%s: tokens %u and %llu have the same bytes", what, i,
                                   (unsigned long long)(old >> 32));
                    goto done;
                }
            }
        }
    }

    /* whole-piece shortcut: under tiktoken's rule a piece that is a token is that token;
     * under a merge list only where BPE gives that token anyway */
    size_t longest = 0;
    for (uint32_t i = 0; i < t->n_ids; i++)
        if (t->kind[i] == TOK_BYTES && t->off[i + 1] - t->off[i] > longest) longest = t->off[i + 1] - t->off[i];
    tmp = gb_alloc(longest * sizeof *tmp);
    if (!tmp) { rc = GB_ERR_NOMEM; goto done; }
    for (uint64_t slot = 0; slot <= t->vocab_mask; slot++) {
        uint64_t v = t->vocab[slot];
        if (v == VOCAB_EMPTY) continue;
        if (t->rule == GB_MERGE_RANKS || t->whole_pieces) {
            t->vocab[slot] = v | DIRECT_BIT;
            continue;
        }
        size_t n, m;
        const uint8_t *b = tok_bytes(t, (uint32_t)v & 0x7fffffffu, &n);
        if ((rc = bpe_piece(t, &s, b, n, tmp, &m)) != GB_OK) goto done;
        if (m == 1) t->vocab[slot] = (v >> 32) << 32 | DIRECT_BIT | tmp[0]; /* the dup BPE reaches */
    }

    rc = gb_tok_specials(t, what);
done:
    scratch_free(&s);
    gb_free(tmp);
    return rc;
}

gb_status gb_tokenizer_from_merges(gb_tokenizer **out, gb_pretok_kind pattern, const uint32_t (*merges)[2],
                                   int64_t n_merges, const char *const *specials, int n_specials) {
    *out = NULL;
    if (n_merges < 0 || n_specials < 0 || (uint64_t)n_merges + (uint64_t)n_specials > GB_TOK_MAX_IDS - 256)
        return gb_errorf(GB_ERR_ARG, "tokenizer: %lld merges and %d specials are too many", (long long)n_merges,
                         n_specials);
    if (pattern != GB_PRETOK_GPT2 && pattern != GB_PRETOK_CL100K)
        return gb_errorf(GB_ERR_ARG, "tokenizer: unknown pre-tokenizer pattern %d", (int)pattern);
    uint32_t n_ids = (uint32_t)(256 + n_merges + n_specials);
    /* lengths first: each merged token is its parts joined */
    uint64_t *len = gb_calloc(n_ids, sizeof *len);
    if (!len) return GB_ERR_NOMEM;
    gb_status rc = GB_OK;
    gb_tokenizer *t = NULL;
    uint64_t total = 256;
    for (int i = 0; i < 256; i++) len[i] = 1;
    for (int64_t i = 0; i < n_merges; i++) {
        uint32_t a = merges[i][0], b = merges[i][1];
        if (a >= 256 + (uint64_t)i || b >= 256 + (uint64_t)i) {
            rc = gb_errorf(GB_ERR_ARG, "tokenizer: merge %lld (%u %u) uses an id not made yet", (long long)i, a, b);
            goto done;
        }
        len[256 + i] = len[a] + len[b];
        if (len[256 + i] > GB_TOK_MAX_LEN) {
            rc = gb_errorf(GB_ERR_ARG, "tokenizer: merge %lld makes a token of %llu bytes (limit %u)", (long long)i,
                           (unsigned long long)len[256 + i], GB_TOK_MAX_LEN);
            goto done;
        }
        total += len[256 + i];
        if (total > GB_TOK_MAX_BYTES) {
            rc = gb_errorf(GB_ERR_ARG, "tokenizer: the merges make over %llu bytes of tokens",
                           (unsigned long long)GB_TOK_MAX_BYTES);
            goto done;
        }
    }
    for (int i = 0; i < n_specials; i++) {
        size_t n = specials[i] ? strlen(specials[i]) : 0;
        if (n == 0 || n > GB_TOK_MAX_LEN || !valid_utf8((const uint8_t *)specials[i], n)) {
            rc = gb_errorf(GB_ERR_ARG, "tokenizer: special token %d must be 1 to %u bytes of UTF-8", i, GB_TOK_MAX_LEN);
            goto done;
        }
        len[256 + n_merges + i] = n;
        total += n;
    }
    if ((rc = gb_tok_alloc(&t, n_ids, (size_t)total)) != GB_OK) goto done;
    t->pattern = pattern;
    t->rule = GB_MERGE_LIST;
    t->n_merges = n_merges;
    t->merges = gb_alloc(((size_t)n_merges + 1) * sizeof *t->merges);
    if (!t->merges) { rc = GB_ERR_NOMEM; goto done; }
    uint64_t o = 0;
    for (uint32_t i = 0; i < n_ids; i++) {
        t->off[i] = o;
        uint8_t *dst = t->bytes + o;
        if (i < 256) {
            t->kind[i] = TOK_BYTES;
            dst[0] = (uint8_t)i;
        } else if (i < 256 + n_merges) {
            uint32_t a = merges[i - 256][0], b = merges[i - 256][1];
            t->kind[i] = TOK_BYTES;
            memcpy(dst, t->bytes + t->off[a], len[a]);
            memcpy(dst + len[a], t->bytes + t->off[b], len[b]);
            t->merges[i - 256] = (gb_tok_merge){a, b, i};
        } else {
            t->kind[i] = TOK_SPECIAL;
            memcpy(dst, specials[i - 256 - n_merges], len[i]);
        }
        o += len[i];
    }
    t->off[n_ids] = o;
    if ((rc = gb_tok_finish(t, "tokenizer")) != GB_OK) goto done;
    *out = t;
    t = NULL;
done:
    gb_tokenizer_free(t);
    gb_free(len);
    return rc;
}
