/* glassbox — tests of the pre-tokenizer (src/tokenizer/pretok.c) and its Unicode layer.
 *
 * The golden pieces come from tests/ref/gpt2/make-golden.mjs: the GPT-2 and cl100k split
 * patterns with the semantics of tiktoken's Rust regex, checked there against the ids of
 * OpenAI's tiktoken (WASM). tokenizer_pretok_live_node re-runs that oracle on a fresh
 * random sample when node and tests/ref/gpt2/node_modules are present. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glassbox/fileio.h"
#include "glassbox/rng.h"
#include "test.h"
#include "tokenizer/pretok.h"
#include "tokenizer/unicode.h"

#define REF "tests/ref/gpt2/"

/* Reads a file of decimal numbers (one a line or space-separated) into *out (malloc'd). */
static int64_t read_numbers(const char *path, int64_t **out) {
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    if (gb_read_file(path, (size_t)1 << 28, &data, &len) != GB_OK) return -1;
    int64_t n = 0, cap = 1024;
    int64_t *v = malloc((size_t)cap * sizeof *v);
    char *p = data, *end = data + len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        if (p >= end) break;
        char *q;
        long long x = strtoll(p, &q, 10);
        if (q == p) break;
        if (n == cap) v = realloc(v, (size_t)(cap *= 2) * sizeof *v);
        v[n++] = x;
        p = q;
    }
    free(data);
    *out = v;
    return n;
}

/* Splits text with `kind` and compares with the byte lengths in want[0..n); reports the
 * first difference with its context. Returns 1 if equal. */
static int check_pieces(const char *what, gb_pretok_kind kind, const uint8_t *text, size_t len,
                        const int64_t *want, int64_t n) {
    size_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (pos >= len) {
            gb_test_fail(__FILE__, __LINE__, "%s: text ends after %lld pieces, want %lld", what,
                         (long long)i, (long long)n);
            return 0;
        }
        size_t got = gb_pretok_next(kind, text, len, pos);
        if ((int64_t)got != want[i]) {
            size_t a = pos > 16 ? pos - 16 : 0, b = pos + 24 < len ? pos + 24 : len;
            char ctx[256];
            int k = 0;
            for (size_t j = a; j < b && k < 240; j++) {
                uint8_t c = text[j];
                if (j == pos) ctx[k++] = '|';
                k += snprintf(ctx + k, sizeof ctx - (size_t)k, (c >= 0x20 && c < 0x7f) ? "%c" : "\\x%02x", c);
            }
            ctx[k] = 0;
            gb_test_fail(__FILE__, __LINE__, "%s: piece #%lld at byte %zu is %zu bytes, want %lld: %s",
                         what, (long long)i, pos, got, (long long)want[i], ctx);
            return 0;
        }
        pos += got;
    }
    if (pos != len) {
        gb_test_fail(__FILE__, __LINE__, "%s: pieces end at %zu of %zu bytes", what, pos, len);
        return 0;
    }
    return 1;
}

/* Compares a file's pieces with a pieces file. */
static void check_file(const char *text_path, const char *pieces_path, gb_pretok_kind kind) {
    char *text = NULL;
    size_t len = 0;
    int64_t *want = NULL;
    if (gb_read_file(text_path, (size_t)1 << 28, &text, &len) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "cannot read %s", text_path);
        return;
    }
    int64_t n = read_numbers(pieces_path, &want);
    if (n <= 0) gb_test_fail(__FILE__, __LINE__, "cannot read %s", pieces_path);
    else check_pieces(pieces_path, kind, (const uint8_t *)text, len, want, n);
    free(want);
    free(text);
}

TEST(tokenizer_pretok_golden_gpt2) { check_file(REF "text.txt", REF "text.gpt2.pieces", GB_PRETOK_GPT2); }

TEST(tokenizer_pretok_golden_cl100k) {
    check_file(REF "text.txt", REF "text.cl100k.pieces", GB_PRETOK_CL100K);
}

/* The pieces of a C string as "a|b|c" (into a static buffer). */
static const char *split(gb_pretok_kind kind, const char *s, size_t len) {
    static char buf[1024];
    size_t pos = 0, k = 0;
    while (pos < len && k + 2 < sizeof buf) {
        size_t n = gb_pretok_next(kind, (const uint8_t *)s, len, pos);
        if (n == 0) break;
        if (pos) buf[k++] = '|';
        for (size_t j = 0; j < n && k + 2 < sizeof buf; j++) buf[k++] = s[pos + j];
        pos += n;
    }
    buf[k] = 0;
    return buf;
}
#define G(s) split(GB_PRETOK_GPT2, s, sizeof(s) - 1)
#define C(s) split(GB_PRETOK_CL100K, s, sizeof(s) - 1)

