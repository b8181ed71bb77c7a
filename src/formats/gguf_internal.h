/* glassbox — what the GGUF reader (gguf.c) and writer (gguf_write.c) share: little-endian
 * byte access, the value validator, and a hash index of names for duplicate checks. */
#ifndef GLASSBOX_GGUF_INTERNAL_H
#define GLASSBOX_GGUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/gguf.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "glassbox's GGUF code assumes a little-endian host (tensor data is used in place)"
#endif

static inline uint16_t gguf_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t gguf_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t gguf_rd64(const uint8_t *p) {
    return (uint64_t)gguf_rd32(p) | (uint64_t)gguf_rd32(p + 4) << 32;
}

/* Fixed byte size of a scalar value type; 0 for STRING, ARRAY and unknown types. */
size_t gguf_scalar_size(uint32_t type);

/* Checks that bytes[0..len) is exactly one valid encoded value of `type` (the reader's rules:
 * caps, bool 0/1, nesting depth). GB_ERR_FORMAT with "<what>: problem" otherwise. */
gb_status gguf_check_value(const void *bytes, size_t len, uint32_t type, const char *what);

/* Writes a one-line-safe rendering of name[0..n) (non-printable bytes as '?', long names cut
 * with "...") into buf. Returns buf. */
const char *gguf_printable(char *buf, size_t cap, const void *name, uint64_t n);

/* An open-addressing hash index over names held elsewhere: slots hold indices into the
 * caller's table, `name_at` fetches the bytes of entry i. */
typedef void (*gguf_name_at)(const void *ctx, int64_t i, const uint8_t **p, uint64_t *n);
typedef struct gguf_index {
    int64_t *slot; /* cap entries; -1 = empty */
    size_t cap;    /* power of two */
    size_t used;
} gguf_index;

gb_status gguf_index_init(gguf_index *h, size_t expected);
void gguf_index_free(gguf_index *h);
/* Entry i's name is already present: returns that entry's index. Otherwise inserts i
 * (growing the table as needed) and returns -1; -2 if memory ran out. */
int64_t gguf_index_insert(gguf_index *h, int64_t i, gguf_name_at name_at, const void *ctx);
int64_t gguf_index_find(const gguf_index *h, const void *name, uint64_t n, gguf_name_at name_at,
                        const void *ctx);

#endif
