/* glassbox generate — continue a prompt with a GGUF model: the prompt is encoded with the
 * model's tokenizer (BOS first when the model asks for it), evaluated into the KV cache at
 * once, then tokens are sampled (gb_sampler) and streamed to stdout as they complete UTF-8
 * (gb_generate) until EOS, -n tokens or the end of the context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_sampling.h"
#include "glassbox/infer.h"
#include "glassbox/sys.h"

static const char *generate_help =
    "usage: glassbox generate -m FILE -p TEXT [options]\n"
    "\n"
    "Prints TEXT and its continuation by a GGUF model (gpt2 or llama; F32, F16, BF16, Q8_0, Q4_0,\n"
    "Q4_K, Q6_K).\n"
    "\n"
    "  -m, --model FILE          GGUF model\n"
    "  -p, --prompt TEXT         the text to continue\n"
    "  -n, --tokens N            tokens to generate (default 128; 0 = until EOS or the context is full)\n"
    "  --ctx N                   context length (default: the model's)\n";

/* after the sampling flags (cli_sampling.c) */
static const char *const generate_help_tail =
    "  --verbose                 print prompt and generation speed (tokens/s) to stderr at the end\n"
    "  --threads N               compute threads (default: one per core)\n"
    "  --no-repack               keep the file's layout of the matrices (no re-laying for decode)\n"
    GB_CLI_KV_TYPE_HELP
    "  -h, --help                show this help\n";

static int print_piece(void *user, const char *text, size_t len, const gb_token_logprob *chosen,
                       const gb_token_logprob *top, int n_top) {
    (void)user, (void)chosen, (void)top, (void)n_top;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return gb_interrupted();
}

int gb_cmd_generate(int argc, char **argv) {
    const char *cmd = "generate", *model = NULL, *prompt = NULL;
    int64_t n_tokens = 128, ctx = 0;
    int verbose = 0;
    gb_sampler_params sp;
    gb_sampler_params_default(&sp);
    sp.seed = 1337;
    enum { O_CTX = 256, O_VERBOSE, O_THREADS, O_NO_REPACK, O_KV_TYPE };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},        {"prompt", required_argument, 0, 'p'},
        {"tokens", required_argument, 0, 'n'},       GB_CLI_SAMPLING_OPTIONS,
        {"ctx", required_argument, 0, O_CTX},        {"verbose", no_argument, 0, O_VERBOSE},
        {"threads", required_argument, 0, O_THREADS}, {"no-repack", no_argument, 0, O_NO_REPACK}, {"kv-type", required_argument, 0, O_KV_TYPE}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "m:p:n:h", opts)) != -1) {
        int sampling = gb_cli_sampling_option(cmd, c, optarg, &sp);
        if (sampling < 0) return GB_EXIT_USAGE;
        if (sampling > 0) continue;
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n':
            if (gb_cli_parse_int(optarg, 0, 1 << 24, &n_tokens))
                return gb_cli_usage_error(cmd, "-n wants a whole number from 0 to 16777216, not '%s'", optarg);
            break;
        case O_CTX:
            if (gb_cli_parse_int(optarg, 1, 1 << 22, &ctx))
                return gb_cli_usage_error(cmd, "--ctx wants a whole number from 1 to 4194304, not '%s'", optarg);
            break;
        case O_VERBOSE: verbose = 1; break;
        case O_NO_REPACK: gb_llm_set_repack(0); break;
        case O_KV_TYPE:
            if (gb_cli_set_kv_type(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h':
            fputs(generate_help, stdout);
            gb_cli_sampling_help(stdout, 1337);
            fputs(generate_help_tail, stdout);
            return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model || !prompt) return gb_cli_usage_error(cmd, "-m FILE and -p TEXT are required");

    gb_status rc;
    gb_llm *m = NULL;
    gb_sampler *s = NULL;
    gb_ids ids = {0};
    if ((rc = gb_llm_load(&m, model, ctx))) goto done;
    const gb_tokenizer *tok = gb_llm_tokenizer(m);
    if (!tok) {
        rc = gb_errorf(GB_ERR_ARG, "%s has no tokenizer (tokenizer.ggml.* keys)", model);
        goto done;
    }
    if (gb_llm_add_bos(m) && (rc = gb_ids_push(&ids, (uint32_t)gb_llm_bos(m)))) goto done;
    if ((rc = gb_tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids))) goto done;
    if (ids.len == 0) {
        rc = gb_errorf(GB_ERR_ARG, "the prompt is empty");
        goto done;
    }
    if (ids.len >= gb_llm_n_ctx(m)) {
        rc = gb_errorf(GB_ERR_ARG, "the prompt is %lld tokens, too long for the context of %lld", (long long)ids.len,
                       (long long)gb_llm_n_ctx(m));
        goto done;
    }
    if ((rc = gb_sampler_new(&s, &sp, gb_llm_n_vocab(m)))) goto done;
    gb_generate_params gp = {.max_tokens = n_tokens};
    gb_generate_stats st = {0};
    int64_t n_past = 0;
    fputs(prompt, stdout);
    fflush(stdout);
    rc = gb_generate(m, s, ids.data, ids.len, &n_past, &gp, print_piece, NULL, &st);
    fputc('\n', stdout);
    fflush(stdout);
    if (rc) goto done;
    if (verbose)
        fprintf(stderr, "prompt: %lld tokens in %.3f s (%.1f tok/s); generation: %lld tokens in %.3f s (%.2f tok/s); %s\n",
                (long long)st.n_prompt, st.prompt_seconds, st.prompt_seconds > 0 ? st.n_prompt / st.prompt_seconds : 0.0,
                (long long)st.n_generated, st.gen_seconds, st.gen_seconds > 0 ? st.n_generated / st.gen_seconds : 0.0,
                st.finish_reason ? st.finish_reason : "");
done:
    gb_ids_free(&ids);
    gb_sampler_free(s);
    gb_llm_free(m);
    return rc ? gb_cli_fail(rc) : GB_EXIT_OK;
}
