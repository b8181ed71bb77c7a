/* glassbox — pre-tokenization (see pretok.h): the GPT-2, cl100k and Llama 3 split patterns as
 * hand-written matchers. Each function tries the pattern's alternatives in order at `pos`
 * with the leftmost-first (backtracking) semantics of the Rust regex / fancy-regex crates
 * that tiktoken uses, and returns the length of the first alternative that matches.
 *
 * Classes: L = \p{L}, N = \p{N}, S = White_Space (\s), O = everything else, including
 * invalid UTF-8 bytes. L, N, S and O partition all units, so [^\s\p{L}\p{N}] is just O. */
#include "tokenizer/pretok.h"

#include "tokenizer/unicode.h"

enum { L = GB_UC_LETTER, N = GB_UC_NUMBER, S = GB_UC_SPACE, O = GB_UC_OTHER };

static int class_at(const uint8_t *t, size_t len, size_t p, int *n) {
    return gb_unicode_class_at(t + p, len - p, n);
}

/* End of the maximal run of class cls starting at p (p itself if t[p] is not cls). */
static size_t run_end(const uint8_t *t, size_t len, size_t p, int cls) {
    for (;;) {
        /* ASCII fast path: most text stays here. */
        while (p < len && t[p] < 0x80) {
            if (gb_unicode_class_lo[t[p]] != cls) return p;
            p++;
        }
        if (p >= len) return p;
        int n;
        if (gb_unicode_class_at(t + p, len - p, &n) != cls) return p;
        p += (size_t)n;
    }
}

/* The whitespace run starting at p (t[p] is S): its end, the start of its last unit, and
 * the end of its last \r or \n (0 if none). */
typedef struct {
    size_t end, last, nl_end;
} ws_run;

static ws_run scan_space(const uint8_t *t, size_t len, size_t p) {
    ws_run r = {p, p, 0};
    while (p < len) {
        int n;
        uint8_t c = t[p];
        if (c < 0x80) {
            if (gb_unicode_class_lo[c] != S) break;
            n = 1;
            if (c == '\r' || c == '\n') r.nl_end = p + 1;
        } else if (gb_unicode_class_at(t + p, len - p, &n) != S) {
            break;
        }
        r.last = p;
        p += (size_t)n;
    }
    r.end = p;
    return r;
}

/* \s+(?!\S)|\s+ on the run that starts at pos: the whole run at the end of the text;
 * otherwise all but the last unit (that one is followed by \S), or the single unit. */
static size_t space_tail(const ws_run *r, size_t len, size_t pos) {
    if (r->end == len) return r->end - pos;
    if (r->last > pos) return r->last - pos;
    return r->end - pos;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t next_gpt2(const uint8_t *t, size_t len, size_t pos) {
    uint8_t c = t[pos];
    if (c == '\'' && pos + 1 < len) {
        uint8_t a = t[pos + 1], b = pos + 2 < len ? t[pos + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
    int n, cls = class_at(t, len, pos, &n);
    if (c == ' ' && pos + 1 < len) {
        int n2, cls2 = class_at(t, len, pos + 1, &n2);
        if (cls2 != S) return run_end(t, len, pos + 1 + (size_t)n2, cls2) - pos;
    }
    if (cls != S) return run_end(t, len, pos + (size_t)n, cls) - pos;
    ws_run r = scan_space(t, len, pos);
    return space_tail(&r, len, pos);
}

/* '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|
 * \s*[\r\n]|\s+(?!\S)|\s+
 * and, with long_s == 0, Llama 3's pattern as llama.cpp runs it:
 * (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * The two differ only in the contractions: ASCII case instead of Unicode case folding, so
 * "'\u017F" (long s) is no contraction. The possessive quantifiers change nothing here (what
 * follows them cannot match what they gave back), and \s*[\r\n]+ ends, like \s*[\r\n], at
 * the last \r or \n of the whitespace run. */
static size_t next_cl100k(const uint8_t *t, size_t len, size_t pos, int long_s) {
    uint8_t c = t[pos];
    if (c == '\'' && pos + 1 < len) {
        /* (?i) is Unicode simple case folding: 's' also matches U+017F LATIN SMALL LETTER
         * LONG S (C5 BF); no other codepoint folds to these letters. x|0x20 equals a
         * lower-case ASCII letter only for that letter and its upper case. */
        uint8_t a = t[pos + 1] | 0x20, b = pos + 2 < len ? t[pos + 2] | 0x20 : 0;
        if (a == 's' || a == 'd' || a == 'm' || a == 't') return 2;
        if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e')) return 3;
        if (long_s && t[pos + 1] == 0xC5 && pos + 2 < len && t[pos + 2] == 0xBF) return 3;
    }
    int n, cls = class_at(t, len, pos, &n);
    if (cls == L) return run_end(t, len, pos + (size_t)n, L) - pos;
    if (cls == N) {
        size_t p = pos + (size_t)n;
        for (int k = 1; k < 3 && p < len; k++) {
            int m;
            if (class_at(t, len, p, &m) != N) break;
            p += (size_t)m;
        }
        return p - pos;
    }
    /* cls is O or S here. */
    size_t p = pos + (size_t)n;
    int n2 = 0, cls2 = p < len ? class_at(t, len, p, &n2) : -1;
    if (c != '\r' && c != '\n' && cls2 == L) return run_end(t, len, p + (size_t)n2, L) - pos;
    if (cls == O || (c == ' ' && cls2 == O)) {
        p = run_end(t, len, cls == O ? p : p + (size_t)n2, O);
        while (p < len && (t[p] == '\r' || t[p] == '\n')) p++;
        return p - pos;
    }
    ws_run r = scan_space(t, len, pos);
    if (r.nl_end) return r.nl_end - pos;
    return space_tail(&r, len, pos);
}

size_t gb_pretok_next(gb_pretok_kind kind, const uint8_t *text, size_t len, size_t pos) {
    if (pos >= len) return 0;
    switch (kind) {
    case GB_PRETOK_CL100K: return next_cl100k(text, len, pos, 1);
    case GB_PRETOK_LLAMA3: return next_cl100k(text, len, pos, 0);
    default: return next_gpt2(text, len, pos);
    }
}
