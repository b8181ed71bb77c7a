/* glassbox tests — reader for the golden files written by tests/ref/model_ref.py.
 *
 * Byte layout (little-endian): magic "GBREF1\0\0", u32 count, then per tensor: u32 name
 * length, name bytes, u32 dtype (0 f32, 1 i32), u32 ndim, u32 dims[ndim], the elements. */
#ifndef GB_TESTS_MODEL_GOLDEN_H
#define GB_TESTS_MODEL_GOLDEN_H

#include <stdint.h>

#include "glassbox/error.h"

typedef struct {
    char name[96];
    int dtype; /* 0 float32, 1 int32 */
    int ndim;
    int64_t dims[4];
    int64_t numel;
    const void *data; /* an aligned copy of the elements */
} golden_tensor;

typedef struct {
    char *buf;  /* the whole file */
    golden_tensor *t;
    int n;
} golden_file;

gb_status golden_load(golden_file *g, const char *path);
void golden_free(golden_file *g);
/* The tensor called `name`, or NULL. */
const golden_tensor *golden_get(const golden_file *g, const char *name);
/* Float data of `name` (NULL if missing or not f32; with want_numel >= 0 it must match). */
const float *golden_f32(const golden_file *g, const char *name, int64_t want_numel);
const int32_t *golden_i32(const golden_file *g, const char *name, int64_t want_numel);

#endif
