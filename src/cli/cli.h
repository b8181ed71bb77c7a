/* glassbox — what every subcommand shares: the command table, usage errors, number parsing.
 * Exit codes: 0 success, 1 the work failed (message from gb_last_error), 2 bad usage. */
#ifndef GLASSBOX_CLI_H
#define GLASSBOX_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "glassbox/error.h"

enum { GB_EXIT_OK = 0, GB_EXIT_FAIL = 1, GB_EXIT_USAGE = 2 };

/* A subcommand: argv[0] is its own name ("tokenizer"), options follow. */
typedef struct gb_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} gb_command;

int gb_cmd_tokenizer(int argc, char **argv);
int gb_cmd_data(int argc, char **argv);
int gb_cmd_train(int argc, char **argv);  /* cmd_train.c */
int gb_cmd_sample(int argc, char **argv); /* cmd_sample.c */
int gb_cmd_chat(int argc, char **argv);   /* cmd_chat.c */
int gb_cmd_init(int argc, char **argv);       /* cmd_init.c */
int gb_cmd_quantize(int argc, char **argv);   /* cmd_quantize.c */
int gb_cmd_info(int argc, char **argv);       /* cmd_info.c */
int gb_cmd_perplexity(int argc, char **argv); /* cmd_perplexity.c */
int gb_cmd_generate(int argc, char **argv);   /* cmd_generate.c */
/* glassbox tokenizer train ... (cmd_tokenizer_train.c); argv[0] is "train". */
int gb_cmd_tokenizer_train(int argc, char **argv);

/* Prints "glassbox CMD: <message> (try 'glassbox CMD --help')" on one line; returns 2. */
/* Flawfinder: ignore — format(printf) + -Wformat=2 check every caller's literal */
int gb_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "glassbox: error: <gb_last_error()>" and returns 1 (or 130 when interrupted). */
int gb_cli_fail(gb_status rc);

/* Strict integer parsing: the whole string, within [min, max]. 0 on success. */
int gb_cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
int gb_cli_parse_double(const char *s, double min, double max, double *out);

/* getopt_long wrapper that reports unknown flags and missing values as usage errors.
 * Returns the option, -1 at the end, or '?' after printing the error (caller returns 2). */
int gb_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts);

/* Handles --kv-type f16|f32 for commands that load a model; returns 0 or prints a usage error. */
int gb_cli_set_kv_type(const char *cmd, const char *value);
/* its help line, in the column of generate's and chat's */
#define GB_CLI_KV_TYPE_HELP "  --kv-type f16|f32         the KV cache's numbers (default f16, as llama.cpp; f32: exact)\n"

/* Handles --threads N for commands that compute; returns 0 or prints a usage error. */
int gb_cli_set_threads(const char *cmd, const char *value);

#endif
