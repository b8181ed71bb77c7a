/* glassbox generate — continue a prompt with a GGUF model: the prompt is encoded with the
 * model's tokenizer (BOS first when the model asks for it), evaluated into the KV cache at
 * once, then tokens are sampled (gb_sampler) and streamed to stdout as they complete UTF-8
 * (gb_generate) until EOS, -n tokens or the end of the context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glassbox/infer.h"
#include "glassbox/sys.h"

static const char *generate_help =
    "usage: glassbox generate -m FILE -p TEXT [options]\n"
    "\n"
    "Prints TEXT and its continuation by a GGUF model (gpt2 or llama; F32, F16, BF16, Q8_0, Q4_0,\n"
    "Q4_K, Q6_K).\n"
    "\n"
    "  -m, --model FILE       GGUF model\n"
    "  -p, --prompt TEXT      the text to continue\n"
    "  -n, --tokens N         tokens to generate (default 128; 0 = until EOS or the context is full)\n"
    "  --temp X               temperature, 0 = greedy (default 0.8)\n"
    "  --top-k K              keep the K most likely tokens (default 40; 0 = off)\n"
    "  --top-p P              nucleus sampling (default 0.95; 1 = off)\n"
    "  --min-p P              drop tokens below P x the best one's probability (default 0.05; 0 = off)\n"
    "  --repeat-penalty X     llama.cpp's repetition penalty (default 1 = off)\n"
    "  --seed S               sampling seed (default 1337)\n"
    "  --ctx N                context length (default: the model's)\n"
    "  --verbose              print prompt and generation speed (tokens/s) to stderr at the end\n"
    "  --threads N            compute threads (default: one per core)\n"
    "  -h, --help             show this help\n";

static int print_piece(void *user, const char *text, size_t len, const gb_token_logprob *chosen,
                       const gb_token_logprob *top, int n_top) {
    (void)user, (void)chosen, (void)top, (void)n_top;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return gb_interrupted();
}

int gb_cmd_generate(int argc, char **argv) {
    const char *cmd = "generate", *model = NULL, *prompt = NULL;
    int64_t n_tokens = 128, seed = 1337, top_k = 40, ctx = 0;
    double temp = 0.8, top_p = 0.95, min_p = 0.05, rep = 1.0;
    int verbose = 0;
    enum { O_TEMP = 256, O_TOPK, O_TOPP, O_MINP, O_REP, O_SEED, O_CTX, O_VERBOSE, O_THREADS };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},        {"prompt", required_argument, 0, 'p'},
        {"tokens", required_argument, 0, 'n'},       {"temp", required_argument, 0, O_TEMP},
        {"temperature", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
        {"top-p", required_argument, 0, O_TOPP},     {"min-p", required_argument, 0, O_MINP},
        {"repeat-penalty", required_argument, 0, O_REP}, {"seed", required_argument, 0, O_SEED},
        {"ctx", required_argument, 0, O_CTX},        {"verbose", no_argument, 0, O_VERBOSE},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "m:p:n:h", opts)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n':
            if (gb_cli_parse_int(optarg, 0, 1 << 24, &n_tokens))
                return gb_cli_usage_error(cmd, "-n wants a whole number from 0 to 16777216, not '%s'", optarg);
            break;
        case O_TEMP:
            if (gb_cli_parse_double(optarg, 0.0, 100.0, &temp))
                return gb_cli_usage_error(cmd, "--temp wants a number from 0 to 100, not '%s'", optarg);
            break;
        case O_TOPK:
            if (gb_cli_parse_int(optarg, 0, 1 << 24, &top_k))
                return gb_cli_usage_error(cmd, "--top-k wants a whole number >= 0, not '%s'", optarg);
            break;
        case O_TOPP:
            if (gb_cli_parse_double(optarg, 0.0, 1.0, &top_p))
                return gb_cli_usage_error(cmd, "--top-p wants a number from 0 to 1, not '%s'", optarg);
            break;
        case O_MINP:
            if (gb_cli_parse_double(optarg, 0.0, 1.0, &min_p))
                return gb_cli_usage_error(cmd, "--min-p wants a number from 0 to 1, not '%s'", optarg);
            break;
        case O_REP:
            if (gb_cli_parse_double(optarg, 0.01, 100.0, &rep))
                return gb_cli_usage_error(cmd, "--repeat-penalty wants a number from 0.01 to 100, not '%s'", optarg);
            break;
        case O_SEED:
            if (gb_cli_parse_int(optarg, 0, INT64_MAX, &seed))
                return gb_cli_usage_error(cmd, "--seed wants a whole number >= 0, not '%s'", optarg);
            break;
        case O_CTX:
            if (gb_cli_parse_int(optarg, 1, 1 << 22, &ctx))
                return gb_cli_usage_error(cmd, "--ctx wants a whole number from 1 to 4194304, not '%s'", optarg);
            break;
        case O_VERBOSE: verbose = 1; break;
        case O_THREADS:
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
            break;
        case 'h': fputs(generate_help, stdout); return GB_EXIT_OK;
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
    gb_sampler_params sp;
    gb_sampler_params_default(&sp);
    sp.temperature = (float)temp;
    sp.top_k = (int)top_k;
    sp.top_p = (float)top_p;
    sp.min_p = (float)min_p;
    sp.repeat_penalty = (float)rep;
    sp.seed = (uint64_t)seed;
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
