/* glassbox init — a randomly initialised model as GGUF, for benchmarks and tests when no
 * weights can be downloaded. The layout comes from a preset (the training presets plus the
 * inference ones below), the weights from gb_model_init_weights (GPT-2's initialisation,
 * seeded), the tokenizer from GPT-2's byte-level BPE files (data/vocab/gpt2 by default) so
 * that the model runs end to end. A vocabulary smaller than the tokenizer's keeps its first N
 * tokens (GPT-2's ids follow merge order, so the first N-1 tokens with their merges are a
 * complete byte-level BPE) and puts <|endoftext|> at id N-1. The file is written by the
 * trainer's checkpoint writer (F32); --type f16 converts it with gb_llm_quantize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/model.h"
#include "glassbox/train.h"

static const char *init_help =
    "usage: glassbox init --arch llama|gpt2 --preset NAME --out FILE [options]\n"
    "\n"
    "Writes a randomly initialised model (GGUF, with GPT-2's tokenizer) for benchmarks and tests.\n"
    "\n"
    "  --arch A           llama or gpt2\n"
    "  --preset NAME      llama: tiny, 10m, 110m (12 layers, d 768, 12 heads, ff 2048, vocab 32000),\n"
    "                     1.1b (TinyLlama: 22 layers, d 2048, 32 heads / 4 kv heads, ff 5632,\n"
    "                     vocab 32000, context 2048); gpt2: tiny, 10m, 124m\n"
    "  --out FILE         the GGUF file to write\n"
    "  --vocab N          vocabulary size (default: the preset's; at most the tokenizer's is used\n"
    "                     for text, 258 or more)\n"
    "  --ctx N            context length (default: the preset's)\n"
    "  --seed S           weight seed (default 1337)\n"
    "  --type T           f32 (default) or f16\n"
    "  --tokenizer PATH   GPT-2 style tokenizer files (default data/vocab/gpt2/encoder.json, in the\n"
    "                     working directory or beside the glassbox executable)\n"
    "  --threads N        compute threads (default: one per core)\n"
    "  -h, --help         show this help\n";

/* Fills *c for arch + preset; 0 if unknown. */
static int preset(gb_model_config *c, const char *arch, const char *name) {
    char full[64];
    int llama = !strcmp(arch, "llama");
    if (llama && !strcmp(name, "110m")) {
        /* llama2.c's stories110M layout */
        gb_model_config_preset(c, "llama");
        c->n_layer = 12, c->n_head = 12, c->n_kv_head = 12, c->d_model = 768, c->d_ff = 2048;
        c->vocab_size = 32000, c->n_ctx = 1024;
        return 1;
    }
    if (llama && (!strcmp(name, "1.1b") || !strcmp(name, "tinyllama"))) {
        gb_model_config_preset(c, "llama");
        c->n_layer = 22, c->n_head = 32, c->n_kv_head = 4, c->d_model = 2048, c->d_ff = 5632;
        c->vocab_size = 32000, c->n_ctx = 2048;
        return 1;
    }
    snprintf(full, sizeof full, "%s-%s", arch, name);
    return gb_model_config_preset(c, full) == GB_OK && !strcmp(c->arch, arch);
}

/* Tokenizer keys for a vocabulary of n: the tokenizer's own (gb_gguf_add_tokenizer) when it fits,
 * else its first n-1 tokens and their merges plus <|endoftext|> at n-1. Written to tmp. */
