/* Interop with llama.cpp: the GGUF files glassbox writes load and run in llama.cpp itself (the
 * prebuilt library of npm node-llama-cpp 3.22.1, driven by bench/infer/llamacpp.mjs) and
 * mean the same thing there. Models trained here in a few seconds (`glassbox train` on the
 * trainer tests' fixture: llama with GQA, and gpt2), as written and quantized to Q8_0:
 *   - llama.cpp's tokenization of assorted strings (pre-tokenizer edge cases, UTF-8, a
 *     special token) equals `glassbox tokenizer encode -t MODEL`, and the BOS rule agrees;
 *   - along llama.cpp's greedy continuation of a prompt (16 tokens), glassbox's logits at
 *     every step (gb_llm_eval fed the same tokens) match llama.cpp's raw logits within a
 *     tolerance, and glassbox's argmax is llama.cpp's choice unless the two best logits are
 *     within that tolerance of each other (a near-tie: summation order and llama.cpp's
 *     activation quantization may then pick the other one);
 *   - `glassbox generate --temp 0` prints exactly llama.cpp's continuation (up to the first
 *     near-tie, if there was one; the test says so).
 * A trained model matters: random weights give flat logits, all near-ties.
 * Skipped without node or the package (scripts/deps.sh, or npm install --prefix bench/quant;
 * $GB_NODE_LLAMA_CPP may name another node-llama-cpp folder) and off x86-64 Linux. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "glassbox/infer.h"
#include "glassbox/tokenizer.h"
#include "test.h"
#include "train/train_fixture.h"

#define SCRIPT "bench/infer/llamacpp.mjs"
#define NLC_DEFAULT "bench/quant/node_modules/node-llama-cpp"
#define N_GEN 16
#define PROMPT "3:4 the LORD"

/* Largest |logit difference| allowed, and the near-tie margin. F32 differs from llama.cpp in
 * summation order and in ggml's approximations (its GELU from an F16 table, rope angles by
 * repeated float products; its KV cache is asked to be F32 too): worst seen 8e-4 (llama),
 * 7e-4 (gpt2). Q8_0 also in how activations meet the weights (llama.cpp quantizes them to
 * Q8_0 blocks for every product): worst seen 2.5e-2. The closest top-2 margins along the
 * path were 0.035 to 0.055, so the near-tie rule is not idle. */
#define TOL_F32 5e-3
#define TOL_Q8 5e-2

static const char *const strings[] = {
    "3:4 the LORD said unto Moses.",
    "hello <|endoftext|> world\n",
    "  x\n\ny 123456 don't, I'm THEY'LL",
    "\xc3\x9cn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \xe2\x80\x94 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
    "\xf0\x9f\x99\x82",
    "\t\tthe   people\r\n   Israel's children!!",
    "",
    "<|endoftext|>",
    "IsraelIsrael LORDLORD 1:1 2:30 10:12",
};
#define N_STR ((int)(sizeof strings / sizeof *strings))

static int have_llamacpp(void) {
#if !defined(__x86_64__) || !defined(__linux__)
    gb_test_skip("the prebuilt llama.cpp is x86-64 Linux only");
    return 0;
#else
    const char *dir = getenv("GB_NODE_LLAMA_CPP");
    char path[1024];
    snprintf(path, sizeof path, "%s/dist/index.js", dir ? dir : NLC_DEFAULT);
    if (access(path, F_OK) != 0) {
        gb_test_skip("no node-llama-cpp (scripts/deps.sh, or npm install --prefix bench/quant)");
        return 0;
    }
    if (system("command -v node >/dev/null 2>&1") != 0) {
        gb_test_skip("node is not on PATH");
        return 0;
    }
    return 1;
#endif
}

/* Space-separated integers from s into ids (at most cap); returns how many. */
static int parse_ids(const char *s, long *ids, int cap) {
    int n = 0;
    for (char *e; s && *s && n < cap; s = e) {
        long v = strtol(s, &e, 10);
        if (e == s) break;
        ids[n++] = v;
    }
    return n;
}

