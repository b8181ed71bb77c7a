/* glassbox — byte-level BPE training (the algorithm is documented in docs/bpe-training.md).
 *
 * 1. Each input file is read whole and cut at the special-token strings (those are never
 *    trained on); each piece is split into pre-tokens by the GPT-2 or cl100k pattern.
 * 2. Distinct pre-tokens ("words") are counted in a hash map. From here on only the
 *    distinct words matter: a word is a sequence of symbol ids (bytes at first) with a
 *    weight, the number of times it occurred.
 * 3. Every adjacent pair of symbols inside a word is counted (weighted) in a pair table;
 *    each pair also keeps the list of words it occurs in. A max-heap orders pairs by
 *    (count desc, left id asc, right id asc); entries are lazily deleted: a popped entry
 *    whose count is stale is pushed back with the true count.
 * 4. Each step pops the best pair (a,b), gives it the next id c, and rewrites only the words
 *    on (a,b)'s list, left to right, updating the counts of the neighbouring pairs. All
 *    pairs whose count grows contain c, so only they are pushed; every other count only
 *    shrinks, which is what makes lazy deletion exact.
 *
 * Everything is single-threaded and independent of the order of words and files, so the
 * same text, pattern, specials and vocab size always give the same merges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/error.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/progress.h"
#include "glassbox/sys.h"
#include "glassbox/tokenizer.h"
#include "tokenizer/pretok.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

#define MAX_VOCAB ((int64_t)GB_TOK_MAX_IDS) /* what a tokenizer may hold */

static const char *const default_specials[] = {"<|endoftext|>"};

/* ---- growable arrays ---- */

