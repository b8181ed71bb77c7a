/* glassbox — the one binary: dispatches to a subcommand (one file each in src/cli/). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "glassbox/sys.h"
#include "version.h"

#define GB_VERSION "0.1.0"

static const gb_command commands[] = {
    {"tokenizer", gb_cmd_tokenizer, "train a byte-level BPE tokenizer; encode and decode text"},
    {"data", gb_cmd_data, "turn text into token shards for training"},
    {"train", gb_cmd_train, "train a transformer on token shards (checkpoints, log, loss plot)"},
    {"sample", gb_cmd_sample, "continue a prompt with a trained checkpoint"},
    {"chat", gb_cmd_chat, "chat with a GGUF model in the terminal (chat templates, line editing)"},
    {"init", gb_cmd_init, "write a randomly initialised model (GGUF) for tests and benchmarks"},
    {"quantize", gb_cmd_quantize, "convert a GGUF model's weights to q8_0, q4_0, q4_k_m, q4_k_s, q6_k, f16, bf16"},
    {"info", gb_cmd_info, "describe a GGUF file: architecture, parameters, types, metadata, SHA-256"},
    {"perplexity", gb_cmd_perplexity, "perplexity of a GGUF model on a text file"},
    {"generate", gb_cmd_generate, "continue a prompt with a GGUF model (sampling, streaming, tokens/s)"},
};

static void usage(FILE *fp) {
    fprintf(fp, "usage: glassbox COMMAND [OPTIONS]\n\n"
                "glassbox is a fully open AI system: data, tokenizer, training and inference in C.\n\n"
                "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\nOptions:\n"
                "  -h, --help     show this help\n"
                "  --version      show version and the git commit it was built from\n\n"
                "'glassbox COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return GB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return GB_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("glassbox %s (commit %s)\n", GB_VERSION, GB_GIT_COMMIT);
        return GB_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (!strcmp(cmd, commands[i].name)) {
            gb_interrupt_install();
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    if (cmd[0] == '-')
        fprintf(stderr, "glassbox: unknown option '%s' (try 'glassbox --help')\n", cmd);
    else
        fprintf(stderr, "glassbox: unknown command '%s' (try 'glassbox --help')\n", cmd);
    return GB_EXIT_USAGE;
}