TEST(tokenizer_pretok_edge_cases) {
    /* a whitespace run gives its last character to what follows when that is a space */
    CHECK_STR(G("\n\n  x"), "\n\n | x");
    CHECK_STR(C("\n\n  x"), "\n\n| | x");
    CHECK_STR(G("  \t x"), "  \t| x");
    CHECK_STR(C("  \t x"), "  \t| x");
    CHECK_STR(G("a  \t\tb"), "a|  \t|\t|b");
    CHECK_STR(C("a  \t\tb"), "a|  \t|\tb");
    CHECK_STR(G("x!!\n\ny"), "x|!!|\n|\n|y");
    CHECK_STR(C("x!!\n\ny"), "x|!!\n\n|y");
    CHECK_STR(C(" !\r\n"), " !\r\n");
    /* lone CR, CRLF runs, whitespace at the end of the text */
    CHECK_STR(G("a\rb"), "a|\r|b");
    CHECK_STR(C("a\rb"), "a|\r|b");
    CHECK_STR(G("a\r"), "a|\r");
    CHECK_STR(G("\r"), "\r");
    CHECK_STR(G("x\r\n\r\n"), "x|\r\n\r\n");
    CHECK_STR(C("x\r\n\r\n"), "x|\r\n\r\n");
    CHECK_STR(G("x\n  "), "x|\n  ");
    CHECK_STR(C("x\n  "), "x|\n|  ");
    CHECK_STR(C("x \r\n y"), "x| \r\n| y");
    CHECK_STR(G("x   "), "x|   ");
    CHECK_STR(G(" "), " ");
    CHECK_STR(G("x"), "x");
    /* contractions: case-sensitive for GPT-2, case-insensitive (with U+017F) for cl100k */
    CHECK_STR(G("'S"), "'|S");
    CHECK_STR(C("'S"), "'S");
    CHECK_STR(G("x'S'LL'Re'd's"), "x|'|S|'|LL|'|Re|'d|'s");
    CHECK_STR(C("x'S'LL'Re'd's"), "x|'S|'LL|'Re|'d|'s");
    CHECK_STR(G("they'll've"), "they|'ll|'ve");
    CHECK_STR(G("'sup"), "'s|up");
    CHECK_STR(C("'sup"), "'s|up");
    CHECK_STR(G(" 's"), " '|s");
    CHECK_STR(C("x'\xc5\xbfx"), "x|'\xc5\xbf|x");
    CHECK_STR(G("x'\xc5\xbfx"), "x|'|\xc5\xbfx");
    CHECK_STR(C("'l"), "'l");
    CHECK_STR(C("'"), "'");
    CHECK_STR(G("'r"), "'|r");
    /* numbers: cl100k takes 1-3 digits, GPT-2 the whole run; \p{N} is more than ASCII */
    CHECK_STR(C("1234567"), "123|456|7");
    CHECK_STR(G("1234567"), "1234567");
    CHECK_STR(C(" 12345"), " |123|45");
    CHECK_STR(G(" 12345"), " 12345");
    CHECK_STR(C("a12"), "a|12");
    CHECK_STR(C("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94"), "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93|\xef\xbc\x94");
    CHECK_STR(C("x\xc2\xb2\xc2\xb3\xe2\x81\xb4\xe2\x81\xb5"), "x|\xc2\xb2\xc2\xb3\xe2\x81\xb4|\xe2\x81\xb5");
    CHECK_STR(G("v1.2.3"), "v|1|.|2|.|3");
    /* Unicode whitespace: U+0085 and U+3000 are spaces, U+FEFF and U+200B are not */
    CHECK_STR(G("a \xc2\x85" "b"), "a| |\xc2\x85|b");
    CHECK_STR(G("a \xef\xbb\xbf" "b"), "a| \xef\xbb\xbf|b");
    CHECK_STR(G("a  \xe3\x80\x80" "b"), "a|  |\xe3\x80\x80|b");
    CHECK_STR(C("a  \xe3\x80\x80" "b"), "a|  |\xe3\x80\x80" "b");
    CHECK_STR(C("\tword"), "\tword");
    CHECK_STR(G("\tword"), "\t|word");
    CHECK_STR(C("a\xe2\x80\x8b" "b"), "a|\xe2\x80\x8b" "b");
    CHECK_STR(G("a\xe2\x80\x8b" "b"), "a|\xe2\x80\x8b|b");
    /* letters with combining marks split at the mark (marks are not \p{L}) */
    CHECK_STR(G("cafe\xcc\x81s"), "cafe|\xcc\x81|s");
    CHECK_STR(C("cafe\xcc\x81s"), "cafe|\xcc\x81s");
    /* invalid UTF-8: each bad byte is one "other" unit */
    CHECK_STR(G("a\xff" "b"), "a|\xff|b");
    CHECK_STR(C("a\xff" "b"), "a|\xff" "b");
    CHECK_STR(G("\xff\xfe"), "\xff\xfe");
    CHECK_STR(G(" \xff"), " \xff");
    CHECK_STR(G("a\xc0\xaf" "b"), "a|\xc0\xaf|b");
    CHECK_STR(C("a\xc0\xaf" "b"), "a|\xc0\xaf|b");
    CHECK_STR(G("x\xed\xa0\x80y"), "x|\xed\xa0\x80|y");
    CHECK_STR(G("\xc3"), "\xc3");
    CHECK_STR(G("\xc3("), "\xc3(");
    /* a 4-byte emoji cut in half, at the end and in the middle */
    CHECK_STR(G("x \xf0\x9f"), "x| \xf0\x9f");
    CHECK_STR(G("x\xf0\x9fy"), "x|\xf0\x9f|y");
    CHECK_STR(C("x\xf0\x9fy"), "x|\xf0\x9f|y"); /* two invalid units, then y */
    CHECK_STR(C("x\xf0y"), "x|\xf0y");
    CHECK_STR(G("\xf0\x9f\x98\x80\xf0\x9f\x98"), "\xf0\x9f\x98\x80\xf0\x9f\x98");
    /* NUL bytes are ordinary "other" characters */
    const uint8_t nul[] = {'a', 0, 0, 'b', ' ', 0, '\n'};
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_GPT2, nul, sizeof nul, 0), 1);
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_GPT2, nul, sizeof nul, 1), 2);
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_GPT2, nul, sizeof nul, 3), 1);
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_GPT2, nul, sizeof nul, 4), 2);
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_CL100K, nul, sizeof nul, 4), 3);
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_CL100K, nul, sizeof nul, 1), 2);
    /* the empty tail: nothing left at the end */
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_GPT2, nul, sizeof nul, sizeof nul), 0);
    CHECK_EQ_INT(gb_pretok_next(GB_PRETOK_CL100K, nul, sizeof nul, sizeof nul), 0);
}