/* The line of `text` that starts with `key` followed by a space (or ends right after key);
 * returns a pointer past "key " (to "" for an empty record), or NULL. */
static const char *record(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, key, k) && (p[k] == ' ' || p[k] == '\n')) return p[k] == ' ' ? p + k + 1 : p + k;
        p = strchr(p, '\n');
        if (p) p++;
    }
    return NULL;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) free(s), s = NULL;
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* Runs llamacpp.mjs interop on model; returns its output file's text (malloc'd) or NULL
 * after failing the test. */
static char *llamacpp_interop(const char *model, const char *tag) {
    const char *dir = gb_test_tmpdir();
    char in[600], out[600], err[600], cmd[2400];
    snprintf(in, sizeof in, "%s/interop-%s.json", dir, tag);
    snprintf(out, sizeof out, "%s/interop-%s.txt", dir, tag);
    snprintf(err, sizeof err, "%s/interop-%s.err", dir, tag);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "strings", cJSON_CreateStringArray(strings, N_STR));
    cJSON_AddStringToObject(o, "prompt", PROMPT);
    cJSON_AddNumberToObject(o, "n", N_GEN);
    cJSON_AddStringToObject(o, "kv", "F32");
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FILE *f = fopen(in, "w");
    if (!f || !js || fputs(js, f) < 0) {
        gb_test_fail(__FILE__, __LINE__, "cannot write %s", in);
        if (f) fclose(f);
        free(js);
        return NULL;
    }
    fclose(f);
    free(js);
    snprintf(cmd, sizeof cmd, "node " SCRIPT " interop '%s' '%s' '%s' 2>'%s'", model, in, out, err);
    int st = system(cmd);
    if (st != 0) {
        char *e = slurp(err);
        gb_test_fail(__FILE__, __LINE__, "%s: status %d: %s", cmd, WIFEXITED(st) ? WEXITSTATUS(st) : st,
                     e ? e : "");
        free(e);
        return NULL;
    }
    char *text = slurp(out);
    if (!text) gb_test_fail(__FILE__, __LINE__, "no output in %s", out);
    return text;
}

/* Trains an `arch` (llama or gpt2) model once; returns RUN/model.gguf or NULL after failing. */
static const char *trained(const char *arch) {
    static char paths[2][700];
    char *p = paths[!strcmp(arch, "gpt2")];
    if (p[0]) return p;
    const char *data = train_fixture_data();
    if (!data) return NULL;
    char run[600];
    snprintf(run, sizeof run, "%s/interop-%s", gb_test_tmpdir(), arch);
    const char *argv[] = {"train", "--data", data, "--out", run, "--arch", arch, "--n-layer", "2", "--d-model", "64",
                          "--n-head", "4", "--n-kv-head", !strcmp(arch, "llama") ? "2" : "4", "--ctx", "64",
                          "--seq", "32", "--batch", "8", "--steps", "150", "--lr", "3e-3", "--eval-batches", "2",
                          "--quiet", NULL};
    char *out = NULL, *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    if (rc != 0) gb_test_fail(__FILE__, __LINE__, "train %s: exit %d: %s", arch, rc, err ? err : "");
    free(out), free(err);
    if (rc != 0) return NULL;
    snprintf(p, sizeof paths[0], "%s/model.gguf", run);
    return p;
}

static const char *quantized(const char *model, const char *arch) {
    static char paths[2][600];
    char *p = paths[!strcmp(arch, "gpt2")];
    if (p[0]) return p;
    char q[600];
    snprintf(q, sizeof q, "%s/interop-%s-q8_0.gguf", gb_test_tmpdir(), arch);
    const char *argv[] = {"quantize", model, q, "--type", "q8_0", NULL};
    char *out = NULL, *err = NULL;
    int rc = gb_test_run(argv, NULL, 0, &out, NULL, &err);
    if (rc != 0) gb_test_fail(__FILE__, __LINE__, "quantize: exit %d: %s", rc, err ? err : "");
    free(out), free(err);
    if (rc != 0) return NULL;
    snprintf(p, sizeof paths[0], "%s", q);
    return p;
}

