/* glassbox sample — text from a checkpoint: the prompt, then N tokens, each chosen from the
 * logits of a full forward pass over the context so far (no KV cache; the inference issue
 * brings one). Greedy at temperature 0 (lowest id on ties), else a draw from
 * softmax(logits / temperature) with a seeded RNG, so a seed gives the same text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glassbox/rng.h"
#include "glassbox/train.h"

static const char *sample_help =
    "usage: glassbox sample -m RUN/ckpt.gguf -p TEXT [options]\n"
    "\n"
    "Prints TEXT followed by N generated tokens from a glassbox checkpoint.\n"
    "\n"
    "  -m, --model FILE     checkpoint or model file written by glassbox train\n"
    "  -p, --prompt TEXT    the text to continue\n"
    "  -n, --tokens N       tokens to generate (default 64); stops early at <|endoftext|>\n"
    "  --temperature X      0 = greedy (default 0.8)\n"
    "  --seed S             sampling seed (default 1337)\n"
    "  --tokenizer FILE     tokenizer to use instead of the one embedded in the checkpoint\n"
    "  --threads N          compute threads (default: one per core)\n"
    "  -h, --help           show this help\n";

/* The next token from the logits of the last position. */
static uint32_t pick(const float *logits, int V, double temperature, gb_rng *rng) {
    int best = 0;
    for (int v = 1; v < V; v++)
        if (logits[v] > logits[best]) best = v;
    if (temperature <= 0) return (uint32_t)best;
    double sum = 0;
    for (int v = 0; v < V; v++) sum += exp((double)(logits[v] - logits[best]) / temperature);
    double r = (double)gb_rng_float(rng) * sum, acc = 0;
    for (int v = 0; v < V; v++) {
        acc += exp((double)(logits[v] - logits[best]) / temperature);
        if (r < acc) return (uint32_t)v;
    }
    return (uint32_t)best;
}

int gb_cmd_sample(int argc, char **argv) {
    const char *cmd = "sample";
    const char *model_path = NULL, *prompt = NULL, *tok_path = NULL;
    int64_t n_tokens = 64, seed = 1337;
    double temperature = 0.8;
    enum { O_TEMP = 256, O_SEED, O_TOK, O_THREADS };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},        {"prompt", required_argument, 0, 'p'},
        {"tokens", required_argument, 0, 'n'},       {"temperature", required_argument, 0, O_TEMP},
        {"seed", required_argument, 0, O_SEED},      {"tokenizer", required_argument, 0, O_TOK},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "m:p:n:h", opts)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n':
            if (gb_cli_parse_int(optarg, 0, 1 << 20, &n_tokens))
                return gb_cli_usage_error(cmd, "-n wants a whole number from 0 to 1048576, not '%s'", optarg);
            break;
        case O_TEMP:
            if (gb_cli_parse_double(optarg, 0.0, 100.0, &temperature))
                return gb_cli_usage_error(cmd, "--temperature wants a number from 0 to 100, not '%s'", optarg);
            break;
        case O_SEED:
            if (gb_cli_parse_int(optarg, 0, INT64_MAX, &seed))
                return gb_cli_usage_error(cmd, "--seed wants a whole number >= 0, not '%s'", optarg);
            break;
        case O_TOK: tok_path = optarg; break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h': fputs(sample_help, stdout); return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model_path || !prompt) return gb_cli_usage_error(cmd, "-m MODEL and -p TEXT are required");

    gb_status rc;
    gb_model *m = NULL;
    gb_tokenizer *tok = NULL;
    gb_ids ids = {0};
    gb_bytes text = {0};
    int32_t *ctx = NULL;
    if ((rc = gb_ckpt_load(model_path, &m, NULL, NULL))) goto done;
    if ((rc = tok_path ? gb_tokenizer_load(&tok, tok_path) : gb_ckpt_load_tokenizer(model_path, &tok))) goto done;
    if (gb_tokenizer_vocab_size(tok) > m->cfg.vocab_size) {
        rc = gb_errorf(GB_ERR_ARG, "the tokenizer's vocabulary of %lld is larger than the model's %d",
                       (long long)gb_tokenizer_vocab_size(tok), m->cfg.vocab_size);
        goto done;
    }
    if ((rc = gb_tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids))) goto done;
    const int n_ctx = m->cfg.n_ctx, V = m->cfg.vocab_size;
    if (ids.len == 0) {
        rc = gb_errorf(GB_ERR_ARG, "the prompt is empty");
        goto done;
    }
    if (ids.len > n_ctx) {
        rc = gb_errorf(GB_ERR_ARG, "the prompt is %lld tokens, longer than the model's context of %d",
                       (long long)ids.len, n_ctx);
        goto done;
    }
    if (!(ctx = malloc((size_t)n_ctx * sizeof *ctx))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t eot = gb_tokenizer_special_id(tok, "<|endoftext|>");
    gb_rng rng;
    gb_rng_seed(&rng, (uint64_t)seed);
    fputs(prompt, stdout);
    for (int64_t i = 0; i < n_tokens; i++) {
        /* the last n_ctx tokens at most: generation slides past the context */
        int64_t T = ids.len < n_ctx ? ids.len : n_ctx;
        for (int64_t t = 0; t < T; t++) ctx[t] = (int32_t)ids.data[ids.len - T + t];
        if ((rc = gb_model_forward(m, ctx, NULL, 1, (int)T))) goto done;
        uint32_t next = pick(m->logits + (size_t)(T - 1) * (size_t)V, V, temperature, &rng);
        if ((int64_t)next == eot) break;
        if ((rc = gb_ids_push(&ids, next))) goto done;
        text.len = 0;
        if ((rc = gb_tokenizer_decode(tok, &next, 1, &text))) goto done;
        fwrite(text.data, 1, text.len, stdout);
        fflush(stdout);
    }
    fputc('\n', stdout);
done:
    free(ctx);
    gb_ids_free(&ids);
    gb_bytes_free(&text);
    gb_tokenizer_free(tok);
    gb_model_free(m);
    return rc ? gb_cli_fail(rc) : GB_EXIT_OK;
}
