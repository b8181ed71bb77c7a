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

/* ---- the trainer's GGUF keys (src/train/gguf_tokenizer.c) read back ---- */

static gb_tokenizer *through_gguf(const gb_tokenizer *t, const char *name) {
    gb_gguf_writer *w = NULL;
    gb_gguf *g = NULL;
    gb_tokenizer *u = NULL;
    const char *path = gb_test_path("%s/%s", gb_test_tmpdir(), name);
    CHECK_OK(gb_gguf_writer_new(&w));
    CHECK_OK(gb_gguf_add_tokenizer(w, t));
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf_writer_free(w);
    CHECK_OK(gb_gguf_open(&g, path));
    if (g) CHECK_OK(gb_tokenizer_load_gguf(&u, g));
    gb_gguf_close(g);
    return u;
}

TEST(tokenizer_gguf_trainer_round_trip) {
    const char *text = "tests/ref/gpt2/text.txt";
    gb_bpe_train_opts o = {.vocab_size = 700, .pattern = GB_PRETOK_GPT2};
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_bpe_train(&t, &o, &text, 1, NULL));
    REQUIRE(t);
    gb_tokenizer *u = through_gguf(t, "trained.gguf");
    REQUIRE(u);
    uint8_t a[32], b[32];
    gb_tokenizer_digest(t, a);
    gb_tokenizer_digest(u, b);
    CHECK(memcmp(a, b, 32) == 0);
    int64_t eot = gb_tokenizer_special_id(t, "<|endoftext|>");
    CHECK(eot >= 0);
    CHECK_EQ_INT(gb_tokenizer_special_id(u, "<|endoftext|>"), eot);
    CHECK_EQ_INT(gb_tokenizer_bos_id(u), eot);
    CHECK_EQ_INT(gb_tokenizer_eos_id(u), eot);
    gb_tokenizer_free(u);

    /* a cl100k-pattern tokenizer is written as pre "llama-bpe", which llama.cpp runs with
     * Llama 3's pattern and whole-word matching: it comes back as that (another digest) */
    gb_tokenizer *c = NULL;
    o.pattern = GB_PRETOK_CL100K;
    CHECK_OK(gb_bpe_train(&c, &o, &text, 1, NULL));
    REQUIRE(c);
    u = through_gguf(c, "trained-cl100k.gguf");
    REQUIRE(u);
    CHECK_EQ_INT(gb_tokenizer_pattern(u), GB_PRETOK_LLAMA3);
    CHECK_EQ_INT(gb_tokenizer_vocab_size(u), gb_tokenizer_vocab_size(c));
    gb_ids x = {0};
    gb_bytes back = {0};
    CHECK_OK(gb_tokenizer_encode(u, "Hello, world! It's 2024.", 24, 0, &x));
    CHECK_OK(gb_tokenizer_decode(u, x.data, x.len, &back));
    CHECK(back.len == 24 && !memcmp(back.data, "Hello, world! It's 2024.", 24));
    gb_ids_free(&x);
    gb_bytes_free(&back);
    gb_tokenizer_free(u);
    gb_tokenizer_free(c);
    gb_tokenizer_free(t);
}

/* ---- hand-made GGUF vocabularies: malformed keys and llama.cpp's rules ---- */

/* What goes into a test file; NULL / negative counts leave a key out. */
typedef struct spec {
    const char *model, *pre;
    const char *tok[300];
    int n_tok;
    int32_t types[300];
    int n_types;
    float scores[300];
    int n_scores;
    const char *merges[8];
    int n_merges;
    int64_t bos;        /* -1: no key */
    int tokens_as_ints; /* tokenizer.ggml.tokens of the wrong element type */
} spec;

static char byte_names[256][8];
static char gpt2_bytes[256][4];

/* A gpt2 vocabulary: the 256 mapped bytes, "ab", "abc" (no merge makes it), "<|endoftext|>";
 * merges "a b". */
static void spec_gpt2(spec *s) {
    memset(s, 0, sizeof *s);
    s->model = "gpt2";
    s->pre = "gpt-2";
    for (int b = 0; b < 256; b++) {
        uint32_t cp = b >= 0x21 && b <= 0x7e ? (uint32_t)b : 0;
        /* GPT-2's bytes_to_unicode, the same as the loaders use */
        if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae) cp = (uint32_t)b;
        else {
            uint32_t k = 0;
            for (int x = 0; x < b; x++)
                if (!((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || x >= 0xae)) k++;
            cp = 256 + k;
        }
        char *d = gpt2_bytes[b];
        if (cp < 0x80) d[0] = (char)cp, d[1] = 0;
        else d[0] = (char)(0xc0 | cp >> 6), d[1] = (char)(0x80 | (cp & 0x3f)), d[2] = 0;
        s->tok[b] = d;
        s->types[b] = 1;
    }
    s->tok[256] = "ab", s->types[256] = 1;
    s->tok[257] = "abc", s->types[257] = 1;
    s->tok[258] = "<|endoftext|>", s->types[258] = 3;
    s->n_tok = s->n_types = 259;
    s->n_scores = -1;
    s->merges[0] = "a b";
    s->n_merges = 1;
    s->bos = 258;
}