static gb_status tokenizer_keys(const char *tok_path, int64_t n, const char *tmp, const char *tmp2, gb_gguf **out) {
    gb_tokenizer *tok = NULL;
    gb_gguf_writer *w = NULL, *w2 = NULL;
    gb_gguf *g = NULL;
    const char **strs = NULL;
    uint64_t *lens = NULL;
    int32_t *types = NULL;
    gb_status rc;
    *out = NULL;
    if ((rc = gb_tokenizer_load(&tok, tok_path)) || (rc = gb_gguf_writer_new(&w)) ||
        (rc = gb_gguf_add_tokenizer(w, tok)) || (rc = gb_gguf_write(w, tmp)) || (rc = gb_gguf_open(&g, tmp)))
        goto done;
    if (gb_tokenizer_vocab_size(tok) <= n) {
        *out = g, g = NULL;
        goto done;
    }
    /* truncate: tokens, token_type to n (last one <|endoftext|>), merges to those of ids < n-1 */
    gb_gguf_arr toks, tt, merges;
    if ((rc = gb_gguf_get_arr(g, "tokenizer.ggml.tokens", GB_GGUF_STRING, &toks)) ||
        (rc = gb_gguf_get_arr(g, "tokenizer.ggml.token_type", GB_GGUF_INT32, &tt)) ||
        (rc = gb_gguf_get_arr(g, "tokenizer.ggml.merges", GB_GGUF_STRING, &merges)) ||
        (rc = gb_gguf_writer_new(&w2)))
        goto done;
    uint64_t nm = n - 1 > 256 ? (uint64_t)(n - 1 - 256) : 0;
    if (nm > merges.n) nm = merges.n;
    size_t cap = (size_t)(n > (int64_t)nm ? n : (int64_t)nm);
    if (!(strs = calloc(cap, sizeof *strs)) || !(lens = calloc(cap, sizeof *lens)) || !(types = calloc((size_t)n, sizeof *types))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        gb_gguf_str s = gb_gguf_arr_str(&toks, (uint64_t)i);
        strs[i] = s.ptr, lens[i] = s.len, types[i] = gb_gguf_arr_i32(&tt, (uint64_t)i);
    }
    strs[n - 1] = "<|endoftext|>", lens[n - 1] = strlen("<|endoftext|>"), types[n - 1] = 3; /* control */
    if ((rc = gb_gguf_add_str(w2, "tokenizer.ggml.model", "gpt2")) ||
        (rc = gb_gguf_add_str(w2, "tokenizer.ggml.pre", "gpt-2")) ||
        (rc = gb_gguf_add_arr_str(w2, "tokenizer.ggml.tokens", strs, lens, (uint64_t)n)) ||
        (rc = gb_gguf_add_arr(w2, "tokenizer.ggml.token_type", GB_GGUF_INT32, types, (uint64_t)n)))
        goto done;
    for (uint64_t i = 0; i < nm; i++) {
        gb_gguf_str s = gb_gguf_arr_str(&merges, i);
        strs[i] = s.ptr, lens[i] = s.len;
    }
    if ((rc = gb_gguf_add_arr_str(w2, "tokenizer.ggml.merges", strs, lens, nm)) ||
        (rc = gb_gguf_add_u32(w2, "tokenizer.ggml.bos_token_id", (uint32_t)(n - 1))) ||
        (rc = gb_gguf_add_u32(w2, "tokenizer.ggml.eos_token_id", (uint32_t)(n - 1))) ||
        (rc = gb_gguf_write(w2, tmp2)))
        goto done;
    rc = gb_gguf_open(out, tmp2);
done:
    free(strs), free(lens), free(types);
    gb_gguf_close(g);
    gb_gguf_writer_free(w);
    gb_gguf_writer_free(w2);
    gb_tokenizer_free(tok);
    return rc;
}

/* The default tokenizer: data/vocab/gpt2 under the working directory, else beside the
 * executable or one directory above it (a checkout's ./glassbox or build/glassbox run from
 * elsewhere). The existence checks only pick a default path: the loader opens the file and
 * reports any failure itself, so a file that changes in between is still handled. */
static const char *default_tokenizer(char *buf, size_t cap) {
    static const char rel[] = "data/vocab/gpt2/encoder.json";
    if (access(rel, R_OK) == 0) return rel; /* Flawfinder: ignore (a probe, see above) */
    char exe[4096];
    /* NUL-terminated below; at most sizeof exe - 1 bytes are read */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1); /* Flawfinder: ignore */
    if (n <= 0) return rel;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return rel;
    *slash = 0;
    static const char *const up[] = {"", "/.."};
    for (int i = 0; i < 2; i++)
        if ((size_t)snprintf(buf, cap, "%s%s/%s", exe, up[i], rel) < cap &&
            access(buf, R_OK) == 0) /* Flawfinder: ignore (a probe, see above) */
            return buf;
    return rel;
}

