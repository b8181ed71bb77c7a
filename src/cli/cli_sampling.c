/* glassbox — shared sampling flags (see cli_sampling.h). */
#include "cli_sampling.h"

#include <stdio.h>

#include "cli.h"

void gb_cli_sampling_help(FILE *fp, unsigned long long default_seed) {
    fputs("  --temp X                  temperature, 0 = greedy (default 0.8)\n"
          "  --top-k K                 keep the K most likely tokens (default 40; 0 = off)\n"
          "  --top-p P                 nucleus: smallest set with probability >= P (default 0.95; 1 = off)\n"
          "  --min-p P                 keep tokens with p >= P x p_max (default 0.05; 0 = off)\n"
          "  --repeat-penalty X        llama.cpp's repetition penalty (default 1 = off)\n"
          "  --repeat-last-n N         tokens the penalties look back on (default 64)\n"
          "  --frequency-penalty F     OpenAI's frequency penalty, -2..2 (default 0)\n"
          "  --presence-penalty P      OpenAI's presence penalty, -2..2 (default 0)\n",
          fp);
    fprintf(fp, "  --seed S                  sampling seed (default %llu)\n", default_seed);
}

int gb_cli_sampling_option(const char *cmd, int opt, const char *arg, gb_sampler_params *sp) {
    int64_t iv;
    double dv;
    switch (opt) {
    case GB_OPT_TEMP:
        if (gb_cli_parse_double(arg, 0, 100, &dv))
            return gb_cli_usage_error(cmd, "--temp wants a number from 0 to 100, not '%s'", arg), -1;
        sp->temperature = (float)dv;
        return 1;
    case GB_OPT_TOPK:
        if (gb_cli_parse_int(arg, 0, INT32_MAX, &iv))
            return gb_cli_usage_error(cmd, "--top-k wants a whole number >= 0, not '%s'", arg), -1;
        sp->top_k = (int)iv;
        return 1;
    case GB_OPT_TOPP:
        if (gb_cli_parse_double(arg, 1e-9, 1, &dv))
            return gb_cli_usage_error(cmd, "--top-p wants a number in (0, 1], not '%s'", arg), -1;
        sp->top_p = (float)dv;
        return 1;
    case GB_OPT_MINP:
        if (gb_cli_parse_double(arg, 0, 1, &dv))
            return gb_cli_usage_error(cmd, "--min-p wants a number in [0, 1], not '%s'", arg), -1;
        sp->min_p = (float)dv;
        return 1;
    case GB_OPT_RPEN:
        if (gb_cli_parse_double(arg, 1e-3, 100, &dv))
            return gb_cli_usage_error(cmd, "--repeat-penalty wants a number from 0.001 to 100, not '%s'", arg), -1;
        sp->repeat_penalty = (float)dv;
        return 1;
    case GB_OPT_RLAST:
        if (gb_cli_parse_int(arg, 0, 1 << 24, &iv))
            return gb_cli_usage_error(cmd, "--repeat-last-n wants a whole number from 0 to 16777216, not '%s'", arg),
                   -1;
        sp->repeat_last_n = (int)iv;
        return 1;
    case GB_OPT_FPEN:
    case GB_OPT_PPEN:
        if (gb_cli_parse_double(arg, -2, 2, &dv))
            return gb_cli_usage_error(cmd, "--%s-penalty wants a number from -2 to 2, not '%s'",
                                      opt == GB_OPT_FPEN ? "frequency" : "presence", arg),
                   -1;
        *(opt == GB_OPT_FPEN ? &sp->frequency_penalty : &sp->presence_penalty) = (float)dv;
        return 1;
    case GB_OPT_SEED:
        if (gb_cli_parse_int(arg, 0, INT64_MAX, &iv))
            return gb_cli_usage_error(cmd, "--seed wants a whole number >= 0, not '%s'", arg), -1;
        sp->seed = (uint64_t)iv;
        return 1;
    default: return 0;
    }
}
