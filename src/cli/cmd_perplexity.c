/* glassbox perplexity — how well a model predicts a text file, scored as llama.cpp's
 * llama-perplexity does: the text is tokenized whole, cut into non-overlapping windows of
 * ctx tokens (a last partial window is dropped), the first token of each window replaced by
 * BOS when the model adds one, and only the second half of each window is scored: positions
 * j = ctx/2 .. ctx-2 predict token j+1, so every scored token sees at least ctx/2 tokens of
 * context. PPL = exp(mean negative log-likelihood) over all scored tokens. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/infer.h"
#include "glassbox/progress.h"
#include "glassbox/sys.h"

static const char *perplexity_help =
    "usage: glassbox perplexity -m FILE -f TEXT [options]\n"
    "\n"
    "Perplexity of a GGUF model on a text file, as llama.cpp's llama-perplexity computes it:\n"
    "non-overlapping windows of N tokens (BOS first when the model uses one), the second half\n"
    "of each window scored.\n"
    "\n"
    "  -m, --model FILE    GGUF model\n"
    "  -f, --file TEXT     text file\n"
    "  --ctx N             window length in tokens (default 512, at most the model's context)\n"
    "  --chunks N          score at most N windows (default: all)\n"
    "  --json              print the result as one JSON object\n"
    "  --threads N         compute threads (default: one per core)\n"
    "  --no-repack         keep the file's layout of the matrices (no re-laying for decode)\n"
    "  --kv-type f16|f32   the KV cache's numbers (default f16, as llama.cpp; f32: exact)\n"
    "  -h, --help          show this help\n";

int gb_cmd_perplexity(int argc, char **argv) {
    const char *cmd = "perplexity", *model = NULL, *file = NULL;
    int64_t ctx = 512, max_chunks = 0;
    int json = 0;
    enum { O_CTX = 256, O_CHUNKS, O_JSON, O_THREADS, O_NO_REPACK, O_KV_TYPE };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"file", required_argument, 0, 'f'},
        {"ctx", required_argument, 0, O_CTX},  {"chunks", required_argument, 0, O_CHUNKS},
        {"json", no_argument, 0, O_JSON},      {"threads", required_argument, 0, O_THREADS}, {"no-repack", no_argument, 0, O_NO_REPACK}, {"kv-type", required_argument, 0, O_KV_TYPE},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "m:f:h", opts)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'f': file = optarg; break;
        case O_CTX:
            if (gb_cli_parse_int(optarg, 4, 1 << 22, &ctx))
                return gb_cli_usage_error(cmd, "--ctx wants a whole number from 4 to 4194304, not '%s'", optarg);
            break;
        case O_CHUNKS:
            if (gb_cli_parse_int(optarg, 1, INT64_MAX, &max_chunks))
                return gb_cli_usage_error(cmd, "--chunks wants a whole number >= 1, not '%s'", optarg);
            break;
        case O_JSON: json = 1; break;
        case O_NO_REPACK: gb_llm_set_repack(0); break;
        case O_KV_TYPE:
            if (gb_cli_set_kv_type(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h': fputs(perplexity_help, stdout); return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model || !file) return gb_cli_usage_error(cmd, "-m FILE and -f TEXT are required");

    gb_status rc;
    gb_llm *m = NULL;
    char *text = NULL;
    size_t len = 0;
    gb_ids ids = {0};
    float *logits = NULL;
    uint32_t *win = NULL;
    if ((rc = gb_llm_load(&m, model, 0))) goto done;
    if (!gb_llm_tokenizer(m)) {
        rc = gb_errorf(GB_ERR_ARG, "%s has no tokenizer (tokenizer.ggml.* keys)", model);
        goto done;
    }
    if (ctx > gb_llm_n_ctx(m)) {
        rc = gb_errorf(GB_ERR_ARG, "--ctx %lld is longer than the model's context of %lld", (long long)ctx,
                       (long long)gb_llm_n_ctx(m));
        goto done;
    }
    if ((rc = gb_read_file(file, 0, &text, &len))) goto done;
    if ((rc = gb_tokenizer_encode(gb_llm_tokenizer(m), text, len, 0, &ids))) goto done;
    const int64_t n_chunks_all = ids.len / ctx, V = gb_llm_n_vocab(m);
    int64_t n_chunks = max_chunks && max_chunks < n_chunks_all ? max_chunks : n_chunks_all;
    if (n_chunks < 1) {
        rc = gb_errorf(GB_ERR_ARG, "%s is %lld tokens, fewer than one window of %lld", file, (long long)ids.len,
                       (long long)ctx);
        goto done;
    }
    logits = malloc((size_t)ctx * (size_t)V * sizeof(float));
    win = malloc((size_t)ctx * sizeof *win);
    if (!logits || !win) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory for %lld x %lld logits", (long long)ctx, (long long)V);
        goto done;
    }
    const int64_t first = ctx / 2;
    double nll = 0, t0 = gb_time_now();
    int64_t scored = 0;
    gb_progress p;
    gb_progress_begin(&p, "perplexity", n_chunks * ctx, "tok");
    for (int64_t k = 0; k < n_chunks && !gb_interrupted(); k++) {
        memcpy(win, ids.data + k * ctx, (size_t)ctx * sizeof *win);
        if (gb_llm_add_bos(m)) win[0] = (uint32_t)gb_llm_bos(m);
        if ((rc = gb_llm_eval(m, win, ctx, 0, logits, 1))) goto done;
        for (int64_t j = first; j < ctx - 1; j++) {
            const float *l = logits + (size_t)j * (size_t)V;
            float mx = l[0];
            for (int64_t v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
            double s = exp((double)(l[0] - mx)); /* >= 1: the max is one of the terms */
            for (int64_t v = 1; v < V; v++) s += exp((double)(l[v] - mx));
            nll += log(s) + mx - l[ids.data[k * ctx + j + 1]];
            scored++;
        }
        char extra[64];
        snprintf(extra, sizeof extra, "ppl %.4f", exp(nll / (double)scored));
        gb_progress_update(&p, (k + 1) * ctx, extra);
    }
    char extra[64];
    snprintf(extra, sizeof extra, "ppl %.4f", scored ? exp(nll / (double)scored) : NAN);
    gb_progress_end(&p, extra);
    if (gb_interrupted()) {
        rc = gb_errorf(GB_ERR_IO, "interrupted");
        goto done;
    }
    const double ppl = exp(nll / (double)scored), secs = gb_time_now() - t0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "ctx", (double)ctx);
        cJSON_AddNumberToObject(o, "chunks", (double)n_chunks);
        cJSON_AddNumberToObject(o, "tokens_scored", (double)scored);
        cJSON_AddNumberToObject(o, "nll", nll / (double)scored);
        cJSON_AddNumberToObject(o, "ppl", ppl);
        cJSON_AddNumberToObject(o, "seconds", secs);
        char *s = cJSON_PrintUnformatted(o);
        if (s) puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("PPL %.4f over %lld tokens (%lld windows of %lld, second halves scored; %.1f s, %.0f tok/s)\n", ppl,
               (long long)scored, (long long)n_chunks, (long long)ctx, secs, (double)(n_chunks * ctx) / secs);
    }
done:
    free(win);
    free(logits);
    gb_ids_free(&ids);
    gb_free(text);
    gb_llm_free(m);
    return rc ? gb_cli_fail(rc) : GB_EXIT_OK;
}