/* A llama vocabulary: <unk> <s> </s>, 256 byte tokens, "▁", "a", "b", "▁a", "ab", "ba". */
static void spec_spm(spec *s) {
    memset(s, 0, sizeof *s);
    s->model = "llama";
    const char *head[] = {"<unk>", "<s>", "</s>"};
    const int head_type[] = {2, 3, 3};
    for (int i = 0; i < 3; i++) s->tok[i] = head[i], s->types[i] = head_type[i];
    for (int b = 0; b < 256; b++) {
        snprintf(byte_names[b], sizeof byte_names[b], "<0x%02X>", b);
        s->tok[3 + b] = byte_names[b], s->types[3 + b] = 6;
    }
    const char *rest[] = {"\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab", "ba"};
    const float sc[] = {-1, -2, -3, -4, -5, -6};
    for (int i = 0; i < 6; i++) s->tok[259 + i] = rest[i], s->types[259 + i] = 1, s->scores[259 + i] = sc[i];
    s->n_tok = s->n_types = s->n_scores = 265;
    s->n_merges = -1;
    s->bos = 1;
}

static const char *spec_write(const spec *s, const char *name) {
    const char *path = gb_test_path("%s/%s", gb_test_tmpdir(), name);
    gb_gguf_writer *w = NULL;
    CHECK_OK(gb_gguf_writer_new(&w));
    if (s->model) CHECK_OK(gb_gguf_add_str(w, "tokenizer.ggml.model", s->model));
    if (s->pre) CHECK_OK(gb_gguf_add_str(w, "tokenizer.ggml.pre", s->pre));
    if (s->tokens_as_ints) {
        CHECK_OK(gb_gguf_add_arr(w, "tokenizer.ggml.tokens", GB_GGUF_INT32, s->types, (uint64_t)s->n_tok));
    } else if (s->n_tok >= 0) {
        CHECK_OK(gb_gguf_add_arr_str(w, "tokenizer.ggml.tokens", s->tok, NULL, (uint64_t)s->n_tok));
    }
    if (s->n_types >= 0) CHECK_OK(gb_gguf_add_arr(w, "tokenizer.ggml.token_type", GB_GGUF_INT32, s->types, (uint64_t)s->n_types));
    if (s->n_scores >= 0) CHECK_OK(gb_gguf_add_arr(w, "tokenizer.ggml.scores", GB_GGUF_FLOAT32, s->scores, (uint64_t)s->n_scores));
    if (s->n_merges >= 0) CHECK_OK(gb_gguf_add_arr_str(w, "tokenizer.ggml.merges", s->merges, NULL, (uint64_t)s->n_merges));
    if (s->bos >= 0) CHECK_OK(gb_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)s->bos));
    CHECK_OK(gb_gguf_write(w, path));
    gb_gguf_writer_free(w);
    return path;
}

/* Writes s, loads it through gb_tokenizer_load, wants GB_ERR_FORMAT and one line naming
 * the file and containing `want`. */
static void expect_bad(const spec *s, const char *name, const char *want, int line) {
    const char *path = spec_write(s, name);
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    gb_tokenizer *t = NULL;
    gb_status rc = gb_tokenizer_load(&t, p);
    const char *msg = gb_last_error();
    if (getenv("GB_DEBUG")) fprintf(stderr, "    %s\n", msg);
    if (rc != GB_ERR_FORMAT)
        gb_test_fail(__FILE__, line, "%s: status %d, want GB_ERR_FORMAT (message: %s)", name, rc, msg);
    else if (!strstr(msg, p) || !strstr(msg, want) || strchr(msg, '\n'))
        gb_test_fail(__FILE__, line, "message \"%s\" should be one line naming %s and saying \"%s\"", msg, p, want);
    if (t) gb_test_fail(__FILE__, line, "%s: a tokenizer came back with an error", name);
    gb_tokenizer_free(t);
}
#define EXPECT_BAD(s, name, want) expect_bad(s, name, want, __LINE__)

