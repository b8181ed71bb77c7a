/* glassbox — tests of tokenizers from GGUF metadata (src/tokenizer/tokenizer_gguf.c, spm.c).
 *
 * The oracle is llama.cpp: its vocabulary files (GPT-2, Llama SentencePiece, Phi-3) come with
 * test strings and the ids llama.cpp's tokenizer gives them (*.gguf.inp / *.gguf.out, strings
 * separated by lines "__ggml_vocab_test__", ids without BOS). They are read from
 * ../shared/vocab/ when it is there, else from tests/data/vocab/ (GPT-2 and Phi-3 only: the
 * Llama vocabulary may not be copied into the repository, so its test is skipped then).
 * Then: round trips, the trainer's GGUF tokenizer keys read back, and one test per malformed
 * key (a one-line error naming the file and the key, never a crash). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glassbox/error.h"
#include "glassbox/fileio.h"
#include "glassbox/gguf.h"
#include "glassbox/rng.h"
#include "glassbox/tokenizer.h"
#include "glassbox/train.h"
#include "test.h"
#include "tokenizer/tokenizer_internal.h"

#define SHARED "../shared/vocab/"
#define LOCAL "tests/data/vocab/"
#define SEP "\n__ggml_vocab_test__\n"

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The directory that has `name` (shared first), or NULL. */
static const char *vocab_dir(const char *name) {
    if (exists(gb_test_path(SHARED "%s", name))) return SHARED;
    if (exists(gb_test_path(LOCAL "%s", name))) return LOCAL;
    return NULL;
}

typedef struct vocab_case {
    char *inp, *out;       /* whole files */
    const char **str;      /* (n) test strings, pointers into inp (NUL-terminated in place) */
    size_t *len;
    uint32_t **ids;        /* (n) expected ids */
    int64_t *n_ids;
    int n;
} vocab_case;

static void case_free(vocab_case *c) {
    for (int i = 0; i < c->n; i++) free(c->ids[i]);
    free(c->str), free(c->len), free(c->ids), free(c->n_ids);
    free(c->inp), free(c->out);
    memset(c, 0, sizeof *c);
}

/* Reads NAME.inp and NAME.out from dir. Returns 0 on failure (reported). */
static int case_read(vocab_case *c, const char *dir, const char *name) {
    size_t li, lo;
    memset(c, 0, sizeof *c);
    if (gb_read_file(gb_test_path("%s%s.inp", dir, name), 0, &c->inp, &li) != GB_OK ||
        gb_read_file(gb_test_path("%s%s.out", dir, name), 0, &c->out, &lo) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "cannot read %s%s.inp/.out: %s", dir, name, gb_last_error());
        return 0;
    }
    int cap = 64;
    c->str = malloc(cap * sizeof *c->str), c->len = malloc(cap * sizeof *c->len);
    c->ids = calloc(cap, sizeof *c->ids), c->n_ids = calloc(cap, sizeof *c->n_ids);
    /* strings: each followed by SEP (the file ends with one) */
    char *p = c->inp, *end = c->inp + li;
    while (p < end && c->n < cap) {
        char *q = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
        if (!q) break;
        *q = 0;
        c->str[c->n] = p, c->len[c->n] = (size_t)(q - p);
        c->n++;
        p = q + strlen(SEP);
    }
    /* ids: one line per string */
    char *line = c->out;
    for (int i = 0; i < c->n; i++) {
        char *eol = strchr(line, '\n');
        if (!eol) {
            gb_test_fail(__FILE__, __LINE__, "%s.out has fewer lines than %s.inp has strings", name, name);
            return 0;
        }
        *eol = 0;
        c->ids[i] = malloc((strlen(line) / 2 + 1) * sizeof **c->ids);
        char *s = line, *e;
        for (;;) {
            unsigned long v = strtoul(s, &e, 10);
            if (e == s) break;
            c->ids[i][c->n_ids[i]++] = (uint32_t)v;
            s = e;
        }
        line = eol + 1;
    }
    return 1;
}

static void print_ids(char *buf, size_t cap, const uint32_t *ids, int64_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int64_t i = 0; i < n && k + 16 < cap; i++) k += (size_t)snprintf(buf + k, cap - k, " %u", ids[i]);
}

/* Every test string of NAME encodes to llama.cpp's ids and decodes back. Returns the
 * number of strings that match (and prints "NAME: k/n"). */