/* The tokenizations and the BOS rule. */
static void check_tokens(const char *model, const char *ll, const gb_llm *m) {
    long a[512], b[512];
    for (int i = 0; i < N_STR; i++) {
        char key[32];
        snprintf(key, sizeof key, "tok %d", i);
        const char *rec = record(ll, key);
        if (!rec) {
            gb_test_fail(__FILE__, __LINE__, "%s: no '%s' in llama.cpp's output", model, key);
            continue;
        }
        int na = parse_ids(rec, a, 512);
        const char *argv[] = {"tokenizer", "encode", "-t", model, NULL};
        char *out = NULL, *err = NULL;
        int rc = gb_test_run(argv, strings[i], strlen(strings[i]), &out, NULL, &err);
        CHECK_EQ_INT(rc, 0);
        int nb = parse_ids(out, b, 512);
        int same = na == nb;
        for (int j = 0; same && j < na; j++) same = a[j] == b[j];
        if (!same) {
            gb_test_fail(__FILE__, __LINE__, "%s: string %d: llama.cpp has %d ids (%.*s), glassbox %d (%s)", model, i,
                         na, (int)strcspn(rec, "\n"), rec, nb, out ? out : "");
        }
        free(out), free(err);
    }
    const char *bos = record(ll, "bos");
    REQUIRE(bos);
    CHECK_EQ_INT(atol(bos), gb_llm_add_bos(m) ? gb_llm_bos(m) : -1);
}

