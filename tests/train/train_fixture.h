/* Shared by the trainer tests: a tiny prepared directory (made once per test run) and
 * helpers to run `glassbox train` on a tiny model. */
#ifndef GLASSBOX_TEST_TRAIN_FIXTURE_H
#define GLASSBOX_TEST_TRAIN_FIXTURE_H

#include <stddef.h>

/* DIR of a prepared directory (≈40 KB of text, 300-token tokenizer at DIR/../tok.json),
 * or NULL after reporting a failure. */
const char *train_fixture_data(void);
/* The fixture's tokenizer file. */
const char *train_fixture_tokenizer(void);

/* Runs `glassbox train --data DATA --out OUT <tiny model flags> extra...` (extra
 * NULL-terminated, may be NULL); returns the exit status; *out / *err as gb_test_run. */
int train_run(const char *out_dir, const char *const *extra, char **out, char **err);

/* The hex digest after "weights sha256 " in s, copied to hex[65]; 0 if found. */
int train_sha(const char *s, char hex[65]);

/* Copies file src to dst; 0 on success. */
int train_copy(const char *src, const char *dst);

#endif