static int check_vocab(const char *name, int required) {
    char gguf[64], inp[80];
    snprintf(gguf, sizeof gguf, "ggml-vocab-%s.gguf", name);
    snprintf(inp, sizeof inp, "%s.inp", gguf);
    const char *dir = vocab_dir(gguf);
    if (!dir || !exists(gb_test_path("%s%s", dir, inp))) {
        if (required) gb_test_fail(__FILE__, __LINE__, "%s: not in " SHARED " nor " LOCAL, gguf);
        else gb_test_skip("no ../shared/vocab/ (the Llama vocabulary is not in the repository)");
        return 0;
    }
    vocab_case c;
    if (!case_read(&c, dir, gguf)) {
        case_free(&c);
        return 0;
    }
    gb_tokenizer *t = NULL;
    if (gb_tokenizer_load(&t, gb_test_path("%s%s", dir, gguf)) != GB_OK) {
        gb_test_fail(__FILE__, __LINE__, "loading %s%s: %s", dir, gguf, gb_last_error());
        case_free(&c);
        return 0;
    }
    int ok = 0, shown = 0;
    for (int i = 0; i < c.n; i++) {
        gb_ids got = {0};
        gb_bytes back = {0};
        CHECK_OK(gb_tokenizer_encode(t, c.str[i], c.len[i], 0, &got));
        int same = got.len == c.n_ids[i] && (got.len == 0 || !memcmp(got.data, c.ids[i], (size_t)got.len * 4));
        if (!same && shown++ < 4) {
            char a[1024], b[1024];
            print_ids(a, sizeof a, got.data, got.len);
            print_ids(b, sizeof b, c.ids[i], c.n_ids[i]);
            gb_test_fail(__FILE__, __LINE__, "%s string %d \"%.60s\":\n    got %s\n   want %s", name, i, c.str[i], a, b);
        }
        CHECK_OK(gb_tokenizer_decode_text(t, got.data, got.len, 1, &back));
        if (back.len != c.len[i] || (back.len && memcmp(back.data, c.str[i], back.len)))
            gb_test_fail(__FILE__, __LINE__, "%s string %d \"%.60s\" decodes to \"%.*s\"", name, i, c.str[i],
                         (int)(back.len < 60 ? back.len : 60), back.data ? (const char *)back.data : "");
        ok += same;
        gb_ids_free(&got);
        gb_bytes_free(&back);
    }
    fprintf(stderr, "  %s: %d/%d strings give llama.cpp's ids\n", name, ok, c.n);
    CHECK_EQ_INT(ok, c.n);
    gb_tokenizer_free(t);
    case_free(&c);
    return ok;
}

TEST(tokenizer_gguf_llamacpp_gpt2) { check_vocab("gpt-2", 1); }
TEST(tokenizer_gguf_llamacpp_phi3) { check_vocab("phi-3", 1); }
TEST(tokenizer_gguf_llamacpp_llama_spm) { check_vocab("llama-spm", 0); }

/* ---- round trips ---- */

static gb_tokenizer *load_vocab(const char *name) {
    char gguf[64];
    snprintf(gguf, sizeof gguf, "ggml-vocab-%s.gguf", name);
    const char *dir = vocab_dir(gguf);
    gb_tokenizer *t = NULL;
    if (!dir) gb_test_fail(__FILE__, __LINE__, "%s: not in " SHARED " nor " LOCAL, gguf);
    else if (gb_tokenizer_load(&t, gb_test_path("%s%s", dir, gguf)) != GB_OK)
        gb_test_fail(__FILE__, __LINE__, "loading %s%s: %s", dir, gguf, gb_last_error());
    return t;
}

/* decode_text(encode(s), strip) == s for random byte strings and random soups of the
 * characters tokenizers care about (spaces, newlines, digits, accents, emoji, bytes that are
 * not UTF-8). SentencePiece turns a "▁" of the text into a space, so those are left out. */