static gb_status grow(void **ptr, int64_t *cap, int64_t need, size_t elt) {
    if (need <= *cap) return GB_OK;
    int64_t ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    size_t bytes;
    if (!gb_mul_ok((size_t)ncap, elt, &bytes)) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    gb_status rc = gb_realloc_array(ptr, (size_t)ncap, elt);
    if (rc == GB_OK) *cap = ncap;
    return rc;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, n);
    h = (h ^ v) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static inline uint64_t hash_pair(uint32_t a, uint32_t b) {
    uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* ---- distinct words ---- */

/* One distinct word; one cache line holds two, so a lookup touches the slot, the entry and
 * the bytes (counting is bound by memory latency on corpora with many distinct words). */
typedef struct {
    uint64_t hash;
    int64_t off;   /* start in bytes (later: in syms) */
    int64_t len;   /* length in bytes (later: in symbols) */
    int64_t count; /* occurrences */
} word;

typedef struct {
    uint8_t *bytes; /* all distinct words, back to back */
    int64_t nbytes, capbytes;
    word *w; /* [n] */
    int64_t n, cap;
    uint64_t *slots; /* [nslots] hash's high 32 bits << 32 | (index + 1); 0 = empty */
    int64_t nslots;
} word_table;

#define TAG(h) ((h) & 0xffffffff00000000ull)

static gb_status words_rehash(word_table *t, int64_t nslots) {
    uint64_t *slots = gb_calloc((size_t)nslots, sizeof *slots);
    if (!slots) return GB_ERR_NOMEM;
    for (int64_t i = 0; i < t->n; i++) {
        int64_t s = (int64_t)(t->w[i].hash & (uint64_t)(nslots - 1));
        while (slots[s]) s = (s + 1) & (nslots - 1);
        slots[s] = TAG(t->w[i].hash) | (uint64_t)(i + 1);
    }
    gb_free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return GB_OK;
}

static gb_status words_add(word_table *t, const uint8_t *bytes, size_t n) {
    uint64_t h = hash_bytes(bytes, n), tag = TAG(h);
    int64_t mask = t->nslots - 1, s = (int64_t)(h & (uint64_t)mask);
    for (;; s = (s + 1) & mask) {
        uint64_t e = t->slots[s];
        if (!e) break;
        if (TAG(e) != tag) continue;
        word *w = &t->w[(e & 0xffffffffu) - 1];
        if (w->hash == h && w->len == (int64_t)n && !memcmp(t->bytes + w->off, bytes, n)) {
            w->count++;
            return GB_OK;
        }
    }
    gb_status rc;
    if (t->n >= (int64_t)UINT32_MAX - 1) return gb_errorf(GB_ERR_NOMEM, "too many distinct words");
    if ((rc = grow((void **)&t->bytes, &t->capbytes, t->nbytes + (int64_t)n, 1)) != GB_OK) return rc;
    if ((rc = grow((void **)&t->w, &t->cap, t->n + 1, sizeof *t->w)) != GB_OK) return rc;
    int64_t i = t->n++;
    memcpy(t->bytes + t->nbytes, bytes, n);
    t->w[i] = (word){.hash = h, .off = t->nbytes, .len = (int64_t)n, .count = 1};
    t->nbytes += (int64_t)n;
    t->slots[s] = tag | (uint64_t)(i + 1); /* s is the empty slot the search ended on */
    if (2 * t->n > t->nslots) return words_rehash(t, 2 * t->nslots);
    return GB_OK;
}

static void words_free(word_table *t) {
    gb_free(t->bytes);
    gb_free(t->w);
    gb_free(t->slots);
}

/* Position of the next special token at or after pos (earliest start, longest on ties),
 * or len if none; *which gets its index. next[k] caches where special k occurs next
 * (SIZE_MAX: not searched yet). */
static size_t next_special(const uint8_t *text, size_t len, size_t pos, const char *const *specials,
                           const size_t *slen, int n, size_t *next, int *which) {
    size_t best = len;
    *which = -1;
    for (int k = 0; k < n; k++) {
        if (next[k] == SIZE_MAX || next[k] < pos) {
            const uint8_t *hit = memmem(text + pos, len - pos, specials[k], slen[k]);
            next[k] = hit ? (size_t)(hit - text) : len;
        }
        if (next[k] < len && (next[k] < best || (next[k] == best && slen[k] > slen[*which]))) {
            best = next[k];
            *which = k;
        }
    }
    return best;
}

/* Splits one file's text into words (cut at specials first) and counts them. */
static gb_status count_words(word_table *t, const uint8_t *text, size_t len, gb_pretok_kind kind,
                             const char *const *specials, const size_t *slen, int n_specials,
                             gb_bpe_train_stats *st, int64_t *n_special_hits, gb_progress *pr,
                             int64_t done_before) {
    gb_status rc = GB_OK;
    size_t *next = malloc(((size_t)n_specials + 1) * sizeof *next);
    if (!next) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    for (int k = 0; k < n_specials; k++) next[k] = SIZE_MAX;
    size_t pos = 0, polled = 0;
    while (pos < len) {
        int which;
        size_t end = next_special(text, len, pos, specials, slen, n_specials, next, &which);
        /* pre-tokenize [pos, end) as a text of its own, so no pre-token crosses a special */
        const uint8_t *seg = text + pos;
        size_t seglen = end - pos, p = 0;
        while (p < seglen) {
            size_t n = gb_pretok_next(kind, seg, seglen, p);
            GB_ASSERT(n >= 1 && n <= seglen - p);
            if ((rc = words_add(t, seg + p, n)) != GB_OK) goto done;
            st->n_pretokens++;
            p += n;
            if (pos + p - polled >= (1u << 16)) {
                polled = pos + p;
                if (gb_interrupted()) {
                    rc = gb_errorf(GB_ERR_INTERRUPTED, "interrupted while counting words");
                    goto done;
                }
                gb_progress_update(pr, done_before + (int64_t)polled, NULL);
            }
        }
        pos = end;
        if (which >= 0) {
            (*n_special_hits)++;
            pos += slen[which];
        }
    }
done:
    free(next);
    return rc;
}

/* ---- the vocabulary so far: token bytes, and a set to refuse a second id for the same bytes ---- */

typedef struct {
    uint8_t *bytes;
    int64_t nbytes, capbytes;
    int64_t *off, *len; /* [n] token id -> its bytes */
    int64_t n, cap;
    uint32_t *slots; /* id + 1, 0 = empty; open addressing over the bytes' hash */
    int64_t nslots;
    int64_t max_bytes; /* what all merged tokens together may take (the tokenizer's limit) */
    uint8_t *scratch;  /* a candidate token's bytes */
    int64_t capscratch;
} token_set;

static int64_t tokens_find(const token_set *t, const uint8_t *p, size_t n, int64_t *slot) {
    int64_t mask = t->nslots - 1;
    for (int64_t s = (int64_t)(hash_bytes(p, n) & (uint64_t)mask);; s = (s + 1) & mask) {
        uint32_t e = t->slots[s];
        if (!e) {
            *slot = s;
            return -1;
        }
        if (t->len[e - 1] == (int64_t)n && !memcmp(t->bytes + t->off[e - 1], p, n)) return e - 1;
    }
}

/* Adds token id t->n with the bytes of a followed by b; the caller checked it is new. */
static gb_status tokens_add(token_set *t, int64_t a, int64_t b) {
    gb_status rc;
    int64_t n = t->len[a] + t->len[b], cap = t->cap;
    if ((rc = grow((void **)&t->bytes, &t->capbytes, t->nbytes + n, 1)) != GB_OK) return rc;
    if ((rc = grow((void **)&t->off, &cap, t->n + 1, sizeof *t->off)) != GB_OK) return rc;
    cap = t->cap;
    if ((rc = grow((void **)&t->len, &cap, t->n + 1, sizeof *t->len)) != GB_OK) return rc;
    t->cap = cap;
    memcpy(t->bytes + t->nbytes, t->bytes + t->off[a], (size_t)t->len[a]);
    memcpy(t->bytes + t->nbytes + t->len[a], t->bytes + t->off[b], (size_t)t->len[b]);
    int64_t id = t->n++, slot;
    t->off[id] = t->nbytes;
    t->len[id] = n;
    t->nbytes += n;
    if (4 * t->n > t->nslots) { /* keep the load under 1/4: lookups of new pairs mostly miss */
        int64_t nslots = 2 * t->nslots;
        uint32_t *slots = gb_calloc((size_t)nslots, sizeof *slots);
        if (!slots) return GB_ERR_NOMEM;
        gb_free(t->slots);
        t->slots = slots;
        t->nslots = nslots;
        for (int64_t i = 0; i < t->n; i++) {
            GB_ASSERT(tokens_find(t, t->bytes + t->off[i], (size_t)t->len[i], &slot) < 0);
            t->slots[slot] = (uint32_t)(i + 1);
        }
        return GB_OK;
    }
    GB_ASSERT(tokens_find(t, t->bytes + t->off[id], (size_t)n, &slot) < 0);
    t->slots[slot] = (uint32_t)(id + 1);
    return GB_OK;
}

static gb_status tokens_init(token_set *t) {
    memset(t, 0, sizeof *t);
    t->nslots = 1 << 12;
    t->cap = 512;
    t->capbytes = 4096;
    t->slots = gb_calloc((size_t)t->nslots, sizeof *t->slots);
    t->bytes = gb_alloc((size_t)t->capbytes);
    t->off = gb_alloc((size_t)t->cap * sizeof *t->off);
    t->len = gb_alloc((size_t)t->cap * sizeof *t->len);
    if (!t->slots || !t->bytes || !t->off || !t->len) return GB_ERR_NOMEM;
    for (int i = 0; i < 256; i++) {
        int64_t slot;
        t->bytes[i] = (uint8_t)i;
        t->off[i] = i;
        t->len[i] = 1;
        t->n = t->nbytes = i + 1;
        GB_ASSERT(tokens_find(t, t->bytes + i, 1, &slot) < 0);
        t->slots[slot] = (uint32_t)(i + 1);
    }
    return GB_OK;
}

/* Would merging (a,b) give a token that is new and within the tokenizer's size limits?
 * 1 yes, 0 no, -1 out of memory. */
static int tokens_allow(token_set *t, uint32_t a, uint32_t b) {
    int64_t la = t->len[a], lb = t->len[b], slot;
    if (la + lb > (int64_t)GB_TOK_MAX_LEN || t->nbytes + la + lb > t->max_bytes) return 0;
    if (grow((void **)&t->scratch, &t->capscratch, la + lb, 1) != GB_OK) return -1;
    memcpy(t->scratch, t->bytes + t->off[a], (size_t)la);
    memcpy(t->scratch + la, t->bytes + t->off[b], (size_t)lb);
    return tokens_find(t, t->scratch, (size_t)(la + lb), &slot) < 0;
}

static void tokens_free(token_set *t) {
    gb_free(t->scratch);
    gb_free(t->bytes);
    gb_free(t->off);
    gb_free(t->len);
    gb_free(t->slots);
}

/* ---- pairs ---- */

typedef struct {
    int64_t count;
    uint32_t a, b;
} heap_entry;

typedef struct {
    /* per pair */
    uint32_t *a, *b;
    int64_t *count;
    uint32_t **where; /* words the pair occurs (or occurred) in; may hold stale entries */
    uint32_t *nwhere, *capwhere;
    uint32_t *touched_at; /* merge step that last grew this pair, + 1 */
    int64_t n, cap;
    uint32_t *slots; /* pair index + 1 */
    int64_t nslots;
    /* heap */
    heap_entry *heap;
    int64_t nheap, capheap;
    /* pairs grown in the current step */
    uint32_t *touched;
    int64_t ntouched, captouched;
} pair_table;

static gb_status pairs_rehash(pair_table *t, int64_t nslots) {
    uint32_t *slots = gb_calloc((size_t)nslots, sizeof *slots);
    if (!slots) return GB_ERR_NOMEM;
    for (int64_t i = 0; i < t->n; i++) {
        int64_t s = (int64_t)(hash_pair(t->a[i], t->b[i]) & (uint64_t)(nslots - 1));
        while (slots[s]) s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    gb_free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return GB_OK;
}

/* Index of pair (a,b), created with count 0 if new; -1 on allocation failure. */
static int64_t pair_get(pair_table *t, uint32_t a, uint32_t b) {
    int64_t mask = t->nslots - 1;
    int64_t s = (int64_t)(hash_pair(a, b) & (uint64_t)mask);
    for (;; s = (s + 1) & mask) {
        uint32_t e = t->slots[s];
        if (!e) break;
        if (t->a[e - 1] == a && t->b[e - 1] == b) return e - 1;
    }
    if (t->n >= (int64_t)UINT32_MAX - 1) return -1;
    if (t->n == t->cap) {
        int64_t cap = t->cap, c;
        void **arrays[] = {(void **)&t->a,     (void **)&t->b,        (void **)&t->count,
                           (void **)&t->where, (void **)&t->nwhere,   (void **)&t->capwhere,
                           (void **)&t->touched_at};
        size_t elts[] = {sizeof *t->a,     sizeof *t->b,        sizeof *t->count,
                         sizeof *t->where, sizeof *t->nwhere,   sizeof *t->capwhere,
                         sizeof *t->touched_at};
        for (int k = 0; k < 7; k++) {
            c = cap;
            if (grow(arrays[k], &c, t->n + 1, elts[k]) != GB_OK) return -1;
        }
        t->cap = c;
    }
    int64_t i = t->n++;
    t->a[i] = a;
    t->b[i] = b;
    t->count[i] = 0;
    t->where[i] = NULL;
    t->nwhere[i] = t->capwhere[i] = 0;
    t->touched_at[i] = 0;
    t->slots[s] = (uint32_t)(i + 1);
    if (2 * t->n > t->nslots && pairs_rehash(t, 2 * t->nslots) != GB_OK) return -1;
    return i;
}

static gb_status pair_note_word(pair_table *t, int64_t p, uint32_t w) {
    uint32_t n = t->nwhere[p];
    if (n && t->where[p][n - 1] == w) return GB_OK; /* cheap de-duplication; the rest is stamped */
    if (n == t->capwhere[p]) {
        if (n >= UINT32_MAX / 2) return gb_errorf(GB_ERR_NOMEM, "out of memory");
        uint32_t ncap = n ? 2 * n : 4;
        if (gb_realloc_array((void **)&t->where[p], ncap, sizeof(uint32_t)) != GB_OK) return GB_ERR_NOMEM;
        t->capwhere[p] = ncap;
    }
    t->where[p][t->nwhere[p]++] = w;
    return GB_OK;
}

/* Heap order: higher count first; on equal counts the smaller (a, b). */
static inline int heap_before(const heap_entry *x, const heap_entry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static void heap_down(heap_entry *h, int64_t n, int64_t i) {
    heap_entry e = h[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_before(&h[c + 1], &h[c])) c++;
        if (!heap_before(&h[c], &e)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

static gb_status heap_push(pair_table *t, int64_t count, uint32_t a, uint32_t b) {
    gb_status rc = grow((void **)&t->heap, &t->capheap, t->nheap + 1, sizeof *t->heap);
    if (rc != GB_OK) return rc;
    heap_entry e = {count, a, b};
    int64_t i = t->nheap++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!heap_before(&e, &t->heap[parent])) break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = e;
    return GB_OK;
}

static heap_entry heap_pop(pair_table *t) {
    heap_entry top = t->heap[0];
    t->heap[0] = t->heap[--t->nheap];
    if (t->nheap) heap_down(t->heap, t->nheap, 0);
    return top;
}

static void pairs_free(pair_table *t) {
    for (int64_t i = 0; i < t->n; i++) gb_free(t->where[i]);
    gb_free(t->a);
    gb_free(t->b);
    gb_free(t->count);
    gb_free(t->where);
    gb_free(t->nwhere);
    gb_free(t->capwhere);
    gb_free(t->touched_at);
    gb_free(t->slots);
    gb_free(t->heap);
    gb_free(t->touched);
}

/* Adds delta to pair (x,y). A growing pair contains the new symbol: remember word w on it
 * and mark it for a heap push at the end of this step (step is the merge number + 1). */
static gb_status pair_add(pair_table *t, uint32_t x, uint32_t y, int64_t delta, uint32_t w,
                          uint32_t step) {
    int64_t p = pair_get(t, x, y);
    if (p < 0) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    t->count[p] += delta;
    if (delta > 0) {
        gb_status rc = pair_note_word(t, p, w);
        if (rc != GB_OK) return rc;
        if (t->touched_at[p] != step) {
            t->touched_at[p] = step;
            rc = grow((void **)&t->touched, &t->captouched, t->ntouched + 1, sizeof *t->touched);
            if (rc != GB_OK) return rc;
            t->touched[t->ntouched++] = (uint32_t)p;
        }
    }
    return GB_OK;
}

/* Replaces every (a,b) in word w, left to right, by c, keeping the pair counts exact. */
static gb_status merge_word(pair_table *t, uint32_t *s, int64_t *len, int64_t cnt, uint32_t w,
                            uint32_t a, uint32_t b, uint32_t c, uint32_t step) {
    int64_t n = *len, i = 0, j = 0;
    gb_status rc = GB_OK;
    while (i < n) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            /* the left neighbour is already rewritten (it may be a c), the right one is not */
            if (j > 0) {
                if ((rc = pair_add(t, s[j - 1], c, cnt, w, step)) != GB_OK) return rc;
                if ((rc = pair_add(t, s[j - 1], a, -cnt, w, step)) != GB_OK) return rc;
            }
            if (i + 2 < n) {
                if ((rc = pair_add(t, c, s[i + 2], cnt, w, step)) != GB_OK) return rc;
                if ((rc = pair_add(t, b, s[i + 2], -cnt, w, step)) != GB_OK) return rc;
            }
            if ((rc = pair_add(t, a, b, -cnt, w, step)) != GB_OK) return rc;
            s[j++] = c;
            i += 2;
        } else {
            s[j++] = s[i++];
        }
    }
    *len = j;
    return GB_OK;
}

static gb_status check_opts(const gb_bpe_train_opts *opts, const char *const *specials, int n_specials,
                            int n_paths) {
    int64_t min = 256 + (int64_t)n_specials;
    if (opts->vocab_size < min)
        return gb_errorf(GB_ERR_ARG,
                         "vocab size %lld is too small: the minimum is %lld (256 byte tokens + %d "
                         "special token%s)",
                         (long long)opts->vocab_size, (long long)min, n_specials,
                         n_specials == 1 ? "" : "s");
    if (opts->vocab_size > MAX_VOCAB)
        return gb_errorf(GB_ERR_ARG, "vocab size %lld is too large: the maximum is %lld",
                         (long long)opts->vocab_size, (long long)MAX_VOCAB);
    if (opts->pattern != GB_PRETOK_GPT2 && opts->pattern != GB_PRETOK_CL100K)
        return gb_errorf(GB_ERR_ARG, "unknown pre-tokenization pattern %d", (int)opts->pattern);
    if (n_paths <= 0) return gb_errorf(GB_ERR_ARG, "no input files to train on");
    for (int k = 0; k < n_specials; k++) {
        if (!specials[k] || !specials[k][0]) return gb_errorf(GB_ERR_ARG, "a special token is empty");
        const uint8_t *sp = (const uint8_t *)specials[k];
        size_t n = strlen(specials[k]);
        if (n > GB_TOK_MAX_LEN)
            return gb_errorf(GB_ERR_ARG, "special token %d is longer than %u bytes", k + 1, GB_TOK_MAX_LEN);
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            i += (size_t)gb_utf8_decode(sp + i, n - i, &cp);
            if (cp == GB_UNICODE_INVALID)
                return gb_errorf(GB_ERR_ARG, "special token %d is not valid UTF-8", k + 1);
        }
        for (int j = 0; j < k; j++)
            if (!strcmp(specials[j], specials[k]))
                return gb_errorf(GB_ERR_ARG, "special token '%s' is given twice", specials[k]);
    }
    return GB_OK;
}

gb_status gb_bpe_train(gb_tokenizer **out, const gb_bpe_train_opts *opts, const char *const *paths,
                       int n_paths, gb_bpe_train_stats *stats) {
    double t0 = gb_time_now();
    *out = NULL;
    const char *const *specials = opts->specials ? opts->specials : default_specials;
    int n_specials = opts->specials ? opts->n_specials : 1;
    gb_bpe_train_stats st = {0};
    word_table words = {0};
    pair_table pairs = {0};
    token_set toks = {0};
    uint32_t *syms = NULL, *stamp = NULL;
    uint32_t(*merges)[2] = NULL;
    int64_t capmerges = 0;
    size_t *slen = NULL;
    char *text = NULL;
    gb_progress pr;
    int pr_open = 0; /* a progress line may be waiting for its newline */
    int64_t total_in = 0, n_special_hits = 0;

    gb_status rc = check_opts(opts, specials, n_specials, n_paths);
    if (rc != GB_OK) goto done;
    slen = calloc((size_t)n_specials + 1, sizeof *slen);
    if (!slen) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n_specials; k++) slen[k] = strlen(specials[k]);

    /* 1-2: read, cut at specials, pre-tokenize, count distinct words */
    words.nslots = 1 << 12;
    if (!(words.slots = gb_calloc((size_t)words.nslots, sizeof *words.slots))) {
        rc = GB_ERR_NOMEM;
        goto done;
    }
    gb_progress_begin(&pr, "bpe: counting words", 0, "B");
    pr.quiet |= !opts->show_progress;
    pr_open = 1;
    for (int f = 0; f < n_paths; f++) {
        size_t len;
        if ((rc = gb_read_file(paths[f], 0, &text, &len)) != GB_OK) goto done;
        rc = count_words(&words, (const uint8_t *)text, len, opts->pattern, specials, slen, n_specials,
                         &st, &n_special_hits, &pr, total_in);
        gb_free(text);
        text = NULL;
        if (rc != GB_OK) goto done;
        total_in += (int64_t)len;
    }
    st.input_bytes = total_in;
    st.n_unique = words.n;
    if (total_in == 0) {
        if (n_paths == 1)
            rc = gb_errorf(GB_ERR_ARG, "%s: input is empty, nothing to train on", paths[0]);
        else
            rc = gb_errorf(GB_ERR_ARG, "%s and the %d other input files are all empty, nothing to train on",
                           paths[0], n_paths - 1);
        goto done;
    }
    gb_progress_update(&pr, total_in, NULL);
    gb_progress_end(&pr, NULL);
    pr_open = 0;

    /* 3: words become symbol sequences; count all pairs */
    size_t nsyms = words.nbytes ? (size_t)words.nbytes : 1;
    syms = gb_alloc(nsyms * sizeof *syms);
    stamp = gb_calloc((size_t)words.n + 1, sizeof *stamp);
    if (!syms || !stamp) {
        rc = GB_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < words.nbytes; i++) syms[i] = words.bytes[i];
    gb_free(words.bytes);
    words.bytes = NULL;
    pairs.nslots = 1 << 12;
    while (pairs.nslots < 4 * words.n && pairs.nslots < ((int64_t)1 << 30)) pairs.nslots *= 2;
    if (!(pairs.slots = gb_calloc((size_t)pairs.nslots, sizeof *pairs.slots))) {
        rc = GB_ERR_NOMEM;
        goto done;
    }
    for (int64_t w = 0; w < words.n; w++) {
        const uint32_t *s = syms + words.w[w].off;
        for (int64_t i = 0; i + 1 < words.w[w].len; i++) {
            int64_t p = pair_get(&pairs, s[i], s[i + 1]);
            if (p < 0) {
                rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
                goto done;
            }
            pairs.count[p] += words.w[w].count;
            if ((rc = pair_note_word(&pairs, p, (uint32_t)w)) != GB_OK) goto done;
        }
    }
    if ((rc = grow((void **)&pairs.heap, &pairs.capheap, pairs.n + 1, sizeof *pairs.heap)) != GB_OK)
        goto done;
    for (int64_t p = 0; p < pairs.n; p++)
        pairs.heap[pairs.nheap++] = (heap_entry){pairs.count[p], pairs.a[p], pairs.b[p]};
    for (int64_t i = pairs.nheap / 2 - 1; i >= 0; i--) heap_down(pairs.heap, pairs.nheap, i);

    /* 4: merge the best pair until the vocabulary is full or no pair occurs twice */
    if ((rc = tokens_init(&toks)) != GB_OK) goto done;
    toks.max_bytes = (int64_t)GB_TOK_MAX_BYTES;
    for (int k = 0; k < n_specials; k++) toks.max_bytes -= (int64_t)slen[k];
    int64_t target = opts->vocab_size - 256 - n_specials;
    gb_progress_begin(&pr, "bpe: merges", target, "merges");
    pr.quiet |= !opts->show_progress;
    pr_open = 1;
    int64_t m = 0;
    for (; m < target; m++) {
        if (gb_interrupted()) {
            rc = gb_errorf(GB_ERR_INTERRUPTED, "interrupted after %lld merges", (long long)m);
            goto done;
        }
        heap_entry top = {0};
        int64_t p = -1;
        while (pairs.nheap > 0) {
            top = heap_pop(&pairs);
            p = pair_get(&pairs, top.a, top.b);
            if (p < 0) {
                rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
                goto done;
            }
            if (pairs.count[p] != top.count) {
                /* stale: the count only shrank since this entry was pushed */
                if (pairs.count[p] > 0 && (rc = heap_push(&pairs, pairs.count[p], top.a, top.b)) != GB_OK)
                    goto done;
            } else {
                int ok = top.count < 2 ? 1 : tokens_allow(&toks, top.a, top.b);
                if (ok < 0) {
                    rc = GB_ERR_NOMEM;
                    goto done;
                }
                if (ok) break;
            }
            /* else: a token with these bytes exists already (or would be too long); this pair
             * can never become allowed, since both its tokens stay as they are: drop it */
            p = -1;
        }
        if (p < 0 || top.count < 2) break; /* no pair occurs twice: nothing worth a new id */
        if ((rc = grow((void **)&merges, &capmerges, m + 1, sizeof *merges)) != GB_OK) goto done;
        uint32_t a = top.a, b = top.b, c = (uint32_t)(256 + m), step = (uint32_t)(m + 1);
        merges[m][0] = a;
        merges[m][1] = b;
        if ((rc = tokens_add(&toks, a, b)) != GB_OK) goto done;
        pairs.ntouched = 0;
        /* take (a,b)'s word list: only pairs containing c grow in this step, so nothing
         * appends to it while we walk it, and (a,b) never occurs again afterwards */
        uint32_t *where = pairs.where[p];
        uint32_t nwhere = pairs.nwhere[p];
        pairs.where[p] = NULL;
        pairs.nwhere[p] = pairs.capwhere[p] = 0;
        for (uint32_t k = 0; k < nwhere; k++) {
            uint32_t w = where[k];
            if (stamp[w] == step) continue;
            stamp[w] = step;
            rc = merge_word(&pairs, syms + words.w[w].off, &words.w[w].len, words.w[w].count, w, a, b, c,
                            step);
            if (rc != GB_OK) {
                gb_free(where);
                goto done;
            }
        }
        gb_free(where);
        GB_ASSERT(pairs.count[p] == 0);
        for (int64_t k = 0; k < pairs.ntouched; k++) {
            uint32_t q = pairs.touched[k];
            if (pairs.count[q] > 0 && (rc = heap_push(&pairs, pairs.count[q], pairs.a[q], pairs.b[q])) != GB_OK)
                goto done;
        }
        gb_progress_update(&pr, m + 1, NULL);
    }
    st.n_merges = m;
    gb_progress_end(&pr, m < target ? "(stopped early: no pair occurs twice)" : NULL);
    pr_open = 0;

    /* tokens per byte of the training text: final word lengths × counts, one per special */
    int64_t ntok = n_special_hits;
    for (int64_t w = 0; w < words.n; w++) ntok += words.w[w].len * words.w[w].count;
    st.tokens_per_byte = total_in ? (double)ntok / (double)total_in : 0;

    rc = gb_tokenizer_from_merges(out, opts->pattern, (const uint32_t(*)[2])merges, m, specials,
                                  n_specials);
    if (rc != GB_OK) goto done;
    st.seconds = gb_time_now() - t0;
    if (stats) *stats = st;
done:
    if (pr_open && pr.tty && pr.drawn) fputc('\n', pr.out); /* the error goes on a line of its own */
    gb_free(text);
    free(slen);
    gb_free(syms);
    gb_free(stamp);
    gb_free(merges);
    words_free(&words);
    pairs_free(&pairs);
    tokens_free(&toks);
    return rc;
}
