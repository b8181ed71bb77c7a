/* glassbox — the sampling flags that `generate` and `chat` share: one option table, one
 * parser, one help text, so the commands cannot drift apart. */
#ifndef GLASSBOX_CLI_SAMPLING_H
#define GLASSBOX_CLI_SAMPLING_H

#include <getopt.h>
#include <stdio.h>

#include "glassbox/infer.h"

/* Option ids above any command's own (those start at 256). */
enum {
    GB_OPT_TEMP = 1000, GB_OPT_TOPK, GB_OPT_TOPP, GB_OPT_MINP, GB_OPT_RPEN, GB_OPT_RLAST,
    GB_OPT_FPEN, GB_OPT_PPEN, GB_OPT_SEED
};

/* Entries to put inside a command's struct option table. */
#define GB_CLI_SAMPLING_OPTIONS \
    {"temp", required_argument, 0, GB_OPT_TEMP}, {"temperature", required_argument, 0, GB_OPT_TEMP}, \
        {"top-k", required_argument, 0, GB_OPT_TOPK}, {"top-p", required_argument, 0, GB_OPT_TOPP}, \
        {"min-p", required_argument, 0, GB_OPT_MINP}, {"repeat-penalty", required_argument, 0, GB_OPT_RPEN}, \
        {"repeat-last-n", required_argument, 0, GB_OPT_RLAST}, \
        {"frequency-penalty", required_argument, 0, GB_OPT_FPEN}, \
        {"presence-penalty", required_argument, 0, GB_OPT_PPEN}, {"seed", required_argument, 0, GB_OPT_SEED}

/* Help lines for those options (defaults as in gb_sampler_params_default; `default_seed` is
 * the command's own seed default). */
void gb_cli_sampling_help(FILE *fp, unsigned long long default_seed);

/* If `opt` is a sampling option, parses `arg` into *sp and returns 1 (or prints a usage
 * error and returns -1); returns 0 for any other option. */
int gb_cli_sampling_option(const char *cmd, int opt, const char *arg, gb_sampler_params *sp);

#endif