static gb_tokenizer *spec_load(const spec *s, const char *name) {
    gb_tokenizer *t = NULL;
    CHECK_OK(gb_tokenizer_load(&t, spec_write(s, name)));
    return t;
}

TEST(tokenizer_gguf_handmade_ok) {
    spec s;
    uint32_t ids[16];
    /* gpt2: "abc" has no merge, so GPT-2's rules give [ab, c]; llama-bpe takes the whole word */
    spec_gpt2(&s);
    gb_tokenizer *t = spec_load(&s, "ok-gpt2.gguf");
    REQUIRE(t);
    CHECK_EQ_INT(encode_ids(t, "abc", 0, ids, 16), 2);
    CHECK_EQ_INT(ids[0], 256);
    CHECK_EQ_INT(ids[1], 'c');
    CHECK_EQ_INT(gb_tokenizer_bos_id(t), 258);
    CHECK_EQ_INT(gb_tokenizer_add_bos(t), 0);
    gb_tokenizer_free(t);
    s.pre = "llama-bpe";
    t = spec_load(&s, "ok-llama-bpe.gguf");
    REQUIRE(t);
    CHECK_EQ_INT(encode_ids(t, "abc", 0, ids, 16), 1);
    CHECK_EQ_INT(ids[0], 257);
    CHECK_EQ_INT(encode_ids(t, "abcd", 0, ids, 16), 3); /* not a token: merges as usual */
    CHECK_EQ_INT(gb_tokenizer_pattern(t), GB_PRETOK_LLAMA3);
    CHECK_EQ_INT(gb_tokenizer_add_bos(t), 1);
    CHECK(gb_tokenizer_save(t, gb_test_path("%s/l3.json", gb_test_tmpdir())) == GB_ERR_ARG);
    gb_tokenizer_free(t);
    s.pre = "smaug-bpe"; /* Llama 3's pattern without whole words */
    t = spec_load(&s, "ok-smaug.gguf");
    REQUIRE(t);
    CHECK_EQ_INT(encode_ids(t, "abc", 0, ids, 16), 2);
    CHECK_EQ_INT(gb_tokenizer_pattern(t), GB_PRETOK_LLAMA3);
    CHECK_EQ_INT(gb_tokenizer_add_bos(t), 0);
    gb_tokenizer_free(t);
    s.pre = NULL; /* no pre-tokenizer key: GPT-2's */
    t = spec_load(&s, "ok-nopre.gguf");
    REQUIRE(t);
    CHECK_EQ_INT(gb_tokenizer_pattern(t), GB_PRETOK_GPT2);
    gb_tokenizer_free(t);

    /* llama: merges by score; "ab" (-5) loses to "▁a" (-4) in " ab" */
    spec_spm(&s);
    t = spec_load(&s, "ok-spm.gguf");
    REQUIRE(t);
    CHECK_EQ_INT(encode_ids(t, "ab", 0, ids, 16), 2);
    CHECK_EQ_INT(ids[0], 262); /* ▁a */
    CHECK_EQ_INT(ids[1], 261); /* b */
    s.scores[263] = -1.5f; /* now "ab" first */
    gb_tokenizer *u = spec_load(&s, "ok-spm2.gguf");
    REQUIRE(u);
    CHECK_EQ_INT(encode_ids(u, "ab", 0, ids, 16), 2);
    CHECK_EQ_INT(ids[0], 259);
    CHECK_EQ_INT(ids[1], 263);
    uint8_t d1[32], d2[32];
    gb_tokenizer_digest(t, d1);
    gb_tokenizer_digest(u, d2);
    CHECK(memcmp(d1, d2, 32) != 0); /* the scores are part of the digest */
    gb_tokenizer_free(u);
    /* characters outside the vocabulary: byte tokens; "c" is 0x63 */
    CHECK_EQ_INT(encode_ids(t, "c", 0, ids, 16), 2);
    CHECK_EQ_INT(ids[1], 3 + 'c');
    CHECK_EQ_INT(gb_tokenizer_bos_id(t), 1);
    CHECK_EQ_INT(gb_tokenizer_eos_id(t), 2);
    gb_tokenizer_free(t);
    /* no scores: all 0, so the leftmost pair merges first */
    s.n_scores = -1;
    t = spec_load(&s, "ok-spm-noscores.gguf");
    REQUIRE(t);
    CHECK_EQ_INT(encode_ids(t, "ab", 0, ids, 16), 2);
    CHECK_EQ_INT(ids[0], 262);
    gb_tokenizer_free(t);
}