static void round_trips(gb_tokenizer *t, const char *name, uint64_t seed) {
    static const char *atoms[] = {"a", "The", " ", "  ", "\n", "\t", "\r\n", "'s", "7", "2024", "\xc3\xa9",
                                  "\xe4\xb8\xad", "\xf0\x9f\xa6\x99", "\xcc\x81", "\xff", "\xc3", "\x80", "<",
                                  "<0x41>", "<s>", "</s", "!", ".", "\xe2\x96", "\0"};
    gb_rng rng;
    gb_rng_seed(&rng, seed);
    uint8_t text[512];
    for (int iter = 0; iter < 3000 && !gb_test_failed(); iter++) {
        size_t n = 0;
        size_t want = (size_t)gb_rng_below(&rng, 200);
        int bytes = iter % 2;
        while (n < want) {
            if (bytes) {
                text[n++] = (uint8_t)gb_rng_below(&rng, 256);
            } else {
                const char *a = atoms[gb_rng_below(&rng, sizeof atoms / sizeof *atoms)];
                size_t m = a[0] ? strlen(a) : 1;
                memcpy(text + n, a, m);
                n += m;
            }
        }
        for (size_t i = 0; i + 2 < n; i++) /* "▁" would come back as a space */
            if (text[i] == 0xe2 && text[i + 1] == 0x96 && text[i + 2] == 0x81) text[i] = 'x';
        gb_ids ids = {0};
        gb_bytes back = {0};
        CHECK_OK(gb_tokenizer_encode(t, text, n, 0, &ids));
        CHECK_OK(gb_tokenizer_decode_text(t, ids.data, ids.len, 1, &back));
        if (back.len != n || (n && memcmp(back.data, text, n))) {
            gb_test_fail(__FILE__, __LINE__, "%s: random text %d (%zu bytes) does not come back (%zu bytes)", name, iter,
                         n, back.len);
            if (getenv("GB_DEBUG")) {
                fwrite(text, 1, n, stderr), fputs("\n---\n", stderr);
                fwrite(back.data, 1, back.len, stderr), fputs("\n---\n", stderr);
                for (int64_t i = 0; i < ids.len; i++) fprintf(stderr, " %u", ids.data[i]);
                fputs("\n", stderr);
            }
        }
        gb_ids_free(&ids);
        gb_bytes_free(&back);
    }
}

TEST(tokenizer_gguf_round_trip_spm_bytes) {
    gb_tokenizer *t = load_vocab("phi-3");
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_algorithm(t), GB_TOKENIZER_SPM);
    round_trips(t, "phi-3", 1);
    /* characters outside the vocabulary become byte tokens <0xXX> */
    gb_ids ids = {0};
    CHECK_OK(gb_tokenizer_encode(t, "\xff\x01", 2, 0, &ids));
    REQUIRE(ids.len == 3);
    CHECK_EQ_INT(ids.data[0], 29871); /* the "▁" of the space prefix */
    CHECK_EQ_INT(ids.data[1], 3 + 0xff);
    CHECK_EQ_INT(ids.data[2], 3 + 0x01);
    gb_ids_free(&ids);
    gb_tokenizer_free(t);
}

TEST(tokenizer_gguf_round_trip_bpe) {
    gb_tokenizer *t = load_vocab("gpt-2");
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_algorithm(t), GB_TOKENIZER_BPE);
    CHECK_EQ_INT(gb_tokenizer_pattern(t), GB_PRETOK_GPT2);
    round_trips(t, "gpt-2", 2);
    gb_tokenizer_free(t);
}

/* The GGUF GPT-2 vocabulary is OpenAI's: on the golden text it gives tiktoken's r50k ids
 * (tests/ref/gpt2), and it is the same tokenizer (digest) as encoder.json + merges.txt when
 * that is in data/vocab/gpt2/. */
TEST(tokenizer_gguf_gpt2_golden_tiktoken) {
    gb_tokenizer *t = load_vocab("gpt-2"), *ref = NULL;
    REQUIRE(t);
    char *text = NULL, *want_s = NULL;
    size_t len = 0, wlen = 0;
    REQUIRE(gb_read_file("tests/ref/gpt2/text.txt", 0, &text, &len) == GB_OK);
    REQUIRE(gb_read_file("tests/ref/gpt2/text.r50k.ids", 0, &want_s, &wlen) == GB_OK);
    gb_ids ids = {0};
    CHECK_OK(gb_tokenizer_encode(t, text, len, 0, &ids));
    int64_t i = 0, bad = -1;
    for (char *p = want_s, *e;; p = e, i++) {
        unsigned long v = strtoul(p, &e, 10);
        if (e == p) break;
        if (bad < 0 && (i >= ids.len || ids.data[i] != v)) bad = i;
    }
    if (bad >= 0 || i != ids.len)
        gb_test_fail(__FILE__, __LINE__, "text.txt: %lld ids, want %lld; first difference at %lld", (long long)ids.len,
                     (long long)i, (long long)bad);
    gb_ids_free(&ids);
    free(text);
    free(want_s);
    const char *json = exists("data/vocab/gpt2/encoder.json") ? "data/vocab/gpt2/encoder.json"
                       : exists("data/vocab/gpt2/encoder.json.gz") ? "data/vocab/gpt2/encoder.json.gz"
                                                                  : NULL;
    if (json && gb_tokenizer_load(&ref, json) == GB_OK) {
        uint8_t a[32], b[32];
        gb_tokenizer_digest(t, a);
        gb_tokenizer_digest(ref, b);
        CHECK(memcmp(a, b, 32) == 0);
        gb_tokenizer_free(ref);
    }
    gb_tokenizer_free(t);
}

