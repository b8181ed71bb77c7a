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