TEST(tokenizer_gguf_bad_metadata) {
    spec s;
    spec_gpt2(&s), s.model = NULL;
    EXPECT_BAD(&s, "no-model.gguf", "no tokenizer.ggml.model");
    spec_gpt2(&s), s.model = "bert";
    EXPECT_BAD(&s, "bert.gguf", "tokenizer model \"bert\"");
    spec_gpt2(&s), s.pre = "qwen2";
    EXPECT_BAD(&s, "qwen2.gguf", "pre-tokenizer \"qwen2\"");
    spec_gpt2(&s), s.n_tok = -1;
    EXPECT_BAD(&s, "no-tokens.gguf", "no tokenizer.ggml.tokens");
    spec_spm(&s), s.n_tok = -1;
    EXPECT_BAD(&s, "no-tokens-spm.gguf", "no tokenizer.ggml.tokens");
    spec_gpt2(&s), s.tokens_as_ints = 1;
    EXPECT_BAD(&s, "int-tokens.gguf", "tokenizer.ggml.tokens");
    spec_gpt2(&s), s.n_tok = s.n_types = 0;
    EXPECT_BAD(&s, "empty-vocab.gguf", "has 0 tokens");
    spec_spm(&s), s.n_scores = 100;
    EXPECT_BAD(&s, "short-scores.gguf", "tokenizer.ggml.scores has 100 entries for 265 tokens");
    spec_spm(&s), s.scores[270 - 6] = NAN;
    EXPECT_BAD(&s, "nan-score.gguf", "not a number");
    spec_spm(&s), s.types[100] = 7;
    EXPECT_BAD(&s, "type-7.gguf", "tokenizer.ggml.token_type[100] is 7");
    spec_gpt2(&s), s.types[5] = 0;
    EXPECT_BAD(&s, "type-0.gguf", "tokenizer.ggml.token_type[5] is 0");
    spec_gpt2(&s), s.types[5] = -3;
    EXPECT_BAD(&s, "type-neg.gguf", "tokenizer.ggml.token_type[5] is -3");
    spec_gpt2(&s), s.n_types = 10;
    EXPECT_BAD(&s, "short-types.gguf", "tokenizer.ggml.token_type has 10 entries for 259 tokens");
    spec_gpt2(&s), s.n_merges = -1;
    EXPECT_BAD(&s, "no-merges.gguf", "no tokenizer.ggml.merges");
    spec_gpt2(&s), s.merges[0] = "a zz";
    EXPECT_BAD(&s, "merge-unknown.gguf", "\"zz\" is not a token");
    spec_gpt2(&s), s.merges[0] = "qq b";
    EXPECT_BAD(&s, "merge-unknown-left.gguf", "\"qq\" is not a token");
    spec_gpt2(&s), s.merges[0] = "b c";
    EXPECT_BAD(&s, "merge-no-result.gguf", "makes a string that is not a token");
    spec_gpt2(&s), s.merges[0] = "ab";
    EXPECT_BAD(&s, "merge-no-space.gguf", "is not a merge \"A B\"");
    spec_gpt2(&s), s.merges[0] = "\xe2\x96\x81 b";
    EXPECT_BAD(&s, "merge-unmapped.gguf", "is not a token");
    spec_gpt2(&s), s.tok[256] = "a b";
    EXPECT_BAD(&s, "token-space.gguf", "tokenizer.ggml.tokens[256] \"a b\" is not a GPT-2 byte string");
    spec_gpt2(&s), s.tok[257] = "";
    EXPECT_BAD(&s, "token-empty.gguf", "tokenizer.ggml.tokens[257] is the empty string");
    spec_spm(&s), s.tok[262] = "";
    EXPECT_BAD(&s, "token-empty-spm.gguf", "token 262 is the empty string");
    spec_gpt2(&s), s.types['x'] = 5;
    EXPECT_BAD(&s, "byte-missing.gguf", "no token for the byte 0x78");
    spec_gpt2(&s), s.bos = 259;
    EXPECT_BAD(&s, "bos-range.gguf", "tokenizer.ggml.bos_token_id is 259");
    spec_spm(&s), s.bos = 5000;
    EXPECT_BAD(&s, "bos-range-spm.gguf", "tokenizer.ggml.bos_token_id is 5000");
    spec_spm(&s), s.tok[3] = "<0xZZ>";
    EXPECT_BAD(&s, "byte-name.gguf", "token 3 is of type byte but is \"<0xZZ>\"");
    spec_spm(&s), s.types[261] = 3, s.tok[261] = "<s>";
    EXPECT_BAD(&s, "dup-special.gguf", "special tokens 1 and 261 are the same");
}