TEST(tokenizer_pretok_utf8_decode) {
    static const struct {
        const char *s;
        int len;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 'A'},
        {"\xc2\x80", 2, 0x80},
        {"\xdf\xbf", 2, 0x7FF},
        {"\xe0\xa0\x80", 3, 0x800},
        {"\xe2\x82\xac", 3, 0x20AC},
        {"\xed\x9f\xbf", 3, 0xD7FF},
        {"\xee\x80\x80", 3, 0xE000},
        {"\xef\xbf\xbf", 3, 0xFFFF},
        {"\xf0\x90\x80\x80", 4, 0x10000},
        {"\xf4\x8f\xbf\xbf", 4, 0x10FFFF},
        {"\x80", 1, GB_UNICODE_INVALID},             /* lone continuation */
        {"\xc0\x80", 1, GB_UNICODE_INVALID},         /* overlong NUL */
        {"\xc1\xbf", 1, GB_UNICODE_INVALID},         /* overlong */
        {"\xe0\x80\x80", 1, GB_UNICODE_INVALID},     /* overlong */
        {"\xe0\x9f\xbf", 1, GB_UNICODE_INVALID},     /* overlong */
        {"\xf0\x80\x80\x80", 1, GB_UNICODE_INVALID}, /* overlong */
        {"\xf0\x8f\xbf\xbf", 1, GB_UNICODE_INVALID}, /* overlong */
        {"\xed\xa0\x80", 1, GB_UNICODE_INVALID},     /* surrogate D800 */
        {"\xed\xbf\xbf", 1, GB_UNICODE_INVALID},     /* surrogate DFFF */
        {"\xf4\x90\x80\x80", 1, GB_UNICODE_INVALID}, /* 0x110000 */
        {"\xf5\x80\x80\x80", 1, GB_UNICODE_INVALID},
        {"\xff", 1, GB_UNICODE_INVALID},
        {"\xe2\x82", 1, GB_UNICODE_INVALID},         /* truncated */
        {"\xe2\x82(", 1, GB_UNICODE_INVALID},
        {"\xf0\x9f\x98", 1, GB_UNICODE_INVALID},
        {"\xc3", 1, GB_UNICODE_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        int len = gb_utf8_decode((const uint8_t *)cases[i].s, strlen(cases[i].s), &cp);
        if (len != cases[i].len || cp != cases[i].cp)
            gb_test_fail(__FILE__, __LINE__, "case %zu: len %d cp %#x, want len %d cp %#x", i, len,
                         (unsigned)cp, cases[i].len, (unsigned)cases[i].cp);
    }
    /* a truncated buffer: the length limit is respected */
    uint32_t cp;
    CHECK_EQ_INT(gb_utf8_decode((const uint8_t *)"\xe2\x82\xac", 2, &cp), 1);
    CHECK(cp == GB_UNICODE_INVALID);
}