static void check_model(const char *model, const char *tag, double tol) {
    char *ll = llamacpp_interop(model, tag);
    if (!ll) return;
    gb_llm *m = NULL;
    gb_ids ids = {0};
    gb_bytes text = {0};
    float *logits = NULL, *want = NULL;
    uint32_t gen[N_GEN];
    int n_gen = 0, near_tie = -1;
    double worst = 0, min_margin = 1e30;
    CHECK_OK(gb_llm_load(&m, model, 0));
    if (!m) goto done;
    check_tokens(model, ll, m);

    /* the prompt, as each tokenizes it */
    if (gb_llm_add_bos(m)) CHECK_OK(gb_ids_push(&ids, (uint32_t)gb_llm_bos(m)));
    CHECK_OK(gb_tokenizer_encode(gb_llm_tokenizer(m), PROMPT, strlen(PROMPT), 1, &ids));
    long pr[256];
    int np = parse_ids(record(ll, "prompt"), pr, 256);
    int same = np == ids.len;
    for (int j = 0; same && j < np; j++) same = pr[j] == (long)ids.data[j];
    if (!same) {
        gb_test_fail(__FILE__, __LINE__, "%s: the prompt's ids differ", model);
        goto done;
    }

    /* glassbox's logits along llama.cpp's greedy path */
    const int64_t V = gb_llm_n_vocab(m);
    logits = malloc(sizeof(float) * (size_t)V);
    want = malloc(sizeof(float) * (size_t)V);
    REQUIRE(logits && want);
    CHECK_OK(gb_llm_eval(m, ids.data, ids.len, 0, logits, 0));
    int64_t pos = ids.len;
    for (int i = 0; i < N_GEN; i++) {
        char key[32];
        snprintf(key, sizeof key, "step %d", i);
        const char *rec = record(ll, key);
        if (!rec) break;
        char *e;
        long tok = strtol(rec, &e, 10);
        int64_t n = 0;
        for (const char *s = e; n < V; s = e) {
            want[n] = strtof(s, &e);
            if (e == s) break;
            n++;
        }
        if (n != V || tok < 0 || tok >= V) {
            gb_test_fail(__FILE__, __LINE__, "%s: step %d: %lld logits for a vocabulary of %lld, token %ld", model, i,
                         (long long)n, (long long)V, tok);
            goto done;
        }
        int64_t top = 0, second = -1;
        for (int64_t j = 0; j < V; j++) {
            double d = fabs((double)logits[j] - (double)want[j]);
            if (d > worst) worst = d;
            if (logits[j] > logits[top]) top = j;
        }
        for (int64_t j = 0; j < V; j++)
            if (j != top && (second < 0 || logits[j] > logits[second])) second = j;
        if (logits[top] - logits[second] < min_margin) min_margin = logits[top] - logits[second];
        if (top != tok) {
            double margin = (double)logits[top] - (double)logits[tok];
            if (margin > tol)
                gb_test_fail(__FILE__, __LINE__,
                             "%s: step %d: llama.cpp chose %ld, glassbox's argmax is %lld by %.4g "
                             "(> %.1g: not a near-tie)", model, i, tok, (long long)top, margin, tol);
            else if (near_tie < 0)
                near_tie = i;
        }
        snprintf(key, sizeof key, "eog %d", i);
        if (record(ll, key)) break;
        gen[n_gen++] = (uint32_t)tok;
        if (i + 1 < N_GEN && pos < gb_llm_n_ctx(m)) {
            uint32_t t = (uint32_t)tok;
            CHECK_OK(gb_llm_eval(m, &t, 1, pos++, logits, 0));
        }
    }
    if (worst > tol)
        gb_test_fail(__FILE__, __LINE__, "%s: logits differ from llama.cpp's by %.3g (> %.1g)", model, worst, tol);
    CHECK(n_gen > 0);

    /* glassbox generate --temp 0 prints llama.cpp's continuation */
    CHECK_OK(gb_bytes_append(&text, PROMPT, strlen(PROMPT)));
    CHECK_OK(gb_tokenizer_decode(gb_llm_tokenizer(m), gen, near_tie < 0 ? n_gen : near_tie, &text));
    char nstr[16];
    snprintf(nstr, sizeof nstr, "%d", N_GEN);
    const char *argv[] = {"generate", "-m", model, "-p", PROMPT, "-n", nstr, "--temp", "0", NULL};
    char *out = NULL, *err = NULL;
    CHECK_EQ_INT(gb_test_run(argv, NULL, 0, &out, NULL, &err), 0);
    if (near_tie < 0) {
        CHECK_OK(gb_bytes_append(&text, "\n", 1));
        CHECK(out && strlen(out) == text.len && !memcmp(out, text.data, text.len));
    } else {
        fprintf(stderr, "  %s: a near-tie at step %d: generate compared up to there\n", model, near_tie);
        CHECK(out && strlen(out) >= text.len && !memcmp(out, text.data, text.len));
    }
    if (gb_test_failed())
        fprintf(stderr, "  %s: glassbox generate: '%s', llama.cpp: '%.*s'; largest logit difference %.3g, "
                "closest top-2 margin %.3g\n", model, out ? out : "", (int)text.len, (const char *)text.data, worst,
                min_margin);
    free(out), free(err);
done:
    free(ll), free(logits), free(want);
    gb_ids_free(&ids);
    gb_bytes_free(&text);
    gb_llm_free(m);
}

TEST(interop_llamacpp_llama) {
    if (!have_llamacpp()) return;
    const char *f32 = trained("llama");
    REQUIRE(f32);
    check_model(f32, "llama-f32", TOL_F32);
    const char *q8 = quantized(f32, "llama");
    REQUIRE(q8);
    check_model(q8, "llama-q8_0", TOL_Q8);
}

TEST(interop_llamacpp_gpt2) {
    if (!have_llamacpp()) return;
    const char *f32 = trained("gpt2");
    REQUIRE(f32);
    check_model(f32, "gpt2-f32", TOL_F32);
    const char *q8 = quantized(f32, "gpt2");
    REQUIRE(q8);
    check_model(q8, "gpt2-q8_0", TOL_Q8);
}
