/* Shared by the inference tests: a seeded training model written as a GGUF checkpoint. */
#ifndef GLASSBOX_TEST_MODEL_FIXTURE_H
#define GLASSBOX_TEST_MODEL_FIXTURE_H

#include <stdint.h>

#include "glassbox/model.h"

/* A model of config c with seeded weights, its norm weights and biases moved off 1 and 0 (so
 * that a misplaced one shows), written to path with the trainer's checkpoint writer. Returns
 * it for the reference forward (the caller frees), or NULL on failure. */
gb_model *fixture_write_model(const gb_model_config *c, const char *path, uint64_t seed);

#endif