TEST(tokenizer_pretok_unicode_tables) {
    /* sorted, disjoint, in range */
    const gb_urange *tabs[] = {gb_unicode_letter, gb_unicode_number, gb_unicode_space};
    const int ns[] = {gb_unicode_letter_n, gb_unicode_number_n, gb_unicode_space_n};
    for (int t = 0; t < 3; t++) {
        REQUIRE(ns[t] > 0);
        for (int i = 0; i < ns[t]; i++) {
            CHECK(tabs[t][i].lo <= tabs[t][i].hi && tabs[t][i].hi <= 0x10FFFF);
            if (i) CHECK(tabs[t][i - 1].hi + 1 < tabs[t][i].lo);
        }
    }
    CHECK_STR(gb_unicode_version, "15.0.0");
    /* the fast lookup agrees with the range tables everywhere */
    int bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF && bad < 5; cp++) {
        int want = gb_unicode_in(gb_unicode_letter, gb_unicode_letter_n, cp)   ? GB_UC_LETTER
                   : gb_unicode_in(gb_unicode_number, gb_unicode_number_n, cp) ? GB_UC_NUMBER
                   : gb_unicode_in(gb_unicode_space, gb_unicode_space_n, cp)   ? GB_UC_SPACE
                                                                               : GB_UC_OTHER;
        if (gb_unicode_class(cp) != want) {
            gb_test_fail(__FILE__, __LINE__, "U+%04X: class %d, want %d", (unsigned)cp,
                         gb_unicode_class(cp), want);
            bad++;
        }
    }
    /* known characters, including the ends of UnicodeData's <First>/<Last> ranges */
    static const struct {
        uint32_t cp;
        int cls;
    } known[] = {
        {'A', GB_UC_LETTER},    {'z', GB_UC_LETTER},    {'0', GB_UC_NUMBER},   {' ', GB_UC_SPACE},
        {'\t', GB_UC_SPACE},    {'\r', GB_UC_SPACE},    {'\'', GB_UC_OTHER},   {0, GB_UC_OTHER},
        {0xAA, GB_UC_LETTER},   {0xB2, GB_UC_NUMBER},   {0xBD, GB_UC_NUMBER},  {0x85, GB_UC_SPACE},
        {0xA0, GB_UC_SPACE},    {0x1680, GB_UC_SPACE},  {0x2028, GB_UC_SPACE}, {0x3000, GB_UC_SPACE},
        {0xFEFF, GB_UC_OTHER},  {0x200B, GB_UC_OTHER},  {0x180E, GB_UC_OTHER}, {0x301, GB_UC_OTHER},
        {0x660, GB_UC_NUMBER},  {0x2160, GB_UC_NUMBER}, {0x3007, GB_UC_NUMBER}, {0x1C5, GB_UC_LETTER},
        {0x3400, GB_UC_LETTER}, {0x4DBF, GB_UC_LETTER}, {0x4E00, GB_UC_LETTER}, {0x9FFF, GB_UC_LETTER},
        {0xAC00, GB_UC_LETTER}, {0xD7A3, GB_UC_LETTER}, {0xD7A4, GB_UC_OTHER}, {0x17000, GB_UC_LETTER},
        {0x20000, GB_UC_LETTER}, {0x2A6DF, GB_UC_LETTER}, {0x31350, GB_UC_LETTER}, {0x323AF, GB_UC_LETTER},
        {0x2EBF0, GB_UC_OTHER}, /* CJK Extension I: Unicode 15.1, not in 15.0 */
        {0x1F600, GB_UC_OTHER}, {0xE000, GB_UC_OTHER},  {0x10FFFF, GB_UC_OTHER},
        {GB_UNICODE_INVALID, GB_UC_OTHER},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (gb_unicode_class(known[i].cp) != known[i].cls)
            gb_test_fail(__FILE__, __LINE__, "U+%04X: class %d, want %d", (unsigned)known[i].cp,
                         gb_unicode_class(known[i].cp), known[i].cls);
}

