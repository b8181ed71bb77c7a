/* glassbox — UTF-8 decoding and Unicode class lookup (see unicode.h). */
#include "tokenizer/unicode.h"

static int cont(uint8_t b) { return (b & 0xC0) == 0x80; }

int gb_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    /* The second byte's range depends on the lead byte (RFC 3629 table): that is where
     * overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and codepoints past
     * U+10FFFF (F4 90..BF) are excluded. C0, C1 and F5..FF never lead. */
    if (b >= 0xC2 && b <= 0xDF) {
        if (n >= 2 && cont(s[1])) {
            *cp = (uint32_t)(b & 0x1F) << 6 | (s[1] & 0x3F);
            return 2;
        }
    } else if (b >= 0xE0 && b <= 0xEF) {
        uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        if (n >= 3 && s[1] >= lo && s[1] <= hi && cont(s[2])) {
            *cp = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
            return 3;
        }
    } else if (b >= 0xF0 && b <= 0xF4) {
        uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        if (n >= 4 && s[1] >= lo && s[1] <= hi && cont(s[2]) && cont(s[3])) {
            *cp = (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
                  (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
            return 4;
        }
    }
    *cp = GB_UNICODE_INVALID;
    return 1;
}

int gb_unicode_class_slow(uint32_t cp) {
    if (cp > 0x10FFFF) return GB_UC_OTHER;
    /* The last run that starts at or before cp. */
    int lo = 0, hi = gb_unicode_class_n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (gb_unicode_class_start[mid] <= cp) lo = mid;
        else hi = mid - 1;
    }
    return gb_unicode_class_cls[lo];
}

int gb_unicode_in(const gb_urange *t, int n, uint32_t cp) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < t[mid].lo) hi = mid - 1;
        else if (cp > t[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}
