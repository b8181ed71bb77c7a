/* glassbox chat — a multi-turn conversation with a GGUF model in the terminal.
 *
 * Each turn renders the whole conversation with the model's chat template, tokenizes it,
 * and evaluates only what the KV cache does not already hold: the tokens after the common
 * prefix of the new prompt and the cached tokens (the previous prompt plus the answer as
 * generated). The answer streams as it is sampled. On a terminal, lines are read with
 * libedit (editing, history); otherwise one message per line of stdin, so a pipe works. */
#include <editline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_sampling.h"
#include "glassbox/chat.h"
#include "glassbox/gguf.h"
#include "glassbox/infer.h"
#include "glassbox/sys.h"

static const char *chat_help =
    "usage: glassbox chat -m FILE [options]\n"
    "\n"
    "Chat with a GGUF model: type a message, the answer streams back; the conversation so far\n"
    "stays in the model's cache, so only new text is evaluated. On a terminal lines can be\n"
    "edited and recalled (libedit); from a pipe, each line of input is one message.\n"
    "Commands: /reset starts over (keeping --system), /exit or Ctrl-D ends.\n"
    "\n"
    "  -m, --model FILE          GGUF model\n"
    "  --system TEXT             system message\n"
    "  --template NAME           chat template instead of the model's tokenizer.chat_template:\n"
    "                            plain, chatml, llama2, llama3, llama3.1, mistral, zephyr, gemma, phi3\n"
    "  -n, --max-tokens N        most tokens per answer (default: until end of turn or full context)\n"
    "  --ctx N                   context length (default: the model's)\n";

/* after the sampling flags (cli_sampling.c) */
static const char *const chat_help_tail =
    "  --verbose                 tokens and tokens/s after each answer (stderr)\n"
    "  --threads N               compute threads (default: one per core)\n"
    "  --no-repack               keep the file's layout of the matrices (no re-laying for decode)\n"
    GB_CLI_KV_TYPE_HELP
    "  -h, --help                show this help\n";

typedef struct {
    gb_chat_message *msgs;
    int n, cap;
} conversation;

static gb_status conv_add(conversation *c, const char *role, const char *content, size_t len) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 8;
        gb_chat_message *m = realloc(c->msgs, (size_t)cap * sizeof *m);
        if (!m) return gb_errorf(GB_ERR_NOMEM, "chat: out of memory");
        c->msgs = m, c->cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s) return gb_errorf(GB_ERR_NOMEM, "chat: out of memory");
    memcpy(s, content, len);
    s[len] = 0;
    c->msgs[c->n++] = (gb_chat_message){role, s}; /* owned by c: freed in conv_truncate */
    // cppcheck-suppress memleak
    return GB_OK;
}

static void conv_truncate(conversation *c, int n) {
    while (c->n > n) free((char *)c->msgs[--c->n].content);
}

/* What the streaming callback collects: the answer's text and its token ids. */
typedef struct {
    gb_bytes text;
    gb_ids ids;
    gb_status rc;
} answer;

static int on_piece(void *user, const char *text, size_t len, const gb_token_logprob *chosen,
                    const gb_token_logprob *top, int n_top) {
    (void)top, (void)n_top;
    answer *a = user;
    if (len) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        if (a->rc == GB_OK) a->rc = gb_bytes_append(&a->text, text, len);
    }
    if (chosen && a->rc == GB_OK) a->rc = gb_ids_push(&a->ids, chosen->id);
    return gb_interrupted() || a->rc != GB_OK;
}

/* The model's tokenizer.chat_template, or NULL/0 when it has none. */
static gb_status read_template(const char *path, gb_gguf **g, const char **tmpl, size_t *len) {
    *tmpl = NULL, *len = 0;
    gb_status rc = gb_gguf_open(g, path);
    if (rc != GB_OK) return rc;
    if (gb_gguf_find_key(*g, "tokenizer.chat_template") < 0) return GB_OK;
    gb_gguf_str s;
    if ((rc = gb_gguf_get_str(*g, "tokenizer.chat_template", &s)) != GB_OK) return rc;
    *tmpl = s.ptr, *len = (size_t)s.len;
    return GB_OK;
}

/* The text of special token id (for bos_token / eos_token), or "" when there is none. */
static char *token_text(const gb_tokenizer *t, int64_t id) {
    size_t n = 0;
    const uint8_t *b = id >= 0 ? gb_tokenizer_token(t, (uint32_t)id, &n) : NULL;
    char *s = malloc(n + 1);
    if (s) {
        if (n) memcpy(s, b, n);
        s[n] = 0;
    }
    return s;
}