/* Random byte strings: pieces are >= 1 byte, cover the input exactly, never exceed it;
 * on valid UTF-8 they never cut a character. */
TEST(tokenizer_pretok_property_random) {
    static const char *atoms[] = {"a", "Z", "7", " ", "  ", "\t", "\n", "\r", "\r\n", "'", "'s", "'LL",
                                  "!", ".", "\xc3\xa9", "\xe4\xb8\xad", "\xd9\xa3", "\xc2\x85",
                                  "\xc2\xa0", "\xe3\x80\x80", "\xef\xbb\xbf", "\xcc\x81",
                                  "\xf0\x9f\x98\x80", "\xe2\x80\x8d", "\xc5\xbf", "\xc2\xb2"};
    const int n_atoms = (int)(sizeof atoms / sizeof atoms[0]);
    gb_rng r;
    gb_rng_seed(&r, 20240601);
    uint8_t buf[512];
    for (int iter = 0; iter < 4000 && !gb_test_failed(); iter++) {
        int valid = iter & 1;
        size_t len = 0, want = (size_t)gb_rng_below(&r, 200);
        while (len < want) {
            if (valid) {
                const char *a = atoms[gb_rng_below(&r, (uint64_t)n_atoms)];
                size_t k = strlen(a);
                if (len + k > sizeof buf) break;
                memcpy(buf + len, a, k);
                len += k;
            } else {
                /* raw bytes, biased towards the interesting ones */
                static const uint8_t hot[] = {' ', '\n', '\r', '\t', '\'', 's', 'a', '1', 0, 0x80,
                                              0xbf, 0xc2, 0xc3, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xff};
                buf[len++] = gb_rng_below(&r, 2) ? hot[gb_rng_below(&r, sizeof hot)]
                                                 : (uint8_t)gb_rng_below(&r, 256);
            }
        }
        for (int kind = 0; kind < 2; kind++) {
            size_t pos = 0;
            while (pos < len) {
                size_t n = gb_pretok_next((gb_pretok_kind)kind, buf, len, pos);
                if (n < 1 || n > len - pos) {
                    gb_test_fail(__FILE__, __LINE__, "iter %d kind %d: piece of %zu bytes at %zu of %zu",
                                 iter, kind, n, pos, len);
                    break;
                }
                pos += n;
                if (valid && pos < len && (buf[pos] & 0xC0) == 0x80) {
                    gb_test_fail(__FILE__, __LINE__, "iter %d kind %d: cut inside a character at %zu",
                                 iter, kind, pos);
                    break;
                }
            }
        }
    }
}

/* Re-runs the oracle (tests/ref/gpt2/live.mjs: OpenAI's tiktoken via npm) on a fresh
 * random sample and compares the pieces. Skips without node or the npm packages. */
TEST(tokenizer_pretok_live_node) {
    if (access(REF "node_modules/tiktoken", F_OK) != 0) {
        gb_test_skip("tests/ref/gpt2/node_modules missing (npm ci --prefix tests/ref/gpt2)");
        return;
    }
    if (system("command -v node >/dev/null 2>&1") != 0) {
        gb_test_skip("node is not on PATH");
        return;
    }
    unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    const char *dir = gb_test_tmpdir();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node " REF "live.mjs %u '%s' 16384", seed, dir);
    int rc = system(cmd);
    if (rc != 0) {
        gb_test_fail(__FILE__, __LINE__, "%s failed (status %d)", cmd, rc);
        return;
    }
    const char *text = gb_test_path("%s/sample.txt", dir);
    int failed = gb_test_failed();
    check_file(text, gb_test_path("%s/sample.gpt2.pieces", dir), GB_PRETOK_GPT2);
    check_file(text, gb_test_path("%s/sample.cl100k.pieces", dir), GB_PRETOK_CL100K);
    if (!failed && gb_test_failed())
        fprintf(stderr, "  live sample seed %u (rerun: node " REF "live.mjs %u DIR)\n", seed, seed);
}

