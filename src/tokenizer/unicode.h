/* glassbox — the little Unicode the tokenizer needs: UTF-8 decoding that never fails, and
 * the character classes of the pre-tokenizer patterns (\p{L}, \p{N}, White_Space).
 *
 * Decoding is total: at any position of any byte string the next unit is either a valid
 * UTF-8 character (1-4 bytes, RFC 3629: no overlong forms, no surrogates, <= U+10FFFF) or
 * one invalid byte (length 1, codepoint GB_UNICODE_INVALID) which is neither letter,
 * number nor space. A truncated sequence is one invalid byte followed by whatever its
 * remaining bytes decode as (invalid bytes too). The tables come from
 * scripts/gen-unicode-tables.sh (unicode_tables.c, Unicode 15.0). */
#ifndef GLASSBOX_UNICODE_H
#define GLASSBOX_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* The codepoint reported for a byte that does not start a valid UTF-8 character. */
#define GB_UNICODE_INVALID 0xFFFFFFFFu

/* Character classes of the pre-tokenizer; L, N and White_Space are disjoint. */
enum { GB_UC_OTHER = 0, GB_UC_LETTER = 1, GB_UC_NUMBER = 2, GB_UC_SPACE = 3 };

typedef struct gb_urange {
    uint32_t lo, hi; /* inclusive */
} gb_urange;

/* Generated tables (unicode_tables.c). */
extern const char gb_unicode_version[];
extern const gb_urange gb_unicode_letter[], gb_unicode_number[], gb_unicode_space[];
extern const int gb_unicode_letter_n, gb_unicode_number_n, gb_unicode_space_n;
extern const uint32_t gb_unicode_class_start[];
extern const uint8_t gb_unicode_class_cls[];
extern const int gb_unicode_class_n;
extern const uint8_t gb_unicode_class_lo[0x800];

/* Decodes the unit at s[0..n), n >= 1: returns its length (1..4) and sets *cp to the
 * codepoint, or to GB_UNICODE_INVALID with length 1. */
int gb_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* GB_UC_* of codepoint cp; GB_UC_OTHER for GB_UNICODE_INVALID and anything > U+10FFFF. */
int gb_unicode_class_slow(uint32_t cp);
static inline int gb_unicode_class(uint32_t cp) {
    return cp < 0x800 ? gb_unicode_class_lo[cp] : gb_unicode_class_slow(cp);
}

/* Class and length of the unit at s[0..n), n >= 1 (the pre-tokenizer's inner step). */
static inline int gb_unicode_class_at(const uint8_t *s, size_t n, int *len) {
    if (s[0] < 0x80) {
        *len = 1;
        return gb_unicode_class_lo[s[0]];
    }
    uint32_t cp;
    *len = gb_utf8_decode(s, n, &cp);
    return gb_unicode_class(cp);
}

/* 1 if cp is in the sorted range table t[0..n), else 0 (binary search). */
int gb_unicode_in(const gb_urange *t, int n, uint32_t cp);

#endif
