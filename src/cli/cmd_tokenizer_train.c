/* glassbox tokenizer train — learn a byte-level BPE tokenizer from text files and print what
 * it achieved (readable lines, or one JSON object with --json). The algorithm is in
 * src/tokenizer/bpe_train.c and docs/bpe-training.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "glassbox/fileio.h"
#include "glassbox/progress.h"
#include "glassbox/tokenizer.h"

#define CMD "tokenizer train"

int gb_cmd_tokenizer_train(int argc, char **argv);

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: glassbox tokenizer train --vocab-size N --input FILE... --output FILE [OPTIONS]\n\n"
            "Learns a byte-level BPE tokenizer from text files (gzip is inflated) and writes it\n"
            "as glassbox tokenizer JSON. Deterministic: the same text and options always give the\n"
            "same tokenizer (see docs/bpe-training.md).\n\n"
            "Options:\n"
            "  --vocab-size N    ids in total: 256 bytes + learned merges + special tokens\n"
            "  --input FILE...   training text; repeat the flag or list several files after it\n"
            "  --output FILE     the tokenizer to write (replaced only when training succeeds)\n"
            "  --pattern NAME    pre-tokenization: gpt2 (default) or cl100k\n"
            "  --special TOKEN   a special token, repeatable (default: <|endoftext|>); its\n"
            "                    occurrences in the text are cut out, not trained on\n"
            "  --no-special      no special tokens at all\n"
            "  --threads N       threads to use (training itself runs on one)\n"
            "  --quiet           no progress bar and no summary\n"
            "  --json            print the summary as one JSON object on stdout\n"
            "  -h, --help        show this help\n");
}

static const char *pattern_name(gb_pretok_kind k) { return k == GB_PRETOK_CL100K ? "cl100k" : "gpt2"; }

static void hex_digest(const gb_tokenizer *t, char hex[65]) {
    uint8_t d[32];
    gb_tokenizer_digest(t, d);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static int print_json(const char *output, const gb_tokenizer *t, const gb_bpe_train_stats *st,
                      int n_inputs, int n_specials, int64_t asked, const char *digest) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return -1;
    cJSON_AddStringToObject(o, "output", output);
    cJSON_AddNumberToObject(o, "vocab_size", (double)gb_tokenizer_vocab_size(t));
    cJSON_AddNumberToObject(o, "vocab_size_asked", (double)asked);
    cJSON_AddNumberToObject(o, "merges", (double)st->n_merges);
    cJSON_AddNumberToObject(o, "specials", n_specials);
    cJSON_AddBoolToObject(o, "stopped_early", 256 + st->n_merges + n_specials < asked);
    cJSON_AddStringToObject(o, "pattern", pattern_name(gb_tokenizer_pattern(t)));
    cJSON_AddNumberToObject(o, "input_files", n_inputs);
    cJSON_AddNumberToObject(o, "input_bytes", (double)st->input_bytes);
    cJSON_AddNumberToObject(o, "pretokens", (double)st->n_pretokens);
    cJSON_AddNumberToObject(o, "unique_words", (double)st->n_unique);
    cJSON_AddNumberToObject(o, "tokens_per_byte", st->tokens_per_byte);
    cJSON_AddNumberToObject(o, "seconds", st->seconds);
    cJSON_AddStringToObject(o, "digest", digest);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return -1;
    printf("%s\n", s);
    cJSON_free(s);
    return 0;
}

static void print_summary(const char *output, const gb_tokenizer *t, const gb_bpe_train_stats *st,
                          int n_inputs, int n_specials, const char *digest) {
    double tpb = st->tokens_per_byte;
    printf("tokenizer   %s\n", output);
    printf("vocab size  %lld  (256 bytes + %lld merges + %d special%s)\n",
           (long long)gb_tokenizer_vocab_size(t), (long long)st->n_merges, n_specials,
           n_specials == 1 ? "" : "s");
    printf("pattern     %s\n", pattern_name(gb_tokenizer_pattern(t)));
    printf("input       %lld bytes in %d file%s, %lld pre-tokens, %lld unique\n",
           (long long)st->input_bytes, n_inputs, n_inputs == 1 ? "" : "s", (long long)st->n_pretokens,
           (long long)st->n_unique);
    printf("compression %.4f tokens/byte (%.2f bytes/token) on the training text\n", tpb,
           tpb > 0 ? 1.0 / tpb : 0.0);
    printf("time        %.2f s\n", st->seconds);
    printf("digest      %s\n", digest);
}

int gb_cmd_tokenizer_train(int argc, char **argv) {
    enum { O_VOCAB = 256, O_INPUT, O_OUTPUT, O_PATTERN, O_SPECIAL, O_NO_SPECIAL, O_THREADS, O_QUIET, O_JSON };
    static const struct option longopts[] = {
        {"vocab-size", required_argument, NULL, O_VOCAB},
        {"input", required_argument, NULL, O_INPUT},
        {"output", required_argument, NULL, O_OUTPUT},
        {"pattern", required_argument, NULL, O_PATTERN},
        {"special", required_argument, NULL, O_SPECIAL},
        {"no-special", no_argument, NULL, O_NO_SPECIAL},
        {"threads", required_argument, NULL, O_THREADS},
        {"quiet", no_argument, NULL, O_QUIET},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int exit_code = GB_EXIT_USAGE;
    /* at most argc inputs and argc specials: every one takes an argv slot */
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    const char **specials = calloc((size_t)argc + 1, sizeof *specials);
    int n_inputs = 0, n_specials = 0, no_special = 0, quiet = 0, json = 0;
    int64_t vocab = -1;
    const char *output = NULL;
    gb_pretok_kind pattern = GB_PRETOK_GPT2;
    gb_tokenizer *tok = NULL;
    if (!inputs || !specials) {
        fprintf(stderr, "glassbox: error: out of memory\n");
        exit_code = GB_EXIT_FAIL;
        goto done;
    }

    optind = 0; /* full getopt reset: the dispatcher may have parsed its own flags */
    int c;
    while ((c = gb_cli_getopt(CMD, argc, argv, "h", longopts)) != -1) {
        switch (c) {
        case O_VOCAB:
            if (gb_cli_parse_int(optarg, 1, INT64_MAX, &vocab) != 0) {
                gb_cli_usage_error(CMD, "--vocab-size wants a positive whole number, not '%s'", optarg);
                goto done;
            }
            break;
        case O_INPUT: inputs[n_inputs++] = optarg; break;
        case O_OUTPUT: output = optarg; break;
        case O_PATTERN:
            if (!strcmp(optarg, "gpt2")) pattern = GB_PRETOK_GPT2;
            else if (!strcmp(optarg, "cl100k")) pattern = GB_PRETOK_CL100K;
            else {
                gb_cli_usage_error(CMD, "--pattern is gpt2 or cl100k, not '%s'", optarg);
                goto done;
            }
            break;
        case O_SPECIAL:
            if (!*optarg) {
                gb_cli_usage_error(CMD, "--special wants a non-empty token");
                goto done;
            }
            specials[n_specials++] = optarg;
            break;
        case O_NO_SPECIAL: no_special = 1; break;
        case O_THREADS:
            if (gb_cli_set_threads(CMD, optarg) != 0) goto done;
            break;
        case O_QUIET: quiet = 1; break;
        case O_JSON: json = 1; break;
        case 'h':
            usage(stdout);
            exit_code = GB_EXIT_OK;
            goto done;
        default: goto done; /* gb_cli_getopt printed the error */
        }
    }
    /* "--input a b c": getopt leaves b and c as operands; they are inputs too */
    while (optind < argc) inputs[n_inputs++] = argv[optind++];

    if (vocab < 0) {
        gb_cli_usage_error(CMD, "--vocab-size N is required");
        goto done;
    }
    if (n_inputs == 0) {
        gb_cli_usage_error(CMD, "--input FILE is required");
        goto done;
    }
    if (!output) {
        gb_cli_usage_error(CMD, "--output FILE is required");
        goto done;
    }
    if (no_special && n_specials) {
        gb_cli_usage_error(CMD, "--no-special and --special exclude each other");
        goto done;
    }
    if (!no_special && n_specials == 0) specials[n_specials++] = "<|endoftext|>";

    /* fail before the work, not after it, if the output cannot be written */
    gb_atomic_file probe;
    gb_status rc = gb_atomic_open(&probe, output);
    if (rc != GB_OK) {
        exit_code = gb_cli_fail(rc);
        goto done;
    }
    gb_atomic_abort(&probe);

    gb_progress_set_quiet(quiet);
    gb_bpe_train_opts opts = {
        .vocab_size = vocab,
        .pattern = pattern,
        .specials = specials,
        .n_specials = n_specials,
        .show_progress = !quiet,
    };
    gb_bpe_train_stats st;
    rc = gb_bpe_train(&tok, &opts, inputs, n_inputs, &st);
    if (rc == GB_OK) rc = gb_tokenizer_save(tok, output);
    if (rc != GB_OK) {
        exit_code = gb_cli_fail(rc);
        goto done;
    }
    if (256 + st.n_merges + n_specials < vocab && !quiet)
        fprintf(stderr,
                "glassbox %s: note: stopped after %lld merges because no pair of tokens occurs "
                "twice any more; the vocabulary has %lld ids, not %lld\n",
                CMD, (long long)st.n_merges, (long long)gb_tokenizer_vocab_size(tok), (long long)vocab);
    char digest[65];
    hex_digest(tok, digest);
    if (json) {
        if (print_json(output, tok, &st, n_inputs, n_specials, vocab, digest) != 0) {
            fprintf(stderr, "glassbox: error: out of memory\n");
            exit_code = GB_EXIT_FAIL;
            goto done;
        }
    } else if (!quiet) {
        print_summary(output, tok, &st, n_inputs, n_specials, digest);
    }
    exit_code = fflush(stdout) == 0 ? GB_EXIT_OK : GB_EXIT_FAIL;
done:
    gb_tokenizer_free(tok);
    free(inputs);
    free(specials);
    return exit_code;
}