int gb_cmd_init(int argc, char **argv) {
    const char *cmd = "init";
    char tok_buf[4200];
    const char *arch = NULL, *name = NULL, *out = NULL, *type = "f32", *tok_path = default_tokenizer(tok_buf, sizeof tok_buf);
    int64_t vocab = 0, ctx = 0, seed = 1337;
    enum { O_ARCH = 256, O_PRESET, O_OUT, O_VOCAB, O_CTX, O_SEED, O_TYPE, O_TOK, O_THREADS };
    static const struct option opts[] = {
        {"arch", required_argument, 0, O_ARCH},   {"preset", required_argument, 0, O_PRESET},
        {"out", required_argument, 0, O_OUT},     {"vocab", required_argument, 0, O_VOCAB},
        {"ctx", required_argument, 0, O_CTX},     {"seed", required_argument, 0, O_SEED},
        {"type", required_argument, 0, O_TYPE},   {"tokenizer", required_argument, 0, O_TOK},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "h", opts)) != -1) {
        switch (c) {
        case O_ARCH: arch = optarg; break;
        case O_PRESET: name = optarg; break;
        case O_OUT: out = optarg; break;
        case O_VOCAB:
            if (gb_cli_parse_int(optarg, 258, 1 << 24, &vocab))
                return gb_cli_usage_error(cmd, "--vocab wants a whole number from 258 to 16777216, not '%s'", optarg);
            break;
        case O_CTX:
            if (gb_cli_parse_int(optarg, 1, 1 << 22, &ctx))
                return gb_cli_usage_error(cmd, "--ctx wants a whole number from 1 to 4194304, not '%s'", optarg);
            break;
        case O_SEED:
            if (gb_cli_parse_int(optarg, 0, INT64_MAX, &seed))
                return gb_cli_usage_error(cmd, "--seed wants a whole number >= 0, not '%s'", optarg);
            break;
        case O_TYPE: type = optarg; break;
        case O_TOK: tok_path = optarg; break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h': fputs(init_help, stdout); return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!arch || !name || !out) return gb_cli_usage_error(cmd, "--arch, --preset and --out are required");
    if (strcmp(arch, "llama") && strcmp(arch, "gpt2"))
        return gb_cli_usage_error(cmd, "--arch wants llama or gpt2, not '%s'", arch);
    if (strcmp(type, "f32") && strcmp(type, "f16")) return gb_cli_usage_error(cmd, "--type wants f32 or f16, not '%s'", type);
    gb_model_config cfg;
    if (!preset(&cfg, arch, name))
        return gb_cli_usage_error(cmd, "unknown %s preset '%s' (known: %s)", arch, name,
                                  strcmp(arch, "llama") ? "tiny, 10m, 124m" : "tiny, 10m, 110m, 1.1b");
    if (vocab) cfg.vocab_size = (int)vocab;
    if (ctx) cfg.n_ctx = (int)ctx;

    gb_status rc;
    gb_model *m = NULL;
    gb_gguf *keys = NULL;
    size_t ol = strlen(out) + 32;
    char *tmp = malloc(ol), *tmp2 = malloc(ol), *tmp3 = malloc(ol);
    if (!tmp || !tmp2 || !tmp3) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(tmp, ol, "%s.tok.tmp", out);
    snprintf(tmp2, ol, "%s.tok2.tmp", out);
    snprintf(tmp3, ol, "%s.f32.tmp", out);
    if ((rc = tokenizer_keys(tok_path, cfg.vocab_size, tmp, tmp2, &keys))) goto done;
    if ((rc = gb_model_init(&m, &cfg))) goto done;
    gb_model_init_weights(m, (uint64_t)seed);
    int f16 = !strcmp(type, "f16");
    if ((rc = gb_ckpt_save(f16 ? tmp3 : out, NULL, m, NULL, NULL, NULL, keys))) goto done;
    int64_t n_params = m->n_params;
    gb_model_free(m), m = NULL;
    if (f16 && (rc = gb_llm_quantize(tmp3, out, GB_GGML_F16, 0))) goto done;
    printf("%s: %s %s, %lld parameters (%d layers, d %d, %d/%d heads, ff %d, vocab %d, ctx %d), %s\n", out, arch,
           name, (long long)n_params, cfg.n_layer, cfg.d_model, cfg.n_head, cfg.n_kv_head, cfg.d_ff, cfg.vocab_size,
           cfg.n_ctx, type);
done:
    gb_gguf_close(keys);
    if (tmp) unlink(tmp);
    if (tmp2) unlink(tmp2);
    if (tmp3) unlink(tmp3);
    free(tmp), free(tmp2), free(tmp3);
    gb_model_free(m);
    return rc ? gb_cli_fail(rc) : GB_EXIT_OK;
}