/* ---- special tokens, BOS/EOS ---- */

static int64_t encode_ids(gb_tokenizer *t, const char *s, int allow, uint32_t *out, int64_t cap) {
    gb_ids ids = {0};
    if (gb_tokenizer_encode(t, s, strlen(s), allow, &ids) != GB_OK) return -1;
    for (int64_t i = 0; i < ids.len && i < cap; i++) out[i] = ids.data[i];
    int64_t n = ids.len;
    gb_ids_free(&ids);
    return n;
}

TEST(tokenizer_gguf_specials_gpt2) {
    gb_tokenizer *t = load_vocab("gpt-2");
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_bos_id(t), 50256);
    CHECK_EQ_INT(gb_tokenizer_eos_id(t), 50256);
    CHECK_EQ_INT(gb_tokenizer_add_bos(t), 0);
    CHECK_EQ_INT(gb_tokenizer_add_eos(t), 0);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|endoftext|>"), 50256);
    uint32_t ids[16];
    CHECK_EQ_INT(encode_ids(t, "a<|endoftext|>", 1, ids, 16), 2);
    CHECK_EQ_INT(ids[1], 50256);
    CHECK(encode_ids(t, "a<|endoftext|>", 0, ids, 16) > 2);
    gb_tokenizer_free(t);
}

TEST(tokenizer_gguf_specials_phi3) {
    gb_tokenizer *t = load_vocab("phi-3");
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_bos_id(t), 1);
    CHECK_EQ_INT(gb_tokenizer_eos_id(t), 32000);
    CHECK_EQ_INT(gb_tokenizer_add_bos(t), 1);
    CHECK_EQ_INT(gb_tokenizer_add_eos(t), 0);
    CHECK_EQ_INT(gb_tokenizer_special_id(t, "<|user|>"), 32010);
    uint32_t ids[32];
    /* control tokens only when allowed; each stretch of text after one gets the space prefix */
    CHECK_EQ_INT(encode_ids(t, "<|user|>Hello", 1, ids, 32), 2);
    CHECK_EQ_INT(ids[0], 32010);
    CHECK_EQ_INT(ids[1], 15043); /* "▁Hello" */
    CHECK(encode_ids(t, "<|user|>Hello", 0, ids, 32) > 2);
    /* "</s>" is user-defined in Phi-3's vocabulary: llama.cpp matches it even then */
    CHECK_EQ_INT(encode_ids(t, "Hello</s>", 0, ids, 32), 2);
    CHECK_EQ_INT(ids[0], 15043);
    CHECK_EQ_INT(ids[1], 2);
    /* decoding: specials as written; strip_space drops only the encoder's one space */
    gb_bytes b = {0};
    const uint32_t seq[] = {32010, 15043, 2};
    CHECK_OK(gb_tokenizer_decode_text(t, seq, 3, 1, &b));
    CHECK(b.len == 18 && !memcmp(b.data, "<|user|> Hello</s>", 18));
    b.len = 0;
    CHECK_OK(gb_tokenizer_decode_text(t, seq + 1, 2, 1, &b));
    CHECK(b.len == 9 && !memcmp(b.data, "Hello</s>", 9));
    b.len = 0;
    CHECK_OK(gb_tokenizer_decode(t, seq + 1, 2, &b));
    CHECK(b.len == 10 && !memcmp(b.data, " Hello</s>", 10));
    gb_bytes_free(&b);
    /* a SentencePiece tokenizer has no glassbox JSON form */
    CHECK(gb_tokenizer_save(t, gb_test_path("%s/phi3.json", gb_test_tmpdir())) == GB_ERR_ARG);
    gb_tokenizer_free(t);
}

/* A megabyte in one stretch (SentencePiece has no pre-tokenizer): O(n log n), no stack. */
TEST(tokenizer_gguf_spm_long_text) {
    gb_tokenizer *t = load_vocab("phi-3");
    REQUIRE(t);
    size_t n = 1 << 20;
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++) s[i] = "ab c"[i % 4 == 3 ? 2 : (i / 7) % 2];
    memset(s, 'a', n / 2);
    gb_ids ids = {0};
    gb_bytes back = {0};
    CHECK_OK(gb_tokenizer_encode(t, s, n, 0, &ids));
    CHECK(ids.len > 1000 && ids.len < (int64_t)n / 2);
    CHECK_OK(gb_tokenizer_decode_text(t, ids.data, ids.len, 1, &back));
    CHECK(back.len == n && !memcmp(back.data, s, n));
    gb_ids_free(&ids);
    gb_bytes_free(&back);
    free(s);
    gb_tokenizer_free(t);
}