/* ---- Llama 3 (llama.cpp's "llama-bpe" pre-tokenizer) ---- */

#define L3(s) split(GB_PRETOK_LLAMA3, s, sizeof(s) - 1)

/* Llama 3's pattern is cl100k's up to the case of the contractions: llama.cpp spells it
 * '[sS]|'[tT]|… (ASCII only), tiktoken's cl100k uses (?i) with Unicode simple case folding. */
TEST(tokenizer_pretok_llama3_cases) {
    CHECK_STR(L3("x'\xc5\xbfx"), "x|'\xc5\xbfx");
    CHECK_STR(C("x'\xc5\xbfx"), "x|'\xc5\xbf|x");
    CHECK_STR(L3("x'S'LL'Re'd's"), "x|'S|'LL|'Re|'d|'s");
    CHECK_STR(L3("We'Ve a'lL"), "We|'Ve| a|'lL");
    CHECK_STR(L3("'M not"), "'M| not");
    CHECK_STR(L3("1234567"), "123|456|7");
    CHECK_STR(L3(" 12345"), " |123|45");
    CHECK_STR(L3("3...3"), "3|...|3");
    CHECK_STR(L3("\n\n  x"), "\n\n| | x");
    CHECK_STR(L3("x!!\n\ny"), "x|!!\n\n|y");
    CHECK_STR(L3("x \r\n y"), "x| \r\n| y");
    CHECK_STR(L3("x\n  "), "x|\n|  ");
    CHECK_STR(L3("\tword"), "\tword");
    CHECK_STR(L3("a  \t\tb"), "a|  \t|\tb");
    CHECK_STR(L3(" !\r\n"), " !\r\n");
    CHECK_STR(L3("\n \n\t x"), "\n \n|\t| x");
    CHECK_STR(L3("Hello, y'all! How"), "Hello|,| y|'all|!| How");
    CHECK_STR(L3("a\xff" "b"), "a|\xff" "b");
}

/* Away from "'ſ" the two patterns split every text the same way: the golden text and a
 * random soup of the characters the patterns care about. */
TEST(tokenizer_pretok_llama3_matches_cl100k) {
    char *text = NULL;
    size_t len = 0;
    REQUIRE(gb_read_file(REF "text.txt", (size_t)1 << 28, &text, &len) == GB_OK);
    for (size_t i = 0; i + 2 < len; i++) /* the golden text has "'ſ" on purpose */
        if (!memcmp(text + i, "'\xc5\xbf", 3)) text[i] = 'x';
    size_t pos = 0;
    while (pos < len) {
        size_t a = gb_pretok_next(GB_PRETOK_CL100K, (const uint8_t *)text, len, pos);
        size_t b = gb_pretok_next(GB_PRETOK_LLAMA3, (const uint8_t *)text, len, pos);
        if (a != b) {
            gb_test_fail(__FILE__, __LINE__, "text.txt at byte %zu: cl100k %zu bytes, llama3 %zu", pos, a, b);
            break;
        }
        pos += a;
    }
    free(text);
    static const char *atoms[] = {"a", "Z", "7", " ", "  ", "\t", "\n", "\r", "'", "'s", "'LL", "'Ve", "!",
                                  "\xc3\xa9", "\xe2\x80\x83", "\xef\xbc\x91", "\xcc\x81", "\xff", "\xf0\x9f\x98\x80"};
    gb_rng rng;
    gb_rng_seed(&rng, 7);
    char buf[256];
    for (int iter = 0; iter < 20000 && !gb_test_failed(); iter++) {
        size_t n = 0;
        int k = 1 + (int)(gb_rng_below(&rng, 12));
        for (int j = 0; j < k; j++) {
            const char *s = atoms[gb_rng_below(&rng, sizeof atoms / sizeof *atoms)];
            size_t m = strlen(s);
            memcpy(buf + n, s, m);
            n += m;
        }
        for (size_t p = 0; p < n;) {
            size_t a = gb_pretok_next(GB_PRETOK_CL100K, (const uint8_t *)buf, n, p);
            size_t b = gb_pretok_next(GB_PRETOK_LLAMA3, (const uint8_t *)buf, n, p);
            if (a != b) {
                gb_test_fail(__FILE__, __LINE__, "random text %d at byte %zu: cl100k %zu bytes, llama3 %zu", iter, p, a, b);
                break;
            }
            p += a;
        }
    }
}