/* Reads one line without its newline; NULL at end of input. Caller frees. */
static char *read_line(int tty) {
    if (tty) return readline("> ");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
}

int gb_cmd_chat(int argc, char **argv) {
    const char *cmd = "chat", *model = NULL, *sys_msg = NULL, *tmpl_name = NULL;
    int64_t max_tokens = 0, n_ctx = 0;
    int verbose = 0;
    gb_sampler_params sp;
    gb_sampler_params_default(&sp);
    enum { O_SYSTEM = 256, O_TEMPLATE, O_CTX, O_VERBOSE, O_THREADS, O_NO_REPACK, O_KV_TYPE };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"system", required_argument, 0, O_SYSTEM},
        {"template", required_argument, 0, O_TEMPLATE},
        {"max-tokens", required_argument, 0, 'n'},
        {"ctx", required_argument, 0, O_CTX},
        GB_CLI_SAMPLING_OPTIONS,
        {"verbose", no_argument, 0, O_VERBOSE},
        {"threads", required_argument, 0, O_THREADS},
        {"no-repack", no_argument, 0, O_NO_REPACK}, {"kv-type", required_argument, 0, O_KV_TYPE},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "m:n:h", opts)) != -1) {
        int sampling = gb_cli_sampling_option(cmd, c, optarg, &sp);
        if (sampling < 0) return GB_EXIT_USAGE;
        if (sampling > 0) continue;
        switch (c) {
        case 'm': model = optarg; break;
        case O_SYSTEM: sys_msg = optarg; break;
        case O_TEMPLATE: tmpl_name = optarg; break;
        case 'n':
            if (gb_cli_parse_int(optarg, 1, INT64_MAX, &max_tokens))
                return gb_cli_usage_error(cmd, "-n wants a whole number >= 1, not '%s'", optarg);
            break;
        case O_CTX:
            if (gb_cli_parse_int(optarg, 8, 1 << 24, &n_ctx))
                return gb_cli_usage_error(cmd, "--ctx wants a whole number from 8 to 16777216, not '%s'", optarg);
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
            fputs(chat_help, stdout);
            gb_cli_sampling_help(stdout, 0);
            fputs(chat_help_tail, stdout);
            return GB_EXIT_OK;
        default: return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model) return gb_cli_usage_error(cmd, "-m FILE is required");
    gb_chat_family family = GB_CHAT_PLAIN;
    if (tmpl_name && gb_chat_family_from_name(tmpl_name, &family) != GB_OK)
        return gb_cli_usage_error(cmd, "%s", gb_last_error());

    gb_status rc = GB_OK;
    gb_llm *m = NULL;
    gb_gguf *g = NULL;
    gb_sampler *s = NULL;
    char *bos = NULL, *eos = NULL, *line = NULL;
    conversation conv = {0};
    gb_ids cached = {0}, prompt = {0};
    gb_bytes text = {0};
    answer ans = {0};
    if ((rc = gb_llm_load(&m, model, n_ctx))) goto done;
    const gb_tokenizer *tok = gb_llm_tokenizer(m);
    if (!tok) {
        rc = gb_errorf(GB_ERR_ARG, "%s has no tokenizer (tokenizer.ggml.* keys)", model);
        goto done;
    }
    if (!tmpl_name) {
        const char *t;
        size_t tl;
        if ((rc = read_template(model, &g, &t, &tl))) goto done;
        if ((rc = gb_chat_detect(t, tl, &family))) {
            rc = gb_errorf(rc, "%s: %s", model, gb_last_error());
            goto done;
        }
        if (!t) fprintf(stderr, "glassbox chat: %s has no chat template; using 'plain'\n", model);
    }
    bos = token_text(tok, gb_llm_bos(m));
    eos = token_text(tok, gb_llm_eos(m));
    if (!bos || !eos) {
        rc = gb_errorf(GB_ERR_NOMEM, "chat: out of memory");
        goto done;
    }
    if ((rc = gb_sampler_new(&s, &sp, gb_llm_n_vocab(m)))) goto done;
    int n_stop;
    const char *const *stops = gb_chat_stop_strings(family, &n_stop);
    gb_generate_params gp = {.max_tokens = max_tokens, .stop = stops, .n_stop = n_stop};
    if (sys_msg && (rc = conv_add(&conv, "system", sys_msg, strlen(sys_msg)))) goto done;
    const int n_fixed = conv.n;
    const int tty = isatty(0) && isatty(1);
    if (tty)
        fprintf(stderr, "glassbox chat: %s, template %s, context %lld. /reset starts over, /exit or Ctrl-D ends.\n",
                model, gb_chat_family_name(family), (long long)gb_llm_n_ctx(m));

    while (!gb_interrupted() && (line = read_line(tty)) != NULL) {
        if (!line[0]) {
            free(line), line = NULL;
            continue;
        }
        if (tty) add_history(line);
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            conv_truncate(&conv, n_fixed);
            cached.len = 0;
            fprintf(tty ? stderr : stdout, "(conversation reset)\n");
            free(line), line = NULL;
            continue;
        }
        if ((rc = conv_add(&conv, "user", line, strlen(line)))) goto done;
        free(line), line = NULL;

        /* the whole conversation → tokens; bos comes from the template text where it has one */
        text.len = 0, prompt.len = 0;
        if ((rc = gb_chat_render(family, conv.msgs, conv.n, 1, bos, eos, &text))) goto done;
        int bos_in_text = bos[0] && text.len >= strlen(bos) && !memcmp(text.data, bos, strlen(bos));
        if (!bos_in_text && gb_llm_add_bos(m) && (rc = gb_ids_push(&prompt, (uint32_t)gb_llm_bos(m)))) goto done;
        if ((rc = gb_tokenizer_encode(tok, text.data, text.len, 1, &prompt))) goto done;

        /* evaluate only what the cache lacks (at least one token, for fresh logits) */
        int64_t k = 0;
        while (k < cached.len && k < prompt.len && cached.data[k] == prompt.data[k]) k++;
        if (k == prompt.len) k--;
        int64_t n_past = k;
        ans.text.len = 0, ans.ids.len = 0, ans.rc = GB_OK;
        gb_generate_stats st;
        rc = gb_generate(m, s, prompt.data + k, prompt.len - k, &n_past, &gp, on_piece, &ans, &st);
        if (rc == GB_OK) rc = ans.rc;
        if (rc == GB_ERR_ARG) { /* the conversation no longer fits: say so, let the user go on */
            fprintf(stderr, "glassbox chat: %s; /reset to start over\n", gb_last_error());
            conv_truncate(&conv, conv.n - 1);
            cached.len = 0;
            rc = GB_OK;
            continue;
        }
        if (rc) goto done;
        fputc('\n', stdout);
        fflush(stdout);
        /* the cache now holds the prompt and the answer's tokens up to n_past */
        cached.len = 0;
        for (int64_t i = 0; i < prompt.len && rc == GB_OK; i++) rc = gb_ids_push(&cached, prompt.data[i]);
        for (int64_t i = 0; i < ans.ids.len && rc == GB_OK; i++) rc = gb_ids_push(&cached, ans.ids.data[i]);
        if (rc) goto done;
        if (cached.len > n_past) cached.len = n_past;
        if ((rc = conv_add(&conv, "assistant", ans.text.data ? (const char *)ans.text.data : "", ans.text.len)))
            goto done;
        if (verbose)
            fprintf(stderr, "[prompt: %lld tokens evaluated, %lld from the cache, %.1f tok/s; answer: %lld tokens, "
                            "%.1f tok/s; %s]\n",
                    (long long)st.n_prompt, (long long)k, st.prompt_seconds > 0 ? st.n_prompt / st.prompt_seconds : 0,
                    (long long)st.n_generated, st.gen_seconds > 0 ? st.n_generated / st.gen_seconds : 0,
                    st.finish_reason);
    }
    if (tty && !line) fputc('\n', stderr); /* after Ctrl-D the prompt line is left open */

done:
    free(line);
    conv_truncate(&conv, 0);
    free(conv.msgs);
    gb_ids_free(&cached);
    gb_ids_free(&prompt);
    gb_ids_free(&ans.ids);
    gb_bytes_free(&ans.text);
    gb_bytes_free(&text);
    free(bos);
    free(eos);
    gb_sampler_free(s);
    gb_gguf_close(g);
    gb_llm_free(m);
    if (rc == GB_OK && gb_interrupted()) rc = GB_ERR_INTERRUPTED;
    return rc == GB_OK ? GB_EXIT_OK : gb_cli_fail(rc);
}
